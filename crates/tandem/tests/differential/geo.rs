//! Geospatial commands. Searches run on keys only GEOADD writes (`g0..g2`,
//! points at random positions around Sicily), so no two points are at the
//! same place: Redis orders equal distances under COUNT by its own partial
//! quicksort. GEOPOS, GEODIST and GEOHASH also read the sorted sets of the
//! zsets family, whose scores are no geohashes (Redis decodes them anyway).

use crate::gen::{Cmd, Kp, G};
use crate::ops::{op, Norm::*, Op};

fn gkey(g: &mut G) -> Vec<u8> {
    format!("g{}", g.rng.below(3)).into_bytes()
}

/// A key to read positions from: a geo key, or any sorted set.
fn any_zkey(g: &mut G) -> Vec<u8> {
    if g.rng.chance(60) {
        gkey(g)
    } else {
        g.key(Kp::Zset)
    }
}

fn coord(g: &mut G, lo: i64, hi: i64) -> Vec<u8> {
    if g.rng.chance(3) {
        return g
            .rng
            .pick(&["200", "-91", "abc", "", "inf"])
            .as_bytes()
            .to_vec();
    }
    let micro = g.rng.range(lo * 1_000_000, hi * 1_000_000);
    format!("{}.{:06}", micro / 1_000_000, micro.rem_euclid(1_000_000)).into_bytes()
}

fn lon(g: &mut G) -> Vec<u8> {
    coord(g, 12, 16)
}
fn lat(g: &mut G) -> Vec<u8> {
    coord(g, 36, 40)
}

fn unit(g: &mut G) -> Vec<u8> {
    g.rng
        .pick(&["m", "km", "KM", "mi", "ft", "parsec"])
        .as_bytes()
        .to_vec()
}

fn size(g: &mut G) -> Vec<u8> {
    match g.rng.below(10) {
        0 => b"-1".to_vec(),
        1 => b"x".to_vec(),
        2 => b"0".to_vec(),
        _ => g.rng.range(1, 400).to_string().into_bytes(),
    }
}

fn geoadd(g: &mut G) -> Cmd {
    let mut c = c!["GEOADD", gkey(g)];
    for o in ["NX", "XX", "CH"] {
        if g.rng.chance(10) {
            c.push(o.into());
        }
    }
    for _ in 0..1 + g.rng.below(4) {
        c.extend([lon(g), lat(g), g.member()]);
    }
    c
}

fn members(g: &mut G, mut c: Cmd) -> Cmd {
    c.extend(g.members(3));
    c
}

/// WITH*, ASC/DESC, COUNT [ANY]; STORE/STOREDIST where `store` allows.
fn options(g: &mut G, c: &mut Cmd, with: bool, store: Option<&str>) {
    if with {
        for o in ["WITHDIST", "WITHHASH", "WITHCOORD"] {
            if g.rng.chance(30) {
                c.push(o.into());
            }
        }
    }
    if g.rng.chance(50) {
        c.push(g.rng.pick(&["ASC", "DESC", "asc"]).as_bytes().to_vec());
    }
    if g.rng.chance(40) {
        let n = if g.rng.chance(10) {
            g.rng.pick(&["0", "-1", "x"]).as_bytes().to_vec()
        } else {
            g.rng.range(1, 4).to_string().into_bytes()
        };
        c.extend([b"COUNT".to_vec(), n]);
        if g.rng.chance(30) {
            c.push(b"ANY".to_vec());
        }
    } else if g.rng.chance(5) {
        c.push(b"ANY".to_vec());
    }
    if let Some(s) = store {
        if g.rng.chance(30) {
            c.extend([
                s.as_bytes().to_vec(),
                format!("gs{}", g.rng.below(2)).into_bytes(),
            ]);
        }
    }
}

fn georadius(g: &mut G) -> Cmd {
    let ro = g.rng.chance(30);
    let by_member = g.rng.chance(40);
    let name = match (by_member, ro) {
        (false, false) => "GEORADIUS",
        (false, true) => "GEORADIUS_RO",
        (true, false) => "GEORADIUSBYMEMBER",
        (true, true) => "GEORADIUSBYMEMBER_RO",
    };
    let mut c = c![name, gkey(g)];
    if by_member {
        c.push(g.member());
    } else {
        c.extend([lon(g), lat(g)]);
    }
    c.extend([size(g), unit(g)]);
    let store = (!ro).then(|| *g.rng.pick(&["STORE", "STOREDIST"]));
    options(g, &mut c, true, store);
    c
}

fn geosearch(g: &mut G) -> Cmd {
    let store = g.rng.chance(30);
    let mut c = if store {
        c!["GEOSEARCHSTORE", format!("gs{}", g.rng.below(2)), gkey(g)]
    } else {
        c!["GEOSEARCH", gkey(g)]
    };
    match g.rng.below(10) {
        0 => {}
        1..=4 => c.extend([b"FROMMEMBER".to_vec(), g.member()]),
        _ => c.extend([b"FROMLONLAT".to_vec(), lon(g), lat(g)]),
    }
    match g.rng.below(10) {
        0 => {}
        1..=5 => c.extend([b"BYRADIUS".to_vec(), size(g), unit(g)]),
        _ => c.extend([b"BYBOX".to_vec(), size(g), size(g), unit(g)]),
    }
    let with = !store || g.rng.chance(10);
    options(g, &mut c, with, None);
    if store && g.rng.chance(40) {
        c.push(b"STOREDIST".to_vec());
    }
    c
}

pub const GEO: &[Op] = &[
    op("geoadd", 5, Exact, geoadd),
    op("geopos", 2, Exact, |g| {
        let k = any_zkey(g);
        members(g, c!["GEOPOS", k])
    }),
    op("geodist", 2, Exact, |g| {
        let mut c = c!["GEODIST", any_zkey(g), g.member(), g.member()];
        if g.rng.chance(50) {
            c.push(unit(g));
        }
        c
    }),
    op("geohash", 1, Exact, |g| {
        let k = any_zkey(g);
        members(g, c!["GEOHASH", k])
    }),
    op("georadius", 4, Exact, georadius),
    op("geosearch", 4, Exact, geosearch),
];
