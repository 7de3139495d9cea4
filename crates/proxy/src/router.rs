//! Following the topology: one [`Pool`] of shared links per node in use, the
//! current [`Route`] (epoch, master pool, replica pools), and the generation
//! counter client tasks watch to learn that the route changed.
//!
//! ```text
//!  TopologyFeed ──follow──> apply(topology)
//!                             │ higher epoch, new master: new Pool, old one retired
//!                             │ (stops taking requests at once; its links close
//!                             │ once answered, or at once if the node is dead)
//!                             ▼
//!                      Route { epoch, master, replicas } ──gen += 1──> client tasks
//!  Pool manager task per node: keeps `pool-size` links open; when one dies the
//!  pool is marked down (clients hold new requests) until a reconnect succeeds.
//! ```

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Weak};
use std::time::{Duration, Instant};

use parking_lot::{Mutex, RwLock};
use tandem_routing::{ObservationKind, Role, Topology, TopologyFeed};
use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use crate::config::{ProxyConfig, ReadFrom};
use crate::link::{self, ClientShared, Link, LinkOpts, Login, Obs};
use crate::metrics::Metrics;

/// The shared links to one node.
pub(crate) struct Pool {
    pub node: Arc<str>,
    pub role: Role,
    links: RwLock<Vec<Arc<Link>>>,
    /// Shared with the pool's links, which clear it the moment one fails.
    up: Arc<AtomicBool>,
    retired: AtomicBool,
    cancel: CancellationToken,
    next: AtomicUsize,
    /// Replicas: link to the master up and recent enough (`max-replica-lag`).
    pub healthy: AtomicBool,
    /// Last probe round trip, microseconds (0: not measured).
    pub rtt_us: AtomicU64,
    dedicated: Mutex<Vec<Weak<Link>>>,
}

impl Pool {
    fn new(node: &str, role: Role) -> Arc<Pool> {
        Arc::new(Pool {
            node: node.into(),
            role,
            links: RwLock::new(Vec::new()),
            up: Arc::new(AtomicBool::new(false)),
            retired: AtomicBool::new(false),
            cancel: CancellationToken::new(),
            next: AtomicUsize::new(0),
            healthy: AtomicBool::new(false),
            rtt_us: AtomicU64::new(0),
            dedicated: Mutex::new(Vec::new()),
        })
    }

    /// Takes requests: connected, and not retired by a newer topology.
    pub fn usable(&self) -> bool {
        self.up.load(Ordering::Acquire) && !self.retired.load(Ordering::Acquire)
    }

    pub fn live_links(&self) -> usize {
        self.links.read().iter().filter(|l| !l.is_dead()).count()
    }

    /// Requests sent to the node and not answered yet, over its shared and
    /// dedicated links.
    pub fn inflight(&self) -> u64 {
        let shared: u64 = self.links.read().iter().map(|l| l.outstanding()).sum();
        let dedicated: u64 = self
            .dedicated
            .lock()
            .iter()
            .filter_map(Weak::upgrade)
            .map(|l| l.outstanding())
            .sum();
        shared + dedicated
    }

    /// A live shared link, round robin.
    pub fn pick(&self) -> Option<Arc<Link>> {
        if !self.usable() {
            return None;
        }
        let links = self.links.read();
        let n = links.len();
        let start = self.next.fetch_add(1, Ordering::Relaxed);
        (0..n)
            .map(|k| &links[(start + k) % n])
            .find(|l| !l.is_dead())
            .cloned()
    }

    /// Remembers a client's dedicated link so retiring the node closes it too.
    pub fn register_dedicated(&self, l: &Arc<Link>) {
        let mut d = self.dedicated.lock();
        d.retain(|w| w.strong_count() > 0);
        d.push(Arc::downgrade(l));
        drop(d);
        if self.retired.load(Ordering::Acquire) {
            l.close();
        }
    }

    /// Stops new sends to the node. Its links, shared and dedicated alike,
    /// close once they have answered what they carry (at most `drain` later):
    /// a master switched away from on purpose is alive and answers its paused
    /// requests, with their real outcome or with `-READONLY` once demoted
    /// (blocked commands with `-UNBLOCKED`; the client replays those). A link
    /// that has owed a reply for [`STALLED`] without a byte coming back closes
    /// at once if the node does not answer a PING on a fresh connection either
    /// (a frozen, dead or cut-off master): its requests are settled with the
    /// new master (`verify`). A node that answers is alive and holding them on
    /// purpose (a planned switchover pauses writes while it promotes the
    /// replica), so its links wait for the real outcome, up to `drain`.
    fn retire(self: &Arc<Self>, drain: Duration, login: Option<Login>) {
        self.retired.store(true, Ordering::Release);
        self.up.store(false, Ordering::Release);
        self.cancel.cancel();
        let pool = self.clone();
        tokio::spawn(async move {
            let until = Instant::now() + drain;
            // When the node last answered a liveness probe.
            let mut answered: Option<Instant> = None;
            loop {
                let links: Vec<Arc<Link>> = {
                    let mut d = pool.dedicated.lock();
                    d.retain(|w| w.strong_count() > 0);
                    let shared = pool.links.read();
                    shared
                        .iter()
                        .cloned()
                        .chain(d.iter().filter_map(Weak::upgrade))
                        .filter(|l| !l.is_dead())
                        .collect()
                };
                let stalled = links
                    .iter()
                    .any(|l| !l.is_idle() && l.quiet_for() >= STALLED);
                if stalled && answered.is_none_or(|t| t.elapsed() >= STALLED) {
                    let ping = crate::verify::ask(
                        &pool.node,
                        login.as_ref(),
                        &[b"PING"],
                        LIVENESS_TIMEOUT,
                    )
                    .await;
                    answered = matches!(ping, Ok(Some(_))).then(Instant::now);
                }
                let alive = answered.is_some_and(|t| t.elapsed() < 2 * STALLED);
                let mut open = 0;
                for l in &links {
                    if l.is_idle()
                        || Instant::now() >= until
                        || (l.quiet_for() >= STALLED && !alive)
                    {
                        l.close();
                    } else {
                        open += 1;
                    }
                }
                if open == 0 {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
    }
}

/// A retired node's shared link that has received nothing for this long while
/// owing replies is given up (see [`Pool::retire`]).
const STALLED: Duration = Duration::from_millis(250);
/// How long a stalled link's node has to answer a PING to count as alive: a
/// running node answers in well under a millisecond on a LAN; this only adds to
/// the release of a frozen or cut-off master's clients.
const LIVENESS_TIMEOUT: Duration = Duration::from_millis(150);

/// Where requests go right now.
pub(crate) struct Route {
    pub epoch: u64,
    pub cluster: String,
    pub master: Option<Arc<Pool>>,
    pub replicas: Vec<Arc<Pool>>,
}

/// Shared state of the proxy's routing.
pub(crate) struct Router {
    pub cfg: Arc<ProxyConfig>,
    pub metrics: Arc<Metrics>,
    pub obs: Obs,
    route: RwLock<Arc<Route>>,
    gen: watch::Sender<u64>,
    pub started: Instant,
    pub run_id: String,
    /// Which of the proxy's threads this router serves; the first one alone
    /// counts topology events (every shard applies each topology) and logs them.
    pub shard: usize,
    /// Names this proxy's links to the nodes (`TANDEM LINK`; see `verify`).
    link_tag_prefix: Arc<str>,
    me: Weak<Router>,
    /// How the proxy's own links log in (`backend-user`, `backend-password`).
    pub backend_login: Option<Login>,
    /// Every shard's clients (CLIENT LIST, CLIENT KILL).
    pub clients: Arc<crate::client_list::Registry>,
}

impl Router {
    /// One router per shard; `run_id` is the process's (the shards' links are
    /// told apart by their ids, which are unique in the process).
    pub fn new(
        cfg: Arc<ProxyConfig>,
        metrics: Arc<Metrics>,
        obs: Obs,
        run_id: String,
        shard: usize,
        clients: Arc<crate::client_list::Registry>,
    ) -> Arc<Router> {
        let backend_login = cfg.backend_password.as_ref().map(|p| Login {
            user: cfg
                .backend_user
                .as_ref()
                .map(|u| bytes::Bytes::from(u.clone())),
            pass: bytes::Bytes::from(p.clone()),
        });
        Arc::new_cyclic(|me| Router {
            backend_login,
            link_tag_prefix: run_id[..16].into(),
            me: me.clone(),
            cfg,
            metrics,
            obs,
            route: RwLock::new(Arc::new(Route {
                epoch: 0,
                cluster: String::new(),
                master: None,
                replicas: Vec::new(),
            })),
            gen: watch::channel(0).0,
            started: Instant::now(),
            run_id,
            shard,
            clients,
        })
    }

    pub fn route(&self) -> Arc<Route> {
        self.route.read().clone()
    }

    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.gen.subscribe()
    }

    fn bump(&self) {
        self.gen.send_modify(|g| *g += 1);
    }

    /// Options for a link to `node`, logged in as `login` (a client's user)
    /// or else as the proxy itself.
    pub fn link_opts(
        &self,
        node: Arc<str>,
        owner: Option<Arc<ClientShared>>,
        resp3: bool,
        db: i64,
        events: Option<mpsc::UnboundedSender<u64>>,
        login: Option<&Login>,
    ) -> LinkOpts {
        let login = login.or(self.backend_login.as_ref());
        let (init, init_count) = link::setup_commands(login, resp3, db, None);
        LinkOpts {
            node,
            init,
            init_count,
            timeout: if owner.is_some() {
                Duration::ZERO
            } else {
                self.cfg.backend_timeout
            },
            owner,
            resp3,
            connect_timeout: self.cfg.connect_timeout,
            events,
            obs: self.obs.clone(),
            metrics: self.metrics.clone(),
            pool_up: None,
            swallow_pushes: 0,
            init_then_raw: false,
            tag_prefix: Some(self.link_tag_prefix.clone()),
            verify: Some(self.me.clone()),
        }
    }

    /// How long a retired node's shared links may keep answering.
    fn drain(&self) -> Duration {
        self.cfg.backend_timeout.max(self.cfg.hold_timeout)
    }

    /// Applies a topology from the feed (ignores stale epochs).
    fn apply(self: &Arc<Self>, t: &Topology) {
        let first = self.shard == 0;
        let count = |c: &AtomicU64| {
            if first {
                Metrics::inc(c);
            }
        };
        count(&self.metrics.topology_updates);
        if let Err(e) = t.validate() {
            if first {
                warn!("ignoring an invalid topology: {e}");
            }
            count(&self.metrics.topologies_ignored);
            return;
        }
        let Some(shard) = t.primary_shard() else {
            return;
        };
        let cur = self.route();
        let cur_master = cur.master.as_ref().map(|p| p.node.to_string());
        if cur.master.is_some()
            && (t.epoch < cur.epoch
                || (t.epoch == cur.epoch && cur_master.as_deref() != Some(&*shard.master.addr)))
        {
            if first {
                warn!(
                    "ignoring topology epoch {} (current epoch {})",
                    t.epoch, cur.epoch
                );
            }
            count(&self.metrics.topologies_ignored);
            return;
        }
        let master = match &cur.master {
            Some(p) if *p.node == *shard.master.addr => p.clone(),
            old => {
                if let Some(old) = old {
                    if first {
                        info!(
                            "topology epoch {}: master {} -> {}",
                            t.epoch, old.node, shard.master.addr
                        );
                    }
                    count(&self.metrics.failovers_seen);
                    old.retire(self.drain(), self.backend_login.clone());
                } else if first {
                    info!("topology epoch {}: master {}", t.epoch, shard.master.addr);
                }
                let p = Pool::new(&shard.master.addr, Role::Master);
                tokio::spawn(manage(self.clone(), p.clone()));
                p
            }
        };
        let mut replicas = Vec::new();
        if self.cfg.read_from != ReadFrom::Master {
            for r in &shard.replicas {
                match cur.replicas.iter().find(|p| *p.node == *r.addr) {
                    Some(p) => replicas.push(p.clone()),
                    None => {
                        let p = Pool::new(&r.addr, Role::Replica);
                        tokio::spawn(manage(self.clone(), p.clone()));
                        replicas.push(p);
                    }
                }
            }
        }
        for old in &cur.replicas {
            if !replicas.iter().any(|p| Arc::ptr_eq(p, old)) {
                old.retire(self.drain(), self.backend_login.clone());
            }
        }
        self.metrics
            .topology_epoch
            .store(t.epoch, Ordering::Relaxed);
        self.obs.epoch.store(t.epoch, Ordering::Relaxed);
        *self.route.write() = Arc::new(Route {
            epoch: t.epoch,
            cluster: t.cluster.clone(),
            master: Some(master),
            replicas,
        });
        self.bump();
    }
}

/// Applies every topology the feed delivers; keeps the last one if the feed ends.
pub(crate) async fn follow(router: Arc<Router>, mut feed: TopologyFeed, stop: CancellationToken) {
    loop {
        let t = feed.borrow_and_update().clone();
        if let Some(t) = t {
            router.apply(&t);
        }
        tokio::select! {
            r = feed.changed() => if r.is_err() { break },
            _ = stop.cancelled() => break,
        }
    }
}

/// Keeps a pool's links open; marks it down while a link is lost.
async fn manage(router: Arc<Router>, pool: Arc<Pool>) {
    let (ev_tx, mut ev_rx) = mpsc::unbounded_channel::<u64>();
    if pool.role == Role::Replica || router.cfg.read_from == ReadFrom::Nearest {
        tokio::spawn(probe_loop(router.clone(), pool.clone()));
    }
    let want = router.cfg.pool_size;
    let mut backoff = Duration::from_millis(10);
    let mut warned = false;
    while !pool.cancel.is_cancelled() {
        let live = pool.live_links();
        let mut connected = 0;
        if live < want {
            let mut fresh = Vec::new();
            for _ in live..want {
                let mut o =
                    router.link_opts(pool.node.clone(), None, false, 0, Some(ev_tx.clone()), None);
                o.pool_up = Some(pool.up.clone());
                match link::open(o).await {
                    Ok(l) => fresh.push(l),
                    Err(e) => {
                        if !warned {
                            warn!("cannot connect to {} ({:?}): {e}", pool.node, pool.role);
                            warned = true;
                        }
                        break;
                    }
                }
            }
            if pool.retired.load(Ordering::Acquire) {
                // Retired while connecting: nothing would close these.
                fresh.iter().for_each(|l| l.close());
                break;
            }
            connected = fresh.len();
            let mut ls = pool.links.write();
            ls.retain(|l| !l.is_dead());
            ls.extend(fresh);
        }
        let live = pool.live_links();
        // Back up only on proof the node accepts connections again (after a
        // link failure the other links may just not have noticed yet).
        if (connected > 0 || live == want) && !pool.up.load(Ordering::Acquire) {
            if pool.cancel.is_cancelled() {
                break;
            }
            info!("backend {} ({:?}) is up", pool.node, pool.role);
            pool.up.store(true, Ordering::Release);
            router.obs.report(&pool.node, ObservationKind::Up);
            router.bump();
            warned = false;
        }
        let wait = if live < want {
            let w = backoff;
            backoff = (backoff * 2).min(Duration::from_millis(250));
            w
        } else {
            backoff = Duration::from_millis(10);
            Duration::from_secs(3600)
        };
        tokio::select! {
            _ = pool.cancel.cancelled() => break,
            _ = tokio::time::sleep(wait) => {}
            ev = ev_rx.recv() => {
                // The failed link already cleared `up` (no new sends to this node);
                // clients learn it from their LinkFailed or their next send, and
                // are woken again when a reconnect sets it back.
                if ev.is_some() {
                    pool.up.store(false, Ordering::Release);
                }
                while ev_rx.try_recv().is_ok() {}
            }
        }
    }
}

/// Measures RTT and (replicas) whether the replica is in sync enough to serve reads.
async fn probe_loop(router: Arc<Router>, pool: Arc<Pool>) {
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    while !pool.cancel.is_cancelled() {
        tokio::select! {
            _ = pool.cancel.cancelled() => break,
            _ = tick.tick() => {}
        }
        match probe(&router, &pool).await {
            Ok((rtt, healthy)) => {
                pool.rtt_us.store(rtt.as_micros() as u64, Ordering::Relaxed);
                pool.healthy.store(healthy, Ordering::Relaxed);
            }
            Err(_) => pool.healthy.store(false, Ordering::Relaxed),
        }
    }
}

async fn probe(router: &Router, pool: &Pool) -> std::io::Result<(Duration, bool)> {
    let t0 = Instant::now();
    let frame = crate::verify::ask(
        &pool.node,
        router.backend_login.as_ref(),
        &[b"INFO", b"replication"],
        Duration::from_secs(1),
    )
    .await?;
    let rtt = t0.elapsed();
    let text = match frame {
        Some(tandem_resp::scan::Frame::Bulk(b)) | Some(tandem_resp::scan::Frame::Verbatim(b)) => {
            String::from_utf8_lossy(&b).to_string()
        }
        _ => return Ok((rtt, false)),
    };
    if pool.role == Role::Master {
        return Ok((rtt, true));
    }
    let field = |k: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
    };
    let link_up = field("master_link_status:").as_deref() == Some("up");
    let io_ago: u64 = field("master_last_io_seconds_ago:")
        .and_then(|v| v.parse().ok())
        .unwrap_or(u64::MAX);
    Ok((
        rtt,
        link_up && io_ago <= router.cfg.max_replica_lag.as_secs(),
    ))
}

impl Route {
    /// The pool a read-only request should use under `read-from`.
    pub fn read_pool(&self, how: ReadFrom) -> Option<&Arc<Pool>> {
        let healthy = || {
            self.replicas
                .iter()
                .filter(|p| p.usable() && p.healthy.load(Ordering::Relaxed))
        };
        match how {
            ReadFrom::Master => None,
            ReadFrom::Replica => {
                let n = healthy().count();
                if n == 0 {
                    return None;
                }
                let k = rand::random_range(0..n);
                healthy().nth(k)
            }
            ReadFrom::Nearest => {
                let best = healthy().min_by_key(|p| p.rtt_us.load(Ordering::Relaxed))?;
                let m = self.master.as_ref()?;
                let mr = m.rtt_us.load(Ordering::Relaxed);
                if mr == 0 || best.rtt_us.load(Ordering::Relaxed) < mr {
                    Some(best)
                } else {
                    None
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pool(node: &str, role: Role, healthy: bool, rtt_us: u64) -> Arc<Pool> {
        let p = Pool::new(node, role);
        p.up.store(true, Ordering::Release);
        p.healthy.store(healthy, Ordering::Relaxed);
        p.rtt_us.store(rtt_us, Ordering::Relaxed);
        p
    }

    fn is(p: Option<&Arc<Pool>>, want: &Arc<Pool>) -> bool {
        p.is_some_and(|p| Arc::ptr_eq(p, want))
    }

    /// `read-from nearest`: the healthy node with the lowest probe RTT, the
    /// master included (None: read from the master); `replica`: any healthy
    /// replica; a replica over `max-replica-lag` (unhealthy) serves no reads.
    #[test]
    fn reads_follow_read_from_rtt_and_health() {
        let master = pool("m:1", Role::Master, true, 300);
        let near = pool("r:1", Role::Replica, true, 100);
        let far = pool("r:2", Role::Replica, true, 500);
        let route = Route {
            epoch: 1,
            cluster: "c".into(),
            master: Some(master.clone()),
            replicas: vec![far.clone(), near.clone()],
        };
        assert!(route.read_pool(ReadFrom::Master).is_none());
        assert!(is(route.read_pool(ReadFrom::Nearest), &near));
        master.rtt_us.store(50, Ordering::Relaxed);
        assert!(
            route.read_pool(ReadFrom::Nearest).is_none(),
            "the master is nearest"
        );
        master.rtt_us.store(300, Ordering::Relaxed);
        near.healthy.store(false, Ordering::Relaxed);
        assert!(
            route.read_pool(ReadFrom::Nearest).is_none(),
            "only a farther replica is healthy"
        );
        assert!(is(route.read_pool(ReadFrom::Replica), &far));
        far.healthy.store(false, Ordering::Relaxed);
        assert!(route.read_pool(ReadFrom::Replica).is_none());
        near.healthy.store(true, Ordering::Relaxed);
        near.up.store(false, Ordering::Release);
        assert!(
            route.read_pool(ReadFrom::Replica).is_none(),
            "a replica that is down"
        );
    }
}
