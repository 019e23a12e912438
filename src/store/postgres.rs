//! The shared store for several server instances: PostgreSQL, on the `PersistedGrants` table as
//! Duende's Npgsql migrations create it (column names, lengths, index names; timestamps as
//! `timestamp with time zone`, which holds microseconds: the 100 ns ticks of a column are
//! truncated, while the Data payload, which decides, keeps them).
//!
//! The conditional consume is one conditional statement; under READ COMMITTED a concurrent
//! second DELETE / UPDATE ... WHERE "ConsumedTime" IS NULL re-checks its condition after the
//! first commits and affects no row, so exactly one request wins without serializable isolation.
//! A rotation is one statement (`Rotation`), so one transaction and one round trip.

use chrono::{DateTime, Utc};
use postgres::types::ToSql;
use postgres::Row;
use r2d2::{Pool, PooledConnection};

use super::postgres_session::{closed, terminated, Manager, Session};
use super::sql::{consume_on, outcome, SqlExec, Statements};
use super::table::TableName;
use super::{check_filter, ConsumeAction, ConsumeOutcome, GrantStore, StoreError};
use crate::model::{GrantFilter, PersistedGrant};

/// Duende's table and indexes as its Npgsql migrations create them (`schema/postgres.sql`).
const SCHEMA: &str = include_str!("../../schema/postgres.sql");

/// Options of the PostgreSQL store.
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Connections in the pool (per process: several server instances each have theirs).
    pub pool_size: u32,
    /// How long making a connection may take, when the connection string does not say
    /// (`connect_timeout` / `Timeout`); also how long a request waits for a free connection.
    pub connect_timeout_ms: u32,
    /// The table (Duende's `PersistedGrants` in the connection's default schema by default).
    pub table: TableName,
    /// Whether connecting creates the table and its indexes when missing
    /// (`schema/postgres.sql`, and the schema). `false` when the database user has no DDL
    /// rights and the schema is managed elsewhere: connecting then only checks the table.
    pub create_table: bool,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        Self {
            pool_size: super::DEFAULT_POOL_SIZE,
            connect_timeout_ms: super::DEFAULT_CONNECT_TIMEOUT_MS,
            table: TableName::default(),
            create_table: true,
        }
    }
}

/// The shared logic runs on a pooled connection, with its prepared statements.
impl SqlExec for Session {
    type Error = postgres::Error;

    fn exec_key(&mut self, sql: &str, key: &str) -> Result<u64, postgres::Error> {
        self.execute(sql, &[&key])
    }

    fn exec_row(&mut self, sql: &str, row: &PersistedGrant) -> Result<u64, postgres::Error> {
        self.execute(sql, &values(row))
    }

    fn exists_key(&mut self, sql: &str, key: &str) -> Result<bool, postgres::Error> {
        Ok(self.query_one(sql, &[&key])?.get(0))
    }
}

/// The PostgreSQL [`GrantStore`].
pub struct PostgresStore {
    pool: Pool<Manager>,
    sql: Statements,
    rotation: Rotation,
}

/// A rotation as one statement: PostgreSQL's data-modifying `WITH` consumes the presented row
/// and, only if that changed a row, inserts the successor unless its key exists, and answers
/// how many rows the consume changed. One statement is one round trip and one transaction
/// (the server's own, atomic), where `BEGIN`, consume, insert, `COMMIT` were four. Under READ
/// COMMITTED a concurrent second rotation of the same row waits for the first, re-checks its
/// condition and changes nothing, as the separate statements did.
struct Rotation {
    /// Parameters: the presented key ($1), the successor's row ($2 … $11).
    delete: String,
    /// Parameters: the consumed row as it is to be written ($1 … $10, its key first), the
    /// successor's row ($11 … $20).
    mark: String,
}

impl Rotation {
    fn new(sql: &Statements, table: &TableName) -> Self {
        let t = table.quoted();
        // Typed, as the select list of an INSERT ... SELECT does not take its types from the
        // target columns.
        let types = [
            "text",
            "text",
            "text",
            "text",
            "text",
            "text",
            "timestamptz",
            "timestamptz",
            "timestamptz",
            "text",
        ];
        let successor = |first: usize| {
            types
                .iter()
                .enumerate()
                .map(|(i, ty)| format!("${}::{ty}", first + i))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let with = |consume: &str, first: usize| {
            format!(
                r#"WITH consumed AS ({consume} RETURNING 1),
                   inserted AS (INSERT INTO {t} ({}) SELECT {} WHERE EXISTS (SELECT 1 FROM consumed)
                                ON CONFLICT ("Key") WHERE "Key" IS NOT NULL DO NOTHING RETURNING 1)
                   SELECT count(*) FROM consumed"#,
                super::sql::COLUMNS,
                successor(first)
            )
        };
        Self {
            delete: with(&sql.delete_key, 2),
            mark: with(&sql.mark_consumed, 11),
        }
    }
}

/// A failure of the server: retryable (a lost connection, a timeout, a restart), or `Broken`
/// when retrying cannot help and an operator must act (the table or a column missing, data
/// corrupted, no permission on the table, a read-only server).
fn unavailable(e: impl std::fmt::Display + 'static) -> StoreError {
    let message = format!("postgres: {e}");
    let state = (&e as &dyn std::any::Any)
        .downcast_ref::<postgres::Error>()
        .and_then(postgres::Error::code);
    match state {
        Some(s) if operator_must_act(s) => StoreError::Broken(message),
        _ => StoreError::Unavailable(message),
    }
}

/// The server's answers that a retry cannot change: the table or a column missing, data
/// corrupted, no permission on the table, a read-only server. (At start-up the refused logins
/// are added to them: `postgres_connect::first_connection`.)
pub(super) fn operator_must_act(state: &postgres::error::SqlState) -> bool {
    use postgres::error::SqlState;
    [
        SqlState::UNDEFINED_TABLE,
        SqlState::UNDEFINED_COLUMN,
        SqlState::DATA_CORRUPTED,
        SqlState::INDEX_CORRUPTED,
        SqlState::INSUFFICIENT_PRIVILEGE,
        SqlState::READ_ONLY_SQL_TRANSACTION,
    ]
    .contains(state)
}

fn to_grant(row: &Row) -> Result<PersistedGrant, StoreError> {
    let get = |e: postgres::Error| StoreError::BadResponse(format!("postgres row: {e}"));
    Ok(PersistedGrant {
        key: row
            .try_get::<_, Option<String>>(0)
            .map_err(get)?
            .ok_or_else(|| StoreError::BadResponse("a row has a NULL Key".into()))?,
        grant_type: row.try_get(1).map_err(get)?,
        subject_id: row.try_get(2).map_err(get)?,
        session_id: row.try_get(3).map_err(get)?,
        client_id: row.try_get(4).map_err(get)?,
        description: row.try_get(5).map_err(get)?,
        creation_time: row.try_get(6).map_err(get)?,
        expiration: row.try_get(7).map_err(get)?,
        consumed_time: row.try_get(8).map_err(get)?,
        data: row.try_get(9).map_err(get)?,
    })
}

fn values(g: &PersistedGrant) -> [&(dyn ToSql + Sync); 10] {
    [
        &g.key,
        &g.grant_type,
        &g.subject_id,
        &g.session_id,
        &g.client_id,
        &g.description,
        &g.creation_time,
        &g.expiration,
        &g.consumed_time,
        &g.data,
    ]
}

impl PostgresStore {
    /// Connects with the default options (a pool of up to 8 connections; the table created if
    /// needed). `url`: a URL (`postgres://user:password@host:port/database`), libpq `key=value`
    /// pairs, or an Npgsql connection string (`Host=…;Username=…;Password=…;Database=…`). A
    /// login the server refuses, an unknown database or a string that cannot work (TLS
    /// required: this build has none) is `Broken` at once; a server that cannot be reached is
    /// `Unavailable`.
    pub fn connect(url: &str) -> Result<Self, StoreError> {
        Self::connect_with(url, PostgresOptions::default())
    }

    /// Connects as [`connect`](Self::connect) does, with these options.
    pub fn connect_with(url: &str, options: PostgresOptions) -> Result<Self, StoreError> {
        let timeout =
            std::time::Duration::from_millis(u64::from(options.connect_timeout_ms.max(1)));
        let config = super::postgres_connect::config(url, timeout)?;
        // One connection first, so that its failure is told as it is (the pool would only say
        // it timed out, after its whole timeout); it then sets up the table, before the pool.
        let mut conn = super::postgres_connect::first_connection(&config)?;
        let table = &options.table;
        if options.create_table {
            if let Some(schema) = table.schema() {
                conn.batch_execute(&format!(r#"CREATE SCHEMA IF NOT EXISTS "{schema}""#))
                    .map_err(unavailable)?;
            }
            conn.batch_execute(&table.rename(SCHEMA))
                .map_err(unavailable)?;
        }
        // Reads no row but names every column: a missing table or one of another shape is a
        // `Broken` error (an operator must act) here, at start-up, instead of on every request.
        // (SQLite asks its schema instead: it would read an unknown double-quoted column as a
        // string.)
        conn.batch_execute(&format!(
            r#"SELECT {} FROM {table} WHERE 1 = 0"#,
            super::sql::COLUMNS
        ))
        .map_err(|e| match unavailable(e) {
            StoreError::Broken(m) if !options.create_table => StoreError::Broken(format!(
                "{m} (the store was told not to create its table: create it with \
                 schema/postgres.sql, `rtc schema postgres`)"
            )),
            other => other,
        })?;
        drop(conn);
        let pool = Pool::builder()
            .thread_pool(super::sql::maintenance_thread())
            .max_size(options.pool_size.max(1))
            .connection_timeout(timeout)
            .build(Manager::new(config))
            .map_err(unavailable)?;
        let sql = Statements::new('$', table);
        Ok(Self {
            pool,
            rotation: Rotation::new(&sql, table),
            sql,
        })
    }

    fn conn(&self) -> Result<PooledConnection<Manager>, StoreError> {
        self.pool.get().map_err(unavailable)
    }

    /// Runs `f` on a connection from the pool, and again on another one while it fails in a way
    /// `again` says is safe to run again ([`closed`] for reads, [`terminated`] for writes): at
    /// most once per pooled connection, then one more, as a server restart leaves every idle
    /// connection dead.
    fn on_live_connection<T>(
        &self,
        again: fn(&postgres::Error) -> bool,
        mut f: impl FnMut(&mut Session) -> Result<T, postgres::Error>,
    ) -> Result<T, StoreError> {
        let mut tries = self.pool.max_size() + 1;
        loop {
            let mut conn = self.conn()?;
            match f(&mut conn) {
                Ok(v) => return Ok(v),
                // `conn` goes back to the pool here, which drops it as broken.
                Err(e) if again(&e) && tries > 1 => tries -= 1,
                Err(e) => return Err(unavailable(e)),
            }
        }
    }

    /// Every row, ordered by key: for tests that compare the whole stored state.
    pub fn snapshot(&self) -> Result<Vec<PersistedGrant>, StoreError> {
        let rows = self
            .conn()?
            .client()
            .query(&self.sql.select_all, &[])
            .map_err(unavailable)?;
        rows.iter().map(to_grant).collect()
    }

    /// Inserts many rows in one transaction (imports, migrations, benchmarks). Existing keys are
    /// overwritten.
    pub fn bulk_insert(&self, rows: &[PersistedGrant]) -> Result<(), StoreError> {
        let mut conn = self.conn()?;
        let mut tx = conn.client().transaction().map_err(unavailable)?;
        let stmt = tx.prepare(&self.sql.upsert).map_err(unavailable)?;
        for g in rows {
            tx.execute(&stmt, &values(g)).map_err(unavailable)?;
        }
        tx.commit().map_err(unavailable)
    }

    /// Removes every row (for tests that share one database).
    pub fn clear(&self) -> Result<(), StoreError> {
        self.conn()?
            .client()
            .batch_execute(&self.sql.delete_all())
            .map_err(unavailable)
    }
}

impl GrantStore for PostgresStore {
    fn get(&self, key: &str) -> Result<Option<PersistedGrant>, StoreError> {
        let row =
            self.on_live_connection(closed, |s| s.query_opt(&self.sql.select_key, &[&key]))?;
        row.as_ref().map(to_grant).transpose()
    }

    fn store(&self, grant: &PersistedGrant) -> Result<(), StoreError> {
        self.conn()?
            .exec_row(&self.sql.upsert, grant)
            .map_err(unavailable)?;
        Ok(())
    }

    fn remove(&self, key: &str) -> Result<(), StoreError> {
        self.conn()?
            .exec_key(&self.sql.delete_key, key)
            .map_err(unavailable)?;
        Ok(())
    }

    fn get_all(&self, filter: &GrantFilter) -> Result<Vec<PersistedGrant>, StoreError> {
        check_filter(filter)?;
        let (clause, args) = self.sql.filter(filter);
        let sql = self.sql.select_filtered(&clause);
        let rows = self.on_live_connection(closed, |s| s.query(&sql, &params(&args)))?;
        rows.iter().map(to_grant).collect()
    }

    fn remove_all(&self, filter: &GrantFilter) -> Result<u64, StoreError> {
        check_filter(filter)?;
        let (clause, args) = self.sql.filter(filter);
        self.conn()?
            .execute(&self.sql.delete_filtered(&clause), &params(&args))
            .map_err(unavailable)
    }

    fn consume(&self, key: &str, action: &ConsumeAction) -> Result<ConsumeOutcome, StoreError> {
        consume_on(&mut *self.conn()?, &self.sql, key, action).map_err(unavailable)
    }

    fn insert_if_absent(&self, grant: &PersistedGrant) -> Result<bool, StoreError> {
        let n = self
            .conn()?
            .exec_row(&self.sql.insert_if_absent, grant)
            .map_err(unavailable)?;
        Ok(n == 1)
    }

    fn atomic_consume(&self) -> bool {
        true
    }

    /// One statement ([`Rotation`]), run again on another connection only when the server
    /// refused it as it closed the connection ([`terminated`]); any other failure may have
    /// been applied, and the service reads back what happened.
    fn rotate(
        &self,
        key: &str,
        action: &ConsumeAction,
        successor: &PersistedGrant,
    ) -> Result<ConsumeOutcome, StoreError> {
        let (sql, mut params): (&str, Vec<&(dyn ToSql + Sync)>) = match action {
            ConsumeAction::Delete => (&self.rotation.delete, vec![&key]),
            ConsumeAction::MarkConsumed(row) => (&self.rotation.mark, values(row).to_vec()),
        };
        params.extend(values(successor));
        self.on_live_connection(terminated, |s| {
            let changed: i64 = s.query_one(sql, &params)?.get(0);
            outcome(s, &self.sql, key, action, changed as u64)
        })
    }

    fn remove_expired(&self, now: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError> {
        self.remove_older(&self.sql.remove_expired, now, batch_size)
    }

    fn remove_consumed(&self, before: DateTime<Utc>, batch_size: usize) -> Result<u64, StoreError> {
        self.remove_older(&self.sql.remove_consumed, before, batch_size)
    }
}

impl PostgresStore {
    /// One batch of a cleanup statement: rows whose date is before `limit`.
    fn remove_older(
        &self,
        sql: &str,
        limit: DateTime<Utc>,
        batch_size: usize,
    ) -> Result<u64, StoreError> {
        self.conn()?
            .execute(sql, &[&limit, &(batch_size as i64)])
            .map_err(unavailable)
    }
}

/// A filter's text parameters as the client binds them.
fn params(args: &[String]) -> Vec<&(dyn ToSql + Sync)> {
    args.iter().map(|a| a as &(dyn ToSql + Sync)).collect()
}
