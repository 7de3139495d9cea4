//! `tandem monitor`: the command line, the routing store it opens or hosts, and
//! the process lifetime (runs until SIGINT/SIGTERM, then resigns its lease).
//!
//! Routing store choice:
//! - `--routing URL` (`embedded://host:port` of another monitor, or
//!   `etcd://host:port,...`): use that store;
//! - otherwise host the embedded store in-process, persisted under
//!   `DATA/routing`, and serve it to proxies on `--routing-listen HOST:PORT`
//!   when given.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use clap::Args;
use tandem_routing::{EmbeddedServer, EmbeddedStore, RoutingStore};

use crate::{MonitorConfig, MonitorError};

/// Options of `tandem monitor`.
#[derive(Args, Debug, Clone)]
pub struct MonitorArgs {
    /// This monitor's id (distinct per monitor: it names its observations and
    /// its leadership).
    #[arg(long, default_value = "monitor-0")]
    pub id: String,
    /// Initial topology, published when the routing store has none: HOST:PORT,...
    /// (the first is the master).
    #[arg(long, value_delimiter = ',')]
    pub nodes: Vec<String>,
    /// The deployment's name.
    #[arg(long, default_value = "tandem")]
    pub cluster: String,
    /// Heartbeat period of every node.
    #[arg(long, default_value_t = 100)]
    pub interval_ms: u64,
    /// A master silent this long is down (refused connections count sooner).
    #[arg(long, default_value_t = 500)]
    pub down_after_ms: u64,
    /// Distinct observers (monitors and proxies) that must see the master down.
    #[arg(long, default_value_t = 1)]
    pub quorum: usize,
    /// Leadership lease time-to-live.
    #[arg(long, default_value_t = 1000)]
    pub lease_ttl_ms: u64,
    /// Skip replicas whose master link was down this long before the failure.
    #[arg(long, default_value_t = 10_000)]
    pub max_replica_link_down_ms: u64,
    /// How long a planned switchover may hold writes for the target to catch up.
    #[arg(long, default_value_t = 2000)]
    pub switchover_timeout_ms: u64,
    /// AUTH password toward the nodes (as Sentinel's `auth-pass`).
    #[arg(long)]
    pub password: Option<String>,
    /// ACL user to log in to the nodes as, with --password (as Sentinel's
    /// `auth-user`; the default user when absent).
    #[arg(long, requires = "password")]
    pub user: Option<String>,
    /// Data folder: events.jsonl and the embedded routing store.
    #[arg(long, default_value = "tandem-monitor")]
    pub data: PathBuf,
    /// Admin endpoint port on 127.0.0.1 (PING, STATUS, FAILOVER); 0 picks one.
    #[arg(long)]
    pub admin_port: Option<u16>,
    /// Admin endpoint bind address.
    #[arg(long, default_value = "127.0.0.1")]
    pub admin_bind: IpAddr,
    /// Use this routing store instead of hosting one: embedded://HOST:PORT or
    /// etcd://HOST:PORT[,HOST:PORT...].
    #[arg(long)]
    pub routing: Option<String>,
    /// Serve the hosted embedded store to proxies and other monitors here.
    #[arg(long)]
    pub routing_listen: Option<String>,
}

impl MonitorArgs {
    /// The monitor configuration these options describe.
    pub fn config(&self) -> MonitorConfig {
        let ms = Duration::from_millis;
        MonitorConfig {
            id: self.id.clone(),
            cluster: self.cluster.clone(),
            nodes: self.nodes.clone(),
            interval: ms(self.interval_ms),
            down_after: ms(self.down_after_ms),
            quorum: self.quorum,
            lease_ttl: ms(self.lease_ttl_ms),
            max_replica_link_down: ms(self.max_replica_link_down_ms),
            auth: self.password.clone().map(|password| crate::client::Auth {
                user: self.user.clone(),
                password,
            }),
            data_dir: Some(self.data.clone()),
            admin_addr: self.admin_port.map(|p| SocketAddr::new(self.admin_bind, p)),
            switchover_timeout: ms(self.switchover_timeout_ms),
            dial_overrides: Vec::new(),
        }
    }
}

/// Runs the monitor until SIGINT or SIGTERM.
pub fn run(args: MonitorArgs) -> Result<(), MonitorError> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| MonitorError::Io("the tokio runtime".into(), e))?;
    rt.block_on(run_async(args))
}

async fn run_async(args: MonitorArgs) -> Result<(), MonitorError> {
    let cfg = args.config();
    cfg.validate()?;
    let mut server = None;
    let store: Arc<dyn RoutingStore> = match &args.routing {
        Some(url) => tandem_routing::open(url, &args.cluster).await?,
        None => {
            let dir = args.data.join("routing");
            std::fs::create_dir_all(&dir)
                .map_err(|e| MonitorError::Io(dir.display().to_string(), e))?;
            let store = EmbeddedStore::open(&dir)?;
            if let Some(bind) = &args.routing_listen {
                let s = EmbeddedServer::serve(store.clone(), bind).await?;
                tracing::info!("routing store served on {}", s.local_addr());
                server = Some(s);
            }
            Arc::new(store)
        }
    };
    let handle = crate::start(cfg, store)?;
    if let Some(a) = handle.admin_addr() {
        tracing::info!("admin endpoint on {a}");
    }
    wait_for_signal().await;
    tracing::info!("monitor shutting down");
    handle.shutdown().await;
    if let Some(s) = server {
        s.shutdown().await;
    }
    Ok(())
}

async fn wait_for_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    match signal(SignalKind::terminate()) {
        Ok(mut term) => {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
        }
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
}
