//! The C ABI. Every export starts with `rtc_`, catches panics, checks every pointer and
//! string, and writes its outputs only on success. The header `include/refresh_token_core.h` is
//! generated from this module by cbindgen (see build.rs); its top comment is the contract.
//!
//! This layer makes no token decision: it converts arguments, calls the service, and converts
//! the answer.
#![allow(non_camel_case_types)]
// The exports take raw pointers from C: their safety contract is the header's, not Rust's type
// system. Each one checks every pointer for NULL and documents what it requires.
#![allow(clippy::not_unsafe_ptr_arg_deref)]
// Exports mirror the C signatures (inputs, then outputs, then the error slot).
#![allow(clippy::too_many_arguments)]

pub mod callback_hooks;
pub mod callback_store;
pub mod config;
pub mod error;
pub mod foreign;
mod json;
pub mod result;
pub mod service;
pub mod sink;
pub mod text;
pub mod time;

use std::ffi::c_char;
use std::panic::{catch_unwind, AssertUnwindSafe};

use error::{rtc_error, FfiError};
use result::rtc_result;

/// The ABI version: bumped whenever a signature, struct layout or numbering changes
/// incompatibly. Bindings compare it with `rtc_abi_version()` before any other call.
pub const RTC_ABI_VERSION: u32 = 2;

/// Test-only: make the next export called on this thread panic inside its boundary, to show
/// that a panic becomes `RTC_RESULT_PANIC` and the service keeps serving. Only with the
/// `fault-injection` feature; never in a normal build.
#[cfg(feature = "fault-injection")]
pub mod testing {
    use std::cell::Cell;

    thread_local! {
        pub(crate) static PANIC_NEXT: Cell<bool> = const { Cell::new(false) };
    }

    /// Arms the panic for the next export called on this thread.
    pub fn panic_in_next_call() {
        PANIC_NEXT.with(|p| p.set(true));
    }
}

/// Runs an export's body behind the panic boundary and turns its error into a result code and,
/// if the caller asked for it, an error object.
pub(crate) fn call(
    out_error: *mut *mut rtc_error,
    f: impl FnOnce() -> Result<(), FfiError>,
) -> rtc_result {
    let guarded = || {
        #[cfg(feature = "fault-injection")]
        if testing::PANIC_NEXT.with(|p| p.replace(false)) {
            panic!("forced by the fault-injection test switch");
        }
        f()
    };
    let err = match catch_unwind(AssertUnwindSafe(guarded)) {
        Ok(Ok(())) => return rtc_result::RTC_RESULT_OK,
        Ok(Err(e)) => e,
        Err(_) => FfiError::new(
            rtc_result::RTC_RESULT_PANIC,
            "internal error (panic); the call had no effect on its outputs",
        ),
    };
    let code = err.code;
    if !out_error.is_null() {
        // SAFETY: the caller passed a writable `rtc_error *` slot (documented).
        unsafe { out_error.write(err.into_raw()) };
    }
    code
}

/// The panic boundary for exports that return a bare result code.
pub(crate) fn boundary(f: impl FnOnce() -> rtc_result) -> rtc_result {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or(rtc_result::RTC_RESULT_PANIC)
}

/// The panic boundary for exports with no result (the `_free` functions).
pub(crate) fn boundary_void(f: impl FnOnce()) {
    let _ = catch_unwind(AssertUnwindSafe(f));
}

/// Writes an output.
///
/// # Safety
/// `out` must be non-NULL and writable.
pub(crate) unsafe fn write_out<T>(out: *mut T, value: T) {
    // SAFETY: per the contract.
    unsafe { out.write(value) };
}

/// Writes an optional output: a NULL pointer means the caller does not want it, and then the
/// value is not even computed.
///
/// # Safety
/// `out` must be NULL or writable.
pub(crate) unsafe fn write_opt<T>(out: *mut T, value: impl FnOnce() -> T) {
    if !out.is_null() {
        // SAFETY: non-NULL and writable per the contract.
        unsafe { out.write(value()) };
    }
}

/// The library version ("MAJOR.MINOR.PATCH", equal to `RTC_VERSION`). A static string.
#[no_mangle]
pub extern "C" fn rtc_version() -> *const c_char {
    concat!(env!("CARGO_PKG_VERSION"), "\0").as_ptr().cast()
}

/// The ABI version of the loaded library; compare it with `RTC_ABI_VERSION`.
#[no_mangle]
pub extern "C" fn rtc_abi_version() -> u32 {
    RTC_ABI_VERSION
}
