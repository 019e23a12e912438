//! The library's own driver: runs an operation's future to completion on the calling thread.
//!
//! On synchronous stores and hooks every call is ready when it is made, so the first poll
//! completes the operation: no waker is made and nothing is allocated. When a call is pending
//! (an asynchronous store used through the synchronous API), the thread parks until the future
//! wakes it: correct, but it holds the thread; the `_async` API is for not holding one.

use std::future::Future;
use std::pin::pin;
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;

struct Unpark(Thread);

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.0.unpark();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.0.unpark();
    }
}

/// Polls `future` until it completes, parking the thread while it waits. Inlined into each
/// synchronous operation, so that the operation's future is pinned where it is built (not
/// copied, several kilobytes, into this frame).
#[inline(always)]
pub(crate) fn block_on<F: Future>(future: F) -> F::Output {
    let mut future = pin!(future);
    // The fast path: everything answered at once.
    if let Poll::Ready(out) = future
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        return out;
    }
    wait(future)
}

/// The slow path of [`block_on`], out of line: something is pending and holds the no-op waker.
/// Poll again with a waker that wakes this thread (a future registers the waker of its latest
/// poll), then park between polls.
#[inline(never)]
fn wait<F: Future>(mut future: std::pin::Pin<&mut F>) -> F::Output {
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        if let Poll::Ready(out) = future.as_mut().poll(&mut cx) {
            return out;
        }
        std::thread::park();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::sync::Mutex;
    use std::time::Duration;

    /// A future completed by another thread after a delay.
    struct Later {
        done: Arc<AtomicBool>,
        waker: Arc<Mutex<Option<Waker>>>,
        started: bool,
    }

    impl Future for Later {
        type Output = u32;
        fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<u32> {
            if self.done.load(Ordering::Acquire) {
                return Poll::Ready(7);
            }
            *self.waker.lock().unwrap() = Some(cx.waker().clone());
            if !self.started {
                self.started = true;
                let (done, waker) = (self.done.clone(), self.waker.clone());
                std::thread::spawn(move || {
                    std::thread::sleep(Duration::from_millis(20));
                    done.store(true, Ordering::Release);
                    if let Some(w) = waker.lock().unwrap().take() {
                        w.wake();
                    }
                });
            }
            Poll::Pending
        }
    }

    #[test]
    fn a_ready_future_completes_in_one_poll_and_a_pending_one_when_woken() {
        assert_eq!(block_on(async { 3 }), 3);
        let later = Later {
            done: Arc::new(AtomicBool::new(false)),
            waker: Arc::new(Mutex::new(None)),
            started: false,
        };
        assert_eq!(block_on(async { later.await + 1 }), 8);
    }
}
