//! Tandem → Tandem replication end to end: full sync, live writes of every type,
//! partial resync after a broken link, PSYNC2 across a promotion, chained replicas,
//! read-only replicas, ROLE/INFO/WAIT, expired keys, epochs and fencing (sync
//! mode: sync_mode.rs).

mod common;
#[allow(dead_code)] // shared with the persistence tests; this file uses part of it
#[path = "persistence/data.rs"]
mod data;
#[path = "replication/support.rs"]
mod support;

use std::time::{Duration, Instant};

use common::{wait_for, Proc};
use redis::Value;
use support::*;

const T: Duration = Duration::from_secs(30);

fn pair() -> (Proc, Proc) {
    let m = Proc::tandem(&[]);
    let r = Proc::tandem(&[]);
    (m, r)
}

#[test]
fn full_sync_then_live_writes_of_every_type() {
    let (m, r) = pair();
    let mut mc = m.client();
    data::populate(&mut mc);
    replicaof(&r, &m);
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
    for round in 0..5 {
        live_writes(&mut mc, round);
    }
    wait_synced(&m, &r, T);
    assert_same_data(&m, &r);
    let mut rc = r.client();
    assert_eq!(info(&mut rc, "replication", "role"), "slave");
    assert_eq!(info(&mut mc, "stats", "sync_full"), "1");
    assert!(r
        .log()
        .contains("MASTER <-> REPLICA sync: Finished with success"));
    assert!(m
        .log()
        .contains("Starting BGSAVE for SYNC with target: replicas sockets"));
}

#[test]
fn broken_link_resyncs_partially() {
    let (m, r) = pair();
    let mut mc = m.client();
    data::populate(&mut mc);
    replicaof(&r, &m);
    wait_synced(&m, &r, T);
    for round in 0..3 {
        let killed: i64 = redis::cmd("CLIENT")
            .arg("KILL")
            .arg("TYPE")
            .arg("replica")
            .query(&mut mc)
            .expect("CLIENT KILL");
        assert_eq!(killed, 1);
        // Writes while the link is down come from the backlog.
        live_writes(&mut mc, 10 + round);
        wait_synced(&m, &r, T);
    }
    assert_same_data(&m, &r);
    assert_eq!(info(&mut mc, "stats", "sync_full"), "1");
    assert_eq!(info(&mut mc, "stats", "sync_partial_ok"), "3");
    assert!(r
        .log()
        .contains("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization."));
}

#[test]
fn promotion_keeps_history_so_the_others_continue_partially() {
    let m = Proc::tandem(&[]);
    let r1 = Proc::tandem(&[]);
    let r2 = Proc::tandem(&[]);
    let mut mc = m.client();
    data::populate(&mut mc);
    replicaof(&r1, &m);
    replicaof(&r2, &m);
    live_writes(&mut mc, 1);
    wait_synced(&m, &r1, T);
    wait_synced(&m, &r2, T);
    let old_id = info(&mut mc, "replication", "master_replid");
    let mut c1 = r1.client();
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut c1)
        .expect("promote");
    assert_eq!(info(&mut c1, "replication", "role"), "master");
    assert_eq!(info(&mut c1, "replication", "master_replid2"), old_id);
    assert_ne!(info(&mut c1, "replication", "master_replid"), old_id);
    let off: i64 = info(&mut c1, "replication", "master_repl_offset")
        .parse()
        .expect("offset");
    assert_eq!(
        info(&mut c1, "replication", "second_repl_offset"),
        (off + 1).to_string()
    );
    live_writes(&mut c1, 2);
    // The sibling and the demoted old master both continue partially.
    replicaof(&r2, &r1);
    replicaof(&m, &r1);
    live_writes(&mut c1, 3);
    wait_synced(&r1, &r2, T);
    wait_synced(&r1, &m, T);
    assert_eq!(info(&mut c1, "stats", "sync_full"), "0");
    assert_eq!(info(&mut c1, "stats", "sync_partial_ok"), "2");
    assert_same_data(&r1, &r2);
    assert_same_data(&r1, &m);
}

#[test]
fn chained_replicas_share_offsets() {
    let m = Proc::tandem(&[]);
    let r1 = Proc::tandem(&[]);
    let r2 = Proc::tandem(&[]);
    let mut mc = m.client();
    data::populate(&mut mc);
    replicaof(&r1, &m);
    wait_synced(&m, &r1, T);
    replicaof(&r2, &r1);
    for round in 0..3 {
        live_writes(&mut mc, round);
    }
    wait_synced(&m, &r1, T);
    wait_synced(&r1, &r2, T);
    assert_same_data(&m, &r2);
    let mo = info(&mut mc, "replication", "master_repl_offset");
    assert_eq!(
        info(&mut r2.client(), "replication", "slave_repl_offset"),
        mo
    );
    assert_eq!(
        info(&mut r2.client(), "replication", "master_replid"),
        info(&mut mc, "replication", "master_replid")
    );
}

#[test]
fn replica_is_read_only_and_reports_role_and_info() {
    let (m, r) = pair();
    let mut mc = m.client();
    let mut rc = r.client();
    replicaof(&r, &m);
    let again: String = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(m.port)
        .query(&mut rc)
        .expect("REPLICAOF again");
    assert_eq!(again, "OK Already connected to specified master");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut mc)
        .expect("SET");
    wait_synced(&m, &r, T);
    let err = redis::cmd("SET")
        .arg("x")
        .arg("1")
        .query::<()>(&mut rc)
        .expect_err("write on a replica");
    assert_eq!(err.code(), Some("READONLY"));
    assert_eq!(
        err.detail(),
        Some("You can't write against a read only replica.")
    );
    let v: String = redis::cmd("GET").arg("k").query(&mut rc).expect("GET");
    assert_eq!(v, "v");
    // ROLE on both sides, Redis's shapes.
    let role: Value = redis::cmd("ROLE").query(&mut rc).expect("ROLE");
    let Value::Array(items) = role else {
        panic!("ROLE: {role:?}")
    };
    assert_eq!(items.len(), 5);
    assert_eq!(items[0], Value::BulkString(b"slave".to_vec()));
    assert_eq!(items[2], Value::Int(m.port as i64));
    assert_eq!(items[3], Value::BulkString(b"connected".to_vec()));
    wait_for(T, "the replica's ACK", || {
        let role: Value = redis::cmd("ROLE").query(&mut mc).expect("ROLE");
        matches!(&role, Value::Array(a) if matches!(&a[2], Value::Array(r) if r.len() == 1))
    });
    let n: i64 = redis::cmd("WAIT")
        .arg(1)
        .arg(5000)
        .query(&mut mc)
        .expect("WAIT");
    assert_eq!(n, 1);
    let t0 = Instant::now();
    let n: i64 = redis::cmd("WAIT")
        .arg(2)
        .arg(300)
        .query(&mut mc)
        .expect("WAIT");
    assert_eq!(n, 1);
    assert!(t0.elapsed() >= Duration::from_millis(250));
    let slave0 = info(&mut mc, "replication", "slave0");
    assert!(
        slave0.starts_with(&format!(
            "ip=127.0.0.1,port={},state=online,offset=",
            r.port
        )),
        "{slave0}"
    );
    assert_eq!(info(&mut mc, "replication", "connected_slaves"), "1");
    for f in [
        "master_host",
        "master_port",
        "master_last_io_seconds_ago",
        "master_sync_in_progress",
        "slave_read_repl_offset",
        "slave_priority",
        "slave_read_only",
        "replica_announced",
        "master_failover_state",
        "repl_backlog_active",
        "repl_backlog_histlen",
    ] {
        info(&mut rc, "replication", f);
    }
    let err = redis::cmd("WAIT")
        .arg(1)
        .arg(0)
        .query::<i64>(&mut rc)
        .expect_err("WAIT on a replica");
    assert!(err
        .to_string()
        .contains("WAIT cannot be used with replica instances"));
    // replica-serve-stale-data no: MASTERDOWN once the master is gone.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("replica-serve-stale-data")
        .arg("no")
        .query(&mut rc)
        .expect("CONFIG SET");
    drop(m);
    wait_for(T, "MASTERDOWN", || {
        redis::cmd("GET")
            .arg("k")
            .query::<Option<String>>(&mut rc)
            .is_err_and(|e| e.code() == Some("MASTERDOWN"))
    });
    let _: () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut rc)
        .expect("promote");
    let _: () = redis::cmd("SET")
        .arg("x")
        .arg("1")
        .query(&mut rc)
        .expect("writable");
}

#[test]
fn expired_keys_are_hidden_on_the_replica_until_the_master_deletes_them() {
    let m = Proc::tandem(&["--enable-debug-command", "local"]);
    let r = Proc::tandem(&[]);
    let mut mc = m.client();
    let mut rc = r.client();
    let _: () = redis::cmd("DEBUG")
        .arg("SET-ACTIVE-EXPIRE")
        .arg(0)
        .query(&mut mc)
        .expect("DEBUG SET-ACTIVE-EXPIRE");
    replicaof(&r, &m);
    let _: () = redis::cmd("SET")
        .arg("e")
        .arg("v")
        .arg("PX")
        .arg(100)
        .query(&mut mc)
        .expect("SET");
    wait_synced(&m, &r, T);
    std::thread::sleep(Duration::from_millis(150));
    // Logically expired: hidden on read, but still there until the master's DEL.
    let v: Option<String> = redis::cmd("GET").arg("e").query(&mut rc).expect("GET");
    assert_eq!(v, None);
    let n: i64 = redis::cmd("DBSIZE").query(&mut rc).expect("DBSIZE");
    assert_eq!(n, 1);
    // The master's lazy expiry sends DEL.
    let v: Option<String> = redis::cmd("GET").arg("e").query(&mut mc).expect("GET");
    assert_eq!(v, None);
    wait_synced(&m, &r, T);
    let n: i64 = redis::cmd("DBSIZE").query(&mut rc).expect("DBSIZE");
    assert_eq!(n, 0);
}

#[test]
fn min_replicas_to_write() {
    let (m, r) = pair();
    let mut mc = m.client();
    set_config(&mut mc, &[("min-replicas-to-write", "1")]);
    let err = redis::cmd("SET")
        .arg("a")
        .arg(1)
        .query::<()>(&mut mc)
        .expect_err("no replicas");
    assert_eq!(err.code(), Some("NOREPLICAS"));
    assert_eq!(err.detail(), Some("Not enough good replicas to write."));
    replicaof(&r, &m);
    wait_for(T, "a good replica", || {
        redis::cmd("SET")
            .arg("a")
            .arg(1)
            .query::<()>(&mut mc)
            .is_ok()
    });
    assert_eq!(info(&mut mc, "replication", "min_slaves_good_slaves"), "1");
}

#[test]
fn epochs_fence_writes() {
    let m = Proc::tandem(&[]);
    let mut c = m.client();
    let e: i64 = redis::cmd("TANDEM")
        .arg("EPOCH")
        .query(&mut c)
        .expect("EPOCH");
    assert_eq!(e, 0);
    let _: () = redis::cmd("TANDEM")
        .arg("EPOCH")
        .arg("SET")
        .arg(5)
        .query(&mut c)
        .expect("SET");
    assert_eq!(info(&mut c, "replication", "tandem_epoch"), "5");
    let err = redis::cmd("TANDEM")
        .arg("FENCE")
        .arg(5)
        .query::<()>(&mut c)
        .expect_err("not newer");
    assert!(err.to_string().contains("not newer"), "{err}");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg(1)
        .query(&mut c)
        .expect("SET");
    let _: () = redis::cmd("TANDEM")
        .arg("FENCE")
        .arg(6)
        .query(&mut c)
        .expect("FENCE");
    let err = redis::cmd("SET")
        .arg("k")
        .arg(2)
        .query::<()>(&mut c)
        .expect_err("fenced");
    assert!(err.to_string().contains("FENCED"), "{err}");
    let v: String = redis::cmd("GET")
        .arg("k")
        .query(&mut c)
        .expect("reads still served");
    assert_eq!(v, "1");
    assert_eq!(info(&mut c, "replication", "tandem_fenced"), "1");
    let role: Value = redis::cmd("TANDEM")
        .arg("ROLE")
        .query(&mut c)
        .expect("ROLE");
    let Value::Array(items) = role else {
        panic!("{role:?}")
    };
    assert_eq!(items[0], Value::BulkString(b"master".to_vec()));
    assert_eq!(items[1], Value::Int(5));
    assert_eq!(items[4], Value::Int(1));
    // Promoted again under a newer epoch: writable.
    let _: () = redis::cmd("TANDEM")
        .arg("EPOCH")
        .arg(7)
        .query(&mut c)
        .expect("EPOCH 7");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg(3)
        .query(&mut c)
        .expect("SET");
}

#[test]
fn fence_can_follow_the_new_master() {
    let (old, new) = pair();
    let mut oc = old.client();
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("old")
        .query(&mut oc)
        .expect("SET");
    let mut nc = new.client();
    let _: () = redis::cmd("TANDEM")
        .arg("EPOCH")
        .arg(2)
        .query(&mut nc)
        .expect("EPOCH");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("new")
        .query(&mut nc)
        .expect("SET");
    let _: () = redis::cmd("TANDEM")
        .arg("FENCE")
        .arg(2)
        .arg("127.0.0.1")
        .arg(new.port)
        .query(&mut oc)
        .expect("FENCE and follow");
    wait_synced(&new, &old, T);
    let v: String = redis::cmd("GET").arg("k").query(&mut oc).expect("GET");
    assert_eq!(v, "new");
    assert_eq!(info(&mut oc, "replication", "role"), "slave");
}

#[test]
fn self_fencing_without_contact() {
    let m = Proc::tandem(&["--fence-timeout", "300"]);
    let mut c = m.client();
    wait_for(T, "self-fenced", || {
        redis::cmd("SET")
            .arg("k")
            .arg(1)
            .query::<()>(&mut c)
            .is_err_and(|e| e.to_string().contains("FENCED"))
    });
    // Monitor contact (any TANDEM command) lifts it.
    let _: i64 = redis::cmd("TANDEM")
        .arg("EPOCH")
        .query(&mut c)
        .expect("EPOCH");
    wait_for(T, "writable again", || {
        redis::cmd("SET")
            .arg("k")
            .arg(1)
            .query::<()>(&mut c)
            .is_ok()
    });
}

#[test]
fn newline_keepalives_while_waiting_for_a_running_snapshot() {
    use std::io::{Read, Write};
    let m = Proc::tandem(&[]);
    let mut c = m.client();
    let mut p = redis::pipe();
    for i in 0..1000 {
        p.cmd("SET").arg(format!("k{i}")).arg(i).ignore();
    }
    p.query::<()>(&mut c).expect("load");
    // A BGSAVE of about 2 s holds the one child slot: the sync must wait.
    set_config(&mut c, &[("rdb-key-save-delay", "2000")]);
    let _: String = redis::cmd("BGSAVE").query(&mut c).expect("BGSAVE");
    let mut s = m.raw();
    s.write_all(b"PSYNC ? -1\r\n").expect("write");
    let mut first = [0u8; 1];
    s.read_exact(&mut first)
        .expect("a byte within the read timeout");
    assert_eq!(
        &first, b"\n",
        "a keep-alive newline comes before +FULLRESYNC"
    );
    assert_eq!(
        info(&mut c, "replication", "slave0").split(',').nth(2),
        Some("state=wait_bgsave")
    );
    set_config(&mut c, &[("rdb-key-save-delay", "0")]);
}

#[test]
fn masterauth_authenticates_the_link() {
    let m = Proc::tandem(&["--requirepass", "s3cret"]);
    let port = m.port.to_string();
    let r = Proc::tandem(&["--masterauth", "s3cret", "--replicaof", "127.0.0.1", &port]);
    let url = format!("redis://:s3cret@127.0.0.1:{}/", m.port);
    let mut mc = redis::Client::open(url)
        .and_then(|c| c.get_connection())
        .expect("AUTH connection");
    let _: () = redis::cmd("SET")
        .arg("k")
        .arg("v")
        .query(&mut mc)
        .expect("SET");
    let mut rc = r.client();
    wait_for(T, "the authenticated link to deliver the write", || {
        redis::cmd("GET")
            .arg("k")
            .query::<Option<String>>(&mut rc)
            .ok()
            == Some(Some("v".into()))
    });
    // Without the password the replica cannot sync.
    let bad = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    wait_for(T, "the refusal in the log", || bad.log().contains("NOAUTH"));
    assert_eq!(
        info(&mut bad.client(), "replication", "master_link_status"),
        "down"
    );
}

#[test]
fn local_writes_on_a_writable_replica_stay_local() {
    let (m, r) = pair();
    let mut mc = m.client();
    let mut rc = r.client();
    replicaof(&r, &m);
    set_config(&mut rc, &[("replica-read-only", "no")]);
    let _: () = redis::cmd("SET")
        .arg("a")
        .arg(1)
        .query(&mut mc)
        .expect("SET");
    wait_synced(&m, &r, T);
    let _: () = redis::cmd("SET")
        .arg("local")
        .arg(1)
        .query(&mut rc)
        .expect("local write");
    let _: () = redis::cmd("SET")
        .arg("b")
        .arg(2)
        .query(&mut mc)
        .expect("SET");
    // Offsets still match the master's (the local write is not in the stream).
    wait_synced(&m, &r, T);
    let v: Option<String> = redis::cmd("GET").arg("b").query(&mut rc).expect("GET");
    assert_eq!(v.as_deref(), Some("2"));
}

#[test]
fn restarted_replica_continues_from_its_snapshot() {
    let m = Proc::tandem(&[]);
    let mut mc = m.client();
    data::populate(&mut mc);
    let port = m.port.to_string();
    let mut r = Proc::tandem(&["--replicaof", "127.0.0.1", &port]);
    wait_synced(&m, &r, T);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut mc).expect("SELECT");
    let _: () = redis::cmd("SET")
        .arg("in3")
        .arg(1)
        .query(&mut mc)
        .expect("SET");
    wait_synced(&m, &r, T);
    // SHUTDOWN saves the snapshot with the replication ID, offset and stream db.
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut r.client());
    wait_for(T, "the replica to exit", || {
        matches!(r.child.try_wait(), Ok(Some(_)))
    });
    // The master's stream goes on in db 3 (no SELECT): the restarted replica
    // must apply it there.
    let _: () = redis::cmd("SET")
        .arg("while-down")
        .arg(1)
        .query(&mut mc)
        .expect("SET");
    r.restart();
    wait_synced(&m, &r, T);
    assert_eq!(info(&mut mc, "stats", "sync_full"), "1");
    assert_eq!(info(&mut mc, "stats", "sync_partial_ok"), "1");
    assert!(r.log().contains("stored in the RDB file"));
    assert_same_data(&m, &r);
}

/// A transaction that writes more than once enters the write stream as one
/// `MULTI ... EXEC` block (as Redis 7.0 propagates it), so a replica, or an AOF
/// replay, applies all of it or none of it; the replica ends with both writes.
#[test]
fn transactions_enter_the_stream_as_one_block() {
    let m = Proc::tandem(&["--appendonly", "yes", "--appendfsync", "always"]);
    let r = Proc::tandem(&[]);
    replicaof(&r, &m);
    wait_synced(&m, &r, T);
    let mut mc = m.client();
    let (a, b): (i64, i64) = redis::pipe()
        .atomic()
        .cmd("INCR")
        .arg("tx:a")
        .cmd("INCR")
        .arg("tx:b")
        .query(&mut mc)
        .expect("EXEC");
    assert_eq!((a, b), (1, 1));
    wait_synced(&m, &r, T);
    let mut rc = r.client();
    let got: (i64, i64) = redis::cmd("MGET")
        .arg("tx:a")
        .arg("tx:b")
        .query(&mut rc)
        .expect("MGET on the replica");
    assert_eq!(got, (1, 1));
    // The stream's bytes, as the AOF holds them (it is the same stream).
    let dir = m.dir.path().join("appendonlydir");
    let incr = std::fs::read_dir(&dir)
        .expect("AOF dir")
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.to_string_lossy().ends_with(".incr.aof"))
        .expect("an incr file");
    let text = String::from_utf8_lossy(&std::fs::read(&incr).expect("read AOF")).into_owned();
    let block = "*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$4\r\ntx:a\r\n*2\r\n$4\r\nINCR\r\n$4\r\ntx:b\r\n*1\r\n$4\r\nEXEC\r\n";
    assert!(
        text.contains(block),
        "no MULTI/EXEC block in the stream: {text:?}"
    );
}

/// PUBLISH enters the write stream, as Redis forces it: a replica's subscribers
/// get the master's messages.
#[test]
fn published_messages_reach_the_replicas_subscribers() {
    let (m, r) = pair();
    replicaof(&r, &m);
    wait_synced(&m, &r, T);
    let mut rc = r.client();
    let mut sub = rc.as_pubsub();
    sub.subscribe("news").expect("SUBSCRIBE");
    sub.set_read_timeout(Some(T)).expect("timeout");
    let mut mc = m.client();
    let receivers: i64 = redis::cmd("PUBLISH")
        .arg("news")
        .arg("hello")
        .query(&mut mc)
        .expect("PUBLISH");
    assert_eq!(receivers, 0, "nobody subscribes on the master itself");
    let msg = sub.get_message().expect("the message on the replica");
    assert_eq!(msg.get_channel_name(), "news");
    assert_eq!(msg.get_payload::<String>().expect("payload"), "hello");
}

/// A master turned into a replica releases its blocked clients as Redis 7.0
/// does: each gets `-UNBLOCKED ... (master -> replica?)`, then the connection
/// closes. Checked against a real redis-server too, so the two agree.
#[test]
fn demotion_releases_blocked_clients_with_unblocked_then_closes() {
    use std::io::{Read, Write};
    for (m, r) in [
        (Proc::tandem(&[]), Proc::tandem(&[])),
        (Proc::redis(&[]), Proc::redis(&[])),
    ] {
        let mut blocked = m.raw();
        blocked.write_all(b"BLPOP jobs 0\r\n").expect("write BLPOP");
        let mut c = m.client();
        wait_for(T, "the client is blocked", || {
            info(&mut c, "clients", "blocked_clients") == "1"
        });
        replicaof(&m, &r);
        let mut got = Vec::new();
        blocked
            .read_to_end(&mut got)
            .expect("the reply, then the connection closes");
        assert_eq!(
            String::from_utf8_lossy(&got),
            "-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n",
            "{:?}",
            m.kind
        );
        assert_eq!(info(&mut c, "clients", "blocked_clients"), "0");
    }
}

/// Writes queued in a transaction while the node was a master do not run if
/// it is demoted before EXEC: EXEC is refused with `EXECABORT ... because of:
/// READONLY ...` and the transaction is discarded, as in Redis 7.0 (checked
/// against a real redis-server too).
#[test]
fn exec_after_demotion_is_refused_and_discards_the_transaction() {
    use std::io::{Read, Write};
    for (m, r) in [
        (Proc::tandem(&[]), Proc::tandem(&[])),
        (Proc::redis(&[]), Proc::redis(&[])),
    ] {
        let mut s = m.raw();
        s.write_all(b"MULTI\r\nSET k v\r\n").expect("write");
        let mut got = [0u8; 14];
        s.read_exact(&mut got).expect("+OK +QUEUED");
        assert_eq!(&got, b"+OK\r\n+QUEUED\r\n");
        replicaof(&m, &r);
        s.write_all(b"EXEC\r\nEXEC\r\n").expect("write");
        let want = "-EXECABORT Transaction discarded because of: READONLY You can't write against a read only replica.\r\n-ERR EXEC without MULTI\r\n";
        let mut got = vec![0u8; want.len()];
        s.read_exact(&mut got).expect("the EXEC replies");
        assert_eq!(String::from_utf8_lossy(&got), want, "{:?}", m.kind);
    }
}

/// A master that saved on SHUTDOWN and restarts keeps its old history as
/// `replid2` (as Redis 7.0): its replicas, Tandem and redis-server, continue
/// with a partial resync instead of a full one, and later writes reach them.
#[test]
fn replicas_resync_partially_with_a_restarted_master() {
    let mut m = Proc::tandem(&["--save", "3600 1"]);
    let t = Proc::tandem(&[]);
    let r = Proc::redis(&[]);
    let mut mc = m.client();
    data::populate(&mut mc);
    replicaof(&t, &m);
    replicaof(&r, &m);
    wait_synced(&m, &t, T);
    wait_synced(&m, &r, T);
    live_writes(&mut mc, 1);
    wait_synced(&m, &t, T);
    wait_synced(&m, &r, T);
    let old_id = info(&mut mc, "replication", "master_replid");
    let old_offset = info_u64(&mut mc, "replication", "master_repl_offset");
    let _ = redis::cmd("SHUTDOWN").query::<()>(&mut mc);
    wait_for(T, "the master's exit", || {
        m.child.try_wait().ok().flatten().is_some()
    });
    m.restart();
    let mut mc = m.client();
    assert_eq!(info(&mut mc, "replication", "master_replid2"), old_id);
    // The offsets continue where the saved ones were (SHUTDOWN's GETACK to
    // the replicas may have added a few bytes after `old_offset`).
    let second = info_u64(&mut mc, "replication", "second_repl_offset");
    assert!(second > old_offset, "{second} after {old_offset}");
    assert_eq!(
        info_u64(&mut mc, "replication", "master_repl_offset"),
        second - 1
    );
    wait_for(T, "both replicas back", || {
        info_u64(&mut mc, "replication", "connected_slaves") == 2
    });
    assert_eq!(info_u64(&mut mc, "stats", "sync_full"), 0);
    assert_eq!(info_u64(&mut mc, "stats", "sync_partial_ok"), 2);
    live_writes(&mut mc, 2);
    wait_synced(&m, &t, T);
    wait_synced(&m, &r, T);
    assert_same_data(&m, &t);
    assert_same_data(&m, &r);
}

/// A master and its replica (both `kind`), the replica stopped (SIGSTOP)
/// after it had `a` and before the master wrote `b`: a lagging replica.
fn lagging_pair(kind: common::Kind, master_args: &[&str]) -> (Proc, Proc) {
    let m = Proc::start(kind, master_args);
    let r = Proc::start(kind, &[]);
    replicaof(&r, &m);
    let mut mc = m.client();
    let _: () = redis::cmd("SET")
        .arg("a")
        .arg(1)
        .query(&mut mc)
        .expect("SET");
    wait_synced(&m, &r, T);
    sigstop(&r, true);
    let _: () = redis::cmd("SET")
        .arg("b")
        .arg(2)
        .query(&mut mc)
        .expect("SET");
    (m, r)
}

/// SHUTDOWN on a master whose replica lags waits for it (Redis 7.0's
/// `shutdown-timeout`) with writes paused; SHUTDOWN ABORT cancels (the waiting
/// client gets an error, writes resume); once the replica acknowledges
/// everything the master exits, and the replica has every write. The same
/// script against redis-server gives the same replies.
#[test]
fn shutdown_waits_for_lagging_replicas_as_redis_does() {
    use std::io::{Read, Write};
    let line = |s: &mut std::net::TcpStream| -> Option<String> {
        let mut got = Vec::new();
        let mut b = [0u8; 1];
        while !got.ends_with(b"\r\n") {
            match s.read(&mut b) {
                Ok(1) => got.push(b[0]),
                _ => return None,
            }
        }
        Some(String::from_utf8_lossy(&got).trim_end().to_string())
    };
    let mut seen = Vec::new();
    for kind in [common::Kind::Tandem, common::Kind::Redis] {
        let (mut m, r) = lagging_pair(kind, &[]);
        let mut waiting = m.raw();
        waiting.write_all(b"SHUTDOWN\r\n").expect("write");
        waiting
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let blocked = line(&mut waiting).is_none();
        // A write waits while the shutdown does.
        let mut writer = m.raw();
        writer.write_all(b"SET c 3\r\n").expect("write");
        writer
            .set_read_timeout(Some(Duration::from_millis(300)))
            .expect("timeout");
        let write_paused = line(&mut writer).is_none();
        let abort = m.cli_str(&["SHUTDOWN", "ABORT"]);
        waiting.set_read_timeout(Some(T)).expect("timeout");
        writer.set_read_timeout(Some(T)).expect("timeout");
        let waiting_got = line(&mut waiting);
        let write_got = line(&mut writer);
        let again = m.cli_str(&["SHUTDOWN", "ABORT"]);
        sigstop(&r, false);
        waiting.write_all(b"SHUTDOWN NOSAVE\r\n").expect("write");
        let closed = line(&mut waiting);
        wait_for(T, "the master's exit", || {
            m.child.try_wait().ok().flatten().is_some()
        });
        let replica_c = r.cli_str(&["GET", "c"]);
        seen.push(format!(
            "blocked={blocked} write_paused={write_paused} abort={abort} waiting_got={waiting_got:?} write_got={write_got:?} again={again} closed={closed:?} replica_c={replica_c}"
        ));
        m.sigkill();
    }
    assert_eq!(seen[0], seen[1], "Tandem (left) and redis-server");
    assert!(
        seen[0].starts_with("blocked=true write_paused=true abort=OK"),
        "{}",
        seen[0]
    );
    assert!(seen[0].ends_with("replica_c=3"), "{}", seen[0]);
}

/// A lagging replica that goes away is not waited for (Redis's
/// isReadyToShutdown counts the replicas still connected): the master stops
/// well before `shutdown-timeout`.
#[test]
fn shutdown_does_not_wait_for_a_replica_that_left() {
    let (mut m, mut r) = lagging_pair(common::Kind::Tandem, &["--shutdown-timeout", "30"]);
    let mut waiting = m.raw();
    std::io::Write::write_all(&mut waiting, b"SHUTDOWN NOSAVE\r\n").expect("write");
    std::thread::sleep(Duration::from_millis(300));
    assert!(
        m.child.try_wait().expect("wait").is_none(),
        "waits for the replica"
    );
    let t0 = Instant::now();
    r.sigkill();
    wait_for(Duration::from_secs(20), "the master's exit", || {
        m.child.try_wait().ok().flatten().is_some()
    });
    assert!(t0.elapsed() < Duration::from_secs(10), "{:?}", t0.elapsed());
}
