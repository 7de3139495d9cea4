//! Helpers shared by the ACL user tests (`server_acl_users*.rs`): scripts
//! over several named connections, run on the node under test and on a real
//! redis-server, compared reply for reply with the exact RESP types.
//!
//! ```text
//!   script ─▶ node under test ─▶ "conn: [args] -> reply" ─▶ normalize ─┐
//!          └▶ redis-server    ─▶ "conn: [args] -> reply" ─▶ normalize ─┴─▶ equal, line by line
//! ```
//!
//! A script drives named connections (`admin`, `u`, ...): each call, each
//! extra reply read, each "is this connection closed now" check becomes one
//! transcript line. A connection that closes or stops answering is marked
//! broken and every later call on it says so, so one transcript lists every
//! difference at once instead of stopping at the first.
//!
//! Normalized, and only these (everything else is byte for byte):
//! - the order of the single-command tokens (`+get -hset`) in command rules,
//!   in ACL GETUSER's `commands` fields and ACL LIST lines: Redis emits them
//!   in the order of its command dict, whose hash seed is random per
//!   process, so two redis-servers already disagree. Each run of such tokens
//!   is sorted; category tokens (`+@hash`) and everything else keep their
//!   places. Tokens naming Tandem's own command (`+tandem|role`, in @read
//!   there) are dropped: Redis has no such command to describe.
//! - ACL LOG: `age-seconds` (its type marker is kept), and in `client-info`
//!   the fields that name the connection or time it (`id addr laddr fd age
//!   idle`) and the buffer sizes (`qbuf qbuf-free argv-mem multi-mem rbs rbp
//!   obl oll omem tot-mem`), which are allocator facts; name, flags, db, sub,
//!   psub, ssub, multi, events, cmd, user, redir and resp are compared.
//! - HELLO's `id` (client ids count the harness's readiness probes).
//! - CLIENT LIST / CLIENT INFO: only each line's `name=` and `user=` fields,
//!   and only named connections (a script names each one it lists: the
//!   harness's own readiness probes may still be closing).
//!
//! `TANDEM_ACL_AGAINST_REDIS=1` puts a second redis-server in Tandem's place:
//! every ACL user test must then pass, which proves the scripts and the
//! normalization, not Tandem. `TANDEM_ACL_PRINT=1` prints Redis's transcript.
#![allow(dead_code)] // each test binary uses a different part

use std::collections::BTreeMap;
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use crate::common::{encode, Proc};
use crate::support::{parse, Resp};

/// How long a reply may take before the connection counts as silent.
const REPLY_WAIT: Duration = Duration::from_secs(10);

/// True when a second redis-server stands in for Tandem (self-check mode).
pub fn against_redis() -> bool {
    std::env::var("TANDEM_ACL_AGAINST_REDIS").is_ok_and(|v| v == "1")
}

/// The node under test: Tandem, or a redis-server in self-check mode.
pub fn under_test(args: &[&str]) -> Proc {
    if against_redis() {
        Proc::redis(args)
    } else {
        Proc::tandem(args)
    }
}

/// What a read on a connection gave.
enum Got {
    Reply(Resp),
    Closed,
    Silent,
}

/// One raw connection that reads whole replies and notices a close.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
    /// Why this connection can no longer be trusted to stay in step.
    broken: Option<&'static str>,
}

impl Conn {
    fn open(p: &Proc) -> Conn {
        let stream = TcpStream::connect(p.addr()).expect("connect");
        stream.set_nodelay(true).expect("nodelay");
        Conn {
            stream,
            buf: Vec::new(),
            broken: None,
        }
    }

    /// False when the write failed (the peer is gone).
    fn send(&mut self, args: &[&str]) -> bool {
        self.stream.write_all(&encode(args)).is_ok()
    }

    fn read(&mut self) -> Got {
        self.stream
            .set_read_timeout(Some(REPLY_WAIT))
            .expect("timeout");
        loop {
            match parse(&self.buf) {
                Ok(Some((r, used))) => {
                    self.buf.drain(..used);
                    return Got::Reply(r);
                }
                Ok(None) => {}
                Err(e) => panic!(
                    "unreadable reply: {e}: {:?}",
                    String::from_utf8_lossy(&self.buf)
                ),
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) => return Got::Closed,
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Got::Silent
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Got::Closed
                }
                Err(e) => panic!("reading a reply: {e}"),
            }
        }
    }
}

/// A script's view of one server: named connections and the transcript.
pub struct Run<'a> {
    proc: &'a Proc,
    resp3: bool,
    conns: BTreeMap<String, Conn>,
    lines: Vec<String>,
}

impl<'a> Run<'a> {
    fn new(proc: &'a Proc, resp3: bool) -> Run<'a> {
        Run {
            proc,
            resp3,
            conns: BTreeMap::new(),
            lines: Vec::new(),
        }
    }

    pub fn resp3(&self) -> bool {
        self.resp3
    }

    /// The connection named `name`, opened (and switched to RESP3 with a
    /// recorded `HELLO 3` in RESP3 runs) on first use.
    fn conn(&mut self, name: &str) -> &mut Conn {
        if !self.conns.contains_key(name) {
            self.conns.insert(name.to_string(), Conn::open(self.proc));
            if self.resp3 {
                self.call(name, &["HELLO", "3"]);
            }
        }
        self.conns.get_mut(name).expect("just opened")
    }

    fn record(&mut self, name: &str, what: &str, shown: String) {
        self.lines.push(format!("{name}: {what} -> {shown}"));
    }

    /// Reads one reply on `name` and records it under `what`.
    fn read_as(&mut self, name: &str, what: &str, args: &[&str]) -> Option<Resp> {
        let c = self.conn(name);
        if let Some(why) = c.broken {
            self.record(name, what, format!("<{why} earlier>"));
            return None;
        }
        match c.read() {
            Got::Reply(mut r) => {
                normalize(args, &mut r);
                self.record(name, what, r.show());
                Some(r)
            }
            Got::Closed => {
                c.broken = Some("closed");
                self.record(name, what, "<closed>".into());
                None
            }
            Got::Silent => {
                c.broken = Some("silent");
                self.record(name, what, format!("<no reply within {REPLY_WAIT:?}>"));
                None
            }
        }
    }

    /// Sends `args` on `name` and records the (normalized) reply.
    pub fn call(&mut self, name: &str, args: &[&str]) -> Option<Resp> {
        let c = self.conn(name);
        if c.broken.is_none() && !c.send(args) {
            c.broken = Some("closed");
            self.record(name, &format!("{args:?}"), "<closed>".into());
            return None;
        }
        self.read_as(name, &format!("{args:?}"), args)
    }

    /// [`Run::call`] for each request in turn on `name`.
    pub fn calls(&mut self, name: &str, cases: &[&[&str]]) {
        for c in cases {
            self.call(name, c);
        }
    }

    /// Sends `args` and records `n` replies (SUBSCRIBE to several channels
    /// answers once per channel).
    pub fn call_n(&mut self, name: &str, args: &[&str], n: usize) {
        self.call(name, args);
        for i in 1..n {
            self.read_as(name, &format!("{args:?} (reply {})", i + 1), args);
        }
    }

    /// Records the next reply or push on `name` (a published message).
    pub fn next(&mut self, name: &str) {
        self.read_as(name, "(next)", &[]);
    }

    /// Sends a PING on `name` and records whether the server closed the
    /// connection without answering it (`<closed>`), as Redis does for a
    /// client killed before the PING: no fixed wait, the close is awaited.
    pub fn closed(&mut self, name: &str) {
        let c = self.conn(name);
        if c.broken.is_none() {
            let _ = c.send(&["PING"]);
        }
        self.read_as(name, "PING (closed?)", &["PING"]);
    }

    /// Switches `name` to RESP3 with `HELLO 3` in RESP3 runs (after an AUTH
    /// on a server that refused the first HELLO); nothing in RESP2 runs.
    pub fn proto(&mut self, name: &str) {
        if self.resp3 {
            self.call(name, &["HELLO", "3"]);
        }
    }
}

/// A case's label in the transcript.
fn label_of(line: &str) -> &str {
    line.split_once(" -> ").map_or(line, |x| x.0)
}

/// Every run of single-command tokens (`+get`, `-config|set`, not `+@read`)
/// sorted, a selector's parentheses kept at the run's ends; tokens naming
/// Tandem's own TANDEM command (not in Redis) dropped.
pub fn sort_command_tokens(rules: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut run: Vec<&str> = Vec::new();
    let mut run_open = false;
    let flush = |run: &mut Vec<&str>, open: &mut bool, close: bool, out: &mut Vec<String>| {
        if run.is_empty() {
            return;
        }
        run.sort_unstable();
        let n = run.len();
        for (i, t) in run.drain(..).enumerate() {
            let mut s = String::new();
            if i == 0 && *open {
                s.push('(');
            }
            s.push_str(t);
            if i + 1 == n && close {
                s.push(')');
            }
            out.push(s);
        }
        *open = false;
    };
    for tok in rules.split(' ') {
        let open = tok.starts_with('(');
        let core = tok.strip_prefix('(').unwrap_or(tok);
        let close = core.ends_with(')');
        let core = core.strip_suffix(')').unwrap_or(core);
        let single = (core.starts_with('+') || core.starts_with('-'))
            && !core.starts_with("+@")
            && !core.starts_with("-@");
        let name = core.get(1..).unwrap_or("");
        if single && (name == "tandem" || name.starts_with("tandem|")) {
            // A selector's description opens with keys or channels, so only
            // its closing parenthesis can ride on a command token.
            if close {
                if run.is_empty() {
                    if let Some(last) = out.last_mut() {
                        last.push(')');
                    }
                } else {
                    flush(&mut run, &mut run_open, true, &mut out);
                }
            }
            continue;
        }
        if !single || open {
            flush(&mut run, &mut run_open, false, &mut out);
        }
        if !single {
            out.push(tok.to_string());
            continue;
        }
        run_open |= open;
        run.push(core);
        if close {
            flush(&mut run, &mut run_open, true, &mut out);
        }
    }
    flush(&mut run, &mut run_open, false, &mut out);
    out.join(" ")
}

/// CLIENT LIST / ACL LOG client-info fields compared (see the module doc).
const CLIENT_INFO_KEPT: &[&str] = &[
    "name", "flags", "db", "sub", "psub", "ssub", "multi", "events", "cmd", "user", "redir", "resp",
];

fn client_fields(line: &str, kept: &[&str]) -> String {
    line.split(' ')
        .filter(|kv| kv.split_once('=').is_some_and(|(k, _)| kept.contains(&k)))
        .collect::<Vec<_>>()
        .join(" ")
}

/// A bulk or verbatim string's text rewritten by `f` (a verbatim string's
/// `txt:` prefix kept).
fn map_text(r: &mut Resp, f: impl Fn(&str) -> String) {
    if let Resp::Bulk(_, Some(b)) = r {
        let text = String::from_utf8_lossy(b).into_owned();
        let (prefix, body) = match text.strip_prefix("txt:") {
            Some(rest) => ("txt:", rest),
            None => ("", text.as_str()),
        };
        *b = format!("{prefix}{}", f(body)).into_bytes();
    }
}

/// A value replaced by `<what>`, its type marker kept.
fn placeholder(r: &mut Resp, what: &str) {
    *r = match r {
        Resp::Bulk(m, _) => Resp::Bulk(*m, Some(format!("<{what}>").into_bytes())),
        Resp::Line(m, _) => Resp::Line(*m, format!("<{what}>")),
        Resp::Agg(m, _) => Resp::Line(*m, format!("<{what}>")),
    };
}

/// Normalizes the key/value pairs of maps and flat arrays, recursively.
fn normalize_fields(r: &mut Resp, hello: bool) {
    let Resp::Agg(_, Some(items)) = r else {
        return;
    };
    let mut i = 0;
    while i < items.len() {
        if i + 1 < items.len() {
            let key = items[i].text();
            let value = &mut items[i + 1];
            let done = match key.as_deref() {
                Some("commands") if matches!(value, Resp::Bulk(..)) => {
                    map_text(value, sort_command_tokens);
                    true
                }
                Some("age-seconds") => {
                    placeholder(value, "age");
                    true
                }
                Some("client-info") => {
                    map_text(value, |l| client_fields(l, CLIENT_INFO_KEPT));
                    true
                }
                Some("id") if hello => {
                    placeholder(value, "id");
                    true
                }
                _ => false,
            };
            if done {
                i += 2;
                continue;
            }
        }
        normalize_fields(&mut items[i], hello);
        i += 1;
    }
}

/// The normalization of the reply to `args` (see the module doc).
pub fn normalize(args: &[&str], r: &mut Resp) {
    let up: Vec<String> = args.iter().take(2).map(|a| a.to_uppercase()).collect();
    let up: Vec<&str> = up.iter().map(String::as_str).collect();
    match up.as_slice() {
        ["ACL", "LIST"] => {
            if let Resp::Agg(_, Some(lines)) = r {
                for l in lines.iter_mut() {
                    map_text(l, sort_command_tokens);
                }
            }
        }
        ["CLIENT", "LIST"] | ["CLIENT", "INFO"] => map_text(r, |text| {
            text.split('\n')
                .map(|l| client_fields(l, &["name", "user"]))
                .filter(|l| !l.starts_with("name= "))
                .collect::<Vec<_>>()
                .join("\n")
        }),
        [first, ..] => normalize_fields(r, *first == "HELLO"),
        [] => normalize_fields(r, false),
    }
}

/// Two long replies cut around their first difference (short ones whole).
fn excerpts(a: &str, b: &str) -> (String, String) {
    if a.len() < 600 && b.len() < 600 {
        return (a.to_string(), b.to_string());
    }
    let at = a
        .char_indices()
        .zip(b.chars())
        .find(|((_, x), y)| x != y)
        .map_or(a.len().min(b.len()), |((i, _), _)| i);
    let floor = |s: &str, mut i: usize| {
        i = i.min(s.len());
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let cut = |s: &str| {
        let from = floor(s, at.saturating_sub(200));
        let to = floor(s, at + 200);
        format!("…(from char {from}) {}…", &s[from..to])
    };
    (cut(a), cut(b))
}

/// Runs `script` on the node under test and on a fresh redis-server (both
/// started with `args`): Redis's transcript, and a report of every line that
/// differs (`None` when none does).
fn compare(resp3: bool, args: &[&str], script: fn(&mut Run)) -> (Vec<String>, Option<String>) {
    let transcript = |p: Proc| {
        let mut run = Run::new(&p, resp3);
        script(&mut run);
        run.lines
    };
    let ours = transcript(under_test(args));
    let theirs = transcript(Proc::redis(args));
    if std::env::var("TANDEM_ACL_PRINT").is_ok_and(|v| v == "1") {
        eprintln!("{}", theirs.join("\n"));
    }
    let proto = if resp3 { "RESP3" } else { "RESP2" };
    let mut diffs: Vec<String> = ours
        .iter()
        .zip(&theirs)
        .enumerate()
        .filter(|(_, (a, b))| a != b)
        .map(|(i, (a, b))| {
            let reply = |l: &str| l.split_once(" -> ").map_or(String::new(), |x| x.1.into());
            let (ra, rb) = excerpts(&reply(a), &reply(b));
            format!("#{i} {}\n    tandem: {ra}\n    redis:  {rb}", label_of(b))
        })
        .collect();
    if ours.len() != theirs.len() {
        diffs.push(format!(
            "{} transcript lines here, {} from redis-server",
            ours.len(),
            theirs.len()
        ));
    }
    let report = (!diffs.is_empty()).then(|| {
        format!(
            "{proto}: {} of {} lines differ from redis-server:\n{}",
            diffs.len(),
            theirs.len(),
            diffs.join("\n")
        )
    });
    (theirs, report)
}

/// [`compare`] in RESP2 and RESP3 (both compared before failing); returns
/// Redis's two transcripts for the test's own checks of what they show.
pub fn same_as_redis(args: &[&str], script: fn(&mut Run)) -> [Vec<String>; 2] {
    let (t2, r2) = compare(false, args, script);
    let (t3, r3) = compare(true, args, script);
    let reports: Vec<String> = [r2, r3].into_iter().flatten().collect();
    assert!(reports.is_empty(), "{}", reports.join("\n"));
    [t2, t3]
}

/// The transcript line of the first step whose label starts with `prefix`
/// (`"u: [\"AUTH\""`).
pub fn line<'a>(t: &'a [String], prefix: &str) -> &'a str {
    t.iter()
        .find(|l| l.starts_with(prefix))
        .unwrap_or_else(|| panic!("no step {prefix} in:\n{}", t.join("\n")))
}

/// Asserts that the step labelled `prefix` shows `want` in Redis's reply:
/// a check that the script exercises what its test says it does.
pub fn shows(t: &[String], prefix: &str, want: &str) {
    let l = line(t, prefix);
    assert!(l.contains(want), "{l} should show {want}");
}
