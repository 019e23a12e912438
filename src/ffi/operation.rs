//! Operations that return before they are done (`rtc_service_*_begin`): the operation's future
//! is kept in a reference-counted [`Operation`] and polled again on whichever thread wakes it
//! (the thread that finishes a store request); the host hears the result through its done
//! callback, exactly once.
//!
//! The operation holds the service (an `Arc`), so freeing the service while operations are
//! pending is safe: the service, its store and its hooks stay alive until the last one finishes.

use std::cell::Cell;
use std::ffi::{c_char, c_void, CString};
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};

use parking_lot::Mutex;
use zeroize::Zeroize;

use super::boundary::guard;
use super::error::{rtc_error, FfiError};
use super::result::rtc_result;
use super::text::secret_cstring;
use super::token::rtc_token;
use crate::format::handle::Handle;

/// What a finished operation produced. Every pointer is valid only during the done callback
/// (the library wipes and frees the strings afterwards); NULL when the operation does not
/// produce it or failed.
#[repr(C)]
pub struct rtc_outputs {
    /// refresh, create, update: the refresh token to return (the same or a new handle). A bearer
    /// secret.
    pub handle: *const c_char,
    /// refresh: whether `handle` is a new one.
    pub rotated: bool,
    /// refresh, validate, create, update: the token record (the Data column's version-5 JSON).
    pub token_json: *const c_char,
    /// refresh: the access-token record to issue.
    pub access_token_json: *const c_char,
    /// revoke: whether a token was removed.
    pub revoked: bool,
    /// remove_refresh_tokens: rows removed; cleanup: expired + consumed rows removed.
    pub removed: u64,
    /// cleanup: expired rows removed.
    pub expired_removed: u64,
    /// cleanup: consumed rows removed.
    pub consumed_removed: u64,
    /// validate: the token as validated, lent for the callback; `rtc_token_keep` keeps it for
    /// `rtc_service_update_token_begin`. (Last, so that a host built against an earlier
    /// header, which reads only the fields before it, is unaffected.)
    pub token: *const rtc_token,
}

/// The done callback of an `rtc_service_*_begin` call: called exactly once, with `result`
/// (`RTC_RESULT_OK`, or the code the synchronous form would return), the outputs (on success)
/// and the error (on failure; never NULL then). Both pointers are valid only during the call.
/// It runs on the thread that completed the operation's last store request (or inside the
/// `_begin` call, when everything was answered at once), with no library lock held; it may call
/// into the library, including `rtc_service_free`.
pub type rtc_done_fn = Option<
    unsafe extern "C" fn(
        user_data: *mut c_void,
        result: rtc_result,
        outputs: *const rtc_outputs,
        error: *const rtc_error,
    ),
>;

/// The outputs of a successful operation, owned until the done callback has returned.
#[derive(Default)]
pub(crate) struct Produced {
    pub handle: Option<Handle>,
    pub rotated: bool,
    pub token_json: Option<String>,
    pub access_token_json: Option<String>,
    pub revoked: bool,
    pub removed: u64,
    pub expired_removed: u64,
    pub consumed_removed: u64,
    pub token: Option<rtc_token>,
}

/// The host's done callback and its user data (not owned: the host's to free after `done`).
#[derive(Clone, Copy)]
pub(crate) struct Done {
    pub callback: super::foreign::Required<rtc_done_fn>,
    pub user_data: *mut c_void,
}

// SAFETY: the done callback may be called from any thread; the header says so, and the user data
// is the host's, passed back as it was given.
unsafe impl Send for Done {}
// SAFETY: `Done` is copied, never mutated; sharing it only shares the pointer values.
unsafe impl Sync for Done {}

/// A string handed to the done callback, wiped when dropped (it may be a handle).
struct Shown(Option<CString>);

impl Shown {
    fn new(s: Option<String>) -> Self {
        Self(s.map(|s| CString::new(s).unwrap_or_default()))
    }
    fn secret(handle: Option<&Handle>) -> Self {
        Self(handle.map(secret_cstring))
    }
    fn ptr(&self) -> *const c_char {
        self.0.as_ref().map_or(std::ptr::null(), |c| c.as_ptr())
    }
}

impl Drop for Shown {
    fn drop(&mut self) {
        if let Some(c) = self.0.take() {
            c.into_bytes_with_nul().zeroize();
        }
    }
}

impl Done {
    /// Calls the host's done callback with an outcome.
    pub fn call(self, outcome: Result<Produced, FfiError>) {
        match outcome {
            Ok(p) => {
                let (handle, token, access) = (
                    Shown::secret(p.handle.as_ref()),
                    Shown::new(p.token_json),
                    Shown::new(p.access_token_json),
                );
                let outputs = rtc_outputs {
                    handle: handle.ptr(),
                    rotated: p.rotated,
                    token_json: token.ptr(),
                    access_token_json: access.ptr(),
                    revoked: p.revoked,
                    removed: p.removed,
                    expired_removed: p.expired_removed,
                    consumed_removed: p.consumed_removed,
                    token: p.token.as_ref().map_or(std::ptr::null(), |t| t as *const _),
                };
                // SAFETY: the host's callback, with its user data and pointers valid for the call.
                unsafe {
                    (self.callback)(
                        self.user_data,
                        rtc_result::RTC_RESULT_OK,
                        &outputs,
                        std::ptr::null(),
                    )
                };
            }
            Err(e) => {
                let code = e.code;
                let error = e.into_error();
                // SAFETY: as above.
                unsafe { (self.callback)(self.user_data, code, std::ptr::null(), &error) };
            }
        }
    }
}

type Task = Pin<Box<dyn Future<Output = ()> + Send>>;

const IDLE: u8 = 0;
const RUNNING: u8 = 1;
const NOTIFIED: u8 = 2;

/// One pending operation: its future, polled by whoever wakes it, never by two threads at once.
pub(crate) struct Operation {
    task: Mutex<Option<Task>>,
    state: AtomicU8,
    /// Told the outcome if the operation panics (the future then cannot report it).
    done: Done,
}

impl Operation {
    /// Starts an operation: polls it once here, and from then on on the waking thread.
    pub fn start(task: Task, done: Done) {
        let op = Arc::new(Operation {
            task: Mutex::new(Some(task)),
            state: AtomicU8::new(IDLE),
            done,
        });
        op.schedule();
    }

    /// Polls now, or, if another thread is polling, asks it to poll once more.
    fn schedule(self: &Arc<Self>) {
        loop {
            match self
                .state
                .compare_exchange(IDLE, RUNNING, Ordering::AcqRel, Ordering::Acquire)
            {
                Ok(_) => return self.run(),
                Err(RUNNING) => {
                    if self
                        .state
                        .compare_exchange(RUNNING, NOTIFIED, Ordering::AcqRel, Ordering::Acquire)
                        .is_ok()
                    {
                        return;
                    }
                }
                Err(_) => return, // already notified
            }
        }
    }

    fn run(self: &Arc<Self>) {
        let waker = Waker::from(self.clone());
        loop {
            let mut slot = self.task.lock();
            let Some(task) = slot.as_mut() else {
                self.state.store(IDLE, Ordering::Release);
                return;
            };
            let polled = std::panic::catch_unwind(AssertUnwindSafe(|| {
                let _current = Current::enter(self.done.user_data);
                task.as_mut().poll(&mut Context::from_waker(&waker))
            }));
            match polled {
                Ok(Poll::Pending) => {}
                Ok(Poll::Ready(())) => {
                    // Dropped outside the lock: dropping it may finalize the service.
                    let finished = slot.take();
                    drop(slot);
                    drop(finished);
                    self.state.store(IDLE, Ordering::Release);
                    return;
                }
                Err(_) => {
                    let finished = slot.take();
                    drop(slot);
                    drop(finished);
                    self.state.store(IDLE, Ordering::Release);
                    self.done.call(Err(FfiError::new(
                        rtc_result::RTC_RESULT_PANIC,
                        "the operation panicked (caught); please report it",
                    )));
                    return;
                }
            }
            drop(slot);
            // Woken while polling? Poll again; otherwise wait for the next wake.
            if self
                .state
                .compare_exchange(RUNNING, IDLE, Ordering::AcqRel, Ordering::Acquire)
                .is_ok()
            {
                return;
            }
            self.state.store(RUNNING, Ordering::Release);
        }
    }
}

thread_local! {
    /// The user data of the `_begin` operation this thread is running, null outside one.
    static CURRENT: Cell<*mut c_void> = const { Cell::new(std::ptr::null_mut()) };
}

/// Marks this thread as running an operation while it is polled; restores the outer one after
/// (a hook may start another operation from inside a poll).
struct Current(*mut c_void);

impl Current {
    fn enter(user_data: *mut c_void) -> Self {
        Self(CURRENT.with(|c| c.replace(user_data)))
    }
}

impl Drop for Current {
    fn drop(&mut self) {
        CURRENT.with(|c| c.set(self.0));
    }
}

/// The `user_data` of the `_begin` operation whose work this thread is doing right now (a store
/// request, a hook, any callback the library makes while resuming it), or NULL outside one (a
/// synchronous `rtc_service_*` call, or no call at all). Lets a host tie a callback to the
/// operation it serves (its cancellation, its deadline, where to report a host error) without
/// a lookup of its own.
#[no_mangle]
pub extern "C" fn rtc_operation_current() -> *mut c_void {
    guard(std::ptr::null_mut, || CURRENT.with(|c| c.get()))
}

impl Wake for Operation {
    fn wake(self: Arc<Self>) {
        self.schedule();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.schedule();
    }
}
