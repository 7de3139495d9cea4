//! Persistence: RDB snapshots (SAVE, BGSAVE, `save` rules, load at start, SHUTDOWN
//! saving), DUMP/RESTORE, the multi-part append-only file ([`aof`]), background
//! children, and the `rdb_*` / `aof_*` INFO fields.
//!
//! # API note (for replication and the AOF)
//!
//! * [`write_rdb`]`(store, aux, w)` streams the whole keyspace as RDB v10 (all dbs,
//!   every type, TTLs as EXPIRETIME_MS, keys already past their TTL included) with
//!   Redis 7.0's AUX fields; [`write_rdb_opts`] also takes `rdbcompression`.
//!   [`SnapshotAux`] carries `repl-id`, `repl-offset`, `repl-stream-db` (`Some` =
//!   Redis's `rsi`: all three written) and `aof-base`. [`aux`] builds the
//!   one the server uses for its own snapshots.
//! * [`load_rdb`]`(r, store, LoadMode::{Master, Replica})` adds a snapshot's keys to
//!   the store: **flush first** if it must replace the keyspace. Master mode drops
//!   keys whose TTL has passed, replica mode keeps them. [`LoadStats`] reports keys
//!   loaded / expired / empty skipped and the AUX `repl-id`/`repl-offset`/
//!   `repl-stream-db` found (for PSYNC after a restart). [`LoadError`] carries the
//!   byte offset. Encodings follow the store's limits (OBJECT ENCODING as Redis).
//! * [`fork_snapshot`]`(st, aux, target)` forks while the caller holds the `State`
//!   lock. `SnapshotTarget::File(final)` writes `temp-<childpid>.rdb` beside `final`,
//!   fsyncs, renames, fsyncs the folder. `SnapshotTarget::Pipe` writes **the bare RDB
//!   bytes, no `$len` framing**, to a pipe whose read end is `BgChild::pipe`; the
//!   reader adds whatever framing the link needs (`$<len>` or `$EOF:<mark>`).
//! * **Who reaps**: register every child with [`Persist::register`] (records
//!   `latest_fork_usec` and `total_forks`). The cron calls [`reap_children`], which
//!   `waitpid(pid, WNOHANG)`s registered pids only: an `Rdb` child finishes the
//!   BGSAVE bookkeeping (`rdb_*`, `dirty`, LASTSAVE); a `ReplSync` child is reaped
//!   without touching `rdb_*` and its `(pid, ok)` is pushed to
//!   [`Persist::repl_sync_exits`] for the replication code to take. An unregistered
//!   child is never waited for here.
//! * Redis's rule "one child at a time" holds: [`Persist::child_active`] says
//!   whether a child is running, [`Persist::rdb_child_active`] whether it is an RDB
//!   or replication one (BGSAVE answers "already in progress" then).
//! * The AOF ([`aof`]) is fed from `WriteStream::append` and writes once per client
//!   batch ([`batch_end`], called by the connection at the end of each batch under
//!   the lock). Writes appended to the stream outside a client batch (cron expiry,
//!   a replica applying its master's stream) reach the file within 100 ms; call
//!   [`batch_end`] after applying them to write them at once.
//! * The AOF hangs off `st.stream.aof`: code that replaces `st.stream` must carry
//!   that field over. A replica whose stream carries its master's bytes verbatim
//!   logs the commands it applied with [`aof_log_props`]. After a replica's full
//!   sync replaced the keyspace, call [`restart_aof`] (Redis restarts its AOF the
//!   same way: a fresh base by rewrite).
//! * [`Persist::repl_id`] is what [`aux`] records as `repl-id` (the run id until
//!   replication sets its own ID there); callers may build their own [`SnapshotAux`].
//!
//! Files: `dir`/`dbfilename` (the config stores `dir` absolute; the process never
//! chdirs, so several nodes can share a process in tests).

pub mod aof;
pub mod cow;
mod dump;
pub mod fork;
pub mod loading;
mod rdb_cmds;
pub mod snapshot;
mod stream_rdb;

use std::path::PathBuf;
use std::time::Instant;

pub use fork::{fork_snapshot, BgChild, ChildKind, SnapshotTarget};
pub use rdb_cmds::{after_flushall, debug_reload, load_at_start, on_exit, prepare_shutdown_flags};
pub use snapshot::{
    from_value, load_rdb, load_rdb_opts, write_rdb, write_rdb_opts, LoadError, LoadMode, LoadStats,
    SnapshotAux, WriteOptions,
};

use crate::state::State;

/// The persistence commands (SAVE, BGSAVE, DUMP, RESTORE), for dispatch.
pub fn commands() -> impl Iterator<Item = (&'static str, crate::dispatch::ServerHandler)> {
    rdb_cmds::COMMANDS
        .iter()
        .chain(dump::COMMANDS)
        .chain(aof::COMMANDS)
        .copied()
}

/// A registered child (what the reaper needs; the pipe stays with the caller).
#[derive(Debug, Clone)]
pub struct ChildInfo {
    pub pid: libc::pid_t,
    pub kind: ChildKind,
    pub started: Instant,
    /// Its copy-on-write figures (None if the page could not be mapped).
    pub cow: Option<std::sync::Arc<cow::ChildStats>>,
}

/// Persistence state behind the `State` lock.
pub struct Persist {
    pub children: Vec<ChildInfo>,
    /// Finished replication-sync children: (pid, exited 0).
    pub repl_sync_exits: Vec<(libc::pid_t, bool)>,
    pub latest_fork_usec: u64,
    pub total_forks: u64,
    /// The replication ID snapshots record until replication owns one.
    pub repl_id: String,
    /// `dirty` when the running BGSAVE forked (subtracted on success).
    pub dirty_before_bgsave: u64,
    pub bgsave_scheduled: bool,
    pub last_bgsave_ok: bool,
    /// Unix seconds of the last BGSAVE attempt (retry delay after a failure).
    pub last_bgsave_try: i64,
    pub last_bgsave_secs: i64,
    pub rdb_saves: u64,
    /// Copy-on-write bytes of the last snapshot (or replication) child and
    /// the last AOF rewrite child, at their end.
    pub rdb_last_cow: u64,
    pub aof_last_cow: u64,
    pub last_load_keys_loaded: u64,
    pub last_load_keys_expired: u64,
    /// SHUTDOWN already saved (or was told NOSAVE): the exit path must not save.
    pub shutdown_handled: bool,
    /// The running AOF (`appendonly yes`).
    pub aof: Option<aof::Aof>,
    pub aof_stats: aof::AofStats,
}

impl Default for Persist {
    fn default() -> Self {
        Persist {
            children: Vec::new(),
            repl_sync_exits: Vec::new(),
            latest_fork_usec: 0,
            total_forks: 0,
            repl_id: String::new(),
            dirty_before_bgsave: 0,
            bgsave_scheduled: false,
            last_bgsave_ok: true,
            last_bgsave_try: 0,
            last_bgsave_secs: -1,
            rdb_saves: 0,
            rdb_last_cow: 0,
            aof_last_cow: 0,
            last_load_keys_loaded: 0,
            last_load_keys_expired: 0,
            shutdown_handled: false,
            aof: None,
            aof_stats: Default::default(),
        }
    }
}

/// Registers a forked child (see [`Persist::register`]) and records the
/// fork's duration as a `fork` latency event.
pub fn register_child(st: &mut State, c: &BgChild) {
    st.persist.register(c);
    hold_aof_fsync(st);
    crate::latency::monitor(st, "fork", c.fork_usec / 1000);
}

impl Persist {
    /// Registers a forked child for the reaper and records the fork time.
    pub fn register(&mut self, c: &BgChild) {
        self.latest_fork_usec = c.fork_usec;
        self.total_forks += 1;
        self.children.push(ChildInfo {
            pid: c.pid,
            kind: c.kind,
            started: c.started,
            cow: c.cow.clone(),
        });
    }
    pub fn child_active(&self) -> bool {
        !self.children.is_empty()
    }
    pub fn rdb_child_active(&self) -> bool {
        self.children
            .iter()
            .any(|c| matches!(c.kind, ChildKind::Rdb | ChildKind::ReplSync))
    }
    fn bgsave_child(&self) -> Option<&ChildInfo> {
        self.children.iter().find(|c| c.kind == ChildKind::Rdb)
    }
}

/// The snapshot AUX fields for this node's own snapshots.
pub fn aux(st: &State) -> SnapshotAux {
    SnapshotAux {
        repl_id: st.persist.repl_id.clone(),
        repl_offset: st.stream.offset,
        repl_stream_db: Some(st.stream.last_db().unwrap_or(0)),
        aof_base: false,
        scripts: crate::script::bodies(st),
        functions: crate::script::functions::codes(st),
    }
}

/// `dir`/`dbfilename`.
pub fn rdb_path(st: &State) -> PathBuf {
    PathBuf::from(st.config.str("dir")).join(st.config.str("dbfilename"))
}

/// Reaps finished registered children (from the cron) and does their bookkeeping.
pub fn reap_children(st: &mut State, now_ms: i64) {
    let mut i = 0;
    while i < st.persist.children.len() {
        let c = st.persist.children[i].clone();
        let Some(res) = fork::try_wait(c.pid) else {
            i += 1;
            continue;
        };
        st.persist.children.remove(i);
        let cow = c.cow.as_ref().map_or(0, |s| s.size());
        let what = match c.kind {
            ChildKind::AofRewrite => {
                st.persist.aof_last_cow = cow;
                "AOF rewrite"
            }
            _ => {
                st.persist.rdb_last_cow = cow;
                "RDB"
            }
        };
        tracing::info!(
            "{what}: {} MB of memory used by copy-on-write",
            cow / (1024 * 1024)
        );
        match c.kind {
            ChildKind::Rdb => rdb_cmds::bgsave_done(st, &c, res, now_ms),
            ChildKind::ReplSync => {
                if let Err(e) = &res {
                    tracing::warn!("Replication sync child {} {e}", c.pid);
                }
                st.persist.repl_sync_exits.push((c.pid, res.is_ok()));
            }
            ChildKind::AofRewrite => aof::rewrite_done(st, &c, res),
        }
    }
}

/// The persistence part of the cron: reap children, then run a scheduled BGSAVE or
/// one the `save` rules ask for.
pub fn cron(st: &mut State, now_ms: i64) {
    if !st.persist.children.is_empty() {
        reap_children(st, now_ms);
    }
    hold_aof_fsync(st);
    update_disk_error(st);
    if st.persist.child_active() {
        return;
    }
    rdb_cmds::save_rules_cron(st, now_ms);
    if !st.persist.child_active() {
        aof::cron(st);
    }
}

/// Redis's writeCommandsDeniedByDiskError: with `stop-writes-on-bgsave-error`
/// and save rules, a failed background save refuses writes until a save
/// succeeds; with the AOF on, a failed AOF write or fsync does until one
/// succeeds. Called by the cron and after a save ends.
pub fn update_disk_error(st: &mut State) {
    let rdb = st.config.bool("stop-writes-on-bgsave-error")
        && !st.persist.last_bgsave_ok
        && !rdb_cmds::save_rules(st).is_empty();
    let err = if rdb {
        Some("MISCONF Redis is configured to save RDB snapshots, but it's currently unable to persist to disk. Commands that may modify the data set are disabled, because this instance is configured to report errors during writes if RDB snapshotting fails (stop-writes-on-bgsave-error option). Please check the Redis logs for details about the RDB error.".to_string())
    } else {
        st.persist.aof.as_ref().and_then(|a| {
            let s = &a.writer.feed.0;
            (!s.write_ok.load(std::sync::atomic::Ordering::Relaxed)).then(|| {
                let errno = s.last_errno.load(std::sync::atomic::Ordering::Relaxed);
                let text = std::io::Error::from_raw_os_error(errno).to_string();
                let text = text.split(" (os error").next().unwrap_or(&text).to_string();
                format!("MISCONF Errors writing to the AOF file: {text}")
            })
        })
    };
    if err != st.repl.disk_error {
        st.repl.disk_error = err;
        st.repl.update_checks();
    }
}

/// `no-appendfsync-on-rewrite yes`: while a child saves or rewrites, the AOF
/// is written but not fsynced (as Redis, to keep the disk for the child),
/// and caught up when the child is gone.
pub fn hold_aof_fsync(st: &State) {
    if let Some(aof) = &st.persist.aof {
        let hold = st.persist.child_active() && st.config.bool("no-appendfsync-on-rewrite");
        aof.writer.feed.hold_fsync(hold);
    }
}

/// The end of a client's batch (under the lock): the AOF writes what it fed.
#[inline]
pub fn batch_end(st: &mut State) {
    if let Some(aof) = &st.stream.aof {
        aof.flush();
    }
}

/// Logs the writes in `st.store.prop` to the AOF without putting them in the write
/// stream: for a replica, whose stream carries its master's bytes verbatim
/// (`append_raw`) while the commands it applied are in `store.prop`. Call it where
/// those props are dropped; a no-op while the AOF is off.
pub fn aof_log_props(st: &mut State) {
    let Some(aof) = &st.stream.aof else {
        return;
    };
    let mut buf = tandem_resp::ReplyBuf::small(tandem_resp::Proto::Resp2);
    for p in &st.store.prop {
        buf.array(p.args.len());
        for a in &p.args {
            buf.bulk(a);
        }
        aof.feed(p.db, false, &buf.take(), st.stream.offset);
    }
}

/// After the keyspace was replaced wholesale (a replica's full sync): if the AOF
/// is on, stop it and start it afresh, so its files describe the new dataset (the
/// old base and increments are dropped when the new base commits).
pub fn restart_aof(st: &mut State, shared: &crate::state::Shared) -> Result<(), String> {
    if st.persist.aof.is_none() {
        return Ok(());
    }
    aof::stop(st, shared);
    aof::config_set(st, shared)
}

/// CONFIG SET follow-up (`appendonly`, `appendfsync` at runtime).
pub fn config_set(st: &mut State, shared: &crate::state::Shared) -> Result<(), String> {
    let res = aof::config_set(st, shared);
    hold_aof_fsync(st);
    res
}

/// INFO persistence, with Redis 7.0's field names and order.
pub fn info(st: &State, w: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    let p = &st.persist;
    let bg = p.bgsave_child();
    w("# Persistence", &"");
    w("loading", &(st.loading.is_some() as u8));
    w("async_loading", &(st.async_loading.is_some() as u8));
    let cur = p.children.iter().find_map(|c| c.cow.as_ref());
    let now = crate::dispatch::now_ms();
    w("current_cow_peak", &cur.map_or(0, |s| s.peak()));
    w("current_cow_size", &cur.map_or(0, |s| s.size()));
    w("current_cow_size_age", &cur.map_or(0, |s| s.age_secs(now)));
    let (done, total) = cur.map_or((0, 0), |s| s.keys());
    let perc = if total > 0 {
        done as f64 * 100.0 / total as f64
    } else {
        0.0
    };
    w("current_fork_perc", &format!("{perc:.2}"));
    w("current_save_keys_processed", &done);
    w("current_save_keys_total", &total);
    w("rdb_changes_since_last_save", &st.store.dirty);
    w("rdb_bgsave_in_progress", &(bg.is_some() as u8));
    w("rdb_last_save_time", &st.stats.last_save);
    w(
        "rdb_last_bgsave_status",
        &if p.last_bgsave_ok { "ok" } else { "err" },
    );
    w("rdb_last_bgsave_time_sec", &p.last_bgsave_secs);
    w(
        "rdb_current_bgsave_time_sec",
        &bg.map(|c| c.started.elapsed().as_secs() as i64)
            .unwrap_or(-1),
    );
    w("rdb_saves", &p.rdb_saves);
    w("rdb_last_cow_size", &p.rdb_last_cow);
    w("rdb_last_load_keys_expired", &p.last_load_keys_expired);
    w("rdb_last_load_keys_loaded", &p.last_load_keys_loaded);
    aof::info(st, w);
    if let Some(p) = st.loading.as_ref().or(st.async_loading.as_ref()) {
        loading::info(p, w);
    }
}

#[cfg(test)]
mod tests;
