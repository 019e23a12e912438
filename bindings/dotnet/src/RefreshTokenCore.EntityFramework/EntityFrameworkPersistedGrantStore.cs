using System;
using System.Collections.Generic;
using System.Data.Common;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace RefreshTokenCore.EntityFramework;

/// <summary>
/// An <see cref="IGrantStore"/> on Duende's <c>PersistedGrants</c> table, through any
/// DbContext that maps it: this package's <see cref="GrantStoreDbContext"/> or Duende's own
/// operational-store context. Each call uses a fresh context from the factory, so the store is
/// thread-safe. The conditional consume is one <c>UPDATE ... WHERE Key = @k AND ConsumedTime IS
/// NULL</c> (or one <c>DELETE ... WHERE Key = @k</c>): the rows affected say who won, on any
/// database, without serializable isolation. Works on EF Core 8, 9 and 10 (see
/// <see cref="GrantTable"/> for why no version-specific API is used). Every call is EF Core's
/// asynchronous API: no thread waits on the database.
/// </summary>
public sealed class EntityFrameworkPersistedGrantStore : IGrantStore, IConditionalConsumeGrantStore, IRotatingGrantStore
{
    private readonly Func<Lease> contexts;
    private readonly GrantTable table;

    /// <summary>A context for one call, and what to dispose after it (the context, or its DI scope).</summary>
    private readonly struct Lease : IDisposable, IAsyncDisposable
    {
        public readonly DbContext Context;
        private readonly IDisposable owner;

        public Lease(DbContext context, IDisposable owner)
        {
            Context = context;
            this.owner = owner;
        }

        public void Dispose() => owner.Dispose();

        public ValueTask DisposeAsync()
        {
            if (owner is IAsyncDisposable a)
            {
                return a.DisposeAsync();
            }
            owner.Dispose();
            return ValueTask.CompletedTask;
        }
    }

    /// <summary>
    /// Creates the store over a context factory (e.g. <c>IDbContextFactory.CreateDbContext</c>).
    /// The model is read once here: a context that maps no persisted-grant entity is refused at
    /// once. Call <see cref="VerifySchema"/> at start-up to check the database itself.
    /// </summary>
    public EntityFrameworkPersistedGrantStore(Func<DbContext> contextFactory)
    {
        ArgumentNullException.ThrowIfNull(contextFactory);
        contexts = () =>
        {
            DbContext db = contextFactory();
            return new Lease(db, db);
        };
        using Lease lease = contexts();
        table = GrantTable.From(lease.Context);
    }

    /// <summary>
    /// Creates the store over a context registered in dependency injection (scoped, as
    /// <c>AddDbContext</c> registers it): each call resolves it in a scope of its own. This is how
    /// the Duende adapter runs on Duende's <c>IPersistedGrantDbContext</c>.
    /// </summary>
    public EntityFrameworkPersistedGrantStore(IServiceScopeFactory scopes, Type contextService)
    {
        ArgumentNullException.ThrowIfNull(scopes);
        ArgumentNullException.ThrowIfNull(contextService);
        contexts = () =>
        {
            AsyncServiceScope scope = scopes.CreateAsyncScope();
            if (scope.ServiceProvider.GetRequiredService(contextService) is not DbContext db)
            {
                scope.Dispose();
                throw new InvalidOperationException($"{contextService} does not resolve to a DbContext.");
            }
            return new Lease(db, scope);
        };
        using Lease lease = contexts();
        table = GrantTable.From(lease.Context);
    }

    /// <summary>
    /// Checks that the table exists with the ten columns this store reads and writes (any other
    /// columns, such as Duende's <c>Id</c>, may be there or not). Throws
    /// <see cref="InvalidOperationException"/> naming the table when it does not: an operator must
    /// act, retrying will not help.
    /// </summary>
    public void VerifySchema()
    {
        using Lease lease = contexts();
        DbContext db = lease.Context;
        try
        {
            _ = Rows(db).Take(0).ToList();
        }
        catch (DbException e)
        {
            throw new InvalidOperationException(
                $"The persisted-grant table {table.Table} is missing or lacks one of the columns {string.Join(", ", GrantTable.Columns)}: {e.Message}", e);
        }
    }

    private IQueryable<GrantRow> Rows(DbContext db) => db.Database.SqlQueryRaw<GrantRow>(table.SelectAll);

    /// <inheritdoc/>
    public async ValueTask<StoredGrant?> GetAsync(string key, CancellationToken cancellationToken)
    {
        await using Lease lease = contexts();
        return await table.ReadByKeyAsync(lease.Context, key, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc/>
    public async ValueTask StoreAsync(StoredGrant grant, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(grant);
        await using Lease lease = contexts();
        DbContext db = lease.Context;
        object?[] values = GrantTable.Values(grant);
        if (await db.Database.ExecuteSqlRawAsync(table.UpdateByKey(onlyIfUnconsumed: false), values!, cancellationToken).ConfigureAwait(false) > 0)
        {
            return;
        }
        try
        {
            await db.Database.ExecuteSqlRawAsync(table.Insert(), values!, cancellationToken).ConfigureAwait(false);
        }
        catch (DbException)
        {
            // Inserted concurrently by someone else: overwrite it, as an upsert.
            if (await db.Database.ExecuteSqlRawAsync(table.UpdateByKey(onlyIfUnconsumed: false), values!, cancellationToken).ConfigureAwait(false) != 1)
            {
                throw;
            }
        }
    }

    /// <inheritdoc/>
    public async ValueTask RemoveAsync(string key, CancellationToken cancellationToken)
    {
        await using Lease lease = contexts();
        await lease.Context.Database.ExecuteSqlRawAsync(table.DeleteByKey(), new object[] { key }, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The filter's SQL condition and parameters (blank values ignored; lists unioned).</summary>
    private string Where(StoredGrantFilter f, List<object?> args)
    {
        var parts = new List<string>();
        void Equal(int column, string? value)
        {
            if (string.IsNullOrWhiteSpace(value)) return;
            parts.Add($"{table.Column(column)} = {{{args.Count}}}");
            args.Add(value);
        }
        void In(int column, IEnumerable<string> values)
        {
            List<string> list = values.Where(s => !string.IsNullOrWhiteSpace(s)).Distinct(StringComparer.Ordinal).ToList();
            if (list.Count == 0) return;
            parts.Add($"{table.Column(column)} IN ({string.Join(", ", list.Select((_, i) => $"{{{args.Count + i}}}"))})");
            args.AddRange(list);
        }
        Equal(2, f.SubjectId);
        Equal(3, f.SessionId);
        In(4, f.ClientIds.Append(f.ClientId ?? string.Empty));
        In(1, f.Types.Append(f.Type ?? string.Empty));
        if (parts.Count == 0) throw new ArgumentException("No filter values set.", nameof(f));
        return string.Join(" AND ", parts);
    }

    /// <inheritdoc/>
    public async ValueTask<IReadOnlyList<StoredGrant>> GetAllAsync(StoredGrantFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using Lease lease = contexts();
        DbContext db = lease.Context;
        var args = new List<object?>();
        string sql = $"{table.SelectAll} WHERE {Where(filter, args)}";
        List<GrantRow> rows = await db.Database.SqlQueryRaw<GrantRow>(sql, args.ToArray()!).ToListAsync(cancellationToken).ConfigureAwait(false);
        // Applied in SQL and again in memory (ordinal), as the reference does.
        return rows.Select(x => x.ToModel()).Where(filter.Matches).ToList();
    }

    /// <inheritdoc/>
    public async ValueTask<long> RemoveAllAsync(StoredGrantFilter filter, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(filter);
        await using Lease lease = contexts();
        var args = new List<object?>();
        string sql = $"DELETE FROM {table.Table} WHERE {Where(filter, args)}";
        return await lease.Context.Database.ExecuteSqlRawAsync(sql, args.ToArray()!, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The conditional consume's one statement: how many rows it changed (0 or 1).</summary>
    private Task<int> ConsumeStatement(DbContext db, string key, StoredGrant? replacement, CancellationToken cancellationToken) =>
        replacement is null
            ? db.Database.ExecuteSqlRawAsync(table.DeleteByKey(), new object[] { key }, cancellationToken)
            : db.Database.ExecuteSqlRawAsync(table.UpdateByKey(onlyIfUnconsumed: true), GrantTable.Values(replacement)!, cancellationToken);

    /// <summary>Why a consume changed nothing: the row is there (consumed) or not.</summary>
    private async Task<ConsumeOutcome> Lost(DbContext db, string key, StoredGrant? replacement, CancellationToken cancellationToken) =>
        replacement is not null && await Rows(db).AnyAsync(x => x.Key == key, cancellationToken).ConfigureAwait(false)
            ? ConsumeOutcome.AlreadyConsumed
            : ConsumeOutcome.NotFound;

    /// <inheritdoc/>
    public async ValueTask<ConsumeOutcome> TryConsumeAsync(string key, StoredGrant? replacement, CancellationToken cancellationToken)
    {
        await using Lease lease = contexts();
        DbContext db = lease.Context;
        if (await ConsumeStatement(db, key, replacement, cancellationToken).ConfigureAwait(false) == 1)
        {
            return ConsumeOutcome.Won;
        }
        return await Lost(db, key, replacement, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// The rotation in one database transaction: the conditional consume, then (only if it won)
    /// the successor inserted unless its key exists, committed together. A commit that fails is
    /// thrown: the library reads back whether it applied.
    /// </summary>
    public async ValueTask<ConsumeOutcome> TryRotateAsync(string key, StoredGrant? replacement, StoredGrant successor, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(successor);
        await using Lease lease = contexts();
        DbContext db = lease.Context;
        await using Microsoft.EntityFrameworkCore.Storage.IDbContextTransaction tx =
            await db.Database.BeginTransactionAsync(cancellationToken).ConfigureAwait(false);
        if (await ConsumeStatement(db, key, replacement, cancellationToken).ConfigureAwait(false) != 1)
        {
            // Lost: nothing changed; the transaction rolls back when disposed.
            return await Lost(db, key, replacement, cancellationToken).ConfigureAwait(false);
        }
        await db.Database.ExecuteSqlRawAsync(table.InsertIfAbsent(), GrantTable.Values(successor)!, cancellationToken).ConfigureAwait(false);
        await tx.CommitAsync(cancellationToken).ConfigureAwait(false);
        return ConsumeOutcome.Won;
    }

    /// <inheritdoc/>
    public ValueTask<int> RemoveExpiredAsync(DateTime now, int batchSize, CancellationToken cancellationToken)
    {
        DateTime t = GrantTable.AsUtc(now);
        return RemoveOldest(7, t, batchSize, rows => rows.Where(x => x.Expiration != null && x.Expiration < t).OrderBy(x => x.Expiration), cancellationToken);
    }

    /// <inheritdoc/>
    public ValueTask<int> RemoveConsumedAsync(DateTime before, int batchSize, CancellationToken cancellationToken)
    {
        DateTime t = GrantTable.AsUtc(before);
        return RemoveOldest(8, t, batchSize, rows => rows.Where(x => x.ConsumedTime != null && x.ConsumedTime < t).OrderBy(x => x.ConsumedTime), cancellationToken);
    }

    /// <summary>
    /// A batch of keys in due order (served by the Expiration / ConsumedTime index), then one
    /// delete of those keys that re-checks the condition, so a row rewritten in between stays.
    /// </summary>
    private async ValueTask<int> RemoveOldest(int column, DateTime limit, int batchSize, Func<IQueryable<GrantRow>, IQueryable<GrantRow>> due, CancellationToken cancellationToken)
    {
        if (batchSize < 1) throw new ArgumentOutOfRangeException(nameof(batchSize), batchSize, "The batch size must be at least 1.");
        await using Lease lease = contexts();
        DbContext db = lease.Context;
        // Composed over the raw SELECT: the provider writes its own paging (LIMIT, TOP, FETCH).
        List<string?> keys = await due(Rows(db)).Take(batchSize).Select(x => x.Key).ToListAsync(cancellationToken).ConfigureAwait(false);
        int removed = 0;
        // At most 1000 keys a statement: SQL Server takes 2100 parameters.
        foreach (string[] chunk in keys.OfType<string>().Chunk(1000))
        {
            var args = new List<object?> { limit };
            args.AddRange(chunk);
            string sql = $"DELETE FROM {table.Table} WHERE {table.Column(column)} < {{0}} AND {table.Key} IN ({string.Join(", ", chunk.Select((_, i) => $"{{{i + 1}}}"))})";
            removed += await db.Database.ExecuteSqlRawAsync(sql, args.ToArray()!, cancellationToken).ConfigureAwait(false);
        }
        return removed;
    }
}
