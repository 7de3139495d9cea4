//! The conformance suite: the same behaviour asserted on every backend. Each
//! function takes two handles `a` and `b` onto ONE store (two clients of one
//! server, or two connections to one etcd), so what one handle writes the other
//! must see.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_routing::{CasOutcome, Node, Observation, ObservationKind, RoutingError, RoutingStore};

use super::{p50_max, topo, wait_for};

type Store = Arc<dyn RoutingStore>;

/// Compare-and-set: the first publish needs `expected = None`; the epoch must
/// increase; a stale expected epoch is a conflict that returns the stored
/// topology; invalid documents are refused; and of two concurrent CAS with the
/// same expected epoch exactly one wins while the other sees the winner.
pub async fn cas_semantics(a: Store, b: Store) {
    assert_eq!(a.get().await.expect("get"), None);
    assert_eq!(
        a.compare_and_set(Some(5), topo(6)).await.expect("cas"),
        CasOutcome::Conflict(None),
        "CAS on an empty store with an expected epoch must conflict"
    );
    assert_eq!(
        a.compare_and_set(None, topo(1)).await.expect("cas"),
        CasOutcome::Applied
    );
    assert_eq!(b.get().await.expect("get"), Some(topo(1)));
    assert_eq!(
        b.compare_and_set(None, topo(2)).await.expect("cas"),
        CasOutcome::Conflict(Some(topo(1))),
        "a second first-publish must conflict"
    );
    assert!(
        matches!(
            b.compare_and_set(Some(1), topo(1)).await,
            Err(RoutingError::Rejected(_))
        ),
        "an epoch that does not increase must be rejected"
    );
    assert_eq!(
        b.compare_and_set(Some(0), topo(2)).await.expect("cas"),
        CasOutcome::Conflict(Some(topo(1)))
    );
    let mut bad = topo(2);
    let dup = bad.shards[0].master.clone();
    bad.shards[0].replicas.push(dup);
    assert!(
        matches!(
            b.compare_and_set(Some(1), bad).await,
            Err(RoutingError::Topology(_))
        ),
        "a topology naming one node twice must be refused"
    );
    assert_eq!(
        b.compare_and_set(Some(1), topo(3)).await.expect("cas"),
        CasOutcome::Applied
    );
    assert_eq!(a.get().await.expect("get"), Some(topo(3)));

    // Races: both handles CAS from the same epoch with different masters.
    for round in 0..10u64 {
        let epoch = 3 + round;
        let mut ta = topo(epoch + 1);
        ta.shards[0].master = Node::new("winner-a", "127.0.0.1:30001");
        let mut tb = topo(epoch + 1);
        tb.shards[0].master = Node::new("winner-b", "127.0.0.1:30002");
        let (ra, rb) = tokio::join!(
            a.compare_and_set(Some(epoch), ta.clone()),
            b.compare_and_set(Some(epoch), tb.clone())
        );
        let (ra, rb) = (ra.expect("cas a"), rb.expect("cas b"));
        let stored = a.get().await.expect("get").expect("a topology");
        match (&ra, &rb) {
            (CasOutcome::Applied, CasOutcome::Conflict(Some(w))) => {
                assert_eq!(w, &ta, "round {round}: loser must see the winner");
                assert_eq!(stored, ta);
            }
            (CasOutcome::Conflict(Some(w)), CasOutcome::Applied) => {
                assert_eq!(w, &tb, "round {round}: loser must see the winner");
                assert_eq!(stored, tb);
            }
            other => panic!("round {round}: exactly one CAS must win, got {other:?}"),
        }
    }
    let s = a.stats();
    assert!(
        s.cas_applied >= 1 && s.cas_conflicts >= 1,
        "stats count CAS outcomes: {s:?}"
    );
}

/// Watch: the current topology first, then every change in order; each change
/// reaches the watcher quickly (asserted < 1 s; prints p50/max from the start of
/// the CAS to receipt), and a burst of changes arrives complete and in order.
pub async fn watch_delivers_every_change_in_order(label: &str, a: Store, b: Store) {
    assert_eq!(
        a.compare_and_set(None, topo(1)).await.expect("cas"),
        CasOutcome::Applied
    );
    let mut w = b.watch().await.expect("watch");
    let first = tokio::time::timeout(Duration::from_secs(5), w.recv())
        .await
        .expect("current topology delivered")
        .expect("stream open");
    assert_eq!(first, topo(1), "a watch starts with the current topology");

    let mut lat = Vec::new();
    let mut epoch = 1;
    for _ in 0..30 {
        let start = Instant::now();
        assert_eq!(
            a.compare_and_set(Some(epoch), topo(epoch + 1))
                .await
                .expect("cas"),
            CasOutcome::Applied
        );
        let got = tokio::time::timeout(Duration::from_secs(5), w.recv())
            .await
            .expect("change delivered within 5 s")
            .expect("stream open");
        lat.push(start.elapsed());
        epoch += 1;
        assert_eq!(got, topo(epoch), "changes arrive in order");
    }
    let (p50, max) = p50_max(&mut lat);
    println!("{label}: CAS-to-watcher latency over 30 changes: p50 {p50:?}, max {max:?}");
    assert!(
        max < Duration::from_secs(1),
        "{label}: a change took {max:?} to reach the watcher"
    );

    // A burst written without waiting for the watcher.
    let burst_from = epoch;
    for _ in 0..20 {
        assert_eq!(
            a.compare_and_set(Some(epoch), topo(epoch + 1))
                .await
                .expect("cas"),
            CasOutcome::Applied
        );
        epoch += 1;
    }
    for e in burst_from + 1..=epoch {
        let got = tokio::time::timeout(Duration::from_secs(5), w.recv())
            .await
            .expect("burst change delivered")
            .expect("stream open");
        assert_eq!(got.epoch, e, "burst: every change, in order");
        assert_eq!(got, topo(e));
    }
    assert!(b.stats().watches >= 1);
}

/// Leadership: one holder at a time; renewal keeps the same lease; resigning
/// frees it at once; a lease nobody renews expires and then (not before) another
/// campaigner wins, and the old holder's renewal then fails.
pub async fn lease_exclusivity_and_expiry(a: Store, b: Store) {
    let ttl = Duration::from_secs(1);
    let l1 = a
        .campaign("m1", ttl)
        .await
        .expect("campaign")
        .expect("m1 leads");
    assert_eq!(l1.holder, "m1");
    assert!(l1.ttl >= ttl);
    assert_eq!(
        b.campaign("m2", ttl).await.expect("campaign"),
        None,
        "m2 must not lead while m1 does"
    );
    let renewed = a
        .campaign("m1", ttl)
        .await
        .expect("renew")
        .expect("m1 renews");
    assert_eq!(renewed.id, l1.id, "renewal keeps the lease");
    a.resign(&l1).await.expect("resign");
    let l2 = b
        .campaign("m2", ttl)
        .await
        .expect("campaign")
        .expect("m2 leads after resign");
    assert_ne!(l2.id, l1.id);
    assert_eq!(a.campaign("m1", ttl).await.expect("campaign"), None);

    // m2 stops renewing: m1 wins only once the lease expired.
    let since = Instant::now();
    let won = wait_for(
        "m1 to win after m2's lease expired",
        Duration::from_secs(15),
        || {
            let a = a.clone();
            async move { a.campaign("m1", ttl).await.expect("campaign") }
        },
    )
    .await;
    let waited = since.elapsed();
    println!("lease taken over {waited:?} after the holder stopped renewing (ttl {ttl:?})");
    assert!(
        waited >= ttl / 2,
        "the lease was taken over after {waited:?}, before its TTL {ttl:?} could expire"
    );
    assert_eq!(won.holder, "m1");
    assert_eq!(
        b.campaign("m2", ttl).await.expect("campaign"),
        None,
        "the expired holder lost it"
    );
    a.resign(&won).await.expect("resign");
    // Resigning twice (or a lease that is gone) is not an error.
    a.resign(&won).await.expect("resign again");
}

fn obs(observer: &str, node: &str, kind: ObservationKind, at_ms: i64) -> Observation {
    Observation {
        observer: observer.into(),
        node: node.into(),
        epoch: 7,
        kind,
        at_ms,
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .expect("clock after 1970")
}

/// Observations: what one handle reports the other reads back; the latest per
/// observer replaces the previous; `max_age` filters by report time; nodes are
/// kept apart (also with '/' in names); everything expires after the retention.
pub async fn observations_round_trip_and_expiry(a: Store, b: Store, retention: Duration) {
    let node = "127.0.0.1:6379";
    let t = now_ms();
    a.report(obs("proxy-1", node, ObservationKind::Up, t))
        .await
        .expect("report");
    a.report(obs("proxy-1", node, ObservationKind::Refused, t + 1))
        .await
        .expect("report");
    b.report(obs("monitor/a", node, ObservationKind::Timeout, t))
        .await
        .expect("report");
    a.report(obs("proxy-1", "127.0.0.1:6380", ObservationKind::Up, t))
        .await
        .expect("report");
    a.report(obs("proxy-2", node, ObservationKind::Refused, t - 60_000))
        .await
        .expect("report");

    let got = b
        .observations(node, Duration::from_secs(10))
        .await
        .expect("observations");
    assert_eq!(
        got,
        vec![
            obs("monitor/a", node, ObservationKind::Timeout, t),
            obs("proxy-1", node, ObservationKind::Refused, t + 1),
        ],
        "latest per observer, old ones filtered by max_age, other nodes apart"
    );
    let all = a
        .observations(node, Duration::from_secs(3600))
        .await
        .expect("observations");
    assert_eq!(
        all.len(),
        3,
        "a long max_age includes the old report: {all:?}"
    );
    assert_eq!(
        a.observations("127.0.0.1:6380", Duration::from_secs(10))
            .await
            .expect("obs"),
        vec![obs("proxy-1", "127.0.0.1:6380", ObservationKind::Up, t)]
    );
    assert!(a
        .observations("nobody:1", Duration::from_secs(10))
        .await
        .expect("obs")
        .is_empty());

    let since = Instant::now();
    wait_for(
        "observations to expire",
        retention * 4 + Duration::from_secs(5),
        || {
            let b = b.clone();
            async move {
                b.observations(node, Duration::from_secs(3600))
                    .await
                    .expect("observations")
                    .is_empty()
                    .then_some(())
            }
        },
    )
    .await;
    println!(
        "observations expired {:?} after the last report (retention {retention:?})",
        since.elapsed()
    );
}
