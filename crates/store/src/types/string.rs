//! String values.
//!
//! Four representations, mirroring Redis's three OBJECT ENCODINGs while keeping the
//! per-key overhead low (the benchmark compares RSS for 1M 64-byte values):
//! - `Int`: a canonical i64 of at most 20 chars (Redis's "int"); no heap allocation.
//! - `Short`: up to `SHORT_MAX` bytes inside the value itself ("embstr"); no heap
//!   allocation. Measured: a key with a 20-byte value took 128 bytes with the
//!   value boxed, 88 inline (Redis 112).
//! - `Emb`: a value stored once and never edited in place (SET, MSET, ...). A boxed
//!   slice carries no spare capacity and is 8 bytes smaller than a `Vec`. Reported as
//!   "embstr" up to 44 bytes, "raw" above, as Redis 7.0 decides at creation time.
//! - `Raw`: a value edited in place (APPEND, SETRANGE, SETBIT, BITFIELD, PFADD); the
//!   `Vec` keeps amortised growth. Always "raw", as Redis unshares such strings.

use std::borrow::Cow;

/// The longest string Redis stores as embstr.
pub const EMBSTR_MAX: usize = 44;

/// The longest string kept inside the value (the enum stays 32 bytes, the
/// size of the largest other value variant).
pub const SHORT_MAX: usize = 30;

/// A string value.
#[derive(Debug, Clone)]
pub enum Str {
    Int(i64),
    Short { len: u8, buf: [u8; SHORT_MAX] },
    Emb(Box<[u8]>),
    Raw(Vec<u8>),
}

impl Str {
    /// A value as SET stores it (Redis's `tryObjectEncoding`): int when the bytes are
    /// a canonical i64, otherwise the bytes as they are.
    pub fn from_bytes(b: &[u8]) -> Self {
        match crate::util::parse_i64(b) {
            Some(n) if b.len() <= 20 => Str::Int(n),
            _ => Str::from_bytes_plain(b),
        }
    }

    /// A value that is never int-encoded (INCRBYFLOAT's result is a plain string).
    pub fn from_bytes_plain(b: &[u8]) -> Self {
        if b.len() <= SHORT_MAX {
            let mut buf = [0u8; SHORT_MAX];
            buf[..b.len()].copy_from_slice(b);
            Str::Short {
                len: b.len() as u8,
                buf,
            }
        } else {
            Str::Emb(b.into())
        }
    }

    /// The bytes as stored, or the integer of an int-encoded value.
    pub fn stored(&self) -> Result<&[u8], i64> {
        match self {
            Str::Int(n) => Err(*n),
            Str::Short { len, buf } => Ok(&buf[..*len as usize]),
            Str::Emb(v) => Ok(v),
            Str::Raw(v) => Ok(v),
        }
    }

    /// OBJECT ENCODING.
    pub fn encoding(&self) -> &'static str {
        match self {
            Str::Int(_) => "int",
            Str::Short { .. } => "embstr",
            Str::Emb(v) if v.len() <= EMBSTR_MAX => "embstr",
            Str::Emb(_) | Str::Raw(_) => "raw",
        }
    }

    /// Writes the value as a bulk string.
    pub fn reply(&self, out: &mut tandem_resp::ReplyBuf) {
        match self.stored() {
            Ok(b) => out.bulk(b),
            Err(n) => out.bulk_int(n),
        }
    }

    /// The bytes, borrowed unless the value is int-encoded.
    pub fn as_bytes(&self) -> Cow<'_, [u8]> {
        match self.stored() {
            Ok(b) => Cow::Borrowed(b),
            Err(n) => Cow::Owned(itoa::Buffer::new().format(n).as_bytes().to_vec()),
        }
    }

    pub fn to_vec(&self) -> Vec<u8> {
        self.as_bytes().into_owned()
    }

    /// Length in bytes (STRLEN), without materialising an int.
    pub fn len(&self) -> usize {
        match self.stored() {
            Ok(b) => b.len(),
            Err(n) => itoa::Buffer::new().format(n).len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value as an integer if it parses as one (INCR and friends).
    pub fn as_i64(&self) -> Option<i64> {
        match self.stored() {
            Ok(b) => crate::util::parse_i64(b),
            Err(n) => Some(n),
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
                Str::Short { len, buf } => buf[..len as usize].to_vec(),
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
        // Inside a `Value`, which is 40 bytes for its other variants.
        assert!(std::mem::size_of::<Str>() <= 32);
    }

    #[test]
    fn short_values_live_inline_and_read_back() {
        for len in [0usize, 1, 20, SHORT_MAX, SHORT_MAX + 1, 44, 45] {
            let v = vec![b'x'; len];
            let s = Str::from_bytes(&v);
            assert_eq!(matches!(s, Str::Short { .. }), len <= SHORT_MAX, "{len}");
            assert_eq!(s.to_vec(), v);
            assert_eq!(s.len(), len);
            assert_eq!(s.stored(), Ok(&v[..]));
            assert_eq!(s.encoding(), if len <= 44 { "embstr" } else { "raw" });
            let mut r = s.clone();
            r.make_raw().push(b'y');
            assert_eq!(r.len(), len + 1);
            assert_eq!(r.encoding(), "raw");
        }
        assert_eq!(Str::from_bytes_plain(b"12").as_i64(), Some(12));
    }
}
