//! Tandem's monitor: heartbeats every data node, decides when a master has
//! failed (with a quorum of observers), promotes the best replica, publishes the
//! new topology through the routing store, and demotes stray masters.
//!
//! ```text
//!   probe tasks (one per node, every `interval`)      routing store
//!     PING + INFO replication ──> Health board  ──report──> observations
//!                                      │                        │
//!   driver tick (every `interval`) <───┴──── observations ──────┘
//!     leader only (lease): master down? ── quorum ──> failover:
//!        elect (fresh INFO) → TANDEM EPOCH E+1, REPLICAOF NO ONE
//!        → compare_and_set(E → E+1) → REPLICAOF new on the others
//!     otherwise: reconcile (demote masters the topology calls replicas,
//!        repoint replicas, fence the old master when it returns)
//! ```
//!
//! The monitor links neither the store nor the server (DESIGN.md): it speaks RESP
//! to nodes with its own small client ([`client`]) and works on stock
//! `redis-server` nodes as well as Tandem ones. Decisions are pure functions
//! ([`decide`]) over what the probes saw; the driver only performs them.
//!
//! # Defaults, and why
//!
//! - `interval` 100 ms: a probe is two tiny requests; ten a second per node costs
//!   nothing and bounds the detection of a killed process (refused twice in a row)
//!   to about 100-200 ms.
//! - `down_after` 500 ms: the silent case (partition, stall) needs five missed
//!   probes, not one, so a scheduling hiccup cannot fail a master over; Tandem
//!   nodes never block for more than a few ms (DESIGN.md "no stalls"). Sentinel
//!   users saw flapping at 500 ms (redis/redis #8607) because Sentinel pings once a
//!   second, so 500 ms there meant a single late reply.
//! - probe timeout `down_after / 3`: several attempts fit in `down_after`.
//! - `lease_ttl` 1000 ms, renewed every ttl/3: a dead leader is replaced within a
//!   second; acting stops at 90 % of the ttl so two leaders never overlap.
//! - `max_replica_link_down` 10 s beyond the master's own downtime: a replica
//!   that lost its master long before the failure has stale data.
//!
//! With these, a SIGKILLed master is detected in ~0.03-0.2 s and the new
//! topology published a few ms later (measured 40-210 ms from the kill in the
//! tests); a silent (SIGSTOPped or partitioned) master in ~0.55-0.65 s (every
//! request sent over down-after must fail, counted from the first failed one).
//!
//! # Tandem nodes and stock Redis
//!
//! On Tandem nodes the promoted replica records the new epoch (`TANDEM EPOCH`),
//! a returning old master is fenced at that epoch (`TANDEM FENCE E host port`)
//! before it is told to follow, and the probes of the topology's master carry a
//! `TANDEM EPOCH` read, which is the "monitor contact" that keeps a master with
//! `fence-timeout` from fencing itself. A master the monitor no longer reaches
//! (partitioned) stops accepting writes after its `fence-timeout` on its own.
//!
//! Stock `redis-server` nodes answer the TANDEM commands "unknown command"; the
//! monitor then uses only `REPLICAOF` (noted in the failover event). The
//! guarantee is weaker: a Redis old master that is partitioned rather than dead
//! keeps accepting writes until the monitor reaches it again and demotes it, and
//! those writes are discarded when it resyncs, unless it runs with
//! `min-replicas-to-write 1` (with `min-replicas-max-lag N`, it stops accepting
//! writes N seconds after losing its replicas). Replication is asynchronous, so
//! writes not yet received by the promoted replica are lost (Redis's own
//! guarantee); the planned switchover (`FAILOVER` on the admin endpoint) pauses
//! writes and waits for the target's offset, so it loses none.

pub mod actions;
pub mod admin;
pub mod cli;
pub mod client;
pub mod decide;
mod driver;
pub mod events;
mod failover;
pub mod info;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use tandem_routing::{RoutingError, RoutingStore};

pub use driver::Handle;
pub use events::{FailoverEvent, StepDurations};

/// Everything `tandem monitor` is configured with.
#[derive(Debug, Clone)]
pub struct MonitorConfig {
    /// This monitor's observer id (distinct per monitor).
    pub id: String,
    pub cluster: String,
    /// Initial topology to publish when the store has none: first is master.
    pub nodes: Vec<String>,
    pub interval: Duration,
    pub down_after: Duration,
    /// Distinct observers (monitors and proxies) that must see the master down.
    pub quorum: usize,
    pub lease_ttl: Duration,
    pub max_replica_link_down: Duration,
    /// The login toward the nodes (`AUTH [user] password`).
    pub auth: Option<client::Auth>,
    /// Where events.jsonl goes (None: memory only).
    pub data_dir: Option<PathBuf>,
    /// The admin RESP endpoint (PING, STATUS, FAILOVER); port 0 picks one.
    pub admin_addr: Option<SocketAddr>,
    /// How long a planned switchover may hold writes waiting for the target.
    pub switchover_timeout: Duration,
    /// `(node, dial)`: reach the node the topology names `node` at `dial`
    /// instead (port mapping/NAT between this monitor and the nodes; tests use
    /// it to cut one monitor off from one node).
    pub dial_overrides: Vec<(String, String)>,
}

impl MonitorConfig {
    /// The defaults documented in the crate doc.
    pub fn new(id: impl Into<String>, cluster: impl Into<String>) -> MonitorConfig {
        MonitorConfig {
            id: id.into(),
            cluster: cluster.into(),
            nodes: Vec::new(),
            interval: Duration::from_millis(100),
            down_after: Duration::from_millis(500),
            quorum: 1,
            lease_ttl: Duration::from_millis(1000),
            max_replica_link_down: Duration::from_secs(10),
            auth: None,
            data_dir: None,
            admin_addr: None,
            switchover_timeout: Duration::from_millis(2000),
            dial_overrides: Vec::new(),
        }
    }

    /// The per-request timeout of probes and role commands.
    pub fn probe_timeout(&self) -> Duration {
        (self.down_after / 3).max(Duration::from_millis(20))
    }

    /// How long another observer's report counts.
    pub fn window(&self) -> Duration {
        (self.down_after * 2).max(self.interval * 4)
    }

    /// Checks timing rules across settings.
    pub fn validate(&self) -> Result<(), MonitorError> {
        let bad = |name: &str, why: &str| Err(MonitorError::Config(format!("{name}: {why}")));
        if self.id.is_empty() {
            return bad("id", "must not be empty");
        }
        if self.interval.is_zero() {
            return bad("interval-ms", "must be > 0");
        }
        if self.down_after < self.interval * 2 {
            return bad(
                "down-after-ms",
                "must be at least twice interval-ms (one late probe is not a failure)",
            );
        }
        if self.lease_ttl < self.interval * 3 {
            return bad("lease-ttl-ms", "must be at least three times interval-ms");
        }
        if self.quorum == 0 {
            return bad("quorum", "must be >= 1");
        }
        for n in &self.nodes {
            if actions::split_addr(n).is_err() {
                return bad("nodes", &format!("{n:?} is not HOST:PORT"));
            }
        }
        Ok(())
    }
}

/// Why the monitor could not start or act.
#[derive(Debug, thiserror::Error)]
pub enum MonitorError {
    #[error("invalid monitor setting {0}")]
    Config(String),
    #[error("can't use {0}: {1}")]
    Io(String, std::io::Error),
    #[error(transparent)]
    Routing(#[from] RoutingError),
    #[error("this monitor is not the leader")]
    NotLeader,
    #[error("no topology published yet")]
    NoTopology,
    #[error("failover failed: {0}")]
    Failover(String),
}

/// Starts the monitor's tasks on the current tokio runtime.
pub fn start(config: MonitorConfig, store: Arc<dyn RoutingStore>) -> Result<Handle, MonitorError> {
    config.validate()?;
    driver::start(config, store)
}
