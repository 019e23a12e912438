//! Strings across the ABI.
//!
//! In: `(const char *ptr, size_t len)` UTF-8 views, not NUL-terminated, borrowed for the call
//! only; `len == 0` accepts a NULL `ptr`. Out: NUL-terminated UTF-8 allocated by the library,
//! freed only with `rtc_string_free`, which wipes the bytes first (a handle is a secret).

use std::ffi::{c_char, CString};
use zeroize::Zeroize;

use super::error::FfiError;
use super::result::rtc_result;

/// Longest identifier or handle accepted (bytes).
pub const RTC_MAX_STRING_LEN: usize = 64 * 1024;
/// Longest JSON document accepted (bytes).
pub const RTC_MAX_JSON_LEN: usize = 1024 * 1024;

/// A borrowed UTF-8 string view in a struct. `ptr == NULL` means "no value" (null); a non-NULL
/// `ptr` with `len == 0` is the empty string.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtc_str {
    pub ptr: *const c_char,
    pub len: usize,
}

impl rtc_str {
    pub(crate) const NULL: rtc_str = rtc_str {
        ptr: std::ptr::null(),
        len: 0,
    };

    pub(crate) fn of(s: &str) -> Self {
        Self {
            ptr: s.as_ptr().cast(),
            len: s.len(),
        }
    }

    pub(crate) fn of_opt(s: Option<&str>) -> Self {
        s.map_or(Self::NULL, Self::of)
    }
}

/// Reads a `(ptr, len)` argument.
///
/// # Safety
/// `ptr` must be NULL or valid for `len` bytes for the duration of the call.
pub(crate) unsafe fn arg<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
    max: usize,
) -> Result<&'a str, FfiError> {
    if len == 0 {
        return Ok("");
    }
    if ptr.is_null() {
        return Err(FfiError::null(name));
    }
    if len > max {
        return Err(FfiError::new(
            rtc_result::RTC_RESULT_INPUT_TOO_LONG,
            format!("{name} is longer than {max} bytes"),
        ));
    }
    // SAFETY: non-NULL and valid for len bytes per the caller's contract.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|_| {
        FfiError::new(
            rtc_result::RTC_RESULT_INVALID_UTF8,
            format!("{name} is not valid UTF-8"),
        )
    })
}

/// Reads an optional `(ptr, len)` argument: NULL `ptr` is "absent".
///
/// # Safety
/// As for [`arg`].
pub(crate) unsafe fn opt_arg<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
    max: usize,
) -> Result<Option<&'a str>, FfiError> {
    if ptr.is_null() {
        if len != 0 {
            return Err(FfiError::null(name));
        }
        return Ok(None);
    }
    // SAFETY: forwarded contract.
    unsafe { arg(ptr, len, name, max) }.map(Some)
}

/// Reads an optional `(ptr, len)` byte argument (not text): NULL `ptr` with `len == 0` is
/// "absent"; NULL with a length is a NULL-argument error.
///
/// # Safety
/// `ptr` must be NULL or valid for `len` bytes for the duration of the call.
pub(crate) unsafe fn bytes<'a>(
    ptr: *const u8,
    len: usize,
    name: &str,
    max: usize,
) -> Result<Option<&'a [u8]>, FfiError> {
    if ptr.is_null() {
        return if len == 0 {
            Ok(None)
        } else {
            Err(FfiError::null(name))
        };
    }
    if len > max {
        return Err(FfiError::new(
            rtc_result::RTC_RESULT_INPUT_TOO_LONG,
            format!("{name} is longer than {max} bytes"),
        ));
    }
    // SAFETY: non-NULL and valid for len bytes per the caller's contract.
    Ok(Some(unsafe { std::slice::from_raw_parts(ptr, len) }))
}

/// Reads an `rtc_str` field; `None` for a NULL pointer.
///
/// # Safety
/// As for [`arg`].
pub(crate) unsafe fn field<'a>(
    s: rtc_str,
    name: &str,
    max: usize,
) -> Result<Option<&'a str>, FfiError> {
    // SAFETY: forwarded contract.
    unsafe { opt_arg(s.ptr, s.len, name, max) }
}

/// A library-allocated string for an out-parameter.
pub(crate) fn out_string(s: String) -> *mut c_char {
    // Interior NULs cannot occur in what the library emits (JSON escapes them; handles are hex).
    CString::new(s)
        .map(CString::into_raw)
        .unwrap_or(std::ptr::null_mut())
}

/// Frees a string the library returned, wiping its bytes first. NULL is ignored.
#[no_mangle]
pub extern "C" fn rtc_string_free(s: *mut c_char) {
    if s.is_null() {
        return;
    }
    // SAFETY: a non-NULL string was produced by out_string (CString::into_raw) and is freed once.
    let owned = unsafe { CString::from_raw(s) };
    let mut bytes = owned.into_bytes_with_nul();
    bytes.zeroize();
}
