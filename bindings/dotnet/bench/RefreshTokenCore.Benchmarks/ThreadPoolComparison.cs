using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Tracing;
using System.Linq;
using System.Security.Claims;
using System.Threading;
using System.Threading.Tasks;

namespace RefreshTokenCore.Benchmarks;

/// <summary>
/// n concurrent OneTimeOnly refreshes on a store whose every call takes 50 ms, two ways: the
/// asynchronous store (<see cref="IGrantStore"/>, each call awaits Task.Delay) and the old
/// synchronous path (<see cref="IBlockingGrantStore"/>, each call sleeps the thread, as any store
/// bridged into synchronous callbacks does), each refresh started as an ASP.NET Core request
/// would be, on a thread-pool thread. Prints the wall time and what the thread pool did.
/// <c>dotnet run -c Release --project bindings/dotnet/bench/RefreshTokenCore.Benchmarks -- threads</c>
/// </summary>
internal static class ThreadPoolComparison
{
    private static readonly TimeSpan Latency = TimeSpan.FromMilliseconds(50);
    private static readonly ClientSettings App = new() { ClientId = "app", AllowOfflineAccess = true, RefreshTokenUsage = RefreshTokenUsage.OneTimeOnly };

    public static async Task Run(int n)
    {
        ThreadPool.GetMinThreads(out int min, out _);
        Console.WriteLine($"{n} concurrent refreshes, every store call 50 ms; {Environment.ProcessorCount} cores, thread-pool minimum {min}");
        await Measure("asynchronous store (IGrantStore, awaits)", n, new RefreshTokenServiceOptions { Store = new AwaitingStore() });
        await Measure("old synchronous path (IBlockingGrantStore, blocks)", n, new RefreshTokenServiceOptions { BlockingStore = new SleepingStore() });
    }

    private static async Task Measure(string name, int n, RefreshTokenServiceOptions options)
    {
        using var service = new RefreshTokenService(options);
        string[] handles = await Task.WhenAll(Enumerable.Range(0, n).Select(i => Task.Run(() => service.CreateRefreshTokenAsync(Request(i)))));
        // Let the pool settle back towards its minimum (idle threads retire after about 20 s).
        await Task.Delay(TimeSpan.FromSeconds(21));
        using var probe = new Adjustments();
        int before = ThreadPool.ThreadCount, peak = before;
        using var done = new ManualResetEventSlim();
        var sampler = new Thread(() =>
        {
            while (!done.Wait(2)) peak = Math.Max(peak, ThreadPool.ThreadCount);
        }) { IsBackground = true };
        sampler.Start();
        var clock = Stopwatch.StartNew();
        RefreshResult[] results = await Task.WhenAll(handles.Select(h => Task.Run(() => service.RefreshAsync(App, h))));
        TimeSpan took = clock.Elapsed;
        done.Set();
        sampler.Join();
        int ok = results.Count(r => !r.IsError);
        Console.WriteLine($"  {name}: {ok}/{n} ok in {took.TotalMilliseconds:F0} ms; threads {before} before, at most {peak} during; "
            + $"threads added for starvation: {probe.Starvation}, by hill climbing: {probe.Climbing}");
    }

    private static CreateRefreshTokenRequest Request(int i) => new()
    {
        Client = App,
        Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", $"user-{i}") }, "Duende.IdentityServer")),
        AuthorizedScopes = new[] { "openid", "offline_access" },
    };

    /// <summary>Counts the thread pool's adjustments by reason (6 starvation, 8 cooperative blocking; 0-5 hill climbing).</summary>
    private sealed class Adjustments : EventListener
    {
        public int Starvation, Climbing;

        protected override void OnEventSourceCreated(EventSource source)
        {
            if (source.Name == "Microsoft-Windows-DotNETRuntime") EnableEvents(source, EventLevel.Informational, (EventKeywords)0x10000);
        }

        protected override void OnEventWritten(EventWrittenEventArgs e)
        {
            if (e.EventName != "ThreadPoolWorkerThreadAdjustmentAdjustment" || e.Payload is null || e.PayloadNames is null) return;
            uint reason = Convert.ToUInt32(e.Payload[e.PayloadNames.IndexOf("Reason")]);
            if (reason is 6 or 8) Interlocked.Increment(ref Starvation);
            else Interlocked.Increment(ref Climbing);
        }
    }

    /// <summary>Every call awaits the latency, then answers from memory.</summary>
    private sealed class AwaitingStore : IGrantStore, IConditionalConsumeGrantStore, IRotatingGrantStore
    {
        private readonly InMemoryGrantStore rows = new();
        private static Task Wait(CancellationToken ct) => Task.Delay(Latency, ct);
        public async ValueTask<StoredGrant?> GetAsync(string key, CancellationToken ct) { await Wait(ct); return rows.Get(key); }
        public async ValueTask StoreAsync(StoredGrant grant, CancellationToken ct) { await Wait(ct); rows.Store(grant); }
        public async ValueTask RemoveAsync(string key, CancellationToken ct) { await Wait(ct); rows.Remove(key); }
        public async ValueTask<IReadOnlyList<StoredGrant>> GetAllAsync(StoredGrantFilter f, CancellationToken ct) { await Wait(ct); return rows.GetAll(f); }
        public async ValueTask<long> RemoveAllAsync(StoredGrantFilter f, CancellationToken ct) { await Wait(ct); return rows.RemoveAll(f); }
        public async ValueTask<int> RemoveExpiredAsync(DateTime now, int batch, CancellationToken ct) { await Wait(ct); return rows.RemoveExpired(now, batch); }
        public async ValueTask<int> RemoveConsumedAsync(DateTime before, int batch, CancellationToken ct) { await Wait(ct); return rows.RemoveConsumed(before, batch); }
        public async ValueTask<ConsumeOutcome> TryConsumeAsync(string key, StoredGrant? r, CancellationToken ct) { await Wait(ct); return rows.TryConsume(key, r); }
        public async ValueTask<ConsumeOutcome> TryRotateAsync(string key, StoredGrant? r, StoredGrant s, CancellationToken ct) { await Wait(ct); return rows.TryRotate(key, r, s); }
    }

    /// <summary>Every call sleeps the calling thread for the latency, then answers from memory.</summary>
    private sealed class SleepingStore : IBlockingGrantStore, IBlockingConditionalConsumeStore, IBlockingRotatingStore
    {
        private readonly InMemoryGrantStore rows = new();
        private static void Wait() => Thread.Sleep(Latency);
        public StoredGrant? Get(string key) { Wait(); return rows.Get(key); }
        public void Store(StoredGrant grant) { Wait(); rows.Store(grant); }
        public void Remove(string key) { Wait(); rows.Remove(key); }
        public IReadOnlyList<StoredGrant> GetAll(StoredGrantFilter f) { Wait(); return rows.GetAll(f); }
        public long RemoveAll(StoredGrantFilter f) { Wait(); return rows.RemoveAll(f); }
        public int RemoveExpired(DateTime now, int batch) { Wait(); return rows.RemoveExpired(now, batch); }
        public int RemoveConsumed(DateTime before, int batch) { Wait(); return rows.RemoveConsumed(before, batch); }
        public ConsumeOutcome TryConsume(string key, StoredGrant? r) { Wait(); return rows.TryConsume(key, r); }
        public ConsumeOutcome TryRotate(string key, StoredGrant? r, StoredGrant s) { Wait(); return rows.TryRotate(key, r, s); }
    }
}
