using System;
using System.Buffers;
using System.Collections.Generic;
using System.Text;

namespace RefreshTokenCore.Native;

/// <summary>Rows and filters between the native structs and .NET, for both store bridges.</summary>
internal static unsafe class GrantRows
{
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

    /// <summary>
    /// Hands a row to the library (a sink or a completion): 0, or -2 when refused. The row's
    /// strings are written as UTF-8 into one pooled buffer, pinned for the call (the library
    /// copies what it keeps before the call returns), and wiped before the buffer goes back to
    /// the pool: a row holds a subject's claims. Every read of a token passes here.
    /// </summary>
    internal static int Push(StoredGrant g, ulong target, delegate*<ulong, RtcGrantRow*, ResultCode> push)
    {
        // One spare byte a string, so that even "" has a non-null pointer ("" is not null).
        int size = Size(g.Key) + Size(g.Type) + Size(g.SubjectId) + Size(g.SessionId) + Size(g.ClientId) + Size(g.Description) + Size(g.Data) + 7;
        byte[] buffer = ArrayPool<byte>.Shared.Rent(size);
        int used = 0;
        try
        {
            fixed (byte* b = buffer)
            {
                var row = new RtcGrantRow
                {
                    Key = Put(g.Key, b, buffer, ref used),
                    GrantType = Put(g.Type, b, buffer, ref used),
                    SubjectId = Put(g.SubjectId, b, buffer, ref used),
                    SessionId = Put(g.SessionId, b, buffer, ref used),
                    ClientId = Put(g.ClientId, b, buffer, ref used),
                    Description = Put(g.Description, b, buffer, ref used),
                    CreationTime = RtcTime.From(g.CreationTime),
                    Expiration = RtcTime.From(g.Expiration),
                    ConsumedTime = RtcTime.From(g.ConsumedTime),
                    Data = Put(g.Data, b, buffer, ref used),
                };
                return push(target, &row) == ResultCode.Ok ? 0 : -2;
            }
        }
        finally
        {
            buffer.AsSpan(0, size).Clear();
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }

    private static int Size(string? s) => s is null ? 0 : Encoding.UTF8.GetByteCount(s);

    /// <summary>Writes one string at <paramref name="at"/> and returns its view; a null string
    /// is the null view ("no value").</summary>
    private static RtcStr Put(string? s, byte* pinned, byte[] buffer, ref int at)
    {
        if (s is null)
        {
            return default;
        }
        int n = Encoding.UTF8.GetBytes(s, buffer.AsSpan(at));
        var view = new RtcStr { Ptr = pinned + at, Len = (nuint)n };
        at += n + 1;
        return view;
    }
}
