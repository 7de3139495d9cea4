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
    /// Bytes read from clients and handed to their sockets.
    pub total_net_input_bytes: AtomicU64,
    pub total_net_output_bytes: AtomicU64,
    /// Rates over the last 1.6 s, kept by [`sample`]: commands per second,
    /// and bytes per second in and out.
    pub instantaneous_ops: AtomicU64,
    pub instantaneous_input: AtomicU64,
    pub instantaneous_output: AtomicU64,
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

/// Keeps the `instantaneous_*` rates as Redis does: a sample every 100 ms, the
/// rate over the last 16 intervals. Runs on one shard for the whole process.
pub async fn sample(m: std::sync::Arc<Metrics>) {
    use std::collections::VecDeque;
    use std::time::{Duration, Instant};
    let mut tick = tokio::time::interval(Duration::from_millis(100));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut ring: VecDeque<(Instant, [u64; 3])> = VecDeque::with_capacity(17);
    loop {
        tick.tick().await;
        let now = [
            Metrics::get(&m.total_commands_processed),
            Metrics::get(&m.total_net_input_bytes),
            Metrics::get(&m.total_net_output_bytes),
        ];
        ring.push_back((Instant::now(), now));
        if ring.len() > 17 {
            ring.pop_front();
        }
        let (Some((t0, first)), Some((t1, last))) = (ring.front(), ring.back()) else {
            continue;
        };
        let secs = t1.duration_since(*t0).as_secs_f64();
        if secs <= 0.0 {
            continue;
        }
        let rate = |i: usize| ((last[i] - first[i]) as f64 / secs) as u64;
        m.instantaneous_ops.store(rate(0), Relaxed);
        m.instantaneous_input.store(rate(1), Relaxed);
        m.instantaneous_output.store(rate(2), Relaxed);
    }
}
