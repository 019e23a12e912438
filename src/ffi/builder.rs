//! The service builder: collects a configuration from one thread, then builds the service.

use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::async_hooks::{
    rtc_async_accept_consumed_fn, rtc_async_is_active_fn, FfiAsyncAcceptConsumed, FfiAsyncIsActive,
};
use super::async_store::{rtc_async_store_fn, FfiAsyncStore};
use super::boundary::{call, guard};
use super::callback_hooks::{
    rtc_accept_consumed_fn, rtc_clock_fn, rtc_event_fn, rtc_is_active_fn, rtc_protect_fn,
    FfiAcceptConsumed, FfiClock, FfiEvents, FfiIsActive, FfiProtector,
};
use super::callback_store::{rtc_store_callbacks, CallbackStore};
use super::config::{self, rtc_accept_consumed_policy, rtc_client, rtc_service_options};
use super::error::{rtc_error, FfiError};
use super::foreign::{rtc_free_fn, UserData};
use super::read;
use super::result::rtc_result;
use super::service::rtc_service;
use super::store_options::{self, rtc_store_options};
use super::text::RTC_MAX_STRING_LEN;
use super::write::{give, Out};
use crate::format::successor::SuccessorSecrets;
use crate::model::{Client, ServiceOptions};
use crate::service::{
    AcceptConsumedPolicy, AsyncProfileService, ProfileService, RefreshTokenService,
};
use crate::store::memory::MemoryStore;
use crate::store::{AsyncGrantStore, GrantStore};

/// The store a builder was given.
enum BuilderStore {
    Sync(Arc<dyn GrantStore>),
    Async(Arc<dyn AsyncGrantStore>),
}

/// The is-active check a builder was given.
enum BuilderProfile {
    Sync(Arc<dyn ProfileService>),
    Async(Arc<dyn AsyncProfileService>),
}

/// Collects the configuration of a service. Not thread-safe: configure it from one thread, then
/// `rtc_service_builder_build` it (which consumes it) or `rtc_service_builder_free` it.
pub struct rtc_service_builder {
    options: ServiceOptions,
    policy: rtc_accept_consumed_policy,
    grace_seconds: u32,
    store: Option<BuilderStore>,
    clock: Option<FfiClock>,
    is_active: Option<BuilderProfile>,
    /// `Host` or `HostAsync`, when the host set an accept-consumed hook.
    accept_consumed: Option<AcceptConsumedPolicy>,
    protector: Option<FfiProtector>,
    events: Option<FfiEvents>,
    secrets: Option<SuccessorSecrets>,
    allow_non_atomic: bool,
    clients: HashMap<String, Arc<Client>>,
}

impl rtc_service_builder {
    /// The accept-consumed policy: the host's hook when one is set, which the header documents as
    /// making the policy `RTC_ACCEPT_CONSUMED_HOST`.
    fn policy(&mut self) -> Result<AcceptConsumedPolicy, FfiError> {
        use rtc_accept_consumed_policy::*;
        if let Some(hook) = self.accept_consumed.take() {
            return Ok(hook);
        }
        Ok(match self.policy {
            RTC_ACCEPT_CONSUMED_REJECT => AcceptConsumedPolicy::Reject,
            RTC_ACCEPT_CONSUMED_GRACE => AcceptConsumedPolicy::Grace {
                seconds: self.grace_seconds,
            },
            RTC_ACCEPT_CONSUMED_REVOKE_ON_REPLAY => AcceptConsumedPolicy::RevokeOnReplay,
            RTC_ACCEPT_CONSUMED_HOST => return Err(FfiError::new(
                rtc_result::RTC_RESULT_INVALID_ARGUMENT,
                "policy RTC_ACCEPT_CONSUMED_HOST needs rtc_service_builder_set_accept_consumed \
                     or rtc_service_builder_set_async_accept_consumed",
            )),
        })
    }
}

/// Starts a service configuration. `options` may be NULL for the reference defaults. Without a
/// store callback set, the service uses the built-in in-memory store.
#[no_mangle]
pub extern "C" fn rtc_service_builder_new(
    options: *const rtc_service_options,
    out_builder: *mut *mut rtc_service_builder,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let out_builder = Out::required(out_builder, "out_builder")?;
        let (options, policy, grace_seconds) = match read::opt_object(options) {
            Some(o) => (
                config::service_options(o)?,
                config::accept_consumed_policy(o.accept_consumed_policy)?,
                o.grace_seconds,
            ),
            None => (
                ServiceOptions::default(),
                rtc_accept_consumed_policy::RTC_ACCEPT_CONSUMED_REJECT,
                0,
            ),
        };
        out_builder.set(give(rtc_service_builder {
            options,
            policy,
            grace_seconds,
            store: None,
            clock: None,
            is_active: None,
            accept_consumed: None,
            protector: None,
            events: None,
            secrets: None,
            allow_non_atomic: false,
            clients: HashMap::new(),
        }));
        Ok(())
    })
}

/// Uses the host's storage. On success the library owns `user_data` and calls `free_user_data`
/// (if not NULL) exactly once when it no longer needs it; on failure it does not, and the caller
/// keeps it. A missing required callback is `RTC_RESULT_NULL_ARGUMENT`.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_store(
    builder: *mut rtc_service_builder,
    callbacks: *const rtc_store_callbacks,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let b = read::object_mut(builder, "builder")?;
        let cb = read::object(callbacks, "callbacks")?;
        let store = CallbackStore::new(cb, user_data, free_user_data)
            .map_err(|name| FfiError::null(&format!("callbacks.{name}")))?;
        b.store = Some(BuilderStore::Sync(Arc::new(store)));
        Ok(())
    })
}

/// Uses the host's storage, answered asynchronously: `callback` receives each request with a
/// completion id and returns at once; the host answers with `rtc_completion_push_row` /
/// `rtc_completion_finish` now or later, from any thread (see "Asynchronous storage").
/// `capabilities`: `RTC_STORE_CAN_CONSUME` and / or `RTC_STORE_CAN_ROTATE` (other bits are
/// refused with `RTC_RESULT_INVALID_ARGUMENT`). Replaces a store set before. Ownership of
/// `user_data` as for `rtc_service_builder_set_store`.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_async_store(
    builder: *mut rtc_service_builder,
    callback: rtc_async_store_fn,
    capabilities: u32,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    use super::async_store::{RTC_STORE_CAN_CONSUME, RTC_STORE_CAN_ROTATE};
    set_checked_hook(
        builder,
        callback,
        user_data,
        free_user_data,
        out_error,
        || {
            if capabilities & !(RTC_STORE_CAN_CONSUME | RTC_STORE_CAN_ROTATE) == 0 {
                return Ok(());
            }
            Err(FfiError::new(
                rtc_result::RTC_RESULT_INVALID_ARGUMENT,
                format!("unknown store capabilities {capabilities:#x}"),
            ))
        },
        |b, f, ud| {
            let store = FfiAsyncStore::new(f, capabilities, ud);
            b.store = Some(BuilderStore::Async(Arc::new(store)));
        },
    )
}

/// What every hook setter does: check the builder and the callback, then install the callback
/// with its user data. On failure nothing is installed and the user data stays the caller's.
fn set_hook<F>(
    builder: *mut rtc_service_builder,
    callback: Option<F>,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
    install: impl FnOnce(&mut rtc_service_builder, F, UserData),
) -> rtc_result {
    set_checked_hook(
        builder,
        callback,
        user_data,
        free_user_data,
        out_error,
        || Ok(()),
        install,
    )
}

/// [`set_hook`] with a check of the setter's other arguments, made before anything is installed.
fn set_checked_hook<F>(
    builder: *mut rtc_service_builder,
    callback: Option<F>,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
    check: impl FnOnce() -> Result<(), FfiError>,
    install: impl FnOnce(&mut rtc_service_builder, F, UserData),
) -> rtc_result {
    call(out_error, || {
        let b = read::object_mut(builder, "builder")?;
        let f = callback.ok_or_else(|| FfiError::null("callback"))?;
        check()?;
        install(b, f, UserData::new(user_data, free_user_data));
        Ok(())
    })
}

/// Uses the host's clock instead of the system clock. Ownership of `user_data` as for
/// `rtc_service_builder_set_store`.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_clock(
    builder: *mut rtc_service_builder,
    callback: rtc_clock_fn,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    set_hook(
        builder,
        callback,
        user_data,
        free_user_data,
        out_error,
        |b, f, ud| b.clock = Some(FfiClock(f, ud)),
    )
}

/// Uses the host's is-active check (default: every subject is active). Ownership of
/// `user_data` as for `rtc_service_builder_set_store`.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_is_active(
    builder: *mut rtc_service_builder,
    callback: rtc_is_active_fn,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    set_hook(
        builder,
        callback,
        user_data,
        free_user_data,
        out_error,
        |b, f, ud| b.is_active = Some(BuilderProfile::Sync(Arc::new(FfiIsActive(f, ud)))),
    )
}

/// `rtc_service_builder_set_is_active` for a check that answers later: the callback is given a
/// completion to finish (`rtc_completion_finish`, 1 active, 0 inactive, negative failed), now or
/// later, from any thread. Replaces an is-active check set before. Ownership of `user_data` as
/// for `rtc_service_builder_set_store`.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_async_is_active(
    builder: *mut rtc_service_builder,
    callback: rtc_async_is_active_fn,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    set_hook(
        builder,
        callback,
        user_data,
        free_user_data,
        out_error,
        |b, f, ud| {
            b.is_active = Some(BuilderProfile::Async(Arc::new(FfiAsyncIsActive(f, ud))));
        },
    )
}

/// Asks the host whether a consumed token is accepted (the policy becomes
/// `RTC_ACCEPT_CONSUMED_HOST`). Ownership of `user_data` as for `rtc_service_builder_set_store`.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_accept_consumed(
    builder: *mut rtc_service_builder,
    callback: rtc_accept_consumed_fn,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    set_hook(
        builder,
        callback,
        user_data,
        free_user_data,
        out_error,
        |b, f, ud| {
            b.accept_consumed = Some(AcceptConsumedPolicy::Host(Arc::new(FfiAcceptConsumed(
                f, ud,
            ))));
        },
    )
}

/// `rtc_service_builder_set_accept_consumed` for a decision that answers later: the callback is
/// given a completion to finish (`rtc_completion_finish`, 1 accept, 0 refuse, negative failed),
/// now or later, from any thread. Replaces an accept-consumed hook set before. Ownership of
/// `user_data` as for `rtc_service_builder_set_store`.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_async_accept_consumed(
    builder: *mut rtc_service_builder,
    callback: rtc_async_accept_consumed_fn,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    set_hook(
        builder,
        callback,
        user_data,
        free_user_data,
        out_error,
        |b, f, ud| {
            b.accept_consumed = Some(AcceptConsumedPolicy::HostAsync(Arc::new(
                FfiAsyncAcceptConsumed(f, ud),
            )));
        },
    )
}

/// Receives events as JSON. Ownership of `user_data` as for `rtc_service_builder_set_store`.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_event_sink(
    builder: *mut rtc_service_builder,
    callback: rtc_event_fn,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    set_hook(
        builder,
        callback,
        user_data,
        free_user_data,
        out_error,
        |b, f, ud| b.events = Some(FfiEvents(f, ud)),
    )
}

/// Sets the secret that successors of one-time tokens are derived with (at least 16 bytes; 32
/// random bytes advised), shared by every node of a deployment; `previous` (NULL, or a further
/// secret of at least 16 bytes) is still tried when a retried token's successor is looked up,
/// so a secret can be rotated without breaking chains in flight. Without this call the service
/// uses the secret stored in its store, creating it on first use (protected by the payload
/// protector when one is set). The bytes are copied.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_successor_secret(
    builder: *mut rtc_service_builder,
    secret: *const u8,
    secret_len: usize,
    previous: *const u8,
    previous_len: usize,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let b = read::object_mut(builder, "builder")?;
        let too_short = |e: crate::format::successor::SecretTooShort| {
            FfiError::new(rtc_result::RTC_RESULT_INVALID_ARGUMENT, e.to_string())
        };
        let current = read::bytes(secret, secret_len, "secret", RTC_MAX_STRING_LEN)?
            .ok_or_else(|| FfiError::null("secret"))?;
        let mut secrets = SuccessorSecrets::new(current).map_err(too_short)?;
        if let Some(p) = read::bytes(previous, previous_len, "previous", RTC_MAX_STRING_LEN)? {
            secrets = secrets.with_previous(p).map_err(too_short)?;
        }
        b.secrets = Some(secrets);
        Ok(())
    })
}

/// Accepts (`allow` true) a store without an atomic conditional consume: a callback store whose
/// `consume` is NULL, an asynchronous store without `RTC_STORE_CAN_CONSUME`. Such a store
/// consumes a one-time token with the reference's read-then-write, so parallel refreshes of one
/// token can both succeed and fork its chain. Without this call `rtc_service_builder_build`
/// refuses such a store with `RTC_RESULT_INVALID_ARGUMENT`; with it, the build emits a
/// `non_atomic_consume` event.
#[no_mangle]
pub extern "C" fn rtc_service_builder_allow_non_atomic_consume(
    builder: *mut rtc_service_builder,
    allow: bool,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        read::object_mut(builder, "builder")?.allow_non_atomic = allow;
        Ok(())
    })
}

/// A non-empty text argument (a path, a URL).
fn non_empty<'a>(ptr: *const c_char, len: usize, name: &str) -> Result<&'a str, FfiError> {
    let s = read::text(ptr, len, name, RTC_MAX_STRING_LEN)?;
    if s.is_empty() {
        return Err(FfiError::new(
            rtc_result::RTC_RESULT_INVALID_ARGUMENT,
            format!("{name} is empty"),
        ));
    }
    Ok(s)
}

/// Uses the built-in SQLite store on the file at `path` (UTF-8; created with Duende's
/// `PersistedGrants` table if missing; WAL mode), with the default `rtc_store_options`. A
/// database Duende's EF Core store created on SQLite is used as it is. Fails with
/// `RTC_RESULT_STORAGE_BROKEN` for a file that is not a database, is corrupt or read-only, or
/// whose table lacks a column, and with `RTC_RESULT_STORAGE_UNAVAILABLE` when the file cannot
/// be opened.
#[no_mangle]
pub extern "C" fn rtc_service_builder_use_sqlite(
    builder: *mut rtc_service_builder,
    path: *const c_char,
    path_len: usize,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    let defaults = store_options::defaults();
    rtc_service_builder_use_sqlite_with(builder, path, path_len, &defaults, out_error)
}

/// `rtc_service_builder_use_sqlite` with `options` (required; see `rtc_store_options`). Fails
/// also with `RTC_RESULT_INVALID_ARGUMENT` for an option that cannot be used (a pool of 0, a
/// table name that is not a plain identifier, a schema), `RTC_RESULT_INVALID_ENUM` for an
/// unknown durability, and `RTC_RESULT_STORAGE_BROKEN` when `create_table` is 0 and the table
/// is missing.
#[no_mangle]
pub extern "C" fn rtc_service_builder_use_sqlite_with(
    builder: *mut rtc_service_builder,
    path: *const c_char,
    path_len: usize,
    options: *const rtc_store_options,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let b = read::object_mut(builder, "builder")?;
        let path = non_empty(path, path_len, "path")?;
        let options = read::object(options, "options")?;
        b.store = Some(BuilderStore::Sync(store_options::open_sqlite(
            path, options,
        )?));
        Ok(())
    })
}

/// Uses the built-in PostgreSQL store (for several server instances sharing one database),
/// with the default `rtc_store_options`: `url` (UTF-8) is a URL
/// (`postgres://user:password@host:port/database`), libpq `key=value` pairs or an Npgsql
/// connection string (`Host=…;Username=…;Password=…;Database=…`). The `PersistedGrants` table
/// is created if missing. Fails at once with `RTC_RESULT_STORAGE_BROKEN` when the server
/// refuses the login or knows no such database, when the string cannot work (an unknown key;
/// TLS required: this build has no TLS), or when the table lacks a column or may not be read;
/// with `RTC_RESULT_STORAGE_UNAVAILABLE` when the server cannot be reached (10 s at most, or
/// the string's connect timeout). The message says which, never the password.
#[no_mangle]
pub extern "C" fn rtc_service_builder_use_postgres(
    builder: *mut rtc_service_builder,
    url: *const c_char,
    url_len: usize,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    let defaults = store_options::defaults();
    rtc_service_builder_use_postgres_with(builder, url, url_len, &defaults, out_error)
}

/// `rtc_service_builder_use_postgres` with `options` (required; see `rtc_store_options`).
/// Fails also with `RTC_RESULT_INVALID_ARGUMENT` for an option that cannot be used (a pool or
/// connect timeout of 0, a schema or table name that is not a plain identifier), and
/// `RTC_RESULT_STORAGE_BROKEN` when `create_table` is 0 and the table is missing, or when it is
/// 1 and the login may not create it.
#[no_mangle]
pub extern "C" fn rtc_service_builder_use_postgres_with(
    builder: *mut rtc_service_builder,
    url: *const c_char,
    url_len: usize,
    options: *const rtc_store_options,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let b = read::object_mut(builder, "builder")?;
        let url = non_empty(url, url_len, "url")?;
        let options = read::object(options, "options")?;
        b.store = Some(BuilderStore::Sync(store_options::connect_postgres(
            url, options,
        )?));
        Ok(())
    })
}

/// Uses the host's payload protector (e.g. ASP.NET Core Data Protection, purpose
/// "PersistentGrantSerializer"). Both callbacks are required. Ownership of `user_data` as for
/// `rtc_service_builder_set_store`.
#[no_mangle]
pub extern "C" fn rtc_service_builder_set_protector(
    builder: *mut rtc_service_builder,
    protect: rtc_protect_fn,
    unprotect: rtc_protect_fn,
    user_data: *mut c_void,
    free_user_data: rtc_free_fn,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let b = read::object_mut(builder, "builder")?;
        let protect = protect.ok_or_else(|| FfiError::null("protect"))?;
        let unprotect = unprotect.ok_or_else(|| FfiError::null("unprotect"))?;
        b.protector = Some(FfiProtector {
            protect,
            unprotect,
            user_data: UserData::new(user_data, free_user_data),
        });
        Ok(())
    })
}

/// Registers (or replaces) a client's settings. The struct and its id are copied.
#[no_mangle]
pub extern "C" fn rtc_service_builder_add_client(
    builder: *mut rtc_service_builder,
    client: *const rtc_client,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let b = read::object_mut(builder, "builder")?;
        let c = config::client(read::object(client, "client")?)?;
        b.clients.insert(c.client_id.clone(), Arc::new(c));
        Ok(())
    })
}

/// Builds the service. Always consumes `builder` (do not use or free it afterwards), also on
/// failure, when the user data it held is finalized.
#[no_mangle]
pub extern "C" fn rtc_service_builder_build(
    builder: *mut rtc_service_builder,
    out_service: *mut *mut rtc_service,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let mut b = read::take(builder).ok_or_else(|| FfiError::null("builder"))?;
        let out_service = Out::required(out_service, "out_service")?;
        let policy = b.policy()?;
        let mut sb = match b.store {
            Some(BuilderStore::Async(s)) => RefreshTokenService::builder_async(s),
            Some(BuilderStore::Sync(s)) => RefreshTokenService::builder(s),
            None => RefreshTokenService::builder(Arc::new(MemoryStore::new())),
        }
        .options(b.options)
        .accept_consumed(policy)
        .allow_non_atomic_consume(b.allow_non_atomic);
        if let Some(c) = b.clock {
            sb = sb.clock(Arc::new(c));
        }
        match b.is_active {
            Some(BuilderProfile::Sync(p)) => sb = sb.profile(p),
            Some(BuilderProfile::Async(p)) => sb = sb.profile_async(p),
            None => {}
        }
        if let Some(p) = b.protector {
            sb = sb.protector(Arc::new(p));
        }
        if let Some(e) = b.events {
            sb = sb.events(Arc::new(e));
        }
        if let Some(s) = b.secrets {
            sb = sb.successor_secrets(s);
        }
        out_service.set(give(rtc_service::new(sb.build()?, b.clients)));
        Ok(())
    })
}

/// Frees a builder that was not built, finalizing the user data it holds. NULL is ignored.
#[no_mangle]
pub extern "C" fn rtc_service_builder_free(builder: *mut rtc_service_builder) {
    guard(|| (), || drop(read::take(builder)))
}
