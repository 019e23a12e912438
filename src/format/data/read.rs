//! Reading the `Data` column as any reference version wrote it. Property names are matched
//! case-sensitively, as the reference reads them; any valid JSON escaping is accepted.

use chrono::{DateTime, Utc};
use serde_json::{Map, Value};
use std::fmt;

use super::{fast, legacy};
use crate::format::datetime;
use crate::format::protector::{PayloadProtector, ProtectorError};
use crate::model::{
    AccessTokenType, Claim, Lineage, RefreshToken, Subject, Token, STRING_CLAIM_VALUE_TYPE,
};

/// Why stored data could not be turned into a refresh token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DecodeError {
    /// The data is not a refresh token this library can read: the reference treats such a row
    /// as not found (`invalid_grant`, reason `malformed` here).
    Malformed(String),
    /// The protector could not run: retryable, says nothing about the token.
    ProtectorUnavailable(String),
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed(m) => write!(f, "malformed refresh-token data: {m}"),
            Self::ProtectorUnavailable(m) => write!(f, "payload protector unavailable: {m}"),
        }
    }
}

type Result<T> = std::result::Result<T, DecodeError>;

fn bad(msg: impl Into<String>) -> DecodeError {
    DecodeError::Malformed(msg.into())
}

/// Decodes a `Data` column value.
pub fn decode(data: &str, protector: Option<&dyn PayloadProtector>) -> Result<RefreshToken> {
    // The common case, the envelope version 1, without a `Value` tree; anything else below.
    if let Some((protected, payload)) = fast::envelope(data) {
        return payload_token(protected, &payload, protector);
    }
    let outer: Value = serde_json::from_str(data).map_err(|e| bad(format!("not JSON ({e})")))?;
    let Value::Object(outer) = outer else {
        return Err(bad("not a JSON object"));
    };
    let version = match outer.get("PersistentGrantDataContainerVersion") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| bad("container version is not an integer"))?,
    };
    match version {
        0 => refresh_token(&outer),
        1 => {
            let protected = match outer.get("DataProtected") {
                None | Some(Value::Null) => false,
                Some(Value::Bool(b)) => *b,
                Some(_) => return Err(bad("DataProtected is not a boolean")),
            };
            let payload = outer
                .get("Payload")
                .and_then(Value::as_str)
                .ok_or_else(|| bad("envelope has no string Payload"))?;
            payload_token(protected, payload, protector)
        }
        n => Err(bad(format!(
            "Invalid version in persisted grant data: '{n}'."
        ))),
    }
}

/// A token record a host passes (the RefreshToken JSON, as `encode_inner` writes it; an
/// unprotected envelope is read too): typed when it has the common shape, as a payload is.
pub fn decode_record(text: &str) -> Result<RefreshToken> {
    fast_or_general(fast::refresh_token(text), || decode(text, None))
}

/// The fast reader's answer when it has one, else the general reader's. The general reader is
/// the specification: debug builds check that both agree wherever the fast one answers.
fn fast_or_general<T: PartialEq + fmt::Debug>(
    fast: Option<T>,
    general: impl Fn() -> Result<T>,
) -> Result<T> {
    match fast {
        Some(value) => {
            debug_assert_eq!(Ok(&value), general().as_ref(), "fast and general readers");
            Ok(value)
        }
        None => general(),
    }
}

/// The token in an envelope's payload, unprotected first when it is protected.
fn payload_token(
    protected: bool,
    payload: &str,
    protector: Option<&dyn PayloadProtector>,
) -> Result<RefreshToken> {
    if !protected {
        return inner_token(payload);
    }
    let p = protector.ok_or_else(|| bad("No IDataProtectionProvider configured."))?;
    let inner = p.unprotect(payload).map_err(|e| match e {
        ProtectorError::Invalid(m) => bad(format!("unprotect failed: {m}")),
        ProtectorError::Unavailable(m) => DecodeError::ProtectorUnavailable(m),
    })?;
    inner_token(&inner)
}

/// The RefreshToken JSON of a payload: typed when it has the common shape (`fast.rs`), the
/// general way otherwise. The general way is the specification: debug builds check that both
/// agree on every token the fast way reads.
fn inner_token(text: &str) -> Result<RefreshToken> {
    let general = || match serde_json::from_str(text) {
        Ok(Value::Object(obj)) => refresh_token(&obj),
        Ok(_) => Err(bad("payload is not a JSON object")),
        Err(e) => Err(bad(format!("payload is not JSON ({e})"))),
    };
    fast_or_general(fast::refresh_token(text), general)
}

fn opt<'a>(obj: &'a Map<String, Value>, name: &str) -> Option<&'a Value> {
    obj.get(name).filter(|v| !v.is_null())
}

fn opt_str(obj: &Map<String, Value>, name: &str) -> Result<Option<String>> {
    match opt(obj, name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(bad(format!("{name} is not a string"))),
    }
}

fn req_str(obj: &Map<String, Value>, name: &str) -> Result<String> {
    opt_str(obj, name)?.ok_or_else(|| bad(format!("{name} is missing")))
}

fn opt_int(obj: &Map<String, Value>, name: &str) -> Result<Option<i64>> {
    match opt(obj, name) {
        None => Ok(None),
        Some(v) => v
            .as_i64()
            .map(Some)
            .ok_or_else(|| bad(format!("{name} is not an integer"))),
    }
}

fn req_i32(obj: &Map<String, Value>, name: &str) -> Result<i32> {
    let v = opt_int(obj, name)?.ok_or_else(|| bad(format!("{name} is missing")))?;
    i32::try_from(v).map_err(|_| bad(format!("{name} is out of range")))
}

fn opt_date(obj: &Map<String, Value>, name: &str) -> Result<Option<DateTime<Utc>>> {
    match opt_str(obj, name)? {
        None => Ok(None),
        Some(s) => datetime::parse(&s)
            .map(Some)
            .ok_or_else(|| bad(format!("{name} is not a date"))),
    }
}

fn req_date(obj: &Map<String, Value>, name: &str) -> Result<DateTime<Utc>> {
    opt_date(obj, name)?.ok_or_else(|| bad(format!("{name} is missing")))
}

fn opt_strings(obj: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>> {
    match opt(obj, name) {
        None => Ok(None),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| bad(format!("{name} holds a non-string")))
            })
            .collect::<Result<Vec<_>>>()
            .map(Some),
        Some(_) => Err(bad(format!("{name} is not an array"))),
    }
}

fn object<'a>(v: &'a Value, what: &str) -> Result<&'a Map<String, Value>> {
    v.as_object()
        .ok_or_else(|| bad(format!("{what} is not an object")))
}

fn claims(obj: &Map<String, Value>, name: &str) -> Result<Vec<Claim>> {
    let Some(v) = opt(obj, name) else {
        return Ok(Vec::new());
    };
    let items = v
        .as_array()
        .ok_or_else(|| bad(format!("{name} is not an array")))?;
    items
        .iter()
        .map(|item| {
            let c = object(item, "a claim")?;
            let value_type = opt_str(c, "ValueType")?.filter(|t| t != STRING_CLAIM_VALUE_TYPE);
            Ok(Claim {
                claim_type: req_str(c, "Type")?,
                value: opt_str(c, "Value")?.unwrap_or_default(),
                value_type,
                issuer: opt_str(c, "Issuer")?,
            })
        })
        .collect()
}

fn extras(obj: &Map<String, Value>, known: &[&str]) -> Vec<(String, Value)> {
    obj.iter()
        .filter(|(k, v)| !known.contains(&k.as_str()) && !v.is_null())
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

const TOKEN_FIELDS: &[&str] = &[
    "AllowedSigningAlgorithms",
    "Confirmation",
    "Audiences",
    "Issuer",
    "CreationTime",
    "Lifetime",
    "Type",
    "ClientId",
    "AccessTokenType",
    "Description",
    "IncludeJwtId",
    "Claims",
    "Version",
    // Derived from the scope claims and rewritten from them (see write.rs).
    "Scopes",
];

/// Reads an access-token record (Duende's `Token` JSON).
pub fn decode_token(v: &Value) -> Result<Token> {
    token(v)
}

/// Reads a serialised principal (`{"AuthenticationType", "Claims": [...]}`).
pub fn decode_subject(v: &Value) -> Result<Subject> {
    let s = object(v, "Subject")?;
    Ok(Subject {
        authentication_type: opt_str(s, "AuthenticationType")?,
        claims: claims(s, "Claims")?,
    })
}

pub(super) fn token(v: &Value) -> Result<Token> {
    let obj = object(v, "an access token")?;
    Ok(Token {
        allowed_signing_algorithms: opt_strings(obj, "AllowedSigningAlgorithms")?
            .unwrap_or_default(),
        confirmation: opt_str(obj, "Confirmation")?,
        audiences: opt_strings(obj, "Audiences")?.unwrap_or_default(),
        issuer: opt_str(obj, "Issuer")?,
        creation_time: req_date(obj, "CreationTime")?,
        lifetime: req_i32(obj, "Lifetime")?,
        token_type: opt_str(obj, "Type")?.unwrap_or_else(|| "access_token".into()),
        client_id: opt_str(obj, "ClientId")?,
        access_token_type: AccessTokenType(opt_int(obj, "AccessTokenType")?.unwrap_or(0)),
        description: opt_str(obj, "Description")?,
        include_jwt_id: match opt(obj, "IncludeJwtId") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(_) => return Err(bad("IncludeJwtId is not a boolean")),
        },
        claims: claims(obj, "Claims")?,
        version: opt_int(obj, "Version")?.unwrap_or(5),
        extra: extras(obj, TOKEN_FIELDS),
    })
}

const REFRESH_TOKEN_FIELDS: &[&str] = &[
    "CreationTime",
    "Lifetime",
    "ConsumedTime",
    "AccessToken",
    "AccessTokens",
    "Subject",
    "Version",
    "ClientId",
    "SessionId",
    "Description",
    "AuthorizedScopes",
    "AuthorizedResourceIndicators",
    "ProofType",
    LINEAGE,
];

/// The core's own property (see [`Lineage`]).
const LINEAGE: &str = "RefreshTokenCore";

/// The lineage, if the property is there and well formed. Anything else under that name is
/// kept as an unknown property rather than refusing the token: it is ours, but a token must not
/// die of it.
fn lineage(obj: &Map<String, Value>) -> (Option<Lineage>, Option<(String, Value)>) {
    let Some(v) = obj.get(LINEAGE) else {
        return (None, None);
    };
    let parsed = v.as_object().and_then(|o| {
        let family_id = o.get("FamilyId")?.as_str()?.to_owned();
        let issued_time = match o.get("IssuedTime") {
            None | Some(Value::Null) => None,
            Some(t) => Some(datetime::parse(t.as_str()?)?),
        };
        Some(Lineage {
            family_id,
            issued_time,
        })
    });
    match parsed {
        Some(l) => (Some(l), None),
        None => (None, Some((LINEAGE.to_owned(), v.clone()))),
    }
}

/// An `AccessTokens` object: `{"<resource indicator>": {Token}, ...}`, in its order.
fn access_tokens(v: &Value) -> Result<Vec<(String, Token)>> {
    object(v, "AccessTokens")?
        .iter()
        .map(|(k, t)| Ok((k.clone(), token(t)?)))
        .collect()
}

/// A refresh token's `AccessTokens` on their own, as a host passes them to the update of a
/// token it kept from validation (the rest of the token is the kept one): typed when they have
/// the common shape, as a payload is.
pub fn decode_access_tokens(text: &str) -> Result<Vec<(String, Token)>> {
    let general = || {
        let v: Value = serde_json::from_str(text)
            .map_err(|e| bad(format!("AccessTokens is not JSON: {e}")))?;
        access_tokens(&v)
    };
    fast_or_general(fast::access_tokens(text), general)
}

/// An access-token record given as text (a host's new access token): typed when it has the
/// common shape.
pub fn decode_token_text(text: &str) -> Result<Token> {
    let general = || {
        let v: Value = serde_json::from_str(text).map_err(|e| bad(format!("not JSON ({e})")))?;
        token(&v)
    };
    fast_or_general(fast::access_token(text), general)
}

fn refresh_token(obj: &Map<String, Value>) -> Result<RefreshToken> {
    let version = opt_int(obj, "Version")?.unwrap_or(5);
    let access_token = opt(obj, "AccessToken").map(token).transpose()?;
    if version < 5 {
        return legacy::upgrade(
            req_date(obj, "CreationTime")?,
            req_i32(obj, "Lifetime")?,
            opt_date(obj, "ConsumedTime")?,
            access_token.ok_or_else(|| bad("a version-4 token has no AccessToken"))?,
            opt_str(obj, "SessionId")?,
            extras(obj, REFRESH_TOKEN_FIELDS),
        );
    }
    let access_tokens = match opt(obj, "AccessTokens") {
        None => Vec::new(),
        Some(v) => access_tokens(v)?,
    };
    let subject = {
        let s = object(
            opt(obj, "Subject").ok_or_else(|| bad("Subject is missing"))?,
            "Subject",
        )?;
        Subject {
            authentication_type: opt_str(s, "AuthenticationType")?,
            claims: claims(s, "Claims")?,
        }
    };
    let (lineage, unreadable_lineage) = lineage(obj);
    let mut extra = extras(obj, REFRESH_TOKEN_FIELDS);
    extra.extend(unreadable_lineage);
    Ok(RefreshToken {
        creation_time: req_date(obj, "CreationTime")?,
        lifetime: req_i32(obj, "Lifetime")?,
        consumed_time: opt_date(obj, "ConsumedTime")?,
        access_token,
        access_tokens,
        subject,
        version,
        client_id: req_str(obj, "ClientId")?,
        session_id: opt_str(obj, "SessionId")?,
        description: opt_str(obj, "Description")?,
        authorized_scopes: opt_strings(obj, "AuthorizedScopes")?.unwrap_or_default(),
        authorized_resource_indicators: opt_strings(obj, "AuthorizedResourceIndicators")?,
        proof_type: opt_int(obj, "ProofType")?,
        lineage,
        extra,
    })
}
