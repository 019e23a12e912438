using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Claims;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;

namespace RefreshTokenCore.Tests;

internal static class TestSupport
{
    internal static ClientSettings Spa(RefreshTokenUsage usage = RefreshTokenUsage.OneTimeOnly) =>
        new() { ClientId = "spa", AllowOfflineAccess = true, RefreshTokenUsage = usage };

    internal static CreateRefreshTokenRequest Request(ClientSettings client, string subject = "alice") => new()
    {
        Client = client,
        Subject = new ClaimsPrincipal(new ClaimsIdentity(new[] { new Claim("sub", subject) }, "Duende.IdentityServer")),
        SessionId = "s1",
        AuthorizedScopes = new[] { "openid", "offline_access" },
    };

    internal static Task<string> CreateAsync(this RefreshTokenService s, ClientSettings c, string subject = "alice") =>
        s.CreateRefreshTokenAsync(Request(c, subject));

    /// <summary>The refresh-token rows (the store also holds the service's successor secret).</summary>
    internal static List<StoredGrant> Tokens(this InMemoryGrantStore s) =>
        s.Snapshot().Where(r => r.Type == "refresh_token").ToList();
}

/// <summary>Keeps what the service logs.</summary>
internal sealed class ListLogger : ILogger
{
    public readonly List<string> Lines = new();
    public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
    public bool IsEnabled(LogLevel logLevel) => true;
    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
    {
        lock (Lines) Lines.Add($"{logLevel} {formatter(state, exception)}");
    }
}

/// <summary>A store that throws on demand, to show what the caller sees.</summary>
internal sealed class FlakyStore : IBlockingGrantStore, IBlockingConditionalConsumeStore
{
    public readonly InMemoryGrantStore Inner = new();
    public Exception? ThrowOnGet;
    public Exception? ThrowOnConsume;
    /// <summary>The next consume applies, then throws: a commit whose answer was lost.</summary>
    public bool LoseConsumeAnswer;
    public Action? OnEveryCall;

    private void Call() => OnEveryCall?.Invoke();

    public StoredGrant? Get(string key)
    {
        Call();
        if (ThrowOnGet is { } e) throw e;
        return Inner.Get(key);
    }

    public void Store(StoredGrant grant)
    {
        Call();
        Inner.Store(grant);
    }

    public void Remove(string key)
    {
        Call();
        Inner.Remove(key);
    }

    public IReadOnlyList<StoredGrant> GetAll(StoredGrantFilter filter)
    {
        Call();
        return Inner.GetAll(filter);
    }

    public long RemoveAll(StoredGrantFilter filter)
    {
        Call();
        return Inner.RemoveAll(filter);
    }

    public int RemoveExpired(DateTime now, int batchSize)
    {
        Call();
        return Inner.RemoveExpired(now, batchSize);
    }

    public int RemoveConsumed(DateTime before, int batchSize)
    {
        Call();
        return Inner.RemoveConsumed(before, batchSize);
    }

    public ConsumeOutcome TryConsume(string key, StoredGrant? replacement)
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

/// <summary>
/// An asynchronous store whose every call first waits <see cref="Delay"/> (a database round trip:
/// reads honour the cancellation token they are given, as a driver does; with
/// <see cref="IgnoreCancellation"/> they do not), then answers from memory. Counts the threads it
/// is answered on, and can run an action when a rotation starts.
/// </summary>
internal sealed class DelayedStore : IGrantStore, IConditionalConsumeGrantStore, IRotatingGrantStore
{
    public readonly InMemoryGrantStore Inner = new();
    public TimeSpan Delay = TimeSpan.FromMilliseconds(50);
    public bool IgnoreCancellation;
    public Exception? ThrowOnGet;
    public Action? OnRotate;
    private int calls, inFlight, mostInFlight;

    public int Calls => Volatile.Read(ref calls);

    /// <summary>The most calls that were waiting at one moment.</summary>
    public int MostInFlight => Volatile.Read(ref mostInFlight);

    private TaskCompletionSource? gate;
    private int gateAt;

    /// <summary>From now on, calls wait (besides their delay) until this many are waiting at once,
    /// or 20 s have passed: whether that many can wait at once no longer depends on how fast a
    /// loaded machine starts them.</summary>
    public void GateAt(int count)
    {
        gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Volatile.Write(ref gateAt, count);
    }

    private async ValueTask Wait(CancellationToken ct)
    {
        Interlocked.Increment(ref calls);
        int now = Interlocked.Increment(ref inFlight);
        for (int seen = Volatile.Read(ref mostInFlight); now > seen; seen = Volatile.Read(ref mostInFlight))
        {
            Interlocked.CompareExchange(ref mostInFlight, now, seen);
        }
        try
        {
            if (gate is { } g)
            {
                if (now >= Volatile.Read(ref gateAt)) g.TrySetResult();
                await Task.WhenAny(g.Task, Task.Delay(TimeSpan.FromSeconds(20))).ConfigureAwait(false);
            }
            await Task.Delay(Delay, IgnoreCancellation ? CancellationToken.None : ct).ConfigureAwait(false);
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
        }
    }

    public async ValueTask<StoredGrant?> GetAsync(string key, CancellationToken ct)
    {
        await Wait(ct);
        if (ThrowOnGet is { } e) throw e;
        return Inner.Get(key);
    }

    public async ValueTask StoreAsync(StoredGrant grant, CancellationToken ct)
    {
        await Wait(ct);
        Inner.Store(grant);
    }

    public async ValueTask RemoveAsync(string key, CancellationToken ct)
    {
        await Wait(ct);
        Inner.Remove(key);
    }

    public async ValueTask<IReadOnlyList<StoredGrant>> GetAllAsync(StoredGrantFilter filter, CancellationToken ct)
    {
        await Wait(ct);
        return Inner.GetAll(filter);
    }

    public async ValueTask<long> RemoveAllAsync(StoredGrantFilter filter, CancellationToken ct)
    {
        await Wait(ct);
        return Inner.RemoveAll(filter);
    }

    public async ValueTask<int> RemoveExpiredAsync(DateTime now, int batchSize, CancellationToken ct)
    {
        await Wait(ct);
        return Inner.RemoveExpired(now, batchSize);
    }

    public async ValueTask<int> RemoveConsumedAsync(DateTime before, int batchSize, CancellationToken ct)
    {
        await Wait(ct);
        return Inner.RemoveConsumed(before, batchSize);
    }

    public async ValueTask<ConsumeOutcome> TryConsumeAsync(string key, StoredGrant? replacement, CancellationToken ct)
    {
        await Wait(ct);
        return Inner.TryConsume(key, replacement);
    }

    public async ValueTask<ConsumeOutcome> TryRotateAsync(string key, StoredGrant? replacement, StoredGrant successor, CancellationToken ct)
    {
        OnRotate?.Invoke();
        await Wait(ct);
        return Inner.TryRotate(key, replacement, successor);
    }
}
