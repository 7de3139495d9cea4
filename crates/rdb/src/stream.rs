//! Streams: RDB types 15 (Redis 5.0), 19 (7.0) and 21 (7.2) are read; 19 is written.
//!
//! ```text
//!  value = nodes: len, (master ID: 16-byte string, listpack: string) × len
//!          length, last_id (ms, seq as lengths)
//!          [19/21: first_id, max_deleted_id, entries_added]
//!          groups: len, (name, last_id, [19/21: entries_read],
//!                        PEL: len, (raw 16-byte ID, delivery ms: 8 bytes LE, count: len) × len,
//!                        consumers: len, (name, seen ms: 8 bytes LE, [21: active ms],
//!                                         PEL: len, raw 16-byte ID × len) × len) × len
//!  node listpack = count, deleted, n, master field × n, 0,
//!                  (flags, ms - master.ms, seq - master.seq,
//!                   [n, field, value × n | SAMEFIELDS: value × master n], element count)*
//! ```
//!
//! Raw IDs are big-endian (ms then seq), like the radix-tree keys; the numbers inside
//! a node are listpack integers.

use std::collections::HashSet;
use std::io::{self, Read, Write};

use crate::blobs::{self, LpItem};
use crate::consts::*;
use crate::encode::{lp_entry, lp_entry_int, lp_finish};
use crate::error::Error;
use crate::source::{Source, PREALLOC_CAP};
use crate::writer::{write_len, write_string};
use crate::{RdbStream, RdbStreamConsumer, RdbStreamGroup, StreamEntry, StreamId};

/// Entry flags (`STREAM_ITEM_FLAG_*`).
const FLAG_DELETED: i64 = 1;
const FLAG_SAMEFIELDS: i64 = 2;

/// Redis's `stream-node-max-entries` default: a node takes at most this many entries
/// (live and deleted).
const NODE_MAX_ENTRIES: usize = 100;
/// Redis's `stream-node-max-bytes` default: an entry goes to a new node when the tail
/// node's listpack plus the entry's field and value bytes would reach this size.
const NODE_MAX_BYTES: usize = 4096;

fn cap(n: u64) -> usize {
    (n as usize).min(PREALLOC_CAP)
}

fn id_from_be(b: &[u8; 16]) -> StreamId {
    let (ms, seq) = b.split_at(8);
    StreamId {
        ms: u64::from_be_bytes(ms.try_into().unwrap_or_default()),
        seq: u64::from_be_bytes(seq.try_into().unwrap_or_default()),
    }
}

fn id_to_be(id: StreamId) -> [u8; 16] {
    let mut b = [0u8; 16];
    b[..8].copy_from_slice(&id.ms.to_be_bytes());
    b[8..].copy_from_slice(&id.seq.to_be_bytes());
    b
}

/// The elements of one node listpack, consumed front to back.
struct Cursor<'a> {
    items: Vec<LpItem<'a>>,
    at: usize,
}

impl<'a> Cursor<'a> {
    fn remaining(&self) -> usize {
        self.items.len() - self.at
    }

    fn next(&mut self, what: &str) -> Result<LpItem<'a>, String> {
        let item = self
            .items
            .get(self.at)
            .copied()
            .ok_or_else(|| format!("stream node ends before its {what}"))?;
        self.at += 1;
        Ok(item)
    }

    fn int(&mut self, what: &str) -> Result<i64, String> {
        let at = self.at;
        self.next(what)?
            .as_int()
            .ok_or_else(|| format!("stream node element {at} ({what}) is not an integer"))
    }

    /// A count of elements that must still be there (`per` elements each).
    fn count(&mut self, what: &str, per: usize) -> Result<usize, String> {
        let n = self.int(what)?;
        usize::try_from(n)
            .ok()
            .filter(|&n| n.checked_mul(per).is_some_and(|e| e <= self.remaining()))
            .ok_or_else(|| format!("stream node {what} {n} does not fit in the node"))
    }
}

/// Decodes one node (a listpack whose IDs are deltas from `master`), checking the
/// layout as Redis's deep `streamValidateListpackIntegrity` does. Returns the live
/// entries; deleted ones are skipped.
fn decode_node(lp: &[u8], master: StreamId) -> Result<Vec<StreamEntry>, String> {
    let items = blobs::listpack_items(lp)?;
    if items.is_empty() {
        return Err("Empty listpack inside stream".into());
    }
    let mut c = Cursor { items, at: 0 };
    let count = c.int("entry count")?;
    let deleted = c.int("deleted count")?;
    let nmaster = c.count("master field count", 1)?;
    let mut master_fields = Vec::with_capacity(nmaster);
    for _ in 0..nmaster {
        master_fields.push(c.next("master field")?.to_bytes());
    }
    if c.int("master entry terminator")? != 0 {
        return Err("stream node master entry terminator is not 0".into());
    }
    let mut out = Vec::new();
    let mut seen: i64 = 0;
    while c.remaining() > 0 {
        let flags = c.int("entry flags")?;
        let dms = c.int("entry ms delta")?;
        let dseq = c.int("entry seq delta")?;
        // Redis adds the deltas as unsigned 64-bit numbers.
        let id = StreamId {
            ms: master.ms.wrapping_add(dms as u64),
            seq: master.seq.wrapping_add(dseq as u64),
        };
        let live = flags & FLAG_DELETED == 0;
        let mut fields = Vec::new();
        let (n, want_lp_count) = if flags & FLAG_SAMEFIELDS != 0 {
            if c.remaining() < nmaster {
                return Err("stream node entry runs past the node".into());
            }
            for f in &master_fields {
                let v = c.next("value")?;
                if live {
                    fields.push((f.clone(), v.to_bytes()));
                }
            }
            (nmaster, nmaster + 3)
        } else {
            let n = c.count("entry field count", 2)?;
            for _ in 0..n {
                let f = c.next("field")?;
                let v = c.next("value")?;
                if live {
                    fields.push((f.to_bytes(), v.to_bytes()));
                }
            }
            (n, 2 * n + 4)
        };
        let lp_count = c.int("entry element count")?;
        if usize::try_from(lp_count).ok() != Some(want_lp_count) {
            return Err(format!(
                "stream node entry {id} with {n} fields says it has {lp_count} elements"
            ));
        }
        seen += 1;
        if live {
            out.push((id, fields));
        }
    }
    if count.checked_add(deleted) != Some(seen) {
        return Err(format!(
            "stream node says {count} + {deleted} deleted entries, holds {seen}"
        ));
    }
    Ok(out)
}

fn read_id<R: Read>(src: &mut Source<R>) -> Result<StreamId, Error> {
    Ok(StreamId {
        ms: src.length()?,
        seq: src.length()?,
    })
}

/// Redis 7.0's `streamEstimateDistanceFromFirstEverEntry` for a type-15 stream, whose
/// loader sets `entries_added` to the length and has no tombstone ID.
fn estimate_entries_read(s: &RdbStream, id: StreamId) -> i64 {
    let len = s.entries.len() as i64;
    if len == 0 {
        return 0;
    }
    match id.cmp(&s.last_id) {
        std::cmp::Ordering::Equal => len,
        std::cmp::Ordering::Greater => -1,
        std::cmp::Ordering::Less => match id.cmp(&s.first_id) {
            std::cmp::Ordering::Less => 0,
            std::cmp::Ordering::Equal => 1,
            std::cmp::Ordering::Greater => -1,
        },
    }
}

/// Reads a stream value of type `t` (15, 19 or 21) as Redis's `rdbLoadObject` does.
///
/// Beyond Redis 7.0's own checks (node key size, duplicate node keys, group and
/// consumer names, PEL entries, consumer PEL entries missing from the group PEL, and
/// with deep sanitization the node layout and group PEL entries without a consumer)
/// it also refuses what would leave the stream inconsistent: entries out of ID order,
/// a length that is not the number of live entries, a last ID below the last entry,
/// and a PEL entry claimed by two consumers.
pub(crate) fn read_stream<R: Read>(src: &mut Source<R>, t: u8) -> Result<RdbStream, Error> {
    let nodes = src.length()?;
    let mut decoded: Vec<(StreamId, u64, Vec<StreamEntry>)> = Vec::new();
    for _ in 0..nodes {
        let at = src.pos;
        let key = src.string()?;
        let key: [u8; 16] = key.as_slice().try_into().map_err(|_| {
            Error::corrupt(at, "Stream node key entry is not the size of a stream ID")
        })?;
        let master = id_from_be(&key);
        let lp_at = src.pos;
        let lp = src.string()?;
        let entries = decode_node(&lp, master).map_err(|m| Error::corrupt(lp_at, m))?;
        decoded.push((master, lp_at, entries));
    }
    // The nodes live in a radix tree keyed by master ID: that order is the entries'.
    decoded.sort_by_key(|n| n.0);
    let mut s = RdbStream::default();
    let mut prev_master = None;
    for (master, at, entries) in decoded {
        if prev_master == Some(master) {
            return Err(Error::corrupt(at, "Listpack re-added with existing key"));
        }
        prev_master = Some(master);
        for (id, fields) in entries {
            if let Some((last, _)) = s.entries.last() {
                if id <= *last {
                    return Err(Error::corrupt(
                        at,
                        format!("stream entry {id} does not follow {last}"),
                    ));
                }
            }
            s.entries.push((id, fields));
        }
    }
    let at = src.pos;
    let length = src.length()?;
    if length != s.entries.len() as u64 {
        return Err(Error::corrupt(
            at,
            format!("stream length {length}, but {} entries", s.entries.len()),
        ));
    }
    s.last_id = read_id(src)?;
    if let Some((last, _)) = s.entries.last() {
        if *last > s.last_id {
            return Err(Error::corrupt(
                at,
                format!("stream last ID {} is below entry {last}", s.last_id),
            ));
        }
    }
    if t == TYPE_STREAM_LISTPACKS {
        // What 7.0's loader derives (streamGetEdgeID gives max-max when empty).
        s.first_id = s.entries.first().map_or(
            StreamId {
                ms: u64::MAX,
                seq: u64::MAX,
            },
            |e| e.0,
        );
        s.max_deleted_id = StreamId::default();
        s.entries_added = length;
    } else {
        s.first_id = read_id(src)?;
        s.max_deleted_id = read_id(src)?;
        s.entries_added = src.length()?;
    }
    let ngroups = src.length()?;
    let mut group_names = HashSet::new();
    let mut groups = Vec::with_capacity(cap(ngroups));
    for _ in 0..ngroups {
        let at = src.pos;
        let name = src.string()?;
        let last_id = read_id(src)?;
        let entries_read = if t == TYPE_STREAM_LISTPACKS {
            estimate_entries_read(&s, last_id)
        } else {
            // Saved as an unsigned length: -1 comes back as 2^64 - 1.
            src.length()? as i64
        };
        if !group_names.insert(name.clone()) {
            return Err(Error::corrupt(
                at,
                format!(
                    "Duplicated consumer group name {}",
                    String::from_utf8_lossy(&name)
                ),
            ));
        }
        let npel = src.length()?;
        let mut pel = Vec::with_capacity(cap(npel));
        let mut pel_ids = HashSet::with_capacity(cap(npel));
        for _ in 0..npel {
            let at = src.pos;
            let id = id_from_be(&src.array()?);
            let delivery_time = u64::from_le_bytes(src.array()?);
            let delivery_count = src.length()?;
            if !pel_ids.insert(id) {
                return Err(Error::corrupt(
                    at,
                    format!("Duplicated global PEL entry {id} loading stream consumer group"),
                ));
            }
            pel.push((id, delivery_time, delivery_count));
        }
        let nconsumers = src.length()?;
        let mut consumers = Vec::with_capacity(cap(nconsumers));
        let mut consumer_names = HashSet::new();
        let mut owned = HashSet::with_capacity(pel_ids.len());
        for _ in 0..nconsumers {
            let at = src.pos;
            let name = src.string()?;
            if !consumer_names.insert(name.clone()) {
                return Err(Error::corrupt(at, "Duplicate stream consumer detected."));
            }
            let seen_time = u64::from_le_bytes(src.array()?);
            if t == TYPE_STREAM_LISTPACKS_3 {
                // active_time (7.2): not in the 7.0 model.
                src.array::<8>()?;
            }
            let n = src.length()?;
            let mut cpel = Vec::with_capacity(cap(n));
            for _ in 0..n {
                let at = src.pos;
                let id = id_from_be(&src.array()?);
                if !pel_ids.contains(&id) {
                    return Err(Error::corrupt(
                        at,
                        format!("Consumer entry {id} not found in group global PEL"),
                    ));
                }
                if !owned.insert(id) {
                    return Err(Error::corrupt(
                        at,
                        format!("stream PEL entry {id} claimed twice by the consumers"),
                    ));
                }
                cpel.push(id);
            }
            consumers.push(RdbStreamConsumer {
                name,
                seen_time,
                pel: cpel,
            });
        }
        if owned.len() != pel_ids.len() {
            return Err(src.corrupt("Stream CG PEL entry without consumer"));
        }
        groups.push(RdbStreamGroup {
            name,
            last_id,
            entries_read,
            pel,
            consumers,
        });
    }
    s.groups = groups;
    Ok(s)
}

/// What makes Redis refuse the value (or keep a broken stream): checked before
/// anything is written.
pub(crate) fn check(s: &RdbStream) -> Result<(), String> {
    for w in s.entries.windows(2) {
        if w[1].0 <= w[0].0 {
            return Err(format!(
                "stream entry IDs must increase: {} after {}",
                w[1].0, w[0].0
            ));
        }
    }
    if let Some((last, _)) = s.entries.last() {
        if *last > s.last_id {
            return Err(format!(
                "stream last_id {} is below its last entry {last}",
                s.last_id
            ));
        }
    }
    let mut names = HashSet::new();
    for g in &s.groups {
        let gname = String::from_utf8_lossy(&g.name);
        if !names.insert(&g.name[..]) {
            return Err(format!("duplicate stream group {gname}"));
        }
        let pel: HashSet<StreamId> = g.pel.iter().map(|p| p.0).collect();
        if pel.len() != g.pel.len() {
            return Err(format!("duplicate PEL entry in stream group {gname}"));
        }
        let mut cnames = HashSet::new();
        let mut owned = HashSet::new();
        for c in &g.consumers {
            if !cnames.insert(&c.name[..]) {
                return Err(format!("duplicate consumer in stream group {gname}"));
            }
            for id in &c.pel {
                if !pel.contains(id) {
                    return Err(format!(
                        "consumer PEL entry {id} is not in the PEL of stream group {gname}"
                    ));
                }
                if !owned.insert(*id) {
                    return Err(format!(
                        "PEL entry {id} of stream group {gname} has two consumers"
                    ));
                }
            }
        }
        if owned.len() != pel.len() {
            return Err(format!(
                "a PEL entry of stream group {gname} has no consumer"
            ));
        }
    }
    Ok(())
}

/// The node being filled, as Redis's `streamAppendItem` fills its tail node.
struct Node<'a> {
    master: StreamId,
    master_fields: Vec<&'a [u8]>,
    /// The elements after the entry count (which changes with every entry).
    body: Vec<u8>,
    elements: usize,
    count: usize,
}

impl<'a> Node<'a> {
    fn new(master: StreamId, fields: &'a [(Vec<u8>, Vec<u8>)]) -> Self {
        let mut body = Vec::new();
        lp_entry_int(&mut body, 0); // deleted
        lp_entry_int(&mut body, fields.len() as i64);
        for (f, _) in fields {
            lp_entry(&mut body, f);
        }
        lp_entry_int(&mut body, 0); // master entry terminator
        Node {
            master,
            master_fields: fields.iter().map(|(f, _)| f.as_slice()).collect(),
            body,
            elements: 3 + fields.len(),
            count: 0,
        }
    }

    fn count_element(&self) -> Vec<u8> {
        let mut c = Vec::with_capacity(9);
        lp_entry_int(&mut c, self.count as i64);
        c
    }

    /// The listpack's size as Redis's `lpBytes` would report it now.
    fn lp_bytes(&self) -> usize {
        6 + self.count_element().len() + self.body.len() + 1
    }

    fn push(&mut self, id: StreamId, fields: &[(Vec<u8>, Vec<u8>)]) {
        let same = fields.len() == self.master_fields.len()
            && fields
                .iter()
                .zip(&self.master_fields)
                .all(|((f, _), m)| f == m);
        let n = fields.len();
        lp_entry_int(&mut self.body, if same { FLAG_SAMEFIELDS } else { 0 });
        lp_entry_int(&mut self.body, id.ms.wrapping_sub(self.master.ms) as i64);
        lp_entry_int(&mut self.body, id.seq.wrapping_sub(self.master.seq) as i64);
        let lp_count = if same {
            for (_, v) in fields {
                lp_entry(&mut self.body, v);
            }
            n + 3
        } else {
            lp_entry_int(&mut self.body, n as i64);
            for (f, v) in fields {
                lp_entry(&mut self.body, f);
                lp_entry(&mut self.body, v);
            }
            2 * n + 4
        };
        lp_entry_int(&mut self.body, lp_count as i64);
        // lp-count counts the entry's elements before itself.
        self.elements += lp_count + 1;
        self.count += 1;
    }

    fn finish(self) -> io::Result<([u8; 16], Vec<u8>)> {
        let mut all = self.count_element();
        all.extend_from_slice(&self.body);
        // A listpack records its size in 32 bits.
        if all.len() + 7 > u32::MAX as usize {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "RDB writer: stream node over 4 GiB",
            ));
        }
        Ok((id_to_be(self.master), lp_finish(&all, self.elements + 1)))
    }
}

/// Splits the entries into node listpacks the way consecutive XADDs with Redis's
/// default node limits do (so a stream without deletions comes out byte-identical).
fn encode_nodes(entries: &[StreamEntry]) -> io::Result<Vec<([u8; 16], Vec<u8>)>> {
    let mut out = Vec::new();
    let mut tail: Option<Node> = None;
    for (id, fields) in entries {
        let elements_len = fields
            .iter()
            .fold(0usize, |a, (f, v)| a.saturating_add(f.len() + v.len()));
        if let Some(node) = tail.take() {
            if node.lp_bytes().saturating_add(elements_len) >= NODE_MAX_BYTES
                || node.count >= NODE_MAX_ENTRIES
            {
                out.push(node.finish()?);
            } else {
                tail = Some(node);
            }
        }
        tail.get_or_insert_with(|| Node::new(*id, fields))
            .push(*id, fields);
    }
    if let Some(node) = tail {
        out.push(node.finish()?);
    }
    Ok(out)
}

fn write_id<W: Write>(w: &mut W, id: StreamId) -> io::Result<()> {
    write_len(w, id.ms)?;
    write_len(w, id.seq)
}

/// Writes the value of a type-19 stream (no type byte) as Redis 7.0's `rdbSaveObject`.
/// Call [`check`] first.
pub(crate) fn write_stream<W: Write>(w: &mut W, s: &RdbStream, compress: bool) -> io::Result<()> {
    let nodes = encode_nodes(&s.entries)?;
    write_len(w, nodes.len() as u64)?;
    for (key, lp) in &nodes {
        write_string(w, key, compress)?;
        write_string(w, lp, compress)?;
    }
    write_len(w, s.entries.len() as u64)?;
    write_id(w, s.last_id)?;
    write_id(w, s.first_id)?;
    write_id(w, s.max_deleted_id)?;
    write_len(w, s.entries_added)?;
    write_len(w, s.groups.len() as u64)?;
    for g in &s.groups {
        write_string(w, &g.name, compress)?;
        write_id(w, g.last_id)?;
        // Redis saves the signed counter as an unsigned length (-1 as 2^64 - 1).
        write_len(w, g.entries_read as u64)?;
        write_len(w, g.pel.len() as u64)?;
        for (id, delivery_time, delivery_count) in &g.pel {
            w.write_all(&id_to_be(*id))?;
            w.write_all(&delivery_time.to_le_bytes())?;
            write_len(w, *delivery_count)?;
        }
        write_len(w, g.consumers.len() as u64)?;
        for c in &g.consumers {
            write_string(w, &c.name, compress)?;
            w.write_all(&c.seen_time.to_le_bytes())?;
            write_len(w, c.pel.len() as u64)?;
            for id in &c.pel {
                w.write_all(&id_to_be(*id))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(ms: u64, seq: u64, kv: &[(&str, &str)]) -> StreamEntry {
        (
            StreamId { ms, seq },
            kv.iter()
                .map(|(k, v)| (k.as_bytes().to_vec(), v.as_bytes().to_vec()))
                .collect(),
        )
    }

    #[test]
    fn node_round_trip_and_samefields() {
        let entries = vec![
            entry(5, 0, &[("a", "1"), ("b", "x")]),
            entry(5, 1, &[("a", "2"), ("b", "y")]),
            entry(7, 0, &[("c", "-70000")]),
            entry(u64::MAX, u64::MAX, &[("a", "3"), ("b", "")]),
        ];
        let nodes = encode_nodes(&entries).unwrap();
        assert_eq!(nodes.len(), 1);
        let items = blobs::listpack_items(&nodes[0].1).unwrap();
        // count 4, deleted 0, 2 master fields, 0; first entry flagged SAMEFIELDS.
        assert_eq!(items[0], LpItem::Int(4));
        assert_eq!(items[5], LpItem::Int(0));
        assert_eq!(items[6], LpItem::Int(FLAG_SAMEFIELDS));
        assert_eq!(decode_node(&nodes[0].1, entries[0].0).unwrap(), entries);
    }

    #[test]
    fn nodes_split_by_count_and_bytes() {
        let small: Vec<StreamEntry> = (0..250).map(|i| entry(i, 0, &[("f", "v")])).collect();
        let nodes = encode_nodes(&small).unwrap();
        assert_eq!(nodes.len(), 3);
        let big = "x".repeat(1500);
        let large: Vec<StreamEntry> = (0..5).map(|i| entry(i, 0, &[("f", &big)])).collect();
        // Two 1.5 KB entries fit under 4096 bytes, a third does not.
        assert_eq!(encode_nodes(&large).unwrap().len(), 3);
    }

    #[test]
    fn check_refuses_inconsistent_streams() {
        let mut s = RdbStream {
            entries: vec![entry(1, 0, &[("f", "v")]), entry(2, 0, &[("f", "v")])],
            last_id: StreamId { ms: 2, seq: 0 },
            ..Default::default()
        };
        assert!(check(&s).is_ok());
        s.last_id = StreamId { ms: 1, seq: 5 };
        assert!(check(&s).is_err());
        s.last_id = StreamId { ms: 9, seq: 0 };
        s.groups.push(RdbStreamGroup {
            name: b"g".to_vec(),
            last_id: StreamId::default(),
            entries_read: -1,
            pel: vec![(StreamId { ms: 1, seq: 0 }, 10, 1)],
            consumers: vec![],
        });
        assert!(check(&s).unwrap_err().contains("no consumer"));
        s.groups[0].consumers.push(RdbStreamConsumer {
            name: b"c".to_vec(),
            seen_time: 0,
            pel: vec![StreamId { ms: 1, seq: 0 }],
        });
        assert!(check(&s).is_ok());
        s.groups[0].consumers[0]
            .pel
            .push(StreamId { ms: 2, seq: 0 });
        assert!(check(&s).unwrap_err().contains("not in the PEL"));
    }
}
