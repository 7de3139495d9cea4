//! The proxy's settings, kept in one plain struct ([`ProxyConfig`]) so `tandem
//! proxy`, `tandem up` (in-process or as a child) and tests build it the same way;
//! [`ProxyArgs`] is the command line that fills it.

use std::time::Duration;

use tandem_routing::{Node, Topology};

/// Which node serves read-only commands of clients without connection state.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum ReadFrom {
    /// Every command goes to the master (the default: reads see every write).
    #[default]
    Master,
    /// Reads go to a healthy replica (lag within `max-replica-lag`), else the master.
    Replica,
    /// Reads go to the node (master or healthy replica) with the lowest probe RTT.
    Nearest,
}

/// Everything the proxy needs besides the topology feed and the observation sink.
#[derive(Clone, Debug)]
pub struct ProxyConfig {
    /// Addresses to listen on (`host`, IPv6 without brackets).
    pub bind: Vec<String>,
    /// 0 lets the OS pick (see `Handle::local_addrs`).
    pub port: u16,
    /// The password clients must give (`AUTH`), like Redis's `requirepass`.
    pub requirepass: Option<String>,
    /// The password the proxy gives the nodes (like `masterauth`).
    pub backend_password: Option<String>,
    /// The ACL user the proxy logs in as with that password (like
    /// `masteruser`; the default user when absent).
    pub backend_user: Option<String>,
    pub maxclients: usize,
    /// How long a request may be held while no master is reachable.
    pub hold_timeout: Duration,
    /// Bound on the bytes of all held requests together.
    pub hold_max_bytes: usize,
    pub read_from: ReadFrom,
    /// A replica whose link to its master is down, or silent for longer than this,
    /// serves no reads.
    pub max_replica_lag: Duration,
    /// Shared (pipelined) backend connections per node. One by default: on the
    /// single-threaded runtime every client woken in a turn then shares one
    /// write and the node one read (measured, P1 GET: the node made 0.09
    /// syscalls per request behind one link, 0.25 behind two; BENCHMARKS.md).
    pub pool_size: usize,
    /// A client whose unsent replies exceed this many bytes is disconnected
    /// (0 = no limit).
    pub client_output_buffer_limit: usize,
    /// Close a client idle for this long (zero = never), like Redis's `timeout`.
    pub client_idle_timeout: Duration,
    /// A shared backend connection that has requests outstanding and sends no
    /// reply byte for this long is declared failed (zero = never).
    pub backend_timeout: Duration,
    pub connect_timeout: Duration,
    /// Shards: independent single-threaded runtimes, each on its own thread with
    /// its own listening socket on the port (`SO_REUSEPORT`: the kernel spreads
    /// new clients over them) and its own links to the nodes. They share only
    /// the counters and the topology feed.
    pub threads: usize,
    /// This proxy's name in observations and INFO.
    pub id: String,
    /// Also listen on this Unix socket (served by the first shard).
    pub unixsocket: Option<std::path::PathBuf>,
    /// The socket file's mode (0: as the umask leaves it).
    pub unixsocketperm: u32,
    /// After pipelined input, poll the sockets this long before sleeping
    /// (zero: never; see `busy`).
    pub busy_poll: Duration,
}

impl Default for ProxyConfig {
    fn default() -> Self {
        ProxyConfig {
            bind: vec!["127.0.0.1".into()],
            port: 7000,
            requirepass: None,
            backend_password: None,
            backend_user: None,
            maxclients: 10000,
            hold_timeout: Duration::from_millis(3000),
            hold_max_bytes: 64 << 20,
            read_from: ReadFrom::Master,
            max_replica_lag: Duration::from_secs(10),
            pool_size: 1,
            busy_poll: Duration::from_micros(100),
            client_output_buffer_limit: 64 << 20,
            client_idle_timeout: Duration::ZERO,
            backend_timeout: Duration::from_millis(5000),
            connect_timeout: Duration::from_millis(1000),
            threads: 1,
            id: format!("proxy-{}", std::process::id()),
            unixsocket: None,
            unixsocketperm: 0,
        }
    }
}

/// A size as Redis writes them: `1024`, `64kb`, `32mb`, `1gb` (also `k`, `m`, `g`).
pub fn parse_size(s: &str) -> Result<usize, String> {
    let l = s.trim().to_ascii_lowercase();
    let (num, mul) = [
        ("gb", 1usize << 30),
        ("mb", 1 << 20),
        ("kb", 1 << 10),
        ("g", 1_000_000_000),
        ("m", 1_000_000),
        ("k", 1000),
        ("b", 1),
    ]
    .iter()
    .find_map(|(suf, m)| l.strip_suffix(suf).map(|n| (n.to_string(), *m)))
    .unwrap_or((l.clone(), 1));
    num.parse::<usize>()
        .ok()
        .and_then(|n| n.checked_mul(mul))
        .ok_or_else(|| format!("invalid size '{s}'"))
}

/// `tandem proxy` command line.
#[derive(Clone, Debug, clap::Args)]
pub struct ProxyArgs {
    /// Port to listen on.
    #[arg(long, default_value_t = 7000)]
    pub port: u16,
    /// Address(es) to listen on.
    #[arg(long, num_args = 1.., default_value = "127.0.0.1")]
    pub bind: Vec<String>,
    /// The master's host:port (a static topology, epoch 1).
    #[arg(long, conflicts_with = "topology_file")]
    pub master: Option<String>,
    /// A replica's host:port (repeatable).
    #[arg(long)]
    pub replica: Vec<String>,
    /// A topology JSON document (as the routing system stores it), re-read when it
    /// changes; a document with a higher epoch switches the proxy to its master.
    #[arg(long)]
    pub topology_file: Option<std::path::PathBuf>,
    /// Password clients must give with AUTH.
    #[arg(long)]
    pub requirepass: Option<String>,
    /// Password the proxy gives the nodes.
    #[arg(long)]
    pub backend_password: Option<String>,
    /// ACL user the proxy logs in to the nodes as, with --backend-password (as
    /// Redis's `masteruser`; the default user when absent).
    #[arg(long, requires = "backend_password")]
    pub backend_user: Option<String>,
    #[arg(long, default_value_t = 10000)]
    pub maxclients: usize,
    /// Also listen on this Unix socket path (as Redis's `unixsocket`).
    #[arg(long)]
    pub unixsocket: Option<std::path::PathBuf>,
    /// The Unix socket file's mode, in octal (as Redis's `unixsocketperm`).
    #[arg(long, default_value = "0")]
    pub unixsocketperm: String,
    /// Milliseconds a request may be held while no master is reachable.
    #[arg(long, default_value_t = 3000)]
    pub hold_timeout: u64,
    /// Bound on held request bytes (e.g. 64mb).
    #[arg(long, default_value = "64mb")]
    pub hold_max_bytes: String,
    #[arg(long, value_enum, default_value_t = ReadFrom::Master)]
    pub read_from: ReadFrom,
    /// Seconds: a replica silent toward its master for longer serves no reads.
    #[arg(long, default_value_t = 10)]
    pub max_replica_lag: u64,
    /// Shared backend connections per node and shard (one lets every client
    /// woken in a turn share one write).
    #[arg(long, default_value_t = 1)]
    pub pool_size: usize,
    /// Per-client limit on unsent reply bytes (e.g. 64mb; 0 = none).
    #[arg(long, default_value = "64mb")]
    pub client_output_buffer_limit: String,
    /// Seconds after which an idle client is closed (0 = never).
    #[arg(long, default_value_t = 0)]
    pub timeout: u64,
    /// Milliseconds without a reply byte before a busy shared backend connection
    /// is declared failed (0 = never).
    #[arg(long, default_value_t = 5000)]
    pub backend_timeout: u64,
    /// Threads, each serving its own share of the clients with its own backend
    /// connections (shared nothing). 1 (the default) is cheapest per request
    /// and enough for a few hundred thousand requests per second; more use
    /// more cores (BENCHMARKS.md).
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
    /// Microseconds to keep polling the sockets after pipelined input instead
    /// of sleeping (0 = never), as a node's `busy-poll`.
    #[arg(long, default_value_t = 100)]
    pub busy_poll: u64,
    /// Log file (stdout when absent).
    #[arg(long)]
    pub logfile: Option<std::path::PathBuf>,
}

/// Where the proxy's topology comes from.
#[derive(Clone, Debug)]
pub enum TopologySource {
    Static(Topology),
    File(std::path::PathBuf),
}

impl ProxyArgs {
    /// The config and the topology source these arguments describe.
    pub fn to_config(&self) -> Result<(ProxyConfig, TopologySource), String> {
        let source = match (&self.master, &self.topology_file) {
            (Some(m), None) => {
                let replicas = self
                    .replica
                    .iter()
                    .enumerate()
                    .map(|(i, a)| Node::new(format!("replica-{}", i + 1), a.clone()))
                    .collect();
                let t = Topology::single("static", 1, Node::new("master", m.clone()), replicas);
                t.validate().map_err(|e| e.to_string())?;
                TopologySource::Static(t)
            }
            (None, Some(f)) => TopologySource::File(f.clone()),
            _ => return Err("give --master HOST:PORT or --topology-file PATH".into()),
        };
        let cfg = ProxyConfig {
            bind: self.bind.clone(),
            port: self.port,
            requirepass: self.requirepass.clone().filter(|p| !p.is_empty()),
            backend_password: self.backend_password.clone().filter(|p| !p.is_empty()),
            backend_user: self.backend_user.clone().filter(|u| !u.is_empty()),
            maxclients: self.maxclients.max(1),
            hold_timeout: Duration::from_millis(self.hold_timeout),
            hold_max_bytes: parse_size(&self.hold_max_bytes)?,
            read_from: self.read_from,
            max_replica_lag: Duration::from_secs(self.max_replica_lag),
            pool_size: self.pool_size.clamp(1, 64),
            client_output_buffer_limit: parse_size(&self.client_output_buffer_limit)?,
            client_idle_timeout: Duration::from_secs(self.timeout),
            backend_timeout: Duration::from_millis(self.backend_timeout),
            threads: self.threads.clamp(1, 64),
            busy_poll: Duration::from_micros(self.busy_poll.min(1_000_000)),
            id: format!("proxy-{}-{}", self.port, std::process::id()),
            unixsocket: self.unixsocket.clone(),
            unixsocketperm: u32::from_str_radix(&self.unixsocketperm, 8)
                .ok()
                .filter(|m| *m <= 0o777)
                .ok_or_else(|| {
                    format!(
                        "--unixsocketperm {}: an octal mode up to 777",
                        self.unixsocketperm
                    )
                })?,
            ..ProxyConfig::default()
        };
        Ok((cfg, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_like_redis() {
        assert_eq!(parse_size("1024"), Ok(1024));
        assert_eq!(parse_size("64mb"), Ok(64 << 20));
        assert_eq!(parse_size("1GB"), Ok(1 << 30));
        assert_eq!(parse_size("2k"), Ok(2000));
        assert!(parse_size("lots").is_err());
    }
}
