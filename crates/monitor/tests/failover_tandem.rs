//! The monitor managing Tandem nodes (`tandem server`): promotion records the new
//! epoch on the promoted node (`TANDEM EPOCH`), the returning old master is
//! fenced (`TANDEM FENCE`) and resyncs as a replica, and the monitor's probes are
//! the contact that keeps a healthy master from fencing itself.
//!
//! Needs the `tandem` binary (built by `cargo test --workspace`, or set
//! TANDEM_BIN).

mod common;

use std::time::{Duration, Instant};

use common::*;

fn tandem_epoch(p: &Proc) -> i64 {
    offset(p, "tandem_epoch")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sigkill_tandem_master_promotes_with_a_new_epoch_and_fences_the_old_one() {
    let (mut m, r1, r2) = (
        Proc::start(Kind::Tandem, &[]),
        Proc::start(Kind::Tandem, &[]),
        Proc::start(Kind::Tandem, &[]),
    );
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1, &r2], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(15), "replicas linked", || async {
        r1.follows(&m) && r2.follows(&m)
    })
    .await;
    wait_for(Duration::from_secs(5), "master at epoch 1", || async {
        tandem_epoch(&m) == 1
    })
    .await;
    write_keys(&m, "k", 200);
    let want = offset(&m, "master_repl_offset");
    wait_for(Duration::from_secs(5), "replicas caught up", || async {
        offset(&r1, "slave_repl_offset") == want && offset(&r2, "slave_repl_offset") == want
    })
    .await;

    let killed = Instant::now();
    m.sigkill();
    let deadline = Instant::now() + Duration::from_secs(10);
    let t2 = loop {
        if let Some(t) = topology(&store).await.filter(|t| t.epoch == 2) {
            break t;
        }
        assert!(Instant::now() < deadline, "no failover within 10 s");
        tokio::time::sleep(Duration::from_millis(2)).await;
    };
    let took = killed.elapsed();
    eprintln!(
        "TANDEM failover: kill -> published in {} ms",
        took.as_millis()
    );
    assert!(took < Duration::from_secs(3), "took {took:?}");
    // Equal offsets: the lower id (node-2 = r1) wins the tie.
    let (new, other) = (&r1, &r2);
    assert_eq!(t2.shards[0].master.addr, new.addr());
    assert_eq!(new.role(), "master");
    assert_eq!(tandem_epoch(new), 2, "the promoted node records the epoch");
    wait_for(
        Duration::from_secs(10),
        "the other replica follows",
        || async { other.follows(new) },
    )
    .await;
    assert_eq!(dbsize(new), 200);

    // The old master returns as an empty master at epoch 0: fenced, demoted.
    m.restart();
    wait_for(
        Duration::from_secs(15),
        "old master demoted and resynced",
        || async { m.follows(new) && dbsize(&m) == 200 },
    )
    .await;
    let r: redis::RedisResult<()> = redis::cmd("SET").arg("x").arg(1).query(&mut m.client());
    let err = r.expect_err("the demoted old master refuses writes");
    let msg = err.to_string().to_ascii_uppercase();
    assert!(msg.contains("READ") || msg.contains("FENCED"), "{err}");
    wait_for(Duration::from_secs(5), "the failover event", || async {
        !mon.events().is_empty()
    })
    .await;
    let ev = mon.events().pop().expect("event");
    assert_eq!(ev.outcome, "published");
    assert!(
        !ev.notes.iter().any(|n| n.contains("stock Redis")),
        "Tandem nodes know TANDEM EPOCH: {:?}",
        ev.notes
    );
    mon.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn monitor_probes_keep_a_lone_master_from_fencing_itself() {
    // A master without replicas and fence-timeout 300 ms: only the monitor's
    // contact keeps it writable.
    let m = Proc::start(Kind::Tandem, &["--fence-timeout", "300"]);
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(5), "master at epoch 1", || async {
        tandem_epoch(&m) == 1
    })
    .await;
    let mut c = m.client();
    let until = Instant::now() + Duration::from_secs(1);
    let mut i = 0;
    while Instant::now() < until {
        let r: redis::RedisResult<()> = redis::cmd("SET").arg("k").arg(i).query(&mut c);
        assert!(
            r.is_ok(),
            "write {i} refused while the monitor is in contact: {r:?}"
        );
        i += 1;
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // The monitor dies: the lone master fences itself.
    mon.abort();
    let fenced_at = Instant::now();
    loop {
        let r: redis::RedisResult<()> = redis::cmd("SET").arg("k").arg(0).query(&mut c);
        if let Err(e) = r {
            eprintln!(
                "TANDEM self-fenced {} ms after the monitor died: {e}",
                fenced_at.elapsed().as_millis()
            );
            break;
        }
        assert!(
            fenced_at.elapsed() < Duration::from_secs(5),
            "the lone master kept accepting writes without monitor contact"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn sync_mode_failover_under_load_keeps_every_acknowledged_write() {
    let sync = ["--replication-mode", "sync", "--min-sync-replicas", "1"];
    let (mut m, r1, r2) = (
        Proc::start(Kind::Tandem, &sync),
        Proc::start(Kind::Tandem, &sync),
        Proc::start(Kind::Tandem, &sync),
    );
    let (store, _sd) = store();
    let data = tempfile::tempdir().expect("dir");
    let mon = tandem_monitor::start(config("mon-a", &[&m, &r1, &r2], data.path()), store.clone())
        .expect("start the monitor");
    wait_for(Duration::from_secs(15), "replicas linked", || async {
        r1.follows(&m) && r2.follows(&m)
    })
    .await;
    // Four writers straight to the master; a write counts once it is acknowledged
    // (in sync mode: once a replica has it).
    let count = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let writers: Vec<_> = (0..4)
        .map(|w| {
            let mut c = m.client();
            let count = count.clone();
            std::thread::spawn(move || {
                let mut acked = Vec::new();
                for i in 0u64.. {
                    let r: redis::RedisResult<()> = redis::cmd("SET")
                        .arg(format!("w{w}:{i}"))
                        .arg(i)
                        .query(&mut c);
                    match r {
                        Ok(()) => {
                            acked.push(format!("w{w}:{i}"));
                            count.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                        }
                        Err(_) => break,
                    }
                }
                acked
            })
        })
        .collect();
    wait_for(
        Duration::from_secs(20),
        "200 acknowledged writes",
        || async { count.load(std::sync::atomic::Ordering::Relaxed) >= 200 },
    )
    .await;
    let killed = Instant::now();
    m.sigkill();
    wait_for(Duration::from_secs(10), "failover", || async {
        topology(&store).await.is_some_and(|t| t.epoch == 2)
    })
    .await;
    eprintln!(
        "TANDEM sync-mode failover under load: kill -> published in {} ms",
        killed.elapsed().as_millis()
    );
    let mut acked = Vec::new();
    for w in writers {
        let a = tokio::task::spawn_blocking(move || w.join().expect("writer"))
            .await
            .expect("join");
        acked.extend(a);
    }
    assert!(acked.len() > 100, "load ran: {} writes", acked.len());
    let t = topology(&store).await.expect("topology");
    let new = if t.shards[0].master.addr == r1.addr() {
        &r1
    } else {
        &r2
    };
    let mut c = new.client();
    let missing: Vec<&String> = acked
        .iter()
        .filter(|k| {
            !redis::cmd("EXISTS")
                .arg(k)
                .query::<bool>(&mut c)
                .unwrap_or(false)
        })
        .collect();
    eprintln!(
        "TANDEM sync-mode: {} acknowledged writes, {} missing on the new master",
        acked.len(),
        missing.len()
    );
    assert!(
        missing.is_empty(),
        "lost acknowledged writes: {:?}",
        &missing[..missing.len().min(5)]
    );
    mon.shutdown().await;
}
