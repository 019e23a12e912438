//! Concurrency stress: 8 threads mixing create, refresh, revoke, cleanup and a race on one shared
//! OneTimeOnly chain, on every built-in store (PostgreSQL when RTC_TEST_POSTGRES_URL is set).
//! At the end: no chain has two live tokens, no live token was lost, and the counts agree.
//! `RTC_STRESS_OPS` sets the operations per thread (default 400; the README gives a longer run).

use parking_lot::Mutex;
use rand::Rng;
use refresh_token_core::model::{GrantFilter, TokenUsage};
use refresh_token_core::store::postgres::PostgresStore;
use refresh_token_core::store::sqlite::{Durability, SqliteOptions, SqliteStore};
use refresh_token_core::{
    Client, CreateRequest, GrantStore, MemoryStore, RefreshRequest, RefreshTokenService,
    ServiceOptions,
};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

const THREADS: usize = 8;

fn request(subject: &str) -> CreateRequest {
    CreateRequest::for_subject(subject, None, &["offline_access"])
}

/// Retries storage errors (lock timeouts are retryable by contract).
fn retry<T>(
    mut f: impl FnMut() -> Result<T, refresh_token_core::ServiceError>,
) -> Result<T, refresh_token_core::ServiceError> {
    loop {
        match f() {
            Err(e) if e.is_retryable() => continue,
            other => return other,
        }
    }
}

fn stress(name: &str, store: Arc<dyn GrantStore>, ops_per_thread: usize) {
    let options = ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: false,
        ..Default::default()
    };
    let s = RefreshTokenService::builder(store.clone())
        .options(options)
        .build()
        .unwrap();
    let mut c = Client::new("c");
    c.allow_offline_access = true;
    c.refresh_token_usage = TokenUsage::OneTimeOnly;
    let hot = Mutex::new(
        s.create(&c, request(&format!("{name}-hot")))
            .unwrap()
            .handle
            .as_str()
            .to_owned(),
    );
    let ops = AtomicU64::new(0);
    let hot_wins = AtomicU64::new(0);
    // Per thread: (subject, current handle or None when revoked).
    let chains: Vec<Vec<(String, Option<String>)>> = std::thread::scope(|scope| {
        let workers: Vec<_> = (0..THREADS)
            .map(|t| {
                let (s, c, hot, ops, hot_wins) = (&s, &c, &hot, &ops, &hot_wins);
                scope.spawn(move || {
                    let mut rng = rand::rng();
                    let mut mine: Vec<(String, Option<String>)> = Vec::new();
                    for i in 0..ops_per_thread {
                        let pick = rng.random_range(0..100);
                        if mine.is_empty() || pick < 10 {
                            let subject = format!("{name}-t{t}-c{i}");
                            let h = retry(|| s.create(c, request(&subject)))
                                .unwrap()
                                .handle
                                .as_str()
                                .to_owned();
                            mine.push((subject, Some(h)));
                        } else if pick < 70 {
                            let k = rng.random_range(0..mine.len());
                            if let Some(h) = mine[k].1.clone() {
                                let r = retry(|| {
                                    s.refresh(
                                        c,
                                        RefreshRequest {
                                            handle: h.clone().into(),
                                            ..Default::default()
                                        },
                                    )
                                })
                                .unwrap_or_else(|e| {
                                    panic!("{name}: refreshing an owned live token failed: {e}")
                                });
                                mine[k].1 = Some(r.handle.as_str().to_owned());
                            }
                        } else if pick < 80 {
                            let k = rng.random_range(0..mine.len());
                            if let Some(h) = mine[k].1.take() {
                                assert!(
                                    retry(|| s.revoke(c, &h)).unwrap(),
                                    "{name}: revoking an owned token removed nothing"
                                );
                            }
                        } else if pick < 90 {
                            retry(|| s.cleanup()).unwrap();
                        } else {
                            let h = hot.lock().clone();
                            if let Ok(r) = retry(|| {
                                s.refresh(
                                    c,
                                    RefreshRequest {
                                        handle: h.clone().into(),
                                        ..Default::default()
                                    },
                                )
                            }) {
                                let mut cur = hot.lock();
                                // Every request answered for `h` holds h's one successor (the
                                // ones that lost the race get the winner's); the first back
                                // advances the shared chain, once per rotation.
                                if *cur == h {
                                    hot_wins.fetch_add(1, Ordering::Relaxed);
                                    *cur = r.handle.as_str().to_owned();
                                }
                            }
                        }
                        ops.fetch_add(1, Ordering::Relaxed);
                    }
                    mine
                })
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut live_chains = 0;
    for (subject, handle) in chains.iter().flatten() {
        let rows = store
            .get_all(&GrantFilter {
                subject_id: Some(subject.clone()),
                ..Default::default()
            })
            .unwrap();
        let live: Vec<_> = rows.iter().filter(|r| r.consumed_time.is_none()).collect();
        match handle {
            Some(h) => {
                live_chains += 1;
                assert_eq!(
                    live.len(),
                    1,
                    "{name}: chain {subject} has {} live tokens",
                    live.len()
                );
                assert_eq!(
                    live[0].key,
                    refresh_token_core::format::key::refresh_token_key(h),
                    "{name}: {subject}: the live token is not the client's"
                );
                s.validate(h, &c)
                    .unwrap_or_else(|e| panic!("{name}: a live token was lost: {e}"));
            }
            // Revocation removes the live token; consumed predecessors stay until cleanup.
            None => assert!(
                live.is_empty(),
                "{name}: revoked chain {subject} still has a live token"
            ),
        }
    }
    let hot_rows = store
        .get_all(&GrantFilter {
            subject_id: Some(format!("{name}-hot")),
            ..Default::default()
        })
        .unwrap();
    assert_eq!(
        hot_rows
            .iter()
            .filter(|r| r.consumed_time.is_none())
            .count(),
        1,
        "{name}: the hot chain forked"
    );
    assert_eq!(
        hot_rows.len() as u64,
        hot_wins.load(Ordering::Relaxed) + 1,
        "{name}: hot chain rows != redemptions + 1"
    );
    println!(
        "stress {name}: {THREADS} threads, {} operations, {live_chains} live chains checked, {} redemptions of the shared chain, no fork, nothing lost",
        ops.load(Ordering::Relaxed),
        hot_wins.load(Ordering::Relaxed)
    );
}

fn ops(default: usize) -> usize {
    std::env::var("RTC_STRESS_OPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

#[test]
fn stress_memory() {
    stress("memory", Arc::new(MemoryStore::new()), ops(400));
}

#[test]
fn stress_sqlite() {
    let path = std::env::temp_dir().join(format!("rtc-stress-{}.db", std::process::id()));
    let o = SqliteOptions {
        durability: Durability::Normal,
        pool_size: 12,
        ..Default::default()
    };
    stress(
        "sqlite",
        Arc::new(SqliteStore::open_with(&path, o).unwrap()),
        ops(150),
    );
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// Needs a server: `RTC_TEST_POSTGRES_URL=... cargo test --test stress -- --ignored`
/// (tests/run-all starts one and runs it).
#[test]
#[ignore = "needs RTC_TEST_POSTGRES_URL"]
fn stress_postgres() {
    let url = std::env::var("RTC_TEST_POSTGRES_URL").expect("RTC_TEST_POSTGRES_URL");
    let store = PostgresStore::connect(&url).unwrap();
    store.clear().unwrap();
    stress("postgres", Arc::new(store), ops(150));
}
