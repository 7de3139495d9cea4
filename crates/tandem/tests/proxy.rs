//! `tandem proxy` in front of real `tandem server` processes: forwarding and
//! multiplexing, every stateful case (SELECT, MULTI/EXEC/WATCH, blocking pops,
//! pub/sub in RESP2 and RESP3, CLIENT SETNAME/REPLY, HELLO 3), AUTH on both sides,
//! refused commands, maxclients and bad input, with the redis crate and redis-cli.

mod common;
#[path = "proxy/harness.rs"]
mod harness;

use std::io::Write;
use std::time::{Duration, Instant};

use common::{wait_for, Proc};
use harness::{ends_with, read_until, send_raw, ProxyProc};

fn setup(extra: &[&str]) -> (Proc, ProxyProc) {
    let node = Proc::tandem(&[]);
    let addr = node.addr();
    let mut args = vec!["--master", addr.as_str()];
    args.extend_from_slice(extra);
    let proxy = ProxyProc::start(&args);
    proxy.await_master();
    (node, proxy)
}

#[test]
fn forwards_commands_and_answers_its_own() {
    let (node, proxy) = setup(&[]);
    let mut c = proxy.client();
    let pong: String = redis::cmd("PING").query(&mut c).expect("PING");
    assert_eq!(pong, "PONG");
    let () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut c)
        .expect("SET");
    let v: String = redis::cmd("GET").arg("k").query(&mut c).expect("GET");
    assert_eq!(v, "v");
    // The write reached the node.
    assert_eq!(node.cli_str(&["GET", "k"]), "v");
    let echo: String = redis::cmd("ECHO").arg("hi").query(&mut c).expect("ECHO");
    assert_eq!(echo, "hi");
    // The proxy's own INFO.
    let info: String = redis::cmd("INFO").query(&mut c).expect("INFO");
    for field in [
        "tandem_role:proxy",
        "epoch:1",
        &format!("master:{}", node.addr()),
        "failovers_seen:0",
        "held_requests:0",
        &format!("process_id:{}", proxy.child.id()),
    ] {
        assert!(info.contains(field), "INFO lacks {field}:\n{info}");
    }
    // COMMAND is answered from the table (more in proxy_command.rs).
    let n: i64 = redis::cmd("COMMAND")
        .arg("COUNT")
        .query(&mut c)
        .expect("COUNT");
    assert!(n > 150, "COMMAND COUNT {n}");
    // redis-cli through the proxy.
    assert_eq!(proxy.cli(&["SET", "x", "1"]), "OK");
    assert_eq!(proxy.cli(&["INCR", "x"]), "2");
    // Unknown commands get the node's error.
    let e = redis::cmd("NOSUCHCMD").query::<()>(&mut c).unwrap_err();
    assert!(e.to_string().contains("unknown command"), "{e}");
    // Wrong arity is answered by the proxy, as Redis words it.
    let e = redis::cmd("GET").query::<()>(&mut c).unwrap_err();
    assert!(
        e.to_string()
            .contains("wrong number of arguments for 'get' command"),
        "{e}"
    );
}

#[test]
fn many_concurrent_clients_keep_their_own_order() {
    let (node, proxy) = setup(&[]);
    let threads: Vec<_> = (0..40)
        .map(|t| {
            let url = proxy.url();
            std::thread::spawn(move || {
                let mut c = redis::Client::open(url)
                    .and_then(|c| c.get_connection())
                    .expect("connect");
                let key = format!("ctr:{t}");
                for i in 1..=150i64 {
                    let n: i64 = redis::cmd("INCR").arg(&key).query(&mut c).expect("INCR");
                    assert_eq!(n, i, "client {t} saw its counter out of order");
                    if i % 10 == 0 {
                        // A small pipeline mixing writes and reads.
                        let (a, b, cc): (i64, i64, i64) = redis::pipe()
                            .cmd("INCRBY")
                            .arg(&key)
                            .arg(0)
                            .cmd("GET")
                            .arg(&key)
                            .cmd("EXISTS")
                            .arg(&key)
                            .query(&mut c)
                            .expect("pipeline");
                        assert_eq!((a, b, cc), (i, i, 1));
                    }
                }
            })
        })
        .collect();
    // redis-cli clients at the same time.
    for i in 0..5 {
        assert_eq!(proxy.cli(&["SET", &format!("cli:{i}"), "x"]), "OK");
    }
    for t in threads {
        t.join().expect("client thread");
    }
    for t in 0..40 {
        assert_eq!(node.cli_str(&["GET", &format!("ctr:{t}")]), "150");
    }
}

/// `--threads 3`: the kernel spreads new connections over the three threads'
/// listening sockets; each thread has its own link to the node, and clients
/// on every thread are served in order.
#[test]
fn a_proxy_on_three_threads_serves_clients_on_each() {
    let (node, proxy) = setup(&["--threads", "3"]);
    let mut conns: Vec<redis::Connection> = (0..30).map(|_| proxy.client()).collect();
    let mut seen = std::collections::BTreeSet::new();
    for (i, c) in conns.iter_mut().enumerate() {
        let info: String = redis::cmd("INFO").arg("server").query(c).expect("INFO");
        assert!(info.contains("proxy_threads:3"), "{info}");
        let thread = info
            .lines()
            .find_map(|l| l.strip_prefix("proxy_thread:"))
            .expect("proxy_thread field")
            .trim()
            .to_string();
        seen.insert(thread);
        let n: i64 = redis::cmd("INCRBY")
            .arg("spread")
            .arg(i + 1)
            .query(c)
            .expect("INCRBY");
        assert!(n > i as i64);
    }
    // 30 connections all hashed to one of three sockets: 3 * (1/3)^30.
    assert!(seen.len() > 1, "every client on one thread: {seen:?}");
    assert_eq!(node.cli_str(&["GET", "spread"]), (30 * 31 / 2).to_string());
    wait_for(Duration::from_secs(5), "a link per thread", || {
        proxy.info_field("backend_connects") == "3"
    });
}

#[test]
fn a_pipeline_of_1000_requests_gets_1000_replies_in_order() {
    let (_node, proxy) = setup(&[]);
    let mut c = proxy.client();
    let mut p = redis::pipe();
    for i in 0..1000 {
        if i % 2 == 0 {
            p.cmd("SET").arg(format!("p:{i}")).arg(i);
        } else {
            p.cmd("GET").arg(format!("p:{}", i - 1));
        }
    }
    let replies: Vec<redis::Value> = p.query(&mut c).expect("pipeline");
    assert_eq!(replies.len(), 1000);
    for (i, r) in replies.iter().enumerate() {
        if i % 2 == 0 {
            assert_eq!(*r, redis::Value::Okay, "reply {i}");
        } else {
            let want = (i - 1).to_string();
            assert_eq!(*r, redis::Value::BulkString(want.into_bytes()), "reply {i}");
        }
    }
    // The same through redis-cli's pipe mode.
    let mut input = String::new();
    for i in 0..1000 {
        input.push_str(&format!("RPUSH plist {i}\r\n"));
    }
    let mut child = std::process::Command::new("redis-cli")
        .args(["-p", &proxy.port.to_string(), "--pipe"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("redis-cli --pipe");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write");
    let out = child.wait_with_output().expect("redis-cli");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("errors: 0, replies: 1000"), "{text}");
    let n: i64 = redis::cmd("LLEN").arg("plist").query(&mut c).expect("LLEN");
    assert_eq!(n, 1000);
}

#[test]
fn scripts_run_through_the_proxy() {
    let (node, proxy) = setup(&[]);
    let mut c = proxy.client();
    // The redis crate's Script sends EVALSHA and falls back to EVAL on NOSCRIPT.
    let script = redis::Script::new(
        "redis.call('incrby', KEYS[1], ARGV[1]) return redis.call('get', KEYS[1])",
    );
    for i in 1..=3 {
        let v: i64 = script.key("sk").arg(10).invoke(&mut c).expect("script");
        assert_eq!(v, 10 * i);
    }
    // A script loaded on one connection runs from another: the cache is the node's.
    let sha: String = redis::cmd("SCRIPT")
        .arg("LOAD")
        .arg("return ARGV[1] .. KEYS[1]")
        .query(&mut c)
        .expect("SCRIPT LOAD");
    let mut other = proxy.client();
    let v: String = redis::cmd("EVALSHA")
        .arg(&sha)
        .arg(1)
        .arg("k")
        .arg("a-")
        .query(&mut other)
        .expect("EVALSHA");
    assert_eq!(v, "a-k");
    let out = proxy.cli(&["EVAL", "return {1, 'two', {ok='three'}}", "0"]);
    assert_eq!(out, "1\ntwo\nthree");
    assert_eq!(node.cli_str(&["GET", "sk"]), "30");
    // Functions: a library loaded through the proxy is the node's; FCALL and
    // FCALL_RO run from any connection.
    let lib = "#!lua name=plib\nredis.register_function('add', function(keys, args) \
               return redis.call('incrby', keys[1], args[1]) end)\n\
               redis.register_function{function_name='get', callback=function(keys) \
               return redis.call('get', keys[1]) end, flags={'no-writes'}}";
    let name: String = redis::cmd("FUNCTION")
        .arg("LOAD")
        .arg(lib)
        .query(&mut c)
        .expect("FUNCTION LOAD");
    assert_eq!(name, "plib");
    let v: i64 = redis::cmd("FCALL")
        .arg("add")
        .arg(1)
        .arg("sk")
        .arg(5)
        .query(&mut other)
        .expect("FCALL");
    assert_eq!(v, 35);
    assert_eq!(proxy.cli(&["FCALL_RO", "get", "1", "sk"]), "35");
}

#[test]
fn select_is_per_client_and_the_pool_stays_clean() {
    let (node, proxy) = setup(&[]);
    let mut a = proxy.client();
    let mut b = proxy.client();
    let () = redis::cmd("SELECT").arg(3).query(&mut a).expect("SELECT");
    let () = redis::cmd("SET")
        .arg("k")
        .arg("in3")
        .query(&mut a)
        .expect("SET");
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut b).expect("GET");
    assert_eq!(v, None, "db 0 must not see db 3's key");
    assert_eq!(proxy.info_field("pinned_clients"), "1");
    let v: String = redis::cmd("GET").arg("k").query(&mut a).expect("GET");
    assert_eq!(v, "in3");
    assert_eq!(node.cli_str(&["-n", "3", "GET", "k"]), "in3");
    // Back to db 0: the dedicated connection is dropped, the shared ones serve db 0.
    let () = redis::cmd("SELECT").arg(0).query(&mut a).expect("SELECT 0");
    let v: Option<String> = redis::cmd("GET").arg("k").query(&mut a).expect("GET");
    assert_eq!(v, None);
    wait_for(Duration::from_secs(5), "unpinned", || {
        proxy.info_field("pinned_clients") == "0"
    });
    // Many clients afterwards still see db 0 (no poisoned pool connection).
    for _ in 0..10 {
        let mut c = proxy.client();
        let v: Option<String> = redis::cmd("GET").arg("k").query(&mut c).expect("GET");
        assert_eq!(v, None);
    }
}

#[test]
fn transactions_and_watch_work_through_the_proxy() {
    let (_node, proxy) = setup(&[]);
    let mut a = proxy.client();
    let mut b = proxy.client();
    let (x, y): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("t")
        .cmd("INCR")
        .arg("t")
        .query(&mut a)
        .expect("MULTI/EXEC");
    assert_eq!((x, y), (1, 2));
    // WATCH: another client's write aborts the transaction (EXEC -> nil).
    let () = redis::cmd("WATCH").arg("t").query(&mut a).expect("WATCH");
    let () = redis::cmd("SET")
        .arg("t")
        .arg(100)
        .query(&mut b)
        .expect("SET");
    let () = redis::cmd("MULTI").query(&mut a).expect("MULTI");
    let q: String = redis::cmd("INCR").arg("t").query(&mut a).expect("queued");
    assert_eq!(q, "QUEUED");
    let r: Option<Vec<i64>> = redis::cmd("EXEC").query(&mut a).expect("EXEC");
    assert_eq!(r, None, "EXEC after a watched key changed must abort");
    // DISCARD, and a refused command inside MULTI aborts EXEC as in Redis.
    let () = redis::cmd("MULTI").query(&mut a).expect("MULTI");
    let _: String = redis::cmd("INCR").arg("t").query(&mut a).expect("queued");
    let () = redis::cmd("DISCARD").query(&mut a).expect("DISCARD");
    let v: i64 = redis::cmd("GET").arg("t").query(&mut a).expect("GET");
    assert_eq!(v, 100);
    let mut s = proxy.raw();
    let out = send_raw(
        &mut s,
        b"MULTI\r\nINCR t\r\nDEBUG SLEEP 0\r\nEXEC\r\nEXEC\r\n",
        ends_with(b"without MULTI\r\n"),
    );
    let text = String::from_utf8_lossy(&out);
    assert_eq!(
        text,
        "+OK\r\n+QUEUED\r\n-ERR command 'debug' is not supported through the Tandem proxy\r\n-EXECABORT Transaction discarded because of previous errors.\r\n-ERR EXEC without MULTI\r\n"
    );
    let v: i64 = redis::cmd("GET").arg("t").query(&mut a).expect("GET");
    assert_eq!(v, 100, "an aborted transaction must not run");
}

#[test]
fn blocking_pop_is_released_by_a_push_from_another_client() {
    let (node, proxy) = setup(&[]);
    let url = proxy.url();
    let waiter = std::thread::spawn(move || {
        let mut c = redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .expect("connect");
        let t0 = Instant::now();
        let r: Option<(String, String)> = redis::cmd("BLPOP")
            .arg("q")
            .arg(10)
            .query(&mut c)
            .expect("BLPOP");
        (r, t0.elapsed())
    });
    let mut b = proxy.client();
    wait_for(Duration::from_secs(5), "the pop to block", || {
        proxy.info_field("pinned_clients") == "1"
    });
    // Other clients are not blocked meanwhile.
    let () = redis::cmd("SET")
        .arg("other")
        .arg(1)
        .query(&mut b)
        .expect("SET");
    let n: i64 = redis::cmd("RPUSH")
        .arg("q")
        .arg("job")
        .query(&mut b)
        .expect("RPUSH");
    assert!(n <= 1);
    let (r, took) = waiter.join().expect("waiter");
    assert_eq!(r, Some(("q".to_string(), "job".to_string())));
    assert!(took < Duration::from_secs(9), "BLPOP took {took:?}");
    // A timeout is the node's: nil after ~0.2 s.
    let t0 = Instant::now();
    let r: Option<(String, String)> = redis::cmd("BLPOP")
        .arg("empty")
        .arg(0.2)
        .query(&mut b)
        .expect("BLPOP");
    assert_eq!(r, None);
    assert!(t0.elapsed() >= Duration::from_millis(150));
    // A worker loop keeps its dedicated connection: no new node connection per
    // call, and its plain commands in between still work.
    let conns = |n: &Proc| -> u64 {
        n.cli_str(&["INFO", "stats"])
            .lines()
            .find_map(|l| l.strip_prefix("total_connections_received:"))
            .and_then(|v| v.trim().parse().ok())
            .unwrap_or(0)
    };
    let before = conns(&node);
    for i in 0..5 {
        let r: Option<(String, String)> = redis::cmd("BRPOP")
            .arg("empty")
            .arg(0.05)
            .query(&mut b)
            .expect("BRPOP");
        assert_eq!(r, None);
        let () = redis::cmd("SET")
            .arg("w")
            .arg(i)
            .query(&mut b)
            .expect("SET");
    }
    // (+1: the INFO call itself.)
    assert!(conns(&node) <= before + 1, "a connection per blocking call");
}

#[test]
fn pubsub_resp2_across_the_proxy() {
    let (_node, proxy) = setup(&[]);
    let mut sub_conn = proxy.client();
    let mut sub = sub_conn.as_pubsub();
    sub.subscribe("news").expect("SUBSCRIBE");
    sub.psubscribe("ev.*").expect("PSUBSCRIBE");
    sub.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let mut p = proxy.client();
    let mut delivered = 0;
    wait_for(Duration::from_secs(5), "subscriber registered", || {
        delivered = redis::cmd("PUBLISH")
            .arg("news")
            .arg("hello")
            .query(&mut p)
            .expect("PUBLISH");
        delivered == 1
    });
    let msg = sub.get_message().expect("message");
    assert_eq!(msg.get_channel_name(), "news");
    assert_eq!(msg.get_payload::<String>().expect("payload"), "hello");
    let n: i64 = redis::cmd("PUBLISH")
        .arg("ev.x")
        .arg("p")
        .query(&mut p)
        .expect("PUBLISH");
    assert_eq!(n, 1);
    let mut got_pattern = false;
    for _ in 0..5 {
        let m = sub.get_message().expect("message");
        if m.get_channel_name() == "ev.x" {
            assert_eq!(m.get_pattern::<String>().expect("pattern"), "ev.*");
            got_pattern = true;
            break;
        }
    }
    assert!(got_pattern);
    // Raw RESP2: PING in subscribed mode is the node's pub/sub PONG, in order.
    let mut s = proxy.raw();
    let out = send_raw(
        &mut s,
        b"SUBSCRIBE a b\r\nPING\r\n",
        ends_with(b"$4\r\npong\r\n$0\r\n\r\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "*3\r\n$9\r\nsubscribe\r\n$1\r\na\r\n:1\r\n*3\r\n$9\r\nsubscribe\r\n$1\r\nb\r\n:2\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n"
    );
}

/// Sharded pub/sub across the proxy: SSUBSCRIBE pins the client like SUBSCRIBE,
/// SPUBLISH from another client reaches it, SUNSUBSCRIBE leaves the mode.
#[test]
fn sharded_pubsub_across_the_proxy() {
    let (_node, proxy) = setup(&[]);
    let mut s = proxy.raw();
    let out = send_raw(
        &mut s,
        b"SSUBSCRIBE a\r\n",
        ends_with(b"$10\r\nssubscribe\r\n$1\r\na\r\n:1\r\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "*3\r\n$10\r\nssubscribe\r\n$1\r\na\r\n:1\r\n"
    );
    let mut p = proxy.client();
    let n: i64 = redis::cmd("SPUBLISH")
        .arg("a")
        .arg("hello")
        .query(&mut p)
        .expect("SPUBLISH");
    assert_eq!(n, 1, "one shard subscriber");
    let n: i64 = redis::cmd("PUBLISH")
        .arg("a")
        .arg("no")
        .query(&mut p)
        .expect("PUBLISH");
    assert_eq!(n, 0, "shard channels are their own namespace");
    let out = read_until(&mut s, ends_with(b"$5\r\nhello\r\n"));
    assert_eq!(
        String::from_utf8_lossy(&out),
        "*3\r\n$8\r\nsmessage\r\n$1\r\na\r\n$5\r\nhello\r\n"
    );
    let out = send_raw(
        &mut s,
        b"SUNSUBSCRIBE\r\nECHO x\r\n",
        ends_with(b"$1\r\nx\r\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "*3\r\n$12\r\nsunsubscribe\r\n$1\r\na\r\n:0\r\n$1\r\nx\r\n"
    );
}

#[test]
fn pubsub_and_commands_in_resp3() {
    let (_node, proxy) = setup(&[]);
    let mut s = proxy.raw();
    let out = send_raw(&mut s, b"HELLO 3\r\n", ends_with(b"*0\r\n"));
    assert!(
        out.starts_with(b"%7\r\n"),
        "{}",
        String::from_utf8_lossy(&out)
    );
    assert!(String::from_utf8_lossy(&out).contains("proto\r\n:3"));
    let out = send_raw(
        &mut s,
        b"SET r3 v\r\nGET r3\r\nSUBSCRIBE c3\r\nPING\r\nHGETALL nohash\r\n",
        ends_with(b"%0\r\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "+OK\r\n$1\r\nv\r\n>3\r\n$9\r\nsubscribe\r\n$2\r\nc3\r\n:1\r\n+PONG\r\n%0\r\n"
    );
    let mut p = proxy.client();
    let n: i64 = redis::cmd("PUBLISH")
        .arg("c3")
        .arg("m")
        .query(&mut p)
        .expect("PUBLISH");
    assert_eq!(n, 1);
    let out = read_until(&mut s, ends_with(b"$1\r\nm\r\n"));
    assert_eq!(
        String::from_utf8_lossy(&out),
        ">3\r\n$7\r\nmessage\r\n$2\r\nc3\r\n$1\r\nm\r\n"
    );
}

#[test]
fn client_setname_and_reply_modes() {
    let (_node, proxy) = setup(&[]);
    let mut s = proxy.raw();
    let out = send_raw(
        &mut s,
        b"CLIENT SETNAME worker-1\r\nCLIENT GETNAME\r\nCLIENT SETNAME \"bad name\"\r\nCLIENT REPLY OFF\r\nSET a 1\r\nGET a\r\nCLIENT REPLY ON\r\nCLIENT REPLY SKIP\r\nGET a\r\nECHO last\r\n",
        ends_with(b"$4\r\nlast\r\n"),
    );
    let text = String::from_utf8_lossy(&out);
    assert_eq!(
        text,
        "+OK\r\n$8\r\nworker-1\r\n-ERR Client names cannot contain spaces, newlines or special characters.\r\n+OK\r\n$4\r\nlast\r\n"
    );
}

#[test]
fn auth_on_both_sides() {
    let node = Proc::tandem(&["--requirepass", "nodepw"]);
    let addr = node.addr();
    let proxy = ProxyProc::start(&[
        "--master",
        &addr,
        "--backend-password",
        "nodepw",
        "--requirepass",
        "proxypw",
    ]);
    let mut s = proxy.raw();
    let out = send_raw(&mut s, b"GET k\r\n", ends_with(b"\r\n"));
    assert_eq!(out, b"-NOAUTH Authentication required.\r\n");
    let out = send_raw(&mut s, b"AUTH wrong\r\n", ends_with(b"\r\n"));
    assert_eq!(
        out,
        b"-WRONGPASS invalid username-password pair or user is disabled.\r\n"
    );
    let url = format!("redis://:proxypw@127.0.0.1:{}/", proxy.port);
    let mut c = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("connect with AUTH");
    wait_for(Duration::from_secs(10), "backend reachable", || {
        redis::cmd("SET")
            .arg("k")
            .arg("v")
            .query::<()>(&mut c)
            .is_ok()
    });
    let v: String = redis::cmd("GET").arg("k").query(&mut c).expect("GET");
    assert_eq!(v, "v");
    // A dedicated connection authenticates too.
    let () = redis::cmd("SELECT").arg(2).query(&mut c).expect("SELECT");
    let () = redis::cmd("SET")
        .arg("k2")
        .arg("v2")
        .query(&mut c)
        .expect("SET");
    assert_eq!(
        node.cli_str(&["-a", "nodepw", "-n", "2", "GET", "k2"]),
        "v2"
    );
    // HELLO with AUTH.
    let mut s = proxy.raw();
    let out = send_raw(
        &mut s,
        b"HELLO 2 AUTH default proxypw\r\nPING\r\n",
        ends_with(b"+PONG\r\n"),
    );
    assert!(
        out.starts_with(b"*14\r\n"),
        "{}",
        String::from_utf8_lossy(&out)
    );
}

#[test]
fn commands_without_meaning_through_a_proxy_are_refused() {
    let (node, proxy) = setup(&[]);
    let mut c = proxy.client();
    for (cmd, shown) in [
        (vec!["SHUTDOWN"], "shutdown"),
        (vec!["DEBUG", "SLEEP", "0"], "debug"),
        (vec!["REPLICAOF", "127.0.0.1", "1"], "replicaof"),
        (vec!["SLAVEOF", "NO", "ONE"], "slaveof"),
        (vec!["MONITOR"], "monitor"),
        (vec!["SYNC"], "sync"),
        (vec!["CLIENT", "PAUSE", "10"], "client pause"),
        (vec!["CONFIG", "SET", "maxmemory", "1"], "config set"),
    ] {
        let mut r = redis::cmd(cmd[0]);
        for a in &cmd[1..] {
            r.arg(*a);
        }
        let e = r.query::<redis::Value>(&mut c).unwrap_err();
        assert!(
            e.to_string().contains(&format!(
                "command '{shown}' is not supported through the Tandem proxy"
            )),
            "{cmd:?}: {e}"
        );
    }
    // The node is still up and the connection still works.
    assert_eq!(node.cli_str(&["PING"]), "PONG");
    let pong: String = redis::cmd("PING").query(&mut c).expect("PING");
    assert_eq!(pong, "PONG");
}

#[test]
fn maxclients_is_enforced_with_the_redis_error() {
    let (_node, proxy) = setup(&["--maxclients", "3"]);
    // Three clients get in (once the harness's probe connections are gone).
    let mut held = Vec::new();
    wait_for(Duration::from_secs(5), "three clients admitted", || {
        held = (0..3).map(|_| proxy.raw()).collect();
        held.iter_mut()
            .all(|s| send_raw(s, b"PING\r\n", ends_with(b"\r\n")) == b"+PONG\r\n")
    });
    let mut extra = proxy.raw();
    let out = read_until(&mut extra, ends_with(b"\r\n"));
    assert_eq!(out, b"-ERR max number of clients reached\r\n");
    drop(held.pop());
    wait_for(Duration::from_secs(5), "a slot frees up", || {
        let mut s = proxy.raw();
        send_raw(&mut s, b"PING\r\n", ends_with(b"\r\n")) == b"+PONG\r\n"
    });
}

#[test]
fn bad_input_closes_only_that_connection() {
    let (_node, proxy) = setup(&[]);
    // A busy client pipelining while others misbehave.
    let url = proxy.url();
    let busy = std::thread::spawn(move || {
        let mut c = redis::Client::open(url)
            .and_then(|c| c.get_connection())
            .expect("connect");
        for round in 0..20 {
            let mut p = redis::pipe();
            for i in 0..100 {
                p.cmd("SET").arg(format!("b:{i}")).arg(round);
            }
            let r: Vec<redis::Value> = p.query(&mut c).expect("busy pipeline");
            assert_eq!(r.len(), 100);
        }
    });
    // Garbage: Redis's protocol error, then close.
    let mut s = proxy.raw();
    let out = send_raw(&mut s, b"*1\r\n$x\r\n", ends_with(b"\r\n"));
    assert_eq!(out, b"-ERR Protocol error: invalid bulk length\r\n");
    // Oversized bulk.
    let mut s = proxy.raw();
    let out = send_raw(
        &mut s,
        b"*2\r\n$3\r\nGET\r\n$999999999999\r\n",
        ends_with(b"\r\n"),
    );
    assert_eq!(out, b"-ERR Protocol error: invalid bulk length\r\n");
    // Half a frame, then disconnect.
    let mut s = proxy.raw();
    s.write_all(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$100\r\nabc")
        .expect("write");
    drop(s);
    // Unbalanced quotes inline.
    let mut s = proxy.raw();
    let out = send_raw(&mut s, b"SET \"a b\r\n", ends_with(b"\r\n"));
    assert_eq!(
        out,
        b"-ERR Protocol error: unbalanced quotes in request\r\n"
    );
    busy.join().expect("the busy client is unaffected");
    assert_eq!(proxy.cli(&["PING"]), "PONG");
    assert!(
        proxy
            .info_field("protocol_errors")
            .parse::<u64>()
            .unwrap_or(0)
            >= 3
    );
}

/// Requests are forwarded as the client sent them (a multibulk frame as is, an
/// inline one encoded): inline commands, binary-safe payloads and the bytes
/// Redis leaves unchecked (after a count line's '\r', after a payload) reach
/// the node with the meaning the proxy parsed, and a pipeline mixing them gets
/// its replies in order.
#[test]
fn inline_and_lenient_requests_reach_the_node_as_parsed() {
    for node in [Proc::tandem(&[]), Proc::redis(&[])] {
        let proxy = ProxyProc::start(&["--master", node.addr().as_str()]);
        proxy.await_master();
        let mut s = proxy.raw();
        let mut req = Vec::new();
        req.extend_from_slice(b"SET \"inline key\" \"a\\r\\nb\"\r\n");
        // '\r' then 'X' ends the count lines; "YZ" ends a payload: Redis skips both.
        req.extend_from_slice(b"*3\rX$3\rXSET\r\n$3\r\nbin\r\n$3\r\n\0\r\nYZ");
        req.extend_from_slice(b"GET \"inline key\"\r\n");
        req.extend_from_slice(b"*2\r\n$3\r\nGET\r\n$3\r\nbin\r\n");
        let out = send_raw(&mut s, &req, |b: &[u8]| b.ends_with(b"$3\r\n\0\r\n\r\n"));
        assert_eq!(
            out, b"+OK\r\n+OK\r\n$4\r\na\r\nb\r\n$3\r\n\0\r\n\r\n",
            "through the proxy to {:?}",
            node.kind
        );
        assert_eq!(node.cli_str(&["STRLEN", "inline key"]), "4");
        assert_eq!(node.cli_str(&["STRLEN", "bin"]), "3");
    }
}

#[test]
fn a_client_that_does_not_read_is_disconnected_at_its_output_limit() {
    let (_node, proxy) = setup(&["--client-output-buffer-limit", "1mb"]);
    let mut c = proxy.client();
    let big = "x".repeat(512 * 1024);
    let () = redis::cmd("SET")
        .arg("big")
        .arg(&big)
        .query(&mut c)
        .expect("SET");
    // Ask for 64 MiB of replies and never read them.
    let mut s = proxy.raw();
    let mut req = Vec::new();
    for _ in 0..128 {
        req.extend_from_slice(b"GET big\r\n");
    }
    s.write_all(&req).expect("write");
    wait_for(
        Duration::from_secs(10),
        "the slow reader is dropped",
        || proxy.info_field("client_output_buffer_disconnects") == "1",
    );
    // Everyone else is fine.
    let v: String = redis::cmd("GET").arg("big").query(&mut c).expect("GET");
    assert_eq!(v.len(), big.len());
}

fn commandstat_calls(p: &Proc, cmd: &str) -> u64 {
    p.cli_str(&["INFO", "commandstats"])
        .lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{cmd}:calls=")))
        .and_then(|rest| rest.split(',').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn reads_go_to_a_healthy_replica_when_asked_and_to_the_master_otherwise() {
    // Stock Redis master and replica (real replication), proxy --read-from replica.
    let master = Proc::redis(&[]);
    let mport = master.port.to_string();
    let replica = Proc::redis(&["--replicaof", "127.0.0.1", &mport]);
    let (maddr, raddr) = (master.addr(), replica.addr());
    let proxy = ProxyProc::start(&[
        "--master",
        &maddr,
        "--replica",
        &raddr,
        "--read-from",
        "replica",
    ]);
    proxy.await_master();
    wait_for(
        Duration::from_secs(10),
        "replica healthy in the proxy",
        || proxy.info_field("backend1").contains("healthy=1"),
    );
    let mut c = proxy.client();
    let () = redis::cmd("SET")
        .arg("rk")
        .arg("rv")
        .query(&mut c)
        .expect("SET");
    wait_for(Duration::from_secs(5), "the read served", || {
        redis::cmd("GET")
            .arg("rk")
            .query::<Option<String>>(&mut c)
            .ok()
            .flatten()
            .as_deref()
            == Some("rv")
    });
    assert!(
        commandstat_calls(&replica, "get") >= 1,
        "GET reached the replica"
    );
    // A read-only script is a read too; EVAL may write, so it goes to the master.
    for (cmd, node) in [("EVAL_RO", &replica), ("EVAL", &master)] {
        let n: i64 = redis::cmd(cmd)
            .arg("return redis.call('exists', KEYS[1])")
            .arg(1)
            .arg("rk")
            .query(&mut c)
            .expect(cmd);
        assert_eq!(n, 1);
        let stat = cmd.to_ascii_lowercase();
        assert_eq!(
            commandstat_calls(node, &stat),
            1,
            "{cmd} went to {}",
            node.addr()
        );
    }
    assert_eq!(commandstat_calls(&master, "get"), 0, "no GET on the master");
    assert_eq!(
        commandstat_calls(&master, "set"),
        1,
        "writes go to the master"
    );
    // A client in a transaction reads from the master (its dedicated connection).
    let (v,): (String,) = redis::pipe()
        .atomic()
        .cmd("GET")
        .arg("rk")
        .query(&mut c)
        .expect("MULTI GET EXEC");
    assert_eq!(v, "rv");
    assert_eq!(commandstat_calls(&master, "get"), 1);
    // A replica cut off from its master (told to follow a node that does not
    // exist: its link stays down) serves no more reads; they go to the master.
    let nowhere = common::free_port().to_string();
    assert_eq!(replica.cli_str(&["REPLICAOF", "127.0.0.1", &nowhere]), "OK");
    wait_for(Duration::from_secs(10), "the replica unhealthy", || {
        proxy.info_field("backend1").contains("healthy=0")
    });
    let v: String = redis::cmd("GET").arg("rk").query(&mut c).expect("GET");
    assert_eq!(v, "rv");
    assert_eq!(
        commandstat_calls(&master, "get"),
        2,
        "the read went to the master"
    );
}

/// `--unixsocket`/`--unixsocketperm`: the proxy also serves clients on a Unix
/// socket (as twemproxy's `listen: /path`), with the file's mode, on every
/// shard's behalf, and removes the file when it stops.
#[test]
fn serves_clients_on_a_unix_socket() {
    use std::os::unix::fs::{FileTypeExt, PermissionsExt};
    let node = Proc::tandem(&[]);
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("proxy.sock");
    let sock = path.to_str().expect("utf-8 path");
    let master = format!("127.0.0.1:{}", node.port);
    let mut proxy = ProxyProc::start(&[
        "--master",
        &master,
        "--unixsocket",
        sock,
        "--unixsocketperm",
        "770",
        "--threads",
        "2",
    ]);
    let meta = std::fs::metadata(&path).expect("socket file");
    assert!(meta.file_type().is_socket());
    assert_eq!(meta.permissions().mode() & 0o777, 0o770);
    let cli = |args: &[&str]| {
        let out = std::process::Command::new("redis-cli")
            .arg("-s")
            .arg(&path)
            .args(args)
            .output()
            .expect("redis-cli");
        String::from_utf8_lossy(&out.stdout).trim_end().to_string()
    };
    assert_eq!(cli(&["SET", "via-unix", "1"]), "OK");
    assert_eq!(
        node.cli_str(&["GET", "via-unix"]),
        "1",
        "forwarded to the node"
    );
    // A pipeline of 1,000 requests.
    let out = std::process::Command::new("redis-cli")
        .arg("-s")
        .arg(&path)
        .arg("--pipe")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .and_then(|mut c| {
            let mut input = Vec::new();
            for _ in 0..1000 {
                input.extend_from_slice(b"*2\r\n$4\r\nINCR\r\n$12\r\nunix-counter\r\n");
            }
            c.stdin.take().expect("stdin").write_all(&input)?;
            c.wait_with_output()
        })
        .expect("redis-cli --pipe");
    assert!(String::from_utf8_lossy(&out.stdout).contains("errors: 0, replies: 1000"));
    assert_eq!(node.cli_str(&["GET", "unix-counter"]), "1000");
    let _ = proxy.child.kill();
    let _ = proxy.child.wait();
    // SIGKILL leaves the file; a new proxy replaces it.
    assert!(path.exists());
    let again = ProxyProc::start(&["--master", &master, "--unixsocket", sock]);
    assert_eq!(cli(&["GET", "via-unix"]), "1");
    let _ = std::process::Command::new("kill")
        .arg("-TERM")
        .arg(again.child.id().to_string())
        .status();
    wait_for(
        Duration::from_secs(10),
        "the socket file removed at shutdown",
        || !path.exists(),
    );
}
