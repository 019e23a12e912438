//! `ValidateRefreshTokenAsync`: the six checks, in the reference's order.

use super::policy::{AcceptConsumedPolicy, ConsumedContext};
use super::successor::{family_of, Found};
use super::{Event, Reason, RefreshTokenService, ServiceError};
use crate::format::key::refresh_token_key;
use crate::model::{Client, GrantFilter, RefreshToken, ReplayScope, REFRESH_TOKEN_GRANT_TYPE};

/// A token that passed validation.
#[derive(Clone, Debug)]
pub struct Validated {
    /// The persisted-grant key of the presented handle.
    pub key: String,
    /// The token. For a one-time token that was already used (and is accepted: a retry within
    /// the reuse window, or by the accept-consumed policy), `consumed_time` says when; an update
    /// of it answers with its existing successor.
    pub token: RefreshToken,
    /// That existing successor, when it is stored and live.
    pub successor: Option<crate::format::handle::Handle>,
}

impl RefreshTokenService {
    /// Validates a handle for a client. Writes nothing, except what the accept-consumed policy
    /// does (revoke-on-replay removes tokens). Expired or consumed rows are never deleted here.
    pub fn validate(&self, handle: &str, client: &Client) -> Result<Validated, ServiceError> {
        super::drive::block_on(self.validate_async(handle, client))
    }

    /// [`Self::validate`], waiting for an asynchronous store or hook without holding a thread.
    pub async fn validate_async(
        &self,
        handle: &str,
        client: &Client,
    ) -> Result<Validated, ServiceError> {
        let result = self.validate_inner(handle, client).await;
        if let Err(ServiceError::Rejected(r)) = &result {
            self.emit(Event::Rejected {
                key: refresh_token_key(handle),
                client_id: client.client_id.clone(),
                reason: r.reason,
            });
        }
        result
    }

    async fn validate_inner(
        &self,
        handle: &str,
        client: &Client,
    ) -> Result<Validated, ServiceError> {
        let now = self.now();
        // 1. Load by hashed key. Delete mode keeps no used row: a handle whose successor is
        // stored was rotated, and is judged as a used token (with the chain's data, read from
        // the successor), so that a retry finds its successor and a replay is seen as one.
        let key = refresh_token_key(handle);
        let (token, rotated) = match self.store.get(&key).await? {
            Some(row) if row.grant_type == REFRESH_TOKEN_GRANT_TYPE => {
                (self.decode_row(&row)?, None)
            }
            _ => match self.find_successor(handle).await? {
                Some(found) => {
                    let mut t = self.decode_row(&found.row)?;
                    let rotated_at = t
                        .lineage
                        .as_ref()
                        .and_then(|l| l.issued_time)
                        .unwrap_or(t.creation_time);
                    t.consumed_time = Some(rotated_at);
                    (t, Some(found))
                }
                None => return Err(ServiceError::rejected(Reason::NotFound)),
            },
        };
        // 2. Expired, from the payload's CreationTime and Lifetime.
        if token.is_expired_at(now) {
            return Err(ServiceError::rejected(Reason::Expired));
        }
        // 3. Client, compared ordinally.
        if token.client_id != client.client_id {
            return Err(ServiceError::rejected(Reason::ClientMismatch));
        }
        // 4. Offline access still allowed.
        if !client.allow_offline_access {
            return Err(ServiceError::rejected(Reason::OfflineAccessNotAllowed));
        }
        // 5. Used: within the reuse window, and while its successor is live, a retry that gets
        // that successor back; otherwise a replay, for the accept-consumed policy.
        let mut successor = None;
        if let Some(consumed_time) = token.consumed_time {
            let found = match rotated {
                Some(f) => Some(f),
                None => self.find_successor(handle).await?,
            };
            let live = found.filter(Found::live);
            let within = now < consumed_time + self.reuse_window(client);
            if within && live.is_some() {
                successor = live.map(|f| f.handle);
            } else {
                self.emit(Event::Replayed {
                    key: key.clone(),
                    family_id: Some(family_of(&token, &key)),
                    client_id: client.client_id.clone(),
                });
                // A replay is the cold path: boxed, so that its state is not part of every
                // validation's future.
                let accepted =
                    Box::pin(self.accept_consumed(client, &key, &token, consumed_time, now))
                        .await?;
                self.emit(Event::ConsumedTokenPresented {
                    key: key.clone(),
                    client_id: client.client_id.clone(),
                    accepted,
                });
                if !accepted {
                    return Err(ServiceError::rejected(Reason::Consumed));
                }
                successor = live.map(|f| f.handle);
            }
        }
        // 6. The subject is still active.
        let active = self
            .profile
            .is_active(&token.subject, client)
            .await
            .map_err(|e| ServiceError::HookFailed {
                hook: "is_active",
                message: e.0,
            })?;
        if !active {
            return Err(ServiceError::rejected(Reason::SubjectInactive));
        }
        Ok(Validated {
            key,
            token,
            successor,
        })
    }

    async fn accept_consumed(
        &self,
        client: &Client,
        key: &str,
        token: &RefreshToken,
        consumed_time: chrono::DateTime<chrono::Utc>,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<bool, ServiceError> {
        match &self.accept_consumed {
            AcceptConsumedPolicy::Reject => Ok(false),
            AcceptConsumedPolicy::Grace { seconds } => {
                Ok(now <= consumed_time + chrono::Duration::seconds(i64::from(*seconds)))
            }
            AcceptConsumedPolicy::RevokeOnReplay => {
                let subject_id = token.subject_id().unwrap_or_default().to_owned();
                // The family: the chain that leaked. A token the reference wrote carries no
                // family, so its chain cannot be told from the user's others: then everything
                // of that subject and client goes, as the reference documentation suggests.
                let family = token.lineage.as_ref().map(|_| family_of(token, key));
                let removed = match (&family, self.options.replay_scope) {
                    (Some(f), ReplayScope::Family) => {
                        self.remove_family(&subject_id, &token.client_id, f).await?
                    }
                    _ => {
                        self.remove_refresh_tokens_async(&subject_id, &token.client_id)
                            .await?
                    }
                };
                self.emit(Event::ReplayRevoked {
                    key: key.to_owned(),
                    subject_id,
                    client_id: token.client_id.clone(),
                    family_id: family,
                    removed,
                });
                Ok(false)
            }
            AcceptConsumedPolicy::Host(_) | AcceptConsumedPolicy::HostAsync(_) => {
                let ctx = ConsumedContext {
                    service: self,
                    client,
                    key,
                    token,
                    consumed_time,
                    now,
                };
                let answer = match &self.accept_consumed {
                    AcceptConsumedPolicy::HostAsync(hook) => hook.accept_consumed(&ctx).await,
                    AcceptConsumedPolicy::Host(hook) => hook.accept_consumed(&ctx),
                    _ => unreachable!("matched above"),
                };
                answer.map_err(|e| ServiceError::HookFailed {
                    hook: "accept_consumed",
                    message: e.0,
                })
            }
        }
    }

    /// Removes every refresh token of a subject and client (`RemoveRefreshTokensAsync`), and
    /// returns how many rows went. A blank subject removes nothing: it would widen the filter
    /// to the whole client.
    pub fn remove_refresh_tokens(
        &self,
        subject_id: &str,
        client_id: &str,
    ) -> Result<u64, ServiceError> {
        super::drive::block_on(self.remove_refresh_tokens_async(subject_id, client_id))
    }

    /// [`Self::remove_refresh_tokens`], waiting for an asynchronous store without holding a
    /// thread.
    pub async fn remove_refresh_tokens_async(
        &self,
        subject_id: &str,
        client_id: &str,
    ) -> Result<u64, ServiceError> {
        match refresh_tokens_of(subject_id, client_id) {
            Some(filter) => Ok(self.store.remove_all(&filter).await?),
            None => Ok(0),
        }
    }
}

/// The filter on the refresh tokens of one subject and client; `None` when either is blank (the
/// filter would widen to the whole client, or to every client).
pub(super) fn refresh_tokens_of(subject_id: &str, client_id: &str) -> Option<GrantFilter> {
    if subject_id.trim().is_empty() || client_id.trim().is_empty() {
        return None;
    }
    Some(GrantFilter {
        subject_id: Some(subject_id.to_owned()),
        client_id: Some(client_id.to_owned()),
        grant_type: Some(REFRESH_TOKEN_GRANT_TYPE.to_owned()),
        ..GrantFilter::default()
    })
}
