//! The append-only file, in Redis 7.0's multi-part layout:
//!
//! ```text
//!  dir/appenddirname/
//!     <appendfilename>.<n>.base.rdb   the keyspace at the last rewrite (RDB, aof-base 1)
//!     <appendfilename>.<m>.incr.aof   the write stream since then (RESP, with SELECT)
//!     <appendfilename>.manifest       which base and incr files make the dataset
//! ```
//!
//! The incremental files hold exactly the write stream's commands (one encoder for
//! replicas and the AOF), plus a SELECT at the top of each file. Bytes reach the
//! writer thread ([`writer`]) from `WriteStream::append`; with `appendfsync always`
//! the reply gate holds every writing batch's replies until the writer has fsynced
//! past its offset.
//!
//! Each client batch's AOF bytes are write()n at the end of the batch, before its
//! replies leave (as Redis writes its AOF buffer before replying), so an
//! acknowledged write survives a crash of the process in every `appendfsync` mode.
//! With `always`, `gates.aof_always` also holds the replies until the fsync thread
//! has fdatasync'ed past the batch, so they survive a crash of the machine too.
//!
//! BGREWRITEAOF, under the lock: create the next incr file, write a manifest naming
//! old base + old incrs + new incr, switch the writer to the new incr, fork a child
//! that writes the new base. When the child succeeds the manifest becomes new base +
//! new incr and the old files are deleted. Each manifest is written atomically, so a
//! crash at any point leaves a manifest whose files hold every acknowledged write.

pub mod load;
pub mod manifest;
pub mod writer;

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::time::Instant;

use bytes::Bytes;
use tandem_store::{CmdError, CmdResult};

use self::manifest::{fsync_dir, write_atomic, Manifest, Part};
use self::writer::{Fsync, Writer};
use super::fork::{fork_snapshot, ChildKind, SnapshotTarget};
use super::ChildInfo;
use crate::dispatch::{Ctx, ServerHandler};
use crate::state::{Shared, State};

pub const COMMANDS: &[(&str, ServerHandler)] = &[("bgrewriteaof", bgrewriteaof)];

/// A running AOF.
pub struct Aof {
    pub writer: Writer,
    pub dir: PathBuf,
    pub manifest: Manifest,
    /// The rewrite in progress: its child and the files it will commit.
    pub rewrite: Option<Rewrite>,
    /// `aof_current_size` right after the last rewrite (or at start).
    pub base_size: u64,
    /// Switched on at runtime: the files on disk do not hold the dataset until the
    /// first rewrite commits a base (the next rewrite must not keep them).
    pub fresh: bool,
    /// Files of an earlier AOF left on disk, deleted when the next base commits.
    pub stale: Vec<Part>,
}

#[derive(Debug)]
pub struct Rewrite {
    pub pid: libc::pid_t,
    pub base: Part,
    pub started: Instant,
}

/// AOF counters kept while the AOF is off too.
#[derive(Debug)]
pub struct AofStats {
    pub scheduled: bool,
    pub rewrites: u64,
    pub failures_in_row: u64,
    pub last_ok: bool,
    pub last_rewrite_secs: i64,
    /// A BGREWRITEAOF run while `appendonly no` (Redis 7.0 writes a new base and a
    /// manifest naming only it).
    pub offline: Option<Rewrite>,
}

impl Default for AofStats {
    fn default() -> Self {
        AofStats {
            scheduled: false,
            rewrites: 0,
            failures_in_row: 0,
            last_ok: true,
            last_rewrite_secs: -1,
            offline: None,
        }
    }
}

fn names(st: &State) -> (PathBuf, String) {
    let dir = PathBuf::from(st.config.str("dir")).join(st.config.str("appenddirname"));
    (dir, st.config.str("appendfilename").to_string())
}

fn manifest_name(base: &str) -> String {
    format!("{base}.manifest")
}

fn open_append(path: &std::path::Path) -> std::io::Result<File> {
    OpenOptions::new().create(true).append(true).open(path)
}

/// Loads the AOF at start (when `appendonly yes`), creating it if missing, and
/// starts the writer. Replaces the RDB load, as in Redis.
pub fn start_at_boot(
    guard: &mut parking_lot::MutexGuard<'_, State>,
    shared: &Shared,
) -> Result<(), String> {
    let (dir, base_name) = names(guard);
    let mpath = dir.join(manifest_name(&base_name));
    let old = PathBuf::from(guard.config.str("dir")).join(&base_name);
    if old.is_file() && needs_upgrade(&dir, &mpath, &base_name) {
        upgrade(&old, &dir, &base_name)?;
    }
    let manifest = match std::fs::read_to_string(&mpath) {
        Ok(text) => {
            let m = Manifest::parse(&text).map_err(|e| format!("{e} in {}", mpath.display()))?;
            let truncated_ok = guard.config.bool("aof-load-truncated");
            load::load_all(guard, shared, &dir, &m, truncated_ok)?;
            if m.incrs.is_empty() {
                add_incr_at_start(&dir, &base_name, m)
                    .map_err(|e| format!("Can't create the AOF incr file: {e}"))?
            } else {
                m
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(&dir)
                .map_err(|e| format!("Can't create the append-only dir {}: {e}", dir.display()))?;
            create_fresh(guard, &dir, &base_name)
                .map_err(|e| format!("Can't create the AOF in {}: {e}", dir.display()))?
        }
        Err(e) => {
            return Err(format!(
                "Can't read the AOF manifest {}: {e}",
                mpath.display()
            ))
        }
    };
    start_writer(guard, shared, dir, manifest).map_err(|e| format!("Can't open the AOF: {e}"))
}

/// Whether `appendfilename` in `dir` is a single-file AOF of Redis before 7.0
/// to move into the AOF folder, by Redis 7.0's three rules: the folder is
/// missing; or it has no manifest (or an empty one); or its manifest names only
/// a base with the old file's name, which is not in the folder.
fn needs_upgrade(dir: &std::path::Path, mpath: &std::path::Path, base_name: &str) -> bool {
    if !dir.is_dir() {
        return true;
    }
    let m = match std::fs::read_to_string(mpath) {
        Ok(text) => match Manifest::parse(&text) {
            Ok(m) => m,
            // A broken manifest is reported by the load, not overwritten.
            Err(_) => return false,
        },
        Err(_) => return true,
    };
    match (&m.base, m.incrs.is_empty()) {
        (None, true) => true,
        (Some(b), true) => b.name == base_name && !dir.join(base_name).exists(),
        _ => false,
    }
}

/// Moves a pre-7.0 AOF into the AOF folder as its base, under a manifest
/// naming it, as Redis 7.0's aofUpgradePrepare: the manifest first, then the
/// rename, so a crash between the two leaves a state this same check
/// upgrades again.
fn upgrade(old: &std::path::Path, dir: &std::path::Path, base_name: &str) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| {
        format!(
            "Can't open or create append-only dir {}: {e}",
            dir.display()
        )
    })?;
    let m = Manifest {
        base: Some(Part {
            name: base_name.to_string(),
            seq: 1,
        }),
        incrs: Vec::new(),
    };
    write_atomic(dir, &manifest_name(base_name), m.render().as_bytes())
        .map_err(|e| format!("Can't persist the AOF manifest: {e}"))?;
    std::fs::rename(old, dir.join(base_name))
        .and_then(|_| fsync_dir(dir))
        .map_err(|e| {
            format!("Error trying to rename the existing AOF to the new AOF directory: {e}")
        })?;
    tracing::info!(
        "Successfully migrated an old-style AOF into the AOF directory ({}).",
        dir.display()
    );
    Ok(())
}

/// A manifest without incremental file (after a rewrite while the AOF was off)
/// gets one, as Redis does at start.
fn add_incr_at_start(
    dir: &std::path::Path,
    base_name: &str,
    mut m: Manifest,
) -> std::io::Result<Manifest> {
    let seq = m.next_incr_seq();
    let incr = Part {
        name: format!("{base_name}.{seq}.incr.aof"),
        seq,
    };
    File::create(dir.join(&incr.name))?.sync_all()?;
    tracing::info!("Creating AOF incr file {} on server start", incr.name);
    m.incrs.push(incr);
    write_atomic(dir, &manifest_name(base_name), m.render().as_bytes())?;
    Ok(m)
}

/// A base holding the current keyspace, an empty incr file and their manifest.
fn create_fresh(st: &State, dir: &std::path::Path, base_name: &str) -> std::io::Result<Manifest> {
    let base = Part {
        name: format!("{base_name}.1.base.rdb"),
        seq: 1,
    };
    let mut aux = super::aux(st);
    aux.aof_base = true;
    let opts = super::WriteOptions::from_config(&st.config);
    super::fork::save_to_file(st, &aux, &opts, &dir.join(&base.name))?;
    tracing::info!("Creating AOF base file {} on server start", base.name);
    let incr = Part {
        name: format!("{base_name}.1.incr.aof"),
        seq: 1,
    };
    File::create(dir.join(&incr.name))?.sync_all()?;
    tracing::info!("Creating AOF incr file {} on server start", incr.name);
    let m = Manifest {
        base: Some(base),
        incrs: vec![incr],
    };
    write_atomic(dir, &manifest_name(base_name), m.render().as_bytes())?;
    Ok(m)
}

fn start_writer(
    st: &mut State,
    shared: &Shared,
    dir: PathBuf,
    manifest: Manifest,
) -> std::io::Result<()> {
    let last = manifest
        .incrs
        .last()
        .ok_or_else(|| std::io::Error::other("the manifest names no incremental file"))?;
    let file = open_append(&dir.join(&last.name))?;
    let policy = Fsync::parse(st.config.str("appendfsync"));
    let writer = Writer::start(
        file,
        policy,
        shared.gates.aof_fsynced.clone(),
        st.stream.offset,
    )?;
    writer
        .feed
        .set_timestamps(st.config.bool("aof-timestamp-enabled"));
    st.stream.aof = Some(writer.feed.clone());
    shared.gates.aof_always.store(
        policy == Fsync::Always,
        std::sync::atomic::Ordering::Release,
    );
    let mut aof = Aof {
        writer,
        dir,
        manifest,
        rewrite: None,
        base_size: 0,
        fresh: false,
        stale: Vec::new(),
    };
    aof.base_size = current_size(&aof);
    st.persist.aof = Some(aof);
    Ok(())
}

/// Stops the writer after it has written and fsynced everything queued.
pub fn stop(st: &mut State, shared: &Shared) {
    shared
        .gates
        .aof_always
        .store(false, std::sync::atomic::Ordering::Release);
    st.stream.aof = None;
    if let Some(mut aof) = st.persist.aof.take() {
        if let Some(r) = aof.rewrite.take() {
            super::fork::kill_and_wait(r.pid);
            st.persist.children.retain(|c| c.pid != r.pid);
            let _ = std::fs::remove_file(aof.dir.join(&r.base.name));
        }
        tracing::info!("Calling fsync() on the AOF file.");
        aof.writer.stop();
    }
}

/// Size of every file the manifest names (`aof_current_size`).
pub fn current_size(aof: &Aof) -> u64 {
    aof.manifest
        .files()
        .filter_map(|p| std::fs::metadata(aof.dir.join(&p.name)).ok())
        .map(|m| m.len())
        .sum()
}

/// CONFIG SET follow-up: `appendonly` on/off, `appendfsync`.
pub fn config_set(st: &mut State, shared: &Shared) -> Result<(), String> {
    let want = st.config.bool("appendonly");
    match (&st.persist.aof, want) {
        (None, true) => {
            // As Redis's startAppendOnly: a fresh base from the live keyspace via a
            // rewrite. The new incr file collects writes from now on.
            let (dir, base_name) = names(st);
            std::fs::create_dir_all(&dir).map_err(|e| e.to_string())?;
            let mut m = match std::fs::read_to_string(dir.join(manifest_name(&base_name))) {
                Ok(t) => Manifest::parse(&t).unwrap_or_default(),
                Err(_) => Manifest::default(),
            };
            // The old files no longer describe the dataset: only the new incr counts
            // until the rewrite commits its base.
            let incr = Part {
                name: format!("{base_name}.{}.incr.aof", m.next_incr_seq()),
                seq: m.next_incr_seq(),
            };
            File::create(dir.join(&incr.name)).map_err(|e| e.to_string())?;
            let stale: Vec<Part> = m.incrs.drain(..).collect();
            m.incrs = vec![incr];
            start_writer(st, shared, dir, m.clone()).map_err(|e| e.to_string())?;
            if let Some(aof) = st.persist.aof.as_mut() {
                aof.fresh = true;
                aof.stale = stale;
            }
            if st.persist.child_active() {
                st.persist.aof_stats.scheduled = true;
            } else {
                start_rewrite(st).map_err(|e| e.to_string())?;
            }
        }
        (Some(_), false) => stop(st, shared),
        (Some(aof), true) => {
            let policy = Fsync::parse(st.config.str("appendfsync"));
            aof.writer.feed.set_policy(policy);
            aof.writer
                .feed
                .set_timestamps(st.config.bool("aof-timestamp-enabled"));
            shared.gates.aof_always.store(
                policy == Fsync::Always,
                std::sync::atomic::Ordering::Release,
            );
        }
        (None, false) => {}
    }
    Ok(())
}

/// Starts a rewrite: next incr file, manifest with both incrs, writer switch, fork.
/// Right after the AOF was switched on (`fresh`) the writer already writes to a new
/// incr file and the old files are stale, so no interim manifest is written.
pub fn start_rewrite(st: &mut State) -> std::io::Result<libc::pid_t> {
    let (_, base_name) = names(st);
    let Some(aof) = st.persist.aof.as_mut() else {
        return Err(std::io::Error::other("AOF is off"));
    };
    let incr_seq = aof.manifest.next_incr_seq();
    let new_incr = Part {
        name: format!("{base_name}.{incr_seq}.incr.aof"),
        seq: incr_seq,
    };
    let base_seq = aof.manifest.next_base_seq();
    let new_base = Part {
        name: format!("{base_name}.{base_seq}.base.rdb"),
        seq: base_seq,
    };
    let dir = aof.dir.clone();
    if !aof.fresh {
        let f = open_append(&dir.join(&new_incr.name))?;
        fsync_dir(&dir)?;
        let mut interim = aof.manifest.clone();
        interim.incrs.push(new_incr.clone());
        write_atomic(
            &dir,
            &manifest_name(&base_name),
            interim.render().as_bytes(),
        )?;
        aof.manifest = interim;
        aof.writer.feed.switch(f);
    }
    let mut aux = super::aux(st);
    aux.aof_base = true;
    let target = SnapshotTarget::File(dir.join(&new_base.name));
    let mut child = match fork_snapshot(st, &aux, target) {
        Ok(c) => c,
        Err(e) => {
            tracing::warn!("Can't rewrite append only file in background: fork: {e}");
            st.persist.aof_stats.last_ok = false;
            return Err(e);
        }
    };
    child.kind = ChildKind::AofRewrite;
    crate::persist::register_child(st, &child);
    tracing::info!(
        "Background append only file rewriting started by pid {}",
        child.pid
    );
    if let Some(aof) = st.persist.aof.as_mut() {
        aof.rewrite = Some(Rewrite {
            pid: child.pid,
            base: new_base,
            started: Instant::now(),
        });
    }
    st.persist.aof_stats.scheduled = false;
    Ok(child.pid)
}

/// BGREWRITEAOF while the AOF is off: fork a child writing the next base.
fn start_offline_rewrite(st: &mut State) -> std::io::Result<libc::pid_t> {
    let (dir, base_name) = names(st);
    std::fs::create_dir_all(&dir)?;
    let m = std::fs::read_to_string(dir.join(manifest_name(&base_name)))
        .ok()
        .and_then(|t| Manifest::parse(&t).ok())
        .unwrap_or_default();
    let seq = m.next_base_seq();
    let base = Part {
        name: format!("{base_name}.{seq}.base.rdb"),
        seq,
    };
    let mut aux = super::aux(st);
    aux.aof_base = true;
    let mut child = fork_snapshot(st, &aux, SnapshotTarget::File(dir.join(&base.name)))?;
    child.kind = ChildKind::AofRewrite;
    crate::persist::register_child(st, &child);
    tracing::info!(
        "Background append only file rewriting started by pid {}",
        child.pid
    );
    st.persist.aof_stats.offline = Some(Rewrite {
        pid: child.pid,
        base,
        started: Instant::now(),
    });
    st.persist.aof_stats.scheduled = false;
    Ok(child.pid)
}

fn offline_rewrite_done(st: &mut State, rw: Rewrite, res: Result<(), String>) {
    let (dir, base_name) = names(st);
    let mname = manifest_name(&base_name);
    let res = res.and_then(|()| {
        let old = std::fs::read_to_string(dir.join(&mname))
            .ok()
            .and_then(|t| Manifest::parse(&t).ok())
            .unwrap_or_default();
        let m = Manifest {
            base: Some(rw.base.clone()),
            incrs: Vec::new(),
        };
        write_atomic(&dir, &mname, m.render().as_bytes()).map_err(|e| e.to_string())?;
        for p in old.files().filter(|p| **p != rw.base) {
            let _ = std::fs::remove_file(dir.join(&p.name));
        }
        Ok(())
    });
    let s = &mut st.persist.aof_stats;
    s.last_rewrite_secs = rw.started.elapsed().as_secs() as i64;
    match res {
        Ok(()) => {
            tracing::info!("Background AOF rewrite terminated with success");
            s.rewrites += 1;
            s.failures_in_row = 0;
            s.last_ok = true;
        }
        Err(e) => {
            tracing::warn!("Background AOF rewrite failed: {e}");
            let _ = std::fs::remove_file(dir.join(&rw.base.name));
            s.failures_in_row += 1;
            s.last_ok = false;
        }
    }
}

/// The reaper's bookkeeping for a finished rewrite child.
pub fn rewrite_done(st: &mut State, c: &ChildInfo, res: Result<(), String>) {
    if let Some(rw) = st.persist.aof_stats.offline.take_if(|r| r.pid == c.pid) {
        return offline_rewrite_done(st, rw, res);
    }
    let (_, base_name) = names(st);
    let killed = matches!(&res, Err(e) if e.ends_with(&format!("signal {}", libc::SIGUSR1)));
    let Some(aof) = st.persist.aof.as_mut() else {
        return;
    };
    let Some(rw) = aof.rewrite.take().filter(|r| r.pid == c.pid) else {
        return;
    };
    let result = res.and_then(|()| {
        let Some(keep) = aof.manifest.incrs.last().cloned() else {
            return Err("no incremental file".to_string());
        };
        let old: Vec<Part> = aof
            .manifest
            .files()
            .filter(|p| **p != keep)
            .cloned()
            .collect();
        let m = Manifest {
            base: Some(rw.base.clone()),
            incrs: vec![keep],
        };
        write_atomic(&aof.dir, &manifest_name(&base_name), m.render().as_bytes())
            .map_err(|e| format!("can't write the manifest: {e}"))?;
        aof.manifest = m;
        for p in old
            .iter()
            .chain(aof.stale.drain(..).collect::<Vec<_>>().iter())
        {
            let _ = std::fs::remove_file(aof.dir.join(&p.name));
        }
        Ok(())
    });
    let secs = rw.started.elapsed().as_secs() as i64;
    match result {
        Ok(()) => {
            aof.base_size = current_size(aof);
            aof.fresh = false;
            tracing::info!("Background AOF rewrite terminated with success");
            tracing::info!("Background AOF rewrite finished successfully");
            let s = &mut st.persist.aof_stats;
            s.rewrites += 1;
            s.failures_in_row = 0;
            s.last_ok = true;
            s.last_rewrite_secs = secs;
        }
        Err(e) => {
            let _ = std::fs::remove_file(aof.dir.join(&rw.base.name));
            tracing::warn!("Background AOF rewrite failed: {e}");
            let s = &mut st.persist.aof_stats;
            s.failures_in_row += 1;
            // Killed on purpose (SIGUSR1) is not a failure.
            s.last_ok = killed;
            s.last_rewrite_secs = secs;
        }
    }
}

/// Scheduled and automatic (growth) rewrites, from the cron when no child runs.
pub fn cron(st: &mut State) {
    let Some(aof) = st.persist.aof.as_ref() else {
        if st.persist.aof_stats.scheduled {
            let _ = start_offline_rewrite(st);
        }
        return;
    };
    if st.persist.aof_stats.scheduled {
        let _ = start_rewrite(st);
        return;
    }
    let perc = st.config.int("auto-aof-rewrite-percentage");
    let min = st.config.int("auto-aof-rewrite-min-size").max(0) as u64;
    if perc <= 0 {
        return;
    }
    let size = current_size(aof);
    let base = aof.base_size.max(1);
    if size > min && size > base && (size - base) * 100 / base >= perc as u64 {
        tracing::info!(
            "Starting automatic rewriting of AOF on {}% growth",
            (size - base) * 100 / base
        );
        let _ = start_rewrite(st);
    }
}

fn bgrewriteaof(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let p = &ctx.st.persist;
    if p.children.iter().any(|c| c.kind == ChildKind::AofRewrite) {
        return Err(CmdError::msg(
            "ERR Background append only file rewriting already in progress",
        ));
    }
    if p.child_active() {
        ctx.st.persist.aof_stats.scheduled = true;
        ctx.out
            .simple("Background append only file rewriting scheduled");
        return Ok(());
    }
    let started = if ctx.st.persist.aof.is_some() {
        start_rewrite(ctx.st)
    } else {
        start_offline_rewrite(ctx.st)
    };
    started.map_err(|_| CmdError::msg("ERR Can't execute an AOF background rewriting. Please check the server logs for more information."))?;
    ctx.out
        .simple("Background append only file rewriting started");
    Ok(())
}

/// INFO persistence `aof_*` fields.
pub fn info(st: &State, w: &mut dyn FnMut(&str, &dyn std::fmt::Display)) {
    let s = &st.persist.aof_stats;
    let aof = st.persist.aof.as_ref();
    let rw = aof.and_then(|a| a.rewrite.as_ref()).or(s.offline.as_ref());
    w("aof_enabled", &(aof.is_some() as u8));
    w("aof_rewrite_in_progress", &(rw.is_some() as u8));
    w("aof_rewrite_scheduled", &(s.scheduled as u8));
    w("aof_last_rewrite_time_sec", &s.last_rewrite_secs);
    w(
        "aof_current_rewrite_time_sec",
        &rw.map(|r| r.started.elapsed().as_secs() as i64)
            .unwrap_or(-1),
    );
    w(
        "aof_last_bgrewrite_status",
        &if s.last_ok { "ok" } else { "err" },
    );
    w("aof_rewrites", &s.rewrites);
    w("aof_rewrites_consecutive_failures", &s.failures_in_row);
    let write_ok = aof
        .map(|a| {
            a.writer
                .feed
                .0
                .write_ok
                .load(std::sync::atomic::Ordering::Relaxed)
        })
        .unwrap_or(true);
    w(
        "aof_last_write_status",
        &if write_ok { "ok" } else { "err" },
    );
    w("aof_last_cow_size", &st.persist.aof_last_cow);
    w("module_fork_in_progress", &0);
    w("module_fork_last_cow_size", &0);
    if let Some(a) = aof {
        w("aof_current_size", &current_size(a));
        w("aof_base_size", &a.base_size);
        w("aof_pending_rewrite", &(s.scheduled as u8));
        w("aof_buffer_length", &0);
        w("aof_pending_bio_fsync", &0);
        w("aof_delayed_fsync", &0);
    }
}
