//! Test harness shared by the end-to-end tests: starts the real `tandem` binary or a
//! real `redis-server` on a free loopback port, waits until it answers, and kills it
//! on drop. No fixed ports, no sleeps: readiness is awaited with [`wait_for`].
#![allow(dead_code)] // each test binary uses a different part of the harness

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Polls `cond` until it holds or `timeout` passes; panics naming `what` on timeout.
pub fn wait_for(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    let mut pause = Duration::from_millis(1);
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {timeout:?} waiting for {what}"
        );
        std::thread::sleep(pause);
        pause = (pause * 2).min(Duration::from_millis(50));
    }
}

/// A free TCP port on 127.0.0.1 (the OS picks it; there is a small window in which
/// another process could take it, so [`Proc`] retries a failed start).
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    l.local_addr().expect("local addr").port()
}

/// Path of the `tandem` binary built for this test run.
pub fn tandem_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_tandem"))
}

/// Which program a [`Proc`] runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Tandem,
    Redis,
}

/// A running server process on its own port and data folder.
pub struct Proc {
    pub kind: Kind,
    pub port: u16,
    pub child: Child,
    pub dir: tempfile::TempDir,
    args: Vec<String>,
}

impl Proc {
    /// `tandem server --port P --dir D <args...>`.
    pub fn tandem(args: &[&str]) -> Proc {
        Proc::start(Kind::Tandem, args)
    }

    /// A real `redis-server --port P --dir D --save '' --appendonly no <args...>`.
    pub fn redis(args: &[&str]) -> Proc {
        Proc::start(Kind::Redis, args)
    }

    pub fn start(kind: Kind, args: &[&str]) -> Proc {
        let dir = tempfile::tempdir().expect("temp dir");
        let args: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        let mut last_err = String::new();
        // A few attempts: the free port can be taken between probe and bind.
        for _ in 0..3 {
            let port = free_port();
            let mut child = spawn(kind, port, dir.path(), &args);
            match await_ready(&mut child, port, dir.path(), Duration::from_secs(20)) {
                Ok(()) => {
                    return Proc {
                        kind,
                        port,
                        child,
                        dir,
                        args,
                    }
                }
                Err(e) => {
                    last_err = e;
                    let _ = child.kill();
                    let _ = child.wait();
                }
            }
        }
        panic!("could not start {kind:?}: {last_err}");
    }

    /// Restarts a killed process on the same port and data folder.
    pub fn restart(&mut self) {
        self.sigkill();
        self.child = spawn(self.kind, self.port, self.dir.path(), &self.args);
        if let Err(e) = self.await_ready(Duration::from_secs(30)) {
            panic!("restart {:?} failed: {e}", self.kind);
        }
    }

    /// Restarts on the same port and data folder with other arguments.
    pub fn restart_with(&mut self, args: &[&str]) {
        self.args = args.iter().map(|s| s.to_string()).collect();
        self.restart();
    }

    /// Restarts with `args` and returns once the process answers ECHO, which a
    /// node still loading its dataset does (PING gets `-LOADING` then).
    pub fn restart_answering(&mut self, args: &[&str]) {
        self.sigkill();
        self.args = args.iter().map(|s| s.to_string()).collect();
        self.child = spawn(self.kind, self.port, self.dir.path(), &self.args);
        wait_for(Duration::from_secs(20), "an ECHO reply", || {
            self.try_client()
                .and_then(|mut c| redis::cmd("ECHO").arg("up").query::<String>(&mut c))
                .is_ok()
        });
    }

    fn await_ready(&mut self, timeout: Duration) -> Result<(), String> {
        await_ready(&mut self.child, self.port, self.dir.path(), timeout)
    }

    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    fn try_client(&self) -> redis::RedisResult<redis::Connection> {
        let c = redis::Client::open(self.url())?;
        c.get_connection_with_timeout(Duration::from_secs(2))
    }

    /// A synchronous `redis` crate connection.
    pub fn client(&self) -> redis::Connection {
        self.try_client().expect("connect")
    }

    /// A raw TCP stream (for protocol-level tests).
    pub fn raw(&self) -> TcpStream {
        let s = TcpStream::connect(self.addr()).expect("connect");
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s
    }

    /// Runs `redis-cli -p PORT <args>` and returns its output.
    pub fn cli(&self, args: &[&str]) -> Output {
        Command::new("redis-cli")
            .arg("-p")
            .arg(self.port.to_string())
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("run redis-cli (the test script installs redis-tools)")
    }

    /// `redis-cli` stdout as a trimmed string.
    pub fn cli_str(&self, args: &[&str]) -> String {
        let o = self.cli(args);
        String::from_utf8_lossy(&o.stdout).trim_end().to_string()
    }

    /// The process's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
    }

    pub fn sigkill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Sends SIGTERM and waits for the exit status.
    pub fn sigterm(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.pid().to_string())
            .status();
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

fn await_ready(child: &mut Child, port: u16, dir: &Path, timeout: Duration) -> Result<(), String> {
    let log = || std::fs::read_to_string(dir.join("server.log")).unwrap_or_default();
    let deadline = Instant::now() + timeout;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited early with {status}; log:\n{}", log()));
        }
        let url = format!("redis://127.0.0.1:{port}/");
        if let Ok(mut c) = redis::Client::open(url)
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
        {
            match redis::cmd("PING").query::<String>(&mut c) {
                Ok(_) => return Ok(()),
                // A server with requirepass answers, just not to us yet.
                Err(e) if e.to_string().contains("NOAUTH") => return Ok(()),
                Err(_) => {}
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no PONG within {timeout:?}; log:\n{}", log()));
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn spawn(kind: Kind, port: u16, dir: &Path, args: &[String]) -> Child {
    let log = std::fs::File::create(dir.join("server.log")).expect("log file");
    let log2 = log.try_clone().expect("log file");
    // A leading argument that is not an option is a config file: redis-server
    // and tandem only accept it first, so it goes before the harness's options.
    let (file, args) = match args.split_first() {
        Some((f, rest)) if !f.starts_with("--") => (Some(f), rest),
        _ => (None, args),
    };
    let mut cmd = match kind {
        Kind::Tandem => {
            let mut c = Command::new(tandem_bin());
            c.arg("server").args(file);
            c
        }
        Kind::Redis => {
            let mut c = Command::new("redis-server");
            c.args(file).args(["--save", "", "--appendonly", "no"]);
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
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The raw reply bytes of each request over one connection (RESP3 after
/// `HELLO 3` when asked), each request followed by a PING whose PONG marks
/// the end of its reply: `"<label> -> <reply bytes, escaped>"` per request,
/// ready to compare with another server's.
pub fn transcript(p: &Proc, resp3: bool, requests: &[(String, Vec<u8>)]) -> Vec<String> {
    let mut s = p.raw();
    if resp3 {
        transcript_on(&mut s, &[(String::new(), b"HELLO 3\r\n".to_vec())]);
    }
    transcript_on(&mut s, requests)
}

/// [`transcript`] over a connection of any kind (a proxy's, one already
/// logged in): each request followed by a PING whose PONG ends its reply.
pub fn transcript_on(s: &mut TcpStream, requests: &[(String, Vec<u8>)]) -> Vec<String> {
    use std::io::{Read, Write};
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let until_pong = |s: &mut TcpStream| {
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        while !got.ends_with(b"+PONG\r\n") {
            let n = s.read(&mut buf).expect("a reply within 10 s");
            assert!(n > 0, "connection closed after {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
        got.truncate(got.len() - 7);
        String::from_utf8_lossy(&got).into_owned()
    };
    requests
        .iter()
        .map(|(label, bytes)| {
            let mut req = bytes.clone();
            req.extend_from_slice(b"PING\r\n");
            s.write_all(&req).expect("write");
            let out = until_pong(s);
            format!("{label} -> {out:?}")
        })
        .collect()
}

/// `args` as one RESP multibulk request.
pub fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out
}

/// The [`transcript`] of `cases` (each labelled with its arguments) on a
/// fresh Tandem node and on a fresh redis-server, in that order.
pub fn transcripts(cases: &[&[&str]], resp3: bool) -> (Vec<String>, Vec<String>) {
    transcripts_with(cases, resp3, &[])
}

/// [`transcripts`] with both servers started with `args`.
pub fn transcripts_with(
    cases: &[&[&str]],
    resp3: bool,
    args: &[&str],
) -> (Vec<String>, Vec<String>) {
    let requests: Vec<(String, Vec<u8>)> = cases
        .iter()
        .map(|c| (format!("{c:?}"), encode(c)))
        .collect();
    (
        transcript(&Proc::tandem(args), resp3, &requests),
        transcript(&Proc::redis(args), resp3, &requests),
    )
}

/// Runs `cases` on Tandem and on redis-server ([`transcripts`]), asserts
/// every reply is the same, and returns Tandem's transcript.
pub fn same_replies_as_redis(cases: &[&[&str]], resp3: bool) -> Vec<String> {
    same_replies_as_redis_with(cases, resp3, &[])
}

/// [`same_replies_as_redis`] with both servers started with `args`.
pub fn same_replies_as_redis_with(cases: &[&[&str]], resp3: bool, args: &[&str]) -> Vec<String> {
    let (tandem, redis) = transcripts_with(cases, resp3, args);
    for (t, r) in tandem.iter().zip(&redis) {
        assert_eq!(t, r, "RESP{}", if resp3 { 3 } else { 2 });
    }
    tandem
}

/// The transcript line of the case whose label starts with `label`.
pub fn case<'a>(transcript: &'a [String], label: &str) -> &'a str {
    transcript
        .iter()
        .find(|l| l.starts_with(label))
        .unwrap_or_else(|| panic!("no case {label}"))
}

/// A numeric field of an INFO section, read over `c`.
pub fn info_int(c: &mut redis::Connection, section: &str, name: &str) -> i64 {
    let info: String = redis::cmd("INFO").arg(section).query(c).expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in INFO {section}"))
}

/// `tandem server --port P --dir D <args>` under `strace -f -ttt -e trace=fdatasync`
/// (lines `<pid> <epoch seconds> fdatasync(...)` in `D/trace.txt`): the
/// child and a connection once it answers.
#[allow(dead_code)]
pub fn tandem_under_strace(dir: &Path, args: &[&str]) -> (Child, redis::Connection) {
    let port = free_port();
    let child = Command::new("strace")
        .args(["-f", "-ttt", "-e", "trace=fdatasync", "-o"])
        .arg(dir.join("trace.txt"))
        .arg(tandem_bin())
        .args(["server", "--port", &port.to_string(), "--dir"])
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("strace (the test script installs it)");
    let url = format!("redis://127.0.0.1:{port}/");
    let mut c = None;
    wait_for(Duration::from_secs(20), "tandem under strace", || {
        c = redis::Client::open(url.as_str())
            .and_then(|cl| cl.get_connection())
            .ok();
        c.is_some()
    });
    (child, c.expect("connection"))
}

/// The times of the fdatasync calls a [`tandem_under_strace`] run made.
#[allow(dead_code)]
pub fn fdatasync_times(dir: &Path) -> Vec<f64> {
    std::fs::read_to_string(dir.join("trace.txt"))
        .expect("trace")
        .lines()
        .filter(|l| l.contains("fdatasync("))
        .filter_map(|l| l.split_whitespace().nth(1)?.parse().ok())
        .collect()
}
