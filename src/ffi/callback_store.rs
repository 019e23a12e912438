//! `CallbackStore`: a [`GrantStore`] that calls the host's function pointers, so that a host
//! keeps the token store it has.

use std::ffi::{c_char, c_void};

use super::foreign::{Required, UserData};
use super::sink::{rtc_grant_row, rtc_row_sink};
use super::text::rtc_str;
use super::time::{rtc_timestamp, to_ticks};
use crate::model::{GrantFilter, PersistedGrant};
use crate::store::{
    check_filter, two_step_rotate, unconditional_consume, ConsumeAction, ConsumeOutcome,
    GrantStore, StoreError,
};

/// A filter for `get_all` / `remove_all`. NULL views are "not set"; the lists may be empty
/// (`NULL`, 0). At least one field is set (the library never sends an empty filter).
#[repr(C)]
pub struct rtc_grant_filter {
    pub subject_id: rtc_str,
    pub session_id: rtc_str,
    pub client_id: rtc_str,
    pub client_ids: *const rtc_str,
    pub client_ids_len: usize,
    pub grant_type: rtc_str,
    pub grant_types: *const rtc_str,
    pub grant_types_len: usize,
}

/// The host's storage, as function pointers. Each returns a status: 0 (or, for `consume`, an
/// `rtc_consume_outcome`) on success, a negative value on failure (the library answers
/// `RTC_RESULT_STORAGE_UNAVAILABLE` and consumes nothing). See "Storage callbacks" in the header
/// comment for threads, re-entrancy and ownership.
#[repr(C)]
pub struct rtc_store_callbacks {
    /// Required. Push the row whose key equals `key` (ordinal) into `sink`, or nothing.
    pub get: rtc_store_get_fn,
    /// Required. Insert the row, or overwrite every column of the row with the same key.
    pub store: rtc_store_store_fn,
    /// Required. Delete the row with this key; a missing row is success.
    pub remove: rtc_store_remove_fn,
    /// Required. Push every row matching the filter into `sink`.
    pub get_all: rtc_store_get_all_fn,
    /// Required. Delete every row matching the filter; write how many to `out_removed`.
    pub remove_all: rtc_store_remove_all_fn,
    /// Optional but strongly advised: the conditional consume, atomic. With `replacement` NULL:
    /// delete the row if present. Otherwise: overwrite the row with `replacement` only if the
    /// stored ConsumedTime is NULL. Return `RTC_CONSUME_WON`, `RTC_CONSUME_ALREADY_CONSUMED` or
    /// `RTC_CONSUME_NOT_FOUND`. When NULL the library reads then writes, as the reference does,
    /// and two parallel requests can both redeem one OneTimeOnly token: the build then needs
    /// `rtc_service_builder_allow_non_atomic_consume`.
    pub consume: rtc_store_consume_fn,
    /// Required. Delete up to `batch` rows whose Expiration < `now`, oldest first (NULL never);
    /// write how many (at most `batch`) to `out_removed`.
    pub remove_expired: rtc_store_remove_expired_fn,
    /// Required. Delete up to `batch` rows whose ConsumedTime < `before`, oldest first; write how
    /// many (at most `batch`) to `out_removed`.
    pub remove_consumed: rtc_store_remove_consumed_fn,
    /// Optional, advised with `consume`: a rotation as one transaction. Consume `key` exactly as
    /// `consume` does and, only if that won, insert `successor` unless a row with its key exists;
    /// all or nothing. Return an `rtc_consume_outcome`, or a negative value on failure (also when
    /// the outcome is unknown, e.g. a COMMIT whose answer was lost: the library then reads back
    /// what happened). When NULL the library inserts the successor first, then consumes, and a
    /// failure between the two leaves a successor row that the next retry of the same token
    /// completes (it is never removed: it is the one successor every retry names).
    pub rotate: rtc_store_rotate_fn,
}

/// The `get` callback of `rtc_store_callbacks`.
pub type rtc_store_get_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        sink: *mut rtc_row_sink,
    ) -> i32,
>;

/// The `store` callback of `rtc_store_callbacks`.
pub type rtc_store_store_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, row: *const rtc_grant_row) -> i32>;

/// The `remove` callback of `rtc_store_callbacks`.
pub type rtc_store_remove_fn =
    Option<unsafe extern "C" fn(user_data: *mut c_void, key: *const c_char, key_len: usize) -> i32>;

/// The `get_all` callback of `rtc_store_callbacks`.
pub type rtc_store_get_all_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        filter: *const rtc_grant_filter,
        sink: *mut rtc_row_sink,
    ) -> i32,
>;

/// The `remove_all` callback of `rtc_store_callbacks`.
pub type rtc_store_remove_all_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        filter: *const rtc_grant_filter,
        out_removed: *mut u64,
    ) -> i32,
>;

/// The `consume` callback of `rtc_store_callbacks`.
pub type rtc_store_consume_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        replacement: *const rtc_grant_row,
    ) -> i32,
>;

/// The `remove_expired` callback of `rtc_store_callbacks`.
pub type rtc_store_remove_expired_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        now: rtc_timestamp,
        batch: usize,
        out_removed: *mut u64,
    ) -> i32,
>;

/// The `remove_consumed` callback of `rtc_store_callbacks`.
pub type rtc_store_remove_consumed_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        before: rtc_timestamp,
        batch: usize,
        out_removed: *mut u64,
    ) -> i32,
>;

/// The `rotate` callback of `rtc_store_callbacks`.
pub type rtc_store_rotate_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        key: *const c_char,
        key_len: usize,
        replacement: *const rtc_grant_row,
        successor: *const rtc_grant_row,
    ) -> i32,
>;

/// What a `consume` callback answers.
#[repr(i32)]
pub enum rtc_consume_outcome {
    /// This call consumed the row.
    RTC_CONSUME_WON = 0,
    /// The row is there but its ConsumedTime is already set.
    RTC_CONSUME_ALREADY_CONSUMED = 1,
    /// There is no such row.
    RTC_CONSUME_NOT_FOUND = 2,
}

/// The row a mark-mode consume writes, as a view for a callback; `None` (NULL) for a delete.
pub(super) fn replacement_view(action: &ConsumeAction) -> Option<rtc_grant_row> {
    match action {
        ConsumeAction::Delete => None,
        ConsumeAction::MarkConsumed(row) => Some(rtc_grant_row::view(row)),
    }
}

/// A `consume` or `rotate` callback's answer as an outcome.
pub(super) fn outcome(name: &str, s: i32) -> Result<ConsumeOutcome, StoreError> {
    use rtc_consume_outcome::*;
    const WON: i32 = RTC_CONSUME_WON as i32;
    const ALREADY_CONSUMED: i32 = RTC_CONSUME_ALREADY_CONSUMED as i32;
    const NOT_FOUND: i32 = RTC_CONSUME_NOT_FOUND as i32;
    match s {
        WON => Ok(ConsumeOutcome::Won),
        ALREADY_CONSUMED => Ok(ConsumeOutcome::AlreadyConsumed),
        NOT_FOUND => Ok(ConsumeOutcome::NotFound),
        s if s < 0 => Err(StoreError::Unavailable(format!(
            "store callback '{name}' failed with status {s}"
        ))),
        s => Err(StoreError::BadResponse(format!(
            "store callback '{name}' returned unknown outcome {s}"
        ))),
    }
}

/// The host's callbacks, the required ones checked present; each signature is written once, in
/// its ABI type.
pub(crate) struct CallbackStore {
    get: Required<rtc_store_get_fn>,
    store: Required<rtc_store_store_fn>,
    remove: Required<rtc_store_remove_fn>,
    get_all: Required<rtc_store_get_all_fn>,
    remove_all: Required<rtc_store_remove_all_fn>,
    consume: rtc_store_consume_fn,
    remove_expired: Required<rtc_store_remove_expired_fn>,
    remove_consumed: Required<rtc_store_remove_consumed_fn>,
    rotate: rtc_store_rotate_fn,
    user_data: UserData,
}

impl CallbackStore {
    /// Fails with the name of a missing required callback; the user data is then untouched (its
    /// finalizer is not called: the caller still owns it).
    pub fn new(
        cb: &rtc_store_callbacks,
        user_data: *mut c_void,
        free: super::foreign::rtc_free_fn,
    ) -> Result<Self, &'static str> {
        macro_rules! req {
            ($f:ident) => {
                match cb.$f {
                    Some(f) => f,
                    None => return Err(stringify!($f)),
                }
            };
        }
        // Every required callback is checked before the user data is taken over.
        let (get, store, remove, get_all, remove_all, remove_expired, remove_consumed) = (
            req!(get),
            req!(store),
            req!(remove),
            req!(get_all),
            req!(remove_all),
            req!(remove_expired),
            req!(remove_consumed),
        );
        Ok(Self {
            get,
            store,
            remove,
            get_all,
            remove_all,
            consume: cb.consume,
            remove_expired,
            remove_consumed,
            rotate: cb.rotate,
            user_data: UserData::new(user_data, free),
        })
    }

    fn ud(&self) -> *mut c_void {
        self.user_data.ptr
    }
}

pub(super) fn status(name: &str, s: i32) -> Result<(), StoreError> {
    if s == 0 {
        Ok(())
    } else if s < 0 {
        Err(StoreError::Unavailable(format!(
            "store callback '{name}' failed with status {s}"
        )))
    } else {
        Err(StoreError::BadResponse(format!(
            "store callback '{name}' returned unknown status {s}"
        )))
    }
}

pub(super) fn removed(name: &str, s: i32, n: u64, batch: Option<usize>) -> Result<u64, StoreError> {
    status(name, s)?;
    match batch {
        Some(b) if n > b as u64 => Err(StoreError::BadResponse(format!(
            "store callback '{name}' removed {n} rows of a batch of {b}"
        ))),
        _ => Ok(n),
    }
}

/// Owned string views of a filter, kept alive while the callback runs.
pub(super) struct FilterView<'a> {
    client_ids: Vec<rtc_str>,
    grant_types: Vec<rtc_str>,
    filter: &'a GrantFilter,
}

impl<'a> FilterView<'a> {
    pub(super) fn new(filter: &'a GrantFilter) -> Self {
        Self {
            client_ids: filter.client_ids.iter().map(|s| rtc_str::of(s)).collect(),
            grant_types: filter.grant_types.iter().map(|s| rtc_str::of(s)).collect(),
            filter,
        }
    }

    pub(super) fn raw(&self) -> rtc_grant_filter {
        raw_filter(self.filter, &self.client_ids, &self.grant_types)
    }
}

/// The C view of a filter; its lists are `client_ids` / `grant_types` (views of the filter's).
pub(super) fn raw_filter(
    f: &GrantFilter,
    client_ids: &[rtc_str],
    grant_types: &[rtc_str],
) -> rtc_grant_filter {
    let list = |l: &[rtc_str]| {
        if l.is_empty() {
            std::ptr::null()
        } else {
            l.as_ptr()
        }
    };
    rtc_grant_filter {
        subject_id: rtc_str::of_opt(f.subject_id.as_deref()),
        session_id: rtc_str::of_opt(f.session_id.as_deref()),
        client_id: rtc_str::of_opt(f.client_id.as_deref()),
        client_ids: list(client_ids),
        client_ids_len: client_ids.len(),
        grant_type: rtc_str::of_opt(f.grant_type.as_deref()),
        grant_types: list(grant_types),
        grant_types_len: grant_types.len(),
    }
}

// Every callback below is called with views that live until it returns, and with the user data
// the host registered; the header documents both.
impl GrantStore for CallbackStore {
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError> {
        let mut sink = rtc_row_sink::new(1);
        // SAFETY: see the comment above the impl.
        let s = unsafe { (self.get)(self.ud(), key.as_ptr().cast(), key.len(), &mut sink) };
        status("get", s)?;
        let mut rows = sink.finish()?;
        match rows.pop() {
            Some(row) if row.key != key => Err(StoreError::BadResponse(
                "store callback 'get' returned a row with another key".into(),
            )),
            other => Ok(other),
        }
    }

    fn store(&self, grant: &PersistedGrant) -> Result<(), StoreError> {
        let row = rtc_grant_row::view(grant);
        // SAFETY: see the comment above the impl.
        status("store", unsafe { (self.store)(self.ud(), &row) })
    }

    fn remove(&self, key: &str) -> Result<(), StoreError> {
        // SAFETY: see the comment above the impl.
        status("remove", unsafe {
            (self.remove)(self.ud(), key.as_ptr().cast(), key.len())
        })
    }

    fn get_all(&self, filter: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError> {
        check_filter(filter)?;
        let view = FilterView::new(filter);
        let raw = view.raw();
        let mut sink = rtc_row_sink::new(usize::MAX);
        // SAFETY: see the comment above the impl.
        let s = unsafe { (self.get_all)(self.ud(), &raw, &mut sink) };
        status("get_all", s)?;
        let rows = sink.finish()?;
        // Applied again in memory, as the reference's EF store does, so a lax host filter
        // cannot widen what the service acts on.
        Ok(rows.into_iter().filter(|r| filter.matches(r)).collect())
    }

    fn remove_all(&self, filter: &GrantFilter) -> Result<u64, StoreError> {
        check_filter(filter)?;
        let view = FilterView::new(filter);
        let raw = view.raw();
        let mut n = 0u64;
        // SAFETY: see the comment above the impl.
        let s = unsafe { (self.remove_all)(self.ud(), &raw, &mut n) };
        removed("remove_all", s, n, None)
    }

    fn consume(&self, key: &str, action: &ConsumeAction) -> Result<ConsumeOutcome, StoreError> {
        let Some(consume) = self.consume else {
            return unconditional_consume(self, key, action);
        };
        let owned = replacement_view(action);
        let replacement = owned
            .as_ref()
            .map_or(std::ptr::null(), |r| r as *const rtc_grant_row);
        // SAFETY: see the comment above the impl.
        let s = unsafe { consume(self.ud(), key.as_ptr().cast(), key.len(), replacement) };
        outcome("consume", s)
    }

    fn atomic_consume(&self) -> bool {
        self.consume.is_some()
    }

    fn rotate(
        &self,
        key: &str,
        action: &ConsumeAction,
        successor: &PersistedGrant,
    ) -> Result<ConsumeOutcome, StoreError> {
        let Some(rotate) = self.rotate else {
            return two_step_rotate(self, key, action, successor);
        };
        let owned = replacement_view(action);
        let replacement = owned
            .as_ref()
            .map_or(std::ptr::null(), |r| r as *const rtc_grant_row);
        let next = rtc_grant_row::view(successor);
        // SAFETY: see the comment above the impl.
        let s = unsafe {
            rotate(
                self.ud(),
                key.as_ptr().cast(),
                key.len(),
                replacement,
                &next,
            )
        };
        outcome("rotate", s)
    }

    fn remove_expired(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        batch_size: usize,
    ) -> Result<u64, StoreError> {
        let mut n = 0u64;
        // SAFETY: see the comment above the impl.
        let s = unsafe { (self.remove_expired)(self.ud(), to_ticks(now), batch_size, &mut n) };
        removed("remove_expired", s, n, Some(batch_size))
    }

    fn remove_consumed(
        &self,
        before: chrono::DateTime<chrono::Utc>,
        batch_size: usize,
    ) -> Result<u64, StoreError> {
        let mut n = 0u64;
        // SAFETY: see the comment above the impl.
        let s = unsafe { (self.remove_consumed)(self.ud(), to_ticks(before), batch_size, &mut n) };
        removed("remove_consumed", s, n, Some(batch_size))
    }
}
