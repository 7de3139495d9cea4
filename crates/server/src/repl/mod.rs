//! Replication: Redis's master/replica protocol (PSYNC2, interoperable with real
//! Redis 7.0 both ways), plus Tandem's sync mode, epochs and fencing.
//!
//! ```text
//!  master                                              replica
//!  ──────                                              ───────
//!  write batch ─ drain ─> WriteStream::append ─ tap ─> feed(): per-replica channel
//!                         (backlog ring, offset)        (client-output-buffer-limit
//!                                                        replica), never blocks the lock
//!  PSYNC id off ──> +CONTINUE id + backlog[off..]       replica.rs: handshake, PSYNC,
//!               └─> +FULLRESYNC id off, forked RDB      load RDB, apply the stream via
//!                   ($EOF:<mark> with capa eof)          dispatch (master client), append
//!  REPLCONF ACK <- every second and after each           the master's bytes verbatim to
//!                  GETACK (sync mode)                    its own stream (chained replicas,
//!  gate.rs: repl_acked = Nth highest ack                 equal offsets for PSYNC2)
//! ```
//!
//! # Offsets and IDs
//! Offsets count bytes of the write stream exactly as Redis does; a replica appends
//! its master's bytes unchanged, so a replica's `master_repl_offset` equals the
//! master's and a promoted replica can answer `+CONTINUE` for its siblings. On
//! promotion the old ID becomes `replid2` up to `second_repl_offset` (PSYNC2).
//!
//! # Sync mode: the exact guarantee
//! With `replication-mode sync` and `min-sync-replicas N`, the reply to a batch of
//! commands that wrote is sent only after at least N replicas have reported, with
//! `REPLCONF ACK`, an offset at or past the end of that batch's bytes in the stream.
//! A Tandem replica acknowledges after it has *applied* the bytes (not once a
//! second): the master sends one `REPLCONF GETACK *` for all batches waiting at that
//! moment, and the replica answers once per read. So an OK a client saw in sync mode
//! is in the memory of N replicas; promoting any of them (the one with the highest
//! offset) loses no acknowledged write. Not guaranteed: durability on the replicas'
//! disks (that is `appendfsync`), and writes whose reply was never sent (they may or
//! may not survive). When too few replicas acknowledge within `sync-timeout` ms:
//! * `sync-fallback degrade`: the waiting batch is released, the node continues as
//!   async (logged; INFO `tandem_sync_state:degraded`), and returns to sync mode by
//!   itself once N replicas have caught up with the stream;
//! * `sync-fallback refuse`: the waiting batch's connection gets `-NOREPLICAS ...`
//!   and is closed (its writes are applied but were not acknowledged), and every
//!   further write is refused before it executes until N replicas have caught up.
//!
//! # Epochs and fencing
//! `TANDEM EPOCH SET n` records the cluster epoch this node serves under;
//! `TANDEM FENCE e [host port]` with `e` above it stops writes (`-FENCED ...`), and
//! optionally follows the new master. With `fence-timeout` > 0, a master that has
//! heard neither a replica ACK nor a TANDEM command for that long fences itself until
//! contact returns (DESIGN.md, "Self-fencing").
//!
//! # Differences from Redis 7.0
//! * The master always streams its snapshot from a forked child through a pipe
//!   (`repl-diskless-sync no` and `repl-diskless-sync-delay` are accepted, not
//!   acted on): `$EOF:<mark>` to replicas that offered `capa eof`, `$<len>` after
//!   reading the whole payload otherwise. One child serves every replica waiting
//!   when it starts.
//! * A replica reads the payload into memory and loads it into a fresh keyspace
//!   beside the old one (`repl-diskless-load` is not acted on): clients keep the old
//!   data until the swap, which costs memory for both for the duration.
//! * A restarted replica reuses the replication ID, offset and stream db stored in
//!   its RDB file (Redis's "rsi") only when it loaded that file (not with the AOF
//!   on); a restarted master always starts a new history.
//! * `WAIT` waits for the master's current offset rather than the client's last
//!   write (the same or later, so it may wait slightly longer).

pub mod commands;
pub mod ids;
mod info;
pub mod master;
pub mod replica;

use std::collections::BTreeMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tandem_commands::{flags, CommandSpec};
use tokio::sync::{oneshot, Notify};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use commands::COMMANDS;
pub use info::{info, stats as info_stats};

use crate::config::ClassLimit;
use crate::dispatch::Ctx;
use crate::state::{Shared, State};

/// The error of a write refused because too few replicas are in sync.
pub const NOREPLICAS: &str = "NOREPLICAS Not enough good replicas to write.";
/// The same, for sync mode (the reply a gated batch gets under `sync-fallback refuse`).
pub const NOREPLICAS_SYNC: &str =
    "NOREPLICAS Not enough replicas acknowledged the write within sync-timeout (replication-mode sync).";

/// Why a master whose sync replicas stopped acknowledging must not degrade to
/// async (`sync-fallback degrade`), if it must not: it is fenced, or, managed by a
/// monitor (`fence-timeout` > 0), nobody has reached it for half its
/// fence-timeout. Such a master may be cut off and already replaced: writes only
/// it holds would be acknowledged and then lost. The batch is refused instead.
pub fn degrade_refusal(shared: &Shared) -> Option<String> {
    degrade_refusal_of(&shared.state.lock().repl)
}

fn degrade_refusal_of(r: &ReplState) -> Option<String> {
    if let Some(e) = r.fenced_by {
        return Some(format!(
            "FENCED This node was fenced by epoch {e} (its epoch is {}): the write is not acknowledged",
            r.epoch
        ));
    }
    let ft = r.cfg.fence_timeout_ms;
    let silent = r.last_contact.elapsed();
    if r.self_fenced || (ft > 0 && silent > Duration::from_millis(ft / 2)) {
        return Some(format!(
            "NOREPLICAS No replica acknowledged the write within sync-timeout and no replica or monitor contact for {} ms: not acknowledged (this node may be cut off)",
            silent.as_millis()
        ));
    }
    None
}

/// Encoded `PING` and `REPLCONF GETACK *`, as a master feeds them.
pub const PING_CMD: &[u8] = b"*1\r\n$4\r\nPING\r\n";
pub const GETACK_CMD: &[u8] = b"*3\r\n$8\r\nREPLCONF\r\n$6\r\nGETACK\r\n$1\r\n*\r\n";

/// Where a replica link (master side) is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplicaState {
    /// Sent REPLCONF but no PSYNC yet.
    Handshake,
    /// Full sync asked for; waiting for the snapshot child to start.
    WaitBgsave,
    /// The snapshot is being transferred.
    SendBulk,
    /// `$EOF:` transfer done; the stream starts at the replica's first ACK (as
    /// Redis 7.0, so a real replica loads before it reads the stream).
    WaitAck,
    Online,
}

impl ReplicaState {
    pub fn name(self) -> &'static str {
        match self {
            ReplicaState::Handshake | ReplicaState::WaitBgsave => "wait_bgsave",
            ReplicaState::SendBulk => "send_bulk",
            ReplicaState::WaitAck | ReplicaState::Online => "online",
        }
    }
}

/// A replica connected to this node (keyed by its client id).
#[derive(Debug)]
pub struct Replica {
    pub ip: String,
    pub listening_port: u16,
    pub state: ReplicaState,
    pub capa_eof: bool,
    pub capa_psync2: bool,
    /// Came with SYNC (pre-PSYNC protocol): no `+FULLRESYNC` line before the payload.
    pub pre_psync: bool,
    pub ack: u64,
    pub ack_time: Instant,
    /// Stream bytes held while the snapshot is transferred (counted against the
    /// replica output buffer limit).
    pub held: BytesMut,
    pub soft_since: Option<Instant>,
}

/// The replica role's link to its master.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkState {
    Connect,
    Connecting,
    Handshake,
    Transfer,
    Connected,
}

impl LinkState {
    pub fn role_name(self) -> &'static str {
        match self {
            LinkState::Connect => "connect",
            LinkState::Connecting => "connecting",
            LinkState::Handshake => "handshake",
            LinkState::Transfer => "sync",
            LinkState::Connected => "connected",
        }
    }
}

#[derive(Debug)]
pub struct MasterLink {
    pub host: String,
    pub port: u16,
    pub state: LinkState,
    /// Stops the link task (REPLICAOF to elsewhere / NO ONE, shutdown).
    pub cancel: CancellationToken,
    pub running: bool,
    pub last_io: Instant,
    pub down_since: Instant,
    /// Bytes read from the master's stream (`slave_read_repl_offset`).
    pub read_offset: u64,
    /// The pseudo-client the stream is applied as.
    pub client_id: Option<u64>,
    pub transfer_size: i64,
    pub transfer_read: u64,
}

/// A WAIT in progress.
pub struct Waiter {
    pub client: u64,
    pub offset: u64,
    pub num: usize,
    pub deadline: Option<Instant>,
    pub tx: oneshot::Sender<Bytes>,
}

/// Settings read on hot paths, copied from the config by [`apply_config`].
#[derive(Debug, Clone, Default)]
pub struct ReplCfg {
    pub read_only: bool,
    pub serve_stale: bool,
    pub min_replicas: usize,
    pub min_replicas_lag: u64,
    pub sync_mode: bool,
    pub min_sync: usize,
    pub fence_timeout_ms: u64,
    pub ping_period: u64,
    pub timeout: u64,
    pub output: ClassLimit,
}

/// Replication state behind the `State` lock.
pub struct ReplState {
    pub replid: String,
    pub replid2: String,
    pub second_offset: i64,
    pub master: Option<MasterLink>,
    pub replicas: BTreeMap<u64, Replica>,
    pub sync_full: u64,
    pub sync_partial_ok: u64,
    pub sync_partial_err: u64,
    pub epoch: u64,
    /// The higher epoch this node was fenced by.
    pub fenced_by: Option<u64>,
    /// No replica ack and no monitor contact for `fence-timeout`.
    pub self_fenced: bool,
    pub last_contact: Instant,
    pub cfg: ReplCfg,
    /// Something in [`refuse`] may apply (skips it on the hot path otherwise).
    pub checks: bool,
    pub waiters: Vec<Waiter>,
    /// Wakes the replication task (link to (re)start, syncs pending).
    pub wake: Arc<Notify>,
    pub sync_degraded: bool,
    pub sync_refusing: bool,
    /// Writes (and PING) refused for a persistence error: the `MISCONF`
    /// text (see `persist::update_disk_error`).
    pub disk_error: Option<String>,
    /// The gate waits for acknowledgements (what the cron last set).
    pub sync_armed: bool,
    /// Offset a degraded sync mode must see acknowledged to re-arm.
    pub rearm_mark: u64,
    pub last_getack: u64,
    pub last_ping: Instant,
    pub last_getack_at: Instant,
    pub last_keepalive: Instant,
    /// The stream's history changed (role change, full sync): the gate's acked
    /// offset must be recomputed from scratch, not only raised.
    pub reset_acked: bool,
    /// The database the master's stream last selected (kept across links so a
    /// partial resync continues in the right database).
    pub master_db: usize,
}

impl Default for ReplState {
    fn default() -> Self {
        Self::new()
    }
}

impl ReplState {
    pub fn new() -> Self {
        ReplState {
            replid: ids::new_replid(),
            replid2: ids::ZERO_ID.to_string(),
            second_offset: -1,
            master: None,
            replicas: BTreeMap::new(),
            sync_full: 0,
            sync_partial_ok: 0,
            sync_partial_err: 0,
            epoch: 0,
            fenced_by: None,
            self_fenced: false,
            last_contact: Instant::now(),
            cfg: ReplCfg::default(),
            checks: false,
            waiters: Vec::new(),
            wake: Arc::new(Notify::new()),
            sync_degraded: false,
            sync_refusing: false,
            disk_error: None,
            sync_armed: false,
            rearm_mark: 0,
            last_getack: 0,
            last_ping: Instant::now(),
            last_getack_at: Instant::now(),
            last_keepalive: Instant::now(),
            reset_acked: false,
            master_db: 0,
        }
    }

    pub fn is_replica(&self) -> bool {
        self.master.is_some()
    }

    /// Replicas receiving the stream (for ACK counting).
    pub fn online(&self) -> impl Iterator<Item = (&u64, &Replica)> {
        self.replicas
            .iter()
            .filter(|(_, r)| r.state == ReplicaState::Online)
    }

    /// The highest offset at least `n` online replicas acknowledged.
    pub fn nth_ack(&self, n: usize) -> u64 {
        let mut acks: Vec<u64> = self.online().map(|(_, r)| r.ack).collect();
        if n == 0 || acks.len() < n {
            return 0;
        }
        acks.sort_unstable_by(|a, b| b.cmp(a));
        acks[n - 1]
    }

    fn good_replicas(&self) -> usize {
        let lag = self.cfg.min_replicas_lag;
        self.online()
            .filter(|(_, r)| r.ack_time.elapsed().as_secs() <= lag)
            .count()
    }

    pub fn update_checks(&mut self) {
        self.checks = self.disk_error.is_some()
            || self.master.is_some()
            || self.fenced_by.is_some()
            || self.self_fenced
            || self.cfg.min_replicas > 0
            || self.sync_refusing;
    }

    /// Starts a new history (promotion): the old ID stays valid up to `offset`.
    pub fn shift_replid(&mut self, offset: u64) {
        self.replid2 = std::mem::replace(&mut self.replid, ids::new_replid());
        self.second_offset = offset as i64 + 1;
        info!(
            "Setting secondary replication ID to {}, valid up to offset: {}. New replication ID is {}",
            self.replid2, self.second_offset, self.replid
        );
    }
}

/// Copies the replication settings out of the config (at start and after CONFIG
/// SET) and reacts to a changed `replicaof`.
pub fn apply_config(st: &mut State) {
    let c = &st.config;
    st.repl.cfg = ReplCfg {
        read_only: c.bool("replica-read-only"),
        serve_stale: c.bool("replica-serve-stale-data"),
        min_replicas: c.int("min-replicas-to-write").max(0) as usize,
        min_replicas_lag: c.int("min-replicas-max-lag").max(0) as u64,
        sync_mode: c.str("replication-mode") == "sync",
        min_sync: c.int("min-sync-replicas").max(1) as usize,
        fence_timeout_ms: c.int("fence-timeout").max(0) as u64,
        ping_period: c.int("repl-ping-replica-period").max(1) as u64,
        timeout: c.int("repl-timeout").max(1) as u64,
        output: st.eff.output[1],
    };
    let want = match c.get("replicaof") {
        crate::config::Val::Replicaof(t) => t.clone(),
        _ => None,
    };
    let have = st.repl.master.as_ref().map(|m| (m.host.clone(), m.port));
    if want != have {
        match want {
            Some((h, p)) => replica::set_master(st, h, p),
            None => replica::unset_master(st),
        }
    }
    st.repl.update_checks();
}

/// Commands refused by the replication state, in Redis's order: NOREPLICAS
/// (min-replicas / sync refuse), fencing, READONLY replica, MASTERDOWN.
pub fn refuse(ctx: &mut Ctx<'_>, spec: &CommandSpec, args: &[Bytes]) -> Option<String> {
    let r = &ctx.st.repl;
    if !r.checks {
        return None;
    }
    let spec = match spec.subcommands.is_empty() {
        true => spec,
        false => args
            .get(1)
            .and_then(|a| {
                spec.subcommands
                    .iter()
                    .find(|s| s.name.eq_ignore_ascii_case(&String::from_utf8_lossy(a)))
            })
            .unwrap_or(spec),
    };
    let from_master = r.master.as_ref().and_then(|m| m.client_id) == Some(ctx.id);
    if from_master {
        return None;
    }
    let write = spec.has(flags::WRITE);
    // Redis checks a disk error first, and refuses PING with it too.
    if let Some(e) = &r.disk_error {
        if write || spec.name == "ping" {
            return Some(e.clone());
        }
    }
    if write && r.master.is_none() {
        if let Some(e) = r.fenced_by {
            return Some(format!(
                "FENCED This node was fenced by epoch {e} (its epoch is {}): writes are refused",
                r.epoch
            ));
        }
        if r.self_fenced {
            return Some(format!(
                "FENCED No replica or monitor contact for {} ms (fence-timeout): writes are refused",
                r.cfg.fence_timeout_ms
            ));
        }
        if r.sync_refusing {
            return Some(NOREPLICAS_SYNC.to_string());
        }
        if r.cfg.min_replicas > 0 && r.good_replicas() < r.cfg.min_replicas {
            return Some(NOREPLICAS.to_string());
        }
    }
    if let Some(m) = &r.master {
        if write && r.cfg.read_only {
            return Some("READONLY You can't write against a read only replica.".into());
        }
        if m.state != LinkState::Connected && !r.cfg.serve_stale && !spec.has(flags::STALE) {
            return Some(
                "MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'."
                    .into(),
            );
        }
    }
    None
}

/// Output buffer check for a replica with `pending` bytes queued.
fn over_limit(lim: ClassLimit, pending: usize, soft_since: &mut Option<Instant>) -> bool {
    let pending = pending as u64;
    if lim.hard > 0 && pending > lim.hard {
        return true;
    }
    if lim.soft > 0 && pending > lim.soft {
        match soft_since {
            None => {
                *soft_since = Some(Instant::now());
                lim.soft_seconds == 0
            }
            Some(t) => t.elapsed().as_secs() >= lim.soft_seconds,
        }
    } else {
        *soft_since = None;
        false
    }
}

/// Hands the bytes the stream collected to every replica: online ones get them on
/// their connection's channel, syncing ones hold them until the snapshot is sent.
/// Called under the lock after every drain; never waits.
pub fn feed(st: &mut State) {
    if st.stream.tap.is_empty() {
        return;
    }
    let bytes = st.stream.tap.split().freeze();
    let lim = st.repl.cfg.output;
    let mut dropped = Vec::new();
    let mut sent = 0u64;
    for (id, r) in st.repl.replicas.iter_mut() {
        let Some(c) = st.clients.get(id) else {
            continue;
        };
        let pending = match r.state {
            ReplicaState::Handshake => continue,
            ReplicaState::Online => {
                // Count before sending: the connection subtracts once written.
                let before = c.pending.fetch_add(bytes.len(), Ordering::SeqCst);
                if c.tx.send(bytes.clone()).is_err() {
                    continue;
                }
                sent += bytes.len() as u64;
                before.wrapping_add(bytes.len())
            }
            _ => {
                r.held.extend_from_slice(&bytes);
                r.held.len().wrapping_add(c.pending.load(Ordering::Relaxed))
            }
        };
        if over_limit(lim, pending, &mut r.soft_since) {
            warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                id, c.addr
            );
            c.kill.cancel();
            dropped.push(*id);
        }
    }
    st.stats.net_repl_output_bytes += sent;
    for id in dropped {
        st.repl.replicas.remove(&id);
        st.stats.client_outbuf_limit_disconnections += 1;
    }
}

/// Recomputes the sync gate's acknowledged offset and serves WAITs (after an ACK
/// or a replica change).
pub fn acks_changed(shared: &Shared, st: &mut State) {
    let n = st.repl.cfg.min_sync;
    let acked = st.repl.nth_ack(n);
    if std::mem::take(&mut st.repl.reset_acked) {
        shared.gates.repl_acked.send_replace(acked);
    }
    shared.gates.repl_acked.send_if_modified(|v| {
        if acked > *v {
            *v = acked;
            true
        } else {
            false
        }
    });
    if st.repl.waiters.is_empty() {
        return;
    }
    let now = Instant::now();
    let repl = &mut st.repl;
    let mut i = 0;
    while i < repl.waiters.len() {
        let w = &repl.waiters[i];
        let count = repl.online().filter(|(_, r)| r.ack >= w.offset).count();
        let expired = w.deadline.is_some_and(|d| d <= now);
        if count >= w.num || expired || w.tx.is_closed() {
            let w = repl.waiters.swap_remove(i);
            let _ = w.tx.send(Bytes::from(format!(":{count}\r\n")));
        } else {
            i += 1;
        }
    }
}

/// Appends a master-generated command (PING, GETACK) to the stream and feeds it.
fn append_control(st: &mut State, cmd: &[u8]) {
    st.stream.append_raw(cmd);
    feed(st);
}

/// Replication's start, under the state lock before the load and before any
/// client is served: the configured role, the replication ID snapshots
/// record, and the history a snapshot kept (INFO shows them from the first
/// reply on, during the load too).
pub fn prepare(st: &mut State) {
    apply_config(st);
    // Snapshots record this node's replication ID.
    st.persist.repl_id = st.repl.replid.clone();
    replica::restore_history(st);
}

/// The replication task: starts the master link, sends GETACKs for waiting sync
/// batches, PINGs replicas, times out links and WAITs, re-arms sync mode, and
/// decides self-fencing.
pub async fn run(shared: Arc<Shared>) {
    let wake = shared.state.lock().repl.wake.clone();
    let mut tick = tokio::time::interval(Duration::from_millis(10));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = shared.shutdown.cancelled() => {
                let st = shared.state.lock();
                if let Some(m) = &st.repl.master {
                    m.cancel.cancel();
                }
                return;
            }
            _ = shared.gates.getack.notified() => getack(&shared),
            _ = wake.notified() => {}
            _ = tick.tick() => cron(&shared),
        }
        replica::ensure_link(&shared);
        master::start_pending_syncs(&shared);
    }
}

fn getack(shared: &Shared) {
    let mut st = shared.state.lock();
    if st.repl.is_replica() || st.repl.online().next().is_none() {
        return;
    }
    if st.stream.offset > st.repl.last_getack {
        append_control(&mut st, GETACK_CMD);
        st.repl.last_getack = st.stream.offset;
    }
}

fn cron(shared: &Shared) {
    let mut st = shared.state.lock();
    let st = &mut *st;
    let g = &shared.gates;
    let cfg = st.repl.cfg.clone();
    // Before the gate may be armed below: a changed history invalidates the
    // acked offset.
    if std::mem::take(&mut st.repl.reset_acked) {
        g.repl_acked.send_replace(st.repl.nth_ack(cfg.min_sync));
    }
    // Sync mode: configuration, timeouts reported by the gate, re-arming.
    g.sync_timeout_ms.store(
        st.config.int("sync-timeout").max(0) as u64,
        Ordering::Relaxed,
    );
    g.sync_refuse.store(
        st.config.str("sync-fallback") == "refuse",
        Ordering::Relaxed,
    );
    let master = !st.repl.is_replica();
    if g.sync_timed_out.swap(false, Ordering::AcqRel) && cfg.sync_mode && master {
        if g.sync_refuse.load(Ordering::Relaxed) {
            if !st.repl.sync_refusing {
                warn!("Sync replication: fewer than {} replicas acknowledged within sync-timeout; refusing writes until they catch up", cfg.min_sync);
            }
            st.repl.sync_refusing = true;
        } else if let Some(why) = degrade_refusal_of(&st.repl) {
            warn!("Sync replication: fewer than {} replicas acknowledged within sync-timeout, and not degrading: {why}", cfg.min_sync);
        } else if !st.repl.sync_degraded {
            warn!("Sync replication: fewer than {} replicas acknowledged within sync-timeout; degrading to async until they catch up", cfg.min_sync);
            st.repl.sync_degraded = true;
        }
        st.repl.rearm_mark = st.stream.offset;
    }
    if st.repl.sync_degraded && degrade_refusal_of(&st.repl).is_some() {
        // Degraded, then cut off from everyone: wait for replicas again (and
        // refuse at sync-timeout) rather than acknowledge writes only we hold.
        warn!("Sync replication: no replica or monitor contact; leaving degraded mode (writes wait for replicas again)");
        st.repl.sync_degraded = false;
    }
    if !cfg.sync_mode || !master {
        g.sync_mode.store(false, Ordering::Release);
        st.repl.sync_degraded = false;
        st.repl.sync_refusing = false;
    } else if st.repl.sync_degraded || st.repl.sync_refusing {
        if st.repl.nth_ack(cfg.min_sync) >= st.repl.rearm_mark {
            info!(
                "Sync replication: {} replicas caught up; sync mode re-armed",
                cfg.min_sync
            );
            st.repl.sync_degraded = false;
            st.repl.sync_refusing = false;
            g.sync_mode.store(true, Ordering::Release);
        } else {
            g.sync_mode.store(false, Ordering::Release);
        }
    } else {
        g.sync_mode.store(true, Ordering::Release);
    }
    // Forget links whose connection is gone; time out silent replicas.
    let clients = &st.clients;
    st.repl.replicas.retain(|id, _| clients.contains_key(id));
    let timeout = Duration::from_secs(cfg.timeout);
    for (id, r) in &st.repl.replicas {
        if r.state == ReplicaState::Online && r.ack_time.elapsed() > timeout {
            if let Some(c) = st.clients.get(id) {
                warn!(
                    "Disconnecting timedout replica (streaming sync): {}:{}",
                    r.ip, r.listening_port
                );
                c.kill.cancel();
            }
        }
    }
    st.stream.tapping = st
        .repl
        .replicas
        .values()
        .any(|r| r.state != ReplicaState::Handshake);
    // Replicas waiting for a snapshot to start, or for a `$<len>` payload still
    // being read, get a newline a second so their handshake does not time out.
    if st.repl.last_keepalive.elapsed() >= Duration::from_secs(1) {
        st.repl.last_keepalive = Instant::now();
        for (id, r) in &st.repl.replicas {
            let waiting = r.state == ReplicaState::WaitBgsave
                || (r.state == ReplicaState::SendBulk && !r.capa_eof);
            if let (true, Some(c)) = (waiting, st.clients.get(id)) {
                c.pending.fetch_add(1, Ordering::SeqCst);
                let _ = c.tx.send(Bytes::from_static(b"\n"));
            }
        }
    }
    if master {
        let has = st
            .repl
            .replicas
            .values()
            .any(|r| r.state != ReplicaState::Handshake);
        if has && st.repl.last_ping.elapsed() >= Duration::from_secs(cfg.ping_period) {
            append_control(st, PING_CMD);
            st.repl.last_ping = Instant::now();
        }
        if (st.repl.sync_degraded || st.repl.sync_refusing || !st.repl.waiters.is_empty())
            && st.stream.offset > st.repl.last_getack
            && st.repl.last_getack_at.elapsed() >= Duration::from_millis(100)
        {
            // Re-arming needs an acknowledgement of everything written so far.
            st.repl.rearm_mark = st.stream.offset;
            append_control(st, GETACK_CMD);
            st.repl.last_getack = st.stream.offset;
            st.repl.last_getack_at = Instant::now();
        }
    }
    // Self-fencing.
    let fenced = master
        && cfg.fence_timeout_ms > 0
        && st.repl.last_contact.elapsed() > Duration::from_millis(cfg.fence_timeout_ms);
    if fenced != st.repl.self_fenced {
        if fenced {
            warn!("No replica acknowledgement and no monitor contact for {} ms: refusing writes (self-fenced)", cfg.fence_timeout_ms);
        } else {
            info!("Contact restored: accepting writes again");
        }
        st.repl.self_fenced = fenced;
    }
    st.repl.sync_armed = g.sync_mode.load(Ordering::Acquire);
    st.repl.update_checks();
    acks_changed(shared, st);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn replica(state: ReplicaState, ack: u64) -> Replica {
        Replica {
            ip: "127.0.0.1".into(),
            listening_port: 1,
            state,
            capa_eof: true,
            capa_psync2: true,
            pre_psync: false,
            ack,
            ack_time: Instant::now(),
            held: BytesMut::new(),
            soft_since: None,
        }
    }

    #[test]
    fn nth_ack_counts_online_replicas_only() {
        let mut r = ReplState::new();
        r.replicas.insert(1, replica(ReplicaState::Online, 100));
        r.replicas.insert(2, replica(ReplicaState::Online, 50));
        r.replicas.insert(3, replica(ReplicaState::SendBulk, 500));
        assert_eq!(r.nth_ack(1), 100);
        assert_eq!(r.nth_ack(2), 50);
        assert_eq!(r.nth_ack(3), 0, "a syncing replica does not count");
        assert_eq!(r.nth_ack(0), 0);
    }

    #[test]
    fn output_limit_hard_and_soft() {
        let lim = ClassLimit {
            hard: 100,
            soft: 10,
            soft_seconds: 60,
        };
        let mut since = None;
        assert!(!over_limit(lim, 5, &mut since));
        assert!(
            !over_limit(lim, 50, &mut since),
            "soft limit has a grace period"
        );
        assert!(since.is_some());
        assert!(!over_limit(lim, 5, &mut since));
        assert!(since.is_none(), "back under the soft limit resets it");
        assert!(over_limit(lim, 101, &mut since));
        let now = ClassLimit {
            soft_seconds: 0,
            ..lim
        };
        assert!(over_limit(now, 11, &mut None));
    }

    #[test]
    fn shift_replid_keeps_the_old_history() {
        let mut r = ReplState::new();
        let old = r.replid.clone();
        r.shift_replid(1000);
        assert_eq!(r.replid2, old);
        assert_eq!(r.second_offset, 1001);
        assert_ne!(r.replid, old);
        assert!(ids::is_replid(&r.replid));
    }
}
