//! The rows the real Duende 7.4.8 wrote (`../shared/fixtures/duende-7.4.8`), read by the tests
//! and the benchmarks that need a row the reference itself produced.

/// The Data column of the unprotected fixture `case` (its file name without `.json`).
pub fn duende_row_data(case: &str) -> String {
    let path = format!(
        "{}/../shared/fixtures/duende-7.4.8/unprotected/{case}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let fixture: serde_json::Value = serde_json::from_str(&text).unwrap();
    fixture["row"]["Data"].as_str().unwrap().to_owned()
}
