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

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::watch;

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
}

impl Default for Gates {
    fn default() -> Self {
        Gates {
            aof_always: AtomicBool::new(false),
            aof_fsynced: watch::channel(0).0,
            sync_mode: AtomicBool::new(false),
            repl_acked: watch::channel(0).0,
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
    pub async fn wait(&self, end: u64) -> Result<(), GateError> {
        if self.aof_always.load(Ordering::Acquire) {
            let mut rx = self.aof_fsynced.subscribe();
            // The sender lives as long as `self`, so the wait ends only on success.
            let _ = rx.wait_for(|&o| o >= end).await;
        }
        if self.sync_mode.load(Ordering::Acquire) {
            let mut rx = self.repl_acked.subscribe();
            let _ = rx.wait_for(|&o| o >= end).await;
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
        let waiter = tokio::spawn(async move { g2.wait(10).await });
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        g.aof_fsynced.send_replace(9);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        g.aof_fsynced.send_replace(10);
        assert_eq!(waiter.await.ok(), Some(Ok(())));
    }
}
