using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.EntityFrameworkCore;

namespace RefreshTokenCore.EntityFramework;

/// <summary>
/// An <see cref="IPersistedGrantStore"/> on Duende's <c>PersistedGrants</c> table. Each call uses
/// a fresh context from the factory, so the store is thread-safe. The conditional consume is one
/// UPDATE ... WHERE Key = @k AND ConsumedTime IS NULL (or one DELETE ... WHERE Key = @k): the rows
/// affected say who won, on any database, without serializable isolation.
/// </summary>
public sealed class EntityFrameworkPersistedGrantStore : IPersistedGrantStore, IConditionalConsumeStore
{
    private readonly Func<PersistedGrantDbContext> contexts;

    /// <summary>Creates the store over a context factory (e.g. IDbContextFactory.CreateDbContext).</summary>
    public EntityFrameworkPersistedGrantStore(Func<PersistedGrantDbContext> contextFactory) =>
        contexts = contextFactory ?? throw new ArgumentNullException(nameof(contextFactory));

    private static PersistedGrant ToModel(PersistedGrantEntity e) => new()
    {
        Key = e.Key ?? string.Empty,
        Type = e.Type,
        SubjectId = e.SubjectId,
        SessionId = e.SessionId,
        ClientId = e.ClientId,
        Description = e.Description,
        CreationTime = Utc(e.CreationTime),
        Expiration = e.Expiration is { } x ? Utc(x) : null,
        ConsumedTime = e.ConsumedTime is { } c ? Utc(c) : null,
        Data = e.Data,
    };

    /// <summary>Providers hand back Kind Unspecified; the columns hold UTC.</summary>
    private static DateTime Utc(DateTime t) => t.Kind == DateTimeKind.Utc ? t : DateTime.SpecifyKind(t, DateTimeKind.Utc);

    private static void Copy(PersistedGrant g, PersistedGrantEntity e)
    {
        e.Key = g.Key;
        e.Type = g.Type;
        e.SubjectId = g.SubjectId;
        e.SessionId = g.SessionId;
        e.ClientId = g.ClientId;
        e.Description = g.Description;
        e.CreationTime = g.CreationTime;
        e.Expiration = g.Expiration;
        e.ConsumedTime = g.ConsumedTime;
        e.Data = g.Data;
    }

    /// <inheritdoc/>
    public PersistedGrant? Get(string key)
    {
        using PersistedGrantDbContext db = contexts();
        // The database may compare case-insensitively; the match is ordinal, as in the reference.
        return db.PersistedGrants.AsNoTracking().Where(x => x.Key == key).AsEnumerable()
            .Where(x => string.Equals(x.Key, key, StringComparison.Ordinal)).Select(ToModel).FirstOrDefault();
    }

    /// <inheritdoc/>
    public void Store(PersistedGrant grant)
    {
        using PersistedGrantDbContext db = contexts();
        if (Update(db, grant, onlyIfUnconsumed: false) == 0)
        {
            var e = new PersistedGrantEntity();
            Copy(grant, e);
            db.PersistedGrants.Add(e);
            try
            {
                db.SaveChanges();
            }
            catch (DbUpdateException) when (Update(contexts(), grant, onlyIfUnconsumed: false) == 1)
            {
                // Inserted concurrently by someone else: the update above overwrote it, as an upsert.
            }
        }
    }

    private static int Update(PersistedGrantDbContext db, PersistedGrant g, bool onlyIfUnconsumed)
    {
        IQueryable<PersistedGrantEntity> rows = db.PersistedGrants.Where(x => x.Key == g.Key);
        if (onlyIfUnconsumed)
        {
            rows = rows.Where(x => x.ConsumedTime == null);
        }
        return rows.ExecuteUpdate(s => s
            .SetProperty(x => x.Type, g.Type)
            .SetProperty(x => x.SubjectId, g.SubjectId)
            .SetProperty(x => x.SessionId, g.SessionId)
            .SetProperty(x => x.ClientId, g.ClientId)
            .SetProperty(x => x.Description, g.Description)
            .SetProperty(x => x.CreationTime, g.CreationTime)
            .SetProperty(x => x.Expiration, g.Expiration)
            .SetProperty(x => x.ConsumedTime, g.ConsumedTime)
            .SetProperty(x => x.Data, g.Data));
    }

    /// <inheritdoc/>
    public void Remove(string key)
    {
        using PersistedGrantDbContext db = contexts();
        db.PersistedGrants.Where(x => x.Key == key).ExecuteDelete();
    }

    private static IQueryable<PersistedGrantEntity> Filtered(PersistedGrantDbContext db, PersistedGrantFilter f)
    {
        IQueryable<PersistedGrantEntity> q = db.PersistedGrants;
        if (!string.IsNullOrWhiteSpace(f.SubjectId)) q = q.Where(x => x.SubjectId == f.SubjectId);
        if (!string.IsNullOrWhiteSpace(f.SessionId)) q = q.Where(x => x.SessionId == f.SessionId);
        var clients = f.ClientIds.Append(f.ClientId).Where(s => !string.IsNullOrWhiteSpace(s)).Select(s => s!).ToList();
        if (clients.Count > 0) q = q.Where(x => clients.Contains(x.ClientId));
        var types = f.Types.Append(f.Type).Where(s => !string.IsNullOrWhiteSpace(s)).Select(s => s!).ToList();
        if (types.Count > 0) q = q.Where(x => types.Contains(x.Type));
        return q;
    }

    /// <inheritdoc/>
    public IReadOnlyList<PersistedGrant> GetAll(PersistedGrantFilter filter)
    {
        using PersistedGrantDbContext db = contexts();
        // Applied in SQL and again in memory (ordinal), as the reference does.
        return Filtered(db, filter).AsNoTracking().AsEnumerable().Select(ToModel).Where(filter.Matches).ToList();
    }

    /// <inheritdoc/>
    public long RemoveAll(PersistedGrantFilter filter)
    {
        using PersistedGrantDbContext db = contexts();
        return Filtered(db, filter).ExecuteDelete();
    }

    /// <inheritdoc/>
    public ConsumeOutcome TryConsume(string key, PersistedGrant? replacement)
    {
        using PersistedGrantDbContext db = contexts();
        int affected = replacement is null
            ? db.PersistedGrants.Where(x => x.Key == key).ExecuteDelete()
            : Update(db, replacement, onlyIfUnconsumed: true);
        if (affected == 1)
        {
            return ConsumeOutcome.Won;
        }
        if (replacement is null)
        {
            return ConsumeOutcome.NotFound;
        }
        return db.PersistedGrants.Any(x => x.Key == key) ? ConsumeOutcome.AlreadyConsumed : ConsumeOutcome.NotFound;
    }

    /// <inheritdoc/>
    public int RemoveExpired(DateTime now, int batchSize)
    {
        using PersistedGrantDbContext db = contexts();
        // A batch of ids in Expiration order (the Expiration index), then one delete by id.
        List<long> ids = db.PersistedGrants.Where(x => x.Expiration != null && x.Expiration < now)
            .OrderBy(x => x.Expiration).Take(batchSize).Select(x => x.Id).ToList();
        return ids.Count == 0 ? 0 : db.PersistedGrants.Where(x => ids.Contains(x.Id) && x.Expiration < now).ExecuteDelete();
    }

    /// <inheritdoc/>
    public int RemoveConsumed(DateTime before, int batchSize)
    {
        using PersistedGrantDbContext db = contexts();
        List<long> ids = db.PersistedGrants.Where(x => x.ConsumedTime != null && x.ConsumedTime < before)
            .OrderBy(x => x.ConsumedTime).Take(batchSize).Select(x => x.Id).ToList();
        return ids.Count == 0 ? 0 : db.PersistedGrants.Where(x => ids.Contains(x.Id) && x.ConsumedTime < before).ExecuteDelete();
    }
}
