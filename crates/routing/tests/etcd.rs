//! The etcd backend against a real etcd (3.4, Debian's etcd-server): the same
//! conformance suite as the embedded backend, plus the follower surviving an
//! etcd SIGKILL and restart.
#![cfg(feature = "etcd")]

mod common;
#[path = "common/etcd_process.rs"]
mod etcd_process;

use std::sync::Arc;
use std::time::Duration;

use common::{conformance, topo, wait_for};
use etcd_process::EtcdProcess;
use tandem_routing::{follow, open, CasOutcome, EtcdStore, RoutingStore};

const RETENTION: Duration = Duration::from_secs(2);

type Store = Arc<dyn RoutingStore>;

/// Two separate client connections to one etcd, same cluster prefix.
async fn two_handles(etcd: &EtcdProcess) -> (Store, Store) {
    let eps = vec![etcd.endpoint()];
    let a = EtcdStore::connect_with(&eps, "conf", RETENTION)
        .await
        .expect("connect a");
    let b = EtcdStore::connect_with(&eps, "conf", RETENTION)
        .await
        .expect("connect b");
    (Arc::new(a), Arc::new(b))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_semantics_etcd() {
    let etcd = EtcdProcess::start().await;
    let (a, b) = two_handles(&etcd).await;
    conformance::cas_semantics(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_delivers_every_change_in_order_etcd() {
    let etcd = EtcdProcess::start().await;
    let (a, b) = two_handles(&etcd).await;
    conformance::watch_delivers_every_change_in_order("etcd", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_exclusivity_and_expiry_etcd() {
    let etcd = EtcdProcess::start().await;
    let (a, b) = two_handles(&etcd).await;
    conformance::lease_exclusivity_and_expiry(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observations_round_trip_and_expiry_etcd() {
    let etcd = EtcdProcess::start().await;
    let (a, b) = two_handles(&etcd).await;
    conformance::observations_round_trip_and_expiry(a, b, RETENTION).await;
}

/// Two clusters in one etcd do not see each other's topology.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clusters_are_kept_apart_by_prefix() {
    let etcd = EtcdProcess::start().await;
    let eps = vec![etcd.endpoint()];
    let x = EtcdStore::connect(&eps, "x").await.expect("connect");
    let y = EtcdStore::connect(&eps, "y").await.expect("connect");
    assert_eq!(
        x.compare_and_set(None, topo(4)).await.expect("cas"),
        CasOutcome::Applied
    );
    assert_eq!(y.get().await.expect("get"), None);
    assert_eq!(
        y.compare_and_set(None, topo(1)).await.expect("cas"),
        CasOutcome::Applied
    );
    assert_eq!(x.get().await.expect("get"), Some(topo(4)));
}

/// `follow` on etcd: the feed keeps the last topology while etcd is SIGKILLed,
/// and after etcd restarts (same data) it picks up a change made then; the
/// stored epoch survived etcd's restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_keeps_last_topology_while_etcd_is_down_and_catches_up() {
    let mut etcd = EtcdProcess::start().await;
    let url = format!("etcd://{}", etcd.endpoint());
    let writer = open(&url, "conf").await.expect("open");
    assert_eq!(
        writer.compare_and_set(None, topo(1)).await.expect("cas"),
        CasOutcome::Applied
    );
    let reader = open(&url, "conf").await.expect("open");
    let (feed, handle) = follow(reader);
    wait_for("the feed to show epoch 1", Duration::from_secs(5), || {
        let f = feed.clone();
        async move { (f.borrow().as_ref().map(|t| t.epoch) == Some(1)).then_some(()) }
    })
    .await;

    etcd.kill();
    assert!(writer.get().await.is_err(), "etcd is down");
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(feed.borrow().as_ref().map(|t| t.epoch), Some(1));
    }

    etcd.restart().await;
    let w2 = open(&url, "conf").await.expect("reopen");
    let since = std::time::Instant::now();
    assert_eq!(
        w2.compare_and_set(Some(1), topo(2))
            .await
            .expect("cas after restart"),
        CasOutcome::Applied,
        "etcd kept epoch 1 across its restart"
    );
    wait_for(
        "the feed to catch up to epoch 2",
        Duration::from_secs(10),
        || {
            let f = feed.clone();
            async move { (f.borrow().as_ref().map(|t| t.epoch) == Some(2)).then_some(()) }
        },
    )
    .await;
    println!(
        "feed showed the CAS made on the restarted etcd {:?} after the CAS started",
        since.elapsed()
    );
    assert_eq!(feed.borrow().as_deref(), Some(&topo(2)));
    handle.stop().await;
}

/// One etcd watch stream survives an etcd SIGKILL and restart and delivers every
/// change made after the restart, in order, from the revision after the last one
/// it delivered (nothing is missed while it re-establishes).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_watch_resumes_after_restart_without_missing_changes() {
    let mut etcd = EtcdProcess::start().await;
    let eps = vec![etcd.endpoint()];
    let w = EtcdStore::connect(&eps, "conf").await.expect("connect");
    assert_eq!(
        w.compare_and_set(None, topo(1)).await.expect("cas"),
        CasOutcome::Applied
    );
    let mut stream = w.watch().await.expect("watch");
    assert_eq!(stream.recv().await, Some(topo(1)));
    assert_eq!(
        w.compare_and_set(Some(1), topo(2)).await.expect("cas"),
        CasOutcome::Applied
    );
    assert_eq!(
        tokio::time::timeout(Duration::from_secs(5), stream.recv())
            .await
            .expect("in time"),
        Some(topo(2))
    );

    etcd.restart().await;
    // Write at once, racing the stream's re-watch: it must replay what it missed.
    let w2 = EtcdStore::connect(&eps, "conf").await.expect("connect");
    for e in 2..7 {
        assert_eq!(
            w2.compare_and_set(Some(e), topo(e + 1)).await.expect("cas"),
            CasOutcome::Applied
        );
    }
    for e in 3..=7 {
        let got = tokio::time::timeout(Duration::from_secs(10), stream.recv())
            .await
            .expect("change delivered after the restart")
            .expect("the etcd stream resumes instead of ending");
        assert_eq!(got, topo(e));
    }
    assert!(
        w.stats().watches >= 2,
        "the stream re-watched: {:?}",
        w.stats()
    );
}

/// Connecting while etcd is down either fails cleanly or yields a store whose
/// calls fail with Unavailable; nothing hangs past the call bound.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn etcd_down_gives_unavailable_not_a_hang() {
    let mut etcd = EtcdProcess::start().await;
    let eps = vec![etcd.endpoint()];
    etcd.kill();
    let start = std::time::Instant::now();
    match EtcdStore::connect(&eps, "conf").await {
        Err(e) => assert!(
            matches!(e, tandem_routing::RoutingError::Unavailable(_)),
            "{e}"
        ),
        Ok(s) => assert!(matches!(
            s.get().await,
            Err(tandem_routing::RoutingError::Unavailable(_))
        )),
    }
    assert!(
        start.elapsed() < Duration::from_secs(8),
        "took {:?}",
        start.elapsed()
    );
}
