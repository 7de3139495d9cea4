//! ACL: the users (`crate::acl`), the subcommands that manage and inspect
//! them, the permission checks the dispatcher, EXEC and scripts run, and ACL
//! LOG. `requirepass` is the default user's password, as in Redis.

use bytes::Bytes;
use tandem_store::util::parse_i64;
use tandem_store::{CmdError, CmdResult};

use tandem_commands::CommandSpec;

use crate::acl::Denied;
use crate::dispatch::{reply_help, Ctx, ServerHandler};

pub const COMMANDS: &[(&str, ServerHandler)] = &[("acl", acl)];

/// Redis's categories, in the order ACL CAT lists them.
pub const CATEGORIES: &[&str] = &[
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

fn is_default(name: &[u8]) -> bool {
    name == b"default"
}

fn not_found(user: &[u8]) -> CmdError {
    CmdError::msg(format!("ERR User '{}' not found", tandem_resp::c_str(user)))
}

fn acl(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    if args.len() > 3 && matches!(sub.as_str(), "cat" | "log" | "genpass") {
        return Err(crate::cmd_client::sub_syntax(&args[1], "ACL"));
    }
    match sub.as_str() {
        "help" => reply_help(ctx.out, HELP),
        "whoami" => {
            let u = ctx.client().user.clone();
            ctx.out.bulk(if u.is_empty() { b"(superuser)" } else { &u });
        }
        "users" => {
            let out = &mut *ctx.out;
            out.array(ctx.st.acl.users.len());
            for name in ctx.st.acl.users.keys() {
                out.bulk(name);
            }
        }
        "list" => {
            let out = &mut *ctx.out;
            out.array(ctx.st.acl.users.len());
            for (name, u) in &ctx.st.acl.users {
                let line = format!(
                    "user {} {}",
                    String::from_utf8_lossy(name),
                    crate::acl::describe_user(u)
                );
                out.bulk(line.as_bytes());
            }
        }
        "getuser" => match ctx.st.acl.users.get(&args[2][..]) {
            Some(u) => crate::acl::reply_getuser(ctx.out, u),
            None => ctx.out.null(),
        },
        "setuser" => {
            let name = &args[2];
            if name.iter().any(|&b| b == b' ' || b == 0) {
                return Err(CmdError::msg(
                    "ERR Usernames can't contain spaces or null characters",
                ));
            }
            let allchannels = ctx.st.acl.pubsub_all;
            let user = crate::acl::set_user(
                ctx.st.acl.users.get(&name[..]),
                name,
                &args[3..],
                allchannels,
            )
            .map_err(|e| CmdError::msg(e.text()))?;
            ctx.st.acl.users.insert(name.clone(), user);
            ctx.st.acl.refresh();
            kill_pubsub_clients_if_needed(ctx, name);
            ctx.out.ok();
        }
        "cat" => cat(ctx, args)?,
        "log" => log(ctx, args)?,
        "save" | "load" => {
            let path = ctx.st.config.str("aclfile").to_string();
            if path.is_empty() {
                return Err(CmdError::msg(NO_ACL_FILE));
            }
            if sub == "save" {
                if let Err(e) = crate::acl::file::save(&path, &ctx.st.acl) {
                    tracing::warn!("Saving the ACL file {path}: {e}");
                    return Err(CmdError::msg("ERR There was an error trying to save the ACLs. Please check the server logs for more information"));
                }
            } else {
                let users = crate::acl::file::load(&path, &ctx.st.acl)
                    .map_err(|e| CmdError::msg(format!("ERR {e}")))?;
                // As Redis 7.0: the users are new, so the connections of every
                // user but `default` are closed.
                let others: Vec<Bytes> = ctx
                    .st
                    .acl
                    .users
                    .keys()
                    .filter(|n| !is_default(n))
                    .cloned()
                    .collect();
                ctx.st.acl.users = users;
                ctx.st.acl.refresh();
                for name in others {
                    disconnect_user(ctx, &name);
                }
            }
            ctx.out.ok();
        }
        "dryrun" => dryrun(ctx, args)?,
        "deluser" => {
            if args[2..].iter().any(|u| is_default(u)) {
                return Err(CmdError::msg("ERR The 'default' user cannot be removed"));
            }
            let mut n = 0;
            for name in &args[2..] {
                if ctx.st.acl.users.remove(&name[..]).is_some() {
                    n += 1;
                    disconnect_user(ctx, name);
                }
            }
            ctx.st.acl.refresh();
            ctx.out.int(n);
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
        _ => return Err(crate::cmd_client::unknown_sub(&args[1], "ACL")),
    }
    Ok(())
}

/// Redis groups a failure into an entry of the last minute with the same
/// reason, context, object and username.
const GROUPING_MS: i64 = 60_000;

/// Records a failed authentication by `object` (AUTH, HELLO) in ACL LOG.
pub fn log_auth_failure(ctx: &mut Ctx<'_>, object: &'static str, username: &[u8]) {
    let context = if ctx.in_multi { "multi" } else { "toplevel" };
    let object = Bytes::from_static(object.as_bytes());
    log_entry(
        ctx,
        "auth",
        context,
        object,
        Bytes::copy_from_slice(username),
    );
}

/// Adds an entry to ACL LOG, or counts it in a similar one of the last
/// minute (same reason, context, object and user), as Redis's addACLLogEntry.
fn log_entry(
    ctx: &mut Ctx<'_>,
    reason: &'static str,
    context: &'static str,
    object: Bytes,
    username: Bytes,
) {
    let now = crate::dispatch::now_ms();
    let client_info = crate::cmd_client::info_line(ctx.client());
    let log = &mut ctx.st.acl_log;
    let similar = log.iter().position(|e| {
        e.reason == reason
            && e.context == context
            && e.object == object
            && e.username == username
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
            reason,
            context,
            object,
            username,
            last_ms: now,
            client_info,
        },
    };
    log.push_front(entry);
    let max = ctx.st.config.int("acllog-max-len").max(0) as usize;
    ctx.st.acl_log.truncate(max);
}

/// Checks a command for the calling client's user; on a refusal, logs it
/// (`context`: toplevel, multi, lua) and returns the refusal.
fn check(
    ctx: &mut Ctx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
    context: &'static str,
) -> Result<(), (crate::acl::Denied, &'static CommandSpec)> {
    let spec = spec.resolve(args);
    let user = ctx.client().user.clone();
    if user.is_empty() {
        // The master link and the AOF loader run as no user.
        return Ok(());
    }
    match ctx.st.acl.check(&user, spec, args) {
        Ok(()) => Ok(()),
        Err(d) => {
            let object = d.object(spec, args);
            log_entry(ctx, d.reason(), context, object, user);
            Err((d, spec))
        }
    }
}

/// Whether the calling client's user may read any key with this command.
pub fn full_key_access(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, args: &[Bytes]) -> bool {
    let spec = spec.resolve(args);
    let user = ctx.client().user.clone();
    user.is_empty()
        || ctx
            .st
            .acl
            .users
            .get(&user[..])
            .is_some_and(|u| u.full_key_access(spec, args))
}

/// The dispatcher's check: Redis's `-NOPERM` errors.
pub fn check_command(
    ctx: &mut Ctx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
    context: &'static str,
) -> Result<(), String> {
    check(ctx, spec, args, context).map_err(|(d, spec)| d.error(spec))
}

/// EXEC's check of a queued command (the rules may have changed since).
pub fn exec_recheck(
    ctx: &mut Ctx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> Result<(), String> {
    check(ctx, spec, args, "multi").map_err(|(d, _)| {
        let reason = match d {
            Denied::Command => "no permission to execute the command or subcommand",
            Denied::Key(_) => "no permission to touch the specified keys",
            Denied::Channel(_) => "no permission to access one of the channels used as arguments",
        };
        format!("NOPERM ACLs rules changed between the moment the transaction was accumulated and the EXEC call. This command is no longer allowed for the following reason: {reason}")
    })
}

/// A script's check of a command it calls.
pub fn script_check(
    ctx: &mut Ctx<'_>,
    spec: &'static CommandSpec,
    args: &[Bytes],
) -> Result<(), String> {
    check(ctx, spec, args, "lua").map_err(|(d, _)| {
        match d {
            Denied::Command => "ERR The user executing the script can't run this command or subcommand",
            Denied::Key(_) => "ERR The user executing the script can't access at least one of the keys mentioned in the command arguments",
            Denied::Channel(_) => "ERR The user executing the script can't publish to the channel mentioned in the command",
        }
        .to_string()
    })
}

/// After a user's channels changed, closes its connections subscribed to a
/// channel or pattern it may no longer use (Redis's
/// ACLKillPubsubClientsIfNeeded).
fn kill_pubsub_clients_if_needed(ctx: &mut Ctx<'_>, name: &[u8]) {
    let Some(user) = ctx.st.acl.users.get(name).cloned() else {
        return;
    };
    close_clients(ctx, |c| {
        c.user[..] == *name
            && (c.channels.iter().any(|ch| !user.channel_ok(ch, false))
                || c.shard_channels
                    .iter()
                    .any(|ch| !user.channel_ok(ch, false))
                || c.patterns.iter().any(|p| !user.channel_ok(p, true)))
    });
}

/// Closes the connections of a deleted user.
fn disconnect_user(ctx: &mut Ctx<'_>, name: &[u8]) {
    close_clients(ctx, |c| c.user[..] == *name);
}

/// Closes the connections `which` picks; the caller's after its reply.
fn close_clients(ctx: &mut Ctx<'_>, which: impl Fn(&crate::state::Client) -> bool) {
    let me = ctx.id;
    let mut close_me = false;
    for c in ctx.st.clients.values().filter(|c| which(c)) {
        if c.id == me {
            close_me = true;
        } else {
            c.kill.cancel();
        }
    }
    if close_me {
        ctx.action = crate::dispatch::Action::Close;
    }
}

/// ACL DRYRUN user command [arg ...]: OK, or why the user may not run it.
fn dryrun(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let Some(user) = ctx.st.acl.users.get(&args[2][..]) else {
        return Err(not_found(&args[2]));
    };
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
    match user.check(spec, call) {
        Ok(()) => ctx.out.ok(),
        Err(d) => {
            let msg = match d {
                Denied::Command => format!(
                    "This user has no permissions to run the '{}' command",
                    spec.full_name
                ),
                Denied::Key(i) => format!(
                    "This user has no permissions to access the '{}' key",
                    String::from_utf8_lossy(&call[i])
                ),
                Denied::Channel(i) => format!(
                    "This user has no permissions to access the '{}' channel",
                    String::from_utf8_lossy(&call[i])
                ),
            };
            ctx.out.bulk(msg.as_bytes());
        }
    }
    Ok(())
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
        out.bulk(e.reason.as_bytes());
        out.bulk(b"context");
        out.bulk(e.context.as_bytes());
        out.bulk(b"object");
        out.bulk(&e.object);
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
