using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Claims;
using System.Threading.Tasks;

namespace RefreshTokenCore.Tests;

internal static class TestSupport
{
    internal static Client Spa(TokenUsage usage = TokenUsage.OneTimeOnly) =>
        new() { ClientId = "spa", AllowOfflineAccess = true, RefreshTokenUsage = usage };

    internal static RefreshTokenCreationRequest Request(Client client, string subject = "alice") => new()
    {
        Client = client,
        Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", subject) }, "Duende.IdentityServer")),
        SessionId = "s1",
        AuthorizedScopes = new[] { "openid", "offline_access" },
    };

    internal static Task<string> CreateAsync(this RefreshTokenService s, Client c, string subject = "alice") =>
        s.CreateRefreshTokenAsync(Request(c, subject));

    /// <summary>The refresh-token rows (the store also holds the service's successor secret).</summary>
    internal static List<PersistedGrant> Tokens(this InMemoryPersistedGrantStore s) =>
        s.Snapshot().Where(r => r.Type == "refresh_token").ToList();
}

/// <summary>A store that throws on demand, to show what the caller sees.</summary>
internal sealed class FlakyStore : IPersistedGrantStore, IConditionalConsumeStore
{
    public readonly InMemoryPersistedGrantStore Inner = new();
    public Exception? ThrowOnGet;
    public Exception? ThrowOnConsume;
    /// <summary>The next consume applies, then throws: a commit whose answer was lost.</summary>
    public bool LoseConsumeAnswer;
    public Action? OnEveryCall;

    private void Call() => OnEveryCall?.Invoke();

    public PersistedGrant? Get(string key)
    {
        Call();
        if (ThrowOnGet is { } e) throw e;
        return Inner.Get(key);
    }

    public void Store(PersistedGrant grant)
    {
        Call();
        Inner.Store(grant);
    }

    public void Remove(string key)
    {
        Call();
        Inner.Remove(key);
    }

    public IReadOnlyList<PersistedGrant> GetAll(PersistedGrantFilter filter)
    {
        Call();
        return Inner.GetAll(filter);
    }

    public long RemoveAll(PersistedGrantFilter filter)
    {
        Call();
        return Inner.RemoveAll(filter);
    }

    public int RemoveExpired(DateTime now, int batchSize) => Inner.RemoveExpired(now, batchSize);

    public int RemoveConsumed(DateTime before, int batchSize) => Inner.RemoveConsumed(before, batchSize);

    public ConsumeOutcome TryConsume(string key, PersistedGrant? replacement)
    {
        Call();
        if (ThrowOnConsume is { } e) throw e;
        ConsumeOutcome outcome = Inner.TryConsume(key, replacement);
        if (LoseConsumeAnswer)
        {
            LoseConsumeAnswer = false;
            throw new TimeoutException("the commit was sent; its answer never came");
        }
        return outcome;
    }
}
