//! What a service call answers when it does not succeed: an OAuth refusal with a
//! machine-readable reason, or a retryable failure that says nothing about the token.

use std::fmt;

use crate::store::StoreError;

/// The OAuth error of a refusal (RFC 6749 §5.2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthError {
    InvalidGrant,
    InvalidRequest,
}

impl OAuthError {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::InvalidGrant => "invalid_grant",
            Self::InvalidRequest => "invalid_request",
        }
    }
}

/// Why a token was refused. The reference answers all of these with a bare `invalid_grant`;
/// the reason is for the host's logs and metrics, not for the client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u32)]
pub enum Reason {
    /// No row for the key, or a row of another grant type.
    NotFound = 1,
    /// Now is after CreationTime + Lifetime.
    Expired = 2,
    /// The token belongs to another client.
    ClientMismatch = 3,
    /// The client no longer has AllowOfflineAccess.
    OfflineAccessNotAllowed = 4,
    /// The token was consumed and the accept-consumed policy refused it.
    Consumed = 5,
    /// The is-active check said the subject is disabled.
    SubjectInactive = 6,
    /// The handle or the stored data is not something a token can be read from.
    Malformed = 7,
    /// A value the client controls is over its bound (a resource indicator longer than 512
    /// characters, more than 16 resources on one token, a description over 200 characters), or
    /// the row would exceed the 50,000-character Data column every store holds.
    TooLarge = 8,
}

impl Reason {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::NotFound => "not_found",
            Self::Expired => "expired",
            Self::ClientMismatch => "client_mismatch",
            Self::OfflineAccessNotAllowed => "offline_access_not_allowed",
            Self::Consumed => "consumed",
            Self::SubjectInactive => "subject_inactive",
            Self::Malformed => "malformed",
            Self::TooLarge => "too_large",
        }
    }
}

/// A refusal: the request was processed and the answer is no.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rejection {
    pub error: OAuthError,
    pub reason: Reason,
}

impl Rejection {
    pub fn grant(reason: Reason) -> Self {
        Self {
            error: OAuthError::InvalidGrant,
            reason,
        }
    }
}

/// Everything a service call can answer instead of success.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ServiceError {
    /// The token is refused (`invalid_grant` / `invalid_request`). Not retryable.
    Rejected(Rejection),
    /// A store call failed. Retryable; nothing was consumed and no second live token exists.
    StorageUnavailable(StoreError),
    /// The store is broken (corrupt, read-only, its table or a column missing): retrying will
    /// not help, an operator must act. Nothing was consumed.
    StorageBroken(StoreError),
    /// A host hook (is-active, accept-consumed, protector) failed. Retryable.
    HookFailed { hook: &'static str, message: String },
    /// The caller passed something the service cannot work with (e.g. an empty filter).
    InvalidArgument(String),
}

impl ServiceError {
    pub(crate) fn rejected(reason: Reason) -> Self {
        Self::Rejected(Rejection::grant(reason))
    }

    /// The error code a host reports: the OAuth error for refusals, otherwise
    /// `storage_unavailable`, `hook_failed` or `invalid_argument`.
    pub fn error_code(&self) -> &'static str {
        match self {
            Self::Rejected(r) => r.error.as_str(),
            Self::StorageUnavailable(_) => "storage_unavailable",
            Self::StorageBroken(_) => "storage_broken",
            Self::HookFailed { .. } => "hook_failed",
            Self::InvalidArgument(_) => "invalid_argument",
        }
    }

    /// The refusal reason, if this is a refusal.
    pub fn reason(&self) -> Option<Reason> {
        match self {
            Self::Rejected(r) => Some(r.reason),
            _ => None,
        }
    }

    /// Whether the same call may succeed if simply retried.
    pub fn is_retryable(&self) -> bool {
        matches!(self, Self::StorageUnavailable(_) | Self::HookFailed { .. })
    }
}

impl From<StoreError> for ServiceError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::InvalidRequest(m) => Self::InvalidArgument(m),
            broken @ StoreError::Broken(_) => Self::StorageBroken(broken),
            other => Self::StorageUnavailable(other),
        }
    }
}

impl fmt::Display for ServiceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Rejected(r) => write!(f, "{} ({})", r.error.as_str(), r.reason.as_str()),
            Self::StorageUnavailable(e) => write!(f, "storage_unavailable: {e}"),
            Self::StorageBroken(e) => write!(f, "storage_broken: {e}"),
            Self::HookFailed { hook, message } => write!(f, "hook_failed: {hook}: {message}"),
            Self::InvalidArgument(m) => write!(f, "invalid_argument: {m}"),
        }
    }
}

impl std::error::Error for ServiceError {}
