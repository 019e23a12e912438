//! Which table a SQL store works on: Duende's `PersistedGrants` by default, or another name
//! (and, on PostgreSQL, a schema) when the deployment's operational store was configured with
//! one (`OperationalStoreOptions.PersistedGrants` / `DefaultSchema`). The schema scripts in
//! `schema/` are written for the default name; [`TableName::rename`] gives them any other, so
//! the stores, the `rtc` tool and a DBA running a script by hand all create the same table.

use std::fmt;

use super::StoreError;

/// The reference's table name, the one every script in `schema/` is written with.
pub const DEFAULT_TABLE: &str = "PersistedGrants";

/// The longest table name accepted: the longest index name Duende's migrations derive from it
/// (`IX_<table>_SubjectId_SessionId_Type`) must stay within PostgreSQL's 63-byte identifiers,
/// which the server would otherwise truncate silently, and two tables could then clash.
pub const MAX_TABLE_LEN: usize = 63 - "IX__SubjectId_SessionId_Type".len();

/// A validated table name (and optional schema). Names are plain identifiers (ASCII letters,
/// digits, `_`, not starting with a digit), so they can be quoted into SQL without escaping.
#[derive(Clone, PartialEq, Eq)]
pub struct TableName {
    schema: Option<String>,
    table: String,
}

impl Default for TableName {
    fn default() -> Self {
        Self {
            schema: None,
            table: DEFAULT_TABLE.to_owned(),
        }
    }
}

impl fmt::Debug for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}")
    }
}

impl fmt::Display for TableName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.quoted())
    }
}

impl TableName {
    /// `schema` empty or `None` for the connection's default schema. A name that is not a plain
    /// identifier, or too long, is refused (`Broken`: a configuration an operator must fix).
    pub fn new(schema: Option<&str>, table: &str) -> Result<Self, StoreError> {
        let schema = schema.filter(|s| !s.is_empty());
        if let Some(s) = schema {
            identifier(s, "schema", 63)?;
        }
        identifier(table, "table", MAX_TABLE_LEN)?;
        Ok(Self {
            schema: schema.map(str::to_owned),
            table: table.to_owned(),
        })
    }

    pub fn schema(&self) -> Option<&str> {
        self.schema.as_deref()
    }

    pub fn table(&self) -> &str {
        &self.table
    }

    /// `"schema"."table"` or `"table"`, as the statements name it.
    pub fn quoted(&self) -> String {
        match &self.schema {
            Some(s) => format!(r#""{s}"."{}""#, self.table),
            None => format!(r#""{}""#, self.table),
        }
    }

    /// A script of `schema/` with this name in place of `PersistedGrants`: the table (quoted
    /// either way, `"…"` or SQL Server's `[…]`) and the key and index names derived from it.
    pub fn rename(&self, script: &str) -> String {
        let bracketed = match &self.schema {
            Some(s) => format!("[{s}].[{}]", self.table),
            None => format!("[{}]", self.table),
        };
        script
            .replace(&format!("\"{DEFAULT_TABLE}\""), &self.quoted())
            .replace(&format!("[{DEFAULT_TABLE}]"), &bracketed)
            .replace(
                &format!("IX_{DEFAULT_TABLE}_"),
                &format!("IX_{}_", self.table),
            )
            .replace(
                &format!("PK_{DEFAULT_TABLE}"),
                &format!("PK_{}", self.table),
            )
    }
}

fn identifier(name: &str, what: &str, max: usize) -> Result<(), StoreError> {
    let plain = name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && name.bytes().next().is_some_and(|b| !b.is_ascii_digit());
    if !plain || name.len() > max {
        return Err(StoreError::Broken(format!(
            "the {what} name '{}' is not usable: ASCII letters, digits and '_', not starting with a \
             digit, at most {max} characters",
            name.escape_debug()
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_renames_the_table_and_everything_derived_from_it_in_every_quoting() {
        let t = TableName::new(Some("auth"), "Grants").unwrap();
        let pg = t.rename(include_str!("../../schema/postgres.sql"));
        assert!(pg.contains(r#"CREATE TABLE IF NOT EXISTS "auth"."Grants" ("#));
        assert!(pg.contains(r#"CONSTRAINT "PK_Grants" PRIMARY KEY"#));
        assert!(pg.contains(r#""IX_Grants_Key" ON "auth"."Grants" ("Key")"#));
        assert!(!pg.contains(r#""PersistedGrants""#) && !pg.contains("IX_PersistedGrants"));
        let ms = t.rename(include_str!("../../schema/sqlserver.sql"));
        assert!(ms.contains("CREATE TABLE [auth].[Grants] ("));
        assert!(ms.contains("[IX_Grants_ConsumedTime] ON [auth].[Grants]"));
        let default = TableName::default();
        let lite = include_str!("../../schema/sqlite.sql");
        assert_eq!(default.rename(lite), lite);
    }

    #[test]
    fn names_that_would_need_escaping_or_be_truncated_are_refused() {
        for bad in [
            "",
            "1st",
            "a\"b",
            "a b",
            "grants;drop",
            "é",
            &"x".repeat(36),
        ] {
            let e = TableName::new(None, bad).unwrap_err();
            assert!(matches!(e, StoreError::Broken(_)), "{bad}: {e}");
        }
        assert!(TableName::new(Some("bad-schema"), "Grants").is_err());
        assert!(TableName::new(Some(""), "Grants")
            .unwrap()
            .schema()
            .is_none());
        assert!(TableName::new(None, &"x".repeat(MAX_TABLE_LEN)).is_ok());
    }
}
