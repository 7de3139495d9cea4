//! LPOS key element [RANK rank] [COUNT num-matches] [MAXLEN len]

use bytes::Bytes;

use super::read_list;
use crate::error::{CmdError, CmdResult};
use crate::exec::Exec;
use crate::util::{eq_ic, int_arg, parse_i64};

pub(super) fn lpos(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let mut rank: i64 = 1;
    let mut count: Option<i64> = None;
    let mut maxlen: i64 = 0;
    let mut i = 3;
    while i < args.len() {
        if i + 1 >= args.len() {
            return Err(CmdError::Syntax);
        }
        let v = &args[i + 1];
        if eq_ic(&args[i], "RANK") {
            rank = int_arg(v)?;
            if rank == 0 {
                return Err(CmdError::msg(
                    "ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list",
                ));
            }
        } else if eq_ic(&args[i], "COUNT") {
            // 7.0 reports a non-integer COUNT/MAXLEN with the same message.
            let n = parse_i64(v)
                .filter(|n| *n >= 0)
                .ok_or_else(|| CmdError::msg("ERR COUNT can't be negative"))?;
            count = Some(n);
        } else if eq_ic(&args[i], "MAXLEN") {
            maxlen = parse_i64(v)
                .filter(|n| *n >= 0)
                .ok_or_else(|| CmdError::msg("ERR MAXLEN can't be negative"))?;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 2;
    }
    let Some(l) = read_list(exec.store, exec.db, &args[1], exec.now)? else {
        match count {
            Some(_) => exec.out.empty_array(),
            None => exec.out.null(),
        }
        return Ok(());
    };
    let target = &args[2][..];
    // RANK -N skips N-1 matches from the tail.
    // RANK i64::MIN behaves as -1 in 7.0 (negating it overflows in C and every
    // match then satisfies `matches >= rank`).
    let mut skip = if rank == i64::MIN {
        0
    } else {
        rank.unsigned_abs() - 1
    };
    let want = match count {
        Some(0) => u64::MAX,
        Some(n) => n as u64,
        None => 1,
    };
    let limit = if maxlen == 0 {
        usize::MAX
    } else {
        maxlen as usize
    };
    let len = l.len();
    let mut found: Vec<i64> = Vec::new();
    // From the head, or (negative rank) from the tail: one pass of the
    // iterator, not an index lookup per element.
    let order: Box<dyn Iterator<Item = (usize, &[u8])>> = if rank > 0 {
        Box::new(l.iter().enumerate())
    } else {
        Box::new(l.iter().enumerate().rev())
    };
    for (idx, v) in order.take(len.min(limit)) {
        if v == target {
            if skip > 0 {
                skip -= 1;
                continue;
            }
            found.push(idx as i64);
            if found.len() as u64 >= want {
                break;
            }
        }
    }
    match count {
        Some(_) => {
            exec.out.array(found.len());
            for p in found {
                exec.out.int(p);
            }
        }
        None => match found.first() {
            Some(p) => exec.out.int(*p),
            None => exec.out.null(),
        },
    }
    Ok(())
}
