//! Whole-keyspace snapshots in Redis's RDB v10 format: [`write_rdb`] streams every
//! database through `tandem_rdb::RdbWriter` (no copy of the data is built), and
//! [`load_rdb`] rebuilds the keyspace from a snapshot (ours or a real Redis's).
//!
//! Both are plain functions over `Read`/`Write`, so the same code serves SAVE (a
//! file, in process), BGSAVE and AOF rewrites (a file, in a forked child) and full
//! resynchronisation (a pipe or socket, in a forked child, or a socket on a replica).
//!
//! Loading builds every collection through the store's own insert paths, so the
//! encoding limits in force (`hash-max-listpack-entries`, `set-max-intset-entries`,
//! `zset-max-listpack-*`) decide listpack vs hashtable as Redis's loader does, and
//! OBJECT ENCODING after a load matches Redis 7.0.

use std::io::{self, BufReader, Read, Write};

use tandem_rdb::{Event, RdbReader, RdbValue, RdbWriter};
use tandem_store::types::{hash::Hash, list::List, set::Set, string::Str, zset::ZSet};
use tandem_store::{Entry, Store, StoreConfig, Value};

/// The replication facts a snapshot records in its AUX fields.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SnapshotAux {
    /// `repl-id`: the master replication ID (40 hex chars).
    pub repl_id: String,
    /// `repl-offset`: the write-stream offset the snapshot corresponds to.
    pub repl_offset: u64,
    /// `repl-stream-db`: the database the write stream last SELECTed. Redis 7.0
    /// writes `repl-stream-db`, `repl-id` and `repl-offset` only when it has
    /// replication info (`rsi`, i.e. a backlog exists): with `Some` all three are
    /// written; with `None`, `repl-id`/`repl-offset` are written only if `repl_id`
    /// is non-empty (a plain Redis without a backlog writes none of them).
    pub repl_stream_db: Option<usize>,
    /// `aof-base`: the snapshot is the base file of a multi-part AOF.
    pub aof_base: bool,
    /// Bodies of the cached Lua scripts, one AUX `lua` field each (as Redis
    /// before 7.0 wrote them; Redis 7.0 reads and ignores them), so a replica
    /// after a full sync, or a restart, has the scripts EVALSHA names.
    pub scripts: Vec<Vec<u8>>,
    /// The function libraries' code, one `FUNCTION2` opcode each (as Redis
    /// 7.0 writes them).
    pub functions: Vec<Vec<u8>>,
}

/// Options of the writer that are configuration rather than content.
#[derive(Clone, Copy, Debug)]
pub struct WriteOptions {
    /// `rdbcompression`: LZF for strings over 20 bytes.
    pub compression: bool,
    /// Snapshot creation time (Unix seconds) for the `ctime` AUX field.
    pub ctime: i64,
    /// `rdb-key-save-delay`: microseconds to sleep after each key (a testing knob
    /// of Redis's, used to hold a BGSAVE child open).
    pub key_save_delay_us: u64,
    /// `rdbchecksum`: the CRC-64 trailer (zero when off).
    pub checksum: bool,
    /// `rdb-save-incremental-fsync` and `aof-rewrite-incremental-fsync`: a
    /// file being written is fsynced every 4 MiB, so the final fsync does not
    /// flush the whole file at once.
    pub rdb_incremental_fsync: bool,
    pub aof_incremental_fsync: bool,
}

impl Default for WriteOptions {
    fn default() -> Self {
        WriteOptions {
            compression: true,
            ctime: crate::dispatch::now_ms() / 1000,
            key_save_delay_us: 0,
            checksum: true,
            rdb_incremental_fsync: true,
            aof_incremental_fsync: true,
        }
    }
}

impl WriteOptions {
    /// `rdbcompression` and `rdb-key-save-delay` from the configuration.
    pub fn from_config(cfg: &crate::config::Config) -> Self {
        WriteOptions {
            compression: cfg.bool("rdbcompression"),
            key_save_delay_us: cfg.int("rdb-key-save-delay").max(0) as u64,
            checksum: cfg.bool("rdbchecksum"),
            rdb_incremental_fsync: cfg.bool("rdb-save-incremental-fsync"),
            aof_incremental_fsync: cfg.bool("aof-rewrite-incremental-fsync"),
            ..WriteOptions::default()
        }
    }
}

/// Writes the whole keyspace as RDB v10 with Redis 7.0's AUX fields (`rdbcompression
/// yes`). Keys whose TTL is already past are written too, as Redis does (a master's
/// loader drops them, a replica's keeps them). Returns the writer once the EOF
/// opcode and checksum are written and flushed.
pub fn write_rdb<W: Write>(store: &Store, aux: &SnapshotAux, w: W) -> io::Result<W> {
    write_rdb_opts(store, aux, &WriteOptions::default(), w)
}

/// [`write_rdb`] with explicit [`WriteOptions`].
pub fn write_rdb_opts<W: Write>(
    store: &Store,
    aux: &SnapshotAux,
    opts: &WriteOptions,
    w: W,
) -> io::Result<W> {
    let mut w = RdbWriter::new(w)
        .compression(opts.compression)
        .checksum(opts.checksum);
    w.header()?;
    // The order of `rdbSaveInfoAuxFields` (Redis 7.0).
    w.aux(b"redis-ver", crate::cmd_info::REDIS_VERSION.as_bytes())?;
    w.aux(b"redis-bits", b"64")?;
    w.aux(b"ctime", opts.ctime.to_string().as_bytes())?;
    w.aux(b"used-mem", store.used_memory.to_string().as_bytes())?;
    if let Some(db) = aux.repl_stream_db {
        w.aux(b"repl-stream-db", db.to_string().as_bytes())?;
    }
    if aux.repl_stream_db.is_some() || !aux.repl_id.is_empty() {
        w.aux(b"repl-id", aux.repl_id.as_bytes())?;
        w.aux(b"repl-offset", aux.repl_offset.to_string().as_bytes())?;
    }
    w.aux(b"aof-base", if aux.aof_base { b"1" } else { b"0" })?;
    for body in &aux.scripts {
        w.aux(b"lua", body)?;
    }
    for code in &aux.functions {
        w.function(code)?;
    }
    let mut ibuf = itoa::Buffer::new();
    let total: u64 = store.dbs.iter().map(|d| d.dict.len() as u64).sum();
    let mut done = 0u64;
    super::cow::keys(0, total);
    for (n, db) in store.dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        w.select_db(n as u64)?;
        w.resize_db(db.dict.len() as u64, db.expires.len() as u64)?;
        for (key, entry) in db.dict.iter() {
            let exp = if db.expires.is_empty() {
                None
            } else {
                db.expires.get(key).copied()
            };
            write_value(&mut w, key, exp, &entry.value, &mut ibuf)?;
            done += 1;
            if done.is_multiple_of(1024) {
                super::cow::keys(done, total);
            }
            if opts.key_save_delay_us > 0 {
                std::thread::sleep(std::time::Duration::from_micros(opts.key_save_delay_us));
            }
        }
    }
    super::cow::keys(done, total);
    w.finish()
}

fn write_value<W: Write>(
    w: &mut RdbWriter<W>,
    key: &[u8],
    exp: Option<i64>,
    v: &Value,
    ibuf: &mut itoa::Buffer,
) -> io::Result<()> {
    match v {
        Value::Str(s) => w.key_string(key, exp, &s.as_bytes()),
        Value::List(l) => {
            w.begin_list(key, exp, l.len() as u64)?;
            l.iter().try_for_each(|i| w.list_item(i))
        }
        Value::Set(s) => {
            w.begin_set(key, exp, s.len() as u64)?;
            s.iter().try_for_each(|e| w.set_member(e.bytes(ibuf)))
        }
        Value::Hash(h) => {
            w.begin_hash(key, exp, h.len() as u64)?;
            h.iter().try_for_each(|(f, v)| w.hash_field(f, v))
        }
        Value::ZSet(z) => {
            w.begin_zset(key, exp, z.len() as u64)?;
            z.iter().try_for_each(|(m, s)| w.zset_member(m, s))
        }
        Value::Stream(s) => w.key_stream(key, exp, &super::stream_rdb::to_rdb(s)),
    }
}

/// Whose rules apply to keys whose TTL is already past at load time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LoadMode {
    /// Drop them (Redis's `rdbLoad` on a master).
    Master,
    /// Keep them: the master's DEL will remove them (Redis on a replica).
    Replica,
}

/// What a load found.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub keys_loaded: u64,
    /// Keys skipped because their TTL had passed (master mode only).
    pub expired_skipped: u64,
    /// Empty collections skipped (Redis: "empty keys skipped").
    pub empty_skipped: u64,
    /// AUX `repl-id`, if present.
    pub repl_id: Option<String>,
    /// AUX `repl-offset`, if present and numeric.
    pub repl_offset: Option<i64>,
    /// AUX `repl-stream-db`, if present and numeric.
    pub repl_stream_db: Option<i64>,
    /// AUX `aof-base` was 1.
    pub aof_base: bool,
    /// AUX `redis-ver`, if present.
    pub redis_ver: Option<String>,
    /// AUX `lua` fields: script bodies for the script cache.
    pub scripts: Vec<Vec<u8>>,
    /// `FUNCTION2` opcodes: the function libraries' code.
    pub functions: Vec<Vec<u8>>,
    /// Bytes consumed, checksum included.
    pub bytes: u64,
}

/// A snapshot that could not be loaded, with the byte offset where it went wrong.
#[derive(Debug, thiserror::Error)]
#[error("{message} (at byte offset {offset})")]
pub struct LoadError {
    pub offset: u64,
    pub message: String,
}

impl From<tandem_rdb::Error> for LoadError {
    fn from(e: tandem_rdb::Error) -> Self {
        LoadError {
            offset: e.offset,
            message: e.kind.to_string(),
        }
    }
}

/// Loads a snapshot into `store`, adding to what it holds: the caller flushes the
/// keyspace first when the snapshot must replace it (start-up loads into an empty
/// store; a replica's full sync flushes, then loads). A key already present (in the
/// store or twice in the file) is an error, as Redis refuses duplicated keys.
///
/// On error the store holds the keys read so far: the caller decides (refuse to
/// start, or flush and retry the sync). Nothing is propagated and `dirty` is not
/// touched.
pub fn load_rdb<R: Read>(r: R, store: &mut Store, mode: LoadMode) -> Result<LoadStats, LoadError> {
    load_rdb_opts(r, store, mode, true)
}

/// [`load_rdb`], verifying the CRC-64 trailer only when `verify` (the
/// server's `rdbchecksum`, as Redis's rdbLoad).
/// Where a snapshot loads: a plain store, or the node's own keyspace at start,
/// which hands the state lock to waiting clients as it goes (see
/// `persist::loading`).
pub trait LoadTarget {
    fn store(&mut self) -> &mut Store;
    /// After each key, with the reader's offset. An error stops the load.
    fn after_key(&mut self, _offset: u64) -> Result<(), String> {
        Ok(())
    }
    /// The snapshot's `used-mem` AUX field.
    fn used_mem(&mut self, _bytes: u64) {}
}

impl LoadTarget for Store {
    fn store(&mut self) -> &mut Store {
        self
    }
}

pub fn load_rdb_opts<R: Read, T: LoadTarget + ?Sized>(
    r: R,
    target: &mut T,
    mode: LoadMode,
    verify: bool,
) -> Result<LoadStats, LoadError> {
    let mut rd = RdbReader::new(BufReader::with_capacity(256 * 1024, r))?.verify_checksum(verify);
    let now = crate::dispatch::now_ms();
    let mut stats = LoadStats::default();
    let mut db = 0usize;
    let lru = target.store().access_clock(now);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let store = target.store();
        let at = rd.offset();
        let err = |message: String| LoadError {
            offset: at,
            message,
        };
        let event = rd.next_event()?;
        if !matches!(event, Event::Entry(_)) {
            insert_batch(store, &mut batch)?;
        }
        match event {
            Event::Eof => break,
            Event::Function(code) => stats.functions.push(code),
            Event::Aux { key, value } => {
                let text = || String::from_utf8_lossy(&value).into_owned();
                match &key[..] {
                    b"repl-id" => stats.repl_id = Some(text()),
                    b"repl-offset" => stats.repl_offset = text().parse().ok(),
                    b"repl-stream-db" => stats.repl_stream_db = text().parse().ok(),
                    b"aof-base" => stats.aof_base = value == b"1",
                    b"redis-ver" => stats.redis_ver = Some(text()),
                    b"used-mem" => {
                        if let Ok(n) = text().parse() {
                            target.used_mem(n);
                        }
                    }
                    b"lua" => stats.scripts.push(value.to_vec()),
                    _ => {}
                }
            }
            Event::SelectDb(n) => {
                if n >= store.dbs.len() as u64 {
                    return Err(err(format!(
                        "FATAL: Data file was created with a Redis server configured to handle more than {} databases",
                        store.dbs.len()
                    )));
                }
                db = n as usize;
            }
            Event::ResizeDb {
                db_size,
                expires_size,
            } => {
                // Pre-size, bounded so a corrupt header cannot ask for huge tables.
                let d = &mut store.dbs[db];
                d.dict.expand(db_size.min(1 << 26) as usize);
                d.expires.expand(expires_size.min(1 << 26) as usize);
            }
            Event::Entry(e) => {
                if mode == LoadMode::Master && matches!(e.expire_ms, Some(t) if t <= now) {
                    stats.expired_skipped += 1;
                    continue;
                }
                let Some(value) = to_value(e.value, &store.config).map_err(err)? else {
                    stats.empty_skipped += 1;
                    continue;
                };
                let lru = entry_clock(&store.config, lru, e.idle, e.freq, now);
                batch.push(Pending {
                    db,
                    key: e.key,
                    expire: e.expire_ms,
                    entry: Entry { value, lru },
                    at,
                });
                if batch.len() == BATCH {
                    insert_batch(store, &mut batch)?;
                }
                stats.keys_loaded += 1;
                target.after_key(rd.offset()).map_err(err)?;
            }
        }
    }
    stats.bytes = rd.offset();
    Ok(stats)
}

/// Keys inserted together, their buckets fetched from memory in parallel:
/// one look-up per key in a table far bigger than the caches is the load's
/// main cost, and the misses overlap instead of following one another.
const BATCH: usize = 16;

/// A key read and not yet inserted.
struct Pending {
    db: usize,
    key: Vec<u8>,
    expire: Option<i64>,
    entry: Entry,
    /// Where its record starts (for the duplicate's error).
    at: u64,
}

/// Inserts `batch` (prefetching first); a key already there stops the load.
fn insert_batch(store: &mut Store, batch: &mut Vec<Pending>) -> Result<(), LoadError> {
    let mut hashes = [0u64; BATCH];
    for (h, p) in hashes.iter_mut().zip(batch.iter()) {
        *h = store.dbs[p.db].dict.prefetch_bucket(&p.key);
    }
    for (h, p) in hashes.iter().zip(batch.iter()) {
        store.dbs[p.db].dict.prefetch_node(*h);
    }
    for p in batch.drain(..) {
        let d = &mut store.dbs[p.db];
        if let Some(t) = p.expire {
            d.expires.insert(&p.key, t);
        }
        if let Err((key, _)) = d.dict.try_insert_owned(p.key.into_boxed_slice(), p.entry) {
            return Err(LoadError {
                offset: p.at,
                message: format!(
                    "RDB has duplicated key '{}' in DB {}",
                    String::from_utf8_lossy(&key),
                    p.db
                ),
            });
        }
    }
    Ok(())
}

/// The `Entry::lru` of a loaded key: the IDLE / FREQ opcodes when the policy uses
/// them (Redis's `objectSetLRUOrLFU`), otherwise "just accessed".
pub fn entry_clock(
    cfg: &StoreConfig,
    fresh: u32,
    idle_secs: Option<u64>,
    freq: Option<u8>,
    now: i64,
) -> u32 {
    if cfg.maxmemory_policy.is_lfu() {
        match freq {
            Some(f) => (fresh & !0xFF) | f as u32,
            None => fresh,
        }
    } else {
        match idle_secs {
            Some(s) => {
                let s = s.min(tandem_store::evict::lru_clock(now) as u64) as i64;
                tandem_store::evict::lru_clock(now - s * 1000)
            }
            None => fresh,
        }
    }
}

/// Converts a decoded value into the store's representation, choosing encodings as
/// the store's own inserts do. `Ok(None)` for an empty collection (skipped, as
/// Redis). Duplicated members or fields are refused, as Redis's loader does.
pub fn to_value(v: RdbValue, cfg: &StoreConfig) -> Result<Option<Value>, String> {
    Ok(Some(match v {
        RdbValue::String(s) => Value::Str(Str::from_bytes(&s)),
        RdbValue::List(items) => {
            if items.is_empty() {
                return Ok(None);
            }
            Value::List(items.into_iter().collect::<List>())
        }
        RdbValue::Set(items) => {
            if items.is_empty() {
                return Ok(None);
            }
            let s = Set::from_members(items.iter().map(|m| &m[..]), cfg);
            if s.len() != items.len() {
                return Err("Duplicate set members detected".into());
            }
            Value::Set(s)
        }
        RdbValue::Hash(pairs) => {
            if pairs.is_empty() {
                return Ok(None);
            }
            let mut h = Hash::new();
            for (f, v) in &pairs {
                if !h.insert(f, v, cfg) {
                    return Err("Duplicate hash fields detected".into());
                }
            }
            Value::Hash(h)
        }
        RdbValue::ZSet(members) => {
            if members.is_empty() {
                return Ok(None);
            }
            if members.iter().any(|(_, s)| s.is_nan()) {
                return Err("Zset with NAN score detected".into());
            }
            let z = ZSet::from_pairs(members.iter().map(|(m, s)| (&m[..], *s)), cfg);
            if z.len() != members.len() {
                return Err("Duplicate zset fields detected".into());
            }
            Value::ZSet(z)
        }
        // Redis keeps empty streams (their groups and IDs matter).
        RdbValue::Stream(st) => Value::Stream(Box::new(super::stream_rdb::from_rdb(*st, cfg)?)),
    }))
}

/// The neutral model of a stored value (DUMP, tests).
pub fn from_value(v: &Value) -> RdbValue {
    match v {
        Value::Str(s) => RdbValue::String(s.to_vec()),
        Value::List(l) => RdbValue::List(l.iter().map(|i| i.to_vec()).collect()),
        Value::Set(s) => RdbValue::Set(s.members()),
        Value::Hash(h) => RdbValue::Hash(h.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect()),
        Value::ZSet(z) => RdbValue::ZSet(z.iter().map(|(m, s)| (m.to_vec(), s)).collect()),
        Value::Stream(s) => RdbValue::Stream(Box::new(super::stream_rdb::to_rdb(s))),
    }
}
