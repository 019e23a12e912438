using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Security.Claims;
using System.Threading.Tasks;
using Duende.IdentityModel.Client;
using Duende.IdentityServer.EntityFramework.DbContexts;
using Duende.IdentityServer.Models;
using Duende.IdentityServer.Test;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.AspNetCore.Hosting;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace RealHostTests;

/// <summary>Where a deployment keeps what survives a restart: the database and the key ring.</summary>
public sealed class Deployment : IDisposable
{
    public readonly string Directory = Path.Combine(Path.GetTempPath(), $"rtc-real-host-{Guid.NewGuid():N}");
    public string Database => Path.Combine(Directory, "grants.db");
    public string Keys => Path.Combine(Directory, "keys");
    /// <summary>Short busy timeout, so an outage (a held lock) fails fast.</summary>
    public string ConnectionString => $"Data Source={Database};Default Timeout=2;Pooling=False";

    public Deployment() => System.IO.Directory.CreateDirectory(Keys);

    public void Dispose()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { System.IO.Directory.Delete(Directory, recursive: true); } catch (IOException) { }
    }
}

/// <summary>The deployment's clock, moved by a test: Duende's <c>IClock</c> (and through it the
/// swap-in) reads it, so lifetimes are judged at the time the test says.</summary>
public sealed class ManualClock : TimeProvider
{
    private DateTimeOffset now = DateTimeOffset.UtcNow;

    public override DateTimeOffset GetUtcNow() => now;

    public void Advance(TimeSpan by) => now += by;
}

/// <summary>
/// A real Duende IdentityServer host on Kestrel (127.0.0.1, a free port): in-memory clients and
/// test users, the EF Core operational store on SQLite, Data Protection with a key ring on disk,
/// and, for the swap-in, <c>AddRefreshTokenCore()</c> and nothing else.
/// </summary>
public sealed class IdentityServerHost : IAsyncDisposable
{
    public const string Secret = "secret";
    private readonly WebApplication app;
    public readonly HttpClient Http = new();
    public readonly string Url;
    public readonly List<TestUser> Users;
    public readonly List<Client> Clients;
    public readonly bool SwapIn;
    public readonly ManualClock Clock;

    private IdentityServerHost(WebApplication app, List<TestUser> users, List<Client> clients, bool swapIn, ManualClock clock)
    {
        this.app = app;
        Clock = clock;
        Users = users;
        Clients = clients;
        SwapIn = swapIn;
        Url = app.Urls.First();
    }

    public string TokenEndpoint => Url + "/connect/token";
    public string RevocationEndpoint => Url + "/connect/revocation";
    public string IntrospectionEndpoint => Url + "/connect/introspect";

    public static List<Client> DefaultClients() => new()
    {
        Client("reuse", TokenUsage.ReUse),
        Client("onetime", TokenUsage.OneTimeOnly),
        Client("other", TokenUsage.ReUse),
        Client("absolute", TokenUsage.ReUse, c => c.AbsoluteRefreshTokenLifetime = 100),
        Client("sliding", TokenUsage.OneTimeOnly, c =>
        {
            c.RefreshTokenExpiration = TokenExpiration.Sliding;
            c.SlidingRefreshTokenLifetime = 100;
            c.AbsoluteRefreshTokenLifetime = 300;
        }),
        Client("short", TokenUsage.ReUse, c => c.AbsoluteRefreshTokenLifetime = 1),
        Client("claims", TokenUsage.ReUse, c => c.UpdateAccessTokenClaimsOnRefresh = true),
    };

    private static Client Client(string id, TokenUsage usage, Action<Client>? configure = null)
    {
        var client = new Client
        {
            ClientId = id,
            ClientSecrets = { new Duende.IdentityServer.Models.Secret(Secret.Sha256()) },
            AllowedGrantTypes = GrantTypes.ResourceOwnerPassword,
            AllowOfflineAccess = true,
            AllowedScopes = { "api1" },
            RefreshTokenUsage = usage,
        };
        configure?.Invoke(client);
        return client;
    }

    public static async Task<IdentityServerHost> StartAsync(Deployment deployment, bool swapIn, bool deleteOnUse)
    {
        var users = new List<TestUser>
        {
            new() { SubjectId = "1", Username = "alice", Password = "alice", Claims = { new Claim("name", "Alice") } },
            new() { SubjectId = "2", Username = "bob", Password = "bob" },
        };
        List<Client> clients = DefaultClients();
        var clock = new ManualClock();
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.Services.AddSingleton<TimeProvider>(clock);
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.AddFilter(_ => false);
        builder.Services.AddDataProtection()
            .PersistKeysToFileSystem(new DirectoryInfo(deployment.Keys))
            .SetApplicationName("refresh-token-core-real-host");
        IIdentityServerBuilder ids = builder.Services.AddIdentityServer(o =>
            {
                o.PersistentGrants.DeleteOneTimeOnlyRefreshTokensOnUse = deleteOnUse;
                o.KeyManagement.Enabled = false;
            })
            .AddDeveloperSigningCredential(persistKey: false)
            .AddInMemoryClients(clients)
            .AddInMemoryApiScopes(new[] { new ApiScope("api1", new[] { "name" }) })
            .AddInMemoryIdentityResources(new IdentityResource[] { new IdentityResources.OpenId() })
            .AddTestUsers(users)
            .AddOperationalStore(o => o.ConfigureDbContext = b => b.UseSqlite(deployment.ConnectionString));
        if (swapIn)
        {
            ids.AddRefreshTokenCore();
        }
        WebApplication app = builder.Build();
        using (IServiceScope scope = app.Services.CreateScope())
        {
            scope.ServiceProvider.GetRequiredService<PersistedGrantDbContext>().Database.EnsureCreated();
        }
        app.UseIdentityServer();
        await app.StartAsync();
        return new IdentityServerHost(app, users, clients, swapIn, clock);
    }

    public Task<TokenResponse> PasswordAsync(string client, string user) => Http.RequestPasswordTokenAsync(new PasswordTokenRequest
    {
        Address = TokenEndpoint,
        ClientId = client,
        ClientSecret = Secret,
        UserName = user,
        Password = user,
        Scope = "api1 offline_access",
    });

    public Task<TokenResponse> RefreshAsync(string client, string refreshToken) => Http.RequestRefreshTokenAsync(new RefreshTokenRequest
    {
        Address = TokenEndpoint,
        ClientId = client,
        ClientSecret = Secret,
        RefreshToken = refreshToken,
    });

    public Task<TokenRevocationResponse> RevokeAsync(string client, string refreshToken) => Http.RevokeTokenAsync(new TokenRevocationRequest
    {
        Address = RevocationEndpoint,
        ClientId = client,
        ClientSecret = Secret,
        Token = refreshToken,
        TokenTypeHint = "refresh_token",
    });

    /// <summary>RFC 7662 introspection of a refresh token by the client that holds it.</summary>
    public Task<TokenIntrospectionResponse> IntrospectAsync(string client, string refreshToken) => Http.IntrospectTokenAsync(new TokenIntrospectionRequest
    {
        Address = IntrospectionEndpoint,
        ClientId = client,
        ClientSecret = Secret,
        Token = refreshToken,
        TokenTypeHint = "refresh_token",
    });

    /// <summary>One pass of Duende's own EF Core token cleanup (<c>ITokenCleanupService</c>).</summary>
    public async Task CleanupAsync()
    {
        using IServiceScope scope = app.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<Duende.IdentityServer.EntityFramework.ITokenCleanupService>().CleanupGrantsAsync();
    }

    /// <summary>The live refresh-token rows of a subject (ConsumedTime null), straight from the database.</summary>
    public int LiveRefreshTokens(string subjectId)
    {
        using IServiceScope scope = app.Services.CreateScope();
        return scope.ServiceProvider.GetRequiredService<PersistedGrantDbContext>().PersistedGrants
            .Count(g => g.SubjectId == subjectId && g.Type == "refresh_token" && g.ConsumedTime == null);
    }

    /// <summary>Every refresh-token row of a subject, used ones included.</summary>
    public int RefreshTokenRows(string subjectId)
    {
        using IServiceScope scope = app.Services.CreateScope();
        return scope.ServiceProvider.GetRequiredService<PersistedGrantDbContext>().PersistedGrants
            .Count(g => g.SubjectId == subjectId && g.Type == "refresh_token");
    }

    public async ValueTask DisposeAsync()
    {
        Http.Dispose();
        await app.StopAsync();
        await app.DisposeAsync();
    }
}

/// <summary>What one request was answered: the status, the OAuth error, whether a refresh token came back.</summary>
public static class Answer
{
    public static string Of(TokenResponse r) => r.IsError
        ? $"{(int)r.HttpStatusCode} {r.Error}"
        : $"{(int)r.HttpStatusCode}{(r.RefreshToken is null ? "" : " +rt")}";
}

/// <summary>The case table of a run, written to target/real-host-results.md for the closing note.</summary>
public static class Results
{
    private static readonly object Gate = new();

    public static string Path => System.IO.Path.Combine(AppContext.BaseDirectory, "../../../../../../../target/real-host-results.md");

    public static void Add(string mode, string @case, string stock, string swapIn)
    {
        lock (Gate)
        {
            File.AppendAllText(Path, $"| {mode} | {@case} | {stock} | {swapIn} |\n");
        }
    }
}
