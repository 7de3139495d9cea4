//! Streams without consumer groups against a real redis-server 7.0, reply for
//! reply in RESP2 and RESP3: XADD (ID forms, NOMKSTREAM, MAXLEN/MINID with `=`
//! and `~`, LIMIT, their errors), XLEN, XRANGE/XREVRANGE (`-`, `+`, `(`
//! bounds, COUNT), XDEL then XADD, XSETID (ENTRIESADDED, MAXDELETEDID),
//! non-blocking XREAD, XINFO STREAM, MULTI/EXEC, TYPE, OBJECT ENCODING, COPY,
//! RENAME, MOVE, SCAN TYPE, and DUMP/RESTORE of a stream with groups between
//! Tandem and Redis.
//!
//! Trims over many nodes: server_stream_trim.rs; WRONGTYPE, arity and the
//! order of checks: server_stream_errors.rs; groups: server_stream_groups.rs
//! and server_stream_claim.rs; blocking reads: server_stream_block.rs;
//! replication and restarts: server_stream_repl.rs. The comparison and its
//! normalization of time fields: stream/support.rs.

mod common;
#[path = "stream/support.rs"]
mod support;

use support::{owned, same_as_redis_both, under_test, Session};

/// ID forms XADD accepts and refuses, XRANGE/XREVRANGE bounds, XDEL.
const IDS: &[&[&str]] = &[
    &["XADD", "s", "1-1", "f", "v"],
    &["XADD", "s", "1-2", "f1", "v1", "f2", "v2"],
    &["XADD", "s", "1-2", "f", "v"],
    &["XADD", "s", "1-1", "f", "v"],
    &["XADD", "s", "1", "f", "v"],
    &["XADD", "s", "2", "f", "v"],
    &["XADD", "s", "2-*", "f", "v"],
    &["XADD", "s", "2-*", "f", "v"],
    &["XADD", "s", "3-*", "f", "v"],
    &["XADD", "s", "1-*", "f", "v"],
    &["XADD", "s", "+5", "f", "v"],
    &["XADD", "s", " 6", "f", "v"],
    &["XADD", "s", "7-+2", "f", "v"],
    &["XADD", "s", "7-3 ", "f", "v"],
    &["XADD", "s", "8-18446744073709551615", "f", "v"],
    &["XADD", "s", "8-*", "f", "v"],
    &["XADD", "s", "9-18446744073709551616", "f", "v"],
    &["XADD", "s", "18446744073709551616", "f", "v"],
    &["XADD", "s", "18446744073709551616-0", "f", "v"],
    &["XADD", "s", "9-", "f", "v"],
    &["XADD", "s", "-9", "f", "v"],
    &["XADD", "s", "-1", "f", "v"],
    &["XADD", "s", "9-1-1", "f", "v"],
    &["XADD", "s", "9-x", "f", "v"],
    &["XADD", "s", "abc", "f", "v"],
    &["XADD", "s", "", "f", "v"],
    &["XADD", "s", "-", "f", "v"],
    &["XADD", "s", "+", "f", "v"],
    &["XADD", "s", "$", "f", "v"],
    &["XADD", "s", "*-1", "f", "v"],
    &["XADD", "s", "**", "f", "v"],
    &["XADD", "s", "0-0", "f", "v"],
    &["XADD", "s0", "0-0", "f", "v"],
    &["XADD", "s0", "0-*", "f", "v"],
    &["XADD", "s0", "0-*", "f", "v"],
    &["XADD", "s", "9-1", "", ""],
    &["XADD", "s", "9-2", "bin\0ary", "\r\n", "f", "x\0y"],
    &[
        "XADD",
        "s",
        "9-3",
        "num",
        "12345",
        "neg",
        "-7",
        "big",
        "18446744073709551616",
    ],
    &["XADD", "s", "9-4", "f"],
    &["XADD", "s", "9-4", "f", "v", "g"],
    &["XADD", "s", "9-4"],
    &["XADD", "s"],
    &["XADD"],
    &["XLEN", "s"],
    &["XLEN", "nokey"],
    &["XLEN", "s", "x"],
    &["XLEN"],
    &["XRANGE", "s", "-", "+"],
    &["XRANGE", "s", "-", "+", "COUNT", "2"],
    &["XRANGE", "s", "-", "+", "count", "3"],
    &["XRANGE", "s", "-", "+", "COUNT", "0"],
    &["XRANGE", "s", "-", "+", "COUNT", "-1"],
    &["XRANGE", "s", "-", "+", "COUNT", "abc"],
    &["XRANGE", "s", "-", "+", "COUNT"],
    &["XRANGE", "s", "-", "+", "COUNT", "1", "COUNT", "2"],
    &["XRANGE", "s", "-", "+", "FOO"],
    &["XRANGE", "s", "2", "2"],
    &["XRANGE", "s", "2-1", "2-1"],
    &["XRANGE", "s", "(2-0", "+"],
    &["XRANGE", "s", "(2", "(7-2"],
    &["XRANGE", "s", "-", "(2-1"],
    &["XRANGE", "s", "(8-18446744073709551615", "+"],
    &[
        "XRANGE",
        "s",
        "(18446744073709551615-18446744073709551615",
        "+",
    ],
    &["XRANGE", "s", "-", "(0-0"],
    &["XRANGE", "s", "-", "(0"],
    &["XRANGE", "s", "(", "+"],
    &["XRANGE", "s", "(-", "+"],
    &["XRANGE", "s", "-", "(+"],
    &["XRANGE", "s", "((1", "+"],
    &["XRANGE", "s", "(1-*", "+"],
    &["XRANGE", "s", "1-*", "+"],
    &["XRANGE", "s", "+", "-"],
    &["XRANGE", "s", "7", "-"],
    &["XRANGE", "s", "abc", "+"],
    &["XRANGE", "s", "-", "abc"],
    &["XRANGE", "s", "+5", "7-+2"],
    &[
        "XRANGE",
        "s",
        "8-18446744073709551615",
        "18446744073709551615-18446744073709551615",
    ],
    &["XRANGE", "s", "-", "18446744073709551616"],
    &["XRANGE", "nokey", "-", "+"],
    &["XRANGE", "s", "-"],
    &["XREVRANGE", "s", "+", "-"],
    &["XREVRANGE", "s", "+", "-", "COUNT", "3"],
    &["XREVRANGE", "s", "(7-2", "-"],
    &["XREVRANGE", "s", "+", "(2-1"],
    &["XREVRANGE", "s", "-", "+"],
    &["XREVRANGE", "s", "(0-0", "-"],
    &[
        "XREVRANGE",
        "s",
        "+",
        "(18446744073709551615-18446744073709551615",
    ],
    &["XREVRANGE", "s", "2", "2"],
    &["XREVRANGE", "nokey", "+", "-"],
    &["XREVRANGE", "s", "+", "-", "COUNT", "0"],
    &["XREVRANGE", "s", "+"],
    &["XDEL", "s", "2-0", "2-1", "99-0"],
    &["XDEL", "s", "2-0"],
    &["XDEL", "s", "-"],
    &["XDEL", "s", "+"],
    &["XDEL", "s", "3-*"],
    &["XDEL", "s", "3-0", "abc"],
    &["XLEN", "s"],
    &["XDEL", "s", "3"],
    &["XDEL", "nokey", "1-1"],
    &["XDEL", "s"],
    &["XADD", "s", "2-5", "f", "v"],
    &["XINFO", "STREAM", "s"],
    &["XDEL", "s", "9-3"],
    &["XADD", "s", "9-3", "f", "v"],
    &["XADD", "s", "9-*", "f", "v"],
    &["XINFO", "STREAM", "s"],
    &["XRANGE", "s", "-", "+"],
    &["XADD", "s", "NOMKSTREAM", "10-1", "f", "v"],
    &["XADD", "nokey", "NOMKSTREAM", "1-1", "f", "v"],
    &[
        "XADD",
        "nokey",
        "NOMKSTREAM",
        "MAXLEN",
        "1",
        "1-1",
        "f",
        "v",
    ],
    &["EXISTS", "nokey"],
    &["XADD", "s", "nomkstream", "maxlen", "100", "10-2", "f", "v"],
    &["XADD", "s", "NOMKSTREAM"],
    &["XADD", "s", "FOO", "10-3", "f", "v"],
    &["XADD", "s", "MAXLEN", "10-3", "f", "v"],
    &["XADD", "s", "MAXLEN", "abc", "10-3", "f", "v"],
    &["XADD", "s", "MAXLEN", "-1", "10-3", "f", "v"],
    &["XADD", "s", "MAXLEN", "~", "-1", "10-3", "f", "v"],
    &[
        "XADD",
        "s",
        "MAXLEN",
        "9223372036854775808",
        "10-3",
        "f",
        "v",
    ],
    &["XADD", "s", "MINID", "abc", "10-3", "f", "v"],
    &["XADD", "s", "MINID", "-", "10-3", "f", "v"],
    &["XADD", "s", "MINID", "(1", "10-3", "f", "v"],
    &["XADD", "s", "MAXLEN", "5", "MINID", "1", "10-3", "f", "v"],
    &["XADD", "s", "MINID", "1", "MAXLEN", "5", "10-3", "f", "v"],
    &["XADD", "s", "LIMIT", "10", "10-3", "f", "v"],
    &["XADD", "s", "MAXLEN", "5", "LIMIT", "10", "10-3", "f", "v"],
    &[
        "XADD", "s", "MAXLEN", "=", "5", "LIMIT", "10", "10-3", "f", "v",
    ],
    &[
        "XADD", "s", "MAXLEN", "~", "5", "LIMIT", "-1", "10-3", "f", "v",
    ],
    &[
        "XADD", "s", "MAXLEN", "~", "5", "LIMIT", "abc", "10-3", "f", "v",
    ],
    &["XADD", "s", "MAXLEN", "~", "5", "LIMIT", "10-3", "f", "v"],
    &["XADD", "s", "MAXLEN", "==", "5", "10-3", "f", "v"],
    &[
        "XADD", "s", "MAXLEN", "~", "100", "MAXLEN", "=", "100", "10-3", "f", "v",
    ],
    &["XRANGE", "s", "-", "+"],
    &["XLEN", "s"],
    &["XADD", "s", "MAXLEN", "3", "11-1", "f", "v"],
    &["XRANGE", "s", "-", "+"],
    &["XADD", "s", "MINID", "=", "10-2", "11-2", "f", "v"],
    &["XRANGE", "s", "-", "+"],
    &["XADD", "s", "MAXLEN", "0", "11-3", "f", "v"],
    &["XLEN", "s"],
    &["XINFO", "STREAM", "s"],
    &["XADD", "s", "MINID", "11-4", "11-4", "f", "v"],
    &["XADD", "s", "MINID", "11-5", "11-5", "f", "v"],
    &["XLEN", "s"],
    &[
        "XADD",
        "s",
        "18446744073709551615-18446744073709551615",
        "f",
        "v",
    ],
    &["XADD", "s", "*", "f", "v"],
    &["XADD", "s", "18446744073709551615-*", "f", "v"],
    &["XINFO", "STREAM", "s"],
];

#[test]
fn ids_ranges_and_deletes_reply_as_redis_does() {
    let [t, _] = same_as_redis_both(&owned(IDS), &[]);
    // The comparison met what it should: a refused ID, a range error, the
    // exhausted stream.
    assert!(support::line(&t, r#"["XADD", "s", "abc""#)
        .contains("Invalid stream ID specified as stream command argument"));
    assert!(
        support::line(&t, r#"["XRANGE", "s", "(18446744073709551615"#)
            .contains("invalid start ID for the interval")
    );
    assert!(support::line(&t, r#"["XADD", "s", "*""#).contains("exhausted the last possible ID"));
}

/// XSETID: moving the last ID (not below the last entry), ENTRIESADDED and
/// MAXDELETEDID and their checks; `*` after a last ID in the future.
const SETID: &[&[&str]] = &[
    &["XSETID", "nokey", "1-1"],
    &["XADD", "s", "5-1", "f", "v"],
    &["XADD", "s", "6-1", "f", "v"],
    &["XSETID", "s", "5-9"],
    &["XSETID", "s", "6-1"],
    &["XSETID", "s", "99-0"],
    &["XINFO", "STREAM", "s"],
    &["XSETID", "s", "7-0"],
    &["XINFO", "STREAM", "s"],
    &["XADD", "s", "6-5", "f", "v"],
    &["XADD", "s", "7-*", "f", "v"],
    &["XSETID", "s", "99999999999999-5"],
    &["XADD", "s", "*", "f", "v"],
    &["XADD", "s", "*", "g", "w"],
    &["XADD", "s", "99999999999999-*", "f", "v"],
    &["XADD", "s", "99999999999998-*", "f", "v"],
    &["XSETID", "s", "99999999999999-10", "ENTRIESADDED", "1"],
    &["XSETID", "s", "99999999999999-10", "ENTRIESADDED", "4"],
    &[
        "XSETID",
        "s",
        "99999999999999-10",
        "ENTRIESADDED",
        "100",
        "MAXDELETEDID",
        "99999999999999-11",
    ],
    &[
        "XSETID",
        "s",
        "99999999999999-10",
        "ENTRIESADDED",
        "100",
        "MAXDELETEDID",
        "5-0",
    ],
    &["XINFO", "STREAM", "s"],
    &[
        "XSETID",
        "s",
        "99999999999999-10",
        "MAXDELETEDID",
        "99999999999999-10",
    ],
    &["XSETID", "s", "99999999999999-10", "ENTRIESADDED", "-1"],
    &["XSETID", "s", "99999999999999-10", "ENTRIESADDED", "abc"],
    &["XSETID", "s", "99999999999999-10", "MAXDELETEDID", "abc"],
    &["XSETID", "s", "99999999999999-10", "MAXDELETEDID", "-"],
    &["XSETID", "s", "99999999999999-10", "FOO"],
    &["XSETID", "s", "99999999999999-10", "ENTRIESADDED"],
    &[
        "XSETID",
        "s",
        "99999999999999-10",
        "ENTRIESADDED",
        "100",
        "ENTRIESADDED",
        "200",
    ],
    &["XSETID", "s", "-"],
    &["XSETID", "s", "+"],
    &["XSETID", "s", "$"],
    &["XSETID", "s", "1-*"],
    &["XSETID", "s", "abc"],
    &["XSETID", "s"],
    &["XSETID"],
    &["XINFO", "STREAM", "s"],
    &["XGROUP", "CREATE", "e", "g", "$", "MKSTREAM"],
    &["XSETID", "e", "0-0"],
    &[
        "XSETID",
        "e",
        "5-5",
        "ENTRIESADDED",
        "0",
        "MAXDELETEDID",
        "5-5",
    ],
    &["XINFO", "STREAM", "e"],
    &["XADD", "e", "5-5", "f", "v"],
    &["XADD", "e", "5-*", "f", "v"],
    &["XINFO", "STREAM", "e"],
    &["XSETID", "e", "0-0"],
    &["XSETID", "e", "5-6"],
    &["XDEL", "e", "5-6"],
    &["XSETID", "e", "0-1"],
    &["XINFO", "STREAM", "e"],
    &["XADD", "e", "0-2", "f", "v"],
    &["XRANGE", "e", "-", "+"],
];

#[test]
fn xsetid_replies_as_redis_does() {
    let [t, _] = same_as_redis_both(&owned(SETID), &[]);
    assert!(support::line(&t, r#"["XADD", "s", "*", "g""#).contains("99999999999999-7"));
}

/// Non-blocking XREAD (and BLOCK that times out at once or finds data).
const READ: &[&[&str]] = &[
    &["XADD", "s", "1-1", "a", "1"],
    &["XADD", "s", "1-2", "b", "2"],
    &["XADD", "s", "2-1", "c", "3"],
    &["XADD", "t", "5-1", "d", "4"],
    &["XREAD", "STREAMS", "s", "0"],
    &["XREAD", "COUNT", "2", "STREAMS", "s", "0-0"],
    &["XREAD", "COUNT", "1", "STREAMS", "s", "t", "1-1", "0"],
    &["XREAD", "count", "1", "streams", "s", "t", "1-1", "0"],
    &["XREAD", "STREAMS", "s", "t", "nokey", "0", "0", "0"],
    &["XREAD", "STREAMS", "s", "$"],
    &["XREAD", "STREAMS", "s", "2-1"],
    &["XREAD", "STREAMS", "s", "2"],
    &["XREAD", "STREAMS", "s", "1"],
    &["XREAD", "STREAMS", "s", "-"],
    &["XREAD", "STREAMS", "s", "+"],
    &["XREAD", "STREAMS", "nokey", "0"],
    &["XREAD", "STREAMS", "s", "s", "0", "1-2"],
    &["XREAD", "COUNT", "0", "STREAMS", "s", "0"],
    &["XREAD", "COUNT", "-1", "STREAMS", "s", "0"],
    &["XREAD", "COUNT", "abc", "STREAMS", "s", "0"],
    &["XREAD", "COUNT", "1", "COUNT", "2", "STREAMS", "s", "0"],
    &["XREAD", "BLOCK", "0", "STREAMS", "s", "0"],
    &["XREAD", "BLOCK", "10", "STREAMS", "s", "$"],
    &["XREAD", "BLOCK", "10", "STREAMS", "nokey", "0"],
    &["XREAD", "BLOCK", "-1", "STREAMS", "s", "0"],
    &["XREAD", "BLOCK", "abc", "STREAMS", "s", "0"],
    &["XREAD", "BLOCK", "1.5", "STREAMS", "s", "0"],
    &["XREAD", "STREAMS", "s", ">"],
    &["XREAD", "STREAMS", "s", "(1-1"],
    &["XREAD", "STREAMS", "s", "abc"],
    &["XREAD", "STREAMS", "s", "1-*"],
    &["XREAD", "STREAMS", "s"],
    &["XREAD", "STREAMS", "s", "t", "0"],
    &["XREAD", "STREAMS", "s", "0", "STREAMS", "t", "0"],
    &["XREAD", "STREAMS"],
    &["XREAD", "COUNT", "1", "s", "0"],
    &["XREAD", "FOO", "STREAMS", "s", "0"],
    &["XREAD", "NOACK", "STREAMS", "s", "0"],
    &["XREAD", "GROUP", "g", "c", "STREAMS", "s", "0"],
    &["XREAD", "COUNT", "1"],
    &["XREAD"],
    &["SET", "str", "x"],
    &["XREAD", "STREAMS", "str", "0"],
    &["XREAD", "STREAMS", "s", "str", "0", "0"],
    &["XREAD", "STREAMS", "str", "$"],
];

#[test]
fn xread_without_blocking_replies_as_redis_does() {
    let [t2, t3] = same_as_redis_both(&owned(READ), &[]);
    // A read that times out: a null array in RESP2, a null in RESP3.
    let timeout = r#"["XREAD", "BLOCK", "10", "STREAMS", "s", "$"]"#;
    assert!(support::line(&t2, timeout).ends_with(r#""*-1\r\n""#));
    assert!(support::line(&t3, timeout).ends_with(r#""_\r\n""#));
}

/// Streams in the keyspace (TYPE, OBJECT ENCODING, COPY, RENAME, SCAN TYPE,
/// MOVE, DEL), and MULTI/EXEC blocks of stream commands (blocking reads
/// inside MULTI do not block).
const KEYSPACE_AND_MULTI: &[&[&str]] = &[
    &["XADD", "s", "1-1", "f", "v"],
    &["XADD", "s", "2-1", "g", "w"],
    &["XGROUP", "CREATE", "s", "grp", "0"],
    &[
        "XREADGROUP",
        "GROUP",
        "grp",
        "alice",
        "COUNT",
        "1",
        "STREAMS",
        "s",
        ">",
    ],
    &["TYPE", "s"],
    &["OBJECT", "ENCODING", "s"],
    &["COPY", "s", "c1"],
    &["XINFO", "STREAM", "c1", "FULL"],
    &["XINFO", "GROUPS", "c1"],
    &["XADD", "c1", "3-1", "h", "x"],
    &["XLEN", "s"],
    &["COPY", "s", "c1"],
    &["COPY", "s", "c1", "REPLACE"],
    &["XLEN", "c1"],
    &["RENAME", "c1", "c2"],
    &["EXISTS", "c1"],
    &["XINFO", "STREAM", "c2", "FULL"],
    &["XREADGROUP", "GROUP", "grp", "bob", "STREAMS", "c2", ">"],
    &["XPENDING", "c2", "grp"],
    &["XPENDING", "s", "grp"],
    &["RENAMENX", "c2", "s"],
    &["SELECT", "9"],
    &["SET", "str", "x"],
    &["RPUSH", "list", "a"],
    &["XADD", "only", "1-1", "f", "v"],
    &["SCAN", "0", "TYPE", "stream", "COUNT", "100"],
    &["SCAN", "0", "TYPE", "STREAM", "COUNT", "100"],
    &["MOVE", "only", "0"],
    &["SCAN", "0", "TYPE", "stream", "COUNT", "100"],
    &["SELECT", "0"],
    &["XRANGE", "only", "-", "+"],
    &["TYPE", "only"],
    &["DEL", "only"],
    &["MULTI"],
    &["XADD", "m", "1-1", "f", "v"],
    &["XADD", "m", "1-1", "f", "v"],
    &["XADD", "m", "1-*", "f", "v"],
    &["XLEN", "m"],
    &["XRANGE", "m", "-", "+"],
    &["XREAD", "BLOCK", "0", "STREAMS", "m", "$"],
    &["XREAD", "BLOCK", "0", "STREAMS", "m", "0"],
    &["XGROUP", "CREATE", "m", "g", "0"],
    &[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "m",
        ">",
    ],
    &[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "m",
        ">",
    ],
    &[
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "nokey",
        ">",
    ],
    &["XACK", "m", "g", "1-1"],
    &["XPENDING", "m", "g"],
    &["XINFO", "GROUPS", "m"],
    &["XTRIM", "m", "MAXLEN", "1"],
    &["XDEL", "m", "1-2"],
    &["XINFO", "STREAM", "m"],
    &["EXEC"],
    &["MULTI"],
    &["XADD", "m", "5-1", "f", "v"],
    &["XADD", "m"],
    &["EXEC"],
    &["XLEN", "m"],
    &["MULTI"],
    &["XGROUP", "CREATE", "m", "g2", "$"],
    &[
        "XREADGROUP",
        "GROUP",
        "g2",
        "c",
        "BLOCK",
        "100",
        "STREAMS",
        "m",
        ">",
    ],
    &["XADD", "m", "6-1", "f", "v"],
    &[
        "XREADGROUP",
        "GROUP",
        "g2",
        "c",
        "BLOCK",
        "100",
        "STREAMS",
        "m",
        ">",
    ],
    &["EXEC"],
    &["MULTI"],
    &["XGROUP", "HELP"],
    &["XINFO", "HELP"],
    &["XGROUP", "NOSUCH"],
    &["EXEC"],
];

#[test]
fn streams_in_the_keyspace_and_in_transactions_reply_as_redis_does() {
    let [t, _] = same_as_redis_both(&owned(KEYSPACE_AND_MULTI), &[]);
    assert!(support::line(&t, r#"["OBJECT", "ENCODING", "s"]"#).contains("stream"));
    assert!(support::line(&t, r#"["SCAN", "0", "TYPE", "stream""#).contains("only"));
}

/// A stream with groups, consumers, a PEL, deleted entries and a moved last
/// ID: DUMP on one side RESTOREs on the other (Tandem to Redis and back) and
/// reads the same (XINFO STREAM FULL, XINFO GROUPS and CONSUMERS, XPENDING).
#[test]
fn dump_and_restore_move_a_stream_with_groups_both_ways() {
    let setup: &[&[&str]] = &[
        &["XADD", "s", "1-1", "f", "v", "n", "12"],
        &["XADD", "s", "2-1", "f", "w"],
        &["XADD", "s", "3-1", "g", "x"],
        &["XADD", "s", "4-1", "f", "y"],
        &["XDEL", "s", "2-1"],
        &["XGROUP", "CREATE", "s", "g1", "0"],
        &["XGROUP", "CREATE", "s", "g2", "$", "ENTRIESREAD", "3"],
        &["XGROUP", "CREATECONSUMER", "s", "g2", "idle"],
        &[
            "XREADGROUP",
            "GROUP",
            "g1",
            "alice",
            "COUNT",
            "2",
            "STREAMS",
            "s",
            ">",
        ],
        &["XREADGROUP", "GROUP", "g1", "bob", "STREAMS", "s", ">"],
        &[
            "XCLAIM",
            "s",
            "g1",
            "bob",
            "0",
            "1-1",
            "TIME",
            "1000000000000",
            "RETRYCOUNT",
            "7",
        ],
        &["XACK", "s", "g1", "4-1"],
        &[
            "XSETID",
            "s",
            "9-9",
            "ENTRIESADDED",
            "20",
            "MAXDELETEDID",
            "8-0",
        ],
    ];
    let reads: &[&[&str]] = &[
        &["XINFO", "STREAM", "s", "FULL"],
        &["XINFO", "STREAM", "s"],
        &["XINFO", "GROUPS", "s"],
        &["XINFO", "CONSUMERS", "s", "g1"],
        &["XINFO", "CONSUMERS", "s", "g2"],
        &["XPENDING", "s", "g1", "-", "+", "10"],
        &["XRANGE", "s", "-", "+"],
        &["OBJECT", "ENCODING", "s"],
    ];
    let view = |s: &mut Session| -> Vec<String> {
        reads
            .iter()
            .map(|r| {
                let mut x = s.call(r);
                support::normalize(&mut x, support::now_ms());
                format!("{r:?} -> {}", x.show())
            })
            .collect()
    };
    let ours = under_test(&[]);
    let redis = common::Proc::redis(&[]);
    let mut a = Session::open(&ours, false);
    let mut b = Session::open(&redis, false);
    for c in setup {
        a.ok(c);
        b.ok(c);
    }
    let expected = view(&mut b);
    assert_eq!(view(&mut a), expected, "the same stream before any DUMP");
    move_stream(&mut a, &mut b, "ours to redis", &expected, &view);
    move_stream(&mut b, &mut a, "redis to ours", &expected, &view);
}

/// DUMP `s` on `from`, RESTORE it on `to` in place of its own, and check `to`'s view.
fn move_stream(
    from: &mut Session,
    to: &mut Session,
    what: &str,
    expected: &[String],
    view: &dyn Fn(&mut Session) -> Vec<String>,
) {
    let Some(payload) = from.call(&["DUMP", "s"]).bulk() else {
        panic!("DUMP {what}");
    };
    to.ok(&["DEL", "s"]);
    let r = to.call_bytes(&[b"RESTORE", b"s", b"0", &payload]);
    assert_eq!(r, support::Resp::Line(b'+', "OK".into()), "RESTORE {what}");
    assert_eq!(view(to), expected, "after RESTORE {what}");
}
