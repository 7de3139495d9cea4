//! Exact verdicts of the pure decision functions.

use super::*;

fn params(quorum: usize) -> Params {
    Params {
        down_after: Duration::from_millis(500),
        quorum,
        window: Duration::from_millis(1000),
        max_replica_link_down: Duration::from_millis(5000),
    }
}

fn obs(observer: &str, kind: ObservationKind, at_ms: i64) -> Observation {
    Observation {
        observer: observer.into(),
        node: "m".into(),
        epoch: 1,
        kind,
        at_ms,
    }
}

fn replica(offset: i64, priority: u32, link_down_s: Option<i64>) -> ReplInfo {
    ReplInfo {
        role: NodeRole::Replica,
        master_addr: Some("127.0.0.1:1".into()),
        link_up: link_down_s.is_none(),
        link_down_since_s: link_down_s,
        sync_in_progress: false,
        offset,
        priority,
        tandem_epoch: None,
        connected_replicas: 0,
    }
}

fn view(id: &str, info: Option<ReplInfo>) -> CandidateView {
    CandidateView {
        node: Node::new(id, format!("127.0.0.1:{}", 100 + id.len())),
        info,
    }
}

#[test]
fn refused_twice_is_down_before_down_after() {
    let t0 = Instant::now();
    let p = params(1);
    let mut h = Health::default();
    h.record(ProbeOutcome::Up(None), t0);
    h.record(
        ProbeOutcome::Refused("reset".into()),
        t0 + Duration::from_millis(100),
    );
    assert!(!subjectively_down(
        &h,
        t0 + Duration::from_millis(100),
        &p,
        false
    ));
    // A proxy's refused report confirms the first refusal at once.
    assert!(subjectively_down(
        &h,
        t0 + Duration::from_millis(100),
        &p,
        true
    ));
    h.record(
        ProbeOutcome::Refused("refused".into()),
        t0 + Duration::from_millis(200),
    );
    assert!(subjectively_down(
        &h,
        t0 + Duration::from_millis(200),
        &p,
        false
    ));
    h.record(ProbeOutcome::Up(None), t0 + Duration::from_millis(300));
    assert!(!subjectively_down(
        &h,
        t0 + Duration::from_millis(300),
        &p,
        true
    ));
}

#[test]
fn timeouts_need_down_after() {
    let t0 = Instant::now();
    let p = params(1);
    let mut h = Health::default();
    h.record(ProbeOutcome::Up(None), t0);
    for i in 1..5 {
        let t = t0 + Duration::from_millis(100 * i);
        h.record(ProbeOutcome::Timeout("t".into()), t);
        assert!(!subjectively_down(&h, t, &p, true), "at {i}");
    }
    let t = t0 + Duration::from_millis(500);
    h.record(ProbeOutcome::Timeout("t".into()), t);
    assert!(subjectively_down(&h, t, &p, false));
    // A refusal after timeouts restarts the refused streak at one.
    h.record(ProbeOutcome::Refused("r".into()), t);
    assert_eq!(h.consecutive_refused, 1);
}

#[test]
fn never_seen_node_is_down_after_down_after_of_failures() {
    let t0 = Instant::now();
    let p = params(1);
    let mut h = Health::default();
    h.record(ProbeOutcome::Timeout("t".into()), t0);
    assert!(!subjectively_down(
        &h,
        t0 + Duration::from_millis(400),
        &p,
        false
    ));
    assert!(subjectively_down(
        &h,
        t0 + Duration::from_millis(500),
        &p,
        false
    ));
}

#[test]
fn quorum_counts_latest_word_of_each_observer_in_window() {
    let p = params(2);
    let now = 10_000;
    // peer-a said down then up: up is its latest word, it does not count.
    let o = vec![
        obs("peer-a", ObservationKind::Timeout, now - 300),
        obs("peer-a", ObservationKind::Up, now - 100),
        obs("me", ObservationKind::Refused, now - 50),
    ];
    assert_eq!(objectively_down("me", true, &o, now, &p), None);
    // peer-b's down report is too old.
    let mut o2 = o.clone();
    o2.push(obs("peer-b", ObservationKind::Refused, now - 1500));
    assert_eq!(objectively_down("me", true, &o2, now, &p), None);
    // peer-c (a proxy) saw it refused recently: quorum 2 reached.
    o2.push(obs("proxy-c", ObservationKind::Refused, now - 20));
    assert_eq!(
        objectively_down("me", true, &o2, now, &p),
        Some(vec!["me".to_string(), "proxy-c".to_string()])
    );
    // The acting monitor must see it down itself.
    assert_eq!(objectively_down("me", false, &o2, now, &p), None);
    // Quorum 1: own evidence suffices.
    assert_eq!(
        objectively_down("me", true, &[], now, &params(1)),
        Some(vec!["me".to_string()])
    );
}

#[test]
fn peer_refusal_counts_only_after_our_last_success() {
    let now = 10_000;
    let w = Duration::from_millis(1000);
    let o = vec![obs("proxy", ObservationKind::Refused, now - 200)];
    assert!(peer_refused(
        "me",
        &o,
        now,
        w,
        Some(Duration::from_millis(300))
    ));
    assert!(!peer_refused(
        "me",
        &o,
        now,
        w,
        Some(Duration::from_millis(100))
    ));
    assert!(peer_refused("me", &o, now, w, None));
    assert!(!peer_refused("proxy", &o, now, w, None));
}

#[test]
fn candidate_is_highest_offset_then_priority_then_id() {
    let p = params(1);
    let views = vec![
        view("b", Some(replica(100, 100, Some(0)))),
        view("a", Some(replica(100, 100, Some(0)))),
        view("c", Some(replica(90, 1, Some(0)))),
        view("d", Some(replica(100, 50, Some(1)))),
    ];
    let (pick, standings) = pick_candidate(&views, &p, Duration::from_millis(300));
    assert_eq!(pick.map(|n| n.id), Some("d".to_string()));
    assert_eq!(standings.len(), 4);
    assert!(standings.iter().all(|s| s.skipped.is_none()));
    let (pick, _) = pick_candidate(&views[..2], &p, Duration::ZERO);
    assert_eq!(pick.map(|n| n.id), Some("a".to_string()));
}

#[test]
fn candidates_skip_unreachable_priority_zero_stale_and_syncing() {
    let p = params(1);
    let mut syncing = replica(500, 100, Some(0));
    syncing.sync_in_progress = true;
    let views = vec![
        view("gone", None),
        view("zero", Some(replica(900, 0, None))),
        view("stale", Some(replica(800, 100, Some(60)))),
        view("never", Some(replica(700, 100, Some(-1)))),
        view("sync", Some(syncing)),
        view("ok", Some(replica(10, 100, Some(1)))),
    ];
    let (pick, standings) = pick_candidate(&views, &p, Duration::from_millis(200));
    assert_eq!(pick.map(|n| n.id), Some("ok".to_string()));
    let skipped: Vec<_> = standings.iter().map(|s| s.skipped.clone()).collect();
    assert_eq!(
        skipped,
        vec![
            Some(Skip::Unreachable),
            Some(Skip::PriorityZero),
            Some(Skip::Stale { link_down_s: 60 }),
            Some(Skip::NeverSynced),
            Some(Skip::Syncing),
            None
        ]
    );
    let (none, _) = pick_candidate(&views[..2], &p, Duration::ZERO);
    assert_eq!(none, None);
}

fn topo() -> Topology {
    Topology::single(
        "c",
        4,
        Node::new("m", "h:1"),
        vec![Node::new("r1", "h:2"), Node::new("r2", "h:3")],
    )
}

#[test]
fn promotion_bumps_epoch_and_lists_old_master_as_replica() {
    let t = promoted_topology(&topo(), &Node::new("r2", "h:3"));
    assert_eq!(t.epoch, 5);
    let s = t.primary_shard().expect("shard");
    assert_eq!(s.master, Node::new("r2", "h:3"));
    assert_eq!(
        s.replicas,
        vec![Node::new("r1", "h:2"), Node::new("m", "h:1")]
    );
    assert_eq!(t.validate(), Ok(()));
}

#[test]
fn reconcile_demotes_stray_masters_and_repoints_replicas() {
    let t = topo();
    let mut infos = HashMap::new();
    let mut master = replica(0, 100, None);
    master.role = NodeRole::Master;
    master.master_addr = None;
    master.tandem_epoch = Some(3);
    infos.insert("h:1".to_string(), master.clone());
    infos.insert("h:2".to_string(), master.clone());
    let mut wrong = replica(0, 100, None);
    wrong.master_addr = Some("h:9".into());
    infos.insert("h:3".to_string(), wrong);
    assert_eq!(
        reconcile(&t, &infos),
        vec![
            Fix::SetEpoch {
                node: Node::new("m", "h:1")
            },
            Fix::Demote {
                node: Node::new("r1", "h:2"),
                master: Node::new("m", "h:1")
            },
            Fix::Repoint {
                node: Node::new("r2", "h:3"),
                master: Node::new("m", "h:1")
            },
        ]
    );
    // A consistent deployment needs no fix; unreachable nodes are left alone.
    let mut ok = HashMap::new();
    master.tandem_epoch = Some(4);
    ok.insert("h:1".to_string(), master);
    let mut good = replica(0, 100, None);
    good.master_addr = Some("h:1".into());
    ok.insert("h:2".to_string(), good);
    assert_eq!(reconcile(&t, &ok), vec![]);
    // The topology's master reporting replica is promoted back.
    let mut flipped = HashMap::new();
    flipped.insert("h:1".to_string(), replica(0, 100, None));
    assert_eq!(
        reconcile(&t, &flipped),
        vec![Fix::Promote {
            node: Node::new("m", "h:1")
        }]
    );
}
