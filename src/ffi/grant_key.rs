//! The one format function a host needs without a service: the persisted-grant key of a handle.

use std::ffi::c_char;

use super::boundary::call;
use super::error::rtc_error;
use super::read;
use super::result::rtc_result;
use super::text::{out_string, RTC_MAX_STRING_LEN};
use super::write::Out;

/// The persisted-grant key of a refresh-token handle (what the store's Key column holds).
#[no_mangle]
pub extern "C" fn rtc_grant_key(
    handle: *const c_char,
    handle_len: usize,
    out_key: *mut *mut c_char,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let out_key = Out::required(out_key, "out_key")?;
        let handle = read::text(handle, handle_len, "handle", RTC_MAX_STRING_LEN)?;
        out_key.set(out_string(crate::format::key::refresh_token_key(handle)));
        Ok(())
    })
}
