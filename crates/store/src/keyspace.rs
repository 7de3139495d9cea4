//! The store: databases, per-key metadata, expiry on access, and the signals the
//! server needs (modified keys for WATCH, ready keys for blocked clients, the
//! propagation queue for the write stream).

use bytes::Bytes;
use hashbrown::{HashMap, HashSet};

use crate::dict::Dict;
use crate::value::Value;

/// A key's slot in a database: the value plus its LRU clock / LFU counter.
#[derive(Debug, Clone)]
pub struct Entry {
    pub value: Value,
    /// LRU: the low 24 bits of the LRU clock (seconds) at last access, as Redis.
    /// LFU: high 16 bits minutes of last decrement, low 8 bits the log counter.
    pub lru: u32,
}

/// One numbered database.
#[derive(Debug, Default)]
pub struct Db {
    pub dict: Dict<Entry>,
    /// Keys with a TTL -> absolute expiry time in Unix milliseconds.
    pub expires: Dict<i64>,
    /// Running average TTL of sampled keys (INFO keyspace `avg_ttl`).
    pub avg_ttl: i64,
    /// Where the active expire cycle's scan of `expires` resumes.
    pub expires_cursor: u64,
}

/// Settings the data plane reads. The server's config table owns parsing and
/// CONFIG GET/SET; it writes the effective values here.
#[derive(Debug, Clone)]
pub struct StoreConfig {
    pub databases: usize,
    /// 0 = unlimited.
    pub maxmemory: u64,
    pub maxmemory_policy: EvictionPolicy,
    pub maxmemory_samples: usize,
    pub lfu_log_factor: u32,
    pub lfu_decay_time: u32,
    pub hash_max_listpack_entries: usize,
    pub hash_max_listpack_value: usize,
    pub set_max_intset_entries: usize,
    pub zset_max_listpack_entries: usize,
    pub zset_max_listpack_value: usize,
    pub list_max_listpack_size: i64,
    /// A stream's node (Redis's listpack in the radix tree) takes no more entries
    /// past this many (live and deleted; 0 = no limit), nor past this many bytes.
    pub stream_node_max_entries: i64,
    pub stream_node_max_bytes: u64,
    pub active_expire_enabled: bool,
    /// This node is a replica: keys that are logically expired are hidden from
    /// reads but not deleted (the master's DEL does that), as in Redis.
    pub is_replica: bool,
    pub lazyfree_lazy_user_del: bool,
    pub lazyfree_lazy_user_flush: bool,
    /// `proto-max-bulk-len`: the longest string APPEND, SETRANGE, SETBIT and
    /// BITFIELD may build, and the bound on LCS's table.
    pub proto_max_bulk_len: u64,
}

impl Default for StoreConfig {
    fn default() -> Self {
        StoreConfig {
            databases: 16,
            maxmemory: 0,
            maxmemory_policy: EvictionPolicy::NoEviction,
            maxmemory_samples: 5,
            lfu_log_factor: 10,
            lfu_decay_time: 1,
            hash_max_listpack_entries: 128,
            hash_max_listpack_value: 64,
            set_max_intset_entries: 512,
            zset_max_listpack_entries: 128,
            zset_max_listpack_value: 64,
            list_max_listpack_size: -2,
            stream_node_max_entries: 100,
            stream_node_max_bytes: 4096,
            active_expire_enabled: true,
            is_replica: false,
            lazyfree_lazy_user_del: false,
            lazyfree_lazy_user_flush: false,
            proto_max_bulk_len: 512 * 1024 * 1024,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvictionPolicy {
    NoEviction,
    AllKeysLru,
    VolatileLru,
    AllKeysLfu,
    VolatileLfu,
    AllKeysRandom,
    VolatileRandom,
    VolatileTtl,
}

impl EvictionPolicy {
    pub fn name(self) -> &'static str {
        match self {
            EvictionPolicy::NoEviction => "noeviction",
            EvictionPolicy::AllKeysLru => "allkeys-lru",
            EvictionPolicy::VolatileLru => "volatile-lru",
            EvictionPolicy::AllKeysLfu => "allkeys-lfu",
            EvictionPolicy::VolatileLfu => "volatile-lfu",
            EvictionPolicy::AllKeysRandom => "allkeys-random",
            EvictionPolicy::VolatileRandom => "volatile-random",
            EvictionPolicy::VolatileTtl => "volatile-ttl",
        }
    }
    pub fn parse(s: &str) -> Option<Self> {
        const ALL: [EvictionPolicy; 8] = [
            EvictionPolicy::NoEviction,
            EvictionPolicy::AllKeysLru,
            EvictionPolicy::VolatileLru,
            EvictionPolicy::AllKeysLfu,
            EvictionPolicy::VolatileLfu,
            EvictionPolicy::AllKeysRandom,
            EvictionPolicy::VolatileRandom,
            EvictionPolicy::VolatileTtl,
        ];
        ALL.into_iter().find(|p| p.name().eq_ignore_ascii_case(s))
    }
    pub fn is_lfu(self) -> bool {
        matches!(
            self,
            EvictionPolicy::AllKeysLfu | EvictionPolicy::VolatileLfu
        )
    }
}

/// Counters for INFO stats / keyspace.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    pub keyspace_hits: u64,
    pub keyspace_misses: u64,
    pub expired_keys: u64,
    pub expired_stale_perc: f64,
    pub expired_time_cap_reached_count: u64,
    pub evicted_keys: u64,
    pub total_eviction_exceeded_time_ms: u64,
}

/// A write to append to the replication stream / AOF: the database it applies to and
/// its arguments (command name first).
#[derive(Debug, Clone)]
pub struct Propagated {
    pub db: usize,
    pub args: Vec<Bytes>,
}

/// Keys prefetched at once: about as many lines as a core keeps in flight
/// (more would evict each other before they are used).
const PREFETCH_BATCH: usize = 16;

/// The whole data plane. The server holds it behind one lock.
#[derive(Debug)]
pub struct Store {
    pub dbs: Vec<Db>,
    pub config: StoreConfig,
    pub stats: Stats,
    /// Changes since the last snapshot (Redis's `server.dirty`).
    pub dirty: u64,
    /// Writes to propagate, in apply order; drained by the server after each command.
    pub prop: Vec<Propagated>,
    /// Keys watched by WATCH -> client ids watching.
    pub watched: HashMap<(usize, Box<[u8]>), Vec<u64>>,
    /// Clients whose watched keys were touched (EXEC must fail).
    pub dirty_cas: HashSet<u64>,
    /// Keys some client is blocked on -> number of blocked clients.
    pub blocking: HashMap<(usize, Box<[u8]>), usize>,
    /// Blocked-on keys that received a write since the server last looked.
    pub ready: Vec<(usize, Box<[u8]>)>,
    /// Bytes the allocator reports in use; refreshed by the server (jemalloc).
    pub used_memory: u64,
    /// Best eviction candidates kept across calls (Redis's `EvictionPoolLRU`).
    pub evict_pool: crate::evict::EvictionPool,
    /// Active expire cycle state carried between calls.
    pub expire_state: crate::expire::ExpireState,
    /// Set by the server while it applies commands from its master's replication
    /// stream: a replica then treats logically expired keys as present, so the
    /// master's own DEL (or any write) applies to them exactly as on the master
    /// (Redis's `expireIfNeeded` returns "not expired" for the master client).
    pub from_master: bool,
    /// Keyspace notification classes on (`notify-keyspace-events`, see
    /// [`crate::notify`]); 0 = off.
    pub notify: u32,
    /// Events the store raised itself (expired, evicted) for the server to
    /// publish.
    pub notifications: Vec<crate::notify::Event>,
    /// Some client tracks keys (CLIENT TRACKING): every modified key is
    /// reported in `invalidated`, and a flush in `flushed`, for the server.
    pub tracking_on: bool,
    pub invalidated: Vec<Box<[u8]>>,
    pub flushed: bool,
}

impl Store {
    pub fn new(config: StoreConfig) -> Self {
        let dbs = (0..config.databases).map(|_| Db::default()).collect();
        Store {
            dbs,
            config,
            stats: Stats::default(),
            dirty: 0,
            prop: Vec::new(),
            watched: HashMap::new(),
            dirty_cas: HashSet::new(),
            blocking: HashMap::new(),
            ready: Vec::new(),
            used_memory: 0,
            evict_pool: Default::default(),
            expire_state: Default::default(),
            from_master: false,
            notify: 0,
            notifications: Vec::new(),
            tracking_on: false,
            invalidated: Vec::new(),
            flushed: false,
        }
    }

    /// Queues a keyspace notification if its class is on.
    pub fn notify_event(&mut self, class: u32, event: &'static str, db: usize, key: &[u8]) {
        if self.notify & class != 0 {
            self.notifications.push(crate::notify::Event {
                class,
                event,
                db,
                key: Bytes::copy_from_slice(key),
            });
        }
    }

    /// Marks a key as modified (Redis's `signalModifiedKey` + `signalKeyAsReady`):
    /// invalidates WATCHers, makes blocked clients re-try, and reports the key
    /// to client-side caching while it is on.
    pub fn touch(&mut self, db: usize, key: &[u8]) {
        if self.tracking_on {
            self.invalidated.push(key.into());
        }
        if !self.watched.is_empty() {
            if let Some(ids) = self.watched.get(&(db, Box::<[u8]>::from(key))) {
                self.dirty_cas.extend(ids.iter().copied());
            }
        }
        if !self.blocking.is_empty() && self.blocking.contains_key(&(db, Box::<[u8]>::from(key))) {
            self.ready.push((db, key.into()));
        }
    }

    /// Invalidates the WATCHers of every key of `db` (FLUSHDB, SWAPDB).
    pub fn touch_all(&mut self, db: usize) {
        let ids: Vec<u64> = self
            .watched
            .iter()
            .filter(|((d, _), _)| *d == db)
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        self.dirty_cas.extend(ids);
        let ready: Vec<_> = self
            .blocking
            .keys()
            .filter(|(d, _)| *d == db)
            .cloned()
            .collect();
        self.ready.extend(ready);
    }

    /// Invalidates the WATCHers of the keys of `db` that exist in `db`, or in
    /// `other` (FLUSHDB/FLUSHALL: the keys about to vanish; SWAPDB: the keys about
    /// to change), as Redis's `touchAllWatchedKeysInDb`. Watched keys that exist
    /// on neither side are left alone.
    pub fn touch_watched_in_db(&mut self, db: usize, other: Option<usize>) {
        if self.watched.is_empty() {
            return;
        }
        let dbs = &self.dbs;
        let ids: Vec<u64> = self
            .watched
            .iter()
            .filter(|((d, k), _)| {
                *d == db
                    && (dbs[db].dict.contains_key(k)
                        || other.is_some_and(|o| dbs[o].dict.contains_key(k)))
            })
            .flat_map(|(_, ids)| ids.iter().copied())
            .collect();
        self.dirty_cas.extend(ids);
    }

    /// Makes every client blocked on a key of `db` re-check it (SWAPDB).
    pub fn touch_all_blocked(&mut self, db: usize) {
        let ready: Vec<_> = self
            .blocking
            .keys()
            .filter(|(d, _)| *d == db)
            .cloned()
            .collect();
        self.ready.extend(ready);
    }

    /// Prefetches the keys a batch of requests is about to look up in `db`, in two
    /// passes (buckets, then nodes) so the cache misses overlap (see
    /// `dict::prefetch`). Keys of other databases or absent keys cost a hash.
    pub fn prefetch<'k>(&self, db: usize, keys: impl Iterator<Item = &'k [u8]>) {
        let Some(d) = self.dbs.get(db) else { return };
        let mut hashes = [0u64; PREFETCH_BATCH];
        let mut n = 0;
        for k in keys.take(PREFETCH_BATCH) {
            hashes[n] = d.dict.prefetch_bucket(k);
            n += 1;
        }
        for &h in &hashes[..n] {
            d.dict.prefetch_node(h);
        }
    }

    /// The second level of a batch prefetch, for requests on a field of a hash
    /// (`(key, field)` pairs, after [`Store::prefetch`] of their keys): for a
    /// hash in its table form, the field's bucket and then its first node, so
    /// a pipeline of HSETs on a big hash waits for one miss at a time no more.
    pub fn prefetch_fields<'k>(
        &self,
        db: usize,
        items: impl Iterator<Item = (&'k [u8], &'k [u8])>,
    ) {
        let Some(d) = self.dbs.get(db) else { return };
        // A hash's field table and the field's hash.
        type Found<'a> = Option<(&'a Dict<Box<[u8]>>, u64)>;
        let mut found: [Found; PREFETCH_BATCH] = [None; PREFETCH_BATCH];
        let mut n = 0;
        for (key, field) in items.take(PREFETCH_BATCH) {
            if let Some(Entry {
                value: Value::Hash(h),
                ..
            }) = d.dict.get(key)
            {
                if let Some(t) = h.table() {
                    found[n] = Some((t, t.prefetch_bucket(field)));
                    n += 1;
                }
            }
        }
        for (t, h) in found[..n].iter().flatten() {
            t.prefetch_node(*h);
        }
    }

    /// Appends a write to the propagation queue.
    pub fn propagate(&mut self, db: usize, args: Vec<Bytes>) {
        self.prop.push(Propagated { db, args });
    }

    /// The expiry time of `key` (Unix ms), if it has one.
    pub fn get_expire(&self, db: usize, key: &[u8]) -> Option<i64> {
        let d = &self.dbs[db];
        if d.expires.is_empty() {
            return None;
        }
        d.expires.get(key).copied()
    }

    /// Whether `key` is logically expired at `now`.
    pub fn is_expired(&self, db: usize, key: &[u8], now: i64) -> bool {
        matches!(self.get_expire(db, key), Some(t) if t <= now)
    }

    /// Deletes `key` if it is expired, propagating a DEL (Redis's `expireIfNeeded`).
    /// On a replica the key is kept (the master's DEL will come) but reported as
    /// expired. Returns true if the key is (logically) gone.
    pub fn expire_if_needed(&mut self, db: usize, key: &[u8], now: i64) -> bool {
        if !self.is_expired(db, key, now) {
            return false;
        }
        if self.config.is_replica {
            return !self.from_master;
        }
        self.delete_expired(db, key);
        true
    }

    /// Removes an expired key and propagates `DEL key` (used by lazy and active expiry).
    pub fn delete_expired(&mut self, db: usize, key: &[u8]) {
        let d = &mut self.dbs[db];
        d.dict.remove(key);
        d.expires.remove(key);
        self.stats.expired_keys += 1;
        self.notify_event(crate::notify::EXPIRED, "expired", db, key);
        self.propagate(
            db,
            vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(key)],
        );
        self.touch(db, key);
    }

    /// Looks a key up for reading: expires it if needed, counts a hit or a miss,
    /// and updates its access clock.
    pub fn lookup_read(&mut self, db: usize, key: &[u8], now: i64) -> Option<&mut Value> {
        if self.expire_if_needed(db, key, now) {
            self.stats.keyspace_misses += 1;
            self.notify_event(crate::notify::KEY_MISS, "keymiss", db, key);
            return None;
        }
        let (policy, cfg) = (self.config.maxmemory_policy, &self.config);
        let (factor, decay) = (cfg.lfu_log_factor, cfg.lfu_decay_time);
        match self.dbs[db].dict.get_mut(key) {
            Some(e) => {
                self.stats.keyspace_hits += 1;
                e.lru = crate::evict::bump_access(policy, factor, decay, e.lru, now);
                Some(&mut e.value)
            }
            None => {
                self.stats.keyspace_misses += 1;
                // Field by field: `self.dbs` is still borrowed here.
                if self.notify & crate::notify::KEY_MISS != 0 {
                    self.notifications.push(crate::notify::Event {
                        class: crate::notify::KEY_MISS,
                        event: "keymiss",
                        db,
                        key: Bytes::copy_from_slice(key),
                    });
                }
                None
            }
        }
    }

    /// Looks a key up for writing: expires it if needed, updates its access clock,
    /// counts nothing.
    pub fn lookup_write(&mut self, db: usize, key: &[u8], now: i64) -> Option<&mut Value> {
        self.expire_if_needed(db, key, now);
        let (policy, cfg) = (self.config.maxmemory_policy, &self.config);
        let (factor, decay) = (cfg.lfu_log_factor, cfg.lfu_decay_time);
        match self.dbs[db].dict.get_mut(key) {
            Some(e) => {
                e.lru = crate::evict::bump_access(policy, factor, decay, e.lru, now);
                Some(&mut e.value)
            }
            None => None,
        }
    }

    /// Like [`Store::lookup_read`] without touching stats or access time (TYPE-like
    /// introspection, OBJECT, SCAN filters).
    pub fn peek(&mut self, db: usize, key: &[u8], now: i64) -> Option<&Entry> {
        if self.expire_if_needed(db, key, now) {
            return None;
        }
        self.dbs[db].dict.get(key)
    }

    /// Sets `key` to `value` (Redis's `setKey`): replaces any old value, drops the
    /// TTL unless `keep_ttl`, and touches the key. Does not count `dirty`.
    pub fn set_key(&mut self, db: usize, key: &[u8], value: Value, keep_ttl: bool, now: i64) {
        let lru = self.access_clock(now);
        let lfu = self.config.maxmemory_policy.is_lfu();
        let d = &mut self.dbs[db];
        match d.dict.get_mut(key) {
            // Overwriting keeps the LFU counter (Redis's `dbSetValue`): the key's
            // popularity is about the name, not this particular value.
            Some(e) => {
                let old = std::mem::replace(&mut e.value, value);
                if !lfu {
                    e.lru = lru;
                }
                drop(old);
            }
            None => {
                d.dict.insert(key, Entry { value, lru });
            }
        }
        if !keep_ttl && !d.expires.is_empty() {
            d.expires.remove(key);
        }
        self.touch(db, key);
    }

    /// Deletes `key` with its TTL; touches it. Returns whether it existed.
    pub fn delete_key(&mut self, db: usize, key: &[u8]) -> bool {
        let d = &mut self.dbs[db];
        let existed = d.dict.remove(key).is_some();
        if existed {
            d.expires.remove(key);
            self.touch(db, key);
        }
        existed
    }

    /// Sets an absolute expiry (Unix ms) on an existing key.
    pub fn set_expire(&mut self, db: usize, key: &[u8], when_ms: i64) {
        self.dbs[db].expires.insert(key, when_ms);
    }

    /// Removes a key's TTL; returns whether it had one.
    pub fn remove_expire(&mut self, db: usize, key: &[u8]) -> bool {
        self.dbs[db].expires.remove(key).is_some()
    }

    /// The [`Entry::lru`] of a newly created key: the LRU clock, or under an LFU
    /// policy the current minute with the initial counter (`LFU_INIT_VAL`).
    /// Accesses to existing keys go through [`crate::evict::bump_access`].
    pub fn access_clock(&self, now: i64) -> u32 {
        if self.config.maxmemory_policy.is_lfu() {
            crate::evict::lfu_init(now)
        } else {
            crate::evict::lru_clock(now)
        }
    }

    /// Does a bounded amount of incremental rehashing of every database's tables,
    /// within `budget` (Redis's `databasesCron` rehash step). Returns true if some
    /// table still has rehashing to do.
    pub fn rehash_cron(&mut self, budget: std::time::Duration) -> bool {
        let start = std::time::Instant::now();
        let mut more = false;
        for d in self.dbs.iter_mut() {
            let left = budget.saturating_sub(start.elapsed());
            more |= d.dict.rehash_for(left) | d.expires.rehash_for(left);
        }
        more
    }
}
