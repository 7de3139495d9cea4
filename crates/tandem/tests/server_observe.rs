//! Clients that observe what others do, against tandem and a real
//! redis-server, compared byte for byte:
//!
//! * client-side caching (CLIENT TRACKING, CACHING, GETREDIR, TRACKINGINFO):
//!   invalidation pushes in RESP3, `__redis__:invalidate` messages through
//!   REDIRECT in RESP2, BCAST prefixes, OPTIN/OPTOUT, NOLOOP, flushes, expiry,
//!   transactions, the errors, CLIENT LIST and INFO fields, the table limit;
//! * MONITOR: the lines (time stamps and addresses aside), what is hidden or
//!   redacted, a monitor's own commands; and `redis-cli monitor`.

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{wait_for, Proc};
use tandem_resp::Limits;

/// A raw connection that reads whole RESP frames.
struct Conn {
    s: TcpStream,
    buf: Vec<u8>,
    marks: u32,
}

impl Conn {
    fn new(p: &Proc) -> Conn {
        let s = p.raw();
        s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
        Conn {
            s,
            buf: Vec::new(),
            marks: 0,
        }
    }

    fn send(&mut self, cmds: &str) {
        self.s.write_all(cmds.as_bytes()).unwrap();
    }

    /// The next whole frame.
    fn frame(&mut self) -> Vec<u8> {
        loop {
            if let Some(n) = tandem_resp::scan::value_len(&self.buf, &Limits::default()).unwrap() {
                return self.buf.drain(..n).collect();
            }
            let mut chunk = [0u8; 4096];
            let n = self.s.read(&mut chunk).expect("a frame within 10 s");
            assert!(n > 0, "connection closed");
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// Everything the server sent before the reply to a PING sent now (the
    /// server writes what it queued for this connection before answering it),
    /// as text with CRLF shown as '|'.
    fn sync(&mut self) -> String {
        self.marks += 1;
        let mark = format!("mark{}", self.marks);
        self.send(&format!("PING {mark}\r\n"));
        let mut got = Vec::new();
        loop {
            let f = self.frame();
            if f.windows(mark.len()).any(|w| w == mark.as_bytes()) {
                return String::from_utf8_lossy(&got).replace("\r\n", "|");
            }
            got.extend_from_slice(&f);
        }
    }

    /// Sends `cmds` and returns their `n` replies (and any push among them).
    fn call(&mut self, cmds: &str, n: usize) -> String {
        self.send(cmds);
        let mut got = Vec::new();
        let mut replies = 0;
        while replies < n {
            let f = self.frame();
            if f[0] != b'>' {
                replies += 1;
            }
            got.extend_from_slice(&f);
        }
        String::from_utf8_lossy(&got).replace("\r\n", "|")
    }

    fn id(&mut self) -> String {
        let r = self.call("CLIENT ID\r\n", 1);
        r.trim_start_matches(':').trim_end_matches('|').to_string()
    }
}

/// Runs `session` against tandem and redis-server; every step must match.
fn compare(session: impl Fn(&Proc) -> Vec<String>) -> Vec<String> {
    let tandem = session(&Proc::tandem(&[]));
    let redis = session(&Proc::redis(&[]));
    assert_eq!(tandem.len(), redis.len());
    for (i, (t, r)) in tandem.iter().zip(&redis).enumerate() {
        assert_eq!(t, r, "step {i}: tandem vs redis-server");
    }
    tandem
}

#[test]
fn default_mode_invalidates_what_was_read() {
    let out = compare(|p| {
        let mut steps = Vec::new();
        let mut a = Conn::new(p);
        let mut b = Conn::new(p);
        a.call("HELLO 3\r\n", 1);
        // Own writes: the invalidation follows the reply; in a transaction it
        // follows EXEC's reply.
        steps.push(a.call(
            "CLIENT TRACKING on\r\nGET a\r\nSET a 1\r\nGET a\r\nMULTI\r\nSET a 2\r\nGET a\r\nEXEC\r\n",
            8,
        ));
        steps.push(a.sync());
        steps.push(a.call(
            "CLIENT TRACKINGINFO\r\nCLIENT GETREDIR\r\nMGET a b c\r\nSTRLEN d\r\nHGET h f\r\nEXISTS e\r\n",
            6,
        ));
        // Another client's writes, in any database (keys are tracked by name),
        // each key once until it is read again.
        steps.push(b.call(
            "MSET a 1 b 2\r\nSET a 3\r\nSELECT 5\r\nSET c 1\r\nHSET h f v\r\nAPPEND d x\r\nSELECT 0\r\nDEL nothere e\r\n",
            8,
        ));
        steps.push(a.sync());
        // Every kind of write counts, and reads of other kinds remember keys.
        steps.push(a.call(
            "GET n\r\nLRANGE l 0 -1\r\nSCARD s\r\nZSCORE z m\r\nTTL t\r\nTYPE u\r\nOBJECT ENCODING o\r\nPFCOUNT p\r\n",
            8,
        ));
        steps.push(b.call(
            "INCR n\r\nRPUSH l x\r\nSADD s x\r\nZADD z 1 m\r\nSET t 1\r\nEXPIRE t 100\r\nSET u 1\r\nRENAME u o\r\nPFADD p x\r\n",
            9,
        ));
        steps.push(a.sync());
        // FLUSHDB (even of another, empty database) and FLUSHALL: a null for
        // every tracking client, and the table starts over.
        a.call("GET k\r\n", 1);
        steps.push(b.call("SELECT 3\r\nFLUSHDB\r\nSELECT 0\r\nSET k 1\r\n", 4));
        steps.push(a.sync());
        steps.push(a.call("GET k\r\nFLUSHALL\r\nGET k\r\n", 3));
        steps.push(a.sync());
        // RESP2 without REDIRECT gets nothing; back in RESP3 it does again.
        a.call("HELLO 2\r\n", 1);
        steps.push(b.call("SET k 2\r\n", 1));
        steps.push(a.sync());
        a.call("HELLO 3\r\nGET k\r\n", 2);
        b.call("SET k 3\r\n", 1);
        steps.push(a.sync());
        steps.push(a.call(
            "CLIENT TRACKING off\r\nCLIENT TRACKINGINFO\r\nCLIENT GETREDIR\r\nGET k\r\n",
            4,
        ));
        b.call("SET k 4\r\n", 1);
        steps.push(a.sync());
        steps
    });
    assert!(out[4].contains("invalidate|*1|$1|a|"), "{}", out[4]);
    assert!(out[9].contains("invalidate|_|"), "{}", out[9]);
    assert_eq!(out[11], "", "RESP2 without a redirect hears nothing");
    assert!(out[14].contains("invalidate|*1|$1|k|"), "{}", out[14]);
}

#[test]
fn expired_keys_are_invalidated() {
    compare(|p| {
        let mut steps = Vec::new();
        let mut a = Conn::new(p);
        let mut b = Conn::new(p);
        let mut c = Conn::new(p);
        a.call("HELLO 3\r\nCLIENT TRACKING on\r\n", 2);
        c.call("HELLO 3\r\nCLIENT TRACKING on bcast\r\n", 2);
        b.call("SET e 1\r\n", 1);
        a.call("GET e\r\n", 1);
        b.call("PEXPIRE e 20\r\n", 1);
        steps.push(a.sync());
        // Expired by the server's cycle or by a lookup: the same message.
        let start = Instant::now();
        while b.call("EXISTS e\r\n", 1) != ":0|" {
            assert!(start.elapsed() < Duration::from_secs(10), "e never expired");
        }
        steps.push(a.sync());
        steps.push(c.sync());
        steps
    });
}

#[test]
fn bcast_prefixes_and_noloop() {
    compare(|p| {
        let mut steps = Vec::new();
        let mut a = Conn::new(p);
        let mut b = Conn::new(p);
        let mut c = Conn::new(p);
        a.call("HELLO 3\r\n", 1);
        steps.push(a.call("CLIENT TRACKING on bcast prefix a prefix x noloop\r\n", 1));
        c.call("HELLO 3\r\nCLIENT TRACKING on bcast\r\n", 2);
        // One pipelined batch: the keys under each prefix in one message,
        // in key order, each once.
        b.send("SET a2 1\r\nSET a1 1\r\nSET b 3\r\nSET x 1\r\nSET a1 2\r\n");
        steps.push(b.call("", 5));
        steps.push(a.sync());
        steps.push(c.sync());
        // NOLOOP: A hears nothing of its own writes; C does.
        steps.push(a.call("SET a3 1\r\n", 1));
        steps.push(a.sync());
        steps.push(c.sync());
        steps.push(a.call("CLIENT TRACKINGINFO\r\n", 1));
        steps.push(b.call("INFO stats\r\n", 1).lines_with("tracking_total"));
        steps.push(b.call("INFO clients\r\n", 1).lines_with("tracking_clients"));
        steps
    });
}

#[test]
fn optin_optout_and_caching() {
    compare(|p| {
        let mut steps = Vec::new();
        let mut h = Conn::new(p);
        let mut b = Conn::new(p);
        h.call("HELLO 3\r\n", 1);
        steps.push(h.call(
            "CLIENT TRACKING on optin\r\nGET p\r\nCLIENT CACHING yes\r\nGET q\r\nGET r\r\nCLIENT CACHING yes\r\nCLIENT TRACKINGINFO\r\nMULTI\r\nGET s\r\nGET t\r\nEXEC\r\nCLIENT TRACKINGINFO\r\n",
            12,
        ));
        b.call("MSET p 1 q 1 r 1 s 1 t 1\r\n", 1);
        steps.push(h.sync());
        steps.push(h.call(
            "CLIENT TRACKING off\r\nCLIENT TRACKING on optout\r\nCLIENT CACHING no\r\nGET u\r\nGET v\r\nCLIENT CACHING no\r\nCLIENT TRACKINGINFO\r\nCLIENT TRACKINGINFO\r\nGET w\r\nCLIENT TRACKINGINFO\r\n",
            10,
        ));
        b.call("MSET u 1 v 1 w 1\r\n", 1);
        steps.push(h.sync());
        steps
    });
}

#[test]
fn redirect_to_a_resp2_subscriber_and_broken_redirect() {
    compare(|p| {
        let mut steps = Vec::new();
        let mut b = Conn::new(p);
        let mut d = Conn::new(p);
        let did = d.id();
        d.call("SUBSCRIBE foo\r\n", 1);
        let mut e = Conn::new(p);
        steps.push(e.call(
            &format!("CLIENT TRACKING on redirect {did}\r\nGET k\r\nGET k2\r\n"),
            3,
        ));
        steps.push(e.call("CLIENT GETREDIR\r\n", 1).replace(&did, "<d>"));
        b.call("MSET k 1 k2 2\r\n", 1);
        steps.push(d.sync());
        // A RESP2 redirect target not in pub/sub mode gets nothing; once it is
        // gone, a RESP3 tracker is told, and flagged.
        let mut f = Conn::new(p);
        let fid = f.id();
        let mut g = Conn::new(p);
        g.call(
            &format!("HELLO 3\r\nCLIENT TRACKING on redirect {fid}\r\nGET m\r\n"),
            3,
        );
        b.call("SET m 1\r\n", 1);
        steps.push(f.sync());
        steps.push(g.sync());
        drop(f);
        g.call("GET m\r\n", 1);
        // The redirect target's disconnect is seen by the server asynchronously.
        let start = Instant::now();
        while b.call("CLIENT LIST\r\n", 1).contains(&format!("id={fid} ")) {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "client {fid} still listed"
            );
        }
        b.call("SET m 2\r\n", 1);
        let fid_int = format!(":{fid}|");
        steps.push(g.sync().replace(&fid_int, ":<f>|"));
        steps.push(
            g.call("CLIENT TRACKINGINFO\r\n", 1)
                .replace(&fid_int, ":<f>|"),
        );
        let list = g.call("CLIENT INFO\r\n", 1);
        steps.push(field(&list, "flags") + " " + &field(&list, "redir").replace(&fid, "<f>"));
        steps
    });
}

#[test]
fn tracking_option_errors() {
    compare(|p| {
        let mut a = Conn::new(p);
        vec![a.call(
            "CLIENT TRACKING on\r\nCLIENT TRACKING on bcast\r\nCLIENT TRACKING off\r\n\
             CLIENT TRACKING on bcast prefix a prefix ab\r\nCLIENT TRACKING on bcast prefix b prefix c\r\n\
             CLIENT TRACKING on bcast prefix bc\r\nCLIENT TRACKING on bcast prefix d\r\nCLIENT TRACKINGINFO\r\n\
             CLIENT TRACKING on optin\r\nCLIENT TRACKING off\r\nCLIENT TRACKING on optin optout\r\n\
             CLIENT TRACKING on bcast optin\r\nCLIENT TRACKING on prefix x\r\nCLIENT TRACKING on redirect 99999\r\n\
             CLIENT TRACKING on redirect x\r\nCLIENT TRACKING maybe\r\nCLIENT TRACKING on foo\r\nCLIENT TRACKING on redirect\r\n\
             CLIENT TRACKING on optin\r\nCLIENT TRACKING on optout\r\nCLIENT CACHING no\r\nCLIENT CACHING maybe\r\n\
             CLIENT TRACKING off\r\nCLIENT CACHING yes\r\nCLIENT CACHING\r\nCLIENT TRACKING\r\nCLIENT GETREDIR x\r\n",
            27,
        )]
    });
}

#[test]
fn the_table_limit_invalidates_keys() {
    // Which keys go is random in Redis; how many go, and what is left, match.
    let counts = compare(|p| {
        let mut a = Conn::new(p);
        let mut b = Conn::new(p);
        b.call("CONFIG SET tracking-table-max-keys 2\r\n", 1);
        let r = a.call(
            "HELLO 3\r\nCLIENT TRACKING on\r\nGET k1\r\nGET k2\r\nGET k3\r\nGET k4\r\nGET k5\r\nPING\r\n",
            8,
        );
        let info = b
            .call("INFO stats\r\n", 1)
            .lines_with("tracking_total_keys");
        vec![r.matches("invalidate").count().to_string(), info]
    });
    assert_eq!(counts[0], "3");
}

trait Lines {
    fn lines_with(&self, what: &str) -> String;
}

impl Lines for String {
    /// The `|`-separated lines of an INFO reply that contain `what`.
    fn lines_with(&self, what: &str) -> String {
        self.split('|')
            .filter(|l| l.contains(what))
            .collect::<Vec<_>>()
            .join(",")
    }
}

/// A `name=value` field of a CLIENT INFO line.
fn field(line: &str, name: &str) -> String {
    line.split(' ')
        .find_map(|kv| kv.strip_prefix(&format!("{name}=")))
        .unwrap_or("")
        .to_string()
}

/// A MONITOR line with its time stamp and the client's port replaced.
fn mask(s: &str) -> String {
    let mut out = String::new();
    for part in s.split('|') {
        let mut p = part.to_string();
        if let Some(rest) = p.strip_prefix('+') {
            if let Some((ts, tail)) = rest.split_once(' ') {
                let ok = ts.split_once('.').is_some_and(|(a, b)| {
                    !a.is_empty()
                        && b.len() == 6
                        && (a.to_owned() + b).bytes().all(|c| c.is_ascii_digit())
                });
                if ok && tail.starts_with('[') {
                    p = format!("+TS {tail}");
                }
            }
        }
        if let Some(i) = p.find("127.0.0.1:") {
            let end = p[i + 10..].find(']').map_or(p.len(), |e| i + 10 + e);
            p.replace_range(i..end, "ADDR");
        }
        out.push_str(&p);
        out.push('|');
    }
    out
}

#[test]
fn monitor_shows_what_ran_as_redis_does() {
    let out = compare(|p| {
        let mut steps = Vec::new();
        let mut m = Conn::new(p);
        let mut b = Conn::new(p);
        // A second MONITOR is ignored without a reply.
        steps.push(m.call("MONITOR\r\nMONITOR\r\nPING\r\n", 2));
        steps.push(mask(&m.sync()));
        let mut bin = Vec::new();
        bin.extend_from_slice(
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$14\r\na b\x01\n\"q\\\x00\xff\t\x07\x08\r\r\n",
        );
        b.s.write_all(&bin).unwrap();
        steps.push(b.call("", 1));
        // Shown after running, in the client's database then; refused
        // commands and admin commands are not; passwords are redacted.
        steps.push(b.call(
            "SELECT 3\r\nGET x\r\nMULTI\r\nSET a 1\r\nINCR a\r\nEXEC\r\nAUTH foo\r\nAUTH default foo\r\n\
             HELLO 2 AUTH default x\r\nHELLO 2 SETNAME n AUTH u p\r\nCONFIG GET port\r\nCLIENT KILL ID 99999\r\n\
             GET\r\nFOO\r\nINCR k\r\nCLIENT ID\r\nOBJECT ENCODING a\r\nSET k v EX 0\r\nMULTI\r\nGET\r\nEXEC\r\nSELECT 0\r\n",
            22,
        ).replace(|c: char| c.is_ascii_digit(), "N"));
        steps.push(mask(&m.sync()));
        // A monitor may not touch the keyspace; RESET ends monitoring.
        // (The first line is the monitor's own PING of the last sync.)
        steps.push(mask(&m.call("GET x\r\nRESET\r\nGET y\r\n", 4)));
        b.call("SET z 1\r\n", 1);
        steps.push(mask(&m.sync()));
        steps
    });
    assert!(
        out[4].contains(r#""AUTH" "(redacted)" "(redacted)""#),
        "{}",
        out[4]
    );
    assert!(!out[4].contains("CONFIG"), "{}", out[4]);
}

/// `redis-cli monitor` prints each command another client runs.
#[test]
fn redis_cli_monitor_prints_commands() {
    let p = Proc::tandem(&[]);
    let port = p.addr().rsplit(':').next().unwrap_or_default().to_string();
    let mut cli = std::process::Command::new("redis-cli")
        .args(["-p", &port, "monitor"])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("redis-cli (installed by the test command)");
    let mut lines = BufReader::new(cli.stdout.take().expect("stdout")).lines();
    assert_eq!(lines.next().and_then(|l| l.ok()).as_deref(), Some("OK"));
    let mut c = p.client();
    let _: () = redis::cmd("SET")
        .arg("greeting")
        .arg("hello world")
        .query(&mut c)
        .expect("SET");
    let line = lines.next().and_then(|l| l.ok()).unwrap_or_default();
    let _ = cli.kill();
    let _ = cli.wait();
    assert!(
        line.ends_with(r#"] "SET" "greeting" "hello world""#) && line.contains(" [0 127.0.0.1:"),
        "{line}"
    );
    wait_for(Duration::from_secs(10), "the monitor gone", || {
        !p.cli_str(&["CLIENT", "LIST"]).contains("flags=O")
    });
}

/// A replica's tracking clients hear of the master's writes as they are
/// applied, in default and BCAST mode.
#[test]
fn tracking_on_a_replica_follows_the_masters_writes() {
    let m = Proc::tandem(&[]);
    let r = Proc::tandem(&[]);
    let port = m.addr().rsplit(':').next().unwrap_or_default().to_string();
    assert_eq!(r.cli_str(&["REPLICAOF", "127.0.0.1", &port]), "OK");
    wait_for(Duration::from_secs(10), "the replica's link up", || {
        r.cli_str(&["INFO", "replication"])
            .contains("master_link_status:up")
    });
    let mut t = Conn::new(&r);
    t.call("HELLO 3\r\nCLIENT TRACKING on\r\nGET k\r\n", 3);
    let mut bc = Conn::new(&r);
    bc.call("HELLO 3\r\nCLIENT TRACKING on bcast prefix k\r\n", 2);
    m.cli_str(&["SET", "k", "1"]);
    let msg = String::from_utf8_lossy(&t.frame()).replace("\r\n", "|");
    assert_eq!(msg, ">2|$10|invalidate|*1|$1|k|");
    let msg = String::from_utf8_lossy(&bc.frame()).replace("\r\n", "|");
    assert_eq!(msg, ">2|$10|invalidate|*1|$1|k|");
}

/// SLOWLOG with every command logged: entries newest first, arguments cut
/// as Redis cuts them, passwords redacted, EXEC left out, the errors; ids,
/// times, durations and ports masked.
#[test]
fn slowlog_keeps_what_redis_keeps() {
    compare(|p| {
        let mut a = Conn::new(p);
        let mut steps = Vec::new();
        a.call(
            "CONFIG SET slowlog-log-slower-than 0\r\nSLOWLOG RESET\r\nCLIENT SETNAME alice\r\n",
            3,
        );
        let many: String = (1..=40).map(|i| format!(" {i}")).collect();
        let long = "a".repeat(300);
        a.call(&format!("RPUSH big{many}\r\nSET x {long}\r\n"), 2);
        steps.push(a.call(
            "SET k v\r\nAUTH x y\r\nMULTI\r\nGET k\r\nEXEC\r\nSLOWLOG GET 6\r\nSLOWLOG LEN\r\n",
            7,
        ));
        steps.push(a.call(
            "SLOWLOG GET -2\r\nSLOWLOG GET x\r\nSLOWLOG HELP\r\nSLOWLOG RESET\r\nSLOWLOG GET\r\nCONFIG SET slowlog-max-len 2\r\nPING\r\nPING\r\nSLOWLOG GET -1\r\nSLOWLOG GET 1 2\r\n",
            10,
        ));
        steps.into_iter().map(|s| mask(&mask_entries(&s))).collect()
    });
}

/// SLOWLOG GET entries with their id, time and duration replaced.
fn mask_entries(s: &str) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(i) = rest.find("*6|:") {
        out.push_str(&rest[..i]);
        out.push_str("*6|ID|T|D|");
        // Three integer fields ":n|" after the array header.
        let mut tail = &rest[i + 3..];
        for _ in 0..3 {
            tail = tail.split_once('|').map_or("", |(_, t)| t);
        }
        rest = tail;
    }
    out.push_str(rest);
    out
}

/// LATENCY with the monitor off (Redis's default) and the per-command
/// histograms: the same commands, calls and replies as redis-server; only
/// the bucket values (durations) are masked.
#[test]
fn latency_histograms_as_redis_reports_them() {
    let out = compare(|p| {
        let mut a = Conn::new(p);
        a.call("SET a 1\r\nSET b 2\r\nGET a\r\nCLIENT ID\r\n", 4);
        let hist = a.call("LATENCY HISTOGRAM set get nosuch client|id\r\n", 1);
        // "histogram_usec" then a map of (µs, cumulative count) pairs.
        let masked: String = hist
            .split("histogram_usec|")
            .enumerate()
            .map(|(i, part)| {
                if i == 0 {
                    return part.to_string();
                }
                let n: usize = part[1..]
                    .split('|')
                    .next()
                    .and_then(|x| x.parse().ok())
                    .unwrap_or(0);
                // RESP2: the map is a flat array of 2 x pairs elements.
                let rest: Vec<&str> = part.split('|').skip(1 + n).collect();
                format!("histogram_usec|H|{}", rest.join("|"))
            })
            .collect();
        let info = a.call("INFO latencystats\r\n", 1);
        // Redis lists them in its dict's (seeded, random) order.
        let mut fields: Vec<String> = info
            .split('|')
            .filter_map(|l| l.strip_prefix("latency_percentiles_usec_"))
            .filter(|l| l.starts_with("set:") || l.starts_with("get:"))
            .map(|l| l.split('=').next().unwrap_or("").to_string() + " ...")
            .collect();
        fields.sort();
        vec![
            masked,
            fields.join(","),
            a.call(
                "LATENCY LATEST\r\nLATENCY HISTORY command\r\nLATENCY RESET\r\nLATENCY RESET a b\r\nLATENCY GRAPH command\r\nLATENCY DOCTOR\r\nLATENCY HELP\r\nLATENCY FOO\r\n",
                8,
            ),
        ]
    });
    assert!(out[0].contains("$3|set|*4|$5|calls|:2|"), "{}", out[0]);
    assert!(out[1].contains("get:p50"), "{}", out[1]);
}

/// The latency monitor: a command slower than the threshold is an event
/// sample (LATEST, HISTORY), graphed and reported as Redis does.
#[test]
fn latency_monitor_records_slow_commands() {
    let p = Proc::tandem(&["--enable-debug-command", "local"]);
    let mut a = Conn::new(&p);
    a.call(
        "CONFIG SET latency-monitor-threshold 5\r\nDEBUG SLEEP 0.02\r\nPING\r\n",
        3,
    );
    let latest = a.call("LATENCY LATEST\r\n", 1);
    let parts: Vec<&str> = latest.split('|').collect();
    assert_eq!(&parts[..3], ["*1", "*4", "$7"], "{latest}");
    assert_eq!(parts[3], "command");
    let ms: u64 = parts[5].trim_start_matches(':').parse().expect("latency");
    assert!(ms >= 20, "{latest}");
    let history = a.call("LATENCY HISTORY command\r\n", 1);
    assert!(history.starts_with("*1|*2|:"), "{history}");
    let graph = a.call("LATENCY GRAPH command\r\n", 1);
    assert!(
        graph.contains(&format!(
            "command - high {ms} ms, low {ms} ms (all time high {ms} ms)"
        )),
        "{graph}"
    );
    let doctor = a.call("LATENCY DOCTOR\r\n", 1);
    assert!(
        doctor.contains("1. command: 1 latency spikes") && doctor.contains("Check your Slow Log"),
        "{doctor}"
    );
    assert_eq!(
        a.call("LATENCY RESET command\r\nLATENCY LATEST\r\n", 2),
        ":1|*0|"
    );
}

/// MEMORY: Redis's replies and errors; STATS with Redis's fields in Redis's
/// order; USAGE a byte count that grows with the value (Tandem's own
/// estimate: the layouts differ from Redis's).
#[test]
fn memory_introspection_as_redis_shapes_it() {
    let stat_names = |s: &str| -> String {
        // The map's keys: every other element, nested maps flattened.
        s.split('|')
            .filter(|f| f.starts_with(|c: char| c.is_ascii_lowercase()))
            .collect::<Vec<_>>()
            .join(",")
    };
    let out = compare(|p| {
        let mut a = Conn::new(p);
        a.call("SET k v\r\nRPUSH l a b c\r\n", 2);
        vec![
            a.call(
                "MEMORY USAGE nokey\r\nMEMORY USAGE k SAMPLES x\r\nMEMORY USAGE k FOO 1\r\nMEMORY USAGE k SAMPLES -1\r\nMEMORY PURGE\r\nMEMORY HELP\r\nMEMORY FOO\r\nMEMORY DOCTOR\r\nMEMORY STATS x\r\n",
                9,
            ),
            stat_names(&a.call("MEMORY STATS\r\n", 1)),
        ]
    });
    assert!(
        out[1].starts_with("peak.allocated,total.allocated"),
        "{}",
        out[1]
    );
    let p = Proc::tandem(&[]);
    let mut a = Conn::new(&p);
    let usage = |a: &mut Conn, cmd: &str| -> i64 {
        a.call(cmd, 1)
            .trim_start_matches(':')
            .trim_end_matches('|')
            .parse()
            .expect("an integer")
    };
    a.call("SET small v\r\n", 1);
    a.call(&format!("SET big {}\r\n", "x".repeat(10_000)), 1);
    let (small, big) = (
        usage(&mut a, "MEMORY USAGE small\r\n"),
        usage(&mut a, "MEMORY USAGE big\r\n"),
    );
    assert!(small > 0 && big > small + 9_000, "{small} {big}");
    let many: String = (0..1000).map(|i| format!(" member{i}")).collect();
    a.call(&format!("SADD s{many}\r\n"), 1);
    let all = usage(&mut a, "MEMORY USAGE s SAMPLES 0\r\n");
    let sampled = usage(&mut a, "MEMORY USAGE s\r\n");
    assert!(
        all > 7_000 && sampled > all / 2 && sampled < all * 2,
        "{all} {sampled}"
    );
    assert!(a.call("MEMORY MALLOC-STATS\r\n", 1).contains("jemalloc"));
}

/// INFO errorstats and total_error_replies count the error replies by code,
/// refused commands and failed ones, inside transactions too, as Redis does;
/// CONFIG RESETSTAT starts them over.
#[test]
fn error_replies_are_counted_as_redis_counts_them() {
    compare(|p| {
        let mut a = Conn::new(p);
        a.call(
            "GET\r\nFOO\r\nSET k v\r\nLPUSH k x\r\nINCR k\r\nAUTH a\r\nMULTI\r\nINCR k\r\nEXEC\r\n",
            9,
        );
        let stats = |a: &mut Conn| {
            a.call("INFO everything\r\n", 1)
                .split('|')
                .filter(|l| l.starts_with("errorstat_") || l.starts_with("total_error_replies"))
                .collect::<Vec<_>>()
                .join(",")
        };
        let before = stats(&mut a);
        a.call("CONFIG RESETSTAT\r\n", 1);
        vec![before, stats(&mut a)]
    });
}

/// INFO's replication byte counters: what the master sends of its stream is
/// what the replica applies.
#[test]
fn replication_byte_counters_agree() {
    let m = Proc::tandem(&[]);
    let r = Proc::tandem(&[]);
    let port = m.addr().rsplit(':').next().unwrap_or_default().to_string();
    assert_eq!(r.cli_str(&["REPLICAOF", "127.0.0.1", &port]), "OK");
    wait_for(Duration::from_secs(10), "the replica's link up", || {
        r.cli_str(&["INFO", "replication"])
            .contains("master_link_status:up")
    });
    for i in 0..100 {
        m.cli_str(&["SET", &format!("k{i}"), "v"]);
    }
    let field = |p: &Proc, name: &str| -> u64 {
        p.cli_str(&["INFO", "stats"])
            .lines()
            .find_map(|l| l.strip_prefix(&format!("{name}:")))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    wait_for(
        Duration::from_secs(10),
        "the replica to apply the writes",
        || {
            r.cli_str(&["GET", "k99"]) == "v"
                && field(&r, "total_net_repl_input_bytes")
                    == field(&m, "total_net_repl_output_bytes")
        },
    );
    assert!(field(&m, "total_net_repl_output_bytes") > 100 * 20);
}
