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
//!   integer encodings, list type 1, set 2, hash 4, zset 5), and streams as Redis 7.0
//!   saves them (type 19: listpack nodes split like consecutive XADDs with the default
//!   `stream-node-max-entries 100` / `stream-node-max-bytes 4096`, so a stream without
//!   deletions is byte-identical to Redis's DUMP); real Redis 7.0.15 loads them, with
//!   `sanitize-dump-payload yes` too (tested against the installed server).
//! * The reader accepts everything 7.0 emits plus the older compact encodings (ziplist,
//!   zipmap, intset, quicklist v1), the 7.2 set listpack, and streams of types 15
//!   (5.0/6.x), 19 (7.0) and 21 (7.2); modules are refused by name. Every length read
//!   from the input is checked before use: corrupt input gives an [`Error`] with a byte
//!   offset, never a panic or a huge allocation.
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
//! never writes them, except streams, which it keeps empty (after `XADD .. MAXLEN 0` or
//! XDEL of every entry) and which are read and written like any other; a set with
//! duplicate members or a hash with duplicate fields makes Redis refuse the whole file,
//! so only write what the store really holds; a master drops keys whose `expire_ms` is
//! already past while loading, a replica keeps them. A stream's consistency (IDs
//! increasing, PEL entries each owned by one consumer...) is checked both ways: see
//! [`RdbWriter::key_stream`].
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
mod stream;
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
    /// Boxed: a stream carries much more than the other variants.
    Stream(Box<RdbStream>),
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
            RdbValue::Stream(_) => "stream",
        }
    }
}

/// A stream entry ID (ms-seq).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct StreamId {
    pub ms: u64,
    pub seq: u64,
}

impl std::fmt::Display for StreamId {
    /// Redis's `ms-seq` form.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// One stream entry: its ID and field/value pairs (in order; fields may repeat).
pub type StreamEntry = (StreamId, Vec<(Vec<u8>, Vec<u8>)>);

/// A stream with its consumer groups (RDB types 15, 19 and 21; written as 19).
///
/// The writer takes the collections in the order given; Redis loads any order, and
/// gives groups sorted by name, consumers by name and PELs by ID (its radix trees'
/// order), which is what the reader returns for Redis's files and what makes our
/// output byte-identical to Redis's.
///
/// The reader refuses as corrupt what Redis 7.0's loader refuses (a node key that is
/// not 16 bytes, a repeated node key, group or consumer name or PEL ID, a consumer PEL
/// ID missing from its group's PEL, a node listpack failing the deep layout check) and
/// also what 7.0 loads only to misbehave later (or refuses only with
/// `sanitize-dump-payload yes`): entries out of ID order, a length that is not the
/// number of live entries, a `last_id` below the last entry, a group PEL entry that no
/// consumer (or two consumers) own. The writer refuses the same before writing.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct RdbStream {
    /// Entries in ID order: (id, field/value pairs).
    pub entries: Vec<StreamEntry>,
    pub last_id: StreamId,
    /// v2+ metadata (type 19/21). For type 15 they are what Redis 7.0.15's loader
    /// sets: `entries_added` = length, `max_deleted_id` = 0-0, `first_id` = the first
    /// entry's ID, or `u64::MAX-u64::MAX` for an empty stream (Redis's
    /// `streamGetEdgeID` on an empty stream; XINFO then shows
    /// `recorded-first-entry-id` 18446744073709551615-18446744073709551615).
    pub first_id: StreamId,
    pub max_deleted_id: StreamId,
    pub entries_added: u64,
    /// Consumer groups in the order found.
    pub groups: Vec<RdbStreamGroup>,
}

/// A consumer group of a stream.
#[derive(Clone, Debug, PartialEq)]
pub struct RdbStreamGroup {
    pub name: Vec<u8>,
    pub last_id: StreamId,
    /// Redis's `entries_read`; -1 (`SCG_INVALID_ENTRIES_READ`) when unknown. For type
    /// 15 it is what 7.0's loader computes with `streamEstimateDistanceFromFirstEverEntry`
    /// (0 for an empty stream; the length when `last_id` is the stream's last ID; 0
    /// before the first entry, 1 at it; -1 anywhere else).
    pub entries_read: i64,
    /// The group's pending entries list: (id, delivery_time unix ms, delivery_count).
    pub pel: Vec<(StreamId, u64, u64)>,
    pub consumers: Vec<RdbStreamConsumer>,
}

/// A consumer of a group.
#[derive(Clone, Debug, PartialEq)]
pub struct RdbStreamConsumer {
    pub name: Vec<u8>,
    /// seen_time in unix ms (7.0). Type 21 (7.2) has seen_time and active_time; the
    /// reader keeps seen_time.
    pub seen_time: u64,
    /// IDs of this consumer's pending entries (each is in the group's pel, and each
    /// entry of the group's pel belongs to exactly one consumer).
    pub pel: Vec<StreamId>,
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
