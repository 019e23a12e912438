//! Executes one step and checks its expectations.

use refresh_token_core::format::key::refresh_token_key;
use refresh_token_core::model::{Claim, GrantFilter, PersistedGrant, RefreshToken, Subject, Token};
use refresh_token_core::{CreateRequest, RefreshRequest, ServiceError};
use serde_json::Value;

use crate::faulty_store::Kind;
use crate::fields::{Fields, Res};
use crate::world::{apply_client_settings, parse_time, World};

/// What an operation produced, for the expectation checks.
enum Outcome {
    Token {
        token: Box<RefreshToken>,
        handle: Option<String>,
    },
    Failed(ServiceError),
}

fn expect_eq<T: PartialEq + std::fmt::Debug>(what: &str, want: T, got: T) -> Res<()> {
    if want == got {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

fn opt_str_or_null<'a>(f: &Fields<'a>, name: &'a str) -> Res<Option<Option<String>>> {
    match f.get(name) {
        None => Ok(None),
        Some(Value::Null) => Ok(Some(None)),
        Some(Value::String(s)) => Ok(Some(Some(s.clone()))),
        Some(_) => Err(format!("expect.{name} must be a string or null")),
    }
}

fn opt_time_or_null<'a>(
    f: &Fields<'a>,
    name: &'a str,
) -> Res<Option<Option<chrono::DateTime<chrono::Utc>>>> {
    Ok(match opt_str_or_null(f, name)? {
        None => None,
        Some(None) => Some(None),
        Some(Some(s)) => Some(Some(parse_time(&s)?)),
    })
}

/// Checks the expectation fields shared by create, validate and refresh.
fn check_outcome(f: &Fields<'_>, outcome: &Outcome, presented: Option<&str>, op: &str) -> Res<()> {
    let is_create = op == "create";
    {
        if let Some(ok) = f.bool("ok")? {
            let got = matches!(outcome, Outcome::Token { .. });
            if ok != got {
                let detail = match outcome {
                    Outcome::Failed(e) => format!(" ({e})"),
                    Outcome::Token { .. } => String::new(),
                };
                return Err(format!("ok: expected {ok}, got {got}{detail}"));
            }
        }
        let err = match outcome {
            Outcome::Failed(e) => Some(e),
            Outcome::Token { .. } => None,
        };
        if let Some(want) = f.str("error")? {
            expect_eq("error", Some(want), err.map(|e| e.error_code()))?;
        }
        if let Some(want) = f.str("reason")? {
            expect_eq(
                "reason",
                Some(want),
                err.and_then(|e| e.reason()).map(|r| r.as_str()),
            )?;
        }
        if let Some(want) = f.bool("retryable")? {
            expect_eq("retryable", want, err.is_some_and(|e| e.is_retryable()))?;
        }
    }
    let token_fields = [
        "subject",
        "client",
        "session_id",
        "scopes",
        "lifetime",
        "expires_at",
        "handle",
        "length",
    ];
    if !token_fields.iter().any(|n| f.has(n)) {
        return Ok(());
    }
    let (token, handle) = match outcome {
        Outcome::Token { token, handle } => (token, handle),
        Outcome::Failed(e) => return Err(format!("expected a token, got {e}")),
    };
    if !is_create {
        if let Some(want) = f.str("subject")? {
            expect_eq("subject", Some(want), token.subject_id())?;
        }
        if let Some(want) = f.str("client")? {
            expect_eq("client", want, token.client_id.as_str())?;
        }
        if let Some(want) = opt_str_or_null(f, "session_id")? {
            expect_eq("session_id", want, token.session_id.clone())?;
        }
        if let Some(want) = f.strings("scopes")? {
            expect_eq("scopes", want, token.authorized_scopes.clone())?;
        }
    }
    if let Some(want) = f.int("lifetime")? {
        expect_eq("lifetime", want, i64::from(token.lifetime))?;
    }
    if let Some(want) = f.str("expires_at")? {
        expect_eq("expires_at", parse_time(want)?, token.expires_at())?;
    }
    if op == "refresh" {
        if let Some(want) = f.str("handle")? {
            let got = handle.as_deref();
            let same = got == presented;
            match want {
                "same" if !same => {
                    return Err("handle: expected the same handle, got a new one".into())
                }
                "new" if same => {
                    return Err("handle: expected a new handle, got the same one".into())
                }
                "same" | "new" => {}
                other => {
                    return Err(format!(
                        "expect.handle must be \"same\" or \"new\", not '{other}'"
                    ))
                }
            }
        }
    }
    if op == "create" || op == "refresh" {
        if let Some(want) = f.int("length")? {
            expect_eq(
                "length",
                want,
                handle.as_deref().map_or(0, |h| h.chars().count() as i64),
            )?;
        }
    }
    Ok(())
}

/// The unprotected payload of a row's Data, as JSON.
fn payload_json(row: &PersistedGrant) -> Res<Value> {
    let outer: Value =
        serde_json::from_str(&row.data).map_err(|e| format!("Data is not JSON: {e}"))?;
    match outer.get("Payload").and_then(Value::as_str) {
        Some(p) => serde_json::from_str(p).map_err(|e| format!("Payload is not JSON: {e}")),
        None => Ok(outer),
    }
}

/// Every key of `want` is in `got` with an equal value, recursively; arrays compare whole.
fn contains(want: &Value, got: &Value, path: &str) -> Res<()> {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for (k, wv) in w {
                let gv = g
                    .get(k)
                    .ok_or_else(|| format!("data: {path}.{k} is missing"))?;
                contains(wv, gv, &format!("{path}.{k}"))?;
            }
            Ok(())
        }
        _ if want == got => Ok(()),
        _ => Err(format!("data: {path}: expected {want}, got {got}")),
    }
}

fn no_expect_fields(f: &Fields<'_>, op: &str) -> Res<()> {
    f.finish()
        .map_err(|e| format!("{e} (not an expectation of {op})"))
}

fn build_create(w: &World, s: &Fields<'_>, client_id: &str) -> Res<CreateRequest> {
    let client = w.client(client_id);
    let subject_id = s.req_str("subject")?;
    let session_id = s.str("session_id")?.map(str::to_owned);
    let scopes = s
        .strings("scopes")?
        .ok_or("create: missing field 'scopes'")?;
    let mut extra = Vec::new();
    if let Some(Value::Array(items)) = s.get("claims") {
        for item in items {
            let c = Fields::new("claim", item)?;
            extra.push(Claim::new(c.req_str("type")?, c.req_str("value")?));
            c.finish()?;
        }
    } else if s.has("claims") {
        return Err("create: 'claims' must be an array".into());
    }
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
    Ok(CreateRequest {
        subject,
        session_id,
        description: s.str("description")?.map(str::to_owned),
        authorized_scopes: scopes,
        authorized_resource_indicators: None,
        proof_type: 0,
        access_token: at,
        requested_resource: None,
    })
}

/// Runs one step. Returns whether it ended in a retryable failure (for the no-change check).
pub fn run_step(w: &mut World, step: &Value) -> Res<bool> {
    let s = Fields::new("step", step)?;
    let op = s.req_str("op")?;
    let expect_value = s.get("expect");
    let null = Value::Object(Default::default());
    let e = Fields::new(format!("{op}.expect"), expect_value.unwrap_or(&null))?;
    let mut retryable_failure = false;
    match op {
        "create" => {
            let client_id = s.req_str("client")?;
            let request = build_create(w, &s, client_id)?;
            let name = s.req_str("as")?;
            let outcome = match w.service.create(&w.client(client_id), request) {
                Ok(created) => {
                    w.names
                        .insert(name.to_owned(), created.handle.as_str().to_owned());
                    Outcome::Token {
                        token: Box::new(created.token),
                        handle: Some(created.handle.as_str().to_owned()),
                    }
                }
                Err(err) => {
                    retryable_failure = err.is_retryable();
                    // A create is expected to succeed unless the scenario says otherwise.
                    if !e.has("ok") {
                        return Err(format!("create failed: {err}"));
                    }
                    Outcome::Failed(err)
                }
            };
            check_outcome(&e, &outcome, None, op)?;
        }
        "validate" | "refresh" => {
            let client = w.client(s.req_str("client")?);
            let handle = w.token(s.req("token")?)?;
            let outcome = if op == "validate" {
                match w.service.validate(&handle, &client) {
                    Ok(v) => Outcome::Token {
                        token: Box::new(v.token),
                        handle: None,
                    },
                    Err(err) => Outcome::Failed(err),
                }
            } else {
                match w.service.refresh(
                    &client,
                    RefreshRequest {
                        handle: handle.clone(),
                        ..Default::default()
                    },
                ) {
                    Ok(r) => {
                        if let Some(name) = s.str("as")? {
                            w.names
                                .insert(name.to_owned(), r.handle.as_str().to_owned());
                        }
                        Outcome::Token {
                            token: Box::new(r.token),
                            handle: Some(r.handle.as_str().to_owned()),
                        }
                    }
                    Err(err) => {
                        s.str("as")?;
                        Outcome::Failed(err)
                    }
                }
            };
            if let Outcome::Failed(err) = &outcome {
                retryable_failure = err.is_retryable();
            }
            check_outcome(&e, &outcome, Some(&handle), op)?;
        }
        "advance" => {
            let secs = s
                .num("seconds")?
                .ok_or("advance: missing field 'seconds'")?;
            w.clock.advance(secs);
        }
        "revoke" => {
            let client = w.client(s.req_str("client")?);
            let handle = w.token(s.req("token")?)?;
            let result = w.service.revoke(&client, &handle);
            if let Err(err) = &result {
                retryable_failure = err.is_retryable();
            }
            if let Some(want) = e.bool("ok")? {
                expect_eq("ok", want, result.is_ok()).map_err(|m| match &result {
                    Err(err) => format!("{m} ({err})"),
                    Ok(_) => m,
                })?;
            }
            if let Some(want) = e.str("error")? {
                expect_eq(
                    "error",
                    Some(want),
                    result.as_ref().err().map(|x| x.error_code()),
                )?;
            }
            if let Some(want) = e.bool("retryable")? {
                expect_eq("retryable", want, retryable_failure)?;
            }
        }
        "cleanup" => {
            let result = w.service.cleanup();
            if let Err(err) = &result {
                retryable_failure = err.is_retryable();
            }
            if let Some(want) = e.int("removed")? {
                let report = result
                    .as_ref()
                    .map_err(|err| format!("cleanup failed: {err}"))?;
                expect_eq("removed", want as u64, report.total())?;
            }
            if let Some(want) = e.str("error")? {
                expect_eq(
                    "error",
                    Some(want),
                    result.as_ref().err().map(|x| x.error_code()),
                )?;
            }
        }
        "inspect" => {
            let handle = w.token(s.req("token")?)?;
            let row = w
                .inner
                .get(&refresh_token_key(&handle))
                .map_err(|e| e.to_string())?;
            if let Some(want) = e.bool("stored")? {
                expect_eq("stored", want, row.is_some())?;
            }
            let fields = [
                "consumed_time",
                "creation_time",
                "expiration",
                "type",
                "subject_id",
                "client_id",
                "session_id",
                "data",
            ];
            if fields.iter().any(|n| e.has(n)) {
                let row = row.ok_or("inspect: no stored row")?;
                if let Some(want) = opt_time_or_null(&e, "consumed_time")? {
                    expect_eq("consumed_time", want, row.consumed_time)?;
                }
                if let Some(want) = opt_time_or_null(&e, "creation_time")? {
                    expect_eq("creation_time", want, Some(row.creation_time))?;
                }
                if let Some(want) = opt_time_or_null(&e, "expiration")? {
                    expect_eq("expiration", want, row.expiration)?;
                }
                if let Some(want) = e.str("type")? {
                    expect_eq("type", want, row.grant_type.as_str())?;
                }
                if let Some(want) = opt_str_or_null(&e, "subject_id")? {
                    expect_eq("subject_id", want, row.subject_id.clone())?;
                }
                if let Some(want) = e.str("client_id")? {
                    expect_eq("client_id", want, row.client_id.as_str())?;
                }
                if let Some(want) = opt_str_or_null(&e, "session_id")? {
                    expect_eq("session_id", want, row.session_id.clone())?;
                }
                if let Some(want) = e.get("data") {
                    contains(want, &payload_json(&row)?, "Data")?;
                }
            }
        }
        "count" => {
            let f = Fields::new("count.filter", s.req("filter")?)?;
            let filter = GrantFilter {
                subject_id: f.str("subject")?.map(str::to_owned),
                client_id: f.str("client")?.map(str::to_owned),
                session_id: f.str("session_id")?.map(str::to_owned),
                grant_type: f.str("type")?.map(str::to_owned),
                ..Default::default()
            };
            f.finish()?;
            let rows = w
                .inner
                .get_all(&filter)
                .map_err(|e| format!("count: {e}"))?;
            if let Some(want) = e.int("rows")? {
                expect_eq("rows", want as usize, rows.len())?;
            }
        }
        "set_client" => {
            let id = s.req_str("client")?;
            let mut client = w.client(id);
            apply_client_settings(&mut client, s.req("settings")?, "set_client.settings")?;
            w.clients.insert(id.to_owned(), client);
        }
        "set_active" => {
            let sub = s.req_str("subject")?;
            let active = s
                .bool("active")?
                .ok_or("set_active: missing field 'active'")?;
            w.active.0.lock().insert(sub.to_owned(), active);
        }
        "fail_store" => {
            let kind = match s.req_str("operation")? {
                "get" => Some(Kind::Get),
                "store" => Some(Kind::Store),
                "remove" => Some(Kind::Remove),
                "any" => None,
                other => return Err(format!("fail_store: unknown operation '{other}'")),
            };
            let times = s.int("times")?.ok_or("fail_store: missing field 'times'")?;
            w.faults.fail(
                kind,
                u32::try_from(times).map_err(|_| "fail_store: bad 'times'")?,
            );
        }
        "import" => {
            let r = Fields::new("import.row", s.req("row")?)?;
            let time = |name: &'static str| -> Res<Option<chrono::DateTime<chrono::Utc>>> {
                r.str(name)?.map(parse_time).transpose()
            };
            let row = PersistedGrant {
                key: r.req_str("Key")?.to_owned(),
                grant_type: r.req_str("Type")?.to_owned(),
                subject_id: r.str("SubjectId")?.map(str::to_owned),
                session_id: r.str("SessionId")?.map(str::to_owned),
                client_id: r.req_str("ClientId")?.to_owned(),
                description: r.str("Description")?.map(str::to_owned),
                creation_time: time("CreationTime")?.ok_or("import: missing CreationTime")?,
                expiration: time("Expiration")?,
                consumed_time: time("ConsumedTime")?,
                data: r.req_str("Data")?.to_owned(),
            };
            r.finish()?;
            w.inner.store(&row).map_err(|e| e.to_string())?;
        }
        "key" => {
            let handle = w.token(s.req("token")?)?;
            if let Some(want) = e.str("key")? {
                expect_eq("key", want, refresh_token_key(&handle).as_str())?;
            }
        }
        other => return Err(format!("unknown op '{other}'")),
    }
    s.finish()?;
    no_expect_fields(&e, op)?;
    Ok(retryable_failure)
}
