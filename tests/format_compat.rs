//! Reading rows the reference wrote: a row the real Duende 7.4.8 wrote (from
//! ../shared/fixtures/duende-7.4.8; tests/duende_fixtures.rs rewrites every one of them byte for
//! byte) and an IdentityServer4 row (built from ../shared/spec/reference-behaviour.md §2.2).

use refresh_token_core::format::data::{decode, encode, encode_inner, DecodeError};
use refresh_token_core::format::protector::{PayloadProtector, ProtectorError};

#[path = "common/duende_fixture.rs"]
mod duende_fixture;
use duende_fixture::duende_row_data;

const IS4_ROW: &str = include_str!("fixtures/identityserver4-row.json");

/// The Data column of the unprotected Duende 7.4.8 row of case 06a (client web, sid 9A1F).
fn duende_envelope() -> String {
    duende_row_data("06a-resource-indicators-created")
}

#[test]
fn a_duende_7_row_is_read_with_every_property() {
    let t = decode(&duende_envelope(), None).unwrap();
    assert_eq!(t.client_id, "web");
    assert_eq!(t.session_id.as_deref(), Some("9A1F"));
    assert_eq!(t.subject_id(), Some("42"));
    assert_eq!(
        t.subject.authentication_type.as_deref(),
        Some("Duende.IdentityServer")
    );
    assert_eq!(
        t.authorized_scopes,
        ["openid", "api1", "api2", "offline_access"]
    );
    assert_eq!(
        t.authorized_resource_indicators.as_deref(),
        Some(&["urn:api1".to_owned(), "urn:api2".to_owned()][..])
    );
    assert_eq!(t.description.as_deref(), Some("Zo\u{eb}'s phone \"Pixel\""));
    assert_eq!(t.proof_type, Some(0));
    assert_eq!(t.lifetime, 2_592_000);
    let at = t.access_token_for("urn:api1").unwrap();
    assert_eq!(at.issuer.as_deref(), Some("https://idp.example"));
    assert!(at.include_jwt_id);
    let auth_time = at
        .claims
        .iter()
        .find(|c| c.claim_type == "auth_time")
        .unwrap();
    assert_eq!(
        auth_time.value_type.as_deref(),
        Some("http://www.w3.org/2001/XMLSchema#integer64")
    );
}

#[test]
fn the_envelope_escapes_quotes_as_system_text_json_does() {
    let t = decode(&duende_envelope(), None).unwrap();
    assert!(encode(&t, None).unwrap().starts_with(
        "{\"PersistentGrantDataContainerVersion\":1,\"DataProtected\":false,\"Payload\":\"{\\u0022CreationTime\\u0022:"
    ));
}

#[test]
fn an_identityserver4_row_is_upgraded_to_version_5() {
    let t = decode(IS4_ROW, None).unwrap();
    assert_eq!(t.version, 5);
    assert_eq!(t.client_id, "legacy");
    assert_eq!(t.subject_id(), Some("818727"));
    assert_eq!(
        t.session_id, None,
        "the upgrade must not derive SessionId from the sid claim"
    );
    assert_eq!(t.authorized_scopes, ["openid", "api1", "offline_access"]);
    assert!(t.access_token.is_none());
    assert_eq!(t.access_tokens.len(), 1);
    assert_eq!(t.access_tokens[0].0, "");
    // ValueType "...#string" is normalised away; sub appears once in the subject.
    assert!(t.subject.claims.iter().all(|c| c.value_type.is_none()));
    assert_eq!(
        t.subject
            .claims
            .iter()
            .filter(|c| c.claim_type == "sub")
            .count(),
        1
    );
    let rewritten = encode_inner(&t);
    assert!(rewritten.contains("\"Version\":5,\"ClientId\":\"legacy\""));
    assert!(!rewritten.contains("\"SessionId\""));
}

#[test]
fn a_version_4_payload_keeps_its_own_session_id_on_upgrade() {
    // Issue 15 item 10: a version-4 payload that carries SessionId (written by a later server
    // that kept the old model version) keeps it, as the reference's deserializer reads it.
    let inner: serde_json::Value = serde_json::from_str(IS4_ROW).unwrap();
    let mut inner = inner;
    inner["SessionId"] = serde_json::json!("sess-4");
    let t = decode(&inner.to_string(), None).unwrap();
    assert_eq!(t.version, 5);
    assert_eq!(t.session_id.as_deref(), Some("sess-4"));
    assert!(encode_inner(&t).contains("\"SessionId\":\"sess-4\""));
}

/// A stand-in for ASP.NET Core Data Protection: enough to show the protector's contract.
struct Rot13Protector;

fn rot13(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            'a'..='z' => (((c as u8 - b'a') + 13) % 26 + b'a') as char,
            'A'..='Z' => (((c as u8 - b'A') + 13) % 26 + b'A') as char,
            _ => c,
        })
        .collect()
}

impl PayloadProtector for Rot13Protector {
    fn protect(&self, plaintext: &str) -> Result<String, ProtectorError> {
        Ok(format!("R13:{}", rot13(plaintext)))
    }
    fn unprotect(&self, protected: &str) -> Result<String, ProtectorError> {
        protected
            .strip_prefix("R13:")
            .map(rot13)
            .ok_or_else(|| ProtectorError::Invalid("bad header".into()))
    }
}

#[test]
fn protected_payloads_round_trip_through_the_protector() {
    let t = decode(&duende_envelope(), None).unwrap();
    let data = encode(&t, Some(&Rot13Protector)).unwrap();
    assert!(data.contains("\"DataProtected\":true"));
    assert!(!data.contains("CreationTime"));
    assert_eq!(decode(&data, Some(&Rot13Protector)).unwrap(), t);
    // Without a protector, or with garbage, it is malformed (not found), never a crash.
    assert!(matches!(
        decode(&data, None),
        Err(DecodeError::Malformed(_))
    ));
    let garbage = data.replace("R13:", "XXX:");
    assert!(matches!(
        decode(&garbage, Some(&Rot13Protector)),
        Err(DecodeError::Malformed(_))
    ));
}
