//! The upgrade of IdentityServer4 (model version 4) refresh tokens to version 5, as the
//! reference performs it on read: the single access token carries everything.

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::read::DecodeError;
use crate::model::{Claim, RefreshToken, Subject, Token};

/// Builds the version-5 record: Subject from the access token's `sub` and claims (duplicates
/// dropped), ClientId and Description copied, AuthorizedScopes from its `scope` claims, the
/// token moved to `AccessTokens[""]`. SessionId is the payload's own, whatever the version (as
/// the reference's deserializer reads it), never derived from a `sid` claim: a genuine version-4
/// row has none, so it stays null there.
pub(super) fn upgrade(
    creation_time: DateTime<Utc>,
    lifetime: i32,
    consumed_time: Option<DateTime<Utc>>,
    access_token: Token,
    session_id: Option<String>,
    extra: Vec<(String, Value)>,
) -> Result<RefreshToken, DecodeError> {
    let sub = access_token
        .subject_id()
        .ok_or_else(|| DecodeError::Malformed("a version-4 access token has no sub claim".into()))?
        .to_owned();
    let client_id = access_token
        .client_id
        .clone()
        .ok_or_else(|| DecodeError::Malformed("a version-4 access token has no ClientId".into()))?;
    let mut subject_claims: Vec<Claim> = vec![Claim::new("sub", sub)];
    for c in &access_token.claims {
        let duplicate = subject_claims.iter().any(|s| {
            s.claim_type == c.claim_type && s.value == c.value && s.value_type == c.value_type
        });
        if !duplicate {
            subject_claims.push(c.clone());
        }
    }
    Ok(RefreshToken {
        creation_time,
        lifetime,
        consumed_time,
        access_token: None,
        authorized_scopes: access_token.scopes(),
        description: access_token.description.clone(),
        access_tokens: vec![(String::new(), access_token)],
        subject: Subject {
            authentication_type: Some("Duende.IdentityServer".into()),
            claims: subject_claims,
        },
        version: 5,
        client_id,
        session_id,
        authorized_resource_indicators: None,
        proof_type: None,
        lineage: None,
        extra,
    })
}
