//! The persisted-grant row: what the host already stores (Duende's `PersistedGrant`, the
//! `PersistedGrants` table). Stores speak rows; only the service speaks tokens.

use chrono::{DateTime, Utc};

/// The grant type of refresh-token rows.
pub const REFRESH_TOKEN_GRANT_TYPE: &str = "refresh_token";
/// The grant type of reference access tokens (removed alongside a revoked refresh token).
pub const REFERENCE_TOKEN_GRANT_TYPE: &str = "reference_token";

/// One row of the persisted-grant store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PersistedGrant {
    /// The hashed key (never the handle itself).
    pub key: String,
    pub grant_type: String,
    pub subject_id: Option<String>,
    pub session_id: Option<String>,
    pub client_id: String,
    pub description: Option<String>,
    pub creation_time: DateTime<Utc>,
    pub expiration: Option<DateTime<Utc>>,
    pub consumed_time: Option<DateTime<Utc>>,
    /// The serialised payload (envelope around the token JSON).
    pub data: String,
}

/// A filter on rows, as `PersistedGrantFilter`: every field given must match; a list and its
/// single value are unioned; blank values are ignored. A filter with nothing set is refused.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct GrantFilter {
    pub subject_id: Option<String>,
    pub session_id: Option<String>,
    pub client_id: Option<String>,
    pub client_ids: Vec<String>,
    pub grant_type: Option<String>,
    pub grant_types: Vec<String>,
}

fn present(v: &Option<String>) -> Option<&str> {
    v.as_deref().filter(|s| !s.trim().is_empty())
}

fn union<'a>(one: &'a Option<String>, many: &'a [String]) -> Vec<&'a str> {
    present(one)
        .into_iter()
        .chain(
            many.iter()
                .map(String::as_str)
                .filter(|s| !s.trim().is_empty()),
        )
        .collect()
}

impl GrantFilter {
    /// True when no field would restrict anything ("No filter values set." in the reference).
    pub fn is_empty(&self) -> bool {
        present(&self.subject_id).is_none()
            && present(&self.session_id).is_none()
            && union(&self.client_id, &self.client_ids).is_empty()
            && union(&self.grant_type, &self.grant_types).is_empty()
    }

    /// Whether a row matches, with ordinal (case-sensitive) comparison.
    pub fn matches(&self, row: &PersistedGrant) -> bool {
        if let Some(s) = present(&self.subject_id) {
            if row.subject_id.as_deref() != Some(s) {
                return false;
            }
        }
        if let Some(s) = present(&self.session_id) {
            if row.session_id.as_deref() != Some(s) {
                return false;
            }
        }
        let clients = union(&self.client_id, &self.client_ids);
        if !clients.is_empty() && !clients.contains(&row.client_id.as_str()) {
            return false;
        }
        let types = union(&self.grant_type, &self.grant_types);
        if !types.is_empty() && !types.contains(&row.grant_type.as_str()) {
            return false;
        }
        true
    }
}
