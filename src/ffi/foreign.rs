//! Host data the library holds: a `void *user_data` and the optional finalizer the library
//! calls exactly once, when it no longer needs the data.

use std::ffi::c_void;

/// A finalizer for host user data: called exactly once, on the thread that drops the last
/// reference (the one calling `rtc_service_free` or `rtc_service_builder_free`, or replacing
/// a callback).
pub type rtc_free_fn = Option<unsafe extern "C" fn(user_data: *mut c_void)>;

/// The function type inside a nullable callback type (`Option<unsafe extern "C" fn ...>`): what
/// the library keeps once it has checked a required callback is there, so that every signature
/// is written once, in the ABI type the header shows.
pub(crate) type Required<T> = <T as Nullable>::Fn;

pub(crate) trait Nullable {
    type Fn: Copy;
}

impl<F: Copy> Nullable for Option<F> {
    type Fn = F;
}

pub(crate) struct UserData {
    pub ptr: *mut c_void,
    free: rtc_free_fn,
}

impl UserData {
    pub fn new(ptr: *mut c_void, free: rtc_free_fn) -> Self {
        Self { ptr, free }
    }
}

impl Drop for UserData {
    fn drop(&mut self) {
        if let Some(free) = self.free {
            // SAFETY: the host registered this finalizer for this pointer; Drop runs once.
            unsafe { free(self.ptr) };
        }
    }
}

// SAFETY: the header requires every callback, and so every use of its user data, to be safe to
// call from any thread, concurrently ("Threads" in refresh_token_core.h). The library never
// dereferences the pointer itself.
unsafe impl Send for UserData {}
// SAFETY: as above.
unsafe impl Sync for UserData {}
