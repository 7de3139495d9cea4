//! A real network partition between a Tandem master and everything else: the
//! master runs in its own network namespace joined to the host by a veth pair,
//! and the namespace's end of the pair is set down. Nothing resets a connection
//! and no port refuses: both sides just stop hearing from each other, so the
//! monitor sees timeouts and waits out down-after. The monitor fails over, the
//! cut-off master fences itself within its fence-timeout, and after healing it
//! is fenced at the new epoch by the monitor and resyncs as a replica, with the
//! write attempted during the partition gone.
//! (`tc netem loss 100%` would be the textbook cut; this kernel has no netem,
//! and link-down gives the same silence.)
//!
//! Needs root (CAP_NET_ADMIN) for `ip netns`, and the `tandem` binary.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

fn run(args: &[&str]) {
    let st = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .status()
        .unwrap_or_else(|e| panic!("{args:?}: {e}"));
    assert!(
        st.success(),
        "{args:?} failed ({st}); the test needs root for ip netns"
    );
}

/// A namespace joined to the host by a veth pair, on its own /30.
struct Net {
    ns: String,
    host_if: String,
    ns_if: String,
    host_ip: String,
    ns_ip: String,
}

impl Net {
    fn new() -> Net {
        let pid = std::process::id();
        let (b, c) = (100 + pid % 100, (pid / 100) % 64 * 4);
        let net = Net {
            ns: format!("tmon{pid}"),
            host_if: format!("tmh{pid}"),
            ns_if: format!("tmn{pid}"),
            host_ip: format!("10.{b}.{c}.1"),
            ns_ip: format!("10.{b}.{c}.2"),
        };
        run(&["ip", "netns", "add", &net.ns]);
        run(&[
            "ip",
            "link",
            "add",
            &net.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &net.ns_if,
        ]);
        run(&["ip", "link", "set", &net.ns_if, "netns", &net.ns]);
        run(&[
            "ip",
            "addr",
            "add",
            &format!("{}/30", net.host_ip),
            "dev",
            &net.host_if,
        ]);
        run(&["ip", "link", "set", &net.host_if, "up"]);
        net.exec(&[
            "ip",
            "addr",
            "add",
            &format!("{}/30", net.ns_ip),
            "dev",
            &net.ns_if,
        ]);
        net.exec(&["ip", "link", "set", &net.ns_if, "up"]);
        net.exec(&["ip", "link", "set", "lo", "up"]);
        net
    }

    fn exec(&self, args: &[&str]) {
        let mut all = vec!["ip", "netns", "exec", &self.ns];
        all.extend_from_slice(args);
        run(&all);
    }

    /// No packet crosses the pair any more: the namespace's end goes down, so
    /// the host's end loses its carrier and drops what it is given, silently.
    fn cut(&self) {
        self.exec(&["ip", "link", "set", &self.ns_if, "down"]);
    }

    fn heal(&self) {
        self.exec(&["ip", "link", "set", &self.ns_if, "up"]);
    }

    /// `redis-cli` inside the namespace (the only side that reaches the master
    /// during the partition).
    fn cli(&self, port: u16, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args([
                "netns",
                "exec",
                &self.ns,
                "redis-cli",
                "-h",
                &self.ns_ip,
                "-p",
            ])
            .arg(port.to_string())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth pair with it.
        let _ = Command::new("ip")
            .args(["netns", "del", &self.ns])
            .stderr(Stdio::null())
            .status();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn partitioned_master_is_replaced_fences_itself_and_rejoins_as_replica() {
    let net = Net::new();
    let m = Proc::start_at(
        Kind::Tandem,
        &net.ns_ip,
        Some(&net.ns),
        &["--fence-timeout", "1000"],
    );
    let r1 = Proc::start_at(
        Kind::Tandem,
        &net.host_ip,
        None,
        &["--fence-timeout", "1000"],
    );
    let r2 = Proc::start_at(
        Kind::Tandem,
        &net.host_ip,
        None,
        &["--fence-timeout", "1000"],
    );
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1, &r2], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(15), "replicas linked", || async {
        r1.follows(&m) && r2.follows(&m)
    })
    .await;
    write_keys(&m, "k", 100);
    wait_for(Duration::from_secs(5), "replicas caught up", || async {
        dbsize(&r1) == 100 && dbsize(&r2) == 100
    })
    .await;

    let cut = Instant::now();
    net.cut();
    wait_for(
        Duration::from_secs(10),
        "failover of the partitioned master",
        || async { topology(&store).await.is_some_and(|t| t.epoch == 2) },
    )
    .await;
    let took = cut.elapsed();
    eprintln!("PARTITION: cut -> new topology in {} ms", took.as_millis());
    assert!(
        took < Duration::from_secs(2),
        "writes must resume within 2 s: {took:?}"
    );
    let t = topology(&store).await.expect("topology");
    let new = if t.shards[0].master.addr == r1.addr() {
        &r1
    } else {
        &r2
    };
    assert_eq!(new.role(), "master");

    // The cut-off master stops accepting writes on its own.
    let mut fenced = None;
    while cut.elapsed() < Duration::from_secs(5) {
        let reply = net.cli(m.port, &["SET", "during-partition", "1"]);
        if reply.contains("FENCED") {
            fenced = Some(cut.elapsed());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let fenced = fenced.expect("the partitioned master fenced itself within 5 s");
    eprintln!(
        "PARTITION: old master self-fenced {} ms after the cut",
        fenced.as_millis()
    );

    // Heal: the monitor fences it at epoch 2 and it follows the new master.
    net.heal();
    wait_for(
        Duration::from_secs(15),
        "old master rejoins as a replica",
        || async { m.follows(new) && dbsize(&m) == 100 },
    )
    .await;
    assert_eq!(
        net.cli(m.port, &["GET", "during-partition"]),
        "",
        "no divergent write survives"
    );
    mon.shutdown().await;
}
