//! Typed writers for what an export hands back: output slots and the objects it gives out. An
//! export checks its required outputs before doing any work (a NULL one fails the call with
//! nothing done) and writes them only once nothing can fail, so outputs change only on success.
//!
//! SAFETY (the header's POINTERS contract): an output pointer is NULL or valid for writing one
//! value of its type for the whole call.

/// A required output slot, checked non-NULL when the export starts.
pub(crate) struct Out<T>(*mut T);

impl<T> Out<T> {
    pub fn required(ptr: *mut T, name: &str) -> Result<Self, super::error::FfiError> {
        if ptr.is_null() {
            Err(super::error::FfiError::null(name))
        } else {
            Ok(Self(ptr))
        }
    }

    pub fn set(self, value: T) {
        // SAFETY: non-NULL (checked by `required`) and writable by the POINTERS contract.
        unsafe { self.0.write(value) };
    }
}

/// An optional output slot: NULL means the caller does not want the value, which is then not
/// even computed.
pub(crate) struct OptOut<T>(*mut T);

impl<T> OptOut<T> {
    pub fn new(ptr: *mut T) -> Self {
        Self(ptr)
    }

    pub fn set(self, value: impl FnOnce() -> T) {
        if !self.0.is_null() {
            // `write`, not assignment: the slot may hold garbage (an uninitialised C variable),
            // which must not be dropped.
            // SAFETY: non-NULL, so writable by the POINTERS contract.
            unsafe { self.0.write(value()) };
        }
    }
}

/// Gives an object to the host: it owns the pointer until it hands it back to the export that
/// frees or consumes it ([`take`](super::read::take)).
pub(crate) fn give<T>(object: T) -> *mut T {
    Box::into_raw(Box::new(object))
}
