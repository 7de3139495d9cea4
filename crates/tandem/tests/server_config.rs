//! End-to-end: configuration through the command line, a config file and CONFIG
//! GET/SET, and INFO's field names.

mod common;

use std::process::{Command, Stdio};

use common::Proc;

/// CONFIG SET then GET round-trips (units, several pairs at once); errors are Redis's.
#[test]
fn config_get_set_round_trip() {
    let p = Proc::tandem(&[]);
    assert_eq!(
        p.cli_str(&[
            "CONFIG",
            "SET",
            "maxmemory",
            "10mb",
            "maxmemory-policy",
            "allkeys-lru"
        ]),
        "OK"
    );
    assert_eq!(
        p.cli_str(&["CONFIG", "GET", "maxmemory"]),
        "maxmemory\n10485760"
    );
    assert_eq!(
        p.cli_str(&["CONFIG", "GET", "maxmemory-policy"]),
        "maxmemory-policy\nallkeys-lru"
    );
    let glob = p.cli_str(&["CONFIG", "GET", "maxmemory*", "hz"]);
    for k in [
        "maxmemory\n",
        "maxmemory-samples",
        "maxmemory-policy",
        "hz\n10",
    ] {
        assert!(glob.contains(k), "{k} missing in {glob}");
    }
    assert_eq!(
        p.cli_str(&["CONFIG", "SET", "maxmemory", "foo"]),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    );
    assert_eq!(
        p.cli_str(&["CONFIG", "SET", "foo", "bar"]),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    // Atomic: the bad second pair leaves the first unapplied.
    assert!(p
        .cli_str(&["CONFIG", "SET", "timeout", "7", "appendonly", "maybe"])
        .contains("argument must be 'yes' or 'no'"));
    assert_eq!(p.cli_str(&["CONFIG", "GET", "timeout"]), "timeout\n0");
    assert_eq!(
        p.cli_str(&["CONFIG", "GET", "client-output-buffer-limit"]),
        "client-output-buffer-limit\nnormal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert_eq!(p.cli_str(&["CONFIG", "RESETSTAT"]), "OK");
}

/// Command-line options as redis-server: aliases, `--save ""`, several values.
#[test]
fn command_line_options() {
    let p = Proc::tandem(&[
        "--save",
        "",
        "--slaveof",
        "10.1.2.3",
        "6390",
        "--hash-max-ziplist-entries",
        "64",
        "--databases",
        "4",
    ]);
    assert_eq!(p.cli_str(&["CONFIG", "GET", "save"]), "save");
    assert_eq!(
        p.cli_str(&["CONFIG", "GET", "replicaof"]),
        "replicaof\n10.1.2.3 6390"
    );
    assert_eq!(
        p.cli_str(&["CONFIG", "GET", "hash-max-listpack-entries"]),
        "hash-max-listpack-entries\n64"
    );
    assert_eq!(p.cli_str(&["SELECT", "3"]), "OK");
    assert_eq!(p.cli_str(&["SELECT", "4"]), "ERR DB index is out of range");
}

/// A config file is read (quotes, several save lines); command-line options win.
#[test]
fn config_file() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("tandem.conf");
    std::fs::write(
        &f,
        "# test\nsave 900 1\nsave 60 1000\nrequirepass \"pa ss\"\ntimeout 30\nmaxmemory 2mb\nappendonly no\nlazyfree-lazy-user-del yes\n",
    )
    .unwrap();
    let p = Proc::tandem(&[f.to_str().unwrap(), "--timeout", "40"]);
    let out = p.cli_str(&["-a", "pa ss", "--no-auth-warning", "CONFIG", "GET", "save"]);
    assert_eq!(out, "save\n900 1 60 1000");
    let out = p.cli_str(&[
        "-a",
        "pa ss",
        "--no-auth-warning",
        "CONFIG",
        "GET",
        "timeout",
    ]);
    assert_eq!(out, "timeout\n40");
    let info = p.cli_str(&["-a", "pa ss", "--no-auth-warning", "INFO", "server"]);
    assert!(
        info.contains(&format!(
            "config_file:{}",
            std::fs::canonicalize(&f).unwrap().display()
        )),
        "{info}"
    );
}

/// Unknown options are refused at startup with Redis's message and exit code 1.
#[test]
fn unknown_option_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(common::tandem_bin())
        .args(["server", "--port", "0", "--dir"])
        .arg(dir.path())
        .args(["--no-such-option", "1"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("FATAL CONFIG FILE ERROR"), "{err}");
    assert!(err.contains("'no-such-option 1'"), "{err}");
    assert!(
        err.contains("Bad directive or wrong number of arguments"),
        "{err}"
    );
    let out = Command::new(common::tandem_bin())
        .args(["server", "--daemonize", "yes"])
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

/// INFO sections carry Redis's field names.
#[test]
fn info_fields() {
    let p = Proc::tandem(&[]);
    let _ = p.cli_str(&["ECHO", "x"]);
    let info = p.cli_str(&["INFO", "everything"]);
    for f in [
        "# Server",
        "redis_version:7.0.15",
        "redis_mode:standalone",
        "process_id:",
        "run_id:",
        "tcp_port:",
        "uptime_in_seconds:",
        "# Clients",
        "connected_clients:",
        "blocked_clients:0",
        "maxclients:10000",
        "# Memory",
        "used_memory:",
        "used_memory_human:",
        "used_memory_rss:",
        "maxmemory_policy:noeviction",
        "# Persistence",
        "loading:0",
        "rdb_changes_since_last_save:",
        "# Stats",
        "total_connections_received:",
        "total_commands_processed:",
        "instantaneous_ops_per_sec:",
        "keyspace_hits:",
        "pubsub_channels:0",
        "# Replication",
        "role:master",
        "connected_slaves:0",
        "master_replid:",
        "master_repl_offset:0",
        "second_repl_offset:-1",
        "# CPU",
        "used_cpu_sys:",
        "# Commandstats",
        "cmdstat_echo:calls=1,usec=",
        "# Keyspace",
    ] {
        assert!(info.contains(f), "missing {f} in\n{info}");
    }
    let server = p.cli_str(&["INFO", "server"]);
    assert!(!server.contains("# Clients"));
    let role = p.cli_str(&["ROLE"]);
    assert_eq!(role, "master\n0");
}

/// `jemalloc-bg-thread` (default yes, as in Redis) runs jemalloc's purging on
/// its own threads; `CONFIG SET jemalloc-bg-thread no` stops them, and the
/// command-line option starts the node without them.
#[test]
fn jemalloc_bg_thread_setting_controls_the_purging_threads() {
    let bg_threads = |p: &Proc| {
        std::fs::read_dir(format!("/proc/{}/task", p.pid()))
            .expect("/proc/PID/task")
            .filter_map(|t| std::fs::read_to_string(t.ok()?.path().join("comm")).ok())
            .filter(|name| name.trim() == "jemalloc_bg_thd")
            .count()
    };
    let on = Proc::tandem(&[]);
    common::wait_for(
        std::time::Duration::from_secs(10),
        "purging threads",
        || bg_threads(&on) > 0,
    );
    assert_eq!(
        on.cli_str(&["CONFIG", "SET", "jemalloc-bg-thread", "no"]),
        "OK"
    );
    common::wait_for(
        std::time::Duration::from_secs(10),
        "no purging threads",
        || bg_threads(&on) == 0,
    );
    let off = Proc::tandem(&["--jemalloc-bg-thread", "no"]);
    assert_eq!(
        off.cli_str(&["CONFIG", "GET", "jemalloc-bg-thread"]),
        "jemalloc-bg-thread\nno"
    );
    assert_eq!(bg_threads(&off), 0);
}

/// Redis 7.0's protections, by default: DEBUG is refused, and CONFIG SET may
/// not move where snapshots are written (`dir`, `dbfilename`), with Redis's
/// replies; `local` allows both from a loopback connection, `yes` from any.
#[test]
fn debug_and_protected_configs_are_refused_by_default() {
    let cases: &[&[&str]] = &[
        &["DEBUG", "SLEEP", "0"],
        &["CONFIG", "SET", "dir", "/tmp"],
        &["CONFIG", "SET", "dbfilename", "x.rdb"],
        &["CONFIG", "SET", "maxmemory", "1mb", "DBFILENAME", "x.rdb"],
        &["CONFIG", "GET", "maxmemory"],
        &["CONFIG", "SET", "enable-debug-command", "yes"],
    ];
    for resp3 in [false, true] {
        let t = common::same_replies_as_redis(cases, resp3);
        assert!(
            common::case(&t, r#"["DEBUG", "SLEEP", "0"]"#).contains("DEBUG command not allowed")
        );
        assert!(
            common::case(&t, r#"["CONFIG", "SET", "dir""#).contains("can't set protected config")
        );
    }
    // Inside MULTI the refusal aborts the transaction, as Redis's.
    let in_multi = |p: &Proc| {
        let tx = b"MULTI\r\nDEBUG SLEEP 0\r\nEXEC\r\n".to_vec();
        common::transcript(p, false, &[("MULTI".to_string(), tx)]).remove(0)
    };
    let tandem = in_multi(&Proc::tandem(&[]));
    assert_eq!(tandem, in_multi(&Proc::redis(&[])));
    assert!(tandem.contains("EXECABORT"), "{tandem}");
    let dir = tempfile::tempdir().expect("dir");
    let target = dir.path().to_str().expect("utf-8 path");
    for mode in ["local", "yes"] {
        let p = Proc::tandem(&[
            "--enable-debug-command",
            mode,
            "--enable-protected-configs",
            mode,
        ]);
        assert_eq!(p.cli_str(&["DEBUG", "SLEEP", "0"]), "OK");
        assert_eq!(p.cli_str(&["CONFIG", "SET", "dir", target]), "OK");
        assert_eq!(
            p.cli_str(&["CONFIG", "SET", "dbfilename", "moved.rdb"]),
            "OK"
        );
        assert_eq!(p.cli_str(&["SAVE"]), "OK");
        assert!(dir.path().join("moved.rdb").exists(), "{mode}");
        std::fs::remove_file(dir.path().join("moved.rdb")).expect("remove");
    }
}

/// Every container's HELP is Redis's, line for line.
#[test]
fn help_texts_are_redis() {
    let cases: &[&[&str]] = &[
        &["CLIENT", "HELP"],
        &["CONFIG", "HELP"],
        &["MEMORY", "HELP"],
        &["OBJECT", "HELP"],
        &["PUBSUB", "HELP"],
        &["SCRIPT", "HELP"],
        &["SLOWLOG", "HELP"],
        &["LATENCY", "HELP"],
        &["COMMAND", "HELP"],
        &["FUNCTION", "HELP"],
        &["ACL", "HELP"],
    ];
    for resp3 in [false, true] {
        let t = common::same_replies_as_redis(cases, resp3);
        assert!(
            common::case(&t, r#"["CONFIG", "HELP"]"#).contains("Rewrite the configuration file.")
        );
    }
}

/// With DEBUG enabled, the subcommands Tandem has answer as Redis's:
/// PROTOCOL's test values in RESP2 and RESP3, ERROR, LOG, SLEEP and
/// SET-ACTIVE-EXPIRE with Redis's lenient arguments, HELP, POPULATE (the keys
/// and values it makes, the sizes it pads or cuts to, the keys it skips),
/// OBJECT's encoding and length fields, the unknown ones.
#[test]
fn debug_subcommands_reply_as_redis_does() {
    let cases: &[&[&str]] = &[
        &["DEBUG", "HELP"],
        &["DEBUG", "POPULATE", "3"],
        &["SET", "p:1", "mine"],
        &["DEBUG", "POPULATE", "3", "p", "12"],
        &["DEBUG", "POPULATE", "2", "short", "3"],
        &["MGET", "key:0", "key:2", "p:0", "p:1", "p:2", "short:1"],
        &["DBSIZE"],
        &["DEBUG", "POPULATE", "-1"],
        &["DEBUG", "POPULATE", "x"],
        &["DEBUG", "POPULATE", "1", "a", "b"],
        &["DEBUG", "POPULATE", "1", "a", "0", "extra"],
        &["DEBUG", "OBJECT", "nokey"],
        &["DEBUG", "OBJECT"],
        &["DEBUG", "PROTOCOL", "string"],
        &["DEBUG", "PROTOCOL", "integer"],
        &["DEBUG", "PROTOCOL", "double"],
        &["DEBUG", "PROTOCOL", "bignum"],
        &["DEBUG", "PROTOCOL", "null"],
        &["DEBUG", "PROTOCOL", "array"],
        &["DEBUG", "PROTOCOL", "set"],
        &["DEBUG", "PROTOCOL", "map"],
        &["DEBUG", "PROTOCOL", "attrib"],
        &["DEBUG", "PROTOCOL", "push"],
        &["DEBUG", "PROTOCOL", "verbatim"],
        &["DEBUG", "PROTOCOL", "TRUE"],
        &["DEBUG", "PROTOCOL", "false"],
        &["DEBUG", "PROTOCOL", "nosuch"],
        &["DEBUG", "PROTOCOL"],
        &["DEBUG", "LOG", "hello"],
        &["DEBUG", "ERROR", "my error"],
        &["DEBUG", "ERROR", "-XX my error"],
        &["DEBUG", "NOSUCH"],
        &["DEBUG", "SLEEP", "x"],
        &["DEBUG", "SET-ACTIVE-EXPIRE", "x"],
        &["DEBUG", "SET-ACTIVE-EXPIRE", "1"],
    ];
    for resp3 in [false, true] {
        let t =
            common::same_replies_as_redis_with(cases, resp3, &["--enable-debug-command", "yes"]);
        assert!(common::case(&t, r#"["DEBUG", "PROTOCOL", "string"]"#).contains("Hello World"));
        assert!(common::case(&t, r#"["DBSIZE"]"#).contains(":8"));
    }
    // DEBUG OBJECT: the address and LRU clock differ by nature; the rest is
    // Redis's line.
    let t = common::Proc::tandem(&["--enable-debug-command", "yes"]);
    let r = common::Proc::redis(&["--enable-debug-command", "yes"]);
    for p in [&t, &r] {
        p.cli_str(&["SET", "s", "value:1"]);
    }
    let strip = |line: String| -> String {
        line.split(' ')
            .filter(|w| !w.starts_with("at:") && !w.starts_with("lru:"))
            .collect::<Vec<_>>()
            .join(" ")
    };
    assert_eq!(
        strip(t.cli_str(&["DEBUG", "OBJECT", "s"])),
        strip(r.cli_str(&["DEBUG", "OBJECT", "s"]))
    );
}

/// Settings whose values Redis checks or shows in its own form: the
/// keyspace-events flags (canonical order, `A` folded, bad characters
/// refused), octal `unixsocketperm`, integer-only `set-max-intset-entries`,
/// and the lists that take several words.
#[test]
fn setting_values_are_checked_and_shown_as_redis() {
    let cases: &[&[&str]] = &[
        &["CONFIG", "SET", "notify-keyspace-events", "KEA"],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &["CONFIG", "SET", "notify-keyspace-events", "Ex"],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &["CONFIG", "SET", "notify-keyspace-events", "Kgx$lshzxetmdn"],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &["CONFIG", "SET", "notify-keyspace-events", "Z"],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &["CONFIG", "SET", "notify-keyspace-events", ""],
        &["CONFIG", "GET", "notify-keyspace-events"],
        &["CONFIG", "GET", "unixsocketperm"],
        &["CONFIG", "SET", "set-max-intset-entries", "1kb"],
        &["CONFIG", "SET", "set-max-intset-entries", "1000"],
        &["CONFIG", "GET", "set-max-intset-entries"],
        &["CONFIG", "SET", "oom-score-adj-values", "0 100 800"],
        &["CONFIG", "GET", "oom-score-adj-values"],
    ];
    for resp3 in [false, true] {
        let t = common::same_replies_as_redis_with(cases, resp3, &["--unixsocketperm", "750"]);
        assert!(common::case(&t, r#"["CONFIG", "GET", "unixsocketperm"]"#).contains("750"));
        assert!(
            common::case(&t, r#"["CONFIG", "SET", "notify-keyspace-events", "Z"]"#)
                .contains("Invalid event class character")
        );
    }
}

/// `proto-max-bulk-len` bounds the strings APPEND, SETRANGE, SETBIT and
/// BITFIELD build and LCS's table, with Redis's errors.
#[test]
fn proto_max_bulk_len_bounds_built_strings() {
    let big = "x".repeat(600);
    let cases: &[&[&str]] = &[
        &["SETRANGE", "s", "1048570", "0123456789"],
        &["SETRANGE", "s", "1048566", "0123456789"],
        &["APPEND", "s", "x"],
        &["STRLEN", "s"],
        &["SETBIT", "b", "8388608", "1"],
        &["SETBIT", "b", "8388607", "1"],
        &["GETBIT", "b", "8388608"],
        &["BITFIELD", "f", "SET", "u8", "8388608", "1"],
        &["BITFIELD", "f", "SET", "u8", "8388600", "1"],
        &["SET", "l1", &big],
        &["SET", "l2", &big],
        &["LCS", "l1", "l2", "LEN"],
        &["SET", "l2", "xx"],
        &["LCS", "l1", "l2", "LEN"],
        &["CONFIG", "SET", "proto-max-bulk-len", "2mb"],
        &["APPEND", "s", "x"],
    ];
    for resp3 in [false, true] {
        let t = common::same_replies_as_redis_with(cases, resp3, &["--proto-max-bulk-len", "1mb"]);
        assert!(common::case(&t, r#"["SETRANGE", "s", "1048570""#).contains("proto-max-bulk-len"));
        assert!(common::case(&t, r#"["SETBIT", "b", "8388608""#).contains("out of range"));
    }
}

/// DEBUG DIGEST and DIGEST-VALUE give redis-server's digits for the same
/// data: every type, small and large encodings (listpack/intset against
/// hashtable/skiplist in Redis), integers kept as text, TTLs, several
/// databases, missing keys and the empty dataset.
#[test]
fn debug_digest_matches_redis() {
    let many = |prefix: &str, n: usize, with_values: bool| -> Vec<String> {
        (0..n)
            .flat_map(|i| {
                let mut v = vec![format!("{prefix}{i}")];
                if with_values {
                    v.push(format!("{}", i * 7));
                }
                v
            })
            .collect()
    };
    let zbig: Vec<String> = (0..200)
        .flat_map(|i| vec![format!("{}.25", i), format!("m{i}")])
        .collect();
    let hbig = many("f", 200, true);
    let sbig = many("", 600, false);
    let lbig = many("e", 300, false);
    let mut owned: Vec<Vec<String>> = vec![
        vec!["DEBUG".into(), "DIGEST".into()],
        vec!["SET".into(), "str".into(), "hello".into()],
        vec!["SET".into(), "int".into(), "12345".into()],
        vec![
            "SET".into(),
            "ttl".into(),
            "x".into(),
            "EX".into(),
            "1000".into(),
        ],
        vec![
            "RPUSH".into(),
            "l".into(),
            "a".into(),
            "7".into(),
            "b".into(),
        ],
        vec![
            "SADD".into(),
            "iset".into(),
            "3".into(),
            "1".into(),
            "2".into(),
        ],
        vec!["SADD".into(), "sset".into(), "x".into(), "y".into()],
        vec![
            "HSET".into(),
            "h".into(),
            "f".into(),
            "v".into(),
            "n".into(),
            "5".into(),
        ],
        vec![
            "ZADD".into(),
            "z".into(),
            "1.5".into(),
            "a".into(),
            "-2".into(),
            "b".into(),
            "0.1".into(),
            "c".into(),
        ],
        vec![
            "XADD".into(),
            "x".into(),
            "1-1".into(),
            "f".into(),
            "v".into(),
        ],
        vec![
            "XADD".into(),
            "x".into(),
            "2-5".into(),
            "f".into(),
            "w".into(),
            "g".into(),
            "1".into(),
        ],
        vec!["SELECT".into(), "5".into()],
        vec!["SET".into(), "str".into(), "in five".into()],
        vec!["SELECT".into(), "0".into()],
    ];
    let mut push = |cmd: &str, key: &str, rest: &[String]| {
        let mut v = vec![cmd.to_string(), key.to_string()];
        v.extend_from_slice(rest);
        owned.push(v);
    };
    push("ZADD", "zbig", &zbig);
    push("HSET", "hbig", &hbig);
    push("SADD", "sbig", &sbig);
    push("RPUSH", "lbig", &lbig);
    for tail in [
        vec![
            "DEBUG",
            "DIGEST-VALUE",
            "str",
            "int",
            "ttl",
            "l",
            "iset",
            "sset",
            "h",
            "z",
            "x",
            "nokey",
        ],
        vec!["DEBUG", "DIGEST-VALUE", "zbig", "hbig", "sbig", "lbig"],
        vec!["DEBUG", "DIGEST-VALUE"],
        vec!["DEBUG", "DIGEST"],
        vec!["DEBUG", "DIGEST", "extra"],
    ] {
        owned.push(tail.into_iter().map(String::from).collect());
    }
    let cases: Vec<Vec<&str>> = owned
        .iter()
        .map(|c| c.iter().map(String::as_str).collect())
        .collect();
    let cases: Vec<&[&str]> = cases.iter().map(Vec::as_slice).collect();
    for resp3 in [false, true] {
        let t =
            common::same_replies_as_redis_with(&cases, resp3, &["--enable-debug-command", "yes"]);
        assert!(common::case(&t, r#"["DEBUG", "DIGEST"]"#)
            .contains("0000000000000000000000000000000000000000"));
    }
}

/// A list setting given as one argument (`--save "3600 1 300 5"`, as Redis's
/// MULTI_ARG_CONFIG settings take it) is split at spaces.
#[test]
fn multi_word_settings_in_one_argument() {
    let cases: &[&[&str]] = &[
        &["CONFIG", "GET", "save"],
        &["CONFIG", "GET", "client-output-buffer-limit"],
        &["CONFIG", "GET", "oom-score-adj-values"],
    ];
    let t = common::same_replies_as_redis_with(
        cases,
        false,
        &[
            "--save",
            "3600 1 300 5",
            "--client-output-buffer-limit",
            "pubsub 64mb 16mb 90",
            "--oom-score-adj-values",
            "0 100 900",
        ],
    );
    assert!(common::case(&t, r#"["CONFIG", "GET", "save"]"#).contains("3600 1 300 5"));
}

/// The settings redis-server 7.0 has are all there: `CONFIG GET *` lists
/// every name Redis lists (aliases included; Tandem adds its own), a pattern
/// matches the same names (`slave*` finds the aliases), and each value is
/// Redis's default but for the few Tandem sets otherwise on purpose.
#[test]
fn config_get_lists_every_redis_setting() {
    let get = |p: &Proc, pat: &str| -> std::collections::BTreeMap<String, String> {
        let v: Vec<String> = redis::cmd("CONFIG")
            .arg("GET")
            .arg(pat)
            .query(&mut p.client())
            .expect("CONFIG GET");
        v.chunks(2).map(|c| (c[0].clone(), c[1].clone())).collect()
    };
    let t = Proc::tandem(&["--save", "", "--appendonly", "no"]);
    let r = Proc::redis(&[]);
    // Where the two differ by design or by the harness.
    let own = [
        "bind",
        "dir",
        "port",
        "hash-max-listpack-entries",
        "hash-max-ziplist-entries",
    ];
    let tandem_only = [
        "busy-poll",
        "fence-timeout",
        "min-sync-replicas",
        "rdb-key-save-delay",
        "replication-mode",
        "sync-fallback",
        "sync-timeout",
    ];
    for pat in [
        "*",
        "slave*",
        "active-defrag-*",
        "tls-*",
        "cluster-*",
        "*ziplist*",
        "acl-pubsub-default",
    ] {
        let (tm, rm) = (get(&t, pat), get(&r, pat));
        let names = |m: &std::collections::BTreeMap<String, String>| -> Vec<String> {
            m.keys()
                .filter(|k| !tandem_only.contains(&k.as_str()))
                .cloned()
                .collect()
        };
        assert_eq!(names(&tm), names(&rm), "names matching {pat}");
        for (k, v) in &rm {
            if !own.contains(&k.as_str()) {
                assert_eq!(tm.get(k), Some(v), "{k}");
            }
        }
    }
}

/// `acl-pubsub-default allchannels`: new users start with every channel, as
/// in Redis; `resetchannels` (the default) with none.
#[test]
fn acl_pubsub_default_sets_new_users_channels() {
    let cases: &[&[&str]] = &[
        &["ACL", "SETUSER", "a", "on"],
        &["ACL", "GETUSER", "a"],
        &["CONFIG", "SET", "acl-pubsub-default", "allchannels"],
        &["ACL", "SETUSER", "b", "on"],
        &["ACL", "GETUSER", "b"],
        &["ACL", "SETUSER", "a", "reset"],
        &["ACL", "LIST"],
        &["CONFIG", "SET", "acl-pubsub-default", "nosuch"],
        &["CONFIG", "GET", "acl-pubsub-default"],
    ];
    let t = common::same_replies_as_redis(cases, false);
    assert!(common::case(&t, r#"["ACL", "LIST"]"#).contains("user b on &* -@all"));
}

/// TLS is not built in: a TLS port (or TLS replication) stops the start with
/// a clear message instead of leaving the port silently closed.
#[test]
fn tls_settings_that_need_tls_are_refused() {
    for args in [["--tls-port", "6390"], ["--tls-replication", "yes"]] {
        let err = refused_at_start(&args);
        assert!(err.contains("TLS is not supported"), "{err}");
    }
}

/// Starts `tandem server` with `args` on a free port and a fresh folder,
/// expecting it to refuse to start (exit status 1): its stderr.
fn refused_at_start(args: &[&str]) -> String {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(common::tandem_bin())
        .args([
            "server",
            "--port",
            &common::free_port().to_string(),
            "--dir",
        ])
        .arg(dir.path())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run tandem");
    assert_eq!(out.status.code(), Some(1), "{args:?}");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every field redis-server 7.0 prints in `INFO everything` is in Tandem's,
/// section by section (the per-command and per-database sections depend on
/// what ran and are checked elsewhere).
#[test]
fn info_has_every_redis_field() {
    let fields = |p: &Proc| -> std::collections::BTreeMap<String, Vec<String>> {
        let mut out: std::collections::BTreeMap<String, Vec<String>> = Default::default();
        let mut section = String::new();
        for l in p.cli_str(&["INFO", "everything"]).lines() {
            let l = l.trim_end();
            if let Some(s) = l.strip_prefix("# ") {
                section = s.to_string();
            } else if let Some((k, _)) = l.split_once(':') {
                out.entry(section.clone()).or_default().push(k.to_string());
            }
        }
        out
    };
    let (t, r) = (fields(&Proc::tandem(&[])), fields(&Proc::redis(&[])));
    for (section, names) in &r {
        if ["Commandstats", "Errorstats", "Latencystats", "Keyspace"].contains(&section.as_str()) {
            continue;
        }
        let ours = t.get(section).cloned().unwrap_or_default();
        let missing: Vec<&String> = names.iter().filter(|n| !ours.contains(n)).collect();
        assert!(missing.is_empty(), "# {section}: missing {missing:?}");
    }
}

/// CONFIG SET port and bind move the listener at runtime, as Redis 7.0's: the
/// new address answers, the old one no longer does, a port already taken or
/// an address that cannot be bound is refused with Redis's error and nothing
/// changes. Compared with redis-server step by step.
#[test]
fn config_set_port_and_bind_move_the_listener() {
    let cli = |port: u16, args: &[&str]| -> String {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    };
    let mut seen = Vec::new();
    for kind in [common::Kind::Tandem, common::Kind::Redis] {
        let p = Proc::start(kind, &[]);
        let taken = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let taken_port = taken.local_addr().expect("addr").port();
        let new_port = common::free_port();
        let mut out = vec![
            cli(p.port, &["CONFIG", "SET", "port", &taken_port.to_string()]),
            cli(p.port, &["PING"]),
            cli(p.port, &["CONFIG", "SET", "port", &new_port.to_string()]),
            cli(new_port, &["PING"]),
            cli(p.port, &["PING"]),
            cli(new_port, &["CONFIG", "SET", "bind", "192.0.2.1"]),
            cli(new_port, &["CONFIG", "SET", "bind", "127.0.0.1"]),
            cli(new_port, &["PING"]),
            cli(new_port, &["CONFIG", "GET", "bind"]),
        ];
        for o in out.iter_mut() {
            *o = o.replace(&new_port.to_string(), "NEW");
        }
        cli(new_port, &["SHUTDOWN", "NOSAVE"]);
        seen.push(out);
    }
    assert_eq!(seen[0], seen[1], "Tandem (left) and redis-server");
    assert!(
        seen[0][0].contains("Unable to listen on this port"),
        "{:?}",
        seen[0]
    );
    assert_eq!(seen[0][3], "PONG");
    assert_eq!(seen[0][4], "", "the old port still answers");
}

/// `rename-command` (hardened configs disable or hide commands): a renamed
/// command answers to its new name only, `""` disables it, and a bad rename
/// stops the start with Redis's reason.
#[test]
fn rename_command_renames_and_disables() {
    let cases: &[&[&str]] = &[
        &["CONFIG", "GET", "port"],
        &["FLUSHALL"],
        &["SET", "k", "v"],
        &["MYFLUSH"],
        &["GET", "k"],
        &["myflush", "ASYNC"],
    ];
    let t = common::same_replies_as_redis_with(
        cases,
        false,
        &[
            "--rename-command",
            "CONFIG",
            "",
            "--rename-command",
            "FLUSHALL",
            "MYFLUSH",
        ],
    );
    assert!(common::case(&t, r#"["CONFIG", "GET", "port"]"#).contains("unknown command"));
    assert!(common::case(&t, r#"["MYFLUSH"]"#).contains("+OK"));
    for (args, reason) in [
        (
            ["--rename-command", "NOSUCH", "x"],
            "No such command in rename-command",
        ),
        (
            ["--rename-command", "GET", "SET"],
            "Target command name already exists",
        ),
    ] {
        let err = refused_at_start(&args);
        assert!(err.contains(reason), "{err}");
    }
}
