//! Service-wide options, mirroring Duende's `PersistentGrantOptions` and the operational
//! store's token-cleanup options, with Duende 7's defaults.

/// Token cleanup options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CleanupOptions {
    /// `RemoveConsumedTokens`: also remove consumed rows. Default false.
    pub remove_consumed_tokens: bool,
    /// `ConsumedTokenCleanupDelay` in seconds: a consumed row is removed only once its
    /// ConsumedTime is older than this. Default 0.
    pub consumed_token_cleanup_delay: u32,
    /// `TokenCleanupBatchSize`: rows removed per store call. Default 100; must be at least 1.
    pub batch_size: u32,
}

impl Default for CleanupOptions {
    fn default() -> Self {
        Self {
            remove_consumed_tokens: false,
            consumed_token_cleanup_delay: 0,
            batch_size: 100,
        }
    }
}

/// What the revoke-on-replay policy removes when a used one-time token is replayed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[repr(u32)]
pub enum ReplayScope {
    /// The family: every token of the chain the replayed token belongs to (the chain that
    /// leaked). The user's other devices and sessions keep their tokens.
    #[default]
    Family = 0,
    /// Every refresh token of the same subject and client (the reference documentation's
    /// suggestion; logs the user out of that client everywhere).
    SubjectAndClient = 1,
}

impl ReplayScope {
    pub fn from_u32(v: u32) -> Option<Self> {
        match v {
            0 => Some(Self::Family),
            1 => Some(Self::SubjectAndClient),
            _ => None,
        }
    }
}

/// The reuse window's default: long enough for a client to time out on a lost response and
/// retry (a 30-second HTTP timeout and a retry), short enough that a token leaked later is a
/// replay. See `ServiceOptions::reuse_window_seconds`.
pub const DEFAULT_REUSE_WINDOW_SECONDS: u32 = 60;

/// Options of the service as a whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServiceOptions {
    /// `DeleteOneTimeOnlyRefreshTokensOnUse`: a used OneTimeOnly token is deleted (true, the
    /// Duende 6.3+ default) or kept with its ConsumedTime set (false; needed for grace windows
    /// and replay detection, since a deleted token can only be "not found").
    pub delete_one_time_only_refresh_tokens_on_use: bool,
    /// `DataProtectData`: protect the payload when a protector is configured. Default true; with
    /// no protector the payload is written in the clear, as the reference does.
    pub data_protect_data: bool,
    /// `InputLengthRestrictions.RefreshToken`: longer handles are refused before any lookup.
    /// Default 100.
    pub max_handle_length: usize,
    pub cleanup: CleanupOptions,
    /// Seconds after a one-time token was rotated during which presenting it again (a retry
    /// after a lost response, a timeout or an unknown outcome) returns its existing successor
    /// instead of refusing it. Never a sibling: a chain keeps exactly one live token. 0 is the
    /// reference's behaviour (a used token is refused at once). A client may override it.
    /// Default [`DEFAULT_REUSE_WINDOW_SECONDS`]. (A request that lost a race with a parallel one
    /// gets the winner's successor whatever the window.)
    pub reuse_window_seconds: u32,
    /// What `AcceptConsumedPolicy::RevokeOnReplay` removes. Default the family.
    pub replay_scope: ReplayScope,
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self {
            delete_one_time_only_refresh_tokens_on_use: true,
            data_protect_data: true,
            max_handle_length: 100,
            cleanup: CleanupOptions::default(),
            reuse_window_seconds: DEFAULT_REUSE_WINDOW_SECONDS,
            replay_scope: ReplayScope::Family,
        }
    }
}
