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

    /// <summary>Host code failed, or a value the library sent could not be converted (a date
    /// .NET cannot hold): status -1, the exception kept for the caller. Every bridge does all its
    /// work, conversions included, inside its try, so nothing escapes into native code.</summary>
    private static int Failed(Exception e)
    {
        CallbackErrors.Capture(e);
        return -1;
    }

    private static int Push(nint sink, StoredGrant g) => GrantRows.Push(g, (ulong)sink, &ToSink);

    private static ResultCode ToSink(ulong sink, RtcGrantRow* row) => NativeMethods.rtc_row_sink_push((nint)sink, row);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Get(nint ud, byte* key, nuint keyLen, nint sink)
    {
        try
        {
            return StoreOf(ud).Get(Utf8.Read(key, keyLen)) is { } g ? Push(sink, g) : 0;
        }
        catch (Exception e)
        {
            return Failed(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Store(nint ud, RtcGrantRow* row)
    {
        try
        {
            StoreOf(ud).Store(GrantRows.ToGrant(row));
            return 0;
        }
        catch (Exception e)
        {
            return Failed(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Remove(nint ud, byte* key, nuint keyLen)
    {
        try
        {
            StoreOf(ud).Remove(Utf8.Read(key, keyLen));
            return 0;
        }
        catch (Exception e)
        {
            return Failed(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int GetAll(nint ud, RtcGrantFilter* filter, nint sink)
    {
        try
        {
            foreach (StoredGrant g in StoreOf(ud).GetAll(GrantRows.ToFilter(filter)))
            {
                if (Push(sink, g) != 0) return -2;
            }
            return 0;
        }
        catch (Exception e)
        {
            return Failed(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int RemoveAll(nint ud, RtcGrantFilter* filter, ulong* outRemoved)
    {
        try
        {
            *outRemoved = (ulong)StoreOf(ud).RemoveAll(GrantRows.ToFilter(filter));
            return 0;
        }
        catch (Exception e)
        {
            return Failed(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Consume(nint ud, byte* key, nuint keyLen, RtcGrantRow* replacement)
    {
        try
        {
            StoredGrant? r = replacement == null ? null : GrantRows.ToGrant(replacement);
            return (int)((IBlockingConditionalConsumeStore)StoreOf(ud)).TryConsume(Utf8.Read(key, keyLen), r);
        }
        catch (Exception e)
        {
            return Failed(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Rotate(nint ud, byte* key, nuint keyLen, RtcGrantRow* replacement, RtcGrantRow* successor)
    {
        try
        {
            StoredGrant? r = replacement == null ? null : GrantRows.ToGrant(replacement);
            return (int)((IBlockingRotatingStore)StoreOf(ud)).TryRotate(Utf8.Read(key, keyLen), r, GrantRows.ToGrant(successor));
        }
        catch (Exception e)
        {
            return Failed(e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int RemoveExpired(nint ud, long now, nuint batch, ulong* outRemoved) =>
        RemoveOlder(ud, now, batch, outRemoved, expired: true);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int RemoveConsumed(nint ud, long before, nuint batch, ulong* outRemoved) =>
        RemoveOlder(ud, before, batch, outRemoved, expired: false);

    private static int RemoveOlder(nint ud, long limit, nuint batch, ulong* outRemoved, bool expired)
    {
        try
        {
            int size = (int)Math.Min(batch, (nuint)int.MaxValue);
            DateTime t = RtcTime.To(limit);
            *outRemoved = (ulong)(expired ? StoreOf(ud).RemoveExpired(t, size) : StoreOf(ud).RemoveConsumed(t, size));
            return 0;
        }
        catch (Exception e)
        {
            return Failed(e);
        }
    }
}
