//! A one-time token is redeemed by at most one of any number of concurrent requests, and its
//! chain never forks: 8 threads present the same OneTimeOnly handle at once, 1000 rounds, in
//! delete mode and in mark mode.

use refresh_token_core::model::{GrantFilter, TokenUsage};
use refresh_token_core::{
    Client, CreateRequest, MemoryStore, RefreshRequest, RefreshTokenService, ServiceError,
    ServiceOptions,
};
use refresh_token_core::{Event, EventSink};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

/// Counts the requests that passed validation but lost the conditional consume: the ones the
/// reference would have let through as a second redemption.
#[derive(Default)]
struct LostCounter(AtomicU64);

impl EventSink for LostCounter {
    fn emit(&self, event: &Event) {
        if matches!(event, Event::ConsumeLost { .. }) {
            self.0.fetch_add(1, Ordering::Relaxed);
        }
    }
}

const THREADS: usize = 8;
const ROUNDS: usize = 1000;

fn request(subject: &str) -> CreateRequest {
    CreateRequest::for_subject("spa", 3600, subject, Some("s"), &["offline_access"])
}

fn race(delete_on_use: bool) {
    let store = Arc::new(MemoryStore::new());
    let options = ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: delete_on_use,
        ..Default::default()
    };
    let lost = Arc::new(LostCounter::default());
    let service = RefreshTokenService::builder(store.clone())
        .options(options)
        .events(lost.clone())
        .build()
        .unwrap();
    let mut client = Client::new("spa");
    client.allow_offline_access = true;
    client.refresh_token_usage = TokenUsage::OneTimeOnly;

    let start = Barrier::new(THREADS + 1);
    let done = Barrier::new(THREADS + 1);
    let handle = Mutex::new(String::new());
    let results: Mutex<Vec<Result<String, ServiceError>>> = Mutex::new(Vec::new());

    std::thread::scope(|scope| {
        for _ in 0..THREADS {
            scope.spawn(|| {
                for _ in 0..ROUNDS {
                    start.wait();
                    let h = handle.lock().unwrap().clone();
                    let r = service
                        .refresh(
                            &client,
                            RefreshRequest {
                                handle: h,
                                ..Default::default()
                            },
                        )
                        .map(|ok| ok.handle.as_str().to_owned());
                    results.lock().unwrap().push(r);
                    done.wait();
                }
            });
        }
        for round in 0..ROUNDS {
            let subject = format!("user-{round}");
            let created = service.create(&client, request(&subject)).unwrap();
            *handle.lock().unwrap() = created.handle.as_str().to_owned();
            start.wait();
            done.wait();
            let rs: Vec<_> = std::mem::take(&mut *results.lock().unwrap());
            let winners: Vec<&String> = rs.iter().filter_map(|r| r.as_ref().ok()).collect();
            assert_eq!(
                winners.len(),
                1,
                "round {round}: {} successes",
                winners.len()
            );
            for r in &rs {
                if let Err(e) = r {
                    let expected = if delete_on_use {
                        "not_found"
                    } else {
                        "consumed"
                    };
                    assert_eq!(
                        e.reason().map(|r| r.as_str()),
                        Some(expected),
                        "round {round}: {e}"
                    );
                }
            }
            let filter = GrantFilter {
                subject_id: Some(subject.clone()),
                ..Default::default()
            };
            let rows = service.store().get_all(&filter).unwrap();
            let live: Vec<_> = rows.iter().filter(|r| r.consumed_time.is_none()).collect();
            assert_eq!(live.len(), 1, "round {round}: {} live tokens", live.len());
            assert_eq!(
                live[0].key,
                refresh_token_core::format::key::refresh_token_key(winners[0])
            );
            assert_eq!(
                rows.len(),
                if delete_on_use { 1 } else { 2 },
                "round {round}: rows"
            );
        }
    });
    println!(
        "{} mode: {ROUNDS} rounds x {THREADS} threads, {} requests passed validation and lost the consume",
        if delete_on_use { "delete" } else { "mark" },
        lost.0.load(Ordering::Relaxed)
    );
}

#[test]
fn one_winner_per_round_in_delete_mode() {
    race(true);
}

#[test]
fn one_winner_per_round_in_mark_mode() {
    race(false);
}
