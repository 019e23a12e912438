//! The PostgreSQL test server's URL, shared by the tests that need one (included with `#[path]`).

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
