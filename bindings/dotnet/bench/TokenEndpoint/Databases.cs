using System;
using System.IO;
using System.Threading.Tasks;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using RefreshTokenCore;

namespace TokenEndpoint;

/// <summary>One run's database, fresh and empty: the EF Core operational store both stock Duende
/// and the swap-in use, and where the swap-in's built-in store puts its own table.</summary>
public abstract class Database : IAsyncDisposable
{
    public abstract string Name { get; }

    /// <summary>Duende's operational store on this database (<c>ConfigureDbContext</c>).</summary>
    public abstract void Configure(DbContextOptionsBuilder builder);

    /// <summary>The swap-in's built-in store on this database.</summary>
    public abstract void ConfigureNative(RefreshTokenServiceOptions options);

    /// <summary>After EnsureCreated: what a deployment tunes once.</summary>
    public virtual Task PrepareAsync(DbContext context) => Task.CompletedTask;

    public abstract ValueTask DisposeAsync();
}

/// <summary>A SQLite file in a folder of its own. WAL, as a deployment that cares about speed
/// sets it (and as the built-in store does); synchronous stays FULL on every side.</summary>
public sealed class SqliteDatabase : Database
{
    private readonly string folder = Path.Combine(Path.GetTempPath(), $"rtc-token-endpoint-{Guid.NewGuid():N}");

    public SqliteDatabase() => Directory.CreateDirectory(folder);

    public override string Name => "SQLite";

    public override void Configure(DbContextOptionsBuilder builder) =>
        builder.UseSqlite($"Data Source={Path.Combine(folder, "grants.db")};Default Timeout=30");

    public override void ConfigureNative(RefreshTokenServiceOptions options) => options.SqlitePath = Path.Combine(folder, "native.db");

    public override Task PrepareAsync(DbContext context) => context.Database.ExecuteSqlRawAsync("PRAGMA journal_mode=WAL");

    public override ValueTask DisposeAsync()
    {
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        try { Directory.Delete(folder, recursive: true); } catch (IOException) { }
        return ValueTask.CompletedTask;
    }
}

/// <summary>A database of its own on the PostgreSQL test server (tests/postgres-server), dropped
/// afterwards; with <c>logStatements</c> the server logs every statement it receives on it.</summary>
public sealed class PostgresDatabase : Database
{
    private static int next;
    private readonly Uri server;
    private readonly string name = $"rtc_bench_{Environment.ProcessId}_{System.Threading.Interlocked.Increment(ref next)}";

    private PostgresDatabase(Uri server) => this.server = server;

    public override string Name => "PostgreSQL";

    public string DatabaseName => name;

    public static string ConnectionString(Uri url, string database) =>
        $"Host={url.Host};Port={url.Port};Username={Uri.UnescapeDataString(url.UserInfo.Split(':')[0])};Database={database};Maximum Pool Size=50";

    public string ConnectionString() => ConnectionString(server, name);

    public static async Task<PostgresDatabase> CreateAsync(Uri server, bool logStatements)
    {
        var db = new PostgresDatabase(server);
        await Admin(server, $"CREATE DATABASE {db.name}");
        if (logStatements)
        {
            await Admin(server, $"ALTER DATABASE {db.name} SET log_statement = 'all'");
        }
        return db;
    }

    /// <summary>One statement on the server's own database (a batch with CREATE DATABASE fails).</summary>
    public static async Task Admin(Uri server, string sql)
    {
        await using var c = new NpgsqlConnection(ConnectionString(server, server.AbsolutePath.Trim('/')));
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand(sql, c);
        await cmd.ExecuteNonQueryAsync();
    }

    /// <summary>A statement on this database from a connection of its own: a mark in the server log.</summary>
    public async Task MarkAsync(string text)
    {
        await using var c = new NpgsqlConnection(ConnectionString());
        await c.OpenAsync();
        await using var cmd = new NpgsqlCommand($"SELECT '{text}'", c);
        await cmd.ExecuteScalarAsync();
    }

    public override void Configure(DbContextOptionsBuilder builder) => builder.UseNpgsql(ConnectionString());

    public override void ConfigureNative(RefreshTokenServiceOptions options) =>
        options.PostgresUrl = new UriBuilder(server) { Path = "/" + name }.Uri.ToString();

    public override async ValueTask DisposeAsync()
    {
        NpgsqlConnection.ClearAllPools();
        await Admin(server, $"DROP DATABASE {name} WITH (FORCE)");
    }
}
