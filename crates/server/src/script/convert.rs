//! Redis replies to Lua values and Lua values to replies, by Redis's rules:
//!
//! | reply | Lua |
//! |---|---|
//! | integer | number |
//! | bulk string | string |
//! | null bulk, null array | false (RESP2 scripts); nil for RESP3's null |
//! | array | table (1..n) |
//! | status | `{ok = s}` |
//! | error | `{err = "CODE msg"}` |
//! | RESP3 map, set, double, boolean, big number, verbatim | `{map = t}`, `{set = t}`, `{double = n}`, boolean, `{big_number = s}`, `{verbatim_string = {format, string}}` |
//!
//! and back: a number is an integer reply (truncated), a string a bulk, true
//! 1 (RESP2 scripts) or `#t`, false and nil a null, and a table is checked for
//! `err`, `ok`, `double`, `big_number`, `verbatim_string`, `map`, `set` in that
//! order, else it is an array up to its first nil.

use std::ffi::c_int;

use bytes::BufMut;
use mlua::ffi;
#[cfg(test)]
use mlua::{Lua, Value};
use tandem_resp::{Proto, ReplyBuf};

/// Deepest table a script may return (Redis stops at its Lua stack limit).
const MAX_DEPTH: usize = 1000;

/// Parses one reply into a Lua value, as `redis.call` does (see
/// `call::push_value`); `true` with it when the reply is an error.
#[cfg(test)]
pub fn reply_to_lua(lua: &Lua, buf: &[u8]) -> mlua::Result<(Value, bool)> {
    let v: Value = unsafe {
        // SAFETY: push_value only pushes onto the stack exec_raw protects.
        lua.exec_raw((), |l| {
            let mut pos = 0;
            if !super::call::push_value(l, buf, &mut pos, 0) {
                mlua::ffi::lua_pushnil(l);
            }
        })?
    };
    Ok((v, buf.first() == Some(&b'-')))
}

/// A Lua number as C's `(long long)` cast on x86: out of range and NaN give
/// the minimum, as Redis replies for them.
pub fn lua_number_to_i64(d: f64) -> i64 {
    // 2^63: the first double past i64's range.
    const LIMIT: f64 = 9_223_372_036_854_775_808.0;
    if d.is_nan() || !(-LIMIT..LIMIT).contains(&d) {
        i64::MIN
    } else {
        d as i64
    }
}

/// The field names a returned table is checked for, in Redis's order (then
/// `format` and `string` of a verbatim string, and `source` and `line` of an
/// error): a Lua table of them is made once, and converting looks them up by
/// index, so the conversion allocates nothing in Lua.
pub const FIELDS: [&str; 11] = [
    "err",
    "ok",
    "double",
    "big_number",
    "verbatim_string",
    "map",
    "set",
    "format",
    "string",
    "source",
    "line",
];
const ERR: c_int = 1;
const OK: c_int = 2;
const DOUBLE: c_int = 3;
const BIG_NUMBER: c_int = 4;
const VERBATIM: c_int = 5;
const MAP: c_int = 6;
const SET: c_int = 7;
const FORMAT: c_int = 8;
const STRING: c_int = 9;
const SOURCE: c_int = 10;
const LINE: c_int = 11;

/// Writes `v` as the reply of a script whose protocol is `script_proto`
/// (tests; scripts convert on the stack, see `run`).
#[cfg(test)]
pub fn lua_to_reply(
    lua: &Lua,
    v: Value,
    out: &mut ReplyBuf,
    script_proto: Proto,
) -> mlua::Result<()> {
    let fields = lua.create_sequence_from(FIELDS)?;
    // SAFETY: `write` only reads the stack exec_raw prepared, pushing within
    // the space it checks; a Lua error there is caught by exec_raw.
    unsafe {
        lua.exec_raw::<()>((fields, v), |l| {
            write(l, 2, 1, out, script_proto, 0);
            ffi::lua_settop(l, 0);
        })
    }
}

/// The error reply for a failed run, from the error table at `idx` (see the
/// error handler): the message, then the script and line it came from.
///
/// # Safety
/// `idx` and `fields` are valid stack indices of `l`; reads only.
pub unsafe fn run_error(l: *mut ffi::lua_State, idx: c_int, fields: c_int, name: &[u8]) -> String {
    if ffi::lua_type(l, idx) != ffi::LUA_TTABLE || ffi::lua_checkstack(l, 3) == 0 {
        return "ERR execution failure".into();
    }
    let top = ffi::lua_gettop(l);
    let msg = match field(l, idx, fields, ERR) {
        ffi::LUA_TSTRING => String::from_utf8_lossy(bytes(l, -1)).into_owned(),
        _ => "ERR execution failure".into(),
    };
    ffi::lua_settop(l, top);
    let line = match field(l, idx, fields, LINE) {
        ffi::LUA_TNUMBER => Some(ffi::lua_tonumber(l, -1) as i64),
        _ => None,
    };
    ffi::lua_settop(l, top);
    let source = match field(l, idx, fields, SOURCE) {
        ffi::LUA_TSTRING => Some(String::from_utf8_lossy(bytes(l, -1)).into_owned()),
        _ => None,
    };
    ffi::lua_settop(l, top);
    match (source, line) {
        (Some(src), Some(line)) => format!(
            "{msg} script: {}, on {src}:{line}.",
            String::from_utf8_lossy(name)
        ),
        _ => msg,
    }
}

fn status(out: &mut ReplyBuf, s: &[u8]) {
    let b = out.buf_mut();
    b.put_u8(b'+');
    for &c in s {
        b.put_u8(if c == b'\r' || c == b'\n' { b' ' } else { c });
    }
    b.put_slice(b"\r\n");
}

/// The string at `idx` (which must be one).
unsafe fn bytes<'s>(l: *mut ffi::lua_State, idx: c_int) -> &'s [u8] {
    let mut len = 0usize;
    let p = ffi::lua_tolstring(l, idx, &mut len);
    std::slice::from_raw_parts(p as *const u8, len)
}

/// Pushes `t[FIELDS[n - 1]]` (raw; the names are in the table at `fields`)
/// and returns its type.
unsafe fn field(l: *mut ffi::lua_State, t: c_int, fields: c_int, n: c_int) -> c_int {
    ffi::lua_rawgeti_(l, fields, n);
    ffi::lua_rawget_(l, t);
    ffi::lua_type(l, -1)
}

/// Writes the value at `idx` as a reply (Redis's rules, see the module doc);
/// `fields`: the stack index of the [`FIELDS`] table.
///
/// # Safety
/// `idx` and `fields` are valid stack indices of `l`.
pub unsafe fn write(
    l: *mut ffi::lua_State,
    idx: c_int,
    fields: c_int,
    out: &mut ReplyBuf,
    proto: Proto,
    depth: usize,
) {
    let idx = if idx < 0 {
        ffi::lua_gettop(l) + idx + 1
    } else {
        idx
    };
    match ffi::lua_type(l, idx) {
        ffi::LUA_TSTRING => out.bulk(bytes(l, idx)),
        ffi::LUA_TBOOLEAN => match (proto, ffi::lua_toboolean(l, idx) != 0) {
            (Proto::Resp2, true) => out.int(1),
            (Proto::Resp2, false) => out.null(),
            (Proto::Resp3, b) => out.bool(b),
        },
        ffi::LUA_TNUMBER => out.int(lua_number_to_i64(ffi::lua_tonumber(l, idx))),
        ffi::LUA_TTABLE if depth >= MAX_DEPTH || ffi::lua_checkstack(l, 4) == 0 => {
            out.error("ERR reached lua stack limit")
        }
        ffi::LUA_TTABLE => table(l, idx, fields, out, proto, depth),
        _ => out.null(),
    }
}

unsafe fn table(
    l: *mut ffi::lua_State,
    t: c_int,
    fields: c_int,
    out: &mut ReplyBuf,
    proto: Proto,
    depth: usize,
) {
    let top = ffi::lua_gettop(l);
    if field(l, t, fields, ERR) == ffi::LUA_TSTRING {
        out.error(&String::from_utf8_lossy(bytes(l, -1)));
        return ffi::lua_settop(l, top);
    }
    ffi::lua_settop(l, top);
    if field(l, t, fields, OK) == ffi::LUA_TSTRING {
        status(out, bytes(l, -1));
        return ffi::lua_settop(l, top);
    }
    ffi::lua_settop(l, top);
    if field(l, t, fields, DOUBLE) == ffi::LUA_TNUMBER {
        out.double(ffi::lua_tonumber(l, -1));
        return ffi::lua_settop(l, top);
    }
    ffi::lua_settop(l, top);
    if field(l, t, fields, BIG_NUMBER) == ffi::LUA_TSTRING {
        let s: Vec<u8> = bytes(l, -1)
            .iter()
            .map(|&c| if c == b'\r' || c == b'\n' { b' ' } else { c })
            .collect();
        match out.proto() {
            Proto::Resp2 => out.bulk(&s),
            Proto::Resp3 => {
                let b = out.buf_mut();
                b.put_u8(b'(');
                b.put_slice(&s);
                b.put_slice(b"\r\n");
            }
        }
        return ffi::lua_settop(l, top);
    }
    ffi::lua_settop(l, top);
    if field(l, t, fields, VERBATIM) == ffi::LUA_TTABLE {
        let v = ffi::lua_gettop(l);
        if field(l, v, fields, FORMAT) == ffi::LUA_TSTRING
            && field(l, v, fields, STRING) == ffi::LUA_TSTRING
        {
            let (f, s) = (bytes(l, -2), bytes(l, -1));
            match out.proto() {
                Proto::Resp2 => out.bulk(s),
                Proto::Resp3 => {
                    let fmt = &f[..f.len().min(3)];
                    let b = out.buf_mut();
                    b.put_u8(b'=');
                    b.put_slice(itoa::Buffer::new().format(s.len() + 4).as_bytes());
                    b.put_slice(b"\r\n");
                    b.put_slice(fmt);
                    b.put_u8(b':');
                    b.put_slice(s);
                    b.put_slice(b"\r\n");
                }
            }
            return ffi::lua_settop(l, top);
        }
    }
    ffi::lua_settop(l, top);
    for (name, is_map) in [(MAP, true), (SET, false)] {
        if field(l, t, fields, name) == ffi::LUA_TTABLE {
            let m = ffi::lua_gettop(l);
            let mut n = 0;
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, m) != 0 {
                n += 1;
                ffi::lua_settop(l, -2);
            }
            if is_map {
                out.map(n);
            } else {
                out.set(n);
            }
            ffi::lua_pushnil(l);
            while ffi::lua_next(l, m) != 0 {
                // Stack: map, key, value.
                write(l, -2, fields, out, proto, depth + 1);
                if is_map {
                    write(l, -1, fields, out, proto, depth + 1);
                }
                ffi::lua_settop(l, -2);
            }
            return ffi::lua_settop(l, top);
        }
        ffi::lua_settop(l, top);
    }
    let mut n = 0;
    loop {
        ffi::lua_rawgeti_(l, t, n + 1);
        let nil = ffi::lua_type(l, -1) == ffi::LUA_TNIL;
        ffi::lua_settop(l, top);
        if nil {
            break;
        }
        n += 1;
    }
    out.array(n as usize);
    for i in 1..=n {
        ffi::lua_rawgeti_(l, t, i);
        write(l, -1, fields, out, proto, depth + 1);
        ffi::lua_settop(l, top);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn out_of_range_numbers_become_the_minimum_as_on_x86() {
        assert_eq!(lua_number_to_i64(1.9), 1);
        assert_eq!(lua_number_to_i64(-3.7), -3);
        assert_eq!(lua_number_to_i64(1e30), i64::MIN);
        assert_eq!(lua_number_to_i64(f64::NAN), i64::MIN);
        assert_eq!(lua_number_to_i64(9007199254740993.0), 9007199254740992);
    }

    #[test]
    fn replies_round_trip_through_lua_values() {
        let lua = Lua::new();
        let cases: &[(&[u8], &[u8])] = &[
            (b":5\r\n", b":5\r\n"),
            (b"$3\r\nabc\r\n", b"$3\r\nabc\r\n"),
            (b"$-1\r\n", b"$-1\r\n"),
            (b"*2\r\n:1\r\n$1\r\nx\r\n", b"*2\r\n:1\r\n$1\r\nx\r\n"),
            (b"+OK\r\n", b"+OK\r\n"),
            (b"-WRONGTYPE bad\r\n", b"-WRONGTYPE bad\r\n"),
            (b"-oops\r\n", b"-ERR oops\r\n"),
            (b",1.5\r\n", b"$3\r\n1.5\r\n"),
            (b"_\r\n", b"$-1\r\n"),
        ];
        for (input, want) in cases {
            let (v, _) = reply_to_lua(&lua, input).expect("parse");
            let mut out = ReplyBuf::new(Proto::Resp2);
            lua_to_reply(&lua, v, &mut out, Proto::Resp2).expect("write");
            assert_eq!(out.as_bytes(), *want, "{}", String::from_utf8_lossy(input));
        }
    }
}
