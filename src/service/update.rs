//! `UpdateRefreshTokenAsync`, with a rotation order that loses nothing.
//!
//! The reference consumes the presented token and then stores its successor, with no lock: two
//! parallel requests can both succeed (a forked chain), and a failure between the two writes
//! strands the client. Here the store rotates: transactional stores consume and insert in one
//! transaction; others write the successor first and then consume with one conditional call
//! (`GrantStore::rotate`). Only the winner keeps a successor.

use super::{Event, RefreshTokenService, ServiceError};
use crate::format::handle::Handle;
use crate::format::key::refresh_token_key;
use crate::model::{Client, RefreshToken, TokenExpiration, TokenUsage};
use crate::store::{ConsumeAction, ConsumeOutcome};

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
        self.update_keyed(
            handle,
            refresh_token_key(handle),
            token,
            client,
            must_update,
        )
    }

    /// [`Self::update`] with the handle's key already computed (the refresh grant has it from
    /// validation, and hashing is a tenth of a refresh).
    pub(super) fn update_keyed(
        &self,
        handle: &str,
        key: String,
        mut token: RefreshToken,
        client: &Client,
        must_update: bool,
    ) -> Result<Updated, ServiceError> {
        let now = self.now();
        let mut needs_create = false;
        let mut needs_update = must_update;
        let mut consume = None;

        if client.refresh_token_usage == TokenUsage::OneTimeOnly {
            if self.options.delete_one_time_only_refresh_tokens_on_use {
                consume = Some(ConsumeAction::Delete);
            } else if token.consumed_time.is_none() {
                // The consumed row keeps its old lifetime but carries the re-issued access token.
                token.consumed_time = Some(now);
                consume = Some(ConsumeAction::MarkConsumed(Box::new(
                    self.row_for(&key, &token)?,
                )));
            }
            needs_create = true;
        }

        if client.refresh_token_expiration == TokenExpiration::Sliding {
            // Whole elapsed seconds, truncated toward zero.
            let elapsed = (now - token.creation_time).num_seconds();
            let mut lifetime =
                elapsed.saturating_add(i64::from(client.sliding_refresh_token_lifetime));
            let absolute = i64::from(client.absolute_refresh_token_lifetime);
            if absolute > 0 && lifetime > absolute {
                lifetime = absolute;
            }
            token.lifetime = i32::try_from(lifetime).unwrap_or(i32::MAX);
            needs_update = true;
        }

        if needs_create {
            token.consumed_time = None;
            return self.rotate(handle, &key, token, client, consume);
        }
        if needs_update {
            self.store.store(&self.row_for(&key, &token)?)?;
        }
        Ok(Updated {
            handle: Handle::from_string(handle.to_owned()),
            key,
            rotated: false,
            token,
        })
    }

    /// Stores the successor and consumes the presented token through
    /// [`GrantStore::rotate`](crate::store::GrantStore::rotate): the presented token is never
    /// consumed unless its successor is stored, and only one concurrent request keeps a
    /// successor.
    fn rotate(
        &self,
        handle: &str,
        key: &str,
        token: RefreshToken,
        client: &Client,
        consume: Option<ConsumeAction>,
    ) -> Result<Updated, ServiceError> {
        let new_handle = Handle::generate();
        let new_key = refresh_token_key(new_handle.as_str());
        let successor = self.row_for(&new_key, &token)?;
        let updated = Updated {
            handle: new_handle,
            key: new_key,
            rotated: true,
            token,
        };
        let Some(action) = consume else {
            // Already consumed and accepted by the policy: only a sibling is added.
            self.store.store(&successor)?;
            return Ok(updated);
        };
        match self.store.rotate(key, &action, &successor)? {
            ConsumeOutcome::Won => Ok(updated),
            ConsumeOutcome::AlreadyConsumed | ConsumeOutcome::NotFound => {
                // Another request redeemed the token between our validation and our consume.
                // Answer exactly as a request arriving just after it would be answered: validate
                // again (the accept-consumed policy may accept, e.g. within a grace window).
                self.emit(Event::ConsumeLost {
                    key: key.to_owned(),
                    client_id: client.client_id.clone(),
                });
                self.validate(handle, client)?;
                self.store.store(&successor)?;
                Ok(updated)
            }
        }
    }
}
