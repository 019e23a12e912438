//! A store wrapper for `fail_store`: the next N calls of a kind fail with a storage error.

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use refresh_token_core::model::{GrantFilter, PersistedGrant};
use refresh_token_core::store::{ConsumeAction, ConsumeOutcome, GrantStore, StoreError};
use std::sync::Arc;

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Kind {
    Get,
    Store,
    Remove,
}

pub struct FaultyStore {
    pub inner: Arc<dyn GrantStore>,
    /// (kind or None for any, remaining failures)
    plan: Mutex<Vec<(Option<Kind>, u32)>>,
}

impl FaultyStore {
    pub fn new(inner: Arc<dyn GrantStore>) -> Self {
        Self {
            inner,
            plan: Mutex::new(Vec::new()),
        }
    }

    pub fn fail(&self, kind: Option<Kind>, times: u32) {
        self.plan.lock().push((kind, times));
    }

    fn check(&self, kind: Kind) -> Result<(), StoreError> {
        let mut plan = self.plan.lock();
        for (k, left) in plan.iter_mut() {
            if *left > 0 && k.is_none_or(|k| k == kind) {
                *left -= 1;
                return Err(StoreError::Unavailable(format!(
                    "injected {kind:?} failure"
                )));
            }
        }
        Ok(())
    }
}

impl GrantStore for FaultyStore {
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError> {
        self.check(Kind::Get)?;
        self.inner.get(key)
    }
    fn store(&self, grant: &PersistedGrant) -> Result<(), StoreError> {
        self.check(Kind::Store)?;
        self.inner.store(grant)
    }
    fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.check(Kind::Remove)?;
        self.inner.remove(key)
    }
    fn get_all(&self, filter: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError> {
        self.check(Kind::Get)?;
        self.inner.get_all(filter)
    }
    fn remove_all(&self, filter: &GrantFilter) -> Result<u64, StoreError> {
        self.check(Kind::Remove)?;
        self.inner.remove_all(filter)
    }
    fn consume(&self, key: &str, action: &ConsumeAction) -> Result<ConsumeOutcome, StoreError> {
        self.check(match action {
            ConsumeAction::Delete => Kind::Remove,
            ConsumeAction::MarkConsumed(_) => Kind::Store,
        })?;
        self.inner.consume(key, action)
    }
    /// A rotation is a store (of the successor) and a consume: either may be made to fail; the
    /// inner store's own (possibly transactional) rotation does the work.
    fn rotate(
        &self,
        key: &str,
        action: &ConsumeAction,
        successor: &PersistedGrant,
    ) -> Result<ConsumeOutcome, StoreError> {
        self.check(Kind::Store)?;
        self.check(match action {
            ConsumeAction::Delete => Kind::Remove,
            ConsumeAction::MarkConsumed(_) => Kind::Store,
        })?;
        self.inner.rotate(key, action, successor)
    }

    fn atomic_consume(&self) -> bool {
        self.inner.atomic_consume()
    }
    fn remove_expired(&self, now: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError> {
        self.check(Kind::Remove)?;
        self.inner.remove_expired(now, batch_size)
    }
    fn remove_consumed(&self, before: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError> {
        self.check(Kind::Remove)?;
        self.inner.remove_consumed(before, batch_size)
    }
}
