//! One pass of token cleanup: expired grants of every type, then (when asked) consumed grants
//! older than the delay, each in batches.

use super::{Event, RefreshTokenService, ServiceError};

/// What a cleanup pass removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CleanupReport {
    pub expired_removed: u64,
    pub consumed_removed: u64,
}

impl CleanupReport {
    pub fn total(&self) -> u64 {
        self.expired_removed + self.consumed_removed
    }
}

impl RefreshTokenService {
    /// Runs one cleanup pass. A batch is repeated while it comes back full. Rows with no
    /// Expiration are never removed as expired. A storage failure stops the pass with a
    /// retryable error; what earlier batches removed stays removed (every removed row was due).
    pub fn cleanup(&self) -> Result<CleanupReport, ServiceError> {
        let now = self.now();
        let batch = self.options.cleanup.batch_size.max(1) as usize;
        let mut report = CleanupReport::default();
        loop {
            let n = self.store.remove_expired(now, batch)?;
            report.expired_removed += n;
            if n < batch as u64 {
                break;
            }
        }
        if self.options.cleanup.remove_consumed_tokens {
            let before = now
                - chrono::Duration::seconds(i64::from(
                    self.options.cleanup.consumed_token_cleanup_delay,
                ));
            loop {
                let n = self.store.remove_consumed(before, batch)?;
                report.consumed_removed += n;
                if n < batch as u64 {
                    break;
                }
            }
        }
        self.emit(Event::Cleanup {
            expired_removed: report.expired_removed,
            consumed_removed: report.consumed_removed,
        });
        Ok(report)
    }
}
