using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using RefreshTokenCore;
using RefreshTokenCore.EntityFramework;
using Xunit;

namespace EntityFrameworkPackageTests;

/// <summary>A fresh database on one provider: a SQLite file, or a new database on the PostgreSQL
/// test server (RTC_TEST_POSTGRES_URL, started by tests/run-all).</summary>
public sealed class Database : IDisposable
{
    private readonly string provider;
    private readonly string connection;
    private readonly string? pgAdmin;
    private readonly string? pgName;
    public readonly DbContextOptions<GrantStoreDbContext> Options;

    public Database(string provider)
    {
        this.provider = provider;
        var builder = new DbContextOptionsBuilder<GrantStoreDbContext>();
        if (provider == "sqlite")
        {
            connection = $"Data Source={Path.Combine(Path.GetTempPath(), $"rtc-ef-{Guid.NewGuid():N}.db")};Default Timeout=60";
            builder.UseSqlite(connection);
        }
        else
        {
            string url = Environment.GetEnvironmentVariable("RTC_TEST_POSTGRES_URL")
                ?? throw new InvalidOperationException("RTC_TEST_POSTGRES_URL is not set: start a server with `eval \"$(tests/postgres-server start)\"` (tests/run-all does).");
            var uri = new Uri(url);
            string user = Uri.UnescapeDataString(uri.UserInfo.Split(':')[0]);
            pgAdmin = $"Host={uri.Host};Port={uri.Port};Username={user};Database={uri.AbsolutePath.TrimStart('/')};Pooling=false";
            pgName = $"rtc_ef_{Guid.NewGuid():N}";
            Admin($"CREATE DATABASE {pgName}");
            connection = $"Host={uri.Host};Port={uri.Port};Username={user};Database={pgName};Maximum Pool Size=20";
            builder.UseNpgsql(connection);
        }
        Options = builder.Options;
    }

    private void Admin(string sql)
    {
        using var c = new NpgsqlConnection(pgAdmin);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }

    public GrantStoreDbContext Create() => new(Options);

    public void EnsureCreated()
    {
        using GrantStoreDbContext db = Create();
        db.Database.EnsureCreated();
        if (provider == "sqlite") db.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL;");
    }

    /// <summary>The table as IdentityServer4 and Duende before 6.1 created it: Key is the primary key, no Id.</summary>
    public void CreateIdentityServer4Table()
    {
        string time = provider == "sqlite" ? "TEXT" : "timestamp with time zone";
        using GrantStoreDbContext db = Create();
        // DDL with fixed text: nothing user-supplied is concatenated.
#pragma warning disable EF1003
        db.Database.ExecuteSqlRaw(
            $"CREATE TABLE \"PersistedGrants\" (\"Key\" varchar(200) NOT NULL PRIMARY KEY, \"Type\" varchar(50) NOT NULL, \"SubjectId\" varchar(200) NULL, " +
            $"\"SessionId\" varchar(100) NULL, \"ClientId\" varchar(200) NOT NULL, \"Description\" varchar(200) NULL, \"CreationTime\" {time} NOT NULL, " +
            $"\"Expiration\" {time} NULL, \"ConsumedTime\" {time} NULL, \"Data\" text NOT NULL)");
#pragma warning restore EF1003
    }

    public EntityFrameworkPersistedGrantStore Store() => new(Create);

    public void Dispose()
    {
        if (provider == "sqlite")
        {
            SqliteConnection.ClearAllPools();
            string path = connection.Split(';')[0]["Data Source=".Length..];
            foreach (string f in new[] { path, path + "-wal", path + "-shm" })
            {
                if (File.Exists(f)) File.Delete(f);
            }
        }
        else
        {
            NpgsqlConnection.ClearAllPools();
            Admin($"DROP DATABASE IF EXISTS {pgName} WITH (FORCE)");
        }
    }
}

public class ProviderTests
{
    private static ClientSettings Spa() => new() { ClientId = "spa", AllowOfflineAccess = true, RefreshTokenUsage = RefreshTokenUsage.OneTimeOnly };

    private static Task<string> Create(RefreshTokenService s, string subject = "alice") => s.CreateRefreshTokenAsync(new CreateRefreshTokenRequest
    {
        Client = Spa(),
        Subject = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(new[] { new System.Security.Claims.Claim("sub", subject) }, "Duende.IdentityServer")),
        SessionId = "s1",
        AuthorizedScopes = new[] { "openid", "offline_access" },
    });

    private static StoredGrant Row(string key, DateTime created, DateTime? expiration, DateTime? consumed) => new()
    {
        Key = key,
        Type = "refresh_token",
        SubjectId = "bob",
        ClientId = "spa",
        CreationTime = created,
        Expiration = expiration,
        ConsumedTime = consumed,
        Data = "{}",
    };

    [Fact]
    public void The_EF_Core_major_version_is_the_one_this_project_pins()
    {
        string expected = Assembly.GetExecutingAssembly().GetCustomAttributes<AssemblyMetadataAttribute>().Single(a => a.Key == "ExpectedEfCoreMajor").Value!;
        Assert.Equal(int.Parse(expected), typeof(DbContext).Assembly.GetName().Version!.Major);
        Assert.Equal(int.Parse(expected), typeof(RelationalDatabaseFacadeExtensions).Assembly.GetName().Version!.Major);
        // The store comes from the packed package, not from a project reference.
        string deps = Path.Combine(AppContext.BaseDirectory, Assembly.GetExecutingAssembly().GetName().Name + ".deps.json");
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(deps));
        string version = typeof(EntityFrameworkPersistedGrantStore).Assembly.GetName().Version!.ToString(3);
        Assert.Equal("package", json.RootElement.GetProperty("libraries").GetProperty($"RefreshTokenCore.EntityFramework/{version}").GetProperty("type").GetString());
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Create_refresh_consume_and_filters_work(string provider)
    {
        using var db = new Database(provider);
        db.EnsureCreated();
        EntityFrameworkPersistedGrantStore store = db.Store();
        store.VerifySchema();
        // No reuse window: a used token is refused at once (the reference's answer).
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store, DeleteOneTimeOnlyRefreshTokensOnUse = false, ReuseWindowSeconds = 0 });
        string handle = await Create(service);
        RefreshResult next = await service.RefreshAsync(Spa(), handle);
        Assert.False(next.IsError);
        StoredGrant old = (await store.GetAsync(RefreshTokenService.GetPersistedGrantKey(handle), default))!;
        Assert.NotNull(old.ConsumedTime);
        Assert.Equal(DateTimeKind.Utc, old.CreationTime.Kind);
        Assert.Equal(RefusalReason.Consumed, (await service.RefreshAsync(Spa(), handle)).Reason);
        Assert.Equal(ConsumeOutcome.AlreadyConsumed, (await store.TryConsumeAsync(old.Key, old with { Data = "x" }, default)));
        Assert.Equal(ConsumeOutcome.NotFound, (await store.TryConsumeAsync("missing", null, default)));
        // Store is an upsert: a second write of the same key overwrites every column.
        await store.StoreAsync(old with { Description = "rewritten" }, default);
        Assert.Equal("rewritten", (await store.GetAsync(old.Key, default))!.Description);
        Assert.Equal(2, (await store.GetAllAsync(new StoredGrantFilter { SubjectId = "alice", ClientIds = new[] { "spa", "other" } }, default)).Count);
        Assert.Empty((await store.GetAllAsync(new StoredGrantFilter { SubjectId = "alice", Type = "reference_token" }, default)));
        Assert.Equal(2, (await store.RemoveAllAsync(new StoredGrantFilter { SubjectId = "alice", ClientId = "spa" }, default)));
        Assert.Null((await store.GetAsync(old.Key, default)));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Eight_parallel_refreshes_of_one_token_get_its_one_successor_50_rounds(string provider)
    {
        using var db = new Database(provider);
        db.EnsureCreated();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = db.Store() });
        for (int round = 0; round < 50; round++)
        {
            string handle = await Create(service, $"user-{round}");
            using var start = new Barrier(8);
            RefreshResult[] results = await Task.WhenAll(Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                return service.RefreshAsync(Spa(), handle);
            })));
            // Every caller is answered with the one successor (the losers get the winner's).
            Assert.All(results, r => Assert.False(r.IsError, r.Reason.ToString()));
            Assert.Single(results.Select(r => r.Handle).Distinct());
            StoredGrant live = Assert.Single((await db.Store().GetAllAsync(new StoredGrantFilter { SubjectId = $"user-{round}" }, default)));
            Assert.Equal(RefreshTokenService.GetPersistedGrantKey(results[0].Handle!), live.Key);
        }
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Cleanup_removes_due_rows_in_batches_and_keeps_the_rest(string provider)
    {
        using var db = new Database(provider);
        db.EnsureCreated();
        EntityFrameworkPersistedGrantStore store = db.Store();
        DateTime now = new(2026, 6, 1, 12, 0, 0, DateTimeKind.Utc);
        for (int i = 0; i < 5; i++) await store.StoreAsync(Row($"expired-{i}", now.AddDays(-2), now.AddSeconds(-1 - i), null), default);
        await store.StoreAsync(Row("live", now.AddDays(-2), now.AddSeconds(1), null), default);
        await store.StoreAsync(Row("never-expires", now.AddDays(-2), null, null), default);
        await store.StoreAsync(Row("consumed-old", now.AddDays(-2), now.AddDays(1), now.AddMinutes(-10)), default);
        await store.StoreAsync(Row("consumed-new", now.AddDays(-2), now.AddDays(1), now.AddMinutes(-1)), default);
        Assert.Equal(2, (await store.RemoveExpiredAsync(now, 2, default)));
        // Oldest first: the two with the earliest Expiration went.
        Assert.Null((await store.GetAsync("expired-4", default)));
        Assert.Null((await store.GetAsync("expired-3", default)));
        Assert.Equal(3, (await store.RemoveExpiredAsync(now, 100, default)));
        Assert.Equal(0, (await store.RemoveExpiredAsync(now, 100, default)));
        Assert.NotNull((await store.GetAsync("live", default)));
        Assert.NotNull((await store.GetAsync("never-expires", default)));
        Assert.Equal(1, (await store.RemoveConsumedAsync(now.AddMinutes(-5), 100, default)));
        Assert.Null((await store.GetAsync("consumed-old", default)));
        Assert.NotNull((await store.GetAsync("consumed-new", default)));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await store.RemoveExpiredAsync(now, 0, default));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task A_table_of_the_IdentityServer4_shape_without_Id_works(string provider)
    {
        using var db = new Database(provider);
        db.CreateIdentityServer4Table();
        EntityFrameworkPersistedGrantStore store = db.Store();
        store.VerifySchema();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store });
        string handle = await Create(service);
        RefreshResult next = await service.RefreshAsync(Spa(), handle);
        Assert.False(next.IsError);
        Assert.Null((await store.GetAsync(RefreshTokenService.GetPersistedGrantKey(handle), default)));
        Assert.NotNull((await store.GetAsync(RefreshTokenService.GetPersistedGrantKey(next.Handle!), default)));
        await store.StoreAsync(Row("expired", DateTime.UtcNow.AddDays(-2), DateTime.UtcNow.AddDays(-1), null), default);
        Assert.Equal(1, (await store.RemoveExpiredAsync(DateTime.UtcNow, 10, default)));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public void A_missing_table_is_refused_at_start_up_with_a_message_naming_it(string provider)
    {
        using var db = new Database(provider);
        var e = Assert.Throws<InvalidOperationException>(() => db.Store().VerifySchema());
        Assert.Contains("PersistedGrants", e.Message);
    }
}
