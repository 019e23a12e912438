using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RefreshTokenCore;

/// <summary>Registration with Microsoft.Extensions.DependencyInjection.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RefreshTokenService"/> as a singleton. What the options leave unset is
    /// taken from the container when registered there: <see cref="IGrantStore"/> (or <see cref="IBlockingGrantStore"/>),
    /// <see cref="IPayloadProtector"/>, <see cref="TimeProvider"/> and the logger.
    /// </summary>
    public static IServiceCollection AddRefreshTokenCore(this IServiceCollection services, Action<RefreshTokenServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(sp =>
        {
            var options = new RefreshTokenServiceOptions();
            configure?.Invoke(options);
            if (options.Store is null && options.BlockingStore is null)
            {
                options.Store = sp.GetService<IGrantStore>();
                options.BlockingStore = options.Store is null ? sp.GetService<IBlockingGrantStore>() : null;
            }
            options.Protector ??= sp.GetService<IPayloadProtector>();
            options.TimeProvider ??= sp.GetService<TimeProvider>();
            options.Logger ??= sp.GetService<ILoggerFactory>()?.CreateLogger("RefreshTokenCore");
            return new RefreshTokenService(options);
        });
        return services;
    }
}
