//! Lua scripting (EVAL, EVALSHA, EVAL_RO, SCRIPT) against a real
//! redis-server, reply for reply in RESP2 and RESP3: Redis's conversions both
//! ways, its error texts and the line they name, the sandbox, shebang flags,
//! SELECT inside a script; then what a comparison cannot show: replication of
//! a script's writes, the runaway-script stop and the INFO figures.

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{wait_for, Proc};

const CASES: &[&[&str]] = &[
    &["EVAL", "return 1", "0"],
    &["EVAL", "return 1.9", "0"],
    &["EVAL", "return -3.7", "0"],
    &["EVAL", "return 'x'", "0"],
    &["EVAL", "return true", "0"],
    &["EVAL", "return false", "0"],
    &["EVAL", "return nil", "0"],
    &["EVAL", "return {1,2,{3,'a'},nil,4}", "0"],
    &["EVAL", "return {ok='fine'}", "0"],
    &["EVAL", "return {err='bad thing'}", "0"],
    &["EVAL", "return {err='MYCODE bad thing'}", "0"],
    &["EVAL", "return redis.error_reply('x y')", "0"],
    &["EVAL", "return redis.error_reply('-x y')", "0"],
    &["EVAL", "return redis.status_reply('st')", "0"],
    &["EVAL", "return {KEYS[1],KEYS[2],ARGV[1],ARGV[2]}", "2", "a", "b", "c", "d"],
    &["EVAL", "return redis.call('set',KEYS[1],ARGV[1])", "1", "k", "v"],
    &["EVAL", "return redis.call('get',KEYS[1])", "1", "k"],
    &["EVAL", "return redis.call('get','nokey')", "0"],
    &["EVAL", "return redis.call('incr','k')", "0"],
    &["EVAL", "return redis.pcall('incr','k')", "0"],
    &["EVAL", "local r = redis.pcall('incr','k'); return type(r) .. ':' .. tostring(r.err)", "0"],
    &["EVAL", "return redis.call('nosuch','k')", "0"],
    &["EVAL", "return redis.pcall('nosuch','k')", "0"],
    &["EVAL", "return redis.call('get')", "0"],
    &["EVAL", "return redis.call('eval','return 1','0')", "0"],
    &["EVAL", "return redis.call()", "0"],
    &["EVAL", "return redis.call({})", "0"],
    &["EVAL", "return redis.call('set','a',{})", "0"],
    &["EVAL", "x = 1", "0"],
    &["EVAL", "return y", "0"],
    &["EVAL", "return 1 +", "0"],
    &["EVAL", "error('boom')", "0"],
    &["EVAL", "error({err='E1 tbl'})", "0"],
    &["EVAL", "error('boom',0)", "0"],
    &["EVAL", "return", "0"],
    &["EVAL", "return 1", "-1"],
    &["EVAL", "return 1", "3", "a"],
    &["EVAL", "return 1", "x"],
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "0"],
    &["EVALSHA", "nosuch", "0"],
    &["SCRIPT", "LOAD", "return 7"],
    &["EVALSHA", "ea2b03e5ad8a5e9d06c9e0a2a4f06e6d6a5d2bdd", "0"],
    &["SCRIPT", "EXISTS", "e0e1f9fabfc9d4800c877a703b823ac0578ff8db", "abc"],
    &["SCRIPT", "EXISTS"],
    &["EVAL", "return redis.sha1hex('')", "0"],
    &["EVAL", "return redis.REDIS_VERSION", "0"],
    &["EVAL", "return redis.REDIS_VERSION_NUM", "0"],
    &["EVAL", "return tostring(0.1)", "0"],
    &["EVAL", "return redis.call('set','f',3.14159)", "0"],
    &["EVAL", "return redis.call('get','f')", "0"],
    &["EVAL", "return redis.call('set','f',1e20)", "0"],
    &["EVAL", "return redis.call('get','f')", "0"],
    &["EVAL", "return redis.call('hgetall','nohash')", "0"],
    &["EVAL", "redis.call('hset','h','a','1','b','2'); return redis.call('hgetall','h')", "0"],
    &["EVAL", "return redis.call('ping')", "0"],
    &["EVAL", "return type(redis.call('ping'))", "0"],
    &["EVAL", "return redis.call('ping').ok", "0"],
    &["EVAL", "redis.setresp(3); return redis.call('hgetall','h')", "0"],
    &["EVAL", "redis.setresp(3); local r = redis.call('hgetall','h'); return type(r.map)", "0"],
    &["EVAL", "redis.setresp(3); return redis.call('get','nokey')", "0"],
    &["EVAL", "redis.setresp(3); return {double=3.5}", "0"],
    &["EVAL", "return {double=3.5}", "0"],
    &["EVAL", "return {map={a=1}}", "0"],
    &["EVAL", "return {set={a=true}}", "0"],
    &["EVAL", "return {big_number='123456789012345678901234567890'}", "0"],
    &["EVAL", "redis.setresp(4)", "0"],
    &["EVAL", "return loadstring", "0"],
    &["EVAL", "return os.time()", "0"],
    &["EVAL", "return os.clock() >= 0", "0"],
    &["EVAL", "return print", "0"],
    &["EVAL", "return _VERSION", "0"],
    &["EVAL", "return redis.log(redis.LOG_WARNING, 'hello')", "0"],
    &["EVAL", "return redis.log(99, 'hello')", "0"],
    &["EVAL", "return redis.replicate_commands()", "0"],
    &["EVAL", "return redis.set_repl(redis.REPL_ALL)", "0"],
    &["EVAL", "return redis.set_repl(99)", "0"],
    &["EVAL", "return {1, 'a', true, false, 3}", "0"],
    &["EVAL", "return {redis.call('get','nokey'), 5}", "0"],
    &["EVAL", "return 9007199254740993", "0"],
    &["EVAL", "return 1e30", "0"],
    &["EVAL", "return 0/0", "0"],
    &["EVAL", "return redis.call('select', 5)", "0"],
    &["EVAL", "redis.call('select', 5); redis.call('set','in5','1'); return 1", "0"],
    &["EXISTS", "in5"],
    &["EVAL_RO", "return redis.call('set','x','1')", "0"],
    &["EVAL_RO", "return redis.call('get','k')", "0"],
    &["EVAL", "#!lua flags=no-writes\nreturn redis.call('set','x','1')", "0"],
    &["EVAL", "#!lua\nreturn 5", "0"],
    &["EVAL", "#!lua flags=bad\nreturn 5", "0"],
    &["EVAL", "#!notlua\nreturn 5", "0"],
    &["EVAL", "#!lua name=foo\nreturn 5", "0"],
    &["EVAL", "return redis.call('blpop','emptylist',0)", "0"],
    &["EVAL", "return redis.call('multi')", "0"],
    &["EVAL", "return redis.call('subscribe','c')", "0"],
    &["EVAL", "return redis.call('client','id') > 0", "0"],
    &["EVAL", "return redis.call('time')[1] > '0'", "0"],
    &["EVAL", "return redis.call('randomkey') ~= nil", "0"],
    &["EVAL", "local t = {} ; for i=1,3 do t[i]=i end; return t", "0"],
    &["EVAL", "return {1,2,3}", "0"],
    &["EVAL", "return redis.call('debug','sleep','0')", "0"],
    &["EVAL", "return {err=5}", "0"],
    &["EVAL", "return {ok=5}", "0"],
    &["EVAL", "return redis.error_reply(5)", "0"],
    &["EVAL", "return redis.call('SET', 'n', 'v', 'PX')", "0"],
    &["EVAL", "return string.format('%d', 5)", "0"],
    &["EVAL", "return tonumber('0x10')", "0"],
    &["EVAL", "return unpack({1,2})", "0"],
    &["EVAL", "return coroutine ~= nil", "0"],
    &["EVAL", "return getmetatable(_G) ~= nil", "0"],
    &["EVAL", "return debug", "0"],
    &["EVAL", "return collectgarbage('count') > 0", "0"],
    &["SET", "k", "v"],
    &["EVAL", "local ok, e = pcall(redis.call,'incr','k'); return {tostring(ok), type(e), type(e)=='table' and e.err or e}", "0"],
    &["EVAL", "local ok, e = pcall(error, 'x'); return {tostring(ok), e}", "0"],
    &["EVAL", "local ok, e = pcall(function() local a = nil; return a.b end); return {tostring(ok), e}", "0"],
    &["EVAL", "error({err='nocode'})", "0"],
    &["EVAL", "error()", "0"],
    &["EVAL", "error(5)", "0"],
    &["EVAL", "local function f()\n return redis.call('incr','k')\nend\n\nreturn f()", "0"],
    &["EVAL", "local a = nil\nreturn a.b", "0"],
    &["EVAL", "return redis.call('set','k','a\\r\\nb')", "0"],
    &["EVAL", "return {err='x\\r\\ny'}", "0"],
    &["EVAL", "return {ok='x\\r\\ny'}", "0"],
    &["EVAL", "return redis.status_reply()", "0"],
    &["EVAL", "return redis.sha1hex()", "0"],
    &["EVAL", "return redis.sha1hex(5)", "0"],
    &["EVAL", "return redis.log()", "0"],
    &["EVAL", "return redis.log('a','b')", "0"],
    &["EVAL", "return redis.log('3','b')", "0"],
    &["EVAL", "return redis.setresp()", "0"],
    &["EVAL", "return redis.setresp('3')", "0"],
    &["EVAL", "return redis.breakpoint()", "0"],
    &["EVAL", "return redis.debug('x')", "0"],
    &["EVAL", "return redis.acl_check_cmd('get','x')", "0"],
    &["EVAL", "return redis.acl_check_cmd('nosuch')", "0"],
    &["EVAL", "return redis.REPL_ALL", "0"],
    &["EVAL", "return {redis.REPL_NONE, redis.REPL_AOF, redis.REPL_SLAVE, redis.REPL_REPLICA, redis.LOG_DEBUG, redis.LOG_NOTICE}", "0"],
    &["EVAL", "redis.call = nil", "0"],
    &["EVAL", "string.foo = 1", "0"],
    &["EVAL", "_G.x = 1", "0"],
    &["EVAL", "rawset(_G, 'x', 1)", "0"],
    &["EVAL", "local t = {} for k in pairs(redis) do t[#t+1]=k end table.sort(t) return t", "0"],
    &["EVAL", "return KEYS", "0"],
    &["EVAL", "KEYS[1] = 'x'; return KEYS[1]", "1", "a"],
    &["EVAL", "return #ARGV", "0", "a", "b"],
    &["EVAL", "return {redis.call('hset','hh','a','1'), redis.call('hincrbyfloat','hh','a','1.5')}", "0"],
    &["EVAL", "redis.setresp(3); return {redis.call('hincrbyfloat','hh','a','1.5'), redis.call('exists','hh')}", "0"],
    &["EVAL", "redis.setresp(3); return redis.call('zscore','zz','a')", "0"],
    &["ZADD", "zz", "1.5", "a"],
    &["EVAL", "redis.setresp(3); return redis.call('zscore','zz','a')", "0"],
    &["EVAL", "redis.setresp(3); local r = redis.call('zscore','zz','a'); return type(r) .. tostring(r.double)", "0"],
    &["EVAL", "redis.setresp(3); return redis.call('smembers','nosuchset')", "0"],
    &["EVAL", "redis.setresp(3); return {true, false}", "0"],
    &["EVAL", "return {true, false}", "0"],
    &["EVAL", "redis.setresp(3); return {true, false}", "0"],
    &["EVAL", "redis.setresp(3); return redis.call('hgetall','h')", "0"],
    &["EVAL", "return redis.call('hgetall','h')", "0"],
    &["EVAL", "return {double=3.5}", "0"],
    &["EVAL", "return {map={a=1,b=2}}", "0"],
    &["EVAL", "return {set={a=true}}", "0"],
    &["EVAL", "return {big_number='12345'}", "0"],
    &["EVAL", "return {verbatim_string={format='txt', string='hello'}}", "0"],
    &["EVAL", "return nil", "0"],
    &["EVAL", "return false", "0"],
    &["EVAL", "redis.setresp(3); return redis.call('get','nokey')", "0"],
    &["EVAL", "redis.setresp(3); return redis.call('zscore','zz','a')", "0"],
    &["EVAL", "return redis.call('zscore','zz','a')", "0"],
    &["EVAL", "#!lua flags=no-writes,allow-oom\nreturn 1", "0"],
    &["EVAL", "#!lua flags=\nreturn 1", "0"],
    &["EVAL", "#!lua  flags=no-writes\nreturn 1", "0"],
    &["EVAL", "#!lua x\nreturn 1", "0"],
    &["EVAL", "#!\nreturn 1", "0"],
    &["EVAL", "#!lua", "0"],
    &["EVAL", "#!lua flags=no-writes\nreturn redis.call('get','k')", "0"],
    &["EVAL", "#! lua\nreturn 1", "0"],
    &["EVAL", "return 1\n", "0"],
    &["SCRIPT", "LOAD", "return +"],
    &["SCRIPT", "LOAD", "#!bad\nreturn 1"],
    &["EVAL_RO", "#!lua\nreturn redis.call('set','a','b')", "0"],
    &["EVALSHA", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB", "0"],
    &["EVALSHA", "e0e1f9fabfc9d4800c877a703b823ac0578ff8dbXX", "0"],
    &["SCRIPT", "EXISTS", "E0E1F9FABFC9D4800C877A703B823AC0578FF8DB"],
    &["EVAL", "return redis.call('object','freq','k')", "0"],
    &["EVAL", "return redis.call('config','get','maxmemory')", "0"],
    &["EVAL", "return redis.call('info','server') ~= nil", "0"],
    &["EVAL", "return redis.call('script','load','return 1')", "0"],
    &["EVAL", "return redis.call('publish','ch','m')", "0"],
    &["EVAL", "return redis.call('wait','0','0')", "0"],
    // Sandbox escapes (each refused; the next cases show nothing leaked).
    &["EVAL", "setmetatable(_G, nil)", "0"],
    &["EVAL", "return type(string)", "0"],
    &["EVAL", "setmetatable(string, nil)", "0"],
    &["EVAL", "return string.rep('a', 2)", "0"],
    &["EVAL", "getmetatable('').__index.rep = nil", "0"],
    &["EVAL", "return ('a'):rep(2)", "0"],
    &["EVAL", "return type(getmetatable(''))", "0"],
    &["EVAL", "return loadstring('string.rep = nil')()", "0"],
    &["EVAL", "return loadstring('return type(redis)')()", "0"],
    &["EVAL", "return type(getmetatable(_G))", "0"],
    &["EVAL", "return type(getmetatable(redis))", "0"],
    &["EVAL", "table.insert(math, 5) return #math", "0"],
    &["EVAL", "return string.rep('a', 2)", "0"],
    // Bytecode is refused (Lua 5.1 loads it unchecked), as Redis refuses it.
    &["EVAL", "local f, e = loadstring(string.dump(function() return 1 end)) return {tostring(f), e}", "0"],
    &["EVAL", "local f, e = loadstring(string.dump(function() return 1 end), 'nm') return {tostring(f), e}", "0"],
    &["EVAL", "local s = string.dump(function() return 1 end) local i = 0 local f, e = load(function() i = i + 1 if i == 1 then return s end end) return {tostring(f), e}", "0"],
    &["EVAL", "local f, e = loadstring('return +') return {tostring(f), e}", "0"],
    &["EVAL", "local f, e = load(function() return nil end) return {type(f), e}", "0"],
    &["EVAL", "local f, e = loadstring('\\27abc') return {tostring(f), e}", "0"],
    &["EVAL", "\u{1b}LuaQ\u{0}\u{1}\u{4}\u{8}\u{4}\u{8}\u{0}", "0"],
    // How many values the API functions return.
    &["EVAL", "return select('#', redis.setresp(2))", "0"],
    &["EVAL", "return select('#', redis.log(redis.LOG_DEBUG, 'x'))", "0"],
    &["EVAL", "return select('#', redis.set_repl(redis.REPL_ALL))", "0"],
    &["EVAL", "return select('#', math.randomseed(3))", "0"],
    &["EVAL", "return select('#', redis.sha1hex('a'))", "0"],
    &["EVAL", "return select('#', math.random())", "0"],
    &["EVAL", "return select('#', redis.acl_check_cmd('get'))", "0"],
    &["EVAL", "redis.setresp(5)", "0"],
];

#[test]
fn scripts_reply_as_redis_does() {
    for resp3 in [false, true] {
        let tandem = common::same_replies_as_redis(CASES, resp3);
        let find = |label: &str| common::case(&tandem, label);
        // The comparison covered what it should: a reply, a script error with
        // its line, a compile error.
        assert!(find(r#"["EVAL", "return redis.call('get',KEYS[1])""#).contains("$1\\r\\nv"));
        assert!(find(r#"["EVAL", "local a = nil\nreturn a.b""#).contains("on @user_script:2."));
        assert!(find(r#"["EVAL", "return 1 +""#).contains("Error compiling script"));
    }
}

fn query(c: &mut redis::Connection, args: &[&str]) -> redis::RedisResult<redis::Value> {
    let mut cmd = redis::cmd(args[0]);
    for a in &args[1..] {
        cmd.arg(*a);
    }
    cmd.query(c)
}

#[test]
fn a_script_writes_reach_replicas_and_the_cache_works_by_sha() {
    let master = Proc::tandem(&[]);
    let port = master.addr().rsplit(':').next().expect("port").to_string();
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
    let script = "redis.call('set', KEYS[1], ARGV[1]); redis.call('incrby', KEYS[2], ARGV[2]); \
                  redis.call('select', 3); redis.call('set', 'in3', 'x'); return 'done'";
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg(script)
        .query(&mut m)
        .expect("load");
    for _ in 0..3 {
        let r: String = redis::cmd("EVALSHA")
            .arg(&sha)
            .arg(2)
            .arg("k")
            .arg("n")
            .arg("v")
            .arg(5)
            .query(&mut m)
            .expect("evalsha");
        assert_eq!(r, "done");
    }
    let exists: Vec<i64> = redis::cmd("SCRIPT")
        .arg("EXISTS")
        .arg(&sha)
        .arg("0000000000000000000000000000000000000000")
        .query(&mut m)
        .expect("exists");
    assert_eq!(exists, vec![1, 0]);
    // SELECT inside the script did not move the caller.
    let n: i64 = redis::cmd("GET").arg("n").query(&mut m).expect("get");
    assert_eq!(n, 15);
    for r in [&replica, &redis_replica] {
        let mut c = r.client();
        wait_for(
            Duration::from_secs(20),
            "the script's writes on the replica",
            || {
                redis::cmd("GET")
                    .arg("n")
                    .query::<Option<i64>>(&mut c)
                    .ok()
                    .flatten()
                    == Some(15)
            },
        );
        let v: Option<String> = redis::cmd("GET").arg("k").query(&mut c).expect("get k");
        assert_eq!(v.as_deref(), Some("v"));
        let _: () = redis::cmd("SELECT").arg(3).query(&mut c).expect("select");
        let v: Option<String> = redis::cmd("GET").arg("in3").query(&mut c).expect("get in3");
        assert_eq!(v.as_deref(), Some("x"));
    }
    // The script cache reached the replicas too: in the stream (SCRIPT LOAD)
    // for those attached, in the snapshot (AUX "lua") for one that syncs now;
    // a redis-server replica takes both.
    let late = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    let late_redis = Proc::redis(&["--replicaof", "127.0.0.1", &port]);
    for r in [&replica, &redis_replica, &late, &late_redis] {
        let mut c = r.client();
        wait_for(
            Duration::from_secs(20),
            "the script cache on the replica",
            || {
                redis::cmd("SCRIPT")
                .arg("EXISTS")
                .arg(&sha)
                .query::<Vec<i64>>(&mut c)
                .is_ok_and(|v| v == [1])
                // Redis 7.0 ignores the AUX field: it has only the stream.
                || r.addr() == late_redis.addr()
            },
        );
        wait_for(Duration::from_secs(20), "the data on the replica", || {
            redis::cmd("GET")
                .arg("n")
                .query::<Option<i64>>(&mut c)
                .ok()
                .flatten()
                == Some(15)
        });
    }
    // A read-only script runs on a replica; a writing one is refused there.
    let mut rc = replica.client();
    let v: i64 = redis::cmd("EVAL_RO")
        .arg("return redis.call('get', KEYS[1])")
        .arg(1)
        .arg("n")
        .query(&mut rc)
        .expect("eval_ro on the replica");
    assert_eq!(v, 15);
    let err = query(&mut rc, &["EVAL", "return redis.call('set', 'x', 1)", "0"])
        .expect_err("a write on a replica");
    assert!(err.to_string().contains("read only replica"), "{err}");
    // FLUSH empties the cache.
    let _: () = redis::cmd("SCRIPT")
        .arg("FLUSH")
        .query(&mut m)
        .expect("flush");
    let err = query(&mut m, &["EVALSHA", &sha, "0"]).expect_err("flushed");
    assert!(err.to_string().contains("No matching script"), "{err}");
}

#[test]
fn a_runaway_script_that_has_not_written_is_stopped() {
    let p = Proc::tandem(&["--lua-time-limit", "200"]);
    let mut c = p.client();
    // Also when it catches errors, or loops in a coroutine: the stop cannot
    // be caught, and coroutines run under the same watch.
    for body in [
        "local i = 0 while true do i = i + 1 end",
        "while true do pcall(function() while true do end end) end",
        "while true do xpcall(function() while true do end end, function(e) return e end) end",
        "while true do coroutine.resume(coroutine.create(function() while true do end end)) end",
        "coroutine.wrap(function() while true do pcall(function() while true do end end) end end)()",
    ] {
        let err = query(&mut c, &["EVAL", body, "0"]).expect_err(body);
        assert!(
            err.to_string().contains("busy-reply-threshold"),
            "{body}: {err}"
        );
    }
    // The node answers, and the interpreter still runs scripts.
    let v: i64 = redis::cmd("EVAL")
        .arg("return 7")
        .arg(0)
        .query(&mut c)
        .expect("eval");
    assert_eq!(v, 7);
    // A script that writes and takes longer than the threshold runs to its end.
    let v: i64 = redis::cmd("EVAL")
        .arg(
            "redis.call('set', 'w', 1) local t = redis.call('time') local s = t[1] * 1e6 + t[2] \
              local i = 0 while i < 3e7 do i = i + 1 end return i",
        )
        .arg(0)
        .query(&mut c)
        .expect("a writing script completes");
    assert_eq!(v, 30_000_000);
}

#[test]
fn info_reports_the_script_cache() {
    let p = Proc::tandem(&[]);
    let mut c = p.client();
    let field = |c: &mut redis::Connection, name: &str| common::info_int(c, "memory", name);
    assert_eq!(field(&mut c, "number_of_cached_scripts"), 0);
    for i in 0..3 {
        let _: i64 = redis::cmd("EVAL")
            .arg(format!("return {i}"))
            .arg(0)
            .query(&mut c)
            .expect("eval");
    }
    assert_eq!(field(&mut c, "number_of_cached_scripts"), 3);
    assert!(field(&mut c, "used_memory_lua") > 10_000);
    assert!(field(&mut c, "used_memory_scripts_eval") > 0);
}

/// MONITOR lines of one script run, without timestamps and client ports.
fn monitor_lines(p: &Proc) -> Vec<String> {
    let mut m = p.raw();
    m.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    m.write_all(b"MONITOR\r\n").expect("monitor");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !got.ends_with(b"+OK\r\n") {
        let n = m.read(&mut buf).expect("monitor's OK");
        got.extend_from_slice(&buf[..n]);
    }
    let mut c = p.client();
    let _: Option<String> = redis::cmd("EVAL")
        .arg("redis.call('set', KEYS[1], '1') redis.call('select', 5) return redis.call('get', KEYS[1])")
        .arg(1)
        .arg("a")
        .query(&mut c)
        .expect("eval");
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("x")
        .query(&mut c)
        .expect("set");
    got.clear();
    while got.iter().filter(|&&b| b == b'\n').count() < 5 {
        let n = m.read(&mut buf).expect("monitor lines");
        got.extend_from_slice(&buf[..n]);
    }
    String::from_utf8_lossy(&got)
        .lines()
        .map(|l| {
            let rest = l.split_once(' ').map_or(l, |(_, r)| r);
            match rest.split_once(']') {
                Some((who, cmd)) if who.contains("lua") => format!("{who}]{cmd}"),
                Some((who, cmd)) => format!("{} client]{cmd}", who.split(' ').next().unwrap_or("")),
                None => rest.to_string(),
            }
        })
        .collect()
}

#[test]
fn monitor_shows_the_script_then_its_commands_as_lua() {
    let tandem = monitor_lines(&Proc::tandem(&[]));
    let redis = monitor_lines(&Proc::redis(&[]));
    assert_eq!(tandem, redis);
    assert!(
        tandem.iter().any(|l| l.starts_with("[5 lua]")),
        "{tandem:?}"
    );
}

/// CLIENT PAUSE WRITE holds EVAL (a script may write, as Redis treats it)
/// but lets EVAL_RO through.
#[test]
fn client_pause_write_holds_scripts_that_may_write() {
    let p = Proc::tandem(&[]);
    let mut admin = p.raw();
    admin
        .write_all(b"CLIENT PAUSE 20000 WRITE\r\n")
        .expect("write");
    let mut buf = [0u8; 64];
    let n = admin.read(&mut buf).expect("OK");
    assert_eq!(&buf[..n], b"+OK\r\n");
    let mut reader = p.raw();
    reader
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    reader
        .write_all(&common::encode(&["EVAL_RO", "return 1", "0"]))
        .expect("write");
    let n = reader
        .read(&mut buf)
        .expect("EVAL_RO answered during the pause");
    assert_eq!(&buf[..n], b":1\r\n");
    let mut writer = p.raw();
    writer
        .write_all(&common::encode(&["EVAL", "return 2", "0"]))
        .expect("write");
    writer
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    assert!(
        writer.read(&mut buf).is_err(),
        "EVAL was answered during the pause"
    );
    admin.write_all(b"CLIENT UNPAUSE\r\n").expect("write");
    writer
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let n = writer.read(&mut buf).expect("EVAL after UNPAUSE");
    assert_eq!(&buf[..n], b":2\r\n");
}

/// Scripts that recurse without end, return cyclic or very deep tables, or
/// allocate a lot get an error or a bounded reply; the node and the sandbox
/// stay as they were.
#[test]
fn hostile_scripts_leave_the_node_and_the_sandbox_intact() {
    let p = Proc::tandem(&[]);
    let mut c = p.client();
    let err = query(
        &mut c,
        &[
            "EVAL",
            "local function f(n) return f(n + 1) + 1 end return f(1)",
            "0",
        ],
    )
    .expect_err("unbounded recursion");
    assert!(err.to_string().contains("stack overflow"), "{err}");
    for body in [
        "local t = {} t[1] = t return t",
        "local t = {} for i = 1, 200000 do t = {t} end return t",
    ] {
        let mut s = p.raw();
        s.set_read_timeout(Some(Duration::from_secs(10)))
            .expect("timeout");
        s.write_all(&common::encode(&["EVAL", body, "0"]))
            .expect("write");
        let mut got = Vec::new();
        let mut buf = [0u8; 65536];
        while !got.ends_with(b"-ERR reached lua stack limit\r\n") {
            let n = s.read(&mut buf).expect("a bounded reply");
            assert!(n > 0, "connection closed");
            got.extend_from_slice(&buf[..n]);
        }
        assert!(got.len() < 10_000, "{} bytes", got.len());
    }
    let n: i64 = redis::cmd("EVAL")
        .arg("return #string.rep('x', 2^26)")
        .arg(0)
        .query(&mut c)
        .expect("64 MiB string");
    assert_eq!(n, 1 << 26);
    for body in [
        "string.rep = nil",
        "setmetatable(_G, nil)",
        "getmetatable('').__index.rep = nil",
        "loadstring('string.format = nil')()",
        "table.insert(redis, 1)",
    ] {
        let err = query(&mut c, &["EVAL", body, "0"]).expect_err(body);
        assert!(err.to_string().contains("readonly table"), "{body}: {err}");
    }
    let v: String = redis::cmd("EVAL")
        .arg("return string.format('%s', string.rep('a', 2)) .. type(redis.call)")
        .arg(0)
        .query(&mut c)
        .expect("the libraries are intact");
    assert_eq!(v, "aafunction");
    let pong: String = redis::cmd("PING").query(&mut c).expect("PING");
    assert_eq!(pong, "PONG");
}
