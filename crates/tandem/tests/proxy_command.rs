//! What `tandem proxy` answers itself (PING, ECHO, HELLO, AUTH, INFO, COMMAND,
//! CLIENT SETNAME/GETNAME, SELECT 0, QUIT) works with no node reachable. COMMAND
//! comes from the command table, in the same bytes as a real Redis 7.0
//! (`redis-server`) for the commands both know, in RESP2 and RESP3; the
//! commands the proxy refuses are not listed.

mod common;
#[path = "proxy/harness.rs"]
mod harness;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::{free_port, Proc};
use harness::ProxyProc;
use redis::Value;

/// A proxy whose master does not exist (nothing listens on its port). What it
/// forwards (the redis crate's CLIENT SETINFO on connect) is held, briefly.
fn proxy_without_backend() -> ProxyProc {
    let nowhere = format!("127.0.0.1:{}", free_port());
    ProxyProc::start(&["--master", &nowhere, "--hold-timeout", "200"])
}

fn strings(v: &Value) -> Vec<String> {
    match v {
        Value::Array(items) | Value::Set(items) => items
            .iter()
            .map(|i| match i {
                Value::BulkString(b) => String::from_utf8_lossy(b).to_string(),
                Value::SimpleString(s) => s.clone(),
                other => format!("{other:?}"),
            })
            .collect(),
        other => panic!("not a list: {other:?}"),
    }
}

/// One request in RESP, and the whole reply frame read back.
fn exchange(s: &mut TcpStream, words: &[&str]) -> Vec<u8> {
    let mut req = format!("*{}\r\n", words.len());
    for w in words {
        req.push_str(&format!("${}\r\n{w}\r\n", w.len()));
    }
    s.write_all(req.as_bytes()).expect("write");
    let mut out = Vec::new();
    let mut buf = [0u8; 65536];
    let deadline = Instant::now() + Duration::from_secs(10);
    while redis::parse_redis_value(&out).is_err() {
        assert!(Instant::now() < deadline, "no complete reply to {words:?}");
        let n = s.read(&mut buf).expect("read");
        assert!(n > 0, "connection closed during {words:?}");
        out.extend_from_slice(&buf[..n]);
    }
    out
}

#[test]
fn command_is_answered_by_the_proxy_with_no_backend() {
    let proxy = proxy_without_backend();
    let mut c = proxy.client();
    let n: i64 = redis::cmd("COMMAND")
        .arg("COUNT")
        .query(&mut c)
        .expect("COUNT");
    assert!(n > 150, "COMMAND COUNT {n}");
    let all: Value = redis::cmd("COMMAND").query(&mut c).expect("COMMAND");
    match &all {
        Value::Array(entries) => assert_eq!(entries.len() as i64, n),
        other => panic!("COMMAND: {other:?}"),
    }

    // What clients read key positions from.
    let info: Value = redis::cmd("COMMAND")
        .arg("INFO")
        .arg("get")
        .arg("nosuchcommand")
        .query(&mut c)
        .expect("INFO");
    let Value::Array(entries) = info else {
        panic!("COMMAND INFO: {info:?}")
    };
    assert_eq!(entries[1], Value::Nil);
    let Value::Array(get) = &entries[0] else {
        panic!("COMMAND INFO get: {:?}", entries[0])
    };
    assert_eq!(get[0], Value::BulkString(b"get".to_vec()));
    assert_eq!(get[1], Value::Int(2));
    assert_eq!(&get[3..6], &[Value::Int(1), Value::Int(1), Value::Int(1)]);
    assert!(strings(&get[2]).contains(&"readonly".to_string()));

    let keys: Vec<String> = redis::cmd("COMMAND")
        .arg(&[
            "GETKEYS",
            "ZUNIONSTORE",
            "dst",
            "2",
            "a",
            "b",
            "WEIGHTS",
            "1",
            "2",
        ])
        .query(&mut c)
        .expect("GETKEYS");
    assert_eq!(keys, ["dst", "a", "b"]);
    let e = redis::cmd("COMMAND")
        .arg(&["GETKEYS", "PING", "x"])
        .query::<Value>(&mut c)
        .unwrap_err();
    assert!(
        e.to_string().contains("The command has no key arguments"),
        "{e}"
    );

    // LIST with its filters; what the proxy refuses is not listed.
    let list: Vec<String> = redis::cmd("COMMAND")
        .arg("LIST")
        .query(&mut c)
        .expect("LIST");
    assert!(list.iter().any(|n| n == "config|get"), "{list:?}");
    assert!(list.iter().any(|n| n == "client|kill"), "{list:?}");
    for refused in [
        "monitor",
        "replicaof",
        "shutdown",
        "config|set",
        "client|pause",
    ] {
        assert!(!list.iter().any(|n| n == refused), "{refused} is listed");
    }
    let config: Vec<String> = redis::cmd("COMMAND")
        .arg(&["LIST", "FILTERBY", "PATTERN", "CONFIG*"])
        .query(&mut c)
        .expect("LIST PATTERN");
    assert_eq!(config, ["config", "config|get", "config|help"]);
    let hll: Vec<String> = redis::cmd("COMMAND")
        .arg(&["LIST", "FILTERBY", "ACLCAT", "hyperloglog"])
        .query(&mut c)
        .expect("LIST ACLCAT");
    assert!(hll.contains(&"pfadd".to_string()), "{hll:?}");

    let docs: Value = redis::cmd("COMMAND")
        .arg(&["DOCS", "set"])
        .query(&mut c)
        .expect("DOCS");
    assert!(format!("{docs:?}").contains("Set the string value of a key"));
    let e = redis::cmd("COMMAND")
        .arg("NOPE")
        .query::<Value>(&mut c)
        .unwrap_err();
    assert!(
        e.to_string()
            .contains("unknown subcommand 'NOPE'. Try COMMAND HELP."),
        "{e}"
    );

    // redis-cli reads the docs for its hints; it works through the proxy.
    assert_eq!(proxy.cli(&["COMMAND", "COUNT"]), n.to_string());
    assert!(proxy.cli(&["COMMAND", "HELP"]).contains("GETKEYSANDFLAGS"));
}

#[test]
fn command_replies_match_redis_byte_for_byte() {
    let redis = Proc::redis(&[]);
    let proxy = proxy_without_backend();
    for resp3 in [false, true] {
        let mut r = redis.raw();
        let mut p = proxy.raw();
        if resp3 {
            exchange(&mut r, &["HELLO", "3"]);
            exchange(&mut p, &["HELLO", "3"]);
        }
        for words in [
            &[
                "COMMAND",
                "INFO",
                "get",
                "set",
                "mget",
                "zunionstore",
                "bitfield",
            ][..],
            &["COMMAND", "INFO", "config|get", "nosuch"],
            &["COMMAND", "DOCS", "set", "client|getname", "zadd", "nosuch"],
            &["COMMAND", "DOCS", "object|freq"],
            &["COMMAND", "GETKEYSANDFLAGS", "set", "k", "v", "GET"],
            &["COMMAND", "GETKEYS", "lmove", "a", "b", "LEFT", "RIGHT"],
            &["COMMAND", "GETKEYS", "zunionstore", "d", "x", "a"],
            &["COMMAND", "HELP"],
            &["COMMAND", "LIST", "FILTERBY", "MODULE", "x"],
            &["COMMAND", "LIST", "FILTERBY", "nope", "x"],
        ] {
            let want = exchange(&mut r, words);
            let got = exchange(&mut p, words);
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&want),
                "{words:?} (resp3: {resp3})"
            );
        }
    }
}

#[test]
fn the_proxys_own_commands_work_with_no_backend() {
    let proxy = proxy_without_backend();
    let mut s = proxy.raw();
    assert_eq!(exchange(&mut s, &["PING"]), b"+PONG\r\n");
    assert_eq!(exchange(&mut s, &["ECHO", "hi"]), b"$2\r\nhi\r\n");
    assert_eq!(
        String::from_utf8_lossy(&exchange(&mut s, &["AUTH", "pw"])),
        "-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n"
    );
    assert_eq!(exchange(&mut s, &["SELECT", "0"]), b"+OK\r\n");
    assert_eq!(exchange(&mut s, &["CLIENT", "SETNAME", "me"]), b"+OK\r\n");
    assert_eq!(exchange(&mut s, &["CLIENT", "GETNAME"]), b"$2\r\nme\r\n");
    // A newer CLIENT subcommand (clients send SETINFO on connect) is refused
    // at once, as the 7.0 table's Redis does, not held for a master.
    assert_eq!(
        String::from_utf8_lossy(&exchange(&mut s, &["CLIENT", "SETINFO", "LIB-NAME", "x"])),
        "-ERR unknown subcommand 'SETINFO'. Try CLIENT HELP.\r\n"
    );
    let info = String::from_utf8_lossy(&exchange(&mut s, &["INFO"])).to_string();
    for field in ["tandem_role:proxy", "held_requests:0", "failovers_seen:0"] {
        assert!(info.contains(field), "INFO lacks {field}:\n{info}");
    }
    let hello = String::from_utf8_lossy(&exchange(&mut s, &["HELLO", "3"])).to_string();
    assert!(hello.starts_with("%7\r\n"), "{hello}");
    assert!(hello.contains("$6\r\nserver\r\n$5\r\nredis\r\n"), "{hello}");
    assert!(hello.contains("$5\r\nproto\r\n:3\r\n"), "{hello}");
    // A RESP3 session sends most commands to a dedicated node link; COMMAND is still the proxy's.
    assert_eq!(exchange(&mut s, &["COMMAND", "COUNT"]).first(), Some(&b':'));
    // QUIT: +OK, then the proxy closes the connection.
    assert_eq!(exchange(&mut s, &["QUIT"]), b"+OK\r\n");
    s.set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    let mut rest = [0u8; 16];
    assert_eq!(s.read(&mut rest).expect("read after QUIT"), 0, "not closed");
}
