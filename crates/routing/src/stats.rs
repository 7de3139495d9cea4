//! Operation counters for a routing store handle: cheap atomics bumped on every
//! call, read as a plain snapshot by `tandem status` and the metrics endpoint.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counters of one store handle (in-process store, TCP client or etcd client).
#[derive(Debug, Default)]
pub struct Stats {
    pub gets: AtomicU64,
    pub cas_applied: AtomicU64,
    pub cas_conflicts: AtomicU64,
    /// Watches opened (each reconnect of a watch counts).
    pub watches: AtomicU64,
    /// Topologies delivered to watchers.
    pub watch_events: AtomicU64,
    pub campaigns: AtomicU64,
    /// Campaigns that returned a lease (new or renewed).
    pub campaigns_won: AtomicU64,
    pub resigns: AtomicU64,
    pub reports: AtomicU64,
    pub observation_reads: AtomicU64,
    /// Operations that failed (store unreachable, bad reply, I/O error).
    pub errors: AtomicU64,
    /// Connections (re)established to a remote store.
    pub connects: AtomicU64,
}

/// A point-in-time copy of [`Stats`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct StatsSnapshot {
    pub gets: u64,
    pub cas_applied: u64,
    pub cas_conflicts: u64,
    pub watches: u64,
    pub watch_events: u64,
    pub campaigns: u64,
    pub campaigns_won: u64,
    pub resigns: u64,
    pub reports: u64,
    pub observation_reads: u64,
    pub errors: u64,
    pub connects: u64,
}

impl Stats {
    pub(crate) fn bump(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    pub fn snapshot(&self) -> StatsSnapshot {
        let r = |c: &AtomicU64| c.load(Ordering::Relaxed);
        StatsSnapshot {
            gets: r(&self.gets),
            cas_applied: r(&self.cas_applied),
            cas_conflicts: r(&self.cas_conflicts),
            watches: r(&self.watches),
            watch_events: r(&self.watch_events),
            campaigns: r(&self.campaigns),
            campaigns_won: r(&self.campaigns_won),
            resigns: r(&self.resigns),
            reports: r(&self.reports),
            observation_reads: r(&self.observation_reads),
            errors: r(&self.errors),
            connects: r(&self.connects),
        }
    }

    /// Counts a finished operation's error, passing the result through.
    pub(crate) fn track<T, E>(&self, r: Result<T, E>) -> Result<T, E> {
        if r.is_err() {
            Stats::bump(&self.errors);
        }
        r
    }
}
