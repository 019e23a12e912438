using System;
using System.Collections.Generic;
using RefreshTokenCore.Native;
using Xunit;

namespace RefreshTokenCore.Tests;

/// <summary>
/// A row handed to the library (every read of a token) is seven UTF-8 views into one pooled
/// buffer: what the library sees must be the row, to the byte, with "no value" (null) and ""
/// kept apart, whatever the last row left in the pool's buffer.
/// </summary>
public unsafe class GrantRowsTests
{
    [ThreadStatic] private static List<string?>? seen;

    private static string? Shown(RtcStr s) => s.Ptr == null ? null : Utf8.Read(s.Ptr, s.Len);

    private static ResultCode Record(ulong target, RtcGrantRow* r)
    {
        seen = new List<string?> { Shown(r->Key), Shown(r->GrantType), Shown(r->SubjectId), Shown(r->SessionId), Shown(r->ClientId), Shown(r->Description), Shown(r->Data) };
        return target == 0 ? ResultCode.Ok : ResultCode.InvalidArgument;
    }

    public static IEnumerable<object?[]> Rows() => new[]
    {
        new object?[] { "K", "refresh_token", "alice", null, "web", null, "{}" },
        new object?[] { "", "", "", "", "", "", "" },
        new object?[] { "K\u00e9y", "refresh_token", "Zo\u00eb \u2603 \U0001F600", "s\u00e9ssion", "w\u00e9b", "Zo\u00eb's phone \"Pixel\"", new string('\u00e9', 20_000) },
        new object?[] { "K", "refresh_token", null, null, "web", "", new string('x', 60_000) },
    };

    [Theory]
    [MemberData(nameof(Rows))]
    public void The_library_sees_the_row_as_it_is(string key, string type, string? subject, string? session, string client, string? description, string data)
    {
        var g = new StoredGrant
        {
            Key = key,
            Type = type,
            SubjectId = subject,
            SessionId = session,
            ClientId = client,
            Description = description,
            CreationTime = new DateTime(2026, 12, 3, 1, 2, 3, DateTimeKind.Utc),
            Data = data,
        };
        Assert.Equal(0, GrantRows.Push(g, 0, &Record));
        Assert.Equal(new[] { key, type, subject, session, client, description, data }, seen);
        // A refusal is -2, and the next push is unaffected by the buffer the last one used.
        Assert.Equal(-2, GrantRows.Push(g, 1, &Record));
        Assert.Equal(new[] { key, type, subject, session, client, description, data }, seen);
    }
}
