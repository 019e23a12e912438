//! One scenario's world: a manual clock, the store (wrapped for fault injection), the is-active
//! answers, the accept-consumed policy, the clients and the named handles.

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use refresh_token_core::model::{Client, ReplayScope, Subject, TokenExpiration, TokenUsage};
use refresh_token_core::service::{
    AcceptConsumedHook, AcceptConsumedPolicy, ConsumedContext, HookError, ProfileService,
};
use refresh_token_core::store::GrantStore;
use refresh_token_core::{ManualClock, RefreshTokenService, ServiceOptions};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

use crate::faulty_store::FaultyStore;
use crate::fields::{Fields, Res};

/// The is-active answers of `set_active` (default: active).
#[derive(Default)]
pub struct ActiveMap(pub Mutex<HashMap<String, bool>>);

impl ProfileService for ActiveMap {
    fn is_active(&self, subject: &Subject, _: &Client) -> Result<bool, HookError> {
        let sub = subject.subject_id().unwrap_or_default();
        Ok(*self.0.lock().get(sub).unwrap_or(&true))
    }
}

/// The `host` accept-consumed policy, written here as a host would write it.
pub struct HostPolicy {
    pub accept_within_seconds: i64,
    pub revoke_on_reject: bool,
}

impl AcceptConsumedHook for HostPolicy {
    fn accept_consumed(&self, ctx: &ConsumedContext<'_>) -> Result<bool, HookError> {
        if ctx.now <= ctx.consumed_time + chrono::Duration::seconds(self.accept_within_seconds) {
            return Ok(true);
        }
        if self.revoke_on_reject {
            let sub = ctx.token.subject_id().unwrap_or_default();
            ctx.service
                .remove_refresh_tokens(sub, &ctx.token.client_id)
                .map_err(|e| HookError(e.to_string()))?;
        }
        Ok(false)
    }
}

pub struct World {
    pub clock: Arc<ManualClock>,
    pub inner: Arc<dyn GrantStore>,
    pub snapshot: Box<dyn Fn() -> Vec<refresh_token_core::PersistedGrant>>,
    pub faults: Arc<FaultyStore>,
    pub active: Arc<ActiveMap>,
    pub service: RefreshTokenService,
    pub clients: HashMap<String, Client>,
    pub names: HashMap<String, String>,
}

pub fn parse_time(v: &str) -> Res<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(v)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("'{v}' is not an RFC 3339 time"))
}

/// Applies the fields of a `clients` entry (or `set_client` settings) to a client.
pub fn apply_client_settings(client: &mut Client, v: &Value, what: &str) -> Res<()> {
    let f = Fields::new(what, v)?;
    if let Some(b) = f.bool("allow_offline_access")? {
        client.allow_offline_access = b;
    }
    if let Some(u) = f.str("refresh_token_usage")? {
        client.refresh_token_usage = match u {
            "ReUse" => TokenUsage::ReUse,
            "OneTimeOnly" => TokenUsage::OneTimeOnly,
            other => return Err(format!("{what}: unknown refresh_token_usage '{other}'")),
        };
    }
    if let Some(e) = f.str("refresh_token_expiration")? {
        client.refresh_token_expiration = match e {
            "Absolute" => TokenExpiration::Absolute,
            "Sliding" => TokenExpiration::Sliding,
            other => {
                return Err(format!(
                    "{what}: unknown refresh_token_expiration '{other}'"
                ))
            }
        };
    }
    let int32 = |name: &'static str| -> Res<Option<i32>> {
        f.int(name)?
            .map(|n| i32::try_from(n).map_err(|_| format!("{what}: '{name}' out of range")))
            .transpose()
    };
    if let Some(n) = int32("absolute_refresh_token_lifetime")? {
        client.absolute_refresh_token_lifetime = n;
    }
    if let Some(n) = int32("sliding_refresh_token_lifetime")? {
        client.sliding_refresh_token_lifetime = n;
    }
    if let Some(n) = int32("access_token_lifetime")? {
        client.access_token_lifetime = n;
    }
    if let Some(b) = f.bool("update_access_token_claims_on_refresh")? {
        client.update_access_token_claims_on_refresh = b;
    }
    if let Some(n) = f.int("reuse_window_seconds")? {
        client.reuse_window_seconds =
            Some(u32::try_from(n).map_err(|_| "reuse_window_seconds out of range")?);
    }
    f.finish()
}

fn parse_policy(v: &Value) -> Res<AcceptConsumedPolicy> {
    let f = Fields::new("options.accept_consumed", v)?;
    let policy = match f.req_str("policy")? {
        "reject" => AcceptConsumedPolicy::Reject,
        "grace" => {
            let s = f.int("seconds")?.ok_or("grace policy needs 'seconds'")?;
            AcceptConsumedPolicy::Grace {
                seconds: u32::try_from(s).map_err(|_| "grace seconds out of range")?,
            }
        }
        "revoke_on_replay" => AcceptConsumedPolicy::RevokeOnReplay,
        "host" => AcceptConsumedPolicy::Host(Arc::new(HostPolicy {
            accept_within_seconds: f.int("accept_within_seconds")?.unwrap_or(0),
            revoke_on_reject: f.bool("revoke_on_reject")?.unwrap_or(false),
        })),
        other => return Err(format!("unknown accept_consumed policy '{other}'")),
    };
    f.finish()?;
    Ok(policy)
}

pub fn parse_options(v: Option<&Value>) -> Res<(ServiceOptions, AcceptConsumedPolicy)> {
    // The scenario format's defaults are the reference's: no reuse window.
    let mut options = ServiceOptions {
        reuse_window_seconds: 0,
        ..ServiceOptions::default()
    };
    let mut policy = AcceptConsumedPolicy::Reject;
    let Some(v) = v else {
        return Ok((options, policy));
    };
    let f = Fields::new("options", v)?;
    if let Some(b) = f.bool("delete_one_time_only_refresh_tokens_on_use")? {
        options.delete_one_time_only_refresh_tokens_on_use = b;
    }
    if let Some(p) = f.get("accept_consumed") {
        policy = parse_policy(p)?;
    }
    if let Some(n) = f.int("reuse_window_seconds")? {
        options.reuse_window_seconds =
            u32::try_from(n).map_err(|_| "reuse_window_seconds out of range")?;
    }
    if let Some(s) = f.str("replay_scope")? {
        options.replay_scope = match s {
            "family" => ReplayScope::Family,
            "subject_and_client" => ReplayScope::SubjectAndClient,
            other => return Err(format!("unknown replay_scope '{other}'")),
        };
    }
    if let Some(c) = f.get("cleanup") {
        let c = Fields::new("options.cleanup", c)?;
        if let Some(b) = c.bool("remove_consumed_tokens")? {
            options.cleanup.remove_consumed_tokens = b;
        }
        if let Some(n) = c.int("consumed_token_cleanup_delay")? {
            options.cleanup.consumed_token_cleanup_delay =
                u32::try_from(n).map_err(|_| "cleanup delay out of range")?;
        }
        if let Some(n) = c.int("batch_size")? {
            options.cleanup.batch_size = u32::try_from(n).map_err(|_| "batch size out of range")?;
        }
        c.finish()?;
    }
    f.finish()?;
    Ok((options, policy))
}

impl World {
    pub fn client(&self, id: &str) -> Client {
        self.clients
            .get(id)
            .cloned()
            .unwrap_or_else(|| Client::new(id))
    }

    /// A step's `token`: a name bound by `as`, or `{"literal": "..."}`.
    pub fn token(&self, v: &Value) -> Res<String> {
        match v {
            Value::String(name) => self
                .names
                .get(name)
                .cloned()
                .ok_or_else(|| format!("no token named '{name}'")),
            Value::Object(_) => {
                let f = Fields::new("token", v)?;
                let lit = f.req_str("literal")?.to_owned();
                f.finish()?;
                Ok(lit)
            }
            _ => Err("'token' must be a name or {\"literal\": ...}".into()),
        }
    }
}
