//! The `etcd` backend (etcd v3 API through etcd-client; tested against etcd 3.4).
//!
//! ```text
//!   /tandem/<cluster>/topology            topology JSON
//!   /tandem/<cluster>/epoch               its epoch, decimal (the CAS compares it)
//!   /tandem/<cluster>/leader              holder name, bound to the holder's lease
//!   /tandem/<cluster>/observations/<node>/<observer>   JSON, bound to a TTL lease
//!
//!   compare_and_set: txn( epoch == expected  (or: epoch key absent)
//!                         then put topology + epoch   else get topology )
//!   watch:  get (revision R) ─> watch topology key from R+1; on a broken stream
//!           re-watch from last seen mod_revision + 1 (no event missed); after a
//!           compaction, get again
//!   campaign: grant lease, txn( leader absent then put leader with lease ),
//!             renew = one keep-alive on the lease + check the key is still ours
//! ```
//!
//! The epoch key is what the CAS trusts; write topologies only through this
//! store. Renewal is explicit (the caller campaigns again within the TTL), not a
//! background keep-alive task: a leader whose loop is stuck must lose the lease.
//! A holder that restarts under the same name waits for its old lease to expire,
//! like anyone else. etcd leases have whole seconds (rounded up), and etcd
//! enforces a minimum TTL of 1.5 election timeouts.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, EventType, GetOptions, LeaseKeepAliveStream,
    LeaseKeeper, PutOptions, Txn, TxnOp, TxnOpResponse, WatchOptions,
};
use tokio::sync::{mpsc, Mutex};

use crate::embedded::DEFAULT_OBSERVATION_RETENTION;
use crate::stats::Stats;
use crate::{
    BoxFut, CasOutcome, Epoch, Lease, Observation, RoutingError, RoutingStore, StatsSnapshot,
    Topology, TopologyStream,
};

/// Bound on one unary etcd call (the client's own timeout would also cut watch
/// streams, so calls are bounded here instead).
const CALL_TIMEOUT: Duration = Duration::from_secs(3);
/// Watch channel depth (topologies are rare).
const WATCH_CHANNEL: usize = 64;
/// Pacing of watch re-establishment while etcd is unreachable.
const WATCH_RETRY_MIN: Duration = Duration::from_millis(50);
const WATCH_RETRY_MAX: Duration = Duration::from_secs(1);

fn unavailable(what: &str, e: impl std::fmt::Display) -> RoutingError {
    RoutingError::Unavailable(format!("etcd {what}: {e}"))
}

/// Runs one etcd call with [`CALL_TIMEOUT`].
async fn bounded<T>(
    what: &str,
    f: impl Future<Output = Result<T, etcd_client::Error>>,
) -> Result<T, RoutingError> {
    match tokio::time::timeout(CALL_TIMEOUT, f).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(unavailable(what, e)),
        Err(_) => Err(unavailable(what, "timed out")),
    }
}

/// Escapes `/` and `%` so names can be key segments.
fn segment(s: &str) -> String {
    s.replace('%', "%25").replace('/', "%2F")
}

struct HeldLease {
    id: i64,
    ttl: Duration,
    keeper: LeaseKeeper,
    responses: LeaseKeepAliveStream,
}

/// The lease observations are put with, reused until half its TTL is gone.
struct ObservationLease {
    id: i64,
    renew_after: Instant,
}

/// A [`RoutingStore`] in etcd, for one cluster.
pub struct EtcdStore {
    client: Client,
    prefix: String,
    stats: Arc<Stats>,
    retention: Duration,
    held: Mutex<HashMap<String, HeldLease>>,
    obs_lease: Mutex<Option<ObservationLease>>,
}

impl std::fmt::Debug for EtcdStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EtcdStore")
            .field("prefix", &self.prefix)
            .finish()
    }
}

impl EtcdStore {
    /// Connects to etcd at `endpoints` (`host:port` or `http://host:port`) and uses
    /// keys under `/tandem/<cluster>/`.
    pub async fn connect(endpoints: &[String], cluster: &str) -> Result<Self, RoutingError> {
        Self::connect_with(endpoints, cluster, DEFAULT_OBSERVATION_RETENTION).await
    }

    /// Like [`EtcdStore::connect`], keeping observations for about `retention`
    /// (between half of it and all of it: they share a lease renewed at half-life).
    pub async fn connect_with(
        endpoints: &[String],
        cluster: &str,
        retention: Duration,
    ) -> Result<Self, RoutingError> {
        if cluster.is_empty() {
            return Err(RoutingError::Rejected("cluster name is empty".into()));
        }
        let urls: Vec<String> = endpoints
            .iter()
            .map(|e| {
                if e.contains("://") {
                    e.clone()
                } else {
                    format!("http://{e}")
                }
            })
            .collect();
        // HTTP/2 keep-alive notices a dead etcd on idle watch streams.
        let opts = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(1))
            .with_keep_alive(Duration::from_secs(1), Duration::from_secs(2))
            .with_keep_alive_while_idle(true);
        let client = bounded("connect", Client::connect(&urls, Some(opts))).await?;
        let stats = Arc::new(Stats::default());
        Stats::bump(&stats.connects);
        Ok(EtcdStore {
            client,
            prefix: format!("/tandem/{}/", segment(cluster)),
            stats,
            retention: retention.max(Duration::from_secs(2)),
            held: Mutex::new(HashMap::new()),
            obs_lease: Mutex::new(None),
        })
    }

    fn key(&self, name: &str) -> String {
        format!("{}{name}", self.prefix)
    }

    fn observation_prefix(&self, node: &str) -> String {
        format!("{}observations/{}/", self.prefix, segment(node))
    }

    /// The topology and the etcd revision it was read at.
    async fn get_at(&self) -> Result<(Option<Topology>, i64), RoutingError> {
        let mut c = self.client.clone();
        let resp = bounded("get", c.get(self.key("topology"), None)).await?;
        let rev = resp.header().map_or(0, |h| h.revision());
        let t = match resp.kvs().first() {
            Some(kv) => Some(Topology::from_json(kv.value())?),
            None => None,
        };
        Ok((t, rev))
    }

    async fn cas(
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
        let epoch_key = self.key("epoch");
        let topo_key = self.key("topology");
        let guard = match expected {
            None => Compare::version(epoch_key.clone(), CompareOp::Equal, 0),
            Some(e) => Compare::value(epoch_key.clone(), CompareOp::Equal, e.to_string()),
        };
        let txn = Txn::new()
            .when([guard])
            .and_then([
                TxnOp::put(topo_key.clone(), new.to_json(), None),
                TxnOp::put(epoch_key, new.epoch.to_string(), None),
            ])
            .or_else([TxnOp::get(topo_key, None)]);
        let mut c = self.client.clone();
        let resp = bounded("txn", c.txn(txn)).await?;
        if resp.succeeded() {
            Stats::bump(&self.stats.cas_applied);
            return Ok(CasOutcome::Applied);
        }
        Stats::bump(&self.stats.cas_conflicts);
        let stored = resp.op_responses().into_iter().find_map(|r| match r {
            TxnOpResponse::Get(g) => Some(g),
            _ => None,
        });
        let stored = match stored.as_ref().and_then(|g| g.kvs().first()) {
            Some(kv) => Some(Topology::from_json(kv.value())?),
            None => None,
        };
        Ok(CasOutcome::Conflict(stored))
    }

    /// Renews `holder`'s lease if this store holds it and the leader key is still
    /// bound to it. Ok(None): not held any more (caller campaigns afresh).
    async fn renew(&self, holder: &str, h: &mut HeldLease) -> Result<Option<Lease>, RoutingError> {
        bounded("lease keep-alive", h.keeper.keep_alive()).await?;
        let resp = bounded("lease keep-alive", h.responses.message()).await?;
        match resp {
            Some(r) if r.ttl() > 0 => {}
            _ => return Ok(None),
        }
        let mut c = self.client.clone();
        let got = bounded("get leader", c.get(self.key("leader"), None)).await?;
        match got.kvs().first() {
            Some(kv) if kv.lease() == h.id && kv.value() == holder.as_bytes() => Ok(Some(Lease {
                id: h.id,
                holder: holder.to_string(),
                ttl: h.ttl,
            })),
            _ => Ok(None),
        }
    }

    async fn campaign_inner(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> Result<Option<Lease>, RoutingError> {
        if ttl.is_zero() {
            return Err(RoutingError::Rejected("lease ttl must be positive".into()));
        }
        let mut held = self.held.lock().await;
        if let Some(h) = held.get_mut(holder) {
            match self.renew(holder, h).await {
                Ok(Some(l)) => return Ok(Some(l)),
                Ok(None) => {
                    held.remove(holder);
                }
                Err(e) => {
                    // Unknown whether the lease lives: drop the local handle; the next
                    // campaign finds out from etcd.
                    held.remove(holder);
                    return Err(e);
                }
            }
        }
        // etcd leases have whole seconds; round up so the lease never expires before
        // the caller's TTL.
        let secs = ttl.as_secs() + u64::from(ttl.subsec_nanos() > 0);
        let mut c = self.client.clone();
        let grant = bounded("lease grant", c.lease_grant(secs.max(1) as i64, None)).await?;
        let id = grant.id();
        let leader = self.key("leader");
        let txn = Txn::new()
            .when([Compare::version(leader.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(
                leader,
                holder.as_bytes().to_vec(),
                Some(PutOptions::new().with_lease(id)),
            )]);
        let resp = match bounded("txn", c.txn(txn)).await {
            Ok(r) => r,
            Err(e) => {
                let _ = bounded("lease revoke", c.lease_revoke(id)).await;
                return Err(e);
            }
        };
        if !resp.succeeded() {
            if let Err(e) = bounded("lease revoke", c.lease_revoke(id)).await {
                tracing::debug!("revoking unused lease {id}: {e}");
            }
            return Ok(None);
        }
        let (keeper, responses) = bounded("lease keep-alive", c.lease_keep_alive(id)).await?;
        let granted = Duration::from_secs(grant.ttl().max(1) as u64);
        held.insert(
            holder.to_string(),
            HeldLease {
                id,
                ttl: granted,
                keeper,
                responses,
            },
        );
        tracing::info!(holder, id, ttl = ?granted, "etcd leadership lease taken");
        Ok(Some(Lease {
            id,
            holder: holder.to_string(),
            ttl: granted,
        }))
    }

    async fn observation_lease(&self) -> Result<i64, RoutingError> {
        let mut cur = self.obs_lease.lock().await;
        if let Some(l) = cur.as_ref() {
            if Instant::now() < l.renew_after {
                return Ok(l.id);
            }
        }
        let mut c = self.client.clone();
        let secs = self.retention.as_secs().max(2) as i64;
        let g = bounded("lease grant", c.lease_grant(secs, None)).await?;
        *cur = Some(ObservationLease {
            id: g.id(),
            renew_after: Instant::now() + self.retention / 2,
        });
        Ok(g.id())
    }

    async fn report_inner(&self, obs: Observation) -> Result<(), RoutingError> {
        let lease = self.observation_lease().await?;
        let key = format!(
            "{}{}",
            self.observation_prefix(&obs.node),
            segment(&obs.observer)
        );
        let doc = serde_json::to_vec(&obs)
            .map_err(|e| RoutingError::Other(format!("encode observation: {e}")))?;
        let mut c = self.client.clone();
        let r = bounded(
            "put",
            c.put(key, doc, Some(PutOptions::new().with_lease(lease))),
        )
        .await;
        if r.is_err() {
            // The lease may have expired (etcd down longer than its TTL): take a new one next time.
            *self.obs_lease.lock().await = None;
        }
        r.map(|_| ())
    }

    async fn observations_inner(
        &self,
        node: &str,
        max_age: Duration,
    ) -> Result<Vec<Observation>, RoutingError> {
        let mut c = self.client.clone();
        let resp = bounded(
            "get",
            c.get(
                self.observation_prefix(node),
                Some(GetOptions::new().with_prefix()),
            ),
        )
        .await?;
        let cutoff = now_ms().saturating_sub(max_age.as_millis() as i64);
        let mut out = Vec::new();
        for kv in resp.kvs() {
            let o: Observation = serde_json::from_slice(kv.value())
                .map_err(|e| RoutingError::Other(format!("bad observation in etcd: {e}")))?;
            if o.at_ms >= cutoff {
                out.push(o);
            }
        }
        out.sort_by(|a, b| a.observer.cmp(&b.observer));
        Ok(out)
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// The watch task: delivers every topology put after `start` (an etcd revision),
/// re-watching after errors from the last delivered revision + 1.
async fn watch_loop(
    client: Client,
    key: String,
    mut next_rev: i64,
    mut last_epoch: Option<Epoch>,
    tx: mpsc::Sender<Topology>,
    stats: &Stats,
) {
    let mut backoff = WATCH_RETRY_MIN;
    loop {
        if tx.is_closed() {
            return;
        }
        match watch_once(
            &client,
            &key,
            &mut next_rev,
            &mut last_epoch,
            &tx,
            stats,
            &mut backoff,
        )
        .await
        {
            Ok(()) => return, // the receiver is gone
            Err(e) => {
                Stats::bump(&stats.errors);
                tracing::warn!(retry_in = ?backoff, "etcd watch broken: {e}");
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(backoff) => {}
            _ = tx.closed() => return,
        }
        backoff = (backoff * 2).min(WATCH_RETRY_MAX);
    }
}

/// One watch stream. Ok(()) when the receiver went away; Err when the stream broke.
async fn watch_once(
    client: &Client,
    key: &str,
    next_rev: &mut i64,
    last_epoch: &mut Option<Epoch>,
    tx: &mpsc::Sender<Topology>,
    stats: &Stats,
    backoff: &mut Duration,
) -> Result<(), RoutingError> {
    let mut c = client.clone();
    Stats::bump(&stats.watches);
    let mut stream = bounded(
        "watch",
        c.watch(
            key,
            Some(WatchOptions::new().with_start_revision(*next_rev)),
        ),
    )
    .await?;
    loop {
        let msg = tokio::select! {
            m = stream.message() => m.map_err(|e| unavailable("watch", e))?,
            _ = tx.closed() => return Ok(()),
        };
        let Some(resp) = msg else {
            return Err(RoutingError::Unavailable("etcd watch stream ended".into()));
        };
        *backoff = WATCH_RETRY_MIN;
        if resp.canceled() || resp.compact_revision() > 0 {
            // The revisions we wanted are compacted away: resume from the current
            // state (a topology is full state; only intermediate ones are lost).
            tracing::warn!(
                compact = resp.compact_revision(),
                "etcd watch compacted; re-reading the topology"
            );
            let got = bounded("get", c.get(key, None)).await?;
            let rev = got.header().map_or(0, |h| h.revision());
            if let Some(kv) = got.kvs().first() {
                let t = Topology::from_json(kv.value())?;
                if deliver(t, last_epoch, tx, stats).await.is_err() {
                    return Ok(());
                }
            }
            *next_rev = rev + 1;
            return Err(RoutingError::Unavailable(
                "etcd watch restarted after compaction".into(),
            ));
        }
        for ev in resp.events() {
            let Some(kv) = ev.kv() else { continue };
            *next_rev = kv.mod_revision() + 1;
            if ev.event_type() != EventType::Put {
                continue;
            }
            match Topology::from_json(kv.value()) {
                Ok(t) => {
                    if deliver(t, last_epoch, tx, stats).await.is_err() {
                        return Ok(());
                    }
                }
                Err(e) => tracing::warn!("invalid topology in etcd ignored: {e}"),
            }
        }
    }
}

async fn deliver(
    t: Topology,
    last_epoch: &mut Option<Epoch>,
    tx: &mpsc::Sender<Topology>,
    stats: &Stats,
) -> Result<(), ()> {
    if last_epoch.is_some_and(|e| t.epoch <= e) {
        return Ok(());
    }
    *last_epoch = Some(t.epoch);
    Stats::bump(&stats.watch_events);
    tx.send(t).await.map_err(|_| ())
}

impl RoutingStore for EtcdStore {
    fn get(&self) -> BoxFut<'_, Result<Option<Topology>, RoutingError>> {
        Box::pin(async move {
            Stats::bump(&self.stats.gets);
            self.stats.track(self.get_at().await.map(|(t, _)| t))
        })
    }

    fn compare_and_set(
        &self,
        expected: Option<Epoch>,
        new: Topology,
    ) -> BoxFut<'_, Result<CasOutcome, RoutingError>> {
        Box::pin(async move { self.stats.track(self.cas(expected, new).await) })
    }

    fn watch(&self) -> BoxFut<'_, Result<TopologyStream, RoutingError>> {
        Box::pin(async move {
            let (cur, rev) = self.stats.track(self.get_at().await)?;
            let (tx, rx) = mpsc::channel(WATCH_CHANNEL);
            let mut last_epoch = None;
            if let Some(t) = cur {
                last_epoch = Some(t.epoch);
                Stats::bump(&self.stats.watch_events);
                // The channel is new and empty: this cannot block.
                let _ = tx.send(t).await;
            }
            let client = self.client.clone();
            let key = self.key("topology");
            let stats = self.stats.clone();
            tokio::spawn(async move {
                watch_loop(client, key, rev + 1, last_epoch, tx, &stats).await;
            });
            Ok(rx)
        })
    }

    fn campaign(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> BoxFut<'_, Result<Option<Lease>, RoutingError>> {
        let holder = holder.to_string();
        Box::pin(async move {
            Stats::bump(&self.stats.campaigns);
            let r = self.stats.track(self.campaign_inner(&holder, ttl).await);
            if matches!(r, Ok(Some(_))) {
                Stats::bump(&self.stats.campaigns_won);
            }
            r
        })
    }

    fn resign(&self, lease: &Lease) -> BoxFut<'_, Result<(), RoutingError>> {
        let lease = lease.clone();
        Box::pin(async move {
            Stats::bump(&self.stats.resigns);
            let mut held = self.held.lock().await;
            if held.get(&lease.holder).is_some_and(|h| h.id == lease.id) {
                held.remove(&lease.holder);
            }
            drop(held);
            // Revoking deletes the leader key bound to the lease. A lease that
            // already expired is gone: resigning it is done.
            let mut c = self.client.clone();
            match tokio::time::timeout(CALL_TIMEOUT, c.lease_revoke(lease.id)).await {
                Ok(Ok(_)) => Ok(()),
                // etcd: "etcdserver: requested lease not found" (gRPC NotFound).
                Ok(Err(etcd_client::Error::GRpcStatus(s)))
                    if s.message().contains("lease not found") =>
                {
                    Ok(())
                }
                Ok(Err(e)) => self.stats.track(Err(unavailable("lease revoke", e))),
                Err(_) => self
                    .stats
                    .track(Err(unavailable("lease revoke", "timed out"))),
            }
        })
    }

    fn report(&self, obs: Observation) -> BoxFut<'_, Result<(), RoutingError>> {
        Box::pin(async move {
            Stats::bump(&self.stats.reports);
            self.stats.track(self.report_inner(obs).await)
        })
    }

    fn observations(
        &self,
        node: &str,
        max_age: Duration,
    ) -> BoxFut<'_, Result<Vec<Observation>, RoutingError>> {
        let node = node.to_string();
        Box::pin(async move {
            Stats::bump(&self.stats.observation_reads);
            self.stats
                .track(self.observations_inner(&node, max_age).await)
        })
    }

    fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }
}
