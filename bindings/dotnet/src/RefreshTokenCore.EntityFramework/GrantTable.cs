using System;
using System.Collections.Generic;
using System.Data;
using System.Data.Common;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;

namespace RefreshTokenCore.EntityFramework;

/// <summary>
/// Where the persisted grants live in a context's model, and the SQL that reaches them.
///
/// Why SQL from the model rather than <c>ExecuteUpdate</c> / <c>ExecuteDelete</c>: both moved to
/// another class in EF Core 9 and <c>ExecuteUpdate</c> changed its signature again in EF Core 10,
/// so a binary built against one major version throws <c>MissingMethodException</c> or
/// <c>TypeLoadException</c> on the next. <c>ExecuteSqlRaw</c>, <c>SqlQueryRaw</c>, the model's
/// table mapping and <see cref="ISqlGenerationHelper"/> have kept their shape since EF Core 8, so
/// one build serves EF Core 8, 9 and 10 on every relational provider.
///
/// Why the model rather than fixed names: the same store then serves this package's own
/// <see cref="GrantStoreDbContext"/> and Duende's operational-store context, whose table name
/// and schema come from <c>OperationalStoreOptions</c>. Only the ten columns every shape has are
/// named, never <c>Id</c>, so a table of the IdentityServer4 shape (Key as primary key, no Id)
/// works too.
/// </summary>
internal sealed class GrantTable
{
    /// <summary>The ten columns, in the order of <see cref="Values"/>.</summary>
    internal static readonly string[] Columns =
    {
        "Key", "Type", "SubjectId", "SessionId", "ClientId", "Description", "CreationTime", "Expiration", "ConsumedTime", "Data",
    };

    private readonly string table;
    private readonly string[] columns;

    /// <summary>SELECT of every column under its model name: the base of every read.</summary>
    internal string SelectAll { get; }

    /// <summary>The table and column names, delimited for the provider.</summary>
    internal string Table => table;

    /// <summary>SELECT of the row of one key, the key as parameter <see cref="KeyParameter"/>
    /// (the hot read, run on the connection directly: see <see cref="ReadByKeyAsync"/>).</summary>
    private string SelectByKey { get; }

    /// <summary>The key parameter's name as the provider's ADO.NET driver takes it.</summary>
    private string KeyParameter { get; }

    private GrantTable(string table, string[] columns, string selectAll, string selectByKey, string keyParameter)
    {
        this.table = table;
        this.columns = columns;
        SelectAll = selectAll;
        SelectByKey = selectByKey;
        KeyParameter = keyParameter;
    }

    /// <summary>Finds the persisted-grant entity in the model and prepares its SQL.</summary>
    internal static GrantTable From(DbContext db)
    {
        IEntityType entity = FindEntity(db.Model);
        string name = entity.GetTableName()!;
        string? schema = entity.GetSchema();
        StoreObjectIdentifier store = StoreObjectIdentifier.Table(name, schema);
        ISqlGenerationHelper sql = db.GetService<ISqlGenerationHelper>();
        string[] cols = Columns.Select(c => sql.DelimitIdentifier(entity.FindProperty(c)!.GetColumnName(store)!)).ToArray();
        string select = "SELECT " + string.Join(", ", cols.Select((c, i) => $"{c} AS {sql.DelimitIdentifier(Columns[i])}"))
            + " FROM " + sql.DelimitIdentifier(name, schema);
        return new GrantTable(sql.DelimitIdentifier(name, schema), cols, select,
            $"{select} WHERE {cols[0]} = {sql.GenerateParameterNamePlaceholder("key")}", sql.GenerateParameterName("key"));
    }

    private static IEntityType FindEntity(IModel model)
    {
        List<IEntityType> candidates = model.GetEntityTypes()
            .Where(e => e.GetTableName() is not null && Columns.All(c => e.FindProperty(c) is not null))
            .ToList();
        return candidates.Count switch
        {
            0 => throw new InvalidOperationException(
                "The DbContext maps no persisted-grant entity (an entity with the properties " + string.Join(", ", Columns)
                + "). Use RefreshTokenCore.EntityFramework's GrantStoreDbContext or Duende's PersistedGrantDbContext."),
            1 => candidates[0],
            _ => candidates.FirstOrDefault(e => e.GetTableName() == "PersistedGrants")
                ?? throw new InvalidOperationException("The DbContext maps several persisted-grant entities and none on a table named PersistedGrants."),
        };
    }

    /// <summary>The column of the <paramref name="i"/>-th entry of <see cref="Columns"/>.</summary>
    internal string Column(int i) => columns[i];

    internal string Key => columns[0];
    internal string ConsumedTime => columns[8];

    /// <summary>A row's values in column order, with every time as UTC (Npgsql refuses other kinds for timestamptz).</summary>
    internal static object?[] Values(StoredGrant g) => new object?[]
    {
        g.Key, g.Type, g.SubjectId, g.SessionId, g.ClientId, g.Description,
        AsUtc(g.CreationTime), g.Expiration is { } x ? AsUtc(x) : null, g.ConsumedTime is { } c ? AsUtc(c) : null, g.Data,
    };

    internal static DateTime AsUtc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Utc => t,
        DateTimeKind.Local => t.ToUniversalTime(),
        _ => DateTime.SpecifyKind(t, DateTimeKind.Utc),
    };

    internal string Insert() =>
        $"INSERT INTO {table} ({string.Join(", ", columns)}) VALUES ({string.Join(", ", columns.Select((_, i) => $"{{{i}}}"))})";

    /// <summary>An INSERT that leaves an existing row of the same key alone, in SQL every provider
    /// takes (no ON CONFLICT on SQL Server, no MERGE on SQLite).</summary>
    internal string InsertIfAbsent() =>
        $"INSERT INTO {table} ({string.Join(", ", columns)}) SELECT {string.Join(", ", columns.Select((_, i) => $"{{{i}}}"))} "
        + $"WHERE NOT EXISTS (SELECT 1 FROM {table} WHERE {Key} = {{0}})";

    /// <summary>UPDATE of every column but Key, matched by Key ({0}); optionally only while unconsumed.</summary>
    internal string UpdateByKey(bool onlyIfUnconsumed) =>
        $"UPDATE {table} SET {string.Join(", ", columns.Skip(1).Select((c, i) => $"{c} = {{{i + 1}}}"))} WHERE {Key} = {{0}}"
        + (onlyIfUnconsumed ? $" AND {ConsumedTime} IS NULL" : string.Empty);

    internal string DeleteByKey() => $"DELETE FROM {table} WHERE {Key} = {{0}}";

    /// <summary>
    /// The row of one key, read with one command on the context's own connection (opened and
    /// closed through EF Core, so its connection handling and connection interceptors apply; its
    /// command interceptors and command log do not see this read). Why not LINQ over
    /// <c>SqlQueryRaw</c>, as the other reads: EF Core cannot cache the SQL of a query composed
    /// over raw SQL, so every execution generated it again under a lock on the query — the
    /// token endpoint's profile showed it, and threads queued on it. The match is ordinal, as in
    /// the reference, whatever the database's collation.
    /// </summary>
    internal async Task<StoredGrant?> ReadByKeyAsync(DbContext db, string key, CancellationToken cancellationToken)
    {
        DatabaseFacade database = db.Database;
        await database.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await using DbCommand command = database.GetDbConnection().CreateCommand();
            command.CommandText = SelectByKey;
            command.Transaction = database.CurrentTransaction?.GetDbTransaction();
            if (database.GetCommandTimeout() is int timeout)
            {
                command.CommandTimeout = timeout;
            }
            DbParameter parameter = command.CreateParameter();
            parameter.ParameterName = KeyParameter;
            parameter.Value = key;
            command.Parameters.Add(parameter);
            await using DbDataReader reader = await command.ExecuteReaderAsync(CommandBehavior.SingleResult, cancellationToken).ConfigureAwait(false);
            while (await reader.ReadAsync(cancellationToken).ConfigureAwait(false))
            {
                if (!reader.IsDBNull(0) && string.Equals(reader.GetString(0), key, StringComparison.Ordinal))
                {
                    return Read(reader);
                }
            }
            return null;
        }
        finally
        {
            await database.CloseConnectionAsync().ConfigureAwait(false);
        }
    }

    /// <summary>The current row of a reader over <see cref="SelectAll"/>'s columns, times as UTC.</summary>
    private static StoredGrant Read(DbDataReader r)
    {
        string? Text(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        DateTime? Time(int i) => r.IsDBNull(i) ? null : AsUtc(r.GetDateTime(i));
        return new StoredGrant
        {
            Key = r.GetString(0),
            Type = Text(1) ?? string.Empty,
            SubjectId = Text(2),
            SessionId = Text(3),
            ClientId = Text(4) ?? string.Empty,
            Description = Text(5),
            CreationTime = AsUtc(r.GetDateTime(6)),
            Expiration = Time(7),
            ConsumedTime = Time(8),
            Data = Text(9) ?? string.Empty,
        };
    }
}

/// <summary>A row as read by <see cref="GrantTable.SelectAll"/> (property names = column aliases).</summary>
internal sealed class GrantRow
{
    public string? Key { get; set; }
    public string Type { get; set; } = string.Empty;
    public string? SubjectId { get; set; }
    public string? SessionId { get; set; }
    public string ClientId { get; set; } = string.Empty;
    public string? Description { get; set; }
    public DateTime CreationTime { get; set; }
    public DateTime? Expiration { get; set; }
    public DateTime? ConsumedTime { get; set; }
    public string Data { get; set; } = string.Empty;

    /// <summary>Providers hand back Kind Unspecified; the columns hold UTC.</summary>
    internal StoredGrant ToModel() => new()
    {
        Key = Key ?? string.Empty,
        Type = Type,
        SubjectId = SubjectId,
        SessionId = SessionId,
        ClientId = ClientId,
        Description = Description,
        CreationTime = GrantTable.AsUtc(CreationTime),
        Expiration = Expiration is { } x ? GrantTable.AsUtc(x) : null,
        ConsumedTime = ConsumedTime is { } c ? GrantTable.AsUtc(c) : null,
        Data = Data,
    };
}
