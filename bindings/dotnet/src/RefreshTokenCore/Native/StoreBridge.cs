using System;
using System.Collections.Generic;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Text;

namespace RefreshTokenCore.Native;

/// <summary>
/// The static bridges between the native store callbacks and an <see cref="IPersistedGrantStore"/>.
/// The store is reached through the service's <see cref="HostObjects"/> (the user data); the bridges are
/// static <see cref="UnmanagedCallersOnlyAttribute"/> functions, so no delegate can be collected
/// while native code holds a pointer to it. No exception leaves a bridge.
/// </summary>
internal static unsafe class StoreBridge
{
    internal static RtcStoreCallbacks Callbacks(IPersistedGrantStore store) => new()
    {
        Get = &Get,
        Store = &Store,
        Remove = &Remove,
        GetAll = &GetAll,
        RemoveAll = &RemoveAll,
        Consume = store is IConditionalConsumeStore ? &Consume : null,
        RemoveExpired = &RemoveExpired,
        RemoveConsumed = &RemoveConsumed,
        Rotate = store is IRotatingStore ? &Rotate : null,
    };

    private static IPersistedGrantStore StoreOf(nint ud) => HostObjects.Of(ud).Store!;

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

    /// <summary>A row as views into pinned UTF-8 buffers, valid while the pins last.</summary>
    private ref struct RowView
    {
        private GCHandle[] pins;
        public RtcGrantRow Row;

        public RowView(PersistedGrant g)
        {
            pins = new GCHandle[7];
            Row = new RtcGrantRow
            {
                Key = Pin(0, g.Key),
                GrantType = Pin(1, g.Type),
                SubjectId = Pin(2, g.SubjectId),
                SessionId = Pin(3, g.SessionId),
                ClientId = Pin(4, g.ClientId),
                Description = Pin(5, g.Description),
                CreationTime = RtcTime.From(g.CreationTime),
                Expiration = RtcTime.From(g.Expiration),
                ConsumedTime = RtcTime.From(g.ConsumedTime),
                Data = Pin(6, g.Data),
            };
        }

        private RtcStr Pin(int i, string? s)
        {
            if (s is null) return default;
            // One extra byte so that an empty string still has a non-null pointer ("" is not null).
            byte[] bytes = new byte[Encoding.UTF8.GetByteCount(s) + 1];
            int n = Encoding.UTF8.GetBytes(s, bytes);
            pins[i] = GCHandle.Alloc(bytes, GCHandleType.Pinned);
            return new RtcStr { Ptr = (byte*)pins[i].AddrOfPinnedObject(), Len = (nuint)n };
        }

        public void Dispose()
        {
            foreach (GCHandle p in pins)
            {
                if (p.IsAllocated) p.Free();
            }
        }
    }

    internal static PersistedGrant ToGrant(RtcGrantRow* r) => new()
    {
        Key = Utf8.Read(r->Key) ?? string.Empty,
        Type = Utf8.Read(r->GrantType) ?? string.Empty,
        SubjectId = Utf8.Read(r->SubjectId),
        SessionId = Utf8.Read(r->SessionId),
        ClientId = Utf8.Read(r->ClientId) ?? string.Empty,
        Description = Utf8.Read(r->Description),
        CreationTime = RtcTime.To(r->CreationTime),
        Expiration = RtcTime.ToNullable(r->Expiration),
        ConsumedTime = RtcTime.ToNullable(r->ConsumedTime),
        Data = Utf8.Read(r->Data) ?? string.Empty,
    };

    private static PersistedGrantFilter ToFilter(RtcGrantFilter* f)
    {
        static List<string> List(RtcStr* items, nuint n)
        {
            var list = new List<string>();
            for (nuint i = 0; i < n; i++) list.Add(Utf8.Read(items[i]) ?? string.Empty);
            return list;
        }
        return new PersistedGrantFilter
        {
            SubjectId = Utf8.Read(f->SubjectId),
            SessionId = Utf8.Read(f->SessionId),
            ClientId = Utf8.Read(f->ClientId),
            ClientIds = List(f->ClientIds, f->ClientIdsLen),
            Type = Utf8.Read(f->GrantType),
            Types = List(f->GrantTypes, f->GrantTypesLen),
        };
    }

    private static int Push(nint sink, PersistedGrant g)
    {
        var view = new RowView(g);
        try
        {
            RtcGrantRow row = view.Row;
            return NativeMethods.rtc_row_sink_push(sink, &row) == ResultCode.Ok ? 0 : -2;
        }
        finally
        {
            view.Dispose();
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Get(nint ud, byte* key, nuint keyLen, nint sink)
    {
        string k = Utf8.Read(key, keyLen);
        return Guard(() => StoreOf(ud).Get(k) is { } g ? Push(sink, g) : 0);
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Store(nint ud, RtcGrantRow* row)
    {
        PersistedGrant g = ToGrant(row);
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
        PersistedGrantFilter f = ToFilter(filter);
        return Guard(() =>
        {
            foreach (PersistedGrant g in StoreOf(ud).GetAll(f))
            {
                if (Push(sink, g) != 0) return -2;
            }
            return 0;
        });
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int RemoveAll(nint ud, RtcGrantFilter* filter, ulong* outRemoved)
    {
        PersistedGrantFilter f = ToFilter(filter);
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
        PersistedGrant? r = replacement == null ? null : ToGrant(replacement);
        return Guard(() => (int)((IConditionalConsumeStore)StoreOf(ud)).TryConsume(k, r));
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static int Rotate(nint ud, byte* key, nuint keyLen, RtcGrantRow* replacement, RtcGrantRow* successor)
    {
        string k = Utf8.Read(key, keyLen);
        PersistedGrant? r = replacement == null ? null : ToGrant(replacement);
        PersistedGrant next = ToGrant(successor);
        return Guard(() => (int)((IRotatingStore)StoreOf(ud)).TryRotate(k, r, next));
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
