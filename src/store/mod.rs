//! Persisted-grant storage: the [`GrantStore`] trait on rows, shaped like the reference's
//! `IPersistedGrantStore`, plus the conditional consume it lacks.
//!
//! A store never sees a handle, only its hashed key, and never interprets `Data`.

pub(crate) mod async_store;
pub mod memory;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "postgres")]
mod postgres_connect;
#[cfg(feature = "postgres")]
mod postgres_session;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod sync;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub mod table;

use chrono::{DateTime, Utc};

/// The built-in stores' defaults, one source for the Rust options and the C ABI's
/// `rtc_store_options_init` (which exists whatever stores are built): connections in a pool, how
/// long a SQLite statement waits for a writer's lock, how long a PostgreSQL connection may take.
pub(crate) const DEFAULT_POOL_SIZE: u32 = 8;
pub(crate) const DEFAULT_BUSY_TIMEOUT_MS: u32 = 10_000;
pub(crate) const DEFAULT_CONNECT_TIMEOUT_MS: u32 = 10_000;
use std::fmt;

pub use async_store::{AsyncGrantStore, StoreFuture};

use crate::model::{GrantFilter, PersistedGrant};

/// What went wrong in a store. Every store failure is retryable from the caller's point of
/// view: it says nothing about the token, so it never becomes `invalid_grant`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StoreError {
    /// The backend failed or is unreachable (I/O error, timeout, host callback error).
    Unavailable(String),
    /// The backend answered with something that is not a valid answer (a row with missing
    /// fields, invalid text from a host callback, an unknown status code).
    BadResponse(String),
    /// The request itself was refused by the store (an empty filter).
    InvalidRequest(String),
    /// The backend failed in a way a retry will not fix (a corrupt or read-only database, a
    /// file that is not a database, a missing table or column): an operator must act.
    Broken(String),
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(m) => write!(f, "store unavailable: {m}"),
            Self::BadResponse(m) => write!(f, "store gave an invalid answer: {m}"),
            Self::InvalidRequest(m) => write!(f, "store refused the request: {m}"),
            Self::Broken(m) => write!(f, "store is broken, an operator must act: {m}"),
        }
    }
}

impl std::error::Error for StoreError {}

/// How to consume a one-time token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ConsumeAction {
    /// Delete the row if it is there (`DeleteOneTimeOnlyRefreshTokensOnUse = true`).
    Delete,
    /// Replace the row with this one (ConsumedTime set) if the stored row's ConsumedTime is
    /// still null.
    MarkConsumed(Box<PersistedGrant>),
}

/// Who won a conditional consume.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConsumeOutcome {
    /// This call consumed the row.
    Won,
    /// The row is there but already consumed: someone else won.
    AlreadyConsumed,
    /// There is no such row (never was, or someone else deleted it).
    NotFound,
}

/// A persisted-grant store.
///
/// Implementations must be thread-safe; the service calls them concurrently, never while
/// holding a lock of its own.
pub trait GrantStore: Send + Sync {
    /// The row with this key, if any (exact, case-sensitive match).
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError>;

    /// Inserts the row, or overwrites every column of the row with the same key.
    fn store(&self, grant: &PersistedGrant) -> Result<(), StoreError>;

    /// Removes the row with this key; a missing row is not an error.
    fn remove(&self, key: &str) -> Result<(), StoreError>;

    /// Every row matching the filter. An empty filter is refused.
    fn get_all(&self, filter: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError>;

    /// Removes every row matching the filter and returns how many. An empty filter is refused.
    fn remove_all(&self, filter: &GrantFilter) -> Result<u64, StoreError>;

    /// The conditional consume on which "a one-time token is redeemed at most once" rests. It
    /// must be atomic: of any number of concurrent calls on one key, at most one returns `Won`.
    ///
    /// The default implementation is the reference's unconditional read-then-write, which is
    /// NOT atomic: parallel requests can both win and fork a chain. Stores override it.
    fn consume(&self, key: &str, action: &ConsumeAction) -> Result<ConsumeOutcome, StoreError> {
        unconditional_consume(self, key, action)
    }

    /// Inserts the row unless one with its key exists; `true` when this call inserted it. Used
    /// for a successor, so that a late writer never revives a successor that was already used,
    /// and for the shared successor secret. The default reads, then writes: not atomic, so two
    /// racing calls may both insert (the same key, so still one row). Stores override it.
    fn insert_if_absent(&self, grant: &PersistedGrant) -> Result<bool, StoreError> {
        if self.get(&grant.key)?.is_some() {
            return Ok(false);
        }
        self.store(grant)?;
        Ok(true)
    }

    /// Rotation: consume the presented row (`key`, per `action`) and make sure its `successor`
    /// exists. Of concurrent calls on one key at most one returns `Won`.
    ///
    /// The successor is derived from the presented handle (see `format::successor`), so the
    /// successor a race loser or a retry writes is the winner's own: it is never removed again
    /// (removing it could kill the chain's only live token, for example after a consume that
    /// applied and then reported an error). The default inserts the successor if absent, then
    /// consumes; a crash or an error between the two leaves a successor nobody holds until the
    /// holder of the presented token retries, which completes the rotation. Transactional stores
    /// override this with one transaction.
    fn rotate(
        &self,
        key: &str,
        action: &ConsumeAction,
        successor: &PersistedGrant,
    ) -> Result<ConsumeOutcome, StoreError> {
        two_step_rotate(self, key, action, successor)
    }

    /// Whether [`GrantStore::consume`] is atomic. The service reports a non-atomic store in its
    /// documentation and events; it still works, with the reference's race.
    fn atomic_consume(&self) -> bool {
        false
    }

    /// Removes up to `batch_size` rows (of any type) whose Expiration is before `now`, oldest
    /// first, and returns how many. Rows with no Expiration are never removed.
    fn remove_expired(&self, now: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError>;

    /// Removes up to `batch_size` rows (of any type) whose ConsumedTime is before `before`,
    /// oldest first, and returns how many.
    fn remove_consumed(&self, before: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError>;
}

/// The reference's consume: read, then delete or overwrite. Not atomic: two concurrent calls can
/// both win. For stores that cannot do better.
pub fn unconditional_consume<S: GrantStore + ?Sized>(
    store: &S,
    key: &str,
    action: &ConsumeAction,
) -> Result<ConsumeOutcome, StoreError> {
    let Some(existing) = store.get(key)? else {
        return Ok(ConsumeOutcome::NotFound);
    };
    match action {
        ConsumeAction::Delete => store.remove(key)?,
        ConsumeAction::MarkConsumed(row) => {
            if existing.consumed_time.is_some() {
                return Ok(ConsumeOutcome::AlreadyConsumed);
            }
            store.store(row)?;
        }
    }
    Ok(ConsumeOutcome::Won)
}

/// The rotation of a store without a transaction: the successor first (if absent), then the
/// conditional consume. See [`GrantStore::rotate`].
pub fn two_step_rotate<S: GrantStore + ?Sized>(
    store: &S,
    key: &str,
    action: &ConsumeAction,
    successor: &PersistedGrant,
) -> Result<ConsumeOutcome, StoreError> {
    store.insert_if_absent(successor)?;
    store.consume(key, action)
}

/// Refuses an empty filter with the reference's message.
pub fn check_filter(filter: &GrantFilter) -> Result<(), StoreError> {
    if filter.is_empty() {
        Err(StoreError::InvalidRequest("No filter values set.".into()))
    } else {
        Ok(())
    }
}
