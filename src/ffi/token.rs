//! A validated token the host keeps for its update (`rtc_token`), so that the update need not
//! send the whole record back as JSON to be parsed again.
//!
//! The token endpoint validates a refresh token, re-issues its access token, then updates it:
//! between the two only the access tokens change. A host that has the record as objects
//! already (the .NET adapter hands it to Duende's pipeline) would otherwise write it to JSON
//! and the library would parse it again, on every refresh, to write nothing at all for a ReUse
//! token. With the kept token the update takes the token as validated plus the host's access
//! tokens (`rtc_service_update_token_begin`), and reads even those only when it writes.
//!
//! The object is immutable and shared (an `Arc`): keeping one costs a reference count, and a
//! kept token may be updated more than once (a retry).

use std::sync::Arc;

use super::boundary::guard;
use super::read;
use super::write::give;
use crate::model::{RefreshToken, TokenExpiration, TokenUsage};
use crate::service::RefreshTokenService;

/// A token as a validation read it. Immutable; thread-safe. Valid in `rtc_outputs.token` for
/// the done callback only: keep it with `rtc_token_keep`, free a kept one with
/// `rtc_token_free`. Holds the token's claims (personal data), never its handle.
pub struct rtc_token {
    pub(crate) token: Arc<RefreshToken>,
}

impl rtc_token {
    pub(crate) fn new(token: RefreshToken) -> Self {
        Self {
            token: Arc::new(token),
        }
    }
}

/// Keeps a token the library lent (`rtc_outputs.token`) past the done callback: returns a
/// token of the host's own, to pass to `rtc_service_update_token_begin` and to free with
/// `rtc_token_free`. Cheap (a reference count). NULL for NULL.
#[no_mangle]
pub extern "C" fn rtc_token_keep(token: *const rtc_token) -> *mut rtc_token {
    guard(std::ptr::null_mut, || match read::opt_object(token) {
        Some(t) => give(rtc_token {
            token: t.token.clone(),
        }),
        None => std::ptr::null_mut(),
    })
}

/// Frees a token kept with `rtc_token_keep`. NULL is ignored. Never pass the lent
/// `rtc_outputs.token` itself.
#[no_mangle]
pub extern "C" fn rtc_token_free(token: *mut rtc_token) {
    guard(|| (), || drop(read::take(token)))
}

/// Whether an update for a client with this `rtc_token_usage` and `rtc_token_expiration` writes
/// the token, and so reads the access tokens given to `rtc_service_update_token_begin`
/// (OneTimeOnly rotates, Sliding extends, `must_update` forces a write): a host need not write
/// them out when it does not. An unknown enum value answers true.
#[no_mangle]
pub extern "C" fn rtc_update_writes(usage: u32, expiration: u32, must_update: u8) -> bool {
    guard(
        || true,
        || match (
            TokenUsage::from_u32(usage),
            TokenExpiration::from_u32(expiration),
        ) {
            (Some(u), Some(e)) => RefreshTokenService::update_writes(u, e, must_update != 0),
            _ => true,
        },
    )
}
