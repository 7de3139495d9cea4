//! The proxy through planned switchovers that demote the old master (what
//! `tandem failover` does): writes paused on the old master are refused once it
//! is a replica (`-READONLY`, `-UNBLOCKED`, `EXECABORT`), never applied, and the
//! proxy replays them on the new master, so no client sees an error.
//!
//! * Shared links, dedicated links (SELECT, RESP3) and MULTI/EXEC transactions:
//!   zero errors, counters equal acknowledgements.
//! * A blocked BLPOP moves to the new master and gets the value pushed there.
//! * Demoted before the topology says so: `-READONLY` from the master is held
//!   until the new topology arrives and replayed there; with none, the client
//!   gets the READONLY after hold-timeout.

mod common;
#[path = "proxy/harness.rs"]
mod harness;
#[allow(dead_code)] // shared with proxy_switch.rs; this file uses part of it
#[path = "proxy/writers.rs"]
mod writers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{wait_for, Proc};
use harness::{write_topology, ProxyProc};
use writers::*;

/// The switchover `tandem failover` runs: pause writes on A, promote B, publish
/// epoch 2, demote A with REPLICAOF, unpause. The INCRs paused on A are answered
/// `-READONLY` (not applied) once A is a replica: the proxy replays them on B in
/// order, so no client sees an error and every counter equals its acknowledgements.
#[test]
fn planned_switch_with_demotion_replays_refused_writes_without_errors() {
    planned_switch_with_demotion(0, "");
}

/// As above for clients on dedicated links: one that selected another
/// database, and one speaking RESP3 (HELLO 3, as Lettuce and redis-py 5 with
/// `protocol=3` do). Their paused writes are refused by the demoted master
/// too, and replayed on a new dedicated link to the new master.
#[test]
fn planned_switch_with_demotion_replays_dedicated_clients_without_errors() {
    planned_switch_with_demotion(3, "");
    planned_switch_with_demotion(0, "?protocol=resp3");
}

/// As above with every write in a MULTI/EXEC transaction: an EXEC paused on
/// the old master is refused once it is demoted (the node discards the
/// transaction), and the proxy runs the whole transaction again on the new one.
#[test]
fn planned_switch_with_demotion_replays_transactions_without_errors() {
    planned_switch_with_demotion(0, "#tx");
}

/// Like [`writer`], but two INCRs per MULTI/EXEC transaction.
fn tx_writer(url: String, t: usize, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut c = connect(url);
    let key = format!("ctr:{t}");
    while !stop.load(Ordering::Relaxed) {
        let t0 = Instant::now();
        let r: redis::RedisResult<(i64, i64)> = redis::pipe()
            .atomic()
            .cmd("INCR")
            .arg(&key)
            .cmd("INCR")
            .arg(&key)
            .query(&mut c);
        seen.longest_wait = seen.longest_wait.max(t0.elapsed());
        match r {
            Ok((a, b)) => seen.incr_acks.extend([a, b]),
            Err(e) => seen.other_errors.push(e.to_string()),
        }
    }
    seen
}

/// The switchover with demotion, for writers connected with `/<db><query>`
/// (`#tx`: transactions on database 0).
fn planned_switch_with_demotion(db: i64, query: &str) {
    let pair = pair_behind_proxy(Proc::redis, &["--hold-timeout", "5000"]);
    let (a, b, proxy) = (&pair.a, &pair.b, &pair.proxy);
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let stop = stop.clone();
            if query == "#tx" {
                let url = proxy.url();
                return std::thread::spawn(move || tx_writer(url, t, stop));
            }
            let url = format!("{}{db}{query}", proxy.url());
            std::thread::spawn(move || writer(url, t, 16, stop))
        })
        .collect();
    let mut ctl = a.client();
    let () = redis::cmd("SELECT")
        .arg(db)
        .query(&mut ctl)
        .expect("SELECT");
    await_load(&mut ctl, 200);
    pause_and_promote(&pair, &mut ctl);
    // redis-cli sends nothing on connect and the proxy answers INFO itself (a
    // new redis crate connection's setup would queue behind the paused INCRs).
    wait_for(Duration::from_secs(10), "proxy switched", || {
        proxy.cli(&["INFO", "topology"]).contains("epoch:2")
    });
    // A switchover slower than the proxy's stall bound (250 ms), as a loaded
    // machine makes it: the old master's links owe replies and stay silent all
    // that while, yet the master is alive and answers a probe, so they must wait
    // for the real outcome instead of failing as "outcome unknown" (this test
    // flaked on CI before the probe existed).
    std::thread::sleep(Duration::from_millis(600));
    // The paused INCRs are still waiting on A: demote it, then let them run.
    let b_port = b.port.to_string();
    assert_eq!(a.cli_str(&["REPLICAOF", "127.0.0.1", &b_port]), "OK");
    let () = redis::cmd("CLIENT")
        .arg("UNPAUSE")
        .query(&mut ctl)
        .expect("CLIENT UNPAUSE");
    for (t, seen) in finish_switch(b, db, &stop, writers).iter().enumerate() {
        assert_eq!(seen.unknown, 0, "writer {t}: 'outcome unknown' replies");
    }
    assert_eq!(proxy.info_field("failovers_seen"), "1");
    assert_eq!(proxy.info_field("outcome_unknown_total"), "0");
    let held: u64 = proxy
        .info_field("refused_held_total")
        .parse()
        .expect("refused_held_total");
    assert!(
        held > 0,
        "paused INCRs were refused by the demoted master and held"
    );
}

/// A master demoted before the topology says so answers `-READONLY`: the proxy
/// holds the write (never hands the client READONLY while a switch may be under
/// way) and replays it once the new topology arrives; with no new topology
/// within hold-timeout, the client gets the node's READONLY as it was.
#[test]
fn readonly_from_the_master_is_held_until_the_new_topology_or_returned_after_hold_timeout() {
    let a = Proc::redis(&[]);
    let a_port = a.port.to_string();
    let b = Proc::redis(&["--replicaof", "127.0.0.1", &a_port]);
    wait_for(Duration::from_secs(10), "replica in sync", || {
        info_field(&b, "master_link_status") == "up"
    });
    let dir = tempfile::tempdir().expect("dir");
    let topo = dir.path().join("topology.json");
    write_topology(&topo, 1, &a.addr(), &[]);
    let proxy = ProxyProc::start(&[
        "--topology-file",
        topo.to_str().expect("path"),
        "--hold-timeout",
        "1500",
    ]);
    proxy.await_master();
    let mut c = proxy.client();
    let v: i64 = redis::cmd("INCR").arg("k").query(&mut c).expect("INCR");
    assert_eq!(v, 1);
    wait_for(Duration::from_secs(10), "k on the replica", || {
        b.cli_str(&["GET", "k"]) == "1"
    });
    // Switch the roles behind the proxy's back: it still routes to A.
    assert_eq!(b.cli_str(&["REPLICAOF", "NO", "ONE"]), "OK");
    let b_port = b.port.to_string();
    assert_eq!(a.cli_str(&["REPLICAOF", "127.0.0.1", &b_port]), "OK");
    let publish = {
        let (topo, b_addr) = (topo.clone(), b.addr());
        std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(400));
            write_topology(&topo, 2, &b_addr, &[]);
        })
    };
    let t0 = Instant::now();
    let mut p = redis::pipe();
    p.cmd("INCR").arg("k").cmd("GET").arg("k");
    let (v, got): (i64, i64) = p.query(&mut c).expect("INCR held, then replayed on B");
    publish.join().expect("publisher");
    assert_eq!((v, got), (2, 2), "the write and the read after it ran on B");
    assert!(
        t0.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t0.elapsed()
    );
    assert_eq!(b.cli_str(&["GET", "k"]), "2", "applied once");
    assert_eq!(proxy.info_field("outcome_unknown_total"), "0");
    // Now B is demoted and no topology follows: READONLY after hold-timeout.
    let a_port = a.port.to_string();
    wait_for(Duration::from_secs(10), "A follows B", || {
        info_field(&a, "master_link_status") == "up"
    });
    assert_eq!(a.cli_str(&["REPLICAOF", "NO", "ONE"]), "OK");
    assert_eq!(b.cli_str(&["REPLICAOF", "127.0.0.1", &a_port]), "OK");
    let t0 = Instant::now();
    let err = redis::cmd("INCR")
        .arg("k")
        .query::<i64>(&mut c)
        .expect_err("no switch came");
    assert_eq!(err.code(), Some("READONLY"), "{err}");
    assert!(
        t0.elapsed() >= Duration::from_millis(1400),
        "held for hold-timeout first: {:?}",
        t0.elapsed()
    );
}

/// A client blocked in BLPOP through the proxy (a dedicated link) while the
/// master is switched and demoted: the demoted master releases it with
/// `-UNBLOCKED ... (master -> replica?)`, the proxy holds that and blocks it
/// again on the new master, and a push there reaches it: the client sees a
/// pause, not an error. With redis-server and with Tandem nodes.
#[test]
fn blocked_pop_moves_to_the_new_master_in_a_planned_switch() {
    for tandem in [false, true] {
        let start = |args: &[&str]| {
            if tandem {
                Proc::tandem(args)
            } else {
                Proc::redis(args)
            }
        };
        let pair = pair_behind_proxy(start, &["--hold-timeout", "5000"]);
        let (a, b, proxy) = (&pair.a, &pair.b, &pair.proxy);
        let popper = {
            let mut c = proxy.client();
            c.set_read_timeout(Some(Duration::from_secs(20)))
                .expect("timeout");
            std::thread::spawn(move || {
                redis::cmd("BLPOP")
                    .arg("jobs")
                    .arg(0)
                    .query::<(String, String)>(&mut c)
            })
        };
        let blocked_on = |p: &Proc| {
            p.cli_str(&["INFO", "clients"])
                .lines()
                .any(|l| l.trim() == "blocked_clients:1")
        };
        wait_for(Duration::from_secs(10), "BLPOP blocked on A", || {
            blocked_on(a)
        });
        assert_eq!(b.cli_str(&["REPLICAOF", "NO", "ONE"]), "OK");
        write_topology(&pair.topo, 2, &b.addr(), &[]);
        wait_for(Duration::from_secs(10), "proxy switched", || {
            proxy.cli(&["INFO", "topology"]).contains("epoch:2")
        });
        let b_port = b.port.to_string();
        assert_eq!(a.cli_str(&["REPLICAOF", "127.0.0.1", &b_port]), "OK");
        wait_for(Duration::from_secs(10), "BLPOP blocked again on B", || {
            blocked_on(b)
        });
        let mut pusher = proxy.client();
        let _: i64 = redis::cmd("RPUSH")
            .arg("jobs")
            .arg("job-1")
            .query(&mut pusher)
            .expect("RPUSH");
        let got = popper.join().expect("popper");
        assert_eq!(
            got.expect("BLPOP through the switch"),
            ("jobs".to_string(), "job-1".to_string()),
            "tandem nodes: {tandem}"
        );
        assert_eq!(proxy.info_field("outcome_unknown_total"), "0");
        assert_eq!(
            proxy.info_field("refused_held_total"),
            "1",
            "the UNBLOCKED release was held and replayed"
        );
    }
}
