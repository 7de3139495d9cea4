//! The `listpack` encoding of small sorted sets: one byte buffer of entries
//! `[member length, LEB128][member bytes][score, f64 little-endian]`, sorted by
//! `(score, member)`. Every operation is a linear walk, as with Redis's listpack;
//! sets stay under `zset-max-listpack-entries` (128 by default), so walks are
//! short and the whole set is one allocation with ~9 bytes of overhead per member.

use std::cmp::Ordering;

use super::{key_cmp, AddOutcome};

#[derive(Debug, Clone, Default)]
pub(crate) struct Packed {
    buf: Vec<u8>,
    n: u32,
}

/// Decodes the entry at `off`: (member, score, offset of the next entry).
#[inline]
fn decode(buf: &[u8], off: usize) -> (&[u8], f64, usize) {
    let mut len = 0usize;
    let mut shift = 0;
    let mut p = off;
    loop {
        let b = buf[p];
        p += 1;
        len |= ((b & 0x7f) as usize) << shift;
        if b & 0x80 == 0 {
            break;
        }
        shift += 7;
    }
    let m = &buf[p..p + len];
    let mut sb = [0u8; 8];
    sb.copy_from_slice(&buf[p + len..p + len + 8]);
    (m, f64::from_le_bytes(sb), p + len + 8)
}

fn encode(m: &[u8], s: f64) -> Vec<u8> {
    let mut out = Vec::with_capacity(m.len() + 10);
    let mut len = m.len();
    loop {
        let b = (len & 0x7f) as u8;
        len >>= 7;
        if len == 0 {
            out.push(b);
            break;
        }
        out.push(b | 0x80);
    }
    out.extend_from_slice(m);
    out.extend_from_slice(&s.to_le_bytes());
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
