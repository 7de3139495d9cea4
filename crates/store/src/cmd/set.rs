//! Set commands (Redis 7.0): SADD SREM SMEMBERS SISMEMBER SMISMEMBER SCARD SPOP
//! SRANDMEMBER SMOVE SINTER SINTERCARD SUNION SDIFF SINTERSTORE SUNIONSTORE
//! SDIFFSTORE SSCAN.
//!
//! Multi-key commands first look every key up (expiring it, counting hits/misses,
//! checking types: one wrong-typed key fails the command even if another is
//! missing, as in Redis), then read the sets through shared borrows of the
//! databases, so no set is cloned.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::keyspace::Store;
use crate::types::set::{Elem, Set};
use crate::util::{eq_ic, glob_match, parse_i64};
use crate::value::Value;

#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("sadd", sadd),
    ("srem", srem),
    ("smembers", smembers),
    ("sismember", sismember),
    ("smismember", smismember),
    ("scard", scard),
    ("spop", spop),
    ("srandmember", srandmember),
    ("smove", smove),
    ("sinter", sinter),
    ("sintercard", sintercard),
    ("sunion", sunion),
    ("sdiff", sdiff),
    ("sinterstore", sinterstore),
    ("sunionstore", sunionstore),
    ("sdiffstore", sdiffstore),
    ("sscan", sscan),
];

/// Redis propagates SPOP's removals as SREMs of at most this many members.
const SPOP_BATCH: usize = 1024;

/// Looks `key` up (read or write) and returns its set, or WRONGTYPE.
fn lookup<'a>(
    store: &'a mut Store,
    db: usize,
    now: i64,
    key: &[u8],
    write: bool,
) -> Result<Option<&'a mut Set>, CmdError> {
    let v = if write {
        store.lookup_write(db, key, now)
    } else {
        store.lookup_read(db, key, now)
    };
    match v {
        None => Ok(None),
        Some(Value::Set(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// A set already looked up, read without side effects.
fn peek_set<'a>(store: &'a Store, db: usize, key: &[u8]) -> Option<&'a Set> {
    match store.dbs[db].dict.get(key).map(|e| &e.value) {
        Some(Value::Set(s)) => Some(s),
        _ => None,
    }
}

fn write_elem(out: &mut tandem_resp::ReplyBuf, e: Elem<'_>) {
    match e {
        Elem::Int(i) => out.bulk_int(i),
        Elem::Raw(b) => out.bulk(b),
    }
}

/// Deletes the key if its set became empty (Redis removes empty aggregates).
/// Returns whether it did (the deletion already touched the key).
fn drop_if_empty(exec: &mut Exec<'_>, key: &[u8]) -> bool {
    let empty = matches!(peek_set(exec.store, exec.db, key), Some(s) if s.is_empty());
    empty && exec.store.delete_key(exec.db, key)
}

fn sadd(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let cfg = exec.store.config.clone();
    let added = match lookup(exec.store, exec.db, exec.now, key, true)? {
        Some(s) => {
            let n = args[2..].iter().filter(|m| s.insert(m, &cfg)).count();
            if n > 0 {
                exec.store.touch(exec.db, key);
            }
            n
        }
        None => {
            let mut s = Set::for_member(&args[2]);
            let n = args[2..].iter().filter(|m| s.insert(m, &cfg)).count();
            // set_key touches the new key.
            exec.store
                .set_key(exec.db, key, Value::Set(s), false, exec.now);
            n
        }
    };
    if added > 0 {
        exec.dirty(added as u64);
    }
    exec.out.int(added as i64);
    Ok(())
}

fn srem(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let removed = match lookup(exec.store, exec.db, exec.now, key, true)? {
        Some(s) => {
            let mut n = 0;
            for m in &args[2..] {
                if s.remove(m) {
                    n += 1;
                    if s.is_empty() {
                        break;
                    }
                }
            }
            n
        }
        None => 0,
    };
    if removed > 0 {
        if !drop_if_empty(exec, key) {
            exec.store.touch(exec.db, key);
        }
        exec.dirty(removed);
    }
    exec.out.int(removed as i64);
    Ok(())
}

fn smembers(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    match lookup(exec.store, exec.db, exec.now, &args[1], false)? {
        None => exec.out.set(0),
        Some(_) => {
            let s = peek_set(exec.store, exec.db, &args[1]);
            if let Some(s) = s {
                exec.out.set(s.len());
                for e in s.iter() {
                    write_elem(exec.out, e);
                }
            }
        }
    }
    Ok(())
}

fn sismember(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let r = lookup(exec.store, exec.db, exec.now, &args[1], false)?
        .is_some_and(|s| s.contains(&args[2]));
    exec.out.int(r as i64);
    Ok(())
}

fn smismember(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let flags: Vec<bool> = match lookup(exec.store, exec.db, exec.now, &args[1], false)? {
        Some(s) => args[2..].iter().map(|m| s.contains(m)).collect(),
        None => vec![false; args.len() - 2],
    };
    exec.out.array(flags.len());
    for f in flags {
        exec.out.int(f as i64);
    }
    Ok(())
}

fn scard(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let n = lookup(exec.store, exec.db, exec.now, &args[1], false)?.map_or(0, |s| s.len());
    exec.out.int(n as i64);
    Ok(())
}

/// Builds a propagated command from a name and arguments.
fn cmd_args(
    name: &'static [u8],
    key: &[u8],
    rest: impl IntoIterator<Item = Vec<u8>>,
) -> Vec<Bytes> {
    let mut v = vec![Bytes::from_static(name), Bytes::copy_from_slice(key)];
    v.extend(rest.into_iter().map(Bytes::from));
    v
}

fn spop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if args.len() == 2 {
        let popped = match lookup(exec.store, exec.db, exec.now, key, true)? {
            None => None,
            Some(s) => s.pop_random(),
        };
        match popped {
            None => exec.out.null(),
            Some(m) => {
                exec.out.bulk(&m);
                if !drop_if_empty(exec, key) {
                    exec.store.touch(exec.db, key);
                }
                exec.dirty(1);
                exec.propagate_as(cmd_args(b"SREM", key, [m]));
            }
        }
        return Ok(());
    }
    let count = match parse_i64(&args[2]) {
        Some(c) if c >= 0 => c as u64,
        _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
    };
    let Some(s) = lookup(exec.store, exec.db, exec.now, key, true)? else {
        exec.out.set(0);
        return Ok(());
    };
    if count == 0 {
        exec.out.set(0);
        return Ok(());
    }
    if count >= s.len() as u64 {
        // The whole set goes: reply with it and propagate a DEL, as Redis does.
        exec.out.set(s.len());
        let n = s.len();
        for e in s.iter() {
            write_elem(exec.out, e);
        }
        exec.store.delete_key(exec.db, key);
        exec.dirty(n as u64);
        exec.propagate_as(vec![Bytes::from_static(b"DEL"), key.clone()]);
        return Ok(());
    }
    let mut popped = Vec::with_capacity(count as usize);
    for _ in 0..count {
        if let Some(m) = s.pop_random() {
            popped.push(m);
        }
    }
    exec.out.set(popped.len());
    for m in &popped {
        exec.out.bulk(m);
    }
    exec.store.touch(exec.db, key);
    exec.dirty(popped.len() as u64);
    let mut it = popped.into_iter().peekable();
    while it.peek().is_some() {
        let batch: Vec<Vec<u8>> = it.by_ref().take(SPOP_BATCH).collect();
        exec.propagate_as(cmd_args(b"SREM", key, batch));
    }
    Ok(())
}

/// `k` distinct random indexes in `0..n` (k < n).
fn sample_indexes(n: usize, k: usize) -> Vec<usize> {
    if k * 3 > n {
        let mut idx: Vec<usize> = (0..n).collect();
        for i in 0..k {
            let j = rand::random_range(i..n);
            idx.swap(i, j);
        }
        idx.truncate(k);
        idx
    } else {
        let mut seen = hashbrown::HashSet::with_capacity(k);
        let mut out = Vec::with_capacity(k);
        while out.len() < k {
            let i = rand::random_range(0..n);
            if seen.insert(i) {
                out.push(i);
            }
        }
        out
    }
}

fn srandmember(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    if args.len() == 2 {
        match lookup(exec.store, exec.db, exec.now, key, false)?
            .and_then(|s| s.random().map(|e| e.to_vec()))
        {
            None => exec.out.null(),
            Some(m) => exec.out.bulk(&m),
        }
        return Ok(());
    }
    let count = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    if count == i64::MIN {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let Some(s) = lookup(exec.store, exec.db, exec.now, key, false)? else {
        exec.out.empty_array();
        return Ok(());
    };

    let n = s.len();
    if count == 0 || n == 0 {
        exec.out.empty_array();
    } else if count < 0 {
        let k = count.unsigned_abs() as usize;
        exec.out.array(k);
        for _ in 0..k {
            write_elem(exec.out, s.get(rand::random_range(0..n)));
        }
    } else if count as u64 >= n as u64 {
        exec.out.array(n);
        for e in s.iter() {
            write_elem(exec.out, e);
        }
    } else {
        let idx = sample_indexes(n, count as usize);
        exec.out.array(idx.len());
        for i in idx {
            write_elem(exec.out, s.get(i));
        }
    }
    Ok(())
}

fn smove(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let (src, dst, m) = (&args[1], &args[2], &args[3]);
    // Redis looks both keys up, answers 0 for a missing source before checking
    // the destination's type.
    let src_state = exec
        .store
        .lookup_write(exec.db, src, exec.now)
        .map(|v| matches!(v, Value::Set(_)));
    let dst_res = lookup(exec.store, exec.db, exec.now, dst, true).map(|d| d.is_some());
    match src_state {
        None => {
            exec.out.int(0);
            return Ok(());
        }
        Some(false) => return Err(CmdError::WrongType),
        Some(true) => {}
    }
    let dst_exists = dst_res?;
    if src == dst {
        let r = peek_set(exec.store, exec.db, src).is_some_and(|s| s.contains(m));
        exec.out.int(r as i64);
        return Ok(());
    }
    let removed = match exec.store.dbs[exec.db]
        .dict
        .get_mut(src)
        .map(|e| &mut e.value)
    {
        Some(Value::Set(s)) => s.remove(m),
        _ => false,
    };
    if !removed {
        exec.out.int(0);
        return Ok(());
    }
    if !drop_if_empty(exec, src) {
        exec.store.touch(exec.db, src);
    }
    let cfg = exec.store.config.clone();
    if dst_exists {
        if let Some(Value::Set(s)) = exec.store.dbs[exec.db]
            .dict
            .get_mut(dst)
            .map(|e| &mut e.value)
        {
            s.insert(m, &cfg);
        }
        exec.store.touch(exec.db, dst);
    } else {
        let mut s = Set::for_member(m);
        s.insert(m, &cfg);
        exec.store
            .set_key(exec.db, dst, Value::Set(s), false, exec.now);
    }
    exec.dirty(1);
    exec.out.int(1);
    Ok(())
}

/// Looks every key up (read or write), failing on the first wrong type; returns
/// how many exist.
fn check_all(exec: &mut Exec<'_>, keys: &[Bytes], write: bool) -> Result<usize, CmdError> {
    let mut n = 0;
    for k in keys {
        if lookup(exec.store, exec.db, exec.now, k, write)?.is_some() {
            n += 1;
        }
    }
    Ok(n)
}

#[derive(Clone, Copy, PartialEq)]
enum Op {
    Inter,
    Union,
    Diff,
}

/// Computes SINTER/SUNION/SDIFF of `keys` (already looked up) into a new set.
fn compute(store: &Store, db: usize, keys: &[Bytes], op: Op) -> Set {
    let cfg = &store.config;
    let sets: Vec<Option<&Set>> = keys.iter().map(|k| peek_set(store, db, k)).collect();
    let mut out = Set::new();
    let mut buf = itoa::Buffer::new();
    match op {
        Op::Inter => {
            if sets.iter().any(|s| s.is_none_or(|s| s.is_empty())) {
                return out;
            }
            let mut sets: Vec<&Set> = sets.into_iter().flatten().collect();
            sets.sort_by_key(|s| s.len());
            for e in sets[0].iter() {
                let m = e.bytes(&mut buf);
                if sets[1..].iter().all(|s| s.contains(m)) {
                    out.insert(m, cfg);
                }
            }
        }
        Op::Union => {
            for s in sets.into_iter().flatten() {
                for e in s.iter() {
                    out.insert(e.bytes(&mut buf), cfg);
                }
            }
        }
        Op::Diff => {
            let Some(Some(first)) = sets.first() else {
                return out;
            };
            for e in first.iter() {
                let m = e.bytes(&mut buf);
                if !sets[1..].iter().flatten().any(|s| s.contains(m)) {
                    out.insert(m, cfg);
                }
            }
        }
    }
    out
}

/// SINTERCARD's count without building the intersection.
fn inter_card(store: &Store, db: usize, keys: &[Bytes], limit: usize) -> usize {
    let mut sets = Vec::with_capacity(keys.len());
    for k in keys {
        match peek_set(store, db, k) {
            Some(s) if !s.is_empty() => sets.push(s),
            _ => return 0,
        }
    }
    sets.sort_by_key(|s| s.len());
    let mut buf = itoa::Buffer::new();
    let mut n = 0;
    for e in sets[0].iter() {
        let m = e.bytes(&mut buf);
        if sets[1..].iter().all(|s| s.contains(m)) {
            n += 1;
            if n == limit {
                break;
            }
        }
    }
    n
}

/// SINTER, SUNION, SDIFF: a set reply.
fn set_op(exec: &mut Exec<'_>, args: &[Bytes], op: Op) -> CmdResult {
    let keys = &args[1..];
    check_all(exec, keys, false)?;
    let res = compute(exec.store, exec.db, keys, op);
    exec.out.set(res.len());
    for e in res.iter() {
        write_elem(exec.out, e);
    }
    Ok(())
}

fn sinter(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    set_op(exec, args, Op::Inter)
}
fn sunion(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    set_op(exec, args, Op::Union)
}
fn sdiff(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    set_op(exec, args, Op::Diff)
}

/// SINTERSTORE, SUNIONSTORE, SDIFFSTORE: stores the result (deleting the
/// destination if it is empty) and replies with its size.
fn set_op_store(exec: &mut Exec<'_>, args: &[Bytes], op: Op) -> CmdResult {
    let dst = &args[1];
    let keys = &args[2..];
    check_all(exec, keys, true)?;
    let res = compute(exec.store, exec.db, keys, op);
    let n = res.len();
    // Dirty (so propagated) unless nothing was stored and nothing deleted.
    if n > 0 {
        exec.store
            .set_key(exec.db, dst, Value::Set(res), false, exec.now);
        exec.dirty(1);
    } else if exec.store.delete_key(exec.db, dst) {
        exec.dirty(1);
    }
    exec.out.int(n as i64);
    Ok(())
}

fn sinterstore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    set_op_store(exec, args, Op::Inter)
}
fn sunionstore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    set_op_store(exec, args, Op::Union)
}
fn sdiffstore(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    set_op_store(exec, args, Op::Diff)
}

/// Parses `numkeys` for SINTERCARD/ZINTERCARD/ZMPOP-style commands: `msg` for a
/// non-positive or non-integer value, then the "more keys than args" check.
pub(crate) fn parse_numkeys(arg: &[u8], avail: usize) -> Result<usize, CmdError> {
    let n = match parse_i64(arg) {
        Some(n) if n > 0 => n as u64,
        _ => return Err(CmdError::msg("ERR numkeys should be greater than 0")),
    };
    if n > avail as u64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    Ok(n as usize)
}

/// Parses the `LIMIT n` tail of SINTERCARD/ZINTERCARD (0 = no limit).
pub(crate) fn parse_card_limit(rest: &[Bytes]) -> Result<usize, CmdError> {
    let mut limit = 0usize;
    let mut i = 0;
    while i < rest.len() {
        if eq_ic(&rest[i], "LIMIT") && i + 1 < rest.len() {
            limit = match parse_i64(&rest[i + 1]) {
                Some(l) if l >= 0 => l as usize,
                _ => return Err(CmdError::msg("ERR LIMIT can't be negative")),
            };
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(limit)
}

fn sintercard(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let nk = parse_numkeys(&args[1], args.len() - 2)?;
    let keys = &args[2..2 + nk];
    let limit = parse_card_limit(&args[2 + nk..])?;
    check_all(exec, keys, false)?;
    let n = inter_card(exec.store, exec.db, keys, limit);
    exec.out.int(n as i64);
    Ok(())
}

/// SSCAN/ZSCAN/HSCAN options: `MATCH pattern` and `COUNT n` (n >= 1).
pub(crate) fn parse_scan_opts(rest: &[Bytes]) -> Result<(Option<&[u8]>, usize), CmdError> {
    let mut pat = None;
    let mut count = 10usize;
    let mut i = 0;
    while i < rest.len() {
        if i + 1 >= rest.len() {
            return Err(CmdError::Syntax);
        }
        if eq_ic(&rest[i], "COUNT") {
            let c = parse_i64(&rest[i + 1]).ok_or(CmdError::NotInteger)?;
            if c < 1 {
                return Err(CmdError::Syntax);
            }
            count = c as usize;
        } else if eq_ic(&rest[i], "MATCH") {
            let p: &[u8] = &rest[i + 1];
            // "*" matches everything: skip matching, as Redis does.
            pat = if p == b"*" { None } else { Some(p) };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    Ok((pat, count))
}

/// Writes the `[cursor, [elements...]]` scan reply.
pub(crate) fn scan_reply(out: &mut tandem_resp::ReplyBuf, cursor: u64, items: &[Vec<u8>]) {
    out.array(2);
    let mut b = itoa::Buffer::new();
    out.bulk(b.format(cursor).as_bytes());
    out.array(items.len());
    for it in items {
        out.bulk(it);
    }
}

fn sscan(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = crate::util::parse_scan_cursor(&args[2])?;
    let Some(s) = lookup(exec.store, exec.db, exec.now, &args[1], false)? else {
        scan_reply(exec.out, 0, &[]);
        return Ok(());
    };

    let (pat, count) = parse_scan_opts(&args[3..])?;
    let mut items = Vec::new();
    let mut buf = itoa::Buffer::new();
    let next = s.scan(cursor, count, |e| {
        let m = e.bytes(&mut buf);
        if pat.is_none_or(|p| glob_match(p, m, false)) {
            items.push(m.to_vec());
        }
    });
    scan_reply(exec.out, next, &items);
    Ok(())
}
