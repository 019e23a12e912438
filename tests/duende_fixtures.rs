//! Byte identity with rows the real Duende IdentityServer 7.4.8 wrote
//! (`../shared/fixtures/duende-7.4.8/`, see its README): every row is read, and written back
//! byte for byte, protected ones through their unprotected inner JSON.

use refresh_token_core::format::data::{decode, encode, encode_inner};
use refresh_token_core::format::protector::{PayloadProtector, ProtectorError};
use serde_json::Value;
use std::path::PathBuf;

fn fixtures() -> Vec<(String, Value)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/fixtures/duende-7.4.8");
    let mut files = Vec::new();
    for sub in [dir.clone(), dir.join("unprotected")] {
        for entry in std::fs::read_dir(&sub).unwrap_or_else(|e| panic!("{}: {e}", sub.display())) {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let text = std::fs::read_to_string(&path).unwrap();
                files.push((
                    path.display().to_string(),
                    serde_json::from_str(&text).unwrap(),
                ));
            }
        }
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    files
}

/// Stands in for the Data Protection key ring: it knows the one payload of its fixture.
struct KnownPayload {
    protected: String,
    inner: String,
}

impl PayloadProtector for KnownPayload {
    fn protect(&self, plaintext: &str) -> Result<String, ProtectorError> {
        assert_eq!(
            plaintext, self.inner,
            "the inner JSON is not byte-identical"
        );
        Ok(self.protected.clone())
    }
    fn unprotect(&self, protected: &str) -> Result<String, ProtectorError> {
        assert_eq!(protected, self.protected);
        Ok(self.inner.clone())
    }
}

#[test]
fn every_row_duende_7_4_8_wrote_is_read_and_rewritten_byte_for_byte() {
    let all = fixtures();
    assert_eq!(all.len(), 24, "12 cases, protected and unprotected");
    for (name, f) in &all {
        for row in [Some(&f["row"]), f.get("initial").map(|i| &i["row"])]
            .into_iter()
            .flatten()
        {
            let data = row["Data"].as_str().unwrap();
            let envelope: Value = serde_json::from_str(data).unwrap();
            let payload = envelope["Payload"].as_str().unwrap();
            let protected = envelope["DataProtected"].as_bool().unwrap();
            // The inner JSON of this row: the fixture's (for the row itself) or the payload.
            let inner = if std::ptr::eq(row, &f["row"]) {
                f["inner_json"].as_str().unwrap().to_owned()
            } else {
                f["initial"]["inner_json"].as_str().unwrap().to_owned()
            };
            let protector = KnownPayload {
                protected: payload.to_owned(),
                inner: inner.clone(),
            };
            let p: Option<&dyn PayloadProtector> = protected.then_some(&protector as _);
            let token = decode(data, p).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            // Nothing in a row Duende 7.4.8 wrote is unknown to the codec (Scopes is derived).
            assert!(token.extra.is_empty(), "{name}: {:?}", token.extra);
            for (_, t) in &token.access_tokens {
                assert!(t.extra.is_empty(), "{name}: {:?}", t.extra);
            }
            assert_eq!(encode_inner(&token), inner, "{name}: inner JSON");
            assert_eq!(encode(&token, p).unwrap(), data, "{name}: Data column");
            // The columns the service derives from the token agree with Duende's.
            assert_eq!(
                token.subject_id(),
                row["SubjectId"].as_str(),
                "{name}: SubjectId"
            );
            assert_eq!(token.session_id.as_deref(), row["SessionId"].as_str());
            assert_eq!(token.client_id, row["ClientId"].as_str().unwrap());
            // Every record re-encodes alone as Duende wrote it, so a token the core builds
            // (create, or a new access token on refresh) gets the same bytes.
            for (resource, t) in &token.access_tokens {
                let written = refresh_token_core::format::data::encode_token(t);
                let theirs: Value = serde_json::from_str(&inner).unwrap();
                assert_eq!(
                    serde_json::from_str::<Value>(&written).unwrap(),
                    theirs["AccessTokens"][resource.as_str()],
                    "{name}: access token {resource}"
                );
                assert!(written.contains("\"Version\":5,\"Scopes\":["), "{name}");
            }
        }
    }
}
