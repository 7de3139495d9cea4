//! Keyspace commands, OBJECT ENCODING, and deliberately wrong calls.

use crate::gen::{Cmd, Kp::Any, G};
use crate::ops::{op, Norm::*, Op};

fn expire(g: &mut G) -> Cmd {
    let (name, t) = match g.rng.below(5) {
        0 => ("EXPIRE", g.big_ttl()),
        1 => ("PEXPIRE", g.big_ttl_ms()),
        2 => ("EXPIREAT", g.abs_time_s()),
        3 => ("PEXPIREAT", g.abs_time_ms()),
        // Zero or negative: the key is deleted at once, deterministically.
        _ => ("EXPIRE", g.int(-5, 0)),
    };
    let mut c = c![name, g.key(Any), t];
    if g.rng.chance(30) {
        let o = *g.rng.pick(&["NX", "XX", "GT", "LT", "nx", "BAD"]);
        c.push(o.into());
    }
    c
}

fn copy(g: &mut G) -> Cmd {
    let mut c = c!["COPY", g.key(Any), g.key(Any)];
    if g.rng.chance(20) {
        c.extend([b"DB".to_vec(), g.int(0, 1)]);
    }
    if g.rng.chance(40) {
        c.push(b"REPLACE".to_vec());
    }
    c
}

pub const KEYS: &[Op] = &[
    op("del", 3, Exact, |g| {
        let mut c = c![if g.rng.chance(30) { "UNLINK" } else { "DEL" }];
        c.extend(g.keys(Any, 3));
        c
    }),
    op("exists", 2, Exact, |g| {
        let mut c = c!["EXISTS"];
        c.extend(g.keys(Any, 4));
        c
    }),
    op("touch", 1, Exact, |g| {
        let mut c = c!["TOUCH"];
        c.extend(g.keys(Any, 3));
        c
    }),
    op("type", 2, Exact, |g| c!["TYPE", g.key(Any)]),
    op("expire", 3, Exact, expire),
    op("persist", 1, Exact, |g| c!["PERSIST", g.key(Any)]),
    op("ttl", 2, Ttl, |g| {
        let n = *g.rng.pick(&["TTL", "PTTL", "EXPIRETIME", "PEXPIRETIME"]);
        c![n, g.key(Any)]
    }),
    op("rename", 2, Exact, |g| c!["RENAME", g.key(Any), g.key(Any)]),
    op("renamenx", 1, Exact, |g| {
        c!["RENAMENX", g.key(Any), g.key(Any)]
    }),
    op("copy", 1, Exact, copy),
    op("move", 1, Exact, |g| c!["MOVE", g.key(Any), g.int(0, 1)]),
    // Solo: see `Run::step` (expired keys are reclaimed before it).
    op("dbsize", 1, Exact, |_| c!["DBSIZE"]).solo(),
    op("keys", 1, Sort, |g| {
        let p = *g
            .rng
            .pick(&["*", "s*", "?0", "[lh]*", "x*", "*1", "nomatch"]);
        c!["KEYS", p]
    }),
    op("randomkey", 1, Shape, |_| c!["RANDOMKEY"]),
    op("exists-after-flush", 1, Exact, |g| {
        // Rare: empties the database so the run revisits empty-key paths.
        if g.rng.chance(5) {
            c!["FLUSHDB"]
        } else {
            c!["EXISTS", g.key(Any)]
        }
    }),
];

pub const ENCODING: &[Op] = &[op("object-encoding", 1, Exact, |g| {
    c!["OBJECT", "ENCODING", g.key(Any)]
})];

/// Deliberately wrong calls whose error lines must match byte for byte. (Wrong
/// arity for every command is also produced by the driver, which truncates a
/// generated command now and then.)
pub const ERRORS: &[Op] = &[
    op("unknown-command", 1, Exact, |g| c!["NOSUCHCMD", g.key(Any)]),
    op("exec-without-multi", 1, Exact, |_| c!["EXEC"]).solo(),
    op("discard-without-multi", 1, Exact, |_| c!["DISCARD"]).solo(),
    op("lowercase", 1, Exact, |g| c!["get", g.key(Any)]),
    op("set-syntax", 1, Exact, |g| {
        c!["SET", g.key(Any), "v", "EX", "10", "PX", "10"]
    }),
    op("set-bad-ttl", 1, Exact, |g| {
        c!["SET", g.key(Any), "v", "EX", "abc"]
    }),
];
