//! Pub/sub: (P|S)SUBSCRIBE, (P|S)UNSUBSCRIBE, PUBLISH, SPUBLISH, PUBSUB. Messages to other
//! clients go through their channels, counted against their output limits.

use bytes::Bytes;
use tandem_resp::ReplyBuf;
use tandem_store::util::{eq_ic, glob_match};
use tandem_store::CmdResult;

use std::collections::{HashMap, HashSet};

use crate::dispatch::{Ctx, ServerHandler};
use crate::state::{Client, State};

pub const COMMANDS: &[(&str, ServerHandler)] = &[
    ("subscribe", subscribe),
    ("unsubscribe", unsubscribe),
    ("psubscribe", psubscribe),
    ("punsubscribe", punsubscribe),
    ("ssubscribe", ssubscribe),
    ("sunsubscribe", sunsubscribe),
    ("publish", publish),
    ("spublish", spublish),
    ("pubsub", pubsub),
];

/// The three subscription kinds. Shard channels (Redis 7.0's sharded pub/sub)
/// are their own namespace: SPUBLISH reaches only SSUBSCRIBE, and their count
/// in replies is apart from the channels' and patterns' count.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Channel,
    Pattern,
    Shard,
}

impl Kind {
    fn names(self) -> (&'static [u8], &'static [u8]) {
        match self {
            Kind::Channel => (b"subscribe", b"unsubscribe"),
            Kind::Pattern => (b"psubscribe", b"punsubscribe"),
            Kind::Shard => (b"ssubscribe", b"sunsubscribe"),
        }
    }

    fn of_client(self, c: &mut Client) -> &mut HashSet<Bytes> {
        match self {
            Kind::Channel => &mut c.channels,
            Kind::Pattern => &mut c.patterns,
            Kind::Shard => &mut c.shard_channels,
        }
    }

    fn of_state(self, st: &mut State) -> &mut HashMap<Bytes, Vec<u64>> {
        match self {
            Kind::Channel => &mut st.channels,
            Kind::Pattern => &mut st.patterns,
            Kind::Shard => &mut st.shard_channels,
        }
    }

    /// The count a (un)subscribe reply carries.
    fn count(self, st: &State, id: u64) -> i64 {
        st.clients.get(&id).map_or(0, |c| match self {
            Kind::Shard => c.shard_channels.len() as i64,
            _ => (c.channels.len() + c.patterns.len()) as i64,
        })
    }
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

fn add(map: &mut HashMap<Bytes, Vec<u64>>, k: &Bytes, id: u64) {
    map.entry(k.clone()).or_default().push(id);
}

fn remove(map: &mut HashMap<Bytes, Vec<u64>>, k: &Bytes, id: u64) {
    if let Some(v) = map.get_mut(k) {
        v.retain(|&x| x != id);
        if v.is_empty() {
            map.remove(k);
        }
    }
}

/// Drops every subscription of a client (disconnect, RESET).
pub fn unsubscribe_all(st: &mut State, id: u64) {
    for kind in [Kind::Channel, Kind::Pattern, Kind::Shard] {
        let Some(c) = st.clients.get_mut(&id) else {
            return;
        };
        let names: Vec<Bytes> = kind.of_client(c).drain().collect();
        let map = kind.of_state(st);
        for n in &names {
            remove(map, n, id);
        }
    }
}

fn subscribe_impl(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    let id = ctx.id;
    for ch in &args[1..] {
        if kind.of_client(ctx.client()).insert(ch.clone()) {
            add(kind.of_state(ctx.st), ch, id);
        }
        let n = kind.count(ctx.st, id);
        notice(ctx.out, kind.names().0, Some(ch), n);
    }
    Ok(())
}

fn unsubscribe_impl(ctx: &mut Ctx<'_>, args: &[Bytes], kind: Kind) -> CmdResult {
    let id = ctx.id;
    let name = kind.names().1;
    let names: Vec<Bytes> = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        kind.of_client(ctx.client()).iter().cloned().collect()
    };
    if names.is_empty() {
        let n = kind.count(ctx.st, id);
        notice(ctx.out, name, None, n);
        return Ok(());
    }
    for ch in &names {
        if kind.of_client(ctx.client()).remove(ch) {
            remove(kind.of_state(ctx.st), ch, id);
        }
        let n = kind.count(ctx.st, id);
        notice(ctx.out, name, Some(ch), n);
    }
    Ok(())
}

fn subscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_impl(ctx, args, Kind::Channel)
}
fn psubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_impl(ctx, args, Kind::Pattern)
}
fn ssubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    subscribe_impl(ctx, args, Kind::Shard)
}
fn unsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_impl(ctx, args, Kind::Channel)
}
fn punsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_impl(ctx, args, Kind::Pattern)
}
fn sunsubscribe(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    unsubscribe_impl(ctx, args, Kind::Shard)
}

fn publish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    deliver(ctx, args, false)
}

fn spublish(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    deliver(ctx, args, true)
}

/// PUBLISH (channel and pattern subscribers) or SPUBLISH (shard channel
/// subscribers): the message to each, then the count as the reply.
fn deliver(ctx: &mut Ctx<'_>, args: &[Bytes], shard: bool) -> CmdResult {
    let (ch, msg) = (&args[1], &args[2]);
    let mut delivered = 0;
    for (id, pat) in targets(ctx.st, ch, shard) {
        let Some(mut out) = message(ctx.st, id, ch, msg, pat.as_ref(), shard) else {
            continue;
        };
        delivered += 1;
        if id == ctx.id {
            // Our own message goes before the reply, as in Redis.
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

const PUBSUB_HELP: &[&str] = &[
    "PUBSUB <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CHANNELS [<pattern>]",
    "    Return the currently active channels matching a <pattern> (default: '*').",
    "NUMPAT",
    "    Return number of subscriptions to patterns.",
    "NUMSUB [<channel> ...]",
    "    Return the number of subscribers for the specified channels, excluding",
    "    pattern subscriptions(default: no channels).",
    "SHARDCHANNELS [<pattern>]",
    "    Return the currently active shard level channels matching a <pattern> (default: '*').",
    "SHARDNUMSUB [<shardchannel> ...]",
    "    Return the number of subscribers for the specified shard level channel(s)",
    "HELP",
    "    Prints this help.",
];

/// PUBSUB: dispatch has already checked the subcommand and its arity against
/// the command table, as Redis's processCommand does.
fn pubsub(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let Some(name) = [
        "help",
        "channels",
        "numpat",
        "numsub",
        "shardchannels",
        "shardnumsub",
    ]
    .into_iter()
    .find(|n| eq_ic(sub, n)) else {
        return Err(crate::cmd_client::sub_syntax(sub, "PUBSUB"));
    };
    match name {
        "help" => {
            crate::dispatch::reply_help(ctx.out, PUBSUB_HELP);
        }
        "channels" | "shardchannels" => {
            if args.len() > 3 {
                return Err(crate::cmd_client::sub_syntax(sub, "PUBSUB"));
            }
            let map = if name == "channels" {
                &ctx.st.channels
            } else {
                &ctx.st.shard_channels
            };
            let mut names: Vec<Bytes> = map
                .keys()
                .filter(|c| args.get(2).is_none_or(|p| glob_match(p, c, false)))
                .cloned()
                .collect();
            names.sort();
            ctx.out.array(names.len());
            for n in names {
                ctx.out.bulk(&n);
            }
        }
        "numsub" | "shardnumsub" => {
            let map = if name == "numsub" {
                &ctx.st.channels
            } else {
                &ctx.st.shard_channels
            };
            // A flat array of pairs, in RESP3 too (as Redis 7.0 replies).
            ctx.out.array(2 * (args.len() - 2));
            for ch in &args[2..] {
                ctx.out.bulk(ch);
                ctx.out.int(map.get(ch).map_or(0, |v| v.len()) as i64);
            }
        }
        _ => ctx.out.int(ctx.st.patterns.len() as i64),
    }
    Ok(())
}

/// Who gets a message on `ch`: the channel's subscribers, then (unless
/// `shard`) each client whose pattern matches, with that pattern.
fn targets(st: &State, ch: &[u8], shard: bool) -> Vec<(u64, Option<Bytes>)> {
    let exact = if shard {
        &st.shard_channels
    } else {
        &st.channels
    };
    let mut targets: Vec<(u64, Option<Bytes>)> = exact
        .get(ch)
        .map(|v| v.iter().map(|&id| (id, None)).collect())
        .unwrap_or_default();
    if !shard {
        for (p, ids) in st.patterns.iter() {
            if glob_match(p, ch, false) {
                targets.extend(ids.iter().map(|&id| (id, Some(p.clone()))));
            }
        }
    }
    targets
}

/// The message (`message`, `pmessage` or `smessage`) for client `id` in its
/// protocol; None if it is gone.
fn message(
    st: &State,
    id: u64,
    ch: &[u8],
    msg: &[u8],
    pat: Option<&Bytes>,
    shard: bool,
) -> Option<ReplyBuf> {
    let proto = st.clients.get(&id)?.proto;
    let mut out = ReplyBuf::small(proto);
    match pat {
        None => {
            out.push(3);
            out.bulk(if shard { b"smessage" } else { b"message" });
        }
        Some(p) => {
            out.push(4);
            out.bulk(b"pmessage");
            out.bulk(p);
        }
    }
    out.bulk(ch);
    out.bulk(msg);
    Some(out)
}

/// Publishes a keyspace notification to channel and pattern subscribers
/// (no reply; Redis publishes them the same way as PUBLISH).
pub fn publish_notification(st: &mut State, ch: &[u8], msg: &[u8]) {
    for (id, pat) in targets(st, ch, false) {
        if let Some(mut out) = message(st, id, ch, msg, pat.as_ref(), false) {
            st.send_to(id, out.take().freeze());
        }
    }
}

/// Publishes the keyspace notifications the store queued.
pub fn flush_notifications(st: &mut State) {
    if st.store.notifications.is_empty() {
        return;
    }
    let flags = st.store.notify;
    for e in std::mem::take(&mut st.store.notifications) {
        for (ch, msg) in tandem_store::notify::messages(flags, &e) {
            publish_notification(st, &ch, &msg);
        }
    }
}
