//! Busy polling for a shard under pipelined load: after a client batch of
//! several requests, the shard keeps polling its sockets for `busy-poll`
//! microseconds instead of sleeping in `epoll_wait`.
//!
//! At pipeline 16 the proxy's own code is a fifth of its time; the rest is the
//! kernel, and a good part of that is sleeping and being woken: its own
//! context switches, and the wake-ups its clients and the node pay in their
//! writes to a sleeping proxy. Polling for the next batch instead took the
//! proxy's CPU per request from 0.87 to 0.68 µs and SET at pipeline 16 from
//! 1.40x to 1.57x twemproxy's throughput (BENCHMARKS.md). Single requests
//! (pipeline 1) do not start it: there the three processes on a small machine
//! need every core, and a spinning proxy took time the others needed.
//!
//! As in the server (`tandem-server`'s `busy`), the poller is a task that
//! yields in a loop, and each turn also yields the core to any other thread
//! waiting for it. One poller per shard (a thread-local: each shard is a
//! single-threaded runtime).

use std::cell::Cell;
use std::rc::Rc;
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// A client batch with at least this many requests starts the poller.
pub const PIPELINED: u64 = 4;

struct Poller {
    activity: Cell<u64>,
    spinning: Cell<bool>,
    window: Cell<Duration>,
    wake: Rc<Notify>,
}

thread_local! {
    static POLLER: Poller = Poller {
        activity: Cell::new(0),
        spinning: Cell::new(false),
        window: Cell::new(Duration::ZERO),
        wake: Rc::new(Notify::new()),
    };
}

/// Pipelined input arrived: keep polling (start the poller if it sleeps).
pub fn touch() {
    POLLER.with(|p| {
        p.activity.set(p.activity.get().wrapping_add(1));
        if !p.spinning.get() && !p.window.get().is_zero() {
            p.spinning.set(true);
            p.wake.notify_one();
        }
    });
}

/// Activity that keeps a running poller going but does not start one.
pub fn bump() {
    POLLER.with(|p| p.activity.set(p.activity.get().wrapping_add(1)));
}

/// The shard's poller (never ends); `window` 0 turns it off. Runs on the
/// shard's thread.
pub async fn run(window: Duration) {
    let wake = POLLER.with(|p| {
        p.window.set(window);
        p.wake.clone()
    });
    if window.is_zero() {
        return std::future::pending().await;
    }
    let activity = || POLLER.with(|p| p.activity.get());
    loop {
        wake.notified().await;
        let mut last = activity();
        let mut since = Instant::now();
        loop {
            tokio::task::yield_now().await;
            std::thread::yield_now();
            let now = activity();
            if now != last {
                last = now;
                since = Instant::now();
            } else if since.elapsed() >= window {
                break;
            }
        }
        POLLER.with(|p| p.spinning.set(false));
    }
}
