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
}

impl Default for ServiceOptions {
    fn default() -> Self {
        Self {
            delete_one_time_only_refresh_tokens_on_use: true,
            data_protect_data: true,
            max_handle_length: 100,
            cleanup: CleanupOptions::default(),
        }
    }
}
