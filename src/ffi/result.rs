//! Result codes and refusal reasons. The numbers are part of the ABI: never renumber, never
//! reuse; a retired value stays here as a comment.

use std::ffi::CStr;

use crate::service::Reason;

/// What an `rtc_` call did. Grouped by hundreds: 0 success, 1xx the caller's arguments,
/// 2xx the token was refused (an OAuth answer, not a fault), 3xx retryable failures of the
/// store or of a host callback, 4xx failures an operator must fix, 9xx bugs.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rtc_result {
    /// Success: every output was written.
    RTC_RESULT_OK = 0,
    /// A required pointer argument was NULL.
    RTC_RESULT_NULL_ARGUMENT = 100,
    /// A string argument is not valid UTF-8.
    RTC_RESULT_INVALID_UTF8 = 101,
    /// A string argument is longer than the documented maximum.
    RTC_RESULT_INPUT_TOO_LONG = 102,
    /// An enum value (usage, expiration, policy) is not one this version knows.
    RTC_RESULT_INVALID_ENUM = 103,
    /// A JSON argument is not valid JSON or not of the documented shape.
    RTC_RESULT_INVALID_JSON = 104,
    /// An argument is out of range or inconsistent (e.g. a cleanup batch size of 0).
    RTC_RESULT_INVALID_ARGUMENT = 105,
    /// The client id names no client registered with the service.
    RTC_RESULT_UNKNOWN_CLIENT = 106,
    /// The token was refused: OAuth `invalid_grant`. The error's reason says why.
    RTC_RESULT_INVALID_GRANT = 200,
    /// The request was refused: OAuth `invalid_request` (e.g. an empty refresh token).
    RTC_RESULT_INVALID_REQUEST = 201,
    /// A store callback (or the built-in store) failed. Retryable; nothing was consumed.
    RTC_RESULT_STORAGE_UNAVAILABLE = 300,
    /// A store callback answered with something invalid (bad UTF-8, an unknown outcome).
    /// Retryable from the client's point of view; a bug in the host's store.
    RTC_RESULT_STORAGE_BAD_RESPONSE = 301,
    /// A host callback other than the store (is-active, accept-consumed, protector) failed.
    /// Retryable.
    RTC_RESULT_CALLBACK_FAILED = 302,
    /// The store is broken in a way a retry will not fix (a corrupt or read-only database, a
    /// file that is not a database, its table or a column missing): not retryable, an operator
    /// must act (HTTP 500). Nothing was consumed.
    RTC_RESULT_STORAGE_BROKEN = 400,
    /// The library panicked. The call had no effect on the caller's outputs; the service
    /// keeps working. Please report it.
    RTC_RESULT_PANIC = 900,
}

/// Why a token was refused (`rtc_error_reason`). `RTC_REASON_NONE` when the error is not a
/// refusal.
#[repr(u32)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum rtc_reason {
    RTC_REASON_NONE = 0,
    RTC_REASON_NOT_FOUND = 1,
    RTC_REASON_EXPIRED = 2,
    RTC_REASON_CLIENT_MISMATCH = 3,
    RTC_REASON_OFFLINE_ACCESS_NOT_ALLOWED = 4,
    RTC_REASON_CONSUMED = 5,
    RTC_REASON_SUBJECT_INACTIVE = 6,
    RTC_REASON_MALFORMED = 7,
    RTC_REASON_TOO_LARGE = 8,
}

impl From<Reason> for rtc_reason {
    fn from(r: Reason) -> Self {
        match r {
            Reason::NotFound => Self::RTC_REASON_NOT_FOUND,
            Reason::Expired => Self::RTC_REASON_EXPIRED,
            Reason::ClientMismatch => Self::RTC_REASON_CLIENT_MISMATCH,
            Reason::OfflineAccessNotAllowed => Self::RTC_REASON_OFFLINE_ACCESS_NOT_ALLOWED,
            Reason::Consumed => Self::RTC_REASON_CONSUMED,
            Reason::SubjectInactive => Self::RTC_REASON_SUBJECT_INACTIVE,
            Reason::Malformed => Self::RTC_REASON_MALFORMED,
            Reason::TooLarge => Self::RTC_REASON_TOO_LARGE,
        }
    }
}

impl rtc_result {
    /// The stable lower-case name of a result code.
    pub fn name(self) -> &'static CStr {
        match self {
            Self::RTC_RESULT_OK => c"ok",
            Self::RTC_RESULT_NULL_ARGUMENT => c"null_argument",
            Self::RTC_RESULT_INVALID_UTF8 => c"invalid_utf8",
            Self::RTC_RESULT_INPUT_TOO_LONG => c"input_too_long",
            Self::RTC_RESULT_INVALID_ENUM => c"invalid_enum",
            Self::RTC_RESULT_INVALID_JSON => c"invalid_json",
            Self::RTC_RESULT_INVALID_ARGUMENT => c"invalid_argument",
            Self::RTC_RESULT_UNKNOWN_CLIENT => c"unknown_client",
            Self::RTC_RESULT_INVALID_GRANT => c"invalid_grant",
            Self::RTC_RESULT_INVALID_REQUEST => c"invalid_request",
            Self::RTC_RESULT_STORAGE_UNAVAILABLE => c"storage_unavailable",
            Self::RTC_RESULT_STORAGE_BAD_RESPONSE => c"storage_bad_response",
            Self::RTC_RESULT_CALLBACK_FAILED => c"callback_failed",
            Self::RTC_RESULT_STORAGE_BROKEN => c"storage_broken",
            Self::RTC_RESULT_PANIC => c"panic",
        }
    }

    /// Every code, for lookups from a raw number.
    const ALL: [rtc_result; 15] = [
        Self::RTC_RESULT_OK,
        Self::RTC_RESULT_NULL_ARGUMENT,
        Self::RTC_RESULT_INVALID_UTF8,
        Self::RTC_RESULT_INPUT_TOO_LONG,
        Self::RTC_RESULT_INVALID_ENUM,
        Self::RTC_RESULT_INVALID_JSON,
        Self::RTC_RESULT_INVALID_ARGUMENT,
        Self::RTC_RESULT_UNKNOWN_CLIENT,
        Self::RTC_RESULT_INVALID_GRANT,
        Self::RTC_RESULT_INVALID_REQUEST,
        Self::RTC_RESULT_STORAGE_UNAVAILABLE,
        Self::RTC_RESULT_STORAGE_BAD_RESPONSE,
        Self::RTC_RESULT_CALLBACK_FAILED,
        Self::RTC_RESULT_STORAGE_BROKEN,
        Self::RTC_RESULT_PANIC,
    ];

    pub fn from_u32(v: u32) -> Option<Self> {
        Self::ALL.into_iter().find(|r| *r as u32 == v)
    }

    /// Whether the same call may succeed if simply retried.
    pub fn is_retryable(self) -> bool {
        matches!(
            self,
            Self::RTC_RESULT_STORAGE_UNAVAILABLE
                | Self::RTC_RESULT_STORAGE_BAD_RESPONSE
                | Self::RTC_RESULT_CALLBACK_FAILED
        )
    }
}
