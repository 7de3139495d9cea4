//! Sorted set values. (Placeholder; the sorted-sets helper owns this file.)

use crate::keyspace::StoreConfig;

#[derive(Debug, Clone, Default)]
pub struct ZSet {}

impl ZSet {
    pub fn encoding(&self, _cfg: &StoreConfig) -> &'static str {
        "skiplist"
    }
}
