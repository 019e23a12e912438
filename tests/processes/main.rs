//! Several processes on one database: the one-successor race across processes, crash safety
//! under SIGKILL, and (PostgreSQL) the server restarted under load. The binary is its own child:
//! `--child-race` and `--child-loop` run in the spawned processes.
//!
//! `cargo test --test processes [-- --store sqlite|postgres] [--rounds N]`: prints PASS/FAIL per
//! check and a libtest-style `test result:` line.

use rand::Rng;
use refresh_token_core::model::{GrantFilter, TokenUsage};
use refresh_token_core::store::sqlite::SqliteStore;
use refresh_token_core::{
    Client, CreateRequest, GrantStore, RefreshRequest, RefreshTokenService, ServiceOptions,
};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

const PROCESSES: usize = 4;
const THREADS: usize = 8;

fn client() -> Client {
    let mut c = Client::new("spa");
    c.allow_offline_access = true;
    c.refresh_token_usage = TokenUsage::OneTimeOnly;
    c
}

fn request(subject: &str) -> CreateRequest {
    CreateRequest::for_subject(subject, None, &["offline_access"])
}

/// A store named on the command line: a SQLite file path, or a PostgreSQL URL.
fn open_store(target: &str) -> Arc<dyn GrantStore> {
    if target.starts_with("postgres") {
        open_postgres(target)
    } else {
        Arc::new(SqliteStore::open(target).expect("open sqlite"))
    }
}

fn open_postgres(url: &str) -> Arc<dyn GrantStore> {
    Arc::new(
        refresh_token_core::store::postgres::PostgresStore::connect(url).expect("connect postgres"),
    )
}

fn service(target: &str, delete_on_use: bool) -> RefreshTokenService {
    let options = ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: delete_on_use,
        ..Default::default()
    };
    RefreshTokenService::builder(open_store(target))
        .options(options)
        .build()
        .unwrap()
}

fn now_ms() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis()
}

fn sleep_until(ms: u128) {
    let now = now_ms();
    if ms > now {
        std::thread::sleep(Duration::from_millis((ms - now) as u64));
    }
}

/// Child: THREADS threads each present handle r at instant t0 + r * interval; prints winners.
fn child_race(target: &str, handles: &Path, t0: u128, interval: u128) {
    let handles: Vec<String> = std::fs::read_to_string(handles)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let service = service(target, true);
    let out = std::sync::Mutex::new(std::io::stdout());
    std::thread::scope(|s| {
        for _ in 0..THREADS {
            s.spawn(|| {
                for (r, h) in handles.iter().enumerate() {
                    sleep_until(t0 + r as u128 * interval);
                    // A storage error (lock timeout) is retryable and not a redemption: retry it.
                    loop {
                        match service.refresh(
                            &client(),
                            RefreshRequest {
                                handle: h.clone().into(),
                                ..Default::default()
                            },
                        ) {
                            Ok(ok) => {
                                writeln!(
                                    out.lock().unwrap(),
                                    "WIN {r} {}",
                                    refresh_token_core::format::key::refresh_token_key(
                                        ok.handle.as_str()
                                    )
                                )
                                .unwrap();
                                break;
                            }
                            Err(e) if e.is_retryable() => continue,
                            Err(_) => break,
                        }
                    }
                }
            });
        }
    });
}

/// Child: refreshes its chains in a loop until it is killed.
fn child_loop(target: &str, handles: &Path, delete_on_use: bool) {
    let mut handles: Vec<String> = std::fs::read_to_string(handles)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect();
    let service = service(target, delete_on_use);
    println!("READY");
    std::io::stdout().flush().unwrap();
    loop {
        for h in handles.iter_mut() {
            if let Ok(ok) = service.refresh(
                &client(),
                RefreshRequest {
                    handle: h.clone().into(),
                    ..Default::default()
                },
            ) {
                *h = ok.handle.as_str().to_owned();
            }
        }
    }
}

fn exe() -> PathBuf {
    std::env::current_exe().unwrap()
}

fn race(target: &str, rounds: usize, dir: &Path) -> Result<String, String> {
    let service = service(target, true);
    let mut lines = String::new();
    for r in 0..rounds {
        let created = service
            .create(&client(), request(&format!("race-{r}")))
            .map_err(|e| e.to_string())?;
        lines.push_str(created.handle.as_str());
        lines.push('\n');
    }
    let file = dir.join("race-handles.txt");
    std::fs::write(&file, lines).unwrap();
    let interval = 15;
    let t0 = now_ms() + 1500;
    let children: Vec<_> = (0..PROCESSES)
        .map(|_| {
            Command::new(exe())
                .args([
                    "--child-race",
                    target,
                    file.to_str().unwrap(),
                    &t0.to_string(),
                    &interval.to_string(),
                ])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap()
        })
        .collect();
    let mut wins: Vec<Vec<String>> = vec![Vec::new(); rounds];
    for child in children {
        let out = child.wait_with_output().unwrap();
        if !out.status.success() {
            return Err(format!("a child failed: {}", out.status));
        }
        for line in String::from_utf8_lossy(&out.stdout).lines() {
            let mut parts = line.split_whitespace();
            if parts.next() == Some("WIN") {
                let r: usize = parts.next().unwrap().parse().unwrap();
                wins[r].push(parts.next().unwrap().to_owned());
            }
        }
    }
    let store = open_store(target);
    let mut answered = 0;
    for (r, w) in wins.iter().enumerate() {
        // One successor per token, whatever the process: every caller answered 200 holds it.
        if w.is_empty() || w.iter().any(|k| *k != w[0]) {
            return Err(format!(
                "round {r}: {} answers, not all the same successor",
                w.len()
            ));
        }
        answered += w.len();
        let rows = store
            .get_all(&GrantFilter {
                subject_id: Some(format!("race-{r}")),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
        if rows.len() != 1 || rows[0].key != w[0] {
            return Err(format!(
                "round {r}: {} rows, not the winner's successor alone",
                rows.len()
            ));
        }
    }
    Ok(format!("{PROCESSES} processes x {THREADS} threads, {rounds} rounds: one successor and one live token per round ({answered} of {} requests answered with it)", PROCESSES * THREADS * rounds))
}

/// The PostgreSQL server restarted (immediate, fast) and its backends killed while 4 threads
/// refresh their chains, each disruption 3 times. A client retries a retryable error with the
/// same token (the rotation may have applied: the answer was lost). Afterwards no chain is dead
/// (every client's last token refreshes), none forked (one live row each), and every error the
/// clients saw was retryable.
fn restart(url: &str, delete_on_use: bool) -> Result<String, String> {
    use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
    let dir =
        std::env::var("RTC_TEST_POSTGRES_DIR").map_err(|_| "RTC_TEST_POSTGRES_DIR is not set")?;
    let pg_ctl = ["/usr/lib/postgresql", "/usr/local/lib/postgresql"]
        .iter()
        .filter_map(|root| std::fs::read_dir(root).ok())
        .flatten()
        .filter_map(|e| e.ok().map(|e| e.path().join("bin/pg_ctl")))
        .find(|p| p.exists())
        .or_else(|| Some(PathBuf::from("/usr/bin/pg_ctl")).filter(|p| p.exists()))
        .ok_or("pg_ctl not found")?;
    let as_postgres = |args: &[&str]| -> Result<(), String> {
        let mut cmd = if unsafe { libc::geteuid() } == 0 {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(&pg_ctl);
            c
        } else {
            Command::new(&pg_ctl)
        };
        let out = cmd.args(args).output().map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(format!(
                "pg_ctl {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            ))
        }
    };
    let service = service(url, delete_on_use);
    let mode = if delete_on_use { "delete" } else { "mark" };
    let chains: Vec<(String, String)> = (0..32)
        .map(|i| {
            let subject = format!("restart-{mode}-{}-{i}", std::process::id());
            let h = loop {
                match service.create(&client(), request(&subject)) {
                    Ok(c) => break c.handle.as_str().to_owned(),
                    Err(e) if e.is_retryable() => std::thread::sleep(Duration::from_millis(50)),
                    Err(e) => panic!("create: {e}"),
                }
            };
            (subject, h)
        })
        .collect();
    let stop = AtomicBool::new(false);
    let (rotations, retryable, other) = (AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0));
    let first_other: std::sync::Mutex<Option<String>> = std::sync::Mutex::new(None);
    let finals: Vec<(String, String)> = std::thread::scope(|scope| {
        let workers: Vec<_> = chains
            .chunks(8)
            .map(|mine| {
                let (service, stop, rotations, retryable, other, first_other) = (
                    &service,
                    &stop,
                    &rotations,
                    &retryable,
                    &other,
                    &first_other,
                );
                scope.spawn(move || {
                    let mut mine = mine.to_vec();
                    let mut i = 0;
                    while !stop.load(Ordering::Relaxed) {
                        let k = i % mine.len();
                        i += 1;
                        let r = service.refresh(
                            &client(),
                            RefreshRequest {
                                handle: mine[k].1.clone().into(),
                                ..Default::default()
                            },
                        );
                        match r {
                            Ok(next) => {
                                mine[k].1 = next.handle.as_str().to_owned();
                                rotations.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) if e.is_retryable() => {
                                retryable.fetch_add(1, Ordering::Relaxed);
                                std::thread::sleep(Duration::from_millis(20));
                            }
                            Err(e) => {
                                other.fetch_add(1, Ordering::Relaxed);
                                first_other
                                    .lock()
                                    .unwrap()
                                    .get_or_insert_with(|| format!("{}: {e}", mine[k].0));
                            }
                        }
                    }
                    mine
                })
            })
            .collect();
        let disrupt = || -> Result<(), String> {
            for cycle in 0..3 {
                for how in ["immediate", "fast", "kill"] {
                    std::thread::sleep(Duration::from_millis(700));
                    eprintln!("restart: cycle {cycle}: {how}");
                    match how {
                        "kill" => {
                            let mut c = postgres::Client::connect(url, postgres::NoTls)
                                .map_err(|e| e.to_string())?;
                            c.batch_execute(
                                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE pid <> pg_backend_pid() AND datname = current_database()",
                            )
                            .map_err(|e| e.to_string())?;
                        }
                        // -l: the new server logs to its file, not to our pipe (which would keep
                        // `output()` waiting for ever).
                        m => as_postgres(&[
                            "-D",
                            &format!("{dir}/data"),
                            "-l",
                            &format!("{dir}/server.log"),
                            "-m",
                            m,
                            "-w",
                            "restart",
                        ])
                        .map_err(|e| format!("cycle {cycle}: {e}"))?,
                    }
                }
            }
            std::thread::sleep(Duration::from_millis(1500));
            Ok(())
        };
        let disrupted = disrupt();
        stop.store(true, Ordering::Relaxed);
        let finals = workers
            .into_iter()
            .flat_map(|w| w.join().unwrap())
            .collect();
        if let Err(e) = disrupted {
            panic!("disrupting the server failed: {e}");
        }
        finals
    });
    if other.load(Ordering::Relaxed) > 0 {
        return Err(format!(
            "{} non-retryable errors, first: {}",
            other.load(Ordering::Relaxed),
            first_other.lock().unwrap().clone().unwrap_or_default()
        ));
    }
    let store = open_store(url);
    let mut dead = 0;
    let mut forked = 0;
    for (subject, h) in &finals {
        let live = store
            .get_all(&GrantFilter {
                subject_id: Some(subject.clone()),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?
            .into_iter()
            .filter(|r| r.consumed_time.is_none())
            .count();
        if live != 1 {
            forked += 1;
        }
        if service.validate(h, &client()).is_err() {
            dead += 1;
        }
    }
    if dead > 0 || forked > 0 {
        return Err(format!(
            "{dead} dead chains, {forked} chains without exactly one live token"
        ));
    }
    Ok(format!(
        "{mode} mode: 3 cycles of an immediate restart, a fast restart and a backend kill under 4 threads: {} rotations, {} retryable errors retried, 0 other errors, 0 dead chains, 0 forks over 32 chains",
        rotations.load(Ordering::Relaxed),
        retryable.load(Ordering::Relaxed)
    ))
}

fn crash(target: &str, cycles: usize, delete_on_use: bool, dir: &Path) -> Result<String, String> {
    let service = service(target, delete_on_use);
    let mut rng = rand::rng();
    let mut subjects = Vec::new();
    let mode = if delete_on_use { "delete" } else { "mark" };
    for cycle in 0..cycles {
        let mut children = Vec::new();
        for p in 0..PROCESSES {
            let mut lines = String::new();
            for c in 0..2 {
                let subject = format!("crash-{mode}-{cycle}-{p}-{c}");
                let created = service
                    .create(&client(), request(&subject))
                    .map_err(|e| e.to_string())?;
                lines.push_str(created.handle.as_str());
                lines.push('\n');
                subjects.push(subject);
            }
            let file = dir.join(format!("crash-{mode}-{cycle}-{p}.txt"));
            std::fs::write(&file, lines).unwrap();
            let mut child = Command::new(exe())
                .args([
                    "--child-loop",
                    target,
                    file.to_str().unwrap(),
                    if delete_on_use { "delete" } else { "mark" },
                ])
                .stdout(Stdio::piped())
                .spawn()
                .unwrap();
            let mut ready = String::new();
            BufReader::new(child.stdout.as_mut().unwrap())
                .read_line(&mut ready)
                .unwrap();
            children.push(child);
        }
        std::thread::sleep(Duration::from_millis(rng.random_range(200..700)));
        for mut child in children {
            child.kill().unwrap(); // SIGKILL
            child.wait().unwrap();
        }
    }
    if let Some(sqlite) =
        (!target.starts_with("postgres")).then(|| SqliteStore::open(target).unwrap())
    {
        let check = sqlite.integrity_check().map_err(|e| e.to_string())?;
        if check != "ok" {
            return Err(format!("integrity_check: {check}"));
        }
    }
    let store = open_store(target);
    let mut consumed = 0;
    for s in &subjects {
        let rows = store
            .get_all(&GrantFilter {
                subject_id: Some(s.clone()),
                ..Default::default()
            })
            .map_err(|e| e.to_string())?;
        let live = rows.iter().filter(|r| r.consumed_time.is_none()).count();
        consumed += rows.len() - live;
        if live != 1 {
            return Err(format!("chain {s}: {live} live tokens after SIGKILL"));
        }
    }
    if !delete_on_use && consumed == 0 {
        return Err("the children made no progress before they were killed".into());
    }
    let progress = if delete_on_use {
        String::new()
    } else {
        format!(" ({consumed} rotations completed before the kills)")
    };
    Ok(format!(
        "{cycles} cycles of {PROCESSES} processes killed with SIGKILL mid-loop ({mode} mode): every one of {} chains has exactly one live token{progress}",
        subjects.len()
    ))
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("--child-race") => {
            return child_race(
                &args[1],
                Path::new(&args[2]),
                args[3].parse().unwrap(),
                args[4].parse().unwrap(),
            )
        }
        Some("--child-loop") => {
            return child_loop(&args[1], Path::new(&args[2]), args[3] == "delete")
        }
        _ => {}
    }
    let mut store = "sqlite".to_owned();
    let mut rounds = 500;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--store" => store = it.next().cloned().unwrap_or_default(),
            "--rounds" => rounds = it.next().and_then(|r| r.parse().ok()).unwrap_or(rounds),
            _ => {}
        }
    }
    let dir = std::env::temp_dir().join(format!("rtc-processes-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let target = match store.as_str() {
        "sqlite" => dir.join("race.db").to_string_lossy().into_owned(),
        "postgres" => match std::env::var("RTC_TEST_POSTGRES_URL") {
            Ok(url) => url,
            Err(_) => {
                println!("FAIL processes: --store postgres needs RTC_TEST_POSTGRES_URL");
                println!("test result: FAILED. 0 passed; 1 failed; 0 ignored; 0 measured; 0 filtered out");
                std::process::exit(1);
            }
        },
        other => panic!("unknown store {other}"),
    };
    let crash_target = |name: &str| {
        if store == "sqlite" {
            dir.join(name).to_string_lossy().into_owned()
        } else {
            target.clone()
        }
    };
    let mut checks: Vec<(&str, Result<String, String>)> = vec![
        ("race", race(&target, rounds, &dir)),
        (
            "crash-delete",
            crash(&crash_target("crash-delete.db"), 4, true, &dir),
        ),
        (
            "crash-mark",
            crash(&crash_target("crash-mark.db"), 4, false, &dir),
        ),
    ];
    if store == "postgres" {
        checks.push(("restart-delete", restart(&target, true)));
        checks.push(("restart-mark", restart(&target, false)));
    }
    let _ = std::fs::remove_dir_all(&dir);
    let mut failed = 0;
    for (name, result) in &checks {
        match result {
            Ok(m) => println!("PASS {store} {name}: {m}"),
            Err(m) => {
                failed += 1;
                println!("FAIL {store} {name}: {m}");
            }
        }
    }
    println!(
        "test result: {}. {} passed; {failed} failed; 0 ignored; 0 measured; 0 filtered out",
        if failed == 0 { "ok" } else { "FAILED" },
        checks.len() - failed
    );
    std::process::exit(if failed == 0 { 0 } else { 1 });
}
