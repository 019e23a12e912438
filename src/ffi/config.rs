//! Plain configuration structs: service options and client settings, with `_init` functions
//! that fill in the reference defaults.

use std::ffi::c_char;

use super::boundary::guard;
use super::error::FfiError;
use super::read;
use super::result::rtc_result;
use super::text::{rtc_str, RTC_MAX_STRING_LEN};
use super::write::OptOut;
use crate::model::{
    CleanupOptions, Client, ReplayScope, ServiceOptions, TokenExpiration, TokenUsage,
};

/// `RefreshTokenUsage` values (`rtc_client.refresh_token_usage`).
#[repr(u32)]
pub enum rtc_token_usage {
    RTC_TOKEN_USAGE_REUSE = 0,
    RTC_TOKEN_USAGE_ONE_TIME_ONLY = 1,
}

/// `RefreshTokenExpiration` values (`rtc_client.refresh_token_expiration`).
#[repr(u32)]
pub enum rtc_token_expiration {
    RTC_TOKEN_EXPIRATION_SLIDING = 0,
    RTC_TOKEN_EXPIRATION_ABSOLUTE = 1,
}

/// Accept-consumed policies (`rtc_service_options.accept_consumed_policy`).
#[repr(u32)]
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum rtc_accept_consumed_policy {
    /// Refuse consumed tokens (the reference default).
    RTC_ACCEPT_CONSUMED_REJECT = 0,
    /// Accept while now <= ConsumedTime + grace_seconds.
    RTC_ACCEPT_CONSUMED_GRACE = 1,
    /// Refuse, and remove the replayed token's family (or, with `replay_scope`
    /// `RTC_REPLAY_SCOPE_SUBJECT_AND_CLIENT`, every refresh token of the subject and client).
    RTC_ACCEPT_CONSUMED_REVOKE_ON_REPLAY = 2,
    /// Ask the host's callback (`rtc_service_builder_set_accept_consumed`).
    RTC_ACCEPT_CONSUMED_HOST = 3,
}

/// What `RTC_ACCEPT_CONSUMED_REVOKE_ON_REPLAY` removes (`rtc_service_options.replay_scope`).
#[repr(u32)]
pub enum rtc_replay_scope {
    /// The replayed token's family: the chain that leaked (the default).
    RTC_REPLAY_SCOPE_FAMILY = 0,
    /// Every refresh token of the same subject and client.
    RTC_REPLAY_SCOPE_SUBJECT_AND_CLIENT = 1,
}

/// Service-wide options. Fill with `rtc_service_options_init`, then change fields.
/// Boolean fields are `uint8_t`: 0 is false, anything else true.
#[repr(C)]
pub struct rtc_service_options {
    /// Default 1: delete a used OneTimeOnly token; 0 keeps it with ConsumedTime set.
    pub delete_one_time_only_refresh_tokens_on_use: u8,
    /// Default 1: protect payloads when a protector is set.
    pub data_protect_data: u8,
    /// Default 100: longer refresh tokens are refused (invalid_grant) before any lookup.
    pub max_handle_length: u32,
    /// Default 0: also remove consumed rows during cleanup.
    pub remove_consumed_tokens: u8,
    /// Default 0 seconds.
    pub consumed_token_cleanup_delay: u32,
    /// Default 100; must be at least 1.
    pub cleanup_batch_size: u32,
    /// An `rtc_accept_consumed_policy`; default `RTC_ACCEPT_CONSUMED_REJECT`.
    pub accept_consumed_policy: u32,
    /// For `RTC_ACCEPT_CONSUMED_GRACE`: the window in seconds. Default 0.
    pub grace_seconds: u32,
    /// Default 60: seconds after a one-time token's rotation during which presenting it again
    /// returns its existing successor (never a sibling); 0 is the reference's behaviour.
    pub reuse_window_seconds: u32,
    /// An `rtc_replay_scope`; default `RTC_REPLAY_SCOPE_FAMILY`.
    pub replay_scope: u32,
}

/// The settings of one client. Fill with `rtc_client_init`, then change fields.
/// `client_id` is borrowed: it must stay valid for the call that receives the struct.
#[repr(C)]
pub struct rtc_client {
    pub client_id: rtc_str,
    /// Default 0.
    pub allow_offline_access: u8,
    /// An `rtc_token_usage`; default `RTC_TOKEN_USAGE_REUSE`.
    pub refresh_token_usage: u32,
    /// An `rtc_token_expiration`; default `RTC_TOKEN_EXPIRATION_ABSOLUTE`.
    pub refresh_token_expiration: u32,
    /// Seconds; default 2592000.
    pub absolute_refresh_token_lifetime: i32,
    /// Seconds; default 1296000.
    pub sliding_refresh_token_lifetime: i32,
    /// Default 0.
    pub update_access_token_claims_on_refresh: u8,
    /// Seconds; default 3600.
    pub access_token_lifetime: i32,
    /// This client's reuse window in seconds; default -1: the service's
    /// (`rtc_service_options.reuse_window_seconds`).
    pub reuse_window_seconds: i32,
}

/// Fills `options` with the reference defaults (Duende IdentityServer 7). NULL is ignored.
#[no_mangle]
pub extern "C" fn rtc_service_options_init(options: *mut rtc_service_options) {
    guard(|| (), || OptOut::new(options).set(service_options_defaults))
}

fn service_options_defaults() -> rtc_service_options {
    let d = ServiceOptions::default();
    rtc_service_options {
        delete_one_time_only_refresh_tokens_on_use: u8::from(
            d.delete_one_time_only_refresh_tokens_on_use,
        ),
        data_protect_data: u8::from(d.data_protect_data),
        max_handle_length: d.max_handle_length as u32,
        remove_consumed_tokens: u8::from(d.cleanup.remove_consumed_tokens),
        consumed_token_cleanup_delay: d.cleanup.consumed_token_cleanup_delay,
        cleanup_batch_size: d.cleanup.batch_size,
        accept_consumed_policy: rtc_accept_consumed_policy::RTC_ACCEPT_CONSUMED_REJECT as u32,
        grace_seconds: 0,
        reuse_window_seconds: d.reuse_window_seconds,
        replay_scope: rtc_replay_scope::RTC_REPLAY_SCOPE_FAMILY as u32,
    }
}

/// Fills `client` with the reference defaults and the given id (borrowed, not copied). NULL
/// `client` is ignored.
#[no_mangle]
pub extern "C" fn rtc_client_init(
    client: *mut rtc_client,
    client_id: *const c_char,
    client_id_len: usize,
) {
    guard(
        || (),
        || OptOut::new(client).set(|| client_defaults(client_id, client_id_len)),
    )
}

fn client_defaults(client_id: *const c_char, client_id_len: usize) -> rtc_client {
    let d = Client::new("");
    rtc_client {
        client_id: rtc_str::view(client_id, client_id_len),
        allow_offline_access: u8::from(d.allow_offline_access),
        refresh_token_usage: rtc_token_usage::RTC_TOKEN_USAGE_REUSE as u32,
        refresh_token_expiration: rtc_token_expiration::RTC_TOKEN_EXPIRATION_ABSOLUTE as u32,
        absolute_refresh_token_lifetime: d.absolute_refresh_token_lifetime,
        sliding_refresh_token_lifetime: d.sliding_refresh_token_lifetime,
        update_access_token_claims_on_refresh: u8::from(d.update_access_token_claims_on_refresh),
        access_token_lifetime: d.access_token_lifetime,
        reuse_window_seconds: -1,
    }
}

pub(crate) fn service_options(o: &rtc_service_options) -> Result<ServiceOptions, FfiError> {
    if o.cleanup_batch_size == 0 {
        return Err(FfiError::new(
            rtc_result::RTC_RESULT_INVALID_ARGUMENT,
            "cleanup_batch_size must be at least 1",
        ));
    }
    Ok(ServiceOptions {
        delete_one_time_only_refresh_tokens_on_use: o.delete_one_time_only_refresh_tokens_on_use
            != 0,
        data_protect_data: o.data_protect_data != 0,
        max_handle_length: o.max_handle_length as usize,
        cleanup: CleanupOptions {
            remove_consumed_tokens: o.remove_consumed_tokens != 0,
            consumed_token_cleanup_delay: o.consumed_token_cleanup_delay,
            batch_size: o.cleanup_batch_size,
        },
        reuse_window_seconds: o.reuse_window_seconds,
        replay_scope: ReplayScope::from_u32(o.replay_scope).ok_or_else(|| {
            FfiError::new(
                rtc_result::RTC_RESULT_INVALID_ENUM,
                format!("unknown replay_scope {}", o.replay_scope),
            )
        })?,
    })
}

/// Reads `rtc_service_options.accept_consumed_policy`.
pub(crate) fn accept_consumed_policy(v: u32) -> Result<rtc_accept_consumed_policy, FfiError> {
    use rtc_accept_consumed_policy::*;
    [
        RTC_ACCEPT_CONSUMED_REJECT,
        RTC_ACCEPT_CONSUMED_GRACE,
        RTC_ACCEPT_CONSUMED_REVOKE_ON_REPLAY,
        RTC_ACCEPT_CONSUMED_HOST,
    ]
    .into_iter()
    .find(|p| *p as u32 == v)
    .ok_or_else(|| {
        FfiError::new(
            rtc_result::RTC_RESULT_INVALID_ENUM,
            format!("unknown accept_consumed_policy {v}"),
        )
    })
}

/// Copies a client struct into the model, checking every field.
pub(crate) fn client(c: &rtc_client) -> Result<Client, FfiError> {
    let id = read::field(c.client_id, "client.client_id", RTC_MAX_STRING_LEN)?
        .ok_or_else(|| FfiError::null("client.client_id"))?;
    if id.is_empty() {
        return Err(FfiError::new(
            rtc_result::RTC_RESULT_INVALID_ARGUMENT,
            "client.client_id is empty",
        ));
    }
    let usage = TokenUsage::from_u32(c.refresh_token_usage).ok_or_else(|| {
        FfiError::new(
            rtc_result::RTC_RESULT_INVALID_ENUM,
            format!("unknown refresh_token_usage {}", c.refresh_token_usage),
        )
    })?;
    let expiration = TokenExpiration::from_u32(c.refresh_token_expiration).ok_or_else(|| {
        FfiError::new(
            rtc_result::RTC_RESULT_INVALID_ENUM,
            format!(
                "unknown refresh_token_expiration {}",
                c.refresh_token_expiration
            ),
        )
    })?;
    Ok(Client {
        client_id: id.to_owned(),
        allow_offline_access: c.allow_offline_access != 0,
        refresh_token_usage: usage,
        refresh_token_expiration: expiration,
        absolute_refresh_token_lifetime: c.absolute_refresh_token_lifetime,
        sliding_refresh_token_lifetime: c.sliding_refresh_token_lifetime,
        update_access_token_claims_on_refresh: c.update_access_token_claims_on_refresh != 0,
        access_token_lifetime: c.access_token_lifetime,
        reuse_window_seconds: match c.reuse_window_seconds {
            -1 => None,
            n => Some(u32::try_from(n).map_err(|_| {
                FfiError::new(
                    rtc_result::RTC_RESULT_INVALID_ARGUMENT,
                    format!("client.reuse_window_seconds {n}: -1 (the service's) or 0 and up"),
                )
            })?),
        },
    })
}
