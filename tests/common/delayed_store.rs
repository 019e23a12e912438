//! A store whose every call is answered later, from another thread: an [`AsyncGrantStore`] over
//! a synchronous store, with each call run by a timer thread once its delay has passed. What a
//! .NET store on EF Core's async API or a C server's event loop looks like to the library.
//!
//! Shared by tests (included with `#[path]`), so that every asynchronous test drives the same
//! store.

#![allow(dead_code)]

use chrono::{DateTime, Utc};
use std::collections::BinaryHeap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use refresh_token_core::model::{GrantFilter, PersistedGrant};
use refresh_token_core::store::{
    AsyncGrantStore, ConsumeAction, ConsumeOutcome, GrantStore, StoreError, StoreFuture,
};

type Job = Box<dyn FnOnce() + Send>;

struct Timed(Instant, u64, Job);

impl PartialEq for Timed {
    fn eq(&self, o: &Self) -> bool {
        (self.0, self.1) == (o.0, o.1)
    }
}
impl Eq for Timed {}
impl PartialOrd for Timed {
    fn partial_cmp(&self, o: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Timed {
    // The earliest deadline first (BinaryHeap is a max-heap).
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (o.0, o.1).cmp(&(self.0, self.1))
    }
}

/// One thread that runs jobs when their deadline comes.
fn timer() -> Sender<(Instant, Job)> {
    let (tx, rx) = channel::<(Instant, Job)>();
    std::thread::spawn(move || {
        let mut heap = BinaryHeap::new();
        let mut seq = 0u64;
        loop {
            let wait = heap
                .peek()
                .map(|t: &Timed| t.0.saturating_duration_since(Instant::now()));
            let got = match wait {
                Some(w) => rx
                    .recv_timeout(w)
                    .map_err(|e| e == std::sync::mpsc::RecvTimeoutError::Disconnected),
                None => rx.recv().map_err(|_| true),
            };
            match got {
                Ok((at, job)) => {
                    seq += 1;
                    heap.push(Timed(at, seq, job));
                }
                Err(true) if heap.is_empty() => return,
                Err(_) => {}
            }
            while heap.peek().is_some_and(|t| t.0 <= Instant::now()) {
                (heap.pop().expect("peeked").2)();
            }
        }
    });
    tx
}

/// The answer of one call, filled in by the timer thread.
struct Slot<T> {
    answer: Option<T>,
    waker: Option<Waker>,
}

struct Later<T>(Arc<Mutex<Slot<T>>>);

impl<T> Future for Later<T> {
    type Output = T;
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        let mut slot = self.0.lock().unwrap();
        match slot.answer.take() {
            Some(a) => Poll::Ready(a),
            None => {
                slot.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

/// An asynchronous store over `inner`: every call is made `delay` later on the timer thread.
pub struct DelayedStore {
    pub inner: Arc<dyn GrantStore>,
    delay: Duration,
    timer: Mutex<Sender<(Instant, Job)>>,
    /// Calls handed over and not answered yet, and the most there ever were at once.
    in_flight: Arc<AtomicUsize>,
    pub max_in_flight: Arc<AtomicUsize>,
}

impl DelayedStore {
    pub fn new(inner: Arc<dyn GrantStore>, delay: Duration) -> Self {
        Self {
            inner,
            delay,
            timer: Mutex::new(timer()),
            in_flight: Arc::new(AtomicUsize::new(0)),
            max_in_flight: Arc::new(AtomicUsize::new(0)),
        }
    }

    fn later<T: Send + 'static>(
        &self,
        call: impl FnOnce(&dyn GrantStore) -> Result<T, StoreError> + Send + 'static,
    ) -> StoreFuture<'static, T> {
        let slot = Arc::new(Mutex::new(Slot {
            answer: None,
            waker: None,
        }));
        let (inner, s, in_flight) = (self.inner.clone(), slot.clone(), self.in_flight.clone());
        let n = in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.max_in_flight.fetch_max(n, Ordering::SeqCst);
        let job: Job = Box::new(move || {
            let answer = call(inner.as_ref());
            in_flight.fetch_sub(1, Ordering::SeqCst);
            let waker = {
                let mut slot = s.lock().unwrap();
                slot.answer = Some(answer);
                slot.waker.take()
            };
            if let Some(w) = waker {
                w.wake();
            }
        });
        let _ = self
            .timer
            .lock()
            .unwrap()
            .send((Instant::now() + self.delay, job));
        Box::pin(Later(slot))
    }
}

impl AsyncGrantStore for DelayedStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<PersistedGrant>> {
        let key = key.to_owned();
        self.later(move |s| s.get(&key))
    }
    fn store<'a>(&'a self, grant: &'a PersistedGrant) -> StoreFuture<'a, ()> {
        let g = grant.clone();
        self.later(move |s| s.store(&g))
    }
    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        let key = key.to_owned();
        self.later(move |s| s.remove(&key))
    }
    fn get_all<'a>(&'a self, filter: &'a GrantFilter) -> StoreFuture<'a, Vec<PersistedGrant>> {
        let f = filter.clone();
        self.later(move |s| s.get_all(&f))
    }
    fn remove_all<'a>(&'a self, filter: &'a GrantFilter) -> StoreFuture<'a, u64> {
        let f = filter.clone();
        self.later(move |s| s.remove_all(&f))
    }
    fn consume<'a>(
        &'a self,
        key: &'a str,
        action: &'a ConsumeAction,
    ) -> StoreFuture<'a, ConsumeOutcome> {
        let (key, action) = (key.to_owned(), action.clone());
        self.later(move |s| s.consume(&key, &action))
    }
    fn insert_if_absent<'a>(&'a self, grant: &'a PersistedGrant) -> StoreFuture<'a, bool> {
        let g = grant.clone();
        self.later(move |s| s.insert_if_absent(&g))
    }
    fn rotate<'a>(
        &'a self,
        key: &'a str,
        action: &'a ConsumeAction,
        successor: &'a PersistedGrant,
    ) -> StoreFuture<'a, ConsumeOutcome> {
        let (key, action, successor) = (key.to_owned(), action.clone(), successor.clone());
        self.later(move |s| s.rotate(&key, &action, &successor))
    }
    fn atomic_consume(&self) -> bool {
        self.inner.atomic_consume()
    }
    fn remove_expired(&self, now: DateTime<Utc>, batch: usize) -> StoreFuture<'_, u64> {
        self.later(move |s| s.remove_expired(now, batch))
    }
    fn remove_consumed(&self, before: DateTime<Utc>, batch: usize) -> StoreFuture<'_, u64> {
        self.later(move |s| s.remove_consumed(before, batch))
    }
}
