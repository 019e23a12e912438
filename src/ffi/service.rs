//! The service handle and its builder: the exports a host calls.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::callback_hooks::{
    rtc_accept_consumed_fn, rtc_clock_fn, rtc_event_fn, rtc_is_active_fn, rtc_protect_fn,
    FfiAcceptConsumed, FfiClock, FfiEvents, FfiIsActive, FfiProtector,
};
use super::callback_store::{rtc_store_callbacks, CallbackStore};
use super::config::{self, rtc_accept_consumed_policy, rtc_client, rtc_service_options};
use super::error::{rtc_error, FfiError};
use super::foreign::{rtc_free_fn, UserData};
use super::json;
use super::result::rtc_result;
use super::text::{self, out_string, RTC_MAX_JSON_LEN, RTC_MAX_STRING_LEN};
use super::{call, write_opt, write_out};
use crate::format::data::{decode, encode_inner, encode_token};
use crate::format::successor::SuccessorSecrets;
use crate::model::{Client, ServiceOptions};
use crate::service::{AcceptConsumedPolicy, RefreshRequest, RefreshTokenService};
use crate::store::memory::MemoryStore;
use crate::store::postgres::PostgresStore;
use crate::store::sqlite::SqliteStore;
use crate::store::GrantStore;

/// Collects the configuration of a service. Not thread-safe: configure it from one thread, then
/// `rtc_service_builder_build` it (which consumes it) or `rtc_service_builder_free` it.
pub struct rtc_service_builder {
    options: ServiceOptions,
    policy: u32,
    grace_seconds: u32,
    store: Option<Arc<dyn GrantStore>>,
    clock: Option<FfiClock>,
    is_active: Option<FfiIsActive>,
    accept_consumed: Option<FfiAcceptConsumed>,
    protector: Option<FfiProtector>,
    events: Option<FfiEvents>,
    secrets: Option<SuccessorSecrets>,
    clients: HashMap<String, Arc<Client>>,
}

/// A refresh-token service. Thread-safe: every `rtc_service_*` function may be called on the
/// same service from any number of threads at once. Freed with `rtc_service_free`.
pub struct rtc_service {
    service: RefreshTokenService,
    /// Shared settings: a call clones the Arc, not the client.
    clients: RwLock<HashMap<String, Arc<Client>>>,
}

/// # Safety
/// `b` must be NULL or a live builder from `rtc_service_builder_new`.
unsafe fn builder_ref<'a>(
    b: *mut rtc_service_builder,
) -> Result<&'a mut rtc_service_builder, FfiError> {
    // SAFETY: per the contract.
    unsafe { b.as_mut() }.ok_or_else(|| FfiError::null("builder"))
}

/// # Safety
/// `s` must be NULL or a live service from `rtc_service_builder_build`.
unsafe fn service_ref<'a>(s: *const rtc_service) -> Result<&'a rtc_service, FfiError> {
    // SAFETY: per the contract.
    unsafe { s.as_ref() }.ok_or_else(|| FfiError::null("service"))
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
        if out_builder.is_null() {
            return Err(FfiError::null("out_builder"));
        }
        // SAFETY: NULL or a readable options struct.
        let (options, policy, grace_seconds) = match unsafe { options.as_ref() } {
            Some(o) => {
                if o.accept_consumed_policy
                    > rtc_accept_consumed_policy::RTC_ACCEPT_CONSUMED_HOST as u32
                {
                    return Err(FfiError::new(
                        rtc_result::RTC_RESULT_INVALID_ENUM,
                        format!(
                            "unknown accept_consumed_policy {}",
                            o.accept_consumed_policy
                        ),
                    ));
                }
                (
                    config::service_options(o)?,
                    o.accept_consumed_policy,
                    o.grace_seconds,
                )
            }
            None => (
                ServiceOptions::default(),
                rtc_accept_consumed_policy::RTC_ACCEPT_CONSUMED_REJECT as u32,
                0,
            ),
        };
        let b = Box::new(rtc_service_builder {
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
            clients: HashMap::new(),
        });
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_builder, Box::into_raw(b)) };
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
        // SAFETY: per the documented contract of the builder pointer.
        let b = unsafe { builder_ref(builder) }?;
        // SAFETY: NULL or a readable callbacks struct.
        let cb = unsafe { callbacks.as_ref() }.ok_or_else(|| FfiError::null("callbacks"))?;
        let store = CallbackStore::new(cb, user_data, free_user_data)
            .map_err(|name| FfiError::null(&format!("callbacks.{name}")))?;
        b.store = Some(Arc::new(store));
        Ok(())
    })
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
    call(out_error, || {
        // SAFETY: per the documented contract of the builder pointer.
        let b = unsafe { builder_ref(builder) }?;
        let f = callback.ok_or_else(|| FfiError::null("callback"))?;
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
        |b, f, ud| b.is_active = Some(FfiIsActive(f, ud)),
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
        |b, f, ud| b.accept_consumed = Some(FfiAcceptConsumed(f, ud)),
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
        // SAFETY: per the documented contract of the builder pointer.
        let b = unsafe { builder_ref(builder) }?;
        let too_short = |e: crate::format::successor::SecretTooShort| {
            FfiError::new(rtc_result::RTC_RESULT_INVALID_ARGUMENT, e.to_string())
        };
        // SAFETY: views valid for this call.
        let current = unsafe { text::bytes(secret, secret_len, "secret", RTC_MAX_STRING_LEN) }?
            .ok_or_else(|| FfiError::null("secret"))?;
        let mut secrets = SuccessorSecrets::new(current).map_err(too_short)?;
        // SAFETY: views valid for this call.
        if let Some(p) =
            unsafe { text::bytes(previous, previous_len, "previous", RTC_MAX_STRING_LEN) }?
        {
            secrets = secrets.with_previous(p).map_err(too_short)?;
        }
        b.secrets = Some(secrets);
        Ok(())
    })
}

/// Uses the built-in SQLite store on the file at `path` (UTF-8; created with Duende's
/// `PersistedGrants` table if missing; WAL mode). A database Duende's EF Core store created on
/// SQLite is used as it is. Fails with `RTC_RESULT_STORAGE_UNAVAILABLE` when the file cannot be
/// opened.
#[no_mangle]
pub extern "C" fn rtc_service_builder_use_sqlite(
    builder: *mut rtc_service_builder,
    path: *const c_char,
    path_len: usize,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contract of the builder pointer.
        let b = unsafe { builder_ref(builder) }?;
        // SAFETY: views valid for this call.
        let path = unsafe { text::arg(path, path_len, "path", RTC_MAX_STRING_LEN) }?;
        if path.is_empty() {
            return Err(FfiError::new(
                rtc_result::RTC_RESULT_INVALID_ARGUMENT,
                "path is empty",
            ));
        }
        b.store = Some(Arc::new(SqliteStore::open(path)?));
        Ok(())
    })
}

/// Uses the built-in PostgreSQL store (for several server instances sharing one database):
/// `url` is `postgres://user:password@host:port/database` (UTF-8). The `PersistedGrants` table
/// is created if missing. Fails with `RTC_RESULT_STORAGE_UNAVAILABLE` when the server cannot be
/// reached.
#[no_mangle]
pub extern "C" fn rtc_service_builder_use_postgres(
    builder: *mut rtc_service_builder,
    url: *const c_char,
    url_len: usize,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contract of the builder pointer.
        let b = unsafe { builder_ref(builder) }?;
        // SAFETY: views valid for this call.
        let url = unsafe { text::arg(url, url_len, "url", RTC_MAX_STRING_LEN) }?;
        if url.is_empty() {
            return Err(FfiError::new(
                rtc_result::RTC_RESULT_INVALID_ARGUMENT,
                "url is empty",
            ));
        }
        // The URL may hold a password: connection errors are reported without it.
        let store = PostgresStore::connect(url).map_err(|e| match e {
            crate::store::StoreError::Unavailable(_) => FfiError::new(
                rtc_result::RTC_RESULT_STORAGE_UNAVAILABLE,
                "could not connect to PostgreSQL",
            ),
            other => other.into(),
        })?;
        b.store = Some(Arc::new(store));
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
        // SAFETY: per the documented contract of the builder pointer.
        let b = unsafe { builder_ref(builder) }?;
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
        // SAFETY: per the documented contract of the builder pointer.
        let b = unsafe { builder_ref(builder) }?;
        // SAFETY: NULL or a readable client whose id view is valid for this call.
        let c =
            unsafe { config::client(client.as_ref().ok_or_else(|| FfiError::null("client"))?) }?;
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
        if builder.is_null() {
            return Err(FfiError::null("builder"));
        }
        // SAFETY: a live builder, consumed here exactly once.
        let b = unsafe { Box::from_raw(builder) };
        if out_service.is_null() {
            return Err(FfiError::null("out_service"));
        }
        let policy = match b.policy {
            0 if b.accept_consumed.is_none() => AcceptConsumedPolicy::Reject,
            1 if b.accept_consumed.is_none() => AcceptConsumedPolicy::Grace {
                seconds: b.grace_seconds,
            },
            2 if b.accept_consumed.is_none() => AcceptConsumedPolicy::RevokeOnReplay,
            _ => match b.accept_consumed {
                Some(hook) => AcceptConsumedPolicy::Host(Arc::new(hook)),
                None => return Err(FfiError::new(
                    rtc_result::RTC_RESULT_INVALID_ARGUMENT,
                    "policy RTC_ACCEPT_CONSUMED_HOST needs rtc_service_builder_set_accept_consumed",
                )),
            },
        };
        let store: Arc<dyn GrantStore> = b.store.unwrap_or_else(|| Arc::new(MemoryStore::new()));
        let mut sb = RefreshTokenService::builder(store)
            .options(b.options)
            .accept_consumed(policy);
        if let Some(c) = b.clock {
            sb = sb.clock(Arc::new(c));
        }
        if let Some(p) = b.is_active {
            sb = sb.profile(Arc::new(p));
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
        let service = sb.build()?;
        let handle = Box::new(rtc_service {
            service,
            clients: RwLock::new(b.clients),
        });
        // SAFETY: checked non-NULL above.
        unsafe { write_out(out_service, Box::into_raw(handle)) };
        Ok(())
    })
}

/// Frees a builder that was not built, finalizing the user data it holds. NULL is ignored.
#[no_mangle]
pub extern "C" fn rtc_service_builder_free(builder: *mut rtc_service_builder) {
    super::boundary_void(|| {
        if !builder.is_null() {
            // SAFETY: a live builder, freed exactly once.
            drop(unsafe { Box::from_raw(builder) });
        }
    })
}

/// Frees a service, finalizing every user data it holds. No call on it may be running or start
/// afterwards. NULL is ignored.
#[no_mangle]
pub extern "C" fn rtc_service_free(service: *mut rtc_service) {
    super::boundary_void(|| {
        if !service.is_null() {
            // SAFETY: a live service, freed exactly once, with no call running (documented).
            drop(unsafe { Box::from_raw(service) });
        }
    })
}

/// Registers or replaces a client's settings on a running service (thread-safe). Calls already
/// running keep the settings they started with.
#[no_mangle]
pub extern "C" fn rtc_service_set_client(
    service: *const rtc_service,
    client: *const rtc_client,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contract of the service pointer.
        let s = unsafe { service_ref(service) }?;
        // SAFETY: NULL or a readable client whose id view is valid for this call.
        let c =
            unsafe { config::client(client.as_ref().ok_or_else(|| FfiError::null("client"))?) }?;
        s.clients.write().insert(c.client_id.clone(), Arc::new(c));
        Ok(())
    })
}

impl rtc_service {
    /// # Safety
    /// `ptr` must be NULL or valid for `len` bytes.
    unsafe fn client(&self, ptr: *const c_char, len: usize) -> Result<Arc<Client>, FfiError> {
        // SAFETY: forwarded contract.
        let id = unsafe { text::arg(ptr, len, "client_id", RTC_MAX_STRING_LEN) }?;
        self.clients.read().get(id).cloned().ok_or_else(|| {
            FfiError::new(
                rtc_result::RTC_RESULT_UNKNOWN_CLIENT,
                format!("no client '{id}' is registered"),
            )
        })
    }
}

/// Creates and stores a refresh token (`CreateRefreshTokenAsync`) after a code, device or CIBA
/// exchange. `request_json` is described under "Create request" in the header comment. On
/// success `*out_handle` is the handle to give the client (a bearer secret) and, if
/// `out_token_json` is not NULL, `*out_token_json` the stored record; free both with
/// `rtc_string_free`.
#[no_mangle]
pub extern "C" fn rtc_service_create(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    request_json: *const c_char,
    request_json_len: usize,
    out_handle: *mut *mut c_char,
    out_token_json: *mut *mut c_char,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contracts of the pointers.
        let s = unsafe { service_ref(service) }?;
        if out_handle.is_null() {
            return Err(FfiError::null("out_handle"));
        }
        // SAFETY: views valid for this call.
        let client = unsafe { s.client(client_id, client_id_len) }?;
        // SAFETY: views valid for this call.
        let text = unsafe {
            text::arg(
                request_json,
                request_json_len,
                "request_json",
                RTC_MAX_JSON_LEN,
            )
        }?;
        let request = json::create_request(text, &client, s.service.now())?;
        let created = s.service.create(&client, request)?;
        // SAFETY: out_handle checked above; the other output is optional.
        unsafe {
            write_out(out_handle, out_string(created.handle.as_str().to_owned()));
            write_opt(out_token_json, || out_string(encode_inner(&created.token)));
        }
        Ok(())
    })
}

/// Validates a refresh token for a client (`ValidateRefreshTokenAsync`): the six checks in the
/// reference's order. A refusal is `RTC_RESULT_INVALID_GRANT` with a reason. On success, if
/// `out_token_json` is not NULL, `*out_token_json` is the token record.
#[no_mangle]
pub extern "C" fn rtc_service_validate(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
    out_token_json: *mut *mut c_char,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contracts of the pointers.
        let s = unsafe { service_ref(service) }?;
        // SAFETY: views valid for this call.
        let client = unsafe { s.client(client_id, client_id_len) }?;
        // SAFETY: views valid for this call.
        let handle = unsafe { text::arg(handle, handle_len, "handle", RTC_MAX_STRING_LEN) }?;
        let v = s.service.validate(handle, &client)?;
        // SAFETY: an optional output.
        unsafe { write_opt(out_token_json, || out_string(encode_inner(&v.token))) };
        Ok(())
    })
}

/// The `refresh_token` grant: validate, re-issue the access token, update. `resource` (RFC 8707)
/// and `new_access_token_json` (a Token record the host rebuilt; see the header comment) may be
/// NULL. On success `*out_handle` is the refresh token to return (the same or a new handle) and
/// the optional outputs are written: whether it rotated, the stored record, and the access-token
/// record to issue. Free strings with `rtc_string_free`.
#[no_mangle]
pub extern "C" fn rtc_service_refresh(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
    resource: *const c_char,
    resource_len: usize,
    new_access_token_json: *const c_char,
    new_access_token_json_len: usize,
    out_handle: *mut *mut c_char,
    out_rotated: *mut bool,
    out_token_json: *mut *mut c_char,
    out_access_token_json: *mut *mut c_char,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contracts of the pointers.
        let s = unsafe { service_ref(service) }?;
        if out_handle.is_null() {
            return Err(FfiError::null("out_handle"));
        }
        // SAFETY: views valid for this call.
        let client = unsafe { s.client(client_id, client_id_len) }?;
        // SAFETY: views valid for this call.
        let handle = unsafe { text::arg(handle, handle_len, "handle", RTC_MAX_STRING_LEN) }?;
        // SAFETY: views valid for this call.
        let resource =
            unsafe { text::opt_arg(resource, resource_len, "resource", RTC_MAX_STRING_LEN) }?;
        // SAFETY: views valid for this call.
        let new_at = unsafe {
            text::opt_arg(
                new_access_token_json,
                new_access_token_json_len,
                "new_access_token_json",
                RTC_MAX_JSON_LEN,
            )
        }?;
        let new_access_token = match new_at {
            None => None,
            Some(t) => {
                let v: serde_json::Value = serde_json::from_str(t).map_err(|e| {
                    FfiError::new(
                        rtc_result::RTC_RESULT_INVALID_JSON,
                        format!("new_access_token_json: {e}"),
                    )
                })?;
                Some(crate::format::data::decode_token(&v).map_err(|e| {
                    FfiError::new(
                        rtc_result::RTC_RESULT_INVALID_JSON,
                        format!("new_access_token_json: {e}"),
                    )
                })?)
            }
        };
        let r = s.service.refresh(
            &client,
            RefreshRequest {
                handle: handle.to_owned(),
                resource: resource.map(str::to_owned),
                new_access_token,
            },
        )?;

        // SAFETY: out pointers checked or optional.
        unsafe {
            write_out(out_handle, out_string(r.handle.as_str().to_owned()));
            write_opt(out_rotated, || r.rotated);
            write_opt(out_token_json, || out_string(encode_inner(&r.token)));
            write_opt(out_access_token_json, || {
                out_string(encode_token(&r.access_token))
            });
        }
        Ok(())
    })
}

/// `UpdateRefreshTokenAsync` for hosts that run validation and access-token issuance
/// themselves: applies the update rules to `token_json` (a record from validate) under
/// `handle`. `must_update` is 0 or 1. On success `*out_handle` is the handle to return.
#[no_mangle]
pub extern "C" fn rtc_service_update(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
    token_json: *const c_char,
    token_json_len: usize,
    must_update: u8,
    out_handle: *mut *mut c_char,
    out_token_json: *mut *mut c_char,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contracts of the pointers.
        let s = unsafe { service_ref(service) }?;
        if out_handle.is_null() {
            return Err(FfiError::null("out_handle"));
        }
        // SAFETY: views valid for this call.
        let client = unsafe { s.client(client_id, client_id_len) }?;
        // SAFETY: views valid for this call.
        let handle = unsafe { text::arg(handle, handle_len, "handle", RTC_MAX_STRING_LEN) }?;
        // SAFETY: views valid for this call.
        let text =
            unsafe { text::arg(token_json, token_json_len, "token_json", RTC_MAX_JSON_LEN) }?;
        let token = decode(text, None).map_err(|e| {
            FfiError::new(
                rtc_result::RTC_RESULT_INVALID_JSON,
                format!("token_json: {e}"),
            )
        })?;
        let u = s.service.update(handle, token, &client, must_update != 0)?;
        // SAFETY: out_handle checked above; the other output is optional.
        unsafe {
            write_out(out_handle, out_string(u.handle.as_str().to_owned()));
            write_opt(out_token_json, || out_string(encode_inner(&u.token)));
        }
        Ok(())
    })
}

/// RFC 7009 revocation of a refresh token by a client. Success whether or not a token was
/// removed (the endpoint answers 200 either way); `*out_revoked` (if not NULL) says which. An
/// empty handle is `RTC_RESULT_INVALID_REQUEST`.
#[no_mangle]
pub extern "C" fn rtc_service_revoke(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
    out_revoked: *mut bool,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contracts of the pointers.
        let s = unsafe { service_ref(service) }?;
        // SAFETY: views valid for this call.
        let client = unsafe { s.client(client_id, client_id_len) }?;
        // SAFETY: views valid for this call.
        let handle = unsafe { text::arg(handle, handle_len, "handle", RTC_MAX_STRING_LEN) }?;
        let revoked = s.service.revoke(&client, handle)?;
        // SAFETY: an optional output.
        unsafe { write_opt(out_revoked, || revoked) };
        Ok(())
    })
}

/// Removes every refresh token of a subject and client (`RemoveRefreshTokensAsync`); safe to
/// call from an accept-consumed callback. `*out_removed` (if not NULL) is the count.
#[no_mangle]
pub extern "C" fn rtc_service_remove_refresh_tokens(
    service: *const rtc_service,
    subject_id: *const c_char,
    subject_id_len: usize,
    client_id: *const c_char,
    client_id_len: usize,
    out_removed: *mut u64,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contracts of the pointers.
        let s = unsafe { service_ref(service) }?;
        // SAFETY: views valid for this call.
        let subject =
            unsafe { text::arg(subject_id, subject_id_len, "subject_id", RTC_MAX_STRING_LEN) }?;
        // SAFETY: views valid for this call.
        let client =
            unsafe { text::arg(client_id, client_id_len, "client_id", RTC_MAX_STRING_LEN) }?;
        let n = s.service.remove_refresh_tokens(subject, client)?;
        // SAFETY: an optional output.
        unsafe { write_opt(out_removed, || n) };
        Ok(())
    })
}

/// One token-cleanup pass: expired grants, then (if configured) consumed ones. The optional
/// outputs receive the counts.
#[no_mangle]
pub extern "C" fn rtc_service_cleanup(
    service: *const rtc_service,
    out_expired_removed: *mut u64,
    out_consumed_removed: *mut u64,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        // SAFETY: per the documented contract of the service pointer.
        let s = unsafe { service_ref(service) }?;
        let r = s.service.cleanup()?;
        // SAFETY: optional out pointers.
        unsafe {
            write_opt(out_expired_removed, || r.expired_removed);
            write_opt(out_consumed_removed, || r.consumed_removed);
        }
        Ok(())
    })
}

/// The persisted-grant key of a refresh-token handle (what the store's Key column holds).
#[no_mangle]
pub extern "C" fn rtc_grant_key(
    handle: *const c_char,
    handle_len: usize,
    out_key: *mut *mut c_char,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        if out_key.is_null() {
            return Err(FfiError::null("out_key"));
        }
        // SAFETY: views valid for this call.
        let handle = unsafe { text::arg(handle, handle_len, "handle", RTC_MAX_STRING_LEN) }?;
        let key = crate::format::key::refresh_token_key(handle);
        // SAFETY: checked non-NULL.
        unsafe { write_out(out_key, out_string(key)) };
        Ok(())
    })
}
