//! Hash and set commands.

use crate::gen::{
    Cmd,
    Kp::{Hash, Set},
    G,
};
use crate::ops::{op, Norm::*, Op};

fn hset(g: &mut G) -> Cmd {
    let n = *g.rng.pick(&["HSET", "HSET", "HMSET"]);
    let mut c = c![n, g.key(Hash)];
    for _ in 0..1 + g.rng.below(3) {
        c.push(g.member());
        c.push(g.value());
    }
    if g.rng.chance(5) {
        c.push(g.member()); // odd: wrong number of arguments
    }
    c
}

fn hrandfield(g: &mut G) -> Cmd {
    let mut c = c!["HRANDFIELD", g.key(Hash)];
    if g.rng.chance(70) {
        c.push(g.int(-5, 5));
        if g.rng.chance(40) {
            c.push(b"WITHVALUES".to_vec());
        }
    }
    c
}

pub const HASHES: &[Op] = &[
    op("hset", 6, Exact, hset),
    op("hsetnx", 1, Exact, |g| {
        c!["HSETNX", g.key(Hash), g.member(), g.value()]
    }),
    op("hget", 3, Exact, |g| c!["HGET", g.key(Hash), g.member()]),
    op("hmget", 2, Exact, |g| {
        let mut c = c!["HMGET", g.key(Hash)];
        c.extend(g.members(3));
        c
    }),
    op("hdel", 2, Exact, |g| {
        let mut c = c!["HDEL", g.key(Hash)];
        c.extend(g.members(3));
        c
    }),
    op("hlen", 1, Exact, |g| c!["HLEN", g.key(Hash)]),
    op("hstrlen", 1, Exact, |g| {
        c!["HSTRLEN", g.key(Hash), g.member()]
    }),
    op("hexists", 1, Exact, |g| {
        c!["HEXISTS", g.key(Hash), g.member()]
    }),
    op("hkeys", 1, Sort, |g| c!["HKEYS", g.key(Hash)]),
    op("hvals", 1, Sort, |g| c!["HVALS", g.key(Hash)]),
    op("hgetall", 2, SortPairs, |g| c!["HGETALL", g.key(Hash)]),
    op("hincrby", 2, Exact, |g| {
        c!["HINCRBY", g.key(Hash), g.member(), g.int(-50, 50)]
    }),
    op("hincrbyfloat", 2, Exact, |g| {
        c!["HINCRBYFLOAT", g.key(Hash), g.member(), g.float()]
    }),
    op("hrandfield", 1, Shape, hrandfield),
];

fn setop(g: &mut G) -> Cmd {
    let n = *g.rng.pick(&["SINTER", "SUNION", "SDIFF"]);
    let mut c = c![n];
    c.extend(g.keys(Set, 3));
    c
}

fn setop_store(g: &mut G) -> Cmd {
    let n = *g.rng.pick(&["SINTERSTORE", "SUNIONSTORE", "SDIFFSTORE"]);
    let mut c = c![n, g.key(Set)];
    c.extend(g.keys(Set, 3));
    c
}

pub const SETS: &[Op] = &[
    op("sadd", 6, Exact, |g| {
        let mut c = c!["SADD", g.key(Set)];
        c.extend(g.members(4));
        c
    }),
    op("srem", 2, Exact, |g| {
        let mut c = c!["SREM", g.key(Set)];
        c.extend(g.members(3));
        c
    }),
    op("scard", 1, Exact, |g| c!["SCARD", g.key(Set)]),
    op("sismember", 2, Exact, |g| {
        c!["SISMEMBER", g.key(Set), g.member()]
    }),
    op("smismember", 1, Exact, |g| {
        let mut c = c!["SMISMEMBER", g.key(Set)];
        c.extend(g.members(3));
        c
    }),
    op("smembers", 2, Sort, |g| c!["SMEMBERS", g.key(Set)]),
    op("spop", 1, SpopResync, |g| c!["SPOP", g.key(Set)]),
    // A count of at least the member pool size pops everything: deterministic.
    op("spop-all", 1, Sort, |g| c!["SPOP", g.key(Set), "20"]),
    op("spop-zero", 1, Exact, |g| {
        c!["SPOP", g.key(Set), g.int(-1, 0)]
    }),
    op("srandmember", 1, Shape, |g| {
        let mut c = c!["SRANDMEMBER", g.key(Set)];
        if g.rng.chance(70) {
            c.push(g.int(-5, 5));
        }
        c
    }),
    op("smove", 1, Exact, |g| {
        c!["SMOVE", g.key(Set), g.key(Set), g.member()]
    }),
    op("setop", 2, Sort, setop),
    op("setop-store", 2, Exact, setop_store),
    op("sintercard", 1, Exact, |g| {
        let mut c = c!["SINTERCARD"];
        g.numkeys(&mut c, Set, 3);
        if g.rng.chance(40) {
            c.extend([b"LIMIT".to_vec(), g.int(-1, 3)]);
        }
        c
    }),
];
