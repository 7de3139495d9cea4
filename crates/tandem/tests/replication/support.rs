//! Helpers shared by the replication tests: INFO fields, waiting until a replica
//! has caught up with its master, live writes of every type, and comparing two
//! servers' datasets key by key (with the persistence tests' dump).
#![allow(dead_code)] // each test binary uses a different part

use std::time::Duration;

use redis::Connection;

use crate::common::{wait_for, Proc};
use crate::data;

/// One field of `INFO <section>`.
pub fn info(c: &mut Connection, section: &str, name: &str) -> String {
    try_info(c, section, name).unwrap_or_else(|| panic!("INFO {section} has no {name}"))
}

pub fn try_info(c: &mut Connection, section: &str, name: &str) -> Option<String> {
    let text: String = redis::cmd("INFO").arg(section).query(c).ok()?;
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .map(|v| v.trim().to_string())
}

pub fn info_u64(c: &mut Connection, section: &str, name: &str) -> u64 {
    info(c, section, name)
        .parse()
        .unwrap_or_else(|_| panic!("INFO {name} is not a number"))
}

/// A fresh connection, retrying while the server restarts.
pub fn connect(p: &Proc) -> Connection {
    let mut out = None;
    wait_for(Duration::from_secs(20), "a connection", || {
        out = redis::Client::open(p.url())
            .and_then(|c| c.get_connection_with_timeout(Duration::from_secs(2)))
            .ok();
        out.is_some()
    });
    out.expect("connected")
}

/// Makes `replica` replicate from `master` (REPLICAOF 127.0.0.1 port).
pub fn replicaof(replica: &Proc, master: &Proc) {
    let mut c = connect(replica);
    let r: String = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port)
        .query(&mut c)
        .expect("REPLICAOF");
    assert!(r.starts_with("OK"), "{r}");
}

/// Waits until `replica`'s link is up and it has applied everything `master`
/// wrote so far (equal offsets).
pub fn wait_synced(master: &Proc, replica: &Proc, timeout: Duration) {
    let mut m = connect(master);
    let mut r = connect(replica);
    wait_for(timeout, "the replica to catch up with its master", || {
        let up = try_info(&mut r, "replication", "master_link_status").as_deref() == Some("up");
        let mo = try_info(&mut m, "replication", "master_repl_offset");
        let ro = try_info(&mut r, "replication", "slave_repl_offset");
        up && mo.is_some() && mo == ro
    });
}

/// Both servers' databases 0..16, key by key.
pub fn assert_same_data(a: &Proc, b: &Proc) {
    let da = data::dump(&mut connect(a), 16);
    let db = data::dump(&mut connect(b), 16);
    assert_eq!(da.len(), db.len(), "key counts differ");
    for (k, v) in &da {
        assert_eq!(Some(v), db.get(k), "key {k:?} differs");
    }
}

/// Writes of every type, in several databases, including a transaction, TTLs,
/// deletions and an expiring key.
pub fn live_writes(c: &mut Connection, round: u32) {
    let mut p = redis::pipe();
    p.cmd("SELECT").arg(0).ignore();
    p.cmd("SET").arg(format!("live:s{round}")).arg("v").ignore();
    p.cmd("INCRBY").arg("live:counter").arg(round).ignore();
    p.cmd("APPEND").arg("live:app").arg("ab").ignore();
    p.cmd("SETEX")
        .arg(format!("live:ttl{round}"))
        .arg(1000)
        .arg("t")
        .ignore();
    p.cmd("RPUSH")
        .arg("live:list")
        .arg(&["a", "b", "c"])
        .ignore();
    p.cmd("LPOP").arg("live:list").ignore();
    p.cmd("SELECT").arg(2).ignore();
    p.cmd("SADD")
        .arg("live:set")
        .arg(&[round.to_string(), "x".into()])
        .ignore();
    p.cmd("SREM").arg("live:set").arg("x").ignore();
    p.cmd("HSET")
        .arg("live:hash")
        .arg(format!("f{round}"))
        .arg(round)
        .ignore();
    p.cmd("HINCRBY").arg("live:hash").arg("n").arg(2).ignore();
    p.cmd("ZADD")
        .arg("live:zset")
        .arg(round as f64 * 1.5)
        .arg(format!("m{round}"))
        .ignore();
    p.cmd("ZINCRBY")
        .arg("live:zset")
        .arg(0.25)
        .arg("m0")
        .ignore();
    p.cmd("SELECT").arg(5).ignore();
    p.cmd("MULTI").ignore();
    p.cmd("SET").arg("live:tx").arg(round).ignore();
    p.cmd("EXPIRE").arg("live:tx").arg(5000).ignore();
    p.cmd("LPUSH").arg("live:txlist").arg(round).ignore();
    p.cmd("EXEC").ignore();
    p.cmd("SETBIT")
        .arg("live:bits")
        .arg(round * 3)
        .arg(1)
        .ignore();
    p.cmd("PFADD")
        .arg("live:hll")
        .arg(format!("e{round}"))
        .ignore();
    p.cmd("DEL").arg(format!("live:gone{round}")).ignore();
    p.cmd("SET")
        .arg(format!("live:gone{}", round + 1))
        .arg("soon deleted")
        .ignore();
    p.cmd("SELECT").arg(0).ignore();
    p.query::<()>(c).expect("live writes");
}

pub fn set_config(c: &mut redis::Connection, kv: &[(&str, &str)]) {
    for (k, v) in kv {
        let _: () = redis::cmd("CONFIG")
            .arg("SET")
            .arg(*k)
            .arg(*v)
            .query(c)
            .expect("CONFIG SET");
    }
}

pub fn sigstop(p: &Proc, stop: bool) {
    let sig = if stop { "-STOP" } else { "-CONT" };
    let ok = std::process::Command::new("kill")
        .arg(sig)
        .arg(p.pid().to_string())
        .status()
        .expect("kill")
        .success();
    assert!(ok);
    // The signal is asynchronous: wait until the process is really stopped (or
    // running again), so the next write meets the state the test names.
    let stat = format!("/proc/{}/stat", p.pid());
    wait_for(
        Duration::from_secs(30),
        "the process state to change",
        || {
            let s = std::fs::read_to_string(&stat).unwrap_or_default();
            let state = s
                .rsplit_once(')')
                .and_then(|(_, r)| r.trim_start().chars().next());
            (state == Some('T')) == stop
        },
    );
}
