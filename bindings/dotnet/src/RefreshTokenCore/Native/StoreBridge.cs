using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace RefreshTokenCore.Native;

/// <summary>
/// The static bridges between the native (synchronous) store callbacks and an <see cref="IBlockingGrantStore"/>.
/// The store is reached through the service's <see cref="HostObjects"/> (the user data); the bridges are
/// static <see cref="UnmanagedCallersOnlyAttribute"/> functions, so no delegate can be collected
/// while native code holds a pointer to it. No exception leaves a bridge.
/// </summary>
internal static unsafe class StoreBridge
{
    internal static RtcStoreCallbacks Callbacks(IBlockingGrantStore store) => new()
    {
        Get = &Get,
        Store = &Store,
        Remove = &Remove,
        GetAll = &GetAll,
        RemoveAll = &RemoveAll,
        Consume = store is IBlockingConditionalConsumeStore ? &Consume : null,
        RemoveExpired = &RemoveExpired,
        RemoveConsumed = &RemoveConsumed,
        Rotate = store is IBlockingRotatingStore ? &Rotate : null,
    };

    private static IBlockingGrantStore StoreOf(nint ud) => HostObjects.Of(ud).BlockingStore!;

    /// <summary>Runs host code; an exception becomes status -1 and is kept for the caller.</summary>
    private static int Guard(Func<int> body)
    {
        try
        {
            return body();
        }
        catch (Exception e)
        {
            CallbackErrors.Capture(e);
            return -1;
        }
    }

    private static int Push(nint sink, StoredGrant g) => GrantRows.Push(g, (ulong)sink, &ToSink);

    private static ResultCode ToSink(ulong sink, RtcGrantRow* row) => NativeMethods.rtc_row_sink_push((nint)sink, row);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Get(nint ud, byte* key, nuint keyLen, nint sink)
    {
        string k = Utf8.Read(key, keyLen);
        return Guard(() => StoreOf(ud).Get(k) is { } g ? Push(sink, g) : 0);
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Store(nint ud, RtcGrantRow* row)
    {
        StoredGrant g = GrantRows.ToGrant(row);
        return Guard(() =>
        {
            StoreOf(ud).Store(g);
            return 0;
        });
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Remove(nint ud, byte* key, nuint keyLen)
    {
        string k = Utf8.Read(key, keyLen);
        return Guard(() =>
        {
            StoreOf(ud).Remove(k);
            return 0;
        });
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int GetAll(nint ud, RtcGrantFilter* filter, nint sink)
    {
        StoredGrantFilter f = GrantRows.ToFilter(filter);
        return Guard(() =>
        {
            foreach (StoredGrant g in StoreOf(ud).GetAll(f))
            {
                if (Push(sink, g) != 0) return -2;
            }
            return 0;
        });
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int RemoveAll(nint ud, RtcGrantFilter* filter, ulong* outRemoved)
    {
        StoredGrantFilter f = GrantRows.ToFilter(filter);
        long n = 0;
        int status = Guard(() =>
        {
            n = StoreOf(ud).RemoveAll(f);
            return 0;
        });
        if (status == 0) *outRemoved = (ulong)n;
        return status;
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Consume(nint ud, byte* key, nuint keyLen, RtcGrantRow* replacement)
    {
        string k = Utf8.Read(key, keyLen);
        StoredGrant? r = replacement == null ? null : GrantRows.ToGrant(replacement);
        return Guard(() => (int)((IBlockingConditionalConsumeStore)StoreOf(ud)).TryConsume(k, r));
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Rotate(nint ud, byte* key, nuint keyLen, RtcGrantRow* replacement, RtcGrantRow* successor)
    {
        string k = Utf8.Read(key, keyLen);
        StoredGrant? r = replacement == null ? null : GrantRows.ToGrant(replacement);
        StoredGrant next = GrantRows.ToGrant(successor);
        return Guard(() => (int)((IBlockingRotatingStore)StoreOf(ud)).TryRotate(k, r, next));
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int RemoveExpired(nint ud, long now, nuint batch, ulong* outRemoved) =>
        RemoveOlder(ud, now, batch, outRemoved, expired: true);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int RemoveConsumed(nint ud, long before, nuint batch, ulong* outRemoved) =>
        RemoveOlder(ud, before, batch, outRemoved, expired: false);

    private static int RemoveOlder(nint ud, long limit, nuint batch, ulong* outRemoved, bool expired)
    {
        int size = (int)Math.Min(batch, (nuint)int.MaxValue);
        DateTime t = RtcTime.To(limit);
        int n = 0;
        int status = Guard(() =>
        {
            n = expired ? StoreOf(ud).RemoveExpired(t, size) : StoreOf(ud).RemoveConsumed(t, size);
            return 0;
        });
        if (status == 0) *outRemoved = (ulong)n;
        return status;
    }
}
