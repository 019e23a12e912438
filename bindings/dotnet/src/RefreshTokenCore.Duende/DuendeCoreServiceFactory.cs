using System;
using System.Linq;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using RefreshTokenCore.EntityFramework;
using IClock = global::Duende.IdentityServer.IClock;
using IDuendeStore = global::Duende.IdentityServer.Stores.IPersistedGrantStore;
using IdentityServerOptions = global::Duende.IdentityServer.Configuration.IdentityServerOptions;

namespace RefreshTokenCore.Duende;

/// <summary>
/// Builds the core service from what a Duende deployment already has registered: its
/// persisted-grant store, <c>IdentityServerOptions</c> (PersistentGrants, input length), Data
/// Protection with Duende's purpose, its clock and logging. What cannot work fails here, at
/// start-up, with a message that says what to add.
/// </summary>
internal static class DuendeCoreServiceFactory
{
    /// <summary>Duende's EF operational store context interface (from
    /// Duende.IdentityServer.EntityFramework.Storage, found by name: the adapter does not depend on it).</summary>
    internal const string EfContextInterface = "Duende.IdentityServer.EntityFramework.Interfaces.IPersistedGrantDbContext, Duende.IdentityServer.EntityFramework.Storage";

    internal static RefreshTokenService Create(IServiceProvider sp, IServiceCollection registrations, Action<RefreshTokenServiceOptions>? configure)
    {
        IdentityServerOptions ids = sp.GetRequiredService<IOptions<IdentityServerOptions>>().Value;
        ILoggerFactory? loggers = sp.GetService<ILoggerFactory>();
        ILogger log = loggers?.CreateLogger("RefreshTokenCore.Duende") ?? Microsoft.Extensions.Logging.Abstractions.NullLogger.Instance;
        var options = new RefreshTokenServiceOptions
        {
            DeleteOneTimeOnlyRefreshTokensOnUse = ids.PersistentGrants.DeleteOneTimeOnlyRefreshTokensOnUse,
            DataProtectData = ids.PersistentGrants.DataProtectData,
            MaxRefreshTokenLength = ids.InputLengthRestrictions.RefreshToken,
            Logger = loggers?.CreateLogger("RefreshTokenCore"),
        };
        if (sp.GetService<IClock>() is { } clock)
        {
            options.TimeProvider = new ClockTimeProvider(clock);
        }
        // Rows Duende protected stay readable whatever DataProtectData says now; new rows are
        // protected only when it is true, as in Duende's PersistentGrantSerializer.
        if (sp.GetService<IDataProtectionProvider>() is { } dataProtection)
        {
            options.Protector = new DataProtectionPayloadProtector(dataProtection);
        }
        // The deployment's configuration of the core (BindConfiguration, Configure<T>), if any,
        // over what was taken from Duende; then the lambda, which has the last word.
        foreach (IConfigureOptions<RefreshTokenServiceOptions> c in sp.GetServices<IConfigureOptions<RefreshTokenServiceOptions>>())
        {
            c.Configure(options);
        }
        configure?.Invoke(options);

        if (options.Protector is null && options.DataProtectData)
        {
            throw new InvalidOperationException(
                "refresh-token-core: IdentityServerOptions.PersistentGrants.DataProtectData is true but no IDataProtectionProvider is registered. "
                + "Add services.AddDataProtection() (with the key ring Duende used), or set DataProtectData = false only if no stored row is protected.");
        }
        if (options.Store is null && options.BlockingStore is null && options.SqlitePath is null && options.PostgresUrl is null)
        {
            options.Store = DeploymentStore(sp, registrations, log, options.AllowNonAtomicConsume);
        }
        return new RefreshTokenService(options);
    }

    /// <summary>The deployment's own store: Duende's EF operational store with a conditional
    /// consume on its own DbContext, else any other Duende store through its interface.</summary>
    private static IGrantStore DeploymentStore(IServiceProvider sp, IServiceCollection registrations, ILogger log, bool allowNonAtomic)
    {
        IServiceScopeFactory scopes = sp.GetRequiredService<IServiceScopeFactory>();
        IServiceProviderIsService? isService = sp.GetService<IServiceProviderIsService>();
        Type? efContext = Type.GetType(EfContextInterface, throwOnError: false);
        if (efContext is not null && isService?.IsService(efContext) == true)
        {
            var store = new EntityFrameworkPersistedGrantStore(scopes, efContext);
            store.VerifySchema();
            log.LogInformation("refresh-token-core uses Duende's EF operational store (PersistedGrantDbContext) with a one-statement conditional consume.");
            return store;
        }
        if (isService?.IsService(typeof(IDuendeStore)) == true)
        {
            const string why = "the registered Duende IPersistedGrantStore has no conditional consume: "
                + "parallel refreshes of one OneTimeOnly token can both succeed and fork its chain, as under stock Duende. Use Duende's EF operational store "
                + "(AddOperationalStore) or set RefreshTokenServiceOptions.Store to a store with IConditionalConsumeGrantStore";
            if (!allowNonAtomic)
            {
                throw new InvalidOperationException($"refresh-token-core: {why}; or accept the race with AddRefreshTokenCore(o => o.AllowNonAtomicConsume = true).");
            }
            log.LogWarning("refresh-token-core uses it through its interface (AllowNonAtomicConsume): {Why}.", why);
            // The last registration is the one the provider resolves.
            bool singleton = registrations.LastOrDefault(d => d.ServiceType == typeof(IDuendeStore) && !d.IsKeyedService)?.Lifetime == ServiceLifetime.Singleton;
            return new DuendePersistedGrantStore(scopes, singleton ? sp.GetRequiredService<IDuendeStore>() : null);
        }
        throw new InvalidOperationException(
            "refresh-token-core: no persisted-grant store is registered. Add Duende's operational store (AddOperationalStore), "
            + "register a Duende IPersistedGrantStore, or set RefreshTokenServiceOptions.Store / SqlitePath / PostgresUrl.");
    }

    /// <summary>Duende's clock as a TimeProvider, so the core judges expiry by the deployment's time.</summary>
    private sealed class ClockTimeProvider : TimeProvider
    {
        private readonly IClock clock;

        public ClockTimeProvider(IClock clock) => this.clock = clock;

        public override DateTimeOffset GetUtcNow() => clock.UtcNow;
    }
}
