//! One scenario's world: a manual clock, the store (wrapped for fault injection), the is-active
//! answers, the accept-consumed policy, the clients and the named handles.

use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use refresh_token_core::model::{Client, ReplayScope, Subject, TokenExpiration, TokenUsage};
use refresh_token_core::service::{
    AcceptConsumedHook, AcceptConsumedPolicy, AsyncAcceptConsumedHook, AsyncProfileService,
    ConsumedContext, HookError, HookFuture, ProfileService,
};
use refresh_token_core::store::GrantStore;
use refresh_token_core::{ManualClock, RefreshTokenService, ServiceOptions};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

use crate::faulty_store::FaultyStore;

/// The is-active answers of `set_active` (default: active).
#[derive(Default)]
pub struct ActiveMap(pub Mutex<HashMap<String, bool>>);

impl ProfileService for ActiveMap {
    fn is_active(&self, subject: &Subject, _: &Client) -> Result<bool, HookError> {
        let sub = subject.subject_id().unwrap_or_default();
        Ok(*self.0.lock().get(sub).unwrap_or(&true))
    }
}

impl AsyncProfileService for ActiveMap {
    fn is_active<'a>(&'a self, subject: &'a Subject, client: &'a Client) -> HookFuture<'a, bool> {
        Box::pin(std::future::ready(ProfileService::is_active(
            self, subject, client,
        )))
    }
}

/// The `host` accept-consumed policy, written here as a host would write it.
pub struct HostPolicy {
    pub accept_within_seconds: i64,
    pub revoke_on_reject: bool,
}

impl HostPolicy {
    fn accepts(&self, ctx: &ConsumedContext<'_>) -> bool {
        ctx.now <= ctx.consumed_time + chrono::Duration::seconds(self.accept_within_seconds)
    }
}

impl AcceptConsumedHook for HostPolicy {
    fn accept_consumed(&self, ctx: &ConsumedContext<'_>) -> Result<bool, HookError> {
        if self.accepts(ctx) {
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

/// The same rule for `--store async`, revoking through the asynchronous API.
impl AsyncAcceptConsumedHook for HostPolicy {
    fn accept_consumed<'a>(&'a self, ctx: &'a ConsumedContext<'_>) -> HookFuture<'a, bool> {
        Box::pin(async move {
            if self.accepts(ctx) {
                return Ok(true);
            }
            if self.revoke_on_reject {
                let sub = ctx.token.subject_id().unwrap_or_default();
                ctx.service
                    .remove_refresh_tokens_async(sub, &ctx.token.client_id)
                    .await
                    .map_err(|e| HookError(e.to_string()))?;
            }
            Ok(false)
        })
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

/// A plan's instant (ticks since the Unix epoch, see the judge's `time`) as a time.
pub fn from_ticks(ticks: i64) -> DateTime<Utc> {
    let secs = ticks.div_euclid(10_000_000);
    let nanos = (ticks.rem_euclid(10_000_000) * 100) as u32;
    DateTime::from_timestamp(secs, nanos).expect("the judge plans times in range")
}

fn int<T: TryFrom<i64>>(v: &Value, name: &str) -> Option<T> {
    v.get(name)
        .and_then(Value::as_i64)
        .and_then(|n| T::try_from(n).ok())
}

/// Applies a plan's client settings (only the fields the scenario gave, already checked).
pub fn apply_client_settings(client: &mut Client, v: &Value) {
    if let Some(b) = v.get("allow_offline_access").and_then(Value::as_bool) {
        client.allow_offline_access = b;
    }
    match v.get("refresh_token_usage").and_then(Value::as_str) {
        Some("OneTimeOnly") => client.refresh_token_usage = TokenUsage::OneTimeOnly,
        Some(_) => client.refresh_token_usage = TokenUsage::ReUse,
        None => {}
    }
    match v.get("refresh_token_expiration").and_then(Value::as_str) {
        Some("Sliding") => client.refresh_token_expiration = TokenExpiration::Sliding,
        Some(_) => client.refresh_token_expiration = TokenExpiration::Absolute,
        None => {}
    }
    if let Some(n) = int(v, "absolute_refresh_token_lifetime") {
        client.absolute_refresh_token_lifetime = n;
    }
    if let Some(n) = int(v, "sliding_refresh_token_lifetime") {
        client.sliding_refresh_token_lifetime = n;
    }
    if let Some(n) = int(v, "access_token_lifetime") {
        client.access_token_lifetime = n;
    }
    if let Some(b) = v
        .get("update_access_token_claims_on_refresh")
        .and_then(Value::as_bool)
    {
        client.update_access_token_claims_on_refresh = b;
    }
    if let Some(n) = int(v, "reuse_window_seconds") {
        client.reuse_window_seconds = Some(n);
    }
}

fn policy(v: &Value, asynchronous: bool) -> AcceptConsumedPolicy {
    match v.get("policy").and_then(Value::as_str) {
        Some("grace") => AcceptConsumedPolicy::Grace {
            seconds: int(v, "seconds").unwrap_or(0),
        },
        Some("revoke_on_replay") => AcceptConsumedPolicy::RevokeOnReplay,
        Some("host") => {
            let hook = Arc::new(HostPolicy {
                accept_within_seconds: int(v, "accept_within_seconds").unwrap_or(0),
                revoke_on_reject: v.get("revoke_on_reject").and_then(Value::as_bool) == Some(true),
            });
            if asynchronous {
                AcceptConsumedPolicy::HostAsync(hook)
            } else {
                AcceptConsumedPolicy::Host(hook)
            }
        }
        _ => AcceptConsumedPolicy::Reject,
    }
}

/// A plan's options as the service's.
pub fn options(v: &Value, asynchronous: bool) -> (ServiceOptions, AcceptConsumedPolicy) {
    // The scenario format's defaults are the reference's: no reuse window.
    let mut options = ServiceOptions {
        reuse_window_seconds: 0,
        ..ServiceOptions::default()
    };
    if let Some(b) = v
        .get("delete_one_time_only_refresh_tokens_on_use")
        .and_then(Value::as_bool)
    {
        options.delete_one_time_only_refresh_tokens_on_use = b;
    }
    if let Some(n) = int(v, "reuse_window_seconds") {
        options.reuse_window_seconds = n;
    }
    if let Some(s) = v.get("replay_scope").and_then(Value::as_str) {
        options.replay_scope = match s {
            "subject_and_client" => ReplayScope::SubjectAndClient,
            _ => ReplayScope::Family,
        };
    }
    let c = &v["cleanup"];
    if let Some(b) = c.get("remove_consumed_tokens").and_then(Value::as_bool) {
        options.cleanup.remove_consumed_tokens = b;
    }
    if let Some(n) = int(c, "consumed_token_cleanup_delay") {
        options.cleanup.consumed_token_cleanup_delay = n;
    }
    if let Some(n) = int(c, "batch_size") {
        options.cleanup.batch_size = n;
    }
    (options, policy(&v["accept_consumed"], asynchronous))
}

impl World {
    pub fn client(&self, id: &str) -> Client {
        self.clients
            .get(id)
            .cloned()
            .unwrap_or_else(|| Client::new(id))
    }

    /// A plan's `token`: `{"name": ...}` (bound by an earlier step) or `{"literal": ...}`.
    pub fn token(&self, v: &Value) -> Result<String, String> {
        if let Some(lit) = v.get("literal").and_then(Value::as_str) {
            return Ok(lit.to_owned());
        }
        let name = v.get("name").and_then(Value::as_str).unwrap_or_default();
        self.names
            .get(name)
            .cloned()
            .ok_or_else(|| format!("no handle for '{name}' (the step that binds it failed)"))
    }
}
