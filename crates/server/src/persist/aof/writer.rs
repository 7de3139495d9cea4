//! The AOF writer: the write stream's bytes go to the current incremental file
//! with one write() per batch, and a helper thread fsyncs per `appendfsync`.
//!
//! ```text
//!  WriteStream::append (under the State lock) ── AofFeed::feed ──> pending buffer
//!  end of a client's batch (still under the lock) ── AofFeed::flush ──> write()
//!      everysec / no: publish the written offset to gates.aof_fsynced at once
//!      always:        wake the fsync thread
//!  fsync thread: fdatasync outside every lock (writes go on meanwhile), then
//!      always: publish the synced offset (releases the waiting replies; one
//!      fdatasync covers every batch written before it: group commit)
//!      everysec: once a second, publishes nothing (replies did not wait for it)
//! ```
//!
//! Writing in the batch, under the lock, keeps the file in stream order with no
//! thread hand-off on the reply path (as Redis writes its AOF buffer before
//! replying); writes fed outside client batches (cron expiry) are written by the
//! helper within 100 ms. A `switch` (BGREWRITEAOF) writes what is pending to the
//! old file, fsyncs it and continues in the new one, at exactly the stream position
//! where the rewrite's snapshot is forked.

use std::fs::File;
use std::io::Write;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex, MutexGuard};
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

struct Inner {
    /// Fed bytes not yet written, and the stream offset they end at.
    pending: Vec<u8>,
    pending_end: u64,
    /// The database the current file last SELECTed.
    db: Option<usize>,
    file: Arc<File>,
    written_end: u64,
    synced_end: u64,
    policy: Fsync,
    stop: bool,
    last_sync: Instant,
    /// `aof-timestamp-enabled`: the second of the last `#TS:` annotation
    /// written (0: none yet); None when off.
    timestamp: Option<i64>,
}

/// State shared by the feed (under the State lock) and the fsync thread.
pub struct AofShared {
    inner: Mutex<Inner>,
    cv: Condvar,
    fsynced: watch::Sender<u64>,
    /// Bytes written to the current incremental file.
    pub cur_file_bytes: AtomicU64,
    /// False after a failed write or fsync (INFO `aof_last_write_status`).
    pub write_ok: AtomicBool,
    /// The OS error of the last failed write or fsync (`MISCONF` names it).
    pub last_errno: std::sync::atomic::AtomicI32,
    /// `no-appendfsync-on-rewrite` while a child runs: no fsync.
    hold: AtomicBool,
}

impl AofShared {
    fn publish(&self, end: u64) {
        self.fsynced.send_if_modified(|v| {
            if *v < end {
                *v = end;
                true
            } else {
                false
            }
        });
    }

    /// Writes the pending bytes (caller holds `inner`).
    fn write_pending(&self, g: &mut Inner) {
        if g.pending.is_empty() {
            return;
        }
        match (&*g.file).write_all(&g.pending) {
            Ok(()) => {
                self.cur_file_bytes
                    .fetch_add(g.pending.len() as u64, Ordering::Relaxed);
                g.written_end = g.pending_end;
            }
            Err(e) => {
                self.last_errno
                    .store(e.raw_os_error().unwrap_or(0), Ordering::Relaxed);
                fail(
                    self,
                    g.policy,
                    &format!("Error writing to the AOF file: {e}"),
                )
            }
        }
        g.pending.clear();
        if g.pending.capacity() > 1 << 20 {
            g.pending.shrink_to(64 * 1024);
        }
    }
}

/// The handle the write stream feeds.
#[derive(Clone)]
pub struct AofFeed(pub Arc<AofShared>);

impl AofFeed {
    /// Queues one write (under the State lock). `selected` says the bytes already
    /// begin with a `SELECT db`; the AOF adds one whenever its own file's current
    /// database differs (e.g. at the top of a new incremental file).
    pub fn feed(&self, db: usize, selected: bool, bytes: &[u8], end: u64) {
        let mut g = self.0.inner.lock();
        if let Some(last) = g.timestamp {
            // Redis's annotation, once per second that has writes, before
            // any SELECT; loaders skip lines that start with '#'.
            let now = crate::dispatch::now_ms() / 1000;
            if now > last {
                g.timestamp = Some(now);
                let ts = format!("#TS:{now}\r\n");
                g.pending.extend_from_slice(ts.as_bytes());
            }
        }
        if g.db != Some(db) && !selected {
            let n = db.to_string();
            let sel = format!("*2\r\n$6\r\nSELECT\r\n${}\r\n{n}\r\n", n.len());
            g.pending.extend_from_slice(sel.as_bytes());
        }
        g.db = Some(db);
        g.pending.extend_from_slice(bytes);
        g.pending_end = end;
    }

    /// Writes what the batch fed (under the State lock, at the end of a batch).
    pub fn flush(&self) {
        let mut g = self.0.inner.lock();
        if g.pending.is_empty() {
            return;
        }
        self.0.write_pending(&mut g);
        if g.policy == Fsync::Always {
            drop(g);
            self.0.cv.notify_one();
        } else {
            let end = g.written_end;
            drop(g);
            self.0.publish(end);
        }
    }

    /// Continues in `file` (under the State lock, right before the rewrite's
    /// fork): what was fed before is written to the old file and fsynced.
    pub fn switch(&self, file: File) {
        let mut g = self.0.inner.lock();
        self.0.write_pending(&mut g);
        if let Err(e) = g.file.sync_data() {
            fail(
                &self.0,
                g.policy,
                &format!("Error fsyncing the AOF file: {e}"),
            );
        }
        g.synced_end = g.written_end;
        g.file = Arc::new(file);
        g.db = None;
        self.0.cur_file_bytes.store(0, Ordering::Relaxed);
        let end = g.written_end;
        drop(g);
        self.0.publish(end);
    }

    /// Holds (or resumes) fsyncs; see `persist::hold_aof_fsync`.
    pub fn hold_fsync(&self, on: bool) {
        if self.0.hold.swap(on, Ordering::Relaxed) && !on {
            // Catch up at once.
            self.0.cv.notify_one();
        }
    }

    /// `aof-timestamp-enabled` on or off.
    pub fn set_timestamps(&self, on: bool) {
        let mut g = self.0.inner.lock();
        match (on, g.timestamp) {
            (true, None) => g.timestamp = Some(0),
            (false, Some(_)) => g.timestamp = None,
            _ => {}
        }
    }

    pub fn set_policy(&self, p: Fsync) {
        let mut g = self.0.inner.lock();
        g.policy = p;
        // Whatever was written is released under the new policy's rules.
        self.0.write_pending(&mut g);
        let end = g.written_end;
        drop(g);
        if p != Fsync::Always {
            self.0.publish(end);
        }
        self.0.cv.notify_one();
    }
}

/// A running AOF writer.
pub struct Writer {
    pub feed: AofFeed,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    /// Starts appending to `file` (opened for append); `fsynced` is the gate to
    /// advance, `start_offset` the stream offset now.
    pub fn start(
        file: File,
        policy: Fsync,
        fsynced: watch::Sender<u64>,
        start_offset: u64,
    ) -> std::io::Result<Writer> {
        let len = file.metadata().map(|m| m.len()).unwrap_or(0);
        let shared = Arc::new(AofShared {
            inner: Mutex::new(Inner {
                pending: Vec::with_capacity(64 * 1024),
                pending_end: start_offset,
                db: None,
                file: Arc::new(file),
                written_end: start_offset,
                synced_end: start_offset,
                policy,
                stop: false,
                last_sync: Instant::now(),
                timestamp: None,
            }),
            cv: Condvar::new(),
            fsynced,
            cur_file_bytes: AtomicU64::new(len),
            write_ok: AtomicBool::new(true),
            last_errno: std::sync::atomic::AtomicI32::new(0),
            hold: AtomicBool::new(false),
        });
        let s2 = shared.clone();
        let thread = std::thread::Builder::new()
            .name("tandem-aof".into())
            .spawn(move || run(s2))?;
        Ok(Writer {
            feed: AofFeed(shared),
            thread: Some(thread),
        })
    }

    /// Writes and fsyncs everything fed, then stops the thread.
    pub fn stop(mut self) {
        self.feed.0.inner.lock().stop = true;
        self.feed.0.cv.notify_one();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn needs_sync(g: &Inner) -> bool {
    g.written_end > g.synced_end
        && match g.policy {
            Fsync::Always => true,
            Fsync::EverySec => g.last_sync.elapsed() >= Duration::from_secs(1),
            Fsync::No => false,
        }
}

/// The fsync thread (also writes what was fed outside client batches).
fn run(s: Arc<AofShared>) {
    let mut g = s.inner.lock();
    loop {
        if !g.pending.is_empty() {
            s.write_pending(&mut g);
            if g.policy != Fsync::Always {
                let end = g.written_end;
                MutexGuard::unlocked(&mut g, || s.publish(end));
            }
        }
        if needs_sync(&g) && !g.stop && s.hold.load(Ordering::Relaxed) {
            // Held: what is written counts as done for `appendfsync always`
            // too (Redis's trade), and is fsynced once the hold ends.
            let (end, policy) = (g.written_end, g.policy);
            if policy == Fsync::Always {
                MutexGuard::unlocked(&mut g, || s.publish(end));
            }
            s.cv.wait_for(&mut g, Duration::from_millis(100));
            continue;
        }
        if needs_sync(&g) || (g.stop && g.written_end > g.synced_end) {
            let (file, target, policy) = (g.file.clone(), g.written_end, g.policy);
            // The fsync runs outside the lock: batches keep writing meanwhile.
            let res = MutexGuard::unlocked(&mut g, || file.sync_data());
            match res {
                Ok(()) => {
                    g.synced_end = g.synced_end.max(target);
                    g.last_sync = Instant::now();
                    s.write_ok.store(true, Ordering::Relaxed);
                    if policy == Fsync::Always {
                        MutexGuard::unlocked(&mut g, || s.publish(target));
                    }
                }
                Err(e) => {
                    s.last_errno
                        .store(e.raw_os_error().unwrap_or(0), Ordering::Relaxed);
                    fail(&s, policy, &format!("Error fsyncing the AOF file: {e}"))
                }
            }
            continue;
        }
        if g.stop {
            let end = g.written_end;
            drop(g);
            s.publish(end);
            return;
        }
        s.cv.wait_for(&mut g, Duration::from_millis(100));
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

#[cfg(test)]
mod tests {
    use super::*;

    fn wait_until(mut f: impl FnMut() -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !f() {
            assert!(Instant::now() < deadline, "timed out");
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    #[test]
    fn select_at_file_top_switch_order_and_fsync_publish() {
        let dir = tempfile::tempdir().expect("tmp");
        let open = |n: &str| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(dir.path().join(n))
                .expect("open")
        };
        let (tx, rx) = watch::channel(0u64);
        let w = Writer::start(open("a"), Fsync::Always, tx, 0).expect("start");
        let sel0 = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n";
        let set = b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        // The stream already selected db 0: no second SELECT.
        let mut first = sel0.to_vec();
        first.extend_from_slice(set);
        w.feed.feed(0, true, &first, first.len() as u64);
        w.feed.flush();
        // Always: published once fsynced by the helper thread.
        wait_until(|| *rx.borrow() == first.len() as u64);
        w.feed.switch(open("b"));
        // The stream does not repeat SELECT, the new file gets one.
        let end = first.len() as u64 + set.len() as u64;
        w.feed.feed(0, false, set, end);
        w.feed.flush();
        wait_until(|| *rx.borrow() == end);
        w.stop();
        assert_eq!(std::fs::read(dir.path().join("a")).expect("a"), first);
        let mut second = sel0.to_vec();
        second.extend_from_slice(set);
        assert_eq!(std::fs::read(dir.path().join("b")).expect("b"), second);
    }

    #[test]
    fn stragglers_fed_outside_batches_are_written_by_the_thread() {
        let dir = tempfile::tempdir().expect("tmp");
        let f = File::create(dir.path().join("a")).expect("create");
        let (tx, rx) = watch::channel(0u64);
        let w = Writer::start(f, Fsync::No, tx, 100).expect("start");
        let del = b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
        w.feed.feed(3, true, del, 100 + del.len() as u64);
        // No flush: the helper picks it up.
        wait_until(|| *rx.borrow() == 100 + del.len() as u64);
        w.stop();
        assert_eq!(
            std::fs::read(dir.path().join("a")).expect("a"),
            del.to_vec()
        );
    }
}
