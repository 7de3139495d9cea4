//! Several `tandem proxy` processes in front of one deployment: they share no
//! state, serve the same data, and each follows a topology change on its own.

mod common;
#[path = "proxy/harness.rs"]
mod harness;

use std::time::Duration;

use common::{wait_for, Proc};
use harness::{write_topology, ProxyProc};

#[test]
fn two_proxies_serve_one_deployment_and_both_follow_a_switch() {
    let a = Proc::tandem(&[]);
    let b = Proc::tandem(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let topo = dir.path().join("topology.json");
    write_topology(&topo, 1, &a.addr(), &[]);
    let path = topo.to_str().expect("path");
    let proxies = [
        ProxyProc::start(&["--topology-file", path]),
        ProxyProc::start(&["--topology-file", path]),
    ];
    proxies.iter().for_each(ProxyProc::await_master);

    // Clients of both proxies increment one counter at once: each increment
    // is applied exactly once, whichever proxy carried it.
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let url = proxies[t % 2].url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url)
                    .and_then(|c| c.get_connection())
                    .expect("connect");
                for _ in 0..200 {
                    let _: i64 = redis::cmd("INCR")
                        .arg("shared")
                        .query(&mut c)
                        .expect("INCR");
                }
            })
        })
        .collect();
    for w in writers {
        w.join().expect("writer");
    }
    assert_eq!(a.cli_str(&["GET", "shared"]), "1600");

    // What one proxy writes, the other reads.
    let mut c0 = proxies[0].client();
    let mut c1 = proxies[1].client();
    let () = redis::cmd("SET")
        .arg("k")
        .arg("v1")
        .query(&mut c0)
        .expect("SET");
    let v: String = redis::cmd("GET").arg("k").query(&mut c1).expect("GET");
    assert_eq!(v, "v1");

    // A new topology reaches both; neither needed the other to follow it.
    write_topology(&topo, 2, &b.addr(), &[]);
    wait_for(Duration::from_secs(10), "both proxies at epoch 2", || {
        proxies.iter().all(|p| p.info_field("epoch") == "2")
    });
    let () = redis::cmd("SET")
        .arg("k2")
        .arg("v2")
        .query(&mut c1)
        .expect("SET");
    let v: String = redis::cmd("GET").arg("k2").query(&mut c0).expect("GET");
    assert_eq!(v, "v2");
    assert_eq!(b.cli_str(&["GET", "k2"]), "v2");
    assert_eq!(
        a.cli_str(&["EXISTS", "k2"]),
        "0",
        "the old master got the write"
    );
}
