//! The topology: which node is master of each shard under which epoch.
//!
//! A topology document is the unit the routing store versions: every change is a
//! new document with `epoch + 1`, written by compare-and-set on the previous epoch,
//! so two writers can never both publish "their" master for one epoch.

use serde::{Deserialize, Serialize};

/// The cluster epoch: bumped by every topology change; fences old masters.
pub type Epoch = u64;

/// What a node does in the topology.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Master,
    Replica,
}

/// One data node as the routing system names it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Node {
    /// Stable identity (survives restarts and role changes), e.g. "node-1".
    pub id: String,
    /// `host:port` clients and peers connect to.
    pub addr: String,
}

impl Node {
    pub fn new(id: impl Into<String>, addr: impl Into<String>) -> Self {
        Node {
            id: id.into(),
            addr: addr.into(),
        }
    }
}

/// One master and its replicas.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub name: String,
    pub master: Node,
    #[serde(default)]
    pub replicas: Vec<Node>,
}

/// The whole deployment's routing table at one epoch.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Topology {
    pub cluster: String,
    pub epoch: Epoch,
    pub shards: Vec<Shard>,
}

/// A topology document that breaks an invariant.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum TopologyError {
    #[error("topology has no shard")]
    NoShard,
    #[error("node {0} appears twice in the topology")]
    DuplicateNode(String),
    #[error("shard {0} has an empty master address")]
    NoMaster(String),
    #[error("invalid topology document: {0}")]
    Decode(String),
}

impl Topology {
    /// A one-shard topology (the shape `tandem up` and a static proxy use).
    pub fn single(
        cluster: impl Into<String>,
        epoch: Epoch,
        master: Node,
        replicas: Vec<Node>,
    ) -> Self {
        Topology {
            cluster: cluster.into(),
            epoch,
            shards: vec![Shard {
                name: "shard-0".into(),
                master,
                replicas,
            }],
        }
    }

    /// Checks the invariants every published topology keeps: at least one shard,
    /// each with a master, and no node (by id or address) named twice, so no
    /// epoch can name two masters for one node set.
    pub fn validate(&self) -> Result<(), TopologyError> {
        if self.shards.is_empty() {
            return Err(TopologyError::NoShard);
        }
        let mut seen = std::collections::HashSet::new();
        for s in &self.shards {
            if s.master.addr.is_empty() {
                return Err(TopologyError::NoMaster(s.name.clone()));
            }
            for n in std::iter::once(&s.master).chain(&s.replicas) {
                if !seen.insert(n.id.as_str()) || !seen.insert(n.addr.as_str()) {
                    return Err(TopologyError::DuplicateNode(n.id.clone()));
                }
            }
        }
        Ok(())
    }

    /// The role `addr` has in this topology, if it is named at all.
    pub fn role_of(&self, addr: &str) -> Option<Role> {
        self.shards.iter().find_map(|s| {
            if s.master.addr == addr {
                Some(Role::Master)
            } else if s.replicas.iter().any(|r| r.addr == addr) {
                Some(Role::Replica)
            } else {
                None
            }
        })
    }

    /// The first shard (Tandem deployments have one today).
    pub fn primary_shard(&self) -> Option<&Shard> {
        self.shards.first()
    }

    pub fn to_json(&self) -> String {
        // Serialising plain strings and integers cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    pub fn from_json(text: &[u8]) -> Result<Self, TopologyError> {
        let t: Topology =
            serde_json::from_slice(text).map_err(|e| TopologyError::Decode(e.to_string()))?;
        t.validate()?;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t() -> Topology {
        Topology::single(
            "c",
            3,
            Node::new("a", "127.0.0.1:1"),
            vec![Node::new("b", "127.0.0.1:2")],
        )
    }

    #[test]
    fn json_round_trip_and_roles() {
        let t = t();
        let back = Topology::from_json(t.to_json().as_bytes()).expect("decode");
        assert_eq!(back, t);
        assert_eq!(back.role_of("127.0.0.1:1"), Some(Role::Master));
        assert_eq!(back.role_of("127.0.0.1:2"), Some(Role::Replica));
        assert_eq!(back.role_of("127.0.0.1:3"), None);
    }

    #[test]
    fn invalid_documents_are_refused() {
        let mut dup = t();
        dup.shards[0].replicas.push(Node::new("c", "127.0.0.1:1"));
        assert!(matches!(
            dup.validate(),
            Err(TopologyError::DuplicateNode(_))
        ));
        let empty = Topology {
            cluster: "c".into(),
            epoch: 1,
            shards: vec![],
        };
        assert_eq!(empty.validate(), Err(TopologyError::NoShard));
        assert!(matches!(
            Topology::from_json(b"{nope"),
            Err(TopologyError::Decode(_))
        ));
    }
}
