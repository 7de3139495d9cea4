//! Byte-exactness against the real redis-server 7.0.15: snapshots, LZF-compressed
//! strings and compact (listpack/intset) DUMP payloads come out identical to Redis's.

mod common;

use common::{Reply, Server};
use tandem_rdb::{dump_payload, AuxInfo, Event, RdbReader, RdbValue, RdbWriter};

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

#[test]
fn byte_identical_to_real_redis_save() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &[]);
    let mut c = srv.client();
    c.cmds("SET a 1");
    c.cmd(&[b"SET", b"long", &b"xyz".repeat(50)]);
    c.cmds("SET t hello PXAT 4102444800000");
    assert_eq!(c.cmds("SAVE"), Reply::Simple("OK".into()));
    let theirs = std::fs::read(dir.path().join("dump.rdb")).unwrap();

    // Take ctime/used-mem (which vary) from their file, write the same content.
    let mut info = AuxInfo::default();
    for ev in RdbReader::new(&theirs[..]).unwrap() {
        if let Event::Aux { key, value } = ev.unwrap() {
            let v: i64 = String::from_utf8(value.clone())
                .unwrap_or_default()
                .parse()
                .unwrap_or(-1);
            match key.as_slice() {
                b"ctime" => info.ctime = v,
                b"used-mem" => info.used_mem = v as u64,
                _ => {}
            }
        }
    }
    let mut w = RdbWriter::new(Vec::new());
    w.header().unwrap();
    w.default_aux(&info).unwrap();
    w.select_db(0).unwrap();
    w.resize_db(3, 1).unwrap();
    // Same key order as Redis's dict iteration in their file.
    for ev in RdbReader::new(&theirs[..]).unwrap() {
        if let Event::Entry(e) = ev.unwrap() {
            w.entry(&e.key, e.expire_ms, &e.value).unwrap();
        }
    }
    let ours = w.finish().unwrap();
    assert_eq!(ours, theirs);
}

/// Our LZF output (and its "is it worth it" cut-off) matches Redis's liblzf: DUMP
/// payloads of many compressible strings are byte-identical.
#[test]
fn lzf_strings_dump_identically() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &[]);
    let mut c = srv.client();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    let mut compressed = 0;
    for i in 0..1500 {
        let len = 21 + (next() % if i % 4 == 0 { 20000 } else { 300 }) as usize;
        let alphabet = 1 + (next() % 90) as u8;
        let runs = next() % 3 == 0;
        let mut s = Vec::with_capacity(len);
        while s.len() < len {
            let b = b'!' + (next() % alphabet as u64) as u8;
            let rep = if runs { 1 + (next() % 30) as usize } else { 1 };
            for _ in 0..rep.min(len - s.len()) {
                s.push(b);
            }
        }
        let key = format!("k{i}");
        c.cmd(&[b"SET", key.as_bytes(), &s]);
        let theirs = c.cmd(&[b"DUMP", key.as_bytes()]).bulk();
        if theirs[1] == 0xc3 {
            compressed += 1;
        }
        let ours = dump_payload(&RdbValue::String(s.clone()));
        assert_eq!(
            ours, theirs,
            "string {i} of {len} bytes, alphabet {alphabet}, runs {runs}"
        );
    }
    assert!(
        compressed > 100,
        "only {compressed} strings were compressed"
    );
}

/// The compact encoders reproduce Redis's DUMP payloads for small sets, zsets, hashes.
#[test]
fn compact_encodings_dump_identically() {
    use tandem_rdb::consts::{TYPE_HASH_LISTPACK, TYPE_SET_INTSET, TYPE_ZSET_LISTPACK};
    use tandem_rdb::{dump_payload_blob, encode_intset, encode_listpack, encode_zset_listpack};
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &[]);
    let mut c = srv.client();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..60 {
        // Intset of a random width.
        let width = [100i64, 100_000, 10_000_000_000][round % 3];
        let vals: Vec<i64> = (0..1 + next() % 20)
            .map(|_| (next() % (2 * width as u64)) as i64 - width)
            .collect();
        let key = format!("is{round}");
        let mut args: Vec<Vec<u8>> = vec![b("SADD"), b(&key)];
        args.extend(vals.iter().map(|v| v.to_string().into_bytes()));
        c.cmd(&args.iter().map(|a| a.as_slice()).collect::<Vec<_>>());
        assert_eq!(
            c.cmd(&[b"DUMP", key.as_bytes()]).bulk(),
            dump_payload_blob(TYPE_SET_INTSET, &encode_intset(&vals)),
            "{vals:?}"
        );

        // Sorted set with all kinds of scores.
        let mut members = Vec::new();
        for i in 0..1 + next() % 12 {
            let score = match next() % 8 {
                0 => (next() % 1000) as f64 - 500.0,
                1 => (next() % 1000) as f64 / 7.0,
                2 => (next() % 1_000_000) as f64 * 1e15,
                3 => (next() % 1000) as f64 * 1e-9,
                4 => f64::INFINITY,
                5 => f64::NEG_INFINITY,
                6 => -0.0,
                _ => f64::from_bits(next() >> 2),
            };
            members.push((format!("m{i}-{}", next() % 100).into_bytes(), score));
        }
        members.sort_by(|a, b| a.0.cmp(&b.0));
        members.dedup_by(|a, b| a.0 == b.0);
        let key = format!("z{round}");
        let mut args: Vec<Vec<u8>> = vec![b("ZADD"), b(&key)];
        for (m, s) in &members {
            args.push(format!("{s:e}").into_bytes());
            args.push(m.clone());
        }
        let r = c.cmd(&args.iter().map(|a| a.as_slice()).collect::<Vec<_>>());
        assert!(matches!(r, Reply::Int(_)), "{r:?}");
        assert_eq!(
            c.cmd(&[b"DUMP", key.as_bytes()]).bulk(),
            dump_payload_blob(TYPE_ZSET_LISTPACK, &encode_zset_listpack(&members)),
            "{members:?}"
        );

        // Hash in insertion order, values of every listpack encoding.
        let key = format!("h{round}");
        let mut flat: Vec<Vec<u8>> = Vec::new();
        for i in 0..1 + next() % 10 {
            flat.push(format!("f{i}").into_bytes());
            flat.push(match next() % 4 {
                0 => ((next() % 20_000_000_000) as i64 - 10_000_000_000)
                    .to_string()
                    .into_bytes(),
                1 => vec![b'v'; (next() % 65) as usize],
                2 => b"007".to_vec(),
                _ => (next() % 200).to_string().into_bytes(),
            });
        }
        let mut args: Vec<&[u8]> = vec![b"HSET", key.as_bytes()];
        args.extend(flat.iter().map(|v| v.as_slice()));
        c.cmd(&args);
        assert_eq!(
            c.cmd(&[b"DUMP", key.as_bytes()]).bulk(),
            dump_payload_blob(
                TYPE_HASH_LISTPACK,
                &encode_listpack(flat.iter().map(|v| v.as_slice()))
            )
        );
    }
}
