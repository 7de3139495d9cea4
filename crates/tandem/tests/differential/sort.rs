//! SORT and SORT_RO over lists, sets and sorted sets, with BY and GET patterns
//! that reach the string and hash keys of the other families.
//!
//! Left out where Redis's own order is not defined (a key may hold any type by
//! then, after RENAME and friends): ALPHA by a pattern (equal weights keep a
//! set's dict order), and a set's order without sorting, which is compared as
//! unordered, without LIMIT. Fixed cases for those (weights chosen without
//! ties) are in `tests/server_sort.rs`.
use crate::gen::{Cmd, Kp, G};
use crate::ops::{op, Norm::*, Op};

/// BY/GET patterns: string keys `s0..s2`, hash fields of `h0..h2`, and ones
/// that match nothing.
fn pattern(g: &mut G) -> Vec<u8> {
    let p = *g
        .rng
        .pick(&["s*", "h*->a", "h*->b", "x*", "s*->a", "*", "h*->"]);
    p.as_bytes().to_vec()
}

fn options(g: &mut G, c: &mut Cmd, ro: bool) {
    let mut by = false;
    if g.rng.chance(40) {
        c.extend([b"BY".to_vec(), pattern(g)]);
        by = true;
    }
    if g.rng.chance(40) {
        c.extend([b"LIMIT".to_vec(), g.int(-1, 4), g.int(-1, 4)]);
    }
    for _ in 0..g.rng.below(3) {
        let p = if g.rng.chance(30) {
            b"#".to_vec()
        } else {
            pattern(g)
        };
        c.extend([b"GET".to_vec(), p]);
    }
    if g.rng.chance(40) {
        let d = *g.rng.pick(&["ASC", "DESC", "desc"]);
        c.push(d.into());
    }
    if !by && g.rng.chance(40) {
        c.push(b"ALPHA".to_vec());
    }
    if !ro && g.rng.chance(25) {
        c.extend([b"STORE".to_vec(), g.key(Kp::List)]);
    }
}

fn name(g: &mut G) -> (&'static str, bool) {
    if g.rng.chance(30) {
        ("SORT_RO", true)
    } else {
        ("SORT", false)
    }
}

/// Sorted: numbers, or ALPHA on the elements.
fn sort_sorted(g: &mut G) -> Cmd {
    let (n, ro) = name(g);
    let kp = *g.rng.pick(&[Kp::List, Kp::Set, Kp::Zset]);
    let mut c = c![n, g.key(kp)];
    options(g, &mut c, ro);
    c
}

/// Not sorted (BY a pattern without '*'): a list's or sorted set's own
/// order, a set's in any order; compared unordered.
fn sort_nosort(g: &mut G) -> Cmd {
    let (n, _) = name(g);
    let kp = *g.rng.pick(&[Kp::List, Kp::Set, Kp::Zset]);
    let mut c = c![n, g.key(kp), "BY", "nosort"];
    if g.rng.chance(40) {
        c.extend([b"GET".to_vec(), pattern(g)]);
    }
    if g.rng.chance(50) {
        c.push(b"DESC".to_vec());
    }
    c
}

/// Not sorted, stored: Redis sorts a set (ALPHA) so that replicas store the
/// same list; a list or sorted set keeps its order, LIMIT and DESC apply.
fn sort_nosort_store(g: &mut G) -> Cmd {
    let kp = *g.rng.pick(&[Kp::List, Kp::Set, Kp::Zset]);
    let mut c = c!["SORT", g.key(kp), "BY", "nosort"];
    if g.rng.chance(40) {
        c.extend([b"LIMIT".to_vec(), g.int(-1, 4), g.int(-1, 4)]);
    }
    if g.rng.chance(50) {
        c.push(b"DESC".to_vec());
    }
    c.extend([b"STORE".to_vec(), g.key(Kp::List)]);
    c
}

pub const SORT: &[Op] = &[
    op("sort", 6, Relist { unordered: false }, sort_sorted),
    op("sort nosort", 1, Relist { unordered: true }, sort_nosort),
    op(
        "sort nosort store",
        1,
        Relist { unordered: false },
        sort_nosort_store,
    ),
];
