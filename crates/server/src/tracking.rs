//! Server-assisted client-side caching: CLIENT TRACKING and its invalidation
//! messages, as Redis 7.0's tracking.c.
//!
//! * Default mode: a read-only command of a tracking client remembers the
//!   client against each key it read. When such a key is modified (a write,
//!   expiry, eviction), every client remembered for it gets one `invalidate`
//!   message and the key is forgotten until it is read again. Keys are
//!   remembered by name only, across databases, as Redis does.
//! * BCAST mode: nothing is remembered; a client registers prefixes and gets
//!   the modified keys under each, gathered per batch of requests (Redis
//!   gathers them per event-loop turn), in key order.
//! * OPTIN/OPTOUT: `CLIENT CACHING yes|no` decides for the next command (or
//!   transaction) only. NOLOOP: no messages about a client's own writes.
//! * Messages to the client running the command go after its reply (after
//!   EXEC's for a transaction), as Redis 7.0's pending invalidations; messages
//!   to others go at once through their message channel. FLUSHDB/FLUSHALL (and
//!   a replica's full sync) send every tracking client a null invalidation and
//!   empty the table.
//! * Delivery: RESP3 as a push; RESP2 only through REDIRECT to a client in
//!   pub/sub mode, as a message on `__redis__:invalidate`. A REDIRECT target
//!   that went away marks the client `broken_redirect` and (RESP3) sends it
//!   `tracking-redir-broken`.
//!
//! The keyspace reports every modified key while tracking is on
//! (`Store::tracking_on`); [`after_call`] turns them into messages.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use bytes::Bytes;
use tandem_commands::{flags, CommandSpec};
use tandem_resp::{Proto, ReplyBuf};
use tandem_store::util::{eq_ic, parse_i64};
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::Ctx;
use crate::state::State;

/// A client's tracking settings (`CLIENT TRACKING ON ...`).
#[derive(Debug, Default)]
pub struct ClientTracking {
    /// The client that receives the messages; 0: the client itself.
    pub redirect: u64,
    pub bcast: bool,
    pub optin: bool,
    pub optout: bool,
    pub noloop: bool,
    /// `CLIENT CACHING yes` (OPTIN) or `no` (OPTOUT) given for the next command.
    pub caching: bool,
    /// The redirect target went away.
    pub broken: bool,
    /// BCAST prefixes ("" for every key).
    pub prefixes: BTreeSet<Box<[u8]>>,
}

/// Keys modified under one BCAST prefix since the last broadcast.
#[derive(Debug, Default)]
struct Bcast {
    clients: BTreeSet<u64>,
    /// Key → the client that modified it last (0: none), for NOLOOP.
    keys: BTreeMap<Box<[u8]>, u64>,
}

/// A message's value: keys, or null for "everything" (a flush).
enum Payload<'a> {
    Keys(&'a [&'a [u8]]),
    Null,
}

/// The tracking table, the BCAST prefixes and the messages waiting for the
/// reply of the running command.
#[derive(Debug, Default)]
pub struct Tracking {
    /// Key name → ids of the clients that may cache it (sorted).
    table: HashMap<Box<[u8]>, Vec<u64>, foldhash::fast::RandomState>,
    /// Sum of the clients over all keys (INFO tracking_total_items).
    items: usize,
    prefixes: BTreeMap<Box<[u8]>, Bcast>,
    /// Clients with tracking on (INFO tracking_clients).
    pub clients: usize,
    /// Invalidations for the client running the command, sent after its
    /// reply: a key, or None for a flush.
    own: Vec<Option<Box<[u8]>>>,
    /// Consecutive commands that found the table over its limit.
    over_limit_rounds: u32,
    /// Prefixes with keys waiting for the next broadcast.
    bcast_pending: bool,
}

impl Tracking {
    pub fn total_keys(&self) -> usize {
        self.table.len()
    }
    pub fn total_items(&self) -> usize {
        self.items
    }
    pub fn total_prefixes(&self) -> usize {
        self.prefixes.len()
    }
    /// No message waits for the running command's reply.
    pub fn own_is_empty(&self) -> bool {
        self.own.is_empty()
    }
    /// Whether the keyspace must report modified keys.
    fn active(&self) -> bool {
        self.clients > 0 || !self.table.is_empty() || !self.prefixes.is_empty()
    }
}

fn refresh(st: &mut State) {
    st.store.tracking_on = st.tracking.active();
}

/// Redis's prefix overlap test: one is a prefix of the other.
fn overlaps(a: &[u8], b: &[u8]) -> bool {
    let n = a.len().min(b.len());
    a[..n] == b[..n]
}

/// CLIENT TRACKING ON|OFF [REDIRECT id] [BCAST] [PREFIX p ...] [OPTIN] [OPTOUT] [NOLOOP].
pub fn client_tracking(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut redirect: i64 = 0;
    let (mut bcast, mut optin, mut optout, mut noloop) = (false, false, false, false);
    let mut prefixes: Vec<&[u8]> = Vec::new();
    let mut j = 3;
    while j < args.len() {
        let more = j + 1 < args.len();
        let a = &args[j];
        if eq_ic(a, "REDIRECT") && more {
            j += 1;
            if redirect != 0 {
                return Err(CmdError::msg(
                    "ERR A client can only redirect to a single other client",
                ));
            }
            redirect = parse_i64(&args[j]).ok_or(CmdError::NotInteger)?;
            if redirect <= 0 || !ctx.st.clients.contains_key(&(redirect as u64)) {
                return Err(CmdError::msg(
                    "ERR The client ID you want redirect to does not exist",
                ));
            }
        } else if eq_ic(a, "BCAST") {
            bcast = true;
        } else if eq_ic(a, "OPTIN") {
            optin = true;
        } else if eq_ic(a, "OPTOUT") {
            optout = true;
        } else if eq_ic(a, "NOLOOP") {
            noloop = true;
        } else if eq_ic(a, "PREFIX") && more {
            j += 1;
            prefixes.push(&args[j]);
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let id = ctx.id;
    if eq_ic(&args[2], "ON") {
        if !bcast && !prefixes.is_empty() {
            return Err(CmdError::msg(
                "ERR PREFIX option requires BCAST mode to be enabled",
            ));
        }
        let current = ctx
            .client()
            .tracking
            .as_deref()
            .map(|t| (t.bcast, t.optin, t.optout, t.prefixes.clone()));
        if let Some((was_bcast, _, _, _)) = &current {
            if *was_bcast != bcast {
                return Err(CmdError::msg("ERR You can't switch BCAST mode on/off before disabling tracking for this client, and then re-enabling it with a different mode."));
            }
        }
        if bcast && (optin || optout) {
            return Err(CmdError::msg(
                "ERR OPTIN and OPTOUT are not compatible with BCAST",
            ));
        }
        if optin && optout {
            return Err(CmdError::msg(
                "ERR You can't specify both OPTIN mode and OPTOUT mode",
            ));
        }
        if let Some((_, was_in, was_out, _)) = &current {
            if (optin && *was_out) || (optout && *was_in) {
                return Err(CmdError::msg("ERR You can't switch OPTIN/OPTOUT mode before disabling tracking for this client, and then re-enabling it with a different mode."));
            }
        }
        if bcast {
            let existing = current.map(|c| c.3).unwrap_or_default();
            for (i, p) in prefixes.iter().enumerate() {
                if let Some(e) = existing.iter().find(|e| overlaps(e, p)) {
                    return Err(CmdError::msg(format!(
                        "ERR Prefix '{}' overlaps with an existing prefix '{}'. Prefixes for a single client must not overlap.",
                        tandem_resp::c_str(p),
                        tandem_resp::c_str(e)
                    )));
                }
                if let Some(q) = prefixes[i + 1..].iter().find(|q| overlaps(p, q)) {
                    return Err(CmdError::msg(format!(
                        "ERR Prefix '{}' overlaps with another provided prefix '{}'. Prefixes for a single client must not overlap.",
                        tandem_resp::c_str(p),
                        tandem_resp::c_str(q)
                    )));
                }
            }
        }
        enable(
            ctx.st,
            id,
            redirect as u64,
            [bcast, optin, optout, noloop],
            &prefixes,
        );
    } else if eq_ic(&args[2], "OFF") {
        disable(ctx.st, id);
    } else {
        return Err(CmdError::Syntax);
    }
    ctx.out.ok();
    Ok(())
}

/// Turns tracking on for `id` (Redis's enableTracking): the modes replace the
/// old ones, BCAST prefixes add to the old ones.
fn enable(st: &mut State, id: u64, redirect: u64, modes: [bool; 4], prefixes: &[&[u8]]) {
    let [bcast, optin, optout, noloop] = modes;
    let Some(c) = st.clients.get_mut(&id) else {
        return;
    };
    let t = match &mut c.tracking {
        Some(t) => t,
        None => {
            st.tracking.clients += 1;
            c.tracking.insert(Box::default())
        }
    };
    t.redirect = redirect;
    t.broken = false;
    t.bcast = bcast;
    t.optin = optin;
    t.optout = optout;
    t.noloop = noloop;
    if bcast {
        let all: [&[u8]; 1] = [b""];
        let list = if prefixes.is_empty() {
            &all[..]
        } else {
            prefixes
        };
        for p in list {
            if t.prefixes.insert((*p).into()) {
                st.tracking
                    .prefixes
                    .entry((*p).into())
                    .or_default()
                    .clients
                    .insert(id);
            }
        }
    }
    refresh(st);
}

/// Turns tracking off for `id` (CLIENT TRACKING OFF, disconnect). Keys it
/// read stay in the table until modified, as in Redis; no message goes to a
/// client that no longer tracks.
pub fn disable(st: &mut State, id: u64) {
    let Some(t) = st.clients.get_mut(&id).and_then(|c| c.tracking.take()) else {
        return;
    };
    st.tracking.clients -= 1;
    for p in &t.prefixes {
        if let Some(b) = st.tracking.prefixes.get_mut(p) {
            b.clients.remove(&id);
            if b.clients.is_empty() {
                st.tracking.prefixes.remove(p);
            }
        }
    }
    refresh(st);
}

/// CLIENT CACHING YES|NO.
pub fn client_caching(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(t) = ctx.client().tracking.as_deref_mut() else {
        return Err(CmdError::msg("ERR CLIENT CACHING can be called only when the client is in tracking mode with OPTIN or OPTOUT mode enabled"));
    };
    if eq_ic(&args[2], "YES") {
        if !t.optin {
            return Err(CmdError::msg(
                "ERR CLIENT CACHING YES is only valid when tracking is enabled in OPTIN mode.",
            ));
        }
    } else if eq_ic(&args[2], "NO") {
        if !t.optout {
            return Err(CmdError::msg(
                "ERR CLIENT CACHING NO is only valid when tracking is enabled in OPTOUT mode.",
            ));
        }
    } else {
        return Err(CmdError::Syntax);
    }
    t.caching = true;
    ctx.out.ok();
    Ok(())
}

/// CLIENT GETREDIR: the redirect target, 0 without one, -1 when not tracking.
pub fn client_getredir(ctx: &mut Ctx<'_>) {
    let r = redir(ctx.client().tracking.as_deref());
    ctx.out.int(r);
}

/// CLIENT LIST's `redir=` and GETREDIR.
pub fn redir(t: Option<&ClientTracking>) -> i64 {
    t.map_or(-1, |t| t.redirect as i64)
}

/// CLIENT TRACKINGINFO.
pub fn client_trackinginfo(ctx: &mut Ctx<'_>) {
    let c = ctx.client();
    let t = c.tracking.as_deref();
    let mut fl: Vec<&str> = vec![if t.is_some() { "on" } else { "off" }];
    if let Some(t) = t {
        if t.bcast {
            fl.push("bcast");
        }
        if t.optin {
            fl.push("optin");
            if t.caching {
                fl.push("caching-yes");
            }
        }
        if t.optout {
            fl.push("optout");
            if t.caching {
                fl.push("caching-no");
            }
        }
        if t.noloop {
            fl.push("noloop");
        }
        if t.broken {
            fl.push("broken_redirect");
        }
    }
    let r = redir(t);
    let prefixes: Vec<Box<[u8]>> = t
        .map(|t| t.prefixes.iter().cloned().collect())
        .unwrap_or_default();
    let out = &mut *ctx.out;
    out.map(3);
    out.bulk(b"flags");
    out.set(fl.len());
    for f in fl {
        out.bulk(f.as_bytes());
    }
    out.bulk(b"redirect");
    out.int(r);
    out.bulk(b"prefixes");
    out.array(prefixes.len());
    for p in &prefixes {
        out.bulk(p);
    }
}

/// After a command ran (also each command of a transaction): turns the keys
/// it modified into invalidations, and remembers the keys a tracking client
/// read. Called only while [`Store::tracking_on`](tandem_store::Store).
#[cold]
#[inline(never)]
pub fn after_call(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, args: &[Bytes]) {
    let id = ctx.id;
    process_modified(ctx.st, id);
    let spec = spec.resolve(args);
    if spec.has(flags::READONLY) && !spec.has(flags::PUBSUB) {
        remember(ctx.st, id, spec, args);
    }
}

/// Invalidations for the keys the keyspace reported modified, and for a flush.
/// `current`: the client whose command is running (0: none), whose own
/// messages wait for its reply.
pub fn process_modified(st: &mut State, current: u64) {
    if !st.store.invalidated.is_empty() {
        let keys = std::mem::take(&mut st.store.invalidated);
        for k in &keys {
            invalidate_key(st, k, current, true);
        }
        let mut keys = keys;
        keys.clear();
        if st.store.invalidated.is_empty() {
            // Keep the buffer for the next command.
            st.store.invalidated = keys;
        }
    }
    if std::mem::take(&mut st.store.flushed) {
        on_flush(st, current);
    }
}

/// Remembers the keys of a read-only command for its client, unless OPTIN
/// without CACHING yes, or OPTOUT with CACHING no.
fn remember(st: &mut State, id: u64, spec: &CommandSpec, args: &[Bytes]) {
    let Some(t) = st.clients.get(&id).and_then(|c| c.tracking.as_deref()) else {
        return;
    };
    if t.bcast || (t.optin && !t.caching) || (t.optout && t.caching) {
        return;
    }
    for pos in spec.get_keys(args) {
        let Some(k) = args.get(pos) else { continue };
        let ids = match st.tracking.table.get_mut(&k[..]) {
            Some(ids) => ids,
            None => st.tracking.table.entry(k[..].into()).or_default(),
        };
        if let Err(at) = ids.binary_search(&id) {
            ids.insert(at, id);
            st.tracking.items += 1;
        }
    }
    refresh(st);
}

/// Redis's trackingInvalidateKey: the key's clients get a message and the key
/// is forgotten; with `bcast`, it is also noted for the prefixes it falls under.
fn invalidate_key(st: &mut State, key: &[u8], current: u64, bcast: bool) {
    if bcast && !st.tracking.prefixes.is_empty() {
        for (p, b) in st.tracking.prefixes.iter_mut() {
            if key.starts_with(p) {
                b.keys.insert(key.into(), current);
                st.tracking.bcast_pending = true;
            }
        }
    }
    let Some(ids) = st.tracking.table.remove(key) else {
        return;
    };
    st.tracking.items -= ids.len();
    for id in ids {
        let Some(t) = st.clients.get(&id).and_then(|c| c.tracking.as_deref()) else {
            continue;
        };
        if t.bcast || (t.noloop && id == current) {
            continue;
        }
        if id == current {
            st.tracking.own.push(Some(key.into()));
        } else {
            send(st, id, &Payload::Keys(&[key]), None);
        }
    }
    refresh(st);
}

/// FLUSHDB/FLUSHALL or a full sync: a null invalidation to every tracking
/// client, and the table starts over.
fn on_flush(st: &mut State, current: u64) {
    let ids: Vec<u64> = st
        .clients
        .values()
        .filter(|c| c.tracking.is_some())
        .map(|c| c.id)
        .collect();
    for id in ids {
        if id == current {
            st.tracking.own.push(None);
        } else {
            send(st, id, &Payload::Null, None);
        }
    }
    st.tracking.table = Default::default();
    st.tracking.items = 0;
    refresh(st);
}

/// Sends what waits for the reply of client `id`'s command, after it (the end
/// of a top-level command; after EXEC for a transaction).
#[cold]
#[inline(never)]
pub fn flush_own(st: &mut State, id: u64, out: &mut ReplyBuf) {
    for m in std::mem::take(&mut st.tracking.own) {
        match m {
            Some(k) => send(st, id, &Payload::Keys(&[&k[..]]), Some(&mut *out)),
            None => send(st, id, &Payload::Null, Some(&mut *out)),
        }
    }
}

/// Sends the keys gathered under each BCAST prefix (Redis does it before the
/// event loop sleeps; here at the end of a batch of requests, and of a cron
/// turn). `current`'s messages go into `out` when given.
#[inline]
pub fn broadcast(st: &mut State, current: u64, out: Option<&mut ReplyBuf>) {
    if st.tracking.bcast_pending {
        broadcast_pending(st, current, out);
    }
}

#[cold]
#[inline(never)]
fn broadcast_pending(st: &mut State, current: u64, mut out: Option<&mut ReplyBuf>) {
    st.tracking.bcast_pending = false;
    let mut sends: Vec<(u64, Vec<Box<[u8]>>)> = Vec::new();
    for b in st.tracking.prefixes.values_mut() {
        if b.keys.is_empty() {
            continue;
        }
        let keys = std::mem::take(&mut b.keys);
        for &cid in &b.clients {
            let noloop = st
                .clients
                .get(&cid)
                .and_then(|c| c.tracking.as_deref())
                .is_some_and(|t| t.noloop);
            let list: Vec<Box<[u8]>> = keys
                .iter()
                .filter(|(_, &by)| !(noloop && by == cid))
                .map(|(k, _)| k.clone())
                .collect();
            if !list.is_empty() {
                sends.push((cid, list));
            }
        }
    }
    for (cid, list) in sends {
        let keys: Vec<&[u8]> = list.iter().map(|k| &k[..]).collect();
        let to_self = if cid == current {
            out.as_deref_mut()
        } else {
            None
        };
        send(st, cid, &Payload::Keys(&keys), to_self);
    }
}

/// Before a command (Redis's trackingLimitUsedSlots): over
/// `tracking-table-max-keys`, invalidates keys until under it, with an effort
/// that grows while the table stays over.
#[cold]
#[inline(never)]
pub fn limit(st: &mut State, current: u64) {
    let max = st.eff.tracking_max_keys;
    if max == 0 || st.tracking.table.len() <= max {
        st.tracking.over_limit_rounds = 0;
        return;
    }
    let mut effort = 100 * (st.tracking.over_limit_rounds as usize + 1);
    while effort > 0 {
        effort -= 1;
        let Some(k) = st.tracking.table.keys().next().cloned() else {
            break;
        };
        invalidate_key(st, &k, current, false);
        if st.tracking.table.len() <= max {
            st.tracking.over_limit_rounds = 0;
            return;
        }
    }
    st.tracking.over_limit_rounds += 1;
}

/// Redis's sendTrackingMessage: applies the tracker's redirection and writes
/// the message in the receiver's protocol. `own`: the reply buffer of the
/// client running the command, used when it is the receiver.
fn send(st: &mut State, tracker: u64, payload: &Payload<'_>, own: Option<&mut ReplyBuf>) {
    let Some((tracker_proto, redirect)) = st
        .clients
        .get(&tracker)
        .and_then(|c| Some((c.proto, c.tracking.as_deref()?.redirect)))
    else {
        return;
    };
    let mut receiver = tracker;
    if redirect != 0 {
        if !st.clients.contains_key(&redirect) {
            if let Some(t) = st
                .clients
                .get_mut(&tracker)
                .and_then(|c| c.tracking.as_deref_mut())
            {
                t.broken = true;
            }
            if tracker_proto == Proto::Resp3 {
                let mut m = ReplyBuf::small(Proto::Resp3);
                m.push(2);
                m.bulk(b"tracking-redir-broken");
                m.int(redirect as i64);
                deliver(st, tracker, m, own);
            }
            return;
        }
        receiver = redirect;
    }
    let Some(r) = st.clients.get(&receiver) else {
        return;
    };
    let mut m = ReplyBuf::small(r.proto);
    if r.proto == Proto::Resp3 {
        m.push(2);
        m.bulk(b"invalidate");
    } else if receiver != tracker && r.subscribed() {
        m.array(3);
        m.bulk(b"message");
        m.bulk(b"__redis__:invalidate");
    } else {
        // RESP2 without a redirect to a subscriber: nowhere to say it.
        return;
    }
    match payload {
        Payload::Keys(keys) => {
            m.array(keys.len());
            for k in keys.iter() {
                m.bulk(k);
            }
        }
        // The null of the tracking client's protocol, as Redis.
        Payload::Null => m.raw(match tracker_proto {
            Proto::Resp3 => b"_\r\n",
            Proto::Resp2 => b"$-1\r\n",
        }),
    }
    deliver(
        st,
        receiver,
        m,
        if receiver == tracker { own } else { None },
    );
}

fn deliver(st: &mut State, to: u64, m: ReplyBuf, own: Option<&mut ReplyBuf>) {
    match own {
        Some(out) => out.raw(m.as_bytes()),
        None => {
            let mut m = m;
            st.send_to(to, m.take().freeze());
        }
    }
}
