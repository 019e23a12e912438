using System;

namespace RefreshTokenCore.Native;

/// <summary>
/// Carries an exception thrown by host code inside a callback back to the call that triggered
/// it; an exception never crosses into native code (the bridge returns a failure status). A
/// callback made for an operation leaves it with that operation (<see cref="PendingOperation"/>,
/// found through <c>rtc_operation_current</c>, on whichever thread it runs); one made during a
/// synchronous native call (the builder's) leaves it in a thread-static slot that the call's
/// wrapper takes and rethrows as the InnerException of the exception it raises.
/// </summary>
internal static class CallbackErrors
{
    [ThreadStatic]
    private static Exception? pending;

    internal static void Capture(Exception e)
    {
        if (PendingOperation.Current() is { } op)
        {
            op.Failed(e);
            return;
        }
        pending ??= e;
    }

    internal static Exception? Take()
    {
        Exception? e = pending;
        pending = null;
        return e;
    }
}
