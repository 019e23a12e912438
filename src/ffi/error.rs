//! The owned error object: what a caller reads after a failed call, with no global state.

use std::ffi::{c_char, CString};

use super::boundary::guard;
use super::read;
use super::result::{rtc_reason, rtc_result};
use crate::service::{OAuthError, ServiceError};
use crate::store::StoreError;

/// The detail of a failed call. Created by the library only when a call fails and the caller
/// passed a non-NULL `out_error`; freed with `rtc_error_free`. Immutable: safe to read from
/// any thread.
pub struct rtc_error {
    pub(crate) code: rtc_result,
    pub(crate) reason: rtc_reason,
    /// NUL-terminated; never contains a handle.
    pub(crate) message: CString,
}

/// An error on its way out of an export.
#[derive(Debug)]
pub(crate) struct FfiError {
    pub code: rtc_result,
    pub reason: rtc_reason,
    pub message: String,
}

impl FfiError {
    pub fn new(code: rtc_result, message: impl Into<String>) -> Self {
        Self {
            code,
            reason: rtc_reason::RTC_REASON_NONE,
            message: message.into(),
        }
    }

    pub fn null(name: &str) -> Self {
        Self::new(
            rtc_result::RTC_RESULT_NULL_ARGUMENT,
            format!("{name} is NULL"),
        )
    }

    pub fn into_raw(self) -> *mut rtc_error {
        Box::into_raw(Box::new(self.into_error()))
    }

    /// The error object, for a callback that borrows it (a done callback).
    pub fn into_error(self) -> rtc_error {
        let message = CString::new(self.message.replace('\0', " ")).unwrap_or_default();
        rtc_error {
            code: self.code,
            reason: self.reason,
            message,
        }
    }
}

impl From<StoreError> for FfiError {
    fn from(e: StoreError) -> Self {
        ServiceError::from(e).into()
    }
}

impl From<ServiceError> for FfiError {
    fn from(e: ServiceError) -> Self {
        let message = e.to_string();
        match e {
            ServiceError::Rejected(r) => Self {
                code: match r.error {
                    OAuthError::InvalidGrant => rtc_result::RTC_RESULT_INVALID_GRANT,
                    OAuthError::InvalidRequest => rtc_result::RTC_RESULT_INVALID_REQUEST,
                },
                reason: r.reason.into(),
                message,
            },
            ServiceError::StorageUnavailable(StoreError::BadResponse(_)) => {
                Self::new(rtc_result::RTC_RESULT_STORAGE_BAD_RESPONSE, message)
            }
            ServiceError::StorageUnavailable(_) => {
                Self::new(rtc_result::RTC_RESULT_STORAGE_UNAVAILABLE, message)
            }
            ServiceError::StorageBroken(_) => {
                Self::new(rtc_result::RTC_RESULT_STORAGE_BROKEN, message)
            }
            ServiceError::HookFailed { .. } => {
                Self::new(rtc_result::RTC_RESULT_CALLBACK_FAILED, message)
            }
            ServiceError::InvalidArgument(_) => {
                Self::new(rtc_result::RTC_RESULT_INVALID_ARGUMENT, message)
            }
        }
    }
}

/// The accessors' panic answers are the same neutral values they give for NULL.
fn read_error<T>(
    error: *const rtc_error,
    none: impl Fn() -> T,
    f: impl FnOnce(&rtc_error) -> T,
) -> T {
    guard(&none, || read::opt_object(error).map_or_else(&none, f))
}

/// The result code of a failed call (`RTC_RESULT_NULL_ARGUMENT` when `error` is NULL).
#[no_mangle]
pub extern "C" fn rtc_error_code(error: *const rtc_error) -> rtc_result {
    read_error(error, || rtc_result::RTC_RESULT_NULL_ARGUMENT, |e| e.code)
}

/// Why a token was refused; `RTC_REASON_NONE` for other errors and for NULL.
#[no_mangle]
pub extern "C" fn rtc_error_reason(error: *const rtc_error) -> rtc_reason {
    read_error(error, || rtc_reason::RTC_REASON_NONE, |e| e.reason)
}

/// The OAuth error to answer with ("invalid_grant", "invalid_request"), for a retryable
/// failure "temporarily_unavailable" (HTTP 503), for a broken store "server_error" (HTTP 500);
/// NULL for caller errors and for NULL. A static string: never free it.
#[no_mangle]
pub extern "C" fn rtc_error_oauth_error(error: *const rtc_error) -> *const c_char {
    read_error(error, std::ptr::null, |e| match e.code {
        rtc_result::RTC_RESULT_INVALID_GRANT => c"invalid_grant".as_ptr(),
        rtc_result::RTC_RESULT_INVALID_REQUEST => c"invalid_request".as_ptr(),
        c if c.is_retryable() => c"temporarily_unavailable".as_ptr(),
        rtc_result::RTC_RESULT_STORAGE_BROKEN => c"server_error".as_ptr(),
        _ => std::ptr::null(),
    })
}

/// Whether the failed call may succeed if retried unchanged (storage and callback failures).
#[no_mangle]
pub extern "C" fn rtc_error_retryable(error: *const rtc_error) -> bool {
    read_error(error, || false, |e| e.code.is_retryable())
}

/// A human-readable message, NUL-terminated UTF-8, valid until `rtc_error_free`. It never
/// contains a refresh-token handle. Empty for NULL.
#[no_mangle]
pub extern "C" fn rtc_error_message(error: *const rtc_error) -> *const c_char {
    read_error(error, || c"".as_ptr(), |e| e.message.as_ptr())
}

/// Frees an error. NULL is ignored.
#[no_mangle]
pub extern "C" fn rtc_error_free(error: *mut rtc_error) {
    guard(|| (), || drop(read::take(error)))
}

/// The stable name of a result code ("ok", "invalid_grant", ...); "unknown" for a value this
/// version does not know. A static string: never free it.
#[no_mangle]
pub extern "C" fn rtc_result_name(code: u32) -> *const c_char {
    guard(
        || c"unknown".as_ptr(),
        || {
            rtc_result::from_u32(code)
                .map_or(c"unknown", rtc_result::name)
                .as_ptr()
        },
    )
}
