//! Executes one planned step and reports what it observed (the judge compares; see
//! tests/scenarios/README.md, "Observations").

use refresh_token_core::format::data::encode_inner;
use refresh_token_core::format::key::refresh_token_key;
use refresh_token_core::model::{Claim, GrantFilter, PersistedGrant, RefreshToken, Subject, Token};
use refresh_token_core::{Clock, CreateRequest, RefreshRequest, ServiceError};
use serde_json::{json, Map, Value};

use crate::faulty_store::Kind;
use crate::world::{apply_client_settings, from_ticks, World};

type Res<T> = Result<T, String>;

fn str_of<'a>(v: &'a Value, name: &str) -> &'a str {
    v.get(name).and_then(Value::as_str).unwrap_or_default()
}

fn opt_str(v: &Value, name: &str) -> Option<String> {
    v.get(name).and_then(Value::as_str).map(str::to_owned)
}

fn failure(e: &ServiceError) -> Value {
    json!({
        "ok": false,
        "error": e.error_code(),
        "reason": e.reason().map(|r| r.as_str()),
        "retryable": e.is_retryable(),
        "message": e.to_string(),
    })
}

/// A successful token operation: the result, the token record as the Data column's JSON, and
/// the handle when one was issued.
fn token_obs(out: &mut Map<String, Value>, token: &RefreshToken, handle: Option<&str>) -> Res<()> {
    out.insert("result".into(), json!({ "ok": true }));
    let record: Value = serde_json::from_str(&encode_inner(token)).map_err(|e| e.to_string())?;
    out.insert("token".into(), record);
    if let Some(h) = handle {
        out.insert("handle".into(), h.into());
    }
    Ok(())
}

fn ticks(t: chrono::DateTime<chrono::Utc>) -> i64 {
    t.timestamp() * 10_000_000 + i64::from(t.timestamp_subsec_nanos() / 100)
}

fn row_json(row: &PersistedGrant) -> Value {
    json!({
        "Key": row.key, "Type": row.grant_type, "SubjectId": row.subject_id,
        "SessionId": row.session_id, "ClientId": row.client_id, "Description": row.description,
        "CreationTime": ticks(row.creation_time), "Expiration": row.expiration.map(ticks),
        "ConsumedTime": row.consumed_time.map(ticks), "Data": row.data,
    })
}

fn build_create(w: &World, s: &Value, client_id: &str) -> CreateRequest {
    let client = w.client(client_id);
    let subject_id = str_of(s, "subject");
    let session_id = opt_str(s, "session_id");
    let scopes: Vec<String> = s["scopes"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_owned))
        .collect();
    let extra: Vec<Claim> = s["claims"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| Claim::new(str_of(c, "type"), str_of(c, "value")))
        .collect();
    let now = w.service.now();
    let mut at = Token::new(client_id, now, client.access_token_lifetime);
    at.claims.push(Claim::new("client_id", client_id));
    at.claims
        .extend(scopes.iter().map(|sc| Claim::new("scope", sc.clone())));
    at.claims.push(Claim::new("sub", subject_id));
    if let Some(sid) = &session_id {
        at.claims.push(Claim::new("sid", sid.clone()));
    }
    at.claims.extend(extra.iter().cloned());
    let mut subject = Subject::new(subject_id);
    subject.claims.extend(extra);
    CreateRequest {
        subject,
        session_id,
        description: opt_str(s, "description"),
        authorized_scopes: scopes,
        authorized_resource_indicators: None,
        proof_type: 0,
        access_token: Some(at),
        requested_resource: None,
    }
}

/// Runs one step; its observation's fields (without `step`, `op` and `changed`).
pub fn run_step(w: &mut World, s: &Value) -> Res<Map<String, Value>> {
    let mut out = Map::new();
    let op = str_of(s, "op");
    match op {
        "create" => {
            let client_id = str_of(s, "client");
            let request = build_create(w, s, client_id);
            match w.service.create(&w.client(client_id), request) {
                Ok(created) => {
                    let handle = created.handle.as_str();
                    w.names
                        .insert(str_of(s, "as").to_owned(), handle.to_owned());
                    token_obs(&mut out, &created.token, Some(handle))?;
                }
                Err(err) => {
                    out.insert("result".into(), failure(&err));
                }
            }
        }
        "validate" => {
            let client = w.client(str_of(s, "client"));
            let handle = w.token(&s["token"])?;
            match w.service.validate(&handle, &client) {
                Ok(v) => token_obs(&mut out, &v.token, None)?,
                Err(err) => {
                    out.insert("result".into(), failure(&err));
                }
            }
        }
        "refresh" => {
            let client = w.client(str_of(s, "client"));
            let handle = w.token(&s["token"])?;
            let request = RefreshRequest {
                handle: handle.into(),
                ..Default::default()
            };
            match w.service.refresh(&client, request) {
                Ok(r) => {
                    let handle = r.handle.as_str();
                    if let Some(name) = opt_str(s, "as") {
                        w.names.insert(name, handle.to_owned());
                    }
                    token_obs(&mut out, &r.token, Some(handle))?;
                }
                Err(err) => {
                    out.insert("result".into(), failure(&err));
                }
            }
        }
        "revoke" => {
            let client = w.client(str_of(s, "client"));
            let handle = w.token(&s["token"])?;
            let result = match w.service.revoke(&client, &handle) {
                Ok(_) => json!({ "ok": true }),
                Err(err) => failure(&err),
            };
            out.insert("result".into(), result);
        }
        "cleanup" => match w.service.cleanup() {
            Ok(report) => {
                out.insert("result".into(), json!({ "ok": true }));
                out.insert("removed".into(), report.total().into());
            }
            Err(err) => {
                out.insert("result".into(), failure(&err));
            }
        },
        "advance" => {
            let t = s["ticks"].as_i64().unwrap_or_default();
            w.clock
                .set(w.clock.now() + chrono::Duration::nanoseconds(t.saturating_mul(100)));
        }
        "inspect" => {
            let handle = w.token(&s["token"])?;
            let row = w
                .inner
                .get(&refresh_token_key(&handle))
                .map_err(|e| e.to_string())?;
            out.insert("row".into(), row.as_ref().map_or(Value::Null, row_json));
        }
        "count" => {
            let f = &s["filter"];
            let filter = GrantFilter {
                subject_id: opt_str(f, "subject"),
                client_id: opt_str(f, "client"),
                session_id: opt_str(f, "session_id"),
                grant_type: opt_str(f, "type"),
                ..Default::default()
            };
            let rows = w.inner.get_all(&filter).map_err(|e| e.to_string())?;
            out.insert("rows".into(), rows.len().into());
        }
        "set_client" => {
            let id = str_of(s, "client");
            let mut client = w.client(id);
            apply_client_settings(&mut client, &s["settings"]);
            w.clients.insert(id.to_owned(), client);
        }
        "set_active" => {
            let active = s["active"].as_bool().unwrap_or(true);
            w.active
                .0
                .lock()
                .insert(str_of(s, "subject").to_owned(), active);
        }
        "fail_store" => {
            let kind = match str_of(s, "operation") {
                "get" => Some(Kind::Get),
                "store" => Some(Kind::Store),
                "remove" => Some(Kind::Remove),
                _ => None,
            };
            let times = s["times"].as_u64().unwrap_or_default();
            w.faults
                .fail(kind, u32::try_from(times).unwrap_or(u32::MAX));
        }
        "import" => {
            let r = &s["row"];
            let time = |name: &str| r[name].as_i64().map(from_ticks);
            let row = PersistedGrant {
                key: str_of(r, "Key").to_owned(),
                grant_type: str_of(r, "Type").to_owned(),
                subject_id: opt_str(r, "SubjectId"),
                session_id: opt_str(r, "SessionId"),
                client_id: str_of(r, "ClientId").to_owned(),
                description: opt_str(r, "Description"),
                creation_time: time("CreationTime").unwrap_or_default(),
                expiration: time("Expiration"),
                consumed_time: time("ConsumedTime"),
                data: str_of(r, "Data").to_owned(),
            };
            w.inner.store(&row).map_err(|e| e.to_string())?;
        }
        "key" => {
            let handle = w.token(&s["token"])?;
            out.insert("key".into(), refresh_token_key(&handle).as_str().into());
        }
        other => return Err(format!("unknown op '{other}'")),
    }
    Ok(out)
}
