//! The successor secret every node of a deployment shares: set explicitly, or created once in
//! the store itself and picked up by every node.
//!
//! The row: Key `refresh-token-core:successor-secret`, Type `rtc_successor_secret`, ClientId
//! `refresh-token-core`, no Expiration (cleanup never removes it), Data
//! `{"Version":1,"DataProtected":b,"Secret":"…"}` where Secret is the base64 of 32 random bytes,
//! protected by the payload protector when one is configured (so the database alone does not
//! hold it in clear). The first node inserts it only if absent and every node then reads what
//! is stored, so nodes starting together agree on the store's copy (atomic on the built-in
//! stores; a host store without an atomic insert can let two nodes that start in the same
//! instant each keep their own: set the secret explicitly there).

use base64::Engine;
use serde_json::{json, Value};

use super::io::Storage;
use super::ServiceError;
use crate::format::protector::PayloadProtector;
use crate::format::successor::SuccessorSecrets;
use crate::model::PersistedGrant;

pub const SECRET_KEY: &str = "refresh-token-core:successor-secret";
pub const SECRET_GRANT_TYPE: &str = "rtc_successor_secret";
const SECRET_CLIENT_ID: &str = "refresh-token-core";

fn broken(message: impl Into<String>) -> ServiceError {
    ServiceError::InvalidArgument(format!(
        "the stored successor secret is unreadable: {}",
        message.into()
    ))
}

fn decode(
    row: &PersistedGrant,
    protector: Option<&dyn PayloadProtector>,
) -> Result<SuccessorSecrets, ServiceError> {
    let v: Value = serde_json::from_str(&row.data).map_err(|e| broken(e.to_string()))?;
    let text = v["Secret"].as_str().ok_or_else(|| broken("no Secret"))?;
    let plain = if v["DataProtected"].as_bool().unwrap_or(false) {
        let p =
            protector.ok_or_else(|| broken("it is protected and no protector is configured"))?;
        zeroize::Zeroizing::new(p.unprotect(text).map_err(|e| ServiceError::HookFailed {
            hook: "protector",
            message: e.to_string(),
        })?)
    } else {
        zeroize::Zeroizing::new(text.to_owned())
    };
    let bytes = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(plain.as_bytes())
            .map_err(|e| broken(e.to_string()))?,
    );
    SuccessorSecrets::new(&bytes).map_err(|e| broken(e.to_string()))
}

fn encode(
    secrets: &SuccessorSecrets,
    protector: Option<&dyn PayloadProtector>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<PersistedGrant, ServiceError> {
    let plain = zeroize::Zeroizing::new(
        base64::engine::general_purpose::STANDARD.encode(secrets.current_bytes()),
    );
    let (protected, text) = match protector {
        Some(p) => (
            true,
            p.protect(&plain).map_err(|e| ServiceError::HookFailed {
                hook: "protector",
                message: e.to_string(),
            })?,
        ),
        None => (false, plain.to_string()),
    };
    Ok(PersistedGrant {
        key: SECRET_KEY.to_owned(),
        grant_type: SECRET_GRANT_TYPE.to_owned(),
        subject_id: None,
        session_id: None,
        client_id: SECRET_CLIENT_ID.to_owned(),
        description: Some(
            "refresh-token-core: the key successors of one-time tokens are derived with".into(),
        ),
        creation_time: now,
        expiration: None,
        consumed_time: None,
        data: json!({"Version": 1, "DataProtected": protected, "Secret": text}).to_string(),
    })
}

/// The deployment's secret: the stored one, or a new one stored if there is none yet.
pub(super) async fn load_or_create(
    store: &Storage,
    protector: Option<&dyn PayloadProtector>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<SuccessorSecrets, ServiceError> {
    if let Some(row) = store.get(SECRET_KEY).await? {
        return decode(&row, protector);
    }
    let fresh = encode(&SuccessorSecrets::generate(), protector, now)?;
    store.insert_if_absent(&fresh).await?;
    // Whoever inserted first, every node uses what the store holds now.
    let row = store.get(SECRET_KEY).await?.ok_or_else(|| {
        ServiceError::StorageUnavailable(crate::store::StoreError::BadResponse(
            "the successor secret was stored but cannot be read back".into(),
        ))
    })?;
    decode(&row, protector)
}
