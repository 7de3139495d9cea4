//! Streams across replication and restarts. A workload of every stream write
//! (XADD with `*` and with `MAXLEN ~` trims over many nodes, XREADGROUP with
//! and without NOACK, a blocked XREADGROUP served by an XADD, XCLAIM with
//! IDLE/TIME/RETRYCOUNT/FORCE/LASTID, XAUTOCLAIM over deleted entries, XACK,
//! XGROUP SETID/CREATECONSUMER/DELCONSUMER/DESTROY, XDEL, XSETID, XTRIM,
//! MULTI/EXEC) runs on a master; its replicas, attached before (the command
//! stream) and after (the snapshot), must then show exactly the master's
//! streams: XINFO STREAM FULL (every entry, group, consumer and PEL entry,
//! the node counts), XINFO GROUPS and CONSUMERS, XPENDING, XRANGE. Auto IDs
//! reach replicas as the master's IDs. Pairs: Tandem → Tandem, Tandem →
//! redis-server, redis-server → Tandem. Then a restart from RDB, from the AOF
//! and from a rewritten AOF keeps the same streams.
//!
//! Consumers' seen-times and PEL delivery times within a day of now are
//! normalized (stream/support.rs): a replica sets seen-times itself; idle
//! times are masked (views are taken seconds apart); a delivery time set
//! with `XCLAIM ... TIME` in 2001 is compared exactly.
//!
//! A group's `entries-read` (and the `lag` derived from it) is not carried by
//! the XCLAIM that Redis 7.0 propagates for XREADGROUP, so in Redis a replica
//! fed by commands (or an AOF replayed) shows other values than its master.
//! Tandem also propagates `XGROUP SETID ... ENTRIESREAD` (COMPATIBILITY.md):
//! its replicas, a redis-server replica of it and its AOF keep them. Masters
//! are compared with redis-server's running the same deterministic workload
//! (explicit IDs), those two fields included.

mod common;
#[allow(dead_code)] // the replication helpers need it; this file uses none of it
#[path = "persistence/data.rs"]
mod data;
#[path = "replication/support.rs"]
mod repl;
#[path = "stream/support.rs"]
mod support;

use std::time::Duration;

use common::{wait_for, Proc};
use support::{await_blocked, normalize, now_ms, under_test, Resp, Session};

const T: Duration = Duration::from_secs(30);

/// Masters send their snapshot at once (not after Redis's default 5 s).
const MASTER: &[&str] = &["--repl-diskless-sync-delay", "0"];

/// Every stream write, on `p` (a master). With `clock`, two streams take
/// their IDs from the clock (`*`); without, every ID is explicit or follows
/// a last ID in the future, so two runs give the same streams.
fn workload(p: &Proc, clock: bool) {
    let mut c = Session::open(p, false);
    if !clock {
        c.ok(&["XADD", "auto", "99999999999999-0", "n", "first"]);
    }
    for i in 0..5 {
        c.ok(&["XADD", "auto", "*", "n", &i.to_string()]);
    }
    // Approximate trims across several 100-entry nodes.
    for i in 1..=330 {
        let id = if clock {
            "*".to_string()
        } else {
            format!("{i}-1")
        };
        c.ok(&[
            "XADD",
            "big",
            "MAXLEN",
            "~",
            "120",
            &id,
            "f",
            &i.to_string(),
            "g",
            "x",
        ]);
    }
    c.ok(&["XTRIM", "big", "MAXLEN", "~", "50"]);
    let id = if clock { "*" } else { "400-1" };
    c.ok(&[
        "XADD",
        "big",
        "NOMKSTREAM",
        "MINID",
        "~",
        "0-1",
        "LIMIT",
        "10",
        id,
        "h",
        "y",
    ]);
    c.ok(&["XADD", "nomk", "NOMKSTREAM", "*", "f", "v"]);
    for i in 1..=40 {
        c.ok(&["XADD", "e", &format!("{i}-1"), "f", &format!("v{i}")]);
    }
    for cmd in [
        &["XGROUP", "CREATE", "e", "g", "0"][..],
        &["XGROUP", "CREATE", "e", "g2", "$"],
        &["XGROUP", "CREATE", "e", "g3", "0", "ENTRIESREAD", "0"],
        &["XGROUP", "CREATE", "e", "gone", "0"],
        &["XGROUP", "CREATE", "mk", "g", "$", "MKSTREAM"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "COUNT",
            "20",
            "STREAMS",
            "e",
            ">",
        ],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "COUNT",
            "10",
            "STREAMS",
            "e",
            ">",
        ],
        &[
            "XREADGROUP",
            "GROUP",
            "g3",
            "carol",
            "NOACK",
            "COUNT",
            "5",
            "STREAMS",
            "e",
            ">",
        ],
        &["XREADGROUP", "GROUP", "g", "alice", "STREAMS", "e", "0"],
        &["XCLAIM", "e", "g", "bob", "0", "1-1", "2-1", "3-1"],
        &[
            "XCLAIM",
            "e",
            "g",
            "bob",
            "0",
            "4-1",
            "IDLE",
            "100000",
            "RETRYCOUNT",
            "5",
        ],
        &[
            "XCLAIM",
            "e",
            "g",
            "dave",
            "0",
            "5-1",
            "TIME",
            "1000000000000",
            "JUSTID",
        ],
        &["XCLAIM", "e", "g", "dave", "0", "40-1", "FORCE"],
        &["XCLAIM", "e", "g", "dave", "0", "6-1", "LASTID", "35-1"],
        &["XDEL", "e", "7-1", "8-1"],
        &["XAUTOCLAIM", "e", "g", "erin", "0", "0", "COUNT", "10"],
        &["XACK", "e", "g", "10-1", "11-1", "12-1"],
        &["XGROUP", "SETID", "e", "g2", "20-1", "ENTRIESREAD", "20"],
        &["XGROUP", "CREATECONSUMER", "e", "g2", "frank"],
        &["XGROUP", "DELCONSUMER", "e", "g", "alice"],
        &["XGROUP", "DESTROY", "e", "gone"],
        &[
            "XSETID",
            "e",
            "99-0",
            "ENTRIESADDED",
            "100",
            "MAXDELETEDID",
            "50-0",
        ],
        &["XTRIM", "e", "MINID", "3-1"],
        &["XGROUP", "CREATE", "e", "gz", "$"],
    ] {
        c.ok(cmd);
    }
    // A blocked read served by an XADD reaches replicas as its effects.
    let mut zoe = Session::open(p, false);
    zoe.send(&[
        "XREADGROUP",
        "GROUP",
        "gz",
        "zoe",
        "BLOCK",
        "0",
        "STREAMS",
        "e",
        ">",
    ]);
    await_blocked(p, 1);
    c.ok(&["XADD", "e", "100-1", "f", "woken"]);
    let r = zoe.read();
    assert!(r.show().contains("100-1"), "{}", r.show());
    let id = if clock { "*" } else { "102-0" };
    for cmd in [
        &["MULTI"][..],
        &["XADD", "e", "101-1", "f", "tx"],
        &["XACK", "e", "g", "13-1"],
        &["XREADGROUP", "GROUP", "g", "bob", "STREAMS", "e", ">"],
        &["EXEC"],
        &["XADD", "e", id, "f", "auto"],
        &[
            "XREADGROUP",
            "GROUP",
            "g3",
            "carol",
            "NOACK",
            "STREAMS",
            "e",
            ">",
        ],
    ] {
        c.ok(cmd);
    }
}

/// Idle times (already in 10 s buckets) without their bucket: views taken
/// seconds apart (a replica syncing, a restart) compare equal.
fn mask_idle(r: &mut Resp) {
    match r {
        Resp::Line(b':', t) if t.starts_with("<idle ") && t != "<idle large>" => {
            *t = "<idle>".into();
        }
        Resp::Agg(_, Some(items)) => items.iter_mut().for_each(mask_idle),
        _ => {}
    }
}

/// Replaces the values of `entries-read` and `lag`, at any depth.
fn mask_counters(r: &mut Resp) {
    if let Resp::Agg(_, Some(items)) = r {
        for i in 0..items.len() {
            let key = items[i].text();
            if i + 1 < items.len() && matches!(key.as_deref(), Some("entries-read" | "lag")) {
                items[i + 1] = Resp::Line(b':', "<masked>".into());
            }
            mask_counters(&mut items[i]);
        }
    }
}

/// Every stream of `p` as text: XINFO STREAM FULL with all entries, XRANGE,
/// XINFO GROUPS, and per group XINFO CONSUMERS and XPENDING's entries.
/// `mask`: without the groups' `entries-read` and `lag` (module doc).
fn view(p: &Proc, mask: bool) -> Vec<String> {
    let mut s = Session::open(p, false);
    let mut keys: Vec<String> = s
        .ok(&["KEYS", "*"])
        .items()
        .iter()
        .filter_map(Resp::text)
        .collect();
    keys.sort();
    let mut out = Vec::new();
    let mut show = |s: &mut Session, args: &[&str]| {
        let r = s.call(args);
        let mut shown = r.clone();
        normalize(&mut shown, now_ms());
        mask_idle(&mut shown);
        if mask {
            mask_counters(&mut shown);
        }
        out.push(format!("{args:?} -> {}", shown.show()));
        r
    };
    for k in &keys {
        let ty = show(&mut s, &["TYPE", k]);
        if ty.text().as_deref() != Some("stream") {
            continue;
        }
        show(&mut s, &["XINFO", "STREAM", k, "FULL", "COUNT", "0"]);
        show(&mut s, &["XRANGE", k, "-", "+"]);
        let groups = show(&mut s, &["XINFO", "GROUPS", k]);
        for g in groups.items() {
            let name = g.field("name").and_then(Resp::text).expect("group name");
            show(&mut s, &["XINFO", "CONSUMERS", k, &name]);
            show(&mut s, &["XPENDING", k, &name, "-", "+", "10000"]);
        }
    }
    assert!(out.len() > 10, "no streams to compare: {out:?}");
    out
}

fn assert_same(expected: &[String], got: &[String], what: &str) {
    if let Some(problem) = difference(expected, got, what) {
        panic!("{problem}");
    }
}

/// What differs between two views, if anything.
fn difference(expected: &[String], got: &[String], what: &str) -> Option<String> {
    let diff: Vec<String> = expected
        .iter()
        .zip(got)
        .filter(|(a, b)| a != b)
        .map(|(a, b)| format!("  expected: {a}\n  got:      {b}"))
        .collect();
    (!diff.is_empty() || expected.len() != got.len()).then(|| {
        format!(
            "{what}: {} lines differ ({} vs {} lines):\n{}",
            diff.len(),
            expected.len(),
            got.len(),
            diff.join("\n")
        )
    })
}

/// Fails listing every comparison that differs.
fn assert_all_same(checks: &[(&[String], &[String], &str)]) {
    let problems: Vec<String> = checks
        .iter()
        .filter_map(|(e, g, what)| difference(e, g, what))
        .collect();
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

fn replicate(replica: &Proc, master: &Proc) {
    repl::replicaof(replica, master);
    repl::wait_synced(master, replica, T);
}

fn replica(ours: bool) -> Proc {
    if ours {
        under_test(&[])
    } else {
        Proc::redis(&[])
    }
}

/// A master with replicas of the given kinds (true: ours): the early ones
/// get the workload (with clock IDs) as commands, the late ones as a
/// snapshot, which carries everything.
fn replicas_show_the_masters_streams(master: Proc, kinds: &[(bool, &str)]) {
    let early: Vec<(Proc, &str)> = kinds
        .iter()
        .map(|(ours, what)| {
            let r = replica(*ours);
            replicate(&r, &master);
            (r, *what)
        })
        .collect();
    workload(&master, true);
    let (exact, masked) = (view(&master, false), view(&master, true));
    for (r, what) in &early {
        repl::wait_synced(&master, r, T);
        let got = view(r, true);
        assert_same(&masked, &got, &format!("{what} attached before the writes"));
    }
    for (ours, what) in kinds {
        let r = replica(*ours);
        replicate(&r, &master);
        let got = view(&r, false);
        assert_same(&exact, &got, &format!("{what} attached after the writes"));
    }
}

#[test]
fn replicas_of_a_tandem_master_show_its_streams() {
    replicas_show_the_masters_streams(
        under_test(MASTER),
        &[
            (true, "a Tandem replica"),
            (false, "a redis-server replica"),
        ],
    );
}

#[test]
fn a_tandem_replica_of_redis_shows_its_streams() {
    replicas_show_the_masters_streams(Proc::redis(MASTER), &[(true, "a Tandem replica")]);
}

/// The deterministic workload on a Tandem master with a Tandem and a
/// redis-server replica, and on a redis-server master: the masters read the
/// same, and both replicas of Tandem read as their master, `entries-read` and
/// `lag` included (a redis-server replica of redis-server loses those two).
#[test]
fn replicas_fed_by_commands_keep_the_masters_entries_read() {
    let (m, r_ours, r_redis) = (under_test(MASTER), under_test(&[]), Proc::redis(&[]));
    replicate(&r_ours, &m);
    replicate(&r_redis, &m);
    workload(&m, false);
    repl::wait_synced(&m, &r_ours, T);
    repl::wait_synced(&m, &r_redis, T);
    let rm = Proc::redis(MASTER);
    workload(&rm, false);
    let master = view(&rm, false);
    let (m, r_ours, r_redis) = (view(&m, false), view(&r_ours, false), view(&r_redis, false));
    assert_all_same(&[
        (&master, &m, "the master"),
        (&m, &r_ours, "a replica of ours"),
        (&m, &r_redis, "a redis-server replica of ours"),
    ]);
}

fn info(p: &Proc, field: &str) -> String {
    repl::info(&mut repl::connect(p), "persistence", field)
}

/// The deterministic workload, then: SAVE and a restart; the AOF (on at
/// start, which reads no RDB file, as in Redis) and a restart; BGREWRITEAOF
/// and a restart. Returns the views: RDB before, after; AOF before, after,
/// after the rewrite.
fn restarts(mut p: Proc) -> Vec<Vec<String>> {
    let mut views = Vec::new();
    workload(&p, false);
    views.push(view(&p, false));
    Session::open(&p, false).ok(&["SAVE"]);
    p.restart();
    views.push(view(&p, false));
    p.restart_with(&["--appendonly", "yes", "--auto-aof-rewrite-percentage", "0"]);
    Session::open(&p, false).ok(&["FLUSHALL"]);
    workload(&p, false);
    views.push(view(&p, false));
    p.restart();
    views.push(view(&p, false));
    Session::open(&p, false).ok(&["BGREWRITEAOF"]);
    wait_for(T, "the AOF rewrite to finish", || {
        info(&p, "aof_rewrite_in_progress") == "0" && info(&p, "aof_rewrite_scheduled") == "0"
    });
    assert_eq!(info(&p, "aof_last_bgrewrite_status"), "ok");
    p.restart();
    views.push(view(&p, false));
    views
}

/// Streams, groups, consumers and PELs survive restarts from RDB and AOF
/// (and a rewritten AOF) as they survive them in Redis.
#[test]
fn streams_survive_restarts_from_rdb_and_aof() {
    let ours = restarts(under_test(&["--auto-aof-rewrite-percentage", "0"]));
    let redis = restarts(Proc::redis(&["--auto-aof-rewrite-percentage", "0"]));
    let names = ["before SAVE", "after the RDB restart", "with the AOF on"]
        .map(|n| format!("{n}, compared with redis-server"));
    let mut checks: Vec<(&[String], &[String], &str)> = vec![
        (&ours[0], &ours[1], "after a restart from the RDB file"),
        // Redis's AOF loses entries-read (see the top of this file); Tandem's
        // keeps what the node had.
        (&ours[2], &ours[3], "after a restart from the AOF"),
        (&ours[2], &ours[4], "after the AOF rewrite and a restart"),
    ];
    for (i, what) in names.iter().enumerate() {
        checks.push((&redis[i], &ours[i], what));
    }
    assert_all_same(&checks);
}
