//! `InlineBytes`: a byte string that lives inside its owner when short.
//!
//! Keyspace keys and the members of big sets are mostly short
//! (`user:1234`, `element:000000012345`). Stored inline they cost no allocation
//! of their own, and a lookup compares bytes already in the cache line of the
//! slot it just read instead of following one more pointer: with the table's
//! bucket and the slot, the heap copy was a further cache miss per lookup.

use std::ops::Deref;

/// Longest string stored inline: 22 bytes plus the length keep the whole
/// value at 24 bytes, the size of a boxed slice plus the discriminant.
const INLINE: usize = 22;

#[derive(Clone)]
pub(crate) enum InlineBytes {
    Inline { len: u8, buf: [u8; INLINE] },
    Heap(Box<[u8]>),
}

impl InlineBytes {
    pub fn new(b: &[u8]) -> InlineBytes {
        match b.len() {
            n if n <= INLINE => {
                let mut buf = [0; INLINE];
                buf[..n].copy_from_slice(b);
                InlineBytes::Inline { len: n as u8, buf }
            }
            _ => InlineBytes::Heap(b.into()),
        }
    }

    /// Takes over a boxed string, copying it inline (and freeing the box) when short.
    pub fn from_box(b: Box<[u8]>) -> InlineBytes {
        if b.len() <= INLINE {
            InlineBytes::new(&b)
        } else {
            InlineBytes::Heap(b)
        }
    }

    #[inline]
    pub fn as_slice(&self) -> &[u8] {
        match self {
            InlineBytes::Inline { len, buf } => &buf[..*len as usize],
            InlineBytes::Heap(b) => b,
        }
    }

    pub fn into_box(self) -> Box<[u8]> {
        match self {
            InlineBytes::Inline { .. } => self.as_slice().into(),
            InlineBytes::Heap(b) => b,
        }
    }
}

impl Default for InlineBytes {
    fn default() -> Self {
        InlineBytes::Inline {
            len: 0,
            buf: [0; INLINE],
        }
    }
}

impl Deref for InlineBytes {
    type Target = [u8];
    #[inline]
    fn deref(&self) -> &[u8] {
        self.as_slice()
    }
}

impl std::fmt::Debug for InlineBytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:?}", String::from_utf8_lossy(self.as_slice()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_strings_are_inline_and_long_ones_on_the_heap() {
        assert_eq!(std::mem::size_of::<InlineBytes>(), 24);
        for n in [0, 1, 21, 22, 23, 100] {
            let s: Vec<u8> = (0..n).map(|i| (i * 7) as u8).collect();
            let b = InlineBytes::new(&s);
            assert_eq!(matches!(b, InlineBytes::Inline { .. }), n <= INLINE, "{n}");
            assert_eq!(b.as_slice(), &s[..]);
            assert_eq!(&*InlineBytes::from_box(s.clone().into()), &s[..]);
            assert_eq!(&*b.into_box(), &s[..]);
        }
        assert!(InlineBytes::default().is_empty());
    }
}
