//! A validated token kept for its update (`rtc_token`, `rtc_service_update_token_begin`): the
//! update takes the token as validated with the host's access tokens, and reads those only when
//! it writes. Through the C ABI, on the built-in in-memory store (its `_begin` operations answer
//! inside the call).

use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};

use refresh_token_core::ffi::builder::*;
use refresh_token_core::ffi::config::{rtc_client, rtc_client_init};
use refresh_token_core::ffi::error::rtc_error;
use refresh_token_core::ffi::operation::rtc_outputs;
use refresh_token_core::ffi::result::rtc_result;
use refresh_token_core::ffi::service::*;
use refresh_token_core::ffi::text::rtc_string_free;
use refresh_token_core::ffi::token::{
    rtc_token, rtc_token_free, rtc_token_keep, rtc_update_writes,
};

const REUSE: &str = "web";
const ONE_TIME: &str = "mobile";
const SLIDING: &str = "tv";

fn service() -> *mut rtc_service {
    let (mut b, mut svc) = (null_mut(), null_mut());
    assert_eq!(
        rtc_service_builder_new(null(), &mut b, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    for (id, usage, expiration) in [(REUSE, 0, 1), (ONE_TIME, 1, 1), (SLIDING, 0, 0)] {
        let mut c: rtc_client = unsafe { std::mem::zeroed() };
        rtc_client_init(&mut c, id.as_ptr().cast(), id.len());
        c.allow_offline_access = 1;
        c.refresh_token_usage = usage;
        c.refresh_token_expiration = expiration;
        assert_eq!(
            rtc_service_builder_add_client(b, &c, null_mut()),
            rtc_result::RTC_RESULT_OK
        );
    }
    assert_eq!(
        rtc_service_builder_build(b, &mut svc, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    svc
}

fn take(s: *mut c_char) -> String {
    assert!(!s.is_null());
    let text = unsafe { CStr::from_ptr(s) }.to_str().unwrap().to_owned();
    rtc_string_free(s);
    text
}

fn create(svc: *mut rtc_service, client: &str) -> String {
    let req = r#"{"SubjectId":"alice","AuthorizedScopes":["openid","offline_access"]}"#;
    let mut out = null_mut();
    let r = rtc_service_create(
        svc,
        client.as_ptr().cast(),
        client.len(),
        req.as_ptr().cast(),
        req.len(),
        &mut out,
        null_mut(),
        null_mut(),
    );
    assert_eq!(r, rtc_result::RTC_RESULT_OK);
    take(out)
}

/// The stored record of a handle, or the refusal.
fn validate(svc: *mut rtc_service, client: &str, handle: &str) -> Result<String, rtc_result> {
    let mut json = null_mut();
    let r = rtc_service_validate(
        svc,
        client.as_ptr().cast(),
        client.len(),
        handle.as_ptr().cast(),
        handle.len(),
        &mut json,
        null_mut(),
    );
    if r == rtc_result::RTC_RESULT_OK {
        Ok(take(json))
    } else {
        Err(r)
    }
}

/// What a done callback saw: the result, the handle and `rotated`, and the token kept from it.
struct Seen {
    result: Option<rtc_result>,
    handle: Option<String>,
    rotated: bool,
    token: *mut rtc_token,
}

impl Default for Seen {
    fn default() -> Self {
        Self {
            result: None,
            handle: None,
            rotated: false,
            token: null_mut(),
        }
    }
}

unsafe extern "C" fn seen(
    ud: *mut c_void,
    result: rtc_result,
    outputs: *const rtc_outputs,
    _error: *const rtc_error,
) {
    let seen = &mut *(ud as *mut Seen);
    seen.result = Some(result);
    if let Some(o) = outputs.as_ref() {
        seen.handle =
            (!o.handle.is_null()).then(|| CStr::from_ptr(o.handle).to_str().unwrap().to_owned());
        seen.rotated = o.rotated;
        seen.token = rtc_token_keep(o.token);
    }
}

/// Validates with the `_begin` form and keeps the token it lends.
fn validate_and_keep(svc: *mut rtc_service, client: &str, handle: &str) -> *mut rtc_token {
    let mut s = Seen::default();
    let r = rtc_service_validate_begin(
        svc,
        client.as_ptr().cast(),
        client.len(),
        handle.as_ptr().cast(),
        handle.len(),
        Some(seen),
        &mut s as *mut Seen as *mut c_void,
        null_mut(),
    );
    assert_eq!(r, rtc_result::RTC_RESULT_OK);
    assert_eq!(
        s.result,
        Some(rtc_result::RTC_RESULT_OK),
        "the memory store answers at once"
    );
    assert!(!s.token.is_null(), "a validation lends its token");
    s.token
}

/// `rtc_service_update_token_begin`: the call's own result, or the done callback's outputs.
fn update(
    svc: *mut rtc_service,
    client: &str,
    handle: &str,
    token: *const rtc_token,
    access_tokens: Option<&str>,
) -> Result<(String, bool), rtc_result> {
    let mut s = Seen::default();
    let (at, at_len) = access_tokens.map_or((null(), 0), |t| (t.as_ptr().cast(), t.len()));
    let r = rtc_service_update_token_begin(
        svc,
        client.as_ptr().cast(),
        client.len(),
        handle.as_ptr().cast(),
        handle.len(),
        token,
        at,
        at_len,
        0,
        Some(seen),
        &mut s as *mut Seen as *mut c_void,
        null_mut(),
    );
    if r != rtc_result::RTC_RESULT_OK {
        assert!(s.result.is_none(), "a call that fails never calls done");
        return Err(r);
    }
    assert!(s.token.is_null(), "an update lends no token");
    match s.result.unwrap() {
        rtc_result::RTC_RESULT_OK => Ok((s.handle.unwrap(), s.rotated)),
        other => Err(other),
    }
}

/// The access tokens a token endpoint re-issued: one, with a lifetime to recognise.
const REISSUED: &str = r#"{"":{"Audiences":["api1"],"Issuer":"https://idp.example","CreationTime":"2026-12-03T10:00:00Z","Lifetime":1234,"Type":"access_token","ClientId":"mobile","AccessTokenType":0,"Claims":[{"Type":"sub","Value":"alice"},{"Type":"scope","Value":"api1"}],"Version":5}}"#;

#[test]
fn a_kept_one_time_token_rotates_to_a_successor_with_the_hosts_access_tokens() {
    let svc = service();
    let handle = create(svc, ONE_TIME);
    let kept = validate_and_keep(svc, ONE_TIME, &handle);

    let (next, rotated) = update(svc, ONE_TIME, &handle, kept, Some(REISSUED)).unwrap();
    assert!(rotated);
    assert_ne!(next, handle);
    let stored = validate(svc, ONE_TIME, &next).unwrap();
    assert!(stored.contains(r#""Lifetime":1234"#), "{stored}");
    assert!(
        stored.contains(r#"{"Type":"sub","Value":"alice"}"#),
        "the kept subject: {stored}"
    );
    assert!(
        stored.contains(r#""AuthorizedScopes":["openid","offline_access"]"#),
        "{stored}"
    );
    // Consumed (mark mode, the default): a retry inside the reuse window still validates it.
    assert!(validate(svc, ONE_TIME, &handle)
        .unwrap()
        .contains(r#""ConsumedTime":"#));

    // A retry of the same update (its answer lost) is answered with the same one successor.
    let (again, _) = update(svc, ONE_TIME, &handle, kept, Some(REISSUED)).unwrap();
    assert_eq!(again, next);

    rtc_token_free(kept);
    rtc_service_free(svc);
}

#[test]
fn a_kept_sliding_token_is_extended_and_stores_the_hosts_access_tokens() {
    let svc = service();
    let handle = create(svc, SLIDING);
    let kept = validate_and_keep(svc, SLIDING, &handle);
    let (same, rotated) = update(svc, SLIDING, &handle, kept, Some(REISSUED)).unwrap();
    assert_eq!((same.as_str(), rotated), (handle.as_str(), false));
    assert!(validate(svc, SLIDING, &handle)
        .unwrap()
        .contains(r#""Lifetime":1234"#));
    rtc_token_free(kept);
    rtc_service_free(svc);
}

#[test]
fn an_update_that_writes_nothing_reads_no_access_tokens_and_one_that_writes_refuses_bad_ones() {
    let svc = service();
    // ReUse + Absolute writes nothing: the presented handle, whatever the access tokens hold.
    let reuse = create(svc, REUSE);
    let kept = validate_and_keep(svc, REUSE, &reuse);
    let before = validate(svc, REUSE, &reuse).unwrap();
    assert_eq!(
        update(svc, REUSE, &reuse, kept, Some("{ not json")),
        Ok((reuse.clone(), false))
    );
    assert_eq!(
        validate(svc, REUSE, &reuse).unwrap(),
        before,
        "nothing was written"
    );
    rtc_token_free(kept);

    // A one-time update reads them: a bad document fails the call, and nothing is consumed.
    let one = create(svc, ONE_TIME);
    let kept = validate_and_keep(svc, ONE_TIME, &one);
    for bad in ["{ not json", "[]", r#"{"":{"Lifetime":"long"}}"#] {
        assert_eq!(
            update(svc, ONE_TIME, &one, kept, Some(bad)),
            Err(rtc_result::RTC_RESULT_INVALID_JSON),
            "{bad}"
        );
    }
    assert_eq!(
        update(svc, ONE_TIME, &one, kept, Some("\u{0}\u{ff}")).map(|_| ()),
        Err(rtc_result::RTC_RESULT_INVALID_JSON)
    );
    assert!(
        validate(svc, ONE_TIME, &one).is_ok(),
        "still live after the refused updates"
    );
    // Not valid UTF-8: refused always, even where it would not be read.
    let bytes = [0xffu8, 0xfe];
    let mut s = Seen::default();
    let r = rtc_service_update_token_begin(
        svc,
        REUSE.as_ptr().cast(),
        REUSE.len(),
        reuse.as_ptr().cast(),
        reuse.len(),
        kept,
        bytes.as_ptr().cast(),
        bytes.len(),
        0,
        Some(seen),
        &mut s as *mut Seen as *mut c_void,
        null_mut(),
    );
    assert_eq!(r, rtc_result::RTC_RESULT_INVALID_UTF8);
    // No access tokens: the kept ones.
    let (next, rotated) = update(svc, ONE_TIME, &one, kept, None).unwrap();
    assert!(rotated);
    assert!(validate(svc, ONE_TIME, &next).is_ok());
    rtc_token_free(kept);
    rtc_service_free(svc);
}

#[test]
fn null_tokens_are_refused_or_ignored() {
    let svc = service();
    let handle = create(svc, ONE_TIME);
    assert_eq!(
        update(svc, ONE_TIME, &handle, null(), None),
        Err(rtc_result::RTC_RESULT_NULL_ARGUMENT)
    );
    assert!(rtc_token_keep(null()).is_null());
    rtc_token_free(null_mut());
    assert!(validate(svc, ONE_TIME, &handle).is_ok());
    rtc_service_free(svc);
}

#[test]
fn update_writes_is_the_services_rule_and_unknown_values_answer_true() {
    // (usage, expiration, must_update): ReUse 0 / OneTimeOnly 1; Sliding 0 / Absolute 1.
    assert!(!rtc_update_writes(0, 1, 0));
    assert!(rtc_update_writes(0, 1, 1));
    assert!(rtc_update_writes(1, 1, 0));
    assert!(rtc_update_writes(0, 0, 0));
    assert!(rtc_update_writes(2, 1, 0));
    assert!(rtc_update_writes(0, 2, 0));
}
