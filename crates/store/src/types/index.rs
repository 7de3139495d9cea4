//! `IdIndex`: a hash index from members to arena ids (`u32`) that resizes a
//! little at a time, for the big encodings of sets and sorted sets.
//!
//! A plain hash table rehashes every entry when it grows or shrinks; for a set
//! of millions of members whose hashes must be recomputed from the members,
//! that is a stall of hundreds of milliseconds (740 ms measured at 4M SADDs),
//! long enough to look like a dead master. Here a resize only allocates the new
//! table; the entries move over a few per operation, as Redis's dict rehashes
//! incrementally:
//!
//! ```text
//!   cur: new table (inserts go here)      old: table being drained
//!   step(): arena ids cursor..cursor+K ── found in old? ──▶ move to cur
//!   find/remove: cur, then old
//! ```
//!
//! The walk goes over arena ids rather than over `old` itself, because every
//! live id is in exactly one of the two tables and the owner's arena bounds
//! the ids: ids at or past `end` were made after the resize began and went to
//! `cur`. An entry re-pointed to a lower id (a swap-remove moves the last
//! member into a hole) moves to `cur` at once, so the walk cannot miss it.

use hashbrown::HashTable;

/// Arena ids examined per operation while a resize is under way. The new
/// table holds at least twice the entries present when the resize began, so
/// the walk ends long before it fills, even when the arena has holes.
const STEP: u32 = 8;

#[derive(Debug, Clone, Default)]
pub(crate) struct IdIndex {
    cur: HashTable<u32>,
    old: HashTable<u32>,
    /// Next arena id to examine.
    cursor: u32,
    /// Arena length when the resize began.
    end: u32,
}

impl IdIndex {
    pub fn len(&self) -> usize {
        self.cur.len() + self.old.len()
    }

    /// The id whose member matches `eq`.
    pub fn find(&self, hash: u64, mut eq: impl FnMut(u32) -> bool) -> Option<u32> {
        if let Some(&i) = self.cur.find(hash, |&i| eq(i)) {
            return Some(i);
        }
        if self.old.is_empty() {
            return None;
        }
        self.old.find(hash, |&i| eq(i)).copied()
    }

    /// Adds `id` (whose member is not present). `hash_of(id)` recomputes an
    /// entry's hash; `arena_len` bounds the ids in use.
    pub fn insert(&mut self, hash: u64, id: u32, arena_len: usize, hash_of: impl Fn(u32) -> u64) {
        self.step(&hash_of);
        if self.cur.len() == self.cur.capacity() {
            // Twice the buckets: hashbrown fills a table to 7/8 of them.
            self.resize((self.cur.capacity() * 2).max(4), arena_len, &hash_of);
        }
        self.cur.insert_unique(hash, id, |&i| hash_of(i));
    }

    /// Removes `id`, whose member hashes to `hash`. True if it was there.
    pub fn remove(
        &mut self,
        hash: u64,
        id: u32,
        arena_len: usize,
        hash_of: impl Fn(u32) -> u64,
    ) -> bool {
        let found = if let Ok(e) = self.cur.find_entry(hash, |&i| i == id) {
            e.remove();
            true
        } else if let Ok(e) = self.old.find_entry(hash, |&i| i == id) {
            e.remove();
            true
        } else {
            false
        };
        self.step(&hash_of);
        // Give memory back after mass deletions, as Redis shrinks its dicts.
        let n = self.len();
        if self.old.is_empty() && self.cur.capacity() > 64 && n * 8 < self.cur.capacity() {
            self.resize(n * 2, arena_len, &hash_of);
        }
        found
    }

    /// Re-points the entry of member `hash` from id `from` to id `to`.
    pub fn repoint(&mut self, hash: u64, from: u32, to: u32, hash_of: impl Fn(u32) -> u64) {
        if let Some(slot) = self.cur.find_mut(hash, |&i| i == from) {
            *slot = to;
        } else if let Ok(e) = self.old.find_entry(hash, |&i| i == from) {
            // Into `cur` at once: the walk may already be past `to`.
            e.remove();
            if self.cur.len() == self.cur.capacity() {
                self.finish(&hash_of);
            }
            self.cur.insert_unique(hash, to, |&i| hash_of(i));
        }
    }

    /// Every id, in no particular order.
    #[cfg(test)]
    pub fn ids(&self) -> impl Iterator<Item = u32> + '_ {
        self.cur.iter().chain(self.old.iter()).copied()
    }

    /// Starts moving every entry to a table with room for `want` entries.
    fn resize(&mut self, want: usize, arena_len: usize, hash_of: &impl Fn(u32) -> u64) {
        if !self.old.is_empty() {
            // Outgrown before the last resize finished (not reachable with
            // STEP ids per operation, kept as a safe fallback).
            self.finish(hash_of);
        }
        if self.cur.is_empty() {
            self.cur = HashTable::with_capacity(want);
            return;
        }
        self.old = std::mem::replace(&mut self.cur, HashTable::with_capacity(want));
        self.cursor = 0;
        self.end = arena_len as u32;
    }

    /// Moves up to STEP arena ids' entries from `old` to `cur`.
    fn step(&mut self, hash_of: &impl Fn(u32) -> u64) {
        if self.old.is_empty() {
            return;
        }
        let stop = self.cursor.saturating_add(STEP).min(self.end);
        for id in self.cursor..stop {
            let h = hash_of(id);
            if let Ok(e) = self.old.find_entry(h, |&i| i == id) {
                e.remove();
                self.cur.insert_unique(h, id, |&i| hash_of(i));
            }
        }
        self.cursor = stop;
        if self.cursor >= self.end && !self.old.is_empty() {
            self.finish(hash_of);
        }
        if self.old.is_empty() {
            // Free the drained table's memory.
            self.old = HashTable::new();
        }
    }

    /// Moves whatever is left in `old` at once.
    fn finish(&mut self, hash_of: &impl Fn(u32) -> u64) {
        let old = std::mem::take(&mut self.old);
        self.cur.reserve(old.len(), |&i| hash_of(i));
        for id in old {
            self.cur.insert_unique(hash_of(id), id, |&i| hash_of(i));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    fn h(id: u32) -> u64 {
        // Members are their ids here; a weak hash exercises collisions.
        u64::from(id % 1000).wrapping_mul(0x9e37_79b9_7f4a_7c15)
    }

    #[test]
    fn grows_in_steps_and_keeps_every_entry() {
        let mut ix = IdIndex::default();
        let mut max_old = 0;
        for id in 0..100_000u32 {
            ix.insert(h(id), id, id as usize + 1, h);
            max_old = max_old.max(ix.old.len());
            if id % 997 == 0 {
                for probe in [0, id / 2, id] {
                    assert_eq!(ix.find(h(probe), |i| i == probe), Some(probe));
                }
            }
        }
        assert!(
            max_old > 1000,
            "resizes moved entries incrementally ({max_old})"
        );
        assert_eq!(ix.len(), 100_000);
        let all: HashSet<u32> = ix.ids().collect();
        assert_eq!(all.len(), 100_000);
        assert_eq!(ix.find(h(100_001), |i| i == 100_001), None);
    }

    #[test]
    fn removal_and_repoint_during_a_resize() {
        let mut ix = IdIndex::default();
        let mut arena: Vec<u32> = Vec::new(); // slot -> member
                                              // Build until a resize is under way.
        while ix.old.is_empty() || ix.len() < 5000 {
            let id = arena.len() as u32;
            let member = id;
            arena.push(member);
            ix.insert(h(member), id, arena.len(), |i| h(arena_member(&arena, i)));
        }
        // Swap-remove members from the front: the last moves into the hole.
        for _ in 0..2000 {
            let victim = 0u32;
            let m = arena[0];
            let last = (arena.len() - 1) as u32;
            assert!(ix.remove(h(m), victim, arena.len(), |i| h(arena_member(&arena, i))));
            if last != victim {
                let lm = arena[last as usize];
                ix.repoint(h(lm), last, victim, |i| h(arena_member(&arena, i)));
            }
            arena.swap_remove(0);
        }
        assert_eq!(ix.len(), arena.len());
        for (id, &m) in arena.iter().enumerate() {
            assert_eq!(
                ix.find(h(m), |i| i == id as u32),
                Some(id as u32),
                "member {m}"
            );
        }
        // Shrinks back once most are gone, still complete.
        while arena.len() > 10 {
            let last = (arena.len() - 1) as u32;
            let m = arena[last as usize];
            assert!(ix.remove(h(m), last, arena.len(), |i| h(arena_member(&arena, i))));
            arena.pop();
        }
        assert_eq!(ix.len(), 10);
        assert!(ix.cur.capacity() + ix.old.capacity() < 1000);
    }

    fn arena_member(arena: &[u32], i: u32) -> u32 {
        arena.get(i as usize).copied().unwrap_or(u32::MAX)
    }
}
