using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using System.Text;

namespace RefreshTokenCore.Native;

/// <summary>Static <see cref="UnmanagedCallersOnlyAttribute"/> bridges for the hooks; none lets an
/// exception escape into native code.</summary>
internal static unsafe class HookBridges
{
    private static HostObjects Hooks(nint ud) => HostObjects.Of(ud);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static long Now(nint ud)
    {
        try
        {
            DateTimeOffset now = Hooks(ud).Time!.GetUtcNow();
            // MinValue and MaxValue are .NET's "no date" sentinels, never a real now: taken at
            // face value, year 9999 would make cleanup remove every live token. Unusable, as a
            // throwing clock is.
            return now == DateTimeOffset.MinValue || now == DateTimeOffset.MaxValue ? long.MinValue : RtcTime.From(now.UtcDateTime);
        }
        catch
        {
            // The clock cannot fail in the ABI: an out-of-range value makes the library use the
            // system clock.
            return long.MinValue;
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static int IsActive(nint ud, byte* sub, nuint subLen, byte* client, nuint clientLen)
    {
        try
        {
            return Hooks(ud).IsActive!(Utf8.Read(sub, subLen), Utf8.Read(client, clientLen)) ? 1 : 0;
        }
        catch (Exception e)
        {
            CallbackErrors.Capture(e);
            return -1;
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static int AcceptConsumed(nint ud, byte* client, nuint clientLen, byte* tokenJson, nuint tokenJsonLen, long consumed, long now)
    {
        try
        {
            HostObjects hooks = Hooks(ud);
            return hooks.AcceptConsumed!(Context(hooks, client, clientLen, tokenJson, tokenJsonLen, consumed, now)) ? 1 : 0;
        }
        catch (Exception e)
        {
            CallbackErrors.Capture(e);
            return -1;
        }
    }

    /// <summary>What an accept-consumed hook (synchronous or not) is given.</summary>
    internal static ConsumedTokenContext Context(HostObjects hooks, byte* client, nuint clientLen, byte* tokenJson, nuint tokenJsonLen, long consumed, long now)
    {
        if (hooks.Service is null || !hooks.Service.TryGetTarget(out RefreshTokenService? service))
        {
            throw new ObjectDisposedException(nameof(RefreshTokenService));
        }
        return new ConsumedTokenContext(
            service,
            Utf8.Read(client, clientLen),
            Json.ReadRefreshToken(new ReadOnlySpan<byte>(tokenJson, checked((int)tokenJsonLen))),
            RtcTime.To(consumed),
            RtcTime.To(now));
    }

    private static int Protect(nint ud, byte* input, nuint len, nint sink, bool protect)
    {
        try
        {
            IPayloadProtector p = Hooks(ud).Protector!;
            byte[] result;
            try
            {
                if (p is IUtf8PayloadProtector utf8)
                {
                    // The built-in protector: the library's bytes in and out, no strings.
                    var text = new ReadOnlySpan<byte>(input, checked((int)len));
                    result = protect ? utf8.ProtectUtf8(text) : utf8.UnprotectUtf8(text);
                }
                else
                {
                    string text = Utf8.Read(input, len);
                    result = Encoding.UTF8.GetBytes(protect ? p.Protect(text) : p.Unprotect(text));
                }
            }
            catch (CryptographicException) when (!protect)
            {
                // Tampered data or an unknown key: the row is unreadable (the reference's "not found").
                return 1;
            }
            fixed (byte* b = result)
            {
                return NativeMethods.rtc_string_sink_set(sink, b, (nuint)result.Length) == ResultCode.Ok ? 0 : -2;
            }
        }
        catch (Exception e)
        {
            CallbackErrors.Capture(e);
            return -1;
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static int ProtectPayload(nint ud, byte* input, nuint len, nint sink) => Protect(ud, input, len, sink, protect: true);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static int UnprotectPayload(nint ud, byte* input, nuint len, nint sink) => Protect(ud, input, len, sink, protect: false);

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    internal static void Event(nint ud, byte* json, nuint len)
    {
        try
        {
            Hooks(ud).Events?.Invoke(Utf8.Read(json, len));
        }
        catch
        {
            // An event sink must not fail the operation that raised the event; a logging failure
            // is dropped (there is no caller to report it to).
        }
    }
}
