//! A host clock that answers something no store can hold (RTC_TIME_NONE, or any instant outside
//! .NET's DateTime range) is not taken as a date: that reading falls back to the system clock.
//! Before, RTC_TIME_NONE was "year -27,258", so a token that had expired an hour earlier was
//! accepted.

use refresh_token_core::ffi::time::rtc_timestamp;
use refresh_token_core::ffi::*;
use std::ffi::{c_char, c_void};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicI64, Ordering};

/// What the host clock answers next (100 ns ticks since the Unix epoch).
static NOW: AtomicI64 = AtomicI64::new(0);

unsafe extern "C" fn host_clock(_: *mut c_void) -> rtc_timestamp {
    NOW.load(Ordering::SeqCst)
}

fn ticks_of_system_now() -> i64 {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    (d.as_nanos() / 100) as i64
}

#[test]
fn an_unusable_clock_reading_is_the_system_clock_not_a_date_before_every_expiry() {
    const HOUR: i64 = 3600 * 10_000_000;
    let (mut b, mut svc) = (null_mut(), null_mut());
    assert_eq!(
        rtc_service_builder_new(null(), &mut b, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    assert_eq!(
        rtc_service_builder_set_clock(b, Some(host_clock), null_mut(), None, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    let mut c: rtc_client = unsafe { std::mem::zeroed() };
    rtc_client_init(&mut c, "app".as_ptr().cast(), 3);
    c.allow_offline_access = 1;
    c.absolute_refresh_token_lifetime = 60;
    assert_eq!(
        rtc_service_builder_add_client(b, &c, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    assert_eq!(
        rtc_service_builder_build(b, &mut svc, null_mut()),
        rtc_result::RTC_RESULT_OK
    );

    // Created an hour ago (by the host's clock) with a 60-second lifetime.
    NOW.store(ticks_of_system_now() - HOUR, Ordering::SeqCst);
    let req = r#"{"SubjectId":"alice","AuthorizedScopes":["offline_access"]}"#;
    let mut h: *mut c_char = null_mut();
    assert_eq!(
        rtc_service_create(
            svc,
            "app".as_ptr().cast(),
            3,
            req.as_ptr().cast(),
            req.len(),
            &mut h,
            null_mut(),
            null_mut()
        ),
        rtc_result::RTC_RESULT_OK
    );
    let handle = unsafe { std::ffi::CStr::from_ptr(h) }.to_bytes().to_vec();
    rtc_string_free(h);
    let validate = |err: *mut *mut rtc_error| {
        rtc_service_validate(
            svc,
            "app".as_ptr().cast(),
            3,
            handle.as_ptr().cast(),
            handle.len(),
            null_mut(),
            err,
        )
    };

    // Every unusable reading: the system clock says the token expired 59 minutes ago.
    let year_10000 = 253_402_300_800 * 10_000_000; // 10000-01-01T00:00:00Z
    for unusable in [
        RTC_TIME_NONE_VALUE,
        i64::MAX,
        -62_135_596_801 * 10_000_000,
        year_10000,
    ] {
        NOW.store(unusable, Ordering::SeqCst);
        let mut err: *mut rtc_error = null_mut();
        let r = validate(&mut err);
        assert_eq!(
            r,
            rtc_result::RTC_RESULT_INVALID_GRANT,
            "clock reading {unusable}"
        );
        assert_eq!(
            rtc_error_reason(err),
            rtc_reason::RTC_REASON_EXPIRED,
            "clock reading {unusable}"
        );
        rtc_error_free(err);
    }
    // A usable reading inside the lifetime is taken as it is.
    NOW.store(
        ticks_of_system_now() - HOUR + 30 * 10_000_000,
        Ordering::SeqCst,
    );
    let r = validate(null_mut());
    assert_eq!(r, rtc_result::RTC_RESULT_OK);
    rtc_service_free(svc);
}

/// `RTC_TIME_NONE` of the header (INT64_MIN).
const RTC_TIME_NONE_VALUE: i64 = i64::MIN;
