//! List commands (all non-blocking ones, plus blocking ones with a tiny timeout,
//! which either serve at once or time out identically on both sides).

use crate::gen::{Cmd, Kp::List, G};
use crate::ops::{op, Norm::*, Op};

fn push(g: &mut G) -> Cmd {
    let n = *g.rng.pick(&["LPUSH", "RPUSH", "LPUSHX", "RPUSHX"]);
    let mut c = c![n, g.key(List)];
    c.extend(g.members(3));
    c
}

fn pop(g: &mut G) -> Cmd {
    let n = *g.rng.pick(&["LPOP", "RPOP"]);
    let mut c = c![n, g.key(List)];
    if g.rng.chance(40) {
        c.push(g.int(-1, 5));
    }
    c
}

fn lpos(g: &mut G) -> Cmd {
    let mut c = c!["LPOS", g.key(List), g.member()];
    if g.rng.chance(40) {
        c.extend([b"RANK".to_vec(), g.int(-3, 3)]);
    }
    if g.rng.chance(40) {
        c.extend([b"COUNT".to_vec(), g.int(-1, 3)]);
    }
    if g.rng.chance(20) {
        c.extend([b"MAXLEN".to_vec(), g.int(-1, 5)]);
    }
    c
}

fn side(g: &mut G) -> &'static str {
    if g.rng.chance(50) {
        "LEFT"
    } else {
        "RIGHT"
    }
}

fn lmpop(g: &mut G) -> Cmd {
    let blocking = g.rng.chance(20);
    let mut c = if blocking {
        c!["BLMPOP", "0.01"]
    } else {
        c!["LMPOP"]
    };
    g.numkeys(&mut c, List, 3);
    let s = side(g);
    c.push(s.into());
    if g.rng.chance(50) {
        c.extend([b"COUNT".to_vec(), g.int(0, 4)]);
    }
    c
}

pub const LISTS: &[Op] = &[
    op("push", 6, Exact, push),
    op("pop", 3, Exact, pop),
    op("llen", 1, Exact, |g| c!["LLEN", g.key(List)]),
    op("lrange", 3, Exact, |g| {
        c!["LRANGE", g.key(List), g.index(), g.index()]
    }),
    op("lindex", 1, Exact, |g| c!["LINDEX", g.key(List), g.index()]),
    op("lset", 1, Exact, |g| {
        c!["LSET", g.key(List), g.index(), g.member()]
    }),
    op("linsert", 1, Exact, |g| {
        let w = *g.rng.pick(&["BEFORE", "AFTER", "after", "MIDDLE"]);
        c!["LINSERT", g.key(List), w, g.member(), g.member()]
    }),
    op("lrem", 1, Exact, |g| {
        c!["LREM", g.key(List), g.int(-2, 2), g.member()]
    }),
    op("ltrim", 1, Exact, |g| {
        c!["LTRIM", g.key(List), g.index(), g.index()]
    }),
    op("lpos", 2, Exact, lpos),
    op("lmove", 2, Exact, |g| {
        let (a, b) = (side(g), side(g));
        if g.rng.chance(20) {
            c!["BLMOVE", g.key(List), g.key(List), a, b, "0.01"]
        } else {
            c!["LMOVE", g.key(List), g.key(List), a, b]
        }
    }),
    op("rpoplpush", 1, Exact, |g| {
        c!["RPOPLPUSH", g.key(List), g.key(List)]
    }),
    op("lmpop", 2, Exact, lmpop),
    op("bpop", 1, Exact, |g| {
        let n = *g.rng.pick(&["BLPOP", "BRPOP"]);
        let mut c = c![n];
        c.extend(g.keys(List, 2));
        let t = *g.rng.pick(&["0.01", "0.01", "-1", "abc"]);
        c.push(t.into());
        c
    }),
];
