//! maxmemory eviction and the LRU clock / LFU counter kept in [`Entry::lru`], after
//! Redis's `evict.c`.
//!
//! ```text
//!  server: before a DENYOOM command, if maxmemory > 0
//!     store.evict_for_write(now, &mut used_memory)
//!        while used > maxmemory:
//!          sample `maxmemory-samples` keys per db --> pool of the 16 best candidates
//!          take the best live one --> delete (freed inline) + propagate DEL
//! ```
//!
//! `Entry::lru` holds, under an LRU (or any non-LFU) policy, the low 24 bits of the
//! Unix time in seconds at the last access; under an LFU policy the minute of the
//! last decrement (16 bits) and a logarithmic access counter (8 bits).

use bytes::Bytes;

use crate::error::CmdError;
use crate::keyspace::{EvictionPolicy, Store};
use crate::value::Value;

/// Candidates kept between calls (Redis's `EVPOOL_SIZE`).
pub const EVPOOL_SIZE: usize = 16;
/// Counter of a new key under LFU: high enough to survive its first decay period.
pub const LFU_INIT_VAL: u32 = 5;
const LRU_CLOCK_MAX: u32 = (1 << 24) - 1;
/// Longest one call may evict before letting the command run (Redis's default
/// `maxmemory-eviction-tenacity` 10 = 500 us); the next write call continues.
const EVICT_TIME_LIMIT: std::time::Duration = std::time::Duration::from_micros(500);

/// The LRU clock: Unix seconds, 24 bits (wraps every ~194 days, handled on read).
pub fn lru_clock(now_ms: i64) -> u32 {
    ((now_ms / 1000) as u32) & LRU_CLOCK_MAX
}

fn lfu_minutes(now_ms: i64) -> u32 {
    ((now_ms / 60_000) as u32) & 0xFFFF
}

/// `Entry::lru` of a new key under LFU.
pub fn lfu_init(now_ms: i64) -> u32 {
    (lfu_minutes(now_ms) << 8) | LFU_INIT_VAL
}

/// Milliseconds since the last access recorded in an LRU `Entry::lru`.
pub fn idle_ms(lru: u32, now_ms: i64) -> u64 {
    let clock = lru_clock(now_ms);
    let lru = lru & LRU_CLOCK_MAX;
    let secs = if clock >= lru {
        clock - lru
    } else {
        clock + (LRU_CLOCK_MAX - lru)
    };
    secs as u64 * 1000
}

/// The LFU counter after applying the decay for the minutes elapsed since its last
/// decrement (Redis's `LFUDecrAndReturn`; OBJECT FREQ shows this).
pub fn lfu_decr_and_return(lru: u32, now_ms: i64, decay_time: u32) -> u32 {
    let ldt = lru >> 8;
    let counter = lru & 255;
    let now = lfu_minutes(now_ms);
    let elapsed = if now >= ldt {
        now - ldt
    } else {
        65535 - ldt + now
    };
    let periods = elapsed.checked_div(decay_time).unwrap_or(0);
    counter.saturating_sub(periods)
}

/// Logarithmic increment: the higher the counter, the less likely a hit bumps it.
pub fn lfu_log_incr(counter: u32, log_factor: u32) -> u32 {
    if counter >= 255 {
        return 255;
    }
    let base = counter.saturating_sub(LFU_INIT_VAL) as f64;
    let p = 1.0 / (base * log_factor as f64 + 1.0);
    if rand::random::<f64>() < p {
        counter + 1
    } else {
        counter
    }
}

/// The new `Entry::lru` after an access under `policy`.
#[inline]
pub fn bump_access(policy: EvictionPolicy, log_factor: u32, decay: u32, old: u32, now: i64) -> u32 {
    if policy.is_lfu() {
        let c = lfu_log_incr(lfu_decr_and_return(old, now, decay), log_factor);
        (lfu_minutes(now) << 8) | c
    } else {
        lru_clock(now)
    }
}

#[derive(Debug, Clone)]
struct Candidate {
    /// Higher = better to evict.
    score: u64,
    db: usize,
    key: Box<[u8]>,
}

/// The best eviction candidates seen so far, ascending by score.
#[derive(Debug, Default)]
pub struct EvictionPool {
    pool: Vec<Candidate>,
}

impl EvictionPool {
    fn offer(&mut self, score: u64, db: usize, key: &[u8]) {
        if self.pool.iter().any(|c| c.db == db && *c.key == *key) {
            return;
        }
        if self.pool.len() >= EVPOOL_SIZE {
            if self.pool.first().is_some_and(|c| score <= c.score) {
                return;
            }
            self.pool.remove(0);
        }
        let at = self.pool.partition_point(|c| c.score <= score);
        self.pool.insert(
            at,
            Candidate {
                score,
                db,
                key: key.into(),
            },
        );
    }
    pub fn len(&self) -> usize {
        self.pool.len()
    }
    pub fn is_empty(&self) -> bool {
        self.pool.is_empty()
    }
    pub fn clear(&mut self) {
        self.pool.clear();
    }
}

/// A lower bound of what deleting a key frees, for when the allocator counter did
/// not move after a deletion (if the server refreshes it on a timer): the loop
/// must still make progress. With an exact counter the measured delta wins.
/// (Only `Value`'s stable API is used here; the types' internals are not ours.)
fn estimate_size(key: &[u8], _v: &Value) -> u64 {
    64 + key.len() as u64
}

impl Store {
    fn volatile(&self) -> bool {
        matches!(
            self.config.maxmemory_policy,
            EvictionPolicy::VolatileLru
                | EvictionPolicy::VolatileLfu
                | EvictionPolicy::VolatileRandom
                | EvictionPolicy::VolatileTtl
        )
    }

    /// Samples each database into the pool (Redis's `evictionPoolPopulate`).
    fn populate_pool(&mut self, now: i64) -> usize {
        let policy = self.config.maxmemory_policy;
        let samples = self.config.maxmemory_samples.max(1);
        let decay = self.config.lfu_decay_time;
        let volatile = self.volatile();
        let mut total = 0;
        let mut pool = std::mem::take(&mut self.evict_pool);
        for (i, d) in self.dbs.iter().enumerate() {
            let size = if volatile {
                d.expires.len()
            } else {
                d.dict.len()
            };
            if size == 0 {
                continue;
            }
            total += size;
            let mut picked: Vec<(u64, Box<[u8]>)> = Vec::with_capacity(samples);
            let score_of = |key: &[u8], when: Option<i64>| -> Option<u64> {
                match policy {
                    EvictionPolicy::VolatileTtl => when.map(|w| u64::MAX - w.max(0) as u64),
                    _ => {
                        let e = d.dict.get(key)?;
                        Some(if policy.is_lfu() {
                            255 - lfu_decr_and_return(e.lru, now, decay) as u64
                        } else {
                            idle_ms(e.lru, now)
                        })
                    }
                }
            };
            if volatile {
                d.expires.sample(samples, |k, w| {
                    if let Some(s) = score_of(k, Some(*w)) {
                        picked.push((s, k.into()));
                    }
                });
            } else {
                d.dict.sample(samples, |k, _| {
                    if let Some(s) = score_of(k, None) {
                        picked.push((s, k.into()));
                    }
                });
            }
            for (s, k) in picked {
                pool.offer(s, i, &k);
            }
        }
        self.evict_pool = pool;
        total
    }

    /// Picks the next key to evict, or None if nothing is evictable.
    fn pick_victim(&mut self, now: i64) -> Option<(usize, Box<[u8]>)> {
        let volatile = self.volatile();
        match self.config.maxmemory_policy {
            EvictionPolicy::NoEviction => None,
            EvictionPolicy::AllKeysRandom | EvictionPolicy::VolatileRandom => {
                let n = self.dbs.len();
                for _ in 0..n {
                    let i = self.expire_state.next_evict_db % n;
                    self.expire_state.next_evict_db = (i + 1) % n;
                    let d = &self.dbs[i];
                    let k = if volatile {
                        d.expires.random_entry().map(|(k, _)| k)
                    } else {
                        d.dict.random_entry().map(|(k, _)| k)
                    };
                    if let Some(k) = k {
                        return Some((i, k.into()));
                    }
                }
                None
            }
            _ => loop {
                if self.populate_pool(now) == 0 {
                    return None;
                }
                // Best candidates last; skip ghosts (deleted since they were pooled).
                while let Some(c) = self.evict_pool.pool.pop() {
                    let d = &self.dbs[c.db];
                    let live = if volatile {
                        d.expires.contains_key(&c.key)
                    } else {
                        d.dict.contains_key(&c.key)
                    };
                    if live {
                        return Some((c.db, c.key));
                    }
                }
            },
        }
    }

    /// Evicts keys until the memory in use is at most `maxmemory` (Redis's
    /// `performEvictions`). Each evicted key is freed inline, propagated as `DEL`
    /// and counted in `stats.evicted_keys`. Returns `CmdError::Oom` when over the
    /// limit and nothing can be evicted (noeviction, or no key qualifies).
    pub fn evict_for_write(
        &mut self,
        now_ms: i64,
        used_memory: &mut dyn FnMut() -> u64,
    ) -> Result<(), CmdError> {
        let max = self.config.maxmemory;
        // A replica mirrors its master's dataset (replica-ignore-maxmemory yes).
        if max == 0 || self.config.is_replica {
            return Ok(());
        }
        let used = used_memory();
        if used <= max {
            return Ok(());
        }
        let to_free = used - max;
        let mut freed = 0u64;
        let start = std::time::Instant::now();
        let mut evicted = 0u64;
        while freed < to_free {
            let Some((db, key)) = self.pick_victim(now_ms) else {
                return Err(CmdError::Oom);
            };
            let before = used_memory();
            let d = &mut self.dbs[db];
            let Some((k, e)) = d.dict.remove_entry(&key) else {
                continue;
            };
            d.expires.remove(&k);
            let estimate = estimate_size(&k, &e.value);
            drop(e);
            let after = used_memory();
            freed += before.saturating_sub(after).max(estimate);
            self.stats.evicted_keys += 1;
            self.notify_event(crate::notify::EVICTED, "evicted", db, &k);
            self.propagate(
                db,
                vec![Bytes::from_static(b"DEL"), Bytes::copy_from_slice(&k)],
            );
            self.touch(db, &k);
            evicted += 1;
            if evicted.is_multiple_of(16) && start.elapsed() > EVICT_TIME_LIMIT {
                // Let this command run; the next one continues the work (Redis
                // keeps evicting from a timer; here every write call resumes).
                self.stats.total_eviction_exceeded_time_ms += 1;
                return Ok(());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
#[path = "evict_tests.rs"]
mod tests;
