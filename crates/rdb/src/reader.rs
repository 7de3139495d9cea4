//! Streaming RDB reader: `RdbReader::new(read)` checks the header, then
//! [`RdbReader::next_event`] yields one event at a time, so a large snapshot is never
//! held in memory as a whole (only one value at a time).

use std::io::Read;

use crate::consts::*;
use crate::error::{Error, ErrorKind};
use crate::source::Source;
use crate::value::{is_object_type, read_value, unsupported_name};
use crate::RdbValue;

/// One key with its value and metadata.
#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: Vec<u8>,
    /// Absolute Unix time in milliseconds (EXPIRETIME_MS, or EXPIRETIME seconds × 1000).
    pub expire_ms: Option<i64>,
    /// LRU idle time in seconds (IDLE opcode), if present.
    pub idle: Option<u64>,
    /// LFU logarithmic counter (FREQ opcode), if present.
    pub freq: Option<u8>,
    /// The RDB object type byte the value was stored with (e.g. 18 for a quicklist).
    pub rdb_type: u8,
    pub value: RdbValue,
}

/// What the reader found next.
#[derive(Clone, Debug, PartialEq)]
pub enum Event {
    Aux {
        key: Vec<u8>,
        value: Vec<u8>,
    },
    SelectDb(u64),
    ResizeDb {
        db_size: u64,
        expires_size: u64,
    },
    Entry(Entry),
    /// A function library (`FUNCTION2` opcode): its code, shebang first.
    Function(Vec<u8>),
    /// End of file; the checksum (if any and non-zero) was verified.
    Eof,
}

/// Streaming reader. It issues many small reads and never reads past what it needs,
/// so give it a buffered source (`BufReader<File>`, a byte slice, a buffered socket).
pub struct RdbReader<R> {
    src: Source<R>,
    version: u32,
    done: bool,
}

impl<R: Read> RdbReader<R> {
    /// Turns verification of the CRC-64 trailer off (Redis's `rdbchecksum
    /// no` skips it on load); on by default.
    pub fn verify_checksum(mut self, on: bool) -> Self {
        self.src.checksum = on;
        self
    }

    /// Reads and checks the `REDIS00NN` header. Versions 1..=10 are accepted (what Redis
    /// 7.0 loads); newer ones fail with "Can't handle RDB format version N".
    pub fn new(inner: R) -> Result<Self, Error> {
        let mut src = Source::new(inner);
        let magic: [u8; 9] = src.array()?;
        if &magic[..5] != b"REDIS" {
            return Err(Error::new(0, ErrorKind::BadMagic));
        }
        let digits = &magic[5..];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err(Error::new(5, ErrorKind::BadMagic));
        }
        let version = digits.iter().fold(0u32, |a, d| a * 10 + (d - b'0') as u32);
        if !(1..=10).contains(&version) {
            return Err(Error::new(5, ErrorKind::UnsupportedVersion(version)));
        }
        Ok(RdbReader {
            src,
            version,
            done: false,
        })
    }

    /// The file's RDB format version.
    pub fn version(&self) -> u32 {
        self.version
    }

    /// Gives back the underlying reader, positioned right after the last byte consumed
    /// (after `Eof`: right after the checksum; the reader never reads ahead, so e.g. a
    /// replication stream continues there).
    pub fn into_inner(self) -> R {
        self.src.into_inner()
    }

    /// Bytes consumed so far.
    pub fn offset(&self) -> u64 {
        self.src.pos
    }

    /// The next event. After `Eof` it keeps returning `Eof`.
    pub fn next_event(&mut self) -> Result<Event, Error> {
        if self.done {
            return Ok(Event::Eof);
        }
        let mut expire_ms = None;
        let mut idle = None;
        let mut freq = None;
        loop {
            let at = self.src.pos;
            let op = self.src.u8()?;
            match op {
                OPCODE_EOF => {
                    if self.version >= 5 {
                        let computed = self.src.crc.value();
                        let stored = u64::from_le_bytes(self.src.array()?);
                        if self.src.checksum && stored != 0 && stored != computed {
                            return Err(Error::new(at, ErrorKind::Checksum { stored, computed }));
                        }
                    }
                    self.done = true;
                    return Ok(Event::Eof);
                }
                OPCODE_AUX => {
                    let key = self.src.string()?;
                    let value = self.src.string()?;
                    return Ok(Event::Aux { key, value });
                }
                OPCODE_SELECTDB => return Ok(Event::SelectDb(self.src.length()?)),
                OPCODE_RESIZEDB => {
                    let db_size = self.src.length()?;
                    let expires_size = self.src.length()?;
                    return Ok(Event::ResizeDb {
                        db_size,
                        expires_size,
                    });
                }
                OPCODE_EXPIRETIME_MS => expire_ms = Some(i64::from_le_bytes(self.src.array()?)),
                OPCODE_EXPIRETIME => {
                    expire_ms = Some(i32::from_le_bytes(self.src.array()?) as i64 * 1000)
                }
                OPCODE_IDLE => idle = Some(self.src.length()?),
                OPCODE_FREQ => freq = Some(self.src.u8()?),
                OPCODE_FUNCTION2 => return Ok(Event::Function(self.src.string()?)),
                OPCODE_FUNCTION_PRE_GA => return Err(Error::new(at, ErrorKind::FunctionPreGa)),
                OPCODE_MODULE_AUX => return Err(Error::new(at, ErrorKind::ModuleAux)),
                t if is_object_type(t) => {
                    // Refuse unsupported types at the type byte, before reading the key.
                    if let Some(name) = unsupported_name(t) {
                        return Err(Error::new(at, ErrorKind::UnsupportedType(t, name)));
                    }
                    let key = self.src.string()?;
                    let value = read_value(&mut self.src, t)?;
                    return Ok(Event::Entry(Entry {
                        key,
                        expire_ms,
                        idle,
                        freq,
                        rdb_type: t,
                        value,
                    }));
                }
                t => return Err(Error::new(at, ErrorKind::UnknownType(t))),
            }
        }
    }
}

impl<R: Read> Iterator for RdbReader<R> {
    type Item = Result<Event, Error>;

    /// Yields events up to and including `Eof`, then `None`; stops after an error.
    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        let r = self.next_event();
        if r.is_err() {
            self.done = true;
        }
        Some(r)
    }
}
