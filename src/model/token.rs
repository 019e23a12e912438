//! The refresh-token record and the access-token record it embeds, as Duende's model
//! (version 5) defines them. Field order is the order the reference serialises them in.

use chrono::{DateTime, Utc};
use serde_json::Value;

/// The claim value type the reference omits when writing (a missing one reads back as this).
pub const STRING_CLAIM_VALUE_TYPE: &str = "http://www.w3.org/2001/XMLSchema#string";

/// One claim. `value_type` is `None` for plain strings (the reference drops that URI).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Claim {
    pub claim_type: String,
    pub value: String,
    pub value_type: Option<String>,
    /// Written only when present (Duende 6.3+ writes it for subject claims whose issuer is not
    /// "LOCAL AUTHORITY").
    pub issuer: Option<String>,
}

impl Claim {
    pub fn new(claim_type: impl Into<String>, value: impl Into<String>) -> Self {
        Self {
            claim_type: claim_type.into(),
            value: value.into(),
            value_type: None,
            issuer: None,
        }
    }
}

/// The user the token was issued to: a serialised `ClaimsPrincipal`.
#[derive(Clone, Debug, PartialEq, Eq, Default)]
pub struct Subject {
    /// "Duende.IdentityServer" for principals built by IdentityServer.
    pub authentication_type: Option<String>,
    pub claims: Vec<Claim>,
}

impl Subject {
    /// A subject with the `sub` claim and IdentityServer's authentication type.
    pub fn new(subject_id: impl Into<String>) -> Self {
        Self {
            authentication_type: Some("Duende.IdentityServer".into()),
            claims: vec![Claim::new("sub", subject_id)],
        }
    }

    /// The first `sub` claim, which becomes the row's SubjectId.
    pub fn subject_id(&self) -> Option<&str> {
        self.claims
            .iter()
            .find(|c| c.claim_type == "sub")
            .map(|c| c.value.as_str())
    }
}

/// `AccessTokenType`: Jwt = 0, Reference = 1. Unknown numbers are kept as they were read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AccessTokenType(pub i64);

impl AccessTokenType {
    pub const JWT: Self = Self(0);
    pub const REFERENCE: Self = Self(1);
}

/// An access-token record (Duende's `Token`), as embedded in the refresh token.
#[derive(Clone, Debug, PartialEq)]
pub struct Token {
    pub allowed_signing_algorithms: Vec<String>,
    /// The cnf JSON as a string, e.g. `{"jkt":"..."}`.
    pub confirmation: Option<String>,
    pub audiences: Vec<String>,
    pub issuer: Option<String>,
    pub creation_time: DateTime<Utc>,
    pub lifetime: i32,
    /// "access_token".
    pub token_type: String,
    pub client_id: Option<String>,
    pub access_token_type: AccessTokenType,
    pub description: Option<String>,
    pub include_jwt_id: bool,
    pub claims: Vec<Claim>,
    pub version: i64,
    /// Properties this version does not know, kept in order so that a rewrite loses nothing.
    pub extra: Vec<(String, Value)>,
}

impl Token {
    /// An access-token record with the reference defaults.
    pub fn new(client_id: impl Into<String>, creation_time: DateTime<Utc>, lifetime: i32) -> Self {
        Self {
            allowed_signing_algorithms: Vec::new(),
            confirmation: None,
            audiences: Vec::new(),
            issuer: None,
            creation_time,
            lifetime,
            token_type: "access_token".into(),
            client_id: Some(client_id.into()),
            access_token_type: AccessTokenType::JWT,
            description: None,
            include_jwt_id: false,
            claims: Vec::new(),
            version: 5,
            extra: Vec::new(),
        }
    }

    /// The `sub` claim.
    pub fn subject_id(&self) -> Option<&str> {
        self.claims
            .iter()
            .find(|c| c.claim_type == "sub")
            .map(|c| c.value.as_str())
    }

    /// The values of the `scope` claims.
    pub fn scopes(&self) -> Vec<String> {
        self.claims
            .iter()
            .filter(|c| c.claim_type == "scope")
            .map(|c| c.value.clone())
            .collect()
    }
}

/// The refresh-token record (Duende's `RefreshToken`, model version 5).
#[derive(Clone, Debug, PartialEq)]
pub struct RefreshToken {
    pub creation_time: DateTime<Utc>,
    /// Seconds from `creation_time`; the token is expired once now > creation_time + lifetime.
    pub lifetime: i32,
    pub consumed_time: Option<DateTime<Utc>>,
    /// The obsolete single access token of version-4 records; `None` once upgraded.
    pub access_token: Option<Token>,
    /// The access tokens issued with this refresh token, keyed by resource indicator ("" for
    /// none), in insertion order.
    pub access_tokens: Vec<(String, Token)>,
    pub subject: Subject,
    pub version: i64,
    pub client_id: String,
    pub session_id: Option<String>,
    pub description: Option<String>,
    pub authorized_scopes: Vec<String>,
    pub authorized_resource_indicators: Option<Vec<String>>,
    /// None = 0, ClientCertificate = 1, DPoP = 2; absent in rows written before Duende 6.3.
    pub proof_type: Option<i64>,
    /// The chain this token belongs to (the core's own property; the reference ignores it).
    /// `None` for tokens the reference wrote, until the core first rotates them.
    pub lineage: Option<Lineage>,
    /// Properties this version does not know, kept in order so that a rewrite loses nothing.
    pub extra: Vec<(String, Value)>,
}

/// Where a token sits in its chain. Written as `"RefreshTokenCore":{"FamilyId","IssuedTime"}`, a
/// property the reference's deserializer ignores.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lineage {
    /// The family: the persisted-grant key of the chain's first token. Every successor inherits
    /// it; a replay revokes the family.
    pub family_id: String,
    /// When this token was issued (created, or rotated to). A chain's CreationTime stays the
    /// first token's, so this is what a reuse window is measured from in delete mode.
    pub issued_time: Option<DateTime<Utc>>,
}

impl RefreshToken {
    /// The instant the token expires: CreationTime + Lifetime.
    pub fn expires_at(&self) -> DateTime<Utc> {
        self.creation_time + chrono::Duration::seconds(i64::from(self.lifetime))
    }

    /// The reference's expiry test: strictly after CreationTime + Lifetime.
    pub fn is_expired_at(&self, now: DateTime<Utc>) -> bool {
        now > self.expires_at()
    }

    pub fn subject_id(&self) -> Option<&str> {
        self.subject.subject_id()
    }

    /// The access token stored for a resource indicator ("" for none).
    pub fn access_token_for(&self, resource: &str) -> Option<&Token> {
        self.access_tokens
            .iter()
            .find(|(k, _)| same_resource(k, resource))
            .map(|(_, t)| t)
    }

    /// A copy of this token with `access_tokens` in place of its own, which are not copied (the
    /// update of a kept token: the host re-issued them).
    pub fn with_access_tokens(&self, access_tokens: Vec<(String, Token)>) -> RefreshToken {
        // Destructured without `..`, so that a field added later must be copied here too.
        let RefreshToken {
            creation_time,
            lifetime,
            consumed_time,
            access_token,
            access_tokens: _,
            subject,
            version,
            client_id,
            session_id,
            description,
            authorized_scopes,
            authorized_resource_indicators,
            proof_type,
            lineage,
            extra,
        } = self;
        RefreshToken {
            creation_time: *creation_time,
            lifetime: *lifetime,
            consumed_time: *consumed_time,
            access_token: access_token.clone(),
            access_tokens,
            subject: subject.clone(),
            version: *version,
            client_id: client_id.clone(),
            session_id: session_id.clone(),
            description: description.clone(),
            authorized_scopes: authorized_scopes.clone(),
            authorized_resource_indicators: authorized_resource_indicators.clone(),
            proof_type: *proof_type,
            lineage: lineage.clone(),
            extra: extra.clone(),
        }
    }

    /// Stores (or replaces) the access token for a resource indicator, as `SetAccessToken` does
    /// (a new one goes last), and returns it where it is stored.
    pub fn set_access_token(&mut self, resource: &str, token: Token) -> &mut Token {
        match self.access_token_index(resource) {
            Some(i) => {
                let slot = &mut self.access_tokens[i].1;
                *slot = token;
                slot
            }
            None => self.push_access_token(resource, token),
        }
    }

    /// The access token stored for a resource indicator, where it is stored; when there is none,
    /// `make`'s is stored first, as [`Self::set_access_token`] stores it.
    pub fn access_token_or_insert_with(
        &mut self,
        resource: &str,
        make: impl FnOnce(&RefreshToken) -> Token,
    ) -> &mut Token {
        match self.access_token_index(resource) {
            Some(i) => &mut self.access_tokens[i].1,
            None => {
                let token = make(self);
                self.push_access_token(resource, token)
            }
        }
    }

    fn access_token_index(&self, resource: &str) -> Option<usize> {
        self.access_tokens
            .iter()
            .position(|(k, _)| same_resource(k, resource))
    }

    fn push_access_token(&mut self, resource: &str, token: Token) -> &mut Token {
        self.access_tokens.push((resource.to_owned(), token));
        let last = self.access_tokens.len() - 1;
        &mut self.access_tokens[last].1
    }
}

/// Whether two resource indicators are the same. The common one is empty (no `resource`
/// parameter), and `==` on two empty strings still calls `memcmp`, which a profile of the
/// refresh put at 4 % of its time (three lookups a refresh): equal lengths and, unless empty,
/// equal bytes.
fn same_resource(a: &str, b: &str) -> bool {
    a.len() == b.len() && (a.is_empty() || a == b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn access_tokens_are_found_by_their_exact_resource_indicator() {
        let at = |lifetime| Token::new("app", Utc::now(), lifetime);
        let mut t = RefreshToken {
            creation_time: Utc::now(),
            lifetime: 60,
            consumed_time: None,
            access_token: None,
            access_tokens: Vec::new(),
            subject: Subject::new("alice"),
            version: 5,
            client_id: "app".into(),
            session_id: None,
            description: None,
            authorized_scopes: Vec::new(),
            authorized_resource_indicators: None,
            proof_type: None,
            lineage: None,
            extra: Vec::new(),
        };
        t.set_access_token("", at(1));
        t.set_access_token("urn:a", at(2));
        t.set_access_token("urn:b", at(3));
        for (resource, lifetime) in [("", 1), ("urn:a", 2), ("urn:b", 3)] {
            assert_eq!(
                t.access_token_for(resource).map(|a| a.lifetime),
                Some(lifetime)
            );
        }
        for absent in ["urn:c", "urn:", "urn:ab", " "] {
            assert!(t.access_token_for(absent).is_none(), "{absent:?}");
        }
        // Found again where it is, not added twice; a new one goes last.
        t.access_token_or_insert_with("urn:a", |_| at(9)).lifetime = 20;
        t.access_token_or_insert_with("urn:c", |_| at(4));
        let order: Vec<(&str, i32)> = t
            .access_tokens
            .iter()
            .map(|(k, a)| (k.as_str(), a.lifetime))
            .collect();
        assert_eq!(order, [("", 1), ("urn:a", 20), ("urn:b", 3), ("urn:c", 4)]);
    }
}
