//! The nodes of the sorted-set B+tree (`tree.rs`) and the searches within one
//! node.
//!
//! Scores are kept apart from ids so that a search is one branch-free compare
//! over a node's scores (the compiler vectorises it); unused score slots hold
//! NaN, which compares false both ways, so the scan can cover the whole array
//! without waiting for the node's length, and its cache lines load together.
//! Layouts are `repr(C)` so the length shares the first cache line with the
//! first scores.

use std::ops::{Index, IndexMut, Range};

use crate::inline::InlineBytes;
use crate::types::chunked::Chunked;

pub(super) const NIL: u32 = u32::MAX;

/// Entries per leaf at most. An entry costs 12 bytes, so what a member costs
/// in the tree is 12 bytes over the leaves' fill plus the leaf header and the
/// inner nodes' share; 64 entries make those last two about 1 byte (32 made
/// them 2, with the same speed: a leaf's scores are eight cache lines read by
/// one vectorised compare, in parallel).
pub(super) const LEAF_CAP: usize = 64;
/// A leaf holds at least this many entries unless it is the first or the last
/// leaf of the order: two full leaves split into three, and three leaves at
/// the minimum merge into two, so leaves stay two-thirds full or more (as in
/// a B*-tree; measured 88% after random inserts, 83% after random updates).
pub(super) const LEAF_MIN: usize = (2 * LEAF_CAP + 1) / 3;
/// Children per inner node at most (64 measured no faster: the scan of the
/// keys doubles while the depth rarely drops).
pub(super) const INNER_CAP: usize = 32;
/// A non-root inner node below this many children borrows or merges.
pub(super) const INNER_MIN: usize = INNER_CAP / 2;
/// Inner levels at most: non-root inner nodes are at least half full, so 2^32
/// arena ids fit in 7 levels; the rest is headroom.
pub(super) const MAX_HEIGHT: usize = 16;

/// One member in the arena.
#[derive(Debug, Clone)]
pub(super) struct Slot {
    /// Short members inline: a lookup compares them in the slot it read.
    pub member: InlineBytes,
    /// NaN marks a hole (scores are never NaN).
    pub score: f64,
}

impl Slot {
    pub fn is_hole(&self) -> bool {
        self.score.is_nan()
    }
}

/// A key in the tree: a score and the arena id of its member.
pub(super) type Key = (f64, u32);

#[derive(Debug, Clone)]
#[repr(C)]
pub(super) struct Leaf {
    pub len: u32,
    pub prev: u32,
    pub next: u32,
    /// Ascending; NaN past `len`.
    pub scores: [f64; LEAF_CAP],
    /// NIL past `len`.
    pub ids: [u32; LEAF_CAP],
}

impl Leaf {
    pub fn new() -> Leaf {
        Leaf {
            len: 0,
            prev: NIL,
            next: NIL,
            scores: [f64::NAN; LEAF_CAP],
            ids: [NIL; LEAF_CAP],
        }
    }

    #[inline]
    pub fn n(&self) -> usize {
        self.len as usize
    }

    pub fn first(&self) -> Key {
        (self.scores[0], self.ids[0])
    }

    pub fn insert_at(&mut self, pos: usize, s: f64, id: u32) {
        let n = self.n();
        self.scores.copy_within(pos..n, pos + 1);
        self.ids.copy_within(pos..n, pos + 1);
        self.scores[pos] = s;
        self.ids[pos] = id;
        self.len += 1;
    }

    pub fn remove_at(&mut self, pos: usize) {
        let n = self.n();
        self.scores.copy_within(pos + 1..n, pos);
        self.ids.copy_within(pos + 1..n, pos);
        self.scores[n - 1] = f64::NAN;
        self.ids[n - 1] = NIL;
        self.len -= 1;
    }

    /// Where the key `(s, m)` of id `x` goes (or is): how many entries sort
    /// before it.
    #[inline]
    pub fn position(&self, slots: &Chunked<Slot>, s: f64, m: &[u8], x: u32) -> usize {
        count_le(&self.scores, &self.ids, self.n(), slots, s, m, x)
    }

    /// Index of arena id `x`, which is in this leaf: one branch-free pass
    /// over the ids (half the bytes of the scores), no member read.
    pub fn pos_of(&self, x: u32) -> usize {
        let pos = (0..LEAF_CAP)
            .map(|i| if self.ids[i] == x { i } else { 0 })
            .sum();
        if self.ids[pos] != x {
            unreachable!("zset tree: an entry is missing from its leaf");
        }
        pos
    }
}

#[derive(Debug, Clone)]
#[repr(C)]
pub(super) struct Inner {
    /// Children in use.
    pub len: u32,
    /// `key_scores[i]`, `key_ids[i]`: the smallest entry under child `i + 1`.
    /// NaN past the last key.
    pub key_scores: [f64; INNER_CAP - 1],
    pub children: [u32; INNER_CAP],
    /// Entries under each child.
    pub counts: [u32; INNER_CAP],
    pub key_ids: [u32; INNER_CAP - 1],
}

impl Inner {
    pub fn new() -> Inner {
        Inner {
            len: 0,
            key_scores: [f64::NAN; INNER_CAP - 1],
            children: [NIL; INNER_CAP],
            counts: [0; INNER_CAP],
            key_ids: [NIL; INNER_CAP - 1],
        }
    }

    /// A root over two children.
    pub fn pair(left: u32, left_count: u32, key: Key, right: u32, right_count: u32) -> Inner {
        let mut n = Inner::new();
        n.children[0] = left;
        n.counts[0] = left_count;
        n.len = 1;
        n.insert_at(1, key, right, right_count);
        n
    }

    #[inline]
    pub fn n(&self) -> usize {
        self.len as usize
    }

    pub fn key(&self, i: usize) -> Key {
        (self.key_scores[i], self.key_ids[i])
    }

    pub fn set_key(&mut self, i: usize, (s, id): Key) {
        self.key_scores[i] = s;
        self.key_ids[i] = id;
    }

    pub fn total(&self) -> u32 {
        self.counts[..self.n()].iter().sum()
    }

    /// The child whose subtree holds (or will hold) the key `(s, m)` of id `x`.
    #[inline]
    pub fn child_for(&self, slots: &Chunked<Slot>, s: f64, m: &[u8], x: u32) -> usize {
        count_le(
            &self.key_scores,
            &self.key_ids,
            self.n() - 1,
            slots,
            s,
            m,
            x,
        )
    }

    /// Inserts `child` at index `i >= 1`, with `key` (its smallest entry)
    /// before it.
    pub fn insert_at(&mut self, i: usize, key: Key, child: u32, count: u32) {
        let n = self.n();
        self.children.copy_within(i..n, i + 1);
        self.counts.copy_within(i..n, i + 1);
        self.key_scores.copy_within(i - 1..n - 1, i);
        self.key_ids.copy_within(i - 1..n - 1, i);
        self.children[i] = child;
        self.counts[i] = count;
        self.set_key(i - 1, key);
        self.len += 1;
    }

    /// Removes child `i >= 1` and the key before it.
    pub fn remove_at(&mut self, i: usize) {
        let n = self.n();
        self.children.copy_within(i + 1..n, i);
        self.counts.copy_within(i + 1..n, i);
        self.key_scores.copy_within(i..n - 1, i - 1);
        self.key_ids.copy_within(i..n - 1, i - 1);
        self.key_scores[n - 2] = f64::NAN;
        self.len -= 1;
    }
}

/// How many of `scores` (ascending, then NaN) are below `s`: branch-free over
/// the whole array, so the compiler vectorises it and the cache lines load
/// together.
#[inline]
pub(super) fn count_lt(scores: &[f64], s: f64) -> usize {
    scores.iter().map(|&v| usize::from(v < s)).sum()
}

/// How many of the first `n` keys `(scores[i], ids[i])` (ascending) sort at or
/// before the key `(s, m)` of arena id `x`. Member bytes are read only for keys
/// tied on `s`.
#[inline]
pub(super) fn count_le(
    scores: &[f64],
    ids: &[u32],
    n: usize,
    slots: &Chunked<Slot>,
    s: f64,
    m: &[u8],
    x: u32,
) -> usize {
    let lo = count_lt(scores, s);
    let mut hi = lo;
    while hi < n && scores[hi] == s {
        hi += 1;
    }
    if hi == lo {
        return lo;
    }
    lo + partition(hi - lo, |i| {
        let id = ids[lo + i];
        id == x || *slots[id as usize].member <= *m
    })
}

/// The first `i` in `0..n` where `pred` is false (true on a prefix).
#[inline]
pub(super) fn partition(n: usize, pred: impl Fn(usize) -> bool) -> usize {
    let (mut lo, mut hi) = (0, n);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if pred(mid) {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    lo
}

/// The entries of up to three adjacent leaves, in order, while they are laid
/// out again.
pub(super) struct LeafBuf {
    pub scores: [f64; 3 * LEAF_CAP],
    pub ids: [u32; 3 * LEAF_CAP],
    pub len: usize,
}

impl LeafBuf {
    pub fn new() -> LeafBuf {
        LeafBuf {
            scores: [0.0; 3 * LEAF_CAP],
            ids: [0; 3 * LEAF_CAP],
            len: 0,
        }
    }

    pub fn push_leaf(&mut self, l: &Leaf) {
        self.extend(&l.scores[..l.n()], &l.ids[..l.n()]);
    }

    pub fn append(&mut self, other: &LeafBuf) {
        self.extend(&other.scores[..other.len], &other.ids[..other.len]);
    }

    fn extend(&mut self, scores: &[f64], ids: &[u32]) {
        let (a, b) = (self.len, self.len + scores.len());
        self.scores[a..b].copy_from_slice(scores);
        self.ids[a..b].copy_from_slice(ids);
        self.len = b;
    }

    pub fn insert(&mut self, pos: usize, s: f64, id: u32) {
        self.scores.copy_within(pos..self.len, pos + 1);
        self.ids.copy_within(pos..self.len, pos + 1);
        self.scores[pos] = s;
        self.ids[pos] = id;
        self.len += 1;
    }

    /// Makes `l` hold entries `r`.
    pub fn write(&self, r: Range<usize>, l: &mut Leaf) {
        let k = r.len();
        l.scores[..k].copy_from_slice(&self.scores[r.clone()]);
        l.scores[k..].fill(f64::NAN);
        l.ids[..k].copy_from_slice(&self.ids[r]);
        l.ids[k..].fill(NIL);
        l.len = k as u32;
    }
}

/// The children and keys of two inner nodes plus one, while laid out again.
/// There is one key fewer than children: key `i` is the smallest entry under
/// child `i + 1`.
pub(super) struct InnerBuf {
    pub children: [u32; 2 * INNER_CAP + 1],
    pub counts: [u32; 2 * INNER_CAP + 1],
    pub key_scores: [f64; 2 * INNER_CAP],
    pub key_ids: [u32; 2 * INNER_CAP],
    pub len: usize,
}

impl InnerBuf {
    pub fn new() -> InnerBuf {
        InnerBuf {
            children: [NIL; 2 * INNER_CAP + 1],
            counts: [0; 2 * INNER_CAP + 1],
            key_scores: [0.0; 2 * INNER_CAP],
            key_ids: [0; 2 * INNER_CAP],
            len: 0,
        }
    }

    /// Appends node `n`'s children; `sep` (the smallest entry under `n`) goes
    /// between them and those already here.
    pub fn push(&mut self, sep: Option<Key>, n: &Inner) {
        if let Some((s, id)) = sep {
            self.key_scores[self.len - 1] = s;
            self.key_ids[self.len - 1] = id;
        }
        let (a, k) = (self.len, n.n());
        self.children[a..a + k].copy_from_slice(&n.children[..k]);
        self.counts[a..a + k].copy_from_slice(&n.counts[..k]);
        self.key_scores[a..a + k - 1].copy_from_slice(&n.key_scores[..k - 1]);
        self.key_ids[a..a + k - 1].copy_from_slice(&n.key_ids[..k - 1]);
        self.len += k;
    }

    /// Inserts `child` at index `i >= 1`, with `key` before it.
    pub fn insert(&mut self, i: usize, (s, id): Key, child: u32, count: u32) {
        let n = self.len;
        self.children.copy_within(i..n, i + 1);
        self.counts.copy_within(i..n, i + 1);
        self.key_scores.copy_within(i - 1..n - 1, i);
        self.key_ids.copy_within(i - 1..n - 1, i);
        self.children[i] = child;
        self.counts[i] = count;
        self.key_scores[i - 1] = s;
        self.key_ids[i - 1] = id;
        self.len += 1;
    }

    pub fn key(&self, i: usize) -> Key {
        (self.key_scores[i], self.key_ids[i])
    }

    /// Makes `n` hold children `r`; the key before `r.start` is the caller's.
    pub fn write(&self, r: Range<usize>, n: &mut Inner) {
        let k = r.len();
        n.children[..k].copy_from_slice(&self.children[r.clone()]);
        n.counts[..k].copy_from_slice(&self.counts[r.clone()]);
        n.key_scores[..k - 1].copy_from_slice(&self.key_scores[r.start..r.end - 1]);
        n.key_scores[k - 1..].fill(f64::NAN);
        n.key_ids[..k - 1].copy_from_slice(&self.key_ids[r.start..r.end - 1]);
        n.len = k as u32;
    }
}

/// Nodes per block of a [`Blocks`] arena (about 50 KB of leaves).
const BLOCK: usize = 64;

/// The arena of one kind of node, addressed by `u32`, in blocks of `BLOCK`
/// nodes: growing allocates one block and copies nothing, except while the
/// first block grows like a `Vec` (so a small tree stays small). `Chunked`'s
/// 4096-element chunks would be 3 MB of leaves, allocated whole, and its first
/// chunk would copy up to 1.6 MB as it grows.
#[derive(Debug, Clone)]
pub(super) struct Blocks<T> {
    blocks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Blocks<T> {
    fn default() -> Self {
        Blocks {
            blocks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Blocks<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    #[cfg(test)]
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, v: T) {
        match self.blocks.last_mut() {
            Some(b) if b.len() < BLOCK => {
                if b.len() == b.capacity() {
                    // Doubling, but never past a block.
                    b.reserve_exact(b.len().min(BLOCK - b.len()));
                }
                b.push(v);
            }
            _ => {
                let cap = if self.blocks.is_empty() { 1 } else { BLOCK };
                let mut b = Vec::with_capacity(cap);
                b.push(v);
                self.blocks.push(b);
            }
        }
        self.len += 1;
    }

    /// Removes node `i`, moving the last node into its place; a block left
    /// empty is freed.
    pub fn swap_remove(&mut self, i: usize) {
        let last = self.len - 1;
        if i != last {
            let (a, b) = (i / BLOCK, last / BLOCK);
            if a == b {
                self.blocks[a].swap(i % BLOCK, last % BLOCK);
            } else {
                let (lo, hi) = self.blocks.split_at_mut(b);
                std::mem::swap(&mut lo[a][i % BLOCK], &mut hi[0][last % BLOCK]);
            }
        }
        if let Some(b) = self.blocks.last_mut() {
            b.pop();
            if b.is_empty() {
                self.blocks.pop();
            }
        }
        self.len -= 1;
        if let [only] = self.blocks.as_mut_slice() {
            // The first block gives back room once mostly empty.
            if only.capacity() > 4 && only.len() * 4 < only.capacity() {
                only.shrink_to(only.len() * 2);
            }
        }
    }
}

impl<T> Index<usize> for Blocks<T> {
    type Output = T;
    #[inline]
    fn index(&self, i: usize) -> &T {
        &self.blocks[i / BLOCK][i % BLOCK]
    }
}

impl<T> IndexMut<usize> for Blocks<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.blocks[i / BLOCK][i % BLOCK]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Blocks behaves as a `Vec` under pushes and swap-removes across blocks,
    /// never holds room past a block, and frees emptied blocks.
    #[test]
    fn blocks_behave_as_a_vec() {
        let mut b = Blocks::default();
        let mut v = Vec::new();
        for i in 0..5 * BLOCK + 3 {
            b.push(i);
            v.push(i);
            assert!(b.blocks.iter().all(|x| x.capacity() <= BLOCK));
        }
        for i in [0, 7, BLOCK + 1, 3 * BLOCK, usize::MAX] {
            let i = i.min(v.len() - 1);
            b.swap_remove(i);
            v.swap_remove(i);
        }
        while v.len() > 10 {
            let i = v.len() / 3;
            b.swap_remove(i);
            v.swap_remove(i);
            assert_eq!(b.blocks.len(), v.len().div_ceil(BLOCK));
        }
        assert_eq!(b.len(), v.len());
        for (i, x) in v.iter().enumerate() {
            assert_eq!(b[i], *x);
        }
        assert!(b.blocks[0].capacity() < BLOCK, "the last block shrank");
        while !v.is_empty() {
            b.swap_remove(0);
            v.swap_remove(0);
        }
        assert!(b.is_empty() && b.blocks.is_empty());
    }
}
