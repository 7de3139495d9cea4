//! Shared state: what every connection task and the cron reach under one lock.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;
use tandem_resp::{Limits, Proto};
use tandem_store::Store;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::blocking::Blocked;
use crate::config::{ClassLimit, Config};
use crate::dispatch::CommandMap;
use crate::stream::WriteStream;

/// Immutable parts plus the lock.
pub struct Shared {
    pub state: Mutex<State>,
    pub commands: CommandMap,
    pub shutdown: CancellationToken,
    pub started: Instant,
    pub run_id: String,
    /// The TCP port listened on (CONFIG SET port moves it).
    pub port: std::sync::atomic::AtomicU16,
    /// The TCP addresses listened on, each with the token that stops its
    /// accept loop (CONFIG SET port/bind changes them).
    pub listening: parking_lot::Mutex<Vec<(String, CancellationToken)>>,
    pub handle_signals: bool,
    /// Open connections (for maxclients and a clean shutdown).
    pub connections: AtomicUsize,
    /// Client socket writes (INFO total_writes_processed).
    pub writes: std::sync::atomic::AtomicU64,
    /// Durability conditions replies wait for (AOF fsync, sync replication).
    pub gates: crate::gate::Gates,
    pub busy: crate::busy::BusyPoll,
    /// This node itself, for work a command hands to a task of its own
    /// (MIGRATE); set once the node is in its `Arc`.
    pub me: std::sync::OnceLock<std::sync::Weak<Shared>>,
}

/// Hot-path settings copied out of [`Config`] whenever it changes.
#[derive(Debug, Clone)]
pub struct Effective {
    pub limits: Limits,
    pub maxclients: usize,
    pub timeout_secs: u64,
    pub output: [ClassLimit; 3],
    pub requirepass: Option<Bytes>,
    pub hz: u64,
    pub tracking_max_keys: usize,
    /// `slowlog-log-slower-than` (µs; negative: off) and `slowlog-max-len`.
    pub slowlog_slower_than: i64,
    pub slowlog_max_len: usize,
    /// `latency-tracking`, `latency-monitor-threshold` (ms) and
    /// `latency-tracking-info-percentiles`.
    pub latency_tracking: bool,
    pub latency_monitor_threshold: u64,
    pub latency_percentiles: Vec<f64>,
    /// `busy-reply-threshold` (`lua-time-limit`), ms.
    pub busy_reply_threshold: u64,
}

/// `latency-tracking-info-percentiles`, a list of numbers.
fn percentiles(cfg: &Config) -> Vec<f64> {
    let words: Vec<String> = match cfg.words("latency-tracking-info-percentiles") {
        [] => cfg
            .str("latency-tracking-info-percentiles")
            .split_whitespace()
            .map(str::to_string)
            .collect(),
        w => w.to_vec(),
    };
    words.iter().filter_map(|p| p.parse().ok()).collect()
}

impl Effective {
    pub fn from(cfg: &Config) -> Self {
        let pass = cfg.str("requirepass");
        Effective {
            limits: Limits {
                max_bulk_len: cfg.int("proto-max-bulk-len") as usize,
                max_query_buffer: cfg.int("client-query-buffer-limit") as usize,
                ..Limits::default()
            },
            maxclients: cfg.int("maxclients") as usize,
            timeout_secs: cfg.int("timeout") as u64,
            output: cfg.output_limits(),
            requirepass: (!pass.is_empty()).then(|| Bytes::copy_from_slice(pass.as_bytes())),
            hz: cfg.int("hz").clamp(1, 500) as u64,
            tracking_max_keys: cfg.int("tracking-table-max-keys").max(0) as usize,
            slowlog_slower_than: cfg.int("slowlog-log-slower-than"),
            slowlog_max_len: cfg.int("slowlog-max-len").max(0) as usize,
            latency_tracking: cfg.bool("latency-tracking"),
            latency_monitor_threshold: cfg.int("latency-monitor-threshold").max(0) as u64,
            latency_percentiles: percentiles(cfg),
            busy_reply_threshold: cfg.int("busy-reply-threshold").max(0) as u64,
        }
    }
}

/// Per-command counters (INFO commandstats).
#[derive(Debug, Default, Clone)]
pub struct CmdStat {
    pub calls: u64,
    pub usec: u64,
    pub rejected: u64,
    pub failed: u64,
}

/// Server counters (INFO stats).
#[derive(Debug, Default)]
pub struct ServerStats {
    pub connections_received: u64,
    pub commands_processed: u64,
    pub rejected_connections: u64,
    pub net_input_bytes: u64,
    pub net_output_bytes: u64,
    /// Replication stream bytes applied from the master, and sent to replicas
    /// (the stream, not snapshot transfers).
    pub net_repl_input_bytes: u64,
    pub net_repl_output_bytes: u64,
    /// Client socket reads that brought data.
    pub reads_processed: u64,
    /// Time spent in the active expiry cycle.
    pub expire_cycle_us: u64,
    pub client_qbuf_limit_disconnections: u64,
    pub client_outbuf_limit_disconnections: u64,
    /// Sliding samples for instantaneous_ops_per_sec and the _kbps figures.
    pub ops_samples: VecDeque<Sample>,
    pub used_memory_peak: u64,
    /// Allocated bytes when the node started (before any data).
    pub used_memory_startup: u64,
    /// Error replies by code (INFO errorstats) and in all.
    pub errors: std::collections::BTreeMap<String, u64>,
    pub error_replies: u64,
    pub last_save: i64,
}

/// Counters at one cron turn.
#[derive(Debug, Clone, Copy, Default)]
pub struct Sample {
    pub ms: i64,
    pub commands: u64,
    pub input: u64,
    pub output: u64,
    pub repl_input: u64,
    pub repl_output: u64,
}

impl ServerStats {
    /// The sample of now.
    pub fn sample(&self, ms: i64) -> Sample {
        Sample {
            ms,
            commands: self.commands_processed,
            input: self.net_input_bytes,
            output: self.net_output_bytes,
            repl_input: self.net_repl_input_bytes,
            repl_output: self.net_repl_output_bytes,
        }
    }
    /// The rate of one counter per second over the samples.
    fn rate(&self, f: impl Fn(&Sample) -> u64) -> f64 {
        match (self.ops_samples.front(), self.ops_samples.back()) {
            (Some(a), Some(b)) if b.ms > a.ms => {
                (f(b) - f(a)) as f64 * 1000.0 / (b.ms - a.ms) as f64
            }
            _ => 0.0,
        }
    }
    pub fn ops_per_sec(&self) -> u64 {
        self.rate(|s| s.commands) as u64
    }
    /// KB per second: (input, output, replication input, replication output).
    pub fn kbps(&self) -> [f64; 4] {
        [
            self.rate(|s| s.input) / 1024.0,
            self.rate(|s| s.output) / 1024.0,
            self.rate(|s| s.repl_input) / 1024.0,
            self.rate(|s| s.repl_output) / 1024.0,
        ]
    }
}

/// CLIENT REPLY mode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReplyMode {
    On,
    Off,
    /// Skip the reply of the next command only.
    Skip,
    /// The command that set SKIP: its own reply is sent, the next is skipped.
    SkipNext,
}

/// A connected client, as every connection and CLIENT LIST/KILL see it.
pub struct Client {
    pub id: u64,
    pub addr: String,
    pub laddr: String,
    pub name: Option<Bytes>,
    pub db: usize,
    pub proto: Proto,
    pub created: Instant,
    pub last_interaction: Instant,
    pub last_cmd: String,
    pub authenticated: bool,
    /// The ACL user the connection runs as (`default` until AUTH).
    pub user: Bytes,
    pub reply_mode: ReplyMode,
    pub no_evict: bool,
    /// Connected over the Unix socket (CLIENT LIST flag `U`).
    pub unix: bool,
    /// MULTI state: queued commands, and whether a queueing error happened.
    pub multi: Option<Vec<Vec<Bytes>>>,
    pub multi_error: bool,
    pub watched: Vec<(usize, Box<[u8]>)>,
    pub channels: HashSet<Bytes>,
    pub patterns: HashSet<Bytes>,
    /// Shard channels (SSUBSCRIBE), counted apart as Redis 7.0 does.
    pub shard_channels: HashSet<Bytes>,
    pub blocked: bool,
    /// Close the connection once the reply in hand is written (a blocked
    /// client released by a demotion).
    pub close_after_reply: bool,
    /// Cancelled to disconnect the client (CLIENT KILL, limits, timeout).
    pub kill: CancellationToken,
    /// Messages for this client from elsewhere (pub/sub), and their byte count.
    pub tx: mpsc::UnboundedSender<Bytes>,
    pub pending: Arc<AtomicUsize>,
    pub soft_limit_since: Option<Instant>,
    /// The last input buffer length (CLIENT LIST qbuf).
    pub qbuf: usize,
    /// "replica" or "master" for replication links (CLIENT LIST/KILL TYPE).
    pub repl_type: Option<&'static str>,
    /// A proxy's backend link: its tag and the requests executed since
    /// `TANDEM LINK` (see `linkpos`).
    pub link_tag: Option<Bytes>,
    pub link_seq: u64,
    /// CLIENT TRACKING settings while tracking is on.
    pub tracking: Option<Box<crate::tracking::ClientTracking>>,
    /// In MONITOR mode.
    pub monitor: bool,
}

impl Client {
    /// A client in its initial state (database 0, RESP2, reply on, nothing
    /// subscribed or watched). `kill` ends its connection; `tx` carries messages
    /// other connections send it, counted in `pending`.
    pub fn new(
        id: u64,
        addr: String,
        laddr: String,
        kill: CancellationToken,
        tx: mpsc::UnboundedSender<Bytes>,
        pending: Arc<AtomicUsize>,
    ) -> Client {
        let now = Instant::now();
        Client {
            id,
            addr,
            laddr,
            name: None,
            db: 0,
            proto: Proto::Resp2,
            created: now,
            last_interaction: now,
            last_cmd: "NULL".into(),
            authenticated: false,
            user: Bytes::from_static(b"default"),
            reply_mode: ReplyMode::On,
            no_evict: false,
            unix: false,
            multi: None,
            multi_error: false,
            watched: Vec::new(),
            channels: Default::default(),
            patterns: Default::default(),
            shard_channels: Default::default(),
            blocked: false,
            close_after_reply: false,
            kill,
            tx,
            pending,
            soft_limit_since: None,
            qbuf: 0,
            repl_type: None,
            link_tag: None,
            link_seq: 0,
            tracking: None,
            monitor: false,
        }
    }
}

impl Client {
    pub fn subscribed(&self) -> bool {
        !self.channels.is_empty() || !self.patterns.is_empty() || !self.shard_channels.is_empty()
    }
    /// Output buffer class index into [`Effective::output`].
    pub fn class(&self) -> usize {
        if self.subscribed() {
            2
        } else {
            0
        }
    }
    /// CLIENT LIST flags, in Redis's order.
    pub fn flags(&self) -> String {
        let mut f = String::new();
        match self.repl_type {
            Some("replica") => f.push('S'),
            Some("master") => f.push('M'),
            _ if self.monitor => f.push('O'),
            _ => {}
        }
        if self.subscribed() {
            f.push('P');
        }
        if self.multi.is_some() {
            f.push('x');
        }
        if self.blocked {
            f.push('b');
        }
        if let Some(t) = &self.tracking {
            f.push('t');
            if t.broken {
                f.push('R');
            }
            if t.bcast {
                f.push('B');
            }
        }
        if self.unix {
            f.push('U');
        }
        if self.no_evict {
            f.push('e');
        }
        if f.is_empty() {
            f.push('N');
        }
        f
    }
}

/// Everything behind the lock.
/// An ACL LOG entry (only failed authentications happen: the default user
/// may run everything).
pub struct AclLogEntry {
    pub count: u64,
    /// `auth`, `command`, `key` or `channel`.
    pub reason: &'static str,
    /// `toplevel`, `multi` or `lua`.
    pub context: &'static str,
    /// What was refused: AUTH/HELLO, the command, the key or the channel.
    pub object: Bytes,
    pub username: Bytes,
    /// Unix ms of the last occurrence.
    pub last_ms: i64,
    /// CLIENT LIST line of the last client that failed.
    pub client_info: String,
}

pub struct State {
    pub store: Store,
    pub config: Config,
    pub eff: Effective,
    pub clients: HashMap<u64, Client, foldhash::fast::RandomState>,
    pub next_client_id: u64,
    pub channels: HashMap<Bytes, Vec<u64>>,
    pub patterns: HashMap<Bytes, Vec<u64>>,
    pub shard_channels: HashMap<Bytes, Vec<u64>>,
    pub blocked: Blocked,
    pub stream: WriteStream,
    /// Replication: role, IDs, replica links, the master link, epochs.
    pub repl: crate::repl::ReplState,
    pub stats: ServerStats,
    /// Per-command stats, indexed like [`CommandMap`] entries.
    pub cmdstats: Vec<CmdStat>,
    /// CLIENT PAUSE: until when (Unix ms), and whether all commands or writes only.
    pub pause: Option<(i64, bool)>,
    /// A SHUTDOWN (or signal) waiting for the replicas (see `shutdown`).
    pub shutdown: Option<crate::shutdown::Pending>,
    /// Persistence: background children, snapshot and AOF state.
    pub persist: crate::persist::Persist,
    /// How far each proxy link's writes reached (see `linkpos`).
    pub link_pos: crate::linkpos::LinkPositions,
    /// Client-side caching (CLIENT TRACKING).
    pub tracking: crate::tracking::Tracking,
    /// Clients in MONITOR mode.
    pub monitors: Vec<u64>,
    pub slowlog: crate::slowlog::Slowlog,
    pub latency: crate::latency::Latency,
    /// The Lua interpreter and script cache, from the first script on.
    pub scripts: Option<Box<crate::script::Engine>>,
    /// Function libraries (FUNCTION LOAD), in an interpreter of their own.
    pub functions: Option<Box<crate::script::functions::Functions>>,
    /// ACL LOG, newest first (`acllog-max-len` entries at most).
    pub acl_log: std::collections::VecDeque<AclLogEntry>,
    /// ACL users.
    pub acl: crate::acl::Acl,
    /// A script is running (its commands show as `lua` in MONITOR).
    pub in_script: bool,
    /// Loading the dataset at start (see `persist::loading`).
    pub loading: Option<crate::persist::loading::Progress>,
    /// A replica loading a full sync's payload beside the data it serves
    /// (`persist::loading::Background`).
    pub async_loading: Option<crate::persist::loading::Progress>,
}

impl State {
    /// Queues `msg` for client `id`, enforcing its output buffer limits; returns
    /// false if the client is gone or was just disconnected for its limits.
    pub fn send_to(&mut self, id: u64, msg: Bytes) -> bool {
        let Some(c) = self.clients.get_mut(&id) else {
            return false;
        };
        let len = msg.len();
        if c.tx.send(msg).is_err() {
            return false;
        }
        let pending = c.pending.fetch_add(len, Ordering::SeqCst) + len;
        !self.output_limit_breached(id, pending as u64)
    }

    /// Applies client `id`'s output-buffer limits (its class's hard and soft
    /// limits, as `client-output-buffer-limit`) to `pending` bytes of replies not
    /// yet written. On a breach: logs as Redis, counts it, kills the client and
    /// returns true (its pending replies are never sent).
    pub fn output_limit_breached(&mut self, id: u64, pending: u64) -> bool {
        let Some(c) = self.clients.get_mut(&id) else {
            return false;
        };
        let lim = self.eff.output[c.class()];
        let over_hard = lim.hard > 0 && pending > lim.hard;
        let over_soft = lim.soft > 0 && pending > lim.soft;
        let soft_expired = match (over_soft, c.soft_limit_since) {
            (false, _) => {
                c.soft_limit_since = None;
                false
            }
            (true, None) => {
                c.soft_limit_since = Some(Instant::now());
                lim.soft_seconds == 0
            }
            (true, Some(t)) => t.elapsed().as_secs() >= lim.soft_seconds,
        };
        if over_hard || soft_expired {
            tracing::warn!(
                "Client id={} addr={} scheduled to be closed ASAP for overcoming of output buffer limits.",
                c.id,
                c.addr
            );
            self.stats.client_outbuf_limit_disconnections += 1;
            c.kill.cancel();
            return true;
        }
        false
    }
}

impl Shared {
    pub fn new(config: Config, port: u16) -> Self {
        use rand::Rng;
        let mut r = rand::rng();
        let run_id = format!(
            "{:016x}{:016x}{:08x}",
            r.random::<u64>(),
            r.random::<u64>(),
            r.random::<u32>()
        );
        let mut commands = CommandMap::build();
        commands.rename(&config.renames);
        let eff = Effective::from(&config);
        let mut store = Store::new(config.store_config());
        store.notify = crate::cmd_config::notify_flags(&config);
        let stream = WriteStream::new(config.int("repl-backlog-size").max(1) as usize);
        let state = State {
            store,
            eff,
            cmdstats: vec![CmdStat::default(); commands.len()],
            clients: HashMap::default(),
            next_client_id: 1,
            channels: HashMap::new(),
            patterns: HashMap::new(),
            shard_channels: HashMap::new(),
            blocked: Blocked::default(),
            stream,
            repl: crate::repl::ReplState::new(),
            stats: ServerStats {
                last_save: crate::dispatch::now_ms() / 1000,
                used_memory_startup: crate::cron::allocated_bytes().unwrap_or(0),
                ..ServerStats::default()
            },
            pause: None,
            shutdown: None,
            persist: Default::default(),
            link_pos: Default::default(),
            tracking: Default::default(),
            monitors: Vec::new(),
            slowlog: Default::default(),
            latency: Default::default(),
            scripts: None,
            functions: None,
            acl_log: Default::default(),
            acl: {
                let mut acl = crate::acl::Acl {
                    pubsub_all: config.str("acl-pubsub-default") == "allchannels",
                    ..Default::default()
                };
                let pass = config.str("requirepass");
                acl.set_requirepass((!pass.is_empty()).then_some(pass.as_bytes()));
                for line in &config.users {
                    let name = bytes::Bytes::from(line[0].clone());
                    let rules: Vec<Bytes> =
                        line[1..].iter().map(|r| Bytes::from(r.clone())).collect();
                    // Checked when the configuration was read.
                    if let Ok(u) =
                        crate::acl::set_user(acl.users.get(&name), &name, &rules, acl.pubsub_all)
                    {
                        acl.users.insert(name, u);
                    }
                }
                let aclfile = config.str("aclfile");
                if !aclfile.is_empty() {
                    // Checked when the configuration was read.
                    if let Ok(users) = crate::acl::file::load(aclfile, &acl) {
                        acl.users = users;
                    }
                }
                acl.refresh();
                acl
            },
            in_script: false,
            loading: None,
            async_loading: None,
            config: config.clone(),
        };
        Shared {
            state: Mutex::new(state),
            commands,
            shutdown: CancellationToken::new(),
            started: Instant::now(),
            run_id,
            port: std::sync::atomic::AtomicU16::new(port),
            listening: parking_lot::Mutex::new(Vec::new()),
            handle_signals: config.handle_signals,
            connections: AtomicUsize::new(0),
            writes: Default::default(),
            gates: crate::gate::Gates::default(),
            busy: Default::default(),
            me: std::sync::OnceLock::new(),
        }
    }
}
