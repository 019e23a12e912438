using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>A store without a conditional consume gets the reference's read-then-write, which can
/// fork a chain: building on one needs <see cref="RefreshTokenServiceOptions.AllowNonAtomicConsume"/>
/// and is then logged as a warning (issue 15, item 4).</summary>
public class NonAtomicStoreTests
{
    /// <summary>Only the plain store interfaces over the in-memory store: no TryConsume, no TryRotate.</summary>
    private sealed class PlainStore : IGrantStore, IBlockingGrantStore
    {
        public readonly InMemoryGrantStore Inner = new();
        public ValueTask<StoredGrant?> GetAsync(string key, CancellationToken ct) => ValueTask.FromResult(Inner.Get(key));
        public ValueTask StoreAsync(StoredGrant grant, CancellationToken ct) { Inner.Store(grant); return default; }
        public ValueTask RemoveAsync(string key, CancellationToken ct) { Inner.Remove(key); return default; }
        public ValueTask<IReadOnlyList<StoredGrant>> GetAllAsync(StoredGrantFilter filter, CancellationToken ct) => ValueTask.FromResult(Inner.GetAll(filter));
        public ValueTask<long> RemoveAllAsync(StoredGrantFilter filter, CancellationToken ct) => ValueTask.FromResult(Inner.RemoveAll(filter));
        public ValueTask<int> RemoveExpiredAsync(DateTime now, int batchSize, CancellationToken ct) => ValueTask.FromResult(Inner.RemoveExpired(now, batchSize));
        public ValueTask<int> RemoveConsumedAsync(DateTime before, int batchSize, CancellationToken ct) => ValueTask.FromResult(Inner.RemoveConsumed(before, batchSize));
        public StoredGrant? Get(string key) => Inner.Get(key);
        public void Store(StoredGrant grant) => Inner.Store(grant);
        public void Remove(string key) => Inner.Remove(key);
        public IReadOnlyList<StoredGrant> GetAll(StoredGrantFilter filter) => Inner.GetAll(filter);
        public long RemoveAll(StoredGrantFilter filter) => Inner.RemoveAll(filter);
        public int RemoveExpired(DateTime now, int batchSize) => Inner.RemoveExpired(now, batchSize);
        public int RemoveConsumed(DateTime before, int batchSize) => Inner.RemoveConsumed(before, batchSize);
    }

    public static TheoryData<bool> Bridges => new() { true, false };

    private static RefreshTokenServiceOptions On(PlainStore store, bool blocking) =>
        blocking ? new RefreshTokenServiceOptions { BlockingStore = store } : new RefreshTokenServiceOptions { Store = store };

    [Theory]
    [MemberData(nameof(Bridges))]
    public void Building_on_a_store_without_a_conditional_consume_is_refused_and_touches_nothing(bool blocking)
    {
        var store = new PlainStore();
        var e = Assert.Throws<InvalidOperationException>(() => new RefreshTokenService(On(store, blocking)));
        Assert.Contains("AllowNonAtomicConsume = true", e.Message);
        Assert.Contains(nameof(PlainStore), e.Message);
        Assert.Empty(store.Inner.Snapshot());
    }

    [Theory]
    [MemberData(nameof(Bridges))]
    public async Task Accepted_it_works_with_the_references_consume_and_warns_once_at_build(bool blocking)
    {
        var store = new PlainStore();
        var log = new ListLogger();
        RefreshTokenServiceOptions options = On(store, blocking);
        options.AllowNonAtomicConsume = true;
        options.Logger = log;
        using var service = new RefreshTokenService(options);
        Assert.Single(log.Lines, l => l.StartsWith("Warning") && l.Contains("no atomic conditional consume"));
        ClientSettings spa = TestSupport.Spa();
        string handle = await service.CreateAsync(spa);
        RefreshResult r = await service.RefreshAsync(spa, handle);
        Assert.False(r.IsError);
        Assert.True(r.Rotated);
        // A retry inside the reuse window gets the same successor, also on this store.
        Assert.Equal(r.Handle, (await service.RefreshAsync(spa, handle)).Handle);
        Assert.False((await service.RefreshAsync(spa, r.Handle!)).IsError);
        Assert.Single(store.Inner.Tokens(), t => t.ConsumedTime is null);
        Assert.Single(log.Lines, l => l.Contains("no atomic conditional consume"));
    }
}
