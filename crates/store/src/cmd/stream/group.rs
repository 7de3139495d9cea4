//! Consumer groups (Redis 7.0): XGROUP, XACK, XPENDING, XCLAIM, XAUTOCLAIM.
//!
//! XCLAIM and XAUTOCLAIM propagate, like XREADGROUP, one idempotent
//! `XCLAIM ... TIME t RETRYCOUNT n FORCE JUSTID LASTID id` per claimed (or
//! dropped: its entry was deleted) pending entry, and `XGROUP SETID` when only
//! the group's last ID moved.

use bytes::Bytes;

use super::read::{setid_prop, xclaim_prop};
use super::{
    parse_id, parse_strict_id, range_end, range_start, read_stream, reply_entry, write_stream,
};
use crate::error::{CmdError, CmdResult};
use crate::exec::Exec;
use crate::types::stream::{Group, Stream, StreamId, INVALID_ENTRIES_READ};
use crate::util::{c_bytes, eq_ic, parse_i64};
use crate::value::Value;

const XGROUP_HELP: &[&str] = &[
    "XGROUP <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CREATE <key> <groupname> <id|$> [option]",
    "    Create a new consumer group. Options are:",
    "    * MKSTREAM",
    "      Create the empty stream if it does not exist.",
    "    * ENTRIESREAD entries_read",
    "      Set the group's entries_read counter (internal use).",
    "CREATECONSUMER <key> <groupname> <consumer>",
    "    Create a new consumer in the specified group.",
    "DELCONSUMER <key> <groupname> <consumer>",
    "    Remove the specified consumer.",
    "DESTROY <key> <groupname>",
    "    Remove the specified group.",
    "SETID <key> <groupname> <id|$> [ENTRIESREAD entries_read]",
    "    Set the current group ID and entries_read counter.",
    "HELP",
    "    Prints this help.",
];

/// Redis's error for a container's subcommand it cannot run.
pub(super) fn sub_syntax(sub: &[u8], cmd: &str) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {cmd} HELP.",
        tandem_resp::c_str(&sub[..sub.len().min(128)])
    ))
}

/// Checks a container's subcommand against Redis's table: unknown names and
/// wrong argument counts get the dispatcher's errors. `subs` is (name, arity).
pub(super) fn check_sub(
    args: &[Bytes],
    cmd: &str,
    subs: &[(&'static str, i64)],
) -> Result<&'static str, CmdError> {
    let sub = &args[1];
    let Some(&(name, arity)) = subs.iter().find(|(n, _)| eq_ic(sub, n)) else {
        return Err(CmdError::msg(format!(
            "ERR unknown subcommand '{}'. Try {cmd} HELP.",
            tandem_resp::c_str(&sub[..sub.len().min(128)])
        )));
    };
    let n = args.len() as i64;
    if (arity > 0 && n != arity) || (arity < 0 && n < -arity) {
        return Err(CmdError::msg(format!(
            "ERR wrong number of arguments for '{}|{}' command",
            cmd.to_lowercase(),
            name.to_lowercase()
        )));
    }
    Ok(name)
}

fn nogroup_for_key(group: &[u8], key: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "NOGROUP No such consumer group '{}' for key name '{}'",
        tandem_resp::c_str(group),
        tandem_resp::c_str(key)
    ))
}

fn nogroup(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}'",
        tandem_resp::c_str(key),
        tandem_resp::c_str(group)
    ))
}

fn entries_read_arg(arg: &[u8]) -> Result<i64, CmdError> {
    let v = crate::util::int_arg(arg)?;
    if v < 0 && v != INVALID_ENTRIES_READ {
        return Err(CmdError::msg(
            "ERR value for ENTRIESREAD must be positive or -1",
        ));
    }
    Ok(v)
}

pub(super) fn xgroup(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let sub = check_sub(
        args,
        "XGROUP",
        &[
            ("CREATE", -5),
            ("SETID", -5),
            ("DESTROY", 4),
            ("CREATECONSUMER", 5),
            ("DELCONSUMER", 5),
            ("HELP", 2),
        ],
    )?;
    if sub == "HELP" {
        exec.out.array(XGROUP_HELP.len());
        for l in XGROUP_HELP {
            exec.out.simple(l);
        }
        return Ok(());
    }
    let (db, now) = (exec.db, exec.now);
    let (key, gname) = (&args[2], &args[3]);
    let mut mkstream = false;
    let mut entries_read = INVALID_ENTRIES_READ;
    if sub == "CREATE" || sub == "SETID" {
        let mut i = 5;
        while i < args.len() {
            if sub == "CREATE" && eq_ic(&args[i], "MKSTREAM") {
                mkstream = true;
                i += 1;
            } else if eq_ic(&args[i], "ENTRIESREAD") && i + 1 < args.len() {
                entries_read = entries_read_arg(&args[i + 1])?;
                i += 2;
            } else {
                return Err(sub_syntax(&args[1], "XGROUP"));
            }
        }
    }
    let exists = write_stream(exec.store, db, key, now)?.is_some();
    if !exists && !mkstream {
        return Err(CmdError::msg(
            "ERR The XGROUP subcommand requires the key to exist. Note that for CREATE you may want to use the MKSTREAM option to create an empty stream automatically.",
        ));
    }
    if let Some(s) = write_stream(exec.store, db, key, now)? {
        if !s.groups.contains_key(&gname[..])
            && matches!(sub, "SETID" | "CREATECONSUMER" | "DELCONSUMER")
        {
            return Err(nogroup_for_key(gname, key));
        }
    }
    match sub {
        "CREATE" if args.len() <= 8 => {
            let id = if c_bytes(&args[4]) == b"$" {
                write_stream(exec.store, db, key, now)?.map_or(StreamId::MIN, |s| s.last_id)
            } else {
                parse_strict_id(&args[4])?
            };
            let s = super::stream_or_create(exec.store, db, key, now)?;
            if s.groups.contains_key(&gname[..]) {
                return Err(CmdError::msg(
                    "BUSYGROUP Consumer Group name already exists",
                ));
            }
            s.groups
                .insert(Box::from(&gname[..]), Group::new(id, entries_read));
            exec.store.touch(db, key);
            exec.dirty(1);
            exec.out.ok();
        }
        "SETID" if args.len() == 5 || args.len() == 7 => {
            let Some(s) = write_stream(exec.store, db, key, now)? else {
                return Err(nogroup_for_key(gname, key));
            };
            let id = if c_bytes(&args[4]) == b"$" {
                s.last_id
            } else {
                parse_id(&args[4])?
            };
            if let Some(g) = s.groups.get_mut(&gname[..]) {
                g.last_id = id;
                g.entries_read = entries_read;
            }
            exec.dirty(1);
            exec.out.ok();
        }
        "DESTROY" => {
            let Some(s) = write_stream(exec.store, db, key, now)? else {
                exec.out.int(0);
                return Ok(());
            };
            if s.groups.remove(&gname[..]).is_some() {
                // Blocked XREADGROUP clients of the group get NOGROUP.
                exec.store.touch(db, key);
                exec.dirty(1);
                exec.out.int(1);
            } else {
                exec.out.int(0);
            }
        }
        "CREATECONSUMER" => {
            let s = write_stream(exec.store, db, key, now)?;
            let created = s
                .and_then(|s| s.groups.get_mut(&gname[..]))
                .is_some_and(|g| g.consumer_or_create(&args[4], now));
            if created {
                exec.dirty(1);
            }
            exec.out.int(created as i64);
        }
        "DELCONSUMER" => {
            let s = write_stream(exec.store, db, key, now)?;
            let mut pending = None;
            if let Some(g) = s.and_then(|s| s.groups.get_mut(&gname[..])) {
                if let Some(c) = g.consumers.remove(&args[4][..]) {
                    for id in &c.pel {
                        g.pel.remove(id);
                    }
                    pending = Some(c.pel.len());
                }
            }
            if pending.is_some() {
                exec.dirty(1);
            }
            exec.out.int(pending.unwrap_or(0) as i64);
        }
        _ => return Err(sub_syntax(&args[1], "XGROUP")),
    }
    Ok(())
}

pub(super) fn xack(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let (db, now) = (exec.db, exec.now);
    let has = match read_stream(exec.store, db, &args[1], now)? {
        Some(s) => s.groups.contains_key(&args[2][..]),
        None => false,
    };
    if !has {
        exec.out.int(0);
        return Ok(());
    }
    let ids = args[3..]
        .iter()
        .map(|a| parse_strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let Some(g) =
        write_stream(exec.store, db, &args[1], now)?.and_then(|s| s.groups.get_mut(&args[2][..]))
    else {
        exec.out.int(0);
        return Ok(());
    };
    let mut acked = 0;
    for id in ids {
        if g.ack(id) {
            acked += 1;
        }
    }
    exec.dirty(acked);
    exec.out.int(acked as i64);
    Ok(())
}

pub(super) fn xpending(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let n = args.len();
    if n != 3 && !(6..=9).contains(&n) {
        return Err(CmdError::Syntax);
    }
    let mut range = None;
    let mut min_idle = 0;
    if n >= 6 {
        let mut at = 3;
        if eq_ic(&args[3], "IDLE") {
            min_idle = crate::util::int_arg(&args[4])?;
            if n < 8 {
                return Err(CmdError::Syntax);
            }
            at += 2;
        }
        let count = crate::util::int_arg(&args[at + 2])?.max(0);
        let start = range_start(&args[at])?;
        let end = range_end(&args[at + 1])?;
        range = Some((start, end, count as u64, args.get(at + 3)));
    }
    let now = exec.now;
    let s = read_stream(exec.store, exec.db, &args[1], now)?;
    let Some(g) = s.and_then(|s| s.groups.get(&args[2][..])) else {
        return Err(nogroup(&args[1], &args[2]));
    };
    let out = &mut *exec.out;
    let Some((start, end, mut count, consumer)) = range else {
        out.array(4);
        out.int(g.pel.len() as i64);
        match (g.pel.keys().next(), g.pel.keys().next_back()) {
            (Some(first), Some(last)) => {
                out.bulk(first.text().as_bytes());
                out.bulk(last.text().as_bytes());
                let busy: Vec<_> = g
                    .consumers
                    .iter()
                    .filter(|(_, c)| !c.pel.is_empty())
                    .collect();
                out.array(busy.len());
                for (name, c) in busy {
                    out.array(2);
                    out.bulk(name);
                    out.bulk_int(c.pel.len() as i64);
                }
            }
            _ => {
                out.null();
                out.null();
                out.null_array();
            }
        }
        return Ok(());
    };
    let ids: Vec<StreamId> = match consumer {
        Some(name) => match g.consumers.get(&name[..]) {
            Some(c) => c
                .pel
                .range(start..=end.max(start))
                .copied()
                .filter(|id| *id <= end)
                .collect(),
            None => {
                out.empty_array();
                return Ok(());
            }
        },
        None if start <= end => g.pel.range(start..=end).map(|(id, _)| *id).collect(),
        None => Vec::new(),
    };
    let mut rows = Vec::new();
    for id in ids {
        if count == 0 {
            break;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        if min_idle != 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        count -= 1;
        rows.push((id, nack));
    }
    out.array(rows.len());
    for (id, nack) in rows {
        out.array(4);
        out.bulk(id.text().as_bytes());
        out.bulk(&nack.consumer);
        out.int((now - nack.delivery_time).max(0));
        out.int(nack.delivery_count as i64);
    }
    Ok(())
}

/// The stream and group of XCLAIM/XAUTOCLAIM, or NOGROUP.
fn claim_target<'a>(
    store: &'a mut crate::keyspace::Store,
    db: usize,
    args: &[Bytes],
    now: i64,
) -> Result<&'a mut Stream, CmdError> {
    match store.lookup_read(db, &args[1], now) {
        Some(Value::Stream(s)) if s.groups.contains_key(&args[2][..]) => Ok(s),
        Some(Value::Stream(_)) | None => Err(nogroup(&args[1], &args[2])),
        Some(_) => Err(CmdError::WrongType),
    }
}

fn int_or(arg: &[u8], msg: &'static str) -> Result<i64, CmdError> {
    parse_i64(arg).ok_or_else(|| CmdError::msg(msg))
}

/// Gives the pending entry `id` to `consumer` (created if needed), with the new
/// delivery time and count. Returns the NACK's (time, count) for propagation.
fn claim_one(
    g: &mut Group,
    id: StreamId,
    consumer: &[u8],
    time: i64,
    count: Option<u64>,
    now: i64,
) -> (i64, u64) {
    if g.consumer_or_create(consumer, now) {
        // A new consumer's seen time is now; an existing one is refreshed.
    } else if let Some(c) = g.consumers.get_mut(consumer) {
        c.seen_time = now;
    }
    let Some(nack) = g.pel.get_mut(&id) else {
        return (time, 0);
    };
    let old: Box<[u8]> = std::mem::replace(&mut nack.consumer, Box::from(consumer));
    nack.delivery_time = time;
    if let Some(c) = count {
        nack.delivery_count = c;
    }
    let out = (nack.delivery_time, nack.delivery_count);
    if *old != *consumer {
        if let Some(c) = g.consumers.get_mut(&old[..]) {
            c.pel.remove(&id);
        }
    }
    if let Some(c) = g.consumers.get_mut(consumer) {
        c.pel.insert(id);
    }
    out
}

/// Drops a pending entry whose stream entry is gone; returns the propagated form.
fn drop_deleted(g: &mut Group, key: &Bytes, group: &Bytes, id: StreamId) -> Option<Vec<Bytes>> {
    let nack = g.pel.get(&id)?;
    let p = xclaim_prop(
        key,
        group,
        &nack.consumer,
        id,
        nack.delivery_time,
        nack.delivery_count,
        g.last_id,
    );
    g.ack(id);
    Some(p)
}

pub(super) fn xclaim(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    claim_target(exec.store, exec.db, args, exec.now)?;
    let min_idle = int_or(&args[4], "ERR Invalid min-idle-time argument for XCLAIM")?.max(0);
    let mut j = 5;
    while j < args.len() && parse_strict_id(&args[j]).is_ok() {
        j += 1;
    }
    let ids: Vec<StreamId> = args[5..j]
        .iter()
        .filter_map(|a| parse_strict_id(a).ok())
        .collect();
    let now = exec.now;
    let (mut force, mut justid) = (false, false);
    let mut retry: Option<i64> = None;
    let mut time: Option<i64> = None;
    let mut last_id = StreamId::MIN;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let opt = &args[j];
        if eq_ic(opt, "FORCE") {
            force = true;
        } else if eq_ic(opt, "JUSTID") {
            justid = true;
        } else if eq_ic(opt, "IDLE") && more > 0 {
            j += 1;
            let idle = int_or(&args[j], "ERR Invalid IDLE option argument for XCLAIM")?;
            time = Some(now.wrapping_sub(idle));
        } else if eq_ic(opt, "TIME") && more > 0 {
            j += 1;
            time = Some(int_or(
                &args[j],
                "ERR Invalid TIME option argument for XCLAIM",
            )?);
        } else if eq_ic(opt, "RETRYCOUNT") && more > 0 {
            j += 1;
            retry = Some(int_or(
                &args[j],
                "ERR Invalid RETRYCOUNT option argument for XCLAIM",
            )?);
        } else if eq_ic(opt, "LASTID") && more > 0 {
            j += 1;
            last_id = parse_strict_id(&args[j])?;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unrecognized XCLAIM option '{}'",
                tandem_resp::c_str(opt)
            )));
        }
        j += 1;
    }
    let time = match time {
        Some(t) if t >= 0 && t <= now => t,
        _ => now,
    };
    let (key, gname, consumer) = (&args[1], &args[2], &args[3]);
    let Some(s) = write_stream(exec.store, exec.db, key, now)? else {
        return Err(nogroup(key, gname));
    };
    let had = has_consumer(s, gname, consumer);
    let mut props = Vec::new();
    let mut claimed = Vec::new();
    let Some(g) = s.groups.get_mut(&gname[..]) else {
        return Err(nogroup(key, gname));
    };
    let mut propagate_last = false;
    if last_id > g.last_id {
        g.last_id = last_id;
        propagate_last = true;
    }
    for id in ids {
        let exists = s.get(id).is_some();
        let Some(g) = s.groups.get_mut(&gname[..]) else {
            break;
        };
        if !exists {
            if let Some(p) = drop_deleted(g, key, gname, id) {
                props.push(p);
                propagate_last = false;
            }
            continue;
        }
        let fresh = match g.pel.get(&id) {
            Some(nack) => {
                if min_idle > 0 && now - nack.delivery_time < min_idle {
                    continue;
                }
                false
            }
            None if force => {
                g.pel.insert(
                    id,
                    crate::types::stream::Nack {
                        consumer: Box::from(&consumer[..]),
                        delivery_time: time,
                        // Redis's streamCreateNACK: one delivery, then the
                        // claim counts another unless JUSTID.
                        delivery_count: 1,
                    },
                );
                true
            }
            None => continue,
        };
        let count = match retry {
            Some(r) if r >= 0 => Some(r as u64),
            _ if justid => None,
            _ => g.pel.get(&id).map(|n| n.delivery_count + 1),
        };
        if fresh {
            // A NACK made by FORCE has no owner yet: the claimer gets it.
            g.consumer_or_create(consumer, now);
        }
        let (t, c) = claim_one(g, id, consumer, time, count, now);
        props.push(xclaim_prop(key, gname, consumer, id, t, c, g.last_id));
        propagate_last = false;
        claimed.push(id);
    }
    if propagate_last {
        if let Some(g) = s.groups.get(&gname[..]) {
            props.push(setid_prop(key, gname, g.last_id, g.entries_read));
        }
    }
    let n_props = props.len() as u64;
    let created = !had && has_consumer(s, gname, consumer);
    exec.out.array(claimed.len());
    for id in claimed {
        if justid {
            exec.out.bulk(id.text().as_bytes());
        } else {
            match s.get(id) {
                Some(e) => reply_entry(exec.out, e),
                None => exec.out.null(),
            }
        }
    }
    for p in props {
        exec.propagate_as(p);
    }
    if created {
        notify_consumer_created(exec, key);
    }
    exec.propagated = true;
    exec.dirty(n_props);
    Ok(())
}

/// Whether `group` of `s` has `consumer`.
fn has_consumer(s: &Stream, group: &[u8], consumer: &[u8]) -> bool {
    s.groups
        .get(group)
        .is_some_and(|g| g.consumers.contains_key(consumer))
}

/// The keyspace event Redis raises when a read or claim creates a consumer.
pub(super) fn notify_consumer_created(exec: &mut Exec<'_>, key: &[u8]) {
    exec.store
        .notify_event(crate::notify::STREAM, "xgroup-createconsumer", exec.db, key);
}

pub(super) fn xautoclaim(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let min_idle = int_or(
        &args[4],
        "ERR Invalid min-idle-time argument for XAUTOCLAIM",
    )?
    .max(0);
    let start = range_start(&args[5])?;
    let mut count: i64 = 100;
    let mut justid = false;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        if eq_ic(&args[j], "COUNT") && more > 0 {
            count = parse_i64(&args[j + 1])
                .filter(|c| (1..=i64::MAX / 16).contains(c))
                .ok_or_else(|| CmdError::msg("ERR COUNT must be > 0"))?;
            j += 1;
        } else if eq_ic(&args[j], "JUSTID") {
            justid = true;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let (key, gname, consumer) = (&args[1], &args[2], &args[3]);
    let now = exec.now;
    let s = claim_target(exec.store, exec.db, args, now)?;
    let had = has_consumer(s, gname, consumer);
    let mut attempts = count.saturating_mul(10);
    let mut props = Vec::new();
    let mut claimed = Vec::new();
    let mut deleted = Vec::new();
    let mut cur = Some(start);
    let next_cursor;
    loop {
        let Some(from) = cur else {
            next_cursor = StreamId::MIN;
            break;
        };
        let Some(g) = s.groups.get(&gname[..]) else {
            next_cursor = StreamId::MIN;
            break;
        };
        let next = g.pel.range(from..).next().map(|(id, _)| *id);
        if attempts == 0 || count == 0 {
            next_cursor = next.unwrap_or(StreamId::MIN);
            break;
        }
        attempts -= 1;
        let Some(id) = next else {
            next_cursor = StreamId::MIN;
            break;
        };
        cur = id.incr();
        let exists = s.get(id).is_some();
        let Some(g) = s.groups.get_mut(&gname[..]) else {
            next_cursor = StreamId::MIN;
            break;
        };
        if !exists {
            if let Some(p) = drop_deleted(g, key, gname, id) {
                props.push(p);
            }
            deleted.push(id);
            count -= 1;
            continue;
        }
        let Some(nack) = g.pel.get(&id) else { continue };
        if min_idle > 0 && now - nack.delivery_time < min_idle {
            continue;
        }
        let c = (!justid).then(|| nack.delivery_count + 1);
        let (t, c) = claim_one(g, id, consumer, now, c, now);
        props.push(xclaim_prop(key, gname, consumer, id, t, c, g.last_id));
        claimed.push(id);
        count -= 1;
    }
    let n_props = props.len() as u64;
    let created = !had && has_consumer(s, gname, consumer);
    let out = &mut *exec.out;
    out.array(3);
    out.bulk(next_cursor.text().as_bytes());
    out.array(claimed.len());
    for id in claimed {
        if justid {
            out.bulk(id.text().as_bytes());
        } else {
            match s.get(id) {
                Some(e) => reply_entry(out, e),
                None => out.null(),
            }
        }
    }
    out.array(deleted.len());
    for id in deleted {
        out.bulk(id.text().as_bytes());
    }
    for p in props {
        exec.propagate_as(p);
    }
    if created {
        notify_consumer_created(exec, key);
    }
    exec.propagated = true;
    exec.dirty(n_props);
    Ok(())
}
