using System.Threading;
using System;
using System.Collections.Generic;
using System.IO;
using System.Net;
using System.Net.Http;
using System.Security.Claims;
using System.Threading.Tasks;
using Duende.IdentityModel.Client;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using RefreshTokenCore.EntityFramework;
using Xunit;

namespace RefreshTokenCore.EndToEnd.Tests;

/// <summary>The EF store with a switch that takes the database away.</summary>
public sealed class OutageStore : IGrantStore, IConditionalConsumeGrantStore
{
    private readonly EntityFrameworkPersistedGrantStore inner;
    public volatile bool Down;

    public OutageStore(EntityFrameworkPersistedGrantStore inner) => this.inner = inner;

    private ValueTask<T> Call<T>(Func<ValueTask<T>> f) => Down ? throw new IOException("database unreachable") : f();
    private ValueTask Call(Func<ValueTask> f) => Down ? throw new IOException("database unreachable") : f();

    public ValueTask<StoredGrant?> GetAsync(string key, CancellationToken ct) => Call(() => inner.GetAsync(key, ct));
    public ValueTask StoreAsync(StoredGrant grant, CancellationToken ct) => Call(() => inner.StoreAsync(grant, ct));
    public ValueTask RemoveAsync(string key, CancellationToken ct) => Call(() => inner.RemoveAsync(key, ct));
    public ValueTask<IReadOnlyList<StoredGrant>> GetAllAsync(StoredGrantFilter filter, CancellationToken ct) => Call(() => inner.GetAllAsync(filter, ct));
    public ValueTask<long> RemoveAllAsync(StoredGrantFilter filter, CancellationToken ct) => Call(() => inner.RemoveAllAsync(filter, ct));
    public ValueTask<int> RemoveExpiredAsync(DateTime now, int batchSize, CancellationToken ct) => Call(() => inner.RemoveExpiredAsync(now, batchSize, ct));
    public ValueTask<int> RemoveConsumedAsync(DateTime before, int batchSize, CancellationToken ct) => Call(() => inner.RemoveConsumedAsync(before, batchSize, ct));
    public ValueTask<ConsumeOutcome> TryConsumeAsync(string key, StoredGrant? replacement, CancellationToken ct) => Call(() => inner.TryConsumeAsync(key, replacement, ct));
}

public sealed class EndToEndTests : IAsyncLifetime
{
    private readonly string dbPath = Path.Combine(Path.GetTempPath(), $"rtc-e2e-{Guid.NewGuid():N}.db");
    private readonly Dictionary<string, RegisteredClient> clients = new()
    {
        ["web"] = new("web-secret", new ClientSettings { ClientId = "web", AllowOfflineAccess = true }),
        ["mobile"] = new("mobile-secret", new ClientSettings { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = RefreshTokenUsage.OneTimeOnly }),
    };
    private WebApplication app = default!;
    private HttpClient http = default!;
    private OutageStore store = default!;

    public async Task InitializeAsync()
    {
        var options = new DbContextOptionsBuilder<GrantStoreDbContext>().UseSqlite($"Data Source={dbPath}").Options;
        using (var db = new GrantStoreDbContext(options))
        {
            db.Database.EnsureCreated();
        }
        store = new OutageStore(new EntityFrameworkPersistedGrantStore(() => new GrantStoreDbContext(options)));

        WebApplicationBuilder builder = WebApplication.CreateBuilder();
        builder.WebHost.UseTestServer();
        builder.Services.AddSingleton<IGrantStore>(store);
        builder.Services.AddRefreshTokenCore();
        app = builder.Build();
        TokenEndpoint.Map(app, clients);
        await app.StartAsync();
        http = app.GetTestClient();
    }

    public async Task DisposeAsync()
    {
        http.Dispose();
        await app.DisposeAsync();
        SqliteConnection.ClearAllPools();
        File.Delete(dbPath);
    }

    private async Task<string> IssueAsync(string clientId)
    {
        var service = app.Services.GetRequiredService<RefreshTokenService>();
        return await service.CreateRefreshTokenAsync(new CreateRefreshTokenRequest
        {
            Client = clients[clientId].Settings,
            Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", "alice") }, "Duende.IdentityServer")),
            SessionId = "sid-1",
            AuthorizedScopes = new[] { "openid", "api", "offline_access" },
        });
    }

    private Task<TokenResponse> RefreshAsync(string clientId, string refreshToken) =>
        http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = "http://localhost/connect/token",
            ClientId = clientId,
            ClientSecret = clients[clientId].Secret,
            RefreshToken = refreshToken,
        });

    private static string? BodyError(TokenResponse r) =>
        System.Text.Json.JsonDocument.Parse(r.Raw!).RootElement.GetProperty("error").GetString();

    [Fact]
    public async Task A_ReUse_client_refreshes_over_http_and_keeps_its_refresh_token()
    {
        string handle = await IssueAsync("web");
        for (int i = 0; i < 3; i++)
        {
            TokenResponse r = await RefreshAsync("web", handle);
            Assert.False(r.IsError, r.Error);
            Assert.Equal(HttpStatusCode.OK, r.HttpStatusCode);
            Assert.Equal(handle, r.RefreshToken);
            Assert.Equal(3600, r.ExpiresIn);
            Assert.Equal("openid api offline_access", r.Scope);
            Assert.False(string.IsNullOrEmpty(r.AccessToken));
        }
    }

    [Fact]
    public async Task A_OneTimeOnly_client_rotates_a_retry_gets_the_same_successor_and_a_replay_is_HTTP_400()
    {
        string first = await IssueAsync("mobile");
        TokenResponse r1 = await RefreshAsync("mobile", first);
        Assert.False(r1.IsError, r1.Error);
        Assert.NotEqual(first, r1.RefreshToken);
        // The response was lost, say: the client retries with the same token and gets the same
        // successor, not a second chain.
        TokenResponse retry = await RefreshAsync("mobile", first);
        Assert.False(retry.IsError, retry.Error);
        Assert.Equal(r1.RefreshToken, retry.RefreshToken);
        TokenResponse r2 = await RefreshAsync("mobile", r1.RefreshToken!);
        Assert.False(r2.IsError, r2.Error);
        // Once the chain has moved on, the first token is a replay.
        TokenResponse replay = await RefreshAsync("mobile", first);
        Assert.True(replay.IsError);
        Assert.Equal(HttpStatusCode.BadRequest, replay.HttpStatusCode);
        Assert.Equal("invalid_grant", replay.Error);
    }

    [Fact]
    public async Task A_storage_outage_is_a_retryable_503_and_the_retry_succeeds()
    {
        string first = await IssueAsync("mobile");
        store.Down = true;
        TokenResponse down = await RefreshAsync("mobile", first);
        Assert.True(down.IsError);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, down.HttpStatusCode);
        // IdentityModel parses OAuth errors only from 400 responses; the body carries ours.
        Assert.Equal("temporarily_unavailable", BodyError(down));
        store.Down = false;
        TokenResponse retry = await RefreshAsync("mobile", first);
        Assert.False(retry.IsError, retry.Error);
        Assert.NotEqual(first, retry.RefreshToken);
    }

    [Fact]
    public async Task Client_authentication_comes_first()
    {
        string handle = await IssueAsync("web");
        TokenResponse r = await http.RequestRefreshTokenAsync(new RefreshTokenRequest
        {
            Address = "http://localhost/connect/token",
            ClientId = "web",
            ClientSecret = "wrong",
            RefreshToken = handle,
        });
        Assert.Equal(HttpStatusCode.Unauthorized, r.HttpStatusCode);
        Assert.Equal("invalid_client", BodyError(r));
        TokenResponse other = await RefreshAsync("mobile", handle);
        Assert.Equal("invalid_grant", other.Error);
    }
}
