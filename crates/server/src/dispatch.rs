//! Dispatch: name → spec and implementation, Redis's checks in Redis's order
//! (unknown command, arity, NOAUTH, subscribed context, MULTI queueing, OOM), the
//! call itself, stats, and propagation of writes to the write stream.

use std::collections::HashMap;
use std::time::Instant;

use bytes::Bytes;
use tandem_commands::{flags, CommandSpec};
use tandem_resp::{Proto, ReplyBuf};
use tandem_store::{CmdError, CmdResult, Exec, Handler};
use tokio::sync::oneshot;

use crate::state::{Client, ReplyMode, Shared, State};

/// A server-level command: it sees the whole state and the calling client.
pub type ServerHandler = fn(&mut Ctx<'_>, &[Bytes]) -> CmdResult;

#[derive(Clone, Copy)]
pub enum Imp {
    Store(Handler),
    Server(ServerHandler),
}

pub struct Entry {
    pub spec: &'static CommandSpec,
    pub imp: Imp,
    pub name: &'static str,
}

/// Every executable command, built once at start from the store's families, the
/// server's own commands and the command table.
pub struct CommandMap {
    map: HashMap<Box<[u8]>, usize, foldhash::fast::RandomState>,
    pub entries: Vec<Entry>,
}

fn server_commands() -> impl Iterator<Item = (&'static str, ServerHandler)> {
    [
        crate::cmd_server::COMMANDS,
        crate::cmd_client::COMMANDS,
        crate::repl::COMMANDS,
        crate::cmd_config::COMMANDS,
        crate::cmd_info::COMMANDS,
        crate::cmd_multi::COMMANDS,
        crate::cmd_pubsub::COMMANDS,
        crate::monitor::COMMANDS,
        crate::slowlog::COMMANDS,
        crate::latency::COMMANDS,
        crate::cmd_memory::COMMANDS,
        crate::cmd_script::COMMANDS,
        crate::cmd_function::COMMANDS,
        crate::cmd_acl::COMMANDS,
        crate::cmd_migrate::COMMANDS,
        crate::cmd_standalone::COMMANDS,
    ]
    .into_iter()
    .flat_map(|c| c.iter().copied())
    .chain(crate::persist::commands())
}

impl CommandMap {
    pub fn build() -> Self {
        let mut m = CommandMap {
            map: HashMap::default(),
            entries: Vec::new(),
        };
        let all = tandem_store::cmd::all()
            .map(|(n, h)| (n, Imp::Store(h)))
            .chain(server_commands().map(|(n, h)| (n, Imp::Server(h))));
        for (name, imp) in all {
            let Some(spec) = tandem_commands::lookup(name.as_bytes()) else {
                tracing::debug!("command {name} has no spec in the command table; not served");
                continue;
            };
            let key: Box<[u8]> = name.as_bytes().into();
            match m.map.get(&key) {
                // Server-level implementations come last and take precedence.
                Some(&i) => m.entries[i].imp = imp,
                None => {
                    m.map.insert(key, m.entries.len());
                    m.entries.push(Entry { spec, imp, name });
                }
            }
        }
        m
    }

    /// `rename-command`: each command answers to its new name only (an empty
    /// name disables it), as Redis renames its command table. Names were
    /// checked when the configuration was read.
    pub fn rename(&mut self, renames: &[(String, String)]) {
        for (old, new) in renames {
            let Some(i) = self.map.remove(old.as_bytes()) else {
                continue;
            };
            if !new.is_empty() {
                self.map.insert(new.as_bytes().into(), i);
            }
        }
    }

    /// Adds a command (tests register fake commands with it).
    #[cfg(test)]
    pub fn insert(&mut self, spec: &'static CommandSpec, imp: Imp) {
        self.map
            .insert(spec.name.as_bytes().into(), self.entries.len());
        self.entries.push(Entry {
            spec,
            imp,
            name: spec.name,
        });
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    /// Case-insensitive lookup without allocating for ordinary names.
    pub fn get(&self, name: &[u8]) -> Option<(usize, &Entry)> {
        let mut buf = [0u8; 32];
        let i = if name.len() <= buf.len() {
            let b = &mut buf[..name.len()];
            b.copy_from_slice(name);
            b.make_ascii_lowercase();
            *self.map.get(&*b)?
        } else {
            *self.map.get(name.to_ascii_lowercase().as_slice())?
        };
        Some((i, &self.entries[i]))
    }
}

/// Unix time in milliseconds.
pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What the connection task must do after a command.
pub enum Action {
    None,
    /// Write the replies so far, then close (QUIT, SHUTDOWN, kill of self).
    Close,
    /// Wait for a blocked command's reply (or its deadline, Unix ms).
    Block(oneshot::Receiver<Bytes>, Option<i64>),
}

/// A command's context.
pub struct Ctx<'a> {
    pub st: &'a mut State,
    pub shared: &'a Shared,
    pub id: u64,
    pub out: &'a mut ReplyBuf,
    pub now: i64,
    /// When the previous command of the batch ended (or the batch began): a
    /// command's time for INFO commandstats runs from it, so a request costs one
    /// clock read, not two.
    pub clock: Instant,
    /// Running inside EXEC.
    pub in_multi: bool,
    pub action: Action,
}

impl Ctx<'_> {
    /// The calling client. Connection tasks register their client before running
    /// any command and remove it only after the last one, so it is always there.
    pub fn client(&mut self) -> &mut Client {
        self.st
            .clients
            .get_mut(&self.id)
            .expect("the calling client is registered")
    }
}

/// A HELP subcommand's reply: its lines as status replies.
pub fn reply_help(out: &mut ReplyBuf, lines: &[&str]) {
    out.array(lines.len());
    for l in lines {
        out.simple(l);
    }
}

/// Redis's "unknown command" error, argument list cut at ~128 bytes.
pub fn unknown_command(args: &[Bytes]) -> String {
    let mut list = String::new();
    for a in &args[1..] {
        if list.len() >= 128 {
            break;
        }
        let room = 128 - list.len();
        let s = tandem_resp::c_str(&a[..a.len().min(room)]).into_owned();
        list.push_str(&format!("'{s}' "));
    }
    let name = tandem_resp::c_str(&args[0][..args[0].len().min(128)]).into_owned();
    format!("ERR unknown command '{name}', with args beginning with: {list}")
        .replace(['\r', '\n'], " ")
}

fn reject(ctx: &mut Ctx<'_>, msg: &str, idx: Option<usize>) {
    if let Some(c) = ctx.st.clients.get_mut(&ctx.id) {
        if c.multi.is_some() && !ctx.in_multi {
            c.multi_error = true;
        }
    }
    if let Some(i) = idx {
        ctx.st.cmdstats[i].rejected += 1;
    }
    reply_error(ctx, msg);
}

/// Writes an error reply and counts it.
fn reply_error(ctx: &mut Ctx<'_>, msg: &str) {
    count_error(ctx.st, msg);
    ctx.out.error(msg);
}

/// Counts an error reply by its code (INFO errorstats, total_error_replies),
/// as Redis's afterErrorReply: at most 128 distinct codes are kept.
pub fn count_error(st: &mut State, msg: &str) {
    let code = msg.split(' ').next().unwrap_or("ERR");
    let errors = &mut st.stats.errors;
    let room = errors.len() < 128;
    match errors.get_mut(code) {
        Some(n) => *n += 1,
        None if room => {
            errors.insert(code.to_string(), 1);
        }
        None => {}
    }
    st.stats.error_replies += 1;
}

/// The refusal the first write queued in the client's transaction would get
/// now (None: the transaction may run).
fn refuse_exec(ctx: &mut Ctx<'_>) -> Option<String> {
    if !ctx.st.repl.checks {
        return None;
    }
    let shared = ctx.shared;
    let first_write = ctx.client().multi.as_ref()?.iter().find_map(|args| {
        let (_, e) = shared.commands.get(&args[0])?;
        e.spec.has(flags::WRITE).then(|| (e.spec, args.clone()))
    });
    let (spec, args) = first_write?;
    crate::repl::refuse(ctx, spec, &args)
}

/// Runs one request with CLIENT REPLY handling. `cmd`: the command's index in
/// the command map when the caller resolved it already (a pipelined batch
/// does, for its prefetch).
pub fn execute(ctx: &mut Ctx<'_>, args: &[Bytes], cmd: Option<usize>) {
    if args.is_empty() {
        return;
    }
    let Some(mode_before) = ctx.st.clients.get(&ctx.id).map(|c| c.reply_mode) else {
        return;
    };
    let mark = ctx.out.mark();
    dispatch(ctx, args, cmd);
    let Some(c) = ctx.st.clients.get_mut(&ctx.id) else {
        return;
    };
    match (mode_before, c.reply_mode) {
        // CLIENT REPLY ON itself is answered; everything else while OFF is not.
        (ReplyMode::Off, ReplyMode::Off) | (ReplyMode::Skip, _) => ctx.out.rollback(mark),
        _ => {}
    }
    // SKIP applies to the command after CLIENT REPLY SKIP, once.
    c.reply_mode = match c.reply_mode {
        ReplyMode::SkipNext => ReplyMode::Skip,
        ReplyMode::Skip if mode_before == ReplyMode::Skip => ReplyMode::On,
        m => m,
    };
    if let Some(t) = c.tracking.as_deref_mut() {
        // CLIENT CACHING covers the next command, or the next transaction
        // (Redis's resetClient).
        if c.multi.is_none() && !args[0].eq_ignore_ascii_case(b"client") {
            t.caching = false;
        }
    }
    // Invalidations of the client's own reads go after its reply (pushes are
    // sent whatever CLIENT REPLY says, as Redis's CLIENT_PUSHING).
    if !ctx.st.tracking.own_is_empty() {
        crate::tracking::flush_own(ctx.st, ctx.id, ctx.out);
    }
}

/// Commands whose CLIENT LIST `cmd=` shows the subcommand too (`client|list`).
const CONTAINERS: &[&str] = &[
    "client", "config", "command", "pubsub", "debug", "object", "memory",
];
const QUEUE_EXEMPT: &[&str] = &["exec", "discard", "multi", "watch", "quit", "reset"];
const SUBSCRIBED_OK: &[&str] = &[
    "subscribe",
    "ssubscribe",
    "unsubscribe",
    "sunsubscribe",
    "psubscribe",
    "punsubscribe",
    "ping",
    "quit",
    "reset",
];

/// Redis's refusal of DEBUG under `enable-debug-command`.
const DEBUG_NOT_ALLOWED: &str = "ERR DEBUG command not allowed. If the enable-debug-command option is set to \"local\", you can run it from a local connection, otherwise you need to set this option in the configuration file, and then restart the server.";

fn dispatch(ctx: &mut Ctx<'_>, args: &[Bytes], cmd: Option<usize>) {
    let shared = ctx.shared;
    let found = match cmd {
        Some(i) => shared.commands.entries.get(i).map(|e| (i, e)),
        None => shared.commands.get(&args[0]),
    };
    let Some((idx, entry)) = found else {
        return reject(ctx, &unknown_command(args), None);
    };
    if !entry.spec.arity_ok(args.len()) {
        return reject(ctx, &CmdError::arity(&args[0]).text(), Some(idx));
    }
    // A container (CLIENT, CONFIG, OBJECT, ...): the subcommand's own entry
    // and arity decide first, as Redis's processCommand does.
    if !entry.spec.subcommands.is_empty() && args.len() > 1 {
        match entry.spec.subcommand(&args[1]) {
            None => {
                let msg = crate::cmd_client::unknown_sub(&args[1], &entry.name.to_uppercase());
                return reject(ctx, &msg.text(), Some(idx));
            }
            Some(sub) if !sub.arity_ok(args.len()) => {
                let msg = format!(
                    "ERR wrong number of arguments for '{}' command",
                    sub.full_name
                );
                return reject(ctx, &msg, Some(idx));
            }
            Some(_) => {}
        }
    }
    // Protected commands, before authentication (as Redis's processCommand).
    if entry.name == "debug" {
        let addr = ctx.client().addr.clone();
        if !ctx.st.config.allows("enable-debug-command", &addr) {
            return reject(ctx, DEBUG_NOT_ALLOWED, Some(idx));
        }
    }
    if entry.name == "module" && crate::cmd_standalone::module_protected(args) {
        let addr = ctx.client().addr.clone();
        if !ctx.st.config.allows("enable-module-command", &addr) {
            return reject(ctx, crate::cmd_standalone::MODULE_NOT_ALLOWED, Some(idx));
        }
    }
    let needs_auth = ctx.st.acl.auth_required;
    let in_multi = ctx.in_multi;
    let c = ctx.client();
    if CONTAINERS.contains(&entry.name) && args.len() > 1 {
        c.last_cmd = format!(
            "{}|{}",
            entry.name,
            String::from_utf8_lossy(&args[1]).to_lowercase()
        );
    } else if c.last_cmd != entry.name {
        // Reuses the string's buffer: no allocation per command on the hot path.
        c.last_cmd.clear();
        c.last_cmd.push_str(entry.name);
    }
    if needs_auth && !c.authenticated && !entry.spec.has(flags::NO_AUTH) {
        return reject(ctx, "NOAUTH Authentication required.", Some(idx));
    }
    if ctx.st.acl.restricted {
        let queued = ctx.client().multi.is_some();
        let context = if queued || in_multi {
            "multi"
        } else {
            "toplevel"
        };
        if let Err(msg) = crate::cmd_acl::check_command(ctx, entry.spec, args, context) {
            return reject(ctx, &msg, Some(idx));
        }
    }
    let c = ctx.client();
    // Read now: the checks below do not change them (one client lookup less
    // per command).
    let resp2_subscribed = c.proto == Proto::Resp2 && c.subscribed();
    let queuing = c.multi.is_some();
    let monitor = c.monitor;
    if let Some(msg) = crate::repl::refuse(ctx, entry.spec, args) {
        return reject(ctx, &msg, Some(idx));
    }
    if monitor {
        // A monitor is a replica to Redis: no access to the keyspace.
        let spec = entry.spec.resolve(args);
        if spec.has(flags::WRITE) || spec.has(flags::READONLY) || spec.has(flags::MAY_REPLICATE) {
            return reject(
                ctx,
                "ERR Replica can't interact with the keyspace",
                Some(idx),
            );
        }
    }
    if entry.name == "exec" && !in_multi {
        if let Some(msg) = refuse_exec(ctx) {
            // As Redis: an EXEC whose transaction writes is refused when this
            // node may not write now (demoted, fenced, ...), though the writes
            // were queued while it could: the transaction is discarded.
            crate::cmd_multi::discard_transaction(ctx.st, ctx.id);
            let msg = format!("EXECABORT Transaction discarded because of: {msg}");
            return reject(ctx, &msg, Some(idx));
        }
    }
    if resp2_subscribed && !SUBSCRIBED_OK.contains(&entry.name) {
        let msg = format!("ERR Can't execute '{}': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context", entry.name);
        return reject(ctx, &msg, Some(idx));
    }
    if ctx.st.loading.is_some() && denied_while_loading(ctx, entry.spec, args) {
        return reject(ctx, crate::persist::loading::LOADING_ERR, Some(idx));
    }
    if ctx.st.async_loading.is_some() && denied_while_async_loading(ctx, entry.spec, args) {
        return reject(ctx, crate::persist::loading::LOADING_ERR, Some(idx));
    }
    if queuing && !in_multi && !QUEUE_EXEMPT.contains(&entry.name) {
        if entry.spec.has(flags::NO_MULTI) {
            return reject(
                ctx,
                "ERR Command not allowed inside a transaction",
                Some(idx),
            );
        }
        if let Some(q) = ctx.client().multi.as_mut() {
            q.push(args.to_vec());
        }
        ctx.out.simple("QUEUED");
        return;
    }
    call(ctx, idx, args);
}

/// While the node loads at start: a command without Redis's `loading` flag,
/// or an EXEC of such a command, is refused. DEBUG RELOAD/POPULATE too: they
/// would write into the keyspace being loaded. The AOF's own replay runs.
fn denied_while_loading(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, args: &[Bytes]) -> bool {
    if ctx.id == crate::persist::aof::load::LOAD_CLIENT {
        return false;
    }
    let spec = spec.resolve(args);
    if !spec.has(flags::LOADING) {
        return true;
    }
    if spec.name == "debug" {
        return !args.get(1).is_some_and(|s| {
            [&b"help"[..], b"sleep", b"log"]
                .iter()
                .any(|n| s.eq_ignore_ascii_case(n))
        });
    }
    if spec.name == "exec" && !ctx.in_multi {
        return queued_any(ctx, |s| !s.has(flags::LOADING));
    }
    false
}

/// Whether a command queued in the client's transaction matches `pred`.
fn queued_any(ctx: &mut Ctx<'_>, pred: impl Fn(&CommandSpec) -> bool) -> bool {
    let commands = &ctx.shared.commands;
    ctx.client().multi.as_ref().is_some_and(|q| {
        q.iter().any(|a| {
            commands
                .get(&a[0])
                .is_some_and(|(_, e)| pred(e.spec.resolve(a)))
        })
    })
}

/// While a replica loads a full sync beside its old data: Redis's
/// `no-async-loading` commands (SAVE, BGSAVE, BGREWRITEAOF, SYNC, PSYNC),
/// alone or queued for EXEC, are refused: they would save or serve data that
/// is about to be replaced. REPLICAOF is not (Redis refuses it): the
/// monitor's REPLICAOF NO ONE must be able to stop a resync from an emptied
/// master and keep the old data.
fn denied_while_async_loading(
    ctx: &mut Ctx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> bool {
    let denied = |s: &CommandSpec| {
        s.has(flags::NO_ASYNC_LOADING) && !matches!(s.name, "replicaof" | "slaveof")
    };
    let spec = spec.resolve(args);
    if spec.name == "exec" && !ctx.in_multi {
        return queued_any(ctx, denied);
    }
    denied(spec)
}

/// Calls a command that passed every check (also used by EXEC).
pub fn call(ctx: &mut Ctx<'_>, idx: usize, args: &[Bytes]) {
    let entry = &ctx.shared.commands.entries[idx];
    let start = ctx.clock;
    let dirty_before = ctx.st.store.dirty;
    if entry.spec.has(flags::DENYOOM) && ctx.st.store.config.maxmemory > 0 {
        // Evict (or refuse with -OOM) before the write, as Redis's
        // performEvictions; jemalloc's counter is read live so eviction stops as
        // soon as enough memory is freed.
        let mut used = || crate::cron::allocated_bytes().unwrap_or(0);
        let t0 = Instant::now();
        let r = ctx.st.store.evict_for_write(ctx.now, &mut used);
        crate::latency::monitor(ctx.st, "eviction-cycle", t0.elapsed().as_millis() as u64);
        crate::stream::drain(ctx.st);
        if let Err(e) = r {
            reply_error(ctx, &e.text());
            return;
        }
    }
    if ctx.st.tracking.clients > 0 && !ctx.in_multi {
        // As Redis's processCommand: before the command, and the messages to
        // the caller go before its reply.
        crate::tracking::limit(ctx.st, ctx.id);
        if !ctx.st.tracking.own_is_empty() {
            crate::tracking::flush_own(ctx.st, ctx.id, ctx.out);
        }
    }
    let ok = match entry.imp {
        Imp::Store(h) => {
            let db = ctx.client().db;
            let full_key_access =
                !ctx.st.acl.restricted || crate::cmd_acl::full_key_access(ctx, entry.spec, args);
            let before = crate::notify::before(ctx.st, entry.spec, args, db);
            let mut exec = Exec::new(&mut ctx.st.store, db, ctx.out, ctx.now);
            exec.client_id = ctx.id;
            exec.in_multi = ctx.in_multi;
            exec.full_key_access = full_key_access;
            let res = h(&mut exec, args);
            let block = exec.block.take();
            let propagated = exec.propagated;
            let ok = match res {
                Ok(()) => true,
                Err(e) => {
                    reply_error(ctx, &e.text());
                    false
                }
            };
            if ctx.st.store.dirty != dirty_before && !propagated {
                crate::stream::propagate_call(ctx.st, db, args);
            }
            if ctx.st.store.notify != 0 {
                let changed = ctx.st.store.dirty != dirty_before;
                crate::notify::after(ctx.st, entry.spec, args, db, before, changed);
            }
            if let Some(mut b) = block {
                let (tx, rx) = oneshot::channel();
                let deadline = b.deadline_ms;
                let proto = ctx.client().proto;
                let argv = b.args.take().unwrap_or_else(|| args.to_vec());
                crate::blocking::register(ctx.st, ctx.id, db, argv, b, proto, tx);
                ctx.action = Action::Block(rx, deadline);
            }
            ok
        }
        Imp::Server(h) => match h(ctx, args) {
            Ok(()) => true,
            Err(e) => {
                reply_error(ctx, &e.text());
                false
            }
        },
    };
    if ok && entry.name == "flushall" {
        crate::persist::after_flushall(ctx.st);
    }
    if ctx.st.store.tracking_on {
        crate::tracking::after_call(ctx, entry.spec, args);
    }
    crate::stream::drain(ctx.st);
    let s = &mut ctx.st.cmdstats[idx];
    s.calls += 1;
    let end = Instant::now();
    let usec = end.saturating_duration_since(start).as_micros() as u64;
    s.usec += usec;
    ctx.clock = end;
    if !ok {
        s.failed += 1;
    }
    let slower_than = ctx.st.eff.slowlog_slower_than;
    if slower_than >= 0 && usec >= slower_than as u64 && !entry.spec.has(flags::SKIP_SLOWLOG) {
        crate::slowlog::push(ctx.st, ctx.id, args, usec);
    }
    if ctx.st.eff.latency_tracking {
        crate::latency::record(ctx.st, entry.spec.resolve(args), usec);
    }
    let threshold = ctx.st.eff.latency_monitor_threshold;
    if threshold > 0 && usec / 1000 >= threshold && !entry.spec.has(flags::SKIP_SLOWLOG) {
        let event = if entry.spec.has(flags::FAST) {
            "fast-command"
        } else {
            "command"
        };
        crate::latency::add_sample(ctx.st, event, usec / 1000);
    }
    ctx.st.stats.commands_processed += 1;
    if !ctx.st.monitors.is_empty() && !entry.spec.has(flags::SKIP_MONITOR) {
        crate::monitor::feed(ctx, entry.spec, args);
    }
    // Inside EXEC, blocked clients are served once the transaction is done.
    if !ctx.in_multi && !ctx.st.store.ready.is_empty() {
        crate::blocking::serve_ready(ctx.st, ctx.shared, ctx.now);
    }
}
