//! The keyspace dictionary. (Placeholder over hashbrown; the keyspace helper replaces
//! it with an incremental-rehash table with the same API: no resize may stall the
//! node, and SCAN's cursor must return every key present for the whole scan.)

use hashbrown::HashMap;

/// A map from binary keys to `V` that grows without stalls.
#[derive(Debug, Clone)]
pub struct Dict<V> {
    map: HashMap<Box<[u8]>, V>,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict {
            map: HashMap::new(),
        }
    }
}

impl<V> Dict<V> {
    pub fn new() -> Self {
        Self::default()
    }
    pub fn len(&self) -> usize {
        self.map.len()
    }
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.map.get(key)
    }
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.map.get_mut(key)
    }
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.map.contains_key(key)
    }
    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        if let Some(v) = self.map.get_mut(key) {
            return Some(std::mem::replace(v, value));
        }
        self.map.insert(key.into(), value);
        None
    }
    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.map.remove(key)
    }
    pub fn clear(&mut self) {
        self.map.clear();
    }
    pub fn iter(&self) -> impl Iterator<Item = (&[u8], &V)> {
        self.map.iter().map(|(k, v)| (&**k, v))
    }
    /// A uniformly-ish random entry (RANDOMKEY, eviction and expiry sampling).
    pub fn random_entry(&self) -> Option<(&[u8], &V)> {
        if self.map.is_empty() {
            return None;
        }
        let i = rand::random_range(0..self.map.len());
        self.map.iter().nth(i).map(|(k, v)| (&**k, v))
    }
    /// Visits some entries from `cursor` on and returns the next cursor (0 = done).
    pub fn scan(&self, cursor: u64, mut f: impl FnMut(&[u8], &V)) -> u64 {
        let start = cursor as usize;
        let mut n = 0;
        for (k, v) in self.map.iter().skip(start).take(10) {
            f(k, v);
            n += 1;
        }
        if start + n >= self.map.len() {
            0
        } else {
            (start + n) as u64
        }
    }
    /// Does a bounded amount of incremental rehashing; true if more remains.
    pub fn rehash_step(&mut self, _buckets: usize) -> bool {
        false
    }
}
