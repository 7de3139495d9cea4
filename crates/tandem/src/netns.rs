//! Network namespaces for `tandem up --isolate` and `tandem drill --partition`:
//! each data node gets a network of its own, so one node can be cut off from
//! everything else the way a real partition does it (silence, no reset).
//!
//! ```text
//!  root namespace: monitor, proxy, clients          namespace tandem-<tag>-<i>
//!   th<tag><i>  10.A.B.(4i+1)/30  <──── veth ────>  tn<tag><i>  10.A.B.(4i+2)/30
//!                                                    node-i listens here; its
//!                                                    default route is 10.A.B.(4i+1)
//!  ip_forward=1: node-i reaches node-j through the root namespace.
//! ```
//!
//! `<tag>` and the /24 `10.A.B.0` come from a hash of the data folder, so two
//! deployments never share names, and a second `tandem up` on the same folder
//! finds (and deletes) what a crashed run left behind. The addresses are kept
//! in the layout (DATA/up.json): the routing store remembers nodes by address.
//!
//! The cut: the namespace's end of the pair goes down. The root end loses its
//! carrier and silently drops what it is given, and its neighbour entry for the
//! node is permanent, so no failed ARP lookup turns the silence into "no route
//! to host": the proxy, the monitor and the other nodes hear nothing at all, as
//! in a partition. (Downing the root end instead would remove the route, and
//! packets would leave by the default route.) This kernel has no netem, so link
//! state is the tool. Everything goes through the `ip` command (iproute2).

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use tracing::{info, warn};

/// One node's namespace and the veth pair that joins it to the root namespace.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct NodeNet {
    /// The namespace (`ip netns` name).
    pub ns: String,
    /// The pair's end in the root namespace.
    pub host_if: String,
    /// The pair's end inside the namespace.
    pub ns_if: String,
    /// The root end's address (the namespace's default gateway).
    pub host_ip: Ipv4Addr,
    /// The node's address.
    pub ns_ip: Ipv4Addr,
    /// The namespace end's MAC, fixed so the root end's neighbour entry can be
    /// permanent.
    pub mac: String,
}

/// `--isolate` needs CAP_NET_ADMIN (links, addresses) and CAP_SYS_ADMIN (`ip
/// netns` mounts the namespaces under /run/netns), and the `ip` command.
pub fn check_privileges(what: &str) -> anyhow::Result<()> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let caps = status
        .lines()
        .find_map(|l| l.strip_prefix("CapEff:"))
        .and_then(|v| u64::from_str_radix(v.trim(), 16).ok())
        .unwrap_or(0);
    const CAP_NET_ADMIN: u64 = 1 << 12;
    const CAP_SYS_ADMIN: u64 = 1 << 21;
    if caps & (CAP_NET_ADMIN | CAP_SYS_ADMIN) != CAP_NET_ADMIN | CAP_SYS_ADMIN {
        bail!("{what} creates network namespaces: run it as root (it needs CAP_NET_ADMIN and CAP_SYS_ADMIN)");
    }
    match Command::new("ip").arg("-V").stdout(Stdio::null()).status() {
        Ok(s) if s.success() => Ok(()),
        _ => bail!("{what} needs the `ip` command (iproute2): install it first"),
    }
}

/// FNV-1a of the data folder's path: names and addresses of one deployment.
fn folder_hash(data: &Path) -> u64 {
    data.as_os_str()
        .as_encoded_bytes()
        .iter()
        .fold(0xcbf2_9ce4_8422_2325u64, |h, &b| {
            (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
}

/// The nets for nodes `existing.len()..n`, in the /24 of the existing ones, or
/// in a /24 chosen from the folder's hash that no route of this host overlaps.
pub fn plan(data: &Path, existing: &[NodeNet], n: usize) -> anyhow::Result<Vec<NodeNet>> {
    if n > 63 {
        bail!("--isolate supports at most 63 nodes (one /30 each in a /24)");
    }
    let base: u32 = match existing.first() {
        Some(first) => u32::from(first.host_ip) & 0xffff_ff00,
        None => free_block(folder_hash(data))?,
    };
    Ok(nets_in(data, base, existing.len()..n))
}

/// Node `i`'s net in the /24 at `base`: names from the folder's hash, the i-th /30.
fn nets_in(data: &Path, base: u32, nodes: std::ops::Range<usize>) -> Vec<NodeNet> {
    let h = folder_hash(data);
    let tag = format!("{:08x}", h & 0xffff_ffff);
    nodes
        .map(|i| {
            let at = base + 4 * i as u32;
            NodeNet {
                ns: format!("tandem-{tag}-{i}"),
                host_if: format!("th{tag}{i}"),
                ns_if: format!("tn{tag}{i}"),
                host_ip: Ipv4Addr::from(at + 1),
                ns_ip: Ipv4Addr::from(at + 2),
                mac: format!(
                    "02:74:{:02x}:{:02x}:{:02x}:{:02x}",
                    (h >> 16) & 0xff,
                    (h >> 8) & 0xff,
                    h & 0xff,
                    i
                ),
            }
        })
        .collect()
}

/// A /24 in 10.64.0.0/10 starting from the hash, skipping any that overlaps a
/// route of the root namespace (other deployments' included).
fn free_block(h: u64) -> anyhow::Result<u32> {
    let routes = routes()?;
    let start = (h >> 24) as u32 % (64 * 256);
    for k in 0..64 * 256 {
        let idx = (start + k) % (64 * 256);
        let base = u32::from(Ipv4Addr::new(10, 64, 0, 0)) + (idx << 8);
        let overlaps = routes.iter().any(|&(net, len)| {
            let mask = |l: u32| if l == 0 { 0 } else { u32::MAX << (32 - l) };
            let m = mask(len.min(24));
            net & m == base & m
        });
        if !overlaps {
            return Ok(base);
        }
    }
    bail!("no free /24 in 10.64.0.0/10 for the nodes' namespaces")
}

/// The root namespace's IPv4 routes as (network, prefix length), default excluded.
fn routes() -> anyhow::Result<Vec<(u32, u32)>> {
    let out = ip_output(&["-4", "route", "show", "table", "all"])?;
    Ok(out
        .lines()
        .filter(|l| !l.starts_with("default"))
        .filter_map(|l| {
            let dest = l
                .split_whitespace()
                .find(|t| t.starts_with(|c: char| c.is_ascii_digit()))?;
            let (net, len) = dest.split_once('/').unwrap_or((dest, "32"));
            Some((u32::from(net.parse::<Ipv4Addr>().ok()?), len.parse().ok()?))
        })
        .filter(|&(_, len)| len > 0)
        .collect())
}

/// Nodes in different namespaces reach each other through the root namespace.
pub fn enable_forwarding() -> anyhow::Result<()> {
    let p = "/proc/sys/net/ipv4/ip_forward";
    let v = std::fs::read_to_string(p).with_context(|| format!("reading {p}"))?;
    if v.trim() != "1" {
        std::fs::write(p, "1").with_context(|| format!("enabling IPv4 forwarding ({p})"))?;
        info!("enabled IPv4 forwarding (net.ipv4.ip_forward=1) so the namespaced nodes reach each other");
    }
    Ok(())
}

impl NodeNet {
    /// Creates the namespace and its link, first deleting any left by a crashed
    /// run (and ending the stale nodes still inside it).
    pub fn create(&self) -> anyhow::Result<()> {
        self.remove();
        let cidr = |ip: Ipv4Addr| format!("{ip}/30");
        ip(&["netns", "add", &self.ns])?;
        ip(&[
            "link",
            "add",
            &self.host_if,
            "type",
            "veth",
            "peer",
            "name",
            &self.ns_if,
            "address",
            &self.mac,
        ])?;
        ip(&["link", "set", &self.ns_if, "netns", &self.ns])?;
        ip(&["addr", "add", &cidr(self.host_ip), "dev", &self.host_if])?;
        ip(&[
            "neigh",
            "replace",
            &self.ns_ip.to_string(),
            "lladdr",
            &self.mac,
            "dev",
            &self.host_if,
            "nud",
            "permanent",
        ])?;
        ip(&["link", "set", &self.host_if, "up"])?;
        self.ns_ip_cmd(&["link", "set", "lo", "up"])?;
        self.ns_ip_cmd(&["addr", "add", &cidr(self.ns_ip), "dev", &self.ns_if])?;
        self.link_up()?;
        info!(ns = %self.ns, addr = %self.ns_ip, "network namespace ready");
        Ok(())
    }

    /// Whether the namespace and the root end of its link exist.
    pub fn exists(&self) -> bool {
        Path::new("/run/netns").join(&self.ns).exists()
            && Path::new("/sys/class/net").join(&self.host_if).exists()
    }

    /// Deletes the link and the namespace (whatever of them exists). Processes
    /// still inside are this deployment's nodes, orphaned by a crashed run: they
    /// get SIGTERM (time to save their data), SIGKILL after 10 s.
    pub fn remove(&self) {
        let pids = || -> Vec<i32> {
            ip_output(&["netns", "pids", &self.ns])
                .map(|o| o.lines().filter_map(|p| p.trim().parse().ok()).collect())
                .unwrap_or_default()
        };
        let stale = pids();
        if !stale.is_empty() {
            warn!(ns = %self.ns, pids = ?stale, "stopping stale processes in the node's namespace");
            let signal = |sig| {
                for &pid in &stale {
                    // SAFETY: kill(2) on a pid listed in this deployment's namespace.
                    unsafe { libc::kill(pid, sig) };
                }
            };
            signal(libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while !pids().is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(50));
            }
            if !pids().is_empty() {
                signal(libc::SIGKILL);
            }
        }
        if Path::new("/sys/class/net").join(&self.host_if).exists() {
            let _ = ip(&["link", "del", &self.host_if]);
        }
        if Path::new("/run/netns").join(&self.ns).exists() {
            let _ = ip(&["netns", "del", &self.ns]);
        }
    }

    /// `program args...` run inside the namespace (`ip netns exec` execs it, so
    /// the child's pid is the program's).
    pub fn command(&self, program: &Path, args: &[String]) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", &self.ns]).arg(program).args(args);
        c
    }

    /// The partition: the namespace's end goes down (see the module doc).
    pub fn cut(&self) -> anyhow::Result<()> {
        self.ns_ip_cmd(&["link", "set", &self.ns_if, "down"])
    }

    /// Ends the partition: the link comes back with the node's default route.
    pub fn heal(&self) -> anyhow::Result<()> {
        self.link_up()
    }

    fn link_up(&self) -> anyhow::Result<()> {
        self.ns_ip_cmd(&["link", "set", &self.ns_if, "up"])?;
        // Downing the link dropped the default route.
        self.ns_ip_cmd(&[
            "route",
            "replace",
            "default",
            "via",
            &self.host_ip.to_string(),
        ])
    }

    fn ns_ip_cmd(&self, args: &[&str]) -> anyhow::Result<()> {
        let mut all = vec!["-n", self.ns.as_str()];
        all.extend_from_slice(args);
        ip(&all)
    }
}

fn ip(args: &[&str]) -> anyhow::Result<()> {
    ip_output(args).map(drop)
}

fn ip_output(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("ip")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .context("running `ip` (iproute2)")?;
    if !out.status.success() {
        bail!(
            "`ip {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_fit_interface_limits_and_addresses_follow_the_block() {
        let data = Path::new("/tmp/some/data");
        let first = nets_in(data, u32::from(Ipv4Addr::new(10, 64, 7, 0)), 0..2);
        assert!(first
            .iter()
            .all(|n| n.host_if.len() <= 15 && n.ns_if.len() <= 15));
        assert_eq!(first[0].host_ip, Ipv4Addr::new(10, 64, 7, 1));
        assert_eq!(first[0].ns_ip, Ipv4Addr::new(10, 64, 7, 2));
        assert_eq!(first[1].host_ip, Ipv4Addr::new(10, 64, 7, 5));
        assert_eq!(first[1].ns_ip, Ipv4Addr::new(10, 64, 7, 6));
        assert_ne!(first[0].mac, first[1].mac);
        assert_ne!(first[0].ns, first[1].ns);
        // More nodes later: the same block, the next /30s, no route lookup.
        let more = plan(data, &first, 3).expect("plan");
        assert_eq!(more.len(), 1);
        assert_eq!(more[0].ns_ip, Ipv4Addr::new(10, 64, 7, 10));
        // Another folder, other names.
        let other = nets_in(Path::new("/tmp/other"), 0, 0..1);
        assert_ne!(other[0].ns, first[0].ns);
        assert_ne!(other[0].host_if, first[0].host_if);
    }
}
