//! One script call: its environment, `redis.call` through the ordinary
//! dispatch, its reply, and its writes as one block of the write stream.

use std::cell::RefCell;

use bytes::Bytes;
use std::ffi::c_int;

use mlua::{ffi, Function, Lua, Table, Value};
use tandem_commands::flags;
use tandem_resp::{Proto, ReplyBuf};

use super::call::{Active, Caller};
use super::{convert, flag, Engine, KILLED};
use crate::dispatch::{Action, Ctx};

/// How a script or function was called.
pub struct Call<'a> {
    /// The script's SHA1 or the function's name (errors name it).
    pub name: &'a [u8],
    /// FCALL/FCALL_RO: the callback gets the keys and arguments as its
    /// parameters (no KEYS/ARGV globals).
    pub function: bool,
    pub keys: &'a [Bytes],
    pub argv: &'a [Bytes],
    /// EVAL_RO / EVALSHA_RO.
    pub read_only: bool,
}

/// The running script's side of the calls it makes.
struct RunCtx<'c, 'a> {
    ctx: &'c mut Ctx<'a>,
    engine: &'c Engine,
    /// The script's own database (SELECT inside it does not move the caller).
    db: usize,
    /// Refuse writes (EVAL_RO, `no-writes`).
    read_only: bool,
    /// The protocol of the replies the script gets (`redis.setresp`).
    proto: Proto,
    /// `redis.set_repl(redis.REPL_NONE)`: writes are not propagated.
    no_repl: bool,
}

fn refused(msg: &str) -> Vec<u8> {
    format!("-{msg}\r\n").into_bytes()
}

impl Caller for RunCtx<'_, '_> {
    fn set_resp(&mut self, resp: u8) {
        self.proto = if resp == 3 {
            Proto::Resp3
        } else {
            Proto::Resp2
        };
    }

    fn set_repl(&mut self, flags: u8) {
        self.no_repl = flags == 0;
    }

    fn resp(&self) -> Proto {
        self.proto
    }

    fn acl_allowed(&mut self, args: Vec<Bytes>) -> bool {
        let Some(spec) = tandem_commands::lookup_args(&args) else {
            return false;
        };
        let user = self.ctx.client().user.clone();
        user.is_empty() || self.ctx.st.acl.check(&user, spec, &args).is_ok()
    }

    /// Redis's checks for a command called from a script (scriptCall), then
    /// the ordinary call, in the script's database and protocol.
    fn call(&mut self, args: Vec<Bytes>) -> Vec<u8> {
        let shared = self.ctx.shared;
        let Some((idx, entry)) = shared.commands.get(&args[0]) else {
            return refused("ERR Unknown Redis command called from script");
        };
        let mut spec = entry.spec;
        if !spec.subcommands.is_empty() && args.len() > 1 {
            match spec.subcommand(&args[1]) {
                Some(sub) => spec = sub,
                None => return refused("ERR Unknown Redis command called from script"),
            }
        }
        if !entry.spec.arity_ok(args.len()) || !spec.arity_ok(args.len()) {
            return refused("ERR Wrong number of args calling Redis command from script");
        }
        if spec.has(flags::NOSCRIPT) || entry.spec.has(flags::NOSCRIPT) {
            return refused("ERR This Redis command is not allowed from script");
        }
        if self.ctx.st.acl.restricted {
            if let Err(msg) = crate::cmd_acl::script_check(self.ctx, spec, &args) {
                return refused(&msg);
            }
        }
        if spec.has(flags::WRITE) {
            if self.read_only {
                return refused("ERR Write commands are not allowed from read-only scripts.");
            }
            if let Some(msg) = crate::repl::refuse(self.ctx, spec, &args) {
                return refused(&msg);
            }
        }
        // One command's reply: no preallocated connection-sized buffer.
        let mut out = ReplyBuf::small(self.proto);
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
            self.engine.watch_wrote();
            if self.no_repl {
                self.ctx.st.stream.truncate_deferred(prop_len);
            }
        }
        let c = self.ctx.client();
        self.db = std::mem::replace(&mut c.db, caller_db);
        out.take().into()
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
    // The frame the error came from, as Redis's handler finds it: the first
    // Lua function up the stack (C functions, and Tandem's own wrappers, are
    // passed over): the script, or code it compiled with loadstring.
    for level in 0..200 {
        let Some(found) = lua.inspect_stack(level, |d| {
            let src = d.source();
            let ours = src.what == "C" || src.source.as_deref() == Some("=tandem");
            (!ours).then(|| (src.source.map(|s| s.into_owned()), d.current_line()))
        }) else {
            break;
        };
        if let Some((source, line)) = found {
            if let Some(source) = source {
                t.raw_set("source", source)?;
            }
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

/// Pushes `items` as a Lua sequence of strings.
///
/// # Safety
/// Inside a protected call (allocation errors raise).
unsafe fn push_strings(l: *mut ffi::lua_State, items: &[Bytes]) {
    ffi::lua_createtable(l, items.len().min(i32::MAX as usize) as c_int, 0);
    for (i, s) in items.iter().enumerate() {
        ffi::lua_pushlstring_(l, s.as_ptr() as *const _, s.len());
        ffi::lua_rawseti_(l, -2, (i + 1) as c_int);
    }
}

/// Runs a cached script for the client of `ctx`, writing its reply.
pub fn eval(ctx: &mut Ctx<'_>, engine: &Engine, func: &Function, script_flags: u8, call: Call<'_>) {
    let in_tx = ctx.in_multi;
    if !in_tx {
        // The script's writes go to the stream as one MULTI/EXEC block.
        ctx.st.stream.begin_tx();
    }
    engine.watch_start(ctx.st.eff.busy_reply_threshold, ctx.clock);
    let db = ctx.client().db;
    let mut reply = ReplyBuf::small(ctx.out.proto());
    let mut run = RunCtx {
        ctx,
        engine,
        db,
        read_only: call.read_only || script_flags & flag::NO_WRITES != 0,
        proto: Proto::Resp2,
        no_repl: false,
    };
    run.ctx.st.in_script = true;
    let mut failure: Option<String> = None;
    let result = {
        let cell: RefCell<&mut dyn Caller> = RefCell::new(&mut run);
        // SAFETY: `cell` outlives the guard, and only redis.call/pcall use it
        // (through the guard) while the script runs.
        let _active = unsafe { Active::set(&cell) };
        // SAFETY: the closure runs under the engine's protected call and owns
        // nothing to drop while it calls Lua: the keys, the reply buffer and
        // the failure slot are borrowed, the message is built after the last
        // call.
        unsafe {
            engine.protected(func, &mut |l| {
                // Stack: 1 error handler, 2 script or callback, 3 field
                // names, 4 the scripts' globals; then 5 keys, 6 arguments.
                push_strings(l, call.keys);
                push_strings(l, call.argv);
                ffi::lua_pushvalue(l, 2);
                let nargs = if call.function {
                    // callback(keys, args)
                    ffi::lua_pushvalue(l, 5);
                    ffi::lua_pushvalue(l, 6);
                    2
                } else {
                    // KEYS and ARGV are globals of the script's environment.
                    ffi::lua_pushstring(l, c"KEYS".as_ptr());
                    ffi::lua_pushvalue(l, 5);
                    ffi::lua_rawset(l, 4);
                    ffi::lua_pushstring(l, c"ARGV".as_ptr());
                    ffi::lua_pushvalue(l, 6);
                    ffi::lua_rawset(l, 4);
                    0
                };
                // The first result, or the handler's error table, at 7.
                let status = ffi::lua_pcall(l, nargs, 1, 1);
                let proto = cell.try_borrow().map_or(Proto::Resp2, |c| c.resp());
                if status == 0 {
                    convert::write(l, 7, 3, &mut reply, proto, 0);
                } else {
                    failure = Some(convert::run_error(l, 7, 3, call.name));
                }
                ffi::lua_settop(l, 0);
            })
        }
    };
    engine.watch_end();
    run.ctx.st.in_script = false;
    let RunCtx { ctx, .. } = run;
    if !in_tx {
        ctx.st.stream.end_tx();
        crate::repl::feed(ctx.st);
    }
    let msg = match (result, failure) {
        (Ok(()), None) => return ctx.out.raw(reply.as_bytes()),
        (Ok(()), Some(msg)) => msg,
        (Err(e), _) if e == KILLED => format!("ERR {KILLED}"),
        (Err(e), _) => format!("ERR Error running script: {e}"),
    };
    crate::dispatch::count_error(ctx.st, &msg);
    ctx.out.error(&msg);
}
