//! The reply gate: a reply to a batch that wrote is sent only once the batch's
//! writes are as durable as the configuration promises.
//!
//! ```text
//!   run_batch (under the lock) ── stream offset before/after ──> end offset E
//!   connection task (lock released) ── gate::wait(E) ──> write the replies
//!        waits for: AOF fsynced ≥ E        (appendfsync always)
//!                   replicas acked ≥ E     (replication-mode sync)
//! ```
//!
//! Waiting happens outside the keyspace lock, so other clients keep running and
//! the fsyncs and acknowledgements of many batches are shared (group commit).
//! Each half has one owner: the AOF writer advances `aof_fsynced`, the replication
//! code advances `repl_acked` and decides what a sync-mode timeout means.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use tokio::sync::{watch, Notify};

/// The durability conditions a reply may have to wait for.
pub struct Gates {
    /// True while `appendonly yes` with `appendfsync always`.
    pub aof_always: AtomicBool,
    /// Highest write-stream offset the AOF has written and fsynced.
    pub aof_fsynced: watch::Sender<u64>,
    /// True while `replication-mode sync` is in force (not degraded).
    pub sync_mode: AtomicBool,
    /// Highest write-stream offset acknowledged by at least `min-sync-replicas`.
    pub repl_acked: watch::Sender<u64>,
    /// `sync-timeout` in ms (0 = wait forever).
    pub sync_timeout_ms: AtomicU64,
    /// `sync-fallback refuse` (else degrade).
    pub sync_refuse: AtomicBool,
    /// Set when a sync-mode wait timed out; the replication task logs it, keeps
    /// the INFO fields and re-arms once enough replicas have caught up.
    pub sync_timed_out: AtomicBool,
    /// Woken when a batch starts waiting for acknowledgements: the replication
    /// task sends one `REPLCONF GETACK *` for every batch waiting by then.
    pub getack: Notify,
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            aof_always: AtomicBool::new(false),
            aof_fsynced: watch::channel(0).0,
            sync_mode: AtomicBool::new(false),
            repl_acked: watch::channel(0).0,
            sync_timeout_ms: AtomicU64::new(0),
            sync_refuse: AtomicBool::new(false),
            sync_timed_out: AtomicBool::new(false),
            getack: Notify::new(),
        }
    }
}

/// Why a gated reply could not be released as success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum GateError {
    /// The condition can no longer be met (e.g. sync replication refused); the
    /// text is the Redis-style error line (without the leading '-') to send instead.
    Refused(String),
}

impl Gates {
    /// True if a batch ending at `end` may need to wait at all (cheap check for
    /// the hot path).
    pub fn active(&self) -> bool {
        self.aof_always.load(Ordering::Relaxed) || self.sync_mode.load(Ordering::Relaxed)
    }

    /// Waits until every active condition covers offset `end`.
    /// `may_degrade` is asked when sync replicas time out under `sync-fallback
    /// degrade`: None lets the batch go on as async, Some(error) refuses it.
    pub async fn wait(
        &self,
        end: u64,
        may_degrade: impl FnOnce() -> Option<String>,
    ) -> Result<(), GateError> {
        if self.aof_always.load(Ordering::Acquire) {
            let mut rx = self.aof_fsynced.subscribe();
            // The sender lives as long as `self`, so the wait ends only on success.
            let _ = rx.wait_for(|&o| o >= end).await;
        }
        if self.sync_mode.load(Ordering::Acquire) {
            let mut rx = self.repl_acked.subscribe();
            if *rx.borrow() >= end {
                return Ok(());
            }
            self.getack.notify_one();
            let timeout = self.sync_timeout_ms.load(Ordering::Relaxed);
            let acked = rx.wait_for(|&o| o >= end);
            let ok = if timeout == 0 {
                acked.await.is_ok()
            } else {
                tokio::time::timeout(Duration::from_millis(timeout), acked)
                    .await
                    .is_ok_and(|r| r.is_ok())
            };
            if !ok {
                self.sync_timed_out.store(true, Ordering::Release);
                self.getack.notify_one();
                if self.sync_refuse.load(Ordering::Acquire) {
                    return Err(GateError::Refused(crate::repl::NOREPLICAS_SYNC.to_string()));
                }
                if let Some(e) = may_degrade() {
                    return Err(GateError::Refused(e));
                }
                // Degrade: this batch and the ones after it go on as async.
                self.sync_mode.store(false, Ordering::Release);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn waits_for_the_aof_then_releases() {
        let g = std::sync::Arc::new(Gates::default());
        assert!(!g.active());
        g.aof_always.store(true, Ordering::Release);
        let g2 = g.clone();
        let waiter = tokio::spawn(async move { g2.wait(10, || None).await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        g.aof_fsynced.send_replace(9);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        g.aof_fsynced.send_replace(10);
        assert_eq!(waiter.await.ok(), Some(Ok(())));
    }
}
