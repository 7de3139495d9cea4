//! A master that restarts with its data answers `-LOADING` while it loads (as
//! Redis does). Through the proxy that is a pause, not an error: the refused
//! request goes to the same master again until the load ends, within
//! hold-timeout; past it the client gets the refusal itself.

mod common;
#[path = "proxy/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use common::Proc;
use harness::ProxyProc;

/// A node holding 20,000 keys and `k` = `v` in its snapshot.
fn node_with_snapshot() -> Proc {
    let node = Proc::tandem(&["--save", "", "--enable-debug-command", "yes"]);
    let mut c = node.client();
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(20_000)
        .query(&mut c)
        .expect("populate");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut c)
        .expect("SET");
    let _: () = redis::cmd("SAVE").query(&mut c).expect("SAVE");
    node
}

/// Restarts `node` on its snapshot, loading slowly (`key-load-delay` µs per
/// key), and checks it is loading.
fn restart_loading(node: &mut Proc, delay_us: &str) {
    node.restart_answering(&[
        "--save",
        "",
        "--key-load-delay",
        delay_us,
        "--loading-process-events-interval-bytes",
        "1024",
    ]);
    let info: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut node.client())
        .expect("INFO");
    assert!(info.contains("loading:1"), "{info}");
}

#[test]
fn a_restarting_master_is_a_pause_through_the_proxy() {
    let mut node = node_with_snapshot();
    let proxy = ProxyProc::start(&["--master", &node.addr(), "--hold-timeout", "60000"]);
    proxy.await_master();
    restart_loading(&mut node, "100");
    // The proxy's link broke with the restart; the request meets the load.
    let t0 = Instant::now();
    let v: String = redis::cmd("GET")
        .arg("k")
        .query(&mut proxy.client())
        .expect("the value once the load ends, not -LOADING");
    assert_eq!(v, "v");
    let n: u64 = redis::cmd("DBSIZE")
        .query(&mut proxy.client())
        .expect("DBSIZE");
    assert_eq!(n, 20_001);
    let refused: u64 = proxy
        .info_field("refused_held_total")
        .parse()
        .expect("count");
    assert!(
        refused > 0,
        "the GET was refused with -LOADING and sent again (after {:?})",
        t0.elapsed()
    );
}

#[test]
fn past_hold_timeout_the_client_gets_loading() {
    let mut node = node_with_snapshot();
    let proxy = ProxyProc::start(&["--master", &node.addr(), "--hold-timeout", "300"]);
    proxy.await_master();
    // About 20,000 × 1 ms: far longer than the hold-timeout.
    restart_loading(&mut node, "1000");
    let t0 = Instant::now();
    let err = redis::cmd("GET")
        .arg("k")
        .query::<String>(&mut proxy.client())
        .expect_err("still loading after hold-timeout");
    assert!(err.to_string().contains("loading the dataset"), "{err}");
    let waited = t0.elapsed();
    assert!(
        waited >= Duration::from_millis(300) && waited < Duration::from_secs(10),
        "held for hold-timeout once, not per retry: {waited:?}"
    );
}
