//! Redis 7 functions (FUNCTION, FCALL, FCALL_RO) against a real
//! redis-server, reply for reply in RESP2 and RESP3: library metadata,
//! `redis.register_function`'s checks, the load-time and run-time sandboxes,
//! errors with the function's name and line, flags, FUNCTION LIST/STATS/DUMP;
//! then what a comparison cannot show: libraries reaching replicas (stream
//! and snapshot), surviving a restart, FUNCTION DUMP/RESTORE between Tandem
//! and Redis, and INFO.
//!
//! FUNCTION LIST lists libraries in name order (Redis: its hash table's
//! order), so the comparison lists one library at a time.

mod common;

use std::time::Duration;

use common::{wait_for, Proc};

const CASES: &[&[&str]] = &[
    &["FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)"],
    &["FCALL", "myfunc", "0", "hello"],
    &["FCALL", "MYFUNC", "0", "case"],
    &["FUNCTION", "LOAD", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return args[1] end)"],
    &["FUNCTION", "LOAD", "REPLACE", "#!lua name=mylib\nredis.register_function('myfunc', function(keys, args) return keys[1] end)"],
    &["FCALL", "myfunc", "1", "k", "a"],
    &["FUNCTION", "LIST", "LIBRARYNAME", "mylib"],
    &["FUNCTION", "LIST", "WITHCODE", "LIBRARYNAME", "MYL*"],
    &["FUNCTION", "STATS"],
    &["FUNCTION", "DUMP"],
    &["FUNCTION", "LOAD", "return 1"],
    &["FUNCTION", "LOAD", "#!lua"],
    &["FUNCTION", "LOAD", "#!lua\nreturn 1"],
    &["FUNCTION", "LOAD", "#!lua name=\nreturn 1"],
    &["FUNCTION", "LOAD", "#!lua name=a-b\nreturn 1"],
    &["FUNCTION", "LOAD", "#!lua name=ab foo=bar\nreturn 1"],
    &["FUNCTION", "LOAD", "#!lua name=ab name=cd\nreturn 1"],
    &["FUNCTION", "LOAD", "#!lua2 name=ab\nreturn 1"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nreturn 1"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nreturn 1 +"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.call('set','x','y')"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nlocal s = string.len('x')"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nx = 5"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nerror('boom')"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function('f-1', function() return 1 end)"],
    &["FUNCTION", "LOAD", "#!lua name=dup\nredis.register_function('f1', function() return 1 end)\nredis.register_function('F1', function() return 2 end)"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function('myfunc', function() return 1 end)"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function('f2')"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function('f2', 5)"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function()"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function({}, {})"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function{function_name='f4', callback=function() return 3 end, flags={'bad-flag'}}"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function{function_name='f4', callback=function() return 3 end, flags='no-writes'}"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function{function_name='f4', callback=function() return 3 end, foo=1}"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function{function_name='f4'}"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function{callback=function() return 3 end}"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function{function_name='f4', callback=function() return 3 end, flags={1}}"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nlocal x = redis.setresp\nredis.register_function('q', function() return 1 end)"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function('x8', function() return 1 end)\nredis.nosuch = 1"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function('xb', function() return 1 end)\nlocal t = setmetatable"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nwhile true do end"],
    &["FUNCTION", "LOAD", "#!lua name=ab\nredis.register_function{function_name='f3', callback=function() return 3 end, flags={'no-writes'}, description='desc3'}"],
    &["FUNCTION", "LIST", "LIBRARYNAME", "ab"],
    &["FCALL", "f3", "0"],
    &["FCALL_RO", "f3", "0"],
    &["FCALL", "nosuch", "0"],
    &["FCALL", "nosuch", "x"],
    &["FCALL", "f3", "-1"],
    &["FCALL", "f3", "2", "a"],
    &["FCALL", "f3", "x"],
    &["FCALL_RO", "myfunc", "1", "k"],
    &["FUNCTION", "LOAD", "#!lua name=rt\nlocal function helper(x) return x * 2 end\nredis.register_function('dbl', function(keys, args) return helper(tonumber(args[1])) end)\nredis.register_function('setit', function(keys, args) return redis.call('set', keys[1], args[1]) end)\nredis.register_function('boom', function(keys, args) error('kaboom') end)\nredis.register_function('boom2', function(keys, args)\n  return redis.call('incr', 'strk')\nend)\nredis.register_function('glob', function(keys, args) return nosuchglobal end)\nredis.register_function('setg', function(keys, args) gx = 1 return 1 end)\nredis.register_function('kg', function(keys, args) return KEYS end)\nredis.register_function('ro', function(keys, args) return redis.call('set','x','y') end)\nredis.register_function('errt', function(keys, args) return redis.error_reply('MY err') end)\nredis.register_function('pc', function(keys, args) return redis.pcall('incr','strk') end)\nredis.register_function('r3', function(keys, args) redis.setresp(3) return redis.call('hgetall', 'h') end)\nredis.register_function('strlib', function(keys, args) return string.upper(args[1]) .. cjson.encode({1,2}) end)\nredis.register_function('rf', function(keys, args) return type(redis.register_function) end)\nredis.register_function{function_name='nw', callback=function(keys, args) return redis.call('set','x','y') end, flags={'no-writes'}}\nredis.register_function('stack', function(keys, args) return type(redis.breakpoint) .. type(redis.log) .. type(redis.set_repl) end)\nredis.register_function('fenv', function(keys, args) return type(getfenv) end)\nredis.register_function('m1', function(keys, args) return redis.call('fcall', 'dbl', '0', '1') end)\nredis.register_function('m2', function(keys, args) return redis.call('function', 'list') end)\nredis.register_function('m6', function(keys, args) return {keys, args} end)\nredis.register_function('e9', function() local a = nil\n  return a.b end)\nredis.register_function('eb', function() error({err='XX custom'}) end)\nredis.register_function('ec', function() error('s', 0) end)\nredis.register_function('g', function() return type(_G) end)\nlocal captured = redis\nredis.register_function('q7', function() return type(captured.call) end)\nredis.register_function('ver', function() return redis.REDIS_VERSION_NUM end)\nlocal counter = 0\nredis.register_function('count', function() counter = counter + 1 return counter end)"],
    &["FCALL", "dbl", "0", "21"],
    &["FCALL", "setit", "1", "strk", "abc"],
    &["FCALL", "boom", "0"],
    &["FCALL", "boom2", "0"],
    &["FCALL", "glob", "0"],
    &["FCALL", "setg", "0"],
    &["FCALL", "kg", "0"],
    &["FCALL", "errt", "0"],
    &["FCALL", "pc", "0"],
    &["FCALL", "rf", "0"],
    &["FCALL", "nw", "0"],
    &["FCALL", "stack", "0"],
    &["FCALL", "fenv", "0"],
    &["FCALL", "m1", "0"],
    &["FCALL", "m2", "0"],
    &["FCALL", "e9", "0"],
    &["FCALL", "eb", "0"],
    &["FCALL", "ec", "0"],
    &["FCALL", "g", "0"],
    &["FCALL", "q7", "0"],
    &["FCALL", "ver", "0"],
    &["FCALL", "count", "0"],
    &["FCALL", "count", "0"],
    &["FCALL_RO", "ro", "0"],
    &["HSET", "h", "a", "1"],
    &["FCALL", "r3", "0"],
    &["FCALL", "strlib", "0", "ab"],
    &["FCALL", "m6", "2", "k1", "k2", "a1"],
    &["EVAL", "return redis.call('fcall', 'dbl', '0', '4')", "0"],
    &["FUNCTION", "DELETE", "nosuch"],
    &["FUNCTION", "DELETE", "RT"],
    &["FUNCTION", "DELETE", "rt"],
    &["FCALL", "dbl", "0", "1"],
    &["FUNCTION", "LOAD", "FOO", "#!lua name=x\nredis.register_function('fx', function() return 1 end)"],
    &["FUNCTION", "LOAD", "REPLACE"],
    &["FUNCTION", "LIST", "LIBRARYNAME"],
    &["FUNCTION", "LIST", "WITHCODE", "WITHCODE"],
    &["FUNCTION", "LIST", "LIBRARYNAME", "a", "LIBRARYNAME", "b"],
    &["FUNCTION", "LIST", "BAD"],
    &["FUNCTION", "FLUSH", "BAD"],
    &["FUNCTION", "FLUSH", "ASYNC", "x"],
    &["FUNCTION", "RESTORE", "bad"],
    &["FUNCTION", "RESTORE", "bad", "BAD"],
    &["FUNCTION", "RESTORE", "bad", "FLUSH", "x"],
    &["FUNCTION", "KILL"],
    &["FUNCTION", "HELP"],
    &["FUNCTION", "NOSUCH"],
    &["FUNCTION"],
    &["FUNCTION", "FLUSH"],
    &["FUNCTION", "STATS"],
    &["FUNCTION", "LIST"],
    &["FUNCTION", "DUMP"],
    &["FCALL", "myfunc", "0"],
    &["FUNCTION", "LOAD", "#!lua name=ls\nredis.register_function('ls', function() local f = loadstring('return type(redis.call) .. type(redis.breakpoint) .. tostring(KEYS)') return f() end)\nredis.register_function('ls2', function() local f = loadstring('x = 1') f() return 1 end)"],
    &["FCALL", "ls", "0"],
    &["FCALL", "ls2", "0"],
];

#[test]
fn functions_reply_as_redis_does() {
    for resp3 in [false, true] {
        let tandem = common::same_replies_as_redis(CASES, resp3);
        let find = |label: &str| common::case(&tandem, label);
        // The comparison covered what it should: a call, an error naming the
        // function and its line, a load error, the load timeout.
        assert!(find(r#"["FCALL", "myfunc", "0", "hello"]"#).contains("hello"));
        assert!(find(r#"["FCALL", "boom", "0"]"#).contains("script: boom, on @user_function:5."));
        assert!(find(r##"["FUNCTION", "LOAD", "#!lua name=ab\nx = 5"]"##)
            .contains("Error registering functions"));
        assert!(
            find(r##"["FUNCTION", "LOAD", "#!lua name=ab\nwhile true do end"]"##)
                .contains("FUNCTION LOAD timeout")
        );
    }
}

fn query(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

const LIB: &str = "#!lua name=counters\n\
    redis.register_function('bump', function(keys, args) \
      return redis.call('incrby', keys[1], args[1]) end)\n\
    redis.register_function{function_name='peek', callback=function(keys) \
      return redis.call('get', keys[1]) end, flags={'no-writes'}}";

fn fcall(
    c: &mut redis::Connection,
    f: &str,
    key: &str,
    arg: Option<i64>,
) -> redis::RedisResult<i64> {
    let mut cmd = redis::cmd(f);
    cmd.arg(if f == "FCALL_RO" { "peek" } else { "bump" })
        .arg(1)
        .arg(key);
    if let Some(a) = arg {
        cmd.arg(a);
    }
    cmd.query(c)
}

/// Libraries reach replicas attached (FUNCTION LOAD in the stream) and late
/// (FUNCTION2 in the snapshot), Tandem and redis-server alike; FCALL's writes
/// follow; FCALL_RO runs on a replica; DELETE and FLUSH travel too.
#[test]
fn libraries_and_their_writes_reach_replicas() {
    let master = Proc::tandem(&[]);
    let port = master.port.to_string();
    let replica = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    let redis_replica = Proc::redis(&["--replicaof", "127.0.0.1", &port]);
    let mut m = master.client();
    wait_for(Duration::from_secs(20), "both replicas online", || {
        let info: String = redis::cmd("INFO")
            .arg("replication")
            .query(&mut m)
            .unwrap_or_default();
        info.matches("state=online").count() == 2
    });
    let name: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(LIB)
        .query(&mut m)
        .expect("load");
    assert_eq!(name, "counters");
    for _ in 0..3 {
        fcall(&mut m, "FCALL", "n", Some(5)).expect("fcall");
    }
    let late = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    let late_redis = Proc::redis(&["--replicaof", "127.0.0.1", &port]);
    for r in [&replica, &redis_replica, &late, &late_redis] {
        let mut c = r.client();
        wait_for(
            Duration::from_secs(20),
            "library and data on the replica",
            || fcall(&mut c, "FCALL_RO", "n", None).is_ok_and(|n| n == 15),
        );
        let err = fcall(&mut c, "FCALL", "n", Some(1)).expect_err("a write on a replica");
        assert!(err.to_string().contains("read only replica"), "{err}");
    }
    let _: () = redis::cmd("FUNCTION")
        .arg("DELETE")
        .arg("counters")
        .query(&mut m)
        .expect("delete");
    for r in [&replica, &redis_replica, &late, &late_redis] {
        let mut c = r.client();
        wait_for(Duration::from_secs(20), "the library deleted", || {
            fcall(&mut c, "FCALL_RO", "n", None)
                .is_err_and(|e| e.to_string().contains("Function not found"))
        });
    }
}

/// A Tandem replica of a redis-server master takes the master's libraries
/// from its snapshot (the FUNCTION2 opcode) and from its stream.
#[test]
fn a_replica_of_redis_gets_its_libraries() {
    let master = Proc::redis(&[]);
    let mut m = master.client();
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(LIB)
        .query(&mut m)
        .expect("load");
    fcall(&mut m, "FCALL", "n", Some(4)).expect("fcall");
    let port = master.port.to_string();
    let replica = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    let mut c = replica.client();
    wait_for(
        Duration::from_secs(20),
        "library and data on the replica",
        || fcall(&mut c, "FCALL_RO", "n", None).is_ok_and(|n| n == 4),
    );
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(
            LIB.replace("counters", "more")
                .replace("'bump'", "'bump2'")
                .replace("'peek'", "'peek2'"),
        )
        .query(&mut m)
        .expect("load");
    wait_for(Duration::from_secs(20), "the second library", || {
        let info: String = redis::cmd("INFO")
            .arg("memory")
            .query(&mut c)
            .unwrap_or_default();
        info.contains("number_of_functions:4\r\n")
    });
}

/// A restart (RDB, then AOF) keeps the libraries; FUNCTION DUMP from Tandem
/// restores on Redis and back.
#[test]
fn libraries_survive_restarts_and_move_by_dump_and_restore() {
    let mut p = Proc::tandem(&[]);
    let mut c = p.client();
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(LIB)
        .query(&mut c)
        .expect("load");
    fcall(&mut c, "FCALL", "n", Some(2)).expect("fcall");
    let _: () = redis::cmd("SAVE").query(&mut c).expect("save");
    p.restart();
    let mut c = p.client();
    assert_eq!(
        fcall(&mut c, "FCALL", "n", Some(3)).expect("after restart"),
        5
    );
    p.restart_with(&["--appendonly", "yes"]);
    let mut c = p.client();
    let _: () = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(&mut c)
        .expect("flush");
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(LIB.replace("counters", "aof_lib"))
        .query(&mut c)
        .expect("load");
    let before = fcall(&mut c, "FCALL", "n", Some(1)).expect("fcall");
    p.restart();
    let mut c = p.client();
    assert_eq!(
        fcall(&mut c, "FCALL", "n", Some(1)).expect("after AOF restart"),
        before + 1
    );
    let payload: Vec<u8> = redis::cmd("FUNCTION")
        .arg("DUMP")
        .query(&mut c)
        .expect("dump");

    let r = Proc::redis(&[]);
    let mut rc = r.client();
    let _: () = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&payload[..])
        .query(&mut rc)
        .expect("restore on redis");
    assert_eq!(
        fcall(&mut rc, "FCALL", "m", Some(4)).expect("fcall on redis"),
        4
    );
    let back: Vec<u8> = redis::cmd("FUNCTION")
        .arg("DUMP")
        .query(&mut rc)
        .expect("dump");
    let err = query(&mut c, &["FUNCTION", "RESTORE"]).expect_err("arity");
    assert!(
        err.to_string().contains("wrong number of arguments"),
        "{err}"
    );
    let err = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&back[..])
        .query::<()>(&mut c)
        .expect_err("APPEND onto the same library");
    assert!(
        err.to_string().contains("Library aof_lib already exists"),
        "{err}"
    );
    let _: () = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&back[..])
        .arg("REPLACE")
        .query(&mut c)
        .expect("restore REPLACE");
    let _: () = redis::cmd("FUNCTION")
        .arg("RESTORE")
        .arg(&back[..])
        .arg("FLUSH")
        .query(&mut c)
        .expect("restore FLUSH");
    assert_eq!(
        fcall(&mut c, "FCALL", "n", Some(1)).expect("restored"),
        before + 2
    );
}

#[test]
fn info_and_memory_stats_count_libraries() {
    let p = Proc::tandem(&[]);
    let mut c = p.client();
    let field = |c: &mut redis::Connection, f: &str| common::info_int(c, "memory", f);
    assert_eq!(field(&mut c, "number_of_libraries"), 0);
    assert_eq!(field(&mut c, "used_memory_vm_functions"), 0);
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(LIB)
        .query(&mut c)
        .expect("load");
    assert_eq!(field(&mut c, "number_of_libraries"), 1);
    assert_eq!(field(&mut c, "number_of_functions"), 2);
    assert!(field(&mut c, "used_memory_vm_functions") > 10_000);
    assert!(field(&mut c, "used_memory_functions") > LIB.len() as i64);
    assert_eq!(
        field(&mut c, "used_memory_vm_total"),
        field(&mut c, "used_memory_vm_functions") + field(&mut c, "used_memory_vm_eval")
    );
    // SCRIPT FLUSH leaves the libraries; FUNCTION FLUSH leaves the scripts.
    let _: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return 1")
        .query(&mut c)
        .expect("load");
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut c)
        .expect("flush");
    assert_eq!(field(&mut c, "number_of_libraries"), 1);
    let _: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return 1")
        .query(&mut c)
        .expect("load");
    let _: () = redis::cmd("FUNCTION")
        .arg("FLUSH")
        .query(&mut c)
        .expect("flush");
    assert_eq!(field(&mut c, "number_of_libraries"), 0);
    assert_eq!(field(&mut c, "number_of_cached_scripts"), 1);
}

/// A function that loops without writing is stopped at busy-reply-threshold,
/// as a script is; the node answers and the library still runs.
#[test]
fn a_runaway_function_is_stopped_like_a_script() {
    let p = Proc::tandem(&["--lua-time-limit", "200"]);
    let mut c = p.client();
    let lib = "#!lua name=loops\n\
        redis.register_function('spin', function() while true do end end)\n\
        redis.register_function('one', function() return 1 end)";
    let _: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut c)
        .expect("load");
    let err = query(&mut c, &["FCALL", "spin", "0"]).expect_err("stopped");
    assert!(err.to_string().contains("busy-reply-threshold"), "{err}");
    assert!(err.to_string().contains("script: spin"), "{err}");
    let v: i64 = redis::cmd("FCALL")
        .arg("one")
        .arg(0)
        .query(&mut c)
        .expect("fcall");
    assert_eq!(v, 1);
}
