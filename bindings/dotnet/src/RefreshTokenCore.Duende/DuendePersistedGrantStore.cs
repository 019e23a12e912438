using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.DependencyInjection;
using DGrant = global::Duende.IdentityServer.Models.PersistedGrant;
using DFilter = global::Duende.IdentityServer.Stores.PersistedGrantFilter;
using IDuendeStore = global::Duende.IdentityServer.Stores.IPersistedGrantStore;

namespace RefreshTokenCore.Duende;

/// <summary>
/// The deployment's own Duende <c>IPersistedGrantStore</c> (any implementation) as the core's
/// store, resolved in a scope of its own per call.
///
/// Two things it cannot do, said plainly: Duende's interface has no conditional consume, so a
/// one-time token is consumed with the reference's read-then-write (two parallel refreshes can
/// both win, as under stock Duende; the adapter logs a warning at start-up), and it has no
/// cleanup calls, so expired rows are left to the store's own cleanup (Duende's
/// <c>TokenCleanupService</c> for its EF store). Duende's store is asynchronous and the core's
/// callbacks are not yet: each call waits for the task on the calling thread.
/// </summary>
internal sealed class DuendePersistedGrantStore : IPersistedGrantStore
{
    private readonly IServiceScopeFactory scopes;

    public DuendePersistedGrantStore(IServiceScopeFactory scopes) => this.scopes = scopes;

    private T With<T>(Func<IDuendeStore, System.Threading.Tasks.Task<T>> call)
    {
        using IServiceScope scope = scopes.CreateScope();
        return call(scope.ServiceProvider.GetRequiredService<IDuendeStore>()).GetAwaiter().GetResult();
    }

    private void With(Func<IDuendeStore, System.Threading.Tasks.Task> call)
    {
        using IServiceScope scope = scopes.CreateScope();
        call(scope.ServiceProvider.GetRequiredService<IDuendeStore>()).GetAwaiter().GetResult();
    }

    private static PersistedGrant ToCore(DGrant g) => new()
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

    private static DGrant ToDuende(PersistedGrant g) => new()
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

    private static DFilter ToDuende(PersistedGrantFilter f) => new()
    {
        SubjectId = f.SubjectId,
        SessionId = f.SessionId,
        ClientId = f.ClientId,
        ClientIds = f.ClientIds.Count == 0 ? null : f.ClientIds,
        Type = f.Type,
        Types = f.Types.Count == 0 ? null : f.Types,
    };

    public PersistedGrant? Get(string key) => With(s => s.GetAsync(key)) is { } g ? ToCore(g) : null;

    public void Store(PersistedGrant grant) => With(s => s.StoreAsync(ToDuende(grant)));

    public void Remove(string key) => With(s => s.RemoveAsync(key));

    public IReadOnlyList<PersistedGrant> GetAll(PersistedGrantFilter filter) =>
        With(s => s.GetAllAsync(ToDuende(filter))).Select(ToCore).ToList();

    public long RemoveAll(PersistedGrantFilter filter)
    {
        DFilter f = ToDuende(filter);
        // Duende's RemoveAllAsync does not say how many went: count them first.
        long n = With(s => s.GetAllAsync(f)).LongCount();
        With(s => s.RemoveAllAsync(f));
        return n;
    }

    public int RemoveExpired(DateTime now, int batchSize) => 0;

    public int RemoveConsumed(DateTime before, int batchSize) => 0;
}
