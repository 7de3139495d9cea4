//! Keyspace command tests: handlers driven directly, raw RESP compared byte for
//! byte (expected replies taken from redis-server 7.0.15).

use bytes::Bytes;
use tandem_resp::reply::Proto;
use tandem_resp::ReplyBuf;

use super::COMMANDS;
use crate::exec::Exec;
use crate::keyspace::{EvictionPolicy, Store, StoreConfig};
use crate::types::string::Str;
use crate::value::Value;

/// A store, a selected db and a clock, with a `run` that returns the raw reply.
struct T {
    store: Store,
    db: usize,
    now: i64,
}

impl T {
    fn new() -> Self {
        T {
            store: Store::new(StoreConfig::default()),
            db: 0,
            now: 1_000_000,
        }
    }
    fn run(&mut self, args: &[&[u8]]) -> String {
        let name = String::from_utf8_lossy(args[0]).to_lowercase();
        // Keyspace commands, and any other family's a test sets up data with.
        let h = COMMANDS
            .iter()
            .copied()
            .chain(super::super::all())
            .find(|(n, _)| *n == name)
            .map(|(_, h)| h)
            .expect("command exists");
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut out = ReplyBuf::new(Proto::Resp2);
        let mut exec = Exec::new(&mut self.store, self.db, &mut out, self.now);
        exec.run(h, &args);
        String::from_utf8_lossy(out.as_bytes()).into_owned()
    }
    fn set(&mut self, k: &[u8], v: &[u8]) {
        self.store
            .set_key(self.db, k, Value::Str(Str::from_bytes(v)), false, self.now);
    }
    fn props(&mut self) -> Vec<String> {
        self.store
            .prop
            .drain(..)
            .map(|p| {
                p.args
                    .iter()
                    .map(|a| String::from_utf8_lossy(a).into_owned())
                    .collect::<Vec<_>>()
                    .join(" ")
            })
            .collect()
    }
}

#[test]
fn del_unlink_exists() {
    let mut t = T::new();
    t.set(b"a", b"1");
    t.set(b"b\0\r\n", b"2");
    assert_eq!(
        t.run(&[b"EXISTS", b"a", b"a", b"nope", b"b\0\r\n"]),
        ":3\r\n"
    );
    let dirty = t.store.dirty;
    assert_eq!(t.run(&[b"DEL", b"a", b"a", b"nope"]), ":1\r\n");
    assert_eq!(t.store.dirty, dirty + 1);
    assert_eq!(t.run(&[b"UNLINK", b"b\0\r\n", b"x"]), ":1\r\n");
    assert_eq!(t.run(&[b"EXISTS", b"a"]), ":0\r\n");
    assert_eq!(t.run(&[b"DEL", b"a"]), ":0\r\n");
    // Expired keys do not exist and are deleted with a propagated DEL.
    t.set(b"e", b"v");
    t.store.set_expire(0, b"e", t.now - 1);
    assert_eq!(t.run(&[b"EXISTS", b"e"]), ":0\r\n");
    assert_eq!(t.props(), vec!["DEL e"]);
    assert_eq!(t.store.stats.expired_keys, 1);
}

/// A replica hides expired keys from clients but applies its master's DEL to them.
#[test]
fn replica_expiry_follows_master() {
    let mut t = T::new();
    t.store.config.is_replica = true;
    t.set(b"e", b"v");
    t.store.set_expire(0, b"e", 1);
    assert_eq!(t.run(&[b"EXISTS", b"e"]), ":0\r\n");
    assert_eq!(t.run(&[b"KEYS", b"*"]), "*0\r\n");
    assert!(
        t.store.dbs[0].dict.contains_key(b"e"),
        "kept for the master's DEL"
    );
    assert!(
        t.props().is_empty(),
        "a replica propagates no DEL of its own"
    );
    t.store.from_master = true;
    assert_eq!(t.run(&[b"DEL", b"e"]), ":1\r\n");
    assert!(!t.store.dbs[0].dict.contains_key(b"e"));
}

#[test]
fn type_and_dbsize() {
    let mut t = T::new();
    assert_eq!(t.run(&[b"TYPE", b"k"]), "+none\r\n");
    t.set(b"k", b"v");
    assert_eq!(t.run(&[b"TYPE", b"k"]), "+string\r\n");
    assert_eq!(t.run(&[b"DBSIZE"]), ":1\r\n");
}

#[test]
fn expire_options_and_errors() {
    let mut t = T::new();
    assert_eq!(t.run(&[b"EXPIRE", b"k", b"10"]), ":0\r\n");
    t.set(b"k", b"v");
    assert_eq!(
        t.run(&[b"EXPIRE", b"k", b"10", b"foo"]),
        "-ERR Unsupported option foo\r\n"
    );
    assert_eq!(
        t.run(&[b"EXPIRE", b"k", b"abc", b"xx", b"nx"]),
        "-ERR NX and XX, GT or LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        t.run(&[b"EXPIRE", b"k", b"10", b"gt", b"LT"]),
        "-ERR GT and LT options at the same time are not compatible\r\n"
    );
    assert_eq!(
        t.run(&[b"EXPIRE", b"k", b"abc"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        t.run(&[b"EXPIRE", b"k", b"99999999999999999"]),
        "-ERR invalid expire time in 'expire' command\r\n"
    );
    assert_eq!(
        t.run(&[b"PEXPIRE", b"k", b"9223372036854775807"]),
        "-ERR invalid expire time in 'pexpire' command\r\n"
    );
    // GT on a key without TTL: no TTL counts as infinite, so GT fails; XX fails.
    assert_eq!(t.run(&[b"EXPIRE", b"k", b"100", b"GT"]), ":0\r\n");
    assert_eq!(t.run(&[b"EXPIRE", b"k", b"100", b"XX"]), ":0\r\n");
    assert_eq!(t.run(&[b"EXPIRE", b"k", b"100", b"LT"]), ":1\r\n");
    assert_eq!(t.props(), vec!["PEXPIREAT k 1100000 LT"]);
    assert_eq!(t.run(&[b"EXPIRE", b"k", b"50", b"NX"]), ":0\r\n");
    assert_eq!(t.run(&[b"EXPIRE", b"k", b"200", b"LT"]), ":0\r\n");
    assert_eq!(t.run(&[b"EXPIRE", b"k", b"200", b"GT"]), ":1\r\n");
    assert_eq!(t.run(&[b"TTL", b"k"]), ":200\r\n");
    assert_eq!(t.run(&[b"PEXPIREAT", b"k", b"5000000"]), ":1\r\n");
    assert_eq!(t.props(), vec!["PEXPIREAT k 1200000 GT"], "PEXPIREAT as is");
    assert_eq!(t.run(&[b"PEXPIRETIME", b"k"]), ":5000000\r\n");
    assert_eq!(t.run(&[b"EXPIRETIME", b"k"]), ":5000\r\n");
    assert_eq!(t.run(&[b"EXPIREAT", b"k", b"4000"]), ":1\r\n");
    assert_eq!(t.run(&[b"PTTL", b"k"]), ":3000000\r\n");
    // A time in the past deletes the key and propagates DEL.
    assert_eq!(t.run(&[b"PEXPIRE", b"k", b"-1"]), ":1\r\n");
    assert_eq!(t.run(&[b"EXISTS", b"k"]), ":0\r\n");
    assert_eq!(t.props(), vec!["PEXPIREAT k 4000000", "DEL k"]);
}

#[test]
fn ttl_family_and_persist() {
    let mut t = T::new();
    assert_eq!(t.run(&[b"TTL", b"k"]), ":-2\r\n");
    assert_eq!(t.run(&[b"PTTL", b"k"]), ":-2\r\n");
    assert_eq!(t.run(&[b"EXPIRETIME", b"k"]), ":-2\r\n");
    t.set(b"k", b"v");
    assert_eq!(t.run(&[b"TTL", b"k"]), ":-1\r\n");
    assert_eq!(t.run(&[b"PEXPIRETIME", b"k"]), ":-1\r\n");
    assert_eq!(t.run(&[b"PERSIST", b"k"]), ":0\r\n");
    assert_eq!(t.run(&[b"PEXPIRE", b"k", b"1500"]), ":1\r\n");
    // Seconds round to the nearest, as Redis.
    assert_eq!(t.run(&[b"TTL", b"k"]), ":2\r\n");
    assert_eq!(t.run(&[b"PTTL", b"k"]), ":1500\r\n");
    assert_eq!(t.run(&[b"EXPIRETIME", b"k"]), ":1002\r\n");
    assert_eq!(t.run(&[b"PERSIST", b"k"]), ":1\r\n");
    assert_eq!(t.run(&[b"TTL", b"k"]), ":-1\r\n");
    assert_eq!(t.run(&[b"PERSIST", b"missing"]), ":0\r\n");
}

#[test]
fn keys_command() {
    let mut t = T::new();
    assert_eq!(t.run(&[b"KEYS", b"*"]), "*0\r\n");
    t.set(b"", b"empty");
    t.set(b"hello", b"1");
    t.set(b"hallo", b"1");
    t.set(b"x", b"1");
    t.store.set_expire(0, b"x", 1);
    let r = t.run(&[b"KEYS", b"*"]);
    assert!(r.starts_with("*3\r\n") && r.contains("$0\r\n\r\n"), "{r}");
    let r = t.run(&[b"KEYS", b"h[ae]llo"]);
    assert!(r.starts_with("*2\r\n"), "{r}");
    assert_eq!(
        t.run(&[b"KEYS", b"**"]),
        r,
        "** does not match the empty key"
    );
    assert_eq!(t.run(&[b"KEYS", b"he*"]), "*1\r\n$5\r\nhello\r\n");
}

#[test]
fn scan_walks_everything_with_options() {
    let mut t = T::new();
    assert_eq!(t.run(&[b"SCAN", b"0"]), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(t.run(&[b"SCAN", b" 0"]), "-ERR invalid cursor\r\n");
    assert_eq!(t.run(&[b"SCAN", b"x"]), "-ERR invalid cursor\r\n");
    assert_eq!(
        t.run(&[b"SCAN", b"0", b"COUNT", b"0"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        t.run(&[b"SCAN", b"0", b"COUNT", b"x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(t.run(&[b"SCAN", b"0", b"MATCH"]), "-ERR syntax error\r\n");
    assert_eq!(
        t.run(&[b"SCAN", b"0", b"FOO", b"1"]),
        "-ERR syntax error\r\n"
    );
    for i in 0..500 {
        t.set(format!("key:{i}").as_bytes(), b"v");
    }
    t.set(b"other", b"v");
    t.set(b"dead", b"v");
    t.store.set_expire(0, b"dead", 1);
    let mut seen = std::collections::HashSet::new();
    let mut cursor = b"0".to_vec();
    let mut calls = 0;
    loop {
        let r = t.run(&[
            b"SCAN", &cursor, b"MATCH", b"key:*", b"COUNT", b"7", b"TYPE", b"STRING",
        ]);
        let lines: Vec<&str> = r.split("\r\n").collect();
        cursor = lines[2].as_bytes().to_vec();
        for k in lines[4..].iter().skip(1).step_by(2) {
            assert!(k.starts_with("key:"), "{k}");
            seen.insert(k.to_string());
        }
        calls += 1;
        if cursor == b"0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert!(calls > 10, "COUNT bounds each call: {calls}");
    // The expired key met by the scan was deleted.
    assert_eq!(
        t.run(&[b"SCAN", b"0", b"COUNT", b"1000", b"MATCH", b"dead"]),
        "*2\r\n$1\r\n0\r\n*0\r\n"
    );
    assert!(!t.store.dbs[0].dict.contains_key(b"dead"));
    // Unknown TYPE filters everything out.
    let r = t.run(&[b"SCAN", b"0", b"COUNT", b"1000", b"TYPE", b"nosuch"]);
    assert!(r.ends_with("*0\r\n"), "{r}");
}

#[test]
fn rename_and_renamenx() {
    let mut t = T::new();
    assert_eq!(t.run(&[b"RENAME", b"a", b"b"]), "-ERR no such key\r\n");
    assert_eq!(t.run(&[b"RENAME", b"a", b"a"]), "-ERR no such key\r\n");
    assert_eq!(t.run(&[b"RENAMENX", b"a", b"b"]), "-ERR no such key\r\n");
    t.set(b"a", b"1");
    t.store.set_expire(0, b"a", t.now + 5000);
    assert_eq!(t.run(&[b"RENAME", b"a", b"a"]), "+OK\r\n");
    assert_eq!(t.run(&[b"RENAMENX", b"a", b"a"]), ":0\r\n");
    t.set(b"b", b"2");
    assert_eq!(t.run(&[b"RENAMENX", b"a", b"b"]), ":0\r\n");
    assert_eq!(t.run(&[b"RENAME", b"a", b"b"]), "+OK\r\n");
    assert_eq!(
        t.run(&[b"PTTL", b"b"]),
        ":5000\r\n",
        "TTL moves with the value"
    );
    assert_eq!(t.run(&[b"EXISTS", b"a"]), ":0\r\n");
    assert_eq!(t.run(&[b"RENAMENX", b"b", b"c"]), ":1\r\n");
    // RENAME drops the destination's own TTL.
    t.set(b"d", b"x");
    t.store.set_expire(0, b"d", t.now + 1);
    t.store.remove_expire(0, b"c");
    assert_eq!(t.run(&[b"RENAME", b"c", b"d"]), "+OK\r\n");
    assert_eq!(t.run(&[b"TTL", b"d"]), ":-1\r\n");
}

#[test]
fn move_and_copy() {
    let mut t = T::new();
    assert_eq!(
        t.run(&[b"MOVE", b"k", b"x"]),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        t.run(&[b"MOVE", b"k", b"99"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        t.run(&[b"MOVE", b"k", b"-1"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        t.run(&[b"MOVE", b"k", b"0"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(t.run(&[b"MOVE", b"k", b"1"]), ":0\r\n");
    t.set(b"k", b"v");
    t.store.set_expire(0, b"k", t.now + 1000);
    assert_eq!(t.run(&[b"MOVE", b"k", b"1"]), ":1\r\n");
    assert_eq!(t.run(&[b"EXISTS", b"k"]), ":0\r\n");
    t.db = 1;
    assert_eq!(t.run(&[b"PTTL", b"k"]), ":1000\r\n");
    t.set(b"j", b"w");
    t.db = 0;
    t.set(b"k", b"other");
    assert_eq!(t.run(&[b"MOVE", b"k", b"1"]), ":0\r\n", "exists in target");

    assert_eq!(
        t.run(&[b"COPY", b"k", b"k"]),
        "-ERR source and destination objects are the same\r\n"
    );
    assert_eq!(
        t.run(&[b"COPY", b"k", b"k2", b"DB", b"99"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        t.run(&[b"COPY", b"k", b"k2", b"DB"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        t.run(&[b"COPY", b"k", b"k2", b"foo"]),
        "-ERR syntax error\r\n"
    );
    assert_eq!(t.run(&[b"COPY", b"nope", b"k2"]), ":0\r\n");
    assert_eq!(t.run(&[b"COPY", b"k", b"k2"]), ":1\r\n");
    assert_eq!(t.run(&[b"COPY", b"k", b"k2"]), ":0\r\n");
    assert_eq!(
        t.run(&[b"COPY", b"k", b"j", b"DB", b"1", b"REPLACE"]),
        ":1\r\n"
    );
    t.db = 1;
    assert_eq!(t.run(&[b"TTL", b"j"]), ":-1\r\n");
    assert_eq!(t.run(&[b"COPY", b"k", b"k", b"db", b"0"]), ":0\r\n");
    assert_eq!(
        t.run(&[b"COPY", b"k", b"k", b"db", b"0", b"replace"]),
        ":1\r\n"
    );
    t.db = 0;
    assert_eq!(t.run(&[b"PTTL", b"k"]), ":1000\r\n", "COPY keeps the TTL");
}

#[test]
fn object_subcommands() {
    let mut t = T::new();
    let help = t.run(&[b"OBJECT", b"HELP"]);
    assert!(help.starts_with(
        "*15\r\n+OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:\r\n"
    ));
    assert_eq!(
        t.run(&[b"OBJECT", b"foo"]),
        "-ERR unknown subcommand 'foo'. Try OBJECT HELP.\r\n"
    );
    assert_eq!(
        t.run(&[b"OBJECT", b"encoding"]),
        "-ERR wrong number of arguments for 'object|encoding' command\r\n"
    );
    assert_eq!(t.run(&[b"OBJECT", b"ENCODING", b"nokey"]), "$-1\r\n");
    assert_eq!(
        t.run(&[b"OBJECT", b"help", b"x"]),
        "-ERR wrong number of arguments for 'object|help' command\r\n"
    );
    t.set(b"i", b"100");
    t.set(b"big", b"100000");
    t.set(b"s", b"hello");
    assert_eq!(t.run(&[b"OBJECT", b"ENCODING", b"i"]), "$3\r\nint\r\n");
    assert_eq!(t.run(&[b"OBJECT", b"encoding", b"s"]), "$6\r\nembstr\r\n");
    assert_eq!(t.run(&[b"OBJECT", b"REFCOUNT", b"i"]), ":2147483647\r\n");
    assert_eq!(t.run(&[b"OBJECT", b"REFCOUNT", b"big"]), ":1\r\n");
    assert_eq!(t.run(&[b"OBJECT", b"REFCOUNT", b"s"]), ":1\r\n");
    t.now += 10_000;
    assert_eq!(t.run(&[b"OBJECT", b"IDLETIME", b"s"]), ":10\r\n");
    assert_eq!(
        t.run(&[b"OBJECT", b"IDLETIME", b"s"]),
        ":10\r\n",
        "OBJECT does not touch"
    );
    assert_eq!(
        t.run(&[b"OBJECT", b"FREQ", b"s"]),
        "-ERR An LFU maxmemory policy is not selected, access frequency not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
    t.store.config.maxmemory_policy = EvictionPolicy::AllKeysLfu;
    t.set(b"f", b"v");
    assert_eq!(t.run(&[b"OBJECT", b"FREQ", b"f"]), ":5\r\n");
    assert_eq!(
        t.run(&[b"OBJECT", b"IDLETIME", b"f"]),
        "-ERR An LFU maxmemory policy is selected, idle time not tracked. Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.\r\n"
    );
}

#[test]
fn randomkey_and_touch() {
    let mut t = T::new();
    assert_eq!(t.run(&[b"RANDOMKEY"]), "$-1\r\n");
    t.set(b"only", b"v");
    assert_eq!(t.run(&[b"RANDOMKEY"]), "$4\r\nonly\r\n");
    for i in 0..50 {
        let k = format!("x{i}");
        t.set(k.as_bytes(), b"v");
        t.store.set_expire(0, k.as_bytes(), 1);
    }
    // Expired candidates are deleted on the way to the live one.
    assert_eq!(t.run(&[b"RANDOMKEY"]), "$4\r\nonly\r\n");
    assert_eq!(t.run(&[b"TOUCH", b"only", b"nope", b"only"]), ":2\r\n");
}

#[test]
fn flush_and_swapdb() {
    let mut t = T::new();
    t.set(b"a", b"1");
    t.set(b"b", b"1");
    t.store.watched.insert((0, b"a"[..].into()), vec![7]);
    t.store.watched.insert((0, b"zz"[..].into()), vec![8]);
    assert_eq!(t.run(&[b"FLUSHDB", b"foo"]), "-ERR syntax error\r\n");
    assert_eq!(
        t.run(&[b"FLUSHDB", b"async", b"sync"]),
        "-ERR syntax error\r\n"
    );
    let dirty = t.store.dirty;
    assert_eq!(t.run(&[b"FLUSHDB"]), "+OK\r\n");
    assert_eq!(t.store.dirty, dirty + 2);
    assert!(t.store.dirty_cas.contains(&7));
    assert!(
        !t.store.dirty_cas.contains(&8),
        "a watched missing key is untouched"
    );
    assert_eq!(t.run(&[b"DBSIZE"]), ":0\r\n");
    assert_eq!(t.props(), vec!["FLUSHDB"]);
    assert_eq!(t.run(&[b"FLUSHDB", b"ASYNC"]), "+OK\r\n");
    assert_eq!(
        t.props(),
        vec!["FLUSHDB ASYNC"],
        "propagated even when empty"
    );

    t.set(b"a", b"1");
    t.db = 3;
    t.set(b"c", b"1");
    assert_eq!(t.run(&[b"FLUSHALL", b"ASYNC"]), "+OK\r\n");
    assert!(t.store.dbs.iter().all(|d| d.dict.is_empty()));
    assert_eq!(t.run(&[b"FLUSHALL", b"SYNC"]), "+OK\r\n");

    assert_eq!(
        t.run(&[b"SWAPDB", b"a", b"1"]),
        "-ERR invalid first DB index\r\n"
    );
    assert_eq!(
        t.run(&[b"SWAPDB", b"99", b"x"]),
        "-ERR invalid second DB index\r\n"
    );
    assert_eq!(
        t.run(&[b"SWAPDB", b"1", b"99"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        t.run(&[b"SWAPDB", b"-1", b"0"]),
        "-ERR DB index is out of range\r\n"
    );
    t.db = 0;
    t.set(b"in0", b"1");
    t.store.blocking.insert((1, b"in0"[..].into()), 1);
    t.store.watched.insert((1, b"in0"[..].into()), vec![9]);
    assert_eq!(t.run(&[b"SWAPDB", b"0", b"1"]), "+OK\r\n");
    assert_eq!(t.run(&[b"DBSIZE"]), ":0\r\n");
    t.db = 1;
    assert_eq!(t.run(&[b"EXISTS", b"in0"]), ":1\r\n");
    assert!(t.store.dirty_cas.contains(&9));
    assert!(t.store.ready.iter().any(|(d, k)| *d == 1 && &**k == b"in0"));
    assert_eq!(t.run(&[b"SWAPDB", b"1", b"1"]), "+OK\r\n");
}

#[test]
fn no_panic_on_odd_arguments() {
    let mut t = T::new();
    t.set(b"k", b"v");
    let odd: [&[u8]; 6] = [
        b"",
        b"-",
        b"\0",
        b"99999999999999999999999",
        b"-9223372036854775808",
        b"\r\n",
    ];
    for (name, _) in COMMANDS {
        for a in odd {
            for n in 1..4 {
                let mut args: Vec<&[u8]> = vec![name.as_bytes()];
                args.extend(std::iter::repeat_n(a, n));
                let r = t.run(&args);
                assert!(!r.is_empty(), "{name} {a:?} x{n} wrote no reply");
            }
        }
        t.set(b"k", b"v");
    }
}

mod model {
    //! Property test: random DEL/SET/EXPIRE/PEXPIRE/PERSIST/RENAME/MOVE/COPY with
    //! time moving forward, against a plain model of (value, expiry) per db.

    use std::collections::HashMap;

    use proptest::prelude::*;

    use super::T;

    #[derive(Debug, Clone)]
    enum Op {
        Set(u8, u8),
        Del(u8),
        Expire(u8, i16),
        Persist(u8),
        Rename(u8, u8),
        Move(u8),
        Copy(u8, u8),
        Tick(u16),
        Cycle,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0..8u8, any::<u8>()).prop_map(|(k, v)| Op::Set(k, v)),
            (0..8u8).prop_map(Op::Del),
            (0..8u8, -50..3000i16).prop_map(|(k, ms)| Op::Expire(k, ms)),
            (0..8u8).prop_map(Op::Persist),
            (0..8u8, 0..8u8).prop_map(|(a, b)| Op::Rename(a, b)),
            (0..8u8).prop_map(Op::Move),
            (0..8u8, 0..8u8).prop_map(|(a, b)| Op::Copy(a, b)),
            (0..2000u16).prop_map(Op::Tick),
            Just(Op::Cycle),
        ]
    }

    type Model = [HashMap<u8, (u8, Option<i64>)>; 2];

    fn live(m: &Model, db: usize, k: u8, now: i64) -> Option<(u8, Option<i64>)> {
        m[db]
            .get(&k)
            .copied()
            .filter(|(_, w)| w.is_none_or(|w| w > now))
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(300))]
        #[test]
        fn keys_commands_match_model(ops in proptest::collection::vec(op(), 1..120)) {
            let mut t = T::new();
            let mut m: Model = Default::default();
            for o in ops {
                let now = t.now;
                match o {
                    Op::Set(k, v) => {
                        t.set(&[b'k', k], &[b'a' + v % 26]);
                        m[0].insert(k, (v % 26, None));
                    }
                    Op::Del(k) => {
                        let want = i64::from(live(&m, 0, k, now).is_some());
                        m[0].remove(&k);
                        prop_assert_eq!(t.run(&[b"DEL", &[b'k', k]]), format!(":{want}\r\n"));
                    }
                    Op::Expire(k, ms) => {
                        let r = t.run(&[b"PEXPIRE", &[b'k', k], ms.to_string().as_bytes()]);
                        match live(&m, 0, k, now) {
                            None => { prop_assert_eq!(r, ":0\r\n"); m[0].remove(&k); }
                            Some((v, _)) => {
                                prop_assert_eq!(r, ":1\r\n");
                                if ms <= 0 { m[0].remove(&k); } else { m[0].insert(k, (v, Some(now + ms as i64))); }
                            }
                        }
                    }
                    Op::Persist(k) => {
                        let want = match live(&m, 0, k, now) {
                            Some((v, Some(_))) => { m[0].insert(k, (v, None)); 1 }
                            _ => 0,
                        };
                        prop_assert_eq!(t.run(&[b"PERSIST", &[b'k', k]]), format!(":{want}\r\n"));
                    }
                    Op::Rename(a, b) => {
                        let r = t.run(&[b"RENAME", &[b'k', a], &[b'k', b]]);
                        match live(&m, 0, a, now) {
                            None => prop_assert_eq!(r, "-ERR no such key\r\n"),
                            Some(e) => {
                                prop_assert_eq!(r, "+OK\r\n");
                                m[0].remove(&a);
                                m[0].insert(b, e);
                            }
                        }
                    }
                    Op::Move(k) => {
                        let r = t.run(&[b"MOVE", &[b'k', k], b"1"]);
                        let ok = live(&m, 0, k, now).is_some() && live(&m, 1, k, now).is_none();
                        prop_assert_eq!(r, if ok { ":1\r\n" } else { ":0\r\n" });
                        if ok {
                            let e = m[0].remove(&k);
                            if let Some(e) = e { m[1].insert(k, e); }
                        }
                    }
                    Op::Copy(a, b) => {
                        let r = t.run(&[b"COPY", &[b'k', a], &[b'k', b], b"REPLACE"]);
                        if a == b {
                            prop_assert!(r.starts_with("-ERR source and destination"));
                        } else {
                            match live(&m, 0, a, now) {
                                None => prop_assert_eq!(r, ":0\r\n"),
                                Some(e) => { prop_assert_eq!(r, ":1\r\n"); m[0].insert(b, e); }
                            }
                        }
                    }
                    Op::Tick(ms) => t.now += i64::from(ms),
                    Op::Cycle => {
                        t.store.active_expire_cycle(t.now, std::time::Duration::from_millis(5));
                    }
                }
                // Full check of db 0 after each step: existence, TTL, value.
                for k in 0..8u8 {
                    let key = [b'k', k];
                    let pttl = t.run(&[b"PTTL", &key]);
                    let want = match live(&m, 0, k, t.now) {
                        None => ":-2\r\n".to_string(),
                        Some((_, None)) => ":-1\r\n".to_string(),
                        Some((_, Some(w))) => format!(":{}\r\n", w - t.now),
                    };
                    prop_assert_eq!(pttl, want, "key {}", k);
                }
                let live_n = (0..8u8).filter(|k| live(&m, 0, *k, t.now).is_some()).count();
                prop_assert!(t.store.dbs[0].dict.len() >= live_n);
            }
        }
    }
}

/// The hash-field prefetch is only a hint: over missing keys, other types and
/// both hash forms it reads nothing wrong and changes nothing.
#[test]
fn prefetching_hash_fields_changes_nothing() {
    use crate::types::hash::Hash;
    let mut t = T::new();
    let cfg = StoreConfig::default();
    let mut small = Hash::new();
    small.insert(b"f", b"v", &cfg);
    let mut big = Hash::new();
    for i in 0..1000 {
        big.insert(format!("f{i}").as_bytes(), b"v", &cfg);
    }
    assert!(small.is_small() && !big.is_small());
    t.store
        .set_key(t.db, b"small", Value::Hash(small), false, t.now);
    t.store
        .set_key(t.db, b"big", Value::Hash(big), false, t.now);
    t.set(b"str", b"x");
    let items: Vec<(&[u8], &[u8])> = vec![
        (b"big", b"f1"),
        (b"missing", b"f"),
        (b"str", b"f"),
        (b"small", b"f"),
        (b"big", b"nope"),
    ];
    // More items than one prefetch batch: the rest are skipped.
    let many = items.iter().copied().cycle().take(100);
    t.store.prefetch_fields(t.db, many);
    t.store.prefetch_fields(7, items.into_iter());
    assert_eq!(
        t.run(&[b"exists", b"big", b"small", b"str", b"missing"]),
        ":3\r\n"
    );
    assert_eq!(t.run(&[b"dbsize"]), ":3\r\n");
}

/// Argument edge cases where Redis's C parsing shows through, found by the
/// arbitrary-argument differential (tests/args_fuzz.rs) against redis-server.
#[test]
fn c_string_arguments_parse_as_redis_does() {
    let mut t = T::new();
    t.set(b"k", b"v");
    // An option is printed as `%s`: up to a NUL, CR/LF at the end trimmed.
    assert_eq!(
        t.run(&[b"EXPIRE", b"k", b"10", b"a\0b"]),
        "-ERR Unsupported option a\r\n"
    );
    assert_eq!(
        t.run(&[b"EXPIRE", b"k", b"10", b"a\r\n"]),
        "-ERR Unsupported option a\r\n"
    );
    // Every SCAN-family cursor goes through strtoul: "" and "\0" are 0.
    t.run(&[b"SADD", b"s", b"m"]);
    t.run(&[b"HSET", b"h", b"f", b"v"]);
    t.run(&[b"ZADD", b"z", b"1", b"a", b"2", b"b"]);
    for cmd in [&b"SSCAN"[..], b"HSCAN", b"ZSCAN"] {
        let key: &[u8] = match cmd {
            b"SSCAN" => b"s",
            b"HSCAN" => b"h",
            _ => b"z",
        };
        for cursor in [&b""[..], b"\0", b"0\0junk"] {
            let r = t.run(&[cmd, key, cursor]);
            assert!(
                r.starts_with("*2\r\n$1\r\n0\r\n"),
                "{cmd:?} {cursor:?}: {r}"
            );
        }
        assert_eq!(t.run(&[cmd, key, b" 0"]), "-ERR invalid cursor\r\n");
    }
    assert!(t.run(&[b"SCAN", b"\0"]).starts_with("*2\r\n$1\r\n0\r\n"));
    // Database indexes are 32-bit first (getIntFromObjectOrReply).
    let range = "-ERR value is out of range, value must between -2147483648 and 2147483647\r\n";
    assert_eq!(t.run(&[b"MOVE", b"k", b"4294967296"]), range);
    assert_eq!(
        t.run(&[b"COPY", b"k", b"k2", b"DB", b"-9223372036854775808"]),
        range
    );
    assert_eq!(
        t.run(&[b"MOVE", b"k", b"2147483647"]),
        "-ERR DB index is out of range\r\n"
    );
    assert_eq!(
        t.run(&[b"SWAPDB", b"4294967296", b"0"]),
        "-ERR invalid first DB index\r\n"
    );
    // ZINCRBY shares ZADD's option parser.
    assert_eq!(
        t.run(&[b"ZINCRBY", b"z", b"XX", b"a"]),
        "-ERR syntax error\r\n"
    );
    // Score bounds go through strtod: leading space skipped, a NUL ends them.
    assert_eq!(t.run(&[b"ZCOUNT", b"z", b" 1", b"3"]), ":2\r\n");
    assert_eq!(t.run(&[b"ZCOUNT", b"z", b"\0", b"(2\0x"]), ":1\r\n");
    assert_eq!(
        t.run(&[b"ZCOUNT", b"z", b" ", b"3"]),
        "-ERR min or max is not a float\r\n"
    );
}
