//! Date text as .NET writes it, and tolerant reading of every form the reference versions
//! produced.
//!
//! .NET `DateTime` has 100 ns resolution; times are truncated to it before they are stored, so
//! that a value written, read and written again stays byte-identical.

use chrono::{DateTime, NaiveDateTime, Timelike, Utc};
use std::fmt::Write;

/// Truncates to .NET's 100 ns tick.
pub fn truncate_to_tick(t: DateTime<Utc>) -> DateTime<Utc> {
    let nanos = t.nanosecond();
    // Leap-second nanos (>= 1e9) are folded too; .NET has no leap seconds.
    let truncated = (nanos % 1_000_000_000) / 100 * 100;
    t.with_nanosecond(truncated).unwrap_or(t)
}

/// Formats as System.Text.Json writes a UTC `DateTime`: `yyyy-MM-ddTHH:mm:ss[.fffffff]Z` with
/// trailing fractional zeros (and the dot when nothing is left) trimmed.
pub fn format_utc(t: DateTime<Utc>) -> String {
    let t = truncate_to_tick(t);
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let ticks = t.nanosecond() % 1_000_000_000 / 100;
    if ticks != 0 {
        let mut frac = format!("{ticks:07}");
        while frac.ends_with('0') {
            frac.pop();
        }
        let _ = write!(out, ".{frac}");
    }
    out.push('Z');
    out
}

/// Reads an ISO 8601 date as written by System.Text.Json or Newtonsoft: with "Z", with an
/// offset (converted to UTC), or with no zone at all (IdentityServer4 4.0.x wrote Kind
/// Unspecified; taken as UTC, which is what it was). Up to 7 fractional digits are kept; more
/// are truncated to the tick.
pub fn parse(text: &str) -> Option<DateTime<Utc>> {
    if let Ok(t) = DateTime::parse_from_rfc3339(text) {
        return Some(truncate_to_tick(t.with_timezone(&Utc)));
    }
    for fmt in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S"] {
        if let Ok(n) = NaiveDateTime::parse_from_str(text, fmt) {
            return Some(truncate_to_tick(n.and_utc()));
        }
    }
    None
}

/// The instants a .NET `DateTime` can hold (years 1 to 9999): what every store and binding can
/// write and read back (the Data column's format, the SQL columns, the C ABI's ticks).
pub fn in_dotnet_range(t: DateTime<Utc>) -> bool {
    use chrono::Datelike;
    (1..=9999).contains(&t.year())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_like_system_text_json() {
        let t = parse("2024-05-01T10:00:00.1234567Z").unwrap();
        assert_eq!(format_utc(t), "2024-05-01T10:00:00.1234567Z");
        let t = parse("2024-05-01T10:00:00.1200000Z").unwrap();
        assert_eq!(format_utc(t), "2024-05-01T10:00:00.12Z");
        let t = parse("2024-05-01T10:00:00Z").unwrap();
        assert_eq!(format_utc(t), "2024-05-01T10:00:00Z");
    }

    #[test]
    fn reads_offsets_unspecified_kind_and_long_fractions() {
        assert_eq!(
            format_utc(parse("2024-05-01T12:00:00+02:00").unwrap()),
            "2024-05-01T10:00:00Z"
        );
        assert_eq!(
            format_utc(parse("2024-05-01T10:00:00.5").unwrap()),
            "2024-05-01T10:00:00.5Z"
        );
        assert_eq!(
            format_utc(parse("2024-05-01T10:00:00.123456789Z").unwrap()),
            "2024-05-01T10:00:00.1234567Z"
        );
        assert!(parse("yesterday").is_none());
        assert!(parse("").is_none());
    }
}
