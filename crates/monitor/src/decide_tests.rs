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
        loading: false,
        offset,
        priority,
        tandem_epoch: None,
        connected_replicas: 0,
        replid: "r1".into(),
        run_id: "p1".into(),
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
fn timeouts_need_down_after_of_failing_requests() {
    let t0 = Instant::now();
    let p = params(1);
    let mut h = Health::default();
    h.record(ProbeOutcome::Up(None), t0);
    // Requests sent every 100 ms from t0+100 all time out.
    for i in 1..6 {
        let t = t0 + Duration::from_millis(100 * i);
        h.record(ProbeOutcome::Timeout("t".into()), t);
        assert!(!subjectively_down(&h, t, &p, true), "at {i}");
    }
    let t = t0 + Duration::from_millis(600);
    h.record(ProbeOutcome::Timeout("t".into()), t);
    assert!(subjectively_down(&h, t, &p, false));
    // A refusal after timeouts restarts the refused streak at one.
    h.record(ProbeOutcome::Refused("r".into()), t);
    assert_eq!(h.consecutive_refused, 1);
}

#[test]
fn a_starved_monitor_does_not_mistake_its_own_stall_for_silence() {
    let t0 = Instant::now();
    let p = params(1);
    let mut h = Health::default();
    h.record(ProbeOutcome::Up(None), t0);
    // The monitor did not run for 2 s; its first probe after that times out.
    let sent = t0 + Duration::from_secs(2);
    let now = sent + Duration::from_millis(166);
    h.record_sent(ProbeOutcome::Timeout("t".into()), sent, now);
    assert!(!subjectively_down(&h, now, &p, false));
    assert_eq!(h.down_for(now), Duration::from_millis(166));
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
fn candidates_skip_unreachable_priority_zero_stale_syncing_and_loading() {
    let p = params(1);
    let mut syncing = replica(500, 100, Some(0));
    syncing.sync_in_progress = true;
    let mut loading = replica(600, 100, None);
    loading.loading = true;
    let views = vec![
        view("gone", None),
        view("zero", Some(replica(900, 0, None))),
        view("stale", Some(replica(800, 100, Some(60)))),
        view("never", Some(replica(700, 100, Some(-1)))),
        view("sync", Some(syncing)),
        view("loading", Some(loading)),
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
            Some(Skip::Loading),
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

#[test]
fn initial_topology_follows_the_list_unless_it_contradicts_the_nodes() {
    let nodes: Vec<String> = vec!["h:1".into(), "h:2".into(), "h:3".into()];
    let t = initial_topology("c", &nodes, &HashMap::new()).expect("topology");
    assert_eq!(t.epoch, 1);
    assert_eq!(t.shards[0].master, Node::new("node-1", "h:1"));
    // h:1 is in fact a replica of h:2, which is a master: h:2 leads.
    let mut infos = HashMap::new();
    let mut r = replica(10, 100, None);
    r.master_addr = Some("h:2".into());
    infos.insert("h:1".to_string(), r);
    let mut m = replica(10, 100, None);
    m.role = NodeRole::Master;
    m.master_addr = None;
    infos.insert("h:2".to_string(), m);
    let t = initial_topology("c", &nodes, &infos).expect("topology");
    assert_eq!(t.shards[0].master, Node::new("node-2", "h:2"));
    assert_eq!(
        t.shards[0].replicas,
        vec![Node::new("node-1", "h:1"), Node::new("node-3", "h:3")]
    );
    // A replica of an unlisted node does not change the choice.
    let mut other = HashMap::new();
    let mut r = replica(10, 100, None);
    r.master_addr = Some("h:9".into());
    other.insert("h:1".to_string(), r);
    let t = initial_topology("c", &nodes, &other).expect("topology");
    assert_eq!(t.shards[0].master.addr, "h:1");
    assert_eq!(initial_topology("c", &[], &HashMap::new()), None);
}

#[test]
fn a_long_gap_between_turns_is_a_stall() {
    let t0 = Instant::now();
    let (i, d) = (Duration::from_millis(100), Duration::from_millis(500));
    assert!(!stalled(t0, t0 + Duration::from_millis(120), i, d));
    assert!(!stalled(t0, t0 + Duration::from_millis(500), i, d));
    assert!(stalled(t0, t0 + Duration::from_millis(900), i, d));
}

#[test]
fn a_master_back_with_a_new_history_and_less_data_lost_its_data() {
    let mut before = replica(5000, 100, None);
    before.role = NodeRole::Master;
    let mut after = before.clone();
    after.run_id = "p2".into();
    after.replid = "r2".into();
    after.offset = 0;
    assert!(lost_its_data(&before, &after));
    // Restarted with its snapshot: same history.
    let mut loaded = after.clone();
    loaded.replid = before.replid.clone();
    assert!(!lost_its_data(&before, &loaded));
    // Same process, new history (its first replica attached): fine.
    let mut attached = before.clone();
    attached.replid = "r2".into();
    assert!(!lost_its_data(&before, &attached));
    // A promoted replica: it was not a master before.
    assert!(!lost_its_data(&replica(5000, 100, None), &after));
    let t0 = Instant::now();
    let mut h = Health::default();
    h.record(ProbeOutcome::Up(Some(before)), t0);
    assert_eq!(h.restarted, None);
    h.record(ProbeOutcome::Up(Some(after)), t0);
    assert_eq!(h.restarted, Some(t0));
}

#[test]
fn over_a_restarted_master_only_replicas_with_more_data_qualify() {
    let mut syncing = replica(900, 100, Some(0));
    syncing.sync_in_progress = true;
    let views = vec![
        view("a", Some(replica(10, 100, None))),
        view("b", Some(syncing)),
        view("c", None),
    ];
    let (pick, standings) = pick_over_restarted(&views, 10);
    assert_eq!(pick.map(|n| n.id), Some("b".to_string()));
    assert_eq!(standings[0].skipped, Some(Skip::NoMoreData));
    assert_eq!(standings[2].skipped, Some(Skip::Unreachable));
    let (none, _) = pick_over_restarted(&views[..1], 10);
    assert_eq!(none, None);
    // A replica still loading its own files at start holds an incomplete
    // dataset whatever offset it shows.
    let mut loading = replica(950, 100, None);
    loading.loading = true;
    let (none, standings) = pick_over_restarted(&[view("d", Some(loading))], 10);
    assert_eq!(
        (none, standings[0].skipped.clone()),
        (None, Some(Skip::Loading))
    );
}
