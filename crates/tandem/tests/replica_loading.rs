//! A replica loading a full sync's payload keeps serving its old data, as
//! Redis 7.0 does in `repl-diskless-load swapdb` mode: INFO says
//! `async_loading:1` with the `loading_*` fields, the `no-async-loading`
//! commands (BGSAVE, BGREWRITEAOF, SAVE, SYNC, PSYNC) get `-LOADING`, and
//! REPLICAOF NO ONE stops the load and keeps the old data (the monitor relies
//! on it against an emptied master).

mod common;

use std::io::{Read, Write};
use std::time::Duration;

use common::{wait_for, Proc};

fn field(c: &mut redis::Connection, section: &str, name: &str) -> String {
    let info: String = redis::cmd("INFO").arg(section).query(c).expect("INFO");
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")).map(str::to_string))
        .unwrap_or_default()
}

/// A master with 20,000 keys, and a replica (with old data of its own) whose
/// load waits `delay_us` per key.
fn pair(delay_us: &str) -> (Proc, Proc) {
    let master = Proc::tandem(&["--enable-debug-command", "yes"]);
    let () = redis::cmd("DEBUG")
        .arg("POPULATE")
        .arg(20_000)
        .query(&mut master.client())
        .expect("DEBUG POPULATE");
    let replica = Proc::tandem(&["--key-load-delay", delay_us]);
    let () = redis::cmd("SET")
        .arg("old")
        .arg("1")
        .query(&mut replica.client())
        .expect("SET");
    (master, replica)
}

fn start_sync(master: &Proc, replica: &Proc, c: &mut redis::Connection) {
    let () = redis::cmd("REPLICAOF")
        .arg("127.0.0.1")
        .arg(master.port)
        .query(c)
        .expect("REPLICAOF");
    wait_for(Duration::from_secs(20), "async_loading:1", || {
        field(&mut replica.client(), "persistence", "async_loading") == "1"
    });
}

#[test]
fn a_replica_serves_its_old_data_while_it_loads_a_full_sync() {
    let (master, replica) = pair("50");
    let mut c = replica.client();
    start_sync(&master, &replica, &mut c);
    assert_eq!(field(&mut c, "persistence", "loading"), "0");
    let total: u64 = field(&mut c, "persistence", "loading_total_bytes")
        .parse()
        .expect("loading_total_bytes");
    assert!(total > 100_000, "payload of 20,000 keys: {total} bytes");
    assert!(!field(&mut c, "persistence", "loading_eta_seconds").is_empty());
    // The old data is served meanwhile.
    let old: String = redis::cmd("GET").arg("old").query(&mut c).expect("GET");
    assert_eq!(old, "1");
    for cmd in ["BGSAVE", "BGREWRITEAOF", "SAVE"] {
        let e = redis::cmd(cmd).query::<String>(&mut c).unwrap_err();
        assert_eq!(e.code(), Some("LOADING"), "{cmd}: {e}");
    }
    // Refused when queued, as Redis's processCommand checks before queuing.
    let mut raw = replica.raw();
    raw.write_all(b"MULTI\r\nBGREWRITEAOF\r\nEXEC\r\n")
        .expect("write");
    let mut got = Vec::new();
    let mut buf = [0u8; 1024];
    while got.windows(2).filter(|w| w == b"\r\n").count() < 3 {
        let n = raw.read(&mut buf).expect("replies");
        assert!(n > 0, "closed after {got:?}");
        got.extend_from_slice(&buf[..n]);
    }
    let out = String::from_utf8_lossy(&got);
    assert_eq!(
        out,
        "+OK\r\n-LOADING Redis is loading the dataset in memory\r\n-EXECABORT Transaction discarded because of previous errors.\r\n"
    );
    // Then the new data replaces it.
    wait_for(Duration::from_secs(30), "the load ends", || {
        field(&mut replica.client(), "persistence", "async_loading") == "0"
    });
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("DBSIZE");
    assert_eq!(n, 20_000);
    assert!(field(&mut c, "persistence", "loading_total_bytes").is_empty());
    let () = redis::cmd("BGSAVE")
        .query(&mut c)
        .expect("BGSAVE after the load");
}

#[test]
fn replicaof_no_one_during_the_load_keeps_the_old_data() {
    let (master, replica) = pair("200");
    let mut c = replica.client();
    start_sync(&master, &replica, &mut c);
    let () = redis::cmd("REPLICAOF")
        .arg("NO")
        .arg("ONE")
        .query(&mut c)
        .expect("REPLICAOF NO ONE");
    wait_for(Duration::from_secs(10), "the load stops", || {
        field(&mut replica.client(), "persistence", "async_loading") == "0"
    });
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("DBSIZE");
    assert_eq!(n, 1, "the old data, not the master's");
    let old: String = redis::cmd("GET").arg("old").query(&mut c).expect("GET");
    assert_eq!(old, "1");
    assert_eq!(field(&mut c, "replication", "role"), "master");
}
