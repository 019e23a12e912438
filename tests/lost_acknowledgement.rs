//! A rotation that applies and then reports failure (a COMMIT whose answer was lost), on each
//! built-in store: the service reads back what happened and answers with the successor; the
//! client's retry gets the same one; the chain keeps one live token. (PostgreSQL also gets the
//! real thing: tests/processes restarts the server under load.)

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use refresh_token_core::model::{GrantFilter, PersistedGrant, TokenUsage};
use refresh_token_core::store::sqlite::SqliteStore;
use refresh_token_core::store::{ConsumeAction, ConsumeOutcome};
use refresh_token_core::{
    Client, CreateRequest, GrantStore, MemoryStore, RefreshRequest, RefreshTokenService,
    ServiceOptions, StoreError,
};
use std::sync::Arc;

/// Delegates everything to a real store; an armed rotation applies, then reports an error.
struct LoseAnswer<S> {
    inner: S,
    armed: Mutex<bool>,
}

impl<S: GrantStore> GrantStore for LoseAnswer<S> {
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError> {
        self.inner.get(key)
    }
    fn store(&self, g: &PersistedGrant) -> Result<(), StoreError> {
        self.inner.store(g)
    }
    fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.inner.remove(key)
    }
    fn get_all(&self, f: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError> {
        self.inner.get_all(f)
    }
    fn remove_all(&self, f: &GrantFilter) -> Result<u64, StoreError> {
        self.inner.remove_all(f)
    }
    fn consume(&self, key: &str, a: &ConsumeAction) -> Result<ConsumeOutcome, StoreError> {
        self.inner.consume(key, a)
    }
    fn insert_if_absent(&self, g: &PersistedGrant) -> Result<bool, StoreError> {
        self.inner.insert_if_absent(g)
    }
    fn atomic_consume(&self) -> bool {
        true
    }
    fn rotate(
        &self,
        key: &str,
        a: &ConsumeAction,
        successor: &PersistedGrant,
    ) -> Result<ConsumeOutcome, StoreError> {
        let outcome = self.inner.rotate(key, a, successor)?;
        if std::mem::take(&mut *self.armed.lock()) {
            return Err(StoreError::Unavailable(
                "the COMMIT went through; its answer was lost".into(),
            ));
        }
        Ok(outcome)
    }
    fn remove_expired(&self, now: DateTime<Utc>, n: usize) -> Result<u64, StoreError> {
        self.inner.remove_expired(now, n)
    }
    fn remove_consumed(&self, before: DateTime<Utc>, n: usize) -> Result<u64, StoreError> {
        self.inner.remove_consumed(before, n)
    }
}

fn check<S: GrantStore + 'static>(name: &str, inner: S, delete_on_use: bool) {
    let store = Arc::new(LoseAnswer {
        inner,
        armed: Mutex::new(false),
    });
    let service = RefreshTokenService::builder(store.clone())
        .options(ServiceOptions {
            delete_one_time_only_refresh_tokens_on_use: delete_on_use,
            ..Default::default()
        })
        .build()
        .unwrap();
    let mut client = Client::new("spa");
    client.allow_offline_access = true;
    client.refresh_token_usage = TokenUsage::OneTimeOnly;
    let subject = format!("lost-{name}-{delete_on_use}-{}", std::process::id());
    let created = service
        .create(
            &client,
            CreateRequest::for_subject(&subject, None, &["offline_access"]),
        )
        .unwrap();
    let refresh = |h: &str| {
        service.refresh(
            &client,
            RefreshRequest {
                handle: h.into(),
                ..Default::default()
            },
        )
    };
    *store.armed.lock() = true;
    let next = refresh(created.handle.as_str())
        .unwrap_or_else(|e| panic!("{name} delete={delete_on_use}: {e}"));
    assert!(!*store.armed.lock(), "{name}: the rotation did not run");
    let retry = refresh(created.handle.as_str()).unwrap();
    assert_eq!(
        retry.handle, next.handle,
        "{name}: the retry got another token"
    );
    let live = store
        .get_all(&GrantFilter {
            subject_id: Some(subject.clone()),
            ..Default::default()
        })
        .unwrap()
        .into_iter()
        .filter(|r| r.consumed_time.is_none())
        .count();
    assert_eq!(live, 1, "{name} delete={delete_on_use}: live tokens");
    service.validate(next.handle.as_str(), &client).unwrap();
}

#[test]
fn a_lost_commit_answer_is_answered_with_the_successor_on_every_built_in_store() {
    for delete_on_use in [true, false] {
        check("memory", MemoryStore::new(), delete_on_use);
        let file = std::env::temp_dir().join(format!(
            "rtc-lost-{}-{delete_on_use}.db",
            std::process::id()
        ));
        check("sqlite", SqliteStore::open(&file).unwrap(), delete_on_use);
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", file.display()));
        }
        if let Ok(url) = std::env::var("RTC_TEST_POSTGRES_URL") {
            let pg = refresh_token_core::store::postgres::PostgresStore::connect(&url).unwrap();
            check("postgres", pg, delete_on_use);
        }
    }
}
