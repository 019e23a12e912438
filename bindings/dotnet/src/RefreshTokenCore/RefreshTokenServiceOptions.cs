using System;
using System.Collections.Generic;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace RefreshTokenCore;

/// <summary>What to do with a consumed token that is presented again.</summary>
public enum AcceptConsumedPolicy
{
    /// <summary>Refuse it (the reference default).</summary>
    Reject = 0,
    /// <summary>Accept it within <see cref="RefreshTokenServiceOptions.GraceSeconds"/> of its use.</summary>
    Grace = 1,
    /// <summary>Refuse it and remove its family (see <see cref="RefreshTokenServiceOptions.ReplayScope"/>).</summary>
    RevokeOnReplay = 2,
}

/// <summary>What <see cref="AcceptConsumedPolicy.RevokeOnReplay"/> removes.</summary>
public enum ReplayScope
{
    /// <summary>The replayed token's family: the chain that leaked (the default).</summary>
    Family = 0,
    /// <summary>Every refresh token of the same subject and client.</summary>
    SubjectAndClient = 1,
}

/// <summary>How durable a write of the native SQLite store is before it returns.</summary>
public enum SqliteDurability
{
    /// <summary><c>synchronous=FULL</c>: survives power loss (the default).</summary>
    Full = 0,
    /// <summary><c>synchronous=NORMAL</c>: survives a crash of the process; the last
    /// transactions may be lost on power loss. Faster.</summary>
    Normal = 1,
}

/// <summary>Options of the native stores (<see cref="RefreshTokenServiceOptions.SqlitePath"/>,
/// <see cref="RefreshTokenServiceOptions.PostgresUrl"/>); ignored with a host store.</summary>
public sealed class NativeStoreOptions
{
    /// <summary>Connections in the pool. Default 8.</summary>
    public int PoolSize { get; set; } = 8;
    /// <summary>SQLite: how long a statement waits for another writer's lock before failing
    /// (retryable). Default 10 s.</summary>
    public TimeSpan BusyTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>PostgreSQL: how long making a connection may take when the connection string
    /// sets no timeout, and how long a request waits for a free connection. Default 10 s.</summary>
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(10);
    /// <summary>SQLite: durability of a write. Default <see cref="SqliteDurability.Full"/>.</summary>
    public SqliteDurability Durability { get; set; } = SqliteDurability.Full;
    /// <summary>Whether the store creates its table and indexes when missing (the scripts in the
    /// repository's <c>schema/</c> folder). Default true; false for a database user without DDL
    /// rights: the table must then exist, or building the service fails naming the script.</summary>
    public bool CreateTable { get; set; } = true;
    /// <summary>PostgreSQL: the table's schema (Duende's <c>OperationalStoreOptions.DefaultSchema</c>);
    /// default the connection's.</summary>
    public string? Schema { get; set; }
    /// <summary>The table (Duende's <c>OperationalStoreOptions.PersistedGrants</c> name); default
    /// <c>PersistedGrants</c>. A plain identifier of at most 35 characters.</summary>
    public string? Table { get; set; }
}

/// <summary>Options of a <see cref="RefreshTokenService"/>; defaults are Duende IdentityServer 7's.</summary>
public sealed class RefreshTokenServiceOptions
{
    /// <summary>PersistentGrantOptions.DeleteOneTimeOnlyRefreshTokensOnUse. Default true.</summary>
    public bool DeleteOneTimeOnlyRefreshTokensOnUse { get; set; } = true;
    /// <summary>PersistentGrantOptions.DataProtectData (with a <see cref="Protector"/>). Default true.</summary>
    public bool DataProtectData { get; set; } = true;
    /// <summary>InputLengthRestrictions.RefreshToken. Default 100.</summary>
    public int MaxRefreshTokenLength { get; set; } = 100;
    /// <summary>OperationalStoreOptions.RemoveConsumedTokens. Default false.</summary>
    public bool RemoveConsumedTokens { get; set; }
    /// <summary>OperationalStoreOptions.ConsumedTokenCleanupDelay in seconds. Default 0.</summary>
    public int ConsumedTokenCleanupDelay { get; set; }
    /// <summary>OperationalStoreOptions.TokenCleanupBatchSize. Default 100.</summary>
    public int TokenCleanupBatchSize { get; set; } = 100;
    /// <summary>The built-in accept-consumed policy (ignored when <see cref="AcceptConsumedToken"/> is set).</summary>
    public AcceptConsumedPolicy AcceptConsumed { get; set; } = AcceptConsumedPolicy.Reject;
    /// <summary>The grace window of <see cref="AcceptConsumedPolicy.Grace"/>, in seconds.</summary>
    public int GraceSeconds { get; set; }
    /// <summary>Seconds after a one-time token was rotated during which presenting it again (a
    /// retry after a lost response or an unknown outcome) returns its existing successor, never a
    /// sibling; 0 is the reference's behaviour. Default 60. A client may override it.</summary>
    public int ReuseWindowSeconds { get; set; } = 60;
    /// <summary>What <see cref="AcceptConsumedPolicy.RevokeOnReplay"/> removes. Default the family.</summary>
    public ReplayScope ReplayScope { get; set; } = ReplayScope.Family;
    /// <summary>The secret successors of one-time tokens are derived with (at least 16 bytes),
    /// shared by every node; default none: the secret stored in the store is used, created on
    /// first use and protected by <see cref="Protector"/>.</summary>
    public byte[]? SuccessorSecret { get; set; }
    /// <summary>A previous <see cref="SuccessorSecret"/>, still tried on lookups while chains
    /// rotated under it may be retried.</summary>
    public byte[]? PreviousSuccessorSecret { get; set; }
    /// <summary>The host's own AcceptConsumedTokenAsync, for a decision that waits on I/O: true
    /// accepts the consumed token. Awaited without holding a thread; may call back into the
    /// service. At most one of this and <see cref="AcceptConsumedToken"/>.</summary>
    public Func<ConsumedTokenContext, CancellationToken, ValueTask<bool>>? AcceptConsumedTokenAsync { get; set; }
    /// <summary>The host's own accept-consumed decision, synchronous (it blocks the thread doing
    /// the operation): true accepts the consumed token. May call back into the service.</summary>
    public Func<ConsumedTokenContext, bool>? AcceptConsumedToken { get; set; }
    /// <summary>IProfileService.IsActiveAsync: (subjectId, clientId, cancellation) → active,
    /// awaited without holding a thread. Default: everyone is active. At most one of this and
    /// <see cref="IsActive"/>.</summary>
    public Func<string, string, CancellationToken, ValueTask<bool>>? IsActiveAsync { get; set; }
    /// <summary>The is-active check, synchronous: (subjectId, clientId) → active.</summary>
    public Func<string, string, bool>? IsActive { get; set; }
    /// <summary>The clock; default the system clock. A reading that throws, or is
    /// <c>DateTimeOffset.MinValue</c> / <c>MaxValue</c>, is unusable: the system clock is used for it.</summary>
    public TimeProvider? TimeProvider { get; set; }
    /// <summary>The payload protector (e.g. <see cref="DataProtectionPayloadProtector"/>); default none.</summary>
    public IPayloadProtector? Protector { get; set; }
    /// <summary>The host's persisted-grant store, awaited without holding a thread (for example
    /// RefreshTokenCore.EntityFramework's store). A store that also implements
    /// <see cref="IBlockingGrantStore"/> says it never waits, and is called synchronously. When
    /// none of the stores is set, the native in-memory store is used.</summary>
    public IGrantStore? Store { get; set; }
    /// <summary>A store that never waits (memory), called synchronously on the thread doing the
    /// operation. At most one of this and <see cref="Store"/>.</summary>
    public IBlockingGrantStore? BlockingStore { get; set; }
    /// <summary>Accepts a store without an atomic conditional consume (one that implements
    /// neither <see cref="IConditionalConsumeGrantStore"/> nor
    /// <see cref="IBlockingConditionalConsumeStore"/>). Such a store consumes a one-time token
    /// with the reference's read-then-write: parallel refreshes of one token can both succeed and
    /// fork its chain, as under stock Duende. Default false: building on such a store throws
    /// <see cref="InvalidOperationException"/>; when true, it is logged as a warning.</summary>
    public bool AllowNonAtomicConsume { get; set; }
    /// <summary>Use the native SQLite store on this file (Duende's <c>PersistedGrants</c> table;
    /// a database Duende's EF Core store created is used as it is). Ignored when a store is set.</summary>
    public string? SqlitePath { get; set; }
    /// <summary>Use the native PostgreSQL store, for several server instances sharing one
    /// database: a URL (postgres://user:password@host:port/database), libpq key=value pairs, or
    /// the Npgsql connection string the deployment already has (Host=…;Username=…;Password=…;
    /// Database=…). A refused login, an unknown database or a string requiring TLS (not built)
    /// fails at once as not retryable; an unreachable server as retryable. Ignored when a store
    /// or <see cref="SqlitePath"/> is set.</summary>
    public string? PostgresUrl { get; set; }
    /// <summary>Options of the native SQLite and PostgreSQL stores (pool, timeouts, durability,
    /// the table's schema and name, whether the store may create it).</summary>
    public NativeStoreOptions NativeStore { get; set; } = new();
    /// <summary>Receives the library's events (never a handle).</summary>
    public ILogger? Logger { get; set; }
    /// <summary>Clients known up front (others are registered on first use).</summary>
    public IList<ClientSettings> Clients { get; } = new List<ClientSettings>();
}
