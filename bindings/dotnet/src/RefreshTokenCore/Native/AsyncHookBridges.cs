using System;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Threading;
using System.Threading.Tasks;

namespace RefreshTokenCore.Native;

/// <summary>
/// The asynchronous is-active and accept-consumed callbacks over the host's ValueTask hooks:
/// each starts the hook and returns; the answer (1 / 0, or -1 when it threw) is given when the
/// hook completes. Hooks run before any write, so they get the caller's cancellation token.
/// </summary>
internal static unsafe class AsyncHookBridges
{
    private static readonly Completions.Answer<bool> YesNo = (_, yes) => (yes ? 1 : 0, 0);

    internal static delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, ulong, void> IsActiveCallback => &IsActive;

    internal static delegate* unmanaged[Cdecl]<nint, byte*, nuint, byte*, nuint, long, long, ulong, void> AcceptConsumedCallback => &AcceptConsumed;

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void IsActive(nint ud, byte* sub, nuint subLen, byte* client, nuint clientLen, ulong completion)
    {
        PendingOperation? op = null;
        try
        {
            op = PendingOperation.Current();
            ValueTask<bool> active = HostObjects.Of(ud).IsActiveAsync!(Utf8.Read(sub, subLen), Utf8.Read(client, clientLen), op?.ForRead ?? CancellationToken.None);
            Completions.When(op, completion, active, YesNo);
        }
        catch (Exception e)
        {
            Completions.Fail(op, completion, e);
        }
    }

    [UnmanagedCallersOnly(CallConvs = new[] { typeof(CallConvCdecl) })]
    private static void AcceptConsumed(nint ud, byte* client, nuint clientLen, byte* tokenJson, nuint tokenJsonLen, long consumed, long now, ulong completion)
    {
        PendingOperation? op = null;
        try
        {
            op = PendingOperation.Current();
            HostObjects hooks = HostObjects.Of(ud);
            ConsumedTokenContext ctx = HookBridges.Context(hooks, client, clientLen, tokenJson, tokenJsonLen, consumed, now);
            Completions.When(op, completion, hooks.AcceptConsumedAsync!(ctx, op?.ForRead ?? CancellationToken.None), YesNo);
        }
        catch (Exception e)
        {
            Completions.Fail(op, completion, e);
        }
    }
}
