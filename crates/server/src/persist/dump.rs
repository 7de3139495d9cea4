//! DUMP and RESTORE with Redis 7.0's payload (value encoding + RDB version +
//! CRC-64), its option rules (REPLACE, ABSTTL, IDLETIME, FREQ), its exact errors
//! and its propagation: a relative TTL is rewritten to an absolute one with ABSTTL
//! appended, and a RESTORE of an already expired key propagates as DEL of the
//! replaced key (or nothing), as `restoreCommand` does.

use bytes::Bytes;
use tandem_store::util::{eq_ic, parse_i64};
use tandem_store::{CmdError, CmdResult};

use super::snapshot::{entry_clock, from_value, to_value};
use crate::dispatch::{Ctx, ServerHandler};

/// RESTORE-ASKING is RESTORE with cluster mode's ASKING flag: the same here.
pub const COMMANDS: &[(&str, ServerHandler)] = &[
    ("dump", dump),
    ("restore", restore),
    ("restore-asking", restore),
];

fn dump(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let db = ctx.client().db;
    match ctx.st.store.lookup_read(db, &args[1], ctx.now) {
        Some(v) => {
            let payload = tandem_rdb::dump_payload(&from_value(v));
            ctx.out.bulk(&payload);
        }
        None => ctx.out.null(),
    }
    Ok(())
}

fn restore(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut replace, mut absttl) = (false, false);
    let (mut idle, mut freq): (Option<i64>, Option<i64>) = (None, None);
    let mut j = 4;
    while j < args.len() {
        let more = args.len() - j - 1;
        let a = &args[j];
        if eq_ic(a, "REPLACE") {
            replace = true;
        } else if eq_ic(a, "ABSTTL") {
            absttl = true;
        } else if eq_ic(a, "IDLETIME") && more >= 1 && freq.is_none() {
            let v = parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?;
            if v < 0 {
                return Err(CmdError::msg("ERR Invalid IDLETIME value, must be >= 0"));
            }
            idle = Some(v);
            j += 1;
        } else if eq_ic(a, "FREQ") && more >= 1 && idle.is_none() {
            let v = parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?;
            if !(0..=255).contains(&v) {
                return Err(CmdError::msg(
                    "ERR Invalid FREQ value, must be >= 0 and <= 255",
                ));
            }
            freq = Some(v);
            j += 1;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let db = ctx.client().db;
    let now = ctx.now;
    let key = &args[1];
    if !replace && ctx.st.store.lookup_write(db, key, now).is_some() {
        return Err(CmdError::msg("BUSYKEY Target key name already exists."));
    }
    let mut ttl = parse_i64(&args[2]).ok_or(CmdError::NotInteger)?;
    if ttl < 0 {
        return Err(CmdError::msg("ERR Invalid TTL value, must be >= 0"));
    }
    let value = match tandem_rdb::parse_dump_payload(&args[3]) {
        Ok(v) => v,
        Err(e) if matches!(e.kind, tandem_rdb::ErrorKind::BadDumpPayload) => {
            return Err(CmdError::msg(
                "ERR DUMP payload version or checksum are wrong",
            ))
        }
        Err(_) => return Err(CmdError::msg("ERR Bad data format")),
    };
    let store = &mut ctx.st.store;
    let Ok(Some(value)) = to_value(value, &store.config) else {
        return Err(CmdError::msg("ERR Bad data format"));
    };
    let deleted = replace && store.delete_key(db, key);
    if ttl > 0 && !absttl {
        ttl = ttl.saturating_add(now);
    }
    // A key restored already expired is not created (Redis's checkAlreadyExpired:
    // not on a replica applying its master's stream).
    let from_master = store.config.is_replica && store.from_master;
    if ttl > 0 && ttl <= now && !from_master {
        if deleted {
            store.dirty += 1;
            store.propagate(db, vec![Bytes::from_static(b"DEL"), key.clone()]);
        }
        ctx.out.ok();
        return Ok(());
    }
    store.set_key(db, key, value, false, now);
    let fresh = store.access_clock(now);
    let lru = entry_clock(
        &store.config,
        fresh,
        idle.map(|s| s as u64),
        freq.map(|f| f as u8),
        now,
    );
    if let Some(e) = store.dbs[db].dict.get_mut(key) {
        e.lru = lru;
    }
    let mut prop = args.to_vec();
    if ttl > 0 {
        store.set_expire(db, key, ttl);
        if !absttl {
            prop[2] = Bytes::from(ttl.to_string());
            prop.push(Bytes::from_static(b"ABSTTL"));
        }
    }
    store.dirty += 1;
    store.propagate(db, prop);
    ctx.out.ok();
    Ok(())
}
