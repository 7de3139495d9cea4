//! HRANDFIELD and HSCAN: the hash commands that walk a sample or a cursor.

use bytes::Bytes;
use hashbrown::HashSet;

use super::{is_opt, matches, read_hash};
use crate::error::{CmdError, CmdResult};
use crate::exec::Exec;
use crate::util::{int_arg, parse_i64};

/// HRANDFIELD key [count [WITHVALUES]]
pub(super) fn hrandfield(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    if args.len() == 2 {
        match read_hash(exec.store, exec.db, &args[1], exec.now)?.and_then(|h| h.random_entry()) {
            Some((f, _)) => exec.out.bulk(f),
            None => exec.out.null(),
        }
        return Ok(());
    }
    let count = int_arg(&args[2])?;
    if count < -i64::MAX {
        return Err(CmdError::msg(
            "ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807",
        ));
    }
    let withvalues = match args.len() {
        3 => false,
        4 if is_opt(&args[3], "WITHVALUES") => true,
        _ => return Err(CmdError::Syntax),
    };
    // Redis refuses counts whose doubled reply length would overflow a long.
    if withvalues && !(-(i64::MAX / 2)..=i64::MAX / 2).contains(&count) {
        return Err(CmdError::msg("ERR value is out of range"));
    }
    let resp3 = exec.out.is_resp3();
    let Some(h) = read_hash(exec.store, exec.db, &args[1], exec.now)? else {
        exec.out.empty_array();
        return Ok(());
    };
    let out = &mut *exec.out;
    let header = |out: &mut tandem_resp::ReplyBuf, n: usize| {
        if withvalues && !resp3 {
            out.array(2 * n);
        } else {
            out.array(n);
        }
    };
    let emit = |out: &mut tandem_resp::ReplyBuf, f: &[u8], v: &[u8]| {
        if withvalues {
            if resp3 {
                out.array(2);
            }
            out.bulk(f);
            out.bulk(v);
        } else {
            out.bulk(f);
        }
    };
    if count < 0 {
        // Repeats allowed: independent picks.
        let n = count.unsigned_abs() as usize;
        header(out, n);
        for _ in 0..n {
            if let Some((f, v)) = h.random_entry() {
                emit(out, f, v);
            }
        }
        return Ok(());
    }
    let count = count as usize;
    let len = h.len();
    if count >= len {
        header(out, len);
        for (f, v) in h.iter() {
            emit(out, f, v);
        }
        return Ok(());
    }
    if h.is_small() || count * 3 > len {
        // Dense sample: copy, then drop random entries until `count` remain.
        let mut all: Vec<(&[u8], &[u8])> = h.iter().collect();
        while all.len() > count {
            let i = rand::random_range(0..all.len());
            all.swap_remove(i);
        }
        header(out, count);
        for (f, v) in all {
            emit(out, f, v);
        }
        return Ok(());
    }
    // Sparse sample: random picks until `count` distinct fields.
    let mut picked: HashSet<&[u8]> = HashSet::with_capacity(count);
    let mut pairs = Vec::with_capacity(count);
    let mut tries = 0usize;
    while pairs.len() < count {
        tries += 1;
        if tries > count.saturating_mul(20) {
            // A skewed hash distribution starves some fields: finish in order.
            for (f, v) in h.iter() {
                if pairs.len() == count {
                    break;
                }
                if picked.insert(f) {
                    pairs.push((f, v));
                }
            }
            break;
        }
        if let Some((f, v)) = h.random_entry() {
            if picked.insert(f) {
                pairs.push((f, v));
            }
        }
    }
    header(out, pairs.len());
    for (f, v) in pairs {
        emit(out, f, v);
    }
    Ok(())
}

/// HSCAN key cursor [MATCH pattern] [COUNT count]
pub(super) fn hscan(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let cursor = crate::util::parse_scan_cursor(&args[2])?;
    let Some(h) = read_hash(exec.store, exec.db, &args[1], exec.now)? else {
        exec.out.raw(b"*2\r\n$1\r\n0\r\n*0\r\n");
        return Ok(());
    };
    let mut count = 10usize;
    let mut pattern: Option<&[u8]> = None;
    let mut i = 3;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(CmdError::Syntax);
        }
        if is_opt(&args[i], "COUNT") {
            let n = parse_i64(&args[i + 1]).ok_or(CmdError::NotInteger)?;
            if n < 1 {
                return Err(CmdError::Syntax);
            }
            count = usize::try_from(n).unwrap_or(usize::MAX);
        } else if is_opt(&args[i], "MATCH") {
            // `*` matches everything: skip the matcher, as Redis does.
            pattern = if &args[i + 1][..] == b"*" {
                None
            } else {
                Some(&args[i + 1])
            };
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let mut found: Vec<(&[u8], &[u8])> = Vec::new();
    let next = h.scan(cursor, count, |f, v| found.push((f, v)));
    found.retain(|(f, _)| matches(pattern, f));
    let out = &mut *exec.out;
    out.array(2);
    let mut b = itoa::Buffer::new();
    out.bulk(b.format(next).as_bytes());
    out.array(found.len() * 2);
    for (f, v) in found {
        out.bulk(f);
        out.bulk(v);
    }
    Ok(())
}
