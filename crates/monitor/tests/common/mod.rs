//! Harness for the monitor's end-to-end tests: real `redis-server` processes on
//! free loopback ports (killed on drop), the in-process embedded routing store,
//! and async polling with a deadline instead of sleeps.
//! (The process part is a trimmed copy of crates/tandem/tests/common/mod.rs.)
#![allow(dead_code)] // each test binary uses a different part

use std::future::Future;
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_monitor::MonitorConfig;
use tandem_routing::{EmbeddedStore, RoutingStore, Topology};

/// Polls `cond` until it holds or `timeout` passes; panics naming `what`.
pub async fn wait_for<F, Fut>(timeout: Duration, what: &str, mut cond: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !cond().await {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Which server a [`Proc`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Redis,
    /// `tandem server ...` (see [`tandem_bin`]).
    Tandem,
}

/// The `tandem` binary: `$TANDEM_BIN`, else the one cargo built next to this
/// test (`target/<profile>/tandem`; `cargo test --workspace` builds it).
pub fn tandem_bin() -> std::path::PathBuf {
    if let Ok(p) = std::env::var("TANDEM_BIN") {
        return p.into();
    }
    let exe = std::env::current_exe().expect("test executable path");
    let bin = exe
        .parent()
        .and_then(Path::parent)
        .map(|d| d.join("tandem"))
        .expect("target dir");
    assert!(
        bin.exists(),
        "{} is missing: build it first (cargo build -p tandem) or set TANDEM_BIN",
        bin.display()
    );
    bin
}

/// A real server process on its own port and folder.
pub struct Proc {
    pub kind: Kind,
    /// The address it listens on (127.0.0.1 unless placed elsewhere).
    pub host: String,
    /// The network namespace it runs in (`ip netns exec`), if any.
    pub netns: Option<String>,
    pub port: u16,
    pub child: Child,
    pub dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Proc {
    /// `redis-server --port P --dir D --save '' --appendonly no
    /// --repl-diskless-sync-delay 0 <args>` (no 5 s wait before a full sync).
    pub fn redis(args: &[&str]) -> Proc {
        Proc::start(Kind::Redis, args)
    }

    pub fn start(kind: Kind, args: &[&str]) -> Proc {
        Proc::start_at(kind, "127.0.0.1", None, args)
    }

    /// Starts it listening on `host` (`--bind host`), inside `netns` if given.
    pub fn start_at(kind: Kind, host: &str, netns: Option<&str>, args_in: &[&str]) -> Proc {
        let dir = tempfile::tempdir().expect("temp dir");
        let mut args: Vec<String> = Vec::new();
        if host != "127.0.0.1" {
            // Reached from other namespaces without a password: protected mode
            // (Redis 7.0's default, and Tandem's) would refuse them.
            args.extend(["--protected-mode".to_string(), "no".to_string()]);
        }
        args.extend(args_in.iter().map(|s| s.to_string()));
        args.extend(["--bind".to_string(), host.to_string()]);
        let netns = netns.map(str::to_string);
        let mut last = String::new();
        for _ in 0..3 {
            let port = free_port();
            let mut child = spawn(kind, netns.as_deref(), port, dir.path(), &args);
            match await_ready(&mut child, host, port, Duration::from_secs(20)) {
                Ok(()) => {
                    return Proc {
                        kind,
                        host: host.to_string(),
                        netns,
                        port,
                        child,
                        dir,
                        args,
                    }
                }
                Err(e) => {
                    last = e;
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        panic!("could not start {kind:?}: {last}");
    }

    pub fn addr(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(format!("redis://{}/", self.addr()))
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .expect("connect")
    }

    /// `INFO replication` as a map (empty when it does not answer).
    pub fn repl(&self) -> std::collections::HashMap<String, String> {
        let Ok(mut c) = redis::Client::open(format!("redis://{}/", self.addr()))
            .and_then(|c| c.get_connection_with_timeout(Duration::from_millis(500)))
        else {
            return Default::default();
        };
        let text: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut c)
            .unwrap_or_default();
        text.lines()
            .filter_map(|l| l.trim_end().split_once(':'))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    /// True when it is a replica of `master` with the link up.
    pub fn follows(&self, master: &Proc) -> bool {
        let r = self.repl();
        r.get("role").map(String::as_str) == Some("slave")
            && r.get("master_port") == Some(&master.port.to_string())
            && r.get("master_link_status").map(String::as_str) == Some("up")
    }

    pub fn role(&self) -> String {
        self.repl().get("role").cloned().unwrap_or_default()
    }

    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    pub fn signal(&self, sig: &str) {
        let _ = Command::new("kill")
            .arg(format!("-{sig}"))
            .arg(self.child.id().to_string())
            .stderr(Stdio::null())
            .status();
    }

    /// Restarts a killed process on the same port and folder (empty dataset:
    /// the tests run without persistence).
    pub fn restart(&mut self) {
        self.sigkill();
        self.child = spawn(
            self.kind,
            self.netns.as_deref(),
            self.port,
            self.dir.path(),
            &self.args,
        );
        if let Err(e) = await_ready(
            &mut self.child,
            &self.host,
            self.port,
            Duration::from_secs(20),
        ) {
            panic!("restart failed: {e}");
        }
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }
}

fn await_ready(child: &mut Child, host: &str, port: u16, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(st)) = child.try_wait() {
            return Err(format!("exited early with {st}"));
        }
        if let Ok(mut c) = redis::Client::open(format!("redis://{host}:{port}/"))
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(1)))
        {
            if redis::cmd("PING").query::<String>(&mut c).is_ok() {
                return Ok(());
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no PONG within {timeout:?}"));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn spawn(kind: Kind, netns: Option<&str>, port: u16, dir: &Path, args: &[String]) -> Child {
    let log = std::fs::File::create(dir.join("server.log")).expect("log file");
    let log2 = log.try_clone().expect("log file");
    let program = |p: &Path| match netns {
        Some(ns) => {
            let mut c = Command::new("ip");
            c.args(["netns", "exec", ns]).arg(p);
            c
        }
        None => Command::new(p),
    };
    let mut cmd = match kind {
        Kind::Redis => {
            let mut c = program(Path::new("redis-server"));
            c.args([
                "--save",
                "",
                "--appendonly",
                "no",
                "--repl-diskless-sync-delay",
                "0",
            ]);
            c
        }
        Kind::Tandem => {
            let mut c = program(&tandem_bin());
            c.arg("server");
            c
        }
    };
    cmd.arg("--port")
        .arg(port.to_string())
        .arg("--dir")
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2);
    cmd.spawn()
        .unwrap_or_else(|e| panic!("spawn {kind:?}: {e} (is it installed?)"))
}

impl Drop for Proc {
    fn drop(&mut self) {
        // A SIGSTOPped process must be continued to die cleanly.
        self.signal("CONT");
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The embedded routing store in a temporary folder.
pub fn store() -> (Arc<dyn RoutingStore>, tempfile::TempDir) {
    let dir = tempfile::tempdir().expect("temp dir");
    let s = EmbeddedStore::open(dir.path()).expect("open the embedded store");
    (Arc::new(s), dir)
}

/// A monitor configuration over `nodes` with the default timings.
pub fn config(id: &str, nodes: &[&Proc], data: &Path) -> MonitorConfig {
    let mut c = MonitorConfig::new(id, "test");
    c.nodes = nodes.iter().map(|p| p.addr()).collect();
    c.data_dir = Some(data.join(id));
    c.admin_addr = Some("127.0.0.1:0".parse().expect("addr"));
    c
}

pub async fn topology(store: &Arc<dyn RoutingStore>) -> Option<Topology> {
    store.get().await.ok().flatten()
}

/// Writes `n` keys `prefix:i` to `p`.
pub fn write_keys(p: &Proc, prefix: &str, n: usize) {
    let mut c = p.client();
    for i in 0..n {
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}:{i}"))
            .arg(i)
            .query(&mut c)
            .expect("SET");
    }
}

pub fn dbsize(p: &Proc) -> i64 {
    redis::cmd("DBSIZE").query(&mut p.client()).unwrap_or(-1)
}

pub fn offset(p: &Proc, field: &str) -> i64 {
    p.repl()
        .get(field)
        .and_then(|v| v.parse().ok())
        .unwrap_or(-1)
}

/// Writes `n` keys `prefix:i` of `size` bytes each to `p`.
pub fn write_big(p: &Proc, prefix: &str, n: usize, size: usize) {
    let mut c = p.client();
    let v = vec![b'x'; size];
    for i in 0..n {
        let _: () = redis::cmd("SET")
            .arg(format!("{prefix}:{i}"))
            .arg(&v)
            .query(&mut c)
            .expect("SET");
    }
}
