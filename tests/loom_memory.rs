//! loom model of the in-memory store: every interleaving of two requests consuming (or rotating)
//! the same one-time token has exactly one winner, and exactly one successor survives.
//!
//! `RUSTFLAGS="--cfg rtc_loom" CARGO_TARGET_DIR=target/loom cargo test --test loom_memory`
#![cfg(rtc_loom)]

use chrono::{TimeZone, Utc};
use refresh_token_core::model::PersistedGrant;
use refresh_token_core::store::{ConsumeAction, ConsumeOutcome, GrantStore};
use refresh_token_core::MemoryStore;
use std::sync::Arc;

fn row(key: &str, consumed: bool) -> PersistedGrant {
    let t = Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap();
    PersistedGrant {
        key: key.into(),
        grant_type: "refresh_token".into(),
        subject_id: Some("alice".into()),
        session_id: None,
        client_id: "c".into(),
        description: None,
        creation_time: t,
        expiration: Some(t),
        consumed_time: consumed.then_some(t),
        data: "{}".into(),
    }
}

fn race(action: impl Fn() -> ConsumeAction + Send + Sync + 'static) {
    loom::model(move || {
        let store = Arc::new(MemoryStore::new());
        store.store(&row("presented", false)).unwrap();
        let action = Arc::new(action());
        let spawn = |successor: &'static str| {
            let (store, action) = (store.clone(), action.clone());
            loom::thread::spawn(move || {
                store
                    .rotate("presented", &action, &row(successor, false))
                    .unwrap()
            })
        };
        let (a, b) = (spawn("successor-a"), spawn("successor-b"));
        let (a, b) = (a.join().unwrap(), b.join().unwrap());
        let wins = [a, b].iter().filter(|o| **o == ConsumeOutcome::Won).count();
        assert_eq!(wins, 1, "outcomes {a:?} {b:?}");
        let successors = ["successor-a", "successor-b"]
            .iter()
            .filter(|k| store.get(k).unwrap().is_some())
            .count();
        assert_eq!(successors, 1, "exactly the winner's successor is stored");
    });
}

#[test]
fn two_rotations_in_delete_mode_have_one_winner_in_every_interleaving() {
    race(|| ConsumeAction::Delete);
}

#[test]
fn two_rotations_in_mark_mode_have_one_winner_in_every_interleaving() {
    race(|| ConsumeAction::MarkConsumed(Box::new(row("presented", true))));
}
