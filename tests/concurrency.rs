//! A one-time token has exactly one successor, whatever the race: 8 threads present the same
//! OneTimeOnly handle at once, 500 rounds, in delete mode and in mark mode. Every caller is
//! answered with the same successor (the ones that lost the consume get the winner's), no
//! caller that passed validation gets `invalid_grant`, and each chain has exactly one live token
//! after every round.

use refresh_token_core::model::{GrantFilter, TokenUsage};
use refresh_token_core::{
    Client, CreateRequest, MemoryStore, RefreshRequest, RefreshTokenService, ServiceError,
    ServiceOptions,
};
use refresh_token_core::{Event, EventSink};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Barrier, Mutex};

/// Counts the requests that passed validation but lost the conditional consume: the ones the
/// reference would have let through as a second redemption (a fork).
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
const ROUNDS: usize = 500;

fn request(subject: &str) -> CreateRequest {
    CreateRequest::for_subject(subject, Some("s"), &["offline_access"])
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
                                handle: h.into(),
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
            let answers: Vec<&String> = rs
                .iter()
                .map(|r| r.as_ref().unwrap_or_else(|e| panic!("round {round}: {e}")))
                .collect();
            let winner = answers[0];
            assert!(
                answers.iter().all(|h| *h == winner),
                "round {round}: callers got different successors"
            );
            let winners = [winner];
            let filter = GrantFilter {
                subject_id: Some(subject.clone()),
                ..Default::default()
            };
            let rows = service
                .store()
                .expect("a synchronous store")
                .get_all(&filter)
                .unwrap();
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
        "{} mode: {ROUNDS} rounds x {THREADS} threads, all answered with the one successor; {} requests lost the consume and got the winner's",
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

/// A used token presented 10,000 times by 4 threads inside its reuse window (or a grace window):
/// every presentation gets the one successor, and the chain keeps exactly one live token. (Before,
/// a grace window minted a sibling per presentation: 10,001 live tokens.)
fn presented_again(
    delete_on_use: bool,
    policy: refresh_token_core::AcceptConsumedPolicy,
    reuse_window_seconds: u32,
) {
    let store = Arc::new(MemoryStore::new());
    let options = ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: delete_on_use,
        reuse_window_seconds,
        ..Default::default()
    };
    let service = RefreshTokenService::builder(store.clone())
        .options(options)
        .accept_consumed(policy)
        .build()
        .unwrap();
    let mut client = Client::new("spa");
    client.allow_offline_access = true;
    client.refresh_token_usage = TokenUsage::OneTimeOnly;
    let created = service.create(&client, request("hot")).unwrap();
    let h = created.handle.as_str().to_owned();
    let refresh = |handle: &str| {
        service.refresh(
            &client,
            RefreshRequest {
                handle: handle.into(),
                ..Default::default()
            },
        )
    };
    let successor = refresh(&h).unwrap().handle.as_str().to_owned();
    std::thread::scope(|scope| {
        for _ in 0..4 {
            scope.spawn(|| {
                for _ in 0..2500 {
                    let r = refresh(&h).unwrap();
                    assert_eq!(
                        r.handle.as_str(),
                        successor,
                        "a presentation got another token"
                    );
                }
            });
        }
    });
    let rows = service
        .store()
        .expect("a synchronous store")
        .get_all(&GrantFilter {
            subject_id: Some("hot".into()),
            ..Default::default()
        })
        .unwrap();
    let live = rows.iter().filter(|r| r.consumed_time.is_none()).count();
    assert_eq!(live, 1, "live tokens after 10,000 presentations");
    assert_eq!(rows.len(), if delete_on_use { 1 } else { 2 });
}

#[test]
fn ten_thousand_presentations_inside_the_reuse_window_leave_one_live_token() {
    use refresh_token_core::AcceptConsumedPolicy;
    presented_again(true, AcceptConsumedPolicy::Reject, 60);
    presented_again(false, AcceptConsumedPolicy::Reject, 60);
    // The old grace window, with no reuse window: the existing successor too, never a sibling.
    presented_again(false, AcceptConsumedPolicy::Grace { seconds: 60 }, 0);
}
