using System.Collections.Generic;
using System.Runtime.InteropServices;
using System.Text;

namespace RefreshTokenCore.Native;

/// <summary>Rows and filters between the native structs and .NET, for both store bridges.</summary>
internal static unsafe class GrantRows
{
    /// <summary>A row as views into pinned UTF-8 buffers, valid while the pins last.</summary>
    internal ref struct RowView
    {
        private GCHandle[] pins;
        public RtcGrantRow Row;

        public RowView(StoredGrant g)
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

    internal static StoredGrant ToGrant(RtcGrantRow* r) => new()
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

    internal static StoredGrantFilter ToFilter(RtcGrantFilter* f)
    {
        static List<string> List(RtcStr* items, nuint n)
        {
            var list = new List<string>();
            for (nuint i = 0; i < n; i++) list.Add(Utf8.Read(items[i]) ?? string.Empty);
            return list;
        }
        return new StoredGrantFilter
        {
            SubjectId = Utf8.Read(f->SubjectId),
            SessionId = Utf8.Read(f->SessionId),
            ClientId = Utf8.Read(f->ClientId),
            ClientIds = List(f->ClientIds, f->ClientIdsLen),
            Type = Utf8.Read(f->GrantType),
            Types = List(f->GrantTypes, f->GrantTypesLen),
        };
    }

    /// <summary>Hands a row to the library (a sink or a completion): 0, or -2 when refused.</summary>
    internal static int Push(StoredGrant g, ulong target, delegate*<ulong, RtcGrantRow*, ResultCode> push)
    {
        var view = new RowView(g);
        try
        {
            RtcGrantRow row = view.Row;
            return push(target, &row) == ResultCode.Ok ? 0 : -2;
        }
        finally
        {
            view.Dispose();
        }
    }
}
