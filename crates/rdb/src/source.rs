//! The reader's byte source: wraps any `Read`, counts the offset for error messages and
//! keeps the running CRC-64 of everything consumed. Also the RDB primitives built on it
//! (length encoding, string encoding with integer/LZF forms).

use std::io::Read;

use crate::crc64::Crc64;
use crate::error::{Error, ErrorKind};
use crate::lzf::lzf_decompress;

/// Cap on any up-front allocation sized from the input; beyond this, buffers grow only
/// as real bytes arrive.
pub(crate) const PREALLOC_CAP: usize = 4096;

pub(crate) struct Source<R> {
    inner: R,
    pub(crate) pos: u64,
    pub(crate) crc: Crc64,
    /// Off: the CRC is not computed (the reader does not verify).
    pub(crate) checksum: bool,
}

/// A decoded length field: either a plain length or a special string encoding.
pub(crate) enum Len {
    Plain(u64),
    Encoded(u8),
}

impl<R: Read> Read for Source<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if self.checksum {
            self.crc.update(&buf[..n]);
        }
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read> Source<R> {
    pub(crate) fn new(inner: R) -> Self {
        Source {
            inner,
            pos: 0,
            crc: Crc64::new(),
            checksum: true,
        }
    }

    pub(crate) fn into_inner(self) -> R {
        self.inner
    }

    pub(crate) fn err(&self, kind: ErrorKind) -> Error {
        Error::new(self.pos, kind)
    }

    pub(crate) fn corrupt(&self, msg: impl Into<String>) -> Error {
        Error::corrupt(self.pos, msg)
    }

    fn map_io(&self, e: std::io::Error) -> Error {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            self.err(ErrorKind::UnexpectedEof)
        } else {
            self.err(ErrorKind::Io(e))
        }
    }

    pub(crate) fn array<const N: usize>(&mut self) -> Result<[u8; N], Error> {
        let mut b = [0u8; N];
        self.read_exact(&mut b).map_err(|e| self.map_io(e))?;
        Ok(b)
    }

    pub(crate) fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads exactly `n` bytes, growing the buffer as data arrives (so a bogus huge `n`
    /// fails at end of input instead of allocating `n` bytes first). Read straight
    /// into the result: no bounce buffer to clear and copy from for every string.
    pub(crate) fn bytes(&mut self, n: u64) -> Result<Vec<u8>, Error> {
        let start = self.pos;
        let mut left = usize::try_from(n).unwrap_or(usize::MAX);
        let mut v = Vec::with_capacity(left.min(PREALLOC_CAP));
        while left > 0 {
            let at = v.len();
            let step = left.min(PREALLOC_CAP.max(at));
            v.resize(at + step, 0);
            self.read_exact(&mut v[at..]).map_err(|e| {
                if e.kind() == std::io::ErrorKind::UnexpectedEof {
                    Error::new(start, ErrorKind::UnexpectedEof)
                } else {
                    self.map_io(e)
                }
            })?;
            left -= step;
        }
        Ok(v)
    }

    pub(crate) fn len_field(&mut self) -> Result<Len, Error> {
        let b = self.u8()?;
        Ok(match b >> 6 {
            0 => Len::Plain((b & 0x3f) as u64),
            1 => Len::Plain(((b & 0x3f) as u64) << 8 | self.u8()? as u64),
            3 => Len::Encoded(b & 0x3f),
            _ => match b {
                0x80 => Len::Plain(u32::from_be_bytes(self.array()?) as u64),
                0x81 => Len::Plain(u64::from_be_bytes(self.array()?)),
                _ => return Err(self.corrupt(format!("unknown length encoding 0x{b:02x}"))),
            },
        })
    }

    /// A length (collection size, db number...): special encodings are not allowed here.
    pub(crate) fn length(&mut self) -> Result<u64, Error> {
        match self.len_field()? {
            Len::Plain(n) => Ok(n),
            Len::Encoded(e) => {
                Err(self.corrupt(format!("encoded value {e} where a length was expected")))
            }
        }
    }

    /// A length that must fit in memory as a `usize`.
    pub(crate) fn length_usize(&mut self) -> Result<usize, Error> {
        let n = self.length()?;
        usize::try_from(n).map_err(|_| self.corrupt(format!("length {n} too large")))
    }

    /// An RDB string: raw, INT8/16/32 (returned as decimal text) or LZF-compressed.
    pub(crate) fn string(&mut self) -> Result<Vec<u8>, Error> {
        match self.len_field()? {
            Len::Plain(n) => self.bytes(n),
            Len::Encoded(0) => Ok((self.array::<1>()?[0] as i8).to_string().into_bytes()),
            Len::Encoded(1) => Ok(i16::from_le_bytes(self.array()?).to_string().into_bytes()),
            Len::Encoded(2) => Ok(i32::from_le_bytes(self.array()?).to_string().into_bytes()),
            Len::Encoded(3) => {
                let clen = self.length()?;
                let len = self.length_usize()?;
                let at = self.pos;
                let comp = self.bytes(clen)?;
                lzf_decompress(&comp, len).map_err(|m| Error::corrupt(at, m))
            }
            Len::Encoded(e) => Err(self.corrupt(format!("unknown string encoding {e}"))),
        }
    }
}
