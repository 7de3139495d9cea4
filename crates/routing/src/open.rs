//! Opening a routing store from a URL given on the command line:
//! `embedded://host:port` (or `tandem://host:port`) for a monitor's embedded
//! store, `etcd://host:port[,host:port...]` for etcd.

use std::sync::Arc;

use crate::{EmbeddedClient, RoutingError, RoutingStore};

/// A parsed routing store URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RoutingUrl {
    /// The embedded store served by a monitor at `host:port`.
    Embedded(String),
    /// etcd endpoints (`host:port` each).
    Etcd(Vec<String>),
}

impl RoutingUrl {
    pub fn parse(url: &str) -> Result<Self, RoutingError> {
        let bad = |why: &str| RoutingError::Rejected(format!("routing url {url:?}: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected scheme://"))?;
        let rest = rest.trim_end_matches('/');
        let mut hosts: Vec<String> = rest
            .split(',')
            .map(str::trim)
            .filter(|h| !h.is_empty())
            .map(String::from)
            .collect();
        if hosts.is_empty() {
            return Err(bad("no host:port"));
        }
        for h in &hosts {
            match h.rsplit_once(':') {
                Some((host, port)) if !host.is_empty() && port.parse::<u16>().is_ok() => {}
                _ => return Err(bad(&format!("{h:?} is not host:port"))),
            }
        }
        match scheme.to_ascii_lowercase().as_str() {
            "embedded" | "tandem" => {
                if hosts.len() != 1 {
                    return Err(bad("the embedded store has one address"));
                }
                Ok(RoutingUrl::Embedded(hosts.swap_remove(0)))
            }
            "etcd" => Ok(RoutingUrl::Etcd(hosts)),
            other => Err(bad(&format!(
                "unknown scheme {other:?} (embedded, tandem, etcd)"
            ))),
        }
    }
}

/// Opens the store named by `url`. `cluster` names the deployment (the etcd key
/// prefix). The embedded client connects lazily, so this succeeds while the
/// monitor is still starting; etcd's client also dials in the background.
pub async fn open(url: &str, cluster: &str) -> Result<Arc<dyn RoutingStore>, RoutingError> {
    match RoutingUrl::parse(url)? {
        RoutingUrl::Embedded(addr) => {
            let _ = cluster;
            Ok(Arc::new(EmbeddedClient::new(addr)))
        }
        #[cfg(feature = "etcd")]
        RoutingUrl::Etcd(endpoints) => Ok(Arc::new(
            crate::EtcdStore::connect(&endpoints, cluster).await?,
        )),
        #[cfg(not(feature = "etcd"))]
        RoutingUrl::Etcd(_) => Err(RoutingError::Rejected(
            "this build has no etcd backend: rebuild with `cargo build --release -p tandem --features etcd` (needs protoc)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_into_backends() {
        assert_eq!(
            RoutingUrl::parse("embedded://127.0.0.1:7000").ok(),
            Some(RoutingUrl::Embedded("127.0.0.1:7000".into()))
        );
        assert_eq!(
            RoutingUrl::parse("tandem://localhost:7000/").ok(),
            Some(RoutingUrl::Embedded("localhost:7000".into()))
        );
        assert_eq!(
            RoutingUrl::parse("etcd://a:2379,b:2379").ok(),
            Some(RoutingUrl::Etcd(vec!["a:2379".into(), "b:2379".into()]))
        );
        for bad in [
            "127.0.0.1:7000",
            "etcd://",
            "etcd://a",
            "zk://a:1",
            "embedded://a:1,b:2",
            "etcd://a:99999",
        ] {
            assert!(RoutingUrl::parse(bad).is_err(), "{bad} should be refused");
        }
    }
}
