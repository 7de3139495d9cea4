//! Freeing big values off the command path (Redis's `lazyfree.c`).
//!
//! ```text
//!   UNLINK / FLUSHALL ASYNC --drop_value / drop_db--> mpsc channel --> "lazyfree" thread
//!                           (pending += 1)                            drop(job); pending -= 1
//! ```
//!
//! Dropping a hash of a million fields takes tens of milliseconds; doing it on the
//! thread that holds the store lock would stall every client. The thread is started
//! on first use (a `OnceLock`), so tests and tools that never free lazily never
//! spawn it.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc::{channel, Sender};
use std::sync::{Mutex, OnceLock};

use crate::dict::Dict;
use crate::keyspace::Entry;
use crate::value::Value;

/// Values with more elements than this are freed in the background; smaller ones
/// are cheaper to free inline than to hand over (Redis's `LAZYFREE_THRESHOLD`).
pub const LAZYFREE_THRESHOLD: usize = 64;

type Job = Box<dyn Send>;

static PENDING: AtomicU64 = AtomicU64::new(0);
static FREED: AtomicU64 = AtomicU64::new(0);
static QUEUE: OnceLock<Mutex<Sender<Job>>> = OnceLock::new();

fn queue() -> &'static Mutex<Sender<Job>> {
    QUEUE.get_or_init(|| {
        let (tx, rx) = channel::<Job>();
        let spawned = std::thread::Builder::new()
            .name("lazyfree".into())
            .spawn(move || {
                for job in rx {
                    drop(job);
                    FREED.fetch_add(1, Ordering::Relaxed);
                    PENDING.fetch_sub(1, Ordering::Release);
                }
            });
        if spawned.is_err() {
            // No thread (resource exhaustion): jobs sent to a dropped receiver
            // come back as errors and are freed inline by `free_later`.
        }
        Mutex::new(tx)
    })
}

/// Frees `job` on the background thread (inline if the thread is unavailable).
fn free_later(job: Job) {
    PENDING.fetch_add(1, Ordering::Relaxed);
    let sent = match queue().lock() {
        Ok(tx) => tx.send(job).map_err(|e| e.0),
        Err(_) => Err(job),
    };
    if let Err(job) = sent {
        drop(job);
        PENDING.fetch_sub(1, Ordering::Relaxed);
    }
}

/// How much work freeing `v` is, in elements (Redis's `lazyfreeGetFreeEffort`).
/// Strings are one allocation. The aggregate types do not expose an element count
/// through `Value` yet, so they are counted as over the threshold: handing a small
/// one to the thread costs a channel send, never a stall.
pub fn free_effort(v: &Value) -> usize {
    match v {
        Value::Str(_) => 1,
        _ => LAZYFREE_THRESHOLD + 1,
    }
}

/// Frees a deleted value: in the background if it is big, else right here.
pub fn drop_value(v: Value) {
    if free_effort(&v) > LAZYFREE_THRESHOLD {
        free_later(Box::new(v));
    } else {
        drop(v);
    }
}

/// Frees a whole database's tables in the background (FLUSHALL/FLUSHDB ASYNC).
pub fn drop_db(dict: Dict<Entry>, expires: Dict<i64>) {
    if dict.is_empty() && expires.is_empty() {
        return;
    }
    free_later(Box::new((dict, expires)));
}

/// Objects queued and not yet freed (INFO `lazyfree_pending_objects`).
pub fn pending_objects() -> u64 {
    PENDING.load(Ordering::Acquire)
}

/// Objects freed by the background thread so far (INFO `lazyfreed_objects`).
pub fn freed_objects() -> u64 {
    FREED.load(Ordering::Relaxed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::string::Str;
    use std::time::{Duration, Instant};

    fn wait_until(cond: impl Fn() -> bool) -> bool {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if cond() {
                return true;
            }
            std::thread::yield_now();
        }
        false
    }

    #[test]
    fn big_values_and_dbs_are_freed_in_background() {
        let before = freed_objects();
        drop_value(Value::Str(Str::from_bytes(&[1; 10])));
        assert_eq!(freed_objects(), before, "strings are freed inline");
        let mut d = Dict::new();
        d.insert(
            b"k",
            Entry {
                value: Value::Str(Str::from_bytes(b"1")),
                lru: 0,
            },
        );
        drop_db(d, Dict::new());
        assert!(wait_until(|| freed_objects() > before));
    }
}
