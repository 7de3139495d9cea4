//! The embedded backend: the conformance suite in-process and over TCP, plus
//! persistence across restarts, the follower surviving a server outage, and the
//! server's handling of bad requests.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{conformance, topo, wait_for};
use tandem_routing::{
    follow, open, CasOutcome, EmbeddedClient, EmbeddedServer, EmbeddedStore, RoutingError,
    RoutingStore,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const RETENTION: Duration = Duration::from_secs(2);

type Store = Arc<dyn RoutingStore>;

/// Two handles on one in-process store (the monitor's view).
fn in_process(dir: &tempfile::TempDir) -> (Store, Store) {
    let s = EmbeddedStore::open_with(dir.path(), RETENTION).expect("open store");
    (Arc::new(s.clone()), Arc::new(s))
}

/// Two TCP clients of one server (the proxies' view).
async fn over_tcp(dir: &tempfile::TempDir) -> (EmbeddedServer, Store, Store) {
    let store = EmbeddedStore::open_with(dir.path(), RETENTION).expect("open store");
    let server = EmbeddedServer::serve(store, "127.0.0.1:0")
        .await
        .expect("serve");
    let addr = server.local_addr().to_string();
    let a = EmbeddedClient::connect(addr.clone())
        .await
        .expect("client a");
    let b = EmbeddedClient::connect(addr).await.expect("client b");
    (server, Arc::new(a), Arc::new(b))
}

fn tmp() -> tempfile::TempDir {
    tempfile::tempdir().expect("tempdir")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_semantics_in_process() {
    let d = tmp();
    let (a, b) = in_process(&d);
    conformance::cas_semantics(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cas_semantics_over_tcp() {
    let d = tmp();
    let (_server, a, b) = over_tcp(&d).await;
    conformance::cas_semantics(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_delivers_every_change_in_order_in_process() {
    let d = tmp();
    let (a, b) = in_process(&d);
    conformance::watch_delivers_every_change_in_order("embedded in-process", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watch_delivers_every_change_in_order_over_tcp() {
    let d = tmp();
    let (_server, a, b) = over_tcp(&d).await;
    conformance::watch_delivers_every_change_in_order("embedded over TCP", a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_exclusivity_and_expiry_in_process() {
    let d = tmp();
    let (a, b) = in_process(&d);
    conformance::lease_exclusivity_and_expiry(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lease_exclusivity_and_expiry_over_tcp() {
    let d = tmp();
    let (_server, a, b) = over_tcp(&d).await;
    conformance::lease_exclusivity_and_expiry(a, b).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observations_round_trip_and_expiry_in_process() {
    let d = tmp();
    let (a, b) = in_process(&d);
    conformance::observations_round_trip_and_expiry(a, b, RETENTION).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn observations_round_trip_and_expiry_over_tcp() {
    let d = tmp();
    let (_server, a, b) = over_tcp(&d).await;
    conformance::observations_round_trip_and_expiry(a, b, RETENTION).await;
}

/// A restarted store (reopened folder, restarted server) keeps its epoch, its
/// lease holder and its lease-id counter: no epoch or lease id is ever reused, and
/// stale CAS attempts from before the restart conflict.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn persistence_across_restart_never_reuses_an_epoch() {
    let d = tmp();
    let lease_id;
    {
        let s = EmbeddedStore::open(d.path()).expect("open");
        assert_eq!(
            s.compare_and_set(None, topo(1)).await.expect("cas"),
            CasOutcome::Applied
        );
        assert_eq!(
            s.compare_and_set(Some(1), topo(5)).await.expect("cas"),
            CasOutcome::Applied
        );
        lease_id = s
            .campaign("m1", Duration::from_secs(30))
            .await
            .expect("campaign")
            .expect("lease")
            .id;
    }
    // Reopen in-process.
    let s = EmbeddedStore::open(d.path()).expect("reopen");
    assert_eq!(s.get().await.expect("get"), Some(topo(5)));
    assert_eq!(
        s.compare_and_set(None, topo(1)).await.expect("cas"),
        CasOutcome::Conflict(Some(topo(5)))
    );
    assert_eq!(
        s.compare_and_set(Some(1), topo(2)).await.expect("cas"),
        CasOutcome::Conflict(Some(topo(5))),
        "a CAS based on a pre-restart epoch must conflict"
    );
    assert_eq!(
        s.campaign("m2", Duration::from_secs(1))
            .await
            .expect("campaign"),
        None,
        "the lease holder keeps leadership across the store's restart"
    );
    let renewed = s
        .campaign("m1", Duration::from_secs(30))
        .await
        .expect("campaign")
        .expect("m1 renews");
    assert_eq!(renewed.id, lease_id);
    s.resign(&renewed).await.expect("resign");
    drop(s);

    // Restart as a server; clients continue from the persisted epoch.
    let server = EmbeddedServer::start(d.path(), "127.0.0.1:0")
        .await
        .expect("server");
    let c = EmbeddedClient::connect(server.local_addr().to_string())
        .await
        .expect("client");
    assert_eq!(c.get().await.expect("get"), Some(topo(5)));
    assert_eq!(
        c.compare_and_set(Some(5), topo(6)).await.expect("cas"),
        CasOutcome::Applied
    );
    let l = c
        .campaign("m2", Duration::from_secs(1))
        .await
        .expect("campaign")
        .expect("free after resign");
    assert!(
        l.id > lease_id,
        "lease ids are never reused ({} after {lease_id})",
        l.id
    );
    server.shutdown().await;
    let s = EmbeddedStore::open(d.path()).expect("reopen again");
    assert_eq!(
        s.get().await.expect("get"),
        Some(topo(6)),
        "the acknowledged CAS was durable"
    );
}

/// `follow` over TCP: the feed keeps the last topology while the server is down
/// (and the CAS-capable store behind it keeps changing), then catches up once the
/// server is back on the same address.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_keeps_last_topology_while_server_is_down_and_catches_up() {
    let d = tmp();
    let server = EmbeddedServer::start(d.path(), "127.0.0.1:0")
        .await
        .expect("server");
    let addr = server.local_addr();
    assert_eq!(
        server
            .store()
            .compare_and_set(None, topo(1))
            .await
            .expect("cas"),
        CasOutcome::Applied
    );
    let store = open(&format!("embedded://{addr}"), "conf")
        .await
        .expect("open url");
    let (feed, handle) = follow(store.clone());
    wait_for("the feed to show epoch 1", Duration::from_secs(5), || {
        let f = feed.clone();
        async move { (f.borrow().as_ref().map(|t| t.epoch) == Some(1)).then_some(()) }
    })
    .await;

    server.shutdown().await;
    assert!(store.get().await.is_err(), "the server is down");
    // The follower retries meanwhile; the feed must keep epoch 1 throughout.
    for _ in 0..15 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(feed.borrow().as_ref().map(|t| t.epoch), Some(1));
    }

    // The monitor changes the topology while the server is down, then serves again.
    let s = EmbeddedStore::open(d.path()).expect("reopen");
    assert_eq!(
        s.compare_and_set(Some(1), topo(2)).await.expect("cas"),
        CasOutcome::Applied
    );
    let server = EmbeddedServer::serve(s, &addr.to_string())
        .await
        .expect("serve again");
    let since = std::time::Instant::now();
    wait_for(
        "the feed to catch up to epoch 2",
        Duration::from_secs(5),
        || {
            let f = feed.clone();
            async move { (f.borrow().as_ref().map(|t| t.epoch) == Some(2)).then_some(()) }
        },
    )
    .await;
    println!(
        "feed caught up {:?} after the server came back",
        since.elapsed()
    );
    assert_eq!(feed.borrow().as_deref(), Some(&topo(2)));
    assert_eq!(
        server
            .store()
            .compare_and_set(Some(2), topo(3))
            .await
            .expect("cas"),
        CasOutcome::Applied
    );
    wait_for(
        "the feed to see epoch 3 live",
        Duration::from_secs(2),
        || {
            let f = feed.clone();
            async move { (f.borrow().as_ref().map(|t| t.epoch) == Some(3)).then_some(()) }
        },
    )
    .await;
    assert!(
        store.stats().connects >= 2,
        "the client reconnected: {:?}",
        store.stats()
    );
    handle.stop().await;
    server.shutdown().await;
}

/// Bad requests get an error reply and the connection keeps working; typed
/// errors survive the wire.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_answers_bad_requests_with_errors() {
    let d = tmp();
    let server = EmbeddedServer::start(d.path(), "127.0.0.1:0")
        .await
        .expect("server");
    let mut sock = tokio::net::TcpStream::connect(server.local_addr())
        .await
        .expect("connect");
    sock.write_all(b"NOPE\r\nCAS x {}\r\nCAS - {bad\r\nPING\r\n")
        .await
        .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while !got.ends_with(b"+PONG\r\n") {
        let n = tokio::time::timeout(Duration::from_secs(5), sock.read(&mut buf))
            .await
            .expect("reply in time")
            .expect("read");
        assert!(
            n > 0,
            "server closed the connection; got {:?}",
            String::from_utf8_lossy(&got)
        );
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(
        text.starts_with("-ERR unknown command 'nope'\r\n"),
        "{text}"
    );
    assert!(
        text.contains("-ERR wrong number of arguments or bad argument for 'cas'\r\n"),
        "{text}"
    );
    assert!(
        text.contains("-TOPOLOGY invalid topology document"),
        "{text}"
    );

    let c = EmbeddedClient::connect(server.local_addr().to_string())
        .await
        .expect("client");
    assert!(matches!(
        c.compare_and_set(Some(3), topo(2)).await,
        Err(RoutingError::Rejected(_))
    ));
    server.shutdown().await;
}

/// A client created once keeps working across a server restart: a read that
/// fails on the old connection is retried once on a fresh one, and a CAS after
/// the restart goes through on the next call.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn client_survives_a_server_restart() {
    let d = tmp();
    let server = EmbeddedServer::start(d.path(), "127.0.0.1:0")
        .await
        .expect("server");
    let addr = server.local_addr().to_string();
    let c = EmbeddedClient::connect(addr.clone()).await.expect("client");
    assert_eq!(
        c.compare_and_set(None, topo(1)).await.expect("cas"),
        CasOutcome::Applied
    );
    server.shutdown().await;
    assert!(c.get().await.is_err(), "the server is down");
    let server = EmbeddedServer::start(d.path(), &addr)
        .await
        .expect("restart");
    assert_eq!(c.get().await.expect("get after restart"), Some(topo(1)));
    // Restart again while the client holds an idle connection: the kept
    // connection is dead, the read is retried transparently.
    server.shutdown().await;
    let server = EmbeddedServer::start(d.path(), &addr)
        .await
        .expect("restart");
    assert_eq!(
        c.get().await.expect("get retried on a new connection"),
        Some(topo(1))
    );
    assert_eq!(
        c.compare_and_set(Some(1), topo(2)).await.expect("cas"),
        CasOutcome::Applied
    );
    assert!(c.stats().connects >= 3, "{:?}", c.stats());
    server.shutdown().await;
}

/// The deployment path: the monitor publishes through its in-process store and
/// five proxies follow the store over TCP ([`follow`] feeds). Every feed shows
/// each new epoch quickly (asserted < 1 s; the target is 100 ms; p50/max printed,
/// measured from the start of the CAS to the last of the five feeds).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn change_reaches_every_following_proxy_quickly() {
    let d = tmp();
    let server = EmbeddedServer::start(d.path(), "127.0.0.1:0")
        .await
        .expect("server");
    let monitor = server.store().clone();
    assert_eq!(
        monitor.compare_and_set(None, topo(1)).await.expect("cas"),
        CasOutcome::Applied
    );
    let url = format!("tandem://{}", server.local_addr());
    let mut feeds = Vec::new();
    let mut handles = Vec::new();
    for _ in 0..5 {
        let (feed, h) = follow(open(&url, "conf").await.expect("open"));
        feeds.push(feed);
        handles.push(h);
    }
    for f in &mut feeds {
        let mut f = f.clone();
        tokio::time::timeout(Duration::from_secs(5), f.wait_for(|t| t.is_some()))
            .await
            .expect("initial topology in time")
            .expect("feed open");
    }
    let mut lat = Vec::new();
    for epoch in 1..31u64 {
        let start = std::time::Instant::now();
        assert_eq!(
            monitor
                .compare_and_set(Some(epoch), topo(epoch + 1))
                .await
                .expect("cas"),
            CasOutcome::Applied
        );
        for f in &feeds {
            let mut f = f.clone();
            tokio::time::timeout(
                Duration::from_secs(5),
                f.wait_for(|t| t.as_ref().is_some_and(|t| t.epoch == epoch + 1)),
            )
            .await
            .expect("every feed sees the change")
            .expect("feed open");
        }
        lat.push(start.elapsed());
    }
    let (p50, max) = common::p50_max(&mut lat);
    println!("in-process CAS to 5 TCP-following feeds: p50 {p50:?}, max {max:?}");
    assert!(
        max < Duration::from_secs(1),
        "a change took {max:?} to reach every feed"
    );
    for h in handles {
        h.stop().await;
    }
    server.shutdown().await;
}
