//! The proxy through master switches, under write load.
//!
//! * Planned switch: two real `redis-server`s (master + replica). Writes are paused
//!   on the old master (CLIENT PAUSE WRITE), the replica catches up and is
//!   promoted, then the topology file names it at a higher epoch. Every request
//!   gets exactly one reply, in order; INCR counters on the new master equal the
//!   acknowledged increments (no write applied twice, none lost).
//! * Planned switches with demotion: proxy_demotion.rs.
//! * Dead master: SIGKILL the master while 100 clients are mid-pipeline, then
//!   publish a topology with a new node. No client waits beyond hold-timeout,
//!   every error is one of the proxy's explicit ones, idempotent writes are
//!   replayed (never "outcome unknown"), and the new master's counters equal the
//!   increments it acknowledged.
//! * No new topology: held requests fail after hold-timeout with TRYAGAIN, and the
//!   proxy serves again as soon as a topology arrives.

mod common;
#[path = "proxy/harness.rs"]
mod harness;
#[allow(dead_code)] // shared with proxy_demotion.rs; this file uses part of it
#[path = "proxy/writers.rs"]
mod writers;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{wait_for, Proc};
use harness::{write_topology, ProxyProc};
use writers::*;

#[test]
fn planned_switch_under_write_load_loses_and_doubles_nothing() {
    let (unknown, _) = switch_from_a_paused_master(Proc::redis, 0, &[]);
    eprintln!("planned switch: {unknown} requests answered 'outcome unknown'");
}

/// With Tandem nodes the proxy asks the new master how far each failed link's
/// writes reached (TANDEM LINKPOS): the INCRs stuck on the paused master were
/// never applied, so they are replayed instead of answered "outcome unknown",
/// on shared and on dedicated links alike.
#[test]
fn tandem_nodes_settle_writes_stuck_on_the_old_master_without_errors() {
    for db in [0, 1] {
        settles_without_errors(db);
    }
}

/// A proxy on three threads: each serves its own clients with its own links,
/// and each follows the topology; the writers, spread over the three, all
/// switch, and the failover is counted once.
#[test]
fn every_thread_of_a_sharded_proxy_switches() {
    let (unknown, info) = switch_from_a_paused_master(Proc::tandem, 0, &["--threads", "3"]);
    assert_eq!(unknown, 0, "every stuck INCR settled with the new master");
    assert_eq!(info("failovers_seen"), "1");
}

/// `db` 0: clients share the proxy's pooled links; 1: each has its own (SELECT).
fn settles_without_errors(db: u32) {
    let (unknown, info) = switch_from_a_paused_master(Proc::tandem, db, &[]);
    assert_eq!(
        unknown, 0,
        "db {db}: every stuck INCR settled with the new master"
    );
    assert_eq!(info("outcome_unknown_total"), "0");
    let settled: u64 = info("settled_unapplied_total")
        .parse()
        .expect("settled_unapplied_total");
    assert!(
        settled > 0,
        "db {db}: INCRs were stuck on the paused master"
    );
}

/// Writers INCR through the proxy; A's writes are paused (and stay paused), B
/// catches up, is promoted and published at epoch 2. Checks every reply and
/// counter; returns the "outcome unknown" answers and the proxy's INFO fields
/// (read while B is up: the proxy holds what it forwards while no master is).
fn switch_from_a_paused_master(
    node: fn(&[&str]) -> Proc,
    db: u32,
    extra: &[&str],
) -> (usize, impl Fn(&str) -> String) {
    // A stays paused: once retired, its links are closed when they have owed
    // replies for a moment without an answer; their requests are replayed or
    // answered "outcome unknown".
    let mut args = vec!["--hold-timeout", "5000", "--backend-timeout", "1500"];
    args.extend_from_slice(extra);
    let pair = pair_behind_proxy(node, &args);
    let (a, b, proxy) = (&pair.a, &pair.b, &pair.proxy);

    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..8)
        .map(|t| {
            let (url, stop) = (format!("{}{db}", proxy.url()), stop.clone());
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
    wait_for(Duration::from_secs(10), "proxy switched", || {
        proxy.info_field("epoch") == "2"
    });
    // Load continues on the new master for a while.
    let seen = finish_switch(b, i64::from(db), &stop, writers);
    let total_unknown = seen.iter().map(|s| s.unknown).sum();
    assert_eq!(proxy.info_field("failovers_seen"), "1");
    let info: Vec<(String, String)> = [
        "outcome_unknown_total",
        "settled_unapplied_total",
        "failovers_seen",
    ]
    .iter()
    .map(|f| (f.to_string(), proxy.info_field(f)))
    .collect();
    let field = move |f: &str| {
        info.iter()
            .find(|(k, _)| k == f)
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    (total_unknown, field)
}

/// `inflight=` of the proxy's INFO line `backend{i}`: requests sent to that
/// node and not answered yet. Asked with redis-cli, which sends nothing but
/// the INFO.
fn backend_inflight(proxy: &ProxyProc, i: usize) -> u64 {
    let prefix = format!("backend{i}:");
    proxy
        .cli(&["INFO", "backends"])
        .lines()
        .find_map(|l| l.strip_prefix(prefix.as_str()).map(str::to_string))
        .unwrap_or_default()
        .split(',')
        .find_map(|kv| kv.strip_prefix("inflight="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn sigkilled_master_mid_pipeline_gets_explicit_errors_and_replays_idempotent_writes() {
    let mut a = Proc::tandem(&[]);
    let b = Proc::tandem(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let topo = dir.path().join("topology.json");
    write_topology(&topo, 1, &a.addr(), &[]);
    let hold = Duration::from_millis(3000);
    let proxy = ProxyProc::start(&[
        "--topology-file",
        topo.to_str().expect("path"),
        "--hold-timeout",
        "3000",
    ]);
    proxy.await_master();
    let stop = Arc::new(AtomicBool::new(false));
    let writers: Vec<_> = (0..100)
        .map(|t| {
            let (url, stop) = (proxy.url(), stop.clone());
            std::thread::spawn(move || writer(url, t, 20, stop))
        })
        .collect();
    let mut ac = a.client();
    wait_for(Duration::from_secs(20), "load on the master", || {
        redis::cmd("GET")
            .arg("ctr:99")
            .query::<Option<i64>>(&mut ac)
            .ok()
            .flatten()
            .unwrap_or(0)
            > 50
    });
    // Hold the master's writes so that requests are surely in flight when it
    // dies: under load every reply could otherwise be back before the kill.
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(60_000)
        .arg("WRITE")
        .query(&mut ac)
        .expect("CLIENT PAUSE");
    wait_for(Duration::from_secs(20), "requests in flight", || {
        backend_inflight(&proxy, 0) > 0
    });
    a.sigkill();
    std::thread::sleep(Duration::from_millis(300));
    write_topology(&topo, 2, &b.addr(), &[]);
    let mut bc = b.client();
    wait_for(Duration::from_secs(20), "load on the new master", || {
        redis::cmd("GET")
            .arg("ctr:99")
            .query::<Option<i64>>(&mut bc)
            .ok()
            .flatten()
            .unwrap_or(0)
            > 50
    });
    stop.store(true, Ordering::Relaxed);
    let mut unknown = 0;
    for (t, w) in writers.into_iter().enumerate() {
        let seen = w.join().expect("writer");
        assert!(
            seen.other_errors.is_empty(),
            "writer {t}: {:?}",
            seen.other_errors
        );
        assert!(
            seen.set_errors.is_empty(),
            "writer {t}: idempotent SETs must be replayed: {:?}",
            seen.set_errors
        );
        assert!(
            seen.longest_wait < hold + Duration::from_secs(3),
            "writer {t} waited {:?}",
            seen.longest_wait
        );
        unknown += seen.unknown;
        // B started empty: its acknowledged values are exactly 1, 2, 3... after
        // the last drop; its counter equals the last of them (no replayed INCR).
        let start = seen
            .incr_acks
            .windows(2)
            .rposition(|w| w[1] <= w[0])
            .map(|i| i + 1)
            .unwrap_or(0);
        let on_b = &seen.incr_acks[start..];
        for (i, v) in on_b.iter().enumerate() {
            assert_eq!(*v, i as i64 + 1, "writer {t}: B ack #{i}");
        }
        let final_b: Option<i64> = redis::cmd("GET")
            .arg(format!("ctr:{t}"))
            .query(&mut bc)
            .expect("GET");
        assert_eq!(final_b.unwrap_or(0), on_b.len() as i64, "writer {t}");
    }
    // Requests were in flight when the master died: each was answered "outcome
    // unknown" or replayed (idempotent, or shown unapplied by the new master).
    let counter = |f: &str| proxy.info_field(f).parse::<u64>().unwrap_or(0);
    let (replayed, settled) = (
        counter("replayed_total"),
        counter("settled_unapplied_total"),
    );
    assert!(
        unknown as u64 + replayed + settled > 0,
        "no request was in flight when the master died (unknown {unknown}, replayed {replayed}, settled {settled})"
    );
    assert_eq!(counter("outcome_unknown_total"), unknown as u64);
    assert_eq!(proxy.info_field("failovers_seen"), "1");
}

#[test]
fn held_requests_time_out_without_a_new_master_and_the_proxy_recovers() {
    let mut a = Proc::tandem(&[]);
    let b = Proc::tandem(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let topo = dir.path().join("topology.json");
    write_topology(&topo, 1, &a.addr(), &[]);
    let proxy = ProxyProc::start(&[
        "--topology-file",
        topo.to_str().expect("path"),
        "--hold-timeout",
        "400",
    ]);
    proxy.await_master();
    let mut c = proxy.client();
    let () = redis::cmd("SET")
        .arg("k")
        .arg("1")
        .query(&mut c)
        .expect("SET");
    a.sigkill();
    let t0 = Instant::now();
    let e = redis::cmd("GET")
        .arg("k")
        .query::<Option<String>>(&mut c)
        .unwrap_err();
    let took = t0.elapsed();
    assert!(e.to_string().contains(HOLD_TIMEOUT), "{e}");
    assert_eq!(e.code(), Some("TRYAGAIN"), "{e}");
    assert!(
        took >= Duration::from_millis(300) && took < Duration::from_secs(3),
        "{took:?}"
    );
    assert!(
        proxy
            .info_field("hold_timeouts_total")
            .parse::<u64>()
            .unwrap_or(0)
            >= 1
    );
    // A request held when the new topology arrives is served by the new master.
    let url = proxy.url();
    let pending = std::thread::spawn(move || {
        let mut c = redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .expect("connect");
        redis::cmd("SET").arg("k").arg("2").query::<()>(&mut c)
    });
    std::thread::sleep(Duration::from_millis(100));
    write_topology(&topo, 2, &b.addr(), &[]);
    pending
        .join()
        .expect("thread")
        .expect("held SET served by B");
    assert_eq!(b.cli_str(&["GET", "k"]), "2");
    // A stale topology (lower epoch) is ignored.
    write_topology(&topo, 1, &a.addr(), &[]);
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(proxy.info_field("epoch"), "2");
    let v: String = redis::cmd("GET").arg("k").query(&mut c).expect("GET");
    assert_eq!(v, "2");
}

#[test]
fn subscribers_are_subscribed_again_on_the_new_master() {
    use harness::{ends_with, read_until, send_raw};
    let (mut a, b, _dir, topo, proxy) = two_nodes_and_a_proxy();
    let mut s2 = proxy.raw();
    let out = send_raw(&mut s2, b"SUBSCRIBE news alerts\r\n", ends_with(b":2\r\n"));
    assert!(
        out.ends_with(b"alerts\r\n:2\r\n"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    let mut s3 = proxy.raw();
    send_raw(&mut s3, b"HELLO 3\r\n", ends_with(b"*0\r\n"));
    let out = send_raw(&mut s3, b"SUBSCRIBE news\r\n", ends_with(b":1\r\n"));
    assert!(
        out.starts_with(b">3\r\n"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    a.sigkill();
    write_topology(&topo, 2, &b.addr(), &[]);
    let mut p = proxy.client();
    // Wait with PUBSUB NUMSUB, not by publishing: a message published while
    // only one subscriber is back would reach that one twice.
    wait_for(Duration::from_secs(10), "both subscribers back", || {
        redis::cmd("PUBSUB")
            .arg("NUMSUB")
            .arg("news")
            .query::<(String, i64)>(&mut p)
            .map(|(_, n)| n)
            .unwrap_or(0)
            == 2
    });
    let n: i64 = redis::cmd("PUBLISH")
        .arg("news")
        .arg("m1")
        .query(&mut p)
        .expect("PUBLISH");
    assert_eq!(n, 2);
    // Each got exactly the message (no confirmation of the resubscription).
    let out = read_until(&mut s2, ends_with(b"$2\r\nm1\r\n"));
    assert_eq!(
        String::from_utf8_lossy(&out),
        "*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nm1\r\n"
    );
    let out = read_until(&mut s3, ends_with(b"$2\r\nm1\r\n"));
    assert_eq!(
        String::from_utf8_lossy(&out),
        ">3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nm1\r\n"
    );
    // The RESP2 subscriber's other channel is back too, and it can still
    // unsubscribe normally.
    let n: i64 = redis::cmd("PUBLISH")
        .arg("alerts")
        .arg("x")
        .query(&mut p)
        .expect("PUBLISH");
    assert_eq!(n, 1);
    let out = send_raw(&mut s2, b"UNSUBSCRIBE\r\n", ends_with(b":0\r\n"));
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("*3\r\n$7\r\nmessage\r\n$6\r\nalerts\r\n$1\r\nx\r\n"),
        "{text}"
    );
}

#[test]
fn held_memory_is_bounded_by_hold_max_bytes() {
    let mut a = Proc::tandem(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let topo = dir.path().join("topology.json");
    write_topology(&topo, 1, &a.addr(), &[]);
    let proxy = ProxyProc::start(&[
        "--topology-file",
        topo.to_str().expect("path"),
        "--hold-timeout",
        "2000",
        "--hold-max-bytes",
        "4kb",
    ]);
    proxy.await_master();
    let mut c = proxy.client();
    a.sigkill();
    // Let the proxy notice (a PING is answered locally, a GET is held).
    wait_for(Duration::from_secs(5), "master down", || {
        proxy.info_field("master_available") == "0"
    });
    let big = "x".repeat(8 * 1024);
    let t0 = Instant::now();
    let e = redis::cmd("SET")
        .arg("k")
        .arg(&big)
        .query::<()>(&mut c)
        .unwrap_err();
    assert_eq!(e.code(), Some("TRYAGAIN"), "{e}");
    assert!(e.to_string().contains("hold-max-bytes"), "{e}");
    assert!(
        t0.elapsed() < Duration::from_secs(1),
        "refused at once, not held"
    );
    assert_eq!(proxy.info_field("hold_overflow_total"), "1");
}

#[test]
fn idle_clients_are_closed_after_timeout() {
    let a = Proc::tandem(&[]);
    let addr = a.addr();
    let proxy = ProxyProc::start(&["--master", &addr, "--timeout", "1"]);
    let mut s = proxy.raw();
    let out = harness::send_raw(&mut s, b"PING\r\n", harness::ends_with(b"\r\n"));
    assert_eq!(out, b"+PONG\r\n");
    let t0 = Instant::now();
    let rest = harness::read_until(&mut s, |_| false);
    assert!(rest.is_empty());
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(800) && took < Duration::from_secs(5),
        "closed after {took:?}"
    );
}

/// A RESP3 client that tracks keys through the proxy: invalidations arrive
/// through its dedicated link; when the master dies, it is told to drop its
/// whole cache (invalidations of the gap are lost) and tracking is on again
/// on the new master before its next read.
#[test]
fn tracking_clients_track_again_on_the_new_master() {
    use harness::{ends_with, read_until, send_raw};
    let (mut a, b, _dir, topo, proxy) = two_nodes_and_a_proxy();
    let mut t = proxy.raw();
    send_raw(&mut t, b"HELLO 3\r\n", ends_with(b"*0\r\n"));
    send_raw(
        &mut t,
        b"CLIENT TRACKING on\r\nGET k\r\n",
        ends_with(b"+OK\r\n_\r\n"),
    );
    let mut w = proxy.client();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("1")
        .query(&mut w)
        .expect("SET");
    let out = read_until(&mut t, ends_with(b"$1\r\nk\r\n"));
    assert_eq!(
        String::from_utf8_lossy(&out),
        ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
    );
    a.sigkill();
    let out = read_until(&mut t, ends_with(b"invalidate\r\n_\r\n"));
    assert_eq!(
        String::from_utf8_lossy(&out),
        ">2\r\n$10\r\ninvalidate\r\n_\r\n",
        "a null invalidation when the master's link fails"
    );
    write_topology(&topo, 2, &b.addr(), &[]);
    // The read waits for the new master, where tracking is on again first.
    let out = send_raw(&mut t, b"GET k\r\n", ends_with(b"_\r\n"));
    assert_eq!(String::from_utf8_lossy(&out), "_\r\n");
    let info = b.cli_str(&["INFO", "clients"]);
    assert!(info.contains("tracking_clients:1"), "{info}");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("2")
        .query(&mut w)
        .expect("SET");
    let out = read_until(&mut t, ends_with(b"$1\r\nk\r\n"));
    assert_eq!(
        String::from_utf8_lossy(&out),
        ">2\r\n$10\r\ninvalidate\r\n*1\r\n$1\r\nk\r\n"
    );
}

/// Two Tandem nodes, a topology file naming the first master at epoch 1 (in
/// a directory that lives as long as the returned guard), and a proxy that
/// follows the file and has seen that master.
fn two_nodes_and_a_proxy() -> (Proc, Proc, tempfile::TempDir, std::path::PathBuf, ProxyProc) {
    let a = Proc::tandem(&[]);
    let b = Proc::tandem(&[]);
    let dir = tempfile::tempdir().expect("dir");
    let topo = dir.path().join("topology.json");
    write_topology(&topo, 1, &a.addr(), &[]);
    let proxy = ProxyProc::start(&["--topology-file", topo.to_str().expect("path")]);
    proxy.await_master();
    (a, b, dir, topo, proxy)
}

#[test]
fn scripts_and_functions_loaded_before_a_failover_run_after_it() {
    let mut a = Proc::tandem(&[]);
    let a_port = a.addr().rsplit(':').next().expect("port").to_string();
    let b = Proc::tandem(&["--replicaof", "127.0.0.1", &a_port]);
    wait_for(Duration::from_secs(20), "the replica online", || {
        a.cli_str(&["INFO", "replication"]).contains("state=online")
    });
    let dir = tempfile::tempdir().expect("dir");
    let topo = dir.path().join("topology.json");
    write_topology(&topo, 1, &a.addr(), &[]);
    let proxy = ProxyProc::start(&["--topology-file", topo.to_str().expect("path")]);
    proxy.await_master();
    let mut c = proxy.client();
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return redis.call('incr', KEYS[1])")
        .query(&mut c)
        .expect("SCRIPT LOAD");
    let n: i64 = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(1)
        .arg("n")
        .query(&mut c)
        .expect("EVALSHA");
    assert_eq!(n, 1);
    let lib = "#!lua name=ha\nredis.register_function('bump', function(keys) \
               return redis.call('incr', keys[1]) end)";
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut c)
        .expect("FUNCTION LOAD");
    let f: i64 = redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("f")
        .query(&mut c)
        .expect("FCALL");
    assert_eq!(f, 1);
    wait_for(Duration::from_secs(10), "the writes on the replica", || {
        b.cli_str(&["GET", "n"]) == "1" && b.cli_str(&["GET", "f"]) == "1"
    });
    a.sigkill();
    assert_eq!(b.cli_str(&["REPLICAOF", "NO", "ONE"]), "OK");
    write_topology(&topo, 2, &b.addr(), &[]);
    // The script cache was replicated with the writes: no NOSCRIPT.
    let n: i64 = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(1)
        .arg("n")
        .query(&mut c)
        .expect("EVALSHA on the new master");
    assert_eq!(n, 2);
    // So were the function libraries.
    let f: i64 = redis::cmd("FCALL")
        .arg("bump")
        .arg(1)
        .arg("f")
        .query(&mut c)
        .expect("FCALL on the new master");
    assert_eq!(f, 2);
}
