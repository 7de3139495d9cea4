//! Test helpers: spawn a real redis-server 7.0 on a free port, a minimal binary-safe
//! RESP2 client, and fetching a key back into the neutral value model.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tandem_rdb::RdbValue;

#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Option<Vec<u8>>),
    Array(Option<Vec<Reply>>),
}

impl Reply {
    pub fn bulk(self) -> Vec<u8> {
        match self {
            Reply::Bulk(Some(b)) => b,
            other => panic!("expected bulk, got {other:?}"),
        }
    }
    pub fn int(self) -> i64 {
        match self {
            Reply::Int(i) => i,
            other => panic!("expected int, got {other:?}"),
        }
    }
    pub fn simple(self) -> String {
        match self {
            Reply::Simple(s) => s,
            other => panic!("expected simple string, got {other:?}"),
        }
    }
    pub fn bulks(self) -> Vec<Vec<u8>> {
        match self {
            Reply::Array(Some(a)) => a.into_iter().map(Reply::bulk).collect(),
            other => panic!("expected array, got {other:?}"),
        }
    }
}

pub struct Client {
    r: BufReader<TcpStream>,
    w: TcpStream,
}

impl Client {
    pub fn connect(port: u16) -> std::io::Result<Client> {
        let s = TcpStream::connect(("127.0.0.1", port))?;
        s.set_read_timeout(Some(Duration::from_secs(30)))?;
        Ok(Client {
            r: BufReader::new(s.try_clone()?),
            w: s,
        })
    }

    pub fn cmd(&mut self, args: &[&[u8]]) -> Reply {
        let mut out = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            out.extend_from_slice(a);
            out.extend_from_slice(b"\r\n");
        }
        self.w.write_all(&out).expect("write to redis");
        self.read_reply()
    }

    /// Convenience for text-only commands split on spaces.
    pub fn cmds(&mut self, line: &str) -> Reply {
        let parts: Vec<&[u8]> = line.split(' ').map(str::as_bytes).collect();
        self.cmd(&parts)
    }

    fn line(&mut self) -> String {
        let mut l = String::new();
        self.r.read_line(&mut l).expect("read from redis");
        assert!(l.ends_with("\r\n"), "bad line {l:?}");
        l.truncate(l.len() - 2);
        l
    }

    fn read_reply(&mut self) -> Reply {
        let l = self.line();
        let (t, rest) = l.split_at(1);
        match t {
            "+" => Reply::Simple(rest.to_string()),
            "-" => Reply::Error(rest.to_string()),
            ":" => Reply::Int(rest.parse().expect("int")),
            "$" => {
                let n: i64 = rest.parse().expect("len");
                if n < 0 {
                    return Reply::Bulk(None);
                }
                let mut b = vec![0u8; n as usize + 2];
                std::io::Read::read_exact(&mut self.r, &mut b).expect("bulk");
                b.truncate(n as usize);
                Reply::Bulk(Some(b))
            }
            "*" => {
                let n: i64 = rest.parse().expect("len");
                if n < 0 {
                    return Reply::Array(None);
                }
                Reply::Array(Some((0..n).map(|_| self.read_reply()).collect()))
            }
            _ => panic!("unexpected reply line {l:?}"),
        }
    }
}

/// A redis-server child process, killed (by its own handle) on drop.
pub struct Server {
    child: Child,
    pub port: u16,
    pub dir: PathBuf,
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

impl Server {
    /// Starts redis-server with `dir`/`dbfilename` (loading it if present) and waits
    /// until it answers PING with PONG (not LOADING). Panics loudly if redis-server is
    /// missing.
    pub fn start(dir: &Path, dbfilename: &str, extra: &[&str]) -> Server {
        let port = free_port();
        let mut cmd = Command::new("redis-server");
        cmd.args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir)
            .args([
                "--dbfilename",
                dbfilename,
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args(extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let child = cmd
            .spawn()
            .expect("redis-server (7.0) must be installed for the interop tests: spawn failed");
        let mut s = Server {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = s.child.try_wait() {
                panic!("redis-server exited early with {status}; see its log in {dir:?}");
            }
            if let Ok(mut c) = Client::connect(port) {
                if c.cmds("PING") == Reply::Simple("PONG".into()) {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "redis-server did not come up");
            std::thread::sleep(Duration::from_millis(20));
        }
        s
    }

    pub fn client(&self) -> Client {
        Client::connect(self.port).expect("connect to redis-server")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sorts the unordered collections so values can be compared.
pub fn normalize(v: RdbValue) -> RdbValue {
    match v {
        RdbValue::Set(mut s) => {
            s.sort();
            RdbValue::Set(s)
        }
        RdbValue::Hash(mut h) => {
            h.sort();
            RdbValue::Hash(h)
        }
        RdbValue::ZSet(mut z) => {
            z.sort_by(|a, b| a.1.total_cmp(&b.1).then_with(|| a.0.cmp(&b.0)));
            RdbValue::ZSet(z)
        }
        other => other,
    }
}

/// Reads `key` from the server (current db) into the neutral model, normalized.
pub fn fetch(c: &mut Client, key: &[u8]) -> Option<RdbValue> {
    let t = c.cmd(&[b"TYPE", key]).simple();
    let v = match t.as_str() {
        "none" => return None,
        "string" => RdbValue::String(c.cmd(&[b"GET", key]).bulk()),
        "list" => RdbValue::List(c.cmd(&[b"LRANGE", key, b"0", b"-1"]).bulks()),
        "set" => RdbValue::Set(c.cmd(&[b"SMEMBERS", key]).bulks()),
        "hash" => {
            let flat = c.cmd(&[b"HGETALL", key]).bulks();
            RdbValue::Hash(
                flat.chunks(2)
                    .map(|p| (p[0].clone(), p[1].clone()))
                    .collect(),
            )
        }
        "zset" => {
            let flat = c.cmd(&[b"ZRANGE", key, b"0", b"-1", b"WITHSCORES"]).bulks();
            RdbValue::ZSet(
                flat.chunks(2)
                    .map(|p| {
                        let s = std::str::from_utf8(&p[1]).expect("score text");
                        (p[0].clone(), s.parse::<f64>().expect("score"))
                    })
                    .collect(),
            )
        }
        other => panic!("unexpected type {other}"),
    };
    Some(normalize(v))
}
