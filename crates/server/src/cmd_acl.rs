//! ACL, for the one user Tandem has: `default`, with every permission and
//! `requirepass` as its password (Redis's state before any ACL SETUSER).
//! The reading subcommands answer as Redis does for that state; creating or
//! changing users is refused with an error that says so (COMPATIBILITY.md).

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tandem_store::util::parse_i64;
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{reply_help, Ctx, ServerHandler};

pub const COMMANDS: &[(&str, ServerHandler)] = &[("acl", acl)];

/// Redis's categories, in the order ACL CAT lists them.
const CATEGORIES: &[&str] = &[
    "keyspace",
    "read",
    "write",
    "set",
    "sortedset",
    "list",
    "hash",
    "string",
    "bitmap",
    "hyperloglog",
    "geo",
    "stream",
    "pubsub",
    "admin",
    "fast",
    "slow",
    "blocking",
    "dangerous",
    "connection",
    "transaction",
    "scripting",
];

const HELP: &[&str] = &[
    "ACL <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CAT [<category>]",
    "    List all commands that belong to <category>, or all command categories",
    "    when no category is specified.",
    "DELUSER <username> [<username> ...]",
    "    Delete a list of users.",
    "DRYRUN <username> <command> [<arg> ...]",
    "    Returns whether the user can execute the given command without executing the command.",
    "GETUSER <username>",
    "    Get the user's details.",
    "GENPASS [<bits>]",
    "    Generate a secure 256-bit user password. The optional `bits` argument can",
    "    be used to specify a different size.",
    "LIST",
    "    Show users details in config file format.",
    "LOAD",
    "    Reload users from the ACL file.",
    "LOG [<count> | RESET]",
    "    Show the ACL log entries.",
    "SAVE",
    "    Save the current config to the ACL file.",
    "SETUSER <username> <attribute> [<attribute> ...]",
    "    Create or modify a user with the specified attributes.",
    "USERS",
    "    List all the registered usernames.",
    "WHOAMI",
    "    Return the current connection username.",
    "HELP",
    "    Prints this help.",
];

const NO_ACL_FILE: &str = "ERR This Redis instance is not configured to use an ACL file. You may want to specify users via the ACL SETUSER command and then issue a CONFIG REWRITE (assuming you have a Redis configuration file set) in order to store users in the Redis configuration.";

/// The SHA-256 of `requirepass` in hex, as ACL shows passwords.
fn password_hash(ctx: &Ctx<'_>) -> Option<String> {
    ctx.st.eff.requirepass.as_ref().map(|p| {
        Sha256::digest(&p[..])
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect()
    })
}

fn is_default(name: &[u8]) -> bool {
    name == b"default"
}

fn acl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    if args.len() > 3 && matches!(sub.as_str(), "cat" | "log" | "genpass") {
        return Err(crate::cmd_client::sub_syntax(&args[1], "ACL"));
    }
    match sub.as_str() {
        "help" => reply_help(ctx.out, HELP),
        "whoami" => ctx.out.bulk(b"default"),
        "users" => {
            ctx.out.array(1);
            ctx.out.bulk(b"default");
        }
        "list" => {
            let pass = match password_hash(ctx) {
                Some(h) => format!("#{h}"),
                None => "nopass".into(),
            };
            ctx.out.array(1);
            ctx.out
                .bulk(format!("user default on {pass} ~* &* +@all").as_bytes());
        }
        "getuser" => {
            if !is_default(&args[2]) {
                ctx.out.null();
                return Ok(());
            }
            let hash = password_hash(ctx);
            let out = &mut *ctx.out;
            out.map(6);
            out.bulk(b"flags");
            match hash {
                Some(_) => {
                    out.set(1);
                    out.bulk(b"on");
                }
                None => {
                    out.set(2);
                    out.bulk(b"on");
                    out.bulk(b"nopass");
                }
            }
            out.bulk(b"passwords");
            match &hash {
                Some(h) => {
                    out.array(1);
                    out.bulk(h.as_bytes());
                }
                None => out.array(0),
            }
            out.bulk(b"commands");
            out.bulk(b"+@all");
            out.bulk(b"keys");
            out.bulk(b"~*");
            out.bulk(b"channels");
            out.bulk(b"&*");
            out.bulk(b"selectors");
            out.array(0);
        }
        "cat" => cat(ctx, args)?,
        "log" => log(ctx, args)?,
        "save" | "load" => return Err(CmdError::msg(NO_ACL_FILE)),
        "dryrun" => {
            if !is_default(&args[2]) {
                return Err(CmdError::msg(format!(
                    "ERR User '{}' not found",
                    tandem_resp::c_str(&args[2])
                )));
            }
            let not_found = || {
                CmdError::msg(format!(
                    "ERR Command '{}' not found",
                    tandem_resp::c_str(&args[3])
                ))
            };
            let mut spec = tandem_commands::lookup(&args[3]).ok_or_else(not_found)?;
            let call = &args[3..];
            if !spec.subcommands.is_empty() && call.len() > 1 {
                spec = spec.subcommand(&call[1]).ok_or_else(not_found)?;
            }
            if !spec.arity_ok(call.len()) {
                return Err(CmdError::msg(format!(
                    "ERR wrong number of arguments for '{}' command",
                    spec.full_name
                )));
            }
            ctx.out.ok();
        }
        "deluser" => {
            if args[2..].iter().any(|u| is_default(u)) {
                return Err(CmdError::msg("ERR The 'default' user cannot be removed"));
            }
            ctx.out.int(0);
        }
        "genpass" => {
            let bits = match args.get(2) {
                Some(a) => parse_i64(a).ok_or(CmdError::NotInteger)?,
                None => 256,
            };
            if !(1..=4096).contains(&bits) {
                return Err(CmdError::msg(
                    "ERR ACL GENPASS argument must be the number of bits for the output password, a positive number up to 4096",
                ));
            }
            let chars = (bits as usize).div_ceil(4);
            let hex: String = (0..chars)
                .map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16usize)]))
                .collect();
            ctx.out.bulk(hex.as_bytes());
        }
        "setuser" => {
            return Err(CmdError::msg(
                "ERR ACL SETUSER is not supported by Tandem: the default user is the only one (set its password with requirepass)",
            ))
        }
        _ => return Err(crate::cmd_client::unknown_sub(&args[1], "ACL")),
    }
    Ok(())
}

/// Redis groups a failure into an entry of the last minute with the same
/// reason, context, object and username.
const GROUPING_MS: i64 = 60_000;

/// Records a failed authentication by `object` (AUTH, HELLO) in ACL LOG.
pub fn log_auth_failure(ctx: &mut Ctx<'_>, object: &'static str, username: &[u8]) {
    let now = crate::dispatch::now_ms();
    let context = if ctx.in_multi { "multi" } else { "toplevel" };
    let client_info = crate::cmd_client::info_line(ctx.client());
    let log = &mut ctx.st.acl_log;
    let similar = log.iter().position(|e| {
        e.context == context
            && e.object == object
            && e.username[..] == *username
            && now - e.last_ms < GROUPING_MS
    });
    let entry = match similar.and_then(|i| log.remove(i)) {
        Some(mut e) => {
            e.count += 1;
            e.last_ms = now;
            e.client_info = client_info;
            e
        }
        None => crate::state::AclLogEntry {
            count: 1,
            context,
            object,
            username: Bytes::copy_from_slice(username),
            last_ms: now,
            client_info,
        },
    };
    log.push_front(entry);
    let max = ctx.st.config.int("acllog-max-len").max(0) as usize;
    ctx.st.acl_log.truncate(max);
}

/// ACL LOG [count | RESET]: the newest entries first, 10 by default.
fn log(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut count = 10usize;
    if let Some(a) = args.get(2) {
        if a.eq_ignore_ascii_case(b"reset") {
            ctx.st.acl_log.clear();
            ctx.out.ok();
            return Ok(());
        }
        let n = parse_i64(a).ok_or(CmdError::NotInteger)?;
        count = n.max(0) as usize;
    }
    let now = crate::dispatch::now_ms();
    let out = &mut *ctx.out;
    let entries: Vec<_> = ctx.st.acl_log.iter().take(count).collect();
    out.array(entries.len());
    for e in entries {
        out.map(7);
        out.bulk(b"count");
        out.int(e.count as i64);
        out.bulk(b"reason");
        out.bulk(b"auth");
        out.bulk(b"context");
        out.bulk(e.context.as_bytes());
        out.bulk(b"object");
        out.bulk(e.object.as_bytes());
        out.bulk(b"username");
        out.bulk(&e.username);
        out.bulk(b"age-seconds");
        out.double((now - e.last_ms) as f64 / 1000.0);
        out.bulk(b"client-info");
        out.bulk(e.client_info.as_bytes());
    }
    Ok(())
}

/// ACL CAT: the categories, or the commands of one (a container's
/// subcommands as `container|sub`).
fn cat(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let out = &mut *ctx.out;
    let Some(want) = args.get(2) else {
        out.array(CATEGORIES.len());
        for c in CATEGORIES {
            out.bulk(c.as_bytes());
        }
        return Ok(());
    };
    let want = String::from_utf8_lossy(want).to_ascii_lowercase();
    if !CATEGORIES.contains(&want.as_str()) {
        return Err(CmdError::msg(format!(
            "ERR Unknown category '{}'",
            tandem_resp::c_str(&args[2])
        )));
    }
    let tag = format!("@{want}");
    let in_cat = |spec: &tandem_commands::CommandSpec| spec.acl_categories.contains(&tag.as_str());
    let mut names = Vec::new();
    for spec in tandem_commands::all() {
        if spec.subcommands.is_empty() {
            if in_cat(spec) {
                names.push(spec.full_name);
            }
        } else {
            names.extend(
                spec.subcommands
                    .iter()
                    .filter(|s| in_cat(s))
                    .map(|s| s.full_name),
            );
        }
    }
    out.array(names.len());
    for n in names {
        out.bulk(n.as_bytes());
    }
    Ok(())
}
