//! The proxy as a library (`tandem_proxy::start`), as `tandem up` will embed it:
//! it binds port 0, serves through a stock redis-server, and reports what it sees
//! about the node on the observation sink (Up, then Refused when the node dies).

use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tandem_proxy::ProxyConfig;
use tandem_routing::{fixed_feed, Node, ObservationKind, Topology};

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

fn wait_obs(
    rx: &mut tokio::sync::mpsc::Receiver<tandem_routing::Observation>,
    kind: ObservationKind,
) -> tandem_routing::Observation {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match rx.try_recv() {
            Ok(o) if o.kind == kind => return o,
            Ok(_) => continue,
            Err(_) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("no {kind:?} observation: {e}"),
        }
    }
}

#[test]
fn reports_node_up_and_refused_on_the_sink() {
    let port = free_port();
    let mut node = Command::new("redis-server")
        .args([
            "--port",
            &port.to_string(),
            "--save",
            "",
            "--appendonly",
            "no",
        ])
        .stdout(Stdio::null())
        .spawn()
        .expect("redis-server (the test script installs it)");
    let addr = format!("127.0.0.1:{port}");
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(&addr).is_err() {
        assert!(Instant::now() < deadline, "redis-server did not start");
        std::thread::sleep(Duration::from_millis(10));
    }
    let (_tx, feed) = fixed_feed(Topology::single("t", 7, Node::new("n1", &addr), vec![]));
    let (obs_tx, mut obs_rx) = tokio::sync::mpsc::channel(64);
    let cfg = ProxyConfig {
        port: 0,
        id: "proxy-test".into(),
        ..ProxyConfig::default()
    };
    let handle = tandem_proxy::start(cfg, feed, obs_tx).expect("start");
    let paddr = handle.local_addrs()[0];
    let up = wait_obs(&mut obs_rx, ObservationKind::Up);
    assert_eq!((up.node.as_str(), up.epoch), (addr.as_str(), 7));
    assert_eq!(up.observer, "proxy-test");
    let mut c = redis::Client::open(format!("redis://{paddr}/"))
        .and_then(|c| c.get_connection())
        .expect("connect");
    let () = redis::cmd("SET")
        .arg("a")
        .arg("b")
        .query(&mut c)
        .expect("SET");
    let _ = node.kill();
    let _ = node.wait();
    let down = wait_obs(&mut obs_rx, ObservationKind::Refused);
    assert_eq!(down.node, addr);
    assert!(tandem_proxy::Metrics::get(&handle.metrics().backend_link_errors) >= 1);
    handle.shutdown();
    handle.wait();
}
