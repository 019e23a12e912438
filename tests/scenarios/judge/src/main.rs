//! `scenario-judge --runner NAME PATH... -- COMMAND [ARG...]`: runs COMMAND as the runner NAME on
//! the scenario files and folders PATH, prints `PASS`/`FAIL` per scenario and
//! `N passed, M failed`; exits 0 only when something ran and nothing failed.

use std::path::PathBuf;

fn main() {
    let mut args = std::env::args().skip(1);
    let mut runner = String::new();
    let mut paths = Vec::new();
    let mut command = Vec::new();
    while let Some(a) = args.next() {
        match a.as_str() {
            "--runner" => runner = args.next().unwrap_or_default(),
            "--" => command.extend(args.by_ref()),
            _ => paths.push(PathBuf::from(a)),
        }
    }
    if runner.is_empty() || command.is_empty() || paths.is_empty() {
        eprintln!("usage: scenario-judge --runner NAME PATH... -- COMMAND [ARG...]");
        println!("0 passed, 1 failed");
        std::process::exit(2);
    }
    let mut execute = scenario_judge::corpus::subprocess(&command);
    std::process::exit(scenario_judge::corpus::run_paths(
        &runner,
        &paths,
        &mut execute,
    ));
}
