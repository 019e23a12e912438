using System;
using System.Collections.Generic;
using System.Linq;
using System.Security.Cryptography;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Xunit;
using Xunit.Abstractions;

namespace RefreshTokenCore.Tests;

/// <summary>
/// Hostile answers from every host callback through the .NET bindings (issue 15): the store on
/// the blocking and on the asynchronous bridge, the clock, the is-active check, the
/// accept-consumed decision, the payload protector and the logger. Each round picks one callback
/// and one lie for its next call: an exception (before or after applying a write), a canceled
/// task, rows with null required fields, garbage or 2 MB Data, another key, extreme or local
/// dates, unknown consume outcomes, wrong counts, a clock that throws or reads year 9999, a
/// protector that throws or returns null or garbage. Whatever the lie: no exception leaves a
/// bridge (the process would abort), every call completes, a token the reference refuses is
/// never accepted, and once the host is honest again the chain refreshes with one live token.
/// </summary>
public class HostileCallbackTests
{
    private readonly ITestOutputHelper output;

    public HostileCallbackTests(ITestOutputHelper output) => this.output = output;

    private enum Target { Get, Store, Remove, GetAll, RemoveAll, Consume, Rotate, RemoveExpired, RemoveConsumed, Clock, IsActive, AcceptConsumed, Protect, Unprotect, Log }

    private enum Kind
    {
        Throw, ThrowAfterApplying, Canceled, NullKey, NullClient, NullData, GarbageData, HugeData, OtherKey, MaxCreation, MinCreation,
        LocalDates, NullList, Outcome, CountAfterApplying, ClockMax, ClockMin, Null, Garbage,
    }

    private sealed record Lie(Target Target, Kind Kind, long Value = 0);

    private sealed class LieException : Exception
    {
        public LieException() : base("a hostile host callback") { }
    }

    /// <summary>The host: an honest in-memory store, clock, hooks and protector, and the round's
    /// one lie, told by the first call of its target.</summary>
    private sealed class Host : IBlockingGrantStore, IBlockingConditionalConsumeStore, IBlockingRotatingStore,
        IGrantStore, IConditionalConsumeGrantStore, IRotatingGrantStore, IPayloadProtector, ILogger
    {
        public readonly InMemoryGrantStore Rows = new();
        private Lie? lie;
        public int Told;
        public TimeSpan Offset;
        public readonly Clock Time;

        public Host() => Time = new Clock(this);

        public void Plan(Lie? next) { lock (Rows) lie = next; }

        private Lie? Take(Target t)
        {
            lock (Rows)
            {
                if (lie is null || lie.Target != t) return null;
                Lie l = lie;
                lie = null;
                Told++;
                return l;
            }
        }

        public bool Pending { get { lock (Rows) return lie is not null; } }

        private static StoredGrant Bad(StoredGrant? honest, Lie l)
        {
            StoredGrant row = honest ?? new StoredGrant { Key = "K", Type = "refresh_token", ClientId = "app", SubjectId = "alice", CreationTime = DateTime.UtcNow, Data = "{}" };
            return l.Kind switch
            {
                Kind.NullKey => row with { Key = null! },
                Kind.NullClient => row with { ClientId = null! },
                Kind.NullData => row with { Data = null! },
                Kind.GarbageData => row with { Data = "{\"Version\":5,\"Payload\":\"not a token\"" },
                Kind.HugeData => row with { Data = "{\"x\":\"" + new string('A', 2 * 1024 * 1024) + "\"}" },
                Kind.OtherKey => row with { Key = row.Key + "X" },
                Kind.MaxCreation => row with { CreationTime = DateTime.MaxValue },
                Kind.MinCreation => row with { CreationTime = DateTime.MinValue, Expiration = DateTime.MinValue },
                Kind.LocalDates => row with { CreationTime = DateTime.SpecifyKind(row.CreationTime, DateTimeKind.Local), ConsumedTime = DateTime.Now },
                _ => row,
            };
        }

        private T Write<T>(Target t, Func<T> honest, Func<T, Lie, T>? answer = null)
        {
            Lie? l = Take(t);
            if (l is null) return honest();
            switch (l.Kind)
            {
                case Kind.Throw: throw new LieException();
                case Kind.Canceled: throw new OperationCanceledException();
                case Kind.ThrowAfterApplying: honest(); throw new LieException();
                case Kind.Outcome: return answer is null ? honest() : answer(default!, l);
                case Kind.CountAfterApplying: return answer is null ? honest() : answer(honest(), l);
                default: return honest();
            }
        }

        // The blocking store.
        public StoredGrant? Get(string key)
        {
            StoredGrant? honest = Rows.Get(key);
            Lie? l = Take(Target.Get);
            return l?.Kind switch
            {
                null => honest,
                Kind.Throw => throw new LieException(),
                Kind.Canceled => throw new OperationCanceledException(),
                _ => Bad(honest, l),
            };
        }

        public void Store(StoredGrant grant) => Write(Target.Store, () => { Rows.Store(grant); return 0; });
        public void Remove(string key) => Write(Target.Remove, () => { Rows.Remove(key); return 0; });

        public IReadOnlyList<StoredGrant> GetAll(StoredGrantFilter filter)
        {
            IReadOnlyList<StoredGrant> honest = Rows.GetAll(filter);
            Lie? l = Take(Target.GetAll);
            return l?.Kind switch
            {
                null => honest,
                Kind.Throw => throw new LieException(),
                Kind.Canceled => throw new OperationCanceledException(),
                Kind.NullList => null!,
                _ => new[] { Bad(honest.FirstOrDefault(), l) }.Concat(honest).ToList(),
            };
        }

        public long RemoveAll(StoredGrantFilter filter) => Write(Target.RemoveAll, () => Rows.RemoveAll(filter), (_, l) => l.Value);
        public int RemoveExpired(DateTime now, int batchSize) => Write(Target.RemoveExpired, () => Rows.RemoveExpired(now, batchSize), (_, l) => (int)l.Value);
        public int RemoveConsumed(DateTime before, int batchSize) => Write(Target.RemoveConsumed, () => Rows.RemoveConsumed(before, batchSize), (_, l) => (int)l.Value);
        public ConsumeOutcome TryConsume(string key, StoredGrant? replacement) =>
            Write(Target.Consume, () => Rows.TryConsume(key, replacement), (_, l) => (ConsumeOutcome)l.Value);
        public ConsumeOutcome TryRotate(string key, StoredGrant? replacement, StoredGrant successor) =>
            Write(Target.Rotate, () => Rows.TryRotate(key, replacement, successor), (_, l) => (ConsumeOutcome)l.Value);

        // The asynchronous store: the same answers, after a yield (so on another thread), and a
        // lie of an exception as a faulted task.
        private static async ValueTask<T> Later<T>(Func<T> f)
        {
            await Task.Yield();
            return f();
        }

        public ValueTask<StoredGrant?> GetAsync(string key, CancellationToken ct) => Later(() => Get(key));
        public ValueTask StoreAsync(StoredGrant grant, CancellationToken ct) => new(Later(() => { Store(grant); return 0; }).AsTask());
        public ValueTask RemoveAsync(string key, CancellationToken ct) => new(Later(() => { Remove(key); return 0; }).AsTask());
        public ValueTask<IReadOnlyList<StoredGrant>> GetAllAsync(StoredGrantFilter filter, CancellationToken ct) => Later(() => GetAll(filter));
        public ValueTask<long> RemoveAllAsync(StoredGrantFilter filter, CancellationToken ct) => Later(() => RemoveAll(filter));
        public ValueTask<int> RemoveExpiredAsync(DateTime now, int batchSize, CancellationToken ct) => Later(() => RemoveExpired(now, batchSize));
        public ValueTask<int> RemoveConsumedAsync(DateTime before, int batchSize, CancellationToken ct) => Later(() => RemoveConsumed(before, batchSize));
        public ValueTask<ConsumeOutcome> TryConsumeAsync(string key, StoredGrant? replacement, CancellationToken ct) => Later(() => TryConsume(key, replacement));
        public ValueTask<ConsumeOutcome> TryRotateAsync(string key, StoredGrant? replacement, StoredGrant successor, CancellationToken ct) =>
            Later(() => TryRotate(key, replacement, successor));

        // The protector: "sealed:" + the text.
        private const string Seal = "sealed:";

        private string Protector(Target t, Func<string> honest) => Take(t)?.Kind switch
        {
            null => honest(),
            Kind.Throw => throw new CryptographicException("hostile"),
            Kind.Null => null!,
            Kind.Garbage => t == Target.Unprotect ? "{\"not\":\"a token\"" : honest(),
            _ => honest(),
        };

        public string Protect(string plaintext) => Protector(Target.Protect, () => Seal + plaintext);
        public string Unprotect(string protectedText) => Protector(Target.Unprotect,
            () => protectedText.StartsWith(Seal, StringComparison.Ordinal) ? protectedText[Seal.Length..] : throw new CryptographicException("not ours"));

        // The hooks.
        public bool IsActive(string subject, string client) => Take(Target.IsActive) is not null ? throw new LieException() : subject != "mallory";

        public ValueTask<bool> IsActiveAsync(string subject, string client, CancellationToken ct) => Later(() => IsActive(subject, client));

        public bool AcceptConsumed(ConsumedTokenContext context) => Take(Target.AcceptConsumed) is not null ? throw new LieException() : false;

        // The logger throws when it is its turn.
        public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;
        public bool IsEnabled(LogLevel logLevel) => true;
        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (Take(Target.Log) is not null) throw new LieException();
        }

        public sealed class Clock : TimeProvider
        {
            private readonly Host host;
            public Clock(Host host) => this.host = host;
            public override DateTimeOffset GetUtcNow() => host.Take(Target.Clock)?.Kind switch
            {
                null => DateTimeOffset.UtcNow + host.Offset,
                Kind.ClockMax => DateTimeOffset.MaxValue,
                Kind.ClockMin => DateTimeOffset.MinValue,
                _ => throw new LieException(),
            };
        }
    }

    private static readonly Target[] StoreTargets = { Target.Get, Target.Store, Target.Remove, Target.GetAll, Target.RemoveAll, Target.Consume, Target.Rotate, Target.RemoveExpired, Target.RemoveConsumed };

    /// <summary>The callbacks an operation calls, so that most lies are told; now and then any
    /// callback.</summary>
    private static Target[] TargetsFor(Op op) => op switch
    {
        Op.RefreshLive => new[] { Target.Get, Target.Rotate, Target.Clock, Target.IsActive, Target.Protect, Target.Unprotect, Target.Log },
        Op.RefreshExpired or Op.RefreshInactive or Op.ValidateLive => new[] { Target.Get, Target.Clock, Target.IsActive, Target.Unprotect, Target.Log },
        Op.RefreshReplayed => new[] { Target.Get, Target.GetAll, Target.Clock, Target.AcceptConsumed, Target.Unprotect, Target.Log },
        Op.Cleanup => new[] { Target.RemoveExpired, Target.RemoveConsumed, Target.Clock, Target.Log },
        Op.Create => new[] { Target.Store, Target.Clock, Target.Protect, Target.Log },
        _ => new[] { Target.Get, Target.Remove, Target.RemoveAll, Target.GetAll, Target.Unprotect, Target.Log },
    };

    private static Lie RandomLie(Random rng, Op op)
    {
        Target[] targets = rng.Next(8) == 0 ? Enum.GetValues<Target>() : TargetsFor(op);
        Target t = targets[rng.Next(targets.Length)];
        Kind[] kinds = t switch
        {
            Target.Get => new[] { Kind.Throw, Kind.Canceled, Kind.NullKey, Kind.NullClient, Kind.NullData, Kind.GarbageData, Kind.HugeData, Kind.OtherKey, Kind.MaxCreation, Kind.MinCreation, Kind.LocalDates },
            Target.GetAll => new[] { Kind.Throw, Kind.Canceled, Kind.NullList, Kind.NullKey, Kind.NullData, Kind.GarbageData, Kind.MaxCreation },
            Target.Store or Target.Remove => new[] { Kind.Throw, Kind.Canceled, Kind.ThrowAfterApplying },
            Target.Consume or Target.Rotate => new[] { Kind.Throw, Kind.Canceled, Kind.ThrowAfterApplying, Kind.Outcome },
            Target.RemoveAll or Target.RemoveExpired or Target.RemoveConsumed => new[] { Kind.Throw, Kind.ThrowAfterApplying, Kind.CountAfterApplying },
            Target.Clock => new[] { Kind.Throw, Kind.ClockMax, Kind.ClockMin },
            Target.Protect => new[] { Kind.Throw, Kind.Null },
            Target.Unprotect => new[] { Kind.Throw, Kind.Null, Kind.Garbage },
            _ => new[] { Kind.Throw },
        };
        Kind k = kinds[rng.Next(kinds.Length)];
        long value = k switch
        {
            // Unknown outcomes, and "someone else won" without having done anything.
            Kind.Outcome => new long[] { 1, 2, 3, 42, -1, int.MaxValue, int.MinValue }[rng.Next(7)],
            Kind.CountAfterApplying => new long[] { -1, -5, 101, int.MaxValue, long.MaxValue, int.MinValue }[rng.Next(6)],
            _ => 0,
        };
        return new Lie(t, k, value);
    }

    private enum Op { RefreshLive, RefreshExpired, RefreshInactive, RefreshReplayed, ValidateLive, Cleanup, Create, Revoke }

    private static readonly ClientSettings App = new() { ClientId = "app", AllowOfflineAccess = true, RefreshTokenUsage = RefreshTokenUsage.OneTimeOnly };
    private static readonly ClientSettings Short = new() { ClientId = "short", AllowOfflineAccess = true, RefreshTokenUsage = RefreshTokenUsage.OneTimeOnly, AbsoluteRefreshTokenLifetime = 3600 };

    /// <summary>Runs a call to its end: a result, or an exception that reached the caller
    /// (the host's own, or the library's). Never a hang.</summary>
    private static async Task<(T? Value, Exception? Error)> Complete<T>(Func<Task<T>> call)
    {
        try
        {
            return (await call().WaitAsync(TimeSpan.FromSeconds(30)), null);
        }
        catch (TimeoutException)
        {
            throw;
        }
        catch (Exception e)
        {
            return (default, e);
        }
    }

    private static int Live(Host host, string subject) => host.Rows.Snapshot().Count(r =>
        r.Type == "refresh_token" && r.SubjectId == subject && r.ConsumedTime is null && (r.Expiration is null || r.Expiration > DateTime.UtcNow));

    [Theory]
    [InlineData(true, 20261202)]
    [InlineData(false, 20261203)]
    public async Task No_hostile_answer_of_any_callback_escapes_accepts_a_refused_token_or_loses_a_chain(bool blocking, int seed)
    {
        var rng = new Random(seed);
        var host = new Host();
        var options = new RefreshTokenServiceOptions
        {
            DeleteOneTimeOnlyRefreshTokensOnUse = false,
            RemoveConsumedTokens = true,
            ConsumedTokenCleanupDelay = 3600,
            TimeProvider = host.Time,
            Protector = host,
            Logger = host,
            SuccessorSecret = Enumerable.Repeat((byte)7, 32).ToArray(),
            AcceptConsumedToken = host.AcceptConsumed,
        };
        if (blocking)
        {
            options.BlockingStore = host;
            options.IsActive = host.IsActive;
        }
        else
        {
            options.Store = host;
            options.IsActiveAsync = host.IsActiveAsync;
        }
        options.Clients.Add(App);
        options.Clients.Add(Short);
        using var service = new RefreshTokenService(options);

        // The refusals: expired an hour ago, consumed two hours ago, an inactive subject.
        host.Offset = TimeSpan.FromHours(-2);
        string expired = await service.CreateAsync(Short, "eve");
        string replayed = await service.CreateAsync(App, "trent");
        Assert.False((await service.RefreshAsync(App, replayed)).IsError);
        host.Offset = TimeSpan.Zero;
        string inactive = await service.CreateAsync(App, "mallory");
        string current = await service.CreateAsync(App, "alice");

        const int rounds = 1000;
        int told = 0, answered = 0, thrown = 0;
        var byTarget = new Dictionary<Target, int>();
        for (int i = 0; i < rounds; i++)
        {
            var op = (Op)rng.Next(Enum.GetValues<Op>().Length);
            Lie lie = RandomLie(rng, op);
            string? bob = op == Op.Revoke ? await service.CreateAsync(App, "bob") : null;
            host.Plan(lie);
            (object? value, Exception? error) = op switch
            {
                Op.RefreshLive => await Complete<object>(async () => await service.RefreshAsync(App, current)),
                Op.RefreshExpired => await Complete<object>(async () => await service.RefreshAsync(Short, expired)),
                Op.RefreshInactive => await Complete<object>(async () => await service.RefreshAsync(App, inactive)),
                Op.RefreshReplayed => await Complete<object>(async () => await service.RefreshAsync(App, replayed)),
                Op.ValidateLive => await Complete<object>(async () => await service.ValidateRefreshTokenAsync(current, App)),
                Op.Cleanup => await Complete<object>(async () => await service.CleanupAsync()),
                Op.Create => await Complete<object>(async () => await service.CreateAsync(App, "bob")),
                _ => await Complete<object>(async () => await service.RevokeRefreshTokenAsync(bob!, App)),
            };
            if (!host.Pending)
            {
                told++;
                byTarget[lie.Target] = byTarget.GetValueOrDefault(lie.Target) + 1;
            }
            host.Plan(null);
            if (error is null) answered++; else thrown++;
            string what = $"round {i}: {op} with {lie}";
            // Only the library's exception or the host's own reach the caller, never one of the bridge's.
            if (error is not null)
            {
                Assert.True(error is RefreshTokenCoreException or LieException or CryptographicException or OperationCanceledException, $"{what}: {error}");
            }
            if (op is Op.RefreshExpired or Op.RefreshInactive or Op.RefreshReplayed && value is RefreshResult r)
            {
                Assert.True(r.IsError, $"{what}: a token the reference refuses was accepted");
            }
            if (op == Op.RefreshLive && value is RefreshResult { IsError: false, Handle: { } next })
            {
                current = next;
            }
            if (op == Op.Cleanup && value is CleanupResult c)
            {
                Assert.True(c.ExpiredRemoved is >= 0 and < 1000 && c.ConsumedRemoved is >= 0 and < 1000, $"{what}: {c.ExpiredRemoved} {c.ConsumedRemoved}");
            }
            // Honest again: the holder refreshes, one live token.
            RefreshResult honest = await service.RefreshAsync(App, current);
            Assert.False(honest.IsError, $"{what}: the chain was lost ({honest.Error} {honest.Reason})");
            current = honest.Handle!;
            int live = Live(host, "alice");
            Assert.True(live == 1, $"{what}: {live} live tokens ({error?.GetType().Name} {error?.Message} / {(value as RefreshResult)?.Error})");
        }
        Assert.True((await service.RefreshAsync(Short, expired)).IsError);
        Assert.True((await service.RefreshAsync(App, inactive)).IsError);
        Assert.True((await service.RefreshAsync(App, replayed)).IsError);
        Assert.True(told > rounds / 2, $"only {told} lies were told");
        output.WriteLine($"{(blocking ? "blocking" : "asynchronous")} store: {rounds} rounds, {told} lies told ({string.Join(", ", byTarget.OrderBy(p => p.Key).Select(p => $"{p.Key} {p.Value}"))}); {answered} answered, {thrown} threw to the caller");
    }
}
