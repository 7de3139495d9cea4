//! Serves an [`EmbeddedStore`] to proxies and other monitors over TCP, pushing
//! every topology change to watching connections.
//!
//! ```text
//!   accept loop ──spawn──> connection task: parse requests ─> store ─> reply
//!        │                      └─ WATCH: store.subscribe() ─> push frames
//!   shutdown signal ──────────> every task returns; sockets close (clients see EOF)
//! ```

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tandem_resp::{Limits, Proto, ReplyBuf, RequestParser};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::{JoinHandle, JoinSet};

use super::wire::{error_line, MAX_MESSAGE};
use super::EmbeddedStore;
use crate::{CasOutcome, Lease, Observation, RoutingError, RoutingStore, Topology};

/// Requests carry at most a topology document; these limits keep a confused or
/// hostile peer from making the monitor buffer much.
const LIMITS: Limits = Limits {
    max_bulk_len: MAX_MESSAGE,
    max_multibulk_len: 16,
    max_inline_len: 64 * 1024,
    max_query_buffer: MAX_MESSAGE + 1024,
};

/// Connections served at once: a deployment has a few proxies and monitors; the
/// cap keeps a connection leak elsewhere from exhausting the monitor's descriptors.
const MAX_CONNECTIONS: usize = 1024;

/// A running server. Dropping it (or [`EmbeddedServer::shutdown`]) stops it and
/// closes every connection.
pub struct EmbeddedServer {
    store: EmbeddedStore,
    local_addr: SocketAddr,
    stop: watch::Sender<bool>,
    task: Option<JoinHandle<()>>,
}

impl EmbeddedServer {
    /// Opens the store persisted in `dir` and serves it on `bind` (`host:port`,
    /// port 0 for any).
    pub async fn start(dir: impl AsRef<Path>, bind: &str) -> Result<Self, RoutingError> {
        let store = EmbeddedStore::open(dir)?;
        Self::serve(store, bind).await
    }

    /// Serves an already opened store (the monitor keeps using it in-process).
    pub async fn serve(store: EmbeddedStore, bind: &str) -> Result<Self, RoutingError> {
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|e| RoutingError::Other(format!("cannot listen on {bind}: {e}")))?;
        let local_addr = listener
            .local_addr()
            .map_err(|e| RoutingError::Other(format!("listener address: {e}")))?;
        let (stop, stop_rx) = watch::channel(false);
        let task = tokio::spawn(accept_loop(listener, store.clone(), stop_rx));
        tracing::info!(%local_addr, "embedded routing store serving");
        Ok(EmbeddedServer {
            store,
            local_addr,
            stop,
            task: Some(task),
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    pub fn store(&self) -> &EmbeddedStore {
        &self.store
    }

    /// Stops accepting, closes every connection and waits until they are closed.
    pub async fn shutdown(mut self) {
        self.stop.send_replace(true);
        if let Some(t) = self.task.take() {
            if let Err(e) = t.await {
                tracing::warn!("routing server task: {e}");
            }
        }
    }
}

impl Drop for EmbeddedServer {
    fn drop(&mut self) {
        self.stop.send_replace(true);
    }
}

async fn accept_loop(listener: TcpListener, store: EmbeddedStore, mut stop: watch::Receiver<bool>) {
    let mut conns = JoinSet::new();
    loop {
        tokio::select! {
            r = listener.accept() => match r {
                Ok((mut sock, peer)) => {
                    if conns.len() >= MAX_CONNECTIONS {
                        tracing::warn!(%peer, "routing server: too many connections");
                        let _ = sock.write_all(b"-ERR max number of clients reached\r\n").await;
                        continue;
                    }
                    let store = store.clone();
                    let stop = stop.clone();
                    conns.spawn(async move {
                        if let Err(e) = serve_conn(store, sock, stop).await {
                            tracing::debug!(%peer, "routing connection ended: {e}");
                        }
                    });
                }
                Err(e) => {
                    // Out of file descriptors and the like: back off instead of spinning.
                    tracing::warn!("routing accept: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            Some(_) = conns.join_next(), if !conns.is_empty() => {}
            _ = stop.changed() => break,
        }
    }
    drop(listener);
    conns.abort_all();
    while conns.join_next().await.is_some() {}
}

async fn serve_conn(
    store: EmbeddedStore,
    mut sock: TcpStream,
    mut stop: watch::Receiver<bool>,
) -> Result<(), RoutingError> {
    if let Err(e) = sock.set_nodelay(true) {
        tracing::debug!("set_nodelay: {e}");
    }
    let mut buf = BytesMut::with_capacity(4096);
    let mut parser = RequestParser::new();
    let mut args: Vec<Bytes> = Vec::new();
    loop {
        let mut out = ReplyBuf::new(Proto::Resp2);
        loop {
            match parser.parse(&mut buf, &LIMITS, &mut args) {
                Ok(false) => break,
                Ok(true) if args.is_empty() => continue,
                Ok(true) => {
                    if args[0].eq_ignore_ascii_case(b"WATCH") {
                        write(&mut sock, out.as_bytes()).await?;
                        return push_topologies(&store, sock, stop).await;
                    }
                    dispatch(&store, &args, &mut out).await;
                }
                Err(e) => {
                    out.protocol_error(&e);
                    write(&mut sock, out.as_bytes()).await?;
                    return Err(RoutingError::Other(e.to_string()));
                }
            }
        }
        if !out.is_empty() {
            write(&mut sock, out.as_bytes()).await?;
        }
        if buf.len() > LIMITS.max_query_buffer {
            return Err(RoutingError::Other("request too large".into()));
        }
        buf.reserve(4096);
        tokio::select! {
            r = sock.read_buf(&mut buf) => match r {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(RoutingError::Unavailable(format!("read: {e}"))),
            },
            _ = stop.changed() => return Ok(()),
        }
    }
}

async fn write(sock: &mut TcpStream, bytes: &[u8]) -> Result<(), RoutingError> {
    if bytes.is_empty() {
        return Ok(());
    }
    sock.write_all(bytes)
        .await
        .map_err(|e| RoutingError::Unavailable(format!("write: {e}")))
}

/// Push mode: the current topology, then every change, until either side stops.
async fn push_topologies(
    store: &EmbeddedStore,
    mut sock: TcpStream,
    mut stop: watch::Receiver<bool>,
) -> Result<(), RoutingError> {
    let mut sub = store.subscribe();
    let mut scratch = [0u8; 512];
    loop {
        tokio::select! {
            item = sub.recv() => {
                let Some((rev, t)) = item else { return Ok(()) };
                let mut out = ReplyBuf::new(Proto::Resp2);
                out.array(3);
                out.bulk(b"topology");
                out.int(rev as i64);
                out.bulk(t.to_json().as_bytes());
                write(&mut sock, out.as_bytes()).await?;
            }
            // The watcher sends nothing more; reading only notices it closing.
            r = sock.read(&mut scratch) => match r {
                Ok(0) => return Ok(()),
                Ok(_) => {}
                Err(e) => return Err(RoutingError::Unavailable(format!("read: {e}"))),
            },
            _ = stop.changed() => return Ok(()),
        }
    }
}

fn arg_str(a: &[u8]) -> Option<&str> {
    std::str::from_utf8(a).ok()
}

fn arg_u64(a: &[u8]) -> Option<u64> {
    arg_str(a)?.parse().ok()
}

async fn dispatch(store: &EmbeddedStore, args: &[Bytes], out: &mut ReplyBuf) {
    let name = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
    let wrong = |out: &mut ReplyBuf| {
        out.error(&format!(
            "ERR wrong number of arguments or bad argument for '{}'",
            name.to_ascii_lowercase()
        ))
    };
    match (name.as_str(), &args[1..]) {
        ("PING", []) => out.simple("PONG"),
        ("GET", []) => {
            let (rev, t) = store.current();
            out.array(2);
            out.int(rev as i64);
            match t {
                Some(t) => out.bulk(t.to_json().as_bytes()),
                None => out.null(),
            }
        }
        ("CAS", [expected, doc]) => {
            let expected = if expected.as_ref() == b"-" {
                None
            } else {
                match arg_u64(expected) {
                    Some(e) => Some(e),
                    None => return wrong(out),
                }
            };
            let new = match Topology::from_json(doc) {
                Ok(t) => t,
                Err(e) => return out.error(&error_line(&e.into())),
            };
            match store.compare_and_set(expected, new).await {
                Ok(CasOutcome::Applied) => out.simple("APPLIED"),
                Ok(CasOutcome::Conflict(stored)) => {
                    out.array(2);
                    out.simple("CONFLICT");
                    match stored {
                        Some(t) => out.bulk(t.to_json().as_bytes()),
                        None => out.null(),
                    }
                }
                Err(e) => out.error(&error_line(&e)),
            }
        }
        ("CAMPAIGN", [holder, ttl]) => {
            let (Some(holder), Some(ttl)) = (arg_str(holder), arg_u64(ttl)) else {
                return wrong(out);
            };
            match store.campaign(holder, Duration::from_millis(ttl)).await {
                Ok(Some(l)) => {
                    out.array(3);
                    out.int(l.id);
                    out.bulk(l.holder.as_bytes());
                    out.int(l.ttl.as_millis() as i64);
                }
                Ok(None) => out.null(),
                Err(e) => out.error(&error_line(&e)),
            }
        }
        ("RESIGN", [id, holder]) => {
            let (Some(id), Some(holder)) =
                (arg_str(id).and_then(|s| s.parse().ok()), arg_str(holder))
            else {
                return wrong(out);
            };
            let lease = Lease {
                id,
                holder: holder.to_string(),
                ttl: Duration::ZERO,
            };
            match store.resign(&lease).await {
                Ok(()) => out.ok(),
                Err(e) => out.error(&error_line(&e)),
            }
        }
        ("REPORT", [doc]) => match serde_json::from_slice::<Observation>(doc) {
            Ok(obs) => {
                store.record(obs);
                out.ok();
            }
            Err(e) => out.error(&format!("REJECTED invalid observation: {e}")),
        },
        ("OBSERVATIONS", [node, max_age]) => {
            let (Some(node), Some(max_age)) = (arg_str(node), arg_u64(max_age)) else {
                return wrong(out);
            };
            let list = store.observations_of(node, Duration::from_millis(max_age));
            out.array(list.len());
            for o in list {
                // Plain strings and integers: serialising cannot fail.
                out.bulk(serde_json::to_string(&o).unwrap_or_default().as_bytes());
            }
        }
        ("PING" | "GET" | "CAS" | "CAMPAIGN" | "RESIGN" | "REPORT" | "OBSERVATIONS", _) => {
            wrong(out)
        }
        _ => out.error(&format!(
            "ERR unknown command '{}'",
            name.to_ascii_lowercase()
        )),
    }
}
