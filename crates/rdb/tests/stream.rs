//! Streams against the real redis-server 7.0.15: what Redis saves (nodes with deleted
//! entries, trimmed nodes, groups, PELs, consumers, XSETID metadata, empty streams) is
//! read field for field as XINFO STREAM FULL / XRANGE / XPENDING report it; what we
//! write loads in Redis with deep sanitization and reports exactly what we wrote; a
//! Redis file read and rewritten by us loads back to the same streams; fresh streams
//! DUMP byte-identically; types 15 and 21 decode as their loaders do; corrupt stream
//! payloads fail cleanly.

mod common;

use std::collections::BTreeMap;
use std::process::Command;

use common::{fetch_stream, normalize, Client, Reply, Server};
use tandem_rdb::{
    crc64, dump_payload, parse_dump_payload, Event, RdbReader, RdbStream, RdbStreamConsumer,
    RdbStreamGroup, RdbValue, RdbWriter, StreamEntry, StreamId,
};

/// Far in the future (year 2100) so keys never expire during the test.
const FAR: i64 = 4_102_444_800_000;

fn id(ms: u64, seq: u64) -> StreamId {
    StreamId { ms, seq }
}

fn ok(r: Reply, what: &str) -> Reply {
    assert!(!matches!(r, Reply::Error(_)), "{what}: {r:?}");
    r
}

fn cmd(c: &mut Client, args: &[&[u8]]) -> Reply {
    let r = c.cmd(args);
    ok(r, &String::from_utf8_lossy(&args.join(&b' ')))
}

fn cmds(c: &mut Client, line: &str) -> Reply {
    ok(c.cmds(line), line)
}

/// Pending IDs of one consumer (XPENDING's extended form).
fn pending_of(c: &mut Client, key: &str, group: &str, consumer: &str) -> Vec<Vec<u8>> {
    let Reply::Array(Some(rows)) = cmds(c, &format!("XPENDING {key} {group} - + 1000 {consumer}"))
    else {
        panic!("XPENDING")
    };
    rows.into_iter()
        .map(|r| match r {
            Reply::Array(Some(mut v)) => v.remove(0).bulk(),
            other => panic!("{other:?}"),
        })
        .collect()
}

/// Streams built through commands, covering what Redis's saver can emit.
fn fill_streams(c: &mut Client) {
    // 300 entries in several nodes: fields like the master entry (SAMEFIELDS), other
    // field sets, integer-looking values, and 700-byte values that end nodes early.
    for i in 0..300u64 {
        let idt = format!("{}-{}", 1000 + i / 3, i % 3);
        let n = i.to_string();
        let big = "y".repeat(700);
        let mut args: Vec<&[u8]> = vec![b"XADD", b"s1", idt.as_bytes()];
        match i % 4 {
            0 | 1 => args.extend([&b"name"[..], b"n", b"count", n.as_bytes()]),
            2 => args.extend([&b"other"[..], b"-17"]),
            _ => args.extend([&b"name"[..], big.as_bytes()]),
        }
        cmd(c, &args);
    }
    // Deleted flags inside nodes, then an exact trim that drops whole nodes and marks
    // entries of the next one.
    for i in (0..300u64).step_by(7) {
        cmds(c, &format!("XDEL s1 {}-{}", 1000 + i / 3, i % 3));
    }
    cmds(c, "XTRIM s1 MAXLEN 230");
    cmds(c, "XGROUP CREATE s1 g1 0");
    cmds(c, "XGROUP CREATE s1 g2 $");
    cmds(c, "XGROUP CREATE s1 g3 1050-0 ENTRIESREAD 42");
    cmds(c, "XREADGROUP GROUP g1 alice COUNT 20 STREAMS s1 >");
    cmds(c, "XREADGROUP GROUP g1 bob COUNT 10 STREAMS s1 >");
    cmds(c, "XREADGROUP GROUP g3 carol COUNT 5 STREAMS s1 >");
    // Ownership moves (delivery count goes up), an ack, an idle consumer, and a
    // pending entry whose stream entry is gone.
    let alice = pending_of(c, "s1", "g1", "alice");
    cmd(
        c,
        &[b"XCLAIM", b"s1", b"g1", b"bob", b"0", &alice[0], &alice[1]],
    );
    cmd(c, &[b"XACK", b"s1", b"g1", &alice[2]]);
    cmd(c, &[b"XDEL", b"s1", &alice[3]]);
    cmds(c, "XGROUP CREATECONSUMER s1 g2 dave");
    cmds(
        c,
        "XSETID s1 5000-7 ENTRIESADDED 100000 MAXDELETEDID 1200-3",
    );

    // Empty streams are kept: trimmed to nothing, and everything deleted while a
    // consumer still has it pending.
    cmds(c, "XADD e1 MAXLEN 0 5-1 f v");
    cmds(c, "XGROUP CREATE e1 g $");
    cmds(c, "XADD e2 1-1 a 1");
    cmds(c, "XADD e2 1-2 a 2");
    cmds(c, "XGROUP CREATE e2 g 0");
    cmds(c, "XREADGROUP GROUP g c STREAMS e2 >");
    cmds(c, "XDEL e2 1-1 1-2");

    // Binary and integer-looking fields and values; an expiry.
    cmd(
        c,
        &[
            b"XADD",
            b"bin",
            b"1-0",
            b"\0k",
            b"\r\n",
            b"-1",
            b"007",
            b"9223372036854775807",
            b"x",
            b"",
            b"",
        ],
    );
    cmds(c, "XADD exp 7-7 a b");
    cmds(c, &format!("PEXPIREAT exp {FAR}"));
    // A compressible node: LZF in the RDB string.
    let v = "abc".repeat(200);
    cmd(c, &[b"XADD", b"lzf", b"1-1", b"k", v.as_bytes()]);
    cmd(c, &[b"XADD", b"lzf", b"1-2", b"k", v.as_bytes()]);
}

const STREAM_KEYS: [&str; 5] = ["s1", "e1", "e2", "bin", "exp"];

/// The streams (key -> (expire, value)) in an RDB file.
fn file_streams(f: &[u8]) -> BTreeMap<Vec<u8>, (Option<i64>, u8, RdbStream)> {
    let mut out = BTreeMap::new();
    for ev in RdbReader::new(f).expect("header") {
        if let Event::Entry(e) = ev.expect("valid rdb") {
            if let RdbValue::Stream(s) = e.value {
                out.insert(e.key, (e.expire_ms, e.rdb_type, *s));
            }
        }
    }
    out
}

fn check_rdb(path: &std::path::Path) {
    let out = Command::new("redis-check-rdb")
        .arg(path)
        .output()
        .expect("redis-check-rdb must be installed");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("RDB looks OK"),
        "redis-check-rdb said:\n{text}"
    );
}

/// Redis's SAVE of every kind of stream reads back exactly as XINFO STREAM FULL,
/// XRANGE and XPENDING report it (same order of groups, consumers and PELs); DUMP
/// payloads parse the same; and the file rewritten by our writer loads in a second
/// Redis (deep sanitization on) with identical XINFO STREAM FULL for every stream.
#[test]
fn redis_saved_streams_read_back_and_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &[]);
    let mut c = srv.client();
    fill_streams(&mut c);
    assert_eq!(cmds(&mut c, "SAVE"), Reply::Simple("OK".into()));
    let file = std::fs::read(dir.path().join("dump.rdb")).unwrap();
    let got = file_streams(&file);
    assert_eq!(got.len(), STREAM_KEYS.len() + 1);

    let mut want = BTreeMap::new();
    for (k, (exp, t, s)) in &got {
        assert_eq!(*t, 19, "Redis 7.0 saves streams as type 19");
        let name = String::from_utf8_lossy(k);
        let from_redis = fetch_stream(&mut c, k);
        assert_eq!(s, &from_redis, "stream {name}");
        assert_eq!(exp.is_some(), k == b"exp", "expiry of {name}");
        let payload = c.cmd(&[b"DUMP", k]).bulk();
        assert_eq!(
            parse_dump_payload(&payload).unwrap(),
            RdbValue::Stream(Box::new(from_redis.clone())),
            "DUMP of {name}"
        );
        want.insert(k.clone(), from_redis);
    }
    // Spot checks that the fill produced what it is meant to.
    let s1 = &want[&b"s1".to_vec()];
    assert_eq!(
        s1.entries.len(),
        229,
        "230 after the trim, one more deleted"
    );
    assert_eq!(s1.last_id, id(5000, 7));
    assert_eq!(s1.max_deleted_id, id(1200, 3));
    assert_eq!(s1.entries_added, 100_000);
    assert_eq!(s1.groups.len(), 3);
    let g1 = &s1.groups[0];
    assert_eq!(g1.pel.len(), 29);
    assert!(g1.pel.iter().any(|p| p.2 == 2), "XCLAIM raised a count");
    assert_eq!(g1.consumers[1].pel.len(), 12, "bob: 10 read + 2 claimed");
    let e2 = &want[&b"e2".to_vec()];
    assert!(e2.entries.is_empty() && e2.groups[0].pel.len() == 2);

    // Our writer: the same keys into a new file, loaded with deep sanitization.
    let dir2 = tempfile::tempdir().unwrap();
    let path = dir2.path().join("ours.rdb");
    let mut w = RdbWriter::new(std::fs::File::create(&path).unwrap());
    w.header().unwrap();
    w.select_db(0).unwrap();
    for (k, (exp, _, s)) in &got {
        w.key_stream(k, *exp, s).unwrap();
    }
    w.finish().unwrap();
    check_rdb(&path);
    let srv2 = Server::start(dir2.path(), "ours.rdb", &["--sanitize-dump-payload", "yes"]);
    let mut c2 = srv2.client();
    for (k, s) in &want {
        assert_eq!(
            &fetch_stream(&mut c2, k),
            s,
            "{}",
            String::from_utf8_lossy(k)
        );
    }
    assert!(c2.cmds("PTTL exp").int() > 0);
    // The loaded stream keeps working: appends go after the XSETID'd last ID.
    assert!(matches!(c2.cmds("XADD s1 5000-7 too low"), Reply::Error(_)));
    cmds(&mut c2, "XADD s1 5000-8 after load");
    assert_eq!(cmds(&mut c2, "XLEN s1").int(), 230);
}

/// The node listpacks of a type-19 DUMP payload.
fn node_listpacks(p: &[u8]) -> Vec<Vec<u8>> {
    let mut r = W { b: p, p: 1 };
    (0..r.len())
        .map(|_| {
            r.string();
            r.string()
        })
        .collect()
}

/// Streams Redis built with XADDs only (no deletions), with groups and PELs: our
/// writer splits nodes, flags SAMEFIELDS and encodes numbers exactly as Redis does,
/// so the DUMP payloads are byte-identical. The streams are made to end nodes on
/// each rule: 100 entries, the byte limit reached exactly, and the limit passed.
#[test]
fn fresh_streams_dump_byte_identical() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &[]);
    let mut c = srv.client();
    for i in 0..520u64 {
        let idt = format!("{}-{}", 1_700_000_000_000 + i / 4, i % 4);
        let val = match i % 9 {
            0 => "v".repeat(900),
            1 => "-123456789012".to_string(),
            _ => format!("value {i}"),
        };
        let mut args: Vec<&[u8]> = vec![b"XADD", b"s", idt.as_bytes()];
        if i % 5 == 4 {
            args.extend([&b"f"[..], val.as_bytes(), b"extra", b"1"]);
        } else {
            args.extend([&b"f"[..], val.as_bytes()]);
        }
        cmd(&mut c, &args);
    }
    cmds(&mut c, "XADD small 1-1 a 1 b 2");
    cmds(&mut c, "XADD small 2-0 a 3 b 4");
    cmds(&mut c, "XGROUP CREATE s grp 0");
    cmds(&mut c, "XGROUP CREATE s other $");
    cmds(&mut c, "XREADGROUP GROUP grp x COUNT 7 STREAMS s >");
    cmds(&mut c, "XREADGROUP GROUP grp y COUNT 3 STREAMS s >");
    let mut keys = vec!["s".to_string(), "small".to_string()];
    // Entries sized from the tail node's size (read back from DUMP) to reach the byte
    // limit exactly (a new node) or to stop one byte short (the same node).
    cmds(&mut c, "XADD exact 1-0 f a");
    for round in 0..6u64 {
        let payload = c.cmds("DUMP exact").bulk();
        let tail = node_listpacks(&payload).pop().unwrap().len();
        let v = "e".repeat(4096 - tail - 1 - (round % 2) as usize);
        cmd(
            &mut c,
            &[
                b"XADD",
                b"exact",
                format!("{}-0", round + 2).as_bytes(),
                b"f",
                v.as_bytes(),
            ],
        );
        cmds(&mut c, &format!("XADD exact {}-1 f a", round + 2));
    }
    keys.push("exact".to_string());
    // Values of many lengths.
    for k in 1..10u64 {
        let key = format!("edge{k}");
        for i in 1..=150u64 {
            let v = "e".repeat(((i * k * 7) % 61 + (k % 5) * 9) as usize);
            cmd(
                &mut c,
                &[
                    b"XADD",
                    key.as_bytes(),
                    format!("{i}-0").as_bytes(),
                    b"f",
                    v.as_bytes(),
                ],
            );
        }
        keys.push(key);
    }
    let (mut by_count, mut exact, mut past) = (0, 0, 0);
    for key in &keys {
        let payload = c.cmd(&[b"DUMP", key.as_bytes()]).bulk();
        let v = parse_dump_payload(&payload).unwrap();
        let RdbValue::Stream(s) = &v else {
            panic!("not a stream")
        };
        if key == "s" {
            assert!(s.entries.len() == 520 && s.groups.len() == 2);
        }
        assert_eq!(dump_payload(&v), payload, "DUMP of {key}");
        // Why each node ended: its entry count, or its size plus the next entry's.
        let nodes = node_listpacks(&payload);
        let mut first = 0;
        for pair in nodes.windows(2) {
            let count = pair[0][6] as usize; // a 7-bit listpack integer
            first += count;
            let next: usize = s.entries[first]
                .1
                .iter()
                .map(|(f, v)| f.len() + v.len())
                .sum();
            match pair[0].len() + next {
                _ if count == 100 => by_count += 1,
                4096 => exact += 1,
                n => {
                    assert!(n > 4096, "{key}: node ended early");
                    past += 1
                }
            }
        }
    }
    assert!(
        by_count > 0 && exact > 0 && past > 0,
        "{by_count} {exact} {past}"
    );
}

fn entry(ms: u64, seq: u64, kv: &[(&[u8], &[u8])]) -> StreamEntry {
    (
        id(ms, seq),
        kv.iter().map(|(f, v)| (f.to_vec(), v.to_vec())).collect(),
    )
}

/// Streams built here, with every field set to something recognisable; groups,
/// consumers and PELs deliberately not in Redis's order.
fn our_streams() -> Vec<(Vec<u8>, Option<i64>, RdbStream)> {
    let mut big = RdbStream::default();
    for i in 0..1000u64 {
        let t = (i * 3).to_string();
        let note = "n".repeat((i % 300) as usize);
        let huge = "h".repeat(5000);
        let kv: Vec<(&[u8], &[u8])> = match i % 10 {
            0..=6 => vec![(b"temp", t.as_bytes()), (b"unit", b"C")],
            7 => vec![
                (b"temp", t.as_bytes()),
                (b"unit", b"F"),
                (b"note", note.as_bytes()),
            ],
            8 => vec![(b"-5", b"\0\r\n"), (b"007", b"9223372036854775807")],
            _ if i % 40 == 9 => vec![(b"blob", huge.as_bytes())],
            _ => vec![(b"temp", b"-1"), (b"unit", b"")],
        };
        big.entries
            .push(entry(1_600_000_000_000 + i * 7, i % 5, &kv));
    }
    big.last_id = id(2_000_000_000_000, 5);
    big.first_id = big.entries[0].0;
    big.max_deleted_id = id(1_600_000_000_003, 0);
    big.entries_added = 5000;
    let pel_ids: Vec<StreamId> = big.entries[400..=450].iter().map(|e| e.0).collect();
    let mut alpha = RdbStreamGroup {
        name: b"alpha".to_vec(),
        last_id: big.entries[500].0,
        entries_read: 501,
        pel: Vec::new(),
        consumers: vec![
            RdbStreamConsumer {
                name: b"c-two".to_vec(),
                seen_time: 1_700_000_000_222,
                pel: pel_ids.iter().skip(1).step_by(2).rev().copied().collect(),
            },
            RdbStreamConsumer {
                name: b"c-one".to_vec(),
                seen_time: 1_700_000_000_111,
                pel: pel_ids.iter().step_by(2).copied().collect(),
            },
            RdbStreamConsumer {
                name: b"c-empty".to_vec(),
                seen_time: 1,
                pel: vec![],
            },
        ],
    };
    for (k, i) in pel_ids.iter().enumerate().rev() {
        alpha
            .pel
            .push((*i, 1_700_000_000_000 + k as u64, k as u64 % 4 + 1));
    }
    // A pending entry no longer in the stream.
    alpha.pel.push((id(1_500_000_000_000, 0), 42, 9));
    alpha.consumers[2].pel.push(id(1_500_000_000_000, 0));
    big.groups = vec![
        RdbStreamGroup {
            name: b"gamma".to_vec(),
            last_id: big.last_id,
            entries_read: 123_456_789,
            pel: vec![],
            consumers: vec![],
        },
        alpha,
        RdbStreamGroup {
            name: b"beta".to_vec(),
            last_id: id(0, 0),
            entries_read: -1,
            pel: vec![],
            consumers: vec![],
        },
    ];

    let empty = RdbStream {
        entries: vec![],
        last_id: id(9, 9),
        first_id: id(0, 0),
        max_deleted_id: id(9, 9),
        entries_added: 3,
        groups: vec![RdbStreamGroup {
            name: b"g".to_vec(),
            last_id: id(9, 9),
            entries_read: 3,
            pel: vec![(id(9, 8), 1_000, 1), (id(9, 9), 2_000, 3)],
            consumers: vec![RdbStreamConsumer {
                name: b"12345".to_vec(),
                seen_time: 3_000,
                pel: vec![id(9, 9), id(9, 8)],
            }],
        }],
    };
    let tiny = RdbStream {
        entries: vec![entry(u64::MAX - 1, u64::MAX, &[(b"k", b"v")])],
        last_id: id(u64::MAX, 0),
        first_id: id(u64::MAX - 1, u64::MAX),
        max_deleted_id: id(0, 0),
        entries_added: 1,
        groups: vec![],
    };
    vec![
        (b"big".to_vec(), None, big),
        (b"empty".to_vec(), Some(FAR), empty),
        (b"tiny".to_vec(), None, tiny),
    ]
}

/// Files and DUMP payloads we write load in Redis 7.0.15 with deep sanitization, and
/// XINFO STREAM FULL / XRANGE / XPENDING show exactly what we wrote: entries, last,
/// first and max-deleted IDs, entries-added, entries-read, PEL delivery times and
/// counts, consumer seen times and ownership.
#[test]
fn our_streams_load_in_redis() {
    let streams = our_streams();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ours.rdb");
    let mut w = RdbWriter::new(std::fs::File::create(&path).unwrap());
    w.header().unwrap();
    w.select_db(0).unwrap();
    w.resize_db(streams.len() as u64, 1).unwrap();
    for (k, exp, s) in &streams {
        w.entry(k, *exp, &RdbValue::Stream(Box::new(s.clone())))
            .unwrap();
    }
    w.finish().unwrap();
    check_rdb(&path);
    // Our reader gives back exactly what was written, in the order written.
    let back = file_streams(&std::fs::read(&path).unwrap());
    for (k, exp, s) in &streams {
        assert_eq!(back[k], (*exp, 19, s.clone()));
    }

    let srv = Server::start(dir.path(), "ours.rdb", &["--sanitize-dump-payload", "yes"]);
    let mut c = srv.client();
    let norm = |s: &RdbStream| normalize(RdbValue::Stream(Box::new(s.clone())));
    for (k, _, s) in &streams {
        let got = RdbValue::Stream(Box::new(fetch_stream(&mut c, k)));
        assert_eq!(got, norm(s), "{}", String::from_utf8_lossy(k));
    }
    assert!(c.cmds("PTTL empty").int() > 0);

    cmds(&mut c, "CONFIG SET sanitize-dump-payload yes");
    for (k, _, s) in &streams {
        let mut key = b"restored-".to_vec();
        key.extend_from_slice(k);
        let payload = dump_payload(&RdbValue::Stream(Box::new(s.clone())));
        assert_eq!(
            c.cmd(&[b"RESTORE", &key, b"0", &payload]),
            Reply::Simple("OK".into()),
            "RESTORE {}",
            String::from_utf8_lossy(k)
        );
        let got = RdbValue::Stream(Box::new(fetch_stream(&mut c, &key)));
        assert_eq!(got, norm(s), "restored {}", String::from_utf8_lossy(k));
    }
    // The restored stream takes new entries and group operations.
    cmds(&mut c, "XADD restored-big * x 1");
    cmds(&mut c, "XACK restored-big alpha 1600000002800-0");
    cmds(
        &mut c,
        "XREADGROUP GROUP beta newbie COUNT 2 STREAMS restored-big >",
    );
}

/// A cursor over RDB value bytes, for taking Redis's payloads apart in tests.
struct W<'a> {
    b: &'a [u8],
    p: usize,
}
impl W<'_> {
    fn u8(&mut self) -> u8 {
        self.p += 1;
        self.b[self.p - 1]
    }
    fn len(&mut self) -> u64 {
        let b = self.u8();
        match b >> 6 {
            0 => (b & 0x3f) as u64,
            1 => ((b & 0x3f) as u64) << 8 | self.u8() as u64,
            _ if b == 0x80 => {
                self.p += 4;
                u32::from_be_bytes(self.b[self.p - 4..self.p].try_into().unwrap()) as u64
            }
            _ if b == 0x81 => {
                self.p += 8;
                u64::from_be_bytes(self.b[self.p - 8..self.p].try_into().unwrap())
            }
            _ => panic!("length expected"),
        }
    }
    /// Skips an RDB string, returning its bytes when it is raw or LZF.
    fn string(&mut self) -> Vec<u8> {
        let b = self.b[self.p];
        if b >> 6 == 3 {
            self.p += 1;
            match b & 0x3f {
                0 => self.p += 1,
                1 => self.p += 2,
                2 => self.p += 4,
                _ => {
                    let clen = self.len() as usize;
                    let len = self.len() as usize;
                    self.p += clen;
                    return tandem_rdb::lzf_decompress(&self.b[self.p - clen..self.p], len)
                        .unwrap();
                }
            }
            Vec::new()
        } else {
            let n = self.len() as usize;
            self.p += n;
            self.b[self.p - n..self.p].to_vec()
        }
    }
}

/// Walks a DUMP payload of type 19 and rewrites it as type 15 (no v2 metadata, no
/// entries_read) or type 21 (an active_time after each consumer's seen_time).
fn convert_payload(p: &[u8], to: u8) -> Vec<u8> {
    let body = &p[..p.len() - 10];
    assert_eq!(body[0], 19);
    let mut out = vec![to];
    let mut r = W { b: body, p: 1 };
    let mut copied = 1;
    // Copies the input from `copied` up to where the walker is.
    fn copy_to(out: &mut Vec<u8>, body: &[u8], upto: usize, copied: &mut usize) {
        out.extend_from_slice(&body[*copied..upto]);
        *copied = upto;
    }
    for _ in 0..r.len() {
        r.string();
        r.string();
    }
    for _ in 0..3 {
        r.len(); // length, last_id
    }
    copy_to(&mut out, body, r.p, &mut copied);
    for _ in 0..5 {
        r.len(); // first_id, max_deleted_id, entries_added
    }
    if to == 15 {
        copied = r.p;
    }
    for _ in 0..r.len() {
        r.string();
        r.len();
        r.len();
        copy_to(&mut out, body, r.p, &mut copied);
        r.len(); // entries_read
        if to == 15 {
            copied = r.p;
        }
        for _ in 0..r.len() {
            r.p += 24;
            r.len();
        }
        for _ in 0..r.len() {
            r.string();
            r.p += 8;
            if to == 21 {
                copy_to(&mut out, body, r.p, &mut copied);
                out.extend_from_slice(&77u64.to_le_bytes());
            }
            let n = r.len();
            r.p += 16 * n as usize;
        }
    }
    assert_eq!(r.p, body.len());
    copy_to(&mut out, body, r.p, &mut copied);
    out.extend_from_slice(&9u16.to_le_bytes());
    let crc = crc64(&out);
    out.extend_from_slice(&crc.to_le_bytes());
    out
}

/// Type 15 (Redis 5.0/6.x streams): Redis 7.0.15 RESTOREs it and derives first ID,
/// entries-added and each group's entries-read; our reader derives the same (XINFO
/// STREAM FULL compared field for field, the empty stream's max-max first ID
/// included). Type 21 (7.2, with consumer active times) reads as the type 19 it came
/// from.
#[test]
fn types_15_and_21_decode_like_their_loaders() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &["--sanitize-dump-payload", "yes"]);
    let mut c = srv.client();
    fill_streams(&mut c);
    // Groups at each place entries_read is derived from: before, at, between, at the
    // last entry and past it.
    for i in 1..=5 {
        cmds(&mut c, &format!("XADD five {i}-0 f {i}"));
    }
    for (g, at) in [
        ("before", "0-1"),
        ("first", "1-0"),
        ("mid", "3-0"),
        ("last", "5-0"),
        ("future", "9-0"),
    ] {
        cmds(&mut c, &format!("XGROUP CREATE five {g} {at}"));
    }
    let mut keys: Vec<&str> = STREAM_KEYS.to_vec();
    keys.push("five");
    for key in keys {
        let p19 = c.cmd(&[b"DUMP", key.as_bytes()]).bulk();
        let v19 = parse_dump_payload(&p19).unwrap();

        let p15 = convert_payload(&p19, 15);
        let v15 = parse_dump_payload(&p15).unwrap();
        let k15 = format!("{key}-v15");
        assert_eq!(
            c.cmd(&[b"RESTORE", k15.as_bytes(), b"0", &p15]),
            Reply::Simple("OK".into())
        );
        let redis15 = RdbValue::Stream(Box::new(fetch_stream(&mut c, k15.as_bytes())));
        assert_eq!(v15, redis15, "type 15 of {key}");

        let p21 = convert_payload(&p19, 21);
        assert_eq!(parse_dump_payload(&p21).unwrap(), v19, "type 21 of {key}");
    }
}

/// Parses `p` (checksum fixed after a change), and whatever is accepted must write
/// and read back to the same value.
fn parse_fixed(mut p: Vec<u8>) {
    let n = p.len() - 8;
    let crc = crc64(&p[..n]);
    p[n..].copy_from_slice(&crc.to_le_bytes());
    if let Ok(v) = parse_dump_payload(&p) {
        assert_eq!(parse_dump_payload(&dump_payload(&v)).unwrap(), v);
    }
}

/// Every truncation, and every byte of a stream payload set to several values, gives
/// an error or a value we can write back: never a panic. Same for an uncompressed
/// snapshot file holding the stream, read through the snapshot reader.
#[test]
fn corrupt_stream_payloads_fail_cleanly() {
    let mut s = our_streams().remove(0).2;
    // Two nodes of small entries (the 5000-byte ones would only slow this down).
    s.entries
        .retain(|e| e.1.iter().all(|(f, v)| f.len() + v.len() < 100));
    s.entries.truncate(130);
    s.groups[1].pel.truncate(6);
    let keep: Vec<StreamId> = s.groups[1].pel.iter().map(|p| p.0).collect();
    for c in &mut s.groups[1].consumers {
        c.pel.retain(|i| keep.contains(i));
    }
    let v = RdbValue::Stream(Box::new(s));
    let payload = dump_payload(&v);
    assert_eq!(parse_dump_payload(&payload).unwrap(), v);
    let body = payload.len() - 10;
    for cut in 0..body {
        let mut p = payload[..cut].to_vec();
        p.extend_from_slice(&payload[body..]);
        let n = p.len() - 8;
        let crc = crc64(&p[..n]);
        p[n..].copy_from_slice(&crc.to_le_bytes());
        assert!(parse_dump_payload(&p).is_err(), "truncated at {cut}");
    }
    for at in 0..body {
        for b in [
            0u8,
            0xff,
            payload[at] ^ 1,
            payload[at] ^ 0x80,
            payload[at].wrapping_add(1),
        ] {
            let mut p = payload.clone();
            p[at] = b;
            parse_fixed(p);
        }
    }

    // Uncompressed, so the flips land in the structure rather than in LZF data.
    let RdbValue::Stream(mut small) = v else {
        unreachable!()
    };
    small.entries.truncate(60);
    let mut w = RdbWriter::new(Vec::new()).compression(false);
    w.header().unwrap();
    w.select_db(0).unwrap();
    w.key_stream(b"k", None, &small).unwrap();
    let file = w.finish().unwrap();
    for at in 9..file.len() - 9 {
        for b in [0u8, 0xff, file[at] ^ 1, file[at] ^ 0x40] {
            let mut f = file.clone();
            f[at] = b;
            let n = f.len() - 8;
            let crc = crc64(&f[..n]);
            f[n..].copy_from_slice(&crc.to_le_bytes());
            for ev in RdbReader::new(&f[..]).unwrap() {
                match ev {
                    Ok(Event::Entry(e)) => {
                        let p = dump_payload(&e.value);
                        assert_eq!(parse_dump_payload(&p).unwrap(), e.value);
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
    }
}

/// A consumer PEL entry missing from its group's PEL is refused by Redis and by us;
/// so is a group PEL entry no consumer owns (Redis: with deep sanitization). Our
/// writer refuses to produce either, before writing anything.
#[test]
fn inconsistent_pels_are_refused() {
    let s = RdbStream {
        entries: vec![entry(1, 1, &[(b"f", b"v")])],
        last_id: id(1, 1),
        first_id: id(1, 1),
        entries_added: 1,
        groups: vec![RdbStreamGroup {
            name: b"g".to_vec(),
            last_id: id(1, 1),
            entries_read: 1,
            pel: vec![(id(1, 1), 10, 1)],
            consumers: vec![RdbStreamConsumer {
                name: b"c".to_vec(),
                seen_time: 10,
                pel: vec![id(1, 1)],
            }],
        }],
        ..Default::default()
    };
    let good = dump_payload(&RdbValue::Stream(Box::new(s.clone())));
    let raw = [0u8, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1];
    let last = good.windows(16).rposition(|w| w == raw).unwrap();
    let mut bad = good.clone();
    bad[last + 15] = 2; // the consumer now claims 1-2
    let n = bad.len() - 8;
    let crc = crc64(&bad[..n]);
    bad[n..].copy_from_slice(&crc.to_le_bytes());
    let err = parse_dump_payload(&bad).unwrap_err();
    assert!(
        err.to_string().contains("not found in group global PEL"),
        "{err}"
    );
    assert_eq!(err.offset, last as u64);

    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), "dump.rdb", &[]);
    let mut c = srv.client();
    assert_eq!(
        c.cmd(&[b"RESTORE", b"good", b"0", &good]),
        Reply::Simple("OK".into())
    );
    assert!(
        matches!(c.cmd(&[b"RESTORE", b"bad", b"0", &bad]), Reply::Error(e) if e.contains("Bad data format"))
    );

    // No consumer for the group's PEL entry.
    let mut orphan = s.clone();
    orphan.groups[0].consumers[0].pel.clear();
    let mut w = RdbWriter::new(Vec::new());
    w.header().unwrap();
    let e = w
        .key_stream(b"k", None, &orphan)
        .expect_err("orphan PEL entry");
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidInput);
    assert_eq!(w.finish().unwrap(), {
        let mut w = RdbWriter::new(Vec::new());
        w.header().unwrap();
        w.finish().unwrap()
    });
    // Hand-patched: the consumer PEL count 1 -> 0 and its ID dropped.
    let mut p = good[..last - 1].to_vec();
    p.push(0);
    p.extend_from_slice(&good[last + 16..good.len() - 8]);
    let crc = crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    let err = parse_dump_payload(&p).unwrap_err();
    assert!(err.to_string().contains("without consumer"), "{err}");
    cmds(&mut c, "CONFIG SET sanitize-dump-payload yes");
    assert!(
        matches!(c.cmd(&[b"RESTORE", b"orphan", b"0", &p]), Reply::Error(e) if e.contains("Bad data format"))
    );
}
