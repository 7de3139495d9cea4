//! The commands the monitor sends to data nodes to change their role, each one
//! connection and one bounded request, with Tandem's extensions degrading to a
//! note on stock Redis.
//!
//! - `TANDEM EPOCH <E>`: record the epoch a node is promoted under (Tandem only).
//! - `TANDEM FENCE <E> <host> <port>`: stop accepting writes because epoch E has
//!   another master, and follow it (Tandem only).
//! - `REPLICAOF NO ONE` / `REPLICAOF <host> <port>`: the role change itself
//!   (both).
//! - `CLIENT PAUSE <ms> WRITE` / `CLIENT UNPAUSE`: the planned switchover's
//!   write freeze (both; Redis 6.2+).
//!
//! Stock Redis answers the TANDEM commands with "unknown command": that is not a
//! failure, just the weaker guarantee (no epoch on the node, no fence until
//! REPLICAOF lands), recorded as [`Applied::NotSupported`].

use std::collections::HashMap;
use std::time::Duration;

use crate::client::{call_once, frame_text, ClientError};
use crate::info::ReplInfo;

/// Whether an optional (Tandem-only) step applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// The node does not know the command (stock Redis).
    NotSupported,
}

/// Talks to nodes with one login and one per-request timeout.
#[derive(Clone, Debug)]
pub struct NodeOps {
    pub auth: Option<crate::client::Auth>,
    pub timeout: Duration,
    /// Reach node X (as the topology names it) at address Y instead.
    pub dial_overrides: HashMap<String, String>,
}

impl NodeOps {
    /// The address to connect to for the node the topology calls `addr`.
    pub fn dial<'a>(&'a self, addr: &'a str) -> &'a str {
        self.dial_overrides.get(addr).map_or(addr, String::as_str)
    }

    async fn call(&self, addr: &str, args: &[&str]) -> Result<(), ClientError> {
        call_once(self.dial(addr), self.auth.as_ref(), args, self.timeout)
            .await
            .map(|_| ())
    }

    /// A fresh `INFO replication`.
    pub async fn info(&self, addr: &str) -> Result<ReplInfo, ClientError> {
        let f = call_once(
            self.dial(addr),
            self.auth.as_ref(),
            &["INFO", "replication"],
            self.timeout,
        )
        .await?;
        frame_text(&f)
            .and_then(|t| ReplInfo::parse(&t))
            .ok_or_else(|| ClientError::Protocol("INFO replication without a role".into()))
    }

    /// Records the promotion epoch on a Tandem node.
    pub async fn set_epoch(&self, addr: &str, epoch: u64) -> Result<Applied, ClientError> {
        let e = epoch.to_string();
        match self.call(addr, &["TANDEM", "EPOCH", &e]).await {
            Ok(()) => Ok(Applied::Done),
            Err(err) if err.is_unknown_command() => Ok(Applied::NotSupported),
            // An older spelling takes a SET keyword; try it before giving up.
            Err(ClientError::Server(_)) => {
                match self.call(addr, &["TANDEM", "EPOCH", "SET", &e]).await {
                    Ok(()) => Ok(Applied::Done),
                    Err(err) if err.is_unknown_command() => Ok(Applied::NotSupported),
                    Err(err) => Err(err),
                }
            }
            Err(err) => Err(err),
        }
    }

    /// Fences a Tandem node at `epoch` and tells it whom to follow.
    pub async fn fence(
        &self,
        addr: &str,
        epoch: u64,
        master: &str,
    ) -> Result<Applied, ClientError> {
        let (host, port) = split_addr(master)?;
        let e = epoch.to_string();
        match self.call(addr, &["TANDEM", "FENCE", &e, host, port]).await {
            Ok(()) => Ok(Applied::Done),
            Err(err) if err.is_unknown_command() => Ok(Applied::NotSupported),
            Err(err) => Err(err),
        }
    }

    pub async fn make_master(&self, addr: &str) -> Result<(), ClientError> {
        self.call(addr, &["REPLICAOF", "NO", "ONE"]).await
    }

    pub async fn follow(&self, addr: &str, master: &str) -> Result<(), ClientError> {
        let (host, port) = split_addr(master)?;
        self.call(addr, &["REPLICAOF", host, port]).await
    }

    pub async fn pause_writes(&self, addr: &str, ms: u64) -> Result<(), ClientError> {
        self.call(addr, &["CLIENT", "PAUSE", &ms.to_string(), "WRITE"])
            .await
    }

    pub async fn unpause(&self, addr: &str) -> Result<(), ClientError> {
        self.call(addr, &["CLIENT", "UNPAUSE"]).await
    }
}

/// `host:port` (IPv6 hosts keep their colons: the port is after the last one).
pub fn split_addr(addr: &str) -> Result<(&str, &str), ClientError> {
    addr.rsplit_once(':')
        .filter(|(h, p)| !h.is_empty() && p.parse::<u16>().is_ok())
        .map(|(h, p)| (h.trim_start_matches('[').trim_end_matches(']'), p))
        .ok_or_else(|| ClientError::Io(format!("bad node address {addr:?}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_split_at_the_last_colon() {
        assert_eq!(
            split_addr("127.0.0.1:6379").ok(),
            Some(("127.0.0.1", "6379"))
        );
        assert_eq!(split_addr("[::1]:7000").ok(), Some(("::1", "7000")));
        assert!(split_addr("nohost").is_err());
        assert!(split_addr("h:notaport").is_err());
    }
}
