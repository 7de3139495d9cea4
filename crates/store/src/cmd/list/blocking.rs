//! BLPOP, BRPOP, BLMOVE, BRPOPLPUSH, BLMPOP.
//!
//! The protocol (see the store's `Exec`): serve now if any key has elements and
//! propagate the non-blocking form Redis 7.0 propagates (BLPOP -> `LPOP key`,
//! BLMOVE -> `LMOVE`, BRPOPLPUSH -> `RPOPLPUSH`, BLMPOP -> `LPOP|RPOP key n`);
//! otherwise inside MULTI reply as a timeout would (BLMOVE/BRPOPLPUSH reply a null
//! bulk there, the others a null array, as 7.0 does), else set `exec.block` and
//! write nothing. A woken client re-runs the handler with `exec.woken`; keys that
//! now hold another type are skipped (7.0 leaves such clients blocked).

use bytes::Bytes;

use super::{move_one, mpop_serve, parse_end, parse_mpop, pop_n, pop_name, write_list};
use crate::error::{CmdError, CmdResult};
use crate::exec::{BlockRequest, Exec};
use crate::types::list::End;
use crate::util::parse_f64;

/// Parses a blocking timeout in seconds into an absolute deadline (`None` = wait
/// forever), with Redis 7.0's errors. Like 7.0.15, a timeout whose milliseconds do
/// not fit a long long is reported as negative (the C cast wraps it).
pub(crate) fn parse_timeout(arg: &[u8], now: i64) -> Result<Option<i64>, CmdError> {
    let secs = parse_f64(arg).ok_or(CmdError::TimeoutNotFloat)?;
    let ms = (secs * 1000.0).ceil();
    if ms < 0.0 || ms >= i64::MAX as f64 {
        return Err(CmdError::TimeoutNegative);
    }
    let ms = ms as i64;
    Ok(if ms == 0 {
        None
    } else {
        Some(now.saturating_add(ms))
    })
}

/// Nothing to serve: a null reply inside MULTI, else a block request.
fn block_or_null(exec: &mut Exec<'_>, keys: &[Bytes], deadline_ms: Option<i64>, null_bulk: bool) {
    if exec.in_multi {
        if null_bulk {
            exec.out.null();
        } else {
            exec.out.null_array();
        }
    } else {
        exec.block = Some(BlockRequest {
            keys: keys.to_vec(),
            deadline_ms,
            args: None,
        });
    }
}

fn bpop_generic(exec: &mut Exec<'_>, args: &[Bytes], end: End) -> CmdResult {
    let last = args.len() - 1;
    let deadline = parse_timeout(&args[last], exec.now)?;
    let keys = &args[1..last];
    let (db, now) = (exec.db, exec.now);
    for key in keys {
        match write_list(exec.store, db, key, now) {
            Ok(None) => continue,
            Err(_) if exec.woken => continue,
            Err(e) => return Err(e),
            Ok(Some(_)) => {}
        }
        let v = pop_n(exec.store, db, key, now, end, 1);
        let Some(v) = v.first() else { continue };
        exec.out.array(2);
        exec.out.bulk(key);
        exec.out.bulk(v);
        exec.propagate_as(vec![Bytes::from_static(pop_name(end)), key.clone()]);
        return Ok(());
    }
    block_or_null(exec, keys, deadline, false);
    Ok(())
}

pub(super) fn blpop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    bpop_generic(exec, args, End::Left)
}

pub(super) fn brpop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    bpop_generic(exec, args, End::Right)
}

/// Shared by BLMOVE and BRPOPLPUSH; `prop` is the propagated form when served.
fn bmove_generic(
    exec: &mut Exec<'_>,
    args: &[Bytes],
    from: End,
    to: End,
    timeout: &[u8],
    prop: Vec<Bytes>,
) -> CmdResult {
    let deadline = parse_timeout(timeout, exec.now)?;
    let (src, dst) = (&args[1], &args[2]);
    let served = match write_list(exec.store, exec.db, src, exec.now) {
        Ok(None) => None,
        Err(_) if exec.woken => None,
        Err(e) => return Err(e),
        Ok(Some(_)) => move_one(exec, src, dst, from, to)?,
    };
    match served {
        Some(v) => {
            exec.out.bulk(&v);
            exec.propagate_as(prop);
        }
        None => block_or_null(exec, std::slice::from_ref(src), deadline, true),
    }
    Ok(())
}

pub(super) fn blmove(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let from = parse_end(&args[3])?;
    let to = parse_end(&args[4])?;
    let prop = vec![
        Bytes::from_static(b"LMOVE"),
        args[1].clone(),
        args[2].clone(),
        args[3].clone(),
        args[4].clone(),
    ];
    bmove_generic(exec, args, from, to, &args[5], prop)
}

pub(super) fn brpoplpush(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let prop = vec![
        Bytes::from_static(b"RPOPLPUSH"),
        args[1].clone(),
        args[2].clone(),
    ];
    bmove_generic(exec, args, End::Right, End::Left, &args[3], prop)
}

/// BLMPOP timeout numkeys key... LEFT|RIGHT [COUNT n]; the timeout is checked after
/// the other arguments, as in 7.0.
pub(super) fn blmpop(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let p = parse_mpop(args, 2)?;
    let deadline = parse_timeout(&args[1], exec.now)?;
    let woken = exec.woken;
    if !mpop_serve(exec, &p, woken)? {
        block_or_null(exec, p.keys, deadline, false);
    }
    Ok(())
}
