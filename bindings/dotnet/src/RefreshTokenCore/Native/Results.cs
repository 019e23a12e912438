using System;

namespace RefreshTokenCore.Native;

/// <summary>A refused token or request: the OAuth error to answer with, and why.</summary>
internal sealed record Refused(string Error, RefusalReason Reason, ResultCode Code)
{
    public RefreshTokenCoreException AsException() => new($"{Error}: {Reason}", Code, retryable: false);
}

/// <summary>
/// The one mapping of a native result to .NET (the refusal model in docs/design.md): success is
/// null; a refusal (the 2xx codes, with the reason in the error object) is returned, for the
/// operations whose .NET shape is a result (validate, refresh); every other code throws, with
/// the library's message, whether it may be retried, and the host exception a callback raised.
/// </summary>
internal static unsafe class Results
{
    public static Refused? Map(ResultCode r, nint err)
    {
        if (r is ResultCode.InvalidGrant or ResultCode.InvalidRequest)
        {
            using var e = new ErrorHandle(err);
            CallbackErrors.Take();
            return new Refused(r == ResultCode.InvalidGrant ? "invalid_grant" : "invalid_request", (RefusalReason)NativeMethods.rtc_error_reason(e), r);
        }
        if (r != ResultCode.Ok)
        {
            throw Failure(r, err);
        }
        CallbackErrors.Take();
        return null;
    }

    /// <summary>For the calls whose .NET shape has no refusal result: a refusal throws too.</summary>
    public static void Check(ResultCode r, nint err)
    {
        if (Map(r, err) is { } refused)
        {
            throw refused.AsException();
        }
    }

    /// <summary>The exception for a failed call (frees the error object).</summary>
    public static RefreshTokenCoreException Failure(ResultCode r, nint err)
    {
        Exception? inner = CallbackErrors.Take();
        using var e = new ErrorHandle(err);
        string message = err == 0 ? Utf8.Peek(NativeMethods.rtc_result_name((uint)r)) : Utf8.Peek(NativeMethods.rtc_error_message(e));
        bool retryable = err != 0 && NativeMethods.rtc_error_retryable(e);
        return new RefreshTokenCoreException(message, r, retryable, inner);
    }
}
