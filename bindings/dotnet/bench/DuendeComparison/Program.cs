using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Security.Claims;
using System.Threading;
using System.Threading.Tasks;
using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using Duende.IdentityServer.Models;
using Duende.IdentityServer.Services;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace DuendeComparison;

/// <summary>The two services, built as a deployment builds them: AddIdentityServer() with its
/// in-memory persisted-grant store and Data Protection, with and without AddRefreshTokenCore().</summary>
public static class Hosts
{
    public static readonly Client ReUse = new() { ClientId = "web", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.ReUse };
    public static readonly Client OneTime = new() { ClientId = "mobile", AllowOfflineAccess = true, RefreshTokenUsage = TokenUsage.OneTimeOnly };

    public static IRefreshTokenService Build(bool swapIn)
    {
        var services = new ServiceCollection();
        services.AddLogging(b => b.SetMinimumLevel(LogLevel.Warning));
        services.AddDataProtection().UseEphemeralDataProtectionProvider();
        IIdentityServerBuilder builder = services.AddIdentityServer().AddInMemoryClients(new[] { ReUse, OneTime });
        if (swapIn)
        {
            // Duende's in-memory store has no conditional consume: the same race as stock is accepted.
            builder.AddRefreshTokenCore(o => o.AllowNonAtomicConsume = true);
        }
        return services.BuildServiceProvider().GetRequiredService<IRefreshTokenService>();
    }

    public static RefreshTokenCreationRequest Request(Client client) => new()
    {
        Client = client,
        Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", "alice"), new Claim("idp", "local"), new Claim("auth_time", "1700000000") }, "Duende.IdentityServer")),
        AuthorizedScopes = new[] { "openid", "profile", "api1", "offline_access" },
        AccessToken = new Token
        {
            ClientId = client.ClientId,
            Issuer = "https://idp.example",
            Lifetime = 3600,
            CreationTime = DateTime.UtcNow,
            Audiences = { "api1" },
            Claims = { new Claim("sub", "alice"), new Claim("scope", "api1"), new Claim("client_id", client.ClientId) },
        },
    };

    /// <summary>What the token endpoint does with a refresh token: validate, then update.</summary>
    public static async Task<string> Pair(IRefreshTokenService s, Client client, string handle)
    {
        var v = await s.ValidateRefreshTokenAsync(handle, client).ConfigureAwait(false);
        if (v.IsError) throw new InvalidOperationException(v.Error);
        return await s.UpdateRefreshTokenAsync(new RefreshTokenUpdateRequest { Handle = handle, Client = client, RefreshToken = v.RefreshToken }).ConfigureAwait(false);
    }
}

/// <summary>One validate + update pair, stock Duende against the adapter, ReUse and OneTimeOnly.</summary>
[MemoryDiagnoser]
public class PairBenchmarks
{
    private IRefreshTokenService stock = default!, swapIn = default!;
    private string stockReUse = "", swapReUse = "", stockOne = "", swapOne = "";

    [GlobalSetup]
    public void Setup()
    {
        stock = Hosts.Build(swapIn: false);
        swapIn = Hosts.Build(swapIn: true);
        stockReUse = stock.CreateRefreshTokenAsync(Hosts.Request(Hosts.ReUse)).Result;
        swapReUse = swapIn.CreateRefreshTokenAsync(Hosts.Request(Hosts.ReUse)).Result;
        stockOne = stock.CreateRefreshTokenAsync(Hosts.Request(Hosts.OneTime)).Result;
        swapOne = swapIn.CreateRefreshTokenAsync(Hosts.Request(Hosts.OneTime)).Result;
    }

    [Benchmark(Baseline = true, Description = "stock Duende, ReUse")]
    public string StockReUse() => Hosts.Pair(stock, Hosts.ReUse, stockReUse).Result;

    [Benchmark(Description = "adapter, ReUse")]
    public string SwapReUse() => Hosts.Pair(swapIn, Hosts.ReUse, swapReUse).Result;

    [Benchmark(Description = "stock Duende, OneTimeOnly")]
    public string StockOneTime() => stockOne = Hosts.Pair(stock, Hosts.OneTime, stockOne).Result;

    [Benchmark(Description = "adapter, OneTimeOnly")]
    public string SwapOneTime() => swapOne = Hosts.Pair(swapIn, Hosts.OneTime, swapOne).Result;
}

public static class Program
{
    public static async Task Main(string[] args)
    {
        if (args.Length > 0 && args[0] == "threads")
        {
            await Throughput(args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 3.0, args.Length > 2 && args[2] != "both" ? args[2] : null, args.Length > 3 ? args[3] : null);
            return;
        }
        // In process: BenchmarkDotNet's generated project could not restore Duende from the
        // local feed.
        BenchmarkRunner.Run<PairBenchmarks>(DefaultConfig.Instance
            .AddJob(Job.ShortRun.WithToolchain(BenchmarkDotNet.Toolchains.InProcess.Emit.InProcessEmitToolchain.Instance))
            .WithArtifactsPath(args.Length > 0 ? args[0] : "BenchmarkDotNet.Artifacts"));
    }

    /// <summary>Pairs per second on 1 and 2 threads (one chain per thread), each side in turn, in
    /// one process: ratios, not absolute figures, are what this shared machine can give.</summary>
    /// <param name="only">"stock" or "adapter" for one side (to profile it); "both" or nothing for both.</param>
    /// <param name="usage">"ReUse" or "OneTimeOnly" for one usage, else both.</param>
    private static async Task Throughput(double seconds, string? only, string? usage)
    {
        Console.WriteLine("| side | usage | threads | pairs/s |");
        Console.WriteLine("|---|---|---:|---:|");
        foreach (int threads in new[] { 1, 2 })
        {
            foreach ((string name, Client client) in new[] { ("ReUse", Hosts.ReUse), ("OneTimeOnly", Hosts.OneTime) }.Where(u => usage is null || u.Item1 == usage))
            {
                foreach (bool swap in new[] { false, true }.Where(w => only is null || (only == "adapter") == w))
                {
                    IRefreshTokenService s = Hosts.Build(swap);
                    // Warm up (long enough for the JIT's tiers to settle: with half a second the
                    // first side measured in a process ran at half its speed), then measure.
                    await Run(s, client, threads, 2.0);
                    long pairs = await Run(s, client, threads, seconds);
                    Console.WriteLine($"| {(swap ? "adapter" : "stock Duende")} | {name} | {threads} | {pairs / seconds:N0} |");
                }
            }
        }
    }

    private static async Task<long> Run(IRefreshTokenService s, Client client, int threads, double seconds)
    {
        long total = 0;
        var until = Stopwatch.GetTimestamp() + (long)(seconds * Stopwatch.Frequency);
        var workers = Enumerable.Range(0, threads).Select(_ => Task.Run(async () =>
        {
            string h = await s.CreateRefreshTokenAsync(Hosts.Request(client));
            long n = 0;
            while (Stopwatch.GetTimestamp() < until)
            {
                h = await Hosts.Pair(s, client, h);
                n++;
            }
            Interlocked.Add(ref total, n);
        })).ToArray();
        await Task.WhenAll(workers);
        return total;
    }
}
