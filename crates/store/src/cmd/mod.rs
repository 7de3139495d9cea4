//! Data command handlers, one module per family. Each module exports `COMMANDS`, a
//! list of (lower-case name, handler); the command table (`tandem-commands`) holds
//! everything else about a command (arity, flags, keys).

use crate::exec::Handler;

pub mod bits;
pub mod geo;
pub mod hash;
pub mod hll;
pub mod keys;
pub mod list;
pub mod set;
pub mod sort;
pub mod stream;
pub mod string;
pub mod zset;

/// Every data command this crate implements.
pub fn all() -> impl Iterator<Item = (&'static str, Handler)> {
    [
        keys::COMMANDS,
        string::COMMANDS,
        bits::COMMANDS,
        hll::COMMANDS,
        list::COMMANDS,
        hash::COMMANDS,
        set::COMMANDS,
        sort::COMMANDS,
        zset::COMMANDS,
        geo::COMMANDS,
        stream::COMMANDS,
    ]
    .into_iter()
    .flat_map(|c| c.iter().copied())
}
