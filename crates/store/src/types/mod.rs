//! The data structures behind each type. Each family's command module owns its type.

mod chunked;
pub mod hash;
mod index;
pub mod list;
pub mod pack;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;
