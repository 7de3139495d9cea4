//! Pub/sub: (P)SUBSCRIBE, (P)UNSUBSCRIBE, PUBLISH, PUBSUB. Messages to other
//! clients go through their channels, counted against their output limits.

use bytes::Bytes;
use tandem_resp::ReplyBuf;
use tandem_store::util::{eq_ic, glob_match};
use tandem_store::CmdResult;

use crate::dispatch::{Ctx, ServerHandler};
use crate::state::State;

pub const COMMANDS: &[(&str, ServerHandler)] = &[
    ("subscribe", subscribe),
    ("unsubscribe", unsubscribe),
    ("psubscribe", psubscribe),
    ("punsubscribe", punsubscribe),
    ("publish", publish),
    ("pubsub", pubsub),
];

fn count(st: &State, id: u64) -> i64 {
    st.clients
        .get(&id)
        .map(|c| (c.channels.len() + c.patterns.len()) as i64)
        .unwrap_or(0)
}

fn notice(out: &mut ReplyBuf, kind: &[u8], name: Option<&[u8]>, n: i64) {
    out.push(3);
    out.bulk(kind);
    match name {
        Some(n) => out.bulk(n),
        None => out.null(),
    }
    out.int(n);
}

fn add(map: &mut std::collections::HashMap<Bytes, Vec<u64>>, k: &Bytes, id: u64) {
    map.entry(k.clone()).or_default().push(id);
}

fn remove(map: &mut std::collections::HashMap<Bytes, Vec<u64>>, k: &Bytes, id: u64) {
    if let Some(v) = map.get_mut(k) {
        v.retain(|&x| x != id);
        if v.is_empty() {
            map.remove(k);
        }
    }
}

/// Drops every subscription of a client (disconnect, RESET).
pub fn unsubscribe_all(st: &mut State, id: u64) {
    let Some(c) = st.clients.get_mut(&id) else {
        return;
    };
    let chans: Vec<Bytes> = c.channels.drain().collect();
    let pats: Vec<Bytes> = c.patterns.drain().collect();
    for ch in &chans {
        remove(&mut st.channels, ch, id);
    }
    for p in &pats {
        remove(&mut st.patterns, p, id);
    }
}

fn subscribe_impl(ctx: &mut Ctx<'_>, args: &[Bytes], pattern: bool) -> CmdResult {
    let id = ctx.id;
    for ch in &args[1..] {
        let c = ctx.client();
        let set = if pattern {
            &mut c.patterns
        } else {
            &mut c.channels
        };
        if set.insert(ch.clone()) {
            let map = if pattern {
                &mut ctx.st.patterns
            } else {
                &mut ctx.st.channels
            };
            add(map, ch, id);
        }
        let n = count(ctx.st, id);
        let kind: &[u8] = if pattern { b"psubscribe" } else { b"subscribe" };
        notice(ctx.out, kind, Some(ch), n);
    }
    Ok(())
}

fn unsubscribe_impl(ctx: &mut Ctx<'_>, args: &[Bytes], pattern: bool) -> CmdResult {
    let id = ctx.id;
    let kind: &[u8] = if pattern {
        b"punsubscribe"
    } else {
        b"unsubscribe"
    };
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        let c = ctx.client();
        let set = if pattern { &c.patterns } else { &c.channels };
        set.iter().cloned().collect()
    };
    if names.is_empty() {
        let n = count(ctx.st, id);
        notice(ctx.out, kind, None, n);
        return Ok(());
    }
    for ch in &names {
        let c = ctx.client();
        let set = if pattern {
            &mut c.patterns
        } else {
            &mut c.channels
        };
        if set.remove(ch) {
            let map = if pattern {
                &mut ctx.st.patterns
            } else {
                &mut ctx.st.channels
            };
            remove(map, ch, id);
        }
        let n = count(ctx.st, id);
        notice(ctx.out, kind, Some(ch), n);
    }
    Ok(())
}

fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_impl(ctx, args, false)
}
fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_impl(ctx, args, true)
}
fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_impl(ctx, args, false)
}
fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_impl(ctx, args, true)
}

fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (ch, msg) = (&args[1], &args[2]);
    let mut targets: Vec<(u64, Option<Bytes>)> = ctx
        .st
        .channels
        .get(ch)
        .map(|v| v.iter().map(|&id| (id, None)).collect())
        .unwrap_or_default();
    for (p, ids) in ctx.st.patterns.iter() {
        if glob_match(p, ch, false) {
            targets.extend(ids.iter().map(|&id| (id, Some(p.clone()))));
        }
    }
    let mut delivered = 0;
    for (id, pat) in targets {
        let Some(proto) = ctx.st.clients.get(&id).map(|c| c.proto) else {
            continue;
        };
        let mut out = ReplyBuf::small(proto);
        match &pat {
            None => {
                out.push(3);
                out.bulk(b"message");
            }
            Some(p) => {
                out.push(4);
                out.bulk(b"pmessage");
                out.bulk(p);
            }
        }
        out.bulk(ch);
        out.bulk(msg);
        delivered += 1;
        if id == ctx.id {
            // Our own message goes before PUBLISH's reply, as in Redis.
            ctx.out.raw(out.as_bytes());
        } else {
            ctx.st.send_to(id, out.take().freeze());
        }
    }
    // Into the write stream, as Redis forces it: a replica's subscribers get
    // the master's messages (a replica applying it delivers locally only).
    let db = ctx.client().db;
    ctx.st.store.propagate(db, args.to_vec());
    ctx.out.int(delivered);
    Ok(())
}

fn pubsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    if eq_ic(sub, "CHANNELS") && args.len() <= 3 {
        let mut names: Vec<Bytes> = ctx
            .st
            .channels
            .keys()
            .filter(|c| args.get(2).is_none_or(|p| glob_match(p, c, false)))
            .cloned()
            .collect();
        names.sort();
        ctx.out.array(names.len());
        for n in names {
            ctx.out.bulk(&n);
        }
    } else if eq_ic(sub, "NUMSUB") {
        ctx.out.map(args.len() - 2);
        for ch in &args[2..] {
            ctx.out.bulk(ch);
            let n = ctx.st.channels.get(ch).map(|v| v.len()).unwrap_or(0);
            ctx.out.int(n as i64);
        }
    } else if eq_ic(sub, "NUMPAT") && args.len() == 2 {
        ctx.out.int(ctx.st.patterns.len() as i64);
    } else {
        return Err(crate::cmd_client::unknown_sub(sub, "PUBSUB"));
    }
    Ok(())
}
