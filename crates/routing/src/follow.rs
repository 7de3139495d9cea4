//! Keeps a [`TopologyFeed`] current from a routing store, surviving outages.
//!
//! ```text
//!   loop: store.watch() ──topologies──> feed (only strictly newer epochs)
//!           │ fails / ends
//!           └─ sleep(backoff: min → ×2 → max), watch again; the feed keeps the
//!              last topology meanwhile (DESIGN.md: proxies keep serving)
//! ```
//!
//! Only a topology with a higher epoch than the one held replaces it, so a
//! reconnect that replays the current topology, or a lagging backend, can never
//! move a reader back in time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::{RoutingStore, Topology, TopologyFeed};

/// Reconnect pacing of [`follow_with`].
#[derive(Debug, Clone, Copy)]
pub struct FollowOptions {
    /// First retry delay after a watch fails or ends.
    pub min_backoff: Duration,
    /// Longest delay between retries while the store stays unreachable; bounds
    /// how long after the store comes back the feed catches up.
    pub max_backoff: Duration,
}

impl Default for FollowOptions {
    fn default() -> Self {
        FollowOptions {
            min_backoff: Duration::from_millis(50),
            max_backoff: Duration::from_secs(1),
        }
    }
}

/// The follower task. It also ends by itself once every feed receiver is dropped.
#[derive(Debug)]
pub struct FollowHandle {
    stop: watch::Sender<bool>,
    task: JoinHandle<()>,
}

impl FollowHandle {
    /// Stops following (the feed keeps its last value) and waits for the task.
    pub async fn stop(self) {
        self.stop.send_replace(true);
        if let Err(e) = self.task.await {
            tracing::warn!("routing follower task: {e}");
        }
    }
}

/// Follows `store` with the default pacing, starting from an empty feed.
pub fn follow(store: Arc<dyn RoutingStore>) -> (TopologyFeed, FollowHandle) {
    follow_with(store, None, FollowOptions::default())
}

/// Follows `store`, starting the feed at `initial` (e.g. a topology from the
/// command line, kept until the store publishes a newer epoch).
pub fn follow_with(
    store: Arc<dyn RoutingStore>,
    initial: Option<Topology>,
    opts: FollowOptions,
) -> (TopologyFeed, FollowHandle) {
    let (tx, rx) = watch::channel(initial.map(Arc::new));
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(run(store, tx, stop_rx, opts));
    (rx, FollowHandle { stop, task })
}

/// Publishes `t` if it is newer than what the feed holds.
fn offer(tx: &watch::Sender<Option<Arc<Topology>>>, t: Topology) {
    tx.send_if_modified(|cur| {
        let newer = cur.as_ref().is_none_or(|c| t.epoch > c.epoch);
        if newer {
            tracing::info!(epoch = t.epoch, "routing topology updated");
            *cur = Some(Arc::new(t));
        } else if cur.as_ref().is_some_and(|c| t.epoch == c.epoch && **c != t) {
            tracing::warn!(
                epoch = t.epoch,
                "routing store sent a different topology for the same epoch; kept the first"
            );
        }
        newer
    });
}

async fn run(
    store: Arc<dyn RoutingStore>,
    tx: watch::Sender<Option<Arc<Topology>>>,
    mut stop: watch::Receiver<bool>,
    opts: FollowOptions,
) {
    let mut backoff = opts.min_backoff;
    loop {
        let watched = tokio::select! {
            w = store.watch() => w,
            _ = stop.changed() => return,
            _ = tx.closed() => return,
        };
        match watched {
            Ok(mut stream) => {
                backoff = opts.min_backoff;
                loop {
                    tokio::select! {
                        t = stream.recv() => match t {
                            Some(t) => offer(&tx, t),
                            None => break,
                        },
                        _ = stop.changed() => return,
                        _ = tx.closed() => return,
                    }
                }
                tracing::warn!("routing watch ended; keeping the last topology and reconnecting");
            }
            Err(e) => {
                tracing::warn!(retry_in = ?backoff, "routing store unreachable, keeping the last topology: {e}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = stop.changed() => return,
            _ = tx.closed() => return,
        }
        backoff = (backoff * 2).min(opts.max_backoff);
    }
}
