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
    let mut out = String::with_capacity(28);
    write_utc(&mut out, t);
    out
}

/// Appends [`format_utc`]'s text. Digits by hand: a row carries up to a dozen dates, and
/// chrono's `format` (a parsed pattern, the formatting machinery, a `String` each) was 8 % of a
/// refresh.
pub fn write_utc(out: &mut String, t: DateTime<Utc>) {
    use chrono::Datelike;
    let t = truncate_to_tick(t);
    let year = t.year();
    if !(0..=9999).contains(&year) {
        // Never stored (`in_dotnet_range` refuses such dates first); written as chrono does.
        let _ = write!(out, "{}", t.format("%Y-%m-%dT%H:%M:%S"));
    } else {
        let mut text = *b"0000-00-00T00:00:00";
        let mut put = |at: usize, width: u32, value: u32| {
            for i in 0..width {
                let digit = value / 10u32.pow(width - 1 - i) % 10;
                text[at + i as usize] = b'0' + digit as u8;
            }
        };
        put(0, 4, year as u32);
        put(5, 2, t.month());
        put(8, 2, t.day());
        put(11, 2, t.hour());
        put(14, 2, t.minute());
        put(17, 2, t.second());
        out.push_str(std::str::from_utf8(&text).unwrap_or_default());
    }
    let mut ticks = t.nanosecond() % 1_000_000_000 / 100;
    if ticks != 0 {
        let mut digits = 7;
        while ticks % 10 == 0 {
            ticks /= 10;
            digits -= 1;
        }
        let mut frac = *b".0000000";
        for i in (1..=digits).rev() {
            frac[i] = b'0' + (ticks % 10) as u8;
            ticks /= 10;
        }
        out.push_str(std::str::from_utf8(&frac[..=digits]).unwrap_or_default());
    }
    out.push('Z');
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

    /// The digits by hand against chrono's formatting (what `format_utc` did before).
    fn by_chrono(t: DateTime<Utc>) -> String {
        let t = truncate_to_tick(t);
        let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
        let ticks = t.nanosecond() % 1_000_000_000 / 100;
        if ticks != 0 {
            let mut frac = format!("{ticks:07}");
            while frac.ends_with('0') {
                frac.pop();
            }
            out.push('.');
            out.push_str(&frac);
        }
        out.push('Z');
        out
    }

    proptest::proptest! {
        #[test]
        fn hand_written_digits_match_chrono(
            secs in -62_135_596_800i64..253_402_300_800i64,
            nanos in 0u32..1_000_000_000,
            round in 0usize..4,
        ) {
            // Round some to whole seconds, milliseconds and ticks, as real times often are.
            let nanos = [nanos, 0, nanos / 1_000_000 * 1_000_000, nanos / 100 * 100][round];
            let t = DateTime::from_timestamp(secs, nanos).unwrap();
            proptest::prop_assert_eq!(format_utc(t), by_chrono(t));
        }
    }

    #[test]
    fn years_outside_dotnet_s_range_are_still_written() {
        let t = DateTime::from_timestamp(253_402_300_800 + 86_400, 5_000).unwrap();
        assert_eq!(format_utc(t), by_chrono(t));
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
