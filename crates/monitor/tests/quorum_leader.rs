//! Several monitors on one deployment (real redis-server nodes, one embedded
//! routing store): of three monitors with quorum 2, the one cut off from the
//! master cannot fail it over while its peers still reach it, and only the lease holder acts, with a
//! standby taking over once a crashed leader's lease expires.

mod common;

use std::time::{Duration, Instant};

use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn cut_off_monitor_does_not_fail_over_while_its_peers_see_the_master() {
    let (mut m, r1) = (Proc::redis(&[]), Proc::redis(&[]));
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    // mon-a reaches the master through a dead address: connection refused.
    let mut a_cfg = config("mon-a", &[&m, &r1], data.path());
    a_cfg.quorum = 2;
    a_cfg
        .dial_overrides
        .push((m.addr(), format!("127.0.0.1:{}", free_port())));
    let a = tandem_monitor::start(a_cfg, store.clone()).expect("start mon-a");
    wait_for(Duration::from_secs(5), "mon-a leads", || async {
        a.is_leader()
    })
    .await;
    let mut b_cfg = config("mon-b", &[&m, &r1], data.path());
    b_cfg.quorum = 2;
    let b = tandem_monitor::start(b_cfg, store.clone()).expect("start mon-b");
    let mut c_cfg = config("mon-c", &[&m, &r1], data.path());
    c_cfg.quorum = 2;
    let c = tandem_monitor::start(c_cfg, store.clone()).expect("start mon-c");
    wait_for(Duration::from_secs(15), "replica linked", || async {
        r1.follows(&m)
    })
    .await;

    // mon-a (the leader) sees the master down; mon-b and mon-c see it up: no
    // failover, for 20 intervals.
    let master_down_for_a = || {
        a.status()["nodes"]
            .as_array()
            .and_then(|ns| ns.iter().find(|n| n["addr"] == m.addr()).cloned())
            .is_some_and(|n| n["up"] == false && n["down_for_ms"].as_u64() > Some(500))
    };
    wait_for(
        Duration::from_secs(5),
        "mon-a to see the master down",
        || async { master_down_for_a() },
    )
    .await;
    let until = Instant::now() + Duration::from_secs(2);
    while Instant::now() < until {
        let t = topology(&store).await.expect("topology");
        assert_eq!(t.epoch, 1, "a cut-off monitor failed the master over");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(master_down_for_a(), "mon-a still cut off");
    assert!(a.is_leader() && !b.is_leader() && !c.is_leader());
    assert_eq!(m.role(), "master");
    assert!(a.events().is_empty());

    // Control: once the master really dies, both see it and the quorum is met.
    let killed = Instant::now();
    m.sigkill();
    wait_for(Duration::from_secs(10), "failover by quorum", || async {
        topology(&store).await.is_some_and(|t| t.epoch == 2)
    })
    .await;
    eprintln!(
        "QUORUM-2 failover: kill -> published in {} ms",
        killed.elapsed().as_millis()
    );
    wait_for(Duration::from_secs(5), "the failover event", || async {
        !a.events().is_empty()
    })
    .await;
    let ev = a.events().pop().expect("event on the leader");
    assert_eq!(ev.evidence.first().map(String::as_str), Some("mon-a"));
    assert!(
        ev.evidence.len() >= 2,
        "quorum of observers: {:?}",
        ev.evidence
    );
    assert_eq!(ev.new_master.as_deref(), Some(r1.addr().as_str()));
    assert!(
        b.events().is_empty() && c.events().is_empty(),
        "the standbys did not act"
    );
    a.shutdown().await;
    b.shutdown().await;
    c.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn only_the_leader_acts_and_a_standby_takes_over_after_the_lease() {
    let (mut m, r1) = (Proc::redis(&[]), Proc::redis(&[]));
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let a = tandem_monitor::start(config("mon-a", &[&m, &r1], data.path()), store.clone())
        .expect("start mon-a");
    wait_for(Duration::from_secs(5), "mon-a leads", || async {
        a.is_leader()
    })
    .await;
    let b = tandem_monitor::start(config("mon-b", &[&m, &r1], data.path()), store.clone())
        .expect("start mon-b");
    wait_for(Duration::from_secs(15), "replica linked", || async {
        r1.follows(&m)
    })
    .await;
    let until = Instant::now() + Duration::from_secs(1);
    while Instant::now() < until {
        assert!(a.is_leader() && !b.is_leader(), "one leader at a time");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    // The leader crashes (no resignation): mon-b leads once the lease expires.
    let crashed = Instant::now();
    a.abort();
    wait_for(Duration::from_secs(5), "mon-b takes over", || async {
        b.is_leader()
    })
    .await;
    let took = crashed.elapsed();
    eprintln!(
        "LEADER takeover after a crash: {} ms (lease ttl 1000 ms)",
        took.as_millis()
    );
    assert!(
        took >= Duration::from_millis(500),
        "took over before the lease expired: {took:?}"
    );

    // The new leader fails the master over.
    m.sigkill();
    wait_for(Duration::from_secs(10), "failover by mon-b", || async {
        topology(&store).await.is_some_and(|t| t.epoch == 2)
    })
    .await;
    wait_for(Duration::from_secs(5), "the failover event", || async {
        !b.events().is_empty()
    })
    .await;
    let ev = b.events().pop().expect("mon-b recorded the failover");
    assert_eq!(ev.monitor, "mon-b");
    assert_eq!(r1.role(), "master");
    b.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_proxy_link_error_is_evidence_toward_the_quorum() {
    let (mut m, r1) = (Proc::redis(&[]), Proc::redis(&[]));
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    // One monitor, quorum 2: alone it can never fail over; a proxy's report of
    // a refused link is the second observer.
    let mut cfg = config("mon-a", &[&m, &r1], data.path());
    cfg.quorum = 2;
    let a = tandem_monitor::start(cfg, store.clone()).expect("start mon-a");
    wait_for(Duration::from_secs(15), "replica linked", || async {
        r1.follows(&m)
    })
    .await;
    wait_for(Duration::from_secs(5), "mon-a leads", || async {
        a.is_leader()
    })
    .await;
    let killed = Instant::now();
    m.sigkill();
    store
        .report(tandem_routing::Observation {
            observer: "proxy-1".into(),
            node: m.addr(),
            epoch: 1,
            kind: tandem_routing::ObservationKind::Refused,
            at_ms: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as i64),
        })
        .await
        .expect("report");
    wait_for(
        Duration::from_secs(10),
        "failover on monitor + proxy evidence",
        || async { topology(&store).await.is_some_and(|t| t.epoch == 2) },
    )
    .await;
    eprintln!(
        "PROXY-EVIDENCE failover: kill -> published in {} ms",
        killed.elapsed().as_millis()
    );
    wait_for(Duration::from_secs(5), "the failover event", || async {
        !a.events().is_empty()
    })
    .await;
    let ev = a.events().pop().expect("event");
    assert_eq!(
        ev.evidence,
        vec!["mon-a".to_string(), "proxy-1".to_string()]
    );
    a.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_restarted_monitor_continues_from_the_stored_epoch_and_history() {
    let (mut m, r1) = (Proc::redis(&[]), Proc::redis(&[]));
    let store_dir = tempfile::tempdir().expect("dir");
    let data = tempfile::tempdir().expect("dir");
    let open = || -> std::sync::Arc<dyn tandem_routing::RoutingStore> {
        std::sync::Arc::new(tandem_routing::EmbeddedStore::open(store_dir.path()).expect("open"))
    };
    let store = open();
    let a = tandem_monitor::start(config("mon-a", &[&m, &r1], data.path()), store.clone())
        .expect("start");
    wait_for(Duration::from_secs(15), "replica linked", || async {
        r1.follows(&m)
    })
    .await;
    m.sigkill();
    wait_for(Duration::from_secs(10), "first failover", || async {
        topology(&store).await.is_some_and(|t| t.epoch == 2)
    })
    .await;
    wait_for(Duration::from_secs(5), "the event", || async {
        !a.events().is_empty()
    })
    .await;
    a.shutdown().await;
    drop(store);

    // The monitor restarts on the same data folder and store: epoch 2 stands,
    // the old master (restarted empty) is demoted, history is still there.
    let store = open();
    let a2 = tandem_monitor::start(config("mon-a", &[&m, &r1], data.path()), store.clone())
        .expect("restart");
    assert_eq!(a2.events().len(), 1, "history reloaded from events.jsonl");
    m.restart();
    wait_for(
        Duration::from_secs(15),
        "old master follows the new one",
        || async { m.follows(&r1) },
    )
    .await;
    // A second failover moves on to epoch 3, never reusing 2.
    let mut r1 = r1;
    r1.sigkill();
    wait_for(Duration::from_secs(10), "second failover", || async {
        topology(&store).await.is_some_and(|t| t.epoch == 3)
    })
    .await;
    let t = topology(&store).await.expect("topology");
    assert_eq!(t.shards[0].master.addr, m.addr());
    a2.shutdown().await;
}
