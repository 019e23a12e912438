//! `UpdateRefreshTokenAsync`, with one successor per one-time token.
//!
//! The reference consumes the presented token and then stores a random successor, with no
//! lock: two parallel requests can both succeed (a forked chain), and a failure between the two
//! writes strands the client. Here the successor is derived from the presented handle
//! (`format::successor`) and the store rotates (`GrantStore::rotate`: one transaction, or the
//! successor first and one conditional consume), so every request that rotates one token names
//! the same successor: a race loser and a retry are answered with it, and a store error after
//! the rotation applied is found out and answered with it too.

use super::{Event, RefreshTokenService, ServiceError};
use crate::format::handle::Handle;
use crate::format::key::refresh_token_key;
use crate::model::{Client, RefreshToken, TokenExpiration, TokenUsage};
use crate::store::{ConsumeAction, ConsumeOutcome, StoreError};

/// The result of an update.
#[derive(Clone, Debug)]
pub struct Updated {
    /// The handle to return to the client: the presented one (ReUse) or a new one.
    pub handle: Handle,
    pub key: String,
    /// Whether a new handle was issued.
    pub rotated: bool,
    /// The token as stored under `handle` after the update.
    pub token: RefreshToken,
}

impl RefreshTokenService {
    /// Updates a validated token after a refresh, following the reference's rules: OneTimeOnly
    /// consumes the presented token and issues a new handle; Sliding extends the lifetime to
    /// elapsed + sliding (capped by a positive absolute lifetime); `must_update` forces a write;
    /// otherwise nothing is written.
    pub fn update(
        &self,
        handle: &str,
        token: RefreshToken,
        client: &Client,
        must_update: bool,
    ) -> Result<Updated, ServiceError> {
        super::drive::block_on(self.update_async(handle, token, client, must_update))
    }

    /// [`Self::update`], waiting for an asynchronous store without holding a thread.
    pub async fn update_async(
        &self,
        handle: &str,
        token: RefreshToken,
        client: &Client,
        must_update: bool,
    ) -> Result<Updated, ServiceError> {
        let key = refresh_token_key(handle);
        self.update_keyed(handle, key, token, client, must_update)
            .await
    }

    /// [`Self::update`] with the handle's key already computed (the refresh grant has it from
    /// validation, and hashing is a tenth of a refresh).
    pub(super) async fn update_keyed(
        &self,
        handle: &str,
        key: String,
        mut token: RefreshToken,
        client: &Client,
        must_update: bool,
    ) -> Result<Updated, ServiceError> {
        if !Self::update_writes_for(client, must_update) {
            return Ok(Updated {
                handle: Handle::from_string(handle.to_owned()),
                key,
                rotated: false,
                token,
            });
        }
        let now = self.now();
        let mut needs_update = must_update;
        let mut consume = None;

        if client.refresh_token_usage == TokenUsage::OneTimeOnly {
            if token.consumed_time.is_some() {
                // Validation accepted a used token (a retry within the reuse window, or the
                // accept-consumed policy): the answer is its one successor, never a sibling.
                self.slide(&mut token, client, now);
                // Cold paths are boxed so that their state does not sit (and get copied)
                // inside every update's future; see `io`.
                return Box::pin(self.existing_successor(handle, &key, token, client, now)).await;
            }
            if self.options.delete_one_time_only_refresh_tokens_on_use {
                consume = Some(ConsumeAction::Delete);
            } else {
                // The consumed row keeps its old lifetime but carries the re-issued access token.
                token.consumed_time = Some(now);
                consume = Some(ConsumeAction::MarkConsumed(Box::new(
                    self.row_for(&key, &token)?,
                )));
            }
        }

        if self.slide(&mut token, client, now) {
            needs_update = true;
        }

        if let Some(action) = consume {
            return self.rotate(handle, &key, token, client, action, now).await;
        }
        if needs_update {
            let row = self.row_for(&key, &token)?;
            self.store.store(&row).await?;
        }
        Ok(Updated {
            handle: Handle::from_string(handle.to_owned()),
            key,
            rotated: false,
            token,
        })
    }

    /// Whether an update for `client` writes anything, and so reads the token it is given: a
    /// OneTimeOnly token is rotated, a Sliding one extended, `must_update` forces a write;
    /// otherwise (ReUse, Absolute) the presented handle is the answer and nothing changes. A
    /// host that keeps the validated token (`rtc_token`) need not send it when this is false.
    pub fn update_writes(
        usage: TokenUsage,
        expiration: TokenExpiration,
        must_update: bool,
    ) -> bool {
        must_update || usage == TokenUsage::OneTimeOnly || expiration == TokenExpiration::Sliding
    }

    /// [`Self::update_writes`] for a client's settings.
    pub(crate) fn update_writes_for(client: &Client, must_update: bool) -> bool {
        Self::update_writes(
            client.refresh_token_usage,
            client.refresh_token_expiration,
            must_update,
        )
    }

    /// Sliding expiration: lifetime = whole elapsed seconds + sliding, capped by a positive
    /// absolute lifetime. Whether it applied (Sliding clients only).
    fn slide(
        &self,
        token: &mut RefreshToken,
        client: &Client,
        now: chrono::DateTime<chrono::Utc>,
    ) -> bool {
        if client.refresh_token_expiration != TokenExpiration::Sliding {
            return false;
        }
        // Whole elapsed seconds, truncated toward zero.
        let elapsed = (now - token.creation_time).num_seconds();
        let mut lifetime = elapsed.saturating_add(i64::from(client.sliding_refresh_token_lifetime));
        let absolute = i64::from(client.absolute_refresh_token_lifetime);
        if absolute > 0 && lifetime > absolute {
            lifetime = absolute;
        }
        token.lifetime = i32::try_from(lifetime).unwrap_or(i32::MAX);
        true
    }

    /// Consumes the presented token and stores its one successor through
    /// [`GrantStore::rotate`](crate::store::GrantStore::rotate). The successor is derived from
    /// the presented handle, so every request that rotates this token names the same one.
    async fn rotate(
        &self,
        handle: &str,
        key: &str,
        token: RefreshToken,
        client: &Client,
        action: ConsumeAction,
        now: chrono::DateTime<chrono::Utc>,
    ) -> Result<Updated, ServiceError> {
        let new_handle = self.secrets.successor(handle);
        let new_key = refresh_token_key(new_handle.as_str());
        let successor = self.successor_token(token, key, now);
        let row = self.row_for(&new_key, &successor)?;
        let updated = Updated {
            handle: new_handle,
            key: new_key,
            rotated: true,
            token: successor,
        };
        match self.store.rotate(key, &action, &row).await {
            Ok(ConsumeOutcome::Won) => Ok(updated),
            Ok(ConsumeOutcome::AlreadyConsumed | ConsumeOutcome::NotFound) => {
                // Another request rotated this token between our validation and our consume.
                // Its successor is ours too: answer with it while it is live; otherwise answer
                // as a request arriving now would be answered.
                self.emit(Event::ConsumeLost {
                    key: key.to_owned(),
                    client_id: client.client_id.clone(),
                });
                // A store that calls the token used or gone while it is still there unused
                // contradicts itself: answering from that would hand out a successor beside a
                // live presented token. Retryable: the holder's retry rotates normally.
                if let Some(row) = self.store.get(key).await? {
                    if row.consumed_time.is_none() {
                        return Err(StoreError::BadResponse(
                            "the store's rotation reported the token used or missing, \
                             but it is stored unused"
                                .into(),
                        )
                        .into());
                    }
                }
                match self.store.get(&updated.key).await? {
                    Some(r) if r.consumed_time.is_none() => Ok(updated),
                    _ => {
                        Box::pin(async {
                            let validated = self.validate_async(handle, client).await?;
                            self.existing_successor(handle, key, validated.token, client, now)
                                .await
                        })
                        .await
                    }
                }
            }
            // The store failed, perhaps after the rotation applied (a commit whose answer was
            // lost). Find out before answering: never report failure for a rotation that
            // happened, its successor may be the chain's only live token.
            Err(e) => {
                if Box::pin(self.rotation_applied(key, &updated.key)).await {
                    Ok(updated)
                } else {
                    Err(e.into())
                }
            }
        }
    }
}
