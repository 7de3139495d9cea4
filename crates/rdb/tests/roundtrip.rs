//! Property tests: random datasets (streams with groups included) round-trip through
//! writer and reader (and DUMP payloads), and random corruption/truncation of valid
//! files never panics.

use proptest::prelude::*;
use tandem_rdb::{
    dump_payload, parse_dump_payload, AuxInfo, Event, RdbReader, RdbStream, RdbStreamConsumer,
    RdbStreamGroup, RdbValue, RdbWriter, StreamId,
};

fn bytes() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..40),
        // Integer-looking strings exercise the INT8/16/32 encodings and their limits.
        any::<i64>().prop_map(|i| i.to_string().into_bytes()),
        (-200i64..200).prop_map(|i| i.to_string().into_bytes()),
        // Long repetitive strings exercise LZF.
        (0u8..3, 21usize..400).prop_map(|(b, n)| vec![b'a' + b; n]),
        "[0-9+-]{1,12}".prop_map(String::into_bytes),
    ]
}

fn score() -> impl Strategy<Value = f64> {
    prop_oneof![
        any::<f64>().prop_filter("no NaN", |f| !f.is_nan()),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(-0.0),
    ]
}

/// A consistent stream: increasing IDs from a base (0, a timestamp, or near u64::MAX
/// so deltas wrap), field sets that repeat (SAMEFIELDS) or not, groups whose PEL
/// entries each belong to one consumer.
fn stream() -> impl Strategy<Value = RdbValue> {
    let entry = (
        0u64..3,
        0u64..3,
        0usize..4,
        proptest::collection::vec(bytes(), 3),
    );
    let pel = (
        any::<prop::sample::Index>(),
        any::<u64>(),
        any::<u64>(),
        any::<prop::sample::Index>(),
    );
    let group = (
        bytes(),
        (any::<u64>(), any::<u64>()),
        any::<i64>(),
        proptest::collection::vec(pel, 0..6),
        0usize..4,
        any::<u64>(),
    );
    (
        prop_oneof![Just(0u64), Just(1_700_000_000_000), Just(u64::MAX - 100)],
        proptest::collection::vec(entry, 0..40),
        proptest::collection::vec(group, 0..3),
        (any::<u64>(), any::<u64>(), any::<u64>(), any::<u64>()),
    )
        .prop_map(|(base, es, gs, (extra, mms, mseq, added))| {
            let sets: [&[&[u8]]; 4] = [&[b"a"], &[b"a", b"b"], &[b"x", b"-5", b"007"], &[]];
            let mut s = RdbStream::default();
            let mut prev: Option<StreamId> = None;
            for (step, seq, set, vals) in es {
                let id = match prev {
                    Some(p) if step == 0 => StreamId {
                        ms: p.ms,
                        seq: p.seq + 1 + seq,
                    },
                    Some(p) => StreamId {
                        ms: p.ms + step,
                        seq,
                    },
                    None => StreamId { ms: base, seq },
                };
                prev = Some(id);
                let fields = sets[set]
                    .iter()
                    .zip(vals)
                    .map(|(f, v)| (f.to_vec(), v))
                    .collect();
                s.entries.push((id, fields));
            }
            s.last_id = prev.unwrap_or_default();
            if extra % 3 == 1 {
                s.last_id.seq = s.last_id.seq.saturating_add(extra);
            }
            s.first_id = s.entries.first().map(|e| e.0).unwrap_or_default();
            s.max_deleted_id = StreamId { ms: mms, seq: mseq };
            s.entries_added = added;
            for (name, (lms, lseq), entries_read, pel, nconsumers, seen) in gs {
                if s.groups.iter().any(|g| g.name == name) {
                    continue;
                }
                let mut g = RdbStreamGroup {
                    name,
                    last_id: StreamId { ms: lms, seq: lseq },
                    entries_read,
                    pel: Vec::new(),
                    consumers: (0..nconsumers)
                        .map(|i| RdbStreamConsumer {
                            name: format!("c{i}").into_bytes(),
                            seen_time: seen.wrapping_add(i as u64),
                            pel: Vec::new(),
                        })
                        .collect(),
                };
                for (at, time, count, owner) in pel {
                    if nconsumers == 0 {
                        break;
                    }
                    let id = if s.entries.is_empty() {
                        StreamId {
                            ms: at.index(1000) as u64,
                            seq: 0,
                        }
                    } else {
                        s.entries[at.index(s.entries.len())].0
                    };
                    if g.pel.iter().any(|p| p.0 == id) {
                        continue;
                    }
                    g.pel.push((id, time, count));
                    g.consumers[owner.index(nconsumers)].pel.push(id);
                }
                s.groups.push(g);
            }
            RdbValue::Stream(Box::new(s))
        })
}

fn value() -> impl Strategy<Value = RdbValue> {
    let v = || proptest::collection::vec(bytes(), 0..20);
    prop_oneof![
        bytes().prop_map(RdbValue::String),
        v().prop_map(RdbValue::List),
        v().prop_map(RdbValue::Set),
        proptest::collection::vec((bytes(), bytes()), 0..20).prop_map(RdbValue::Hash),
        proptest::collection::vec((bytes(), score()), 0..20).prop_map(RdbValue::ZSet),
        stream(),
    ]
}

type Dataset = Vec<(u64, Vec<(Vec<u8>, Option<i64>, RdbValue)>)>;

fn dataset() -> impl Strategy<Value = Dataset> {
    proptest::collection::vec(
        (
            0u64..20000,
            proptest::collection::vec((bytes(), proptest::option::of(any::<i64>()), value()), 0..8),
        ),
        0..4,
    )
}

fn write(ds: &Dataset, compress: bool) -> Vec<u8> {
    let mut w = RdbWriter::new(Vec::new()).compression(compress);
    w.header().unwrap();
    w.default_aux(&AuxInfo::default()).unwrap();
    for (db, keys) in ds {
        w.select_db(*db).unwrap();
        w.resize_db(keys.len() as u64, 0).unwrap();
        for (k, e, v) in keys {
            w.entry(k, *e, v).unwrap();
        }
    }
    w.finish().unwrap()
}

/// Bit-exact comparison (so -0.0 vs 0.0 and infinities are checked).
fn same(a: &RdbValue, b: &RdbValue) -> bool {
    match (a, b) {
        (RdbValue::ZSet(x), RdbValue::ZSet(y)) => {
            x.len() == y.len()
                && x.iter()
                    .zip(y)
                    .all(|(p, q)| p.0 == q.0 && p.1.to_bits() == q.1.to_bits())
        }
        _ => a == b,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn write_then_read(ds in dataset(), compress in any::<bool>()) {
        let file = write(&ds, compress);
        let mut r = RdbReader::new(&file[..]).unwrap();
        let mut got: Dataset = Vec::new();
        loop {
            match r.next_event().unwrap() {
                Event::SelectDb(n) => got.push((n, Vec::new())),
                Event::Entry(e) => got.last_mut().unwrap().1.push((e.key, e.expire_ms, e.value)),
                Event::Eof => break,
                _ => {}
            }
        }
        prop_assert_eq!(r.offset() as usize, file.len());
        prop_assert_eq!(got.len(), ds.len());
        for ((gd, gk), (wd, wk)) in got.iter().zip(&ds) {
            prop_assert_eq!(gd, wd);
            prop_assert_eq!(gk.len(), wk.len());
            for (g, w) in gk.iter().zip(wk) {
                prop_assert_eq!(&g.0, &w.0);
                prop_assert_eq!(g.1, w.1);
                prop_assert!(same(&g.2, &w.2), "{:?} != {:?}", g.2, w.2);
            }
        }
    }

    #[test]
    fn dump_round_trip(v in value()) {
        let p = dump_payload(&v);
        let back = parse_dump_payload(&p).unwrap();
        prop_assert!(same(&back, &v));
    }

    #[test]
    fn mutated_files_never_panic(ds in dataset(), muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..6), cut in any::<prop::sample::Index>()) {
        let mut file = write(&ds, true);
        for (i, b) in &muts {
            let at = i.index(file.len());
            file[at] = *b;
        }
        // Read to the end or the first error; with the checksum valid or not.
        let drain = |f: &[u8]| {
            if let Ok(r) = RdbReader::new(f) {
                for ev in r {
                    if ev.is_err() { break; }
                }
            }
        };
        drain(&file);
        let n = file.len() - 8;
        let crc = tandem_rdb::crc64(&file[..n]);
        file[n..].copy_from_slice(&crc.to_le_bytes());
        drain(&file);
        drain(&file[..cut.index(file.len())]);
    }

    #[test]
    fn mutated_dump_payloads_never_panic(v in value(), muts in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..4)) {
        let mut p = dump_payload(&v);
        for (i, b) in &muts {
            let at = i.index(p.len() - 10);
            p[at] = *b;
        }
        // Fix the checksum so the body decoder sees the corruption.
        let n = p.len() - 8;
        let crc = tandem_rdb::crc64(&p[..n]);
        p[n..].copy_from_slice(&crc.to_le_bytes());
        let _ = parse_dump_payload(&p);
    }

    #[test]
    fn truncated_files_fail_cleanly(ds in dataset(), cut in any::<prop::sample::Index>()) {
        let file = write(&ds, true);
        let at = cut.index(file.len());
        let res: Result<Vec<Event>, _> = RdbReader::new(&file[..at]).and_then(|r| r.collect());
        prop_assert!(res.is_err());
    }
}

#[test]
fn huge_lengths_do_not_allocate() {
    // A list claiming 2^64-1 elements, a string claiming 2^32-1 bytes, an LZF string
    // claiming a 4 GiB output: all must fail fast on the short input.
    for body in [
        vec![
            1u8, 1, b'k', 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        ],
        vec![0u8, 1, b'k', 0x80, 0xff, 0xff, 0xff, 0xff, b'x'],
        vec![0u8, 1, b'k', 0xc3, 2, 0x80, 0xff, 0xff, 0xff, 0xff, 0, b'a'],
        vec![
            14u8, 1, b'k', 0x81, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0,
        ],
    ] {
        let mut f = b"REDIS0010".to_vec();
        f.extend_from_slice(&body);
        let res: Result<Vec<Event>, _> = RdbReader::new(&f[..]).and_then(|r| r.collect());
        assert!(res.is_err());
    }
    assert!(parse_dump_payload(&[0; 5]).is_err());
    // Version 11 DUMP payloads are refused like Redis 7.0 does.
    let mut p = dump_payload(&RdbValue::String(b"x".to_vec()));
    let n = p.len();
    p[n - 10] = 11;
    let crc = tandem_rdb::crc64(&p[..n - 8]);
    p[n - 8..].copy_from_slice(&crc.to_le_bytes());
    assert_eq!(
        parse_dump_payload(&p).unwrap_err().kind.to_string(),
        "DUMP payload version or checksum are wrong"
    );
}

#[test]
fn writer_checks_item_counts() {
    let mut w = RdbWriter::new(Vec::new());
    w.header().unwrap();
    w.begin_list(b"l", None, 2).unwrap();
    w.list_item(b"a").unwrap();
    assert!(w.set_member(b"x").is_err());
    assert!(w.select_db(1).is_err());
    w.list_item(b"b").unwrap();
    assert!(w.list_item(b"c").is_err());
    assert!(w.begin_zset(b"z", None, 1).is_ok());
    assert!(w.zset_member(b"m", f64::NAN).is_err());
}

#[test]
fn reader_stops_right_after_checksum() {
    // As in a replication stream: the RDB payload is followed by commands.
    let mut file = write(
        &vec![(
            0,
            vec![(b"k".to_vec(), None, RdbValue::String(b"v".to_vec()))],
        )],
        true,
    );
    let rdb_len = file.len();
    file.extend_from_slice(b"*1\r\n$4\r\nPING\r\n");
    let mut r = RdbReader::new(std::io::Cursor::new(&file)).unwrap();
    while r.next_event().unwrap() != Event::Eof {}
    assert_eq!(r.offset() as usize, rdb_len);
    let cur = r.into_inner();
    assert_eq!(cur.position() as usize, rdb_len);
}

/// Throughput sanity check: `cargo test --release -p tandem-rdb --test roundtrip -- --ignored`.
#[test]
#[ignore]
fn throughput() {
    let t = std::time::Instant::now();
    let mut w = RdbWriter::new(Vec::new()).compression(std::env::var("NOLZF").is_err());
    w.header().unwrap();
    w.select_db(0).unwrap();
    for i in 0..1_000_000u32 {
        let k = format!("key:{i}");
        w.key_string(
            k.as_bytes(),
            None,
            format!("value-{i}-{}", "x".repeat((i % 50) as usize)).as_bytes(),
        )
        .unwrap();
    }
    w.begin_list(b"big", None, 1_000_000).unwrap();
    for i in 0..1_000_000u32 {
        w.list_item(format!("item{i}").as_bytes()).unwrap();
    }
    let f = w.finish().unwrap();
    let wt = t.elapsed();
    let t = std::time::Instant::now();
    let n = RdbReader::new(&f[..]).unwrap().count();
    eprintln!(
        "{} MB written in {wt:?}, {n} events read in {:?}",
        f.len() >> 20,
        t.elapsed()
    );
}
