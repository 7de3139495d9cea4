//! The AOF writer: a dedicated thread that appends the write stream's bytes to the
//! current incremental file and fsyncs them per `appendfsync`.
//!
//! ```text
//!  WriteStream::append (under the State lock) ──AofFeed::feed──> queue (own mutex)
//!  writer thread: take everything queued ─ write() ─ fdatasync (always: every
//!  batch; everysec: once a second) ─ publish the synced stream offset to
//!  gates.aof_fsynced, which releases the replies waiting on it (group commit)
//! ```
//!
//! A `Switch` in the queue (BGREWRITEAOF) makes the writer fsync the current file
//! and continue in a new one, at exactly the stream position where the rewrite's
//! snapshot was forked.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};
use tokio::sync::watch;

/// `appendfsync`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fsync {
    Always,
    EverySec,
    No,
}

impl Fsync {
    pub fn parse(s: &str) -> Fsync {
        match s {
            "always" => Fsync::Always,
            "no" => Fsync::No,
            _ => Fsync::EverySec,
        }
    }
}

enum Op {
    /// Bytes and the write-stream offset they end at.
    Data(Vec<u8>, u64),
    /// Continue in a new incremental file.
    Switch(File),
}

struct Queue {
    ops: Vec<Op>,
    /// The database the AOF's current file last SELECTed.
    db: Option<usize>,
    policy: Fsync,
    stop: bool,
}

/// State shared between the feed (under the State lock) and the writer thread.
pub struct AofShared {
    q: Mutex<Queue>,
    cv: Condvar,
    /// Bytes written to the current incremental file.
    pub cur_file_bytes: AtomicU64,
    /// False after a failed write or fsync (INFO `aof_last_write_status`).
    pub write_ok: AtomicBool,
    /// Stream offset written and synced (everysec/no: written).
    pub synced: AtomicU64,
    /// An everysec background fsync is running (Redis's bio fsync job).
    fsync_busy: Arc<AtomicBool>,
}

/// The handle the write stream feeds.
#[derive(Clone)]
pub struct AofFeed(pub Arc<AofShared>);

impl AofFeed {
    /// Queues one write (called under the State lock). `selected` says the bytes
    /// already begin with a `SELECT db`; the AOF adds one whenever its own file's
    /// current database differs (e.g. at the top of a new incremental file).
    pub fn feed(&self, db: usize, selected: bool, bytes: &[u8], end: u64) {
        let mut q = self.0.q.lock();
        let mut buf = match q.ops.last_mut() {
            Some(Op::Data(..)) => match q.ops.pop() {
                Some(Op::Data(b, _)) => b,
                _ => Vec::new(),
            },
            _ => Vec::with_capacity(bytes.len() + 32),
        };
        if q.db != Some(db) && !selected {
            let n = db.to_string();
            buf.extend_from_slice(
                format!("*2\r\n$6\r\nSELECT\r\n${}\r\n{n}\r\n", n.len()).as_bytes(),
            );
        }
        q.db = Some(db);
        buf.extend_from_slice(bytes);
        q.ops.push(Op::Data(buf, end));
        drop(q);
        self.0.cv.notify_one();
    }

    /// Queues a switch to `file` (called under the State lock, right before the
    /// rewrite's fork): what was fed before goes to the old file.
    pub fn switch(&self, file: File) {
        let mut q = self.0.q.lock();
        q.ops.push(Op::Switch(file));
        q.db = None;
        drop(q);
        self.0.cv.notify_one();
    }

    pub fn set_policy(&self, p: Fsync) {
        self.0.q.lock().policy = p;
        self.0.cv.notify_one();
    }
}

/// A running writer thread.
pub struct Writer {
    pub feed: AofFeed,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts the thread appending to `file` (already positioned at its end);
    /// `fsynced` is the gate to advance, `start_offset` the stream offset now.
    pub fn start(
        file: File,
        policy: Fsync,
        fsynced: watch::Sender<u64>,
        start_offset: u64,
    ) -> std::io::Result<Writer> {
        let shared = Arc::new(AofShared {
            q: Mutex::new(Queue {
                ops: Vec::new(),
                db: None,
                policy,
                stop: false,
            }),
            cv: Condvar::new(),
            cur_file_bytes: AtomicU64::new(file.metadata().map(|m| m.len()).unwrap_or(0)),
            write_ok: AtomicBool::new(true),
            synced: AtomicU64::new(start_offset),
            fsync_busy: Arc::new(AtomicBool::new(false)),
        });
        let s2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tandem-aof".into())
            .spawn(move || run(s2, file, fsynced))?;
        Ok(Writer {
            feed: AofFeed(shared),
            thread: Some(thread),
        })
    }

    /// Writes and fsyncs everything queued, then stops the thread.
    pub fn stop(mut self) {
        self.feed.0.q.lock().stop = true;
        self.feed.0.cv.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn run(s: Arc<AofShared>, mut file: File, fsynced: watch::Sender<u64>) {
    let mut last_sync = Instant::now();
    let mut written_end = 0u64;
    let mut unsynced = false;
    loop {
        let (ops, policy, stop) = {
            let mut q = s.q.lock();
            while q.ops.is_empty() && !q.stop {
                let timeout = Duration::from_millis(if unsynced { 200 } else { 1000 });
                s.cv.wait_for(&mut q, timeout);
                if unsynced
                    && q.policy == Fsync::EverySec
                    && last_sync.elapsed() >= Duration::from_secs(1)
                {
                    break;
                }
            }
            (std::mem::take(&mut q.ops), q.policy, q.stop)
        };
        for op in ops {
            match op {
                Op::Data(bytes, end) => {
                    if let Err(e) = file.write_all(&bytes) {
                        fail(&s, policy, &format!("Error writing to the AOF file: {e}"));
                        continue;
                    }
                    s.cur_file_bytes
                        .fetch_add(bytes.len() as u64, Ordering::Relaxed);
                    written_end = written_end.max(end);
                    unsynced = true;
                }
                Op::Switch(new) => {
                    if let Err(e) = file.sync_data() {
                        fail(&s, policy, &format!("Error fsyncing the AOF file: {e}"));
                    }
                    file = new;
                    s.cur_file_bytes.store(0, Ordering::Relaxed);
                }
            }
        }
        // everysec: the fsync runs on a helper thread so that writes (and the
        // replies waiting for them) never stall behind it, as Redis's bio thread.
        if !stop
            && policy == Fsync::EverySec
            && unsynced
            && last_sync.elapsed() >= Duration::from_secs(1)
            && !s.fsync_busy.swap(true, Ordering::AcqRel)
        {
            last_sync = Instant::now();
            unsynced = false;
            match file.try_clone() {
                Ok(f) => {
                    let busy = s.fsync_busy.clone();
                    let spawned = std::thread::Builder::new()
                        .name("tandem-aof-fsync".into())
                        .spawn(move || {
                            if let Err(e) = f.sync_data() {
                                tracing::warn!("Error fsyncing the AOF file: {e}");
                            }
                            busy.store(false, Ordering::Release);
                        });
                    if spawned.is_err() {
                        s.fsync_busy.store(false, Ordering::Release);
                        unsynced = true;
                    }
                }
                Err(_) => {
                    s.fsync_busy.store(false, Ordering::Release);
                    unsynced = true;
                }
            }
        }
        let sync_now = stop || (policy == Fsync::Always && unsynced);
        if sync_now {
            match file.sync_data() {
                Ok(()) => {
                    s.write_ok.store(true, Ordering::Relaxed);
                    unsynced = false;
                    last_sync = Instant::now();
                }
                Err(e) => fail(&s, policy, &format!("Error fsyncing the AOF file: {e}")),
            }
        }
        // Always: only synced bytes are published; everysec/no: written ones.
        if !unsynced || policy != Fsync::Always {
            s.synced.store(written_end, Ordering::Release);
            fsynced.send_if_modified(|v| {
                if *v < written_end {
                    *v = written_end;
                    true
                } else {
                    false
                }
            });
        }
        if stop {
            return;
        }
    }
}

/// A write or fsync failed. With `appendfsync always` an acknowledged write could
/// be lost, so the process stops, as Redis does ("Can't recover from AOF write
/// error when the AOF fsync policy is 'always'. Exiting...").
fn fail(s: &AofShared, policy: Fsync, msg: &str) {
    s.write_ok.store(false, Ordering::Relaxed);
    tracing::warn!("{msg}");
    if policy == Fsync::Always {
        tracing::error!(
            "Can't recover from AOF write error when the AOF fsync policy is 'always'. Exiting..."
        );
        std::process::exit(1);
    }
}
