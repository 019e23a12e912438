//! The `rust` runner of the cross-language scenarios (see ../shared/spec/scenarios.md):
//! drives the Rust API on a built-in store.
//!
//! `cargo test --test scenarios -- [--store memory] [PATH...]`; with no PATH it runs
//! every scenario in tests/scenarios. Prints `PASS rust <name>` or
//! `FAIL rust <name>: step <n> (<op>): <what differed>` per scenario and ends with
//! `N passed, M failed`.

mod faulty_store;
mod fields;
mod steps;
mod world;

use refresh_token_core::store::postgres::PostgresStore;
use refresh_token_core::store::sqlite::SqliteStore;
use refresh_token_core::{Client, ManualClock, MemoryStore, RefreshTokenService};
use serde_json::Value;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use faulty_store::FaultyStore;
use fields::{Fields, Res};
use world::{apply_client_settings, parse_options, parse_time, ActiveMap, World};

/// A database file for one scenario, removed (with its WAL files) afterwards.
struct TempDb(PathBuf);

impl TempDb {
    fn new() -> Self {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        Self(std::env::temp_dir().join(format!("rtc-scenario-{}-{n}.db", std::process::id())))
    }
}

impl Drop for TempDb {
    fn drop(&mut self) {
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", self.0.display()));
        }
    }
}

fn build_world(store_kind: &str, fields: &Fields<'_>) -> Res<World> {
    let start = parse_time(fields.req_str("start")?)?;
    let (options, policy) = parse_options(fields.get("options"))?;
    let (inner, snapshot): (
        Arc<dyn refresh_token_core::GrantStore>,
        Box<dyn Fn() -> Vec<_>>,
    ) = match store_kind {
        "memory" => {
            let m = Arc::new(MemoryStore::new());
            let m2 = m.clone();
            (m, Box::new(move || m2.snapshot()))
        }
        "sqlite" => {
            let db = TempDb::new();
            let store = Arc::new(SqliteStore::open(&db.0).map_err(|e| e.to_string())?);
            let s2 = store.clone();
            let guard = Box::new(db);
            (
                store,
                Box::new(move || {
                    let _keep = &guard;
                    s2.snapshot().expect("snapshot of the sqlite store")
                }),
            )
        }
        "postgres" => {
            let url = std::env::var("RTC_TEST_POSTGRES_URL")
                .map_err(|_| "--store postgres needs RTC_TEST_POSTGRES_URL".to_owned())?;
            let store = Arc::new(PostgresStore::connect(&url).map_err(|e| e.to_string())?);
            // Scenarios run one after another on one database: each starts from an empty table.
            store.clear().map_err(|e| e.to_string())?;
            let s2 = store.clone();
            (
                store,
                Box::new(move || s2.snapshot().expect("snapshot of the postgres store")),
            )
        }
        other => return Err(format!("unknown store '{other}'")),
    };
    let clock = Arc::new(ManualClock::new(start));
    let faults = Arc::new(FaultyStore::new(inner.clone()));
    let active = Arc::new(ActiveMap::default());
    let service = RefreshTokenService::builder(faults.clone())
        .options(options)
        .clock(clock.clone())
        .profile(active.clone())
        .accept_consumed(policy)
        .build()
        .map_err(|e| e.to_string())?;
    let mut clients = HashMap::new();
    if let Some(v) = fields.get("clients") {
        let map = v.as_object().ok_or("'clients' must be an object")?;
        for (id, settings) in map {
            let mut client = Client::new(id.clone());
            apply_client_settings(&mut client, settings, &format!("clients.{id}"))?;
            clients.insert(id.clone(), client);
        }
    }
    Ok(World {
        clock,
        inner,
        snapshot,
        faults,
        active,
        service,
        clients,
        names: HashMap::new(),
    })
}

/// Runs one file; the scenario's name (or the file name) and the failure, if any.
fn run_file(path: &Path, store_kind: &str) -> (String, Option<String>) {
    let fallback = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => return (fallback, Some(format!("cannot read: {e}"))),
    };
    let doc: Value = match serde_json::from_str(&text) {
        Ok(v) => v,
        Err(e) => return (fallback, Some(format!("not valid JSON: {e}"))),
    };
    let name = doc
        .get("scenario")
        .and_then(Value::as_str)
        .map(str::to_owned)
        .unwrap_or(fallback);
    (name, run_doc(&doc, store_kind).err())
}

fn run_doc(doc: &Value, store_kind: &str) -> Res<()> {
    let f = Fields::new("scenario", doc)?;
    f.req_str("scenario")?;
    f.str("about")?;
    let mut world = build_world(store_kind, &f)?;
    let steps = f
        .req("steps")?
        .as_array()
        .ok_or("'steps' must be an array")?;
    f.finish()?;
    for (i, step) in steps.iter().enumerate() {
        let op = step
            .get("op")
            .and_then(Value::as_str)
            .unwrap_or("?")
            .to_owned();
        let before = (world.snapshot)();
        let retryable_failure =
            steps::run_step(&mut world, step).map_err(|m| format!("step {} ({op}): {m}", i + 1))?;
        if retryable_failure && (world.snapshot)() != before {
            return Err(format!(
                "step {} ({op}): failed on storage but changed the stored state",
                i + 1
            ));
        }
    }
    Ok(())
}

fn collect(path: &Path, out: &mut Vec<PathBuf>) -> std::io::Result<()> {
    if path.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .collect();
        files.sort();
        out.extend(files);
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn main() {
    let mut store_kind = "memory".to_owned();
    let mut paths = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        match a.as_str() {
            "--store" => store_kind = args.next().unwrap_or_default(),
            // Flags cargo's test harness passes through (e.g. from `cargo test -- --nocapture`).
            s if s.starts_with("--") => {}
            s => paths.push(PathBuf::from(s)),
        }
    }
    if paths.is_empty() {
        paths.push(Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios"));
    }
    let mut files = Vec::new();
    for p in &paths {
        if let Err(e) = collect(p, &mut files) {
            println!("FAIL rust {}: cannot read: {e}", p.display());
            println!("0 passed, 1 failed");
            std::process::exit(1);
        }
    }
    let (mut passed, mut failed) = (0, 0);
    for file in &files {
        match run_file(file, &store_kind) {
            (name, None) => {
                passed += 1;
                println!("PASS rust {name}");
            }
            (name, Some(why)) => {
                failed += 1;
                println!("FAIL rust {name}: {why}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    std::process::exit(if failed == 0 && passed > 0 { 0 } else { 1 });
}
