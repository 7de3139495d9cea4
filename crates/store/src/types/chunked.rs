//! `Chunked<T>`: a vector that grows without moving what it holds, for the
//! member arrays of big sets and sorted sets.
//!
//! A `Vec` doubles by copying every element: at 4M members that is a 64-160 MB
//! copy, a stall of 20-50 ms that PING sees. Here the first chunk grows like a
//! `Vec` up to `CHUNK` elements (so a small collection costs no more than a
//! `Vec`), and every later chunk is allocated at full size once, so growth
//! costs one allocation and no copy.

use std::ops::{Index, IndexMut};

const SHIFT: u32 = 12;
/// Elements per chunk (4096).
const CHUNK: usize = 1 << SHIFT;

#[derive(Debug, Clone)]
pub(crate) struct Chunked<T> {
    chunks: Vec<Vec<T>>,
    len: usize,
}

impl<T> Default for Chunked<T> {
    fn default() -> Self {
        Chunked {
            chunks: Vec::new(),
            len: 0,
        }
    }
}

impl<T> Chunked<T> {
    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn get(&self, i: usize) -> Option<&T> {
        self.chunks.get(i >> SHIFT)?.get(i & (CHUNK - 1))
    }

    pub fn push(&mut self, v: T) {
        match self.chunks.last_mut() {
            Some(c) if c.len() < CHUNK => c.push(v),
            _ => {
                // The first chunk starts small; later ones at full size.
                let mut c = Vec::with_capacity(if self.chunks.is_empty() { 4 } else { CHUNK });
                c.push(v);
                if self.chunks.is_empty() {
                    // Most collections stay within one chunk: room for one
                    // (a first push makes room for four).
                    self.chunks.reserve_exact(1);
                }
                self.chunks.push(c);
            }
        }
        self.len += 1;
    }

    pub fn pop(&mut self) -> Option<T> {
        let c = self.chunks.last_mut()?;
        let v = c.pop();
        if c.is_empty() {
            self.chunks.pop();
        }
        if v.is_some() {
            self.len -= 1;
        }
        v
    }

    /// Removes element `i`, moving the last element into its place.
    pub fn swap_remove(&mut self, i: usize) -> T {
        let last = self.len - 1;
        if i != last {
            let (a, b) = (i >> SHIFT, last >> SHIFT);
            if a == b {
                self.chunks[a].swap(i & (CHUNK - 1), last & (CHUNK - 1));
            } else {
                let (lo, hi) = self.chunks.split_at_mut(b);
                std::mem::swap(&mut lo[a][i & (CHUNK - 1)], &mut hi[0][last & (CHUNK - 1)]);
            }
        }
        match self.pop() {
            Some(v) => v,
            None => unreachable!("swap_remove on an empty Chunked"),
        }
    }

    /// Gives back the first chunk's spare room once it is mostly empty (later
    /// chunks are freed whole). Cheap to call on every removal: it reallocates
    /// only when the room is four times the use, to twice the use.
    pub fn shrink(&mut self) {
        if let [only] = self.chunks.as_mut_slice() {
            if only.capacity() > 64 && only.len() * 4 < only.capacity() {
                only.shrink_to(only.len() * 2);
            }
        }
    }

    #[cfg(test)]
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

impl<T> Index<usize> for Chunked<T> {
    type Output = T;
    #[inline]
    fn index(&self, i: usize) -> &T {
        &self.chunks[i >> SHIFT][i & (CHUNK - 1)]
    }
}

impl<T> IndexMut<usize> for Chunked<T> {
    #[inline]
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.chunks[i >> SHIFT][i & (CHUNK - 1)]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn behaves_as_a_vec_across_chunks() {
        let mut c = Chunked::default();
        let mut v = Vec::new();
        let n = 3 * CHUNK + 17;
        for i in 0..n {
            c.push(i);
            v.push(i);
        }
        assert_eq!(c.len(), n);
        assert_eq!(c.chunks.len(), 4);
        // Swap-removes within a chunk and across chunks.
        for i in [0, 5, CHUNK + 3, 2 * CHUNK, n - 40] {
            assert_eq!(c.swap_remove(i), v.swap_remove(i));
        }
        assert_eq!(c.iter().copied().collect::<Vec<_>>(), v);
        for (i, x) in v.iter().enumerate() {
            assert_eq!(c[i], *x);
            assert_eq!(c.get(i), Some(x));
        }
        assert_eq!(c.get(v.len()), None);
        c[7] = 99;
        v[7] = 99;
        assert_eq!(c[7], 99);
        while !c.is_empty() {
            assert_eq!(c.pop(), v.pop());
        }
        assert!(c.chunks.is_empty());
        assert_eq!(c.pop(), None);
    }

    #[test]
    fn a_full_chunk_never_moves() {
        let mut c = Chunked::default();
        for i in 0..CHUNK {
            c.push(i);
        }
        let first = &c[0] as *const usize;
        for i in 0..4 * CHUNK {
            c.push(i);
        }
        assert_eq!(first, &c[0] as *const usize);
    }
}
