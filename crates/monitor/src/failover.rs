//! Performing a failover: the steps, their order, their retries, and the event
//! that records them.
//!
//! Order (automatic): elect → promote (`TANDEM EPOCH E+1`, `REPLICAOF NO ONE`) →
//! publish (compare-and-set E → E+1) → reconfigure (other replicas follow; the
//! old master is fenced and follows if it answers). Promoting before publishing
//! means the topology never names a node that is not yet master; if publishing
//! fails, the promoted node is still the best candidate on the next attempt
//! (it reports the highest offset, and a node already master is eligible), so
//! the failover rolls forward. Compare-and-set on the epoch means two monitors
//! can never publish two masters for one epoch: the loser's candidate is then
//! named a replica by the winner's topology and the reconcile pass demotes it.
//!
//! A planned switchover adds a write pause on the healthy master (CLIENT PAUSE
//! WRITE) and waits until the target's offset equals the master's before
//! promoting, then demotes the old master while it is still paused: zero loss.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tandem_routing::{CasOutcome, Node, Topology};

use crate::actions::Applied;
use crate::client::{frame_text, Conn};
use crate::decide::{self, CandidateView, Fix};
use crate::driver::{unix_ms, Ctx};
use crate::events::{FailoverEvent, Stats, StepDurations};
use crate::info::ReplInfo;
use crate::MonitorError;

fn ms(d: Duration) -> u64 {
    d.as_millis() as u64
}

fn event_id(ctx: &Ctx) -> String {
    format!("{}-{}", ctx.cfg.id, unix_ms())
}

/// Fresh INFO of each replica, concurrently.
async fn look_at(ctx: &Arc<Ctx>, replicas: &[Node]) -> Vec<CandidateView> {
    let tasks: Vec<_> = replicas
        .iter()
        .map(|n| {
            let (ctx, node) = (ctx.clone(), n.clone());
            tokio::spawn(async move {
                let info = ctx.ops.info(&node.addr).await.ok();
                CandidateView { node, info }
            })
        })
        .collect();
    let mut out = Vec::with_capacity(replicas.len());
    for (t, n) in tasks.into_iter().zip(replicas) {
        out.push(t.await.unwrap_or_else(|_| CandidateView {
            node: n.clone(),
            info: None,
        }));
    }
    out
}

/// Epoch then role change on the candidate.
async fn promote(
    ctx: &Ctx,
    node: &Node,
    epoch: u64,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    match ctx.ops.set_epoch(&node.addr, epoch).await {
        Ok(Applied::Done) => {}
        Ok(Applied::NotSupported) => notes.push(format!(
            "{} does not know TANDEM EPOCH (stock Redis): promoted without an epoch",
            node.addr
        )),
        Err(e) => return Err(format!("TANDEM EPOCH on {}: {e}", node.addr)),
    }
    ctx.ops
        .make_master(&node.addr)
        .await
        .map_err(|e| format!("REPLICAOF NO ONE on {}: {e}", node.addr))
}

/// Compare-and-set with retries while the store is unavailable (bounded).
async fn publish(ctx: &Ctx, expected: u64, new: &Topology, notes: &mut Vec<String>) -> String {
    let deadline = Instant::now() + ctx.cfg.lease_ttl.max(Duration::from_secs(2));
    loop {
        let cas = tokio::time::timeout(
            ctx.cfg.lease_ttl,
            ctx.store.compare_and_set(Some(expected), new.clone()),
        )
        .await
        .unwrap_or_else(|_| {
            Err(tandem_routing::RoutingError::Unavailable(
                "compare-and-set timed out".into(),
            ))
        });
        match cas {
            Ok(CasOutcome::Applied) => {
                ctx.set_topology(new.clone());
                return "published".into();
            }
            Ok(CasOutcome::Conflict(stored)) => {
                let same = stored.as_ref().is_some_and(|s| s == new);
                if let Some(s) = stored {
                    ctx.set_topology(s);
                }
                return if same {
                    "published".into()
                } else {
                    "superseded".into()
                };
            }
            Err(e) => {
                notes.push(format!("publish: {e}"));
                if Instant::now() >= deadline {
                    return format!("failed: routing store: {e}");
                }
                tokio::time::sleep(ctx.cfg.interval).await;
            }
        }
    }
}

/// Points the other replicas at the new master and fences and demotes the old
/// master if it answers, all concurrently. Failures are notes: the reconcile
/// pass retries them.
async fn reconfigure(
    ctx: &Arc<Ctx>,
    topo: &Topology,
    shard: usize,
    old_master: &str,
    notes: &mut Vec<String>,
) {
    let Some(s) = topo.shards.get(shard) else {
        return;
    };
    let tasks: Vec<_> = s
        .replicas
        .iter()
        .map(|r| {
            let (ctx, addr, master) = (ctx.clone(), r.addr.clone(), s.master.addr.clone());
            let (epoch, fence) = (topo.epoch, r.addr == old_master);
            tokio::spawn(async move {
                let mut errs = Vec::new();
                if fence {
                    match ctx.ops.fence(&addr, epoch, &master).await {
                        Ok(Applied::Done) => {}
                        Ok(Applied::NotSupported) => errs.push(format!(
                            "{addr} does not know TANDEM FENCE (stock Redis): demoted by REPLICAOF only"
                        )),
                        Err(e) => errs.push(format!("fence {addr}: {e}")),
                    }
                }
                if let Err(e) = ctx.ops.follow(&addr, &master).await {
                    errs.push(format!("REPLICAOF on {addr}: {e}"));
                }
                errs
            })
        })
        .collect();
    for t in tasks {
        notes.extend(t.await.unwrap_or_default());
    }
}

/// The automatic failover of shard `idx`'s master, after quorum.
/// `restarted_offset`: the master is up but restarted without its data (its
/// offset now); only a replica holding more is promoted.
pub(crate) async fn automatic(
    ctx: &Arc<Ctx>,
    topo: &Topology,
    idx: usize,
    evidence: Vec<String>,
    detect_start: Instant,
    restarted_offset: Option<i64>,
) -> FailoverEvent {
    let decided = Instant::now();
    let started_at_ms = unix_ms() - ms(decided.saturating_duration_since(detect_start)) as i64;
    let mut ev = FailoverEvent {
        id: event_id(ctx),
        started_at: started_at_ms,
        reason: if restarted_offset.is_some() {
            "master-restarted-empty".into()
        } else {
            "master-down".into()
        },
        evidence,
        monitor: ctx.cfg.id.clone(),
        old_master: String::new(),
        new_master: None,
        epoch: None,
        candidates: Vec::new(),
        steps: StepDurations {
            detect_ms: ms(decided.saturating_duration_since(detect_start)),
            ..Default::default()
        },
        total_ms: 0,
        outcome: String::new(),
        notes: Vec::new(),
    };
    let Some(shard) = topo.shards.get(idx) else {
        ev.outcome = "failed: no such shard".into();
        return ev;
    };
    ev.old_master = shard.master.addr.clone();
    tracing::warn!(
        master = %shard.master.addr,
        evidence = ?ev.evidence,
        "master is down: failing over"
    );
    let master_down_for = ctx.health(&shard.master.addr).down_for(decided);
    let mut excluded: Vec<String> = Vec::new();
    let new_epoch = topo.epoch + 1;
    // Elect and promote; a candidate that fails to promote is left out and the
    // election rerun on fresh state.
    let chosen = loop {
        let t = Instant::now();
        let pool: Vec<Node> = shard
            .replicas
            .iter()
            .filter(|r| !excluded.contains(&r.addr))
            .cloned()
            .collect();
        let views = look_at(ctx, &pool).await;
        let (pick, standings) = match restarted_offset {
            Some(o) => decide::pick_over_restarted(&views, o),
            None => decide::pick_candidate(&views, &ctx.params, master_down_for),
        };
        if ev.candidates.is_empty() {
            ev.candidates = standings;
        }
        ev.steps.elect_ms += ms(t.elapsed());
        let Some(cand) = pick else {
            ev.outcome = "failed: no eligible replica".into();
            break None;
        };
        let t = Instant::now();
        let res = promote(ctx, &cand, new_epoch, &mut ev.notes).await;
        ev.steps.promote_ms += ms(t.elapsed());
        match res {
            Ok(()) => break Some(cand),
            Err(e) => {
                tracing::warn!("promotion failed, trying the next candidate: {e}");
                ev.notes.push(e);
                excluded.push(cand.addr.clone());
            }
        }
    };
    let Some(cand) = chosen else {
        Stats::bump(&ctx.stats.failovers_failed);
        ev.total_ms = ms(detect_start.elapsed());
        return ev;
    };
    let new_topo = decide::promoted_topology(topo, &cand);
    ev.new_master = Some(cand.addr.clone());
    ev.epoch = Some(new_epoch);
    let t = Instant::now();
    ev.outcome = publish(ctx, topo.epoch, &new_topo, &mut ev.notes).await;
    ev.steps.publish_ms = ms(t.elapsed());
    ev.total_ms = ms(detect_start.elapsed());
    if ev.outcome != "published" {
        Stats::bump(&ctx.stats.failovers_failed);
        return ev;
    }
    let t = Instant::now();
    reconfigure(ctx, &new_topo, idx, &ev.old_master, &mut ev.notes).await;
    ev.steps.reconfigure_ms = ms(t.elapsed());
    Stats::bump(&ctx.stats.failovers);
    ctx.stats
        .last_failover_ms
        .store(ev.total_ms, std::sync::atomic::Ordering::Relaxed);
    ctx.stats
        .total_failover_ms
        .fetch_add(ev.total_ms, std::sync::atomic::Ordering::Relaxed);
    ev
}

/// Applies one reconcile fix.
pub(crate) async fn apply_fix(ctx: &Ctx, epoch: u64, fix: &Fix) -> Result<(), String> {
    match fix {
        Fix::Demote { node, master } => {
            match ctx.ops.fence(&node.addr, epoch, &master.addr).await {
                Ok(Applied::Done) => {}
                Ok(Applied::NotSupported) => tracing::info!(
                    node = %node.addr,
                    "stock Redis: no TANDEM FENCE; demoting with REPLICAOF only"
                ),
                Err(e) => tracing::warn!(node = %node.addr, "TANDEM FENCE failed: {e}"),
            }
            ctx.ops
                .follow(&node.addr, &master.addr)
                .await
                .map_err(|e| e.to_string())
        }
        Fix::Repoint { node, master } => ctx
            .ops
            .follow(&node.addr, &master.addr)
            .await
            .map_err(|e| e.to_string()),
        Fix::Promote { node } => {
            let mut notes = Vec::new();
            promote(ctx, node, epoch, &mut notes).await
        }
        Fix::SetEpoch { node } => ctx
            .ops
            .set_epoch(&node.addr, epoch)
            .await
            .map(|_| ())
            .map_err(|e| e.to_string()),
    }
}

/// Polls `addr`'s replication offset on one connection until it reaches `want`.
async fn wait_offset(ctx: &Ctx, addr: &str, want: i64, deadline: Instant) -> Result<i64, String> {
    let timeout = ctx.ops.timeout;
    let mut c = Conn::connect(ctx.ops.dial(addr), ctx.cfg.auth.as_ref(), timeout)
        .await
        .map_err(|e| format!("{addr}: {e}"))?;
    loop {
        let f = c
            .call(&["INFO", "replication"], timeout)
            .await
            .map_err(|e| format!("{addr}: {e}"))?;
        let have = frame_text(&f)
            .and_then(|t| ReplInfo::parse(&t))
            .map_or(-1, |i| i.offset);
        if have >= want {
            return Ok(have);
        }
        if Instant::now() >= deadline {
            return Err(format!("{addr} at offset {have}, master at {want}"));
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// A planned switchover with zero data loss.
pub(crate) async fn planned(
    ctx: &Arc<Ctx>,
    target: Option<String>,
) -> Result<FailoverEvent, MonitorError> {
    if !ctx.is_leader() {
        return Err(MonitorError::NotLeader);
    }
    let _acting = ctx.acting.lock().await;
    let started = Instant::now();
    let topo = ctx.store.get().await?.ok_or(MonitorError::NoTopology)?;
    let fail = |m: String| MonitorError::Failover(m);
    let (idx, shard) = topo
        .shards
        .iter()
        .enumerate()
        .find(|(_, s)| {
            target
                .as_ref()
                .is_none_or(|t| s.replicas.iter().any(|r| &r.id == t || &r.addr == t))
        })
        .ok_or_else(|| {
            fail(format!(
                "{} is not a replica",
                target.clone().unwrap_or_default()
            ))
        })?;
    let master = shard.master.clone();
    let mut ev = FailoverEvent {
        id: event_id(ctx),
        started_at: unix_ms(),
        reason: "switchover".into(),
        evidence: vec![ctx.cfg.id.clone()],
        monitor: ctx.cfg.id.clone(),
        old_master: master.addr.clone(),
        new_master: None,
        epoch: None,
        candidates: Vec::new(),
        steps: StepDurations::default(),
        total_ms: 0,
        outcome: String::new(),
        notes: Vec::new(),
    };
    // Elect among the replicas (or take the named one).
    let t = Instant::now();
    let views = look_at(ctx, &shard.replicas).await;
    let (best, standings) = decide::pick_candidate(&views, &ctx.params, Duration::ZERO);
    ev.candidates = standings;
    let cand = match &target {
        Some(t) => shard
            .replicas
            .iter()
            .find(|r| &r.id == t || &r.addr == t)
            .cloned(),
        None => best,
    }
    .ok_or_else(|| fail("no eligible replica".into()))?;
    ev.steps.elect_ms = ms(t.elapsed());
    ev.steps.detect_ms = 0;
    // Let the target catch up while writes still flow (shortens the pause),
    // then freeze writes and wait for it to have everything.
    if let Ok(i) = ctx.ops.info(&master.addr).await {
        let pre = Instant::now() + ctx.cfg.switchover_timeout / 2;
        if let Err(e) = wait_offset(ctx, &cand.addr, i.offset, pre).await {
            tracing::info!("switchover: target still behind before the pause: {e}");
        }
    }
    let pause_ms = ms(ctx.cfg.switchover_timeout) + 1000;
    ctx.ops
        .pause_writes(&master.addr, pause_ms)
        .await
        .map_err(|e| fail(format!("CLIENT PAUSE on {}: {e}", master.addr)))?;
    let paused = Instant::now();
    let t = Instant::now();
    let caught_up = async {
        let want = ctx
            .ops
            .info(&master.addr)
            .await
            .map_err(|e| e.to_string())?
            .offset;
        wait_offset(
            ctx,
            &cand.addr,
            want,
            Instant::now() + ctx.cfg.switchover_timeout,
        )
        .await
    }
    .await;
    ev.steps.catch_up_ms = ms(t.elapsed());
    let unpause = || async {
        if let Err(e) = ctx.ops.unpause(&master.addr).await {
            tracing::warn!(node = %master.addr, "CLIENT UNPAUSE failed (the pause expires on its own): {e}");
        }
    };
    if let Err(e) = caught_up {
        unpause().await;
        return Err(fail(format!("target did not catch up: {e}")));
    }
    let new_epoch = topo.epoch + 1;
    let t = Instant::now();
    if let Err(e) = promote(ctx, &cand, new_epoch, &mut ev.notes).await {
        unpause().await;
        return Err(fail(e));
    }
    ev.steps.promote_ms = ms(t.elapsed());
    let new_topo = decide::promoted_topology(&topo, &cand);
    ev.new_master = Some(cand.addr.clone());
    ev.epoch = Some(new_epoch);
    let t = Instant::now();
    ev.outcome = publish(ctx, topo.epoch, &new_topo, &mut ev.notes).await;
    ev.steps.publish_ms = ms(t.elapsed());
    if ev.outcome != "published" {
        // The target is master but unpublished: put it back under the old master.
        if let Err(e) = ctx.ops.follow(&cand.addr, &master.addr).await {
            ev.notes.push(format!("rollback of {}: {e}", cand.addr));
        }
        unpause().await;
        ev.total_ms = ms(started.elapsed());
        ctx.events.record(ev.clone());
        return Err(fail(ev.outcome));
    }
    // The old master, still paused, follows the new one; then the others.
    let t = Instant::now();
    reconfigure(ctx, &new_topo, idx, &master.addr, &mut ev.notes).await;
    unpause().await;
    ev.steps.paused_ms = ms(paused.elapsed());
    ev.steps.reconfigure_ms = ms(t.elapsed());
    ev.total_ms = ms(started.elapsed());
    Stats::bump(&ctx.stats.switchovers);
    ctx.events.record(ev.clone());
    Ok(ev)
}
