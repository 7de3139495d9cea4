//! Tandem's access layer: a Redis protocol proxy that follows the topology and
//! holds requests through a failover.
//!
//! ```text
//!  clients ──> accept (maxclients) ──> client task (client.rs, commands.rs)
//!     ▲                                  │ stateless: shared pipelined links
//!     │                                  │ stateful session: dedicated link
//!     │                                  ▼
//!  TopologyFeed ──> Router (router.rs) ──> Pool per node ──> links (link.rs) ──> nodes
//!     │                  │ link errors, timeouts                │
//!     │                  └──> Observation sink (toward the monitor)
//!     └──── replies of plain stateless requests, written by the link (output.rs)
//! ```
//!
//! * Shards (`--threads`, one by default): each thread runs a single-threaded
//!   runtime with its own listening socket on the port (`SO_REUSEPORT`), its own
//!   clients, router and links; they share only counters and the topology feed.
//! * Stateless commands of many clients share pipelined connections per node
//!   (`pool-size` per shard, one by default: what every client sent in one turn
//!   of the runtime goes out in one write); replies are matched to requests in FIFO
//!   order, and those of plain requests are written into the clients' sockets
//!   by the link itself (output.rs).
//! * A client whose session has state (SELECT n, MULTI/WATCH, blocking commands,
//!   SUBSCRIBE, CLIENT TRACKING, HELLO 3) gets a dedicated connection while it
//!   needs one; it is closed afterwards, never returned to the pool (a client
//!   that ran a blocking command keeps its own for the next one: worker loops).
//! * Failover: a new master (higher epoch) or a failed master link stops new
//!   sends at once; requests wait up to `hold-timeout` for a usable master and go
//!   there in order. Unanswered requests of a failed link are replayed only when
//!   the command table says it is safe; otherwise the client gets
//!   [`client::OUTCOME_UNKNOWN`]. Held requests that time out get
//!   [`client::HOLD_TIMEOUT`].
//! * Planned switchover (the old master is paused, not dead): the old master's
//!   shared links stay open after the switch until they have answered what they
//!   carry (bounded by `backend-timeout`/`hold-timeout`); a normal reply is the
//!   real outcome. A reply `-READONLY`, `-LOADING`, `-MASTERDOWN`, `-FENCED` or
//!   `-NOREPLICAS Not enough good replicas to write.` from the master means "not
//!   executed, a switch is under way": the request is held until the route names
//!   another master or a higher epoch and replayed there, in order with the
//!   client's later requests (SAFE ones answered after it on the old link are
//!   replayed too); with no switch within `hold-timeout` the client gets the
//!   node's error as is (client_replies.rs). Dedicated links (SELECT n,
//!   transactions, blocking commands, pub/sub) still close `hold-timeout/4`
//!   (at most 500 ms) after the switch, with the failed-link rules above.
//! * The proxy keeps no state another proxy needs: run as many as you like.
//!
//! # What clients see
//!
//! * Answered by the proxy: PING and ECHO (unless the session is pinned, where
//!   the node answers so replies stay in order with pushes), AUTH (`requirepass`;
//!   user `default`), HELLO 2/3 (`server: redis`, `version: 7.0.15`), QUIT, RESET,
//!   INFO (sections server, clients, backends, topology, failover, stats),
//!   COMMAND (COUNT, LIST, INFO, DOCS, GETKEYS, GETKEYSANDFLAGS, HELP: from the
//!   command table in Redis 7.0's shapes, without the refused commands; inside
//!   MULTI it is queued on the node), SELECT 0 without other state, CLIENT
//!   SETNAME/GETNAME/ID, CLIENT REPLY ON/OFF/SKIP (the proxy drops the replies),
//!   arity errors (Redis's wording).
//! * Refused with `ERR command 'x' is not supported through the Tandem proxy`:
//!   REPLICAOF, SLAVEOF, DEBUG, SHUTDOWN, MONITOR, SYNC, PSYNC, REPLCONF,
//!   FAILOVER, CLIENT KILL/PAUSE/UNPAUSE/UNBLOCK/NO-EVICT, CONFIG
//!   SET/REWRITE/RESETSTAT, TANDEM. Inside MULTI such a refusal makes EXEC
//!   answer EXECABORT, as a queuing error does in Redis.
//! * Forwarded as they are: everything else, including CLIENT LIST/INFO (they describe the node's
//!   connections), WAIT (counts the shared connection's writes), and commands
//!   unknown to the table (treated as non-replayable writes).
//! * Errors of a failover (exact texts in [`OUTCOME_UNKNOWN`], [`HOLD_TIMEOUT`],
//!   [`HOLD_FULL`]): `ERR Tandem proxy: outcome unknown...` for a non-replayable
//!   request that reached a master which failed before answering, unless the
//!   next master proves its writes never reached it (Tandem nodes; see
//!   `verify`), in which case it is replayed;
//!   `TRYAGAIN ... hold-timeout ...` for a request never sent because no master
//!   was reachable in time; `TRYAGAIN ... hold-max-bytes ...` when the held bytes
//!   are at their bound. A request that was not sent is always safe to retry.
//! * Transactions across a failover: a MULTI or WATCH that reached the failed
//!   node is void; the rest of that transaction is answered `ERR Tandem proxy:
//!   transaction aborted...`, its EXEC with `EXECABORT ...` (or a nil reply when
//!   keys were WATCHed, the usual "retry" signal), an EXEC already sent with
//!   "outcome unknown". A transaction not yet started is replayed whole.
//! * Pub/sub across a failover: the client's channels, patterns and shard
//!   channels are subscribed again on the new master (confirmations swallowed);
//!   messages published in between are lost, as pub/sub delivers at most once.
//!   In RESP2 pub/sub mode the proxy's own replies (refusals, QUIT) are written
//!   at once, not ordered behind outstanding node replies.
//!
//! # Topology
//!
//! The proxy follows a [`TopologyFeed`]: the routing system's watch in a full
//! deployment, [`tandem_routing::fixed_feed`] for `--master/--replica`, or
//! [`feed::file_feed`] for `--topology-file PATH` (a topology JSON document, polled
//! every 50 ms; a document with a higher epoch switches the proxy; write it with
//! write-then-rename). Lower or equal epochs naming another master are ignored.

mod busy;
mod client;
mod client_list;
mod commands;
pub mod config;
pub mod feed;
mod info;
mod link;
pub mod metrics;
mod output;
mod router;
mod sock;
mod verify;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;

use tandem_routing::{Observation, TopologyFeed};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

pub use client::{HOLD_FULL, HOLD_TIMEOUT, OUTCOME_UNKNOWN};
pub use config::{ProxyArgs, ProxyConfig, ReadFrom, TopologySource};
pub use metrics::Metrics;

use crate::router::Router;

/// Errors that stop the proxy from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("Could not create proxy TCP listening socket {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("Failed opening Unix socket: {path}: {source}")]
    Unix {
        path: String,
        source: std::io::Error,
    },
    #[error("could not start the runtime: {0}")]
    Runtime(std::io::Error),
}

/// A running proxy.
pub struct Handle {
    shutdown: CancellationToken,
    threads: Vec<JoinHandle<()>>,
    addrs: Vec<SocketAddr>,
    metrics: Arc<Metrics>,
}

impl Handle {
    /// Asks the proxy to stop.
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
    /// A token that stops the proxy when cancelled (for a signal handler).
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }
    /// Waits until the proxy has stopped.
    pub fn wait(mut self) {
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
    /// The addresses the listeners are bound to (useful with port 0).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
    /// The proxy's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }
}

/// Binds the configured addresses. With `reuse_port` (several shards), each
/// shard binds its own socket on the same port and the kernel spreads new
/// connections over them; `port` is the one to bind (the first shard's actual
/// port when the configuration asked for port 0).
fn bind(
    cfg: &ProxyConfig,
    port: u16,
    reuse_port: bool,
) -> Result<Vec<std::net::TcpListener>, StartError> {
    let mut out = Vec::new();
    for host in &cfg.bind {
        let text = if host.contains(':') {
            format!("[{host}]:{port}")
        } else {
            format!("{host}:{port}")
        };
        let res = (|| -> std::io::Result<std::net::TcpListener> {
            let addr: SocketAddr = text
                .parse()
                .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidInput, e))?;
            let sock = socket2::Socket::new(
                socket2::Domain::for_address(addr),
                socket2::Type::STREAM,
                None,
            )?;
            if addr.is_ipv6() {
                sock.set_only_v6(true)?;
            }
            sock.set_reuse_address(true)?;
            if reuse_port {
                sock.set_reuse_port(true)?;
            }
            sock.bind(&addr.into())?;
            sock.listen(511)?;
            sock.set_nonblocking(true)?;
            Ok(sock.into())
        })();
        match res {
            Ok(l) => out.push(l),
            Err(source) => return Err(StartError::Bind { addr: text, source }),
        }
    }
    Ok(out)
}

/// Starts a proxy on its own thread and runtime: it serves clients on the
/// configured addresses, follows `feed`, and reports what it sees to `obs`
/// (dropped, never blocking, when the sink is full or closed).
pub fn start(
    config: ProxyConfig,
    feed: TopologyFeed,
    obs: mpsc::Sender<Observation>,
) -> Result<Handle, StartError> {
    let shards = config.threads.max(1);
    let first = bind(&config, config.port, shards > 1)?;
    let addrs: Vec<SocketAddr> = first.iter().filter_map(|l| l.local_addr().ok()).collect();
    let mut config = config;
    if let Some(a) = addrs.first() {
        config.port = a.port();
    }
    let mut unix = bind_unix(&config)?;
    let mut listeners = vec![first];
    for _ in 1..shards {
        listeners.push(bind(&config, config.port, true)?);
    }
    let config = Arc::new(config);
    let metrics = Arc::new(Metrics::default());
    let clients = Arc::new(client_list::Registry::default());
    let epoch = Arc::new(AtomicU64::new(0));
    let shutdown = CancellationToken::new();
    let run_id: String = (0..40)
        .map(|_| char::from(b"0123456789abcdef"[rand::random_range(0..16usize)]))
        .collect();
    let mut threads = Vec::new();
    for (n, ls) in listeners.into_iter().enumerate() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(StartError::Runtime)?;
        let obs = link::Obs {
            tx: obs.clone(),
            observer: config.id.clone().into(),
            epoch: epoch.clone(),
        };
        let unix_listener = if n == 0 { unix.take() } else { None };
        let (cfg, m, stop, feed, run_id, clients) = (
            config.clone(),
            metrics.clone(),
            shutdown.clone(),
            feed.clone(),
            run_id.clone(),
            clients.clone(),
        );
        let thread = std::thread::Builder::new()
            .name(format!("tandem-proxy-{n}"))
            .spawn(move || {
                rt.block_on(async move {
                    let window = cfg.busy_poll;
                    let router = Router::new(cfg, m, obs, run_id, n, clients);
                    tokio::spawn(router::follow(router.clone(), feed, stop.clone()));
                    for l in ls {
                        match tokio::net::TcpListener::from_std(l) {
                            Ok(l) => {
                                let l = sock::Listener::Tcp(l);
                                tokio::spawn(accept_loop(router.clone(), l, stop.clone()));
                            }
                            Err(e) => warn!("listener: {e}"),
                        }
                    }
                    if let Some(l) = unix_listener {
                        match tokio::net::UnixListener::from_std(l) {
                            Ok(l) => {
                                let l = sock::Listener::Unix(l);
                                tokio::spawn(accept_loop(router.clone(), l, stop.clone()));
                            }
                            Err(e) => warn!("Unix socket listener: {e}"),
                        }
                    }
                    if n == 0 {
                        tokio::spawn(metrics::sample(router.metrics.clone()));
                        info!(
                            "Proxy ready to accept connections tcp (port {})",
                            router.cfg.port
                        );
                    }
                    // The poller runs in this task: it keeps to the shard's thread.
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = busy::run(window) => {}
                    }
                    if n == 0 {
                        if let Some(path) = &router.cfg.unixsocket {
                            let _ = std::fs::remove_file(path);
                        }
                    }
                });
                rt.shutdown_timeout(std::time::Duration::from_millis(200));
            })
            .map_err(StartError::Runtime)?;
        threads.push(thread);
    }
    Ok(Handle {
        shutdown,
        threads,
        addrs,
        metrics,
    })
}

static NEXT_CLIENT: AtomicU64 = AtomicU64::new(1);

/// The `unixsocket` listener, if configured (served by the first shard): an
/// old socket file is removed first and `unixsocketperm` applied, as Redis
/// and twemproxy do.
fn bind_unix(cfg: &ProxyConfig) -> Result<Option<std::os::unix::net::UnixListener>, StartError> {
    use std::os::unix::fs::PermissionsExt;
    let Some(path) = &cfg.unixsocket else {
        return Ok(None);
    };
    let res = (|| -> std::io::Result<std::os::unix::net::UnixListener> {
        let _ = std::fs::remove_file(path);
        let l = std::os::unix::net::UnixListener::bind(path)?;
        if cfg.unixsocketperm != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(cfg.unixsocketperm))?;
        }
        l.set_nonblocking(true)?;
        Ok(l)
    })();
    res.map(Some).map_err(|source| StartError::Unix {
        path: path.display().to_string(),
        source,
    })
}

/// Accepts clients until `stop`: over `maxclients` a new one gets Redis's
/// error and is closed; accept errors (EMFILE and friends) back off instead of
/// spinning.
async fn accept_loop(r: Arc<Router>, l: sock::Listener, stop: CancellationToken) {
    loop {
        let sock = tokio::select! {
            _ = stop.cancelled() => return,
            a = l.accept() => match a {
                Ok(s) => s,
                Err(e) => {
                    warn!("accept: {e}");
                    tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                    continue;
                }
            },
        };
        let m = &r.metrics;
        Metrics::inc(&m.total_connections_received);
        if Metrics::get_gauge(&m.connected_clients) >= r.cfg.maxclients as i64 {
            Metrics::inc(&m.rejected_connections);
            sock.refuse(b"-ERR max number of clients reached\r\n");
            continue;
        }
        Metrics::gauge(&m.connected_clients, 1);
        let id = NEXT_CLIENT.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(client::serve(r.clone(), sock, id));
    }
}
