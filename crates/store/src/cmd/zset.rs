//! Sorted set commands (Redis 7.0). This file: ZADD ZINCRBY ZREM ZSCORE ZMSCORE
//! ZCARD ZRANK ZREVRANK ZPOPMIN ZPOPMAX BZPOPMIN BZPOPMAX ZMPOP BZMPOP
//! ZRANDMEMBER ZSCAN. Ranges live in `zset/range.rs`, the set algebra in
//! `zset/setop.rs`.
//!
//! Reply shapes follow Redis 7.0: scores are doubles (RESP3 `,`; RESP2 `%.17g`
//! bulk), and member/score pairs are nested `[member, score]` arrays under RESP3
//! where Redis nests them (ZRANGE WITHSCORES, ZPOPMIN with a count, ZMPOP ...).

use bytes::Bytes;
use tandem_resp::ReplyBuf;

use crate::cmd::set::{parse_scan_opts, scan_reply};
use crate::error::{CmdError, CmdResult};
use crate::exec::{BlockRequest, Exec, Handler};
use crate::keyspace::Store;
use crate::types::zset::{AddOutcome, ZSet};
use crate::util::{eq_ic, glob_match, parse_f64, parse_i64};
use crate::value::Value;

mod range;
mod setop;
#[cfg(test)]
mod tests;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("zadd", zadd),
    ("zincrby", zincrby),
    ("zrem", zrem),
    ("zscore", zscore),
    ("zmscore", zmscore),
    ("zcard", zcard),
    ("zrank", zrank),
    ("zrevrank", zrevrank),
    ("zpopmin", zpopmin),
    ("zpopmax", zpopmax),
    ("bzpopmin", bzpopmin),
    ("bzpopmax", bzpopmax),
    ("zmpop", zmpop),
    ("bzmpop", bzmpop),
    ("zrandmember", zrandmember),
    ("zscan", zscan),
    ("zcount", range::zcount),
    ("zlexcount", range::zlexcount),
    ("zrange", range::zrange),
    ("zrangestore", range::zrangestore),
    ("zrevrange", range::zrevrange),
    ("zrangebyscore", range::zrangebyscore),
    ("zrevrangebyscore", range::zrevrangebyscore),
    ("zrangebylex", range::zrangebylex),
    ("zrevrangebylex", range::zrevrangebylex),
    ("zremrangebyrank", range::zremrangebyrank),
    ("zremrangebyscore", range::zremrangebyscore),
    ("zremrangebylex", range::zremrangebylex),
    ("zunion", setop::zunion),
    ("zinter", setop::zinter),
    ("zdiff", setop::zdiff),
    ("zunionstore", setop::zunionstore),
    ("zinterstore", setop::zinterstore),
    ("zdiffstore", setop::zdiffstore),
    ("zintercard", setop::zintercard),
];

const NAN_ERR: &str = "ERR resulting score is not a number (NaN)";

/// Parses a score as Redis's `getDoubleFromObject`: like `parse_f64`, but a
/// literal that overflows to infinity or underflows to zero (strtod's ERANGE)
/// is refused; only the words inf/infinity give infinities.
pub(crate) fn strict_float(a: &[u8]) -> Option<f64> {
    let v = parse_f64(a)?;
    if v.is_infinite() {
        let word = a
            .strip_prefix(b"-")
            .or_else(|| a.strip_prefix(b"+"))
            .unwrap_or(a);
        if !(word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"infinity")) {
            return None;
        }
    }
    if v == 0.0 {
        let mantissa = a.split(|&c| c == b'e' || c == b'E').next().unwrap_or(a);
        if mantissa.iter().any(|c| (b'1'..=b'9').contains(c)) {
            return None;
        }
    }
    Some(v)
}

/// Looks `key` up and returns its sorted set, or WRONGTYPE.
pub(crate) fn zlookup<'a>(
    store: &'a mut Store,
    db: usize,
    now: i64,
    key: &[u8],
    write: bool,
) -> Result<Option<&'a mut ZSet>, CmdError> {
    let v = if write {
        store.lookup_write(db, key, now)
    } else {
        store.lookup_read(db, key, now)
    };
    match v {
        None => Ok(None),
        Some(Value::ZSet(z)) => Ok(Some(z)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// A sorted set already looked up, read without side effects.
pub(crate) fn zpeek<'a>(store: &'a Store, db: usize, key: &[u8]) -> Option<&'a ZSet> {
    match store.dbs[db].dict.get(key).map(|e| &e.value) {
        Some(Value::ZSet(z)) => Some(z),
        _ => None,
    }
}

/// Writes `n` elements, with scores if asked: RESP3 nests `[member, score]`
/// pairs, RESP2 flattens them.
pub(crate) fn reply_elems<'a>(
    out: &mut ReplyBuf,
    n: usize,
    items: impl Iterator<Item = (&'a [u8], f64)>,
    withscores: bool,
) {
    let nested = withscores && out.is_resp3();
    out.array(if withscores && !nested { 2 * n } else { n });
    for (m, s) in items.take(n) {
        if nested {
            out.array(2);
        }
        out.bulk(m);
        if withscores {
            out.double(s);
        }
    }
}

/// Always-nested pairs (ZMPOP/BZMPOP in both protocols).
fn reply_pairs_nested(out: &mut ReplyBuf, items: &[(Vec<u8>, f64)]) {
    out.array(items.len());
    for (m, s) in items {
        out.array(2);
        out.bulk(m);
        out.double(*s);
    }
}

/// Deletes `key` if its sorted set became empty.
/// Returns whether it did (the deletion already touched the key).
pub(crate) fn zdrop_if_empty(exec: &mut Exec<'_>, key: &[u8]) -> bool {
    zpeek(exec.store, exec.db, key).is_some_and(|z| z.is_empty())
        && exec.store.delete_key(exec.db, key)
}

#[derive(Default)]
struct AddFlags {
    nx: bool,
    xx: bool,
    gt: bool,
    lt: bool,
    ch: bool,
    incr: bool,
}

/// One ZADD element. Returns `Ok(None)` when skipped by NX/XX/GT/LT, else the
/// outcome and the resulting score.
fn zadd_one(
    z: &mut ZSet,
    m: &[u8],
    score: f64,
    f: &AddFlags,
    cfg: &crate::keyspace::StoreConfig,
) -> Result<Option<(AddOutcome, f64)>, CmdError> {
    match z.score(m) {
        Some(cur) => {
            if f.nx {
                return Ok(None);
            }
            let new = if f.incr { cur + score } else { score };
            if new.is_nan() {
                return Err(CmdError::msg(NAN_ERR));
            }
            if (f.lt && new >= cur) || (f.gt && new <= cur) {
                return Ok(None);
            }
            Ok(Some((z.add(m, new, cfg), new)))
        }
        None => {
            if f.xx {
                return Ok(None);
            }
            Ok(Some((z.add(m, score, cfg), score)))
        }
    }
}

/// ZADD and ZINCRBY share this (ZINCRBY = ZADD INCR without flags).
fn zadd_generic(exec: &mut Exec<'_>, args: &[Bytes], zincrby: bool) -> CmdResult {
    let key = &args[1];
    let mut f = AddFlags {
        incr: zincrby,
        ..AddFlags::default()
    };
    let mut i = 2;
    // ZINCRBY shares ZADD's parser in Redis, options included: `ZINCRBY k XX m`
    // is a syntax error (nothing left to pair), not a bad increment.
    while i < args.len() {
        let a = &args[i];
        if eq_ic(a, "NX") {
            f.nx = true;
        } else if eq_ic(a, "XX") {
            f.xx = true;
        } else if eq_ic(a, "GT") {
            f.gt = true;
        } else if eq_ic(a, "LT") {
            f.lt = true;
        } else if eq_ic(a, "CH") {
            f.ch = true;
        } else if eq_ic(a, "INCR") {
            f.incr = true;
        } else {
            break;
        }
        i += 1;
    }
    let rest = &args[i..];
    if rest.is_empty() || !rest.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    if f.nx && f.xx {
        return Err(CmdError::msg(
            "ERR XX and NX options at the same time are not compatible",
        ));
    }
    if (f.gt || f.lt) && (f.nx || (f.gt && f.lt)) {
        return Err(CmdError::msg(
            "ERR GT, LT, and/or NX options at the same time are not compatible",
        ));
    }
    if f.incr && rest.len() > 2 {
        return Err(CmdError::msg(
            "ERR INCR option supports a single increment-element pair",
        ));
    }
    let mut pairs = Vec::with_capacity(rest.len() / 2);
    for p in rest.chunks_exact(2) {
        let s = strict_float(&p[0]).ok_or(CmdError::NotFloat)?;
        pairs.push((s, &p[1]));
    }
    let cfg = exec.store.config.clone();
    let (mut added, mut updated, mut processed) = (0u64, 0u64, 0u64);
    let mut last = 0.0;
    let exists = zlookup(exec.store, exec.db, exec.now, key, true)?.is_some();
    if !exists {
        if f.xx {
            if f.incr {
                exec.out.null();
            } else {
                exec.out.int(0);
            }
            return Ok(());
        }
        exec.store
            .set_key(exec.db, key, Value::ZSet(ZSet::default()), false, exec.now);
    }
    let mut err = None;
    if let Some(Value::ZSet(z)) = exec.store.dbs[exec.db]
        .dict
        .get_mut(key)
        .map(|e| &mut e.value)
    {
        for (s, m) in pairs {
            match zadd_one(z, m, s, &f, &cfg) {
                Err(e) => {
                    err = Some(e);
                    break;
                }
                Ok(None) => {}
                Ok(Some((o, news))) => {
                    processed += 1;
                    last = news;
                    match o {
                        AddOutcome::Added => added += 1,
                        AddOutcome::Updated => updated += 1,
                        AddOutcome::Unchanged => {}
                    }
                }
            }
        }
    }
    // A key created just above was already touched by set_key.
    let dropped = zdrop_if_empty(exec, key);
    if added + updated > 0 {
        if exists && !dropped {
            exec.store.touch(exec.db, key);
        }
        exec.dirty(added + updated);
    }
    if let Some(e) = err {
        return Err(e);
    }
    if f.incr {
        if processed > 0 {
            exec.out.double(last);
        } else {
            exec.out.null();
        }
    } else {
        exec.out
            .int((if f.ch { added + updated } else { added }) as i64);
    }
    Ok(())
}

pub(crate) fn zadd(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zadd_generic(exec, args, false)
}

fn zincrby(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zadd_generic(exec, args, true)
}

fn zrem(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let mut n = 0u64;
    if let Some(z) = zlookup(exec.store, exec.db, exec.now, key, true)? {
        for m in &args[2..] {
            if z.remove(m).is_some() {
                n += 1;
                if z.is_empty() {
                    break;
                }
            }
        }
    }
    if n > 0 {
        if !zdrop_if_empty(exec, key) {
            exec.store.touch(exec.db, key);
        }
        exec.dirty(n);
    }
    exec.out.int(n as i64);
    Ok(())
}

fn zscore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    match zlookup(exec.store, exec.db, exec.now, &args[1], false)?.and_then(|z| z.score(&args[2])) {
        Some(s) => exec.out.double(s),
        None => exec.out.null(),
    }
    Ok(())
}

fn zmscore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let scores: Vec<Option<f64>> = match zlookup(exec.store, exec.db, exec.now, &args[1], false)? {
        Some(z) => args[2..].iter().map(|m| z.score(m)).collect(),
        None => vec![None; args.len() - 2],
    };
    exec.out.array(scores.len());
    for s in scores {
        match s {
            Some(s) => exec.out.double(s),
            None => exec.out.null(),
        }
    }
    Ok(())
}

fn zcard(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let n = zlookup(exec.store, exec.db, exec.now, &args[1], false)?.map_or(0, |z| z.len());
    exec.out.int(n as i64);
    Ok(())
}

fn rank_generic(exec: &mut Exec<'_>, args: &[Bytes], rev: bool) -> CmdResult {
    let r = zlookup(exec.store, exec.db, exec.now, &args[1], false)?.and_then(|z| {
        z.rank(&args[2])
            .map(|r| if rev { z.len() - 1 - r } else { r })
    });
    match r {
        Some(r) => exec.out.int(r as i64),
        None => exec.out.null(),
    }
    Ok(())
}

fn zrank(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    rank_generic(exec, args, false)
}

fn zrevrank(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    rank_generic(exec, args, true)
}

/// Pops up to `n` lowest (or highest) elements.
fn pop_n(z: &mut ZSet, max: bool, n: usize) -> Vec<(Vec<u8>, f64)> {
    let mut out = Vec::with_capacity(n.min(z.len()));
    while out.len() < n {
        let k = if max { z.len().wrapping_sub(1) } else { 0 };
        let Some((m, s)) = z.select(k).map(|(m, s)| (m.to_vec(), s)) else {
            break;
        };
        z.remove(&m);
        out.push((m, s));
    }
    out
}

fn positive_count(arg: &[u8]) -> Result<usize, CmdError> {
    match parse_i64(arg) {
        Some(c) if c >= 0 => Ok(c as usize),
        _ => Err(CmdError::msg("ERR value is out of range, must be positive")),
    }
}

/// Pops from `key` (known to hold a non-empty zset) and does the bookkeeping.
fn pop_key(exec: &mut Exec<'_>, key: &[u8], max: bool, n: usize) -> Vec<(Vec<u8>, f64)> {
    let popped = match exec.store.dbs[exec.db]
        .dict
        .get_mut(key)
        .map(|e| &mut e.value)
    {
        Some(Value::ZSet(z)) => pop_n(z, max, n),
        _ => Vec::new(),
    };
    if !popped.is_empty() {
        if !zdrop_if_empty(exec, key) {
            exec.store.touch(exec.db, key);
        }
        exec.dirty(popped.len() as u64);
    }
    popped
}

/// ZPOPMIN/ZPOPMAX with a count: pairs (nested in RESP3).
fn zpop_count(exec: &mut Exec<'_>, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let key = &args[1];
    let count = positive_count(&args[2])?;
    if zlookup(exec.store, exec.db, exec.now, key, true)?.is_none() || count == 0 {
        exec.out.empty_array();
        return Ok(());
    }
    let popped = pop_key(exec, key, max, count);
    reply_elems(
        exec.out,
        popped.len(),
        popped.iter().map(|(m, s)| (&m[..], *s)),
        true,
    );
    Ok(())
}

fn zpopmin(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zpop_generic(exec, args, false)
}

fn zpopmax(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zpop_generic(exec, args, true)
}

/// ZPOPMIN/ZPOPMAX: without a count Redis replies a flat `[member, score]` in
/// both protocols; with a count, pairs (nested in RESP3).
fn zpop_generic(exec: &mut Exec<'_>, args: &[Bytes], max: bool) -> CmdResult {
    if args.len() == 2 {
        let key = &args[1];
        if zlookup(exec.store, exec.db, exec.now, key, true)?.is_none() {
            exec.out.empty_array();
            return Ok(());
        }
        let popped = pop_key(exec, key, max, 1);
        exec.out.array(2 * popped.len());
        for (m, s) in &popped {
            exec.out.bulk(m);
            exec.out.double(*s);
        }
        return Ok(());
    }
    zpop_count(exec, args, max)
}

/// Parses a blocking timeout (seconds, fractional allowed) into an absolute
/// deadline; `None` = forever.
pub(crate) fn parse_timeout(arg: &[u8], now: i64) -> Result<Option<i64>, CmdError> {
    let t = parse_f64(arg).ok_or(CmdError::TimeoutNotFloat)?;
    // Redis rounds the milliseconds up, then checks the sign (so -0.0001 is 0).
    let ms = (t * 1000.0).ceil();
    // Values past i64 (inf, 1e300) wrap negative in Redis's C cast: "negative".
    if ms < 0.0 || ms >= i64::MAX as f64 {
        return Err(CmdError::TimeoutNegative);
    }
    let ms = ms as i64;
    Ok(if ms > 0 {
        Some(now.saturating_add(ms))
    } else {
        None
    })
}

/// Finds the first key holding a non-empty zset; WRONGTYPE on a wrong-typed key
/// met before it.
fn first_nonempty(exec: &mut Exec<'_>, keys: &[Bytes]) -> Result<Option<usize>, CmdError> {
    for (i, k) in keys.iter().enumerate() {
        if zlookup(exec.store, exec.db, exec.now, k, true)?.is_some_and(|z| !z.is_empty()) {
            return Ok(Some(i));
        }
    }
    Ok(None)
}

fn no_serve(exec: &mut Exec<'_>, keys: &[Bytes], deadline: Option<i64>) {
    if exec.in_multi {
        exec.out.null_array();
    } else {
        exec.block = Some(BlockRequest {
            keys: keys.to_vec(),
            deadline_ms: deadline,
            args: None,
        });
    }
}

fn bzpop_generic(exec: &mut Exec<'_>, args: &[Bytes], max: bool) -> CmdResult {
    let deadline = parse_timeout(&args[args.len() - 1], exec.now)?;
    let keys = &args[1..args.len() - 1];
    let Some(i) = first_nonempty(exec, keys)? else {
        no_serve(exec, keys, deadline);
        return Ok(());
    };
    let key = &keys[i];
    let popped = pop_key(exec, key, max, 1);
    exec.out.array(3);
    exec.out.bulk(key);
    for (m, s) in &popped {
        exec.out.bulk(m);
        exec.out.double(*s);
    }
    let name: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    exec.propagate_as(vec![Bytes::from_static(name), key.clone()]);
    Ok(())
}

fn bzpopmin(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    bzpop_generic(exec, args, false)
}

fn bzpopmax(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    bzpop_generic(exec, args, true)
}

/// ZMPOP/BZMPOP: `numkeys` is at `args[at]`. Returns (keys, max, count).
fn parse_mpop(args: &[Bytes], at: usize) -> Result<(&[Bytes], bool, usize), CmdError> {
    let nk = match parse_i64(&args[at]) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(CmdError::msg("ERR numkeys should be greater than 0")),
    };
    let where_idx = (at as u64 + 1).saturating_add(nk);
    if where_idx >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let keys = &args[at + 1..where_idx];
    let max = if eq_ic(&args[where_idx], "MIN") {
        false
    } else if eq_ic(&args[where_idx], "MAX") {
        true
    } else {
        return Err(CmdError::Syntax);
    };
    let mut count = None;
    let mut j = where_idx + 1;
    while j < args.len() {
        if count.is_none() && eq_ic(&args[j], "COUNT") && j + 1 < args.len() {
            match parse_i64(&args[j + 1]) {
                Some(c) if c > 0 => count = Some(c as usize),
                _ => return Err(CmdError::msg("ERR count should be greater than 0")),
            }
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok((keys, max, count.unwrap_or(1)))
}

/// Serves ZMPOP/BZMPOP from `keys[i]`: `[key, [[member, score]...]]`, propagated
/// as ZPOPMIN/ZPOPMAX with the number popped.
fn mpop_serve(exec: &mut Exec<'_>, key: &Bytes, max: bool, count: usize) {
    let popped = pop_key(exec, key, max, count);
    exec.out.array(2);
    exec.out.bulk(key);
    reply_pairs_nested(exec.out, &popped);
    let name: &'static [u8] = if max { b"ZPOPMAX" } else { b"ZPOPMIN" };
    let mut b = itoa::Buffer::new();
    let n = Bytes::copy_from_slice(b.format(popped.len()).as_bytes());
    exec.propagate_as(vec![Bytes::from_static(name), key.clone(), n]);
}

fn zmpop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let (keys, max, count) = parse_mpop(args, 1)?;
    match first_nonempty(exec, keys)? {
        Some(i) => mpop_serve(exec, &keys[i], max, count),
        None => exec.out.null_array(),
    }
    Ok(())
}

fn bzmpop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let deadline = parse_timeout(&args[1], exec.now)?;
    let (keys, max, count) = parse_mpop(args, 2)?;
    match first_nonempty(exec, keys)? {
        Some(i) => mpop_serve(exec, &keys[i], max, count),
        None => no_serve(exec, keys, deadline),
    }
    Ok(())
}

fn zrandmember(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if args.len() == 2 {
        let m = zlookup(exec.store, exec.db, exec.now, key, false)?
            .and_then(|z| z.random().map(|(m, _)| m.to_vec()));
        match m {
            Some(m) => exec.out.bulk(&m),
            None => exec.out.null(),
        }
        return Ok(());
    }
    let count = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    if count == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withscores = match args.len() {
        3 => false,
        4 if eq_ic(&args[3], "WITHSCORES") => true,
        _ => return Err(CmdError::Syntax),
    };
    if withscores && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        // The reply would have more than i64::MAX entries.
        return Err(CmdError::msg("ERR value is out of range"));
    }
    if zlookup(exec.store, exec.db, exec.now, key, false)?.is_none() {
        exec.out.empty_array();
        return Ok(());
    }
    let Some(z) = zpeek(exec.store, exec.db, key) else {
        exec.out.empty_array();
        return Ok(());
    };
    let n = z.len();
    if count == 0 || n == 0 {
        exec.out.empty_array();
    } else if count < 0 {
        let k = count.unsigned_abs() as usize;
        let it = (0..k).filter_map(|_| z.random());
        reply_elems(exec.out, k, it, withscores);
    } else if count as u64 >= n as u64 {
        // Redis 7.0 returns the whole set highest first here.
        reply_elems(exec.out, n, z.iter_from(n - 1, true), withscores);
    } else {
        let k = count as usize;
        let mut seen = hashbrown::HashSet::with_capacity(k);
        let mut idx = Vec::with_capacity(k);
        if k * 3 > n {
            let mut all: Vec<usize> = (0..n).collect();
            for i in 0..k {
                let j = rand::random_range(i..n);
                all.swap(i, j);
            }
            idx.extend_from_slice(&all[..k]);
        } else {
            while idx.len() < k {
                let i = rand::random_range(0..n);
                if seen.insert(i) {
                    idx.push(i);
                }
            }
        }
        let it = idx.into_iter().filter_map(|i| z.select(i));
        reply_elems(exec.out, k, it, withscores);
    }
    Ok(())
}

/// ZSCAN returns scores as Redis stores them: a listpack keeps integral scores
/// within ±2^62 as integers (`double2ll`), so they print as integers; otherwise
/// `d2string` (integers below 2^52, else `%.17g`), which `fmt_g17` matches.
fn scan_score(s: f64, listpack: bool) -> Vec<u8> {
    if listpack && s.fract() == 0.0 && s.abs() <= (i64::MAX / 2) as f64 {
        return itoa::Buffer::new().format(s as i64).as_bytes().to_vec();
    }
    let mut tmp = [0u8; 40];
    let n = tandem_resp::float::fmt_g17(s, &mut tmp);
    tmp[..n].to_vec()
}

fn zscan(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = crate::util::parse_scan_cursor(&args[2])?;
    let Some(z) = zlookup(exec.store, exec.db, exec.now, &args[1], false)? else {
        scan_reply(exec.out, 0, &[]);
        return Ok(());
    };

    let (pat, count) = parse_scan_opts(&args[3..])?;
    let mut items = Vec::new();
    let listpack = z.is_listpack();
    let next = z.scan(cursor, count, |m, s| {
        if pat.is_none_or(|p| glob_match(p, m, false)) {
            items.push(m.to_vec());
            items.push(scan_score(s, listpack));
        }
    });
    scan_reply(exec.out, next, &items);
    Ok(())
}
