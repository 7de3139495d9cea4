//! Range commands: ZCOUNT ZLEXCOUNT ZRANGE ZRANGESTORE ZREVRANGE
//! ZRANGEBYSCORE ZREVRANGEBYSCORE ZRANGEBYLEX ZREVRANGEBYLEX ZREMRANGEBYRANK
//! ZREMRANGEBYSCORE ZREMRANGEBYLEX.
//!
//! Every range is turned into a half-open interval of ascending ranks
//! `[lo, hi)` with two O(log n) rank-of-boundary descents, then walked with the
//! tree's in-order iterator from `lo` (or backwards from `hi - 1`).

use bytes::Bytes;

use super::{reply_elems, zdrop_if_empty, zlookup, zpeek};
use crate::error::{CmdError, CmdResult};
use crate::exec::Exec;
use crate::types::zset::ZSet;
use crate::util::{eq_ic, parse_f64, parse_i64};
use crate::value::Value;

const SCORE_ERR: &str = "ERR min or max is not a float";
const LEX_ERR: &str = "ERR min or max not valid string range item";

/// A score interval with optional exclusive ends (`(1.5`).
#[derive(Debug, Clone, Copy)]
pub(crate) struct ScoreRange {
    min: f64,
    max: f64,
    minex: bool,
    maxex: bool,
}

fn parse_score_bound(a: &[u8]) -> Option<(f64, bool)> {
    // Redis hands the argument to strtod as a C string: it ends at a NUL.
    let a = &a[..a.iter().position(|&b| b == 0).unwrap_or(a.len())];
    let (ex, num) = match a.first() {
        Some(b'(') => (true, &a[1..]),
        _ => (false, a),
    };
    // strtod on an empty string yields 0 with nothing left over: Redis accepts it.
    if num.is_empty() {
        return Some((0.0, ex));
    }
    // strtod skips leading white space (C's isspace); white space alone is
    // no number.
    let start = num
        .iter()
        .position(|&c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    range_float(&num[start..]).map(|v| (v, ex))
}

/// Range bounds go through plain `strtod` in Redis (no ERANGE check): a literal
/// that overflows is ±inf and one that underflows is 0, where ZADD would refuse
/// both.
fn range_float(a: &[u8]) -> Option<f64> {
    if let Some(v) = parse_f64(a) {
        return Some(v);
    }
    let t = std::str::from_utf8(a).ok()?;
    let body = t.strip_prefix(['+', '-']).unwrap_or(t);
    let decimal = !body.is_empty()
        && !body.starts_with(['+', '-'])
        && body
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'));
    if !decimal {
        return None;
    }
    t.parse::<f64>().ok().filter(|v| !v.is_nan())
}

impl ScoreRange {
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Result<Self, CmdError> {
        let err = || CmdError::msg(SCORE_ERR);
        let (min, minex) = parse_score_bound(min).ok_or_else(err)?;
        let (max, maxex) = parse_score_bound(max).ok_or_else(err)?;
        Ok(ScoreRange {
            min,
            max,
            minex,
            maxex,
        })
    }
    fn below_min(&self, s: f64) -> bool {
        if self.minex {
            s <= self.min
        } else {
            s < self.min
        }
    }
    fn within_max(&self, s: f64) -> bool {
        if self.maxex {
            s < self.max
        } else {
            s <= self.max
        }
    }
    /// Ascending ranks `[lo, hi)` of the elements in range.
    pub(crate) fn ranks(&self, z: &ZSet) -> (usize, usize) {
        let lo = z.count_before(|s, _| self.below_min(s));
        let hi = z.count_before(|s, _| self.within_max(s));
        (lo, hi.max(lo))
    }
}

#[derive(Debug, Clone)]
enum LexBound {
    NegInf,
    PosInf,
    Incl(Vec<u8>),
    Excl(Vec<u8>),
}

/// A lexicographic interval (`[a`, `(a`, `-`, `+`).
#[derive(Debug, Clone)]
pub(crate) struct LexRange {
    min: LexBound,
    max: LexBound,
}

fn parse_lex_bound(a: &[u8]) -> Option<LexBound> {
    match a.first() {
        Some(b'+') if a.len() == 1 => Some(LexBound::PosInf),
        Some(b'-') if a.len() == 1 => Some(LexBound::NegInf),
        Some(b'[') => Some(LexBound::Incl(a[1..].to_vec())),
        Some(b'(') => Some(LexBound::Excl(a[1..].to_vec())),
        _ => None,
    }
}

impl LexRange {
    pub(crate) fn parse(min: &[u8], max: &[u8]) -> Result<Self, CmdError> {
        let err = || CmdError::msg(LEX_ERR);
        Ok(LexRange {
            min: parse_lex_bound(min).ok_or_else(err)?,
            max: parse_lex_bound(max).ok_or_else(err)?,
        })
    }
    fn below_min(&self, m: &[u8]) -> bool {
        match &self.min {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(b) => m < &b[..],
            LexBound::Excl(b) => m <= &b[..],
        }
    }
    fn within_max(&self, m: &[u8]) -> bool {
        match &self.max {
            LexBound::NegInf => false,
            LexBound::PosInf => true,
            LexBound::Incl(b) => m <= &b[..],
            LexBound::Excl(b) => m < &b[..],
        }
    }
    pub(crate) fn ranks(&self, z: &ZSet) -> (usize, usize) {
        if z.is_listpack() {
            return self.ranks_listpack(z);
        }
        let lo = z.count_before(|_, m| self.below_min(m));
        let hi = z.count_before(|_, m| self.within_max(m));
        (lo, hi.max(lo))
    }
}

impl LexRange {
    /// Redis's listpack walk (zzlFirstInLexRange): lex ranges assume equal scores;
    /// when scores differ, Redis checks the first and last members against the
    /// range, then takes the run that starts at the first member >= min and stops
    /// at the first member > max. Emulated exactly so small mixed-score sets give
    /// Redis's answer (big ones use the ordered search, as Redis's skiplist does).
    fn ranks_listpack(&self, z: &ZSet) -> (usize, usize) {
        let len = z.len();
        let (Some((first, _)), Some((last, _))) = (z.select(0), z.select(len.wrapping_sub(1)))
        else {
            return (0, 0);
        };
        if self.below_min(last) || !self.within_max(first) {
            return (0, 0);
        }
        let mut it = z
            .iter()
            .enumerate()
            .skip_while(|(_, (m, _))| self.below_min(m));
        let Some((lo, (m, _))) = it.next() else {
            return (0, 0);
        };
        if !self.within_max(m) {
            return (lo, lo);
        }
        let run = 1 + it.take_while(|(_, (m, _))| self.within_max(m)).count();
        (lo, lo + run)
    }
}

impl LexRange {
    /// The reverse walk (zzlLastInLexRange): from the tail, the first member <= max,
    /// then backwards while members are >= min. Returned as forward ranks.
    fn ranks_listpack_rev(&self, z: &ZSet) -> (usize, usize) {
        let len = z.len();
        let (Some((first, _)), Some((last, _))) = (z.select(0), z.select(len.wrapping_sub(1)))
        else {
            return (0, 0);
        };
        if self.below_min(last) || !self.within_max(first) {
            return (0, 0);
        }
        let members: Vec<&[u8]> = z.iter().map(|(m, _)| m).collect();
        let Some(top) = members.iter().rposition(|m| self.within_max(m)) else {
            return (0, 0);
        };
        if self.below_min(members[top]) {
            return (top + 1, top + 1);
        }
        let run = members[..=top]
            .iter()
            .rev()
            .take_while(|m| !self.below_min(m))
            .count();
        (top + 1 - run, top + 1)
    }
}

/// Normalises Redis rank indexes (negative from the end) to an inclusive
/// ascending-or-reverse range, or None when empty.
fn rank_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    let len = len as i64;
    let mut s = if start < 0 { start + len } else { start };
    let mut e = if end < 0 { end + len } else { end };
    if s < 0 {
        s = 0;
    }
    if s > e || s >= len {
        return None;
    }
    if e >= len {
        e = len - 1;
    }
    Some((s as usize, e as usize))
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Auto,
    Rank,
    Score,
    Lex,
}

enum Parsed {
    Rank(i64, i64),
    Score(ScoreRange),
    Lex(LexRange),
}

/// Selects `(start rank in iteration order, count, rev)` for a parsed range.
fn select(z: &ZSet, p: &Parsed, rev: bool, offset: i64, limit: i64) -> Option<(usize, usize)> {
    let len = z.len();
    match p {
        Parsed::Rank(s, e) => {
            let (s, e) = rank_range(*s, *e, len)?;
            let n = e - s + 1;
            Some((if rev { len - 1 - s } else { s }, n))
        }
        Parsed::Score(_) | Parsed::Lex(_) => {
            let (lo, hi) = match p {
                Parsed::Score(r) => r.ranks(z),
                Parsed::Lex(r) if rev && z.is_listpack() => r.ranks_listpack_rev(z),
                Parsed::Lex(r) => r.ranks(z),
                Parsed::Rank(..) => return None,
            };
            // A negative offset skips everything, as Redis's `while (offset--)`.
            if offset < 0 {
                return None;
            }
            let avail = (hi - lo).checked_sub(offset as u64 as usize)?;
            let n = if limit < 0 {
                avail
            } else {
                avail.min(limit as usize)
            };
            if n == 0 {
                return None;
            }
            let off = offset as usize;
            Some((if rev { hi - 1 - off } else { lo + off }, n))
        }
    }
}

/// The shared ZRANGE engine. `src` is the source key index; `a`/`b` follow it;
/// options start at `src + 3`. `dst` is set for ZRANGESTORE.
fn zrange_generic(
    exec: &mut Exec<'_>,
    args: &[Bytes],
    src: usize,
    dst: Option<&Bytes>,
    mut kind: Kind,
    mut rev: Option<bool>,
) -> CmdResult {
    if args.len() < src + 3 {
        // The command table's arity check normally catches this.
        return Err(CmdError::arity(&args[0]));
    }
    let mut withscores = false;
    let (mut offset, mut limit) = (0i64, -1i64);
    let mut j = src + 3;
    while j < args.len() {
        let a = &args[j];
        let left = args.len() - j - 1;
        if dst.is_none() && eq_ic(a, "WITHSCORES") {
            withscores = true;
        } else if eq_ic(a, "LIMIT") && left >= 2 {
            offset = parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?;
            limit = parse_i64(&args[j + 2]).ok_or(CmdError::NotInteger)?;
            j += 2;
        } else if rev.is_none() && eq_ic(a, "REV") {
            rev = Some(true);
        } else if kind == Kind::Auto && eq_ic(a, "BYLEX") {
            kind = Kind::Lex;
        } else if kind == Kind::Auto && eq_ic(a, "BYSCORE") {
            kind = Kind::Score;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let rev = rev.unwrap_or(false);
    if kind == Kind::Auto {
        kind = Kind::Rank;
    }
    if limit != -1 && kind == Kind::Rank {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX",
        ));
    }
    if withscores && kind == Kind::Lex {
        return Err(CmdError::msg(
            "ERR syntax error, WITHSCORES not supported in combination with BYLEX",
        ));
    }
    let (mut a, mut b) = (&args[src + 1], &args[src + 2]);
    if rev && kind != Kind::Rank {
        // Score and lex ranges are given as [max, min] when reversed.
        std::mem::swap(&mut a, &mut b);
    }
    let parsed = match kind {
        Kind::Score => Parsed::Score(ScoreRange::parse(a, b)?),
        Kind::Lex => Parsed::Lex(LexRange::parse(a, b)?),
        _ => Parsed::Rank(
            parse_i64(a).ok_or(CmdError::NotInteger)?,
            parse_i64(b).ok_or(CmdError::NotInteger)?,
        ),
    };
    let key = &args[src];
    let exists = zlookup(exec.store, exec.db, exec.now, key, dst.is_some())?.is_some();
    let Some(dst) = dst else {
        let z = match zpeek(exec.store, exec.db, key) {
            Some(z) if exists => z,
            _ => {
                exec.out.empty_array();
                return Ok(());
            }
        };
        match select(z, &parsed, rev, offset, limit) {
            None => exec.out.empty_array(),
            Some((start, n)) => reply_elems(exec.out, n, z.iter_from(start, rev), withscores),
        }
        return Ok(());
    };
    let mut res = ZSet::new();
    if let Some(z) = zpeek(exec.store, exec.db, key).filter(|_| exists) {
        if let Some((start, n)) = select(z, &parsed, rev, offset, limit) {
            let cfg = &exec.store.config;
            for (m, s) in z.iter_from(start, rev).take(n) {
                res.add(m, s, cfg);
            }
        }
    }
    store_result(exec, dst, res);
    Ok(())
}

/// Stores a computed zset at `dst` (deleting it when empty) and replies with its
/// size. Dirty unless nothing was stored and nothing deleted.
pub(crate) fn store_result(exec: &mut Exec<'_>, dst: &[u8], res: ZSet) {
    let n = res.len();
    if n > 0 {
        exec.store
            .set_key(exec.db, dst, Value::ZSet(res), false, exec.now);
        exec.dirty(1);
    } else if exec.store.delete_key(exec.db, dst) {
        exec.dirty(1);
    }
    exec.out.int(n as i64);
}

pub(super) fn zrange(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(exec, args, 1, None, Kind::Auto, None)
}
pub(super) fn zrangestore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(exec, args, 2, Some(&args[1]), Kind::Auto, None)
}
pub(super) fn zrevrange(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(exec, args, 1, None, Kind::Rank, Some(true))
}
pub(super) fn zrangebyscore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(exec, args, 1, None, Kind::Score, Some(false))
}
pub(super) fn zrevrangebyscore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(exec, args, 1, None, Kind::Score, Some(true))
}
pub(super) fn zrangebylex(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(exec, args, 1, None, Kind::Lex, Some(false))
}
pub(super) fn zrevrangebylex(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zrange_generic(exec, args, 1, None, Kind::Lex, Some(true))
}

pub(super) fn zcount(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let r = ScoreRange::parse(&args[2], &args[3])?;
    let n = zlookup(exec.store, exec.db, exec.now, &args[1], false)?.map_or(0, |z| {
        let (lo, hi) = r.ranks(z);
        hi - lo
    });
    exec.out.int(n as i64);
    Ok(())
}

pub(super) fn zlexcount(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let r = LexRange::parse(&args[2], &args[3])?;
    let n = zlookup(exec.store, exec.db, exec.now, &args[1], false)?.map_or(0, |z| {
        let (lo, hi) = r.ranks(z);
        hi - lo
    });
    exec.out.int(n as i64);
    Ok(())
}

fn zremrange_generic(exec: &mut Exec<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    let key = &args[1];
    let parsed = match kind {
        Kind::Score => Parsed::Score(ScoreRange::parse(&args[2], &args[3])?),
        Kind::Lex => Parsed::Lex(LexRange::parse(&args[2], &args[3])?),
        _ => Parsed::Rank(
            parse_i64(&args[2]).ok_or(CmdError::NotInteger)?,
            parse_i64(&args[3]).ok_or(CmdError::NotInteger)?,
        ),
    };
    let removed = match zlookup(exec.store, exec.db, exec.now, key, true)? {
        None => 0,
        Some(z) => match select(z, &parsed, false, 0, -1) {
            None => 0,
            Some((start, n)) => {
                let victims: Vec<Vec<u8>> = z
                    .iter_from(start, false)
                    .take(n)
                    .map(|(m, _)| m.to_vec())
                    .collect();
                for m in &victims {
                    z.remove(m);
                }
                victims.len()
            }
        },
    };
    if removed > 0 {
        if !zdrop_if_empty(exec, key) {
            exec.store.touch(exec.db, key);
        }
        exec.dirty(removed as u64);
    }
    exec.out.int(removed as i64);
    Ok(())
}

pub(super) fn zremrangebyrank(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zremrange_generic(exec, args, Kind::Rank)
}
pub(super) fn zremrangebyscore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zremrange_generic(exec, args, Kind::Score)
}
pub(super) fn zremrangebylex(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    zremrange_generic(exec, args, Kind::Lex)
}
