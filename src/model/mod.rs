//! Plain data, with no behaviour beyond small derived values. Names follow Duende's models so
//! that a .NET developer recognises them.

mod client;
mod grant;
mod options;
mod token;

pub use client::{Client, TokenExpiration, TokenUsage};
pub use grant::{
    GrantFilter, PersistedGrant, REFERENCE_TOKEN_GRANT_TYPE, REFRESH_TOKEN_GRANT_TYPE,
};
pub use options::{CleanupOptions, ReplayScope, ServiceOptions, DEFAULT_REUSE_WINDOW_SECONDS};
pub use token::{
    AccessTokenType, Claim, Lineage, RefreshToken, Subject, Token, STRING_CLAIM_VALUE_TYPE,
};
