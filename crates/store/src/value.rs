//! A value in the keyspace: one of Redis's core types.

use crate::keyspace::StoreConfig;
use crate::types::{hash::Hash, list::List, set::Set, stream::Stream, string::Str, zset::ZSet};

#[derive(Debug, Clone)]
pub enum Value {
    Str(Str),
    List(List),
    Hash(Hash),
    Set(Set),
    ZSet(ZSet),
    Stream(Box<Stream>),
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
            Value::Stream(_) => "stream",
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
            Value::Stream(_) => "stream",
        }
    }
}

#[cfg(test)]
mod size_tests {
    use super::*;

    /// Every key's entry holds a `Value` inline, so the largest variant sets the
    /// size of all of them: a type's big representation must stay behind a
    /// pointer (an unboxed hash table once cost 80 bytes on every string key).
    #[test]
    fn a_value_stays_forty_bytes_at_most() {
        assert!(
            std::mem::size_of::<Value>() <= 40,
            "Value is {} bytes",
            std::mem::size_of::<Value>()
        );
    }
}
