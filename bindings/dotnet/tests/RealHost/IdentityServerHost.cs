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
using Microsoft.AspNetCore.Http;
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
        Client("code", TokenUsage.OneTimeOnly, c =>
        {
            c.AllowedGrantTypes = GrantTypes.Code;
            c.RequirePkce = true;
            c.RequireConsent = false;
            c.RedirectUris = new List<string> { CodeRedirectUri };
            c.AllowedScopes = new List<string> { "openid", "api1" };
            // With server-side sessions, a refresh is valid only while the login's session is.
            c.CoordinateLifetimeWithUserSession = true;
        }),
    };

    /// <summary>Where the code client's authorization responses go (never fetched: the test reads the code from the redirect).</summary>
    public const string CodeRedirectUri = "http://127.0.0.1/callback";

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

    /// <summary>Whether and where server-side sessions are added (Duende's <c>AddServerSideSessions</c>).</summary>
    public enum Sessions { None, BeforeSwapIn, AfterSwapIn }

    public static async Task<IdentityServerHost> StartAsync(Deployment deployment, bool swapIn, bool deleteOnUse, Sessions sessions = Sessions.None)
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
        if (sessions == Sessions.BeforeSwapIn) ids.AddServerSideSessions();
        if (swapIn)
        {
            ids.AddRefreshTokenCore();
        }
        if (sessions == Sessions.AfterSwapIn) ids.AddServerSideSessions();
        WebApplication app = builder.Build();
        using (IServiceScope scope = app.Services.CreateScope())
        {
            scope.ServiceProvider.GetRequiredService<PersistedGrantDbContext>().Database.EnsureCreated();
        }
        app.UseIdentityServer();
        // The login page of the code flow: signs the test user in (Duende's cookie) and goes back.
        app.MapGet("/account/login", async (HttpContext context, string returnUrl) =>
        {
            await context.SignInAsync(new Duende.IdentityServer.IdentityServerUser("1") { DisplayName = "alice", AuthenticationTime = clock.GetUtcNow().UtcDateTime });
            return Microsoft.AspNetCore.Http.Results.Redirect(returnUrl);
        });
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

    /// <summary>
    /// The authorization code flow with PKCE, as a browser would run it (cookies kept, redirects
    /// followed by hand up to the client's redirect URI), then the code exchanged for tokens.
    /// </summary>
    public async Task<TokenResponse> CodeWithPkceAsync()
    {
        string verifier = Duende.IdentityModel.CryptoRandom.CreateUniqueId(32);
        string challenge = Base64Url(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.ASCII.GetBytes(verifier)));
        using var browser = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false, UseCookies = true, CookieContainer = new System.Net.CookieContainer() });
        string next = new RequestUrl(Url + "/connect/authorize").CreateAuthorizeUrl(
            clientId: "code", responseType: "code", scope: "openid api1 offline_access", redirectUri: CodeRedirectUri,
            state: "state", nonce: "nonce", codeChallenge: challenge, codeChallengeMethod: "S256");
        for (int hop = 0; hop < 6; hop++)
        {
            using HttpResponseMessage r = await browser.GetAsync(next);
            Uri location = r.Headers.Location ?? throw new InvalidOperationException($"authorize answered {(int)r.StatusCode} without a redirect");
            next = location.IsAbsoluteUri ? location.ToString() : new Uri(new Uri(Url), location).ToString();
            if (!next.StartsWith(CodeRedirectUri, StringComparison.Ordinal)) continue;
            var response = new AuthorizeResponse(next);
            return await Http.RequestAuthorizationCodeTokenAsync(new AuthorizationCodeTokenRequest
            {
                Address = TokenEndpoint,
                ClientId = "code",
                ClientSecret = Secret,
                Code = response.Code ?? throw new InvalidOperationException($"no code in {next}"),
                RedirectUri = CodeRedirectUri,
                CodeVerifier = verifier,
            });
        }
        throw new InvalidOperationException("the authorize flow never reached the redirect URI");
    }

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>Ends every server-side session of a subject (the user logged out elsewhere), leaving its tokens in place.</summary>
    public async Task EndSessionsAsync(string subjectId)
    {
        using IServiceScope scope = app.Services.CreateScope();
        await scope.ServiceProvider.GetRequiredService<Duende.IdentityServer.Stores.IServerSideSessionStore>()
            .DeleteSessionsAsync(new Duende.IdentityServer.Stores.SessionFilter { SubjectId = subjectId });
    }

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
