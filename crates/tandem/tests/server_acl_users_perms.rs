//! What an ACL user may do, against a real redis-server 7.0 reply for reply
//! in RESP2 and RESP3: commands, subcommands, first arguments and categories;
//! key patterns by mode (`~`, `%R~`, `%W~`, `%RW~`) on one-key and many-key
//! commands; channel patterns for PUBLISH/SUBSCRIBE/PSUBSCRIBE (and the
//! subscribers a channel change disconnects); MULTI (refused at queue time,
//! then EXECABORT; rules re-checked at EXEC); EVAL's redis.call/pcall and
//! redis.acl_check_cmd; ACL LOG of every kind of denial; CLIENT LIST's
//! `user=` and CLIENT KILL USER.
//!
//! The users themselves (SETUSER, GETUSER, AUTH, ...): server_acl_users.rs.
//! The scripts and the comparison: acl/support.rs.

#[path = "acl/support.rs"]
mod acl;
mod common;
#[path = "stream/support.rs"]
mod support;

use acl::{same_as_redis, shows, Run};

/// Commands, subcommands, first arguments and categories for a restricted
/// user, changed live by another connection; the order of Redis's checks
/// (unknown command and arity before permissions); AUTH and HELLO always
/// allowed.
fn commands(r: &mut Run) {
    r.call(
        "admin",
        &[
            "ACL",
            "SETUSER",
            "r",
            "on",
            ">pw",
            "~*",
            "&*",
            "-@all",
            "+@hash",
            "-hdel",
            "+config|get",
            "+client|list",
            "+select|1",
            "+acl|whoami",
            "+ping",
        ],
    );
    r.calls(
        "u",
        &[
            &["AUTH", "r", "pw"],
            &["ACL", "WHOAMI"],
            &["PING"],
            &["HSET", "h", "f", "v"],
            &["HGET", "h", "f"],
            &["HDEL", "h", "f"],
            &["GET", "k"],
            &["set", "k", "v"],
            &["CONFIG", "GET", "maxmemory"],
            &["config", "set", "maxmemory", "0"],
            &["CONFIG", "RESETSTAT"],
            &["CONFIG", "NOSUCH"],
            &["CONFIG"],
            &["NOSUCHCMD", "x"],
            &["GET"],
            &["HGET", "h"],
            &["SELECT", "1"],
            &["SELECT", "0"],
            &["CLIENT", "GETNAME"],
            &["ACL", "LIST"],
            &["ACL", "SETUSER", "r", "+@all"],
            &["ACL"],
            &["ECHO", "x"],
            &["FLUSHALL"],
            &["HELLO", "2"],
            &["AUTH", "r", "pw"],
            &["ACL", "WHOAMI"],
        ],
    );
    r.call("admin", &["ACL", "SETUSER", "r", "+get", "-@hash", "+hget"]);
    r.calls(
        "u",
        &[
            &["GET", "k"],
            &["HGET", "h", "f"],
            &["HSET", "h", "f", "v"],
            &["HLEN", "h"],
        ],
    );
    r.call(
        "admin",
        &["ACL", "SETUSER", "r", "+@all", "-@dangerous", "-@admin"],
    );
    r.calls(
        "u",
        &[
            &["SET", "k", "v"],
            &["FLUSHALL"],
            &["KEYS", "*"],
            &["CONFIG", "GET", "maxmemory"],
            &["SELECT", "0"],
            &["CLIENT", "GETNAME"],
            &["ACL", "WHOAMI"],
            &["ACL", "LIST"],
        ],
    );
    r.call(
        "admin",
        &[
            "ACL",
            "SETUSER",
            "r",
            "nocommands",
            "+client|setname",
            "+client|getname",
        ],
    );
    r.calls(
        "u",
        &[
            &["CLIENT", "SETNAME", "n"],
            &["CLIENT", "GETNAME"],
            &["CLIENT", "INFO"],
            &["GET", "k"],
        ],
    );
}

#[test]
fn commands_subcommands_and_categories_as_redis_allows() {
    let [t, _] = same_as_redis(&[], commands);
    shows(
        &t,
        r#"u: ["HDEL", "h", "f"]"#,
        "-NOPERM this user has no permissions to run the 'hdel' command",
    );
    shows(&t, r#"u: ["config", "set""#, "'config|set' command");
    shows(&t, r#"u: ["CONFIG", "GET", "maxmemory"]"#, "maxmemory");
}

/// Key patterns by mode: `%R~` reads only, `%W~` writes only, `~` both;
/// commands with several keys (each key checked for its own access),
/// SORT's BY pattern, EVAL's declared keys, and changes made live.
fn keys(r: &mut Run) {
    r.call(
        "admin",
        &[
            "ACL",
            "SETUSER",
            "k",
            "on",
            "nopass",
            "%R~r:*",
            "%W~w:*",
            "~rw:*",
            "+@all",
            "-@dangerous",
            "+sort",
            "+sort_ro",
        ],
    );
    r.calls(
        "admin",
        &[
            &["SET", "r:1", "one"],
            &["RPUSH", "r:l", "3", "1", "2"],
            &["SADD", "r:a", "x", "y"],
            &["SADD", "r:b", "y"],
        ],
    );
    r.calls(
        "u",
        &[
            &["AUTH", "k", "x"],
            &["GET", "r:1"],
            &["SET", "r:1", "x"],
            &["SET", "w:1", "x"],
            &["GET", "w:1"],
            &["APPEND", "w:1", "y"],
            &["INCR", "w:n"],
            &["SET", "rw:1", "x"],
            &["GET", "rw:1"],
            &["GETSET", "rw:1", "y"],
            &["GETSET", "w:1", "y"],
            &["GET", "other"],
            &["SET", "other", "x"],
            &["EXISTS", "r:1", "w:1"],
            &["EXISTS", "r:1", "rw:1"],
            &["TYPE", "w:1"],
            &["STRLEN", "w:1"],
            &["TTL", "r:1"],
            &["DEL", "r:1"],
            &["DEL", "w:x"],
            &["EXPIRE", "w:1", "100"],
            &["MSET", "w:1", "a", "w:2", "b"],
            &["MSET", "w:1", "a", "r:2", "b"],
            &["MGET", "r:1", "rw:1"],
            &["MGET", "r:1", "w:1"],
            &["COPY", "r:1", "w:c"],
            &["COPY", "w:1", "r:c"],
            &["RENAME", "w:1", "w:3"],
            &["RENAME", "rw:1", "rw:2"],
            &["LMOVE", "r:l", "w:l", "LEFT", "RIGHT"],
            &["LRANGE", "r:l", "0", "-1"],
            &["SINTERSTORE", "w:d", "r:a", "r:b"],
            &["SINTERSTORE", "r:d", "r:a", "r:b"],
            &["SORT", "r:l"],
            &["SORT", "r:l", "BY", "w:*"],
            &["SORT", "r:l", "GET", "#"],
            &["SORT", "r:l", "STORE", "w:s"],
            &["SORT_RO", "r:l", "BY", "nosort"],
            &["EVAL", "return 1", "1", "r:1"],
            &["EVAL", "return 1", "1", "rw:1"],
            &["EVAL", "return 1", "1", "w:1"],
            &["KEYS", "*"],
            &["DBSIZE"],
        ],
    );
    r.call("admin", &["ACL", "SETUSER", "k", "resetkeys", "%R~rw:*"]);
    r.calls(
        "u",
        &[&["GET", "r:1"], &["GET", "rw:2"], &["SET", "rw:2", "x"]],
    );
    r.call("admin", &["ACL", "SETUSER", "k", "allkeys"]);
    r.calls(
        "u",
        &[&["SET", "anything", "x"], &["SORT", "r:l", "BY", "w:*"]],
    );
}

#[test]
fn key_patterns_by_mode_as_redis_checks() {
    let [t, _] = same_as_redis(&[], keys);
    shows(&t, r#"u: ["GET", "r:1"]"#, "one");
    shows(
        &t,
        r#"u: ["SET", "r:1", "x"]"#,
        "-NOPERM this user has no permissions to access one of the keys used as arguments",
    );
    shows(&t, r#"u: ["MSET", "w:1", "a", "w:2", "b"]"#, "+OK");
    shows(&t, r#"u: ["COPY", "r:1", "w:c"]"#, ":1");
}

/// Channel patterns: PUBLISH and SUBSCRIBE match channels against them,
/// PSUBSCRIBE only literally; refused (un)subscriptions change nothing;
/// narrowing the patterns disconnects a subscriber whose subscriptions are
/// no longer allowed, and keeps one whose are.
fn channels(r: &mut Run) {
    r.call(
        "admin",
        &[
            "ACL",
            "SETUSER",
            "c",
            "on",
            "nopass",
            "&news.*",
            "&lit",
            "+@pubsub",
            "+ping",
            "+acl|whoami",
        ],
    );
    r.calls(
        "p",
        &[
            &["AUTH", "c", "x"],
            &["PUBLISH", "news.1", "hi"],
            &["PUBLISH", "lit", "hi"],
            &["PUBLISH", "other", "hi"],
            &["SPUBLISH", "news.1", "hi"],
            &["SPUBLISH", "other", "hi"],
            &["PUBSUB", "CHANNELS"],
        ],
    );
    r.calls(
        "u",
        &[
            &["AUTH", "c", "x"],
            &["PSUBSCRIBE", "news.a*"],
            &["PSUBSCRIBE", "*"],
            &["PSUBSCRIBE", "news.*", "other"],
            &["SUBSCRIBE", "other"],
            &["SUBSCRIBE", "news.1", "other"],
            &["SSUBSCRIBE", "other"],
        ],
    );
    r.call_n("u", &["PSUBSCRIBE", "news.*"], 1);
    r.call_n("u", &["SUBSCRIBE", "news.1", "lit"], 2);
    r.call("u", &["SUBSCRIBE", "nope"]);
    r.call_n("v", &["AUTH", "c", "x"], 1);
    r.call_n("v", &["SUBSCRIBE", "lit"], 1);
    r.call("p", &["PUBLISH", "news.1", "m1"]);
    r.next("u");
    r.next("u");
    r.call("admin", &["ACL", "SETUSER", "c", "resetchannels", "&lit"]);
    r.closed("u");
    r.calls(
        "p",
        &[&["PUBLISH", "lit", "m2"], &["PUBLISH", "news.1", "m3"]],
    );
    r.next("v");
    r.call("admin", &["ACL", "SETUSER", "c", "allchannels"]);
    r.calls(
        "p",
        &[
            &["PUBLISH", "other", "m4"],
            &["PUBSUB", "NUMSUB", "lit"],
            &["PUBLISH", "lit", "m5"],
        ],
    );
    r.next("v");
}

#[test]
fn channel_patterns_as_redis_checks() {
    let [t2, t3] = same_as_redis(&[], channels);
    shows(
        &t2,
        r#"p: ["PUBLISH", "other", "hi"]"#,
        "-NOPERM this user has no permissions to access one of the channels used as arguments",
    );
    shows(&t2, r#"u: ["PSUBSCRIBE", "news.*"] "#, "psubscribe");
    shows(&t2, "u: PING (closed?)", "<closed>");
    shows(&t3, "v: (next)", ">3");
}

/// MULTI: a denied command (or key) is refused when queued and the EXEC
/// aborts; a transaction whose commands lose their permission between
/// queueing and EXEC gets each refusal in EXEC's reply.
fn multi(r: &mut Run) {
    r.call(
        "admin",
        &[
            "ACL",
            "SETUSER",
            "m",
            "on",
            "nopass",
            "%R~r:*",
            "~rw:*",
            "~w:*",
            "&news.*",
            "+@read",
            "+@write",
            "-hset",
            "+multi",
            "+exec",
            "+discard",
            "+publish",
            "+acl|whoami",
        ],
    );
    r.calls(
        "u",
        &[
            &["AUTH", "m", "x"],
            &["MULTI"],
            &["SET", "w:1", "a"],
            &["HSET", "rw:h", "f", "v"],
            &["SET", "r:1", "x"],
            &["PUBLISH", "other", "x"],
            &["GET", "w:1"],
            &["EXEC"],
            &["GET", "w:1"],
            &["MULTI"],
            &["HSET", "rw:h", "f", "v"],
            &["DISCARD"],
            &["MULTI"],
            &["SET", "w:1", "a"],
            &["GET", "rw:1"],
            &["PUBLISH", "news.1", "x"],
            &["SET", "rw:1", "b"],
        ],
    );
    r.call(
        "admin",
        &[
            "ACL",
            "SETUSER",
            "m",
            "-set",
            "resetchannels",
            "resetkeys",
            "%R~rw:*",
        ],
    );
    r.calls("u", &[&["EXEC"], &["GET", "w:1"], &["GET", "rw:1"]]);
    r.call("admin", &["GET", "w:1"]);
}

#[test]
fn multi_refuses_at_queue_time_and_rechecks_at_exec() {
    let [t, _] = same_as_redis(&[], multi);
    shows(&t, r#"u: ["EXEC"]"#, "-EXECABORT");
    assert!(
        t.iter()
            .any(|l| l.contains("ACLs rules changed between the moment")),
        "EXEC re-check in {t:?}"
    );
}

/// EVAL for a restricted user: redis.call of a denied command, key or
/// channel (the script error names the script), redis.pcall of the same
/// (the error as a value), an allowed call, redis.acl_check_cmd, EVALSHA
/// and a function (FCALL) calling a denied command.
fn scripts(r: &mut Run) {
    r.call(
        "admin",
        &[
            "ACL",
            "SETUSER",
            "s",
            "on",
            "nopass",
            "~rw:*",
            "%R~r:*",
            "&news.*",
            "+@read",
            "+@write",
            "-hset",
            "+eval",
            "+evalsha",
            "+script|load",
            "+publish",
            "+config|get",
            "+fcall",
        ],
    );
    r.call(
        "admin",
        &[
            "FUNCTION",
            "LOAD",
            "#!lua name=lib\nredis.register_function('f', function(keys, args) \
             return redis.call('hset', 'rw:h', 'f', 'v') end)",
        ],
    );
    r.calls(
        "u",
        &[
            &["AUTH", "s", "x"],
            &["EVAL", "return redis.call('hset','rw:h','f','v')", "0"],
            &["EVAL", "return redis.pcall('hset','rw:h','f','v')", "0"],
            &["EVAL", "return redis.call('set','r:1','v')", "0"],
            &["EVAL", "return redis.pcall('set','r:1','v')", "0"],
            &["EVAL", "return redis.call('get','other')", "0"],
            &["EVAL", "return redis.call('publish','other','x')", "0"],
            &["EVAL", "return redis.pcall('publish','other','x')", "0"],
            &["EVAL", "return redis.call('publish','news.1','x')", "0"],
            &["EVAL", "return redis.call('set','rw:1','v')", "0"],
            &["EVAL", "return redis.call('get',KEYS[1])", "1", "rw:1"],
            &["EVAL", "return redis.call('get',KEYS[1])", "1", "r:1"],
            &[
                "EVAL",
                "return redis.call('config','set','maxmemory','0')",
                "0",
            ],
            &["EVAL", "return redis.call('config','get','maxmemory')", "0"],
            &[
                "EVAL",
                "return redis.acl_check_cmd('hset','rw:h','f','v')",
                "0",
            ],
            &["EVAL", "return redis.acl_check_cmd('set','rw:1','v')", "0"],
            &["EVAL", "return redis.acl_check_cmd('set','r:1','v')", "0"],
            &["EVAL", "return redis.acl_check_cmd('nosuch')", "0"],
            &["SCRIPT", "LOAD", "return redis.call('hset','rw:h','f','v')"],
            &["EVALSHA", "20ba87ced8f0a3993a01769d118a5f31ca0e33df", "0"],
            &["FCALL", "f", "0"],
        ],
    );
    r.call("admin", &["ACL", "LOG"]);
}

#[test]
fn scripts_are_held_to_the_callers_rules() {
    let [t, _] = same_as_redis(&[], scripts);
    shows(
        &t,
        r#"u: ["EVAL", "return redis.call('hset'"#,
        "can't run this command or subcommand",
    );
}

/// ACL LOG after each kind of denial: reason command/key/channel/auth,
/// context toplevel/multi/lua, the object (command or `container|sub`, key,
/// channel, `AUTH`), the username, repeated denials counted in one entry,
/// newest first; `ACL LOG <n>`, RESET, and entries after RESET.
fn log(r: &mut Run) {
    r.calls(
        "admin",
        &[
            &["CLIENT", "SETNAME", "admin"],
            &[
                "ACL",
                "SETUSER",
                "l",
                "on",
                ">pw",
                "%R~r:*",
                "~rw:*",
                "&news.*",
                "+@read",
                "+@write",
                "-hset",
                "+config|get",
                "+multi",
                "+exec",
                "+eval",
                "+publish",
                "+client|setname",
            ],
            &["ACL", "LOG", "RESET"],
            &["ACL", "LOG"],
        ],
    );
    r.calls(
        "u",
        &[
            &["AUTH", "l", "wrong"],
            &["AUTH", "l", "wrong"],
            &["AUTH", "nobody", "x"],
            &["AUTH", "l", "pw"],
            &["CLIENT", "SETNAME", "u"],
            &["HSET", "rw:h", "f", "v"],
            &["HSET", "rw:h", "f", "v"],
            &["CONFIG", "SET", "maxmemory", "0"],
            &["SET", "r:1", "x"],
            &["GET", "other"],
            &["PUBLISH", "other", "x"],
            &["MULTI"],
            &["HSET", "rw:h", "f", "v"],
            &["SET", "rw:1", "x"],
            &["EXEC"],
            &["EVAL", "return redis.call('hset','rw:h','f','v')", "0"],
            &["EVAL", "return redis.pcall('get','other')", "0"],
            &["EVAL", "return redis.pcall('publish','other','x')", "0"],
        ],
    );
    r.calls(
        "admin",
        &[
            &["ACL", "LOG"],
            &["ACL", "LOG", "100"],
            &["ACL", "LOG", "2"],
            &["ACL", "LOG", "0"],
            &["ACL", "LOG", "-1"],
            &["ACL", "LOG", "RESET"],
            &["ACL", "LOG"],
        ],
    );
    r.call("u", &["HSET", "rw:h", "f", "v"]);
    r.call("admin", &["ACL", "LOG"]);
}

#[test]
fn acl_log_records_denials_as_redis_does() {
    let [t2, t3] = same_as_redis(&[], log);
    for t in [&t2, &t3] {
        let full = acl::line(t, r#"admin: ["ACL", "LOG", "100"]"#);
        for want in [
            "toplevel",
            "multi",
            "lua",
            "config|set",
            "r:1",
            "other",
            "AUTH",
            ":2",
        ] {
            assert!(full.contains(want), "{want} in {full}");
        }
    }
}

/// CLIENT LIST and CLIENT INFO show each connection's user (and follow
/// AUTH); CLIENT KILL USER closes every connection of that user (not the
/// caller's own with the default SKIPME yes), counts them, and refuses an
/// unknown user.
fn client_list_and_kill(r: &mut Run) {
    r.calls(
        "admin",
        &[
            &["CLIENT", "SETNAME", "admin"],
            &["ACL", "SETUSER", "k1", "on", ">p", "+@all", "~*"],
            &["ACL", "SETUSER", "k2", "on", ">p", "+@all", "~*"],
        ],
    );
    r.calls("u1", &[&["AUTH", "k1", "p"], &["CLIENT", "SETNAME", "u1"]]);
    r.calls("u2", &[&["CLIENT", "SETNAME", "u2"], &["AUTH", "k1", "p"]]);
    r.calls(
        "w",
        &[
            &["CLIENT", "SETNAME", "w"],
            &["AUTH", "k2", "p"],
            &["CLIENT", "INFO"],
        ],
    );
    r.calls("d", &[&["CLIENT", "SETNAME", "d"]]);
    r.calls(
        "admin",
        &[
            &["CLIENT", "LIST"],
            &["CLIENT", "INFO"],
            &["CLIENT", "KILL", "USER", "k1"],
        ],
    );
    r.closed("u1");
    r.closed("u2");
    r.calls(
        "admin",
        &[
            &["CLIENT", "KILL", "USER", "k1"],
            &["CLIENT", "KILL", "USER", "nobody"],
            &["CLIENT", "LIST"],
        ],
    );
    r.calls(
        "w",
        &[
            &["CLIENT", "KILL", "USER", "k2"],
            &["AUTH", "k1", "p"],
            &["CLIENT", "INFO"],
            &["CLIENT", "KILL", "USER", "k1", "SKIPME", "no"],
        ],
    );
    r.closed("w");
    r.calls("admin", &[&["CLIENT", "LIST"], &["ACL", "USERS"]]);
}

#[test]
fn client_list_shows_users_and_client_kill_user_closes_them() {
    let [t, _] = same_as_redis(&[], client_list_and_kill);
    shows(&t, r#"w: ["CLIENT", "INFO"]"#, "user=k2");
    shows(&t, r#"admin: ["CLIENT", "KILL", "USER", "k1"]"#, ":2");
    shows(&t, "u1: PING (closed?)", "<closed>");
    shows(&t, "w: PING (closed?)", "<closed>");
}
