//! Typed readers for what a host passes in: strings, byte views, structs and the library's own
//! objects. They are the only place that turns a raw input pointer into a reference, so the one
//! safety argument for raw inputs is written here, once:
//!
//! SAFETY (the header's POINTERS contract): every pointer a host passes to an export is NULL or
//! valid for what its type says for the whole call — a `(ptr, len)` view for `len` bytes, a
//! struct pointer for reading one struct, an object pointer (`rtc_service *`, `rtc_error *`, ...)
//! one the library returned and has not yet freed. The readers check NULL, lengths and UTF-8;
//! the rest is the host's promise, which Rust cannot check. A returned reference must not be
//! kept past the export that read it (`'a` is the call).

use std::ffi::c_char;

use super::error::FfiError;
use super::result::rtc_result;
use super::text::rtc_str;

fn too_long(name: &str, max: usize) -> FfiError {
    FfiError::new(
        rtc_result::RTC_RESULT_INPUT_TOO_LONG,
        format!("{name} is longer than {max} bytes"),
    )
}

/// A required `(ptr, len)` UTF-8 argument; `len == 0` is the empty string, whatever `ptr` is.
pub(crate) fn text<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
    max: usize,
) -> Result<&'a str, FfiError> {
    match bytes(ptr.cast(), len, name, max)? {
        None => Ok(""),
        Some(b) => std::str::from_utf8(b).map_err(|_| {
            FfiError::new(
                rtc_result::RTC_RESULT_INVALID_UTF8,
                format!("{name} is not valid UTF-8"),
            )
        }),
    }
}

/// An optional `(ptr, len)` UTF-8 argument: a NULL `ptr` (with `len == 0`) is "absent".
pub(crate) fn opt_text<'a>(
    ptr: *const c_char,
    len: usize,
    name: &str,
    max: usize,
) -> Result<Option<&'a str>, FfiError> {
    if ptr.is_null() && len == 0 {
        return Ok(None);
    }
    text(ptr, len, name, max).map(Some)
}

/// An `rtc_str` field of a struct; `None` for a NULL pointer.
pub(crate) fn field<'a>(s: rtc_str, name: &str, max: usize) -> Result<Option<&'a str>, FfiError> {
    opt_text(s.ptr, s.len, name, max)
}

/// A `(ptr, len)` byte view (not text): NULL with `len == 0` is "absent"; NULL with a length is
/// a NULL-argument error.
pub(crate) fn bytes<'a>(
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
        return Err(too_long(name, max));
    }
    // SAFETY: non-NULL, and valid for `len` bytes for this call by the POINTERS contract above.
    Ok(Some(unsafe { std::slice::from_raw_parts(ptr, len) }))
}

/// A required struct or object the host passes by pointer.
pub(crate) fn object<'a, T>(ptr: *const T, name: &str) -> Result<&'a T, FfiError> {
    opt_object(ptr).ok_or_else(|| FfiError::null(name))
}

/// An optional struct the host passes by pointer (NULL: "use the defaults").
pub(crate) fn opt_object<'a, T>(ptr: *const T) -> Option<&'a T> {
    // SAFETY: NULL or valid for reading one T for this call, by the POINTERS contract above.
    unsafe { ptr.as_ref() }
}

/// A required object the host may change through this call (a builder, a sink): the header says
/// which objects are not shared between threads while such a call runs.
pub(crate) fn object_mut<'a, T>(ptr: *mut T, name: &str) -> Result<&'a mut T, FfiError> {
    // SAFETY: NULL or a live object of the library not used elsewhere during this call (the
    // POINTERS and THREADS contracts).
    unsafe { ptr.as_mut() }.ok_or_else(|| FfiError::null(name))
}

/// Takes back ownership of an object the library gave out with [`give`](super::write::give):
/// the export consumes it (a build, a free). `None` for NULL.
pub(crate) fn take<T>(ptr: *mut T) -> Option<Box<T>> {
    if ptr.is_null() {
        return None;
    }
    // SAFETY: a pointer the library made with Box::into_raw and has not freed (the POINTERS
    // contract); the export that takes it is its last use.
    Some(unsafe { Box::from_raw(ptr) })
}
