//! Hash values, in two representations as Redis 7.0 has:
//!
//! * `listpack`: field, value, field, value, ... in one flat [`Pack`] in insertion
//!   order, searched linearly. Used while the hash has at most
//!   `hash_max_listpack_entries` fields and every field and value is at most
//!   `hash_max_listpack_value` bytes; like Redis's listpack it keeps insertion
//!   order (HGETALL order matches Redis for small hashes). Measured: a million
//!   hashes of 8 short fields took 450 MB as vectors of boxed pairs, Redis 145.
//! * `hashtable`: the keyspace's own [`Dict`] (incremental rehash, so a growing hash
//!   never stalls the node; reverse-binary cursors, so HSCAN returns every field
//!   present for the whole scan, perhaps twice, as Redis's). A lookup costs a
//!   bucket and a node; an ordered tree, used before, cost a cache miss per level
//!   (HSET on a 100k-field hash spent a quarter of its time there).
//!
//! Once a hash is converted to `hashtable` it never goes back, as in Redis.

use super::pack::Pack;
use crate::dict::Dict;
use crate::keyspace::StoreConfig;

#[derive(Debug, Clone)]
pub struct Hash {
    repr: Repr,
}

#[derive(Debug, Clone)]
enum Repr {
    /// Field, value, field, value, ...
    Small(Pack),
    /// Boxed: a table is over a hundred bytes, and every key's value slot is
    /// as large as the largest variant of a value.
    Big(Box<Dict<Box<[u8]>>>),
}

impl Default for Hash {
    fn default() -> Self {
        Hash {
            repr: Repr::Small(Pack::new()),
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
            Repr::Small(p) => p.iter().count() / 2,
            Repr::Big(m) => m.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn get(&self, field: &[u8]) -> Option<&[u8]> {
        match &self.repr {
            Repr::Small(p) => match find(p, field) {
                Found::At { value, .. } => Some(p.at(value).0),
                Found::No { .. } => None,
            },
            Repr::Big(m) => m.get(field).map(|v| &**v),
        }
    }

    pub fn contains(&self, field: &[u8]) -> bool {
        self.get(field).is_some()
    }

    /// Sets `field` to `value`; returns true if the field is new. Converts to the
    /// `hashtable` form when the listpack limits in `cfg` are exceeded.
    pub fn insert(&mut self, field: &[u8], value: &[u8], cfg: &StoreConfig) -> bool {
        if let Repr::Small(p) = &mut self.repr {
            let max = cfg.hash_max_listpack_value;
            if field.len() <= max && value.len() <= max {
                match find(p, field) {
                    Found::At { value: at, .. } => {
                        p.replace(at, value);
                        return false;
                    }
                    Found::No { pairs } if pairs < cfg.hash_max_listpack_entries => {
                        p.push(field);
                        p.push(value);
                        return true;
                    }
                    Found::No { .. } => {}
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
            Repr::Small(p) => match find(p, field) {
                Found::At { field, end, .. } => {
                    // Order-preserving, as a listpack delete.
                    p.remove_range(field, end);
                    true
                }
                Found::No { .. } => false,
            },
            Repr::Big(m) => m.remove(field).is_some(),
        }
    }

    fn convert(&mut self) {
        if let Repr::Small(p) = &mut self.repr {
            let mut m = Dict::new();
            m.expand(p.iter().count() / 2);
            for (f, val) in pairs(p) {
                m.insert(f, val.into());
            }
            self.repr = Repr::Big(Box::new(m));
        }
    }

    /// Every (field, value): insertion order while small, table order once big.
    pub fn iter(&self) -> Box<dyn Iterator<Item = (&[u8], &[u8])> + '_> {
        match &self.repr {
            Repr::Small(p) => Box::new(pairs(p)),
            Repr::Big(m) => Box::new(m.iter().map(|(f, val)| (f, &**val))),
        }
    }

    /// A random (field, value): uniform while small; once big, a random entry of
    /// a random non-empty bucket (Redis's `dictGetFairRandomKey` is as fair).
    pub fn random_entry(&self) -> Option<(&[u8], &[u8])> {
        match &self.repr {
            Repr::Small(p) => {
                let n = p.iter().count() / 2;
                if n == 0 {
                    return None;
                }
                pairs(p).nth(rand::random_range(0..n))
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
            Repr::Small(p) => {
                for (k, val) in pairs(p) {
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

/// Where a field is in the small form.
enum Found {
    /// Positions of the field, its value, and what follows the value.
    At {
        field: usize,
        value: usize,
        end: usize,
    },
    /// Not there; the form holds `pairs` pairs.
    No { pairs: usize },
}

fn find(p: &Pack, field: &[u8]) -> Found {
    let (mut pos, mut n) = (0, 0);
    while pos < p.end() {
        let (f, value) = p.at(pos);
        let (_, end) = p.at(value);
        if f == field {
            return Found::At {
                field: pos,
                value,
                end,
            };
        }
        pos = end;
        n += 1;
    }
    Found::No { pairs: n }
}

/// The small form's (field, value) pairs in order.
fn pairs(p: &Pack) -> impl Iterator<Item = (&[u8], &[u8])> {
    let mut it = p.iter();
    std::iter::from_fn(move || Some((it.next()?, it.next()?)))
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

    proptest::proptest! {
        /// The small form (one flat buffer) and the table behave as an
        /// insertion-ordered map: replacing keeps a field's place, removing
        /// keeps the others' order; values of every length round-trip.
        #[test]
        fn matches_an_ordered_model(
            ops in proptest::collection::vec((0u8..12, 0usize..300, proptest::bool::ANY), 0..200),
            entries in proptest::prop_oneof![proptest::strategy::Just(4usize), proptest::strategy::Just(128)],
        ) {
            let c = cfg(entries, 200);
            let mut h = Hash::new();
            let mut model: Vec<(Vec<u8>, Vec<u8>)> = Vec::new();
            for (f, len, del) in ops {
                let field = vec![b'f', f];
                if del {
                    let had = model.iter().position(|(k, _)| *k == field);
                    if let Some(i) = had {
                        model.remove(i);
                    }
                    proptest::prop_assert_eq!(h.remove(&field), had.is_some());
                } else {
                    let value = vec![f; len];
                    let new = match model.iter_mut().find(|(k, _)| *k == field) {
                        Some(slot) => {
                            slot.1 = value.clone();
                            false
                        }
                        None => {
                            model.push((field.clone(), value.clone()));
                            true
                        }
                    };
                    proptest::prop_assert_eq!(h.insert(&field, &value, &c), new);
                }
                proptest::prop_assert_eq!(h.len(), model.len());
            }
            for (k, v) in &model {
                proptest::prop_assert_eq!(h.get(k), Some(&v[..]));
            }
            let mut got: Vec<(Vec<u8>, Vec<u8>)> =
                h.iter().map(|(k, v)| (k.to_vec(), v.to_vec())).collect();
            if !h.is_small() {
                got.sort();
                model.sort();
            }
            proptest::prop_assert_eq!(got, model);
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
