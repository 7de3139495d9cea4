//! The data structures behind each type. Each family's command module owns its type.

pub mod hash;
pub mod list;
pub mod set;
pub mod string;
pub mod zset;
