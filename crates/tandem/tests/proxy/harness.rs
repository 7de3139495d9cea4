//! Starting `tandem proxy` as a real process for the proxy tests: free port, log
//! file in a temp folder, readiness awaited (PING is answered by the proxy itself,
//! then a forwarded command proves the backend path), killed on drop.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::common::{free_port, tandem_bin, wait_for};

pub struct ProxyProc {
    pub port: u16,
    pub child: Child,
    pub dir: tempfile::TempDir,
}

/// A connection to `url` (a proxy's, for a thread of its own).
pub fn connect(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("connect to the proxy")
}

impl ProxyProc {
    /// `tandem proxy --port P --logfile D/proxy.log <args>`; waits until it answers.
    pub fn start(args: &[&str]) -> ProxyProc {
        let dir = tempfile::tempdir().expect("temp dir");
        for _ in 0..3 {
            let port = free_port();
            let mut child = Command::new(tandem_bin())
                .arg("proxy")
                .arg("--port")
                .arg(port.to_string())
                .arg("--logfile")
                .arg(dir.path().join("proxy.log"))
                .args(args)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn tandem proxy");
            let deadline = Instant::now() + Duration::from_secs(20);
            loop {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) {
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut b = [0u8; 64];
                    if s.write_all(b"PING\r\n").is_ok() && s.read(&mut b).is_ok_and(|n| n > 0) {
                        return ProxyProc { port, child, dir };
                    }
                }
                if Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(10));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("tandem proxy did not start; log:\n{}", log_of(dir.path()));
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn client(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(5)))
            .expect("connect to the proxy")
    }

    pub fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(("127.0.0.1", self.port)).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    pub fn cli(&self, args: &[&str]) -> String {
        let o = Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli");
        String::from_utf8_lossy(&o.stdout).trim_end().to_string()
    }

    pub fn log(&self) -> String {
        log_of(self.dir.path())
    }

    /// One field of the proxy's INFO.
    pub fn info_field(&self, field: &str) -> String {
        let mut c = self.client();
        let text: String = redis::cmd("INFO")
            .arg("everything")
            .query(&mut c)
            .expect("INFO");
        text.lines()
            .find_map(|l| l.strip_prefix(&format!("{field}:")).map(str::to_string))
            .unwrap_or_default()
    }

    /// Waits until the proxy forwards commands (its master pool is up).
    pub fn await_master(&self) {
        wait_for(Duration::from_secs(10), "proxy master up", || {
            self.info_field("master_available") == "1"
        });
    }
}

fn log_of(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("proxy.log")).unwrap_or_default()
}

impl Drop for ProxyProc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        // A failing test shows what the proxy logged (its directory goes away).
        if std::thread::panicking() {
            eprintln!("proxy log:\n{}", log_of(self.dir.path()));
        }
    }
}

/// Writes a one-shard topology document (as the routing system stores it) to
/// `path`, atomically (write + rename) so the proxy never reads half of it.
pub fn write_topology(path: &Path, epoch: u64, master: &str, replicas: &[&str]) {
    let reps: Vec<String> = replicas
        .iter()
        .enumerate()
        .map(|(i, a)| format!(r#"{{"id":"replica-{i}","addr":"{a}"}}"#))
        .collect();
    let json = format!(
        r#"{{"cluster":"test","epoch":{epoch},"shards":[{{"name":"shard-0","master":{{"id":"node-{master}","addr":"{master}"}},"replicas":[{}]}}]}}"#,
        reps.join(",")
    );
    let tmp: PathBuf = path.with_extension("tmp");
    std::fs::write(&tmp, json).expect("write topology");
    std::fs::rename(&tmp, path).expect("rename topology");
}

/// Sends raw bytes and reads until `expect` replies' worth of bytes matching
/// `done` arrived (or the timeout); returns everything read.
pub fn send_raw(s: &mut TcpStream, data: &[u8], done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    s.write_all(data).expect("write");
    read_until(s, done)
}

pub fn read_until(s: &mut TcpStream, done: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut out = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut buf = [0u8; 65536];
    while !done(&out) && Instant::now() < deadline {
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(_) => break,
        }
    }
    out
}

/// A predicate: the buffer ends with `tail`.
pub fn ends_with(tail: &'static [u8]) -> impl Fn(&[u8]) -> bool {
    move |b: &[u8]| b.ends_with(tail)
}
