//! The service: the token operations a host calls, thread-safe, on one `rtc_service`.

use parking_lot::RwLock;
use std::collections::HashMap;
use std::ffi::{c_char, c_void};
use std::sync::Arc;

use super::boundary::{call, guard};
use super::config::{self, rtc_client};
use super::error::{rtc_error, FfiError};
use super::json;
use super::operation::{rtc_done_fn, Done, Operation, Produced};
use super::read;
use super::request::rtc_refresh_request;
use super::result::rtc_result;
use super::text::{out_secret, out_string, rtc_str, RTC_MAX_JSON_LEN, RTC_MAX_STRING_LEN};
use super::token::rtc_token;
use super::write::{OptOut, Out};
use crate::format::data::{encode_inner, encode_token};
use crate::format::handle::Handle;
use crate::model::{Client, RefreshToken};
use crate::service::{RefreshRequest, RefreshTokenService};

/// A refresh-token service. Thread-safe: every `rtc_service_*` function may be called on the
/// same service from any number of threads at once. Freed with `rtc_service_free`.
pub struct rtc_service {
    /// Shared with the operations still pending (`_begin`), which keep it alive.
    pub(super) service: Arc<RefreshTokenService>,
    /// Shared settings: a call clones the Arc, not the client.
    clients: RwLock<HashMap<String, Arc<Client>>>,
}

impl rtc_service {
    pub(crate) fn new(service: RefreshTokenService, clients: HashMap<String, Arc<Client>>) -> Self {
        Self {
            service: Arc::new(service),
            clients: RwLock::new(clients),
        }
    }
}

/// What every per-client operation reads first: the service and the registered client.
pub(super) fn service_and_client<'a>(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
) -> Result<(&'a rtc_service, Arc<Client>), FfiError> {
    let s = read::object(service, "service")?;
    let id = read::text(client_id, client_id_len, "client_id", RTC_MAX_STRING_LEN)?;
    let client = s.clients.read().get(id).cloned().ok_or_else(|| {
        FfiError::new(
            rtc_result::RTC_RESULT_UNKNOWN_CLIENT,
            format!("no client '{id}' is registered"),
        )
    })?;
    Ok((s, client))
}

/// The outputs of an operation that issues a handle: the handle, and the token record if asked.
fn give_token(
    out_handle: Out<*mut c_char>,
    out_token_json: *mut *mut c_char,
    handle: &Handle,
    token: &crate::model::RefreshToken,
) {
    out_handle.set(out_secret(handle));
    OptOut::new(out_token_json).set(|| out_string(encode_inner(token)));
}

/// A refresh-token handle argument. It is the client's value, so one that is too long or not
/// UTF-8 is refused as an unknown handle is (`RTC_RESULT_INVALID_GRANT`, reason malformed): a
/// client must not be able to turn its input into an error of the host's call.
fn handle_arg<'a>(ptr: *const c_char, len: usize) -> Result<&'a str, FfiError> {
    read::text(ptr, len, "handle", RTC_MAX_STRING_LEN).map_err(|e| match e.code {
        rtc_result::RTC_RESULT_INPUT_TOO_LONG | rtc_result::RTC_RESULT_INVALID_UTF8 => {
            crate::service::ServiceError::rejected(crate::service::Reason::Malformed).into()
        }
        _ => e,
    })
}

/// The handle of a revocation: one the library cannot read (too long, not UTF-8) names no token,
/// so it revokes nothing, as an unknown handle does (RFC 7009: the endpoint answers 200 either way).
fn revoked_handle(ptr: *const c_char, len: usize) -> Result<Option<Handle>, FfiError> {
    match handle_arg(ptr, len) {
        Ok(h) => Ok(Some(h.into())),
        Err(e) if matches!(e.code, rtc_result::RTC_RESULT_INVALID_GRANT) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Frees a service, finalizing every user data it holds. No synchronous call on it may be running
/// or start afterwards; operations started with a `_begin` form and still pending keep the
/// service alive and finish normally (the user data is finalized when the last one has). NULL is
/// ignored.
#[no_mangle]
pub extern "C" fn rtc_service_free(service: *mut rtc_service) {
    guard(|| (), || drop(read::take(service)))
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
        let s = read::object(service, "service")?;
        let c = config::client(read::object(client, "client")?)?;
        s.clients.write().insert(c.client_id.clone(), Arc::new(c));
        Ok(())
    })
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
        let (s, client) = service_and_client(service, client_id, client_id_len)?;
        let out_handle = Out::required(out_handle, "out_handle")?;
        let text = read::text(
            request_json,
            request_json_len,
            "request_json",
            RTC_MAX_JSON_LEN,
        )?;
        let request = json::create_request(text, &client, s.service.now())?;
        let created = s.service.create(&client, request)?;
        give_token(out_handle, out_token_json, &created.handle, &created.token);
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
        let (s, client) = service_and_client(service, client_id, client_id_len)?;
        let v = s
            .service
            .validate(handle_arg(handle, handle_len)?, &client)?;
        OptOut::new(out_token_json).set(|| out_string(encode_inner(&v.token)));
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
        let (s, client) = service_and_client(service, client_id, client_id_len)?;
        let out_handle = Out::required(out_handle, "out_handle")?;
        let request = rtc_refresh_request {
            client_id: rtc_str::view(client_id, client_id_len),
            handle: rtc_str::view(handle, handle_len),
            resource: rtc_str::view(resource, resource_len),
            new_access_token_json: rtc_str::view(new_access_token_json, new_access_token_json_len),
            // A record is made only for an output that will receive it.
            want_token_json: u8::from(!out_token_json.is_null()),
            want_access_token_json: u8::from(!out_access_token_json.is_null()),
        };
        let r = super::request::refresh(s, &client, &request)?;
        out_handle.set(r.handle);
        OptOut::new(out_rotated).set(|| r.rotated);
        OptOut::new(out_token_json).set(|| r.token_json);
        OptOut::new(out_access_token_json).set(|| r.access_token_json);
        Ok(())
    })
}

/// The arguments of a refresh, read.
pub(super) fn refresh_request(
    handle: *const c_char,
    handle_len: usize,
    resource: *const c_char,
    resource_len: usize,
    new_access_token_json: *const c_char,
    new_access_token_json_len: usize,
) -> Result<RefreshRequest, FfiError> {
    let handle = handle_arg(handle, handle_len)?;
    let resource = read::opt_text(resource, resource_len, "resource", RTC_MAX_STRING_LEN)?;
    let new_access_token = read::opt_text(
        new_access_token_json,
        new_access_token_json_len,
        "new_access_token_json",
        RTC_MAX_JSON_LEN,
    )?
    .map(|t| json::access_token(t, "new_access_token_json"))
    .transpose()?;
    Ok(RefreshRequest {
        handle: handle.into(),
        resource: resource.map(str::to_owned),
        new_access_token,
    })
}

/// `rtc_service_refresh` that returns before the store has answered: the arguments are read
/// and checked now (a bad one fails this call, and `done` is never called); on
/// `RTC_RESULT_OK` the refresh runs on, and `done` is called exactly once with its result
/// (`rtc_outputs.handle`, `.rotated`, `.token_json`, `.access_token_json`), possibly before this
/// call returns. See "Asynchronous storage" for where it runs.
#[no_mangle]
pub extern "C" fn rtc_service_refresh_begin(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
    resource: *const c_char,
    resource_len: usize,
    new_access_token_json: *const c_char,
    new_access_token_json_len: usize,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    begin_for_client(
        service,
        client_id,
        client_id_len,
        done,
        user_data,
        out_error,
        |svc, client| {
            let request = refresh_request(
                handle,
                handle_len,
                resource,
                resource_len,
                new_access_token_json,
                new_access_token_json_len,
            )?;
            Ok(async move {
                let r = svc.refresh_async(&client, request).await?;
                Ok(Produced {
                    handle: Some(r.handle),
                    rotated: r.rotated,
                    token_json: Some(encode_inner(&r.token)),
                    access_token_json: Some(encode_token(&r.access_token)),
                    ..Produced::default()
                })
            })
        },
    )
}

/// `rtc_service_validate` that returns before the store has answered; as
/// `rtc_service_refresh_begin`, with `rtc_outputs.token_json` and `rtc_outputs.token` (the
/// token as validated, to keep for `rtc_service_update_token_begin`) on success.
#[no_mangle]
pub extern "C" fn rtc_service_validate_begin(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    begin_for_client(
        service,
        client_id,
        client_id_len,
        done,
        user_data,
        out_error,
        |svc, client| {
            let handle = Handle::from(handle_arg(handle, handle_len)?);
            Ok(async move {
                let v = svc.validate_async(handle.as_str(), &client).await?;
                Ok(Produced {
                    token_json: Some(encode_inner(&v.token)),
                    token: Some(rtc_token::new(v.token)),
                    ..Produced::default()
                })
            })
        },
    )
}

/// What every `_begin` export does around its own argument reading (`read`, which returns the
/// operation's future): the boundary, the service, the done callback, and the start of the
/// pending operation, which reports to `done` (see `operation`). A failure in `read` fails the
/// call, and `done` is never called.
fn begin_for_service<F>(
    service: *const rtc_service,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
    read: impl FnOnce(Arc<RefreshTokenService>) -> Result<F, FfiError>,
) -> rtc_result
where
    F: std::future::Future<Output = Result<Produced, crate::service::ServiceError>>
        + Send
        + 'static,
{
    call(out_error, || {
        let s = read::object(service, "service")?;
        let done = done_arg(done, user_data)?;
        let work = read(s.service.clone())?;
        Operation::start(
            Box::pin(async move { done.call(work.await.map_err(FfiError::from)) }),
            done,
        );
        Ok(())
    })
}

/// [`begin_for_service`] for the per-client operations: the registered client is read first.
fn begin_for_client<F>(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
    read: impl FnOnce(Arc<RefreshTokenService>, Arc<Client>) -> Result<F, FfiError>,
) -> rtc_result
where
    F: std::future::Future<Output = Result<Produced, crate::service::ServiceError>>
        + Send
        + 'static,
{
    begin_for_service(service, done, user_data, out_error, |svc| {
        let (_, client) = service_and_client(service, client_id, client_id_len)?;
        read(svc, client)
    })
}

/// `rtc_service_create` that returns before the store has answered; as
/// `rtc_service_refresh_begin`, with `rtc_outputs.handle` and `.token_json` on success.
#[no_mangle]
pub extern "C" fn rtc_service_create_begin(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    request_json: *const c_char,
    request_json_len: usize,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    begin_for_client(
        service,
        client_id,
        client_id_len,
        done,
        user_data,
        out_error,
        |svc, client| {
            let text = read::text(
                request_json,
                request_json_len,
                "request_json",
                RTC_MAX_JSON_LEN,
            )?;
            let request = json::create_request(text, &client, svc.now())?;
            Ok(async move {
                let c = svc.create_async(&client, request).await?;
                Ok(Produced {
                    handle: Some(c.handle),
                    token_json: Some(encode_inner(&c.token)),
                    ..Produced::default()
                })
            })
        },
    )
}

/// `rtc_service_update` that returns before the store has answered; as
/// `rtc_service_refresh_begin`, with `rtc_outputs.handle`, `.rotated` and `.token_json`.
#[no_mangle]
pub extern "C" fn rtc_service_update_begin(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
    token_json: *const c_char,
    token_json_len: usize,
    must_update: u8,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    begin_for_client(
        service,
        client_id,
        client_id_len,
        done,
        user_data,
        out_error,
        |svc, client| {
            let handle = Handle::from(handle_arg(handle, handle_len)?);
            let text = read::text(token_json, token_json_len, "token_json", RTC_MAX_JSON_LEN)?;
            let token = json::token_record(text, "token_json")?;
            Ok(async move {
                let u = svc
                    .update_async(handle.as_str(), token, &client, must_update != 0)
                    .await?;
                Ok(Produced {
                    handle: Some(u.handle),
                    rotated: u.rotated,
                    token_json: Some(encode_inner(&u.token)),
                    ..Produced::default()
                })
            })
        },
    )
}

/// `rtc_service_update_begin` for a token kept from its validation (`rtc_token_keep` of
/// `rtc_outputs.token`): the update takes the token as validated, with its access tokens
/// replaced by `access_tokens_json` when that is not NULL (`{"<resource indicator>": {Token},
/// ...}`, the RefreshToken's `AccessTokens` property: what the token endpoint re-issued), so
/// the host sends no whole record and the library parses none. Changes to anything else must
/// go through `rtc_service_update_begin`. `access_tokens_json` is read only when the update
/// writes (OneTimeOnly, Sliding, or `must_update`; it is checked for UTF-8 and length always);
/// read and not of that shape, the call fails with `RTC_RESULT_INVALID_JSON` and `done` is
/// never called. On success, `rtc_outputs.handle` and `.rotated` (no `.token_json`). `token`
/// stays the host's.
#[no_mangle]
pub extern "C" fn rtc_service_update_token_begin(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
    token: *const rtc_token,
    access_tokens_json: *const c_char,
    access_tokens_json_len: usize,
    must_update: u8,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    begin_for_client(
        service,
        client_id,
        client_id_len,
        done,
        user_data,
        out_error,
        |svc, client| {
            let handle = Handle::from(handle_arg(handle, handle_len)?);
            let kept = read::object(token, "token")?.token.clone();
            let access_tokens = read::opt_text(
                access_tokens_json,
                access_tokens_json_len,
                "access_tokens_json",
                RTC_MAX_JSON_LEN,
            )?;
            let must_update = must_update != 0;
            // Only an update that writes reads the token: the others answer the presented
            // handle, and neither the token nor the access tokens are copied or parsed.
            let token = if RefreshTokenService::update_writes_for(&client, must_update) {
                Some(match access_tokens {
                    Some(text) => {
                        kept.with_access_tokens(json::access_tokens(text, "access_tokens_json")?)
                    }
                    None => RefreshToken::clone(&kept),
                })
            } else {
                None
            };
            Ok(async move {
                let Some(token) = token else {
                    return Ok(Produced {
                        handle: Some(handle),
                        ..Produced::default()
                    });
                };
                let u = svc
                    .update_async(handle.as_str(), token, &client, must_update)
                    .await?;
                Ok(Produced {
                    handle: Some(u.handle),
                    rotated: u.rotated,
                    ..Produced::default()
                })
            })
        },
    )
}

/// `rtc_service_revoke` that returns before the store has answered; as
/// `rtc_service_refresh_begin`, with `rtc_outputs.revoked`.
#[no_mangle]
pub extern "C" fn rtc_service_revoke_begin(
    service: *const rtc_service,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    begin_for_client(
        service,
        client_id,
        client_id_len,
        done,
        user_data,
        out_error,
        |svc, client| {
            let handle = revoked_handle(handle, handle_len)?;
            Ok(async move {
                let revoked = match handle {
                    Some(h) => svc.revoke_async(&client, h.as_str()).await?,
                    None => false,
                };
                Ok(Produced {
                    revoked,
                    ..Produced::default()
                })
            })
        },
    )
}

/// `rtc_service_remove_refresh_tokens` that returns before the store has answered; as
/// `rtc_service_refresh_begin`, with `rtc_outputs.removed`.
#[no_mangle]
pub extern "C" fn rtc_service_remove_refresh_tokens_begin(
    service: *const rtc_service,
    subject_id: *const c_char,
    subject_id_len: usize,
    client_id: *const c_char,
    client_id_len: usize,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    begin_for_service(service, done, user_data, out_error, |svc| {
        let subject = read::text(subject_id, subject_id_len, "subject_id", RTC_MAX_STRING_LEN)?;
        let client = read::text(client_id, client_id_len, "client_id", RTC_MAX_STRING_LEN)?;
        let (subject, client) = (subject.to_owned(), client.to_owned());
        Ok(async move {
            let removed = svc.remove_refresh_tokens_async(&subject, &client).await?;
            Ok(Produced {
                removed,
                ..Produced::default()
            })
        })
    })
}

/// `rtc_service_cleanup` that returns before the store has answered; as
/// `rtc_service_refresh_begin`, with `rtc_outputs.expired_removed`, `.consumed_removed` and
/// `.removed` (their sum).
#[no_mangle]
pub extern "C" fn rtc_service_cleanup_begin(
    service: *const rtc_service,
    done: rtc_done_fn,
    user_data: *mut c_void,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    begin_for_service(service, done, user_data, out_error, |svc| {
        Ok(async move {
            let r = svc.cleanup_async().await?;
            Ok(Produced {
                removed: r.total(),
                expired_removed: r.expired_removed,
                consumed_removed: r.consumed_removed,
                ..Produced::default()
            })
        })
    })
}

fn done_arg(done: rtc_done_fn, user_data: *mut c_void) -> Result<Done, FfiError> {
    let callback = done.ok_or_else(|| FfiError::null("done"))?;
    Ok(Done {
        callback,
        user_data,
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
        let (s, client) = service_and_client(service, client_id, client_id_len)?;
        let out_handle = Out::required(out_handle, "out_handle")?;
        let handle = handle_arg(handle, handle_len)?;
        let text = read::text(token_json, token_json_len, "token_json", RTC_MAX_JSON_LEN)?;
        let token = json::token_record(text, "token_json")?;
        let u = s.service.update(handle, token, &client, must_update != 0)?;
        give_token(out_handle, out_token_json, &u.handle, &u.token);
        Ok(())
    })
}

/// RFC 7009 revocation of a refresh token by a client. Success whether or not a token was
/// removed (the endpoint answers 200 either way); `*out_revoked` (if not NULL) says which; a
/// handle too long or not UTF-8 revokes nothing. An empty handle is `RTC_RESULT_INVALID_REQUEST`.
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
        let (s, client) = service_and_client(service, client_id, client_id_len)?;
        let revoked = match revoked_handle(handle, handle_len)? {
            Some(h) => s.service.revoke(&client, h.as_str())?,
            None => false,
        };
        OptOut::new(out_revoked).set(|| revoked);
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
        let s = read::object(service, "service")?;
        let subject = read::text(subject_id, subject_id_len, "subject_id", RTC_MAX_STRING_LEN)?;
        let client = read::text(client_id, client_id_len, "client_id", RTC_MAX_STRING_LEN)?;
        let n = s.service.remove_refresh_tokens(subject, client)?;
        OptOut::new(out_removed).set(|| n);
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
        let s = read::object(service, "service")?;
        let r = s.service.cleanup()?;
        OptOut::new(out_expired_removed).set(|| r.expired_removed);
        OptOut::new(out_consumed_removed).set(|| r.consumed_removed);
        Ok(())
    })
}
