//! Hash values. (Placeholder; the hashes helper owns this file.)

use hashbrown::HashMap;

use crate::keyspace::StoreConfig;

#[derive(Debug, Clone, Default)]
pub struct Hash {
    pub map: HashMap<Box<[u8]>, Vec<u8>>,
}

impl Hash {
    pub fn encoding(&self, _cfg: &StoreConfig) -> &'static str {
        "hashtable"
    }
}
