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

/// Records every store call and fails the calls it is told to fail (by call number): before
/// doing anything (`fail_at`), or after doing it, as a commit whose answer was lost
/// (`fail_after`).
struct Recording {
    inner: MemoryStore,
    calls: Mutex<Vec<&'static str>>,
    fail_at: Mutex<Vec<usize>>,
    fail_after: Mutex<Vec<usize>>,
}

impl Recording {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(),
            calls: Mutex::new(Vec::new()),
            fail_at: Mutex::new(Vec::new()),
            fail_after: Mutex::new(Vec::new()),
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
    /// Runs `op`, then fails if this call was told to fail after applying.
    fn applied<T>(
        &self,
        name: &'static str,
        op: impl FnOnce() -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        self.call(name)?;
        let n = self.calls.lock().len();
        let out = op()?;
        if self.fail_after.lock().contains(&n) {
            return Err(StoreError::Unavailable(format!(
                "{name} applied, then its answer was lost"
            )));
        }
        Ok(out)
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
        let name = match a {
            ConsumeAction::Delete => "consume_delete",
            ConsumeAction::MarkConsumed(_) => "consume_mark",
        };
        self.applied(name, || self.inner.consume(key, a))
    }
    fn insert_if_absent(&self, g: &PersistedGrant) -> Result<bool, StoreError> {
        self.applied("insert_if_absent", || self.inner.insert_if_absent(g))
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
    CreateRequest::for_subject("alice", Some("s1"), &["openid", "offline_access"])
}

/// A one-time token just created on a recording store: the store, the service, the client, the
/// created token and the service's clock.
type OneTime = (
    Arc<Recording>,
    RefreshTokenService,
    Client,
    Created,
    Arc<ManualClock>,
);

/// [`OneTime`] with the store's recorded calls cleared, so a test counts only its own.
fn one_time(delete_on_use: bool) -> OneTime {
    let t = one_time_untouched(delete_on_use);
    t.0.take_calls();
    t
}

fn one_time_untouched(delete_on_use: bool) -> OneTime {
    let store = Recording::new();
    let (s, clock) = service(store.clone(), delete_on_use);
    let c = client(TokenUsage::OneTimeOnly, TokenExpiration::Absolute);
    let created = s.create(&c, request()).unwrap();
    (store, s, c, created, clock)
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
            vec!["get", "insert_if_absent", "consume_delete"],
        ),
        (
            TokenUsage::OneTimeOnly,
            TokenExpiration::Absolute,
            false,
            vec!["get", "insert_if_absent", "consume_mark"],
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

fn live(store: &Recording) -> Vec<String> {
    store
        .inner
        .snapshot()
        .into_iter()
        .filter(|r| {
            r.consumed_time.is_none() && r.grant_type == crate::model::REFRESH_TOKEN_GRANT_TYPE
        })
        .map(|r| r.key)
        .collect()
}

#[test]
fn a_consume_that_fails_before_applying_is_retryable_and_the_retry_converges() {
    for delete in [true, false] {
        let (store, s, c, created, _) = one_time(delete);
        // Calls: get (1), insert the successor (2), consume (3) fails, then the read-back.
        *store.fail_at.lock() = vec![3];
        let err = refresh(&s, &c, created.handle.as_str()).unwrap_err();
        assert_eq!(err.error_code(), "storage_unavailable");
        assert!(err.is_retryable());
        let consume = if delete {
            "consume_delete"
        } else {
            "consume_mark"
        };
        // The read-back found the presented token still live: not applied.
        assert_eq!(
            store.take_calls(),
            ["get", "insert_if_absent", consume, "get", "get"]
        );
        store.fail_at.lock().clear();
        // The successor stays (it is the one every retry names); the retry completes the rotation.
        let next = refresh(&s, &c, created.handle.as_str()).unwrap();
        assert!(next.rotated);
        assert_eq!(
            live(&store),
            [crate::format::key::refresh_token_key(next.handle.as_str())],
            "delete={delete}"
        );
    }
}

#[test]
fn a_successor_left_by_a_failed_rotation_that_is_never_retried_goes_with_cleanup() {
    let (store, s, c, created, clock) = one_time(true);
    // The consume (call 3) fails: the successor inserted first stays, nobody holds it.
    *store.fail_at.lock() = vec![3];
    assert!(refresh(&s, &c, created.handle.as_str()).is_err());
    store.fail_at.lock().clear();
    assert_eq!(live(&store).len(), 2);
    // The client gives up. The successor shares the chain's expiry: cleanup removes both.
    clock.advance(31.0 * 86400.0);
    s.cleanup().unwrap();
    assert!(live(&store).is_empty(), "an orphan outlived its chain");
}

#[test]
fn a_rotation_that_applies_and_then_reports_failure_is_answered_with_its_successor() {
    for delete in [true, false] {
        let (store, s, c, created, _) = one_time(delete);
        // The consume (call 3) applies, then its answer is lost: the read-back finds out.
        *store.fail_after.lock() = vec![3];
        let next = refresh(&s, &c, created.handle.as_str()).unwrap();
        assert!(next.rotated);
        assert_eq!(
            live(&store),
            [crate::format::key::refresh_token_key(next.handle.as_str())],
            "delete={delete}"
        );
        // The client never saw that answer either: its retry gets the same successor.
        store.fail_after.lock().clear();
        let retry = refresh(&s, &c, created.handle.as_str()).unwrap();
        assert_eq!(retry.handle, next.handle, "delete={delete}");
        assert_eq!(
            live(&store),
            [crate::format::key::refresh_token_key(next.handle.as_str())]
        );
    }
}

#[test]
fn when_even_the_read_back_fails_the_retry_finds_the_successor() {
    for delete in [true, false] {
        let (store, s, c, created, clock) = one_time(delete);
        // The consume applies and fails; the two reads of the read-back fail too.
        *store.fail_after.lock() = vec![3];
        *store.fail_at.lock() = vec![4, 5];
        let err = refresh(&s, &c, created.handle.as_str()).unwrap_err();
        assert!(err.is_retryable(), "{err}");
        store.fail_after.lock().clear();
        store.fail_at.lock().clear();
        // Nothing is lost: the retry, inside the reuse window, gets the one successor.
        clock.advance(5.0);
        let retry = refresh(&s, &c, created.handle.as_str()).unwrap();
        assert_eq!(
            live(&store),
            [crate::format::key::refresh_token_key(retry.handle.as_str())],
            "delete={delete}"
        );
        assert_eq!(retry.handle, s.secrets.successor(created.handle.as_str()));
    }
}

#[test]
fn a_lost_consume_is_answered_with_the_winners_successor() {
    for delete in [true, false] {
        let (store, s, c, created, _) = one_time_untouched(delete);
        // Both requests validated the token; the winner rotates first.
        let winner = s
            .update(created.handle.as_str(), created.token.clone(), &c, false)
            .unwrap();
        store.take_calls();
        let loser = s
            .update(created.handle.as_str(), created.token.clone(), &c, false)
            .unwrap();
        assert_eq!(loser.handle, winner.handle, "delete={delete}");
        let consume = if delete {
            "consume_delete"
        } else {
            "consume_mark"
        };
        // The loser's insert finds the successor there, its consume loses, the presented row is
        // indeed used or gone, and the successor is live: answered with it, nothing removed.
        assert_eq!(
            store.take_calls(),
            ["insert_if_absent", consume, "get", "get"]
        );
        assert_eq!(live(&store), std::slice::from_ref(&winner.key));
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
        .successor_secrets(crate::format::successor::SuccessorSecrets::generate())
        .build()
        .unwrap();
    let c = client(TokenUsage::ReUse, TokenExpiration::Absolute);
    let err = s.create(&c, request()).unwrap_err();
    assert_eq!(err.error_code(), "hook_failed");
    assert!(store.is_empty());
    // Without a secret of its own the service protects the one it stores: it cannot start
    // with the protector down, and says so as a retryable hook failure.
    let down = RefreshTokenService::builder(store.clone())
        .protector(Arc::new(DownProtector))
        .build()
        .err()
        .unwrap();
    assert_eq!(down.error_code(), "hook_failed");
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
        reuse_window_seconds: 0,
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

#[test]
fn a_refresh_request_never_shows_its_handle_in_debug_output() {
    let handle = crate::format::handle::Handle::generate();
    let request = RefreshRequest {
        handle: handle.as_str().into(),
        resource: Some("urn:api".into()),
        ..Default::default()
    };
    let printed = format!("{request:?} {request:#?}");
    assert!(!printed.contains(handle.as_str()), "{printed}");
    assert!(printed.contains("redacted, 66 chars") && printed.contains("urn:api"));
}

#[test]
fn a_token_that_would_expire_after_year_9999_is_refused_before_anything_is_written() {
    let store = Recording::new();
    let (s, clock) = service(store.clone(), true);
    clock.set(Utc.with_ymd_and_hms(9999, 12, 31, 0, 0, 0).unwrap());
    let c = client(TokenUsage::OneTimeOnly, TokenExpiration::Absolute);
    match s.create(&c, request()) {
        Err(ServiceError::Rejected(r)) => assert_eq!(r.reason, Reason::Malformed),
        other => panic!("expected a refusal, got {other:?}"),
    }
    assert!(live(&store).is_empty(), "no token row was written");
    // A lifetime that ends in year 9999 is still issued.
    clock.set(Utc.with_ymd_and_hms(9999, 11, 1, 0, 0, 0).unwrap());
    assert!(s.create(&c, request()).is_ok());
}

#[test]
fn a_client_cannot_grow_its_own_row_without_limit() {
    use super::bounds::*;
    let store = Recording::new();
    let (s, _clock) = service(store.clone(), true);
    let c = client(TokenUsage::ReUse, TokenExpiration::Absolute);
    let created = s.create(&c, request()).unwrap();
    let with_resource = |resource: String| {
        s.refresh(
            &c,
            RefreshRequest {
                handle: created.handle.as_str().into(),
                resource: Some(resource),
                ..Default::default()
            },
        )
    };
    let too_large = |r: Result<Refreshed, ServiceError>| match r {
        Err(ServiceError::Rejected(r)) => {
            r.error == super::OAuthError::InvalidRequest && r.reason == Reason::TooLarge
        }
        _ => false,
    };
    // Before: 300 refreshes, each with another 60 KB resource, grew the row to 17 MB.
    assert!(too_large(with_resource("r".repeat(60_000))));
    assert!(too_large(with_resource(
        "r".repeat(MAX_RESOURCE_INDICATOR_LENGTH + 1)
    )));
    // The token was created for "" (one record); 15 more resources fit, the 17th does not.
    for i in 1..MAX_RESOURCES_PER_TOKEN {
        assert!(with_resource(format!("https://api{i}.example/{}", "x".repeat(400))).is_ok());
    }
    assert!(too_large(with_resource(
        "https://one-too-many.example".into()
    )));
    assert!(
        with_resource(format!("https://api3.example/{}", "x".repeat(400))).is_ok(),
        "a known resource still refreshes"
    );
    let row = store
        .inner
        .snapshot()
        .into_iter()
        .find(|r| r.grant_type == crate::model::REFRESH_TOKEN_GRANT_TYPE)
        .unwrap();
    assert!(
        row.data.len() <= MAX_DATA_LENGTH,
        "the row stays within every store's column: {} bytes",
        row.data.len()
    );
}

#[test]
fn a_description_or_a_row_over_its_bound_is_refused_at_creation_and_nothing_is_written() {
    use super::bounds::*;
    let store = Recording::new();
    let (s, _clock) = service(store.clone(), true);
    let c = client(TokenUsage::ReUse, TokenExpiration::Absolute);
    let refused = |r: Result<Created, ServiceError>| matches!(r, Err(ServiceError::Rejected(r)) if r.reason == Reason::TooLarge);
    let mut long_description = request();
    long_description.description = Some("d".repeat(MAX_DESCRIPTION_LENGTH + 1));
    assert!(refused(s.create(&c, long_description)));
    let mut huge_row = request();
    huge_row.authorized_scopes = (0..600)
        .map(|i| format!("scope-{i}-{}", "s".repeat(100)))
        .collect();
    assert!(refused(s.create(&c, huge_row)));
    assert!(live(&store).is_empty(), "no token row was written");
    let mut fits = request();
    fits.description = Some("d".repeat(MAX_DESCRIPTION_LENGTH));
    assert!(s.create(&c, fits).is_ok());
}

/// A host store with only the required calls: no atomic consume.
struct ReadThenWrite(MemoryStore);
impl GrantStore for ReadThenWrite {
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError> {
        self.0.get(key)
    }
    fn store(&self, g: &PersistedGrant) -> Result<(), StoreError> {
        self.0.store(g)
    }
    fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.0.remove(key)
    }
    fn get_all(&self, f: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError> {
        self.0.get_all(f)
    }
    fn remove_all(&self, f: &GrantFilter) -> Result<u64, StoreError> {
        self.0.remove_all(f)
    }
    fn remove_expired(&self, now: chrono::DateTime<Utc>, n: usize) -> Result<u64, StoreError> {
        self.0.remove_expired(now, n)
    }
    fn remove_consumed(&self, before: chrono::DateTime<Utc>, n: usize) -> Result<u64, StoreError> {
        self.0.remove_consumed(before, n)
    }
}

#[test]
fn a_store_without_an_atomic_consume_is_refused_unless_accepted_and_then_reported_once() {
    let refused = RefreshTokenService::builder(Arc::new(ReadThenWrite(MemoryStore::new())))
        .build()
        .err()
        .expect("a non-atomic store needs the opt-in");
    assert!(
        matches!(&refused, ServiceError::InvalidArgument(m) if m.contains("allow_non_atomic_consume"))
    );
    let built_on = |store: Arc<dyn GrantStore>| {
        let events = Arc::new(Collect::default());
        let s = RefreshTokenService::builder(store)
            .events(events.clone())
            .allow_non_atomic_consume(true)
            .build()
            .unwrap();
        let c = client(TokenUsage::OneTimeOnly, TokenExpiration::Absolute);
        let created = s.create(&c, request()).unwrap();
        refresh(&s, &c, created.handle.as_str()).unwrap();
        let reported = events
            .0
            .lock()
            .iter()
            .filter(|e| matches!(e, Event::NonAtomicConsume))
            .count();
        reported
    };
    assert_eq!(built_on(Arc::new(ReadThenWrite(MemoryStore::new()))), 1);
    assert_eq!(built_on(Arc::new(MemoryStore::new())), 0);
}
