using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Xunit;
using Xunit.Abstractions;

namespace RefreshTokenCore.Tests;

/// <summary>Alone, after the parallel tests: it measures the thread pool.</summary>
[CollectionDefinition("thread pool", DisableParallelization = true)]
public sealed class ThreadPoolCollection { }

/// <summary>
/// Asynchronous host I/O end to end: a store (and hooks) that await, a service that waits on them
/// without holding a thread, and cancellation that either changes nothing or lets a rotation finish.
/// </summary>
[Collection("thread pool")]
public sealed class AsyncStoreTests
{
    private readonly ITestOutputHelper output;

    public AsyncStoreTests(ITestOutputHelper output) => this.output = output;

    private static string Bytes(InMemoryGrantStore s) => JsonSerializer.Serialize(s.Snapshot());

    [Fact]
    public async Task RefreshAsync_returns_an_incomplete_task_at_once_on_a_store_that_awaits()
    {
        var store = new DelayedStore();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store });
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);

        var clock = Stopwatch.StartNew();
        Task<RefreshResult> pending = service.RefreshAsync(spa, handle);
        TimeSpan returnedAfter = clock.Elapsed;
        bool completedAtReturn = pending.IsCompleted;
        RefreshResult r = await pending;
        output.WriteLine($"RefreshAsync returned after {returnedAfter.TotalMilliseconds:F1} ms (IsCompleted = {completedAtReturn}); completed after {clock.Elapsed.TotalMilliseconds:F0} ms, {store.Calls} store calls of 50 ms");

        Assert.False(completedAtReturn, "the task must not be complete before the store answered");
        Assert.True(returnedAfter < store.Delay, $"returned after {returnedAfter.TotalMilliseconds} ms: it waited for the store");
        Assert.False(r.IsError, r.Reason.ToString());
        Assert.True(r.Rotated);
        Assert.Single(store.Inner.Tokens(), t => t.ConsumedTime is null && t.Key == RefreshTokenService.GetPersistedGrantKey(r.Handle!));
    }

    /// <summary>Runs <paramref name="work"/> and samples the thread pool from a thread of its own
    /// (so the sampling does not use the pool it measures): threads before, at most during, time.</summary>
    private static async Task<(int Before, int Peak, TimeSpan Took, T Result)> Sampled<T>(Func<Task<T>> work)
    {
        int before = ThreadPool.ThreadCount, peak = before;
        using var done = new ManualResetEventSlim();
        var sampler = new Thread(() =>
        {
            while (!done.Wait(2)) peak = Math.Max(peak, ThreadPool.ThreadCount);
        }) { IsBackground = true };
        sampler.Start();
        var clock = Stopwatch.StartNew();
        T result = await work();
        TimeSpan took = clock.Elapsed;
        done.Set();
        sampler.Join();
        return (before, peak, took, result);
    }

    [Fact]
    public async Task A_thousand_concurrent_refreshes_complete_without_growing_the_thread_pool()
    {
        const int n = 1000;
        var store = new DelayedStore();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store });
        ClientSettings spa = TestSupport.Spa();
        string[] handles = await Task.WhenAll(Enumerable.Range(0, n).Select(i => service.CreateAsync(spa, $"user-{i}")));
        ThreadPool.GetMinThreads(out int minWorkers, out _);

        // The same shape without the library: n tasks awaiting three 50 ms delays each.
        var managed = await Sampled(async () =>
        {
            await Task.WhenAll(Enumerable.Range(0, n).Select(async _ =>
            {
                for (int i = 0; i < 3; i++) await Task.Delay(store.Delay);
            }));
            return 0;
        });
        int callsBefore = store.Calls;
        // The first reads wait until all n wait at once (or 20 s): a service that held a thread
        // per waiting call could never get there with the pool it has.
        store.GateAt(n);
        using var probe = new PoolProbe();
        var refreshes = await Sampled(() => Task.WhenAll(handles.Select(h => service.RefreshAsync(spa, h))));
        output.WriteLine($"thread pool minimum {minWorkers}; {n} tasks awaiting 3 x 50 ms: {managed.Took.TotalMilliseconds:F0} ms, threads {managed.Before} before, at most {managed.Peak} during");
        output.WriteLine($"{n} concurrent refreshes, {store.Calls - callsBefore} store calls of 50 ms ({store.MostInFlight} waiting at once): {refreshes.Took.TotalMilliseconds:F0} ms, threads {refreshes.Before} before, at most {refreshes.Peak} during");

        output.WriteLine($"thread-pool adjustments during the refreshes: {probe}");
        RefreshResult[] results = refreshes.Result;
        Assert.All(results, r => Assert.False(r.IsError, r.Reason.ToString()));
        Assert.Equal(n, results.Select(r => r.Handle).Distinct().Count());
        Assert.Equal(n, store.Inner.Tokens().Count(t => t.ConsumedTime is null));
        // No refresh holds a thread while its store call waits: all n first reads wait at once.
        // (A service that blocked its thread would have at most as many calls waiting as the
        // pool has threads, and take n x 100 ms / threads.) The pool's thread count is printed,
        // not asserted: hill climbing may try a few more threads for throughput whatever the work.
        Assert.True(store.MostInFlight >= n, $"at most {store.MostInFlight} store calls were waiting at once: threads were held");
        Assert.True(refreshes.Took < TimeSpan.FromSeconds(15), $"took {refreshes.Took}");
    }

    [Fact]
    public async Task A_refresh_cancelled_before_the_consume_ends_cancelled_and_leaves_the_store_byte_identical()
    {
        foreach (bool storeIgnoresTheToken in new[] { false, true })
        {
            var store = new DelayedStore { IgnoreCancellation = storeIgnoresTheToken };
            using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store, DeleteOneTimeOnlyRefreshTokensOnUse = false });
            ClientSettings spa = TestSupport.Spa();
            string handle = await service.CreateAsync(spa);
            string before = Bytes(store.Inner);

            using var cts = new CancellationTokenSource(TimeSpan.FromMilliseconds(20));   // during the read
            await Assert.ThrowsAnyAsync<OperationCanceledException>(() => service.RefreshAsync(spa, handle, cancellationToken: cts.Token));
            Assert.Equal(before, Bytes(store.Inner));

            // The token was never consumed: it refreshes as if nothing happened.
            RefreshResult r = await service.RefreshAsync(spa, handle);
            Assert.False(r.IsError, $"ignores the token: {storeIgnoresTheToken}: {r.Reason}");
        }
    }

    [Fact]
    public async Task A_refresh_cancelled_once_the_rotation_started_completes_it()
    {
        var store = new DelayedStore();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store });
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        using var cts = new CancellationTokenSource();
        store.OnRotate = cts.Cancel;

        RefreshResult r = await service.RefreshAsync(spa, handle, cancellationToken: cts.Token);
        Assert.True(cts.IsCancellationRequested);
        Assert.False(r.IsError, r.Reason.ToString());
        StoredGrant live = Assert.Single(store.Inner.Tokens());
        Assert.Equal(RefreshTokenService.GetPersistedGrantKey(r.Handle!), live.Key);
    }

    [Fact]
    public async Task An_exception_from_the_stores_async_code_is_the_retryable_failures_inner_exception()
    {
        var store = new DelayedStore { Delay = TimeSpan.FromMilliseconds(5) };
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions { Store = store });
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        string before = Bytes(store.Inner);
        var thrown = new InvalidOperationException("connection reset by peer");
        store.ThrowOnGet = thrown;

        var e = await Assert.ThrowsAsync<RefreshTokenCoreException>(() => service.RefreshAsync(spa, handle));
        Assert.True(e.IsRetryable);
        Assert.Equal(ResultCode.StorageUnavailable, e.Code);
        Assert.Same(thrown, e.InnerException);
        Assert.Equal(before, Bytes(store.Inner));
        store.ThrowOnGet = null;
        Assert.False((await service.RefreshAsync(spa, handle)).IsError);
    }

    [Fact]
    public async Task Asynchronous_hooks_decide_and_get_the_callers_token()
    {
        var inactive = new HashSet<string>();
        var tokens = new List<CancellationToken>();
        int acceptAsked = 0;
        var store = new DelayedStore { Delay = TimeSpan.FromMilliseconds(2) };
        using var cts = new CancellationTokenSource();
        using var service = new RefreshTokenService(new RefreshTokenServiceOptions
        {
            Store = store,
            DeleteOneTimeOnlyRefreshTokensOnUse = false,
            ReuseWindowSeconds = 0,
            IsActiveAsync = async (sub, client, ct) =>
            {
                await Task.Delay(5, ct);
                lock (tokens) tokens.Add(ct);
                return !inactive.Contains(sub);
            },
            AcceptConsumedTokenAsync = async (ctx, ct) =>
            {
                await Task.Delay(5, ct);
                Interlocked.Increment(ref acceptAsked);
                return ctx.ClientId == "spa";
            },
        });
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        RefreshResult next = await service.RefreshAsync(spa, handle, cancellationToken: cts.Token);
        Assert.False(next.IsError, next.Reason.ToString());
        Assert.Equal(cts.Token, Assert.Single(tokens));

        // The consumed token: the asynchronous accept-consumed hook is asked, and accepts.
        RefreshResult again = await service.RefreshAsync(spa, handle);
        Assert.Equal(1, acceptAsked);
        Assert.False(again.IsError, again.Reason.ToString());

        inactive.Add("alice");
        RefreshResult refused = await service.RefreshAsync(spa, again.Handle!);
        Assert.True(refused.IsError);
        Assert.Equal("invalid_grant", refused.Error);
    }

    [Fact]
    public void Two_stores_or_two_forms_of_one_hook_are_refused()
    {
        Assert.Throws<ArgumentException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { Store = new DelayedStore(), BlockingStore = new InMemoryGrantStore() }));
        Assert.Throws<ArgumentException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { IsActive = (_, _) => true, IsActiveAsync = (_, _, _) => new(true) }));
        Assert.Throws<ArgumentException>(() => new RefreshTokenService(new RefreshTokenServiceOptions { AcceptConsumedToken = _ => true, AcceptConsumedTokenAsync = (_, _) => new(true) }));
    }
}
