//! Unit tests of the service paths the scenarios cannot reach: exact store-call counts per
//! refresh, failures between the two writes of a rotation, a lost conditional consume, and
//! failing hooks.

use chrono::{TimeZone, Utc};
use parking_lot::Mutex;
use std::sync::Arc;

use super::*;
use crate::format::protector::ProtectorError;
use crate::model::{Client, GrantFilter, PersistedGrant, Subject, TokenExpiration, TokenUsage};
use crate::store::{memory::MemoryStore, ConsumeAction, ConsumeOutcome, StoreError};

/// Records every store call and fails the calls it is told to fail (by call number).
struct Recording {
    inner: MemoryStore,
    calls: Mutex<Vec<&'static str>>,
    fail_at: Mutex<Vec<usize>>,
}

impl Recording {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(),
            calls: Mutex::new(Vec::new()),
            fail_at: Mutex::new(Vec::new()),
        })
    }
    fn call(&self, name: &'static str) -> Result<(), StoreError> {
        let mut calls = self.calls.lock();
        calls.push(name);
        if self.fail_at.lock().contains(&calls.len()) {
            return Err(StoreError::Unavailable(format!(
                "injected failure of {name}"
            )));
        }
        Ok(())
    }
    fn take_calls(&self) -> Vec<&'static str> {
        std::mem::take(&mut *self.calls.lock())
    }
}

impl GrantStore for Recording {
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError> {
        self.call("get")?;
        self.inner.get(key)
    }
    fn store(&self, g: &PersistedGrant) -> Result<(), StoreError> {
        self.call("store")?;
        self.inner.store(g)
    }
    fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.call("remove")?;
        self.inner.remove(key)
    }
    fn get_all(&self, f: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError> {
        self.call("get_all")?;
        self.inner.get_all(f)
    }
    fn remove_all(&self, f: &GrantFilter) -> Result<u64, StoreError> {
        self.call("remove_all")?;
        self.inner.remove_all(f)
    }
    fn consume(&self, key: &str, a: &ConsumeAction) -> Result<ConsumeOutcome, StoreError> {
        self.call(match a {
            ConsumeAction::Delete => "consume_delete",
            ConsumeAction::MarkConsumed(_) => "consume_mark",
        })?;
        self.inner.consume(key, a)
    }
    fn atomic_consume(&self) -> bool {
        true
    }
    fn remove_expired(&self, now: chrono::DateTime<Utc>, n: usize) -> Result<u64, StoreError> {
        self.call("remove_expired")?;
        self.inner.remove_expired(now, n)
    }
    fn remove_consumed(&self, before: chrono::DateTime<Utc>, n: usize) -> Result<u64, StoreError> {
        self.call("remove_consumed")?;
        self.inner.remove_consumed(before, n)
    }
}

fn client(usage: TokenUsage, expiration: TokenExpiration) -> Client {
    let mut c = Client::new("web");
    c.allow_offline_access = true;
    c.refresh_token_usage = usage;
    c.refresh_token_expiration = expiration;
    c
}

fn request() -> CreateRequest {
    CreateRequest::for_subject(
        "web",
        3600,
        "alice",
        Some("s1"),
        &["openid", "offline_access"],
    )
}

fn service(store: Arc<Recording>, delete_on_use: bool) -> (RefreshTokenService, Arc<ManualClock>) {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap(),
    ));
    let options = crate::model::ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: delete_on_use,
        ..Default::default()
    };
    let s = RefreshTokenService::builder(store)
        .options(options)
        .clock(clock.clone())
        .build()
        .unwrap();
    (s, clock)
}

fn refresh(s: &RefreshTokenService, c: &Client, h: &str) -> Result<Refreshed, ServiceError> {
    s.refresh(
        c,
        RefreshRequest {
            handle: h.into(),
            ..Default::default()
        },
    )
}

#[test]
fn store_calls_per_refresh_match_the_reference_minus_its_extra_reads() {
    let cases = [
        (
            TokenUsage::ReUse,
            TokenExpiration::Absolute,
            true,
            vec!["get"],
        ),
        (
            TokenUsage::ReUse,
            TokenExpiration::Sliding,
            true,
            vec!["get", "store"],
        ),
        (
            TokenUsage::OneTimeOnly,
            TokenExpiration::Absolute,
            true,
            vec!["get", "store", "consume_delete"],
        ),
        (
            TokenUsage::OneTimeOnly,
            TokenExpiration::Absolute,
            false,
            vec!["get", "store", "consume_mark"],
        ),
    ];
    for (usage, expiration, delete, expected) in cases {
        let store = Recording::new();
        let (s, clock) = service(store.clone(), delete);
        let c = client(usage, expiration);
        let created = s.create(&c, request()).unwrap();
        store.take_calls();
        clock.advance(10.0);
        refresh(&s, &c, created.handle.as_str()).unwrap();
        assert_eq!(
            store.take_calls(),
            expected,
            "{usage:?} {expiration:?} delete={delete}"
        );
    }
}

#[test]
fn a_failed_mark_consume_removes_the_successor_and_keeps_the_old_token() {
    let store = Recording::new();
    let (s, _) = service(store.clone(), false);
    let c = client(TokenUsage::OneTimeOnly, TokenExpiration::Absolute);
    let created = s.create(&c, request()).unwrap();
    let before = store.inner.snapshot();
    store.take_calls();
    // Calls: get (1), store successor (2), consume_mark (3) fails, remove successor (4).
    *store.fail_at.lock() = vec![3];
    let err = refresh(&s, &c, created.handle.as_str()).unwrap_err();
    assert_eq!(err.error_code(), "storage_unavailable");
    assert!(err.is_retryable());
    assert_eq!(
        store.take_calls(),
        ["get", "store", "consume_mark", "remove"]
    );
    assert_eq!(store.inner.snapshot(), before);
    store.fail_at.lock().clear();
    assert!(refresh(&s, &c, created.handle.as_str()).unwrap().rotated);
}

#[test]
fn the_successor_removal_is_retried_when_it_fails_too() {
    let store = Recording::new();
    let (s, _) = service(store.clone(), true);
    let c = client(TokenUsage::OneTimeOnly, TokenExpiration::Absolute);
    let created = s.create(&c, request()).unwrap();
    let before = store.inner.snapshot();
    store.take_calls();
    *store.fail_at.lock() = vec![3, 4];
    let err = refresh(&s, &c, created.handle.as_str()).unwrap_err();
    assert!(err.is_retryable());
    assert_eq!(
        store.take_calls(),
        ["get", "store", "consume_delete", "remove", "remove"]
    );
    assert_eq!(store.inner.snapshot(), before);
}

#[test]
fn a_lost_consume_answers_as_a_later_request_and_keeps_no_successor() {
    for (delete, reason) in [(true, Reason::NotFound), (false, Reason::Consumed)] {
        let store = Recording::new();
        let (s, _) = service(store.clone(), delete);
        let c = client(TokenUsage::OneTimeOnly, TokenExpiration::Absolute);
        let created = s.create(&c, request()).unwrap();
        // Another request wins between our validation (which saw `created.token`) and our
        // consume: the row is gone (delete mode) or consumed (mark mode).
        let key = crate::format::key::refresh_token_key(created.handle.as_str());
        if delete {
            store.inner.remove(&key).unwrap();
        } else {
            let mut t = created.token.clone();
            t.consumed_time = Some(s.now());
            store.inner.store(&s.row_for(&key, &t).unwrap()).unwrap();
        }
        store.take_calls();
        let err = s
            .update(created.handle.as_str(), created.token.clone(), &c, false)
            .unwrap_err();
        assert_eq!(err.reason(), Some(reason), "delete={delete}");
        let consume = if delete {
            "consume_delete"
        } else {
            "consume_mark"
        };
        // The default rotation: store the successor, lose the consume, remove the successor;
        // then the service re-validates (get) and answers as a later request.
        assert_eq!(store.take_calls(), ["store", consume, "remove", "get"]);
        let live = store
            .inner
            .snapshot()
            .into_iter()
            .filter(|r| r.consumed_time.is_none())
            .count();
        assert_eq!(
            live, 0,
            "the loser's successor must be removed (delete={delete})"
        );
    }
}

struct FailingProfile;
impl ProfileService for FailingProfile {
    fn is_active(&self, _: &Subject, _: &Client) -> Result<bool, HookError> {
        Err(HookError("profile store down".into()))
    }
}

#[test]
fn a_failing_is_active_hook_is_retryable_and_changes_nothing() {
    let store = Arc::new(MemoryStore::new());
    let s = RefreshTokenService::builder(store.clone())
        .profile(Arc::new(FailingProfile))
        .build()
        .unwrap();
    let c = client(TokenUsage::OneTimeOnly, TokenExpiration::Absolute);
    let created = s.create(&c, request()).unwrap();
    let before = store.snapshot();
    let err = refresh(&s, &c, created.handle.as_str()).unwrap_err();
    assert_eq!(err.error_code(), "hook_failed");
    assert!(err.is_retryable());
    assert_eq!(store.snapshot(), before);
}

struct DownProtector;
impl crate::format::protector::PayloadProtector for DownProtector {
    fn protect(&self, _: &str) -> Result<String, ProtectorError> {
        Err(ProtectorError::Unavailable("key ring unreachable".into()))
    }
    fn unprotect(&self, _: &str) -> Result<String, ProtectorError> {
        Err(ProtectorError::Unavailable("key ring unreachable".into()))
    }
}

#[test]
fn an_unavailable_protector_is_retryable_not_invalid_grant() {
    let store = Arc::new(MemoryStore::new());
    let s = RefreshTokenService::builder(store.clone())
        .protector(Arc::new(DownProtector))
        .build()
        .unwrap();
    let c = client(TokenUsage::ReUse, TokenExpiration::Absolute);
    let err = s.create(&c, request()).unwrap_err();
    assert_eq!(err.error_code(), "hook_failed");
    assert!(store.is_empty());
    // A protected row that cannot be unprotected right now is retryable too.
    let plain = RefreshTokenService::builder(store.clone()).build().unwrap();
    let created = plain.create(&c, request()).unwrap();
    let key = crate::format::key::refresh_token_key(created.handle.as_str());
    let mut row = store.get(&key).unwrap().unwrap();
    row.data =
        r#"{"PersistentGrantDataContainerVersion":1,"DataProtected":true,"Payload":"CfDJ8xyz"}"#
            .into();
    store.store(&row).unwrap();
    let err = s.validate(created.handle.as_str(), &c).unwrap_err();
    assert!(err.is_retryable(), "{err}");
}

#[derive(Default)]
struct Collect(Mutex<Vec<Event>>);
impl EventSink for Collect {
    fn emit(&self, e: &Event) {
        self.0.lock().push(e.clone());
    }
}

#[test]
fn events_and_errors_never_carry_the_handle() {
    let store = Arc::new(MemoryStore::new());
    let events = Arc::new(Collect::default());
    let options = crate::model::ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: false,
        ..Default::default()
    };
    let s = RefreshTokenService::builder(store.clone())
        .options(options)
        .accept_consumed(AcceptConsumedPolicy::RevokeOnReplay)
        .events(events.clone())
        .build()
        .unwrap();
    let c = client(TokenUsage::OneTimeOnly, TokenExpiration::Absolute);
    let created = s.create(&c, request()).unwrap();
    let h = created.handle.as_str().to_owned();
    let next = refresh(&s, &c, &h).unwrap();
    let err = refresh(&s, &c, &h).unwrap_err();
    s.revoke(&c, next.handle.as_str()).unwrap();
    s.cleanup().unwrap();
    let mut emitted = format!("{:?} {err} {err:?}", events.0.lock());
    for row in store.snapshot() {
        emitted.push_str(&format!("{row:?}"));
    }
    for secret in [&h, next.handle.as_str()] {
        assert!(!emitted.contains(&secret[..64]), "a handle leaked");
    }
    assert!(events
        .0
        .lock()
        .iter()
        .any(|e| matches!(e, Event::ReplayRevoked { .. })));
}
