//! The schema as a deployment manages it (issue 16): the scripts in `schema/` create a table
//! the stores work on without any DDL of their own (`create_table = false`), a store told not to
//! create its table says at start-up that it is missing (an operator's to fix, not retryable),
//! and a configured schema / table name is the one every statement uses — two names in one
//! database are two stores that do not see each other's tokens.
#![cfg(feature = "sqlite")]

use std::path::PathBuf;
use std::sync::Arc;

use refresh_token_core::model::{Client, TokenUsage};
use refresh_token_core::service::{CreateRequest, RefreshRequest, RefreshTokenService};
use refresh_token_core::store::sqlite::{SqliteOptions, SqliteStore};
use refresh_token_core::store::table::TableName;
use refresh_token_core::store::{GrantStore, StoreError};

fn path(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rtc-schema-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir.join("grants.db")
}

fn client() -> Client {
    let mut c = Client::new("web");
    c.allow_offline_access = true;
    c.refresh_token_usage = TokenUsage::OneTimeOnly;
    c
}

/// Creates a token and rotates it once; the successor's handle.
fn create_and_rotate(store: Arc<dyn GrantStore>) -> String {
    let service = RefreshTokenService::builder(store).build().unwrap();
    let c = client();
    let created = service
        .create(
            &c,
            CreateRequest::for_subject("alice", None, &["offline_access"]),
        )
        .unwrap();
    let refreshed = service
        .refresh(
            &c,
            RefreshRequest {
                handle: created.handle.as_str().into(),
                ..Default::default()
            },
        )
        .unwrap();
    assert!(refreshed.rotated);
    refreshed.handle.as_str().to_owned()
}

fn broken_message(r: Result<impl Sized, StoreError>) -> String {
    match r {
        Err(StoreError::Broken(m)) => m,
        Err(e) => panic!("expected Broken, got {e}"),
        Ok(_) => panic!("expected Broken, it opened"),
    }
}

fn no_ddl() -> SqliteOptions {
    SqliteOptions {
        create_table: false,
        ..Default::default()
    }
}

#[test]
fn sqlite_a_store_told_not_to_create_its_table_says_it_is_missing_and_works_on_the_script_s() {
    let p = path("script");
    let m = broken_message(SqliteStore::open_with(&p, no_ddl()));
    assert!(m.contains("schema/sqlite.sql"), "{m}");
    let db = rusqlite::Connection::open(&p).unwrap();
    let count = |db: &rusqlite::Connection| -> i64 {
        db.query_row("SELECT count(*) FROM sqlite_master", [], |r| r.get(0))
            .unwrap()
    };
    assert_eq!(count(&db), 0, "the refused open created nothing");
    db.execute_batch(include_str!("../schema/sqlite.sql"))
        .unwrap();
    let objects = count(&db);
    let store = Arc::new(SqliteStore::open_with(&p, no_ddl()).unwrap());
    create_and_rotate(store.clone());
    assert_eq!(store.snapshot().unwrap().len(), 2, "consumed and successor");
    // Opening with DDL on the script's table changes nothing: the script and the store's own
    // set-up are one and the same.
    drop(SqliteStore::open(&p).unwrap());
    assert_eq!(count(&db), objects);
    let indexes: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND name LIKE 'IX_%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(
        indexes,
        [
            "IX_PersistedGrants_ConsumedTime",
            "IX_PersistedGrants_Expiration",
            "IX_PersistedGrants_Key",
            "IX_PersistedGrants_SubjectId_ClientId_Type",
            "IX_PersistedGrants_SubjectId_SessionId_Type"
        ]
    );
}

#[test]
fn sqlite_two_table_names_in_one_file_are_two_stores() {
    let p = path("names");
    let named = |table: &str| SqliteOptions {
        table: TableName::new(None, table).unwrap(),
        ..Default::default()
    };
    let a = Arc::new(SqliteStore::open_with(&p, named("GrantsA")).unwrap());
    let b = Arc::new(SqliteStore::open_with(&p, named("GrantsB")).unwrap());
    let handle = create_and_rotate(a.clone());
    assert_eq!(a.snapshot().unwrap().len(), 2);
    assert!(b.snapshot().unwrap().is_empty(), "B sees none of A's rows");
    let on_b = RefreshTokenService::builder(b).build().unwrap();
    assert!(
        on_b.validate(&handle, &client()).is_err(),
        "A's token is unknown to B"
    );
    let db = rusqlite::Connection::open(&p).unwrap();
    let tables: Vec<String> = db
        .prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'Grants%' ORDER BY name")
        .unwrap()
        .query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    assert_eq!(tables, ["GrantsA", "GrantsB"]);
    let no_default: i64 = db
        .query_row(
            "SELECT count(*) FROM sqlite_master WHERE name LIKE '%PersistedGrants%'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(no_default, 0, "nothing of the default name was created");
    let schema = SqliteOptions {
        table: TableName::new(Some("auth"), "Grants").unwrap(),
        ..Default::default()
    };
    assert!(broken_message(SqliteStore::open_with(&p, schema)).contains("schema"));
}

#[cfg(feature = "postgres")]
#[path = "common/postgres_url.rs"]
mod postgres_url;
#[cfg(feature = "postgres")]
use postgres_url::postgres_url;

/// PostgreSQL, in a database of its own: a login with only SELECT / INSERT / UPDATE / DELETE on
/// a table an administrator created with `schema/postgres.sql` (in a schema and under a name of
/// the deployment's choosing) runs the service with `create_table = false`; told to create the
/// table it is refused (no CREATE right), and a store told not to create a missing table says so.
#[cfg(feature = "postgres")]
#[test]
fn postgres_a_login_without_ddl_rights_works_on_the_script_s_table_in_its_own_schema() {
    use refresh_token_core::store::postgres::{PostgresOptions, PostgresStore};
    let Some(url) = postgres_url() else {
        return;
    };
    let pid = std::process::id();
    let name = format!("rtc_schema_{pid}");
    let role = format!("rtc_dml_{pid}");
    let mut admin = postgres::Client::connect(&url, postgres::NoTls).unwrap();
    let own = postgres_url::fresh_database(&mut admin, &url, &name);
    for sql in [
        format!("DROP ROLE IF EXISTS {role}"),
        format!("CREATE ROLE {role} LOGIN"),
    ] {
        admin.batch_execute(&sql).unwrap();
    }
    let table = TableName::new(Some("auth"), "RefreshGrants").unwrap();
    let options = |create_table| PostgresOptions {
        table: table.clone(),
        create_table,
        pool_size: 2,
        ..Default::default()
    };
    let m = broken_message(PostgresStore::connect_with(&own, options(false)));
    assert!(m.contains("schema/postgres.sql"), "{m}");

    let mut db = postgres::Client::connect(&own, postgres::NoTls).unwrap();
    db.batch_execute(&format!(
        "REVOKE CREATE ON SCHEMA public FROM PUBLIC; CREATE SCHEMA auth; {}; \
         GRANT USAGE ON SCHEMA auth TO {role}; \
         GRANT SELECT, INSERT, UPDATE, DELETE ON auth.\"RefreshGrants\" TO {role};",
        table.rename(include_str!("../schema/postgres.sql"))
    ))
    .unwrap();
    // postgres://user@host:port/database, as tests/postgres-server writes it.
    let (_, host_and_db) = own.split_once('@').expect("postgres://user@host");
    let as_role = format!("postgres://{role}@{host_and_db}");
    let store = Arc::new(PostgresStore::connect_with(&as_role, options(false)).unwrap());
    create_and_rotate(store.clone());
    assert_eq!(store.snapshot().unwrap().len(), 2);
    let rows: i64 = db
        .query_one(r#"SELECT count(*) FROM auth."RefreshGrants""#, &[])
        .unwrap()
        .get(0);
    assert_eq!(rows, 2, "the rows are in the configured table");
    let default_table: Option<String> = db
        .query_one(
            r#"SELECT to_regclass('public."PersistedGrants"')::text"#,
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(
        default_table, None,
        "nothing of the default name was created"
    );
    // The same login told to create the table (a new one) has no right to.
    let other = PostgresOptions {
        table: TableName::new(Some("auth"), "Other").unwrap(),
        ..Default::default()
    };
    broken_message(PostgresStore::connect_with(&as_role, other));
    drop((store, db));
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .ok();
    admin
        .batch_execute(&format!("DROP ROLE IF EXISTS {role}"))
        .ok();
}
