//! The Lua libraries Redis gives scripts besides Lua's own: `bit` (LuaBitOp
//! 1.0.2), `cjson` (lua-cjson 2.1.0 as patched by Redis), `cmsgpack`
//! (lua-cmsgpack 0.4.0) and `struct` (Roberto Ierusalimschy's struct library),
//! reimplemented in Rust with the behaviour of redis-server 7.0.15: the same
//! results, the same error messages and the same limits.
//!
//! # Errors
//! The C libraries raise errors with `luaL_error` / `luaL_argerror`, so a
//! script sees a plain string ("user_script:1: bad argument #1 to 'tobit'
//! (number expected, got string)", or without the position when called
//! through `pcall`). An mlua callback can only raise its own error userdata,
//! so every library function here is a small C closure ([`trampoline`]) around
//! the Rust callback: the callback reports a failure as return values and the
//! trampoline raises it with the Lua auxiliary library, from a C frame that
//! Lua sees as the library function itself. Position prefix, function name
//! ("to 'band'", "to '?'", "calling 'x' on bad self") and the frame seen by an
//! error handler (`debug.getinfo`) are therefore those of Redis.

use std::os::raw::c_int;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use mlua::{ffi, Function, Lua, LuaString, MultiValue, Table, Value};

/// Adds the libraries to `globals`.
pub(crate) fn install(lua: &Lua, globals: &Table) -> mlua::Result<()> {
    globals.raw_set("bit", bit_lib(lua)?)?;
    globals.raw_set("cjson", cjson_lib(lua)?)?;
    globals.raw_set("cmsgpack", cmsgpack_lib(lua)?)?;
    globals.raw_set("struct", struct_lib(lua)?)?;
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
    if d.is_nan() || d >= 9_223_372_036_854_775_808.0 || d < -9_223_372_036_854_775_808.0 {
        i64::MIN
    } else {
        d as i64
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

// ---------------------------------------------------------------------------
// bit: LuaBitOp 1.0.2
// ---------------------------------------------------------------------------

/// `barg`: the argument as 32 bits. The double plus 2^52+2^51 has the
/// integer part (rounded to nearest even) in its low 32 bits.
fn bit_arg(lua: &Lua, args: &MultiValue, i: usize) -> Result<u32, Fail> {
    let n = check_number(lua, args, i)?;
    Ok((n + 6_755_399_441_055_744.0).to_bits() as u32)
}

fn bit_ret(b: u32) -> Ret {
    one(Value::Number(f64::from(b as i32)))
}

fn bit_lib(lua: &Lua) -> mlua::Result<Table> {
    // luaL_register: a table sized for the 12 functions, filled in this order.
    let bit = lua.create_table_with_capacity(0, 12)?;
    bit.raw_set(
        "tobit",
        lib_fn(lua, |lua, a| bit_ret(bit_arg(lua, &a, 0)?))?,
    )?;
    bit.raw_set(
        "bnot",
        lib_fn(lua, |lua, a| bit_ret(!bit_arg(lua, &a, 0)?))?,
    )?;
    bit.raw_set("band", bit_fold(lua, |x, y| x & y)?)?;
    bit.raw_set("bor", bit_fold(lua, |x, y| x | y)?)?;
    bit.raw_set("bxor", bit_fold(lua, |x, y| x ^ y)?)?;
    bit.raw_set("lshift", bit_shift(lua, |b, n| b << n)?)?;
    bit.raw_set("rshift", bit_shift(lua, |b, n| b >> n)?)?;
    bit.raw_set("arshift", bit_shift(lua, |b, n| ((b as i32) >> n) as u32)?)?;
    bit.raw_set("rol", bit_shift(lua, u32::rotate_left)?)?;
    bit.raw_set("ror", bit_shift(lua, u32::rotate_right)?)?;
    bit.raw_set(
        "bswap",
        lib_fn(lua, |lua, a| bit_ret(bit_arg(lua, &a, 0)?.swap_bytes()))?,
    )?;
    bit.raw_set("tohex", lib_fn(lua, bit_tohex)?)?;
    Ok(bit)
}

/// band/bor/bxor: argument 1, then the others from the last to the second.
fn bit_fold(lua: &Lua, op: fn(u32, u32) -> u32) -> mlua::Result<Function> {
    lib_fn(lua, move |lua, a| {
        let mut b = bit_arg(lua, &a, 0)?;
        for i in (1..a.len()).rev() {
            b = op(b, bit_arg(lua, &a, i)?);
        }
        bit_ret(b)
    })
}

fn bit_shift(lua: &Lua, op: fn(u32, u32) -> u32) -> mlua::Result<Function> {
    lib_fn(lua, move |lua, a| {
        let b = bit_arg(lua, &a, 0)?;
        let n = bit_arg(lua, &a, 1)? & 31;
        bit_ret(op(b, n))
    })
}

fn bit_tohex(lua: &Lua, a: MultiValue) -> Ret {
    let mut b = bit_arg(lua, &a, 0)?;
    let mut n = if a.len() < 2 {
        8
    } else {
        bit_arg(lua, &a, 1)? as i32
    };
    let digits: &[u8; 16] = if n < 0 {
        n = n.wrapping_neg();
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    // -INT_MIN stays negative; the compiled C treats it as more than 8.
    let n = if n as u32 > 8 { 8 } else { n as usize };
    let mut buf = [0u8; 8];
    for slot in buf[..n].iter_mut().rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    one(Value::String(lua.create_string(&buf[..n])?))
}

// ---------------------------------------------------------------------------
// cjson: lua-cjson 2.1.0
// ---------------------------------------------------------------------------

/// Settings of one cjson instance (`cjson.new()` makes another).
#[derive(Clone, Copy)]
struct JsonConfig {
    encode_sparse_convert: u8,
    encode_sparse_ratio: i32,
    encode_sparse_safe: i32,
    encode_max_depth: i32,
    decode_max_depth: i32,
    /// 0 "off", 1 "on", 2 "null".
    encode_invalid_numbers: u8,
    decode_invalid_numbers: u8,
    encode_number_precision: i32,
    encode_keep_buffer: u8,
}

impl Default for JsonConfig {
    fn default() -> Self {
        JsonConfig {
            encode_sparse_convert: 0,
            encode_sparse_ratio: 2,
            encode_sparse_safe: 10,
            encode_max_depth: 1000,
            decode_max_depth: 1000,
            encode_invalid_numbers: 0,
            decode_invalid_numbers: 1,
            encode_number_precision: 14,
            encode_keep_buffer: 1,
        }
    }
}

type SharedConfig = Arc<Mutex<JsonConfig>>;

fn lock(cfg: &SharedConfig) -> MutexGuard<'_, JsonConfig> {
    cfg.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A cjson configuration function: `nargs` arguments at most, then `f`
/// applied to the instance's settings.
fn json_cfg_fn<F>(lua: &Lua, cfg: &SharedConfig, nargs: usize, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, &MultiValue, &mut JsonConfig) -> Ret + Send + 'static,
{
    let cfg = Arc::clone(cfg);
    lib_fn(lua, move |lua, args| {
        if args.len() > nargs {
            return Err(Fail::arg(nargs + 1, "found too many arguments"));
        }
        let mut guard = lock(&cfg);
        f(lua, &args, &mut guard)
    })
}

/// `json_enum_option` (always with `bool_true` = 1): argument `i` may be a
/// boolean or one of `options`; returns the setting as a boolean when it is
/// 0 or 1, else as its option name.
fn json_enum_option(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    setting: &mut u8,
    options: &[&str],
) -> Result<Value, Fail> {
    match arg(args, i) {
        Value::Nil => {}
        Value::Boolean(b) => *setting = u8::from(*b),
        _ => {
            // luaL_checkoption: the argument as a C string.
            let name = check_string(lua, args, i)?;
            let bytes = name.as_bytes();
            let name = bytes.split(|&c| c == 0).next().unwrap_or(&[]);
            match options.iter().position(|o| o.as_bytes() == name) {
                Some(p) => *setting = p as u8,
                None => {
                    let mut msg = b"invalid option '".to_vec();
                    msg.extend_from_slice(name);
                    msg.push(b'\'');
                    return Err(Fail::Arg(i as c_int + 1, msg));
                }
            }
        }
    }
    Ok(match *setting {
        0 | 1 => Value::Boolean(*setting == 1),
        s => Value::String(lua.create_string(options.get(s as usize).copied().unwrap_or(""))?),
    })
}

const BOOL_OPTIONS: &[&str] = &["off", "on"];

/// `json_integer_option`: argument `i`, if not nil, must be an integer in
/// `min..=max` (the range error names argument 1, as lua-cjson does).
fn json_integer_option(
    lua: &Lua,
    args: &MultiValue,
    i: usize,
    setting: &mut i32,
    min: i32,
    max: i32,
) -> Result<Value, Fail> {
    if !arg(args, i).is_nil() {
        let value = check_c_int(lua, args, i)?;
        if value < min || value > max {
            return Err(Fail::arg(
                1,
                format!("expected integer between {min} and {max}"),
            ));
        }
        *setting = value;
    }
    Ok(Value::Integer((*setting).into()))
}

/// A new cjson module table with its own settings (`cjson` and `cjson.new()`).
fn cjson_lib(lua: &Lua) -> mlua::Result<Table> {
    let cfg: SharedConfig = Arc::new(Mutex::new(JsonConfig::default()));
    let t = lua.create_table()?;
    let c = Arc::clone(&cfg);
    t.raw_set(
        "encode",
        lib_fn(lua, move |lua, args| {
            if args.len() != 1 {
                return Err(Fail::arg(1, "expected 1 argument"));
            }
            let settings = *lock(&c);
            let out = json_encode(lua, settings, arg(&args, 0).clone())?;
            one(Value::String(lua.create_string(out)?))
        })?,
    )?;
    let c = Arc::clone(&cfg);
    t.raw_set(
        "decode",
        lib_fn(lua, move |lua, args| {
            if args.len() != 1 {
                return Err(Fail::arg(1, "expected 1 argument"));
            }
            let settings = *lock(&c);
            let text = check_string(lua, &args, 0)?;
            one(json_decode(lua, settings, text)?)
        })?,
    )?;
    t.raw_set(
        "encode_sparse_array",
        json_cfg_fn(lua, &cfg, 3, |lua, args, cfg| {
            let convert =
                json_enum_option(lua, args, 0, &mut cfg.encode_sparse_convert, BOOL_OPTIONS)?;
            let ratio =
                json_integer_option(lua, args, 1, &mut cfg.encode_sparse_ratio, 0, i32::MAX)?;
            let safe = json_integer_option(lua, args, 2, &mut cfg.encode_sparse_safe, 0, i32::MAX)?;
            many(vec![convert, ratio, safe])
        })?,
    )?;
    t.raw_set(
        "encode_max_depth",
        json_cfg_fn(lua, &cfg, 1, |lua, args, cfg| {
            one(json_integer_option(
                lua,
                args,
                0,
                &mut cfg.encode_max_depth,
                1,
                i32::MAX,
            )?)
        })?,
    )?;
    t.raw_set(
        "decode_max_depth",
        json_cfg_fn(lua, &cfg, 1, |lua, args, cfg| {
            one(json_integer_option(
                lua,
                args,
                0,
                &mut cfg.decode_max_depth,
                1,
                i32::MAX,
            )?)
        })?,
    )?;
    t.raw_set(
        "encode_number_precision",
        json_cfg_fn(lua, &cfg, 1, |lua, args, cfg| {
            one(json_integer_option(
                lua,
                args,
                0,
                &mut cfg.encode_number_precision,
                1,
                14,
            )?)
        })?,
    )?;
    t.raw_set(
        "encode_keep_buffer",
        json_cfg_fn(lua, &cfg, 1, |lua, args, cfg| {
            one(json_enum_option(
                lua,
                args,
                0,
                &mut cfg.encode_keep_buffer,
                BOOL_OPTIONS,
            )?)
        })?,
    )?;
    t.raw_set(
        "encode_invalid_numbers",
        json_cfg_fn(lua, &cfg, 1, |lua, args, cfg| {
            one(json_enum_option(
                lua,
                args,
                0,
                &mut cfg.encode_invalid_numbers,
                &["off", "on", "null"],
            )?)
        })?,
    )?;
    t.raw_set(
        "decode_invalid_numbers",
        json_cfg_fn(lua, &cfg, 1, |lua, args, cfg| {
            one(json_enum_option(
                lua,
                args,
                0,
                &mut cfg.decode_invalid_numbers,
                BOOL_OPTIONS,
            )?)
        })?,
    )?;
    t.raw_set(
        "new",
        lib_fn(lua, |lua, _| one(Value::Table(cjson_lib(lua)?)))?,
    )?;
    t.raw_set("null", Value::NULL)?;
    t.raw_set("_NAME", "cjson")?;
    t.raw_set("_VERSION", "2.1.0")?;
    Ok(t)
}

// ----- encoding -----

/// Why encoding failed (formatted once out of the protected call).
#[derive(Clone, Copy)]
enum EncodeError {
    /// A value of this Lua type cannot be encoded.
    Unsupported(c_int),
    /// A table key of this Lua type.
    KeyType(c_int),
    /// NaN or infinity with `encode_invalid_numbers` off.
    InvalidNumber,
    Sparse,
    /// Nesting deeper than allowed, at this depth.
    Nesting(usize),
}

impl EncodeError {
    fn into_fail(self) -> Fail {
        Fail::msg(match self {
            EncodeError::Unsupported(t) => {
                format!("Cannot serialise {}: type not supported", lua_type_name(t))
            }
            EncodeError::KeyType(t) => format!(
                "Cannot serialise {}: table key must be a number or string",
                lua_type_name(t)
            ),
            EncodeError::InvalidNumber => "Cannot serialise number: must not be NaN or Inf".into(),
            EncodeError::Sparse => "Cannot serialise table: excessively sparse array".into(),
            EncodeError::Nesting(depth) => format!("Cannot serialise, excessive nesting ({depth})"),
        })
    }
}

/// `lua_typename` of a type code.
fn lua_type_name(t: c_int) -> &'static str {
    match t {
        ffi::LUA_TNIL => "nil",
        ffi::LUA_TBOOLEAN => "boolean",
        ffi::LUA_TNUMBER => "number",
        ffi::LUA_TSTRING => "string",
        ffi::LUA_TTABLE => "table",
        ffi::LUA_TFUNCTION => "function",
        ffi::LUA_TTHREAD => "thread",
        ffi::LUA_TNONE => "no value",
        _ => "userdata",
    }
}

/// A table being written; the table is on the Lua stack.
#[derive(Clone, Copy)]
enum EncodeFrame {
    /// `[...]`: elements 1..=len; `next` written so far.
    Array { len: c_int, next: c_int },
    /// `{...}`: the last key written is on the stack above the table.
    Object { first: bool },
}

/// What the protected encoder works with: owned here, outside the
/// protected call, so that a Lua error (out of memory) unwinding it by
/// `longjmp` skips no destructor.
struct EncodeWork {
    cfg: JsonConfig,
    out: Vec<u8>,
    frames: Vec<EncodeFrame>,
    result: Result<(), EncodeError>,
}

/// `cjson.encode(value)`.
fn json_encode(lua: &Lua, cfg: JsonConfig, value: Value) -> Result<Vec<u8>, Fail> {
    let mut work = EncodeWork {
        cfg,
        out: Vec::new(),
        frames: Vec::new(),
        result: Ok(()),
    };
    let w = &mut work;
    // SAFETY: the closure gets a stack holding only `value` (as lua-cjson's
    // encode function does, so `lua_checkstack` limits are the same) and
    // uses it within the space it checks; it owns nothing that needs drop.
    unsafe {
        lua.exec_raw::<()>(value, move |state| {
            w.result = encode_on_stack(state, w);
            ffi::lua_settop(state, 0);
        })?;
    }
    work.result.map_err(EncodeError::into_fail)?;
    Ok(work.out)
}

/// Encodes the value on the top of the stack, as lua-cjson does (same
/// stack use, same `next` order), without recursion.
unsafe fn encode_on_stack(
    state: *mut ffi::lua_State,
    w: &mut EncodeWork,
) -> Result<(), EncodeError> {
    let cfg = w.cfg;
    loop {
        // `json_append_data` for the value on the top; scalars are popped,
        // tables opened.
        match ffi::lua_type(state, -1) {
            ffi::LUA_TSTRING => {
                json_append_string(&mut w.out, stack_bytes(state, -1));
                ffi::lua_pop(state, 1);
            }
            ffi::LUA_TNUMBER => {
                json_append_number(&mut w.out, &cfg, ffi::lua_tonumber(state, -1))?;
                ffi::lua_pop(state, 1);
            }
            ffi::LUA_TBOOLEAN => {
                let b = ffi::lua_toboolean(state, -1) != 0;
                w.out.extend_from_slice(if b { b"true" } else { b"false" });
                ffi::lua_pop(state, 1);
            }
            ffi::LUA_TNIL => {
                w.out.extend_from_slice(b"null");
                ffi::lua_pop(state, 1);
            }
            ffi::LUA_TLIGHTUSERDATA if ffi::lua_touserdata(state, -1).is_null() => {
                w.out.extend_from_slice(b"null");
                ffi::lua_pop(state, 1);
            }
            ffi::LUA_TTABLE => {
                let depth = w.frames.len() + 1;
                if depth > cfg.encode_max_depth.max(0) as usize
                    || ffi::lua_checkstack(state, 3) == 0
                {
                    return Err(EncodeError::Nesting(depth));
                }
                let len = json_array_length(state, &cfg)?;
                if len > 0 {
                    w.out.push(b'[');
                    w.frames.push(EncodeFrame::Array { len, next: 0 });
                } else {
                    w.out.push(b'{');
                    ffi::lua_pushnil(state);
                    w.frames.push(EncodeFrame::Object { first: true });
                }
            }
            t => return Err(EncodeError::Unsupported(t)),
        }
        // Push the next value to write, closing the tables that end.
        loop {
            match w.frames.last_mut() {
                None => return Ok(()),
                Some(EncodeFrame::Array { len, next }) => {
                    if *next < *len {
                        if *next > 0 {
                            w.out.push(b',');
                        }
                        *next += 1;
                        ffi::lua_rawgeti(state, -1, (*next).into());
                        break;
                    }
                    w.out.push(b']');
                }
                Some(EncodeFrame::Object { first }) => {
                    if ffi::lua_next(state, -2) != 0 {
                        if !*first {
                            w.out.push(b',');
                        }
                        *first = false;
                        match ffi::lua_type(state, -2) {
                            ffi::LUA_TNUMBER => {
                                w.out.push(b'"');
                                json_append_number(&mut w.out, &cfg, ffi::lua_tonumber(state, -2))?;
                                w.out.extend_from_slice(b"\":");
                            }
                            ffi::LUA_TSTRING => {
                                json_append_string(&mut w.out, stack_bytes(state, -2));
                                w.out.push(b':');
                            }
                            t => return Err(EncodeError::KeyType(t)),
                        }
                        break;
                    }
                    w.out.push(b'}');
                }
            }
            w.frames.pop();
            ffi::lua_pop(state, 1);
        }
    }
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

/// `lua_array_length` for the table on the top: its array length when every
/// key is a positive integer, else -1 (an object). The maximum is kept in a C
/// `int` with lua-cjson's overflow behaviour.
unsafe fn json_array_length(
    state: *mut ffi::lua_State,
    cfg: &JsonConfig,
) -> Result<c_int, EncodeError> {
    let mut max: i32 = 0;
    let mut items: i32 = 0;
    ffi::lua_pushnil(state);
    while ffi::lua_next(state, -2) != 0 {
        if ffi::lua_type(state, -2) == ffi::LUA_TNUMBER {
            let k = ffi::lua_tonumber(state, -2);
            if k != 0.0 && k.floor() == k && k >= 1.0 {
                if k > f64::from(max) {
                    max = c_double_to_i32(k);
                }
                items = items.wrapping_add(1);
                ffi::lua_pop(state, 1);
                continue;
            }
        }
        ffi::lua_pop(state, 2);
        return Ok(-1);
    }
    if cfg.encode_sparse_ratio > 0
        && max > items.wrapping_mul(cfg.encode_sparse_ratio)
        && max > cfg.encode_sparse_safe
    {
        if cfg.encode_sparse_convert == 0 {
            return Err(EncodeError::Sparse);
        }
        return Ok(-1);
    }
    Ok(max)
}

/// `json_append_number`.
fn json_append_number(out: &mut Vec<u8>, cfg: &JsonConfig, n: f64) -> Result<(), EncodeError> {
    if n.is_finite() {
        push_number_g(out, n, cfg.encode_number_precision.clamp(1, 14) as usize);
        return Ok(());
    }
    match cfg.encode_invalid_numbers {
        0 => return Err(EncodeError::InvalidNumber),
        1 if n.is_nan() => out.extend_from_slice(b"nan"),
        1 if n < 0.0 => out.extend_from_slice(b"-inf"),
        1 => out.extend_from_slice(b"inf"),
        _ => out.extend_from_slice(b"null"),
    }
    Ok(())
}

/// lua-cjson's `char2escape`: the escape of byte `c`, if it needs one.
fn json_escape(c: u8) -> Option<&'static [u8]> {
    const CONTROL: [&[u8]; 32] = [
        b"\\u0000", b"\\u0001", b"\\u0002", b"\\u0003", b"\\u0004", b"\\u0005", b"\\u0006",
        b"\\u0007", b"\\b", b"\\t", b"\\n", b"\\u000b", b"\\f", b"\\r", b"\\u000e", b"\\u000f",
        b"\\u0010", b"\\u0011", b"\\u0012", b"\\u0013", b"\\u0014", b"\\u0015", b"\\u0016",
        b"\\u0017", b"\\u0018", b"\\u0019", b"\\u001a", b"\\u001b", b"\\u001c", b"\\u001d",
        b"\\u001e", b"\\u001f",
    ];
    match c {
        0..=31 => CONTROL.get(usize::from(c)).copied(),
        b'"' => Some(b"\\\""),
        b'\\' => Some(b"\\\\"),
        b'/' => Some(b"\\/"),
        127 => Some(b"\\u007f"),
        _ => None,
    }
}

/// `json_append_string`: the bytes quoted and escaped (bytes >= 128 as is).
fn json_append_string(out: &mut Vec<u8>, s: &[u8]) {
    out.reserve(s.len() + 2);
    out.push(b'"');
    let mut plain = 0;
    for (i, &c) in s.iter().enumerate() {
        if let Some(esc) = json_escape(c) {
            out.extend_from_slice(s.get(plain..i).unwrap_or_default());
            out.extend_from_slice(esc);
            plain = i + 1;
        }
    }
    out.extend_from_slice(s.get(plain..).unwrap_or_default());
    out.push(b'"');
}

// ----- decoding -----

#[derive(Clone, Copy, PartialEq, Debug)]
enum Tok {
    ObjBegin,
    ObjEnd,
    ArrBegin,
    ArrEnd,
    /// The decoded string is in `Decoder::tmp`.
    Str,
    Num(f64),
    Bool(bool),
    Null,
    Colon,
    Comma,
    End,
    /// A token error: its description.
    Error(&'static str),
}

impl Tok {
    /// `json_token_type_name`, or the error's description.
    fn name(self) -> &'static str {
        match self {
            Tok::ObjBegin => "T_OBJ_BEGIN",
            Tok::ObjEnd => "T_OBJ_END",
            Tok::ArrBegin => "T_ARR_BEGIN",
            Tok::ArrEnd => "T_ARR_END",
            Tok::Str => "T_STRING",
            Tok::Num(_) => "T_NUMBER",
            Tok::Bool(_) => "T_BOOLEAN",
            Tok::Null => "T_NULL",
            Tok::Colon => "T_COLON",
            Tok::Comma => "T_COMMA",
            Tok::End => "T_END",
            Tok::Error(what) => what,
        }
    }
}

/// Why decoding failed (formatted once out of the protected call).
#[derive(Clone, Copy)]
enum DecodeError {
    /// `json_throw_parse_error`: expected, found, 0-based index.
    Parse(&'static str, Tok, usize),
    /// Too deep: depth, position.
    Depth(usize, usize),
}

impl DecodeError {
    fn into_fail(self) -> Fail {
        Fail::msg(match self {
            DecodeError::Parse(expected, found, index) => format!(
                "Expected {expected} but found {} at character {}",
                found.name(),
                index + 1
            ),
            DecodeError::Depth(depth, pos) => {
                format!("Found too many nested data structures ({depth}) at character {pos}")
            }
        })
    }
}

/// A table being filled; the table (and for an object the pending key) is
/// on the Lua stack.
#[derive(Clone, Copy)]
enum DecodeFrame {
    Array { next: c_int },
    Object,
}

/// The tokenizer and what the protected decoder works with, owned outside
/// the protected call (see [`EncodeWork`]).
struct Decoder {
    cfg: JsonConfig,
    /// The text plus a terminating NUL (the end, as for the C string).
    data: Vec<u8>,
    pos: usize,
    /// Where the last token starts (its index for error messages).
    tok_index: usize,
    tmp: Vec<u8>,
    frames: Vec<DecodeFrame>,
    result: Result<(), DecodeError>,
}

/// `cjson.decode(text)`.
fn json_decode(lua: &Lua, cfg: JsonConfig, text: LuaString) -> Result<Value, Fail> {
    let mut d = {
        let bytes = text.as_bytes();
        if bytes.len() >= 2 && (bytes[0] == 0 || bytes[1] == 0) {
            return Err(Fail::msg("JSON parser does not support UTF-16 or UTF-32"));
        }
        let mut data = Vec::with_capacity(bytes.len() + 1);
        data.extend_from_slice(&bytes);
        data.push(0);
        Decoder {
            cfg,
            data,
            pos: 0,
            tok_index: 0,
            tmp: Vec::new(),
            frames: Vec::new(),
            result: Ok(()),
        }
    };
    let w = &mut d;
    // SAFETY: as for encoding; the stack starts with the text (lua-cjson's
    // argument) and the closure leaves only the decoded value on it.
    let value = unsafe {
        lua.exec_raw::<Value>(text, move |state| {
            w.result = w.decode_on_stack(state);
            if w.result.is_ok() {
                ffi::lua_remove(state, 1);
            } else {
                ffi::lua_settop(state, 0);
            }
        })?
    };
    d.result.map_err(DecodeError::into_fail)?;
    Ok(value)
}

impl Decoder {
    fn byte(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    fn parse_error(&self, expected: &'static str, tok: Tok) -> DecodeError {
        DecodeError::Parse(expected, tok, self.tok_index)
    }

    /// A token error at the current position.
    fn token_error(&mut self, what: &'static str) -> Tok {
        self.tok_index = self.pos;
        Tok::Error(what)
    }

    /// `json_next_token`.
    fn next_token(&mut self) -> Tok {
        while matches!(self.byte(self.pos), b' ' | b'\t' | b'\r' | b'\n') {
            self.pos += 1;
        }
        self.tok_index = self.pos;
        let single = match self.byte(self.pos) {
            0 => return Tok::End,
            b'{' => Tok::ObjBegin,
            b'}' => Tok::ObjEnd,
            b'[' => Tok::ArrBegin,
            b']' => Tok::ArrEnd,
            b',' => Tok::Comma,
            b':' => Tok::Colon,
            b'"' => return self.string_token(),
            b'-' | b'0'..=b'9' => {
                if self.cfg.decode_invalid_numbers == 0 && self.is_invalid_number() {
                    return self.token_error("invalid number");
                }
                return self.number_token();
            }
            b'f' | b'i' | b'I' | b'n' | b'N' | b't' | b'+' => {
                let rest = self.data.get(self.pos..).unwrap_or_default();
                if rest.starts_with(b"true") {
                    self.pos += 4;
                    return Tok::Bool(true);
                }
                if rest.starts_with(b"false") {
                    self.pos += 5;
                    return Tok::Bool(false);
                }
                if rest.starts_with(b"null") {
                    self.pos += 4;
                    return Tok::Null;
                }
                if self.cfg.decode_invalid_numbers != 0 && self.is_invalid_number() {
                    return self.number_token();
                }
                return self.token_error("invalid token");
            }
            _ => return self.token_error("invalid token"),
        };
        self.pos += 1;
        single
    }

    /// `json_is_invalid_number`: a number JSON forbids (leading '+' or
    /// zero, hexadecimal, inf, nan) that strtod() would accept.
    fn is_invalid_number(&self) -> bool {
        let mut p = self.pos;
        if self.byte(p) == b'+' {
            return true;
        }
        if self.byte(p) == b'-' {
            p += 1;
        }
        let c = self.byte(p);
        if c == b'0' {
            let c2 = self.byte(p + 1);
            return (c2 | 0x20) == b'x' || c2.is_ascii_digit();
        }
        // `*p <= '9'` with a signed char: bytes >= 128 are "ordinary" too.
        if c <= b'9' || c >= 128 {
            return false;
        }
        let word = [self.byte(p), self.byte(p + 1), self.byte(p + 2)];
        word.eq_ignore_ascii_case(b"inf") || word.eq_ignore_ascii_case(b"nan")
    }

    /// `json_next_number_token`: strtod() from the current position.
    fn number_token(&mut self) -> Tok {
        let (n, len) = c_strtod(self.data.get(self.pos..).unwrap_or_default());
        if len == 0 {
            return self.token_error("invalid number");
        }
        self.pos += len;
        Tok::Num(n)
    }

    /// `json_next_string_token`: decodes into `tmp`.
    fn string_token(&mut self) -> Tok {
        self.pos += 1;
        self.tmp.clear();
        loop {
            let c = self.byte(self.pos);
            match c {
                b'"' => break,
                0 => return self.token_error("unexpected end of string"),
                b'\\' => {
                    let unescaped = match self.byte(self.pos + 1) {
                        b'"' => b'"',
                        b'\\' => b'\\',
                        b'/' => b'/',
                        b'b' => 8,
                        b'f' => 12,
                        b'n' => b'\n',
                        b'r' => b'\r',
                        b't' => b'\t',
                        b'u' => {
                            if self.unicode_escape() {
                                continue;
                            }
                            return self.token_error("invalid unicode escape code");
                        }
                        _ => return self.token_error("invalid escape code"),
                    };
                    self.tmp.push(unescaped);
                    self.pos += 2;
                }
                _ => {
                    self.tmp.push(c);
                    self.pos += 1;
                }
            }
        }
        self.pos += 1;
        Tok::Str
    }

    fn hex4(&self, at: usize) -> Option<u32> {
        let mut v = 0;
        for i in 0..4 {
            v = v << 4 | char::from(self.byte(at + i)).to_digit(16)?;
        }
        Some(v)
    }

    /// `json_append_unicode_escape`: `\uXXXX` (or a surrogate pair of them)
    /// at the current position, appended to `tmp` as UTF-8.
    fn unicode_escape(&mut self) -> bool {
        let Some(mut cp) = self.hex4(self.pos + 2) else {
            return false;
        };
        let mut len = 6;
        if cp & 0xF800 == 0xD800 {
            // A high surrogate must come first, followed by a low one.
            if cp & 0x400 != 0 {
                return false;
            }
            if self.byte(self.pos + 6) != b'\\' || self.byte(self.pos + 7) != b'u' {
                return false;
            }
            let Some(low) = self.hex4(self.pos + 8) else {
                return false;
            };
            if low & 0xFC00 != 0xDC00 {
                return false;
            }
            cp = (((cp & 0x3FF) << 10) | (low & 0x3FF)) + 0x10000;
            len = 12;
        }
        let Some(ch) = char::from_u32(cp) else {
            return false;
        };
        let mut buf = [0u8; 4];
        self.tmp
            .extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
        self.pos += len;
        true
    }

    /// `json_decode_descend`: room for a container needing `slots` stack slots.
    unsafe fn descend(&self, state: *mut ffi::lua_State, slots: c_int) -> Result<(), DecodeError> {
        let depth = self.frames.len() + 1;
        if depth <= self.cfg.decode_max_depth.max(0) as usize
            && ffi::lua_checkstack(state, slots) != 0
        {
            return Ok(());
        }
        Err(DecodeError::Depth(depth, self.pos))
    }

    unsafe fn push_tmp(&self, state: *mut ffi::lua_State) {
        ffi::lua_pushlstring(state, self.tmp.as_ptr().cast(), self.tmp.len());
    }

    /// An object key (token `t`) pushed, and the colon after it.
    unsafe fn object_key(&mut self, state: *mut ffi::lua_State, t: Tok) -> Result<(), DecodeError> {
        if t != Tok::Str {
            return Err(self.parse_error("object key string", t));
        }
        self.push_tmp(state);
        let t = self.next_token();
        if t != Tok::Colon {
            return Err(self.parse_error("colon", t));
        }
        Ok(())
    }

    /// Decodes the whole text onto the stack, as lua-cjson does (same stack
    /// use, same insertion order), without recursion.
    unsafe fn decode_on_stack(&mut self, state: *mut ffi::lua_State) -> Result<(), DecodeError> {
        let mut tok = self.next_token();
        'value: loop {
            // `json_process_value`: push the value starting with `tok`.
            match tok {
                Tok::Str => self.push_tmp(state),
                Tok::Num(n) => ffi::lua_pushnumber(state, n),
                Tok::Bool(b) => ffi::lua_pushboolean(state, c_int::from(b)),
                Tok::Null => ffi::lua_pushlightuserdata(state, std::ptr::null_mut()),
                Tok::ObjBegin => {
                    self.descend(state, 3)?;
                    ffi::lua_newtable(state);
                    let t = self.next_token();
                    if t != Tok::ObjEnd {
                        self.object_key(state, t)?;
                        self.frames.push(DecodeFrame::Object);
                        tok = self.next_token();
                        continue 'value;
                    }
                }
                Tok::ArrBegin => {
                    self.descend(state, 2)?;
                    ffi::lua_newtable(state);
                    let t = self.next_token();
                    if t != Tok::ArrEnd {
                        self.frames.push(DecodeFrame::Array { next: 1 });
                        tok = t;
                        continue 'value;
                    }
                }
                other => return Err(self.parse_error("value", other)),
            }
            // Store the value in its container; close the containers that end.
            loop {
                match self.frames.last_mut() {
                    None => {
                        let t = self.next_token();
                        if t != Tok::End {
                            return Err(self.parse_error("the end", t));
                        }
                        return Ok(());
                    }
                    Some(DecodeFrame::Array { next }) => {
                        ffi::lua_rawseti(state, -2, (*next).into());
                        *next += 1;
                        let t = self.next_token();
                        if t == Tok::Comma {
                            tok = self.next_token();
                            continue 'value;
                        }
                        if t != Tok::ArrEnd {
                            return Err(self.parse_error("comma or array end", t));
                        }
                    }
                    Some(DecodeFrame::Object) => {
                        ffi::lua_rawset(state, -3);
                        let t = self.next_token();
                        if t == Tok::Comma {
                            let t = self.next_token();
                            self.object_key(state, t)?;
                            tok = self.next_token();
                            continue 'value;
                        }
                        if t != Tok::ObjEnd {
                            return Err(self.parse_error("comma or object end", t));
                        }
                    }
                }
                self.frames.pop();
            }
        }
    }
}

// ---------------------------------------------------------------------------
// cmsgpack: lua-cmsgpack 0.4.0
// ---------------------------------------------------------------------------

/// Tables nested deeper than this are packed as nil (so cycles end).
const MP_MAX_NESTING: i32 = 16;

const MP_TOO_MANY: &str = "too many return values at once; use unpack_one or unpack_limit instead.";

fn cmsgpack_lib(lua: &Lua) -> mlua::Result<Table> {
    let t = lua.create_table()?;
    t.raw_set("pack", lib_fn_packed(lua, mp_pack)?)?;
    t.raw_set(
        "unpack",
        lib_fn(lua, |lua, args| {
            let s = check_string(lua, &args, 0)?;
            // The arguments stay on the stack below the results.
            mp_unpack_full(lua, s, 0, 0, args.len())
        })?,
    )?;
    t.raw_set(
        "unpack_one",
        lib_fn(lua, |lua, args| {
            let offset = opt_integer(lua, &args, 1, 0)?;
            let s = check_string(lua, &args, 0)?;
            mp_unpack_full(lua, s, 1, offset, 1)
        })?,
    )?;
    t.raw_set(
        "unpack_limit",
        lib_fn(lua, |lua, args| {
            let limit = c_double_to_i64(check_number(lua, &args, 1)?);
            let offset = opt_integer(lua, &args, 2, 0)?;
            let s = check_string(lua, &args, 0)?;
            mp_unpack_full(lua, s, limit, offset, 1)
        })?,
    )?;
    t.raw_set("_NAME", "cmsgpack")?;
    t.raw_set("_VERSION", "lua-cmsgpack 0.4.0")?;
    t.raw_set("_COPYRIGHT", "Copyright (C) 2012, Salvatore Sanfilippo")?;
    t.raw_set("_DESCRIPTION", "MessagePack C implementation for Lua")?;
    Ok(t)
}

/// `luaL_optinteger`: the default for none or nil, else `luaL_checkinteger`.
fn opt_integer(lua: &Lua, args: &MultiValue, i: usize, default: i64) -> Result<i64, Fail> {
    if arg(args, i).is_nil() {
        return Ok(default);
    }
    Ok(c_double_to_i64(check_number(lua, args, i)?))
}

/// The stack lua-cmsgpack would be using, for its `luaL_checkstack` calls:
/// what the protected code has on its own stack plus `extra` slots that
/// Redis has and it does not.
struct MpStack {
    extra: usize,
}

impl MpStack {
    /// `luaL_checkstack(n, what)` against the emulated stack.
    unsafe fn check(
        &self,
        state: *mut ffi::lua_State,
        n: usize,
        what: &'static str,
    ) -> Result<(), MpError> {
        let used = ffi::lua_gettop(state).max(0) as usize + self.extra;
        // The real stack is never above the emulated one, so it has room.
        if used + n > LUA_MAX_C_STACK || ffi::lua_checkstack(state, n as c_int) == 0 {
            return Err(MpError::Stack(what));
        }
        Ok(())
    }
}

/// `LUAI_MAXCSTACK`: `lua_checkstack` refuses to grow a C function's stack
/// frame beyond this many slots.
const LUA_MAX_C_STACK: usize = 8000;

#[derive(Clone, Copy)]
enum MpError {
    /// `luaL_checkstack` failed: "stack overflow (<what>)".
    Stack(&'static str),
    Eof,
    BadFormat,
    IndexNil,
    IndexNaN,
}

impl MpError {
    fn into_fail(self) -> Fail {
        match self {
            MpError::Stack(what) => Fail::stack(what),
            MpError::Eof => Fail::msg("Missing bytes in input."),
            MpError::BadFormat => Fail::msg("Bad data format in input."),
            MpError::IndexNil => Fail::Raise(b"table index is nil".to_vec()),
            MpError::IndexNaN => Fail::Raise(b"table index is NaN".to_vec()),
        }
    }
}

/// Packing state, owned outside the protected call (see [`EncodeWork`]).
struct MpPackWork {
    out: Vec<u8>,
    stack: MpStack,
    nargs: usize,
    result: Result<(), MpError>,
}

/// `cmsgpack.pack(...)`: the arguments packed one after the other.
fn mp_pack(lua: &Lua, args: Table, nargs: usize) -> Ret {
    if nargs == 0 {
        return Err(Fail::Arg(0, b"MessagePack pack needs input.".to_vec()));
    }
    // lua_checkstack(L, nargs) with the nargs arguments on the stack.
    if nargs.saturating_mul(2) > LUA_MAX_C_STACK {
        return Err(Fail::Arg(
            0,
            b"Too many arguments for MessagePack pack.".to_vec(),
        ));
    }
    let mut work = MpPackWork {
        out: Vec::new(),
        stack: MpStack { extra: 0 },
        nargs,
        result: Ok(()),
    };
    let w = &mut work;
    // SAFETY: the closure works on its own stack (the table of arguments,
    // then the values it packs) within the space it checks; it owns
    // nothing that needs drop.
    unsafe {
        lua.exec_raw::<()>(args, move |state| {
            w.result = mp_pack_on_stack(state, w);
            ffi::lua_settop(state, 0);
        })?;
    }
    work.result.map_err(MpError::into_fail)?;
    one(Value::String(lua.create_string(&work.out)?))
}

unsafe fn mp_pack_on_stack(state: *mut ffi::lua_State, w: &mut MpPackWork) -> Result<(), MpError> {
    for i in 1..=w.nargs {
        // Redis has the arguments and the i-1 packed strings where this
        // has the table of arguments.
        w.stack.extra = w.nargs + i - 2;
        w.stack.check(state, 1, "in function mp_check")?;
        ffi::lua_rawgeti(state, 1, i as i64);
        mp_encode_value(state, w, 0)?;
    }
    Ok(())
}

/// `mp_encode_lua_type`: packs the value on the top and pops it.
unsafe fn mp_encode_value(
    state: *mut ffi::lua_State,
    w: &mut MpPackWork,
    level: i32,
) -> Result<(), MpError> {
    let mut t = ffi::lua_type(state, -1);
    if t == ffi::LUA_TTABLE && level == MP_MAX_NESTING {
        t = ffi::LUA_TNIL;
    }
    match t {
        ffi::LUA_TSTRING => mp_encode_bytes(&mut w.out, stack_bytes(state, -1)),
        ffi::LUA_TBOOLEAN => w.out.push(if ffi::lua_toboolean(state, -1) != 0 {
            0xc3
        } else {
            0xc2
        }),
        ffi::LUA_TNUMBER => mp_encode_number(&mut w.out, ffi::lua_tonumber(state, -1)),
        ffi::LUA_TTABLE => mp_encode_table(state, w, level)?,
        _ => w.out.push(0xc0),
    }
    ffi::lua_pop(state, 1);
    Ok(())
}

fn mp_encode_bytes(out: &mut Vec<u8>, s: &[u8]) {
    let len = s.len();
    if len < 32 {
        out.push(0xa0 | len as u8);
    } else if len <= 0xff {
        out.extend_from_slice(&[0xd9, len as u8]);
    } else if len <= 0xffff {
        out.push(0xda);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0xdb);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
    out.extend_from_slice(s);
}

/// Integers (numbers equal to their int64 conversion) as the smallest
/// integer format; others as a float when that is exact, else a double.
fn mp_encode_number(out: &mut Vec<u8>, n: f64) {
    if !n.is_infinite() && c_double_to_i64(n) as f64 == n {
        mp_encode_int(out, c_double_to_i64(n));
    } else {
        let f = n as f32;
        if f64::from(f) == n {
            out.push(0xca);
            out.extend_from_slice(&f.to_be_bytes());
        } else {
            out.push(0xcb);
            out.extend_from_slice(&n.to_be_bytes());
        }
    }
}

fn mp_encode_int(out: &mut Vec<u8>, n: i64) {
    if n >= 0 {
        if n <= 127 {
            out.push(n as u8);
        } else if n <= 0xff {
            out.extend_from_slice(&[0xcc, n as u8]);
        } else if n <= 0xffff {
            out.push(0xcd);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        } else if n <= 0xffff_ffff {
            out.push(0xce);
            out.extend_from_slice(&(n as u32).to_be_bytes());
        } else {
            out.push(0xcf);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    } else if n >= -32 {
        out.push(n as i8 as u8);
    } else if n >= -128 {
        out.extend_from_slice(&[0xd0, n as i8 as u8]);
    } else if n >= -32768 {
        out.push(0xd1);
        out.extend_from_slice(&(n as i16).to_be_bytes());
    } else if n >= -2_147_483_648 {
        out.push(0xd2);
        out.extend_from_slice(&(n as i32).to_be_bytes());
    } else {
        out.push(0xd3);
        out.extend_from_slice(&n.to_be_bytes());
    }
}

fn mp_encode_len(out: &mut Vec<u8>, len: usize, fix: u8, code16: u8) {
    if len <= 15 {
        out.push(fix | len as u8);
    } else if len <= 0xffff {
        out.push(code16);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(code16 + 1);
        out.extend_from_slice(&(len as u32).to_be_bytes());
    }
}

/// `mp_encode_lua_table`: the table on the top (left there) as an array
/// when its keys are exactly 1..n, else as a map in `next` order.
unsafe fn mp_encode_table(
    state: *mut ffi::lua_State,
    w: &mut MpPackWork,
    level: i32,
) -> Result<(), MpError> {
    w.stack.check(state, 2, "in function table_is_an_array")?;
    if mp_table_is_array(state) {
        w.stack
            .check(state, 1, "in function mp_encode_lua_table_as_array")?;
        let len = ffi::lua_objlen(state, -1);
        mp_encode_len(&mut w.out, len, 0x90, 0xdc);
        for j in 1..=len {
            ffi::lua_pushnumber(state, j as f64);
            ffi::lua_rawget(state, -2);
            mp_encode_value(state, w, level + 1)?;
        }
    } else {
        w.stack
            .check(state, 3, "in function mp_encode_lua_table_as_map")?;
        let mut len = 0usize;
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, -2) != 0 {
            ffi::lua_pop(state, 1);
            len += 1;
        }
        mp_encode_len(&mut w.out, len, 0x80, 0xde);
        ffi::lua_pushnil(state);
        while ffi::lua_next(state, -2) != 0 {
            ffi::lua_pushvalue(state, -2);
            mp_encode_value(state, w, level + 1)?;
            mp_encode_value(state, w, level + 1)?;
        }
    }
    Ok(())
}

/// `table_is_an_array`: every key a positive C `int`, and as many keys as
/// the largest.
unsafe fn mp_table_is_array(state: *mut ffi::lua_State) -> bool {
    let top = ffi::lua_gettop(state);
    let (mut count, mut max) = (0i32, 0i32);
    ffi::lua_pushnil(state);
    while ffi::lua_next(state, -2) != 0 {
        ffi::lua_pop(state, 1);
        let n = ffi::lua_tonumber(state, -1);
        if ffi::lua_type(state, -1) != ffi::LUA_TNUMBER
            || n <= 0.0
            || n.is_infinite()
            || f64::from(c_double_to_i32(n)) != n
        {
            ffi::lua_settop(state, top);
            return false;
        }
        if n > f64::from(max) {
            max = c_double_to_i32(n);
        }
        count = count.wrapping_add(1);
    }
    ffi::lua_settop(state, top);
    max == count
}

/// A container being filled while unpacking; it is on the Lua stack (for an
/// array with the pending index above it, for a map with the pending key).
#[derive(Clone, Copy)]
enum MpFrame {
    Array { left: u64, index: i32 },
    Map { left: u64, have_key: bool },
}

/// Unpacking state, owned outside the protected call (see [`EncodeWork`]).
struct MpUnpackWork {
    pos: usize,
    frames: Vec<MpFrame>,
    /// Values unpacked so far: the first is moved into a results table
    /// (which then takes its stack slot), the others into that table.
    count: usize,
    limit: i64,
    stack: MpStack,
    /// Arguments Redis has on the stack (this has one, the string).
    base: usize,
    /// All values (not a limited number, which returns the next offset).
    decode_all: bool,
    result: Result<(), MpError>,
}

impl MpUnpackWork {
    /// Updates the emulated stack: Redis has the arguments and every value
    /// on it where this has the string and, once there are values, the
    /// table of them.
    fn sync_stack(&mut self) {
        self.stack.extra = self.base - 1 + self.count.saturating_sub(1);
    }
}

/// `mp_unpack_full`: up to `limit` values (0 with offset 0: all) from
/// `offset`; without "all", the offset after them (-1 at the end) first.
fn mp_unpack_full(lua: &Lua, s: LuaString, limit: i64, offset: i64, base: usize) -> Ret {
    let len = s.as_bytes().len();
    if offset < 0 || limit < 0 {
        return Err(Fail::msg(format!(
            "Invalid request to unpack with offset of {} and limit of {}.",
            offset as i32, len as i32
        )));
    }
    if offset as u64 > len as u64 {
        return Err(Fail::msg(format!(
            "Start offset {} greater than input length {}.",
            offset as i32, len as i32
        )));
    }
    let decode_all = limit == 0 && offset == 0;
    let mut work = MpUnpackWork {
        pos: offset as usize,
        frames: Vec::new(),
        count: 0,
        limit: if decode_all {
            i64::from(i32::MAX)
        } else {
            limit
        },
        stack: MpStack { extra: 0 },
        base: base.max(1),
        decode_all,
        result: Ok(()),
    };
    let w = &mut work;
    // SAFETY: the closure's stack starts with the string, which stays there
    // (so its bytes stay valid) until the closure replaces it with the table
    // of values; it works within the space it checks and owns nothing that
    // needs drop.
    let results = unsafe {
        lua.exec_raw::<Value>(s, move |state| {
            w.result = mp_unpack_on_stack(state, w);
            if w.result.is_ok() && w.count > 0 {
                ffi::lua_settop(state, 2);
                ffi::lua_remove(state, 1);
            } else {
                ffi::lua_settop(state, 0);
            }
        })?
    };
    work.result.map_err(MpError::into_fail)?;
    let next = if work.pos >= len {
        -1.0
    } else {
        work.pos as i32 as f64
    };
    let count = c_int::try_from(work.count).unwrap_or(c_int::MAX);
    match results {
        Value::Table(t) => {
            if decode_all {
                Ok(Out::Packed(t, 1, count))
            } else {
                t.raw_set(0, next)?;
                Ok(Out::Packed(t, 0, count))
            }
        }
        _ if decode_all => many(Vec::new()),
        _ => one(Value::Number(next)),
    }
}

unsafe fn mp_unpack_on_stack(
    state: *mut ffi::lua_State,
    w: &mut MpUnpackWork,
) -> Result<(), MpError> {
    let data = stack_bytes(state, 1);
    let mut n: i64 = 0;
    while w.pos < data.len() && n < w.limit {
        w.sync_stack();
        mp_decode_value(state, data, w)?;
        // The value on the top joins the results.
        if w.count == 0 {
            ffi::lua_checkstack(state, 2);
            ffi::lua_createtable(state, 0, 0);
            ffi::lua_insert(state, -2);
        }
        w.count += 1;
        ffi::lua_rawseti(state, -2, w.count as i64);
        n += 1;
    }
    if !w.decode_all {
        // mp_unpack_full pushes the offset after checking for room.
        w.sync_stack();
        w.stack.check(state, 1, "in function mp_unpack_full")?;
    }
    Ok(())
}

/// Big-endian bytes `at..at+N` of `data` (the caller checked the length).
fn be<const N: usize>(data: &[u8], at: usize) -> [u8; N] {
    let mut b = [0u8; N];
    if let Some(s) = data.get(at..at + N) {
        b.copy_from_slice(s);
    }
    b
}

/// `mp_decode_to_lua_type`: pushes the value at `w.pos`, without recursion.
unsafe fn mp_decode_value(
    state: *mut ffi::lua_State,
    data: &[u8],
    w: &mut MpUnpackWork,
) -> Result<(), MpError> {
    'value: loop {
        let p = w.pos;
        let left = data.len().saturating_sub(p);
        let Some(&code) = data.get(p) else {
            return Err(MpError::Eof);
        };
        w.stack.check(state, 1, MP_TOO_MANY)?;
        let need = |n: usize| if left < n { Err(MpError::Eof) } else { Ok(()) };
        let mut container: Option<(bool, u64)> = None;
        match code {
            0xcc => {
                need(2)?;
                ffi::lua_pushnumber(state, f64::from(data[p + 1]));
                w.pos += 2;
            }
            0xd0 => {
                need(2)?;
                ffi::lua_pushnumber(state, f64::from(data[p + 1] as i8));
                w.pos += 2;
            }
            0xcd => {
                need(3)?;
                ffi::lua_pushnumber(state, f64::from(u16::from_be_bytes(be(data, p + 1))));
                w.pos += 3;
            }
            0xd1 => {
                need(3)?;
                ffi::lua_pushnumber(state, f64::from(i16::from_be_bytes(be(data, p + 1))));
                w.pos += 3;
            }
            0xce => {
                need(5)?;
                ffi::lua_pushnumber(state, f64::from(u32::from_be_bytes(be(data, p + 1))));
                w.pos += 5;
            }
            0xd2 => {
                need(5)?;
                ffi::lua_pushnumber(state, f64::from(i32::from_be_bytes(be(data, p + 1))));
                w.pos += 5;
            }
            0xcf | 0xd3 => {
                // Both pushed as a lua_Integer (int64).
                need(9)?;
                ffi::lua_pushnumber(state, i64::from_be_bytes(be(data, p + 1)) as f64);
                w.pos += 9;
            }
            0xc0 => {
                ffi::lua_pushnil(state);
                w.pos += 1;
            }
            0xc3 | 0xc2 => {
                ffi::lua_pushboolean(state, c_int::from(code == 0xc3));
                w.pos += 1;
            }
            0xca => {
                need(5)?;
                ffi::lua_pushnumber(state, f64::from(f32::from_be_bytes(be(data, p + 1))));
                w.pos += 5;
            }
            0xcb => {
                need(9)?;
                ffi::lua_pushnumber(state, f64::from_be_bytes(be(data, p + 1)));
                w.pos += 9;
            }
            0xd9 | 0xda | 0xdb => {
                let hdr = match code {
                    0xd9 => 2,
                    0xda => 3,
                    _ => 5,
                };
                need(hdr)?;
                let l = match code {
                    0xd9 => usize::from(data[p + 1]),
                    0xda => usize::from(u16::from_be_bytes(be(data, p + 1))),
                    _ => u32::from_be_bytes(be(data, p + 1)) as usize,
                };
                need(hdr + l)?;
                let s = &data[p + hdr..p + hdr + l];
                ffi::lua_pushlstring(state, s.as_ptr().cast(), s.len());
                w.pos += hdr + l;
            }
            0xdc | 0xde => {
                need(3)?;
                container = Some((code == 0xdc, u64::from(u16::from_be_bytes(be(data, p + 1)))));
                w.pos += 3;
            }
            0xdd | 0xdf => {
                need(5)?;
                container = Some((code == 0xdd, u64::from(u32::from_be_bytes(be(data, p + 1)))));
                w.pos += 5;
            }
            c if c & 0x80 == 0 => {
                ffi::lua_pushnumber(state, f64::from(c));
                w.pos += 1;
            }
            c if c & 0xe0 == 0xe0 => {
                ffi::lua_pushnumber(state, f64::from(c as i8));
                w.pos += 1;
            }
            c if c & 0xe0 == 0xa0 => {
                let l = usize::from(c & 0x1f);
                need(1 + l)?;
                let s = &data[p + 1..p + 1 + l];
                ffi::lua_pushlstring(state, s.as_ptr().cast(), s.len());
                w.pos += 1 + l;
            }
            c if c & 0xf0 == 0x90 || c & 0xf0 == 0x80 => {
                container = Some((c & 0xf0 == 0x90, u64::from(c & 0xf)));
                w.pos += 1;
            }
            _ => return Err(MpError::BadFormat),
        }
        if let Some((array, len)) = container {
            ffi::lua_createtable(state, 0, 0);
            if array {
                w.stack
                    .check(state, 1, "in function mp_decode_to_lua_array")?;
                if len > 0 {
                    w.frames.push(MpFrame::Array {
                        left: len,
                        index: 1,
                    });
                    ffi::lua_pushnumber(state, 1.0);
                    continue 'value;
                }
            } else if len > 0 {
                w.frames.push(MpFrame::Map {
                    left: len,
                    have_key: false,
                });
                continue 'value;
            }
        }
        // A value is complete on the top: store it, close what is full.
        loop {
            match w.frames.last_mut() {
                None => return Ok(()),
                Some(MpFrame::Array { left, index }) => {
                    ffi::lua_rawset(state, -3);
                    *left -= 1;
                    if *left > 0 {
                        *index = index.wrapping_add(1);
                        ffi::lua_pushnumber(state, f64::from(*index));
                        continue 'value;
                    }
                }
                Some(MpFrame::Map { left, have_key }) => {
                    if !*have_key {
                        *have_key = true;
                        continue 'value;
                    }
                    match ffi::lua_type(state, -2) {
                        ffi::LUA_TNIL => return Err(MpError::IndexNil),
                        ffi::LUA_TNUMBER if ffi::lua_tonumber(state, -2).is_nan() => {
                            return Err(MpError::IndexNaN)
                        }
                        _ => {}
                    }
                    ffi::lua_rawset(state, -3);
                    *have_key = false;
                    *left -= 1;
                    if *left > 0 {
                        continue 'value;
                    }
                }
            }
            w.frames.pop();
        }
    }
}

// ---------------------------------------------------------------------------
// struct: Roberto Ierusalimschy's struct library (as bundled by Redis)
// ---------------------------------------------------------------------------

/// Largest size of the `i`/`I` integer formats.
const STRUCT_MAX_INT_SIZE: usize = 32;
/// Default and largest alignment (`!` without a number).
const STRUCT_MAX_ALIGN: usize = 8;

#[derive(Clone, Copy)]
struct StructHeader {
    little: bool,
    align: usize,
}

impl Default for StructHeader {
    fn default() -> Self {
        StructHeader {
            little: true,
            align: 1,
        }
    }
}

/// A format string being read (a C string: it ends at a NUL).
struct StructFmt<'a> {
    fmt: &'a [u8],
    pos: usize,
}

impl StructFmt<'_> {
    fn new(fmt: &[u8]) -> StructFmt<'_> {
        let end = fmt.iter().position(|&c| c == 0).unwrap_or(fmt.len());
        StructFmt {
            fmt: &fmt[..end],
            pos: 0,
        }
    }

    fn next(&mut self) -> Option<u8> {
        let c = self.fmt.get(self.pos).copied();
        self.pos += 1;
        c
    }

    /// `getnum`: a decimal number at the current position, else `default`.
    fn number(&mut self, default: usize) -> Result<usize, Fail> {
        let Some(&c) = self.fmt.get(self.pos) else {
            return Ok(default);
        };
        if !c.is_ascii_digit() {
            return Ok(default);
        }
        let mut a: i32 = 0;
        while let Some(&c) = self.fmt.get(self.pos).filter(|c| c.is_ascii_digit()) {
            let d = i32::from(c - b'0');
            if a > i32::MAX / 10 || a * 10 > i32::MAX - d {
                return Err(Fail::msg("integral size overflow"));
            }
            a = a * 10 + d;
            self.pos += 1;
        }
        Ok(a as usize)
    }

    /// `optsize`: the size of option `opt` (0 for those without one).
    fn size(&mut self, opt: u8) -> Result<usize, Fail> {
        Ok(match opt {
            b'B' | b'b' => 1,
            b'H' | b'h' => 2,
            b'L' | b'l' | b'T' | b'd' => 8,
            b'f' => 4,
            b'x' => 1,
            b'c' => self.number(1)?,
            b'i' | b'I' => {
                let sz = self.number(4)?;
                if sz > STRUCT_MAX_INT_SIZE {
                    return Err(Fail::msg(format!(
                        "integral size {sz} is larger than limit of {STRUCT_MAX_INT_SIZE}"
                    )));
                }
                sz
            }
            _ => 0,
        })
    }

    /// `controloptions`: endianness, alignment and blanks; anything else is
    /// an invalid option.
    fn control(&mut self, opt: u8, h: &mut StructHeader) -> Result<(), Fail> {
        match opt {
            b' ' => {}
            b'>' => h.little = false,
            b'<' => h.little = true,
            b'!' => {
                let a = self.number(STRUCT_MAX_ALIGN)?;
                if !a.is_power_of_two() {
                    return Err(Fail::msg(format!("alignment {a} is not a power of 2")));
                }
                h.align = a;
            }
            _ => {
                let mut msg = b"invalid format option '".to_vec();
                msg.push(opt);
                msg.push(b'\'');
                return Err(Fail::Arg(1, msg));
            }
        }
        Ok(())
    }
}

/// `gettoalign`: padding before an item of `size` at `len`.
fn struct_align(len: usize, h: &StructHeader, opt: u8, size: usize) -> usize {
    if size == 0 || opt == b'c' {
        return 0;
    }
    let size = size.min(h.align);
    (size.wrapping_sub(len & size.wrapping_sub(1))) & size.wrapping_sub(1)
}

/// The C conversion `(uint64_t)d` as gcc compiles it for x86-64.
fn c_double_to_u64(d: f64) -> u64 {
    const TWO_63: f64 = 9_223_372_036_854_775_808.0;
    if d >= TWO_63 {
        (c_double_to_i64(d - TWO_63) as u64) ^ (1 << 63)
    } else {
        c_double_to_i64(d) as u64
    }
}

fn struct_lib(lua: &Lua) -> mlua::Result<Table> {
    // luaL_register: a table sized for the 3 functions.
    let t = lua.create_table_with_capacity(0, 3)?;
    t.raw_set("pack", lib_fn_packed(lua, struct_pack)?)?;
    t.raw_set("unpack", lib_fn(lua, struct_unpack)?)?;
    t.raw_set("size", lib_fn(lua, struct_size)?)?;
    Ok(t)
}

/// `struct.pack(fmt, ...)`.
fn struct_pack(lua: &Lua, args: Table, nargs: usize) -> Ret {
    // Argument i (1-based); past the arguments the C code finds the nil it
    // pushed as a marker, and `luaL_checkstring(L, 1)` finds none.
    let get = |i: usize| -> mlua::Result<MultiValue> {
        Ok(MultiValue::from_vec(if i <= nargs {
            vec![args.raw_get(i)?]
        } else if i == nargs + 1 && nargs > 0 {
            vec![Value::Nil]
        } else {
            Vec::new()
        }))
    };
    let fmt = check_string(lua, &get(1)?, 0)?;
    let fmt_bytes = fmt.as_bytes();
    let mut fmt = StructFmt::new(&fmt_bytes);
    let mut h = StructHeader::default();
    let mut arg = 2;
    let mut out: Vec<u8> = Vec::new();
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        let pad = struct_align(out.len(), &h, opt, size);
        out.resize(out.len() + pad, 0);
        match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let n = check_number(lua, &get(arg)?, 0).map_err(|e| renumber(e, arg))?;
                arg += 1;
                let mut value = if n < 0.0 {
                    c_double_to_i64(n) as u64
                } else {
                    c_double_to_u64(n)
                };
                let mut bytes = [0u8; STRUCT_MAX_INT_SIZE];
                for b in bytes.iter_mut().take(size) {
                    *b = value as u8;
                    value = value.checked_shr(8).unwrap_or(0);
                }
                let bytes = &mut bytes[..size];
                if !h.little {
                    bytes.reverse();
                }
                out.extend_from_slice(bytes);
            }
            b'x' => out.push(0),
            b'f' => {
                let n = check_number(lua, &get(arg)?, 0).map_err(|e| renumber(e, arg))?;
                arg += 1;
                let b = (n as f32).to_le_bytes();
                push_endian(&mut out, &b, h.little);
            }
            b'd' => {
                let n = check_number(lua, &get(arg)?, 0).map_err(|e| renumber(e, arg))?;
                arg += 1;
                push_endian(&mut out, &n.to_le_bytes(), h.little);
            }
            b'c' | b's' => {
                let s = check_string(lua, &get(arg)?, 0).map_err(|e| renumber(e, arg))?;
                arg += 1;
                let s = s.as_bytes();
                if size == 0 {
                    size = s.len();
                }
                if s.len() < size {
                    // The C code names the next argument.
                    return Err(Fail::arg(arg, "string too short"));
                }
                out.extend_from_slice(&s[..size]);
                if opt == b's' {
                    out.push(0);
                }
            }
            _ => fmt.control(opt, &mut h)?,
        }
    }
    one(Value::String(lua.create_string(&out)?))
}

/// An argument error about argument 1 of a one-value list, renumbered.
fn renumber(e: Fail, narg: usize) -> Fail {
    match e {
        Fail::Arg(1, msg) => Fail::arg(narg, msg),
        e => e,
    }
}

fn push_endian(out: &mut Vec<u8>, le: &[u8], little: bool) {
    if little {
        out.extend_from_slice(le);
    } else {
        out.extend(le.iter().rev());
    }
}

/// `struct.unpack(fmt, data [, pos])`: the values, then the next position.
fn struct_unpack(lua: &Lua, args: MultiValue) -> Ret {
    let fmt = check_string(lua, &args, 0)?;
    let data = check_string(lua, &args, 1)?;
    let pos = opt_integer(lua, &args, 2, 1)? as u64 as usize;
    if pos == 0 {
        return Err(Fail::arg(3, "offset must be 1 or greater"));
    }
    let mut pos = pos - 1;
    let fmt_bytes = fmt.as_bytes();
    let mut fmt = StructFmt::new(&fmt_bytes);
    let data = data.as_bytes();
    let ld = data.len();
    let mut h = StructHeader::default();
    let results = lua.create_table()?;
    let mut n: usize = 0;
    let too_short = || Fail::arg(2, "data string too short");
    while let Some(opt) = fmt.next() {
        let mut size = fmt.size(opt)?;
        pos = pos.wrapping_add(struct_align(pos, &h, opt, size));
        if size > ld || pos > ld - size {
            return Err(too_short());
        }
        // luaL_checkstack(L, 2) with the arguments and results on the stack.
        if args.len() + n + 2 > LUA_MAX_C_STACK {
            return Err(Fail::stack("too many results"));
        }
        let item = data.get(pos..pos + size).unwrap_or_default();
        let value = match opt {
            b'b' | b'B' | b'h' | b'H' | b'l' | b'L' | b'T' | b'i' | b'I' => {
                let mut l: u64 = 0;
                let mut push = |b: &u8| l = l.checked_shl(8).unwrap_or(0) | u64::from(*b);
                if h.little {
                    item.iter().rev().for_each(&mut push);
                } else {
                    item.iter().for_each(&mut push);
                }
                Some(if opt.is_ascii_lowercase() {
                    let mask = u64::MAX.wrapping_shl((size as u32).wrapping_mul(8).wrapping_sub(1));
                    if l & mask != 0 {
                        l |= mask;
                    }
                    Value::Number(l as i64 as f64)
                } else {
                    Value::Number(l as f64)
                })
            }
            b'x' => None,
            b'f' => {
                let mut b = [0u8; 4];
                b.copy_from_slice(item.get(..4).unwrap_or(&[0; 4]));
                if !h.little {
                    b.reverse();
                }
                Some(Value::Number(f64::from(f32::from_le_bytes(b))))
            }
            b'd' => {
                let mut b = [0u8; 8];
                b.copy_from_slice(item.get(..8).unwrap_or(&[0; 8]));
                if !h.little {
                    b.reverse();
                }
                Some(Value::Number(f64::from_le_bytes(b)))
            }
            b'c' => {
                if size == 0 {
                    // The size is the previous result, which it replaces.
                    let prev: Value = if n == 0 {
                        Value::Nil
                    } else {
                        results.raw_get(n)?
                    };
                    let count = match &prev {
                        Value::Nil => None,
                        v => to_number(lua, v)?,
                    };
                    let Some(count) = count else {
                        return Err(Fail::msg("format 'c0' needs a previous size"));
                    };
                    results.raw_set(n, Value::Nil)?;
                    n -= 1;
                    size = c_double_to_u64(count) as usize;
                    if size > ld || pos > ld - size {
                        return Err(too_short());
                    }
                }
                Some(Value::String(lua.create_string(
                    data.get(pos..pos + size).unwrap_or_default(),
                )?))
            }
            b's' => {
                let rest = data.get(pos..).unwrap_or_default();
                let Some(end) = rest.iter().position(|&c| c == 0) else {
                    return Err(Fail::msg("unfinished string in data"));
                };
                size = end + 1;
                Some(Value::String(lua.create_string(&rest[..end])?))
            }
            _ => {
                fmt.control(opt, &mut h)?;
                None
            }
        };
        if let Some(v) = value {
            n += 1;
            results.raw_set(n, v)?;
        }
        pos = pos.wrapping_add(size);
    }
    n += 1;
    results.raw_set(n, pos.wrapping_add(1) as u64 as i64 as f64)?;
    Ok(Out::Packed(
        results,
        1,
        c_int::try_from(n).unwrap_or(c_int::MAX),
    ))
}

/// `struct.size(fmt)`: the size of what `fmt` packs.
fn struct_size(lua: &Lua, args: MultiValue) -> Ret {
    let fmt = check_string(lua, &args, 0)?;
    let fmt_bytes = fmt.as_bytes();
    let mut fmt = StructFmt::new(&fmt_bytes);
    let mut h = StructHeader::default();
    let mut pos: usize = 0;
    while let Some(opt) = fmt.next() {
        let size = fmt.size(opt)?;
        pos = pos.wrapping_add(struct_align(pos, &h, opt, size));
        if opt == b's' {
            return Err(Fail::arg(1, "option 's' has no fixed size"));
        }
        if opt == b'c' && size == 0 {
            return Err(Fail::arg(1, "option 'c0' has no fixed size"));
        }
        if !opt.is_ascii_alphanumeric() {
            fmt.control(opt, &mut h)?;
        }
        pos = pos.wrapping_add(size);
    }
    one(Value::Number(pos as f64))
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
