//! The token endpoint's `refresh_token` grant: validate, re-issue the access token, update.

use super::{Event, OAuthError, Reason, RefreshTokenService, Rejection, ServiceError};
use crate::format::handle::Handle;
use crate::model::{Claim, Client, RefreshToken, Token};

/// A refresh request, as the token endpoint has it after client authentication. The handle is a
/// [`Handle`]: redacted in `Debug`, wiped when the request is dropped.
#[derive(Clone, Debug, Default)]
pub struct RefreshRequest {
    /// The `refresh_token` parameter (`"...".into()` or `String::into()`; a `String` is taken
    /// without a copy).
    pub handle: Handle,
    /// The `resource` parameter (RFC 8707), if any.
    pub resource: Option<String>,
    /// A freshly built access token (the host's profile service rebuilt the claims). When
    /// `None` and one is needed (no stored token for the resource, or the client has
    /// UpdateAccessTokenClaimsOnRefresh), the stored one is re-issued with fresh times.
    pub new_access_token: Option<Token>,
}

/// A successful refresh.
#[derive(Clone, Debug)]
pub struct Refreshed {
    /// The refresh token to return: the same handle (ReUse) or a new one (OneTimeOnly).
    pub handle: Handle,
    pub rotated: bool,
    /// The refresh token as stored after the refresh.
    pub token: RefreshToken,
    /// The access token to issue (CreationTime = now, Lifetime = the client's).
    pub access_token: Token,
}

impl RefreshTokenService {
    /// The `refresh_token` grant for an authenticated client.
    pub fn refresh(
        &self,
        client: &Client,
        request: RefreshRequest,
    ) -> Result<Refreshed, ServiceError> {
        super::drive::block_on(self.refresh_async(client, request))
    }

    /// [`Self::refresh`], waiting for an asynchronous store or hook without holding a thread.
    pub async fn refresh_async(
        &self,
        client: &Client,
        request: RefreshRequest,
    ) -> Result<Refreshed, ServiceError> {
        let handle = request.handle.as_str();
        if handle.is_empty() {
            return Err(ServiceError::Rejected(Rejection {
                error: OAuthError::InvalidRequest,
                reason: Reason::Malformed,
            }));
        }
        if handle.chars().count() > self.options.max_handle_length {
            return Err(ServiceError::rejected(Reason::Malformed));
        }
        let validated = self.validate_async(handle, client).await?;
        let mut token = validated.token;
        let now = self.now();
        let resource = request.resource.unwrap_or_default();
        super::bounds::check_resource(&token, &resource)?;
        let mut must_update = client.update_access_token_claims_on_refresh;

        // The access token is renewed where it is stored, and copied once for the caller.
        let issued = match request.new_access_token {
            Some(fresh) => {
                must_update = true;
                token.set_access_token(&resource, fresh)
            }
            None => token.access_token_or_insert_with(&resource, |t| {
                // Nothing stored for the resource: the one made here must be written.
                must_update = true;
                fallback_access_token(t, client, now)
            }),
        };
        issued.creation_time = now;
        issued.lifetime = client.access_token_lifetime;
        let access_token = issued.clone();

        let updated = self
            .update_keyed(handle, validated.key.clone(), token, client, must_update)
            .await?;
        self.emit(Event::Refreshed {
            key: validated.key,
            new_key: updated.key.clone(),
            client_id: client.client_id.clone(),
            family_id: updated.token.lineage.as_ref().map(|l| l.family_id.clone()),
        });
        Ok(Refreshed {
            handle: updated.handle,
            rotated: updated.rotated,
            token: updated.token,
            access_token,
        })
    }
}

/// An access-token record when nothing is stored for the requested resource and the host gave
/// none: any stored one as a template, else one built from the subject and scopes.
fn fallback_access_token(
    token: &RefreshToken,
    client: &Client,
    now: chrono::DateTime<chrono::Utc>,
) -> Token {
    if let Some((_, t)) = token.access_tokens.first() {
        return t.clone();
    }
    let mut t = Token::new(client.client_id.clone(), now, client.access_token_lifetime);
    t.claims
        .push(Claim::new("client_id", client.client_id.clone()));
    t.claims.extend(
        token
            .authorized_scopes
            .iter()
            .map(|s| Claim::new("scope", s.clone())),
    );
    t.claims.extend(token.subject.claims.iter().cloned());
    t
}
