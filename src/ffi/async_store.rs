//! The host's storage, answered later: one callback receives each request with a completion id
//! and returns at once; the host answers through the completion ([`super::completion`]), before
//! returning or later, from any thread. In Rust it is an [`AsyncGrantStore`]: the operation waits
//! on the answer without holding a thread (through the synchronous exports, the calling thread
//! parks until the answer comes).

use std::ffi::c_void;

use chrono::{DateTime, Utc};

use super::callback_store::{outcome, raw_filter, removed, rtc_grant_filter, status};
use super::completion::{self, Answer, Waiting};
use super::foreign::{Required, UserData};
use super::sink::rtc_grant_row;
use super::text::rtc_str;
use super::time::{rtc_timestamp, to_ticks};
use crate::model::{GrantFilter, PersistedGrant};
use crate::store::{
    check_filter, AsyncGrantStore, ConsumeAction, ConsumeOutcome, StoreError, StoreFuture,
};

/// What an asynchronous store request asks for (`rtc_store_request.op`).
#[repr(u32)]
#[derive(Clone, Copy)]
pub enum rtc_store_op {
    /// Push the row whose key equals `key` (0 or 1 row), finish with 0.
    RTC_STORE_GET = 0,
    /// Insert `row`, or overwrite every column of the row with its key; finish with 0.
    RTC_STORE_STORE = 1,
    /// Delete the row with `key` (a missing row is success); finish with 0.
    RTC_STORE_REMOVE = 2,
    /// Push every row matching `filter`; finish with 0.
    RTC_STORE_GET_ALL = 3,
    /// Delete every row matching `filter`; finish with 0 and how many as the count.
    RTC_STORE_REMOVE_ALL = 4,
    /// The conditional consume (only with `RTC_STORE_CAN_CONSUME`): as the `consume` callback of
    /// `rtc_store_callbacks`, `row` the replacement (NULL: delete); finish with an
    /// `rtc_consume_outcome`.
    RTC_STORE_CONSUME = 5,
    /// The rotation in one transaction (only with `RTC_STORE_CAN_ROTATE`): as the `rotate`
    /// callback, `row` the replacement (NULL: delete), `successor` the row to insert; finish
    /// with an `rtc_consume_outcome`.
    RTC_STORE_ROTATE = 6,
    /// Delete up to `batch` rows whose Expiration < `time`, oldest first; the count ≤ `batch`.
    RTC_STORE_REMOVE_EXPIRED = 7,
    /// Delete up to `batch` rows whose ConsumedTime < `time`, oldest first; the count ≤ `batch`.
    RTC_STORE_REMOVE_CONSUMED = 8,
}

/// The store can do the conditional consume (`RTC_STORE_CONSUME`); without it the library reads
/// then writes, as the reference does, and parallel requests can both redeem a one-time token.
pub const RTC_STORE_CAN_CONSUME: u32 = 1;
/// The store can rotate in one transaction (`RTC_STORE_ROTATE`).
pub const RTC_STORE_CAN_ROTATE: u32 = 2;

/// One request to an asynchronous store. It and everything it points to stay valid until the
/// request's completion is finished.
#[repr(C)]
pub struct rtc_store_request {
    /// An `rtc_store_op`.
    pub op: u32,
    /// GET, REMOVE, CONSUME, ROTATE: the key.
    pub key: rtc_str,
    /// STORE: the row; CONSUME, ROTATE: the replacement (NULL: delete). Otherwise NULL.
    pub row: *const rtc_grant_row,
    /// ROTATE: the successor. Otherwise NULL.
    pub successor: *const rtc_grant_row,
    /// GET_ALL, REMOVE_ALL: the filter (never empty). Otherwise NULL.
    pub filter: *const rtc_grant_filter,
    /// REMOVE_EXPIRED: now; REMOVE_CONSUMED: the cut-off. Otherwise `RTC_TIME_NONE`.
    pub time: rtc_timestamp,
    /// REMOVE_EXPIRED, REMOVE_CONSUMED: the batch size. Otherwise 0.
    pub batch: usize,
}

/// The asynchronous store callback: starts `request` and returns; the host answers through
/// `completion` exactly once (`rtc_completion_finish`), now or later, from any thread.
pub type rtc_async_store_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        request: *const rtc_store_request,
        completion: u64,
    ),
>;

/// What a request points into, owned for as long as the request may be read.
struct Owned {
    key: String,
    row: Option<PersistedGrant>,
    successor: Option<PersistedGrant>,
    filter: Option<GrantFilter>,
    row_view: Option<rtc_grant_row>,
    successor_view: Option<rtc_grant_row>,
    client_ids: Vec<rtc_str>,
    grant_types: Vec<rtc_str>,
    filter_view: Option<rtc_grant_filter>,
    request: rtc_store_request,
}

impl Owned {
    fn new(op: rtc_store_op) -> Self {
        Self {
            key: String::new(),
            row: None,
            successor: None,
            filter: None,
            row_view: None,
            successor_view: None,
            client_ids: Vec::new(),
            grant_types: Vec::new(),
            filter_view: None,
            request: rtc_store_request {
                op: op as u32,
                key: rtc_str::of_opt(None),
                row: std::ptr::null(),
                successor: std::ptr::null(),
                filter: std::ptr::null(),
                time: super::time::RTC_TIME_NONE,
                batch: 0,
            },
        }
    }

    /// Points the request at the owned data. Called once the data is in its final (boxed) place;
    /// the views point into heap buffers that do not move.
    fn seal(mut self: Box<Self>) -> Box<Self> {
        self.row_view = self.row.as_ref().map(rtc_grant_row::view);
        self.successor_view = self.successor.as_ref().map(rtc_grant_row::view);
        if let Some(f) = &self.filter {
            self.client_ids = f.client_ids.iter().map(|s| rtc_str::of(s)).collect();
            self.grant_types = f.grant_types.iter().map(|s| rtc_str::of(s)).collect();
            self.filter_view = Some(raw_filter(f, &self.client_ids, &self.grant_types));
        }
        let ptr =
            |v: &Option<rtc_grant_row>| v.as_ref().map_or(std::ptr::null(), |r| r as *const _);
        self.request.key = rtc_str::of(&self.key);
        self.request.row = ptr(&self.row_view);
        self.request.successor = ptr(&self.successor_view);
        self.request.filter = self
            .filter_view
            .as_ref()
            .map_or(std::ptr::null(), |f| f as *const _);
        self
    }
}

// SAFETY: the raw pointers in `Owned` point only into `Owned`'s own heap data, which is never
// changed after `seal`; the host reads it from whatever thread it likes, as documented.
unsafe impl Send for Owned {}
// SAFETY: as above; shared access is read-only.
unsafe impl Sync for Owned {}

/// The host's asynchronous store.
pub(crate) struct FfiAsyncStore {
    callback: Required<rtc_async_store_fn>,
    capabilities: u32,
    user_data: UserData,
}

impl FfiAsyncStore {
    pub fn new(
        callback: Required<rtc_async_store_fn>,
        capabilities: u32,
        user_data: UserData,
    ) -> Self {
        Self {
            callback,
            capabilities,
            user_data,
        }
    }

    /// Hands a request to the host and waits for its answer.
    fn ask(&self, owned: Owned, max_rows: usize) -> Waiting {
        let owned = Box::new(owned).seal();
        let request: *const rtc_store_request = &owned.request;
        let (id, waiting) = completion::open(owned, max_rows);
        // SAFETY: the callback is the host's, called with its user data and a request that stays
        // valid until the completion is finished (the registry keeps the box, whose heap data
        // does not move, until then).
        unsafe { (self.callback)(self.user_data.ptr, request, id) };
        waiting
    }

    fn keyed(op: rtc_store_op, key: &str) -> Owned {
        let mut o = Owned::new(op);
        o.key = key.to_owned();
        o
    }

    fn filtered(op: rtc_store_op, filter: &GrantFilter) -> Owned {
        let mut o = Owned::new(op);
        o.filter = Some(filter.clone());
        o
    }

    fn timed(op: rtc_store_op, t: DateTime<Utc>, batch: usize) -> Owned {
        let mut o = Owned::new(op);
        o.request.time = to_ticks(t);
        o.request.batch = batch;
        o
    }

    /// The row a mark-mode consume writes; `None` for a delete.
    fn replacement(action: &ConsumeAction) -> Option<PersistedGrant> {
        match action {
            ConsumeAction::MarkConsumed(row) => Some((**row).clone()),
            ConsumeAction::Delete => None,
        }
    }
}

impl AsyncGrantStore for FfiAsyncStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<PersistedGrant>> {
        let waiting = self.ask(Self::keyed(rtc_store_op::RTC_STORE_GET, key), 1);
        Box::pin(async move {
            let a = waiting.await;
            status("get", a.status)?;
            let mut rows = a.rows?;
            match rows.pop() {
                Some(row) if row.key != key => Err(StoreError::BadResponse(
                    "store request 'get' answered a row with another key".into(),
                )),
                other => Ok(other),
            }
        })
    }

    fn store<'a>(&'a self, grant: &'a PersistedGrant) -> StoreFuture<'a, ()> {
        let mut o = Owned::new(rtc_store_op::RTC_STORE_STORE);
        o.row = Some(grant.clone());
        let waiting = self.ask(o, 0);
        Box::pin(async move { answered("store", waiting.await) })
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let waiting = self.ask(Self::keyed(rtc_store_op::RTC_STORE_REMOVE, key), 0);
        Box::pin(async move { answered("remove", waiting.await) })
    }

    fn get_all<'a>(&'a self, filter: &'a GrantFilter) -> StoreFuture<'a, Vec<PersistedGrant>> {
        if let Err(e) = check_filter(filter) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let waiting = self.ask(
            Self::filtered(rtc_store_op::RTC_STORE_GET_ALL, filter),
            usize::MAX,
        );
        Box::pin(async move {
            let a = waiting.await;
            status("get_all", a.status)?;
            // Applied again, so a lax host filter cannot widen what the service acts on.
            Ok(a.rows?.into_iter().filter(|r| filter.matches(r)).collect())
        })
    }

    fn remove_all<'a>(&'a self, filter: &'a GrantFilter) -> StoreFuture<'a, u64> {
        if let Err(e) = check_filter(filter) {
            return Box::pin(std::future::ready(Err(e)));
        }
        let waiting = self.ask(
            Self::filtered(rtc_store_op::RTC_STORE_REMOVE_ALL, filter),
            0,
        );
        Box::pin(async move { counted("remove_all", waiting.await, None) })
    }

    fn consume<'a>(
        &'a self,
        key: &'a str,
        action: &'a ConsumeAction,
    ) -> StoreFuture<'a, ConsumeOutcome> {
        if self.capabilities & RTC_STORE_CAN_CONSUME == 0 {
            return crate::store::async_store::read_then_write(self, key, action);
        }
        let mut o = Self::keyed(rtc_store_op::RTC_STORE_CONSUME, key);
        o.row = Self::replacement(action);
        let waiting = self.ask(o, 0);
        Box::pin(async move { decided("consume", waiting.await) })
    }

    fn rotate<'a>(
        &'a self,
        key: &'a str,
        action: &'a ConsumeAction,
        successor: &'a PersistedGrant,
    ) -> StoreFuture<'a, ConsumeOutcome> {
        if self.capabilities & RTC_STORE_CAN_ROTATE == 0 {
            return crate::store::async_store::two_step(self, key, action, successor);
        }
        let mut o = Self::keyed(rtc_store_op::RTC_STORE_ROTATE, key);
        o.row = Self::replacement(action);
        o.successor = Some(successor.clone());
        let waiting = self.ask(o, 0);
        Box::pin(async move { decided("rotate", waiting.await) })
    }

    fn atomic_consume(&self) -> bool {
        self.capabilities & RTC_STORE_CAN_CONSUME != 0
    }

    fn remove_expired(&self, now: DateTime<Utc>, batch: usize) -> StoreFuture<'_, u64> {
        let waiting = self.ask(
            Self::timed(rtc_store_op::RTC_STORE_REMOVE_EXPIRED, now, batch),
            0,
        );
        Box::pin(async move { counted("remove_expired", waiting.await, Some(batch)) })
    }

    fn remove_consumed(&self, before: DateTime<Utc>, batch: usize) -> StoreFuture<'_, u64> {
        let waiting = self.ask(
            Self::timed(rtc_store_op::RTC_STORE_REMOVE_CONSUMED, before, batch),
            0,
        );
        Box::pin(async move { counted("remove_consumed", waiting.await, Some(batch)) })
    }
}

/// A request answered with a status only (rows pushed to it are a bad answer).
fn answered(name: &str, a: Answer) -> Result<(), StoreError> {
    status(name, a.status)?;
    a.rows.map(|_| ())
}

fn counted(name: &str, a: Answer, batch: Option<usize>) -> Result<u64, StoreError> {
    let n = removed(name, a.status, a.count, batch)?;
    a.rows.map(|_| n)
}

fn decided(name: &str, a: Answer) -> Result<ConsumeOutcome, StoreError> {
    let o = outcome(name, a.status)?;
    a.rows.map(|_| o)
}
