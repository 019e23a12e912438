using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.DependencyInjection;
using DGrant = global::Duende.IdentityServer.Models.PersistedGrant;
using DFilter = global::Duende.IdentityServer.Stores.PersistedGrantFilter;
using IDuendeStore = global::Duende.IdentityServer.Stores.IPersistedGrantStore;

namespace RefreshTokenCore.Duende;

/// <summary>
/// The deployment's own Duende <c>IPersistedGrantStore</c> (any implementation) as the core's
/// store, resolved in a scope of its own per call unless it is a singleton.
///
/// Two things it cannot do, said plainly: Duende's interface has no conditional consume, so a
/// one-time token is consumed with the reference's read-then-write (two parallel refreshes can
/// both win, as under stock Duende; the adapter logs a warning at start-up), and it has no
/// cleanup calls, so expired rows are left to the store's own cleanup (Duende's
/// <c>TokenCleanupService</c> for its EF store). Both are asynchronous: each call is awaited,
/// no thread waits on Duende's store. Duende's interface takes no cancellation token.
/// </summary>
internal sealed class DuendePersistedGrantStore : IGrantStore
{
    private readonly IServiceScopeFactory scopes;
    private readonly IDuendeStore? singleton;

    /// <param name="scopes">Where a scoped or transient store (an EF store's DbContext) is
    /// resolved, in a scope of its own per call.</param>
    /// <param name="singleton">The store, when it is registered as a singleton (Duende's
    /// in-memory store): every scope would resolve this same object, so it is called directly,
    /// without the five scopes a rotation would otherwise create.</param>
    public DuendePersistedGrantStore(IServiceScopeFactory scopes, IDuendeStore? singleton = null)
    {
        this.scopes = scopes;
        this.singleton = singleton;
    }

    private async ValueTask<T> With<T>(Func<IDuendeStore, Task<T>> call)
    {
        if (singleton is not null)
        {
            return await call(singleton).ConfigureAwait(false);
        }
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        return await call(scope.ServiceProvider.GetRequiredService<IDuendeStore>()).ConfigureAwait(false);
    }

    private async ValueTask With(Func<IDuendeStore, Task> call)
    {
        if (singleton is not null)
        {
            await call(singleton).ConfigureAwait(false);
            return;
        }
        await using AsyncServiceScope scope = scopes.CreateAsyncScope();
        await call(scope.ServiceProvider.GetRequiredService<IDuendeStore>()).ConfigureAwait(false);
    }

    private static StoredGrant ToCore(DGrant g) => new()
    {
        Key = g.Key,
        Type = g.Type,
        SubjectId = g.SubjectId,
        SessionId = g.SessionId,
        ClientId = g.ClientId,
        Description = g.Description,
        CreationTime = g.CreationTime,
        Expiration = g.Expiration,
        ConsumedTime = g.ConsumedTime,
        Data = g.Data,
    };

    private static DGrant ToDuende(StoredGrant g) => new()
    {
        Key = g.Key,
        Type = g.Type,
        SubjectId = g.SubjectId!,
        SessionId = g.SessionId,
        ClientId = g.ClientId,
        Description = g.Description,
        CreationTime = g.CreationTime,
        Expiration = g.Expiration,
        ConsumedTime = g.ConsumedTime,
        Data = g.Data,
    };

    private static DFilter ToDuende(StoredGrantFilter f) => new()
    {
        SubjectId = f.SubjectId,
        SessionId = f.SessionId,
        ClientId = f.ClientId,
        ClientIds = f.ClientIds.Count == 0 ? null : f.ClientIds,
        Type = f.Type,
        Types = f.Types.Count == 0 ? null : f.Types,
    };

    public async ValueTask<StoredGrant?> GetAsync(string key, CancellationToken cancellationToken) =>
        await With(s => s.GetAsync(key)).ConfigureAwait(false) is { } g ? ToCore(g) : null;

    public ValueTask StoreAsync(StoredGrant grant, CancellationToken cancellationToken) => With(s => s.StoreAsync(ToDuende(grant)));

    public ValueTask RemoveAsync(string key, CancellationToken cancellationToken) => With(s => s.RemoveAsync(key));

    public async ValueTask<IReadOnlyList<StoredGrant>> GetAllAsync(StoredGrantFilter filter, CancellationToken cancellationToken) =>
        (await With(s => s.GetAllAsync(ToDuende(filter))).ConfigureAwait(false)).Select(ToCore).ToList();

    public async ValueTask<long> RemoveAllAsync(StoredGrantFilter filter, CancellationToken cancellationToken)
    {
        DFilter f = ToDuende(filter);
        // Duende's RemoveAllAsync does not say how many went: count them first.
        long n = (await With(s => s.GetAllAsync(f)).ConfigureAwait(false)).LongCount();
        await With(s => s.RemoveAllAsync(f)).ConfigureAwait(false);
        return n;
    }

    public ValueTask<int> RemoveExpiredAsync(DateTime now, int batchSize, CancellationToken cancellationToken) => new(0);

    public ValueTask<int> RemoveConsumedAsync(DateTime before, int batchSize, CancellationToken cancellationToken) => new(0);
}
