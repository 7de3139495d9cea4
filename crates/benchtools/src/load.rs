//! Bulk loading of distinct keys, optionally with a PING prober measuring pauses.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::{Duration, Instant};

use crate::Opts;

/// Commands per write: large enough to amortize syscalls, small enough that the
/// reader thread sees replies early.
const BATCH: u64 = 1000;

fn connect(o: &Opts) -> io::Result<TcpStream> {
    let s = TcpStream::connect((o.host.as_str(), o.port))?;
    s.set_nodelay(true)?;
    Ok(s)
}

/// What the load grows: the keyspace, or one collection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// `SET key:<i> <value>`: `n` distinct keys.
    String,
    /// `SADD big:set m:<i>`: one set of `n` members.
    Set,
    /// `ZADD big:zset <i> m:<i>`: one sorted set of `n` members.
    Zset,
    /// `HSET big:hash f:<i> <value>`: one hash of `n` fields.
    Hash,
    /// `RPUSH big:list <value>`: one list of `n` elements.
    List,
}

impl Kind {
    pub fn parse(s: &str) -> Option<Kind> {
        Some(match s {
            "string" => Kind::String,
            "set" => Kind::Set,
            "zset" => Kind::Zset,
            "hash" => Kind::Hash,
            "list" => Kind::List,
            _ => return None,
        })
    }

    fn name(self) -> &'static str {
        match self {
            Kind::String => "string",
            Kind::Set => "set",
            Kind::Zset => "zset",
            Kind::Hash => "hash",
            Kind::List => "list",
        }
    }

    /// Appends the request that loads item `i`.
    fn request(self, buf: &mut Vec<u8>, i: u64, value: &[u8]) -> io::Result<()> {
        fn bulk(buf: &mut Vec<u8>, b: &[u8]) -> io::Result<()> {
            write!(buf, "${}\r\n", b.len())?;
            buf.extend_from_slice(b);
            buf.extend_from_slice(b"\r\n");
            Ok(())
        }
        let name = format!("{i:012}");
        let member = format!("m:{name}");
        let field = format!("f:{name}");
        let key = format!("key:{name}");
        let args: &[&[u8]] = match self {
            Kind::String => &[b"SET", key.as_bytes(), value],
            Kind::Set => &[b"SADD", b"big:set", member.as_bytes()],
            Kind::Zset => &[b"ZADD", b"big:zset", name.as_bytes(), member.as_bytes()],
            Kind::Hash => &[b"HSET", b"big:hash", field.as_bytes(), value],
            Kind::List => &[b"RPUSH", b"big:list", value],
        };
        write!(buf, "*{}\r\n", args.len())?;
        for a in args {
            bulk(buf, a)?;
        }
        Ok(())
    }
}

/// Writes the request for every i in 0..keys.
fn writer(mut s: TcpStream, keys: u64, value: Vec<u8>, kind: Kind) -> io::Result<()> {
    let mut buf = Vec::with_capacity(BATCH as usize * (value.len() + 64));
    let mut i = 0;
    while i < keys {
        buf.clear();
        let end = (i + BATCH).min(keys);
        for k in i..end {
            kind.request(&mut buf, k, &value)?;
        }
        s.write_all(&buf)?;
        i = end;
    }
    Ok(())
}

/// Reads `n` one-line replies; any error reply aborts.
fn reader(s: TcpStream, n: u64) -> io::Result<()> {
    let mut r = BufReader::with_capacity(1 << 16, s);
    let mut line = Vec::new();
    for _ in 0..n {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Err(io::Error::other("server closed the connection"));
        }
        if !matches!(line.first(), Some(b'+' | b':')) {
            return Err(io::Error::other(format!(
                "unexpected reply {:?}",
                String::from_utf8_lossy(&line)
            )));
        }
    }
    Ok(())
}

/// PINGs until `done`, returning (count, max, p99.9) round trips.
fn prober(mut s: TcpStream, done: Arc<AtomicBool>) -> io::Result<(u64, Duration, Duration)> {
    let mut rtts = Vec::new();
    let mut pong = [0u8; 7];
    while !done.load(Ordering::Relaxed) {
        let t = Instant::now();
        s.write_all(b"*1\r\n$4\r\nPING\r\n")?;
        s.read_exact(&mut pong)?;
        if &pong != b"+PONG\r\n" {
            return Err(io::Error::other(format!("PING answered {pong:?}")));
        }
        rtts.push(t.elapsed());
    }
    rtts.sort();
    let max = rtts.last().copied().unwrap_or_default();
    let p999 = rtts
        .get(rtts.len().saturating_sub(1) * 999 / 1000)
        .copied()
        .unwrap_or_default();
    Ok((rtts.len() as u64, max, p999))
}

fn join<T>(h: thread::JoinHandle<io::Result<T>>, what: &str) -> io::Result<T> {
    h.join()
        .map_err(|_| io::Error::other(format!("{what} thread panicked")))?
}

/// Loads `o.keys` keys; with `probe`, also measures PING round trips meanwhile.
pub fn load(o: &Opts, probe: bool) -> io::Result<String> {
    let value = vec![b'v'; o.value_size];
    let conn = connect(o)?;
    let done = Arc::new(AtomicBool::new(false));
    let probe_handle = if probe {
        let s = connect(o)?;
        s.set_read_timeout(Some(Duration::from_secs(60)))?;
        let d = done.clone();
        Some(thread::spawn(move || prober(s, d)))
    } else {
        None
    };
    let start = Instant::now();
    let w = {
        let s = conn.try_clone()?;
        let (keys, kind) = (o.keys, o.kind);
        thread::spawn(move || writer(s, keys, value, kind))
    };
    let r = {
        let keys = o.keys;
        thread::spawn(move || reader(conn, keys))
    };
    let wres = join(w, "writer");
    let rres = join(r, "reader");
    let secs = start.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    wres?;
    rres?;
    let mut line = format!(
        "type={} keys={} load_secs={secs:.2} keys_per_sec={:.0}",
        o.kind.name(),
        o.keys,
        o.keys as f64 / secs
    );
    if let Some(h) = probe_handle {
        let (n, max, p999) = join(h, "prober")?;
        line.push_str(&format!(
            " pings={n} max_pause_ms={:.2} p999_ms={:.3}",
            max.as_secs_f64() * 1e3,
            p999.as_secs_f64() * 1e3
        ));
    }
    Ok(line)
}
