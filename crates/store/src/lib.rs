//! Tandem's data plane: keyspace, data types, expiry, eviction, and the semantics of
//! every data command. It knows nothing of sockets, roles or topology.
//!
//! ```text
//!   server connection task                     Store (one lock, held per read batch)
//!   ----------------------                     -------------------------------------
//!   parse batch -> lock -> for each command:   Exec { store, db, out, now }
//!                            handler(exec, args) --> dbs[db].dict / expires
//!                            drain store.prop  --> write stream (replication, AOF)
//!                            store.ready keys  --> wake blocked clients
//!                          unlock -> one write()
//! ```
//!
//! # One order of writes
//! Every mutation happens while the caller holds the single `&mut Store`. Each write
//! command appends its propagated form (and any DELs caused by expiry or eviction,
//! in the order they happened) to [`Store::prop`]; the server drains that queue into
//! the replication stream inside the same critical section, so the stream order is
//! the apply order.
//!
//! # Scaling past 2 cores
//! Parsing, reply encoding and socket I/O run in parallel on all runtime threads; only
//! command execution is serialised by the store lock, and it is short (a batch of
//! already-parsed commands). Past ~8 cores the plan is KeyDB's model evolved: K
//! keyspace shards, each with its own lock, multi-key commands taking shard locks in a
//! fixed order, and a short global append step to the one write stream that keeps a
//! single total order (Dragonfly-style shared-nothing would break Redis's single
//! replication stream and byte offsets, which the failover contract depends on).

pub mod cmd;
pub mod dict;
pub mod error;
pub mod evict;
pub mod exec;
pub mod expire;
mod inline;
pub mod keyspace;
pub mod lazyfree;
pub mod notify;
pub mod types;
pub mod util;
pub mod value;

pub use error::{CmdError, CmdResult};
pub use exec::{BlockRequest, Exec, Handler};
pub use keyspace::{Db, Entry, Stats, Store, StoreConfig};
pub use value::Value;
