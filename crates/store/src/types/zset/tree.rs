//! The order-statistic B+tree behind large sorted sets.
//!
//! ```text
//!   slots: Chunked<Slot>   member bytes + score per arena id (NaN = hole)
//!   table: IdIndex         member hash -> arena id (incremental resize)
//!
//!   inners: Blocks<Inner>           [ k1 | k2 | ... ]  keys = (score, id)
//!                                  /    |     \        counts per child
//!   leaves: Blocks<Leaf>   [s s s|i i i] <-> [s s s|i i i] <-> ...
//!                           scores, ids      prev/next links
//! ```
//!
//! The order `(score, member)` lives in a B+tree whose leaves hold parallel
//! arrays of scores and arena ids, so a search compares plain `f64`s and
//! reads member bytes only on a tied score. Inner nodes keep each child's
//! entry count (rank, select-by-rank and rank-of-boundary are O(log n)) and
//! exact separators: key `i` of a node is the smallest entry under child
//! `i + 1`, so a separator always names a live member. A tree of 100k members
//! is four nodes deep (the treap it replaces was ~25 levels, each a cache
//! miss); a score update is two descents, or one when the new score stays
//! inside the member's leaf. Leaves are kept two-thirds full or more (B*-tree
//! style splits and merges): the tree costs ~15 bytes per member after random
//! updates (19 at worst, every leaf at its minimum; 13 after ascending
//! inserts). A slot is 32 bytes and holds members of up to 22 bytes inline, so
//! a short member needs no allocation of its own (with the treap's 40-byte
//! node and a boxed member, a 20-byte member cost 64 bytes; here about 47).
//!
//! Nothing here copies a big buffer: every arena grows block by block
//! (`Chunked` for members, the smaller `Blocks` for nodes), a freed node
//! is filled at once by the arena's last node (found by one descent with its
//! key), and removed members leave holes that later inserts reuse, with the
//! arena's end moved down into holes once they are the majority. Members only
//! ever move down in the arena, which keeps ZSCAN's positional cursor valid.

use super::AddOutcome;
use crate::inline::InlineBytes;
use crate::types::chunked::Chunked;
use crate::types::index::IdIndex;
use crate::types::set::{member_hash, position_scan};

mod node;

use node::{
    partition, Blocks, Inner, InnerBuf, Key, Leaf, LeafBuf, Slot, INNER_CAP, INNER_MIN, LEAF_CAP,
    LEAF_MIN, MAX_HEIGHT, NIL,
};

/// The hash of slot `i`'s member (any value for an id past the arena, which no
/// index entry holds; a hole's empty member is in no entry either).
fn hash_at(slots: &Chunked<Slot>, i: u32) -> u64 {
    slots.get(i as usize).map_or(0, |n| member_hash(&n.member))
}

/// The inner nodes on the way down to a leaf, and the child taken at each.
type Path = [(u32, u32); MAX_HEIGHT];

/// Nodes unlinked by one removal, freed once the tree is whole again (freeing
/// moves the arena's last node, which may be on the path meanwhile).
struct Freed {
    leaves: [u32; 2],
    n_leaves: usize,
    inners: [u32; MAX_HEIGHT],
    n_inners: usize,
}

impl Freed {
    fn new() -> Freed {
        Freed {
            leaves: [NIL; 2],
            n_leaves: 0,
            inners: [NIL; MAX_HEIGHT],
            n_inners: 0,
        }
    }
}

#[derive(Debug, Clone)]
pub(crate) struct Tree {
    slots: Chunked<Slot>,
    /// Slots of removed members (holes), reused by inserts; ids past the
    /// arena's end are stale and skipped.
    free: Chunked<u32>,
    /// Holes in the arena.
    holes: usize,
    table: IdIndex,
    leaves: Blocks<Leaf>,
    inners: Blocks<Inner>,
    /// A leaf when `height` is 0, else an inner node; NIL when empty.
    root: u32,
    /// Inner levels above the leaves.
    height: usize,
    len: usize,
}

impl Default for Tree {
    fn default() -> Self {
        Tree {
            slots: Chunked::default(),
            free: Chunked::default(),
            holes: 0,
            table: IdIndex::default(),
            leaves: Blocks::default(),
            inners: Blocks::default(),
            root: NIL,
            height: 0,
            len: 0,
        }
    }
}

impl Tree {
    pub fn len(&self) -> usize {
        self.len
    }

    fn find(&self, m: &[u8]) -> Option<u32> {
        self.find_hashed(member_hash(m), m)
    }

    /// `find` with the member's hash already computed.
    fn find_hashed(&self, h: u64, m: &[u8]) -> Option<u32> {
        let slots = &self.slots;
        self.table.find(h, |i| {
            slots.get(i as usize).is_some_and(|n| *n.member == *m)
        })
    }

    pub fn score(&self, m: &[u8]) -> Option<f64> {
        self.find(m).map(|i| self.slots[i as usize].score)
    }

    /// Inserts `m` with `score`, or moves an existing member to `score`.
    pub fn add(&mut self, m: &[u8], score: f64) -> AddOutcome {
        // Kept as given: Redis's skiplist keeps -0 (its listpack does not:
        // see ZSet::add).
        let h = member_hash(m);
        if let Some(x) = self.find_hashed(h, m) {
            let old = self.slots[x as usize].score;
            if old == score {
                // Redis compares with `!=`, so -0 and 0 count as unchanged.
                return AddOutcome::Unchanged;
            }
            if !self.detach(x, Some(score)) {
                self.slots[x as usize].score = score;
                self.attach(x, score);
            }
            return AddOutcome::Updated;
        }
        let slot = Slot {
            member: InlineBytes::new(m),
            score,
        };
        // A hole is reused (a new member may appear anywhere to ZSCAN), else
        // the member goes at the end.
        let x = match self.take_hole() {
            Some(i) => {
                self.slots[i as usize] = slot;
                i
            }
            None => {
                self.slots.push(slot);
                (self.slots.len() - 1) as u32
            }
        };
        let slots = &self.slots;
        self.table.insert(h, x, slots.len(), |i| hash_at(slots, i));
        self.attach(x, score);
        AddOutcome::Added
    }

    /// Removes `m`; returns its score if it was there.
    pub fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let h = member_hash(m);
        let x = self.find_hashed(h, m)?;
        self.detach(x, None);
        let slots = &self.slots;
        self.table.remove(h, x, slots.len(), |i| hash_at(slots, i));
        let n = &mut self.slots[x as usize];
        n.member = InlineBytes::default();
        let score = std::mem::replace(&mut n.score, f64::NAN);
        self.free.push(x);
        self.holes += 1;
        self.trim();
        // Mostly holes: move a couple of members from the end into holes per
        // removal, so the arena shrinks and gives memory back without a
        // rebuild (a stall). Members only move down, which keeps ZSCAN's
        // positional cursor valid.
        if self.holes > 1024 && self.holes * 2 > self.slots.len() {
            for _ in 0..2 {
                self.compact_one();
            }
        }
        Some(score)
    }

    /// A reusable hole below the arena's end, if any.
    fn take_hole(&mut self) -> Option<u32> {
        while let Some(i) = self.free.pop() {
            if self.slots.get(i as usize).is_some_and(Slot::is_hole) {
                self.holes -= 1;
                return Some(i);
            }
        }
        None
    }

    /// Drops holes at the end of the arena.
    fn trim(&mut self) {
        while !self.slots.is_empty() && self.slots[self.slots.len() - 1].is_hole() {
            self.slots.pop();
            self.holes -= 1;
        }
        if self.slots.is_empty() {
            self.free = Chunked::default();
            self.holes = 0;
        }
        self.slots.shrink();
        self.free.shrink();
    }

    /// Moves the last member into a hole: one descent to re-point its tree
    /// entry (and the separator naming it, if any).
    fn compact_one(&mut self) {
        let Some(h) = self.take_hole() else {
            return;
        };
        // Trimmed, so the last slot is live and every hole lies below it.
        let last = (self.slots.len() - 1) as u32;
        debug_assert!(h < last);
        self.repoint(last, h);
        let slots = &self.slots;
        let hash = member_hash(&slots[last as usize].member);
        self.table.repoint(hash, last, h, |i| hash_at(slots, i));
        let moved = self.slots.swap_remove(h as usize); // the hole, now gone
        debug_assert!(moved.is_hole());
        self.trim();
    }

    /// Makes the tree's references to arena id `from` name `to` instead.
    fn repoint(&mut self, from: u32, to: u32) {
        let slots = &self.slots;
        let (s, m) = (slots[from as usize].score, &*slots[from as usize].member);
        let mut node = self.root;
        for _ in 0..self.height {
            let n = &mut self.inners[node as usize];
            let c = n.child_for(slots, s, m, from);
            if c > 0 && n.key_ids[c - 1] == from {
                n.key_ids[c - 1] = to;
            }
            node = n.children[c];
        }
        let leaf = &mut self.leaves[node as usize];
        let pos = leaf.pos_of(from);
        leaf.ids[pos] = to;
    }

    /// Links arena id `x` (score `s`, not in the tree) into the tree.
    fn attach(&mut self, x: u32, s: f64) {
        self.len += 1;
        if self.root == NIL {
            let mut l = Leaf::new();
            l.insert_at(0, s, x);
            self.leaves.push(l);
            self.root = (self.leaves.len() - 1) as u32;
            self.height = 0;
            return;
        }
        let slots = &self.slots;
        let m = &*slots[x as usize].member;
        let mut path: Path = [(NIL, 0); MAX_HEIGHT];
        let mut node = self.root;
        for step in path.iter_mut().take(self.height) {
            let n = &mut self.inners[node as usize];
            let c = n.child_for(slots, s, m, x);
            n.counts[c] += 1;
            *step = (node, c as u32);
            node = n.children[c];
        }
        let leaf = &mut self.leaves[node as usize];
        let pos = leaf.position(slots, s, m, x);
        if leaf.n() < LEAF_CAP {
            leaf.insert_at(pos, s, x);
            return;
        }
        let h = self.height;
        self.leaf_overflow(&path[..h], node, pos, s, x);
    }

    /// Inserts into a full leaf. At either end of the order (ascending or
    /// descending inserts) the leaf stays full and a new edge leaf takes the
    /// entry. Elsewhere a neighbour with room takes a share of the entries;
    /// when the neighbours are full too, two full leaves and the new entry
    /// become three leaves two-thirds full (a B*-tree split), which keeps
    /// memory per member low.
    fn leaf_overflow(&mut self, path: &[(u32, u32)], leaf: u32, pos: usize, s: f64, x: u32) {
        let mut buf = LeafBuf::new();
        let l = &self.leaves[leaf as usize];
        let split = if l.next == NIL && pos == LEAF_CAP {
            Some(LEAF_CAP)
        } else if l.prev == NIL && pos == 0 {
            Some(1)
        } else if path.is_empty() {
            Some(LEAF_CAP / 2 + 1)
        } else {
            None
        };
        buf.push_leaf(l);
        buf.insert(pos, s, x);
        if let Some(k) = split {
            let right = self.new_leaf_after(leaf);
            buf.write(0..k, &mut self.leaves[leaf as usize]);
            buf.write(k..buf.len, &mut self.leaves[right as usize]);
            let key = self.leaves[right as usize].first();
            let count = (buf.len - k) as u32;
            match path.last() {
                Some(&(p, c)) => {
                    self.inners[p as usize].counts[c as usize] = k as u32;
                    self.insert_child(path, c as usize + 1, key, right, count);
                }
                None => {
                    self.inners
                        .push(Inner::pair(leaf, k as u32, key, right, count));
                    self.root = (self.inners.len() - 1) as u32;
                    self.height = 1;
                }
            }
            return;
        }
        let Some(&(p, c)) = path.last() else {
            unreachable!("zset tree: the root leaf splits above");
        };
        let (p, c) = (p as usize, c as usize);
        let parent = &self.inners[p];
        let room = |i: usize| LEAF_CAP - self.leaves[parent.children[i] as usize].n();
        let lroom = if c > 0 { room(c - 1) } else { 0 };
        let rroom = if c + 1 < parent.n() { room(c + 1) } else { 0 };
        // The pair of leaves `i`, `i + 1` that takes the entry.
        let i = if lroom > 0 && lroom >= rroom {
            c - 1
        } else if rroom > 0 || c == 0 {
            c
        } else {
            c - 1
        };
        let (l, r) = (parent.children[i], parent.children[i + 1]);
        let mut all = LeafBuf::new();
        if i < c {
            all.push_leaf(&self.leaves[l as usize]);
            all.append(&buf);
        } else {
            all = buf;
            all.push_leaf(&self.leaves[r as usize]);
        }
        if all.len <= 2 * LEAF_CAP {
            self.share_pair(p, i, &all);
            return;
        }
        let third = self.new_leaf_after(r);
        self.spread(&all, &[l, r, third]);
        self.sync_children(p, i, 2);
        let t = &self.leaves[third as usize];
        let (key, count) = (t.first(), t.len);
        self.insert_child(path, i + 2, key, third, count);
    }

    /// A new empty leaf linked after leaf `l`.
    fn new_leaf_after(&mut self, l: u32) -> u32 {
        let id = self.leaves.len() as u32;
        let next = std::mem::replace(&mut self.leaves[l as usize].next, id);
        if next != NIL {
            self.leaves[next as usize].prev = id;
        }
        let mut n = Leaf::new();
        n.prev = l;
        n.next = next;
        self.leaves.push(n);
        id
    }

    /// Writes the entries `all` over `leaves` (in order), as evenly as
    /// possible.
    fn spread(&mut self, all: &LeafBuf, leaves: &[u32]) {
        let k = leaves.len();
        let mut at = 0;
        for (j, &id) in leaves.iter().enumerate() {
            let end = all.len * (j + 1) / k;
            all.write(at..end, &mut self.leaves[id as usize]);
            at = end;
        }
    }

    /// Writes the entries `all` over leaf children `i` and `i + 1` of inner
    /// node `p`, half each, except that a leaf not at an edge of the order
    /// gets `LEAF_MIN` at least (its neighbour may be a small edge leaf).
    fn share_pair(&mut self, p: usize, i: usize, all: &LeafBuf) {
        let (l, r) = {
            let parent = &self.inners[p];
            (parent.children[i], parent.children[i + 1])
        };
        let mut k = all.len / 2;
        if self.leaves[l as usize].prev != NIL {
            k = k.max(LEAF_MIN);
        }
        if self.leaves[r as usize].next != NIL {
            k = k.min(all.len - LEAF_MIN);
        }
        all.write(0..k, &mut self.leaves[l as usize]);
        all.write(k..all.len, &mut self.leaves[r as usize]);
        self.sync_children(p, i, 2);
    }

    /// Re-reads the counts and keys of leaf children `g..g + k` of inner node
    /// `p` from the leaves.
    fn sync_children(&mut self, p: usize, g: usize, k: usize) {
        for j in g..g + k {
            let child = self.inners[p].children[j];
            let leaf = &self.leaves[child as usize];
            let (count, first) = (leaf.len, leaf.first());
            let parent = &mut self.inners[p];
            parent.counts[j] = count;
            if j > 0 {
                parent.set_key(j - 1, first);
            }
        }
    }

    /// Adds `child` (smallest entry `key`, `count` entries) at index `i >= 1`
    /// of the last node on `path`, sharing with a sibling or splitting up
    /// the path when that node is full.
    fn insert_child(&mut self, path: &[(u32, u32)], i: usize, key: Key, child: u32, count: u32) {
        let Some((&(p, _), up)) = path.split_last() else {
            unreachable!("zset tree: a child inserted above the root");
        };
        let p = p as usize;
        let node = &mut self.inners[p];
        if node.n() < INNER_CAP {
            node.insert_at(i, key, child, count);
            return;
        }
        let mut buf = InnerBuf::new();
        buf.push(None, node);
        buf.insert(i, key, child, count);
        let Some(&(gp, c)) = up.last() else {
            let (right, sep) = self.split_inner(p, &buf);
            let (lc, rc) = (self.inners[p].total(), self.inners[right as usize].total());
            let root = Inner::pair(p as u32, lc, sep, right, rc);
            self.inners.push(root);
            self.root = (self.inners.len() - 1) as u32;
            self.height += 1;
            return;
        };
        let (gp, c) = (gp as usize, c as usize);
        let g = &self.inners[gp];
        let room = |j: usize| INNER_CAP - self.inners[g.children[j] as usize].n();
        let lroom = if c > 0 { room(c - 1) } else { 0 };
        let rroom = if c + 1 < g.n() { room(c + 1) } else { 0 };
        if lroom > 0 && lroom >= rroom {
            let mut all = InnerBuf::new();
            all.push(None, &self.inners[g.children[c - 1] as usize]);
            all.push(Some(g.key(c - 1)), &self.inners[p]);
            // `all` now holds p's old children; redo the insertion there.
            let at = all.len - self.inners[p].n() + i;
            all.insert(at, key, child, count);
            self.share_inners(gp, c - 1, &all);
        } else if rroom > 0 {
            let sep = g.key(c);
            let right = g.children[c + 1] as usize;
            buf.push(Some(sep), &self.inners[right]);
            self.share_inners(gp, c, &buf);
        } else {
            let (right, sep) = self.split_inner(p, &buf);
            self.inners[gp].counts[c] = self.inners[p].total();
            let rc = self.inners[right as usize].total();
            self.insert_child(up, c + 1, sep, right, rc);
        }
    }

    /// Writes the first half of `buf` into `p` and the rest into a new node;
    /// returns the new node and its smallest entry.
    fn split_inner(&mut self, p: usize, buf: &InnerBuf) -> (u32, Key) {
        let k = buf.len - buf.len / 2;
        let mut r = Inner::new();
        buf.write(k..buf.len, &mut r);
        buf.write(0..k, &mut self.inners[p]);
        self.inners.push(r);
        ((self.inners.len() - 1) as u32, buf.key(k - 1))
    }

    /// Spreads `all` evenly over children `i` and `i + 1` (inner nodes) of
    /// inner node `gp`.
    fn share_inners(&mut self, gp: usize, i: usize, all: &InnerBuf) {
        let k = all.len / 2;
        let (l, r) = {
            let g = &self.inners[gp];
            (g.children[i] as usize, g.children[i + 1] as usize)
        };
        all.write(0..k, &mut self.inners[l]);
        all.write(k..all.len, &mut self.inners[r]);
        let (lc, rc) = (self.inners[l].total(), self.inners[r].total());
        let g = &mut self.inners[gp];
        g.counts[i] = lc;
        g.counts[i + 1] = rc;
        g.set_key(i, all.key(k - 1));
    }

    /// Unlinks arena id `x` from the tree (it stays in the arena and the
    /// index). With `to`, a score update: if the new key still falls strictly
    /// inside `x`'s leaf, `x` moves within the leaf (its slot's score is set)
    /// and this returns true; otherwise `x` is unlinked and the caller
    /// re-attaches it.
    fn detach(&mut self, x: u32, to: Option<f64>) -> bool {
        let slots = &self.slots;
        let (s, m) = (slots[x as usize].score, &*slots[x as usize].member);
        let mut path: Path = [(NIL, 0); MAX_HEIGHT];
        // The lowest level that went right of a key: if `x` is its leaf's
        // first entry, that key is `x`'s.
        let mut owner = None;
        let mut node = self.root;
        for (lv, step) in path.iter_mut().enumerate().take(self.height) {
            let n = &mut self.inners[node as usize];
            let c = n.child_for(slots, s, m, x);
            n.counts[c] -= 1;
            if c > 0 {
                owner = Some(lv);
            }
            *step = (node, c as u32);
            node = n.children[c];
        }
        let leaf = &mut self.leaves[node as usize];
        let pos = leaf.pos_of(x);
        let n = leaf.n();
        if let Some(ns) = to {
            // Strictly between the leaf's first and last entries (neither of
            // them `x`): no separator or count changes.
            let lt = |(s1, id1): Key, s2: f64, id2: u32| {
                s1 < s2 || (s1 == s2 && *slots[id1 as usize].member < *slots[id2 as usize].member)
            };
            if pos > 0
                && pos + 1 < n
                && lt(leaf.first(), ns, x)
                && lt((ns, x), leaf.scores[n - 1], leaf.ids[n - 1])
            {
                leaf.remove_at(pos);
                let at = leaf.position(slots, ns, m, x);
                leaf.insert_at(at, ns, x);
                for &(p, c) in &path[..self.height] {
                    self.inners[p as usize].counts[c as usize] += 1;
                }
                self.slots[x as usize].score = ns;
                return true;
            }
        }
        leaf.remove_at(pos);
        self.len -= 1;
        if pos == 0 && leaf.len > 0 {
            if let Some(lv) = owner {
                let (p, c) = path[lv];
                let first = leaf.first();
                let key = &mut self.inners[p as usize];
                debug_assert_eq!(key.key_ids[c as usize - 1], x);
                key.set_key(c as usize - 1, first);
            }
        }
        if leaf.n() >= LEAF_MIN {
            return false;
        }
        let mut freed = Freed::new();
        if self.height == 0 {
            if leaf.len == 0 {
                self.root = NIL;
                freed.leaves[0] = node;
                freed.n_leaves = 1;
            }
        } else {
            let h = self.height;
            self.leaf_underflow(&path[..h], &mut freed);
        }
        self.free_nodes(&mut freed);
        false
    }

    /// The leaf under the last node of `path` is short. The first or last
    /// leaf of the order may be (ascending inserts leave one entry there): it
    /// only merges with its neighbour when both fit in one leaf. Another leaf
    /// takes a share of a neighbour's entries if one has more than the
    /// minimum, else it and its two nearest siblings, the minimum each, become
    /// two leaves.
    fn leaf_underflow(&mut self, path: &[(u32, u32)], freed: &mut Freed) {
        let Some(&(p, c)) = path.last() else {
            return;
        };
        let (p, c) = (p as usize, c as usize);
        let parent = &self.inners[p];
        let n = parent.n();
        let len = |j: usize| self.leaves[parent.children[j] as usize].n();
        let own = len(c);
        let left = if c > 0 { len(c - 1) } else { 0 };
        let right = if c + 1 < n { len(c + 1) } else { 0 };
        let edge = {
            let l = &self.leaves[parent.children[c] as usize];
            l.prev == NIL || l.next == NIL
        };
        // Leaves `g..g + k` are laid out again.
        let (g, k) = if edge {
            // Edge leaves are a parent's first or last child.
            if own + left + right > LEAF_CAP {
                return;
            }
            (c.min(n - 2), 2)
        } else if left.max(right) > LEAF_MIN {
            (if left >= right { c - 1 } else { c }, 2)
        } else {
            // Not at an edge, so the parent has three children at least.
            (c.saturating_sub(1).min(n - 3), 3)
        };
        let mut ids = [NIL; 3];
        ids[..k].copy_from_slice(&parent.children[g..g + k]);
        let mut all = LeafBuf::new();
        for &id in &ids[..k] {
            all.push_leaf(&self.leaves[id as usize]);
        }
        if k == 2 && all.len > LEAF_CAP {
            self.share_pair(p, g, &all);
            return;
        }
        let keep = if all.len <= (k - 1) * LEAF_CAP {
            k - 1
        } else {
            k
        };
        self.spread(&all, &ids[..keep]);
        self.sync_children(p, g, keep);
        if keep == k {
            return;
        }
        let gone = ids[k - 1];
        let (prev, next) = {
            let l = &self.leaves[gone as usize];
            (l.prev, l.next)
        };
        self.leaves[prev as usize].next = next;
        if next != NIL {
            self.leaves[next as usize].prev = prev;
        }
        self.inners[p].remove_at(g + k - 1);
        freed.leaves[freed.n_leaves] = gone;
        freed.n_leaves += 1;
        self.child_removed(path, freed);
    }

    /// The last node of `path` lost a child: a short node borrows from or
    /// merges with a sibling, and a root left with one child goes.
    fn child_removed(&mut self, path: &[(u32, u32)], freed: &mut Freed) {
        let Some((&(p, _), up)) = path.split_last() else {
            return;
        };
        let p = p as usize;
        let n = self.inners[p].n();
        let Some(&(gp, c)) = up.last() else {
            if n == 1 {
                self.root = self.inners[p].children[0];
                self.height -= 1;
                freed.inners[freed.n_inners] = p as u32;
                freed.n_inners += 1;
            }
            return;
        };
        if n >= INNER_MIN {
            return;
        }
        let (gp, c) = (gp as usize, c as usize);
        let i = c.saturating_sub(1);
        let (l, r, sep) = {
            let g = &self.inners[gp];
            (g.children[i] as usize, g.children[i + 1], g.key(i))
        };
        let mut all = InnerBuf::new();
        all.push(None, &self.inners[l]);
        all.push(Some(sep), &self.inners[r as usize]);
        if all.len > INNER_CAP {
            self.share_inners(gp, i, &all);
            return;
        }
        all.write(0..all.len, &mut self.inners[l]);
        let total = self.inners[l].total();
        let g = &mut self.inners[gp];
        g.remove_at(i + 1);
        g.counts[i] = total;
        freed.inners[freed.n_inners] = r;
        freed.n_inners += 1;
        self.child_removed(up, freed);
    }

    /// Frees unlinked nodes: the arena's last node moves into each freed slot
    /// (highest first, so a pending one is never the one moved).
    fn free_nodes(&mut self, freed: &mut Freed) {
        let leaves = &mut freed.leaves[..freed.n_leaves];
        leaves.sort_unstable_by(|a, b| b.cmp(a));
        for &id in leaves.iter() {
            self.free_leaf(id);
        }
        let inners = &mut freed.inners[..freed.n_inners];
        inners.sort_unstable_by(|a, b| b.cmp(a));
        for &id in inners.iter() {
            self.free_inner(id);
        }
    }

    fn free_leaf(&mut self, id: u32) {
        let last = (self.leaves.len() - 1) as u32;
        if id != last {
            let (prev, next) = {
                let l = &self.leaves[last as usize];
                (l.prev, l.next)
            };
            if prev != NIL {
                self.leaves[prev as usize].next = id;
            }
            if next != NIL {
                self.leaves[next as usize].prev = id;
            }
            if self.root == last {
                self.root = id;
            } else {
                let (s, x) = self.leaves[last as usize].first();
                self.repoint_child(s, x, self.height - 1, last, id);
            }
        }
        self.leaves.swap_remove(id as usize);
    }

    fn free_inner(&mut self, id: u32) {
        let last = (self.inners.len() - 1) as u32;
        if id != last {
            if self.root == last {
                self.root = id;
            } else {
                // Any entry under `last` leads to it: its first key will do
                // (a live node has two children at least).
                let (s, x) = self.inners[last as usize].key(0);
                let slots = &self.slots;
                let m = &*slots[x as usize].member;
                let mut node = self.root;
                // Only levels whose children are inner nodes.
                for _ in 0..self.height - 1 {
                    let n = &mut self.inners[node as usize];
                    let c = n.child_for(slots, s, m, x);
                    if n.children[c] == last {
                        n.children[c] = id;
                        break;
                    }
                    node = n.children[c];
                }
            }
        }
        self.inners.swap_remove(id as usize);
    }

    /// Descends `lv` inner levels towards key `(s, x)` and, in the node
    /// reached, replaces child `from` (the one leading to the key) by `to`.
    fn repoint_child(&mut self, s: f64, x: u32, lv: usize, from: u32, to: u32) {
        let slots = &self.slots;
        let m = &*slots[x as usize].member;
        let mut node = self.root;
        for _ in 0..lv {
            let n = &self.inners[node as usize];
            node = n.children[n.child_for(slots, s, m, x)];
        }
        let n = &mut self.inners[node as usize];
        let c = n.child_for(slots, s, m, x);
        debug_assert_eq!(n.children[c], from);
        n.children[c] = to;
    }

    /// 0-based rank of `m` in ascending order.
    pub fn rank(&self, m: &[u8]) -> Option<usize> {
        let x = self.find(m)?;
        let slots = &self.slots;
        let s = slots[x as usize].score;
        let mut r = 0;
        let mut node = self.root;
        for _ in 0..self.height {
            let n = &self.inners[node as usize];
            let c = n.child_for(slots, s, m, x);
            r += n.counts[..c].iter().sum::<u32>() as usize;
            node = n.children[c];
        }
        Some(r + self.leaves[node as usize].pos_of(x))
    }

    /// How many elements satisfy `before(score, member)`, a predicate that is true
    /// for a prefix of the order (e.g. "score < min").
    pub fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        if self.root == NIL {
            return 0;
        }
        let slots = &self.slots;
        let mut r = 0;
        let mut node = self.root;
        for _ in 0..self.height {
            let n = &self.inners[node as usize];
            let c = partition(n.n() - 1, |i| {
                before(n.key_scores[i], &slots[n.key_ids[i] as usize].member)
            });
            r += n.counts[..c].iter().sum::<u32>() as usize;
            node = n.children[c];
        }
        let l = &self.leaves[node as usize];
        r + partition(l.n(), |i| {
            before(l.scores[i], &slots[l.ids[i] as usize].member)
        })
    }

    /// The leaf and index of the entry at rank `k` (< len).
    fn locate(&self, mut k: usize) -> (u32, usize) {
        let mut node = self.root;
        for _ in 0..self.height {
            let n = &self.inners[node as usize];
            let mut c = 0;
            while k >= n.counts[c] as usize {
                k -= n.counts[c] as usize;
                c += 1;
            }
            node = n.children[c];
        }
        (node, k)
    }

    /// The element at rank `k` (< len).
    pub fn select(&self, k: usize) -> Option<(&[u8], f64)> {
        if k >= self.len {
            return None;
        }
        let (leaf, i) = self.locate(k);
        let l = &self.leaves[leaf as usize];
        Some((&self.slots[l.ids[i] as usize].member, l.scores[i]))
    }

    /// Iterates ascending from rank `k`, or (`rev`) descending from rank `k`
    /// counted in ascending order (from the last element if `k` is past it).
    pub fn iter_from(&self, k: usize, rev: bool) -> TreeIter<'_> {
        let (leaf, pos) = if self.len == 0 || (!rev && k >= self.len) {
            (NIL, 0)
        } else {
            self.locate(k.min(self.len - 1))
        };
        TreeIter {
            z: self,
            leaf,
            pos,
            rev,
        }
    }

    /// One ZSCAN step with SSCAN's positional cursor (`position_scan`), holes
    /// skipped: a member never moves up (compaction only moves the last
    /// member down into a hole).
    pub fn scan(&mut self, cursor: u64, count: usize, mut f: impl FnMut(&[u8], f64)) -> u64 {
        let slots = &self.slots;
        position_scan(slots.len(), cursor, count, |i| {
            let n = &slots[i as usize];
            if !n.is_hole() {
                f(&n.member, n.score);
            }
        })
    }
}

/// In-order iterator over a [`Tree`]: a walk along the leaf links.
pub struct TreeIter<'a> {
    z: &'a Tree,
    leaf: u32,
    pos: usize,
    rev: bool,
}

impl<'a> Iterator for TreeIter<'a> {
    type Item = (&'a [u8], f64);
    fn next(&mut self) -> Option<Self::Item> {
        if self.leaf == NIL {
            return None;
        }
        let z = self.z;
        let l = &z.leaves[self.leaf as usize];
        let (s, id) = (l.scores[self.pos], l.ids[self.pos]);
        if self.rev {
            if self.pos == 0 {
                self.leaf = l.prev;
                if l.prev != NIL {
                    self.pos = z.leaves[l.prev as usize].n() - 1;
                }
            } else {
                self.pos -= 1;
            }
        } else {
            self.pos += 1;
            if self.pos == l.n() {
                self.leaf = l.next;
                self.pos = 0;
            }
        }
        Some((&z.slots[id as usize].member, s))
    }
}

#[cfg(test)]
mod tests;
