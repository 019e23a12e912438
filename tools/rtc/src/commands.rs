//! The commands. Output is plain lines for people and `grep`; nothing printed is a handle.

use std::io::BufRead;
use std::time::Duration;

use chrono::Utc;
use indicatif::{ProgressBar, ProgressStyle};
use refresh_token_core::format::data::decode;
use refresh_token_core::format::key::grant_key;
use refresh_token_core::model::{GrantFilter, PersistedGrant};
use zeroize::Zeroizing;

use crate::store::{open, table, Failure};
use crate::{Dialect, StoreArgs};

const REFRESH_TOKEN: &str = "refresh_token";

/// The family id of a row whose Data can be read here (unprotected); protected payloads need
/// the server's Data Protection keys, which this tool does not have.
fn family(row: &PersistedGrant) -> String {
    match decode(&row.data, None) {
        Ok(t) => t
            .lineage
            .map(|l| l.family_id)
            .unwrap_or_else(|| "(none yet: written by the reference)".into()),
        Err(_) => "(unreadable: protected or not a refresh token)".into(),
    }
}

fn time(t: Option<chrono::DateTime<Utc>>) -> String {
    t.map(|t| t.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_else(|| "-".into())
}

pub fn schema(args: &StoreArgs, dialect: Dialect) -> Result<(), Failure> {
    let script = match dialect {
        Dialect::Sqlite => include_str!("../../../schema/sqlite.sql"),
        Dialect::Postgres => include_str!("../../../schema/postgres.sql"),
        Dialect::Sqlserver => include_str!("../../../schema/sqlserver.sql"),
    };
    let table = table(args)?;
    if matches!(dialect, Dialect::Postgres) {
        if let Some(s) = table.schema() {
            println!("CREATE SCHEMA IF NOT EXISTS \"{s}\";");
        }
    }
    print!("{}", table.rename(script));
    Ok(())
}

pub fn check(args: &StoreArgs) -> Result<(), Failure> {
    let table = table(args)?;
    open(args)?;
    println!("ok: {table} is there with every column");
    Ok(())
}

pub fn inspect(args: &StoreArgs, mut input: impl BufRead) -> Result<(), Failure> {
    // The handle, wiped when dropped: it is a bearer secret.
    let mut line = Zeroizing::new(String::new());
    input
        .read_line(&mut line)
        .map_err(|e| Failure::usage(format!("reading the handle from standard input: {e}")))?;
    let handle = line.trim();
    if handle.is_empty() {
        return Err(Failure::usage(
            "give the handle on standard input (for example: rtc --sqlite tokens.db inspect < handle.txt)",
        ));
    }
    let key = grant_key(handle, REFRESH_TOKEN);
    let store = open(args)?;
    let Some(row) = store.get(&key)? else {
        println!("key:          {key}");
        return Err(Failure::usage("no refresh token with this handle"));
    };
    println!("key:          {}", row.key);
    println!("type:         {}", row.grant_type);
    println!("subject:      {}", row.subject_id.as_deref().unwrap_or("-"));
    println!("session:      {}", row.session_id.as_deref().unwrap_or("-"));
    println!("client:       {}", row.client_id);
    println!(
        "description:  {}",
        row.description.as_deref().unwrap_or("-")
    );
    println!("created:      {}", time(Some(row.creation_time)));
    println!("expires:      {}", time(row.expiration));
    println!("consumed:     {}", time(row.consumed_time));
    println!("family:       {}", family(&row));
    println!("data:         {} bytes", row.data.len());
    Ok(())
}

fn refresh_tokens(subject: Option<&str>, client: Option<&str>) -> GrantFilter {
    GrantFilter {
        subject_id: subject.map(str::to_owned),
        client_id: client.map(str::to_owned),
        grant_type: Some(REFRESH_TOKEN.into()),
        ..Default::default()
    }
}

pub fn list(args: &StoreArgs, subject: &str, client: Option<&str>) -> Result<(), Failure> {
    let store = open(args)?;
    let mut rows = store.get_all(&refresh_tokens(Some(subject), client))?;
    rows.sort_by(|a, b| {
        a.creation_time
            .cmp(&b.creation_time)
            .then(a.key.cmp(&b.key))
    });
    println!("key\tclient\tsession\tcreated\texpires\tconsumed\tfamily");
    for row in &rows {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}\t{}",
            row.key,
            row.client_id,
            row.session_id.as_deref().unwrap_or("-"),
            time(Some(row.creation_time)),
            time(row.expiration),
            time(row.consumed_time),
            family(row)
        );
    }
    let live = rows.iter().filter(|r| r.consumed_time.is_none()).count();
    eprintln!("{} token(s), {live} not consumed", rows.len());
    Ok(())
}

pub fn revoke(
    args: &StoreArgs,
    subject: Option<&str>,
    client: Option<&str>,
    family_id: Option<&str>,
) -> Result<(), Failure> {
    let store = open(args)?;
    let removed = match family_id {
        None => store.remove_all(&refresh_tokens(subject, client))?,
        Some(id) => {
            // The family is in each row's Data: every refresh token is read, and the family's
            // removed one by one (a family is one chain: a few rows).
            let mut n = 0;
            for row in store.get_all(&refresh_tokens(None, None))? {
                if family(&row) == id {
                    store.remove(&row.key)?;
                    n += 1;
                }
            }
            n
        }
    };
    println!("removed {removed} refresh token(s)");
    Ok(())
}

pub fn cleanup(
    args: &StoreArgs,
    batch_size: usize,
    consumed_delay: Option<u32>,
) -> Result<(), Failure> {
    if batch_size == 0 {
        return Err(Failure::usage("--batch-size must be at least 1"));
    }
    let store = open(args)?;
    let now = Utc::now();
    // A spinner on a terminal (hidden when standard error is not one), the totals always.
    let bar = ProgressBar::new_spinner();
    bar.set_style(ProgressStyle::with_template("{spinner} {msg}").expect("a valid template"));
    bar.enable_steady_tick(Duration::from_millis(120));
    let mut expired = 0;
    loop {
        let n = store.remove_expired(now, batch_size)?;
        expired += n;
        bar.set_message(format!("{expired} expired removed"));
        if (n as usize) < batch_size {
            break;
        }
    }
    let mut consumed = 0;
    if let Some(delay) = consumed_delay {
        let before = now - chrono::Duration::seconds(i64::from(delay));
        loop {
            let n = store.remove_consumed(before, batch_size)?;
            consumed += n;
            bar.set_message(format!("{expired} expired, {consumed} consumed removed"));
            if (n as usize) < batch_size {
                break;
            }
        }
    }
    bar.finish_and_clear();
    println!("removed {expired} expired and {consumed} consumed token(s)");
    Ok(())
}
