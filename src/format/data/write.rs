//! Writing the version-5 JSON and its envelope, byte for byte as System.Text.Json does with
//! Duende's `PersistentGrantSerializer` settings: PascalCase, declaration order, enums as
//! numbers, nulls omitted, the default encoder's escaping.

use super::envelope::{HEAD, UNPROTECTED, UNPROTECTED_END};
use crate::format::json_text::{write_string, InString, Nesting, ObjectWriter, TopLevel};
use crate::format::protector::{PayloadProtector, ProtectorError};
use crate::model::{Claim, RefreshToken, Subject, Token};

fn write_claims<N: Nesting>(obj: &mut ObjectWriter<'_, N>, name: &str, claims: &[Claim]) {
    let out = obj.name(name);
    out.push('[');
    for (i, c) in claims.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut w = ObjectWriter::<N>::new(out);
        w.string("Type", &c.claim_type);
        w.string("Value", &c.value);
        w.opt_string("ValueType", c.value_type.as_deref());
        w.opt_string("Issuer", c.issuer.as_deref());
        w.finish();
    }
    out.push(']');
}

fn write_subject<N: Nesting>(out: &mut String, s: &Subject) {
    let mut w = ObjectWriter::<N>::new(out);
    w.opt_string("AuthenticationType", s.authentication_type.as_deref());
    write_claims(&mut w, "Claims", &s.claims);
    w.finish();
}

fn write_token<N: Nesting>(out: &mut String, t: &Token) {
    let mut w = ObjectWriter::<N>::new(out);
    w.strings("AllowedSigningAlgorithms", &t.allowed_signing_algorithms);
    w.opt_string("Confirmation", t.confirmation.as_deref());
    w.strings("Audiences", &t.audiences);
    w.opt_string("Issuer", t.issuer.as_deref());
    w.date("CreationTime", t.creation_time);
    w.int("Lifetime", i64::from(t.lifetime));
    w.string("Type", &t.token_type);
    w.opt_string("ClientId", t.client_id.as_deref());
    w.int("AccessTokenType", t.access_token_type.0);
    w.opt_string("Description", t.description.as_deref());
    w.bool("IncludeJwtId", t.include_jwt_id);
    write_claims(&mut w, "Claims", &t.claims);
    w.int("Version", t.version);
    // Duende's read-only `Token.Scopes` (the scope claims' values), which its serializer writes
    // after Version; derived, so never read back.
    w.strings(
        "Scopes",
        t.claims
            .iter()
            .filter(|c| c.claim_type == "scope")
            .map(|c| c.value.as_str()),
    );
    for (k, v) in &t.extra {
        w.value(k, v);
    }
    w.finish();
}

/// The JSON of one access-token record, as embedded in `AccessTokens`.
pub fn encode_token(t: &Token) -> String {
    let mut out = String::with_capacity(512);
    write_token::<TopLevel>(&mut out, t);
    out
}

/// The inner (unprotected) version-5 JSON of a refresh token.
pub fn encode_inner(t: &RefreshToken) -> String {
    let mut out = String::with_capacity(1024);
    write_inner::<TopLevel>(&mut out, t);
    out
}

/// Appends the inner JSON, for where `N` says it sits.
fn write_inner<N: Nesting>(out: &mut String, t: &RefreshToken) {
    let mut w = ObjectWriter::<N>::new(out);
    w.date("CreationTime", t.creation_time);
    w.int("Lifetime", i64::from(t.lifetime));
    if let Some(c) = t.consumed_time {
        w.date("ConsumedTime", c);
    }
    if let Some(a) = &t.access_token {
        write_token::<N>(w.name("AccessToken"), a);
    }
    {
        let out = w.name("AccessTokens");
        let mut map = ObjectWriter::<N>::new(out);
        for (resource, token) in &t.access_tokens {
            write_token::<N>(map.name(resource), token);
        }
        map.finish();
    }
    write_subject::<N>(w.name("Subject"), &t.subject);
    w.int("Version", t.version);
    w.string("ClientId", &t.client_id);
    w.opt_string("SessionId", t.session_id.as_deref());
    w.opt_string("Description", t.description.as_deref());
    w.strings("AuthorizedScopes", &t.authorized_scopes);
    if let Some(r) = &t.authorized_resource_indicators {
        w.strings("AuthorizedResourceIndicators", r);
    }
    if let Some(p) = t.proof_type {
        w.int("ProofType", p);
    }
    if let Some(l) = &t.lineage {
        let mut o = ObjectWriter::<N>::new(w.name("RefreshTokenCore"));
        o.string("FamilyId", &l.family_id);
        if let Some(issued) = l.issued_time {
            o.date("IssuedTime", issued);
        }
        o.finish();
    }
    for (k, v) in &t.extra {
        w.value(k, v);
    }
    w.finish();
}

/// The full `Data` column: envelope version 1 around the inner JSON, protected when a
/// protector is given. Unprotected, the inner JSON is written escaped as the Payload string in
/// the same pass (byte for byte what escaping `encode_inner`'s text would give: the tests hold
/// both ways to each other and to the fixtures).
pub fn encode(
    t: &RefreshToken,
    protector: Option<&dyn PayloadProtector>,
) -> Result<String, ProtectorError> {
    let Some(p) = protector else {
        let mut out = String::with_capacity(1536);
        out.push_str(HEAD);
        out.push_str(UNPROTECTED);
        write_inner::<InString>(&mut out, t);
        out.push_str(UNPROTECTED_END);
        return Ok(out);
    };
    let payload = p.protect(&encode_inner(t))?;
    let mut out = String::with_capacity(payload.len() + payload.len() / 4 + 80);
    out.push_str(HEAD);
    out.push_str("true,\"Payload\":");
    write_string(&mut out, &payload);
    out.push('}');
    Ok(out)
}
