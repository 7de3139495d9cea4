//! Writers, checks and switchover steps shared by the proxy switch tests.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::common::{wait_for, Proc};
use super::harness::{write_topology, ProxyProc};

pub const OUTCOME_UNKNOWN: &str = "outcome unknown, the master failed before replying";
pub const HOLD_TIMEOUT: &str = "no master available within hold-timeout";

pub fn info_field(p: &Proc, field: &str) -> String {
    p.cli_str(&["INFO", "replication"])
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
        .unwrap_or_default()
}

/// What one writer saw.
#[derive(Default, Debug)]
pub struct Seen {
    /// Acknowledged INCR values, in reply order.
    pub incr_acks: Vec<i64>,
    pub unknown: usize,
    pub hold_timeouts: usize,
    pub set_errors: Vec<String>,
    pub other_errors: Vec<String>,
    pub longest_wait: Duration,
}

/// Runs INCR (single and pipelined, mixed with idempotent SETs) on `ctr:<t>`
/// until `stop`.
pub fn writer(url: String, t: usize, pipeline: usize, stop: Arc<AtomicBool>) -> Seen {
    let mut seen = Seen::default();
    let mut c = connect(url);
    let key = format!("ctr:{t}");
    let mut round = 0u64;
    while !stop.load(Ordering::Relaxed) {
        round += 1;
        let n = if round.is_multiple_of(2) { 1 } else { pipeline };
        let mut p = redis::pipe();
        p.ignore_errors();
        for j in 0..n {
            if j % 4 == 3 {
                p.cmd("SET").arg(format!("set:{t}")).arg(round);
            } else {
                p.cmd("INCR").arg(&key);
            }
        }
        let t0 = Instant::now();
        let replies: Vec<redis::RedisResult<redis::Value>> = p.query(&mut c).expect("pipeline");
        seen.longest_wait = seen.longest_wait.max(t0.elapsed());
        assert_eq!(replies.len(), n, "one reply per request");
        for (j, r) in replies.into_iter().enumerate() {
            let is_set = j % 4 == 3;
            match r {
                Ok(redis::Value::Int(v)) if !is_set => seen.incr_acks.push(v),
                Ok(redis::Value::Okay) if is_set => {}
                Ok(v) => seen.other_errors.push(format!("unexpected reply {v:?}")),
                Err(e) => {
                    let m = e.to_string();
                    if is_set && !m.contains(HOLD_TIMEOUT) {
                        seen.set_errors.push(m);
                    } else if m.contains(OUTCOME_UNKNOWN) {
                        seen.unknown += 1;
                    } else if m.contains(HOLD_TIMEOUT) {
                        seen.hold_timeouts += 1;
                    } else {
                        seen.other_errors.push(m);
                    }
                }
            }
        }
    }
    seen
}

/// Master A and its replica B, in sync, and a proxy following a topology file
/// that names A at epoch 1 (B as its replica).
pub struct Pair {
    pub a: Proc,
    pub b: Proc,
    pub topo: std::path::PathBuf,
    pub proxy: ProxyProc,
    _dir: tempfile::TempDir,
}

/// Starts a [`Pair`] of `node`s; `proxy_args` come after the topology file.
pub fn pair_behind_proxy(node: impl Fn(&[&str]) -> Proc, proxy_args: &[&str]) -> Pair {
    let a = node(&[]);
    let a_port = a.port.to_string();
    let b = node(&["--replicaof", "127.0.0.1", &a_port]);
    wait_for(Duration::from_secs(10), "replica in sync", || {
        info_field(&b, "master_link_status") == "up"
    });
    let dir = tempfile::tempdir().expect("dir");
    let topo = dir.path().join("topology.json");
    write_topology(&topo, 1, &a.addr(), &[&b.addr()]);
    let mut args = vec!["--topology-file", topo.to_str().expect("path")];
    args.extend_from_slice(proxy_args);
    let proxy = ProxyProc::start(&args);
    proxy.await_master();
    Pair {
        a,
        b,
        topo,
        proxy,
        _dir: dir,
    }
}

/// Waits until the writers' first counter (`ctr:0`, in `ctl`'s database) is
/// past `n`.
pub fn await_load(ctl: &mut redis::Connection, n: i64) {
    wait_for(Duration::from_secs(10), "load on the old master", || {
        redis::cmd("GET")
            .arg("ctr:0")
            .query::<Option<i64>>(ctl)
            .ok()
            .flatten()
            .unwrap_or(0)
            > n
    });
}

/// The planned part of a switchover: freeze writes on A (through `ctl`, a
/// connection to it), let B catch up, promote B, publish epoch 2.
pub fn pause_and_promote(p: &Pair, ctl: &mut redis::Connection) {
    let () = redis::cmd("CLIENT")
        .arg("PAUSE")
        .arg(20000)
        .arg("WRITE")
        .query(ctl)
        .expect("CLIENT PAUSE");
    let a_off: i64 = info_field(&p.a, "master_repl_offset")
        .parse()
        .expect("offset");
    wait_for(Duration::from_secs(10), "replica caught up", || {
        info_field(&p.b, "slave_repl_offset")
            .parse::<i64>()
            .unwrap_or(0)
            >= a_off
    });
    assert_eq!(p.b.cli_str(&["REPLICAOF", "NO", "ONE"]), "OK");
    write_topology(&p.topo, 2, &p.b.addr(), &[]);
}

/// A writer's connection through the proxy at `url`.
pub fn connect(url: String) -> redis::Connection {
    let c = redis::Client::open(url)
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
        .expect("connect");
    c.set_read_timeout(Some(Duration::from_secs(20)))
        .expect("timeout");
    c
}

/// The end of a planned switch: waits for load on the new master `b` (in
/// database `db`), stops the writers and checks each: no error but "outcome
/// unknown", no hold timeout, acknowledged INCRs counting up by exactly one
/// (nothing applied twice, nothing skipped: INCRs paused on the old master
/// were never applied there), and B's counter equal to them. Returns what each
/// writer saw.
pub fn finish_switch(
    b: &Proc,
    db: i64,
    stop: &AtomicBool,
    writers: Vec<std::thread::JoinHandle<Seen>>,
) -> Vec<Seen> {
    let mut bc = b.client();
    let () = redis::cmd("SELECT").arg(db).query(&mut bc).expect("SELECT");
    let at_switch: i64 = redis::cmd("GET").arg("ctr:0").query(&mut bc).expect("GET");
    wait_for(Duration::from_secs(10), "load on the new master", || {
        redis::cmd("GET")
            .arg("ctr:0")
            .query::<i64>(&mut bc)
            .unwrap_or(0)
            > at_switch + 200
    });
    stop.store(true, Ordering::Relaxed);
    let mut all = Vec::new();
    for (t, w) in writers.into_iter().enumerate() {
        let seen = w.join().expect("writer");
        assert!(
            seen.other_errors.is_empty(),
            "writer {t}: {:?}",
            seen.other_errors
        );
        assert!(
            seen.set_errors.is_empty(),
            "writer {t}: {:?}",
            seen.set_errors
        );
        assert_eq!(seen.hold_timeouts, 0, "writer {t}");
        for (i, v) in seen.incr_acks.iter().enumerate() {
            assert_eq!(*v, i as i64 + 1, "writer {t}: ack #{i}");
        }
        let on_b: i64 = redis::cmd("GET")
            .arg(format!("ctr:{t}"))
            .query(&mut bc)
            .expect("GET");
        assert_eq!(
            on_b,
            seen.incr_acks.len() as i64,
            "writer {t}: counter on the new master vs acknowledged increments"
        );
        all.push(seen);
    }
    all
}
