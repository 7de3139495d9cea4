//! The order-statistic treap behind large sorted sets: one arena of nodes
//! (`Chunked<Node>`, addressed by `u32`: growing it never copies it) shared by an index of ids keyed by member
//! bytes that resizes incrementally (`types/index.rs`), and a treap ordered by `(score, member)` whose nodes keep subtree sizes.
//! Insert, delete, rank, select-by-rank and rank-of-boundary are O(log n).
//! Priorities come from the member hash, so no RNG is needed.

use std::cmp::Ordering;

use super::{key_cmp, AddOutcome};
use crate::types::chunked::Chunked;
use crate::types::index::IdIndex;
use crate::types::set::{member_hash, position_scan};

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
    /// Slots of removed nodes (a hole has `size` 0), reused by inserts; ids
    /// past the arena's end are stale and skipped.
    free: Vec<u32>,
    /// Holes in the arena.
    holes: usize,
    root: u32,
    table: IdIndex,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            nodes: Chunked::default(),
            free: Vec::new(),
            holes: 0,
            root: NIL,
            table: IdIndex::default(),
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
    /// Returns `(left, left size, right, right size)`. Each level reads and
    /// writes one node: sizes come back up the recursion instead of being
    /// re-read from the children (a cache miss each on a big set).
    fn split(&mut self, t: u32, s: f64, m: &[u8], me: u32) -> (u32, u32, u32, u32) {
        if t == NIL {
            return (NIL, 0, NIL, 0);
        }
        let (lt, left, right, size) = {
            let n = &self.nodes[t as usize];
            let lt = t != me && key_cmp(n.score, &n.member, s, m) == Ordering::Less;
            (lt, n.left, n.right, n.size)
        };
        if lt {
            let (a, _, b, sb) = self.split(right, s, m, me);
            let n = &mut self.nodes[t as usize];
            n.right = a;
            n.size = size - sb;
            (t, size - sb, b, sb)
        } else {
            let (a, sa, b, _) = self.split(left, s, m, me);
            let n = &mut self.nodes[t as usize];
            n.left = b;
            n.size = size - sa;
            (a, sa, t, size - sa)
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
        let (pa, ra, sa) = {
            let n = &self.nodes[a as usize];
            (n.prio, n.right, n.size)
        };
        let (pb, lb, sb) = {
            let n = &self.nodes[b as usize];
            (n.prio, n.left, n.size)
        };
        if pa > pb {
            let x = self.merge(ra, b);
            let n = &mut self.nodes[a as usize];
            n.right = x;
            n.size = sa + sb;
            a
        } else {
            let x = self.merge(a, lb);
            let n = &mut self.nodes[b as usize];
            n.left = x;
            n.size = sa + sb;
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
        let px = self.nodes[x as usize].prio;
        self.root = self.insert_rec(self.root, x, px, s, &m);
        self.nodes[x as usize].member = m;
    }

    fn insert_rec(&mut self, t: u32, x: u32, px: u32, s: f64, m: &[u8]) -> u32 {
        if t == NIL {
            return x;
        }
        let (pt, left, right) = {
            let n = &self.nodes[t as usize];
            (n.prio, n.left, n.right)
        };
        if px > pt {
            let (a, sa, b, sb) = self.split(t, s, m, x);
            let n = &mut self.nodes[x as usize];
            n.left = a;
            n.right = b;
            n.size = 1 + sa + sb;
            return x;
        }
        if self.less(t, s, m, x) {
            let c = self.insert_rec(right, x, px, s, m);
            let n = &mut self.nodes[t as usize];
            n.right = c;
            n.size += 1;
        } else {
            let c = self.insert_rec(left, x, px, s, m);
            let n = &mut self.nodes[t as usize];
            n.left = c;
            n.size += 1;
        }
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

    /// Removes `x` (which is in subtree `t`) from `t`; every node on the way
    /// loses one from its size.
    fn delete_rec(&mut self, t: u32, x: u32, s: f64, m: &[u8]) -> u32 {
        if t == NIL {
            return NIL;
        }
        let (left, right) = {
            let n = &self.nodes[t as usize];
            (n.left, n.right)
        };
        if t == x {
            return self.merge(left, right);
        }
        if self.less(t, s, m, x) {
            let c = self.delete_rec(right, x, s, m);
            let n = &mut self.nodes[t as usize];
            n.right = c;
            n.size -= 1;
        } else {
            let c = self.delete_rec(left, x, s, m);
            let n = &mut self.nodes[t as usize];
            n.left = c;
            n.size -= 1;
        }
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
        let h = member_hash(m);
        let node = Node {
            member: m.into(),
            score,
            left: NIL,
            right: NIL,
            size: 1,
            prio: (h >> 32) as u32 ^ (h as u32),
        };
        // A hole is reused (a new node may appear anywhere to ZSCAN), else the
        // node goes at the end.
        let x = match self.take_hole() {
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
        self.detach(x);
        let nodes = &self.nodes;
        self.table
            .remove(member_hash(m), x, nodes.len(), |i| hash_at(nodes, i));
        let n = &mut self.nodes[x as usize];
        n.member = Box::default();
        n.size = 0;
        let score = n.score;
        self.free.push(x);
        self.holes += 1;
        self.trim();
        // Mostly holes: move a couple of nodes from the end into holes per
        // removal, so the arena shrinks and gives memory back without a
        // rebuild (a stall). Nodes only move down, which keeps ZSCAN's
        // positional cursor valid.
        if self.holes > 1024 && self.holes * 2 > self.nodes.len() {
            for _ in 0..2 {
                self.compact_one();
            }
        }
        Some(score)
    }

    /// A reusable hole below the arena's end, if any.
    fn take_hole(&mut self) -> Option<u32> {
        while let Some(i) = self.free.pop() {
            if (i as usize) < self.nodes.len() && self.nodes[i as usize].size == 0 {
                self.holes -= 1;
                return Some(i);
            }
        }
        None
    }

    /// Drops holes at the end of the arena.
    fn trim(&mut self) {
        while !self.nodes.is_empty() && self.nodes[self.nodes.len() - 1].size == 0 {
            self.nodes.pop();
            self.holes -= 1;
        }
        if self.nodes.is_empty() {
            self.free.clear();
            self.holes = 0;
        }
        self.nodes.shrink();
    }

    /// Moves the last node into a hole (one descent to find its parent).
    fn compact_one(&mut self) {
        let Some(h) = self.take_hole() else {
            return;
        };
        // Trimmed, so the last node is live and every hole lies below it.
        let last = (self.nodes.len() - 1) as u32;
        debug_assert!(h < last);
        let parent = self.parent_of(last);
        if parent == NIL {
            self.root = h;
        } else if self.nodes[parent as usize].left == last {
            self.nodes[parent as usize].left = h;
        } else {
            self.nodes[parent as usize].right = h;
        }
        let nodes = &self.nodes;
        let hash = member_hash(&nodes[last as usize].member);
        self.table.repoint(hash, last, h, |i| hash_at(nodes, i));
        let moved = self.nodes.swap_remove(h as usize); // the hole, now gone
        debug_assert_eq!(moved.size, 0);
        self.trim();
    }

    /// The parent of node `x` in the treap (NIL for the root): one descent by
    /// its key.
    fn parent_of(&self, x: u32) -> u32 {
        let (s, m) = {
            let n = &self.nodes[x as usize];
            (n.score, &n.member)
        };
        let mut parent = NIL;
        let mut t = self.root;
        while t != x && t != NIL {
            parent = t;
            let n = &self.nodes[t as usize];
            t = if key_cmp(n.score, &n.member, s, m) == Ordering::Less {
                n.right
            } else {
                n.left
            };
        }
        parent
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

    /// One ZSCAN step with SSCAN's positional cursor (`position_scan`), holes
    /// skipped: a node never moves up (compaction only moves the last node
    /// down into a hole).
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let nodes = &self.nodes;
        position_scan(nodes.len(), cursor, count, |i| {
            let n = &nodes[i as usize];
            if n.size > 0 {
                f(&n.member, n.score);
            }
        })
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
