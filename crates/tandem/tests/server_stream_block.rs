//! Blocking stream reads against a real redis-server 7.0: each scenario runs
//! on the node under test and on redis-server, in RESP2 and RESP3, and what
//! every client receives must be the same, byte for byte (time fields
//! normalized as in stream/support.rs). Blocked clients are raw connections
//! whose request is written and whose reply is read later; the scenarios wait
//! for `blocked_clients` in INFO, never sleep.
//!
//! Covered: XREAD BLOCK on `$` woken by another client's XADD (only the new
//! entry), on an explicit ID (not woken by a smaller one), on several keys;
//! BLOCK timeouts (null, after the time asked); XREADGROUP BLOCK `>` woken
//! (the entry pending for that consumer; NOACK not), several XREAD readers
//! woken by one XADD, FIFO order among XREADGROUP readers of one group, the
//! errors a blocked XREADGROUP gets when its key is deleted, unlinked,
//! overwritten, renamed, moved, swapped away, flushed or expired, or its
//! group destroyed, an XREAD that a DEL and SET of
//! its key leave blocked, XADDs in MULTI/EXEC waking a reader once, a
//! deleted consumer re-created by its wake-up, and a blocked client that
//! disconnects.

mod common;
#[path = "stream/support.rs"]
mod support;

use std::time::{Duration, Instant};

use common::Proc;
use support::{await_blocked, normalize, now_ms, under_test, Resp, Session};

/// What the clients of a scenario saw, in order.
struct Log {
    lines: Vec<String>,
}

impl Log {
    fn saw(&mut self, who: &str, r: Resp) {
        let mut r = r;
        normalize(&mut r, now_ms());
        self.lines.push(format!("{who}: {}", r.show()));
    }

    /// `s` sends `args` and logs the reply.
    fn call(&mut self, who: &str, s: &mut Session, args: &[&str]) {
        let r = s.call(args);
        self.saw(&format!("{who} {args:?}"), r);
    }
}

type Scenario = fn(&Proc, bool, &mut Log);

/// Runs `scenario` on fresh servers (ours, then redis) in both protocols and
/// fails on the first protocol whose logs differ, showing both. Returns
/// Redis's logs (RESP2, RESP3).
fn same_on_both(scenario: Scenario) -> [Vec<String>; 2] {
    let mut out = [Vec::new(), Vec::new()];
    let mut problems = Vec::new();
    for (i, resp3) in [false, true].into_iter().enumerate() {
        let run = |p: Proc| {
            let mut log = Log { lines: Vec::new() };
            scenario(&p, resp3, &mut log);
            log.lines
        };
        let ours = run(under_test(&[]));
        let theirs = run(Proc::redis(&[]));
        if ours != theirs {
            let diff: Vec<String> = ours
                .iter()
                .zip(&theirs)
                .filter(|(a, b)| a != b)
                .map(|(a, b)| format!("  tandem: {a}\n  redis:  {b}"))
                .collect();
            problems.push(format!(
                "RESP{}: the clients saw something else than Redis's:\n{}\nwhole redis log:\n  {}",
                if resp3 { 3 } else { 2 },
                diff.join("\n"),
                theirs.join("\n  ")
            ));
        }
        if std::env::var("TANDEM_STREAM_PRINT").is_ok_and(|v| v == "1") {
            eprintln!("{}", theirs.join("\n"));
        }
        out[i] = theirs;
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    out
}

fn contains(log: &[String], needle: &str) -> bool {
    log.iter().any(|l| l.contains(needle))
}

/// Sends a blocking request on a new connection and waits until the server
/// counts `blocked` blocked clients.
fn block(p: &Proc, resp3: bool, args: &[&str], blocked: i64) -> Session {
    let mut s = Session::open(p, resp3);
    s.send(args);
    await_blocked(p, blocked);
    s
}

fn xread_dollar_gets_only_the_new_entry(p: &Proc, resp3: bool, log: &mut Log) {
    let mut w = Session::open(p, resp3);
    log.call("w", &mut w, &["XADD", "s", "1-1", "a", "1"]);
    let mut r = block(p, resp3, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], 1);
    let mut r2 = block(
        p,
        resp3,
        &[
            "XREAD", "COUNT", "5", "BLOCK", "0", "STREAMS", "nokey", "s", "t", "0", "$", "$",
        ],
        2,
    );
    // An explicit ID: only an entry above it wakes the reader.
    let mut r3 = block(p, resp3, &["XREAD", "BLOCK", "0", "STREAMS", "s", "5-0"], 3);
    log.call("w", &mut w, &["XADD", "s", "2-1", "b", "2"]);
    log.saw("r", r.read());
    log.saw("r2", r2.read());
    await_blocked(p, 1);
    log.call("w", &mut w, &["XADD", "t", "1-1", "c", "3"]);
    log.call("w", &mut w, &["XADD", "s", "5-0", "d", "4"]);
    assert!(r3.quiet(), "XREAD on 5-0 woken by 5-0");
    log.call("w", &mut w, &["XADD", "s", "6-0", "e", "5"]);
    log.saw("r3", r3.read());
    await_blocked(p, 0);
}

#[test]
fn xread_block_is_woken_by_a_newer_entry_only() {
    let [t, _] = same_on_both(xread_dollar_gets_only_the_new_entry);
    let r = t.iter().find(|l| l.starts_with("r:")).expect("r");
    assert!(r.contains("2-1") && !r.contains("1-1"), "{r}");
}

fn timeouts(p: &Proc, resp3: bool, log: &mut Log) {
    let mut w = Session::open(p, resp3);
    log.call(
        "w",
        &mut w,
        &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
    );
    for args in [
        &["XREAD", "BLOCK", "150", "STREAMS", "s", "$"][..],
        &["XREAD", "BLOCK", "150", "STREAMS", "nokey", "0"],
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "c",
            "BLOCK",
            "150",
            "STREAMS",
            "s",
            ">",
        ],
    ] {
        let mut r = Session::open(p, resp3);
        let start = Instant::now();
        let reply = r.call(args);
        let took = start.elapsed();
        assert!(
            took >= Duration::from_millis(140) && took < Duration::from_secs(5),
            "{args:?} answered after {took:?}"
        );
        log.saw(&format!("r {args:?}"), reply);
    }
    log.call("w", &mut w, &["XINFO", "CONSUMERS", "s", "g"]);
}

#[test]
fn block_timeouts_answer_null_after_the_time_asked() {
    let [t2, t3] = same_on_both(timeouts);
    assert!(
        t2.iter().filter(|l| l.ends_with(r#""*-1\r\n""#)).count() == 3,
        "{t2:?}"
    );
    assert!(
        t3.iter().filter(|l| l.ends_with(r#""_\r\n""#)).count() == 3,
        "{t3:?}"
    );
}

fn xreadgroup_woken_and_pending(p: &Proc, resp3: bool, log: &mut Log) {
    let mut w = Session::open(p, resp3);
    log.call(
        "w",
        &mut w,
        &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
    );
    log.call("w", &mut w, &["XADD", "t", "1-1", "x", "1"]);
    log.call("w", &mut w, &["XGROUP", "CREATE", "t", "g", "$"]);
    let mut r = block(
        p,
        resp3,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "alice",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            "t",
            ">",
            ">",
        ],
        1,
    );
    log.call("w", &mut w, &["XADD", "t", "2-1", "y", "2"]);
    log.saw("alice", r.read());
    let mut n = block(
        p,
        resp3,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "bob",
            "NOACK",
            "COUNT",
            "1",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
        1,
    );
    log.call("w", &mut w, &["XADD", "s", "1-1", "z", "3"]);
    log.saw("bob", n.read());
    log.call("w", &mut w, &["XPENDING", "t", "g", "-", "+", "10"]);
    log.call("w", &mut w, &["XPENDING", "s", "g"]);
    log.call("w", &mut w, &["XINFO", "GROUPS", "s"]);
    log.call("w", &mut w, &["XINFO", "GROUPS", "t"]);
    log.call("w", &mut w, &["XINFO", "CONSUMERS", "t", "g"]);
}

#[test]
fn xreadgroup_block_is_woken_and_the_entry_pends_for_its_consumer() {
    let [t, _] = same_on_both(xreadgroup_woken_and_pending);
    assert!(contains(&t, "alice\\r\\n:<idle 00s>\\r\\n:1"), "{t:?}");
}

fn many_readers(p: &Proc, resp3: bool, log: &mut Log) {
    let mut w = Session::open(p, resp3);
    log.call("w", &mut w, &["XADD", "s", "1-1", "a", "1"]);
    let mut readers: Vec<Session> = (1..=4)
        .map(|i| block(p, resp3, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], i))
        .collect();
    log.call("w", &mut w, &["XADD", "s", "2-1", "b", "2"]);
    for (i, r) in readers.iter_mut().enumerate() {
        log.saw(&format!("r{i}"), r.read());
    }
    await_blocked(p, 0);
}

#[test]
fn one_xadd_wakes_every_blocked_xread() {
    same_on_both(many_readers);
}

fn fifo(p: &Proc, resp3: bool, log: &mut Log) {
    let mut w = Session::open(p, resp3);
    log.call(
        "w",
        &mut w,
        &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
    );
    let mut readers: Vec<Session> = ["c1", "c2", "c3"]
        .iter()
        .enumerate()
        .map(|(i, c)| {
            block(
                p,
                resp3,
                &[
                    "XREADGROUP",
                    "GROUP",
                    "g",
                    c,
                    "BLOCK",
                    "0",
                    "STREAMS",
                    "s",
                    ">",
                ],
                i as i64 + 1,
            )
        })
        .collect();
    log.call("w", &mut w, &["XADD", "s", "1-1", "a", "1"]);
    log.saw("c1", readers[0].read());
    await_blocked(p, 2);
    assert!(
        readers[1].quiet() && readers[2].quiet(),
        "one entry, one reader"
    );
    log.call("w", &mut w, &["XADD", "s", "2-1", "b", "2"]);
    log.saw("c2", readers[1].read());
    await_blocked(p, 1);
    assert!(readers[2].quiet(), "one entry, one reader");
    // Two entries in one transaction: the last reader gets both at once.
    log.call("w", &mut w, &["MULTI"]);
    log.call("w", &mut w, &["XADD", "s", "3-1", "c", "3"]);
    log.call("w", &mut w, &["XADD", "s", "4-1", "d", "4"]);
    log.call("w", &mut w, &["EXEC"]);
    log.saw("c3", readers[2].read());
    await_blocked(p, 0);
    log.call("w", &mut w, &["XPENDING", "s", "g"]);
}

#[test]
fn blocked_xreadgroup_readers_are_served_first_come_first_served() {
    let [t, _] = same_on_both(fifo);
    let c1 = t.iter().find(|l| l.starts_with("c1:")).expect("c1");
    assert!(c1.contains("1-1"), "{c1}");
}

/// A blocked XREADGROUP and what happens to its key or group.
fn key_or_group_gone(p: &Proc, resp3: bool, log: &mut Log) {
    let mut w = Session::open(p, resp3);
    let read = [
        "XREADGROUP",
        "GROUP",
        "g",
        "c",
        "BLOCK",
        "0",
        "STREAMS",
        "s",
        ">",
    ];
    let change: &[&[&str]] = &[
        &["DEL", "s"],
        &["UNLINK", "s"],
        &["SET", "s", "x"],
        &["RENAME", "s", "s2"],
        &["MOVE", "s", "3"],
        &["SWAPDB", "0", "3"],
        &["FLUSHDB"],
        &["FLUSHALL"],
        // Redis's active expiry deletes it within a few cycles.
        &["PEXPIRE", "s", "1"],
        &["XGROUP", "DESTROY", "s", "g"],
    ];
    for c in change {
        log.call("w", &mut w, &["FLUSHALL"]);
        log.call(
            "w",
            &mut w,
            &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
        );
        let mut r = block(p, resp3, &read, 1);
        log.call("w", &mut w, c);
        let who = format!("r after {c:?}");
        // Redis answers at once; a node that leaves the client blocked is
        // logged as such (and the client dropped) so the others still run.
        match r.read_within(Duration::from_secs(2)) {
            Some(reply) => {
                log.saw(&who, reply);
                await_blocked(p, 0);
                log.call("r", &mut r, &["PING"]);
            }
            None => {
                log.lines.push(format!("{who}: no reply within 2 s"));
                log.lines.push("r [\"PING\"]: not sent".into());
                drop(r);
                await_blocked(p, 0);
            }
        }
    }
    // A consumer deleted while its client waits: the wake-up creates it again.
    log.call("w", &mut w, &["FLUSHALL"]);
    log.call(
        "w",
        &mut w,
        &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
    );
    let mut r = block(p, resp3, &read, 1);
    log.call("w", &mut w, &["XGROUP", "DELCONSUMER", "s", "g", "c"]);
    log.call("w", &mut w, &["XTRIM", "s", "MAXLEN", "0"]);
    log.call("w", &mut w, &["XGROUP", "SETID", "s", "g", "$"]);
    assert!(r.quiet(), "woken by DELCONSUMER, XTRIM or SETID");
    log.call("w", &mut w, &["XADD", "s", "1-1", "a", "1"]);
    log.saw("r", r.read());
    log.call("w", &mut w, &["XINFO", "CONSUMERS", "s", "g"]);
}

#[test]
fn a_blocked_xreadgroup_learns_that_its_key_or_group_is_gone() {
    let [t, _] = same_on_both(key_or_group_gone);
    assert!(
        contains(&t, "UNBLOCKED the stream key no longer exists"),
        "{t:?}"
    );
    assert!(
        contains(
            &t,
            "NOGROUP the consumer group this client was blocked on no longer exists"
        ),
        "{t:?}"
    );
}

/// A blocked XREAD stays blocked while its key is deleted and set to a
/// string, then gets the first entry of the stream created again above its ID.
fn xread_survives_a_type_change(p: &Proc, resp3: bool, log: &mut Log) {
    let mut w = Session::open(p, resp3);
    log.call("w", &mut w, &["XADD", "s", "5-1", "a", "1"]);
    let mut r = block(p, resp3, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], 1);
    log.call("w", &mut w, &["DEL", "s"]);
    log.call("w", &mut w, &["SET", "s", "x"]);
    log.call("w", &mut w, &["DEL", "s"]);
    log.call("w", &mut w, &["XADD", "s", "5-1", "b", "2"]);
    assert!(r.quiet(), "XREAD woken by an entry not above its ID");
    await_blocked(p, 1);
    log.call("w", &mut w, &["XADD", "s", "5-2", "c", "3"]);
    log.saw("r", r.read());
}

#[test]
fn a_blocked_xread_waits_through_deletes_and_type_changes() {
    same_on_both(xread_survives_a_type_change);
}

/// XADDs inside MULTI wake the reader once, after EXEC, with all of them; a
/// DISCARDed XADD wakes nobody.
fn woken_by_exec(p: &Proc, resp3: bool, log: &mut Log) {
    let mut w = Session::open(p, resp3);
    log.call("w", &mut w, &["XADD", "s", "1-1", "a", "1"]);
    let mut r = block(p, resp3, &["XREAD", "BLOCK", "0", "STREAMS", "s", "$"], 1);
    log.call("w", &mut w, &["MULTI"]);
    log.call("w", &mut w, &["XADD", "s", "2-1", "b", "2"]);
    log.call("w", &mut w, &["DISCARD"]);
    assert!(r.quiet(), "woken by a discarded XADD");
    log.call("w", &mut w, &["MULTI"]);
    log.call("w", &mut w, &["XADD", "s", "2-1", "b", "2"]);
    log.call("w", &mut w, &["XADD", "s", "3-1", "c", "3"]);
    log.call("w", &mut w, &["XDEL", "s", "1-1"]);
    assert!(r.quiet(), "woken before EXEC");
    log.call("w", &mut w, &["EXEC"]);
    log.saw("r", r.read());
    await_blocked(p, 0);
    log.call("r", &mut r, &["XLEN", "s"]);
}

#[test]
fn xadds_in_a_transaction_wake_a_reader_once_after_exec() {
    let [t, _] = same_on_both(woken_by_exec);
    let r = t.iter().find(|l| l.starts_with("r:")).expect("r");
    assert!(r.contains("2-1") && r.contains("3-1"), "{r}");
}

/// A blocked client that goes away is no longer counted, and the next entry
/// goes to the group's next reader, not to the gone one.
fn disconnect(p: &Proc, resp3: bool, log: &mut Log) {
    let mut w = Session::open(p, resp3);
    log.call(
        "w",
        &mut w,
        &["XGROUP", "CREATE", "s", "g", "$", "MKSTREAM"],
    );
    let gone = block(
        p,
        resp3,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "gone",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
        1,
    );
    let mut next = block(
        p,
        resp3,
        &[
            "XREADGROUP",
            "GROUP",
            "g",
            "next",
            "BLOCK",
            "0",
            "STREAMS",
            "s",
            ">",
        ],
        2,
    );
    drop(gone);
    await_blocked(p, 1);
    log.call("w", &mut w, &["XADD", "s", "1-1", "a", "1"]);
    log.saw("next", next.read());
    log.call("w", &mut w, &["XPENDING", "s", "g"]);
    log.call("w", &mut w, &["XINFO", "CONSUMERS", "s", "g"]);
}

#[test]
fn a_blocked_reader_that_disconnects_is_forgotten() {
    same_on_both(disconnect);
}
