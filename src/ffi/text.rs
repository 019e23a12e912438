//! Strings across the ABI.
//!
//! In: `(const char *ptr, size_t len)` UTF-8 views, not NUL-terminated, borrowed for the call
//! only; `len == 0` accepts a NULL `ptr`. Out: NUL-terminated UTF-8 allocated by the library,
//! freed only with `rtc_string_free`, which wipes the bytes first (a handle is a secret).

use std::ffi::{c_char, CString};
use zeroize::Zeroize;

use super::boundary::guard;
use crate::format::handle::Handle;

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

    /// A view of the caller's `(ptr, len)` argument pair, unread (the readers check it).
    pub(crate) const fn view(ptr: *const c_char, len: usize) -> Self {
        Self { ptr, len }
    }

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

/// A library-allocated string for an out-parameter.
pub(crate) fn out_string(s: String) -> *mut c_char {
    // Interior NULs cannot occur in what the library emits (JSON escapes them; handles are hex).
    CString::new(s)
        .map(CString::into_raw)
        .unwrap_or(std::ptr::null_mut())
}

/// A handle as a NUL-terminated copy made in one allocation of its final size: growing a buffer
/// (as `CString::new` on a `String` does) could move it and free the old block unwiped. The copy
/// is the caller's to wipe (`rtc_string_free`, or `Shown` for a done callback).
pub(crate) fn secret_cstring(handle: &Handle) -> CString {
    let text = handle.as_str().as_bytes();
    let mut bytes = Vec::with_capacity(text.len() + 1);
    bytes.extend_from_slice(text);
    // CString::new keeps the allocation when it has room for the NUL. A handle the library hands
    // out is its own hex, or a presented one that matched a stored row: never with a NUL; if one
    // had, C gets "" and the copy is still wiped.
    CString::new(bytes).unwrap_or_else(|e| {
        e.into_vec().zeroize();
        CString::default()
    })
}

/// A library-allocated copy of a handle for an out-parameter.
pub(crate) fn out_secret(handle: &Handle) -> *mut c_char {
    secret_cstring(handle).into_raw()
}

/// Frees a string the library returned, wiping its bytes first. NULL is ignored.
#[no_mangle]
pub extern "C" fn rtc_string_free(s: *mut c_char) {
    guard(
        || (),
        || {
            if s.is_null() {
                return;
            }
            // SAFETY: a non-NULL string the library made with out_string (CString::into_raw) and
            // the host hands back once (the POINTERS contract).
            let owned = unsafe { CString::from_raw(s) };
            owned.into_bytes_with_nul().zeroize();
        },
    )
}
