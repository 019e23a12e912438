//! Instants in plans and observations: `rtc_timestamp` ticks (100 ns since 1970-01-01T00:00:00Z, the
//! C ABI's unit), so that no runner parses or formats a time; the judge alone reads RFC 3339.

use chrono::{DateTime, Utc};

use crate::fields::Res;

const TICKS_PER_SECOND: i64 = 10_000_000;

/// An RFC 3339 time as ticks.
pub fn parse(text: &str) -> Res<i64> {
    let t = DateTime::parse_from_rfc3339(text)
        .map_err(|_| format!("'{text}' is not an RFC 3339 time"))?
        .with_timezone(&Utc);
    to_ticks(t).ok_or_else(|| format!("'{text}' is out of range"))
}

pub fn to_ticks(t: DateTime<Utc>) -> Option<i64> {
    t.timestamp()
        .checked_mul(TICKS_PER_SECOND)?
        .checked_add(i64::from(t.timestamp_subsec_nanos() / 100))
}

/// Seconds (possibly fractional) as ticks, rounded to the nearest tick.
pub fn seconds(s: f64) -> Res<i64> {
    let t = (s * TICKS_PER_SECOND as f64).round();
    if t.is_finite() && t.abs() < i64::MAX as f64 {
        Ok(t as i64)
    } else {
        Err(format!("{s} seconds is out of range"))
    }
}

pub fn whole_seconds(s: i64) -> i64 {
    s.saturating_mul(TICKS_PER_SECOND)
}

/// Ticks shown as RFC 3339 for a failure message.
pub fn show(ticks: i64) -> String {
    let secs = ticks.div_euclid(TICKS_PER_SECOND);
    let nanos = (ticks.rem_euclid(TICKS_PER_SECOND) * 100) as u32;
    DateTime::from_timestamp(secs, nanos)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::AutoSi, true))
        .unwrap_or_else(|| format!("{ticks} ticks"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_zones_and_fractions_as_instants() {
        let utc = parse("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(utc, 1_767_225_600 * TICKS_PER_SECOND);
        assert_eq!(parse("2026-01-01T01:00:00+01:00").unwrap(), utc);
        assert_eq!(parse("2026-01-01T00:00:00.5Z").unwrap(), utc + 5_000_000);
        assert!(parse("2026-01-01 00:00").is_err());
        assert_eq!(show(utc + 5_000_000), "2026-01-01T00:00:00.500Z");
    }

    #[test]
    fn fractional_seconds_round_to_ticks() {
        assert_eq!(seconds(1.5).unwrap(), 15_000_000);
        assert_eq!(seconds(0.00000004).unwrap(), 0);
        assert!(seconds(f64::NAN).is_err());
        assert!(seconds(1e300).is_err());
    }
}
