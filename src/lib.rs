//! refresh-token-core: the refresh-token service of an OAuth 2.0 / OpenID Connect server.
//!
//! It does the job of Duende IdentityServer's `DefaultRefreshTokenService` with the same rules,
//! defaults and persisted-grant formats, so that a deployment can swap it in (and back out)
//! without losing a single token. The layers, inside out:
//!
//! - [`model`]: plain data (tokens, claims, client settings, options, the persisted-grant row);
//! - [`format`]: handles, persisted-grant keys and the `Data` column codec, byte-compatible with
//!   the reference;
//! - [`store`]: the [`store::GrantStore`] trait on persisted-grant rows, with the conditional
//!   consume that makes a one-time token redeemable at most once, and the in-memory store;
//! - [`service`]: validate, create, update, refresh, revoke and cleanup, with the hooks a host
//!   plugs in (clock, is-active, accept-consumed, payload protector, events).
//!
//! Each layer only calls inward; the service never sees a row it did not (de)serialise itself,
//! so every store gets byte-identical `Data`.

/// The README's Rust code blocks, compiled and run as doctests so that the README stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
pub struct ReadmeDoctests;

mod allocator;
pub mod ffi;
pub mod format;
pub mod model;
pub mod service;
pub mod store;

pub use format::handle::Handle;
pub use model::*;
pub use service::{
    AcceptConsumedHook, AcceptConsumedPolicy, AsyncAcceptConsumedHook, AsyncProfileService,
    CleanupReport, Clock, ConsumedContext, CreateRequest, Created, Event, EventSink, HookError,
    HookFuture, ManualClock, OAuthError, ProfileService, Reason, RefreshRequest,
    RefreshTokenService, Refreshed, Rejection, ServiceBuilder, ServiceError, SystemClock, Updated,
    Validated,
};
pub use store::{
    memory::MemoryStore, AsyncGrantStore, ConsumeAction, ConsumeOutcome, GrantStore, StoreError,
    StoreFuture,
};
