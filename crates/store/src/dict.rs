//! The keyspace dictionary: a chained hash table that never stalls, after Redis's
//! `dict.c`.
//!
//! ```text
//!   ht[0] (old, size 2^n)          ht[1] (new, size 2^(n+1)), only while rehashing
//!   [0] -> node -> node            [0] -> node
//!   [1] -> (moved)                 [1]
//!   ...  ^ rehash_idx              ...
//! ```
//!
//! * **Incremental rehash.** Growing or shrinking creates the new bucket array (in
//!   8 KiB chunks allocated on first use, so that is cheap too) and then moves a few buckets per
//!   write (`insert`, `remove`, `get_mut`) and per [`Dict::rehash_step`] call from the
//!   server cron. No single operation touches more than a bounded number of
//!   buckets, unlike a doubling `HashMap` (measured: a 1.2 s stall at 3.7 M keys).
//! * **SCAN guarantee.** Table sizes are powers of two and the cursor is incremented
//!   on its *reversed* bits, so the buckets already visited in a table of size 2^n
//!   map to exactly the buckets already visited in a table of 2^m: every key present
//!   for the whole scan is returned at least once, across any resizes (it may be
//!   returned twice).
//! * **Hash.** foldhash with a random per-process and per-table seed: several times
//!   faster than SipHash-1-2 (what Redis uses) on short keys, and the random seed
//!   keeps an attacker from choosing colliding keys offline. A chain only costs
//!   time, never correctness, so a statistical (not cryptographic) guarantee is
//!   enough here.
//! * **Memory.** One boxed node per key (key, value, next: 24 + size_of V + 8
//!   bytes; keys up to 22 bytes live inside the node, longer ones in an
//!   allocation of their own) plus one 8-byte bucket pointer per slot at load
//!   factor <= 1. Measured with jemalloc through the server: 1M keys of 16 bytes
//!   with 64-byte values take 156 B/key of RSS (174 with every key allocated
//!   apart); redis-server 7.0.15 takes 178.
//!
//! Measured (release, 2 loaded cores, `latency_4m_inserts`): 4M inserts, worst
//! single insert tens of ms from scheduler noise vs 650-770 ms for hashbrown's
//! doubling in the same run; the remaining long tail is glibc's
//! `malloc_consolidate` (gone with jemalloc or `glibc.malloc.mxfast=0`).

use std::hash::{BuildHasher, Hasher};

use foldhash::fast::RandomState;

use crate::inline::InlineBytes;

/// Smallest non-empty table (Redis's `DICT_HT_INITIAL_SIZE`).
const INITIAL_SIZE: usize = 4;
/// Shrink when fewer than 1 in `MIN_FILL` slots is used (Redis's `HASHTABLE_MIN_FILL`).
const MIN_FILL: usize = 10;
/// Buckets moved per write operation while a rehash is in progress (Redis: 1).
const STEP_PER_OP: usize = 1;

struct Node<V> {
    key: Key,
    val: V,
    next: Option<Box<Node<V>>>,
}

/// A key as the table stores it: short keys (most keys) inside the node, longer
/// ones on the heap (see `inline`).
type Key = InlineBytes;

type Bucket<V> = Option<Box<Node<V>>>;

/// Buckets per chunk of a bucket array (8 KiB). The array is a list of chunks
/// allocated on first use, so creating a table of 2^23 slots costs a small
/// allocation, not a 64 MiB memset that would stall the node.
const CHUNK_SHIFT: u32 = 10;
const CHUNK: usize = 1 << CHUNK_SHIFT;

struct Table<V> {
    chunks: Vec<Option<Box<[Bucket<V>]>>>,
    size: usize,
    used: usize,
}

impl<V> Table<V> {
    const fn empty() -> Self {
        Table {
            chunks: Vec::new(),
            size: 0,
            used: 0,
        }
    }
    fn with_size(n: usize) -> Self {
        let nchunks = n.div_ceil(CHUNK);
        Table {
            chunks: std::iter::repeat_with(|| None).take(nchunks).collect(),
            size: n,
            used: 0,
        }
    }
    fn size(&self) -> usize {
        self.size
    }
    fn mask(&self) -> u64 {
        (self.size as u64).wrapping_sub(1)
    }
    fn head(&self, i: usize) -> Option<&Node<V>> {
        match &self.chunks[i >> CHUNK_SHIFT] {
            Some(c) => c[i & (CHUNK - 1)].as_deref(),
            None => None,
        }
    }
    /// The slot, if its chunk exists.
    fn slot_mut(&mut self, i: usize) -> Option<&mut Bucket<V>> {
        match &mut self.chunks[i >> CHUNK_SHIFT] {
            Some(c) => Some(&mut c[i & (CHUNK - 1)]),
            None => None,
        }
    }
    /// The slot, allocating its chunk on first use.
    fn slot_alloc(&mut self, i: usize) -> &mut Bucket<V> {
        let len = self.size.min(CHUNK);
        let c = self.chunks[i >> CHUNK_SHIFT]
            .get_or_insert_with(|| std::iter::repeat_with(|| None).take(len).collect());
        &mut c[i & (CHUNK - 1)]
    }
    fn find(&self, h: u64, key: &[u8]) -> Option<&Node<V>> {
        if self.size == 0 {
            return None;
        }
        let mut cur = self.head((h & self.mask()) as usize);
        while let Some(n) = cur {
            if n.key.as_slice() == key {
                return Some(n);
            }
            cur = n.next.as_deref();
        }
        None
    }
    fn find_mut(&mut self, h: u64, key: &[u8]) -> Option<&mut Node<V>> {
        if self.size == 0 {
            return None;
        }
        let idx = (h & self.mask()) as usize;
        let mut cur = self.slot_mut(idx)?.as_deref_mut();
        while let Some(n) = cur {
            if n.key.as_slice() == key {
                return Some(n);
            }
            cur = n.next.as_deref_mut();
        }
        None
    }
    fn unlink(&mut self, h: u64, key: &[u8]) -> Option<Box<Node<V>>> {
        if self.size == 0 {
            return None;
        }
        let idx = (h & self.mask()) as usize;
        let mut slot = self.slot_mut(idx)?;
        while slot.as_ref().is_some_and(|n| n.key.as_slice() != key) {
            slot = &mut slot.as_mut()?.next;
        }
        let mut node = slot.take()?;
        *slot = node.next.take();
        self.used -= 1;
        Some(node)
    }
    fn push(&mut self, h: u64, mut node: Box<Node<V>>) {
        let idx = (h & self.mask()) as usize;
        let slot = self.slot_alloc(idx);
        node.next = slot.take();
        *slot = Some(node);
        self.used += 1;
    }
    /// Takes a whole chain out of slot `i`.
    fn take_chain(&mut self, i: usize) -> Bucket<V> {
        self.slot_mut(i).and_then(Option::take)
    }
    /// Frees every chain iteratively (a recursive drop of a long chain could
    /// overflow the stack).
    fn free(&mut self) {
        for c in self.chunks.iter_mut().flatten() {
            for b in c.iter_mut() {
                let mut cur = b.take();
                while let Some(mut n) = cur {
                    cur = n.next.take();
                }
            }
        }
        *self = Table::empty();
    }
}

/// A map from binary keys to `V` that grows and shrinks without stalls.
pub struct Dict<V> {
    ht: [Table<V>; 2],
    /// Next bucket of `ht[0]` to move to `ht[1]`; `None` when not rehashing.
    rehash_idx: Option<usize>,
    hasher: RandomState,
}

impl<V> Default for Dict<V> {
    fn default() -> Self {
        Dict {
            ht: [Table::empty(), Table::empty()],
            rehash_idx: None,
            hasher: RandomState::default(),
        }
    }
}

impl<V> Drop for Dict<V> {
    fn drop(&mut self) {
        self.ht[0].free();
        self.ht[1].free();
    }
}

impl<V: Clone> Clone for Dict<V> {
    fn clone(&self) -> Self {
        let mut d = Dict::new();
        d.expand(self.len());
        for (k, v) in self.iter() {
            d.insert(k, v.clone());
        }
        d
    }
}

impl<V> std::fmt::Debug for Dict<V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Dict")
            .field("len", &self.len())
            .field("sizes", &[self.ht[0].size(), self.ht[1].size()])
            .field("rehashing", &self.rehash_idx.is_some())
            .finish()
    }
}

impl<V> Dict<V> {
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        let mut h = self.hasher.build_hasher();
        h.write(key);
        h.finish()
    }

    pub fn len(&self) -> usize {
        self.ht[0].used + self.ht[1].used
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Whether an incremental rehash is in progress.
    pub fn is_rehashing(&self) -> bool {
        self.rehash_idx.is_some()
    }
    /// Number of bucket slots over both tables (INFO / MEMORY STATS).
    pub fn slots(&self) -> usize {
        self.ht[0].size() + self.ht[1].size()
    }
    /// Approximate bytes used by the table itself: bucket arrays and nodes (not
    /// the key bytes nor what the values point to). O(1).
    pub fn mem_usage(&self) -> usize {
        let node = std::mem::size_of::<Node<V>>();
        self.slots() * std::mem::size_of::<Bucket<V>>() + self.len() * node
    }

    fn find(&self, key: &[u8]) -> Option<&Node<V>> {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        self.ht[0].find(h, key).or_else(|| {
            if self.rehash_idx.is_some() {
                self.ht[1].find(h, key)
            } else {
                None
            }
        })
    }

    fn find_mut(&mut self, key: &[u8]) -> Option<&mut Node<V>> {
        if self.is_empty() {
            return None;
        }
        let h = self.hash(key);
        self.find_mut_h(h, key)
    }

    fn find_mut_h(&mut self, h: u64, key: &[u8]) -> Option<&mut Node<V>> {
        if self.is_empty() {
            return None;
        }
        let [t0, t1] = &mut self.ht;
        if let Some(n) = t0.find_mut(h, key) {
            return Some(n);
        }
        t1.find_mut(h, key)
    }

    pub fn get(&self, key: &[u8]) -> Option<&V> {
        self.find(key).map(|n| &n.val)
    }
    /// The stored key and value (the key as the table owns it).
    pub fn get_key_value(&self, key: &[u8]) -> Option<(&[u8], &V)> {
        self.find(key).map(|n| (n.key.as_slice(), &n.val))
    }
    pub fn get_mut(&mut self, key: &[u8]) -> Option<&mut V> {
        self.rehash_if_needed();
        self.find_mut(key).map(|n| &mut n.val)
    }
    pub fn contains_key(&self, key: &[u8]) -> bool {
        self.find(key).is_some()
    }

    /// Inserts or replaces; returns the previous value.
    pub fn insert(&mut self, key: &[u8], value: V) -> Option<V> {
        self.rehash_if_needed();
        let h = self.hash(key);
        if let Some(n) = self.find_mut_h(h, key) {
            return Some(std::mem::replace(&mut n.val, value));
        }
        self.insert_new(h, Key::new(key), value);
        None
    }

    /// Like [`Dict::insert`] with an owned key (no copy of a long key when it
    /// moves between tables, e.g. RENAME, MOVE).
    pub fn insert_owned(&mut self, key: Box<[u8]>, value: V) -> Option<V> {
        self.rehash_if_needed();
        let h = self.hash(&key);
        if let Some(n) = self.find_mut_h(h, &key) {
            return Some(std::mem::replace(&mut n.val, value));
        }
        self.insert_new(h, Key::from_box(key), value);
        None
    }

    /// Inserts a key that must not be there yet, with one look-up; gives the key
    /// and value back when it is (a snapshot's duplicated key).
    pub fn try_insert_owned(&mut self, key: Box<[u8]>, value: V) -> Result<(), (Box<[u8]>, V)> {
        self.rehash_if_needed();
        let h = self.hash(&key);
        if self.find_mut_h(h, &key).is_some() {
            return Err((key, value));
        }
        self.insert_new(h, Key::from_box(key), value);
        Ok(())
    }

    fn insert_new(&mut self, h: u64, key: Key, val: V) {
        self.expand_if_needed();
        let node = Box::new(Node {
            key,
            val,
            next: None,
        });
        // While rehashing new keys go to the new table, so the old one only shrinks.
        let t = if self.rehash_idx.is_some() { 1 } else { 0 };
        self.ht[t].push(h, node);
    }

    pub fn remove(&mut self, key: &[u8]) -> Option<V> {
        self.remove_entry(key).map(|(_, v)| v)
    }

    /// Removes and returns the owned key with its value.
    pub fn remove_entry(&mut self, key: &[u8]) -> Option<(Box<[u8]>, V)> {
        if self.is_empty() {
            return None;
        }
        self.rehash_if_needed();
        let h = self.hash(key);
        let node = match self.ht[0].unlink(h, key) {
            Some(n) => Some(n),
            None if self.rehash_idx.is_some() => self.ht[1].unlink(h, key),
            None => None,
        }?;
        self.shrink_if_needed();
        let Node { key, val, .. } = *node;
        Some((key.into_box(), val))
    }

    /// Drops every entry (synchronously; see `lazyfree` for the background path).
    pub fn clear(&mut self) {
        self.ht[0].free();
        self.ht[1].free();
        self.rehash_idx = None;
    }

    pub fn iter(&self) -> Iter<'_, V> {
        Iter {
            dict: self,
            table: 0,
            bucket: 0,
            node: None,
        }
    }

    /// Pre-sizes the table for `n` keys (loading a snapshot, COPY of a db).
    pub fn expand(&mut self, n: usize) {
        if self.rehash_idx.is_some() || n <= self.ht[0].size() {
            return;
        }
        self.resize_to(n);
    }

    fn resize_to(&mut self, n: usize) {
        let size = n.max(INITIAL_SIZE).checked_next_power_of_two().unwrap_or(n);
        if size == self.ht[0].size() {
            return;
        }
        if self.ht[0].size() == 0 {
            self.ht[0] = Table::with_size(size);
            return;
        }
        self.ht[1] = Table::with_size(size);
        self.rehash_idx = Some(0);
    }

    fn expand_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        let t = &self.ht[0];
        if t.size() == 0 {
            self.resize_to(INITIAL_SIZE);
        } else if t.used >= t.size() {
            // Load factor 1 as Redis (no fork here, so no need to tolerate 5).
            self.resize_to(t.used + 1);
        }
    }

    fn shrink_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            return;
        }
        let t = &self.ht[0];
        if t.size() > INITIAL_SIZE && t.used * MIN_FILL < t.size() {
            self.resize_to(t.used);
        }
    }

    /// First half of a batch prefetch: asks the CPU to start loading the bucket
    /// `key` hashes to, and returns the hash for [`Dict::prefetch_node`]. See
    /// [`prefetch`] for why.
    pub fn prefetch_bucket(&self, key: &[u8]) -> u64 {
        let h = self.hash(key);
        for t in self.tables() {
            if let Some(c) = &t.chunks[(h & t.mask()) as usize >> CHUNK_SHIFT] {
                prefetch(&c[(h & t.mask()) as usize & (CHUNK - 1)]);
            }
        }
        h
    }

    /// Second half of a batch prefetch: the bucket is loaded by now (or on its
    /// way), so the first node of its chain can be asked for too.
    pub fn prefetch_node(&self, h: u64) {
        for t in self.tables() {
            if let Some(n) = t.head((h & t.mask()) as usize) {
                prefetch(n);
            }
        }
    }

    /// The tables a key can be in: the old one, and the new one while rehashing.
    fn tables(&self) -> impl Iterator<Item = &Table<V>> {
        let n = if self.rehash_idx.is_some() { 2 } else { 1 };
        self.ht[..n].iter().filter(|t| t.size > 0)
    }

    #[inline]
    fn rehash_if_needed(&mut self) {
        if self.rehash_idx.is_some() {
            self.rehash_step(STEP_PER_OP);
        }
    }

    /// Moves up to `buckets` buckets of the old table to the new one (visiting at
    /// most 10 empty buckets per requested bucket, as Redis). Returns true if more
    /// rehashing remains.
    pub fn rehash_step(&mut self, buckets: usize) -> bool {
        if self.rehash_idx.is_none() {
            // Called from the cron: a table left sparse by deletions starts shrinking
            // here (Redis's `tryResizeHashTables`).
            self.shrink_if_needed();
        }
        let Some(mut idx) = self.rehash_idx else {
            return false;
        };
        let mut empty_visits = buckets.saturating_mul(10).max(1);
        let mut moved = 0;
        let [t0, t1] = &mut self.ht;
        while moved < buckets && t0.used > 0 && idx < t0.size() {
            let chunk = idx >> CHUNK_SHIFT;
            if t0.chunks[chunk].is_none() {
                // A never-used (or already migrated) chunk: skip it whole.
                idx = (chunk + 1) << CHUNK_SHIFT;
                empty_visits -= 1;
                if empty_visits == 0 {
                    break;
                }
                continue;
            }
            let mut cur = t0.take_chain(idx);
            idx += 1;
            if idx & (CHUNK - 1) == 0 {
                // Every bucket of this chunk has been moved: give it back now.
                t0.chunks[chunk] = None;
            }
            if cur.is_none() {
                empty_visits -= 1;
                if empty_visits == 0 {
                    break;
                }
                continue;
            }
            while let Some(mut n) = cur {
                cur = n.next.take();
                let mut h = self.hasher.build_hasher();
                h.write(n.key.as_slice());
                t0.used -= 1;
                t1.push(h.finish(), n);
            }
            moved += 1;
        }
        if t0.used == 0 {
            // Done: the new table becomes the only one. The old array is all `None`
            // now, so dropping it is just a free.
            self.ht[0] = std::mem::replace(&mut self.ht[1], Table::empty());
            self.rehash_idx = None;
            // Deletions during a shrink may call for a smaller table still.
            self.shrink_if_needed();
            return self.rehash_idx.is_some();
        }
        self.rehash_idx = Some(idx);
        true
    }

    /// Rehashes in batches of 100 buckets until done or `budget` has passed (Redis's
    /// `dictRehashMilliseconds`, called from the server cron). Returns true if more
    /// remains.
    pub fn rehash_for(&mut self, budget: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        while self.rehash_step(100) {
            if start.elapsed() >= budget {
                return true;
            }
        }
        false
    }

    fn random_u64() -> u64 {
        rand::random()
    }

    /// A random entry (RANDOMKEY, eviction and expiry sampling): a random non-empty
    /// bucket, then a random node of its chain. Chains are short at load factor
    /// <= 1, so this is close to uniform.
    pub fn random_entry(&self) -> Option<(&[u8], &V)> {
        if self.is_empty() {
            return None;
        }
        let (s0, s1) = (self.ht[0].size(), self.ht[1].size());
        let first = self.rehash_idx.unwrap_or(0);
        let span = s0 - first + if self.rehash_idx.is_some() { s1 } else { 0 };
        let mut head = None;
        // The fill is >= 1/10 (we shrink below that), so ~10 tries are expected;
        // fall back to a linear walk from a random point if unlucky.
        for _ in 0..1000 {
            let i = first + (Self::random_u64() % span as u64) as usize;
            let b = if i < s0 {
                self.ht[0].head(i)
            } else {
                self.ht[1].head(i - s0)
            };
            if let Some(n) = b {
                head = Some(n);
                break;
            }
        }
        let head = match head {
            Some(h) => h,
            None => {
                let skip = (Self::random_u64() % self.len() as u64) as usize;
                return self.iter().nth(skip);
            }
        };
        let mut len = 0;
        let mut cur = Some(head);
        while let Some(n) = cur {
            len += 1;
            cur = n.next.as_deref();
        }
        let pick = (Self::random_u64() % len as u64) as usize;
        let mut n = head;
        for _ in 0..pick {
            match n.next.as_deref() {
                Some(x) => n = x,
                None => break,
            }
        }
        Some((n.key.as_slice(), &n.val))
    }

    /// Visits up to `count` entries found from a random bucket on (Redis's
    /// `dictGetSomeKeys`: cheap, not uniform, good enough for eviction sampling).
    pub fn sample(&self, count: usize, mut f: impl FnMut(&[u8], &V)) {
        if self.is_empty() || count == 0 {
            return;
        }
        let count = count.min(self.len());
        let tables = if self.rehash_idx.is_some() { 2 } else { 1 };
        let maxsize = self.ht[0].size().max(self.ht[1].size());
        let mut i = (Self::random_u64() as usize) & (maxsize - 1);
        let mut found = 0;
        let mut steps = count * 10;
        let mut empty_run = 0;
        while found < count && steps > 0 {
            steps -= 1;
            let mut empty = true;
            for t in 0..tables {
                let tab = &self.ht[t];
                // Buckets of ht[0] below rehash_idx are already moved.
                if t == 0 && self.rehash_idx.is_some_and(|r| i < r) {
                    continue;
                }
                if i >= tab.size() {
                    continue;
                }
                let mut cur = tab.head(i);
                while let Some(n) = cur {
                    empty = false;
                    f(n.key.as_slice(), &n.val);
                    found += 1;
                    if found == count {
                        return;
                    }
                    cur = n.next.as_deref();
                }
            }
            if empty {
                empty_run += 1;
                // A long empty stretch (e.g. the unfilled half of a growing
                // table): jump elsewhere, as Redis's `dictGetSomeKeys`.
                if empty_run >= 5 && empty_run > count {
                    i = (Self::random_u64() as usize) & (maxsize - 1);
                    empty_run = 0;
                    continue;
                }
            } else {
                empty_run = 0;
            }
            i = (i + 1) & (maxsize - 1);
        }
    }

    /// Visits the entries of one cursor position and returns the next cursor
    /// (0 = the scan is complete). See the module docs for the guarantee.
    pub fn scan<'a>(&'a self, cursor: u64, mut f: impl FnMut(&'a [u8], &'a V)) -> u64 {
        if self.is_empty() {
            return 0;
        }
        let emit = |t: &'a Table<V>, i: u64, f: &mut dyn FnMut(&'a [u8], &'a V)| {
            let mut cur = t.head(i as usize);
            while let Some(n) = cur {
                f(n.key.as_slice(), &n.val);
                cur = n.next.as_deref();
            }
        };
        let mut v = cursor;
        if self.rehash_idx.is_none() {
            let t = &self.ht[0];
            let m0 = t.mask();
            emit(t, v & m0, &mut f);
            v |= !m0;
            v = v.reverse_bits().wrapping_add(1).reverse_bits();
        } else {
            let (small, large) = if self.ht[0].size() <= self.ht[1].size() {
                (&self.ht[0], &self.ht[1])
            } else {
                (&self.ht[1], &self.ht[0])
            };
            let (m0, m1) = (small.mask(), large.mask());
            emit(small, v & m0, &mut f);
            // Then every bucket of the larger table that expands the small one's.
            loop {
                emit(large, v & m1, &mut f);
                v |= !m1;
                v = v.reverse_bits().wrapping_add(1).reverse_bits();
                if v & (m0 ^ m1) == 0 {
                    break;
                }
            }
        }
        v
    }
}

/// Iterator over a [`Dict`]'s entries (both tables while rehashing).
pub struct Iter<'a, V> {
    dict: &'a Dict<V>,
    table: usize,
    bucket: usize,
    node: Option<&'a Node<V>>,
}

impl<'a, V> Iterator for Iter<'a, V> {
    type Item = (&'a [u8], &'a V);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(n) = self.node {
                self.node = n.next.as_deref();
                return Some((n.key.as_slice(), &n.val));
            }
            if self.table > 1 {
                return None;
            }
            let t = &self.dict.ht[self.table];
            if self.bucket >= t.size() {
                self.table += 1;
                self.bucket = 0;
                continue;
            }
            self.node = t.head(self.bucket);
            self.bucket += 1;
        }
    }
}

#[cfg(test)]
#[path = "dict_tests.rs"]
mod tests;

/// Asks the CPU to start loading the cache line of `r` without waiting for it.
///
/// A lookup walks bucket -> node, and at a few hundred thousand keys each step is
/// a cache miss the CPU waits for (a profile of INCR at -P 16 showed a quarter of
/// the node's time on those two loads). A connection runs a whole pipelined batch
/// at once, so it first asks for the buckets of every key of the batch, then for
/// their nodes, and the misses overlap instead of following one another.
#[inline]
fn prefetch<T>(r: &T) {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: a prefetch is only a hint: it never faults, reads nothing into the
    // program and changes no memory; `r` is a live reference anyway. SSE, which
    // the intrinsic needs, is part of the x86_64 baseline.
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            (r as *const T).cast::<i8>(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = r;
}
