//! The thin async driver around the pure decisions: probe tasks, the leadership
//! lease, the tick that checks masters and reconciles roles, and the [`Handle`].
//!
//! Tasks:
//! - one probe task per node of the topology (PING + INFO replication every
//!   `interval`, its own connection, its own timeout, so a stalled node never
//!   delays the others); results fold into the shared board and are reported to
//!   the routing store as observations;
//! - the lease task: `campaign` every ttl/3; the monitor acts only while its
//!   lease is fresh;
//! - the tick: reads the topology, and, when leading, fails over a master that
//!   is down by quorum, or applies the fixes [`decide::reconcile`] lists.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use parking_lot::Mutex;
use tandem_routing::{Lease, Observation, ObservationKind, RoutingStore, Topology};
use tokio::sync::{watch, Notify};
use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;

use crate::actions::NodeOps;
use crate::client::{frame_text, ClientError, Conn};
use crate::decide::{self, Fix, Health, Params, ProbeOutcome};
use crate::events::{EventLog, FailoverEvent, Stats};
use crate::info::ReplInfo;
use crate::{failover, MonitorConfig, MonitorError};

/// Wall-clock unix milliseconds (observations are compared across processes).
pub(crate) fn unix_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// What the monitor knows about one node.
#[derive(Debug, Default)]
pub(crate) struct NodeEntry {
    pub health: Health,
    /// Last time a fix was sent to it (fixes are rate limited).
    pub last_fix: Option<Instant>,
    /// Last observation reported to the store, and when.
    pub reported: Option<(ObservationKind, Instant)>,
    /// Wakes the node's probe at once (another observer saw it refuse).
    pub kick: Arc<Notify>,
    /// When the request behind `health.info` was sent.
    pub info_sent: Option<Instant>,
}

/// State shared by every task.
pub(crate) struct Ctx {
    pub cfg: MonitorConfig,
    pub store: Arc<dyn RoutingStore>,
    pub ops: NodeOps,
    pub board: Mutex<HashMap<String, NodeEntry>>,
    pub topology: Mutex<Option<Topology>>,
    /// When the topology's epoch last changed (older node infos are stale).
    pub topology_changed: Mutex<Instant>,
    pub epoch: AtomicU64,
    /// The held lease and until when it may be acted on.
    pub lease: Mutex<Option<(Lease, Instant)>>,
    pub stats: Stats,
    pub events: EventLog,
    /// One failover (automatic or planned) at a time.
    pub acting: tokio::sync::Mutex<()>,
    /// Last failed failover attempt (retries are spaced out).
    pub last_attempt: Mutex<Option<Instant>>,
    pub params: Params,
    /// Wakes the decision tick early (a probe just failed).
    pub wake: Notify,
}

impl Ctx {
    pub fn is_leader(&self) -> bool {
        self.lease
            .lock()
            .as_ref()
            .is_some_and(|(_, until)| Instant::now() < *until)
    }

    pub fn set_topology(&self, t: Topology) {
        let mut cur = self.topology.lock();
        if cur.as_ref().map(|c| c.epoch) != Some(t.epoch) {
            *self.topology_changed.lock() = Instant::now();
        }
        self.epoch.store(t.epoch, Ordering::Relaxed);
        *cur = Some(t);
    }

    pub fn health(&self, addr: &str) -> Health {
        self.board
            .lock()
            .get(addr)
            .map(|e| e.health.clone())
            .unwrap_or_default()
    }
}

/// A running monitor.
pub struct Handle {
    ctx: Arc<Ctx>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    admin_addr: Option<SocketAddr>,
}

impl Handle {
    /// The admin endpoint's bound address.
    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    pub fn is_leader(&self) -> bool {
        self.ctx.is_leader()
    }

    /// The STATUS document (topology, node states, events, counters).
    pub fn status(&self) -> serde_json::Value {
        status_json(&self.ctx)
    }

    /// Recent failover events, oldest first.
    pub fn events(&self) -> Vec<FailoverEvent> {
        self.ctx.events.recent()
    }

    /// A planned switchover to `target` (node id or address; None: the best
    /// replica), with writes paused until it caught up: zero data loss.
    pub async fn failover(&self, target: Option<String>) -> Result<FailoverEvent, MonitorError> {
        failover::planned(&self.ctx, target).await
    }

    /// Stops every task and gives up the lease. A failover under way is let
    /// finish first (bounded), so no promotion is left unpublished.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        let finishing = tokio::time::timeout(
            self.ctx.cfg.switchover_timeout + self.ctx.cfg.lease_ttl,
            self.ctx.acting.lock(),
        )
        .await;
        for t in &self.tasks {
            t.abort();
        }
        drop(finishing);
        let lease = self.ctx.lease.lock().take();
        if let Some((lease, _)) = lease {
            let _ = tokio::time::timeout(self.ctx.cfg.interval * 5, self.ctx.store.resign(&lease))
                .await;
        }
    }

    /// Stops every task at once without resigning: what a crash looks like to
    /// the others (the lease expires on its own).
    pub fn abort(self) {
        let _ = self.stop.send(true);
        for t in &self.tasks {
            t.abort();
        }
    }

    /// Waits until the monitor stops (it runs until shut down).
    pub async fn wait(mut self) {
        for t in self.tasks.drain(..) {
            let _ = t.await;
        }
    }
}

pub(crate) fn start(
    cfg: MonitorConfig,
    store: Arc<dyn RoutingStore>,
) -> Result<Handle, MonitorError> {
    if let Some(dir) = &cfg.data_dir {
        std::fs::create_dir_all(dir).map_err(|e| MonitorError::Io(dir.display().to_string(), e))?;
    }
    let params = Params {
        down_after: cfg.down_after,
        quorum: cfg.quorum,
        window: cfg.window(),
        max_replica_link_down: cfg.max_replica_link_down,
    };
    let ctx = Arc::new(Ctx {
        ops: NodeOps {
            auth: cfg.auth.clone(),
            timeout: cfg.probe_timeout(),
            dial_overrides: cfg.dial_overrides.iter().cloned().collect(),
        },
        events: EventLog::new(cfg.data_dir.clone()),
        cfg,
        store,
        board: Mutex::new(HashMap::new()),
        topology: Mutex::new(None),
        topology_changed: Mutex::new(Instant::now()),
        epoch: AtomicU64::new(0),
        lease: Mutex::new(None),
        stats: Stats::default(),
        acting: tokio::sync::Mutex::new(()),
        last_attempt: Mutex::new(None),
        params,
        wake: Notify::new(),
    });
    let (stop, stop_rx) = watch::channel(false);
    let mut tasks = Vec::new();
    let mut admin_addr = None;
    if let Some(addr) = ctx.cfg.admin_addr {
        let (bound, task) = crate::admin::serve(ctx.clone(), addr, stop_rx.clone())?;
        admin_addr = Some(bound);
        tasks.push(task);
    }
    tasks.push(tokio::spawn(lease_loop(ctx.clone(), stop_rx.clone())));
    tasks.push(tokio::spawn(tick_loop(ctx.clone(), stop_rx)));
    tracing::info!(
        id = %ctx.cfg.id,
        "monitor started: interval {:?}, down-after {:?}, quorum {}, lease {:?}",
        ctx.cfg.interval,
        ctx.cfg.down_after,
        ctx.cfg.quorum,
        ctx.cfg.lease_ttl
    );
    Ok(Handle {
        ctx,
        stop,
        tasks,
        admin_addr,
    })
}

/// Campaigns every ttl/3; the lease is acted on until 90 % of its ttl.
async fn lease_loop(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let ttl = ctx.cfg.lease_ttl;
    loop {
        let t0 = Instant::now();
        match tokio::time::timeout(ttl / 3, ctx.store.campaign(&ctx.cfg.id, ttl)).await {
            Ok(Ok(Some(lease))) => {
                let was = ctx.is_leader();
                *ctx.lease.lock() = Some((lease, t0 + ttl * 9 / 10));
                if !was {
                    tracing::info!(id = %ctx.cfg.id, "monitor is now the leader");
                }
            }
            Ok(Ok(None)) => {
                if ctx.lease.lock().take().is_some() {
                    tracing::warn!(id = %ctx.cfg.id, "lost the leadership lease");
                }
            }
            // Store unreachable: keep the lease until it expires on its own.
            Ok(Err(e)) => tracing::debug!("campaign failed: {e}"),
            Err(_) => tracing::debug!("campaign timed out"),
        }
        tokio::select! {
            _ = tokio::time::sleep_until((t0 + ttl / 3).into()) => {}
            _ = stop.changed() => return,
        }
    }
}

/// The decision tick.
async fn tick_loop(ctx: Arc<Ctx>, mut stop: watch::Receiver<bool>) {
    let mut probes: HashMap<String, JoinHandle<()>> = HashMap::new();
    let mut ticker = tokio::time::interval(ctx.cfg.interval);
    ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
    let mut last_tick = Instant::now();
    let mut tilt_until: Option<Instant> = None;
    loop {
        tokio::select! {
            _ = ticker.tick() => {}
            _ = ctx.wake.notified() => {}
            _ = stop.changed() => break,
        }
        if *stop.borrow() {
            break;
        }
        let now = Instant::now();
        if decide::stalled(last_tick, now, ctx.cfg.interval, ctx.cfg.down_after) {
            // This process did not run for a while (paused, starved, clock
            // jump): its view of the nodes is stale. Like Sentinel's TILT, act
            // on nothing until fresh probes cover a whole down-after.
            tracing::warn!(
                "monitor stalled for {:?}: no action for {:?} (tilt)",
                now.saturating_duration_since(last_tick),
                ctx.cfg.down_after
            );
            tilt_until = Some(now + ctx.cfg.down_after);
        }
        let tilted = tilt_until.is_some_and(|t| now < t);
        let topo = refresh_topology(&ctx).await;
        // Probe every node named by the topology (or the configured list).
        let wanted: Vec<String> = match &topo {
            Some(t) => t
                .shards
                .iter()
                .flat_map(|s| std::iter::once(&s.master).chain(&s.replicas))
                .map(|n| n.addr.clone())
                .collect(),
            None => ctx.cfg.nodes.clone(),
        };
        probes.retain(|addr, task| {
            let keep = wanted.contains(addr);
            if !keep {
                task.abort();
                ctx.board.lock().remove(addr);
            }
            keep
        });
        for addr in wanted {
            probes
                .entry(addr.clone())
                .or_insert_with(|| tokio::spawn(probe_loop(ctx.clone(), addr, stop.clone())));
        }
        last_tick = Instant::now();
        let Some(topo) = topo else { continue };
        if !ctx.is_leader() || tilted {
            continue;
        }
        let Ok(_acting) = ctx.acting.try_lock() else {
            continue; // a planned switchover is under way
        };
        if check_masters(&ctx, &topo).await {
            last_tick = Instant::now();
            continue;
        }
        apply_fixes(&ctx, &topo).await;
        last_tick = Instant::now();
    }
    for (_, t) in probes {
        t.abort();
    }
}

/// The stored topology (publishing the configured one when there is none); the
/// last known one when the store does not answer.
async fn refresh_topology(ctx: &Ctx) -> Option<Topology> {
    match tokio::time::timeout(ctx.cfg.interval, ctx.store.get()).await {
        Ok(Ok(Some(t))) => {
            ctx.set_topology(t.clone());
            return Some(t);
        }
        Ok(Ok(None)) => {
            if let Some(t) = initial_topology(ctx) {
                match ctx.store.compare_and_set(None, t.clone()).await {
                    Ok(tandem_routing::CasOutcome::Applied) => {
                        tracing::info!("published the initial topology: {}", t.to_json());
                        ctx.set_topology(t.clone());
                        return Some(t);
                    }
                    Ok(tandem_routing::CasOutcome::Conflict(Some(other))) => {
                        ctx.set_topology(other.clone());
                        return Some(other);
                    }
                    Ok(tandem_routing::CasOutcome::Conflict(None)) => {}
                    Err(e) => tracing::warn!("can't publish the initial topology: {e}"),
                }
            }
        }
        Ok(Err(e)) => tracing::debug!("routing store get failed: {e}"),
        Err(_) => tracing::debug!("routing store get timed out"),
    }
    ctx.topology.lock().clone()
}

/// `--nodes a,b,c` as epoch 1, once every listed node was probed (None before).
fn initial_topology(ctx: &Ctx) -> Option<Topology> {
    let board = ctx.board.lock();
    let mut infos = HashMap::new();
    for addr in &ctx.cfg.nodes {
        let e = board.get(addr)?;
        if e.health.probes == 0 {
            return None;
        }
        if let (true, Some(i)) = (e.health.is_up(), &e.health.info) {
            infos.insert(addr.clone(), i.clone());
        }
    }
    drop(board);
    let t = decide::initial_topology(&ctx.cfg.cluster, &ctx.cfg.nodes, &infos)?;
    if t.shards.first().map(|s| &s.master.addr) != ctx.cfg.nodes.first() {
        tracing::warn!(
            "the first listed node replicates from {}, which is a master: publishing that one as master",
            t.shards.first().map_or("?", |s| s.master.addr.as_str())
        );
    }
    Some(t)
}

/// Checks each shard's master; runs a failover when one is down by quorum.
/// Returns true when it acted or a master is down by quorum: role fixes then
/// wait, so a promoted-but-unpublished candidate is not demoted between two
/// failover attempts.
async fn check_masters(ctx: &Arc<Ctx>, topo: &Topology) -> bool {
    let mut any_down = false;
    for (idx, shard) in topo.shards.iter().enumerate() {
        let h = ctx.health(&shard.master.addr);
        let now = Instant::now();
        let since = *ctx.topology_changed.lock();
        if let (Some(t), Some(info)) = (h.restarted, &h.info) {
            if let Some(e) = ctx.board.lock().get_mut(&shard.master.addr) {
                e.health.restarted = None;
            }
            if t > since {
                // Back up between two probes, empty: its replicas would resync
                // from it and drop their data. Promote the one with the data.
                tracing::warn!(
                    master = %shard.master.addr,
                    offset = info.offset,
                    "master restarted without its data (new run id and replication id)"
                );
                Stats::bump(&ctx.stats.failures_detected);
                let ev = failover::automatic(
                    ctx,
                    topo,
                    idx,
                    vec![ctx.cfg.id.clone()],
                    t,
                    Some(info.offset),
                )
                .await;
                ctx.events.record(ev);
                return true;
            }
        }
        let now_ms = unix_ms();
        let obs = match tokio::time::timeout(
            ctx.cfg.interval,
            ctx.store
                .observations(&shard.master.addr, ctx.params.window),
        )
        .await
        {
            Ok(Ok(o)) => o,
            _ => Vec::new(),
        };
        let last_ok_age = h.last_ok.map(|t| now.saturating_duration_since(t));
        let peer = decide::peer_refused(&ctx.cfg.id, &obs, now_ms, ctx.params.window, last_ok_age);
        if peer && h.consecutive_failures == 0 {
            // A proxy (or peer) saw a link refused: probe now instead of at the
            // next interval.
            if let Some(e) = ctx.board.lock().get(&shard.master.addr) {
                e.kick.notify_one();
            }
            continue;
        }
        if !decide::subjectively_down(&h, now, &ctx.params, peer) {
            continue;
        }
        let Some(votes) = decide::objectively_down(&ctx.cfg.id, true, &obs, now_ms, &ctx.params)
        else {
            tracing::debug!(
                master = %shard.master.addr,
                "master looks down to this monitor but the quorum ({}) is not reached",
                ctx.cfg.quorum
            );
            continue;
        };
        any_down = true;
        // Space out retries of a failover that could not complete.
        let last = *ctx.last_attempt.lock();
        if last.is_some_and(|t| now.saturating_duration_since(t) < ctx.cfg.down_after * 2) {
            continue;
        }
        Stats::bump(&ctx.stats.failures_detected);
        let detect_start = h.first_fail.unwrap_or(now);
        let ev = failover::automatic(ctx, topo, idx, votes, detect_start, None).await;
        if ev.outcome != "published" {
            *ctx.last_attempt.lock() = Some(Instant::now());
        }
        ctx.events.record(ev);
        return true;
    }
    any_down
}

/// Sends the fixes the topology calls for, at most one per node per second.
async fn apply_fixes(ctx: &Arc<Ctx>, topo: &Topology) {
    let since = *ctx.topology_changed.lock();
    let now = Instant::now();
    let infos: HashMap<String, ReplInfo> = {
        let board = ctx.board.lock();
        board
            .iter()
            // Only answers to requests sent after the last topology change: a
            // probe in flight across a promotion carries the old state.
            .filter(|(_, e)| e.health.is_up() && e.info_sent.is_some_and(|t| t > since))
            .filter(|(_, e)| {
                e.last_fix
                    .is_none_or(|t| now.saturating_duration_since(t) >= Duration::from_secs(1))
            })
            .filter_map(|(a, e)| e.health.info.clone().map(|i| (a.clone(), i)))
            .collect()
    };
    for fix in decide::reconcile(topo, &infos) {
        let addr = match &fix {
            Fix::Demote { node, .. }
            | Fix::Repoint { node, .. }
            | Fix::Promote { node }
            | Fix::SetEpoch { node } => node.addr.clone(),
        };
        if let Some(e) = ctx.board.lock().get_mut(&addr) {
            e.last_fix = Some(now);
        }
        tracing::info!(epoch = topo.epoch, "applying {fix:?}");
        let res = failover::apply_fix(ctx, topo.epoch, &fix).await;
        Stats::bump(&ctx.stats.fixes_applied);
        if let Err(e) = res {
            tracing::warn!("fix {fix:?} failed: {e}");
        }
    }
}

/// Probes one node every interval until stopped.
async fn probe_loop(ctx: Arc<Ctx>, addr: String, mut stop: watch::Receiver<bool>) {
    let mut conn: Option<Conn> = None;
    let kick = ctx
        .board
        .lock()
        .entry(addr.clone())
        .or_default()
        .kick
        .clone();
    let mut next = Instant::now();
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(next.into()) => {}
            _ = kick.notified() => {}
            _ = stop.changed() => return,
        }
        let started = Instant::now();
        let outcome = probe_once(&ctx, &addr, &mut conn).await;
        Stats::bump(&ctx.stats.heartbeats);
        let kind = outcome.kind();
        if kind != ObservationKind::Up {
            Stats::bump(&ctx.stats.heartbeat_failures);
        }
        let now = Instant::now();
        let report = {
            let mut board = ctx.board.lock();
            let e = board.entry(addr.clone()).or_default();
            if kind != ObservationKind::Up && e.health.consecutive_failures == 0 {
                tracing::info!(node = %addr, "probe failed: {outcome:?}");
            } else if kind == ObservationKind::Up && e.health.consecutive_failures > 0 {
                tracing::info!(node = %addr, "node answers again");
            }
            if matches!(outcome, ProbeOutcome::Up(Some(_))) {
                e.info_sent = Some(started);
            }
            e.health.record_sent(outcome, started, now);
            // A first refusal is confirmed by a quick second probe, not a full
            // interval later; a node that stays dead is probed at the normal pace.
            let pause = match e.health.consecutive_refused {
                1 | 2 => (ctx.cfg.interval / 4).max(Duration::from_millis(5)),
                _ => ctx.cfg.interval,
            };
            next = (started + pause).max(now);
            // Down reports every probe (fresh evidence matters); "up" when it
            // changes and then a few times per window, so peers see it current.
            let due = match e.reported {
                None => true,
                Some((k, t)) => {
                    k != kind
                        || kind != ObservationKind::Up
                        || now.saturating_duration_since(t) >= ctx.params.window / 3
                }
            };
            if due {
                e.reported = Some((kind, now));
            }
            due
        };
        if kind != ObservationKind::Up {
            ctx.wake.notify_one();
        }
        if report {
            let obs = Observation {
                observer: ctx.cfg.id.clone(),
                node: addr.clone(),
                epoch: ctx.epoch.load(Ordering::Relaxed),
                kind,
                at_ms: unix_ms(),
            };
            match tokio::time::timeout(ctx.cfg.interval, ctx.store.report(obs)).await {
                Ok(Ok(())) => {}
                _ => Stats::bump(&ctx.stats.reports_failed),
            }
        }
    }
}

/// PING + INFO replication on the kept connection; a broken kept connection is
/// retried once on a fresh one, so "refused" always means a fresh connect failed
/// or a fresh connection broke.
async fn probe_once(ctx: &Ctx, addr: &str, conn: &mut Option<Conn>) -> ProbeOutcome {
    let timeout = ctx.cfg.probe_timeout();
    let pw = ctx.cfg.auth.as_ref();
    let is_master = ctx.topology.lock().as_ref().and_then(|t| t.role_of(addr))
        == Some(tandem_routing::Role::Master);
    let is_tandem = ctx
        .board
        .lock()
        .get(addr)
        .and_then(|e| e.health.info.as_ref())
        .is_some_and(|i| i.tandem_epoch.is_some());
    let tandem_master = is_master && is_tandem;
    for _ in 0..2 {
        let fresh = conn.is_none();
        let c = match conn {
            Some(c) => c,
            None => match Conn::connect(ctx.ops.dial(addr), pw, timeout).await {
                Ok(c) => conn.insert(c),
                Err(e) => return outcome_of(e),
            },
        };
        // A Tandem node the topology names master also gets `TANDEM EPOCH`: the
        // monitor contact that keeps it from fencing itself. A node that should
        // not be master gets no such contact (its self-fence stays on until it is
        // demoted).
        let contact: &[&[&str]] = &[
            &["PING"],
            &["INFO", "server", "replication"],
            &["TANDEM", "EPOCH"],
        ];
        let cmds = if tandem_master {
            contact
        } else {
            &contact[..2]
        };
        match c.pipeline(cmds, timeout).await {
            Ok(frames) => {
                if let Some(tandem_resp::scan::Frame::Error(m)) = frames.first() {
                    if m.starts_with(b"BUSY") {
                        return ProbeOutcome::Timeout(String::from_utf8_lossy(m).into_owned());
                    }
                }
                let loading = matches!(frames.first(),
                    Some(tandem_resp::scan::Frame::Error(m)) if m.starts_with(b"LOADING"));
                let info = frames
                    .get(1)
                    .and_then(frame_text)
                    .and_then(|t| ReplInfo::parse(&t))
                    .map(|i| ReplInfo { loading, ..i });
                return ProbeOutcome::Up(info);
            }
            Err(e) => {
                *conn = None;
                if fresh || !e.is_refused() {
                    return outcome_of(e);
                }
            }
        }
    }
    ProbeOutcome::Refused("connection broke twice".into())
}

fn outcome_of(e: ClientError) -> ProbeOutcome {
    match e {
        ClientError::Refused(m) => ProbeOutcome::Refused(m),
        other => ProbeOutcome::Timeout(other.to_string()),
    }
}

/// The STATUS document.
pub(crate) fn status_json(ctx: &Ctx) -> serde_json::Value {
    let topo = ctx.topology.lock().clone();
    let now = Instant::now();
    let nodes: Vec<serde_json::Value> = {
        let board = ctx.board.lock();
        let mut addrs: Vec<&String> = board.keys().collect();
        addrs.sort();
        addrs
            .into_iter()
            .filter_map(|a| board.get(a).map(|e| (a, e)))
            .map(|(addr, e)| {
                let h = &e.health;
                let id = topo.as_ref().and_then(|t| {
                    t.shards
                        .iter()
                        .flat_map(|s| std::iter::once(&s.master).chain(&s.replicas))
                        .find(|n| &n.addr == addr)
                        .map(|n| n.id.clone())
                });
                serde_json::json!({
                    "id": id,
                    "addr": addr,
                    "topology_role": topo.as_ref().and_then(|t| t.role_of(addr)),
                    "up": h.is_up(),
                    "last_ok_ms_ago": h.last_ok.map(|t| now.saturating_duration_since(t).as_millis() as u64),
                    "down_for_ms": h.down_for(now).as_millis() as u64,
                    "last_error": h.last_error,
                    "info": h.info,
                })
            })
            .collect()
    };
    let r = ctx.store.stats();
    let routing = serde_json::json!({
        "gets": r.gets,
        "cas_applied": r.cas_applied,
        "cas_conflicts": r.cas_conflicts,
        "campaigns": r.campaigns,
        "campaigns_won": r.campaigns_won,
        "reports": r.reports,
        "observation_reads": r.observation_reads,
        "errors": r.errors,
    });
    serde_json::json!({
        "monitor": ctx.cfg.id,
        "cluster": ctx.cfg.cluster,
        "leader": ctx.is_leader(),
        "topology": topo,
        "nodes": nodes,
        "events": ctx.events.recent(),
        "stats": ctx.stats.to_json(),
        "routing": routing,
        "settings": {
            "interval_ms": ctx.cfg.interval.as_millis() as u64,
            "down_after_ms": ctx.cfg.down_after.as_millis() as u64,
            "quorum": ctx.cfg.quorum,
            "lease_ttl_ms": ctx.cfg.lease_ttl.as_millis() as u64,
        },
    })
}
