//! Bit commands on string values: SETBIT, GETBIT, BITCOUNT, BITPOS, BITOP, and
//! BITFIELD/BITFIELD_RO (in [`bitfield`]). Bits are numbered from the most
//! significant bit of the first byte, as Redis does.

use bytes::Bytes;

use crate::cmd::string::{read_str, write_str};
use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::types::string::Str;
use crate::util::{eq_ic, parse_i64};
use crate::value::Value;

pub mod bitfield;
#[cfg(test)]
mod tests;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("setbit", setbit),
    ("getbit", getbit),
    ("bitcount", bitcount),
    ("bitpos", bitpos),
    ("bitop", bitop),
    ("bitfield", bitfield::bitfield),
    ("bitfield_ro", bitfield::bitfield_ro),
];

pub(crate) fn bad_offset() -> CmdError {
    CmdError::msg("ERR bit offset is not an integer or out of range")
}

/// Redis's `getBitOffsetFromArgument`: a bit offset below 2^32 (512MB of bits);
/// with `hash_bits`, `#N` means N * bits (BITFIELD).
pub(crate) fn bit_offset(arg: &[u8], hash_bits: Option<u32>, limit: u64) -> Result<u64, CmdError> {
    let (digits, mul) = match (hash_bits, arg.first()) {
        (Some(bits), Some(b'#')) => (&arg[1..], bits as i64),
        _ => (arg, 1),
    };
    let off = parse_i64(digits)
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(bad_offset)?;
    if off < 0 || (off as u64 >> 3) >= limit {
        return Err(bad_offset());
    }
    Ok(off as u64)
}

/// Redis's `lookupStringForBitCommand`: the string at `key`, created or zero-padded
/// so that bit `maxbit` exists, converted to an editable (raw) string.
pub(crate) fn string_for_bits<'a>(
    exec: &'a mut Exec<'_>,
    key: &[u8],
    maxbit: u64,
) -> Result<&'a mut Vec<u8>, CmdError> {
    let need = (maxbit >> 3) as usize + 1;
    if write_str(exec.store, exec.db, exec.now, key)?.is_none() {
        let v = Value::Str(Str::Raw(vec![0; need]));
        exec.store.set_key(exec.db, key, v, false, exec.now);
    }
    match exec.store.lookup_write(exec.db, key, exec.now) {
        Some(Value::Str(s)) => {
            let raw = s.make_raw();
            if raw.len() < need {
                raw.resize(need, 0);
            }
            Ok(raw)
        }
        // The key was just checked or created as a string.
        _ => Err(CmdError::WrongType),
    }
}

#[inline]
pub(crate) fn get_bit(p: &[u8], bit: u64) -> u8 {
    match p.get((bit >> 3) as usize) {
        Some(b) => (b >> (7 - (bit & 7))) & 1,
        None => 0,
    }
}

fn setbit(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let off = bit_offset(&args[2], None, exec.max_string())?;
    let on = match parse_i64(&args[3]) {
        Some(v @ (0 | 1)) => v as u8,
        _ => return Err(CmdError::msg("ERR bit is not an integer or out of range")),
    };
    let byte = (off >> 3) as usize;
    // Redis 7.0 counts a change (WATCH, dirty, propagation) only when the key is
    // created or grown or the bit really flips.
    let grew = match write_str(exec.store, exec.db, exec.now, key)? {
        None => true,
        Some(s) => s.len() <= byte,
    };
    let raw = string_for_bits(exec, key, off)?;
    let shift = 7 - (off & 7) as u8;
    let old = (raw[byte] >> shift) & 1;
    if grew || old != on {
        raw[byte] = (raw[byte] & !(1 << shift)) | (on << shift);
        exec.store.touch(exec.db, key);
        exec.dirty(1);
    }
    exec.out.int(old as i64);
    Ok(())
}

fn getbit(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let off = bit_offset(&args[2], None, exec.max_string())?;
    let bit = match read_str(exec.store, exec.db, exec.now, &args[1])? {
        Some(s) => match s.stored() {
            Ok(b) => get_bit(b, off),
            Err(n) => get_bit(itoa::Buffer::new().format(n).as_bytes(), off),
        },
        None => 0,
    };
    exec.out.int(bit as i64);
    Ok(())
}

/// Resolves a BITCOUNT/BITPOS range over `len` units (bytes or bits) as Redis does;
/// `None` when it selects nothing.
fn resolve_range(mut start: i64, mut end: i64, len: i64) -> (i64, i64) {
    if start < 0 {
        start = len.saturating_add(start);
    }
    if end < 0 {
        end = len.saturating_add(end);
    }
    start = start.max(0);
    end = end.max(0);
    if end >= len {
        end = len - 1;
    }
    (start, end)
}

fn bitcount(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    // Redis 7.0 looks the key up before parsing the range: a missing key is 0 even
    // with bad arguments.
    let Some(s) = read_str(exec.store, exec.db, exec.now, &args[1])? else {
        exec.out.int(0);
        return Ok(());
    };
    let p = s.as_bytes();
    let (start_bit, end_bit) = match args.len() {
        2 => (0i64, p.len() as i64 * 8 - 1),
        4 | 5 => {
            let start = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
            let end = parse_i64(&args[3]).ok_or(CmdError::NotInteger)?;
            let isbit = match args.get(4) {
                None => false,
                Some(a) if eq_ic(a, "BIT") => true,
                Some(a) if eq_ic(a, "BYTE") => false,
                Some(_) => return Err(CmdError::Syntax),
            };
            if start < 0 && end < 0 && start > end {
                exec.out.int(0);
                return Ok(());
            }
            let len = p.len() as i64 * if isbit { 8 } else { 1 };
            let (s, e) = resolve_range(start, end, len);
            if s > e {
                // `start` is not clamped from above; nothing is selected.
                (1, 0)
            } else if isbit {
                (s, e)
            } else {
                (s * 8, e * 8 + 7)
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    let n = if start_bit > end_bit {
        0
    } else {
        count_bits(&p, start_bit as u64, end_bit as u64)
    };
    exec.out.int(n as i64);
    Ok(())
}

/// Number of set bits in the inclusive bit range.
fn count_bits(p: &[u8], s: u64, e: u64) -> u64 {
    let (sb, eb) = ((s >> 3) as usize, (e >> 3) as usize);
    let mut n: u64 = p[sb..=eb].iter().map(|b| b.count_ones() as u64).sum();
    // Take off the bits of the first and last bytes outside the range.
    let head_mask = !(0xFFu8 >> (s & 7));
    let tail_mask = 0xFFu8.checked_shr((e & 7) as u32 + 1).unwrap_or(0);
    n -= (p[sb] & head_mask).count_ones() as u64;
    n -= (p[eb] & tail_mask).count_ones() as u64;
    n
}

/// The first bit equal to `bit` in the inclusive bit range.
fn find_bit(p: &[u8], s: u64, e: u64, bit: u8) -> Option<u64> {
    let skip = if bit == 1 { 0x00 } else { 0xFF };
    let mut b = s;
    while b <= e {
        if b & 7 == 0 && b + 7 <= e && p[(b >> 3) as usize] == skip {
            b += 8;
            continue;
        }
        if get_bit(p, b) == bit {
            return Some(b);
        }
        b += 1;
    }
    None
}

fn bitpos(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let bit = match parse_i64(&args[2]).ok_or(CmdError::NotInteger)? {
        b @ (0 | 1) => b as u8,
        _ => return Err(CmdError::msg("ERR The bit argument must be 1 or 0.")),
    };
    let Some(s) = read_str(exec.store, exec.db, exec.now, &args[1])? else {
        exec.out.int(if bit == 1 { -1 } else { 0 });
        return Ok(());
    };
    let p = s.as_bytes();
    let strlen = p.len() as i64;
    let mut end_given = false;
    let (start_bit, end_bit) = match args.len() {
        3 => (0, strlen * 8 - 1),
        4..=6 => {
            let start = parse_i64(&args[3]).ok_or(CmdError::NotInteger)?;
            let isbit = match args.get(5) {
                None => false,
                Some(a) if eq_ic(a, "BIT") => true,
                Some(a) if eq_ic(a, "BYTE") => false,
                Some(_) => return Err(CmdError::Syntax),
            };
            let len = if isbit { strlen * 8 } else { strlen };
            let end = match args.get(4) {
                Some(a) => {
                    end_given = true;
                    parse_i64(a).ok_or(CmdError::NotInteger)?
                }
                None => len - 1,
            };
            let (s, e) = resolve_range(start, end, len);
            if s > e {
                exec.out.int(-1);
                return Ok(());
            }
            if isbit {
                (s, e)
            } else {
                (s * 8, e * 8 + 7)
            }
        }
        _ => return Err(CmdError::Syntax),
    };
    if start_bit > end_bit {
        exec.out.int(-1);
        return Ok(());
    }
    let pos = match find_bit(&p, start_bit as u64, end_bit as u64, bit) {
        Some(b) => b as i64,
        // Looking for a clear bit past the end of the string: Redis treats the
        // string as zero padded on the right unless an explicit end was given.
        None if bit == 0 && !end_given => (end_bit / 8 + 1) * 8,
        None => -1,
    };
    exec.out.int(pos);
    Ok(())
}

fn bitop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    #[derive(PartialEq)]
    enum Op {
        And,
        Or,
        Xor,
        Not,
    }
    let op = &args[1];
    let op = if eq_ic(op, "AND") {
        Op::And
    } else if eq_ic(op, "OR") {
        Op::Or
    } else if eq_ic(op, "XOR") {
        Op::Xor
    } else if eq_ic(op, "NOT") {
        Op::Not
    } else {
        return Err(CmdError::Syntax);
    };
    if op == Op::Not && args.len() != 4 {
        return Err(CmdError::msg(
            "ERR BITOP NOT must be called with a single source key.",
        ));
    }
    let dest = &args[2];
    let mut srcs: Vec<Vec<u8>> = Vec::with_capacity(args.len() - 3);
    for key in &args[3..] {
        // A missing key is an empty string (all zero bits).
        srcs.push(match read_str(exec.store, exec.db, exec.now, key)? {
            Some(s) => s.to_vec(),
            None => Vec::new(),
        });
    }
    let maxlen = srcs.iter().map(Vec::len).max().unwrap_or(0);
    let mut res = vec![0u8; maxlen];
    for (i, out) in res.iter_mut().enumerate() {
        let byte = |s: &Vec<u8>| s.get(i).copied().unwrap_or(0);
        let mut it = srcs.iter().map(byte);
        let first = it.next().unwrap_or(0);
        *out = match op {
            Op::And => it.fold(first, |a, b| a & b),
            Op::Or => it.fold(first, |a, b| a | b),
            Op::Xor => it.fold(first, |a, b| a ^ b),
            Op::Not => !first,
        };
    }
    if maxlen > 0 {
        exec.store
            .set_key(exec.db, dest, Value::Str(Str::Raw(res)), false, exec.now);
        exec.dirty(1);
    } else if exec.store.delete_key(exec.db, dest) {
        exec.dirty(1);
    }
    exec.out.int(maxlen as i64);
    Ok(())
}
