//! The built-in SQLite store's connection pool starts a maintenance thread; once the store (and
//! so the service) is dropped, that thread must be gone at once, not linger until its next
//! scheduled wake-up (issue 15 item 11: r2d2's default threads outlived `rtc_service_free` for
//! up to 30 s, and valgrind listed them as possibly lost). Its own test binary: it counts the
//! process's threads, which no other test may be starting at the same time.
#![cfg(feature = "sqlite")]

use std::time::{Duration, Instant};

use refresh_token_core::store::sqlite::SqliteStore;

/// Threads of this process whose name says they belong to a connection pool.
fn pool_threads() -> usize {
    std::fs::read_dir("/proc/self/task")
        .expect("linux /proc")
        .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
        .filter(|name| name.starts_with("rtc-pool") || name.starts_with("r2d2-worker"))
        .count()
}

#[test]
fn the_pools_thread_is_gone_right_after_the_store_is_dropped() {
    let dir = std::env::temp_dir().join(format!("rtc-pool-threads-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::open(dir.join("grants.db")).unwrap();
    assert!(pool_threads() >= 1, "the pool runs a maintenance thread");
    drop(store);
    let started = Instant::now();
    while pool_threads() > 0 && started.elapsed() < Duration::from_secs(2) {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(
        pool_threads(),
        0,
        "a pool thread outlived its store by {:?}",
        started.elapsed()
    );
    std::fs::remove_dir_all(&dir).ok();
}
