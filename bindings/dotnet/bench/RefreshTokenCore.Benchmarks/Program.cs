using System;
using System.IO;
using System.Security.Claims;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using RefreshTokenCore;
using RefreshTokenCore.Benchmarks;
using RefreshTokenCore.EntityFramework;

if (args.Length > 0 && args[0] == "threads")
{
    // Not BenchmarkDotNet: what 1,000 concurrent refreshes do to the thread pool (issue 13).
    await ThreadPoolComparison.Run(args.Length > 1 ? int.Parse(args[1]) : 1000);
    return;
}
BenchmarkRunner.Run<RefreshBenchmarks>(
    DefaultConfig.Instance.AddJob(Job.ShortRun).WithArtifactsPath(args.Length > 0 ? args[0] : "BenchmarkDotNet.Artifacts"));

namespace RefreshTokenCore.Benchmarks
{
    /// <summary>Every EF Core connection gets the durability the native store uses.</summary>
    internal sealed class SameDurability : Microsoft.EntityFrameworkCore.Diagnostics.DbConnectionInterceptor
    {
        public override void ConnectionOpened(System.Data.Common.DbConnection connection, Microsoft.EntityFrameworkCore.Diagnostics.ConnectionEndEventData eventData)
        {
            using var cmd = connection.CreateCommand();
            cmd.CommandText = "PRAGMA synchronous = FULL; PRAGMA busy_timeout = 10000;";
            cmd.ExecuteNonQuery();
        }
    }

    /// <summary>One OneTimeOnly refresh (delete mode), through the bindings and through the
    /// managed reference-like baseline, on in-memory stores and on one SQLite file each (WAL,
    /// synchronous=FULL on both sides).</summary>
    [MemoryDiagnoser]
    public class RefreshBenchmarks
    {
        private static readonly ClientSettings Client = new() { ClientId = "bench", AllowOfflineAccess = true, RefreshTokenUsage = RefreshTokenUsage.OneTimeOnly };
        private RefreshTokenService bindingsMemory = default!, bindingsSqlite = default!;
        private ReferenceLikeService baselineMemory = default!, baselineEf = default!;
        private string hBindingsMemory = "", hBindingsSqlite = "", hBaselineMemory = "", hBaselineEf = "";
        private readonly string dir = Path.Combine(Path.GetTempPath(), $"rtc-bdn-{Guid.NewGuid():N}");

        private static CreateRefreshTokenRequest Request() => new()
        {
            Client = Client,
            Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", "alice") }, "Duende.IdentityServer")),
            SessionId = "s1",
            AuthorizedScopes = new[] { "openid", "api", "offline_access" },
        };

        [GlobalSetup]
        public void Setup()
        {
            Directory.CreateDirectory(dir);
            bindingsMemory = new RefreshTokenService(new RefreshTokenServiceOptions { Store = new InMemoryGrantStore() });
            hBindingsMemory = bindingsMemory.CreateRefreshTokenAsync(Request()).Result;
            bindingsSqlite = new RefreshTokenService(new RefreshTokenServiceOptions { SqlitePath = Path.Combine(dir, "native.db") });
            hBindingsSqlite = bindingsSqlite.CreateRefreshTokenAsync(Request()).Result;

            // The baseline starts from the record the library would have stored, so both sides
            // carry the same token.
            RefreshTokenRecord record = bindingsMemory.ValidateRefreshTokenAsync(hBindingsMemory, Client).Result.RefreshToken!;
            baselineMemory = new ReferenceLikeService(new InMemoryGrantStore());
            hBaselineMemory = baselineMemory.Create(record);

            var options = new DbContextOptionsBuilder<GrantStoreDbContext>()
                .UseSqlite($"Data Source={Path.Combine(dir, "ef.db")}")
                .AddInterceptors(new SameDurability())
                .Options;
            using (var db = new GrantStoreDbContext(options))
            {
                db.Database.EnsureCreated();
                db.Database.ExecuteSqlRaw("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
            }
            baselineEf = new ReferenceLikeService(new SelectBeforeWriteEfStore(() => new GrantStoreDbContext(options)));
            hBaselineEf = baselineEf.Create(record);
        }

        [GlobalCleanup]
        public void Cleanup()
        {
            bindingsMemory.Dispose();
            bindingsSqlite.Dispose();
            SqliteConnection.ClearAllPools();
            Directory.Delete(dir, recursive: true);
        }

        [Benchmark(Description = "bindings, managed in-memory store (callbacks)")]
        public void BindingsMemory() => hBindingsMemory = bindingsMemory.RefreshAsync(Client, hBindingsMemory).Result.Handle!;

        [Benchmark(Baseline = true, Description = "managed baseline, in-memory store")]
        public void BaselineMemory() => hBaselineMemory = baselineMemory.RefreshOneTimeOnly(hBaselineMemory, Client, DateTime.UtcNow);

        [Benchmark(Description = "bindings, built-in SQLite store")]
        public void BindingsSqlite() => hBindingsSqlite = bindingsSqlite.RefreshAsync(Client, hBindingsSqlite).Result.Handle!;

        [Benchmark(Description = "managed baseline, EF Core SQLite (select before write)")]
        public void BaselineEfSqlite() => hBaselineEf = baselineEf.RefreshOneTimeOnly(hBaselineEf, Client, DateTime.UtcNow);
    }
}
