//! `tandem up`, `tandem status` and `tandem drill` end to end: the whole product
//! as a user runs it. One command starts master, replica, monitor and proxy; the
//! drill SIGKILLs the master under INCR load through the proxy; the deployment
//! fails over, the killed node comes back as a replica of the new master, and no
//! acknowledged write is lost or applied twice. With `up --isolate` (root) each
//! node has its own network namespace and `drill --partition` cuts the master's
//! link: the same promises hold against silence, and the cut-off master fences
//! itself and rejoins with the new master's data.

mod common;

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::{free_port, tandem_bin, wait_for};
use serde_json::Value;

/// A running `tandem up`, stopped (SIGTERM) on drop.
struct Up {
    child: Child,
    data: tempfile::TempDir,
    port: u16,
}

impl Up {
    fn start(extra: &[&str]) -> Up {
        Up::start_in(tempfile::tempdir().expect("temp dir"), extra)
    }

    /// `tandem up` on a given data folder (a second run on the same folder).
    fn start_in(data: tempfile::TempDir, extra: &[&str]) -> Up {
        let port = free_port();
        let mut child = Command::new(tandem_bin())
            .args(["up", "--port", &port.to_string(), "--data"])
            .arg(data.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn tandem up");
        let out = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) if l.starts_with("Tandem is up: redis://") => {
                    assert!(l.ends_with(&format!(":{port}")), "endpoint line: {l}");
                    break;
                }
                Ok(_) => {}
                Err(_) => {
                    let logs = std::fs::read_dir(data.path().join("logs"))
                        .map(|d| {
                            d.filter_map(Result::ok)
                                .map(|e| {
                                    format!(
                                        "== {}\n{}",
                                        e.path().display(),
                                        std::fs::read_to_string(e.path()).unwrap_or_default()
                                    )
                                })
                                .collect::<Vec<_>>()
                                .join("\n")
                        })
                        .unwrap_or_default();
                    panic!("tandem up did not print its endpoint within 60 s\n{logs}");
                }
            }
        }
        Up { child, data, port }
    }

    fn tandem_json(&self, args: &[&str]) -> Value {
        let out = Command::new(tandem_bin())
            .args(args)
            .arg("--data")
            .arg(self.data.path())
            .arg("--json")
            .output()
            .expect("run tandem");
        let text = String::from_utf8_lossy(&out.stdout);
        serde_json::from_str(&text).unwrap_or_else(|e| {
            panic!(
                "tandem {args:?} printed no JSON ({e}): {text}\nstderr: {}",
                String::from_utf8_lossy(&out.stderr)
            )
        })
    }

    fn status(&self) -> Value {
        self.tandem_json(&["status"])
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn nodes(status: &Value) -> Vec<Value> {
    status["nodes"].as_array().cloned().unwrap_or_default()
}

fn redis_cli(port: u16, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .args(["-p", &port.to_string()])
        .args(args)
        .output()
        .expect("redis-cli (installed by the test script)");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Runs the drill and checks what the product promises, then that the killed
/// master rejoined as a replica of the new one. Only sync mode promises that no
/// acknowledged write is lost; async mode (Redis's behaviour) may lose the tail
/// the replica had not received, but never applies a write twice.
fn drill_and_check(up: &Up, sync: bool) {
    assert_eq!(redis_cli(up.port, &["SET", "before", "drill"]), "OK");
    let status = up.status();
    assert_eq!(status["monitor_status"]["topology"]["epoch"], 1, "{status}");
    let r = up.tandem_json(&["drill", "--clients", "4", "--warmup", "1", "--after", "3"]);
    assert!(r["acknowledged_writes"].as_u64().unwrap_or(0) > 0, "{r}");
    if sync {
        assert_eq!(
            r["lost_writes"], 0,
            "acknowledged writes lost in sync mode: {r}"
        );
        // A request sent after the kill never reached the dead master: the
        // proxy learns from the new master that it was not applied and
        // replays it, so no client sees an error for it.
        assert_eq!(r["errors_after_kill"], 0, "errors after the kill: {r}");
    }
    assert_eq!(r["double_applied"], 0, "writes applied twice: {r}");
    // Whatever was lost (only async mode may lose anything) is bounded by the
    // replication lag just before the kill, as the drill measured it.
    let bound = r["lost_writes_bound"]
        .as_u64()
        .expect("the drill sampled the replication lag before the kill");
    let lost = r["lost_writes"].as_u64().unwrap_or(u64::MAX);
    assert!(
        lost <= bound,
        "{lost} writes lost, more than the lag held: {r}"
    );
    assert_ne!(r["new_master"], r["killed_master"], "{r}");
    assert!(r["new_master"].is_string(), "{r}");
    // Clients saw a pause, not an outage: some client got an acknowledgement
    // again within the drill (the bound is generous for a loaded CI box; the
    // measured figure goes to BENCHMARKS.md).
    let first = r["first_write_after_kill_ms"]
        .as_u64()
        .expect("a write sent after the kill was acknowledged");
    assert!(first < 3000, "first write {first} ms after the kill: {r}");
    assert_eq!(r["old_master_rejoined"], true, "{r}");
    // Every error a client saw is one of the proxy's explicit ones (the outcome
    // of a request the dead master read and may have applied is unknown),
    // never a connection error or a silent loss.
    for e in r["error_samples"].as_array().into_iter().flatten() {
        let e = e.as_str().unwrap_or_default();
        assert!(
            e.contains("outcome unknown") || e.starts_with("-TRYAGAIN"),
            "unexpected client error {e}: {r}"
        );
    }
    // Data written before the drill is still there, through the same address.
    assert_eq!(redis_cli(up.port, &["GET", "before"]), "drill");
    // The killed node is restarted by `up` and demoted: it follows the new master.
    let killed = r["killed_master"].as_str().unwrap_or_default().to_string();
    let new_master = r["new_master"].as_str().unwrap_or_default().to_string();
    wait_for(
        Duration::from_secs(30),
        "the old master to rejoin as a replica",
        || {
            let s = up.status();
            s["monitor_status"]["topology"]["epoch"] == 2
                && nodes(&s).iter().any(|n| {
                    n["addr"] == killed.as_str()
                        && n["role"] == "replica"
                        && n["link"] == "up"
                        && n["master"] == new_master.as_str()
                })
        },
    );
}

#[test]
fn up_fails_over_async_without_double_applies() {
    let up = Up::start(&[]);
    drill_and_check(&up, false);
}

#[test]
fn up_fails_over_without_losing_acknowledged_writes_sync() {
    let up = Up::start(&["--replication-mode", "sync"]);
    drill_and_check(&up, true);
}

/// Ctrl-C (SIGTERM) stops every child: no port stays open.
#[test]
fn up_stops_everything_on_sigterm() {
    let mut up = Up::start(&[]);
    let status = up.status();
    let addrs: Vec<String> = nodes(&status)
        .iter()
        .filter_map(|n| n["addr"].as_str().map(str::to_string))
        .chain([format!("127.0.0.1:{}", up.port)])
        .collect();
    assert!(addrs.len() >= 3, "{status}");
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(up.child.id().to_string())
        .status();
    let st = up.child.wait().expect("wait");
    assert!(st.success(), "tandem up exited with {st}");
    for a in &addrs {
        assert!(
            std::net::TcpStream::connect(a).is_err(),
            "{a} still accepts connections after tandem up stopped"
        );
    }
}

/// `tandem failover` switches the master on purpose with zero data loss: writers
/// keep going through the proxy while it happens, every acknowledged INCR is on
/// the new master, and the old master follows it. The writers cover a shared
/// connection, clients on dedicated ones (SELECT 2, RESP3) and transactions:
/// none of them sees an error.
#[test]
fn planned_failover_loses_nothing_under_writes() {
    let up = Up::start(&[]);
    let port = up.port;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    // (URL suffix, database, in MULTI/EXEC)
    let kinds: [(&str, u32, bool); 4] = [
        ("", 0, false),
        ("2", 2, false),
        ("?protocol=resp3", 0, false),
        ("", 0, true),
    ];
    let writers: Vec<_> = kinds
        .into_iter()
        .enumerate()
        .map(|(i, (suffix, db, tx))| {
            let stop = stop.clone();
            std::thread::spawn(move || {
                let client =
                    redis::Client::open(format!("redis://127.0.0.1:{port}/{suffix}")).expect("url");
                let mut con = client.get_connection().expect("connect through the proxy");
                let key = format!("planned:{i}");
                let mut acked = 0u64;
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    // A planned switchover never fails a request: each INCR is held
                    // and answered, so every one must succeed.
                    let v: u64 = if tx {
                        let (a, b): (u64, u64) = redis::pipe()
                            .atomic()
                            .cmd("INCR")
                            .arg(&key)
                            .cmd("INCR")
                            .arg(&key)
                            .query(&mut con)
                            .expect("MULTI/EXEC during a planned failover");
                        assert_eq!(a + 1, b, "{key}: one transaction, two increments");
                        acked += 1;
                        b
                    } else {
                        redis::cmd("INCR")
                            .arg(&key)
                            .query(&mut con)
                            .expect("INCR during a planned failover")
                    };
                    acked += 1;
                    assert_eq!(v, acked, "{key}: counter and acknowledgements differ");
                }
                (key, db, acked)
            })
        })
        .collect();
    wait_for(Duration::from_secs(10), "writes to flow", || {
        redis_cli(port, &["GET", "planned:0"])
            .parse::<u64>()
            .unwrap_or(0)
            > 100
    });
    let ev = up.tandem_json(&["failover"]);
    assert_eq!(ev["epoch"], 2, "{ev}");
    let new_master = ev["new_master"].as_str().expect("new master").to_string();
    assert_ne!(ev["old_master"].as_str(), Some(new_master.as_str()), "{ev}");
    // Let the writers run on the new master for a moment, then check the counts.
    let after = redis_cli(port, &["GET", "planned:0"])
        .parse::<u64>()
        .unwrap_or(0);
    wait_for(
        Duration::from_secs(10),
        "writes to continue after the switch",
        || {
            redis_cli(port, &["GET", "planned:0"])
                .parse::<u64>()
                .unwrap_or(0)
                > after + 100
        },
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for w in writers {
        let (key, db, acked) = w.join().expect("writer");
        assert!(acked > 0, "{key}: no write went through");
        let on_new = redis_cli(
            new_master
                .rsplit(':')
                .next()
                .and_then(|p| p.parse().ok())
                .expect("port"),
            &["-n", &db.to_string(), "GET", &key],
        );
        assert_eq!(on_new, acked.to_string(), "{key} on the new master");
    }
    let old = ev["old_master"].as_str().unwrap_or_default().to_string();
    wait_for(
        Duration::from_secs(30),
        "the old master to follow the new one",
        || {
            nodes(&up.status()).iter().any(|n| {
                n["addr"] == old.as_str()
                    && n["role"] == "replica"
                    && n["master"] == new_master.as_str()
            })
        },
    );
}

fn pid_of(port: u16) -> Option<i32> {
    let info = redis_cli(port, &["INFO", "server"]);
    info.lines()
        .find_map(|l| l.strip_prefix("process_id:"))
        .and_then(|p| p.trim().parse().ok())
}

fn kill9(pid: i32) {
    let st = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .status()
        .expect("kill");
    assert!(st.success(), "kill -KILL {pid}");
}

/// Killing the proxy, the monitor (and with it the embedded routing store) or
/// the replica is survived: `up` restarts each, the service answers through the
/// same address with the same data, the topology keeps its epoch (a restarted
/// routing store never reuses or loses one), and the next failover is epoch 2.
#[test]
fn up_recovers_from_killing_proxy_monitor_and_replica() {
    let up = Up::start(&["--replication-mode", "sync"]);
    assert_eq!(redis_cli(up.port, &["SET", "k", "v1"]), "OK");

    // The proxy.
    let proxy_pid = pid_of(up.port).expect("proxy process_id");
    kill9(proxy_pid);
    wait_for(Duration::from_secs(30), "the proxy to be back", || {
        pid_of(up.port).is_some_and(|p| p != proxy_pid)
    });
    assert_eq!(redis_cli(up.port, &["GET", "k"]), "v1");

    // The monitor, which hosts the routing store.
    let status = up.status();
    let monitor_port: u16 = status["monitor"]
        .as_str()
        .and_then(|m| m.rsplit(':').next())
        .and_then(|p| p.parse().ok())
        .expect("monitor address");
    let monitor_pid = pid_of(monitor_port).or_else(|| {
        // The admin endpoint may not speak INFO: find the process by its data folder.
        let out = Command::new("pgrep")
            .args(["-f", &format!("{}/monitor", up.data.path().display())])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .next()?
            .trim()
            .parse()
            .ok()
    });
    let monitor_pid = monitor_pid.expect("monitor pid");
    kill9(monitor_pid);
    // The data path does not need the monitor: writes go on meanwhile.
    assert_eq!(redis_cli(up.port, &["SET", "k", "v2"]), "OK");
    wait_for(Duration::from_secs(30), "the monitor to be back", || {
        up.status()["monitor_status"]["topology"]["epoch"] == 1
    });

    // The replica.
    let replica = nodes(&up.status())
        .into_iter()
        .find(|n| n["role"] == "replica")
        .and_then(|n| n["addr"].as_str().map(str::to_string))
        .expect("a replica");
    let rport: u16 = replica
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .expect("port");
    let rpid = pid_of(rport).expect("replica pid");
    kill9(rpid);
    wait_for(Duration::from_secs(30), "the replica to rejoin", || {
        nodes(&up.status())
            .iter()
            .any(|n| n["addr"] == replica.as_str() && n["role"] == "replica" && n["link"] == "up")
    });
    assert_eq!(redis_cli(up.port, &["SET", "k", "v3"]), "OK");
    assert_eq!(redis_cli(rport, &["GET", "k"]), "v3");

    // The next failover takes the next epoch.
    let r = up.tandem_json(&["drill", "--clients", "2", "--warmup", "0.5", "--after", "2"]);
    assert_eq!(r["lost_writes"], 0, "{r}");
    wait_for(Duration::from_secs(10), "epoch 2", || {
        up.status()["monitor_status"]["topology"]["epoch"] == 2
    });
}

/// A master that goes silent (SIGSTOP: no reset, as a partition looks to its
/// peers) is failed over after down-after; in sync mode nothing acknowledged is
/// lost, and once resumed the old master is fenced and rejoins as a replica.
#[test]
fn up_fails_over_a_frozen_master_sync() {
    let up = Up::start(&["--replication-mode", "sync"]);
    let r = up.tandem_json(&[
        "drill",
        "--clients",
        "4",
        "--warmup",
        "1",
        "--after",
        "8",
        "--freeze",
    ]);
    assert_eq!(r["lost_writes"], 0, "{r}");
    assert_eq!(r["double_applied"], 0, "{r}");
    assert_ne!(r["new_master"], r["killed_master"], "{r}");
    let first = r["first_write_after_kill_ms"]
        .as_u64()
        .expect("a write sent after the freeze was acknowledged");
    eprintln!("frozen-master drill: {r}");
    // Requests stuck on the frozen master are settled with the new master (not
    // applied there: replayed), so none of those clients sees an error.
    assert_eq!(r["errors_after_kill"], 0, "errors after the freeze: {r}");
    // Measured ~1.6 s (detection, then the new master's sync-timeout with its
    // only replica frozen; BENCHMARKS.md against the 2 s target); the bound
    // here is generous for a loaded CI box.
    assert!(first < 5000, "first write {first} ms after the freeze: {r}");
    assert_eq!(r["old_master_rejoined"], true, "{r}");
}

/// The namespaces `tandem up --isolate` recorded in DATA/up.json: (namespace,
/// root-side interface, node address).
fn namespaces(up: &Up) -> Vec<(String, String, String)> {
    let layout: Value = std::fs::read(up.data.path().join("up.json"))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .expect("up.json");
    layout["netns"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|n| {
            let f = |k: &str| n[k].as_str().unwrap_or_default().to_string();
            (f("ns"), f("host_if"), f("ns_ip"))
        })
        .collect()
}

fn netns_exists(ns: &str, host_if: &str) -> bool {
    std::path::Path::new("/run/netns").join(ns).exists()
        || std::path::Path::new("/sys/class/net")
            .join(host_if)
            .exists()
}

/// Stops `tandem up` with SIGTERM and checks it removed its namespaces.
fn stop_and_check_namespaces_gone(mut up: Up) {
    let nets = namespaces(&up);
    let _ = Command::new("kill")
        .args(["-TERM", &up.child.id().to_string()])
        .status();
    let st = up.child.wait().expect("wait");
    assert!(st.success(), "tandem up exited with {st}");
    for (ns, host_if, _) in &nets {
        assert!(
            !netns_exists(ns, host_if),
            "{ns} / {host_if} left behind by tandem up"
        );
    }
}

fn assert_root() {
    let st = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    assert!(
        st.lines().any(|l| l.starts_with("Uid:\t0\t")),
        "this test needs root (ip netns), as crates/monitor's partition test"
    );
}

/// A real partition: `tandem up --isolate` runs each node in its own network
/// namespace, and `tandem drill --partition` takes the master's link down (no
/// reset reaches anyone; the monitor and the proxy hear silence). Failover
/// happens, no acknowledged write is lost or doubled, a write sent after the cut
/// is acknowledged, the cut-off master fences itself during the partition (seen
/// from inside its namespace), and after the link is back it rejoins as a
/// replica of the new master holding exactly its data. Stopping removes the
/// namespaces.
#[test]
fn up_fails_over_a_partitioned_master_sync() {
    assert_root();
    let up = Up::start(&["--isolate", "--replication-mode", "sync"]);
    let nets = namespaces(&up);
    assert_eq!(nets.len(), 2, "one namespace per node");
    let status = up.status();
    for (_, _, ip) in &nets {
        assert!(
            nodes(&status).iter().any(|n| n["addr"]
                .as_str()
                .unwrap_or_default()
                .starts_with(&format!("{ip}:"))),
            "no node listens on its namespace address {ip}: {status}"
        );
    }
    assert_eq!(redis_cli(up.port, &["SET", "before", "partition"]), "OK");
    let master = status["monitor_status"]["topology"]["shards"][0]["master"]["addr"]
        .as_str()
        .expect("master address")
        .to_string();
    let (ns, _, ip) = nets
        .iter()
        .find(|(_, _, ip)| master.starts_with(&format!("{ip}:")))
        .cloned()
        .expect("the master runs in one of the namespaces");
    let port = master.rsplit(':').next().unwrap_or_default().to_string();

    let started = Instant::now();
    let drill = std::thread::scope(|s| {
        let d = s.spawn(|| {
            up.tandem_json(&[
                "drill",
                "--clients",
                "4",
                "--warmup",
                "1",
                "--after",
                "10",
                "--partition",
            ])
        });
        // From inside its namespace (the only side that still reaches it), the
        // cut-off master is seen fencing itself: the cut comes after the 1 s
        // warm-up, the fence 1 s after that, the link returns after 11 s.
        let mut fenced_at = None;
        while started.elapsed() < Duration::from_secs(9) {
            let out = Command::new("ip")
                .args(["netns", "exec", &ns, "redis-cli", "-h", &ip, "-p", &port])
                .args(["INFO", "replication"])
                .output()
                .expect("redis-cli in the namespace");
            if String::from_utf8_lossy(&out.stdout).contains("tandem_fenced:1") {
                fenced_at = Some(started.elapsed());
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        (d.join().expect("drill thread"), fenced_at)
    });
    let (r, fenced_at) = drill;
    eprintln!("partition drill: {r}");
    let fenced_at = fenced_at.expect("the cut-off master fenced itself during the partition");
    eprintln!(
        "self-fenced {} ms after the drill started (cut at ~1 s)",
        fenced_at.as_millis()
    );
    assert_eq!(r["fault"], "partition", "{r}");
    assert_eq!(r["killed_master"], master.as_str(), "{r}");
    assert!(r["new_master"].is_string(), "{r}");
    assert_ne!(r["new_master"], r["killed_master"], "no failover: {r}");
    assert!(r["acknowledged_writes"].as_u64().unwrap_or(0) > 0, "{r}");
    assert_eq!(r["lost_writes"], 0, "acknowledged writes lost: {r}");
    assert_eq!(r["double_applied"], 0, "writes applied twice: {r}");
    // Requests stuck on the silent master are settled with the new master and
    // replayed (measured ~1.6 s to the first write, against the 2 s target;
    // BENCHMARKS.md; the bound here is generous for a loaded CI box).
    let first = r["first_write_after_kill_ms"]
        .as_u64()
        .expect("a write sent after the cut was acknowledged");
    assert!(first < 5_000, "first write {first} ms after the cut: {r}");
    assert_eq!(r["errors_after_kill"], 0, "errors after the cut: {r}");
    // The monitor's part: silence is noticed after down-after (500 ms).
    let published = r["failover_published_ms"]
        .as_u64()
        .expect("the monitor recorded the failover");
    assert!(
        published < 5_000,
        "new topology {published} ms after the cut: {r}"
    );
    assert_eq!(r["old_master_rejoined"], true, "{r}");
    assert_eq!(r["old_master_consistent"], true, "divergent data: {r}");
    assert_eq!(redis_cli(up.port, &["GET", "before"]), "partition");
    let new_master = r["new_master"].as_str().unwrap_or_default().to_string();
    wait_for(
        Duration::from_secs(10),
        "status to show the old master as a replica",
        || {
            let s = up.status();
            s["monitor_status"]["topology"]["epoch"] == 2
                && nodes(&s).iter().any(|n| {
                    n["addr"] == master.as_str()
                        && n["role"] == "replica"
                        && n["link"] == "up"
                        && n["master"] == new_master.as_str()
                })
        },
    );
    stop_and_check_namespaces_gone(up);
}

/// A `tandem up --isolate` that dies (SIGKILL: no cleanup) leaves its
/// namespaces behind; the next run on the same folder replaces them and serves
/// the same data. The folder refuses a start without --isolate (the routing
/// store knows the nodes by their namespace addresses), and --isolate without
/// CAP_NET_ADMIN is refused with a clear message.
#[test]
fn up_isolate_replaces_stale_namespaces_and_refuses_clearly() {
    assert_root();
    let mut up = Up::start(&["--isolate"]);
    assert_eq!(redis_cli(up.port, &["SET", "k", "v"]), "OK");
    let nets = namespaces(&up);
    wait_for(
        Duration::from_secs(10),
        "the replica to have the key",
        || {
            nodes(&up.status())
                .iter()
                .any(|n| n["role"] == "replica" && n["link"] == "up" && n["lag_bytes"] == 0)
        },
    );
    up.child.kill().expect("SIGKILL tandem up");
    up.child.wait().expect("wait");
    // Keep the folder for the next run (the rest of `up` goes away).
    let data = std::mem::replace(&mut up.data, tempfile::tempdir().expect("temp dir"));
    drop(up);
    for (ns, host_if, _) in &nets {
        assert!(netns_exists(ns, host_if), "{ns} should be stale now");
    }

    let out = Command::new(tandem_bin())
        .args(["up", "--port", &free_port().to_string(), "--data"])
        .arg(data.path())
        .output()
        .expect("tandem up");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--isolate"), "{err}");

    let out = Command::new("setpriv")
        .args(["--bounding-set", "-net_admin"])
        .arg(tandem_bin())
        .args([
            "up",
            "--isolate",
            "--port",
            &free_port().to_string(),
            "--data",
        ])
        .arg(data.path())
        .output()
        .expect("setpriv (util-linux)");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("root") && err.contains("CAP_NET_ADMIN"),
        "{err}"
    );

    let up = Up::start_in(data, &["--isolate"]);
    assert_eq!(namespaces(&up), nets, "the same names and addresses");
    assert_eq!(redis_cli(up.port, &["GET", "k"]), "v");

    // A node that dies is restarted inside its own namespace.
    let replica = nodes(&up.status())
        .into_iter()
        .find(|n| n["role"] == "replica")
        .and_then(|n| n["addr"].as_str().map(str::to_string))
        .expect("a replica");
    let (ns, _, ip) = nets
        .iter()
        .find(|(_, _, ip)| replica.starts_with(&format!("{ip}:")))
        .cloned()
        .expect("the replica's namespace");
    let port = replica.rsplit(':').next().unwrap_or_default().to_string();
    let pid_in_ns = || -> Option<i32> {
        let out = Command::new("ip")
            .args(["netns", "exec", &ns, "redis-cli", "-h", &ip, "-p", &port])
            .args(["INFO", "server"])
            .output()
            .ok()?;
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .find_map(|l| l.strip_prefix("process_id:"))
            .and_then(|p| p.trim().parse().ok())
    };
    let old_pid = pid_in_ns().expect("the replica's pid");
    kill9(old_pid);
    wait_for(Duration::from_secs(30), "the replica to be back", || {
        pid_in_ns().is_some_and(|p| p != old_pid)
            && nodes(&up.status()).iter().any(|n| {
                n["addr"] == replica.as_str() && n["role"] == "replica" && n["link"] == "up"
            })
    });
    let new_pid = pid_in_ns().expect("pid").to_string();
    let out = Command::new("ip")
        .args(["netns", "pids", &ns])
        .output()
        .expect("ip netns pids");
    assert!(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .any(|l| l.trim() == new_pid),
        "the restarted node {new_pid} is not in {ns}"
    );
    assert_eq!(redis_cli(up.port, &["SET", "k2", "v2"]), "OK");
    stop_and_check_namespaces_gone(up);
}
