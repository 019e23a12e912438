//! The resumable core: every operation waits on an asynchronous store (and asynchronous hooks)
//! without holding a thread, and keeps every rule it keeps on a synchronous one.
//!
//! The store is `common/delayed_store.rs`: each call is answered later, by another thread.

#[path = "common/delayed_store.rs"]
mod delayed_store;

use delayed_store::DelayedStore;
use refresh_token_core::model::{GrantFilter, Subject, TokenUsage};
use refresh_token_core::{
    AsyncAcceptConsumedHook, AsyncProfileService, Client, ConsumedContext, CreateRequest,
    HookFuture, MemoryStore, RefreshRequest, RefreshTokenService, ServiceOptions,
};
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Barrier, Condvar, Mutex};
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

fn client() -> Client {
    let mut c = Client::new("spa");
    c.allow_offline_access = true;
    c.refresh_token_usage = TokenUsage::OneTimeOnly;
    c
}

fn request(subject: &str) -> CreateRequest {
    CreateRequest::for_subject(subject, Some("s"), &["offline_access"])
}

fn service_on(store: Arc<DelayedStore>, delete_on_use: bool) -> RefreshTokenService {
    RefreshTokenService::builder_async(store)
        .options(ServiceOptions {
            delete_one_time_only_refresh_tokens_on_use: delete_on_use,
            ..Default::default()
        })
        .build()
        .unwrap()
}

fn refresh(handle: &str) -> RefreshRequest {
    RefreshRequest {
        handle: handle.into(),
        ..Default::default()
    }
}

/// A one-thread executor: polls whichever task was woken, until every task is done. Everything
/// the operations wait on is answered by the store's own thread.
fn run_on_one_thread<T>(tasks: Vec<Pin<Box<dyn Future<Output = T> + Send + '_>>>) -> Vec<T> {
    struct Queue(Mutex<VecDeque<usize>>, Condvar);
    struct TaskWaker(usize, Arc<Queue>);
    impl Wake for TaskWaker {
        fn wake(self: Arc<Self>) {
            self.1 .0.lock().unwrap().push_back(self.0);
            self.1 .1.notify_one();
        }
    }
    let queue = Arc::new(Queue(
        Mutex::new((0..tasks.len()).collect()),
        Condvar::new(),
    ));
    let mut tasks: Vec<_> = tasks.into_iter().map(Some).collect();
    let mut out: Vec<Option<T>> = (0..tasks.len()).map(|_| None).collect();
    let mut left = tasks.len();
    while left > 0 {
        let i = {
            let mut q = queue.0.lock().unwrap();
            loop {
                if let Some(i) = q.pop_front() {
                    break i;
                }
                q = queue.1.wait(q).unwrap();
            }
        };
        let Some(task) = tasks[i].as_mut() else {
            continue;
        };
        let waker = Waker::from(Arc::new(TaskWaker(i, queue.clone())));
        if let Poll::Ready(v) = task.as_mut().poll(&mut Context::from_waker(&waker)) {
            out[i] = Some(v);
            tasks[i] = None;
            left -= 1;
        }
    }
    out.into_iter().map(|v| v.expect("done")).collect()
}

#[test]
fn an_async_refresh_returns_at_once_and_completes_when_the_store_answers() {
    let store = Arc::new(DelayedStore::new(
        Arc::new(MemoryStore::new()),
        Duration::from_millis(30),
    ));
    let service = service_on(store.clone(), true);
    let c = client();
    let created = service.create(&c, request("alice")).unwrap();
    let mut future = Box::pin(service.refresh_async(&c, refresh(created.handle.as_str())));
    // The first poll hands the read to the store and returns: nothing waits on this thread.
    assert!(future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
        .is_pending());
    let done = run_on_one_thread(vec![future]);
    let refreshed = done.into_iter().next().unwrap().unwrap();
    assert!(refreshed.rotated);
    assert_ne!(refreshed.handle.as_str(), created.handle.as_str());
    // The synchronous API over the same store waits (parking the thread) and agrees.
    let v = service.validate(refreshed.handle.as_str(), &c).unwrap();
    assert_eq!(v.token.client_id, "spa");
    // The used token, within the reuse window: its one successor.
    let old = service.validate(created.handle.as_str(), &c).unwrap();
    assert_eq!(
        old.successor.map(|h| h.as_str().to_owned()).as_deref(),
        Some(refreshed.handle.as_str())
    );
}

#[test]
fn a_thousand_refreshes_wait_together_on_one_thread() {
    // Long enough that all 1,000 first reads have been asked before the first is answered, even
    // on a loaded machine (at 50 ms a busy CI host saw 937 of them waiting together).
    let store = Arc::new(DelayedStore::new(
        Arc::new(MemoryStore::new()),
        Duration::from_millis(400),
    ));
    let service = service_on(store.clone(), true);
    let c = client();
    let handles: Vec<String> = run_on_one_thread(
        (0..1000)
            .map(|i| {
                let (service, c) = (&service, &c);
                Box::pin(async move {
                    service
                        .create_async(c, request(&format!("user{i}")))
                        .await
                        .unwrap()
                        .handle
                        .as_str()
                        .to_owned()
                }) as Pin<Box<dyn Future<Output = String> + Send>>
            })
            .collect(),
    );
    store.max_in_flight.store(0, Ordering::SeqCst);
    let refreshed = run_on_one_thread(
        handles
            .iter()
            .map(|h| {
                Box::pin(service.refresh_async(&c, refresh(h)))
                    as Pin<Box<dyn Future<Output = _> + Send>>
            })
            .collect(),
    );
    assert!(refreshed.iter().all(Result::is_ok));
    // One thread had every refresh waiting on the store at once: none held it.
    let most = store.max_in_flight.load(Ordering::SeqCst);
    assert_eq!(most, 1000, "store calls waiting at once: {most}");
    // Exactly one live token per chain: the 1000 successors.
    let all = store
        .inner
        .get_all(&GrantFilter {
            client_id: Some("spa".into()),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(all.len(), 1000);
}

#[test]
fn eight_threads_racing_one_token_on_an_async_store_get_the_one_successor() {
    for delete_on_use in [true, false] {
        let store = Arc::new(DelayedStore::new(
            Arc::new(MemoryStore::new()),
            Duration::from_micros(200),
        ));
        let service = service_on(store.clone(), delete_on_use);
        let c = client();
        for round in 0..50 {
            let created = service.create(&c, request(&format!("u{round}"))).unwrap();
            let start = Barrier::new(8);
            let answers: Vec<String> = std::thread::scope(|scope| {
                let workers: Vec<_> = (0..8)
                    .map(|_| {
                        scope.spawn(|| {
                            start.wait();
                            service
                                .refresh(&c, refresh(created.handle.as_str()))
                                .map(|r| r.handle.as_str().to_owned())
                                .unwrap()
                        })
                    })
                    .collect();
                workers.into_iter().map(|w| w.join().unwrap()).collect()
            });
            assert!(
                answers.iter().all(|a| *a == answers[0]),
                "a fork: {answers:?}"
            );
            let live = store
                .inner
                .get_all(&GrantFilter {
                    subject_id: Some(format!("u{round}")),
                    ..Default::default()
                })
                .unwrap()
                .into_iter()
                .filter(|r| r.consumed_time.is_none())
                .count();
            assert_eq!(live, 1, "round {round}, delete_on_use {delete_on_use}");
        }
    }
}

/// Hooks that answer later, from another thread.
struct LaterHooks;

fn later<T: Send + 'static>(value: T) -> HookFuture<'static, T> {
    let slot = Arc::new(Mutex::new((None::<T>, None::<Waker>)));
    let s = slot.clone();
    std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(5));
        let mut g = s.lock().unwrap();
        g.0 = Some(value);
        if let Some(w) = g.1.take() {
            w.wake();
        }
    });
    Box::pin(std::future::poll_fn(move |cx| {
        let mut g = slot.lock().unwrap();
        match g.0.take() {
            Some(v) => Poll::Ready(Ok(v)),
            None => {
                g.1 = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }))
}

impl AsyncProfileService for LaterHooks {
    fn is_active<'a>(&'a self, subject: &'a Subject, _: &'a Client) -> HookFuture<'a, bool> {
        later(subject.subject_id() != Some("mallory"))
    }
}

impl AsyncAcceptConsumedHook for LaterHooks {
    fn accept_consumed<'a>(&'a self, ctx: &'a ConsumedContext<'_>) -> HookFuture<'a, bool> {
        later(ctx.token.subject_id() == Some("alice"))
    }
}

#[test]
fn async_is_active_and_accept_consumed_hooks_decide() {
    let store = Arc::new(DelayedStore::new(
        Arc::new(MemoryStore::new()),
        Duration::from_millis(1),
    ));
    let service = RefreshTokenService::builder_async(store)
        .options(ServiceOptions {
            delete_one_time_only_refresh_tokens_on_use: false,
            reuse_window_seconds: 0,
            ..Default::default()
        })
        .profile_async(Arc::new(LaterHooks))
        .accept_consumed(refresh_token_core::AcceptConsumedPolicy::HostAsync(
            Arc::new(LaterHooks),
        ))
        .build()
        .unwrap();
    let c = client();
    let mallory = service.create(&c, request("mallory")).unwrap();
    let err = service.validate(mallory.handle.as_str(), &c).unwrap_err();
    assert_eq!(err.reason().map(|r| r.as_str()), Some("subject_inactive"));
    // A consumed token: the host accepts alice's (answered with the one successor), not bob's.
    for (who, accepted) in [("alice", true), ("bob", false)] {
        let t = service.create(&c, request(who)).unwrap();
        let first = service.refresh(&c, refresh(t.handle.as_str())).unwrap();
        let again = service.refresh(&c, refresh(t.handle.as_str()));
        match again {
            Ok(r) => {
                assert!(accepted, "{who}");
                assert_eq!(r.handle.as_str(), first.handle.as_str());
            }
            Err(e) => {
                assert!(!accepted, "{who}: {e}");
                assert_eq!(e.reason().map(|r| r.as_str()), Some("consumed"));
            }
        }
    }
}

#[test]
fn the_async_operations_are_send() {
    fn send<T: Send>(_: &T) {}
    let service = RefreshTokenService::builder(Arc::new(MemoryStore::new()))
        .build()
        .unwrap();
    let c = client();
    send(&service.refresh_async(&c, refresh("h")));
    send(&service.validate_async("h", &c));
    send(&service.create_async(&c, request("a")));
    send(&service.revoke_async(&c, "h"));
    send(&service.cleanup_async());
}
