//! Background children: a `fork()` of the whole process, taken while the caller
//! holds the `State` lock, so the child sees one consistent keyspace (copy-on-write
//! pages) while the parent goes on serving as soon as the lock is released.
//!
//! The child runs no tokio, takes no lock and logs nothing: it writes its output,
//! fsyncs it and leaves with `_exit(0)` (or `_exit(1)` on any error). Allocation in
//! the child is safe because jemalloc's `pthread_atfork` handlers leave its locks
//! usable in the child. The parent finds out how it ended in the cron
//! ([`super::reap_children`], `waitpid(pid, WNOHANG)` on registered pids only).

use std::fs::File;
use std::io::{self, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::path::{Path, PathBuf};
use std::time::Instant;

use super::snapshot::{write_rdb_opts, SnapshotAux, WriteOptions};
use crate::state::State;

/// Where a forked snapshot goes.
#[derive(Clone, Debug)]
pub enum SnapshotTarget {
    /// The final path. The child writes `temp-<childpid>.rdb` in the same folder,
    /// fsyncs it, renames it over the final path and fsyncs the folder, so a crash
    /// at any point leaves either the old file or the new one, never half of one.
    File(PathBuf),
    /// The child writes the bare RDB bytes (no `$len` framing) to a pipe; the read
    /// end is [`BgChild::pipe`]. The child exits once everything is written, or with
    /// status 1 if the reader goes away (EPIPE).
    Pipe,
}

/// What a child is for (decides how the reaper accounts for it).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChildKind {
    /// BGSAVE (explicit, scheduled or by `save` rules): updates the `rdb_*` stats.
    Rdb,
    /// BGREWRITEAOF: a new AOF base.
    AofRewrite,
    /// A full resynchronisation payload for replicas: reaped without touching the
    /// `rdb_*` stats; its exit is reported in [`super::Persist::repl_sync_exits`].
    ReplSync,
}

/// A running child.
#[derive(Debug)]
pub struct BgChild {
    pub pid: libc::pid_t,
    /// The read end of the pipe for [`SnapshotTarget::Pipe`].
    pub pipe: Option<OwnedFd>,
    pub started: Instant,
    pub kind: ChildKind,
    /// How long `fork()` itself took (INFO stats `latest_fork_usec`).
    pub fork_usec: u64,
    /// The child's copy-on-write figures.
    pub cow: Option<std::sync::Arc<super::cow::ChildStats>>,
}

/// Forks a child that writes the snapshot of `st.store` to `target`. The caller must
/// hold the `State` lock (it does, having `&State`) and should register the child
/// with [`super::Persist::register`] so the cron reaps it. `kind` is
/// [`ChildKind::Rdb`] for a file and [`ChildKind::ReplSync`] for a pipe (the caller
/// may change it, e.g. to `AofRewrite`).
pub fn fork_snapshot(st: &State, aux: &SnapshotAux, target: SnapshotTarget) -> io::Result<BgChild> {
    let opts = WriteOptions::from_config(&st.config);
    match target {
        SnapshotTarget::File(path) => fork_with(ChildKind::Rdb, None, || {
            save_to_file(st, aux, &opts, &path).map(|_| ())
        }),
        SnapshotTarget::Pipe => {
            let mut fds = [0 as libc::c_int; 2];
            // SAFETY: `fds` is a valid two-element array for pipe2 to fill.
            if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) } != 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: pipe2 succeeded, so both descriptors are open and owned by us.
            let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
            let keep = wr.as_raw_fd();
            let mut wr = Some(wr);
            let child = fork_with(ChildKind::ReplSync, Some(keep), || {
                let f = File::from(wr.take().ok_or_else(|| io::Error::other("no pipe"))?);
                let mut f = write_rdb_opts(&st.store, aux, &opts, SyncEvery::new(f, 0))?;
                f.flush()
            })?;
            // Parent: the write end closes here.
            drop(wr);
            Ok(BgChild {
                pipe: Some(rd),
                ..child
            })
        }
    }
}

/// Writes a snapshot to `path` via `temp-<pid>.rdb` in the same folder: write,
/// fsync, rename, fsync the folder. Used in process by SAVE and in BGSAVE's child.
/// Returns the size written.
pub fn save_to_file(
    st: &State,
    aux: &SnapshotAux,
    opts: &WriteOptions,
    path: &Path,
) -> io::Result<u64> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let tmp = dir.join(format!("temp-{}.rdb", std::process::id()));
    let res = (|| {
        let every = match aux.aof_base {
            true if opts.aof_incremental_fsync => AUTOSYNC_BYTES,
            false if opts.rdb_incremental_fsync => AUTOSYNC_BYTES,
            _ => 0,
        };
        let f = SyncEvery::new(File::create(&tmp)?, every);
        let f = write_rdb_opts(&st.store, aux, opts, f)?.into_inner();
        f.sync_all()?;
        let len = f.metadata()?.len();
        drop(f);
        std::fs::rename(&tmp, path)?;
        File::open(&dir)?.sync_all()?;
        Ok(len)
    })();
    if res.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    res
}

/// Redis's REDIS_AUTOSYNC_BYTES: with incremental fsync, a file being written
/// is fsynced each time this much more was written.
const AUTOSYNC_BYTES: u64 = 4 << 20;

/// A file writer that fdatasyncs every `every` bytes (0: never), as Redis's
/// rio autosync: the disk takes a big snapshot in steps, and the last fsync
/// (and the AOF's own fsyncs meanwhile) do not wait behind gigabytes.
struct SyncEvery {
    f: File,
    every: u64,
    since: u64,
    /// A child's copy-on-write sampling, about once a second.
    cow: super::cow::Sampler,
}

impl SyncEvery {
    fn new(f: File, every: u64) -> Self {
        SyncEvery {
            f,
            every,
            since: 0,
            cow: Default::default(),
        }
    }
    fn into_inner(self) -> File {
        self.f
    }
}

impl Write for SyncEvery {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.f.write(buf)?;
        self.since += n as u64;
        self.cow.tick();
        if self.every > 0 && self.since >= self.every {
            self.f.sync_data()?;
            self.since = 0;
        }
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.f.flush()
    }
}

/// Forks; the child runs `work` and `_exit`s with 0 on success, 1 on error or
/// panic. The child first closes every descriptor above stderr except `keep` (as
/// Redis's children close the listening sockets: a child that outlives a killed
/// parent must not hold the port, nor a replica's socket, nor a pipe's read end).
pub fn fork_with(
    kind: ChildKind,
    keep: Option<RawFd>,
    work: impl FnOnce() -> io::Result<()>,
) -> io::Result<BgChild> {
    let t0 = Instant::now();
    let cow = super::cow::ChildStats::new().map(std::sync::Arc::new);
    // SAFETY: fork() has no preconditions. In the child only this thread exists:
    // it runs `work` (plain writes, jemalloc allocation, which its atfork handlers
    // make safe) and leaves with _exit, never returning into the runtime.
    let pid = unsafe { libc::fork() };
    if pid < 0 {
        return Err(io::Error::last_os_error());
    }
    if pid == 0 {
        // SAFETY: restoring default dispositions is async-signal-safe; the parent's
        // handlers (tokio's self-pipe) must not fire in the child.
        unsafe {
            libc::signal(libc::SIGTERM, libc::SIG_DFL);
            libc::signal(libc::SIGINT, libc::SIG_DFL);
        }
        close_fds_except(keep);
        if let Some(s) = &cow {
            s.attach_in_child();
        }
        let ok = std::panic::catch_unwind(std::panic::AssertUnwindSafe(work))
            .map(|r| r.is_ok())
            .unwrap_or(false);
        // The figure the parent reports as the child's last (Redis measures
        // at the end as well).
        super::cow::sample();
        // SAFETY: _exit ends the child without running the parent's atexit handlers
        // or destructors, which belong to the parent's runtime.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) }
    }
    Ok(BgChild {
        pid,
        pipe: None,
        started: Instant::now(),
        kind,
        fork_usec: t0.elapsed().as_micros() as u64,
        cow,
    })
}

/// Closes descriptors 3.. except `keep` (in a forked child; `close_range` is
/// async-signal-safe, the fallback loop too).
fn close_fds_except(keep: Option<RawFd>) {
    let ranges: [(u32, u32); 2] = match keep {
        Some(k) if k >= 3 => [(3, k as u32 - 1), (k as u32 + 1, u32::MAX)],
        _ => [(3, u32::MAX), (1, 0)],
    };
    for (lo, hi) in ranges {
        if lo > hi {
            continue;
        }
        // SAFETY: closing descriptors in the child; none of them is used afterwards
        // (the work opens its own files, or uses `keep`).
        if unsafe { libc::close_range(lo, hi, 0) } != 0 {
            for fd in lo..hi.min(65_536) {
                // SAFETY: as above.
                unsafe { libc::close(fd as RawFd) };
            }
        }
    }
}

/// How a child ended: `Some(Ok(()))` exited 0, `Some(Err(text))` failed or was
/// killed, `None` still running. `waitpid(pid, WNOHANG)`.
pub fn try_wait(pid: libc::pid_t) -> Option<Result<(), String>> {
    let mut status = 0;
    // SAFETY: waitpid on a pid we forked, with a valid status pointer.
    let r = unsafe { libc::waitpid(pid, &mut status, libc::WNOHANG) };
    if r == 0 {
        return None;
    }
    if r < 0 {
        return Some(Err(format!("waitpid: {}", io::Error::last_os_error())));
    }
    if libc::WIFEXITED(status) {
        match libc::WEXITSTATUS(status) {
            0 => Some(Ok(())),
            c => Some(Err(format!("exited with status {c}"))),
        }
    } else if libc::WIFSIGNALED(status) {
        Some(Err(format!(
            "terminated by signal {}",
            libc::WTERMSIG(status)
        )))
    } else {
        None
    }
}

/// Sends SIGUSR1 to a child (Redis kills its children with SIGUSR1 so the exit is
/// told apart from a crash) and waits for it.
pub fn kill_and_wait(pid: libc::pid_t) {
    // SAFETY: signalling and waiting for our own child.
    unsafe {
        libc::kill(pid, libc::SIGUSR1);
        let mut status = 0;
        libc::waitpid(pid, &mut status, 0);
    }
}
