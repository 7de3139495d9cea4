//! HyperLogLog tests; counts and bytes were produced by redis-server 7.0.15.

use super::*;
use crate::cmd::string::testutil::T;

fn fnv(b: &[u8]) -> u64 {
    b.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &x| {
        (h ^ x as u64).wrapping_mul(0x100_0000_01b3)
    })
}

fn raw(t: &mut T, key: &str) -> Vec<u8> {
    match t.store.dbs[0].dict.get(key.as_bytes()) {
        Some(e) => match &e.value {
            Value::Str(s) => s.to_vec(),
            _ => panic!("not a string"),
        },
        None => Vec::new(),
    }
}

fn pfadd_range(t: &mut T, key: &str, r: std::ops::RangeInclusive<u32>) -> String {
    let items: Vec<String> = r.map(|i| i.to_string()).collect();
    let mut args: Vec<&[u8]> = vec![b"PFADD", key.as_bytes()];
    args.extend(items.iter().map(|s| s.as_bytes()));
    t.run(&args)
}

#[test]
fn empty_hll_is_redis_sparse() {
    let mut t = T::new();
    assert_eq!(t.cmd("PFADD h"), ":1\r\n");
    let mut want = b"HYLL\x01".to_vec();
    want.extend_from_slice(&[0; 10]);
    want.extend_from_slice(&[0x80, 0x7f, 0xff]);
    assert_eq!(raw(&mut t, "h"), want);
    assert_eq!(t.cmd("PFADD h"), ":0\r\n");
    assert_eq!(t.cmd("PFCOUNT h"), ":0\r\n");
    assert_eq!(t.encoding("h"), "raw");
}

#[test]
fn counts_match_redis() {
    let mut t = T::new();
    assert_eq!(pfadd_range(&mut t, "h2", 1..=1000), ":1\r\n");
    assert_eq!(t.cmd("PFCOUNT h2"), ":1001\r\n");
    assert_eq!(pfadd_range(&mut t, "h3", 500..=3000), ":1\r\n");
    assert_eq!(t.cmd("PFCOUNT h3"), ":2504\r\n");
    assert_eq!(t.cmd("PFCOUNT h2 h3"), ":3005\r\n");
    assert_eq!(t.cmd("PFMERGE h4 h2 h3"), "+OK\r\n");
    assert_eq!(t.cmd("PFCOUNT h4"), ":3005\r\n");
    assert_eq!(t.cmd("STRLEN h3"), ":12304\r\n");
    assert_eq!(t.cmd("PFADD h3 foo"), ":0\r\n");
    assert_eq!(t.cmd("PFCOUNT h3 nokey"), ":2504\r\n");
    // Dense bytes (with the cached count) identical to Redis's.
    let b = raw(&mut t, "h3");
    assert_eq!((b.len(), fnv(&b)), (12304, 0x4958_b69d_3d21_9741));
    assert_eq!(t.cmd("PFCOUNT nokey"), ":0\r\n");
    assert_eq!(t.cmd("PFMERGE h5"), "+OK\r\n");
    assert_eq!(t.cmd("STRLEN h5"), ":18\r\n");
    assert_eq!(pfadd_range(&mut t, "h6", 1..=100_000), ":1\r\n");
    assert_eq!(t.cmd("PFCOUNT h6"), ":99562\r\n");
}

#[test]
fn reads_redis_sparse() {
    let mut t = T::new();
    let sparse: &[u8] = &[
        0x48, 0x59, 0x4c, 0x4c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x80, 0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a,
    ];
    t.run(&[b"SET", b"hs", sparse]);
    assert_eq!(t.cmd("PFADD hs2 x"), ":1\r\n");
    assert_eq!(t.cmd("PFCOUNT hs2 hs"), ":4\r\n");
    assert_eq!(t.cmd("PFCOUNT hs"), ":3\r\n");
    assert_eq!(t.cmd("PFADD hs a b c"), ":0\r\n");
    // Truncated sparse data is detected.
    t.run(&[b"SET", b"bad", &sparse[..20]]);
    assert_eq!(
        t.cmd("PFCOUNT bad"),
        "-INVALIDOBJ Corrupted HLL object detected\r\n"
    );
}

#[test]
fn errors_and_cache() {
    let mut t = T::new();
    let bad = "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n";
    t.cmd("SET s 123");
    assert_eq!(t.cmd("PFADD s a"), bad);
    t.cmd("SET s2 HYLLxxxxxxxxxxxxxxxxxxxxxxx");
    assert_eq!(t.cmd("PFCOUNT s2"), bad);
    assert_eq!(t.cmd("PFCOUNT s2 nokey"), bad);
    assert_eq!(t.cmd("PFMERGE d s2"), bad);
    t.cmd("SET s3 HYLL");
    assert_eq!(t.cmd("PFCOUNT s3"), bad);
    use crate::types::list::List;
    t.store
        .set_key(0, b"l", Value::List(List::default()), false, t.now);
    assert_eq!(
        t.cmd("PFADD l a"),
        "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n"
    );
    // The first PFCOUNT after a change caches the count and counts as a write.
    t.cmd("PFADD h a b c");
    let d = t.store.dirty;
    assert_eq!(t.cmd("PFCOUNT h"), ":3\r\n");
    assert_eq!(t.store.dirty, d + 1);
    assert_eq!(raw(&mut t, "h")[8..16], [3, 0, 0, 0, 0, 0, 0, 0]);
    assert_eq!(t.cmd("PFCOUNT h"), ":3\r\n");
    assert_eq!(t.store.dirty, d + 1);
}

#[test]
fn murmur_and_registers() {
    // Register packing round-trips at byte boundaries, including the last register.
    let mut regs = vec![0u8; DENSE_SIZE - HDR];
    for i in [0, 1, 2, 3, 4, 5, 16382, 16383] {
        dense_set(&mut regs, i, 63);
        assert_eq!(dense_get(&regs, i), 63);
        dense_set(&mut regs, i, 17);
        assert_eq!(dense_get(&regs, i), 17);
    }
    assert_eq!(dense_get(&regs, 6), 0);
    assert_eq!(estimate(&vec![0; REGISTERS]), 0);
}

#[test]
fn sparse_bytes_match_redis() {
    let mut t = T::new();
    assert_eq!(t.cmd("PFADD hs a b c"), ":1\r\n");
    let want: &[u8] = &[
        0x48, 0x59, 0x4c, 0x4c, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
        0x80, 0x60, 0xf3, 0x80, 0x50, 0xb1, 0x84, 0x4b, 0xfb, 0x80, 0x42, 0x5a,
    ];
    assert_eq!(raw(&mut t, "hs"), want);
    pfadd_range(&mut t, "sa", 1..=200);
    let items: Vec<String> = (150..=260).map(|i| i.to_string()).collect();
    let mut args: Vec<&[u8]> = vec![b"PFADD", b"sb"];
    args.extend(items.iter().map(|s| s.as_bytes()));
    args.extend([&b"x"[..], b"y", b"z"]);
    t.run(&args);
    assert_eq!(t.cmd("PFMERGE sc sa sb"), "+OK\r\n");
    assert_eq!(t.cmd("PFCOUNT sc"), ":264\r\n");
    for (k, len, h) in [
        ("sa", 508, 0x6e98_f2dd_ac7d_ac6a),
        ("sb", 314, 0x7f60_dc53_c444_7e6b),
        ("sc", 627, 0xfbf3_9f21_4494_d4c1),
    ] {
        let b = raw(&mut t, k);
        assert_eq!((b.len(), fnv(&b)), (len, h), "{k}");
    }
}

#[test]
fn pfdebug() {
    let mut t = T::new();
    t.cmd("PFADD hx a b c");
    assert_eq!(
        t.cmd("PFDEBUG DECODE hx"),
        "$44\r\nZ:8436 v:1,1 Z:4274 v:2,1 Z:3068 v:1,1 Z:603\r\n"
    );
    assert_eq!(t.cmd("PFDEBUG ENCODING hx"), "+sparse\r\n");
    assert_eq!(
        t.cmd("PFDEBUG GETREG nokey"),
        "-ERR The specified key does not exist\r\n"
    );
    assert_eq!(
        t.cmd("PFDEBUG foo nokey"),
        "-ERR The specified key does not exist\r\n"
    );
    assert_eq!(
        t.cmd("PFDEBUG foo hx"),
        "-ERR Unknown PFDEBUG subcommand 'foo'\r\n"
    );
    t.cmd("SET s1 abc");
    assert_eq!(
        t.cmd("PFDEBUG GETREG s1"),
        "-WRONGTYPE Key is not a valid HyperLogLog string value.\r\n"
    );
    let d = t.store.dirty;
    let regs = t.cmd("PFDEBUG GETREG hx");
    assert!(regs.starts_with("*16384\r\n:0\r\n"));
    assert_eq!(regs.matches(":1\r\n").count(), 2);
    assert_eq!(t.store.dirty, d + 1);
    assert_eq!(t.cmd("PFDEBUG ENCODING hx"), "+dense\r\n");
    assert_eq!(t.cmd("PFDEBUG TODENSE hx"), ":0\r\n");
    assert_eq!(
        t.cmd("PFDEBUG DECODE hx"),
        "-ERR HLL encoding is not sparse\r\n"
    );
    t.cmd("PFADD hy");
    assert_eq!(t.cmd("PFDEBUG TODENSE hy"), ":1\r\n");
    assert_eq!(t.cmd("PFCOUNT hx"), ":3\r\n");
    assert_eq!(t.cmd("PFSELFTEST"), "+OK\r\n");
}
