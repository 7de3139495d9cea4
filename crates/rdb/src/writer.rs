//! Streaming RDB v10 writer. The caller drives it key by key; collections are written
//! with `begin_*(key, expire, len)` followed by exactly `len` item calls, so the store
//! can stream its data without building a copy. Item counts are checked: a mismatch is
//! an `InvalidInput` I/O error instead of a silently corrupt file. Streams are written
//! whole ([`RdbWriter::key_stream`]), after a consistency check.

use std::io::{self, Write};

use crate::consts::*;
use crate::crc64::Crc64;
use crate::lzf::lzf_compress_bounded;
use crate::stream;
use crate::{RdbStream, RdbValue, RDB_VERSION};

/// Writes an RDB length (6/14/32/64-bit forms).
pub(crate) fn write_len<W: Write>(w: &mut W, n: u64) -> io::Result<()> {
    if n < 1 << 6 {
        w.write_all(&[n as u8])
    } else if n < 1 << 14 {
        w.write_all(&[0x40 | (n >> 8) as u8, n as u8])
    } else if n <= u32::MAX as u64 {
        w.write_all(&[0x80])?;
        w.write_all(&(n as u32).to_be_bytes())
    } else {
        w.write_all(&[0x81])?;
        w.write_all(&n.to_be_bytes())
    }
}

/// If `s` is the canonical decimal form of an integer that fits in 32 bits, returns it
/// (Redis stores such strings as INT8/16/32; "007", "+1", "-0" stay raw).
fn canonical_int(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 11 {
        return None;
    }
    let v: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
    if v.to_string().as_bytes() != s || v < i32::MIN as i64 || v > i32::MAX as i64 {
        return None;
    }
    Some(v)
}

/// Writes an RDB string: integer encoding when canonical, LZF when `compress` and it
/// saves at least 4 bytes on a string over 20 bytes (Redis's rules), raw otherwise.
pub(crate) fn write_string<W: Write>(w: &mut W, s: &[u8], compress: bool) -> io::Result<()> {
    if let Some(v) = canonical_int(s) {
        return if let Ok(b) = i8::try_from(v) {
            w.write_all(&[0xc0, b as u8])
        } else if let Ok(h) = i16::try_from(v) {
            w.write_all(&[0xc1])?;
            w.write_all(&h.to_le_bytes())
        } else {
            w.write_all(&[0xc2])?;
            w.write_all(&(v as i32).to_le_bytes())
        };
    }
    if compress && s.len() > 20 {
        if let Some(c) = lzf_compress_bounded(s, s.len() - 4) {
            w.write_all(&[0xc3])?;
            write_len(w, c.len() as u64)?;
            write_len(w, s.len() as u64)?;
            return w.write_all(&c);
        }
    }
    write_len(w, s.len() as u64)?;
    w.write_all(s)
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

/// Type byte + value encoding of a whole value (used for DUMP payloads and
/// [`RdbWriter::entry`]).
pub(crate) fn write_value<W: Write>(w: &mut W, v: &RdbValue, compress: bool) -> io::Result<()> {
    match v {
        RdbValue::String(s) => {
            w.write_all(&[TYPE_STRING])?;
            write_string(w, s, compress)
        }
        RdbValue::List(items) | RdbValue::Set(items) => {
            let t = if matches!(v, RdbValue::List(_)) {
                TYPE_LIST
            } else {
                TYPE_SET
            };
            w.write_all(&[t])?;
            write_len(w, items.len() as u64)?;
            items.iter().try_for_each(|i| write_string(w, i, compress))
        }
        RdbValue::Hash(pairs) => {
            w.write_all(&[TYPE_HASH])?;
            write_len(w, pairs.len() as u64)?;
            pairs.iter().try_for_each(|(f, v)| {
                write_string(w, f, compress)?;
                write_string(w, v, compress)
            })
        }
        RdbValue::ZSet(members) => {
            w.write_all(&[TYPE_ZSET_2])?;
            write_len(w, members.len() as u64)?;
            members.iter().try_for_each(|(m, s)| {
                write_string(w, m, compress)?;
                w.write_all(&s.to_le_bytes())
            })
        }
        RdbValue::Stream(s) => {
            stream::check(s).map_err(invalid)?;
            w.write_all(&[TYPE_STREAM_LISTPACKS_2])?;
            stream::write_stream(w, s, compress)
        }
    }
}

/// Checksumming writer with its own 64 KiB buffer, so the many small writes of the
/// format do not each reach the inner writer (a file or socket needs no BufWriter).
struct CrcWriter<W> {
    inner: W,
    buf: Vec<u8>,
    crc: Crc64,
    /// Off: no CRC is computed and the trailer is zero (`rdbchecksum no`).
    checksum: bool,
}

const BUF_SIZE: usize = 64 * 1024;

impl<W: Write> CrcWriter<W> {
    fn drain(&mut self) -> io::Result<()> {
        if !self.buf.is_empty() {
            self.inner.write_all(&self.buf)?;
            self.buf.clear();
        }
        Ok(())
    }
}

impl<W: Write> Write for CrcWriter<W> {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        if self.checksum {
            self.crc.update(data);
        }
        self.buf.extend_from_slice(data);
        if self.buf.len() >= BUF_SIZE {
            self.drain()?;
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.drain()?;
        self.inner.flush()
    }
}

/// The AUX fields Redis 7.0 writes at the top of a snapshot.
#[derive(Clone, Debug)]
pub struct AuxInfo {
    pub redis_ver: String,
    /// Snapshot creation time, Unix seconds.
    pub ctime: i64,
    pub used_mem: u64,
    /// Replication info (written only when present, as Redis does with `rsi`).
    pub repl: Option<ReplAux>,
    /// True when the RDB is the base of an AOF (`aof-base` 1).
    pub aof_base: bool,
}

/// Replication AUX fields: `repl-stream-db`, `repl-id` (40 hex chars), `repl-offset`.
#[derive(Clone, Debug)]
pub struct ReplAux {
    pub stream_db: u64,
    pub id: String,
    pub offset: i64,
}

impl Default for AuxInfo {
    fn default() -> Self {
        AuxInfo {
            redis_ver: "7.0.15".into(),
            ctime: 0,
            used_mem: 0,
            repl: None,
            aof_base: false,
        }
    }
}

pub struct RdbWriter<W: Write> {
    w: CrcWriter<W>,
    compress: bool,
    /// Items still owed by the current `begin_*` call, and which kind.
    pending: u64,
    pending_kind: u8,
}

impl<W: Write> RdbWriter<W> {
    /// A writer with LZF compression of long strings on (Redis's default
    /// `rdbcompression yes`).
    pub fn new(inner: W) -> Self {
        RdbWriter {
            w: CrcWriter {
                inner,
                buf: Vec::with_capacity(BUF_SIZE),
                crc: Crc64::new(),
                checksum: true,
            },
            compress: true,
            pending: 0,
            pending_kind: 0,
        }
    }

    /// Turns the CRC-64 trailer on (the default) or off: off, as Redis's
    /// `rdbchecksum no`, the file ends in eight zero bytes, which loaders
    /// take as "not checksummed".
    pub fn checksum(mut self, on: bool) -> Self {
        self.w.checksum = on;
        self
    }

    /// Turns LZF compression of strings over 20 bytes on or off.
    pub fn compression(mut self, on: bool) -> Self {
        self.compress = on;
        self
    }

    fn check_idle(&self) -> io::Result<()> {
        if self.pending != 0 {
            return Err(invalid(format!(
                "RDB writer: {} items of type {} still owed",
                self.pending, self.pending_kind
            )));
        }
        Ok(())
    }

    fn item(&mut self, kind: u8) -> io::Result<()> {
        if self.pending == 0 || self.pending_kind != kind {
            return Err(invalid(format!(
                "RDB writer: unexpected item for type {kind}"
            )));
        }
        self.pending -= 1;
        Ok(())
    }

    /// `REDIS0010`.
    pub fn header(&mut self) -> io::Result<()> {
        write!(self.w, "REDIS{RDB_VERSION:04}")
    }

    pub fn aux(&mut self, key: &[u8], value: &[u8]) -> io::Result<()> {
        self.check_idle()?;
        self.w.write_all(&[OPCODE_AUX])?;
        write_string(&mut self.w, key, self.compress)?;
        write_string(&mut self.w, value, self.compress)
    }

    /// A function library (`FUNCTION2` opcode; Redis writes them after the
    /// AUX fields, before the databases).
    pub fn function(&mut self, code: &[u8]) -> io::Result<()> {
        self.check_idle()?;
        self.w.write_all(&[crate::consts::OPCODE_FUNCTION2])?;
        write_string(&mut self.w, code, self.compress)
    }

    /// The AUX fields in the order Redis 7.0 writes them (`rdbSaveInfoAuxFields`).
    pub fn default_aux(&mut self, info: &AuxInfo) -> io::Result<()> {
        self.aux(b"redis-ver", info.redis_ver.as_bytes())?;
        self.aux(b"redis-bits", b"64")?;
        self.aux(b"ctime", info.ctime.to_string().as_bytes())?;
        self.aux(b"used-mem", info.used_mem.to_string().as_bytes())?;
        if let Some(r) = &info.repl {
            self.aux(b"repl-stream-db", r.stream_db.to_string().as_bytes())?;
            self.aux(b"repl-id", r.id.as_bytes())?;
            self.aux(b"repl-offset", r.offset.to_string().as_bytes())?;
        }
        self.aux(b"aof-base", if info.aof_base { b"1" } else { b"0" })
    }

    pub fn select_db(&mut self, n: u64) -> io::Result<()> {
        self.check_idle()?;
        self.w.write_all(&[OPCODE_SELECTDB])?;
        write_len(&mut self.w, n)
    }

    pub fn resize_db(&mut self, keys: u64, expires: u64) -> io::Result<()> {
        self.check_idle()?;
        self.w.write_all(&[OPCODE_RESIZEDB])?;
        write_len(&mut self.w, keys)?;
        write_len(&mut self.w, expires)
    }

    fn key_header(&mut self, t: u8, key: &[u8], expire_ms: Option<i64>) -> io::Result<()> {
        self.check_idle()?;
        if let Some(ms) = expire_ms {
            self.w.write_all(&[OPCODE_EXPIRETIME_MS])?;
            self.w.write_all(&ms.to_le_bytes())?;
        }
        self.w.write_all(&[t])?;
        write_string(&mut self.w, key, self.compress)
    }

    pub fn key_string(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        value: &[u8],
    ) -> io::Result<()> {
        self.key_header(TYPE_STRING, key, expire_ms)?;
        write_string(&mut self.w, value, self.compress)
    }

    fn begin(&mut self, t: u8, key: &[u8], expire_ms: Option<i64>, len: u64) -> io::Result<()> {
        self.key_header(t, key, expire_ms)?;
        write_len(&mut self.w, len)?;
        self.pending = len;
        self.pending_kind = t;
        Ok(())
    }

    /// Starts a list of `len` items; follow with `len` calls to [`Self::list_item`].
    pub fn begin_list(&mut self, key: &[u8], expire_ms: Option<i64>, len: u64) -> io::Result<()> {
        self.begin(TYPE_LIST, key, expire_ms, len)
    }

    pub fn list_item(&mut self, item: &[u8]) -> io::Result<()> {
        self.item(TYPE_LIST)?;
        write_string(&mut self.w, item, self.compress)
    }

    /// Starts a set of `len` members; follow with `len` calls to [`Self::set_member`].
    pub fn begin_set(&mut self, key: &[u8], expire_ms: Option<i64>, len: u64) -> io::Result<()> {
        self.begin(TYPE_SET, key, expire_ms, len)
    }

    pub fn set_member(&mut self, member: &[u8]) -> io::Result<()> {
        self.item(TYPE_SET)?;
        write_string(&mut self.w, member, self.compress)
    }

    /// Starts a hash of `len` fields; follow with `len` calls to [`Self::hash_field`].
    pub fn begin_hash(&mut self, key: &[u8], expire_ms: Option<i64>, len: u64) -> io::Result<()> {
        self.begin(TYPE_HASH, key, expire_ms, len)
    }

    pub fn hash_field(&mut self, field: &[u8], value: &[u8]) -> io::Result<()> {
        self.item(TYPE_HASH)?;
        write_string(&mut self.w, field, self.compress)?;
        write_string(&mut self.w, value, self.compress)
    }

    /// Starts a sorted set of `len` members; follow with `len` calls to
    /// [`Self::zset_member`]. Scores must not be NaN (Redis refuses to load them).
    pub fn begin_zset(&mut self, key: &[u8], expire_ms: Option<i64>, len: u64) -> io::Result<()> {
        self.begin(TYPE_ZSET_2, key, expire_ms, len)
    }

    pub fn zset_member(&mut self, member: &[u8], score: f64) -> io::Result<()> {
        if score.is_nan() {
            return Err(invalid("RDB writer: NaN zset score".into()));
        }
        self.item(TYPE_ZSET_2)?;
        write_string(&mut self.w, member, self.compress)?;
        self.w.write_all(&score.to_le_bytes())
    }

    /// Writes a key whose value is a ready-made Redis blob (a listpack or intset from
    /// [`crate::encode_listpack`] / [`crate::encode_intset`]) of RDB type `rdb_type`.
    pub fn key_blob(
        &mut self,
        rdb_type: u8,
        key: &[u8],
        expire_ms: Option<i64>,
        blob: &[u8],
    ) -> io::Result<()> {
        self.key_header(rdb_type, key, expire_ms)?;
        write_string(&mut self.w, blob, self.compress)
    }

    /// Writes a stream key (RDB type 19, as Redis 7.0 does). The stream is checked
    /// first (entry IDs increasing and not above `last_id`, unique group and consumer
    /// names, every group PEL entry owned by exactly one of its consumers): Redis
    /// refuses or corrupts anything else, so it is an `InvalidInput` error, before any
    /// byte is written.
    pub fn key_stream(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        stream: &RdbStream,
    ) -> io::Result<()> {
        stream::check(stream).map_err(invalid)?;
        self.key_header(TYPE_STREAM_LISTPACKS_2, key, expire_ms)?;
        stream::write_stream(&mut self.w, stream, self.compress)
    }

    /// Writes a whole key from the neutral model.
    pub fn entry(
        &mut self,
        key: &[u8],
        expire_ms: Option<i64>,
        value: &RdbValue,
    ) -> io::Result<()> {
        match value {
            RdbValue::String(s) => self.key_string(key, expire_ms, s),
            RdbValue::List(items) => {
                self.begin_list(key, expire_ms, items.len() as u64)?;
                items.iter().try_for_each(|i| self.list_item(i))
            }
            RdbValue::Set(items) => {
                self.begin_set(key, expire_ms, items.len() as u64)?;
                items.iter().try_for_each(|i| self.set_member(i))
            }
            RdbValue::Hash(pairs) => {
                self.begin_hash(key, expire_ms, pairs.len() as u64)?;
                pairs.iter().try_for_each(|(f, v)| self.hash_field(f, v))
            }
            RdbValue::ZSet(members) => {
                self.begin_zset(key, expire_ms, members.len() as u64)?;
                members
                    .iter()
                    .try_for_each(|(m, s)| self.zset_member(m, *s))
            }
            RdbValue::Stream(s) => self.key_stream(key, expire_ms, s),
        }
    }

    /// Writes EOF and the checksum, flushes, and returns the inner writer. Nothing is
    /// guaranteed to reach the inner writer before this (the writer buffers).
    pub fn finish(mut self) -> io::Result<W> {
        self.check_idle()?;
        self.w.write_all(&[OPCODE_EOF])?;
        let crc = if self.w.checksum {
            self.w.crc.value()
        } else {
            0
        };
        // The checksum itself is not part of the checksummed bytes.
        self.w.buf.extend_from_slice(&crc.to_le_bytes());
        self.w.flush()?;
        Ok(self.w.inner)
    }
}
