//! Stream command tests, driving the handlers directly. Expected replies were
//! taken from a real redis-server 7.0.15; what goes to replicas is checked too.

use super::*;
use crate::cmd::string::testutil::T;

#[test]
fn ids_parse_as_redis_reads_them() {
    let p = |s: &str| parse_id_full(s.as_bytes(), false, 7, true).ok();
    assert_eq!(p("5"), Some((StreamId::new(5, 7), true)));
    assert_eq!(p("5-3"), Some((StreamId::new(5, 3), true)));
    assert_eq!(p("5-*"), Some((StreamId::new(5, 0), false)));
    assert_eq!(p("-"), Some((StreamId::MIN, true)));
    assert_eq!(p("+"), Some((StreamId::MAX, true)));
    // strtoull's leniency past string2ll: a blank, a plus sign.
    assert_eq!(p(" 5"), Some((StreamId::new(5, 7), true)));
    assert_eq!(p("+5"), Some((StreamId::new(5, 7), true)));
    assert_eq!(p("5- 1"), Some((StreamId::new(5, 1), true)));
    // What string2ll reads and is negative, or nothing reads, is invalid (the
    // split at the first `-` comes first: " -1" has a blank for milliseconds).
    for bad in [
        "-5",
        " -1",
        "5--1",
        "5-",
        "a",
        "",
        "18446744073709551616",
        "1-2-3",
        "5-**",
    ] {
        assert_eq!(p(bad), None, "{bad:?}");
    }
    assert_eq!(
        p("18446744073709551615-18446744073709551615"),
        Some((StreamId::MAX, true))
    );
    // C stops at a NUL; over 127 bytes is refused.
    assert_eq!(p("9\0junk"), Some((StreamId::new(9, 7), true)));
    assert_eq!(p(&"1".repeat(128)), None);
    // Strict: no `-`/`+`.
    assert!(parse_strict_id(b"-").is_err());
    assert!(parse_strict_id(b"+").is_err());
    assert_eq!(
        parse_interval(b"(5-1", 0).ok(),
        Some((StreamId::new(5, 1), true))
    );
    assert!(parse_interval(b"(-", 0).is_err());
    assert_eq!(parse_interval(b"(", 0).ok(), None);
}

#[test]
fn xadd_ids_errors_and_propagation() {
    let mut t = T::new();
    assert_eq!(t.cmd("XADD s 1-1 a 1"), "$3\r\n1-1\r\n");
    assert_eq!(
        t.cmd("XADD s 1-1 a 1"),
        "-ERR The ID specified in XADD is equal or smaller than the target stream top item\r\n"
    );
    assert_eq!(
        t.cmd("XADD s 0-0 a 1"),
        "-ERR The ID specified in XADD must be greater than 0-0\r\n"
    );
    assert_eq!(t.cmd("XADD s 1-* a 1"), "$3\r\n1-2\r\n");
    assert_eq!(
        t.cmd("XADD s 2 a"),
        "-ERR wrong number of arguments for 'xadd' command\r\n"
    );
    assert_eq!(
        t.cmd("XADD s MAXLEN 1 LIMIT 5 * a 1"),
        "-ERR syntax error, LIMIT cannot be used without the special ~ option\r\n"
    );
    assert_eq!(
        t.cmd("XADD s MINID 1 MAXLEN 1 * a 1"),
        "-ERR syntax error, MAXLEN and MINID options at the same time are not compatible\r\n"
    );
    assert_eq!(t.cmd("XADD nokey NOMKSTREAM * a 1"), "$-1\r\n");
    assert_eq!(t.cmd("EXISTS nokey"), ":0\r\n");
    t.take_prop();
    // `*` is propagated as the ID it became.
    let id = t.cmd("XADD s * a 1");
    assert_eq!(id, format!("$15\r\n{}-0\r\n", t.now));
    assert_eq!(t.take_prop(), vec![format!("XADD s {}-0 a 1", t.now)]);
    // At the same millisecond, the sequence goes up.
    assert_eq!(t.cmd("XADD s * a 1"), format!("$15\r\n{}-1\r\n", t.now));
    t.cmd("SET str x");
    assert_eq!(
        t.cmd("XADD str * a 1"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    t.cmd("XSETID s 18446744073709551615-18446744073709551615");
    assert_eq!(
        t.cmd("XADD s * a 1"),
        "-ERR The stream has exhausted the last possible ID, unable to add more items\r\n"
    );
}

#[test]
fn nodes_split_as_redis_listpacks() {
    let mut t = T::new();
    for i in 1..=202 {
        t.cmd(&format!("XADD t {i}-0 a 1"));
    }
    let info = t.cmd("XINFO STREAM t");
    // 100 entries per node (live + deleted): 3 nodes; Redis's rax has 8 nodes.
    assert!(info.contains("radix-tree-keys\r\n:3\r\n"), "{info}");
    assert!(info.contains("radix-tree-nodes\r\n:8\r\n"), "{info}");
    // 100-byte values: the 4096-byte limit cuts after 37 entries.
    let v = "x".repeat(100);
    for i in 1..=40 {
        t.cmd(&format!("XADD u {i}-0 a {v}"));
    }
    assert!(t
        .cmd("XINFO STREAM u")
        .contains("radix-tree-keys\r\n:2\r\n"));
}

#[test]
fn approximate_trims_remove_whole_nodes_and_propagate_exactly() {
    let mut t = T::new();
    for i in 1..=350 {
        t.cmd(&format!("XADD t {i}-0 a {i}"));
    }
    t.take_prop();
    // Nodes of 100: MAXLEN ~ 120 can drop two whole nodes and no more.
    assert_eq!(t.cmd("XTRIM t MAXLEN ~ 120"), ":200\r\n");
    assert_eq!(t.cmd("XLEN t"), ":150\r\n");
    assert_eq!(t.take_prop(), vec!["XTRIM t MAXLEN = 150"]);
    // LIMIT stops before a node that would pass it.
    assert_eq!(t.cmd("XTRIM t MAXLEN ~ 10 LIMIT 50"), ":0\r\n");
    assert_eq!(t.cmd("XTRIM t MAXLEN ~ 10 LIMIT 100"), ":100\r\n");
    // Exact trims mark entries inside a node.
    assert_eq!(t.cmd("XTRIM t MINID 305"), ":4\r\n");
    assert_eq!(t.cmd("XLEN t"), ":46\r\n");
    assert!(t
        .cmd("XINFO STREAM t")
        .contains("recorded-first-entry-id\r\n$5\r\n305-0"));
    // MINID ~ is rewritten to the first ID left, deleted entries included.
    t.take_prop();
    assert_eq!(t.cmd("XADD t MINID ~ 340 351-0 a 1"), "$5\r\n351-0\r\n");
    assert_eq!(t.take_prop(), vec!["XADD t MINID = 301-0 351-0 a 1"]);
}

#[test]
fn ranges_counts_and_exclusive_bounds() {
    let mut t = T::new();
    for i in 1..=5 {
        t.cmd(&format!("XADD s {i}-0 f {i}"));
    }
    assert_eq!(t.cmd("XRANGE s - + COUNT 0"), "*-1\r\n");
    assert_eq!(t.cmd("XRANGE nokey - + COUNT 0"), "*0\r\n");
    assert_eq!(
        t.cmd("XRANGE s (4 +"),
        "*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\n5\r\n"
    );
    assert_eq!(
        t.cmd("XREVRANGE s + - COUNT 1"),
        "*1\r\n*2\r\n$3\r\n5-0\r\n*2\r\n$1\r\nf\r\n$1\r\n5\r\n"
    );
    assert_eq!(
        t.cmd("XRANGE s (18446744073709551615-18446744073709551615 +"),
        "-ERR invalid start ID for the interval\r\n"
    );
    assert_eq!(
        t.cmd("XRANGE s - (0-0"),
        "-ERR invalid end ID for the interval\r\n"
    );
    assert_eq!(t.cmd("XRANGE s - + FOO"), "-ERR syntax error\r\n");
    assert_eq!(t.cmd("XDEL s 2-0 3-0 9-0"), ":2\r\n");
    assert_eq!(t.cmd("XRANGE s 2 3"), "*0\r\n");
    let info = t.cmd("XINFO STREAM s");
    assert!(info.contains("max-deleted-entry-id\r\n$3\r\n3-0"), "{info}");
}

#[test]
fn groups_deliver_track_and_propagate() {
    let mut t = T::new();
    t.cmd("XADD s 1-0 a 1");
    t.cmd("XADD s 2-0 a 2");
    assert_eq!(t.cmd("XGROUP CREATE s g 0"), "+OK\r\n");
    assert_eq!(
        t.cmd("XGROUP CREATE s g 0"),
        "-BUSYGROUP Consumer Group name already exists\r\n"
    );
    t.take_prop();
    let r = t.cmd("XREADGROUP GROUP g alice COUNT 1 STREAMS s >");
    assert_eq!(
        r,
        "*1\r\n*2\r\n$1\r\ns\r\n*1\r\n*2\r\n$3\r\n1-0\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    let now = t.now;
    assert_eq!(
        t.take_prop(),
        vec![
            "XGROUP CREATECONSUMER s g alice".to_string(),
            format!("XCLAIM s g alice 0 1-0 TIME {now} RETRYCOUNT 1 FORCE JUSTID LASTID 1-0"),
            "XGROUP SETID s g 1-0 ENTRIESREAD 1".to_string(),
        ]
    );
    assert_eq!(
        t.cmd("XPENDING s g"),
        "*4\r\n:1\r\n$3\r\n1-0\r\n$3\r\n1-0\r\n*1\r\n*2\r\n$5\r\nalice\r\n$1\r\n1\r\n"
    );
    // Nothing new for `>` past the last entry: a null reply, no block in MULTI.
    t.cmd("XREADGROUP GROUP g alice STREAMS s >");
    assert_eq!(t.cmd("XREADGROUP GROUP g alice STREAMS s >"), "*-1\r\n");
    // History after XDEL: the ID with a null, and the delivery is not counted.
    t.cmd("XDEL s 1-0");
    let r = t.cmd("XREADGROUP GROUP g alice STREAMS s 0");
    assert!(
        r.starts_with("*1\r\n*2\r\n$1\r\ns\r\n*2\r\n*2\r\n$3\r\n1-0\r\n*-1\r\n"),
        "{r}"
    );
    // XAUTOCLAIM drops the deleted one and reports it.
    let r = t.cmd("XAUTOCLAIM s g bob 0 0 JUSTID");
    assert_eq!(
        r,
        "*3\r\n$3\r\n0-0\r\n*1\r\n$3\r\n2-0\r\n*1\r\n$3\r\n1-0\r\n"
    );
    assert_eq!(t.cmd("XACK s g 2-0 2-0"), ":1\r\n");
    assert_eq!(t.cmd("XGROUP DELCONSUMER s g alice"), ":0\r\n");
    let groups = t.cmd("XINFO GROUPS s");
    assert!(
        groups.contains("entries-read\r\n:2\r\n$3\r\nlag\r\n:0\r\n"),
        "{groups}"
    );
    assert_eq!(
        t.cmd("XGROUP SETID s nog 0"),
        "-NOGROUP No such consumer group 'nog' for key name 's'\r\n"
    );
    assert_eq!(t.cmd("XGROUP DESTROY s g"), ":1\r\n");
}

#[test]
fn xread_blocks_with_the_resolved_dollar() {
    let mut t = T::new();
    t.cmd("XADD s 5-0 a 1");
    let args: Vec<Bytes> = ["XREAD", "BLOCK", "0", "STREAMS", "s", "$"]
        .iter()
        .map(|a| Bytes::from(a.to_string()))
        .collect();
    let mut out = tandem_resp::ReplyBuf::new(tandem_resp::Proto::Resp2);
    let mut exec = Exec::new(&mut t.store, 0, &mut out, t.now);
    read::xread(&mut exec, &args).expect("XREAD");
    let block = exec.block.take().expect("blocks");
    assert_eq!(block.deadline_ms, None);
    let rerun = block.args.expect("rewritten arguments");
    assert_eq!(&rerun[5][..], b"5-0");
    assert!(out.is_empty());
}
