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
    /// <summary>For a synchronous call: frees the error object it returned, and takes the host
    /// exception its callbacks left on this thread.</summary>
    public static Refused? Map(ResultCode r, nint err)
    {
        using var e = new ErrorHandle(err);
        return Map(r, e, CallbackErrors.Take());
    }

    /// <summary>The mapping itself; <paramref name="e"/> is read, not freed (a done callback's
    /// error belongs to the library), <paramref name="inner"/> the host exception to report.</summary>
    public static Refused? Map(ResultCode r, ErrorHandle e, Exception? inner)
    {
        if (r is ResultCode.InvalidGrant or ResultCode.InvalidRequest)
        {
            return new Refused(r == ResultCode.InvalidGrant ? "invalid_grant" : "invalid_request", (RefusalReason)NativeMethods.rtc_error_reason(e), r);
        }
        if (r != ResultCode.Ok)
        {
            throw Failure(r, e, inner);
        }
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

    private static RefreshTokenCoreException Failure(ResultCode r, ErrorHandle e, Exception? inner)
    {
        string message = e.IsInvalid ? Utf8.Peek(NativeMethods.rtc_result_name((uint)r)) : Utf8.Peek(NativeMethods.rtc_error_message(e));
        bool retryable = !e.IsInvalid && NativeMethods.rtc_error_retryable(e);
        return new RefreshTokenCoreException(message, r, retryable, inner);
    }
}
