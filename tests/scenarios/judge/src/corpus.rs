//! A corpus run: the scenario files read into plans, the plans handed to one runner, its
//! observations judged, one `PASS`/`FAIL` line per scenario and the `N passed, M failed` line.

use serde_json::Value;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::fields::Res;
use crate::plan::{self, Scenario};

/// Runs plans (each with its `index`) and returns each plan's observations, in plan order.
pub type Execute<'a> = dyn FnMut(&[Value]) -> Res<Vec<Vec<Value>>> + 'a;

/// The `*.json` files of the given files and folders (folders not recursive, sorted).
pub fn collect(paths: &[PathBuf]) -> std::io::Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for path in paths {
        if path.is_dir() {
            let mut files: Vec<PathBuf> = std::fs::read_dir(path)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect();
            files.sort();
            out.extend(files);
        } else if path.exists() {
            out.push(path.clone());
        } else {
            return Err(std::io::Error::new(
                std::io::ErrorKind::NotFound,
                format!("no such file or folder: {}", path.display()),
            ));
        }
    }
    Ok(out)
}

/// A file read as a scenario: its name (the file's stem when it has none) and the scenario.
pub fn read_file(path: &Path) -> (String, Res<Scenario>) {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let doc: Value = match std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read: {e}"))
        .and_then(|t| serde_json::from_str(&t).map_err(|e| format!("not valid JSON: {e}")))
    {
        Ok(d) => d,
        Err(e) => return (stem, Err(e)),
    };
    let name = doc
        .get("scenario")
        .and_then(Value::as_str)
        .map_or(stem, str::to_owned);
    (name, plan::read(&doc))
}

/// Judges every file through `execute`, prints the lines, and returns (passed, failed).
pub fn run(runner: &str, files: &[PathBuf], execute: &mut Execute<'_>) -> (usize, usize) {
    let read: Vec<(String, Res<Scenario>)> = files.iter().map(|f| read_file(f)).collect();
    let plans: Vec<Value> = read
        .iter()
        .filter_map(|(_, s)| s.as_ref().ok())
        .enumerate()
        .map(|(i, s)| {
            let mut p = s.plan.clone();
            p["index"] = Value::from(i);
            p
        })
        .collect();
    let observed = if plans.is_empty() {
        Ok(Vec::new())
    } else {
        execute(&plans)
    };
    let (mut passed, mut failed) = (0, 0);
    let mut next = 0;
    for (name, scenario) in &read {
        let verdict = scenario.as_ref().map_err(Clone::clone).and_then(|s| {
            let i = next;
            next += 1;
            match &observed {
                Ok(all) => crate::judge::judge(s, all.get(i).map_or(&[][..], Vec::as_slice)),
                Err(e) => Err(format!("the runner could not run: {e}")),
            }
        });
        match verdict {
            Ok(()) => {
                passed += 1;
                println!("PASS {runner} {name}");
            }
            Err(why) => {
                failed += 1;
                println!("FAIL {runner} {name}: {why}");
            }
        }
    }
    println!("{passed} passed, {failed} failed");
    (passed, failed)
}

/// A whole run from the command line's paths: the process's exit status (0 only when something
/// ran and nothing failed). A path that does not exist is one failure.
pub fn run_paths(runner: &str, paths: &[PathBuf], execute: &mut Execute<'_>) -> i32 {
    let files = match collect(paths) {
        Ok(f) => f,
        Err(e) => {
            println!("FAIL {runner} (all): {e}");
            println!("0 passed, 1 failed");
            return 1;
        }
    };
    let (passed, failed) = run(runner, &files, execute);
    if failed == 0 && passed > 0 {
        0
    } else {
        1
    }
}

/// Runs a runner program: every plan on one line of its standard input, its observations read
/// from its standard output (one JSON object per line, with the plan's `index` as `scenario`).
/// Other output lines go to standard error, so that a runner's diagnostics are not lost.
pub fn subprocess(command: &[String]) -> impl FnMut(&[Value]) -> Res<Vec<Vec<Value>>> + '_ {
    move |plans| {
        let (program, args) = command.split_first().ok_or("no runner command given")?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot start {program}: {e}"))?;
        let mut stdin = child.stdin.take().ok_or("no stdin")?;
        let input: String = plans.iter().map(|p| format!("{p}\n")).collect();
        // Written from another thread: the runner answers while it reads, and both pipes are
        // bounded.
        let writer = std::thread::spawn(move || stdin.write_all(input.as_bytes()));
        let mut out = vec![Vec::new(); plans.len()];
        let stdout = child.stdout.take().ok_or("no stdout")?;
        for line in BufReader::new(stdout).lines() {
            let line = line.map_err(|e| format!("reading the runner: {e}"))?;
            let parsed = if line.starts_with('{') {
                serde_json::from_str::<Value>(&line).ok()
            } else {
                None
            };
            match parsed {
                Some(v) => {
                    let i = v.get("scenario").and_then(Value::as_u64);
                    match i.and_then(|i| out.get_mut(i as usize)) {
                        Some(list) => list.push(v),
                        None => return Err(format!("an observation for no plan: {line}")),
                    }
                }
                None => eprintln!("{line}"),
            }
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        let _ = writer.join();
        // A runner that exits non-zero (a crash, or valgrind's error exit) fails every scenario,
        // whatever it reported.
        if !status.success() {
            return Err(format!("{program} exited with {status}"));
        }
        Ok(out)
    }
}
