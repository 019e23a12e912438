//! RFC 7009 revocation of a refresh token by its client.

use super::{Event, OAuthError, Reason, RefreshTokenService, Rejection, ServiceError};
use crate::model::{Client, GrantFilter, REFERENCE_TOKEN_GRANT_TYPE};

impl RefreshTokenService {
    /// Revokes a refresh token presented by a client. Returns whether a token was removed;
    /// the endpoint answers 200 either way. A token of another client is kept (and reported as
    /// an event). The reference access tokens of the same subject, client and session go too;
    /// they are removed first, so that a storage failure leaves the refresh token in place and a
    /// retry redoes everything.
    pub fn revoke(&self, client: &Client, handle: &str) -> Result<bool, ServiceError> {
        super::drive::block_on(self.revoke_async(client, handle))
    }

    /// [`Self::revoke`], waiting for an asynchronous store without holding a thread.
    pub async fn revoke_async(&self, client: &Client, handle: &str) -> Result<bool, ServiceError> {
        if handle.is_empty() {
            return Err(ServiceError::Rejected(Rejection {
                error: OAuthError::InvalidRequest,
                reason: Reason::Malformed,
            }));
        }
        let loaded = match self.load(handle).await {
            Ok(l) => l,
            Err(ServiceError::Rejected(_)) => return Ok(false),
            Err(e) => return Err(e),
        };
        if loaded.token.client_id != client.client_id {
            self.emit(Event::Rejected {
                key: loaded.key,
                client_id: client.client_id.clone(),
                reason: Reason::ClientMismatch,
            });
            return Ok(false);
        }
        if let Some(subject_id) = loaded.token.subject_id().filter(|s| !s.trim().is_empty()) {
            let filter = GrantFilter {
                subject_id: Some(subject_id.to_owned()),
                client_id: Some(client.client_id.clone()),
                session_id: loaded.token.session_id.clone(),
                grant_type: Some(REFERENCE_TOKEN_GRANT_TYPE.to_owned()),
                ..GrantFilter::default()
            };
            self.store.remove_all(&filter).await?;
        }
        self.store.remove(&loaded.key).await?;
        self.emit(Event::Revoked {
            key: loaded.key,
            client_id: client.client_id.clone(),
        });
        Ok(true)
    }
}
