//! The embedded default store: SQLite (compiled in), on the `PersistedGrants` table exactly as
//! Duende's EF Core operational store creates it on SQLite (table, columns, index names, and
//! dates as EF Core's SQLite provider writes them), so that a database either side wrote is
//! read and written by the other.
//!
//! WAL mode; every operation is one statement or one transaction; the conditional consume is
//! one conditional statement and a rotation is one `BEGIN IMMEDIATE` transaction, so at most one
//! request wins, across threads and processes, and a crash never leaves an orphan successor.

use chrono::{DateTime, NaiveDateTime, Utc};
use r2d2::{Pool, PooledConnection};
use r2d2_sqlite::SqliteConnectionManager;
use rusqlite::{
    params, params_from_iter, Connection, OptionalExtension, Row, ToSql, TransactionBehavior,
};
use std::path::Path;

use super::sql::{consume_on, rotate_in, rotate_once, SqlExec, Statements};
use super::table::TableName;
use super::{check_filter, ConsumeAction, ConsumeOutcome, GrantStore, StoreError};
use crate::format::datetime::truncate_to_tick;
use crate::model::{GrantFilter, PersistedGrant};

/// Duende's table and indexes as EF Core creates them on SQLite (`schema/sqlite.sql`).
const SCHEMA: &str = include_str!("../../schema/sqlite.sql");

/// The shared logic's view of a connection or an open transaction.
struct Lite<'a>(&'a Connection);

impl SqlExec for Lite<'_> {
    type Error = rusqlite::Error;

    fn exec_key(&mut self, sql: &str, key: &str) -> rusqlite::Result<u64> {
        Ok(self.0.prepare_cached(sql)?.execute([key])? as u64)
    }

    fn exec_row(&mut self, sql: &str, row: &PersistedGrant) -> rusqlite::Result<u64> {
        let v = values(row);
        let n = self
            .0
            .prepare_cached(sql)?
            .execute(params_from_iter(v.iter().map(|b| b.as_ref())))?;
        Ok(n as u64)
    }

    fn exists_key(&mut self, sql: &str, key: &str) -> rusqlite::Result<bool> {
        self.0.prepare_cached(sql)?.query_row([key], |r| r.get(0))
    }
}

/// How durable a write is before it returns (SQLite's `synchronous`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Durability {
    /// `synchronous=FULL`: survives power loss (the default).
    Full,
    /// `synchronous=NORMAL`: survives process crashes; in WAL mode the last transactions may be
    /// lost on power loss. Faster.
    Normal,
}

/// Options of the SQLite store.
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    pub durability: Durability,
    /// How long a statement waits for another writer's lock before failing (retryable).
    pub busy_timeout_ms: u32,
    /// Connections in the pool.
    pub pool_size: u32,
    /// The table (Duende's `PersistedGrants` by default). SQLite has no schemas: a name with
    /// one is refused.
    pub table: TableName,
    /// Whether opening creates the table and its indexes when missing (`schema/sqlite.sql`).
    /// `false` for a database whose schema is managed elsewhere (EF Core migrations, a DBA):
    /// opening then only checks the table, and a missing one is `Broken`.
    pub create_table: bool,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        Self {
            durability: Durability::Full,
            busy_timeout_ms: super::DEFAULT_BUSY_TIMEOUT_MS,
            pool_size: super::DEFAULT_POOL_SIZE,
            table: TableName::default(),
            create_table: true,
        }
    }
}

/// The SQLite [`GrantStore`].
pub struct SqliteStore {
    pool: Pool<SqliteConnectionManager>,
    sql: Statements,
}

/// A failure of the database: retryable (busy, locked, an I/O error, a full disk), or
/// `Broken` when retrying cannot help and an operator must act (a corrupt file, a file that is
/// not a database, a read-only one, the table or a column missing).
fn unavailable(e: impl std::fmt::Display + 'static) -> StoreError {
    use rusqlite::ErrorCode::*;
    let message = format!("sqlite: {e}");
    let Some(e) = (&e as &dyn std::any::Any).downcast_ref::<rusqlite::Error>() else {
        return StoreError::Unavailable(message);
    };
    // A schema error comes as a failure or, from statement preparation, as an input error:
    // SQLite's own wording is the one thing both carry.
    let text = e.to_string();
    let schema = ["no such table", "no such column", "has no column named"]
        .iter()
        .any(|m| text.contains(m));
    match e.sqlite_error_code() {
        Some(DatabaseCorrupt | NotADatabase | ReadOnly) => StoreError::Broken(message),
        _ if schema => StoreError::Broken(message),
        _ => StoreError::Unavailable(message),
    }
}

/// A table of another shape is an operator's problem, found at start-up. Asked of the schema
/// itself: SQLite reads a double-quoted name it cannot resolve as a string literal, so a SELECT
/// of a missing column succeeds (and would return the column's name as its value).
fn check_columns(db: &rusqlite::Connection, table: &TableName) -> Result<(), StoreError> {
    let mut stmt = db
        .prepare(r#"SELECT "name" FROM pragma_table_info(?1)"#)
        .map_err(unavailable)?;
    let present: Vec<String> = stmt
        .query_map([table.table()], |r| r.get::<_, String>(0))
        .map_err(unavailable)?
        .collect::<Result<_, _>>()
        .map_err(unavailable)?;
    let missing: Vec<&str> = super::sql::COLUMNS
        .split(", ")
        .map(|c| c.trim_matches('"'))
        .filter(|c| !present.iter().any(|p| p.eq_ignore_ascii_case(c)))
        .collect();
    if present.is_empty() {
        return Err(StoreError::Broken(format!(
            "sqlite: there is no table {table}: create it with schema/sqlite.sql (`rtc schema \
             sqlite`), or let the store create it"
        )));
    }
    if missing.is_empty() {
        return Ok(());
    }
    Err(StoreError::Broken(format!(
        "sqlite: the {table} table has no column {}",
        missing.join(", ")
    )))
}

/// Dates as EF Core's SQLite provider writes them: `yyyy-MM-dd HH:mm:ss.FFFFFFF` (UTC, trailing
/// fractional zeros trimmed), which also sorts correctly as text.
fn format_time(t: DateTime<Utc>) -> String {
    let iso = crate::format::datetime::format_utc(truncate_to_tick(t));
    // "2026-01-01T00:00:00.1234567Z" -> "2026-01-01 00:00:00.1234567"
    iso.trim_end_matches('Z').replacen('T', " ", 1)
}

fn parse_time(text: &str) -> Option<DateTime<Utc>> {
    for fmt in ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), fmt) {
            return Some(truncate_to_tick(n.and_utc()));
        }
    }
    crate::format::datetime::parse(text)
}

fn row_to_grant(row: &Row<'_>) -> rusqlite::Result<Result<PersistedGrant, StoreError>> {
    let time =
        |i: usize, name: &str| -> rusqlite::Result<Result<Option<DateTime<Utc>>, StoreError>> {
            let text: Option<String> = row.get(i)?;
            Ok(match text {
                None => Ok(None),
                Some(t) => parse_time(&t)
                    .map(Some)
                    .ok_or_else(|| StoreError::BadResponse(format!("{name} '{t}' is not a date"))),
            })
        };
    let key: Option<String> = row.get(0)?;
    let creation = time(6, "CreationTime")?;
    let expiration = time(7, "Expiration")?;
    let consumed = time(8, "ConsumedTime")?;
    Ok((|| {
        Ok(PersistedGrant {
            key: key.ok_or_else(|| StoreError::BadResponse("a row has a NULL Key".into()))?,
            grant_type: row.get(1).map_err(unavailable)?,
            subject_id: row.get(2).map_err(unavailable)?,
            session_id: row.get(3).map_err(unavailable)?,
            client_id: row.get(4).map_err(unavailable)?,
            description: row.get(5).map_err(unavailable)?,
            creation_time: creation?
                .ok_or_else(|| StoreError::BadResponse("CreationTime is NULL".into()))?,
            expiration: expiration?,
            consumed_time: consumed?,
            data: row.get(9).map_err(unavailable)?,
        })
    })())
}

/// The row's values in COLUMNS order.
fn values(g: &PersistedGrant) -> [Box<dyn ToSql + '_>; 10] {
    [
        Box::new(&g.key),
        Box::new(&g.grant_type),
        Box::new(&g.subject_id),
        Box::new(&g.session_id),
        Box::new(&g.client_id),
        Box::new(&g.description),
        Box::new(format_time(g.creation_time)),
        Box::new(g.expiration.map(format_time)),
        Box::new(g.consumed_time.map(format_time)),
        Box::new(&g.data),
    ]
}

impl SqliteStore {
    /// Opens (creating if needed) the database file and the table, with default options.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        Self::open_with(path, SqliteOptions::default())
    }

    /// Opens (creating if needed) the database file and the table.
    pub fn open_with(path: impl AsRef<Path>, options: SqliteOptions) -> Result<Self, StoreError> {
        if let Some(schema) = options.table.schema() {
            return Err(StoreError::Broken(format!(
                "sqlite: a table name with a schema ('{schema}') cannot be used: SQLite has none"
            )));
        }
        let sync = match options.durability {
            Durability::Full => "FULL",
            Durability::Normal => "NORMAL",
        };
        let busy = options.busy_timeout_ms;
        let manager = SqliteConnectionManager::file(path.as_ref()).with_init(move |c| {
            c.busy_timeout(std::time::Duration::from_millis(u64::from(busy)))?;
            c.execute_batch(&format!(
                "PRAGMA journal_mode=WAL; PRAGMA synchronous={sync};"
            ))
        });
        // Fail fast on a file that cannot be opened (the pool would retry for its whole timeout),
        // and create the table once.
        let first = Connection::open(path.as_ref()).map_err(unavailable)?;
        first
            .busy_timeout(std::time::Duration::from_millis(u64::from(busy)))
            .map_err(unavailable)?;
        first
            .execute_batch("PRAGMA journal_mode=WAL;")
            .map_err(unavailable)?;
        if options.create_table {
            first
                .execute_batch(&options.table.rename(SCHEMA))
                .map_err(unavailable)?;
        }
        check_columns(&first, &options.table)?;
        drop(first);
        let pool = Pool::builder()
            .thread_pool(super::sql::maintenance_thread())
            .max_size(options.pool_size.max(1))
            .connection_timeout(std::time::Duration::from_millis(u64::from(busy) + 5000))
            .build(manager)
            .map_err(unavailable)?;
        Ok(Self {
            pool,
            sql: Statements::new('?', &options.table),
        })
    }

    fn conn(&self) -> Result<PooledConnection<SqliteConnectionManager>, StoreError> {
        self.pool.get().map_err(unavailable)
    }

    /// Every row, ordered by key: for tests that compare the whole stored state.
    pub fn snapshot(&self) -> Result<Vec<PersistedGrant>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn.prepare(&self.sql.select_all).map_err(unavailable)?;
        let rows = stmt.query_map([], row_to_grant).map_err(unavailable)?;
        rows.map(|r| r.map_err(unavailable)?).collect()
    }

    /// Inserts many rows in one transaction (imports, migrations, benchmarks). Existing keys are
    /// overwritten.
    pub fn bulk_insert(&self, rows: &[PersistedGrant]) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let tx = conn.transaction().map_err(unavailable)?;
        {
            let mut stmt = tx.prepare(&self.sql.upsert).map_err(unavailable)?;
            for g in rows {
                let v = values(g);
                stmt.execute(params_from_iter(v.iter().map(|b| b.as_ref())))
                    .map_err(unavailable)?;
            }
        }
        tx.commit().map_err(unavailable)
    }

    /// Runs `PRAGMA integrity_check` and returns its answer ("ok" when sound).
    pub fn integrity_check(&self) -> Result<String, StoreError> {
        self.conn()?
            .query_row("PRAGMA integrity_check", [], |r| r.get(0))
            .map_err(unavailable)
    }
}

impl GrantStore for SqliteStore {
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError> {
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare_cached(&self.sql.select_key)
            .map_err(unavailable)?;
        stmt.query_row([key], row_to_grant)
            .optional()
            .map_err(unavailable)?
            .transpose()
    }

    fn store(&self, grant: &PersistedGrant) -> Result<(), StoreError> {
        Lite(&*self.conn()?)
            .exec_row(&self.sql.upsert, grant)
            .map_err(unavailable)?;
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<(), StoreError> {
        Lite(&*self.conn()?)
            .exec_key(&self.sql.delete_key, key)
            .map_err(unavailable)?;
        Ok(())
    }

    fn get_all(&self, filter: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError> {
        check_filter(filter)?;
        let (clause, args) = self.sql.filter(filter);
        let conn = self.conn()?;
        let mut stmt = conn
            .prepare(&self.sql.select_filtered(&clause))
            .map_err(unavailable)?;
        let rows = stmt
            .query_map(params_from_iter(args.iter()), row_to_grant)
            .map_err(unavailable)?;
        rows.map(|r| r.map_err(unavailable)?).collect()
    }

    fn remove_all(&self, filter: &GrantFilter) -> Result<u64, StoreError> {
        check_filter(filter)?;
        let (clause, args) = self.sql.filter(filter);
        let n = self
            .conn()?
            .execute(
                &self.sql.delete_filtered(&clause),
                params_from_iter(args.iter()),
            )
            .map_err(unavailable)?;
        Ok(n as u64)
    }

    fn consume(&self, key: &str, action: &ConsumeAction) -> Result<ConsumeOutcome, StoreError> {
        consume_on(&mut Lite(&*self.conn()?), &self.sql, key, action).map_err(unavailable)
    }

    fn insert_if_absent(&self, grant: &PersistedGrant) -> Result<bool, StoreError> {
        let n = Lite(&*self.conn()?)
            .exec_row(&self.sql.insert_if_absent, grant)
            .map_err(unavailable)?;
        Ok(n == 1)
    }

    fn atomic_consume(&self) -> bool {
        true
    }

    /// One `BEGIN IMMEDIATE` transaction (the write lock from the start: no deadlock upgrade).
    fn rotate(
        &self,
        key: &str,
        action: &ConsumeAction,
        successor: &PersistedGrant,
    ) -> Result<ConsumeOutcome, StoreError> {
        let mut conn = self.conn()?;
        let tx = conn
            .transaction_with_behavior(TransactionBehavior::Immediate)
            .map_err(unavailable)?;
        rotate_once(
            tx,
            |tx| rotate_in(&mut Lite(tx), &self.sql, key, action, successor),
            |tx| tx.commit(),
        )
        .map_err(unavailable)
    }

    fn remove_expired(&self, now: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError> {
        self.remove_older(&self.sql.remove_expired, now, batch_size)
    }

    fn remove_consumed(&self, before: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError> {
        self.remove_older(&self.sql.remove_consumed, before, batch_size)
    }
}

impl SqliteStore {
    /// One batch of a cleanup statement: rows whose date is before `limit`.
    fn remove_older(
        &self,
        sql: &str,
        limit: DateTime<Utc>,
        batch_size: usize,
    ) -> Result<u64, StoreError> {
        let n = self
            .conn()?
            .execute(sql, params![format_time(limit), batch_size as i64])
            .map_err(unavailable)?;
        Ok(n as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_written_as_ef_core_writes_them_and_sort_as_text() {
        let t = crate::format::datetime::parse("2026-01-01T00:00:05.1200000Z").unwrap();
        assert_eq!(format_time(t), "2026-01-01 00:00:05.12");
        let whole = crate::format::datetime::parse("2026-01-01T00:00:05Z").unwrap();
        assert_eq!(format_time(whole), "2026-01-01 00:00:05");
        assert!(format_time(whole) < format_time(t));
        assert_eq!(parse_time("2026-01-01 00:00:05.12"), Some(t));
    }
}
