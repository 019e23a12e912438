//! The version functions: what a binding checks before any other call.

use std::ffi::c_char;

use super::boundary::guard;

/// The ABI version: bumped whenever a signature, struct layout or numbering changes
/// incompatibly. Bindings compare it with `rtc_abi_version()` before any other call.
pub const RTC_ABI_VERSION: u32 = 2;

const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "\0");

/// The library version ("MAJOR.MINOR.PATCH", equal to `RTC_VERSION`). A static string; ""
/// only if the library failed internally (a panic).
#[no_mangle]
pub extern "C" fn rtc_version() -> *const c_char {
    guard(|| c"".as_ptr(), || VERSION.as_ptr().cast())
}

/// The ABI version of the loaded library; compare it with `RTC_ABI_VERSION`. 0 (no ABI) only if
/// the library failed internally (a panic): a binding then refuses to load it.
#[no_mangle]
pub extern "C" fn rtc_abi_version() -> u32 {
    guard(|| 0, || RTC_ABI_VERSION)
}
