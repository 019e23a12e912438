//! `rtc` run as a user runs it, against a SQLite file and the PostgreSQL test server
//! (`RTC_TEST_POSTGRES_URL`): tokens made by the library, then `check`, `inspect` (the handle
//! on standard input, never printed), `list`, `revoke` by family, by subject and client,
//! `cleanup` and `schema`, with the exit codes that tell "retry" from "fix".

use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::Arc;

use chrono::{Duration, Utc};
use refresh_token_core::model::{Client, ServiceOptions, TokenUsage};
use refresh_token_core::service::{CreateRequest, RefreshRequest, RefreshTokenService};
use refresh_token_core::store::GrantStore;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn rtc(store: &[String], args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rtc"))
        .args(store)
        .args(args)
        .env_remove("RTC_POSTGRES")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    let o = child.wait_with_output().unwrap();
    Run {
        code: o.status.code().unwrap_or(-1),
        out: String::from_utf8(o.stdout).unwrap(),
        err: String::from_utf8(o.stderr).unwrap(),
    }
}

fn client(id: &str, usage: TokenUsage) -> Client {
    let mut c = Client::new(id);
    c.allow_offline_access = true;
    c.refresh_token_usage = usage;
    c
}

/// Two ReUse tokens of alice on web, a rotated chain of alice on mobile (kept consumed: mark
/// mode), bob's token, and one expired row. The handles, for the checks that none is printed.
fn populate(store: Arc<dyn GrantStore>) -> (Vec<String>, String) {
    let options = ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: false,
        ..Default::default()
    };
    let service = RefreshTokenService::builder(store.clone())
        .options(options)
        .build()
        .unwrap();
    let (web, mobile) = (
        client("web", TokenUsage::ReUse),
        client("mobile", TokenUsage::OneTimeOnly),
    );
    let create = |c: &Client, sub: &str| {
        service
            .create(
                c,
                CreateRequest::for_subject(sub, Some("sid"), &["offline_access"]),
            )
            .unwrap()
            .handle
            .as_str()
            .to_owned()
    };
    let mut handles = vec![create(&web, "alice"), create(&web, "alice")];
    let first = create(&mobile, "alice");
    let next = service
        .refresh(
            &mobile,
            RefreshRequest {
                handle: first.as_str().into(),
                ..Default::default()
            },
        )
        .unwrap();
    handles.push(first.clone());
    handles.push(next.handle.as_str().to_owned());
    let bob = create(&web, "bob");
    handles.push(bob.clone());
    // Bob's row, expired an hour ago.
    let key = refresh_token_core::format::key::grant_key(&bob, "refresh_token");
    let mut row = store.get(&key).unwrap().unwrap();
    row.expiration = Some(Utc::now() - Duration::hours(1));
    store.store(&row).unwrap();
    (handles, first)
}

fn exercise(args: Vec<String>, handles: &[String], first_of_chain: &str) {
    let never_printed = |r: &Run| {
        for h in handles {
            assert!(
                !r.out.contains(h.as_str()) && !r.err.contains(h.as_str()),
                "a handle was printed"
            );
        }
    };
    let with = |extra: &[&str]| -> Vec<String> {
        args.iter()
            .cloned()
            .chain(extra.iter().map(|s| s.to_string()))
            .collect()
    };

    let r = rtc(&args, &["check"], "");
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.starts_with("ok: "), "{}", r.out);
    let r = rtc(&with(&["--table", "NoSuchTable"]), &["check"], "");
    assert_eq!(
        r.code, 3,
        "a missing table is an operator's: {} {}",
        r.out, r.err
    );
    let r = rtc(&with(&["--table", "bad name"]), &["check"], "");
    assert_eq!(r.code, 1, "{}", r.err);

    let r = rtc(&args, &["inspect"], &format!("{first_of_chain}\n"));
    assert_eq!(r.code, 0, "{}", r.err);
    let key = refresh_token_core::format::key::grant_key(first_of_chain, "refresh_token");
    assert!(r.out.contains(&format!("key:          {key}")), "{}", r.out);
    assert!(r.out.contains("subject:      alice") && r.out.contains("client:       mobile"));
    assert!(
        !r.out.contains("consumed:     -"),
        "the chain's first token is consumed: {}",
        r.out
    );
    assert!(
        r.out.contains(&format!("family:       {key}")),
        "a chain's family is its first key: {}",
        r.out
    );
    never_printed(&r);
    let r = rtc(
        &args,
        &["inspect"],
        "0000000000000000000000000000000000000000000000000000000000000000\n",
    );
    assert_eq!(r.code, 1);
    assert_eq!(rtc(&args, &["inspect"], "").code, 1, "no handle given");

    let r = rtc(&args, &["list", "--subject", "alice"], "");
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out.lines().count(), 1 + 4, "header + 4 rows: {}", r.out);
    assert_eq!(
        r.out.matches(&key).count(),
        3,
        "the first token's key, and the family of both: {}",
        r.out
    );
    assert!(r.err.contains("4 token(s), 3 not consumed"), "{}", r.err);
    never_printed(&r);
    let r = rtc(
        &args,
        &["list", "--subject", "alice", "--client", "web"],
        "",
    );
    assert_eq!(r.out.lines().count(), 1 + 2);

    let r = rtc(&args, &["revoke", "--family", &key], "");
    assert_eq!(
        (r.code, r.out.trim()),
        (0, "removed 2 refresh token(s)"),
        "{}",
        r.err
    );
    let r = rtc(&args, &["cleanup", "--batch-size", "1"], "");
    assert_eq!(
        (r.code, r.out.trim()),
        (0, "removed 1 expired and 0 consumed token(s)"),
        "{}",
        r.err
    );
    let r = rtc(
        &args,
        &["revoke", "--subject", "alice", "--client", "web"],
        "",
    );
    assert_eq!(r.out.trim(), "removed 2 refresh token(s)");
    let r = rtc(&args, &["list", "--subject", "alice"], "");
    assert_eq!(
        r.out.lines().count(),
        1,
        "all of alice's are gone: {}",
        r.out
    );
    assert_eq!(
        rtc(&args, &["revoke"], "").code,
        2,
        "clap: nothing to revoke named"
    );
}

#[test]
fn against_sqlite() {
    let dir = std::env::temp_dir().join(format!("rtc-cli-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("tokens.db");
    let store = Arc::new(refresh_token_core::store::sqlite::SqliteStore::open(&path).unwrap());
    let (handles, first) = populate(store);
    let args = vec!["--sqlite".to_string(), path.display().to_string()];
    exercise(args, &handles, &first);
    let missing = rtc(
        &["--sqlite".into(), dir.join("none.db").display().to_string()],
        &["check"],
        "",
    );
    assert_eq!(missing.code, 1, "a file that is not there is not created");
    assert!(!dir.join("none.db").exists());
}

#[test]
fn against_postgres() {
    let Ok(url) = std::env::var("RTC_TEST_POSTGRES_URL") else {
        eprintln!("RTC_TEST_POSTGRES_URL not set: the PostgreSQL case is not run");
        return;
    };
    let name = format!("rtc_cli_{}", std::process::id());
    let (base, _) = url.rsplit_once('/').unwrap();
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    // One statement per call: DROP / CREATE DATABASE cannot run inside a transaction.
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let own = format!("{base}/{name}");
    let store =
        Arc::new(refresh_token_core::store::postgres::PostgresStore::connect(&own).unwrap());
    let (handles, first) = populate(store);
    exercise(vec!["--postgres".into(), own.clone()], &handles, &first);
    // A server that cannot be reached: retry (2), at once.
    let r = rtc(
        &["--postgres".into(), "postgres://rtc@127.0.0.1:1/x".into()],
        &["check"],
        "",
    );
    assert_eq!(r.code, 2, "{}", r.err);
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .ok();
}

#[test]
fn schema_prints_the_script_renamed() {
    let r = rtc(
        &[],
        &[
            "schema", "postgres", "--schema", "auth", "--table", "Grants",
        ],
        "",
    );
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.starts_with("CREATE SCHEMA IF NOT EXISTS \"auth\";"));
    assert!(r
        .out
        .contains(r#"CREATE TABLE IF NOT EXISTS "auth"."Grants" ("#));
    assert!(r.out.contains(r#""IX_Grants_Key" ON "auth"."Grants""#));
    let r = rtc(&[], &["schema", "sqlserver"], "");
    assert!(r.out.contains("CREATE TABLE [PersistedGrants] ("));
}
