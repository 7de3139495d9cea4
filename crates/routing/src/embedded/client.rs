//! [`RoutingStore`] over TCP to an [`super::EmbeddedServer`]: what proxies and
//! non-hosting monitors use.
//!
//! ```text
//!   calls ──(one at a time, Mutex)──> request connection (lazy, re-dialled after
//!                                      any error or timeout)
//!   watch() ──> its own connection: WATCH, then a reader task turning pushes into
//!               the TopologyStream; the stream ends when the connection breaks
//! ```

use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use tandem_resp::encode_request;
use tandem_resp::scan::Frame;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Mutex};

use super::store::WATCH_CHANNEL;
use super::wire::{
    bad_reply, frame_bytes, frame_int, is_nil, parse_error, read_frame, unavailable,
};
use crate::stats::Stats;
use crate::{
    BoxFut, CasOutcome, Epoch, Lease, Observation, RoutingError, RoutingStore, StatsSnapshot,
    Topology, TopologyStream,
};

/// Default bound on dialling the server.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Default bound on one request: a CAS includes an fsync on the server.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(3);

struct Conn {
    sock: TcpStream,
    buf: BytesMut,
}

/// A client of the embedded store's TCP protocol.
pub struct EmbeddedClient {
    addr: String,
    conn: Mutex<Option<Conn>>,
    stats: Arc<Stats>,
    connect_timeout: Duration,
    request_timeout: Duration,
}

impl std::fmt::Debug for EmbeddedClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EmbeddedClient")
            .field("addr", &self.addr)
            .finish()
    }
}

impl EmbeddedClient {
    /// A client for the server at `addr` (`host:port`). Connects on first use, so
    /// it can be created before the server is up.
    pub fn new(addr: impl Into<String>) -> Self {
        EmbeddedClient {
            addr: addr.into(),
            conn: Mutex::new(None),
            stats: Arc::new(Stats::default()),
            connect_timeout: CONNECT_TIMEOUT,
            request_timeout: REQUEST_TIMEOUT,
        }
    }

    /// Connects now and checks the server answers.
    pub async fn connect(addr: impl Into<String>) -> Result<Self, RoutingError> {
        let c = Self::new(addr);
        match c.call(&[b"PING"]).await? {
            Frame::Simple(s) if s.as_ref() == b"PONG" => Ok(c),
            other => Err(bad_reply("PING", &other)),
        }
    }

    /// Sets the bounds on dialling and on one request.
    pub fn with_timeouts(mut self, connect: Duration, request: Duration) -> Self {
        self.connect_timeout = connect;
        self.request_timeout = request;
        self
    }

    pub fn addr(&self) -> &str {
        &self.addr
    }

    async fn dial(&self) -> Result<TcpStream, RoutingError> {
        let sock = tokio::time::timeout(self.connect_timeout, TcpStream::connect(&self.addr))
            .await
            .map_err(|_| unavailable(&format!("connect {}", self.addr), "timed out"))?
            .map_err(|e| unavailable(&format!("connect {}", self.addr), e))?;
        if let Err(e) = sock.set_nodelay(true) {
            tracing::debug!("set_nodelay: {e}");
        }
        Stats::bump(&self.stats.connects);
        Ok(sock)
    }

    /// Sends one request and reads its reply; an error reply becomes a typed error.
    ///
    /// A request that failed on a connection kept from an earlier call (the server
    /// may have restarted since) is sent once more on a fresh connection, except a
    /// CAS: whether a CAS that got no reply was applied is unknown, and the caller
    /// must decide (re-reading the topology tells).
    async fn call(&self, args: &[&[u8]]) -> Result<Frame, RoutingError> {
        let mut r = self.call_inner(args).await;
        if let Err((RoutingError::Unavailable(m), true)) = &r {
            if args.first() != Some(&&b"CAS"[..]) {
                tracing::debug!(addr = %self.addr, "routing request failed on a kept connection ({m}); retrying once");
                r = self.call_inner(args).await;
            }
        }
        let r = r.map_err(|(e, _)| e);
        let r = match r {
            Ok(Frame::Error(line)) => Err(parse_error(&line)),
            other => other,
        };
        self.stats.track(r)
    }

    /// One exchange. The error says whether the connection was kept from an
    /// earlier call (then the failure may only mean the server restarted).
    async fn call_inner(&self, args: &[&[u8]]) -> Result<Frame, (RoutingError, bool)> {
        let mut guard = self.conn.lock().await;
        let reused = guard.is_some();
        if !reused {
            *guard = Some(Conn {
                sock: self.dial().await.map_err(|e| (e, false))?,
                buf: BytesMut::with_capacity(4096),
            });
        }
        let Some(conn) = guard.as_mut() else {
            return Err((RoutingError::Unavailable("no connection".into()), false));
        };
        let mut req = Vec::new();
        encode_request(args, &mut req);
        let exchange = async {
            conn.sock
                .write_all(&req)
                .await
                .map_err(|e| unavailable("write", e))?;
            read_frame(&mut conn.sock, &mut conn.buf).await
        };
        let r = match tokio::time::timeout(self.request_timeout, exchange).await {
            Ok(r) => r,
            Err(_) => Err(unavailable(
                &format!("request to {}", self.addr),
                "timed out",
            )),
        };
        if r.is_err() {
            // The connection's state is unknown (a late reply would be read as the
            // answer to the next request): start over on the next call.
            *guard = None;
        }
        r.map_err(|e| (e, reused))
    }
}

fn decode_topology(f: &Frame, what: &str) -> Result<Option<Topology>, RoutingError> {
    if is_nil(f) {
        return Ok(None);
    }
    let bytes = frame_bytes(f).ok_or_else(|| bad_reply(what, f))?;
    Ok(Some(Topology::from_json(bytes)?))
}

/// Reads pushes from a WATCH connection into `tx` until either side goes away.
async fn forward_pushes(
    mut sock: TcpStream,
    tx: mpsc::Sender<Topology>,
    stats: Arc<Stats>,
) -> Result<(), RoutingError> {
    let mut buf = BytesMut::with_capacity(4096);
    loop {
        let frame = tokio::select! {
            f = read_frame(&mut sock, &mut buf) => f?,
            _ = tx.closed() => return Ok(()),
        };
        let t = match &frame {
            Frame::Array(items) | Frame::Push(items) => match items.as_slice() {
                [kind, _rev, doc] if frame_bytes(kind) == Some(b"topology") => {
                    decode_topology(doc, "WATCH")?
                }
                _ => return Err(bad_reply("WATCH", &frame)),
            },
            Frame::Error(line) => return Err(parse_error(line)),
            _ => return Err(bad_reply("WATCH", &frame)),
        };
        if let Some(t) = t {
            Stats::bump(&stats.watch_events);
            if tx.send(t).await.is_err() {
                return Ok(());
            }
        }
    }
}

impl RoutingStore for EmbeddedClient {
    fn get(&self) -> BoxFut<'_, Result<Option<Topology>, RoutingError>> {
        Box::pin(async move {
            Stats::bump(&self.stats.gets);
            let f = self.call(&[b"GET"]).await?;
            match &f {
                Frame::Array(items) if items.len() == 2 => decode_topology(&items[1], "GET"),
                _ => Err(bad_reply("GET", &f)),
            }
        })
    }

    fn compare_and_set(
        &self,
        expected: Option<Epoch>,
        new: Topology,
    ) -> BoxFut<'_, Result<CasOutcome, RoutingError>> {
        Box::pin(async move {
            let expected = expected.map_or_else(|| "-".to_string(), |e| e.to_string());
            let doc = new.to_json();
            let f = self
                .call(&[b"CAS", expected.as_bytes(), doc.as_bytes()])
                .await?;
            match &f {
                Frame::Simple(s) if s.as_ref() == b"APPLIED" => {
                    Stats::bump(&self.stats.cas_applied);
                    Ok(CasOutcome::Applied)
                }
                Frame::Array(items) if items.len() == 2 => {
                    Stats::bump(&self.stats.cas_conflicts);
                    Ok(CasOutcome::Conflict(decode_topology(&items[1], "CAS")?))
                }
                _ => Err(bad_reply("CAS", &f)),
            }
        })
    }

    fn watch(&self) -> BoxFut<'_, Result<TopologyStream, RoutingError>> {
        Box::pin(async move {
            Stats::bump(&self.stats.watches);
            let mut sock = self.stats.track(self.dial().await)?;
            let mut req = Vec::new();
            encode_request(&[b"WATCH"], &mut req);
            self.stats.track(
                sock.write_all(&req)
                    .await
                    .map_err(|e| unavailable("write WATCH", e)),
            )?;
            let (tx, rx) = mpsc::channel(WATCH_CHANNEL);
            let stats = self.stats.clone();
            let addr = self.addr.clone();
            tokio::spawn(async move {
                if let Err(e) = forward_pushes(sock, tx, stats.clone()).await {
                    Stats::bump(&stats.errors);
                    tracing::debug!(%addr, "routing watch ended: {e}");
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
        let holder = holder.to_string();
        Box::pin(async move {
            Stats::bump(&self.stats.campaigns);
            let ttl_ms = (ttl.as_millis() as u64).to_string();
            let f = self
                .call(&[b"CAMPAIGN", holder.as_bytes(), ttl_ms.as_bytes()])
                .await?;
            if is_nil(&f) {
                return Ok(None);
            }
            match &f {
                Frame::Array(items) if items.len() == 3 => {
                    let (Some(id), Some(h), Some(ttl)) = (
                        frame_int(&items[0]),
                        frame_bytes(&items[1]),
                        frame_int(&items[2]),
                    ) else {
                        return Err(bad_reply("CAMPAIGN", &f));
                    };
                    Stats::bump(&self.stats.campaigns_won);
                    Ok(Some(Lease {
                        id,
                        holder: String::from_utf8_lossy(h).into_owned(),
                        ttl: Duration::from_millis(ttl.max(0) as u64),
                    }))
                }
                _ => Err(bad_reply("CAMPAIGN", &f)),
            }
        })
    }

    fn resign(&self, lease: &Lease) -> BoxFut<'_, Result<(), RoutingError>> {
        let lease = lease.clone();
        Box::pin(async move {
            Stats::bump(&self.stats.resigns);
            let id = lease.id.to_string();
            match self
                .call(&[b"RESIGN", id.as_bytes(), lease.holder.as_bytes()])
                .await?
            {
                Frame::Simple(_) => Ok(()),
                f => Err(bad_reply("RESIGN", &f)),
            }
        })
    }

    fn report(&self, obs: Observation) -> BoxFut<'_, Result<(), RoutingError>> {
        Box::pin(async move {
            Stats::bump(&self.stats.reports);
            let doc = serde_json::to_string(&obs)
                .map_err(|e| RoutingError::Other(format!("encode observation: {e}")))?;
            match self.call(&[b"REPORT", doc.as_bytes()]).await? {
                Frame::Simple(_) => Ok(()),
                f => Err(bad_reply("REPORT", &f)),
            }
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
            let age = (max_age.as_millis() as u64).to_string();
            let f = self
                .call(&[b"OBSERVATIONS", node.as_bytes(), age.as_bytes()])
                .await?;
            let Frame::Array(items) = &f else {
                return Err(bad_reply("OBSERVATIONS", &f));
            };
            items
                .iter()
                .map(|i| {
                    let b = frame_bytes(i).ok_or_else(|| bad_reply("OBSERVATIONS", i))?;
                    serde_json::from_slice(b)
                        .map_err(|e| RoutingError::Other(format!("bad observation: {e}")))
                })
                .collect()
        })
    }

    fn stats(&self) -> StatsSnapshot {
        self.stats.snapshot()
    }
}
