//! Replication commands: REPLICAOF/SLAVEOF, REPLCONF, PSYNC/SYNC, WAIT, ROLE, and
//! Tandem's TANDEM EPOCH/FENCE/ROLE (the monitor's hooks).

use std::time::{Duration, Instant};

use bytes::Bytes;
use tandem_store::util::{eq_ic, parse_i64};
use tandem_store::{CmdError, CmdResult};
use tracing::{info, warn};

use super::{master, replica};
use crate::dispatch::{Action, Ctx, ServerHandler};

pub const COMMANDS: &[(&str, ServerHandler)] = &[
    ("replicaof", replicaof),
    ("slaveof", replicaof),
    ("replconf", replconf),
    ("psync", psync),
    ("sync", sync),
    ("wait", wait),
    ("role", role),
    ("tandem", tandem),
];

fn requester(ctx: &mut Ctx<'_>) -> String {
    let c = ctx.client();
    format!("id={} addr={}", c.id, c.addr)
}

fn replicaof(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if eq_ic(&args[1], "NO") && eq_ic(&args[2], "ONE") {
        if ctx.st.repl.is_replica() {
            replica::unset_master(ctx.st);
            super::acks_changed(ctx.shared, ctx.st);
            info!(
                "MASTER MODE enabled (user request from '{}')",
                requester(ctx)
            );
        }
        ctx.out.ok();
        return Ok(());
    }
    if ctx.client().repl_type == Some("replica") {
        return Err(CmdError::msg(
            "ERR Command is not valid when client is a replica.",
        ));
    }
    let port = parse_i64(&args[2])
        .filter(|p| (0..=65535).contains(p))
        .ok_or(CmdError::msg("ERR Invalid master port"))? as u16;
    let host = String::from_utf8_lossy(&args[1]).into_owned();
    if let Some(m) = &ctx.st.repl.master {
        if m.host.eq_ignore_ascii_case(&host) && m.port == port {
            info!("REPLICAOF would result into synchronization with the master we are already connected with. No operation performed.");
            ctx.out.simple("OK Already connected to specified master");
            return Ok(());
        }
    }
    replica::set_master(ctx.st, host.clone(), port);
    super::acks_changed(ctx.shared, ctx.st);
    info!(
        "REPLICAOF {host}:{port} enabled (user request from '{}')",
        requester(ctx)
    );
    ctx.out.ok();
    Ok(())
}

fn replconf(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if args.len().is_multiple_of(2) {
        return Err(CmdError::Syntax);
    }
    for pair in args[1..].chunks(2) {
        let (opt, val) = (&pair[0], &pair[1]);
        if eq_ic(opt, "listening-port") {
            let p = parse_i64(val).ok_or(CmdError::NotInteger)?;
            master::replica_entry(ctx).listening_port = p.clamp(0, 65535) as u16;
        } else if eq_ic(opt, "ip-address") {
            if val.len() >= 46 {
                return Err(CmdError::msg(format!(
                    "ERR REPLCONF ip-address provided by replica instance is too long: {} bytes",
                    val.len()
                )));
            }
            master::replica_entry(ctx).ip = String::from_utf8_lossy(val).into_owned();
        } else if eq_ic(opt, "capa") {
            let r = master::replica_entry(ctx);
            if eq_ic(val, "eof") {
                r.capa_eof = true;
            } else if eq_ic(val, "psync2") {
                r.capa_psync2 = true;
            }
        } else if eq_ic(opt, "ack") {
            // From a replica: no reply, ever.
            if let Some(off) = parse_i64(val).filter(|o| *o >= 0) {
                if ctx.st.repl.replicas.contains_key(&ctx.id) {
                    master::ack(ctx.shared, ctx.st, ctx.id, off as u64);
                }
            }
            return Ok(());
        } else if eq_ic(opt, "getack") {
            // Only meaningful from our master, whose stream the link applies
            // itself (replica.rs); no reply otherwise.
            return Ok(());
        } else if eq_ic(opt, "rdb-only") || eq_ic(opt, "rdb-filter-only") {
        } else {
            return Err(CmdError::msg(format!(
                "ERR Unrecognized REPLCONF option: {}",
                tandem_resp::c_str(opt)
            )));
        }
    }
    ctx.out.ok();
    Ok(())
}

fn no_master_link(ctx: &Ctx<'_>) -> bool {
    ctx.st
        .repl
        .master
        .as_ref()
        .is_some_and(|m| m.state != super::LinkState::Connected)
}

fn psync(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if no_master_link(ctx) {
        return Err(CmdError::msg(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    let replid = String::from_utf8_lossy(&args[1]).into_owned();
    let offset = parse_i64(&args[2]).unwrap_or(-1);
    master::psync(ctx, &replid, offset, false);
    Ok(())
}

fn sync(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    if no_master_link(ctx) {
        return Err(CmdError::msg(
            "NOMASTERLINK Can't SYNC while not connected with my master",
        ));
    }
    master::psync(ctx, "?", -1, true);
    Ok(())
}

fn wait(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    if ctx.st.repl.is_replica() {
        return Err(CmdError::msg("ERR WAIT cannot be used with replica instances. Please also note that since Redis 4.0 if a replica is configured to be writable (which is not the default) writes to replicas are just local and are not propagated."));
    }
    let num = parse_i64(&args[1]).ok_or(CmdError::NotInteger)?;
    let timeout = parse_i64(&args[2]).ok_or(CmdError::msg(
        "ERR timeout is not an integer or out of range",
    ))?;
    if timeout < 0 {
        return Err(CmdError::msg("ERR timeout is negative"));
    }
    let offset = ctx.st.stream.offset;
    let count = ctx
        .st
        .repl
        .online()
        .filter(|(_, r)| r.ack >= offset)
        .count();
    if ctx.in_multi || count as i64 >= num {
        ctx.out.int(count as i64);
        return Ok(());
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    ctx.st.repl.waiters.push(super::Waiter {
        client: ctx.id,
        offset,
        num: num.max(0) as usize,
        deadline: (timeout > 0).then(|| Instant::now() + Duration::from_millis(timeout as u64)),
        tx,
    });
    ctx.shared.gates.getack.notify_one();
    ctx.action = Action::Block(rx, None);
    Ok(())
}

fn role(ctx: &mut Ctx<'_>, _args: &[Bytes]) -> CmdResult {
    let st = &*ctx.st;
    match &st.repl.master {
        None => {
            let online: Vec<_> = st.repl.online().collect();
            ctx.out.array(3);
            ctx.out.bulk(b"master");
            ctx.out.int(st.stream.offset as i64);
            ctx.out.array(online.len());
            for (_, r) in online {
                ctx.out.array(3);
                ctx.out.bulk(r.ip.as_bytes());
                ctx.out.bulk(r.listening_port.to_string().as_bytes());
                ctx.out.bulk(r.ack.to_string().as_bytes());
            }
        }
        Some(m) => {
            ctx.out.array(5);
            ctx.out.bulk(b"slave");
            ctx.out.bulk(m.host.as_bytes());
            ctx.out.int(m.port as i64);
            ctx.out.bulk(m.state.role_name().as_bytes());
            let off = if m.client_id.is_some() {
                st.stream.offset as i64
            } else {
                -1
            };
            ctx.out.int(off);
        }
    }
    Ok(())
}

fn sub_arity(args: &[Bytes], ok: bool) -> CmdResult {
    if ok {
        return Ok(());
    }
    Err(CmdError::msg(format!(
        "ERR wrong number of arguments for 'tandem|{}' command",
        String::from_utf8_lossy(&args[1]).to_lowercase()
    )))
}

/// TANDEM EPOCH [[SET] n] | FENCE epoch [host port] | ROLE | HELP. Every TANDEM
/// command counts as monitor contact for self-fencing.
fn tandem(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let n = args.len();
    // Proxies' link bookkeeping: not the monitor, so not contact (self-fencing).
    if eq_ic(sub, "LINK") {
        sub_arity(args, n == 3)?;
        crate::linkpos::link(ctx.st, ctx.id, &args[2]).map_err(CmdError::msg)?;
        ctx.out.ok();
        return Ok(());
    }
    if eq_ic(sub, "LINKPOS") {
        sub_arity(args, n == 3)?;
        ctx.out.int(crate::linkpos::position(ctx.st, &args[2]));
        return Ok(());
    }
    ctx.st.repl.last_contact = Instant::now();
    if eq_ic(sub, "EPOCH") {
        let val = match n {
            2 => None,
            3 => Some(&args[2]),
            4 if eq_ic(&args[2], "SET") => Some(&args[3]),
            _ => return Err(CmdError::Syntax),
        };
        match val {
            None => ctx.out.int(ctx.st.repl.epoch as i64),
            Some(v) => {
                let e = parse_i64(v)
                    .filter(|e| *e >= 0)
                    .ok_or(CmdError::NotInteger)? as u64;
                let r = &mut ctx.st.repl;
                if e < r.epoch {
                    return Err(CmdError::msg(format!(
                        "ERR epoch {e} is lower than this node's epoch {}",
                        r.epoch
                    )));
                }
                r.epoch = e;
                if r.fenced_by.is_some_and(|f| f <= e) {
                    info!("Epoch {e} recorded: no longer fenced");
                    r.fenced_by = None;
                }
                info!("Cluster epoch set to {e}");
                r.update_checks();
                ctx.out.ok();
            }
        }
    } else if eq_ic(sub, "FENCE") {
        sub_arity(args, n == 3 || n == 5)?;
        let e = parse_i64(&args[2])
            .filter(|e| *e >= 0)
            .ok_or(CmdError::NotInteger)? as u64;
        let r = &mut ctx.st.repl;
        if e <= r.epoch && r.fenced_by != Some(e) {
            return Err(CmdError::msg(format!(
                "ERR epoch {e} is not newer than this node's epoch {}",
                r.epoch
            )));
        }
        if r.fenced_by != Some(e) {
            warn!(
                "Fenced by epoch {e} (this node's epoch is {}): refusing writes",
                r.epoch
            );
        }
        r.fenced_by = Some(e);
        r.update_checks();
        if n == 5 {
            let port = parse_i64(&args[4])
                .filter(|p| (0..=65535).contains(p))
                .ok_or(CmdError::msg("ERR Invalid master port"))? as u16;
            let host = String::from_utf8_lossy(&args[3]).into_owned();
            let same = ctx
                .st
                .repl
                .master
                .as_ref()
                .is_some_and(|m| m.host == host && m.port == port);
            if !same {
                replica::set_master(ctx.st, host, port);
                super::acks_changed(ctx.shared, ctx.st);
            }
        }
        ctx.out.ok();
    } else if eq_ic(sub, "ROLE") {
        sub_arity(args, n == 2)?;
        let st = &*ctx.st;
        let r = &st.repl;
        ctx.out.array(6);
        ctx.out
            .bulk(if r.is_replica() { b"slave" } else { b"master" });
        ctx.out.int(r.epoch as i64);
        ctx.out.int(st.stream.offset as i64);
        ctx.out.bulk(r.replid.as_bytes());
        ctx.out.int((r.fenced_by.is_some() || r.self_fenced) as i64);
        match &r.master {
            Some(m) => {
                ctx.out.array(3);
                ctx.out.bulk(m.host.as_bytes());
                ctx.out.int(m.port as i64);
                ctx.out.bulk(m.state.role_name().as_bytes());
            }
            None => ctx.out.empty_array(),
        }
    } else if eq_ic(sub, "HELP") && n == 2 {
        let lines = [
            "TANDEM <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
            "EPOCH [[SET] <epoch>]",
            "    Return, or record, the cluster epoch this node serves under.",
            "FENCE <epoch> [<host> <port>]",
            "    Refuse writes: a newer epoch has another master (optionally replicate from it).",
            "ROLE",
            "    Return [role, epoch, offset, replid, fenced, [master host, port, link state]].",
            "LINK <tag>",
            "    Name this connection a proxy link: its writes are marked in the stream.",
            "LINKPOS <tag>",
            "    Return how many requests of that link this node's data covers (-1: unknown).",
            "HELP",
            "    Print this help.",
        ];
        ctx.out.array(lines.len());
        for l in lines {
            ctx.out.simple(l);
        }
    } else {
        return Err(crate::cmd_client::unknown_sub(sub, "TANDEM"));
    }
    Ok(())
}
