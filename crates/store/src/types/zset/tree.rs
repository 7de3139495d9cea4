//! The order-statistic treap behind large sorted sets: one arena of nodes
//! (`Chunked<Node>`, addressed by `u32`: growing it never copies it) shared by an index of ids keyed by member
//! bytes that resizes incrementally (`types/index.rs`), and a treap ordered by `(score, member)` whose nodes keep subtree sizes.
//! Insert, delete, rank, select-by-rank and rank-of-boundary are O(log n).
//! Priorities come from the member hash, so no RNG is needed.

use std::cmp::Ordering;

use super::{key_cmp, AddOutcome};
use crate::types::chunked::Chunked;
use crate::types::index::IdIndex;
use crate::types::set::{hash_scan, member_hash, ScanCache};

const NIL: u32 = u32::MAX;

/// The hash of node `i`'s member (any value for an id past the arena, which no
/// index entry holds; a freed node's empty member is in no entry either).
fn hash_at(nodes: &Chunked<Node>, i: u32) -> u64 {
    nodes.get(i as usize).map_or(0, |n| member_hash(&n.member))
}

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
pub(crate) struct Tree {
    nodes: Chunked<Node>,
    free: Vec<u32>,
    root: u32,
    table: IdIndex,
    /// ZSCAN's hash-sorted view of node ids; dropped when membership changes.
    scan_cache: ScanCache,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: Chunked::default(),
            free: Vec::new(),
            root: NIL,
            table: IdIndex::default(),
            scan_cache: None,
        }
    }
}

impl Tree {
    pub fn len(&self) -> usize {
        self.size(self.root)
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
        self.table.find(member_hash(m), |i| {
            nodes.get(i as usize).is_some_and(|n| *n.member == *m)
        })
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

    /// Links node `x` (not in the tree) into the treap: one descent to where its
    /// priority belongs, then a split of the subtree there.
    fn attach(&mut self, x: u32) {
        let (s, m) = {
            let n = &mut self.nodes[x as usize];
            n.left = NIL;
            n.right = NIL;
            n.size = 1;
            (n.score, std::mem::take(&mut n.member))
        };
        self.root = self.insert_rec(self.root, x, s, &m);
        self.nodes[x as usize].member = m;
    }

    fn insert_rec(&mut self, t: u32, x: u32, s: f64, m: &[u8]) -> u32 {
        if t == NIL {
            return x;
        }
        if self.nodes[x as usize].prio > self.nodes[t as usize].prio {
            let (a, b) = self.split(t, s, m, x);
            let n = &mut self.nodes[x as usize];
            n.left = a;
            n.right = b;
            self.update(x);
            return x;
        }
        if self.less(t, s, m, x) {
            let r = self.nodes[t as usize].right;
            let c = self.insert_rec(r, x, s, m);
            self.nodes[t as usize].right = c;
        } else {
            let l = self.nodes[t as usize].left;
            let c = self.insert_rec(l, x, s, m);
            self.nodes[t as usize].left = c;
        }
        self.nodes[t as usize].size += 1;
        t
    }

    /// Unlinks node `x` from the treap (it stays in the arena and the table):
    /// one descent to it, then its children are merged in its place.
    fn detach(&mut self, x: u32) {
        let (s, m) = {
            let n = &mut self.nodes[x as usize];
            (n.score, std::mem::take(&mut n.member))
        };
        self.root = self.delete_rec(self.root, x, s, &m);
        self.nodes[x as usize].member = m;
    }

    fn delete_rec(&mut self, t: u32, x: u32, s: f64, m: &[u8]) -> u32 {
        if t == NIL {
            return NIL;
        }
        if t == x {
            let n = &self.nodes[x as usize];
            let (l, r) = (n.left, n.right);
            return self.merge(l, r);
        }
        if self.less(t, s, m, x) {
            let r = self.nodes[t as usize].right;
            let c = self.delete_rec(r, x, s, m);
            self.nodes[t as usize].right = c;
        } else {
            let l = self.nodes[t as usize].left;
            let c = self.delete_rec(l, x, s, m);
            self.nodes[t as usize].left = c;
        }
        self.update(t);
        t
    }

    /// Inserts `m` with `score`, or moves an existing member to `score`.
    pub fn add(&mut self, m: &[u8], score: f64) -> AddOutcome {
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
        self.scan_cache = None;
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
        self.table.insert(h, x, nodes.len(), |i| hash_at(nodes, i));
        self.attach(x);
        AddOutcome::Added
    }

    /// Removes `m`; returns its score if it was there.
    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let x = self.find(m)?;
        self.scan_cache = None;
        self.detach(x);
        let nodes = &self.nodes;
        self.table
            .remove(member_hash(m), x, nodes.len(), |i| hash_at(nodes, i));
        let n = &mut self.nodes[x as usize];
        n.member = Box::default();
        let s = n.score;
        self.free.push(x);
        if self.root == NIL {
            // Empty: drop the arena entirely.
            self.nodes.clear();
            self.free.clear();
        } else if self.free.len() > 1024 && self.free.len() * 2 > self.nodes.len() {
            // Mostly holes: rebuild compactly (amortised O(log n) per removal) so
            // a set that shrank gives its memory back, as Redis frees nodes.
            let mut t = Tree::default();
            for (m, s) in self.iter_from(0, false) {
                t.add(m, s);
            }
            *self = t;
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
    pub fn iter_from(&self, mut k: usize, rev: bool) -> TreeIter<'_> {
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
        TreeIter {
            z: self,
            stack,
            rev,
        }
    }

    /// One ZSCAN step with the hash-ordered cursor of SSCAN: returns every member
    /// whose hash is in `[cursor, next)`, so members present for the whole scan
    /// are returned whatever else changes.
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let Tree {
            nodes,
            table,
            scan_cache,
            ..
        } = self;
        let nodes: &Chunked<Node> = nodes;
        hash_scan(
            scan_cache,
            || {
                table
                    .ids()
                    .map(|i| (member_hash(&nodes[i as usize].member), i))
                    .collect()
            },
            cursor,
            count,
            |i| {
                let n = &nodes[i as usize];
                f(&n.member, n.score);
            },
        )
    }
}

/// In-order iterator over a [`Tree`] (explicit stack, O(1) amortised per step).
pub struct TreeIter<'a> {
    z: &'a Tree,
    stack: Vec<u32>,
    rev: bool,
}

impl<'a> Iterator for TreeIter<'a> {
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
