//! The one boundary every export goes through: a panic inside an export never unwinds into the
//! host. It becomes the export's panic answer (`RTC_RESULT_PANIC` with an error object for the
//! fallible exports; a documented neutral value for the accessors and the `_free` functions),
//! and the service keeps serving.

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::error::{rtc_error, FfiError};
use super::result::rtc_result;
use super::write::OptOut;

/// Runs an export's body; a panic answers `on_panic()` instead. Every export calls this, directly
/// or through [`call`]: the fault-injection switch lives here so a test can prove it per export.
pub(crate) fn guard<T>(on_panic: impl FnOnce() -> T, body: impl FnOnce() -> T) -> T {
    let guarded = || {
        #[cfg(feature = "fault-injection")]
        if super::testing::PANIC_NEXT.with(|p| p.replace(false)) {
            panic!("forced by the fault-injection test switch");
        }
        body()
    };
    catch_unwind(AssertUnwindSafe(guarded)).unwrap_or_else(|_| on_panic())
}

/// The fallible exports: runs the body behind [`guard`] and turns its error (or a panic) into a
/// result code and, if the caller passed an `rtc_error **` slot, an error object. Outputs are
/// the body's to write, and it writes them only once nothing can fail any more.
pub(crate) fn call(
    out_error: *mut *mut rtc_error,
    body: impl FnOnce() -> Result<(), FfiError>,
) -> rtc_result {
    let outcome = guard(
        || {
            Err(FfiError::new(
                rtc_result::RTC_RESULT_PANIC,
                "internal error (panic); the call had no effect on its outputs",
            ))
        },
        body,
    );
    match outcome {
        Ok(()) => rtc_result::RTC_RESULT_OK,
        Err(err) => {
            let code = err.code;
            OptOut::new(out_error).set(|| err.into_raw());
            code
        }
    }
}
