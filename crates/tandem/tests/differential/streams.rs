//! Stream commands over a few keys (`q0..q2`, and the shared keys now and
//! then), with explicit IDs from one growing counter (so both sides generate
//! the same IDs: no `*`, whose IDs come from each side's clock), consumer
//! groups, non-blocking XREADGROUP and XREAD (or BLOCK with a 1 ms timeout,
//! which serves at once or times out identically), XACK, XCLAIM and
//! XAUTOCLAIM with min-idle 0, XPENDING, XINFO, trims with `=` and `~`, XDEL,
//! XSETID. Replies with times are compared under `Norm::StreamTimes`.

use crate::gen::{Cmd, Kp::Stream, G};
use crate::ops::{op, Norm::*, Op};

const GROUPS: &[&str] = &["g0", "g1", "g2"];
const CONSUMERS: &[&str] = &["c0", "c1", "c2", "c3"];
const FIELDS: &[&str] = &["f", "g", "h", "12", ""];
const BAD_IDS: &[&str] = &["abc", "-1", "1-", "1-x", "18446744073709551616", "", "1-*"];

/// The next explicit ID: higher than every ID handed out so far.
fn next_id(g: &mut G) -> String {
    let (ms, seq) = g.stream_id;
    g.stream_id = if g.rng.chance(50) {
        (ms + 1 + g.rng.below(3) as u64, g.rng.below(3) as u64)
    } else {
        (ms, seq + 1)
    };
    format!("{}-{}", g.stream_id.0, g.stream_id.1)
}

/// An ID near the ones handed out: often an entry's, sometimes not (an `ms`
/// alone sometimes, which means `ms-0` or `ms-max` by context).
fn some_id(g: &mut G) -> String {
    let ms = 1 + g.rng.below(g.stream_id.0 as usize + 2);
    if g.rng.chance(10) {
        return ms.to_string();
    }
    format!("{ms}-{}", g.rng.below(3))
}

/// An ID argument for IDs that must be strict: mostly `some_id`, 3% malformed.
fn strict_id(g: &mut G) -> String {
    if g.rng.chance(3) {
        return g.rng.pick(BAD_IDS).to_string();
    }
    some_id(g)
}

/// A range bound: `-`, `+`, an ID, an exclusive `(` ID.
fn bound(g: &mut G) -> String {
    match g.rng.below(8) {
        0 | 1 => "-".into(),
        2 | 3 => "+".into(),
        4 => format!("({}", some_id(g)),
        5 if g.rng.chance(20) => g.rng.pick(BAD_IDS).to_string(),
        _ => some_id(g),
    }
}

fn group(g: &mut G) -> &'static str {
    GROUPS[g.rng.below(GROUPS.len())]
}

fn consumer(g: &mut G) -> &'static str {
    CONSUMERS[g.rng.below(CONSUMERS.len())]
}

/// `MAXLEN|MINID [=|~] threshold [LIMIT n]`, valid or (rarely) not.
fn trim_args(g: &mut G, c: &mut Cmd) {
    let minid = g.rng.chance(30);
    c.push(if minid { "MINID" } else { "MAXLEN" }.into());
    let approx = match g.rng.below(3) {
        0 => None,
        1 => Some("="),
        _ => Some("~"),
    };
    if let Some(a) = approx {
        c.push(a.into());
    }
    if minid {
        c.push(some_id(g).into_bytes());
    } else {
        let n = *g.rng.pick(&[0i64, 1, 2, 5, 10, 50, 120]);
        c.push(if g.rng.chance(3) {
            g.int(-1, 5)
        } else {
            n.to_string().into_bytes()
        });
    }
    if g.rng.chance(if approx == Some("~") { 40 } else { 5 }) {
        c.extend([b"LIMIT".to_vec(), g.int(0, 150)]);
    }
}

fn xadd(g: &mut G) -> Cmd {
    let mut c = c!["XADD", g.key(Stream)];
    if g.rng.chance(10) {
        c.push(b"NOMKSTREAM".to_vec());
    }
    if g.rng.chance(25) {
        trim_args(g, &mut c);
    }
    let id = match g.rng.below(40) {
        0 => g.rng.pick(BAD_IDS).to_string(),
        1 | 2 => some_id(g), // mostly not above the last: an error
        3 | 4 => {
            // `ms-*`: the next sequence number of that ms, or an error.
            let ms = next_id(g).split('-').next().unwrap_or("1").to_string();
            format!("{ms}-*")
        }
        _ => next_id(g),
    };
    c.push(id.into_bytes());
    for _ in 0..1 + g.rng.below(3) {
        c.push(g.rng.pick(FIELDS).as_bytes().to_vec());
        c.push(g.value());
    }
    if g.rng.chance(3) {
        c.push(b"odd".to_vec()); // wrong number of arguments
    }
    // Big values now and then: nodes then close at 4096 bytes, not 100 entries.
    if g.rng.chance(5) {
        c.push(b"big".to_vec());
        c.push(vec![b'b'; 300 + g.rng.below(600)]);
    }
    c
}

fn range(g: &mut G) -> Cmd {
    let rev = g.rng.chance(40);
    let (a, b) = (bound(g), bound(g));
    let mut c = if rev {
        c!["XREVRANGE", g.key(Stream), a, b]
    } else {
        c!["XRANGE", g.key(Stream), a, b]
    };
    if g.rng.chance(40) {
        c.extend([b"COUNT".to_vec(), g.int(-1, 5)]);
    }
    c
}

fn xdel(g: &mut G) -> Cmd {
    let mut c = c!["XDEL", g.key(Stream)];
    for _ in 0..1 + g.rng.below(3) {
        c.push(strict_id(g).into_bytes());
    }
    c
}

fn xtrim(g: &mut G) -> Cmd {
    let mut c = c!["XTRIM", g.key(Stream)];
    trim_args(g, &mut c);
    c
}

fn xsetid(g: &mut G) -> Cmd {
    // Mostly ahead of every ID so far (the counter moves past it), sometimes
    // behind the stream's last entry (an error).
    let id = if g.rng.chance(70) {
        g.stream_id.0 += 1 + g.rng.below(5) as u64;
        g.stream_id.1 = 0;
        format!("{}-{}", g.stream_id.0, g.stream_id.1)
    } else {
        strict_id(g)
    };
    let mut c = c!["XSETID", g.key(Stream), id];
    if g.rng.chance(30) {
        c.extend([b"ENTRIESADDED".to_vec(), g.int(-1, 400)]);
    }
    if g.rng.chance(30) {
        c.extend([b"MAXDELETEDID".to_vec(), strict_id(g).into_bytes()]);
    }
    c
}

fn xgroup(g: &mut G) -> Cmd {
    let key = g.key(Stream);
    let grp = group(g);
    match g.rng.below(10) {
        0..=3 => {
            let id = match g.rng.below(4) {
                0 => "$".to_string(),
                1 => "0".to_string(),
                _ => some_id(g),
            };
            let mut c = c!["XGROUP", "CREATE", key, grp, id];
            if g.rng.chance(40) {
                c.push(b"MKSTREAM".to_vec());
            }
            if g.rng.chance(20) {
                c.extend([b"ENTRIESREAD".to_vec(), g.int(-2, 50)]);
            }
            c
        }
        4 | 5 => {
            let id = if g.rng.chance(30) {
                "$".to_string()
            } else {
                some_id(g)
            };
            let mut c = c!["XGROUP", "SETID", key, grp, id];
            if g.rng.chance(30) {
                c.extend([b"ENTRIESREAD".to_vec(), g.int(-2, 50)]);
            }
            c
        }
        6 => c!["XGROUP", "DESTROY", key, grp],
        7 => c!["XGROUP", "CREATECONSUMER", key, grp, consumer(g)],
        8 => c!["XGROUP", "DELCONSUMER", key, grp, consumer(g)],
        _ => c!["XGROUP", *g.rng.pick(&["HELP", "NOSUCH", "help"])],
    }
}

/// `STREAMS k1 [k2] id1 [id2]` with `pick` choosing each ID.
fn streams(g: &mut G, c: &mut Cmd, pick: fn(&mut G) -> String) {
    let keys = g.keys(Stream, 2);
    let ids: Vec<Vec<u8>> = keys.iter().map(|_| pick(g).into_bytes()).collect();
    c.push(b"STREAMS".to_vec());
    c.extend(keys);
    c.extend(ids);
    if g.rng.chance(3) {
        c.pop(); // unbalanced
    }
}

fn xreadgroup(g: &mut G) -> Cmd {
    let mut c = c!["XREADGROUP", "GROUP", group(g), consumer(g)];
    if g.rng.chance(50) {
        c.extend([b"COUNT".to_vec(), g.int(0, 4)]);
    }
    if g.rng.chance(10) {
        c.extend([b"BLOCK".to_vec(), b"1".to_vec()]);
    }
    if g.rng.chance(15) {
        c.push(b"NOACK".to_vec());
    }
    streams(g, &mut c, |g| match g.rng.below(10) {
        0..=5 => ">".into(),
        6 | 7 => "0".into(),
        8 => some_id(g),
        _ => g.rng.pick(&["$", "abc", "-"]).to_string(),
    });
    c
}

fn xread(g: &mut G) -> Cmd {
    let mut c = c!["XREAD"];
    if g.rng.chance(50) {
        c.extend([b"COUNT".to_vec(), g.int(0, 4)]);
    }
    if g.rng.chance(10) {
        c.extend([b"BLOCK".to_vec(), b"1".to_vec()]);
    }
    streams(g, &mut c, |g| match g.rng.below(6) {
        0 => "$".into(),
        1 | 2 => "0".into(),
        3 if g.rng.chance(20) => ">".into(),
        _ => some_id(g),
    });
    c
}

fn xack(g: &mut G) -> Cmd {
    let mut c = c!["XACK", g.key(Stream), group(g)];
    for _ in 0..1 + g.rng.below(3) {
        c.push(strict_id(g).into_bytes());
    }
    c
}

fn xpending(g: &mut G) -> Cmd {
    let mut c = c!["XPENDING", g.key(Stream), group(g)];
    if g.rng.chance(30) {
        return c;
    }
    if g.rng.chance(20) {
        c.extend([b"IDLE".to_vec(), g.int(0, 0)]);
    }
    let (a, b) = (bound(g), bound(g));
    c.extend([a.into_bytes(), b.into_bytes(), g.int(-1, 6)]);
    if g.rng.chance(30) {
        c.push(consumer(g).into());
    }
    c
}

fn xclaim(g: &mut G) -> Cmd {
    let mut c = c!["XCLAIM", g.key(Stream), group(g), consumer(g), g.int(0, 0)];
    for _ in 0..1 + g.rng.below(3) {
        c.push(strict_id(g).into_bytes());
    }
    for _ in 0..g.rng.below(3) {
        match g.rng.below(7) {
            0 => c.extend([
                b"IDLE".to_vec(),
                format!("{}", 10_000 * g.rng.below(5)).into_bytes(),
            ]),
            1 => c.extend([
                b"TIME".to_vec(),
                format!("{}", 1_000_000_000_000u64 + g.rng.below(1000) as u64).into_bytes(),
            ]),
            2 => c.extend([b"RETRYCOUNT".to_vec(), g.int(0, 5)]),
            3 => c.push(b"FORCE".to_vec()),
            4 => c.push(b"JUSTID".to_vec()),
            5 => c.extend([b"LASTID".to_vec(), strict_id(g).into_bytes()]),
            _ => c.push(b"BADOPT".to_vec()),
        }
    }
    c
}

fn xautoclaim(g: &mut G) -> Cmd {
    let start = if g.rng.chance(50) {
        "0".to_string()
    } else {
        bound(g)
    };
    let mut c = c![
        "XAUTOCLAIM",
        g.key(Stream),
        group(g),
        consumer(g),
        g.int(0, 0),
        start
    ];
    if g.rng.chance(50) {
        c.extend([b"COUNT".to_vec(), g.int(0, 5)]);
    }
    if g.rng.chance(30) {
        c.push(b"JUSTID".to_vec());
    }
    c
}

fn xinfo(g: &mut G) -> Cmd {
    let key = g.key(Stream);
    match g.rng.below(8) {
        0 | 1 => c!["XINFO", "STREAM", key],
        2 | 3 => {
            let mut c = c!["XINFO", "STREAM", key, "FULL"];
            if g.rng.chance(50) {
                c.extend([b"COUNT".to_vec(), g.int(0, 3)]);
            }
            c
        }
        4 | 5 => c!["XINFO", "GROUPS", key],
        6 => c!["XINFO", "CONSUMERS", key, group(g)],
        _ => c!["XINFO", *g.rng.pick(&["HELP", "NOSUCH"])],
    }
}

pub const STREAMS: &[Op] = &[
    op("xadd", 10, Exact, xadd),
    op("xlen", 1, Exact, |g| c!["XLEN", g.key(Stream)]),
    op("xrange", 3, Exact, range),
    op("xdel", 2, Exact, xdel),
    op("xtrim", 2, Exact, xtrim),
    op("xsetid", 1, Exact, xsetid),
    op("xgroup", 3, Exact, xgroup),
    op("xreadgroup", 4, Exact, xreadgroup),
    op("xread", 2, Exact, xread),
    op("xack", 2, Exact, xack),
    op("xpending", 2, StreamTimes, xpending),
    op("xclaim", 2, Exact, xclaim),
    op("xautoclaim", 2, Exact, xautoclaim),
    op("xinfo", 2, StreamTimes, xinfo),
];
