//! EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT (the engine is in
//! [`crate::script`]).

use bytes::Bytes;
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{reply_help, Ctx, ServerHandler};
use crate::script::{flag, run, Engine};

pub const COMMANDS: &[(&str, ServerHandler)] = &[
    ("eval", eval),
    ("evalsha", evalsha),
    ("eval_ro", eval_ro),
    ("evalsha_ro", evalsha_ro),
    ("script", script),
];

const NOSCRIPT: &str = "NOSCRIPT No matching script. Please use EVAL.";

/// Puts a newly cached script into the write stream as `SCRIPT LOAD`, so the
/// replicas (and the AOF) have it too: after a failover, EVALSHA of a script
/// the old master knew still runs. (Redis 7.0 does not replicate its script
/// cache; its clients fall back to EVAL on NOSCRIPT.)
fn replicate_load(ctx: &mut Ctx<'_>, body: &Bytes) {
    let db = ctx.client().db;
    let args = [
        Bytes::from_static(b"SCRIPT"),
        Bytes::from_static(b"LOAD"),
        body.clone(),
    ];
    crate::stream::propagate_call(ctx.st, db, &args);
}

fn eval(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, false, false)
}
fn evalsha(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, true, false)
}
fn eval_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, false, true)
}
fn evalsha_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, true, true)
}

/// [`crate::script::take_engine`], its failure as an error reply.
fn engine(ctx: &mut Ctx<'_>) -> Result<Box<Engine>, CmdError> {
    crate::script::take_engine(ctx.st).map_err(lua_start_failed)
}

/// An interpreter that could not start (EVAL, FCALL, FUNCTION LOAD...):
/// logged, and an error reply.
pub(crate) fn lua_start_failed(e: mlua::Error) -> CmdError {
    tracing::error!("cannot start the Lua interpreter: {e}");
    CmdError::msg("ERR cannot start the Lua interpreter")
}

/// MONITOR shows a script or function call before the commands it runs
/// (which is why the scripting commands are flagged skip_monitor).
pub(crate) fn monitor_call(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    if !ctx.st.monitors.is_empty() {
        if let Some((_, e)) = ctx.shared.commands.get(&args[0]) {
            crate::monitor::feed(ctx, e.spec, args);
        }
    }
}

/// Whether this node is above `maxmemory` now.
fn over_maxmemory(ctx: &Ctx<'_>) -> bool {
    let max = ctx.st.store.config.maxmemory;
    max > 0 && crate::cron::allocated_bytes().unwrap_or(0) > max
}

/// Redis's checks before a script with a shebang (or a function) runs: its
/// flags promise what it may do, and Redis derives the command's flags from
/// them (a script that may write is refused on a replica or over `maxmemory`
/// with the errors any write gets there).
pub(crate) fn refuse_flags(ctx: &mut Ctx<'_>, flags: u8, read_only: bool) -> Option<String> {
    if flags & flag::SHEBANG == 0 || flags & flag::NO_WRITES != 0 {
        return None;
    }
    if flags & flag::ALLOW_OOM == 0 && over_maxmemory(ctx) {
        return Some("OOM command not allowed when used memory > 'maxmemory'.".into());
    }
    if read_only {
        return Some("ERR Can not execute a script with write flag using *_ro command.".into());
    }
    static SET: std::sync::OnceLock<&'static tandem_commands::CommandSpec> =
        std::sync::OnceLock::new();
    let set = SET.get_or_init(|| tandem_commands::lookup(b"set").expect("SET is in the table"));
    let probe = [Bytes::from_static(b"set")];
    crate::repl::refuse(ctx, set, &probe)
}

fn generic(ctx: &mut Ctx<'_>, args: &[Bytes], by_sha: bool, read_only: bool) -> CmdResult {
    monitor_call(ctx, args);
    if by_sha && args[1].len() != 40 {
        // As Redis: no script can match, before numkeys is even read.
        return Err(CmdError::msg(NOSCRIPT));
    }
    let numkeys: i64 = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(CmdError::NotInteger)?;
    if numkeys > (args.len() - 3) as i64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CmdError::msg("ERR Number of keys can't be negative"));
    }
    let mut engine = engine(ctx)?;
    let sha = if by_sha {
        // The length is 40 (checked above); names are case-insensitive.
        let mut sha = [0u8; 40];
        sha.copy_from_slice(&args[1]);
        sha.make_ascii_lowercase();
        Ok(sha)
    } else {
        engine
            .load_new(&args[1])
            .map_err(CmdError::msg)
            .map(|(sha, new)| {
                if new {
                    replicate_load(ctx, &args[1]);
                }
                sha
            })
    };
    let result = sha.and_then(|sha| {
        let script = engine.get(&sha).ok_or(CmdError::msg(NOSCRIPT))?;
        if let Some(msg) = refuse_flags(ctx, script.flags, read_only) {
            return Err(CmdError::msg(msg));
        }
        let split = 3 + numkeys as usize;
        let call = run::Call {
            name: &sha,
            function: false,
            keys: &args[3..split],
            argv: &args[split..],
            read_only,
        };
        run::eval(ctx, &engine, &script.func, script.flags, call);
        Ok(())
    });
    ctx.st.scripts = Some(engine);
    result
}

const HELP: &[&str] = &[
    "SCRIPT <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DEBUG (YES|SYNC|NO)",
    "    Set the debug mode for subsequent scripts executed.",
    "EXISTS <sha1> [<sha1> ...]",
    "    Return information about the existence of the scripts in the script cache.",
    "FLUSH [ASYNC|SYNC]",
    "    Flush the Lua scripts cache. Very dangerous on replicas.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the scripts cache.",
    "    * SYNC: Synchronously flush the scripts cache.",
    "KILL",
    "    Kill the currently executing Lua script.",
    "LOAD <script>",
    "    Load a script into the scripts cache without executing it.",
    "HELP",
    "    Prints this help.",
];

fn script(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "help" => reply_help(ctx.out, HELP),
        "load" => {
            let mut engine = engine(ctx)?;
            let r = engine.load_new(&args[2]);
            ctx.st.scripts = Some(engine);
            let (sha, new) = r.map_err(CmdError::msg)?;
            if new {
                replicate_load(ctx, &args[2]);
            }
            ctx.out.bulk(&sha);
        }
        "exists" => {
            let out = &mut *ctx.out;
            out.array(args.len() - 2);
            for sha in &args[2..] {
                let found = ctx
                    .st
                    .scripts
                    .as_ref()
                    .is_some_and(|e| e.get(sha).is_some());
                out.int(found as i64);
            }
        }
        "flush" => {
            if args.len() > 3
                || (args.len() == 3
                    && !args[2].eq_ignore_ascii_case(b"async")
                    && !args[2].eq_ignore_ascii_case(b"sync"))
            {
                return Err(CmdError::msg(
                    "ERR SCRIPT FLUSH only support SYNC|ASYNC option",
                ));
            }
            // The interpreter goes with its cache, as Redis resets Lua.
            ctx.st.scripts = None;
            let db = ctx.client().db;
            crate::stream::propagate_call(
                ctx.st,
                db,
                &[Bytes::from_static(b"SCRIPT"), Bytes::from_static(b"FLUSH")],
            );
            ctx.out.ok();
        }
        // No script is ever running while a command is processed: a script
        // holds the node until it ends (see crate::script).
        "kill" => return Err(CmdError::msg("NOTBUSY No scripts in execution right now.")),
        "debug" => {
            if args[2].eq_ignore_ascii_case(b"no") {
                ctx.out.ok();
            } else if args[2].eq_ignore_ascii_case(b"yes") || args[2].eq_ignore_ascii_case(b"sync")
            {
                return Err(CmdError::msg(
                    "ERR The Lua debugger (SCRIPT DEBUG YES|SYNC) is not supported by Tandem",
                ));
            } else {
                return Err(CmdError::msg("ERR Use SCRIPT DEBUG YES/SYNC/NO"));
            }
        }
        _ => return Err(crate::cmd_client::unknown_sub(&args[1], "SCRIPT")),
    }
    Ok(())
}
