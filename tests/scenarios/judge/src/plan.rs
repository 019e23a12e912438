//! A scenario file read strictly (format 1 and this project's additions, see
//! tests/scenarios/README.md) and turned into the plan a runner executes: the steps without their
//! expectations, times as ticks, every name already checked. A runner trusts its plan; only the
//! judge reads the file's words.

use serde_json::{json, Map, Value};

use crate::expect;
use crate::fields::{Fields, Res};
use crate::time;

/// A step's `token`: a name bound by an earlier `as`, or a literal string.
#[derive(Clone, Debug, PartialEq)]
pub enum TokenRef {
    Name(String),
    Literal(String),
}

/// What the judge keeps of one step.
#[derive(Debug)]
pub struct Step {
    pub op: String,
    pub expect: Map<String, Value>,
    pub token: Option<TokenRef>,
    /// The name this step's `as` binds.
    pub binds: Option<String>,
}

#[derive(Debug)]
pub struct Scenario {
    pub name: String,
    /// `{"scenario", "start", "options", "clients", "steps"}`, see the README's "Plans".
    pub plan: Value,
    pub steps: Vec<Step>,
}

/// Reads a scenario document.
pub fn read(doc: &Value) -> Res<Scenario> {
    let f = Fields::new("scenario", doc)?;
    let name = f.req_str("scenario")?.to_owned();
    f.str("about")?;
    let start = time::parse(f.req_str("start")?)?;
    let options = options(f.get("options"))?;
    let mut clients = Map::new();
    if let Some(v) = f.get("clients") {
        let map = v.as_object().ok_or("'clients' must be an object")?;
        for (id, settings) in map {
            clients.insert(
                id.clone(),
                client_settings(settings, &format!("clients.{id}"))?,
            );
        }
    }
    let raw_steps = f
        .req("steps")?
        .as_array()
        .ok_or("'steps' must be an array")?;
    f.finish()?;
    let mut names = Vec::new();
    let mut steps = Vec::new();
    let mut planned = Vec::new();
    for (i, raw) in raw_steps.iter().enumerate() {
        let (p, s) = step(raw, &names).map_err(|m| {
            let op = raw.get("op").and_then(Value::as_str).unwrap_or("?");
            format!("step {} ({op}): {m}", i + 1)
        })?;
        if let Some(n) = &s.binds {
            names.push(n.clone());
        }
        planned.push(p);
        steps.push(s);
    }
    let plan = json!({
        "scenario": name,
        "start": start,
        "options": options,
        "clients": clients,
        "steps": planned,
    });
    Ok(Scenario { name, plan, steps })
}

fn u32_field(f: &Fields<'_>, name: &'static str) -> Res<Option<u32>> {
    f.int(name)?
        .map(|n| u32::try_from(n).map_err(|_| format!("'{name}' out of range")))
        .transpose()
}

fn i32_field(f: &Fields<'_>, name: &'static str) -> Res<Option<i32>> {
    f.int(name)?
        .map(|n| i32::try_from(n).map_err(|_| format!("'{name}' out of range")))
        .transpose()
}

fn one_of<'a>(what: &str, v: Option<&'a str>, allowed: &[&str]) -> Res<Option<&'a str>> {
    match v {
        Some(s) if !allowed.contains(&s) => Err(format!("unknown {what} '{s}'")),
        other => Ok(other),
    }
}

/// Copies the given fields into `out`, skipping absent ones.
fn put(out: &mut Map<String, Value>, name: &str, v: Option<impl Into<Value>>) {
    if let Some(v) = v {
        out.insert(name.to_owned(), v.into());
    }
}

/// `options`, with the policy's own defaults filled in (the service defaults stay the runners').
fn options(v: Option<&Value>) -> Res<Value> {
    let mut out = Map::new();
    let Some(v) = v else {
        return Ok(Value::Object(out));
    };
    let f = Fields::new("options", v)?;
    put(
        &mut out,
        "delete_one_time_only_refresh_tokens_on_use",
        f.bool("delete_one_time_only_refresh_tokens_on_use")?,
    );
    put(
        &mut out,
        "reuse_window_seconds",
        u32_field(&f, "reuse_window_seconds")?,
    );
    put(
        &mut out,
        "replay_scope",
        one_of(
            "replay_scope",
            f.str("replay_scope")?,
            &["family", "subject_and_client"],
        )?,
    );
    if let Some(p) = f.get("accept_consumed") {
        let p = Fields::new("options.accept_consumed", p)?;
        let policy = p.req_str("policy")?;
        let v = match policy {
            "reject" | "revoke_on_replay" => json!({ "policy": policy }),
            "grace" => json!({
                "policy": "grace",
                "seconds": u32_field(&p, "seconds")?.ok_or("grace policy needs 'seconds'")?,
            }),
            "host" => json!({
                "policy": "host",
                "accept_within_seconds": u32_field(&p, "accept_within_seconds")?.unwrap_or(0),
                "revoke_on_reject": p.bool("revoke_on_reject")?.unwrap_or(false),
            }),
            other => return Err(format!("unknown accept_consumed policy '{other}'")),
        };
        p.finish()?;
        out.insert("accept_consumed".into(), v);
    }
    if let Some(c) = f.get("cleanup") {
        let c = Fields::new("options.cleanup", c)?;
        let mut cleanup = Map::new();
        put(
            &mut cleanup,
            "remove_consumed_tokens",
            c.bool("remove_consumed_tokens")?,
        );
        put(
            &mut cleanup,
            "consumed_token_cleanup_delay",
            u32_field(&c, "consumed_token_cleanup_delay")?,
        );
        put(&mut cleanup, "batch_size", u32_field(&c, "batch_size")?);
        c.finish()?;
        out.insert("cleanup".into(), Value::Object(cleanup));
    }
    f.finish()?;
    Ok(Value::Object(out))
}

/// A `clients` entry or `set_client` settings: only the fields given.
fn client_settings(v: &Value, what: &str) -> Res<Value> {
    let f = Fields::new(what, v)?;
    let mut out = Map::new();
    put(
        &mut out,
        "allow_offline_access",
        f.bool("allow_offline_access")?,
    );
    put(
        &mut out,
        "refresh_token_usage",
        one_of(
            "refresh_token_usage",
            f.str("refresh_token_usage")?,
            &["ReUse", "OneTimeOnly"],
        )?,
    );
    put(
        &mut out,
        "refresh_token_expiration",
        one_of(
            "refresh_token_expiration",
            f.str("refresh_token_expiration")?,
            &["Absolute", "Sliding"],
        )?,
    );
    for name in [
        "absolute_refresh_token_lifetime",
        "sliding_refresh_token_lifetime",
        "access_token_lifetime",
    ] {
        put(&mut out, name, i32_field(&f, name)?);
    }
    put(
        &mut out,
        "update_access_token_claims_on_refresh",
        f.bool("update_access_token_claims_on_refresh")?,
    );
    put(
        &mut out,
        "reuse_window_seconds",
        u32_field(&f, "reuse_window_seconds")?,
    );
    f.finish().map_err(|e| format!("{what}: {e}"))?;
    Ok(Value::Object(out))
}

fn token_ref(v: &Value, names: &[String]) -> Res<TokenRef> {
    match v {
        Value::String(name) if names.contains(name) => Ok(TokenRef::Name(name.clone())),
        Value::String(name) => Err(format!("no token named '{name}'")),
        Value::Object(_) => {
            let f = Fields::new("token", v)?;
            let lit = f.req_str("literal")?.to_owned();
            f.finish()?;
            Ok(TokenRef::Literal(lit))
        }
        _ => Err("'token' must be a name or {\"literal\": ...}".into()),
    }
}

/// The plan's form of a token: `{"name": ...}` or `{"literal": ...}`.
fn planned_token(t: &TokenRef) -> Value {
    match t {
        TokenRef::Name(n) => json!({ "name": n }),
        TokenRef::Literal(l) => json!({ "literal": l }),
    }
}

fn step(raw: &Value, names: &[String]) -> Res<(Value, Step)> {
    let s = Fields::new("step", raw)?;
    let op = s.req_str("op")?;
    let mut out = Map::new();
    out.insert("op".into(), op.into());
    let mut token = None;
    let mut binds = None;
    let mut take_token = |s: &Fields<'_>, out: &mut Map<String, Value>| -> Res<()> {
        let t = token_ref(s.req("token")?, names)?;
        out.insert("token".into(), planned_token(&t));
        token = Some(t);
        Ok(())
    };
    match op {
        "create" => {
            out.insert("client".into(), s.req_str("client")?.into());
            out.insert("subject".into(), s.req_str("subject")?.into());
            put(&mut out, "session_id", s.str("session_id")?);
            let scopes = s.strings("scopes")?.ok_or("missing field 'scopes'")?;
            out.insert("scopes".into(), scopes.into());
            put(&mut out, "description", s.str("description")?);
            let mut claims = Vec::new();
            match s.get("claims") {
                None => {}
                Some(Value::Array(items)) => {
                    for item in items {
                        let c = Fields::new("claim", item)?;
                        claims.push(
                            json!({ "type": c.req_str("type")?, "value": c.req_str("value")? }),
                        );
                        c.finish()?;
                    }
                }
                Some(_) => return Err("'claims' must be an array".into()),
            }
            out.insert("claims".into(), claims.into());
            binds = Some(s.req_str("as")?.to_owned());
        }
        "validate" | "refresh" | "revoke" => {
            out.insert("client".into(), s.req_str("client")?.into());
            take_token(&s, &mut out)?;
            if op == "refresh" {
                binds = s.str("as")?.map(str::to_owned);
            }
        }
        "inspect" | "key" => take_token(&s, &mut out)?,
        "advance" => {
            let secs = s.num("seconds")?.ok_or("missing field 'seconds'")?;
            out.insert("ticks".into(), time::seconds(secs)?.into());
        }
        "cleanup" => {}
        "count" => {
            let f = Fields::new("count.filter", s.req("filter")?)?;
            let mut filter = Map::new();
            for name in ["subject", "client", "session_id", "type"] {
                put(&mut filter, name, f.str(name)?);
            }
            f.finish()?;
            out.insert("filter".into(), Value::Object(filter));
        }
        "set_client" => {
            out.insert("client".into(), s.req_str("client")?.into());
            out.insert(
                "settings".into(),
                client_settings(s.req("settings")?, "set_client.settings")?,
            );
        }
        "set_active" => {
            out.insert("subject".into(), s.req_str("subject")?.into());
            let active = s.bool("active")?.ok_or("missing field 'active'")?;
            out.insert("active".into(), active.into());
        }
        "fail_store" => {
            let kind = s.req_str("operation")?;
            one_of(
                "fail_store operation",
                Some(kind),
                &["get", "store", "remove", "any"],
            )?;
            let times = u32_field(&s, "times")?.ok_or("missing field 'times'")?;
            out.insert("operation".into(), kind.into());
            out.insert("times".into(), times.into());
        }
        "import" => {
            let r = Fields::new("import.row", s.req("row")?)?;
            let time = |name: &'static str| -> Res<Value> {
                Ok(r.str(name)?
                    .map(time::parse)
                    .transpose()?
                    .map_or(Value::Null, Value::from))
            };
            let creation = time("CreationTime")?;
            if creation.is_null() {
                return Err("import: missing CreationTime".into());
            }
            let row = json!({
                "Key": r.req_str("Key")?,
                "Type": r.req_str("Type")?,
                "SubjectId": r.str("SubjectId")?,
                "SessionId": r.str("SessionId")?,
                "ClientId": r.req_str("ClientId")?,
                "Description": r.str("Description")?,
                "CreationTime": creation,
                "Expiration": time("Expiration")?,
                "ConsumedTime": time("ConsumedTime")?,
                "Data": r.req_str("Data")?,
            });
            r.finish()?;
            out.insert("row".into(), row);
        }
        other => return Err(format!("unknown op '{other}'")),
    }
    if let Some(b) = &binds {
        out.insert("as".into(), b.clone().into());
    }
    let expect = match s.get("expect") {
        None => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(_) => return Err("'expect' must be an object".into()),
    };
    for field in expect.keys() {
        if expect::find(op, field).is_none() {
            return Err(format!("unknown expectation field '{field}' for {op}"));
        }
    }
    s.finish()?;
    Ok((
        Value::Object(out),
        Step {
            op: op.to_owned(),
            expect,
            token,
            binds,
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(steps: Value) -> Value {
        json!({ "scenario": "t", "start": "2026-01-01T00:00:00Z", "steps": steps })
    }

    #[test]
    fn plans_carry_ticks_names_and_no_expectations() {
        let s = read(&scenario(json!([
            { "op": "create", "client": "c", "subject": "alice", "scopes": ["a"], "as": "t1" },
            { "op": "advance", "seconds": 0.5 },
            { "op": "refresh", "client": "c", "token": "t1", "as": "t2", "expect": { "ok": true } },
            { "op": "inspect", "token": { "literal": "x" } },
        ])))
        .unwrap();
        assert_eq!(s.plan["start"], json!(1_767_225_600_i64 * 10_000_000));
        assert_eq!(
            s.plan["steps"][1],
            json!({ "op": "advance", "ticks": 5_000_000 })
        );
        assert_eq!(
            s.plan["steps"][2],
            json!({ "op": "refresh", "client": "c", "token": { "name": "t1" }, "as": "t2" })
        );
        assert_eq!(s.steps[3].token, Some(TokenRef::Literal("x".into())));
        assert_eq!(s.steps[2].expect["ok"], json!(true));
    }

    #[test]
    fn every_misreading_is_an_error_naming_it() {
        let cases = [
            (json!([{ "op": "jump" }]), "unknown op 'jump'"),
            (
                json!([{ "op": "cleanup", "expect": { "rows": 1 } }]),
                "unknown expectation field 'rows' for cleanup",
            ),
            (
                json!([{ "op": "cleanup", "extra": 1 }]),
                "unknown field 'extra'",
            ),
            (
                json!([{ "op": "validate", "client": "c", "token": "nope" }]),
                "no token named 'nope'",
            ),
            (
                json!([{ "op": "set_client", "client": "c", "settings": { "refresh_token_usage": "Once" } }]),
                "unknown refresh_token_usage 'Once'",
            ),
            (
                json!([{ "op": "fail_store", "operation": "read", "times": 1 }]),
                "unknown fail_store operation 'read'",
            ),
            (
                json!([{ "op": "import", "row": { "Key": "k", "Type": "t", "ClientId": "c", "Data": "", "CreationTime": "yesterday" } }]),
                "is not an RFC 3339 time",
            ),
        ];
        for (steps, want) in cases {
            let err = read(&scenario(steps.clone())).unwrap_err();
            assert!(err.contains(want), "{steps}: {err}");
        }
        let bad_option = json!({ "scenario": "t", "start": "2026-01-01T00:00:00Z", "options": { "accept_consumed": { "policy": "maybe" } }, "steps": [] });
        assert!(read(&bad_option)
            .unwrap_err()
            .contains("unknown accept_consumed policy 'maybe'"));
    }

    #[test]
    fn a_name_is_bound_only_from_its_step_on() {
        let err = read(&scenario(json!([
            { "op": "validate", "client": "c", "token": "t1" },
            { "op": "create", "client": "c", "subject": "a", "scopes": [], "as": "t1" },
        ])))
        .unwrap_err();
        assert!(err.starts_with("step 1 (validate)"), "{err}");
    }
}
