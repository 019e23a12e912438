//! Fault injection, exhaustively: for every operation and every store call it makes, that call
//! fails (once with an error, once with a garbage answer) and the test checks that the answer is
//! a typed retryable error, the stored state is unchanged, the retry succeeds, and no chain ever
//! has two live tokens. Prints the number of injection points covered.

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use refresh_token_core::model::{GrantFilter, PersistedGrant, TokenExpiration, TokenUsage};
use refresh_token_core::store::{ConsumeAction, ConsumeOutcome};
use refresh_token_core::{
    AcceptConsumedPolicy, Client, CreateRequest, GrantStore, ManualClock, MemoryStore,
    RefreshRequest, RefreshTokenService, ServiceError, ServiceOptions, StoreError,
};
use std::sync::Arc;

/// Fails the n-th store call (0-based) with an error or a garbage answer; counts calls.
struct Injecting {
    inner: MemoryStore,
    calls: Mutex<usize>,
    fail_at: Mutex<Option<(usize, bool)>>, // (call index, garbage instead of error)
}

impl Injecting {
    fn new() -> Arc<Self> {
        Arc::new(Self {
            inner: MemoryStore::new(),
            calls: Mutex::new(0),
            fail_at: Mutex::new(None),
        })
    }
    /// Err(garbage?) when this call is the one to fail.
    fn tick(&self) -> Result<(), bool> {
        let mut calls = self.calls.lock();
        let n = *calls;
        *calls += 1;
        match *self.fail_at.lock() {
            Some((i, garbage)) if i == n => Err(garbage),
            _ => Ok(()),
        }
    }
    fn fail(garbage: bool) -> StoreError {
        if garbage {
            StoreError::BadResponse("injected garbage answer".into())
        } else {
            StoreError::Unavailable("injected failure".into())
        }
    }
}

impl GrantStore for Injecting {
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError> {
        self.tick().map_err(Self::fail)?;
        self.inner.get(key)
    }
    fn store(&self, g: &PersistedGrant) -> Result<(), StoreError> {
        self.tick().map_err(Self::fail)?;
        self.inner.store(g)
    }
    fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.tick().map_err(Self::fail)?;
        self.inner.remove(key)
    }
    fn get_all(&self, f: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError> {
        self.tick().map_err(Self::fail)?;
        self.inner.get_all(f)
    }
    fn remove_all(&self, f: &GrantFilter) -> Result<u64, StoreError> {
        self.tick().map_err(Self::fail)?;
        self.inner.remove_all(f)
    }
    fn consume(&self, key: &str, a: &ConsumeAction) -> Result<ConsumeOutcome, StoreError> {
        self.tick().map_err(Self::fail)?;
        self.inner.consume(key, a)
    }
    fn atomic_consume(&self) -> bool {
        true
    }
    fn remove_expired(&self, now: DateTime<Utc>, n: usize) -> Result<u64, StoreError> {
        self.tick().map_err(Self::fail)?;
        self.inner.remove_expired(now, n)
    }
    fn remove_consumed(&self, before: DateTime<Utc>, n: usize) -> Result<u64, StoreError> {
        self.tick().map_err(Self::fail)?;
        self.inner.remove_consumed(before, n)
    }
}

fn request() -> CreateRequest {
    CreateRequest::for_subject("alice", Some("s"), &["offline_access"])
}

struct Case {
    name: &'static str,
    usage: TokenUsage,
    expiration: TokenExpiration,
    delete_on_use: bool,
    policy: AcceptConsumedPolicy,
    /// Prepares the state (with no failures); returns the handle the operation uses.
    setup: fn(&RefreshTokenService, &Client, &ManualClock) -> String,
    /// The operation under test.
    op: fn(&RefreshTokenService, &Client, &str) -> Result<(), ServiceError>,
    /// Cleanup works in batches: a failure may come after earlier batches removed due rows. Then
    /// the state may have lost rows (all of them due) but never gained or changed one.
    partial_progress_ok: bool,
    /// A rotation on a store without a transaction: when its consume fails, the successor it
    /// inserted first stays (it is the one every retry names), so one added live row is fine.
    may_add_successor: bool,
    /// Live (unconsumed) tokens once the retry succeeded: exactly one per chain (a grace window
    /// returns the existing successor, never a sibling).
    live_after: usize,
}

fn create_one(s: &RefreshTokenService, c: &Client, _: &ManualClock) -> String {
    s.create(c, request()).unwrap().handle.as_str().to_owned()
}

fn refresh(s: &RefreshTokenService, c: &Client, h: &str) -> Result<(), ServiceError> {
    s.refresh(
        c,
        RefreshRequest {
            handle: h.into(),
            ..Default::default()
        },
    )
    .map(|_| ())
}

fn cases() -> Vec<Case> {
    use TokenExpiration::*;
    use TokenUsage::*;
    let reject = AcceptConsumedPolicy::Reject;
    vec![
        Case {
            name: "create",
            usage: ReUse,
            expiration: Absolute,
            delete_on_use: true,
            policy: reject.clone(),
            setup: |_, _, _| String::new(),
            op: |s, c, _| s.create(c, request()).map(|_| ()),
            partial_progress_ok: false,
            may_add_successor: false,
            live_after: 1,
        },
        Case {
            name: "validate",
            usage: ReUse,
            expiration: Absolute,
            delete_on_use: true,
            policy: reject.clone(),
            setup: create_one,
            op: |s, c, h| s.validate(h, c).map(|_| ()),
            partial_progress_ok: false,
            may_add_successor: false,
            live_after: 1,
        },
        Case {
            name: "refresh ReUse+Absolute",
            usage: ReUse,
            expiration: Absolute,
            delete_on_use: true,
            policy: reject.clone(),
            setup: create_one,
            op: refresh,
            partial_progress_ok: false,
            may_add_successor: false,
            live_after: 1,
        },
        Case {
            name: "refresh ReUse+Sliding",
            usage: ReUse,
            expiration: Sliding,
            delete_on_use: true,
            policy: reject.clone(),
            setup: create_one,
            op: refresh,
            partial_progress_ok: false,
            may_add_successor: false,
            live_after: 1,
        },
        Case {
            name: "refresh OneTimeOnly delete",
            usage: OneTimeOnly,
            expiration: Absolute,
            delete_on_use: true,
            policy: reject.clone(),
            setup: create_one,
            op: refresh,
            partial_progress_ok: false,
            may_add_successor: true,
            live_after: 1,
        },
        Case {
            name: "refresh OneTimeOnly mark",
            usage: OneTimeOnly,
            expiration: Sliding,
            delete_on_use: false,
            policy: reject.clone(),
            setup: create_one,
            op: refresh,
            partial_progress_ok: false,
            may_add_successor: true,
            live_after: 1,
        },
        Case {
            name: "refresh of a replayed token with revoke-on-replay",
            usage: OneTimeOnly,
            expiration: Absolute,
            delete_on_use: false,
            policy: AcceptConsumedPolicy::RevokeOnReplay,
            setup: |s, c, clock| {
                let h = create_one(s, c, clock);
                refresh(s, c, &h).unwrap();
                // Past the reuse window: a replay.
                clock.advance(120.0);
                h
            },
            op: |s, c, h| match refresh(s, c, h) {
                // The expected answer after a successful revocation is a refusal.
                Err(ServiceError::Rejected(_)) => Ok(()),
                other => other,
            },
            // Revoking a family is one removal per token: a failure may leave part of it, and
            // the retry (the replay is seen again) removes the rest.
            partial_progress_ok: true,
            may_add_successor: false,
            live_after: 0,
        },
        Case {
            name: "refresh within a grace window (past the reuse window): the existing successor",
            usage: OneTimeOnly,
            expiration: Absolute,
            delete_on_use: false,
            policy: AcceptConsumedPolicy::Grace { seconds: 300 },
            setup: |s, c, clock| {
                let h = create_one(s, c, clock);
                refresh(s, c, &h).unwrap();
                clock.advance(120.0);
                h
            },
            op: refresh,
            partial_progress_ok: false,
            may_add_successor: false,
            live_after: 1,
        },
        Case {
            name: "revoke",
            usage: ReUse,
            expiration: Absolute,
            delete_on_use: true,
            policy: reject.clone(),
            setup: create_one,
            op: |s, c, h| s.revoke(c, h).map(|_| ()),
            partial_progress_ok: false,
            may_add_successor: false,
            live_after: 0,
        },
        Case {
            name: "cleanup",
            usage: OneTimeOnly,
            expiration: Absolute,
            delete_on_use: false,
            policy: reject.clone(),
            setup: |s, c, clock| {
                let h = create_one(s, c, clock);
                refresh(s, c, &h).unwrap();
                clock.advance(31.0 * 86400.0);
                h
            },
            op: |s, _, _| s.cleanup().map(|_| ()),
            partial_progress_ok: true,
            may_add_successor: false,
            live_after: 0,
        },
    ]
}

fn live(store: &MemoryStore) -> usize {
    store
        .snapshot()
        .iter()
        .filter(|r| r.consumed_time.is_none() && r.grant_type == "refresh_token")
        .count()
}

#[test]
fn every_store_call_of_every_operation_can_fail_without_loss() {
    let mut points = 0;
    for case in cases() {
        // Count the store calls the operation makes when nothing fails.
        let run = |fail_at: Option<(usize, bool)>| {
            let store = Injecting::new();
            let clock = Arc::new(ManualClock::new(Utc::now()));
            let options = ServiceOptions {
                delete_one_time_only_refresh_tokens_on_use: case.delete_on_use,
                cleanup: refresh_token_core::CleanupOptions {
                    remove_consumed_tokens: true,
                    ..Default::default()
                },
                ..Default::default()
            };
            let s = RefreshTokenService::builder(store.clone())
                .options(options)
                .clock(clock.clone())
                .accept_consumed(case.policy.clone())
                .build()
                .unwrap();
            let mut c = Client::new("c");
            c.allow_offline_access = true;
            c.refresh_token_usage = case.usage;
            c.refresh_token_expiration = case.expiration;
            let h = (case.setup)(&s, &c, &clock);
            let before = store.inner.snapshot();
            *store.calls.lock() = 0;
            *store.fail_at.lock() = fail_at;
            let result = (case.op)(&s, &c, &h);
            let calls = *store.calls.lock();
            let after = store.inner.snapshot();
            *store.fail_at.lock() = None;
            let retry = (case.op)(&s, &c, &h);
            (result, calls, before, after, retry, live(&store.inner))
        };
        let (ok, calls, _, _, _, _) = run(None);
        ok.unwrap_or_else(|e| panic!("{}: fails without injection: {e}", case.name));
        assert!(calls > 0, "{}: makes no store call", case.name);
        for i in 0..calls {
            for garbage in [false, true] {
                let (result, _, before, after, retry, live) = run(Some((i, garbage)));
                let what = format!(
                    "{} (store call {} of {calls}, {})",
                    case.name,
                    i + 1,
                    if garbage { "garbage" } else { "error" }
                );
                match result {
                    Err(e) => {
                        assert!(e.is_retryable(), "{what}: {e} is not retryable");
                        assert_eq!(e.error_code(), "storage_unavailable", "{what}");
                        if case.partial_progress_ok {
                            assert!(
                                after.iter().all(|r| before.contains(r)),
                                "{what}: a row was added or changed"
                            );
                        } else if case.may_add_successor {
                            assert!(
                                before.iter().all(|r| after.contains(r)),
                                "{what}: a row changed"
                            );
                            let added: Vec<_> =
                                after.iter().filter(|r| !before.contains(r)).collect();
                            assert!(
                                added.len() <= 1 && added.iter().all(|r| r.consumed_time.is_none()),
                                "{what}: more than the one successor was added"
                            );
                        } else {
                            assert_eq!(before, after, "{what}: the stored state changed");
                        }
                    }
                    Ok(()) => panic!("{what}: succeeded although a store call failed"),
                }
                retry.unwrap_or_else(|e| panic!("{what}: the retry failed: {e}"));
                assert_eq!(live, case.live_after, "{what}: live tokens after the retry");
                points += 1;
            }
        }
    }
    println!("fault injection: {points} injection points (store call x error/garbage) across {} operations, all typed, retryable and lossless", cases().len());
    assert!(points >= 40);
}
