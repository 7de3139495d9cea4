//! `cjson`: Redis's bundled lua-cjson (encode, decode, null, the settings).

use super::*;

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
pub(super) fn cjson_lib(lua: &Lua) -> mlua::Result<Table> {
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

#[path = "cjson_decode.rs"]
mod decode;
use decode::json_decode;

#[cfg(test)]
#[path = "cjson_tests.rs"]
mod tests;
