//! `cmsgpack`: Redis's bundled lua-cmsgpack.

use super::*;

// ---------------------------------------------------------------------------
// cmsgpack: lua-cmsgpack 0.4.0
// ---------------------------------------------------------------------------

/// Tables nested deeper than this are packed as nil (so cycles end).
const MP_MAX_NESTING: i32 = 16;

const MP_TOO_MANY: &str = "too many return values at once; use unpack_one or unpack_limit instead.";

pub(super) fn cmsgpack_lib(lua: &Lua) -> mlua::Result<Table> {
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
            0xd9..=0xdb => {
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

#[cfg(test)]
#[path = "cmsgpack_tests.rs"]
mod tests;
