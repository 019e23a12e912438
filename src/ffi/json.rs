//! The JSON documents that cross the ABI: the create request going in, events going out. Token
//! records use the Data column's own version-5 JSON (`format::data`).

use serde_json::{json, Map, Value};

use super::error::FfiError;
use super::result::rtc_result;
use crate::format::data::{decode_subject, decode_token};
use crate::model::{Client, Subject};
use crate::service::{CreateRequest, Event};

fn invalid(msg: impl Into<String>) -> FfiError {
    FfiError::new(rtc_result::RTC_RESULT_INVALID_JSON, msg)
}

fn opt_string(obj: &Map<String, Value>, name: &str) -> Result<Option<String>, FfiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(invalid(format!("{name} must be a string"))),
    }
}

fn opt_strings(obj: &Map<String, Value>, name: &str) -> Result<Option<Vec<String>>, FfiError> {
    match obj.get(name) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str()
                    .map(str::to_owned)
                    .ok_or_else(|| invalid(format!("{name} must hold strings")))
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Some),
        Some(_) => Err(invalid(format!("{name} must be an array of strings"))),
    }
}

/// Parses an access-token record (the Token JSON of the header) given as argument `name`.
pub(crate) fn access_token(text: &str, name: &str) -> Result<crate::model::Token, FfiError> {
    crate::format::data::decode_token_text(text).map_err(|e| invalid(format!("{name}: {e}")))
}

/// Parses a RefreshToken's `AccessTokens` object given as argument `name`.
pub(crate) fn access_tokens(
    text: &str,
    name: &str,
) -> Result<Vec<(String, crate::model::Token)>, FfiError> {
    crate::format::data::decode_access_tokens(text).map_err(|e| invalid(format!("{name}: {e}")))
}

/// Parses a refresh-token record (the Data column's version-5 JSON) given as argument `name`.
pub(crate) fn token_record(text: &str, name: &str) -> Result<crate::model::RefreshToken, FfiError> {
    // Every update through the bindings passes one: the typed reader when it can.
    crate::format::data::decode_record(text).map_err(|e| invalid(format!("{name}: {e}")))
}

/// Parses a create request:
/// `{"SubjectId": "..."}` or `{"Subject": {"AuthenticationType", "Claims": [...]}}`, plus
/// optional `SessionId`, `Description`, `AuthorizedScopes`, `AuthorizedResourceIndicators`,
/// `ProofType` (0), `RequestedResource`, and `AccessToken` (a Token record; `CreationTime`
/// defaults to now and `Lifetime` to the client's access-token lifetime; when absent, one is
/// built from the subject, client and scopes).
pub(crate) fn create_request(
    text: &str,
    client: &Client,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<CreateRequest, FfiError> {
    let v: Value = serde_json::from_str(text)
        .map_err(|e| invalid(format!("create request is not JSON: {e}")))?;
    let obj = v
        .as_object()
        .ok_or_else(|| invalid("create request must be a JSON object"))?;
    const KNOWN: &[&str] = &[
        "SubjectId",
        "Subject",
        "SessionId",
        "Description",
        "AuthorizedScopes",
        "AuthorizedResourceIndicators",
        "ProofType",
        "RequestedResource",
        "AccessToken",
    ];
    if let Some(k) = obj.keys().find(|k| !KNOWN.contains(&k.as_str())) {
        return Err(invalid(format!("create request: unknown property '{k}'")));
    }
    let subject = match (obj.get("Subject"), opt_string(obj, "SubjectId")?) {
        (Some(s), _) if !s.is_null() => {
            decode_subject(s).map_err(|e| invalid(format!("Subject: {e}")))?
        }
        (_, Some(id)) => Subject::new(id),
        _ => return Err(invalid("create request needs SubjectId or Subject")),
    };
    if subject.subject_id().is_none() {
        return Err(invalid("Subject has no sub claim"));
    }
    let scopes = opt_strings(obj, "AuthorizedScopes")?.unwrap_or_default();
    let session_id = opt_string(obj, "SessionId")?;
    let access_token = match obj.get("AccessToken") {
        Some(Value::Object(t)) => {
            let mut t = t.clone();
            t.entry("CreationTime")
                .or_insert_with(|| Value::String(crate::format::datetime::format_utc(now)));
            t.entry("Lifetime")
                .or_insert_with(|| Value::from(client.access_token_lifetime));
            t.entry("ClientId")
                .or_insert_with(|| Value::String(client.client_id.clone()));
            Some(
                decode_token(&Value::Object(t))
                    .map_err(|e| invalid(format!("AccessToken: {e}")))?,
            )
        }
        // The service builds a plain code exchange's record.
        None | Some(Value::Null) => None,
        Some(_) => return Err(invalid("AccessToken must be an object")),
    };
    let proof_type = match obj.get("ProofType") {
        None | Some(Value::Null) => 0,
        Some(v) => v
            .as_i64()
            .ok_or_else(|| invalid("ProofType must be an integer"))?,
    };
    Ok(CreateRequest {
        subject,
        session_id,
        description: opt_string(obj, "Description")?,
        authorized_scopes: scopes,
        authorized_resource_indicators: opt_strings(obj, "AuthorizedResourceIndicators")?,
        proof_type,
        access_token,
        requested_resource: opt_string(obj, "RequestedResource")?,
    })
}

/// An event as JSON: `{"type": "...", ...}` with persisted-grant keys, never handles.
pub(crate) fn event_json(e: &Event) -> String {
    let v = match e {
        Event::Created {
            key,
            client_id,
            subject_id,
            family_id,
        } => {
            json!({"type": "created", "key": key, "client_id": client_id, "subject_id": subject_id, "family_id": family_id})
        }
        Event::Refreshed {
            key,
            new_key,
            client_id,
            family_id,
        } => {
            json!({"type": "refreshed", "key": key, "new_key": new_key, "client_id": client_id, "family_id": family_id})
        }
        Event::Rejected {
            key,
            client_id,
            reason,
        } => {
            json!({"type": "rejected", "key": key, "client_id": client_id, "reason": reason.as_str()})
        }
        Event::ConsumedTokenPresented {
            key,
            client_id,
            accepted,
        } => {
            json!({"type": "consumed_token_presented", "key": key, "client_id": client_id, "accepted": accepted})
        }
        Event::Replayed {
            key,
            family_id,
            client_id,
        } => {
            json!({"type": "replayed", "key": key, "family_id": family_id, "client_id": client_id})
        }
        Event::ReplayRevoked {
            key,
            subject_id,
            client_id,
            family_id,
            removed,
        } => {
            json!({"type": "replay_revoked", "key": key, "subject_id": subject_id, "client_id": client_id, "family_id": family_id, "removed": removed})
        }
        Event::ConsumeLost { key, client_id } => {
            json!({"type": "consume_lost", "key": key, "client_id": client_id})
        }
        Event::SuccessorReturned {
            key,
            new_key,
            client_id,
        } => {
            json!({"type": "successor_returned", "key": key, "new_key": new_key, "client_id": client_id})
        }
        Event::Revoked { key, client_id } => {
            json!({"type": "revoked", "key": key, "client_id": client_id})
        }
        Event::Cleanup {
            expired_removed,
            consumed_removed,
        } => {
            json!({"type": "cleanup", "expired_removed": expired_removed, "consumed_removed": consumed_removed})
        }
        Event::NonAtomicConsume => json!({"type": "non_atomic_consume"}),
    };
    v.to_string()
}
