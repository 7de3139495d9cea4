//! Sorted set values.
//!
//! One arena of nodes (`Vec<Node>`, addressed by `u32`) is shared by two indexes,
//! so each member is stored once:
//! - a `HashTable<u32>` keyed by member bytes (ZSCORE, ZADD lookups), and
//! - an order-statistic treap ordered by `(score, member bytes)`, each node keeping
//!   its subtree size, giving O(log n) insert, delete, rank, select-by-rank and
//!   rank-of-boundary (score/lex ranges). Priorities come from the member hash, so
//!   no RNG is needed and the shape is deterministic.
//!
//! Scores are never NaN (commands refuse them) and compare with `<`/`==` like Redis,
//! so `-0` and `0` tie and fall back to the member order.
//!
//! OBJECT ENCODING reports `listpack` while the set is within
//! `zset-max-listpack-entries`/`-value`, then `skiplist` for good (Redis never
//! converts back in place). The representation itself is the same.

use std::cmp::Ordering;

use hashbrown::HashTable;

use crate::keyspace::StoreConfig;
use crate::types::set::member_hash;

const NIL: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Node {
    member: Box<[u8]>,
    score: f64,
    left: u32,
    right: u32,
    size: u32,
    prio: u32,
}

#[derive(Debug, Clone)]
pub struct ZSet {
    nodes: Vec<Node>,
    free: Vec<u32>,
    root: u32,
    table: HashTable<u32>,
    /// Past the listpack thresholds once (reported as `skiplist` from then on).
    big: bool,
}

impl Default for ZSet {
    fn default() -> Self {
        ZSet {
            nodes: Vec::new(),
            free: Vec::new(),
            root: NIL,
            table: HashTable::new(),
            big: false,
        }
    }
}

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

impl ZSet {
    pub fn new() -> Self {
        Self::default()
    }

    /// Builds a sorted set from (member, score) pairs (RDB loading); a later pair
    /// for the same member wins. Scores must not be NaN.
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
        if self.big {
            "skiplist"
        } else {
            "listpack"
        }
    }

    pub fn len(&self) -> usize {
        self.size(self.root)
    }

    pub fn is_empty(&self) -> bool {
        self.root == NIL
    }

    #[inline]
    fn size(&self, t: u32) -> usize {
        if t == NIL {
            0
        } else {
            self.nodes[t as usize].size as usize
        }
    }

    #[inline]
    fn update(&mut self, t: u32) {
        let n = &self.nodes[t as usize];
        let s = 1 + self.size(n.left) + self.size(n.right);
        self.nodes[t as usize].size = s as u32;
    }

    fn find(&self, m: &[u8]) -> Option<u32> {
        let nodes = &self.nodes;
        self.table
            .find(member_hash(m), |&i| &*nodes[i as usize].member == m)
            .copied()
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.find(m).map(|i| self.nodes[i as usize].score)
    }

    /// True if the node sorts before `(s, m)`.
    #[inline]
    fn less(&self, t: u32, s: f64, m: &[u8], me: u32) -> bool {
        if t == me {
            // The node being detached (its member is moved out meanwhile) equals
            // the key.
            return false;
        }
        let n = &self.nodes[t as usize];
        key_cmp(n.score, &n.member, s, m) == Ordering::Less
    }

    /// Splits `t` into (nodes < key, nodes >= key); node `me` counts as the key.
    fn split(&mut self, t: u32, s: f64, m: &[u8], me: u32) -> (u32, u32) {
        if t == NIL {
            return (NIL, NIL);
        }
        if self.less(t, s, m, me) {
            let r = self.nodes[t as usize].right;
            let (a, b) = self.split(r, s, m, me);
            self.nodes[t as usize].right = a;
            self.update(t);
            (t, b)
        } else {
            let l = self.nodes[t as usize].left;
            let (a, b) = self.split(l, s, m, me);
            self.nodes[t as usize].left = b;
            self.update(t);
            (a, t)
        }
    }

    /// Joins two treaps where every key of `a` sorts before every key of `b`.
    fn merge(&mut self, a: u32, b: u32) -> u32 {
        if a == NIL {
            return b;
        }
        if b == NIL {
            return a;
        }
        if self.nodes[a as usize].prio > self.nodes[b as usize].prio {
            let r = self.nodes[a as usize].right;
            let x = self.merge(r, b);
            self.nodes[a as usize].right = x;
            self.update(a);
            a
        } else {
            let l = self.nodes[b as usize].left;
            let x = self.merge(a, l);
            self.nodes[b as usize].left = x;
            self.update(b);
            b
        }
    }

    fn remove_min(&mut self, t: u32) -> u32 {
        let l = self.nodes[t as usize].left;
        if l == NIL {
            return self.nodes[t as usize].right;
        }
        let x = self.remove_min(l);
        self.nodes[t as usize].left = x;
        self.update(t);
        t
    }

    /// Links node `x` (not in the tree) into the treap.
    fn attach(&mut self, x: u32) {
        let (s, m) = {
            let n = &mut self.nodes[x as usize];
            n.left = NIL;
            n.right = NIL;
            n.size = 1;
            (n.score, std::mem::take(&mut n.member))
        };
        let (a, b) = self.split(self.root, s, &m, x);
        self.nodes[x as usize].member = m;
        let ax = self.merge(a, x);
        self.root = self.merge(ax, b);
    }

    /// Unlinks node `x` from the treap (it stays in the arena and the table).
    fn detach(&mut self, x: u32) {
        let (s, m) = {
            let n = &mut self.nodes[x as usize];
            (n.score, std::mem::take(&mut n.member))
        };
        let (a, b) = self.split(self.root, s, &m, x);
        self.nodes[x as usize].member = m;
        // `x` is the minimum of `b`.
        let b2 = if b == NIL { NIL } else { self.remove_min(b) };
        self.root = self.merge(a, b2);
    }

    /// Inserts `m` with `score`, or moves an existing member to `score`.
    pub fn add(&mut self, m: &[u8], score: f64, cfg: &StoreConfig) -> AddOutcome {
        // Redis's listpack stores -0 as "0"; normalise so ZSCORE agrees.
        let score = if score == 0.0 { 0.0 } else { score };
        if let Some(x) = self.find(m) {
            let old = self.nodes[x as usize].score;
            if old == score {
                // Redis compares with `!=`, so -0 and 0 count as unchanged.
                return AddOutcome::Unchanged;
            }
            self.detach(x);
            self.nodes[x as usize].score = score;
            self.attach(x);
            return AddOutcome::Updated;
        }
        let h = member_hash(m);
        let node = Node {
            member: m.into(),
            score,
            left: NIL,
            right: NIL,
            size: 1,
            prio: (h >> 32) as u32 ^ (h as u32),
        };
        let x = match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                self.nodes.push(node);
                (self.nodes.len() - 1) as u32
            }
        };
        let nodes = &self.nodes;
        self.table
            .insert_unique(h, x, |&i| member_hash(&nodes[i as usize].member));
        self.attach(x);
        if !self.big
            && (self.len() > cfg.zset_max_listpack_entries || m.len() > cfg.zset_max_listpack_value)
        {
            self.big = true;
        }
        AddOutcome::Added
    }

    /// Removes `m`; returns its score if it was there.
    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let x = self.find(m)?;
        self.detach(x);
        if let Ok(e) = self.table.find_entry(member_hash(m), |&i| i == x) {
            e.remove();
        }
        let n = &mut self.nodes[x as usize];
        n.member = Box::default();
        let s = n.score;
        self.free.push(x);
        if self.root == NIL {
            // Empty: drop the arena entirely.
            self.nodes.clear();
            self.free.clear();
        }
        Some(s)
    }

    /// 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        let x = self.find(m)?;
        let (s, mm) = {
            let n = &self.nodes[x as usize];
            (n.score, &n.member)
        };
        Some(self.count_before(|n_s, n_m| key_cmp(n_s, n_m, s, mm) == Ordering::Less))
    }

    /// How many elements satisfy `before(score, member)`, a predicate that is true
    /// for a prefix of the order (e.g. "score < min").
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        let mut t = self.root;
        let mut c = 0;
        while t != NIL {
            let n = &self.nodes[t as usize];
            if before(n.score, &n.member) {
                c += self.size(n.left) + 1;
                t = n.right;
            } else {
                t = n.left;
            }
        }
        c
    }

    /// The element at rank `k` (< len).
    pub fn select(&self, mut k: usize) -> Option<(&[u8], f64)> {
        let mut t = self.root;
        while t != NIL {
            let n = &self.nodes[t as usize];
            let ls = self.size(n.left);
            match k.cmp(&ls) {
                Ordering::Less => t = n.left,
                Ordering::Equal => return Some((&n.member, n.score)),
                Ordering::Greater => {
                    k -= ls + 1;
                    t = n.right;
                }
            }
        }
        None
    }

    /// Iterates ascending from rank `k`, or (`rev`) descending from rank `k`
    /// counted in ascending order.
    pub fn iter_from(&self, mut k: usize, rev: bool) -> ZIter<'_> {
        let mut stack = Vec::new();
        let mut t = self.root;
        while t != NIL {
            let n = &self.nodes[t as usize];
            let ls = self.size(n.left);
            match k.cmp(&ls) {
                Ordering::Less => {
                    if !rev {
                        stack.push(t);
                    }
                    t = n.left;
                }
                Ordering::Equal => {
                    stack.push(t);
                    break;
                }
                Ordering::Greater => {
                    if rev {
                        stack.push(t);
                    }
                    k -= ls + 1;
                    t = n.right;
                }
            }
        }
        ZIter {
            z: self,
            stack,
            rev,
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

    /// One ZSCAN step (same hash-ordered cursor as SSCAN). Listpack-sized sets are
    /// returned whole in one call, as Redis does.
    pub fn scan(&self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        if !self.big {
            for (m, s) in self.iter() {
                f(m, s);
            }
            return 0;
        }
        let mut cand: Vec<(u64, u32)> = self
            .table
            .iter()
            .map(|&i| (member_hash(&self.nodes[i as usize].member), i))
            .filter(|&(h, _)| h >= cursor)
            .collect();
        let count = count.max(1);
        let mut next = 0;
        if cand.len() > count {
            cand.select_nth_unstable(count - 1);
            let bound = cand[count - 1].0;
            cand.retain(|&(h, _)| h <= bound);
            next = bound.wrapping_add(1);
        }
        for &(_, i) in &cand {
            let n = &self.nodes[i as usize];
            f(&n.member, n.score);
        }
        next
    }
}

/// In-order iterator over a [`ZSet`] (explicit stack, O(1) amortised per step).
pub struct ZIter<'a> {
    z: &'a ZSet,
    stack: Vec<u32>,
    rev: bool,
}

impl<'a> Iterator for ZIter<'a> {
    type Item = (&'a [u8], f64);
    fn next(&mut self) -> Option<Self::Item> {
        let x = self.stack.pop()?;
        let n = &self.z.nodes[x as usize];
        let mut t = if self.rev { n.left } else { n.right };
        while t != NIL {
            self.stack.push(t);
            let c = &self.z.nodes[t as usize];
            t = if self.rev { c.right } else { c.left };
        }
        Some((&n.member, n.score))
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

    fn model_sorted(m: &[(Vec<u8>, f64)]) -> Vec<(Vec<u8>, f64)> {
        let mut v = m.to_vec();
        v.sort_by(|a, b| key_cmp(a.1, &a.0, b.1, &b.0));
        v
    }

    proptest! {
        #[test]
        fn treap_matches_sorted_vec(ops in proptest::collection::vec(op(), 0..300)) {
            let cfg = StoreConfig::default();
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
        let v: Vec<_> = z.iter().collect();
        for w in v.windows(2) {
            assert_eq!(key_cmp(w[0].1, w[0].0, w[1].1, w[1].0), Ordering::Less);
        }
    }
}
