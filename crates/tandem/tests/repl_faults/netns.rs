//! Two network namespaces joined by a veth pair, a Tandem master in one and its
//! replica in the other, and a link that can be cut and healed. Needs root (CI
//! runs as root). Names are unique per test and process; `Drop` deletes the
//! namespaces (which destroys the veth pair) and kills the servers.
//!
//! The cut is `ip link set <veth> down` on both ends: this kernel has no `netem`
//! qdisc ("Specified qdisc kind is unknown"), and a downed link drops every packet
//! just as `netem loss 100%` would, while the TCP connections stay open on both
//! sides, so each side has to notice the silence by its own timeouts.

use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use crate::common::{tandem_bin, wait_for};

/// The port inside each namespace (a fresh namespace has no other listeners).
const PORT: u16 = 6400;
const T: Duration = Duration::from_secs(60);

static SEQ: AtomicU32 = AtomicU32::new(0);

pub struct Pair {
    a: String,
    b: String,
    va: String,
    vb: String,
    ip_a: String,
}

/// A server running inside a namespace.
pub struct NsProc {
    ns: String,
    child: Child,
    _dir: tempfile::TempDir,
    log: PathBuf,
}

impl NsProc {
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for NsProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn run(args: &[&str]) -> Output {
    let out = Command::new(args[0])
        .args(&args[1..])
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

impl Pair {
    /// Creates the namespaces and the veth pair with a /24 of its own.
    pub fn new(tag: &str) -> Pair {
        let n = SEQ.fetch_add(1, Ordering::SeqCst);
        let pid = std::process::id() % 100_000;
        let id = format!("{tag}{pid}{n}");
        let k = (pid + n * 37) % 200 + 20;
        let p = Pair {
            a: format!("tra{id}"),
            b: format!("trb{id}"),
            va: format!("va{id}"),
            vb: format!("vb{id}"),
            ip_a: format!("10.231.{k}.1"),
        };
        let ip_b = format!("10.231.{k}.2");
        run(&["ip", "netns", "add", &p.a]);
        run(&["ip", "netns", "add", &p.b]);
        run(&[
            "ip", "link", "add", &p.va, "type", "veth", "peer", "name", &p.vb,
        ]);
        run(&["ip", "link", "set", &p.va, "netns", &p.a]);
        run(&["ip", "link", "set", &p.vb, "netns", &p.b]);
        for (ns, dev, ip) in [(&p.a, &p.va, &p.ip_a), (&p.b, &p.vb, &ip_b)] {
            let cidr = format!("{ip}/24");
            run(&[
                "ip", "netns", "exec", ns, "ip", "addr", "add", &cidr, "dev", dev,
            ]);
            run(&["ip", "netns", "exec", ns, "ip", "link", "set", dev, "up"]);
            run(&["ip", "netns", "exec", ns, "ip", "link", "set", "lo", "up"]);
        }
        p
    }

    fn start(&self, ns: &str, extra: &[&str]) -> NsProc {
        let dir = tempfile::tempdir().expect("temp dir");
        let log = dir.path().join("server.log");
        let f = std::fs::File::create(&log).expect("log");
        let f2 = f.try_clone().expect("log");
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .arg(tandem_bin())
            .arg("server")
            .args(["--port", &PORT.to_string(), "--bind", "0.0.0.0"])
            .args(["--protected-mode", "no", "--repl-timeout", "2"])
            .args(["--repl-ping-replica-period", "1", "--dir"])
            .arg(dir.path())
            .args(extra)
            .stdin(Stdio::null())
            .stdout(f)
            .stderr(f2)
            .spawn()
            .expect("spawn tandem in a namespace");
        let p = NsProc {
            ns: ns.to_string(),
            child,
            _dir: dir,
            log,
        };
        wait_for(T, "the server in the namespace", || {
            let r = self.cli(&p, &["PING"]);
            r == "PONG" || r.starts_with("NOAUTH")
        });
        p
    }

    pub fn start_master(&self, extra: &[&str]) -> NsProc {
        self.start(&self.a, extra)
    }

    pub fn start_replica(&self) -> NsProc {
        let port = PORT.to_string();
        self.start(&self.b, &["--replicaof", &self.ip_a, &port])
    }

    /// `redis-cli` inside the server's namespace.
    pub fn cli(&self, p: &NsProc, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &p.ns, "redis-cli", "-p", &PORT.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// `redis-cli` from the other namespace to the master's address (a
    /// client on another host), with `args` after the address.
    pub fn cli_from_b(&self, args: &[&str]) -> String {
        let out = Command::new("ip")
            .args(["netns", "exec", &self.b, "redis-cli", "-h", &self.ip_a])
            .args(["-p", &PORT.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    pub fn info(&self, p: &NsProc, section: &str, field: &str) -> String {
        let text = self.cli(p, &["INFO", section]);
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")))
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    }

    pub fn wait_link(&self, r: &NsProc, status: &str) {
        wait_for(T, "the replica's link status", || {
            self.info(r, "replication", "master_link_status") == status
        });
    }

    pub fn wait_synced(&self, m: &NsProc, r: &NsProc) {
        wait_for(T, "the replica to catch up", || {
            let mo = self.info(m, "replication", "master_repl_offset");
            self.info(r, "replication", "master_link_status") == "up"
                && !mo.is_empty()
                && mo == self.info(r, "replication", "slave_repl_offset")
        });
    }

    fn link(&self, up: &str) {
        for (ns, dev) in [(&self.a, &self.va), (&self.b, &self.vb)] {
            run(&["ip", "netns", "exec", ns, "ip", "link", "set", dev, up]);
        }
    }

    /// Every packet between the two namespaces is dropped.
    pub fn cut(&self) {
        self.link("down");
    }

    pub fn heal(&self) {
        self.link("up");
    }
}

impl Drop for Pair {
    fn drop(&mut self) {
        for ns in [&self.a, &self.b] {
            let _ = Command::new("ip")
                .args(["netns", "del", ns])
                .stdin(Stdio::null())
                .output();
        }
    }
}
