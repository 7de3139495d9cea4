//! HyperLogLog commands: PFADD, PFCOUNT, PFMERGE.
//!
//! Values are Redis-compatible HLL strings: a 16-byte header (`HYLL`, encoding
//! byte, 3 reserved bytes, 8-byte little-endian cached cardinality whose top bit
//! marks it stale) followed by registers. The dense encoding (16384 six-bit
//! registers, packed least significant bit first) and the hash (MurmurHash64A,
//! seed 0xadc83b19) and estimator (Ertl's improved estimator, as Redis 7.0) are the
//! same as Redis, so dense values and counts are bit-for-bit identical.
//!
//! Small HLLs use Redis's sparse encoding (ZERO / XZERO / VAL opcodes), updated
//! exactly as Redis's `hllSparseSet` does (same opcode splits, same merge window,
//! promotion to dense past 3000 bytes or for a register above 32), so sparse values
//! are byte-identical too.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::types::string::Str;
use crate::util::eq_ic;
use crate::value::Value;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("pfadd", pfadd),
    ("pfcount", pfcount),
    ("pfmerge", pfmerge),
    ("pfdebug", pfdebug),
    ("pfselftest", pfselftest),
];

const P: u32 = 14;
const Q: u32 = 64 - P;
const REGISTERS: usize = 1 << P;
const HDR: usize = 16;
const DENSE_SIZE: usize = HDR + (REGISTERS * 6).div_ceil(8);
const ENC_DENSE: u8 = 0;
const ENC_SPARSE: u8 = 1;
const ALPHA_INF: f64 = 0.721_347_520_444_481_7;

fn not_hll() -> CmdError {
    CmdError::msg("WRONGTYPE Key is not a valid HyperLogLog string value.")
}

fn corrupted() -> CmdError {
    CmdError::msg("INVALIDOBJ Corrupted HLL object detected")
}

/// MurmurHash64A as Redis uses it for HLL (little-endian block reads).
pub fn murmur64a(data: &[u8], seed: u64) -> u64 {
    const M: u64 = 0xc6a4_a793_5bd1_e995;
    const R: u32 = 47;
    let mut h = seed ^ (data.len() as u64).wrapping_mul(M);
    let mut chunks = data.chunks_exact(8);
    for c in &mut chunks {
        let mut k = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        k = k.wrapping_mul(M);
        k ^= k >> R;
        k = k.wrapping_mul(M);
        h ^= k;
        h = h.wrapping_mul(M);
    }
    let rest = chunks.remainder();
    if !rest.is_empty() {
        for (i, &b) in rest.iter().enumerate() {
            h ^= (b as u64) << (8 * i);
        }
        h = h.wrapping_mul(M);
    }
    h ^= h >> R;
    h = h.wrapping_mul(M);
    h ^= h >> R;
    h
}

/// The register an element maps to and the run length of its hash (1..=Q+1).
fn pat_len(ele: &[u8]) -> (usize, u8) {
    let hash = murmur64a(ele, 0xadc8_3b19);
    let index = (hash & (REGISTERS as u64 - 1)) as usize;
    let rest = (hash >> P) | (1u64 << Q);
    (index, rest.trailing_zeros() as u8 + 1)
}

fn dense_get(regs: &[u8], i: usize) -> u8 {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let b0 = regs[byte] as u32;
    let b1 = regs.get(byte + 1).copied().unwrap_or(0) as u32;
    (((b0 >> fb) | (b1 << (8 - fb))) & 63) as u8
}

fn dense_set(regs: &mut [u8], i: usize, val: u8) {
    let byte = i * 6 / 8;
    let fb = (i * 6) & 7;
    let v = val as u32;
    regs[byte] &= !((63u32 << fb) as u8);
    regs[byte] |= (v << fb) as u8;
    if let Some(b) = regs.get_mut(byte + 1) {
        *b &= !((63u32 >> (8 - fb)) as u8);
        *b |= (v >> (8 - fb)) as u8;
    }
}

/// Redis's `isHLLObjectOrReply`: a raw string with the magic, a known encoding, and
/// the exact dense size if dense.
fn check_hll(s: &Str) -> Result<&[u8], CmdError> {
    let Ok(b) = s.stored() else {
        return Err(not_hll());
    };
    if b.len() < HDR || &b[..4] != b"HYLL" || b[4] > ENC_SPARSE {
        return Err(not_hll());
    }
    if b[4] == ENC_DENSE && b.len() != DENSE_SIZE {
        return Err(not_hll());
    }
    Ok(b)
}

/// All register values of a (checked) HLL string.
fn registers(b: &[u8]) -> Result<Vec<u8>, CmdError> {
    let regs = &b[HDR..];
    if b[4] == ENC_DENSE {
        return Ok((0..REGISTERS).map(|i| dense_get(regs, i)).collect());
    }
    let mut out = Vec::with_capacity(REGISTERS);
    let mut p = 0;
    while p < regs.len() {
        let op = regs[p];
        let (val, run, step) = if op & 0xC0 == 0x00 {
            (0, (op & 0x3F) as usize + 1, 1)
        } else if op & 0xC0 == 0x40 {
            let lo = *regs.get(p + 1).ok_or_else(corrupted)? as usize;
            (0, (((op & 0x3F) as usize) << 8 | lo) + 1, 2)
        } else {
            (((op >> 2) & 0x1F) + 1, (op & 0x03) as usize + 1, 1)
        };
        if out.len() + run > REGISTERS {
            return Err(corrupted());
        }
        out.extend(std::iter::repeat_n(val, run));
        p += step;
    }
    if out.len() != REGISTERS {
        return Err(corrupted());
    }
    Ok(out)
}

/// An empty HLL as Redis creates it: sparse, one XZERO opcode covering every register.
fn new_sparse() -> Vec<u8> {
    let mut v = Vec::with_capacity(HDR + 2);
    v.extend_from_slice(b"HYLL");
    v.push(ENC_SPARSE);
    v.extend_from_slice(&[0; 11]);
    let n = REGISTERS - 1;
    v.push(0x40 | (n >> 8) as u8);
    v.push((n & 0xFF) as u8);
    v
}

/// A dense HLL string with the given registers; the header (cache) is kept from `hdr`.
fn to_dense(hdr: &[u8], regs: &[u8]) -> Vec<u8> {
    let mut v = vec![0u8; DENSE_SIZE];
    v[..HDR].copy_from_slice(&hdr[..HDR]);
    v[4] = ENC_DENSE;
    for (i, &r) in regs.iter().enumerate() {
        if r != 0 {
            dense_set(&mut v[HDR..], i, r);
        }
    }
    v
}

/// Raises register `index` to `count` if lower, in either encoding; returns whether
/// it changed. A sparse value may be promoted to dense.
fn set_register(buf: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, CmdError> {
    if buf[4] == ENC_DENSE {
        let regs = &mut buf[HDR..];
        if count > dense_get(regs, index) {
            dense_set(regs, index, count);
            return Ok(true);
        }
        return Ok(false);
    }
    sparse_set(buf, index, count)
}

const SPARSE_MAX_BYTES: usize = 3000;
const SPARSE_VAL_MAX: u8 = 32;

fn is_zero(op: u8) -> bool {
    op & 0xC0 == 0
}
fn is_xzero(op: u8) -> bool {
    op & 0xC0 == 0x40
}
fn is_val(op: u8) -> bool {
    op & 0x80 != 0
}
fn val_value(op: u8) -> u8 {
    ((op >> 2) & 0x1F) + 1
}
fn val_len(op: u8) -> usize {
    (op & 0x03) as usize + 1
}
fn val_op(val: u8, len: usize) -> u8 {
    0x80 | ((val - 1) << 2) | (len as u8 - 1)
}

/// A run of `len` zero registers as ZERO (up to 64) or XZERO.
fn push_zeros(seq: &mut Vec<u8>, len: usize) {
    if len > 64 {
        seq.push(0x40 | ((len - 1) >> 8) as u8);
        seq.push(((len - 1) & 0xFF) as u8);
    } else {
        seq.push((len - 1) as u8);
    }
}

/// Redis's `hllSparseSet`: split the opcode covering `index`, then merge adjacent
/// equal VAL opcodes in a window of five opcodes starting at the previous one.
fn sparse_set(buf: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, CmdError> {
    if count > SPARSE_VAL_MAX {
        return promote(buf, index, count);
    }
    let end = buf.len();
    let (mut p, mut first, mut span, mut prev) = (HDR, 0usize, 0usize, None);
    while p < end {
        let op = buf[p];
        let (s, oplen) = if is_zero(op) {
            ((op & 0x3F) as usize + 1, 1)
        } else if is_val(op) {
            (val_len(op), 1)
        } else {
            let lo = *buf.get(p + 1).ok_or_else(corrupted)? as usize;
            ((((op & 0x3F) as usize) << 8 | lo) + 1, 2)
        };
        span = s;
        if index < first + span {
            break;
        }
        prev = Some(p);
        p += oplen;
        first += span;
    }
    if span == 0 || p >= end {
        return Err(corrupted());
    }
    let op = buf[p];
    let in_place = if is_val(op) {
        if val_value(op) >= count {
            return Ok(false);
        }
        val_len(op) == 1
    } else {
        is_zero(op) && (op & 0x3F) == 0
    };
    if in_place {
        buf[p] = val_op(count, 1);
    } else {
        let last = first + span - 1;
        let mut seq = Vec::with_capacity(5);
        if is_val(op) {
            let cur = val_value(op);
            if index != first {
                seq.push(val_op(cur, index - first));
            }
            seq.push(val_op(count, 1));
            if index != last {
                seq.push(val_op(cur, last - index));
            }
        } else {
            if index != first {
                push_zeros(&mut seq, index - first);
            }
            seq.push(val_op(count, 1));
            if index != last {
                push_zeros(&mut seq, last - index);
            }
        }
        let oldlen = if is_xzero(op) { 2 } else { 1 };
        if seq.len() > oldlen && buf.len() + seq.len() - oldlen > SPARSE_MAX_BYTES {
            return promote(buf, index, count);
        }
        buf.splice(p..p + oldlen, seq);
    }
    let mut p = prev.unwrap_or(HDR);
    let mut end = buf.len();
    let mut scan = 5;
    while p < end && scan > 0 {
        scan -= 1;
        let op = buf[p];
        if is_xzero(op) {
            p += 2;
            continue;
        }
        if is_zero(op) {
            p += 1;
            continue;
        }
        if p + 1 < end && is_val(buf[p + 1]) {
            let next = buf[p + 1];
            let len = val_len(op) + val_len(next);
            if val_value(op) == val_value(next) && len <= 4 {
                buf[p + 1] = val_op(val_value(op), len);
                buf.remove(p);
                end -= 1;
                // Retry at the same place: the merged opcode may merge again.
                continue;
            }
        }
        p += 1;
    }
    buf[15] |= 0x80;
    Ok(true)
}

/// Converts a sparse HLL to dense and sets the register (which is being raised).
fn promote(buf: &mut Vec<u8>, index: usize, count: u8) -> Result<bool, CmdError> {
    let regs = registers(buf)?;
    *buf = to_dense(buf, &regs);
    dense_set(&mut buf[HDR..], index, count);
    Ok(true)
}

fn sigma(mut x: f64) -> f64 {
    if x == 1.0 {
        return f64::INFINITY;
    }
    let mut y = 1.0;
    let mut z = x;
    loop {
        x *= x;
        let zp = z;
        z += x * y;
        y += y;
        if zp == z {
            return z;
        }
    }
}

fn tau(mut x: f64) -> f64 {
    if x == 0.0 || x == 1.0 {
        return 0.0;
    }
    let mut y = 1.0;
    let mut z = 1.0 - x;
    loop {
        x = x.sqrt();
        let zp = z;
        y *= 0.5;
        z -= (1.0 - x).powi(2) * y;
        if zp == z {
            return z / 3.0;
        }
    }
}

/// Redis 7.0's `hllCount` over register values.
fn estimate(regs: &[u8]) -> u64 {
    let mut histo = [0u32; 64];
    for &r in regs {
        histo[r as usize & 63] += 1;
    }
    let m = REGISTERS as f64;
    let mut z = m * tau((m - histo[Q as usize + 1] as f64) / m);
    for j in (1..=Q as usize).rev() {
        z += histo[j] as f64;
        z *= 0.5;
    }
    z += m * sigma(histo[0] as f64 / m);
    (ALPHA_INF * m * m / z).round() as u64
}

fn pfadd(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let key = &args[1];
    let (mut buf, created) = match exec.store.lookup_write(exec.db, key, exec.now) {
        None => (new_sparse(), true),
        Some(Value::Str(s)) => (check_hll(s)?.to_vec(), false),
        Some(_) => return Err(CmdError::WrongType),
    };
    let mut updated = u64::from(created);
    for e in &args[2..] {
        let (i, c) = pat_len(e);
        if set_register(&mut buf, i, c)? {
            updated += 1;
        }
    }
    if updated > 0 {
        buf[15] |= 0x80;
        exec.store
            .set_key(exec.db, key, Value::Str(Str::Raw(buf)), true, exec.now);
        exec.dirty(updated);
    }
    exec.out.int(i64::from(updated > 0));
    Ok(())
}

fn pfcount(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() > 2 {
        let mut max = vec![0u8; REGISTERS];
        for key in &args[1..] {
            match exec.store.lookup_read(exec.db, key, exec.now) {
                None => continue,
                Some(Value::Str(s)) => {
                    let regs = registers(check_hll(s)?)?;
                    for (m, r) in max.iter_mut().zip(regs) {
                        *m = (*m).max(r);
                    }
                }
                Some(_) => return Err(CmdError::WrongType),
            }
        }
        exec.out.int(estimate(&max) as i64);
        return Ok(());
    }
    let key = &args[1];
    let card = match exec.store.lookup_write(exec.db, key, exec.now) {
        None => 0,
        Some(Value::Str(s)) => {
            let b = check_hll(s)?;
            if b[15] & 0x80 == 0 {
                let mut c = [0u8; 8];
                c.copy_from_slice(&b[8..16]);
                u64::from_le_bytes(c)
            } else {
                let card = estimate(&registers(b)?);
                // Caching the count changes the string, so it is a write (as Redis).
                s.make_raw()[8..16].copy_from_slice(&card.to_le_bytes());
                exec.store.touch(exec.db, key);
                exec.dirty(1);
                card
            }
        }
        Some(_) => return Err(CmdError::WrongType),
    };
    exec.out.int(card as i64);
    Ok(())
}

fn pfmerge(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let mut max = vec![0u8; REGISTERS];
    let mut use_dense = false;
    for key in &args[1..] {
        match exec.store.lookup_read(exec.db, key, exec.now) {
            None => continue,
            Some(Value::Str(s)) => {
                let b = check_hll(s)?;
                use_dense |= b[4] == ENC_DENSE;
                for (m, r) in max.iter_mut().zip(registers(b)?) {
                    *m = (*m).max(r);
                }
            }
            Some(_) => return Err(CmdError::WrongType),
        }
    }
    let dest = &args[1];
    let mut buf = match exec.store.lookup_write(exec.db, dest, exec.now) {
        Some(Value::Str(s)) => s.to_vec(),
        _ => new_sparse(),
    };
    // The destination's registers are part of `max` already. As Redis: dense if any
    // input was dense, otherwise register-by-register sparse updates.
    if use_dense || buf[4] == ENC_DENSE {
        buf = to_dense(&buf, &max);
    } else {
        for (i, &m) in max.iter().enumerate() {
            if m != 0 {
                set_register(&mut buf, i, m)?;
            }
        }
    }
    buf[15] |= 0x80;
    exec.store
        .set_key(exec.db, dest, Value::Str(Str::Raw(buf)), true, exec.now);
    exec.dirty(1);
    exec.out.ok();
    Ok(())
}

/// PFDEBUG GETREG|DECODE|ENCODING|TODENSE key (Redis's internal debugging command).
fn pfdebug(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let (sub, key) = (&args[1], &args[2]);
    let mut buf = match exec.store.lookup_write(exec.db, key, exec.now) {
        None => return Err(CmdError::msg("ERR The specified key does not exist")),
        Some(Value::Str(s)) => check_hll(s)?.to_vec(),
        Some(_) => return Err(CmdError::WrongType),
    };
    let sparse = buf[4] == ENC_SPARSE;
    let getreg = eq_ic(sub, "GETREG");
    if getreg || eq_ic(sub, "TODENSE") {
        if sparse {
            buf = to_dense(&buf, &registers(&buf)?);
            exec.store.set_key(
                exec.db,
                key,
                Value::Str(Str::Raw(buf.clone())),
                true,
                exec.now,
            );
            exec.dirty(1);
        }
        if getreg {
            exec.out.array(REGISTERS);
            for i in 0..REGISTERS {
                exec.out.int(dense_get(&buf[HDR..], i) as i64);
            }
        } else {
            exec.out.int(i64::from(sparse));
        }
    } else if eq_ic(sub, "DECODE") {
        if !sparse {
            return Err(CmdError::msg("ERR HLL encoding is not sparse"));
        }
        let mut parts = Vec::new();
        let mut p = HDR;
        while p < buf.len() {
            let op = buf[p];
            if is_zero(op) {
                parts.push(format!("z:{}", (op & 0x3F) as usize + 1));
                p += 1;
            } else if is_xzero(op) {
                let lo = buf.get(p + 1).copied().unwrap_or(0) as usize;
                parts.push(format!("Z:{}", (((op & 0x3F) as usize) << 8 | lo) + 1));
                p += 2;
            } else {
                parts.push(format!("v:{},{}", val_value(op), val_len(op)));
                p += 1;
            }
        }
        exec.out.bulk(parts.join(" ").as_bytes());
    } else if eq_ic(sub, "ENCODING") {
        exec.out.simple(if sparse { "sparse" } else { "dense" });
    } else {
        return Err(CmdError::msg(format!(
            "ERR Unknown PFDEBUG subcommand '{}'",
            tandem_resp::c_str(sub)
        )));
    }
    Ok(())
}

/// PFSELFTEST: checks register packing and the estimator's error bound on a
/// generated set, replying OK as Redis does when its own self test passes.
fn pfselftest(exec: &mut Exec<'_>, _args: &[Bytes]) -> CmdResult {
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    for i in 0..REGISTERS {
        let v = (i % 64) as u8;
        dense_set(&mut regs, i, v);
        if dense_get(&regs, i) != v {
            return Err(CmdError::msg("ERR TESTFAILED Register error"));
        }
    }
    let mut max = vec![0u8; REGISTERS];
    for n in 0..100_000u32 {
        let (i, c) = pat_len(&n.to_le_bytes());
        max[i] = max[i].max(c);
    }
    let est = estimate(&max) as f64;
    // 5 standard errors of 1.04/sqrt(16384).
    if (est - 100_000.0).abs() / 100_000.0 > 5.0 * 0.0081 {
        return Err(CmdError::msg("ERR TESTFAILED Too big error"));
    }
    exec.out.ok();
    Ok(())
}

#[cfg(test)]
mod tests;
