//! `ValidateRefreshTokenAsync`: the six checks, in the reference's order.

use super::policy::{AcceptConsumedPolicy, ConsumedContext};
use super::{Event, Reason, RefreshTokenService, ServiceError};
use crate::model::{Client, GrantFilter, RefreshToken, REFRESH_TOKEN_GRANT_TYPE};

/// A token that passed validation.
#[derive(Clone, Debug)]
pub struct Validated {
    /// The persisted-grant key of the presented handle.
    pub key: String,
    pub token: RefreshToken,
}

impl RefreshTokenService {
    /// Validates a handle for a client. Writes nothing, except what the accept-consumed policy
    /// does (revoke-on-replay removes tokens). Expired or consumed rows are never deleted here.
    pub fn validate(&self, handle: &str, client: &Client) -> Result<Validated, ServiceError> {
        let result = self.validate_inner(handle, client);
        if let Err(ServiceError::Rejected(r)) = &result {
            self.emit(Event::Rejected {
                key: crate::format::key::refresh_token_key(handle),
                client_id: client.client_id.clone(),
                reason: r.reason,
            });
        }
        result
    }

    fn validate_inner(&self, handle: &str, client: &Client) -> Result<Validated, ServiceError> {
        // 1. Load by hashed key.
        let loaded = self.load(handle)?;
        let token = loaded.token;
        let now = self.now();
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
        // 5. Consumed, unless the accept-consumed policy accepts it.
        if let Some(consumed_time) = token.consumed_time {
            let accepted = self.accept_consumed(client, &loaded.key, &token, consumed_time, now)?;
            self.emit(Event::ConsumedTokenPresented {
                key: loaded.key.clone(),
                client_id: client.client_id.clone(),
                accepted,
            });
            if !accepted {
                return Err(ServiceError::rejected(Reason::Consumed));
            }
        }
        // 6. The subject is still active.
        let active = self
            .profile
            .is_active(&token.subject, client)
            .map_err(|e| ServiceError::HookFailed {
                hook: "is_active",
                message: e.0,
            })?;
        if !active {
            return Err(ServiceError::rejected(Reason::SubjectInactive));
        }
        Ok(Validated {
            key: loaded.key,
            token,
        })
    }

    fn accept_consumed(
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
                let removed = self.remove_refresh_tokens(&subject_id, &token.client_id)?;
                self.emit(Event::ReplayRevoked {
                    key: key.to_owned(),
                    subject_id,
                    client_id: token.client_id.clone(),
                    removed,
                });
                Ok(false)
            }
            AcceptConsumedPolicy::Host(hook) => {
                let ctx = ConsumedContext {
                    service: self,
                    client,
                    key,
                    token,
                    consumed_time,
                    now,
                };
                hook.accept_consumed(&ctx)
                    .map_err(|e| ServiceError::HookFailed {
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
        if subject_id.trim().is_empty() || client_id.trim().is_empty() {
            return Ok(0);
        }
        let filter = GrantFilter {
            subject_id: Some(subject_id.to_owned()),
            client_id: Some(client_id.to_owned()),
            grant_type: Some(REFRESH_TOKEN_GRANT_TYPE.to_owned()),
            ..GrantFilter::default()
        };
        Ok(self.store.remove_all(&filter)?)
    }
}
