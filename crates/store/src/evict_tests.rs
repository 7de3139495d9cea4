//! Eviction tests: each policy picks the right kind of victim, noeviction and
//! "nothing evictable" refuse with OOM, and the LFU counter behaves.

use super::*;
use crate::keyspace::StoreConfig;
use crate::types::string::Str;

fn val(n: usize) -> Value {
    Value::Str(Str::from_bytes(&vec![b'x'; n]))
}

/// A store whose "used memory" is the sum of its string sizes (exact counter).
fn used(s: &Store) -> u64 {
    s.dbs
        .iter()
        .flat_map(|d| d.dict.iter())
        .map(|(k, e)| estimate_size(k, &e.value))
        .sum()
}

fn filled(policy: EvictionPolicy, n: usize) -> Store {
    let mut s = Store::new(StoreConfig {
        maxmemory_policy: policy,
        ..StoreConfig::default()
    });
    for i in 0..n {
        s.set_key(0, format!("k{i}").as_bytes(), val(100), false, 0);
    }
    s
}

fn run_evict(s: &mut Store, now: i64) -> Result<(), CmdError> {
    // The closure cannot borrow the store; the estimate path handles a counter
    // that does not move, so report the starting figure.
    let start = used(s);
    let mut f = move || start;
    s.evict_for_write(now, &mut f)
}

#[test]
fn noeviction_and_under_limit() {
    let mut s = filled(EvictionPolicy::NoEviction, 10);
    assert_eq!(run_evict(&mut s, 0), Ok(()), "maxmemory 0 = unlimited");
    s.config.maxmemory = 100;
    assert_eq!(run_evict(&mut s, 0), Err(CmdError::Oom));
    s.config.maxmemory = 1 << 30;
    assert_eq!(run_evict(&mut s, 0), Ok(()));
    s.config.maxmemory = 100;
    s.config.is_replica = true;
    assert_eq!(run_evict(&mut s, 0), Ok(()));
}

#[test]
fn allkeys_lru_evicts_the_idle_keys() {
    let mut s = filled(EvictionPolicy::AllKeysLru, 200);
    // Touch k0..k99 at t=100s: k100..k199 are idle since t=0.
    for i in 0..100 {
        s.lookup_read(0, format!("k{i}").as_bytes(), 100_000);
    }
    let per_key = used(&s) / 200;
    s.config.maxmemory = used(&s) - per_key * 20;
    s.config.maxmemory_samples = 10;
    // Eviction is time-capped per write (500 us, as Redis's tenacity 10): on a
    // loaded machine one call may stop early; the following writes continue it.
    for _ in 0..1000 {
        run_evict(&mut s, 100_000).unwrap();
        if used(&s) <= s.config.maxmemory {
            break;
        }
    }
    assert!(s.stats.evicted_keys >= 20);
    let recent_left = (0..100)
        .filter(|i| s.dbs[0].dict.contains_key(format!("k{i}").as_bytes()))
        .count();
    assert!(
        recent_left >= 95,
        "evicted recently used keys: {recent_left}"
    );
    assert_eq!(s.prop.len() as u64, s.stats.evicted_keys);
}

#[test]
fn volatile_policies_only_touch_keys_with_ttl() {
    for policy in [
        EvictionPolicy::VolatileLru,
        EvictionPolicy::VolatileLfu,
        EvictionPolicy::VolatileRandom,
        EvictionPolicy::VolatileTtl,
    ] {
        let mut s = filled(policy, 50);
        // Sample all 10 volatile keys, so the choice is exact, not approximate.
        s.config.maxmemory_samples = 10;
        for i in 0..10 {
            s.set_expire(0, format!("k{i}").as_bytes(), 1_000_000 + i);
        }
        s.config.maxmemory = used(&s) - 1;
        run_evict(&mut s, 0).unwrap();
        assert_eq!(s.dbs[0].dict.len(), 49, "{policy:?}");
        if policy == EvictionPolicy::VolatileTtl {
            assert!(!s.dbs[0].dict.contains_key(b"k0"), "soonest TTL goes first");
        }
        // All volatile keys gone: nothing left to evict.
        s.config.maxmemory = 1;
        assert_eq!(run_evict(&mut s, 0), Err(CmdError::Oom), "{policy:?}");
        assert_eq!(s.dbs[0].dict.len(), 40);
        assert_eq!(s.dbs[0].expires.len(), 0);
    }
}

#[test]
fn allkeys_random_and_lfu_empty_the_store_when_needed() {
    for policy in [EvictionPolicy::AllKeysRandom, EvictionPolicy::AllKeysLfu] {
        // Under 16 keys, so the time limit (checked every 16) cannot cut in.
        let mut s = filled(policy, 14);
        s.set_key(2, b"other-db", val(10), false, 0);
        s.config.maxmemory = 1;
        // More to free than all keys hold: evicts everything, then OOM.
        let mut f = || 1u64 << 40;
        assert_eq!(s.evict_for_write(0, &mut f), Err(CmdError::Oom));
        assert_eq!(s.dbs[0].dict.len() + s.dbs[2].dict.len(), 0, "{policy:?}");
        assert_eq!(s.stats.evicted_keys, 15);
    }
}

#[test]
fn lfu_counter() {
    assert_eq!(lfu_init(0) & 255, LFU_INIT_VAL);
    // Decay: one point per decay period (minutes).
    let lru = lfu_init(0) | 10;
    assert_eq!(lfu_decr_and_return(lru, 0, 1), 15);
    assert_eq!(lfu_decr_and_return(lru, 3 * 60_000, 1), 12);
    assert_eq!(
        lfu_decr_and_return(lru, 3 * 60_000, 0),
        15,
        "decay 0 = never"
    );
    assert_eq!(lfu_decr_and_return(lru, 100 * 60_000, 1), 0);
    // Log increment: near-certain at the start, rare when high.
    assert_eq!(lfu_log_incr(0, 10), 1);
    assert_eq!(lfu_log_incr(255, 10), 255);
    let mut c = LFU_INIT_VAL;
    for _ in 0..1000 {
        c = lfu_log_incr(c, 10);
    }
    assert!(c > 10 && c < 60, "{c}");
    // Accesses under an LFU policy bump the counter, not the clock.
    let mut s = filled(EvictionPolicy::AllKeysLfu, 1);
    assert_eq!(s.dbs[0].dict.get(b"k0").unwrap().lru & 255, LFU_INIT_VAL);
    for _ in 0..100 {
        s.lookup_read(0, b"k0", 0);
    }
    assert!(s.dbs[0].dict.get(b"k0").unwrap().lru & 255 > LFU_INIT_VAL);
}

#[test]
fn lru_idle_time() {
    assert_eq!(idle_ms(lru_clock(5_000), 65_000), 60_000);
    // Clock wrap-around.
    assert!(idle_ms(LRU_CLOCK_MAX - 1, 5_000) < 10_000);
}
