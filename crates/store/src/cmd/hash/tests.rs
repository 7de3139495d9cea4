//! Hash command tests, driving the handlers directly. Expected bytes were taken from
//! a real redis-server 7.0.15.

use bytes::Bytes;
use tandem_resp::{Proto, ReplyBuf};

use super::COMMANDS;
use crate::exec::Exec;
use crate::keyspace::{Store, StoreConfig};
use crate::types::list::List;
use crate::value::Value;

const NOW: i64 = 1_000_000;

struct T {
    store: Store,
    proto: Proto,
}

impl T {
    fn new() -> Self {
        T {
            store: Store::new(StoreConfig::default()),
            proto: Proto::Resp2,
        }
    }

    /// Runs a command; returns the reply and whether it set its own propagation.
    fn exec(&mut self, args: &[&[u8]]) -> (Vec<u8>, bool) {
        let name = String::from_utf8_lossy(args[0]).to_lowercase();
        let h = COMMANDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, h)| *h)
            .unwrap_or_else(|| panic!("no handler for {name}"));
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut out = ReplyBuf::new(self.proto);
        let mut ex = Exec::new(&mut self.store, 0, &mut out, NOW);
        ex.run(h, &args);
        let propagated = ex.propagated;
        (out.as_bytes().to_vec(), propagated)
    }

    fn run(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.exec(args).0
    }

    fn ok(&mut self, args: &[&[u8]], want: &[u8]) {
        let got = self.run(args);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "for {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
    }

    fn exists(&mut self, key: &[u8]) -> bool {
        self.store.peek(0, key, NOW).is_some()
    }

    fn encoding(&mut self, key: &[u8]) -> &'static str {
        let cfg = self.store.config.clone();
        self.store
            .peek(0, key, NOW)
            .map_or("none", |e| e.value.encoding(&cfg))
    }
}

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

/// Splits a RESP2 reply made only of arrays, bulks, nulls and integers into its
/// leaf strings (enough to read HSCAN / HRANDFIELD replies).
fn leaves(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while !b.is_empty() {
        let nl = b.windows(2).position(|w| w == b"\r\n").expect("line");
        let (line, rest) = (&b[..nl], &b[nl + 2..]);
        b = rest;
        match line[0] {
            b'*' | b':' | b'_' => {}
            b'$' => {
                let n: i64 = std::str::from_utf8(&line[1..]).unwrap().parse().unwrap();
                if n >= 0 {
                    out.push(b[..n as usize].to_vec());
                    b = &b[n as usize + 2..];
                }
            }
            c => panic!("unexpected {c}"),
        }
    }
    out
}

#[test]
fn set_get_binary_safe() {
    let mut t = T::new();
    t.ok(&[b"HSET", b"h", b"f\0", b"v\r\n", b"g", b"1"], b":2\r\n");
    t.ok(&[b"HSET", b"h", b"g", b"2"], b":0\r\n");
    t.ok(&[b"HGET", b"h", b"f\0"], b"$3\r\nv\r\n\r\n");
    t.ok(&[b"HGET", b"h", b"nope"], b"$-1\r\n");
    t.ok(&[b"HGET", b"nokey", b"f"], b"$-1\r\n");
    t.ok(
        &[b"HSET", b"h", b"a"],
        b"-ERR wrong number of arguments for 'hset' command\r\n",
    );
    t.ok(
        &[b"HMSET", b"h", b"a", b"1", b"b"],
        b"-ERR wrong number of arguments for 'hmset' command\r\n",
    );
    t.ok(&[b"HMSET", b"h", b"a", b"1"], b"+OK\r\n");
    t.ok(
        &[b"HMGET", b"h", b"a", b"zz", b"g"],
        b"*3\r\n$1\r\n1\r\n$-1\r\n$1\r\n2\r\n",
    );
    t.ok(&[b"HMGET", b"nokey", b"a"], b"*1\r\n$-1\r\n");
    t.ok(&[b"HLEN", b"h"], b":3\r\n");
    t.ok(&[b"HLEN", b"nokey"], b":0\r\n");
    t.ok(&[b"HSTRLEN", b"h", b"f\0"], b":3\r\n");
    t.ok(&[b"HSTRLEN", b"h", b"zz"], b":0\r\n");
    t.ok(&[b"HEXISTS", b"h", b"g"], b":1\r\n");
    t.ok(&[b"HEXISTS", b"h", b"zz"], b":0\r\n");
    assert_eq!(t.store.dirty, 4);
}

#[test]
fn getall_keys_vals_both_protocols() {
    let mut t = T::new();
    t.run(&[b"HSET", b"h", b"z", b"1", b"a", b"2"]);
    // Listpack order is insertion order, as Redis.
    t.ok(
        &[b"HGETALL", b"h"],
        b"*4\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n",
    );
    t.ok(&[b"HGETALL", b"nokey"], b"*0\r\n");
    t.proto = Proto::Resp3;
    t.ok(
        &[b"HGETALL", b"h"],
        b"%2\r\n$1\r\nz\r\n$1\r\n1\r\n$1\r\na\r\n$1\r\n2\r\n",
    );
    t.ok(&[b"HGETALL", b"nokey"], b"%0\r\n");
    t.ok(&[b"HKEYS", b"h"], b"*2\r\n$1\r\nz\r\n$1\r\na\r\n");
    t.ok(&[b"HVALS", b"h"], b"*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    t.ok(&[b"HKEYS", b"nokey"], b"*0\r\n");
    t.ok(&[b"HMGET", b"nokey", b"a"], b"*1\r\n_\r\n");
}

#[test]
fn setnx_del_and_wrongtype() {
    let mut t = T::new();
    t.ok(&[b"HSETNX", b"h", b"f", b"v"], b":1\r\n");
    t.ok(&[b"HSETNX", b"h", b"f", b"w"], b":0\r\n");
    t.ok(&[b"HGET", b"h", b"f"], b"$1\r\nv\r\n");
    t.ok(&[b"HDEL", b"h", b"f", b"g"], b":1\r\n");
    assert!(!t.exists(b"h"), "emptied hash must be deleted");
    t.ok(&[b"HDEL", b"h", b"f"], b":0\r\n");
    t.store
        .set_key(0, b"l", Value::List(List::new()), false, NOW);
    for cmd in [
        &[&b"HSET"[..], b"l", b"f", b"v"][..],
        &[b"HSETNX", b"l", b"f", b"v"],
        &[b"HGET", b"l", b"f"],
        &[b"HGETALL", b"l"],
        &[b"HDEL", b"l", b"f"],
        &[b"HLEN", b"l"],
        &[b"HINCRBY", b"l", b"f", b"1"],
        &[b"HINCRBYFLOAT", b"l", b"f", b"1"],
        &[b"HRANDFIELD", b"l"],
        &[b"HSCAN", b"l", b"0"],
    ] {
        t.ok(cmd, WRONGTYPE);
    }
}

#[test]
fn hincrby_edges() {
    let mut t = T::new();
    t.ok(
        &[b"HINCRBY", b"h", b"f", b"9223372036854775807"],
        b":9223372036854775807\r\n",
    );
    t.ok(
        &[b"HINCRBY", b"h", b"f", b"1"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    t.ok(
        &[b"HINCRBY", b"h", b"i", b"abc"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.ok(
        &[b"HINCRBY", b"h", b"i", b"-9223372036854775808"],
        b":-9223372036854775808\r\n",
    );
    t.ok(
        &[b"HINCRBY", b"h", b"i", b"-1"],
        b"-ERR increment or decrement would overflow\r\n",
    );
    t.run(&[b"HSET", b"h", b"g", b"abc", b"fl", b"1.5", b"sp", b" 1"]);
    t.ok(
        &[b"HINCRBY", b"h", b"g", b"1"],
        b"-ERR hash value is not an integer\r\n",
    );
    t.ok(
        &[b"HINCRBY", b"h", b"fl", b"1"],
        b"-ERR hash value is not an integer\r\n",
    );
    t.ok(
        &[b"HINCRBY", b"h", b"sp", b"1"],
        b"-ERR hash value is not an integer\r\n",
    );
    t.ok(&[b"HINCRBY", b"h", b"new", b"-5"], b":-5\r\n");
    t.ok(&[b"HGET", b"h", b"new"], b"$2\r\n-5\r\n");
}

#[test]
fn hincrbyfloat_edges_and_propagation() {
    let mut t = T::new();
    t.ok(&[b"HINCRBYFLOAT", b"h", b"f", b"10.5"], b"$4\r\n10.5\r\n");
    let (r, propagated) = t.exec(&[b"HINCRBYFLOAT", b"h", b"f", b"0.1"]);
    assert_eq!(r, b"$4\r\n10.6\r\n");
    assert!(propagated);
    let p = t.store.prop.pop().expect("propagated");
    let p: Vec<&[u8]> = p.args.iter().map(|a| &a[..]).collect();
    assert_eq!(p, vec![&b"HSET"[..], b"h", b"f", b"10.6"]);
    t.ok(&[b"HINCRBYFLOAT", b"h", b"f", b"1e-20"], b"$4\r\n10.6\r\n");
    t.ok(
        &[b"HINCRBYFLOAT", b"h", b"g", b"1e20"],
        b"$21\r\n100000000000000000000\r\n",
    );
    t.ok(&[b"HINCRBYFLOAT", b"h", b"g2", b"-0"], b"$1\r\n0\r\n");
    t.ok(
        &[b"HINCRBYFLOAT", b"h", b"n", b"inf"],
        b"-ERR value is NaN or Infinity\r\n",
    );
    t.ok(
        &[b"HINCRBYFLOAT", b"h", b"n", b"abc"],
        b"-ERR value is not a valid float\r\n",
    );
    t.run(&[b"HSET", b"h", b"s", b"abc"]);
    t.ok(
        &[b"HINCRBYFLOAT", b"h", b"s", b"1"],
        b"-ERR hash value is not a float\r\n",
    );
    t.ok(&[b"HINCRBYFLOAT", b"h", b"i", b"3"], b"$1\r\n3\r\n");
    t.ok(&[b"HINCRBYFLOAT", b"h", b"i", b"-3.25"], b"$5\r\n-0.25\r\n");
}

/// HINCRBYFLOAT computes in 80-bit long double as Redis does: 0.1 + 0.2 is "0.3".
#[test]
fn hincrbyfloat_uses_long_double() {
    let mut t = T::new();
    t.ok(&[b"HINCRBYFLOAT", b"h", b"f", b"0.1"], b"$3\r\n0.1\r\n");
    t.ok(&[b"HINCRBYFLOAT", b"h", b"f", b"0.2"], b"$3\r\n0.3\r\n");
    t.ok(&[b"HINCRBYFLOAT", b"h", b"g", b"224"], b"$3\r\n224\r\n");
    t.ok(
        &[b"HINCRBYFLOAT", b"h", b"g", b"0.1"],
        b"$21\r\n224.10000000000000001\r\n",
    );
}

#[test]
fn hrandfield_arguments_and_shapes() {
    let mut t = T::new();
    t.ok(&[b"HRANDFIELD", b"nokey"], b"$-1\r\n");
    t.ok(&[b"HRANDFIELD", b"nokey", b"2"], b"*0\r\n");
    t.ok(&[b"HRANDFIELD", b"nokey", b"-5", b"WITHVALUES"], b"*0\r\n");
    t.run(&[b"HSET", b"h", b"a", b"1", b"b", b"2"]);
    t.ok(
        &[b"HRANDFIELD", b"h", b"abc"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.ok(
        &[b"HRANDFIELD", b"h", b"1", b"WITHVALUE"],
        b"-ERR syntax error\r\n",
    );
    t.ok(
        &[b"HRANDFIELD", b"h", b"1", b"WITHVALUES", b"x"],
        b"-ERR syntax error\r\n",
    );
    t.ok(
        &[b"HRANDFIELD", b"h", b"-9223372036854775808"],
        b"-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n",
    );
    t.ok(
        &[b"HRANDFIELD", b"h", b"-9223372036854775807", b"WITHVALUES"],
        b"-ERR value is out of range\r\n",
    );
    t.ok(&[b"HRANDFIELD", b"h", b"0", b"WITHVALUES"], b"*0\r\n");
    t.ok(
        &[b"HRANDFIELD", b"h", b"2", b"WITHVALUES"],
        b"*4\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    let r = t.run(&[b"HRANDFIELD", b"h", b"-7"]);
    assert!(r.starts_with(b"*7\r\n"));
    assert_eq!(leaves(&r).len(), 7);
    let r = t.run(&[b"HRANDFIELD", b"h", b"1"]);
    assert!(r == b"*1\r\n$1\r\na\r\n" || r == b"*1\r\n$1\r\nb\r\n");
    t.proto = Proto::Resp3;
    t.ok(
        &[b"HRANDFIELD", b"h", b"5", b"WITHVALUES"],
        b"*2\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n",
    );
    let r = t.run(&[b"HRANDFIELD", b"h", b"-1", b"WITHVALUES"]);
    assert!(r.starts_with(b"*1\r\n*2\r\n"));
    t.ok(&[b"HRANDFIELD", b"nokey"], b"_\r\n");
}

#[test]
fn hrandfield_distinct_on_big_hash() {
    let mut t = T::new();
    t.store.config.hash_max_listpack_entries = 4;
    for i in 0..100u32 {
        t.run(&[b"HSET", b"h", format!("f{i}").as_bytes(), b"v"]);
    }
    assert_eq!(t.encoding(b"h"), "hashtable");
    for n in [5usize, 40, 99] {
        let r = t.run(&[b"HRANDFIELD", b"h", n.to_string().as_bytes()]);
        let mut l = leaves(&r);
        assert_eq!(l.len(), n);
        l.sort();
        l.dedup();
        assert_eq!(l.len(), n, "fields must be distinct");
    }
}

#[test]
fn hscan_small_big_and_errors() {
    let mut t = T::new();
    t.ok(
        &[b"HSCAN", b"nokey", b"0", b"COUNT", b"0"],
        b"*2\r\n$1\r\n0\r\n*0\r\n",
    );
    t.ok(&[b"HSCAN", b"nokey", b"x"], b"-ERR invalid cursor\r\n");
    t.run(&[b"HSET", b"h", b"a", b"1", b"fl", b"1.5"]);
    t.ok(&[b"HSCAN", b"h", b"abc"], b"-ERR invalid cursor\r\n");
    t.ok(
        &[b"HSCAN", b"h", b"18446744073709551616"],
        b"-ERR invalid cursor\r\n",
    );
    let all = b"*2\r\n$1\r\n0\r\n*4\r\n$1\r\na\r\n$1\r\n1\r\n$2\r\nfl\r\n$3\r\n1.5\r\n";
    t.ok(&[b"HSCAN", b"h", b"-1"], all);
    t.ok(&[b"HSCAN", b"h", b"18446744073709551615"], all);
    t.ok(&[b"HSCAN", b"h", b"5", b"COUNT", b"1"], all);
    t.ok(
        &[b"HSCAN", b"h", b"0", b"COUNT", b"0"],
        b"-ERR syntax error\r\n",
    );
    t.ok(
        &[b"HSCAN", b"h", b"0", b"COUNT", b"x"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.ok(&[b"HSCAN", b"h", b"0", b"MATCH"], b"-ERR syntax error\r\n");
    t.ok(
        &[b"HSCAN", b"h", b"0", b"NOVALUES"],
        b"-ERR syntax error\r\n",
    );
    t.ok(
        &[b"HSCAN", b"h", b"0", b"MATCH", b"f*"],
        b"*2\r\n$1\r\n0\r\n*2\r\n$2\r\nfl\r\n$3\r\n1.5\r\n",
    );
    // Big hash: a full cursor walk returns every field exactly once.
    t.store.config.hash_max_listpack_entries = 8;
    for i in 0..500u32 {
        t.run(&[b"HSET", b"big", format!("f{i}").as_bytes(), b"v"]);
    }
    let mut cursor = b"0".to_vec();
    let mut seen = Vec::new();
    let mut calls = 0;
    loop {
        let r = t.run(&[b"HSCAN", b"big", &cursor, b"COUNT", b"20"]);
        let l = leaves(&r);
        cursor = l[0].clone();
        seen.extend(l[1..].chunks(2).map(|c| c[0].clone()));
        calls += 1;
        if cursor == b"0" {
            break;
        }
        assert!(calls < 1000);
    }
    assert!(calls > 10, "a big hash is walked in steps");
    seen.sort();
    let n = seen.len();
    seen.dedup();
    assert_eq!((n, seen.len()), (500, 500));
}

#[test]
fn encoding_follows_listpack_limits() {
    let mut t = T::new();
    t.run(&[b"HSET", b"h", b"a", b"1"]);
    assert_eq!(t.encoding(b"h"), "listpack");
    t.run(&[b"HSET", b"h", b"b", &[b'x'; 65]]);
    assert_eq!(t.encoding(b"h"), "hashtable");
    t.run(&[b"HDEL", b"h", b"b"]);
    assert_eq!(t.encoding(b"h"), "hashtable");
    t.run(&[b"HSET", b"h2", &[b'x'; 64], b"1"]);
    assert_eq!(t.encoding(b"h2"), "listpack");
    for i in 0..128u32 {
        t.run(&[b"HSET", b"h3", i.to_string().as_bytes(), b"v"]);
    }
    assert_eq!(t.encoding(b"h3"), "listpack");
    t.run(&[b"HSET", b"h3", b"one-more", b"v"]);
    assert_eq!(t.encoding(b"h3"), "hashtable");
}

/// Redis 7.0 arities (negative = at least); the server checks them before a handler.
const ARITY: &[(&str, i32)] = &[
    ("hset", -4),
    ("hmset", -4),
    ("hsetnx", 4),
    ("hget", 3),
    ("hmget", -3),
    ("hgetall", 2),
    ("hkeys", 2),
    ("hvals", 2),
    ("hdel", -3),
    ("hexists", 3),
    ("hlen", 2),
    ("hstrlen", 3),
    ("hincrby", 4),
    ("hincrbyfloat", 4),
    ("hrandfield", -2),
    ("hscan", -3),
];

#[test]
fn no_panic_on_odd_arguments() {
    let mut t = T::new();
    let odd: &[&[u8]] = &[
        b"",
        b"-",
        b"9223372036854775807",
        b"-9223372036854775808",
        b"1",
        b"WITHVALUES",
        b"COUNT",
        b"MATCH",
    ];
    assert_eq!(ARITY.len(), COMMANDS.len());
    for &(name, arity) in ARITY {
        for n in 2..=7usize {
            let fits = if arity >= 0 {
                n == arity as usize
            } else {
                n >= arity.unsigned_abs() as usize
            };
            if !fits {
                continue;
            }
            for &a in odd {
                for &b in odd {
                    t.run(&[b"HSET", b"h", b"1", b"2"]);
                    let mut args: Vec<&[u8]> = vec![name.as_bytes(), b"h"];
                    while args.len() < n {
                        args.push(if args.len().is_multiple_of(2) { a } else { b });
                    }
                    t.run(&args);
                }
            }
        }
    }
}
