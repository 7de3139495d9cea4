//! INFO through `tandem proxy`: the proxy's own sections (server, clients,
//! stats, cpu, cluster, backends, topology, failover) with the master's data
//! sections (memory, persistence, replication, keyspace, commandstats...)
//! spliced in, in Redis's order; `redis-cli --stat` through the proxy; the
//! proxy's sections alone, at once, when no master answers.

mod common;
#[path = "proxy/harness.rs"]
mod harness;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{info_int, wait_for, Proc};
use harness::ProxyProc;

fn setup(node: &Proc) -> ProxyProc {
    let addr = node.addr();
    let proxy = ProxyProc::start(&["--master", addr.as_str()]);
    proxy.await_master();
    proxy
}

fn headers(info: &str) -> Vec<String> {
    info.lines()
        .filter_map(|l| l.strip_prefix("# "))
        .map(|h| h.trim().to_string())
        .collect()
}

fn field<'a>(info: &'a str, name: &str) -> Option<&'a str> {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(str::trim)
}

/// The checks, against a master of either kind.
fn info_carries_the_masters_sections(node: &Proc) {
    let proxy = setup(node);
    let mut c = proxy.client();
    for i in 0..25 {
        let () = redis::cmd("SET")
            .arg(format!("k{i}"))
            .arg("v")
            .query(&mut c)
            .expect("SET");
    }
    let _: Option<String> = redis::cmd("GET").arg("k1").query(&mut c).expect("GET");
    let _: Option<String> = redis::cmd("GET").arg("nosuch").query(&mut c).expect("GET");

    let info: String = redis::cmd("INFO").query(&mut c).expect("INFO");
    assert_eq!(
        headers(&info),
        [
            "Server",
            "Clients",
            "Memory",
            "Persistence",
            "Stats",
            "Replication",
            "CPU",
            "Modules",
            "Errorstats",
            "Cluster",
            "Keyspace",
            "Backends",
            "Topology",
            "Failover"
        ],
        "{info}"
    );
    // The proxy's own...
    assert_eq!(field(&info, "tandem_role"), Some("proxy"), "{info}");
    assert_eq!(
        field(&info, "process_id"),
        Some(proxy.child.id().to_string().as_str())
    );
    assert_eq!(field(&info, "blocked_clients"), Some("0"));
    assert_eq!(field(&info, "cluster_enabled"), Some("0"));
    assert!(field(&info, "used_cpu_user").is_some(), "{info}");
    // ...and the master's, read off the master itself.
    let direct: String = redis::cmd("INFO")
        .arg("keyspace")
        .query(&mut node.client())
        .expect("INFO");
    assert_eq!(field(&info, "db0"), field(&direct, "db0"), "{info}");
    assert!(field(&info, "db0").is_some_and(|v| v.starts_with("keys=25,")));
    assert!(field(&info, "used_memory").is_some(), "{info}");
    assert_eq!(field(&info, "role"), Some("master"));
    // The stats section: the proxy's counters plus the master's keyspace ones.
    assert!(info_int(&mut c, "stats", "keyspace_hits") >= 1);
    assert!(info_int(&mut c, "stats", "keyspace_misses") >= 1);
    assert!(field(&info, "commands_forwarded").is_some(), "{info}");
    // Traffic counters as Redis names them: bytes in and out (25 SETs alone
    // are over 25 * 30 bytes in and 25 * 5 out), and the rates.
    assert!(info_int(&mut c, "stats", "total_net_input_bytes") > 25 * 30);
    assert!(info_int(&mut c, "stats", "total_net_output_bytes") > 25 * 5);
    for f in [
        "instantaneous_ops_per_sec",
        "instantaneous_input_kbps",
        "instantaneous_output_kbps",
    ] {
        assert!(field(&info, f).is_some(), "{f}: {info}");
    }
    // The rate follows the traffic (sampled every 100 ms, as Redis).
    let busy_url = proxy.url();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = stop.clone();
    let busy = std::thread::spawn(move || {
        let mut b = harness::connect(&busy_url);
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            let _: String = redis::cmd("PING").query(&mut b).expect("PING");
        }
    });
    wait_for(
        Duration::from_secs(10),
        "instantaneous_ops_per_sec > 0",
        || info_int(&mut c, "stats", "instantaneous_ops_per_sec") > 0,
    );
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    busy.join().expect("busy client");

    // One section, several, and the keywords.
    let ks: String = redis::cmd("INFO")
        .arg("keyspace")
        .query(&mut c)
        .expect("INFO");
    assert_eq!(headers(&ks), ["Keyspace"]);
    let two: String = redis::cmd("INFO")
        .arg("topology")
        .arg("memory")
        .query(&mut c)
        .expect("INFO");
    assert_eq!(headers(&two), ["Memory", "Topology"]);
    let all: String = redis::cmd("INFO").arg("all").query(&mut c).expect("INFO");
    let all = headers(&all);
    for h in ["Commandstats", "Latencystats", "Keyspace", "Failover"] {
        assert!(all.iter().any(|x| x == h), "INFO all lacks {h}: {all:?}");
    }
    let stats: String = redis::cmd("INFO")
        .arg("commandstats")
        .query(&mut c)
        .expect("INFO");
    assert!(stats.contains("cmdstat_set:calls="), "{stats}");
    let none: String = redis::cmd("INFO")
        .arg("nosuch")
        .query(&mut c)
        .expect("INFO");
    assert_eq!(none, "");

    // RESP3: a verbatim string, as from Redis.
    let mut s = proxy.raw();
    let hello = common::transcript_on(
        &mut s,
        &[
            ("hello".into(), common::encode(&["HELLO", "3"])),
            ("info".into(), common::encode(&["INFO", "keyspace"])),
        ],
    );
    assert!(
        hello[1].starts_with("info -> \"=") && hello[1].contains("txt:# Keyspace"),
        "{:?}",
        hello[1]
    );

    // A client in a blocking pop is counted while it waits.
    let url = proxy.url();
    let popper = std::thread::spawn(move || {
        let mut c = harness::connect(&url);
        let v: Option<(String, String)> = redis::cmd("BLPOP")
            .arg("q")
            .arg(0)
            .query(&mut c)
            .expect("BLPOP");
        v
    });
    wait_for(Duration::from_secs(10), "blocked_clients:1", || {
        info_int(&mut c, "clients", "blocked_clients") == 1
    });
    let _: i64 = redis::cmd("RPUSH")
        .arg("q")
        .arg("x")
        .query(&mut c)
        .expect("RPUSH");
    assert_eq!(
        popper.join().expect("popper"),
        Some(("q".into(), "x".into()))
    );
    wait_for(Duration::from_secs(10), "blocked_clients:0", || {
        info_int(&mut c, "clients", "blocked_clients") == 0
    });

    // redis-cli --stat reads keys and memory from the master, clients and
    // requests from the proxy.
    let line = stat_line(&proxy);
    let cols: Vec<&str> = line.split_whitespace().collect();
    assert_eq!(cols.first(), Some(&"25"), "keys: {line}");
    assert!(
        cols.get(1)
            .is_some_and(|m| !m.starts_with('-') && m.ends_with(['B', 'K', 'M'])),
        "mem: {line}"
    );
    assert!(!line.contains("-9223372036854775808"), "{line}");
}

/// One data line of `redis-cli --stat` through the proxy.
fn stat_line(proxy: &ProxyProc) -> String {
    let mut child = Command::new("redis-cli")
        .args(["-p", &proxy.port.to_string(), "--stat", "-i", "0.01"])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("redis-cli (apt-get install redis-tools)");
    let out = child.stdout.take().expect("stdout");
    let mut line = String::new();
    for l in BufReader::new(out).lines() {
        let l = l.expect("read");
        // The data lines start with the key count.
        if l.chars().next().is_some_and(|ch| ch.is_ascii_digit()) {
            line = l;
            break;
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    line
}

#[test]
fn info_through_the_proxy_carries_a_redis_masters_sections() {
    let node = Proc::redis(&[]);
    info_carries_the_masters_sections(&node);
}

#[test]
fn info_through_the_proxy_carries_a_tandem_masters_sections() {
    let node = Proc::tandem(&[]);
    info_carries_the_masters_sections(&node);
}

#[test]
fn info_answers_at_once_with_the_proxys_sections_when_the_master_is_gone() {
    let mut node = Proc::tandem(&[]);
    // Requests wait for a master for up to a minute: an INFO held like them
    // would outlast the client's 10-second read timeout.
    let addr = node.addr();
    let proxy = ProxyProc::start(&["--master", addr.as_str(), "--hold-timeout", "60000"]);
    proxy.await_master();
    node.sigkill();
    wait_for(Duration::from_secs(10), "the master is seen down", || {
        proxy.info_field("master_available") == "0"
    });
    // A raw connection: the redis crate's handshake (CLIENT SETINFO) would be
    // held like any forwarded request.
    let mut s = proxy.raw();
    let got = common::transcript_on(&mut s, &[("info".into(), common::encode(&["INFO"]))]);
    let text = got[0].replace("\\r\\n", "\n").replace("info -> \"", "");
    assert_eq!(
        headers(&text),
        ["Server", "Clients", "Stats", "CPU", "Cluster", "Backends", "Topology", "Failover"],
        "{text}"
    );
    assert_eq!(field(&text, "master_available"), Some("0"), "{text}");
}
