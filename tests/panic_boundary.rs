//! Panic containment at the C ABI: a panic forced inside an export (test-only switch) becomes
//! RTC_RESULT_PANIC with an error object, outputs stay untouched, and the same service keeps
//! serving on every thread.

use refresh_token_core::ffi::builder::*;
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

/// Arms the switch, runs one export, and checks that the switch was used (the export did go
/// through the boundary): a second call of the same export answers normally.
fn panicking<T>(call: impl FnOnce() -> T) -> T {
    panic_in_next_call();
    call()
}

fn text(p: *const c_char) -> String {
    unsafe { CStr::from_ptr(p) }.to_str().unwrap().to_owned()
}

#[test]
fn every_group_of_exports_answers_a_panic_with_its_documented_value() {
    use refresh_token_core::ffi::*;

    // Version functions: "" and ABI 0 (a binding refuses to load), then the real answers.
    assert_eq!(text(panicking(|| rtc_version())), "");
    assert_eq!(text(rtc_version()), env!("CARGO_PKG_VERSION"));
    assert_eq!(panicking(|| rtc_abi_version()), 0);
    assert_eq!(rtc_abi_version(), RTC_ABI_VERSION);

    // Values: the struct is left as it was.
    let mut o: rtc_service_options = unsafe { std::mem::zeroed() };
    panicking(|| rtc_service_options_init(&mut o));
    assert_eq!(o.cleanup_batch_size, 0, "untouched by the panicking call");
    rtc_service_options_init(&mut o);
    assert_eq!(o.cleanup_batch_size, 100);
    let mut c: rtc_client = unsafe { std::mem::zeroed() };
    panicking(|| rtc_client_init(&mut c, "app".as_ptr().cast(), 3));
    assert_eq!(
        c.access_token_lifetime, 0,
        "untouched by the panicking call"
    );

    // Builder: RTC_RESULT_PANIC, no builder written; its free keeps the builder, a second frees.
    let (mut b, mut err) = (std::ptr::dangling_mut(), null_mut());
    let r = panicking(|| rtc_service_builder_new(null(), &mut b, &mut err));
    assert_eq!(r, rtc_result::RTC_RESULT_PANIC);
    assert_eq!(b, std::ptr::dangling_mut(), "no builder written");
    assert_eq!(rtc_error_code(err), rtc_result::RTC_RESULT_PANIC);

    // Errors: each accessor answers as for NULL, then reads the real error.
    assert_eq!(
        panicking(|| rtc_error_code(err)),
        rtc_result::RTC_RESULT_NULL_ARGUMENT
    );
    assert_eq!(
        panicking(|| rtc_error_reason(err)),
        rtc_reason::RTC_REASON_NONE
    );
    assert!(panicking(|| rtc_error_oauth_error(err)).is_null());
    assert!(!panicking(|| rtc_error_retryable(err)));
    assert_eq!(text(panicking(|| rtc_error_message(err))), "");
    assert!(text(rtc_error_message(err)).contains("panic"));
    assert_eq!(text(panicking(|| rtc_result_name(200))), "unknown");
    assert_eq!(text(rtc_result_name(200)), "invalid_grant");
    panicking(|| rtc_error_free(err)); // not freed: the error is still readable
    assert_eq!(rtc_error_code(err), rtc_result::RTC_RESULT_PANIC);
    rtc_error_free(err);

    let mut b = null_mut();
    assert_eq!(
        rtc_service_builder_new(null(), &mut b, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    let r = panicking(|| rtc_service_builder_use_sqlite(b, "x".as_ptr().cast(), 1, null_mut()));
    assert_eq!(r, rtc_result::RTC_RESULT_PANIC);
    panicking(|| rtc_service_builder_free(b)); // kept
    rtc_service_builder_free(b);

    // Service and grant key: RTC_RESULT_PANIC, outputs untouched.
    let svc = build();
    let (mut expired, mut consumed) = (7u64, 7u64);
    let r = panicking(|| rtc_service_cleanup(svc.0, &mut expired, &mut consumed, null_mut()));
    assert_eq!((r, expired, consumed), (rtc_result::RTC_RESULT_PANIC, 7, 7));
    let mut key: *mut c_char = std::ptr::dangling_mut();
    let r = panicking(|| rtc_grant_key("h".as_ptr().cast(), 1, &mut key, null_mut()));
    assert_eq!(r, rtc_result::RTC_RESULT_PANIC);
    assert_eq!(key, std::ptr::dangling_mut());
    assert_eq!(
        rtc_grant_key("h".as_ptr().cast(), 1, &mut key, null_mut()),
        rtc_result::RTC_RESULT_OK
    );

    // Strings: a panicking free keeps the string (readable), the next one frees it.
    panicking(|| rtc_string_free(key));
    assert_eq!(
        text(key).len(),
        44,
        "the key (base64 SHA-256) is still there"
    );
    rtc_string_free(key);

    // Host-callback sinks: RTC_RESULT_PANIC, where a NULL sink is otherwise NULL_ARGUMENT.
    assert_eq!(
        panicking(|| rtc_row_sink_push(null_mut(), null())),
        rtc_result::RTC_RESULT_PANIC
    );
    assert_eq!(
        rtc_row_sink_push(null_mut(), null()),
        rtc_result::RTC_RESULT_NULL_ARGUMENT
    );
    assert_eq!(
        panicking(|| rtc_string_sink_set(null_mut(), null(), 0)),
        rtc_result::RTC_RESULT_PANIC
    );

    // Completions of the asynchronous store: RTC_RESULT_PANIC, where an unknown id is otherwise
    // INVALID_ARGUMENT.
    assert_eq!(
        panicking(|| rtc_completion_finish(1 << 62, 0, 0)),
        rtc_result::RTC_RESULT_PANIC
    );
    assert_eq!(
        rtc_completion_finish(1 << 62, 0, 0),
        rtc_result::RTC_RESULT_INVALID_ARGUMENT
    );
    assert_eq!(
        panicking(|| rtc_completion_push_row(1 << 62, null())),
        rtc_result::RTC_RESULT_PANIC
    );

    // A `_begin` operation: RTC_RESULT_PANIC from the call, and its done callback never runs.
    unsafe extern "C" fn never(
        _: *mut std::ffi::c_void,
        _: rtc_result,
        _: *const rtc_outputs,
        _: *const rtc_error,
    ) {
        panic!("done must not be called for a call that failed");
    }
    let r = panicking(|| {
        rtc_service_validate_begin(
            svc.0,
            "app".as_ptr().cast(),
            3,
            "h".as_ptr().cast(),
            1,
            Some(never),
            null_mut(),
            null_mut(),
        )
    });
    assert_eq!(r, rtc_result::RTC_RESULT_PANIC);
    let r = panicking(|| {
        rtc_service_update_token_begin(
            svc.0,
            "app".as_ptr().cast(),
            3,
            "h".as_ptr().cast(),
            1,
            null(),
            null(),
            0,
            0,
            Some(never),
            null_mut(),
            null_mut(),
        )
    });
    assert_eq!(r, rtc_result::RTC_RESULT_PANIC);

    // Kept tokens: keeping answers NULL (nothing kept), freeing ignores, and "does this update
    // write" answers true, the safe side: the host then sends its access tokens.
    assert!(panicking(|| rtc_token_keep(std::ptr::dangling())).is_null());
    panicking(|| rtc_token_free(std::ptr::dangling_mut()));
    assert!(panicking(|| rtc_update_writes(0, 1, 0)));
    assert!(
        !rtc_update_writes(0, 1, 0),
        "ReUse + Absolute writes nothing"
    );

    // And the service frees only when no panic is forced.
    panicking(|| rtc_service_free(svc.0));
    let h = create(&svc);
    assert!(!h.is_empty(), "the service survived its panicking free");
    rtc_service_free(svc.0);
}
