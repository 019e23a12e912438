//! The refresh-token settings of one client, with Duende IdentityServer 7's defaults.

/// `RefreshTokenUsage`: whether a refresh keeps the handle or rotates it.
/// The numbers are the reference's enum values, as stored by its EF entity.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum TokenUsage {
    /// The same handle is returned on every refresh (Duende 7+ default).
    ReUse = 0,
    /// Every refresh returns a new handle and consumes the presented one.
    OneTimeOnly = 1,
}

/// `RefreshTokenExpiration`: how a refresh token's lifetime evolves.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[repr(u32)]
pub enum TokenExpiration {
    /// Each refresh extends the lifetime to elapsed + sliding, capped by the absolute lifetime.
    Sliding = 0,
    /// The lifetime is fixed at creation (the default).
    Absolute = 1,
}

impl TokenUsage {
    /// Maps the reference's numeric value; `None` for an unknown one.
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::ReUse),
            1 => Some(Self::OneTimeOnly),
            _ => None,
        }
    }
}

impl TokenExpiration {
    /// Maps the reference's numeric value; `None` for an unknown one.
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::Sliding),
            1 => Some(Self::Absolute),
            _ => None,
        }
    }
}

/// The part of Duende's `Client` model that the refresh-token service reads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Client {
    pub client_id: String,
    /// `AllowOfflineAccess`: without it no refresh token validates (check 4). Default false.
    pub allow_offline_access: bool,
    /// Default [`TokenUsage::ReUse`] (Duende 7; IdentityServer4 and Duende 6 used OneTimeOnly).
    pub refresh_token_usage: TokenUsage,
    /// Default [`TokenExpiration::Absolute`].
    pub refresh_token_expiration: TokenExpiration,
    /// Seconds; default 2,592,000 (30 days). 0 makes an Absolute token dead on arrival and
    /// lets a Sliding token slide without bound, as in the reference.
    pub absolute_refresh_token_lifetime: i32,
    /// Seconds; default 1,296,000 (15 days).
    pub sliding_refresh_token_lifetime: i32,
    /// Rebuild the access token's claims on refresh (and so rewrite the refresh token). Default false.
    pub update_access_token_claims_on_refresh: bool,
    /// Seconds; default 3600. Used when a stored access token is re-issued on refresh.
    pub access_token_lifetime: i32,
    /// This client's reuse window in seconds; `None` (the default) takes the service's
    /// (`ServiceOptions::reuse_window_seconds`).
    pub reuse_window_seconds: Option<u32>,
}

impl Client {
    /// A client with the reference defaults.
    pub fn new(client_id: impl Into<String>) -> Self {
        Self {
            client_id: client_id.into(),
            allow_offline_access: false,
            refresh_token_usage: TokenUsage::ReUse,
            refresh_token_expiration: TokenExpiration::Absolute,
            absolute_refresh_token_lifetime: 2_592_000,
            sliding_refresh_token_lifetime: 1_296_000,
            update_access_token_claims_on_refresh: false,
            access_token_lifetime: 3600,
            reuse_window_seconds: None,
        }
    }
}
