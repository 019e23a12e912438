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
    /// What the filter restricts, as the reference filters: per column (Duende's column name)
    /// the values a row may have there; blank values are ignored, the single value and the list
    /// are unioned, and a column without values is not listed. Every store filters by this.
    pub fn restrictions(&self) -> Vec<(&'static str, Vec<&str>)> {
        [
            ("SubjectId", present(&self.subject_id).into_iter().collect()),
            ("SessionId", present(&self.session_id).into_iter().collect()),
            ("ClientId", union(&self.client_id, &self.client_ids)),
            ("Type", union(&self.grant_type, &self.grant_types)),
        ]
        .into_iter()
        .filter(|(_, values)| !values.is_empty())
        .collect()
    }

    /// True when no field would restrict anything ("No filter values set." in the reference).
    pub fn is_empty(&self) -> bool {
        self.restrictions().is_empty()
    }

    /// Whether a row matches, with ordinal (case-sensitive) comparison.
    pub fn matches(&self, row: &PersistedGrant) -> bool {
        self.restrictions().iter().all(|(column, values)| {
            let value = match *column {
                "SubjectId" => row.subject_id.as_deref(),
                "SessionId" => row.session_id.as_deref(),
                "ClientId" => Some(row.client_id.as_str()),
                _ => Some(row.grant_type.as_str()),
            };
            value.is_some_and(|v| values.contains(&v))
        })
    }
}
