using System;
using System.Collections.Generic;
using System.Linq;

namespace RefreshTokenCore;

/// <summary>A row of the persisted-grant store (Duende's <c>PersistedGrant</c>, the
/// <c>PersistedGrants</c> table). The store never sees a handle: Key is its hash.</summary>
public sealed record PersistedGrant
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
public sealed record PersistedGrantFilter
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
    public bool Matches(PersistedGrant row)
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
/// The host's persisted-grant storage, shaped like Duende's <c>IPersistedGrantStore</c>. The
/// native library calls it synchronously, on the thread of the service call, possibly from many
/// threads at once: implementations must be thread-safe. An exception thrown here makes the
/// service call fail with a retryable <see cref="RefreshTokenCoreException"/> whose
/// InnerException it is; nothing is consumed.
/// </summary>
public interface IPersistedGrantStore
{
    /// <summary>The row with this key (ordinal), or null.</summary>
    PersistedGrant? Get(string key);
    /// <summary>Insert or overwrite every column.</summary>
    void Store(PersistedGrant grant);
    /// <summary>Delete; a missing row is not an error.</summary>
    void Remove(string key);
    /// <summary>Every row matching the filter.</summary>
    IReadOnlyList<PersistedGrant> GetAll(PersistedGrantFilter filter);
    /// <summary>Delete every row matching the filter; how many.</summary>
    long RemoveAll(PersistedGrantFilter filter);
    /// <summary>Delete up to <paramref name="batchSize"/> rows with Expiration &lt; now, oldest first.</summary>
    int RemoveExpired(DateTime now, int batchSize);
    /// <summary>Delete up to <paramref name="batchSize"/> rows with ConsumedTime &lt; before, oldest first.</summary>
    int RemoveConsumed(DateTime before, int batchSize);
}

/// <summary>
/// The conditional consume that makes "a OneTimeOnly token is redeemed at most once" hold: with
/// a null replacement delete the row if present, otherwise overwrite it only if
/// its ConsumedTime is null; atomically. A store without it gets the reference's racy read-then-write.
/// </summary>
public interface IConditionalConsumeStore
{
    /// <summary>Consumes the row; see the interface.</summary>
    ConsumeOutcome TryConsume(string key, PersistedGrant? replacement);
}

/// <summary>
/// A rotation as one transaction: consume the key exactly as
/// <see cref="IConditionalConsumeStore.TryConsume"/> does and, only if that won, insert
/// the successor unless a row with its key exists; all or nothing. Throw when the
/// outcome is unknown (a commit whose answer was lost, a timeout): the library then reads back
/// what happened. Without it the library inserts the successor first and then consumes; a failure
/// between the two leaves a successor row that the next retry of the same token completes.
/// </summary>
public interface IRotatingStore
{
    /// <summary>Rotates; see the interface.</summary>
    ConsumeOutcome TryRotate(string key, PersistedGrant? replacement, PersistedGrant successor);
}

/// <summary>A thread-safe in-memory store with an atomic conditional consume and rotation: for
/// tests, demos and single-process hosts.</summary>
public sealed class InMemoryPersistedGrantStore : IPersistedGrantStore, IConditionalConsumeStore, IRotatingStore
{
    private readonly object gate = new();
    private readonly Dictionary<string, PersistedGrant> rows = new(StringComparer.Ordinal);

    /// <summary>A copy of every row.</summary>
    public IReadOnlyList<PersistedGrant> Snapshot()
    {
        lock (gate) return rows.Values.OrderBy(r => r.Key, StringComparer.Ordinal).ToList();
    }

    /// <inheritdoc/>
    public PersistedGrant? Get(string key)
    {
        lock (gate) return rows.TryGetValue(key, out var r) ? r : null;
    }

    /// <inheritdoc/>
    public void Store(PersistedGrant grant)
    {
        lock (gate) rows[grant.Key] = grant;
    }

    /// <inheritdoc/>
    public void Remove(string key)
    {
        lock (gate) rows.Remove(key);
    }

    /// <inheritdoc/>
    public IReadOnlyList<PersistedGrant> GetAll(PersistedGrantFilter filter)
    {
        lock (gate) return rows.Values.Where(filter.Matches).ToList();
    }

    /// <inheritdoc/>
    public long RemoveAll(PersistedGrantFilter filter)
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

    private int RemoveOldest(Func<PersistedGrant, DateTime?> due, DateTime limit, int batchSize)
    {
        lock (gate)
        {
            var keys = rows.Values.Where(r => due(r) is { } t && t < limit).OrderBy(r => due(r)).Take(batchSize).Select(r => r.Key).ToList();
            keys.ForEach(k => rows.Remove(k));
            return keys.Count;
        }
    }

    /// <inheritdoc/>
    public ConsumeOutcome TryRotate(string key, PersistedGrant? replacement, PersistedGrant successor)
    {
        lock (gate)
        {
            ConsumeOutcome outcome = TryConsume(key, replacement);
            if (outcome == ConsumeOutcome.Won) rows.TryAdd(successor.Key, successor);
            return outcome;
        }
    }

    /// <inheritdoc/>
    public ConsumeOutcome TryConsume(string key, PersistedGrant? replacement)
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
}
