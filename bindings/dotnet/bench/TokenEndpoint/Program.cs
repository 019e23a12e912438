using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Threading;
using System.Threading.Tasks;

namespace TokenEndpoint;

/// <summary>
/// Refreshes per second at the token endpoint, stock Duende against the swap-in, and what one
/// refresh sends to the database. In this folder:
/// <code>
/// eval "$(../../../../tests/postgres-server start)"   # for --db postgres
/// RTC_DUENDE_FEED=&lt;feed&gt; dotnet run -c Release -- [--db sqlite,postgres] [--callers 1,2,8]
///     [--usage reuse,onetime] [--sides stock,swapin,native] [--seconds 5] [--rounds 2] [--count 50]
/// </code>
/// Each measurement is a fresh database and a fresh host; every caller holds a chain of its own
/// (a password grant, ten refreshes to warm up, then refreshes until the time is up); the sides
/// take turns within each configuration, in a different order each round, so the shared
/// machine's drift falls on all of them.
/// </summary>
public static class Program
{
    private static readonly HttpClient Http = new(new SocketsHttpHandler { MaxConnectionsPerServer = 64 });

    public static async Task<int> Main(string[] args)
    {
        Dictionary<string, string> a = Arguments(args);
        string[] dbs = List(a, "db", "sqlite,postgres");
        int[] callerCounts = List(a, "callers", "1,2,8").Select(int.Parse).ToArray();
        string[] usages = List(a, "usage", "reuse,onetime");
        Side[] sides = List(a, "sides", "stock,swapin,native").Select(s => Enum.Parse<Side>(s, ignoreCase: true)).ToArray();
        double seconds = double.Parse(a.GetValueOrDefault("seconds", "5"), CultureInfo.InvariantCulture);
        int rounds = int.Parse(a.GetValueOrDefault("rounds", "2"), CultureInfo.InvariantCulture);
        int count = int.Parse(a.GetValueOrDefault("count", "50"), CultureInfo.InvariantCulture);

        Uri? pg = null;
        if (dbs.Contains("postgres"))
        {
            string? url = Environment.GetEnvironmentVariable("RTC_TEST_POSTGRES_URL");
            if (url is null || Environment.GetEnvironmentVariable("RTC_TEST_POSTGRES_DIR") is null)
            {
                Console.Error.WriteLine("--db postgres needs the test server: eval \"$(tests/postgres-server start)\" first");
                return 2;
            }
            pg = new Uri(url);
            await PostgresDatabase.Admin(pg, $"ALTER SYSTEM SET log_line_prefix = '{ServerLog.Prefix}'");
            await PostgresDatabase.Admin(pg, "SELECT pg_reload_conf()");
        }
        Func<bool, Task<Database>> Fresh(string db) => db == "postgres"
            ? async log => await PostgresDatabase.CreateAsync(pg!, log)
            : _ => Task.FromResult<Database>(new SqliteDatabase());

        Console.WriteLine($"# token endpoint, {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, {seconds:0.#} s a run, {rounds} rounds");
        Console.WriteLine();
        // JIT, tiering and first-use costs, not recorded: a first run measured without this was
        // half as fast as the same run a minute later.
        foreach (string db in dbs)
        {
            foreach (string usage in usages)
            {
                foreach (Side side in sides)
                {
                    await Throughput(Fresh(db), side, Client(usage), 2, 3);
                }
            }
        }

        var rates = new Dictionary<(string Db, string Usage, int Callers, Side Side), List<Rate>>();
        for (int round = 0; round < rounds; round++)
        {
            foreach (string db in dbs)
            {
                foreach (string usage in usages)
                {
                    foreach (int callers in callerCounts)
                    {
                        for (int i = 0; i < sides.Length; i++)
                        {
                            Side side = sides[(i + round) % sides.Length];
                            Rate r = await Throughput(Fresh(db), side, Client(usage), callers, seconds);
                            Console.Error.WriteLine($"round {round + 1}: {db} {usage} {callers} callers {side}: {r.PerSecond:N0}/s, {r.Failed} failed {r.Error}");
                            (rates.TryGetValue((db, usage, callers, side), out var list) ? list : rates[(db, usage, callers, side)] = new()).Add(r);
                        }
                    }
                }
            }
        }

        Console.WriteLine("| database | usage | callers | " + string.Join(" | ", sides.Select(s => $"{Label(s)} refreshes/s")) + " | "
            + string.Join(" | ", sides.Skip(1).Select(s => $"{Label(s)} / stock")) + " | failed |");
        Console.WriteLine("|---|---|---:|" + string.Concat(sides.Select(_ => "---:|")) + string.Concat(sides.Skip(1).Select(_ => "---:|")) + "---|");
        foreach (string db in dbs)
        {
            foreach (string usage in usages)
            {
                foreach (int callers in callerCounts)
                {
                    List<double> means = sides.Select(s => rates[(db, usage, callers, s)].Average(r => r.PerSecond)).ToList();
                    string cells = string.Join(" | ", sides.Select((s, i) => $"{means[i]:N0} ({string.Join(" / ", rates[(db, usage, callers, s)].Select(r => r.PerSecond.ToString("N0", CultureInfo.InvariantCulture)))})"));
                    string ratios = string.Join(" | ", means.Skip(1).Select(m => $"{m / means[0]:0.00}×"));
                    string failed = string.Join(" / ", sides.Select(s => rates[(db, usage, callers, s)].Sum(r => r.Failed)));
                    Console.WriteLine($"| {Pretty(db)} | {Pretty(usage)} | {callers} | {cells} | {ratios} | {failed} |");
                }
            }
        }
        Console.WriteLine();

        Console.WriteLine($"What one refresh sends (mean of {count} refreshes on one chain; EF Core's own counts, and on PostgreSQL the server's log):");
        Console.WriteLine();
        Console.WriteLine("| database | usage | side | EF commands (round trips) | EF statements | EF transactions | server statements | server transactions | server statements by kind |");
        Console.WriteLine("|---|---|---|---:|---:|---:|---:|---:|---|");
        foreach (string db in dbs)
        {
            foreach (string usage in usages)
            {
                foreach (Side side in sides)
                {
                    Console.WriteLine(await Count(db, Fresh(db), side, Client(usage), count));
                }
            }
        }
        Console.WriteLine();
        Console.WriteLine("EF Core's counts are what passes its command interceptors: the swap-in's read of a token by key goes to the "
            + "context's connection directly (RefreshTokenCore.EntityFramework's GrantTable.ReadByKeyAsync) and is not among them; "
            + "the server's log counts every statement.");
        return 0;
    }

    private sealed record Rate(double PerSecond, long Failed, string? Error);

    /// <summary>Refreshes per second of <paramref name="callers"/> chains refreshed at once.</summary>
    private static async Task<Rate> Throughput(Func<bool, Task<Database>> fresh, Side side, string client, int callers, double seconds)
    {
        await using Database db = await fresh(false);
        var counter = new EfCounter();
        await using Host host = await Host.StartAsync(db, side, counter, Http);
        string[] chains = await Task.WhenAll(Enumerable.Range(0, callers).Select(async _ =>
        {
            string h = await host.LoginAsync(client);
            for (int i = 0; i < 10; i++)
            {
                h = (await host.RefreshAsync(client, h)).Next ?? await host.LoginAsync(client);
            }
            return h;
        }));
        long ok = 0, failed = 0;
        string? error = null;
        long start = Stopwatch.GetTimestamp();
        long until = start + (long)(seconds * Stopwatch.Frequency);
        await Task.WhenAll(chains.Select(first => Task.Run(async () =>
        {
            string h = first;
            while (Stopwatch.GetTimestamp() < until)
            {
                (string? next, string? why) = await host.RefreshAsync(client, h);
                if (next is not null)
                {
                    Interlocked.Increment(ref ok);
                    h = next;
                    continue;
                }
                // The client's way out: sign in again (counted, and it costs the run time).
                Interlocked.Increment(ref failed);
                Interlocked.CompareExchange(ref error, why, null);
                h = await host.LoginAsync(client);
            }
        })));
        double elapsed = Stopwatch.GetElapsedTime(start).TotalSeconds;
        return new Rate(ok / elapsed, failed, error);
    }

    /// <summary>The database work of <paramref name="n"/> refreshes of one chain, one at a time.</summary>
    private static async Task<string> Count(string dbName, Func<bool, Task<Database>> fresh, Side side, string client, int n)
    {
        await using Database db = await fresh(true);
        var counter = new EfCounter();
        await using Host host = await Host.StartAsync(db, side, counter, Http);
        string h = await host.LoginAsync(client);
        for (int i = 0; i < 5; i++)
        {
            h = (await host.RefreshAsync(client, h)).Next ?? throw new InvalidOperationException("a warm-up refresh failed");
        }
        string mark = Guid.NewGuid().ToString("N");
        var pg = db as PostgresDatabase;
        if (pg is not null) await pg.MarkAsync($"rtc-bench-begin-{mark}");
        counter.Reset();
        for (int i = 0; i < n; i++)
        {
            (string? next, string? why) = await host.RefreshAsync(client, h);
            h = next ?? throw new InvalidOperationException($"a counted refresh failed: {why}");
        }
        string ef = side == Side.Native && counter.Commands == 0
            ? "— | — | —"
            : $"{counter.Commands / (double)n:0.##} | {counter.Statements / (double)n:0.##} | {counter.Transactions / (double)n:0.##}";
        string server = "— | — | —";
        if (pg is not null)
        {
            await pg.MarkAsync($"rtc-bench-end-{mark}");
            string log = Path.Combine(Environment.GetEnvironmentVariable("RTC_TEST_POSTGRES_DIR")!, "server.log");
            ServerLog.Received r = ServerLog.Between(log, pg.DatabaseName, $"rtc-bench-begin-{mark}", $"rtc-bench-end-{mark}", n);
            server = $"{r.Statements / (double)n:0.##} | {r.Transactions / (double)n:0.##} | {r.Kinds}";
        }
        return $"| {Pretty(dbName)} | {Pretty(client)} | {Label(side)} | {ef} | {server} |";
    }

    private static string Client(string usage) => usage == "reuse" ? "reuse" : "onetime";

    private static string Pretty(string name) => name switch
    {
        "sqlite" => "EF Core, SQLite",
        "postgres" => "EF Core, PostgreSQL",
        "reuse" => "ReUse",
        _ => "OneTimeOnly",
    };

    private static string Label(Side side) => side switch
    {
        Side.Stock => "stock Duende",
        Side.SwapIn => "swap-in (EF store)",
        _ => "swap-in (built-in store)",
    };

    private static Dictionary<string, string> Arguments(string[] args)
    {
        var d = new Dictionary<string, string>(StringComparer.Ordinal);
        for (int i = 0; i + 1 < args.Length; i += 2)
        {
            d[args[i].TrimStart('-')] = args[i + 1];
        }
        return d;
    }

    private static string[] List(Dictionary<string, string> a, string key, string fallback) =>
        a.GetValueOrDefault(key, fallback).Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
