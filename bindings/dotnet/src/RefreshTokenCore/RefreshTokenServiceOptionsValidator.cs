using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.Extensions.Options;

namespace RefreshTokenCore;

/// <summary>
/// Every range a <see cref="RefreshTokenServiceOptions"/> must keep, checked in one place: by
/// the options system when the host starts (<c>ValidateOnStart</c>, all failures named at once)
/// and by <see cref="RefreshTokenService"/>'s constructor (the first failure as an
/// <see cref="ArgumentOutOfRangeException"/>), so that a negative or zero value never reaches
/// the library as an overflow or a native error at first use.
/// </summary>
public sealed class RefreshTokenServiceOptionsValidator : IValidateOptions<RefreshTokenServiceOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RefreshTokenServiceOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Failures(options).Select(f => $"RefreshTokenServiceOptions.{f.Name}: {f.Message}").ToList();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    internal static void ThrowIfInvalid(RefreshTokenServiceOptions options)
    {
        foreach ((string name, string message, object? value) in Failures(options))
        {
            throw new ArgumentOutOfRangeException(name, value, message);
        }
    }

    private static IEnumerable<(string Name, string Message, object? Value)> Failures(RefreshTokenServiceOptions o)
    {
        if (o.MaxRefreshTokenLength <= 0) yield return (nameof(o.MaxRefreshTokenLength), "must be positive", o.MaxRefreshTokenLength);
        if (o.ConsumedTokenCleanupDelay < 0) yield return (nameof(o.ConsumedTokenCleanupDelay), "must not be negative", o.ConsumedTokenCleanupDelay);
        if (o.TokenCleanupBatchSize <= 0) yield return (nameof(o.TokenCleanupBatchSize), "must be positive", o.TokenCleanupBatchSize);
        if (o.GraceSeconds < 0) yield return (nameof(o.GraceSeconds), "must not be negative", o.GraceSeconds);
        if (o.ReuseWindowSeconds < 0) yield return (nameof(o.ReuseWindowSeconds), "must not be negative", o.ReuseWindowSeconds);
        if (!Enum.IsDefined(o.AcceptConsumed)) yield return (nameof(o.AcceptConsumed), "unknown policy", o.AcceptConsumed);
        if (!Enum.IsDefined(o.ReplayScope)) yield return (nameof(o.ReplayScope), "unknown scope", o.ReplayScope);
        if (o.SuccessorSecret is { Length: < 16 }) yield return (nameof(o.SuccessorSecret), "must be at least 16 bytes", null);
        if (o.SqlitePath is not null && o.PostgresUrl is not null) yield return (nameof(o.PostgresUrl), "at most one of SqlitePath and PostgresUrl", null);
        if (o.NativeStore is not { } s)
        {
            yield return (nameof(o.NativeStore), "must not be null", null);
            yield break;
        }
        if (s.PoolSize <= 0) yield return ("NativeStore.PoolSize", "must be positive", s.PoolSize);
        if (s.BusyTimeout < TimeSpan.Zero || s.BusyTimeout.TotalMilliseconds > uint.MaxValue) yield return ("NativeStore.BusyTimeout", "must be between zero and 49 days", s.BusyTimeout);
        if (s.ConnectTimeout < TimeSpan.FromMilliseconds(1) || s.ConnectTimeout.TotalMilliseconds > uint.MaxValue) yield return ("NativeStore.ConnectTimeout", "must be between 1 ms and 49 days", s.ConnectTimeout);
        if (!Enum.IsDefined(s.Durability)) yield return ("NativeStore.Durability", "unknown durability", s.Durability);
        if (s.Table is { } t && !IsIdentifier(t, 35)) yield return ("NativeStore.Table", "a plain identifier (ASCII letters, digits, '_', not starting with a digit) of at most 35 characters", t);
        if (s.Schema is { } sc && !IsIdentifier(sc, 63)) yield return ("NativeStore.Schema", "a plain identifier (ASCII letters, digits, '_', not starting with a digit) of at most 63 characters", sc);
    }

    private static bool IsIdentifier(string name, int max) =>
        name.Length is > 0 && name.Length <= max && !char.IsAsciiDigit(name[0]) && name.All(c => char.IsAsciiLetterOrDigit(c) || c == '_');
}
