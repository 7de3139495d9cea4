//! The command-argument parsers under arbitrary arguments, end to end: every
//! command (and subcommand) the node lists in COMMAND gets random argument lists
//! drawn from numbers at and past their limits, option words, patterns, range
//! bounds, keys of every type and binary junk. Every reply must be a reply (a
//! value, or an error with a Redis-style code), the connection and a neighbour
//! connection must keep working, and the process must stay up. Run against a
//! node directly and through `tandem proxy`, which classifies the same requests.
//! And in lockstep with a real redis-server: the same lists must get an error on
//! both or on neither, with the same message.
//!
//! The seed is printed; `TANDEM_FUZZ_SEED=N` replays a run (default: a fixed
//! seed; `random` explores a new one), `TANDEM_FUZZ_ROUNDS` sets the argument
//! lists per command (default 30).

mod common;
#[path = "proxy/harness.rs"]
mod harness;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::Proc;
use harness::ProxyProc;

/// Commands left out, each for a reason that is not its argument parsing.
const SKIP: &[(&str, &str)] = &[
    ("shutdown", "stops the node"),
    (
        "debug",
        "DEBUG SLEEP, SEGFAULT and friends act on the process",
    ),
    ("monitor", "turns the connection into a feed"),
    (
        "subscribe",
        "changes the connection's mode (server_pubsub tests)",
    ),
    ("psubscribe", "changes the connection's mode"),
    ("ssubscribe", "changes the connection's mode"),
    (
        "unsubscribe",
        "one reply per argument, as in Redis (server_pubsub tests)",
    ),
    ("punsubscribe", "one reply per argument"),
    ("sunsubscribe", "one reply per argument"),
    ("sync", "turns the connection into a replica link"),
    ("psync", "turns the connection into a replica link"),
    ("replconf", "replica handshake state"),
    (
        "replicaof",
        "makes the node a replica of whatever the arguments name",
    ),
    (
        "slaveof",
        "makes the node a replica of whatever the arguments name",
    ),
    ("failover", "hands mastership away"),
    (
        "tandem",
        "FENCE refuses writes from then on (failover tests)",
    ),
    ("quit", "closes the connection"),
    ("migrate", "connects to the host the arguments name"),
];

/// Subcommands left out.
const SKIP_SUB: &[(&str, &str)] = &[
    ("client|kill", "may close this test's own connections"),
    ("client|pause", "may pause every client for the given time"),
    ("client|reply", "OFF and SKIP silence replies by design"),
    (
        "script|debug",
        "YES/SYNC start Redis's Lua debugger, which Tandem refuses (COMPATIBILITY.md)",
    ),
];

/// Commands that may wait for an event by design (with a timeout argument of 0
/// or a large one): run with a short read timeout, a timeout is no failure.
const MAY_WAIT: &[&str] = &["wait", "waitaof", "xread", "xreadgroup"];

const KEYS: &[&str] = &[
    "k:str", "k:list", "k:hash", "k:set", "k:zset", "k:hll", "k:stream", "k:none",
];

fn tokens() -> Vec<Vec<u8>> {
    let mut t: Vec<Vec<u8>> = [
        // Numbers, at and past every limit parsers check.
        "0",
        "1",
        "-1",
        "2",
        "3",
        "7",
        "10",
        "-10",
        "100",
        "1000000",
        "-1000000",
        "4294967296",
        "9223372036854775807",
        "-9223372036854775808",
        "9223372036854775808",
        "18446744073709551616",
        "1.5",
        "-0.5",
        "0.001",
        "1e308",
        "1e309",
        "-1e400",
        "inf",
        "-inf",
        "+inf",
        "nan",
        "0x10",
        "1e",
        " 1",
        "1 ",
        "",
        "abc",
        "-",
        "+",
        "--1",
        "1.2.3",
        // Option words of the Redis 7 commands.
        "EX",
        "PX",
        "EXAT",
        "PXAT",
        "NX",
        "XX",
        "GT",
        "LT",
        "CH",
        "INCR",
        "KEEPTTL",
        "GET",
        "PERSIST",
        "WITHSCORES",
        "WITHSCORE",
        "LIMIT",
        "COUNT",
        "MATCH",
        "TYPE",
        "BYSCORE",
        "BYLEX",
        "REV",
        "STORE",
        "WEIGHTS",
        "AGGREGATE",
        "SUM",
        "MIN",
        "MAX",
        "LEFT",
        "RIGHT",
        "BEFORE",
        "AFTER",
        "RANK",
        "MAXLEN",
        "IDX",
        "LEN",
        "MINMATCHLEN",
        "WITHMATCHLEN",
        "ASYNC",
        "SYNC",
        "REPLACE",
        "DB",
        "ABSTTL",
        "IDLETIME",
        "FREQ",
        "ENCODING",
        "REFCOUNT",
        "AND",
        "OR",
        "XOR",
        "NOT",
        "OVERFLOW",
        "WRAP",
        "SAT",
        "FAIL",
        "SET",
        "INCRBY",
        "u8",
        "i64",
        "u63",
        "i65",
        "#1",
        "#-1",
        "BIT",
        "BYTE",
        "ID",
        "SETNAME",
        "AUTH",
        "ALL",
        "RESET",
        "STRING",
        "LIST",
        "HASH",
        "ZSET",
        "NEWDB",
        // Patterns, lex and score bounds.
        "*",
        "?",
        "[",
        "\\",
        "[a-",
        "[^a]",
        "(1",
        "(a",
        "[a",
        "(",
        "[",
        // Stream IDs and their special forms (`-`, `+`, `*` and `(` are above).
        "$",
        ">",
        "0-0",
        "1-1",
        "1-*",
        "18446744073709551615-18446744073709551615",
        "~",
        "=",
        // Binary-safe oddities.
        "\0",
        "\r\n",
        "\u{ff}",
        "a\0b",
    ]
    .iter()
    .map(|s| s.as_bytes().to_vec())
    .collect();
    t.extend(KEYS.iter().map(|k| k.as_bytes().to_vec()));
    t.push(vec![b'x'; 10_000]);
    t
}

/// The seed of a plain run (xorshift needs it non-zero).
const DEFAULT_SEED: u64 = 0x5EED_F022;

/// xorshift64*: small, seeded, reproducible.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

/// One command to fuzz: its name (and subcommand), and whether it may wait.
struct Target {
    prefix: Vec<String>,
    waits: bool,
    /// The option words of its COMMAND DOCS (`BYSCORE`, `LIMIT`, ...), drawn
    /// as often as the whole pool, so option combinations get exercised.
    words: Vec<Vec<u8>>,
}

/// Every `token` in a COMMAND DOCS reply, at any depth.
fn doc_tokens(v: &redis::Value, out: &mut Vec<Vec<u8>>) {
    if let redis::Value::Array(items) = v {
        for pair in items.windows(2) {
            if let (redis::Value::BulkString(k), redis::Value::BulkString(t)) = (&pair[0], &pair[1])
            {
                if k == b"token" && !out.contains(t) {
                    out.push(t.clone());
                }
            }
        }
        for i in items {
            doc_tokens(i, out);
        }
    }
}

/// Every command and subcommand the node lists, but the skipped ones.
fn targets(con: &mut redis::Connection) -> Vec<Target> {
    let list: Vec<redis::Value> = redis::cmd("COMMAND").query(con).expect("COMMAND");
    let docs: Vec<redis::Value> = redis::cmd("COMMAND")
        .arg("DOCS")
        .query(con)
        .expect("COMMAND DOCS");
    let mut words = std::collections::HashMap::new();
    for pair in docs.chunks(2) {
        if let [name, doc] = pair {
            let mut w = Vec::new();
            doc_tokens(doc, &mut w);
            words.insert(text(name), w);
        }
    }
    let mut out = Vec::new();
    for entry in &list {
        let redis::Value::Array(f) = entry else {
            panic!("COMMAND entry is not an array: {entry:?}");
        };
        let name = text(&f[0]);
        if SKIP.iter().any(|(s, _)| *s == name) {
            continue;
        }
        let waits = MAY_WAIT.contains(&name.as_str())
            || matches!(&f[2], redis::Value::Array(flags) if flags.iter().any(|x| text(x) == "blocking"));
        let subs = match f.get(9) {
            Some(redis::Value::Array(s)) if !s.is_empty() => s.clone(),
            _ => Vec::new(),
        };
        if subs.is_empty() {
            out.push(Target {
                words: words.get(&name).cloned().unwrap_or_default(),
                prefix: vec![name],
                waits,
            });
            continue;
        }
        for s in &subs {
            let redis::Value::Array(sf) = s else {
                panic!("subcommand entry is not an array: {s:?}");
            };
            let full = text(&sf[0]);
            if SKIP_SUB.iter().any(|(s, _)| *s == full) {
                continue;
            }
            let sub = full.split('|').nth(1).unwrap_or_default().to_string();
            out.push(Target {
                words: words.get(&name).cloned().unwrap_or_default(),
                prefix: vec![name.clone(), sub],
                waits,
            });
        }
    }
    out
}

fn text(v: &redis::Value) -> String {
    match v {
        redis::Value::BulkString(b) => String::from_utf8_lossy(b).to_lowercase(),
        redis::Value::SimpleString(s) => s.to_lowercase(),
        other => panic!("expected a name, got {other:?}"),
    }
}

/// Keys of every type, so each command meets its own type and the others.
fn populate(con: &mut redis::Connection) {
    let _: () = redis::pipe()
        .cmd("DEL")
        .arg(KEYS)
        .ignore()
        .cmd("SET")
        .arg("k:str")
        .arg("12")
        .ignore()
        .cmd("RPUSH")
        .arg("k:list")
        .arg(&["a", "b", "1", "c"])
        .ignore()
        .cmd("HSET")
        .arg("k:hash")
        .arg(&["f", "1", "g", "x"])
        .ignore()
        .cmd("SADD")
        .arg("k:set")
        .arg(&["a", "1", "2"])
        .ignore()
        .cmd("ZADD")
        .arg("k:zset")
        .arg(&["1", "a", "2", "b", "2", "c"])
        .ignore()
        .cmd("PFADD")
        .arg("k:hll")
        .arg(&["a", "b"])
        .ignore()
        // A stream with a group, a consumer and a pending entry.
        .cmd("XADD")
        .arg("k:stream")
        .arg("1-1")
        .arg(&["f", "v"])
        .ignore()
        .cmd("XADD")
        .arg("k:stream")
        .arg("2-1")
        .arg(&["f", "w"])
        .ignore()
        .cmd("XGROUP")
        .arg(&["CREATE", "k:stream", "g", "0"])
        .ignore()
        .cmd("XREADGROUP")
        .arg(&["GROUP", "g", "c", "COUNT", "1", "STREAMS", "k:stream", ">"])
        .ignore()
        .query(con)
        .expect("populate the typed keys");
}

/// A Redis error code: upper-case letters (ERR, WRONGTYPE, NOPROTO, ...).
fn redis_style(code: &str) -> bool {
    !code.is_empty()
        && code
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b == b'_' || b == b'-')
}

/// `TANDEM_FUZZ_SEED` (else a fixed one, as the differential test's default
/// seeds: a run is reproducible; `TANDEM_FUZZ_SEED=random` takes one from the
/// clock to explore) and `TANDEM_FUZZ_ROUNDS` (argument lists per command,
/// default 30).
fn seed_and_rounds() -> (u64, usize) {
    let seed = match std::env::var("TANDEM_FUZZ_SEED").ok().as_deref() {
        Some("random") => {
            SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(1, |d| d.as_nanos() as u64)
                | 1
        }
        Some(s) => s.parse().unwrap_or(DEFAULT_SEED),
        None => DEFAULT_SEED,
    };
    let rounds = std::env::var("TANDEM_FUZZ_ROUNDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(30);
    (seed, rounds)
}

/// The target's name and 0-6 arguments drawn from the pool, and how to show
/// them in a failure (each argument cut to 20 bytes).
fn random_command(rng: &mut Rng, pool: &[Vec<u8>], t: &Target) -> (redis::Cmd, String) {
    let mut cmd = redis::cmd(&t.prefix[0]);
    for p in &t.prefix[1..] {
        cmd.arg(p);
    }
    let mut shown = t.prefix.join(" ");
    // Lua's errors quote the source byte by byte (a lone byte of a UTF-8
    // sequence included), which the redis crate cannot read in an error
    // reply: scripts get ASCII arguments.
    let script = [
        "eval",
        "eval_ro",
        "evalsha",
        "evalsha_ro",
        "script",
        "function",
        "fcall",
        "fcall_ro",
    ]
    .contains(&t.prefix[0].as_str());
    for _ in 0..rng.below(7) {
        let mut x = if !t.words.is_empty() && rng.below(2) == 0 {
            &t.words[rng.below(t.words.len())]
        } else {
            &pool[rng.below(pool.len())]
        };
        while script && !x.is_ascii() {
            x = &pool[rng.below(pool.len())];
        }
        cmd.arg(x.as_slice());
        shown.push_str(&format!(
            " {:?}",
            String::from_utf8_lossy(&x[..x.len().min(20)])
        ));
    }
    (cmd, shown)
}

fn fuzz(url: &str, what: &str) {
    let (seed, rounds) = seed_and_rounds();
    eprintln!("{what}: TANDEM_FUZZ_SEED={seed}");
    let mut rng = Rng(seed);
    let client = redis::Client::open(url).expect("client");
    let connect = || {
        let c = client
            .get_connection_with_timeout(Duration::from_secs(5))
            .expect("connect");
        c.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        c
    };
    let mut con = connect();
    let mut neighbour = connect();
    let pool = tokens();
    let all = targets(&mut con);
    assert!(
        all.len() > 150,
        "COMMAND listed only {} commands",
        all.len()
    );
    let (mut replies, mut errors, mut waited) = (0usize, 0usize, 0usize);
    for t in &all {
        populate(&mut con);
        let n = if t.waits { rounds.div_ceil(5) } else { rounds };
        if t.waits {
            con.set_read_timeout(Some(Duration::from_millis(300)))
                .expect("read timeout");
        }
        for _ in 0..n {
            let (cmd, shown) = random_command(&mut rng, &pool, t);
            match cmd.query::<redis::Value>(&mut con) {
                Ok(_) => replies += 1,
                Err(e) if t.waits && e.is_timeout() => {
                    // Waiting as asked: this connection now has a request in
                    // flight, so the next one starts clean.
                    waited += 1;
                    con = connect();
                    con.set_read_timeout(Some(Duration::from_millis(300)))
                        .expect("read timeout");
                }
                Err(e) => {
                    let code = e.code().map(str::to_string);
                    assert!(
                        code.as_deref().is_some_and(redis_style),
                        "{what}: `{shown}` got {e:?}, not a Redis-style error reply (seed {seed})"
                    );
                    errors += 1;
                }
            }
        }
        con.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("read timeout");
        // Leave any MULTI or RESP3 the arguments entered, then check the
        // connection and its neighbour.
        let _ = redis::cmd("DISCARD").query::<redis::Value>(&mut con);
        if t.prefix[0] == "hello" || t.prefix[0] == "reset" {
            con = connect();
        }
        let pong: String = redis::cmd("PING").query(&mut con).unwrap_or_else(|e| {
            panic!(
                "{what}: the connection is gone after {:?}: {e} (seed {seed})",
                t.prefix
            )
        });
        assert_eq!(pong, "PONG");
        let pong: String = redis::cmd("PING")
            .query(&mut neighbour)
            .unwrap_or_else(|e| {
                panic!(
                    "{what}: the neighbour is gone after {:?}: {e} (seed {seed})",
                    t.prefix
                )
            });
        assert_eq!(pong, "PONG");
    }
    eprintln!(
        "{what}: {} commands, {replies} replies, {errors} errors, {waited} waited",
        all.len()
    );
    assert!(replies > 0 && errors > 0, "the fuzz met both outcomes");
}

#[test]
fn arbitrary_arguments_to_every_command_get_replies_and_hurt_nothing() {
    let node = Proc::tandem(&[]);
    fuzz(&node.url(), "node");
    // The data and the process survived: a fresh connection works and reads.
    let mut c = node.client();
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut c)
        .expect("a write after the fuzz");
    let v: String = redis::cmd("GET").arg("after").query(&mut c).expect("GET");
    assert_eq!(v, "1");
}

#[test]
fn arbitrary_arguments_through_the_proxy_get_replies_and_hurt_nothing() {
    let node = Proc::tandem(&[]);
    let addr = node.addr();
    let proxy = ProxyProc::start(&["--master", addr.as_str()]);
    proxy.await_master();
    fuzz(&proxy.url(), "proxy");
    let mut c = proxy.client();
    let pong: String = redis::cmd("PING")
        .query(&mut c)
        .expect("PING after the fuzz");
    assert_eq!(pong, "PONG");
    let mut n = node.client();
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut n)
        .expect("the node still takes writes");
}

/// Left out of the comparison with redis-server, for what their replies depend
/// on besides the arguments.
const NOT_COMPARED: &[(&str, &str)] = &[
    ("hello", "changes the protocol of the connection"),
    ("reset", "resets the connection"),
    ("multi", "queues the commands after it"),
    ("exec", "runs what MULTI queued"),
    ("watch", "transaction state"),
    ("config", "the parameter sets differ (COMPATIBILITY.md)"),
    ("save", "writes the data file"),
    ("bgsave", "forks a child that writes the data file"),
    ("bgrewriteaof", "forks a child that writes the AOF"),
];

/// Subcommands left out of the comparison: COMMAND GETKEYS answers from each
/// server's own command set (tandem has no MODULE, ACL SETUSER, ...).
/// ACL SETUSER: Tandem has the default user only (COMPATIBILITY.md).
const NOT_COMPARED_SUB: &[&str] = &["command getkeys", "command getkeysandflags", "acl setuser"];

/// Commands that can leave a key with a TTL: after each, both servers start
/// over from the same keys, so a key expiring a millisecond apart on the two
/// cannot change a later outcome.
const SETS_TTL: &[&str] = &[
    "expire",
    "pexpire",
    "expireat",
    "pexpireat",
    "set",
    "setex",
    "psetex",
    "getex",
    "restore",
];

fn error_of(r: &redis::RedisResult<redis::Value>) -> Option<String> {
    r.as_ref()
        .err()
        .map(|e| format!("{} {}", e.code().unwrap_or("?"), e.detail().unwrap_or("")))
}

/// The same random argument lists to a node and to a real redis-server, in
/// lockstep: each gets an error exactly when the other does, with the same
/// message. Arguments are drawn as in [`fuzz`].
#[test]
fn arbitrary_arguments_get_the_errors_redis_gives() {
    let node = Proc::tandem(&[]);
    let reference = Proc::redis(&[]);
    let (seed, rounds) = seed_and_rounds();
    eprintln!("differential: TANDEM_FUZZ_SEED={seed}");
    let mut rng = Rng(seed);
    let mut a = node.client();
    let mut b = reference.client();
    let pool = tokens();
    let all = targets(&mut a);
    let mut differ = std::collections::BTreeMap::new();
    let mut compared = 0usize;
    for t in &all {
        // XREAD and XREADGROUP wait only with BLOCK: compared without it.
        let stream_read = matches!(t.prefix[0].as_str(), "xread" | "xreadgroup");
        if (t.waits && !stream_read)
            || NOT_COMPARED.iter().any(|(n, _)| *n == t.prefix[0])
            || NOT_COMPARED_SUB.contains(&t.prefix.join(" ").as_str())
        {
            continue;
        }
        let fresh = |c: &mut redis::Connection| {
            let _: () = redis::cmd("FLUSHALL").query(c).expect("FLUSHALL");
            populate(c);
        };
        fresh(&mut a);
        fresh(&mut b);
        for _ in 0..rounds {
            let (cmd, shown) = random_command(&mut rng, &pool, t);
            if stream_read && shown.to_ascii_lowercase().contains("block") {
                continue;
            }
            let (ea, eb) = (error_of(&cmd.query(&mut a)), error_of(&cmd.query(&mut b)));
            compared += 1;
            if ea != eb {
                differ
                    .entry(format!(
                        "{}: tandem {ea:?}, redis {eb:?}",
                        t.prefix.join(" ")
                    ))
                    .or_insert(shown);
            }
            if SETS_TTL.contains(&t.prefix[0].as_str()) {
                fresh(&mut a);
                fresh(&mut b);
            }
        }
        // SELECT may have moved either connection: back to 0 on both.
        let _: () = redis::cmd("SELECT").arg(0).query(&mut a).expect("SELECT");
        let _: () = redis::cmd("SELECT").arg(0).query(&mut b).expect("SELECT");
    }
    eprintln!(
        "differential: {compared} commands compared, {} of {} with option words",
        all.iter().filter(|t| !t.words.is_empty()).count(),
        all.len()
    );
    let report: Vec<String> = differ
        .iter()
        .map(|(k, ex)| format!("{k}\n    e.g. {ex}"))
        .collect();
    assert!(
        report.is_empty(),
        "{} outcomes differ from redis-server (seed {seed}):\n{}",
        report.len(),
        report.join("\n")
    );
}
