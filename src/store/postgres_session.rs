//! A pooled PostgreSQL connection that costs one round trip a statement.
//!
//! Two things made the pool of `r2d2_postgres` cost three round trips for one statement (the
//! server's log of a token-endpoint refresh shows them): a `query("SELECT ...")` prepares the
//! text (Parse/Describe, one round trip) before it executes it (a second), and every checkout
//! sends an empty query to test the connection (a third). Here each connection prepares a
//! statement once and keeps it, and a checkout tests only a connection that sat idle long
//! enough for a server, a proxy or a firewall to have dropped it meanwhile. A connection that
//! died while in the pool (a server restart) fails its next statement with a closed-connection
//! error; the store then runs a read again on another connection (a write only when the server
//! said it did not run it: [`terminated`]), and the pool drops the dead one when it comes back
//! (`has_broken`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use postgres::types::ToSql;
use postgres::{Client, Config, NoTls, Row, Statement};

/// How long a connection may sit in the pool and still be handed out untested.
const IDLE_BEFORE_TEST: Duration = Duration::from_secs(5);

/// At most this many statements are kept a connection: the fixed ones of a store, and filter
/// queries, whose text varies with the filter (cleared, not evicted one by one, when full).
const MAX_PREPARED: usize = 64;

/// The pool's connection manager.
pub(super) struct Manager {
    config: Config,
}

impl Manager {
    pub(super) fn new(config: Config) -> Self {
        Self { config }
    }
}

/// A connection, the statements prepared on it (by their text), and whether a statement failed
/// on the connection itself (the pool then drops it instead of handing it out again: the client
/// may not have seen the socket close yet).
pub(super) struct Session {
    client: Client,
    prepared: HashMap<String, Statement>,
    broken: bool,
    /// When the pool last took it back.
    returned: Instant,
}

impl r2d2::ManageConnection for Manager {
    type Connection = Session;
    type Error = postgres::Error;

    fn connect(&self) -> Result<Session, postgres::Error> {
        Ok(Session {
            client: self.config.connect(NoTls)?,
            prepared: HashMap::new(),
            broken: false,
            returned: Instant::now(),
        })
    }

    /// On checkout: a round trip only after [`IDLE_BEFORE_TEST`] in the pool.
    fn is_valid(&self, s: &mut Session) -> Result<(), postgres::Error> {
        if s.returned.elapsed() < IDLE_BEFORE_TEST {
            return Ok(());
        }
        s.client.simple_query("").map(drop)
    }

    /// On return (r2d2 asks every time): the idle clock starts now.
    fn has_broken(&self, s: &mut Session) -> bool {
        s.returned = Instant::now();
        s.broken || s.client.is_closed()
    }
}

impl Session {
    /// Runs `run` with the statement for `sql`, prepared on this connection the first time; a
    /// failure forgets what was prepared (a schema changed under a kept statement fails it until
    /// it is prepared again) and marks the connection broken when it was the connection's.
    fn with<T>(
        &mut self,
        sql: &str,
        run: impl FnOnce(&mut Client, &Statement) -> Result<T, postgres::Error>,
    ) -> Result<T, postgres::Error> {
        let r = self.statement(sql).and_then(|s| run(&mut self.client, &s));
        if let Err(e) = &r {
            self.prepared.clear();
            self.broken |= closed(e);
        }
        r
    }

    fn statement(&mut self, sql: &str) -> Result<Statement, postgres::Error> {
        if let Some(s) = self.prepared.get(sql) {
            return Ok(s.clone());
        }
        let s = self.client.prepare(sql)?;
        if self.prepared.len() >= MAX_PREPARED {
            self.prepared.clear();
        }
        self.prepared.insert(sql.to_owned(), s.clone());
        Ok(s)
    }

    pub(super) fn execute(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, postgres::Error> {
        self.with(sql, |c, s| c.execute(s, params))
    }

    pub(super) fn query(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, postgres::Error> {
        self.with(sql, |c, s| c.query(s, params))
    }

    pub(super) fn query_opt(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, postgres::Error> {
        self.with(sql, |c, s| c.query_opt(s, params))
    }

    pub(super) fn query_one(
        &mut self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Row, postgres::Error> {
        self.with(sql, |c, s| c.query_one(s, params))
    }

    /// Statements without caching (one-off statements: set-up, bulk work, tests).
    pub(super) fn client(&mut self) -> &mut Client {
        &mut self.client
    }
}

/// Whether a statement was refused by the server's last word before it closed the connection
/// (the backend terminated, the server shutting down or restarting after a crash): the
/// statement did not run (a statement that ran is answered before the connection is closed),
/// so even a write may run again on another connection.
pub(super) fn terminated(e: &postgres::Error) -> bool {
    use postgres::error::SqlState;
    e.code()
        .is_some_and(|c| [SqlState::ADMIN_SHUTDOWN, SqlState::CRASH_SHUTDOWN].contains(c))
}

/// Whether a read failed on its connection rather than in the server: [`terminated`], or the
/// connection closed or its socket failed (whether a write then ran is unknown; a read may run
/// again on another connection).
pub(super) fn closed(e: &postgres::Error) -> bool {
    terminated(e)
        || e.is_closed()
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}
