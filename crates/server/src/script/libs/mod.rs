//! The Lua libraries Redis gives scripts besides Lua's own: `bit` (LuaBitOp
//! 1.0.2), `cjson` (lua-cjson 2.1.0 as patched by Redis), `cmsgpack`
//! (lua-cmsgpack 0.4.0) and `struct` (Roberto Ierusalimschy's struct library),
//! reimplemented in Rust with the behaviour of redis-server 7.0.15: the same
//! results, the same error messages and the same limits (the tests compare
//! with what redis-server 7.0.15 returned).
//!
//! # Errors
//! The C libraries raise errors with `luaL_error` / `luaL_argerror`, so a
//! script sees a plain string ("user_script:1: bad argument #1 to 'tobit'
//! (number expected, got string)", without the position when called through
//! `pcall`). An mlua callback can only raise its own error userdata, so the
//! library functions are C functions: `bit`'s are plain ones on the C API;
//! the others are a small C closure ([`trampoline`]) around an mlua callback,
//! which reports a failure as return values that the trampoline raises with
//! the Lua auxiliary library, from a C frame Lua sees as the library function.
//! Position prefix, function name ("to 'band'", "to '?'", "calling 'x' on bad
//! self") and the frames an error handler sees are therefore those of Redis.
//!
//! # The Lua stack
//! mlua keeps every Lua value it hands to Rust on one auxiliary stack of at
//! most ~8000 slots, shared by the whole state, so nothing here holds one
//! value per element: cjson and cmsgpack encode and decode on the Lua stack
//! as the C code does (inside `Lua::exec_raw`, in protected mode), and many
//! results come back in a table the trampoline unpacks. Working on the Lua
//! stack also reproduces where `lua_checkstack` stops deep nesting
//! (`LUAI_MAXCSTACK`), which decides some of Redis's limits and messages.

mod bit;
mod cjson;
mod cmsgpack;
mod structlib;

use std::os::raw::c_int;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mlua::{ffi, Function, Lua, LuaString, MultiValue, Table, Value};

/// Adds the libraries to `globals`.
pub(crate) fn install(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    globals.raw_set("bit", bit::bit_lib(lua)?)?;
    globals.raw_set("cjson", cjson::cjson_lib(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack::cmsgpack_lib(lua)?)?;
    globals.raw_set("struct", structlib::struct_lib(lua)?)?;
    Ok(())
}

// ---------------------------------------------------------------------------
// Plumbing shared by the libraries
// ---------------------------------------------------------------------------

/// How a library function fails.
enum Fail {
    /// `luaL_argerror(narg, msg)`: "bad argument #narg to 'name' (msg)".
    Arg(c_int, Vec<u8>),
    /// `luaL_error(msg)`: the message, prefixed with the caller's position.
    Msg(Vec<u8>),
    /// An error the Lua core raises from inside a C function (no position),
    /// like "table index is nil".
    Raise(Vec<u8>),
    /// An error of mlua itself (out of memory and the like), raised as is.
    Lua(mlua::Error),
}

impl From<mlua::Error> for Fail {
    fn from(e: mlua::Error) -> Self {
        Fail::Lua(e)
    }
}

impl Fail {
    fn arg(narg: usize, msg: impl Into<Vec<u8>>) -> Fail {
        Fail::Arg(c_int::try_from(narg).unwrap_or(c_int::MAX), msg.into())
    }

    fn msg(msg: impl Into<Vec<u8>>) -> Fail {
        Fail::Msg(msg.into())
    }

    /// `luaL_typerror`: "bad argument #narg to 'f' (<expected> expected, got <type>)".
    fn typ(narg: usize, expected: &str, got: &str) -> Fail {
        Fail::arg(narg, format!("{expected} expected, got {got}"))
    }

    /// `luaL_checkstack` failing: "stack overflow (<what>)".
    fn stack(what: &str) -> Fail {
        Fail::msg(format!("stack overflow ({what})"))
    }
}

/// What a library function returns.
enum Out {
    Values(MultiValue),
    /// Many results, in `table[first..=last]`: the trampoline pushes them,
    /// so they never become mlua references (there are few of those).
    Packed(Table, c_int, c_int),
}

type Ret = Result<Out, Fail>;

fn one(v: Value) -> Ret {
    Ok(Out::Values(MultiValue::from_vec(vec![v])))
}

fn many(v: Vec<Value>) -> Ret {
    Ok(Out::Values(MultiValue::from_vec(v)))
}

/// The callback's outcome in the form the trampoline reads.
fn to_trampoline(lua: &Lua, r: Ret) -> mlua::Result<MultiValue> {
    match r {
        Ok(Out::Values(mut results)) => {
            results.push_front(Value::Boolean(true));
            Ok(results)
        }
        Ok(Out::Packed(t, first, last)) => Ok(MultiValue::from_vec(vec![
            Value::Table(t),
            Value::Integer(first.into()),
            Value::Integer(last.into()),
        ])),
        Err(Fail::Arg(narg, msg)) => Ok(MultiValue::from_vec(vec![
            Value::Integer(narg.into()),
            Value::String(lua.create_string(msg)?),
        ])),
        Err(Fail::Msg(msg)) => Ok(MultiValue::from_vec(vec![
            Value::Boolean(false),
            Value::String(lua.create_string(msg)?),
        ])),
        Err(Fail::Raise(msg)) => Ok(MultiValue::from_vec(vec![
            Value::Nil,
            Value::String(lua.create_string(msg)?),
        ])),
        Err(Fail::Lua(e)) => Err(e),
    }
}

/// Wraps `inner` in a C closure running `tramp`.
fn c_closure(lua: &Lua, inner: Function, tramp: ffi::lua_CFunction) -> mlua::Result<Function> {
    // SAFETY: `exec_raw` runs the closure in protected mode with `inner` as
    // the only value on the stack; `lua_pushcclosure` pops it and pushes the
    // closure, which is the function returned.
    unsafe {
        lua.exec_raw::<Function>(inner, |state| {
            ffi::lua_pushcclosure(state, tramp, 1);
        })
    }
}

/// Creates a library function: `f` (given the arguments) behind a
/// [`trampoline`].
fn lib_fn<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> Ret + Send + 'static,
{
    let inner =
        lua.create_function(move |lua, args: MultiValue| to_trampoline(lua, f(lua, args)))?;
    c_closure(lua, inner, trampoline)
}

/// Creates a library function: `f` (given a table of the arguments and
/// their count, so that thousands of them cost no mlua references) behind a
/// [`trampoline_packed_args`].
fn lib_fn_packed<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, Table, usize) -> Ret + Send + 'static,
{
    let inner = lua.create_function(move |lua, (args, n): (Table, usize)| {
        to_trampoline(lua, f(lua, args, n))
    })?;
    c_closure(lua, inner, trampoline_packed_args)
}

/// The C function a script calls. Upvalue 1 is the mlua callback; see
/// [`trampoline_finish`] for what it returns. Errors of the callback itself
/// (mlua errors) propagate through `lua_call` unchanged.
///
/// No Rust value with a destructor is alive in these frames, so `lua_error`
/// (a `longjmp`) may leave them, as it leaves mlua's own C functions.
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    let nargs = ffi::lua_gettop(state);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    trampoline_finish(state)
}

/// [`trampoline`], passing the callback a table of the arguments and their
/// count.
unsafe extern "C-unwind" fn trampoline_packed_args(state: *mut ffi::lua_State) -> c_int {
    let nargs = ffi::lua_gettop(state);
    // A C function has LUA_MINSTACK free slots: room for the table.
    ffi::lua_createtable(state, nargs, 0);
    ffi::lua_insert(state, 1);
    for i in (1..=nargs).rev() {
        ffi::lua_rawseti(state, 1, i.into());
    }
    ffi::lua_pushinteger(state, nargs.into());
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, 2, ffi::LUA_MULTRET);
    trampoline_finish(state)
}

/// Turns the callback's results into the function's: `true, results...`
/// returns the results, `table, first, last` returns `table[first..=last]`,
/// `narg, message` raises an argument error, `false, message` an error with
/// the caller's position and `nil, message` the message as it is.
unsafe fn trampoline_finish(state: *mut ffi::lua_State) -> c_int {
    match ffi::lua_type(state, 1) {
        ffi::LUA_TBOOLEAN if ffi::lua_toboolean(state, 1) != 0 => {
            ffi::lua_remove(state, 1);
            ffi::lua_gettop(state)
        }
        ffi::LUA_TTABLE => {
            let first = ffi::lua_tonumber(state, 2) as c_int;
            let last = ffi::lua_tonumber(state, 3) as c_int;
            ffi::lua_settop(state, 1);
            let n = last.saturating_sub(first).saturating_add(1).max(0);
            if ffi::lua_checkstack(state, n) == 0 {
                ffi::luaL_error(state, c"stack overflow (too many results)".as_ptr());
            }
            for i in first..=last {
                ffi::lua_rawgeti(state, 1, i.into());
            }
            n
        }
        ffi::LUA_TNUMBER => {
            // The message stays on the stack (index 2) while it is used.
            let narg = ffi::lua_tonumber(state, 1) as c_int;
            ffi::luaL_argerror(state, narg, ffi::lua_tostring(state, 2))
        }
        ffi::LUA_TNIL => {
            ffi::lua_settop(state, 2);
            ffi::lua_error(state)
        }
        _ => {
            ffi::lua_settop(state, 2);
            ffi::luaL_where(state, 1);
            ffi::lua_insert(state, 2);
            ffi::lua_concat(state, 2);
            ffi::lua_error(state)
        }
    }
}

/// `lua_typename(lua_type(v))`.
fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Nil => "nil",
        Value::Boolean(_) => "boolean",
        Value::Integer(_) | Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Table(_) => "table",
        Value::Function(_) => "function",
        Value::Thread(_) => "thread",
        _ => "userdata",
    }
}

/// Argument `i` (0-based), nil when absent.
fn arg(args: &MultiValue, i: usize) -> &Value {
    args.get(i).unwrap_or(&Value::Nil)
}

/// `lua_tonumber` semantics: numbers, and strings Lua converts to numbers.
fn to_number(lua: &Lua, v: &Value) -> mlua::Result<Option<f64>> {
    Ok(match v {
        Value::Integer(i) => Some(*i as f64),
        Value::Number(n) => Some(*n),
        Value::String(_) => lua.coerce_number(v.clone())?,
        _ => None,
    })
}

/// `luaL_checknumber` of argument `i` (0-based).
fn check_number(lua: &Lua, args: &MultiValue, i: usize) -> Result<f64, Fail> {
    match args.get(i) {
        Some(v) => to_number(lua, v)?.ok_or_else(|| Fail::typ(i + 1, "number", type_name(v))),
        None => Err(Fail::typ(i + 1, "number", "no value")),
    }
}

/// `luaL_checklstring` of argument `i` (0-based): strings, and numbers
/// converted as Lua converts them.
fn check_string(lua: &Lua, args: &MultiValue, i: usize) -> Result<LuaString, Fail> {
    match args.get(i) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(v @ (Value::Integer(_) | Value::Number(_))) => lua
            .coerce_string(v.clone())?
            .ok_or_else(|| Fail::typ(i + 1, "string", "number")),
        other => Err(Fail::typ(
            i + 1,
            "string",
            other.map_or("no value", type_name),
        )),
    }
}

/// The C conversion `(int64_t)d` as x86-64 does it: truncation, and
/// `INT64_MIN` for NaN and out-of-range values.
fn c_double_to_i64(d: f64) -> i64 {
    if (-9_223_372_036_854_775_808.0..9_223_372_036_854_775_808.0).contains(&d) {
        d as i64
    } else {
        i64::MIN
    }
}

/// The C conversion `(int)d` as x86-64 does it: truncation, and `INT_MIN`
/// for NaN and out-of-range values.
fn c_double_to_i32(d: f64) -> i32 {
    if d.is_nan() || d >= 2_147_483_648.0 || d <= -2_147_483_649.0 {
        i32::MIN
    } else {
        d as i32
    }
}

/// `luaL_checkinteger` followed by a store into a C `int`.
fn check_c_int(lua: &Lua, args: &MultiValue, i: usize) -> Result<i32, Fail> {
    // lua_Integer is 64-bit; the library stores it in an int.
    Ok(c_double_to_i64(check_number(lua, args, i)?) as i32)
}

/// Appends `x` as C's `printf("%.<prec>g", x)` would (finite `x`, `prec` >= 1).
fn push_number_g(out: &mut Vec<u8>, x: f64, prec: usize) {
    use std::io::Write as _;
    if x == 0.0 {
        out.extend_from_slice(if x.is_sign_negative() { b"-0" } else { b"0" });
        return;
    }
    // Integers shorter than the precision print as themselves.
    if x.fract() == 0.0 && x.abs() < 1e15 && x.abs() < 10f64.powi(prec as i32) {
        let _ = write!(out, "{}", x as i64);
        return;
    }
    // Rust's `{:e}` is exactly rounded, as glibc's printf is.
    let sci = format!("{:.*e}", prec - 1, x);
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    if x < 0.0 {
        out.push(b'-');
    }
    // Significant digits without trailing zeros.
    let sig = match digits.iter().rposition(|&d| d != b'0') {
        Some(last) => &digits[..=last],
        None => &digits[..1],
    };
    if exp < -4 || exp >= prec as i32 {
        out.push(sig[0]);
        if sig.len() > 1 {
            out.push(b'.');
            out.extend_from_slice(&sig[1..]);
        }
        let _ = write!(
            out,
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.unsigned_abs()
        );
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        if sig.len() <= int_len {
            out.extend_from_slice(sig);
            out.resize(out.len() + int_len - sig.len(), b'0');
        } else {
            out.extend_from_slice(&sig[..int_len]);
            out.push(b'.');
            out.extend_from_slice(&sig[int_len..]);
        }
    } else {
        out.extend_from_slice(b"0.");
        out.resize(out.len() + (-exp - 1) as usize, b'0');
        out.extend_from_slice(sig);
    }
}

/// The C library's strtod() on a NUL-terminated buffer: the value and how
/// many bytes it used (0: no number). The process runs in the "C" locale, as
/// redis-server does for numbers.
fn c_strtod(s: &[u8]) -> (f64, usize) {
    if s.last() != Some(&0) {
        return (0.0, 0);
    }
    let start = s.as_ptr().cast::<std::os::raw::c_char>();
    let mut end: *mut std::os::raw::c_char = std::ptr::null_mut();
    // SAFETY: `s` ends with a NUL, so strtod reads within it, and `end`
    // points into it (or is `start`) when it returns.
    let n = unsafe { libc::strtod(start, &mut end) };
    let used = if end.is_null() {
        0
    } else {
        (end as usize).saturating_sub(start as usize)
    };
    (n, used.min(s.len() - 1))
}

/// The bytes of the string at `idx`, valid while it stays on the stack.
unsafe fn stack_bytes<'a>(state: *mut ffi::lua_State, idx: c_int) -> &'a [u8] {
    let mut len = 0;
    let p = ffi::lua_tolstring(state, idx, &mut len);
    if p.is_null() {
        &[]
    } else {
        std::slice::from_raw_parts(p.cast::<u8>(), len)
    }
}

/// `luaL_optinteger`: the default for none or nil, else `luaL_checkinteger`.
fn opt_integer(lua: &Lua, args: &MultiValue, i: usize, default: i64) -> Result<i64, Fail> {
    if arg(args, i).is_nil() {
        return Ok(default);
    }
    Ok(c_double_to_i64(check_number(lua, args, i)?))
}

/// `LUAI_MAXCSTACK`: `lua_checkstack` refuses to grow a C function's stack
/// frame beyond this many slots.
const LUA_MAX_C_STACK: usize = 8000;

#[cfg(test)]
mod testutil {
    //! Each case runs a snippet under `pcall` and compares what it returned,
    //! serialised, with what redis-server 7.0.15 returned for the same
    //! snippet run by `EVAL` in the same wrapper: the expected strings were
    //! taken from redis-server 7.0.15 (errors included, with the wrapper's
    //! "user_script:2:" position).

    use super::*;

    /// The wrapper's first line: a serialiser (strings quoted with bytes
    /// outside printable ASCII as `\ddd`, tables sorted) and helpers.
    pub(super) const PRELUDE: &str = r##"local function q(s) return '"' .. s:gsub('.', function(c) local b = c:byte() if b < 32 or b > 126 or c == '"' or c == '\\' then return '\\' .. b end end) .. '"' end local function ser(v) if type(v) == "table" then local p = {} for k, x in pairs(v) do p[#p + 1] = tostring(k) .. "=" .. ser(x) end table.sort(p) return "{" .. table.concat(p, ",") .. "}" elseif type(v) == "string" then return q(v) else return type(v) .. ":" .. tostring(v) end end local function hex(s) return (s:gsub(".", function(c) return string.format("%02x", c:byte()) end)) end local function unhex(h) return (h:gsub("..", function(x) return string.char(tonumber(x, 16)) end)) end local function all(...) local r = {} for i = 1, select("#", ...) do r[i] = ser((select(i, ...))) end return select("#", ...) .. " " .. table.concat(r, " ") end"##;

    pub(super) fn new_lua() -> Lua {
        let lua = Lua::new();
        install(&lua, &lua.globals()).expect("install the libraries");
        lua
    }

    /// Runs `snippet` as a function body under `pcall`; returns the results
    /// serialised and joined with " | ".
    pub(super) fn run(lua: &Lua, snippet: &str) -> String {
        let code = format!(
            "{PRELUDE}\nlocal res = {{pcall(function() {snippet} end)}}\n\
             local out = {{}} for i = 1, table.maxn(res) do out[i] = ser(res[i]) end \
             return table.concat(out, ' | ')"
        );
        lua.load(code)
            .set_name("@user_script")
            .eval()
            .expect("the wrapper runs")
    }

    /// Checks each (snippet, what redis-server 7.0.15 returned) in one Lua
    /// state, as Redis ran them in one.
    pub(crate) fn check(cases: &[(&str, &str)]) {
        let lua = new_lua();
        for (snippet, expected) in cases {
            assert_eq!(run(&lua, snippet), *expected, "snippet: {snippet}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::testutil::{check, new_lua};
    use super::*;

    #[test]
    fn tables_and_round_trips_match_redis() {
        check(&[
            (
                r#"local r={} for k in pairs(bit) do r[#r+1]=k end return table.concat(r,' ')"#,
                r#"boolean:true | "band rshift bor bnot bswap bxor tobit ror lshift tohex rol arshift""#,
            ),
            (
                r#"local r={} for k in pairs(cjson) do r[#r+1]=k end return table.concat(r,' ')"#,
                r#"boolean:true | "_NAME encode decode_max_depth _VERSION decode_invalid_numbers encode_keep_buffer null encode_number_precision new encode_max_depth encode_invalid_numbers decode encode_sparse_array""#,
            ),
            (
                r#"local r={} for k in pairs(cjson.new()) do r[#r+1]=k end return table.concat(r,' ')"#,
                r#"boolean:true | "_NAME encode decode_max_depth _VERSION decode_invalid_numbers encode_keep_buffer null encode_number_precision new encode_max_depth encode_invalid_numbers decode encode_sparse_array""#,
            ),
            (
                r#"local r={} for k in pairs(cmsgpack) do r[#r+1]=k end return table.concat(r,' ')"#,
                r#"boolean:true | "_DESCRIPTION pack _NAME unpack _COPYRIGHT _VERSION unpack_one unpack_limit""#,
            ),
            (
                r#"local r={} for k in pairs(struct) do r[#r+1]=k end return table.concat(r,' ')"#,
                r#"boolean:true | "pack size unpack""#,
            ),
            (
                r#"return {cmsgpack._VERSION, cmsgpack._COPYRIGHT, cmsgpack._DESCRIPTION, cmsgpack._NAME, cjson._NAME, cjson._VERSION, type(cjson.null)}"#,
                r#"boolean:true | {1="lua-cmsgpack 0.4.0",2="Copyright (C) 2012, Salvatore Sanfilippo",3="MessagePack C implementation for Lua",4="cmsgpack",5="cjson",6="2.1.0",7="userdata"}"#,
            ),
            (
                r#"return cjson.encode({0.1, 0.5, 1.5, 2.5, 0.05, 0.15, 1e21, 1e-7, 123456789012345.6, 99999999999999.95, 9.9999999999999e-5, 0.000099999999999999995})"#,
                r#"boolean:true | "[0.1,0.5,1.5,2.5,0.05,0.15,1e+21,1e-07,1.2345678901235e+14,1e+14,9.9999999999999e-05,0.0001]""#,
            ),
            (
                r#"local doc = {users={}} for i=1,200 do doc.users[i] = {id=i, name='user'..i, tags={'a','b',i}, score=i/7, active=(i%2==0), meta={k=cjson.null}} end local s = cjson.encode(doc) local d = cjson.decode(s) return {#s, cjson.encode(d) == s}"#,
                r#"boolean:true | {1=number:20420,2=boolean:false}"#,
            ),
            (
                r#"local t = {} for i=1,30 do t[string.char(64+i)] = i end t[1]=1 t[2]=2 t[3.5]=3 return cjson.encode(t)"#,
                r#"boolean:true | "{\341\34:1,\342\34:2,\34A\34:1,\34C\34:3,\34B\34:2,\34E\34:5,\34D\34:4,\34G\34:7,\34F\34:6,\34I\34:9,\34H\34:8,\34K\34:11,\34J\34:10,\34M\34:13,\34L\34:12,\34O\34:15,\34N\34:14,\34Q\34:17,\34P\34:16,\34S\34:19,\34R\34:18,\34U\34:21,\34T\34:20,\34W\34:23,\34V\34:22,\34Y\34:25,\34X\34:24,\34[\34:27,\34Z\34:26,\34]\34:29,\34\92\92\34:28,\343.5\34:3,\34^\34:30}""#,
            ),
            (
                r#"local t = cjson.decode('{"b":1,"a":2,"c":{"z":[1,2,3],"y":null}}') return cjson.encode(t)"#,
                r#"boolean:true | "{\34a\34:2,\34c\34:{\34y\34:null,\34z\34:[1,2,3]},\34b\34:1}""#,
            ),
            (
                r#"return cmsgpack.pack(cjson.decode('{"b":1,"a":2,"c":{"z":[1,2,3],"y":null}}')) == cmsgpack.pack(cjson.decode('{"b":1,"a":2,"c":{"z":[1,2,3],"y":null}}'))"#,
                r#"boolean:true | boolean:true"#,
            ),
            (
                r#"local t = {} for i=1,100 do t['k'..i] = i end local s = cmsgpack.pack(t) local u = cmsgpack.unpack(s) local r = {} for k,v in pairs(u) do r[#r+1]=k end return table.concat(r, ' ')"#,
                r#"boolean:true | "k16 k32 k71 k75 k39 k31 k79 k96 k72 k98 k67 k10 k58 k1 k63 k90 k34 k23 k74 k50 k81 k45 k85 k41 k66 k49 k42 k28 k20 k37 k8 k77 k73 k44 k33 k60 k4 k84 k12 k91 k55 k19 k95 k51 k13 k99 k92 k36 k76 k52 k89 k9 k30 k38 k14 k47 k87 k43 k3 k59 k15 k83 k17 k54 k94 k7 k26 k2 k5 k18 k68 k22 k24 k61 k100 k25 k21 k29 k46 k65 k11 k86 k62 k35 k57 k88 k48 k93 k53 k70 k78 k97 k82 k80 k64 k56 k6 k27 k40 k69""#,
            ),
            (
                r#"local t = {} for i=1,100 do t['k'..i] = i end local s = cjson.encode(t) local u = cjson.decode(s) local r = {} for k,v in pairs(u) do r[#r+1]=k end return table.concat(r, ' ')"#,
                r#"boolean:true | "k16 k32 k71 k75 k39 k31 k79 k96 k72 k98 k67 k10 k58 k1 k63 k90 k34 k23 k74 k50 k81 k45 k85 k41 k66 k49 k42 k28 k20 k37 k8 k77 k73 k44 k33 k60 k4 k84 k12 k91 k55 k19 k95 k51 k13 k99 k92 k36 k76 k52 k89 k9 k30 k38 k14 k47 k87 k43 k3 k59 k15 k83 k17 k54 k94 k7 k26 k2 k5 k18 k68 k22 k24 k61 k100 k25 k21 k29 k46 k65 k11 k86 k62 k35 k57 k88 k48 k93 k53 k70 k78 k97 k82 k80 k64 k56 k6 k27 k40 k69""#,
            ),
        ]);
    }

    /// `%.<p>g` as cjson writes numbers, against the C library's printf
    /// (through Lua's string.format) for every precision cjson accepts.
    #[test]
    fn number_format_matches_c_printf() {
        let lua = new_lua();
        let printf: Function = lua
            .load("return function(p, x) return string.format('%.' .. p .. 'g', x) end")
            .eval()
            .expect("compile");
        let mut values = vec![
            0.5,
            1.5,
            2.5,
            9.5,
            0.125,
            0.05,
            0.15,
            1e15,
            1e14,
            99999999999999.5,
            123456789012345.0,
            1e-4,
            9.99999999999995e-5,
            1e-5,
            1e21,
            1e22,
            5e-324,
            f64::MAX,
            f64::MIN_POSITIVE,
            2f64.powi(53),
            0.1 + 0.2,
            1.0 / 3.0,
        ];
        let mut seed: u64 = 0x9E37_79B9_7F4A_7C15;
        for i in 0..4000 {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            let bits = f64::from_bits(seed);
            if bits.is_finite() {
                values.push(bits);
            }
            // Mantissas of every magnitude cjson prints in fixed notation.
            let m = (seed >> 11) as f64 / (1u64 << 53) as f64;
            values.push(m * 10f64.powi(i % 24 - 8));
            values.push(f64::from(i) * 0.25 - 100.0);
        }
        for (i, &x) in values.iter().enumerate() {
            for sign in [1.0, -1.0] {
                let x = x * sign;
                let p = 1 + i % 14;
                let mut out = Vec::new();
                push_number_g(&mut out, x, p);
                let expected: String = printf.call((p, x)).expect("printf");
                assert_eq!(String::from_utf8_lossy(&out), expected, "%.{p}g of {x:e}");
                let mut out = Vec::new();
                push_number_g(&mut out, x, 14);
                let expected: String = printf.call((14, x)).expect("printf");
                assert_eq!(String::from_utf8_lossy(&out), expected, "%.14g of {x:e}");
            }
        }
    }

    /// Errors reach scripts as strings (as from the C libraries), with the
    /// calling line's position unless called through pcall directly.
    #[test]
    fn errors_are_strings() {
        let lua = new_lua();
        let kinds: String = lua
            .load(
                "local r = {}\n\
                 for _, f in ipairs({function() return bit.band({}) end,\n\
                     function() return cjson.decode('[') end,\n\
                     function() return cmsgpack.unpack('\\204') end,\n\
                     function() return struct.pack('z') end,\n\
                     function() return cmsgpack.unpack('\\129\\192\\1') end}) do\n\
                   local ok, e = pcall(f) r[#r + 1] = type(e) .. ':' .. e\n\
                 end\n\
                 local ok, e = pcall(cjson.encode, print) r[#r + 1] = e\n\
                 return table.concat(r, '|')",
            )
            .set_name("@user_script")
            .eval()
            .expect("run");
        assert_eq!(
            kinds,
            "string:user_script:2: bad argument #1 to 'band' (number expected, got table)|\
             string:user_script:3: Expected value but found T_END at character 2|\
             string:user_script:4: Missing bytes in input.|\
             string:user_script:5: bad argument #1 to 'pack' (invalid format option 'z')|\
             string:table index is nil|\
             Cannot serialise function: type not supported"
        );
    }
}
