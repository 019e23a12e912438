//! The in-memory store: sharded hash maps behind locks. Each call holds one shard's lock only
//! for its own duration, which is what makes its conditional consume atomic.

use super::sync::RwLock;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

use super::{check_filter, ConsumeAction, ConsumeOutcome, GrantStore, StoreError};
use crate::model::{GrantFilter, PersistedGrant};

const SHARDS: usize = 16;

/// An in-memory [`GrantStore`]. Nothing survives the process; use it for tests, demos and
/// single-process servers that accept that.
pub struct MemoryStore {
    shards: Vec<RwLock<HashMap<String, PersistedGrant>>>,
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl MemoryStore {
    pub fn new() -> Self {
        Self {
            shards: (0..SHARDS).map(|_| RwLock::new(HashMap::new())).collect(),
        }
    }

    fn shard_index(&self, key: &str) -> usize {
        // Keys are SHA-256 outputs, so any few bytes spread evenly; FNV-1a keeps it cheap.
        let mut h: u32 = 0x811c_9dc5;
        for b in key.as_bytes().iter().take(16) {
            h = (h ^ u32::from(*b)).wrapping_mul(0x0100_0193);
        }
        h as usize % SHARDS
    }

    fn shard(&self, key: &str) -> &RwLock<HashMap<String, PersistedGrant>> {
        &self.shards[self.shard_index(key)]
    }

    /// Number of rows held.
    pub fn len(&self) -> usize {
        self.shards.iter().map(|s| s.read().len()).sum()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every row, ordered by key: for tests that compare the whole stored state.
    pub fn snapshot(&self) -> Vec<PersistedGrant> {
        let mut rows: Vec<PersistedGrant> = self
            .shards
            .iter()
            .flat_map(|s| s.read().values().cloned().collect::<Vec<_>>())
            .collect();
        rows.sort_by(|a, b| a.key.cmp(&b.key));
        rows
    }

    /// Removes up to `batch` rows for which `due` gives a time before `limit`, oldest first.
    fn remove_oldest(
        &self,
        batch: usize,
        limit: DateTime<Utc>,
        due: fn(&PersistedGrant) -> Option<DateTime<Utc>>,
    ) -> u64 {
        let mut candidates: Vec<(DateTime<Utc>, String)> = Vec::new();
        for shard in &self.shards {
            for row in shard.read().values() {
                if let Some(t) = due(row).filter(|t| *t < limit) {
                    candidates.push((t, row.key.clone()));
                }
            }
        }
        candidates.sort();
        candidates.truncate(batch);
        let mut removed = 0;
        for (_, key) in candidates {
            let mut shard = self.shard(&key).write();
            // Re-check under the lock: the row may have changed since the scan.
            if shard.get(&key).and_then(due).is_some_and(|t| t < limit) {
                shard.remove(&key);
                removed += 1;
            }
        }
        removed
    }
}

/// The conditional consume on one locked map.
fn consume_in(
    map: &mut HashMap<String, PersistedGrant>,
    key: &str,
    action: &ConsumeAction,
) -> ConsumeOutcome {
    let Some(existing) = map.get_mut(key) else {
        return ConsumeOutcome::NotFound;
    };
    match action {
        ConsumeAction::Delete => {
            map.remove(key);
        }
        ConsumeAction::MarkConsumed(row) => {
            if existing.consumed_time.is_some() {
                return ConsumeOutcome::AlreadyConsumed;
            }
            *existing = (**row).clone();
        }
    }
    ConsumeOutcome::Won
}

/// Inserts a row unless its key is taken; whether it did.
fn insert_absent(map: &mut HashMap<String, PersistedGrant>, grant: &PersistedGrant) -> bool {
    match map.entry(grant.key.clone()) {
        std::collections::hash_map::Entry::Occupied(_) => false,
        std::collections::hash_map::Entry::Vacant(v) => {
            v.insert(grant.clone());
            true
        }
    }
}

impl GrantStore for MemoryStore {
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError> {
        Ok(self.shard(key).read().get(key).cloned())
    }

    fn store(&self, grant: &PersistedGrant) -> Result<(), StoreError> {
        self.shard(&grant.key)
            .write()
            .insert(grant.key.clone(), grant.clone());
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.shard(key).write().remove(key);
        Ok(())
    }

    fn get_all(&self, filter: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError> {
        check_filter(filter)?;
        let mut rows = Vec::new();
        for shard in &self.shards {
            rows.extend(shard.read().values().filter(|r| filter.matches(r)).cloned());
        }
        Ok(rows)
    }

    fn remove_all(&self, filter: &GrantFilter) -> Result<u64, StoreError> {
        check_filter(filter)?;
        let mut removed = 0;
        for shard in &self.shards {
            let mut map = shard.write();
            let before = map.len();
            map.retain(|_, r| !filter.matches(r));
            removed += (before - map.len()) as u64;
        }
        Ok(removed)
    }

    fn consume(&self, key: &str, action: &ConsumeAction) -> Result<ConsumeOutcome, StoreError> {
        Ok(consume_in(&mut self.shard(key).write(), key, action))
    }

    fn atomic_consume(&self) -> bool {
        true
    }

    /// Consume and insert under both shard locks (taken in index order): one atomic step.
    fn rotate(
        &self,
        key: &str,
        action: &ConsumeAction,
        successor: &PersistedGrant,
    ) -> Result<ConsumeOutcome, StoreError> {
        let (a, b) = (self.shard_index(key), self.shard_index(&successor.key));
        let mut low = self.shards[a.min(b)].write();
        let mut high = (a != b).then(|| self.shards[a.max(b)].write());
        let (presented, target) = match high.as_deref_mut() {
            None => {
                let outcome = consume_in(&mut low, key, action);
                if outcome == ConsumeOutcome::Won {
                    insert_absent(&mut low, successor);
                }
                return Ok(outcome);
            }
            Some(high) if a < b => (&mut *low, high),
            Some(high) => (high, &mut *low),
        };
        let outcome = consume_in(presented, key, action);
        if outcome == ConsumeOutcome::Won {
            insert_absent(target, successor);
        }
        Ok(outcome)
    }

    fn insert_if_absent(&self, grant: &PersistedGrant) -> Result<bool, StoreError> {
        Ok(insert_absent(&mut self.shard(&grant.key).write(), grant))
    }

    fn remove_expired(&self, now: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError> {
        Ok(self.remove_oldest(batch_size, now, |r| r.expiration))
    }

    fn remove_consumed(&self, before: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError> {
        Ok(self.remove_oldest(batch_size, before, |r| r.consumed_time))
    }
}
