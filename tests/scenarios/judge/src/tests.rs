//! The judge's own tests: a bug here would pass a behaviour on every runner at once, so each
//! check is shown both to pass on a matching observation and to fail on a differing one.

use serde_json::{json, Value};

use crate::expect::{Observed, TABLE};
use crate::judge::judge;
use crate::plan;

const T0: i64 = 1_767_225_600 * 10_000_000; // 2026-01-01T00:00:00Z

fn scenario(steps: Value) -> plan::Scenario {
    plan::read(&json!({ "scenario": "t", "start": "2026-01-01T00:00:00Z", "steps": steps }))
        .unwrap()
}

fn ok_token(handle: &str, extra: Value) -> Value {
    let mut token = json!({
        "CreationTime": "2026-01-01T00:00:00Z", "Lifetime": 3600,
        "Subject": { "Claims": [{ "Type": "sub", "Value": "alice" }] },
        "ClientId": "spa", "SessionId": "s1", "AuthorizedScopes": ["openid", "offline_access"],
        "Description": null,
    });
    for (k, v) in extra.as_object().unwrap() {
        token[k] = v.clone();
    }
    json!({ "result": { "ok": true }, "token": token, "handle": handle, "changed": true })
}

fn refused(error: &str, reason: Option<&str>, retryable: bool, changed: bool) -> Value {
    json!({ "result": { "ok": false, "error": error, "reason": reason, "retryable": retryable, "message": "m" }, "changed": changed })
}

/// Steps numbered in order with their op, as a runner reports them.
fn observations(s: &plan::Scenario, bodies: Vec<Value>) -> Vec<Value> {
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, mut b)| {
            b["step"] = json!(i + 1);
            b["op"] = json!(s.steps[i].op);
            b
        })
        .collect()
}

fn verdict(steps: Value, bodies: Vec<Value>) -> Result<(), String> {
    let s = scenario(steps);
    judge(&s, &observations(&s, bodies))
}

fn create() -> Value {
    json!({ "op": "create", "client": "spa", "subject": "alice", "scopes": ["openid"], "as": "t1" })
}

fn refresh(expect: Value) -> Value {
    json!({ "op": "refresh", "client": "spa", "token": "t1", "as": "t2", "expect": expect })
}

#[test]
fn no_expectation_passes_on_an_observation_that_reported_nothing() {
    let wants = [
        json!(true),
        json!(false),
        json!("same"),
        json!("new"),
        json!(1),
        json!(null),
        json!({}),
        json!([]),
        json!("2026-01-01T00:00:00Z"),
    ];
    let empty = serde_json::Map::new();
    for e in TABLE {
        for op in e.ops {
            for want in &wants {
                let o = Observed {
                    op,
                    obs: &empty,
                    presented: Some("h"),
                };
                assert!(
                    (e.check)(want, &o).is_err(),
                    "{} on {op} passed with want {want} and nothing observed",
                    e.field
                );
            }
        }
    }
}

#[test]
fn the_outcome_fields_compare_exactly() {
    let ok = || vec![ok_token("h1", json!({})), ok_token("h2", json!({}))];
    assert!(verdict(
        json!([create(), refresh(json!({ "ok": true, "handle": "new" }))]),
        ok()
    )
    .is_ok());
    let same = vec![ok_token("h1", json!({})), ok_token("h1", json!({}))];
    assert!(verdict(
        json!([create(), refresh(json!({ "handle": "new" }))]),
        same.clone()
    )
    .unwrap_err()
    .contains("expected a new handle"));
    assert!(verdict(
        json!([create(), refresh(json!({ "handle": "same" }))]),
        same
    )
    .is_ok());
    assert!(verdict(
        json!([create(), refresh(json!({ "handle": "same" }))]),
        ok()
    )
    .unwrap_err()
    .contains("expected the same handle"));

    let no = || {
        vec![
            ok_token("h1", json!({})),
            refused("invalid_grant", Some("consumed"), false, false),
        ]
    };
    assert!(verdict(json!([create(), refresh(json!({ "ok": false, "error": "invalid_grant", "reason": "consumed", "retryable": false }))]), no()).is_ok());
    for (expect, want) in [
        (
            json!({ "ok": true }),
            "ok: expected true, got false (invalid_grant/consumed (m))",
        ),
        (
            json!({ "error": "invalid_request" }),
            "error: expected Some(\"invalid_request\")",
        ),
        (
            json!({ "reason": "expired" }),
            "reason: expected Some(\"expired\"), got Some(\"consumed\")",
        ),
        (
            json!({ "retryable": true }),
            "retryable: expected true, got false",
        ),
    ] {
        let err = verdict(json!([create(), refresh(expect.clone())]), no()).unwrap_err();
        assert!(
            err.starts_with("step 2 (refresh): ") && err.contains(want),
            "{expect}: {err}"
        );
    }
    // A success has no error or reason to match.
    assert!(verdict(
        json!([create(), refresh(json!({ "error": "invalid_grant" }))]),
        ok()
    )
    .unwrap_err()
    .contains("got None"));
}

#[test]
fn the_token_fields_read_the_token_record() {
    let run = |expect: Value, token: Value| {
        verdict(
            json!([create(), refresh(expect)]),
            vec![ok_token("h1", json!({})), ok_token("h2", token)],
        )
    };
    let t = || json!({ "CreationTime": "2026-01-01T00:01:00Z", "Lifetime": 120 });
    assert!(run(json!({ "subject": "alice", "client": "spa", "session_id": "s1", "scopes": ["openid", "offline_access"], "lifetime": 120, "expires_at": "2026-01-01T00:03:00Z", "length": 2 }), t()).is_ok());
    for (expect, want) in [
        (
            json!({ "subject": "bob" }),
            "subject: expected Some(\"bob\")",
        ),
        (json!({ "client": "web" }), "client: expected \"web\""),
        (
            json!({ "session_id": null }),
            "session_id: expected None, got Some(\"s1\")",
        ),
        (json!({ "scopes": ["openid"] }), "scopes"),
        (json!({ "lifetime": 60 }), "lifetime: expected 60, got 120"),
        (
            json!({ "expires_at": "2026-01-01T00:02:00+00:00" }),
            "expires_at: expected 2026-01-01T00:02:00Z, got 2026-01-01T00:03:00Z",
        ),
        (json!({ "length": 64 }), "length: expected 64, got 2"),
    ] {
        let err = run(expect.clone(), t()).unwrap_err();
        assert!(err.contains(want), "{expect}: {err}");
    }
}

#[test]
fn the_row_fields_read_the_stored_row() {
    let inspect =
        |expect: Value| json!([create(), { "op": "inspect", "token": "t1", "expect": expect }]);
    let row = json!({ "Key": "k", "Type": "refresh_token", "SubjectId": "alice", "SessionId": null, "ClientId": "spa", "Description": null,
        "CreationTime": T0, "Expiration": T0 + 600 * 10_000_000, "ConsumedTime": null,
        "Data": "{\"PersistentGrantDataContainerVersion\":1,\"DataProtected\":false,\"Payload\":\"{\\\"Lifetime\\\":600,\\\"Subject\\\":{\\\"Claims\\\":[1,2]}}\"}" });
    let run = |expect: Value, row: Value| {
        verdict(
            inspect(expect),
            vec![
                ok_token("h1", json!({})),
                json!({ "row": row, "changed": false }),
            ],
        )
    };
    assert!(run(json!({ "stored": true, "type": "refresh_token", "subject_id": "alice", "session_id": null, "client_id": "spa",
        "creation_time": "2026-01-01T00:00:00Z", "expiration": "2026-01-01T00:10:00Z", "consumed_time": null,
        "data": { "Lifetime": 600, "Subject": { "Claims": [1, 2] } } }), row.clone()).is_ok());
    for (expect, want) in [
        (
            json!({ "stored": false }),
            "stored: expected false, got true",
        ),
        (
            json!({ "consumed_time": "2026-01-01T00:00:00Z" }),
            "consumed_time: expected 2026-01-01T00:00:00Z, got null",
        ),
        (
            json!({ "expiration": null }),
            "expiration: expected null, got 2026-01-01T00:10:00Z",
        ),
        (json!({ "subject_id": "bob" }), "subject_id"),
        (
            json!({ "data": { "Lifetime": 60 } }),
            "data: Data.Lifetime: expected 60, got 600",
        ),
        (
            json!({ "data": { "Subject": { "Claims": [1] } } }),
            "data: Data.Subject.Claims",
        ),
        (
            json!({ "data": { "Version": 5 } }),
            "data: Data.Version is missing",
        ),
    ] {
        let err = run(expect.clone(), row.clone()).unwrap_err();
        assert!(err.contains(want), "{expect}: {err}");
    }
    assert!(run(json!({ "stored": false }), Value::Null).is_ok());
    assert!(run(json!({ "type": "refresh_token" }), Value::Null)
        .unwrap_err()
        .contains("no stored row"));
}

#[test]
fn counts_removals_and_keys_compare_exactly() {
    let steps = json!([
        { "op": "cleanup", "expect": { "removed": 2 } },
        { "op": "count", "filter": { "subject": "alice" }, "expect": { "rows": 1 } },
        { "op": "key", "token": { "literal": "h" }, "expect": { "key": "K" } },
    ]);
    let bodies = |removed: i64, rows: i64, key: &str| {
        vec![
            json!({ "result": { "ok": true }, "removed": removed, "changed": true }),
            json!({ "rows": rows, "changed": false }),
            json!({ "key": key, "changed": false }),
        ]
    };
    assert!(verdict(steps.clone(), bodies(2, 1, "K")).is_ok());
    assert!(verdict(steps.clone(), bodies(3, 1, "K"))
        .unwrap_err()
        .starts_with("step 1 (cleanup): removed"));
    assert!(verdict(steps.clone(), bodies(2, 0, "K"))
        .unwrap_err()
        .starts_with("step 2 (count): rows"));
    assert!(verdict(steps, bodies(2, 1, "k"))
        .unwrap_err()
        .starts_with("step 3 (key): key"));
}

#[test]
fn the_rules_of_every_step_hold_without_expectations() {
    // A create is expected to succeed unless the scenario says otherwise.
    let failed_create = vec![refused("storage_unavailable", None, true, false)];
    assert!(verdict(json!([create()]), failed_create.clone())
        .unwrap_err()
        .contains("create failed"));
    let mut c = create();
    c["expect"] = json!({ "ok": false, "retryable": true });
    assert!(verdict(json!([c]), failed_create).is_ok());
    // A retryable failure leaves the stored state as it was, and the runner must say so.
    let steps = json!([create(), { "op": "validate", "client": "spa", "token": "t1" }]);
    assert!(verdict(
        steps.clone(),
        vec![
            ok_token("h", json!({})),
            refused("storage_unavailable", None, true, true)
        ]
    )
    .unwrap_err()
    .contains("changed the stored state"));
    let mut unknown = refused("storage_unavailable", None, true, false);
    unknown.as_object_mut().unwrap().remove("changed");
    assert!(verdict(steps.clone(), vec![ok_token("h", json!({})), unknown]).is_err());
    // A refusal may change state (a policy revokes); only a retryable failure may not.
    assert!(verdict(
        steps,
        vec![
            ok_token("h", json!({})),
            refused("invalid_grant", Some("consumed"), false, true)
        ]
    )
    .is_ok());
}

#[test]
fn a_runner_that_stops_faults_or_misreports_fails_the_scenario() {
    let s = scenario(json!([create(), { "op": "cleanup" }]));
    let first = observations(&s, vec![ok_token("h", json!({}))]);
    assert!(judge(&s, &first)
        .unwrap_err()
        .contains("step 2 (cleanup): the runner reported nothing"));
    let mut faulted = first.clone();
    faulted.push(json!({ "step": 2, "fault": "boom" }));
    assert!(judge(&s, &faulted)
        .unwrap_err()
        .contains("step 2 (cleanup): the runner failed: boom"));
    assert!(judge(&s, &[json!({ "step": 0, "fault": "no store" })])
        .unwrap_err()
        .contains("set-up: the runner failed: no store"));
    let mut wrong_op = first;
    wrong_op.push(json!({ "step": 2, "op": "count", "rows": 0 }));
    assert!(judge(&s, &wrong_op).unwrap_err().contains("reported op"));
}
