//! Streams through `tandem proxy`: XREAD/XREADGROUP with BLOCK park a client on
//! a dedicated node connection (released by an XADD from another client, with
//! the node's timeout), without BLOCK they answer at once on the shared links
//! like any read; consumer groups work across clients of the proxy.

mod common;
#[path = "proxy/harness.rs"]
mod harness;

use std::time::{Duration, Instant};

use common::{wait_for, Proc};
use harness::ProxyProc;
use redis::Value;

fn setup() -> (Proc, ProxyProc) {
    let node = Proc::tandem(&[]);
    let addr = node.addr();
    let proxy = ProxyProc::start(&["--master", addr.as_str()]);
    proxy.await_master();
    (node, proxy)
}

/// The entry IDs of an XREAD/XREADGROUP reply for one stream (RESP2).
fn ids(v: &Value) -> Vec<String> {
    let Value::Array(streams) = v else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for s in streams {
        let Value::Array(kv) = s else { continue };
        let Some(Value::Array(entries)) = kv.get(1) else {
            continue;
        };
        for e in entries {
            if let Value::Array(parts) = e {
                if let Some(Value::BulkString(id)) = parts.first() {
                    out.push(String::from_utf8_lossy(id).into_owned());
                }
            }
        }
    }
    out
}

#[test]
fn blocked_xread_is_released_by_an_xadd_from_another_client() {
    let (node, proxy) = setup();
    let url = proxy.url();
    let waiter = std::thread::spawn(move || {
        let mut c = redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .expect("connect");
        let t0 = Instant::now();
        let v: Value = redis::cmd("XREAD")
            .arg("BLOCK")
            .arg(10_000)
            .arg("STREAMS")
            .arg("events")
            .arg("$")
            .query(&mut c)
            .expect("XREAD");
        (v, t0.elapsed())
    });
    let mut b = proxy.client();
    wait_for(Duration::from_secs(5), "the XREAD to block", || {
        proxy.info_field("pinned_clients") == "1"
    });
    let id: String = redis::cmd("XADD")
        .arg("events")
        .arg("*")
        .arg("kind")
        .arg("login")
        .query(&mut b)
        .expect("XADD");
    let (v, took) = waiter.join().expect("waiter");
    assert_eq!(ids(&v), vec![id.clone()], "XREAD reply {v:?}");
    assert!(took < Duration::from_secs(9), "XREAD took {took:?}");
    // The node's timeout: nil after ~0.2 s.
    let t0 = Instant::now();
    let v: Value = redis::cmd("XREAD")
        .arg("BLOCK")
        .arg(200)
        .arg("STREAMS")
        .arg("events")
        .arg("$")
        .query(&mut b)
        .expect("XREAD");
    assert_eq!(v, Value::Nil);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    assert_eq!(node.cli_str(&["XLEN", "events"]), "1");
}

#[test]
fn xread_without_block_does_not_pin_the_client() {
    let (_node, proxy) = setup();
    let mut c = proxy.client();
    for i in 1..=3 {
        let _: String = redis::cmd("XADD")
            .arg("s")
            .arg(format!("{i}-0"))
            .arg("n")
            .arg(i)
            .query(&mut c)
            .expect("XADD");
    }
    let v: Value = redis::cmd("XREAD")
        .arg("COUNT")
        .arg(2)
        .arg("STREAMS")
        .arg("s")
        .arg("0")
        .query(&mut c)
        .expect("XREAD");
    assert_eq!(ids(&v), vec!["1-0", "2-0"]);
    assert_eq!(proxy.info_field("pinned_clients"), "0");
}

#[test]
fn consumer_group_shared_by_two_proxy_clients() {
    let (node, proxy) = setup();
    let mut a = proxy.client();
    let mut b = proxy.client();
    let () = redis::cmd("XGROUP")
        .arg("CREATE")
        .arg("jobs")
        .arg("workers")
        .arg("$")
        .arg("MKSTREAM")
        .query(&mut a)
        .expect("XGROUP CREATE");
    let url = proxy.url();
    let worker = std::thread::spawn(move || {
        let mut c = redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .expect("connect");
        let v: Value = redis::cmd("XREADGROUP")
            .arg("GROUP")
            .arg("workers")
            .arg("w1")
            .arg("BLOCK")
            .arg(10_000)
            .arg("STREAMS")
            .arg("jobs")
            .arg(">")
            .query(&mut c)
            .expect("XREADGROUP");
        v
    });
    wait_for(Duration::from_secs(5), "the XREADGROUP to block", || {
        proxy.info_field("pinned_clients") == "1"
    });
    let id: String = redis::cmd("XADD")
        .arg("jobs")
        .arg("*")
        .arg("task")
        .arg("resize")
        .query(&mut b)
        .expect("XADD");
    let v = worker.join().expect("worker");
    assert_eq!(ids(&v), vec![id.clone()]);
    // Pending for w1 until acknowledged, then gone; seen the same on the node.
    assert!(node
        .cli_str(&["XPENDING", "jobs", "workers"])
        .starts_with('1'));
    let acked: i64 = redis::cmd("XACK")
        .arg("jobs")
        .arg("workers")
        .arg(&id)
        .query(&mut b)
        .expect("XACK");
    assert_eq!(acked, 1);
    assert!(node
        .cli_str(&["XPENDING", "jobs", "workers"])
        .starts_with('0'));
}
