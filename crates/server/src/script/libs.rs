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
}

type Ret = Result<MultiValue, Fail>;

/// Creates a library function: `f` wrapped in a [`trampoline`] closure.
fn lib_fn<F>(lua: &Lua, f: F) -> mlua::Result<Function>
where
    F: Fn(&Lua, MultiValue) -> Ret + Send + 'static,
{
    let inner = lua.create_function(move |lua, args: MultiValue| match f(lua, args) {
        Ok(mut results) => {
            results.push_front(Value::Boolean(true));
            Ok(results)
        }
        Err(Fail::Arg(narg, msg)) => Ok(MultiValue::from_vec(vec![
            Value::Integer(narg.into()),
            Value::String(lua.create_string(msg)?),
        ])),
        Err(Fail::Msg(msg)) => Ok(MultiValue::from_vec(vec![
            Value::Boolean(false),
            Value::String(lua.create_string(msg)?),
        ])),
        Err(Fail::Lua(e)) => Err(e),
    })?;
    // SAFETY: `exec_raw` runs the closure in protected mode with `inner` as
    // the only value on the stack; `lua_pushcclosure` pops it and pushes the
    // closure, which is the function returned.
    unsafe {
        lua.exec_raw::<Function>(inner, |state| {
            ffi::lua_pushcclosure(state, trampoline, 1);
        })
    }
}

/// The C function a script calls. Upvalue 1 is the mlua callback, which
/// returns `true, results...` on success, `narg, message` for an argument
/// error and `false, message` for any other error. Errors of the callback
/// itself (mlua errors) propagate through `lua_call` unchanged.
///
/// No Rust value with a destructor is alive in this frame, so `lua_error`
/// (a `longjmp`) may leave it, as it leaves mlua's own C functions.
unsafe extern "C-unwind" fn trampoline(state: *mut ffi::lua_State) -> c_int {
    let nargs = ffi::lua_gettop(state);
    ffi::lua_pushvalue(state, ffi::lua_upvalueindex(1));
    ffi::lua_insert(state, 1);
    ffi::lua_call(state, nargs, ffi::LUA_MULTRET);
    match ffi::lua_type(state, 1) {
        ffi::LUA_TBOOLEAN if ffi::lua_toboolean(state, 1) != 0 => {
            ffi::lua_remove(state, 1);
            ffi::lua_gettop(state)
        }
        ffi::LUA_TNUMBER => {
            // The message stays on the stack (index 2) while it is used.
            let narg = ffi::lua_tonumber(state, 1) as c_int;
            ffi::luaL_argerror(state, narg, ffi::lua_tostring(state, 2))
        }
        _ => {
            ffi::lua_checkstack(state, 2);
            ffi::luaL_where(state, 1);
            ffi::lua_pushvalue(state, 2);
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

/// `luaL_typename(L, i)` of argument `i` (0-based): "no value" when absent.
fn arg_type_name(args: &MultiValue, i: usize) -> &'static str {
    args.get(i).map_or("no value", type_name)
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

fn one(v: Value) -> Ret {
    Ok(MultiValue::from_vec(vec![v]))
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

/// `LUAI_MAXCSTACK`: `lua_checkstack` refuses to grow a C function's stack
/// frame beyond this many slots, which bounds the nesting lua-cjson accepts
/// whatever its configured maximum depth.
const LUA_MAX_C_STACK: usize = 8000;

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
            let out = json_encode(&settings, arg(&args, 0))?;
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
            let value = json_decode(lua, &settings, &text.as_bytes())?;
            one(value)
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
            Ok(MultiValue::from_vec(vec![convert, ratio, safe]))
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

/// A table being written.
enum Frame {
    /// `[...]`: elements 1..=len, from `dense` when the table was collected
    /// into it, else read with `rawget`.
    Array {
        table: Table,
        dense: Option<Vec<Value>>,
        len: usize,
        next: usize,
    },
    /// `{...}`: the table's pairs in `next` order.
    Object {
        entries: std::vec::IntoIter<(Value, Value)>,
        first: bool,
    },
}

struct Encoder<'c> {
    cfg: &'c JsonConfig,
    out: Vec<u8>,
    stack: Vec<Frame>,
    /// Lua stack slots lua-cjson would be using: the argument, plus one per
    /// open array (the element) and two per open object (key and value).
    slots: usize,
}

/// `cjson.encode(value)`.
fn json_encode(cfg: &JsonConfig, value: &Value) -> Result<Vec<u8>, Fail> {
    let mut enc = Encoder {
        cfg,
        out: Vec::new(),
        stack: Vec::new(),
        slots: 1,
    };
    enc.value(value.clone())?;
    while !enc.stack.is_empty() {
        if let Some(v) = enc.next_element()? {
            enc.value(v)?;
        }
    }
    Ok(enc.out)
}

impl Encoder<'_> {
    /// `json_append_data`.
    fn value(&mut self, v: Value) -> Result<(), Fail> {
        match v {
            Value::String(s) => json_append_string(&mut self.out, &s.as_bytes()),
            Value::Integer(i) => self.number(i as f64, "number")?,
            Value::Number(n) => self.number(n, "number")?,
            Value::Boolean(b) => self
                .out
                .extend_from_slice(if b { b"true" } else { b"false" }),
            Value::Nil => self.out.extend_from_slice(b"null"),
            Value::LightUserData(p) if p.0.is_null() => self.out.extend_from_slice(b"null"),
            Value::Table(t) => self.open_table(t)?,
            other => {
                return Err(Fail::msg(format!(
                    "Cannot serialise {}: type not supported",
                    type_name(&other)
                )))
            }
        }
        Ok(())
    }

    /// `json_append_number`.
    fn number(&mut self, n: f64, type_name: &str) -> Result<(), Fail> {
        if n.is_finite() {
            push_number_g(
                &mut self.out,
                n,
                self.cfg.encode_number_precision.clamp(1, 14) as usize,
            );
            return Ok(());
        }
        match self.cfg.encode_invalid_numbers {
            0 => {
                return Err(Fail::msg(format!(
                    "Cannot serialise {type_name}: must not be NaN or Inf"
                )))
            }
            1 if n.is_nan() => self.out.extend_from_slice(b"nan"),
            1 if n < 0.0 => self.out.extend_from_slice(b"-inf"),
            1 => self.out.extend_from_slice(b"inf"),
            _ => self.out.extend_from_slice(b"null"),
        }
        Ok(())
    }

    fn open_table(&mut self, table: Table) -> Result<(), Fail> {
        let depth = self.stack.len() + 1;
        if depth > self.cfg.encode_max_depth.max(0) as usize || self.slots + 3 > LUA_MAX_C_STACK {
            return Err(Fail::msg(format!(
                "Cannot serialise, excessive nesting ({depth})"
            )));
        }
        let mut entries = Vec::new();
        for pair in table.pairs::<Value, Value>() {
            entries.push(pair?);
        }
        let len = self.array_length(&entries)?;
        if len > 0 {
            let len = len as usize;
            let dense = if len <= entries.len().saturating_mul(4).saturating_add(16) {
                let mut items = vec![Value::Nil; len];
                for (k, v) in entries {
                    let k = match k {
                        Value::Integer(i) => i as f64,
                        Value::Number(n) => n,
                        _ => continue,
                    };
                    if k >= 1.0 && k <= len as f64 {
                        items[k as usize - 1] = v;
                    }
                }
                Some(items)
            } else {
                None
            };
            self.out.push(b'[');
            self.stack.push(Frame::Array {
                table,
                dense,
                len,
                next: 0,
            });
            self.slots += 1;
        } else {
            self.out.push(b'{');
            self.stack.push(Frame::Object {
                entries: entries.into_iter(),
                first: true,
            });
            self.slots += 2;
        }
        Ok(())
    }

    /// `lua_array_length`: the array length when every key is a positive
    /// integer, else -1 (an object). The maximum is kept in a C `int` as
    /// lua-cjson does, with the same overflow behaviour.
    fn array_length(&self, entries: &[(Value, Value)]) -> Result<i32, Fail> {
        let mut max: i32 = 0;
        let mut items: i32 = 0;
        for (k, _) in entries {
            let k = match k {
                Value::Integer(i) => *i as f64,
                Value::Number(n) => *n,
                _ => return Ok(-1),
            };
            if k == 0.0 || k.floor() != k || k < 1.0 {
                return Ok(-1);
            }
            if k > f64::from(max) {
                max = c_double_to_i32(k);
            }
            items = items.wrapping_add(1);
        }
        let cfg = self.cfg;
        if cfg.encode_sparse_ratio > 0
            && max > items.wrapping_mul(cfg.encode_sparse_ratio)
            && max > cfg.encode_sparse_safe
        {
            if cfg.encode_sparse_convert == 0 {
                return Err(Fail::msg(
                    "Cannot serialise table: excessively sparse array",
                ));
            }
            return Ok(-1);
        }
        Ok(max)
    }

    /// Writes the separator (and key) before the next element of the
    /// innermost table and returns the element, or closes the table.
    fn next_element(&mut self) -> Result<Option<Value>, Fail> {
        let Some(frame) = self.stack.last_mut() else {
            return Ok(None);
        };
        match frame {
            Frame::Array {
                table,
                dense,
                len,
                next,
            } => {
                if *next >= *len {
                    self.out.push(b']');
                    self.stack.pop();
                    self.slots -= 1;
                    return Ok(None);
                }
                if *next > 0 {
                    self.out.push(b',');
                }
                let i = *next;
                *next += 1;
                let v = match dense {
                    Some(items) => std::mem::replace(&mut items[i], Value::Nil),
                    None => table.raw_get(i + 1)?,
                };
                Ok(Some(v))
            }
            Frame::Object { entries, first } => {
                let Some((k, v)) = entries.next() else {
                    self.out.push(b'}');
                    self.stack.pop();
                    self.slots -= 2;
                    return Ok(None);
                };
                if !*first {
                    self.out.push(b',');
                }
                *first = false;
                match k {
                    Value::Integer(i) => self.number_key(i as f64)?,
                    Value::Number(n) => self.number_key(n)?,
                    Value::String(s) => {
                        json_append_string(&mut self.out, &s.as_bytes());
                        self.out.push(b':');
                    }
                    other => {
                        return Err(Fail::msg(format!(
                            "Cannot serialise {}: table key must be a number or string",
                            type_name(&other)
                        )))
                    }
                }
                Ok(Some(v))
            }
        }
    }

    fn number_key(&mut self, n: f64) -> Result<(), Fail> {
        self.out.push(b'"');
        self.number(n, "number")?;
        self.out.extend_from_slice(b"\":");
        Ok(())
    }
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
        0..=31 => Some(CONTROL[c as usize]),
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
            out.extend_from_slice(&s[plain..i]);
            out.extend_from_slice(esc);
            plain = i + 1;
        }
    }
    out.extend_from_slice(&s[plain..]);
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

/// A table being filled.
enum Open {
    Array { table: Table, next: i64 },
    Object { table: Table, key: LuaString },
}

struct Decoder<'a> {
    lua: &'a Lua,
    cfg: &'a JsonConfig,
    /// The text plus a terminating NUL (the end, as for the C string).
    data: Vec<u8>,
    pos: usize,
    /// Where the last token starts (its index for error messages).
    tok_index: usize,
    tmp: Vec<u8>,
    stack: Vec<Open>,
    /// Lua stack slots lua-cjson would be using: the argument, plus one per
    /// open array (the table) and two per open object (table and key).
    slots: usize,
}

/// `cjson.decode(text)`.
fn json_decode(lua: &Lua, cfg: &JsonConfig, text: &[u8]) -> Result<Value, Fail> {
    if text.len() >= 2 && (text[0] == 0 || text[1] == 0) {
        return Err(Fail::msg("JSON parser does not support UTF-16 or UTF-32"));
    }
    let mut data = Vec::with_capacity(text.len() + 1);
    data.extend_from_slice(text);
    data.push(0);
    let mut d = Decoder {
        lua,
        cfg,
        data,
        pos: 0,
        tok_index: 0,
        tmp: Vec::new(),
        stack: Vec::new(),
        slots: 1,
    };
    let tok = d.next_token();
    let value = d.value(tok)?;
    let tok = d.next_token();
    if tok != Tok::End {
        return Err(d.parse_error("the end", tok));
    }
    Ok(value)
}

impl Decoder<'_> {
    fn byte(&self, i: usize) -> u8 {
        self.data.get(i).copied().unwrap_or(0)
    }

    /// `json_throw_parse_error`.
    fn parse_error(&self, expected: &str, tok: Tok) -> Fail {
        Fail::msg(format!(
            "Expected {expected} but found {} at character {}",
            tok.name(),
            self.tok_index + 1
        ))
    }

    /// A token error at the current position.
    fn token_error(&mut self, what: &'static str) -> Tok {
        self.tok_index = self.pos;
        Tok::Error(what)
    }

    /// `json_next_token`.
    fn next_token(&mut self) -> Tok {
        loop {
            match self.byte(self.pos) {
                b' ' | b'\t' | b'\r' | b'\n' => self.pos += 1,
                _ => break,
            }
        }
        self.tok_index = self.pos;
        let c = self.byte(self.pos);
        let single = match c {
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
                let rest = &self.data[self.pos..];
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
        let (n, len) = c_strtod(&self.data[self.pos..]);
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

    /// `json_decode_descend`.
    fn descend(&mut self, slots: usize) -> Result<(), Fail> {
        let depth = self.stack.len() + 1;
        if depth <= self.cfg.decode_max_depth.max(0) as usize
            && self.slots + slots <= LUA_MAX_C_STACK
        {
            return Ok(());
        }
        Err(Fail::msg(format!(
            "Found too many nested data structures ({depth}) at character {}",
            self.pos
        )))
    }

    fn take_string(&mut self) -> mlua::Result<LuaString> {
        self.lua.create_string(&self.tmp)
    }

    /// `json_process_value` and the array/object contexts, without recursion:
    /// parses the value starting with `tok`.
    fn value(&mut self, mut tok: Tok) -> Result<Value, Fail> {
        'value: loop {
            let mut value = match tok {
                Tok::Str => Value::String(self.take_string()?),
                Tok::Num(n) => Value::Number(n),
                Tok::Bool(b) => Value::Boolean(b),
                Tok::Null => Value::NULL,
                Tok::ObjBegin => {
                    self.descend(3)?;
                    let table = self.lua.create_table()?;
                    let t = self.next_token();
                    if t == Tok::ObjEnd {
                        Value::Table(table)
                    } else {
                        let key = self.object_key(t)?;
                        self.stack.push(Open::Object { table, key });
                        self.slots += 2;
                        tok = self.next_token();
                        continue 'value;
                    }
                }
                Tok::ArrBegin => {
                    self.descend(2)?;
                    let table = self.lua.create_table()?;
                    let t = self.next_token();
                    if t == Tok::ArrEnd {
                        Value::Table(table)
                    } else {
                        self.stack.push(Open::Array { table, next: 1 });
                        self.slots += 1;
                        tok = t;
                        continue 'value;
                    }
                }
                other => return Err(self.parse_error("value", other)),
            };
            // Store the value in its container; close containers that end.
            loop {
                let in_array = match self.stack.last_mut() {
                    None => return Ok(value),
                    Some(Open::Array { table, next }) => {
                        table.raw_set(*next, value)?;
                        *next += 1;
                        true
                    }
                    Some(Open::Object { table, key }) => {
                        table.raw_set(key.clone(), value)?;
                        false
                    }
                };
                let t = self.next_token();
                if t == Tok::Comma {
                    if !in_array {
                        let t = self.next_token();
                        let new_key = self.object_key(t)?;
                        if let Some(Open::Object { key, .. }) = self.stack.last_mut() {
                            *key = new_key;
                        }
                    }
                    tok = self.next_token();
                    continue 'value;
                }
                if in_array && t != Tok::ArrEnd {
                    return Err(self.parse_error("comma or array end", t));
                }
                if !in_array && t != Tok::ObjEnd {
                    return Err(self.parse_error("comma or object end", t));
                }
                value = match self.stack.pop() {
                    Some(Open::Array { table, .. }) => {
                        self.slots -= 1;
                        Value::Table(table)
                    }
                    Some(Open::Object { table, .. }) => {
                        self.slots -= 2;
                        Value::Table(table)
                    }
                    // Not reached: the loop found the stack non-empty.
                    None => Value::Nil,
                };
            }
        }
    }

    /// An object key (token `t`) and the colon after it.
    fn object_key(&mut self, t: Tok) -> Result<LuaString, Fail> {
        if t != Tok::Str {
            return Err(self.parse_error("object key string", t));
        }
        let key = self.take_string()?;
        let t = self.next_token();
        if t != Tok::Colon {
            return Err(self.parse_error("colon", t));
        }
        Ok(key)
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
