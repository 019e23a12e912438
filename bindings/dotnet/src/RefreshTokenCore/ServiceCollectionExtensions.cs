using System;
using System.Collections.Generic;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace RefreshTokenCore;

/// <summary>Registration with Microsoft.Extensions.DependencyInjection.</summary>
public static class ServiceCollectionExtensions
{
    /// <summary>The configuration section <see cref="AddRefreshTokenCore(IServiceCollection, string, Action{RefreshTokenServiceOptions}?)"/> binds by default.</summary>
    public const string DefaultConfigSection = "RefreshTokenCore";

    /// <summary>
    /// Registers <see cref="RefreshTokenService"/> (and <see cref="IRefreshTokenCoreService"/>) as
    /// a singleton on <see cref="IOptions{RefreshTokenServiceOptions}"/>, validated when the host
    /// starts (<see cref="RefreshTokenServiceOptionsValidator"/>). What the options leave unset
    /// is taken from the container when registered there: <see cref="IGrantStore"/> (or
    /// <see cref="IBlockingGrantStore"/>), <see cref="IPayloadProtector"/>,
    /// <see cref="TimeProvider"/> and the logger (category <c>RefreshTokenCore</c>).
    /// </summary>
    public static IServiceCollection AddRefreshTokenCore(this IServiceCollection services, Action<RefreshTokenServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        OptionsBuilder<RefreshTokenServiceOptions> options = services.AddOptions<RefreshTokenServiceOptions>();
        if (configure is not null)
        {
            options.Configure(configure);
        }
        return AddService(services, options);
    }

    /// <summary>
    /// <see cref="AddRefreshTokenCore(IServiceCollection, Action{RefreshTokenServiceOptions}?)"/>
    /// with the options bound from configuration (<c>appsettings.json</c>'s
    /// <paramref name="configSectionPath"/> section: every plain option, <c>NativeStore</c>,
    /// <c>Clients</c>; <c>SuccessorSecret</c> as Base64), then <paramref name="configure"/>.
    /// </summary>
    public static IServiceCollection AddRefreshTokenCore(this IServiceCollection services, string configSectionPath, Action<RefreshTokenServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(services);
        ArgumentException.ThrowIfNullOrEmpty(configSectionPath);
        OptionsBuilder<RefreshTokenServiceOptions> options = services.AddOptions<RefreshTokenServiceOptions>().BindConfiguration(configSectionPath);
        if (configure is not null)
        {
            options.Configure(configure);
        }
        return AddService(services, options);
    }

    private static IServiceCollection AddService(IServiceCollection services, OptionsBuilder<RefreshTokenServiceOptions> options)
    {
        options.PostConfigure<IServiceProvider>((o, sp) =>
        {
            if (o.Store is null && o.BlockingStore is null)
            {
                o.Store = sp.GetService<IGrantStore>();
                o.BlockingStore = o.Store is null ? sp.GetService<IBlockingGrantStore>() : null;
            }
            o.Protector ??= sp.GetService<IPayloadProtector>();
            o.TimeProvider ??= sp.GetService<TimeProvider>();
            o.Logger ??= sp.GetService<ILoggerFactory>()?.CreateLogger("RefreshTokenCore");
        });
        options.ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<RefreshTokenServiceOptions>, RefreshTokenServiceOptionsValidator>());
        services.TryAddSingleton(sp => new RefreshTokenService(sp.GetRequiredService<IOptions<RefreshTokenServiceOptions>>().Value));
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

    /// <summary>
    /// Adds <see cref="RefreshTokenCoreHealthCheck"/> (the store answers and its table is as
    /// expected) to the health checks, tagged <c>ready</c> unless told otherwise.
    /// </summary>
    public static IHealthChecksBuilder AddRefreshTokenCore(this IHealthChecksBuilder builder, string name = "refresh-token-core", HealthStatus? failureStatus = null, IEnumerable<string>? tags = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        return builder.Add(new HealthCheckRegistration(
            name,
            sp => new RefreshTokenCoreHealthCheck(sp.GetRequiredService<IRefreshTokenCoreService>()),
            failureStatus,
            tags ?? new[] { "ready" }));
    }
}
