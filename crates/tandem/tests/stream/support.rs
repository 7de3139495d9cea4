//! Helpers shared by the stream tests (`server_stream*.rs`): a RESP reader that
//! keeps every type marker (`*-1` is not `$-1`, `%` is not `*`), the
//! normalization of the few time-dependent stream fields, and a reply-for-reply
//! comparison with a real redis-server that lists every difference at once.
//!
//! ```text
//!   cases ─▶ node under test ─▶ Resp ─▶ normalize ─▶ line ─┐
//!         └▶ redis-server    ─▶ Resp ─▶ normalize ─▶ line ─┴─▶ equal, case by case
//! ```
//!
//! Only times are normalized, field by field: a consumer's `seen-time` and a
//! PEL entry's delivery time in XINFO STREAM FULL (absolute: kept exact unless
//! within a day of now, which only the servers' clocks decide), `idle` of
//! XINFO CONSUMERS and of XPENDING's extended rows (kept in 10 s buckets, so
//! an explicit `XCLAIM ... IDLE 100000` still shows). Everything else, IDs
//! included, is compared byte for byte: the cases use explicit IDs, or `*`
//! on a stream whose last ID is in the future (the next ID is then
//! deterministic), or `ms-*`.
//!
//! `TANDEM_STREAM_AGAINST_REDIS=1` puts a second redis-server in Tandem's
//! place everywhere: every stream test must then pass, which proves the cases
//! and the normalization, not Tandem. `TANDEM_STREAM_PRINT=1` prints the
//! reference transcript.
#![allow(dead_code)] // each test binary uses a different part

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::common::{encode, wait_for, Proc};

/// True when a second redis-server stands in for Tandem (self-check mode).
pub fn against_redis() -> bool {
    std::env::var("TANDEM_STREAM_AGAINST_REDIS").is_ok_and(|v| v == "1")
}

/// The node under test: Tandem, or a redis-server in self-check mode.
pub fn under_test(args: &[&str]) -> Proc {
    if against_redis() {
        Proc::redis(args)
    } else {
        Proc::tandem(args)
    }
}

/// One reply with its exact RESP types.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Resp {
    /// `+`, `-`, `:`, `_`, `#`, `,`, `(`: the text after the marker.
    Line(u8, String),
    /// `$`, `=`, `!`: the payload; `None` for `$-1`.
    Bulk(u8, Option<Vec<u8>>),
    /// `*`, `%`, `~`, `>`, `|`: the elements (a map's keys and values flat);
    /// `None` for `*-1`.
    Agg(u8, Option<Vec<Resp>>),
}

impl Resp {
    /// The text of a simple or bulk string.
    pub fn text(&self) -> Option<String> {
        match self {
            Resp::Line(b'+', s) => Some(s.clone()),
            Resp::Bulk(_, Some(b)) => Some(String::from_utf8_lossy(b).into_owned()),
            _ => None,
        }
    }

    /// The payload of a bulk string.
    pub fn bulk(&self) -> Option<Vec<u8>> {
        match self {
            Resp::Bulk(_, Some(b)) => Some(b.clone()),
            _ => None,
        }
    }

    pub fn int(&self) -> Option<i64> {
        match self {
            Resp::Line(b':', s) => s.parse().ok(),
            _ => None,
        }
    }

    pub fn items(&self) -> &[Resp] {
        match self {
            Resp::Agg(_, Some(v)) => v,
            _ => &[],
        }
    }

    pub fn is_error(&self) -> bool {
        matches!(self, Resp::Line(b'-', _))
    }

    /// The value after `key` in a map or a flat key/value array.
    pub fn field(&self, key: &str) -> Option<&Resp> {
        let items = self.items();
        (0..items.len().saturating_sub(1))
            .step_by(2)
            .find(|&i| items[i].text().as_deref() == Some(key))
            .map(|i| &items[i + 1])
    }

    /// The reply as RESP bytes again.
    pub fn render(&self, out: &mut Vec<u8>) {
        match self {
            Resp::Line(m, s) => {
                out.push(*m);
                out.extend_from_slice(s.as_bytes());
                out.extend_from_slice(b"\r\n");
            }
            Resp::Bulk(m, None) => {
                out.push(*m);
                out.extend_from_slice(b"-1\r\n");
            }
            Resp::Bulk(m, Some(b)) => {
                out.push(*m);
                out.extend_from_slice(format!("{}\r\n", b.len()).as_bytes());
                out.extend_from_slice(b);
                out.extend_from_slice(b"\r\n");
            }
            Resp::Agg(m, None) => {
                out.push(*m);
                out.extend_from_slice(b"-1\r\n");
            }
            Resp::Agg(m, Some(items)) => {
                let n = if matches!(m, b'%' | b'|') {
                    items.len() / 2
                } else {
                    items.len()
                };
                out.push(*m);
                out.extend_from_slice(format!("{n}\r\n").as_bytes());
                for i in items {
                    i.render(out);
                }
            }
        }
    }

    /// The reply as escaped RESP text (as `common::transcript` shows it).
    pub fn show(&self) -> String {
        let mut out = Vec::new();
        self.render(&mut out);
        format!("{:?}", String::from_utf8_lossy(&out))
    }
}

/// Parses one reply from the front of `buf`: `Ok(None)` while incomplete.
pub fn parse(buf: &[u8]) -> Result<Option<(Resp, usize)>, String> {
    let Some(end) = buf.windows(2).position(|w| w == b"\r\n") else {
        return Ok(None);
    };
    let marker = buf[0];
    let line = String::from_utf8_lossy(&buf[1..end]).into_owned();
    let mut pos = end + 2;
    let count = || -> Result<i64, String> {
        line.parse()
            .map_err(|_| format!("bad length {line:?} after {:?}", marker as char))
    };
    match marker {
        b'$' | b'=' | b'!' => {
            let n = count()?;
            if n < 0 {
                return Ok(Some((Resp::Bulk(marker, None), pos)));
            }
            let n = n as usize;
            if buf.len() < pos + n + 2 {
                return Ok(None);
            }
            let body = buf[pos..pos + n].to_vec();
            Ok(Some((Resp::Bulk(marker, Some(body)), pos + n + 2)))
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let n = count()?;
            if n < 0 {
                return Ok(Some((Resp::Agg(marker, None), pos)));
            }
            let n = if matches!(marker, b'%' | b'|') {
                n * 2
            } else {
                n
            };
            let mut items = Vec::new();
            for _ in 0..n {
                match parse(&buf[pos..])? {
                    Some((r, used)) => {
                        items.push(r);
                        pos += used;
                    }
                    None => return Ok(None),
                }
            }
            Ok(Some((Resp::Agg(marker, Some(items)), pos)))
        }
        b'+' | b'-' | b':' | b'_' | b'#' | b',' | b'(' => Ok(Some((Resp::Line(marker, line), pos))),
        other => Err(format!("unknown RESP marker {:?}", other as char)),
    }
}

/// A raw connection that reads whole replies.
pub struct Session {
    pub stream: TcpStream,
    buf: Vec<u8>,
}

impl Session {
    pub fn open(p: &Proc, resp3: bool) -> Session {
        let stream = p.raw();
        stream.set_nodelay(true).expect("nodelay");
        let mut s = Session {
            stream,
            buf: Vec::new(),
        };
        if resp3 {
            let hello = s.call(&["HELLO", "3"]);
            assert!(matches!(hello, Resp::Agg(b'%', _)), "HELLO 3: {hello:?}");
        }
        s
    }

    pub fn send(&mut self, args: &[&str]) {
        self.stream.write_all(&encode(args)).expect("write");
    }

    /// The next reply, waiting up to the read timeout (10 s).
    pub fn read(&mut self) -> Resp {
        self.read_within(Duration::from_secs(10))
            .expect("a reply within 10 s")
    }

    /// The next reply, or `None` when none comes within `limit`.
    pub fn read_within(&mut self, limit: Duration) -> Option<Resp> {
        self.stream.set_read_timeout(Some(limit)).expect("timeout");
        loop {
            match parse(&self.buf) {
                Ok(Some((r, used))) => {
                    self.buf.drain(..used);
                    return Some(r);
                }
                Ok(None) => {}
                Err(e) => panic!(
                    "unreadable reply: {e}: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
            let mut chunk = [0u8; 65536];
            let n = match self.stream.read(&mut chunk) {
                Ok(n) => n,
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return None;
                }
                Err(e) => panic!("reading a reply: {e}"),
            };
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Sends binary arguments and reads the reply.
    pub fn call_bytes(&mut self, args: &[&[u8]]) -> Resp {
        let mut req = format!("*{}\r\n", args.len()).into_bytes();
        for a in args {
            req.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            req.extend_from_slice(a);
            req.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&req).expect("write");
        self.read()
    }

    pub fn call(&mut self, args: &[&str]) -> Resp {
        self.send(args);
        self.read()
    }

    /// True when no reply bytes are waiting (the server sent nothing yet).
    pub fn quiet(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        self.stream.set_nonblocking(true).expect("nonblocking");
        let mut b = [0u8; 1];
        let r = self.stream.peek(&mut b);
        self.stream.set_nonblocking(false).expect("blocking");
        match r {
            Ok(_) => false, // bytes waiting, or the connection closed
            Err(e) => e.kind() == std::io::ErrorKind::WouldBlock,
        }
    }

    /// An integer reply (panics on anything else).
    pub fn int(&mut self, args: &[&str]) -> i64 {
        let r = self.call(args);
        r.int().unwrap_or_else(|| panic!("{args:?} answered {r:?}"))
    }

    /// A command that must not fail.
    pub fn ok(&mut self, args: &[&str]) -> Resp {
        let r = self.call(args);
        assert!(!r.is_error(), "{args:?} failed: {r:?}");
        r
    }
}

pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_millis() as i64
}

const DAY_MS: i64 = 86_400_000;

/// An absolute time in ms: `<recent>` within a day of now, else exact (an
/// explicit `XCLAIM ... TIME` far in the past stays checked).
fn abs_time(r: &mut Resp, now: i64) {
    if let Some(t) = r.int() {
        if (t - now).abs() < DAY_MS {
            *r = Resp::Line(b':', "<recent>".into());
        }
    }
}

/// An idle time in ms: 10 s buckets below a day, `<idle large>` above (the
/// idle time of a delivery time set far in the past grows with the clock).
fn idle_time(r: &mut Resp) {
    if let Some(t) = r.int() {
        let shown = if t < DAY_MS {
            format!("<idle {}0s>", t / 10_000)
        } else {
            "<idle large>".into()
        };
        *r = Resp::Line(b':', shown);
    }
}

/// XPENDING's extended rows: `[id, consumer, idle, deliveries]`.
fn is_pending_row(r: &Resp) -> bool {
    matches!(r.items(), [Resp::Bulk(..), Resp::Bulk(..), Resp::Line(b':', a), Resp::Line(b':', b)]
        if a.parse::<i64>().is_ok() && b.parse::<i64>().is_ok())
}

/// Normalizes the time fields of a reply in place (see the module doc).
pub fn normalize(r: &mut Resp, now: i64) {
    let Resp::Agg(_, Some(items)) = r else {
        return;
    };
    if !items.is_empty() && items.iter().all(is_pending_row) {
        for row in items.iter_mut() {
            if let Resp::Agg(_, Some(cells)) = row {
                idle_time(&mut cells[2]);
            }
        }
        return;
    }
    let mut i = 0;
    while i < items.len() {
        let key = items[i].text();
        if i + 1 < items.len() {
            let value = &mut items[i + 1];
            match key.as_deref() {
                // A name's value is data, never a field name (a consumer
                // may be called "idle").
                Some("name") => {
                    i += 2;
                    continue;
                }
                Some("seen-time") => {
                    abs_time(value, now);
                    i += 2;
                    continue;
                }
                Some("idle") => {
                    idle_time(value);
                    i += 2;
                    continue;
                }
                // XINFO STREAM FULL: a group's PEL rows are [id, consumer,
                // delivery time, count], a consumer's [id, delivery time, count].
                Some("pending") if matches!(value, Resp::Agg(_, Some(_))) => {
                    if let Resp::Agg(_, Some(rows)) = value {
                        for row in rows.iter_mut() {
                            if let Resp::Agg(_, Some(cells)) = row {
                                match cells.len() {
                                    4 => abs_time(&mut cells[2], now),
                                    3 => abs_time(&mut cells[1], now),
                                    _ => {}
                                }
                            }
                        }
                    }
                    i += 2;
                    continue;
                }
                _ => {}
            }
        }
        normalize(&mut items[i], now);
        i += 1;
    }
}

/// A case's label: its arguments, long ones cut.
pub fn label(args: &[String]) -> String {
    let shown: Vec<String> = args
        .iter()
        .map(|a| {
            if a.len() > 48 {
                format!("{}…({} bytes)", &a[..40], a.len())
            } else {
                a.clone()
            }
        })
        .collect();
    format!("{shown:?}")
}

/// Each case's normalized reply over one connection: `"<label> -> <reply>"`.
pub fn transcript(p: &Proc, resp3: bool, cases: &[Vec<String>]) -> Vec<String> {
    let mut s = Session::open(p, resp3);
    cases
        .iter()
        .map(|c| {
            let args: Vec<&str> = c.iter().map(String::as_str).collect();
            let mut r = s.call(&args);
            normalize(&mut r, now_ms());
            format!("{} -> {}", label(c), r.show())
        })
        .collect()
}

/// `&[&[&str]]` cases as owned argument lists.
pub fn owned(cases: &[&[&str]]) -> Vec<Vec<String>> {
    cases
        .iter()
        .map(|c| c.iter().map(|a| a.to_string()).collect())
        .collect()
}

/// Two long replies cut around their first difference.
fn excerpts(a: &str, b: &str) -> (String, String) {
    if a.len() < 400 && b.len() < 400 {
        return (a.to_string(), b.to_string());
    }
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    let floor = |s: &str, mut i: usize| {
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let cut = |s: &str| {
        let from = floor(s, at.saturating_sub(160));
        let to = floor(s, (at + 160).min(s.len()));
        format!("…(from char {from}) {}…", &s[from..to])
    };
    (cut(a), cut(b))
}

/// Runs `cases` on the node under test and on a fresh redis-server (both
/// started with `args`): Redis's transcript, and a report of every case
/// whose normalized reply differs (`None` when none does).
fn compare(cases: &[Vec<String>], resp3: bool, args: &[&str]) -> (Vec<String>, Option<String>) {
    let ours = transcript(&under_test(args), resp3, cases);
    let theirs = transcript(&Proc::redis(args), resp3, cases);
    if std::env::var("TANDEM_STREAM_PRINT").is_ok_and(|v| v == "1") {
        eprintln!("{}", theirs.join("\n"));
    }
    let proto = if resp3 { "RESP3" } else { "RESP2" };
    let diffs: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| {
            let reply = |l: &str| {
                l.split_once(" -> ")
                    .map_or(String::new(), |x| x.1.to_string())
            };
            let (a, b) = excerpts(&reply(a), &reply(b));
            format!(
                "#{i} {}\n    tandem: {a}\n    redis:  {b}",
                label(&cases[i])
            )
        })
        .collect();
    let report = (!diffs.is_empty()).then(|| {
        format!(
            "{proto}: {} of {} replies differ from redis-server:\n{}",
            diffs.len(),
            cases.len(),
            diffs.join("\n")
        )
    });
    (theirs, report)
}

/// [`compare`], failing on any difference; returns Redis's transcript.
pub fn same_as_redis(cases: &[Vec<String>], resp3: bool, args: &[&str]) -> Vec<String> {
    let (theirs, report) = compare(cases, resp3, args);
    if let Some(r) = report {
        panic!("{r}");
    }
    theirs
}

/// [`same_as_redis`] in RESP2 and RESP3 (both compared before failing);
/// returns both reference transcripts.
pub fn same_as_redis_both(cases: &[Vec<String>], args: &[&str]) -> [Vec<String>; 2] {
    let (t2, r2) = compare(cases, false, args);
    let (t3, r3) = compare(cases, true, args);
    let reports: Vec<String> = [r2, r3].into_iter().flatten().collect();
    assert!(reports.is_empty(), "{}", reports.join("\n"));
    [t2, t3]
}

/// The transcript line of the first case whose label starts with `prefix`.
pub fn line<'a>(t: &'a [String], prefix: &str) -> &'a str {
    t.iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no case {prefix}"))
}

/// `n` commands `XADD key <first+i>-1 <field> <value>`, explicit increasing IDs.
pub fn xadds(key: &str, first: u64, n: u64, field: &str, value: &str) -> Vec<Vec<String>> {
    (first..first + n)
        .map(|i| {
            vec![
                "XADD".into(),
                key.into(),
                format!("{i}-1"),
                field.into(),
                value.into(),
            ]
        })
        .collect()
}

/// `blocked_clients` of INFO clients.
pub fn blocked_clients(c: &mut redis::Connection) -> i64 {
    crate::common::info_int(c, "clients", "blocked_clients")
}

/// Waits until `n` clients are blocked on `p`.
pub fn await_blocked(p: &Proc, n: i64) {
    let mut c = p.client();
    wait_for(
        Duration::from_secs(10),
        &format!("{n} blocked clients on {:?}", p.kind),
        || blocked_clients(&mut c) == n,
    );
}
