//! Strings across the ABI.
//!
//! In: `(const char *ptr, size_t len)` UTF-8 views, not NUL-terminated, borrowed for the call
//! only; `len == 0` accepts a NULL `ptr`. Out: NUL-terminated UTF-8 allocated by the library,
//! freed only with `rtc_string_free`, which wipes the bytes first (a handle is a secret).

use std::ffi::{c_char, CString};
use zeroize::Zeroize;

use super::boundary::guard;

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
