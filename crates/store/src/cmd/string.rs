//! String commands: GET/SET and their variants, MGET/MSET, GETEX/GETDEL/GETSET and
//! the counters. Range commands (APPEND, STRLEN, GETRANGE, SETRANGE, LCS) live in
//! [`range`]. Reply shapes, error strings and propagated forms follow Redis 7.0.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::keyspace::Store;
use crate::types::string::Str;
use crate::util::{eq_ic, parse_i64};
use crate::value::Value;

pub mod float;
pub mod range;
#[cfg(test)]
mod tests;
#[cfg(test)]
pub(crate) mod testutil;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("get", get),
    ("set", set),
    ("setnx", setnx),
    ("setex", setex),
    ("psetex", psetex),
    ("mget", mget),
    ("mset", mset),
    ("msetnx", msetnx),
    ("getset", getset),
    ("getdel", getdel),
    ("getex", getex),
    ("incr", incr),
    ("decr", decr),
    ("incrby", incrby),
    ("decrby", decrby),
    ("incrbyfloat", incrbyfloat),
    ("append", range::append),
    ("strlen", range::strlen),
    ("getrange", range::getrange),
    ("substr", range::getrange),
    ("setrange", range::setrange),
    ("lcs", range::lcs),
];

/// Looks `key` up for reading; a value of another type is WRONGTYPE.
pub(crate) fn read_str<'a>(
    store: &'a mut Store,
    db: usize,
    now: i64,
    key: &[u8],
) -> Result<Option<&'a mut Str>, CmdError> {
    match store.lookup_read(db, key, now) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// Looks `key` up for writing; a value of another type is WRONGTYPE.
pub(crate) fn write_str<'a>(
    store: &'a mut Store,
    db: usize,
    now: i64,
    key: &[u8],
) -> Result<Option<&'a mut Str>, CmdError> {
    match store.lookup_write(db, key, now) {
        None => Ok(None),
        Some(Value::Str(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn get(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    match read_str(exec.store, exec.db, exec.now, key)? {
        Some(s) => s.reply(exec.out),
        None => exec.out.null(),
    }
    Ok(())
}

/// Which expire option a SET/GETEX carries.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum ExpUnit {
    Ex,
    Px,
    ExAt,
    PxAt,
}

/// SET/GETEX options after the syntax pass (values are parsed later, in Redis's order).
#[derive(Default)]
struct StrOpts<'a> {
    nx: bool,
    xx: bool,
    get: bool,
    keepttl: bool,
    persist: bool,
    expire: Option<(ExpUnit, &'a [u8])>,
}

/// Redis's `parseExtendedStringArgumentsOrReply`: `is_set` selects the SET grammar
/// (NX/XX/GET/KEEPTTL), otherwise GETEX's (PERSIST). Repeating the same option is
/// accepted, conflicting ones are a syntax error.
fn parse_str_opts(args: &[Bytes], is_set: bool) -> Result<StrOpts<'_>, CmdError> {
    let mut o = StrOpts::default();
    let mut j = 0;
    while j < args.len() {
        let a = &args[j][..];
        let next = args.get(j + 1);
        let unit = if eq_ic(a, "EX") {
            Some(ExpUnit::Ex)
        } else if eq_ic(a, "PX") {
            Some(ExpUnit::Px)
        } else if eq_ic(a, "EXAT") {
            Some(ExpUnit::ExAt)
        } else if eq_ic(a, "PXAT") {
            Some(ExpUnit::PxAt)
        } else {
            None
        };
        if let Some(u) = unit {
            let conflict = o.keepttl || o.persist || matches!(o.expire, Some((p, _)) if p != u);
            match next {
                Some(v) if !conflict => {
                    o.expire = Some((u, &v[..]));
                    j += 2;
                    continue;
                }
                _ => return Err(CmdError::Syntax),
            }
        }
        if is_set && eq_ic(a, "NX") && !o.xx {
            o.nx = true;
        } else if is_set && eq_ic(a, "XX") && !o.nx {
            o.xx = true;
        } else if is_set && eq_ic(a, "GET") {
            o.get = true;
        } else if is_set && eq_ic(a, "KEEPTTL") && !o.persist && o.expire.is_none() {
            o.keepttl = true;
        } else if !is_set && eq_ic(a, "PERSIST") && !o.keepttl && o.expire.is_none() {
            o.persist = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    Ok(o)
}

/// Redis's `getExpireMillisecondsOrReply`: the absolute expiry in Unix ms.
fn expire_ms(unit: ExpUnit, arg: &[u8], now: i64, cmd: &str) -> Result<i64, CmdError> {
    let invalid = || CmdError::msg(format!("ERR invalid expire time in '{cmd}' command"));
    let v = parse_i64(arg).ok_or(CmdError::NotInteger)?;
    if v <= 0 {
        return Err(invalid());
    }
    let ms = match unit {
        ExpUnit::Ex | ExpUnit::ExAt => v.checked_mul(1000).ok_or_else(invalid)?,
        ExpUnit::Px | ExpUnit::PxAt => v,
    };
    let abs = match unit {
        ExpUnit::Ex | ExpUnit::Px => ms.checked_add(now).ok_or_else(invalid)?,
        ExpUnit::ExAt | ExpUnit::PxAt => ms,
    };
    if abs <= 0 {
        return Err(invalid());
    }
    Ok(abs)
}

/// What SET-like commands reply when they set / skip the key.
#[derive(Clone, Copy)]
enum SetReply {
    /// SET: `+OK` / null.
    Ok,
    /// SETNX: `:1` / `:0`.
    Int,
}

/// Redis's `setGenericCommand`.
fn set_generic(
    exec: &mut Exec<'_>,
    key: &Bytes,
    val: &Bytes,
    o: &StrOpts<'_>,
    cmd: &str,
    reply: SetReply,
) -> CmdResult {
    let when = match o.expire {
        Some((u, a)) => Some((u, expire_ms(u, a, exec.now, cmd)?)),
        None => None,
    };
    if o.get {
        match read_str(exec.store, exec.db, exec.now, key)? {
            Some(s) => s.reply(exec.out),
            None => exec.out.null(),
        }
    }
    let found = exec.store.lookup_write(exec.db, key, exec.now).is_some();
    if (o.nx && found) || (o.xx && !found) {
        if !o.get {
            match reply {
                SetReply::Ok => exec.out.null(),
                SetReply::Int => exec.out.int(0),
            }
        }
        return Ok(());
    }
    exec.store.set_key(
        exec.db,
        key,
        Value::Str(Str::from_bytes(val)),
        o.keepttl,
        exec.now,
    );
    exec.dirty(1);
    if let Some((u, ms)) = when {
        exec.store.set_expire(exec.db, key, ms);
        if u != ExpUnit::PxAt {
            exec.propagate_as(vec![
                Bytes::from_static(b"SET"),
                key.clone(),
                val.clone(),
                Bytes::from_static(b"PXAT"),
                Bytes::from(ms.to_string()),
            ]);
        }
    }
    if !o.get {
        match reply {
            SetReply::Ok => exec.out.ok(),
            SetReply::Int => exec.out.int(1),
        }
    }
    Ok(())
}

fn set(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let o = parse_str_opts(&args[3..], true)?;
    set_generic(exec, &args[1], &args[2], &o, "set", SetReply::Ok)
}

fn setnx(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let o = StrOpts {
        nx: true,
        ..Default::default()
    };
    set_generic(exec, &args[1], &args[2], &o, "setnx", SetReply::Int)
}

fn setex(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let o = StrOpts {
        expire: Some((ExpUnit::Ex, &args[2][..])),
        ..Default::default()
    };
    set_generic(exec, &args[1], &args[3], &o, "setex", SetReply::Ok)
}

fn psetex(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let o = StrOpts {
        expire: Some((ExpUnit::Px, &args[2][..])),
        ..Default::default()
    };
    set_generic(exec, &args[1], &args[3], &o, "psetex", SetReply::Ok)
}

fn mget(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    exec.out.array(args.len() - 1);
    for key in &args[1..] {
        match exec.store.lookup_read(exec.db, key, exec.now) {
            Some(Value::Str(s)) => s.reply(exec.out),
            // MGET never fails: a missing key or one of another type is a null.
            _ => exec.out.null(),
        }
    }
    Ok(())
}

fn mset_generic(exec: &mut Exec<'_>, args: &[Bytes], nx: bool) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::arity(&args[0]));
    }
    if nx {
        let now = exec.now;
        let any = args[1..]
            .iter()
            .step_by(2)
            .any(|k| exec.store.lookup_write(exec.db, k, now).is_some());
        if any {
            exec.out.int(0);
            return Ok(());
        }
    }
    for pair in args[1..].chunks_exact(2) {
        let v = Value::Str(Str::from_bytes(&pair[1]));
        exec.store.set_key(exec.db, &pair[0], v, false, exec.now);
    }
    exec.dirty((args.len() as u64 - 1) / 2);
    if nx {
        exec.out.int(1);
    } else {
        exec.out.ok();
    }
    Ok(())
}

fn mset(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    mset_generic(exec, args, false)
}

fn msetnx(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    mset_generic(exec, args, true)
}

fn getset(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let (key, val) = (&args[1], &args[2]);
    match read_str(exec.store, exec.db, exec.now, key)? {
        Some(s) => s.reply(exec.out),
        None => exec.out.null(),
    }
    exec.store.set_key(
        exec.db,
        key,
        Value::Str(Str::from_bytes(val)),
        false,
        exec.now,
    );
    exec.dirty(1);
    // Redis 7.0 propagates GETSET as SET.
    exec.propagate_as(vec![Bytes::from_static(b"SET"), key.clone(), val.clone()]);
    Ok(())
}

fn getdel(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    match read_str(exec.store, exec.db, exec.now, key)? {
        Some(s) => s.reply(exec.out),
        None => {
            exec.out.null();
            return Ok(());
        }
    }
    exec.store.delete_key(exec.db, key);
    exec.dirty(1);
    exec.propagate_as(vec![Bytes::from_static(b"DEL"), key.clone()]);
    Ok(())
}

fn getex(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    // Redis checks the option syntax, then the key and its type, then the expire value.
    let o = parse_str_opts(&args[2..], false)?;
    let now = exec.now;
    let Some(s) = read_str(exec.store, exec.db, exec.now, key)? else {
        exec.out.null();
        return Ok(());
    };
    let when = match o.expire {
        Some((u, a)) => Some((u, expire_ms(u, a, now, "getex")?)),
        None => None,
    };
    s.reply(exec.out);
    match when {
        Some((u, ms))
            if matches!(u, ExpUnit::ExAt | ExpUnit::PxAt)
                && ms <= now
                && !exec.store.config.is_replica =>
        {
            // An absolute time already past deletes the key, propagated as DEL.
            exec.store.delete_key(exec.db, key);
            exec.dirty(1);
            exec.propagate_as(vec![Bytes::from_static(b"DEL"), key.clone()]);
        }
        Some((_, ms)) => {
            exec.store.set_expire(exec.db, key, ms);
            exec.store.touch(exec.db, key);
            exec.dirty(1);
            exec.propagate_as(vec![
                Bytes::from_static(b"PEXPIREAT"),
                key.clone(),
                Bytes::from(ms.to_string()),
            ]);
        }
        // PERSIST on a key without a TTL changes nothing and propagates nothing.
        None if o.persist && exec.store.remove_expire(exec.db, key) => {
            exec.store.touch(exec.db, key);
            exec.dirty(1);
            exec.propagate_as(vec![Bytes::from_static(b"PERSIST"), key.clone()]);
        }
        None => {}
    }
    Ok(())
}

/// Redis's `incrDecrCommand`: the result is int-encoded and the TTL is kept.
fn incr_decr(exec: &mut Exec<'_>, key: &[u8], by: i64) -> CmdResult {
    // One lookup: the value is updated where it lies (INCR is among the hottest
    // commands; a second lookup was a measurable share of its cost).
    let new = match write_str(exec.store, exec.db, exec.now, key)? {
        Some(s) => {
            let old = s.as_i64().ok_or(CmdError::NotInteger)?;
            let new = old.checked_add(by).ok_or(CmdError::Overflow)?;
            *s = Str::Int(new);
            exec.store.touch(exec.db, key);
            new
        }
        None => {
            exec.store
                .set_key(exec.db, key, Value::Str(Str::Int(by)), false, exec.now);
            by
        }
    };
    exec.dirty(1);
    exec.out.int(new);
    Ok(())
}

fn incr(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    incr_decr(exec, &args[1], 1)
}

fn decr(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    incr_decr(exec, &args[1], -1)
}

fn incrby(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let by = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    incr_decr(exec, &args[1], by)
}

fn decrby(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let by = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    let neg = by
        .checked_neg()
        .ok_or_else(|| CmdError::msg("ERR decrement would overflow"))?;
    incr_decr(exec, &args[1], neg)
}

fn incrbyfloat(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let old = write_str(exec.store, exec.db, exec.now, key)?.map(|s| s.as_bytes().into_owned());
    let new = float::incr_by_float(old.as_deref(), &args[2])?;
    match write_str(exec.store, exec.db, exec.now, key)? {
        Some(s) => {
            *s = Str::from_bytes_plain(new.as_bytes());
            exec.store.touch(exec.db, key);
        }
        None => exec.store.set_key(
            exec.db,
            key,
            Value::Str(Str::from_bytes_plain(new.as_bytes())),
            false,
            exec.now,
        ),
    }
    exec.dirty(1);
    exec.out.bulk(new.as_bytes());
    // Float arithmetic may differ between nodes, so the exact result is replicated.
    let val = Bytes::from(new.into_bytes());
    exec.propagate_as(vec![
        Bytes::from_static(b"SET"),
        key.clone(),
        val,
        Bytes::from_static(b"KEEPTTL"),
    ]);
    Ok(())
}
