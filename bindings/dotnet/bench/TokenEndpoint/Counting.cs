using System;
using System.Collections.Generic;
using System.Data.Common;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.EntityFrameworkCore.Diagnostics;

namespace TokenEndpoint;

/// <summary>
/// What EF Core sends: commands (each one round trip to the database) and the statements in
/// them, and the transactions it begins (SaveChanges' own included). Registered on the
/// operational store's DbContext, so it sees stock Duende's store and the swap-in's alike; the
/// swap-in's built-in store does not go through EF Core and is counted by the server only.
/// </summary>
public sealed class EfCounter : DbCommandInterceptor
{
    private long commands, statements, transactions;

    public long Commands => Interlocked.Read(ref commands);
    public long Statements => Interlocked.Read(ref statements);
    public long Transactions => Interlocked.Read(ref transactions);

    public void Reset()
    {
        Interlocked.Exchange(ref commands, 0);
        Interlocked.Exchange(ref statements, 0);
        Interlocked.Exchange(ref transactions, 0);
    }

    internal void Began() => Interlocked.Increment(ref transactions);

    private void Count(DbCommand command)
    {
        Interlocked.Increment(ref commands);
        // EF Core's SQL has its values in parameters, so a ';' ends a statement.
        Interlocked.Add(ref statements, command.CommandText.Split(';').Count(s => !string.IsNullOrWhiteSpace(s)));
    }

    public override InterceptionResult<DbDataReader> ReaderExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result)
    {
        Count(command);
        return result;
    }

    public override ValueTask<InterceptionResult<DbDataReader>> ReaderExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<DbDataReader> result, CancellationToken cancellationToken = default)
    {
        Count(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<int> NonQueryExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<int> result)
    {
        Count(command);
        return result;
    }

    public override ValueTask<InterceptionResult<int>> NonQueryExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Count(command);
        return ValueTask.FromResult(result);
    }

    public override InterceptionResult<object> ScalarExecuting(DbCommand command, CommandEventData eventData, InterceptionResult<object> result)
    {
        Count(command);
        return result;
    }

    public override ValueTask<InterceptionResult<object>> ScalarExecutingAsync(DbCommand command, CommandEventData eventData, InterceptionResult<object> result, CancellationToken cancellationToken = default)
    {
        Count(command);
        return ValueTask.FromResult(result);
    }
}

/// <summary>The transactions EF Core begins, counted into the <see cref="EfCounter"/>.</summary>
public sealed class EfTransactionCounter : DbTransactionInterceptor
{
    private readonly EfCounter counter;

    public EfTransactionCounter(EfCounter counter) => this.counter = counter;

    public override InterceptionResult<DbTransaction> TransactionStarting(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result)
    {
        counter.Began();
        return result;
    }

    public override ValueTask<InterceptionResult<DbTransaction>> TransactionStartingAsync(DbConnection connection, TransactionStartingEventData eventData, InterceptionResult<DbTransaction> result, CancellationToken cancellationToken = default)
    {
        counter.Began();
        return ValueTask.FromResult(result);
    }
}

/// <summary>
/// What the PostgreSQL server received on one database between two marks, from its own log
/// (<c>log_statement = 'all'</c> on that database, <c>log_line_prefix</c> naming the database
/// and the virtual transaction): every statement, and the transactions they ran in.
/// </summary>
public static partial class ServerLog
{
    public const string Prefix = "rtc|%d|%v|";

    [GeneratedRegex(@"^rtc\|(?<db>[^|]*)\|(?<tx>[^|]*)\|.*?LOG:\s+(?:statement|execute [^:]*):\s+(?<sql>.*)$")]
    private static partial Regex Line();

    public sealed record Received(int Statements, int Transactions, string Kinds);

    /// <summary>The statement's verb (two words for START TRANSACTION).</summary>
    private static string Kind(string sql)
    {
        string[] words = sql.Split((char[]?)null, 3, StringSplitOptions.RemoveEmptyEntries);
        string verb = words.Length > 0 ? words[0].ToUpperInvariant() : "?";
        return verb == "START" && words.Length > 1 ? $"{verb} {words[1].ToUpperInvariant()}" : verb;
    }

    public static Received Between(string logFile, string database, string begin, string end, int refreshes)
    {
        var statements = new List<(string Tx, string Sql)>();
        bool inside = false;
        using var reader = new StreamReader(new FileStream(logFile, FileMode.Open, FileAccess.Read, FileShare.ReadWrite));
        for (string? line = reader.ReadLine(); line is not null; line = reader.ReadLine())
        {
            Match m = Line().Match(line);
            if (!m.Success || m.Groups["db"].Value != database) continue;
            string sql = m.Groups["sql"].Value;
            // A statement that starts with a line break goes on in the log's next line (a tab first).
            if (string.IsNullOrWhiteSpace(sql)) sql = reader.ReadLine()?.Trim() ?? "";
            if (sql.Contains(begin, StringComparison.Ordinal)) { inside = true; continue; }
            if (sql.Contains(end, StringComparison.Ordinal)) break;
            if (inside) statements.Add((m.Groups["tx"].Value, sql));
        }
        // Npgsql's reset of a pooled connection (DISCARD ALL, sent ahead of the first command
        // after the connection is taken from the pool, in the same round trip) is named apart:
        // it is the driver's, not the store's, and each would count as a transaction of its own.
        bool Reset((string Tx, string Sql) s) => s.Sql.StartsWith("DISCARD ALL", StringComparison.OrdinalIgnoreCase);
        var work = statements.Where(s => !Reset(s)).ToList();
        string kinds = string.Join(", ", work
            .GroupBy(s => Kind(s.Sql))
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => $"{g.Key} {g.Count() / (double)refreshes:0.##}"));
        int resets = statements.Count - work.Count;
        if (resets > 0) kinds += $"; Npgsql's DISCARD ALL {resets / (double)refreshes:0.##}";
        return new Received(work.Count, work.Select(s => s.Tx).Distinct().Count(), kinds);
    }
}
