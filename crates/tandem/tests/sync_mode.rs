//! Sync replication end to end (`replication-mode sync`): acknowledgements wait
//! for replicas, `sync-fallback degrade` and `refuse`, and a cut-off master that
//! must not degrade.

mod common;
#[allow(dead_code)] // the replication support module compares datasets with it
#[path = "persistence/data.rs"]
mod data;
#[path = "replication/support.rs"]
mod support;

use std::time::{Duration, Instant};

use common::{wait_for, Proc};
use support::*;

const T: Duration = Duration::from_secs(30);

fn pair() -> (Proc, Proc) {
    (Proc::tandem(&[]), Proc::tandem(&[]))
}

#[test]
fn sync_mode_degrades_and_rearms() {
    let (m, r) = pair();
    let mut mc = m.client();
    replicaof(&r, &m);
    wait_synced(&m, &r, T);
    set_config(
        &mut mc,
        &[("replication-mode", "sync"), ("sync-timeout", "300")],
    );
    wait_for(T, "sync mode on", || {
        info(&mut mc, "replication", "tandem_sync_state") == "ok"
    });
    for i in 0..50 {
        let _: () = redis::cmd("SET")
            .arg(format!("s{i}"))
            .arg(i)
            .query(&mut mc)
            .expect("SET");
    }
    // Every OK came after the replica had the write.
    let mut rc = r.client();
    let acked = info_u64(&mut mc, "replication", "tandem_sync_acked_offset");
    let ro = info_u64(&mut rc, "replication", "slave_repl_offset");
    assert!(ro >= acked);
    let n: i64 = redis::cmd("DBSIZE").query(&mut rc).expect("DBSIZE");
    assert_eq!(n, 50);
    // A frozen replica: the write waits sync-timeout, then the node degrades.
    sigstop(&r, true);
    let t0 = Instant::now();
    let _: () = redis::cmd("SET")
        .arg("late")
        .arg(1)
        .query(&mut mc)
        .expect("SET");
    assert!(
        t0.elapsed() >= Duration::from_millis(250),
        "{:?}",
        t0.elapsed()
    );
    wait_for(T, "degraded", || {
        info(&mut mc, "replication", "tandem_sync_state") == "degraded"
    });
    let t0 = Instant::now();
    let _: () = redis::cmd("SET")
        .arg("later")
        .arg(1)
        .query(&mut mc)
        .expect("SET");
    assert!(t0.elapsed() < Duration::from_millis(250));
    assert!(m.log().contains("degrading to async"));
    sigstop(&r, false);
    wait_for(T, "re-armed", || {
        info(&mut mc, "replication", "tandem_sync_state") == "ok"
    });
    assert!(m.log().contains("sync mode re-armed"));
}

#[test]
fn sync_mode_refuses_without_enough_replicas() {
    let (m, r) = pair();
    let mut mc = m.client();
    replicaof(&r, &m);
    wait_synced(&m, &r, T);
    set_config(
        &mut mc,
        &[
            ("replication-mode", "sync"),
            ("sync-timeout", "200"),
            ("sync-fallback", "refuse"),
        ],
    );
    wait_for(T, "sync mode on", || {
        info(&mut mc, "replication", "tandem_sync_state") == "ok"
    });
    let _: () = redis::cmd("SET")
        .arg("a")
        .arg(1)
        .query(&mut mc)
        .expect("SET");
    sigstop(&r, true);
    let err = redis::cmd("SET")
        .arg("b")
        .arg(1)
        .query::<()>(&mut mc)
        .expect_err("gated write refused");
    assert!(err.to_string().contains("NOREPLICAS"), "{err}");
    let mut mc = m.client();
    wait_for(T, "refusing", || {
        info(&mut mc, "replication", "tandem_sync_state") == "refusing"
    });
    let err = redis::cmd("SET")
        .arg("c")
        .arg(1)
        .query::<()>(&mut mc)
        .expect_err("refused before execution");
    assert!(err.to_string().contains("NOREPLICAS"), "{err}");
    let v: Option<String> = redis::cmd("GET").arg("c").query(&mut mc).expect("GET");
    assert_eq!(v, None, "a refused write must not execute");
    sigstop(&r, false);
    wait_for(T, "re-armed", || {
        info(&mut mc, "replication", "tandem_sync_state") == "ok"
    });
    let _: () = redis::cmd("SET")
        .arg("d")
        .arg(1)
        .query(&mut mc)
        .expect("SET");
}

/// A master managed by a monitor (`fence-timeout` > 0) that hears from nobody
/// does not degrade to async when its sync replica stops answering: it may be
/// cut off and already replaced, so the write is refused, never acknowledged
/// and then lost. With contact back, writes are acknowledged again.
#[test]
fn sync_mode_does_not_degrade_when_cut_off_from_everyone() {
    let (m, r) = pair();
    let mut mc = m.client();
    replicaof(&r, &m);
    wait_synced(&m, &r, T);
    set_config(
        &mut mc,
        &[
            ("replication-mode", "sync"),
            ("sync-timeout", "1500"),
            ("fence-timeout", "2000"),
        ],
    );
    wait_for(T, "sync mode on", || {
        info(&mut mc, "replication", "tandem_sync_state") == "ok"
    });
    sigstop(&r, true);
    // The write waits sync-timeout; by then nobody has been heard for more
    // than half the fence-timeout (the replica's last ACK is at most 1 s old).
    let mut w = m.client();
    let res: redis::RedisResult<()> = redis::cmd("SET").arg("cut").arg(1).query(&mut w);
    let err = res.expect_err("a write of a cut-off master is not acknowledged");
    assert!(err.to_string().contains("not acknowledged"), "{err}");
    assert_ne!(
        info(&mut mc, "replication", "tandem_sync_state"),
        "degraded"
    );
    assert!(!m.log().contains("degrading to async"));
    sigstop(&r, false);
    wait_for(T, "writes acknowledged again", || {
        redis::cmd("SET")
            .arg("back")
            .arg(1)
            .query::<()>(&mut m.client())
            .is_ok()
    });
}
