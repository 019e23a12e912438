using System;
using System.Linq;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using RefreshTokenCore;
using RefreshTokenCore.EntityFramework;

namespace RefreshTokenCore.Benchmarks;

/// <summary>
/// A managed stand-in for Duende's DefaultRefreshTokenService and its persisted-grant plumbing,
/// step by step as the reference does them (reference-behaviour.md §1 and §3): SHA-256 keys
/// (hex for "-1" handles), System.Text.Json with the PersistentGrantSerializer settings (PascalCase,
/// nulls omitted, the default encoder) inside the version-1 envelope, and the same store calls.
/// It is written for this comparison only; it is not Duende's code.
/// </summary>
public sealed class ReferenceLikeService
{
    private static readonly JsonSerializerOptions Options = new() { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };
    private readonly IBlockingGrantStore store;

    public ReferenceLikeService(IBlockingGrantStore store) => this.store = store;

    public static string Key(string handle)
    {
        byte[] hash = SHA256.HashData(Encoding.UTF8.GetBytes(handle + ":refresh_token"));
        return handle.EndsWith("-1", StringComparison.Ordinal) ? Convert.ToHexString(hash) : Convert.ToBase64String(hash);
    }

    public static string NewHandle() => Convert.ToHexString(RandomNumberGenerator.GetBytes(32)) + "-1";

    private sealed class Envelope
    {
        public int PersistentGrantDataContainerVersion { get; set; } = 1;
        public bool DataProtected { get; set; }
        public string Payload { get; set; } = "";
    }

    private static string Serialize(RefreshTokenRecord token) =>
        JsonSerializer.Serialize(new Envelope { Payload = JsonSerializer.Serialize(token, Options) }, Options);

    private static RefreshTokenRecord Deserialize(string data) =>
        JsonSerializer.Deserialize<RefreshTokenRecord>(JsonSerializer.Deserialize<Envelope>(data, Options)!.Payload, Options)!;

    private static StoredGrant Row(string key, RefreshTokenRecord t) => new()
    {
        Key = key,
        Type = "refresh_token",
        SubjectId = t.SubjectId,
        SessionId = t.SessionId,
        ClientId = t.ClientId,
        Description = t.Description,
        CreationTime = t.CreationTime,
        Expiration = t.CreationTime.AddSeconds(t.Lifetime),
        ConsumedTime = t.ConsumedTime,
        Data = Serialize(t),
    };

    public string Create(RefreshTokenRecord token)
    {
        string handle = NewHandle();
        store.Store(Row(Key(handle), token));
        return handle;
    }

    /// <summary>Validate, then UpdateRefreshTokenAsync for a OneTimeOnly client in delete mode.</summary>
    public string RefreshOneTimeOnly(string handle, ClientSettings client, DateTime now)
    {
        string key = Key(handle);
        StoredGrant row = store.Get(key) ?? throw new InvalidOperationException("invalid_grant");
        RefreshTokenRecord token = Deserialize(row.Data);
        if (now > token.CreationTime.AddSeconds(token.Lifetime) || token.ClientId != client.ClientId || !client.AllowOfflineAccess)
        {
            throw new InvalidOperationException("invalid_grant");
        }
        AccessTokenRecord at = token.AccessTokens[""];
        at.CreationTime = now;
        at.Lifetime = client.AccessTokenLifetime;
        store.Remove(key);                       // DeleteOneTimeOnlyRefreshTokensOnUse
        token.ConsumedTime = null;
        return Create(token);                    // the same object under a new handle
    }
}

/// <summary>The reference's EF Core store behaviour: every write first selects the row by key.</summary>
public sealed class SelectBeforeWriteEfStore : IBlockingGrantStore
{
    private readonly Func<GrantStoreDbContext> contexts;

    public SelectBeforeWriteEfStore(Func<GrantStoreDbContext> contexts) => this.contexts = contexts;

    public StoredGrant? Get(string key)
    {
        using var db = contexts();
        return db.PersistedGrants.AsNoTracking().Where(x => x.Key == key).AsEnumerable()
            .Select(e => new StoredGrant { Key = e.Key!, Type = e.Type, SubjectId = e.SubjectId, SessionId = e.SessionId, ClientId = e.ClientId, Description = e.Description, CreationTime = e.CreationTime, Expiration = e.Expiration, ConsumedTime = e.ConsumedTime, Data = e.Data })
            .FirstOrDefault();
    }

    public void Store(StoredGrant g)
    {
        using var db = contexts();
        PersistedGrantEntity? e = db.PersistedGrants.SingleOrDefault(x => x.Key == g.Key);
        if (e is null)
        {
            e = new PersistedGrantEntity();
            db.PersistedGrants.Add(e);
        }
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
        db.SaveChanges();
    }

    public void Remove(string key)
    {
        using var db = contexts();
        PersistedGrantEntity? e = db.PersistedGrants.SingleOrDefault(x => x.Key == key);
        if (e is not null)
        {
            db.PersistedGrants.Remove(e);
            db.SaveChanges();
        }
    }

    public System.Collections.Generic.IReadOnlyList<StoredGrant> GetAll(StoredGrantFilter filter) => throw new NotSupportedException();
    public long RemoveAll(StoredGrantFilter filter) => throw new NotSupportedException();
    public int RemoveExpired(DateTime now, int batchSize) => throw new NotSupportedException();
    public int RemoveConsumed(DateTime before, int batchSize) => throw new NotSupportedException();
}
