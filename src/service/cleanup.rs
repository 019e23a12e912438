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

/// The most batches of each kind one pass runs. A host store that keeps answering "a full
/// batch" without removing anything would otherwise keep one call spinning for ever; what is
/// left when the bound is reached is the next pass's (10,000 batches of the default 100 rows is
/// a million rows per pass).
pub const MAX_BATCHES_PER_PASS: u32 = 10_000;

impl RefreshTokenService {
    /// Runs one cleanup pass. A batch is repeated while it comes back full, at most
    /// [`MAX_BATCHES_PER_PASS`] times per kind. Rows with no Expiration are never removed as
    /// expired. A storage failure stops the pass with a retryable error; what earlier batches
    /// removed stays removed (every removed row was due).
    pub fn cleanup(&self) -> Result<CleanupReport, ServiceError> {
        super::drive::block_on(self.cleanup_async())
    }

    /// [`Self::cleanup`], waiting for an asynchronous store without holding a thread.
    pub async fn cleanup_async(&self) -> Result<CleanupReport, ServiceError> {
        let now = self.now();
        let batch = self.options.cleanup.batch_size.max(1) as usize;
        let expired_removed = batches(batch, |n| self.store.remove_expired(now, n)).await?;
        let consumed_removed = if self.options.cleanup.remove_consumed_tokens {
            let before = now
                - chrono::Duration::seconds(i64::from(
                    self.options.cleanup.consumed_token_cleanup_delay,
                ));
            batches(batch, |n| self.store.remove_consumed(before, n)).await?
        } else {
            0
        };
        let report = CleanupReport {
            expired_removed,
            consumed_removed,
        };
        self.emit(Event::Cleanup {
            expired_removed: report.expired_removed,
            consumed_removed: report.consumed_removed,
        });
        Ok(report)
    }
}

/// Runs `remove` in batches while they come back full, at most [`MAX_BATCHES_PER_PASS`] times;
/// the total removed.
async fn batches<F>(batch: usize, mut remove: impl FnMut(usize) -> F) -> Result<u64, ServiceError>
where
    F: std::future::Future<Output = Result<u64, crate::store::StoreError>>,
{
    let mut total = 0u64;
    for _ in 0..MAX_BATCHES_PER_PASS {
        let n = remove(batch).await?;
        total = total.saturating_add(n);
        if n < batch as u64 {
            break;
        }
    }
    Ok(total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    #[test]
    fn a_store_that_always_reports_a_full_batch_cannot_keep_a_pass_spinning() {
        let calls = AtomicU64::new(0);
        let removed = crate::service::drive::block_on(batches(100, |n| {
            calls.fetch_add(1, Ordering::Relaxed);
            std::future::ready(Ok(n as u64)) // "removed a full batch", for ever
        }))
        .unwrap();
        assert_eq!(
            calls.load(Ordering::Relaxed),
            u64::from(MAX_BATCHES_PER_PASS)
        );
        assert_eq!(removed, u64::from(MAX_BATCHES_PER_PASS) * 100);
        // An honest store stops at its first partial batch.
        let mut left = 250u64;
        let removed = crate::service::drive::block_on(batches(100, |n| {
            let k = left.min(n as u64);
            left -= k;
            std::future::ready(Ok(k))
        }))
        .unwrap();
        assert_eq!((removed, left), (250, 0));
    }
}
