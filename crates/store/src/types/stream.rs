//! Stream values (Redis 7.0's `t_stream.c` data model).
//!
//! Entries live in *nodes* keyed by their first ("master") ID, as Redis keeps a
//! radix tree of listpacks. Tandem keeps the same node boundaries on purpose:
//! approximate trimming (`MAXLEN ~`, `MINID ~`) removes only whole nodes, so the
//! entries a client sees after it, and XINFO's `radix-tree-keys`, depend on where
//! Redis would have cut. A node is a vector of entries in ID order; XDEL and exact
//! trims only mark an entry deleted (Redis flags it in the listpack), and a node
//! whose last live entry goes is dropped. Each node tracks the byte size its
//! listpack would have, because Redis opens a new node when the tail listpack
//! plus the new entry's strings would reach `stream-node-max-bytes`.
//!
//! Consumer groups hold their pending entries list (PEL) keyed by ID, and each
//! consumer its own set of pending IDs; both are ordered, as Redis's rax are.

use std::collections::{BTreeMap, BTreeSet};

use crate::keyspace::StoreConfig;
use crate::util::parse_i64;

/// A stream entry ID, `ms-seq`; ordered as Redis compares them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl StreamId {
    pub const MIN: StreamId = StreamId { ms: 0, seq: 0 };
    pub const MAX: StreamId = StreamId {
        ms: u64::MAX,
        seq: u64::MAX,
    };

    pub fn new(ms: u64, seq: u64) -> Self {
        StreamId { ms, seq }
    }

    /// The next ID (Redis's `streamIncrID`); None past the largest.
    pub fn incr(self) -> Option<StreamId> {
        if self.seq < u64::MAX {
            Some(StreamId::new(self.ms, self.seq + 1))
        } else if self.ms < u64::MAX {
            Some(StreamId::new(self.ms + 1, 0))
        } else {
            None
        }
    }

    /// The previous ID (Redis's `streamDecrID`); None before 0-0.
    pub fn decr(self) -> Option<StreamId> {
        if self.seq > 0 {
            Some(StreamId::new(self.ms, self.seq - 1))
        } else if self.ms > 0 {
            Some(StreamId::new(self.ms - 1, u64::MAX))
        } else {
            None
        }
    }

    pub fn is_zero(self) -> bool {
        self == StreamId::MIN
    }

    /// The `ms-seq` text.
    pub fn text(self) -> String {
        format!("{}-{}", self.ms, self.seq)
    }

    /// The 16-byte big-endian form Redis uses as a radix tree key.
    pub fn key_bytes(self) -> [u8; 16] {
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&self.ms.to_be_bytes());
        k[8..].copy_from_slice(&self.seq.to_be_bytes());
        k
    }
}

/// Redis's `SCG_INVALID_ENTRIES_READ`: a group's read counter that is not known.
pub const INVALID_ENTRIES_READ: i64 = -1;

/// One entry, borrowed from its node: its ID and its field/value strings.
#[derive(Debug, Clone, Copy)]
pub struct Entry<'a> {
    pub id: StreamId,
    /// Stored without its fields (they are the node's master fields).
    same: bool,
    /// The encoded strings (see [`Node`]).
    data: &'a [u8],
    /// The node's master fields, for an entry stored without its fields.
    master: &'a [Box<[u8]>],
}

impl<'a> Entry<'a> {
    /// Number of strings (fields plus values).
    pub fn len(&self) -> usize {
        if self.same {
            self.master.len() * 2
        } else {
            read_varint(self.data).0 as usize
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The strings in order: `f1 v1 f2 v2 ...`.
    pub fn strings(&self) -> impl Iterator<Item = &'a [u8]> + 'a {
        let same = self.same;
        let (n, mut at) = if same {
            (self.master.len() * 2, 0)
        } else {
            let (n, used) = read_varint(self.data);
            (n as usize, used)
        };
        let (data, master) = (self.data, self.master);
        (0..n).map(move |i| {
            if same && i % 2 == 0 {
                return &*master[i / 2];
            }
            let (len, used) = read_varint(&data[at..]);
            let s = &data[at + used..at + used + len as usize];
            at += used + len as usize;
            s
        })
    }

    /// The (field, value) pairs.
    pub fn pairs(&self) -> impl Iterator<Item = (&'a [u8], &'a [u8])> + 'a {
        let mut it = self.strings();
        std::iter::from_fn(move || Some((it.next()?, it.next()?)))
    }
}

/// An entry's flags and its ID as deltas from the node's master ID.
fn push_header(out: &mut Vec<u8>, flags: u8, master: StreamId, id: StreamId) {
    out.push(flags);
    write_varint(out, id.ms.wrapping_sub(master.ms));
    let d = id.seq.wrapping_sub(master.seq) as i64;
    write_varint(out, ((d << 1) ^ (d >> 63)) as u64);
}

fn write_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push(v as u8 | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// A LEB128 number at the start of `b` (written by `write_varint`) and its size.
fn read_varint(b: &[u8]) -> (u64, usize) {
    let mut v = 0u64;
    for (i, &x) in b.iter().enumerate().take(10) {
        v |= u64::from(x & 0x7f) << (7 * i);
        if x & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    (v, b.len())
}

/// Entry flags, as Redis's listpack entries have them.
const FLAG_DELETED: u8 = 1;
const FLAG_SAMEFIELDS: u8 = 2;

/// A node: its entries in one buffer, about as compact as Redis's listpack.
/// An entry is its flags byte ([`FLAG_DELETED`], [`FLAG_SAMEFIELDS`]), its ID
/// as LEB128 deltas from the node's master ID (milliseconds, then the sequence
/// zigzag-coded: it may go down when the milliseconds go up), then its strings,
/// each a LEB128 length and the bytes: all of them after a count, or only the
/// values when the fields are the node's master fields. `ends[i]` is where
/// entry `i` ends; IDs are decoded where needed (a binary search decodes a
/// few).
#[derive(Debug, Clone)]
struct Node {
    master_id: StreamId,
    /// The fields of the entry that opened the node (Redis's master entry).
    master_fields: Box<[Box<[u8]>]>,
    ends: Vec<u32>,
    data: Vec<u8>,
    live: usize,
    /// Bytes of the node's listpack other than the header, the end byte and the
    /// live/deleted counters (which are [`Node::lp_bytes`]'s to add).
    body: usize,
}

impl Node {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn deleted(&self) -> usize {
        self.len() - self.live
    }

    /// The size Redis's listpack for this node would have.
    fn lp_bytes(&self) -> usize {
        7 + lp_int(self.live as i64) + lp_int(self.deleted() as i64) + self.body
    }

    fn start(&self, i: usize) -> usize {
        if i == 0 {
            0
        } else {
            self.ends[i - 1] as usize
        }
    }

    /// Entry `i`'s flags, ID and where its strings start.
    fn header(&self, i: usize) -> (u8, StreamId, usize) {
        let at = self.start(i);
        let flags = self.data[at];
        let (dms, a) = read_varint(&self.data[at + 1..]);
        let (zseq, b) = read_varint(&self.data[at + 1 + a..]);
        let dseq = (zseq >> 1) ^ (zseq & 1).wrapping_neg();
        let id = StreamId::new(
            self.master_id.ms.wrapping_add(dms),
            self.master_id.seq.wrapping_add(dseq),
        );
        (flags, id, at + 1 + a + b)
    }

    fn id(&self, i: usize) -> StreamId {
        self.header(i).1
    }

    fn is_dead(&self, i: usize) -> bool {
        self.data[self.start(i)] & FLAG_DELETED != 0
    }

    fn set_dead(&mut self, i: usize) {
        let at = self.start(i);
        self.data[at] |= FLAG_DELETED;
    }

    /// The first index whose ID is not below `id` (or above it, with `after`).
    fn bound(&self, id: StreamId, after: bool) -> usize {
        let (mut lo, mut hi) = (0, self.len());
        while lo < hi {
            let mid = (lo + hi) / 2;
            let m = self.id(mid);
            if m < id || (after && m == id) {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        lo
    }

    fn find(&self, id: StreamId) -> Option<usize> {
        let i = self.bound(id, false);
        (i < self.len() && self.id(i) == id).then_some(i)
    }

    fn last_id(&self) -> StreamId {
        match self.len() {
            0 => StreamId::MIN,
            n => self.id(n - 1),
        }
    }

    fn entry(&self, i: usize) -> Entry<'_> {
        let (flags, id, at) = self.header(i);
        Entry {
            id,
            same: flags & FLAG_SAMEFIELDS != 0,
            data: &self.data[at..self.ends[i] as usize],
            master: &self.master_fields,
        }
    }

    /// Indexes of the live entries with IDs in `[start, end]`.
    fn live_in(
        &self,
        start: StreamId,
        end: StreamId,
    ) -> impl DoubleEndedIterator<Item = usize> + '_ {
        let lo = self.bound(start, false);
        let hi = self.bound(end, true);
        (lo..hi.max(lo)).filter(move |&i| !self.is_dead(i))
    }

    fn heap_bytes(&self) -> usize {
        self.ends.capacity() * 4
            + self.data.capacity()
            + self
                .master_fields
                .iter()
                .map(|f| f.len() + 16)
                .sum::<usize>()
    }

    /// Gives back spare capacity once the node is no longer the tail.
    fn shrink(&mut self) {
        self.ends.shrink_to_fit();
        self.data.shrink_to_fit();
    }
}

/// Bytes a listpack element takes: its encoding plus the back-length.
fn lp_elem(enc: usize) -> usize {
    enc + match enc {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// Bytes of an integer element.
fn lp_int(v: i64) -> usize {
    lp_elem(match v {
        0..=127 => 1,
        -4096..=4095 => 2,
        -32768..=32767 => 3,
        -8388608..=8388607 => 4,
        -2147483648..=2147483647 => 5,
        _ => 9,
    })
}

/// Bytes of a string element (stored as an integer when it reads as one).
fn lp_str(s: &[u8]) -> usize {
    if s.len() <= 20 {
        if let Some(v) = parse_i64(s) {
            return lp_int(v);
        }
    }
    lp_elem(match s.len() {
        0..=63 => 1 + s.len(),
        64..=4095 => 2 + s.len(),
        _ => 5 + s.len(),
    })
}

/// The largest listpack Redis lets a node grow to (`STREAM_LISTPACK_MAX_SIZE`).
const LISTPACK_MAX: u64 = 1 << 30;

/// A pending entry of a group: who has it, since when, how many deliveries.
#[derive(Debug, Clone)]
pub struct Nack {
    pub consumer: Box<[u8]>,
    pub delivery_time: i64,
    pub delivery_count: u64,
}

#[derive(Debug, Clone, Default)]
pub struct Consumer {
    pub seen_time: i64,
    pub pel: BTreeSet<StreamId>,
}

#[derive(Debug, Clone)]
pub struct Group {
    pub last_id: StreamId,
    pub entries_read: i64,
    pub pel: BTreeMap<StreamId, Nack>,
    pub consumers: BTreeMap<Box<[u8]>, Consumer>,
}

impl Group {
    pub fn new(last_id: StreamId, entries_read: i64) -> Self {
        Group {
            last_id,
            entries_read,
            pel: BTreeMap::new(),
            consumers: BTreeMap::new(),
        }
    }

    /// Removes `id` from the group's PEL and its consumer's; false if not pending.
    pub fn ack(&mut self, id: StreamId) -> bool {
        match self.pel.remove(&id) {
            Some(n) => {
                if let Some(c) = self.consumers.get_mut(&n.consumer) {
                    c.pel.remove(&id);
                }
                true
            }
            None => false,
        }
    }

    /// Makes `id` pending for `consumer` (which must exist): a new NACK with one
    /// delivery, or an existing one moved over and reset, as a delivery by
    /// XREADGROUP does.
    pub fn deliver(&mut self, id: StreamId, consumer: &[u8], now: i64) {
        if let Some(old) = self.pel.get(&id) {
            if let Some(c) = self.consumers.get_mut(&old.consumer) {
                c.pel.remove(&id);
            }
        }
        self.pel.insert(
            id,
            Nack {
                consumer: consumer.into(),
                delivery_time: now,
                delivery_count: 1,
            },
        );
        if let Some(c) = self.consumers.get_mut(consumer) {
            c.pel.insert(id);
        }
    }

    /// The consumer named `name`, created (with `seen_time = now`) if missing;
    /// returns whether it was created.
    pub fn consumer_or_create(&mut self, name: &[u8], now: i64) -> bool {
        if self.consumers.contains_key(name) {
            return false;
        }
        self.consumers.insert(
            name.into(),
            Consumer {
                seen_time: now,
                pel: BTreeSet::new(),
            },
        );
        true
    }
}

/// How a trim decides what goes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TrimTo {
    MaxLen(u64),
    MinId(StreamId),
}

#[derive(Debug, Clone)]
pub struct Stream {
    nodes: BTreeMap<StreamId, Node>,
    length: u64,
    pub last_id: StreamId,
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    pub groups: BTreeMap<Box<[u8]>, Group>,
}

impl Default for Stream {
    fn default() -> Self {
        Stream {
            nodes: BTreeMap::new(),
            length: 0,
            last_id: StreamId::MIN,
            first_id: StreamId::MIN,
            max_deleted_id: StreamId::MIN,
            entries_added: 0,
            groups: BTreeMap::new(),
        }
    }
}

/// Why an append was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AppendError {
    /// The ID is not above the stream's last ID.
    NotIncreasing,
    /// The entry's strings exceed what one listpack may hold.
    TooLarge,
}

impl Stream {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> u64 {
        self.length
    }

    pub fn is_empty(&self) -> bool {
        self.length == 0
    }

    /// Number of nodes (XINFO's `radix-tree-keys`).
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// Nodes of the radix tree Redis would build over the node keys (XINFO's
    /// `radix-tree-nodes`): the root, every branching point, every child of a
    /// branching point and every leaf, counted once.
    pub fn rax_nodes(&self) -> usize {
        let keys: Vec<[u8; 16]> = self.nodes.keys().map(|k| k.key_bytes()).collect();
        let mut pos: std::collections::HashSet<&[u8]> = std::collections::HashSet::new();
        pos.insert(&[]);
        for k in &keys {
            pos.insert(&k[..]);
        }
        for w in keys.windows(2) {
            let l = w[0].iter().zip(&w[1]).take_while(|(a, b)| a == b).count();
            pos.insert(&w[0][..l]);
            pos.insert(&w[0][..l + 1]);
            pos.insert(&w[1][..l + 1]);
        }
        pos.len()
    }

    /// Appends an entry with `id` (the caller checked it is above `last_id`) and
    /// the flattened field/value strings, opening a node where Redis would.
    pub fn append<B: AsRef<[u8]>>(
        &mut self,
        id: StreamId,
        fields: &[B],
        cfg: &StoreConfig,
    ) -> Result<(), AppendError> {
        if id <= self.last_id {
            return Err(AppendError::NotIncreasing);
        }
        let strings: u64 = fields.iter().map(|f| f.as_ref().len() as u64).sum();
        if strings > LISTPACK_MAX {
            return Err(AppendError::TooLarge);
        }
        let max_bytes = match cfg.stream_node_max_bytes {
            0 => LISTPACK_MAX,
            b => b.min(LISTPACK_MAX),
        };
        let tail_fits = self.nodes.last_key_value().is_some_and(|(_, n)| {
            (n.lp_bytes() as u64 + strings) < max_bytes
                && (cfg.stream_node_max_entries <= 0
                    || (n.len() as i64) < cfg.stream_node_max_entries)
        });
        let nfields = fields.len() / 2;
        if !tail_fits {
            if let Some(mut tail) = self.nodes.last_entry() {
                tail.get_mut().shrink();
            }
            let master: Box<[Box<[u8]>]> = fields
                .iter()
                .step_by(2)
                .map(|f| Box::from(f.as_ref()))
                .collect();
            let body = lp_int(nfields as i64)
                + master.iter().map(|f| lp_str(f)).sum::<usize>()
                + lp_int(0);
            self.nodes.insert(
                id,
                Node {
                    master_id: id,
                    master_fields: master,
                    ends: Vec::new(),
                    data: Vec::new(),
                    live: 0,
                    body,
                },
            );
        }
        let Some((&master_id, node)) = self.nodes.iter_mut().next_back() else {
            return Err(AppendError::TooLarge);
        };
        let same = node.master_fields.len() == nfields
            && fields
                .iter()
                .step_by(2)
                .zip(node.master_fields.iter())
                .all(|(a, b)| a.as_ref() == &b[..]);
        let mut size = lp_int(if same { 2 } else { 0 })
            + lp_int(id.ms.wrapping_sub(master_id.ms) as i64)
            + lp_int(id.seq.wrapping_sub(master_id.seq) as i64);
        let mut count = nfields + 3;
        if same {
            size += fields
                .iter()
                .skip(1)
                .step_by(2)
                .map(|v| lp_str(v.as_ref()))
                .sum::<usize>();
            push_header(&mut node.data, FLAG_SAMEFIELDS, master_id, id);
            for v in fields.iter().skip(1).step_by(2) {
                write_varint(&mut node.data, v.as_ref().len() as u64);
                node.data.extend_from_slice(v.as_ref());
            }
        } else {
            size +=
                lp_int(nfields as i64) + fields.iter().map(|f| lp_str(f.as_ref())).sum::<usize>();
            count += nfields + 1;
            push_header(&mut node.data, 0, master_id, id);
            write_varint(&mut node.data, fields.len() as u64);
            for f in fields {
                write_varint(&mut node.data, f.as_ref().len() as u64);
                node.data.extend_from_slice(f.as_ref());
            }
        }
        size += lp_int(count as i64);
        node.body += size;
        node.ends.push(node.data.len() as u32);
        node.live += 1;
        self.length += 1;
        self.entries_added += 1;
        self.last_id = id;
        if self.length == 1 {
            self.first_id = id;
        }
        Ok(())
    }

    /// The live entry with `id`.
    pub fn get(&self, id: StreamId) -> Option<Entry<'_>> {
        let (_, node) = self.nodes.range(..=id).next_back()?;
        let i = node.find(id)?;
        (!node.is_dead(i)).then(|| node.entry(i))
    }

    /// Live entries with IDs in `[start, end]`, ascending (or descending).
    pub fn range(
        &self,
        start: StreamId,
        end: StreamId,
        rev: bool,
    ) -> Box<dyn Iterator<Item = Entry<'_>> + '_> {
        if start > end {
            return Box::new(std::iter::empty());
        }
        let from = self
            .nodes
            .range(..=start)
            .next_back()
            .map_or(start, |(k, _)| *k);
        let nodes = self.nodes.range(from..=end).map(|(_, n)| n);
        if rev {
            Box::new(
                nodes
                    .rev()
                    .flat_map(move |n| n.live_in(start, end).rev().map(|i| n.entry(i))),
            )
        } else {
            Box::new(nodes.flat_map(move |n| n.live_in(start, end).map(|i| n.entry(i))))
        }
    }

    /// The first (or last) live entry (Redis's `streamGetEdgeID` skipping
    /// tombstones).
    pub fn edge(&self, last: bool) -> Option<Entry<'_>> {
        self.range(StreamId::MIN, StreamId::MAX, last).next()
    }

    /// The first entry's ID counting deleted ones still in the first node
    /// (Redis's `streamGetEdgeID` without skipping tombstones).
    pub fn first_raw_id(&self) -> Option<StreamId> {
        let n = self.nodes.values().next()?;
        (n.len() > 0).then(|| n.id(0))
    }

    /// Deletes the live entry `id` (XDEL); false if there is none.
    pub fn delete(&mut self, id: StreamId) -> bool {
        let Some((&key, node)) = self.nodes.range_mut(..=id).next_back() else {
            return false;
        };
        let Some(i) = node.find(id) else { return false };
        if node.is_dead(i) {
            return false;
        }
        node.set_dead(i);
        node.live -= 1;
        if node.live == 0 {
            self.nodes.remove(&key);
        }
        self.length -= 1;
        true
    }

    /// Recomputes `first_id` after entries went (0-0 when empty).
    pub fn refresh_first_id(&mut self) {
        self.first_id = self.edge(false).map_or(StreamId::MIN, |e| e.id);
    }

    /// Trims as Redis's `streamTrim`: whole nodes from the head while they can go,
    /// then (unless `approx`) entries of the next node marked deleted. `limit`
    /// (0 = none) bounds the entries an approximate trim removes. Returns how many
    /// entries went.
    pub fn trim(&mut self, to: TrimTo, approx: bool, limit: u64) -> u64 {
        let mut deleted = 0u64;
        let mut length = self.length;
        while let Some(mut first) = self.nodes.first_entry() {
            if let TrimTo::MaxLen(max) = to {
                if length <= max {
                    break;
                }
            }
            let node = first.get_mut();
            let entries = node.live as u64;
            if limit > 0 && deleted + entries > limit {
                break;
            }
            let whole = match to {
                TrimTo::MaxLen(max) => length - entries >= max,
                TrimTo::MinId(min) => node.last_id() < min,
            };
            if whole {
                first.remove();
                length -= entries;
                deleted += entries;
                continue;
            }
            if approx {
                break;
            }
            for i in 0..node.len() {
                let stop = match to {
                    TrimTo::MaxLen(max) => length <= max,
                    TrimTo::MinId(min) => node.id(i) >= min,
                };
                if stop {
                    break;
                }
                if !node.is_dead(i) {
                    node.set_dead(i);
                    node.live -= 1;
                    length -= 1;
                    deleted += 1;
                }
            }
            break;
        }
        self.length = length;
        if deleted > 0 {
            self.refresh_first_id();
        }
        deleted
    }

    /// Sets the last ID (XSETID), keeping the entries.
    pub fn set_last_id(&mut self, id: StreamId) {
        self.last_id = id;
    }

    /// The counter of `id` among all entries ever added, when it can be known
    /// (Redis's `streamEstimateDistanceFromFirstEverEntry`).
    pub fn estimate_distance(&self, id: StreamId) -> i64 {
        if self.entries_added == 0 {
            return 0;
        }
        if self.length == 0 && id <= self.last_id {
            return self.entries_added as i64;
        }
        if id == self.last_id {
            return self.entries_added as i64;
        }
        if id > self.last_id {
            return INVALID_ENTRIES_READ;
        }
        if self.max_deleted_id.is_zero() || self.max_deleted_id < self.first_id {
            if id < self.first_id {
                return (self.entries_added - self.length) as i64;
            }
            if id == self.first_id {
                return (self.entries_added - self.length + 1) as i64;
            }
        }
        INVALID_ENTRIES_READ
    }

    /// Whether a deleted entry may lie in `[start, end]` (Redis's
    /// `streamRangeHasTombstones`).
    pub fn range_has_tombstones(&self, start: StreamId, end: StreamId) -> bool {
        if self.length == 0 || self.max_deleted_id.is_zero() {
            return false;
        }
        if self.first_id > self.max_deleted_id {
            return false;
        }
        start <= self.max_deleted_id && self.max_deleted_id <= end
    }

    /// A group's lag (XINFO GROUPS), None when it cannot be known.
    pub fn lag(&self, g: &Group) -> Option<i64> {
        if self.entries_added == 0 {
            return Some(0);
        }
        if g.entries_read != INVALID_ENTRIES_READ
            && !self.range_has_tombstones(g.last_id, StreamId::MAX)
        {
            return Some(self.entries_added as i64 - g.entries_read);
        }
        let read = self.estimate_distance(g.last_id);
        (read != INVALID_ENTRIES_READ).then(|| self.entries_added as i64 - read)
    }

    /// Moves `group`'s last delivered ID to `id` (a delivery by XREADGROUP),
    /// keeping its read counter as Redis does.
    pub fn advance_group(&mut self, group: &[u8], id: StreamId) {
        let valid = !self.range_has_tombstones(id, StreamId::MAX);
        let estimate = self.estimate_distance(id);
        let added = self.entries_added;
        if let Some(g) = self.groups.get_mut(group) {
            if id <= g.last_id {
                return;
            }
            if g.entries_read != INVALID_ENTRIES_READ && valid {
                g.entries_read += 1;
            } else if added > 0 {
                g.entries_read = estimate;
            }
            g.last_id = id;
        }
    }

    /// Every live entry in order (snapshots, DUMP).
    pub fn entries(&self) -> impl Iterator<Item = Entry<'_>> {
        self.range(StreamId::MIN, StreamId::MAX, false)
    }

    /// Approximate heap bytes (MEMORY USAGE).
    pub fn mem_usage(&self) -> usize {
        let nodes: usize = self.nodes.values().map(|n| n.heap_bytes() + 64).sum();
        let groups: usize = self
            .groups
            .iter()
            .map(|(name, g)| {
                name.len()
                    + 64
                    + g.pel.len() * 64
                    + g.consumers
                        .iter()
                        .map(|(n, c)| n.len() + 48 + c.pel.len() * 24)
                        .sum::<usize>()
            })
            .sum();
        96 + nodes + groups
    }
}
