//! The proxy's own INFO: server, clients, backends, topology, failover, stats.
//! All numbers come from [`crate::metrics::Metrics`] and the current route.

use std::fmt::Write;
use std::sync::atomic::Ordering;

use crate::client::Client;
use crate::metrics::Metrics;
use crate::router::Router;

/// The Redis version the proxy presents (the command table's).
pub const REDIS_VERSION: &str = "7.0.15";

const SECTIONS: &[&str] = &[
    "server", "clients", "backends", "topology", "failover", "stats",
];

pub(crate) fn info(r: &Router, args: &[&[u8]], _c: &Client) -> String {
    let wanted: Vec<String> = args
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_ascii_lowercase())
        .collect();
    let all = wanted.is_empty()
        || wanted
            .iter()
            .any(|w| w == "all" || w == "default" || w == "everything");
    let mut out = String::new();
    for s in SECTIONS {
        if all || wanted.iter().any(|w| w == s) {
            if !out.is_empty() {
                out.push_str("\r\n");
            }
            section(r, s, &mut out);
        }
    }
    out
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
                "# Clients\r\nconnected_clients:{}\r\nmaxclients:{}\r\npinned_clients:{}\r\n",
                gg(&m.connected_clients),
                r.cfg.maxclients,
                gg(&m.pinned_clients)
            );
        }
        "backends" => {
            let _ = write!(
                o,
                "# Backends\r\npool_size:{}\r\nread_from:{:?}\r\nbackend_connects:{}\r\nbackend_connect_errors:{}\r\nbackend_link_errors:{}\r\nbackend_timeouts:{}\r\n",
                r.cfg.pool_size,
                r.cfg.read_from,
                g(&m.backend_connects),
                g(&m.backend_connect_errors),
                g(&m.backend_link_errors),
                g(&m.backend_timeouts)
            );
            let pools = route.master.iter().chain(route.replicas.iter());
            for (i, p) in pools.enumerate() {
                let _ = write!(
                    o,
                    "backend{i}:addr={},role={},up={},links={},healthy={},rtt_us={},inflight={}\r\n",
                    p.node,
                    match p.role {
                        tandem_routing::Role::Master => "master",
                        tandem_routing::Role::Replica => "replica",
                    },
                    u8::from(p.usable()),
                    p.live_links(),
                    u8::from(p.healthy.load(Ordering::Relaxed)),
                    p.rtt_us.load(Ordering::Relaxed),
                    p.inflight()
                );
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
        _ => {
            let _ = write!(
                o,
                "# Stats\r\ntotal_connections_received:{}\r\ntotal_commands_processed:{}\r\ncommands_forwarded:{}\r\ncommands_local:{}\r\ncommands_refused:{}\r\nrejected_connections:{}\r\nprotocol_errors:{}\r\nclient_output_buffer_disconnects:{}\r\nidle_disconnects:{}\r\n",
                g(&m.total_connections_received),
                g(&m.total_commands_processed),
                g(&m.commands_forwarded),
                g(&m.commands_local),
                g(&m.commands_refused),
                g(&m.rejected_connections),
                g(&m.protocol_errors),
                g(&m.output_buffer_disconnects),
                g(&m.idle_disconnects)
            );
        }
    }
}
