//! SORT and SORT_RO (Redis 7.0's sort.c): the elements of a list, set or
//! sorted set, sorted as numbers or (ALPHA) as strings, by themselves or by
//! the values of other keys (`BY weight_*`, `BY h_*->field`), with LIMIT, GET
//! patterns (`#` is the element) and, for SORT, STORE into a list.
//!
//! Redis's details kept:
//! * options are parsed (syntax, LIMIT integers) before the key's type is
//!   checked; a missing key sorts as an empty list;
//! * `BY` without `*` means "do not sort": lists and sorted sets keep their
//!   order (DESC walks it backwards), a set keeps its own order, except with
//!   STORE, where it is sorted ALPHA so a replica stores the same list;
//! * numbers go through `strtod` as C strings (a NUL ends them, leading white
//!   space is skipped, `""` is 0); one that does not convert fails the whole
//!   command with "One or more scores can't be converted into double"; equal
//!   scores are ordered by the elements' bytes;
//! * ALPHA compares as `strcoll` in the C locale (up to a NUL), or byte for
//!   byte with STORE; elements whose BY key is missing come first;
//! * the sort is stable (glibc's qsort is a merge sort).

use std::cmp::Ordering;

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::types::list::{End, List};
use crate::util::{eq_ic, parse_f64, parse_i64};
use crate::value::Value;

pub const COMMANDS: &[(&str, Handler)] = &[("sort", sort), ("sort_ro", sort_ro)];

fn sort(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    sort_generic(exec, args, false)
}

fn sort_ro(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    sort_generic(exec, args, true)
}

#[derive(Default)]
struct Opts {
    desc: bool,
    alpha: bool,
    limit_start: i64,
    limit_count: i64,
    store: Option<Bytes>,
    by: Option<Bytes>,
    gets: Vec<Bytes>,
    dontsort: bool,
}

fn parse(args: &[Bytes], readonly: bool, full_key_access: bool) -> Result<Opts, CmdError> {
    let mut o = Opts {
        limit_count: -1,
        ..Opts::default()
    };
    let mut j = 2;
    while j < args.len() {
        let left = args.len() - j - 1;
        let a = &args[j];
        if eq_ic(a, "ASC") {
            o.desc = false;
        } else if eq_ic(a, "DESC") {
            o.desc = true;
        } else if eq_ic(a, "ALPHA") {
            o.alpha = true;
        } else if eq_ic(a, "LIMIT") && left >= 2 {
            o.limit_start = parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?;
            o.limit_count = parse_i64(&args[j + 2]).ok_or(CmdError::NotInteger)?;
            j += 2;
        } else if !readonly && eq_ic(a, "STORE") && left >= 1 {
            o.store = Some(args[j + 1].clone());
            j += 1;
        } else if eq_ic(a, "BY") && left >= 1 {
            o.dontsort = !crate::util::c_bytes(&args[j + 1]).contains(&b'*');
            // A pattern reads keys no ACL key pattern was checked against.
            if !o.dontsort && !full_key_access {
                return Err(CmdError::msg(
                    "ERR BY option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            o.by = Some(args[j + 1].clone());
            j += 1;
        } else if eq_ic(a, "GET") && left >= 1 {
            if !full_key_access {
                return Err(CmdError::msg(
                    "ERR GET option of SORT denied due to insufficient ACL permissions.",
                ));
            }
            o.gets.push(args[j + 1].clone());
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    List,
    Set,
    ZSet,
}

/// One element to sort, with what it sorts by.
struct Item {
    elem: Vec<u8>,
    score: f64,
    /// ALPHA with BY: the BY key's value (None: missing).
    cmp: Option<Vec<u8>>,
}

fn sort_generic(exec: &mut Exec, args: &[Bytes], readonly: bool) -> CmdResult {
    let mut o = parse(args, readonly, exec.full_key_access)?;
    let (db, now) = (exec.db, exec.now);
    let (kind, elems): (Kind, Vec<Vec<u8>>) = match exec.store.lookup_read(db, &args[1], now) {
        None => (Kind::List, Vec::new()),
        Some(Value::List(l)) => (Kind::List, l.iter().map(<[u8]>::to_vec).collect()),
        Some(Value::Set(s)) => (Kind::Set, s.iter().map(|e| e.to_vec()).collect()),
        Some(Value::ZSet(z)) => {
            // As Redis: SORT converts a listpack sorted set for good.
            z.to_skiplist();
            (Kind::ZSet, z.iter().map(|(m, _)| m.to_vec()).collect())
        }
        Some(_) => return Err(CmdError::WrongType),
    };
    if o.dontsort && kind == Kind::Set && o.store.is_some() {
        o.dontsort = false;
        o.alpha = true;
        o.by = None;
    }
    let len = elems.len() as i64;
    let mut start = o.limit_start.max(0);
    let mut end = if o.limit_count < 0 {
        len - 1
    } else {
        start.saturating_add(o.limit_count) - 1
    };
    if start >= len {
        start = len - 1;
        end = len - 2;
    }
    end = end.min(len - 1);
    let mut items: Vec<Item> = elems
        .into_iter()
        .map(|elem| Item {
            elem,
            score: 0.0,
            cmp: None,
        })
        .collect();
    if o.dontsort && kind != Kind::Set && o.desc {
        items.reverse();
    }
    let mut bad_score = false;
    if !o.dontsort {
        for it in items.iter_mut() {
            let by = match &o.by {
                Some(p) => match lookup(exec, p, &it.elem) {
                    Some(v) => v,
                    None => continue,
                },
                None => it.elem.clone(),
            };
            if o.alpha {
                if o.by.is_some() {
                    it.cmp = Some(by);
                }
            } else {
                match sort_score(&by) {
                    Some(s) => it.score = s,
                    None => bad_score = true,
                }
            }
        }
        let (alpha, by, store, desc) = (o.alpha, o.by.is_some(), o.store.is_some(), o.desc);
        let strings = |a: &[u8], b: &[u8]| {
            if store {
                a.cmp(b)
            } else {
                crate::util::c_bytes(a).cmp(crate::util::c_bytes(b))
            }
        };
        items.sort_by(|a, b| {
            let c = if !alpha {
                a.score
                    .partial_cmp(&b.score)
                    .unwrap_or(Ordering::Equal)
                    .then_with(|| a.elem.cmp(&b.elem))
            } else if by {
                match (&a.cmp, &b.cmp) {
                    (None, None) => Ordering::Equal,
                    (None, Some(_)) => Ordering::Less,
                    (Some(_), None) => Ordering::Greater,
                    (Some(x), Some(y)) => strings(x, y),
                }
            } else {
                strings(&a.elem, &b.elem)
            };
            if desc {
                c.reverse()
            } else {
                c
            }
        });
    }
    if bad_score {
        return Err(CmdError::msg(
            "ERR One or more scores can't be converted into double",
        ));
    }
    let range = if end >= start {
        &items[start as usize..=end as usize]
    } else {
        &items[..0]
    };
    let per = o.gets.len().max(1);
    let outputlen = range.len() * per;
    match o.store.take() {
        None => {
            exec.out.array(outputlen);
            for it in range {
                if o.gets.is_empty() {
                    exec.out.bulk(&it.elem);
                }
                for g in &o.gets {
                    match lookup(exec, g, &it.elem) {
                        Some(v) => exec.out.bulk(&v),
                        None => exec.out.null(),
                    }
                }
            }
        }
        Some(dest) => {
            let mut list = List::new();
            for it in range {
                if o.gets.is_empty() {
                    list.push_slice(End::Right, &it.elem);
                }
                for g in &o.gets {
                    let v = lookup(exec, g, &it.elem).unwrap_or_default();
                    list.push_slice(End::Right, &v);
                }
            }
            if outputlen > 0 {
                exec.store.set_key(db, &dest, Value::List(list), false, now);
                exec.dirty(outputlen as u64);
            } else if exec.store.delete_key(db, &dest) {
                exec.dirty(1);
            }
            exec.out.int(outputlen as i64);
        }
    }
    Ok(())
}

/// A sort weight as Redis reads it: `strtod` on a C string, with nothing
/// left over, no overflow or underflow, not NaN.
fn sort_score(s: &[u8]) -> Option<f64> {
    let s = crate::util::c_bytes(s);
    if s.is_empty() {
        return Some(0.0);
    }
    let at = s
        .iter()
        .position(|&c| !matches!(c, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r'))?;
    parse_f64(&s[at..])
}

/// Redis's lookupKeyByPattern: `#` is the element itself; otherwise the first
/// `*` is replaced by the element, and `->field` after it reads a hash field.
/// A pattern without `*`, a missing key or one of another type give None.
fn lookup(exec: &mut Exec, pattern: &[u8], elem: &[u8]) -> Option<Vec<u8>> {
    let cpat = crate::util::c_bytes(pattern);
    if cpat == b"#" {
        return Some(elem.to_vec());
    }
    let star = cpat.iter().position(|&b| b == b'*')?;
    let arrow = cpat[star + 1..]
        .windows(2)
        .position(|w| w == b"->")
        .map(|i| star + 1 + i)
        .filter(|&f| f + 2 < cpat.len());
    let (postfix, field) = match arrow {
        Some(f) => (&pattern[star + 1..f], Some(&pattern[f + 2..])),
        None => (&pattern[star + 1..], None),
    };
    let mut key = Vec::with_capacity(star + elem.len() + postfix.len());
    key.extend_from_slice(&pattern[..star]);
    key.extend_from_slice(elem);
    key.extend_from_slice(postfix);
    match (exec.store.lookup_read(exec.db, &key, exec.now)?, field) {
        (Value::Str(s), None) => Some(s.as_bytes().into_owned()),
        (Value::Hash(h), Some(f)) => h.get(f).map(<[u8]>::to_vec),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scores_read_as_strtod_reads_c_strings() {
        assert_eq!(sort_score(b""), Some(0.0));
        assert_eq!(sort_score(b" 1.5"), Some(1.5));
        assert_eq!(sort_score(b"2\0junk"), Some(2.0));
        assert_eq!(sort_score(b"0x10"), Some(16.0));
        assert_eq!(sort_score(b"-inf"), Some(f64::NEG_INFINITY));
        assert_eq!(sort_score(b" "), None);
        assert_eq!(sort_score(b"1 "), None);
        assert_eq!(sort_score(b"nan"), None);
        assert_eq!(sort_score(b"1e500"), None);
        assert_eq!(sort_score(b"abc"), None);
    }
}
