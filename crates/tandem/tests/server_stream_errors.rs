//! Stream commands' errors against a real redis-server 7.0, in RESP2 and
//! RESP3: WRONGTYPE and wrong arity for every command and subcommand, COMMAND
//! INFO and GETKEYS of the stream commands, and which check answers first
//! when several would fail (key, type, group or arguments).

mod common;
#[path = "stream/support.rs"]
mod support;

use support::{owned, same_as_redis_both};

/// Which check comes first when several fail: Redis looks the key up before
/// parsing XDEL's IDs, parses XACK's after finding no key, and so on.
const CHECK_ORDER: &[&[&str]] = &[
    &["SET", "str", "x"],
    &["XADD", "s", "1-1", "f", "v"],
    &["XGROUP", "CREATE", "s", "g", "0"],
    &["XDEL", "nokey", "abc"],
    &["XDEL", "str", "abc"],
    &["XDEL", "s", "1-1", "abc"],
    &["XLEN", "s"],
    &["XACK", "nokey", "g", "abc"],
    &["XACK", "s", "nog", "abc"],
    &["XACK", "str", "g", "abc"],
    &["XTRIM", "nokey", "MAXLEN", "abc"],
    &["XTRIM", "nokey", "FOO", "1"],
    &["XTRIM", "str", "MAXLEN", "abc"],
    &["XSETID", "nokey", "abc"],
    &["XSETID", "str", "abc"],
    &["XSETID", "s", "5-0", "MAXDELETEDID", "6-0"],
    &["XSETID", "s", "5-0", "ENTRIESADDED", "0"],
    &["XRANGE", "nokey", "abc", "+"],
    &["XRANGE", "str", "abc", "+"],
    &["XPENDING", "nokey", "g", "abc", "+", "10"],
    &["XPENDING", "s", "nog", "-", "+", "abc"],
    &["XCLAIM", "nokey", "g", "c", "abc", "1-1"],
    &["XCLAIM", "s", "nog", "c", "0", "1-1", "FOO"],
    &["XAUTOCLAIM", "nokey", "g", "c", "abc", "0"],
    &["XAUTOCLAIM", "s", "nog", "c", "0", "0", "COUNT", "0"],
    &["XGROUP", "CREATE", "nokey", "g", "abc"],
    &["XGROUP", "CREATE", "str", "g", "abc"],
    &["XGROUP", "SETID", "s", "nog", "abc"],
    &["XINFO", "STREAM", "nokey", "FULL", "COUNT", "abc"],
    &["XINFO", "CONSUMERS", "str", "g"],
    &["XADD", "str", "NOMKSTREAM", "abc", "f", "v"],
    &["XADD", "nokey", "NOMKSTREAM", "abc", "f", "v"],
    &[
        "XADD",
        "nokey",
        "NOMKSTREAM",
        "MAXLEN",
        "abc",
        "1-1",
        "f",
        "v",
    ],
    &["XREADGROUP", "GROUP", "nog", "c", "STREAMS", "s", "abc"],
    &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "nokey", "abc"],
    &["XREAD", "STREAMS", "str", "abc"],
    &["XREAD", "STREAMS", "nokey", "abc"],
];

#[test]
fn the_first_failing_check_is_redis_s() {
    let [t, _] = same_as_redis_both(&owned(CHECK_ORDER), &[]);
    assert!(support::line(&t, r#"["XDEL", "nokey", "abc"]"#).ends_with(r#"":0\r\n""#));
}

/// Every stream command on a key of another type, and with no arguments.
const WRONGTYPE_AND_ARITY: &[&[&str]] = &[
    &["SET", "str", "x"],
    &["XADD", "str", "1-1", "f", "v"],
    &["XADD", "str", "NOMKSTREAM", "1-1", "f", "v"],
    &["XLEN", "str"],
    &["XRANGE", "str", "-", "+"],
    &["XREVRANGE", "str", "+", "-"],
    &["XDEL", "str", "1-1"],
    &["XTRIM", "str", "MAXLEN", "1"],
    &["XSETID", "str", "1-1"],
    &["XREAD", "STREAMS", "str", "0"],
    &["XREADGROUP", "GROUP", "g", "c", "STREAMS", "str", ">"],
    &["XGROUP", "CREATE", "str", "g", "0"],
    &["XGROUP", "CREATE", "str", "g", "0", "MKSTREAM"],
    &["XGROUP", "SETID", "str", "g", "0"],
    &["XGROUP", "DESTROY", "str", "g"],
    &["XGROUP", "CREATECONSUMER", "str", "g", "c"],
    &["XGROUP", "DELCONSUMER", "str", "g", "c"],
    &["XACK", "str", "g", "1-1"],
    &["XPENDING", "str", "g"],
    &["XPENDING", "str", "g", "-", "+", "10"],
    &["XCLAIM", "str", "g", "c", "0", "1-1"],
    &["XAUTOCLAIM", "str", "g", "c", "0", "0"],
    &["XINFO", "STREAM", "str"],
    &["XINFO", "STREAM", "str", "FULL"],
    &["XINFO", "GROUPS", "str"],
    &["XINFO", "CONSUMERS", "str", "g"],
    &["XADD"],
    &["XLEN"],
    &["XRANGE"],
    &["XREVRANGE"],
    &["XDEL"],
    &["XTRIM"],
    &["XSETID"],
    &["XREAD"],
    &["XREADGROUP"],
    &["XGROUP"],
    &["XACK"],
    &["XPENDING"],
    &["XCLAIM"],
    &["XAUTOCLAIM"],
    &["XINFO"],
    &["xadd", "k"],
    &["xrange", "k", "-"],
    &["xdel", "k"],
    &["xack", "k", "g"],
    &["xpending", "k"],
    &["xclaim", "k", "g", "c", "0"],
    &["xautoclaim", "k", "g", "c", "0"],
    &["XINFO", "STREAM"],
    &["XINFO", "GROUPS"],
    &["XINFO", "CONSUMERS", "k"],
    &["XINFO", "HELP", "x"],
    &["XGROUP", "CREATE", "k", "g"],
    &["XGROUP", "SETID", "k", "g"],
    &["XGROUP", "DESTROY", "k"],
    &["XGROUP", "CREATECONSUMER", "k", "g"],
    &["XGROUP", "DELCONSUMER", "k", "g"],
    &["XGROUP", "HELP", "x"],
    &["XLEN", "nokey"],
    // One command per COMMAND INFO: Redis lists subcommands in its hash
    // table's order.
    &[
        "COMMAND",
        "INFO",
        "xadd",
        "xlen",
        "xrange",
        "xrevrange",
        "xdel",
        "xtrim",
        "xsetid",
    ],
    &[
        "COMMAND",
        "INFO",
        "xread",
        "xreadgroup",
        "xack",
        "xpending",
        "xclaim",
        "xautoclaim",
    ],
    &[
        "COMMAND",
        "INFO",
        "xgroup|create",
        "xgroup|setid",
        "xgroup|destroy",
    ],
    &[
        "COMMAND",
        "INFO",
        "xgroup|createconsumer",
        "xgroup|delconsumer",
        "xgroup|help",
    ],
    &[
        "COMMAND",
        "INFO",
        "xinfo|stream",
        "xinfo|groups",
        "xinfo|consumers",
        "xinfo|help",
    ],
    &["COMMAND", "GETKEYS", "XADD", "s", "*", "f", "v"],
    &[
        "COMMAND", "GETKEYS", "XREAD", "COUNT", "1", "STREAMS", "a", "b", "0", "0",
    ],
    &[
        "COMMAND",
        "GETKEYS",
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "STREAMS",
        "a",
        ">",
    ],
];

#[test]
fn wrong_types_and_arities_reply_as_redis_does() {
    let [t, _] = same_as_redis_both(&owned(WRONGTYPE_AND_ARITY), &[]);
    assert!(support::line(&t, r#"["XLEN", "str"]"#).contains("WRONGTYPE"));
}
