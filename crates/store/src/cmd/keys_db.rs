//! Database-level keyspace commands: RANDOMKEY, MOVE, COPY, OBJECT, DBSIZE,
//! FLUSHDB, FLUSHALL, SWAPDB.

use bytes::Bytes;

use super::{delete, lookup_notouch, need};
use crate::error::{CmdError, CmdResult};
use crate::evict::{idle_ms, lfu_decr_and_return};
use crate::exec::Exec;
use crate::keyspace::EvictionPolicy;
use crate::util::{eq_ic, int32_arg, parse_i64};
use crate::value::Value;

/// How many expired keys RANDOMKEY deletes before giving up on finding a live one.
const RANDOMKEY_TRIES: usize = 100;

/// A database index as Redis's `getIntFromObjectOrReply` + `selectDb`: not an
/// integer, or one beyond 32 bits -> `bad` when given (SWAPDB names the index),
/// else Redis's two messages; no such database -> `ERR DB index is out of range`.
fn db_index(exec: &Exec, arg: &[u8], bad: Option<&'static str>) -> Result<usize, CmdError> {
    let n = int32_arg(arg).map_err(|e| bad.map_or(e, CmdError::msg))?;
    usize::try_from(n)
        .ok()
        .filter(|&n| n < exec.store.dbs.len())
        .ok_or_else(|| CmdError::msg("ERR DB index is out of range"))
}

fn same_object() -> CmdError {
    CmdError::msg("ERR source and destination objects are the same")
}

pub(super) fn randomkey(exec: &mut Exec, _args: &[Bytes]) -> CmdResult {
    let (db, now) = (exec.db, exec.now);
    for _ in 0..RANDOMKEY_TRIES {
        let Some((k, _)) = exec.store.dbs[db].dict.random_entry() else {
            exec.out.null();
            return Ok(());
        };
        let k: Box<[u8]> = k.into();
        // On a replica the key stays (and counts as expired); on a master it is
        // deleted, so each try shrinks the set of expired candidates.
        if !exec.store.expire_if_needed(db, &k, now) {
            exec.out.bulk(&k);
            return Ok(());
        }
    }
    // Only expired keys found: reply with one anyway rather than loop on (Redis
    // does the same on a replica, where expired keys cannot be deleted).
    match exec.store.dbs[db].dict.random_entry() {
        Some((k, _)) => exec.out.bulk(k),
        None => exec.out.null(),
    }
    Ok(())
}

pub(super) fn move_cmd(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 3)?;
    let dst = db_index(exec, &args[2], None)?;
    let (src, key, now) = (exec.db, &args[1], exec.now);
    if src == dst {
        return Err(same_object());
    }
    if exec.store.lookup_write(src, key, now).is_none() {
        exec.out.int(0);
        return Ok(());
    }
    let when = exec.store.get_expire(src, key);
    if exec.store.lookup_write(dst, key, now).is_some() {
        exec.out.int(0);
        return Ok(());
    }
    let s = &mut exec.store.dbs[src];
    let Some((k, entry)) = s.dict.remove_entry(key) else {
        exec.out.int(0);
        return Ok(());
    };
    s.expires.remove(key);
    let d = &mut exec.store.dbs[dst];
    d.dict.insert_owned(k, entry);
    if let Some(w) = when {
        d.expires.insert(key, w);
    }
    exec.store.touch(src, key);
    exec.store.touch(dst, key);
    exec.dirty(1);
    exec.out.int(1);
    Ok(())
}

pub(super) fn copy(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 3)?;
    let (src_db, now) = (exec.db, exec.now);
    let (src, dst) = (&args[1], &args[2]);
    let mut dst_db = src_db;
    let mut replace = false;
    let mut i = 3;
    while i < args.len() {
        if eq_ic(&args[i], "REPLACE") {
            replace = true;
        } else if eq_ic(&args[i], "DB") && i + 1 < args.len() {
            dst_db = db_index(exec, &args[i + 1], None)?;
            i += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if src_db == dst_db && src == dst {
        return Err(same_object());
    }
    let Some(value) = exec.store.lookup_read(src_db, src, now).map(|v| v.clone()) else {
        exec.out.int(0);
        return Ok(());
    };
    let when = exec.store.get_expire(src_db, src);
    if exec.store.lookup_write(dst_db, dst, now).is_some() {
        if !replace {
            exec.out.int(0);
            return Ok(());
        }
        delete(exec.store, dst_db, dst, now, false);
    }
    exec.store.set_key(dst_db, dst, value, false, now);
    if let Some(w) = when {
        exec.store.set_expire(dst_db, dst, w);
    }
    exec.dirty(1);
    exec.out.int(1);
    Ok(())
}

const OBJECT_HELP: &[&str] = &[
    "OBJECT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "ENCODING <key>",
    "    Return the kind of internal representation used in order to store the value",
    "    associated with a <key>.",
    "FREQ <key>",
    "    Return the access frequency index of the <key>. The returned integer is",
    "    proportional to the logarithm of the recent access frequency of the key.",
    "IDLETIME <key>",
    "    Return the idle time of the <key>, that is the approximated number of",
    "    seconds elapsed since the last access to the key.",
    "REFCOUNT <key>",
    "    Return the number of references of the value associated with the specified",
    "    <key>.",
    "HELP",
    "    Prints this help.",
];

/// The refcount Redis reports for shared small integers (`OBJ_SHARED_REFCOUNT`).
const SHARED_REFCOUNT: i64 = i32::MAX as i64;
/// Redis shares the integers 0..10000 unless an LRU/LFU policy needs per-key clocks.
const SHARED_INTEGERS: i64 = 10_000;

pub(super) fn object(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 2)?;
    let sub = &args[1];
    if eq_ic(sub, "HELP") && args.len() == 2 {
        exec.out.array(OBJECT_HELP.len());
        for l in OBJECT_HELP {
            exec.out.simple(l);
        }
        return Ok(());
    }
    let known = ["ENCODING", "REFCOUNT", "IDLETIME", "FREQ", "HELP"]
        .into_iter()
        .find(|n| eq_ic(sub, n));
    let Some(name) = known else {
        return Err(CmdError::msg(format!(
            "ERR unknown subcommand '{}'. Try OBJECT HELP.",
            tandem_resp::c_str(&sub[..sub.len().min(128)])
        )));
    };
    let want = if name == "HELP" { 2 } else { 3 };
    if args.len() != want {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for 'object|{}' command",
            name.to_lowercase()
        )));
    }
    if name == "HELP" {
        // Unreachable (HELP with 2 args is answered above); keeps the match total.
        return Err(CmdError::Syntax);
    }
    let cfg = exec.store.config.clone();
    let (db, now) = (exec.db, exec.now);
    let Some(e) = lookup_notouch(exec.store, db, &args[2], now, false) else {
        exec.out.null();
        return Ok(());
    };
    const ADJUST: &str = "Please note that when switching between policies at runtime LRU and LFU data will take some time to adjust.";
    match name {
        "ENCODING" => {
            let enc = e.value.encoding(&cfg);
            exec.out.bulk(enc.as_bytes());
        }
        "REFCOUNT" => {
            let shared_ok = cfg.maxmemory == 0
                || !(cfg.maxmemory_policy.is_lfu()
                    || matches!(
                        cfg.maxmemory_policy,
                        EvictionPolicy::AllKeysLru | EvictionPolicy::VolatileLru
                    ));
            let shared = match &e.value {
                Value::Str(s) if shared_ok && s.encoding() == "int" => {
                    parse_i64(&s.to_vec()).is_some_and(|n| (0..SHARED_INTEGERS).contains(&n))
                }
                _ => false,
            };
            exec.out.int(if shared { SHARED_REFCOUNT } else { 1 });
        }
        "IDLETIME" => {
            if cfg.maxmemory_policy.is_lfu() {
                return Err(CmdError::msg(format!(
                    "ERR An LFU maxmemory policy is selected, idle time not tracked. {ADJUST}"
                )));
            }
            exec.out.int((idle_ms(e.lru, now) / 1000) as i64);
        }
        _ => {
            if !cfg.maxmemory_policy.is_lfu() {
                return Err(CmdError::msg(format!(
                    "ERR An LFU maxmemory policy is not selected, access frequency not tracked. {ADJUST}"
                )));
            }
            exec.out
                .int(lfu_decr_and_return(e.lru, now, cfg.lfu_decay_time) as i64);
        }
    }
    Ok(())
}

pub(super) fn dbsize(exec: &mut Exec, _args: &[Bytes]) -> CmdResult {
    exec.out.int(exec.store.dbs[exec.db].dict.len() as i64);
    Ok(())
}

/// `[ASYNC|SYNC]` of FLUSHDB/FLUSHALL; the default is `lazyfree-lazy-user-flush`.
fn flush_async(exec: &Exec, args: &[Bytes]) -> Result<bool, CmdError> {
    match args.len() {
        1 => Ok(exec.store.config.lazyfree_lazy_user_flush),
        2 if eq_ic(&args[1], "ASYNC") => Ok(true),
        2 if eq_ic(&args[1], "SYNC") => Ok(false),
        _ => Err(CmdError::Syntax),
    }
}

/// Empties one database, freeing it in the background if `lazy`. Invalidates the
/// WATCHers of its existing keys first. Returns the number of keys removed.
fn empty_db(exec: &mut Exec, db: usize, lazy: bool) -> u64 {
    exec.store.touch_watched_in_db(db, None);
    // Blocked clients re-check their keys (a blocked XREADGROUP learns its
    // stream is gone).
    exec.store.touch_all_blocked(db);
    // Client-side caches are told to drop everything (even for an empty db).
    exec.store.flushed |= exec.store.tracking_on;
    let d = &mut exec.store.dbs[db];
    let n = d.dict.len() as u64;
    d.avg_ttl = 0;
    d.expires_cursor = 0;
    if lazy {
        let dict = std::mem::take(&mut d.dict);
        let expires = std::mem::take(&mut d.expires);
        crate::lazyfree::drop_db(dict, expires);
    } else {
        d.dict.clear();
        d.expires.clear();
    }
    n
}

pub(super) fn flushdb(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    let lazy = flush_async(exec, args)?;
    let n = empty_db(exec, exec.db, lazy);
    exec.dirty(n);
    // Propagated even when the db was already empty (Redis forces it).
    exec.propagate_as(args.to_vec());
    exec.out.ok();
    Ok(())
}

pub(super) fn flushall(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    let lazy = flush_async(exec, args)?;
    let mut n = 0;
    for db in 0..exec.store.dbs.len() {
        n += empty_db(exec, db, lazy);
    }
    exec.store.evict_pool.clear();
    // +1 as Redis: a FLUSHALL is a change worth a snapshot even on empty dbs.
    exec.dirty(n + 1);
    exec.propagate_as(args.to_vec());
    exec.out.ok();
    Ok(())
}

pub(super) fn swapdb(exec: &mut Exec, args: &[Bytes]) -> CmdResult {
    need(args, 3)?;
    let a = db_index(exec, &args[1], Some("ERR invalid first DB index"));
    let b = db_index(exec, &args[2], Some("ERR invalid second DB index"));
    // Both indexes must be integers before the range is checked (Redis order).
    let (a, b) = match (a, b) {
        (Err(e), _) if e != CmdError::msg("ERR DB index is out of range") => return Err(e),
        (_, Err(e)) if e != CmdError::msg("ERR DB index is out of range") => return Err(e),
        (a, b) => (a?, b?),
    };
    if a != b {
        // WATCHers of keys that exist on either side see a change.
        exec.store.touch_watched_in_db(a, Some(b));
        exec.store.touch_watched_in_db(b, Some(a));
        exec.store.dbs.swap(a, b);
        // Clients blocked on keys of either db re-check them against the new data.
        exec.store.touch_all_blocked(a);
        exec.store.touch_all_blocked(b);
    }
    exec.dirty(1);
    exec.out.ok();
    Ok(())
}
