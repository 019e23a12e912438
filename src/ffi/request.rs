//! The struct form of a refresh: the arguments in one `rtc_refresh_request` (filled with its
//! defaults by `rtc_refresh_request_init`, as `rtc_client_init` fills a client) and the
//! answers in one `rtc_refresh_response`, freed with one call. The positional
//! `rtc_service_refresh` stays; both read and answer the same way.

use std::ffi::c_char;

use super::boundary::{call, guard};
use super::error::{rtc_error, FfiError};
use super::read;
use super::result::rtc_result;
use super::service::{refresh_request, rtc_service, service_and_client};
use super::text::{out_secret, out_string, rtc_str, rtc_string_free};
use super::write::{OptOut, Out};
use crate::format::data::{encode_inner, encode_token};
use crate::model::Client;

/// The arguments of a refresh (`rtc_service_refresh_with`). Strings are borrowed for the call.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct rtc_refresh_request {
    /// The authenticated client.
    pub client_id: rtc_str,
    /// The presented refresh token (a bearer secret).
    pub handle: rtc_str,
    /// The RFC 8707 `resource` parameter; `{NULL, 0}` (the default) for none.
    pub resource: rtc_str,
    /// A Token record the host rebuilt (see the header comment); `{NULL, 0}` (the default) to
    /// re-issue the stored one.
    pub new_access_token_json: rtc_str,
    /// Whether `rtc_refresh_response.token_json` is wanted; default 0.
    pub want_token_json: u8,
    /// Whether `rtc_refresh_response.access_token_json` is wanted; default 1.
    pub want_access_token_json: u8,
}

/// What a refresh answers (`rtc_service_refresh_with`), written only on success. Free the
/// strings with `rtc_refresh_response_free`.
#[repr(C)]
pub struct rtc_refresh_response {
    /// The refresh token to return (the same or a new handle). A bearer secret.
    pub handle: *mut c_char,
    /// Whether `handle` is a new one.
    pub rotated: bool,
    /// The stored token record, when wanted; else NULL.
    pub token_json: *mut c_char,
    /// The access-token record to issue, when wanted; else NULL.
    pub access_token_json: *mut c_char,
}

/// Fills `request` with the defaults and the given client and handle (borrowed, not copied):
/// no resource, the stored access token re-issued, only the access-token record wanted. NULL
/// `request` is ignored.
#[no_mangle]
pub extern "C" fn rtc_refresh_request_init(
    request: *mut rtc_refresh_request,
    client_id: *const c_char,
    client_id_len: usize,
    handle: *const c_char,
    handle_len: usize,
) {
    guard(
        || (),
        || {
            OptOut::new(request).set(|| rtc_refresh_request {
                client_id: rtc_str::view(client_id, client_id_len),
                handle: rtc_str::view(handle, handle_len),
                resource: rtc_str::NULL,
                new_access_token_json: rtc_str::NULL,
                want_token_json: 0,
                want_access_token_json: 1,
            })
        },
    )
}

/// `rtc_service_refresh` with its arguments in `request` and its answers in `*out_response`
/// (written only on success; free it with `rtc_refresh_response_free`). Fails as
/// `rtc_service_refresh` does.
#[no_mangle]
pub extern "C" fn rtc_service_refresh_with(
    service: *const rtc_service,
    request: *const rtc_refresh_request,
    out_response: *mut rtc_refresh_response,
    out_error: *mut *mut rtc_error,
) -> rtc_result {
    call(out_error, || {
        let req = read::object(request, "request")?;
        let out = Out::required(out_response, "out_response")?;
        let (s, client) = service_and_client(service, req.client_id.ptr, req.client_id.len)?;
        out.set(refresh(s, &client, req)?);
        Ok(())
    })
}

/// The refresh of both synchronous forms (this one and the positional `rtc_service_refresh`,
/// which fills a request from its arguments): reads the request's handle, resource and access
/// token, refreshes, and makes the wanted answers. `request.client_id` is the caller's to read.
pub(super) fn refresh(
    s: &rtc_service,
    client: &Client,
    request: &rtc_refresh_request,
) -> Result<rtc_refresh_response, FfiError> {
    let refresh = refresh_request(
        request.handle.ptr,
        request.handle.len,
        request.resource.ptr,
        request.resource.len,
        request.new_access_token_json.ptr,
        request.new_access_token_json.len,
    )?;
    let r = s.service.refresh(client, refresh)?;
    Ok(rtc_refresh_response {
        handle: out_secret(&r.handle),
        rotated: r.rotated,
        token_json: wanted(request.want_token_json, || encode_inner(&r.token)),
        access_token_json: wanted(request.want_access_token_json, || {
            encode_token(&r.access_token)
        }),
    })
}

fn wanted(flag: u8, text: impl FnOnce() -> String) -> *mut c_char {
    if flag == 0 {
        std::ptr::null_mut()
    } else {
        out_string(text())
    }
}

/// Frees (and wipes) the strings of a response and sets them to NULL, so a second call does
/// nothing. NULL is ignored.
#[no_mangle]
pub extern "C" fn rtc_refresh_response_free(response: *mut rtc_refresh_response) {
    guard(
        || (),
        || {
            if let Ok(r) = read::object_mut(response, "response") {
                for s in [&mut r.handle, &mut r.token_json, &mut r.access_token_json] {
                    rtc_string_free(std::mem::replace(s, std::ptr::null_mut()));
                }
            }
        },
    )
}
