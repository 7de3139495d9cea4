//! The in-process embedded store: a revisioned topology document, one leadership
//! lease and recent observations, behind one mutex.
//!
//! ```text
//!   compare_and_set ─┐ lock ─ check epoch ─ persist (fsync) ─ apply ─ unlock
//!   campaign/resign ─┘                                   │
//!                                                        └─ changes.send(revision)
//!   watchers: wait on `changes`, copy every history entry after the revision they
//!             last delivered into their bounded channel (in order, none skipped
//!             unless a watcher falls more than HISTORY changes behind)
//! ```
//!
//! Persisting operations run on the blocking pool (they fsync); reads and
//! observations never touch the disk (observations are fresh evidence, worthless
//! after a restart).

use std::collections::{HashMap, VecDeque};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, watch};

use super::persist::{self, Document, PersistedLease};
use crate::stats::Stats;
use crate::{
    BoxFut, CasOutcome, Epoch, Lease, Observation, RoutingError, RoutingStore, StatsSnapshot,
    Topology, TopologyStream,
};

/// Topology changes kept for watchers that are behind. A watcher further behind
/// than this gets the newest topology (a topology is full state, so skipping
/// intermediate ones loses nothing a proxy needs).
const HISTORY: usize = 256;
/// Watch channel depth: topologies are rare; the bound only stops a stuck reader
/// from holding memory.
pub(crate) const WATCH_CHANNEL: usize = 64;
/// Observers remembered per node, and nodes remembered: bounds memory against a
/// misbehaving reporter (a deployment has a handful of each).
const MAX_OBSERVERS_PER_NODE: usize = 256;
const MAX_OBSERVED_NODES: usize = 4096;
/// How long an observation is kept by default.
pub const DEFAULT_OBSERVATION_RETENTION: Duration = Duration::from_secs(60);

struct LeaseState {
    id: i64,
    holder: String,
    ttl: Duration,
    expires: Instant,
}

struct State {
    doc: Document,
    history: VecDeque<(u64, Arc<Topology>)>,
    lease: Option<LeaseState>,
    /// node -> observer -> (observation, when it was received)
    observations: HashMap<String, HashMap<String, (Observation, Instant)>>,
}

struct Inner {
    dir: PathBuf,
    state: Mutex<State>,
    /// The latest revision; watchers wait on it.
    changes: watch::Sender<u64>,
    stats: Stats,
    retention: Duration,
}

/// The embedded routing store, hosted in-process (by the monitor). Cheap to clone.
#[derive(Clone)]
pub struct EmbeddedStore {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for EmbeddedStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedStore")
            .field("dir", &self.inner.dir)
            .finish()
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

impl EmbeddedStore {
    /// Opens (or creates) the store persisted in `dir`.
    pub fn open(dir: impl AsRef<Path>) -> Result<Self, RoutingError> {
        Self::open_with(dir, DEFAULT_OBSERVATION_RETENTION)
    }

    /// Like [`EmbeddedStore::open`], keeping observations for `retention`.
    pub fn open_with(dir: impl AsRef<Path>, retention: Duration) -> Result<Self, RoutingError> {
        let dir = dir.as_ref().to_path_buf();
        let doc = persist::load(&dir)?;
        let mut history = VecDeque::new();
        if let Some(t) = &doc.topology {
            history.push_back((doc.revision, Arc::new(t.clone())));
        }
        // A lease held before the restart stays with its holder for a full TTL from
        // now: nobody else may lead until the old holder had a chance to renew.
        let lease = doc.lease.as_ref().map(|l| LeaseState {
            id: l.id,
            holder: l.holder.clone(),
            ttl: Duration::from_millis(l.ttl_ms),
            expires: Instant::now() + Duration::from_millis(l.ttl_ms),
        });
        let (changes, _) = watch::channel(doc.revision);
        tracing::info!(dir = %dir.display(), revision = doc.revision,
            epoch = ?doc.topology.as_ref().map(|t| t.epoch), "embedded routing store opened");
        Ok(EmbeddedStore {
            inner: Arc::new(Inner {
                dir,
                state: Mutex::new(State {
                    doc,
                    history,
                    lease,
                    observations: HashMap::new(),
                }),
                changes,
                stats: Stats::default(),
                retention,
            }),
        })
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock cannot leave the state half-applied: the
        // document is replaced only after it was persisted.
        self.inner.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The current topology and the store revision.
    pub fn current(&self) -> (u64, Option<Topology>) {
        Stats::bump(&self.inner.stats.gets);
        let st = self.lock();
        (st.doc.revision, st.doc.topology.clone())
    }

    /// The compare-and-set, done synchronously (it fsyncs: call it off the async
    /// workers, as the trait implementation does).
    pub fn compare_and_set_blocking(
        &self,
        expected: Option<Epoch>,
        new: Topology,
    ) -> Result<CasOutcome, RoutingError> {
        new.validate()?;
        if let Some(e) = expected {
            if new.epoch <= e {
                return Err(RoutingError::Rejected(format!(
                    "new epoch {} does not increase expected epoch {e}",
                    new.epoch
                )));
            }
        }
        let mut st = self.lock();
        let stored = st.doc.topology.as_ref().map(|t| t.epoch);
        if stored != expected {
            Stats::bump(&self.inner.stats.cas_conflicts);
            return Ok(CasOutcome::Conflict(st.doc.topology.clone()));
        }
        let mut doc = st.doc.clone();
        doc.revision += 1;
        doc.topology = Some(new.clone());
        persist::save(&self.inner.dir, &doc)?;
        let rev = doc.revision;
        st.doc = doc;
        st.history.push_back((rev, Arc::new(new)));
        while st.history.len() > HISTORY {
            st.history.pop_front();
        }
        drop(st);
        self.inner.changes.send_replace(rev);
        Stats::bump(&self.inner.stats.cas_applied);
        Ok(CasOutcome::Applied)
    }

    /// Takes or renews the leadership lease (synchronous: a grant fsyncs).
    pub fn campaign_blocking(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, RoutingError> {
        Stats::bump(&self.inner.stats.campaigns);
        if ttl.is_zero() {
            return Err(RoutingError::Rejected("lease ttl must be positive".into()));
        }
        let now = Instant::now();
        let mut st = self.lock();
        if let Some(l) = st.lease.as_mut() {
            if l.expires > now {
                if l.holder != holder {
                    return Ok(None);
                }
                // Renewal: same id, new deadline; nothing to persist unless the TTL
                // changed (a restart grants a full TTL anyway).
                l.expires = now + ttl;
                let changed = l.ttl != ttl;
                l.ttl = ttl;
                let lease = Lease {
                    id: l.id,
                    holder: holder.to_string(),
                    ttl,
                };
                if changed {
                    let mut doc = st.doc.clone();
                    doc.lease = Some(PersistedLease {
                        id: lease.id,
                        holder: lease.holder.clone(),
                        ttl_ms: ttl.as_millis() as u64,
                    });
                    persist::save(&self.inner.dir, &doc)?;
                    st.doc = doc;
                }
                Stats::bump(&self.inner.stats.campaigns_won);
                return Ok(Some(lease));
            }
        }
        let mut doc = st.doc.clone();
        let id = doc.next_lease_id.max(1);
        doc.next_lease_id = id + 1;
        doc.lease = Some(PersistedLease {
            id,
            holder: holder.to_string(),
            ttl_ms: ttl.as_millis() as u64,
        });
        persist::save(&self.inner.dir, &doc)?;
        st.doc = doc;
        st.lease = Some(LeaseState {
            id,
            holder: holder.to_string(),
            ttl,
            expires: now + ttl,
        });
        Stats::bump(&self.inner.stats.campaigns_won);
        tracing::info!(holder, id, ?ttl, "routing lease granted");
        Ok(Some(Lease {
            id,
            holder: holder.to_string(),
            ttl,
        }))
    }

    /// Gives up `lease` if it is the one held (synchronous: persists).
    pub fn resign_blocking(&self, lease: &Lease) -> Result<(), RoutingError> {
        Stats::bump(&self.inner.stats.resigns);
        let mut st = self.lock();
        let held = st
            .lease
            .as_ref()
            .is_some_and(|l| l.id == lease.id && l.holder == lease.holder);
        if !held {
            return Ok(());
        }
        let mut doc = st.doc.clone();
        doc.lease = None;
        persist::save(&self.inner.dir, &doc)?;
        st.doc = doc;
        st.lease = None;
        tracing::info!(holder = %lease.holder, id = lease.id, "routing lease resigned");
        Ok(())
    }

    /// Records `obs` as the latest from its observer about its node.
    pub fn record(&self, obs: Observation) {
        Stats::bump(&self.inner.stats.reports);
        let now = Instant::now();
        let retention = self.inner.retention;
        let fresh = |at: &Instant| now.duration_since(*at) < retention;
        let mut st = self.lock();
        if !st.observations.contains_key(&obs.node) && st.observations.len() >= MAX_OBSERVED_NODES {
            // Full sweep only when the node table is full: a report stays
            // O(observers of its node).
            st.observations.retain(|_, by| {
                by.retain(|_, (_, at)| fresh(at));
                !by.is_empty()
            });
            if st.observations.len() >= MAX_OBSERVED_NODES {
                tracing::warn!(node = %obs.node, "too many observed nodes; observation dropped");
                return;
            }
        }
        let by = st.observations.entry(obs.node.clone()).or_default();
        by.retain(|_, (_, at)| fresh(at));
        if !by.contains_key(&obs.observer) && by.len() >= MAX_OBSERVERS_PER_NODE {
            // Forget the stalest observer to make room.
            if let Some(oldest) = by
                .iter()
                .min_by_key(|(_, (_, at))| *at)
                .map(|(k, _)| k.clone())
            {
                by.remove(&oldest);
            }
        }
        by.insert(obs.observer.clone(), (obs, now));
    }

    /// The latest observation of each observer about `node`, received within the
    /// retention and no older than `max_age` by `at_ms`.
    pub fn observations_of(&self, node: &str, max_age: Duration) -> Vec<Observation> {
        Stats::bump(&self.inner.stats.observation_reads);
        let now = Instant::now();
        let cutoff = now_ms().saturating_sub(max_age.as_millis() as i64);
        let st = self.lock();
        let mut out: Vec<Observation> = st
            .observations
            .get(node)
            .map(|by| {
                by.values()
                    .filter(|(o, at)| {
                        now.duration_since(*at) < self.inner.retention && o.at_ms >= cutoff
                    })
                    .map(|(o, _)| o.clone())
                    .collect()
            })
            .unwrap_or_default();
        out.sort_by(|a, b| a.observer.cmp(&b.observer));
        out
    }

    /// Topologies with their revisions: the current one first, then every change,
    /// until the receiver is dropped. Used by the in-process watch and the server.
    pub(crate) fn subscribe(&self) -> mpsc::Receiver<(u64, Arc<Topology>)> {
        Stats::bump(&self.inner.stats.watches);
        let (tx, rx) = mpsc::channel(WATCH_CHANNEL);
        let mut changes = self.inner.changes.subscribe();
        let store = self.clone();
        tokio::spawn(async move {
            let mut last: Option<u64> = None;
            loop {
                changes.borrow_and_update();
                let batch: Vec<(u64, Arc<Topology>)> = {
                    let st = store.lock();
                    let contiguous = match (last, st.history.front()) {
                        (Some(l), Some((first, _))) => *first <= l + 1,
                        _ => false,
                    };
                    if contiguous {
                        st.history
                            .iter()
                            .filter(|(r, _)| Some(*r) > last)
                            .cloned()
                            .collect()
                    } else {
                        // First delivery, or the watcher fell behind the history.
                        st.history.back().cloned().into_iter().collect()
                    }
                };
                for (rev, t) in batch {
                    if Some(rev) <= last {
                        continue;
                    }
                    if tx.send((rev, t)).await.is_err() {
                        return;
                    }
                    last = Some(rev);
                    Stats::bump(&store.inner.stats.watch_events);
                }
                tokio::select! {
                    r = changes.changed() => if r.is_err() { return },
                    _ = tx.closed() => return,
                }
            }
        });
        rx
    }
}

impl RoutingStore for EmbeddedStore {
    fn get(&self) -> BoxFut<'_, Result<Option<Topology>, RoutingError>> {
        Box::pin(async move { Ok(self.current().1) })
    }

    fn compare_and_set(
        &self,
        expected: Option<Epoch>,
        new: Topology,
    ) -> BoxFut<'_, Result<CasOutcome, RoutingError>> {
        let store = self.clone();
        Box::pin(async move {
            let r =
                tokio::task::spawn_blocking(move || store.compare_and_set_blocking(expected, new))
                    .await
                    .map_err(|e| RoutingError::Other(format!("compare-and-set task: {e}")))
                    .and_then(|r| r);
            self.inner.stats.track(r)
        })
    }

    fn watch(&self) -> BoxFut<'_, Result<TopologyStream, RoutingError>> {
        Box::pin(async move {
            let mut sub = self.subscribe();
            let (tx, rx) = mpsc::channel(WATCH_CHANNEL);
            tokio::spawn(async move {
                while let Some((_, t)) = sub.recv().await {
                    if tx.send((*t).clone()).await.is_err() {
                        return;
                    }
                }
            });
            Ok(rx)
        })
    }

    fn campaign(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> BoxFut<'_, Result<Option<Lease>, RoutingError>> {
        let store = self.clone();
        let holder = holder.to_string();
        Box::pin(async move {
            let r = tokio::task::spawn_blocking(move || store.campaign_blocking(&holder, ttl))
                .await
                .map_err(|e| RoutingError::Other(format!("campaign task: {e}")))
                .and_then(|r| r);
            self.inner.stats.track(r)
        })
    }

    fn resign(&self, lease: &Lease) -> BoxFut<'_, Result<(), RoutingError>> {
        let store = self.clone();
        let lease = lease.clone();
        Box::pin(async move {
            let r = tokio::task::spawn_blocking(move || store.resign_blocking(&lease))
                .await
                .map_err(|e| RoutingError::Other(format!("resign task: {e}")))
                .and_then(|r| r);
            self.inner.stats.track(r)
        })
    }

    fn report(&self, obs: Observation) -> BoxFut<'_, Result<(), RoutingError>> {
        Box::pin(async move {
            self.record(obs);
            Ok(())
        })
    }

    fn observations(
        &self,
        node: &str,
        max_age: Duration,
    ) -> BoxFut<'_, Result<Vec<Observation>, RoutingError>> {
        let out = self.observations_of(node, max_age);
        Box::pin(async move { Ok(out) })
    }

    fn stats(&self) -> StatsSnapshot {
        self.inner.stats.snapshot()
    }
}
