//! Pending entries against a real redis-server 7.0, reply for reply in RESP2
//! and RESP3: XPENDING (summary and extended forms, exclusive bounds, IDLE,
//! consumer filter), XCLAIM with every option (JUSTID, FORCE, RETRYCOUNT,
//! LASTID, IDLE, TIME; deleted entries leaving the PEL), XAUTOCLAIM (cursors,
//! COUNT's cap on the entries scanned, JUSTID, the deleted-IDs list), and
//! their errors.
//!
//! Delivery and idle times are the only normalized fields (see
//! stream/support.rs): `XCLAIM ... IDLE` uses multiples of 10 s, which stay
//! visible in XPENDING's 10 s buckets, and `TIME 1000000000000` (2001), which
//! XINFO STREAM FULL shows exactly.

mod common;
#[path = "stream/support.rs"]
mod support;

use support::{line, owned, same_as_redis_both, xadds};

/// XPENDING in both forms, with IDLE and a consumer; XCLAIM with every option.
const PENDING_AND_CLAIM: &[&[&str]] = &[
    &["XADD", "s", "1-1", "a", "1"],
    &["XADD", "s", "2-1", "b", "2"],
    &["XADD", "s", "3-1", "c", "3"],
    &["XADD", "s", "4-1", "d", "4"],
    &["XADD", "s", "5-1", "e", "5"],
    &["XADD", "s", "6-1", "f", "6"],
    &["XGROUP", "CREATE", "s", "g", "0"],
    &["XPENDING", "s", "g"],
    &["XPENDING", "s", "g", "-", "+", "10"],
    &[
        "XREADGROUP",
        "GROUP",
        "g",
        "alice",
        "COUNT",
        "3",
        "STREAMS",
        "s",
        ">",
    ],
    &[
        "XREADGROUP",
        "GROUP",
        "g",
        "bob",
        "COUNT",
        "2",
        "STREAMS",
        "s",
        ">",
    ],
    &["XPENDING", "s", "g"],
    &["XPENDING", "s", "g", "-", "+", "10"],
    &["XPENDING", "s", "g", "-", "+", "2"],
    &["XPENDING", "s", "g", "-", "+", "10", "bob"],
    &["XPENDING", "s", "g", "-", "+", "10", "nobody"],
    &["XPENDING", "s", "g", "(1-1", "+", "10"],
    &["XPENDING", "s", "g", "-", "(5-1", "10"],
    &["XPENDING", "s", "g", "2", "4", "10"],
    &["XPENDING", "s", "g", "+", "-", "10"],
    &["XPENDING", "s", "g", "-", "+", "0"],
    &["XPENDING", "s", "g", "-", "+", "-1"],
    &["XPENDING", "s", "g", "-", "+", "abc"],
    &["XPENDING", "s", "g", "abc", "+", "10"],
    &[
        "XPENDING",
        "s",
        "g",
        "(18446744073709551615-18446744073709551615",
        "+",
        "10",
    ],
    &["XPENDING", "s", "g", "-", "(0-0", "10"],
    &["XPENDING", "s", "g", "-", "+"],
    &["XPENDING", "s", "g", "-"],
    &["XPENDING", "s", "g", "-", "+", "10", "bob", "x"],
    &["XPENDING", "s", "g", "IDLE"],
    &["XPENDING", "s", "g", "IDLE", "10"],
    &["XPENDING", "s", "g", "IDLE", "abc", "-", "+", "10"],
    &["XPENDING", "s", "g", "IDLE", "-5", "-", "+", "10"],
    &["XPENDING", "s", "nog"],
    &["XPENDING", "nokey", "g"],
    &["XPENDING", "nokey", "g", "-", "+", "10"],
    // IDLE sets the delivery time back: XPENDING shows it, IDLE filters on it.
    &["XCLAIM", "s", "g", "bob", "0", "1-1", "IDLE", "100000"],
    &[
        "XCLAIM", "s", "g", "bob", "0", "2-1", "IDLE", "200000", "JUSTID",
    ],
    &["XPENDING", "s", "g", "-", "+", "10"],
    &["XPENDING", "s", "g", "IDLE", "150000", "-", "+", "10"],
    &["XPENDING", "s", "g", "IDLE", "50000", "-", "+", "10", "bob"],
    &[
        "XPENDING", "s", "g", "IDLE", "50000", "-", "+", "10", "alice",
    ],
    &["XPENDING", "s", "g"],
    &["XCLAIM", "s", "g", "carol", "150000", "1-1", "2-1", "3-1"],
    &["XCLAIM", "s", "g", "carol", "50000", "1-1", "2-1", "3-1"],
    &["XCLAIM", "s", "g", "carol", "0", "3-1", "JUSTID"],
    &["XPENDING", "s", "g", "-", "+", "10"],
    &["XCLAIM", "s", "g", "carol", "0", "4-1", "RETRYCOUNT", "42"],
    &[
        "XCLAIM",
        "s",
        "g",
        "carol",
        "0",
        "5-1",
        "TIME",
        "1000000000000",
        "JUSTID",
    ],
    &[
        "XCLAIM",
        "s",
        "g",
        "carol",
        "0",
        "5-1",
        "TIME",
        "99999999999999",
        "JUSTID",
    ],
    &["XCLAIM", "s", "g", "carol", "0", "4-1", "IDLE", "-5"],
    &[
        "XCLAIM",
        "s",
        "g",
        "carol",
        "0",
        "1-1",
        "IDLE",
        "100000",
        "TIME",
        "1000000000000",
    ],
    &["XPENDING", "s", "g", "-", "+", "10"],
    &["XINFO", "STREAM", "s", "FULL"],
    // FORCE: an entry in the stream but in no PEL; not for a missing one.
    &["XACK", "s", "g", "6-1"],
    &["XCLAIM", "s", "g", "dave", "0", "6-1"],
    &["XCLAIM", "s", "g", "dave", "0", "6-1", "99-1", "FORCE"],
    &["XCLAIM", "s", "g", "dave", "0", "6-1", "FORCE", "JUSTID"],
    &["XPENDING", "s", "g", "-", "+", "10", "dave"],
    // LASTID moves the group's last delivered ID forward only.
    &["XCLAIM", "s", "g", "dave", "0", "6-1", "LASTID", "50-0"],
    &["XINFO", "GROUPS", "s"],
    &["XCLAIM", "s", "g", "dave", "0", "6-1", "LASTID", "2-0"],
    &["XINFO", "GROUPS", "s"],
    // Deleted pending entries leave the PEL when claimed.
    &["XDEL", "s", "3-1"],
    &["XCLAIM", "s", "g", "erin", "0", "3-1", "4-1"],
    &["XPENDING", "s", "g"],
    &["XCLAIM", "s", "g", "erin", "0", "3-1", "FORCE"],
    &["XCLAIM", "s", "g", "erin", "abc", "4-1"],
    &["XCLAIM", "s", "g", "erin", "-1", "4-1", "JUSTID"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "IDLE", "abc"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "TIME", "abc"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "RETRYCOUNT", "abc"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "RETRYCOUNT", "-1"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "LASTID", "abc"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "LASTID", "-"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "FOO"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "IDLE"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "RETRYCOUNT"],
    &["XCLAIM", "s", "g", "erin", "0", "abc"],
    &["XCLAIM", "s", "g", "erin", "0", "4-1", "abc", "5-1"],
    &["XCLAIM", "s", "g", "erin", "0", "-"],
    &["XCLAIM", "s", "g", "erin", "0", "4-*"],
    &["XCLAIM", "s", "nog", "erin", "0", "4-1"],
    &["XCLAIM", "nokey", "g", "erin", "0", "4-1"],
    &[
        "XCLAIM", "s", "g", "erin", "0", "4-1", "5-1", "JUSTID", "justid", "force",
    ],
    &["XPENDING", "s", "g"],
    &["XINFO", "CONSUMERS", "s", "g"],
    &["XINFO", "STREAM", "s", "FULL"],
];

#[test]
fn xpending_and_xclaim_reply_as_redis_does() {
    let [t, _] = same_as_redis_both(&owned(PENDING_AND_CLAIM), &[]);
    // The IDLE option shows through the 10 s buckets, TIME exactly.
    assert!(line(&t, r#"["XPENDING", "s", "g", "IDLE", "150000""#).contains("<idle 200s>"));
    assert!(line(&t, r#"["XINFO", "STREAM", "s", "FULL"]"#).contains(":1000000000000\\r\\n"));
}

/// XAUTOCLAIM: cursors, COUNT (which also caps the entries scanned at ten
/// times COUNT), JUSTID, the deleted-IDs list, errors.
fn autoclaim_cases() -> Vec<Vec<String>> {
    let mut c = xadds("s", 1, 40, "f", "v");
    c.extend(owned(&[
        &["XGROUP", "CREATE", "s", "g", "0"],
        &["XAUTOCLAIM", "s", "g", "bob", "0", "0"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "30",
            "STREAMS",
            "s",
            ">",
        ],
        &[
            "XCLAIM", "s", "g", "alice", "0", "25-1", "26-1", "IDLE", "300000", "JUSTID",
        ],
        &["XAUTOCLAIM", "s", "g", "bob", "0", "0", "COUNT", "3"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "bob",
            "0",
            "4-1",
            "COUNT",
            "3",
            "JUSTID",
        ],
        &["XAUTOCLAIM", "s", "g", "bob", "0", "(6-1", "COUNT", "2"],
        &["XAUTOCLAIM", "s", "g", "bob", "0", "-", "COUNT", "1"],
        // Not idle enough: ten times COUNT entries are scanned, then the cursor.
        &["XAUTOCLAIM", "s", "g", "carol", "200000", "0", "COUNT", "1"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "carol",
            "200000",
            "11-1",
            "COUNT",
            "1",
        ],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "carol",
            "200000",
            "21-1",
            "COUNT",
            "1",
        ],
        &["XAUTOCLAIM", "s", "g", "carol", "200000", "0", "COUNT", "3"],
        &["XAUTOCLAIM", "s", "g", "carol", "200000", "0"],
        &["XPENDING", "s", "g", "-", "+", "40"],
        &["XDEL", "s", "8-1", "9-1", "12-1"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "7-1", "COUNT", "4"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "dave",
            "0",
            "10-1",
            "COUNT",
            "4",
            "JUSTID",
        ],
        &["XPENDING", "s", "g"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "(30-1"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "99-0"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "0"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "-1"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT", "abc"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "dave",
            "0",
            "0",
            "COUNT",
            "9223372036854775807",
        ],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "dave",
            "0",
            "0",
            "COUNT",
            "922337203685477580",
        ],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "0", "COUNT"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "0", "FOO"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "dave",
            "0",
            "0",
            "JUSTID",
            "COUNT",
            "1",
        ],
        &["XAUTOCLAIM", "s", "g", "dave", "abc", "0"],
        &["XAUTOCLAIM", "s", "g", "dave", "-1", "0", "COUNT", "1"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "abc"],
        &["XAUTOCLAIM", "s", "g", "dave", "0", "+"],
        &[
            "XAUTOCLAIM",
            "s",
            "g",
            "dave",
            "0",
            "(18446744073709551615-18446744073709551615",
        ],
        &["XAUTOCLAIM", "s", "nog", "dave", "0", "0"],
        &["XAUTOCLAIM", "nokey", "g", "dave", "0", "0"],
        &["XINFO", "CONSUMERS", "s", "g"],
        &["XINFO", "STREAM", "s", "FULL", "COUNT", "3"],
    ]));
    c
}

#[test]
fn xautoclaim_replies_as_redis_does() {
    let [t, _] = same_as_redis_both(&autoclaim_cases(), &[]);
    assert!(line(
        &t,
        r#"["XAUTOCLAIM", "s", "g", "carol", "200000", "0", "COUNT", "1"]"#
    )
    .contains("11-1"));
}
