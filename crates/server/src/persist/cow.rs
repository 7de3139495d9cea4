//! Copy-on-write figures of forked children (INFO `current_cow_size`,
//! `current_cow_peak`, `current_cow_size_age`, `rdb_last_cow_size`,
//! `aof_last_cow_size`), as Redis reports them: the child measures its own
//! private dirty memory (what the fork has copied so far) about once a second
//! while it writes and once at the end, and the parent reads the figures.
//!
//! They travel through one shared anonymous page mapped before the fork (no
//! pipe or message to drain): the child stores, the parent loads.

use std::sync::atomic::{AtomicI64, AtomicPtr, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// The figures a child shares with its parent.
#[repr(C)]
struct Shared {
    /// Private dirty bytes at the last sample.
    size: AtomicU64,
    /// The largest sample so far.
    peak: AtomicU64,
    /// When the last sample was taken (ms since the Unix epoch; 0: none yet).
    at_ms: AtomicI64,
    /// Keys written so far, and in all.
    keys_done: AtomicU64,
    keys_total: AtomicU64,
}

/// The parent's handle on a child's shared page (unmapped when dropped).
#[derive(Debug)]
pub struct ChildStats {
    page: *mut Shared,
}

// SAFETY: the page holds only atomics and lives until the handle is dropped.
unsafe impl Send for ChildStats {}
// SAFETY: as above; every access goes through the atomics.
unsafe impl Sync for ChildStats {}

const PAGE: usize = 4096;

impl ChildStats {
    /// Maps the page (before the fork). None if the system refuses, then the
    /// child reports nothing and the figures stay 0.
    pub fn new() -> Option<ChildStats> {
        // SAFETY: an anonymous shared mapping with no address hint; the result
        // is checked against MAP_FAILED before use.
        let p = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                PAGE,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_SHARED | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        if p == libc::MAP_FAILED {
            return None;
        }
        // A fresh anonymous mapping is zero-filled: every atomic starts at 0.
        Some(ChildStats {
            page: p.cast::<Shared>(),
        })
    }

    fn shared(&self) -> &Shared {
        // SAFETY: `page` points at a live mapping of PAGE bytes (until drop),
        // zero-initialised, which is a valid `Shared` of atomics.
        unsafe { &*self.page }
    }

    /// Private dirty bytes at the last sample.
    pub fn size(&self) -> u64 {
        self.shared().size.load(Ordering::Relaxed)
    }

    /// The largest sample.
    pub fn peak(&self) -> u64 {
        self.shared().peak.load(Ordering::Relaxed)
    }

    /// Seconds since the last sample (0 before the first).
    pub fn age_secs(&self, now_ms: i64) -> i64 {
        match self.shared().at_ms.load(Ordering::Relaxed) {
            0 => 0,
            at => (now_ms - at).max(0) / 1000,
        }
    }

    /// Keys saved so far and in all (INFO `current_save_keys_*`).
    pub fn keys(&self) -> (u64, u64) {
        let s = self.shared();
        (
            s.keys_done.load(Ordering::Relaxed),
            s.keys_total.load(Ordering::Relaxed),
        )
    }

    /// In the child, right after the fork: samples go to this page.
    pub fn attach_in_child(&self) {
        CHILD_PAGE.store(self.page, Ordering::Relaxed);
    }
}

impl Drop for ChildStats {
    fn drop(&mut self) {
        // SAFETY: the mapping made in `new`, unmapped once.
        unsafe { libc::munmap(self.page.cast(), PAGE) };
    }
}

/// The page of the child this process is (null in the server process).
static CHILD_PAGE: AtomicPtr<Shared> = AtomicPtr::new(std::ptr::null_mut());

/// Samples at most about once a second, for a child's writer to call as it
/// writes.
pub struct Sampler {
    next: Instant,
}

impl Default for Sampler {
    fn default() -> Self {
        Sampler {
            next: Instant::now() + Duration::from_secs(1),
        }
    }
}

impl Sampler {
    pub fn tick(&mut self) {
        if Instant::now() >= self.next {
            sample();
            self.next = Instant::now() + Duration::from_secs(1);
        }
    }
}

/// A child's progress through the keys it saves (nothing in the server
/// process).
pub fn keys(done: u64, total: u64) {
    let p = CHILD_PAGE.load(Ordering::Relaxed);
    if p.is_null() {
        return;
    }
    // SAFETY: as in `sample`.
    let s = unsafe { &*p };
    s.keys_done.store(done, Ordering::Relaxed);
    s.keys_total.store(total, Ordering::Relaxed);
}

/// Measures this process's private dirty memory into its page (in a child;
/// nothing in the server process).
pub fn sample() {
    let p = CHILD_PAGE.load(Ordering::Relaxed);
    if p.is_null() {
        return;
    }
    let Some(bytes) = private_dirty() else {
        return;
    };
    // SAFETY: set by `attach_in_child` from a live mapping the parent keeps
    // until this child is reaped.
    let s = unsafe { &*p };
    s.size.store(bytes, Ordering::Relaxed);
    s.peak.fetch_max(bytes, Ordering::Relaxed);
    s.at_ms.store(crate::dispatch::now_ms(), Ordering::Relaxed);
}

/// `Private_Dirty` of /proc/self/smaps_rollup, in bytes (Redis's
/// zmalloc_get_private_dirty sums the same field over smaps).
fn private_dirty() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/self/smaps_rollup").ok()?;
    parse_private_dirty(&text)
}

fn parse_private_dirty(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("Private_Dirty:"))
        .and_then(|v| v.trim().strip_suffix("kB"))
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map(|kb| kb * 1024)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_private_dirty_of_smaps_rollup() {
        let text = "55d0c0000000-7ffd00000000 ---p 00000000 00:00 0   [rollup]\nRss:  1000 kB\nPrivate_Clean:  10 kB\nPrivate_Dirty:   2048 kB\n";
        assert_eq!(parse_private_dirty(text), Some(2048 * 1024));
        assert!(
            private_dirty().is_some_and(|b| b > 0),
            "this process has dirty pages"
        );
    }

    #[test]
    fn a_child_reports_through_the_page() {
        let stats = ChildStats::new().expect("mmap");
        // SAFETY: the child only touches the page, a file read and _exit.
        let pid = unsafe { libc::fork() };
        assert!(pid >= 0);
        if pid == 0 {
            stats.attach_in_child();
            sample();
            // SAFETY: leaves the test child at once.
            unsafe { libc::_exit(0) };
        }
        let mut status = 0;
        // SAFETY: waiting for the child just forked.
        unsafe { libc::waitpid(pid, &mut status, 0) };
        assert!(stats.size() > 0 && stats.peak() >= stats.size());
        assert!(stats.age_secs(crate::dispatch::now_ms()) <= 1);
        // The server process itself reports nothing.
        sample();
    }
}
