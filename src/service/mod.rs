//! The refresh-token service: the operations of `IRefreshTokenService` (validate, create,
//! update), the token endpoint's refresh, RFC 7009 revocation and token cleanup.
//!
//! The service is `Send + Sync` and holds no lock while it calls a store or a hook, so one
//! instance serves any number of threads, and hooks may call back into it.

pub mod bounds;
mod cleanup;
mod create;
mod drive;
mod error;
mod hooks;
mod io;
mod policy;
mod refresh;
mod revoke;
mod rows;
mod secret;
mod successor;
mod update;
mod validate;

use std::sync::Arc;

pub use cleanup::CleanupReport;
pub use create::{CreateRequest, Created};
pub use error::{OAuthError, Reason, Rejection, ServiceError};
pub use hooks::{
    AlwaysActive, AsyncProfileService, Clock, Event, EventSink, HookError, HookFuture, ManualClock,
    ProfileService, SystemClock,
};
pub use policy::{
    AcceptConsumedHook, AcceptConsumedPolicy, AsyncAcceptConsumedHook, ConsumedContext,
};
pub use refresh::{RefreshRequest, Refreshed};
pub use secret::{SECRET_GRANT_TYPE, SECRET_KEY};
pub use update::Updated;
pub use validate::Validated;

use crate::format::protector::PayloadProtector;
use crate::format::successor::SuccessorSecrets;
use crate::model::ServiceOptions;
use crate::store::{AsyncGrantStore, GrantStore};
use io::{Profile, Storage};

/// The refresh-token service. Build one with [`RefreshTokenService::builder`] (a synchronous
/// store) or [`RefreshTokenService::builder_async`] (an asynchronous one).
///
/// Every operation has two forms over one implementation: `refresh` etc. return when done
/// (holding the calling thread while an asynchronous store or hook answers), `refresh_async` etc.
/// return a future that waits without holding one.
pub struct RefreshTokenService {
    store: Storage,
    options: ServiceOptions,
    clock: Arc<dyn Clock>,
    profile: Profile,
    protector: Option<Arc<dyn PayloadProtector>>,
    accept_consumed: AcceptConsumedPolicy,
    events: Option<Arc<dyn EventSink>>,
    /// Derives the successor of a one-time token (see `format::successor`).
    secrets: SuccessorSecrets,
}

/// Why `build` refuses a store without an atomic consume, and the two ways out.
const NON_ATOMIC_REFUSED: &str = "the store has no atomic conditional consume: parallel refreshes \
    of one OneTimeOnly token could both succeed and fork its chain. Give the store an atomic \
    consume, or accept the reference's race explicitly (allow_non_atomic_consume)";

/// Configures a [`RefreshTokenService`]; everything but the store has a default.
pub struct ServiceBuilder {
    service: RefreshTokenService,
    /// Whether the successor secret was set here; if not, `build` takes the store's.
    explicit_secrets: bool,
    /// Whether the host accepted a store without an atomic conditional consume.
    allow_non_atomic: bool,
}

impl ServiceBuilder {
    pub fn options(mut self, options: ServiceOptions) -> Self {
        self.service.options = options;
        self
    }

    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.service.clock = clock;
        self
    }

    pub fn profile(mut self, profile: Arc<dyn ProfileService>) -> Self {
        self.service.profile = Profile::Sync(profile);
        self
    }

    /// An is-active check whose answer may come later.
    pub fn profile_async(mut self, profile: Arc<dyn AsyncProfileService>) -> Self {
        self.service.profile = Profile::Async(profile);
        self
    }

    /// Protects payloads (when `options.data_protect_data`) and unprotects protected rows.
    pub fn protector(mut self, protector: Arc<dyn PayloadProtector>) -> Self {
        self.service.protector = Some(protector);
        self
    }

    pub fn accept_consumed(mut self, policy: AcceptConsumedPolicy) -> Self {
        self.service.accept_consumed = policy;
        self
    }

    pub fn events(mut self, sink: Arc<dyn EventSink>) -> Self {
        self.service.events = Some(sink);
        self
    }

    /// The secret successors are derived with, shared by every node of a deployment (keep the
    /// previous ones in it while chains rotated under them may still be retried). Without it,
    /// `build` uses the one stored in the store, creating it on first use.
    pub fn successor_secrets(mut self, secrets: SuccessorSecrets) -> Self {
        self.service.secrets = secrets;
        self.explicit_secrets = true;
        self
    }

    /// Accepts a store without an atomic conditional consume (a Rust store that keeps the default
    /// `consume`, a C store without `consume`). Such a store consumes a one-time token with the
    /// reference's read-then-write: parallel refreshes of one token can both succeed and fork
    /// its chain (measured: 2 of 200 rounds with no latency, 50 of 50 with 0.5 ms of database
    /// latency). Without this, `build` refuses such a store; with it, `build` emits
    /// [`Event::NonAtomicConsume`].
    pub fn allow_non_atomic_consume(mut self, allow: bool) -> Self {
        self.allow_non_atomic = allow;
        self
    }

    /// Checks the options, takes the successor secret (set, or the store's) and builds the
    /// service. With the store's secret this reads (and the first time writes) the store, so a
    /// storage failure here is a retryable error (an asynchronous store is waited for).
    pub fn build(self) -> Result<RefreshTokenService, ServiceError> {
        drive::block_on(self.build_async())
    }

    /// [`Self::build`], waiting for an asynchronous store without holding a thread.
    pub async fn build_async(mut self) -> Result<RefreshTokenService, ServiceError> {
        if self.service.options.cleanup.batch_size < 1 {
            return Err(ServiceError::InvalidArgument(
                "cleanup batch size must be at least 1".into(),
            ));
        }
        let atomic = self.service.store.atomic_consume();
        if !atomic && !self.allow_non_atomic {
            // Refused before the store is touched: a configuration an operator must change.
            return Err(ServiceError::InvalidArgument(NON_ATOMIC_REFUSED.into()));
        }
        if !self.explicit_secrets {
            let s = &self.service;
            self.service.secrets =
                secret::load_or_create(&s.store, s.protector.as_deref(), s.now()).await?;
        }
        if !atomic {
            self.service.emit(Event::NonAtomicConsume);
        }
        Ok(self.service)
    }
}

impl RefreshTokenService {
    /// Starts a builder with the reference defaults on the given store.
    pub fn builder(store: Arc<dyn GrantStore>) -> ServiceBuilder {
        Self::builder_on(Storage::Sync(store))
    }

    /// Starts a builder on a store whose calls complete later.
    pub fn builder_async(store: Arc<dyn AsyncGrantStore>) -> ServiceBuilder {
        Self::builder_on(Storage::Async(store))
    }

    fn builder_on(store: Storage) -> ServiceBuilder {
        ServiceBuilder {
            service: RefreshTokenService {
                store,
                options: ServiceOptions::default(),
                clock: Arc::new(SystemClock),
                profile: Profile::Sync(Arc::new(AlwaysActive)),
                protector: None,
                accept_consumed: AcceptConsumedPolicy::Reject,
                events: None,
                secrets: SuccessorSecrets::generate(),
            },
            explicit_secrets: false,
            allow_non_atomic: false,
        }
    }

    pub fn options(&self) -> &ServiceOptions {
        &self.options
    }

    /// The synchronous store this service works on (`None` for an asynchronous one).
    pub fn store(&self) -> Option<&Arc<dyn GrantStore>> {
        match &self.store {
            Storage::Sync(s) => Some(s),
            Storage::Async(_) => None,
        }
    }

    /// Whether the store's conditional consume is atomic.
    pub fn atomic_consume(&self) -> bool {
        self.store.atomic_consume()
    }

    /// "Now", truncated to the 100 ns tick.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        crate::format::datetime::truncate_to_tick(self.clock.now())
    }

    fn emit(&self, event: Event) {
        if let Some(sink) = &self.events {
            sink.emit(&event);
        }
    }
}

#[cfg(test)]
mod tests;
