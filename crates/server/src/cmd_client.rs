//! CLIENT subcommands.

use bytes::Bytes;
use tandem_resp::Proto;
use tandem_store::util::{eq_ic, parse_i64};
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{Action, Ctx, ServerHandler};
use crate::state::{Client, ReplyMode};

pub const COMMANDS: &[(&str, ServerHandler)] = &[("client", client)];

pub fn unknown_sub(sub: &[u8], cmd: &str) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand '{}'. Try {cmd} HELP.",
        tandem_resp::c_str(&sub[..sub.len().min(128)])
    ))
}

/// Redis's `addReplySubcommandSyntaxError`: a subcommand the table knows, given
/// arguments its handler does not take.
pub fn sub_syntax(sub: &[u8], cmd: &str) -> CmdError {
    CmdError::msg(format!(
        "ERR unknown subcommand or wrong number of arguments for '{}'. Try {cmd} HELP.",
        tandem_resp::c_str(&sub[..sub.len().min(128)])
    ))
}

fn sub_arity(args: &[Bytes]) -> CmdError {
    CmdError::msg(format!(
        "ERR wrong number of arguments for '{}|{}' command",
        String::from_utf8_lossy(&args[0]).to_lowercase(),
        String::from_utf8_lossy(&args[1]).to_lowercase()
    ))
}

/// Names may not contain spaces, newlines or other special characters.
pub fn check_name(n: &[u8]) -> CmdResult {
    if n.iter().any(|&c| !(b'!'..=b'~').contains(&c)) {
        return Err(CmdError::msg(
            "ERR Client names cannot contain spaces, newlines or special characters.",
        ));
    }
    Ok(())
}

/// A connection's read buffer (CLIENT LIST rbs/rbp).
const READ_BUFFER: usize = 16 * 1024;
/// The client record and its task, about (CLIENT LIST tot-mem).
const CLIENT_RECORD: usize = 1024;

/// Bytes held by a transaction's queued commands, counted as Redis's
/// `multi-mem`: the arguments plus a small overhead per argument and command.
fn multi_mem(c: &Client) -> usize {
    c.multi.as_ref().map_or(0, |q| {
        q.iter()
            .map(|cmd| 24 + cmd.iter().map(|a| a.len() + 16).sum::<usize>())
            .sum()
    })
}

pub(crate) fn info_line(c: &Client) -> String {
    let age = c.created.elapsed().as_secs();
    let idle = c.last_interaction.elapsed().as_secs();
    let name = c
        .name
        .as_ref()
        .map(|n| String::from_utf8_lossy(n).into_owned())
        .unwrap_or_default();
    let multi = c.multi.as_ref().map(|q| q.len() as i64).unwrap_or(-1);
    let resp = if c.proto == Proto::Resp3 { 3 } else { 2 };
    let omem = c.pending.load(std::sync::atomic::Ordering::Relaxed);
    let multi_mem = multi_mem(c);
    // What the connection holds: its read buffer, unparsed input, queued
    // transaction, unsent replies, and the client record itself.
    let tot_mem = READ_BUFFER + c.qbuf + multi_mem + omem + CLIENT_RECORD;
    format!(
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={} db={} sub={} psub={} ssub={} multi={} qbuf={} qbuf-free=0 argv-mem=0 multi-mem={} rbs={READ_BUFFER} rbp={READ_BUFFER} obl=0 oll=0 omem={} tot-mem={} events=r cmd={} user={} redir={} resp={}",
        c.id, c.addr, c.laddr, c.id, name, age, idle, c.flags(), c.db, c.channels.len(), c.patterns.len(), c.shard_channels.len(), multi, c.qbuf,
        multi_mem, omem, tot_mem, c.last_cmd,
        if c.user.is_empty() { "(superuser)".into() } else { String::from_utf8_lossy(&c.user) },
        crate::tracking::redir(c.tracking.as_deref()), resp
    )
}

fn client_type(c: &Client) -> &'static str {
    if let Some(t) = c.repl_type {
        return t;
    }
    if c.subscribed() {
        "pubsub"
    } else {
        "normal"
    }
}

fn client(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let n = args.len();
    if eq_ic(sub, "ID") && n == 2 {
        ctx.out.int(ctx.id as i64);
    } else if eq_ic(sub, "SETNAME") {
        if n != 3 {
            return Err(sub_arity(args));
        }
        check_name(&args[2])?;
        ctx.client().name = (!args[2].is_empty()).then(|| args[2].clone());
        ctx.out.ok();
    } else if eq_ic(sub, "GETNAME") && n == 2 {
        match ctx.client().name.clone() {
            Some(name) => ctx.out.bulk(&name),
            None => ctx.out.null(),
        }
    } else if eq_ic(sub, "INFO") && n == 2 {
        let line = info_line(ctx.client()) + "\n";
        ctx.out.verbatim(line.as_bytes());
    } else if eq_ic(sub, "LIST") {
        // Redis 7.0's forms: no argument, TYPE <type>, or ID <id> [<id> ...].
        let mut ids: Option<Vec<u64>> = None;
        let mut ty: Option<String> = None;
        if n == 4 && eq_ic(&args[2], "TYPE") {
            let t = String::from_utf8_lossy(&args[3]).to_lowercase();
            if !["normal", "pubsub", "master", "replica", "slave"].contains(&t.as_str()) {
                return Err(CmdError::msg(format!(
                    "ERR Unknown client type '{}'",
                    tandem_resp::c_str(&args[3])
                )));
            }
            ty = Some(t);
        } else if n > 3 && eq_ic(&args[2], "ID") {
            let mut v = Vec::new();
            for a in &args[3..] {
                match parse_i64(a) {
                    Some(x) if x > 0 => v.push(x as u64),
                    _ => return Err(CmdError::msg("ERR Invalid client ID")),
                }
            }
            ids = Some(v);
        } else if n != 2 {
            return Err(CmdError::Syntax);
        }
        let mut list: Vec<&Client> = ctx
            .st
            .clients
            .values()
            .filter(|c| ids.as_ref().is_none_or(|v| v.contains(&c.id)))
            .filter(|c| ty.as_deref().is_none_or(|t| t == client_type(c)))
            .collect();
        list.sort_by_key(|c| c.id);
        let text: String = list.iter().map(|c| info_line(c) + "\n").collect();
        ctx.out.verbatim(text.as_bytes());
    } else if eq_ic(sub, "KILL") {
        return kill(ctx, args);
    } else if eq_ic(sub, "PAUSE") && (n == 3 || n == 4) {
        let ms = parse_i64(&args[2])
            .filter(|&v| v >= 0)
            .ok_or_else(|| CmdError::msg("ERR timeout is not an integer or out of range"))?;
        let all = if n == 4 {
            if eq_ic(&args[3], "ALL") {
                true
            } else if eq_ic(&args[3], "WRITE") {
                false
            } else {
                return Err(CmdError::msg("ERR CLIENT PAUSE mode must be WRITE or ALL"));
            }
        } else {
            true
        };
        ctx.st.pause = Some((ctx.now.saturating_add(ms), all));
        ctx.out.ok();
    } else if eq_ic(sub, "UNPAUSE") && n == 2 {
        ctx.st.pause = None;
        ctx.out.ok();
    } else if eq_ic(sub, "REPLY") && n == 3 {
        let mode = if eq_ic(&args[2], "ON") {
            ReplyMode::On
        } else if eq_ic(&args[2], "OFF") {
            ReplyMode::Off
        } else if eq_ic(&args[2], "SKIP") {
            ReplyMode::SkipNext
        } else {
            return Err(CmdError::Syntax);
        };
        let c = ctx.client();
        c.reply_mode = mode;
        if mode == ReplyMode::On {
            ctx.out.ok();
        }
    } else if eq_ic(sub, "NO-EVICT") && n == 3 {
        let on = if eq_ic(&args[2], "ON") {
            true
        } else if eq_ic(&args[2], "OFF") {
            false
        } else {
            return Err(CmdError::Syntax);
        };
        ctx.client().no_evict = on;
        ctx.out.ok();
    } else if eq_ic(sub, "UNBLOCK") && (n == 3 || n == 4) {
        // The reason is checked before the id, as Redis does.
        let error = if n == 4 {
            if eq_ic(&args[3], "ERROR") {
                true
            } else if eq_ic(&args[3], "TIMEOUT") {
                false
            } else {
                return Err(CmdError::msg(
                    "ERR CLIENT UNBLOCK reason should be TIMEOUT or ERROR",
                ));
            }
        } else {
            false
        };
        let id = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
        let done = crate::blocking::unblock_with(ctx.st, id as u64, |o| {
            if error {
                o.error("UNBLOCKED client unblocked via CLIENT UNBLOCK");
            } else {
                o.null_array();
            }
        });
        ctx.out.int(done as i64);
    } else if eq_ic(sub, "TRACKING") && n >= 3 {
        return crate::tracking::client_tracking(ctx, args);
    } else if eq_ic(sub, "CACHING") && n >= 3 {
        return crate::tracking::client_caching(ctx, args);
    } else if eq_ic(sub, "GETREDIR") && n == 2 {
        crate::tracking::client_getredir(ctx);
    } else if eq_ic(sub, "TRACKINGINFO") && n == 2 {
        crate::tracking::client_trackinginfo(ctx);
    } else if eq_ic(sub, "HELP") && n == 2 {
        crate::dispatch::reply_help(ctx.out, CLIENT_HELP);
    } else {
        return Err(sub_syntax(sub, "CLIENT"));
    }
    Ok(())
}

/// CLIENT HELP, as Redis 7.0 prints it.
const CLIENT_HELP: &[&str] = &[
    "CLIENT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CACHING (YES|NO)",
    "    Enable/disable tracking of the keys for next command in OPTIN/OPTOUT modes.",
    "GETREDIR",
    "    Return the client ID we are redirecting to when tracking is enabled.",
    "GETNAME",
    "    Return the name of the current connection.",
    "ID",
    "    Return the ID of the current connection.",
    "INFO",
    "    Return information about the current client connection.",
    "KILL <ip:port>",
    "    Kill connection made from <ip:port>.",
    "KILL <option> <value> [<option> <value> [...]]",
    "    Kill connections. Options are:",
    "    * ADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made from the specified address",
    "    * LADDR (<ip:port>|<unixsocket>:0)",
    "      Kill connections made to specified local address",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Kill connections by type.",
    "    * USER <username>",
    "      Kill connections authenticated by <username>.",
    "    * SKIPME (YES|NO)",
    "      Skip killing current connection (default: yes).",
    "LIST [options ...]",
    "    Return information about client connections. Options:",
    "    * TYPE (NORMAL|MASTER|REPLICA|PUBSUB)",
    "      Return clients of specified type.",
    "UNPAUSE",
    "    Stop the current client pause, resuming traffic.",
    "PAUSE <timeout> [WRITE|ALL]",
    "    Suspend all, or just write, clients for <timeout> milliseconds.",
    "REPLY (ON|OFF|SKIP)",
    "    Control the replies sent to the current connection.",
    "SETNAME <name>",
    "    Assign the name <name> to the current connection.",
    "UNBLOCK <clientid> [TIMEOUT|ERROR]",
    "    Unblock the specified blocked client.",
    "TRACKING (ON|OFF) [REDIRECT <id>] [BCAST] [PREFIX <prefix> [...]]",
    "         [OPTIN] [OPTOUT] [NOLOOP]",
    "    Control server assisted client side caching.",
    "TRACKINGINFO",
    "    Report tracking status for the current connection.",
    "NO-EVICT (ON|OFF)",
    "    Protect current client connection from eviction.",
    "HELP",
    "    Prints this help.",
];

fn kill(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let n = args.len();
    if n == 3 {
        // Old form: CLIENT KILL addr:port, replies OK or an error.
        let addr = String::from_utf8_lossy(&args[2]).into_owned();
        let hit = ctx
            .st
            .clients
            .values()
            .find(|c| c.addr == addr)
            .map(|c| c.id);
        return match hit {
            Some(id) => {
                kill_one(ctx, id);
                ctx.out.ok();
                Ok(())
            }
            None => Err(CmdError::msg("ERR No such client")),
        };
    }
    if !n.is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    let mut id = None;
    let mut addr = None;
    let mut laddr = None;
    let mut ty = None;
    let mut user = None;
    let mut skipme = true;
    for p in args[2..].chunks(2) {
        let v = String::from_utf8_lossy(&p[1]).into_owned();
        if eq_ic(&p[0], "ID") {
            id = Some(
                parse_i64(&p[1])
                    .filter(|&x| x > 0)
                    .ok_or_else(|| CmdError::msg("ERR client-id should be greater than 0"))?
                    as u64,
            );
        } else if eq_ic(&p[0], "ADDR") {
            addr = Some(v);
        } else if eq_ic(&p[0], "LADDR") {
            laddr = Some(v);
        } else if eq_ic(&p[0], "TYPE") {
            let t = v.to_lowercase();
            if !["normal", "pubsub", "master", "replica", "slave"].contains(&t.as_str()) {
                return Err(CmdError::msg(format!("ERR Unknown client type '{v}'")));
            }
            ty = Some(t);
        } else if eq_ic(&p[0], "USER") {
            user = Some(v);
        } else if eq_ic(&p[0], "SKIPME") {
            skipme = match v.to_lowercase().as_str() {
                "yes" => true,
                "no" => false,
                _ => return Err(CmdError::Syntax),
            };
        } else {
            return Err(CmdError::Syntax);
        }
    }
    if let Some(u) = &user {
        if !ctx.st.acl.users.contains_key(u.as_bytes()) {
            return Err(CmdError::msg(format!("ERR No such user '{u}'")));
        }
    }
    let me = ctx.id;
    let victims: Vec<u64> = ctx
        .st
        .clients
        .values()
        .filter(|c| id.is_none_or(|i| i == c.id))
        .filter(|c| addr.as_ref().is_none_or(|a| *a == c.addr))
        .filter(|c| laddr.as_ref().is_none_or(|a| *a == c.laddr))
        .filter(|c| ty.as_deref().is_none_or(|t| t == client_type(c)))
        .filter(|c| user.as_ref().is_none_or(|u| u.as_bytes() == &c.user[..]))
        .filter(|c| !(skipme && c.id == me))
        .map(|c| c.id)
        .collect();
    for v in &victims {
        kill_one(ctx, *v);
    }
    ctx.out.int(victims.len() as i64);
    Ok(())
}

fn kill_one(ctx: &mut Ctx<'_>, id: u64) {
    if id == ctx.id {
        // Killing oneself: the reply is still sent, then the connection closes.
        ctx.action = Action::Close;
    } else if let Some(c) = ctx.st.clients.get(&id) {
        c.kill.cancel();
    }
}
