//! `tandem up`: one command starts a whole local deployment and keeps it running.
//!
//! ```text
//!  tandem up ─spawn─> node-0 (master)    tandem server --port P0 --dir DATA/node-0
//!            ├──────> node-1..N (replica) tandem server ... --replicaof 127.0.0.1 P0
//!            ├──────> monitor             tandem monitor --nodes ... (hosts the routing store)
//!            └──────> proxy               tandem proxy --port PORT --routing ...
//!  every 100 ms: a child that exited is restarted; a node rejoins as a replica of
//!  the current master (the node that says "master" under the highest epoch).
//!  Ctrl-C / SIGTERM: proxy, monitor, then the nodes get SIGTERM; SIGKILL after 10 s.
//! ```
//!
//! With `--isolate` (root), every node runs in a network namespace of its own
//! (`ip netns exec`), on a private address reached over a veth pair (netns.rs);
//! the monitor and the proxy stay in the root namespace. `tandem drill
//! --partition` then cuts a master off for real. The namespaces are deleted on
//! stop, and stale ones from a crashed run are replaced on the next start.
//!
//! The ports are chosen once and kept in `DATA/up.json`, so a second `tandem up`
//! on the same folder finds its nodes' data again, `tandem status` finds the
//! monitor, and `tandem drill` finds everything.

use std::fs;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

use crate::client::{info_field, text, Client};
use crate::netns::{self, NodeNet};

/// `tandem up` options.
#[derive(clap::Args, Debug, Clone)]
pub struct UpArgs {
    /// The proxy's port: the one address clients use.
    #[arg(long, default_value_t = 6379)]
    pub port: u16,
    /// Where the nodes, the monitor and the logs keep their files.
    #[arg(long, default_value = "./tandem-data")]
    pub data: PathBuf,
    /// Replicas of the master (hot standbys).
    #[arg(long, default_value_t = 1)]
    pub replicas: usize,
    /// `sync`: a write is acknowledged only once a replica has it (no acknowledged
    /// write is lost by a failover); `async`: Redis's behaviour.
    #[arg(long, default_value = "async", value_parser = ["async", "sync"])]
    pub replication_mode: String,
    /// The routing store: embedded in the monitor (default) or `etcd://host:port`.
    #[arg(long)]
    pub routing: Option<String>,
    /// Address the proxy listens on.
    #[arg(long, default_value = "127.0.0.1")]
    pub bind: String,
    /// Run each data node in its own network namespace (needs root), so `tandem
    /// drill --partition` can cut the master off silently. The nodes also fence
    /// themselves after 1 s without monitor or replica contact.
    #[arg(long)]
    pub isolate: bool,
}

/// The self-fencing timeout of isolated nodes: a partitioned master stops
/// acknowledging writes this long after it last heard from the monitor (which
/// contacts it every 100 ms) or a replica.
const ISOLATED_FENCE_TIMEOUT_MS: u64 = 1000;

/// What `up` decided once and keeps across restarts (DATA/up.json).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Layout {
    pub proxy_port: u16,
    pub bind: String,
    pub node_ports: Vec<u16>,
    pub monitor_admin_port: u16,
    pub routing_port: u16,
    pub routing: Option<String>,
    pub replication_mode: String,
    /// The node last seen as master (index into `node_ports`).
    pub master: usize,
    /// `--isolate`: each node's network namespace and address (index as
    /// `node_ports`); empty when the nodes share the root namespace.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub netns: Vec<NodeNet>,
}

impl Layout {
    pub fn path(data: &Path) -> PathBuf {
        data.join("up.json")
    }

    pub fn load(data: &Path) -> anyhow::Result<Option<Layout>> {
        let p = Layout::path(data);
        match fs::read(&p) {
            Ok(b) => Ok(Some(
                serde_json::from_slice(&b).with_context(|| format!("reading {}", p.display()))?,
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e).with_context(|| format!("reading {}", p.display())),
        }
    }

    /// Written to a temp file and renamed, so a crash never leaves half a layout.
    pub fn save(&self, data: &Path) -> anyhow::Result<()> {
        let p = Layout::path(data);
        let tmp = data.join("up.json.tmp");
        let mut f = fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(serde_json::to_string_pretty(self)?.as_bytes())?;
        f.sync_all()?;
        fs::rename(&tmp, &p).with_context(|| format!("renaming to {}", p.display()))?;
        Ok(())
    }

    pub fn node_addr(&self, i: usize) -> String {
        format!("{}:{}", self.node_host(i), self.node_ports[i])
    }

    /// The address node `i` listens on: its namespace's, or loopback.
    pub fn node_host(&self, i: usize) -> String {
        match self.netns.get(i) {
            Some(n) => n.ns_ip.to_string(),
            None => "127.0.0.1".into(),
        }
    }

    pub fn monitor_admin(&self) -> String {
        format!("127.0.0.1:{}", self.monitor_admin_port)
    }

    pub fn endpoint(&self) -> String {
        let host = if self.bind == "0.0.0.0" {
            "127.0.0.1"
        } else {
            &self.bind
        };
        format!("{host}:{}", self.proxy_port)
    }

    /// The routing URL the proxy and monitor use.
    pub fn routing_url(&self) -> String {
        self.routing
            .clone()
            .unwrap_or_else(|| format!("tandem://127.0.0.1:{}", self.routing_port))
    }

    /// The node the routing system names master (the source of truth, as the
    /// monitor knows it), else the one that says it is an unfenced master under
    /// the highest epoch (the monitor is away).
    pub fn current_master(&self) -> Option<usize> {
        self.topology_master().or_else(|| self.claimed_master())
    }

    fn topology_master(&self) -> Option<usize> {
        let mut c = Client::connect(&self.monitor_admin(), Duration::from_millis(300)).ok()?;
        let doc: serde_json::Value =
            serde_json::from_str(&text(&c.call(&["STATUS"]).ok()?)).ok()?;
        let addr = doc.pointer("/topology/shards/0/master/addr")?.as_str()?;
        (0..self.node_ports.len()).find(|&i| self.node_addr(i) == addr)
    }

    fn claimed_master(&self) -> Option<usize> {
        let mut best: Option<(u64, usize)> = None;
        for i in 0..self.node_ports.len() {
            let Ok(mut c) = Client::connect(&self.node_addr(i), Duration::from_millis(300)) else {
                continue;
            };
            let Ok(r) = c.call(&["INFO", "replication"]) else {
                continue;
            };
            let info = text(&r);
            if info_field(&info, "role").as_deref() != Some("master") {
                continue;
            }
            let fenced = info_field(&info, "tandem_fenced").as_deref() == Some("1");
            let epoch = info_field(&info, "tandem_epoch")
                .and_then(|e| e.parse().ok())
                .unwrap_or(0);
            if !fenced && best.is_none_or(|(e, _)| epoch > e) {
                best = Some((epoch, i));
            }
        }
        best.map(|(_, i)| i)
    }
}

/// `n` distinct free ports: every listener is held until all are chosen, so the
/// OS cannot hand the same port out twice.
fn free_ports(n: usize) -> anyhow::Result<Vec<u16>> {
    let ls = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").context("choosing a free port"))
        .collect::<anyhow::Result<Vec<_>>>()?;
    ls.iter().map(|l| Ok(l.local_addr()?.port())).collect()
}

/// One supervised child process.
struct Proc {
    name: String,
    /// Index into the layout's nodes, for data nodes.
    node: Option<usize>,
    child: Option<Child>,
    last_start: Instant,
    restarts: u32,
    /// When the supervisor first saw it exited.
    down_since: Option<Instant>,
}

pub fn run(args: UpArgs) -> anyhow::Result<()> {
    if args.isolate {
        netns::check_privileges("tandem up --isolate")?;
    }
    fs::create_dir_all(args.data.join("logs"))
        .with_context(|| format!("creating {}", args.data.display()))?;
    let data = args
        .data
        .canonicalize()
        .with_context(|| format!("resolving {}", args.data.display()))?;
    let mut layout = match Layout::load(&data)? {
        Some(mut l) => {
            // The routing store knows the nodes by address: moving them in or
            // out of namespaces would leave it naming addresses nobody has.
            if l.netns.is_empty() == args.isolate {
                bail!(
                    "{} holds a deployment started {} --isolate; its nodes' addresses are \
                     recorded in the routing store: start it the same way, or use a new --data folder",
                    data.display(),
                    if args.isolate { "without" } else { "with" }
                );
            }
            // Same folder, same nodes: keep their ports; the proxy port and mode
            // follow the command line.
            l.proxy_port = args.port;
            l.bind = args.bind.clone();
            l.replication_mode = args.replication_mode.clone();
            l.routing = args.routing.clone();
            let missing = (args.replicas + 1).saturating_sub(l.node_ports.len());
            for p in free_ports(missing + l.node_ports.len() + 2)? {
                let taken = l.node_ports.contains(&p)
                    || [l.monitor_admin_port, l.routing_port, l.proxy_port].contains(&p);
                if l.node_ports.len() < args.replicas + 1 && !taken {
                    l.node_ports.push(p);
                }
            }
            l
        }
        None => {
            let mut ports = free_ports(args.replicas + 3)?;
            let (monitor_admin_port, routing_port) = (ports.remove(0), ports.remove(0));
            Layout {
                proxy_port: args.port,
                bind: args.bind.clone(),
                node_ports: ports,
                monitor_admin_port,
                routing_port,
                routing: args.routing.clone(),
                replication_mode: args.replication_mode.clone(),
                master: 0,
                netns: Vec::new(),
            }
        }
    };
    if args.isolate {
        let more = netns::plan(&data, &layout.netns, layout.node_ports.len())?;
        layout.netns.extend(more);
    }
    layout.save(&data)?;
    let exe = std::env::current_exe().context("finding the tandem binary")?;
    let mut sup = Supervisor {
        exe,
        data: data.clone(),
        layout,
        procs: Vec::new(),
    };
    let stop = crate::signals::stop_flag()?;
    if let Err(e) = sup.start_all() {
        sup.stop_all();
        return Err(e);
    }
    let l = &sup.layout;
    println!("Tandem is up: redis://{}", l.endpoint());
    println!(
        "  endpoint  {}   (give this address to clients)",
        l.endpoint()
    );
    let where_ = |i: usize| match l.netns.get(i) {
        Some(n) => format!("node-{i}, netns {}", n.ns),
        None => format!("node-{i}"),
    };
    println!(
        "  master    {} ({})",
        l.node_addr(l.master),
        where_(l.master)
    );
    for i in (0..l.node_ports.len()).filter(|&i| i != l.master) {
        println!("  replica   {} ({})", l.node_addr(i), where_(i));
    }
    println!(
        "  monitor   {}   routing {}",
        l.monitor_admin(),
        l.routing_url()
    );
    println!("  mode      {}", l.replication_mode);
    println!(
        "  data      {}   logs in {}/logs",
        data.display(),
        data.display()
    );
    println!("Ctrl-C stops everything.");
    let _ = std::io::stdout().flush();
    while !stop.load(std::sync::atomic::Ordering::SeqCst) {
        std::thread::sleep(Duration::from_millis(100));
        sup.tick();
    }
    info!("stopping the deployment");
    sup.stop_all();
    Ok(())
}

struct Supervisor {
    exe: PathBuf,
    data: PathBuf,
    layout: Layout,
    procs: Vec<Proc>,
}

impl Supervisor {
    fn node_args(&self, i: usize, replica_of: Option<usize>) -> Vec<String> {
        let l = &self.layout;
        let dir = self.data.join(format!("node-{i}"));
        let mut a: Vec<String> = vec![
            "server".into(),
            "--port".into(),
            l.node_ports[i].to_string(),
            "--bind".into(),
            l.node_host(i),
            "--dir".into(),
            dir.display().to_string(),
            "--replication-mode".into(),
            l.replication_mode.clone(),
        ];
        if l.node_host(i) != "127.0.0.1" {
            // The nodes of a network-namespace layout serve each other and the
            // monitor over private veth addresses, without a password: Redis's
            // protected mode would refuse them.
            a.extend(["--protected-mode".into(), "no".into()]);
        }
        if l.replication_mode == "sync" {
            // A lone master must keep serving when its replica dies: degrade to
            // async (INFO says so) rather than refuse every write.
            a.extend(["--sync-fallback".into(), "degrade".into()]);
        }
        if !l.netns.is_empty() {
            a.extend([
                "--fence-timeout".into(),
                ISOLATED_FENCE_TIMEOUT_MS.to_string(),
            ]);
        }
        if let Some(m) = replica_of {
            a.extend([
                "--replicaof".into(),
                l.node_host(m),
                l.node_ports[m].to_string(),
            ]);
        }
        a
    }

    fn monitor_args(&self) -> Vec<String> {
        let l = &self.layout;
        let nodes: Vec<String> = std::iter::once(l.master)
            .chain((0..l.node_ports.len()).filter(|&i| i != l.master))
            .map(|i| l.node_addr(i))
            .collect();
        let mut a: Vec<String> = vec![
            "monitor".into(),
            "--id".into(),
            "monitor-0".into(),
            "--nodes".into(),
            nodes.join(","),
            "--data".into(),
            self.data.join("monitor").display().to_string(),
            "--admin-port".into(),
            l.monitor_admin_port.to_string(),
        ];
        match &l.routing {
            Some(url) => a.extend(["--routing".into(), url.clone()]),
            None => a.extend([
                "--routing-listen".into(),
                format!("127.0.0.1:{}", l.routing_port),
            ]),
        }
        a
    }

    fn proxy_args(&self) -> Vec<String> {
        let l = &self.layout;
        vec![
            "proxy".into(),
            "--port".into(),
            l.proxy_port.to_string(),
            "--bind".into(),
            l.bind.clone(),
            "--routing".into(),
            l.routing_url(),
        ]
    }

    /// Starts a child; node `i` of an isolated deployment inside its namespace
    /// (recreated first if something deleted it).
    fn spawn(&self, name: &str, node: Option<usize>, args: &[String]) -> anyhow::Result<Child> {
        let log = self.data.join("logs").join(format!("{name}.log"));
        let out = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log)
            .with_context(|| format!("opening {}", log.display()))?;
        let err = out.try_clone()?;
        let mut cmd = match node.and_then(|i| self.layout.netns.get(i)) {
            Some(net) => {
                if !net.exists() {
                    warn!(ns = %net.ns, "the node's network namespace is gone; recreating it");
                    net.create()?;
                }
                net.command(&self.exe, args)
            }
            None => {
                let mut c = Command::new(&self.exe);
                c.args(args);
                c
            }
        };
        cmd.stdin(Stdio::null()).stdout(out).stderr(err);
        crate::signals::die_with_parent(&mut cmd);
        let child = cmd.spawn().with_context(|| {
            format!("starting {name}: {} {}", self.exe.display(), args.join(" "))
        })?;
        info!(name, pid = child.id(), "started");
        Ok(child)
    }

    fn args_for(&self, p: &Proc) -> Vec<String> {
        match (p.node, p.name.as_str()) {
            (Some(i), _) if i == self.layout.master => self.node_args(i, None),
            (Some(i), _) => self.node_args(i, Some(self.layout.master)),
            (None, "monitor") => self.monitor_args(),
            _ => self.proxy_args(),
        }
    }

    fn start_all(&mut self) -> anyhow::Result<()> {
        if !self.layout.netns.is_empty() {
            netns::enable_forwarding()?;
            for net in &self.layout.netns {
                net.create()?;
            }
        }
        let n = self.layout.node_ports.len();
        for i in 0..n {
            // The nodes save their data here (a second run finds it again).
            let dir = self.data.join(format!("node-{i}"));
            fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
            self.procs.push(Proc {
                name: format!("node-{i}"),
                node: Some(i),
                child: None,
                last_start: Instant::now(),
                restarts: 0,
                down_since: None,
            });
        }
        for name in ["monitor", "proxy"] {
            self.procs.push(Proc {
                name: name.into(),
                node: None,
                child: None,
                last_start: Instant::now(),
                restarts: 0,
                down_since: None,
            });
        }
        // Nodes first (master before replicas), each answering before the next
        // role starts, so the monitor's first look sees a healthy pair.
        for k in 0..self.procs.len() {
            let args = self.args_for(&self.procs[k]);
            let child = self.spawn(&self.procs[k].name, self.procs[k].node, &args)?;
            self.procs[k].child = Some(child);
            self.procs[k].last_start = Instant::now();
            let addr = match (self.procs[k].node, self.procs[k].name.as_str()) {
                (Some(i), _) => self.layout.node_addr(i),
                (None, "monitor") => self.layout.monitor_admin(),
                _ => self.layout.endpoint(),
            };
            self.await_ping(k, &addr)?;
        }
        Ok(())
    }

    /// Waits until `addr` answers PING, failing with the child's log tail if it
    /// exits or does not answer within 15 s.
    fn await_ping(&mut self, k: usize, addr: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(15);
        loop {
            if let Ok(mut c) = Client::connect(addr, Duration::from_millis(500)) {
                if let Ok(r) = c.call(&["PING"]) {
                    let t = text(&r);
                    // A loading node or a proxy without a master yet says so; it is up.
                    if t == "PONG" || t.starts_with("-LOADING") || t.starts_with("-") {
                        return Ok(());
                    }
                }
            }
            let name = self.procs[k].name.clone();
            if let Some(ch) = self.procs[k].child.as_mut() {
                if let Ok(Some(st)) = ch.try_wait() {
                    bail!(
                        "{name} exited ({st}) while starting; its log ends with:\n{}",
                        self.log_tail(&name)
                    );
                }
            }
            if Instant::now() > deadline {
                bail!(
                    "{name} did not answer on {addr} within 15 s; its log ends with:\n{}",
                    self.log_tail(&name)
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn log_tail(&self, name: &str) -> String {
        let p = self.data.join("logs").join(format!("{name}.log"));
        let s = fs::read_to_string(p).unwrap_or_default();
        let lines: Vec<&str> = s.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    fn tick(&mut self) {
        if let Some(m) = self.layout.current_master() {
            if m != self.layout.master {
                info!(
                    "node-{m} is now the master (was node-{})",
                    self.layout.master
                );
                self.layout.master = m;
                if let Err(e) = self.layout.save(&self.data) {
                    warn!("saving the layout: {e:#}");
                }
            }
        }
        for k in 0..self.procs.len() {
            let exited = match self.procs[k].child.as_mut().map(|c| c.try_wait()) {
                Some(Ok(Some(st))) => Some(st.to_string()),
                Some(Err(e)) => Some(e.to_string()),
                None => Some("not running".into()),
                Some(Ok(None)) => None,
            };
            let Some(why) = exited else {
                self.procs[k].down_since = None;
                continue;
            };
            let down_since = *self.procs[k].down_since.get_or_insert_with(Instant::now);
            // A dead master is not restarted as master while the monitor fails
            // over to a replica: it would come back with writes of its own. It
            // rejoins as a replica once the topology names another master (or
            // after 15 s without a failover, e.g. when no replica is eligible).
            if self.procs[k].node == Some(self.layout.master)
                && self.layout.node_ports.len() > 1
                && down_since.elapsed() < Duration::from_secs(15)
            {
                continue;
            }
            // Back off a child that keeps dying, but never stop trying.
            let wait = Duration::from_millis(200 * u64::from(self.procs[k].restarts.min(25)));
            if self.procs[k].last_start.elapsed() < wait {
                continue;
            }
            let name = self.procs[k].name.clone();
            warn!("{name} exited ({why}); restarting it");
            let args = self.args_for(&self.procs[k]);
            match self.spawn(&name, self.procs[k].node, &args) {
                Ok(c) => {
                    let p = &mut self.procs[k];
                    p.child = Some(c);
                    p.restarts += 1;
                    p.last_start = Instant::now();
                }
                Err(e) => warn!("restarting {name}: {e:#}"),
            }
        }
    }

    fn stop_all(&mut self) {
        // The entry points first, so nothing is sent to a node that is going away.
        for k in (0..self.procs.len()).rev() {
            if let Some(c) = self.procs[k].child.as_mut() {
                crate::signals::terminate(c, Duration::from_secs(10));
            }
        }
        for net in &self.layout.netns {
            net.remove();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_round_trips_and_names_addresses() {
        let dir = tempfile::tempdir().expect("tempdir");
        let l = Layout {
            proxy_port: 7000,
            bind: "0.0.0.0".into(),
            node_ports: vec![7001, 7002],
            monitor_admin_port: 7003,
            routing_port: 7004,
            routing: None,
            replication_mode: "sync".into(),
            master: 1,
            netns: Vec::new(),
        };
        l.save(dir.path()).expect("save");
        assert_eq!(Layout::load(dir.path()).expect("load"), Some(l.clone()));
        assert_eq!(l.endpoint(), "127.0.0.1:7000");
        assert_eq!(l.node_addr(1), "127.0.0.1:7002");
        assert_eq!(l.routing_url(), "tandem://127.0.0.1:7004");
        assert!(Layout::load(&dir.path().join("none"))
            .expect("load")
            .is_none());
    }
}
