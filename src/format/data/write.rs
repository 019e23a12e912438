//! Writing the version-5 JSON and its envelope, byte for byte as System.Text.Json does with
//! Duende's `PersistentGrantSerializer` settings: PascalCase, declaration order, enums as
//! numbers, nulls omitted, the default encoder's escaping.

use crate::format::json_text::{write_string, ObjectWriter};
use crate::format::protector::{PayloadProtector, ProtectorError};
use crate::model::{Claim, RefreshToken, Subject, Token};

fn write_claims(obj: &mut ObjectWriter<'_>, name: &str, claims: &[Claim]) {
    let out = obj.name(name);
    out.push('[');
    for (i, c) in claims.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let mut w = ObjectWriter::new(out);
        w.string("Type", &c.claim_type);
        w.string("Value", &c.value);
        w.opt_string("ValueType", c.value_type.as_deref());
        w.opt_string("Issuer", c.issuer.as_deref());
        w.finish();
    }
    out.push(']');
}

fn write_subject(out: &mut String, s: &Subject) {
    let mut w = ObjectWriter::new(out);
    w.opt_string("AuthenticationType", s.authentication_type.as_deref());
    write_claims(&mut w, "Claims", &s.claims);
    w.finish();
}

fn write_token(out: &mut String, t: &Token) {
    let mut w = ObjectWriter::new(out);
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
    write_token(&mut out, t);
    out
}

/// The inner (unprotected) version-5 JSON of a refresh token.
pub fn encode_inner(t: &RefreshToken) -> String {
    let mut out = String::with_capacity(1024);
    let mut w = ObjectWriter::new(&mut out);
    w.date("CreationTime", t.creation_time);
    w.int("Lifetime", i64::from(t.lifetime));
    if let Some(c) = t.consumed_time {
        w.date("ConsumedTime", c);
    }
    if let Some(a) = &t.access_token {
        write_token(w.name("AccessToken"), a);
    }
    {
        let out = w.name("AccessTokens");
        let mut map = ObjectWriter::new(out);
        for (resource, token) in &t.access_tokens {
            write_token(map.name(resource), token);
        }
        map.finish();
    }
    write_subject(w.name("Subject"), &t.subject);
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
        let mut o = ObjectWriter::new(w.name("RefreshTokenCore"));
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
    out
}

/// The full `Data` column: envelope version 1 around the inner JSON, protected when a
/// protector is given.
pub fn encode(
    t: &RefreshToken,
    protector: Option<&dyn PayloadProtector>,
) -> Result<String, ProtectorError> {
    let inner = encode_inner(t);
    let (protected, payload) = match protector {
        Some(p) => (true, p.protect(&inner)?),
        None => (false, inner),
    };
    let mut out = String::with_capacity(payload.len() + payload.len() / 4 + 80);
    out.push_str("{\"PersistentGrantDataContainerVersion\":1,\"DataProtected\":");
    out.push_str(if protected { "true" } else { "false" });
    out.push_str(",\"Payload\":");
    write_string(&mut out, &payload);
    out.push('}');
    Ok(out)
}
