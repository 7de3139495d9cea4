//! Keyspace notifications (`notify-keyspace-events`), compared with a real
//! redis-server: the events a sequence of writes publishes, in order, on
//! `__keyspace@0__:<key>` and `__keyevent@0__:<event>`; expiry's `expired`
//! arriving without any access; nothing published while the setting is off.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::Proc;

fn encode(args: &[&str]) -> Vec<u8> {
    let mut out = format!("*{}\r\n", args.len()).into_bytes();
    for a in args {
        out.extend_from_slice(format!("${}\r\n{a}\r\n", a.len()).as_bytes());
    }
    out
}

/// A connection subscribed to every keyspace channel; yields (channel,
/// message) pairs.
struct Subscriber(BufReader<TcpStream>);

impl Subscriber {
    fn new(p: &Proc) -> Self {
        let mut s = TcpStream::connect(p.addr()).expect("connect");
        s.write_all(&encode(&["PSUBSCRIBE", "__key*__:*"]))
            .expect("write");
        let mut r = BufReader::new(s);
        // *3 $10 psubscribe $10 __key*__:* :1
        for _ in 0..6 {
            r.read_line(&mut String::new()).expect("subscribed");
        }
        Subscriber(r)
    }

    fn line(&mut self) -> Option<String> {
        let mut l = String::new();
        match self.0.read_line(&mut l) {
            Ok(n) if n > 0 => Some(l.trim_end().to_string()),
            _ => None,
        }
    }

    /// The next message within `wait`.
    fn next(&mut self, wait: Duration) -> Option<(String, String)> {
        self.0.get_ref().set_read_timeout(Some(wait)).ok()?;
        // *4 $8 pmessage $n pattern $n channel $n message
        let head = self.line()?;
        assert_eq!(head, "*4", "a pmessage");
        let mut parts = Vec::new();
        for _ in 0..8 {
            parts.push(self.line()?);
        }
        Some((parts[5].clone(), parts[7].clone()))
    }

    /// Every message before the marker `p` publishes now (its channel matches
    /// the subscription's pattern, and messages arrive in order).
    fn drain(&mut self, p: &Proc) -> Vec<(String, String)> {
        p.cli_str(&["PUBLISH", "__keymarker__:end", "end"]);
        let mut out = Vec::new();
        while let Some(m) = self.next(Duration::from_secs(10)) {
            if m.0 == "__keymarker__:end" {
                return out;
            }
            out.push(m);
        }
        panic!("the marker never came; got {out:?}");
    }
}

fn transcript(p: &Proc, flags: &str, cmds: &[&[&str]]) -> Vec<String> {
    assert_eq!(
        p.cli_str(&["CONFIG", "SET", "notify-keyspace-events", flags]),
        "OK"
    );
    let mut sub = Subscriber::new(p);
    let mut out = Vec::new();
    for c in cmds {
        p.cli_str(c);
        out.push(format!("{c:?} -> {:?}", sub.drain(p)));
    }
    out
}

/// The events of common writes, in Redis's order and names: the command's own
/// event, `del` when it emptied a key, `expire` from SET's EX, RENAME's
/// rename_from/rename_to, LMOVE's push before its pop, nothing for a write that
/// changed nothing or for a read.
#[test]
fn writes_publish_the_events_redis_publishes() {
    let cmds: &[&[&str]] = &[
        &["SET", "a", "1"],
        &["SET", "a", "2", "EX", "100"],
        &["INCR", "a"],
        &["APPEND", "a", "x"],
        &["DEL", "a", "nokey"],
        &["LPUSH", "l", "1", "2"],
        &["RPOP", "l"],
        &["LPOP", "l"],
        &["HSET", "h", "f", "v"],
        &["HDEL", "h", "f"],
        &["SADD", "s", "a"],
        &["SADD", "s", "a"],
        &["SREM", "s", "a"],
        &["ZADD", "z", "1", "m"],
        &["ZINCRBY", "z", "1", "m"],
        &["ZREM", "z", "m"],
        &["SET", "b", "1"],
        &["EXPIRE", "b", "100"],
        &["PERSIST", "b"],
        &["RENAME", "b", "c"],
        &["LPUSH", "src", "x"],
        &["LMOVE", "src", "dst", "LEFT", "RIGHT"],
        &["MSET", "m1", "1", "m2", "2"],
        &["XADD", "st", "1-1", "f", "v"],
        &["GETDEL", "m1"],
        &["GET", "nosuch"],
        &["MOVE", "c", "1"],
        &["MOVE", "c", "1"],
        &["COPY", "dst", "dst2", "DB", "2"],
        &["COPY", "dst", "dst3"],
        &["XGROUP", "CREATE", "st", "g", "$"],
        &["XGROUP", "CREATE", "st", "g", "$"],
        &["XGROUP", "CREATE", "st2", "g", "$", "MKSTREAM"],
        &["XGROUP", "CREATECONSUMER", "st", "g", "c1"],
        &["XGROUP", "CREATECONSUMER", "st", "g", "c1"],
        &["XGROUP", "SETID", "st", "g", "0"],
        &["XGROUP", "DELCONSUMER", "st", "g", "c1"],
        &["XGROUP", "DESTROY", "st", "g"],
        &["XGROUP", "DESTROY", "st", "g"],
        &["XADD", "st3", "1-1", "f", "v"],
        &["XADD", "st3", "2-1", "f", "v"],
        &["XGROUP", "CREATE", "st3", "g", "0"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c1",
            "COUNT",
            "1",
            "STREAMS",
            "st3",
            ">",
        ],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c1",
            "COUNT",
            "1",
            "STREAMS",
            "st3",
            ">",
        ],
        &["XREADGROUP", "GROUP", "g", "c9", "STREAMS", "st3", ">"],
        &["XCLAIM", "st3", "g", "c2", "0", "1-1"],
        &["XCLAIM", "st3", "g", "c2", "0", "1-1"],
        &["XCLAIM", "st3", "g", "c8", "0", "9-9"],
        &["XAUTOCLAIM", "st3", "g", "c3", "0", "0"],
    ];
    for flags in ["KEA", "Kg", "E$l", "KEAn", "Et"] {
        let t = transcript(&Proc::tandem(&[]), flags, cmds);
        let r = transcript(&Proc::redis(&[]), flags, cmds);
        assert_eq!(t, r, "with {flags}");
    }
}

/// Reads that miss publish `keymiss` under `m` (not part of `A`).
#[test]
fn read_misses_publish_keymiss() {
    let cmds: &[&[&str]] = &[
        &["GET", "nosuch"],
        &["SET", "a", "1"],
        &["GET", "a"],
        &["HGET", "nohash", "f"],
        &["MGET", "x", "a", "y"],
        &["LRANGE", "nolist", "0", "-1"],
        &["EXISTS", "nosuch", "a"],
        &["TYPE", "nosuch"],
        &["TTL", "nosuch"],
        &["PTTL", "nosuch"],
        &["OBJECT", "ENCODING", "nosuch"],
    ];
    for flags in ["KEm", "KEA"] {
        let t = transcript(&Proc::tandem(&[]), flags, cmds);
        let r = transcript(&Proc::redis(&[]), flags, cmds);
        assert_eq!(t, r, "with {flags}");
    }
}

/// An expiring key publishes `expired` without anyone reading it; with the
/// setting off nothing is published.
#[test]
fn expiry_publishes_expired_and_off_publishes_nothing() {
    let p = Proc::tandem(&[]);
    assert_eq!(
        p.cli_str(&["CONFIG", "SET", "notify-keyspace-events", "Ex"]),
        "OK"
    );
    let mut sub = Subscriber::new(&p);
    p.cli_str(&["SET", "k", "v", "PX", "50"]);
    let t0 = Instant::now();
    let got = sub.next(Duration::from_secs(5));
    assert_eq!(
        got,
        Some(("__keyevent@0__:expired".to_string(), "k".to_string()))
    );
    assert!(t0.elapsed() < Duration::from_secs(5));
    assert_eq!(
        p.cli_str(&["CONFIG", "SET", "notify-keyspace-events", ""]),
        "OK"
    );
    p.cli_str(&["SET", "k2", "v"]);
    p.cli_str(&["DEL", "k2"]);
    assert_eq!(sub.drain(&p), Vec::<(String, String)>::new());
}
