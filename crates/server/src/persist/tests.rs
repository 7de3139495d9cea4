//! Unit tests of the snapshot writer/loader and the forked children.

use std::io::Read;

use tandem_rdb::{Event, RdbReader};
use tandem_store::types::{hash::Hash, list::List, set::Set, string::Str, zset::ZSet};
use tandem_store::{Entry, Store, StoreConfig, Value};

use super::*;

fn put(store: &mut Store, db: usize, key: &str, v: Value, exp: Option<i64>) {
    store.dbs[db]
        .dict
        .insert(key.as_bytes(), Entry { value: v, lru: 0 });
    if let Some(t) = exp {
        store.dbs[db].expires.insert(key.as_bytes(), t);
    }
}

/// Every type in small and big encodings, TTLs (future and past), three dbs.
fn sample_store() -> Store {
    let cfg = StoreConfig::default();
    let mut s = Store::new(cfg.clone());
    let now = crate::dispatch::now_ms();
    put(
        &mut s,
        0,
        "int",
        Value::Str(Str::from_bytes(b"12345")),
        None,
    );
    put(
        &mut s,
        0,
        "emb",
        Value::Str(Str::from_bytes(b"hello")),
        Some(now + 100_000),
    );
    put(
        &mut s,
        0,
        "long",
        Value::Str(Str::from_bytes(&[b'a'; 500])),
        None,
    );
    put(
        &mut s,
        0,
        "gone",
        Value::Str(Str::from_bytes(b"x")),
        Some(now - 1000),
    );
    let list: List = (0..1000).map(|i| format!("item{i}").into_bytes()).collect();
    put(&mut s, 1, "list", Value::List(list), None);
    put(
        &mut s,
        1,
        "iset",
        Value::Set(Set::from_members([&b"1"[..], b"2", b"-7"], &cfg)),
        None,
    );
    let big: Vec<Vec<u8>> = (0..600).map(|i| format!("m{i}").into_bytes()).collect();
    put(
        &mut s,
        1,
        "hset",
        Value::Set(Set::from_members(big.iter().map(|m| &m[..]), &cfg)),
        None,
    );
    let mut h = Hash::new();
    h.insert(b"f", b"v", &cfg);
    put(&mut s, 2, "hsmall", Value::Hash(h), Some(now + 5_000_000));
    let mut h = Hash::new();
    for i in 0..300 {
        h.insert(format!("f{i}").as_bytes(), b"v", &cfg);
    }
    put(&mut s, 2, "hbig", Value::Hash(h), None);
    let z = ZSet::from_pairs([(&b"a"[..], 1.5), (b"b", -2.0)], &cfg);
    put(&mut s, 2, "zsmall", Value::ZSet(z), None);
    let names: Vec<String> = (0..200).map(|i| format!("member{i}")).collect();
    let z = ZSet::from_pairs(names.iter().map(|m| (m.as_bytes(), 0.25)), &cfg);
    put(&mut s, 2, "zbig", Value::ZSet(z), None);
    s
}

fn enc(s: &Store, db: usize, key: &str) -> &'static str {
    s.dbs[db]
        .dict
        .get(key.as_bytes())
        .map(|e| e.value.encoding(&s.config))
        .unwrap_or("none")
}

/// A key's value as the snapshot writer sees it. A big hash's order is its
/// table's (seeded per table, as Redis's dict), so its pairs are sorted.
fn model(s: &Store, db: usize, key: &str) -> Option<tandem_rdb::RdbValue> {
    s.dbs[db]
        .dict
        .get(key.as_bytes())
        .map(|e| match snapshot::from_value(&e.value) {
            tandem_rdb::RdbValue::Hash(mut pairs) => {
                pairs.sort();
                tandem_rdb::RdbValue::Hash(pairs)
            }
            v => v,
        })
}

#[test]
fn round_trip_every_type_ttl_and_db() {
    let src = sample_store();
    let aux = SnapshotAux {
        repl_id: "a".repeat(40),
        repl_offset: 1234,
        repl_stream_db: Some(2),
        aof_base: false,
        scripts: vec![
            b"return 1".to_vec(),
            b"return redis.call('get', KEYS[1])".to_vec(),
        ],
        functions: vec![
            b"#!lua name=a\nredis.register_function('f', function() return 1 end)".to_vec(),
        ],
    };
    let bytes = write_rdb(&src, &aux, Vec::new()).expect("write");
    let mut dst = Store::new(StoreConfig::default());
    let stats = load_rdb(&bytes[..], &mut dst, LoadMode::Master).expect("load");
    assert_eq!(stats.keys_loaded, 10);
    assert_eq!(stats.expired_skipped, 1);
    assert_eq!(stats.repl_id.as_deref(), Some(&*"a".repeat(40)));
    assert_eq!(stats.repl_offset, Some(1234));
    assert_eq!(stats.repl_stream_db, Some(2));
    assert_eq!(
        stats.scripts, aux.scripts,
        "scripts travel as AUX lua fields"
    );
    assert_eq!(
        stats.functions, aux.functions,
        "libraries travel as FUNCTION2 opcodes"
    );
    assert_eq!(stats.bytes, bytes.len() as u64);
    for (db, key) in [
        (0, "int"),
        (0, "emb"),
        (0, "long"),
        (1, "list"),
        (1, "iset"),
        (1, "hset"),
        (2, "hsmall"),
        (2, "hbig"),
        (2, "zsmall"),
        (2, "zbig"),
    ] {
        assert_eq!(model(&src, db, key), model(&dst, db, key), "{key}");
        assert_eq!(enc(&src, db, key), enc(&dst, db, key), "encoding of {key}");
        assert_eq!(
            src.get_expire(db, key.as_bytes()),
            dst.get_expire(db, key.as_bytes())
        );
    }
    assert_eq!(enc(&dst, 1, "iset"), "intset");
    assert_eq!(enc(&dst, 2, "hbig"), "hashtable");
    assert_eq!(enc(&dst, 2, "zsmall"), "listpack");
    assert!(model(&dst, 0, "gone").is_none());

    // A replica keeps the key whose TTL has passed.
    let mut rep = Store::new(StoreConfig::default());
    let stats = load_rdb(&bytes[..], &mut rep, LoadMode::Replica).expect("load");
    assert_eq!((stats.keys_loaded, stats.expired_skipped), (11, 0));
    assert!(model(&rep, 0, "gone").is_some());
}

#[test]
fn aux_fields_as_redis_writes_them() {
    let s = Store::new(StoreConfig::default());
    let plain = SnapshotAux::default();
    let bytes = write_rdb(&s, &plain, Vec::new()).expect("write");
    let keys: Vec<String> = RdbReader::new(&bytes[..])
        .expect("header")
        .filter_map(|e| match e.expect("event") {
            Event::Aux { key, .. } => Some(String::from_utf8_lossy(&key).into_owned()),
            _ => None,
        })
        .collect();
    assert_eq!(
        keys,
        ["redis-ver", "redis-bits", "ctime", "used-mem", "aof-base"]
    );
    let with = SnapshotAux {
        repl_id: "b".repeat(40),
        repl_offset: 7,
        repl_stream_db: Some(0),
        aof_base: true,
        scripts: Vec::new(),
        functions: Vec::new(),
    };
    let bytes = write_rdb(&s, &with, Vec::new()).expect("write");
    let mut dst = Store::new(StoreConfig::default());
    let st = load_rdb(&bytes[..], &mut dst, LoadMode::Master).expect("load");
    assert!(st.aof_base);
    assert_eq!((st.repl_offset, st.repl_stream_db), (Some(7), Some(0)));
}

#[test]
fn corrupt_input_names_the_offset_and_never_panics() {
    let bytes = write_rdb(&sample_store(), &SnapshotAux::default(), Vec::new()).expect("write");
    // Flip a byte in the middle: the checksum (or the decoder) must refuse it.
    let mut bad = bytes.clone();
    let mid = bad.len() / 2;
    bad[mid] ^= 0x5a;
    let mut s = Store::new(StoreConfig::default());
    let e = load_rdb(&bad[..], &mut s, LoadMode::Master).expect_err("corrupt");
    assert!(e.to_string().contains("byte offset"), "{e}");
    // Truncated at every length: an error, no panic.
    for cut in (0..bytes.len()).step_by(97) {
        let mut s = Store::new(StoreConfig::default());
        assert!(load_rdb(&bytes[..cut], &mut s, LoadMode::Master).is_err());
    }
}

#[test]
fn duplicate_key_and_too_many_dbs_are_refused() {
    let src = sample_store();
    let bytes = write_rdb(&src, &SnapshotAux::default(), Vec::new()).expect("write");
    let mut dst = Store::new(StoreConfig::default());
    load_rdb(&bytes[..], &mut dst, LoadMode::Master).expect("load");
    let e = load_rdb(&bytes[..], &mut dst, LoadMode::Master).expect_err("dup");
    assert!(e.message.contains("duplicated key"), "{e}");
    let mut small = Store::new(StoreConfig {
        databases: 2,
        ..StoreConfig::default()
    });
    let e = load_rdb(&bytes[..], &mut small, LoadMode::Master).expect_err("dbs");
    assert!(e.message.contains("more than 2 databases"), "{e}");
}

fn test_state() -> crate::state::Shared {
    let cfg = crate::config::Config::from_args(&[]).expect("config");
    crate::state::Shared::new(cfg, 0)
}

#[test]
fn forked_pipe_child_writes_the_bare_rdb() {
    let shared = test_state();
    let mut st = shared.state.lock();
    st.store = sample_store();
    let aux = SnapshotAux::default();
    let expected_keys = 11;
    let mut child = fork_snapshot(&st, &aux, SnapshotTarget::Pipe).expect("fork");
    assert_eq!(child.kind, ChildKind::ReplSync);
    st.persist.register(&child);
    drop(st);
    let mut data = Vec::new();
    std::fs::File::from(child.pipe.take().expect("pipe"))
        .read_to_end(&mut data)
        .expect("read");
    assert!(data.starts_with(b"REDIS0010"));
    let mut s = Store::new(StoreConfig::default());
    let stats = load_rdb(&data[..], &mut s, LoadMode::Replica).expect("load");
    assert_eq!(stats.keys_loaded, expected_keys);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let mut st = shared.state.lock();
    while st.persist.child_active() {
        assert!(std::time::Instant::now() < deadline);
        reap_children(&mut st, crate::dispatch::now_ms());
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    assert_eq!(st.persist.repl_sync_exits, vec![(child.pid, true)]);
    assert_eq!(st.persist.rdb_saves, 0);
}

#[test]
fn forked_file_child_renames_into_place() {
    let dir = tempfile::tempdir().expect("tmp");
    let shared = test_state();
    let mut st = shared.state.lock();
    st.store = sample_store();
    let path = dir.path().join("dump.rdb");
    let child = fork_snapshot(
        &st,
        &SnapshotAux::default(),
        SnapshotTarget::File(path.clone()),
    )
    .expect("fork");
    let res = loop {
        if let Some(r) = fork::try_wait(child.pid) {
            break r;
        }
        std::thread::sleep(std::time::Duration::from_millis(2));
    };
    assert_eq!(res, Ok(()));
    let names: Vec<_> = std::fs::read_dir(dir.path())
        .expect("ls")
        .map(|e| e.expect("entry").file_name())
        .collect();
    assert_eq!(names, vec![std::ffi::OsString::from("dump.rdb")]);
    let mut s = Store::new(StoreConfig::default());
    let f = std::fs::File::open(&path).expect("open");
    assert_eq!(
        load_rdb(f, &mut s, LoadMode::Master)
            .expect("load")
            .keys_loaded,
        10
    );
}

#[test]
fn restart_aof_rebases_on_the_replaced_keyspace() {
    let dir = tempfile::tempdir().expect("tmp");
    let args: Vec<String> = [
        "--appendonly",
        "yes",
        "--dir",
        &dir.path().display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let cfg = crate::config::Config::from_args(&args).expect("config");
    let shared = crate::state::Shared::new(cfg, 0);
    load_at_start(&shared, tokio::sync::oneshot::channel().0).expect("fresh AOF");
    let mut st = shared.state.lock();
    // A full sync replaced the keyspace.
    st.store = sample_store();
    restart_aof(&mut st, &shared).expect("restart");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while st.persist.child_active() {
        assert!(std::time::Instant::now() < deadline);
        reap_children(&mut st, crate::dispatch::now_ms());
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let aof_dir = dir.path().join("appendonlydir");
    let m = std::fs::read_to_string(aof_dir.join("appendonly.aof.manifest")).expect("manifest");
    assert_eq!(
        m,
        "file appendonly.aof.2.base.rdb seq 2 type b\nfile appendonly.aof.2.incr.aof seq 2 type i\n"
    );
    let f = std::fs::File::open(aof_dir.join("appendonly.aof.2.base.rdb")).expect("base");
    let mut s = Store::new(StoreConfig::default());
    let stats = load_rdb(f, &mut s, LoadMode::Replica).expect("load");
    assert!(stats.aof_base);
    assert_eq!(stats.keys_loaded, 11);
    assert_eq!(std::fs::read_dir(&aof_dir).expect("ls").count(), 3);
    aof::stop(&mut st, &shared);
}

#[test]
fn aof_log_props_writes_applied_commands_with_select() {
    let dir = tempfile::tempdir().expect("tmp");
    let args: Vec<String> = [
        "--appendonly",
        "yes",
        "--dir",
        &dir.path().display().to_string(),
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let cfg = crate::config::Config::from_args(&args).expect("config");
    let shared = crate::state::Shared::new(cfg, 0);
    load_at_start(&shared, tokio::sync::oneshot::channel().0).expect("fresh AOF");
    let mut st = shared.state.lock();
    let b = |s: &str| bytes::Bytes::copy_from_slice(s.as_bytes());
    st.store.propagate(3, vec![b("SET"), b("k"), b("v")]);
    aof_log_props(&mut st);
    st.store.prop.clear();
    batch_end(&mut st);
    assert_eq!(st.stream.offset, 0, "the stream itself is untouched");
    aof::stop(&mut st, &shared);
    let incr = dir.path().join("appendonlydir/appendonly.aof.1.incr.aof");
    assert_eq!(
        std::fs::read(incr).expect("incr"),
        b"*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n".to_vec()
    );
}
