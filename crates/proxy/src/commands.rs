//! What the proxy does with each request: answer it itself (PING, ECHO, AUTH
//! and HELLO (see `client_login.rs`), QUIT, RESET, INFO, COMMAND, SELECT 0, CLIENT SETNAME/GETNAME/ID/REPLY), refuse it
//! (commands that make no sense through a proxy), or forward it, flagged from the
//! command table: SAFE to replay after an unknown outcome, READ (may go to a
//! replica), PIN (needs the client's dedicated backend connection), TX (part of a
//! transaction).

use bytes::Bytes;
use tandem_commands::CommandSpec;
use tandem_resp::{Proto, ReplyBuf};

use crate::client::{
    Client, Kind, ReplyMode, Slot, DISCARD, EXEC_ABORTED, NOREPLY, PIN, RAW, READ, SAFE, TX,
    TX_ABORTED,
};
use crate::info::InfoAsk;
use crate::metrics::Metrics;

/// Commands refused through the proxy (full names, as the command table has them).
pub(crate) const UNSUPPORTED: &[&str] = &[
    "replicaof",
    "slaveof",
    "debug",
    "shutdown",
    "monitor",
    "sync",
    "psync",
    "replconf",
    "failover",
    "client|pause",
    "client|unpause",
    "client|unblock",
    "client|no-evict",
    "config|set",
    "config|rewrite",
    "config|resetstat",
    "tandem",
    "tandem|epoch",
    "tandem|fence",
    "tandem|help",
    "tandem|link",
    "tandem|linkpos",
    "tandem|role",
];

/// Commands `request` handles itself (answered, tracked or refused): any other
/// known command is "plain", forwarded with flags from the table alone.
const SPECIAL: &[&str] = &[
    "auth",
    "hello",
    "quit",
    "reset",
    "ping",
    "echo",
    "info",
    "select",
    // The container: an unknown CLIENT subcommand.
    "client",
    "client|setname",
    "client|getname",
    "client|id",
    "client|reply",
    "client|list",
    "client|info",
    "client|kill",
    "multi",
    "exec",
    "discard",
    "watch",
    "unwatch",
    "subscribe",
    "psubscribe",
    "ssubscribe",
    "unsubscribe",
    "punsubscribe",
    "sunsubscribe",
];

/// Whether `spec` is plain (see [`SPECIAL`]): one table look-up per request
/// instead of comparing its name with every special one.
fn plain(spec: &CommandSpec) -> bool {
    static PLAIN: std::sync::OnceLock<Vec<bool>> = std::sync::OnceLock::new();
    // `all_with_subcommands` is in id order and ids are dense.
    let table = PLAIN.get_or_init(|| {
        tandem_commands::all_with_subcommands()
            .map(|s| {
                let f = s.full_name;
                !SPECIAL.contains(&f)
                    && !UNSUPPORTED.contains(&f)
                    && !is_command_cmd(f)
                    && !f.starts_with("client|tracking")
            })
            .collect::<Vec<bool>>()
    });
    table
        .get(tandem_commands::index(spec))
        .copied()
        .unwrap_or(false)
}

const NOAUTH: &str = "NOAUTH Authentication required.";

/// CLIENT TRACKING commands kept per client for a failover's replay (a client
/// re-enabling tracking without end keeps its first ones).
const MAX_TRACKING_CMDS: usize = 64;
pub(crate) const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

pub(crate) fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

pub(crate) fn parse_i64(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

/// Whether the command may park its connection: the table's BLOCKING flag,
/// except XREAD/XREADGROUP without BLOCK, which answer at once.
fn blocks(spec: &CommandSpec, args: &[&[u8]]) -> bool {
    spec.is_blocking() && (!is_xread(spec) || args.iter().any(|a| eq(a, "BLOCK")))
}

/// XREAD/XREADGROUP: BLOCKING (hence STATEFUL) in the table, but only when
/// called with BLOCK.
fn is_xread(spec: &CommandSpec) -> bool {
    matches!(spec.full_name, "xread" | "xreadgroup")
}

/// Whether the command needs the client's own connection to the node.
fn stateful(spec: &CommandSpec, args: &[&[u8]]) -> bool {
    blocks(spec, args) || (spec.is_stateful() && !is_xread(spec))
}

/// Whether replaying `args` after an unknown outcome is harmless.
fn replay_safe(spec: &CommandSpec, args: &[&[u8]]) -> bool {
    if stateful(spec, args) {
        return false;
    }
    if spec.is_readonly() {
        return true;
    }
    // SORT without STORE only reads (the table flags it a write for STORE).
    if spec.full_name == "sort" && !args[2..].iter().any(|a| eq(a, "STORE")) {
        return true;
    }
    if !spec.is_idempotent() {
        return false;
    }
    match spec.full_name {
        // SET ... GET replies the old value; NX replies nil on the replay.
        "set" => !args[3..].iter().any(|a| eq(a, "GET") || eq(a, "NX")),
        "zadd" => !args[2..].iter().any(|a| eq(a, "INCR")),
        _ => true,
    }
}

impl Client {
    fn discard_next(&mut self) -> bool {
        match self.s.reply {
            ReplyMode::On => false,
            ReplyMode::Off => true,
            ReplyMode::Skip => {
                self.s.reply = ReplyMode::On;
                true
            }
        }
    }

    pub(crate) fn proto(&self) -> Proto {
        if self.s.resp3 {
            Proto::Resp3
        } else {
            Proto::Resp2
        }
    }

    /// Forwards a request the proxy made up (not the client's own bytes).
    pub(crate) fn forward_words(&mut self, words: &[&[u8]], flags: u8, kind: Kind) {
        let mut data = Vec::new();
        tandem_resp::encode_request(words, &mut data);
        self.forward(Bytes::from(data), flags, kind);
    }

    fn local(&mut self, out: ReplyBuf, discard: bool) {
        Metrics::inc(&self.r.metrics.commands_local);
        let mut out = out;
        let b = out.take().freeze();
        self.ready(b, discard);
    }

    /// Handles one request (called in arrival order).
    pub(crate) fn request(&mut self, args: &[&[u8]]) {
        self.n_commands += 1;
        let spec = tandem_commands::lookup_args(args);
        self.last_cmd = spec.map_or("NULL", |s| s.full_name);
        let discard = self.discard_next();
        if let Some(spec) = spec {
            if plain(spec)
                && self.s.authed
                && !self.raw
                && !self.s.subscribed
                && !self.s.tx_broken
                && spec.arity_ok(args.len())
            {
                return self.forward_plain(spec, args, discard);
            }
        }
        let full = spec.map(|s| s.full_name).unwrap_or("");
        if full == "client" && args.len() > 1 {
            // CLIENT is the proxy's to answer (a connection's state lives here):
            // a newer subcommand (SETINFO, which clients send on connect) is
            // refused at once as the table's Redis does, not sent to a master
            // that may be failing over.
            if self.s.in_multi {
                self.s.multi_dirty = true;
            }
            let sub = String::from_utf8_lossy(&args[1][..args[1].len().min(128)]).into_owned();
            return self.error(
                &format!("ERR unknown subcommand '{sub}'. Try CLIENT HELP."),
                discard,
            );
        }
        if !self.s.authed && !matches!(full, "auth" | "hello" | "quit" | "reset") {
            self.error(NOAUTH, discard);
            return;
        }
        if self.raw || (self.s.subscribed && !self.s.resp3) {
            return self.request_pubsub(args, full, discard);
        }
        if self.s.tx_broken {
            let msg: &[u8] = match full {
                "exec" if self.s.tx_broken_watch => b"*-1\r\n",
                "exec" => {
                    self.end_broken_tx();
                    return self.error(EXEC_ABORTED, discard);
                }
                "discard" => b"+OK\r\n",
                "quit" | "reset" => b"",
                _ => return self.error(TX_ABORTED, discard),
            };
            if !msg.is_empty() {
                self.end_broken_tx();
                return self.ready(Bytes::from_static(msg), discard);
            }
        }
        let Some(spec) = spec else {
            // Unknown to the table (a newer Redis's command): forward it as a
            // non-replayable write.
            let pin = if self.s.needs_pin() { PIN } else { 0 };
            return self.fwd(pin | self.tx_flag(), Kind::Other, discard);
        };
        if !spec.arity_ok(args.len()) {
            if self.s.in_multi {
                self.s.multi_dirty = true;
            }
            let n = if spec.is_container() && args.len() < 2 {
                spec.name
            } else {
                spec.full_name
            };
            return self.error(
                &format!("ERR wrong number of arguments for '{n}' command"),
                discard,
            );
        }
        if UNSUPPORTED.contains(&full) {
            Metrics::inc(&self.r.metrics.commands_refused);
            if self.s.in_multi {
                self.s.multi_dirty = true;
            }
            let shown = full.replace('|', " ");
            return self.error(
                &format!("ERR command '{shown}' is not supported through the Tandem proxy"),
                discard,
            );
        }
        let in_multi = self.s.in_multi;
        match full {
            "auth" => self.auth(args, discard),
            "hello" => self.hello(args, discard),
            "quit" => {
                self.ready(Bytes::from_static(b"+OK\r\n"), discard);
                self.closing = true;
            }
            "reset" => self.reset(),
            "ping" | "echo" | "info" if in_multi => self.fwd(PIN | TX, Kind::Other, discard),
            f if in_multi && is_command_cmd(f) => self.fwd(PIN | TX, Kind::Other, discard),
            f if is_command_cmd(f) => {
                let mut o = ReplyBuf::new(self.proto());
                // The proxy lists what it serves: not the commands it refuses.
                let serves = |s: &tandem_commands::CommandSpec| !UNSUPPORTED.contains(&s.full_name);
                // Rare: the table's answer takes owned arguments.
                let owned: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
                match tandem_commands::command_reply::reply(&owned, &mut o, &serves) {
                    Ok(()) => self.local(o, discard),
                    Err(e) => {
                        Metrics::inc(&self.r.metrics.commands_local);
                        self.error(&e, discard);
                    }
                }
            }
            // Keeps PONG in order with the pushes of a subscribed RESP3 client.
            "ping" | "echo" if self.s.needs_pin() => self.fwd(PIN, Kind::Other, discard),
            "ping" => {
                let mut o = ReplyBuf::small(self.proto());
                match args.get(1) {
                    Some(m) => o.bulk(m),
                    None => o.simple("PONG"),
                }
                self.local(o, discard);
            }
            "echo" => {
                let mut o = ReplyBuf::small(self.proto());
                o.bulk(args[1]);
                self.local(o, discard);
            }
            "info" => self.info(args, discard),
            "select" => self.select(args, discard),
            "client|setname" | "client|getname" | "client|id" | "client|reply" | "client|list"
            | "client|info" | "client|kill" => self.client_cmd(full, args, discard),
            "multi" => {
                if in_multi {
                    return self.error("ERR MULTI calls can not be nested", discard);
                }
                self.s.in_multi = true;
                self.s.multi_dirty = false;
                self.fwd(PIN | TX, Kind::Multi, discard);
            }
            "exec" | "discard" => {
                if !in_multi {
                    let n = full.to_ascii_uppercase();
                    return self.error(&format!("ERR {n} without MULTI"), discard);
                }
                let dirty = self.s.multi_dirty && full == "exec";
                self.s.in_multi = false;
                self.s.multi_dirty = false;
                self.s.watching = false;
                if dirty {
                    let flags = PIN | TX | self.discard_flag(discard);
                    self.forward_words(&[b"DISCARD"], flags, Kind::ExecAbort);
                } else {
                    let kind = if full == "exec" {
                        Kind::Exec
                    } else {
                        Kind::Discard
                    };
                    self.fwd(PIN | TX, kind, discard);
                }
            }
            "watch" => {
                if in_multi {
                    return self.error("ERR WATCH inside MULTI is not allowed", discard);
                }
                self.s.watching = true;
                self.fwd(PIN | TX, Kind::Watch, discard);
            }
            "unwatch" => {
                if !self.s.watching && !self.s.needs_pin() {
                    return self.ready(Bytes::from_static(b"+OK\r\n"), discard);
                }
                if !in_multi {
                    self.s.watching = false;
                }
                self.fwd(PIN | self.tx_flag(), Kind::Unwatch, discard);
            }
            "subscribe" | "psubscribe" | "ssubscribe" | "unsubscribe" | "punsubscribe"
            | "sunsubscribe" => {
                if in_multi {
                    return self.fwd(PIN | TX, Kind::Other, discard);
                }
                self.s.subscribed = true;
                self.track_subs(full, args);
                let mode = if self.s.resp3 { NOREPLY } else { RAW };
                self.fwd(PIN | mode, Kind::Other, discard);
            }
            _ => self.forward_plain(spec, args, discard),
        }
    }

    /// Forwards a known command `request` has nothing special to do for, with
    /// the flags the table and the session give it.
    fn forward_plain(&mut self, spec: &CommandSpec, args: &[&[u8]], discard: bool) {
        let in_multi = self.s.in_multi;
        let mut flags = self.tx_flag();
        let blocking = blocks(spec, args);
        if stateful(spec, args) || self.s.needs_pin() {
            flags |= PIN;
        }
        if blocking {
            // Worker loops (BRPOP, process, BRPOP...) keep their
            // connection instead of opening one per call.
            self.linger_pin = true;
        }
        if spec.full_name.starts_with("client|tracking") {
            self.s.tracking = true;
            flags |= PIN;
        }
        if spec.full_name == "client|tracking" {
            if args.get(2).is_some_and(|a| a.eq_ignore_ascii_case(b"off")) {
                self.s.tracking_cmds.clear();
            } else if self.s.tracking_cmds.len() < MAX_TRACKING_CMDS {
                self.s
                    .tracking_cmds
                    .push(args.iter().map(|a| Bytes::copy_from_slice(a)).collect());
            }
        }
        if !in_multi && replay_safe(spec, args) {
            flags |= SAFE;
        }
        if !in_multi && spec.is_readonly() && !blocking {
            flags |= READ;
        }
        let kind = if blocking && !in_multi {
            Kind::Blocking
        } else {
            Kind::Other
        };
        self.fwd(flags, kind, discard);
    }

    /// INFO: the proxy's sections, with the master's spliced in (`info`).
    fn info(&mut self, args: &[&[u8]], discard: bool) {
        let ask = InfoAsk::parse(args.get(1..).unwrap_or(&[]));
        let master_up = self.route.master.as_ref().is_some_and(|m| m.usable());
        match ask.master_request().filter(|_| master_up) {
            Some(words) => {
                let pin = if self.s.needs_pin() { PIN } else { 0 };
                let words: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
                self.forward_words(&words, pin | SAFE | self.discard_flag(discard), Kind::Info);
                if let Some(Slot::Unsent(q)) = self.slots.back_mut() {
                    if q.kind == Kind::Info {
                        q.rare().info = Some(Box::new(ask));
                    }
                }
            }
            None => {
                Metrics::inc(&self.r.metrics.commands_local);
                let reply = self.info_reply(&ask, None);
                self.ready(reply, discard);
            }
        }
    }

    /// The INFO reply for `ask`, given the master's reply to its part.
    pub(crate) fn info_reply(&self, ask: &InfoAsk, master: Option<&[u8]>) -> Bytes {
        let text = ask.render(&self.r, master.and_then(crate::info::reply_text));
        let mut o = ReplyBuf::small(self.proto());
        o.verbatim(text.as_bytes());
        o.take().freeze()
    }

    fn tx_flag(&self) -> u8 {
        if self.s.in_multi {
            TX
        } else {
            0
        }
    }

    pub(crate) fn discard_flag(&self, discard: bool) -> u8 {
        if discard {
            DISCARD
        } else {
            0
        }
    }

    /// Forwards the request as the client sent it (its frame, which the
    /// caller of `request` hands to `forward`).
    fn fwd(&mut self, flags: u8, kind: Kind, discard: bool) {
        self.fwd_this = Some((flags | self.discard_flag(discard), kind));
    }

    /// Keeps the subscription sets in step with what the client asked for.
    fn track_subs(&mut self, full: &str, args: &[&[u8]]) {
        let (i, add) = match full {
            "subscribe" => (0, true),
            "psubscribe" => (1, true),
            "ssubscribe" => (2, true),
            "unsubscribe" => (0, false),
            "punsubscribe" => (1, false),
            "sunsubscribe" => (2, false),
            _ => return,
        };
        let set = &mut self.s.subs[i];
        if add {
            set.extend(args[1..].iter().map(|a| Bytes::copy_from_slice(a)));
        } else if args.len() == 1 {
            set.clear();
        } else {
            for a in &args[1..] {
                set.remove(*a);
            }
        }
    }

    fn end_broken_tx(&mut self) {
        self.s.tx_broken = false;
        self.s.tx_broken_watch = false;
    }

    /// RESP2 pub/sub mode: everything goes to the dedicated link, whose replies
    /// are forwarded as they come; only QUIT, RESET and refusals are local (and
    /// written at once).
    fn request_pubsub(&mut self, args: &[&[u8]], full: &str, discard: bool) {
        match full {
            "quit" => {
                self.ready(Bytes::from_static(b"+OK\r\n"), discard);
                self.closing = true;
            }
            "reset" => self.reset(),
            f if UNSUPPORTED.contains(&f) => {
                let shown = f.replace('|', " ");
                self.error(
                    &format!("ERR command '{shown}' is not supported through the Tandem proxy"),
                    discard,
                );
            }
            _ => {
                self.track_subs(full, args);
                self.fwd(PIN, Kind::Other, discard)
            }
        }
    }

    fn reset(&mut self) {
        let needs_auth = self.r.cfg.requirepass.is_some();
        self.s = crate::client::Session {
            authed: !needs_auth,
            ..Default::default()
        };
        if needs_auth {
            self.parser.set_auth_required(true);
        }
        self.pin_gen = self.pin_gen.wrapping_add(1);
        self.linger_pin = false;
        self.drop_pin_if_idle();
        self.ready(Bytes::from_static(b"+RESET\r\n"), false);
    }

    fn select(&mut self, args: &[&[u8]], discard: bool) {
        let Some(db) = parse_i64(args[1]) else {
            return self.error("ERR value is not an integer or out of range", discard);
        };
        if i32::try_from(db).is_err() {
            // Redis's getIntFromObjectOrReply, before the database is looked at.
            return self.error(
                "ERR value is out of range, value must between -2147483648 and 2147483647",
                discard,
            );
        }
        if db < 0 {
            return self.error("ERR DB index is out of range", discard);
        }
        if self.s.in_multi {
            return self.fwd(PIN | TX, Kind::Select(db as i32), discard);
        }
        let pinned_before = self.s.needs_pin();
        self.s.db = db;
        if !pinned_before && !self.s.needs_pin() {
            Metrics::inc(&self.r.metrics.commands_local);
            return self.ready(Bytes::from_static(b"+OK\r\n"), discard);
        }
        self.fwd(PIN | SAFE, Kind::Select(db as i32), discard);
    }

    fn client_cmd(&mut self, full: &str, args: &[&[u8]], discard: bool) {
        let mut o = ReplyBuf::small(self.proto());
        match full {
            "client|setname" => {
                if !name_ok(args[2]) {
                    return self.error(
                        "ERR Client names cannot contain spaces, newlines or special characters.",
                        discard,
                    );
                }
                self.s.name = (!args[2].is_empty()).then(|| Bytes::copy_from_slice(args[2]));
                o.ok();
            }
            "client|getname" => match &self.s.name {
                Some(n) => o.bulk(n),
                None => o.null(),
            },
            "client|id" => o.int(self.sh.id as i64),
            "client|info" => {
                self.refresh_view();
                let mut line = crate::client_list::line(&self.sh, self.now);
                line.push('\n');
                o.verbatim(line.as_bytes());
            }
            "client|list" => {
                self.refresh_view();
                match crate::client_list::list(&self.r.clients, args) {
                    Ok(text) => o.verbatim(text.as_bytes()),
                    Err(e) => return self.error(&e, discard),
                }
            }
            "client|kill" => match crate::client_list::kill(&self.r.clients, self.sh.id, args) {
                Ok(k) => {
                    if k.me {
                        // Closed once this reply is written, as Redis does.
                        self.closing = true;
                    }
                    if k.old_form {
                        o.ok();
                    } else {
                        o.int(k.count as i64);
                    }
                }
                Err(e) => return self.error(&e, discard),
            },
            _ => {
                // CLIENT REPLY ON|OFF|SKIP: the proxy drops the replies itself.
                let a = &args[2];
                if eq(a, "ON") {
                    self.s.reply = ReplyMode::On;
                    o.ok();
                    // ON is answered even when the mode was OFF or SKIP.
                    return self.local(o, false);
                } else if eq(a, "OFF") {
                    self.s.reply = ReplyMode::Off;
                    return;
                } else if eq(a, "SKIP") {
                    self.s.reply = ReplyMode::Skip;
                    return;
                } else {
                    return self.error("ERR syntax error", discard);
                }
            }
        }
        self.local(o, discard);
    }
}

/// COMMAND and its subcommands (answered from the table: `tandem_commands::command_reply`).
fn is_command_cmd(full: &str) -> bool {
    full == "command" || full.starts_with("command|")
}

/// Redis's client-name rule: printable ASCII without spaces.
pub(crate) fn name_ok(n: &[u8]) -> bool {
    n.iter().all(|&c| (b'!'..=b'~').contains(&c))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn safe(words: &[&str]) -> bool {
        let a: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
        let spec = tandem_commands::lookup_args(&a).expect("known command");
        replay_safe(spec, &a)
    }

    #[test]
    fn replay_safety_follows_the_table_and_the_arguments() {
        assert!(safe(&["GET", "k"]));
        assert!(safe(&["SET", "k", "v"]));
        assert!(safe(&["SET", "k", "v", "EX", "10"]));
        assert!(!safe(&["SET", "k", "v", "GET"]));
        assert!(!safe(&["SET", "k", "v", "nx"]));
        assert!(safe(&["DEL", "a", "b"]));
        assert!(safe(&["HSET", "h", "f", "v"]));
        assert!(safe(&["SADD", "s", "m"]));
        assert!(!safe(&["INCR", "k"]));
        assert!(!safe(&["LPUSH", "l", "x"]));
        assert!(!safe(&["BLPOP", "l", "0"]));
        assert!(safe(&["ZADD", "z", "1", "m"]));
        assert!(!safe(&["ZADD", "z", "INCR", "1", "m"]));
        assert!(!safe(&["PUBLISH", "c", "m"]));
        assert!(safe(&["SORT", "l", "BY", "w_*", "GET", "#"]));
        assert!(!safe(&["SORT", "l", "store", "d"]));
        assert!(safe(&["SORT_RO", "l"]));
    }

    #[test]
    fn plain_commands_are_those_request_has_no_case_for() {
        let is_plain = |words: &[&str]| {
            let a: Vec<&[u8]> = words.iter().map(|w| w.as_bytes()).collect();
            plain(tandem_commands::lookup_args(&a).expect("known command"))
        };
        for w in [
            &["GET"][..],
            &["set"],
            &["BLPOP"],
            &["client", "help"],
            &["config", "get"],
        ] {
            assert!(is_plain(w), "{w:?}");
        }
        for w in [
            &["SELECT"][..],
            &["multi"],
            &["client", "kill"],
            &["client", "list"],
            &["client", "info"],
            &["client", "setinfo"],
            &["client", "setname"],
            &["client", "tracking"],
            &["command", "docs"],
            &["command"],
            &["subscribe"],
            &["debug"],
        ] {
            assert!(!is_plain(w), "{w:?}");
        }
    }

    #[test]
    fn client_names_follow_redis_rules() {
        assert!(name_ok(b"worker-1"));
        assert!(!name_ok(b"has space"));
        assert!(!name_ok(b"new\nline"));
    }
}
