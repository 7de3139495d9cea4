//! A value in the keyspace: one of Redis's five core types.

use crate::keyspace::StoreConfig;
use crate::types::{hash::Hash, list::List, set::Set, string::Str, zset::ZSet};

#[derive(Debug, Clone)]
pub enum Value {
    Str(Str),
    List(List),
    Hash(Hash),
    Set(Set),
    ZSet(Box<ZSet>),
}

impl Value {
    /// The name TYPE replies with.
    pub fn type_name(&self) -> &'static str {
        match self {
            Value::Str(_) => "string",
            Value::List(_) => "list",
            Value::Hash(_) => "hash",
            Value::Set(_) => "set",
            Value::ZSet(_) => "zset",
        }
    }

    /// The name OBJECT ENCODING replies with, following Redis 7.0's thresholds.
    pub fn encoding(&self, cfg: &StoreConfig) -> &'static str {
        match self {
            Value::Str(s) => s.encoding(),
            Value::List(l) => l.encoding(cfg),
            Value::Hash(h) => h.encoding(cfg),
            Value::Set(s) => s.encoding(cfg),
            Value::ZSet(z) => z.encoding(cfg),
        }
    }
}
