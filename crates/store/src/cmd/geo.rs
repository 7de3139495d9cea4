//! Geospatial commands (Redis 7.0's geo.c): positions stored as 52-bit
//! geohash scores in sorted sets. GEOADD, GEOPOS, GEODIST, GEOHASH, and the
//! searches GEOSEARCH, GEOSEARCHSTORE, GEORADIUS[_RO], GEORADIUSBYMEMBER[_RO].
//!
//! A search looks at the geohash box around the centre and its neighbours
//! (`hash.rs`), keeps the points inside the circle or box, and replies in the
//! order found (boxes in Redis's order, each by score) unless ASC/DESC (or
//! COUNT, which implies ASC) sorts them by distance. Replies are Redis's:
//! distances `%.4f`, coordinates in the long-double human form, GEOADD
//! propagated as the ZADD it amounts to.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::types::zset::ZSet;
use crate::util::{eq_ic, parse_i64};
use crate::value::Value;

use super::zset::{strict_float, zadd, zlookup};

mod hash;

use hash::{Search, Shape};

pub const COMMANDS: &[(&str, Handler)] = &[
    ("geoadd", geoadd),
    ("geopos", geopos),
    ("geodist", geodist),
    ("geohash", geohash),
    ("georadius", georadius),
    ("georadius_ro", georadius_ro),
    ("georadiusbymember", georadiusbymember),
    ("georadiusbymember_ro", georadiusbymember_ro),
    ("geosearch", geosearch),
    ("geosearchstore", geosearchstore),
];

/// A longitude/latitude pair from two arguments.
fn lon_lat(args: &[Bytes]) -> Result<(f64, f64), CmdError> {
    let lon = strict_float(&args[0]).ok_or(CmdError::NotFloat)?;
    let lat = strict_float(&args[1]).ok_or(CmdError::NotFloat)?;
    if !(hash::LON_MIN..=hash::LON_MAX).contains(&lon)
        || !(hash::LAT_MIN..=hash::LAT_MAX).contains(&lat)
    {
        return Err(CmdError::msg(format!(
            "ERR invalid longitude,latitude pair {lon:.6},{lat:.6}"
        )));
    }
    Ok((lon, lat))
}

/// Meters per unit.
fn unit(a: &[u8]) -> Result<f64, CmdError> {
    if eq_ic(a, "m") {
        Ok(1.0)
    } else if eq_ic(a, "km") {
        Ok(1000.0)
    } else if eq_ic(a, "ft") {
        Ok(0.3048)
    } else if eq_ic(a, "mi") {
        Ok(1609.34)
    } else {
        Err(CmdError::msg(
            "ERR unsupported unit provided. please use M, KM, FT, MI",
        ))
    }
}

/// A non-negative size with Redis's per-argument error.
fn size(a: &[u8], what: &str) -> Result<f64, CmdError> {
    strict_float(a).ok_or_else(|| CmdError::msg(format!("ERR need numeric {what}")))
}

/// Distances as Redis prints them: `%.4f`, in a bulk string.
fn distance_reply(exec: &mut Exec, d: f64) {
    exec.out.bulk(format!("{d:.4}").as_bytes());
}

/// A coordinate as `addReplyHumanLongDouble`: a bulk string in RESP2, a
/// double in RESP3, both in the `%.17Lf`-trimmed form.
fn coord_reply(exec: &mut Exec, v: f64) {
    let s = tandem_resp::float::fmt_human(v);
    if exec.out.is_resp3() {
        exec.out.raw(format!(",{s}\r\n").as_bytes());
    } else {
        exec.out.bulk(s.as_bytes());
    }
}

/// GEOADD key [NX|XX] [CH] longitude latitude member [...]: a ZADD of the
/// positions' scores, replicated as that ZADD.
fn geoadd(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    let (mut nx, mut xx) = (false, false);
    let mut at = 2;
    while at < args.len() {
        if eq_ic(&args[at], "NX") {
            nx = true;
        } else if eq_ic(&args[at], "XX") {
            xx = true;
        } else if !eq_ic(&args[at], "CH") {
            break;
        }
        at += 1;
    }
    if !(args.len() - at).is_multiple_of(3) || (nx && xx) {
        return Err(CmdError::Syntax);
    }
    let mut z: Vec<Bytes> = Vec::with_capacity(at + (args.len() - at) / 3 * 2);
    z.push(Bytes::from_static(b"zadd"));
    z.extend(args[1..at].iter().cloned());
    for el in args[at..].chunks(3) {
        let (lon, lat) = lon_lat(&el[..2])?;
        let score = hash::encode_score(lon, lat).unwrap_or(0);
        z.push(Bytes::from(score.to_string()));
        z.push(el[2].clone());
    }
    let dirty = exec.store.dirty;
    zadd(exec, &z)?;
    if exec.store.dirty != dirty {
        exec.propagate_as(z);
    }
    Ok(())
}

/// The scores of the members `args[2..]` of the sorted set `args[1]`
/// (None: no such member or key), or WRONGTYPE.
fn member_scores(exec: &mut Exec, args: &[Bytes]) -> Result<Vec<Option<f64>>, CmdError> {
    let z = zlookup(exec.store, exec.db, exec.now, &args[1], false)?;
    Ok(args[2..]
        .iter()
        .map(|m| z.as_ref().and_then(|z| z.score(m)))
        .collect())
}

/// GEOPOS key member [...]: `[longitude, latitude]` or a null array each.
fn geopos(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    let scores = member_scores(exec, args)?;
    exec.out.array(scores.len());
    for s in scores {
        match s {
            None => exec.out.null_array(),
            Some(s) => {
                let (lon, lat) = hash::decode_score(s);
                exec.out.array(2);
                coord_reply(exec, lon);
                coord_reply(exec, lat);
            }
        }
    }
    Ok(())
}

/// GEODIST key member1 member2 [M|KM|FT|MI].
fn geodist(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    let to_meters = match args.len() {
        4 => 1.0,
        5 => unit(&args[4])?,
        _ => return Err(CmdError::Syntax),
    };
    let (db, now) = (exec.db, exec.now);
    let pair = match zlookup(exec.store, db, now, &args[1], false)? {
        None => None,
        Some(z) => z.score(&args[2]).zip(z.score(&args[3])),
    };
    match pair {
        None => exec.out.null(),
        Some((a, b)) => {
            let (lon1, lat1) = hash::decode_score(a);
            let (lon2, lat2) = hash::decode_score(b);
            let d = hash::distance(lon1, lat1, lon2, lat2) / to_meters;
            distance_reply(exec, d);
        }
    }
    Ok(())
}

/// GEOHASH key member [...]: 11-character geohash strings, or nulls.
fn geohash(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    let scores = member_scores(exec, args)?;
    exec.out.array(scores.len());
    for s in scores {
        match s {
            None => exec.out.null(),
            Some(s) => exec.out.bulk(hash::geohash_string(s).as_bytes()),
        }
    }
    Ok(())
}

/// Which search command, as Redis's flags.
#[derive(Clone, Copy, PartialEq)]
enum Form {
    /// GEORADIUS[_RO] key lon lat radius unit ...
    Coords { ro: bool },
    /// GEORADIUSBYMEMBER[_RO] key member radius unit ...
    Member { ro: bool },
    /// GEOSEARCH key ... / GEOSEARCHSTORE dst key ...
    Search { store: bool },
}

fn georadius(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    search(exec, args, Form::Coords { ro: false })
}
fn georadius_ro(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    search(exec, args, Form::Coords { ro: true })
}
fn georadiusbymember(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    search(exec, args, Form::Member { ro: false })
}
fn georadiusbymember_ro(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    search(exec, args, Form::Member { ro: true })
}
fn geosearch(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    search(exec, args, Form::Search { store: false })
}
fn geosearchstore(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    search(exec, args, Form::Search { store: true })
}

/// A point found by a search.
struct Point {
    member: Vec<u8>,
    score: f64,
    lon: f64,
    lat: f64,
    /// Meters until the reply converts it to the unit.
    dist: f64,
}

#[derive(Clone, Copy, PartialEq)]
enum Order {
    None,
    Asc,
    Desc,
}

/// Redis's georadiusGeneric: parses in Redis's order (the key's type first,
/// the centre and size, then the options), searches, replies or stores.
fn search(exec: &mut Exec, args: &[Bytes], form: Form) -> CmdResult {
    let (db, now) = (exec.db, exec.now);
    let src = if matches!(form, Form::Search { store: true }) {
        2
    } else {
        1
    };
    // The source's member scores are read up front where the parsing needs
    // them (BYMEMBER/FROMMEMBER); the sorted set itself is looked up again
    // for the search.
    let exists = zlookup(exec.store, db, now, &args[src], false)?.is_some();
    let member_score = |exec: &mut Exec, m: &[u8]| -> Result<f64, CmdError> {
        zlookup(exec.store, db, now, &args[src], false)?
            .and_then(|z| z.score(m))
            .ok_or_else(|| CmdError::msg("ERR could not decode requested zset member"))
    };
    let mut center: Option<(f64, f64)> = None;
    let mut shape: Option<Shape> = None;
    let mut conversion = 1.0;
    let mut store: Option<Bytes> = None;
    let mut storedist = false;
    let base = match form {
        Form::Coords { .. } => {
            center = Some(lon_lat(&args[2..4])?);
            shape = Some(Shape::Radius(radius(&args[4])?));
            conversion = unit(&args[5])?;
            6
        }
        Form::Member { .. } if !exists => 5,
        Form::Member { .. } => {
            center = Some(hash::decode_score(member_score(exec, &args[2])?));
            shape = Some(Shape::Radius(radius(&args[3])?));
            conversion = unit(&args[4])?;
            5
        }
        Form::Search { store: s } => {
            if s {
                store = Some(args[1].clone());
                3
            } else {
                2
            }
        }
    };
    let geosearch = matches!(form, Form::Search { .. });
    let nostore = matches!(form, Form::Coords { ro: true } | Form::Member { ro: true });
    let (mut withdist, mut withhash, mut withcoord, mut any) = (false, false, false, false);
    let (mut frommember, mut fromloc, mut byradius, mut bybox) = (false, false, false, false);
    let mut order = Order::None;
    let mut count: i64 = 0;
    let rest = &args[base..];
    let mut i = 0;
    while i < rest.len() {
        let a = &rest[i];
        let left = rest.len() - i - 1;
        if eq_ic(a, "WITHDIST") {
            withdist = true;
        } else if eq_ic(a, "WITHHASH") {
            withhash = true;
        } else if eq_ic(a, "WITHCOORD") {
            withcoord = true;
        } else if eq_ic(a, "ANY") {
            any = true;
        } else if eq_ic(a, "ASC") {
            order = Order::Asc;
        } else if eq_ic(a, "DESC") {
            order = Order::Desc;
        } else if eq_ic(a, "COUNT") && left >= 1 {
            count = parse_i64(&rest[i + 1]).ok_or(CmdError::NotInteger)?;
            if count <= 0 {
                return Err(CmdError::msg("ERR COUNT must be > 0"));
            }
            i += 1;
        } else if (eq_ic(a, "STORE") || eq_ic(a, "STOREDIST"))
            && left >= 1
            && !nostore
            && !geosearch
        {
            store = Some(rest[i + 1].clone());
            storedist = eq_ic(a, "STOREDIST");
            i += 1;
        } else if eq_ic(a, "STOREDIST") && matches!(form, Form::Search { store: true }) {
            storedist = true;
        } else if eq_ic(a, "FROMMEMBER") && left >= 1 && geosearch && !fromloc {
            if exists {
                center = Some(hash::decode_score(member_score(exec, &rest[i + 1])?));
            }
            frommember = true;
            i += 1;
        } else if eq_ic(a, "FROMLONLAT") && left >= 2 && geosearch && !frommember {
            center = Some(lon_lat(&rest[i + 1..i + 3])?);
            fromloc = true;
            i += 2;
        } else if eq_ic(a, "BYRADIUS") && left >= 2 && geosearch && !bybox {
            shape = Some(Shape::Radius(radius(&rest[i + 1])?));
            conversion = unit(&rest[i + 2])?;
            byradius = true;
            i += 2;
        } else if eq_ic(a, "BYBOX") && left >= 3 && geosearch && !byradius {
            let w = size(&rest[i + 1], "width")?;
            let h = size(&rest[i + 2], "height")?;
            if w < 0.0 || h < 0.0 {
                return Err(CmdError::msg("ERR height or width cannot be negative"));
            }
            conversion = unit(&rest[i + 3])?;
            shape = Some(Shape::Box {
                width: w,
                height: h,
            });
            bybox = true;
            i += 3;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if store.is_some() && (withdist || withhash || withcoord) {
        let what = if matches!(form, Form::Search { store: true }) {
            "GEOSEARCHSTORE"
        } else {
            "STORE option in GEORADIUS"
        };
        return Err(CmdError::msg(format!(
            "ERR {what} is not compatible with WITHDIST, WITHHASH and WITHCOORD options"
        )));
    }
    let name = String::from_utf8_lossy(&args[0]);
    if geosearch && !(frommember || fromloc) {
        return Err(CmdError::msg(format!(
            "ERR exactly one of FROMMEMBER or FROMLONLAT can be specified for {name}"
        )));
    }
    if geosearch && !(byradius || bybox) {
        return Err(CmdError::msg(format!(
            "ERR exactly one of BYRADIUS and BYBOX can be specified for {name}"
        )));
    }
    if any && count == 0 {
        return Err(CmdError::msg(
            "ERR the ANY argument requires COUNT argument",
        ));
    }
    let (Some((lon, lat)), Some(shape), true) = (center, shape, exists) else {
        // No source key: an empty reply, or the destination deleted.
        match store {
            Some(dst) => {
                if exec.store.delete_key(db, &dst) {
                    exec.dirty(1);
                }
                exec.out.int(0);
            }
            None => exec.out.empty_array(),
        }
        return Ok(());
    };
    if count != 0 && order == Order::None && !any {
        order = Order::Asc;
    }
    let area = Search {
        lon,
        lat,
        shape,
        conversion,
    };
    let limit = if any { count as usize } else { 0 };
    let mut found = {
        let z = zlookup(exec.store, db, now, &args[src], false)?;
        z.map(|z| collect(z, &area, limit)).unwrap_or_default()
    };
    if found.is_empty() && store.is_none() {
        exec.out.empty_array();
        return Ok(());
    }
    let returned = if count == 0 {
        found.len()
    } else {
        found.len().min(count as usize)
    };
    match order {
        Order::None => {}
        Order::Asc => found.sort_by(|a, b| {
            a.dist
                .partial_cmp(&b.dist)
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
        Order::Desc => found.sort_by(|a, b| {
            b.dist
                .partial_cmp(&a.dist)
                .unwrap_or(std::cmp::Ordering::Equal)
        }),
    }
    found.truncate(returned);
    for p in found.iter_mut() {
        p.dist /= conversion;
    }
    match store {
        None => {
            let extra = usize::from(withdist) + usize::from(withhash) + usize::from(withcoord);
            exec.out.array(found.len());
            for p in &found {
                if extra > 0 {
                    exec.out.array(extra + 1);
                }
                exec.out.bulk(&p.member);
                if withdist {
                    distance_reply(exec, p.dist);
                }
                if withhash {
                    exec.out.int(c_i64(p.score));
                }
                if withcoord {
                    exec.out.array(2);
                    coord_reply(exec, p.lon);
                    coord_reply(exec, p.lat);
                }
            }
        }
        Some(dst) => {
            let n = found.len();
            if n > 0 {
                let mut z = ZSet::new();
                for p in &found {
                    let score = if storedist { p.dist } else { p.score };
                    z.add(&p.member, score, &exec.store.config);
                }
                exec.store.set_key(db, &dst, Value::ZSet(z), false, now);
                exec.dirty(n as u64);
            } else if exec.store.delete_key(db, &dst) {
                exec.dirty(1);
            }
            exec.out.int(n as i64);
        }
    }
    Ok(())
}

/// A radius argument.
fn radius(a: &[u8]) -> Result<f64, CmdError> {
    let r = size(a, "radius")?;
    if r < 0.0 {
        return Err(CmdError::msg("ERR radius cannot be negative"));
    }
    Ok(r)
}

/// C's `(long long)` of a score (WITHHASH).
fn c_i64(d: f64) -> i64 {
    const TWO63: f64 = 9_223_372_036_854_775_808.0;
    if d.is_nan() || !(-TWO63..TWO63).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// The points of `z` inside the area: the boxes in Redis's order (a box equal
/// to the last one searched is skipped, as Redis does once one neighbour was
/// searched), each box's score range in order; with `limit` (ANY), stops at
/// that many.
fn collect(z: &ZSet, area: &Search, limit: usize) -> Vec<Point> {
    let boxes = area.boxes();
    let mut out = Vec::new();
    let mut last = 0usize;
    for (i, b) in boxes.iter().enumerate() {
        if b.is_zero() {
            continue;
        }
        if last != 0 && b.bits == boxes[last].bits && b.step == boxes[last].step {
            continue;
        }
        if limit > 0 && out.len() >= limit {
            break;
        }
        let min = b.align52() as f64;
        let max = hash::Hash {
            bits: b.bits + 1,
            step: b.step,
        }
        .align52() as f64;
        let first = z.count_before(|s, _| s < min);
        for (m, s) in z.iter_from(first, false) {
            if s >= max {
                break;
            }
            let (lon, lat) = hash::decode_score(s);
            if let Some(dist) = area.contains(lon, lat) {
                out.push(Point {
                    member: m.to_vec(),
                    score: s,
                    lon,
                    lat,
                    dist,
                });
            }
            if limit > 0 && out.len() >= limit {
                break;
            }
        }
        last = i;
    }
    out
}
