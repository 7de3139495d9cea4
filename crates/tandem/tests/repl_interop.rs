//! Replication interop with a real redis-server 7.0, both directions: full sync,
//! live writes of every type, a broken link and a partial resync, with the datasets
//! compared key by key. Also the pre-PSYNC `SYNC` command (`$<len>` framing).

mod common;
#[allow(dead_code)] // shared with the persistence tests; this file uses part of it
#[path = "persistence/data.rs"]
mod data;
#[path = "replication/support.rs"]
mod support;

use std::io::{Read, Write};
use std::time::Duration;

use common::{wait_for, Proc};
use support::*;

const T: Duration = Duration::from_secs(30);

fn kill_replicas(p: &Proc) {
    let n: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("TYPE")
        .arg("replica")
        .query(&mut p.client())
        .expect("CLIENT KILL TYPE replica");
    assert_eq!(n, 1);
}

#[test]
fn redis_replicates_from_tandem() {
    let m = Proc::tandem(&[]);
    let r = Proc::redis(&[]);
    let mut mc = m.client();
    data::populate(&mut mc);
    replicaof(&r, &m);
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
    assert!(r
        .log()
        .contains("MASTER <-> REPLICA sync: Finished with success"));
    for round in 0..4 {
        live_writes(&mut mc, round);
    }
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
    kill_replicas(&m);
    live_writes(&mut mc, 9);
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
    assert_eq!(info(&mut mc, "stats", "sync_full"), "1");
    assert_eq!(info(&mut mc, "stats", "sync_partial_ok"), "1");
    assert!(r
        .log()
        .contains("Successful partial resynchronization with master."));
    // The real replica's ACKs reach the master.
    wait_for(T, "the replica's ack", || {
        let n: i64 = redis::cmd("WAIT")
            .arg(1)
            .arg(100)
            .query(&mut mc)
            .expect("WAIT");
        n == 1
    });
}

fn tandem_replicates_from_redis(redis_args: &[&str]) {
    let m = Proc::redis(redis_args);
    let mut mc = m.client();
    data::populate(&mut mc);
    let port = m.port.to_string();
    let r = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
    for round in 0..4 {
        live_writes(&mut mc, round);
    }
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
    kill_replicas(&m);
    live_writes(&mut mc, 9);
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
    assert_eq!(info(&mut mc, "stats", "sync_full"), "1");
    assert_eq!(info(&mut mc, "stats", "sync_partial_ok"), "1");
    // Migration path: promote the Tandem replica; it takes writes.
    let mut rc = r.client();
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut rc)
        .expect("promote");
    let _: () = redis::cmd("SET")
        .arg("after")
        .arg("1")
        .query(&mut rc)
        .expect("SET");
    // ...and the old Redis master follows it, partially (PSYNC2).
    replicaof(&m, &r);
    wait_synced(&r, &m, T);
    assert_same_data(&m, &r);
    assert_eq!(info(&mut rc, "stats", "sync_partial_ok"), "1");
}

/// Disk-less (`$EOF:`): the Redis master streams only after the first ACK.
#[test]
fn tandem_replicates_from_redis_diskless() {
    tandem_replicates_from_redis(&["--repl-diskless-sync-delay", "0"]);
}

/// Disk-based (`$<len>` framing).
#[test]
fn tandem_replicates_from_redis_disk_based() {
    tandem_replicates_from_redis(&["--repl-diskless-sync", "no"]);
}

/// The old SYNC command: no `+FULLRESYNC`, `$<len>` framing, then the stream.
#[test]
fn sync_command_sends_a_length_framed_rdb() {
    let m = Proc::tandem(&[]);
    let mut mc = m.client();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut mc)
        .expect("SET");
    let mut s = m.raw();
    s.write_all(b"SYNC\r\n").expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    let mut len = None;
    wait_for(T, "the payload", || {
        let n = s.read(&mut buf).unwrap_or(0);
        got.extend_from_slice(&buf[..n]);
        while got.first() == Some(&b'\n') {
            got.remove(0);
        }
        if len.is_none() {
            if let Some(p) = got.windows(2).position(|w| w == b"\r\n") {
                let head = String::from_utf8_lossy(&got[..p]).into_owned();
                assert!(head.starts_with('$'), "{head}");
                len = Some((p + 2, head[1..].parse::<usize>().expect("length")));
            }
        }
        matches!(len, Some((h, l)) if got.len() >= h + l)
    });
    let (h, l) = len.expect("length");
    assert!(got[h..].starts_with(b"REDIS0010"));
    assert_eq!(got[h + l - 9], 0xFF, "RDB ends with EOF + checksum");
    // Then the stream.
    let _: () = redis::cmd("SET")
        .arg("k2")
        .arg("v2")
        .query(&mut mc)
        .expect("SET");
    wait_for(T, "the stream", || {
        let n = s.read(&mut buf).unwrap_or(0);
        got.extend_from_slice(&buf[..n]);
        got[h + l..].windows(2).any(|w| w == b"k2")
    });
}
