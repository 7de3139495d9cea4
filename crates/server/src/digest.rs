//! DEBUG DIGEST and DEBUG DIGEST-VALUE: Redis's dataset digest, computed the
//! way Redis 7.0's debug.c does (SHA-1 "xor" and "mix" steps over each key,
//! its type, its elements in their text form and whether it has a TTL), so
//! the same data gives the same 40 hex digits on Tandem and on redis-server:
//! a whole-dataset comparison after replication, a restart or a migration.
//!
//! Unordered collections (sets, hashes, sorted sets) XOR their elements'
//! digests, so their iteration order does not matter; lists and streams mix
//! in order.

use tandem_rdb::RdbValue;
use tandem_store::Store;

/// `digest ^= SHA1(data)`.
fn xor(digest: &mut [u8; 20], data: &[u8]) {
    let h = sha1_smol::Sha1::from(data).digest().bytes();
    for (d, h) in digest.iter_mut().zip(h) {
        *d ^= h;
    }
}

/// `digest = SHA1(digest ^ SHA1(data))`.
fn mix(digest: &mut [u8; 20], data: &[u8]) {
    xor(digest, data);
    *digest = sha1_smol::Sha1::from(&digest[..]).digest().bytes();
}

/// Redis's object type codes (OBJ_STRING ... OBJ_STREAM).
fn type_code(v: &RdbValue) -> u32 {
    match v {
        RdbValue::String(_) => 0,
        RdbValue::List(_) => 1,
        RdbValue::Set(_) => 2,
        RdbValue::ZSet(_) => 3,
        RdbValue::Hash(_) => 4,
        RdbValue::Stream(_) => 6,
    }
}

/// Redis's xorObjectDigest: the value (and its TTL flag) into `digest`.
fn value_into(digest: &mut [u8; 20], v: &RdbValue, has_ttl: bool) {
    mix(digest, &type_code(v).to_be_bytes());
    match v {
        RdbValue::String(s) => mix(digest, s),
        RdbValue::List(items) => items.iter().for_each(|e| mix(digest, e)),
        RdbValue::Set(members) => members.iter().for_each(|m| xor(digest, m)),
        RdbValue::ZSet(members) => {
            for (m, score) in members {
                let mut e = [0u8; 20];
                mix(&mut e, m);
                mix(&mut e, tandem_resp::float::g17_string(*score).as_bytes());
                xor(digest, &e);
            }
        }
        RdbValue::Hash(fields) => {
            for (f, val) in fields {
                let mut e = [0u8; 20];
                mix(&mut e, f);
                mix(&mut e, val);
                xor(digest, &e);
            }
        }
        RdbValue::Stream(s) => {
            for (id, fields) in &s.entries {
                mix(digest, format!("{}.{}", id.ms, id.seq).as_bytes());
                for (f, val) in fields {
                    mix(digest, f);
                    mix(digest, val);
                }
            }
        }
    }
    if has_ttl {
        xor(digest, b"!!expire!!");
    }
}

fn hex(d: &[u8; 20]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// DEBUG DIGEST: every database, every key (logically expired ones too, as
/// Redis iterates its dicts); all zeros for an empty dataset.
pub fn dataset(store: &Store) -> String {
    let mut total = [0u8; 20];
    for (n, db) in store.dbs.iter().enumerate() {
        if db.dict.is_empty() {
            continue;
        }
        mix(&mut total, &(n as u32).to_be_bytes());
        for (key, entry) in db.dict.iter() {
            let mut d = [0u8; 20];
            mix(&mut d, key);
            let v = crate::persist::from_value(&entry.value);
            value_into(&mut d, &v, db.expires.get(key).is_some());
            xor(&mut total, &d);
        }
    }
    hex(&total)
}

/// DEBUG DIGEST-VALUE: one key's value digest (zeros when it is missing).
pub fn value(store: &Store, db: usize, key: &[u8]) -> String {
    let mut d = [0u8; 20];
    if let Some(e) = store.dbs[db].dict.get(key) {
        let v = crate::persist::from_value(&e.value);
        value_into(&mut d, &v, store.dbs[db].expires.get(key).is_some());
    }
    hex(&d)
}
