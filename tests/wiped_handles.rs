//! Every copy of a handle the library makes is wiped before its memory is freed (issue 15,
//! item 7). This binary's global allocator scans every block it frees for a Duende 6+ handle
//! (64 uppercase hex digits, then "-1"); its default `realloc` allocates, copies and frees, so a
//! buffer that grew is scanned too. Over 1,000 refreshes through the Rust API and through the
//! C ABI (synchronous and `_begin`), with retries inside the reuse window, ReUse tokens,
//! validation, unknown handles and revocation, it must count 0 such blocks.
//!
//! The scan needs this binary's own global allocator. A release build of the library with the
//! `mimalloc` feature brings one already (`src/allocator.rs`), so there this test is not built:
//! it runs in debug builds, the ones the test command makes (wiping happens before any free,
//! whichever allocator frees).
#![cfg(any(debug_assertions, not(feature = "mimalloc")))]

use std::alloc::{GlobalAlloc, Layout, System};
use std::ffi::{c_char, c_void, CStr};
use std::ptr::{null, null_mut};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex};

use refresh_token_core::ffi::builder::*;
use refresh_token_core::ffi::config::{rtc_client, rtc_client_init};
use refresh_token_core::ffi::operation::rtc_outputs;
use refresh_token_core::ffi::result::rtc_result;
use refresh_token_core::ffi::service::*;
use refresh_token_core::ffi::text::rtc_string_free;
use refresh_token_core::{
    Client, CreateRequest, Handle, MemoryStore, RefreshRequest, RefreshTokenService, TokenUsage,
};

struct Checking;

/// Freed blocks that still held a handle, counted while armed.
static UNWIPED: AtomicUsize = AtomicUsize::new(0);
static ARMED: AtomicBool = AtomicBool::new(false);

/// Whether the bytes hold a Duende 6+ handle: at least 64 uppercase hex digits, then "-1".
fn holds_handle(bytes: &[u8]) -> bool {
    let mut run = 0usize;
    for (i, &b) in bytes.iter().enumerate() {
        if b.is_ascii_digit() || (b'A'..=b'F').contains(&b) {
            run += 1;
        } else {
            if b == b'-' && run >= 64 && bytes.get(i + 1) == Some(&b'1') {
                return true;
            }
            run = 0;
        }
    }
    false
}

unsafe impl GlobalAlloc for Checking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        System.alloc(layout)
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        if ARMED.load(Ordering::Relaxed)
            && holds_handle(std::slice::from_raw_parts(ptr, layout.size()))
        {
            UNWIPED.fetch_add(1, Ordering::Relaxed);
        }
        System.dealloc(ptr, layout)
    }
}

#[global_allocator]
static ALLOCATOR: Checking = Checking;

/// Runs `f` armed and returns how many unwiped handle blocks it freed. The test is one function,
/// so no other test of this binary allocates meanwhile.
fn unwiped_during(f: impl FnOnce()) -> usize {
    let before = UNWIPED.load(Ordering::SeqCst);
    ARMED.store(true, Ordering::SeqCst);
    f();
    ARMED.store(false, Ordering::SeqCst);
    UNWIPED.load(Ordering::SeqCst) - before
}

const REFRESHES: usize = 1_000;

fn rust_api() {
    // Mark mode keeps used rows with ConsumedTime set, so retries take the successor path.
    let options = refresh_token_core::ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: false,
        ..Default::default()
    };
    let service = RefreshTokenService::builder(Arc::new(MemoryStore::new()))
        .options(options)
        .build()
        .unwrap();
    let mut one_time = Client::new("web");
    one_time.allow_offline_access = true;
    one_time.refresh_token_usage = TokenUsage::OneTimeOnly;
    let mut reuse = one_time.clone();
    reuse.client_id = "reuse".into();
    reuse.refresh_token_usage = TokenUsage::ReUse;
    let request = || CreateRequest::for_subject("alice", Some("s1"), &["openid", "offline_access"]);

    let refresh = |client: &Client, handle: &Handle| {
        service.refresh(
            client,
            RefreshRequest {
                handle: handle.clone(),
                ..Default::default()
            },
        )
    };
    let mut handle = service.create(&one_time, request()).unwrap().handle;
    let kept = service.create(&reuse, request()).unwrap().handle;
    for i in 0..REFRESHES {
        let next = refresh(&one_time, &handle).unwrap();
        assert!(next.rotated);
        if i % 10 == 0 {
            // A retry of the used token (a lost response): the same successor again.
            let again = refresh(&one_time, &handle).unwrap();
            assert_eq!(again.handle, next.handle);
            let same = refresh(&reuse, &kept).unwrap();
            assert_eq!(same.handle, kept);
            service.validate(next.handle.as_str(), &one_time).unwrap();
            // A handle nobody issued is refused.
            let unknown = Handle::generate();
            assert!(refresh(&one_time, &unknown).is_err());
        }
        handle = next.handle;
    }
    assert!(service.revoke(&one_time, handle.as_str()).unwrap());
}

/// A handle the C ABI shows, copied into memory that is wiped on drop.
fn copied(h: *const c_char) -> Handle {
    assert!(!h.is_null());
    Handle::from(unsafe { CStr::from_ptr(h) }.to_str().unwrap())
}

/// A handle the C ABI returned, copied, then freed with `rtc_string_free` (which wipes it).
fn take(h: *mut c_char) -> Handle {
    let handle = copied(h);
    rtc_string_free(h);
    handle
}

const APP: &str = "app";

fn c_refresh(svc: *mut rtc_service, h: &Handle) -> (rtc_result, Option<Handle>) {
    let mut out: *mut c_char = null_mut();
    let r = rtc_service_refresh(
        svc,
        APP.as_ptr().cast(),
        APP.len(),
        h.as_str().as_ptr().cast(),
        h.as_str().len(),
        null(),
        0,
        null(),
        0,
        &mut out,
        null_mut(),
        null_mut(),
        null_mut(),
        null_mut(),
    );
    (r, (r == rtc_result::RTC_RESULT_OK).then(|| take(out)))
}

/// What a `_begin` refresh's done callback saw: its result and a wiped copy of the handle.
#[derive(Default)]
struct Answer {
    done: Mutex<Option<(rtc_result, Option<Handle>)>>,
    cv: Condvar,
}

unsafe extern "C" fn answered(
    ud: *mut c_void,
    result: rtc_result,
    outputs: *const rtc_outputs,
    _error: *const refresh_token_core::ffi::error::rtc_error,
) {
    let answer = &*(ud as *const Answer);
    let handle =
        (!outputs.is_null() && !(*outputs).handle.is_null()).then(|| copied((*outputs).handle));
    *answer.done.lock().unwrap() = Some((result, handle));
    answer.cv.notify_one();
}

fn c_refresh_begin(svc: *mut rtc_service, h: &Handle) -> (rtc_result, Option<Handle>) {
    let answer = Answer::default();
    let r = rtc_service_refresh_begin(
        svc,
        APP.as_ptr().cast(),
        APP.len(),
        h.as_str().as_ptr().cast(),
        h.as_str().len(),
        null(),
        0,
        null(),
        0,
        Some(answered),
        &answer as *const Answer as *mut c_void,
        null_mut(),
    );
    assert_eq!(r, rtc_result::RTC_RESULT_OK);
    let mut done = answer.done.lock().unwrap();
    while done.is_none() {
        done = answer.cv.wait(done).unwrap();
    }
    done.take().unwrap()
}

fn c_abi() {
    let (mut b, mut svc) = (null_mut(), null_mut());
    assert_eq!(
        rtc_service_builder_new(null(), &mut b, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    let mut c: rtc_client = unsafe { std::mem::zeroed() };
    rtc_client_init(&mut c, APP.as_ptr().cast(), APP.len());
    c.allow_offline_access = 1;
    c.refresh_token_usage = 1; // OneTimeOnly
    assert_eq!(
        rtc_service_builder_add_client(b, &c, null_mut()),
        rtc_result::RTC_RESULT_OK
    );
    assert_eq!(
        rtc_service_builder_build(b, &mut svc, null_mut()),
        rtc_result::RTC_RESULT_OK
    );

    let req = r#"{"SubjectId":"alice","AuthorizedScopes":["offline_access"]}"#;
    let mut out: *mut c_char = null_mut();
    let r = rtc_service_create(
        svc,
        APP.as_ptr().cast(),
        APP.len(),
        req.as_ptr().cast(),
        req.len(),
        &mut out,
        null_mut(),
        null_mut(),
    );
    assert_eq!(r, rtc_result::RTC_RESULT_OK);
    let mut handle = take(out);
    for i in 0..REFRESHES {
        // Alternate the synchronous export and the `_begin` form.
        let refresh = if i % 2 == 0 {
            c_refresh
        } else {
            c_refresh_begin
        };
        let (r, next) = refresh(svc, &handle);
        assert_eq!(r, rtc_result::RTC_RESULT_OK, "refresh {i}");
        let next = next.unwrap();
        if i % 10 == 0 {
            let (r, again) = refresh(svc, &handle);
            assert_eq!(r, rtc_result::RTC_RESULT_OK);
            assert_eq!(again.unwrap(), next, "a retry gets the same successor");
            let (r, _) = refresh(svc, &Handle::generate());
            assert_eq!(r, rtc_result::RTC_RESULT_INVALID_GRANT);
        }
        handle = next;
    }
    let mut revoked = false;
    let r = rtc_service_revoke(
        svc,
        APP.as_ptr().cast(),
        APP.len(),
        handle.as_str().as_ptr().cast(),
        handle.as_str().len(),
        &mut revoked,
        null_mut(),
    );
    assert_eq!(r, rtc_result::RTC_RESULT_OK);
    assert!(revoked);
    rtc_service_free(svc);
}

#[test]
fn no_copy_of_a_handle_is_freed_unwiped_through_the_rust_api_or_the_c_abi() {
    // The detector sees a handle freed the ordinary way.
    let caught = unwiped_during(|| {
        let secret = Handle::generate();
        let plain: String = secret.as_str().to_owned();
        drop(std::hint::black_box(plain));
    });
    assert_eq!(caught, 1, "the checking allocator finds a plain copy");

    assert_eq!(
        unwiped_during(rust_api),
        0,
        "Rust API: {REFRESHES} refreshes"
    );
    assert_eq!(unwiped_during(c_abi), 0, "C ABI: {REFRESHES} refreshes");
}
