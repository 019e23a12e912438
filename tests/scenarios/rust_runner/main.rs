//! The `rust` runner of the cross-language scenarios (see ../shared/spec/scenarios.md):
//! executes the judge's plans on the Rust API over a built-in store and hands the judge
//! (tests/scenarios/judge, called in process) what each step observed.
//!
//! `cargo test --test scenarios -- [--store memory] [PATH...]`; with no PATH it runs
//! every scenario in tests/scenarios. Prints `PASS rust <name>` or
//! `FAIL rust <name>: step <n> (<op>): <what differed>` per scenario and ends with
//! `N passed, M failed`.

#[path = "../../common/delayed_store.rs"]
mod delayed_store;
mod faulty_store;
mod steps;
mod world;

use refresh_token_core::store::postgres::PostgresStore;
use refresh_token_core::store::sqlite::SqliteStore;
use refresh_token_core::{Client, ManualClock, MemoryStore, RefreshTokenService};
use serde_json::{json, Value};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use delayed_store::DelayedStore;
use faulty_store::FaultyStore;
use world::{apply_client_settings, from_ticks, options, ActiveMap, World};
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

fn build_world(store_kind: &str, plan: &Value) -> Result<World, String> {
    let start = from_ticks(plan["start"].as_i64().unwrap_or_default());
    // `async`: the in-memory store answered later by another thread, and the hooks
    // asynchronous: the operations wait on every call instead of getting answers at once.
    let asynchronous = store_kind == "async";
    let (options, policy) = options(&plan["options"], asynchronous);
    let (inner, snapshot): (
        Arc<dyn refresh_token_core::GrantStore>,
        Box<dyn Fn() -> Vec<_>>,
    ) = match store_kind {
        "memory" | "async" => {
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
    let builder = if asynchronous {
        RefreshTokenService::builder_async(Arc::new(DelayedStore::new(
            faults.clone(),
            std::time::Duration::ZERO,
        )))
        .profile_async(active.clone())
    } else {
        RefreshTokenService::builder(faults.clone()).profile(active.clone())
    };
    let service = builder
        .options(options)
        .clock(clock.clone())
        .accept_consumed(policy)
        .build()
        .map_err(|e| e.to_string())?;
    let mut clients = HashMap::new();
    for (id, settings) in plan["clients"].as_object().into_iter().flatten() {
        let mut client = Client::new(id.clone());
        apply_client_settings(&mut client, settings);
        clients.insert(id.clone(), client);
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

/// Runs one plan; its observations, one per step (a set-up failure is step 0's fault).
fn run_plan(plan: &Value, store_kind: &str) -> Vec<Value> {
    let mut world = match build_world(store_kind, plan) {
        Ok(w) => w,
        Err(e) => return vec![json!({ "step": 0, "fault": e })],
    };
    let mut observed = Vec::new();
    for (i, step) in plan["steps"].as_array().into_iter().flatten().enumerate() {
        let before = (world.snapshot)();
        let mut obs = match steps::run_step(&mut world, step) {
            Ok(o) => o,
            Err(fault) => {
                observed.push(json!({ "step": i + 1, "fault": fault }));
                break;
            }
        };
        obs.insert("step".into(), json!(i + 1));
        obs.insert("op".into(), step["op"].clone());
        obs.insert("changed".into(), json!((world.snapshot)() != before));
        observed.push(Value::Object(obs));
    }
    observed
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
    let mut execute =
        |plans: &[Value]| Ok(plans.iter().map(|p| run_plan(p, &store_kind)).collect());
    std::process::exit(scenario_judge::corpus::run_paths(
        "rust",
        &paths,
        &mut execute,
    ));
}
