//! The built-in stores' options in the C ABI (`rtc_store_options`, filled with its defaults by
//! `rtc_store_options_init`) and opening them: the pool, SQLite's lock wait and durability,
//! PostgreSQL's connect timeout, the table's schema and name, and whether the store may create
//! the table (a database user without DDL rights runs on a table made by the scripts in `schema/`).

use std::sync::Arc;

use super::boundary::guard;
use super::error::FfiError;

use super::result::rtc_result;
use super::text::rtc_str;
use super::write::OptOut;
use crate::store::GrantStore;

/// How durable a SQLite write is before it returns (`rtc_store_options.durability`).
#[repr(u32)]
pub enum rtc_durability {
    /// `synchronous=FULL`: survives power loss (the default).
    RTC_DURABILITY_FULL = 0,
    /// `synchronous=NORMAL`: survives a crash of the process; the last transactions may be lost
    /// on power loss. Faster.
    RTC_DURABILITY_NORMAL = 1,
}

/// Options of the built-in stores (`rtc_service_builder_use_sqlite_with`,
/// `rtc_service_builder_use_postgres_with`). Fill with `rtc_store_options_init`, then change
/// fields; a field that does not apply to the store is ignored. Strings are borrowed for the
/// call.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtc_store_options {
    /// Connections in the pool; default 8; 0 is refused.
    pub pool_size: u32,
    /// SQLite: how long (ms) a statement waits for another writer's lock before failing
    /// (retryable); default 10000.
    pub busy_timeout_ms: u32,
    /// PostgreSQL: how long (ms) making a connection may take when the connection string sets
    /// no timeout, and how long a request waits for a free connection; default 10000; 0 is
    /// refused.
    pub connect_timeout_ms: u32,
    /// SQLite: an `rtc_durability`; default `RTC_DURABILITY_FULL`.
    pub durability: u32,
    /// 1 (the default): create the table and its indexes when missing. 0: only check that the
    /// table is there and has every column (`RTC_RESULT_STORAGE_BROKEN` when not), for a
    /// database whose schema is managed elsewhere (the scripts in `schema/`, EF Core migrations).
    pub create_table: u8,
    /// PostgreSQL: the table's schema; `{NULL, 0}` (the default) for the connection's default
    /// schema. SQLite has none: a schema is refused there.
    pub schema: rtc_str,
    /// The table; `{NULL, 0}` (the default) for Duende's `PersistedGrants`. A plain identifier
    /// (ASCII letters, digits, `_`, not starting with a digit, at most 35 characters).
    pub table: rtc_str,
}

/// Fills `options` with the defaults. NULL is ignored.
#[no_mangle]
pub extern "C" fn rtc_store_options_init(options: *mut rtc_store_options) {
    guard(|| (), || OptOut::new(options).set(defaults))
}

/// The defaults, also for the calls that take no options.
pub(crate) fn defaults() -> rtc_store_options {
    use crate::store::{DEFAULT_BUSY_TIMEOUT_MS, DEFAULT_CONNECT_TIMEOUT_MS, DEFAULT_POOL_SIZE};
    rtc_store_options {
        pool_size: DEFAULT_POOL_SIZE,
        busy_timeout_ms: DEFAULT_BUSY_TIMEOUT_MS,
        connect_timeout_ms: DEFAULT_CONNECT_TIMEOUT_MS,
        durability: rtc_durability::RTC_DURABILITY_FULL as u32,
        create_table: 1,
        schema: rtc_str::NULL,
        table: rtc_str::NULL,
    }
}

fn invalid(message: String) -> FfiError {
    FfiError::new(rtc_result::RTC_RESULT_INVALID_ARGUMENT, message)
}

#[cfg(any(feature = "sqlite", feature = "postgres"))]
fn table(o: &rtc_store_options) -> Result<crate::store::table::TableName, FfiError> {
    use super::read;
    use super::text::RTC_MAX_STRING_LEN;
    let schema = read::field(o.schema, "options.schema", RTC_MAX_STRING_LEN)?;
    let table = read::field(o.table, "options.table", RTC_MAX_STRING_LEN)?
        .filter(|t| !t.is_empty())
        .unwrap_or(crate::store::table::DEFAULT_TABLE);
    // A name that cannot be used is the caller's argument, not a broken store.
    crate::store::table::TableName::new(schema, table).map_err(|e| match e {
        crate::store::StoreError::Broken(m) => invalid(m),
        other => other.into(),
    })
}

#[cfg(feature = "sqlite")]
pub(crate) fn open_sqlite(
    path: &str,
    o: &rtc_store_options,
) -> Result<Arc<dyn GrantStore>, FfiError> {
    use crate::store::sqlite::{Durability, SqliteOptions, SqliteStore};
    if o.pool_size == 0 {
        return Err(invalid("options.pool_size must be at least 1".into()));
    }
    let durability = match o.durability {
        0 => Durability::Full,
        1 => Durability::Normal,
        other => {
            return Err(FfiError::new(
                rtc_result::RTC_RESULT_INVALID_ENUM,
                format!("unknown options.durability {other}"),
            ))
        }
    };
    let options = SqliteOptions {
        durability,
        busy_timeout_ms: o.busy_timeout_ms,
        pool_size: o.pool_size,
        table: table(o)?,
        create_table: o.create_table != 0,
    };
    if options.table.schema().is_some() {
        return Err(invalid("options.schema: SQLite has no schemas".into()));
    }
    Ok(Arc::new(SqliteStore::open_with(path, options)?))
}

#[cfg(feature = "postgres")]
pub(crate) fn connect_postgres(
    url: &str,
    o: &rtc_store_options,
) -> Result<Arc<dyn GrantStore>, FfiError> {
    use crate::store::postgres::{PostgresOptions, PostgresStore};
    if o.pool_size == 0 || o.connect_timeout_ms == 0 {
        return Err(invalid(
            "options.pool_size and options.connect_timeout_ms must be at least 1".into(),
        ));
    }
    let options = PostgresOptions {
        pool_size: o.pool_size,
        connect_timeout_ms: o.connect_timeout_ms,
        table: table(o)?,
        create_table: o.create_table != 0,
    };
    // The string may hold a password; the store's messages name the server, the database and
    // the user, never the password (store/postgres_connect.rs), so they are passed on as they
    // are: an operator needs to know which of them is wrong.
    Ok(Arc::new(PostgresStore::connect_with(url, options)?))
}

#[cfg(not(feature = "sqlite"))]
pub(crate) fn open_sqlite(_: &str, _: &rtc_store_options) -> Result<Arc<dyn GrantStore>, FfiError> {
    Err(not_built("sqlite"))
}

#[cfg(not(feature = "postgres"))]
pub(crate) fn connect_postgres(
    _: &str,
    _: &rtc_store_options,
) -> Result<Arc<dyn GrantStore>, FfiError> {
    Err(not_built("postgres"))
}

#[cfg(not(all(feature = "sqlite", feature = "postgres")))]
fn not_built(feature: &str) -> FfiError {
    invalid(format!(
        "this library was built without the \"{feature}\" store feature"
    ))
}
