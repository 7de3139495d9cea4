//! Set command tests; expected replies were checked against redis-server 7.0.15.

use super::testutil::*;
use bytes::Bytes;
use tandem_resp::Proto;

const WT: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn put_str(st: &mut crate::Store, key: &str) {
    st.set_key(
        0,
        key.as_bytes(),
        crate::Value::Str(crate::types::string::Str::from_bytes(b"x")),
        false,
        NOW,
    );
}

#[test]
fn sadd_srem_scard_smembers() {
    let mut st = store();
    assert_eq!(run(&mut st, "sadd s 3 1 2 1"), ":3\r\n");
    assert_eq!(
        run(&mut st, "smembers s"),
        "*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        run3(&mut st, "smembers s"),
        "~3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(run(&mut st, "scard s"), ":3\r\n");
    assert_eq!(run(&mut st, "srem s 1 9 2"), ":2\r\n");
    assert_eq!(run(&mut st, "srem s 3"), ":1\r\n");
    // Emptied sets are deleted.
    assert!(st.dbs[0].dict.get(b"s").is_none());
    assert_eq!(run(&mut st, "scard s"), ":0\r\n");
    assert_eq!(run(&mut st, "smembers s"), "*0\r\n");
    assert_eq!(run3(&mut st, "smembers s"), "~0\r\n");
    assert_eq!(run(&mut st, "srem s 1"), ":0\r\n");
    put_str(&mut st, "str");
    for c in [
        "sadd str a",
        "srem str a",
        "smembers str",
        "scard str",
        "sismember str a",
    ] {
        assert_eq!(run(&mut st, c), WT, "{c}");
    }
}

#[test]
fn encodings_follow_redis() {
    let mut st = store();
    run(&mut st, "sadd i 1 2 -5");
    let enc = |st: &mut crate::Store, k: &str| {
        let cfg = st.config.clone();
        st.dbs[0]
            .dict
            .get(k.as_bytes())
            .map(|e| e.value.encoding(&cfg))
    };
    assert_eq!(enc(&mut st, "i"), Some("intset"));
    run(&mut st, "sadd i x");
    assert_eq!(enc(&mut st, "i"), Some("hashtable"));
    run(&mut st, "sadd h a");
    assert_eq!(enc(&mut st, "h"), Some("hashtable"));
    run(&mut st, "sadd z 01");
    assert_eq!(enc(&mut st, "z"), Some("hashtable"));
}

#[test]
fn binary_members() {
    let mut st = store();
    let args: Vec<Bytes> = ["sadd", "b", "a\0b", "c\r\nd"]
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    assert_eq!(run_args(&mut st, Proto::Resp2, &args), ":2\r\n");
    let q: Vec<Bytes> = ["sismember", "b", "c\r\nd"]
        .iter()
        .map(|s| Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    assert_eq!(run_args(&mut st, Proto::Resp2, &q), ":1\r\n");
}

#[test]
fn sismember_smismember() {
    let mut st = store();
    run(&mut st, "sadd s a b");
    assert_eq!(run(&mut st, "sismember s a"), ":1\r\n");
    assert_eq!(run(&mut st, "sismember s x"), ":0\r\n");
    assert_eq!(run(&mut st, "sismember no x"), ":0\r\n");
    assert_eq!(run(&mut st, "smismember s a x"), "*2\r\n:1\r\n:0\r\n");
    assert_eq!(run(&mut st, "smismember no a x"), "*2\r\n:0\r\n:0\r\n");
}

#[test]
fn spop_variants_and_propagation() {
    let mut st = store();
    assert_eq!(run(&mut st, "spop no"), "$-1\r\n");
    assert_eq!(run3(&mut st, "spop no"), "_\r\n");
    assert_eq!(run(&mut st, "spop no 2"), "*0\r\n");
    assert_eq!(run3(&mut st, "spop no 2"), "~0\r\n");
    run(&mut st, "sadd s 7");
    props(&mut st);
    assert_eq!(run(&mut st, "spop s"), "$1\r\n7\r\n");
    assert_eq!(props(&mut st), vec!["SREM s 7"]);
    assert!(st.dbs[0].dict.get(b"s").is_none());
    run(&mut st, "sadd s 1 2 3");
    props(&mut st);
    assert_eq!(run(&mut st, "spop s 0"), "*0\r\n");
    assert_eq!(
        run(&mut st, "spop s -1"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(
        run(&mut st, "spop s x"),
        "-ERR value is out of range, must be positive\r\n"
    );
    assert_eq!(run(&mut st, "spop s 1 2"), "-ERR syntax error\r\n");
    let r = run(&mut st, "spop s 2");
    assert!(r.starts_with("*2\r\n"), "{r}");
    let p = props(&mut st);
    assert_eq!(p.len(), 1);
    assert!(p[0].starts_with("SREM s "));
    assert_eq!(run(&mut st, "scard s"), ":1\r\n");
    let r = run3(&mut st, "spop s 5");
    assert!(r.starts_with("~1\r\n"));
    assert_eq!(props(&mut st), vec!["DEL s"]);
    assert_eq!(run(&mut st, "scard s"), ":0\r\n");
    // Big pops propagate in batches of 1024.
    let mut args = vec![Bytes::from_static(b"sadd"), Bytes::from_static(b"big")];
    args.extend((0..3000).map(|i| Bytes::from(format!("m{i}"))));
    run_args(&mut st, Proto::Resp2, &args);
    props(&mut st);
    run(&mut st, "spop big 2500");
    let p = props(&mut st);
    assert_eq!(p.len(), 3);
    assert_eq!(p[0].split(' ').count(), 2 + 1024);
    assert_eq!(p[2].split(' ').count(), 2 + 2500 - 2048);
    assert_eq!(run(&mut st, "scard big"), ":500\r\n");
}

#[test]
fn srandmember_counts() {
    let mut st = store();
    assert_eq!(run(&mut st, "srandmember no"), "$-1\r\n");
    assert_eq!(run(&mut st, "srandmember no 3"), "*0\r\n");
    run(&mut st, "sadd s a b c d");
    assert_eq!(run(&mut st, "srandmember s 0"), "*0\r\n");
    assert_eq!(run3(&mut st, "srandmember s 0"), "*0\r\n");
    let r = run(&mut st, "srandmember s 10");
    assert!(r.starts_with("*4\r\n"));
    let r = run(&mut st, "srandmember s -10");
    assert!(r.starts_with("*10\r\n"));
    let r = run(&mut st, "srandmember s 3");
    assert!(r.starts_with("*3\r\n"));
    let mut lines: Vec<&str> = r
        .split("\r\n")
        .filter(|l| !l.starts_with(['*', '$']))
        .collect();
    lines.retain(|l| !l.is_empty());
    lines.sort();
    lines.dedup();
    assert_eq!(lines.len(), 3, "distinct");
    assert_eq!(
        run(&mut st, "srandmember s x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        run(&mut st, "srandmember s -9223372036854775808"),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(run(&mut st, "srandmember s 1 2"), "-ERR syntax error\r\n");
    // Single member: bulk.
    run(&mut st, "sadd one x");
    assert_eq!(run(&mut st, "srandmember one"), "$1\r\nx\r\n");
}

#[test]
fn smove_cases() {
    let mut st = store();
    run(&mut st, "sadd a 1 2");
    put_str(&mut st, "str");
    assert_eq!(run(&mut st, "smove a str 1"), WT);
    assert_eq!(run(&mut st, "smove str a 1"), WT);
    assert_eq!(run(&mut st, "smove no str 1"), ":0\r\n");
    assert_eq!(run(&mut st, "smove a a 1"), ":1\r\n");
    assert_eq!(run(&mut st, "smove a a 9"), ":0\r\n");
    assert_eq!(run(&mut st, "smove a b 9"), ":0\r\n");
    assert_eq!(run(&mut st, "smove a b 1"), ":1\r\n");
    assert_eq!(run(&mut st, "smove a b 2"), ":1\r\n");
    assert!(st.dbs[0].dict.get(b"a").is_none());
    assert_eq!(run(&mut st, "smembers b"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
}

#[test]
fn algebra() {
    let mut st = store();
    run(&mut st, "sadd a 1 2 3 4");
    run(&mut st, "sadd b 3 4 5");
    run(&mut st, "sadd c 4 9");
    assert_eq!(run(&mut st, "sinter a b c"), "*1\r\n$1\r\n4\r\n");
    assert_eq!(run3(&mut st, "sinter a b"), "~2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    assert_eq!(run(&mut st, "sinter a no"), "*0\r\n");
    assert_eq!(
        run(&mut st, "sunion a b"),
        "*5\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n$1\r\n5\r\n"
    );
    assert_eq!(run(&mut st, "sdiff a b c"), "*2\r\n$1\r\n1\r\n$1\r\n2\r\n");
    assert_eq!(run(&mut st, "sdiff no a"), "*0\r\n");
    assert_eq!(
        run(&mut st, "sdiff a no"),
        "*4\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n$1\r\n4\r\n"
    );
    put_str(&mut st, "str");
    assert_eq!(run(&mut st, "sinter no str"), WT);
    assert_eq!(run(&mut st, "sunion no str"), WT);
    assert_eq!(run(&mut st, "sdiff no str"), WT);
    assert_eq!(run(&mut st, "sinterstore d no str"), WT);
    assert_eq!(run(&mut st, "sinterstore d a b"), ":2\r\n");
    assert_eq!(run(&mut st, "smembers d"), "*2\r\n$1\r\n3\r\n$1\r\n4\r\n");
    st.set_expire(0, b"d", NOW + 100_000);
    assert_eq!(run(&mut st, "sunionstore d a c"), ":5\r\n");
    assert_eq!(st.get_expire(0, b"d"), None);
    assert_eq!(run(&mut st, "sdiffstore d a a"), ":0\r\n");
    assert!(st.dbs[0].dict.get(b"d").is_none());
    // The destination may be a wrong-typed key: it is overwritten.
    assert_eq!(run(&mut st, "sunionstore str a"), ":4\r\n");
    props(&mut st);
    let d = st.dirty;
    assert_eq!(run(&mut st, "sdiffstore nothing no"), ":0\r\n");
    assert_eq!(st.dirty, d, "nothing stored or deleted: not propagated");
    run(&mut st, "sadd e 1");
    assert_eq!(run(&mut st, "sinterstore e no"), ":0\r\n");
    assert!(st.dirty > d, "deleting the destination is a write");
}

#[test]
fn sintercard_options() {
    let mut st = store();
    run(&mut st, "sadd a 1 2 3 4");
    run(&mut st, "sadd b 2 3 4 5");
    assert_eq!(run(&mut st, "sintercard 2 a b"), ":3\r\n");
    assert_eq!(run(&mut st, "sintercard 2 a b limit 2"), ":2\r\n");
    assert_eq!(run(&mut st, "sintercard 2 a b LIMIT 0"), ":3\r\n");
    assert_eq!(run(&mut st, "sintercard 1 a"), ":4\r\n");
    assert_eq!(run(&mut st, "sintercard 2 a no"), ":0\r\n");
    let e0 = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(run(&mut st, "sintercard 0 a"), e0);
    assert_eq!(run(&mut st, "sintercard -1 a"), e0);
    assert_eq!(run(&mut st, "sintercard x a"), e0);
    assert_eq!(
        run(&mut st, "sintercard 3 a b"),
        "-ERR Number of keys can't be greater than number of args\r\n"
    );
    assert_eq!(
        run(&mut st, "sintercard 1 a limit -1"),
        "-ERR LIMIT can't be negative\r\n"
    );
    assert_eq!(
        run(&mut st, "sintercard 1 a limit x"),
        "-ERR LIMIT can't be negative\r\n"
    );
    assert_eq!(run(&mut st, "sintercard 1 a foo"), "-ERR syntax error\r\n");
    assert_eq!(
        run(&mut st, "sintercard 1 a limit"),
        "-ERR syntax error\r\n"
    );
}

#[test]
fn sscan_cursor_and_options() {
    let mut st = store();
    run(&mut st, "sadd i 1 2 3");
    assert_eq!(
        run(&mut st, "sscan i 0"),
        "*2\r\n$1\r\n0\r\n*3\r\n$1\r\n1\r\n$1\r\n2\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        run(&mut st, "sscan i 0 match 2"),
        "*2\r\n$1\r\n0\r\n*1\r\n$1\r\n2\r\n"
    );
    assert_eq!(run(&mut st, "sscan no 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    assert_eq!(run(&mut st, "sscan i x"), "-ERR invalid cursor\r\n");
    assert_eq!(
        run(&mut st, "sscan i 18446744073709551616"),
        "-ERR invalid cursor\r\n"
    );
    assert_eq!(run(&mut st, "sscan i 0 count 0"), "-ERR syntax error\r\n");
    assert_eq!(
        run(&mut st, "sscan i 0 count x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(run(&mut st, "sscan i 0 match"), "-ERR syntax error\r\n");
    assert_eq!(run(&mut st, "sscan i 0 type set"), "-ERR syntax error\r\n");
    // A big hashtable set is walked by cursor; every member comes back.
    let mut args = vec![Bytes::from_static(b"sadd"), Bytes::from_static(b"h")];
    args.extend((0..500).map(|i| Bytes::from(format!("m{i}"))));
    run_args(&mut st, Proto::Resp2, &args);
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashSet::new();
    let mut calls = 0;
    loop {
        let r = run(&mut st, &format!("sscan h {cursor} count 20"));
        let parts: Vec<&str> = r.split("\r\n").collect();
        cursor = parts[2].to_string();
        for p in parts[4..].iter().filter(|p| p.starts_with('m')) {
            seen.insert(p.to_string());
        }
        calls += 1;
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 500);
    assert!(calls > 10);
}
