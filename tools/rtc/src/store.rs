//! Opening the store a command works on: never creating a table (an admin tool that made one
//! on a mistyped name would hide the mistake), and every failure told as "retry" or "fix".

use std::sync::Arc;

use refresh_token_core::store::postgres::{PostgresOptions, PostgresStore};
use refresh_token_core::store::sqlite::{SqliteOptions, SqliteStore};
use refresh_token_core::store::table::TableName;
use refresh_token_core::store::{GrantStore, StoreError};

use crate::StoreArgs;

/// A failed command: its message and exit code.
pub struct Failure {
    pub message: String,
    pub code: u8,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Self {
            message: message.into(),
            code: 1,
        }
    }
}

impl From<StoreError> for Failure {
    fn from(e: StoreError) -> Self {
        let code = match e {
            StoreError::Broken(_) => 3,
            StoreError::InvalidRequest(_) => 1,
            StoreError::Unavailable(_) | StoreError::BadResponse(_) => 2,
        };
        Self {
            message: e.to_string(),
            code,
        }
    }
}

pub fn table(args: &StoreArgs) -> Result<TableName, Failure> {
    let name = args
        .table
        .as_deref()
        .unwrap_or(refresh_token_core::store::table::DEFAULT_TABLE);
    TableName::new(args.schema.as_deref(), name).map_err(|e| Failure::usage(e.to_string()))
}

/// The store, its table checked (every column there), nothing created.
pub fn open(args: &StoreArgs) -> Result<Arc<dyn GrantStore>, Failure> {
    let table = table(args)?;
    match (&args.sqlite, &args.postgres) {
        // An explicit --sqlite wins over an RTC_POSTGRES left in the environment.
        (Some(path), _) => {
            if !std::path::Path::new(path).exists() {
                return Err(Failure::usage(format!("no such database file: {path}")));
            }
            let options = SqliteOptions {
                table,
                create_table: false,
                pool_size: 2,
                ..Default::default()
            };
            Ok(Arc::new(SqliteStore::open_with(path, options)?))
        }
        (None, Some(url)) => {
            let options = PostgresOptions {
                table,
                create_table: false,
                pool_size: 2,
                ..Default::default()
            };
            Ok(Arc::new(PostgresStore::connect_with(url, options)?))
        }
        _ => Err(Failure::usage(
            "say which database: --sqlite FILE or --postgres CONNECTION-STRING (or RTC_POSTGRES)",
        )),
    }
}
