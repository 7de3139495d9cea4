//! The monitor's decisions, as pure functions over what it has observed.
//!
//! Nothing here does I/O or reads a clock: the driver passes `now`, the node
//! states its probes collected and the observations other observers reported, and
//! gets back a verdict (is the master down? by whose evidence?), a candidate, a
//! new topology or a list of fixes to apply. Unit tests assert those exactly.
//!
//! The rules, and why:
//! - *Subjectively down* (this monitor's own view): every request sent over
//!   the last `down_after` failed (counted from the first failed request, not
//!   the last success, so a monitor that was itself starved of CPU does not
//!   mistake its own absence for the node's silence); or the connection was refused/reset on two probes in a row (a
//!   killed process's sockets are closed by the kernel at once: that is immediate
//!   evidence, confirmed by a second probe rather than a timeout); or refused once
//!   while another observer (a proxy's link error) also saw it refused.
//! - *Objectively down*: at least `quorum` distinct observers (this monitor
//!   included) whose latest observation in the recent window says down. An
//!   observer whose latest word is "up" does not count, so a monitor cut off from
//!   the master cannot fail it over while its peers still reach it.
//! - *Candidate*: a reachable replica, not syncing, priority != 0, whose link to
//!   the master has not been down much longer than the master itself; highest
//!   offset first, then lower priority value, then id.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tandem_routing::{Node, Observation, ObservationKind, Topology};

use crate::info::{NodeRole, ReplInfo};

/// What one probe of a node found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProbeOutcome {
    /// It answered PING (and INFO, when parseable).
    Up(Option<ReplInfo>),
    /// Connection refused or reset.
    Refused(String),
    /// No answer in time (or another non-refusal failure).
    Timeout(String),
}

impl ProbeOutcome {
    /// The observation kind to report for this outcome.
    pub fn kind(&self) -> ObservationKind {
        match self {
            ProbeOutcome::Up(_) => ObservationKind::Up,
            ProbeOutcome::Refused(_) => ObservationKind::Refused,
            ProbeOutcome::Timeout(_) => ObservationKind::Timeout,
        }
    }
}

/// This monitor's running view of one node, folded from its probes.
#[derive(Debug, Clone, Default)]
pub struct Health {
    pub last_ok: Option<Instant>,
    /// First failed probe since the last success (or since start).
    pub first_fail: Option<Instant>,
    pub consecutive_refused: u32,
    pub consecutive_failures: u32,
    pub last_probe: Option<Instant>,
    pub last_error: Option<String>,
    /// The last INFO replication it answered (kept while it is down).
    pub info: Option<ReplInfo>,
    /// When it was last seen to have restarted without its data (see
    /// [`lost_its_data`]).
    pub restarted: Option<Instant>,
    pub probes: u64,
}

impl Health {
    /// Folds one probe outcome in (sent and answered at `now`).
    pub fn record(&mut self, outcome: ProbeOutcome, now: Instant) {
        self.record_sent(outcome, now, now);
    }

    /// Folds one probe outcome in: the request went out at `sent`, the outcome
    /// is known at `now`. A failure period starts when the first failed request
    /// was *sent*: the monitor's own stalls (a starved process probes late) never
    /// count as the node's silence, because only time covered by failing
    /// requests does.
    pub fn record_sent(&mut self, outcome: ProbeOutcome, sent: Instant, now: Instant) {
        self.probes += 1;
        self.last_probe = Some(now);
        match outcome {
            ProbeOutcome::Up(info) => {
                self.last_ok = Some(now);
                self.first_fail = None;
                self.consecutive_refused = 0;
                self.consecutive_failures = 0;
                self.last_error = None;
                if let (Some(old), Some(new)) = (&self.info, &info) {
                    if lost_its_data(old, new) {
                        self.restarted = Some(now);
                    }
                }
                if info.is_some() {
                    self.info = info;
                }
            }
            ProbeOutcome::Refused(e) => {
                self.first_fail.get_or_insert(sent);
                self.consecutive_failures += 1;
                self.consecutive_refused += 1;
                self.last_error = Some(e);
            }
            ProbeOutcome::Timeout(e) => {
                self.first_fail.get_or_insert(sent);
                self.consecutive_failures += 1;
                self.consecutive_refused = 0;
                self.last_error = Some(e);
            }
        }
    }

    /// True when the last probe succeeded.
    pub fn is_up(&self) -> bool {
        self.last_ok.is_some() && self.consecutive_failures == 0
    }

    /// How long the node has been failing: since the first failed request was
    /// sent (zero when up).
    pub fn down_for(&self, now: Instant) -> Duration {
        match (self.consecutive_failures, self.first_fail) {
            (0, _) | (_, None) => Duration::ZERO,
            (_, Some(t)) => now.saturating_duration_since(t),
        }
    }
}

/// True when a node that was master is now another process (new `run_id`)
/// on another replication history (new replication id): it restarted without
/// its replication state, that is without its data, possibly between two
/// probes, too fast to be seen down. Its replicas are about to resync from it
/// and drop their data, so it must not stay master. A restart that loads its
/// snapshot keeps its replication id; a master whose first replica attaches
/// changes its replication id but not its run id; a promotion changes the
/// role.
pub fn lost_its_data(before: &ReplInfo, after: &ReplInfo) -> bool {
    before.role == NodeRole::Master
        && after.role == NodeRole::Master
        && !before.run_id.is_empty()
        && before.run_id != after.run_id
        && before.replid != after.replid
}

/// Timing and quorum settings the decisions use.
#[derive(Debug, Clone)]
pub struct Params {
    pub down_after: Duration,
    pub quorum: usize,
    /// How old another observer's report may be and still count.
    pub window: Duration,
    pub max_replica_link_down: Duration,
}

/// Latest observation per observer within the window, excluding `self_id`.
fn latest_by_observer<'a>(
    self_id: &str,
    obs: &'a [Observation],
    now_ms: i64,
    window: Duration,
) -> HashMap<&'a str, &'a Observation> {
    let oldest = now_ms - window.as_millis() as i64;
    let mut latest: HashMap<&str, &Observation> = HashMap::new();
    for o in obs
        .iter()
        .filter(|o| o.observer != self_id && o.at_ms >= oldest)
    {
        let e = latest.entry(o.observer.as_str()).or_insert(o);
        if o.at_ms >= e.at_ms {
            *e = o;
        }
    }
    latest
}

/// Did another observer see `node` refused after our last success?
/// `last_ok_age` is how long ago our last success was (None: never).
pub fn peer_refused(
    self_id: &str,
    obs: &[Observation],
    now_ms: i64,
    window: Duration,
    last_ok_age: Option<Duration>,
) -> bool {
    let after = last_ok_age.map_or(i64::MIN, |a| now_ms - a.as_millis() as i64);
    latest_by_observer(self_id, obs, now_ms, window)
        .values()
        .any(|o| o.kind == ObservationKind::Refused && o.at_ms > after)
}

/// This monitor's own verdict on a node.
pub fn subjectively_down(h: &Health, now: Instant, p: &Params, peer_refused: bool) -> bool {
    if h.consecutive_failures == 0 {
        return false;
    }
    h.consecutive_refused >= 2
        || (h.consecutive_refused >= 1 && peer_refused)
        || h.down_for(now) >= p.down_after
}

/// The observers (this monitor first, when it sees the node down) whose latest
/// word about the node in the window is "down".
pub fn down_votes(
    self_id: &str,
    self_down: bool,
    obs: &[Observation],
    now_ms: i64,
    window: Duration,
) -> Vec<String> {
    let mut votes: Vec<String> = Vec::new();
    if self_down {
        votes.push(self_id.to_string());
    }
    let mut others: Vec<String> = latest_by_observer(self_id, obs, now_ms, window)
        .into_values()
        .filter(|o| o.kind != ObservationKind::Up)
        .map(|o| o.observer.clone())
        .collect();
    others.sort();
    votes.extend(others);
    votes
}

/// The quorum verdict: Some(evidence) when the master is objectively down.
pub fn objectively_down(
    self_id: &str,
    self_down: bool,
    obs: &[Observation],
    now_ms: i64,
    p: &Params,
) -> Option<Vec<String>> {
    if !self_down {
        // The acting monitor must see the failure itself: it is the one about to
        // promote, and its own probe is the freshest evidence it has.
        return None;
    }
    let votes = down_votes(self_id, true, obs, now_ms, p.window);
    (votes.len() >= p.quorum.max(1)).then_some(votes)
}

/// True when the decision loop woke up much later than scheduled: the gap since
/// the end of its last turn exceeds both `down_after` and several intervals, so
/// every "no reply for a while" it holds may be its own absence, not the node's.
pub fn stalled(
    last_turn_end: Instant,
    now: Instant,
    interval: Duration,
    down_after: Duration,
) -> bool {
    now.saturating_duration_since(last_turn_end) > down_after.max(interval * 3)
}

/// A replica as seen right before an election.
#[derive(Debug, Clone)]
pub struct CandidateView {
    pub node: Node,
    /// None: it did not answer.
    pub info: Option<ReplInfo>,
}

/// Why a replica was not chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "why")]
pub enum Skip {
    Unreachable,
    PriorityZero,
    Syncing,
    /// Still loading its dataset at start (it answers `-LOADING`).
    Loading,
    NeverSynced,
    Stale {
        link_down_s: i64,
    },
    /// Not more data than the restarted master: promoting it gains nothing.
    NoMoreData,
}

/// One replica's standing in an election (for the failover event).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Standing {
    pub id: String,
    pub addr: String,
    pub offset: Option<i64>,
    pub priority: Option<u32>,
    pub skipped: Option<Skip>,
}

/// Picks the replica to promote. `master_down_for` is how long the master has
/// been failing: a replica whose link dropped when the master died is fresh.
pub fn pick_candidate(
    views: &[CandidateView],
    p: &Params,
    master_down_for: Duration,
) -> (Option<Node>, Vec<Standing>) {
    let bound_ms = (p.max_replica_link_down + master_down_for).as_millis() as i64;
    rank(views, |info| match info {
        None => Some(Skip::Unreachable),
        Some(i) if i.priority == 0 => Some(Skip::PriorityZero),
        Some(i) if i.sync_in_progress => Some(Skip::Syncing),
        Some(i) if i.loading => Some(Skip::Loading),
        Some(i) if i.role == NodeRole::Replica => match i.link_down_since_s {
            Some(s) if s < 0 => Some(Skip::NeverSynced),
            // INFO counts whole seconds: allow one more for the rounding.
            Some(s) if s * 1000 > bound_ms + 1000 => Some(Skip::Stale { link_down_s: s }),
            _ => None,
        },
        // Already a master: a promotion that did not get published (roll
        // forward), or a node whose master died and that was reset by hand.
        Some(_) => None,
    })
}

/// Picks the replica to promote over a master that restarted without its data
/// (offset `master_offset` now): any reachable replica with priority != 0 that
/// holds more than that, even mid-resync from the emptied master (its old data
/// stays until the transfer completes, and REPLICAOF NO ONE aborts it).
pub fn pick_over_restarted(
    views: &[CandidateView],
    master_offset: i64,
) -> (Option<Node>, Vec<Standing>) {
    rank(views, |info| match info {
        None => Some(Skip::Unreachable),
        Some(i) if i.priority == 0 => Some(Skip::PriorityZero),
        Some(i) if i.loading => Some(Skip::Loading),
        Some(i) if i.offset <= master_offset => Some(Skip::NoMoreData),
        Some(_) => None,
    })
}

/// Records every candidate's standing (with why it was skipped, if it was) and
/// returns the best eligible one: highest offset, then lower priority value,
/// then id.
fn rank(
    views: &[CandidateView],
    skip: impl Fn(Option<&ReplInfo>) -> Option<Skip>,
) -> (Option<Node>, Vec<Standing>) {
    let mut standings = Vec::new();
    let mut eligible: Vec<(&Node, &ReplInfo)> = Vec::new();
    for v in views {
        let skipped = skip(v.info.as_ref());
        standings.push(Standing {
            id: v.node.id.clone(),
            addr: v.node.addr.clone(),
            offset: v.info.as_ref().map(|i| i.offset),
            priority: v.info.as_ref().map(|i| i.priority),
            skipped: skipped.clone(),
        });
        if let (None, Some(i)) = (skipped, &v.info) {
            eligible.push((&v.node, i));
        }
    }
    eligible.sort_by(|(na, a), (nb, b)| {
        b.offset
            .cmp(&a.offset)
            .then(a.priority.cmp(&b.priority))
            .then(na.id.cmp(&nb.id))
    });
    (eligible.first().map(|(n, _)| (*n).clone()), standings)
}

/// The topology after promoting `new_master` (a replica of some shard): epoch + 1,
/// the new master, the other replicas, and the old master listed as a replica so
/// it is demoted and resyncs when it returns.
pub fn promoted_topology(old: &Topology, new_master: &Node) -> Topology {
    let mut t = old.clone();
    t.epoch = old.epoch + 1;
    for s in &mut t.shards {
        if let Some(pos) = s.replicas.iter().position(|r| r.addr == new_master.addr) {
            let promoted = s.replicas.remove(pos);
            let old_master = std::mem::replace(&mut s.master, promoted);
            s.replicas.push(old_master);
        }
    }
    t
}

/// The first topology of a deployment from `--nodes` (epoch 1, ids `node-N` by
/// list position). The first node is the master, unless it reports being a
/// replica of another listed node that reports master: then that node is (a
/// misordered list must not make the monitor demote the real master under an
/// empty node). `infos` holds what each node answered (missing: no answer).
pub fn initial_topology(
    cluster: &str,
    nodes: &[String],
    infos: &HashMap<String, ReplInfo>,
) -> Option<Topology> {
    let named: Vec<Node> = nodes
        .iter()
        .enumerate()
        .map(|(i, a)| Node::new(format!("node-{}", i + 1), a.clone()))
        .collect();
    let first = named.first()?;
    let master_idx = infos
        .get(&first.addr)
        .filter(|i| i.role == NodeRole::Replica)
        .and_then(|i| i.master_addr.as_deref())
        .and_then(|m| named.iter().position(|n| n.addr == m))
        .filter(|&p| {
            infos
                .get(&named[p].addr)
                .is_some_and(|i| i.role == NodeRole::Master)
        })
        .unwrap_or(0);
    let mut replicas = named.clone();
    let master = replicas.remove(master_idx);
    let t = Topology::single(cluster, 1, master, replicas);
    t.validate().ok()?;
    Some(t)
}

/// A correction that brings a node in line with the topology.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fix {
    /// The node claims master but the topology names it a replica: fence it at
    /// the topology's epoch and make it follow the master.
    Demote { node: Node, master: Node },
    /// A replica following the wrong master.
    Repoint { node: Node, master: Node },
    /// The topology's master reports itself a replica: make it master again.
    Promote { node: Node },
    /// A Tandem master whose recorded epoch is below the topology's.
    SetEpoch { node: Node },
}

/// The fixes that make reachable nodes match `topo`. `infos` maps an address to
/// what the node last said, only for nodes that are up right now.
pub fn reconcile(topo: &Topology, infos: &HashMap<String, ReplInfo>) -> Vec<Fix> {
    let mut fixes = Vec::new();
    for s in &topo.shards {
        if let Some(i) = infos.get(&s.master.addr) {
            match i.role {
                NodeRole::Replica => fixes.push(Fix::Promote {
                    node: s.master.clone(),
                }),
                NodeRole::Master => {
                    if i.tandem_epoch.is_some_and(|e| e < topo.epoch) {
                        fixes.push(Fix::SetEpoch {
                            node: s.master.clone(),
                        });
                    }
                }
            }
        }
        for r in &s.replicas {
            let Some(i) = infos.get(&r.addr) else {
                continue;
            };
            match i.role {
                NodeRole::Master => fixes.push(Fix::Demote {
                    node: r.clone(),
                    master: s.master.clone(),
                }),
                NodeRole::Replica if i.master_addr.as_deref() != Some(&s.master.addr) => fixes
                    .push(Fix::Repoint {
                        node: r.clone(),
                        master: s.master.clone(),
                    }),
                NodeRole::Replica => {}
            }
        }
    }
    fixes
}

#[cfg(test)]
#[path = "decide_tests.rs"]
mod tests;
