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

/// Writes `SET key:<i> <value>` for i in 0..keys (exactly `keys` distinct keys).
fn writer(mut s: TcpStream, keys: u64, value: Vec<u8>) -> io::Result<()> {
    let mut buf = Vec::with_capacity(BATCH as usize * (value.len() + 64));
    let mut i = 0;
    while i < keys {
        buf.clear();
        let end = (i + BATCH).min(keys);
        for k in i..end {
            let key = format!("key:{k:012}");
            write!(
                buf,
                "*3\r\n$3\r\nSET\r\n${}\r\n{key}\r\n${}\r\n",
                key.len(),
                value.len()
            )?;
            buf.extend_from_slice(&value);
            buf.extend_from_slice(b"\r\n");
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
        if line.first() != Some(&b'+') {
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
        let keys = o.keys;
        thread::spawn(move || writer(s, keys, value))
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
        "keys={} load_secs={secs:.2} keys_per_sec={:.0}",
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
