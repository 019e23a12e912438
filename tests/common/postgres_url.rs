//! The PostgreSQL test server's URL and a database of a test's own on it, shared by the tests
//! that need one (included with `#[path]`).

/// The test server's URL (`RTC_TEST_POSTGRES_URL`; the test command always sets it), or `None`
/// after saying the case is not run.
#[allow(dead_code)]
pub fn postgres_url() -> Option<String> {
    let url = std::env::var("RTC_TEST_POSTGRES_URL").ok();
    if url.is_none() {
        eprintln!("RTC_TEST_POSTGRES_URL not set: the PostgreSQL case is not run");
    }
    url
}

/// A database of the test's own on the test server (`name`, dropped first if an earlier run left
/// it), and its URL. One statement per call: DROP / CREATE DATABASE cannot run inside a
/// multi-statement transaction.
#[cfg(feature = "postgres")]
#[allow(dead_code)]
pub fn fresh_database(admin: &mut postgres::Client, url: &str, name: &str) -> String {
    admin
        .batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .unwrap();
    admin
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .unwrap();
    let (server, _) = url.rsplit_once('/').expect("postgres://.../database");
    format!("{server}/{name}")
}
