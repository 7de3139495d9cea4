//! A flat run of byte strings in one allocation, each a LEB128 length then its
//! bytes: the small form of hashes (field, value, field, value, ...), after
//! Redis's listpack. Eight short fields and values take about 50 bytes here,
//! where a vector of boxed pairs took about 380 (two allocations and 32 bytes of
//! pointers per pair), and a scan reads one or two cache lines instead of
//! following a pointer per string.
//!
//! Positions are byte offsets of an entry's length prefix. The buffer only ever
//! holds what this module wrote, so decoding it cannot fail.

/// A run of byte strings.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Pack {
    buf: Vec<u8>,
}

/// Bytes of the LEB128 prefix for a string of `len` bytes.
fn prefix_len(len: usize) -> usize {
    let mut n = 1;
    let mut v = len >> 7;
    while v > 0 {
        n += 1;
        v >>= 7;
    }
    n
}

fn put_prefix(out: &mut Vec<u8>, mut len: usize) {
    while len >= 0x80 {
        out.push((len as u8 & 0x7f) | 0x80);
        len >>= 7;
    }
    out.push(len as u8);
}

impl Pack {
    pub fn new() -> Self {
        Self::default()
    }

    /// An empty pack with room for `bytes` of encoded strings.
    pub fn with_capacity(bytes: usize) -> Self {
        Pack {
            buf: Vec::with_capacity(bytes),
        }
    }

    /// The encoded size of `s` (prefix and bytes).
    pub fn encoded_len(s: &[u8]) -> usize {
        prefix_len(s.len()) + s.len()
    }

    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }

    /// Bytes held (allocated capacity).
    pub fn allocated(&self) -> usize {
        self.buf.capacity()
    }

    /// The string at `pos`: its bytes' range.
    fn span(&self, pos: usize) -> (usize, usize) {
        let (mut len, mut shift, mut i) = (0usize, 0u32, pos);
        loop {
            let b = self.buf[i];
            i += 1;
            len |= ((b & 0x7f) as usize) << shift;
            if b < 0x80 {
                break;
            }
            shift += 7;
        }
        (i, i + len)
    }

    /// The string at `pos` and the position after it.
    pub fn at(&self, pos: usize) -> (&[u8], usize) {
        let (s, e) = self.span(pos);
        (&self.buf[s..e], e)
    }

    /// Where the entries end (the position after the last one).
    pub fn end(&self) -> usize {
        self.buf.len()
    }

    /// Appends `s`, growing the allocation by exactly what it needs while
    /// small (small values are many: no doubling slack).
    pub fn push(&mut self, s: &[u8]) {
        super::reserve_small(&mut self.buf, Self::encoded_len(s));
        put_prefix(&mut self.buf, s.len());
        self.buf.extend_from_slice(s);
    }

    /// Replaces the string at `pos` with `s`.
    pub fn replace(&mut self, pos: usize, s: &[u8]) {
        let (_, end) = self.span(pos);
        let mut enc = Vec::with_capacity(Self::encoded_len(s));
        put_prefix(&mut enc, s.len());
        enc.extend_from_slice(s);
        self.buf.splice(pos..end, enc);
        self.trim();
    }

    /// Removes the entries in `from..to` (positions of entries).
    pub fn remove_range(&mut self, from: usize, to: usize) {
        self.buf.drain(from..to);
        self.trim();
    }

    /// Gives back memory a shrink left unused (as a listpack reallocs).
    fn trim(&mut self) {
        if self.buf.capacity() > self.buf.len() + self.buf.len() / 4 + 16 {
            self.buf.shrink_to_fit();
        }
    }

    /// Every string in order.
    pub fn iter(&self) -> Iter<'_> {
        Iter { pack: self, pos: 0 }
    }
}

pub struct Iter<'a> {
    pack: &'a Pack,
    pos: usize,
}

impl<'a> Iterator for Iter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.pos >= self.pack.buf.len() {
            return None;
        }
        let (s, next) = self.pack.at(self.pos);
        self.pos = next;
        Some(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_replace_remove_round_trip() {
        let long = vec![7u8; 300];
        let mut p = Pack::new();
        for s in [&b"a"[..], b"", &long, b"zz"] {
            p.push(s);
        }
        let all: Vec<&[u8]> = p.iter().collect();
        assert_eq!(all, vec![&b"a"[..], b"", &long[..], b"zz"]);
        // Replace the long one with a short one and back.
        let (_, second) = p.at(0);
        let (_, third) = p.at(second);
        p.replace(third, b"x");
        assert_eq!(p.iter().nth(2), Some(&b"x"[..]));
        p.replace(third, &long);
        assert_eq!(p.iter().nth(2), Some(&long[..]));
        // Remove the middle two.
        let (_, fourth) = p.at(third);
        p.remove_range(second, fourth);
        let all: Vec<&[u8]> = p.iter().collect();
        assert_eq!(all, vec![&b"a"[..], b"zz"]);
        assert_eq!(Pack::encoded_len(&long), 302);
        assert_eq!(Pack::encoded_len(b""), 1);
    }

    #[test]
    fn lengths_across_prefix_sizes() {
        for len in [0usize, 1, 127, 128, 16383, 16384, 70000] {
            let s = vec![1u8; len];
            let mut p = Pack::new();
            p.push(&s);
            p.push(b"after");
            assert_eq!(p.end(), Pack::encoded_len(&s) + 6);
            let got: Vec<&[u8]> = p.iter().collect();
            assert_eq!(got, vec![&s[..], b"after"], "len {len}");
        }
    }
}
