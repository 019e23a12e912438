using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;

namespace RefreshTokenCore;

/// <summary>A row of the persisted-grant store (Duende's <c>PersistedGrant</c>, the
/// <c>PersistedGrants</c> table). The store never sees a handle: Key is its hash.</summary>
public sealed record StoredGrant
{
    /// <summary>The hashed key.</summary>
    public required string Key { get; init; }
    /// <summary>"refresh_token", "reference_token", ...</summary>
    public required string Type { get; init; }
    /// <summary>Subject id.</summary>
    public string? SubjectId { get; init; }
    /// <summary>Session id.</summary>
    public string? SessionId { get; init; }
    /// <summary>Client id.</summary>
    public required string ClientId { get; init; }
    /// <summary>Description.</summary>
    public string? Description { get; init; }
    /// <summary>Creation time (UTC).</summary>
    public DateTime CreationTime { get; init; }
    /// <summary>Expiration (UTC); null never expires.</summary>
    public DateTime? Expiration { get; init; }
    /// <summary>Consumed time (UTC).</summary>
    public DateTime? ConsumedTime { get; init; }
    /// <summary>The serialized payload.</summary>
    public required string Data { get; init; }
}

/// <summary>A filter on rows, as Duende's <c>PersistedGrantFilter</c>: every field given must
/// match; a list and its single value are unioned.</summary>
public sealed record StoredGrantFilter
{
    /// <summary>Subject id.</summary>
    public string? SubjectId { get; init; }
    /// <summary>Session id.</summary>
    public string? SessionId { get; init; }
    /// <summary>Client id.</summary>
    public string? ClientId { get; init; }
    /// <summary>More client ids.</summary>
    public IReadOnlyList<string> ClientIds { get; init; } = Array.Empty<string>();
    /// <summary>Grant type.</summary>
    public string? Type { get; init; }
    /// <summary>More grant types.</summary>
    public IReadOnlyList<string> Types { get; init; } = Array.Empty<string>();

    private static IEnumerable<string> Union(string? one, IEnumerable<string> many) =>
        (one is null ? many : many.Prepend(one)).Where(s => !string.IsNullOrWhiteSpace(s));

    /// <summary>Whether a row matches (ordinal comparison; blank values ignored).</summary>
    public bool Matches(StoredGrant row)
    {
        if (!string.IsNullOrWhiteSpace(SubjectId) && row.SubjectId != SubjectId) return false;
        if (!string.IsNullOrWhiteSpace(SessionId) && row.SessionId != SessionId) return false;
        var clients = Union(ClientId, ClientIds).ToList();
        if (clients.Count > 0 && !clients.Contains(row.ClientId, StringComparer.Ordinal)) return false;
        var types = Union(Type, Types).ToList();
        if (types.Count > 0 && !types.Contains(row.Type, StringComparer.Ordinal)) return false;
        return true;
    }
}

/// <summary>Who won a conditional consume.</summary>
public enum ConsumeOutcome
{
    /// <summary>This call consumed the row.</summary>
    Won = 0,
    /// <summary>The row is there but already consumed.</summary>
    AlreadyConsumed = 1,
    /// <summary>There is no such row.</summary>
    NotFound = 2,
}

/// <summary>
/// The host's persisted-grant storage (Duende's <c>PersistedGrants</c> table), asynchronous: the
/// library waits on each call without holding a thread, so a store that does I/O (a database, a
/// network) never blocks the token endpoint. Calls may come from many threads at once:
/// implementations must be thread-safe.
/// </summary>
/// <remarks>
/// <para>Cancellation: reads get the token of the service call until the operation's first
/// write starts; a write, and every call after it, gets <see cref="CancellationToken.None"/>, so
/// a cancelled call either changed nothing (it ends with <see cref="OperationCanceledException"/>)
/// or completes (never half a rotation).</para>
/// <para>An exception thrown here (or a faulted task) makes the service call fail with a
/// retryable <see cref="RefreshTokenCoreException"/> whose InnerException it is; nothing is
/// consumed.</para>
/// </remarks>
public interface IGrantStore
{
    /// <summary>The row with this key (ordinal), or null.</summary>
    ValueTask<StoredGrant?> GetAsync(string key, CancellationToken cancellationToken);
    /// <summary>Insert or overwrite every column.</summary>
    ValueTask StoreAsync(StoredGrant grant, CancellationToken cancellationToken);
    /// <summary>Delete; a missing row is not an error.</summary>
    ValueTask RemoveAsync(string key, CancellationToken cancellationToken);
    /// <summary>Every row matching the filter.</summary>
    ValueTask<IReadOnlyList<StoredGrant>> GetAllAsync(StoredGrantFilter filter, CancellationToken cancellationToken);
    /// <summary>Delete every row matching the filter; how many.</summary>
    ValueTask<long> RemoveAllAsync(StoredGrantFilter filter, CancellationToken cancellationToken);
    /// <summary>Delete up to <paramref name="batchSize"/> rows with Expiration &lt; now, oldest first.</summary>
    ValueTask<int> RemoveExpiredAsync(DateTime now, int batchSize, CancellationToken cancellationToken);
    /// <summary>Delete up to <paramref name="batchSize"/> rows with ConsumedTime &lt; before, oldest first.</summary>
    ValueTask<int> RemoveConsumedAsync(DateTime before, int batchSize, CancellationToken cancellationToken);
}

/// <summary>
/// The conditional consume that makes "a OneTimeOnly token is redeemed at most once" hold: with
/// a null replacement delete the row if present, otherwise overwrite it only if its ConsumedTime
/// is null; atomically. A store without it gets the reference's racy read-then-write.
/// </summary>
public interface IConditionalConsumeGrantStore
{
    /// <summary>Consumes the row; see the interface.</summary>
    ValueTask<ConsumeOutcome> TryConsumeAsync(string key, StoredGrant? replacement, CancellationToken cancellationToken);
}

/// <summary>
/// A rotation as one transaction: consume the key exactly as
/// <see cref="IConditionalConsumeGrantStore.TryConsumeAsync"/> does and, only if that won, insert
/// the successor unless a row with its key exists; all or nothing. Throw when the outcome is
/// unknown (a commit whose answer was lost, a timeout): the library then reads back what
/// happened. Without it the library inserts the successor first and then consumes; a failure
/// between the two leaves a successor row that the next retry of the same token completes.
/// </summary>
public interface IRotatingGrantStore
{
    /// <summary>Rotates; see the interface.</summary>
    ValueTask<ConsumeOutcome> TryRotateAsync(string key, StoredGrant? replacement, StoredGrant successor, CancellationToken cancellationToken);
}

/// <summary>
/// <see cref="IGrantStore"/> for a store that never waits (memory, a local cache): the library
/// calls it synchronously, on the thread doing the operation, which it blocks for as long as the
/// call takes. A store that does I/O should implement <see cref="IGrantStore"/> instead.
/// </summary>
public interface IBlockingGrantStore
{
    /// <summary>The row with this key (ordinal), or null.</summary>
    StoredGrant? Get(string key);
    /// <summary>Insert or overwrite every column.</summary>
    void Store(StoredGrant grant);
    /// <summary>Delete; a missing row is not an error.</summary>
    void Remove(string key);
    /// <summary>Every row matching the filter.</summary>
    IReadOnlyList<StoredGrant> GetAll(StoredGrantFilter filter);
    /// <summary>Delete every row matching the filter; how many.</summary>
    long RemoveAll(StoredGrantFilter filter);
    /// <summary>Delete up to <paramref name="batchSize"/> rows with Expiration &lt; now, oldest first.</summary>
    int RemoveExpired(DateTime now, int batchSize);
    /// <summary>Delete up to <paramref name="batchSize"/> rows with ConsumedTime &lt; before, oldest first.</summary>
    int RemoveConsumed(DateTime before, int batchSize);
}

/// <summary><see cref="IConditionalConsumeGrantStore"/> for an <see cref="IBlockingGrantStore"/>.</summary>
public interface IBlockingConditionalConsumeStore
{
    /// <summary>Consumes the row; see <see cref="IConditionalConsumeGrantStore"/>.</summary>
    ConsumeOutcome TryConsume(string key, StoredGrant? replacement);
}

/// <summary><see cref="IRotatingGrantStore"/> for an <see cref="IBlockingGrantStore"/>.</summary>
public interface IBlockingRotatingStore
{
    /// <summary>Rotates; see <see cref="IRotatingGrantStore"/>.</summary>
    ConsumeOutcome TryRotate(string key, StoredGrant? replacement, StoredGrant successor);
}

/// <summary>A thread-safe in-memory store with an atomic conditional consume and rotation: for
/// tests, demos and single-process hosts. Blocking (it never waits), and asynchronous for code
/// written against <see cref="IGrantStore"/>; the service calls it synchronously.</summary>
public sealed class InMemoryGrantStore : IBlockingGrantStore, IBlockingConditionalConsumeStore, IBlockingRotatingStore,
    IGrantStore, IConditionalConsumeGrantStore, IRotatingGrantStore
{
    private readonly object gate = new();
    private readonly Dictionary<string, StoredGrant> rows = new(StringComparer.Ordinal);

    /// <summary>A copy of every row.</summary>
    public IReadOnlyList<StoredGrant> Snapshot()
    {
        lock (gate) return rows.Values.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc/>
    public StoredGrant? Get(string key)
    {
        lock (gate) return rows.TryGetValue(key, out var r) ? r : null;
    }

    /// <inheritdoc/>
    public void Store(StoredGrant grant)
    {
        lock (gate) rows[grant.Key] = grant;
    }

    /// <inheritdoc/>
    public void Remove(string key)
    {
        lock (gate) rows.Remove(key);
    }

    /// <inheritdoc/>
    public IReadOnlyList<StoredGrant> GetAll(StoredGrantFilter filter)
    {
        lock (gate) return rows.Values.Where(filter.Matches).ToList();
    }

    /// <inheritdoc/>
    public long RemoveAll(StoredGrantFilter filter)
    {
        lock (gate)
        {
            var keys = rows.Values.Where(filter.Matches).Select(r => r.Key).ToList();
            keys.ForEach(k => rows.Remove(k));
            return keys.Count;
        }
    }

    /// <inheritdoc/>
    public int RemoveExpired(DateTime now, int batchSize) => RemoveOldest(r => r.Expiration, now, batchSize);

    /// <inheritdoc/>
    public int RemoveConsumed(DateTime before, int batchSize) => RemoveOldest(r => r.ConsumedTime, before, batchSize);

    private int RemoveOldest(Func<StoredGrant, DateTime?> due, DateTime limit, int batchSize)
    {
        lock (gate)
        {
            var keys = rows.Values.Where(r => due(r) is { } t && t < limit).OrderBy(r => due(r)).Take(batchSize).Select(r => r.Key).ToList();
            keys.ForEach(k => rows.Remove(k));
            return keys.Count;
        }
    }

    /// <inheritdoc/>
    public ConsumeOutcome TryRotate(string key, StoredGrant? replacement, StoredGrant successor)
    {
        lock (gate)
        {
            ConsumeOutcome outcome = TryConsume(key, replacement);
            if (outcome == ConsumeOutcome.Won) rows.TryAdd(successor.Key, successor);
            return outcome;
        }
    }

    /// <inheritdoc/>
    public ConsumeOutcome TryConsume(string key, StoredGrant? replacement)
    {
        lock (gate)
        {
            if (!rows.TryGetValue(key, out var existing)) return ConsumeOutcome.NotFound;
            if (replacement is null)
            {
                rows.Remove(key);
                return ConsumeOutcome.Won;
            }
            if (existing.ConsumedTime is not null) return ConsumeOutcome.AlreadyConsumed;
            rows[key] = replacement;
            return ConsumeOutcome.Won;
        }
    }

    ValueTask<StoredGrant?> IGrantStore.GetAsync(string key, CancellationToken cancellationToken) => new(Get(key));

    ValueTask IGrantStore.StoreAsync(StoredGrant grant, CancellationToken cancellationToken)
    {
        Store(grant);
        return ValueTask.CompletedTask;
    }

    ValueTask IGrantStore.RemoveAsync(string key, CancellationToken cancellationToken)
    {
        Remove(key);
        return ValueTask.CompletedTask;
    }

    ValueTask<IReadOnlyList<StoredGrant>> IGrantStore.GetAllAsync(StoredGrantFilter filter, CancellationToken cancellationToken) => new(GetAll(filter));

    ValueTask<long> IGrantStore.RemoveAllAsync(StoredGrantFilter filter, CancellationToken cancellationToken) => new(RemoveAll(filter));

    ValueTask<int> IGrantStore.RemoveExpiredAsync(DateTime now, int batchSize, CancellationToken cancellationToken) => new(RemoveExpired(now, batchSize));

    ValueTask<int> IGrantStore.RemoveConsumedAsync(DateTime before, int batchSize, CancellationToken cancellationToken) => new(RemoveConsumed(before, batchSize));

    ValueTask<ConsumeOutcome> IConditionalConsumeGrantStore.TryConsumeAsync(string key, StoredGrant? replacement, CancellationToken cancellationToken) =>
        new(TryConsume(key, replacement));

    ValueTask<ConsumeOutcome> IRotatingGrantStore.TryRotateAsync(string key, StoredGrant? replacement, StoredGrant successor, CancellationToken cancellationToken) =>
        new(TryRotate(key, replacement, successor));
}
