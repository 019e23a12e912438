using System;
using System.Threading.Tasks;

namespace RefreshTokenCore.Native;

/// <summary>
/// Answers a native completion (<c>rtc_completion_finish</c>) when host code's ValueTask is done:
/// at once when it already is (a store that answered synchronously costs no allocation), else
/// from the continuation, on whatever thread completes it. Exactly one finish per completion;
/// no exception reaches native code (a faulted task is the failure status -1, its exception kept
/// for the operation).
/// </summary>
internal static class Completions
{
    /// <summary>Turns a value into the completion's status and count; may push rows first.</summary>
    internal delegate (int Status, ulong Count) Answer<T>(ulong completion, T value);

    internal static void When<T>(PendingOperation? op, ulong completion, ValueTask<T> task, Answer<T> answer)
    {
        if (task.IsCompletedSuccessfully)
        {
            Finish(op, completion, task.Result, answer);
            return;
        }
        _ = Later(op, completion, task, answer);
    }

    private static async Task Later<T>(PendingOperation? op, ulong completion, ValueTask<T> task, Answer<T> answer)
    {
        T value;
        try
        {
            value = await task.ConfigureAwait(false);
        }
        catch (Exception e)
        {
            Fail(op, completion, e);
            return;
        }
        Finish(op, completion, value, answer);
    }

    private static void Finish<T>(PendingOperation? op, ulong completion, T value, Answer<T> answer)
    {
        (int Status, ulong Count) a;
        try
        {
            a = answer(completion, value);
        }
        catch (Exception e)
        {
            Fail(op, completion, e);
            return;
        }
        NativeMethods.rtc_completion_finish(completion, a.Status, a.Count);
    }

    /// <summary>Host code failed: the exception goes to the operation, the completion fails.</summary>
    internal static void Fail(PendingOperation? op, ulong completion, Exception e)
    {
        if (op is not null)
        {
            op.Failed(e);
        }
        else
        {
            CallbackErrors.Capture(e);
        }
        NativeMethods.rtc_completion_finish(completion, -1, 0);
    }

    /// <summary>A ValueTask without a result, as one with a status of 0.</summary>
    internal static ValueTask<int> Zero(ValueTask task)
    {
        if (task.IsCompletedSuccessfully)
        {
            task.GetAwaiter().GetResult();
            return new ValueTask<int>(0);
        }
        return Awaited(task);

        static async ValueTask<int> Awaited(ValueTask t)
        {
            await t.ConfigureAwait(false);
            return 0;
        }
    }
}
