//! Instants across the ABI: `rtc_timestamp`, 100 ns ticks since 1970-01-01T00:00:00Z (the .NET tick
//! size, so that no precision is lost), with `RTC_TIME_NONE` for "no value".

use chrono::{DateTime, Utc};

/// 100 ns ticks since the Unix epoch, UTC. `RTC_TIME_NONE` means "no value".
pub type rtc_timestamp = i64;

/// "No value" for an `rtc_timestamp` (a NULL column).
/// cbindgen:ignore
pub const RTC_TIME_NONE: rtc_timestamp = i64::MIN;

const TICKS_PER_SECOND: i64 = 10_000_000;

pub(crate) fn to_ticks(t: DateTime<Utc>) -> rtc_timestamp {
    t.timestamp().saturating_mul(TICKS_PER_SECOND) + i64::from(t.timestamp_subsec_nanos() / 100)
}

pub(crate) fn opt_to_ticks(t: Option<DateTime<Utc>>) -> rtc_timestamp {
    t.map_or(RTC_TIME_NONE, to_ticks)
}

/// `None` for ticks outside the representable range.
pub(crate) fn from_ticks(ticks: rtc_timestamp) -> Option<DateTime<Utc>> {
    let secs = ticks.div_euclid(TICKS_PER_SECOND);
    let nanos = (ticks.rem_euclid(TICKS_PER_SECOND) * 100) as u32;
    DateTime::from_timestamp(secs, nanos)
}

/// A host clock outside .NET's `DateTime` range is unusable.
pub(crate) use crate::format::datetime::in_dotnet_range;
