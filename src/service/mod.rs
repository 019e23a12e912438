//! The refresh-token service: the operations of `IRefreshTokenService` (validate, create,
//! update), the token endpoint's refresh, RFC 7009 revocation and token cleanup.
//!
//! The service is `Send + Sync` and holds no lock while it calls a store or a hook, so one
//! instance serves any number of threads, and hooks may call back into it.

mod cleanup;
mod create;
mod error;
mod hooks;
mod policy;
mod refresh;
mod revoke;
mod rows;
mod update;
mod validate;

use std::sync::Arc;

pub use cleanup::CleanupReport;
pub(crate) use create::default_access_token;
pub use create::{CreateRequest, Created};
pub use error::{OAuthError, Reason, Rejection, ServiceError};
pub use hooks::{
    AlwaysActive, Clock, Event, EventSink, HookError, ManualClock, ProfileService, SystemClock,
};
pub use policy::{AcceptConsumedHook, AcceptConsumedPolicy, ConsumedContext};
pub use refresh::{RefreshRequest, Refreshed};
pub use update::Updated;
pub use validate::Validated;

use crate::format::protector::PayloadProtector;
use crate::model::ServiceOptions;
use crate::store::GrantStore;

/// The refresh-token service. Build one with [`RefreshTokenService::builder`].
pub struct RefreshTokenService {
    store: Arc<dyn GrantStore>,
    options: ServiceOptions,
    clock: Arc<dyn Clock>,
    profile: Arc<dyn ProfileService>,
    protector: Option<Arc<dyn PayloadProtector>>,
    accept_consumed: AcceptConsumedPolicy,
    events: Option<Arc<dyn EventSink>>,
}

/// Configures a [`RefreshTokenService`]; everything but the store has a default.
pub struct ServiceBuilder {
    service: RefreshTokenService,
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
        self.service.profile = profile;
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

    /// Checks the options and builds the service.
    pub fn build(self) -> Result<RefreshTokenService, ServiceError> {
        if self.service.options.cleanup.batch_size < 1 {
            return Err(ServiceError::InvalidArgument(
                "cleanup batch size must be at least 1".into(),
            ));
        }
        Ok(self.service)
    }
}

impl RefreshTokenService {
    /// Starts a builder with the reference defaults on the given store.
    pub fn builder(store: Arc<dyn GrantStore>) -> ServiceBuilder {
        ServiceBuilder {
            service: RefreshTokenService {
                store,
                options: ServiceOptions::default(),
                clock: Arc::new(SystemClock),
                profile: Arc::new(AlwaysActive),
                protector: None,
                accept_consumed: AcceptConsumedPolicy::Reject,
                events: None,
            },
        }
    }

    pub fn options(&self) -> &ServiceOptions {
        &self.options
    }

    /// The store this service works on.
    pub fn store(&self) -> &Arc<dyn GrantStore> {
        &self.store
    }

    /// "Now", truncated to the 100 ns tick.
    pub fn now(&self) -> chrono::DateTime<chrono::Utc> {
        crate::format::datetime::to_ticks(self.clock.now())
    }

    fn emit(&self, event: Event) {
        if let Some(sink) = &self.events {
            sink.emit(&event);
        }
    }
}

#[cfg(test)]
mod tests;
