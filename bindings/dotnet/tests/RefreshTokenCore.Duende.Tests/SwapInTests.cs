using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Security.Claims;
using System.Threading;
using System.Threading.Tasks;
using Duende.IdentityServer.Configuration;
using Duende.IdentityServer.Models;
using Duende.IdentityServer.Services;
using Duende.IdentityServer.Stores;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using RefreshTokenCore.Duende;
using Xunit;
using Client = Duende.IdentityServer.Models.Client;
using RefreshTokenCreationRequest = Duende.IdentityServer.Models.RefreshTokenCreationRequest;

namespace DuendeSwapInTests;

/// <summary>
/// The adapter's DI and behaviour through the hand-written contract of Duende's types (CI cannot
/// restore Duende). tests/RealHost runs the same adapter in a real IdentityServer host.
/// </summary>
public class SwapInTests
{
    private sealed class Builder : IIdentityServerBuilder
    {
        public IServiceCollection Services { get; } = new ServiceCollection();
    }

    /// <summary>A Duende-shaped store for the contract build: a dictionary.</summary>
    private sealed class DictionaryStore : IPersistedGrantStore
    {
        public readonly ConcurrentDictionary<string, PersistedGrant> Rows = new();
        /// <summary>The refresh-token rows (the core also keeps its successor secret here).</summary>
        public List<PersistedGrant> Tokens() => Rows.Values.Where(g => g.Type == "refresh_token").ToList();
        public Task StoreAsync(PersistedGrant grant) { Rows[grant.Key] = grant; return Task.CompletedTask; }
        public Task<PersistedGrant?> GetAsync(string key) => Task.FromResult(Rows.TryGetValue(key, out var g) ? g : null);
        public Task<IEnumerable<PersistedGrant>> GetAllAsync(PersistedGrantFilter filter) =>
            Task.FromResult<IEnumerable<PersistedGrant>>(Rows.Values.Where(g => g.SubjectId == filter.SubjectId && (filter.ClientId is null || g.ClientId == filter.ClientId)).ToList());
        public Task RemoveAsync(string key) { Rows.TryRemove(key, out _); return Task.CompletedTask; }
        public Task RemoveAllAsync(PersistedGrantFilter filter)
        {
            foreach (var g in GetAllAsync(filter).Result) Rows.TryRemove(g.Key, out _);
            return Task.CompletedTask;
        }
    }

    private sealed class Profile : IProfileService
    {
        public readonly HashSet<string> Disabled = new();
        public Task GetProfileDataAsync(ProfileDataRequestContext context) => Task.CompletedTask;
        public Task IsActiveAsync(IsActiveContext context)
        {
            Assert.Equal("RefreshTokenValidation", context.Caller);
            context.IsActive = !Disabled.Contains(context.Subject.FindFirst("sub")!.Value);
            return Task.CompletedTask;
        }
    }

    private sealed record Host(IRefreshTokenService Service, DictionaryStore Store, Profile Profile);

    private static Host Build(Action<IdentityServerOptions>? ids = null, bool store = true, bool dataProtection = true, bool allowNonAtomic = true)
    {
        var builder = new Builder();
        var rows = new DictionaryStore();
        var profile = new Profile();
        builder.Services.AddOptions().Configure<IdentityServerOptions>(o => ids?.Invoke(o));
        builder.Services.AddLogging();
        builder.Services.AddSingleton<IProfileService>(profile);
        if (store) builder.Services.AddSingleton<IPersistedGrantStore>(rows);
        if (dataProtection) builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        // The dictionary store is Duende's interface only: no conditional consume.
        builder.AddRefreshTokenCore(o => o.AllowNonAtomicConsume = allowNonAtomic);
        return new Host(builder.Services.BuildServiceProvider().GetRequiredService<IRefreshTokenService>(), rows, profile);
    }

    private static RefreshTokenCreationRequest Request(Client client, string sub = "42") => new()
    {
        Client = client,
        Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", sub), new Claim("idp", "local") }, "Duende.IdentityServer")),
        AuthorizedScopes = new[] { "openid", "api1", "offline_access" },
        AccessToken = new Token
        {
            ClientId = client.ClientId,
            Issuer = "https://idp.example",
            Lifetime = 3600,
            CreationTime = DateTime.UtcNow,
            Audiences = { "api1" },
            Claims = { new Claim("sub", sub), new Claim("scope", "api1") },
        },
    };

    [Fact]
    public void Without_a_store_the_host_fails_at_start_up_saying_what_to_add()
    {
        var e = Assert.ThrowsAny<InvalidOperationException>(() => Build(store: false));
        Assert.Contains("AddOperationalStore", e.Message);
    }

    [Fact]
    public void A_store_without_a_conditional_consume_fails_at_start_up_unless_its_race_is_accepted()
    {
        var e = Assert.ThrowsAny<InvalidOperationException>(() => Build(allowNonAtomic: false));
        Assert.Contains("AllowNonAtomicConsume = true", e.Message);
        Assert.Contains("AddOperationalStore", e.Message);
    }

    [Fact]
    public void With_DataProtectData_and_no_Data_Protection_it_fails_saying_what_to_add()
    {
        var e = Assert.ThrowsAny<InvalidOperationException>(() => Build(dataProtection: false));
        Assert.Contains("AddDataProtection", e.Message);
    }

    [Fact]
    public async Task OneTimeOnly_rotates_on_the_deployments_store_with_protected_rows()
    {
        Host host = Build();
        IRefreshTokenService service = host.Service;
        Assert.IsType<DuendeRefreshTokenService>(service);
        var client = new Client { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.OneTimeOnly };
        string handle = await service.CreateRefreshTokenAsync(Request(client));
        Assert.Equal(66, handle.Length);
        PersistedGrant row = Assert.Single(host.Store.Tokens());
        Assert.Contains("\"DataProtected\":true", row.Data);
        Assert.Equal("42", row.SubjectId);

        var validated = await service.ValidateRefreshTokenAsync(handle, client);
        Assert.False(validated.IsError);
        Assert.Equal("42", validated.RefreshToken!.SubjectId);
        Assert.Equal("https://idp.example", validated.RefreshToken.AccessTokens[""].Issuer);

        string next = await service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated.RefreshToken });
        Assert.NotEqual(handle, next);
        Assert.Single(host.Store.Tokens());   // delete mode: the used row is gone
        // A retry inside the reuse window (the response was lost) validates, and its update
        // answers with the same successor: no second chain.
        var retry = await service.ValidateRefreshTokenAsync(handle, client);
        Assert.False(retry.IsError);
        Assert.Equal(next, await service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = retry.RefreshToken! }));
        Assert.Single(host.Store.Tokens());
        Assert.False((await service.ValidateRefreshTokenAsync(next, client)).IsError);
    }

    /// <summary>A transient store over shared rows that counts the instances made of it.</summary>
    private sealed class TransientStore : IPersistedGrantStore
    {
        public static readonly DictionaryStore Shared = new();
        public static int Made;
        public TransientStore() => Interlocked.Increment(ref Made);
        public Task StoreAsync(PersistedGrant grant) => Shared.StoreAsync(grant);
        public Task<PersistedGrant?> GetAsync(string key) => Shared.GetAsync(key);
        public Task<IEnumerable<PersistedGrant>> GetAllAsync(PersistedGrantFilter filter) => Shared.GetAllAsync(filter);
        public Task RemoveAsync(string key) => Shared.RemoveAsync(key);
        public Task RemoveAllAsync(PersistedGrantFilter filter) => Shared.RemoveAllAsync(filter);
    }

    [Fact]
    public async Task A_scoped_or_transient_store_is_resolved_per_call_and_a_singleton_is_called_as_it_is()
    {
        // Transient (an EF store's lifetime: each call its own DbContext): a new instance a call.
        var builder = new Builder();
        builder.Services.AddLogging();
        builder.Services.AddSingleton<IProfileService>(new Profile());
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        builder.Services.AddSingleton<IPersistedGrantStore>(new DictionaryStore());
        builder.Services.AddTransient<IPersistedGrantStore, TransientStore>();   // the last one wins
        builder.AddRefreshTokenCore(o => o.AllowNonAtomicConsume = true);
        IRefreshTokenService service = builder.Services.BuildServiceProvider().GetRequiredService<IRefreshTokenService>();
        var client = new Client { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.OneTimeOnly };
        string handle = await service.CreateRefreshTokenAsync(Request(client));
        int made = Volatile.Read(ref TransientStore.Made);
        var validated = await service.ValidateRefreshTokenAsync(handle, client);
        string next = await service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated.RefreshToken! });
        Assert.NotEqual(handle, next);
        Assert.Contains(TransientStore.Shared.Tokens(), g => g.Data.Length > 0);
        Assert.True(Volatile.Read(ref TransientStore.Made) - made >= 3, "a rotation reads, writes and removes, each through a store of its own scope");

        // Singleton: the registered object itself holds the rows.
        Host host = Build();
        var c = new Client { ClientId = "web", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.OneTimeOnly };
        string h = await host.Service.CreateRefreshTokenAsync(Request(c));
        var v = await host.Service.ValidateRefreshTokenAsync(h, c);
        string n = await host.Service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = h, Client = c, RefreshToken = v.RefreshToken! });
        Assert.Single(host.Store.Tokens());
        Assert.False((await host.Service.ValidateRefreshTokenAsync(n, c)).IsError);
    }

    [Fact]
    public async Task Options_bound_from_configuration_apply_over_duendes_and_bad_ones_stop_the_start()
    {
        Host Configured(params (string Key, string Value)[] settings)
        {
            var builder = new Builder();
            builder.Services.AddSingleton<Microsoft.Extensions.Configuration.IConfiguration>(new Microsoft.Extensions.Configuration.ConfigurationBuilder()
                .AddInMemoryCollection(settings.Select(s => new KeyValuePair<string, string?>(s.Key, s.Value))).Build());
            builder.Services.AddOptions().Configure<IdentityServerOptions>(_ => { });
            builder.Services.AddLogging();
            builder.Services.AddSingleton<IProfileService>(new Profile());
            var rows = new DictionaryStore();
            builder.Services.AddSingleton<IPersistedGrantStore>(rows);
            builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
            builder.AddRefreshTokenCore("RefreshTokenCore");
            return new Host(builder.Services.BuildServiceProvider().GetRequiredService<IRefreshTokenService>(), rows, new Profile());
        }
        // From configuration: the race accepted, no reuse window (a retry is refused at once) and
        // mark mode (the used row is kept).
        Host host = Configured(("RefreshTokenCore:AllowNonAtomicConsume", "true"), ("RefreshTokenCore:ReuseWindowSeconds", "0"), ("RefreshTokenCore:DeleteOneTimeOnlyRefreshTokensOnUse", "false"));
        var client = new Client { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.OneTimeOnly };
        string handle = await host.Service.CreateRefreshTokenAsync(Request(client));
        var validated = await host.Service.ValidateRefreshTokenAsync(handle, client);
        await host.Service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated.RefreshToken! });
        Assert.Equal(2, host.Store.Tokens().Count);
        Assert.True((await host.Service.ValidateRefreshTokenAsync(handle, client)).IsError, "no reuse window: the retry is refused");

        var e = Assert.ThrowsAny<Exception>(() => Configured(("RefreshTokenCore:AllowNonAtomicConsume", "true"), ("RefreshTokenCore:GraceSeconds", "-1")));
        Assert.Contains("GraceSeconds", (e.InnerException ?? e).Message + e.Message);
    }

    [Fact]
    public async Task The_profile_service_decides_is_active()
    {
        Host host = Build();
        var client = new Client { ClientId = "web", AllowOfflineAccess = true };
        string handle = await host.Service.CreateRefreshTokenAsync(Request(client, "7"));
        Assert.False((await host.Service.ValidateRefreshTokenAsync(handle, client)).IsError);
        host.Profile.Disabled.Add("7");
        var r = await host.Service.ValidateRefreshTokenAsync(handle, client);
        Assert.True(r.IsError);
        Assert.Equal("invalid_grant", r.Error);
    }

    [Fact]
    public async Task PersistentGrants_options_are_honoured_mark_mode_and_unprotected()
    {
        Host host = Build(o =>
        {
            o.PersistentGrants.DeleteOneTimeOnlyRefreshTokensOnUse = false;
            o.PersistentGrants.DataProtectData = false;
        });
        var client = new Client { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.OneTimeOnly };
        string handle = await host.Service.CreateRefreshTokenAsync(Request(client));
        Assert.Contains("\"DataProtected\":false", Assert.Single(host.Store.Tokens()).Data);
        var validated = await host.Service.ValidateRefreshTokenAsync(handle, client);
        await host.Service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated.RefreshToken! });
        Assert.Equal(2, host.Store.Tokens().Count);
        Assert.Single(host.Store.Tokens(), r => r.ConsumedTime is not null);
    }

    [Fact]
    public async Task A_ReUse_client_keeps_its_handle_and_a_foreign_client_is_refused()
    {
        Host host = Build();
        var client = new Client { ClientId = "web", AllowOfflineAccess = true };
        string handle = await host.Service.CreateRefreshTokenAsync(Request(client));
        var validated = await host.Service.ValidateRefreshTokenAsync(handle, client);
        string same = await host.Service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated.RefreshToken!, MustUpdate = true });
        Assert.Equal(handle, same);
        var other = new Client { ClientId = "other", AllowOfflineAccess = true };
        Assert.True((await host.Service.ValidateRefreshTokenAsync(handle, other)).IsError);
    }
    /// <summary>What a host reads back of a stored token: the validation of its handle.</summary>
    private static async Task<RefreshToken> Stored(Host host, Client client, string handle)
    {
        var v = await host.Service.ValidateRefreshTokenAsync(handle, client);
        Assert.False(v.IsError, v.Error);
        return v.RefreshToken!;
    }

    [Theory]
    [InlineData(TokenUsage.OneTimeOnly, TokenExpiration.Absolute)]
    [InlineData(TokenUsage.ReUse, TokenExpiration.Sliding)]
    public async Task The_token_endpoints_new_access_token_is_what_the_update_stores(TokenUsage usage, TokenExpiration expiration)
    {
        // What TokenResponseGenerator does between validation and update: the access token gets
        // a new creation time and lifetime, or is replaced (UpdateAccessTokenClaimsOnRefresh).
        Host host = Build();
        var client = new Client { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = usage, RefreshTokenExpiration = expiration };
        string handle = await host.Service.CreateRefreshTokenAsync(Request(client));
        foreach (bool replace in new[] { false, true })
        {
            RefreshToken validated = await Stored(host, client, handle);
            DateTime issued = DateTime.UtcNow.AddMinutes(replace ? 2 : 1);
            if (replace)
            {
                validated.SetAccessToken(new Token { ClientId = "mobile", Issuer = "https://other.example", CreationTime = issued, Lifetime = 77, Claims = { new Claim("sub", "42"), new Claim("scope", "api2") } });
            }
            else
            {
                validated.AccessTokens[""].CreationTime = issued;
                validated.AccessTokens[""].Lifetime = 66;
            }
            handle = await host.Service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated });
            Token stored = (await Stored(host, client, handle)).AccessTokens[""];
            Assert.Equal(replace ? 77 : 66, stored.Lifetime);
            Assert.Equal(issued, stored.CreationTime);
            Assert.Equal(replace ? "https://other.example" : "https://idp.example", stored.Issuer);
            Assert.Equal(replace ? "api2" : "api1", stored.Claims.Single(c => c.Type == "scope").Value);
        }
    }

    [Fact]
    public async Task A_deployments_own_change_to_the_validated_token_is_stored_as_under_stock_duende()
    {
        // Anything but the access tokens (here a claim added to the subject in place, a scope
        // dropped, a description set) sends the whole record, as stock Duende's update writes it.
        Host host = Build();
        var client = new Client { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.OneTimeOnly };
        string handle = await host.Service.CreateRefreshTokenAsync(Request(client));

        RefreshToken validated = await Stored(host, client, handle);
        ((ClaimsIdentity)validated.Subject.Identity!).AddClaim(new Claim("amr", "mfa"));
        handle = await host.Service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated });
        Assert.Equal("mfa", (await Stored(host, client, handle)).Subject.FindFirst("amr")?.Value);

        validated = await Stored(host, client, handle);
        validated.AuthorizedScopes = validated.AuthorizedScopes.Where(s => s != "api1").ToList();
        validated.Description = "device 7";
        handle = await host.Service.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated });
        RefreshToken stored = await Stored(host, client, handle);
        Assert.Equal(new[] { "openid", "offline_access" }, stored.AuthorizedScopes);
        Assert.Equal("device 7", stored.Description);
        Assert.Equal("mfa", stored.Subject.FindFirst("amr")?.Value);
    }

    [Fact]
    public async Task A_second_update_of_one_validated_object_takes_the_whole_record()
    {
        // Duende's pipeline updates a validated token once; a host that updates it again (a
        // retry of its own) gets the one successor, not an error.
        Host host = Build();
        var client = new Client { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.OneTimeOnly };
        string handle = await host.Service.CreateRefreshTokenAsync(Request(client));
        RefreshToken validated = await Stored(host, client, handle);
        var update = new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = validated };
        string next = await host.Service.UpdateRefreshTokenAsync(update);
        Assert.Equal(next, await host.Service.UpdateRefreshTokenAsync(update));
        Assert.False((await host.Service.ValidateRefreshTokenAsync(next, client)).IsError);
    }
}
