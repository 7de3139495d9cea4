//! List commands (Redis 7.0): LPUSH, RPUSH, LPUSHX, RPUSHX, LPOP, RPOP, LLEN,
//! LRANGE, LINDEX, LSET, LINSERT, LREM, LTRIM, LPOS, LMOVE, RPOPLPUSH, LMPOP, and the
//! blocking forms in [`blocking`].
//!
//! Every write touches the key (WATCH, and the server's wake-up of clients blocked
//! on it) and counts `dirty`; a list left empty is deleted.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::keyspace::Store;
use crate::types::list::{End, List};
use crate::util::{eq_ic, int_arg, parse_i64};
use crate::value::Value;

mod blocking;
mod pos;
#[cfg(test)]
mod tests;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("lpush", lpush),
    ("rpush", rpush),
    ("lpushx", lpushx),
    ("rpushx", rpushx),
    ("lpop", lpop),
    ("rpop", rpop),
    ("llen", llen),
    ("lrange", lrange),
    ("lindex", lindex),
    ("lset", lset),
    ("linsert", linsert),
    ("lrem", lrem),
    ("ltrim", ltrim),
    ("lpos", pos::lpos),
    ("lmove", lmove),
    ("rpoplpush", rpoplpush),
    ("lmpop", lmpop),
    ("blpop", blocking::blpop),
    ("brpop", blocking::brpop),
    ("blmove", blocking::blmove),
    ("brpoplpush", blocking::brpoplpush),
    ("blmpop", blocking::blmpop),
];

/// The list at `key` for reading (counts hits/misses), or WRONGTYPE.
pub(crate) fn read_list<'a>(
    store: &'a mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a mut List>, CmdError> {
    match store.lookup_read(db, key, now) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The list at `key` for writing, or WRONGTYPE.
pub(crate) fn write_list<'a>(
    store: &'a mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a mut List>, CmdError> {
    match store.lookup_write(db, key, now) {
        None => Ok(None),
        Some(Value::List(l)) => Ok(Some(l)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// After a change to the list at `key`: deletes it if empty, else touches it.
fn after_change(store: &mut Store, db: usize, key: &[u8], emptied: bool) {
    if emptied {
        store.delete_key(db, key);
    } else {
        store.touch(db, key);
    }
}

/// `LEFT`/`RIGHT`, or a syntax error.
pub(crate) fn parse_end(arg: &[u8]) -> Result<End, CmdError> {
    if eq_ic(arg, "LEFT") {
        Ok(End::Left)
    } else if eq_ic(arg, "RIGHT") {
        Ok(End::Right)
    } else {
        Err(CmdError::Syntax)
    }
}

fn push_generic(exec: &mut Exec<'_>, args: &[Bytes], end: End, only_existing: bool) -> CmdResult {
    let (db, now) = (exec.db, exec.now);
    let len = match write_list(exec.store, db, &args[1], now)? {
        Some(l) => {
            for v in &args[2..] {
                l.push_slice(end, v);
            }
            let n = l.len();
            // Wakes clients blocked on this key and invalidates WATCH.
            exec.store.touch(db, &args[1]);
            n
        }
        None if only_existing => {
            exec.out.int(0);
            return Ok(());
        }
        None => {
            let mut l = List::new();
            for v in &args[2..] {
                l.push_slice(end, v);
            }
            let n = l.len();
            // set_key touches the new key.
            exec.store.set_key(db, &args[1], Value::List(l), false, now);
            n
        }
    };
    exec.dirty((args.len() - 2) as u64);
    exec.out.int(len as i64);
    Ok(())
}

fn lpush(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(exec, args, End::Left, false)
}
fn rpush(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(exec, args, End::Right, false)
}
fn lpushx(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(exec, args, End::Left, true)
}
fn rpushx(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    push_generic(exec, args, End::Right, true)
}

/// Pops up to `n` elements from the existing list at `key`, deleting it if emptied
/// and counting dirty. The caller checked the type.
pub(crate) fn pop_n(
    store: &mut Store,
    db: usize,
    key: &[u8],
    now: i64,
    end: End,
    n: usize,
) -> Vec<Vec<u8>> {
    let Ok(Some(l)) = write_list(store, db, key, now) else {
        return Vec::new();
    };
    let mut out = Vec::with_capacity(n.min(l.len()));
    while out.len() < n {
        match l.pop(end) {
            Some(v) => out.push(v),
            None => break,
        }
    }
    let emptied = l.is_empty();
    if !out.is_empty() {
        after_change(store, db, key, emptied);
        store.dirty += out.len() as u64;
    }
    out
}

fn pop_generic(exec: &mut Exec<'_>, args: &[Bytes], end: End) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::arity(&args[0]));
    }
    let count = match args.get(2) {
        None => None,
        Some(a) => {
            // Redis's getPositiveLongFromObjectOrReply: a non-integer and a
            // negative count get the same error.
            match crate::util::parse_i64(a) {
                Some(n) if n >= 0 => Some(n as usize),
                _ => return Err(CmdError::msg("ERR value is out of range, must be positive")),
            }
        }
    };
    let (db, now) = (exec.db, exec.now);
    if write_list(exec.store, db, &args[1], now)?.is_none() {
        match count {
            Some(_) => exec.out.null_array(),
            None => exec.out.null(),
        }
        return Ok(());
    }
    match count {
        None => {
            let v = pop_n(exec.store, db, &args[1], now, end, 1);
            match v.first() {
                Some(v) => exec.out.bulk(v),
                None => exec.out.null(),
            }
        }
        Some(n) => {
            let v = pop_n(exec.store, db, &args[1], now, end, n);
            exec.out.array(v.len());
            for e in &v {
                exec.out.bulk(e);
            }
        }
    }
    Ok(())
}

fn lpop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    pop_generic(exec, args, End::Left)
}
fn rpop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    pop_generic(exec, args, End::Right)
}

fn llen(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let n = read_list(exec.store, exec.db, &args[1], exec.now)?.map_or(0, |l| l.len());
    exec.out.int(n as i64);
    Ok(())
}

fn lrange(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let Some(l) = read_list(exec.store, exec.db, &args[1], exec.now)? else {
        exec.out.empty_array();
        return Ok(());
    };
    match l.range(start, end) {
        None => exec.out.empty_array(),
        Some((s, e)) => {
            exec.out.array(e - s + 1);
            for v in l.range_iter(s, e) {
                exec.out.bulk(v);
            }
        }
    }
    Ok(())
}

fn lindex(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let Some(l) = read_list(exec.store, exec.db, &args[1], exec.now)? else {
        exec.out.null();
        return Ok(());
    };
    let i = int_arg(&args[2])?;
    match l.resolve(i).and_then(|i| l.get(i)) {
        Some(v) => exec.out.bulk(v),
        None => exec.out.null(),
    }
    Ok(())
}

fn lset(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let (db, now) = (exec.db, exec.now);
    let l = write_list(exec.store, db, &args[1], now)?.ok_or(CmdError::NoSuchKey)?;
    let i = int_arg(&args[2])?;
    let pos = l.resolve(i).ok_or(CmdError::IndexOutOfRange)?;
    l.set(pos, &args[3]);
    exec.store.touch(db, &args[1]);
    exec.dirty(1);
    exec.out.ok();
    Ok(())
}

fn linsert(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let after = if eq_ic(&args[2], "AFTER") {
        true
    } else if eq_ic(&args[2], "BEFORE") {
        false
    } else {
        return Err(CmdError::Syntax);
    };
    let (db, now) = (exec.db, exec.now);
    let Some(l) = write_list(exec.store, db, &args[1], now)? else {
        exec.out.int(0);
        return Ok(());
    };
    let Some(p) = l.iter().position(|v| *v == args[3][..]) else {
        exec.out.int(-1);
        return Ok(());
    };
    l.insert(if after { p + 1 } else { p }, &args[4]);
    let len = l.len();
    exec.store.touch(db, &args[1]);
    exec.dirty(1);
    exec.out.int(len as i64);
    Ok(())
}

fn lrem(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let count = int_arg(&args[2])?;
    let (db, now) = (exec.db, exec.now);
    let Some(l) = write_list(exec.store, db, &args[1], now)? else {
        exec.out.int(0);
        return Ok(());
    };
    let target = &args[3][..];
    let limit = if count == 0 {
        usize::MAX
    } else {
        count.unsigned_abs().min(usize::MAX as u64) as usize
    };
    // One pass with `retain` (O(n)) instead of repeated mid-deque removals (O(n*k)).
    // From the tail (count < 0), first find the lowest index still to remove.
    let from = if count >= 0 {
        0
    } else {
        let mut seen = 0usize;
        let mut lowest = l.len();
        for (i, v) in l.iter().enumerate().rev() {
            if seen == limit {
                break;
            }
            if v == target {
                seen += 1;
                lowest = i;
            }
        }
        lowest
    };
    let mut removed = 0usize;
    let mut i = 0usize;
    l.retain(|v| {
        let keep = i < from || removed >= limit || v != target;
        if !keep {
            removed += 1;
        }
        i += 1;
        keep
    });
    let emptied = l.is_empty();
    if removed > 0 {
        after_change(exec.store, db, &args[1], emptied);
        exec.dirty(removed as u64);
    }
    exec.out.int(removed as i64);
    Ok(())
}

fn ltrim(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let start = int_arg(&args[2])?;
    let end = int_arg(&args[3])?;
    let (db, now) = (exec.db, exec.now);
    let Some(l) = write_list(exec.store, db, &args[1], now)? else {
        exec.out.ok();
        return Ok(());
    };
    let before = l.len();
    match l.range(start, end) {
        None => l.clear(),
        Some((s, e)) => l.keep(s, e),
    }
    let removed = before - l.len();
    let emptied = l.is_empty();
    after_change(exec.store, db, &args[1], emptied);
    exec.dirty(removed as u64);
    exec.out.ok();
    Ok(())
}

/// Moves one element from `src`'s `from` end to `dst`'s `to` end. `Ok(None)` when
/// `src` is missing. Checks both types (WRONGTYPE) before changing anything.
pub(crate) fn move_one(
    exec: &mut Exec<'_>,
    src: &[u8],
    dst: &[u8],
    from: End,
    to: End,
) -> Result<Option<Vec<u8>>, CmdError> {
    let (db, now) = (exec.db, exec.now);
    if write_list(exec.store, db, src, now)?.is_none() {
        return Ok(None);
    }
    write_list(exec.store, db, dst, now)?;
    let Some(l) = write_list(exec.store, db, src, now)? else {
        return Ok(None);
    };
    let Some(v) = l.pop(from) else {
        return Ok(None);
    };
    if src == dst {
        // Rotation: never delete the key in between.
        l.push(to, v.clone());
        exec.store.touch(db, src);
    } else {
        let emptied = l.is_empty();
        after_change(exec.store, db, src, emptied);
        match write_list(exec.store, db, dst, now)? {
            Some(d) => {
                d.push(to, v.clone());
                exec.store.touch(db, dst);
            }
            None => {
                let mut d = List::new();
                d.push(to, v.clone());
                // set_key touches the new key.
                exec.store.set_key(db, dst, Value::List(d), false, now);
            }
        }
    }
    exec.dirty(1);
    Ok(Some(v))
}

fn lmove(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let from = parse_end(&args[3])?;
    let to = parse_end(&args[4])?;
    reply_moved(exec, &args[1], &args[2], from, to)
}

fn rpoplpush(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    reply_moved(exec, &args[1], &args[2], End::Right, End::Left)
}

fn reply_moved(exec: &mut Exec<'_>, src: &[u8], dst: &[u8], from: End, to: End) -> CmdResult {
    match move_one(exec, src, dst, from, to)? {
        Some(v) => exec.out.bulk(&v),
        None => exec.out.null(),
    }
    Ok(())
}

/// The parsed tail of LMPOP/BLMPOP: `numkeys key... LEFT|RIGHT [COUNT n]`.
pub(crate) struct MpopArgs<'a> {
    pub keys: &'a [Bytes],
    pub end: End,
    pub count: usize,
}

/// Parses `args[idx..]` = `numkeys key... LEFT|RIGHT [COUNT n]` with Redis's errors.
pub(crate) fn parse_mpop(args: &[Bytes], idx: usize) -> Result<MpopArgs<'_>, CmdError> {
    let numkeys = parse_i64(&args[idx])
        .filter(|n| *n >= 1)
        .ok_or_else(|| CmdError::msg("ERR numkeys should be greater than 0"))?;
    let first = idx + 1;
    let where_idx = (numkeys as u64).saturating_add(first as u64);
    if where_idx >= args.len() as u64 {
        return Err(CmdError::Syntax);
    }
    let where_idx = where_idx as usize;
    let end = parse_end(&args[where_idx])?;
    let mut count = None;
    let mut i = where_idx + 1;
    while i < args.len() {
        if count.is_none() && eq_ic(&args[i], "COUNT") && i + 1 < args.len() {
            let n = parse_i64(&args[i + 1])
                .filter(|n| *n >= 1)
                .ok_or_else(|| CmdError::msg("ERR count should be greater than 0"))?;
            count = Some(n as usize);
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    Ok(MpopArgs {
        keys: &args[first..where_idx],
        end,
        count: count.unwrap_or(1),
    })
}

/// Pops from the first non-empty list among `keys`: replies `[key, [elements]]` and
/// propagates `LPOP|RPOP key n` (n = elements popped), as Redis 7.0. `Ok(false)`
/// when every key is missing. With `skip_wrong_type` (a woken blocked client)
/// keys of another type are passed over, as 7.0 leaves such clients blocked.
pub(crate) fn mpop_serve(
    exec: &mut Exec<'_>,
    p: &MpopArgs<'_>,
    skip_wrong_type: bool,
) -> Result<bool, CmdError> {
    let (db, now) = (exec.db, exec.now);
    for key in p.keys {
        match write_list(exec.store, db, key, now) {
            Ok(None) => continue,
            Err(_) if skip_wrong_type => continue,
            Err(e) => return Err(e),
            Ok(Some(_)) => {}
        }
        let v = pop_n(exec.store, db, key, now, p.end, p.count);
        exec.out.array(2);
        exec.out.bulk(key);
        exec.out.array(v.len());
        for e in &v {
            exec.out.bulk(e);
        }
        let mut b = itoa::Buffer::new();
        exec.propagate_as(vec![
            Bytes::from_static(pop_name(p.end)),
            key.clone(),
            Bytes::copy_from_slice(b.format(v.len()).as_bytes()),
        ]);
        return Ok(true);
    }
    Ok(false)
}

pub(crate) fn pop_name(end: End) -> &'static [u8] {
    match end {
        End::Left => b"LPOP",
        End::Right => b"RPOP",
    }
}

fn lmpop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let p = parse_mpop(args, 1)?;
    if !mpop_serve(exec, &p, false)? {
        exec.out.null_array();
    }
    Ok(())
}
