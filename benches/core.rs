//! Criterion benchmarks: the floor costs every refresh pays, and create / validate / refresh
//! through the Rust API and through the C ABI, on the in-memory and SQLite stores.
//!
//! `cargo bench --bench core` (figures in bench/RESULTS.md).

use criterion::{criterion_group, criterion_main, Criterion};
use refresh_token_core::ffi::config::{rtc_client, rtc_client_init};
use refresh_token_core::ffi::text::rtc_string_free;
use refresh_token_core::ffi::{
    rtc_service, rtc_service_builder_add_client, rtc_service_builder_build,
    rtc_service_builder_new, rtc_service_create, rtc_service_free, rtc_service_refresh,
    rtc_service_validate,
};
use refresh_token_core::format::data::{decode, encode};
use refresh_token_core::format::handle::Handle;
use refresh_token_core::format::key::refresh_token_key;
use refresh_token_core::model::{TokenExpiration, TokenUsage};
use refresh_token_core::store::sqlite::{Durability, SqliteOptions, SqliteStore};
use refresh_token_core::{
    Client, CreateRequest, GrantStore, MemoryStore, RefreshRequest, RefreshTokenService,
    ServiceOptions,
};
use std::cell::RefCell;
use std::ffi::{c_char, CStr};
use std::ptr::{null, null_mut};
use std::sync::Arc;
use std::time::Duration;

#[path = "../tests/common/duende_fixture.rs"]
mod duende_fixture;
use duende_fixture::duende_row_data;

fn request() -> CreateRequest {
    CreateRequest::for_subject("alice", Some("s1"), &["openid", "api", "offline_access"])
}

fn client(usage: TokenUsage, expiration: TokenExpiration) -> Client {
    let mut c = Client::new("bench");
    c.allow_offline_access = true;
    c.refresh_token_usage = usage;
    c.refresh_token_expiration = expiration;
    c
}

fn service(store: Arc<dyn GrantStore>, delete_on_use: bool) -> RefreshTokenService {
    let options = ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: delete_on_use,
        ..Default::default()
    };
    RefreshTokenService::builder(store)
        .options(options)
        .build()
        .unwrap()
}

fn floor(c: &mut Criterion) {
    let mut g = c.benchmark_group("floor");
    let handle = Handle::generate();
    g.bench_function("sha256_key", |b| {
        b.iter(|| refresh_token_key(std::hint::black_box(handle.as_str())))
    });
    g.bench_function("handle_generate", |b| b.iter(Handle::generate));
    let s = service(Arc::new(MemoryStore::new()), true);
    let token = s
        .create(
            &client(TokenUsage::ReUse, TokenExpiration::Absolute),
            request(),
        )
        .unwrap()
        .token;
    let data = encode(&token, None).unwrap();
    g.bench_function("data_serialize", |b| {
        b.iter(|| encode(std::hint::black_box(&token), None).unwrap())
    });
    g.bench_function("data_deserialize", |b| {
        b.iter(|| decode(std::hint::black_box(&data), None).unwrap())
    });
    // The issue's codec targets are for a typical Duende row: one the real Duende 7.4.8 wrote
    // (13 access-token claims, 9 subject claims, escapes and non-ASCII), not the small token
    // the service benchmarks create.
    let duende = duende_row_data("02-reuse-absolute-unprotected");
    let duende_token = decode(&duende, None).unwrap();
    g.bench_function("duende_row_serialize", |b| {
        b.iter(|| encode(std::hint::black_box(&duende_token), None).unwrap())
    });
    g.bench_function("duende_row_deserialize", |b| {
        b.iter(|| decode(std::hint::black_box(&duende), None).unwrap())
    });
    g.finish();
}

/// create / validate / refresh variants on one store.
fn api_on(c: &mut Criterion, group: &str, store: impl Fn() -> Arc<dyn GrantStore>) {
    let mut g = c.benchmark_group(group);
    let reuse = client(TokenUsage::ReUse, TokenExpiration::Absolute);
    let s = service(store(), true);
    g.bench_function("create", |b| {
        b.iter(|| s.create(&reuse, request()).unwrap())
    });
    let h = s.create(&reuse, request()).unwrap().handle;
    g.bench_function("validate", |b| {
        b.iter(|| s.validate(h.as_str(), &reuse).unwrap())
    });
    for (name, usage, expiration, delete) in [
        (
            "refresh_reuse_absolute",
            TokenUsage::ReUse,
            TokenExpiration::Absolute,
            true,
        ),
        (
            "refresh_reuse_sliding",
            TokenUsage::ReUse,
            TokenExpiration::Sliding,
            true,
        ),
        (
            "refresh_onetime_delete",
            TokenUsage::OneTimeOnly,
            TokenExpiration::Absolute,
            true,
        ),
        (
            "refresh_onetime_mark",
            TokenUsage::OneTimeOnly,
            TokenExpiration::Absolute,
            false,
        ),
    ] {
        let s = service(store(), delete);
        let c = client(usage, expiration);
        let current = RefCell::new(s.create(&c, request()).unwrap().handle.as_str().to_owned());
        g.bench_function(name, |b| {
            b.iter(|| {
                let h = current.borrow().clone();
                let r = s
                    .refresh(
                        &c,
                        RefreshRequest {
                            handle: h.into(),
                            ..Default::default()
                        },
                    )
                    .unwrap();
                *current.borrow_mut() = r.handle.as_str().to_owned();
            })
        });
    }
    g.finish();
}

fn api(c: &mut Criterion) {
    api_on(c, "rust_api_memory", || Arc::new(MemoryStore::new()));
    let dir = std::env::temp_dir().join(format!("rtc-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let n = std::cell::Cell::new(0);
    api_on(c, "rust_api_sqlite_full", || {
        n.set(n.get() + 1);
        Arc::new(SqliteStore::open(dir.join(format!("{}.db", n.get()))).unwrap())
    });
    api_on(c, "rust_api_sqlite_normal", || {
        n.set(n.get() + 1);
        let o = SqliteOptions {
            durability: Durability::Normal,
            ..Default::default()
        };
        Arc::new(SqliteStore::open_with(dir.join(format!("{}.db", n.get())), o).unwrap())
    });
    let _ = std::fs::remove_dir_all(&dir);
}

/// The same operations through the exported C functions, as a C host calls them.
fn c_abi(c: &mut Criterion) {
    let mut g = c.benchmark_group("c_abi_memory");
    let id = "bench";
    let mut svc: *mut rtc_service = null_mut();
    let mut b = null_mut();
    assert_eq!(
        rtc_service_builder_new(null(), &mut b, null_mut()) as u32,
        0
    );
    let mut rc: rtc_client = unsafe { std::mem::zeroed() };
    rtc_client_init(&mut rc, id.as_ptr().cast(), id.len());
    rc.allow_offline_access = 1;
    rc.refresh_token_usage = 1;
    assert_eq!(rtc_service_builder_add_client(b, &rc, null_mut()) as u32, 0);
    assert_eq!(rtc_service_builder_build(b, &mut svc, null_mut()) as u32, 0);
    let req = r#"{"SubjectId":"alice","SessionId":"s1","AuthorizedScopes":["openid","api","offline_access"]}"#;
    let create = || {
        let mut h: *mut c_char = null_mut();
        assert_eq!(
            rtc_service_create(
                svc,
                id.as_ptr().cast(),
                id.len(),
                req.as_ptr().cast(),
                req.len(),
                &mut h,
                null_mut(),
                null_mut()
            ) as u32,
            0
        );
        let s = unsafe { CStr::from_ptr(h) }.to_str().unwrap().to_owned();
        rtc_string_free(h);
        s
    };
    g.bench_function("create", |bn| bn.iter(create));
    let current = RefCell::new(create());
    g.bench_function("validate", |bn| {
        let h = create();
        bn.iter(|| {
            assert_eq!(
                rtc_service_validate(
                    svc,
                    id.as_ptr().cast(),
                    id.len(),
                    h.as_ptr().cast(),
                    h.len(),
                    null_mut(),
                    null_mut()
                ) as u32,
                0
            )
        })
    });
    g.bench_function("refresh_onetime_delete", |bn| {
        bn.iter(|| {
            let h = current.borrow().clone();
            let mut out: *mut c_char = null_mut();
            let r = rtc_service_refresh(
                svc,
                id.as_ptr().cast(),
                id.len(),
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
                null_mut(),
            );
            assert_eq!(r as u32, 0);
            *current.borrow_mut() = unsafe { CStr::from_ptr(out) }.to_str().unwrap().to_owned();
            rtc_string_free(out);
        })
    });
    g.finish();
    rtc_service_free(svc);
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(30).warm_up_time(Duration::from_millis(500)).measurement_time(Duration::from_secs(2));
    targets = floor, api, c_abi
}
criterion_main!(benches);
