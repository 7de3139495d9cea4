//! The `embedded` backend: the default routing store, hosted by the monitor.
//!
//! ```text
//!   monitor process                               proxy / other monitors
//!   ┌───────────────────────────────┐             ┌──────────────────┐
//!   │ EmbeddedStore (in-process     │◄── TCP ─────│ EmbeddedClient   │
//!   │ RoutingStore) ── persist ─► dir/routing.json│ (RoutingStore)   │
//!   │ EmbeddedServer (RESP, pushes) │── pushes ──►│ watch()          │
//!   └───────────────────────────────┘             └──────────────────┘
//! ```

mod client;
mod persist;
mod server;
mod store;
mod wire;

pub use client::EmbeddedClient;
pub use server::EmbeddedServer;
pub use store::{EmbeddedStore, DEFAULT_OBSERVATION_RETENTION};
