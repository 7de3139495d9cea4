//! `bit`: LuaBitOp as Redis bundles it.

use super::*;

// ---------------------------------------------------------------------------
// bit: LuaBitOp 1.0.2
// ---------------------------------------------------------------------------
//
// Plain C functions on the Lua C API, as LuaBitOp's are: they allocate
// nothing but the result of `tohex` and own nothing that needs drop, so the
// errors they raise (`longjmp`) leave no Rust value behind, and a call costs
// what it costs in Redis.

/// `barg`: argument `idx` as 32 bits. The double plus 2^52+2^51 has the
/// integer part (rounded to nearest even) in its low 32 bits. Raises
/// "number expected, got <type>" for what Lua cannot convert to a number.
unsafe fn bit_arg(state: *mut ffi::lua_State, idx: c_int) -> u32 {
    let n = ffi::lua_tonumber(state, idx);
    let b = (n + 6_755_399_441_055_744.0).to_bits() as u32;
    if b == 0 && ffi::lua_isnumber(state, idx) == 0 {
        ffi::luaL_typerror(state, idx, c"number".as_ptr());
    }
    b
}

unsafe fn bit_ret(state: *mut ffi::lua_State, b: u32) -> c_int {
    ffi::lua_pushnumber(state, f64::from(b as i32));
    1
}

unsafe extern "C-unwind" fn bit_tobit(state: *mut ffi::lua_State) -> c_int {
    bit_ret(state, bit_arg(state, 1))
}

unsafe extern "C-unwind" fn bit_bnot(state: *mut ffi::lua_State) -> c_int {
    bit_ret(state, !bit_arg(state, 1))
}

unsafe extern "C-unwind" fn bit_bswap(state: *mut ffi::lua_State) -> c_int {
    bit_ret(state, bit_arg(state, 1).swap_bytes())
}

/// band/bor/bxor: argument 1, then the others from the last to the second.
unsafe fn bit_fold(state: *mut ffi::lua_State, op: fn(u32, u32) -> u32) -> c_int {
    let mut b = bit_arg(state, 1);
    let mut i = ffi::lua_gettop(state);
    while i > 1 {
        b = op(b, bit_arg(state, i));
        i -= 1;
    }
    bit_ret(state, b)
}

unsafe extern "C-unwind" fn bit_band(state: *mut ffi::lua_State) -> c_int {
    bit_fold(state, |x, y| x & y)
}

unsafe extern "C-unwind" fn bit_bor(state: *mut ffi::lua_State) -> c_int {
    bit_fold(state, |x, y| x | y)
}

unsafe extern "C-unwind" fn bit_bxor(state: *mut ffi::lua_State) -> c_int {
    bit_fold(state, |x, y| x ^ y)
}

/// The shifts and rotations: by argument 2 modulo 32.
unsafe fn bit_shift(state: *mut ffi::lua_State, op: fn(u32, u32) -> u32) -> c_int {
    let b = bit_arg(state, 1);
    let n = bit_arg(state, 2) & 31;
    bit_ret(state, op(b, n))
}

unsafe extern "C-unwind" fn bit_lshift(state: *mut ffi::lua_State) -> c_int {
    bit_shift(state, |b, n| b << n)
}

unsafe extern "C-unwind" fn bit_rshift(state: *mut ffi::lua_State) -> c_int {
    bit_shift(state, |b, n| b >> n)
}

unsafe extern "C-unwind" fn bit_arshift(state: *mut ffi::lua_State) -> c_int {
    bit_shift(state, |b, n| ((b as i32) >> n) as u32)
}

unsafe extern "C-unwind" fn bit_rol(state: *mut ffi::lua_State) -> c_int {
    bit_shift(state, u32::rotate_left)
}

unsafe extern "C-unwind" fn bit_ror(state: *mut ffi::lua_State) -> c_int {
    bit_shift(state, u32::rotate_right)
}

/// `tohex(x [,n])`: n (default 8) hex digits, upper case for negative n.
unsafe extern "C-unwind" fn bit_tohex(state: *mut ffi::lua_State) -> c_int {
    let mut b = bit_arg(state, 1);
    let mut n = if ffi::lua_isnone(state, 2) != 0 {
        8
    } else {
        bit_arg(state, 2) as i32
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
    for slot in buf.iter_mut().take(n).rev() {
        *slot = digits[(b & 15) as usize];
        b >>= 4;
    }
    ffi::lua_pushlstring(state, buf.as_ptr().cast(), n);
    1
}

pub(super) fn bit_lib(lua: &Lua) -> mlua::Result<Table> {
    // luaL_register: a table sized for the 12 functions, filled in this order.
    let bit = lua.create_table_with_capacity(0, 12)?;
    let funcs: [(&str, ffi::lua_CFunction); 12] = [
        ("tobit", bit_tobit),
        ("bnot", bit_bnot),
        ("band", bit_band),
        ("bor", bit_bor),
        ("bxor", bit_bxor),
        ("lshift", bit_lshift),
        ("rshift", bit_rshift),
        ("arshift", bit_arshift),
        ("rol", bit_rol),
        ("ror", bit_ror),
        ("bswap", bit_bswap),
        ("tohex", bit_tohex),
    ];
    for (name, f) in funcs {
        // SAFETY: the functions use the C API on their own stack frame only.
        bit.raw_set(name, unsafe { lua.create_c_function(f)? })?;
    }
    Ok(bit)
}

#[cfg(test)]
#[path = "bit_tests.rs"]
mod tests;
