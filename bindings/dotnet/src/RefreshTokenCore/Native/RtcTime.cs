using System;

namespace RefreshTokenCore.Native;

/// <summary>rtc_timestamp: 100 ns ticks since the Unix epoch (UTC); long.MinValue is "no value".</summary>
internal static class RtcTime
{
    internal const long None = long.MinValue;

    internal static long From(DateTime t) => (AsUtc(t) - DateTime.UnixEpoch).Ticks;

    internal static long From(DateTime? t) => t is { } v ? From(v) : None;

    internal static DateTime To(long ticks) => DateTime.UnixEpoch.AddTicks(ticks);

    internal static DateTime? ToNullable(long ticks) => ticks == None ? null : To(ticks);

    /// <summary>Values read from databases often come back as Kind Unspecified: they are UTC.</summary>
    internal static DateTime AsUtc(DateTime t) => t.Kind switch
    {
        DateTimeKind.Utc => t,
        DateTimeKind.Local => t.ToUniversalTime(),
        _ => DateTime.SpecifyKind(t, DateTimeKind.Utc),
    };
}
