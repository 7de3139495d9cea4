//! FUNCTION (LOAD, DELETE, LIST, STATS, DUMP, RESTORE, FLUSH, KILL, HELP),
//! FCALL and FCALL_RO (the libraries are in [`crate::script::functions`]).

use bytes::Bytes;
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{reply_help, Ctx, ServerHandler};
use crate::script::functions::{self, Functions, RestorePolicy};
use crate::script::run;

pub const COMMANDS: &[(&str, ServerHandler)] = &[
    ("fcall", fcall),
    ("fcall_ro", fcall_ro),
    ("function", function),
];

/// The node's libraries, started on first use; put them back after.
fn take(ctx: &mut Ctx<'_>) -> Result<Box<Functions>, CmdError> {
    functions::take(ctx.st).map_err(crate::cmd_script::lua_start_failed)
}

/// A change to the libraries: into the write stream as called (replicas and
/// the AOF apply the same command), and counted for the save points.
fn propagate(ctx: &mut Ctx<'_>, args: &[Bytes]) {
    ctx.st.store.dirty += 1;
    let db = ctx.client().db;
    crate::stream::propagate_call(ctx.st, db, args);
}

fn fcall(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, false)
}
fn fcall_ro(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    generic(ctx, args, true)
}

fn generic(ctx: &mut Ctx<'_>, args: &[Bytes], read_only: bool) -> CmdResult {
    crate::cmd_script::monitor_call(ctx, args);
    let Some(lib) = ctx.st.functions.take() else {
        return Err(CmdError::msg("ERR Function not found"));
    };
    let result = call(ctx, &lib, args, read_only);
    ctx.st.functions = Some(lib);
    result
}

/// Redis's order: the function, then the number of keys, then the flags.
fn call(ctx: &mut Ctx<'_>, lib: &Functions, args: &[Bytes], read_only: bool) -> CmdResult {
    let f = lib
        .get(&args[1])
        .ok_or(CmdError::msg("ERR Function not found"))?;
    let numkeys: i64 = std::str::from_utf8(&args[2])
        .ok()
        .and_then(|s| s.parse().ok())
        .ok_or(CmdError::msg("ERR Bad number of keys provided"))?;
    if numkeys > (args.len() - 3) as i64 {
        return Err(CmdError::msg(
            "ERR Number of keys can't be greater than number of args",
        ));
    }
    if numkeys < 0 {
        return Err(CmdError::msg("ERR Number of keys can't be negative"));
    }
    if let Some(msg) = crate::cmd_script::refuse_flags(ctx, f.flags, read_only) {
        return Err(CmdError::msg(msg));
    }
    let split = 3 + numkeys as usize;
    let call = run::Call {
        name: f.name.as_bytes(),
        function: true,
        keys: &args[3..split],
        argv: &args[split..],
        read_only,
    };
    run::eval(ctx, &lib.engine, &f.callback, f.flags, call);
    Ok(())
}

const HELP: &[&str] = &[
    "FUNCTION <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "LOAD [REPLACE] <FUNCTION CODE>",
    "    Create a new library with the given library name and code.",
    "DELETE <LIBRARY NAME>",
    "    Delete the given library.",
    "LIST [LIBRARYNAME PATTERN] [WITHCODE]",
    "    Return general information on all the libraries:",
    "    * Library name",
    "    * The engine used to run the Library",
    "    * Library description",
    "    * Functions list",
    "    * Library code (if WITHCODE is given)",
    "    It also possible to get only function that matches a pattern using LIBRARYNAME argument.",
    "STATS",
    "    Return information about the current function running:",
    "    * Function name",
    "    * Command used to run the function",
    "    * Duration in MS that the function is running",
    "    If no function is running, return nil",
    "    In addition, returns a list of available engines.",
    "KILL",
    "    Kill the current running function.",
    "FLUSH [ASYNC|SYNC]",
    "    Delete all the libraries.",
    "    When called without the optional mode argument, the behavior is determined by the",
    "    lazyfree-lazy-user-flush configuration directive. Valid modes are:",
    "    * ASYNC: Asynchronously flush the libraries.",
    "    * SYNC: Synchronously flush the libraries.",
    "DUMP",
    "    Return a serialized payload representing the current libraries, can be restored using FUNCTION RESTORE command",
    "RESTORE <PAYLOAD> [FLUSH|APPEND|REPLACE]",
    "    Restore the libraries represented by the given payload, it is possible to give a restore policy to",
    "    control how to handle existing libraries (default APPEND):",
    "    * FLUSH: delete all existing libraries.",
    "    * APPEND: appends the restored libraries to the existing libraries. On collision, abort.",
    "    * REPLACE: appends the restored libraries to the existing libraries, On collision, replace the old",
    "      libraries with the new libraries (notice that even on this option there is a chance of failure",
    "      in case of functions name collision with another library).",
    "HELP",
    "    Prints this help.",
];

fn function(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = String::from_utf8_lossy(&args[1]).to_ascii_lowercase();
    match sub.as_str() {
        "help" => reply_help(ctx.out, HELP),
        "load" => {
            let mut replace = false;
            let mut pos = 2;
            while pos < args.len() - 1 {
                if !args[pos].eq_ignore_ascii_case(b"replace") {
                    return Err(CmdError::msg(format!(
                        "ERR Unknown option given: {}",
                        tandem_resp::c_str(&args[pos])
                    )));
                }
                replace = true;
                pos += 1;
            }
            if pos >= args.len() {
                return Err(CmdError::msg("ERR Function code is missing"));
            }
            let mut lib = take(ctx)?;
            let r = lib.load(args[pos].clone(), replace);
            ctx.st.functions = Some(lib);
            let name = r.map_err(CmdError::msg)?;
            propagate(ctx, args);
            ctx.out.bulk(name.as_bytes());
        }
        "delete" => {
            let found = ctx
                .st
                .functions
                .as_mut()
                .is_some_and(|f| f.delete(&args[2]));
            if !found {
                return Err(CmdError::msg("ERR Library not found"));
            }
            propagate(ctx, args);
            ctx.out.ok();
        }
        "flush" => {
            if args.len() > 3 {
                return Err(crate::cmd_client::sub_syntax(&args[1], "FUNCTION"));
            }
            if args.len() == 3
                && !args[2].eq_ignore_ascii_case(b"async")
                && !args[2].eq_ignore_ascii_case(b"sync")
            {
                return Err(CmdError::msg(
                    "ERR FUNCTION FLUSH only supports SYNC|ASYNC option",
                ));
            }
            // The interpreter goes with the libraries, as Redis resets it.
            ctx.st.functions = None;
            propagate(ctx, args);
            ctx.out.ok();
        }
        "list" => list(ctx, args)?,
        "stats" => {
            let (libs, funcs) = ctx
                .st
                .functions
                .as_ref()
                .map_or((0, 0), |f| (f.library_count(), f.function_count()));
            let out = &mut *ctx.out;
            out.map(2);
            out.bulk(b"running_script");
            // Nothing runs while a command is processed: a function holds
            // the node until it ends.
            out.null();
            out.bulk(b"engines");
            out.map(1);
            out.bulk(b"LUA");
            out.map(2);
            out.bulk(b"libraries_count");
            out.int(libs as i64);
            out.bulk(b"functions_count");
            out.int(funcs as i64);
        }
        "dump" => {
            let codes = functions::codes(ctx.st);
            let payload = tandem_rdb::dump_functions(codes.iter().map(|c| &c[..]));
            ctx.out.bulk(&payload);
        }
        "restore" => {
            if args.len() > 4 {
                return Err(crate::cmd_client::sub_syntax(&args[1], "FUNCTION"));
            }
            let policy = match args.get(3) {
                None => RestorePolicy::Append,
                Some(p) if p.eq_ignore_ascii_case(b"append") => RestorePolicy::Append,
                Some(p) if p.eq_ignore_ascii_case(b"replace") => RestorePolicy::Replace,
                Some(p) if p.eq_ignore_ascii_case(b"flush") => RestorePolicy::Flush,
                Some(_) => {
                    return Err(CmdError::msg(
                        "ERR Wrong restore policy given, value should be either FLUSH, APPEND or REPLACE.",
                    ))
                }
            };
            let codes = tandem_rdb::parse_function_payload(&args[2])
                .map_err(|e| CmdError::msg(format!("ERR {}", e.kind)))?;
            let mut lib = take(ctx)?;
            let r = lib.restore(codes, policy);
            ctx.st.functions = Some(lib);
            r.map_err(CmdError::msg)?;
            propagate(ctx, args);
            ctx.out.ok();
        }
        "kill" => return Err(CmdError::msg("NOTBUSY No scripts in execution right now.")),
        _ => return Err(crate::cmd_client::unknown_sub(&args[1], "FUNCTION")),
    }
    Ok(())
}

/// FUNCTION LIST [WITHCODE] [LIBRARYNAME pattern] (libraries by name).
fn list(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut with_code = false;
    let mut pattern: Option<&Bytes> = None;
    let mut i = 2;
    while i < args.len() {
        let a = &args[i];
        if !with_code && a.eq_ignore_ascii_case(b"withcode") {
            with_code = true;
        } else if pattern.is_none() && a.eq_ignore_ascii_case(b"libraryname") {
            if i + 1 >= args.len() {
                return Err(CmdError::msg("ERR library name argument was not given"));
            }
            i += 1;
            pattern = Some(&args[i]);
        } else {
            // Redis sends this one unformatted (addReplyErrorSds): CR and LF
            // become spaces, none trimmed.
            let text = format!("ERR Unknown argument {}", tandem_resp::c_str(a));
            return Err(CmdError::msg(text.replace(['\r', '\n'], " ")));
        }
        i += 1;
    }
    let out = &mut *ctx.out;
    let Some(lib) = ctx.st.functions.as_ref() else {
        out.array(0);
        return Ok(());
    };
    let chosen: Vec<_> = lib
        .libraries()
        .filter(|(name, _)| {
            pattern.is_none_or(|p| tandem_store::util::glob_match(p, name.as_bytes(), true))
        })
        .collect();
    out.array(chosen.len());
    for (name, l) in chosen {
        out.map(if with_code { 4 } else { 3 });
        out.bulk(b"library_name");
        out.bulk(name.as_bytes());
        out.bulk(b"engine");
        out.bulk(b"LUA");
        out.bulk(b"functions");
        out.array(l.functions.len());
        for f in &l.functions {
            out.map(3);
            out.bulk(b"name");
            out.bulk(f.name.as_bytes());
            out.bulk(b"description");
            match &f.description {
                Some(d) => out.bulk(d.as_bytes()),
                None => out.null(),
            }
            out.bulk(b"flags");
            let names: Vec<&str> = crate::script::FLAG_NAMES
                .iter()
                .filter(|(_, bit)| f.flags & bit != 0)
                .map(|(n, _)| *n)
                .collect();
            out.set(names.len());
            for n in names {
                out.simple(n);
            }
        }
        if with_code {
            out.bulk(b"library_code");
            out.bulk(&l.code);
        }
    }
    Ok(())
}
