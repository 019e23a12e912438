//! rtc-load: a load generator for refresh-token-core.
//!
//! N threads, M tokens, a mix of operations, on any built-in store; a progress bar; throughput
//! and p50/p99/p99.9 latency per operation, printed and written as JSON. With --cleanup-rows R it
//! first inserts R expired rows and runs one cleanup pass while the refreshes go on, reporting
//! the pass's duration and the refresh latency during it.
//!
//! `cargo run --release -p rtc-load -- --help`

use clap::{Parser, ValueEnum};
use hdrhistogram::Histogram;
use indicatif::{ProgressBar, ProgressStyle};
use rand::Rng;
use refresh_token_core::model::{PersistedGrant, TokenUsage};
use refresh_token_core::store::postgres::PostgresStore;
use refresh_token_core::store::sqlite::{Durability, SqliteOptions, SqliteStore};
use refresh_token_core::{
    Client, CreateRequest, GrantStore, MemoryStore, RefreshRequest, RefreshTokenService,
    ServiceOptions,
};
use serde_json::json;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[derive(Clone, Copy, Debug, ValueEnum)]
enum StoreKind {
    Memory,
    Sqlite,
    Postgres,
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum Usage {
    Reuse,
    Onetime,
}

#[derive(Parser, Debug)]
#[command(about = "Load generator for refresh-token-core")]
struct Args {
    #[arg(long, value_enum, default_value = "memory")]
    store: StoreKind,
    /// SQLite file (default: a temporary file).
    #[arg(long)]
    db: Option<String>,
    /// PostgreSQL URL (default: $RTC_TEST_POSTGRES_URL).
    #[arg(long)]
    url: Option<String>,
    /// SQLite synchronous=NORMAL instead of FULL.
    #[arg(long)]
    sqlite_normal: bool,
    #[arg(long, default_value_t = 2)]
    threads: usize,
    /// Live tokens, split across threads.
    #[arg(long, default_value_t = 10_000)]
    tokens: usize,
    /// How long to run (seconds).
    #[arg(long, default_value_t = 10.0)]
    seconds: f64,
    /// Stop each thread after this many operations (0: run for --seconds). With a fixed count a
    /// run is deterministic enough for instruction counts (valgrind --tool=callgrind).
    #[arg(long, default_value_t = 0)]
    ops: u64,
    /// Percentages of refresh, validate and create, e.g. 80,15,5.
    #[arg(long, default_value = "80,15,5")]
    mix: String,
    #[arg(long, value_enum, default_value = "onetime")]
    usage: Usage,
    /// Keep used OneTimeOnly tokens (mark mode) instead of deleting them.
    #[arg(long)]
    mark: bool,
    /// Insert this many expired rows first, then run a cleanup pass during the load.
    #[arg(long, default_value_t = 0)]
    cleanup_rows: usize,
    /// Cleanup batch size.
    #[arg(long, default_value_t = 100)]
    batch: u32,
    /// Write the results as JSON here.
    #[arg(long)]
    out: Option<String>,
    /// No progress bar (for logs).
    #[arg(long)]
    quiet: bool,
}

fn client(usage: Usage) -> Client {
    let mut c = Client::new("load");
    c.allow_offline_access = true;
    c.refresh_token_usage = match usage {
        Usage::Reuse => TokenUsage::ReUse,
        Usage::Onetime => TokenUsage::OneTimeOnly,
    };
    c
}

fn request(subject: &str) -> CreateRequest {
    CreateRequest::for_subject(subject, Some("s"), &["openid", "api", "offline_access"])
}

struct Stats {
    refresh: Histogram<u64>,
    validate: Histogram<u64>,
    create: Histogram<u64>,
    refresh_during_cleanup: Histogram<u64>,
    errors: u64,
}

impl Stats {
    fn new() -> Self {
        let h = || Histogram::new_with_bounds(1, 60_000_000_000, 3).unwrap();
        Self {
            refresh: h(),
            validate: h(),
            create: h(),
            refresh_during_cleanup: h(),
            errors: 0,
        }
    }
    fn add(&mut self, o: &Stats) {
        self.refresh.add(&o.refresh).unwrap();
        self.validate.add(&o.validate).unwrap();
        self.create.add(&o.create).unwrap();
        self.refresh_during_cleanup
            .add(&o.refresh_during_cleanup)
            .unwrap();
        self.errors += o.errors;
    }
}

fn summary(name: &str, h: &Histogram<u64>, seconds: f64) -> serde_json::Value {
    let us = |q: f64| h.value_at_quantile(q) as f64 / 1000.0;
    json!({
        "operation": name,
        "count": h.len(),
        "per_second": h.len() as f64 / seconds,
        "p50_us": us(0.5), "p99_us": us(0.99), "p999_us": us(0.999), "max_us": h.max() as f64 / 1000.0,
    })
}

/// Inserts many rows at once into the chosen store.
type BulkInsert = Box<dyn Fn(&[PersistedGrant]) + Sync>;

/// VmRSS of this process in KiB (Linux).
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn main() {
    let args = Args::parse();
    let mix: Vec<u32> = args
        .mix
        .split(',')
        .map(|p| p.trim().parse().expect("--mix: three percentages"))
        .collect();
    assert!(
        mix.len() == 3 && mix.iter().sum::<u32>() == 100,
        "--mix needs three percentages adding up to 100"
    );
    let temp = std::env::temp_dir().join(format!("rtc-load-{}.db", std::process::id()));
    let (store, bulk): (Arc<dyn GrantStore>, BulkInsert) = match args.store {
        StoreKind::Memory => {
            let m = Arc::new(MemoryStore::new());
            let m2 = m.clone();
            (
                m,
                Box::new(move |rows| rows.iter().for_each(|r| m2.store(r).unwrap())),
            )
        }
        StoreKind::Sqlite => {
            let path = args
                .db
                .clone()
                .unwrap_or_else(|| temp.to_string_lossy().into_owned());
            let options = SqliteOptions {
                durability: if args.sqlite_normal {
                    Durability::Normal
                } else {
                    Durability::Full
                },
                pool_size: (args.threads as u32 + 2).max(8),
                ..Default::default()
            };
            let s = Arc::new(SqliteStore::open_with(&path, options).expect("open sqlite"));
            let s2 = s.clone();
            (s, Box::new(move |rows| s2.bulk_insert(rows).unwrap()))
        }
        StoreKind::Postgres => {
            let url = args
                .url
                .clone()
                .or_else(|| std::env::var("RTC_TEST_POSTGRES_URL").ok())
                .expect("--url or RTC_TEST_POSTGRES_URL");
            let p = Arc::new(PostgresStore::connect(&url).expect("connect postgres"));
            p.clear().unwrap();
            let p2 = p.clone();
            (p, Box::new(move |rows| p2.bulk_insert(rows).unwrap()))
        }
    };
    let mut options = ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: !args.mark,
        ..Default::default()
    };
    options.cleanup.batch_size = args.batch;
    let service = Arc::new(
        RefreshTokenService::builder(store)
            .options(options)
            .build()
            .unwrap(),
    );
    let client = client(args.usage);

    // Expired rows for the cleanup experiment, inserted in bulk.
    if args.cleanup_rows > 0 {
        eprintln!("inserting {} expired rows...", args.cleanup_rows);
        let past = chrono::Utc::now() - chrono::Duration::days(40);
        let mut chunk = Vec::with_capacity(10_000);
        for i in 0..args.cleanup_rows {
            chunk.push(PersistedGrant {
                key: format!("expired-{i:09}"),
                grant_type: "refresh_token".into(),
                subject_id: Some(format!("old-{}", i % 1000)),
                session_id: None,
                client_id: "load".into(),
                description: None,
                creation_time: past,
                expiration: Some(past + chrono::Duration::days(30)),
                consumed_time: None,
                data: "{}".into(),
            });
            if chunk.len() == 10_000 {
                bulk(&chunk);
                chunk.clear();
            }
        }
        bulk(&chunk);
    }

    eprintln!("creating {} tokens...", args.tokens);
    let per_thread = (args.tokens / args.threads).max(1);
    let rss_before = rss_kib();
    let handles: Vec<Vec<String>> = (0..args.threads)
        .map(|t| {
            (0..per_thread)
                .map(|i| {
                    service
                        .create(&client, request(&format!("user-{t}-{i}")))
                        .unwrap()
                        .handle
                        .as_str()
                        .to_owned()
                })
                .collect()
        })
        .collect();
    // Resident memory per live token (store, service and the tool's handle list together).
    let bytes_per_token =
        (rss_kib().saturating_sub(rss_before) * 1024) as f64 / (per_thread * args.threads) as f64;

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new((args.seconds * 1000.0) as u64)
    };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:40}] {msg}")
            .unwrap()
            .progress_chars("=> "),
    );
    let done_ops = AtomicU64::new(0);
    let stop = AtomicBool::new(false);
    let cleaning = AtomicBool::new(false);
    let totals = Mutex::new(Stats::new());
    let cleanup_result: Mutex<Option<(f64, u64)>> = Mutex::new(None);
    let start = Instant::now();
    std::thread::scope(|s| {
        for mut mine in handles {
            let (service, client, stop, cleaning, totals, done_ops, mix) = (
                &service, &client, &stop, &cleaning, &totals, &done_ops, &mix,
            );
            s.spawn(move || {
                let mut rng = rand::rng();
                let mut stats = Stats::new();
                let mut created = 0u64;
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) && (args.ops == 0 || n < args.ops) {
                    n += 1;
                    let i = rng.random_range(0..mine.len());
                    let pick = rng.random_range(0..100);
                    let t = Instant::now();
                    if pick < mix[0] {
                        match service.refresh(
                            client,
                            RefreshRequest {
                                handle: mine[i].clone().into(),
                                ..Default::default()
                            },
                        ) {
                            Ok(r) => mine[i] = r.handle.as_str().to_owned(),
                            Err(_) => stats.errors += 1,
                        }
                        let ns = t.elapsed().as_nanos() as u64;
                        stats.refresh.record(ns.max(1)).unwrap();
                        if cleaning.load(Ordering::Relaxed) {
                            stats.refresh_during_cleanup.record(ns.max(1)).unwrap();
                        }
                    } else if pick < mix[0] + mix[1] {
                        if service.validate(&mine[i], client).is_err() {
                            stats.errors += 1;
                        }
                        stats
                            .validate
                            .record((t.elapsed().as_nanos() as u64).max(1))
                            .unwrap();
                    } else {
                        created += 1;
                        if service
                            .create(client, request(&format!("new-{created}")))
                            .is_err()
                        {
                            stats.errors += 1;
                        }
                        stats
                            .create
                            .record((t.elapsed().as_nanos() as u64).max(1))
                            .unwrap();
                    }
                    done_ops.fetch_add(1, Ordering::Relaxed);
                }
                totals.lock().unwrap().add(&stats);
            });
        }
        if args.cleanup_rows > 0 {
            let (service, cleaning, cleanup_result) = (&service, &cleaning, &cleanup_result);
            s.spawn(move || {
                std::thread::sleep(Duration::from_millis(500));
                cleaning.store(true, Ordering::Relaxed);
                let t = Instant::now();
                let report = service.cleanup().expect("cleanup");
                cleaning.store(false, Ordering::Relaxed);
                *cleanup_result.lock().unwrap() =
                    Some((t.elapsed().as_secs_f64(), report.expired_removed));
            });
        }
        let all_ops = args.ops * args.threads as u64;
        while start.elapsed().as_secs_f64() < args.seconds
            && (all_ops == 0 || done_ops.load(Ordering::Relaxed) < all_ops)
        {
            std::thread::sleep(Duration::from_millis(10));
            let secs = start.elapsed().as_secs_f64();
            bar.set_position((secs * 1000.0) as u64);
            bar.set_message(format!(
                "{:.0} ops/s",
                done_ops.load(Ordering::Relaxed) as f64 / secs
            ));
        }
        stop.store(true, Ordering::Relaxed);
    });
    bar.finish_and_clear();
    let elapsed = start.elapsed().as_secs_f64();
    let stats = totals.into_inner().unwrap();
    let total = stats.refresh.len() + stats.validate.len() + stats.create.len();
    let mut ops = vec![
        summary("refresh", &stats.refresh, elapsed),
        summary("validate", &stats.validate, elapsed),
        summary("create", &stats.create, elapsed),
    ];
    let cleanup = cleanup_result.into_inner().unwrap();
    if cleanup.is_some() {
        ops.push(summary(
            "refresh_during_cleanup",
            &stats.refresh_during_cleanup,
            cleanup.map_or(1.0, |c| c.0),
        ));
    }
    let result = json!({
        "store": format!("{:?}", args.store).to_lowercase(),
        "sqlite_synchronous": if args.sqlite_normal { "NORMAL" } else { "FULL" },
        "threads": args.threads, "tokens": per_thread * args.threads, "seconds": elapsed,
        "usage": format!("{:?}", args.usage).to_lowercase(), "mark_mode": args.mark, "mix": mix,
        "operations": total, "per_second": total as f64 / elapsed, "errors": stats.errors,
        "resident_bytes_per_token_after_create": bytes_per_token,
        "by_operation": ops,
        "cleanup": cleanup.map(|(secs, removed)| json!({"rows": args.cleanup_rows, "removed": removed, "seconds": secs, "batch": args.batch})),
    });
    println!(
        "{} threads on {:?}: {} operations in {:.1} s = {:.0} ops/s ({} errors)",
        args.threads,
        args.store,
        total,
        elapsed,
        total as f64 / elapsed,
        stats.errors
    );
    for o in result["by_operation"].as_array().unwrap() {
        println!(
            "  {:<24} {:>9} ops {:>10.0}/s  p50 {:>8.1} us  p99 {:>8.1} us  p99.9 {:>8.1} us",
            o["operation"].as_str().unwrap(),
            o["count"],
            o["per_second"].as_f64().unwrap(),
            o["p50_us"].as_f64().unwrap(),
            o["p99_us"].as_f64().unwrap(),
            o["p999_us"].as_f64().unwrap()
        );
    }
    println!("  resident memory per live token after creating them: {bytes_per_token:.0} bytes");
    if let Some((secs, removed)) = cleanup {
        println!("  cleanup: {removed} expired rows removed in {secs:.1} s (batches of {}) while refreshing", args.batch);
    }
    if let Some(out) = &args.out {
        std::fs::write(out, serde_json::to_string_pretty(&result).unwrap()).expect("write --out");
    }
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", temp.display()));
    }
}
