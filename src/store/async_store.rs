//! The asynchronous store interface: the [`GrantStore`](super::GrantStore) operations returning
//! futures, for hosts whose storage does I/O they do not want to block a thread on (a .NET
//! store on EF Core's async API, a C server's event loop).
//!
//! The rules are `GrantStore`'s, word for word: the conditional consume is atomic, `rotate`
//! consumes and makes sure the successor exists, an empty filter is refused. A future may
//! complete on any thread; the service polls it without holding a lock.

use chrono::{DateTime, Utc};
use std::future::Future;
use std::pin::Pin;

use super::{ConsumeAction, ConsumeOutcome, StoreError};
use crate::model::{GrantFilter, PersistedGrant};

/// What an asynchronous store call returns.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// A persisted-grant store whose calls complete later. See [`GrantStore`](super::GrantStore) for
/// the contract of each call.
pub trait AsyncGrantStore: Send + Sync {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<PersistedGrant>>;

    fn store<'a>(&'a self, grant: &'a PersistedGrant) -> StoreFuture<'a, ()>;

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;

    fn get_all<'a>(&'a self, filter: &'a GrantFilter) -> StoreFuture<'a, Vec<PersistedGrant>>;

    fn remove_all<'a>(&'a self, filter: &'a GrantFilter) -> StoreFuture<'a, u64>;

    /// The conditional consume (atomic: of concurrent calls on one key at most one wins). The
    /// default is the reference's read-then-write, which is not.
    fn consume<'a>(
        &'a self,
        key: &'a str,
        action: &'a ConsumeAction,
    ) -> StoreFuture<'a, ConsumeOutcome> {
        read_then_write(self, key, action)
    }

    /// Inserts the row unless its key exists; `true` when this call inserted it. The default
    /// reads, then writes.
    fn insert_if_absent<'a>(&'a self, grant: &'a PersistedGrant) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            if self.get(&grant.key).await?.is_some() {
                return Ok(false);
            }
            self.store(grant).await?;
            Ok(true)
        })
    }

    /// Rotation: consume `key` and make sure `successor` exists. The default inserts the
    /// successor if absent, then consumes (see [`GrantStore::rotate`](super::GrantStore::rotate)).
    fn rotate<'a>(
        &'a self,
        key: &'a str,
        action: &'a ConsumeAction,
        successor: &'a PersistedGrant,
    ) -> StoreFuture<'a, ConsumeOutcome> {
        two_step(self, key, action, successor)
    }

    /// Whether `consume` is atomic.
    fn atomic_consume(&self) -> bool {
        false
    }

    fn remove_expired(&self, now: DateTime<Utc>, batch_size: usize) -> StoreFuture<'_, u64>;

    fn remove_consumed(&self, before: DateTime<Utc>, batch_size: usize) -> StoreFuture<'_, u64>;
}

/// The reference's consume on an asynchronous store: read, then delete or overwrite. Not atomic.
pub fn read_then_write<'a, S: AsyncGrantStore + ?Sized>(
    store: &'a S,
    key: &'a str,
    action: &'a ConsumeAction,
) -> StoreFuture<'a, ConsumeOutcome> {
    Box::pin(async move {
        let Some(existing) = store.get(key).await? else {
            return Ok(ConsumeOutcome::NotFound);
        };
        match action {
            ConsumeAction::Delete => store.remove(key).await?,
            ConsumeAction::MarkConsumed(row) => {
                if existing.consumed_time.is_some() {
                    return Ok(ConsumeOutcome::AlreadyConsumed);
                }
                store.store(row).await?;
            }
        }
        Ok(ConsumeOutcome::Won)
    })
}

/// The rotation of an asynchronous store without a transaction: the successor first (if
/// absent), then the conditional consume.
pub fn two_step<'a, S: AsyncGrantStore + ?Sized>(
    store: &'a S,
    key: &'a str,
    action: &'a ConsumeAction,
    successor: &'a PersistedGrant,
) -> StoreFuture<'a, ConsumeOutcome> {
    Box::pin(async move {
        store.insert_if_absent(successor).await?;
        store.consume(key, action).await
    })
}
