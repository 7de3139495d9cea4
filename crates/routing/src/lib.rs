//! Tandem's routing system: the topology model, epochs, and the one trait every
//! backend implements (embedded in the monitor, or etcd).
//!
//! ```text
//!   monitor ──compare_and_set(epoch E → E+1)──> RoutingStore ──watch──> proxies
//!      ^  campaign (lease) / observations          (embedded | etcd)
//!      └────────── report(Observation) <── proxies, monitors
//! ```
//!
//! Backends: [`EmbeddedStore`] (in the monitor's process, persisted to its data
//! folder), served over TCP by [`EmbeddedServer`] to [`EmbeddedClient`]s, and
//! `EtcdStore` (feature `etcd`, on by default; needs `protoc` to build).
//! [`open()`] picks one from a URL (`embedded://host:port`, `etcd://h:p,h:p`).
//!
//! Consumers that only need "the current topology" (the proxy) take a
//! [`TopologyFeed`] from [`follow()`]: a `tokio::sync::watch` receiver that always
//! holds the last topology seen, also while the store is unreachable (DESIGN.md:
//! proxies keep the last topology and keep serving); it only ever moves to a
//! higher epoch.
//!
//! This crate knows nothing of proxies or data servers: it stores and delivers
//! topologies, leases and observations.

pub mod embedded;
#[cfg(feature = "etcd")]
pub mod etcd;
mod follow;
mod open;
mod stats;
mod topology;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use embedded::{EmbeddedClient, EmbeddedServer, EmbeddedStore};
#[cfg(feature = "etcd")]
pub use etcd::EtcdStore;
pub use follow::{follow, follow_with, FollowHandle, FollowOptions};
pub use open::{open, RoutingUrl};
pub use stats::{Stats, StatsSnapshot};
pub use topology::{Epoch, Node, Role, Shard, Topology, TopologyError};

/// A boxed future, so the trait stays object-safe (`Arc<dyn RoutingStore>`).
pub type BoxFut<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a routing operation failed.
#[derive(Debug, thiserror::Error)]
pub enum RoutingError {
    /// The store could not be reached or the connection broke.
    #[error("routing store unavailable: {0}")]
    Unavailable(String),
    /// The stored document is invalid.
    #[error(transparent)]
    Topology(#[from] TopologyError),
    /// A lease was lost or is held by someone else.
    #[error("lease not held: {0}")]
    Lease(String),
    #[error("routing store error: {0}")]
    Other(String),
    /// The store refused the request as invalid (e.g. a compare-and-set whose new
    /// epoch does not increase, or a topology for another cluster).
    #[error("routing request rejected: {0}")]
    Rejected(String),
}

/// Result of a compare-and-set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CasOutcome {
    /// The new topology is stored.
    Applied,
    /// The stored epoch was not the expected one; here is what is stored.
    Conflict(Option<Topology>),
}

/// Evidence about a node's health, reported by proxies and monitors.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Observation {
    /// Who saw it (a proxy or monitor id).
    pub observer: String,
    /// The node address it is about.
    pub node: String,
    /// The topology epoch the observer was on.
    pub epoch: Epoch,
    pub kind: ObservationKind,
    /// Unix milliseconds.
    pub at_ms: i64,
}

/// What the observer saw.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ObservationKind {
    /// The node answered.
    Up,
    /// Connection refused or reset: strong, fast evidence.
    Refused,
    /// No answer within the observer's timeout.
    Timeout,
}

/// A held leadership lease (monitor leadership).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// Backend-specific lease id.
    pub id: i64,
    pub holder: String,
    pub ttl: Duration,
}

/// The routing store every backend implements.
pub trait RoutingStore: Send + Sync {
    /// The current topology, if one was ever published.
    fn get(&self) -> BoxFut<'_, Result<Option<Topology>, RoutingError>>;

    /// Stores `new` only if the stored epoch is `expected` (None: nothing stored yet)
    /// and `new.epoch > expected`. Never lets one epoch name two masters.
    fn compare_and_set(
        &self,
        expected: Option<Epoch>,
        new: Topology,
    ) -> BoxFut<'_, Result<CasOutcome, RoutingError>>;

    /// A stream of topologies: the current one first, then every change, in
    /// order. The embedded client's stream ends (returns None) when its connection
    /// breaks and the caller re-watches ([`follow()`] does); the etcd stream resumes
    /// by itself from the last revision it delivered, so it misses no change.
    fn watch(&self) -> BoxFut<'_, Result<TopologyStream, RoutingError>>;

    /// Tries to take (or renew, if `holder` already has it) the leadership lease.
    /// Ok(None) means someone else holds it.
    fn campaign(
        &self,
        holder: &str,
        ttl: Duration,
    ) -> BoxFut<'_, Result<Option<Lease>, RoutingError>>;

    /// Gives up a lease held by this process.
    fn resign(&self, lease: &Lease) -> BoxFut<'_, Result<(), RoutingError>>;

    /// Records an observation. Each backend keeps the latest observation per
    /// (node, observer), for a bounded time (its observation retention).
    fn report(&self, obs: Observation) -> BoxFut<'_, Result<(), RoutingError>>;

    /// Observations about `node` (the latest of each observer, sorted by
    /// observer) whose `at_ms` is no older than `max_age` by this process's clock.
    fn observations(
        &self,
        node: &str,
        max_age: Duration,
    ) -> BoxFut<'_, Result<Vec<Observation>, RoutingError>>;

    /// Operation counters of this handle (what it did, as seen from this process).
    fn stats(&self) -> StatsSnapshot {
        StatsSnapshot::default()
    }
}

/// Topologies as a backend delivers them.
pub type TopologyStream = tokio::sync::mpsc::Receiver<Topology>;

/// The last topology seen, for readers that only want the current state.
pub type TopologyFeed = tokio::sync::watch::Receiver<Option<Arc<Topology>>>;

/// A feed that never changes (a proxy started with `--master`/`--replica`).
pub fn fixed_feed(
    t: Topology,
) -> (
    tokio::sync::watch::Sender<Option<Arc<Topology>>>,
    TopologyFeed,
) {
    tokio::sync::watch::channel(Some(Arc::new(t)))
}
