//! The cron: `hz` times a second, under the lock: memory figures, incremental
//! rehash, client idle timeouts, pause expiry, ops/sec samples, active expiry.

use std::sync::Arc;
use std::time::Duration;

use crate::dispatch::now_ms;
use crate::state::{Shared, State};

pub async fn run(shared: Arc<Shared>) {
    loop {
        let hz = shared.state.lock().eff.hz;
        tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            _ = tokio::time::sleep(Duration::from_millis(1000 / hz.max(1))) => {}
        }
        let used = allocated_bytes();
        let mut st = shared.state.lock();
        let now = now_ms();
        tick(&mut st, now, used);
        // Keys the expiry cycle deleted release the clients blocked on them
        // (XREADGROUP gets its UNBLOCKED error), as Redis's
        // signalDeletedKeyAsReady.
        if !st.store.ready.is_empty() {
            crate::blocking::serve_ready(&mut st, &shared, now);
        }
        // Keys the expiry cycle deleted, to subscribers of keyspace events.
        crate::cmd_pubsub::flush_notifications(&mut st);
    }
}

/// jemalloc's allocated bytes (after an epoch advance), as Redis's used_memory.
pub fn allocated_bytes() -> Option<u64> {
    tikv_jemalloc_ctl::epoch::advance().ok()?;
    tikv_jemalloc_ctl::stats::allocated::read()
        .ok()
        .map(|n| n as u64)
}

/// Resident set size from /proc/self/statm.
pub fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map(|pages| pages * 4096)
        .unwrap_or(0)
}

fn tick(st: &mut State, now: i64, used: Option<u64>) {
    if let Some(u) = used {
        st.store.used_memory = u;
        st.stats.used_memory_peak = st.stats.used_memory_peak.max(u);
    }
    active_expire(st, now);
    if st.store.tracking_on {
        // Keys expired (or tracked past the limit) tell client-side caches.
        crate::tracking::process_modified(st, 0);
        crate::tracking::broadcast(st, 0, None);
    }
    crate::persist::cron(st, now);
    // Incremental rehash: a few buckets per database per tick, as Redis's
    // databasesCron does with activerehashing.
    st.store.rehash_cron(Duration::from_millis(1));
    if matches!(st.pause, Some((until, _)) if until <= now) {
        st.pause = None;
    }
    let sample = st.stats.sample(now);
    st.stats.ops_samples.push_back(sample);
    while st.stats.ops_samples.len() > 16 {
        st.stats.ops_samples.pop_front();
    }
    let timeout = st.eff.timeout_secs;
    if timeout > 0 {
        for c in st.clients.values() {
            // Like Redis: subscribers and blocked clients are not timed out.
            if !c.subscribed() && !c.blocked && c.last_interaction.elapsed().as_secs() >= timeout {
                tracing::debug!("Closing idle client id={}", c.id);
                c.kill.cancel();
            }
        }
    }
}

/// Active expiry: reclaims expired keys nobody reads. Redis spends up to 25 % of
/// each tick here (25 ms at hz 10); Tandem caps a tick at 5 ms so that a burst of
/// expiring keys never stalls clients long enough to look like a dead master, and
/// makes up for it by resuming where it stopped on the next tick. The DELs it
/// produces go to the write stream in the same critical section.
fn active_expire(st: &mut State, now: i64) {
    let budget = Duration::from_millis((250 / st.eff.hz.max(1)).clamp(1, 5));
    let start = std::time::Instant::now();
    if st.store.active_expire_cycle(now, budget) > 0 {
        crate::stream::drain(st);
    }
    let us = start.elapsed().as_micros() as u64;
    st.stats.expire_cycle_us += us;
    crate::latency::monitor(st, "expire-cycle", us / 1000);
}
