//! Hash commands (Redis 7.0): HSET, HSETNX, HMSET, HGET, HMGET, HGETALL, HKEYS,
//! HVALS, HDEL, HEXISTS, HLEN, HSTRLEN, HINCRBY, HINCRBYFLOAT, HRANDFIELD, HSCAN.
//!
//! Every write touches the key (WATCH, blocked clients) and counts `dirty`; a hash
//! left empty is deleted, as Redis never keeps empty aggregates.

use bytes::Bytes;

use crate::cmd::string::float;
use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::keyspace::Store;
use crate::types::hash::Hash;
use crate::util::{eq_ic, glob_match, int_arg, parse_i64};
use crate::value::Value;

mod rand_scan;
#[cfg(test)]
mod tests;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("hset", hset),
    ("hmset", hmset),
    ("hsetnx", hsetnx),
    ("hget", hget),
    ("hmget", hmget),
    ("hgetall", hgetall),
    ("hkeys", hkeys),
    ("hvals", hvals),
    ("hdel", hdel),
    ("hexists", hexists),
    ("hlen", hlen),
    ("hstrlen", hstrlen),
    ("hincrby", hincrby),
    ("hincrbyfloat", hincrbyfloat),
    ("hrandfield", rand_scan::hrandfield),
    ("hscan", rand_scan::hscan),
];

/// The hash at `key` for reading (counts hits/misses), or WRONGTYPE.
pub(crate) fn read_hash<'a>(
    store: &'a mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a mut Hash>, CmdError> {
    match store.lookup_read(db, key, now) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The hash at `key` for writing, created empty if missing (the caller always adds
/// a field before returning, so no empty hash stays in the keyspace).
fn write_hash<'a>(
    store: &'a mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<&'a mut Hash, CmdError> {
    match store.lookup_write(db, key, now) {
        Some(Value::Hash(_)) => {}
        Some(_) => return Err(CmdError::WrongType),
        None => store.set_key(db, key, Value::Hash(Hash::new()), false, now),
    }
    match store.lookup_write(db, key, now) {
        Some(Value::Hash(h)) => Ok(h),
        _ => Err(CmdError::msg("ERR internal error creating hash")),
    }
}

/// Sets the (field, value) pairs of `args[2..]`; returns how many fields were new.
fn set_pairs(exec: &mut Exec<'_>, args: &[Bytes]) -> Result<i64, CmdError> {
    if args.len() < 4 || !args.len().is_multiple_of(2) {
        return Err(CmdError::arity(&args[0]));
    }
    let cfg = exec.store.config.clone();
    let h = write_hash(exec.store, exec.db, &args[1], exec.now)?;
    let mut created = 0;
    for pair in args[2..].chunks_exact(2) {
        if h.insert(&pair[0], &pair[1], &cfg) {
            created += 1;
        }
    }
    exec.store.touch(exec.db, &args[1]);
    exec.dirty(((args.len() - 2) / 2) as u64);
    Ok(created)
}

fn hset(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let n = set_pairs(exec, args)?;
    exec.out.int(n);
    Ok(())
}

fn hmset(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    set_pairs(exec, args)?;
    exec.out.ok();
    Ok(())
}

fn hsetnx(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() != 4 {
        return Err(CmdError::arity(&args[0]));
    }
    if let Some(h) = read_write_existing(exec, &args[1])? {
        if h.contains(&args[2]) {
            exec.out.int(0);
            return Ok(());
        }
    }
    set_pairs(exec, args)?;
    exec.out.int(1);
    Ok(())
}

/// The existing hash at `key` via a write lookup (no hit/miss stats), or WRONGTYPE.
fn read_write_existing<'a>(
    exec: &'a mut Exec<'_>,
    key: &[u8],
) -> Result<Option<&'a mut Hash>, CmdError> {
    match exec.store.lookup_write(exec.db, key, exec.now) {
        None => Ok(None),
        Some(Value::Hash(h)) => Ok(Some(h)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn hget(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    match read_hash(exec.store, exec.db, &args[1], exec.now)?.and_then(|h| h.get(&args[2])) {
        Some(v) => exec.out.bulk(v),
        None => exec.out.null(),
    }
    Ok(())
}

fn hmget(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let h = read_hash(exec.store, exec.db, &args[1], exec.now)?;
    exec.out.array(args.len() - 2);
    for f in &args[2..] {
        match h.as_ref().and_then(|h| h.get(f)) {
            Some(v) => exec.out.bulk(v),
            None => exec.out.null(),
        }
    }
    Ok(())
}

fn hgetall(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    match read_hash(exec.store, exec.db, &args[1], exec.now)? {
        None => exec.out.map(0),
        Some(h) => {
            exec.out.map(h.len());
            for (f, v) in h.iter() {
                exec.out.bulk(f);
                exec.out.bulk(v);
            }
        }
    }
    Ok(())
}

fn hkeys(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    match read_hash(exec.store, exec.db, &args[1], exec.now)? {
        None => exec.out.empty_array(),
        Some(h) => {
            exec.out.array(h.len());
            for (f, _) in h.iter() {
                exec.out.bulk(f);
            }
        }
    }
    Ok(())
}

fn hvals(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    match read_hash(exec.store, exec.db, &args[1], exec.now)? {
        None => exec.out.empty_array(),
        Some(h) => {
            exec.out.array(h.len());
            for (_, v) in h.iter() {
                exec.out.bulk(v);
            }
        }
    }
    Ok(())
}

fn hdel(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let Some(h) = read_write_existing(exec, &args[1])? else {
        exec.out.int(0);
        return Ok(());
    };
    let mut deleted = 0;
    for f in &args[2..] {
        if h.remove(f) {
            deleted += 1;
            if h.is_empty() {
                break;
            }
        }
    }
    let emptied = h.is_empty();
    if deleted > 0 {
        if emptied {
            exec.store.delete_key(exec.db, &args[1]);
        } else {
            exec.store.touch(exec.db, &args[1]);
        }
        exec.dirty(deleted as u64);
    }
    exec.out.int(deleted);
    Ok(())
}

fn hexists(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let found =
        read_hash(exec.store, exec.db, &args[1], exec.now)?.is_some_and(|h| h.contains(&args[2]));
    exec.out.int(found as i64);
    Ok(())
}

fn hlen(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let n = read_hash(exec.store, exec.db, &args[1], exec.now)?.map_or(0, |h| h.len());
    exec.out.int(n as i64);
    Ok(())
}

fn hstrlen(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let n = read_hash(exec.store, exec.db, &args[1], exec.now)?
        .and_then(|h| h.get(&args[2]))
        .map_or(0, |v| v.len());
    exec.out.int(n as i64);
    Ok(())
}

fn hincrby(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let incr = int_arg(&args[3])?;
    let cur = match read_write_existing(exec, &args[1])?.and_then(|h| h.get(&args[2])) {
        None => 0,
        Some(v) => parse_i64(v).ok_or_else(|| CmdError::msg("ERR hash value is not an integer"))?,
    };
    let new = cur.checked_add(incr).ok_or(CmdError::Overflow)?;
    let mut b = itoa::Buffer::new();
    let cfg = exec.store.config.clone();
    write_hash(exec.store, exec.db, &args[1], exec.now)?.insert(
        &args[2],
        b.format(new).as_bytes(),
        &cfg,
    );
    exec.store.touch(exec.db, &args[1]);
    exec.dirty(1);
    exec.out.int(new);
    Ok(())
}

fn hincrbyfloat(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let incr = float::parse_long_double(&args[3]).ok_or(CmdError::NotFloat)?;
    if !incr.is_finite() {
        return Err(CmdError::msg("ERR value is NaN or Infinity"));
    }
    let cur =
        read_write_existing(exec, &args[1])?.and_then(|h| h.get(&args[2]).map(|v| v.to_vec()));
    let text = float::incr_by_float_with(
        cur.as_deref(),
        incr,
        CmdError::msg("ERR hash value is not a float"),
    )?;
    let cfg = exec.store.config.clone();
    write_hash(exec.store, exec.db, &args[1], exec.now)?.insert(&args[2], text.as_bytes(), &cfg);
    exec.store.touch(exec.db, &args[1]);
    exec.dirty(1);
    exec.out.bulk(text.as_bytes());
    // Replicas must get the exact stored text, not re-do float math.
    exec.propagate_as(vec![
        Bytes::from_static(b"HSET"),
        args[1].clone(),
        args[2].clone(),
        Bytes::from(text.into_bytes()),
    ]);
    Ok(())
}

/// Matches `pattern` against `s`; `None` (no MATCH, or `*`) matches everything.
pub(crate) fn matches(pattern: Option<&[u8]>, s: &[u8]) -> bool {
    pattern.is_none_or(|p| glob_match(p, s, false))
}

/// `WITHVALUES` and friends.
pub(crate) fn is_opt(arg: &[u8], name: &str) -> bool {
    eq_ic(arg, name)
}
