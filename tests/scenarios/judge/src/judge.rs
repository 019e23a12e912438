//! One scenario judged: each step's observation against the step's expectations, plus the rules
//! that hold for every step (a create succeeds unless the scenario says otherwise; a step that
//! fails retryably leaves the stored state as it was; the runner reports every step).

use serde_json::Value;
use std::collections::HashMap;

use crate::expect::{self, Observed};
use crate::fields::Res;
use crate::plan::{Scenario, TokenRef};

/// `Ok` when every step's observation meets its expectations; else the first difference, as
/// `step <n> (<op>): <what differed>`.
pub fn judge(scenario: &Scenario, observations: &[Value]) -> Res<()> {
    let mut by_step: HashMap<u64, &serde_json::Map<String, Value>> = HashMap::new();
    for o in observations {
        let obj = o.as_object().ok_or("the runner reported a non-object")?;
        match obj.get("step").and_then(Value::as_u64) {
            // Step 0 is the scenario's set-up.
            Some(0) => {}
            Some(n) => {
                by_step.insert(n, obj);
            }
            None => {
                return Err(format!(
                    "the runner reported an observation without a step: {o}"
                ))
            }
        }
        if let Some(fault) = obj.get("fault").and_then(Value::as_str) {
            let at = match obj.get("step").and_then(Value::as_u64) {
                Some(0) | None => "set-up".to_owned(),
                Some(n) => step_name(scenario, n),
            };
            return Err(format!("{at}: the runner failed: {fault}"));
        }
    }
    let mut handles: HashMap<&str, String> = HashMap::new();
    for (i, step) in scenario.steps.iter().enumerate() {
        let n = i as u64 + 1;
        let at = step_name(scenario, n);
        let obs = by_step
            .get(&n)
            .ok_or_else(|| format!("{at}: the runner reported nothing for this step"))?;
        if obs.get("op").and_then(Value::as_str) != Some(step.op.as_str()) {
            return Err(format!("{at}: the runner reported op {:?}", obs.get("op")));
        }
        let presented = match &step.token {
            Some(TokenRef::Name(name)) => handles.get(name.as_str()).map(String::as_str),
            Some(TokenRef::Literal(l)) => Some(l.as_str()),
            None => None,
        };
        let o = Observed {
            op: &step.op,
            obs,
            presented,
        };
        every_step(step, &o).map_err(|m| format!("{at}: {m}"))?;
        for (field, want) in &step.expect {
            let e = expect::find(&step.op, field)
                .ok_or_else(|| format!("{at}: unknown expectation field '{field}'"))?;
            (e.check)(want, &o).map_err(|m| format!("{at}: {m}"))?;
        }
        if let Some(name) = &step.binds {
            if let Some(h) = obs.get("handle").and_then(Value::as_str) {
                handles.insert(name.as_str(), h.to_owned());
            }
        }
    }
    Ok(())
}

fn step_name(scenario: &Scenario, n: u64) -> String {
    let op = scenario
        .steps
        .get(n as usize - 1)
        .map_or("?", |s| s.op.as_str());
    format!("step {n} ({op})")
}

/// The rules that hold whatever the step expects.
fn every_step(step: &crate::plan::Step, o: &Observed<'_>) -> Res<()> {
    let has_result = o.obs.contains_key("result");
    if step.op == "create" && !step.expect.contains_key("ok") && !expect::is_ok(o)? {
        return Err(format!("create failed: {}", expect::failure_text(o)));
    }
    if has_result && !expect::is_ok(o)? {
        let r = expect::result(o)?;
        let retryable = r.get("retryable").and_then(Value::as_bool) == Some(true);
        if retryable && o.obs.get("changed").and_then(Value::as_bool) != Some(false) {
            return Err("failed on storage but changed the stored state".into());
        }
    }
    Ok(())
}
