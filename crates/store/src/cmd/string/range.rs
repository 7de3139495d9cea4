//! APPEND, STRLEN, GETRANGE/SUBSTR, SETRANGE and LCS.

use bytes::Bytes;

use super::{read_str, write_str};
use crate::error::{CmdError, CmdResult};
use crate::exec::Exec;
use crate::types::string::Str;
use crate::util::{eq_ic, parse_i64};
use crate::value::Value;

fn too_big() -> CmdError {
    CmdError::msg("ERR string exceeds maximum allowed size (proto-max-bulk-len)")
}

/// Redis's `checkStringLength`: `size + append` must fit the bulk length limit.
pub(crate) fn check_len(limit: u64, size: u64, append: u64) -> Result<(), CmdError> {
    match size.checked_add(append) {
        Some(t) if t <= limit => Ok(()),
        _ => Err(too_big()),
    }
}

pub fn append(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let limit = exec.max_string();
    let (key, val) = (&args[1], &args[2]);
    let len = match write_str(exec.store, exec.db, exec.now, key)? {
        None => {
            // A new key is stored as SET would store it (int/embstr).
            let v = Value::Str(Str::from_bytes(val));
            exec.store.set_key(exec.db, key, v, false, exec.now);
            val.len()
        }
        Some(s) => {
            check_len(limit, s.len() as u64, val.len() as u64)?;
            let raw = s.make_raw();
            raw.extend_from_slice(val);
            let n = raw.len();
            exec.store.touch(exec.db, key);
            n
        }
    };
    exec.dirty(1);
    exec.out.int(len as i64);
    Ok(())
}

pub fn strlen(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let n = read_str(exec.store, exec.db, exec.now, &args[1])?.map_or(0, |s| s.len());
    exec.out.int(n as i64);
    Ok(())
}

pub fn getrange(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let start = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    let end = parse_i64(&args[3]).ok_or(CmdError::NotInteger)?;
    let Some(s) = read_str(exec.store, exec.db, exec.now, &args[1])? else {
        exec.out.bulk(b"");
        return Ok(());
    };
    let bytes = s.as_bytes();
    match clamp_range(start, end, bytes.len()) {
        Some((a, b)) => exec.out.bulk(&bytes[a..=b]),
        None => exec.out.bulk(b""),
    }
    Ok(())
}

/// GETRANGE's index rules: negative indexes count from the end, both ends clamp,
/// and two negative indexes with start > end select nothing.
fn clamp_range(start: i64, end: i64, len: usize) -> Option<(usize, usize)> {
    if len == 0 || (start < 0 && end < 0 && start > end) {
        return None;
    }
    let n = len as i64;
    let mut s = if start < 0 {
        n.saturating_add(start)
    } else {
        start
    };
    let mut e = if end < 0 { n.saturating_add(end) } else { end };
    s = s.max(0);
    e = e.max(0).min(n - 1);
    if s > e {
        return None;
    }
    Some((s as usize, e as usize))
}

pub fn setrange(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let limit = exec.max_string();
    let (key, val) = (&args[1], &args[3]);
    let offset = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    if offset < 0 {
        return Err(CmdError::msg("ERR offset is out of range"));
    }
    let off = offset as u64;
    let len = match write_str(exec.store, exec.db, exec.now, key)? {
        None => {
            if val.is_empty() {
                exec.out.int(0);
                return Ok(());
            }
            check_len(limit, off, val.len() as u64)?;
            let mut v = vec![0u8; off as usize + val.len()];
            v[off as usize..].copy_from_slice(val);
            let n = v.len();
            exec.store
                .set_key(exec.db, key, Value::Str(Str::Raw(v)), false, exec.now);
            n
        }
        Some(s) => {
            if val.is_empty() {
                let n = s.len();
                exec.out.int(n as i64);
                return Ok(());
            }
            check_len(limit, off, val.len() as u64)?;
            let raw = s.make_raw();
            let end = off as usize + val.len();
            if raw.len() < end {
                raw.resize(end, 0);
            }
            raw[off as usize..end].copy_from_slice(val);
            let n = raw.len();
            exec.store.touch(exec.db, key);
            n
        }
    };
    exec.dirty(1);
    exec.out.int(len as i64);
    Ok(())
}

pub fn lcs(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let a = match exec.store.lookup_read(exec.db, &args[1], exec.now) {
        None => Vec::new(),
        Some(Value::Str(s)) => s.to_vec(),
        Some(_) => {
            return Err(CmdError::msg(
                "ERR The specified keys must contain string values",
            ))
        }
    };
    let b = match exec.store.lookup_read(exec.db, &args[2], exec.now) {
        None => Vec::new(),
        Some(Value::Str(s)) => s.to_vec(),
        Some(_) => {
            return Err(CmdError::msg(
                "ERR The specified keys must contain string values",
            ))
        }
    };
    let (mut getidx, mut getlen, mut withmatchlen, mut minmatchlen) = (false, false, false, 0i64);
    let mut j = 3;
    while j < args.len() {
        let opt = &args[j][..];
        if eq_ic(opt, "IDX") {
            getidx = true;
        } else if eq_ic(opt, "LEN") {
            getlen = true;
        } else if eq_ic(opt, "WITHMATCHLEN") {
            withmatchlen = true;
        } else if eq_ic(opt, "MINMATCHLEN") && j + 1 < args.len() {
            minmatchlen = parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?.max(0);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    if getidx && getlen {
        return Err(CmdError::msg(
            "ERR If you want both the length and indexes, please just use IDX.",
        ));
    }
    let (alen, blen) = (a.len(), b.len());
    let cells = (alen as u64 + 1).checked_mul(blen as u64 + 1);
    if !matches!(cells, Some(c) if c.saturating_mul(4) <= exec.store.config.proto_max_bulk_len) {
        return Err(CmdError::msg(
            "ERR Insufficient memory, transient memory for LCS exceeds proto-max-bulk-len",
        ));
    }
    // dp[i][j] = LCS length of a[..i] and b[..j].
    let w = blen + 1;
    let mut dp = vec![0u32; (alen + 1) * w];
    for i in 1..=alen {
        for jj in 1..=blen {
            dp[i * w + jj] = if a[i - 1] == b[jj - 1] {
                dp[(i - 1) * w + jj - 1] + 1
            } else {
                dp[(i - 1) * w + jj].max(dp[i * w + jj - 1])
            };
        }
    }
    let total = dp[alen * w + blen] as usize;
    if getlen && !getidx {
        exec.out.int(total as i64);
        return Ok(());
    }
    // Walk back from the end as Redis does, so matches come out in the same order.
    let mut result = vec![0u8; total];
    let mut matches: Vec<[usize; 4]> = Vec::new();
    let (mut i, mut jj, mut idx) = (alen, blen, total);
    let (mut a_start, mut a_end, mut b_start, mut b_end) = (alen, 0usize, 0usize, 0usize);
    while i > 0 && jj > 0 {
        let mut emit = false;
        if a[i - 1] == b[jj - 1] {
            result[idx - 1] = a[i - 1];
            if a_start == alen {
                (a_start, a_end, b_start, b_end) = (i - 1, i - 1, jj - 1, jj - 1);
            } else if a_start == i && b_start == jj {
                a_start -= 1;
                b_start -= 1;
            } else {
                emit = true;
            }
            if a_start == 0 || b_start == 0 {
                emit = true;
            }
            idx -= 1;
            i -= 1;
            jj -= 1;
        } else {
            if dp[(i - 1) * w + jj] > dp[i * w + jj - 1] {
                i -= 1;
            } else {
                jj -= 1;
            }
            if a_start != alen {
                emit = true;
            }
        }
        if emit {
            let mlen = (a_end - a_start + 1) as i64;
            if minmatchlen == 0 || mlen >= minmatchlen {
                matches.push([a_start, a_end, b_start, b_end]);
            }
            a_start = alen;
        }
    }
    if !getidx {
        exec.out.bulk(&result);
        return Ok(());
    }
    let out = &mut *exec.out;
    out.map(2);
    out.bulk(b"matches");
    out.array(matches.len());
    for m in &matches {
        out.array(2 + usize::from(withmatchlen));
        out.array(2);
        out.int(m[0] as i64);
        out.int(m[1] as i64);
        out.array(2);
        out.int(m[2] as i64);
        out.int(m[3] as i64);
        if withmatchlen {
            out.int((m[1] - m[0] + 1) as i64);
        }
    }
    out.bulk(b"len");
    out.int(total as i64);
    Ok(())
}
