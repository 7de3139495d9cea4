//! INFO through the proxy.
//!
//! The proxy answers the sections about the process a client talks to
//! (server, clients, stats, cpu, cluster) and those only it knows (backends,
//! topology, failover). The sections about the data (memory, persistence,
//! replication, keyspace, commandstats, errorstats, latencystats, modules, and
//! any other name, such as a module's) are the master's: the proxy asks the
//! master for them with the same request and splices its answer in, in Redis's
//! order, so `redis-cli --stat` and exporters read one address. The stats
//! section also carries the master's keyspace counters (hits, misses,
//! expired and evicted keys). With no master reachable, the proxy answers
//! its own sections at once (an operator looks at INFO during a failover).
//! Numbers come from [`crate::metrics::Metrics`] and the current route.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::config::ReadFrom;
use crate::metrics::Metrics;
use crate::router::Router;

/// The Redis version the proxy presents (the command table's).
pub const REDIS_VERSION: &str = "7.0.15";

/// Every section in the order INFO lists them: Redis's, then the proxy's.
const ORDER: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "commandstats",
    "errorstats",
    "latencystats",
    "cluster",
    "keyspace",
    "backends",
    "topology",
    "failover",
];

/// Sections the proxy writes itself.
const OWN: &[&str] = &[
    "server", "clients", "stats", "cpu", "cluster", "backends", "topology", "failover",
];

/// Not in `INFO` / `INFO default` (as in Redis).
const NOT_DEFAULT: &[&str] = &["commandstats", "latencystats"];

/// The master's stats fields that describe the data, added to the proxy's
/// stats section.
const DATA_STATS: &[&str] = &[
    "expired_keys",
    "expired_stale_perc",
    "expired_time_cap_reached_count",
    "expire_cycle_cpu_milliseconds",
    "evicted_keys",
    "evicted_clients",
    "total_eviction_exceeded_time",
    "current_eviction_exceeded_time",
    "keyspace_hits",
    "keyspace_misses",
    "pubsub_channels",
    "pubsub_patterns",
    "pubsubshard_channels",
    "latest_fork_usec",
    "total_forks",
    "tracking_total_keys",
    "tracking_total_items",
    "tracking_total_prefixes",
];

/// What an INFO request asks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct InfoAsk {
    /// Sections by name (lowercase), keywords expanded.
    sections: Vec<String>,
    /// `everything`: the master's module-generated sections too.
    everything: bool,
}

impl InfoAsk {
    pub fn parse(args: &[&[u8]]) -> InfoAsk {
        let mut sections: Vec<String> = Vec::new();
        let mut everything = false;
        let add = |s: &str, sections: &mut Vec<String>| {
            if !sections.iter().any(|x| x == s) {
                sections.push(s.to_string());
            }
        };
        let words: Vec<String> = args
            .iter()
            .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
            .collect();
        let words = if words.is_empty() {
            vec!["default".to_string()]
        } else {
            words
        };
        for w in &words {
            match w.as_str() {
                "default" => ORDER
                    .iter()
                    .filter(|s| !NOT_DEFAULT.contains(s))
                    .for_each(|s| add(s, &mut sections)),
                "all" | "everything" => {
                    everything |= w == "everything";
                    ORDER.iter().for_each(|s| add(s, &mut sections));
                }
                other => add(other, &mut sections),
            }
        }
        InfoAsk {
            sections,
            everything,
        }
    }

    /// The INFO request for the master (None: the proxy answers alone).
    pub fn master_request(&self) -> Option<Vec<String>> {
        let mut ask: Vec<String> = Vec::new();
        for s in &self.sections {
            // The master's stats carry the keyspace counters.
            if !OWN.contains(&s.as_str()) || s == "stats" {
                ask.push(s.clone());
            }
        }
        if self.everything {
            ask.push("everything".to_string());
        }
        (!ask.is_empty()).then(|| {
            let mut words = vec!["INFO".to_string()];
            words.extend(ask);
            words
        })
    }

    /// The text of the reply: the proxy's sections, and the master's from
    /// `master` (its INFO text; None when it could not be asked or failed).
    pub fn render(&self, r: &Router, master: Option<&str>) -> String {
        let theirs = master.map(split_sections).unwrap_or_default();
        let mut out = String::new();
        let push = |block: &str, out: &mut String| {
            if block.is_empty() {
                return;
            }
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            out.push_str(block);
        };
        let theirs_of = |name: &str| {
            theirs
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, b)| b.as_str())
        };
        for name in ORDER {
            if !self.sections.iter().any(|s| s == name) {
                continue;
            }
            if OWN.contains(name) {
                let mut block = String::new();
                section(r, name, &mut block);
                if *name == "stats" {
                    if let Some(b) = theirs_of("stats") {
                        add_data_stats(&mut block, b);
                    }
                }
                push(&block, &mut out);
            } else if let Some(b) = theirs_of(name) {
                push(b, &mut out);
            }
        }
        // Other sections the master answered (a module's, or a name newer
        // than this table).
        for (name, block) in &theirs {
            if !ORDER.contains(&name.as_str()) {
                push(block, &mut out);
            }
        }
        out
    }
}

/// The text of an INFO reply from a node (a bulk or verbatim string).
pub(crate) fn reply_text(reply: &[u8]) -> Option<&str> {
    let kind = *reply.first()?;
    if kind != b'$' && kind != b'=' {
        return None;
    }
    let nl = reply.iter().position(|&b| b == b'\n')?;
    let len: usize = std::str::from_utf8(reply.get(1..nl.checked_sub(1)?)?)
        .ok()?
        .parse()
        .ok()?;
    let body = reply.get(nl + 1..nl + 1 + len)?;
    let body = if kind == b'=' { body.get(4..)? } else { body };
    std::str::from_utf8(body).ok()
}

/// An INFO text as (lowercase name, block with its header) pairs.
fn split_sections(text: &str) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.split("\r\n") {
        if let Some(h) = line.strip_prefix("# ") {
            out.push((h.trim().to_ascii_lowercase(), format!("{line}\r\n")));
        } else if !line.is_empty() {
            if let Some((_, block)) = out.last_mut() {
                block.push_str(line);
                block.push_str("\r\n");
            }
        }
    }
    out
}

/// Appends the master's data counters to the proxy's stats block.
fn add_data_stats(block: &mut String, theirs: &str) {
    for line in theirs.split("\r\n") {
        if let Some((k, _)) = line.split_once(':') {
            if DATA_STATS.contains(&k) {
                block.push_str(line);
                block.push_str("\r\n");
            }
        }
    }
}

fn section(r: &Router, name: &str, o: &mut String) {
    let m = &r.metrics;
    let g = Metrics::get;
    let gg = Metrics::get_gauge;
    let route = r.route();
    match name {
        "server" => {
            let up = r.started.elapsed().as_secs();
            let _ = write!(
                o,
                "# Server\r\nredis_version:{REDIS_VERSION}\r\ntandem_version:{}\r\ntandem_role:proxy\r\nredis_mode:standalone\r\nproxy_id:{}\r\nprocess_id:{}\r\nrun_id:{}\r\nproxy_threads:{}\r\nproxy_thread:{}\r\ntcp_port:{}\r\nuptime_in_seconds:{up}\r\nuptime_in_days:{}\r\n",
                env!("CARGO_PKG_VERSION"),
                r.cfg.id,
                std::process::id(),
                r.run_id,
                r.cfg.threads,
                r.shard,
                r.cfg.port,
                up / 86400
            );
        }
        "clients" => {
            let _ = write!(
                o,
                "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\nblocked_clients:{}\r\npinned_clients:{}\r\n",
                gg(&m.connected_clients),
                r.cfg.maxclients,
                gg(&m.blocked_clients).max(0),
                gg(&m.pinned_clients)
            );
        }
        "backends" => {
            let _ = write!(
                o,
                "# Backends\r\npool_size:{}\r\nread_from:{}\r\nbackend_connects:{}\r\nbackend_connect_errors:{}\r\nbackend_link_errors:{}\r\nbackend_timeouts:{}\r\n",
                r.cfg.pool_size,
                match r.cfg.read_from {
                    ReadFrom::Master => "master",
                    ReadFrom::Replica => "replica",
                    ReadFrom::Nearest => "nearest",
                },
                g(&m.backend_connects),
                g(&m.backend_connect_errors),
                g(&m.backend_link_errors),
                g(&m.backend_timeouts)
            );
            let pools = route.master.iter().chain(route.replicas.iter());
            for (i, p) in pools.enumerate() {
                let _ = write!(
                    o,
                    "backend{i}:addr={},role={},up={},links={},inflight={}",
                    p.node,
                    match p.role {
                        tandem_routing::Role::Master => "master",
                        tandem_routing::Role::Replica => "replica",
                    },
                    u8::from(p.usable()),
                    p.live_links(),
                    p.inflight()
                );
                // Health and RTT come from the probe, which runs where reads
                // may go: replicas, and every node under `read-from nearest`.
                if p.role == tandem_routing::Role::Replica || r.cfg.read_from == ReadFrom::Nearest {
                    let _ = write!(
                        o,
                        ",healthy={},rtt_us={}",
                        u8::from(p.healthy.load(Ordering::Relaxed)),
                        p.rtt_us.load(Ordering::Relaxed)
                    );
                }
                o.push_str("\r\n");
            }
        }
        "topology" => {
            let master = route
                .master
                .as_ref()
                .map(|p| p.node.to_string())
                .unwrap_or_default();
            let _ = write!(
                o,
                "# Topology\r\ncluster:{}\r\nepoch:{}\r\nmaster:{master}\r\nmaster_available:{}\r\nreplicas:{}\r\ntopology_updates:{}\r\ntopologies_ignored:{}\r\n",
                route.cluster,
                route.epoch,
                u8::from(route.master.as_ref().is_some_and(|p| p.usable())),
                route.replicas.iter().map(|p| p.node.to_string()).collect::<Vec<_>>().join(","),
                g(&m.topology_updates),
                g(&m.topologies_ignored)
            );
        }
        "failover" => {
            let _ = write!(
                o,
                "# Failover\r\nfailovers_seen:{}\r\nheld_requests:{}\r\nheld_bytes:{}\r\nheld_total:{}\r\nreplayed_total:{}\r\nrefused_held_total:{}\r\noutcome_unknown_total:{}\r\nsettled_unapplied_total:{}\r\nhold_timeouts_total:{}\r\nhold_overflow_total:{}\r\nhold_timeout_ms:{}\r\nhold_max_bytes:{}\r\n",
                g(&m.failovers_seen),
                gg(&m.held_requests).max(0),
                gg(&m.held_bytes).max(0),
                g(&m.held_total),
                g(&m.replayed_total),
                g(&m.refused_held_total),
                g(&m.outcome_unknown_total),
                g(&m.settled_unapplied_total),
                g(&m.hold_timeouts_total),
                g(&m.hold_overflow_total),
                r.cfg.hold_timeout.as_millis(),
                r.cfg.hold_max_bytes
            );
        }
        "cpu" => {
            let (su, ss) = rusage(libc::RUSAGE_SELF);
            let (cu, cs) = rusage(libc::RUSAGE_CHILDREN);
            let _ = write!(
                o,
                "# CPU\r\nused_cpu_sys:{ss:.6}\r\nused_cpu_user:{su:.6}\r\nused_cpu_sys_children:{cs:.6}\r\nused_cpu_user_children:{cu:.6}\r\n"
            );
        }
        "cluster" => o.push_str("# Cluster\r\ncluster_enabled:0\r\n"),
        "stats" => {
            let _ = write!(
                o,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ninstantaneous_ops_per_sec:{}\r\ntotal_net_input_bytes:{}\r\ntotal_net_output_bytes:{}\r\ninstantaneous_input_kbps:{:.2}\r\ninstantaneous_output_kbps:{:.2}\r\ncommands_forwarded:{}\r\ncommands_local:{}\r\ncommands_refused:{}\r\nrejected_connections:{}\r\nprotocol_errors:{}\r\nclient_output_buffer_disconnects:{}\r\nidle_disconnects:{}\r\n",
                g(&m.total_connections_received),
                g(&m.total_commands_processed),
                g(&m.instantaneous_ops),
                g(&m.total_net_input_bytes),
                g(&m.total_net_output_bytes),
                g(&m.instantaneous_input) as f64 / 1024.0,
                g(&m.instantaneous_output) as f64 / 1024.0,
                g(&m.commands_forwarded),
                g(&m.commands_local),
                g(&m.commands_refused),
                g(&m.rejected_connections),
                g(&m.protocol_errors),
                g(&m.output_buffer_disconnects),
                g(&m.idle_disconnects)
            );
        }
        _ => {}
    }
}

/// (user, system) CPU seconds of this process (or its children) from getrusage.
fn rusage(who: libc::c_int) -> (f64, f64) {
    // SAFETY: a zeroed rusage is a valid value of the plain C struct.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime), secs(ru.ru_stime))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ask(args: &[&str]) -> InfoAsk {
        let args: Vec<&[u8]> = args.iter().map(|a| a.as_bytes()).collect();
        InfoAsk::parse(&args)
    }

    #[test]
    fn keywords_expand_as_in_redis() {
        let d = ask(&[]);
        assert_eq!(d, ask(&["DEFAULT"]));
        assert!(!d.sections.iter().any(|s| s == "commandstats"));
        assert!(d.sections.iter().any(|s| s == "keyspace"));
        let all = ask(&["all"]);
        assert!(all.sections.iter().any(|s| s == "commandstats"));
        assert!(!all.everything && ask(&["everything"]).everything);
        // A keyword and a name together; a name twice counts once.
        let mix = ask(&["default", "commandstats", "COMMANDSTATS"]);
        assert_eq!(mix.sections.len(), d.sections.len() + 1);
    }

    #[test]
    fn the_master_is_asked_only_for_what_it_answers() {
        assert_eq!(ask(&["topology", "clients"]).master_request(), None);
        assert_eq!(
            ask(&["keyspace", "server"]).master_request(),
            Some(vec!["INFO".to_string(), "keyspace".to_string()])
        );
        // Stats: for the keyspace counters.
        assert_eq!(
            ask(&["stats"]).master_request(),
            Some(vec!["INFO".to_string(), "stats".to_string()])
        );
        let d = ask(&[]).master_request().unwrap_or_default();
        assert_eq!(
            d[1..],
            [
                "memory",
                "persistence",
                "stats",
                "replication",
                "modules",
                "errorstats",
                "keyspace"
            ]
        );
        assert_eq!(
            ask(&["MySection"]).master_request(),
            Some(vec!["INFO".to_string(), "mysection".to_string()])
        );
    }

    #[test]
    fn replies_and_sections_are_read_as_redis_writes_them() {
        let text =
            "# Memory\r\nused_memory:1\r\n\r\n# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n";
        let bulk = format!("${}\r\n{text}\r\n", text.len());
        assert_eq!(reply_text(bulk.as_bytes()), Some(text));
        let verbatim = format!("={}\r\ntxt:{text}\r\n", text.len() + 4);
        assert_eq!(reply_text(verbatim.as_bytes()), Some(text));
        assert_eq!(reply_text(b"-ERR no\r\n"), None);
        assert_eq!(reply_text(b"$100\r\nshort\r\n"), None);
        assert_eq!(reply_text(b"$x\r\n"), None);
        let secs = split_sections(text);
        assert_eq!(secs.len(), 2);
        assert_eq!(secs[1].0, "keyspace");
        assert_eq!(
            secs[1].1,
            "# Keyspace\r\ndb0:keys=2,expires=0,avg_ttl=0\r\n"
        );
        let mut stats = "# Stats\r\ntotal_commands_processed:5\r\n".to_string();
        add_data_stats(
            &mut stats,
            "# Stats\r\ntotal_commands_processed:99\r\nkeyspace_hits:7\r\nevicted_keys:1\r\n",
        );
        assert_eq!(
            stats,
            "# Stats\r\ntotal_commands_processed:5\r\nkeyspace_hits:7\r\nevicted_keys:1\r\n"
        );
    }
}
