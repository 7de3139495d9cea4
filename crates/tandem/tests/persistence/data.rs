//! Shared data helpers of the persistence tests: a dataset of every type in small
//! and large encodings over several databases, and a full client-side dump of a
//! server's keyspace to compare two servers (or one server across a restart).

use std::collections::BTreeMap;

use redis::{Connection, Value};

/// One key as a client sees it: TYPE, a canonical rendering of the value, and the
/// absolute expiry (PEXPIRETIME, -1 without TTL).
#[derive(Debug, Clone, PartialEq)]
pub struct KeyView {
    pub kind: String,
    pub value: Vec<String>,
    pub expire_at: i64,
}

pub type Dump = BTreeMap<(i64, String), KeyView>;

fn s(v: &Value) -> String {
    match v {
        Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
        Value::SimpleString(t) => t.clone(),
        Value::Int(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

/// Every key of databases `0..dbs`, with its value and TTL.
pub fn dump(c: &mut Connection, dbs: i64) -> Dump {
    let mut out = Dump::new();
    for db in 0..dbs {
        let _: () = redis::cmd("SELECT").arg(db).query(c).expect("SELECT");
        let keys: Vec<String> = redis::cmd("KEYS").arg("*").query(c).expect("KEYS");
        for k in keys {
            let kind: String = redis::cmd("TYPE").arg(&k).query(c).expect("TYPE");
            let mut value: Vec<String> = match kind.as_str() {
                "string" => {
                    let b: Vec<u8> = redis::cmd("GET").arg(&k).query(c).expect("GET");
                    vec![b.escape_ascii().to_string()]
                }
                "list" => redis::cmd("LRANGE")
                    .arg(&k)
                    .arg(0)
                    .arg(-1)
                    .query(c)
                    .expect("LRANGE"),
                "set" => redis::cmd("SMEMBERS").arg(&k).query(c).expect("SMEMBERS"),
                "hash" => {
                    let m: BTreeMap<String, String> =
                        redis::cmd("HGETALL").arg(&k).query(c).expect("HGETALL");
                    m.into_iter().map(|(f, v)| format!("{f}={v}")).collect()
                }
                "zset" => {
                    let v: Vec<Value> = redis::cmd("ZRANGE")
                        .arg(&k)
                        .arg(0)
                        .arg(-1)
                        .arg("WITHSCORES")
                        .query(c)
                        .expect("ZRANGE");
                    v.iter().map(s).collect()
                }
                other => panic!("unexpected type {other}"),
            };
            if kind == "set" {
                value.sort();
            }
            let expire_at: i64 = redis::cmd("PEXPIRETIME")
                .arg(&k)
                .query(c)
                .expect("PEXPIRETIME");
            out.insert(
                (db, k),
                KeyView {
                    kind,
                    value,
                    expire_at,
                },
            );
        }
    }
    let _: () = redis::cmd("SELECT").arg(0).query(c).expect("SELECT");
    out
}

/// OBJECT ENCODING of every key in the dump.
pub fn encodings(c: &mut Connection, keys: &Dump) -> BTreeMap<(i64, String), String> {
    let mut out = BTreeMap::new();
    for (db, k) in keys.keys() {
        let _: () = redis::cmd("SELECT").arg(*db).query(c).expect("SELECT");
        let e: String = redis::cmd("OBJECT")
            .arg("ENCODING")
            .arg(k)
            .query(c)
            .expect("OBJECT");
        out.insert((*db, k.clone()), e);
    }
    let _: () = redis::cmd("SELECT").arg(0).query(c).expect("SELECT");
    out
}

/// Writes small and large values of every type (so a real Redis uses its listpack,
/// quicklist, intset and hashtable/skiplist encodings and LZF-compresses long
/// strings) into databases 0, 1 and 3, with TTLs on some keys.
pub fn populate(c: &mut Connection) {
    let mut p = redis::pipe();
    p.cmd("SELECT").arg(0).ignore();
    p.cmd("SET").arg("str:int").arg("123456").ignore();
    p.cmd("SET").arg("str:neg").arg("-42").ignore();
    p.cmd("SET").arg("str:emb").arg("hello world").ignore();
    p.cmd("SET").arg("str:long").arg("x".repeat(5000)).ignore();
    p.cmd("SET")
        .arg("str:bin")
        .arg(&[0u8, 255, 13, 10, 7][..])
        .ignore();
    p.cmd("SET")
        .arg("str:ttl")
        .arg("soon")
        .arg("PX")
        .arg(3_600_000)
        .ignore();
    p.cmd("SET").arg("str:float").arg("3.14159").ignore();
    p.cmd("RPUSH")
        .arg("list:small")
        .arg(&["a", "b", "1", "-2"])
        .ignore();
    let big: Vec<String> = (0..2000).map(|i| format!("element-{i}")).collect();
    p.cmd("RPUSH").arg("list:big").arg(&big).ignore();
    p.cmd("RPUSH")
        .arg("list:huge-items")
        .arg(&["y".repeat(9000), "z".into()])
        .ignore();
    p.cmd("SELECT").arg(1).ignore();
    p.cmd("SADD")
        .arg("set:int")
        .arg(&[1, 2, 3, -100, 65536, 4_294_967_296_i64])
        .ignore();
    p.cmd("SADD").arg("set:str").arg(&["a", "b", "c"]).ignore();
    let members: Vec<i64> = (0..1000).collect();
    p.cmd("SADD").arg("set:bigint").arg(&members).ignore();
    let members: Vec<String> = (0..700).map(|i| format!("m{i}")).collect();
    p.cmd("SADD").arg("set:big").arg(&members).ignore();
    p.cmd("HSET")
        .arg("hash:small")
        .arg(&[("f1", "v1"), ("f2", "2")])
        .ignore();
    let fields: Vec<(String, String)> = (0..1000)
        .map(|i| (format!("f{i}"), format!("v{i}")))
        .collect();
    p.cmd("HSET").arg("hash:big").arg(&fields).ignore();
    p.cmd("HSET")
        .arg("hash:longval")
        .arg(&[("f", "w".repeat(200))])
        .ignore();
    p.cmd("PEXPIRE").arg("hash:small").arg(7_200_000).ignore();
    p.cmd("SELECT").arg(3).ignore();
    p.cmd("ZADD")
        .arg("zset:small")
        .arg(&[(1.5, "a"), (-2.0, "b"), (0.0, "c")])
        .ignore();
    let zm: Vec<(f64, String)> = (0..500)
        .map(|i| (i as f64 / 3.0, format!("z{i}")))
        .collect();
    p.cmd("ZADD").arg("zset:big").arg(&zm).ignore();
    p.cmd("ZADD")
        .arg("zset:inf")
        .arg(&[(f64::INFINITY, "top"), (f64::NEG_INFINITY, "bottom")])
        .ignore();
    p.cmd("ZADD")
        .arg("zset:longmember")
        .arg(&[(1.0, "q".repeat(100))])
        .ignore();
    p.cmd("SET")
        .arg("db3:ttl")
        .arg("v")
        .arg("EX")
        .arg(100_000)
        .ignore();
    p.cmd("SELECT").arg(0).ignore();
    p.query::<()>(c).expect("populate");
}
