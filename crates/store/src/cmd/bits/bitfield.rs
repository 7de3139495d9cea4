//! BITFIELD and BITFIELD_RO: integer fields of 1..=64 bits (signed) or 1..=63 bits
//! (unsigned) at arbitrary bit offsets, with WRAP/SAT/FAIL overflow control.

use bytes::Bytes;

use super::{bit_offset, get_bit, string_for_bits};
use crate::cmd::string::read_str;
use crate::error::{CmdError, CmdResult};
use crate::exec::Exec;
use crate::util::{eq_ic, parse_i64};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Overflow {
    Wrap,
    Sat,
    Fail,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum OpKind {
    Get,
    Set,
    IncrBy,
}

#[derive(Clone, Copy, Debug)]
struct Op {
    kind: OpKind,
    signed: bool,
    bits: u32,
    offset: u64,
    value: i64,
    overflow: Overflow,
}

fn bad_type() -> CmdError {
    CmdError::msg(
        "ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.",
    )
}

/// `i1`..`i64` or `u1`..`u63`.
fn parse_type(arg: &[u8]) -> Result<(bool, u32), CmdError> {
    let signed = match arg.first() {
        Some(b'i' | b'I') => true,
        Some(b'u' | b'U') => false,
        _ => return Err(bad_type()),
    };
    let bits = parse_i64(&arg[1..]).ok_or_else(bad_type)?;
    let max = if signed { 64 } else { 63 };
    if !(1..=max).contains(&bits) {
        return Err(bad_type());
    }
    Ok((signed, bits as u32))
}

fn parse_ops(args: &[Bytes], readonly: bool, limit: u64) -> Result<Vec<Op>, CmdError> {
    let mut ops = Vec::new();
    let mut overflow = Overflow::Wrap;
    let mut j = 2;
    while j < args.len() {
        let rem = args.len() - j - 1;
        let sub = &args[j][..];
        let kind = if eq_ic(sub, "GET") && rem >= 2 {
            OpKind::Get
        } else if eq_ic(sub, "SET") && rem >= 3 {
            OpKind::Set
        } else if eq_ic(sub, "INCRBY") && rem >= 3 {
            OpKind::IncrBy
        } else if eq_ic(sub, "OVERFLOW") && rem >= 1 {
            let t = &args[j + 1][..];
            overflow = if eq_ic(t, "WRAP") {
                Overflow::Wrap
            } else if eq_ic(t, "SAT") {
                Overflow::Sat
            } else if eq_ic(t, "FAIL") {
                Overflow::Fail
            } else {
                return Err(CmdError::msg("ERR Invalid OVERFLOW type specified"));
            };
            j += 2;
            continue;
        } else {
            return Err(CmdError::Syntax);
        };
        let (signed, bits) = parse_type(&args[j + 1])?;
        let offset = bit_offset(&args[j + 2], Some(bits), limit)?;
        let mut value = 0;
        if kind != OpKind::Get {
            if readonly {
                return Err(CmdError::msg(
                    "ERR BITFIELD_RO only supports the GET subcommand",
                ));
            }
            value = parse_i64(&args[j + 3]).ok_or(CmdError::NotInteger)?;
        }
        ops.push(Op {
            kind,
            signed,
            bits,
            offset,
            value,
            overflow,
        });
        j += if kind == OpKind::Get { 3 } else { 4 };
    }
    Ok(ops)
}

fn get_unsigned(p: &[u8], offset: u64, bits: u32) -> u64 {
    (0..bits as u64).fold(0u64, |v, j| (v << 1) | get_bit(p, offset + j) as u64)
}

fn get_signed(p: &[u8], offset: u64, bits: u32) -> i64 {
    let v = get_unsigned(p, offset, bits);
    if bits < 64 && v & (1u64 << (bits - 1)) != 0 {
        (v | (u64::MAX << bits)) as i64
    } else {
        v as i64
    }
}

fn set_unsigned(p: &mut [u8], offset: u64, bits: u32, value: u64) {
    for j in 0..bits as u64 {
        let bit = ((value >> (bits as u64 - 1 - j)) & 1) as u8;
        let pos = offset + j;
        let (byte, shift) = ((pos >> 3) as usize, 7 - (pos & 7) as u8);
        if let Some(b) = p.get_mut(byte) {
            *b = (*b & !(1 << shift)) | (bit << shift);
        }
    }
}

/// Redis's `checkUnsignedBitfieldOverflow`: `Some(result)` when value + incr does
/// not fit in `bits` (the wrapped or saturated value; meaningless for FAIL).
fn unsigned_overflow(value: u64, incr: i64, bits: u32, ow: Overflow) -> Option<u64> {
    let max = if bits == 64 {
        u64::MAX
    } else {
        (1u64 << bits) - 1
    };
    let maxincr = max.wrapping_sub(value) as i64;
    let minincr = (value as i64).wrapping_neg();
    let wrap = || value.wrapping_add(incr as u64) & !(u64::MAX.checked_shl(bits).unwrap_or(0));
    if value > max || (incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Wrap { wrap() } else { max })
    } else if incr < 0 && incr < minincr {
        Some(if ow == Overflow::Wrap { wrap() } else { 0 })
    } else {
        None
    }
}

/// Redis's `checkSignedBitfieldOverflow`.
fn signed_overflow(value: i64, incr: i64, bits: u32, ow: Overflow) -> Option<i64> {
    let max = if bits == 64 {
        i64::MAX
    } else {
        (1i64 << (bits - 1)) - 1
    };
    let min = -max - 1;
    let maxincr = max.wrapping_sub(value);
    let minincr = min.wrapping_sub(value);
    let wrap = || {
        let mut c = (value as u64).wrapping_add(incr as u64);
        if bits < 64 {
            let mask = u64::MAX << bits;
            if c & (1u64 << (bits - 1)) != 0 {
                c |= mask;
            } else {
                c &= !mask;
            }
        }
        c as i64
    };
    if value > max || (bits != 64 && incr > maxincr) || (value >= 0 && incr > 0 && incr > maxincr) {
        Some(if ow == Overflow::Wrap { wrap() } else { max })
    } else if value < min
        || (bits != 64 && incr < minincr)
        || (value < 0 && incr < 0 && incr < minincr)
    {
        Some(if ow == Overflow::Wrap { wrap() } else { min })
    } else {
        None
    }
}

/// Applies a SET/INCRBY to `p`; returns the reply value, or `None` when the
/// overflow policy is FAIL and the field overflowed (nothing is written).
fn apply_write(p: &mut [u8], op: &Op) -> Option<i64> {
    if op.signed {
        let old = get_signed(p, op.offset, op.bits);
        let (new, ret, of) = if op.kind == OpKind::IncrBy {
            let of = signed_overflow(old, op.value, op.bits, op.overflow);
            let new = of.unwrap_or(old.wrapping_add(op.value));
            (new, new, of.is_some())
        } else {
            let of = signed_overflow(op.value, 0, op.bits, op.overflow);
            (of.unwrap_or(op.value), old, of.is_some())
        };
        if of && op.overflow == Overflow::Fail {
            return None;
        }
        set_unsigned(p, op.offset, op.bits, new as u64);
        Some(ret)
    } else {
        let old = get_unsigned(p, op.offset, op.bits);
        let (new, ret, of) = if op.kind == OpKind::IncrBy {
            let of = unsigned_overflow(old, op.value, op.bits, op.overflow);
            let new = of.unwrap_or(old.wrapping_add(op.value as u64));
            (new, new, of.is_some())
        } else {
            let of = unsigned_overflow(op.value as u64, 0, op.bits, op.overflow);
            (of.unwrap_or(op.value as u64), old, of.is_some())
        };
        if of && op.overflow == Overflow::Fail {
            return None;
        }
        set_unsigned(p, op.offset, op.bits, new);
        Some(ret as i64)
    }
}

fn read_field(p: &[u8], op: &Op) -> i64 {
    if op.signed {
        get_signed(p, op.offset, op.bits)
    } else {
        get_unsigned(p, op.offset, op.bits) as i64
    }
}

fn generic(exec: &mut Exec<'_>, args: &[Bytes], readonly: bool) -> CmdResult {
    let key = &args[1];
    let ops = parse_ops(args, readonly, exec.max_string())?;
    let maxbit = ops
        .iter()
        .filter(|o| o.kind != OpKind::Get)
        .map(|o| o.offset + o.bits as u64 - 1)
        .max();
    let Some(maxbit) = maxbit else {
        // Only GETs: read without creating the key; missing bytes read as zero.
        let s = read_str(exec.store, exec.db, exec.now, key)?;
        let p = s.map(|s| s.to_vec()).unwrap_or_default();
        exec.out.array(ops.len());
        for op in &ops {
            exec.out.int(read_field(&p, op));
        }
        return Ok(());
    };
    let p = string_for_bits(exec, key, maxbit)?;
    let mut replies: Vec<Option<i64>> = Vec::with_capacity(ops.len());
    let mut changes = 0;
    for op in &ops {
        if op.kind == OpKind::Get {
            replies.push(Some(read_field(p, op)));
        } else {
            replies.push(apply_write(p, op));
            changes += 1;
        }
    }
    exec.store.touch(exec.db, key);
    exec.dirty(changes);
    exec.out.array(replies.len());
    for r in replies {
        match r {
            Some(v) => exec.out.int(v),
            None => exec.out.null(),
        }
    }
    Ok(())
}

pub fn bitfield(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    generic(exec, args, false)
}

pub fn bitfield_ro(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    generic(exec, args, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overflow_rules() {
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Wrap), Some(4));
        assert_eq!(unsigned_overflow(250, 10, 8, Overflow::Sat), Some(255));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Sat), Some(0));
        assert_eq!(unsigned_overflow(5, -10, 8, Overflow::Wrap), Some(251));
        assert_eq!(unsigned_overflow(u64::MAX, 0, 8, Overflow::Wrap), Some(255));
        assert_eq!(unsigned_overflow(5, 10, 8, Overflow::Wrap), None);
        assert_eq!(signed_overflow(120, 10, 8, Overflow::Wrap), Some(-126));
        assert_eq!(signed_overflow(120, 10, 8, Overflow::Sat), Some(127));
        assert_eq!(signed_overflow(-120, -10, 8, Overflow::Sat), Some(-128));
        assert_eq!(
            signed_overflow(i64::MAX, 1, 64, Overflow::Wrap),
            Some(i64::MIN)
        );
        assert_eq!(signed_overflow(i64::MIN, 0, 64, Overflow::Wrap), None);
        assert_eq!(signed_overflow(1, 1, 64, Overflow::Wrap), None);
    }
}
