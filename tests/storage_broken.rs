//! "Try again" and "an operator must act" are different errors (issue 15 item 8): a corrupt
//! database, a file that is not one, or a table of the wrong shape is `storage_broken`, not
//! retryable, detected at start-up where it can be; a busy database stays retryable.
#![cfg(feature = "sqlite")]

use std::path::PathBuf;
use std::sync::Arc;

use refresh_token_core::model::{Client, TokenUsage};
use refresh_token_core::service::{
    CreateRequest, RefreshRequest, RefreshTokenService, ServiceError,
};
use refresh_token_core::store::sqlite::{SqliteOptions, SqliteStore};
use refresh_token_core::store::StoreError;

fn path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtc-broken-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("grants.db")
}

fn broken(r: Result<SqliteStore, StoreError>) -> bool {
    matches!(r, Err(StoreError::Broken(_)))
}

#[test]
fn a_file_that_is_not_a_database_is_broken_at_start_up() {
    let p = path("garbage");
    std::fs::write(&p, vec![0x5au8; 64 * 1024]).unwrap();
    assert!(
        broken(SqliteStore::open(&p)),
        "before: storage_unavailable on every request"
    );
}

#[test]
fn a_table_without_one_of_the_ten_columns_is_broken_at_start_up() {
    let p = path("shape");
    let db = rusqlite::Connection::open(&p).unwrap();
    // Duende's table without Description (and so without Data's neighbour in the SELECT list).
    db.execute_batch(
        r#"CREATE TABLE "PersistedGrants" ("Key" TEXT, "Type" TEXT, "SubjectId" TEXT, "SessionId" TEXT,
           "ClientId" TEXT, "CreationTime" TEXT, "Expiration" TEXT, "ConsumedTime" TEXT, "Data" TEXT);"#,
    )
    .unwrap();
    drop(db);
    let opened = SqliteStore::open(&p);
    assert!(
        matches!(opened, Err(StoreError::Broken(_))),
        "{:?}",
        opened.err()
    );
}

#[test]
fn a_table_dropped_under_a_running_service_is_broken_not_retryable_and_a_locked_one_is_retryable() {
    let p = path("dropped");
    let options = SqliteOptions {
        busy_timeout_ms: 200,
        ..Default::default()
    };
    let store = Arc::new(SqliteStore::open_with(&p, options).unwrap());
    let service = RefreshTokenService::builder(store).build().unwrap();
    let mut c = Client::new("web");
    c.allow_offline_access = true;
    c.refresh_token_usage = TokenUsage::OneTimeOnly;
    let created = service
        .create(
            &c,
            CreateRequest::for_subject("alice", None, &["offline_access"]),
        )
        .unwrap();
    let refresh = || {
        service.refresh(
            &c,
            RefreshRequest {
                handle: created.handle.as_str().into(),
                ..Default::default()
            },
        )
    };

    // Locked by another writer: retryable, as before.
    let other = rusqlite::Connection::open(&p).unwrap();
    other.execute_batch("BEGIN EXCLUSIVE;").unwrap();
    let locked = refresh().unwrap_err();
    assert!(
        matches!(locked, ServiceError::StorageUnavailable(_)),
        "{locked}"
    );
    assert!(locked.is_retryable());
    other.execute_batch("ROLLBACK;").unwrap();

    other
        .execute_batch(r#"DROP TABLE "PersistedGrants";"#)
        .unwrap();
    let gone = refresh().unwrap_err();
    assert!(matches!(gone, ServiceError::StorageBroken(_)), "{gone}");
    assert!(
        !gone.is_retryable(),
        "a missing table is not a reason to retry"
    );
    assert_eq!(gone.error_code(), "storage_broken");
}

#[cfg(feature = "postgres")]
#[path = "common/postgres_url.rs"]
mod postgres_url;
#[cfg(feature = "postgres")]
use postgres_url::postgres_url;

/// PostgreSQL (with `RTC_TEST_POSTGRES_URL`), in a database of its own so that no other test
/// sees the damaged table: a column dropped under a running service is broken, and so is the
/// table of that shape at the next start-up. (A server that cannot be reached stays retryable:
/// the restart tests in `tests/processes` show it.)
#[cfg(feature = "postgres")]
#[test]
fn postgres_a_dropped_column_is_broken_at_once_and_at_start_up() {
    use refresh_token_core::store::postgres::PostgresStore;
    let Some(url) = postgres_url() else {
        return;
    };
    let name = format!("rtc_broken_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let own = postgres_url::fresh_database(&mut admin, &url, &name);

    let store = Arc::new(PostgresStore::connect(&own).unwrap());
    let service = RefreshTokenService::builder(store).build().unwrap();
    let mut c = Client::new("web");
    c.allow_offline_access = true;
    let created = service
        .create(
            &c,
            CreateRequest::for_subject("alice", None, &["offline_access"]),
        )
        .unwrap();
    let mut db = postgres::Client::connect(&own, postgres::NoTls).unwrap();
    db.batch_execute(r#"ALTER TABLE "PersistedGrants" DROP COLUMN "Description""#)
        .unwrap();
    let err = service.validate(created.handle.as_str(), &c).unwrap_err();
    assert!(matches!(err, ServiceError::StorageBroken(_)), "{err}");
    assert!(!err.is_retryable());
    drop(service);
    assert!(matches!(
        PostgresStore::connect(&own),
        Err(StoreError::Broken(_))
    ));
    drop(db);

    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .ok();
}

/// PostgreSQL at start-up (issue 16): a login the server refuses, an unknown database or a
/// string asking for TLS is broken at once, saying which; a server that cannot be reached is
/// retryable and says so, at once; an Npgsql connection string works as the URL does.
#[cfg(feature = "postgres")]
#[test]
fn postgres_start_up_failures_say_which_at_once() {
    use refresh_token_core::store::postgres::PostgresStore;
    use std::time::{Duration, Instant};
    let Some(url) = postgres_url() else {
        return;
    };
    // postgres://user@host:port/database, as tests/postgres-server writes it.
    let rest = url.strip_prefix("postgres://").expect("a postgres:// URL");
    let (user, rest) = rest.split_once('@').expect("user@");
    let (host_port, db) = rest.split_once('/').expect("/database");
    let (host, port) = host_port.split_once(':').expect("host:port");

    let npgsql = format!("Host={host};Port={port};Username={user};Database={db};Pooling=true");
    assert!(PostgresStore::connect(&npgsql).is_ok(), "the Npgsql form");

    let role = format!("rtc_nologin_{}", std::process::id());
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    admin
        .batch_execute(&format!(
            "DROP ROLE IF EXISTS {role}; CREATE ROLE {role} NOLOGIN"
        ))
        .unwrap();
    let quick = |text: &str| {
        let started = Instant::now();
        let r = PostgresStore::connect(text).map(|_| ());
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{text}: {:?}",
            started.elapsed()
        );
        r.unwrap_err()
    };
    for (text, says) in [
        (format!("postgres://{role}:pw@{host_port}/{db}"), "refused"),
        (
            format!("postgres://{user}@{host_port}/no_such_database"),
            "refused",
        ),
        (format!("{npgsql};SSL Mode=Require"), "TLS"),
        (format!("Host={host};Port={port};Colour=blue"), "colour"),
    ] {
        let e = quick(&text);
        assert!(matches!(e, StoreError::Broken(_)), "{text}: {e}");
        assert!(e.to_string().contains(says), "{text}: {e}");
        assert!(!e.to_string().contains(":pw@"), "{e}");
    }
    // Nothing listens on a port just freed.
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let e = quick(&format!("postgres://{user}@127.0.0.1:{free}/{db}"));
    assert!(matches!(e, StoreError::Unavailable(_)), "{e}");
    assert!(e.to_string().contains(&format!("127.0.0.1:{free}")), "{e}");
    admin
        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
        .ok();
}
