//! The master side: PSYNC/SYNC decisions, the full-sync transfer of a forked
//! snapshot, and ACK bookkeeping.
//!
//! A replica's link is its ordinary client connection: after PSYNC, everything the
//! master sends it (`+FULLRESYNC`, the RDB payload, the stream) goes through the
//! client's channel in order, and its `REPLCONF ACK`s arrive as ordinary commands.
//! During a full sync the stream bytes written after the snapshot point are held
//! in [`super::Replica::held`] and released once the payload is sent (or, for an
//! `$EOF:` transfer, at the replica's first ACK, as Redis 7.0 does).

use std::io::Read;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tracing::{info, warn};

use super::{ids, ReplicaState};
use crate::dispatch::Ctx;
use crate::persist::{fork_snapshot, SnapshotAux, SnapshotTarget};
use crate::state::{Shared, State};

/// How many payload bytes may wait in a replica's channel before the transfer
/// waits for the connection to drain them (bounds memory per syncing replica).
const TRANSFER_WINDOW: usize = 8 << 20;
/// Pipe read size.
const CHUNK: usize = 64 << 10;

fn replica_name(st: &State, id: u64) -> String {
    match st.repl.replicas.get(&id) {
        Some(r) => format!("{}:{}", r.ip, r.listening_port),
        None => format!("id={id}"),
    }
}

/// Registers the calling client as a replica in the handshake (REPLCONF before PSYNC).
pub fn replica_entry<'a>(ctx: &'a mut Ctx<'_>) -> &'a mut super::Replica {
    let ip = ctx
        .st
        .clients
        .get(&ctx.id)
        .and_then(|c| {
            c.addr
                .rsplit_once(':')
                .map(|(h, _)| h.trim_matches(['[', ']']).to_string())
        })
        .unwrap_or_default();
    ctx.st
        .repl
        .replicas
        .entry(ctx.id)
        .or_insert_with(|| super::Replica {
            ip,
            listening_port: 0,
            state: ReplicaState::Handshake,
            capa_eof: false,
            capa_psync2: false,
            pre_psync: false,
            ack: 0,
            ack_time: Instant::now(),
            held: BytesMut::new(),
            soft_since: None,
        })
}

/// PSYNC `replid` `offset` (SYNC is `? -1` without psync2 semantics).
pub fn psync(ctx: &mut Ctx<'_>, replid: &str, offset: i64, sync_cmd: bool) {
    if let Some(r) = ctx.st.repl.replicas.get(&ctx.id) {
        if r.state != ReplicaState::Handshake {
            return; // already a replica: ignore, as Redis
        }
    }
    replica_entry(ctx);
    if let Some(c) = ctx.st.clients.get_mut(&ctx.id) {
        c.repl_type = Some("replica");
    }
    let name = replica_name(ctx.st, ctx.id);
    info!("Replica {name} asks for synchronization");
    if !sync_cmd && try_partial(ctx, replid, offset, &name) {
        return;
    }
    if !sync_cmd && replid != "?" {
        ctx.st.repl.sync_partial_err += 1;
    } else if !sync_cmd {
        info!("Full resync requested by replica {name}");
    }
    ctx.st.repl.sync_full += 1;
    ctx.st.stream.backlog_used = true;
    if let Some(r) = ctx.st.repl.replicas.get_mut(&ctx.id) {
        r.state = ReplicaState::WaitBgsave;
        r.capa_psync2 &= !sync_cmd;
        r.pre_psync = sync_cmd;
        r.capa_eof &= !sync_cmd;
    }
    ctx.st.stream.tapping = true;
    ctx.st.repl.wake.notify_one();
}

fn try_partial(ctx: &mut Ctx<'_>, replid: &str, offset: i64, name: &str) -> bool {
    let repl = &ctx.st.repl;
    let stream = &ctx.st.stream;
    if !replid.eq_ignore_ascii_case(&repl.replid)
        && (!replid.eq_ignore_ascii_case(&repl.replid2) || offset > repl.second_offset)
    {
        if replid != "?" {
            if !replid.eq_ignore_ascii_case(&repl.replid2) {
                info!("Partial resynchronization not accepted: Replication ID mismatch (Replica asked for '{replid}', my replication IDs are '{}' and '{}')", repl.replid, repl.replid2);
            } else {
                info!("Partial resynchronization not accepted: Requested offset for second ID was {offset}, but I can reply up to {}", repl.second_offset);
            }
        }
        return false;
    }
    // Redis's offsets name the next byte wanted, 1-based.
    let first = stream.backlog_first_offset() + 1;
    if !stream.backlog_used || offset < first as i64 || offset > stream.offset as i64 + 1 {
        info!("Unable to partial resync with replica {name} for lack of backlog (Replica request was: {offset}).");
        return false;
    }
    let Some(data) = stream.backlog_range(offset as u64 - 1) else {
        return false;
    };
    let psync2 = repl.replicas.get(&ctx.id).is_some_and(|r| r.capa_psync2);
    let line = if psync2 {
        format!("+CONTINUE {}\r\n", repl.replid)
    } else {
        "+CONTINUE\r\n".to_string()
    };
    ctx.out.raw(line.as_bytes());
    ctx.out.raw(&data);
    info!("Partial resynchronization request from {name} accepted. Sending {} bytes of backlog starting from offset {offset}.", data.len());
    ctx.st.repl.sync_partial_ok += 1;
    if let Some(r) = ctx.st.repl.replicas.get_mut(&ctx.id) {
        r.state = ReplicaState::Online;
        r.ack_time = Instant::now();
    }
    ctx.st.stream.tapping = true;
    true
}

/// REPLCONF ACK from a replica.
pub fn ack(shared: &Shared, st: &mut State, id: u64, offset: u64) {
    let Some(r) = st.repl.replicas.get_mut(&id) else {
        return;
    };
    if offset > r.ack {
        r.ack = offset;
    }
    r.ack_time = Instant::now();
    st.repl.last_contact = Instant::now();
    if r.state == ReplicaState::WaitAck {
        r.state = ReplicaState::Online;
        let held = r.held.split().freeze();
        let name = format!("{}:{}", r.ip, r.listening_port);
        if !held.is_empty() {
            if let Some(c) = st.clients.get(&id) {
                c.pending.fetch_add(held.len(), Ordering::SeqCst);
                st.stats.net_repl_output_bytes += held.len() as u64;
                let _ = c.tx.send(held);
            }
        }
        info!("Synchronization with replica {name} succeeded");
    }
    super::acks_changed(shared, st);
}

/// Forks one snapshot for every replica waiting for a full sync (when no other
/// child runs) and spawns the transfer.
pub fn start_pending_syncs(shared: &std::sync::Arc<Shared>) {
    let mut guard = shared.state.lock();
    let st = &mut *guard;
    let waiting: Vec<u64> = st
        .repl
        .replicas
        .iter()
        .filter(|(_, r)| r.state == ReplicaState::WaitBgsave)
        .map(|(id, _)| *id)
        .collect();
    if waiting.is_empty() || st.persist.child_active() {
        return;
    }
    let aux = SnapshotAux {
        repl_id: st.repl.replid.clone(),
        repl_offset: st.stream.offset,
        repl_stream_db: Some(st.stream.last_db().unwrap_or(0)),
        aof_base: false,
        scripts: crate::script::bodies(st),
        functions: crate::script::functions::codes(st),
    };
    info!("Starting BGSAVE for SYNC with target: replicas sockets");
    let child = match fork_snapshot(st, &aux, SnapshotTarget::Pipe) {
        Ok(c) => c,
        Err(e) => {
            warn!("Can't start the replication snapshot: {e}");
            for id in waiting {
                if let Some(c) = st.clients.get(&id) {
                    c.kill.cancel();
                }
            }
            return;
        }
    };
    crate::persist::register_child(st, &child);
    // The replicas' stream starts with a SELECT, whatever the snapshot's db was.
    st.stream.reset(None);
    info!("Background RDB transfer started by pid {}", child.pid);
    let line = format!("+FULLRESYNC {} {}\r\n", st.repl.replid, st.stream.offset);
    let mut targets = Vec::new();
    for id in waiting {
        let Some(r) = st.repl.replicas.get_mut(&id) else {
            continue;
        };
        r.state = ReplicaState::SendBulk;
        r.held.clear();
        if let Some(c) = st.clients.get(&id) {
            if !r.pre_psync {
                c.pending.fetch_add(line.len(), Ordering::SeqCst);
                let _ = c.tx.send(Bytes::from(line.clone()));
            }
            targets.push((id, r.capa_eof, c.tx.clone(), c.pending.clone()));
        }
    }
    let Some(pipe) = child.pipe else {
        return;
    };
    let shared = shared.clone();
    tokio::spawn(transfer(shared, pipe, targets));
}

type Target = (
    u64,
    bool,
    tokio::sync::mpsc::UnboundedSender<Bytes>,
    std::sync::Arc<std::sync::atomic::AtomicUsize>,
);

/// Streams the child's RDB bytes to the replicas: `$EOF:<mark>` framing for those
/// that offered `capa eof`, `$<len>` (after reading it all) for the others.
async fn transfer(
    shared: std::sync::Arc<Shared>,
    pipe: std::os::fd::OwnedFd,
    targets: Vec<Target>,
) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<std::io::Result<Bytes>>(16);
    tokio::task::spawn_blocking(move || {
        let mut f = std::fs::File::from(pipe);
        loop {
            let mut buf = vec![0u8; CHUNK];
            match f.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.blocking_send(Ok(Bytes::from(buf))).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.blocking_send(Err(e));
                    break;
                }
            }
        }
    });
    let mark = ids::random_hex(40);
    let eof_head = Bytes::from(format!("$EOF:{mark}\r\n"));
    let mut whole = BytesMut::new();
    let any_len = targets.iter().any(|t| !t.1);
    for t in targets.iter().filter(|t| t.1) {
        t.3.fetch_add(eof_head.len(), Ordering::SeqCst);
        let _ = t.2.send(eof_head.clone());
    }
    let mut total = 0usize;
    let mut tail = Vec::new();
    let mut failed = false;
    while let Some(chunk) = rx.recv().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                warn!("Replication snapshot pipe: {e}");
                failed = true;
                break;
            }
        };
        total += chunk.len();
        tail.extend_from_slice(&chunk[chunk.len().saturating_sub(9)..]);
        let cut = tail.len().saturating_sub(9);
        tail.drain(..cut);
        if any_len {
            whole.extend_from_slice(&chunk);
        }
        for t in targets.iter().filter(|t| t.1) {
            // Back-pressure: let the connection drain before queueing more.
            let deadline = Instant::now() + Duration::from_secs(60);
            while t.3.load(Ordering::Relaxed) > TRANSFER_WINDOW && !t.2.is_closed() {
                if Instant::now() > deadline {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            t.3.fetch_add(chunk.len(), Ordering::SeqCst);
            let _ = t.2.send(chunk.clone());
        }
    }
    // A complete RDB ends with the EOF opcode and an 8-byte checksum.
    if tail.len() < 9 || tail[0] != 0xFF {
        failed = true;
    }
    let mut st = shared.state.lock();
    if failed {
        warn!("Background transfer error: the snapshot child did not produce a complete RDB");
        for t in &targets {
            if let Some(c) = st.clients.get(&t.0) {
                c.kill.cancel();
            }
        }
        return;
    }
    let whole = whole.freeze();
    let len_head = Bytes::from(format!("${}\r\n", whole.len()));
    let mark_tail = Bytes::from(mark.into_bytes());
    info!("Background RDB transfer terminated with success ({total} bytes)");
    for t in &targets {
        let Some(r) = st.repl.replicas.get_mut(&t.0) else {
            continue;
        };
        let name = format!("{}:{}", r.ip, r.listening_port);
        let mut out = vec![];
        if t.1 {
            out.push(mark_tail.clone());
            r.state = ReplicaState::WaitAck;
            info!("Streamed RDB transfer with replica {name} succeeded (socket). Waiting for REPLCONF ACK from replica to enable streaming");
        } else {
            out.push(len_head.clone());
            out.push(whole.clone());
            let held = r.held.split().freeze();
            if !held.is_empty() {
                out.push(held);
            }
            r.state = ReplicaState::Online;
            r.ack_time = Instant::now();
            info!("Synchronization with replica {name} succeeded");
        }
        for b in out {
            t.3.fetch_add(b.len(), Ordering::SeqCst);
            let _ = t.2.send(b);
        }
    }
}
