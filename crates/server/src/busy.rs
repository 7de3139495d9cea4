//! Busy polling: after a batch of requests, the runtime keeps polling its sockets
//! for `busy-poll` microseconds instead of sleeping in `epoll_wait`.
//!
//! A sleeping server costs its clients: a client's `write` to a sleeping thread's
//! socket has to wake it (scheduler work and, in a VM, an inter-processor
//! interrupt), and at pipeline 1 that client-side cost is the bottleneck, since
//! one `redis-benchmark` thread saturates its core before either server does.
//! Measured (release, `redis-benchmark -c 50 -P 1 -d 64`, five interleaved rounds,
//! the benchmark's own CPU per request): Tandem sleeping 12.6-19.6 µs, busy
//! polling 100 µs 11.5-13.5, Redis 12.4-17.5; see BENCHMARKS.md.
//!
//! The poller is one task that yields in a loop while the node was active within
//! the window: a yielded task keeps tokio's scheduler from parking, so each turn
//! polls the I/O driver with a zero timeout. An idle node never spins; the cost
//! of a lone request is at most the window of one core's time.
//!
//! Each turn also yields the core to the operating system (`sched_yield`): a
//! spinning thread is always runnable, and a client process the kernel placed
//! on the same core would otherwise wait for the end of the spinner's time
//! slice. Measured (8 interleaved rounds, 50 clients, pipeline 1): p99 0.40-0.55
//! ms with the yield, 0.47-0.74 without, Redis 0.64-0.74; throughput unchanged
//! (new/old 0.99-1.03). See BENCHMARKS.md.

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

/// Activity counter and the poller's wake-up, shared by the connection tasks.
#[derive(Default)]
pub struct BusyPoll {
    /// Bumped by every batch of requests read.
    activity: AtomicU64,
    /// Set while the poller spins (or is already woken): a batch then costs one
    /// relaxed increment and no notification.
    spinning: AtomicBool,
    /// The window in microseconds (0: never spin), from the `busy-poll` setting.
    window_us: AtomicU64,
    wake: Notify,
}

impl BusyPoll {
    /// Sets the window (`busy-poll`, CONFIG SET included).
    pub fn set_window(&self, us: u64) {
        self.window_us.store(us, Ordering::Relaxed);
    }

    /// Records a batch of requests; starts the poller if it is asleep.
    #[inline]
    pub fn touch(&self) {
        self.activity.fetch_add(1, Ordering::Relaxed);
        if !self.spinning.load(Ordering::Relaxed) && self.window_us.load(Ordering::Relaxed) > 0 {
            self.spinning.store(true, Ordering::Relaxed);
            self.wake.notify_one();
        }
    }

    /// The poller task: sleeps until a batch arrives, then yields until the node
    /// has been idle for the whole window.
    pub async fn run(&self) {
        loop {
            self.wake.notified().await;
            let mut last = self.activity.load(Ordering::Relaxed);
            let mut since = Instant::now();
            loop {
                let window = Duration::from_micros(self.window_us.load(Ordering::Relaxed));
                tokio::task::yield_now().await;
                // Also give the core to any other thread that waits for it.
                std::thread::yield_now();
                let now = self.activity.load(Ordering::Relaxed);
                if now != last {
                    last = now;
                    since = Instant::now();
                } else if since.elapsed() >= window {
                    break;
                }
            }
            self.spinning.store(false, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A touch wakes the poller, which spins through the window and goes back to
    /// sleep; with a window of 0 a touch does not wake it at all.
    #[tokio::test(flavor = "current_thread")]
    async fn spins_for_the_window_then_sleeps() {
        let busy = std::sync::Arc::new(BusyPoll::default());
        busy.set_window(2000);
        let poller = tokio::spawn({
            let b = busy.clone();
            async move { b.run().await }
        });
        busy.touch();
        assert!(busy.spinning.load(Ordering::Relaxed));
        let start = Instant::now();
        while busy.spinning.load(Ordering::Relaxed) {
            tokio::task::yield_now().await;
        }
        assert!(start.elapsed() >= Duration::from_micros(2000));
        busy.set_window(0);
        busy.touch();
        assert!(!busy.spinning.load(Ordering::Relaxed));
        poller.abort();
    }
}
