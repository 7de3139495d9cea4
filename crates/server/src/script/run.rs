//! One script call: its environment, `redis.call` through the ordinary
//! dispatch, its reply, and its writes as one block of the write stream.

use std::cell::RefCell;

use bytes::Bytes;
use mlua::{Function, Lua, MultiValue, Table, Value, Variadic};
use tandem_commands::flags;
use tandem_resp::{Proto, ReplyBuf};

use super::{convert, flag, Engine, KILLED};
use crate::dispatch::{Action, Ctx};

/// How a script was called.
pub struct Call<'a> {
    pub sha: [u8; 40],
    pub keys: &'a [Bytes],
    pub argv: &'a [Bytes],
    /// EVAL_RO / EVALSHA_RO.
    pub read_only: bool,
}

/// The running script's side of the calls it makes.
struct RunCtx<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    /// The script's own database (SELECT inside it does not move the caller).
    db: usize,
    /// The protocol of the replies the script gets (`redis.setresp`).
    proto: Proto,
    /// Refuse writes (EVAL_RO, `no-writes`).
    read_only: bool,
    /// `redis.set_repl(redis.REPL_NONE)`: writes are not propagated.
    no_repl: bool,
}

/// The error table Redis raises or returns for `msg` ("CODE text").
fn err_table(lua: &Lua, msg: &str) -> mlua::Result<Value> {
    let t = lua.create_table_with_capacity(0, 1)?;
    t.raw_set("err", msg)?;
    Ok(Value::Table(t))
}

/// A Lua value as a command argument: strings as they are, numbers in `%.17g`.
fn arg(v: &Value) -> Option<Bytes> {
    let d = match v {
        Value::String(s) => return Some(Bytes::copy_from_slice(&s.as_bytes())),
        Value::Integer(i) => *i as f64,
        Value::Number(d) => *d,
        _ => return None,
    };
    let mut tmp = [0u8; 40];
    let n = tandem_resp::float::fmt_g17(d, &mut tmp);
    Some(Bytes::copy_from_slice(&tmp[..n]))
}

impl RunCtx<'_, '_> {
    /// `redis.call` (raise) and `redis.pcall`: the reply as a Lua value, and
    /// whether the wrapper must raise it.
    fn call(
        &mut self,
        lua: &Lua,
        engine: &Engine,
        raise: bool,
        args: &[Value],
    ) -> mlua::Result<(Value, bool)> {
        let fail = |msg: &str| Ok((err_table(lua, msg)?, raise));
        if args.is_empty() {
            return fail("ERR Please specify at least one argument for this redis lib call");
        }
        let Some(args) = args.iter().map(arg).collect::<Option<Vec<Bytes>>>() else {
            return fail("ERR Lua redis lib command arguments must be strings or integers");
        };
        let shared = self.ctx.shared;
        let Some((idx, entry)) = shared.commands.get(&args[0]) else {
            return fail("ERR Unknown Redis command called from script");
        };
        let mut spec = entry.spec;
        if !spec.subcommands.is_empty() && args.len() > 1 {
            match spec.subcommand(&args[1]) {
                Some(sub) => spec = sub,
                None => return fail("ERR Unknown Redis command called from script"),
            }
        }
        if !entry.spec.arity_ok(args.len()) || !spec.arity_ok(args.len()) {
            return fail("ERR Wrong number of args calling Redis command from script");
        }
        if spec.has(flags::NOSCRIPT) || entry.spec.has(flags::NOSCRIPT) {
            return fail("ERR This Redis command is not allowed from script");
        }
        if spec.has(flags::WRITE) {
            if self.read_only {
                return fail("ERR Write commands are not allowed from read-only scripts.");
            }
            if let Some(msg) = crate::repl::refuse(self.ctx, spec, &args) {
                return fail(&msg);
            }
        }
        let mut out = ReplyBuf::new(self.proto);
        let caller_db = {
            let c = self.ctx.client();
            std::mem::replace(&mut c.db, self.db)
        };
        let dirty = self.ctx.st.store.dirty;
        let prop_len = self.ctx.st.stream.deferred_len();
        {
            let mut sub = Ctx {
                st: &mut *self.ctx.st,
                shared,
                id: self.ctx.id,
                out: &mut out,
                now: self.ctx.now,
                clock: self.ctx.clock,
                in_multi: true,
                action: Action::None,
            };
            crate::dispatch::call(&mut sub, idx, &args);
            self.ctx.clock = sub.clock;
        }
        if self.ctx.st.store.dirty != dirty {
            engine.watch_wrote();
            if self.no_repl {
                self.ctx.st.stream.truncate_deferred(prop_len);
            }
        }
        let c = self.ctx.client();
        self.db = std::mem::replace(&mut c.db, caller_db);
        let (v, is_err) = convert::reply_to_lua(lua, out.as_bytes())?;
        Ok((v, raise && is_err))
    }
}

/// The message handler scripts run under (Redis's `__redis__err__handler`):
/// turns any error into an error table carrying the script line it came from.
pub fn error_handler(lua: &Lua, err: Value) -> mlua::Result<Table> {
    let t = match err {
        Value::Table(t) => t,
        other => {
            let msg = match &other {
                Value::String(s) => format!("ERR {}", s.to_string_lossy()),
                Value::Error(e) => format!("ERR {}", error_text(e)),
                Value::Nil => "ERR nil".to_string(),
                Value::Boolean(b) => format!("ERR {b}"),
                v => format!(
                    "ERR {}",
                    lua.coerce_string(v.clone())
                        .ok()
                        .flatten()
                        .map(|s| s.to_string_lossy())
                        .unwrap_or_else(|| v.type_name().to_string())
                ),
            };
            let t = lua.create_table_with_capacity(0, 3)?;
            t.raw_set("err", msg)?;
            t
        }
    };
    for level in 0..200 {
        let Some(found) = lua.inspect_stack(level, |d| {
            (d.source().source.as_deref() == Some("@user_script")).then(|| d.current_line())
        }) else {
            break;
        };
        if let Some(line) = found {
            t.raw_set("source", "@user_script")?;
            if let Some(line) = line {
                t.raw_set("line", line)?;
            }
            break;
        }
    }
    Ok(t)
}

/// The message of an error raised from Rust (a library function, the hook).
fn error_text(e: &mlua::Error) -> String {
    match e {
        mlua::Error::RuntimeError(m) => m.clone(),
        mlua::Error::CallbackError { cause, .. } => error_text(cause),
        mlua::Error::MemoryError(m) => m.clone(),
        e => e.to_string(),
    }
}

/// The error reply for a failed run: the message, then where it happened.
fn run_error(t: &Table, sha: &[u8; 40]) -> mlua::Result<String> {
    let msg = match t.raw_get::<Value>("err")? {
        Value::String(s) => s.to_string_lossy(),
        _ => "ERR execution failure".to_string(),
    };
    let line: Option<i64> = t.raw_get("line")?;
    let source: Option<String> = t.raw_get("source")?;
    Ok(match (source, line) {
        (Some(src), Some(line)) => format!(
            "{msg} script: {}, on {src}:{line}.",
            String::from_utf8_lossy(sha)
        ),
        _ => msg,
    })
}

/// Runs a cached script for the client of `ctx`, writing its reply.
pub fn eval(ctx: &mut Ctx<'_>, engine: &Engine, func: &Function, script_flags: u8, call: Call<'_>) {
    let limit_ms = ctx.st.config.int("lua-time-limit").max(0) as u64;
    let db = ctx.client().db;
    let rc = RefCell::new(RunCtx {
        ctx,
        db,
        proto: Proto::Resp2,
        read_only: call.read_only || script_flags & flag::NO_WRITES != 0,
        no_repl: false,
    });
    let in_tx = rc.borrow().ctx.in_multi;
    if !in_tx {
        // The script's writes go to the stream as one MULTI/EXEC block.
        rc.borrow_mut().ctx.st.stream.begin_tx();
    }
    engine.watch_start(limit_ms);
    let lua = &engine.lua;
    let result = lua.scope(|scope| {
        let call_fn =
            scope.create_function(|lua, (raise, args): (bool, Variadic<Value>)| {
                match rc.try_borrow_mut() {
                    Ok(mut r) => r.call(lua, engine, raise, &args),
                    Err(_) => Ok((err_table(lua, "ERR redis.call is not reentrant")?, true)),
                }
            })?;
        let setresp = scope.create_function(|_, v: i64| {
            if let Ok(mut r) = rc.try_borrow_mut() {
                r.proto = if v == 3 { Proto::Resp3 } else { Proto::Resp2 };
            }
            Ok(())
        })?;
        let set_repl = scope.create_function(|_, v: i64| {
            if let Ok(mut r) = rc.try_borrow_mut() {
                r.no_repl = v == 0;
            }
            Ok(())
        })?;
        engine.hidden.raw_set("call", call_fn)?;
        engine.hidden.raw_set("setresp", setresp)?;
        engine.hidden.raw_set("set_repl", set_repl)?;
        let keys = lua.create_table_with_capacity(call.keys.len(), 0)?;
        for (i, k) in call.keys.iter().enumerate() {
            keys.raw_set(i + 1, lua.create_string(k)?)?;
        }
        let argv = lua.create_table_with_capacity(call.argv.len(), 0)?;
        for (i, a) in call.argv.iter().enumerate() {
            argv.raw_set(i + 1, lua.create_string(a)?)?;
        }
        let env = lua.create_table_with_capacity(0, 3)?;
        env.raw_set("KEYS", keys)?;
        env.raw_set("ARGV", argv)?;
        env.raw_set("_G", &env)?;
        env.set_metatable(Some(engine.env_meta.clone()))?;
        func.set_environment(env)?;
        let runner: Function = engine.hidden.raw_get("run")?;
        let mut res: MultiValue = runner.call(func.clone())?;
        let ok = matches!(res.pop_front(), Some(Value::Boolean(true)));
        let value = res.pop_front().unwrap_or(Value::Nil);
        let mut r = rc.borrow_mut();
        let proto = r.proto;
        let out = &mut *r.ctx.out;
        if ok {
            convert::lua_to_reply(&value, out, proto)?;
            return Ok(None);
        }
        match value {
            Value::Table(t) => Ok(Some(run_error(&t, &call.sha)?)),
            _ => Ok(Some("ERR execution failure".to_string())),
        }
    });
    engine.watch_end();
    let r = rc.into_inner();
    let ctx = r.ctx;
    if !in_tx {
        ctx.st.stream.end_tx();
        crate::repl::feed(ctx.st);
    }
    // Drop what the run left behind (tables, strings) in small steps.
    let _ = lua.gc_step();
    match result {
        Ok(None) => {}
        Ok(Some(msg)) => {
            crate::dispatch::count_error(ctx.st, &msg);
            ctx.out.error(&msg);
        }
        Err(e) => {
            let msg = match &e {
                e if error_text(e) == KILLED => format!("ERR {KILLED}"),
                e => format!("ERR Error running script: {}", error_text(e)),
            };
            crate::dispatch::count_error(ctx.st, &msg);
            ctx.out.error(&msg);
        }
    }
}
