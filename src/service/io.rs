//! What an operation waits on: the store and the is-active and accept-consumed hooks, each either
//! synchronous (answers at once) or asynchronous (answers later, from any thread).
//!
//! Every operation is written once, as an `async fn` over these calls. A synchronous store's call
//! is a future that is ready when it is made ([`Call::Ready`]: no allocation, one poll), so the
//! synchronous API (`refresh`, `validate`, ...) drives the same code to completion in one pass
//! (`drive::block_on`); an asynchronous store's call is its boxed future, and the operation
//! waits on it without holding a thread.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use chrono::{DateTime, Utc};

use super::hooks::{AsyncProfileService, HookError, ProfileService};
use crate::model::{Client, GrantFilter, PersistedGrant, Subject};
use crate::store::{AsyncGrantStore, ConsumeAction, ConsumeOutcome, GrantStore, StoreError};

/// One call to the store or a hook: its answer now, or a future of it.
pub(crate) enum Call<'a, T> {
    Ready(Option<T>),
    Pending(Pin<Box<dyn Future<Output = T> + Send + 'a>>),
}

impl<T> Future for Call<'_, T> {
    type Output = T;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<T> {
        // Both variants are Unpin (an Option of an owned answer, a Box).
        match self.get_mut() {
            Call::Ready(answer) => Poll::Ready(
                answer
                    .take()
                    .expect("a Call is polled once after it is ready"),
            ),
            Call::Pending(future) => future.as_mut().poll(cx),
        }
    }
}

impl<T> Unpin for Call<'_, T> {}

/// The service's store.
#[derive(Clone)]
pub(crate) enum Storage {
    Sync(Arc<dyn GrantStore>),
    Async(Arc<dyn AsyncGrantStore>),
}

type Answer<T> = Result<T, StoreError>;

impl Storage {
    /// One call: made at once on a synchronous store, handed over on an asynchronous one.
    fn call<'a, T: 'a>(
        &'a self,
        now: impl FnOnce(&'a dyn GrantStore) -> Answer<T>,
        later: impl FnOnce(&'a dyn AsyncGrantStore) -> crate::store::StoreFuture<'a, T>,
    ) -> Call<'a, Answer<T>> {
        match self {
            Storage::Sync(s) => Call::Ready(Some(now(s.as_ref()))),
            Storage::Async(s) => Call::Pending(later(s.as_ref())),
        }
    }

    pub fn get<'a>(&'a self, key: &'a str) -> Call<'a, Answer<Option<PersistedGrant>>> {
        self.call(|s| s.get(key), |s| s.get(key))
    }

    pub fn store<'a>(&'a self, grant: &'a PersistedGrant) -> Call<'a, Answer<()>> {
        self.call(|s| s.store(grant), |s| s.store(grant))
    }

    pub fn remove<'a>(&'a self, key: &'a str) -> Call<'a, Answer<()>> {
        self.call(|s| s.remove(key), |s| s.remove(key))
    }

    pub fn get_all<'a>(&'a self, filter: &'a GrantFilter) -> Call<'a, Answer<Vec<PersistedGrant>>> {
        self.call(|s| s.get_all(filter), |s| s.get_all(filter))
    }

    pub fn remove_all<'a>(&'a self, filter: &'a GrantFilter) -> Call<'a, Answer<u64>> {
        self.call(|s| s.remove_all(filter), |s| s.remove_all(filter))
    }

    pub fn insert_if_absent<'a>(&'a self, grant: &'a PersistedGrant) -> Call<'a, Answer<bool>> {
        self.call(|s| s.insert_if_absent(grant), |s| s.insert_if_absent(grant))
    }

    pub fn rotate<'a>(
        &'a self,
        key: &'a str,
        action: &'a ConsumeAction,
        successor: &'a PersistedGrant,
    ) -> Call<'a, Answer<ConsumeOutcome>> {
        self.call(
            |s| s.rotate(key, action, successor),
            |s| s.rotate(key, action, successor),
        )
    }

    pub fn remove_expired(&self, now: DateTime<Utc>, batch: usize) -> Call<'_, Answer<u64>> {
        self.call(
            |s| s.remove_expired(now, batch),
            |s| s.remove_expired(now, batch),
        )
    }

    pub fn remove_consumed(&self, before: DateTime<Utc>, batch: usize) -> Call<'_, Answer<u64>> {
        self.call(
            |s| s.remove_consumed(before, batch),
            |s| s.remove_consumed(before, batch),
        )
    }

    pub fn atomic_consume(&self) -> bool {
        match self {
            Storage::Sync(s) => s.atomic_consume(),
            Storage::Async(s) => s.atomic_consume(),
        }
    }
}

/// The service's is-active check.
#[derive(Clone)]
pub(crate) enum Profile {
    Sync(Arc<dyn ProfileService>),
    Async(Arc<dyn AsyncProfileService>),
}

impl Profile {
    pub fn is_active<'a>(
        &'a self,
        subject: &'a Subject,
        client: &'a Client,
    ) -> Call<'a, Result<bool, HookError>> {
        match self {
            Profile::Sync(p) => Call::Ready(Some(p.is_active(subject, client))),
            Profile::Async(p) => Call::Pending(p.is_active(subject, client)),
        }
    }
}
