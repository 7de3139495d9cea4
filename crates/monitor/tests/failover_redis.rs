//! The monitor managing real `redis-server` nodes: SIGKILL of the master, the
//! promotion of the replica with the highest offset, the other replica
//! following it, the old master demoted when it returns; and a planned
//! switchover that loses no acknowledged write.

mod common;

use std::time::{Duration, Instant};

use common::*;

/// Starts a master and two replicas (unconfigured: the monitor sets up
/// replication from the initial topology it publishes) and waits until both
/// replicas are linked.
async fn deployment() -> (Proc, Proc, Proc) {
    let (m, r1, r2) = (Proc::redis(&[]), Proc::redis(&[]), Proc::redis(&[]));
    (m, r1, r2)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_master_promotes_the_replica_with_the_highest_offset() {
    let (mut m, r1, r2) = deployment().await;
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1, &r2], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(
        Duration::from_secs(15),
        "replicas linked by the monitor",
        || async { r1.follows(&m) && r2.follows(&m) },
    )
    .await;
    let t = topology(&store).await.expect("initial topology");
    assert_eq!(t.epoch, 1);
    assert_eq!(t.shards[0].master.addr, m.addr());

    write_keys(&m, "a", 100);
    // r1 (node-2, which would win an id tie) misses the last writes: stopped
    // while 20 MB go out, more than the loopback socket buffers hold for it, so
    // after the kill it cannot read them from its kernel buffer.
    wait_for(Duration::from_secs(5), "r1 caught up", || async {
        offset(&r1, "slave_repl_offset") == offset(&m, "master_repl_offset")
    })
    .await;
    r1.signal("STOP");
    write_big(&m, "b", 50, 400_000);
    wait_for(Duration::from_secs(5), "r2 caught up", || async {
        offset(&r2, "slave_repl_offset") == offset(&m, "master_repl_offset")
    })
    .await;
    let r2_offset = offset(&r2, "slave_repl_offset");

    let killed = Instant::now();
    m.sigkill();
    r1.signal("CONT");
    let deadline = Instant::now() + Duration::from_secs(10);
    let published = loop {
        if let Some(t) = topology(&store).await.filter(|t| t.epoch == 2) {
            break Some((t, killed.elapsed()));
        }
        if Instant::now() > deadline {
            break None;
        }
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let (t2, took) = published.expect("a topology with epoch 2 within 10 s");
    eprintln!(
        "FAILOVER kill -> new topology published: {} ms",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(3), "failover took {took:?}");
    let s = &t2.shards[0];
    assert_eq!(
        s.master.addr,
        r2.addr(),
        "the replica with the highest offset"
    );
    assert!(
        s.replicas.iter().any(|n| n.addr == m.addr()),
        "old master listed as replica"
    );
    assert!(s.replicas.iter().any(|n| n.addr == r1.addr()));
    assert_eq!(r2.role(), "master");
    wait_for(
        Duration::from_secs(10),
        "r1 follows the new master",
        || async { r1.follows(&r2) },
    )
    .await;
    assert_eq!(
        dbsize(&r2),
        150,
        "no acknowledged write lost on the promoted replica"
    );
    wait_for(Duration::from_secs(10), "r1 resynced", || async {
        dbsize(&r1) == 150
    })
    .await;

    wait_for(Duration::from_secs(5), "the failover event", || async {
        !mon.events().is_empty()
    })
    .await;
    let events = mon.events();
    assert_eq!(events.len(), 1, "{events:?}");
    let ev = &events[0];
    assert_eq!(ev.outcome, "published");
    assert_eq!(ev.new_master.as_deref(), Some(r2.addr().as_str()));
    assert_eq!(ev.epoch, Some(2));
    assert_eq!(ev.evidence, vec!["mon-a".to_string()]);
    let cand = ev
        .candidates
        .iter()
        .find(|c| c.addr == r2.addr())
        .expect("r2 standing");
    assert_eq!(cand.offset, Some(r2_offset));
    eprintln!(
        "FAILOVER event steps: {:?} total {} ms",
        ev.steps, ev.total_ms
    );

    // The old master comes back (empty, as a master): demoted under r2.
    m.restart();
    wait_for(
        Duration::from_secs(15),
        "old master demoted and resynced",
        || async { m.follows(&r2) },
    )
    .await;
    wait_for(
        Duration::from_secs(10),
        "old master has the data",
        || async { dbsize(&m) == 150 },
    )
    .await;

    // STATUS through the admin endpoint: the same event, the counters, the topology.
    let admin = mon.admin_addr().expect("admin");
    let mut c = redis::Client::open(format!("redis://{admin}/"))
        .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        .expect("admin connect");
    let pong: String = redis::cmd("PING").query(&mut c).expect("PING");
    assert_eq!(pong, "PONG");
    let status: String = redis::cmd("STATUS").query(&mut c).expect("STATUS");
    let v: serde_json::Value = serde_json::from_str(&status).expect("json");
    assert_eq!(v["topology"]["epoch"], 2);
    assert_eq!(v["leader"], true);
    assert_eq!(v["stats"]["failovers"], 1);
    assert_eq!(v["events"].as_array().map(Vec::len), Some(1));
    let file = std::fs::read_to_string(data.path().join("mon-a").join("events.jsonl"))
        .expect("events.jsonl");
    assert_eq!(file.lines().count(), 1);
    mon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn planned_switchover_loses_no_acknowledged_write() {
    let (m, r1, r2) = deployment().await;
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1, &r2], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(15), "replicas linked", || async {
        r1.follows(&m) && r2.follows(&m)
    })
    .await;
    wait_for(Duration::from_secs(5), "leadership", || async {
        mon.is_leader()
    })
    .await;

    // A writer hammers the master during the switch; every acknowledged write
    // must be on the new master afterwards.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = stop.clone();
        let mut c = m.client();
        std::thread::spawn(move || {
            let mut acked = Vec::new();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let r: redis::RedisResult<()> =
                    redis::cmd("SET").arg(format!("w:{i}")).arg(i).query(&mut c);
                if r.is_ok() {
                    acked.push(i);
                }
                i += 1;
            }
            acked
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    let t = Instant::now();
    let ev = mon.failover(Some(r1.addr())).await.expect("switchover");
    eprintln!(
        "SWITCHOVER took {} ms; writes paused {} ms ({} ms of it catching up)",
        t.elapsed().as_millis(),
        ev.steps.paused_ms,
        ev.steps.catch_up_ms
    );
    tokio::time::sleep(Duration::from_millis(100)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let acked = tokio::task::spawn_blocking(move || writer.join().expect("writer"))
        .await
        .expect("join");
    assert!(
        acked.len() > 10,
        "the writer made progress: {}",
        acked.len()
    );
    let t2 = topology(&store).await.expect("topology");
    assert_eq!(t2.epoch, 2);
    assert_eq!(t2.shards[0].master.addr, r1.addr());
    assert_eq!(r1.role(), "master");
    wait_for(
        Duration::from_secs(10),
        "old master and r2 follow r1",
        || async { m.follows(&r1) && r2.follows(&r1) },
    )
    .await;
    let mut c = r1.client();
    let mut missing = 0;
    for i in &acked {
        let v: Option<u64> = redis::cmd("GET")
            .arg(format!("w:{i}"))
            .query(&mut c)
            .expect("GET");
        if v != Some(*i) {
            missing += 1;
        }
    }
    assert_eq!(missing, 0, "acknowledged writes lost by the switchover");
    assert_eq!(ev.reason, "switchover");
    mon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn silent_master_fails_over_after_down_after_and_is_demoted_when_it_resumes() {
    let (m, r1) = (Proc::redis(&[]), Proc::redis(&[]));
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(15), "replica linked", || async {
        r1.follows(&m)
    })
    .await;
    write_keys(&m, "k", 20);
    wait_for(Duration::from_secs(5), "r1 caught up", || async {
        dbsize(&r1) == 20
    })
    .await;
    // SIGSTOP: no reset, no refusal, just silence (what a partition looks like).
    let stopped = Instant::now();
    m.signal("STOP");
    wait_for(
        Duration::from_secs(10),
        "failover of a silent master",
        || async { topology(&store).await.is_some_and(|t| t.epoch == 2) },
    )
    .await;
    let took = stopped.elapsed();
    eprintln!(
        "SILENT master: stop -> published in {} ms",
        took.as_millis()
    );
    // down-after counts from the last good reply, up to one interval before the stop.
    assert!(
        took >= Duration::from_millis(350),
        "long before down-after: {took:?}"
    );
    assert!(took < Duration::from_secs(2), "took {took:?}");
    assert_eq!(r1.role(), "master");
    // It wakes up believing it is master: demoted under the new master.
    m.signal("CONT");
    wait_for(
        Duration::from_secs(10),
        "resumed master demoted",
        || async { m.follows(&r1) },
    )
    .await;
    assert_eq!(dbsize(&m), 20);
    mon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_candidate_that_refuses_promotion_is_skipped_for_the_next() {
    let m = Proc::redis(&[]);
    let mport = m.port.to_string();
    // r1 (node-2) wins the election tie but cannot run REPLICAOF: its promotion
    // fails and the monitor rolls forward to r2. (It replicates through the
    // config directive, set at start.)
    let r1 = Proc::redis(&[
        "--rename-command",
        "REPLICAOF",
        "",
        "--replicaof",
        "127.0.0.1",
        &mport,
    ]);
    let r2 = Proc::redis(&[]);
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1, &r2], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(15), "replicas linked", || async {
        r1.follows(&m) && r2.follows(&m)
    })
    .await;
    let mut m = m;
    m.sigkill();
    wait_for(Duration::from_secs(10), "failover", || async {
        topology(&store).await.is_some_and(|t| t.epoch == 2)
    })
    .await;
    let t = topology(&store).await.expect("topology");
    assert_eq!(t.shards[0].master.addr, r2.addr());
    assert_eq!(r2.role(), "master");
    assert_eq!(r1.role(), "slave", "the refused candidate was not promoted");
    wait_for(Duration::from_secs(5), "the failover event", || async {
        !mon.events().is_empty()
    })
    .await;
    let ev = mon.events().pop().expect("event");
    assert!(
        ev.notes
            .iter()
            .any(|n| n.contains("REPLICAOF NO ONE") && n.contains(&r1.addr())),
        "{:?}",
        ev.notes
    );
    mon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn admin_endpoint_runs_a_planned_failover() {
    let (m, r1) = (Proc::redis(&[]), Proc::redis(&[]));
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(15), "replica linked", || async {
        r1.follows(&m)
    })
    .await;
    wait_for(Duration::from_secs(5), "leadership", || async {
        mon.is_leader()
    })
    .await;
    write_keys(&m, "k", 10);
    let admin = mon.admin_addr().expect("admin");
    let out = tokio::task::spawn_blocking(move || {
        let mut c = redis::Client::open(format!("redis://{admin}/"))
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("admin connect");
        let bad: redis::RedisResult<String> =
            redis::cmd("FAILOVER").arg("127.0.0.1:1").query(&mut c);
        let good: String = redis::cmd("FAILOVER").query(&mut c).expect("FAILOVER");
        (bad, good)
    })
    .await
    .expect("join");
    assert!(out.0.is_err(), "a node that is not a replica is refused");
    let ev: serde_json::Value = serde_json::from_str(&out.1).expect("event json");
    assert_eq!(ev["reason"], "switchover");
    assert_eq!(ev["new_master"], r1.addr());
    assert_eq!(topology(&store).await.map(|t| t.epoch), Some(2));
    wait_for(Duration::from_secs(10), "old master follows", || async {
        m.follows(&r1)
    })
    .await;
    assert_eq!(dbsize(&r1), 10);
    mon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_misordered_node_list_does_not_demote_the_real_master() {
    let m = Proc::redis(&[]);
    write_keys(&m, "k", 30);
    let mport = m.port.to_string();
    let r1 = Proc::redis(&["--replicaof", "127.0.0.1", &mport]);
    wait_for(Duration::from_secs(10), "r1 synced", || async {
        r1.follows(&m) && dbsize(&r1) == 30
    })
    .await;
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    // The replica is listed first.
    let mon = tandem_monitor::start(config("mon-a", &[&r1, &m], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(5), "initial topology", || async {
        topology(&store).await.is_some()
    })
    .await;
    let t = topology(&store).await.expect("topology");
    assert_eq!(
        t.shards[0].master.addr,
        m.addr(),
        "the node that is master leads"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(m.role(), "master");
    assert!(r1.follows(&m));
    assert_eq!(dbsize(&m), 30);
    mon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_master_restarted_empty_between_two_probes_is_replaced_not_trusted() {
    let (mut m, r1) = (Proc::redis(&[]), Proc::redis(&[]));
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(15), "replica linked", || async {
        r1.follows(&m)
    })
    .await;
    write_keys(&m, "k", 100);
    wait_for(Duration::from_secs(5), "replica caught up", || async {
        dbsize(&r1) == 100
    })
    .await;
    // Killed and restarted at once (a supervisor, systemd...): it comes back
    // empty, as a master, possibly before any probe saw it down.
    m.restart();
    let deadline = Instant::now() + Duration::from_secs(10);
    while topology(&store).await.is_none_or(|t| t.epoch != 2) {
        assert!(
            Instant::now() < deadline,
            "no failover away from the empty master; events {:?}; nodes {}",
            mon.events(),
            mon.status()["nodes"]
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let t = topology(&store).await.expect("topology");
    assert_eq!(t.shards[0].master.addr, r1.addr());
    assert_eq!(dbsize(&r1), 100, "the replica kept its data");
    wait_for(
        Duration::from_secs(10),
        "the restarted node resyncs from r1",
        || async { m.follows(&r1) && dbsize(&m) == 100 },
    )
    .await;
    wait_for(Duration::from_secs(5), "the event", || async {
        !mon.events().is_empty()
    })
    .await;
    let ev = mon.events().pop().expect("event");
    assert!(
        ev.reason == "master-restarted-empty" || ev.reason == "master-down",
        "{}",
        ev.reason
    );
    eprintln!("RESTARTED-EMPTY master: failover reason {}", ev.reason);
    mon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn the_monitor_logs_in_as_its_acl_user_and_fails_over() {
    let (mut m, r1) = (Proc::redis(&[]), Proc::redis(&[]));
    // The monitor's own user; a wrong login would make every node look down.
    for p in [&m, &r1] {
        let () = redis::cmd("ACL")
            .arg(&["SETUSER", "mon", "on", ">monpw", "~*", "&*", "+@all"])
            .query(&mut p.client())
            .expect("ACL SETUSER");
    }
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mut cfg = config("mon-a", &[&m, &r1], data.path());
    cfg.auth = Some(tandem_monitor::client::Auth {
        user: Some("mon".into()),
        password: "monpw".into(),
    });
    let mon = tandem_monitor::start(cfg, store.clone()).expect("start the monitor");
    wait_for(Duration::from_secs(15), "replica linked", || async {
        r1.follows(&m)
    })
    .await;
    // Its heartbeat connection to the master is logged in as mon.
    wait_for(
        Duration::from_secs(5),
        "a client logged in as mon",
        || async {
            let list: String = redis::cmd("CLIENT")
                .arg("LIST")
                .query(&mut m.client())
                .unwrap_or_default();
            list.lines().any(|l| l.contains(" user=mon "))
        },
    )
    .await;
    m.sigkill();
    wait_for(
        Duration::from_secs(10),
        "epoch 2 with r1 as master",
        || async {
            topology(&store)
                .await
                .is_some_and(|t| t.epoch == 2 && t.shards[0].master.addr == r1.addr())
        },
    )
    .await;
    assert_eq!(r1.role(), "master");
    mon.shutdown().await;
}
