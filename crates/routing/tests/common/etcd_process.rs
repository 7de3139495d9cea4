//! `EtcdProcess` (included by etcd.rs only): a real single-member etcd (Debian's etcd-server, /usr/bin/etcd)
//! on free loopback ports with a temp data dir, for tests.

use std::fs::{File, OpenOptions};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A free loopback port (bound, then released).
/// Two distinct free loopback ports: both listeners are held until both are
/// chosen, so the OS cannot hand out the same port twice (it did once in CI,
/// and etcd then failed to bind its peer and client URLs on one port).
fn two_free_ports() -> (u16, u16) {
    let bind = || std::net::TcpListener::bind("127.0.0.1:0").expect("a free loopback port");
    let (a, b) = (bind(), bind());
    let port = |l: &std::net::TcpListener| l.local_addr().expect("local addr").port();
    (port(&a), port(&b))
}

/// How long etcd may take to answer `status()` (measured: ~0.6 s when idle).
const READY_DEADLINE: Duration = Duration::from_secs(20);

pub struct EtcdProcess {
    child: Option<Child>,
    pub client_port: u16,
    peer_port: u16,
    dir: tempfile::TempDir,
    log: PathBuf,
}

impl EtcdProcess {
    /// Starts etcd and waits until it answers; panics with the log tail if not.
    pub async fn start() -> Self {
        let dir = tempfile::tempdir().expect("temp dir for etcd");
        let log = dir.path().join("etcd.log");
        let (client_port, peer_port) = two_free_ports();
        let mut p = EtcdProcess {
            child: None,
            client_port,
            peer_port,
            dir,
            log,
        };
        p.spawn().await;
        p
    }

    /// `127.0.0.1:<client port>`.
    pub fn endpoint(&self) -> String {
        format!("127.0.0.1:{}", self.client_port)
    }

    async fn spawn(&mut self) {
        let bin = std::env::var("ETCD_BIN").unwrap_or_else(|_| "etcd".to_string());
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log: File = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .expect("etcd log file");
        let log2 = log.try_clone().expect("etcd log file");
        let child = Command::new(&bin)
            .args(["--name", "t0", "--logger", "zap", "--log-outputs", "stderr"])
            .arg("--data-dir")
            .arg(self.dir.path().join("data"))
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
            .args(["--initial-cluster-state", "new"])
            // Fast single-member elections keep startup short; it also lowers etcd's
            // minimum lease TTL (1.5 election timeouts) below the tests' 1 s leases.
            .args(["--heartbeat-interval", "50", "--election-timeout", "500"])
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {bin} (apt-get install etcd-server): {e}"));
        self.child = Some(child);
        self.wait_ready().await;
    }

    async fn wait_ready(&mut self) {
        let start = Instant::now();
        let endpoint = format!("http://{}", self.endpoint());
        loop {
            if let Some(c) = self.child.as_mut() {
                if let Ok(Some(status)) = c.try_wait() {
                    panic!(
                        "etcd exited early ({status}); log tail:\n{}",
                        self.log_tail()
                    );
                }
            }
            let ok = tokio::time::timeout(Duration::from_millis(500), async {
                let mut c = etcd_client::Client::connect([endpoint.as_str()], None)
                    .await
                    .ok()?;
                c.status().await.ok()
            })
            .await
            .ok()
            .flatten();
            if ok.is_some() {
                return;
            }
            if start.elapsed() > READY_DEADLINE {
                panic!(
                    "etcd did not answer status() within {READY_DEADLINE:?}; log tail:\n{}",
                    self.log_tail()
                );
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// The last lines of etcd's log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    /// SIGKILL, and wait for the process to be gone.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Starts etcd again on the same ports and data dir (after [`Self::kill`]).
    pub async fn restart(&mut self) {
        self.kill();
        self.spawn().await;
    }

    fn terminate(&mut self) {
        let Some(mut c) = self.child.take() else {
            return;
        };
        // SIGTERM first (etcd takes over a second to stop), then SIGKILL.
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
    }
}

impl Drop for EtcdProcess {
    fn drop(&mut self) {
        self.terminate();
    }
}
