//! Between tokens and rows: loading a token by handle and turning a token into its row.

use super::{Reason, RefreshTokenService, ServiceError};
use crate::format::data::{self, DecodeError};
use crate::format::datetime::in_dotnet_range;
use crate::format::key::refresh_token_key;
use crate::format::protector::PayloadProtector;
use crate::model::{PersistedGrant, RefreshToken, REFRESH_TOKEN_GRANT_TYPE};

/// A token read from the store, with its key.
pub(super) struct Loaded {
    pub key: String,
    pub token: RefreshToken,
}

impl RefreshTokenService {
    fn protector_ref(&self) -> Option<&dyn PayloadProtector> {
        self.protector.as_deref()
    }

    /// Reads the token of a handle. A missing row, a row of another type and unreadable data
    /// are refusals (as "not found" in the reference); store and protector failures are
    /// retryable errors.
    pub(super) async fn load(&self, handle: &str) -> Result<Loaded, ServiceError> {
        let key = refresh_token_key(handle);
        let row = match self.store.get(&key).await? {
            Some(row) if row.grant_type == REFRESH_TOKEN_GRANT_TYPE => row,
            _ => return Err(ServiceError::rejected(Reason::NotFound)),
        };
        let token = self.decode_row(&row)?;
        Ok(Loaded { key, token })
    }

    /// The token of a refresh-token row. Unreadable data is a refusal (`malformed`), a
    /// protector failure a retryable error.
    pub(super) fn decode_row(&self, row: &PersistedGrant) -> Result<RefreshToken, ServiceError> {
        match data::decode(&row.data, self.protector_ref()) {
            Ok(token) => Ok(token),
            Err(DecodeError::Malformed(_)) => Err(ServiceError::rejected(Reason::Malformed)),
            Err(DecodeError::ProtectorUnavailable(m)) => Err(ServiceError::HookFailed {
                hook: "protector",
                message: m,
            }),
        }
    }

    /// The row for a token, as the reference's store writes it: Expiration recomputed from
    /// CreationTime + Lifetime, Data in the current format.
    pub(super) fn row_for(
        &self,
        key: &str,
        token: &RefreshToken,
    ) -> Result<PersistedGrant, ServiceError> {
        // A date no store or binding can hold (a stored row created at the end of year 9999,
        // whose successor would expire in year 10000) is never written: the token is refused as
        // malformed, before anything is consumed, the same way on every store.
        let dates = [
            Some(token.creation_time),
            Some(token.expires_at()),
            token.consumed_time,
        ];
        if !dates.into_iter().flatten().all(in_dotnet_range) {
            return Err(ServiceError::rejected(Reason::Malformed));
        }
        let protector = if self.options.data_protect_data {
            self.protector_ref()
        } else {
            None
        };
        let data = data::encode(token, protector).map_err(|e| ServiceError::HookFailed {
            hook: "protector",
            message: e.to_string(),
        })?;
        super::bounds::check_data(&data)?;
        Ok(PersistedGrant {
            key: key.to_owned(),
            grant_type: REFRESH_TOKEN_GRANT_TYPE.to_owned(),
            subject_id: token.subject_id().map(str::to_owned),
            session_id: token.session_id.clone(),
            client_id: token.client_id.clone(),
            description: token.description.clone(),
            creation_time: token.creation_time,
            expiration: Some(token.expires_at()),
            consumed_time: token.consumed_time,
            data,
        })
    }
}
