using System;

namespace RefreshTokenCore;

/// <summary>The result codes of the native library (rtc_result); numbers never change.</summary>
public enum ResultCode : uint
{
    /// <summary>Success.</summary>
    Ok = 0,
    /// <summary>A required argument was null.</summary>
    NullArgument = 100,
    /// <summary>A string was not valid UTF-8.</summary>
    InvalidUtf8 = 101,
    /// <summary>A string was longer than the library accepts.</summary>
    InputTooLong = 102,
    /// <summary>An enum value is unknown to the library.</summary>
    InvalidEnum = 103,
    /// <summary>A JSON document was invalid.</summary>
    InvalidJson = 104,
    /// <summary>An argument was out of range or inconsistent.</summary>
    InvalidArgument = 105,
    /// <summary>No such client is registered.</summary>
    UnknownClient = 106,
    /// <summary>The token was refused: OAuth invalid_grant.</summary>
    InvalidGrant = 200,
    /// <summary>The request was refused: OAuth invalid_request.</summary>
    InvalidRequest = 201,
    /// <summary>The store failed; retryable, nothing consumed.</summary>
    StorageUnavailable = 300,
    /// <summary>The store answered with something invalid; retryable.</summary>
    StorageBadResponse = 301,
    /// <summary>A host callback (is-active, accept-consumed, protector) failed; retryable.</summary>
    CallbackFailed = 302,
    /// <summary>The store is broken (corrupt, read-only, its table or a column missing): not
    /// retryable, an operator must act (HTTP 500); nothing consumed.</summary>
    StorageBroken = 400,
    /// <summary>The native library panicked (caught); please report it.</summary>
    Panic = 900,
}

/// <summary>Why a token was refused. Clients only ever see invalid_grant / invalid_request; the
/// reason is for logs and metrics.</summary>
public enum RefusalReason : uint
{
    /// <summary>Not a refusal.</summary>
    None = 0,
    /// <summary>No such token (or another grant type).</summary>
    NotFound = 1,
    /// <summary>CreationTime + Lifetime has passed.</summary>
    Expired = 2,
    /// <summary>The token belongs to another client.</summary>
    ClientMismatch = 3,
    /// <summary>The client no longer has AllowOfflineAccess.</summary>
    OfflineAccessNotAllowed = 4,
    /// <summary>The token was consumed and the accept-consumed policy refused it.</summary>
    Consumed = 5,
    /// <summary>The is-active check said the subject is disabled.</summary>
    SubjectInactive = 6,
    /// <summary>The handle or the stored data cannot be read.</summary>
    Malformed = 7,
    /// <summary>A client-controlled value over its bound (resource indicator, number of
    /// resources, description), or a row over the 50,000-character Data column.</summary>
    TooLarge = 8,
}

/// <summary>
/// A call that could not be processed: storage or a host callback failed (<see cref="IsRetryable"/>),
/// or the arguments were wrong. A refused token is not an exception: it is a result with
/// <c>IsError</c> set. When host code threw inside a callback, that exception is the
/// <see cref="Exception.InnerException"/>.
/// </summary>
public class RefreshTokenCoreException : Exception
{
    /// <summary>Creates the exception.</summary>
    public RefreshTokenCoreException(string message, ResultCode code, bool retryable, Exception? inner = null)
        : base(message, inner)
    {
        Code = code;
        IsRetryable = retryable;
    }

    /// <summary>The native result code.</summary>
    public ResultCode Code { get; }

    /// <summary>Whether the same call may succeed when retried (answer HTTP 503 temporarily_unavailable).</summary>
    public bool IsRetryable { get; }
}
