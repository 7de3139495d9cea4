//! The monitor with its topology, lease and observations in a real etcd
//! (Debian's etcd-server on loopback): SIGKILL of a redis-server master is
//! failed over and the new topology is in etcd.

mod common;

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use tandem_routing::RoutingStore;

/// A single-member etcd on free loopback ports, killed on drop.
struct Etcd {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Etcd {
    fn start() -> Etcd {
        let dir = tempfile::tempdir().expect("dir");
        // Distinct ports: two probes in a row can get the same one back.
        let port = free_port();
        let peer = std::iter::repeat_with(free_port)
            .find(|&p| p != port)
            .expect("a second port");
        let client = format!("http://127.0.0.1:{port}");
        let peer = format!("http://127.0.0.1:{peer}");
        let log = std::fs::File::create(dir.path().join("etcd.log")).expect("log");
        let child = Command::new(std::env::var("ETCD_BIN").unwrap_or_else(|_| "etcd".into()))
            .args(["--name", "t0", "--data-dir"])
            .arg(dir.path().join("data"))
            .args([
                "--listen-client-urls",
                &client,
                "--advertise-client-urls",
                &client,
            ])
            .args([
                "--listen-peer-urls",
                &peer,
                "--initial-advertise-peer-urls",
                &peer,
            ])
            .args(["--initial-cluster", &format!("t0={peer}")])
            // Fast elections; also lowers etcd's minimum lease TTL below 1 s.
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start etcd (apt-get install etcd-server)");
        Etcd {
            child,
            port,
            _dir: dir,
        }
    }
}

impl Drop for Etcd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_master_with_the_topology_in_etcd() {
    let etcd = Etcd::start();
    let url = format!("etcd://127.0.0.1:{}", etcd.port);
    let cluster = format!("monitor-test-{}", std::process::id());
    let deadline = Instant::now() + Duration::from_secs(20);
    let store: Arc<dyn RoutingStore> = loop {
        if let Ok(s) = tandem_routing::open(&url, &cluster).await {
            if s.get().await.is_ok() {
                break s;
            }
        }
        assert!(Instant::now() < deadline, "etcd did not answer within 20 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    let (mut m, r1) = (Proc::redis(&[]), Proc::redis(&[]));
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(15), "replica linked", || async {
        r1.follows(&m)
    })
    .await;
    wait_for(
        Duration::from_secs(5),
        "leadership through etcd",
        || async { mon.is_leader() },
    )
    .await;
    write_keys(&m, "k", 50);
    wait_for(Duration::from_secs(5), "replica caught up", || async {
        dbsize(&r1) == 50
    })
    .await;
    let killed = Instant::now();
    m.sigkill();
    wait_for(Duration::from_secs(10), "new topology in etcd", || async {
        topology(&store).await.is_some_and(|t| t.epoch == 2)
    })
    .await;
    eprintln!(
        "ETCD failover: kill -> published in {} ms",
        killed.elapsed().as_millis()
    );
    let t = topology(&store).await.expect("topology");
    assert_eq!(t.shards[0].master.addr, r1.addr());
    assert_eq!(r1.role(), "master");
    assert_eq!(dbsize(&r1), 50);
    mon.shutdown().await;
}
