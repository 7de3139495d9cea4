//! MONITOR: every command the node runs, as a line to each monitoring client,
//! as Redis 7.0 prints it:
//!
//! ```text
//! +1733554000.123456 [0 127.0.0.1:50412] "SET" "k" "a\x01\n"
//! ```
//!
//! * A command is shown after it ran (its database is the client's after it,
//!   so `SELECT 3` shows `[3 ...]`), also when it failed; not when it was
//!   refused before running (arity, unknown, NOAUTH, queued in MULTI). A
//!   transaction shows MULTI, then each command, then EXEC.
//! * Administrative commands (`admin` in COMMAND: CONFIG, DEBUG, CLIENT KILL,
//!   ...) are not shown; passwords of AUTH and HELLO ... AUTH are `(redacted)`.
//! * A monitor sees its own commands after their replies; it may not touch the
//!   keyspace (Redis treats it as a replica); RESET ends monitoring.

use std::fmt::Write as _;

use bytes::Bytes;
use tandem_commands::{flags, CommandSpec};
use tandem_store::util::eq_ic;
use tandem_store::CmdResult;

use crate::dispatch::{Ctx, ServerHandler};
use crate::state::State;

pub const COMMANDS: &[(&str, ServerHandler)] = &[("monitor", monitor)];

fn monitor(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if ctx.in_multi {
        return Err(tandem_store::CmdError::msg(
            "ERR MONITOR isn't allowed for DENY BLOCKING client",
        ));
    }
    let id = ctx.id;
    let c = ctx.client();
    // Already a monitor (or a replica): ignored, without a reply, as Redis.
    if c.monitor || c.repl_type.is_some() {
        return Ok(());
    }
    c.monitor = true;
    ctx.st.monitors.push(id);
    ctx.out.ok();
    Ok(())
}

/// Ends monitoring for `id` (RESET, disconnect).
pub fn stop(st: &mut State, id: u64) {
    if let Some(c) = st.clients.get_mut(&id) {
        if std::mem::take(&mut c.monitor) {
            st.monitors.retain(|&m| m != id);
        }
    }
}

/// Shows a command that ran to every monitor (called while monitors exist).
#[cold]
#[inline(never)]
pub fn feed(ctx: &mut Ctx<'_>, spec: &'static CommandSpec, args: &[Bytes]) {
    if spec.resolve(args).has(flags::ADMIN) {
        return;
    }
    let Some(c) = ctx.st.clients.get(&ctx.id) else {
        return;
    };
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let in_script = ctx.st.in_script;
    let mut line = format!(
        "+{}.{:06} [{} {}]",
        now.as_secs(),
        now.subsec_micros(),
        c.db,
        if in_script { "lua" } else { c.addr.as_str() }
    );
    let redacted = redacted(args);
    for (i, a) in args.iter().enumerate() {
        line.push(' ');
        if redacted.contains(&i) {
            line.push_str("\"(redacted)\"");
        } else {
            repr(&mut line, a);
        }
    }
    line.push_str("\r\n");
    let line = Bytes::from(line);
    for m in ctx.st.monitors.clone() {
        if m == ctx.id && in_script {
            // A script's reply buffer is not the connection's.
            continue;
        } else if m == ctx.id {
            // Our own command: after its reply.
            ctx.out.raw(&line);
        } else {
            ctx.st.send_to(m, line.clone());
        }
    }
}

/// The argument positions Redis redacts: AUTH's, and HELLO's AUTH pair.
pub(crate) fn redacted(args: &[Bytes]) -> Vec<usize> {
    if eq_ic(&args[0], "AUTH") {
        return (1..args.len()).collect();
    }
    if eq_ic(&args[0], "HELLO") {
        // Options after the protocol version, parsed as HELLO does.
        let mut j = 2;
        while j < args.len() {
            let more = args.len() - 1 - j;
            if eq_ic(&args[j], "AUTH") && more >= 2 {
                return vec![j + 1, j + 2];
            } else if eq_ic(&args[j], "SETNAME") && more >= 1 {
                j += 2;
            } else {
                break;
            }
        }
    }
    Vec::new()
}

/// Redis's `sdscatrepr`: a quoted string with C escapes.
fn repr(out: &mut String, s: &[u8]) {
    out.push('"');
    for &b in s {
        match b {
            b'\\' => out.push_str("\\\\"),
            b'"' => out.push_str("\\\""),
            b'\n' => out.push_str("\\n"),
            b'\r' => out.push_str("\\r"),
            b'\t' => out.push_str("\\t"),
            7 => out.push_str("\\a"),
            8 => out.push_str("\\b"),
            0x20..=0x7e => out.push(b as char),
            _ => {
                let _ = write!(out, "\\x{b:02x}");
            }
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repr_escapes_as_sdscatrepr() {
        let mut s = String::new();
        repr(&mut s, b"a b\x01\n\"q\\\x00\xff\t\x07\x08\r\x7f~");
        assert_eq!(s, r#""a b\x01\n\"q\\\x00\xff\t\a\b\r\x7f~""#);
    }

    #[test]
    fn hello_auth_is_redacted_only_when_parsed() {
        let a = |v: &[&str]| -> Vec<Bytes> {
            v.iter()
                .map(|s| Bytes::copy_from_slice(s.as_bytes()))
                .collect()
        };
        assert_eq!(redacted(&a(&["auth", "pw"])), vec![1]);
        assert_eq!(redacted(&a(&["HELLO", "3", "AUTH", "u", "p"])), vec![3, 4]);
        assert_eq!(
            redacted(&a(&["HELLO", "3", "SETNAME", "n", "auth", "u", "p"])),
            vec![5, 6]
        );
        assert!(redacted(&a(&["HELLO", "3", "AUTH", "x"])).is_empty());
        assert!(redacted(&a(&["GET", "AUTH"])).is_empty());
    }
}
