//! `rtc`: the admin command line of refresh-token-core, on the SQLite and PostgreSQL stores.
//!
//! A handle is a bearer secret: `inspect` reads it from standard input (never from the command
//! line, where `ps` and shell history would see it) and prints only its persisted-grant key and
//! the row. No command creates a table: `check` says whether the configured one is there and
//! complete, `schema` prints the script that makes it.
//!
//! Exit codes: 0 done, 1 a usage error or nothing found, 2 the store is unavailable (retry),
//! 3 the store is broken (an operator must act).

mod commands;
mod store;

use clap::{Args, Parser, Subcommand, ValueEnum};
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "rtc",
    version,
    about = "Inspect, revoke and clean up refresh tokens in a refresh-token-core (Duende PersistedGrants) database"
)]
struct Cli {
    #[command(flatten)]
    store: StoreArgs,
    #[command(subcommand)]
    command: Command,
}

/// Which database and table.
#[derive(Args)]
pub struct StoreArgs {
    /// A SQLite database file.
    #[arg(long, global = true)]
    pub sqlite: Option<String>,
    /// A PostgreSQL connection string (URL, libpq key=value or Npgsql form). Prefer the
    /// RTC_POSTGRES variable for one with a password.
    #[arg(long, global = true, env = "RTC_POSTGRES", hide_env_values = true)]
    pub postgres: Option<String>,
    /// The table's schema (PostgreSQL).
    #[arg(long, global = true)]
    pub schema: Option<String>,
    /// The table (default PersistedGrants).
    #[arg(long, global = true)]
    pub table: Option<String>,
}

#[derive(Subcommand)]
enum Command {
    /// Show the row of the refresh token whose handle is read from standard input (the handle
    /// is never printed).
    Inspect,
    /// List a subject's refresh tokens and their families.
    List {
        #[arg(long)]
        subject: String,
        #[arg(long)]
        client: Option<String>,
    },
    /// Remove refresh tokens: a subject's (optionally of one client), a client's, or a family's.
    Revoke {
        #[arg(long, required_unless_present_any = ["client", "family"])]
        subject: Option<String>,
        #[arg(long)]
        client: Option<String>,
        /// A family id (the key of the chain's first token), as `list` shows it.
        #[arg(long, conflicts_with_all = ["subject", "client"])]
        family: Option<String>,
    },
    /// Remove expired tokens (and, with --consumed, consumed ones), in batches, with progress.
    Cleanup {
        #[arg(long, default_value_t = 100)]
        batch_size: usize,
        /// Also remove consumed tokens (OperationalStoreOptions.RemoveConsumedTokens).
        #[arg(long)]
        consumed: bool,
        /// Seconds a consumed token is kept (OperationalStoreOptions.ConsumedTokenCleanupDelay).
        #[arg(long, default_value_t = 0)]
        consumed_delay: u32,
    },
    /// Check that the table exists with every column Duende's has.
    Check,
    /// Print the script that creates the table and its indexes.
    Schema {
        #[arg(value_enum)]
        dialect: Dialect,
    },
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Sqlserver,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Schema { dialect } => commands::schema(&cli.store, dialect),
        Command::Check => commands::check(&cli.store),
        Command::Inspect => commands::inspect(&cli.store, std::io::stdin().lock()),
        Command::List { subject, client } => {
            commands::list(&cli.store, &subject, client.as_deref())
        }
        Command::Revoke {
            subject,
            client,
            family,
        } => commands::revoke(
            &cli.store,
            subject.as_deref(),
            client.as_deref(),
            family.as_deref(),
        ),
        Command::Cleanup {
            batch_size,
            consumed,
            consumed_delay,
        } => commands::cleanup(&cli.store, batch_size, consumed.then_some(consumed_delay)),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rtc: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
