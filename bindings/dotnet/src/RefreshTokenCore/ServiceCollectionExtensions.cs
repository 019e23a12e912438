using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RefreshTokenCore;

/// <summary>Registration with Microsoft.Extensions.DependencyInjection.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>
    /// Registers <see cref="RefreshTokenService"/> as a singleton. What the options leave unset is
    /// taken from the container when registered there: <see cref="IPersistedGrantStore"/>,
    /// <see cref="IPayloadProtector"/>, <see cref="TimeProvider"/> and the logger.
    /// </summary>
    public static IServiceCollection AddRefreshTokenCore(this IServiceCollection services, Action<RefreshTokenServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddSingleton(sp =>
        {
            var options = new RefreshTokenServiceOptions();
            configure?.Invoke(options);
            options.Store ??= sp.GetService<IPersistedGrantStore>();
            options.Protector ??= sp.GetService<IPayloadProtector>();
            options.TimeProvider ??= sp.GetService<TimeProvider>();
            options.Logger ??= sp.GetService<ILoggerFactory>()?.CreateLogger("RefreshTokenCore");
            return new RefreshTokenService(options);
        });
        return services;
    }
}
