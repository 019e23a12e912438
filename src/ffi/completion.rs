//! Completions: how a host answers a callback later. Each asynchronous callback (a store
//! request, an is-active check, an accept-consumed decision) is given a completion id; the host
//! answers it exactly once with `rtc_completion_finish` (after `rtc_completion_push_row` for
//! store reads), before the callback returns or later, from any thread, and the waiting
//! operation resumes on the thread that finishes it.
//!
//! An id, not a pointer: an id the library does not know (never given, or already finished) is
//! refused with `RTC_RESULT_INVALID_ARGUMENT`, so a host that answers twice or late gets an
//! error instead of corrupting memory.

use std::any::Any;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, Waker};

use parking_lot::Mutex;

use super::boundary::guard;
use super::read;
use super::result::rtc_result;
use super::sink::{rtc_grant_row, rtc_row_sink};
use crate::model::PersistedGrant;
use crate::store::StoreError;

/// The host's answer to one callback.
pub(crate) struct Answer {
    pub status: i32,
    pub count: u64,
    pub rows: Result<Vec<PersistedGrant>, StoreError>,
}

struct State {
    sink: rtc_row_sink,
    answer: Option<Answer>,
    waker: Option<Waker>,
}

/// One callback in flight: shared by the waiting future and the registry, so that what the
/// callback's arguments point into (`_keep`) lives until both the host has finished and the
/// operation has stopped waiting.
struct Slot {
    _keep: Box<dyn Any + Send + Sync>,
    state: Mutex<State>,
}

/// The callbacks the host has not finished, by completion id.
static PENDING: LazyLock<Mutex<HashMap<u64, Arc<Slot>>>> =
    LazyLock::new(|| Mutex::new(HashMap::new()));
static NEXT_ID: AtomicU64 = AtomicU64::new(1);

/// Registers a callback about to be made: `keep` owns what its arguments point into (moved into
/// the registry as it is, so pointers into its heap data stay valid), `max_rows` how many rows
/// the host may push. Returns the completion id to give the host and the future of its answer.
pub(crate) fn open(keep: Box<dyn Any + Send + Sync>, max_rows: usize) -> (u64, Waiting) {
    let slot = Arc::new(Slot {
        _keep: keep,
        state: Mutex::new(State {
            sink: rtc_row_sink::new(max_rows),
            answer: None,
            waker: None,
        }),
    });
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    PENDING.lock().insert(id, slot.clone());
    (id, Waiting(slot))
}

/// Waits for a completion's answer.
pub(crate) struct Waiting(Arc<Slot>);

impl Future for Waiting {
    type Output = Answer;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Answer> {
        let mut state = self.0.state.lock();
        match state.answer.take() {
            Some(a) => Poll::Ready(a),
            None => {
                state.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// Adds a row to the answer of an `RTC_STORE_GET` or `RTC_STORE_GET_ALL` request (copied and
/// checked; it need only live for this call). Returns `RTC_RESULT_INVALID_ARGUMENT` for a
/// completion the library is not waiting for (unknown or already finished) and
/// `RTC_RESULT_STORAGE_BAD_RESPONSE` for an invalid row, a second row for GET or any row for
/// another request; the request then fails with that error whatever it is finished with.
#[no_mangle]
pub extern "C" fn rtc_completion_push_row(
    completion: u64,
    row: *const rtc_grant_row,
) -> rtc_result {
    guard(
        || rtc_result::RTC_RESULT_PANIC,
        || match PENDING.lock().get(&completion).cloned() {
            Some(slot) => slot.state.lock().sink.push(read::opt_object(row)),
            None => rtc_result::RTC_RESULT_INVALID_ARGUMENT,
        },
    )
}

/// Finishes an asynchronous callback. For a store request: `status` as the synchronous callbacks
/// return it (0, or an `rtc_consume_outcome` for CONSUME and ROTATE; negative: the store failed,
/// and the library answers `RTC_RESULT_STORAGE_UNAVAILABLE`, reading back a rotation whose
/// outcome is unknown), `count` the rows removed (REMOVE_ALL, REMOVE_EXPIRED, REMOVE_CONSUMED;
/// otherwise ignored). For an is-active check or an accept-consumed decision: 1 or 0 as the
/// synchronous hook returns it (negative: the hook failed); `count` ignored. After it returns
/// the completion and what the callback was given are invalid. May be called from any thread,
/// also before the callback returns. Returns `RTC_RESULT_INVALID_ARGUMENT` for a completion the
/// library is not waiting for (unknown or already finished).
#[no_mangle]
pub extern "C" fn rtc_completion_finish(completion: u64, status: i32, count: u64) -> rtc_result {
    guard(
        || rtc_result::RTC_RESULT_PANIC,
        || {
            let Some(slot) = PENDING.lock().remove(&completion) else {
                return rtc_result::RTC_RESULT_INVALID_ARGUMENT;
            };
            let waker = {
                let mut state = slot.state.lock();
                let sink = std::mem::replace(&mut state.sink, rtc_row_sink::new(0));
                state.answer = Some(Answer {
                    status,
                    count,
                    rows: sink.finish(),
                });
                state.waker.take()
            };
            // Woken outside the lock: the operation may resume on this thread.
            if let Some(w) = waker {
                w.wake();
            }
            rtc_result::RTC_RESULT_OK
        },
    )
}
