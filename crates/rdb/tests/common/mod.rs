//! Test helpers: spawn a real redis-server 7.0 on a free port, a minimal binary-safe
//! RESP2 client, and fetching a key back into the neutral value model.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tandem_rdb::{RdbStream, RdbStreamConsumer, RdbStreamGroup, RdbValue, StreamId};

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

/// Sorts the unordered collections so values can be compared (for streams: Redis's
/// radix-tree order, groups and consumers by name, PELs by ID).
pub fn normalize(v: RdbValue) -> RdbValue {
    match v {
        RdbValue::Stream(mut s) => {
            s.groups.sort_by(|a, b| a.name.cmp(&b.name));
            for g in &mut s.groups {
                g.pel.sort();
                g.consumers.sort_by(|a, b| a.name.cmp(&b.name));
                for c in &mut g.consumers {
                    c.pel.sort();
                }
            }
            RdbValue::Stream(s)
        }
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
        "stream" => RdbValue::Stream(Box::new(fetch_stream(c, key))),
        other => panic!("unexpected type {other}"),
    };
    Some(normalize(v))
}

/// Parses Redis's `ms-seq` ID text.
pub fn parse_id(b: &[u8]) -> StreamId {
    let t = std::str::from_utf8(b).expect("ID text");
    let (ms, seq) = t.split_once('-').expect("ms-seq");
    StreamId {
        ms: ms.parse().expect("ms"),
        seq: seq.parse().expect("seq"),
    }
}

/// A RESP2 flat map (key, value, key, value...) as pairs.
fn flat_map(r: Reply) -> Vec<(String, Reply)> {
    let Reply::Array(Some(items)) = r else {
        panic!("expected a map array, got {r:?}")
    };
    let mut out = Vec::new();
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        out.push((String::from_utf8(k.bulk()).expect("map key"), v));
    }
    out
}

fn field(m: &mut [(String, Reply)], name: &str) -> Reply {
    let i = m
        .iter()
        .position(|(k, _)| k == name)
        .unwrap_or_else(|| panic!("no {name} in XINFO reply"));
    std::mem::replace(&mut m[i].1, Reply::Bulk(None))
}

fn array(r: Reply) -> Vec<Reply> {
    match r {
        Reply::Array(Some(a)) => a,
        other => panic!("expected array, got {other:?}"),
    }
}

/// Everything `XINFO STREAM key FULL COUNT 0` reports, as the neutral model (groups,
/// consumers and PELs in Redis's order). Also checks XLEN and XRANGE agree with it.
pub fn fetch_stream(c: &mut Client, key: &[u8]) -> RdbStream {
    let mut m = flat_map(c.cmd(&[b"XINFO", b"STREAM", key, b"FULL", b"COUNT", b"0"]));
    let mut s = RdbStream {
        last_id: parse_id(&field(&mut m, "last-generated-id").bulk()),
        first_id: parse_id(&field(&mut m, "recorded-first-entry-id").bulk()),
        max_deleted_id: parse_id(&field(&mut m, "max-deleted-entry-id").bulk()),
        entries_added: field(&mut m, "entries-added").int() as u64,
        ..Default::default()
    };
    for e in array(field(&mut m, "entries")) {
        let mut e = array(e).into_iter();
        let id = parse_id(&e.next().expect("id").bulk());
        let flat = e.next().expect("fields").bulks();
        let fields = flat
            .chunks(2)
            .map(|p| (p[0].clone(), p[1].clone()))
            .collect();
        s.entries.push((id, fields));
    }
    assert_eq!(field(&mut m, "length").int() as usize, s.entries.len());
    for g in array(field(&mut m, "groups")) {
        let mut g = flat_map(g);
        let pel = array(field(&mut g, "pending"))
            .into_iter()
            .map(|p| {
                let mut p = array(p).into_iter();
                let id = parse_id(&p.next().expect("id").bulk());
                let _owner = p.next();
                let time = p.next().expect("delivery time").int() as u64;
                (id, time, p.next().expect("delivery count").int() as u64)
            })
            .collect();
        let consumers = array(field(&mut g, "consumers"))
            .into_iter()
            .map(|c| {
                let mut c = flat_map(c);
                RdbStreamConsumer {
                    name: field(&mut c, "name").bulk(),
                    seen_time: field(&mut c, "seen-time").int() as u64,
                    pel: array(field(&mut c, "pending"))
                        .into_iter()
                        .map(|p| parse_id(&array(p).remove(0).bulk()))
                        .collect(),
                }
            })
            .collect();
        s.groups.push(RdbStreamGroup {
            name: field(&mut g, "name").bulk(),
            last_id: parse_id(&field(&mut g, "last-delivered-id").bulk()),
            entries_read: match field(&mut g, "entries-read") {
                Reply::Int(n) => n,
                Reply::Bulk(None) => -1,
                other => panic!("entries-read {other:?}"),
            },
            pel,
            consumers,
        });
    }
    // XRANGE, XLEN and XPENDING tell the same story as XINFO.
    let range: Vec<_> = array(c.cmd(&[b"XRANGE", key, b"-", b"+"]))
        .into_iter()
        .map(|e| {
            let mut e = array(e).into_iter();
            let id = parse_id(&e.next().expect("id").bulk());
            let flat = e.next().expect("fields").bulks();
            let fields: Vec<_> = flat
                .chunks(2)
                .map(|p| (p[0].clone(), p[1].clone()))
                .collect();
            (id, fields)
        })
        .collect();
    assert_eq!(range, s.entries, "XRANGE vs XINFO");
    assert_eq!(c.cmd(&[b"XLEN", key]).int() as usize, s.entries.len());
    for g in &s.groups {
        let pending = array(c.cmd(&[b"XPENDING", key, &g.name, b"-", b"+", b"1000000"]));
        assert_eq!(pending.len(), g.pel.len(), "XPENDING size");
        for (p, (id, _, count)) in pending.into_iter().zip(&g.pel) {
            let mut p = array(p).into_iter();
            assert_eq!(parse_id(&p.next().expect("id").bulk()), *id);
            let owner = p.next().expect("owner").bulk();
            let _idle = p.next();
            assert_eq!(p.next().expect("count").int() as u64, *count);
            let c = g.consumers.iter().find(|c| c.name == owner).expect("owner");
            assert!(c.pel.contains(id), "XPENDING owner of {id}");
        }
    }
    s
}
