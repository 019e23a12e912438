//! The payload protector: how a host plugs in ASP.NET Core Data Protection (purpose
//! "PersistentGrantSerializer") so that rows the reference protected stay readable, and rows
//! this library writes are protected the same way.

use std::fmt;

/// Why a protector could not do its work.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProtectorError {
    /// The protected text is not valid for this key ring (tampered, unknown key, garbage): the
    /// row is unreadable, which the reference treats as "not found".
    Invalid(String),
    /// The protector itself is not working right now (key ring unreachable, host failure): a
    /// retryable error, never a verdict on the token.
    Unavailable(String),
}

impl fmt::Display for ProtectorError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Invalid(m) => write!(f, "protected payload is invalid: {m}"),
            Self::Unavailable(m) => write!(f, "payload protector unavailable: {m}"),
        }
    }
}

/// Protects and unprotects the inner JSON of the `Data` column.
///
/// Implementations must be thread-safe: the service calls them from whichever thread serves
/// the request.
pub trait PayloadProtector: Send + Sync {
    fn protect(&self, plaintext: &str) -> Result<String, ProtectorError>;
    fn unprotect(&self, protected: &str) -> Result<String, ProtectorError>;
}
