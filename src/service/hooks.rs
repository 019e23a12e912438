//! The hooks a host plugs into the service: the clock, the is-active (profile) check and the
//! event sink. Each is a trait object so that Rust hosts, the C ABI and .NET can all supply one.

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use std::fmt;
use std::future::Future;
use std::pin::Pin;

use crate::format::datetime::truncate_to_tick;
use crate::model::{Client, Subject};

/// A host hook failed: the service answers with a retryable error.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HookError(pub String);

impl fmt::Display for HookError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The source of "now" (UTC; truncated by the service to .NET's 100 ns tick).
pub trait Clock: Send + Sync {
    fn now(&self) -> DateTime<Utc>;
}

/// The system clock (the default).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> DateTime<Utc> {
        truncate_to_tick(Utc::now())
    }
}

/// A clock that only moves when told to: for tests, scenarios and simulations.
#[derive(Debug)]
pub struct ManualClock(Mutex<DateTime<Utc>>);

impl ManualClock {
    pub fn new(start: DateTime<Utc>) -> Self {
        Self(Mutex::new(truncate_to_tick(start)))
    }

    /// Moves the clock forward (or back, with a negative value) by fractional seconds.
    pub fn advance(&self, seconds: f64) {
        let nanos = (seconds * 1e9).round() as i64;
        let mut t = self.0.lock();
        *t = truncate_to_tick(*t + chrono::Duration::nanoseconds(nanos));
    }

    pub fn set(&self, t: DateTime<Utc>) {
        *self.0.lock() = truncate_to_tick(t);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> DateTime<Utc> {
        *self.0.lock()
    }
}

/// The is-active check of `IProfileService.IsActiveAsync`, called with the caller
/// "RefreshTokenValidation" as the last validation step.
pub trait ProfileService: Send + Sync {
    fn is_active(&self, subject: &Subject, client: &Client) -> Result<bool, HookError>;
}

/// What an asynchronous hook returns.
pub type HookFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, HookError>> + Send + 'a>>;

/// [`ProfileService`] for a host whose check does I/O (Duende's `IsActiveAsync`): the answer
/// may come later, from any thread.
pub trait AsyncProfileService: Send + Sync {
    fn is_active<'a>(&'a self, subject: &'a Subject, client: &'a Client) -> HookFuture<'a, bool>;
}

/// Every subject is active (the default, as with no profile service).
#[derive(Clone, Copy, Debug, Default)]
pub struct AlwaysActive;

impl ProfileService for AlwaysActive {
    fn is_active(&self, _: &Subject, _: &Client) -> Result<bool, HookError> {
        Ok(true)
    }
}

/// Something that happened, for logs, audit and metrics. Events carry persisted-grant keys
/// (hashes), never handles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// A refresh token was created; it starts a family whose id is its key.
    Created {
        key: String,
        client_id: String,
        subject_id: Option<String>,
        family_id: Option<String>,
    },
    /// A refresh succeeded; `new_key` differs from `key` when the token rotated.
    Refreshed {
        key: String,
        new_key: String,
        client_id: String,
        family_id: Option<String>,
    },
    /// A token was refused (for the host's "Invalid refresh token" style logs).
    Rejected {
        key: String,
        client_id: String,
        reason: super::Reason,
    },
    /// A consumed token was presented; `accepted` is the accept-consumed policy's answer.
    ConsumedTokenPresented {
        key: String,
        client_id: String,
        accepted: bool,
    },
    /// A used one-time token was presented outside its reuse window (or after its successor
    /// was used): a replay. The accept-consumed policy decides next.
    Replayed {
        key: String,
        family_id: Option<String>,
        client_id: String,
    },
    /// The revoke-on-replay policy removed the replayed token's family (`family_id`), or every
    /// refresh token of the subject and client (`family_id` none, or that scope configured).
    ReplayRevoked {
        key: String,
        subject_id: String,
        client_id: String,
        family_id: Option<String>,
        removed: u64,
    },
    /// Two requests raced for one one-time token; this one lost the consume and is answered
    /// with the winner's successor (the same one).
    ConsumeLost { key: String, client_id: String },
    /// A used one-time token was answered with its existing successor (a retry within the reuse
    /// window, or accepted by the policy): no sibling was made.
    SuccessorReturned {
        key: String,
        new_key: String,
        client_id: String,
    },
    /// A refresh token was revoked (RFC 7009) by its client.
    Revoked { key: String, client_id: String },
    /// A cleanup pass ran.
    Cleanup {
        expired_removed: u64,
        consumed_removed: u64,
    },
    /// The service was built on a store without an atomic conditional consume: a one-time token
    /// is consumed with the reference's read-then-write, so parallel refreshes of one token can
    /// both succeed and fork its chain. Emitted once, when the service is built.
    NonAtomicConsume,
}

/// Receives events. Called synchronously on the thread of the call that caused the event;
/// it must not block for long and must not fail.
pub trait EventSink: Send + Sync {
    fn emit(&self, event: &Event);
}
