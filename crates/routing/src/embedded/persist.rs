//! The embedded store's durable state: one small JSON document in the data folder,
//! replaced atomically.
//!
//! ```text
//!   routing.json.tmp  <- write, fsync
//!   rename(tmp, routing.json), fsync(dir)   => the new state survives a crash
//! ```
//!
//! The document is written (and synced) before a compare-and-set or a lease grant is
//! acknowledged, so after a restart the store never hands out an epoch, revision or
//! lease id again. A crash before the rename leaves the old document in place (the
//! stray `.tmp` is ignored and overwritten by the next write).

use std::fs::{self, File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::{RoutingError, Topology};

const FILE: &str = "routing.json";
const TMP: &str = "routing.json.tmp";
/// Bumped if the document's shape changes incompatibly.
const FORMAT: u32 = 1;

/// The persisted lease: who holds leadership. Its expiry is not stored (clocks
/// across a restart are not comparable); a restarted store gives the holder a
/// full TTL from the restart, as etcd does after a leader change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct PersistedLease {
    pub id: i64,
    pub holder: String,
    pub ttl_ms: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Document {
    pub format: u32,
    /// Bumped by every topology change.
    pub revision: u64,
    pub topology: Option<Topology>,
    pub lease: Option<PersistedLease>,
    /// The next lease id to hand out (ids are never reused).
    pub next_lease_id: i64,
}

fn io_err(what: &str, path: &Path, e: std::io::Error) -> RoutingError {
    RoutingError::Other(format!("{what} {}: {e}", path.display()))
}

/// Reads the document from `dir`, or a fresh one if the folder has none yet.
pub(crate) fn load(dir: &Path) -> Result<Document, RoutingError> {
    fs::create_dir_all(dir).map_err(|e| io_err("cannot create", dir, e))?;
    let path = dir.join(FILE);
    let bytes = match fs::read(&path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Document {
                format: FORMAT,
                next_lease_id: 1,
                ..Document::default()
            })
        }
        Err(e) => return Err(io_err("cannot read", &path, e)),
    };
    let doc: Document = serde_json::from_slice(&bytes)
        .map_err(|e| RoutingError::Other(format!("corrupt {}: {e}", path.display())))?;
    if doc.format != FORMAT {
        return Err(RoutingError::Other(format!(
            "{}: unsupported format {} (expected {FORMAT})",
            path.display(),
            doc.format
        )));
    }
    if let Some(t) = &doc.topology {
        t.validate()?;
    }
    Ok(doc)
}

/// Durably replaces the document in `dir`: write a temp file, fsync it, rename it
/// over the old one, fsync the folder.
pub(crate) fn save(dir: &Path, doc: &Document) -> Result<(), RoutingError> {
    let tmp: PathBuf = dir.join(TMP);
    let path = dir.join(FILE);
    let bytes = serde_json::to_vec_pretty(doc)
        .map_err(|e| RoutingError::Other(format!("encode routing state: {e}")))?;
    let mut f = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .open(&tmp)
        .map_err(|e| io_err("cannot create", &tmp, e))?;
    f.write_all(&bytes)
        .map_err(|e| io_err("cannot write", &tmp, e))?;
    f.sync_all().map_err(|e| io_err("cannot fsync", &tmp, e))?;
    drop(f);
    fs::rename(&tmp, &path).map_err(|e| io_err("cannot rename onto", &path, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| io_err("cannot fsync folder", dir, e))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Node;

    #[test]
    fn save_then_load_round_trips_and_fresh_folder_starts_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fresh = load(dir.path()).expect("load fresh");
        assert_eq!(fresh.revision, 0);
        assert_eq!(fresh.next_lease_id, 1);
        let doc = Document {
            format: FORMAT,
            revision: 7,
            topology: Some(Topology::single("c", 4, Node::new("a", "h:1"), vec![])),
            lease: Some(PersistedLease {
                id: 3,
                holder: "m1".into(),
                ttl_ms: 500,
            }),
            next_lease_id: 4,
        };
        save(dir.path(), &doc).expect("save");
        assert_eq!(load(dir.path()).expect("load"), doc);
        assert!(!dir.path().join(TMP).exists());
    }

    #[test]
    fn a_corrupt_document_is_an_error_not_a_fresh_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(FILE), b"{garbage").expect("write");
        assert!(load(dir.path()).is_err());
    }
}
