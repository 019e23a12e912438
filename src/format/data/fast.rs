//! The common shape of a stored token, decoded straight into typed structs (serde derive) with
//! no `serde_json::Value` tree: the envelope version 1 and a version-5 RefreshToken with only
//! the properties the reference (and this library) write.
//!
//! It answers only when it is sure; anything else (an unknown property, which must be kept for
//! a rollback; a legacy version; a duplicate property; a wrong type; a missing required field)
//! is `None`, and `read.rs` decodes the text the general way, which is the specification: so
//! its errors, its tolerance and its keeping of unknown properties stay exactly as they were.
//! Debug builds check every answer of this path against the general one.

use serde::de::{self, IgnoredAny, MapAccess, Visitor};
use serde::Deserialize;
use std::borrow::Cow;
use std::fmt;

use crate::format::datetime;
use crate::model::{
    AccessTokenType, Claim, Lineage, RefreshToken, Subject, Token, STRING_CLAIM_VALUE_TYPE,
};

/// The envelope Duende 6+ writes. Other properties are ignored, as the general reader does.
#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(rename = "PersistentGrantDataContainerVersion")]
    version: Option<i64>,
    #[serde(rename = "DataProtected")]
    protected: Option<bool>,
    #[serde(rename = "Payload", borrow)]
    payload: Option<Cow<'a, str>>,
}

/// Whether the payload is protected, and the payload, of a well-formed version-1 envelope: read
/// by its bytes when it is unprotected and in the form System.Text.Json writes (`envelope.rs`),
/// with serde derive otherwise.
pub(super) fn envelope(data: &str) -> Option<(bool, Cow<'_, str>)> {
    if let Some(payload) = super::envelope::unprotected_payload(data) {
        debug_assert_eq!(
            Some((false, payload.as_str())),
            derived_envelope(data)
                .as_ref()
                .map(|(p, t)| (*p, t.as_ref())),
            "envelope read by its bytes and by serde derive"
        );
        return Some((false, Cow::Owned(payload)));
    }
    derived_envelope(data)
}

fn derived_envelope(data: &str) -> Option<(bool, Cow<'_, str>)> {
    let e: Envelope = serde_json::from_str(data).ok()?;
    if e.version != Some(1) {
        return None;
    }
    Some((e.protected.unwrap_or(false), e.payload?))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RefreshTokenDto<'a> {
    #[serde(rename = "CreationTime", borrow)]
    creation_time: Option<Cow<'a, str>>,
    #[serde(rename = "Lifetime")]
    lifetime: Option<i32>,
    #[serde(rename = "ConsumedTime", borrow)]
    consumed_time: Option<Cow<'a, str>>,
    #[serde(rename = "AccessToken", borrow)]
    access_token: Option<TokenDto<'a>>,
    #[serde(rename = "AccessTokens", borrow)]
    access_tokens: Option<AccessTokens<'a>>,
    #[serde(rename = "Subject")]
    subject: Option<SubjectDto>,
    #[serde(rename = "Version")]
    version: Option<i64>,
    #[serde(rename = "ClientId")]
    client_id: Option<String>,
    #[serde(rename = "SessionId")]
    session_id: Option<String>,
    #[serde(rename = "Description")]
    description: Option<String>,
    #[serde(rename = "AuthorizedScopes")]
    authorized_scopes: Option<Vec<String>>,
    #[serde(rename = "AuthorizedResourceIndicators")]
    authorized_resource_indicators: Option<Vec<String>>,
    #[serde(rename = "ProofType")]
    proof_type: Option<i64>,
    /// Present or absent, never null: the general reader keeps a null lineage as an unknown
    /// property, so a null is left to it.
    #[serde(
        rename = "RefreshTokenCore",
        borrow,
        default,
        deserialize_with = "present"
    )]
    lineage: Option<LineageDto<'a>>,
}

/// A property that, when present, must hold a `T` (a null is an error, not `None`).
fn present<'de, D: de::Deserializer<'de>, T: Deserialize<'de>>(
    d: D,
) -> Result<Option<T>, D::Error> {
    T::deserialize(d).map(Some)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct TokenDto<'a> {
    #[serde(rename = "AllowedSigningAlgorithms")]
    allowed_signing_algorithms: Option<Vec<String>>,
    #[serde(rename = "Confirmation")]
    confirmation: Option<String>,
    #[serde(rename = "Audiences")]
    audiences: Option<Vec<String>>,
    #[serde(rename = "Issuer")]
    issuer: Option<String>,
    #[serde(rename = "CreationTime", borrow)]
    creation_time: Option<Cow<'a, str>>,
    #[serde(rename = "Lifetime")]
    lifetime: Option<i32>,
    #[serde(rename = "Type")]
    token_type: Option<String>,
    #[serde(rename = "ClientId")]
    client_id: Option<String>,
    #[serde(rename = "AccessTokenType")]
    access_token_type: Option<i64>,
    #[serde(rename = "Description")]
    description: Option<String>,
    #[serde(rename = "IncludeJwtId")]
    include_jwt_id: Option<bool>,
    #[serde(rename = "Claims")]
    claims: Option<Vec<ClaimDto>>,
    #[serde(rename = "Version")]
    version: Option<i64>,
    /// Derived from the scope claims and rewritten from them: read and dropped, as the general
    /// reader does.
    #[serde(rename = "Scopes")]
    _scopes: Option<IgnoredAny>,
}

/// A principal: other properties are ignored, as the general reader does.
#[derive(Deserialize)]
struct SubjectDto {
    #[serde(rename = "AuthenticationType")]
    authentication_type: Option<String>,
    #[serde(rename = "Claims")]
    claims: Option<Vec<ClaimDto>>,
}

/// A claim: other properties are ignored, as the general reader does.
#[derive(Deserialize)]
struct ClaimDto {
    #[serde(rename = "Type")]
    claim_type: Option<String>,
    #[serde(rename = "Value")]
    value: Option<String>,
    #[serde(rename = "ValueType")]
    value_type: Option<String>,
    #[serde(rename = "Issuer")]
    issuer: Option<String>,
}

/// The lineage: other properties are ignored, as the general reader does.
#[derive(Deserialize)]
struct LineageDto<'a> {
    #[serde(rename = "FamilyId")]
    family_id: String,
    #[serde(rename = "IssuedTime", borrow)]
    issued_time: Option<Cow<'a, str>>,
}

/// `AccessTokens` in the order written; a duplicate key is an error (the general reader keeps
/// the last value at the first position: it decides).
struct AccessTokens<'a>(Vec<(String, TokenDto<'a>)>);

impl<'de: 'a, 'a> Deserialize<'de> for AccessTokens<'a> {
    fn deserialize<D: de::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> Visitor<'de> for V<'a> {
            type Value = AccessTokens<'a>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("an object of access tokens")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Self::Value, M::Error> {
                let mut out: Vec<(String, TokenDto<'a>)> = Vec::new();
                while let Some(key) = map.next_key::<String>()? {
                    if out.iter().any(|(k, _)| *k == key) {
                        return Err(de::Error::custom("duplicate access-token key"));
                    }
                    out.push((key, map.next_value()?));
                }
                Ok(AccessTokens(out))
            }
        }
        d.deserialize_map(V(std::marker::PhantomData))
    }
}

fn date(s: &Option<Cow<'_, str>>) -> Option<Option<chrono::DateTime<chrono::Utc>>> {
    match s {
        None => Some(None),
        Some(s) => datetime::parse(s).map(Some),
    }
}

fn claims(dtos: Option<Vec<ClaimDto>>) -> Option<Vec<Claim>> {
    dtos.unwrap_or_default()
        .into_iter()
        .map(|c| {
            Some(Claim {
                claim_type: c.claim_type?,
                value: c.value.unwrap_or_default(),
                value_type: c.value_type.filter(|t| t != STRING_CLAIM_VALUE_TYPE),
                issuer: c.issuer,
            })
        })
        .collect()
}

fn token(t: TokenDto<'_>) -> Option<Token> {
    Some(Token {
        allowed_signing_algorithms: t.allowed_signing_algorithms.unwrap_or_default(),
        confirmation: t.confirmation,
        audiences: t.audiences.unwrap_or_default(),
        issuer: t.issuer,
        creation_time: date(&t.creation_time)??,
        lifetime: t.lifetime?,
        token_type: t.token_type.unwrap_or_else(|| "access_token".into()),
        client_id: t.client_id,
        access_token_type: AccessTokenType(t.access_token_type.unwrap_or(0)),
        description: t.description,
        include_jwt_id: t.include_jwt_id.unwrap_or(false),
        claims: claims(t.claims)?,
        version: t.version.unwrap_or(5),
        extra: Vec::new(),
    })
}

/// An access-token record (Duende's `Token` JSON) in the common shape, or `None` for the
/// general reader.
pub(super) fn access_token(text: &str) -> Option<Token> {
    token(serde_json::from_str::<TokenDto>(text).ok()?)
}

/// A RefreshToken's `AccessTokens` object in the common shape (as a host sends it back to the
/// update of a kept token), or `None` for the general reader.
pub(super) fn access_tokens(text: &str) -> Option<Vec<(String, Token)>> {
    serde_json::from_str::<AccessTokens>(text)
        .ok()?
        .0
        .into_iter()
        .map(|(k, v)| Some((k, token(v)?)))
        .collect()
}

/// A version-5 RefreshToken in the common shape, or `None` for the general reader.
pub(super) fn refresh_token(text: &str) -> Option<RefreshToken> {
    let t: RefreshTokenDto = serde_json::from_str(text).ok()?;
    let version = t.version.unwrap_or(5);
    if version < 5 {
        return None;
    }
    let lineage = match t.lineage {
        None => None,
        Some(l) => Some(Lineage {
            family_id: l.family_id,
            issued_time: date(&l.issued_time)?,
        }),
    };
    let subject = t.subject?;
    Some(RefreshToken {
        creation_time: date(&t.creation_time)??,
        lifetime: t.lifetime?,
        consumed_time: date(&t.consumed_time)?,
        access_token: match t.access_token {
            None => None,
            Some(a) => Some(token(a)?),
        },
        access_tokens: t
            .access_tokens
            .map(|a| a.0)
            .unwrap_or_default()
            .into_iter()
            .map(|(k, v)| Some((k, token(v)?)))
            .collect::<Option<Vec<_>>>()?,
        subject: Subject {
            authentication_type: subject.authentication_type,
            claims: claims(subject.claims)?,
        },
        version,
        client_id: t.client_id?,
        session_id: t.session_id,
        description: t.description,
        authorized_scopes: t.authorized_scopes.unwrap_or_default(),
        authorized_resource_indicators: t.authorized_resource_indicators,
        proof_type: t.proof_type,
        lineage,
        extra: Vec::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::data::encode_inner;

    /// Every inner JSON Duende 7.4.8 wrote in the fixtures takes the fast way (else it would
    /// be no faster), and reads as the general reader reads it (debug builds check that).
    #[test]
    fn every_token_duende_wrote_and_every_token_this_library_writes_takes_the_fast_way() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/fixtures/duende-7.4.8/unprotected");
        let mut read = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_none_or(|e| e != "json") {
                continue;
            }
            let f: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            for inner in [&f["inner_json"], &f["initial"]["inner_json"]] {
                if let Some(text) = inner.as_str() {
                    let token = refresh_token(text)
                        .unwrap_or_else(|| panic!("{}: not the fast way", path.display()));
                    // Written back, it is still the fast way (a token this library writes).
                    assert!(refresh_token(&encode_inner(&token)).is_some());
                    read += 1;
                }
            }
        }
        assert!(read >= 12, "{read} tokens read");
    }

    /// The record the .NET bindings pass to every update (System.Text.Json's writing of a token
    /// the library gave them, as the Duende adapter sends it back) takes the fast way too, and
    /// so does the host's record through `decode_record`.
    #[test]
    fn a_record_as_the_dotnet_bindings_write_it_takes_the_fast_way() {
        let record = r#"{"CreationTime":"2026-12-03T11:29:17.1301971Z","Lifetime":2592000,"AccessTokens":{"":{"AllowedSigningAlgorithms":[],"Audiences":["api1"],"Issuer":"https://idp.example","CreationTime":"2026-12-03T11:29:17.0354982Z","Lifetime":3600,"Type":"access_token","ClientId":"web","AccessTokenType":0,"IncludeJwtId":false,"Claims":[{"Type":"sub","Value":"alice"},{"Type":"scope","Value":"api1"},{"Type":"client_id","Value":"web"}],"Version":5,"Scopes":["api1"]}},"Subject":{"AuthenticationType":"Duende.IdentityServer","Claims":[{"Type":"sub","Value":"alice"},{"Type":"idp","Value":"local"},{"Type":"auth_time","Value":"1700000000"}]},"Version":5,"ClientId":"web","AuthorizedScopes":["openid","profile","api1","offline_access"],"ProofType":0,"RefreshTokenCore":{"FamilyId":"E4E859E162B3474E4082908E45FAED8FB303C0D1CB3943CA4E41C4D231BE2919","IssuedTime":"2026-12-03T11:29:17.1301971Z"}}"#;
        let fast = refresh_token(record).expect("the fast way");
        assert_eq!(crate::format::data::decode_record(record).unwrap(), fast);
        assert_eq!(crate::format::data::decode(record, None).unwrap(), fast);
        // So do the access tokens alone, as the update of a kept token gets them, and one
        // access token, as a refresh gets the host's new one.
        let v: serde_json::Value = serde_json::from_str(record).unwrap();
        let tokens = v["AccessTokens"].to_string();
        assert_eq!(
            access_tokens(&tokens).expect("the fast way"),
            fast.access_tokens
        );
        assert_eq!(
            crate::format::data::decode_access_tokens(&tokens).unwrap(),
            fast.access_tokens
        );
        let one = v["AccessTokens"][""].to_string();
        assert_eq!(access_token(&one).as_ref(), Some(&fast.access_tokens[0].1));
        assert!(
            access_tokens(&tokens.replace("\"Version\"", "\"Future\":1,\"Version\"")).is_none()
        );
    }

    #[test]
    fn anything_unusual_is_left_to_the_general_reader() {
        let base = r#"{"CreationTime":"2026-01-01T00:00:00Z","Lifetime":60,"Subject":{"Claims":[{"Type":"sub","Value":"a"}]},"ClientId":"app"}"#;
        assert!(refresh_token(base).is_some());
        for unusual in [
            // An unknown property (kept for a rollback by the general reader).
            base.replace("\"ClientId\"", "\"Future\":1,\"ClientId\""),
            // A legacy version, a duplicate property, a wrong type, a missing field.
            base.replace("\"ClientId\"", "\"Version\":4,\"ClientId\""),
            base.replace("\"ClientId\"", "\"Lifetime\":61,\"ClientId\""),
            base.replace("\"Lifetime\":60", "\"Lifetime\":60.0"),
            base.replace(",\"ClientId\":\"app\"", ""),
            // A null or unreadable lineage (kept as an unknown property by the general reader).
            base.replace("\"ClientId\"", "\"RefreshTokenCore\":null,\"ClientId\""),
            base.replace("\"ClientId\"", "\"RefreshTokenCore\":{\"FamilyId\":7},\"ClientId\""),
            base.replace(
                "\"ClientId\"",
                "\"RefreshTokenCore\":{\"FamilyId\":\"f\",\"IssuedTime\":\"then\"},\"ClientId\"",
            ),
            // An access-token key twice, a date that is not one.
            base.replace("\"ClientId\"", "\"AccessTokens\":{\"\":{\"CreationTime\":\"2026-01-01T00:00:00Z\",\"Lifetime\":1},\"\":{\"CreationTime\":\"2026-01-01T00:00:00Z\",\"Lifetime\":2}},\"ClientId\""),
            base.replace("2026-01-01T00:00:00Z", "yesterday"),
        ] {
            assert!(refresh_token(&unusual).is_none(), "{unusual}");
        }
    }
}
