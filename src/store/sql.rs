//! What the two SQL stores share: the statements over Duende's `PersistedGrants` table, the
//! filter clause, and the consume and rotation logic. Each dialect keeps only what differs: the
//! table's column types, its parameter marks (`?1` or `$1`), how a row's values are bound (SQLite
//! stores dates as EF Core's text, PostgreSQL as `timestamptz`) and how a transaction is begun.

use std::fmt::Display;
use std::sync::Arc;

use scheduled_thread_pool::{OnPoolDropBehavior, ScheduledThreadPool};

use super::table::TableName;
use super::{ConsumeAction, ConsumeOutcome};
use crate::model::{GrantFilter, PersistedGrant};

/// The connection pool's maintenance thread (r2d2 reaps idle connections on it). r2d2's default
/// is three threads that, once the pool is dropped, still wait for the next scheduled reap (up
/// to 30 s) before they exit; this one discards what is pending and exits at once, so nothing of
/// a freed store outlives `rtc_service_free` by more than a moment.
pub(crate) fn maintenance_thread() -> Arc<ScheduledThreadPool> {
    Arc::new(
        ScheduledThreadPool::builder()
            .num_threads(1)
            .thread_name_pattern("rtc-pool-{}")
            .on_drop_behavior(OnPoolDropBehavior::DiscardPendingScheduled)
            .build(),
    )
}

/// A row's columns, in the order every statement binds them (the key is parameter 1).
pub(crate) const COLUMNS: &str = r#""Key", "Type", "SubjectId", "SessionId", "ClientId", "Description", "CreationTime", "Expiration", "ConsumedTime", "Data""#;

/// Every statement of a store, built once when it opens.
pub(crate) struct Statements {
    mark: char,
    /// The quoted table (`"PersistedGrants"` unless configured otherwise).
    table: String,
    pub select_key: String,
    pub select_all: String,
    pub upsert: String,
    pub insert_if_absent: String,
    pub delete_key: String,
    pub mark_consumed: String,
    pub exists_key: String,
    pub remove_expired: String,
    pub remove_consumed: String,
}

impl Statements {
    /// `mark` is the dialect's numbered-parameter sigil: `?` for SQLite, `$` for PostgreSQL.
    pub fn new(mark: char, table: &TableName) -> Self {
        let t = table.quoted();
        let row = (1..=10)
            .map(|i| format!("{mark}{i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let insert = format!(r#"INSERT INTO {t} ({COLUMNS}) VALUES ({row})"#);
        let on_key = r#"ON CONFLICT ("Key") WHERE "Key" IS NOT NULL"#;
        let older = |column: &str| {
            format!(
                r#"DELETE FROM {t} WHERE "Id" IN (SELECT "Id" FROM {t}
                   WHERE "{column}" < {mark}1 ORDER BY "{column}" LIMIT {mark}2)"#
            )
        };
        Self {
            mark,
            table: t.clone(),
            select_key: format!(r#"SELECT {COLUMNS} FROM {t} WHERE "Key" = {mark}1"#),
            select_all: format!(
                r#"SELECT {COLUMNS} FROM {t} WHERE "Key" IS NOT NULL ORDER BY "Key""#
            ),
            upsert: format!(
                r#"{insert} {on_key} DO UPDATE SET
                   "Type" = EXCLUDED."Type", "SubjectId" = EXCLUDED."SubjectId", "SessionId" = EXCLUDED."SessionId",
                   "ClientId" = EXCLUDED."ClientId", "Description" = EXCLUDED."Description",
                   "CreationTime" = EXCLUDED."CreationTime", "Expiration" = EXCLUDED."Expiration",
                   "ConsumedTime" = EXCLUDED."ConsumedTime", "Data" = EXCLUDED."Data""#
            ),
            insert_if_absent: format!("{insert} {on_key} DO NOTHING"),
            delete_key: format!(r#"DELETE FROM {t} WHERE "Key" = {mark}1"#),
            mark_consumed: format!(
                r#"UPDATE {t} SET "Type" = {mark}2, "SubjectId" = {mark}3, "SessionId" = {mark}4,
                   "ClientId" = {mark}5, "Description" = {mark}6, "CreationTime" = {mark}7, "Expiration" = {mark}8,
                   "ConsumedTime" = {mark}9, "Data" = {mark}10
                   WHERE "Key" = {mark}1 AND "ConsumedTime" IS NULL"#
            ),
            exists_key: format!(r#"SELECT EXISTS(SELECT 1 FROM {t} WHERE "Key" = {mark}1)"#),
            remove_expired: older("Expiration"),
            remove_consumed: older("ConsumedTime"),
        }
    }

    /// The `WHERE` clause of a filter and its parameters ([`GrantFilter::restrictions`]).
    pub fn filter(&self, f: &GrantFilter) -> (String, Vec<String>) {
        let mut args: Vec<String> = Vec::new();
        let clauses: Vec<String> = f
            .restrictions()
            .into_iter()
            .map(|(column, values)| {
                let marks: Vec<String> = values
                    .into_iter()
                    .map(|v| {
                        args.push(v.to_owned());
                        format!("{}{}", self.mark, args.len())
                    })
                    .collect();
                format!(r#""{column}" IN ({})"#, marks.join(", "))
            })
            .collect();
        (clauses.join(" AND "), args)
    }

    pub fn select_filtered(&self, clause: &str) -> String {
        format!(
            r#"SELECT {COLUMNS} FROM {} WHERE "Key" IS NOT NULL AND {clause}"#,
            self.table
        )
    }

    #[cfg(feature = "postgres")]
    pub fn delete_all(&self) -> String {
        format!("DELETE FROM {}", self.table)
    }

    pub fn delete_filtered(&self, clause: &str) -> String {
        format!(r#"DELETE FROM {} WHERE {clause}"#, self.table)
    }
}

/// What the shared logic asks of a dialect's connection or open transaction.
pub(crate) trait SqlExec {
    type Error: Display;
    /// Runs a statement whose one parameter is a key; rows affected.
    fn exec_key(&mut self, sql: &str, key: &str) -> Result<u64, Self::Error>;
    /// Runs a statement whose ten parameters are a row's values in [`COLUMNS`] order.
    fn exec_row(&mut self, sql: &str, row: &PersistedGrant) -> Result<u64, Self::Error>;
    /// Runs a `SELECT EXISTS(...)` whose one parameter is a key.
    fn exists_key(&mut self, sql: &str, key: &str) -> Result<bool, Self::Error>;
}

/// The conditional consume in one statement (a conditional DELETE, or an UPDATE ... WHERE
/// "ConsumedTime" IS NULL): rows affected say who won; a lost mark tells "already consumed"
/// from "gone" with one more read.
pub(crate) fn consume_on<C: SqlExec>(
    c: &mut C,
    s: &Statements,
    key: &str,
    action: &ConsumeAction,
) -> Result<ConsumeOutcome, C::Error> {
    let changed = match action {
        ConsumeAction::Delete => c.exec_key(&s.delete_key, key)?,
        ConsumeAction::MarkConsumed(row) => c.exec_row(&s.mark_consumed, row)?,
    };
    outcome(c, s, key, action, changed)
}

/// Who won, from the rows a conditional consume changed: one is a win; none is "gone" in
/// delete mode, and in mark mode one more read tells "already consumed" from "gone".
pub(crate) fn outcome<C: SqlExec>(
    c: &mut C,
    s: &Statements,
    key: &str,
    action: &ConsumeAction,
    changed: u64,
) -> Result<ConsumeOutcome, C::Error> {
    if changed == 1 {
        return Ok(ConsumeOutcome::Won);
    }
    if matches!(action, ConsumeAction::Delete) || !c.exists_key(&s.exists_key, key)? {
        return Ok(ConsumeOutcome::NotFound);
    }
    Ok(ConsumeOutcome::AlreadyConsumed)
}

/// A rotation in one transaction (SQLite's; PostgreSQL's is one statement, `postgres::Rotation`):
/// `rotate` (which runs [`rotate_in`] on it), then `commit` only when it won; any other outcome
/// changed nothing, and dropping the transaction rolls it back.
#[cfg(feature = "sqlite")]
pub(crate) fn rotate_once<T, E>(
    mut tx: T,
    rotate: impl FnOnce(&mut T) -> Result<ConsumeOutcome, E>,
    commit: impl FnOnce(T) -> Result<(), E>,
) -> Result<ConsumeOutcome, E> {
    let outcome = rotate(&mut tx)?;
    if outcome == ConsumeOutcome::Won {
        commit(tx)?;
    }
    Ok(outcome)
}

/// A rotation inside the caller's open transaction: consume, then insert the successor only if
/// this call won. The caller commits on `Won`; any other outcome changed nothing, and dropping
/// the transaction rolls it back.
#[cfg(feature = "sqlite")]
pub(crate) fn rotate_in<C: SqlExec>(
    tx: &mut C,
    s: &Statements,
    key: &str,
    action: &ConsumeAction,
    successor: &PersistedGrant,
) -> Result<ConsumeOutcome, C::Error> {
    let outcome = consume_on(tx, s, key, action)?;
    if outcome == ConsumeOutcome::Won {
        tx.exec_row(&s.insert_if_absent, successor)?;
    }
    Ok(outcome)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_numbers_its_parameters_in_order_and_skips_blank_values() {
        let s = Statements::new('$', &TableName::default());
        let f = GrantFilter {
            subject_id: Some("alice".into()),
            session_id: Some("  ".into()),
            client_id: Some("app".into()),
            client_ids: vec!["web".into(), "".into()],
            grant_type: None,
            grant_types: vec!["refresh_token".into()],
        };
        let (clause, args) = s.filter(&f);
        assert_eq!(
            clause,
            r#""SubjectId" IN ($1) AND "ClientId" IN ($2, $3) AND "Type" IN ($4)"#
        );
        assert_eq!(args, ["alice", "app", "web", "refresh_token"]);
        assert!(Statements::new('?', &TableName::default())
            .mark_consumed
            .contains(r#""Key" = ?1"#));
    }
}
