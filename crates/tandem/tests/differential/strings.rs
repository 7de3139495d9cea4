//! String and bit commands for the differential generator.

use crate::gen::{Kp::Str, G};
use crate::ops::{op, Norm::*, Op};

fn set(g: &mut G) -> crate::gen::Cmd {
    let mut c = c!["SET", g.key(Str), g.value()];
    match g.rng.below(6) {
        0 => c.extend([b"EX".to_vec(), g.big_ttl()]),
        1 => c.extend([b"PX".to_vec(), g.big_ttl_ms()]),
        2 => c.extend([b"EXAT".to_vec(), g.abs_time_s()]),
        3 => c.push(b"KEEPTTL".to_vec()),
        4 if g.rng.chance(20) => c.extend([b"EX".to_vec(), g.int(-1, 0)]),
        _ => {}
    }
    g.maybe_one(&mut c, 20, &["NX", "XX"]);
    g.maybe(&mut c, 15, "GET");
    c
}

fn getex(g: &mut G) -> crate::gen::Cmd {
    let mut c = c!["GETEX", g.key(Str)];
    match g.rng.below(6) {
        0 => c.extend([b"EX".to_vec(), g.big_ttl()]),
        1 => c.extend([b"PX".to_vec(), g.big_ttl_ms()]),
        2 => c.extend([b"PXAT".to_vec(), g.abs_time_ms()]),
        3 => c.push(b"PERSIST".to_vec()),
        4 if g.rng.chance(30) => c.push(b"KEEPTTL".to_vec()),
        _ => {}
    }
    c
}

fn mset(g: &mut G) -> crate::gen::Cmd {
    let mut c = c![if g.rng.chance(30) { "MSETNX" } else { "MSET" }];
    for k in g.keys(Str, 3) {
        c.push(k);
        c.push(g.value());
    }
    if g.rng.chance(5) {
        c.push(g.key(Str)); // odd count: wrong number of arguments
    }
    c
}

fn lcs(g: &mut G) -> crate::gen::Cmd {
    let mut c = c!["LCS", g.key(Str), g.key(Str)];
    match g.rng.below(4) {
        0 => c.push(b"LEN".to_vec()),
        1 => {
            c.push(b"IDX".to_vec());
            g.maybe(&mut c, 50, "WITHMATCHLEN");
            if g.rng.chance(50) {
                c.extend([b"MINMATCHLEN".to_vec(), g.int(0, 3)]);
            }
        }
        _ => {}
    }
    c
}

pub const STRINGS: &[Op] = &[
    op("get", 4, Exact, |g| c!["GET", g.key(Str)]),
    op("set", 6, Exact, set),
    op("setnx", 1, Exact, |g| c!["SETNX", g.key(Str), g.value()]),
    op("setex", 1, Exact, |g| {
        c!["SETEX", g.key(Str), g.big_ttl(), g.value()]
    }),
    op("psetex", 1, Exact, |g| {
        c!["PSETEX", g.key(Str), g.int(1_000_000, 2_000_000), g.value()]
    }),
    op("getset", 1, Exact, |g| c!["GETSET", g.key(Str), g.value()]),
    op("getex", 2, Exact, getex),
    op("getdel", 1, Exact, |g| c!["GETDEL", g.key(Str)]),
    op("incr", 3, Exact, |g| c!["INCR", g.key(Str)]),
    op("decr", 1, Exact, |g| c!["DECR", g.key(Str)]),
    op("incrby", 2, Exact, |g| {
        c!["INCRBY", g.key(Str), g.int(-100, 100)]
    }),
    op("decrby", 1, Exact, |g| {
        let n = if g.rng.chance(5) {
            "-9223372036854775808".into()
        } else {
            g.int(-100, 100)
        };
        c!["DECRBY", g.key(Str), n]
    }),
    op("incrby-huge", 1, Exact, |g| {
        c!["INCRBY", g.key(Str), "9223372036854775800"]
    }),
    op("incrbyfloat", 2, Exact, |g| {
        c!["INCRBYFLOAT", g.key(Str), g.float()]
    }),
    op("append", 2, Exact, |g| c!["APPEND", g.key(Str), g.value()]),
    op("strlen", 1, Exact, |g| c!["STRLEN", g.key(Str)]),
    op("getrange", 2, Exact, |g| {
        c!["GETRANGE", g.key(Str), g.index(), g.index()]
    }),
    op("substr", 1, Exact, |g| {
        c!["SUBSTR", g.key(Str), g.index(), g.index()]
    }),
    op("setrange", 2, Exact, |g| {
        c!["SETRANGE", g.key(Str), g.int(-1, 40), g.value()]
    }),
    op("mget", 2, Exact, |g| {
        let mut c = c!["MGET"];
        c.extend(g.keys(Str, 4));
        c
    }),
    op("mset", 2, Exact, mset),
    op("lcs", 1, Exact, lcs),
];

fn bitop(g: &mut G) -> crate::gen::Cmd {
    let o = *g.rng.pick(&["AND", "OR", "XOR", "NOT", "and", "NAND"]);
    let mut c = c!["BITOP", o, g.key(Str)];
    let n = if o == "NOT" && g.rng.chance(80) { 1 } else { 3 };
    c.extend(g.keys(Str, n));
    c
}

fn bitfield(g: &mut G) -> crate::gen::Cmd {
    let ro = g.rng.chance(20);
    let mut c = c![if ro { "BITFIELD_RO" } else { "BITFIELD" }, g.key(Str)];
    for _ in 0..1 + g.rng.below(3) {
        let ty = *g
            .rng
            .pick(&["u8", "i8", "u4", "i16", "u63", "i64", "u64", "i5"]);
        let off = if g.rng.chance(30) {
            format!("#{}", g.rng.below(4)).into_bytes()
        } else {
            g.int(0, 64)
        };
        match if ro { 0 } else { g.rng.below(4) } {
            0 => c.extend([b"GET".to_vec(), ty.into(), off]),
            1 => c.extend([b"SET".to_vec(), ty.into(), off, g.int(-300, 300)]),
            2 => c.extend([b"INCRBY".to_vec(), ty.into(), off, g.int(-300, 300)]),
            _ => {
                let ov = *g.rng.pick(&["WRAP", "SAT", "FAIL", "BAD"]);
                c.extend([b"OVERFLOW".to_vec(), ov.into()]);
            }
        }
    }
    c
}

pub const BITS: &[Op] = &[
    op("setbit", 3, Exact, |g| {
        c!["SETBIT", g.key(Str), g.int(-1, 200), g.int(0, 1)]
    }),
    op("getbit", 2, Exact, |g| {
        c!["GETBIT", g.key(Str), g.int(-1, 200)]
    }),
    op("bitcount", 2, Exact, |g| {
        let mut c = c!["BITCOUNT", g.key(Str)];
        if g.rng.chance(60) {
            c.extend([g.index(), g.index()]);
            g.maybe_one(&mut c, 40, &["BIT", "BYTE"]);
        }
        c
    }),
    op("bitpos", 2, Exact, |g| {
        let mut c = c!["BITPOS", g.key(Str), g.int(0, 1)];
        if g.rng.chance(60) {
            c.push(g.index());
            if g.rng.chance(60) {
                c.push(g.index());
                g.maybe_one(&mut c, 40, &["BIT", "BYTE"]);
            }
        }
        c
    }),
    op("bitop", 2, Exact, bitop),
    op("bitfield", 2, Exact, bitfield),
];
