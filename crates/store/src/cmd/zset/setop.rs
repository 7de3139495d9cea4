//! Sorted-set algebra: ZUNION ZINTER ZDIFF, their STORE forms, and ZINTERCARD.
//! Plain sets are accepted as inputs with every score 1, as in Redis.

use bytes::Bytes;
use std::collections::HashSet;

use super::range::store_result;
use super::reply_elems;
use crate::cmd::set::parse_card_limit;
use crate::error::{CmdError, CmdResult};
use crate::exec::Exec;
use crate::keyspace::Store;
use crate::types::set::Set;
use crate::types::zset::ZSet;
use crate::util::{eq_ic, parse_i64};
use crate::value::Value;

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Union,
    Inter,
    Diff,
}

#[derive(Clone, Copy)]
enum Agg {
    Sum,
    Min,
    Max,
}

/// One input: a zset, a set, or nothing (missing key).
#[derive(Clone, Copy)]
enum Src<'a> {
    Z(&'a ZSet),
    S(&'a Set),
    None,
}

impl Src<'_> {
    fn len(&self) -> usize {
        match self {
            Src::Z(z) => z.len(),
            Src::S(s) => s.len(),
            Src::None => 0,
        }
    }
    fn score(&self, m: &[u8]) -> Option<f64> {
        match self {
            Src::Z(z) => z.score(m),
            Src::S(s) => s.contains(m).then_some(1.0),
            Src::None => None,
        }
    }
    fn for_each(&self, mut f: impl FnMut(&[u8], f64)) {
        match self {
            Src::Z(z) => z.iter().for_each(|(m, s)| f(m, s)),
            Src::S(s) => {
                let mut b = itoa::Buffer::new();
                for e in s.iter() {
                    f(e.bytes(&mut b), 1.0);
                }
            }
            Src::None => {}
        }
    }
}

fn src<'a>(store: &'a Store, db: usize, key: &[u8]) -> Src<'a> {
    match store.dbs[db].dict.get(key).map(|e| &e.value) {
        Some(Value::ZSet(z)) => Src::Z(z),
        Some(Value::Set(s)) => Src::S(s),
        _ => Src::None,
    }
}

fn aggregate(a: f64, b: f64, agg: Agg) -> f64 {
    match agg {
        Agg::Sum => {
            let r = a + b;
            // inf + -inf: Redis stores 0 rather than NaN.
            if r.is_nan() {
                0.0
            } else {
                r
            }
        }
        Agg::Min => a.min(b),
        Agg::Max => a.max(b),
    }
}

fn weighted(s: f64, w: f64) -> f64 {
    let r = s * w;
    if r.is_nan() {
        0.0
    } else {
        r
    }
}

struct Req<'a> {
    keys: &'a [Bytes],
    weights: Vec<f64>,
    agg: Agg,
    withscores: bool,
    limit: usize,
}

/// Parses `numkeys key... [options]` with numkeys at `args[at]`.
fn parse<'a>(
    args: &'a [Bytes],
    at: usize,
    op: Op,
    store: bool,
    card: bool,
) -> Result<Req<'a>, CmdError> {
    let nk = parse_i64(&args[at]).ok_or(CmdError::NotInteger)?;
    if nk < 1 {
        return Err(CmdError::msg(format!(
            "ERR at least 1 input key is needed for '{}' command",
            String::from_utf8_lossy(&args[0]).to_lowercase()
        )));
    }
    if nk as u64 > (args.len() - at - 1) as u64 {
        return Err(CmdError::Syntax);
    }
    let nk = nk as usize;
    let keys = &args[at + 1..at + 1 + nk];
    Ok(Req {
        keys,
        weights: vec![1.0; nk],
        agg: Agg::Sum,
        withscores: false,
        limit: 0,
    })
    .and_then(|mut r| {
        let opts = &args[at + 1 + nk..];
        if card {
            r.limit = parse_card_limit(opts)?;
            return Ok(r);
        }
        let mut j = 0;
        while j < opts.len() {
            let left = opts.len() - j - 1;
            let a = &opts[j];
            if op != Op::Diff && eq_ic(a, "WEIGHTS") && left >= nk {
                for (i, w) in opts[j + 1..j + 1 + nk].iter().enumerate() {
                    r.weights[i] = super::strict_float(w)
                        .ok_or_else(|| CmdError::msg("ERR weight value is not a float"))?;
                }
                j += nk;
            } else if op != Op::Diff && eq_ic(a, "AGGREGATE") && left >= 1 {
                let v = &opts[j + 1];
                r.agg = if eq_ic(v, "SUM") {
                    Agg::Sum
                } else if eq_ic(v, "MIN") {
                    Agg::Min
                } else if eq_ic(v, "MAX") {
                    Agg::Max
                } else {
                    return Err(CmdError::Syntax);
                };
                j += 1;
            } else if !store && eq_ic(a, "WITHSCORES") {
                r.withscores = true;
            } else {
                return Err(CmdError::Syntax);
            }
            j += 1;
        }
        Ok(r)
    })
}

/// Looks every input up (write lookups for STORE forms), refusing types other
/// than zset and set.
fn check_inputs(exec: &mut Exec<'_>, keys: &[Bytes], write: bool) -> CmdResult {
    for k in keys {
        let v = if write {
            exec.store.lookup_write(exec.db, k, exec.now)
        } else {
            exec.store.lookup_read(exec.db, k, exec.now)
        };
        if let Some(v) = v {
            if !matches!(v, Value::ZSet(_) | Value::Set(_)) {
                return Err(CmdError::WrongType);
            }
        }
    }
    Ok(())
}

/// Tracks which members' running score is -0 (see `compute`).
fn note(neg_zero: &mut HashSet<Vec<u8>>, m: &[u8], s: f64) {
    if s == 0.0 && s.is_sign_negative() {
        neg_zero.insert(m.to_vec());
    } else if !neg_zero.is_empty() {
        neg_zero.remove(m);
    }
}

/// The result, and the members whose score is -0: a zset normalises -0 to 0
/// as Redis's listpack does, but Redis computes ZUNION/ZINTER replies in a
/// skiplist, which keeps it ("-0" in the reply).
fn compute(store: &Store, db: usize, req: &Req<'_>, op: Op) -> (ZSet, HashSet<Vec<u8>>) {
    let mut neg_zero: HashSet<Vec<u8>> = HashSet::new();
    let cfg = &store.config;
    let mut srcs: Vec<(Src<'_>, f64)> = req
        .keys
        .iter()
        .zip(&req.weights)
        .map(|(k, &w)| (src(store, db, k), w))
        .collect();
    let mut out = ZSet::new();
    match op {
        Op::Inter => {
            if srcs.iter().any(|(s, _)| s.len() == 0) {
                return (out, Default::default());
            }
            // Smallest first, as Redis (also fixes the order of float additions).
            srcs.sort_by_key(|(s, _)| s.len());
            let (first, w0) = srcs[0];
            first.for_each(|m, s| {
                let mut acc = weighted(s, w0);
                for (o, w) in &srcs[1..] {
                    match o.score(m) {
                        Some(x) => acc = aggregate(acc, weighted(x, *w), req.agg),
                        None => return,
                    }
                }
                note(&mut neg_zero, m, acc);
                out.add(m, acc, cfg);
            });
        }
        Op::Union => {
            srcs.sort_by_key(|(s, _)| s.len());
            for (sr, w) in &srcs {
                sr.for_each(|m, s| {
                    let v = weighted(s, *w);
                    let nv = match out.score(m) {
                        Some(old) => {
                            // The true running score, -0 included.
                            let neg = old == 0.0 && neg_zero.contains(m);
                            aggregate(if neg { -0.0 } else { old }, v, req.agg)
                        }
                        None => v,
                    };
                    note(&mut neg_zero, m, nv);
                    out.add(m, nv, cfg);
                });
            }
        }
        Op::Diff => {
            let (first, _) = srcs[0];
            first.for_each(|m, s| {
                if !srcs[1..].iter().any(|(o, _)| o.score(m).is_some()) {
                    out.add(m, s, cfg);
                }
            });
        }
    }
    (out, neg_zero)
}

fn generic(exec: &mut Exec<'_>, args: &[Bytes], op: Op, store: bool) -> CmdResult {
    let at = if store { 2 } else { 1 };
    // Redis reads numkeys and the keys (type-checking them) before the options.
    let nk = parse_i64(&args[at]).ok_or(CmdError::NotInteger)?;
    if nk >= 1 && (nk as u64) <= (args.len() - at - 1) as u64 {
        check_inputs(exec, &args[at + 1..at + 1 + nk as usize], store)?;
    }
    let req = parse(args, at, op, store, false)?;
    let (res, neg_zero) = compute(exec.store, exec.db, &req, op);
    if store {
        store_result(exec, &args[1], res);
    } else {
        let items = res.iter().map(|(m, s)| match neg_zero.contains(m) {
            true => (m, -0.0),
            false => (m, s),
        });
        reply_elems(exec.out, res.len(), items, req.withscores);
    }
    Ok(())
}

pub(super) fn zunion(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    generic(exec, args, Op::Union, false)
}
pub(super) fn zinter(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    generic(exec, args, Op::Inter, false)
}
pub(super) fn zdiff(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    generic(exec, args, Op::Diff, false)
}
pub(super) fn zunionstore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    generic(exec, args, Op::Union, true)
}
pub(super) fn zinterstore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    generic(exec, args, Op::Inter, true)
}
pub(super) fn zdiffstore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    generic(exec, args, Op::Diff, true)
}

pub(super) fn zintercard(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let nk = parse_i64(&args[1]).ok_or(CmdError::NotInteger)?;
    if nk >= 1 && (nk as u64) <= (args.len() - 2) as u64 {
        check_inputs(exec, &args[2..2 + nk as usize], false)?;
    }
    let req = parse(args, 1, Op::Inter, false, true)?;
    let mut n = compute(exec.store, exec.db, &req, Op::Inter).0.len();
    if req.limit != 0 {
        n = n.min(req.limit);
    }
    exec.out.int(n as i64);
    Ok(())
}
