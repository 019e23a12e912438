using System;
using System.Collections.Generic;
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

namespace TokenEndpoint;

/// <summary>Which refresh-token service the host runs.</summary>
public enum Side
{
    /// <summary>Duende's own DefaultRefreshTokenService on its EF Core operational store.</summary>
    Stock,
    /// <summary>AddRefreshTokenCore() on the same EF Core operational store.</summary>
    SwapIn,
    /// <summary>AddRefreshTokenCore() on its built-in store in the same database server (or SQLite file folder).</summary>
    Native,
}

/// <summary>
/// A Duende IdentityServer host on Kestrel (127.0.0.1, a free port) as a deployment runs it:
/// in-memory clients and a test user, the EF Core operational store, Data Protection (an
/// ephemeral key ring, the same kind on every side), logging off on every side.
/// </summary>
public sealed class Host : IAsyncDisposable
{
    public const string Secret = "secret";
    private readonly WebApplication app;
    private readonly HttpClient http;

    private Host(WebApplication app, HttpClient http)
    {
        this.app = app;
        this.http = http;
        TokenEndpoint = app.Urls.First() + "/connect/token";
    }

    public string TokenEndpoint { get; }

    public static async Task<Host> StartAsync(Database database, Side side, EfCounter counter, HttpClient http)
    {
        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Services.AddDataProtection().UseEphemeralDataProtectionProvider();
        IIdentityServerBuilder ids = builder.Services.AddIdentityServer(o => o.KeyManagement.Enabled = false)
            .AddDeveloperSigningCredential(persistKey: false)
            .AddInMemoryClients(new[] { Client("reuse", TokenUsage.ReUse), Client("onetime", TokenUsage.OneTimeOnly) })
            .AddInMemoryApiScopes(new[] { new ApiScope("api1") })
            .AddTestUsers(new List<TestUser> { new() { SubjectId = "1", Username = "alice", Password = "alice", Claims = { new Claim("name", "Alice") } } })
            .AddOperationalStore(o => o.ConfigureDbContext = b =>
            {
                database.Configure(b);
                b.AddInterceptors(counter, new EfTransactionCounter(counter));
            });
        if (side == Side.SwapIn)
        {
            ids.AddRefreshTokenCore();
        }
        else if (side == Side.Native)
        {
            ids.AddRefreshTokenCore(database.ConfigureNative);
        }
        WebApplication app = builder.Build();
        using (IServiceScope scope = app.Services.CreateScope())
        {
            PersistedGrantDbContext context = scope.ServiceProvider.GetRequiredService<PersistedGrantDbContext>();
            await context.Database.EnsureCreatedAsync();
            await database.PrepareAsync(context);
        }
        app.UseIdentityServer();
        await app.StartAsync();
        return new Host(app, http);
    }

    private static Client Client(string id, TokenUsage usage) => new()
    {
        ClientId = id,
        ClientSecrets = { new Duende.IdentityServer.Models.Secret(Secret.Sha256()) },
        AllowedGrantTypes = GrantTypes.ResourceOwnerPassword,
        AllowOfflineAccess = true,
        AllowedScopes = { "api1" },
        RefreshTokenUsage = usage,
    };

    /// <summary>A new chain: the password grant's refresh token.</summary>
    public async Task<string> LoginAsync(string client)
    {
        TokenResponse r = await http.RequestPasswordTokenAsync(new PasswordTokenRequest
        {
            Address = TokenEndpoint,
            ClientId = client,
            ClientSecret = Secret,
            UserName = "alice",
            Password = "alice",
            Scope = "api1 offline_access",
        });
        return r.RefreshToken ?? throw new InvalidOperationException($"login: {(int)r.HttpStatusCode} {r.Error} {r.ErrorDescription}");
    }

    /// <summary>One refresh: the refresh token to use next, or null and why.</summary>
    public async Task<(string? Next, string? Error)> RefreshAsync(string client, string refreshToken)
    {
        TokenResponse r = await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = TokenEndpoint,
            ClientId = client,
            ClientSecret = Secret,
            RefreshToken = refreshToken,
        });
        return r.IsError || r.AccessToken is null || r.RefreshToken is null
            ? (null, $"{(int)r.HttpStatusCode} {r.Error}")
            : (r.RefreshToken, null);
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
