//! The one successor of a one-time token: finding it again, answering with it, and finding out
//! whether a rotation whose outcome is unknown applied.
//!
//! A one-time token's successor is derived from its handle (`format::successor`), so whoever
//! presents the token can be answered with the same successor: the loser of a race, a retry
//! within the reuse window, a retry after a storage error whose outcome was unknown. A chain
//! therefore never forks and a lost acknowledgement never kills it.

use chrono::{DateTime, Utc};

use super::{Event, Reason, RefreshTokenService, ServiceError, Updated};
use crate::format::handle::Handle;
use crate::format::key::refresh_token_key;
use crate::model::{Client, Lineage, PersistedGrant, RefreshToken, REFRESH_TOKEN_GRANT_TYPE};

/// A stored successor of a presented handle.
pub(super) struct Found {
    pub handle: Handle,
    pub key: String,
    pub row: PersistedGrant,
}

impl Found {
    /// Not yet used itself (in delete mode a used successor is gone, so it is not found).
    pub fn live(&self) -> bool {
        self.row.consumed_time.is_none()
    }
}

/// The family of a token: its lineage's, or (a token the reference wrote) its own key.
pub(super) fn family_of(token: &RefreshToken, key: &str) -> String {
    token
        .lineage
        .as_ref()
        .map_or_else(|| key.to_owned(), |l| l.family_id.clone())
}

impl RefreshTokenService {
    /// The successor `handle` was rotated to, if one is stored (every secret is tried, the
    /// current one first). Only the direct successor: after a chain has moved on twice in
    /// delete mode, an old handle is simply not found (walking further would let any garbage
    /// handle cost several store reads).
    pub(super) async fn find_successor(&self, handle: &str) -> Result<Option<Found>, ServiceError> {
        for candidate in self.secrets.candidates(handle) {
            let key = refresh_token_key(candidate.as_str());
            if let Some(row) = self.store.get(&key).await? {
                if row.grant_type == REFRESH_TOKEN_GRANT_TYPE {
                    return Ok(Some(Found {
                        handle: candidate,
                        key,
                        row,
                    }));
                }
            }
        }
        Ok(None)
    }

    /// The reuse window of a client, as a duration.
    pub(super) fn reuse_window(&self, client: &Client) -> chrono::Duration {
        let seconds = client
            .reuse_window_seconds
            .unwrap_or(self.options.reuse_window_seconds);
        chrono::Duration::seconds(i64::from(seconds))
    }

    /// The token a rotation of `token` (stored under `key`) stores as its successor: not
    /// consumed, in the same family, issued now.
    pub(super) fn successor_token(
        &self,
        mut token: RefreshToken,
        key: &str,
        now: DateTime<Utc>,
    ) -> RefreshToken {
        token.lineage = Some(Lineage {
            family_id: family_of(&token, key),
            issued_time: Some(now),
        });
        token.consumed_time = None;
        token
    }

    /// Answers a used token that validation accepted (within the reuse window, or by the
    /// accept-consumed policy) with its one successor: the stored one if it is still live; if
    /// none is stored (the token was used by the reference, or before successors were derived),
    /// the derived one, created once. Never a sibling.
    pub(super) async fn existing_successor(
        &self,
        handle: &str,
        key: &str,
        token: RefreshToken,
        client: &Client,
        now: DateTime<Utc>,
    ) -> Result<Updated, ServiceError> {
        let found = match self.find_successor(handle).await? {
            Some(found) => Some(found),
            None => {
                let successor = self.successor_token(token, key, now);
                let new_handle = self.secrets.successor(handle);
                let new_key = refresh_token_key(new_handle.as_str());
                let row = self.row_for(&new_key, &successor)?;
                self.store.insert_if_absent(&row).await?;
                // Whoever inserted it, answer with what is stored now.
                self.find_successor(handle).await?
            }
        };
        match found {
            Some(found) if found.live() => {
                let token = self.decode_row(&found.row)?;
                self.emit(Event::SuccessorReturned {
                    key: key.to_owned(),
                    new_key: found.key.clone(),
                    client_id: client.client_id.clone(),
                });
                Ok(Updated {
                    handle: found.handle,
                    key: found.key,
                    rotated: true,
                    token,
                })
            }
            // The successor has been used itself: the chain moved on without this request.
            _ => Err(ServiceError::rejected(Reason::Consumed)),
        }
    }

    /// After a rotation whose outcome is unknown (the store reported an error): whether it
    /// applied, i.e. the presented token is used and its successor is stored and live. Any
    /// failure to find out counts as "not known to have applied".
    pub(super) async fn rotation_applied(&self, key: &str, successor_key: &str) -> bool {
        let Ok(Some(successor)) = self.store.get(successor_key).await else {
            return false;
        };
        match self.store.get(key).await {
            Ok(presented) => {
                successor.consumed_time.is_none()
                    && presented.is_none_or(|p| p.consumed_time.is_some())
            }
            Err(_) => false,
        }
    }

    /// Removes every token of a family (of one subject and client) and returns how many. Rows
    /// whose data cannot be read are left alone.
    pub(super) async fn remove_family(
        &self,
        subject_id: &str,
        client_id: &str,
        family_id: &str,
    ) -> Result<u64, ServiceError> {
        let Some(filter) = super::validate::refresh_tokens_of(subject_id, client_id) else {
            return Ok(0);
        };
        let mut removed = 0;
        for row in self.store.get_all(&filter).await? {
            let in_family = row.key == family_id
                || self
                    .decode_row(&row)
                    .ok()
                    .and_then(|t| t.lineage)
                    .is_some_and(|l| l.family_id == family_id);
            if in_family {
                self.store.remove(&row.key).await?;
                removed += 1;
            }
        }
        Ok(removed)
    }
}
