//! A backend link: one TCP connection to a node, carrying pipelined requests of
//! many clients (a shared pool link) or of one client (a dedicated link).
//!
//! ```text
//!  client task ──send(bytes, count)──> lock { push FIFO entry; append to wbuf
//!                                             for the writer task }
//!                 Fifo [ (client A, 3), (client B, 1), ... ] <── reader task (scan
//!                           │                                     reply boundaries)
//!  client sockets <──write_direct── replies of direct requests (output.rs)
//!  client tasks <──Replies{link, bytes, count}── one message per run of others
//! ```
//!
//! Requests: the writer task sends what every client woken in the same turn of
//! the shard's single-threaded runtime queued, in one `write` (the writer runs
//! after the clients woken in that turn). Replies of direct requests (plain stateless ones; see `output`) are
//! written into the client's socket by the reader: no hop through the client task.
//!
//! Replies come back in request order, so the FIFO says whose each reply is; the
//! reader never builds a reply tree, it only finds frame boundaries (`scan`) and
//! forwards slices of its read buffer.
//!
//! When the link fails (I/O error, EOF, timeout, or closed because its node was
//! retired), the reader marks it dead, takes the FIFO and tells every client with
//! something outstanding how many of its requests it had accepted
//! (`LinkFailed{sent}`): those have an unknown outcome (counted conservatively:
//! bytes still queued for the socket count as sent). Replies are delivered under
//! the same lock, so a client always sees all of a link's replies before its
//! `LinkFailed`.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use parking_lot::Mutex;
use tandem_resp::scan::Scanner;
use tandem_resp::Limits;
use tandem_routing::{Observation, ObservationKind};
use tokio::io::AsyncReadExt;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Notify};

pub(crate) use crate::output::ClientShared;
use tokio_util::sync::CancellationToken;
use tracing::{debug, warn};

use crate::metrics::Metrics;

pub(crate) type LinkId = u64;

static NEXT_LINK: AtomicU64 = AtomicU64::new(1);

/// What links (and the pinning helper) tell a client task.
pub(crate) enum ClientMsg {
    /// `count` complete replies, in order, for this client's oldest outstanding
    /// requests on `link`.
    Replies {
        link: LinkId,
        data: Bytes,
        count: u32,
    },
    /// Bytes that answer no request: RESP3 pushes, or anything in RESP2 pub/sub mode.
    Raw { link: LinkId, data: Bytes },
    /// The link is gone; the first `sent` of the client's unanswered requests on it
    /// had been handed to the socket (outcome unknown), the rest were never sent.
    LinkFailed { link: LinkId, sent: u32 },
    /// A dedicated link the client asked for (None: could not connect).
    Pinned { gen: u32, link: Option<Arc<Link>> },
    /// The master refused the client's user when a new dedicated link logged
    /// in as it (deleted, disabled, new password): the node's error.
    LoginRefused { gen: u32, why: Bytes },
    /// The client's output buffer limit was exceeded: close it.
    Killed,
    /// A direct reply was written (or left pending) while the client task
    /// waited for one (see `output`).
    Wake,
}

struct FifoEntry {
    /// None: the link's own setup commands (AUTH, HELLO, SELECT), swallowed.
    client: Option<Arc<ClientShared>>,
    remaining: u32,
    then_raw: bool,
    sent_at: Instant,
    /// `TANDEM LINK`: an error means the node keeps no link positions (it is
    /// not Tandem); the link works without them.
    tag_ack: bool,
    /// The replies may go straight into the client's socket (see `output`).
    direct: bool,
}

struct Fifo {
    q: VecDeque<FifoEntry>,
    failed: bool,
    raw: bool,
    last_progress: Instant,
    /// Request bytes accepted but not yet written (the writer task drains it).
    wbuf: BytesMut,
    swallow_pushes: u32,
    /// Client requests handed to the link so far (the last one's number in the
    /// node's count, once the link is tagged).
    sent_reqs: u64,
}

/// Observation sink plus the context each observation needs.
#[derive(Clone)]
pub(crate) struct Obs {
    pub tx: mpsc::Sender<Observation>,
    pub observer: Arc<str>,
    pub epoch: Arc<AtomicU64>,
}

impl Obs {
    pub fn report(&self, node: &str, kind: ObservationKind) {
        let at_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        // Never block the data path for the monitor: drop when the sink is full.
        let _ = self.tx.try_send(Observation {
            observer: self.observer.to_string(),
            node: node.to_string(),
            epoch: self.epoch.load(Ordering::Relaxed),
            kind,
            at_ms,
        });
    }
}

/// How to open a link.
pub(crate) struct LinkOpts {
    pub node: Arc<str>,
    /// Setup commands written first; their replies are swallowed.
    pub init: Vec<u8>,
    pub init_count: u32,
    /// Dedicated links: the one client, which also receives pushes.
    pub owner: Option<Arc<ClientShared>>,
    /// The link speaks RESP3 (frames starting with '>' are pushes).
    pub resp3: bool,
    /// Zero: never time out (dedicated links run blocking commands).
    pub timeout: Duration,
    pub connect_timeout: Duration,
    /// The pool to tell when the link dies.
    pub events: Option<mpsc::UnboundedSender<LinkId>>,
    pub obs: Obs,
    pub metrics: Arc<Metrics>,
    /// The pool's availability flag, cleared when this (shared) link fails so
    /// no client sends to the node again before the pool reconnects.
    pub pool_up: Option<Arc<AtomicBool>>,
    /// RESP3 pushes to drop first (confirmations of setup SUBSCRIBEs).
    pub swallow_pushes: u32,
    /// After the setup replies, forward everything raw (RESP2 pub/sub).
    pub init_then_raw: bool,
    /// Tag the link (`TANDEM LINK <prefix>-<id>`) and, when it fails, settle
    /// its unanswered requests with the next master (`verify`). Not for links
    /// set up in pub/sub mode.
    pub tag_prefix: Option<Arc<str>>,
    pub verify: Option<std::sync::Weak<crate::router::Router>>,
}

/// Why a link stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum FailKind {
    Closed,
    Eof,
    Io,
    Timeout,
    Protocol,
    Setup,
}

/// A handle on a live (or dead) link.
pub(crate) struct Link {
    pub id: LinkId,
    pub node: Arc<str>,
    wr: OwnedWriteHalf,
    fifo: Mutex<Fifo>,
    wake_writer: Notify,
    cancel: CancellationToken,
    dead: AtomicBool,
    /// `TANDEM LINK <tag>`, and whether the node accepted it.
    tag: Option<Box<[u8]>>,
    tagged: AtomicBool,
    /// Set by [`Link::forget_positions`].
    untracked: AtomicBool,
}

impl Link {
    /// Sends a batch of encoded requests expecting `count` replies (then raw
    /// forwarding if `then_raw`; written straight to the client if `direct`).
    /// False if the link is already dead.
    /// `parts` are written back to back; `now` stamps the batch (the timeout
    /// counts from it).
    pub fn send<'a>(
        &self,
        client: Option<&Arc<ClientShared>>,
        parts: impl Iterator<Item = &'a [u8]>,
        count: u32,
        then_raw: bool,
        direct: bool,
        now: Instant,
    ) -> bool {
        self.send_entry(client, parts, count, then_raw, false, direct, now)
    }

    #[allow(clippy::too_many_arguments)]
    fn send_entry<'a>(
        &self,
        client: Option<&Arc<ClientShared>>,
        parts: impl Iterator<Item = &'a [u8]>,
        count: u32,
        then_raw: bool,
        tag_ack: bool,
        direct: bool,
        now: Instant,
    ) -> bool {
        let mut f = self.fifo.lock();
        if f.failed {
            return false;
        }
        if client.is_some() {
            f.sent_reqs += u64::from(count);
        }
        if count > 0 || then_raw {
            f.q.push_back(FifoEntry {
                client: client.cloned(),
                remaining: count,
                then_raw,
                sent_at: now,
                tag_ack,
                direct,
            });
        }
        let was_empty = f.wbuf.is_empty();
        for p in parts {
            f.wbuf.extend_from_slice(p);
        }
        drop(f);
        if was_empty {
            self.wake_writer.notify_one();
        }
        true
    }
    /// The link carries requests without replies (pub/sub): the node's count
    /// of requests no longer matches the proxy's, so failures are not settled.
    pub fn forget_positions(&self) {
        self.untracked.store(true, Ordering::Relaxed);
    }
    pub fn is_dead(&self) -> bool {
        self.dead.load(Ordering::Relaxed)
    }
    /// Client requests handed to the link and not answered yet (INFO).
    pub fn outstanding(&self) -> u64 {
        let f = self.fifo.lock();
        f.q.iter()
            .filter(|e| e.client.is_some())
            .map(|e| u64::from(e.remaining))
            .sum()
    }

    /// Nothing outstanding: every request answered, nothing left to write.
    pub fn is_idle(&self) -> bool {
        let f = self.fifo.lock();
        f.wbuf.is_empty() && f.q.iter().all(|e| e.remaining == 0)
    }
    /// How long the link has owed a reply without receiving anything (zero when
    /// nothing is outstanding).
    pub fn quiet_for(&self) -> Duration {
        let f = self.fifo.lock();
        match f.q.iter().find(|e| e.remaining > 0) {
            Some(e) => e.sent_at.max(f.last_progress).elapsed(),
            None => Duration::ZERO,
        }
    }
    /// Closes the link; outstanding requests are reported as failed.
    pub fn close(&self) {
        self.cancel.cancel();
    }
}

/// Who a backend connection logs in as: `AUTH [user] password`, or in a RESP3
/// handshake `HELLO 3 AUTH user password` (the user `default` when none).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Login {
    pub user: Option<Bytes>,
    pub pass: Bytes,
}

impl Login {
    /// `AUTH [user] pass` as a request's arguments.
    pub fn auth_args(&self) -> Vec<&[u8]> {
        let mut args: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(u) = &self.user {
            args.push(u);
        }
        args.push(&self.pass);
        args
    }
}

/// Encodes the setup commands of a link.
pub(crate) fn setup_commands(
    login: Option<&Login>,
    resp3: bool,
    db: i64,
    name: Option<&[u8]>,
) -> (Vec<u8>, u32) {
    let mut out = Vec::new();
    let mut n = 0;
    if resp3 {
        match login {
            Some(l) => {
                let user = l.user.as_deref().unwrap_or(b"default");
                tandem_resp::encode_request(
                    &[&b"HELLO"[..], b"3", b"AUTH", user, &l.pass],
                    &mut out,
                )
            }
            None => tandem_resp::encode_request(&[&b"HELLO"[..], b"3"], &mut out),
        }
        n += 1;
    } else if let Some(l) = login {
        tandem_resp::encode_request(&l.auth_args(), &mut out);
        n += 1;
    }
    if db != 0 {
        let d = db.to_string();
        tandem_resp::encode_request(&[&b"SELECT"[..], d.as_bytes()], &mut out);
        n += 1;
    }
    if let Some(name) = name {
        tandem_resp::encode_request(&[&b"CLIENT"[..], b"SETNAME", name], &mut out);
        n += 1;
    }
    (out, n)
}

/// Adds (P|S)SUBSCRIBE setup commands (a resubscription after a failover): their
/// confirmations are swallowed, and a RESP2 link is in pub/sub mode afterwards.
pub(crate) fn add_subscriptions(o: &mut LinkOpts, subs: &[(&[u8], Vec<Bytes>)]) {
    for (cmd, names) in subs {
        let mut args: Vec<&[u8]> = vec![cmd];
        args.extend(names.iter().map(|n| &n[..]));
        tandem_resp::encode_request(&args, &mut o.init);
        if o.resp3 {
            o.swallow_pushes += names.len() as u32;
        } else {
            o.init_count += names.len() as u32;
            o.init_then_raw = true;
        }
    }
}

/// Connects and starts the link's reader and writer tasks.
pub(crate) async fn open(o: LinkOpts) -> std::io::Result<Arc<Link>> {
    let stream = match tokio::time::timeout(o.connect_timeout, TcpStream::connect(&*o.node)).await {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            Metrics::inc(&o.metrics.backend_connect_errors);
            o.obs.report(&o.node, ObservationKind::Refused);
            return Err(e);
        }
        Err(_) => {
            Metrics::inc(&o.metrics.backend_connect_errors);
            o.obs.report(&o.node, ObservationKind::Timeout);
            return Err(std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                "connect timed out",
            ));
        }
    };
    let _ = stream.set_nodelay(true);
    let ka = socket2::TcpKeepalive::new()
        .with_time(Duration::from_secs(10))
        .with_interval(Duration::from_secs(2));
    let _ = socket2::SockRef::from(&stream).set_tcp_keepalive(&ka);
    Metrics::inc(&o.metrics.backend_connects);
    let (rd, wr) = stream.into_split();
    let now = Instant::now();
    let id = NEXT_LINK.fetch_add(1, Ordering::Relaxed);
    let link = Arc::new(Link {
        id,
        node: o.node.clone(),
        wr,
        fifo: Mutex::new(Fifo {
            q: VecDeque::new(),
            failed: false,
            raw: false,
            last_progress: now,
            wbuf: BytesMut::new(),
            swallow_pushes: 0,
            sent_reqs: 0,
        }),
        wake_writer: Notify::new(),
        cancel: CancellationToken::new(),
        dead: AtomicBool::new(false),
        tag: o
            .tag_prefix
            .as_ref()
            .filter(|_| !o.init_then_raw && o.swallow_pushes == 0)
            .map(|p| format!("{p}-{id}").into_bytes().into_boxed_slice()),
        tagged: AtomicBool::new(false),
        untracked: AtomicBool::new(false),
    });
    if o.init_count > 0 || o.init_then_raw {
        link.send(
            None,
            std::iter::once(&o.init[..]),
            o.init_count,
            o.init_then_raw,
            false,
            now,
        );
    }
    if let Some(tag) = &link.tag {
        let mut req = Vec::new();
        tandem_resp::encode_request(&[&b"TANDEM"[..], b"LINK", tag], &mut req);
        link.send_entry(None, std::iter::once(&req[..]), 1, false, true, false, now);
    }
    link.fifo.lock().swallow_pushes = o.swallow_pushes;
    let o = Arc::new(o);
    let write_err = Arc::new(AtomicBool::new(false));
    tokio::spawn(read_loop(link.clone(), rd, o.clone(), write_err.clone()));
    tokio::spawn(write_loop(link.clone(), write_err));
    Ok(link)
}

/// Drains bytes the clients could not write at once.
async fn write_loop(link: Arc<Link>, write_err: Arc<AtomicBool>) {
    loop {
        tokio::select! {
            _ = link.wake_writer.notified() => {}
            _ = link.cancel.cancelled() => return,
        }
        loop {
            {
                let mut f = link.fifo.lock();
                if f.failed {
                    return;
                }
                if f.wbuf.is_empty() {
                    break;
                }
                match link.wr.try_write(&f.wbuf) {
                    Ok(n) => {
                        let _ = f.wbuf.split_to(n);
                        if f.wbuf.is_empty() {
                            if f.wbuf.capacity() > (1 << 20) {
                                f.wbuf = BytesMut::new();
                            }
                            break;
                        }
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                    Err(_) => {
                        write_err.store(true, Ordering::Relaxed);
                        link.cancel.cancel();
                        return;
                    }
                }
            }
            tokio::select! {
                r = link.wr.writable() => if r.is_err() {
                    write_err.store(true, Ordering::Relaxed);
                    link.cancel.cancel();
                    return;
                },
                _ = link.cancel.cancelled() => return,
            }
        }
    }
}

fn fail(link: &Link, o: &LinkOpts, kind: FailKind) {
    let entries = {
        let mut f = link.fifo.lock();
        if f.failed {
            return;
        }
        f.failed = true;
        link.dead.store(true, Ordering::SeqCst);
        if let Some(up) = &o.pool_up {
            up.store(false, Ordering::Release);
        }
        f.wbuf = BytesMut::new();
        (std::mem::take(&mut f.q), f.sent_reqs)
    };
    let (entries, sent_reqs) = entries;
    link.cancel.cancel();
    let unanswered: Vec<(Arc<ClientShared>, u32)> = entries
        .into_iter()
        .filter_map(|e| e.client.map(|c| (c, e.remaining)))
        .collect();
    let verify = o.verify.clone().filter(|_| {
        link.tagged.load(Ordering::Relaxed)
            && !link.untracked.load(Ordering::Relaxed)
            && unanswered.iter().any(|(_, n)| *n > 0)
    });
    match (verify, &link.tag) {
        (Some(router), Some(tag)) => {
            // Settled with the next master (see `verify`); the clients wait.
            let (id, node, tag, owner) = (link.id, link.node.clone(), tag.clone(), o.owner.clone());
            let metrics = o.metrics.clone();
            tokio::spawn(async move {
                let upto = crate::verify::applied_upto(router, &node, &tag).await;
                report_failed(id, unanswered, sent_reqs, upto, owner.as_ref(), &metrics);
            });
        }
        _ => report_failed(
            link.id,
            unanswered,
            sent_reqs,
            None,
            o.owner.as_ref(),
            &o.metrics,
        ),
    }
    match kind {
        FailKind::Closed => debug!("link {} to {} closed", link.id, link.node),
        FailKind::Timeout => {
            warn!("backend {} timed out (link {})", link.node, link.id);
            Metrics::inc(&o.metrics.backend_timeouts);
            o.obs.report(&link.node, ObservationKind::Timeout);
        }
        k => {
            warn!("backend link {} to {} failed: {k:?}", link.id, link.node);
            Metrics::inc(&o.metrics.backend_link_errors);
            o.obs.report(&link.node, ObservationKind::Refused);
        }
    }
    if let Some(ev) = &o.events {
        let _ = ev.send(link.id);
    }
}

/// Tells each client how many of its unanswered requests on the failed link may
/// have been applied (`upto`: the next master covers the link's requests up to
/// that number; None: all may have been).
fn report_failed(
    link: LinkId,
    unanswered: Vec<(Arc<ClientShared>, u32)>,
    sent_reqs: u64,
    upto: Option<u64>,
    owner: Option<&Arc<ClientShared>>,
    metrics: &Metrics,
) {
    let remaining: Vec<u32> = unanswered.iter().map(|(_, n)| *n).collect();
    let total: u64 = remaining.iter().map(|&n| u64::from(n)).sum();
    let maybe = crate::verify::maybe_applied(sent_reqs + 1 - total, &remaining, upto);
    let settled = total - maybe.iter().map(|&n| u64::from(n)).sum::<u64>();
    Metrics::add(&metrics.settled_unapplied_total, settled);
    let mut per: Vec<(Arc<ClientShared>, u32)> = Vec::new();
    let mut add = |c: &Arc<ClientShared>, n: u32| match per.iter_mut().find(|(x, _)| x.id == c.id) {
        Some((_, m)) => *m += n,
        None => per.push((c.clone(), n)),
    };
    for ((c, _), m) in unanswered.iter().zip(maybe) {
        add(c, m);
    }
    if let Some(owner) = owner {
        add(owner, 0);
    }
    for (c, sent) in per {
        c.deliver(ClientMsg::LinkFailed { link, sent }, 0);
    }
}

async fn read_loop(
    link: Arc<Link>,
    mut rd: OwnedReadHalf,
    o: Arc<LinkOpts>,
    write_err: Arc<AtomicBool>,
) {
    let mut kind = read_frames(&link, &mut rd, &o).await;
    if kind == FailKind::Closed && write_err.load(Ordering::Relaxed) {
        kind = FailKind::Io;
    }
    fail(&link, &o, kind);
}

async fn read_frames(link: &Link, rd: &mut OwnedReadHalf, o: &LinkOpts) -> FailKind {
    let fifo = &link.fifo;
    let limits = Limits::default();
    let mut buf = BytesMut::with_capacity(16 * 1024);
    let mut scanner = Scanner::new();
    let mut start = 0usize;
    let mut frames: Vec<(usize, usize)> = Vec::new();
    let tick_every = if o.timeout.is_zero() {
        Duration::from_secs(3600)
    } else {
        (o.timeout / 4).max(Duration::from_millis(5))
    };
    let mut tick = tokio::time::interval(tick_every);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        if buf.capacity() - buf.len() < 4096 {
            buf.reserve(16 * 1024);
        }
        tokio::select! {
            r = rd.read_buf(&mut buf) => match r {
                Ok(0) => return FailKind::Eof,
                Ok(_) => crate::busy::bump(),
                Err(_) => return FailKind::Io,
            },
            _ = link.cancel.cancelled() => return FailKind::Closed,
            _ = tick.tick() => {
                if !o.timeout.is_zero() && timed_out(fifo, o.timeout) {
                    return FailKind::Timeout;
                }
                continue;
            }
        }
        loop {
            match scanner.scan(&buf[start..], &limits) {
                Ok(Some(n)) => {
                    frames.push((start, start + n));
                    start += n;
                }
                Ok(None) => break,
                Err(e) => {
                    warn!("backend {} sent an invalid reply: {e}", link.node);
                    return FailKind::Protocol;
                }
            }
        }
        if frames.is_empty() {
            continue;
        }
        let chunk = buf.split_to(start).freeze();
        start = 0;
        if let Err(k) = deliver(link, fifo, o, &chunk, &frames) {
            return k;
        }
        frames.clear();
    }
}

fn timed_out(fifo: &Mutex<Fifo>, timeout: Duration) -> bool {
    let f = fifo.lock();
    match f.q.iter().find(|e| e.remaining > 0) {
        Some(e) => e.sent_at.max(f.last_progress).elapsed() > timeout,
        None => false,
    }
}

fn is_push(chunk: &[u8], at: usize) -> bool {
    chunk.get(at) == Some(&b'>')
}

/// Hands complete frames to their clients (under the FIFO lock; see module doc).
fn deliver(
    link: &Link,
    fifo: &Mutex<Fifo>,
    o: &LinkOpts,
    chunk: &Bytes,
    frames: &[(usize, usize)],
) -> Result<(), FailKind> {
    let mut f = fifo.lock();
    if f.failed {
        return Err(FailKind::Closed);
    }
    f.last_progress = Instant::now();
    let mut i = 0;
    while i < frames.len() {
        if o.resp3 && f.swallow_pushes > 0 && is_push(chunk, frames[i].0) {
            f.swallow_pushes -= 1;
            i += 1;
            continue;
        }
        if f.raw || (o.resp3 && is_push(chunk, frames[i].0)) {
            let Some(owner) = &o.owner else {
                return Err(FailKind::Protocol);
            };
            // In raw mode everything left goes at once; a push goes alone.
            let end = if f.raw { frames.len() } else { i + 1 };
            let data = chunk.slice(frames[i].0..frames[end - 1].1);
            let len = data.len();
            owner.deliver(
                ClientMsg::Raw {
                    link: link.id,
                    data,
                },
                len,
            );
            i = end;
            continue;
        }
        let Some(front) = f.q.front_mut() else {
            warn!("backend {} sent a reply nobody asked for", link.node);
            return Err(FailKind::Protocol);
        };
        if front.remaining == 0 {
            if front.then_raw {
                f.raw = true;
            }
            f.q.pop_front();
            continue;
        }
        let mut j = i;
        while j < frames.len()
            && ((j - i) as u32) < front.remaining
            && !(o.resp3 && is_push(chunk, frames[j].0))
        {
            j += 1;
        }
        let n = (j - i) as u32;
        front.remaining -= n;
        match &front.client {
            Some(c) => {
                let (s, e) = (frames[i].0, frames[j - 1].1);
                // An error may be a refusal the client task holds: never direct.
                let written = front.direct && {
                    let error = frames[i..j]
                        .iter()
                        .any(|&(f, _)| chunk.get(f) == Some(&b'-'));
                    c.write_direct(&chunk[s..e], n, error)
                };
                if !written {
                    let data = chunk.slice(s..e);
                    let len = data.len();
                    c.deliver(
                        ClientMsg::Replies {
                            link: link.id,
                            data,
                            count: n,
                        },
                        len,
                    );
                }
            }
            None if front.tag_ack => {
                let ok = chunk.get(frames[i].0) == Some(&b'+');
                link.tagged.store(ok, Ordering::Relaxed);
                if !ok {
                    debug!("backend {} keeps no link positions", link.node);
                }
            }
            None => {
                for &(s, e) in &frames[i..j] {
                    if chunk.get(s) == Some(&b'-') {
                        warn!(
                            "backend {} refused the proxy's setup command: {}",
                            link.node,
                            String::from_utf8_lossy(&chunk[s..e]).trim_end()
                        );
                        return Err(FailKind::Setup);
                    }
                }
            }
        }
        if front.remaining == 0 {
            if front.then_raw {
                f.raw = true;
            }
            f.q.pop_front();
        }
        i = j;
    }
    Ok(())
}
