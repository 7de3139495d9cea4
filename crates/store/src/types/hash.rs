//! Hash values, in two representations as Redis 7.0 has:
//!
//! * `listpack`: a flat vector of (field, value) pairs in insertion order, searched
//!   linearly. Used while the hash has at most `hash_max_listpack_entries` fields and
//!   every field and value is at most `hash_max_listpack_value` bytes; like Redis's
//!   listpack it keeps insertion order (HGETALL order matches Redis for small hashes).
//! * `hashtable`: the keyspace's own [`Dict`] (incremental rehash, so a growing hash
//!   never stalls the node; reverse-binary cursors, so HSCAN returns every field
//!   present for the whole scan, perhaps twice, as Redis's). A lookup costs a
//!   bucket and a node; an ordered tree, used before, cost a cache miss per level
//!   (HSET on a 100k-field hash spent a quarter of its time there).
//!
//! Once a hash is converted to `hashtable` it never goes back, as in Redis.

use crate::dict::Dict;
use crate::keyspace::StoreConfig;

#[derive(Debug, Clone)]
pub struct Hash {
    repr: Repr,
}

/// A (field, value) pair of the small form.
type Pair = (Box<[u8]>, Box<[u8]>);

#[derive(Debug, Clone)]
enum Repr {
    Small(Vec<Pair>),
    /// Boxed: a table is over a hundred bytes, and every key's value slot is
    /// as large as the largest variant of a value.
    Big(Box<Dict<Box<[u8]>>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash {
            repr: Repr::Small(Vec::new()),
        }
    }
}

impl Hash {
    pub fn new() -> Self {
        Self::default()
    }

    /// `listpack` while small, `hashtable` once converted (never back).
    pub fn encoding(&self, _cfg: &StoreConfig) -> &'static str {
        match self.repr {
            Repr::Small(_) => "listpack",
            Repr::Big(_) => "hashtable",
        }
    }

    /// The field table of the big form (for prefetching).
    pub(crate) fn table(&self) -> Option<&Dict<Box<[u8]>>> {
        match &self.repr {
            Repr::Small(_) => None,
            Repr::Big(d) => Some(d),
        }
    }

    /// Whether the hash is in its small (listpack) form: HSCAN then returns
    /// everything in one call, as Redis does.
    pub fn is_small(&self) -> bool {
        matches!(self.repr, Repr::Small(_))
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(v) => v.len(),
            Repr::Big(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Small(v) => v.iter().find(|(f, _)| &**f == field).map(|(_, val)| &**val),
            Repr::Big(m) => m.get(field).map(|v| &**v),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`; returns true if the field is new. Converts to the
    /// `hashtable` form when the listpack limits in `cfg` are exceeded.
    pub fn insert(&mut self, field: &[u8], value: &[u8], cfg: &StoreConfig) -> bool {
        if let Repr::Small(v) = &mut self.repr {
            let max = cfg.hash_max_listpack_value;
            if field.len() <= max && value.len() <= max {
                if let Some(slot) = v.iter_mut().find(|(f, _)| &**f == field) {
                    slot.1 = value.into();
                    return false;
                }
                if v.len() < cfg.hash_max_listpack_entries {
                    v.push((field.into(), value.into()));
                    return true;
                }
            }
            self.convert();
        }
        match &mut self.repr {
            Repr::Big(m) => m.insert(field, value.into()).is_none(),
            // convert() above always leaves the big form.
            Repr::Small(_) => false,
        }
    }

    /// Removes `field`; returns whether it existed.
    pub fn remove(&mut self, field: &[u8]) -> bool {
        match &mut self.repr {
            Repr::Small(v) => match v.iter().position(|(f, _)| &**f == field) {
                Some(i) => {
                    // Order-preserving, as a listpack delete.
                    v.remove(i);
                    true
                }
                None => false,
            },
            Repr::Big(m) => m.remove(field).is_some(),
        }
    }

    fn convert(&mut self) {
        if let Repr::Small(v) = &mut self.repr {
            let mut m = Dict::new();
            m.expand(v.len());
            for (f, val) in std::mem::take(v) {
                m.insert(&f, val);
            }
            self.repr = Repr::Big(Box::new(m));
        }
    }

    /// Every (field, value): insertion order while small, table order once big.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.repr {
            Repr::Small(v) => Box::new(v.iter().map(|(f, val)| (&**f, &**val))),
            Repr::Big(m) => Box::new(m.iter().map(|(f, val)| (f, &**val))),
        }
    }

    /// A random (field, value): uniform while small; once big, a random entry of
    /// a random non-empty bucket (Redis's `dictGetFairRandomKey` is as fair).
    pub fn random_entry(&self) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Small(v) => {
                if v.is_empty() {
                    return None;
                }
                let (f, val) = &v[rand::random_range(0..v.len())];
                Some((f, val))
            }
            Repr::Big(m) => m.random_entry().map(|(f, v)| (f, &**v)),
        }
    }

    /// Visits about `count` entries starting at `cursor` and returns the next cursor
    /// (0 when done). The small form is visited whole in one call (cursor ignored), as
    /// Redis does for listpacks; the big one a bucket at a time until `count`
    /// entries or `10 * count` buckets (Redis's bound on empty buckets).
    pub fn scan<'a>(
        &'a self,
        cursor: u64,
        count: usize,
        mut f: impl FnMut(&'a [u8], &'a [u8]),
    ) -> u64 {
        match &self.repr {
            Repr::Small(v) => {
                for (k, val) in v {
                    f(k, val);
                }
                0
            }
            Repr::Big(m) => {
                let count = count.max(1);
                let (mut n, mut cursor, mut buckets) = (0usize, cursor, 0usize);
                loop {
                    cursor = m.scan(cursor, |k, val| {
                        f(k, val);
                        n += 1;
                    });
                    buckets += 1;
                    if cursor == 0 || n >= count || buckets >= count.saturating_mul(10) {
                        return cursor;
                    }
                }
            }
        }
    }
}

impl FromIterator<(Vec<u8>, Vec<u8>)> for Hash {
    /// Builds a hash with the default listpack limits (tests, loaders that then
    /// re-check limits with [`Hash::insert`]).
    fn from_iter<T: IntoIterator<Item = (Vec<u8>, Vec<u8>)>>(iter: T) -> Self {
        let cfg = StoreConfig::default();
        let mut h = Hash::new();
        for (f, v) in iter {
            h.insert(&f, &v, &cfg);
        }
        h
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn cfg(entries: usize, value: usize) -> StoreConfig {
        StoreConfig {
            hash_max_listpack_entries: entries,
            hash_max_listpack_value: value,
            ..StoreConfig::default()
        }
    }

    #[test]
    fn converts_on_entries_and_never_back() {
        let c = cfg(2, 64);
        let mut h = Hash::new();
        assert!(h.insert(b"a", b"1", &c));
        assert!(!h.insert(b"a", b"2", &c));
        assert!(h.insert(b"b", b"1", &c));
        assert_eq!(h.encoding(&c), "listpack");
        assert!(h.insert(b"c", b"1", &c));
        assert_eq!(h.encoding(&c), "hashtable");
        assert!(h.remove(b"c"));
        assert!(h.remove(b"b"));
        assert_eq!(h.encoding(&c), "hashtable");
        assert_eq!(h.get(b"a"), Some(&b"2"[..]));
        assert_eq!(h.len(), 1);
    }

    #[test]
    fn converts_on_long_value_or_field() {
        let c = cfg(128, 3);
        let mut h = Hash::new();
        h.insert(b"abc", b"xyz", &c);
        assert!(h.is_small());
        h.insert(b"f", b"long", &c);
        assert!(!h.is_small());
        let mut h = Hash::new();
        h.insert(b"long", b"v", &c);
        assert!(!h.is_small());
        assert_eq!(h.get(b"long"), Some(&b"v"[..]));
    }

    #[test]
    fn small_keeps_insertion_order() {
        let h: Hash = [
            (b"z".to_vec(), b"1".to_vec()),
            (b"a".to_vec(), b"2".to_vec()),
        ]
        .into_iter()
        .collect();
        let fields: Vec<&[u8]> = h.iter().map(|(f, _)| f).collect();
        assert_eq!(fields, vec![&b"z"[..], &b"a"[..]]);
    }

    #[test]
    fn big_scan_returns_every_stable_field_despite_changes() {
        let c = cfg(0, 64);
        let mut h = Hash::new();
        for i in 0..2000u32 {
            h.insert(format!("f{i}").as_bytes(), b"v", &c);
        }
        let mut seen = HashSet::new();
        let mut cursor = 0;
        let mut round = 0u32;
        loop {
            cursor = h.scan(cursor, 10, |f, _| {
                seen.insert(f.to_vec());
            });
            // Churn between calls: delete some never-stable fields, add new ones.
            h.insert(format!("new{round}").as_bytes(), b"v", &c);
            h.remove(format!("f{}", 1000 + round).as_bytes());
            round += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000u32 {
            assert!(seen.contains(format!("f{i}").as_bytes()), "missing f{i}");
        }
    }

    #[test]
    fn random_entry_hits_every_field() {
        let c = cfg(0, 64);
        let mut h = Hash::new();
        for i in 0..8u8 {
            h.insert(&[i], b"v", &c);
        }
        let mut seen = HashSet::new();
        for _ in 0..2000 {
            if let Some((f, _)) = h.random_entry() {
                seen.insert(f.to_vec());
            }
        }
        assert_eq!(seen.len(), 8);
        assert!(Hash::new().random_entry().is_none());
    }
}
