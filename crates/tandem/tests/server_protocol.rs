//! End-to-end: connection-level behaviour of `tandem server` over raw TCP: inline
//! commands, pipelining, protocol errors, request limits, HELLO/RESP3, AUTH,
//! unknown commands, CLIENT, MULTI/EXEC, SIGTERM.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{wait_for, Proc};

/// Reads exactly `want.len()` bytes (or until EOF) and compares.
fn expect(s: &mut TcpStream, want: &[u8]) {
    let mut got = vec![0u8; want.len()];
    let mut n = 0;
    while n < want.len() {
        match s.read(&mut got[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) => panic!(
                "read failed after {:?}: {e}",
                String::from_utf8_lossy(&got[..n])
            ),
        }
    }
    assert_eq!(
        String::from_utf8_lossy(&got[..n]),
        String::from_utf8_lossy(want)
    );
}

fn send(s: &mut TcpStream, data: &[u8]) {
    s.write_all(data).expect("write");
}

/// Reads until the server closes the connection; returns what it sent.
fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut v = Vec::new();
    let _ = s.read_to_end(&mut v);
    v
}

/// Inline commands work, with quoting, and an empty line is ignored.
#[test]
fn inline_commands() {
    let p = Proc::tandem(&[]);
    let mut s = p.raw();
    send(&mut s, b"PING\r\n\r\nECHO \"a b\"\r\necho 'c'\n");
    expect(&mut s, b"+PONG\r\n$3\r\na b\r\n$1\r\nc\r\n");
}

/// 10,000 PINGs in one write come back as 10,000 PONGs, in order.
#[test]
fn pipelining_ten_thousand_pings() {
    let p = Proc::tandem(&[]);
    let mut s = p.raw();
    let req = b"*1\r\n$4\r\nPING\r\n".repeat(10_000);
    send(&mut s, &req);
    expect(&mut s, &b"+PONG\r\n".repeat(10_000));
    send(&mut s, b"*2\r\n$4\r\nECHO\r\n$2\r\nok\r\n");
    expect(&mut s, b"$2\r\nok\r\n");
}

/// A protocol error closes only that connection, after Redis's error line.
#[test]
fn protocol_error_closes_only_that_connection() {
    let p = Proc::tandem(&[]);
    let mut good = p.raw();
    let mut bad = p.raw();
    send(&mut bad, b"*1\r\n+PING\r\n");
    let got = read_to_close(&mut bad);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: expected '$', got '+'\r\n"
    );
    send(&mut good, b"PING\r\n");
    expect(&mut good, b"+PONG\r\n");
}

/// proto-max-bulk-len refuses a larger bulk with Redis's error and closes.
#[test]
fn bulk_length_limit() {
    let p = Proc::tandem(&["--proto-max-bulk-len", "1mb"]);
    let mut s = p.raw();
    send(&mut s, b"*2\r\n$4\r\nECHO\r\n$2000000\r\n");
    let got = read_to_close(&mut s);
    assert_eq!(
        String::from_utf8_lossy(&got),
        "-ERR Protocol error: invalid bulk length\r\n"
    );
    let mut s = p.raw();
    send(&mut s, b"*-5\r\nPING\r\n");
    expect(&mut s, b"+PONG\r\n");
}

/// Unknown commands and wrong arity give Redis 7.0's exact errors.
#[test]
fn unknown_command_and_arity_errors() {
    let p = Proc::tandem(&[]);
    let mut s = p.raw();
    send(
        &mut s,
        b"foo a b\r\nECHO\r\nPING a b\r\nSELECT 99\r\nSELECT x\r\n",
    );
    expect(
        &mut s,
        b"-ERR unknown command 'foo', with args beginning with: 'a' 'b' \r\n\
-ERR wrong number of arguments for 'echo' command\r\n\
-ERR wrong number of arguments for 'ping' command\r\n\
-ERR DB index is out of range\r\n\
-ERR value is not an integer or out of range\r\n",
    );
}

/// HELLO 3 replies a map and switches the connection to RESP3; HELLO 4 is refused.
#[test]
fn hello_switches_to_resp3() {
    let p = Proc::tandem(&[]);
    let mut s = p.raw();
    send(&mut s, b"HELLO 4\r\nCLIENT ID\r\n");
    expect(&mut s, b"-NOPROTO unsupported protocol version\r\n:");
    let mut id = [0u8; 16];
    let n = s.read(&mut id).unwrap();
    let id = String::from_utf8_lossy(&id[..n]).trim().to_string();
    send(&mut s, b"HELLO 3\r\n");
    let want = format!(
        "%7\r\n$6\r\nserver\r\n$5\r\nredis\r\n$7\r\nversion\r\n$6\r\n7.0.15\r\n$5\r\nproto\r\n:3\r\n$2\r\nid\r\n:{id}\r\n$4\r\nmode\r\n$10\r\nstandalone\r\n$4\r\nrole\r\n$6\r\nmaster\r\n$7\r\nmodules\r\n*0\r\n"
    );
    expect(&mut s, want.as_bytes());
    send(&mut s, b"CLIENT GETNAME\r\nCONFIG GET port\r\n");
    let want = format!(
        "_\r\n%1\r\n$4\r\nport\r\n${}\r\n{}\r\n",
        p.port.to_string().len(),
        p.port
    );
    expect(&mut s, want.as_bytes());
}

/// requirepass: NOAUTH before AUTH, WRONGPASS for a bad password, then OK.
#[test]
fn auth_and_requirepass() {
    let p = Proc::tandem(&["--requirepass", "s3cret"]);
    let mut s = p.raw();
    send(
        &mut s,
        b"ECHO x\r\nAUTH nope\r\nAUTH default nope\r\nAUTH s3cret\r\nECHO x\r\n",
    );
    expect(
        &mut s,
        b"-NOAUTH Authentication required.\r\n\
-WRONGPASS invalid username-password pair or user is disabled.\r\n\
-WRONGPASS invalid username-password pair or user is disabled.\r\n\
+OK\r\n$1\r\nx\r\n",
    );
    let q = Proc::tandem(&[]);
    let mut s = q.raw();
    send(&mut s, b"AUTH x\r\n");
    expect(&mut s, b"-ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?\r\n");
}

/// MULTI queues, EXEC runs, nesting and errors are Redis's; a queueing error
/// aborts EXEC.
#[test]
fn multi_exec_discard() {
    let p = Proc::tandem(&[]);
    let mut s = p.raw();
    send(&mut s, b"EXEC\r\nDISCARD\r\nMULTI\r\nMULTI\r\nECHO a\r\nCLIENT SETNAME tx\r\nWATCH k\r\nEXEC\r\nCLIENT GETNAME\r\n");
    expect(
        &mut s,
        b"-ERR EXEC without MULTI\r\n-ERR DISCARD without MULTI\r\n+OK\r\n\
-ERR MULTI calls can not be nested\r\n+QUEUED\r\n+QUEUED\r\n\
-ERR WATCH inside MULTI is not allowed\r\n*2\r\n$1\r\na\r\n+OK\r\n$2\r\ntx\r\n",
    );
    send(
        &mut s,
        b"MULTI\r\nECHO a\r\nNOSUCH\r\nECHO\r\nEXEC\r\nMULTI\r\nPING\r\nDISCARD\r\n",
    );
    expect(
        &mut s,
        b"+OK\r\n+QUEUED\r\n-ERR unknown command 'NOSUCH', with args beginning with: \r\n\
-ERR wrong number of arguments for 'echo' command\r\n\
-EXECABORT Transaction discarded because of previous errors.\r\n+OK\r\n+QUEUED\r\n+OK\r\n",
    );
    send(&mut s, b"MULTI\r\nSHUTDOWN\r\nEXEC\r\n");
    expect(
        &mut s,
        b"+OK\r\n-ERR Command not allowed inside a transaction\r\n-EXECABORT Transaction discarded because of previous errors.\r\n",
    );
}

/// CLIENT: ID, SETNAME rules, LIST filters, KILL by id and old addr form.
#[test]
fn client_commands() {
    let p = Proc::tandem(&[]);
    let mut a = p.raw();
    let mut b = p.raw();
    send(&mut b, b"CLIENT SETNAME bee\r\n");
    expect(&mut b, b"+OK\r\n");
    send(&mut a, b"CLIENT SETNAME \"a b\"\r\n");
    expect(
        &mut a,
        b"-ERR Client names cannot contain spaces, newlines or special characters.\r\n",
    );
    let list = p.cli_str(&["CLIENT", "LIST"]);
    assert!(list.contains("name=bee"), "{list}");
    for f in [
        "id=",
        "addr=",
        "laddr=",
        "fd=",
        "age=",
        "idle=",
        "flags=N",
        "db=0",
        "sub=0",
        "psub=0",
        "multi=-1",
        "qbuf=",
        "omem=",
        "cmd=",
        "user=default",
        "resp=2",
    ] {
        assert!(list.contains(f), "missing {f} in {list}");
    }
    // Memory fields: a transaction's queued commands count in multi-mem and
    // tot-mem.
    let field = |line: &str, f: &str| -> usize {
        line.split(' ')
            .find_map(|kv| kv.strip_prefix(f))
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("{f} in {line}"))
    };
    let bee_line = |p: &Proc| {
        p.cli_str(&["CLIENT", "LIST"])
            .lines()
            .find(|l| l.contains("name=bee"))
            .map(str::to_string)
            .expect("bee listed")
    };
    let before = bee_line(&p);
    assert_eq!(field(&before, "multi-mem="), 0);
    send(&mut b, b"MULTI\r\n");
    expect(&mut b, b"+OK\r\n");
    let big = format!("SET k {}\r\n", "x".repeat(5000));
    send(&mut b, big.as_bytes());
    expect(&mut b, b"+QUEUED\r\n");
    let during = bee_line(&p);
    assert!(field(&during, "multi-mem=") > 5000, "{during}");
    assert!(
        field(&during, "tot-mem=") > field(&before, "tot-mem=") + 5000,
        "{before}\n{during}"
    );
    let bee = list
        .lines()
        .find(|l| l.contains("name=bee"))
        .and_then(|l| l.split(' ').next())
        .and_then(|f| f.strip_prefix("id="))
        .unwrap()
        .to_string();
    assert_eq!(p.cli_str(&["CLIENT", "KILL", "ID", &bee]), "1");
    assert_eq!(read_to_close(&mut b), b"");
    assert_eq!(p.cli_str(&["CLIENT", "KILL", "ID", &bee]), "0");
    assert_eq!(
        p.cli_str(&["CLIENT", "KILL", "1.2.3.4:5"]),
        "ERR No such client"
    );
    assert_eq!(
        p.cli_str(&["CLIENT", "NOPE"]),
        "ERR unknown subcommand 'NOPE'. Try CLIENT HELP."
    );
    send(&mut a, b"CLIENT UNBLOCK 12345\r\n");
    expect(&mut a, b":0\r\n");
}

/// maxclients: the connection over the limit gets Redis's error and is closed.
#[test]
fn maxclients_refusal() {
    let p = Proc::tandem(&["--maxclients", "2"]);
    // The harness's readiness connection may still be closing: retry until a
    // connection is served.
    let served = || {
        let mut found = None;
        wait_for(Duration::from_secs(5), "a served connection", || {
            let mut d = p.raw();
            let _ = d.write_all(b"PING\r\n");
            let mut buf = [0u8; 7];
            let ok = d.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n";
            if ok {
                found = Some(d);
            }
            ok
        });
        found.unwrap()
    };
    let a = served();
    let _b = served();
    let mut c = p.raw();
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut c)),
        "-ERR max number of clients reached\r\n"
    );
    drop(a);
    wait_for(Duration::from_secs(5), "a free client slot", || {
        let mut d = p.raw();
        let _ = d.write_all(b"PING\r\n");
        let mut buf = [0u8; 7];
        d.read_exact(&mut buf).is_ok() && &buf == b"+PONG\r\n"
    });
}

/// `timeout 1` closes an idle client.
#[test]
fn idle_timeout_closes_client() {
    let p = Proc::tandem(&["--timeout", "1"]);
    let mut s = p.raw();
    send(&mut s, b"PING\r\n");
    expect(&mut s, b"+PONG\r\n");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    assert_eq!(read_to_close(&mut s), b"");
}

/// SIGTERM with a client connected: the process exits 0 and says goodbye.
#[test]
fn sigterm_exits_zero() {
    let mut p = Proc::tandem(&[]);
    let mut s = p.raw();
    send(&mut s, b"PING\r\n");
    expect(&mut s, b"+PONG\r\n");
    let st = p.sigterm(Duration::from_secs(10)).expect("exited");
    assert!(st.success(), "{st}");
    let log = p.log();
    assert!(log.contains("Received SIGTERM"), "{log}");
    assert!(log.contains("ready to exit"), "{log}");
}

/// SHUTDOWN closes the connection without a reply and the process exits 0.
#[test]
fn shutdown_command_exits_zero() {
    let mut p = Proc::tandem(&[]);
    let mut s = p.raw();
    send(&mut s, b"SHUTDOWN NOSAVE\r\n");
    assert_eq!(read_to_close(&mut s), b"");
    let st = p.sigterm(Duration::from_secs(10)).expect("exited");
    assert!(st.success());
}

/// A request that outgrows client-query-buffer-limit closes the connection
/// without a reply; a multibulk count over the limit is a protocol error.
#[test]
fn query_buffer_and_multibulk_limits() {
    let p = Proc::tandem(&["--client-query-buffer-limit", "1mb"]);
    let mut s = p.raw();
    send(&mut s, b"*2\r\n$4\r\nECHO\r\n$3000000\r\n");
    let chunk = vec![b'x'; 64 * 1024];
    for _ in 0..24 {
        if s.write_all(&chunk).is_err() {
            break;
        }
    }
    assert_eq!(read_to_close(&mut s), b"");
    assert!(p.log().contains("max query buffer length"), "{}", p.log());
    let mut s = p.raw();
    send(&mut s, b"*4294967296\r\n");
    assert_eq!(
        String::from_utf8_lossy(&read_to_close(&mut s)),
        "-ERR Protocol error: invalid multibulk length\r\n"
    );
}

/// CLIENT PAUSE ALL holds other clients' commands until the pause ends;
/// CLIENT PAUSE WRITE lets reads through.
#[test]
fn client_pause() {
    let p = Proc::tandem(&[]);
    let mut a = p.raw();
    let mut b = p.raw();
    send(&mut a, b"CLIENT PAUSE 400 WRITE\r\n");
    expect(&mut a, b"+OK\r\n");
    let t = std::time::Instant::now();
    send(&mut b, b"PING\r\n");
    expect(&mut b, b"+PONG\r\n");
    assert!(
        t.elapsed() < Duration::from_millis(300),
        "reads are not paused"
    );
    send(&mut a, b"CLIENT PAUSE 400\r\n");
    expect(&mut a, b"+OK\r\n");
    let t = std::time::Instant::now();
    send(&mut b, b"PING\r\n");
    expect(&mut b, b"+PONG\r\n");
    assert!(
        t.elapsed() >= Duration::from_millis(300),
        "{:?}",
        t.elapsed()
    );
}

/// CLIENT UNPAUSE releases a write held by CLIENT PAUSE at once, not when the
/// pause would have expired (a planned switchover unpauses the old master after
/// demoting it; its held writes must be answered right away, with -READONLY).
#[test]
fn client_unpause_releases_held_writes_at_once() {
    let p = Proc::tandem(&[]);
    let mut admin = p.raw();
    admin
        .write_all(b"CLIENT PAUSE 20000 WRITE\r\n")
        .expect("write");
    expect(&mut admin, b"+OK\r\n");
    let mut writer = p.raw();
    writer.write_all(b"SET k v\r\n").expect("write");
    // Held: nothing comes back while the pause lasts.
    writer
        .set_read_timeout(Some(Duration::from_millis(200)))
        .expect("timeout");
    let mut b = [0u8; 8];
    assert!(
        writer.read(&mut b).is_err(),
        "a write was answered during the pause"
    );
    let start = std::time::Instant::now();
    admin.write_all(b"CLIENT UNPAUSE\r\n").expect("write");
    expect(&mut admin, b"+OK\r\n");
    writer
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    expect(&mut writer, b"+OK\r\n");
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "the held write waited {:?} after CLIENT UNPAUSE",
        start.elapsed()
    );
}

/// The normal class of `client-output-buffer-limit` closes a client whose
/// replies exceed the hard limit (the reply is never sent), counts it in INFO,
/// and leaves other clients alone.
#[test]
fn normal_client_output_buffer_limit_closes_the_client() {
    let p = Proc::tandem(&[]);
    let mut c = p.client();
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("client-output-buffer-limit")
        .arg("normal 100kb 0 0")
        .query(&mut c)
        .expect("CONFIG SET");
    let item = "x".repeat(100);
    let mut pipe = redis::pipe();
    for _ in 0..2000 {
        pipe.cmd("RPUSH").arg("big").arg(&item).ignore();
    }
    let _: () = pipe.query(&mut c).expect("fill");
    let mut s = p.raw();
    s.write_all(b"LRANGE big 0 -1\r\n").expect("write");
    let mut buf = Vec::new();
    let _ = s.read_to_end(&mut buf);
    assert!(
        buf.is_empty(),
        "got {} bytes of a reply over the limit",
        buf.len()
    );
    // A small reply is still fine, on another connection.
    let n: i64 = redis::cmd("LLEN").arg("big").query(&mut c).expect("LLEN");
    assert_eq!(n, 2000);
    let info: String = redis::cmd("INFO").arg("stats").query(&mut c).expect("INFO");
    assert!(
        info.contains("client_output_buffer_limit_disconnections:1"),
        "{info}"
    );
}

fn blocked_clients(admin: &mut TcpStream) -> String {
    admin.write_all(b"INFO clients\r\n").expect("write");
    let mut buf = vec![0u8; 4096];
    let n = admin.read(&mut buf).expect("read");
    String::from_utf8_lossy(&buf[..n])
        .lines()
        .find_map(|l| l.strip_prefix("blocked_clients:").map(str::to_string))
        .unwrap_or_default()
}

/// A blocked client that goes away is unblocked at once, as in Redis: a later
/// push stays in the list instead of being served to the dead client (and lost).
#[test]
fn a_blocked_client_that_disconnects_is_unblocked_at_once() {
    let p = Proc::tandem(&[]);
    let mut admin = p.raw();
    let mut blocked = p.raw();
    blocked.write_all(b"BLPOP q 0\r\n").expect("write");
    wait_for(Duration::from_secs(5), "client blocked", || {
        blocked_clients(&mut admin) == "1"
    });
    drop(blocked);
    wait_for(Duration::from_secs(5), "client unblocked", || {
        blocked_clients(&mut admin) == "0"
    });
    admin.write_all(b"LPUSH q x\r\nLLEN q\r\n").expect("write");
    expect(&mut admin, b":1\r\n:1\r\n");
}

/// What a blocked client pipelines behind its blocking command runs after it,
/// in order.
#[test]
fn requests_pipelined_behind_a_blocking_command_run_after_it() {
    let p = Proc::tandem(&[]);
    let mut admin = p.raw();
    let mut blocked = p.raw();
    blocked.write_all(b"BLPOP q 0\r\n").expect("write");
    wait_for(Duration::from_secs(5), "client blocked", || {
        blocked_clients(&mut admin) == "1"
    });
    blocked.write_all(b"PING\r\nECHO after\r\n").expect("write");
    admin.write_all(b"RPUSH q x\r\n").expect("write");
    expect(&mut admin, b":1\r\n");
    expect(
        &mut blocked,
        b"*2\r\n$1\r\nq\r\n$1\r\nx\r\n+PONG\r\n$5\r\nafter\r\n",
    );
}

/// LOLWUT answers Redis's version line (verbatim text in RESP3) and checks a
/// VERSION argument as Redis does; FAILOVER explains that the monitor
/// switches masters.
#[test]
fn lolwut_and_failover() {
    let cases: &[&[&str]] = &[
        &["LOLWUT"],
        &["LOLWUT", "VERSION", "7"],
        &["LOLWUT", "VERSION", "x"],
        &["LOLWUT", "foo"],
        &["LOLWUT", "VERSION"],
    ];
    for resp3 in [false, true] {
        let t = common::same_replies_as_redis(cases, resp3);
        assert!(common::case(&t, r#"["LOLWUT"]"#).contains("Redis ver. 7.0.15"));
    }
    let p = Proc::tandem(&[]);
    assert!(p.cli_str(&["FAILOVER"]).contains("run `tandem failover`"));
}
