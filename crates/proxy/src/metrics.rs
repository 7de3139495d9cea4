//! The proxy's counters and gauges, all in one struct of atomics so INFO (and a
//! future `/metrics` endpoint) read them without locks.

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};

/// Counters (monotonic) and gauges (current values).
#[derive(Debug, Default)]
pub struct Metrics {
    // clients
    pub connected_clients: AtomicI64,
    pub total_connections_received: AtomicU64,
    pub rejected_connections: AtomicU64,
    /// Clients holding a dedicated backend connection right now.
    pub pinned_clients: AtomicI64,
    /// Blocking commands (BLPOP...) waiting at a node for the proxy's clients.
    pub blocked_clients: AtomicI64,
    pub protocol_errors: AtomicU64,
    pub output_buffer_disconnects: AtomicU64,
    pub idle_disconnects: AtomicU64,
    // commands
    pub total_commands_processed: AtomicU64,
    pub commands_forwarded: AtomicU64,
    pub commands_local: AtomicU64,
    pub commands_refused: AtomicU64,
    // backends
    pub backend_connects: AtomicU64,
    pub backend_connect_errors: AtomicU64,
    pub backend_link_errors: AtomicU64,
    pub backend_timeouts: AtomicU64,
    // failover
    pub topology_epoch: AtomicU64,
    pub topology_updates: AtomicU64,
    pub topologies_ignored: AtomicU64,
    pub failovers_seen: AtomicU64,
    /// Requests waiting because no master (or no route) is available right now.
    pub held_requests: AtomicI64,
    pub held_bytes: AtomicI64,
    pub held_total: AtomicU64,
    pub replayed_total: AtomicU64,
    /// Requests the master refused unexecuted (`-READONLY`...) and held for a replay.
    pub refused_held_total: AtomicU64,
    pub outcome_unknown_total: AtomicU64,
    /// Unanswered requests of a failed link that the next master proved were
    /// never applied (replayed as unsent; see `verify`).
    pub settled_unapplied_total: AtomicU64,
    pub hold_timeouts_total: AtomicU64,
    pub hold_overflow_total: AtomicU64,
}

impl Metrics {
    pub fn inc(c: &AtomicU64) {
        c.fetch_add(1, Relaxed);
    }
    pub fn add(c: &AtomicU64, n: u64) {
        c.fetch_add(n, Relaxed);
    }
    pub fn gauge(g: &AtomicI64, delta: i64) {
        g.fetch_add(delta, Relaxed);
    }
    pub fn get(c: &AtomicU64) -> u64 {
        c.load(Relaxed)
    }
    pub fn get_gauge(g: &AtomicI64) -> i64 {
        g.load(Relaxed)
    }
}
