//! Reading a PostgreSQL connection string and making the first connection, so that a store
//! that cannot start says why at once: the server refused the login (an operator must act), it
//! cannot be reached (try again), or the string asks for what this build cannot do (TLS).
//!
//! Three forms are read: a URL (`postgres://user:password@host:port/database`), libpq's
//! `key=value` pairs (`host=… user=…`), and the Npgsql / ADO.NET form a .NET deployment already
//! has in its configuration (`Host=…;Username=…;Password=…;Database=…`). No message repeats a
//! password.

use postgres::config::SslMode;
use postgres::{Client, Config, NoTls};
use std::time::Duration;

use crate::store::StoreError;

/// The configuration a connection string describes, with `default_timeout` as its connect
/// timeout when it sets none; `Broken` for one that cannot work.
pub(super) fn config(text: &str, default_timeout: Duration) -> Result<Config, StoreError> {
    let invalid =
        |why: String| StoreError::Broken(format!("postgres: invalid connection string: {why}"));
    let trimmed = text.trim();
    let mut config = if trimmed.starts_with("postgres://")
        || trimmed.starts_with("postgresql://")
        || !looks_like_npgsql(trimmed)
    {
        trimmed
            .parse::<Config>()
            .map_err(|e| invalid(e.to_string()))?
    } else {
        npgsql(trimmed).map_err(invalid)?
    };
    if config.get_ssl_mode() == SslMode::Require {
        return Err(StoreError::Broken(
            "postgres: the connection string requires TLS, which this build cannot do (no TLS \
             library is available to it); connect over a network you trust or through a local \
             TLS proxy, with sslmode=disable or prefer"
                .into(),
        ));
    }
    if config.get_hosts().is_empty() {
        return Err(invalid("no host".into()));
    }
    if config.get_connect_timeout().is_none() {
        config.connect_timeout(default_timeout);
    }
    Ok(config)
}

/// `Key=Value;Key=Value` with an ADO.NET key (any case).
fn looks_like_npgsql(text: &str) -> bool {
    let first_key = text.split(['=', ';']).next().unwrap_or("").trim();
    text.contains(';') || first_key.chars().next().is_some_and(char::is_uppercase)
}

/// The Npgsql keys this store uses; any other key is refused by name, so that a setting is
/// never silently ignored.
fn npgsql(text: &str) -> Result<Config, String> {
    let mut config = Config::new();
    for pair in text.split(';').map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').ok_or_else(|| {
            format!(
                "'{}' is not Key=Value",
                pair.split('=').next().unwrap_or("")
            )
        })?;
        let (key, value) = (key.trim().to_ascii_lowercase(), value.trim());
        match key.as_str() {
            "host" | "server" => {
                for host in value.split(',') {
                    config.host(host.trim());
                }
            }
            "port" => {
                config.port(
                    value
                        .parse()
                        .map_err(|_| format!("Port '{value}' is not a port"))?,
                );
            }
            "username" | "user name" | "user id" | "userid" | "user" => {
                config.user(value);
            }
            "password" => {
                config.password(value);
            }
            "database" | "db" => {
                config.dbname(value);
            }
            "timeout" => {
                let seconds: u64 = value
                    .parse()
                    .map_err(|_| format!("Timeout '{value}' is not a number of seconds"))?;
                config.connect_timeout(Duration::from_secs(seconds));
            }
            "application name" | "applicationname" => {
                config.application_name(value);
            }
            "ssl mode" | "sslmode" => {
                config.ssl_mode(match value.to_ascii_lowercase().as_str() {
                    "disable" => SslMode::Disable,
                    "allow" | "prefer" => SslMode::Prefer,
                    "require" | "verifyca" | "verify-ca" | "verifyfull" | "verify-full" => {
                        SslMode::Require
                    }
                    other => return Err(format!("SSL Mode '{other}' is not one Npgsql knows")),
                });
            }
            // Settings of Npgsql's own pool and client, which mean nothing here.
            "pooling"
            | "minimum pool size"
            | "maximum pool size"
            | "include error detail"
            | "command timeout" => {}
            other => return Err(format!("the key '{other}' is not one this store reads")),
        }
    }
    Ok(config)
}

/// One connection, made now, its failure classified: the server answered and refused (a login,
/// a database or a permission an operator must fix: `Broken`), or it could not be reached or
/// is starting up (`Unavailable`, worth retrying).
pub(super) fn first_connection(config: &Config) -> Result<Client, StoreError> {
    config.connect(NoTls).map_err(|e| {
        let target = target(config);
        match e.code() {
            Some(state) if refused(state) => {
                let text = e.to_string();
                let tls = if text.contains("SSL off") || text.contains("no encryption") {
                    " (the server accepts this login only over TLS, which this build cannot do)"
                } else {
                    ""
                };
                StoreError::Broken(format!(
                    "postgres: the server at {target} refused the connection: {e}{tls}"
                ))
            }
            _ => StoreError::Unavailable(format!(
                "postgres: could not connect to the server at {target}: {e}"
            )),
        }
    })
}

/// Login and database failures: class 28 (invalid authorization: a bad password, a role that
/// may not log in, no pg_hba.conf entry) and 3D000 (no such database), besides what is an
/// operator's to fix on any connection (a permission, among them).
fn refused(state: &postgres::error::SqlState) -> bool {
    state.code().starts_with("28")
        || *state == postgres::error::SqlState::INVALID_CATALOG_NAME
        || super::postgres::operator_must_act(state)
}

fn target(config: &Config) -> String {
    use postgres::config::Host;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(h)) => h.clone(),
        Some(Host::Unix(p)) => p.display().to_string(),
        None => "?".into(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    let db = config
        .get_dbname()
        .map(|d| format!("/{d}"))
        .unwrap_or_default();
    let user = config
        .get_user()
        .map(|u| format!(" as {u}"))
        .unwrap_or_default();
    format!("{host}:{port}{db}{user}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

    fn config(text: &str) -> Result<Config, StoreError> {
        super::config(text, DEFAULT_CONNECT_TIMEOUT)
    }

    fn broken(r: Result<Config, StoreError>) -> String {
        match r {
            Err(StoreError::Broken(m)) => m,
            Err(e) => panic!("not broken: {e}"),
            Ok(_) => panic!("accepted"),
        }
    }

    #[test]
    fn the_three_forms_describe_the_same_server() {
        for text in [
            "postgres://app:secret@db.example:6543/tokens",
            "host=db.example port=6543 user=app password=secret dbname=tokens",
            "Host=db.example;Port=6543;Username=app;Password=secret;Database=tokens;Pooling=true",
            " host = db.example ; port=6543;User ID=app;password=secret;DATABASE=tokens; ",
        ] {
            let c = config(text).unwrap();
            assert_eq!(target(&c), "db.example:6543/tokens as app", "{text}");
            assert_eq!(c.get_password(), Some(&b"secret"[..]), "{text}");
            assert_eq!(
                c.get_connect_timeout(),
                Some(&DEFAULT_CONNECT_TIMEOUT),
                "{text}"
            );
        }
        let c = config("Host=a;Timeout=3").unwrap();
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(3)));
    }

    #[test]
    fn what_cannot_work_is_broken_and_names_no_password() {
        for text in [
            "postgres://app:hunter2@db/x?sslmode=require",
            "Host=db;Password=hunter2;SSL Mode=Require",
            "Host=db;Password=hunter2;Frobnicate=1",
            "Host=db;Password=hunter2;Port=eighty",
            "Password=hunter2",
            "postgres://app:hunter2@db:notaport/x",
        ] {
            let m = broken(config(text));
            assert!(!m.contains("hunter2"), "{m}");
        }
        assert!(broken(config("Host=db;SSL Mode=Require")).contains("TLS"));
        assert!(broken(config("Host=db;Frobnicate=1")).contains("frobnicate"));
    }
}
