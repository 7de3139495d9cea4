//! Loading at start, as Redis 7.0 does it: the node listens while it loads its
//! snapshot or AOF. Commands without the `loading` flag get
//! `-LOADING Redis is loading the dataset in memory`; INFO, CONFIG, CLIENT,
//! SELECT, HELLO, AUTH, SHUTDOWN and the other flagged ones are served meanwhile,
//! and INFO persistence shows `loading:1` with the progress fields.
//!
//! The loader holds the state lock and hands it to waiting connections every
//! `loading-process-events-interval-bytes` of input (Redis's
//! `processEventsWhileBlocked` interval, 2 MiB by default), so a client waits
//! at most one interval's load for its reply. Keys land in the live keyspace as
//! they are read (INFO keyspace grows, as in Redis). A SIGTERM or SHUTDOWN
//! during the load stops it; nothing is saved over the files being loaded.

use parking_lot::MutexGuard;
use tandem_store::Store;

use crate::persist::snapshot::LoadTarget;
use crate::state::{Shared, State};

/// The loading window's figures for INFO persistence.
#[derive(Clone, Debug, Default)]
pub struct Progress {
    /// Unix seconds the load began.
    pub start_time: i64,
    /// Bytes of every file to load (an AOF's base and increments together).
    pub total_bytes: u64,
    /// The snapshot's `used-mem` AUX field, once read.
    pub rdb_used_mem: u64,
    pub loaded_bytes: u64,
}

impl Progress {
    pub fn starting() -> Self {
        Progress {
            start_time: crate::dispatch::now_ms() / 1000,
            ..Default::default()
        }
    }
}

/// Redis's reply to a command refused while loading.
pub const LOADING_ERR: &str = "LOADING Redis is loading the dataset in memory";

/// INFO persistence's `loading_*` fields (after the AOF ones, as Redis).
pub fn info(p: &Progress, w: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    let loaded = p.loaded_bytes;
    let (perc, remaining) = if p.total_bytes > 0 {
        (
            loaded as f64 / p.total_bytes as f64 * 100.0,
            p.total_bytes.saturating_sub(loaded),
        )
    } else if p.rdb_used_mem > 0 {
        // Used memory is only an estimate of the size: never past 99.99 %.
        let perc = (loaded as f64 / p.rdb_used_mem as f64 * 100.0).min(99.99);
        (perc, p.rdb_used_mem.saturating_sub(loaded).max(1))
    } else {
        (0.0, 1)
    };
    let elapsed = (crate::dispatch::now_ms() / 1000 - p.start_time).max(0) as u64;
    let eta = if elapsed == 0 {
        1
    } else {
        elapsed.saturating_mul(remaining) / (loaded + 1)
    };
    w("loading_start_time", &p.start_time);
    w("loading_total_bytes", &p.total_bytes);
    w("loading_rdb_used_mem", &p.rdb_used_mem);
    w("loading_loaded_bytes", &loaded);
    w("loading_loaded_perc", &format!("{perc:.2}"));
    w("loading_eta_seconds", &eta);
}

/// The load at start: writes into the node's keyspace under its lock and yields
/// the lock as it goes.
pub struct Boot<'a, 'g> {
    guard: &'a mut MutexGuard<'g, State>,
    shared: &'a Shared,
    /// Bytes of the files before the one being read.
    base: u64,
    next_yield: u64,
    interval: u64,
    /// `key-load-delay`: microseconds to wait after each key (negative: wait
    /// 1 µs once per that many keys on average, as Redis's debugDelay).
    key_delay: i64,
    keys: u64,
}

impl<'a, 'g> Boot<'a, 'g> {
    pub fn new(guard: &'a mut MutexGuard<'g, State>, shared: &'a Shared) -> Self {
        let interval = guard
            .config
            .int("loading-process-events-interval-bytes")
            .max(1024) as u64;
        let key_delay = guard.config.int("key-load-delay");
        Boot {
            guard,
            shared,
            base: 0,
            next_yield: interval,
            interval,
            key_delay,
            keys: 0,
        }
    }

    pub fn state(&mut self) -> &mut State {
        self.guard
    }

    /// The next file starts `bytes` into the whole load.
    pub fn set_base(&mut self, bytes: u64) {
        self.base = bytes;
        self.next_yield = self.interval;
    }

    /// Progress to `offset` in the current file: records it, and every
    /// interval hands the lock to whoever waits for it. An error when the node
    /// is stopping.
    pub fn progress(&mut self, offset: u64) -> Result<(), String> {
        if offset < self.next_yield {
            return Ok(());
        }
        self.next_yield = offset + self.interval;
        if let Some(p) = self.guard.loading.as_mut() {
            p.loaded_bytes = self.base + offset;
        }
        MutexGuard::bump(self.guard);
        self.check_stop()
    }

    fn check_stop(&self) -> Result<(), String> {
        if self.shared.shutdown.is_cancelled() {
            return Err(STOPPED.into());
        }
        Ok(())
    }
}

/// `key-load-delay` after the `keys`-th key: how long to wait, if at all
/// (positive: that many microseconds after every key; negative: 1 µs once
/// per that many keys, as Redis's debugDelay on average).
fn key_pause(delay: i64, keys: u64) -> Option<std::time::Duration> {
    match delay {
        0 => None,
        d if d > 0 => Some(std::time::Duration::from_micros(d as u64)),
        d => keys
            .is_multiple_of(d.unsigned_abs())
            .then(|| std::time::Duration::from_micros(1)),
    }
}

/// The reason a load ended early because the node is stopping.
pub const STOPPED: &str = "the node is stopping";

impl LoadTarget for Boot<'_, '_> {
    fn store(&mut self) -> &mut Store {
        &mut self.guard.store
    }

    fn after_key(&mut self, offset: u64) -> Result<(), String> {
        self.keys += 1;
        if let Some(t) = key_pause(self.key_delay, self.keys) {
            if self.key_delay > 0 {
                // Waited without the lock: clients are served meanwhile.
                MutexGuard::unlocked(self.guard, || std::thread::sleep(t));
                self.check_stop()?;
            } else {
                std::thread::sleep(t);
            }
        }
        self.progress(offset)
    }

    fn used_mem(&mut self, bytes: u64) {
        if let Some(p) = self.guard.loading.as_mut() {
            p.rdb_used_mem = bytes;
        }
    }
}

/// A replica's full-sync load: into a fresh keyspace, without the node's lock
/// (clients keep the old data meanwhile, as Redis's `async_loading`). The
/// progress shows in INFO (`async_loading:1` and the `loading_*` fields), and
/// the load stops early if the link is cancelled (REPLICAOF NO ONE during it
/// keeps the old data) or the node stops.
pub struct Background<'a> {
    store: &'a mut Store,
    shared: &'a Shared,
    cancel: &'a tokio_util::sync::CancellationToken,
    next_report: u64,
    interval: u64,
    key_delay: i64,
    keys: u64,
}

/// The node shows `async_loading` while this lives: created when a replica's
/// load begins, dropped when it ends however it ends (loaded and swapped in,
/// failed, or abandoned with its link).
pub struct AsyncLoading(std::sync::Arc<Shared>);

impl AsyncLoading {
    pub fn start(shared: &std::sync::Arc<Shared>, total: u64) -> Self {
        shared.state.lock().async_loading = Some(Progress {
            total_bytes: total,
            ..Progress::starting()
        });
        AsyncLoading(shared.clone())
    }
}

impl Drop for AsyncLoading {
    fn drop(&mut self) {
        self.0.state.lock().async_loading = None;
    }
}

impl<'a> Background<'a> {
    /// A load into `store`, reporting to the node (see [`AsyncLoading`]).
    pub fn new(
        store: &'a mut Store,
        shared: &'a Shared,
        cancel: &'a tokio_util::sync::CancellationToken,
    ) -> Self {
        let st = shared.state.lock();
        let interval = st
            .config
            .int("loading-process-events-interval-bytes")
            .max(1024) as u64;
        let key_delay = st.config.int("key-load-delay");
        drop(st);
        Background {
            store,
            shared,
            cancel,
            next_report: interval,
            interval,
            key_delay,
            keys: 0,
        }
    }
}

impl LoadTarget for Background<'_> {
    fn store(&mut self) -> &mut Store {
        self.store
    }

    fn after_key(&mut self, offset: u64) -> Result<(), String> {
        self.keys += 1;
        if let Some(t) = key_pause(self.key_delay, self.keys) {
            std::thread::sleep(t);
        }
        if offset < self.next_report && self.key_delay <= 0 {
            return Ok(());
        }
        self.next_report = offset + self.interval;
        if self.cancel.is_cancelled() {
            return Err("the replication link was closed".into());
        }
        if self.shared.shutdown.is_cancelled() {
            return Err(STOPPED.into());
        }
        if let Some(p) = self.shared.state.lock().async_loading.as_mut() {
            p.loaded_bytes = offset;
        }
        Ok(())
    }

    fn used_mem(&mut self, bytes: u64) {
        if let Some(p) = self.shared.state.lock().async_loading.as_mut() {
            p.rdb_used_mem = bytes;
        }
    }
}
