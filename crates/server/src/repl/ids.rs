//! Replication IDs: 40 hex characters, as Redis checks (`CONFIG_RUN_ID_SIZE`).
//!
//! A master's history is named by `replid`; on promotion the old ID is kept as
//! `replid2` valid up to `second_offset` (Redis's `shiftReplicationId`), so the
//! old master's other replicas can continue partially against the new master.

use rand::Rng;

/// The all-zero ID Redis shows for "no secondary ID".
pub const ZERO_ID: &str = "0000000000000000000000000000000000000000";

/// A fresh random replication ID (40 lowercase hex characters).
pub fn new_replid() -> String {
    random_hex(40)
}

/// `n` random hex characters (also the `$EOF:` transfer mark).
pub fn random_hex(n: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    let mut r = rand::rng();
    (0..n).map(|_| HEX[r.random_range(0..16)] as char).collect()
}

/// True if `s` has the shape of a replication ID.
pub fn is_replid(s: &str) -> bool {
    s.len() == 40 && s.bytes().all(|b| b.is_ascii_hexdigit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_40_hex_and_differ() {
        let a = new_replid();
        let b = new_replid();
        assert!(is_replid(&a) && is_replid(&b));
        assert_ne!(a, b);
        assert!(is_replid(ZERO_ID));
        assert!(!is_replid("abc"));
    }
}
