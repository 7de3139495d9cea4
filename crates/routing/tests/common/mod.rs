//! Shared test support: topologies, polling with a deadline, and the conformance
//! suite every routing backend must pass (run by embedded.rs and etcd.rs).

pub mod conformance;

use std::future::Future;
use std::time::{Duration, Instant};

use tandem_routing::{Node, Topology};

/// A one-shard topology whose master and replica depend on `epoch`, so every
/// epoch's document is distinct.
pub fn topo(epoch: u64) -> Topology {
    Topology::single(
        "conf",
        epoch,
        Node::new(format!("m{epoch}"), format!("127.0.0.1:{}", 10_000 + epoch)),
        vec![Node::new(
            format!("r{epoch}"),
            format!("127.0.0.1:{}", 20_000 + epoch),
        )],
    )
}

/// Polls `f` until it returns Some, or panics naming `what` after `deadline`.
pub async fn wait_for<T, F, Fut>(what: &str, deadline: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let start = Instant::now();
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            start.elapsed() < deadline,
            "timed out after {deadline:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// p50 and max of `samples`.
pub fn p50_max(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let p50 = samples[samples.len() / 2];
    let max = samples[samples.len() - 1];
    (p50, max)
}
