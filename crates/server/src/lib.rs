//! Tandem data node. (Placeholder; the server helper owns this crate.)
