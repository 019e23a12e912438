//! The lock the in-memory store uses: parking_lot's, or loom's when the crate is built with
//! `--cfg rtc_loom`, so that tests/loom_memory.rs can explore every interleaving of the conditional
//! consume and the rotation.

#[cfg(not(rtc_loom))]
pub(crate) use parking_lot::RwLock;

/// loom's RwLock with parking_lot's shape (guards without `Result`).
#[cfg(rtc_loom)]
pub(crate) struct RwLock<T>(loom::sync::RwLock<T>);

#[cfg(rtc_loom)]
impl<T> RwLock<T> {
    pub(crate) fn new(value: T) -> Self {
        Self(loom::sync::RwLock::new(value))
    }

    pub(crate) fn read(&self) -> loom::sync::RwLockReadGuard<'_, T> {
        self.0.read().expect("poisoned")
    }

    pub(crate) fn write(&self) -> loom::sync::RwLockWriteGuard<'_, T> {
        self.0.write().expect("poisoned")
    }
}
