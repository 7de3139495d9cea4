//! Set values, in Redis 7.0's two encodings:
//!
//! - `intset`: sorted integers at 16/32/64-bit width (`set/intset.rs`) while
//!   every member is a canonical integer (string2ll rules) and there are at most
//!   `set-max-intset-entries` of them; SMEMBERS then lists them in ascending
//!   order, as Redis does.
//! - `hashtable`: a dense array of members (`types/chunked.rs`: growing it
//!   never copies it) plus an index of
//!   positions in it that resizes incrementally (`types/index.rs`). Dense storage gives O(1) uniform random picks (SPOP,
//!   SRANDMEMBER) and stores each member once. Removal swaps the last member into
//!   the hole.
//!
//! A set never converts back from `hashtable` to `intset`, as in Redis.
//!
//! SSCAN on a hashtable set walks the member array from the end down
//! (`position_scan`): the cursor is how many positions are left to visit. A
//! member only ever moves down (a removal moves the last member into the
//! hole), so a member present for the whole scan is returned at least once
//! whatever inserts and deletes happen; a step costs O(count), with no stall
//! on a big set.

use std::hash::BuildHasher;

use super::chunked::Chunked;
use super::index::IdIndex;
use crate::inline::InlineBytes;
use crate::keyspace::StoreConfig;
use crate::util::parse_i64;

mod intset;

pub use intset::IntSet;

/// Fixed-seed hash for members: the key of the member indexes.
pub(crate) fn member_hash(m: &[u8]) -> u64 {
    foldhash::fast::FixedState::with_seed(0x5e7_5ca7).hash_one(m)
}

/// A member borrowed from a set: either an intset integer or raw bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elem<'a> {
    Int(i64),
    Raw(&'a [u8]),
}

impl<'a> Elem<'a> {
    /// The member's bytes, formatting an integer into `buf`.
    pub fn bytes<'b>(&self, buf: &'b mut itoa::Buffer) -> &'b [u8]
    where
        'a: 'b,
    {
        match *self {
            Elem::Int(i) => buf.format(i).as_bytes(),
            Elem::Raw(b) => b,
        }
    }
    pub fn to_vec(&self) -> Vec<u8> {
        let mut b = itoa::Buffer::new();
        self.bytes(&mut b).to_vec()
    }
}

/// A hashtable-encoded set: members stored once, indexed by a hash table.
#[derive(Debug, Clone, Default)]
pub struct DenseSet {
    /// Members, short ones inline (`InlineBytes`): a lookup reads the member
    /// in the slot it reached instead of following a pointer to the heap.
    items: Chunked<InlineBytes>,
    table: IdIndex,
}

/// One step of a positional scan over `len` dense positions, visited from the
/// end down: `cursor` 0 starts the scan, any other value is the number of
/// positions still to visit (clamped to `len`). Calls `f` with about `count`
/// positions and returns the next cursor, 0 when done.
///
/// Elements move only down (into a hole left by a removal, from the last
/// position), so an element present for the whole scan is visited: it is
/// either below the cursor, where nothing moves it up, or was visited already.
/// Moving down from the visited part into the unvisited one only repeats it,
/// which SCAN allows.
pub(crate) fn position_scan(len: usize, cursor: u64, count: usize, mut f: impl FnMut(u32)) -> u64 {
    let begin = if cursor == 0 {
        len
    } else {
        (cursor as usize).min(len)
    };
    let stop = begin.saturating_sub(count.max(1));
    for i in (stop..begin).rev() {
        f(i as u32);
    }
    stop as u64
}

/// The hash of the member at position `i` (any value for a position past the
/// end, which no entry holds).
fn hash_at(items: &Chunked<InlineBytes>, i: u32) -> u64 {
    items.get(i as usize).map_or(0, |m| member_hash(m))
}

impl DenseSet {
    fn find(&self, m: &[u8]) -> Option<usize> {
        self.find_hashed(member_hash(m), m)
    }

    /// `find` with the member's hash already computed.
    fn find_hashed(&self, h: u64, m: &[u8]) -> Option<usize> {
        let items = &self.items;
        self.table
            .find(h, |i| {
                items.get(i as usize).is_some_and(|x| x.as_slice() == m)
            })
            .map(|i| i as usize)
    }

    fn insert(&mut self, m: &[u8]) -> bool {
        let h = member_hash(m);
        if self.find_hashed(h, m).is_some() {
            return false;
        }
        let idx = self.items.len() as u32;
        self.items.push(InlineBytes::new(m));
        let items = &self.items;
        self.table
            .insert(h, idx, items.len(), |i| hash_at(items, i));
        true
    }

    fn remove_at(&mut self, idx: usize) -> Box<[u8]> {
        let items = &self.items;
        let h = member_hash(&items[idx]);
        self.table
            .remove(h, idx as u32, items.len(), |i| hash_at(items, i));
        let last = items.len() - 1;
        if idx != last {
            // The last member moves into the hole: repoint its index entry.
            let hl = member_hash(&items[last]);
            self.table
                .repoint(hl, last as u32, idx as u32, |i| hash_at(items, i));
        }
        let m = self.items.swap_remove(idx);
        // Give memory back after mass deletions, as Redis shrinks its dicts
        // (the index shrinks itself, incrementally).
        self.items.shrink();
        m.into_box()
    }

    fn remove(&mut self, m: &[u8]) -> bool {
        match self.find(m) {
            Some(i) => {
                self.remove_at(i);
                true
            }
            None => false,
        }
    }
}

/// Members a set keeps in its small form (a plain array, searched linearly)
/// before it gets a hash index. OBJECT ENCODING says `hashtable` for both, as
/// Redis 7.0 has no compact form for sets of strings. Measured: 8 short
/// members took 584 bytes a key with the index, 527 in Redis.
const SMALL_MAX: usize = 16;

/// The members of a small set (see [`Set::Small`]).
#[derive(Debug, Clone)]
pub struct SmallMembers(pub(crate) Vec<InlineBytes>);

#[derive(Debug, Clone)]
pub enum Set {
    /// Sorted, distinct integers at the narrowest width.
    Int(IntSet),
    /// Up to `SMALL_MAX` members in insertion order (a removal moves the last
    /// one into its place, as in the indexed form).
    Small(SmallMembers),
    /// Boxed so a `Set` (and so every keyspace `Value`) stays two words.
    Hash(Box<DenseSet>),
}

impl Default for Set {
    fn default() -> Self {
        Set::Int(IntSet::default())
    }
}

impl Set {
    /// An empty set (intset-encoded until a non-integer arrives), as Redis's
    /// `createIntsetObject` for SINTERSTORE/SUNIONSTORE/SDIFFSTORE results.
    pub fn new() -> Self {
        Set::default()
    }

    /// An empty set that will hold `first`: `intset` if it is an integer.
    pub fn for_member(first: &[u8]) -> Self {
        if parse_i64(first).is_some() {
            Set::Int(IntSet::default())
        } else {
            Set::Small(SmallMembers(Vec::new()))
        }
    }

    /// Builds a set from members (RDB loading, tests), choosing the encoding as
    /// SADD would.
    pub fn from_members<'a>(
        members: impl IntoIterator<Item = &'a [u8]>,
        cfg: &StoreConfig,
    ) -> Self {
        let mut s = Set::new();
        for m in members {
            s.insert(m, cfg);
        }
        s
    }

    pub fn encoding(&self, _cfg: &StoreConfig) -> &'static str {
        match self {
            Set::Int(_) => "intset",
            Set::Small(_) | Set::Hash(_) => "hashtable",
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Set::Int(v) => v.len(),
            Set::Small(SmallMembers(v)) => v.len(),
            Set::Hash(d) => d.items.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, m: &[u8]) -> bool {
        match self {
            Set::Int(v) => parse_i64(m).is_some_and(|i| v.contains(i)),
            Set::Small(SmallMembers(v)) => v.iter().any(|x| x.as_slice() == m),
            Set::Hash(d) => d.find(m).is_some(),
        }
    }

    /// Leaves the intset form: for the small array while the members fit it,
    /// else for the indexed form.
    fn convert_to_hashtable(&mut self) {
        if let Set::Int(v) = self {
            let mut b = itoa::Buffer::new();
            let members = v.iter().map(|i| InlineBytes::new(b.format(i).as_bytes()));
            if v.len() < SMALL_MAX {
                let mut small = Vec::with_capacity(v.len() + 1);
                small.extend(members);
                *self = Set::Small(SmallMembers(small));
            } else {
                let mut d = DenseSet::default();
                for m in members {
                    d.insert(m.as_slice());
                }
                *self = Set::Hash(Box::new(d));
            }
        }
    }

    /// Gives the small array an index, keeping the order.
    fn index_small(&mut self) {
        if let Set::Small(SmallMembers(v)) = self {
            let mut d = DenseSet::default();
            for m in v.iter() {
                d.insert(m.as_slice());
            }
            *self = Set::Hash(Box::new(d));
        }
    }

    /// Adds `m`; returns whether it was new. Converts to `hashtable` when `m` is not
    /// an integer or the intset would exceed `set-max-intset-entries`.
    pub fn insert(&mut self, m: &[u8], cfg: &StoreConfig) -> bool {
        if let Set::Int(v) = self {
            match parse_i64(m) {
                Some(i) => {
                    if !v.insert(i) {
                        return false;
                    }
                    if v.len() > cfg.set_max_intset_entries {
                        self.convert_to_hashtable();
                    }
                    return true;
                }
                None => self.convert_to_hashtable(),
            }
        }
        if let Set::Small(SmallMembers(v)) = self {
            if v.iter().any(|x| x.as_slice() == m) {
                return false;
            }
            if v.len() < SMALL_MAX {
                // Grown by one: most small sets never reach the limit.
                crate::types::reserve_small(v, 1);
                v.push(InlineBytes::new(m));
                return true;
            }
            self.index_small();
        }
        match self {
            Set::Hash(d) => d.insert(m),
            Set::Int(_) | Set::Small(_) => false,
        }
    }

    /// Removes `m`; returns whether it was there.
    pub fn remove(&mut self, m: &[u8]) -> bool {
        match self {
            Set::Int(v) => parse_i64(m).is_some_and(|i| v.remove(i)),
            Set::Small(SmallMembers(v)) => match v.iter().position(|x| x.as_slice() == m) {
                Some(i) => {
                    v.swap_remove(i);
                    true
                }
                None => false,
            },
            Set::Hash(d) => d.remove(m),
        }
    }

    /// The member at position `i` (< len) of the internal order.
    pub fn get(&self, i: usize) -> Elem<'_> {
        match self {
            Set::Int(v) => Elem::Int(v.get(i)),
            Set::Small(SmallMembers(v)) => Elem::Raw(&v[i]),
            Set::Hash(d) => Elem::Raw(&d.items[i]),
        }
    }

    /// A uniformly random member, or None if empty.
    pub fn random(&self) -> Option<Elem<'_>> {
        if self.is_empty() {
            return None;
        }
        Some(self.get(rand::random_range(0..self.len())))
    }

    /// Removes and returns a uniformly random member.
    pub fn pop_random(&mut self) -> Option<Vec<u8>> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        let i = rand::random_range(0..n);
        Some(match self {
            Set::Int(v) => {
                let x = v.remove_at(i);
                itoa::Buffer::new().format(x).as_bytes().to_vec()
            }
            Set::Small(SmallMembers(v)) => v.swap_remove(i).into_box().into_vec(),
            Set::Hash(d) => d.remove_at(i).into_vec(),
        })
    }

    /// Every member, in the internal order (intsets ascending).
    pub fn iter(&self) -> impl Iterator<Item = Elem<'_>> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }

    /// Every member as owned bytes.
    pub fn members(&self) -> Vec<Vec<u8>> {
        self.iter().map(|e| e.to_vec()).collect()
    }

    /// One SSCAN step: visits members from `cursor` and returns the next cursor
    /// (0 = done). Intsets are returned whole, as Redis does for compact encodings.
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(Elem<'_>)) -> u64 {
        match self {
            Set::Int(v) => {
                for i in v.iter() {
                    f(Elem::Int(i));
                }
                0
            }
            Set::Small(SmallMembers(v)) => {
                position_scan(v.len(), cursor, count, |i| f(Elem::Raw(&v[i as usize])))
            }
            Set::Hash(d) => {
                let items = &d.items;
                position_scan(items.len(), cursor, count, |i| {
                    f(Elem::Raw(&items[i as usize]))
                })
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intset_converts_on_string_and_size() {
        let cfg = StoreConfig {
            set_max_intset_entries: 3,
            ..StoreConfig::default()
        };
        let mut s = Set::new();
        for m in [&b"3"[..], b"1", b"2"] {
            assert!(s.insert(m, &cfg));
        }
        assert!(!s.insert(b"2", &cfg));
        assert_eq!(s.encoding(&cfg), "intset");
        assert_eq!(
            s.members(),
            vec![b"1".to_vec(), b"2".to_vec(), b"3".to_vec()]
        );
        assert!(s.insert(b"4", &cfg));
        assert_eq!(s.encoding(&cfg), "hashtable");
        let mut t = Set::new();
        t.insert(b"1", &cfg);
        t.insert(b"01", &cfg);
        assert_eq!(t.encoding(&cfg), "hashtable");
        assert!(t.contains(b"01") && t.contains(b"1"));
    }

    #[test]
    fn small_footprint() {
        // Every keyspace Value embeds a Set: keep it small.
        assert!(std::mem::size_of::<Set>() <= 32);
    }

    #[test]
    fn dense_remove_keeps_index() {
        let cfg = StoreConfig::default();
        let mut s = Set::for_member(b"a");
        for i in 0..100 {
            s.insert(format!("m{i}").as_bytes(), &cfg);
        }
        for i in (0..100).step_by(3) {
            assert!(s.remove(format!("m{i}").as_bytes()));
        }
        for i in 0..100 {
            assert_eq!(s.contains(format!("m{i}").as_bytes()), i % 3 != 0);
        }
        assert_eq!(s.len(), 66);
        // Shrinking keeps every member reachable.
        for i in (0..100).filter(|i| i % 3 != 0 && i % 10 != 1) {
            assert!(s.remove(format!("m{i}").as_bytes()));
        }
        for i in 0..100 {
            let want = i % 3 != 0 && i % 10 == 1;
            assert_eq!(s.contains(format!("m{i}").as_bytes()), want, "{i}");
        }
    }

    proptest::proptest! {
        /// Across the intset, the small array and the indexed form (and the
        /// conversions between them), the set holds what a model holds, in
        /// the same internal order whichever form it is in (insertion order,
        /// a removal moving the last member into the hole), and a scan in
        /// small steps returns everything.
        #[test]
        fn matches_a_model(
            ops in proptest::collection::vec((0u8..40, 0u8..3), 0..300),
        ) {
            let cfg = StoreConfig { set_max_intset_entries: 8, ..StoreConfig::default() };
            let mut s = Set::new();
            let mut model: Vec<Vec<u8>> = Vec::new();
            for (m, op) in ops {
                // Even numbers are integers (intset), odd ones strings.
                let member = if m % 2 == 0 { m.to_string().into_bytes() } else { vec![b'x', m] };
                let was_int = matches!(s, Set::Int(_));
                if op == 0 {
                    let had = model.iter().position(|x| *x == member);
                    if let Some(i) = had {
                        model.swap_remove(i);
                    }
                    proptest::prop_assert_eq!(s.remove(&member), had.is_some());
                } else {
                    let new = !model.contains(&member);
                    if new {
                        model.push(member.clone());
                    }
                    proptest::prop_assert_eq!(s.insert(&member, &cfg), new);
                }
                if was_int && !matches!(s, Set::Int(_)) {
                    // Leaving the intset renumbers: the model takes its order.
                    model = s.members();
                }
                proptest::prop_assert_eq!(s.len(), model.len());
                if !matches!(s, Set::Int(_)) {
                    proptest::prop_assert_eq!(s.members(), model.clone());
                }
            }
            for m in &model {
                proptest::prop_assert!(s.contains(m));
            }
            let mut seen = Vec::new();
            let mut cursor = 0;
            loop {
                cursor = s.scan(cursor, 3, |e| seen.push(e.to_vec()));
                if cursor == 0 {
                    break;
                }
            }
            seen.sort();
            model.sort();
            proptest::prop_assert_eq!(seen, model);
        }
    }

    #[test]
    fn scan_returns_every_stable_member() {
        let cfg = StoreConfig::default();
        let mut s = Set::for_member(b"x");
        for i in 0..1000 {
            s.insert(format!("k{i}").as_bytes(), &cfg);
        }
        let mut seen = std::collections::HashSet::new();
        let mut cursor = 0;
        let mut step = 0;
        loop {
            let mut got = Vec::new();
            cursor = s.scan(cursor, 10, |e| got.push(e.to_vec()));
            seen.extend(got);
            // Churn: add and remove other members during the scan.
            s.insert(format!("new{step}").as_bytes(), &cfg);
            s.remove(format!("new{}", step / 2).as_bytes());
            step += 1;
            if cursor == 0 {
                break;
            }
        }
        for i in 0..1000 {
            assert!(seen.contains(format!("k{i}").as_bytes()));
        }
    }
}
