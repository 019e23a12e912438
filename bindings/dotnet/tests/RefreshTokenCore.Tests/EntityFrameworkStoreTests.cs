using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using RefreshTokenCore.EntityFramework;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>A SQLite file with Duende's PersistedGrants schema, in WAL mode.</summary>
internal sealed class SqliteDatabase : IDisposable
{
    public readonly string Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"rtc-{Guid.NewGuid():N}.db");
    private readonly DbContextOptions<GrantStoreDbContext> options;

    public SqliteDatabase(params Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor[] more)
    {
        options = new DbContextOptionsBuilder<GrantStoreDbContext>()
            .UseSqlite($"Data Source={Path};Default Timeout=30;Pooling=True")
            .AddInterceptors(new Microsoft.EntityFrameworkCore.Diagnostics.IInterceptor[] { new BusyTimeout() }.Concat(more))
            .Options;
        using GrantStoreDbContext db = Create();
        db.Database.EnsureCreated();
        db.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL;");
    }

    public GrantStoreDbContext Create() => new(options);

    public EntityFrameworkPersistedGrantStore Store() => new(Create);

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        foreach (string f in new[] { Path, Path + "-wal", Path + "-shm" })
        {
            if (File.Exists(f)) File.Delete(f);
        }
    }
}

/// <summary>Lets SQLite itself wait for a lock (in short sleeps) instead of failing at once and
/// leaving the retry to the ADO.NET provider's much coarser back-off.</summary>
internal sealed class BusyTimeout : Microsoft.EntityFrameworkCore.Diagnostics.DbConnectionInterceptor
{
    public override void ConnectionOpened(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData)
    {
        using var cmd = connection.CreateCommand();
        cmd.CommandText = "PRAGMA busy_timeout = 10000;";
        cmd.ExecuteNonQuery();
    }
}

/// <summary>Makes the next COMMIT go through and then throw, as a COMMIT whose answer was lost.</summary>
internal sealed class LoseNextCommitAnswer : Microsoft.EntityFrameworkCore.Diagnostics.DbTransactionInterceptor
{
    public volatile bool Armed;

    public override void TransactionCommitted(System.Data.Common.DbTransaction transaction, Microsoft.EntityFrameworkCore.Diagnostics.TransactionEndEventData eventData) => Lose();

    // The store commits through EF Core's asynchronous API.
    public override Task TransactionCommittedAsync(System.Data.Common.DbTransaction transaction, Microsoft.EntityFrameworkCore.Diagnostics.TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Lose();
        return Task.CompletedTask;
    }

    private void Lose()
    {
        if (Armed)
        {
            Armed = false;
            throw new TimeoutException("the COMMIT went through; its answer did not come back");
        }
    }
}

public class EntityFrameworkStoreTests
{
    [Fact]
    public async Task A_rotation_whose_commit_answer_is_lost_is_answered_with_the_successor()
    {
        foreach (bool delete in new[] { true, false })
        {
            var lost = new LoseNextCommitAnswer();
            using var db = new SqliteDatabase(lost);
            EntityFrameworkPersistedGrantStore store = db.Store();
            using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store, DeleteOneTimeOnlyRefreshTokensOnUse = delete });
            ClientSettings spa = TestSupport.Spa();
            string handle = await service.CreateAsync(spa);
            lost.Armed = true;
            // The library reads back what the lost answer hid: the rotation applied.
            RefreshResult r = await service.RefreshAsync(spa, handle);
            Assert.False(r.IsError, r.Reason.ToString());
            Assert.False(lost.Armed);
            StoredGrant live = Assert.Single((await store.GetAllAsync(new StoredGrantFilter { SubjectId = "alice" }, default)), x => x.ConsumedTime is null);
            Assert.Equal(RefreshTokenService.GetPersistedGrantKey(r.Handle!), live.Key);
            // The client never saw that answer and retries: the same successor, no dead chain.
            Assert.Equal(r.Handle, (await service.RefreshAsync(spa, handle)).Handle);
        }
    }

    [Fact]
    public void The_schema_is_duendes_PersistedGrants_table()
    {
        using var db = new SqliteDatabase();
        using GrantStoreDbContext ctx = db.Create();
        List<string> indexes = ctx.Database.SqlQueryRaw<string>("SELECT name AS Value FROM sqlite_master WHERE type = 'index' AND tbl_name = 'PersistedGrants'").ToList();
        Assert.Contains("IX_PersistedGrants_Key", indexes);
        Assert.Contains("IX_PersistedGrants_Expiration", indexes);
        Assert.Contains("IX_PersistedGrants_ConsumedTime", indexes);
        Assert.Contains("IX_PersistedGrants_SubjectId_ClientId_Type", indexes);
        Assert.Contains("IX_PersistedGrants_SubjectId_SessionId_Type", indexes);
        List<string> columns = ctx.Database.SqlQueryRaw<string>("SELECT name AS Value FROM pragma_table_info('PersistedGrants')").ToList();
        Assert.Equal(new[] { "ClientId", "ConsumedTime", "CreationTime", "Data", "Description", "Expiration", "Id", "Key", "SessionId", "SubjectId", "Type" }, columns.OrderBy(c => c, StringComparer.Ordinal));
    }

    [Fact]
    public async Task Tokens_round_trip_through_the_table_and_the_consume_has_one_winner()
    {
        using var db = new SqliteDatabase();
        EntityFrameworkPersistedGrantStore store = db.Store();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store, DeleteOneTimeOnlyRefreshTokensOnUse = false });
        ClientSettings spa = TestSupport.Spa() with { ReuseWindowSeconds = 0 };
        string handle = await service.CreateAsync(spa);
        RefreshResult next = await service.RefreshAsync(spa, handle);
        Assert.False(next.IsError);
        StoredGrant old = (await store.GetAsync(RefreshTokenService.GetPersistedGrantKey(handle), default))!;
        Assert.NotNull(old.ConsumedTime);
        Assert.Equal(DateTimeKind.Utc, old.CreationTime.Kind);
        Assert.Equal(RefusalReason.Consumed, (await service.RefreshAsync(spa, handle)).Reason);
        // A second conditional consume of a consumed row loses; of a missing one finds nothing.
        Assert.Equal(ConsumeOutcome.AlreadyConsumed, (await store.TryConsumeAsync(old.Key, old with { Data = "x" }, default)));
        Assert.Equal(ConsumeOutcome.NotFound, (await store.TryConsumeAsync("missing", null, default)));
        Assert.Equal(2, (await store.GetAllAsync(new StoredGrantFilter { SubjectId = "alice" }, default)).Count);
        Assert.Equal(2, (await store.RemoveAllAsync(new StoredGrantFilter { SubjectId = "alice", ClientId = "spa" }, default)));
    }

    [Fact]
    public async Task Eight_parallel_requests_with_one_OneTimeOnly_token_get_its_one_successor_500_rounds()
    {
        using var db = new SqliteDatabase();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = db.Store() });
        ClientSettings spa = TestSupport.Spa();
        for (int round = 0; round < 500; round++)
        {
            string subject = $"user-{round}";
            string handle = await service.CreateAsync(spa, subject);
            using var start = new Barrier(8);
            Task<RefreshResult>[] racers = Enumerable.Range(0, 8).Select(_ => Task.Run(() =>
            {
                start.SignalAndWait();
                return service.RefreshAsync(spa, handle);
            })).ToArray();
            RefreshResult[] results = await Task.WhenAll(racers);
            // Every caller gets the one successor (the losers of the consume get the winner's).
            Assert.All(results, r => Assert.False(r.IsError, $"round {round}: {r.Error} {r.Reason}"));
            Assert.True(results.Select(r => r.Handle).Distinct().Count() == 1, $"round {round}: a fork, {results.Select(r => r.Handle).Distinct().Count()} handles");
            IReadOnlyList<StoredGrant> rows = (await db.Store().GetAllAsync(new StoredGrantFilter { SubjectId = subject }, default));
            StoredGrant live = Assert.Single(rows);
            Assert.Equal(RefreshTokenService.GetPersistedGrantKey(results[0].Handle!), live.Key);
        }
    }
}
