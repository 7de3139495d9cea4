//! String values.
//!
//! Three representations, mirroring Redis's three OBJECT ENCODINGs while keeping the
//! per-key overhead low (the benchmark compares RSS for 1M 64-byte values):
//! - `Int`: a canonical i64 of at most 20 chars (Redis's "int"); no heap allocation.
//! - `Emb`: a value stored once and never edited in place (SET, MSET, ...). A boxed
//!   slice carries no spare capacity and is 8 bytes smaller than a `Vec`. Reported as
//!   "embstr" up to 44 bytes, "raw" above, as Redis 7.0 decides at creation time.
//! - `Raw`: a value edited in place (APPEND, SETRANGE, SETBIT, BITFIELD, PFADD); the
//!   `Vec` keeps amortised growth. Always "raw", as Redis unshares such strings.

use std::borrow::Cow;

/// The longest string Redis stores as embstr.
pub const EMBSTR_MAX: usize = 44;

/// A string value.
#[derive(Debug, Clone)]
pub enum Str {
    Int(i64),
    Emb(Box<[u8]>),
    Raw(Vec<u8>),
}

impl Str {
    /// A value as SET stores it (Redis's `tryObjectEncoding`): int when the bytes are
    /// a canonical i64, otherwise the bytes as they are.
    pub fn from_bytes(b: &[u8]) -> Self {
        match crate::util::parse_i64(b) {
            Some(n) if b.len() <= 20 => Str::Int(n),
            _ => Str::Emb(b.into()),
        }
    }

    /// A value that is never int-encoded (INCRBYFLOAT's result is a plain string).
    pub fn from_bytes_plain(b: &[u8]) -> Self {
        Str::Emb(b.into())
    }

    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Emb(v) if v.len() <= EMBSTR_MAX => "embstr",
            Str::Emb(_) | Str::Raw(_) => "raw",
        }
    }

    /// Writes the value as a bulk string.
    pub fn reply(&self, out: &mut tandem_resp::ReplyBuf) {
        match self {
            Str::Int(n) => out.bulk_int(*n),
            Str::Emb(v) => out.bulk(v),
            Str::Raw(v) => out.bulk(v),
        }
    }

    /// The bytes, borrowed unless the value is int-encoded.
    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self {
            Str::Int(n) => {
                let mut b = itoa::Buffer::new();
                Cow::Owned(b.format(*n).as_bytes().to_vec())
            }
            Str::Emb(v) => Cow::Borrowed(v),
            Str::Raw(v) => Cow::Borrowed(v),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes().into_owned()
    }

    /// Length in bytes (STRLEN), without materialising an int.
    pub fn len(&self) -> usize {
        match self {
            Str::Int(n) => {
                let mut b = itoa::Buffer::new();
                b.format(*n).len()
            }
            Str::Emb(v) => v.len(),
            Str::Raw(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer if it parses as one (INCR and friends).
    pub fn as_i64(&self) -> Option<i64> {
        match self {
            Str::Int(n) => Some(*n),
            Str::Emb(v) => crate::util::parse_i64(v),
            Str::Raw(v) => crate::util::parse_i64(v),
        }
    }

    /// Mutable bytes for an in-place edit; converts the value to `Raw` first (as
    /// Redis's `dbUnshareStringValue`), so the encoding becomes "raw".
    pub fn make_raw(&mut self) -> &mut Vec<u8> {
        if !matches!(self, Str::Raw(_)) {
            let v = match std::mem::replace(self, Str::Int(0)) {
                Str::Int(n) => {
                    let mut b = itoa::Buffer::new();
                    b.format(n).as_bytes().to_vec()
                }
                Str::Emb(v) => v.into_vec(),
                Str::Raw(v) => v,
            };
            *self = Str::Raw(v);
        }
        match self {
            Str::Raw(v) => v,
            // Unreachable by construction: the value was just made Raw.
            _ => unreachable!("make_raw produced a non-raw string"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings() {
        assert_eq!(Str::from_bytes(b"123").encoding(), "int");
        assert_eq!(Str::from_bytes(b"-9223372036854775808").encoding(), "int");
        assert_eq!(Str::from_bytes(b"0123").encoding(), "embstr");
        assert_eq!(Str::from_bytes(&[b'a'; 44]).encoding(), "embstr");
        assert_eq!(Str::from_bytes(&[b'a'; 45]).encoding(), "raw");
        let mut s = Str::from_bytes(b"12");
        s.make_raw().push(b'3');
        assert_eq!(s.encoding(), "raw");
        assert_eq!(s.to_vec(), b"123");
        assert_eq!(s.len(), 3);
        assert_eq!(Str::Int(-15).len(), 3);
    }

    #[test]
    fn stays_small() {
        // The per-key overhead matters for the 1M-keys RSS benchmark.
        assert!(std::mem::size_of::<Str>() <= 24);
    }
}
