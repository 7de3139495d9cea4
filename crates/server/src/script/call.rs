//! `redis.call` and `redis.pcall` on Lua's C API: the hot path of a script.
//!
//! The arguments are read straight off the Lua stack and the reply is pushed
//! straight onto it, without a reference per value (mlua's safe API keeps one
//! for every value that crosses into Rust, which cost about a third of an
//! EVAL that calls one command).
//!
//! Lua raises errors with `longjmp`, which may only skip frames that own
//! nothing to drop. So: everything Rust owns lives in [`run_call`] and is
//! dropped before anything that may raise; the reply is pushed under
//! `lua_pcall` (an out-of-memory error is caught there, then raised from a
//! frame that owns nothing); panics are caught before they reach Lua.

use std::cell::Cell;
use std::ffi::{c_int, c_void};

use bytes::Bytes;
use mlua::ffi;

/// Deepest reply nesting converted (replies of script-callable commands nest
/// two or three levels).
const MAX_DEPTH: usize = 64;

thread_local! {
    /// The running script's context ([`super::run`]), while a script runs on
    /// this thread; null otherwise.
    static ACTIVE: Cell<*const c_void> = const { Cell::new(std::ptr::null()) };
}

/// What `redis.call` needs from the running script.
pub(crate) trait Caller {
    /// Runs `args` for the script: the reply's RESP bytes (an error reply
    /// for a refused command).
    fn call(&mut self, args: Vec<Bytes>) -> Vec<u8>;
    /// `redis.setresp`: the protocol of the replies the script gets.
    fn set_resp(&mut self, resp: u8);
    /// `redis.set_repl`: 0 stops propagating the script's writes.
    fn set_repl(&mut self, flags: u8);
    /// The script's protocol (its reply's booleans depend on it).
    fn resp(&self) -> tandem_resp::Proto;
    /// `redis.acl_check_cmd`: whether the script's user may run `args`.
    fn acl_allowed(&mut self, args: Vec<Bytes>) -> bool;
}

/// Runs `f` on the running script's context, if a script runs.
pub(crate) fn with_active(f: impl FnOnce(&mut dyn Caller)) {
    let active = ACTIVE.with(|a| a.get());
    if active.is_null() {
        return;
    }
    // SAFETY: as in run_call.
    let cell = unsafe { &*(active as *const std::cell::RefCell<&mut dyn Caller>) };
    if let Ok(mut c) = cell.try_borrow_mut() {
        f(&mut **c);
    }
}

/// Makes `caller` the running script's context for this thread until dropped.
pub(crate) struct Active {
    prev: *const c_void,
}

impl Active {
    /// # Safety
    /// `caller` must outlive the returned guard, and nothing else may use it
    /// while a script calls back into it.
    pub(crate) unsafe fn set(caller: &std::cell::RefCell<&mut dyn Caller>) -> Active {
        let p = caller as *const std::cell::RefCell<&mut dyn Caller> as *const c_void;
        Active {
            prev: ACTIVE.with(|a| a.replace(p)),
        }
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        ACTIVE.with(|a| a.set(self.prev));
    }
}

/// Reads the call's arguments and runs it: the reply bytes, or an error reply.
///
/// # Safety
/// `l` is the calling Lua state, inside a C function call.
unsafe fn run_call(l: *mut ffi::lua_State) -> Vec<u8> {
    let active = ACTIVE.with(|a| a.get());
    if active.is_null() {
        return b"-ERR redis.call/pcall can only be called inside a script invocation\r\n".to_vec();
    }
    let n = ffi::lua_gettop(l);
    if n < 1 {
        return b"-ERR Please specify at least one argument for this redis lib call\r\n".to_vec();
    }
    let mut args = Vec::with_capacity(n as usize);
    for i in 1..=n {
        match ffi::lua_type(l, i) {
            ffi::LUA_TSTRING => {
                let mut len = 0usize;
                let p = ffi::lua_tolstring(l, i, &mut len);
                args.push(Bytes::copy_from_slice(std::slice::from_raw_parts(
                    p as *const u8,
                    len,
                )));
            }
            ffi::LUA_TNUMBER => {
                // Not lua_tolstring: Lua's %.14g would lose precision.
                let mut tmp = [0u8; 40];
                let k = tandem_resp::float::fmt_g17(ffi::lua_tonumber(l, i), &mut tmp);
                args.push(Bytes::copy_from_slice(&tmp[..k]));
            }
            _ => {
                return b"-ERR Lua redis lib command arguments must be strings or integers\r\n"
                    .to_vec()
            }
        }
    }
    // SAFETY: ACTIVE is set by `Active` for exactly as long as the context
    // lives, on this thread; the RefCell refuses a reentrant call.
    let cell = &*(active as *const std::cell::RefCell<&mut dyn Caller>);
    match cell.try_borrow_mut() {
        Ok(mut c) => c.call(args),
        Err(_) => b"-ERR redis.call is not reentrant\r\n".to_vec(),
    }
}

/// The reply waiting to be pushed, handed to [`push_protected`].
struct Job {
    ptr: *const u8,
    len: usize,
}

/// `lua_pcall`ed with the [`Job`] as light userdata: pushes the reply as a
/// Lua value (errors here are Lua's, caught by the pcall).
unsafe extern "C-unwind" fn push_protected(l: *mut ffi::lua_State) -> c_int {
    let job = &*(ffi::lua_touserdata(l, 1) as *const Job);
    let buf = std::slice::from_raw_parts(job.ptr, job.len);
    let mut pos = 0;
    if !push_value(l, buf, &mut pos, 0) {
        ffi::lua_pushnil(l);
    }
    1
}

/// `redis.call(...)` and `redis.pcall(...)`: runs the command and returns its
/// reply as a Lua value; `redis.call` raises an error reply instead. A C
/// function, so a script that tail-calls it keeps its frame (and the line its
/// errors name). Upvalues: [`push_protected`], and whether to raise.
pub(crate) unsafe extern "C-unwind" fn redis_call(l: *mut ffi::lua_State) -> c_int {
    let raise = ffi::lua_toboolean(l, ffi::lua_upvalueindex(2)) != 0;
    let (status, is_error) = {
        let reply = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| run_call(l)))
            .unwrap_or_else(|_| b"-ERR internal error running the command\r\n".to_vec());
        let job = Job {
            ptr: reply.as_ptr(),
            len: reply.len(),
        };
        ffi::lua_pushvalue(l, ffi::lua_upvalueindex(1));
        ffi::lua_pushlightuserdata(l, &job as *const Job as *mut c_void);
        let status = ffi::lua_pcall(l, 1, 1, 0);
        (status, reply.first() == Some(&b'-'))
    };
    if status != 0 || (raise && is_error) {
        ffi::lua_error(l);
    }
    1
}

/// `make_call(raise)`: builds `redis.call` (true) or `redis.pcall` (false).
pub(crate) unsafe extern "C-unwind" fn make_call(l: *mut ffi::lua_State) -> c_int {
    let raise = ffi::lua_toboolean(l, 1);
    ffi::lua_settop(l, 0);
    ffi::lua_pushcclosure(l, push_protected, 0);
    ffi::lua_pushboolean(l, raise);
    ffi::lua_pushcclosure(l, redis_call, 2);
    1
}

fn line(buf: &[u8], pos: &mut usize) -> Option<(usize, usize)> {
    let start = *pos;
    let rest = buf.get(start..)?;
    let end = rest.windows(2).position(|w| w == b"\r\n")?;
    *pos = start + end + 2;
    Some((start, start + end))
}

fn int(buf: &[u8], pos: &mut usize) -> Option<i64> {
    let (a, b) = line(buf, pos)?;
    std::str::from_utf8(&buf[a..b]).ok()?.parse().ok()
}

unsafe fn push_bytes(l: *mut ffi::lua_State, b: &[u8]) {
    ffi::lua_pushlstring_(l, b.as_ptr() as *const _, b.len());
}

/// `{key = <value on top>}`, replacing the value.
unsafe fn wrap(l: *mut ffi::lua_State, key: &std::ffi::CStr) {
    ffi::lua_createtable(l, 0, 1);
    ffi::lua_insert(l, -2);
    ffi::lua_setfield(l, -2, key.as_ptr());
}

/// Pushes one reply from `buf[*pos..]` as a Lua value by Redis's rules (see
/// `convert`); false (nothing pushed) on a malformed reply.
///
/// # Safety
/// Runs inside a protected call; owns nothing a Lua error could leak.
pub(crate) unsafe fn push_value(
    l: *mut ffi::lua_State,
    buf: &[u8],
    pos: &mut usize,
    depth: usize,
) -> bool {
    if depth > MAX_DEPTH || ffi::lua_checkstack(l, 4) == 0 {
        return false;
    }
    let Some(&kind) = buf.get(*pos) else {
        return false;
    };
    *pos += 1;
    match kind {
        b':' => match int(buf, pos) {
            Some(n) => ffi::lua_pushnumber(l, n as f64),
            None => return false,
        },
        b'$' => {
            let Some(n) = int(buf, pos) else { return false };
            if n < 0 {
                ffi::lua_pushboolean(l, 0);
            } else {
                let (a, b) = (*pos, *pos + n as usize);
                let Some(s) = buf.get(a..b) else { return false };
                push_bytes(l, s);
                *pos = b + 2;
            }
        }
        b'+' => {
            let Some((a, b)) = line(buf, pos) else {
                return false;
            };
            push_bytes(l, &buf[a..b]);
            wrap(l, c"ok");
        }
        b'-' => {
            // Redis's luaPushErrorBuff: the code, a space, the message.
            let Some((a, b)) = line(buf, pos) else {
                return false;
            };
            let s = &buf[a..b];
            if !s.contains(&b' ') {
                push_bytes(l, b"ERR ");
                push_bytes(l, s);
                ffi::lua_concat(l, 2);
            } else {
                push_bytes(l, s);
            }
            wrap(l, c"err");
        }
        b'*' | b'~' | b'%' => {
            let Some(n) = int(buf, pos) else { return false };
            if n < 0 {
                ffi::lua_pushboolean(l, 0);
                return true;
            }
            let n = n.min(i32::MAX as i64) as c_int;
            match kind {
                b'*' => {
                    ffi::lua_createtable(l, n, 0);
                    for i in 1..=n {
                        if !push_value(l, buf, pos, depth + 1) {
                            return false;
                        }
                        ffi::lua_rawseti_(l, -2, i);
                    }
                }
                b'~' => {
                    ffi::lua_createtable(l, 0, n);
                    for _ in 0..n {
                        if !push_value(l, buf, pos, depth + 1) {
                            return false;
                        }
                        ffi::lua_pushboolean(l, 1);
                        ffi::lua_rawset(l, -3);
                    }
                    wrap(l, c"set");
                }
                _ => {
                    ffi::lua_createtable(l, 0, n);
                    for _ in 0..n {
                        if !push_value(l, buf, pos, depth + 1)
                            || !push_value(l, buf, pos, depth + 1)
                        {
                            return false;
                        }
                        ffi::lua_rawset(l, -3);
                    }
                    wrap(l, c"map");
                }
            }
        }
        b'_' => {
            if line(buf, pos).is_none() {
                return false;
            }
            ffi::lua_pushnil(l);
        }
        b'#' => {
            let Some((a, b)) = line(buf, pos) else {
                return false;
            };
            ffi::lua_pushboolean(l, (&buf[a..b] == b"t") as c_int);
        }
        b',' => {
            let Some((a, b)) = line(buf, pos) else {
                return false;
            };
            let d = match &buf[a..b] {
                b"inf" => f64::INFINITY,
                b"-inf" => f64::NEG_INFINITY,
                s => match std::str::from_utf8(s).ok().and_then(|s| s.parse().ok()) {
                    Some(d) => d,
                    None => return false,
                },
            };
            ffi::lua_pushnumber(l, d);
            wrap(l, c"double");
        }
        b'(' => {
            let Some((a, b)) = line(buf, pos) else {
                return false;
            };
            push_bytes(l, &buf[a..b]);
            wrap(l, c"big_number");
        }
        b'=' => {
            let Some(n) = int(buf, pos) else { return false };
            let (a, b) = (*pos, *pos + n.max(0) as usize);
            let Some(s) = buf.get(a..b) else { return false };
            *pos = b + 2;
            let (format, text) = match s.get(3) {
                Some(b':') => (&s[..3], &s[4..]),
                _ => (&b"txt"[..], s),
            };
            ffi::lua_createtable(l, 0, 2);
            push_bytes(l, format);
            ffi::lua_setfield(l, -2, c"format".as_ptr());
            push_bytes(l, text);
            ffi::lua_setfield(l, -2, c"string".as_ptr());
            wrap(l, c"verbatim_string");
        }
        b'|' => {
            // Attributes are skipped; the reply follows them.
            let Some(n) = int(buf, pos) else { return false };
            for _ in 0..2 * n.max(0) {
                if !push_value(l, buf, pos, depth + 1) {
                    return false;
                }
                ffi::lua_settop(l, -2);
            }
            return push_value(l, buf, pos, depth + 1);
        }
        _ => return false,
    }
    true
}
