//! Lua scripting as Redis 7.0 runs it: EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and
//! SCRIPT, on a Lua 5.1 interpreter (the version Redis embeds).
//!
//! - [`Engine`]: the interpreter, the script cache (by SHA1 of the body) and
//!   the sandbox. Scripts see Redis's globals only; library tables are
//!   read-only; assigning a global or reading a missing one raises Redis's
//!   errors. `math.random` is Redis's lrand48.
//! - [`run`]: one script call: KEYS/ARGV, `redis.call`/`pcall` through the
//!   ordinary dispatch (commands see the caller's client, in the script's own
//!   database), and the script's writes entering the write stream as one
//!   MULTI/EXEC block (Redis 7.0's effects replication).
//! - [`convert`]: Redis replies to Lua values and back, Redis's rules.
//!
//! A script runs to completion under the state lock, as in Redis, so nothing
//! else runs meanwhile. Redis answers other clients `-BUSY` after
//! `busy-reply-threshold` and takes SCRIPT KILL; Tandem's connections cannot
//! be served while the lock is held, so instead a script that has run past
//! the threshold without writing is stopped (what SCRIPT KILL would do), and
//! one that has written goes on to the end (Redis too could only end it with
//! SHUTDOWN NOSAVE); see COMPATIBILITY.md.

mod call;
pub(crate) mod convert;
pub mod functions;
mod libs;
pub(crate) mod run;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Instant;

use std::ffi::{c_int, c_void};

use mlua::{ffi, Function, HookTriggers, Lua, LuaOptions, StdLib, Table, VmState};

/// Shebang flags (`#!lua flags=...`), and whether the script had a shebang.
pub mod flag {
    pub const NO_WRITES: u8 = 1;
    pub const ALLOW_OOM: u8 = 2;
    pub const ALLOW_STALE: u8 = 4;
    pub const NO_CLUSTER: u8 = 8;
    pub const CROSS_SLOT: u8 = 16;
    /// The body starts with a shebang (not Redis's "eval compatibility mode").
    pub const SHEBANG: u8 = 32;
}

pub(crate) const FLAG_NAMES: &[(&str, u8)] = &[
    ("no-writes", flag::NO_WRITES),
    ("allow-oom", flag::ALLOW_OOM),
    ("allow-stale", flag::ALLOW_STALE),
    ("no-cluster", flag::NO_CLUSTER),
    ("allow-cross-slot-keys", flag::CROSS_SLOT),
];

/// A cached script.
pub struct Script {
    pub func: Function,
    pub flags: u8,
    pub body_len: usize,
}

/// What the instruction-count hook needs to stop a runaway script.
#[derive(Default)]
struct Watch {
    /// When the running script started (µs since [`epoch`]); 0: none runs.
    started_us: AtomicU64,
    /// `busy-reply-threshold` in ms (0: never stop).
    limit_ms: AtomicU64,
    /// The running script has written.
    wrote: AtomicBool,
    /// A warning about a script that cannot be stopped was logged.
    warned: AtomicBool,
    /// The running script is being stopped: every catch point (pcall,
    /// xpcall, coroutine.resume) passes the error on, so it reaches the top.
    killed: AtomicBool,
    /// A library's code is loading (FUNCTION LOAD): stopped after
    /// [`LOAD_TIMEOUT_MS`] whatever it did.
    loading: AtomicBool,
}

/// Redis's bound on a library's load run (`LOAD_TIMEOUT_MS`).
pub const LOAD_TIMEOUT_MS: u64 = 500;

/// The error of a library's load run stopped at [`LOAD_TIMEOUT_MS`].
pub const LOAD_TIMEOUT: &str = "FUNCTION LOAD timeout";

fn epoch() -> Instant {
    static E: OnceLock<Instant> = OnceLock::new();
    *E.get_or_init(Instant::now)
}

fn now_us() -> u64 {
    epoch().elapsed().as_micros() as u64 + 1
}

/// The message a stopped script's caller gets.
pub const KILLED: &str = "Script killed: it ran past busy-reply-threshold without writing (Tandem stops such scripts instead of answering other clients -BUSY)";

/// The interpreter and its script cache.
pub struct Engine {
    pub(crate) lua: Lua,
    /// The global environment scripts run in (KEYS and ARGV are set per
    /// call; everything else is read through its metatable).
    pub(crate) env: Table,
    /// [`convert::FIELDS`] as a Lua sequence.
    pub(crate) fields: Table,
    /// The message handler scripts run under ([`run::error_handler`]).
    pub(crate) handler: Function,
    /// [`protected_entry`], the C function [`Engine::protected`] calls.
    entry: Function,
    /// `R.fload`: runs a library's code, collecting what it registers.
    pub(crate) fload: Function,
    /// The globals of function libraries (their code's environment).
    pub(crate) fenv: Table,
    scripts: HashMap<[u8; 40], Script, foldhash::fast::RandomState>,
    /// Body to name, so a repeated EVAL hashes its body with a fast hash
    /// instead of computing SHA1 again.
    by_body: HashMap<Box<[u8]>, [u8; 40], foldhash::fast::RandomState>,
    body_bytes: usize,
    watch: Arc<Watch>,
}

/// The bodies of the cached scripts (for snapshots' AUX `lua` fields).
pub fn bodies(st: &crate::state::State) -> Vec<Vec<u8>> {
    st.scripts
        .as_ref()
        .map(|e| e.by_body.keys().map(|b| b.to_vec()).collect())
        .unwrap_or_default()
}

/// The node's engine, taken out of the state for a run (put it back after),
/// started on first use: a node that never runs a script pays nothing for Lua.
pub fn take_engine(st: &mut crate::state::State) -> mlua::Result<Box<Engine>> {
    match st.scripts.take() {
        Some(e) => Ok(e),
        None => Engine::new().map(Box::new),
    }
}

/// Caches the scripts a snapshot carried (a restart, a full sync, an AOF
/// base); a body that does not compile is logged and skipped.
pub fn load_all(st: &mut crate::state::State, bodies: &[Vec<u8>]) {
    if bodies.is_empty() {
        return;
    }
    let mut engine = match take_engine(st) {
        Ok(e) => e,
        Err(e) => {
            tracing::warn!("cannot start the Lua interpreter to load scripts: {e}");
            return;
        }
    };
    for b in bodies {
        if let Err(e) = engine.load(b) {
            tracing::warn!("a script from the snapshot was not loaded: {e}");
        }
    }
    st.scripts = Some(engine);
}

/// What a loaded snapshot carried for the interpreters: the cached scripts
/// (added to the cache) and the function libraries (which replace the node's).
pub fn load_snapshot(st: &mut crate::state::State, stats: &crate::persist::snapshot::LoadStats) {
    load_all(st, &stats.scripts);
    functions::load_all(st, &stats.functions);
}

/// The SHA1 of `body` in lowercase hex, as Redis names scripts.
pub fn sha1_hex(body: &[u8]) -> [u8; 40] {
    let digest = sha1_smol::Sha1::from(body).digest().bytes();
    let mut out = [0u8; 40];
    const HEX: &[u8; 16] = b"0123456789abcdef";
    for (i, b) in digest.iter().enumerate() {
        out[2 * i] = HEX[(b >> 4) as usize];
        out[2 * i + 1] = HEX[(b & 15) as usize];
    }
    out
}

/// Parses a `#!lua flags=...` first line: the flags, and how many bytes of the
/// body the shebang takes (the rest, from its newline, is compiled, so line
/// numbers stay those of the body).
pub fn shebang(body: &[u8]) -> Result<(u8, usize), String> {
    if !body.starts_with(b"#!") {
        return Ok((0, 0));
    }
    let Some(end) = body.iter().position(|&b| b == b'\n') else {
        return Err("ERR Invalid script shebang".into());
    };
    let line = String::from_utf8_lossy(&body[..end]);
    let mut parts = line.split_ascii_whitespace();
    let engine = parts.next().unwrap_or("");
    if engine != "#!lua" {
        return Err(format!("ERR Unexpected engine in script shebang: {engine}"));
    }
    let mut flags = flag::SHEBANG;
    for p in parts {
        let Some(list) = p.strip_prefix("flags=") else {
            return Err(format!("ERR Unknown lua shebang option: {p}"));
        };
        for f in list.split(',').filter(|f| !f.is_empty()) {
            match FLAG_NAMES.iter().find(|(n, _)| *n == f) {
                Some((_, v)) => flags |= v,
                None => return Err(format!("ERR Unexpected flag in script shebang: {f}")),
            }
        }
    }
    Ok((flags, end))
}

/// The sandbox and Redis's `redis` table, in Lua. Run once per interpreter
/// with the hidden table; returns the environment metatable.
const INIT: &str = r#"
local R = ...
local G = _G
local error, rawget, select, setmetatable, tostring, tonumber, type, floor, concat =
      error, rawget, select, setmetatable, tostring, tonumber, type, math.floor, table.concat
local lua_pcall, raising = pcall, R.trampoline

-- Redis's luaPushErrorBuff: "-CODE msg" or "msg" to an error table.
local function errtable(s)
  local code, msg = 'ERR', s
  if s:sub(1, 1) == '-' then
    local sp = s:find(' ', 1, true)
    if sp then code, msg = s:sub(2, sp - 1), s:sub(sp + 1) else msg = s:sub(2) end
  end
  msg = msg:gsub('^[\r\n]+', ''):gsub('[\r\n]+$', '')
  return {err = code .. ' ' .. msg}
end

-- Functions that may raise are wrapped by R.trampoline: they return
-- (value, raise) and the C trampoline raises, so the script's own frame (and
-- line) stays on the stack even when it tail-calls them.
local redis = {}
redis.call = R.call
redis.pcall = R.pcall
redis.sha1hex = raising(function(...)
  if select('#', ...) ~= 1 then return errtable('wrong number of arguments'), true end
  local s = ...
  local t = type(s)
  if t == 'number' then s = tostring(s) elseif t ~= 'string' then s = '' end
  return R.sha1hex(s), false
end)
function redis.error_reply(...)
  local e = ...
  if select('#', ...) ~= 1 or type(e) ~= 'string' then
    return errtable('wrong number or type of arguments')
  end
  if e:sub(1, 1) ~= '-' then e = '-' .. e end
  return errtable(e)
end
function redis.status_reply(...)
  local s = ...
  if select('#', ...) ~= 1 or type(s) ~= 'string' then
    return errtable('wrong number or type of arguments')
  end
  return {ok = s}
end
redis.log = raising(function(...)
  local n = select('#', ...)
  if n < 2 then return errtable('redis.log() requires two arguments or more.'), true end
  local level = tonumber((...))
  if level == nil then return errtable('First argument must be a number (log level).'), true end
  if not (level > -1 and level < 4) then return errtable('Invalid debug level.'), true end
  local parts = {}
  for i = 2, n do
    local v = select(i, ...)
    local t = type(v)
    if t == 'string' or t == 'number' then parts[#parts + 1] = tostring(v) end
  end
  R.log(floor(level), concat(parts, ' '))
  return nil, false, true
end)
redis.setresp = raising(function(...)
  if select('#', ...) ~= 1 then return errtable('redis.setresp() requires one argument.'), true end
  local v = floor(tonumber((...)) or 0)
  if v ~= 2 and v ~= 3 then return errtable('RESP version must be 2 or 3.'), true end
  R.setresp(v)
  return nil, false, true
end)
redis.set_repl = raising(function(...)
  if select('#', ...) ~= 1 then return errtable('redis.set_repl() requires two arguments.'), true end
  local v = floor(tonumber((...)) or 0)
  if v < 0 or v > 3 then
    return errtable('Invalid replication flags. Use REPL_AOF, REPL_REPLICA, REPL_ALL or REPL_NONE.'), true
  end
  R.set_repl(v)
  return nil, false, true
end)
function redis.replicate_commands() return true end
function redis.breakpoint() return false end
function redis.debug() end
redis.acl_check_cmd = raising(function(...)
  local n = select('#', ...)
  if n == 0 then
    return errtable('Please specify at least one argument for this redis lib call'), true
  end
  for i = 1, n do
    local t = type((select(i, ...)))
    if t ~= 'string' and t ~= 'number' then
      return errtable('Lua redis lib command arguments must be strings or integers'), true
    end
  end
  if not R.known(tostring((...))) then
    return errtable('Invalid command passed to redis.acl_check_cmd()'), true
  end
  local args = {}
  for i = 1, n do args[i] = tostring((select(i, ...))) end
  return R.acl_ok(args), false
end)
redis.LOG_DEBUG, redis.LOG_VERBOSE, redis.LOG_NOTICE, redis.LOG_WARNING = 0, 1, 2, 3
redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.REPL_ALL = 0, 1, 2, 2, 3
redis.REDIS_VERSION, redis.REDIS_VERSION_NUM = R.version, R.version_num

-- Redis's pcall: an error table from redis.call comes back as its message.
-- A script being stopped cannot catch its stop: the error goes on up.
local killed = R.killed
local function uncaught_if_killed(ok, ...)
  if not ok and killed() then error((...), 0) end
  return ok, ...
end
local function pcall_result(ok, ...)
  if not ok then
    local e = ...
    if killed() then error(e, 0) end
    if type(e) == 'table' and type(rawget(e, 'err')) == 'string' then return false, e.err end
  end
  return ok, ...
end
local function redis_pcall(f, ...) return pcall_result(lua_pcall(f, ...)) end
local lua_xpcall, lua_resume = xpcall, coroutine.resume
local function redis_xpcall(f, h) return uncaught_if_killed(lua_xpcall(f, h)) end
local function redis_resume(co, ...) return uncaught_if_killed(lua_resume(co, ...)) end

-- math.random and math.randomseed on Redis's lrand48 (string errors get the
-- caller's position from the trampoline, as luaL_error gives it).
local function int(v) return v >= 0 and floor(v) or -floor(-v) end
local function badarg(i, name, v)
  return "bad argument #" .. i .. " to '" .. name .. "' (number expected, got " .. type(v) .. ")"
end
local next_random = R.random
G.math.random = raising(function(...)
  local r = next_random()
  local n = select('#', ...)
  if n == 0 then return r, false end
  if n == 1 then
    local u = tonumber((...))
    if u == nil then return badarg(1, 'random', (...)), true end
    u = int(u)
    if u < 1 then return "bad argument #1 to 'random' (interval is empty)", true end
    return floor(r * u) + 1, false
  end
  if n == 2 then
    local a, b = ...
    local l, u = tonumber(a), tonumber(b)
    if l == nil then return badarg(1, 'random', a), true end
    if u == nil then return badarg(2, 'random', b), true end
    l, u = int(l), int(u)
    if l > u then return "bad argument #2 to 'random' (interval is empty)", true end
    return floor(r * (u - l + 1)) + l, false
  end
  return 'wrong number of arguments', true
end)
G.math.randomseed = raising(function(...)
  local s = tonumber((...))
  if s == nil then return badarg(1, 'randomseed', (...)), true end
  R.randomseed(int(s))
  return nil, false, true
end)

-- Read-only views of the library tables. Scripts cannot write them, the
-- globals, or any metatable that leads to the real tables, by any of Lua's
-- ways (assignment, rawset, setmetatable, getmetatable(...).__index,
-- table.insert/remove/sort, code run by loadstring), so nothing a script
-- does to them outlives it.
local proxies = setmetatable({}, {__mode = 'k'})
local function readonly(t)
  local p = setmetatable({}, {
    __index = t,
    __newindex = function() error('Attempt to modify a readonly table', 2) end,
  })
  proxies[p] = t
  return p
end
local env_meta = {}
local env = setmetatable({}, env_meta)
rawset(env, '_G', env)
local fenv_meta = {}
local fenv = setmetatable({}, fenv_meta)
local lua_next, lua_pairs, lua_rawset = next, pairs, rawset
local lua_setmetatable, lua_getmetatable = setmetatable, getmetatable
local lua_loadstring, lua_load, setfenv, lua_getfenv = loadstring, load, setfenv, getfenv
local function protected(t) return proxies[t] ~= nil or t == env or t == fenv end
-- A refusal from a library function: no position, as Redis's C check.
local function refuse() error('Attempt to modify a readonly table', 0) end

-- What scripts see: Redis 7.0's globals, library tables read-only.
local visible = {}
for _, k in ipairs({'assert', 'collectgarbage', 'error', 'gcinfo', 'ipairs', 'rawequal',
    'rawget', 'select', 'tonumber', 'tostring', 'type', 'unpack', '_VERSION'}) do
  visible[k] = G[k]
end
visible.pcall = redis_pcall
visible.xpcall = redis_xpcall
visible.next = function(t, k) return lua_next(proxies[t] or t, k) end
visible.pairs = function(t)
  local real = proxies[t]
  if real then return lua_next, real, nil end
  return lua_pairs(t)
end
visible.rawset = function(t, k, v)
  if protected(t) then refuse() end
  return lua_rawset(t, k, v)
end
visible.setmetatable = function(t, mt)
  if protected(t) then refuse() end
  return lua_setmetatable(t, mt)
end
-- Code compiled by loadstring/load runs in the scripts' environment too,
-- and only from source: Lua 5.1 loads bytecode unchecked (crafted bytecode
-- can corrupt memory), so, as Redis's patched Lua does, a chunk that starts
-- with the bytecode signature is a syntax error at its first character.
-- The code gets the globals of whoever compiles it: a script's or, in a
-- function library, the libraries' (`caller` is the caller's environment).
local function compile(s, name, caller)
  if type(s) == 'string' and s:byte(1) == 27 then
    local f, e = lua_loadstring('\1' .. s:sub(2), name or s)
    if e then e = e:gsub("char%(1%)'$", "char(27)'") end
    return nil, e
  end
  local f, e = lua_loadstring(s, name)
  if f then setfenv(f, caller == fenv and fenv or env) end
  return f, e
end
visible.loadstring = function(s, name)
  local f, e = compile(s, name, lua_getfenv(2))
  return f, e
end
visible.load = function(fn, name)
  local parts = {}
  while true do
    local p = fn()
    if p == nil or p == '' then break end
    if type(p) ~= 'string' then return nil, 'reader function must return a string' end
    parts[#parts + 1] = p
  end
  local f, e = compile(concat(parts), name or '=(load)', lua_getfenv(2))
  return f, e
end
local tlib = {}
for k, v in lua_pairs(G.table) do tlib[k] = v end
for _, k in ipairs({'insert', 'remove', 'sort', 'setn'}) do
  local f = G.table[k]
  tlib[k] = function(t, ...)
    if protected(t) then refuse() end
    return f(t, ...)
  end
end
visible.table = readonly(tlib)
local colib = {}
for k, v in lua_pairs(G.coroutine) do colib[k] = v end
colib.resume = redis_resume
visible.coroutine = readonly(colib)
for _, k in ipairs({'string', 'math', 'bit', 'cjson', 'cmsgpack', 'struct'}) do
  if G[k] ~= nil then visible[k] = readonly(G[k]) end
end
visible.redis = readonly(redis)
-- Metatables as scripts see them: none for the library views, read-only
-- views for the globals' and the strings' (whose __index is the string view).
local env_meta_view = readonly({})
local string_meta_view = readonly({__index = visible.string})
visible.getmetatable = function(v)
  if v == env or v == fenv then return env_meta_view end
  if proxies[v] then return nil end
  if type(v) == 'string' then return string_meta_view end
  return lua_getmetatable(v)
end

-- The real globals are not reachable by scripts any more; keep them clean.
for _, k in ipairs({'print', 'dofile', 'loadfile', 'getfenv', 'setfenv', 'newproxy', 'module',
    'require'}) do
  G[k] = nil
end
setmetatable(G, {__newindex = function() error('Attempt to modify a readonly table', 2) end})

-- A global is a table lookup (env, then visible); only a missing one calls
-- a function, to raise Redis's error.
setmetatable(visible, {__index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end})
env_meta.__index = visible
env_meta.__newindex = function() error('Attempt to modify a readonly table', 2) end

-- Functions (FUNCTION LOAD, FCALL) run in an interpreter of their own, in
-- `fenv`: one globals table for every library, as Redis 7.0's. While a
-- library's code runs at load, globals resolve to the load API alone
-- (redis.register_function, redis.log, the constants; anything else is a
-- missing global); its callbacks, run by FCALL, see the scripts' globals
-- without KEYS and ARGV, and a redis table without the debugger's calls.
local function strict(t)
  local p = setmetatable({}, {
    __index = function(_, k)
      local v = t[k]
      if v == nil then
        error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
      end
      return v
    end,
    __newindex = function() error('Attempt to modify a readonly table', 2) end,
  })
  proxies[p] = t
  return p
end
local pending, pending_names
local function_flags = {['no-writes'] = true, ['allow-oom'] = true, ['allow-stale'] = true,
  ['no-cluster'] = true, ['allow-cross-slot-keys'] = true}
local function isstring(v) local t = type(v) return t == 'string' or t == 'number' end
-- redis.register_function(name, callback) or {function_name=, callback=,
-- flags=, description=}, with Redis's checks and texts (no position: Redis
-- raises these from C).
local function register(...)
  if pending == nil then
    return errtable('redis.register_function can only be called on FUNCTION LOAD command'), true
  end
  local n = select('#', ...)
  local name, cb, flags, desc
  if n == 1 then
    local t = ...
    if type(t) ~= 'table' then
      return errtable('calling redis.register_function with a single argument is only applicable to Lua table (representing named arguments).'), true
    end
    for k, v in lua_next, t do
      if type(k) ~= 'string' then
        return errtable('named argument key given to redis.register_function is not a string'), true
      end
      if k == 'function_name' then
        if not isstring(v) then
          return errtable('function_name argument given to redis.register_function must be a string'), true
        end
        name = tostring(v)
      elseif k == 'description' then
        if not isstring(v) then
          return errtable('description argument given to redis.register_function must be a string'), true
        end
        desc = tostring(v)
      elseif k == 'callback' then
        if type(v) ~= 'function' then
          return errtable('callback argument given to redis.register_function must be a function'), true
        end
        cb = v
      elseif k == 'flags' then
        if type(v) ~= 'table' then
          return errtable('flags argument to redis.register_function must be a table representing function flags'), true
        end
        flags = {}
        for _, f in lua_next, v do
          if not (isstring(f) and function_flags[tostring(f)]) then
            return errtable('unknown flag given'), true
          end
          flags[#flags + 1] = tostring(f)
        end
      else
        return errtable('unknown argument given to redis.register_function'), true
      end
    end
    if name == nil then
      return errtable('redis.register_function must get a function name argument'), true
    end
    if cb == nil then return errtable('redis.register_function must get a callback argument'), true end
  elseif n == 2 then
    local a, b = ...
    if not isstring(a) then
      return errtable('first argument to redis.register_function must be a string'), true
    end
    if type(b) ~= 'function' then
      return errtable('second argument to redis.register_function must be a function'), true
    end
    name, cb = tostring(a), b
  else
    return errtable('wrong number of arguments to redis.register_function'), true
  end
  -- Redis checks function names with its library-name check (and message).
  if not name:find('^[%w_]+$') then
    return errtable('Library names can only contain letters, numbers, or underscores(_) and must be at least one character long'), true
  end
  if pending_names[name] then return errtable('Function already exists in the library'), true end
  pending_names[name] = true
  pending[#pending + 1] = {name, cb, flags or {}, desc}
  return nil, false, true
end
local lredis = {register_function = raising(register), log = redis.log,
  LOG_DEBUG = 0, LOG_VERBOSE = 1, LOG_NOTICE = 2, LOG_WARNING = 3,
  REDIS_VERSION = R.version, REDIS_VERSION_NUM = R.version_num}
local lvisible = setmetatable({redis = strict(lredis)}, {__index = function(_, k)
  error("Script attempted to access nonexistent global variable '" .. tostring(k) .. "'", 2)
end})
local fredis = {}
for k, v in lua_pairs(redis) do
  if k ~= 'breakpoint' and k ~= 'debug' then fredis[k] = v end
end
local fvisible = {}
for k, v in lua_pairs(visible) do fvisible[k] = v end
fvisible.redis = readonly(fredis)
fvisible._G = fenv
setmetatable(fvisible, getmetatable(visible))
fenv_meta.__index = fvisible
fenv_meta.__newindex = env_meta.__newindex

-- Runs a library's code (compiled with `fenv` as its environment): ok, the
-- error table, and the functions it registered ({name, callback, flags,
-- description} each).
function R.fload(chunk)
  pending, pending_names = {}, {}
  fenv_meta.__index = lvisible
  local ok, e = xpcall(chunk, R.handler)
  fenv_meta.__index = fvisible
  local registered = pending
  pending, pending_names = nil, nil
  return ok, e, registered
end

R.fenv = fenv
return env
"#;

impl Engine {
    pub fn new() -> mlua::Result<Engine> {
        epoch();
        let lua = Lua::new_with(
            StdLib::TABLE | StdLib::STRING | StdLib::MATH,
            LuaOptions::new(),
        )?;
        let hidden = lua.create_table()?;
        libs::install(&lua, &lua.globals())?;
        let random = Arc::new(AtomicU64::new(lrand48_seed(rand::random::<i32>())));
        let r = random.clone();
        hidden.raw_set(
            "random",
            lua.create_function(move |_, ()| Ok(lrand48_next(&r)))?,
        )?;
        let r = random.clone();
        hidden.raw_set(
            "randomseed",
            lua.create_function(move |_, seed: f64| {
                r.store(lrand48_seed(seed as i64 as i32), Ordering::Relaxed);
                Ok(())
            })?,
        )?;
        hidden.raw_set(
            "sha1hex",
            lua.create_function(|lua, s: mlua::LuaString| {
                lua.create_string(sha1_hex(&s.as_bytes()))
            })?,
        )?;
        hidden.raw_set(
            "log",
            lua.create_function(|_, (level, msg): (i64, mlua::LuaString)| {
                let msg = msg.to_string_lossy();
                match level {
                    0 => tracing::debug!(target: "lua", "{msg}"),
                    1 => tracing::debug!(target: "lua", "{msg}"),
                    2 => tracing::info!(target: "lua", "{msg}"),
                    _ => tracing::warn!(target: "lua", "{msg}"),
                }
                Ok(())
            })?,
        )?;
        hidden.raw_set(
            "known",
            lua.create_function(|_, name: mlua::LuaString| {
                Ok(tandem_commands::lookup(&name.as_bytes()).is_some())
            })?,
        )?;
        hidden.raw_set(
            "acl_ok",
            lua.create_function(|_, args: Vec<mlua::LuaString>| {
                let args: Vec<bytes::Bytes> = args
                    .iter()
                    .map(|a| bytes::Bytes::copy_from_slice(&a.as_bytes()))
                    .collect();
                let mut ok = true;
                call::with_active(|c| ok = c.acl_allowed(args));
                Ok(ok)
            })?,
        )?;
        hidden.raw_set("handler", lua.create_function(run::error_handler)?)?;
        let watch = Arc::new(Watch::default());
        let w = watch.clone();
        hidden.raw_set(
            "killed",
            lua.create_function(move |_, ()| Ok(w.killed.load(Ordering::Relaxed)))?,
        )?;
        // SAFETY: make_trampoline and make_call only use the Lua C API on
        // their own stack.
        hidden.raw_set("trampoline", unsafe {
            lua.create_c_function(make_trampoline)?
        })?;
        let make = unsafe { lua.create_c_function(call::make_call)? };
        hidden.raw_set("call", make.call::<Function>(true)?)?;
        hidden.raw_set("pcall", make.call::<Function>(false)?)?;
        hidden.raw_set(
            "setresp",
            lua.create_function(|_, v: u8| {
                call::with_active(|c| c.set_resp(v));
                Ok(())
            })?,
        )?;
        hidden.raw_set(
            "set_repl",
            lua.create_function(|_, v: u8| {
                call::with_active(|c| c.set_repl(v));
                Ok(())
            })?,
        )?;
        hidden.raw_set("version", crate::cmd_info::REDIS_VERSION)?;
        hidden.raw_set("version_num", version_num(crate::cmd_info::REDIS_VERSION))?;
        let env: Table = lua.load(INIT).set_name("=tandem").call(hidden.clone())?;
        let handler: Function = hidden.raw_get("handler")?;
        // SAFETY: protected_entry only calls the closure its caller handed over.
        let entry = unsafe { lua.create_c_function(protected_entry)? };
        let fload: Function = hidden.raw_get("fload")?;
        let fenv: Table = hidden.raw_get("fenv")?;

        let w = watch.clone();
        lua.set_global_hook(
            HookTriggers::new().every_nth_instruction(100_000),
            move |_, _| {
                let started = w.started_us.load(Ordering::Relaxed);
                if started != 0 && w.loading.load(Ordering::Relaxed) {
                    if now_us().saturating_sub(started) < LOAD_TIMEOUT_MS * 1000 {
                        return Ok(VmState::Continue);
                    }
                    w.killed.store(true, Ordering::Relaxed);
                    return Err(mlua::Error::RuntimeError(LOAD_TIMEOUT.into()));
                }
                let limit = w.limit_ms.load(Ordering::Relaxed);
                if started == 0 || limit == 0 || now_us().saturating_sub(started) < limit * 1000 {
                    return Ok(VmState::Continue);
                }
                if !w.wrote.load(Ordering::Relaxed) {
                    w.killed.store(true, Ordering::Relaxed);
                    return Err(mlua::Error::RuntimeError(KILLED.into()));
                }
                if !w.warned.swap(true, Ordering::Relaxed) {
                    tracing::warn!(
                        "a Lua script has run past busy-reply-threshold ({limit} ms) after \
                         writing: it cannot be stopped and runs to its end"
                    );
                }
                Ok(VmState::Continue)
            },
        )?;
        let fields = lua.create_sequence_from(convert::FIELDS)?;
        Ok(Engine {
            lua,
            env,
            fields,
            handler,
            entry,
            fload,
            fenv,
            scripts: HashMap::default(),
            by_body: HashMap::default(),
            body_bytes: 0,
            watch,
        })
    }

    /// The script named `sha` (case-insensitive, as Redis's script dict).
    pub fn get(&self, sha: &[u8]) -> Option<&Script> {
        let mut key: [u8; 40] = sha.try_into().ok()?;
        key.make_ascii_lowercase();
        self.scripts.get(&key)
    }

    /// Compiles and caches `body` (or finds it cached): its SHA1, or the error
    /// reply (shebang or compilation).
    pub fn load(&mut self, body: &[u8]) -> Result<[u8; 40], String> {
        self.load_new(body).map(|(sha, _)| sha)
    }

    /// [`Engine::load`], and whether the script is new to the cache.
    pub fn load_new(&mut self, body: &[u8]) -> Result<([u8; 40], bool), String> {
        if let Some(sha) = self.by_body.get(body) {
            return Ok((*sha, false));
        }
        let sha = sha1_hex(body);
        if self.scripts.contains_key(&sha) {
            return Ok((sha, false));
        }
        let (flags, skip) = shebang(body)?;
        if body[skip..].first() == Some(&0x1b) {
            // Never bytecode (see `compile` in INIT): Redis's message.
            return Err(
                "ERR Error compiling script (new function): user_script:1: unexpected symbol near 'char(27)'"
                    .into(),
            );
        }
        let func = self.compile(
            &body[skip..],
            "@user_script",
            &self.env,
            "ERR Error compiling script (new function)",
        )?;
        self.body_bytes += body.len();
        self.by_body.insert(body.into(), sha);
        self.scripts.insert(
            sha,
            Script {
                func,
                flags,
                body_len: body.len(),
            },
        );
        Ok((sha, true))
    }

    /// Compiles source text (never bytecode) as `chunkname`, running in
    /// `env`; a failure is `what: <Lua's message>`.
    pub(crate) fn compile(
        &self,
        code: &[u8],
        chunkname: &str,
        env: &Table,
        what: &str,
    ) -> Result<Function, String> {
        let func = self
            .lua
            .load(code)
            .set_mode(mlua::chunk::ChunkMode::Text)
            .set_name(chunkname)
            .into_function()
            .map_err(|e| {
                let msg = match &e {
                    mlua::Error::SyntaxError { message, .. } => message.clone(),
                    e => e.to_string(),
                };
                format!("{what}: {msg}")
            })?;
        func.set_environment(env.clone())
            .map_err(|e| format!("{what}: {e}"))?;
        Ok(func)
    }

    pub fn count(&self) -> usize {
        self.scripts.len()
    }

    /// Bytes of the cached bodies plus a per-script overhead (Redis's
    /// used_memory_scripts_eval counts its dict entries and bodies).
    pub fn scripts_bytes(&self) -> usize {
        2 * self.body_bytes + self.scripts.len() * 160
    }

    pub fn lua_bytes(&self) -> usize {
        self.lua.used_memory()
    }

    /// Marks a script run's start (for the runaway-script hook).
    /// `since`: when the command began (the batch's clock: no clock read).
    pub(crate) fn watch_start(&self, limit_ms: u64, since: Instant) {
        self.watch.limit_ms.store(limit_ms, Ordering::Relaxed);
        self.watch.wrote.store(false, Ordering::Relaxed);
        self.watch.warned.store(false, Ordering::Relaxed);
        self.watch.killed.store(false, Ordering::Relaxed);
        let us = since.saturating_duration_since(epoch()).as_micros() as u64 + 1;
        self.watch.started_us.store(us, Ordering::Relaxed);
    }

    /// Marks the start of a library's load run (stopped at [`LOAD_TIMEOUT_MS`]).
    pub(crate) fn watch_load(&self, on: bool) {
        self.watch.killed.store(false, Ordering::Relaxed);
        self.watch.loading.store(on, Ordering::Relaxed);
        let us = if on { now_us() } else { 0 };
        self.watch.started_us.store(us, Ordering::Relaxed);
    }

    pub(crate) fn watch_wrote(&self) {
        self.watch.wrote.store(true, Ordering::Relaxed);
    }

    pub(crate) fn watch_end(&self) {
        self.watch.started_us.store(0, Ordering::Relaxed);
    }
}

/// What [`Engine::protected`] hands [`protected_entry`].
struct EntrySlot<'a> {
    f: Option<&'a mut dyn FnMut(*mut ffi::lua_State)>,
}

/// Runs the closure of the [`EntrySlot`] at the top of the stack (then
/// removed), inside the protected call [`Engine::protected`] made.
unsafe extern "C-unwind" fn protected_entry(l: *mut ffi::lua_State) -> c_int {
    let slot = ffi::lua_touserdata(l, -1) as *mut EntrySlot<'static>;
    ffi::lua_settop(l, -2);
    if let Some(f) = slot.as_mut().and_then(|s| s.f.take()) {
        f(l);
    }
    0
}

impl Engine {
    /// Runs `f` inside one protected call, with the error handler, `func`,
    /// the field names and the scripts' globals at stack slots 1 to 4.
    /// Unlike mlua's `exec_raw`, it creates nothing in Lua per call (two C
    /// closures there), which counts in a script call's fixed cost. Errors
    /// raised outside any inner protected call come back as text.
    ///
    /// # Safety
    /// `f` may be left by a Lua error (longjmp): it must not hold values with
    /// destructors across Lua calls that may raise.
    pub(crate) unsafe fn protected(
        &self,
        func: &Function,
        f: &mut dyn FnMut(*mut ffi::lua_State),
    ) -> Result<(), String> {
        self.lua.exec_raw_lua(|raw| {
            let l = raw.state();
            // Outside a protected call only calls that cannot raise: stack
            // space, references pushed from mlua's slots, a light userdata.
            if ffi::lua_checkstack(l, 8) == 0 {
                return Err("Lua stack overflow".into());
            }
            let top = ffi::lua_gettop(l);
            let pushed = (|| -> mlua::Result<()> {
                raw.push(&self.entry)?;
                raw.push(&self.handler)?;
                raw.push(func)?;
                raw.push(&self.fields)?;
                raw.push(&self.env)
            })();
            if let Err(e) = pushed {
                ffi::lua_settop(l, top);
                return Err(e.to_string());
            }
            let mut slot = EntrySlot { f: Some(f) };
            ffi::lua_pushlightuserdata(l, &mut slot as *mut EntrySlot<'_> as *mut c_void);
            let status = ffi::lua_pcall(l, 5, 0, 0);
            let result = if status == 0 {
                Ok(())
            } else if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(l, -1, &mut len);
                let bytes = std::slice::from_raw_parts(p as *const u8, len);
                Err(String::from_utf8_lossy(bytes).into_owned())
            } else {
                Err("execution failure".into())
            };
            ffi::lua_settop(l, top);
            result
        })
    }
}

/// `R.trampoline(f)`: a C closure over `f` that calls it with its arguments
/// and returns `f`'s first result (none when the third is true), or, when
/// `f`'s second result is true, raises the first (a string gets the
/// caller's position first, as `luaL_error` adds it). Raising from a C
/// function keeps the script's frame on the stack even when the script
/// tail-calls it (`return redis.call(...)`), so errors name the script's line.
unsafe extern "C-unwind" fn make_trampoline(l: *mut ffi::lua_State) -> c_int {
    ffi::lua_settop(l, 1);
    ffi::lua_pushcclosure(l, trampoline, 1);
    1
}

unsafe extern "C-unwind" fn trampoline(l: *mut ffi::lua_State) -> c_int {
    let n = ffi::lua_gettop(l);
    ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
    ffi::lua_insert(l, 1);
    // Results: the value, whether to raise it, whether the function returns
    // nothing (as Redis's redis.log, redis.setresp, math.randomseed...).
    ffi::lua_call(l, n, 3);
    if ffi::lua_toboolean(l, -2) != 0 {
        ffi::lua_pop(l, 2);
        if ffi::lua_type(l, -1) == ffi::LUA_TSTRING {
            ffi::luaL_where(l, 1);
            ffi::lua_insert(l, -2);
            ffi::lua_concat(l, 2);
        }
        ffi::lua_error(l);
    }
    let void = ffi::lua_toboolean(l, -1) != 0;
    ffi::lua_pop(l, 2);
    if void {
        ffi::lua_pop(l, 1);
        return 0;
    }
    1
}

/// `7.0.15` as Redis's REDIS_VERSION_NUM: 0x00MMmmpp.
fn version_num(v: &str) -> i64 {
    let mut n = 0i64;
    for part in v.split('.').take(3) {
        n = (n << 8) | part.parse::<i64>().unwrap_or(0);
    }
    n
}

/// lrand48's state after `srand48(seed)` (Redis's redisSrand48).
fn lrand48_seed(seed: i32) -> u64 {
    ((seed as u32 as u64) << 16) | 0x330E
}

/// The next value of Redis's redisLrand48, scaled as its math.random does:
/// `(lrand48() % INT32_MAX) / INT32_MAX`.
fn lrand48_next(state: &AtomicU64) -> f64 {
    const MASK: u64 = (1 << 48) - 1;
    let x = state.load(Ordering::Relaxed);
    let next = x.wrapping_mul(0x5DEECE66D).wrapping_add(0xB) & MASK;
    state.store(next, Ordering::Relaxed);
    let v = (next >> 17) as i64;
    let max = i32::MAX as i64;
    (v % max) as f64 / max as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha1_of_a_script_is_redis_name_for_it() {
        assert_eq!(
            &sha1_hex(b"return 1"),
            b"e0e1f9fabfc9d4800c877a703b823ac0578ff8db"
        );
        assert_eq!(&sha1_hex(b""), b"da39a3ee5e6b4b0d3255bfef95601890afd80709");
    }

    #[test]
    fn seeded_random_follows_lrand48() {
        // Redis 7.0.15: math.randomseed(5); math.random(1000) x4 -> 525 273 789 199.
        let e = Engine::new().expect("engine");
        let got: Vec<i64> = e
            .lua
            .load("math.randomseed(5) local t = {} for i = 1, 4 do t[i] = math.random(1000) end return t")
            .call::<Table>(())
            .expect("run")
            .sequence_values::<i64>()
            .collect::<mlua::Result<_>>()
            .expect("ints");
        assert_eq!(got, vec![525, 273, 789, 199]);
    }

    #[test]
    fn shebangs_parse_as_redis_does() {
        assert_eq!(shebang(b"return 1"), Ok((0, 0)));
        assert_eq!(
            shebang(b"#!lua flags=no-writes,allow-oom\nreturn 1"),
            Ok((flag::SHEBANG | flag::NO_WRITES | flag::ALLOW_OOM, 31))
        );
        assert_eq!(shebang(b"#!lua flags=\nx"), Ok((flag::SHEBANG, 12)));
        assert_eq!(shebang(b"#!lua"), Err("ERR Invalid script shebang".into()));
        assert_eq!(
            shebang(b"#! lua\nx"),
            Err("ERR Unexpected engine in script shebang: #!".into())
        );
        assert_eq!(
            shebang(b"#!lua flags=bad\nx"),
            Err("ERR Unexpected flag in script shebang: bad".into())
        );
        assert_eq!(
            shebang(b"#!lua name=x\nx"),
            Err("ERR Unknown lua shebang option: name=x".into())
        );
    }

    #[test]
    fn version_num_is_redis_encoding() {
        assert_eq!(version_num("7.0.15"), 458767);
    }
}
