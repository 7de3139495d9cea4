//! Replication under faults: replicas killed during a full sync and while
//! streaming, a master killed and restarted, a 1M-key full sync while the master
//! takes writes, sync mode with a replica killed at random moments (no acknowledged
//! write lost after promotion), and a link cut with network namespaces (partial
//! resync within the backlog, full beyond it). Every case ends by comparing the
//! datasets key by key.

mod common;
#[allow(dead_code)] // shared with the persistence tests; this file uses part of it
#[path = "persistence/data.rs"]
mod data;
#[path = "repl_faults/netns.rs"]
mod netns;
#[path = "replication/support.rs"]
mod support;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{wait_for, Proc};
use support::*;

const T: Duration = Duration::from_secs(60);

/// Keeps writing (pipelined SETs, INCRs, list pushes) until stopped.
fn writer(port: u16, stop: Arc<AtomicBool>) -> std::thread::JoinHandle<u64> {
    std::thread::spawn(move || {
        let url = format!("redis://127.0.0.1:{port}/");
        let mut n = 0u64;
        let Ok(mut c) = redis::Client::open(url).and_then(|c| c.get_connection()) else {
            return 0;
        };
        while !stop.load(Ordering::Relaxed) {
            let mut p = redis::pipe();
            for i in 0..50 {
                p.cmd("SET")
                    .arg(format!("w:{}", (n + i) % 5000))
                    .arg(n + i)
                    .ignore();
                p.cmd("INCR").arg("w:count").ignore();
            }
            p.cmd("RPUSH").arg("w:list").arg(n).ignore();
            if p.query::<()>(&mut c).is_err() {
                break;
            }
            n += 50;
        }
        n
    })
}

#[test]
fn replica_killed_during_full_sync_converges() {
    let m = Proc::tandem(&[]);
    let mut mc = m.client();
    data::populate(&mut mc);
    let mut p = redis::pipe();
    for i in 0..20_000 {
        p.cmd("SET").arg(format!("k:{i}")).arg(i).ignore();
    }
    p.query::<()>(&mut mc).expect("load");
    // 50 µs per key: the transfer takes about a second.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("rdb-key-save-delay")
        .arg(50)
        .query(&mut mc)
        .expect("CONFIG SET");
    let port = m.port.to_string();
    let mut r = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    wait_for(T, "the full sync to be under way", || {
        try_info(&mut mc, "replication", "slave0").is_some_and(|s| s.contains("state=send_bulk"))
    });
    r.sigkill();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("rdb-key-save-delay")
        .arg(0)
        .query(&mut mc)
        .expect("CONFIG SET");
    live_writes(&mut mc, 1);
    r.restart();
    live_writes(&mut mc, 2);
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
}

#[test]
fn replica_killed_while_streaming_converges() {
    let m = Proc::tandem(&[]);
    let mut mc = m.client();
    data::populate(&mut mc);
    let port = m.port.to_string();
    let mut r = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    wait_synced(&m, &r, T);
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(m.port, stop.clone());
    wait_for(T, "writes to flow", || {
        info_u64(&mut mc, "replication", "master_repl_offset") > 100_000
    });
    r.sigkill();
    std::thread::sleep(Duration::from_millis(100)); // writes the replica misses
    r.restart();
    wait_for(T, "the replica to be back", || {
        info(&mut mc, "replication", "connected_slaves") == "1"
    });
    stop.store(true, Ordering::Relaxed);
    assert!(w.join().expect("writer") > 0);
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
}

#[test]
fn master_killed_and_restarted_replica_converges() {
    let mut m = Proc::tandem(&[]);
    let mut mc = m.client();
    data::populate(&mut mc);
    let _: () = redis::cmd("SAVE").query(&mut mc).expect("SAVE");
    let port = m.port.to_string();
    let r = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    wait_synced(&m, &r, T);
    // Writes after the snapshot are lost by the master's crash; the replica must
    // follow the restarted master's data, not keep its own.
    live_writes(&mut mc, 1);
    wait_synced(&m, &r, T);
    m.sigkill();
    let mut rc = r.client();
    wait_for(T, "the link to go down", || {
        info(&mut rc, "replication", "master_link_status") == "down"
    });
    m.restart();
    let mut mc = connect(&m);
    live_writes(&mut mc, 2);
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
}

/// Loads `n` keys `k:<i>` (value `v<i>`) with `redis-cli --pipe`.
fn load_keys(p: &Proc, n: usize) {
    let path = p.dir.path().join("load.resp");
    let mut buf = Vec::with_capacity(n * 40);
    for i in 0..n {
        let k = format!("k:{i}");
        let v = format!("v{i}");
        buf.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{k}\r\n${}\r\n{v}\r\n",
                k.len(),
                v.len()
            )
            .as_bytes(),
        );
    }
    std::fs::write(&path, buf).expect("write the load file");
    let f = std::fs::File::open(&path).expect("open the load file");
    let out = std::process::Command::new("redis-cli")
        .arg("-p")
        .arg(p.port.to_string())
        .arg("--pipe")
        .stdin(f)
        .output()
        .expect("redis-cli --pipe");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

fn mget_all(p: &Proc, keys: &[String]) -> Vec<Option<String>> {
    let mut c = connect(p);
    let mut out = Vec::with_capacity(keys.len());
    for chunk in keys.chunks(10_000) {
        let v: Vec<Option<String>> = redis::cmd("MGET").arg(chunk).query(&mut c).expect("MGET");
        out.extend(v);
    }
    out
}

#[test]
fn million_key_full_sync_while_the_master_takes_writes() {
    const N: usize = 1_000_000;
    let m = Proc::tandem(&[]);
    load_keys(&m, N);
    let mut mc = m.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut mc).expect("DBSIZE");
    assert_eq!(n as usize, N);
    let stop = Arc::new(AtomicBool::new(false));
    let w = writer(m.port, stop.clone());
    let r = Proc::tandem(&[]);
    let t0 = Instant::now();
    replicaof(&r, &m);
    let mut rc = r.client();
    // A debug build on a busy 2-core CI box: give the 1M-key sync room.
    wait_for(2 * T, "the full sync", || {
        info(&mut rc, "replication", "master_link_status") == "up"
    });
    let sync_time = t0.elapsed();
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let writes = w.join().expect("writer");
    assert!(writes > 0);
    wait_synced(&m, &r, T);
    let n: i64 = redis::cmd("DBSIZE").query(&mut rc).expect("DBSIZE");
    let nm: i64 = redis::cmd("DBSIZE").query(&mut mc).expect("DBSIZE");
    assert_eq!(n, nm);
    let mut keys: Vec<String> = (0..N).map(|i| format!("k:{i}")).collect();
    keys.extend((0..5000).map(|i| format!("w:{i}")));
    keys.push("w:count".into());
    assert!(mget_all(&m, &keys) == mget_all(&r, &keys), "values differ");
    let la: Vec<String> = redis::cmd("LRANGE")
        .arg("w:list")
        .arg(0)
        .arg(-1)
        .query(&mut mc)
        .expect("LRANGE");
    let lb: Vec<String> = redis::cmd("LRANGE")
        .arg("w:list")
        .arg(0)
        .arg(-1)
        .query(&mut rc)
        .expect("LRANGE");
    assert_eq!(la, lb);
    eprintln!("1M-key full sync (debug build) with {writes} concurrent writes: {sync_time:?}");
}

/// Sync mode with two replicas and `min-sync-replicas 2`, `sync-fallback refuse`:
/// one replica is killed and restarted at random moments under load from several
/// clients. Then the master is killed and the other replica promoted: every
/// counter value a client saw acknowledged is there.
#[test]
fn sync_mode_loses_no_acknowledged_write_on_promotion() {
    let m = Proc::tandem(&[
        "--replication-mode",
        "sync",
        "--min-sync-replicas",
        "2",
        "--sync-timeout",
        "300",
        "--sync-fallback",
        "refuse",
    ]);
    let port = m.port.to_string();
    let r1 = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    let mut r2 = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    wait_synced(&m, &r1, T);
    wait_synced(&m, &r2, T);
    let mut mc = m.client();
    wait_for(T, "sync mode armed", || {
        info(&mut mc, "replication", "tandem_sync_state") == "ok"
    });
    let stop = Arc::new(AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|id| {
            let stop = stop.clone();
            let url = m.url();
            std::thread::spawn(move || {
                let key = format!("ctr:{id}");
                let mut acked = 0i64;
                let mut conn = None;
                while !stop.load(Ordering::Relaxed) {
                    if conn.is_none() {
                        conn = redis::Client::open(url.as_str())
                            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
                            .ok();
                        if conn.is_none() {
                            std::thread::sleep(Duration::from_millis(20));
                            continue;
                        }
                    }
                    let Some(c) = conn.as_mut() else { continue };
                    match redis::cmd("INCR").arg(&key).query::<i64>(c) {
                        Ok(v) => acked = acked.max(v),
                        Err(e) => {
                            if e.code() != Some("NOREPLICAS") {
                                conn = None;
                            }
                            std::thread::sleep(Duration::from_millis(5));
                        }
                    }
                }
                (key, acked)
            })
        })
        .collect();
    let seed = std::process::id() as u64;
    for round in 0..4u64 {
        // Pseudo-random moments (seeded by the pid, printed for reruns).
        let wait = 100 + (seed.wrapping_mul(31).wrapping_add(round * 977)) % 400;
        std::thread::sleep(Duration::from_millis(wait));
        r2.sigkill();
        std::thread::sleep(Duration::from_millis(wait / 2));
        r2.restart();
        wait_synced(&m, &r2, T);
    }
    std::thread::sleep(Duration::from_millis(200));
    stop.store(true, Ordering::Relaxed);
    let acked: Vec<(String, i64)> = clients
        .into_iter()
        .map(|h| h.join().expect("client"))
        .collect();
    assert!(
        acked.iter().all(|(_, v)| *v > 0),
        "every client got OKs: {acked:?} (seed {seed})"
    );
    // Master dies; r1 is promoted.
    drop(m);
    let mut c1 = r1.client();
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut c1)
        .expect("promote");
    for (key, v) in &acked {
        let have: Option<i64> = redis::cmd("GET").arg(key).query(&mut c1).expect("GET");
        assert!(
            have.unwrap_or(0) >= *v,
            "{key}: acknowledged {v}, survivor has {have:?} (seed {seed})"
        );
    }
}

/// Protected mode (Redis 7.0's default): without a password, a client from
/// another host gets Redis's DENIED reply and is counted as rejected; local
/// clients are served; with a password (or protected mode off) the other
/// host is served.
#[test]
fn protected_mode_refuses_other_hosts_without_a_password() {
    let net = netns::Pair::new("g");
    let m = net.start_master(&["--protected-mode", "yes"]);
    let denied = net.cli_from_b(&["PING"]);
    assert!(
        denied.starts_with("DENIED Redis is running in protected mode"),
        "{denied}"
    );
    assert_eq!(net.cli(&m, &["PING"]), "PONG");
    assert_eq!(net.info(&m, "stats", "rejected_connections"), "1");
    drop(m);
    let m = net.start_master(&["--protected-mode", "yes", "--requirepass", "pw"]);
    assert_eq!(
        net.cli_from_b(&["-a", "pw", "--no-auth-warning", "PING"]),
        "PONG"
    );
    drop(m);
    let _m = net.start_master(&[]);
    assert_eq!(net.cli_from_b(&["PING"]), "PONG");
}

#[test]
fn cut_link_resyncs_partially_within_the_backlog() {
    let net = netns::Pair::new("p");
    let m = net.start_master(&["--repl-backlog-size", "1mb"]);
    let r = net.start_replica();
    net.wait_synced(&m, &r);
    net.cli(&m, &["SET", "before", "1"]);
    net.cut();
    for i in 0..100 {
        net.cli(&m, &["SET", &format!("during:{i}"), "x"]);
    }
    net.wait_link(&r, "down");
    net.heal();
    net.wait_synced(&m, &r);
    assert_eq!(net.info(&m, "stats", "sync_full"), "1");
    assert!(
        net.info(&m, "stats", "sync_partial_ok")
            .parse::<u64>()
            .unwrap_or(0)
            >= 1
    );
    assert_eq!(net.cli(&r, &["DBSIZE"]), "101");
    assert!(r
        .log()
        .contains("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."));
}

#[test]
fn cut_link_beyond_the_backlog_needs_a_full_resync() {
    let net = netns::Pair::new("f");
    let m = net.start_master(&["--repl-backlog-size", "16384"]);
    let r = net.start_replica();
    net.wait_synced(&m, &r);
    net.cut();
    let big = "y".repeat(1000);
    for i in 0..40 {
        net.cli(&m, &["SET", &format!("during:{i}"), &big]);
    }
    net.wait_link(&r, "down");
    net.heal();
    net.wait_synced(&m, &r);
    assert_eq!(net.info(&m, "stats", "sync_full"), "2");
    assert_eq!(net.cli(&r, &["DBSIZE"]), "40");
}
