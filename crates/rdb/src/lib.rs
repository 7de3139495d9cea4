//! Redis RDB snapshot format (version 10, as written by Redis 7.0) and DUMP/RESTORE
//! payloads, with no I/O beyond the `std::io::Read`/`Write` traits.
//!
//! ```text
//!  store --(iterators)--> RdbWriter<W: Write> --> "REDIS0010" AUX.. SELECTDB RESIZEDB
//!                                                 [EXPIRETIME_MS] type key value .. EOF crc64
//!  file/socket --> RdbReader<R: Read> --> Event::{Aux, SelectDb, ResizeDb, Entry, Eof}
//!  DUMP payload  = type byte + value + 2-byte RDB version (LE) + crc64 (LE)
//! ```
//!
//! * The value model ([`RdbValue`]) is neutral: it does not depend on the store's types,
//!   so the store converts to/from it (or streams through the writer's `begin_*`/item
//!   calls without building a copy).
//! * The writer uses only the plain encodings every Redis since 2.x loads (string with
//!   integer encodings, list type 1, set 2, hash 4, zset 5); real Redis 7.0.15 loads them
//!   (tested against the installed server).
//! * The reader accepts everything 7.0 emits plus the older compact encodings (ziplist,
//!   zipmap, intset, quicklist v1) and the 7.2 set listpack; streams and modules are
//!   refused by name. Every length read from the input is checked before use: corrupt
//!   input gives an [`Error`] with a byte offset, never a panic or a huge allocation.
//! * Strings get Redis's exact treatment (INT8/16/32 for canonical integers, LZF above
//!   20 bytes emulating liblzf 3.6, which Debian's redis-server 7.0.15 links), so
//!   strings, plain sets/hashes/zsets, AUX fields and whole snapshots of such keys are
//!   byte-identical to that server's output. (Upstream builds bundle an older lzf that
//!   skips matches in the last 4 bytes: their output can differ, both load everywhere.)
//! * Optional compact encoders ([`encode_listpack`], [`encode_intset`],
//!   [`encode_zset_listpack`]) plus [`RdbWriter::key_blob`] / [`dump_payload_blob`]
//!   reproduce Redis's DUMP bytes for small listpack/intset objects.
//!
//! Notes for the store's loader/saver (Redis 7.0 behaviour the format layer leaves to
//! the caller): Redis skips empty collections when loading ("empty keys skipped") and
//! never writes them; a set with duplicate members or a hash with duplicate fields makes
//! Redis refuse the whole file, so only write what the store really holds; a master
//! drops keys whose `expire_ms` is already past while loading, a replica keeps them.
//!
//! ```
//! use tandem_rdb::{AuxInfo, Event, RdbReader, RdbValue, RdbWriter};
//!
//! let mut w = RdbWriter::new(Vec::new());
//! w.header()?;
//! w.default_aux(&AuxInfo::default())?;
//! w.select_db(0)?;
//! w.resize_db(2, 1)?;
//! w.key_string(b"greeting", Some(4_102_444_800_000), b"hello")?;
//! w.begin_list(b"queue", None, 2)?;
//! w.list_item(b"a")?;
//! w.list_item(b"b")?;
//! let file = w.finish()?;
//!
//! let mut keys = Vec::new();
//! for ev in RdbReader::new(&file[..])? {
//!     if let Event::Entry(e) = ev? {
//!         keys.push((e.key, e.value));
//!     }
//! }
//! assert_eq!(keys[1], (b"queue".to_vec(), RdbValue::List(vec![b"a".to_vec(), b"b".to_vec()])));
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

mod blobs;
mod crc64;
mod dump;
mod encode;
mod error;
mod lzf;
mod reader;
mod source;
mod value;
mod writer;

pub use crc64::{crc64, Crc64};
pub use dump::{
    dump_functions, dump_payload, dump_payload_blob, parse_dump_payload, parse_function_payload,
};
pub use encode::{d2string, encode_intset, encode_listpack, encode_zset_listpack};
pub use error::{Error, ErrorKind};
pub use lzf::{lzf_compress, lzf_compress_bounded, lzf_decompress};
pub use reader::{Entry, Event, RdbReader};
pub use writer::{AuxInfo, RdbWriter, ReplAux};

/// The RDB format version this crate writes (Redis 7.0's `RDB_VERSION`).
pub const RDB_VERSION: u16 = 10;

/// One value in the neutral model shared by the reader, the writer and DUMP payloads.
///
/// Collections keep the order found in the input (for sets and hashes that order has no
/// meaning); integers stored in compact encodings come back as their decimal text, as
/// Redis itself presents them.
#[derive(Clone, Debug, PartialEq)]
pub enum RdbValue {
    String(Vec<u8>),
    List(Vec<Vec<u8>>),
    Set(Vec<Vec<u8>>),
    Hash(Vec<(Vec<u8>, Vec<u8>)>),
    ZSet(Vec<(Vec<u8>, f64)>),
}

impl RdbValue {
    /// The Redis TYPE name of this value.
    pub fn type_name(&self) -> &'static str {
        match self {
            RdbValue::String(_) => "string",
            RdbValue::List(_) => "list",
            RdbValue::Set(_) => "set",
            RdbValue::Hash(_) => "hash",
            RdbValue::ZSet(_) => "zset",
        }
    }
}

/// Object type bytes and opcodes (redis/redis `src/rdb.h`, 7.0).
pub mod consts {
    pub const TYPE_STRING: u8 = 0;
    pub const TYPE_LIST: u8 = 1;
    pub const TYPE_SET: u8 = 2;
    pub const TYPE_ZSET: u8 = 3;
    pub const TYPE_HASH: u8 = 4;
    pub const TYPE_ZSET_2: u8 = 5;
    pub const TYPE_MODULE_PRE_GA: u8 = 6;
    pub const TYPE_MODULE_2: u8 = 7;
    pub const TYPE_HASH_ZIPMAP: u8 = 9;
    pub const TYPE_LIST_ZIPLIST: u8 = 10;
    pub const TYPE_SET_INTSET: u8 = 11;
    pub const TYPE_ZSET_ZIPLIST: u8 = 12;
    pub const TYPE_HASH_ZIPLIST: u8 = 13;
    pub const TYPE_LIST_QUICKLIST: u8 = 14;
    pub const TYPE_STREAM_LISTPACKS: u8 = 15;
    pub const TYPE_HASH_LISTPACK: u8 = 16;
    pub const TYPE_ZSET_LISTPACK: u8 = 17;
    pub const TYPE_LIST_QUICKLIST_2: u8 = 18;
    pub const TYPE_STREAM_LISTPACKS_2: u8 = 19;
    pub const TYPE_SET_LISTPACK: u8 = 20;
    pub const TYPE_STREAM_LISTPACKS_3: u8 = 21;

    pub const OPCODE_FUNCTION2: u8 = 245;
    pub const OPCODE_FUNCTION_PRE_GA: u8 = 246;
    pub const OPCODE_MODULE_AUX: u8 = 247;
    pub const OPCODE_IDLE: u8 = 248;
    pub const OPCODE_FREQ: u8 = 249;
    pub const OPCODE_AUX: u8 = 250;
    pub const OPCODE_RESIZEDB: u8 = 251;
    pub const OPCODE_EXPIRETIME_MS: u8 = 252;
    pub const OPCODE_EXPIRETIME: u8 = 253;
    pub const OPCODE_SELECTDB: u8 = 254;
    pub const OPCODE_EOF: u8 = 255;

    /// Quicklist v2 node containers.
    pub const QUICKLIST_NODE_PLAIN: u64 = 1;
    pub const QUICKLIST_NODE_PACKED: u64 = 2;
}
