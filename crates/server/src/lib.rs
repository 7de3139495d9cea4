//! Tandem data node: listeners, connections, dispatch, server-level commands,
//! configuration, the write-stream seam and the cron.
//!
//! ```text
//!   listener task(s) ──accept (maxclients gate)──> connection task (one per client)
//!                                                      │ read → parse batch
//!                                                      ▼
//!   cron task (hz) ──lock──> State { Store, clients, pubsub, blocked, stream, stats }
//!                                                      │ execute batch, serve woken
//!                                                      │ blocked clients, drain
//!                                                      │ store.prop → WriteStream
//!                                                      ▼ unlock
//!                                                 one write() of the replies
//!   pub/sub messages and blocked replies reach other connections through
//!   per-client channels (bytes counted against client-output-buffer-limit).
//! ```
//!
//! # Runtime flavour
//! `io-threads 1` (the default, as in Redis) runs one tokio `current_thread`
//! runtime; `io-threads N` a `multi_thread` runtime with N workers. Command
//! execution is serialised by the store lock either way; more workers only
//! overlap parsing and socket I/O with it, and on a 2-core machine shared with
//! the clients that costs more (context switches, lock hand-offs) than it gains.
//! Measured 2026-11-24 (release, `redis-benchmark -c 50 -r 100000 -d 64`, two
//! interleaved rounds, ops/s as a ratio of redis-server 7.0.15 in the same run):
//!
//! | test       | io-threads 1 | io-threads 2 |
//! |------------|--------------|--------------|
//! | INCR -P 16 | 0.75-0.80    | 0.60-0.61    |
//! | SET -P 16  | 0.87-0.89    | 0.74         |
//! | GET -P 16  | 0.84-0.89    | 0.72-0.81    |
//! | INCR -P 1  | 0.92-1.26    | 0.85-1.18    |
//! | GET -P 1   | 1.03-1.13    | 0.90-1.01    |
//!
//! On more cores, `io-threads N` runs parsing, encoding and socket I/O on N
//! workers around the one lock; the plan beyond that is in the store crate's
//! "Scaling past 2 cores".
//!
//! [`start`] boots the whole node on its own thread and runtime and returns a
//! [`Handle`]; the binary and in-process tests use it the same way.

mod acl;
mod blocking;
mod busy;
mod cmd_acl;
mod cmd_client;
mod cmd_config;
mod cmd_debug;
mod cmd_function;
mod cmd_info;
mod cmd_memory;
mod cmd_migrate;
mod cmd_multi;
mod cmd_pubsub;
mod cmd_script;
mod cmd_server;
mod cmd_standalone;
pub mod config;
mod conn;
mod cron;
mod digest;
mod dispatch;
pub mod gate;
mod latency;
mod linkpos;
mod monitor;
mod notify;
pub mod persist;
pub mod repl;
pub(crate) mod script;
mod shutdown;
mod slowlog;
mod state;
pub mod stream;
mod tracking;

use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;

use tokio_util::sync::CancellationToken;
use tracing::{error, info, warn};

pub use config::{Config, ConfigError};
use state::Shared;

/// Errors that stop the node from starting.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("Could not create server TCP listening socket {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("Failed opening Unix socket: {path}: {source}")]
    Unix {
        path: String,
        source: std::io::Error,
    },
    #[error("Configured to not listen anywhere, exiting.")]
    NoListeners,
    #[error("could not start the runtime: {0}")]
    Runtime(std::io::Error),
    #[error("{0}")]
    Load(String),
}

/// A running node.
pub struct Handle {
    shutdown: CancellationToken,
    thread: Option<JoinHandle<Result<(), StartError>>>,
    addrs: Vec<SocketAddr>,
}

impl Handle {
    /// Asks the node to stop (as SIGTERM does).
    pub fn shutdown(&self) {
        self.shutdown.cancel();
    }
    /// Waits until the node has stopped. An error when it stopped because its
    /// dataset could not be loaded.
    pub fn wait(mut self) -> Result<(), StartError> {
        match self.thread.take().map(|t| t.join()) {
            Some(Ok(res)) => res,
            Some(Err(_)) => Err(StartError::Load("the node's thread panicked".into())),
            None => Ok(()),
        }
    }
    /// The addresses the listeners are bound to (useful with `--port 0`).
    pub fn local_addrs(&self) -> &[SocketAddr] {
        &self.addrs
    }
}

/// The TCP addresses the configuration names (`bind` words with `port`), each
/// with whether it is optional (`-` prefix). None with port 0 (as Redis: the
/// Unix socket only).
fn addr_texts(cfg: &Config) -> Vec<(bool, String)> {
    let port = cfg.int("port") as u16;
    if port == 0 {
        return Vec::new();
    }
    cfg.words("bind")
        .iter()
        .map(|word| {
            let (optional, host) = match word.strip_prefix('-') {
                Some(h) => (true, h),
                None => (false, word.as_str()),
            };
            let host = match host {
                "*" => "0.0.0.0",
                "::*" => "::",
                h => h,
            };
            let text = if host.contains(':') {
                format!("[{host}]:{port}")
            } else {
                format!("{host}:{port}")
            };
            (optional, text)
        })
        .collect()
}

fn bind_one(text: &str, backlog: i32) -> std::io::Result<std::net::TcpListener> {
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
    sock.bind(&addr.into())?;
    sock.listen(backlog)?;
    sock.set_nonblocking(true)?;
    Ok(sock.into())
}

/// Binds the configured addresses, skipping those in `keep` (already bound):
/// each new listener with its address text.
fn bind_addrs_except(
    cfg: &Config,
    keep: &[String],
) -> Result<Vec<(String, std::net::TcpListener)>, StartError> {
    let backlog = cfg.int("tcp-backlog").clamp(1, i32::MAX as i64) as i32;
    let mut out = Vec::new();
    for (optional, text) in addr_texts(cfg) {
        if keep.contains(&text) {
            continue;
        }
        match bind_one(&text, backlog) {
            Ok(l) => out.push((text, l)),
            Err(e) if optional => warn!("skipping optional bind address {text}: {e}"),
            Err(e) => {
                return Err(StartError::Bind {
                    addr: text,
                    source: e,
                })
            }
        }
    }
    Ok(out)
}

fn bind_addrs(cfg: &Config) -> Result<Vec<(String, std::net::TcpListener)>, StartError> {
    bind_addrs_except(cfg, &[])
}

/// CONFIG SET port/bind, as Redis's changeListener: the addresses that stay
/// keep their listener, new ones are bound (all or nothing: on an error none
/// is kept and the caller restores the settings), then the accept loops of
/// the addresses no longer named stop. Open connections stay. The error is
/// Redis's reason text for the setting that failed.
pub(crate) fn rebind(shared: &Arc<Shared>, cfg: &Config, port_changed: bool) -> Result<(), String> {
    let mut listening = shared.listening.lock();
    let current: Vec<String> = listening.iter().map(|(t, _)| t.clone()).collect();
    let new = bind_addrs_except(cfg, &current).map_err(|e| {
        warn!("{e}");
        if port_changed {
            "Unable to listen on this port. Check server logs.".to_string()
        } else {
            "Failed to bind to specified addresses.".to_string()
        }
    })?;
    let wanted: Vec<String> = addr_texts(cfg).into_iter().map(|(_, t)| t).collect();
    listening.retain(|(text, stop)| {
        let keep = wanted.contains(text);
        if !keep {
            stop.cancel();
        }
        keep
    });
    for (text, l) in new {
        match tokio::net::TcpListener::from_std(l) {
            Ok(l) => {
                let stop = shared.shutdown.child_token();
                tokio::spawn(conn::accept_loop(shared.clone(), l, stop.clone()));
                info!("Listening on {text}");
                listening.push((text, stop));
            }
            Err(e) => warn!("listener {text}: {e}"),
        }
    }
    let port = if wanted.is_empty() {
        0
    } else {
        cfg.int("port") as u16
    };
    shared
        .port
        .store(port, std::sync::atomic::Ordering::Relaxed);
    Ok(())
}

/// The `unixsocket` listener, if configured: an old socket file is removed
/// first and `unixsocketperm` (when not 0) applied, as Redis does.
fn bind_unix(cfg: &Config) -> Result<Option<std::os::unix::net::UnixListener>, StartError> {
    use std::os::unix::fs::PermissionsExt;
    let path = cfg.str("unixsocket");
    if path.is_empty() {
        return Ok(None);
    }
    let perm = cfg.int("unixsocketperm") as u32;
    let res = (|| -> std::io::Result<std::os::unix::net::UnixListener> {
        let _ = std::fs::remove_file(path);
        let l = std::os::unix::net::UnixListener::bind(path)?;
        if perm != 0 {
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(perm))?;
        }
        l.set_nonblocking(true)?;
        Ok(l)
    })();
    res.map(Some).map_err(|source| StartError::Unix {
        path: path.to_string(),
        source,
    })
}

/// Starts a node: binds its listeners, then runs it on its own thread with the
/// runtime flavour `io-threads` selects (1 = current_thread, N = multi_thread(N)).
pub fn start(config: Config) -> Result<Handle, StartError> {
    config.validate()?;
    let listeners = bind_addrs(&config)?;
    let unix = bind_unix(&config)?;
    if listeners.is_empty() && unix.is_none() {
        return Err(StartError::NoListeners);
    }
    let addrs: Vec<SocketAddr> = listeners
        .iter()
        .filter_map(|(_, l)| l.local_addr().ok())
        .collect();
    let threads = config.int("io-threads").max(1) as usize;
    let rt = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .map_err(StartError::Runtime)?;
    let shared = Arc::new(Shared::new(
        config,
        addrs.first().map(|a| a.port()).unwrap_or(0),
    ));
    let _ = shared.me.set(Arc::downgrade(&shared));
    // Listening from here on, the node answers -LOADING until the load ends.
    shared.state.lock().loading = Some(persist::loading::Progress::starting());
    let shutdown = shared.shutdown.clone();
    let thread = std::thread::Builder::new()
        .name("tandem-server".into())
        .spawn(move || rt.block_on(run(shared, listeners, unix)))
        .map_err(StartError::Runtime)?;
    Ok(Handle {
        shutdown,
        thread: Some(thread),
        addrs,
    })
}

async fn run(
    shared: Arc<Shared>,
    listeners: Vec<(String, std::net::TcpListener)>,
    unix: Option<std::os::unix::net::UnixListener>,
) -> Result<(), StartError> {
    let unix_path = shared.state.lock().config.str("unixsocket").to_string();
    apply_allocator(&shared.state.lock().config);
    {
        let s = shared.clone();
        s.busy
            .set_window(s.state.lock().config.int("busy-poll") as u64);
        tokio::spawn(async move { s.busy.run().await });
    }
    if shared.handle_signals {
        tokio::spawn(signals(shared.clone()));
    }
    // The load runs beside the listeners: clients get -LOADING meanwhile. The
    // loader holds the state lock before the first client is accepted, so
    // every client sees the load's totals; the cron and replication start
    // once the dataset is in.
    let (locked, holding) = tokio::sync::oneshot::channel();
    let loader = shared.clone();
    let load = tokio::task::spawn_blocking(move || persist::load_at_start(&loader, locked));
    let _ = holding.await;
    let mut tasks = Vec::new();
    for (text, l) in listeners {
        match tokio::net::TcpListener::from_std(l) {
            Ok(l) => {
                let stop = shared.shutdown.child_token();
                shared.listening.lock().push((text, stop.clone()));
                tasks.push(tokio::spawn(conn::accept_loop(shared.clone(), l, stop)));
            }
            Err(e) => warn!("listener: {e}"),
        }
    }
    if let Some(l) = unix {
        match tokio::net::UnixListener::from_std(l) {
            Ok(l) => {
                let path = unix_path.clone();
                tasks.push(tokio::spawn(conn::accept_unix(shared.clone(), l, path)));
                info!("The server is now ready to accept connections at {unix_path}");
            }
            Err(e) => warn!("Unix socket listener: {e}"),
        }
    }
    let loaded = load
        .await
        .unwrap_or_else(|e| Err(format!("the loader failed: {e}")));
    let mut failed = None;
    match loaded {
        Ok(()) => {
            tokio::spawn(cron::run(shared.clone()));
            tokio::spawn(repl::run(shared.clone()));
            info!(
                "Ready to accept connections tcp (port {})",
                shared.port.load(std::sync::atomic::Ordering::Relaxed)
            );
        }
        Err(_) if shared.shutdown.is_cancelled() => {
            warn!("Loading stopped: the node is shutting down.");
        }
        Err(e) => {
            error!("{e}");
            failed = Some(StartError::Load(e));
            shared.shutdown.cancel();
        }
    }
    shared.shutdown.cancelled().await;
    for t in tasks {
        let _ = t.await;
    }
    // Connections finish the batch in hand, flush it and close; give them a moment.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(5);
    while shared.connections.load(std::sync::atomic::Ordering::SeqCst) > 0
        && tokio::time::Instant::now() < deadline
    {
        tokio::time::sleep(std::time::Duration::from_millis(5)).await;
    }
    persist::on_exit(&shared);
    if !unix_path.is_empty() {
        info!("Removing the unix socket file.");
        if let Err(e) = std::fs::remove_file(&unix_path) {
            warn!("Error removing the unix socket file: {e}");
        }
    }
    info!("Tandem is now ready to exit, bye bye...");
    failed.map_or(Ok(()), Err)
}

/// `jemalloc-bg-thread`: jemalloc returns freed memory to the system from its
/// own background threads, not inline in the thread that frees or allocates
/// (Redis's default too). Measured: with the purging inline, SET of 1 KiB
/// values over keys that held 64-byte ones had a p99 of 1.4-1.5 ms in two of
/// four rounds (Redis 0.75-1.0).
pub(crate) fn apply_allocator(config: &Config) {
    if let Err(e) = tikv_jemalloc_ctl::background_thread::write(config.bool("jemalloc-bg-thread")) {
        warn!("jemalloc-bg-thread: {e}");
    }
}

async fn signals(shared: Arc<Shared>) {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut int)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::interrupt()),
    ) else {
        warn!("could not install signal handlers");
        return;
    };
    let mut waiting = false;
    loop {
        let name = tokio::select! {
            _ = term.recv() => "SIGTERM",
            _ = int.recv() => "SIGINT",
        };
        warn!("Received {name} scheduling shutdown...");
        if !waiting {
            // As SHUTDOWN without flags: a master first waits for its
            // replicas; a second signal stops it at once.
            let mut st = shared.state.lock();
            let mode = st.config.str(if name == "SIGTERM" {
                "shutdown-on-sigterm"
            } else {
                "shutdown-on-sigint"
            });
            let now = mode.split_whitespace().any(|w| w == "now");
            if !now && shutdown::begin(&shared, &mut st, Default::default(), None) {
                waiting = true;
                continue;
            }
        }
        warn!("User requested shutdown...");
        shared.shutdown.cancel();
        return;
    }
}

#[cfg(test)]
mod tests {
    use std::io::{Read, Write};

    use super::*;

    /// The node boots in-process, answers, and stops on `shutdown()`.
    #[test]
    fn start_answer_shutdown_in_process() {
        // A port the system just handed out (port 0 means "no TCP", as Redis).
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let cfg = Config::from_args(&[
            "--port".into(),
            port.to_string(),
            "--bind".into(),
            "127.0.0.1".into(),
        ])
        .expect("config");
        let h = start(cfg).expect("start");
        let addr = h.local_addrs()[0];
        let mut s = std::net::TcpStream::connect(addr).expect("connect");
        s.set_read_timeout(Some(std::time::Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(b"PING\r\nCLIENT REPLY OFF\r\nECHO hidden\r\nCLIENT REPLY ON\r\nECHO x\r\n")
            .expect("write");
        let mut buf = [0u8; 19];
        s.read_exact(&mut buf).expect("read");
        assert_eq!(&buf, b"+PONG\r\n+OK\r\n$1\r\nx\r\n");
        h.shutdown();
        h.wait().expect("clean stop");
        assert!(std::net::TcpStream::connect(addr).is_err());
    }
}
