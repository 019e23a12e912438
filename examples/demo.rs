//! The full token lifecycle, narrated: issue, refresh under ReUse and OneTimeOnly, a replay
//! refused, a retry inside the reuse window answered with the same successor, revocation and
//! cleanup.
//!
//! Runs on the embedded default store, SQLite, in the file `demo.db` (or the path given as the
//! first argument), with a manual clock so that an hour passes in a line. The file holds Duende's
//! `PersistedGrants` table: open it with `sqlite3 demo.db` to look at the rows.
//! `cargo run --example demo [PATH]`

use chrono::{TimeZone, Utc};
use refresh_token_core::model::{TokenExpiration, TokenUsage};
use refresh_token_core::store::sqlite::SqliteStore;
use refresh_token_core::{
    AcceptConsumedPolicy, Client, CreateRequest, GrantFilter, GrantStore, ManualClock,
    RefreshRequest, RefreshTokenService, ServiceOptions,
};
use std::sync::Arc;

/// Handles are bearer secrets: even the demo shows only the start of their persisted-grant key
/// (the SHA-256 the store holds), never the handle itself.
fn show(handle: &str) -> String {
    let key = refresh_token_core::format::key::refresh_token_key(handle);
    format!("[key {}…]", &key[..10])
}

fn request(subject: &str) -> CreateRequest {
    CreateRequest {
        description: Some("demo device".into()),
        ..CreateRequest::for_subject(
            subject,
            Some("session-1"),
            &["openid", "api", "offline_access"],
        )
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let clock = Arc::new(ManualClock::new(
        Utc.with_ymd_and_hms(2026, 1, 1, 8, 0, 0).unwrap(),
    ));
    let path = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "demo.db".to_owned());
    // A fresh file each run, so that the story is the same every time.
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{path}{suffix}"));
    }
    let store = Arc::new(SqliteStore::open(&path)?);
    println!("store: SQLite file {path} (Duende's PersistedGrants table)\n");
    let rows = |store: &SqliteStore| -> usize {
        let filter = GrantFilter {
            grant_type: Some("refresh_token".into()),
            ..Default::default()
        };
        store.get_all(&filter).map(|r| r.len()).unwrap_or(0)
    };
    let options = ServiceOptions {
        // Keep used one-time tokens (marked consumed): replays stay detectable for as long as
        // the rows are kept.
        delete_one_time_only_refresh_tokens_on_use: false,
        // A retry within 30 s of a rotation gets the same successor (the library's default is 60).
        reuse_window_seconds: 30,
        ..ServiceOptions::default()
    };
    let service = RefreshTokenService::builder(store.clone())
        .options(options)
        .clock(clock.clone())
        .accept_consumed(AcceptConsumedPolicy::RevokeOnReplay)
        .build()?;

    let mut web = Client::new("web");
    web.allow_offline_access = true; // ReUse + Absolute: the Duende 7 defaults.
    let mut mobile = Client::new("mobile");
    mobile.allow_offline_access = true;
    mobile.refresh_token_usage = TokenUsage::OneTimeOnly;
    mobile.refresh_token_expiration = TokenExpiration::Sliding;

    println!("== ReUse client 'web' ==");
    let t = service.create(&web, request("alice"))?;
    println!(
        "issued {} (66 chars) to alice; lifetime {} s, expires {}",
        show(t.handle.as_str()),
        t.token.lifetime,
        t.token.expires_at()
    );
    clock.advance(3600.0);
    let r = service.refresh(
        &web,
        RefreshRequest {
            handle: t.handle.as_str().into(),
            ..Default::default()
        },
    )?;
    println!(
        "+1 h: refreshed; same handle: {}; nothing rewritten for ReUse + Absolute",
        r.handle == t.handle
    );

    println!("\n== OneTimeOnly + Sliding client 'mobile' ==");
    let m1 = service.create(&mobile, request("bob"))?;
    println!(
        "issued {} to bob; lifetime {} s (sliding)",
        show(m1.handle.as_str()),
        m1.token.lifetime
    );
    clock.advance(600.0);
    let m2 = service.refresh(
        &mobile,
        RefreshRequest {
            handle: m1.handle.as_str().into(),
            ..Default::default()
        },
    )?;
    println!(
        "+10 min: rotated to {}; lifetime slid to {} s; the old handle is now consumed",
        show(m2.handle.as_str()),
        m2.token.lifetime
    );

    clock.advance(10.0);
    let retry = service.refresh(
        &mobile,
        RefreshRequest {
            handle: m1.handle.as_str().into(),
            ..Default::default()
        },
    )?;
    println!(
        "+10 s: the old handle again (a lost response retried), inside the 30 s reuse window: the same successor -> {} (same: {})",
        show(retry.handle.as_str()),
        retry.handle == m2.handle
    );

    clock.advance(60.0);
    match service.refresh(
        &mobile,
        RefreshRequest {
            handle: m1.handle.as_str().into(),
            ..Default::default()
        },
    ) {
        Ok(_) => println!("unexpected: a replay after the reuse window was accepted"),
        Err(e) => println!(
            "+60 s: the old handle once more, a replay: refused with {} ({}); its family is revoked, so the successor is gone too: {}",
            e.error_code(),
            e.reason().map_or("", |r| r.as_str()),
            service
                .validate(m2.handle.as_str(), &mobile)
                .map_or_else(|e| e.to_string(), |_| "still valid".into())
        ),
    }

    println!("\n== Revocation (RFC 7009) ==");
    let fresh = service.create(&mobile, request("bob"))?;
    let revoked = service.revoke(&mobile, fresh.handle.as_str())?;
    println!(
        "bob signs in again, then mobile revokes {}: removed = {revoked}",
        show(fresh.handle.as_str())
    );
    match service.validate(fresh.handle.as_str(), &mobile) {
        Ok(_) => println!("unexpected: a revoked token still validates"),
        Err(e) => println!(
            "validating it now: {} ({})",
            e.error_code(),
            e.reason().map_or("", |r| r.as_str())
        ),
    }

    println!("\n== Cleanup ==");
    println!("rows before: {}", rows(&store));
    clock.advance(31.0 * 24.0 * 3600.0);
    let report = service.cleanup()?;
    println!(
        "+31 days: cleanup removed {} expired rows; rows left: {}",
        report.expired_removed,
        rows(&store)
    );
    Ok(())
}
