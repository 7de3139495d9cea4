//! One chunk of a list: up to `CHUNK_BYTES` of elements packed back to back,
//! each with its length before and after it, so the chunk reads from either
//! end (see `list.rs`).

/// Bytes of a LEB128 varint for `n`.
fn varint_len(mut n: usize) -> usize {
    let mut k = 1;
    while n >= 0x80 {
        n >>= 7;
        k += 1;
    }
    k
}

/// An entry's size: the length forwards, the bytes, the length backwards.
pub(super) fn entry_len(data: usize) -> usize {
    2 * varint_len(data) + data
}

/// Appends an entry: LEB128 length, the bytes, then the same LEB128 bytes in
/// reverse order, so the entry can be read from either end.
fn put_entry(out: &mut Vec<u8>, v: &[u8]) {
    let mut fwd = [0u8; 10];
    let mut n = v.len();
    let mut k = 0;
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            fwd[k] = b;
            k += 1;
            break;
        }
        fwd[k] = b | 0x80;
        k += 1;
    }
    out.extend_from_slice(&fwd[..k]);
    out.extend_from_slice(v);
    out.extend(fwd[..k].iter().rev());
}

/// Reads the entry starting at `pos`: (data start, data length, next entry).
fn entry_at(buf: &[u8], pos: usize) -> (usize, usize, usize) {
    let (mut n, mut shift, mut p) = (0usize, 0, pos);
    loop {
        let b = buf[p];
        p += 1;
        n |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    let hdr = p - pos;
    (p, n, p + n + hdr)
}

/// Reads the entry ending at `end`: (entry start, data start, data length).
fn entry_before(buf: &[u8], end: usize) -> (usize, usize, usize) {
    let (mut n, mut shift, mut p) = (0usize, 0, end);
    loop {
        p -= 1;
        let b = buf[p];
        n |= usize::from(b & 0x7f) << shift;
        shift += 7;
        if b & 0x80 == 0 {
            break;
        }
    }
    let hdr = end - p;
    let data = p - n;
    (data - hdr, data, n)
}

/// One chunk: entries packed in `buf[head..]` (the room before `head` is left
/// by pops at the front). With `rev` the entries are stored last-first: a chunk
/// grown by pushes at the list's head (LPUSH) appends them, so pushing never
/// moves the chunk's bytes, whichever end a list grows at.
#[derive(Debug, Clone, Default)]
pub(super) struct Packed {
    pub(super) buf: Vec<u8>,
    pub(super) head: u32,
    pub(super) count: u32,
    pub(super) rev: bool,
}

impl Packed {
    /// An empty chunk; `room` bytes reserved (a chunk after a full one is
    /// sized once, a list's first chunk grows from nothing so small lists stay
    /// small).
    pub(super) fn new(rev: bool, room: usize) -> Packed {
        Packed {
            buf: Vec::with_capacity(room),
            rev,
            ..Packed::default()
        }
    }

    pub(super) fn bytes(&self) -> usize {
        self.buf.len() - self.head as usize
    }

    // Physical operations: on the stored order.

    pub(super) fn append(&mut self, v: &[u8]) {
        self.make_room(entry_len(v.len()));
        put_entry(&mut self.buf, v);
        self.count += 1;
    }

    /// Room for `need` more bytes (exactly that while the chunk is small).
    fn make_room(&mut self, need: usize) {
        crate::types::reserve_small(&mut self.buf, need);
    }

    pub(super) fn prepend(&mut self, v: &[u8]) {
        let mut e = Vec::with_capacity(entry_len(v.len()));
        put_entry(&mut e, v);
        let head = self.head as usize;
        if head >= e.len() {
            // Into the room left by earlier pops at the front.
            let start = head - e.len();
            self.buf[start..head].copy_from_slice(&e);
            self.head = start as u32;
        } else {
            // Shifts the chunk (at most about 8 KiB), as a listpack insert does.
            self.make_room(e.len());
            self.buf.splice(head..head, e);
        }
        self.count += 1;
    }

    pub(super) fn reset_if_empty(&mut self) {
        if self.count == 0 {
            self.buf.clear();
            self.head = 0;
        }
    }

    pub(super) fn take_first(&mut self) -> Option<Vec<u8>> {
        if self.count == 0 {
            return None;
        }
        let (d, n, next) = entry_at(&self.buf, self.head as usize);
        let v = self.buf[d..d + n].to_vec();
        self.head = next as u32;
        self.count -= 1;
        self.reset_if_empty();
        Some(v)
    }

    pub(super) fn take_last(&mut self) -> Option<Vec<u8>> {
        if self.count == 0 {
            return None;
        }
        let (start, d, n) = entry_before(&self.buf, self.buf.len());
        let v = self.buf[d..d + n].to_vec();
        self.buf.truncate(start);
        self.count -= 1;
        self.reset_if_empty();
        Some(v)
    }

    /// Byte offset where stored entry `i` (<= count) starts, walking from the
    /// nearer end.
    pub(super) fn offset(&self, i: usize) -> usize {
        let count = self.count as usize;
        if i <= count / 2 {
            let mut p = self.head as usize;
            for _ in 0..i {
                p = entry_at(&self.buf, p).2;
            }
            p
        } else {
            let mut p = self.buf.len();
            for _ in i..count {
                p = entry_before(&self.buf, p).0;
            }
            p
        }
    }

    /// Drops the first `n` stored entries.
    pub(super) fn drop_first(&mut self, n: usize) {
        self.head = self.offset(n) as u32;
        self.count -= n as u32;
        self.reset_if_empty();
    }

    /// Keeps the first `n` stored entries.
    pub(super) fn keep_first(&mut self, n: usize) {
        let at = self.offset(n);
        self.buf.truncate(at);
        self.count = n as u32;
        self.reset_if_empty();
    }

    // Logical operations: in the list's order.

    /// Stored index of logical index `i` (< count), or of the insertion point
    /// before logical `i` (<= count) with `gap`.
    pub(super) fn phys(&self, i: usize, gap: bool) -> usize {
        match (self.rev, gap) {
            (false, _) => i,
            (true, false) => self.count as usize - 1 - i,
            (true, true) => self.count as usize - i,
        }
    }

    pub(super) fn push_front(&mut self, v: &[u8]) {
        if self.rev {
            self.append(v)
        } else {
            self.prepend(v)
        }
    }

    pub(super) fn push_back(&mut self, v: &[u8]) {
        if self.rev {
            self.prepend(v)
        } else {
            self.append(v)
        }
    }

    pub(super) fn pop_front(&mut self) -> Option<Vec<u8>> {
        if self.rev {
            self.take_last()
        } else {
            self.take_first()
        }
    }

    pub(super) fn pop_back(&mut self) -> Option<Vec<u8>> {
        if self.rev {
            self.take_first()
        } else {
            self.take_last()
        }
    }

    pub(super) fn get(&self, i: usize) -> &[u8] {
        let (d, n, _) = entry_at(&self.buf, self.offset(self.phys(i, false)));
        &self.buf[d..d + n]
    }

    pub(super) fn set(&mut self, i: usize, v: &[u8]) {
        let start = self.offset(self.phys(i, false));
        let end = entry_at(&self.buf, start).2;
        let mut e = Vec::with_capacity(entry_len(v.len()));
        put_entry(&mut e, v);
        self.make_room(e.len().saturating_sub(end - start));
        self.buf.splice(start..end, e);
    }

    pub(super) fn insert(&mut self, i: usize, v: &[u8]) {
        let at = self.offset(self.phys(i, true));
        let mut e = Vec::with_capacity(entry_len(v.len()));
        put_entry(&mut e, v);
        self.make_room(e.len());
        self.buf.splice(at..at, e);
        self.count += 1;
    }

    /// Moves logical entries `k..` into a new chunk.
    pub(super) fn split_off(&mut self, k: usize) -> Packed {
        let n = self.count as usize - k;
        // The logical tail is stored last (forward) or first (reversed).
        let stored_first = if self.rev { n } else { k };
        let at = self.offset(stored_first);
        let (first, last) = (
            self.buf[self.head as usize..at].to_vec(),
            self.buf[at..].to_vec(),
        );
        let (mine, tail) = if self.rev {
            (last, first)
        } else {
            (first, last)
        };
        self.buf = mine;
        self.head = 0;
        self.count = k as u32;
        Packed {
            buf: tail,
            head: 0,
            count: n as u32,
            rev: self.rev,
        }
    }

    /// Drops the first `n` logical entries.
    pub(super) fn drop_front(&mut self, n: usize) {
        if self.rev {
            self.keep_first(self.count as usize - n)
        } else {
            self.drop_first(n)
        }
    }

    /// Keeps the first `n` logical entries.
    pub(super) fn keep_front(&mut self, n: usize) {
        if self.rev {
            self.drop_first(self.count as usize - n)
        } else {
            self.keep_first(n)
        }
    }

    /// Keeps the entries for which `keep` is true, called in logical order;
    /// the chunk is rewritten in forward order.
    pub(super) fn retain(&mut self, keep: &mut impl FnMut(&[u8]) -> bool) {
        let mut b = Vec::with_capacity(self.bytes());
        let mut count = 0;
        for v in self.iter() {
            if keep(v) {
                put_entry(&mut b, v);
                count += 1;
            }
        }
        self.buf = b;
        self.head = 0;
        self.count = count;
        self.rev = false;
    }

    /// Gives back the room at the front and the spare capacity (a chunk that is
    /// no longer at an end of the list).
    pub(super) fn compact(&mut self) {
        if self.head > 0 {
            self.buf = self.buf[self.head as usize..].to_vec();
            self.head = 0;
        } else if self.buf.capacity() - self.buf.len() > self.buf.len() / 8 + 64 {
            self.buf.shrink_to_fit();
        }
    }

    pub(super) fn iter(&self) -> PackedIter<'_> {
        PackedIter {
            buf: &self.buf,
            front: self.head as usize,
            back: self.buf.len(),
            rev: self.rev,
        }
    }
}

/// Entries of one chunk in logical order, from either end.
pub(super) struct PackedIter<'a> {
    buf: &'a [u8],
    front: usize,
    back: usize,
    rev: bool,
}

impl<'a> PackedIter<'a> {
    pub(super) fn first(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (d, n, next) = entry_at(self.buf, self.front);
        self.front = next;
        Some(&self.buf[d..d + n])
    }

    pub(super) fn last(&mut self) -> Option<&'a [u8]> {
        if self.front >= self.back {
            return None;
        }
        let (start, d, n) = entry_before(self.buf, self.back);
        self.back = start;
        Some(&self.buf[d..d + n])
    }
}

impl<'a> Iterator for PackedIter<'a> {
    type Item = &'a [u8];
    fn next(&mut self) -> Option<&'a [u8]> {
        if self.rev {
            self.last()
        } else {
            self.first()
        }
    }
}

impl DoubleEndedIterator for PackedIter<'_> {
    fn next_back(&mut self) -> Option<Self::Item> {
        if self.rev {
            self.first()
        } else {
            self.last()
        }
    }
}

impl<'a> IntoIterator for &'a Packed {
    type Item = &'a [u8];
    type IntoIter = PackedIter<'a>;
    fn into_iter(self) -> PackedIter<'a> {
        self.iter()
    }
}
