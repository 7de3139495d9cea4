//! XREAD and XREADGROUP, blocking or not (Redis 7.0's `xreadCommand`).
//!
//! Every argument is checked first (options, then per stream: type, group, ID),
//! then each stream is served in turn. With nothing to serve and BLOCK given, the
//! client blocks on the keys (inside MULTI it gets the timeout's null instead);
//! XREAD's `$` is resolved to the stream's last ID at that moment and the
//! blocked request keeps the resolved arguments, so the re-run after a wake-up
//! returns only what arrived since. A woken XREADGROUP whose key or group went
//! away gets Redis's UNBLOCKED/NOGROUP error.
//!
//! XREADGROUP changes the group, so it propagates what Redis propagates instead
//! of itself: `XGROUP CREATECONSUMER` for a new consumer, an `XCLAIM ... FORCE
//! JUSTID` per delivered entry (the replica's PEL gets the same delivery time and
//! count), and `XGROUP SETID ... ENTRIESREAD` when the group's last ID moved.

use bytes::Bytes;
use tandem_resp::ReplyBuf;

use super::{id_arg, parse_strict_id, read_stream, reply_entry};
use crate::error::{CmdError, CmdResult};
use crate::exec::{BlockRequest, Exec};
use crate::types::stream::{Stream, StreamId};
use crate::util::{c_bytes, eq_ic, int_arg};
use crate::value::Value;

/// Entries a woken XREAD without COUNT gets at most (Redis's
/// `XREAD_BLOCKED_DEFAULT_COUNT`).
const BLOCKED_DEFAULT_COUNT: usize = 1000;

struct ReadArgs {
    count: usize,
    block_ms: Option<i64>,
    group: Option<(Bytes, Bytes)>,
    noack: bool,
    streams_arg: usize,
    n: usize,
}

fn parse(args: &[Bytes], xreadgroup: bool) -> Result<ReadArgs, CmdError> {
    let mut r = ReadArgs {
        count: 0,
        block_ms: None,
        group: None,
        noack: false,
        streams_arg: 0,
        n: 0,
    };
    let mut i = 1;
    while i < args.len() {
        let more = args.len() - i - 1;
        let o = &args[i];
        if eq_ic(o, "BLOCK") && more > 0 {
            i += 1;
            let t = crate::util::parse_i64(&args[i])
                .ok_or_else(|| CmdError::msg("ERR timeout is not an integer or out of range"))?;
            if t < 0 {
                return Err(CmdError::TimeoutNegative);
            }
            r.block_ms = Some(t);
        } else if eq_ic(o, "COUNT") && more > 0 {
            i += 1;
            r.count = int_arg(&args[i])?.max(0) as usize;
        } else if eq_ic(o, "STREAMS") && more > 0 {
            r.streams_arg = i + 1;
            let rest = args.len() - r.streams_arg;
            if !rest.is_multiple_of(2) {
                return Err(CmdError::msg(
                    "ERR Unbalanced XREAD list of streams: for each stream key an ID or '$' must be specified.",
                ));
            }
            r.n = rest / 2;
            break;
        } else if eq_ic(o, "GROUP") && more >= 2 {
            if !xreadgroup {
                return Err(CmdError::msg(
                    "ERR The GROUP option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.group = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 2;
        } else if eq_ic(o, "NOACK") {
            if !xreadgroup {
                return Err(CmdError::msg(
                    "ERR The NOACK option is only supported by XREADGROUP. You called XREAD instead.",
                ));
            }
            r.noack = true;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if r.streams_arg == 0 {
        return Err(CmdError::Syntax);
    }
    if xreadgroup && r.group.is_none() {
        return Err(CmdError::msg("ERR Missing GROUP option for XREADGROUP"));
    }
    Ok(r)
}

/// What to read from one stream: after this ID, or (XREADGROUP `>`) new entries.
#[derive(Clone, Copy, PartialEq)]
enum From {
    After(StreamId),
    New,
}

pub(super) fn xread(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    read_generic(exec, args, false)
}

pub(super) fn xreadgroup(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    read_generic(exec, args, true)
}

fn nogroup(key: &[u8], group: &[u8]) -> CmdError {
    CmdError::msg(format!(
        "NOGROUP No such key '{}' or consumer group '{}' in XREADGROUP with GROUP option",
        tandem_resp::c_str(key),
        tandem_resp::c_str(group)
    ))
}

fn read_generic(exec: &mut Exec<'_>, args: &[Bytes], xreadgroup: bool) -> CmdResult {
    let r = parse(args, xreadgroup)?;
    let (db, now) = (exec.db, exec.now);
    let keys = &args[r.streams_arg..r.streams_arg + r.n];
    let id_args = &args[r.streams_arg + r.n..];
    let mut from = Vec::with_capacity(r.n);
    for (key, id_arg) in keys.iter().zip(id_args) {
        let s = match read_stream(exec.store, db, key, now) {
            Err(_) if exec.woken && !xreadgroup => {
                from.push(From::After(StreamId::MAX));
                continue;
            }
            Err(e) if exec.woken => {
                let _ = e;
                return Err(CmdError::msg("UNBLOCKED the stream key no longer exists"));
            }
            r => r?,
        };
        if let Some((g, _)) = &r.group {
            let has = s.as_ref().is_some_and(|s| s.groups.contains_key(&g[..]));
            if !has {
                return Err(if !exec.woken {
                    nogroup(key, g)
                } else if s.is_none() {
                    CmdError::msg("UNBLOCKED the stream key no longer exists")
                } else {
                    CmdError::msg(
                        "NOGROUP the consumer group this client was blocked on no longer exists",
                    )
                });
            }
        }
        let c = c_bytes(id_arg);
        if c == b"$" {
            if xreadgroup {
                return Err(CmdError::msg(
                    "ERR The $ ID is meaningless in the context of XREADGROUP: you want to read the history of this consumer by specifying a proper ID, or use the > ID to get new messages. The $ ID would just return an empty result set.",
                ));
            }
            from.push(From::After(s.map_or(StreamId::MIN, |s| s.last_id)));
        } else if c == b">" {
            if !xreadgroup {
                return Err(CmdError::msg(
                    "ERR The > ID can be specified only when calling XREADGROUP using the GROUP <group> <consumer> option.",
                ));
            }
            from.push(From::New);
        } else {
            from.push(From::After(parse_strict_id(id_arg)?));
        }
    }
    let count = if exec.woken && r.count == 0 && !xreadgroup {
        BLOCKED_DEFAULT_COUNT
    } else {
        r.count
    };
    let mut body = ReplyBuf::small(exec.out.proto());
    let mut served = 0;
    for (i, key) in keys.iter().enumerate() {
        let Some(Value::Stream(s)) = exec.store.lookup_read(db, key, now) else {
            continue;
        };
        let s: &mut Stream = s;
        let mut props = Vec::new();
        let ok = match &r.group {
            None => {
                let From::After(gt) = from[i] else { continue };
                let Some(last) = s.edge(true).map(|e| e.id) else {
                    continue;
                };
                if last <= gt {
                    continue;
                }
                open_stream(&mut body, key);
                let Some(start) = gt.incr() else { continue };
                let limit = if count == 0 { usize::MAX } else { count };
                let items: Vec<_> = s.range(start, StreamId::MAX, false).take(limit).collect();
                body.array(items.len());
                for e in items {
                    reply_entry(&mut body, e);
                }
                true
            }
            Some((g, c)) => serve_group(
                s, &mut body, key, g, c, from[i], count, r.noack, now, &mut props,
            ),
        };
        for p in props {
            if p.get(1).is_some_and(|a| a[..] == b"CREATECONSUMER"[..]) {
                super::group::notify_consumer_created(exec, key);
            }
            exec.propagate_as(p);
        }
        if ok {
            served += 1;
            if r.group.is_some() {
                exec.dirty(1);
            }
        }
    }
    if xreadgroup {
        // The propagated forms above (if any) stand for the command.
        exec.propagated = true;
    }
    if served > 0 {
        if exec.out.is_resp3() {
            exec.out.map(served);
        } else {
            exec.out.array(served);
        }
        exec.out.raw(body.as_bytes());
        return Ok(());
    }
    match r.block_ms {
        Some(ms) if !exec.in_multi => {
            let mut rewritten = None;
            if !xreadgroup {
                let mut a = args.to_vec();
                for (j, f) in from.iter().enumerate() {
                    if let From::After(id) = f {
                        a[r.streams_arg + r.n + j] = id_arg(*id);
                    }
                }
                rewritten = Some(a);
            }
            exec.block = Some(BlockRequest {
                keys: keys.to_vec(),
                deadline_ms: (ms > 0).then(|| now.saturating_add(ms)),
                args: rewritten,
            });
        }
        _ => exec.out.null_array(),
    }
    Ok(())
}

/// `[key, ` of one stream's part of the reply (RESP3: the map key).
fn open_stream(body: &mut ReplyBuf, key: &[u8]) {
    if !body.is_resp3() {
        body.array(2);
    }
    body.bulk(key);
}

/// Serves one stream of an XREADGROUP; returns whether it was part of the
/// reply.
#[allow(clippy::too_many_arguments)]
fn serve_group(
    s: &mut Stream,
    body: &mut ReplyBuf,
    key: &Bytes,
    group: &Bytes,
    consumer: &Bytes,
    from: From,
    count: usize,
    noack: bool,
    now: i64,
    props: &mut Vec<Vec<Bytes>>,
) -> bool {
    let last_valid = s.edge(true).map(|e| e.id);
    let Some(g) = s.groups.get_mut(&group[..]) else {
        return false;
    };
    // Only a read that is served now meets its consumer (Redis 7.0 creates it
    // then, not for a read that finds nothing or blocks).
    if from == From::New && last_valid.is_none_or(|m| m <= g.last_id) {
        return false;
    }
    if g.consumer_or_create(consumer, now) {
        props.push(vec![
            Bytes::from_static(b"XGROUP"),
            Bytes::from_static(b"CREATECONSUMER"),
            key.clone(),
            group.clone(),
            consumer.clone(),
        ]);
    }
    if let Some(c) = g.consumers.get_mut(&consumer[..]) {
        c.seen_time = now;
    }
    let limit = if count == 0 { usize::MAX } else { count };
    match from {
        From::After(gt) => {
            // History: this consumer's pending entries after `gt`.
            open_stream(body, key);
            let start = gt.incr();
            let ids: Vec<StreamId> = match (start, g.consumers.get(&consumer[..])) {
                (Some(start), Some(c)) => c.pel.range(start..).take(limit).copied().collect(),
                _ => Vec::new(),
            };
            body.array(ids.len());
            for id in ids {
                match s.get(id) {
                    Some(e) => reply_entry(body, e),
                    None => {
                        // Deleted since delivered: the ID and a null, and
                        // the delivery is not counted (as Redis).
                        body.array(2);
                        body.bulk(id.text().as_bytes());
                        body.null_array();
                        continue;
                    }
                }
                if let Some(g) = s.groups.get_mut(&group[..]) {
                    if let Some(n) = g.pel.get_mut(&id) {
                        n.delivery_time = now;
                        n.delivery_count += 1;
                        props.push(xclaim_prop(
                            key,
                            group,
                            consumer,
                            id,
                            n.delivery_time,
                            n.delivery_count,
                            g.last_id,
                        ));
                    }
                }
            }
            true
        }
        From::New => {
            let last = g.last_id;
            if last_valid.is_none_or(|m| m <= last) {
                return false;
            }
            open_stream(body, key);
            let Some(start) = last.incr() else {
                body.array(0);
                return true;
            };
            let ids: Vec<StreamId> = s
                .range(start, StreamId::MAX, false)
                .take(limit)
                .map(|e| e.id)
                .collect();
            body.array(ids.len());
            for id in &ids {
                if let Some(e) = s.get(*id) {
                    reply_entry(body, e);
                }
                s.advance_group(group, *id);
                if !noack {
                    if let Some(g) = s.groups.get_mut(&group[..]) {
                        g.deliver(*id, consumer, now);
                        props.push(xclaim_prop(key, group, consumer, *id, now, 1, g.last_id));
                    }
                }
            }
            if !ids.is_empty() {
                if let Some(g) = s.groups.get(&group[..]) {
                    props.push(setid_prop(key, group, g.last_id, g.entries_read));
                }
            }
            true
        }
    }
}

/// `XCLAIM key group consumer 0 id TIME ms RETRYCOUNT n FORCE JUSTID LASTID id`:
/// how Redis propagates a delivery.
pub(super) fn xclaim_prop(
    key: &Bytes,
    group: &Bytes,
    consumer: &[u8],
    id: StreamId,
    time: i64,
    count: u64,
    last_id: StreamId,
) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XCLAIM"),
        key.clone(),
        group.clone(),
        Bytes::copy_from_slice(consumer),
        Bytes::from_static(b"0"),
        id_arg(id),
        Bytes::from_static(b"TIME"),
        Bytes::from(time.to_string()),
        Bytes::from_static(b"RETRYCOUNT"),
        Bytes::from(count.to_string()),
        Bytes::from_static(b"FORCE"),
        Bytes::from_static(b"JUSTID"),
        Bytes::from_static(b"LASTID"),
        id_arg(last_id),
    ]
}

/// `XGROUP SETID key group id ENTRIESREAD n`.
pub(super) fn setid_prop(key: &Bytes, group: &Bytes, id: StreamId, read: i64) -> Vec<Bytes> {
    vec![
        Bytes::from_static(b"XGROUP"),
        Bytes::from_static(b"SETID"),
        key.clone(),
        group.clone(),
        id_arg(id),
        Bytes::from_static(b"ENTRIESREAD"),
        Bytes::from(read.to_string()),
    ]
}
