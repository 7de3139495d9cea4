//! Generic keyspace commands: DEL, UNLINK, EXISTS, TYPE, the EXPIRE and TTL
//! families, PERSIST, KEYS, SCAN, RENAME(NX), TOUCH; the database-level ones (MOVE,
//! COPY, RANDOMKEY, OBJECT, DBSIZE, FLUSHDB, FLUSHALL, SWAPDB) are in `keys_db.rs`.
//!
//! Propagation follows Redis 7.0: relative expiries go out as `PEXPIREAT key ms`,
//! an expiry in the past as `DEL key`, and keys deleted lazily on access push their
//! own `DEL` before the command's propagation.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::keyspace::{Entry, Store};
use crate::util::{eq_ic, glob_match, int_arg, parse_scan_cursor};

#[path = "keys_db.rs"]
mod db;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("del", del),
    ("unlink", unlink),
    ("exists", exists),
    ("type", type_cmd),
    ("expire", expire),
    ("pexpire", pexpire),
    ("expireat", expireat),
    ("pexpireat", pexpireat),
    ("ttl", ttl),
    ("pttl", pttl),
    ("expiretime", expiretime),
    ("pexpiretime", pexpiretime),
    ("persist", persist),
    ("keys", keys),
    ("scan", scan),
    ("rename", rename),
    ("renamenx", renamenx),
    ("touch", touch),
    ("randomkey", db::randomkey),
    ("move", db::move_cmd),
    ("copy", db::copy),
    ("object", db::object),
    ("dbsize", db::dbsize),
    ("flushdb", db::flushdb),
    ("flushall", db::flushall),
    ("swapdb", db::swapdb),
];

/// Arity guard: the server checks arity from the command table, but a handler
/// must not panic if called directly with fewer arguments.
pub(crate) fn need(args: &[Bytes], n: usize) -> CmdResult {
    if args.len() < n {
        return Err(CmdError::arity(args.first().map_or(&b""[..], |a| &a[..])));
    }
    Ok(())
}

/// Looks a key up without updating its access time but counting a hit or miss
/// (Redis's `LOOKUP_NOTOUCH`): EXISTS, TYPE, TTL, OBJECT. `notify`: publish
/// `keymiss` on a miss (OBJECT does not, as `LOOKUP_NONOTIFY`).
pub(crate) fn lookup_notouch<'s>(
    store: &'s mut Store,
    db: usize,
    key: &[u8],
    now: i64,
    notify: bool,
) -> Option<&'s Entry> {
    let gone = store.expire_if_needed(db, key, now);
    let hit = !gone && store.dbs[db].dict.contains_key(key);
    if hit {
        store.stats.keyspace_hits += 1;
        store.dbs[db].dict.get(key)
    } else {
        store.stats.keyspace_misses += 1;
        if notify {
            store.notify_event(crate::notify::KEY_MISS, "keymiss", db, key);
        }
        None
    }
}

/// Deletes `key` (after lazy expiry), freeing a big value in the background when
/// `lazy`. Touches it; returns whether it existed. Counts no `dirty`.
pub(crate) fn delete(store: &mut Store, db: usize, key: &[u8], now: i64, lazy: bool) -> bool {
    if store.expire_if_needed(db, key, now) {
        return false;
    }
    let d = &mut store.dbs[db];
    let Some(e) = d.dict.remove(key) else {
        return false;
    };
    d.expires.remove(key);
    if lazy {
        crate::lazyfree::drop_value(e.value);
    } else {
        drop(e);
    }
    store.touch(db, key);
    true
}

fn del_generic(exec: &mut Exec, args: &[Bytes], lazy: bool) -> CmdResult {
    need(args, 2)?;
    let mut n = 0;
    for k in &args[1..] {
        if delete(exec.store, exec.db, k, exec.now, lazy) {
            n += 1;
        }
    }
    exec.dirty(n);
    exec.out.int(n as i64);
    Ok(())
}

fn del(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    let lazy = exec.store.config.lazyfree_lazy_user_del;
    del_generic(exec, args, lazy)
}

fn unlink(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    del_generic(exec, args, true)
}

fn exists(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 2)?;
    let mut n = 0;
    for k in &args[1..] {
        if lookup_notouch(exec.store, exec.db, k, exec.now, true).is_some() {
            n += 1;
        }
    }
    exec.out.int(n);
    Ok(())
}

fn type_cmd(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 2)?;
    let t = match lookup_notouch(exec.store, exec.db, &args[1], exec.now, true) {
        Some(e) => e.value.type_name(),
        None => "none",
    };
    exec.out.simple(t);
    Ok(())
}

const NX: u8 = 1;
const XX: u8 = 2;
const GT: u8 = 4;
const LT: u8 = 8;

/// EXPIRE/PEXPIRE/EXPIREAT/PEXPIREAT (Redis's `expireGenericCommand`): `relative`
/// adds the command time, `seconds` scales by 1000.
fn expire_generic(exec: &mut Exec, args: &[Bytes], relative: bool, seconds: bool) -> CmdResult {
    need(args, 3)?;
    let mut flags = 0u8;
    for a in &args[3..] {
        flags |= if eq_ic(a, "NX") {
            NX
        } else if eq_ic(a, "XX") {
            XX
        } else if eq_ic(a, "GT") {
            GT
        } else if eq_ic(a, "LT") {
            LT
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unsupported option {}",
                tandem_resp::c_str(a)
            )));
        };
    }
    if flags & NX != 0 && flags & (XX | GT | LT) != 0 {
        return Err(CmdError::msg(
            "ERR NX and XX, GT or LT options at the same time are not compatible",
        ));
    }
    if flags & GT != 0 && flags & LT != 0 {
        return Err(CmdError::msg(
            "ERR GT and LT options at the same time are not compatible",
        ));
    }
    let mut when = int_arg(&args[2])?;
    let bad_time = || {
        CmdError::msg(format!(
            "ERR invalid expire time in '{}' command",
            String::from_utf8_lossy(&args[0]).to_lowercase()
        ))
    };
    if seconds {
        when = when.checked_mul(1000).ok_or_else(bad_time)?;
    }
    if relative {
        when = when.checked_add(exec.now).ok_or_else(bad_time)?;
    }
    let (db, key) = (exec.db, &args[1]);
    if exec.store.lookup_write(db, key, exec.now).is_none() {
        exec.out.int(0);
        return Ok(());
    }
    let current = exec.store.get_expire(db, key);
    let refused = (flags & NX != 0 && current.is_some())
        || (flags & XX != 0 && current.is_none())
        // No TTL counts as infinite: GT never beats it, LT always does.
        || (flags & GT != 0 && current.is_none_or(|c| when <= c))
        || (flags & LT != 0 && current.is_some_and(|c| when >= c));
    if refused {
        exec.out.int(0);
        return Ok(());
    }
    // A replica keeps keys whose time passed: the master's DEL will come.
    if when <= exec.now && !exec.store.config.is_replica {
        delete(exec.store, db, key, exec.now, false);
        exec.dirty(1);
        exec.propagate_as(vec![Bytes::from_static(b"DEL"), key.clone()]);
    } else {
        exec.store.set_expire(db, key, when);
        exec.store.touch(db, key);
        exec.dirty(1);
        if !eq_ic(&args[0], "pexpireat") {
            let mut p = Vec::with_capacity(args.len());
            p.push(Bytes::from_static(b"PEXPIREAT"));
            p.push(key.clone());
            p.push(Bytes::from(when.to_string()));
            p.extend(args[3..].iter().cloned());
            exec.propagate_as(p);
        }
    }
    exec.out.int(1);
    Ok(())
}

fn expire(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    expire_generic(exec, args, true, true)
}
fn pexpire(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    expire_generic(exec, args, true, false)
}
fn expireat(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    expire_generic(exec, args, false, true)
}
fn pexpireat(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    expire_generic(exec, args, false, false)
}

/// TTL family (Redis's `ttlGenericCommand`): -2 no key, -1 no TTL; seconds are
/// rounded to the nearest.
fn ttl_generic(exec: &mut Exec, args: &[Bytes], ms: bool, absolute: bool) -> CmdResult {
    need(args, 2)?;
    let (db, now) = (exec.db, exec.now);
    if lookup_notouch(exec.store, db, &args[1], now, true).is_none() {
        exec.out.int(-2);
        return Ok(());
    }
    let Some(when) = exec.store.get_expire(db, &args[1]) else {
        exec.out.int(-1);
        return Ok(());
    };
    let t = if absolute { when } else { (when - now).max(0) };
    exec.out.int(if ms { t } else { (t + 500) / 1000 });
    Ok(())
}

fn ttl(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    ttl_generic(exec, args, false, false)
}
fn pttl(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    ttl_generic(exec, args, true, false)
}
fn expiretime(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    ttl_generic(exec, args, false, true)
}
fn pexpiretime(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    ttl_generic(exec, args, true, true)
}

fn persist(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 2)?;
    let (db, key) = (exec.db, &args[1]);
    let removed =
        exec.store.lookup_write(db, key, exec.now).is_some() && exec.store.remove_expire(db, key);
    if removed {
        exec.store.touch(db, key);
        exec.dirty(1);
    }
    exec.out.int(i64::from(removed));
    Ok(())
}

fn keys(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 2)?;
    let pat = &args[1];
    let all = &pat[..] == b"*";
    let d = &exec.store.dbs[exec.db];
    let now = exec.now;
    let mut found: Vec<&[u8]> = Vec::new();
    for (k, _) in d.dict.iter() {
        if (all || glob_match(pat, k, false)) && d.expires.get(k).is_none_or(|&w| w > now) {
            found.push(k);
        }
    }
    exec.out.array(found.len());
    for k in found {
        exec.out.bulk(k);
    }
    Ok(())
}

fn scan(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 2)?;
    let cursor = parse_scan_cursor(&args[1])?;
    let mut count: i64 = 10;
    let mut pattern: Option<&[u8]> = None;
    let mut type_filter: Option<&[u8]> = None;
    let mut i = 2;
    while i < args.len() {
        let opt = &args[i];
        let val = args.get(i + 1).ok_or(CmdError::Syntax)?;
        if eq_ic(opt, "COUNT") {
            count = int_arg(val)?;
            if count < 1 {
                return Err(CmdError::Syntax);
            }
        } else if eq_ic(opt, "MATCH") {
            pattern = Some(val);
        } else if eq_ic(opt, "TYPE") {
            type_filter = Some(val);
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let (db, now) = (exec.db, exec.now);
    let count = count as usize;
    let mut keys: Vec<Box<[u8]>> = Vec::new();
    let d = &exec.store.dbs[db].dict;
    let mut cursor = cursor;
    // Bounded work per call even when most buckets are empty (Redis: count * 10).
    let mut iterations = count.saturating_mul(10);
    loop {
        cursor = d.scan(cursor, |k, _| keys.push(k.into()));
        iterations -= 1;
        if cursor == 0 || iterations == 0 || keys.len() >= count {
            break;
        }
    }
    let pattern = pattern.filter(|p| *p != b"*");
    keys.retain(|k| pattern.is_none_or(|p| glob_match(p, k, false)));
    // Expired keys are deleted here, as a read would (Redis's scan does so too).
    keys.retain(|k| !exec.store.expire_if_needed(db, k, now));
    if let Some(t) = type_filter {
        let dict = &exec.store.dbs[db].dict;
        keys.retain(|k| {
            dict.get(k)
                .is_some_and(|e| t.eq_ignore_ascii_case(e.value.type_name().as_bytes()))
        });
    }
    exec.out.array(2);
    exec.out.bulk(itoa::Buffer::new().format(cursor).as_bytes());
    exec.out.array(keys.len());
    for k in &keys {
        exec.out.bulk(k);
    }
    Ok(())
}

fn rename_generic(exec: &mut Exec, args: &[Bytes], nx: bool) -> CmdResult {
    need(args, 3)?;
    let (db, now) = (exec.db, exec.now);
    let (src, dst) = (&args[1], &args[2]);
    if exec.store.lookup_write(db, src, now).is_none() {
        return Err(CmdError::NoSuchKey);
    }
    if src == dst {
        if nx {
            exec.out.int(0);
        } else {
            exec.out.ok();
        }
        return Ok(());
    }
    let when = exec.store.get_expire(db, src);
    if exec.store.lookup_write(db, dst, now).is_some() {
        if nx {
            exec.out.int(0);
            return Ok(());
        }
        delete(exec.store, db, dst, now, false);
    }
    let d = &mut exec.store.dbs[db];
    let Some((_, entry)) = d.dict.remove_entry(src) else {
        return Err(CmdError::NoSuchKey);
    };
    d.expires.remove(src);
    d.dict.insert(dst, entry);
    if let Some(w) = when {
        d.expires.insert(dst, w);
    }
    exec.store.touch(db, src);
    exec.store.touch(db, dst);
    exec.dirty(1);
    if nx {
        exec.out.int(1);
    } else {
        exec.out.ok();
    }
    Ok(())
}

fn rename(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    rename_generic(exec, args, false)
}
fn renamenx(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    rename_generic(exec, args, true)
}

fn touch(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 2)?;
    let mut n = 0;
    for k in &args[1..] {
        if exec.store.lookup_read(exec.db, k, exec.now).is_some() {
            n += 1;
        }
    }
    exec.out.int(n);
    Ok(())
}

#[cfg(test)]
#[path = "keys_tests.rs"]
mod tests;
