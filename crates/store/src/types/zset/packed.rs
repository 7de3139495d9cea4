//! The `listpack` encoding of small sorted sets: one byte buffer of entries
//! `[member length << 1 | integer flag, LEB128][member bytes][score]`, sorted by
//! `(score, member)`. A score that is an integer of at most 2^53 in magnitude
//! (counters, timestamps, ranks: most scores) is a zigzag LEB128, as Redis's
//! listpack stores integers; any other one is an f64, little-endian. Every
//! operation is a linear walk, as with Redis's listpack; sets stay under
//! `zset-max-listpack-entries` (128 by default), so walks are short and the
//! whole set is one allocation, grown by what each entry needs. Measured: a
//! million sets of 8 one-letter members with small integer scores took 267 MB
//! with f64 scores and doubling growth, Redis 129.

use std::cmp::Ordering;

use super::{key_cmp, AddOutcome};

#[derive(Debug, Clone, Default)]
pub(crate) struct Packed {
    buf: Vec<u8>,
    n: u32,
}

/// Integer scores up to this magnitude are exact in an f64.
const EXACT_INT: f64 = 9_007_199_254_740_992.0; // 2^53

#[inline]
fn varint(buf: &[u8], mut p: usize) -> (u64, usize) {
    let mut v = 0u64;
    let mut shift = 0;
    loop {
        let b = buf[p];
        p += 1;
        v |= ((b & 0x7f) as u64) << shift;
        if b & 0x80 == 0 {
            return (v, p);
        }
        shift += 7;
    }
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Decodes the entry at `off`: (member, score, offset of the next entry).
#[inline]
fn decode(buf: &[u8], off: usize) -> (&[u8], f64, usize) {
    let (head, p) = varint(buf, off);
    let len = (head >> 1) as usize;
    let m = &buf[p..p + len];
    let p = p + len;
    if head & 1 == 1 {
        let (z, next) = varint(buf, p);
        let i = (z >> 1) as i64 ^ -((z & 1) as i64);
        (m, i as f64, next)
    } else {
        let mut sb = [0u8; 8];
        sb.copy_from_slice(&buf[p..p + 8]);
        (m, f64::from_le_bytes(sb), p + 8)
    }
}

fn encode(m: &[u8], s: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.len() + 10);
    // -0 is stored as 0, as Redis's listpack stores it.
    let int = s.fract() == 0.0 && s.abs() <= EXACT_INT;
    put_varint(&mut out, (m.len() as u64) << 1 | int as u64);
    out.extend_from_slice(m);
    if int {
        let i = s as i64;
        put_varint(&mut out, ((i << 1) ^ (i >> 63)) as u64);
    } else {
        out.extend_from_slice(&s.to_le_bytes());
    }
    out
}

/// Forward walk over a packed buffer.
pub(crate) struct PackedIter<'a> {
    buf: &'a [u8],
    off: usize,
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = (&'a [u8], f64);
    fn next(&mut self) -> Option<Self::Item> {
        if self.off >= self.buf.len() {
            return None;
        }
        let (m, s, next) = decode(self.buf, self.off);
        self.off = next;
        Some((m, s))
    }
}

impl Packed {
    pub(crate) fn len(&self) -> usize {
        self.n as usize
    }

    pub(crate) fn iter(&self) -> PackedIter<'_> {
        PackedIter {
            buf: &self.buf,
            off: 0,
        }
    }

    /// (index, start offset, end offset, score) of `m`.
    fn find(&self, m: &[u8]) -> Option<(usize, usize, usize, f64)> {
        let mut off = 0;
        let mut i = 0;
        while off < self.buf.len() {
            let (mm, s, next) = decode(&self.buf, off);
            if mm == m {
                return Some((i, off, next, s));
            }
            off = next;
            i += 1;
        }
        None
    }

    pub(crate) fn score(&self, m: &[u8]) -> Option<f64> {
        self.find(m).map(|f| f.3)
    }

    pub(crate) fn rank(&self, m: &[u8]) -> Option<usize> {
        self.find(m).map(|f| f.0)
    }

    fn insert_sorted(&mut self, m: &[u8], s: f64) {
        let mut off = 0;
        while off < self.buf.len() {
            let (mm, ss, next) = decode(&self.buf, off);
            if key_cmp(ss, mm, s, m) != Ordering::Less {
                break;
            }
            off = next;
        }
        let e = encode(m, s);
        crate::types::reserve_small(&mut self.buf, e.len());
        self.buf.splice(off..off, e);
        self.n += 1;
    }

    pub(crate) fn add(&mut self, m: &[u8], score: f64) -> AddOutcome {
        match self.find(m) {
            Some((_, start, end, old)) => {
                if old == score {
                    return AddOutcome::Unchanged;
                }
                self.buf.drain(start..end);
                self.n -= 1;
                self.insert_sorted(m, score);
                AddOutcome::Updated
            }
            None => {
                self.insert_sorted(m, score);
                AddOutcome::Added
            }
        }
    }

    pub(crate) fn remove(&mut self, m: &[u8]) -> Option<f64> {
        let (_, start, end, s) = self.find(m)?;
        self.buf.drain(start..end);
        self.n -= 1;
        if self.n == 0 {
            self.buf = Vec::new();
        } else if self.buf.capacity() > self.buf.len() + self.buf.len() / 4 + 16 {
            self.buf.shrink_to_fit();
        }
        Some(s)
    }

    pub(crate) fn count_before(&self, before: impl Fn(f64, &[u8]) -> bool) -> usize {
        self.iter().take_while(|(m, s)| before(*s, m)).count()
    }

    pub(crate) fn select(&self, k: usize) -> Option<(&[u8], f64)> {
        self.iter().nth(k)
    }

    /// The elements from rank `k` on (ascending), or from rank `k` down to 0
    /// (`rev`), materialised (at most `zset-max-listpack-entries` of them).
    pub(crate) fn range_from(&self, k: usize, rev: bool) -> Vec<(&[u8], f64)> {
        if rev {
            let mut v: Vec<_> = self.iter().take(k.saturating_add(1)).collect();
            v.reverse();
            v
        } else {
            self.iter().skip(k).collect()
        }
    }
}
