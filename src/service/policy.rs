//! What to do when a consumed token is presented: the `AcceptConsumedTokenAsync` hook.
//!
//! It only fires while consumed rows exist, i.e. with
//! `delete_one_time_only_refresh_tokens_on_use = false`; under delete-on-use a replayed handle is
//! simply "not found".

use chrono::{DateTime, Utc};
use std::sync::Arc;

use super::hooks::{HookError, HookFuture};
use super::RefreshTokenService;
use crate::model::{Client, RefreshToken};

/// What the accept-consumed hook sees.
pub struct ConsumedContext<'a> {
    /// The service, so that a hook may act (for example revoke) through the public API.
    pub service: &'a RefreshTokenService,
    pub client: &'a Client,
    /// The persisted-grant key of the presented token (never the handle).
    pub key: &'a str,
    pub token: &'a RefreshToken,
    pub consumed_time: DateTime<Utc>,
    pub now: DateTime<Utc>,
}

/// A host-supplied accept-consumed decision. It may call back into the service (it is called
/// with no lock held). An error is reported as a retryable `hook_failed`.
pub trait AcceptConsumedHook: Send + Sync {
    fn accept_consumed(&self, ctx: &ConsumedContext<'_>) -> Result<bool, HookError>;
}

/// [`AcceptConsumedHook`] for a host whose decision does I/O (Duende's
/// `AcceptConsumedTokenAsync`): the answer may come later, from any thread. Calling back into
/// the service's synchronous API from it blocks the thread the hook's future is polled on; use
/// the `_async` API there.
pub trait AsyncAcceptConsumedHook: Send + Sync {
    fn accept_consumed<'a>(&'a self, ctx: &'a ConsumedContext<'_>) -> HookFuture<'a, bool>;
}

/// The accept-consumed policy of a service.
#[derive(Clone, Default)]
pub enum AcceptConsumedPolicy {
    /// Refuse every consumed token (the reference default).
    #[default]
    Reject,
    /// Accept a consumed token while now ≤ ConsumedTime + seconds: a lost response can be
    /// retried. Each accepted retry mints another successor.
    Grace { seconds: u32 },
    /// Refuse, and treat the replay as theft: remove every refresh token of the token's subject
    /// and client.
    RevokeOnReplay,
    /// Ask the host.
    Host(Arc<dyn AcceptConsumedHook>),
    /// Ask the host, and wait for its answer without holding a thread.
    HostAsync(Arc<dyn AsyncAcceptConsumedHook>),
}

impl std::fmt::Debug for AcceptConsumedPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Reject => f.write_str("Reject"),
            Self::Grace { seconds } => write!(f, "Grace({seconds}s)"),
            Self::RevokeOnReplay => f.write_str("RevokeOnReplay"),
            Self::Host(_) => f.write_str("Host"),
            Self::HostAsync(_) => f.write_str("HostAsync"),
        }
    }
}
