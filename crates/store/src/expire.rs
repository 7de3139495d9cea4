//! Active expiry: reclaiming keys whose TTL passed without anyone reading them,
//! after Redis's `activeExpireCycle` (slow cycle, default effort).
//!
//! ```text
//!   server cron (10 Hz) --> active_expire_cycle(now, budget)
//!     for up to 16 dbs, resuming where the last call stopped:
//!       repeat: walk `expires` from the db's scan cursor until 20 keys are sampled
//!               delete the expired ones (propagating DEL)
//!       while > 10% of the sample was expired and the budget lasts
//! ```
//!
//! Walking the expires table with the SCAN cursor (as Redis 7 does) rather than
//! random sampling guarantees every volatile key is looked at within a bounded
//! number of calls, so memory is reclaimed even when few keys are expired.

use std::time::{Duration, Instant};

use crate::keyspace::Store;

/// Keys sampled per loop (Redis's `ACTIVE_EXPIRE_CYCLE_KEYS_PER_LOOP`).
const KEYS_PER_LOOP: usize = 20;
/// Stop repeating on a db once at most this percentage of a sample was stale.
const ACCEPTABLE_STALE: usize = 10;
/// Databases visited per call unless the last call ran out of time.
const DBS_PER_CALL: usize = 16;

/// State carried between calls.
#[derive(Debug, Default, Clone)]
pub struct ExpireState {
    /// The next database to visit.
    pub current_db: usize,
    /// The last call stopped on its time budget (then this one visits every db).
    pub timelimit_exit: bool,
    /// Round-robin position for the random eviction policies.
    pub next_evict_db: usize,
}

impl Store {
    /// Deletes expired keys for at most about `budget`; returns how many it deleted.
    pub fn active_expire_cycle(&mut self, now_ms: i64, budget: Duration) -> usize {
        // A replica waits for its master's DELs; it never expires on its own.
        if !self.config.active_expire_enabled || self.config.is_replica || self.dbs.is_empty() {
            return 0;
        }
        let start = Instant::now();
        let dbnum = self.dbs.len();
        let dbs_per_call = if self.expire_state.timelimit_exit {
            dbnum
        } else {
            DBS_PER_CALL.min(dbnum)
        };
        self.expire_state.timelimit_exit = false;
        let (mut total_sampled, mut total_expired) = (0usize, 0usize);
        let mut keys: Vec<(Box<[u8]>, i64)> = Vec::with_capacity(KEYS_PER_LOOP * 2);
        'dbs: for _ in 0..dbs_per_call {
            let db = self.expire_state.current_db % dbnum;
            self.expire_state.current_db = (db + 1) % dbnum;
            loop {
                let d = &mut self.dbs[db];
                let num = d.expires.len().min(KEYS_PER_LOOP);
                if num == 0 {
                    d.avg_ttl = 0;
                    break;
                }
                let max_buckets = num * 20;
                let mut checked = 0;
                keys.clear();
                let mut cursor = d.expires_cursor;
                while keys.len() < num && checked < max_buckets {
                    cursor = d.expires.scan(cursor, |k, w| keys.push((k.into(), *w)));
                    checked += 1;
                    if cursor == 0 {
                        break;
                    }
                }
                d.expires_cursor = cursor;
                let (mut expired, mut ttl_sum, mut ttl_n) = (0usize, 0i64, 0i64);
                let sampled = keys.len();
                for (k, when) in keys.drain(..) {
                    if when <= now_ms {
                        self.delete_expired(db, &k);
                        expired += 1;
                    } else {
                        ttl_sum = ttl_sum.saturating_add(when - now_ms);
                        ttl_n += 1;
                    }
                }
                total_sampled += sampled;
                total_expired += expired;
                if ttl_n > 0 {
                    let avg = ttl_sum / ttl_n;
                    let d = &mut self.dbs[db];
                    // A running average that weighs the past 49:1, as Redis.
                    d.avg_ttl = if d.avg_ttl == 0 {
                        avg
                    } else {
                        (d.avg_ttl / 50) * 49 + avg / 50
                    };
                }
                if start.elapsed() >= budget {
                    self.expire_state.timelimit_exit = true;
                    self.stats.expired_time_cap_reached_count += 1;
                    break 'dbs;
                }
                if sampled != 0 && expired * 100 / sampled <= ACCEPTABLE_STALE {
                    break;
                }
            }
        }
        let current = if total_sampled > 0 {
            total_expired as f64 / total_sampled as f64
        } else {
            0.0
        };
        self.stats.expired_stale_perc = current * 0.05 + self.stats.expired_stale_perc * 0.95;
        total_expired
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::keyspace::StoreConfig;
    use crate::types::string::Str;
    use crate::value::Value;

    fn store_with_ttls(n: usize, when: i64) -> Store {
        let mut s = Store::new(StoreConfig::default());
        for i in 0..n {
            let k = format!("k{i}");
            s.set_key(
                0,
                k.as_bytes(),
                Value::Str(Str::from_bytes(i.to_string().as_bytes())),
                false,
                0,
            );
            s.set_expire(0, k.as_bytes(), when);
        }
        s
    }

    /// 10k keys that expired are all reclaimed by repeated cycles without any
    /// access, and no call overshoots its budget by much.
    #[test]
    fn reclaims_all_expired_keys_within_budget() {
        let mut s = store_with_ttls(10_000, 1);
        s.set_key(0, b"keep", Value::Str(Str::from_bytes(b"1")), false, 0);
        s.set_expire(0, b"keep", 1_000_000);
        s.set_key(3, b"persist", Value::Str(Str::from_bytes(b"1")), false, 0);
        let budget = Duration::from_millis(2);
        let mut calls = 0;
        let mut total = 0;
        while s.dbs[0].expires.len() > 1 {
            let t = Instant::now();
            total += s.active_expire_cycle(1000, budget);
            // Generous slack for a loaded CI box; a broken time check takes 100x.
            assert!(t.elapsed() < budget * 25, "{:?}", t.elapsed());
            calls += 1;
            assert!(calls < 10_000, "not converging");
        }
        assert_eq!(total, 10_000);
        assert_eq!(s.dbs[0].dict.len(), 1);
        assert!(s.dbs[0].dict.contains_key(b"keep"));
        assert_eq!(s.dbs[3].dict.len(), 1);
        assert_eq!(s.stats.expired_keys, 10_000);
        assert!(s.dbs[0].avg_ttl > 0);
        // Every deletion was propagated as a DEL.
        assert_eq!(s.prop.len(), 10_000);
        assert_eq!(&s.prop[0].args[0][..], b"DEL");
        assert!(s.stats.expired_stale_perc > 0.0);
    }

    #[test]
    fn sparse_expired_keys_are_found_eventually() {
        // 1 expired key among 5000 live ones: the cursor walk reaches it.
        let mut s = store_with_ttls(5000, 1_000_000);
        s.set_key(0, b"old", Value::Str(Str::from_bytes(b"1")), false, 0);
        s.set_expire(0, b"old", 5);
        let mut calls = 0;
        while s.dbs[0].dict.contains_key(b"old") {
            s.active_expire_cycle(1000, Duration::from_millis(1));
            calls += 1;
            assert!(calls < 10_000);
        }
        assert_eq!(s.dbs[0].dict.len(), 5000);
    }

    #[test]
    fn replica_and_disabled_do_nothing() {
        let mut s = store_with_ttls(10, 1);
        s.config.is_replica = true;
        assert_eq!(s.active_expire_cycle(1000, Duration::from_millis(5)), 0);
        s.config.is_replica = false;
        s.config.active_expire_enabled = false;
        assert_eq!(s.active_expire_cycle(1000, Duration::from_millis(5)), 0);
        s.config.active_expire_enabled = true;
        assert_eq!(s.active_expire_cycle(1000, Duration::from_millis(5)), 10);
    }
}
