//! Differential test: the same seeded random command stream goes to Tandem and to a
//! real Redis 7.0, and every reply must be identical (as a raw `redis::Value`),
//! except where Redis itself is unordered or random (see `ops::Norm`). Every few
//! hundred commands, and at the end, the whole datasets (type, has-TTL, contents
//! of every key in db 0 and 1) must match too. Runs in RESP2 and in RESP3.
//!
//! ```text
//!   seed ─▶ G (rng + small pools) ─▶ Op table ─▶ Cmd ─┬─▶ tandem ─▶ Value ─▶ norm ─┐
//!                                                      └─▶ redis  ─▶ Value ─▶ norm ─┴─▶ ==
//! ```
//!
//! Environment:
//! - `TANDEM_DIFF_SEED=N`: run that one seed (else a fixed default set).
//! - `TANDEM_DIFF_COMMANDS=N`: commands per seed (default 4000).
//! - `TANDEM_DIFF_SECS=N`: time budget per test; stops early, loudly (default 120).
//! - `TANDEM_DIFF_SKIP=a,b`: leave out command families or single ops (names in
//!   `ops.rs` and the family files), or `multi` (MULTI/EXEC blocks) or `watch`
//!   (WATCH before them), e.g. while a known difference is being fixed.
//! - `TANDEM_DIFF_AGAINST_REDIS=1`: the "tandem" side is a second redis-server; this
//!   must pass with zero differences, which proves the normalizations are right.
//!
//! On a mismatch the failure names the seed, the command index, the command, both
//! replies and the last 20 commands; rerun with `TANDEM_DIFF_SEED` to replay it.

mod common;
#[macro_use]
#[path = "differential/gen.rs"]
mod gen;
#[path = "differential/conn.rs"]
mod conn;
#[path = "differential/geo.rs"]
mod geo;
#[path = "differential/keys.rs"]
mod keys;
#[path = "differential/lists.rs"]
mod lists;
#[path = "differential/norm.rs"]
mod norm;
#[path = "differential/ops.rs"]
mod ops;
#[path = "differential/scripts.rs"]
mod scripts;
#[path = "differential/sets.rs"]
mod sets;
#[path = "differential/sort.rs"]
mod sort;
#[path = "differential/streams.rs"]
mod streams;
#[path = "differential/strings.rs"]
mod strings;
#[path = "differential/zsets.rs"]
mod zsets;

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use redis::Value;

use common::Proc;
use conn::Conn;
use gen::{show, Cmd, G};
use ops::{Norm, Op, FAMILIES};

const DEFAULT_SEEDS: &[u64] = &[1, 2, 3, 0x7A4D_E11A];
/// Datasets are compared every this many commands, so a divergence that no reply
/// shows is caught close to where it happened.
const DUMP_EVERY: usize = 500;
const HISTORY: usize = 20;

fn env_num(name: &str, default: u64) -> u64 {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// The names listed in `TANDEM_DIFF_SKIP`.
fn skipped() -> Vec<String> {
    let skip = std::env::var("TANDEM_DIFF_SKIP").unwrap_or_default();
    skip.split(',').map(|s| s.trim().to_string()).collect()
}

/// The enabled families (after `TANDEM_DIFF_SKIP`).
fn families() -> Vec<(&'static str, &'static [Op])> {
    let skip = skipped();
    let skip: Vec<&str> = skip.iter().map(String::as_str).collect();
    // Ops are skipped by name too: the tables are 'static, so the kept ops of a
    // partly skipped family are leaked once per test (a few bytes).
    let fams: Vec<(&'static str, &'static [Op])> = FAMILIES
        .iter()
        .filter(|(n, _)| !skip.contains(n))
        .map(|&(n, ops)| {
            let kept: Vec<Op> = ops
                .iter()
                .filter(|o| !skip.contains(&o.name))
                .copied()
                .collect();
            (n, &*Vec::leak(kept))
        })
        .filter(|(_, ops)| !ops.is_empty())
        .collect();
    assert!(!fams.is_empty(), "TANDEM_DIFF_SKIP left no family to run");
    fams
}

/// One seed's run against a pair of connections.
struct Run<'a> {
    seed: u64,
    proto: &'static str,
    g: G,
    fams: &'a [(&'static str, &'static [Op])],
    /// MULTI/EXEC blocks on (skip name `multi`), WATCH before them (`watch`).
    multi: bool,
    watch: bool,
    /// The side under test (Tandem, or a second Redis in self-check mode).
    a: Conn,
    /// The reference: a real Redis 7.0.
    b: Conn,
    history: VecDeque<String>,
    index: usize,
    /// Error replies seen from the reference (reported: a stream that is mostly
    /// errors would test little).
    errors: usize,
    replies: usize,
    /// EXECs that WATCH aborted (reported, to show the WATCH path is exercised).
    aborted: usize,
}

impl Run<'_> {
    fn pick_op(&mut self, in_multi: bool) -> Op {
        loop {
            let (_, ops) = *self.g.rng.pick(self.fams);
            let total: u32 = ops.iter().map(|o| o.weight).sum();
            let mut r = self.g.rng.below(total as usize) as u32;
            for o in ops {
                if r < o.weight {
                    if in_multi && !o.in_multi {
                        break; // pick again
                    }
                    return *o;
                }
                r -= o.weight;
            }
        }
    }

    /// Makes a command for `op`; 2% of the time cut down to its bare name, so
    /// arity errors of every command are compared too.
    fn make(&mut self, op: &Op) -> (Cmd, Norm) {
        let mut cmd = (op.gen)(&mut self.g);
        if cmd.len() > 1 && self.g.rng.chance(2) {
            cmd.truncate(1);
            return (cmd, Norm::Exact);
        }
        (cmd, op.norm)
    }

    fn record(&mut self, what: String) {
        if self.history.len() == HISTORY {
            self.history.pop_front();
        }
        self.history.push_back(format!("#{} {what}", self.index));
    }

    fn fail(&self, cmd: &Cmd, a: &Value, b: &Value, what: &str) -> ! {
        let hist: Vec<&str> = self.history.iter().map(String::as_str).collect();
        panic!(
            "differential mismatch ({what}), seed {} ({}), command #{}:\n  {}\n  tandem: {a:?}\n  redis:  {b:?}\nlast {} commands:\n  {}\nreplay: TANDEM_DIFF_SEED={} cargo test -p tandem --test differential differential_{}",
            self.seed,
            self.proto,
            self.index,
            show(cmd),
            hist.len(),
            hist.join("\n  "),
            self.seed,
            self.proto.to_lowercase()
        );
    }

    /// Sends `cmd` to both sides, compares the normalized replies, returns the raw ones.
    fn both(&mut self, cmd: &Cmd, norm: Norm) -> (Value, Value) {
        self.record(show(cmd));
        let ra = self.a.call(cmd);
        let rb = self.b.call(cmd);
        self.replies += 1;
        if matches!(rb, Value::ServerError(_)) {
            self.errors += 1;
        }
        let (na, nb) = (norm::apply(norm, ra.clone()), norm::apply(norm, rb.clone()));
        if na != nb {
            self.fail(cmd, &ra, &rb, &format!("reply, normalized as {norm:?}"));
        }
        (ra, rb)
    }

    fn step(&mut self) {
        self.index += 1;
        if self.multi && self.g.rng.chance(3) {
            return self.multi_block();
        }
        let op = self.pick_op(false);
        let (cmd, norm) = self.make(&op);
        if cmd[0] == b"DBSIZE" {
            // DBSIZE counts keys whose absolute expiry time has passed (SET ...
            // EXAT 1000) until each server's active expiry reclaims them, on
            // its own schedule: a SCAN over everything reclaims them on both.
            let scan: Cmd = c!["SCAN", "0", "COUNT", "1000000"];
            self.a.call(&scan);
            self.b.call(&scan);
        }
        let (ra, rb) = self.both(&cmd, norm);
        if norm == Norm::SpopResync {
            self.resync_spop(&cmd, ra, rb);
        }
        if matches!(norm, Norm::Relist { .. }) {
            self.relist_zset(&cmd);
        }
    }

    /// After SORT on a sorted set: rebuilt on both sides (ZUNIONSTORE into
    /// itself), back in the listpack encoding Redis gives a small new set.
    fn relist_zset(&mut self, cmd: &Cmd) {
        let key = cmd[1].clone();
        let is_zset = |c: &mut Conn| {
            matches!(c.call(&vec![b"TYPE".to_vec(), key.clone()]),
                Value::SimpleString(t) if t == "zset")
        };
        if is_zset(&mut self.a) && is_zset(&mut self.b) {
            let rebuild = vec![
                b"ZUNIONSTORE".to_vec(),
                key.clone(),
                b"1".to_vec(),
                key.clone(),
            ];
            self.a.call(&rebuild);
            self.b.call(&rebuild);
        }
    }

    /// SPOP removed a random member on each side: make the side under test lose the
    /// same member as the reference (add back its own pick, remove the reference's).
    fn resync_spop(&mut self, cmd: &Cmd, ra: Value, rb: Value) {
        if let (Value::BulkString(x), Value::BulkString(y)) = (ra, rb) {
            if x != y {
                let key = cmd[1].clone();
                self.a.call(&vec![b"SADD".to_vec(), key.clone(), x]);
                self.a.call(&vec![b"SREM".to_vec(), key, y]);
            }
        }
    }

    /// MULTI, 1-4 queued commands (replies compared: QUEUED or errors), then EXEC
    /// (its array normalized element-wise) or DISCARD.
    fn multi_block(&mut self) {
        if self.watch && self.g.rng.chance(40) {
            self.watch_prelude();
        }
        let multi: Cmd = c!["MULTI"];
        self.both(&multi, Norm::Exact);
        let mut norms = Vec::new();
        for _ in 0..1 + self.g.rng.below(4) {
            let op = self.pick_op(true);
            let (cmd, norm) = self.make(&op);
            norms.push(norm);
            self.both(&cmd, Norm::Exact);
        }
        let end: Cmd = if self.g.rng.chance(90) {
            c!["EXEC"]
        } else {
            c!["DISCARD"]
        };
        self.record(show(&end));
        let ra = self.a.call(&end);
        let rb = self.b.call(&end);
        if matches!(rb, Value::Nil) {
            self.aborted += 1;
        }
        if norm::apply_exec(&norms, ra.clone()) != norm::apply_exec(&norms, rb.clone()) {
            self.fail(&end, &ra, &rb, "EXEC reply, normalized per queued command");
        }
    }

    /// WATCH a few keys, then run up to two ordinary commands that may or may not
    /// modify them (on this same connection, which counts as a modification in
    /// Redis too), sometimes UNWATCH: the following EXEC then fails (nil) or runs
    /// exactly when Redis's does, which checks that every real change, and only
    /// a real change, invalidates WATCH.
    fn watch_prelude(&mut self) {
        let watched = self.g.keys(gen::Kp::Any, 2);
        let mut w: Cmd = c!["WATCH"];
        w.extend(watched.iter().cloned());
        self.both(&w, Norm::Exact);
        for _ in 0..self.g.rng.below(3) {
            let op = self.pick_op(true);
            let (mut cmd, norm) = self.make(&op);
            // Aim at a watched key half of the time: the first argument is the
            // key for most commands (where it is not, the call is simply wrong).
            if cmd.len() > 1 && self.g.rng.chance(50) {
                cmd[1] = self.g.rng.pick(&watched).clone();
            }
            self.both(&cmd, norm);
        }
        if self.g.rng.chance(10) {
            let u: Cmd = c!["UNWATCH"];
            self.both(&u, Norm::Exact);
        }
    }

    fn compare_dumps(&mut self) {
        let da = norm::dump(&mut self.a);
        let db = norm::dump(&mut self.b);
        if da != db {
            let only_a: Vec<&String> = da.iter().filter(|l| !db.contains(l)).collect();
            let only_b: Vec<&String> = db.iter().filter(|l| !da.contains(l)).collect();
            let hist: Vec<&str> = self.history.iter().map(String::as_str).collect();
            panic!(
                "differential dataset mismatch, seed {} ({}), after command #{}:\n  only in tandem: {only_a:#?}\n  only in redis: {only_b:#?}\nlast {} commands:\n  {}",
                self.seed,
                self.proto,
                self.index,
                hist.len(),
                hist.join("\n  ")
            );
        }
    }
}

/// Runs every seed against a fresh pair of servers in one protocol.
fn differential(resp3: bool) {
    let against_redis = std::env::var("TANDEM_DIFF_AGAINST_REDIS").is_ok_and(|v| v == "1");
    differential_with(resp3, against_redis, None);
}

/// `only`: (seed, commands) instead of the environment's or default seeds.
fn differential_with(resp3: bool, against_redis: bool, only: Option<(u64, usize)>) {
    let side_a = if against_redis {
        Proc::redis(&[])
    } else {
        Proc::tandem(&[])
    };
    let side_b = Proc::redis(&[]);
    let (seeds, per_seed): (Vec<u64>, usize) = match (only, std::env::var("TANDEM_DIFF_SEED")) {
        (Some((seed, n)), _) => (vec![seed], n),
        (None, Ok(_)) => (
            vec![env_num("TANDEM_DIFF_SEED", 0)],
            env_num("TANDEM_DIFF_COMMANDS", 4000) as usize,
        ),
        (None, Err(_)) => (
            DEFAULT_SEEDS.to_vec(),
            env_num("TANDEM_DIFF_COMMANDS", 4000) as usize,
        ),
    };
    let budget = Duration::from_secs(env_num("TANDEM_DIFF_SECS", 120));
    let fams = families();
    let skip = skipped();
    let proto = if resp3 { "RESP3" } else { "RESP2" };
    let start = Instant::now();
    let mut total = 0;
    for &seed in &seeds {
        let mut run = Run {
            seed,
            proto,
            g: G::new(seed ^ if resp3 { 0x3333 } else { 0 }),
            fams: &fams,
            multi: !skip.iter().any(|s| s == "multi"),
            watch: !skip.iter().any(|s| s == "watch"),
            a: Conn::open(side_a.port, resp3),
            b: Conn::open(side_b.port, resp3),
            history: VecDeque::new(),
            index: 0,
            errors: 0,
            replies: 0,
            aborted: 0,
        };
        let flush: Cmd = c!["FLUSHALL"];
        run.both(&flush, Norm::Exact);
        let library: Cmd = c!["FUNCTION", "LOAD", "REPLACE", scripts::LIBRARY];
        run.both(&library, Norm::Exact);
        for i in 1..=per_seed {
            run.step();
            if i % DUMP_EVERY == 0 {
                run.compare_dumps();
                assert!(
                    start.elapsed() < budget,
                    "{proto}: time budget {budget:?} spent after {total} + {i} commands (seed {seed}); raise TANDEM_DIFF_SECS or lower TANDEM_DIFF_COMMANDS"
                );
            }
        }
        run.compare_dumps();
        eprintln!(
            "{proto} seed {seed}: {per_seed} steps, {} replies, {} errors, {} EXECs aborted by WATCH",
            run.replies, run.errors, run.aborted
        );
        total += per_seed;
    }
    eprintln!(
        "differential {proto}: {total} commands over {} seeds, no difference ({:?}{})",
        seeds.len(),
        start.elapsed(),
        if against_redis {
            ", redis vs redis"
        } else {
            ""
        }
    );
}

/// Tandem and Redis agree on every reply and on the final dataset, in RESP2.
#[test]
fn differential_resp2() {
    differential(false);
}

/// The same in RESP3 (maps, sets, doubles, nulls take their RESP3 forms).
#[test]
fn differential_resp3() {
    differential(true);
}

/// The test checks itself: with Redis on both sides there must be no difference at
/// all, which proves the generator only normalizes what Redis leaves unordered or
/// random. (A new op with a wrong normalization fails here, not against Tandem.)
#[test]
fn differential_redis_vs_redis_checks_the_normalizations() {
    differential_with(false, true, Some((0x5E1F, 2500)));
    differential_with(true, true, Some((0x5E1F, 2500)));
}
