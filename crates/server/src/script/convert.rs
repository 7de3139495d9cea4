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

use bytes::BufMut;
#[cfg(test)]
use mlua::Lua;
use mlua::{Table, Value};
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

/// Writes `v` as the reply of a script whose protocol is `script_proto`.
pub fn lua_to_reply(v: &Value, out: &mut ReplyBuf, script_proto: Proto) -> mlua::Result<()> {
    write(v, out, script_proto, 0)
}

fn status(out: &mut ReplyBuf, s: &[u8]) {
    let b = out.buf_mut();
    b.put_u8(b'+');
    for &c in s {
        b.put_u8(if c == b'\r' || c == b'\n' { b' ' } else { c });
    }
    b.put_slice(b"\r\n");
}

fn write(v: &Value, out: &mut ReplyBuf, script_proto: Proto, depth: usize) -> mlua::Result<()> {
    match v {
        Value::String(s) => out.bulk(&s.as_bytes()),
        Value::Boolean(b) => match (script_proto, b) {
            (Proto::Resp2, true) => out.int(1),
            (Proto::Resp2, false) => out.null(),
            (Proto::Resp3, b) => out.bool(*b),
        },
        Value::Integer(i) => out.int(*i),
        Value::Number(d) => out.int(lua_number_to_i64(*d)),
        Value::Table(t) if depth >= MAX_DEPTH => {
            let _ = t;
            out.error("ERR reached lua stack limit");
        }
        Value::Table(t) => table(t, out, script_proto, depth)?,
        _ => out.null(),
    }
    Ok(())
}

fn table(t: &Table, out: &mut ReplyBuf, script_proto: Proto, depth: usize) -> mlua::Result<()> {
    if let Value::String(e) = t.raw_get::<Value>("err")? {
        out.error(&String::from_utf8_lossy(&e.as_bytes()));
        return Ok(());
    }
    if let Value::String(s) = t.raw_get::<Value>("ok")? {
        status(out, &s.as_bytes());
        return Ok(());
    }
    let double = match t.raw_get::<Value>("double")? {
        Value::Number(d) => Some(d),
        Value::Integer(i) => Some(i as f64),
        _ => None,
    };
    if let Some(d) = double {
        out.double(d);
        return Ok(());
    }
    if let Value::String(s) = t.raw_get::<Value>("big_number")? {
        let s: Vec<u8> = s
            .as_bytes()
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
        return Ok(());
    }
    if let Value::Table(vt) = t.raw_get::<Value>("verbatim_string")? {
        if let (Value::String(f), Value::String(s)) = (
            vt.raw_get::<Value>("format")?,
            vt.raw_get::<Value>("string")?,
        ) {
            let (f, s) = (f.as_bytes(), s.as_bytes());
            match out.proto() {
                Proto::Resp2 => out.bulk(&s),
                Proto::Resp3 => {
                    let fmt = &f[..f.len().min(3)];
                    let b = out.buf_mut();
                    b.put_u8(b'=');
                    b.put_slice(itoa::Buffer::new().format(s.len() + 4).as_bytes());
                    b.put_slice(b"\r\n");
                    b.put_slice(fmt);
                    b.put_u8(b':');
                    b.put_slice(&s);
                    b.put_slice(b"\r\n");
                }
            }
            return Ok(());
        }
    }
    if let Value::Table(m) = t.raw_get::<Value>("map")? {
        let pairs: Vec<(Value, Value)> = m.pairs::<Value, Value>().collect::<mlua::Result<_>>()?;
        out.map(pairs.len());
        for (k, v) in &pairs {
            write(k, out, script_proto, depth + 1)?;
            write(v, out, script_proto, depth + 1)?;
        }
        return Ok(());
    }
    if let Value::Table(s) = t.raw_get::<Value>("set")? {
        let keys: Vec<Value> = s
            .pairs::<Value, Value>()
            .map(|kv| kv.map(|(k, _)| k))
            .collect::<mlua::Result<_>>()?;
        out.set(keys.len());
        for k in &keys {
            write(k, out, script_proto, depth + 1)?;
        }
        return Ok(());
    }
    let mut items = Vec::new();
    for i in 1.. {
        match t.raw_get::<Value>(i)? {
            Value::Nil => break,
            v => items.push(v),
        }
    }
    out.array(items.len());
    for v in &items {
        write(v, out, script_proto, depth + 1)?;
    }
    Ok(())
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
            lua_to_reply(&v, &mut out, Proto::Resp2).expect("write");
            assert_eq!(out.as_bytes(), *want, "{}", String::from_utf8_lossy(input));
        }
    }
}
