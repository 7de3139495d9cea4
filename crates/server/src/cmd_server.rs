//! Connection and server commands: PING, ECHO, QUIT, SELECT, HELLO, AUTH, RESET,
//! TIME, LASTSAVE, ROLE, SHUTDOWN, DEBUG, COMMAND, LOLWUT, FAILOVER.

use bytes::Bytes;
use tandem_commands::CommandSpec;
use tandem_resp::Proto;
use tandem_store::util::{eq_ic, parse_i64};
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{Action, Ctx, ServerHandler};
use crate::state::ReplyMode;

pub const COMMANDS: &[(&str, ServerHandler)] = &[
    ("ping", ping),
    ("echo", echo),
    ("quit", quit),
    ("select", select),
    ("hello", hello),
    ("auth", auth),
    ("reset", reset),
    ("time", time),
    ("lastsave", lastsave),
    ("role", role),
    ("shutdown", shutdown),
    ("debug", crate::cmd_debug::debug),
    ("command", command),
    ("lolwut", lolwut),
    ("failover", failover),
];

/// LOLWUT [VERSION v]: Redis 7.0's answer for its own version, the version
/// line. (VERSION 5 and 6 draw random art in Redis; Tandem gives the line.)
fn lolwut(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() >= 3 && eq_ic(&args[1], "version") {
        parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    }
    let line = format!("Redis ver. {}\n", crate::cmd_info::REDIS_VERSION);
    ctx.out.verbatim(line.as_bytes());
    Ok(())
}

/// FAILOVER: Redis's coordinated switch from a master to one of its
/// replicas. Tandem switches masters with its monitor (`tandem failover`),
/// which also fences the old master by epoch and moves the proxies; a switch
/// behind the monitor's back would leave the routing system stale.
fn failover(_ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    Err(CmdError::msg(
        "ERR FAILOVER is not supported by Tandem: run `tandem failover`, which switches the master through the monitor and fences the old one",
    ))
}

fn ping(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        return Err(CmdError::arity(&args[0]));
    }
    if ctx.st.store.from_master {
        if let Some(msg) = args.get(1) {
            crate::linkpos::on_ping_from_master(ctx.st, msg);
        }
    }
    let c = ctx.client();
    if c.proto == Proto::Resp2 && c.subscribed() {
        ctx.out.array(2);
        ctx.out.bulk(b"pong");
        ctx.out.bulk(args.get(1).map(|a| &a[..]).unwrap_or(b""));
    } else if let Some(a) = args.get(1) {
        ctx.out.bulk(a);
    } else {
        ctx.out.simple("PONG");
    }
    Ok(())
}

fn echo(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    ctx.out.bulk(&args[1]);
    Ok(())
}

fn quit(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.ok();
    ctx.action = Action::Close;
    Ok(())
}

fn select(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = tandem_store::util::int32_arg(&args[1])?;
    if n < 0 || n as usize >= ctx.st.store.dbs.len() {
        return Err(CmdError::msg("ERR DB index is out of range"));
    }
    ctx.client().db = n as usize;
    ctx.out.ok();
    Ok(())
}

/// Whether `pass` opens `user` (an existing, enabled user).
fn password_ok(ctx: &Ctx<'_>, user: &[u8], pass: &[u8]) -> bool {
    ctx.st
        .acl
        .users
        .get(user)
        .is_some_and(|u| u.password_ok(pass))
}

/// Logs the connection in as `user`.
fn log_in(ctx: &mut Ctx<'_>, user: &[u8]) {
    let c = ctx.client();
    c.authenticated = true;
    c.user = Bytes::copy_from_slice(user);
}

const WRONGPASS: &str = "WRONGPASS invalid username-password pair or user is disabled.";

fn auth(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 3 {
        return Err(CmdError::Syntax);
    }
    let default_nopass = ctx
        .st
        .acl
        .users
        .get(&b"default"[..])
        .is_some_and(|d| d.nopass);
    if args.len() == 2 && default_nopass {
        return Err(CmdError::msg("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?"));
    }
    let (user, pass) = if args.len() == 3 {
        (&args[1][..], &args[2][..])
    } else {
        (&b"default"[..], &args[1][..])
    };
    if password_ok(ctx, user, pass) {
        log_in(ctx, user);
        ctx.out.ok();
        Ok(())
    } else {
        crate::cmd_acl::log_auth_failure(ctx, "AUTH", user);
        Err(CmdError::msg(WRONGPASS))
    }
}

fn hello(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut proto = None;
    let mut i = 1;
    if args.len() > 1 {
        let v = parse_i64(&args[1]).ok_or_else(|| {
            CmdError::msg("ERR Protocol version is not an integer or out of range")
        })?;
        if !(2..=3).contains(&v) {
            return Err(CmdError::msg("NOPROTO unsupported protocol version"));
        }
        proto = Some(if v == 3 { Proto::Resp3 } else { Proto::Resp2 });
        i = 2;
    }
    let mut auth: Option<(Bytes, Bytes)> = None;
    let mut name = None;
    while i < args.len() {
        let more = args.len() - i - 1;
        if eq_ic(&args[i], "AUTH") && more >= 2 {
            auth = Some((args[i + 1].clone(), args[i + 2].clone()));
            i += 3;
        } else if eq_ic(&args[i], "SETNAME") && more >= 1 {
            name = Some(args[i + 1].clone());
            i += 2;
        } else {
            return Err(CmdError::msg(format!(
                "ERR Syntax error in HELLO option '{}'",
                tandem_resp::c_str(&args[i])
            )));
        }
    }
    if let Some((u, p)) = &auth {
        if !password_ok(ctx, u, p) {
            crate::cmd_acl::log_auth_failure(ctx, "HELLO", u);
            return Err(CmdError::msg(WRONGPASS));
        }
        log_in(ctx, u);
    }
    if ctx.st.acl.auth_required && !ctx.client().authenticated {
        return Err(CmdError::msg("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time"));
    }
    if let Some(n) = name {
        crate::cmd_client::check_name(&n)?;
        ctx.client().name = (!n.is_empty()).then_some(n);
    }
    let id = ctx.id;
    let c = ctx.client();
    if let Some(p) = proto {
        c.proto = p;
    }
    let p = c.proto;
    ctx.out.set_proto(p);
    let o = &mut *ctx.out;
    o.map(7);
    o.bulk(b"server");
    o.bulk(b"redis");
    o.bulk(b"version");
    o.bulk(crate::cmd_info::REDIS_VERSION.as_bytes());
    o.bulk(b"proto");
    o.int(if p == Proto::Resp3 { 3 } else { 2 });
    o.bulk(b"id");
    o.int(id as i64);
    o.bulk(b"mode");
    o.bulk(b"standalone");
    o.bulk(b"role");
    o.bulk(b"master");
    o.bulk(b"modules");
    o.empty_array();
    Ok(())
}

fn reset(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let id = ctx.id;
    crate::cmd_multi::unwatch_all(ctx.st, id);
    crate::cmd_pubsub::unsubscribe_all(ctx.st, id);
    crate::tracking::disable(ctx.st, id);
    crate::monitor::stop(ctx.st, id);
    let needs_auth = ctx.st.acl.auth_required;
    let c = ctx.client();
    c.user = Bytes::from_static(b"default");
    c.multi = None;
    c.multi_error = false;
    c.db = 0;
    c.proto = Proto::Resp2;
    c.reply_mode = ReplyMode::On;
    c.no_evict = false;
    c.name = None;
    if needs_auth {
        c.authenticated = false;
    }
    ctx.out.set_proto(Proto::Resp2);
    ctx.out.simple("RESET");
    Ok(())
}

fn time(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let d = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    ctx.out.array(2);
    ctx.out.bulk_int(d.as_secs() as i64);
    ctx.out.bulk_int(d.subsec_micros() as i64);
    Ok(())
}

fn lastsave(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.int(ctx.st.stats.last_save);
    Ok(())
}

fn role(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    ctx.out.array(3);
    ctx.out.bulk(b"master");
    ctx.out.int(ctx.st.stream.offset as i64);
    ctx.out.empty_array();
    Ok(())
}

fn shutdown(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut abort, mut now) = (false, false);
    let mut flags = crate::shutdown::Flags::default();
    for a in &args[1..] {
        if eq_ic(a, "ABORT") {
            abort = true;
        } else if eq_ic(a, "NOSAVE") {
            flags.nosave = true;
        } else if eq_ic(a, "SAVE") {
            flags.save = true;
        } else if eq_ic(a, "NOW") {
            now = true;
        } else if eq_ic(a, "FORCE") {
            flags.force = true;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if abort {
        if args.len() > 2 {
            return Err(CmdError::Syntax);
        }
        if !crate::shutdown::abort(ctx.st) {
            return Err(CmdError::msg("ERR No shutdown in progress."));
        }
        ctx.out.ok();
        return Ok(());
    }
    if !now && !ctx.in_multi && !ctx.st.in_script {
        let (tx, rx) = tokio::sync::oneshot::channel();
        if crate::shutdown::begin(ctx.shared, ctx.st, flags, Some(tx)) {
            ctx.action = Action::Block(rx, None);
            return Ok(());
        }
    }
    crate::persist::prepare_shutdown_flags(ctx.st, flags).map_err(CmdError::msg)?;
    tracing::warn!("User requested shutdown...");
    ctx.shared.shutdown.cancel();
    ctx.action = Action::Close;
    Ok(())
}

/// COMMAND and its subcommands, from the command table (the proxy answers with
/// the same code): this node lists the commands it serves.
fn command(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let commands = &ctx.shared.commands;
    let serves = |s: &CommandSpec| {
        let top = s.full_name.split('|').next().unwrap_or(s.full_name);
        commands.get(top.as_bytes()).is_some()
    };
    tandem_commands::command_reply::reply(args, ctx.out, &serves).map_err(CmdError::msg)
}
