//! A [`TopologyFeed`] read from a JSON file (`tandem proxy --topology-file`): the
//! file is polled and every valid document with a higher epoch is published.
//! Used by tests and by operators who manage the topology by hand; the routing
//! system's watch gives the same feed in a full deployment.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tandem_routing::{Topology, TopologyFeed};
use tracing::warn;

/// Why the file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum FeedError {
    #[error("cannot read the topology file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("invalid topology file {path}: {source}")]
    Invalid {
        path: PathBuf,
        source: tandem_routing::TopologyError,
    },
}

fn load(path: &Path) -> Result<Topology, FeedError> {
    let text = std::fs::read(path).map_err(|source| FeedError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    Topology::from_json(&text).map_err(|source| FeedError::Invalid {
        path: path.to_path_buf(),
        source,
    })
}

/// Reads `path` now (it must hold a valid topology) and then every `poll`,
/// publishing each document whose epoch is higher than the last published one.
/// The polling thread ends when every receiver is gone.
pub fn file_feed(path: &Path, poll: Duration) -> Result<TopologyFeed, FeedError> {
    let first = load(path)?;
    let mut epoch = first.epoch;
    let (tx, rx) = tokio::sync::watch::channel(Some(Arc::new(first)));
    let path = path.to_path_buf();
    std::thread::Builder::new()
        .name("topology-file".into())
        .spawn(move || {
            let mut last_err = String::new();
            while !tx.is_closed() {
                std::thread::sleep(poll);
                match load(&path) {
                    Ok(t) if t.epoch > epoch => {
                        epoch = t.epoch;
                        last_err.clear();
                        let _ = tx.send(Some(Arc::new(t)));
                    }
                    Ok(_) => last_err.clear(),
                    Err(e) => {
                        // A writer may be half-way through; say it once.
                        let msg = e.to_string();
                        if msg != last_err {
                            warn!("{msg}");
                            last_err = msg;
                        }
                    }
                }
            }
        })
        .map_err(|source| FeedError::Read {
            path: PathBuf::new(),
            source,
        })?;
    Ok(rx)
}
