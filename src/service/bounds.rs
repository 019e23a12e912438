//! Bounds on what a client controls and on what one row may hold, so that no client can grow its
//! own row without limit and a row one store can write every store can read. Lengths are counted
//! as .NET counts them (UTF-16 units), since the reference's limits and columns are .NET's.

use super::{OAuthError, Reason, Rejection, ServiceError};
use crate::model::RefreshToken;

/// The longest `resource` parameter (Duende's `InputLengthRestrictions.ResourceIndicatorMaxLength`).
pub const MAX_RESOURCE_INDICATOR_LENGTH: usize = 512;
/// The most resource indicators one token keeps an access-token record for (each refresh with a
/// new `resource` adds one).
pub const MAX_RESOURCES_PER_TOKEN: usize = 16;
/// The longest description (Duende's `PersistedGrants.Description` column).
pub const MAX_DESCRIPTION_LENGTH: usize = 200;
/// The longest Data column (Duende's `PersistedGrants.Data`, and the PostgreSQL store's).
pub const MAX_DATA_LENGTH: usize = 50_000;

fn too_large() -> ServiceError {
    ServiceError::Rejected(Rejection {
        error: OAuthError::InvalidRequest,
        reason: Reason::TooLarge,
    })
}

fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count()
}

/// A refresh's `resource`: not too long, and not one more than the token may keep.
pub(super) fn check_resource(token: &RefreshToken, resource: &str) -> Result<(), ServiceError> {
    if utf16_len(resource) > MAX_RESOURCE_INDICATOR_LENGTH {
        return Err(too_large());
    }
    let known = token.access_token_for(resource).is_some();
    if !known && token.access_tokens.len() >= MAX_RESOURCES_PER_TOKEN {
        return Err(too_large());
    }
    Ok(())
}

/// A create's description.
pub(super) fn check_description(description: Option<&str>) -> Result<(), ServiceError> {
    match description {
        Some(d) if utf16_len(d) > MAX_DESCRIPTION_LENGTH => Err(too_large()),
        _ => Ok(()),
    }
}

/// A row's Data, before it is written. (UTF-8 bytes are never fewer than UTF-16 units, so the
/// byte length settles every ordinary row without counting.)
pub(super) fn check_data(data: &str) -> Result<(), ServiceError> {
    if data.len() > MAX_DATA_LENGTH && utf16_len(data) > MAX_DATA_LENGTH {
        return Err(too_large());
    }
    Ok(())
}
