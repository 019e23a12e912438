//! Panic containment at the C ABI: a panic forced inside an export (test-only switch) becomes
//! RTC_RESULT_PANIC with an error object, outputs stay untouched, and the same service keeps
//! serving on every thread.

use refresh_token_core::ffi::config::{rtc_client, rtc_client_init};
use refresh_token_core::ffi::error::{
    rtc_error, rtc_error_code, rtc_error_free, rtc_error_retryable,
};
use refresh_token_core::ffi::result::rtc_result;
use refresh_token_core::ffi::service::*;
use refresh_token_core::ffi::testing::panic_in_next_call;
use refresh_token_core::ffi::text::rtc_string_free;
use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};

struct Svc(*mut rtc_service);
unsafe impl Send for Svc {}
unsafe impl Sync for Svc {}

fn build() -> Svc {
    let (mut b, mut svc) = (null_mut(), null_mut());
    assert_eq!(
        rtc_service_builder_new(null(), &mut b, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    let mut c: rtc_client = unsafe { std::mem::zeroed() };
    rtc_client_init(&mut c, "app".as_ptr().cast(), 3);
    c.allow_offline_access = 1;
    c.refresh_token_usage = 1;
    assert_eq!(
        rtc_service_builder_add_client(b, &c, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    assert_eq!(
        rtc_service_builder_build(b, &mut svc, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    Svc(svc)
}

fn create(svc: &Svc) -> String {
    let req = r#"{"SubjectId":"alice","AuthorizedScopes":["offline_access"]}"#;
    let mut h: *mut c_char = null_mut();
    assert_eq!(
        rtc_service_create(
            svc.0,
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
    let s = unsafe { CStr::from_ptr(h) }.to_str().unwrap().to_owned();
    rtc_string_free(h);
    s
}

fn refresh(svc: &Svc, h: &str, err: *mut *mut rtc_error) -> (rtc_result, *mut c_char) {
    let mut out: *mut c_char = std::ptr::dangling_mut(); // a sentinel: written only on success
    let r = rtc_service_refresh(
        svc.0,
        "app".as_ptr().cast(),
        3,
        h.as_ptr().cast(),
        h.len(),
        null(),
        0,
        null(),
        0,
        &mut out,
        null_mut(),
        null_mut(),
        null_mut(),
        err,
    );
    (r, out)
}

#[test]
fn a_panic_inside_an_export_is_a_result_code_and_the_service_keeps_serving() {
    let svc = build();
    let handle = create(&svc);

    panic_in_next_call();
    let mut err: *mut rtc_error = null_mut();
    let (r, out) = refresh(&svc, &handle, &mut err);
    assert_eq!(r, rtc_result::RTC_RESULT_PANIC);
    assert_eq!(out, std::ptr::dangling_mut(), "outputs stay untouched");
    assert_eq!(rtc_error_code(err), rtc_result::RTC_RESULT_PANIC);
    assert!(!rtc_error_retryable(err));
    rtc_error_free(err);

    // The token was not touched and the same service keeps serving, here and on other threads.
    let (r, out) = refresh(&svc, &handle, null_mut());
    assert_eq!(r, rtc_result::RTC_RESULT_OK);
    rtc_string_free(out);
    std::thread::scope(|s| {
        for _ in 0..4 {
            s.spawn(|| {
                for _ in 0..50 {
                    let h = create(&svc);
                    let (r, out) = refresh(&svc, &h, null_mut());
                    assert_eq!(r, rtc_result::RTC_RESULT_OK);
                    rtc_string_free(out);
                }
            });
        }
    });
    rtc_service_free(svc.0);
}
