//! Sorted set values, in Redis 7.0's two encodings:
//!
//! - `listpack`: one sorted byte buffer (`zset/packed.rs`) while the set has at
//!   most `zset-max-listpack-entries` members of at most
//!   `zset-max-listpack-value` bytes. Walks are linear, as in Redis's listpack;
//!   each member costs its bytes plus ~9.
//! - `skiplist`: an order-statistic B+tree over `(score, member id)` plus a
//!   member hash table, both referring to one member arena (see
//!   `zset/tree.rs`), each member stored once; O(log n) insert, delete, rank
//!   and range, a few nodes deep. A set never converts back, as in Redis.
//!
//! Scores are never NaN (commands refuse them) and compare with `<`/`==` like
//! Redis, so `-0` and `0` tie and fall back to the member order. A small set
//! stores `-0` as `0`, as Redis's listpack does; a big one keeps `-0`, as its
//! skiplist does (ZSCORE replies "-0").

use std::cmp::Ordering;

use crate::keyspace::StoreConfig;

mod packed;
mod tree;

use packed::{Packed, PackedIter};
use tree::{Tree, TreeIter};

/// Redis's score order: numeric (with `-0 == 0`), then member bytes.
#[inline]
fn key_cmp(s1: f64, m1: &[u8], s2: f64, m2: &[u8]) -> Ordering {
    match s1.partial_cmp(&s2) {
        Some(Ordering::Equal) | None => m1.cmp(m2),
        Some(o) => o,
    }
}

/// Result of [`ZSet::add`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddOutcome {
    Added,
    Updated,
    Unchanged,
}

#[derive(Debug, Clone)]
enum Repr {
    Small(Packed),
    /// Boxed so a small sorted set costs one `Vec` plus a tag.
    Big(Box<Tree>),
}

#[derive(Debug, Clone)]
pub struct ZSet {
    repr: Repr,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            repr: Repr::Small(Packed::default()),
        }
    }
}

impl ZSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a sorted set from (member, score) pairs (RDB loading); a later pair
    /// for the same member wins. NaN scores are skipped.
    pub fn from_pairs<'a>(
        pairs: impl IntoIterator<Item = (&'a [u8], f64)>,
        cfg: &StoreConfig,
    ) -> Self {
        let mut z = ZSet::new();
        for (m, s) in pairs {
            if !s.is_nan() {
                z.add(m, s, cfg);
            }
        }
        z
    }

    pub fn encoding(&self, _cfg: &StoreConfig) -> &'static str {
        match self.repr {
            Repr::Small(_) => "listpack",
            Repr::Big(_) => "skiplist",
        }
    }

    /// Whether the compact (listpack) encoding is in use.
    pub fn is_listpack(&self) -> bool {
        matches!(self.repr, Repr::Small(_))
    }

    pub fn len(&self) -> usize {
        match &self.repr {
            Repr::Small(p) => p.len(),
            Repr::Big(t) => t.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        match &self.repr {
            Repr::Small(p) => p.score(m),
            Repr::Big(t) => t.score(m),
        }
    }

    /// Inserts `m` with `score`, or moves an existing member to `score`.
    pub fn add(&mut self, m: &[u8], score: f64, cfg: &StoreConfig) -> AddOutcome {
        let p = match &mut self.repr {
            Repr::Big(t) => return t.add(m, score),
            Repr::Small(p) => p,
        };
        // Redis's listpack stores -0 as "0" (its skiplist keeps -0).
        let score = if score == 0.0 { 0.0 } else { score };
        let out = p.add(m, score);
        if out == AddOutcome::Added
            && (p.len() > cfg.zset_max_listpack_entries || m.len() > cfg.zset_max_listpack_value)
        {
            self.to_skiplist();
        }
        out
    }

    /// Leaves the listpack encoding for good (Redis's `zsetConvert` to a
    /// skiplist, which SORT also does).
    pub fn to_skiplist(&mut self) {
        if let Repr::Small(p) = &self.repr {
            let mut t = Tree::default();
            for (mm, s) in p.iter() {
                t.add(mm, s);
            }
            self.repr = Repr::Big(Box::new(t));
        }
    }

    /// Removes `m`; returns its score if it was there.
    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        match &mut self.repr {
            Repr::Small(p) => p.remove(m),
            Repr::Big(t) => t.remove(m),
        }
    }

    /// 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        match &self.repr {
            Repr::Small(p) => p.rank(m),
            Repr::Big(t) => t.rank(m),
        }
    }

    /// How many elements satisfy `before(score, member)`, a predicate that is true
    /// for a prefix of the order (e.g. "score < min").
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        match &self.repr {
            Repr::Small(p) => p.count_before(before),
            Repr::Big(t) => t.count_before(before),
        }
    }

    /// The element at rank `k`.
    pub fn select(&self, k: usize) -> Option<(&[u8], f64)> {
        match &self.repr {
            Repr::Small(p) => p.select(k),
            Repr::Big(t) => t.select(k),
        }
    }

    /// Iterates ascending from rank `k`, or (`rev`) descending from rank `k`
    /// counted in ascending order.
    pub fn iter_from(&self, k: usize, rev: bool) -> ZIter<'_> {
        match &self.repr {
            Repr::Small(p) if rev => ZIter(Inner::List(p.range_from(k, true).into_iter())),
            Repr::Small(p) => {
                let mut it = p.iter();
                for _ in 0..k {
                    if it.next().is_none() {
                        break;
                    }
                }
                ZIter(Inner::Walk(it))
            }
            Repr::Big(t) => ZIter(Inner::Big(t.iter_from(k, rev))),
        }
    }

    /// Every element in ascending order.
    pub fn iter(&self) -> ZIter<'_> {
        self.iter_from(0, false)
    }

    /// A uniformly random element.
    pub fn random(&self) -> Option<(&[u8], f64)> {
        let n = self.len();
        if n == 0 {
            return None;
        }
        self.select(rand::random_range(0..n))
    }

    /// One ZSCAN step (positional cursor, see `types/set.rs`). Listpack sets are
    /// returned whole in one call, as Redis does.
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        match &mut self.repr {
            Repr::Small(p) => {
                for (m, s) in p.iter() {
                    f(m, s);
                }
                0
            }
            Repr::Big(t) => t.scan(cursor, count, f),
        }
    }
}

/// In-order iterator over a [`ZSet`].
pub struct ZIter<'a>(Inner<'a>);

enum Inner<'a> {
    /// Forward walk over a listpack-encoded set.
    Walk(PackedIter<'a>),
    /// A materialised (short) run, for reverse walks over a listpack.
    List(std::vec::IntoIter<(&'a [u8], f64)>),
    Big(TreeIter<'a>),
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);
    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            Inner::Walk(it) => it.next(),
            Inner::List(it) => it.next(),
            Inner::Big(it) => it.next(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Add(u8, i8),
        Rem(u8),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            (0u8..40, -5i8..5).prop_map(|(m, s)| Op::Add(m, s)),
            (0u8..40).prop_map(Op::Rem),
        ]
    }

    /// Integer scores are stored compactly in the small form: every kind of
    /// score reads back exactly, in order (-0 as 0, as Redis's listpack).
    #[test]
    fn small_form_keeps_every_score() {
        let cfg = StoreConfig::default();
        let scores = [
            0.0,
            -0.0,
            1.0,
            -1.0,
            63.0,
            -64.0,
            1.5,
            -2.25,
            1e300,
            9_007_199_254_740_992.0,
            -9_007_199_254_740_992.0,
            18_014_398_509_481_984.0,
            1.7e9,
            f64::INFINITY,
            f64::NEG_INFINITY,
            0.1,
        ];
        let mut z = ZSet::new();
        for (i, s) in scores.iter().enumerate() {
            z.add(format!("m{i}").as_bytes(), *s, &cfg);
        }
        assert_eq!(z.encoding(&cfg), "listpack");
        for (i, s) in scores.iter().enumerate() {
            let got = z.score(format!("m{i}").as_bytes()).expect("member");
            assert_eq!(got, *s, "m{i}");
            assert!(!(got == 0.0 && got.is_sign_negative()), "-0 stored as 0");
        }
        let order: Vec<f64> = z.iter().map(|(_, s)| s).collect();
        let mut want = scores.to_vec();
        want.sort_by(|a, b| a.partial_cmp(b).expect("no NaN"));
        assert_eq!(order, want);
    }

    fn model_sorted(m: &[(Vec<u8>, f64)]) -> Vec<(Vec<u8>, f64)> {
        let mut v = m.to_vec();
        v.sort_by(|a, b| key_cmp(a.1, &a.0, b.1, &b.0));
        v
    }

    proptest! {
        #[test]
        fn zset_matches_sorted_vec(
            ops in proptest::collection::vec(op(), 0..300),
            lim in prop_oneof![Just(0usize), Just(6), Just(128)],
        ) {
            // lim 0: always the B+tree; 6: converts mid-run; 128: stays listpack.
            let cfg = StoreConfig { zset_max_listpack_entries: lim, ..StoreConfig::default() };
            let mut z = ZSet::new();
            let mut model: Vec<(Vec<u8>, f64)> = Vec::new();
            for o in ops {
                match o {
                    Op::Add(m, s) => {
                        let key = vec![b'm', m];
                        let s = s as f64;
                        let out = z.add(&key, s, &cfg);
                        match model.iter_mut().find(|e| e.0 == key) {
                            Some(e) => {
                                prop_assert_eq!(out, if e.1 == s { AddOutcome::Unchanged } else { AddOutcome::Updated });
                                e.1 = s;
                            }
                            None => {
                                prop_assert_eq!(out, AddOutcome::Added);
                                model.push((key, s));
                            }
                        }
                    }
                    Op::Rem(m) => {
                        let key = vec![b'm', m];
                        let pos = model.iter().position(|e| e.0 == key);
                        let got = z.remove(&key);
                        prop_assert_eq!(got.is_some(), pos.is_some());
                        if let Some(p) = pos { model.remove(p); }
                    }
                }
                if let Repr::Big(t) = &z.repr {
                    t.check();
                }
                let sorted = model_sorted(&model);
                prop_assert_eq!(z.len(), sorted.len());
                let got: Vec<(Vec<u8>, f64)> = z.iter().map(|(m, s)| (m.to_vec(), s)).collect();
                prop_assert_eq!(&got, &sorted);
                for (i, (m, s)) in sorted.iter().enumerate() {
                    prop_assert_eq!(z.rank(m), Some(i));
                    prop_assert_eq!(z.score(m), Some(*s));
                    let sel = z.select(i).map(|(m, s)| (m.to_vec(), s));
                    prop_assert_eq!(sel, Some((m.clone(), *s)));
                }
                if !sorted.is_empty() {
                    let k = sorted.len() / 2;
                    let fwd: Vec<_> = z.iter_from(k, false).map(|(m, _)| m.to_vec()).collect();
                    let exp: Vec<_> = sorted[k..].iter().map(|e| e.0.clone()).collect();
                    prop_assert_eq!(fwd, exp);
                    let rev: Vec<_> = z.iter_from(k, true).map(|(m, _)| m.to_vec()).collect();
                    let exp: Vec<_> = sorted[..=k].iter().rev().map(|e| e.0.clone()).collect();
                    prop_assert_eq!(rev, exp);
                    let c = z.count_before(|s, _| s < 0.0);
                    prop_assert_eq!(c, sorted.iter().filter(|e| e.1 < 0.0).count());
                }
            }
        }
    }

    #[test]
    fn encoding_switches_once() {
        let cfg = StoreConfig {
            zset_max_listpack_entries: 2,
            ..StoreConfig::default()
        };
        let mut z = ZSet::new();
        z.add(b"a", 1.0, &cfg);
        z.add(b"b", 1.0, &cfg);
        assert_eq!(z.encoding(&cfg), "listpack");
        z.add(b"c", 1.0, &cfg);
        assert_eq!(z.encoding(&cfg), "skiplist");
        z.remove(b"c");
        assert_eq!(z.encoding(&cfg), "skiplist");
    }

    #[test]
    fn scan_survives_churn() {
        let cfg = StoreConfig::default();
        let mut z = ZSet::new();
        for i in 0..1000 {
            z.add(format!("k{i}").as_bytes(), i as f64, &cfg);
        }
        let mut seen = std::collections::HashSet::new();
        let (mut cursor, mut step) = (0, 0);
        loop {
            let mut got = Vec::new();
            cursor = z.scan(cursor, 7, |m, _| got.push(m.to_vec()));
            seen.extend(got);
            z.add(format!("new{step}").as_bytes(), 1.0, &cfg);
            z.remove(format!("new{}", step / 2).as_bytes());
            step += 1;
            if cursor == 0 {
                break;
            }
        }
        assert!(step > 100);
        for i in 0..1000 {
            assert!(seen.contains(format!("k{i}").as_bytes()));
        }
    }

    #[test]
    fn packed_long_and_binary_members() {
        let cfg = StoreConfig {
            zset_max_listpack_value: 100_000,
            ..StoreConfig::default()
        };
        let long = vec![b'x'; 300];
        let huge = vec![b'y'; 20_000];
        let mut z = ZSet::new();
        z.add(&long, 2.0, &cfg);
        z.add(b"a\0\r\n", 1.0, &cfg);
        z.add(&huge, -1.0, &cfg);
        assert_eq!(z.encoding(&cfg), "listpack");
        assert_eq!(z.score(&long), Some(2.0));
        assert_eq!(z.rank(&huge), Some(0));
        assert_eq!(z.rank(b"a\0\r\n"), Some(1));
        let rev: Vec<f64> = z.iter_from(2, true).map(|(_, s)| s).collect();
        assert_eq!(rev, vec![2.0, 1.0, -1.0]);
        assert_eq!(z.add(&long, -5.0, &cfg), AddOutcome::Updated);
        assert_eq!(z.select(0).map(|(m, _)| m.len()), Some(300));
        assert_eq!(z.remove(&huge), Some(-1.0));
        assert_eq!(z.len(), 2);
    }

    /// Rough speed check: `cargo test --release -- --ignored zset_speed --nocapture`.
    #[test]
    #[ignore]
    fn zset_speed() {
        let cfg = StoreConfig::default();
        let mut z = ZSet::new();
        let t = std::time::Instant::now();
        for i in 0..1_000_000u64 {
            let h = i.wrapping_mul(0x9E37_79B9_7F4A_7C15);
            z.add(format!("member:{i}").as_bytes(), (h % 1000) as f64, &cfg);
        }
        let add = t.elapsed();
        let t = std::time::Instant::now();
        let mut acc = 0;
        for i in 0..1_000_000u64 {
            acc += z.rank(format!("member:{i}").as_bytes()).unwrap_or(0);
        }
        let rank = t.elapsed();
        let t = std::time::Instant::now();
        for i in 0..1_000_000u64 {
            z.remove(format!("member:{i}").as_bytes());
        }
        println!("add {add:?} rank {rank:?} remove {:?} ({acc})", t.elapsed());
    }

    #[test]
    fn small_footprint() {
        assert!(std::mem::size_of::<ZSet>() <= 32);
    }

    #[test]
    fn big_set_ranks() {
        let cfg = StoreConfig::default();
        let mut z = ZSet::new();
        for i in 0..5000 {
            z.add(format!("m{i}").as_bytes(), (i % 97) as f64, &cfg);
        }
        for i in (0..5000).step_by(2) {
            assert!(z.remove(format!("m{i}").as_bytes()).is_some());
        }
        assert_eq!(z.len(), 2500);
        // Enough removals to trigger a compaction; everything stays reachable.
        for i in (1..5000).step_by(4) {
            assert!(z.remove(format!("m{i}").as_bytes()).is_some());
        }
        assert_eq!(z.len(), 1250);
        for i in (3..5000).step_by(4) {
            assert_eq!(z.score(format!("m{i}").as_bytes()), Some((i % 97) as f64));
        }
        assert_eq!(z.rank(b"m3").map(|r| r < 1250), Some(true));
        let v: Vec<_> = z.iter().collect();
        for w in v.windows(2) {
            assert_eq!(key_cmp(w[0].1, w[0].0, w[1].1, w[1].0), Ordering::Less);
        }
    }
}
