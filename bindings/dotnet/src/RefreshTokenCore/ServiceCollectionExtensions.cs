using System;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
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
        services.TryAddSingleton<IRefreshTokenCoreService>(sp => sp.GetRequiredService<RefreshTokenService>());
        return services;
    }

    /// <summary>
    /// Runs token cleanup in the background (<see cref="RefreshTokenCoreCleanupHost"/>), every
    /// <see cref="RefreshTokenCleanupOptions.Interval"/> (one hour by default). The options are
    /// validated when the host starts: a zero or negative interval fails the start-up, naming it.
    /// </summary>
    public static IServiceCollection AddRefreshTokenCoreCleanup(this IServiceCollection services, Action<RefreshTokenCleanupOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        services.AddOptions<RefreshTokenCleanupOptions>()
            .Configure(o => configure?.Invoke(o))
            .Validate(o => o.Interval > TimeSpan.Zero, "RefreshTokenCleanupOptions.Interval must be positive.")
            .ValidateOnStart();
        services.AddSingleton<RefreshTokenCoreCleanupHost>();
        services.AddSingleton<IHostedService>(sp => sp.GetRequiredService<RefreshTokenCoreCleanupHost>());
        return services;
    }
}
