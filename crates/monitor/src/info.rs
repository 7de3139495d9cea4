//! What a node says about itself: the fields of `INFO replication` the monitor
//! decides on, parsed from the text Redis 7.0 (and Tandem) return.
//!
//! Field names are Redis's own (`role:slave`, `slave_repl_offset`,
//! `master_link_down_since_seconds`, `slave_priority`); Tandem adds
//! `tandem_epoch`. Unknown lines are ignored, missing ones keep their defaults, so
//! a newer server or a partial section never breaks parsing.

use serde::{Deserialize, Serialize};

/// The replication role a node reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeRole {
    Master,
    Replica,
}

/// A node's replication state, from one `INFO replication` reply.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReplInfo {
    pub role: NodeRole,
    /// The master this replica follows (`host:port`), if a replica.
    pub master_addr: Option<String>,
    /// `master_link_status:up`.
    pub link_up: bool,
    /// Seconds the link to its master has been down; -1 when it never connected
    /// (Redis prints -1 then); None when the link is up or for a master.
    pub link_down_since_s: Option<i64>,
    /// `master_sync_in_progress:1`: a full sync is loading; the data is incomplete.
    pub sync_in_progress: bool,
    /// The node answered PING with `-LOADING`: still loading its dataset at
    /// start, so its data (and offset) are incomplete. Not from INFO.
    #[serde(default)]
    pub loading: bool,
    /// The replication offset the node has processed: `slave_repl_offset` for a
    /// replica, `master_repl_offset` for a master.
    pub offset: i64,
    /// `slave_priority` (lower is preferred, 0 never promoted). 100 when absent.
    pub priority: u32,
    /// `tandem_epoch` for Tandem nodes; None for stock Redis.
    pub tandem_epoch: Option<u64>,
    /// `connected_slaves` on a master.
    pub connected_replicas: u32,
    /// `master_replid`: the replication history this node is on. A master
    /// restarted without its data comes back with a new one and offset ~0.
    #[serde(default)]
    pub replid: String,
    /// `run_id` (INFO server, when asked for): changes with every process start.
    #[serde(default)]
    pub run_id: String,
}

impl ReplInfo {
    /// Parses the body of `INFO replication`. Returns None without a `role:` line.
    pub fn parse(text: &str) -> Option<ReplInfo> {
        let mut role = None;
        let (mut host, mut port) = (None, None);
        let mut link_up = false;
        let mut link_down = None;
        let mut sync = false;
        let (mut master_off, mut slave_off) = (0i64, None);
        let mut priority = 100u32;
        let mut epoch = None;
        let mut connected = 0u32;
        let mut replid = String::new();
        let mut run_id = String::new();
        for line in text.lines() {
            let Some((k, v)) = line.trim_end().split_once(':') else {
                continue;
            };
            match k {
                "role" => {
                    role = match v {
                        "master" => Some(NodeRole::Master),
                        "slave" | "replica" => Some(NodeRole::Replica),
                        _ => None,
                    }
                }
                "master_host" => host = Some(v.to_string()),
                "master_port" => port = Some(v.to_string()),
                "master_link_status" => link_up = v == "up",
                "master_link_down_since_seconds" => link_down = v.parse().ok(),
                "master_sync_in_progress" => sync = v == "1",
                "master_repl_offset" => master_off = v.parse().unwrap_or(0),
                "slave_repl_offset" => slave_off = v.parse().ok(),
                "slave_priority" | "replica_priority" | "replica-priority" => {
                    priority = v.parse().unwrap_or(100)
                }
                "tandem_epoch" => epoch = v.parse().ok(),
                "connected_slaves" => connected = v.parse().unwrap_or(0),
                "master_replid" => replid = v.to_string(),
                "run_id" => run_id = v.to_string(),
                _ => {}
            }
        }
        let role = role?;
        let replica = role == NodeRole::Replica;
        Some(ReplInfo {
            role,
            master_addr: match (host, port) {
                (Some(h), Some(p)) if replica => Some(format!("{h}:{p}")),
                _ => None,
            },
            link_up: replica && link_up,
            link_down_since_s: if replica && !link_up {
                Some(link_down.unwrap_or(-1))
            } else {
                None
            },
            sync_in_progress: replica && sync,
            loading: false,
            offset: if replica {
                slave_off.unwrap_or(master_off)
            } else {
                master_off
            },
            priority,
            tandem_epoch: epoch,
            connected_replicas: connected,
            replid,
            run_id,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from redis-server 7.0.15 (a replica whose master was killed).
    const REPLICA: &str = "# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:47001\r\nmaster_link_status:down\r\nmaster_last_io_seconds_ago:-1\r\nmaster_sync_in_progress:0\r\nslave_read_repl_offset:1234\r\nslave_repl_offset:1234\r\nmaster_link_down_since_seconds:3\r\nslave_priority:10\r\nslave_read_only:1\r\nreplica_announced:1\r\nconnected_slaves:0\r\nmaster_failover_state:no-failover\r\nmaster_replid:8b307828e43cc294e7c811a0e2ffe49ff701dcb4\r\nmaster_replid2:0000000000000000000000000000000000000000\r\nmaster_repl_offset:1234\r\nsecond_repl_offset:-1\r\n";

    const MASTER: &str = "# Replication\r\nrole:master\r\nconnected_slaves:1\r\nslave0:ip=127.0.0.1,port=47002,state=online,offset=99,lag=0\r\nmaster_failover_state:no-failover\r\nmaster_repl_offset:99\r\ntandem_epoch:7\r\n";

    #[test]
    fn parses_a_redis_replica() {
        let i = ReplInfo::parse(REPLICA).expect("role");
        assert_eq!(i.role, NodeRole::Replica);
        assert_eq!(i.master_addr.as_deref(), Some("127.0.0.1:47001"));
        assert!(!i.link_up);
        assert_eq!(i.link_down_since_s, Some(3));
        assert_eq!(i.offset, 1234);
        assert_eq!(i.priority, 10);
        assert_eq!(i.tandem_epoch, None);
        assert_eq!(i.replid, "8b307828e43cc294e7c811a0e2ffe49ff701dcb4");
    }

    #[test]
    fn parses_a_tandem_master() {
        let i = ReplInfo::parse(MASTER).expect("role");
        assert_eq!(i.role, NodeRole::Master);
        assert_eq!(i.master_addr, None);
        assert_eq!(i.link_down_since_s, None);
        assert_eq!(i.offset, 99);
        assert_eq!(i.tandem_epoch, Some(7));
        assert_eq!(i.connected_replicas, 1);
    }

    #[test]
    fn no_role_is_no_info() {
        assert_eq!(ReplInfo::parse("# Replication\r\nfoo:bar\r\n"), None);
        assert_eq!(ReplInfo::parse(""), None);
    }
}
