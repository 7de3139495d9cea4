//! The loading window at start, beside a real redis-server 7.0 loading the same
//! file: the node listens while it loads, refuses the commands Redis refuses
//! with `-LOADING`, serves the ones Redis serves (INFO with its loading fields,
//! CONFIG, SELECT, CLIENT, ...), and stopping it meanwhile saves nothing over
//! the file it is reading. `key-load-delay` (a hidden Redis setting, also
//! Tandem's) keeps both servers loading long enough to look.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{encode, wait_for, Kind, Proc};

/// Slow enough that the script below runs well inside the window on both
/// servers; events every KiB so Redis answers between keys.
const SLOW: &[&str] = &[
    "--save",
    "",
    "--key-load-delay",
    "100",
    "--loading-process-events-interval-bytes",
    "1024",
];

/// A snapshot of `keys` keys (and a few of other types) written by redis-server.
fn snapshot(keys: u32) -> Vec<u8> {
    let r = Proc::redis(&["--enable-debug-command", "yes"]);
    let mut c = r.client();
    let _: () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(keys)
        .query(&mut c)
        .expect("populate");
    let _: () = redis::cmd("RPUSH")
        .arg("list")
        .arg(&["a", "b"])
        .query(&mut c)
        .expect("rpush");
    let _: () = redis::cmd("SAVE").query(&mut c).expect("save");
    std::fs::read(r.dir.path().join("dump.rdb")).expect("dump.rdb")
}

/// A server of `kind` started on `rdb` with `args`, returned while it loads.
fn loading(kind: Kind, rdb: &[u8], args: &[&str]) -> Proc {
    let mut p = Proc::start(kind, &["--save", ""]);
    p.sigkill();
    std::fs::write(p.dir.path().join("dump.rdb"), rdb).expect("write dump.rdb");
    p.restart_answering(args);
    p
}

/// Reply bytes of each request over one connection, each request followed by
/// an ECHO (served while loading) whose reply marks its end. From MULTI to
/// EXEC the requests go as one case (an ECHO there would be queued).
fn transcript(p: &Proc, cases: &[&[&str]]) -> Vec<String> {
    let mut s = TcpStream::connect(p.addr()).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let marker = b"$11\r\nend-of-case\r\n";
    let mut in_multi = false;
    let mut req = Vec::new();
    cases
        .iter()
        .filter_map(|case| {
            req.extend_from_slice(&encode(case));
            in_multi = match case[0] {
                "MULTI" => true,
                "EXEC" | "DISCARD" => false,
                _ => in_multi,
            };
            if in_multi {
                return None;
            }
            req.extend_from_slice(&encode(&["ECHO", "end-of-case"]));
            s.write_all(&std::mem::take(&mut req)).expect("write");
            let mut got = Vec::new();
            let mut buf = [0u8; 65536];
            while !got.ends_with(marker) {
                let n = s
                    .read(&mut buf)
                    .unwrap_or_else(|e| panic!("{case:?}: no reply within 10 s: {e}"));
                assert!(n > 0, "connection closed after {case:?}");
                got.extend_from_slice(&buf[..n]);
            }
            got.truncate(got.len() - marker.len());
            Some(format!("{case:?} -> {:?}", String::from_utf8_lossy(&got)))
        })
        .collect()
}

/// INFO persistence's fields as (name, value).
fn persistence(p: &Proc) -> Vec<(String, String)> {
    let text: String = redis::cmd("INFO")
        .arg("persistence")
        .query(&mut p.client())
        .expect("INFO persistence");
    text.lines()
        .filter_map(|l| l.trim_end().split_once(':'))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn field(fields: &[(String, String)], name: &str) -> Option<String> {
    fields
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.clone())
}

fn is_loading(p: &Proc) -> bool {
    field(&persistence(p), "loading").as_deref() == Some("1")
}

fn await_loaded(p: &Proc) {
    wait_for(Duration::from_secs(60), "the load to end", || {
        p.try_ping().is_some_and(|r| r == "PONG")
    });
}

trait Ping {
    fn try_ping(&self) -> Option<String>;
}

impl Ping for Proc {
    fn try_ping(&self) -> Option<String> {
        let mut c = self.client();
        match redis::cmd("PING").query::<String>(&mut c) {
            Ok(s) => Some(s),
            Err(e) => Some(e.to_string()),
        }
    }
}

#[test]
fn while_loading_replies_are_redis_s() {
    let rdb = snapshot(20_000);
    let cases: &[&[&str]] = &[
        &["PING"],
        &["DBSIZE"],
        &["GET", "key:1"],
        &["SET", "a", "b"],
        &["CONFIG", "GET", "maxmemory-policy"],
        &["SELECT", "3"],
        &["SELECT", "0"],
        &["ECHO", "hi"],
        &["CLIENT", "SETNAME", "x"],
        &["CLIENT", "GETNAME"],
        &["MULTI"],
        &["PING"],
        &["EXEC"],
        &["MULTI"],
        &["CONFIG", "GET", "maxmemory"],
        &["EXEC"],
        &["EVAL", "return 1", "0"],
        &["FUNCTION", "LIST"],
        &["SCRIPT", "EXISTS", "a"],
        &["FLUSHALL"],
        &["SAVE"],
        &["BGSAVE"],
        &["REPLICAOF", "NO", "ONE"],
        &["WAIT", "0", "0"],
        &["ACL", "WHOAMI"],
        &["PUBLISH", "c", "x"],
        &["LATENCY", "LATEST"],
        &["MEMORY", "USAGE", "key:1"],
        &["KEYS", "*"],
        &["SCAN", "0"],
        &["RANDOMKEY"],
        &["SWAPDB", "0", "1"],
        &["OBJECT", "ENCODING", "key:1"],
        &["LPOP", "list"],
        &["AUTH", "x"],
        &["SLOWLOG", "LEN"],
    ];
    let mut transcripts = Vec::new();
    for kind in [Kind::Tandem, Kind::Redis] {
        let p = loading(kind, &rdb, SLOW);
        assert!(is_loading(&p), "{kind:?} loading before the script");
        let t = transcript(&p, cases);
        let during = persistence(&p);
        assert_eq!(
            field(&during, "loading").as_deref(),
            Some("1"),
            "{kind:?} still loading after the script"
        );
        // The progress fields follow INFO persistence's others, as Redis's.
        let total: u64 = field(&during, "loading_total_bytes")
            .and_then(|v| v.parse().ok())
            .expect("loading_total_bytes");
        assert_eq!(total, rdb.len() as u64, "{kind:?}");
        let done: u64 = field(&during, "loading_loaded_bytes")
            .and_then(|v| v.parse().ok())
            .expect("loading_loaded_bytes");
        assert!(done <= total, "{kind:?}: {done} of {total}");
        let perc: f64 = field(&during, "loading_loaded_perc")
            .and_then(|v| v.parse().ok())
            .expect("loading_loaded_perc");
        assert!((0.0..=100.0).contains(&perc), "{kind:?}: {perc}");
        for f in ["loading_start_time", "loading_eta_seconds"] {
            assert!(field(&during, f).is_some(), "{kind:?}: {f}");
        }
        let used_mem = field(&during, "loading_rdb_used_mem");
        await_loaded(&p);
        let after = persistence(&p);
        assert_eq!(field(&after, "loading").as_deref(), Some("0"));
        assert_eq!(field(&after, "loading_total_bytes"), None);
        let n: u64 = redis::cmd("DBSIZE").query(&mut p.client()).expect("DBSIZE");
        assert_eq!(n, 20_001, "{kind:?}: every key once loaded");
        transcripts.push((t, used_mem));
    }
    let (redis, redis_mem) = transcripts.pop().expect("redis");
    let (tandem, tandem_mem) = transcripts.pop().expect("tandem");
    assert_eq!(tandem_mem, redis_mem, "loading_rdb_used_mem from the file");
    for (t, r) in tandem.iter().zip(&redis) {
        assert_eq!(t, r);
    }
    assert!(common::case(&tandem, r#"["GET""#)
        .contains("-LOADING Redis is loading the dataset in memory"));
}

/// SHUTDOWN (with `save` rules) and SIGTERM while loading stop the node at
/// once, exit 0, and leave the file it was loading as it was: a partial
/// dataset is never saved, as Redis forces NOSAVE while loading.
#[test]
fn stopping_while_loading_saves_nothing() {
    let rdb = snapshot(20_000);
    let mut args = SLOW.to_vec();
    args[1] = "1 1";
    let mut p = loading(Kind::Tandem, &rdb, &args);
    assert!(is_loading(&p));
    let mut c = p.client();
    let r: redis::RedisResult<()> = redis::cmd("SHUTDOWN").query(&mut c);
    assert!(r.is_err(), "SHUTDOWN closes the connection");
    let status = p.sigterm(Duration::from_secs(20)).expect("stopped");
    assert!(status.success(), "{status:?}");
    let file = std::fs::read(p.dir.path().join("dump.rdb")).expect("dump.rdb");
    assert!(file == rdb, "the snapshot was rewritten");
    assert!(p.log().contains("Loading stopped"), "{}", p.log());

    p.restart_answering(&args);
    assert!(is_loading(&p));
    let status = p.sigterm(Duration::from_secs(20)).expect("stopped");
    assert!(status.success(), "{status:?}");
    let file = std::fs::read(p.dir.path().join("dump.rdb")).expect("dump.rdb");
    assert!(file == rdb, "the snapshot was rewritten");
}

/// An AOF (an RDB base, then an incremental file of commands) loads the same
/// way: `loading:1` with the two files' sizes as the total, `-LOADING` for
/// the data, and every write there afterwards.
#[test]
fn aof_loading_shows_the_window_and_ends_with_every_write() {
    let mut p = Proc::tandem(&[
        "--save",
        "",
        "--appendonly",
        "yes",
        "--enable-debug-command",
        "yes",
    ]);
    {
        let mut c = p.client();
        let _: () = redis::cmd("DEBUG")
            .arg("POPULATE")
            .arg(20_000)
            .query(&mut c)
            .expect("populate");
        let _: () = redis::cmd("BGREWRITEAOF").query(&mut c).expect("rewrite");
        wait_for(Duration::from_secs(30), "the rewrite", || {
            common::info_int(&mut c, "persistence", "aof_rewrite_in_progress") == 0
                && common::info_int(&mut c, "persistence", "aof_rewrite_scheduled") == 0
        });
        for i in 0..100 {
            let _: () = redis::cmd("INCR")
                .arg("counter")
                .query(&mut c)
                .expect("incr");
            let _: () = redis::cmd("SET")
                .arg(format!("after:{i}"))
                .arg(i)
                .query(&mut c)
                .expect("set");
        }
    }
    // The files the manifest names (a replaced one may linger until deleted).
    let aof_dir = p.dir.path().join("appendonlydir");
    let manifest =
        std::fs::read_to_string(aof_dir.join("appendonly.aof.manifest")).expect("manifest");
    let total: u64 = manifest
        .lines()
        .filter_map(|l| l.strip_prefix("file ")?.split_whitespace().next())
        .map(|name| {
            std::fs::metadata(aof_dir.join(name))
                .expect("AOF file")
                .len()
        })
        .sum();
    let mut args = SLOW.to_vec();
    args.extend(["--appendonly", "yes"]);
    p.restart_answering(&args);
    let during = persistence(&p);
    assert_eq!(field(&during, "loading").as_deref(), Some("1"));
    assert_eq!(
        field(&during, "loading_total_bytes").and_then(|v| v.parse().ok()),
        Some(total)
    );
    let err = redis::cmd("GET")
        .arg("counter")
        .query::<String>(&mut p.client())
        .expect_err("refused while loading");
    assert!(err.to_string().contains("loading the dataset"), "{err}");
    await_loaded(&p);
    let mut c = p.client();
    let n: u64 = redis::cmd("DBSIZE").query(&mut c).expect("DBSIZE");
    assert_eq!(n, 20_000 + 1 + 100);
    let v: u64 = redis::cmd("GET").arg("counter").query(&mut c).expect("GET");
    assert_eq!(v, 100);
}

/// A node configured as a replica says so while it loads (INFO replication
/// `role:slave`), as redis-server does: a monitor probing it meanwhile does
/// not see a second master.
#[test]
fn a_replica_shows_its_role_while_loading() {
    let rdb = snapshot(20_000);
    let nowhere = common::free_port().to_string();
    let mut args = SLOW.to_vec();
    args.extend(["--replicaof", "127.0.0.1", &nowhere]);
    for kind in [Kind::Tandem, Kind::Redis] {
        let p = loading(kind, &rdb, &args);
        let text: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut p.client())
            .expect("INFO replication");
        assert!(is_loading(&p), "{kind:?} still loading");
        assert!(text.contains("role:slave"), "{kind:?}: {text}");
    }
}
