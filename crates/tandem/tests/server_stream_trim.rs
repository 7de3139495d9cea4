//! Approximate (`~`) and exact (`=`) trims of streams spanning many nodes,
//! against a real redis-server 7.0 in RESP2 and RESP3: XTRIM and XADD's
//! MAXLEN/MINID with LIMIT, nodes closed at 100 entries (deleted entries
//! counted) or at 4096 bytes (long values, integer-looking values a listpack
//! stores as integers, fields other than the node's first entry's). XLEN,
//! what is left, and XINFO STREAM's `radix-tree-keys` and `radix-tree-nodes`
//! must match Redis exactly.

mod common;
#[path = "stream/support.rs"]
mod support;

use support::{owned, same_as_redis_both, xadds};

/// Approximate (`~`) and exact trims of streams spanning several nodes:
/// XLEN, XINFO STREAM's `radix-tree-keys` and what is left must match.
fn trim_cases() -> Vec<Vec<String>> {
    let mut c = owned(&[
        &["CONFIG", "GET", "stream-node-max-entries"],
        &["CONFIG", "GET", "stream-node-max-bytes"],
    ]);
    c.extend(xadds("t", 1, 250, "f", "v"));
    c.extend(owned(&[
        &["XINFO", "STREAM", "t"],
        &["XTRIM", "t", "MAXLEN", "~", "251"],
        &["XTRIM", "t", "MAXLEN", "~", "200"],
        &["XTRIM", "t", "MAXLEN", "~", "149"],
        &["XLEN", "t"],
        &["XINFO", "STREAM", "t"],
        &["XTRIM", "t", "MAXLEN", "~", "10", "LIMIT", "99"],
        &["XTRIM", "t", "MAXLEN", "~", "10", "LIMIT", "100"],
        &["XLEN", "t"],
        &["XTRIM", "t", "MAXLEN", "~", "10"],
        &["XTRIM", "t", "MAXLEN", "20"],
        &["XLEN", "t"],
        &["XINFO", "STREAM", "t"],
        &["XRANGE", "t", "-", "+", "COUNT", "2"],
    ]));
    // The last node counts its deleted entries towards its 100.
    c.extend(xadds("t", 300, 90, "f", "v"));
    c.extend(owned(&[
        &["XDEL", "t", "300-1", "301-1", "302-1"],
        &["XINFO", "STREAM", "t"],
    ]));
    // 10 more fill the node (87 entries and 3 deleted ones), the 11th opens
    // the next.
    c.extend(xadds("t", 390, 13, "f", "v"));
    c.extend(owned(&[
        &["XINFO", "STREAM", "t"],
        &["XTRIM", "t", "MINID", "~", "305"],
        &["XTRIM", "t", "MINID", "~", "381"],
        &["XLEN", "t"],
        &["XINFO", "STREAM", "t"],
        &["XTRIM", "t", "MINID", "385"],
        &["XTRIM", "t", "MINID", "=", "386-0", "LIMIT", "5"],
        &["XTRIM", "t", "MINID", "~", "(386-0"],
        &["XLEN", "t"],
        &["XTRIM", "t", "MAXLEN", "0"],
        &["XLEN", "t"],
        &["EXISTS", "t"],
        &["XINFO", "STREAM", "t"],
    ]));
    // XADD's own trimming, entry by entry, over several nodes.
    for i in 1..=320 {
        let id = format!("{i}-0");
        let n = (i % 7).to_string();
        add_owned(
            &mut c,
            &["XADD", "u", "MAXLEN", "~", "150", &id, "f", &n, "g", "w"],
        );
    }
    c.extend(owned(&[
        &["XLEN", "u"],
        &["XINFO", "STREAM", "u"],
        &[
            "XADD", "u", "MINID", "~", "250", "LIMIT", "50", "400-0", "f", "v",
        ],
        &["XLEN", "u"],
        &[
            "XADD", "u", "MINID", "~", "250", "LIMIT", "0", "401-0", "f", "v",
        ],
        &["XLEN", "u"],
        &["XADD", "u", "MAXLEN", "~", "0", "402-0", "f", "v"],
        &["XLEN", "u"],
        &["XINFO", "STREAM", "u"],
        &["XTRIM", "u", "MAXLEN", "~", "0", "LIMIT", "0"],
        &["XTRIM", "nokey", "MAXLEN", "1"],
        &["XTRIM", "u", "MAXLEN", "-1"],
        &["XTRIM", "u", "MAXLEN", "1", "LIMIT", "5"],
        &["XTRIM", "u", "MAXLEN", "~", "1", "LIMIT", "-1"],
        &["XTRIM", "u", "MINID", "~", "abc"],
        &["XTRIM", "u", "MINID", "+"],
        &["XTRIM", "u", "MAXLEN", "1", "MINID", "1"],
        &["XTRIM", "u", "FOO", "1"],
        &["XTRIM", "u", "MAXLEN", "~"],
        &["XTRIM", "u", "MAXLEN", "1", "FOO"],
        &["XTRIM", "u", "MAXLEN"],
        &["XTRIM", "u"],
        &["XTRIM"],
    ]));
    // Nodes closed by size (stream-node-max-bytes 4096), not by count: long
    // values, integer-looking values (a listpack stores those as integers)
    // and entries whose fields differ from the node's first entry.
    let long = "L".repeat(300);
    for i in 1..=120u64 {
        let id = format!("{i}-1");
        let num = (i * 1_234_567).to_string();
        let mut x: Vec<&str> = vec!["XADD", "w", &id];
        match i % 4 {
            0 => x.extend(["f", &long]),
            1 => x.extend(["f", &num, "g", "short"]),
            2 => x.extend(["other", &num]),
            _ => x.extend(["f", "-1", "g", &long[..70]]),
        }
        add_owned(&mut c, &x);
    }
    c.extend(owned(&[
        &["XINFO", "STREAM", "w"],
        &["XTRIM", "w", "MAXLEN", "~", "100"],
        &["XLEN", "w"],
        &["XTRIM", "w", "MAXLEN", "~", "30"],
        &["XLEN", "w"],
        &["XINFO", "STREAM", "w"],
        &["XRANGE", "w", "-", "+", "COUNT", "3"],
    ]));
    c
}

fn add_owned(c: &mut Vec<Vec<String>>, x: &[&str]) {
    c.push(x.iter().map(|a| a.to_string()).collect());
}

#[test]
fn approximate_and_exact_trims_leave_what_redis_leaves() {
    let [t, _] = same_as_redis_both(&trim_cases(), &[]);
    assert!(support::line(&t, r#"["XTRIM", "t", "MAXLEN", "~", "149"]"#).ends_with(r#"":100\r\n""#));
}
