//! Sorted set and HyperLogLog commands.

use crate::gen::{
    Cmd,
    Kp::{Hll, Zset},
    G,
};
use crate::ops::{op, Norm::*, Op};

fn zadd(g: &mut G) -> Cmd {
    let mut c = c!["ZADD", g.key(Zset)];
    for o in ["NX", "XX", "GT", "LT", "CH"] {
        if g.rng.chance(8) {
            c.push(o.into());
        }
    }
    let incr = g.rng.chance(10);
    if incr {
        c.push(b"INCR".to_vec());
    }
    let n = if incr && g.rng.chance(80) {
        1
    } else {
        1 + g.rng.below(3)
    };
    for _ in 0..n {
        c.push(g.float());
        c.push(g.member());
    }
    c
}

/// ZRANGE in all its forms: by rank, BYSCORE, BYLEX, REV, LIMIT, WITHSCORES.
fn zrange(g: &mut G) -> Cmd {
    let store = g.rng.chance(20);
    let mut c = if store {
        c!["ZRANGESTORE", g.key(Zset), g.key(Zset)]
    } else {
        c!["ZRANGE", g.key(Zset)]
    };
    let by = g.rng.below(3);
    match by {
        0 => c.extend([g.index(), g.index()]),
        1 => c.extend([g.score_bound(), g.score_bound(), b"BYSCORE".to_vec()]),
        _ => c.extend([g.lex_bound(), g.lex_bound(), b"BYLEX".to_vec()]),
    }
    if g.rng.chance(30) {
        c.push(b"REV".to_vec());
    }
    if g.rng.chance(30) {
        c.extend([b"LIMIT".to_vec(), g.int(-1, 3), g.int(-1, 3)]);
    }
    if !store && g.rng.chance(40) {
        c.push(b"WITHSCORES".to_vec());
    }
    c
}

/// The older range commands.
fn zrange_old(g: &mut G) -> Cmd {
    let mut c = match g.rng.below(5) {
        0 => c!["ZREVRANGE", g.key(Zset), g.index(), g.index()],
        1 => c![
            "ZRANGEBYSCORE",
            g.key(Zset),
            g.score_bound(),
            g.score_bound()
        ],
        2 => c![
            "ZREVRANGEBYSCORE",
            g.key(Zset),
            g.score_bound(),
            g.score_bound()
        ],
        3 => c!["ZRANGEBYLEX", g.key(Zset), g.lex_bound(), g.lex_bound()],
        _ => c!["ZREVRANGEBYLEX", g.key(Zset), g.lex_bound(), g.lex_bound()],
    };
    let lex = c[0].ends_with(b"LEX");
    if !lex && g.rng.chance(40) {
        c.push(b"WITHSCORES".to_vec());
    }
    if c[0] != b"ZREVRANGE" && g.rng.chance(30) {
        c.extend([b"LIMIT".to_vec(), g.int(-1, 3), g.int(-1, 3)]);
    }
    c
}

/// ZUNION / ZINTER / ZDIFF and their STORE forms, with WEIGHTS and AGGREGATE.
fn zsetop(g: &mut G) -> Cmd {
    let name = *g.rng.pick(&["ZUNION", "ZINTER", "ZDIFF"]);
    let store = g.rng.chance(40);
    let mut c = if store {
        c![format!("{name}STORE"), g.key(Zset)]
    } else {
        c![name]
    };
    let n = g.numkeys(&mut c, Zset, 3);
    if name != "ZDIFF" {
        if g.rng.chance(40) {
            c.push(b"WEIGHTS".to_vec());
            let w = if g.rng.chance(10) { n + 1 } else { n };
            for _ in 0..w {
                c.push(g.float());
            }
        }
        if g.rng.chance(40) {
            c.push(b"AGGREGATE".to_vec());
            let a = *g.rng.pick(&["SUM", "MIN", "MAX", "max", "AVG"]);
            c.push(a.into());
        }
    }
    if !store && g.rng.chance(50) {
        c.push(b"WITHSCORES".to_vec());
    }
    c
}

fn zmpop(g: &mut G) -> Cmd {
    let blocking = g.rng.chance(20);
    let mut c = if blocking {
        c!["BZMPOP", "0.01"]
    } else {
        c!["ZMPOP"]
    };
    g.numkeys(&mut c, Zset, 3);
    let w = *g.rng.pick(&["MIN", "MAX", "min"]);
    c.push(w.into());
    if g.rng.chance(50) {
        c.extend([b"COUNT".to_vec(), g.int(0, 4)]);
    }
    c
}

pub const ZSETS: &[Op] = &[
    op("zadd", 8, Exact, zadd),
    op("zincrby", 2, Exact, |g| {
        c!["ZINCRBY", g.key(Zset), g.float(), g.member()]
    }),
    op("zrem", 2, Exact, |g| {
        let mut c = c!["ZREM", g.key(Zset)];
        c.extend(g.members(3));
        c
    }),
    op("zcard", 1, Exact, |g| c!["ZCARD", g.key(Zset)]),
    op("zscore", 2, Exact, |g| {
        c!["ZSCORE", g.key(Zset), g.member()]
    }),
    op("zmscore", 1, Exact, |g| {
        let mut c = c!["ZMSCORE", g.key(Zset)];
        c.extend(g.members(3));
        c
    }),
    op("zrank", 2, Exact, |g| {
        let n = *g.rng.pick(&["ZRANK", "ZREVRANK"]);
        c![n, g.key(Zset), g.member()]
    }),
    op("zcount", 1, Exact, |g| {
        c!["ZCOUNT", g.key(Zset), g.score_bound(), g.score_bound()]
    }),
    op("zlexcount", 1, Exact, |g| {
        c!["ZLEXCOUNT", g.key(Zset), g.lex_bound(), g.lex_bound()]
    }),
    op("zrange", 5, Exact, zrange),
    op("zrange-old", 2, Exact, zrange_old),
    op("zremrange", 2, Exact, |g| match g.rng.below(3) {
        0 => c!["ZREMRANGEBYRANK", g.key(Zset), g.index(), g.index()],
        1 => c![
            "ZREMRANGEBYSCORE",
            g.key(Zset),
            g.score_bound(),
            g.score_bound()
        ],
        _ => c!["ZREMRANGEBYLEX", g.key(Zset), g.lex_bound(), g.lex_bound()],
    }),
    op("zsetop", 3, Exact, zsetop),
    op("zintercard", 1, Exact, |g| {
        let mut c = c!["ZINTERCARD"];
        g.numkeys(&mut c, Zset, 3);
        if g.rng.chance(40) {
            c.extend([b"LIMIT".to_vec(), g.int(-1, 3)]);
        }
        c
    }),
    op("zpop", 2, Exact, |g| {
        let n = *g.rng.pick(&["ZPOPMIN", "ZPOPMAX"]);
        let mut c = c![n, g.key(Zset)];
        if g.rng.chance(50) {
            c.push(g.int(-1, 4));
        }
        c
    }),
    op("bzpop", 1, Exact, |g| {
        let n = *g.rng.pick(&["BZPOPMIN", "BZPOPMAX"]);
        let mut c = c![n];
        c.extend(g.keys(Zset, 2));
        c.push(b"0.01".to_vec());
        c
    }),
    op("zmpop", 2, Exact, zmpop),
    op("zrandmember", 1, Shape, |g| {
        let mut c = c!["ZRANDMEMBER", g.key(Zset)];
        if g.rng.chance(70) {
            c.push(g.int(-5, 5));
            if g.rng.chance(40) {
                c.push(b"WITHSCORES".to_vec());
            }
        }
        c
    }),
];

pub const HLL: &[Op] = &[
    op("pfadd", 4, Exact, |g| {
        let mut c = c!["PFADD", g.key(Hll)];
        for _ in 0..g.rng.below(6) {
            // A wider pool than set members so the counts grow.
            c.push(format!("e{}", g.rng.below(300)).into_bytes());
        }
        c
    }),
    op("pfcount", 2, Exact, |g| {
        let mut c = c!["PFCOUNT"];
        c.extend(g.keys(Hll, 3));
        c
    }),
    op("pfmerge", 1, Exact, |g| {
        let mut c = c!["PFMERGE", g.key(Hll)];
        c.extend(g.keys(Hll, 3));
        c
    }),
];
