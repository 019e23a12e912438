//! Every expectation field, once: which ops it applies to and how it reads a runner's
//! observation. Adding a field to the format is one row here (and its line in the README).
//!
//! An observation (one JSON line per step, see the README's "Observations") carries what the
//! runner saw, not what it concluded: `result` (`{"ok": true}` or `{"ok": false, "error",
//! "reason", "retryable", "message"}`), `token` (the token record as the Data column's version-5
//! JSON), `handle`, `removed`, `row` (the stored row, times as ticks, or null), `rows`, `key`,
//! and `changed` (whether the stored state differs from before the step).

use serde_json::{Map, Value};

use crate::fields::Res;
use crate::time;

/// One step's observation, with what the judge knows about the step.
pub struct Observed<'a> {
    pub op: &'a str,
    pub obs: &'a Map<String, Value>,
    /// The handle the step presented (validate, refresh), resolved from earlier observations.
    pub presented: Option<&'a str>,
}

pub struct Expectation {
    pub field: &'static str,
    pub ops: &'static [&'static str],
    pub check: fn(want: &Value, o: &Observed<'_>) -> Res<()>,
}

const TOKEN_OPS: &[&str] = &["create", "validate", "refresh"];

pub const TABLE: &[Expectation] = &[
    Expectation {
        field: "ok",
        ops: &["create", "validate", "refresh", "revoke"],
        check: ok,
    },
    Expectation {
        field: "error",
        ops: &["create", "validate", "refresh", "revoke", "cleanup"],
        check: error,
    },
    Expectation {
        field: "reason",
        ops: TOKEN_OPS,
        check: reason,
    },
    Expectation {
        field: "retryable",
        ops: &["create", "validate", "refresh", "revoke"],
        check: retryable,
    },
    Expectation {
        field: "handle",
        ops: &["refresh"],
        check: handle,
    },
    Expectation {
        field: "length",
        ops: &["create", "refresh"],
        check: length,
    },
    Expectation {
        field: "subject",
        ops: TOKEN_OPS,
        check: token_subject,
    },
    Expectation {
        field: "client",
        ops: TOKEN_OPS,
        check: |w, o| eq("client", want_str(w)?, token_str(o, "ClientId")?),
    },
    Expectation {
        field: "session_id",
        ops: TOKEN_OPS,
        check: |w, o| {
            eq(
                "session_id",
                want_opt_str(w)?,
                token_opt_str(o, "SessionId")?,
            )
        },
    },
    Expectation {
        field: "scopes",
        ops: TOKEN_OPS,
        check: |w, o| {
            eq(
                "scopes",
                w,
                token(o)?.get("AuthorizedScopes").unwrap_or(&Value::Null),
            )
        },
    },
    Expectation {
        field: "description",
        ops: TOKEN_OPS,
        check: |w, o| {
            eq(
                "description",
                want_opt_str(w)?,
                token_opt_str(o, "Description")?,
            )
        },
    },
    Expectation {
        field: "lifetime",
        ops: TOKEN_OPS,
        check: |w, o| eq("lifetime", want_int(w)?, token_int(o, "Lifetime")?),
    },
    Expectation {
        field: "expires_at",
        ops: TOKEN_OPS,
        check: expires_at,
    },
    Expectation {
        field: "stored",
        ops: &["inspect"],
        check: stored,
    },
    Expectation {
        field: "consumed_time",
        ops: &["inspect"],
        check: |w, o| row_time(w, o, "consumed_time", "ConsumedTime"),
    },
    Expectation {
        field: "creation_time",
        ops: &["inspect"],
        check: |w, o| row_time(w, o, "creation_time", "CreationTime"),
    },
    Expectation {
        field: "expiration",
        ops: &["inspect"],
        check: |w, o| row_time(w, o, "expiration", "Expiration"),
    },
    Expectation {
        field: "type",
        ops: &["inspect"],
        check: |w, o| eq("type", want_opt_str(w)?, row_opt_str(o, "Type")?),
    },
    Expectation {
        field: "subject_id",
        ops: &["inspect"],
        check: |w, o| eq("subject_id", want_opt_str(w)?, row_opt_str(o, "SubjectId")?),
    },
    Expectation {
        field: "client_id",
        ops: &["inspect"],
        check: |w, o| eq("client_id", want_opt_str(w)?, row_opt_str(o, "ClientId")?),
    },
    Expectation {
        field: "session_id",
        ops: &["inspect"],
        check: |w, o| eq("session_id", want_opt_str(w)?, row_opt_str(o, "SessionId")?),
    },
    Expectation {
        field: "data",
        ops: &["inspect"],
        check: data,
    },
    Expectation {
        field: "removed",
        ops: &["cleanup"],
        check: |w, o| {
            eq(
                "removed",
                Some(want_int(w)?),
                succeeded(o, "removed")?.as_i64(),
            )
        },
    },
    Expectation {
        field: "rows",
        ops: &["count"],
        check: |w, o| eq("rows", want_int(w)?, obs_int(o, "rows")?),
    },
    Expectation {
        field: "key",
        ops: &["key"],
        check: |w, o| {
            eq(
                "key",
                Some(want_str(w)?),
                o.obs.get("key").and_then(Value::as_str),
            )
        },
    },
];

/// The expectation `field` of `op`, if the format has one.
pub fn find(op: &str, field: &str) -> Option<&'static Expectation> {
    TABLE
        .iter()
        .find(|e| e.field == field && e.ops.contains(&op))
}

fn eq<T: PartialEq + std::fmt::Debug>(what: &str, want: T, got: T) -> Res<()> {
    if want == got {
        Ok(())
    } else {
        Err(format!("{what}: expected {want:?}, got {got:?}"))
    }
}

fn want_str(w: &Value) -> Res<&str> {
    w.as_str()
        .ok_or_else(|| format!("expected a string, not {w}"))
}

fn want_opt_str(w: &Value) -> Res<Option<&str>> {
    match w {
        Value::Null => Ok(None),
        _ => want_str(w).map(Some),
    }
}

fn want_int(w: &Value) -> Res<i64> {
    w.as_i64()
        .ok_or_else(|| format!("expected an integer, not {w}"))
}

fn want_bool(w: &Value) -> Res<bool> {
    w.as_bool()
        .ok_or_else(|| format!("expected a boolean, not {w}"))
}

fn want_opt_time(w: &Value) -> Res<Option<i64>> {
    want_opt_str(w)?.map(time::parse).transpose()
}

/// The observation's `result`; a step without one is a runner bug.
pub fn result<'a>(o: &Observed<'a>) -> Res<&'a Map<String, Value>> {
    o.obs
        .get("result")
        .and_then(Value::as_object)
        .ok_or_else(|| "the runner reported no result".to_owned())
}

pub fn is_ok(o: &Observed<'_>) -> Res<bool> {
    Ok(result(o)?.get("ok").and_then(Value::as_bool) == Some(true))
}

/// The failure as one line, for messages: `invalid_grant/consumed (what the library said)`.
pub fn failure_text(o: &Observed<'_>) -> String {
    let Ok(r) = result(o) else {
        return "no result".into();
    };
    let s = |k: &str| r.get(k).and_then(Value::as_str).unwrap_or("");
    format!("{}/{} ({})", s("error"), s("reason"), s("message"))
}

/// A field of a successful step's observation.
fn succeeded<'a>(o: &Observed<'a>, name: &str) -> Res<&'a Value> {
    if !is_ok(o)? {
        return Err(format!("expected success, got {}", failure_text(o)));
    }
    o.obs
        .get(name)
        .ok_or_else(|| format!("the runner reported no '{name}'"))
}

fn obs_int(o: &Observed<'_>, name: &str) -> Res<i64> {
    o.obs
        .get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("the runner reported no '{name}'"))
}

fn failure_field<'a>(o: &Observed<'a>, name: &str) -> Res<Option<&'a str>> {
    if is_ok(o)? {
        return Ok(None);
    }
    Ok(result(o)?.get(name).and_then(Value::as_str))
}

fn ok(w: &Value, o: &Observed<'_>) -> Res<()> {
    let want = want_bool(w)?;
    let got = is_ok(o)?;
    match (want, got) {
        (true, false) => Err(format!(
            "ok: expected true, got false ({})",
            failure_text(o)
        )),
        _ => eq("ok", want, got),
    }
}

fn error(w: &Value, o: &Observed<'_>) -> Res<()> {
    eq("error", Some(want_str(w)?), failure_field(o, "error")?)
}

fn reason(w: &Value, o: &Observed<'_>) -> Res<()> {
    eq("reason", Some(want_str(w)?), failure_field(o, "reason")?)
}

fn retryable(w: &Value, o: &Observed<'_>) -> Res<()> {
    let got = !is_ok(o)? && result(o)?.get("retryable").and_then(Value::as_bool) == Some(true);
    eq("retryable", want_bool(w)?, got)
}

fn handle(w: &Value, o: &Observed<'_>) -> Res<()> {
    let got = succeeded(o, "handle")?.as_str();
    let same = got.is_some() && got == o.presented;
    match (want_str(w)?, same) {
        ("same", false) => Err("handle: expected the same handle, got a new one".into()),
        ("new", true) => Err("handle: expected a new handle, got the same one".into()),
        ("same" | "new", _) => Ok(()),
        (other, _) => Err(format!("handle must be \"same\" or \"new\", not '{other}'")),
    }
}

fn length(w: &Value, o: &Observed<'_>) -> Res<()> {
    let got = succeeded(o, "handle")?
        .as_str()
        .map_or(0, |h| h.chars().count() as i64);
    eq("length", want_int(w)?, got)
}

/// The token record a successful step returned.
fn token<'a>(o: &Observed<'a>) -> Res<&'a Map<String, Value>> {
    succeeded(o, "token")?
        .as_object()
        .ok_or_else(|| "the runner's token is not an object".to_owned())
}

fn token_str<'a>(o: &Observed<'a>, name: &str) -> Res<&'a str> {
    token(o)?
        .get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("the token has no {name}"))
}

fn token_opt_str<'a>(o: &Observed<'a>, name: &str) -> Res<Option<&'a str>> {
    Ok(token(o)?.get(name).and_then(Value::as_str))
}

fn token_int(o: &Observed<'_>, name: &str) -> Res<i64> {
    token(o)?
        .get(name)
        .and_then(Value::as_i64)
        .ok_or_else(|| format!("the token has no {name}"))
}

fn token_subject(w: &Value, o: &Observed<'_>) -> Res<()> {
    let claims = token(o)?
        .get("Subject")
        .and_then(|s| s.get("Claims"))
        .and_then(Value::as_array);
    let sub = claims
        .into_iter()
        .flatten()
        .find(|c| c.get("Type").and_then(Value::as_str) == Some("sub"))
        .and_then(|c| c.get("Value"))
        .and_then(Value::as_str);
    eq("subject", Some(want_str(w)?), sub)
}

fn expires_at(w: &Value, o: &Observed<'_>) -> Res<()> {
    let created = time::parse(token_str(o, "CreationTime")?)?;
    let got = created + time::whole_seconds(token_int(o, "Lifetime")?);
    let want = time::parse(want_str(w)?)?;
    if want == got {
        Ok(())
    } else {
        Err(format!(
            "expires_at: expected {}, got {}",
            time::show(want),
            time::show(got)
        ))
    }
}

fn stored(w: &Value, o: &Observed<'_>) -> Res<()> {
    let row = o.obs.get("row").ok_or("the runner reported no row")?;
    eq("stored", want_bool(w)?, !row.is_null())
}

/// The stored row an `inspect` read; expecting one of its fields means expecting a row.
fn row<'a>(o: &Observed<'a>) -> Res<&'a Map<String, Value>> {
    o.obs
        .get("row")
        .and_then(Value::as_object)
        .ok_or_else(|| "inspect: no stored row".to_owned())
}

fn row_opt_str<'a>(o: &Observed<'a>, name: &str) -> Res<Option<&'a str>> {
    Ok(row(o)?.get(name).and_then(Value::as_str))
}

fn row_time(w: &Value, o: &Observed<'_>, what: &str, column: &str) -> Res<()> {
    let want = want_opt_time(w)?;
    let got = row(o)?.get(column).and_then(Value::as_i64);
    if want == got {
        Ok(())
    } else {
        let show = |t: Option<i64>| t.map_or("null".to_owned(), time::show);
        Err(format!(
            "{what}: expected {}, got {}",
            show(want),
            show(got)
        ))
    }
}

/// The unprotected payload of a row's Data, as JSON (a plain payload is itself).
fn payload(row: &Map<String, Value>) -> Res<Value> {
    let data = row
        .get("Data")
        .and_then(Value::as_str)
        .ok_or("the row has no Data")?;
    let outer: Value = serde_json::from_str(data).map_err(|e| format!("Data is not JSON: {e}"))?;
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

fn data(w: &Value, o: &Observed<'_>) -> Res<()> {
    if !w.is_object() {
        return Err("data must be an object".into());
    }
    contains(w, &payload(row(o)?)?, "Data")
}
