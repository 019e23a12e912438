using System;

namespace RefreshTokenCore.Native;

/// <summary>
/// Carries an exception thrown by host code inside a callback back to the call that triggered
/// it. Callbacks run synchronously on the calling thread, so a thread-static slot is enough: the
/// bridge stores the exception and returns a failure status (an exception never crosses into
/// native code), and the wrapper of the native call takes it and rethrows it as the
/// InnerException of the exception it raises.
/// </summary>
internal static class CallbackErrors
{
    [ThreadStatic]
    private static Exception? pending;

    internal static void Capture(Exception e) => pending ??= e;

    internal static Exception? Take()
    {
        Exception? e = pending;
        pending = null;
        return e;
    }
}
