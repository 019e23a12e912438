using System;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using RefreshTokenCore;
using RefreshTokenCore.Duende;
using IRefreshTokenService = global::Duende.IdentityServer.Services.IRefreshTokenService;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>The swap-in on the IdentityServer builder.</summary>
public static class RefreshTokenCoreIdentityServerBuilderExtensions
{
    /// <summary>
    /// Replaces IdentityServer's <see cref="IRefreshTokenService"/> with refresh-token-core, on the
    /// deployment's own persisted-grant store, profile service, <c>PersistentGrants</c> options,
    /// Data Protection key ring and clock. Tokens issued before the swap stay valid (same keys and
    /// Data format), and after a rollback too. Server-side sessions keep working in front of it,
    /// whichever of the two is added first. A configuration that cannot work stops the host at
    /// start-up. The <paramref name="configSectionPath"/> section of the configuration (as
    /// <c>appsettings.json</c>'s <c>"RefreshTokenCore"</c>) and then <paramref name="configure"/>
    /// apply after the deployment's settings are taken over, so they may override any of them.
    /// </summary>
    public static IIdentityServerBuilder AddRefreshTokenCore(this IIdentityServerBuilder builder, string configSectionPath, Action<RefreshTokenServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentException.ThrowIfNullOrEmpty(configSectionPath);
        builder.Services.AddOptions<RefreshTokenServiceOptions>().BindConfiguration(configSectionPath);
        return builder.AddRefreshTokenCore(configure);
    }

    /// <summary>
    /// Replaces IdentityServer's <see cref="IRefreshTokenService"/> (see the other overload);
    /// any configuration of <see cref="RefreshTokenServiceOptions"/> registered with the options
    /// system (<c>Configure</c>, <c>BindConfiguration</c>) applies over the deployment's settings,
    /// then <paramref name="configure"/>. Values out of range stop the host at start-up, named.
    /// </summary>
    public static IIdentityServerBuilder AddRefreshTokenCore(this IIdentityServerBuilder builder, Action<RefreshTokenServiceOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        IServiceCollection services = builder.Services;
        services.RemoveAll<RefreshTokenService>();
        services.AddSingleton(sp => DuendeCoreServiceFactory.Create(sp, services, configure));
        services.TryAddTransient<DuendeRefreshTokenService>();

        // Server-side sessions registered first wrap the service through Duende's internal
        // Decorator<IRefreshTokenService>: replace what it decorates, keep the decorator.
        ServiceDescriptor? inner = services.LastOrDefault(d =>
            d.ServiceType.IsGenericType && d.ServiceType.Name == "Decorator`1"
            && d.ServiceType.GetGenericArguments()[0] == typeof(IRefreshTokenService));
        if (inner is not null)
        {
            Type decorator = inner.ServiceType;
            services.Remove(inner);
            services.Add(new ServiceDescriptor(decorator,
                sp => Activator.CreateInstance(decorator, sp.GetRequiredService<DuendeRefreshTokenService>())!, ServiceLifetime.Transient));
        }
        else
        {
            services.RemoveAll<IRefreshTokenService>();
            services.AddTransient<IRefreshTokenService>(sp => sp.GetRequiredService<DuendeRefreshTokenService>());
        }

        services.TryAddEnumerable(ServiceDescriptor.Transient<IStartupFilter, TokenEndpointErrorStartupFilter>());
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, StartupCheck>());
        return builder;
    }

    /// <summary>Builds the core when the host starts, so a configuration that cannot work fails
    /// then, with its message, instead of at the first token request.</summary>
    private sealed class StartupCheck : IHostedService
    {
        private readonly IServiceProvider services;

        public StartupCheck(IServiceProvider services) => this.services = services;

        public Task StartAsync(CancellationToken cancellationToken)
        {
            _ = services.GetRequiredService<RefreshTokenService>();
            return Task.CompletedTask;
        }

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
