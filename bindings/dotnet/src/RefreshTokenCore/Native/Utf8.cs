using System;
using System.Runtime.InteropServices;
using System.Text;

namespace RefreshTokenCore.Native;

/// <summary>UTF-8 across the ABI: inputs as (pointer, length) views, outputs copied then freed
/// with rtc_string_free (which wipes them).</summary>
internal static unsafe class Utf8
{
    internal static byte[] Bytes(string? s) => s is null ? Array.Empty<byte>() : Encoding.UTF8.GetBytes(s);

    /// <summary>UTF-8 with one spare byte, so that even "" pins to a non-null pointer: in an
    /// rtc_str a null pointer means "no value", not "empty".</summary>
    internal static (byte[] Buffer, int Length) NonNull(string s)
    {
        byte[] b = new byte[Encoding.UTF8.GetByteCount(s) + 1];
        return (b, Encoding.UTF8.GetBytes(s, b));
    }

    /// <summary>Copies a library string and frees it; null for a null pointer.</summary>
    internal static string? Take(byte* s)
    {
        if (s == null)
        {
            return null;
        }
        try
        {
            return Marshal.PtrToStringUTF8((nint)s);
        }
        finally
        {
            NativeMethods.rtc_string_free(s);
        }
    }

    /// <summary>Reads a static or borrowed NUL-terminated string without freeing it.</summary>
    internal static string Peek(byte* s) => s == null ? string.Empty : Marshal.PtrToStringUTF8((nint)s) ?? string.Empty;

    /// <summary>A borrowed NUL-terminated library string as UTF-8 bytes, without copying it (for
    /// JSON, which is read from UTF-8 directly); empty for a null pointer.</summary>
    internal static ReadOnlySpan<byte> View(byte* s) => s == null ? ReadOnlySpan<byte>.Empty : MemoryMarshal.CreateReadOnlySpanFromNullTerminated(s);

    /// <summary>Reads an rtc_str view (null for "no value").</summary>
    internal static string? Read(RtcStr s) => s.Ptr == null ? null : Encoding.UTF8.GetString(s.Ptr, checked((int)s.Len));

    internal static string Read(byte* p, nuint len) => len == 0 ? string.Empty : Encoding.UTF8.GetString(p, checked((int)len));
}
