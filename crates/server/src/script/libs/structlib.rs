//! `struct`: Roberto Ierusalimschy's struct library as Redis bundles it.

use super::*;

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

pub(super) fn struct_lib(lua: &Lua) -> mlua::Result<Table> {
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

#[cfg(test)]
#[path = "structlib_tests.rs"]
mod tests;
