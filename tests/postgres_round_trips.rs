//! What one refresh on the PostgreSQL store sends, as the server itself logs it
//! (`log_statement = 'all'` on a database of the test's own): a OneTimeOnly refresh is the
//! validation's read, then the rotation as one statement (the conditional delete and the
//! successor's insert in one data-modifying `WITH`), and nothing else — no test query at each
//! checkout, no BEGIN / COMMIT — and both statements are prepared once per connection and
//! executed by name after that (a re-prepared statement would show a new name each time, and
//! cost a round trip of its own).
#![cfg(feature = "postgres")]

use std::collections::HashSet;

use postgres::NoTls;
use refresh_token_core::model::{Client, TokenUsage};
use refresh_token_core::service::{CreateRequest, RefreshRequest, RefreshTokenService};
use refresh_token_core::store::postgres::{PostgresOptions, PostgresStore};

#[path = "common/postgres_url.rs"]
mod common;

/// The server's log line prefix while this test reads the log: database and virtual
/// transaction, so statements are told apart by database and grouped by transaction.
const PREFIX: &str = "rtc|%d|%v|";

/// One logged statement: its transaction, the prepared statement's name (`<unnamed>` or none
/// for the simple protocol) and its text.
#[derive(Debug)]
struct Logged {
    tx: String,
    name: String,
    sql: String,
}

fn logged_between(log: &str, database: &str, begin: &str, end: &str) -> Vec<Logged> {
    let text = std::fs::read_to_string(log).expect("the server log");
    let mut lines = text.lines();
    let mut out = Vec::new();
    let mut inside = false;
    while let Some(line) = lines.next() {
        let Some(rest) = line.strip_prefix(&format!("rtc|{database}|")) else {
            continue;
        };
        let Some((tx, rest)) = rest.split_once('|') else {
            continue;
        };
        let (name, mut sql) = if let Some(s) = rest.strip_prefix("LOG:  statement: ") {
            (String::new(), s.to_owned())
        } else if let Some(s) = rest.strip_prefix("LOG:  execute ") {
            let (name, sql) = s.split_once(": ").expect("execute <name>: <sql>");
            (name.to_owned(), sql.to_owned())
        } else {
            continue;
        };
        // A statement of several lines goes on in the log's next lines, each a tab first (an
        // empty one is r2d2_postgres's checkout test).
        while let Some(next) = lines.clone().next().filter(|l| l.starts_with('\t')) {
            sql.push(' ');
            sql.push_str(next.trim());
            lines.next();
        }
        let sql = sql.trim().to_owned();
        if sql.contains(begin) {
            inside = true;
        } else if sql.contains(end) {
            break;
        } else if inside {
            out.push(Logged {
                tx: tx.to_owned(),
                name,
                sql,
            });
        }
    }
    out
}

fn verb(sql: &str) -> String {
    let first = sql.split_whitespace().next().unwrap_or("").to_uppercase();
    if first == "START" {
        "BEGIN".into()
    } else {
        first
    }
}

/// A OneTimeOnly client, a service on `store` and a new chain's first handle.
fn one_time_chain(store: PostgresStore) -> (RefreshTokenService, Client, String) {
    let service = RefreshTokenService::builder(std::sync::Arc::new(store))
        .build()
        .unwrap();
    let mut client = Client::new("mobile");
    client.allow_offline_access = true;
    client.refresh_token_usage = TokenUsage::OneTimeOnly;
    let handle = service
        .create(
            &client,
            CreateRequest::for_subject("alice", None, &["offline_access"]),
        )
        .unwrap()
        .handle
        .as_str()
        .to_owned();
    (service, client, handle)
}

/// Refreshes `handle` once (a rotation), leaving the successor in it.
fn rotate(service: &RefreshTokenService, client: &Client, handle: &mut String) {
    let r = service
        .refresh(
            client,
            RefreshRequest {
                handle: handle.as_str().into(),
                ..Default::default()
            },
        )
        .unwrap_or_else(|e| panic!("refresh: {e}"));
    assert!(r.rotated);
    *handle = r.handle.as_str().to_owned();
}

#[test]
fn a_one_time_refresh_is_two_prepared_statements_a_read_and_the_rotation() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let Ok(dir) = std::env::var("RTC_TEST_POSTGRES_DIR") else {
        eprintln!("RTC_TEST_POSTGRES_DIR not set (the server's log is read): the case is not run");
        return;
    };
    let mut admin = postgres::Client::connect(&url, NoTls).unwrap();
    let db = format!("rtc_round_trips_{}", std::process::id());
    let db_url = common::fresh_database(&mut admin, &url, &db);
    admin
        .batch_execute(&format!("ALTER DATABASE {db} SET log_statement = 'all'"))
        .unwrap();
    admin
        .batch_execute(&format!("ALTER SYSTEM SET log_line_prefix = '{PREFIX}'"))
        .unwrap();
    admin.batch_execute("SELECT pg_reload_conf()").unwrap();

    // One connection, so that "prepared once" is one name per statement.
    let options = PostgresOptions {
        pool_size: 1,
        ..PostgresOptions::default()
    };
    let (service, client, mut handle) =
        one_time_chain(PostgresStore::connect_with(&db_url, options).unwrap());
    // Every statement of a refresh prepared on the connection before the counted ones.
    rotate(&service, &client, &mut handle);
    rotate(&service, &client, &mut handle);

    let mut marks = postgres::Client::connect(&db_url, NoTls).unwrap();
    marks
        .batch_execute("SELECT 'rtc-round-trips-begin'")
        .unwrap();
    const REFRESHES: usize = 3;
    for _ in 0..REFRESHES {
        rotate(&service, &client, &mut handle);
    }
    marks.batch_execute("SELECT 'rtc-round-trips-end'").unwrap();
    drop(marks);

    let got = logged_between(
        &format!("{dir}/server.log"),
        &db,
        "rtc-round-trips-begin",
        "rtc-round-trips-end",
    );
    let verbs: Vec<String> = got.iter().map(|l| verb(&l.sql)).collect();
    let one = ["SELECT", "WITH"];
    assert_eq!(
        verbs,
        one.repeat(REFRESHES),
        "what the server received for {REFRESHES} refreshes: {got:#?}"
    );
    for refresh in got.chunks(one.len()) {
        assert!(
            refresh[1].sql.contains("DELETE") && refresh[1].sql.contains("INSERT"),
            "the rotation consumes and inserts in its one statement: {refresh:#?}"
        );
    }
    // Each statement its own transaction: no transaction of several statements to begin and
    // commit (two round trips of their own).
    let transactions: HashSet<&str> = got.iter().map(|l| l.tx.as_str()).collect();
    assert_eq!(transactions.len(), got.len(), "{got:#?}");
    // Prepared once: the read and the rotation are executed by the same name in every refresh.
    for verb_ in one {
        let names: HashSet<&str> = got
            .iter()
            .filter(|l| verb(&l.sql) == verb_)
            .map(|l| l.name.as_str())
            .collect();
        assert!(
            names.iter().all(|n| !n.is_empty() && *n != "<unnamed>"),
            "{verb_} by name: {names:?}"
        );
        assert_eq!(
            names.len(),
            1,
            "{verb_} prepared again for a refresh: {names:?}"
        );
    }

    admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .unwrap();
}

/// A checkout no longer tests a recently used connection, so one the server closed while it sat
/// in the pool (a restart, an administrator's kill) is found closed by the next statement: the
/// read that starts every refresh runs again on a new connection (and the dead connections are
/// dropped), so the caller sees no error.
#[test]
fn a_connection_closed_in_the_pool_costs_the_caller_no_error() {
    let Some(url) = common::postgres_url() else {
        return;
    };
    let mut admin = postgres::Client::connect(&url, NoTls).unwrap();
    let db = format!("rtc_closed_in_pool_{}", std::process::id());
    let db_url = common::fresh_database(&mut admin, &url, &db);
    let options = PostgresOptions {
        pool_size: 2,
        ..PostgresOptions::default()
    };
    let (service, client, mut handle) =
        one_time_chain(PostgresStore::connect_with(&db_url, options).unwrap());
    let mut killed = 0;
    for round in 0..3 {
        // Every connection the pool holds on the database, closed by the server.
        let n: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = $1",
                &[&db],
            )
            .unwrap()
            .get(0);
        killed += n;
        eprintln!("round {round}: the server closed {n} pooled connections");
        rotate(&service, &client, &mut handle);
    }
    assert!(killed >= 3, "the server closed {killed} pooled connections");
    admin
        .batch_execute(&format!("DROP DATABASE {db} WITH (FORCE)"))
        .unwrap();
}
