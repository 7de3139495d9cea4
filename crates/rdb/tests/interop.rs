//! Interop with the real redis-server 7.0.15: files we write load in Redis, files Redis
//! writes load here, DUMP payloads go both ways, and redis-check-rdb accepts our files.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::BufReader;
use std::path::Path;
use std::process::Command;

use common::{fetch, normalize, Client, Reply, Server};
use tandem_rdb::{
    dump_payload, parse_dump_payload, AuxInfo, Event, RdbReader, RdbValue, RdbWriter, ReplAux,
};

/// Far in the future (year 2100) so keys never expire during the test.
const FAR: i64 = 4_102_444_800_000;

type Db = BTreeMap<Vec<u8>, (Option<i64>, RdbValue)>;

fn b(s: &str) -> Vec<u8> {
    s.as_bytes().to_vec()
}

/// A dataset with every type, small and large, ints, binary data and expiries.
fn sample_dbs() -> BTreeMap<u64, Db> {
    let mut db0 = Db::new();
    db0.insert(b("str"), (None, RdbValue::String(b("hello"))));
    db0.insert(b("empty"), (None, RdbValue::String(vec![])));
    for (i, n) in [
        "0",
        "-1",
        "127",
        "-128",
        "128",
        "32767",
        "-32768",
        "65536",
        "2147483647",
        "-2147483648",
        "2147483648",
        "9223372036854775807",
        "007",
        "+5",
        "-0",
    ]
    .iter()
    .enumerate()
    {
        db0.insert(
            format!("int{i}").into_bytes(),
            (None, RdbValue::String(b(n))),
        );
    }
    db0.insert(
        b("binary\0key\r\n"),
        (Some(FAR), RdbValue::String(b"\0\r\n\xff\x00bin".to_vec())),
    );
    db0.insert(
        b("compressible"),
        (None, RdbValue::String(b"abcdefgh".repeat(500))),
    );
    db0.insert(
        b("list"),
        (
            Some(FAR + 1),
            RdbValue::List(vec![b("a"), b("1"), vec![], b("\0\r\n")]),
        ),
    );
    db0.insert(
        b("biglist"),
        (
            None,
            RdbValue::List(
                (0..3000)
                    .map(|i| format!("item-{i}").into_bytes())
                    .collect(),
            ),
        ),
    );
    db0.insert(
        b("intset"),
        (
            None,
            RdbValue::Set(
                (0..100)
                    .map(|i| (i * 7 - 300).to_string().into_bytes())
                    .collect(),
            ),
        ),
    );
    db0.insert(
        b("set"),
        (None, RdbValue::Set(vec![b("x"), b("y"), b("\0z")])),
    );
    db0.insert(
        b("bigset"),
        (
            None,
            RdbValue::Set((0..1000).map(|i| format!("m{i}").into_bytes()).collect()),
        ),
    );
    db0.insert(
        b("hash"),
        (
            Some(FAR),
            RdbValue::Hash(vec![(b("f"), b("v")), (b("n"), b("12"))]),
        ),
    );
    db0.insert(
        b("bighash"),
        (
            None,
            RdbValue::Hash(
                (0..700)
                    .map(|i| {
                        (
                            format!("f{i}").into_bytes(),
                            "v".repeat(i % 90).into_bytes(),
                        )
                    })
                    .collect(),
            ),
        ),
    );
    db0.insert(
        b("zset"),
        (
            None,
            RdbValue::ZSet(vec![
                (b("a"), 1.5),
                (b("b"), -0.25),
                (b("inf"), f64::INFINITY),
                (b("ninf"), f64::NEG_INFINITY),
                (b("tiny"), 1e-300),
            ]),
        ),
    );
    db0.insert(
        b("bigzset"),
        (
            Some(FAR),
            RdbValue::ZSet(
                (0..500)
                    .map(|i| (format!("z{i}").into_bytes(), i as f64 / 3.0))
                    .collect(),
            ),
        ),
    );
    let mut db1 = Db::new();
    db1.insert(b("str"), (None, RdbValue::String(b("in db1"))));
    db1.insert(b("list"), (None, RdbValue::List(vec![b("only")])));
    let mut db5 = Db::new();
    db5.insert(
        b("h"),
        (
            Some(FAR),
            RdbValue::Hash(vec![(b("k"), "x".repeat(100).into_bytes())]),
        ),
    );
    BTreeMap::from([(0, db0), (1, db1), (5, db5)])
}

fn write_file(path: &Path, dbs: &BTreeMap<u64, Db>) {
    let f = File::create(path).expect("create rdb");
    let mut w = RdbWriter::new(std::io::BufWriter::new(f));
    w.header().unwrap();
    w.default_aux(&AuxInfo {
        ctime: 1_700_000_000,
        used_mem: 1 << 20,
        repl: Some(ReplAux {
            stream_db: 0,
            id: "0123456789abcdef0123456789abcdef01234567".into(),
            offset: 12345,
        }),
        ..AuxInfo::default()
    })
    .unwrap();
    for (n, db) in dbs {
        w.select_db(*n).unwrap();
        let expires = db.values().filter(|(e, _)| e.is_some()).count() as u64;
        w.resize_db(db.len() as u64, expires).unwrap();
        for (k, (e, v)) in db {
            w.entry(k, *e, v).unwrap();
        }
    }
    w.finish().unwrap();
}

fn read_file(path: &Path) -> BTreeMap<u64, Db> {
    read_file_types(path).0
}

/// The file's contents and the set of RDB type bytes used.
fn read_file_types(path: &Path) -> (BTreeMap<u64, Db>, BTreeSet<u8>) {
    let mut types = BTreeSet::new();
    let r = RdbReader::new(BufReader::new(File::open(path).expect("open rdb"))).expect("header");
    let mut out: BTreeMap<u64, Db> = BTreeMap::new();
    let mut db = 0;
    for ev in r {
        match ev.expect("valid rdb") {
            Event::SelectDb(n) => db = n,
            Event::Entry(e) => {
                types.insert(e.rdb_type);
                out.entry(db)
                    .or_default()
                    .insert(e.key, (e.expire_ms, normalize(e.value)));
            }
            _ => {}
        }
    }
    (out, types)
}

/// Compares the server's contents (all dbs) with `want`, including TTL presence.
fn check_server(c: &mut Client, want: &BTreeMap<u64, Db>) {
    for n in 0..16u64 {
        c.cmds(&format!("SELECT {n}"));
        let db = want.get(&n).cloned().unwrap_or_default();
        assert_eq!(c.cmds("DBSIZE").int(), db.len() as i64, "db {n} size");
        for (k, (exp, v)) in db {
            let got = fetch(c, &k);
            assert_eq!(
                got.as_ref(),
                Some(&normalize(v)),
                "db {n} key {:?}",
                String::from_utf8_lossy(&k)
            );
            let pttl = c.cmd(&[b"PTTL", &k]).int();
            match exp {
                Some(_) => assert!(pttl > 0, "key {k:?} should have a TTL, PTTL={pttl}"),
                None => assert_eq!(pttl, -1, "key {k:?} should have no TTL"),
            }
        }
    }
}

#[test]
fn our_file_loads_in_real_redis_and_passes_check_rdb() {
    let dir = tempfile::tempdir().unwrap();
    let dbs = sample_dbs();
    let path = dir.path().join("f.rdb");
    write_file(&path, &dbs);

    // Our own reader agrees first.
    let back = read_file(&path);
    let want: BTreeMap<u64, Db> = dbs
        .iter()
        .map(|(n, db)| {
            (
                *n,
                db.iter()
                    .map(|(k, (e, v))| (k.clone(), (*e, normalize(v.clone()))))
                    .collect(),
            )
        })
        .collect();
    assert_eq!(back, want);

    let out = Command::new("redis-check-rdb")
        .arg(&path)
        .output()
        .expect("redis-check-rdb must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("RDB looks OK"),
        "redis-check-rdb said:\n{text}"
    );
    assert!(
        text.contains("Checksum OK"),
        "redis-check-rdb said:\n{text}"
    );

    let srv = Server::start(dir.path(), "f.rdb", &[]);
    check_server(&mut srv.client(), &dbs);

    // The uncompressed variant loads too.
    let dir2 = tempfile::tempdir().unwrap();
    let path2 = dir2.path().join("g.rdb");
    let f = File::create(&path2).unwrap();
    let mut w = RdbWriter::new(f).compression(false);
    w.header().unwrap();
    w.select_db(0).unwrap();
    for (k, (e, v)) in &dbs[&0] {
        w.entry(k, *e, v).unwrap();
    }
    w.finish().unwrap();
    let srv2 = Server::start(dir2.path(), "g.rdb", &[]);
    check_server(&mut srv2.client(), &BTreeMap::from([(0, dbs[&0].clone())]));
}

/// Fills a real server through commands so it picks every internal encoding.
fn fill(c: &mut Client) {
    c.cmds("SET s hello");
    c.cmds("SET i 12345");
    c.cmds("SET neg -7");
    c.cmds("SET big 2147483648");
    c.cmd(&[b"SET", b"lzf", &b"0123456789".repeat(100)]);
    c.cmd(&[b"SET", b"bin\0", b"a\0b\r\nc"]);
    c.cmds("SET ttl x PXAT 4102444800000");
    c.cmds("RPUSH l1 a b 1 -2 300 70000 5000000000");
    for chunk in 0..20 {
        let items: Vec<Vec<u8>> = (0..100)
            .map(|i| format!("element-{chunk}-{i}").into_bytes())
            .collect();
        let mut args: Vec<&[u8]> = vec![b"RPUSH", b"l2"];
        args.extend(items.iter().map(|v| v.as_slice()));
        c.cmd(&args);
    }
    // Elements over the packed threshold go into PLAIN quicklist nodes.
    c.cmd(&[b"RPUSH", b"l3", b"small", &b"P".repeat(300), b"tail"]);
    c.cmds("SADD si 1 2 3 -100 100000 9999999999");
    c.cmds("SADD ss a b c");
    let many: Vec<Vec<u8>> = (0..600)
        .map(|i| format!("member{i}").into_bytes())
        .collect();
    let mut args: Vec<&[u8]> = vec![b"SADD", b"sbig"];
    args.extend(many.iter().map(|v| v.as_slice()));
    c.cmd(&args);
    c.cmds("HSET h1 f v n 42 neg -1");
    let mut args: Vec<Vec<u8>> = vec![b("HSET"), b("h2")];
    for i in 0..600 {
        args.push(format!("field{i}").into_bytes());
        args.push(format!("{}", i * 3).into_bytes());
    }
    let refs: Vec<&[u8]> = args.iter().map(|v| v.as_slice()).collect();
    c.cmd(&refs);
    c.cmd(&[b"HSET", b"h3", b"long", &b"x".repeat(100)]);
    c.cmds("ZADD z1 1 a 2.5 b -3 c inf d -inf e 10 n");
    let mut args: Vec<Vec<u8>> = vec![b("ZADD"), b("z2")];
    for i in 0..300 {
        args.push(format!("{}", i as f64 * 0.1).into_bytes());
        args.push(format!("m{i}").into_bytes());
    }
    let refs: Vec<&[u8]> = args.iter().map(|v| v.as_slice()).collect();
    c.cmd(&refs);
    c.cmds("SELECT 3");
    c.cmds("SET other db3");
    c.cmds("PEXPIREAT other 4102444800000");
    c.cmds("SELECT 0");
}

fn server_contents(c: &mut Client) -> BTreeMap<u64, Db> {
    let mut out: BTreeMap<u64, Db> = BTreeMap::new();
    for n in 0..16u64 {
        c.cmds(&format!("SELECT {n}"));
        for k in c.cmds("KEYS *").bulks() {
            let v = fetch(c, &k).expect("key exists");
            let pttl = c.cmd(&[b"PEXPIRETIME", &k]).int();
            out.entry(n)
                .or_default()
                .insert(k, ((pttl > 0).then_some(pttl), v));
        }
    }
    c.cmds("SELECT 0");
    out
}

fn encodings(c: &mut Client) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for k in c.cmds("KEYS *").bulks() {
        out.insert(String::from_utf8(c.cmd(&[b"OBJECT", b"ENCODING", &k]).bulk()).unwrap());
    }
    out
}

#[test]
fn real_redis_save_reads_back() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &["--enable-debug-command", "yes"]);
    let mut c = srv.client();
    assert_eq!(
        c.cmds("DEBUG QUICKLIST-PACKED-THRESHOLD 200"),
        Reply::Simple("OK".into())
    );
    fill(&mut c);
    let enc = encodings(&mut c);
    for e in [
        "listpack",
        "quicklist",
        "intset",
        "hashtable",
        "skiplist",
        "int",
        "embstr",
        "raw",
    ] {
        assert!(
            enc.contains(e),
            "fill() should produce encoding {e}; got {enc:?}"
        );
    }
    assert_eq!(c.cmds("SAVE"), Reply::Simple("OK".into()));
    let want = server_contents(&mut c);
    let (got, types) = read_file_types(&dir.path().join("dump.rdb"));
    assert_eq!(got, want);
    // string, set, hash, zset_2, intset, hash/zset listpack, quicklist 2.
    assert_eq!(types, BTreeSet::from([0, 2, 4, 5, 11, 16, 17, 18]));

    // The AUX fields Redis 7.0 writes are all exposed.
    let r = RdbReader::new(BufReader::new(
        File::open(dir.path().join("dump.rdb")).unwrap(),
    ))
    .unwrap();
    assert_eq!(r.version(), 10);
    let aux: Vec<String> = r
        .filter_map(|e| match e.unwrap() {
            Event::Aux { key, .. } => Some(String::from_utf8(key).unwrap()),
            _ => None,
        })
        .collect();
    for k in ["redis-ver", "redis-bits", "ctime", "used-mem", "aof-base"] {
        assert!(aux.iter().any(|a| a == k), "missing aux {k} in {aux:?}");
    }
}

#[test]
fn dump_restore_both_ways() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &["--enable-debug-command", "yes"]);
    let mut c = srv.client();
    assert_eq!(
        c.cmds("DEBUG QUICKLIST-PACKED-THRESHOLD 200"),
        Reply::Simple("OK".into())
    );
    fill(&mut c);
    let keys = c.cmds("KEYS *").bulks();
    assert!(keys.len() > 15);
    // Redis compressed the long string with LZF (string type 0, encoding 0xc3), and the
    // big-element list has a PLAIN quicklist node (type 18, first node container 1).
    assert_eq!(c.cmds("DUMP lzf").bulk()[..2], [0x00, 0xc3]);
    assert_eq!(c.cmds("DUMP l3").bulk()[..3], [18, 3, 2]);
    assert!(c
        .cmds("DUMP l3")
        .bulk()
        .windows(3)
        .any(|w| w == [1, 0xc3, 0x0c]));
    for k in keys {
        let want = fetch(&mut c, &k).unwrap();
        let payload = c.cmd(&[b"DUMP", &k]).bulk();
        let parsed = parse_dump_payload(&payload)
            .unwrap_or_else(|e| panic!("parse DUMP of {:?}: {e}", String::from_utf8_lossy(&k)));
        assert_eq!(
            normalize(parsed.clone()),
            want,
            "DUMP of {:?}",
            String::from_utf8_lossy(&k)
        );

        let ours = dump_payload(&parsed);
        if [0, 2, 4, 5].contains(&payload[0]) {
            // Types we write ourselves: byte-identical to Redis (same element order).
            assert_eq!(ours, payload, "DUMP of {:?}", String::from_utf8_lossy(&k));
        }
        let mut newkey = b"restored:".to_vec();
        newkey.extend_from_slice(&k);
        assert_eq!(
            c.cmd(&[b"RESTORE", &newkey, b"0", &ours]),
            Reply::Simple("OK".into())
        );
        assert_eq!(fetch(&mut c, &newkey), Some(want));
    }
    // Redis refuses a payload with a bad checksum, and so do we.
    let mut bad = dump_payload(&RdbValue::String(b("x")));
    let last = bad.len() - 1;
    bad[last] ^= 1;
    assert!(
        matches!(c.cmd(&[b"RESTORE", b"bad", b"0", &bad]), Reply::Error(e) if e == "ERR DUMP payload version or checksum are wrong")
    );
    assert!(parse_dump_payload(&bad).is_err());
}

fn save_and_read(extra: &[&str], setup: &[&str]) -> Result<Vec<Event>, tandem_rdb::Error> {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", extra);
    let mut c = srv.client();
    for cmd in setup {
        let r = c.cmds(cmd);
        assert!(!matches!(r, Reply::Error(_)), "{cmd}: {r:?}");
    }
    assert_eq!(c.cmds("SAVE"), Reply::Simple("OK".into()));
    let f = std::fs::read(dir.path().join("dump.rdb")).unwrap();
    RdbReader::new(&f[..])?.collect()
}

#[test]
fn lru_and_lfu_metadata_from_real_redis() {
    let ev = save_and_read(
        &["--maxmemory-policy", "allkeys-lfu"],
        &["SET k v", "GET k", "GET k"],
    )
    .unwrap();
    let e = ev.iter().find_map(|e| match e {
        Event::Entry(e) => Some(e),
        _ => None,
    });
    let e = e.expect("one entry");
    assert!(e.freq.is_some() && e.idle.is_none(), "{e:?}");

    let ev = save_and_read(&["--maxmemory-policy", "allkeys-lru"], &["SET k v"]).unwrap();
    let e = ev.iter().find_map(|e| match e {
        Event::Entry(e) => Some(e),
        _ => None,
    });
    let e = e.expect("one entry");
    assert!(e.idle.is_some() && e.freq.is_none(), "{e:?}");
}

/// Redis 7.0 writes a function library as a `FUNCTION2` opcode holding the
/// library's code; the reader gives it back, and FUNCTION DUMP's payload parses
/// to the same code (and is what `dump_functions` writes).
#[test]
fn function_libraries_are_read_from_redis_files_and_payloads() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &[]);
    let mut c = srv.client();
    let lib: &[u8] = b"#!lua name=mylib\nredis.register_function('f', function() return 1 end) -- a comment long enough that LZF compresses it: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    assert!(matches!(
        c.cmd(&[b"FUNCTION", b"LOAD", lib]),
        Reply::Bulk(Some(_))
    ));
    assert_eq!(c.cmds("SET k v"), Reply::Simple("OK".into()));
    assert_eq!(c.cmds("SAVE"), Reply::Simple("OK".into()));
    let f = std::fs::read(dir.path().join("dump.rdb")).unwrap();
    let events = RdbReader::new(&f[..])
        .unwrap()
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let functions: Vec<&Vec<u8>> = events
        .iter()
        .filter_map(|e| match e {
            Event::Function(code) => Some(code),
            _ => None,
        })
        .collect();
    assert_eq!(functions, vec![&lib.to_vec()]);
    assert!(events.iter().any(|e| matches!(e, Event::Entry(_))));
    let Reply::Bulk(Some(payload)) = c.cmds("FUNCTION DUMP") else {
        panic!("FUNCTION DUMP")
    };
    assert_eq!(
        tandem_rdb::parse_function_payload(&payload).unwrap(),
        vec![lib.to_vec()]
    );
    assert_eq!(tandem_rdb::dump_functions([lib]), payload);
    let mut bad = payload.clone();
    bad[3] ^= 1;
    assert!(matches!(
        tandem_rdb::parse_function_payload(&bad).unwrap_err().kind,
        tandem_rdb::ErrorKind::BadDumpPayload
    ));
}

/// Reads one RESP array-of-bulks request from a replica.
fn read_request(r: &mut impl std::io::BufRead) -> Vec<String> {
    let mut line = String::new();
    r.read_line(&mut line).unwrap();
    let n: usize = line
        .trim_end()
        .trim_start_matches('*')
        .parse()
        .expect("multibulk");
    (0..n)
        .map(|_| {
            line.clear();
            r.read_line(&mut line).unwrap();
            let len: usize = line
                .trim_end()
                .trim_start_matches('$')
                .parse()
                .expect("bulk");
            let mut b = vec![0u8; len + 2];
            r.read_exact(&mut b).unwrap();
            String::from_utf8_lossy(&b[..len]).into_owned()
        })
        .collect()
}

/// Our snapshot as a full-sync payload: a real 7.0 replica of a fake master loads it.
#[test]
fn real_replica_loads_our_full_sync_payload() {
    use std::io::Write;
    let dbs = sample_dbs();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("payload.rdb");
    write_file(&path, &dbs);
    let payload = std::fs::read(&path).unwrap();

    let master = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let mport = master.local_addr().unwrap().port().to_string();
    let rdir = tempfile::tempdir().unwrap();
    let replica = Server::start(
        rdir.path(),
        "replica.rdb",
        &["--replicaof", "127.0.0.1", &mport],
    );
    let (conn, _) = master.accept().unwrap();
    let mut r = std::io::BufReader::new(conn.try_clone().unwrap());
    let mut w = conn;
    loop {
        let req = read_request(&mut r);
        match req[0].to_ascii_uppercase().as_str() {
            "PING" => w.write_all(b"+PONG\r\n").unwrap(),
            "REPLCONF" => w.write_all(b"+OK\r\n").unwrap(),
            "PSYNC" => break,
            other => panic!("unexpected replica request {other}"),
        }
    }
    w.write_all(b"+FULLRESYNC 0123456789abcdef0123456789abcdef01234567 0\r\n")
        .unwrap();
    w.write_all(format!("${}\r\n", payload.len()).as_bytes())
        .unwrap();
    w.write_all(&payload).unwrap();

    let mut c = replica.client();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let info = String::from_utf8(c.cmds("INFO replication").bulk()).unwrap();
        if info.contains("master_link_status:up") {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "replica never synced:\n{info}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    check_server(&mut c, &dbs);
    // The link stayed open until the check was done (the replica would otherwise retry).
    drop((r, w));
}
