//! Set values. (Placeholder; the sets helper owns this file.)

use hashbrown::HashSet;

use crate::keyspace::StoreConfig;

#[derive(Debug, Clone, Default)]
pub struct Set {
    pub members: HashSet<Box<[u8]>>,
}

impl Set {
    pub fn encoding(&self, _cfg: &StoreConfig) -> &'static str {
        "hashtable"
    }
}
