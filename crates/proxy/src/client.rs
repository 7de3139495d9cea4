//! One client connection: parse requests, answer or forward each, and write the
//! replies back in request order.
//!
//! ```text
//!  socket ─parse─> classify (commands.rs) ─> slots: [Ready | Inflight | Unsent | Done]
//!                                                    ▲ replies fill Inflight in order
//!  pump (client_send.rs): Unsent ─batch─> one link (shared pool link, or the
//!        client's dedicated link while its session has state)
//!  flush: Ready/Done at the front ─> output (output.rs) ─> socket
//!  direct requests: the link writes their replies into the output itself; the
//!        task catches up with a counter (`absorb`) instead of a message
//! ```
//!
//! Order: every request has a slot, in arrival order, and only the front of the
//! queue is ever written. All of a client's in-flight requests are on one link at
//! a time (the "barrier": to switch link, the client waits until the old link has
//! answered everything), so a link's replies fill the in-flight slots in order and
//! a replay can never overtake a request sent later.
//!
//! Failover: when a link fails, the first `sent` unanswered requests have an
//! unknown outcome (replayed only if SAFE, else answered with [`OUTCOME_UNKNOWN`]);
//! the rest were never applied (never sent, or settled as unapplied with the
//! next master: `verify`) and go back to Unsent. Unsent requests wait (are
//! "held") while there is no usable master, at most `hold-timeout` each.
//! A request the master refused unexecuted (`-READONLY` of a demoted master...)
//! goes back to Unsent too, held until the route changes (client_replies.rs).
//!
//! Login (client_login.rs): an ACL user's AUTH goes to the master, and the
//! requests after it wait unparsed until it is answered.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tandem_resp::{Limits, RequestParser};
use tokio::io::AsyncReadExt;
use tokio::sync::{mpsc, watch};

use crate::link::{ClientMsg, ClientShared, Link, Login};
use crate::metrics::Metrics;
use crate::router::Router;

#[path = "client_failover.rs"]
mod failover;
#[path = "client_login.rs"]
mod login;
#[path = "client_replies.rs"]
mod replies;
#[path = "client_send.rs"]
mod send;

/// Sent for a request that reached a master which failed before replying.
pub const OUTCOME_UNKNOWN: &str = "ERR Tandem proxy: outcome unknown, the master failed before replying (the command may or may not have been applied)";
/// Sent for a request held longer than `hold-timeout` (it was never sent).
pub const HOLD_TIMEOUT: &str =
    "TRYAGAIN Tandem proxy: no master available within hold-timeout; the command was not sent";
/// Sent when the held-request memory bound is reached (the command was not sent).
pub const HOLD_FULL: &str =
    "TRYAGAIN Tandem proxy: too many requests held during failover (hold-max-bytes); the command was not sent";
pub(crate) const TX_ABORTED: &str =
    "ERR Tandem proxy: transaction aborted, the master link failed; send EXEC or DISCARD";
pub(crate) const EXEC_ABORTED: &str =
    "EXECABORT Transaction discarded because the master link failed (Tandem proxy)";

/// Slot flags.
pub(crate) const SAFE: u8 = 1;
pub(crate) const TX: u8 = 2;
pub(crate) const DISCARD: u8 = 4;
pub(crate) const READ: u8 = 8;
pub(crate) const PIN: u8 = 16;
/// RESP2 (P|S)SUBSCRIBE: from here on the dedicated link is in pub/sub mode.
pub(crate) const RAW: u8 = 32;
/// Answered only with pushes (RESP3 subscribe family): no counted reply.
pub(crate) const NOREPLY: u8 = 64;
/// In flight as a direct request: the link writes its reply into the client's
/// socket itself (`output`).
pub(crate) const DIRECT: u8 = 128;

/// What a forwarded request is, when its reply changes the session.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Other,
    /// The db (SELECT accepts 0..=i32::MAX).
    Select(i32),
    Multi,
    Watch,
    Exec,
    Discard,
    Unwatch,
    /// EXEC of a transaction with a queuing error: DISCARD was sent instead, and
    /// the reply is replaced by EXECABORT.
    ExecAbort,
    /// `AUTH user pass` of a named ACL user, checked by the master (`Rare::auth`):
    /// nothing after it is parsed until it is answered.
    Auth,
    /// INFO asking the master for its sections (`Rare::info`): the reply is
    /// merged with the proxy's own.
    Info,
    /// A blocking command that may wait at the node (counted in
    /// `blocked_clients` while in the proxy: `Rare::blocked`).
    Blocking,
}

/// A forwarded request. Small (every request of a pipeline is one, moved from
/// Unsent to Inflight and out): what only refusals and transactions need is
/// boxed in `rare`.
pub(crate) struct Req {
    pub data: Bytes,
    pub since: Instant,
    pub rare: Option<Box<Rare>>,
    pub kind: Kind,
    pub pin_gen: u32,
    pub flags: u8,
}

#[derive(Default)]
pub(crate) struct Rare {
    /// The master refused it before executing it (`-READONLY`, ...): the reply,
    /// handed to the client as is if no switch comes within hold-timeout.
    pub refused: Option<Bytes>,
    /// Held until the route leaves this (epoch, master): the refusal says a
    /// switch is under way, so the same master would refuse it again.
    pub held_for: Option<(u64, Arc<str>)>,
    /// EXEC: the transaction it ends (MULTI and the queued commands), to run
    /// again on the new master if a switching master refuses the EXEC.
    pub tx: Option<Box<TxLog>>,
    /// A refusal that passes on the same master (`-LOADING`: a restarted
    /// master serves once its dataset is in): sent to it again from then on,
    /// within the same hold-timeout.
    pub retry_at: Option<Instant>,
    /// `Kind::Auth`: the user to adopt if the master accepts the login.
    pub auth: Option<Box<login::AuthReq>>,
    /// `Kind::Info`: what the client asked for.
    pub info: Option<Box<crate::info::InfoAsk>>,
    /// `Kind::Blocking`: counted in `blocked_clients` until dropped (held for
    /// its Drop only).
    pub _blocked: Option<BlockedGauge>,
}

/// One count in the `blocked_clients` gauge for as long as it lives, so every
/// way a blocking request leaves the proxy (answered, failed over, client
/// gone) gives the count back.
pub(crate) struct BlockedGauge(Arc<Metrics>);

impl BlockedGauge {
    fn new(m: &Arc<Metrics>) -> BlockedGauge {
        Metrics::gauge(&m.blocked_clients, 1);
        BlockedGauge(m.clone())
    }
}

impl Drop for BlockedGauge {
    fn drop(&mut self) {
        Metrics::gauge(&self.0.blocked_clients, -1);
    }
}

impl Req {
    pub fn rare(&mut self) -> &mut Rare {
        self.rare.get_or_insert_with(Box::default)
    }
    pub fn has_tx(&self) -> bool {
        self.rare.as_ref().is_some_and(|r| r.tx.is_some())
    }
    pub fn held_for(&self) -> Option<&(u64, Arc<str>)> {
        self.rare.as_ref().and_then(|r| r.held_for.as_ref())
    }
}

/// The requests of a transaction since MULTI, as sent.
#[derive(Default)]
pub(crate) struct TxLog {
    pub reqs: Vec<Bytes>,
    /// A WATCH preceded it: a refused EXEC answers "aborted" (null) instead of
    /// running again, since the keys may have changed since the WATCH.
    pub watched: bool,
}

pub(crate) enum Slot {
    Ready(Bytes),
    Done,
    Inflight(Req),
    Unsent(Req),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub(crate) enum ReplyMode {
    #[default]
    On,
    Off,
    Skip,
}

/// The client's connection state as the proxy tracks it (at request arrival).
#[derive(Default)]
pub(crate) struct Session {
    pub authed: bool,
    /// Logged in as this ACL user (not the default one): its requests run on a
    /// dedicated link logged in as the same user, so the node applies the
    /// user's permissions.
    pub user: Option<Login>,
    pub resp3: bool,
    pub db: i64,
    pub name: Option<Bytes>,
    pub in_multi: bool,
    pub multi_dirty: bool,
    pub watching: bool,
    /// The master link failed inside a transaction: refuse until EXEC/DISCARD.
    pub tx_broken: bool,
    pub tx_broken_watch: bool,
    pub subscribed: bool,
    /// Channels, patterns and shard channels subscribed (as requested), so a
    /// failover can subscribe them again on the new master.
    pub subs: [std::collections::BTreeSet<Bytes>; 3],
    pub tracking: bool,
    /// The CLIENT TRACKING commands since the last OFF, replayed on the new
    /// master after a failover.
    pub tracking_cmds: Vec<Vec<Bytes>>,
    pub reply: ReplyMode,
}

impl Session {
    pub fn needs_pin(&self) -> bool {
        self.resp3
            || self.user.is_some()
            || self.db != 0
            || self.in_multi
            || self.watching
            || self.subscribed
            || self.tracking
    }
}

pub(crate) struct Pinned {
    link: Arc<Link>,
    gen: u32,
    /// A reply came back on it (a tracking client may cache what it read).
    answered: bool,
}

pub(crate) struct Client {
    pub r: Arc<Router>,
    pub sh: Arc<ClientShared>,
    rx: mpsc::UnboundedReceiver<ClientMsg>,
    gen_rx: watch::Receiver<u64>,
    pub parser: RequestParser,
    /// Where the arguments of the request being handled are in its frame (kept
    /// for the allocation).
    spans: Vec<(usize, usize)>,
    /// Set by `request` when the request goes to a backend as the client sent it:
    /// its flags and kind (see `forward`).
    pub(crate) fwd_this: Option<(u8, Kind)>,
    /// The last command's full name (CLIENT LIST's `cmd`).
    pub(crate) last_cmd: &'static str,
    rbuf: BytesMut,
    out: BytesMut,
    out_acct: usize,
    pub slots: VecDeque<Slot>,
    n_inflight: usize,
    /// In-flight slots with DIRECT (always the oldest ones in flight).
    n_direct: usize,
    /// Direct replies caught up with (`ClientShared::direct_done`).
    direct_seen: u64,
    /// A direct request's reply came as a message: the link turned direct
    /// delivery off; it is turned on again once nothing is in flight.
    direct_fell_back: bool,
    n_unsent: usize,
    /// Bytes of Unsent + Inflight requests (reading pauses above a bound).
    queued_bytes: usize,
    held: (i64, i64),
    cur: Option<Arc<Link>>,
    /// `cur` is a link to a replica (reads under `read-from`).
    cur_replica: bool,
    /// A request answered on `cur` was refused and is held for a replay: later
    /// replies of `cur` are ordered after it (see `client_replies.rs`).
    refused_on: Option<crate::link::LinkId>,
    /// Unsent slots held because the master refused them.
    n_refused: usize,
    pinned: Option<Pinned>,
    pin_connecting: bool,
    pin_retry_at: Option<Instant>,
    /// The earliest `Rare::retry_at` of the held requests.
    refused_retry_at: Option<Instant>,
    pub pin_gen: u32,
    /// RESP2 pub/sub mode on the dedicated link: replies are not counted.
    pub raw: bool,
    /// Replies consumed on the current link see an open MULTI/WATCH.
    link_tx_open: bool,
    /// The open transaction's requests (see [`TxLog`]).
    tx_log: TxLog,
    /// The refusal a command queued in the link's open transaction got.
    pub(super) tx_refusal: Option<Bytes>,
    /// The db of the last answered SELECT (a new dedicated link starts there).
    db_acked: i64,
    /// The dedicated link of a subscribed client failed: open a new one that
    /// subscribes again.
    pub(crate) resubscribe: bool,
    /// The dedicated link of a tracking client failed: open a new one that
    /// turns tracking on again.
    pub(crate) retrack: bool,
    /// Keep the dedicated link after its state is clean (it served a blocking
    /// command): stateless commands still use the shared links.
    pub(crate) linger_pin: bool,
    pub s: Session,
    pub closing: bool,
    close_now: bool,
    last_input: Instant,
    /// When the current event was taken up: the time stamp of the requests it
    /// carries and sends (one clock read per event, not per request).
    pub(crate) now: Instant,
    /// The router's route as of the last generation this client saw.
    pub(crate) route: Arc<crate::router::Route>,
    /// Per input batch: whether the master was unusable (checked once a batch).
    master_down: Option<bool>,
    /// Counters added to the shared metrics once per input batch.
    pub n_commands: u64,
    n_forwarded: u64,
    /// A named user's AUTH is on its way to the master: the requests after it
    /// wait unparsed (they must run as whoever the reply says).
    pub(crate) auth_waiting: bool,
}

/// Reading pauses while this many requests or bytes are queued.
const MAX_QUEUED_SLOTS: usize = 64 * 1024;
const MAX_QUEUED_BYTES: usize = 64 << 20;

enum Event {
    Input(std::io::Result<usize>),
    Msg(Option<ClientMsg>),
    Route,
    HoldExpired,
    PinRetry,
    RefusedRetry,
    Killed,
    Idle,
}

/// Serves one accepted client until it disconnects.
pub(crate) async fn serve(r: Arc<Router>, sock: crate::sock::ClientStream, id: u64) {
    let (addr, laddr, fd) = sock.describe();
    let (rd, wr) = sock.split();
    let (tx, rx) = mpsc::unbounded_channel();
    let sh = Arc::new(ClientShared::new(
        id,
        tx,
        r.cfg.client_output_buffer_limit,
        wr,
        crate::client_list::View::new(addr, laddr, fd),
        r.metrics.clone(),
    ));
    r.clients.add(&sh);
    let mut parser = RequestParser::new();
    let authed = r.cfg.requirepass.is_none();
    parser.set_auth_required(!authed);
    let mut gen_rx = r.subscribe();
    gen_rx.mark_unchanged();
    let route = r.route();
    let mut c = Client {
        r,
        sh,
        rx,
        gen_rx,
        parser,
        spans: Vec::new(),
        fwd_this: None,
        last_cmd: "NULL",
        rbuf: BytesMut::new(),
        out: BytesMut::new(),
        out_acct: 0,
        slots: VecDeque::new(),
        n_inflight: 0,
        n_direct: 0,
        direct_seen: 0,
        direct_fell_back: false,
        n_unsent: 0,
        queued_bytes: 0,
        held: (0, 0),
        cur: None,
        cur_replica: false,
        refused_on: None,
        n_refused: 0,
        pinned: None,
        pin_connecting: false,
        pin_retry_at: None,
        refused_retry_at: None,
        pin_gen: 0,
        raw: false,
        link_tx_open: false,
        tx_log: TxLog::default(),
        tx_refusal: None,
        db_acked: 0,
        resubscribe: false,
        retrack: false,
        linger_pin: false,
        s: Session {
            authed,
            ..Session::default()
        },
        closing: false,
        close_now: false,
        last_input: Instant::now(),
        now: Instant::now(),
        master_down: None,
        route,
        n_commands: 0,
        n_forwarded: 0,
        auth_waiting: false,
    };
    c.run(rd).await;
    c.cleanup();
}

impl Client {
    async fn run(&mut self, mut rd: crate::sock::ClientRead) {
        let idle = self.r.cfg.client_idle_timeout;
        loop {
            if self.close_now || (self.closing && self.slots.is_empty()) {
                break;
            }
            let can_read = !self.closing
                && !self.auth_waiting
                && self.slots.len() < MAX_QUEUED_SLOTS
                && self.queued_bytes < MAX_QUEUED_BYTES;
            if can_read && self.rbuf.capacity() - self.rbuf.len() < 1024 {
                self.rbuf.reserve(16 * 1024);
            }
            let hold_deadline = self
                .first_unsent_since()
                .map(|t| t + self.r.cfg.hold_timeout);
            // Only requests in flight (direct ones may be answered unseen): idle
            // unless one is still unanswered when the timer fires.
            let idle_at =
                (!idle.is_zero() && self.slots.len() == self.n_inflight && !self.s.subscribed)
                    .then(|| self.last_input + idle);
            let pin_retry = self.pin_retry_at;
            let refused_retry = self.refused_retry_at;
            let far = self.last_input + Duration::from_secs(3600);
            let ev = tokio::select! {
                r = rd.read_buf(&mut self.rbuf), if can_read => Event::Input(r),
                m = self.rx.recv() => Event::Msg(m),
                // Route changes matter only to a client waiting for a route;
                // others pick the change up in `pump` (a cheap version check).
                r = self.gen_rx.changed(), if self.n_unsent > 0 || self.resubscribe || self.retrack => {
                    if r.is_err() { Event::Killed } else { Event::Route }
                }
                // Timers as lazy blocks: a disabled branch costs no timer entry.
                _ = async { tokio::time::sleep_until(hold_deadline.unwrap_or(far).into()).await }, if hold_deadline.is_some() => Event::HoldExpired,
                _ = async { tokio::time::sleep_until(pin_retry.unwrap_or(far).into()).await }, if pin_retry.is_some() => Event::PinRetry,
                _ = async { tokio::time::sleep_until(refused_retry.unwrap_or(far).into()).await }, if refused_retry.is_some() => Event::RefusedRetry,
                _ = async { tokio::time::sleep_until(idle_at.unwrap_or(far).into()).await }, if idle_at.is_some() => Event::Idle,
            };
            self.now = Instant::now();
            if self.absorb() && self.slots.len() > self.n_inflight {
                self.pump();
            }
            let mut drain = false;
            match ev {
                Event::Input(Ok(0)) | Event::Input(Err(_)) => break,
                Event::Input(Ok(n)) => {
                    Metrics::add(&self.r.metrics.total_net_input_bytes, n as u64);
                    self.last_input = self.now;
                    self.on_input();
                }
                Event::Msg(Some(m)) => {
                    drain |= matches!(m, ClientMsg::Wake);
                    self.on_msg(m);
                    for _ in 0..256 {
                        match self.rx.try_recv() {
                            Ok(m) => {
                                drain |= matches!(m, ClientMsg::Wake);
                                self.on_msg(m)
                            }
                            Err(_) => break,
                        }
                    }
                }
                Event::Msg(None) => break,
                Event::Route => {
                    // `changed()` marked the new generation seen: refresh here.
                    self.route = self.r.route();
                    self.pump();
                }
                Event::HoldExpired => self.expire_held(),
                Event::PinRetry => {
                    self.pin_retry_at = None;
                    self.pump();
                }
                Event::RefusedRetry => {
                    self.refused_retry_at = None;
                    self.pump();
                }
                Event::Idle if !self.slots.is_empty() => {
                    // Waiting for a reply is not idleness (Redis spares blocked
                    // clients too): look again a full period later.
                    self.last_input = self.now;
                }
                Event::Idle => {
                    Metrics::inc(&self.r.metrics.idle_disconnects);
                    break;
                }
                Event::Killed => break,
            }
            if self.auth_waiting && !self.auth_in_queue() {
                // The login is settled: what came after it can be served.
                self.auth_waiting = false;
                self.on_input();
            }
            // Hand the output over, then tell the links whether a direct reply
            // must wake this task (something of its own waits behind one). A
            // direct reply that lands in between is caught up with first.
            loop {
                self.flush();
                if !self.out.is_empty() {
                    drain |= self.sh.write_own(&self.out);
                    self.out.clear();
                    if self.out.capacity() > (1 << 20) {
                        self.out = BytesMut::new();
                    }
                    self.sh
                        .out_bytes
                        .fetch_sub(self.out_acct, Ordering::Relaxed);
                    self.out_acct = 0;
                }
                let want_wake = self.closing || self.slots.len() > self.n_inflight;
                if self.sh.arm(want_wake, self.direct_seen) {
                    break;
                }
                if self.absorb() {
                    self.pump();
                }
            }
            if drain && !self.drain_output().await {
                break;
            }
            if self.rbuf.is_empty() && self.rbuf.capacity() > (64 << 10) {
                self.rbuf = BytesMut::new();
            }
        }
        if self.sh.killed_by_command.load(Ordering::Relaxed) {
            tracing::debug!("client {} closed by CLIENT KILL", self.sh.id);
        } else if self.sh.killed.load(Ordering::Relaxed) {
            Metrics::inc(&self.r.metrics.output_buffer_disconnects);
            tracing::warn!(
                "client {} closed: output buffer limit ({} bytes) reached",
                self.sh.id,
                self.sh.out_limit
            );
        }
    }

    /// Writes the pending output as the socket takes it (the task reads no
    /// input meanwhile, as a blocked write did before); false: close the client.
    async fn drain_output(&mut self) -> bool {
        loop {
            match self.sh.drain() {
                Ok(true) => return true,
                Ok(false) => {}
                Err(_) => return false,
            }
            let ok = tokio::select! {
                r = self.sh.sock.writable() => r.is_ok(),
                _ = self.sh.kill.notified() => false,
            };
            if !ok {
                return false;
            }
        }
    }

    /// Catches up with the replies links wrote directly: their requests (the
    /// oldest in flight) are done. True if there were any.
    fn absorb(&mut self) -> bool {
        let done = self.sh.direct_done();
        if done == self.direct_seen {
            return false;
        }
        let k = done - self.direct_seen;
        self.direct_seen = done;
        for _ in 0..k {
            match self.slots.pop_front() {
                Some(Slot::Inflight(q)) if q.flags & DIRECT != 0 => {
                    self.n_inflight = self.n_inflight.saturating_sub(1);
                    self.n_direct = self.n_direct.saturating_sub(1);
                    self.queued_bytes = self.queued_bytes.saturating_sub(q.data.len());
                }
                _ => {
                    tracing::error!("client {}: a direct reply without its request", self.sh.id);
                    self.close_now = true;
                    break;
                }
            }
        }
        true
    }

    fn cleanup(&mut self) {
        self.r.clients.remove(self.sh.id);
        self.sh.close();
        if let Some(p) = self.pinned.take() {
            p.link.close();
            Metrics::gauge(&self.r.metrics.pinned_clients, -1);
        }
        self.set_held(0, 0);
        Metrics::gauge(&self.r.metrics.connected_clients, -1);
    }

    fn on_input(&mut self) {
        self.master_down = None;
        let limits = Limits::default();
        // Reused across batches: no allocation per request at pipeline 1.
        let mut spans = std::mem::take(&mut self.spans);
        while !self.closing && !self.auth_waiting {
            match self.parser.parse_frame(&mut self.rbuf, &limits, &mut spans) {
                Ok(Some(frame)) => {
                    if spans.is_empty() {
                        continue;
                    }
                    // The arguments as slices of the frame: on the stack for
                    // the usual few (no allocation, no refcount per argument).
                    let mut few: [&[u8]; 8] = [&[]; 8];
                    let many: Vec<&[u8]>;
                    let args: &[&[u8]] = if spans.len() <= few.len() {
                        for (a, &(s, e)) in few.iter_mut().zip(&spans) {
                            *a = &frame[s..e];
                        }
                        &few[..spans.len()]
                    } else {
                        many = spans.iter().map(|&(s, e)| &frame[s..e]).collect();
                        &many
                    };
                    self.request(args);
                    // Forwarded as received: the frame is the request's bytes.
                    if let Some((flags, kind)) = self.fwd_this.take() {
                        self.forward(frame, flags, kind);
                    }
                }
                Ok(None) => break,
                Err(e) => {
                    Metrics::inc(&self.r.metrics.protocol_errors);
                    self.slots.push_back(Slot::Ready(Bytes::from(e.to_reply())));
                    self.closing = true;
                    self.rbuf.clear();
                }
            }
        }
        let m = &self.r.metrics;
        // Pipelined input: the next batch is near, so poll instead of sleeping.
        if self.n_commands >= crate::busy::PIPELINED {
            crate::busy::touch();
        }
        Metrics::add(
            &m.total_commands_processed,
            std::mem::take(&mut self.n_commands),
        );
        Metrics::add(&m.commands_forwarded, std::mem::take(&mut self.n_forwarded));
        self.spans = spans;
        self.refresh_view();
        self.pump();
    }

    /// Brings what CLIENT LIST shows of this client up to date (once per
    /// input batch).
    pub(crate) fn refresh_view(&self) {
        let mut v = self.sh.view.lock();
        v.last = self.now;
        v.cmd = self.last_cmd;
        v.db = self.s.db;
        v.resp = if self.s.resp3 { 3 } else { 2 };
        if v.name != self.s.name {
            v.name = self.s.name.clone();
        }
        let user = self.s.user.as_ref().and_then(|l| l.user.as_ref());
        match user {
            Some(u) if *u != v.user => v.user = u.clone(),
            None if &v.user[..] != b"default" => v.user = Bytes::from_static(b"default"),
            _ => {}
        }
        v.multi = if self.s.in_multi {
            self.tx_log.reqs.len().saturating_sub(1) as i32
        } else {
            -1
        };
        for (n, set) in v.subs.iter_mut().zip(&self.s.subs) {
            *n = set.len();
        }
        v.tracking = self.s.tracking;
    }

    /// Queues a reply the proxy produced (respecting CLIENT REPLY OFF/SKIP).
    pub fn ready(&mut self, bytes: impl Into<Bytes>, discard: bool) {
        if discard {
            self.slots.push_back(Slot::Done);
        } else {
            self.slots.push_back(Slot::Ready(bytes.into()));
        }
    }

    pub fn error(&mut self, msg: &str, discard: bool) {
        self.ready(err_bytes(msg), discard);
    }

    /// Queues a request for a backend: `data` is one complete multibulk request.
    pub fn forward(&mut self, data: Bytes, flags: u8, kind: Kind) {
        // Counted and checked once per input batch (on_input), not per request.
        self.n_forwarded += 1;
        let master_down = match self.master_down {
            Some(down) => down,
            None => {
                let down = !self.route.master.as_ref().is_some_and(|m| m.usable());
                self.master_down = Some(down);
                down
            }
        };
        if master_down
            && Metrics::get_gauge(&self.r.metrics.held_bytes) + data.len() as i64
                > self.r.cfg.hold_max_bytes as i64
        {
            Metrics::inc(&self.r.metrics.hold_overflow_total);
            self.error(HOLD_FULL, flags & DISCARD != 0);
            return;
        }
        let tx = self.log_tx(flags, kind, &data);
        self.queued_bytes += data.len();
        self.n_unsent += 1;
        self.slots.push_back(Slot::Unsent(Req {
            data,
            flags,
            kind,
            since: self.now,
            pin_gen: self.pin_gen,
            rare: match (tx, kind) {
                (None, Kind::Blocking) => Some(Box::new(Rare {
                    _blocked: Some(BlockedGauge::new(&self.r.metrics)),
                    ..Rare::default()
                })),
                (None, _) => None,
                (Some(tx), _) => Some(Box::new(Rare {
                    tx: Some(tx),
                    ..Rare::default()
                })),
            },
        }));
    }

    fn on_msg(&mut self, m: ClientMsg) {
        // A link sends its messages after the direct replies before them
        // (another runtime thread may have written more since the loop looked).
        self.absorb();
        match m {
            ClientMsg::Wake => {}
            ClientMsg::Replies { link, data, count } => {
                self.out_acct += data.len();
                if self.cur.as_ref().map(|l| l.id) != Some(link) {
                    tracing::warn!("client {}: replies from an unexpected link", self.sh.id);
                    return;
                }
                if let Some(p) = self.pinned.as_mut().filter(|p| p.link.id == link) {
                    p.answered = true;
                }
                self.on_replies(data, count as usize);
                self.pump();
            }
            ClientMsg::Raw { link, data } => {
                self.out_acct += data.len();
                if self.pinned.as_ref().map(|p| p.link.id) == Some(link) {
                    self.flush();
                    self.out.extend_from_slice(&data);
                }
            }
            ClientMsg::LinkFailed { link, sent } => self.on_link_failed(link, sent),
            ClientMsg::Killed => self.close_now = true,
            ClientMsg::Pinned { gen, link } => {
                self.pin_connecting = false;
                match link {
                    Some(l) if gen == self.pin_gen && !self.closing => {
                        Metrics::gauge(&self.r.metrics.pinned_clients, 1);
                        self.pinned = Some(Pinned {
                            link: l,
                            gen,
                            answered: false,
                        });
                        if std::mem::take(&mut self.resubscribe) && !self.s.resp3 {
                            self.raw = true;
                        }
                        self.retrack = false;
                    }
                    Some(l) => l.close(),
                    None => self.pin_retry_at = Some(Instant::now() + Duration::from_millis(50)),
                }
                self.pump();
            }
            ClientMsg::LoginRefused { gen, why } => {
                self.pin_connecting = false;
                if gen == self.pin_gen {
                    self.login_refused(&why);
                }
            }
        }
    }

    /// Moves finished slots at the front to the output buffer.
    fn flush(&mut self) {
        while let Some(front) = self.slots.front() {
            match front {
                Slot::Ready(_) | Slot::Done => {
                    if let Some(Slot::Ready(b)) = self.slots.pop_front() {
                        self.out.extend_from_slice(&b);
                    }
                }
                _ => break,
            }
        }
    }

    fn first_unsent(&self) -> Option<usize> {
        if self.n_unsent == 0 {
            return None;
        }
        self.slots.iter().position(|s| matches!(s, Slot::Unsent(_)))
    }

    fn first_unsent_since(&self) -> Option<Instant> {
        let i = self.first_unsent()?;
        match &self.slots[i] {
            Slot::Unsent(q) => Some(q.since),
            _ => None,
        }
    }

    fn set_held(&mut self, n: i64, b: i64) {
        let m = &self.r.metrics;
        if n > self.held.0 {
            Metrics::add(&m.held_total, (n - self.held.0) as u64);
        }
        Metrics::gauge(&m.held_requests, n - self.held.0);
        Metrics::gauge(&m.held_bytes, b - self.held.1);
        self.held = (n, b);
    }

    fn account_held(&mut self) {
        let mut n = 0;
        let mut b = 0;
        if self.n_unsent > 0 {
            for s in &self.slots {
                if let Slot::Unsent(q) = s {
                    n += 1;
                    b += q.data.len() as i64;
                }
            }
        }
        self.set_held(n, b);
    }
}

fn empty_req() -> Req {
    Req {
        data: Bytes::new(),
        flags: 0,
        kind: Kind::Other,
        since: Instant::now(),
        pin_gen: 0,
        rare: None,
    }
}

/// `-<msg>\r\n`.
pub(crate) fn err_bytes(msg: &str) -> Bytes {
    let mut v = Vec::with_capacity(msg.len() + 3);
    v.push(b'-');
    v.extend(
        msg.bytes()
            .map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
    );
    v.extend_from_slice(b"\r\n");
    Bytes::from(v)
}

// Every request of a pipeline moves through the slot queue: keep a slot small
// (what refusals and transactions need is boxed in `Rare`).
const _: () = assert!(std::mem::size_of::<Slot>() <= 80);
