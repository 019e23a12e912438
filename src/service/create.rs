//! `CreateRefreshTokenAsync`: a new refresh token after a code (or device, CIBA) exchange.

use super::{Event, RefreshTokenService, ServiceError};
use crate::format::handle::Handle;
use crate::format::key::refresh_token_key;
use crate::model::{Claim, Client, Lineage, RefreshToken, Subject, Token, TokenExpiration};

/// What the token endpoint knows when it creates a refresh token.
#[derive(Clone, Debug)]
pub struct CreateRequest {
    pub subject: Subject,
    /// The session id; when `None`, the `sid` claim of the access token is used, as the
    /// reference does.
    pub session_id: Option<String>,
    pub description: Option<String>,
    pub authorized_scopes: Vec<String>,
    pub authorized_resource_indicators: Option<Vec<String>>,
    /// None = 0, ClientCertificate = 1, DPoP = 2 (always written, as Duende 6.3+ does).
    pub proof_type: i64,
    /// The access token just issued; stored under `requested_resource` (or ""). `None`: the
    /// record of a plain code exchange, which the service builds from the client, subject,
    /// session and scopes at its clock's now (`client_id`, `scope`, `sub`, `sid` claims, the
    /// client's access-token lifetime).
    pub access_token: Option<Token>,
    pub requested_resource: Option<String>,
}

impl CreateRequest {
    /// The request the token endpoint makes after a code exchange for a subject with these
    /// scopes: a subject with the `sub` claim, and the plain code exchange's access-token record
    /// (built by the service, see `access_token`).
    pub fn for_subject(subject_id: &str, session_id: Option<&str>, scopes: &[&str]) -> Self {
        Self {
            subject: Subject::new(subject_id),
            session_id: session_id.map(str::to_owned),
            description: None,
            access_token: None,
            authorized_scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
            authorized_resource_indicators: None,
            proof_type: 0,
            requested_resource: None,
        }
    }
}

/// The access-token record of a plain code exchange: `client_id`, one `scope` claim per scope,
/// `sub` and (with a session) `sid`, created at `now` for the client's access-token lifetime.
fn code_exchange_access_token(
    client: &Client,
    request: &CreateRequest,
    now: chrono::DateTime<chrono::Utc>,
) -> Token {
    let mut t = Token::new(&client.client_id, now, client.access_token_lifetime);
    t.claims
        .push(Claim::new("client_id", client.client_id.clone()));
    t.claims.extend(
        request
            .authorized_scopes
            .iter()
            .map(|s| Claim::new("scope", s.clone())),
    );
    t.claims.push(Claim::new(
        "sub",
        request.subject.subject_id().unwrap_or_default(),
    ));
    if let Some(sid) = &request.session_id {
        t.claims.push(Claim::new("sid", sid.clone()));
    }
    t
}

/// A created refresh token.
#[derive(Clone, Debug)]
pub struct Created {
    /// The handle to give the client. A bearer secret.
    pub handle: Handle,
    pub key: String,
    pub token: RefreshToken,
}

/// The lifetime of a new token: Absolute → the absolute lifetime (0 is dead on arrival, as in
/// the reference); Sliding → the sliding lifetime, capped by a positive absolute lifetime.
pub(super) fn initial_lifetime(client: &Client) -> i32 {
    match client.refresh_token_expiration {
        TokenExpiration::Absolute => client.absolute_refresh_token_lifetime,
        TokenExpiration::Sliding => {
            let (abs, sliding) = (
                client.absolute_refresh_token_lifetime,
                client.sliding_refresh_token_lifetime,
            );
            if abs > 0 && sliding > abs {
                abs
            } else {
                sliding
            }
        }
    }
}

impl RefreshTokenService {
    /// Creates and stores a refresh token; returns its handle.
    pub fn create(&self, client: &Client, request: CreateRequest) -> Result<Created, ServiceError> {
        super::drive::block_on(self.create_async(client, request))
    }

    /// [`Self::create`], waiting for an asynchronous store without holding a thread.
    pub async fn create_async(
        &self,
        client: &Client,
        request: CreateRequest,
    ) -> Result<Created, ServiceError> {
        super::bounds::check_description(request.description.as_deref())?;
        let access_token = match &request.access_token {
            Some(t) => t.clone(),
            None => code_exchange_access_token(client, &request, self.now()),
        };
        let session_id = request.session_id.or_else(|| {
            access_token
                .claims
                .iter()
                .find(|c| c.claim_type == "sid")
                .map(|c| c.value.clone())
        });
        let token = RefreshToken {
            creation_time: self.now(),
            lifetime: initial_lifetime(client),
            consumed_time: None,
            access_token: None,
            access_tokens: vec![(request.requested_resource.unwrap_or_default(), access_token)],
            subject: request.subject,
            version: 5,
            client_id: client.client_id.clone(),
            session_id,
            description: request.description,
            authorized_scopes: request.authorized_scopes,
            authorized_resource_indicators: request.authorized_resource_indicators,
            proof_type: Some(request.proof_type),
            lineage: None,
            extra: Vec::new(),
        };
        let handle = Handle::generate();
        let key = refresh_token_key(handle.as_str());
        // A new family: its id is the first token's key.
        let mut token = token;
        token.lineage = Some(Lineage {
            family_id: key.clone(),
            issued_time: Some(token.creation_time),
        });
        let row = self.row_for(&key, &token)?;
        self.store.store(&row).await?;
        self.emit(Event::Created {
            key: key.clone(),
            client_id: client.client_id.clone(),
            subject_id: token.subject_id().map(str::to_owned),
            family_id: Some(key.clone()),
        });
        Ok(Created { handle, key, token })
    }
}
