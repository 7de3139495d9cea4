//! List values. (Placeholder; the lists helper owns this file.)

use std::collections::VecDeque;

use crate::keyspace::StoreConfig;

#[derive(Debug, Clone, Default)]
pub struct List {
    pub items: VecDeque<Vec<u8>>,
}

impl List {
    pub fn encoding(&self, _cfg: &StoreConfig) -> &'static str {
        "quicklist"
    }
}
