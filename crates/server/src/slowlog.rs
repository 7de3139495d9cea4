//! SLOWLOG: the commands that took at least `slowlog-log-slower-than`
//! microseconds (negative: off, 0: every command), newest first, at most
//! `slowlog-max-len` of them, as Redis 7.0 keeps them: an id, the Unix time,
//! the duration, up to 32 arguments of up to 128 bytes each (with "... (N more
//! arguments|bytes)" for the rest; passwords redacted), the client's address
//! and name. Commands flagged `skip_slowlog` (EXEC: its commands are logged
//! one by one) are left out.

use std::collections::VecDeque;

use bytes::Bytes;
use tandem_store::util::{eq_ic, parse_i64};
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{Ctx, ServerHandler};
use crate::state::State;

pub const COMMANDS: &[(&str, ServerHandler)] = &[("slowlog", slowlog)];

const MAX_ARGC: usize = 32;
const MAX_STRING: usize = 128;

#[derive(Debug)]
struct Entry {
    id: u64,
    time: i64,
    usec: u64,
    args: Vec<Bytes>,
    peer: String,
    name: Bytes,
}

#[derive(Debug, Default)]
pub struct Slowlog {
    entries: VecDeque<Entry>,
    next_id: u64,
}

/// Logs the command client `id` just ran in `usec` microseconds, if slow
/// enough (the caller checked `slowlog-log-slower-than` is not negative).
#[cold]
#[inline(never)]
pub fn push(st: &mut State, id: u64, args: &[Bytes], usec: u64) {
    let max_len = st.eff.slowlog_max_len;
    let Some(c) = st.clients.get(&id) else { return };
    let redacted = crate::monitor::redacted(args);
    let keep = args.len().min(MAX_ARGC);
    let mut logged = Vec::with_capacity(keep);
    for (i, a) in args.iter().enumerate().take(keep) {
        if keep < args.len() && i == keep - 1 {
            logged.push(Bytes::from(format!(
                "... ({} more arguments)",
                args.len() - keep + 1
            )));
        } else if redacted.contains(&i) {
            logged.push(Bytes::from_static(b"(redacted)"));
        } else if a.len() > MAX_STRING {
            let mut s = a[..MAX_STRING].to_vec();
            s.extend_from_slice(format!("... ({} more bytes)", a.len() - MAX_STRING).as_bytes());
            logged.push(Bytes::from(s));
        } else {
            logged.push(a.clone());
        }
    }
    let entry = Entry {
        id: st.slowlog.next_id,
        time: crate::dispatch::now_ms() / 1000,
        usec,
        args: logged,
        peer: c.addr.clone(),
        name: c.name.clone().unwrap_or_default(),
    };
    let log = &mut st.slowlog;
    log.next_id += 1;
    log.entries.push_front(entry);
    log.entries.truncate(max_len);
}

const HELP: &[&str] = &[
    "SLOWLOG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "GET [<count>]",
    "    Return top <count> entries from the slowlog (default: 10, -1 mean all).",
    "    Entries are made of:",
    "    id, timestamp, time in microseconds, arguments array, client IP and port,",
    "    client name",
    "LEN",
    "    Return the length of the slowlog.",
    "RESET",
    "    Reset the slowlog.",
    "HELP",
    "    Prints this help.",
];

fn slowlog(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let n = args.len();
    if eq_ic(sub, "HELP") && n == 2 {
        crate::dispatch::reply_help(ctx.out, HELP);
    } else if eq_ic(sub, "RESET") && n == 2 {
        ctx.st.slowlog.entries.clear();
        ctx.out.ok();
    } else if eq_ic(sub, "LEN") && n == 2 {
        ctx.out.int(ctx.st.slowlog.entries.len() as i64);
    } else if eq_ic(sub, "GET") && (n == 2 || n == 3) {
        let count = if n == 3 {
            match parse_i64(&args[2]) {
                Some(c) if c >= -1 => c,
                _ => {
                    return Err(CmdError::msg(
                        "ERR count should be greater than or equal to -1",
                    ))
                }
            }
        } else {
            10
        };
        let log = &ctx.st.slowlog.entries;
        let take = if count < 0 {
            log.len()
        } else {
            log.len().min(count as usize)
        };
        let out = &mut *ctx.out;
        out.array(take);
        for e in log.iter().take(take) {
            out.array(6);
            out.int(e.id as i64);
            out.int(e.time);
            out.int(e.usec as i64);
            out.array(e.args.len());
            for a in &e.args {
                out.bulk(a);
            }
            out.bulk(e.peer.as_bytes());
            out.bulk(&e.name);
        }
    } else {
        return Err(crate::cmd_client::sub_syntax(sub, "SLOWLOG"));
    }
    Ok(())
}
