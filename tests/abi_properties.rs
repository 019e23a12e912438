//! Hostile input at the C ABI: every export driven with arbitrary bytes, lengths, NULLs and enum
//! values. Whatever comes in, no call panics (RTC_RESULT_PANIC), every result is a known code,
//! outputs are written only on success, and the service keeps working.

use proptest::prelude::*;
use refresh_token_core::ffi::builder::*;
use refresh_token_core::ffi::config::{
    rtc_client, rtc_client_init, rtc_service_options, rtc_service_options_init,
};
use refresh_token_core::ffi::error::{
    rtc_error, rtc_error_code, rtc_error_free, rtc_error_message,
};
use refresh_token_core::ffi::result::rtc_result;
use refresh_token_core::ffi::service::*;
use refresh_token_core::ffi::text::{rtc_str, rtc_string_free};
use std::ffi::c_char;
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicU64, Ordering};

static CASES: AtomicU64 = AtomicU64::new(0);

struct Svc(*mut rtc_service);
unsafe impl Sync for Svc {}
unsafe impl Send for Svc {}

fn service() -> &'static Svc {
    static S: std::sync::OnceLock<Svc> = std::sync::OnceLock::new();
    S.get_or_init(|| {
        let (mut b, mut svc) = (null_mut(), null_mut());
        assert_eq!(
            rtc_service_builder_new(null(), &mut b, null_mut()),
            rtc_result::RTC_RESULT_OK
        );
        let mut c: rtc_client = unsafe { std::mem::zeroed() };
        rtc_client_init(&mut c, "app".as_ptr().cast(), 3);
        c.allow_offline_access = 1;
        assert_eq!(
            rtc_service_builder_add_client(b, &c, null_mut()),
            rtc_result::RTC_RESULT_OK
        );
        assert_eq!(
            rtc_service_builder_build(b, &mut svc, null_mut()),
            rtc_result::RTC_RESULT_OK
        );
        Svc(svc)
    })
}

/// An argument: NULL, or bytes with a length up to (never beyond) the buffer.
#[derive(Debug, Clone)]
enum Arg {
    Null { claimed_len: usize },
    Bytes { bytes: Vec<u8>, len: usize },
}

impl Arg {
    fn ptr(&self) -> (*const c_char, usize) {
        match self {
            Arg::Null { claimed_len } => (null(), *claimed_len),
            Arg::Bytes { bytes, len } => (bytes.as_ptr().cast(), *len),
        }
    }
}

fn arg() -> impl Strategy<Value = Arg> {
    prop_oneof![
        1 => (0usize..4).prop_map(|claimed_len| Arg::Null { claimed_len }),
        6 => prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200),
            "[ -~]{0,120}".prop_map(String::into_bytes),
            Just(b"app".to_vec()),
            Just(br#"{"SubjectId":"alice","AuthorizedScopes":["offline_access"]}"#.to_vec()),
            Just(br#"{"CreationTime":"2026-01-01T00:00:00Z","Lifetime":60,"Subject":{"Claims":[{"Type":"sub","Value":"a"}]},"ClientId":"app"}"#.to_vec()),
        ]
        .prop_flat_map(|bytes| {
            let n = bytes.len();
            (Just(bytes), 0..=n)
        })
        .prop_map(|(bytes, len)| Arg::Bytes { bytes, len }),
    ]
}

fn known(r: rtc_result) {
    assert_ne!(r, rtc_result::RTC_RESULT_PANIC, "a call panicked");
    CASES.fetch_add(1, Ordering::Relaxed);
}

/// Checks the result, that an error object came with every failure, and frees it.
fn finish(r: rtc_result, err: *mut rtc_error) {
    known(r);
    if r == rtc_result::RTC_RESULT_OK {
        assert!(err.is_null(), "an error object on success");
    } else {
        assert_eq!(rtc_error_code(err), r);
        assert!(!rtc_error_message(err).is_null());
        rtc_error_free(err);
    }
}

/// A pointer no export may write to on failure.
fn sentinel() -> *mut c_char {
    std::ptr::dangling_mut()
}

fn take(r: rtc_result, out: *mut c_char) {
    if r == rtc_result::RTC_RESULT_OK {
        assert_ne!(out, sentinel());
        rtc_string_free(out);
    } else {
        assert_eq!(out, sentinel(), "an output was written on failure");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn create_validate_refresh_update_revoke_never_panic(client in arg(), a in arg(), b in arg(), c in arg(), must in any::<u8>()) {
        let svc = service().0;
        let (cp, cl) = client.ptr();
        let (ap, al) = a.ptr();
        let (bp, bl) = b.ptr();
        let (xp, xl) = c.ptr();

        let mut err = null_mut();
        let mut out = sentinel();
        let r = rtc_service_create(svc, cp, cl, ap, al, &mut out, null_mut(), &mut err);
        take(r, out);
        finish(r, err);

        let mut err = null_mut();
        let r = rtc_service_validate(svc, cp, cl, ap, al, null_mut(), &mut err);
        finish(r, err);

        let (mut err, mut out) = (null_mut(), sentinel());
        let r = rtc_service_refresh(svc, cp, cl, ap, al, bp, bl, xp, xl, &mut out, null_mut(), null_mut(), null_mut(), &mut err);
        take(r, out);
        finish(r, err);

        // The struct form, with the same arguments and any want flags.
        let mut req = std::mem::MaybeUninit::uninit();
        refresh_token_core::ffi::request::rtc_refresh_request_init(req.as_mut_ptr(), cp, cl, ap, al);
        // SAFETY: just initialised by rtc_refresh_request_init.
        let mut req = unsafe { req.assume_init() };
        req.resource = rtc_str { ptr: bp, len: bl };
        req.new_access_token_json = rtc_str { ptr: xp, len: xl };
        req.want_token_json = must;
        req.want_access_token_json = must.rotate_left(1);
        let mut resp = refresh_token_core::ffi::request::rtc_refresh_response {
            handle: sentinel(),
            rotated: false,
            token_json: null_mut(),
            access_token_json: null_mut(),
        };
        let mut err = null_mut();
        let r = refresh_token_core::ffi::request::rtc_service_refresh_with(svc, &req, &mut resp, &mut err);
        if r != rtc_result::RTC_RESULT_OK {
            prop_assert_eq!(resp.handle, sentinel(), "a failed call wrote its response");
            resp.handle = null_mut();
        }
        refresh_token_core::ffi::request::rtc_refresh_response_free(&mut resp);
        finish(r, err);

        let (mut err, mut out) = (null_mut(), sentinel());
        let r = rtc_service_update(svc, cp, cl, ap, al, bp, bl, must, &mut out, null_mut(), &mut err);
        take(r, out);
        finish(r, err);

        let mut err = null_mut();
        let r = rtc_service_revoke(svc, cp, cl, ap, al, null_mut(), &mut err);
        finish(r, err);

        let mut err = null_mut();
        let r = rtc_service_remove_refresh_tokens(svc, ap, al, cp, cl, null_mut(), &mut err);
        finish(r, err);

        let (mut err, mut out) = (null_mut(), sentinel());
        let r = refresh_token_core::ffi::rtc_grant_key(ap, al, &mut out, &mut err);
        take(r, out);
        finish(r, err);
    }

    #[test]
    fn client_settings_and_options_with_any_values_never_panic(
        id in arg(), usage in any::<u32>(), expiration in any::<u32>(), flags in any::<[u8; 2]>(),
        lifetimes in any::<[i32; 3]>(), policy in any::<u32>(), batch in any::<u32>(), numbers in any::<[u32; 3]>(),
    ) {
        let (ip, il) = id.ptr();
        let client = rtc_client {
            client_id: rtc_str { ptr: ip, len: il },
            allow_offline_access: flags[0],
            refresh_token_usage: usage,
            refresh_token_expiration: expiration,
            absolute_refresh_token_lifetime: lifetimes[0],
            sliding_refresh_token_lifetime: lifetimes[1],
            update_access_token_claims_on_refresh: flags[1],
            access_token_lifetime: lifetimes[2],
            reuse_window_seconds: lifetimes[0] % 4 - 2,
        };
        let mut err = null_mut();
        let r = rtc_service_set_client(service().0, &client, &mut err);
        finish(r, err);
        if usage > 1 || expiration > 1 {
            // The id is checked first; with a usable id the unknown enum is named.
            let usable_id = matches!(&id, Arg::Bytes { bytes, len } if *len > 0 && std::str::from_utf8(&bytes[..*len]).is_ok());
            if usable_id {
                prop_assert_eq!(r, rtc_result::RTC_RESULT_INVALID_ENUM);
            } else {
                prop_assert_ne!(r, rtc_result::RTC_RESULT_OK);
            }
        }

        let mut o: rtc_service_options = unsafe { std::mem::zeroed() };
        rtc_service_options_init(&mut o);
        o.accept_consumed_policy = policy;
        o.cleanup_batch_size = batch;
        o.max_handle_length = numbers[0];
        o.grace_seconds = numbers[1];
        o.consumed_token_cleanup_delay = numbers[2];
        let (mut b, mut err) = (null_mut(), null_mut());
        let r = rtc_service_builder_new(&o, &mut b, &mut err);
        finish(r, err);
        if r == rtc_result::RTC_RESULT_OK {
            let (mut s, mut err) = (null_mut(), null_mut());
            let r = rtc_service_builder_build(b, &mut s, &mut err);
            finish(r, err);
            rtc_service_free(s);
        } else {
            prop_assert!(b.is_null(), "a builder was written on failure");
        }
    }
}

#[test]
fn the_service_still_works_after_the_hostile_cases() {
    // Runs after (or beside) the properties on the same shared service.
    let svc = service().0;
    let req = r#"{"SubjectId":"bob","AuthorizedScopes":["offline_access"]}"#;
    let mut h: *mut c_char = null_mut();
    let mut c: rtc_client = unsafe { std::mem::zeroed() };
    rtc_client_init(&mut c, "app".as_ptr().cast(), 3);
    c.allow_offline_access = 1;
    assert_eq!(
        rtc_service_set_client(svc, &c, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
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
    let len = unsafe { std::ffi::CStr::from_ptr(h) }.to_bytes().len();
    assert_eq!(
        rtc_service_validate(
            svc,
            "app".as_ptr().cast(),
            3,
            h,
            len,
            null_mut(),
            null_mut()
        ),
        rtc_result::RTC_RESULT_OK
    );
    rtc_string_free(h);
    println!(
        "hostile ABI cases so far: {} calls, none panicked",
        CASES.load(Ordering::Relaxed)
    );
}
