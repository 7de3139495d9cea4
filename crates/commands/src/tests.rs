//! Unit tests over the generated table: shape, lookup, Redis facts (arity, key
//! positions, flags as redis-server 7.0.15 reports them), Tandem's own flags
//! and commands, and key extraction.

use super::*;

fn spec(name: &str) -> &'static CommandSpec {
    lookup(name.as_bytes()).unwrap_or_else(|| panic!("{name} missing"))
}

fn sub(parent: &str, name: &str) -> &'static CommandSpec {
    spec(parent)
        .subcommand(name.as_bytes())
        .unwrap_or_else(|| panic!("{parent}|{name} missing"))
}

fn keys(args: &[&str]) -> Vec<usize> {
    let spec = lookup_args(args).unwrap_or_else(|| panic!("{args:?} unknown"));
    spec.get_keys(args)
}

#[test]
fn table_sorted_unique_and_ids_dense() {
    let cmds = all();
    assert!(cmds.len() > 190, "{}", cmds.len());
    for w in cmds.windows(2) {
        assert!(w[0].name < w[1].name, "{} !< {}", w[0].name, w[1].name);
    }
    let mut seen = std::collections::HashSet::new();
    let mut count = 0;
    for c in all_with_subcommands() {
        assert_eq!(by_id(c.id).map(|s| s.full_name), Some(c.full_name));
        assert_eq!(index(c), count);
        assert!(seen.insert(c.full_name), "duplicate {}", c.full_name);
        count += 1;
    }
    assert_eq!(count, ID_COUNT);
    assert!(by_id(ID_COUNT as u16).is_none());
    for (i, c) in cmds.iter().enumerate() {
        assert_eq!(c.id as usize, i);
        assert_eq!(c.name, c.full_name);
        for w in c.subcommands.windows(2) {
            assert!(w[0].name < w[1].name);
        }
        for s in c.subcommands {
            assert_eq!(s.full_name, format!("{}|{}", c.name, s.name));
            assert!(s.subcommands.is_empty());
        }
    }
}

#[test]
fn names_are_lowercase_and_fit() {
    for c in all_with_subcommands() {
        assert!(c.name.len() <= MAX_NAME_LEN);
        assert!(!c.name.is_empty());
        assert_eq!(c.name, c.name.to_ascii_lowercase());
    }
}

#[test]
fn lookup_is_case_insensitive_and_exact() {
    for c in all() {
        let upper = c.name.to_ascii_uppercase();
        assert!(std::ptr::eq(lookup(c.name.as_bytes()).unwrap(), c));
        assert!(std::ptr::eq(lookup(upper.as_bytes()).unwrap(), c));
        // A prefix or an extension of a name is not that command.
        let longer = format!("{}x", c.name);
        assert!(lookup(longer.as_bytes()).is_none_or(|s| s.name == longer));
    }
    assert_eq!(spec("GeT").name, "get");
    assert_eq!(spec("zRangeByScore").name, "zrangebyscore");
    assert!(lookup(b"").is_none());
    assert!(lookup(b"ge").is_none());
    assert!(lookup(b"nosuchcommand").is_none());
    assert!(lookup(b"get\0").is_none());
    assert!(lookup("gét".as_bytes()).is_none());
    assert!(lookup(&[b'a'; 1000]).is_none());
    assert!(lookup(&[0xff; 33]).is_none());
}

#[test]
fn implemented_commands_exist() {
    let names = "get set setnx setex psetex getset getdel getex mget mset msetnx append \
        strlen incr incrby incrbyfloat decr decrby getrange setrange substr lcs \
        del unlink exists type rename renamenx expire pexpire expireat pexpireat \
        expiretime pexpiretime ttl pttl persist keys scan randomkey dbsize touch \
        copy move object dump restore select swapdb flushdb flushall wait \
        lpush rpush lpushx rpushx lpop rpop llen lrange lindex lset linsert lrem \
        ltrim lpos lmove blmove rpoplpush brpoplpush blpop brpop lmpop blmpop \
        hset hsetnx hmset hget hmget hdel hlen hstrlen hexists hkeys hvals \
        hgetall hincrby hincrbyfloat hrandfield hscan \
        sadd srem smembers sismember smismember scard spop srandmember smove \
        sinter sinterstore sintercard sunion sunionstore sdiff sdiffstore sscan \
        zadd zincrby zrem zcard zcount zlexcount zscore zmscore zrank zrevrank \
        zrange zrangestore zrevrange zrangebyscore zrevrangebyscore zrangebylex \
        zrevrangebylex zremrangebyrank zremrangebyscore zremrangebylex zpopmin \
        zpopmax bzpopmin bzpopmax zmpop bzmpop zrandmember zunion zinter zdiff \
        zunionstore zinterstore zdiffstore zintercard zscan \
        setbit getbit bitcount bitpos bitop bitfield bitfield_ro \
        pfadd pfcount pfmerge pfdebug pfselftest \
        subscribe unsubscribe psubscribe punsubscribe publish pubsub \
        ssubscribe sunsubscribe spublish \
        multi exec discard watch unwatch \
        ping echo quit hello auth reset client \
        config info command time lastsave save bgsave bgrewriteaof shutdown \
        debug monitor slowlog latency memory role replicaof slaveof psync sync \
        replconf failover lolwut \
        sort sort_ro geoadd geopos geodist geohash georadius georadius_ro \
        georadiusbymember georadiusbymember_ro geosearch geosearchstore \
        tandem";
    for n in names.split_whitespace() {
        assert!(lookup(n.as_bytes()).is_some(), "{n} missing");
    }
}

#[test]
fn scripting_commands_are_present() {
    for n in [
        "eval",
        "evalsha",
        "eval_ro",
        "evalsha_ro",
        "script",
        "fcall",
        "fcall_ro",
        "function",
    ] {
        assert!(lookup(n.as_bytes()).is_some(), "{n} missing");
    }
    assert!(lookup(b"eval_ro").is_some_and(|s| s.is_readonly() && s.is_idempotent()));
    assert!(lookup(b"eval").is_some_and(|s| !s.is_readonly() && !s.is_idempotent()));
    assert!(lookup(b"fcall_ro").is_some_and(|s| s.is_readonly() && s.is_idempotent()));
    assert!(lookup(b"fcall").is_some_and(|s| !s.is_readonly() && !s.is_idempotent()));
}

#[test]
fn cluster_and_module_commands_are_listed() {
    // Served as a redis-server without cluster mode or modules serves them.
    for n in [
        "cluster",
        "asking",
        "readonly",
        "readwrite",
        "module",
        "restore-asking",
    ] {
        assert!(lookup(n.as_bytes()).is_some(), "{n} missing");
    }
}

#[test]
fn stream_commands_are_present() {
    for n in [
        "xadd",
        "xread",
        "xreadgroup",
        "xgroup",
        "xinfo",
        "xautoclaim",
    ] {
        assert!(lookup(n.as_bytes()).is_some(), "{n} absent");
    }
    assert!(spec("xread").has(crate::flags::BLOCKING));
    assert!(spec("xack").is_idempotent());
}

#[test]
fn arity_matches_redis() {
    for (n, a) in [
        ("get", 2),
        ("set", -3),
        ("client", -2),
        ("hello", -1),
        ("ping", -1),
        ("mset", -3),
        ("del", -2),
        ("zunionstore", -4),
        ("blpop", -3),
        ("multi", 1),
        ("config", -2),
        ("object", -2),
        ("debug", -2),
        ("tandem", -2),
    ] {
        assert_eq!(spec(n).arity, a, "{n}");
    }
    assert_eq!(sub("client", "getname").arity, 2);
    assert_eq!(sub("client", "setname").arity, 3);
    assert_eq!(sub("config", "get").arity, -3);
    assert_eq!(sub("object", "encoding").arity, 3);
    assert!(spec("get").arity_ok(2));
    assert!(!spec("get").arity_ok(3));
    assert!(!spec("set").arity_ok(2));
    assert!(spec("set").arity_ok(7));
}

#[test]
fn legacy_key_positions() {
    let mset = spec("mset");
    assert_eq!((mset.first_key, mset.last_key, mset.step), (1, -1, 2));
    assert_eq!(mset.key_positions(5).collect::<Vec<_>>(), [1, 3]);
    let get = spec("get");
    assert_eq!((get.first_key, get.last_key, get.step), (1, 1, 1));
    let ping = spec("ping");
    assert_eq!(ping.key_positions(2).count(), 0);
    let blpop = spec("blpop");
    assert_eq!((blpop.first_key, blpop.last_key, blpop.step), (1, -2, 1));
    assert_eq!(blpop.key_positions(4).collect::<Vec<_>>(), [1, 2]);
}

#[test]
fn get_keys_simple_and_movable() {
    assert_eq!(
        keys(&["ZUNIONSTORE", "dest", "2", "k1", "k2", "WEIGHTS", "1", "2"]),
        [1, 3, 4]
    );
    assert_eq!(keys(&["zinterstore", "d", "1", "k"]), [1, 3]);
    assert_eq!(keys(&["zdiffstore", "d", "2", "a", "b"]), [1, 3, 4]);
    assert_eq!(keys(&["zunion", "2", "a", "b", "WITHSCORES"]), [2, 3]);
    assert_eq!(keys(&["zinter", "1", "a"]), [2]);
    assert_eq!(keys(&["zdiff", "2", "a", "b"]), [2, 3]);
    assert_eq!(keys(&["zintercard", "2", "a", "b", "LIMIT", "5"]), [2, 3]);
    assert_eq!(keys(&["sintercard", "1", "a", "LIMIT", "5"]), [2]);
    assert_eq!(keys(&["lmpop", "2", "a", "b", "LEFT"]), [2, 3]);
    assert_eq!(keys(&["blmpop", "0", "2", "a", "b", "LEFT"]), [3, 4]);
    assert_eq!(keys(&["zmpop", "1", "a", "MIN"]), [2]);
    assert_eq!(
        keys(&["bzmpop", "1.5", "2", "a", "b", "MAX", "COUNT", "3"]),
        [3, 4]
    );
    assert_eq!(keys(&["mset", "a", "1", "b", "2", "c"]), [1, 3, 5]);
    assert_eq!(keys(&["mget", "a", "b", "c"]), [1, 2, 3]);
    assert_eq!(keys(&["get", "a"]), [1]);
    assert_eq!(keys(&["set", "k", "v", "GET"]), [1]);
    assert_eq!(keys(&["blpop", "a", "b", "0"]), [1, 2]);
    assert_eq!(keys(&["lmove", "a", "b", "LEFT", "RIGHT"]), [1, 2]);
    assert_eq!(keys(&["object", "encoding", "k"]), [2]);
    assert_eq!(keys(&["memory", "usage", "k", "SAMPLES", "5"]), [2]);
    assert!(keys(&["ping"]).is_empty());
    assert!(keys(&["ssubscribe", "a", "b"]).is_empty());
    assert!(keys(&["spublish", "a", "b"]).is_empty());
}

#[test]
fn get_keys_rejects_bad_numkeys() {
    for args in [
        &["zunionstore", "d", "0", "a"][..],
        &["zunionstore", "d", "3", "a", "b"],
        &["zunionstore", "d", "x", "a"],
        &["zunionstore", "d", "-1", "a"],
        &["zunionstore", "d", "9223372036854775807", "a"],
        &["zunionstore", "d", "99999999999999999999", "a"],
        &["zunion", "2", "a"],
        &["lmpop", "0", "a", "LEFT"],
        &["blmpop", "0", "x", "a", "LEFT"],
        &["sintercard", "01", "a"],
    ] {
        assert!(keys(args).is_empty(), "{args:?}");
    }
    // Too few arguments to reach numkeys at all: no panic, no keys.
    assert!(spec("zunionstore")
        .get_keys(&["zunionstore", "d"])
        .is_empty());
    assert!(spec("blmpop").get_keys(&["blmpop"]).is_empty());
    assert!(spec("mset").get_keys(&[] as &[&str]).is_empty());
}

#[test]
fn key_specs_agree_with_legacy_positions() {
    // For every command without movable keys, the key specs and the legacy
    // (first, last, step) triple name the same arguments.
    for c in all_with_subcommands() {
        if c.has(MOVABLE_KEYS) || c.key_specs.iter().any(|k| k.flags.contains(&"not_key")) {
            continue;
        }
        let min = c.arity.unsigned_abs() as usize;
        for argc in [min, min + 1, min + 2, min + 5] {
            let args: Vec<String> = (0..argc).map(|i| format!("a{i}")).collect();
            let legacy: Vec<usize> = c.key_positions(argc).collect();
            let mut from_specs = c.get_keys(&args);
            from_specs.sort_unstable();
            assert_eq!(legacy, from_specs, "{} argc={argc}", c.full_name);
        }
    }
}

#[test]
fn arg_key_spec_indexes_are_valid() {
    fn walk(c: &CommandSpec, args: &[ArgSpec]) {
        for a in args {
            if a.kind == "key" {
                assert!(
                    (0..c.key_specs.len() as i32).contains(&a.key_spec_index),
                    "{} {}",
                    c.full_name,
                    a.name
                );
            }
            assert_eq!(a.args.is_empty(), !matches!(a.kind, "oneof" | "block"));
            walk(c, a.args);
        }
    }
    for c in all_with_subcommands() {
        walk(c, c.args);
    }
}

#[test]
fn redis_flags() {
    let names = |c: &CommandSpec| c.flag_names().collect::<Vec<_>>();
    assert_eq!(names(spec("set")), ["write", "denyoom"]);
    assert_eq!(names(spec("get")), ["readonly", "fast"]);
    assert_eq!(names(spec("blpop")), ["write", "noscript", "blocking"]);
    assert_eq!(
        names(spec("publish")),
        ["pubsub", "loading", "stale", "fast"]
    );
    assert_eq!(
        names(spec("shutdown")),
        [
            "admin",
            "noscript",
            "loading",
            "stale",
            "no_multi",
            "allow_busy"
        ]
    );
    assert_eq!(names(spec("zunion")), ["readonly", "movablekeys"]);
    assert_eq!(
        names(spec("auth")),
        [
            "noscript",
            "loading",
            "stale",
            "fast",
            "no_auth",
            "allow_busy"
        ]
    );
    assert!(names(spec("client")).is_empty());
    assert!(spec("publish").has(MAY_REPLICATE));
    assert!(spec("set").is_write() && !spec("set").is_readonly());
    assert!(spec("get").is_readonly() && !spec("get").is_write());
    assert!(spec("blmove").is_blocking());
    assert!(!spec("lmove").is_blocking());
    assert_eq!(spec("set").group, "string");
    assert_eq!(spec("zadd").group, "sorted-set");
    assert_eq!(spec("get").since, "1.0.0");
    assert_eq!(spec("get").acl_categories, ["@read", "@string", "@fast"]);
    assert_eq!(
        spec("keys").tips,
        ["request_policy:all_shards", "nondeterministic_output_order"]
    );
}

#[test]
fn tandem_idempotent_flags() {
    for n in [
        "set",
        "setex",
        "psetex",
        "mset",
        "del",
        "unlink",
        "hset",
        "hmset",
        "hdel",
        "sadd",
        "srem",
        "zadd",
        "zrem",
        "expireat",
        "pexpireat",
        "persist",
        "setrange",
        "flushdb",
        "flushall",
        "select",
        "get",
        "mget",
        "zrange",
        "ping",
        "info",
    ] {
        assert!(spec(n).is_idempotent(), "{n} should be idempotent");
    }
    for n in [
        "incr",
        "incrby",
        "decr",
        "incrbyfloat",
        "append",
        "lpush",
        "rpush",
        "lpop",
        "spop",
        "rename",
        "expire",
        "pexpire",
        "hsetnx",
        "setnx",
        "msetnx",
        "getset",
        "getdel",
        "hincrby",
        "zincrby",
        "blpop",
        "publish",
        "swapdb",
        "smove",
        "copy",
        "restore",
        "zunionstore",
        "ltrim",
        "multi",
        "exec",
        "subscribe",
    ] {
        assert!(!spec(n).is_idempotent(), "{n} should not be idempotent");
    }
    // Reads of the connection's own state mean nothing on a new connection.
    assert!(!sub("client", "id").is_idempotent());
    assert!(!sub("client", "getname").is_idempotent());
    assert!(sub("client", "setname").is_idempotent());
    // CONFIG SET is admin, not a write, and sets absolute state.
    assert!(!sub("config", "set").is_write() && sub("config", "set").is_idempotent());
}

#[test]
fn tandem_stateful_flags() {
    for n in [
        "select",
        "multi",
        "exec",
        "discard",
        "watch",
        "unwatch",
        "subscribe",
        "psubscribe",
        "unsubscribe",
        "punsubscribe",
        "ssubscribe",
        "hello",
        "auth",
        "reset",
        "monitor",
        "blpop",
        "brpop",
        "blmove",
        "brpoplpush",
        "blmpop",
        "bzpopmin",
        "bzpopmax",
        "bzmpop",
    ] {
        assert!(spec(n).is_stateful(), "{n} should be stateful");
    }
    for n in ["get", "set", "ping", "client", "publish", "lmpop"] {
        assert!(!spec(n).is_stateful(), "{n} should not be stateful");
    }
    for s in ["reply", "setname", "tracking", "caching", "id", "getname"] {
        assert!(sub("client", s).is_stateful(), "client|{s}");
    }
    for s in ["list", "kill", "pause"] {
        assert!(!sub("client", s).is_stateful(), "client|{s}");
    }
    for c in all_with_subcommands() {
        if c.is_blocking() {
            assert!(c.is_stateful() && !c.is_idempotent(), "{}", c.full_name);
        }
    }
}

#[test]
fn tandem_commands() {
    let t = spec("TANDEM");
    assert_eq!(t.group, "tandem");
    assert_eq!(t.since, "0.1.0");
    let names: Vec<_> = t.subcommands.iter().map(|s| s.name).collect();
    assert_eq!(names, ["epoch", "fence", "help", "link", "linkpos", "role"]);
    // The proxy's link bookkeeping: one tag each.
    assert_eq!(sub("tandem", "link").arity, 3);
    assert!(sub("tandem", "linkpos").is_readonly());
    let epoch = sub("tandem", "EPOCH");
    assert_eq!(epoch.arity, -2);
    assert_eq!(epoch.full_name, "tandem|epoch");
    assert_eq!(
        epoch.flag_names().collect::<Vec<_>>(),
        ["admin", "loading", "stale", "fast"]
    );
    let fence = sub("tandem", "fence");
    assert_eq!(fence.arity, -3);
    assert!(fence.has(ADMIN) && fence.has(STALE) && !fence.has(FAST));
    assert_eq!(fence.args.len(), 2);
    assert_eq!(fence.args[1].kind, "block");
    assert!(fence.args[1].optional);
    let role = sub("tandem", "role");
    assert_eq!(role.arity, 2);
    assert!(role.is_readonly() && role.has(STALE) && role.has(FAST));
    assert!(!t.summary.is_empty() && !epoch.summary.is_empty());
}

#[test]
fn docs_are_present() {
    let set = spec("set");
    assert_eq!(set.summary, "Set the string value of a key");
    assert_eq!(set.complexity, "O(1)");
    assert!(set.history.iter().any(|(v, _)| *v == "6.2.0"));
    let arg_names: Vec<_> = set.args.iter().map(|a| a.name).collect();
    assert_eq!(
        arg_names,
        ["key", "value", "condition", "get", "expiration"]
    );
    let cond = &set.args[2];
    assert_eq!(
        (cond.kind, cond.optional, cond.since),
        ("oneof", true, "2.6.12")
    );
    assert_eq!(cond.args[0].token, Some("NX"));
    assert_eq!(cond.args[0].kind, "pure-token");
    let z = spec("zunionstore");
    assert_eq!(z.args[2].name, "key");
    assert!(z.args[2].multiple);
    assert_eq!(z.args[3].token, Some("WEIGHTS"));
    let slaveof = spec("slaveof");
    assert_eq!(slaveof.doc_flags, ["deprecated"]);
    assert_eq!(slaveof.deprecated_since, "5.0.0");
    assert_eq!(slaveof.replaced_by, "`REPLICAOF`");
    for c in all_with_subcommands() {
        assert!(!c.summary.is_empty(), "{}", c.full_name);
        assert!(!c.since.is_empty(), "{}", c.full_name);
        assert!(!c.group.is_empty(), "{}", c.full_name);
    }
}

#[test]
fn lookup_args_resolves_subcommands() {
    assert_eq!(
        lookup_args(&["client", "GETNAME"]).map(|s| s.full_name),
        Some("client|getname")
    );
    assert_eq!(
        lookup_args(&["CONFIG", "get", "x"]).map(|s| s.full_name),
        Some("config|get")
    );
    assert_eq!(
        lookup_args(&["client"]).map(|s| s.full_name),
        Some("client")
    );
    assert_eq!(
        lookup_args(&["client", "nope"]).map(|s| s.full_name),
        Some("client")
    );
    assert_eq!(
        lookup_args(&["get", "getname"]).map(|s| s.full_name),
        Some("get")
    );
    assert!(lookup_args(&[] as &[&[u8]]).is_none());
    assert!(lookup_args(&["nosuch", "x"]).is_none());
}

#[test]
fn get_keys_and_flags_resolve_variable_flags() {
    let kf = |args: &[&str]| lookup_args(args).unwrap().get_keys_and_flags(args);
    assert_eq!(kf(&["set", "a", "b"]), [(1, &["OW", "update"][..])]);
    assert_eq!(
        kf(&["SET", "a", "b", "ex", "10", "GeT"]),
        [(1, &["RW", "access", "update"][..])]
    );
    // The value "get" is not the GET option.
    assert_eq!(kf(&["set", "a", "get"]), [(1, &["OW", "update"][..])]);
    assert_eq!(
        kf(&["bitfield", "k", "GET", "u8", "0"]),
        [(1, &["RO", "access"][..])]
    );
    assert_eq!(
        kf(&["bitfield", "k", "overflow", "sat"]),
        [(1, &["RO", "access"][..])]
    );
    assert_eq!(kf(&["bitfield", "k"]), [(1, &["RO", "access"][..])]);
    let rw = &["RW", "access", "update"][..];
    assert_eq!(
        kf(&["bitfield", "k", "get", "u8", "0", "set", "u8", "0", "1"]),
        [(1, rw)]
    );
    assert_eq!(kf(&["bitfield", "k", "incrby", "u8", "0", "1"]), [(1, rw)]);
    assert_eq!(kf(&["bitfield", "k", "get", "u8"]), [(1, rw)]);
    assert_eq!(
        kf(&["zunionstore", "d", "2", "a", "b"]),
        [
            (1, &["OW", "update"][..]),
            (3, &["RO", "access"][..]),
            (4, &["RO", "access"][..])
        ]
    );
    assert_eq!(
        kf(&["lmove", "a", "b", "left", "right"]),
        [
            (1, &["RW", "access", "delete"][..]),
            (2, &["RW", "insert"][..])
        ]
    );
    // Only SET and BITFIELD have argument-dependent flags.
    for c in all_with_subcommands() {
        if c.key_specs
            .iter()
            .any(|k| k.flags.contains(&"variable_flags"))
        {
            assert!(matches!(c.full_name, "set" | "bitfield"), "{}", c.full_name);
        }
    }
}
