//! SAVE, BGSAVE [SCHEDULE], the `save <secs> <changes>` rules, loading `dbfilename`
//! at start, saving on SHUTDOWN / SIGTERM, and FLUSHALL's save, as Redis 7.0.

use std::time::Instant;

use bytes::Bytes;
use tandem_store::util::eq_ic;
use tandem_store::{CmdError, CmdResult};

use super::fork::{self, SnapshotTarget};
use super::{aux, rdb_path, ChildInfo, ChildKind, LoadMode, WriteOptions};
use crate::config::Val;
use crate::dispatch::{now_ms, Ctx, ServerHandler};
use crate::state::{Shared, State};
use parking_lot::MutexGuard;

use super::loading::Boot;

pub const COMMANDS: &[(&str, ServerHandler)] = &[("save", save), ("bgsave", bgsave)];

/// Redis's `CONFIG_BGSAVE_RETRY_DELAY`: after a failed BGSAVE, rules wait this long.
const BGSAVE_RETRY_DELAY: i64 = 5;

pub(super) fn save_rules(st: &State) -> Vec<(i64, i64)> {
    match st.config.get("save") {
        Val::Save(p) => p.clone(),
        _ => Vec::new(),
    }
}

/// A synchronous snapshot under the lock (SAVE, SHUTDOWN).
pub fn save_now(st: &mut State) -> std::io::Result<()> {
    save_sync(st, true)
}

/// A synchronous snapshot; `count` adds it to `rdb_saves` (FLUSHALL's does not, as
/// measured on Redis 7.0.15).
fn save_sync(st: &mut State, count: bool) -> std::io::Result<()> {
    let path = rdb_path(st);
    let opts = WriteOptions::from_config(&st.config);
    let aux = aux(st);
    match fork::save_to_file(st, &aux, &opts, &path) {
        Ok(_) => {
            tracing::info!("DB saved on disk");
            st.store.dirty = 0;
            st.stats.last_save = now_ms() / 1000;
            st.persist.last_bgsave_ok = true;
            st.persist.rdb_saves += count as u64;
            Ok(())
        }
        Err(e) => {
            tracing::warn!("Write error saving DB on disk ({}): {e}", path.display());
            Err(e)
        }
    }
}

/// Forks a BGSAVE child and registers it.
pub fn start_bgsave(st: &mut State) -> std::io::Result<libc::pid_t> {
    st.persist.last_bgsave_try = now_ms() / 1000;
    st.persist.dirty_before_bgsave = st.store.dirty;
    let aux = aux(st);
    match fork::fork_snapshot(st, &aux, SnapshotTarget::File(rdb_path(st))) {
        Ok(c) => {
            tracing::info!("Background saving started by pid {}", c.pid);
            super::register_child(st, &c);
            // Counted at the fork, as Redis 7.0.15 does.
            st.persist.rdb_saves += 1;
            Ok(c.pid)
        }
        Err(e) => {
            st.persist.last_bgsave_ok = false;
            tracing::warn!("Can't save in background: fork: {e}");
            Err(e)
        }
    }
}

/// Bookkeeping when a BGSAVE child is reaped.
pub(super) fn bgsave_done(st: &mut State, c: &ChildInfo, res: Result<(), String>, now: i64) {
    st.persist.last_bgsave_secs = c.started.elapsed().as_secs() as i64;
    match res {
        Ok(()) => {
            tracing::info!("Background saving terminated with success");
            st.store.dirty = st
                .store
                .dirty
                .saturating_sub(st.persist.dirty_before_bgsave);
            st.stats.last_save = now / 1000;
            st.persist.last_bgsave_ok = true;
        }
        Err(e) => {
            tracing::warn!("Background saving error: child {} {e}", c.pid);
            // Killed on purpose (SIGUSR1) is not a failure, as in Redis.
            st.persist.last_bgsave_ok = e.ends_with(&format!("signal {}", libc::SIGUSR1));
            remove_temp(st, c.pid);
        }
    }
}

fn remove_temp(st: &State, pid: libc::pid_t) {
    let tmp = std::path::Path::new(st.config.str("dir")).join(format!("temp-{pid}.rdb"));
    let _ = std::fs::remove_file(tmp);
}

/// Kills a running BGSAVE child (FLUSHALL, SHUTDOWN) and removes its temp file.
pub fn kill_bgsave_child(st: &mut State) {
    let pids: Vec<libc::pid_t> = st
        .persist
        .children
        .iter()
        .filter(|c| c.kind == ChildKind::Rdb)
        .map(|c| c.pid)
        .collect();
    for pid in pids {
        fork::kill_and_wait(pid);
        remove_temp(st, pid);
        st.persist.children.retain(|c| c.pid != pid);
        tracing::info!("Killed the background saving child {pid}");
    }
}

/// Scheduled BGSAVEs and `save` rules (called from the cron when no child runs).
pub(super) fn save_rules_cron(st: &mut State, now: i64) {
    let secs = now / 1000;
    let retry_ok =
        secs - st.persist.last_bgsave_try > BGSAVE_RETRY_DELAY || st.persist.last_bgsave_ok;
    if !retry_ok {
        return;
    }
    if st.persist.bgsave_scheduled {
        if start_bgsave(st).is_ok() {
            st.persist.bgsave_scheduled = false;
        }
        return;
    }
    let dirty = st.store.dirty as i64;
    let since = secs - st.stats.last_save;
    for (s, changes) in save_rules(st) {
        if dirty >= changes && since > s {
            tracing::info!("{changes} changes in {s} seconds. Saving...");
            let _ = start_bgsave(st);
            break;
        }
    }
}

fn save(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.st.persist.rdb_child_active() {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    save_now(ctx.st).map_err(|_| CmdError::msg("ERR"))?;
    ctx.out.ok();
    Ok(())
}

fn bgsave(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let schedule = match args.len() {
        1 => false,
        2 if eq_ic(&args[1], "SCHEDULE") => true,
        _ => return Err(CmdError::Syntax),
    };
    let p = &ctx.st.persist;
    if p.rdb_child_active() {
        return Err(CmdError::msg("ERR Background save already in progress"));
    }
    if p.child_active() || ctx.in_multi {
        if schedule || ctx.in_multi {
            ctx.st.persist.bgsave_scheduled = true;
            ctx.out.simple("Background saving scheduled");
            return Ok(());
        }
        return Err(CmdError::msg("ERR Another child process is active (AOF?): can't BGSAVE right now. Use BGSAVE SCHEDULE in order to schedule a BGSAVE whenever possible."));
    }
    start_bgsave(ctx.st).map_err(|_| CmdError::msg("ERR"))?;
    ctx.out.simple("Background saving started");
    Ok(())
}

/// DEBUG RELOAD [MERGE] [NOFLUSH] [NOSAVE]: save the snapshot (unless NOSAVE),
/// empty the keyspace (unless NOFLUSH), load the snapshot back, as Redis does.
/// MERGE keeps existing keys on a clash instead of failing.
pub fn debug_reload(ctx: &mut Ctx<'_>, opts: &[Bytes]) -> CmdResult {
    let (mut save, mut flush, mut merge) = (true, true, false);
    for o in opts {
        if eq_ic(o, "MERGE") {
            merge = true;
        } else if eq_ic(o, "NOFLUSH") {
            flush = false;
        } else if eq_ic(o, "NOSAVE") {
            save = false;
        } else {
            return Err(CmdError::msg(
                "ERR DEBUG RELOAD only supports the MERGE, NOFLUSH and NOSAVE options.",
            ));
        }
    }
    let st = &mut *ctx.st;
    if save && save_now(st).is_err() {
        return Err(CmdError::msg("ERR"));
    }
    if flush {
        for d in st.store.dbs.iter_mut() {
            *d = Default::default();
        }
    }
    let path = rdb_path(st);
    let verify = st.config.bool("rdbchecksum");
    let loaded = std::fs::File::open(&path)
        .map_err(|e| e.to_string())
        .and_then(|f| {
            if merge {
                let mut fresh = tandem_store::Store::new(st.store.config.clone());
                let stats = super::load_rdb_opts(f, &mut fresh, LoadMode::Master, verify)
                    .map_err(|e| e.to_string())?;
                crate::script::load_snapshot(st, &stats);
                for (db, d) in fresh.dbs.into_iter().enumerate() {
                    for (k, e) in d.dict.iter() {
                        if !st.store.dbs[db].dict.contains_key(k) {
                            st.store.dbs[db].dict.insert(k, e.clone());
                            if let Some(t) = d.expires.get(k) {
                                st.store.dbs[db].expires.insert(k, *t);
                            }
                        }
                    }
                }
                Ok(())
            } else {
                super::load_rdb_opts(f, &mut st.store, LoadMode::Master, verify)
                    .map(|stats| crate::script::load_snapshot(st, &stats))
                    .map_err(|e| e.to_string())
            }
        });
    if let Err(e) = loaded {
        tracing::warn!("DEBUG RELOAD: {e}");
        return Err(CmdError::msg(
            "ERR Error trying to load the RDB dump, check server logs.",
        ));
    }
    tracing::info!("DB reloaded by DEBUG RELOAD");
    ctx.out.ok();
    Ok(())
}

/// Loads `dir`/`dbfilename` (or the AOF) into the (empty) store while the node
/// answers -LOADING (see `loading`); `locked` is told once the state lock is
/// held. A missing file is not an error; a corrupt one is, with the path and
/// the byte offset.
pub fn load_at_start(
    shared: &Shared,
    locked: tokio::sync::oneshot::Sender<()>,
) -> Result<(), String> {
    let mut guard = shared.state.lock();
    let _ = locked.send(());
    if guard.persist.repl_id.is_empty() {
        guard.persist.repl_id = shared.run_id.clone();
    }
    // The role, the replication ID and a snapshot's history first: INFO
    // replication during the load already shows them, as Redis's does.
    crate::repl::prepare(&mut guard);
    let res = load_locked(&mut guard, shared);
    if res.is_ok() {
        guard.loading = None;
    }
    // On an error the node stops with `loading` still set: nothing saves over
    // the files it could not load.
    res
}

fn load_locked(guard: &mut MutexGuard<'_, State>, shared: &Shared) -> Result<(), String> {
    if guard.config.bool("appendonly") {
        return super::aof::start_at_boot(guard, shared);
    }
    let path = rdb_path(guard);
    let verify = guard.config.bool("rdbchecksum");
    let f = match std::fs::File::open(&path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(format!(
                "Fatal error loading the DB {}: {e}. Exiting.",
                path.display()
            ))
        }
    };
    if let Some(p) = guard.loading.as_mut() {
        p.total_bytes = f.metadata().map(|m| m.len()).unwrap_or(0);
    }
    let t0 = Instant::now();
    let mut boot = Boot::new(guard, shared);
    match super::load_rdb_opts(f, &mut boot, LoadMode::Master, verify) {
        Ok(s) => {
            tracing::info!(
                "Done loading RDB, keys loaded: {}, keys expired: {}.",
                s.keys_loaded,
                s.expired_skipped
            );
            if s.empty_skipped > 0 {
                tracing::info!("Done loading RDB, empty keys skipped: {}.", s.empty_skipped);
            }
            tracing::info!(
                "DB loaded from disk: {:.3} seconds",
                t0.elapsed().as_secs_f64()
            );
            let st = boot.state();
            crate::script::load_snapshot(st, &s);
            st.persist.last_load_keys_loaded = s.keys_loaded;
            st.persist.last_load_keys_expired = s.expired_skipped;
            Ok(())
        }
        Err(e) if e.message == super::loading::STOPPED => Err(e.message),
        Err(e) => Err(format!(
            "Fatal error loading the DB {}: {e}. Refusing to start.",
            path.display()
        )),
    }
}

/// SHUTDOWN's persistence step, before the node stops: save when `save` rules exist
/// or SAVE is given (not with NOSAVE). A failed save refuses the shutdown unless
/// FORCE, as Redis's "Errors trying to SHUTDOWN. Check logs.".
pub fn prepare_shutdown_flags(st: &mut State, f: crate::shutdown::Flags) -> Result<(), String> {
    // As Redis: a node still loading never saves its partial dataset.
    let nosave = f.nosave || st.loading.is_some();
    if !nosave && (f.save || !save_rules(st).is_empty()) {
        kill_bgsave_child(st);
        tracing::info!("Saving the final RDB snapshot before exiting.");
        if save_now(st).is_err() && !f.force {
            tracing::warn!("Error trying to save the DB, can't exit.");
            return Err(crate::shutdown::ERRORS.into());
        }
    }
    st.persist.shutdown_handled = true;
    Ok(())
}

/// The exit path (SIGTERM / SIGINT, or after SHUTDOWN): stops children, and saves if
/// `save` rules exist and SHUTDOWN did not already decide. In-process nodes
/// (tests, embedders: `handle_signals` false) do not save on `Handle::shutdown`.
pub fn on_exit(shared: &Shared) {
    let mut guard = shared.state.lock();
    let st = &mut *guard;
    super::aof::stop(st, shared);
    kill_bgsave_child(st);
    let others: Vec<libc::pid_t> = st.persist.children.drain(..).map(|c| c.pid).collect();
    for pid in others {
        fork::kill_and_wait(pid);
    }
    if st.persist.shutdown_handled
        || !shared.handle_signals
        || st.loading.is_some()
        || save_rules(st).is_empty()
    {
        return;
    }
    tracing::info!("Saving the final RDB snapshot before exiting.");
    if let Err(e) = save_now(st) {
        tracing::warn!("Error trying to save the DB before exiting: {e}");
    }
}

/// After FLUSHALL (Redis 7.0 `flushAllDataAndResetRDB`): kill a running BGSAVE and
/// save the now empty dataset when `save` rules exist (Redis 7.0.15 then reports
/// `rdb_changes_since_last_save:0` and leaves `rdb_saves` alone).
pub fn after_flushall(st: &mut State) {
    kill_bgsave_child(st);
    if !save_rules(st).is_empty() {
        let _ = save_sync(st, false);
    }
}
