//! Latency introspection as Redis 7.0 (latency.c):
//!
//! * Per-command latency histograms (`latency-tracking yes`): every call's
//!   duration, kept as Redis's HDR histogram would bucket it (2 significant
//!   figures, in nanoseconds, clamped to 1 ns .. 1 s), for LATENCY HISTOGRAM
//!   (cumulative counts at 1024 ns · 2^k, printed in µs) and INFO latencystats
//!   (percentiles from `latency-tracking-info-percentiles`). Recording costs
//!   one increment: durations under 1024 µs count in an array, longer ones in
//!   a map by bucket.
//! * The latency monitor (`latency-monitor-threshold` ms, 0: off): commands
//!   at least that slow add a sample to the event `command` (or `fast-command`
//!   for commands flagged fast), one per second at most (the worst), 160 kept
//!   per event: LATENCY LATEST, HISTORY, GRAPH, RESET and DOCTOR.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use bytes::Bytes;
use tandem_commands::CommandSpec;
use tandem_store::util::eq_ic;
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{Ctx, ServerHandler};
use crate::state::State;

pub const COMMANDS: &[(&str, ServerHandler)] = &[("latency", latency)];

const TS_LEN: usize = 160;
const GRAPH_COLS: usize = 80;
const MAX_NS: u64 = 1_000_000_000;

/// HDR's bucketing with 2 significant figures: values under 256 are exact,
/// above, a value shares its bucket with those of the same top 8 bits.
fn lowest_equivalent(v: u64) -> u64 {
    if v < 256 {
        return v;
    }
    let r = 1u64 << (63 - v.leading_zeros() - 7);
    v & !(r - 1)
}
fn highest_equivalent(v: u64) -> u64 {
    if v < 256 {
        return v;
    }
    let r = 1u64 << (63 - v.leading_zeros() - 7);
    lowest_equivalent(v) + r - 1
}

/// One command's histogram.
#[derive(Debug)]
pub struct Hist {
    /// Calls by whole microseconds under 1024.
    small: Box<[u64; 1024]>,
    /// Longer calls by the lowest nanosecond value of their HDR bucket.
    large: BTreeMap<u64, u64>,
    total: u64,
}

impl Hist {
    fn new() -> Hist {
        Hist {
            small: Box::new([0; 1024]),
            large: BTreeMap::new(),
            total: 0,
        }
    }
    fn record(&mut self, usec: u64) {
        self.total += 1;
        if usec < 1024 {
            self.small[usec as usize] += 1;
        } else {
            let ns = usec.saturating_mul(1000).min(MAX_NS);
            *self.large.entry(lowest_equivalent(ns)).or_default() += 1;
        }
    }
    /// (nanosecond value, count) in ascending order.
    fn values(&self) -> impl Iterator<Item = (u64, u64)> + '_ {
        let small = self
            .small
            .iter()
            .enumerate()
            .filter(|(_, &n)| n > 0)
            .map(|(us, &n)| (if us == 0 { 1 } else { us as u64 * 1000 }, n));
        small.chain(self.large.iter().map(|(&v, &n)| (v, n)))
    }
    /// `hdr_value_at_percentile`, in nanoseconds.
    fn percentile(&self, p: f64) -> u64 {
        let p = p.min(100.0);
        let want = (((p / 100.0) * self.total as f64) + 0.5) as u64;
        let want = want.max(1);
        let mut seen = 0;
        let mut last = 0;
        for (v, n) in self.values() {
            seen += n;
            last = v;
            if seen >= want {
                break;
            }
        }
        if p == 0.0 {
            lowest_equivalent(last)
        } else {
            highest_equivalent(last)
        }
    }
    /// LATENCY HISTOGRAM's buckets: (µs, cumulative calls) at 1024 ns · 2^k,
    /// the levels where the count grew.
    fn cdf(&self) -> Vec<(u64, u64)> {
        let mut out = Vec::new();
        let mut level = 1024u64;
        let mut cumulative = 0;
        let mut values = self.values().peekable();
        while cumulative < self.total {
            let top = highest_equivalent(level);
            let before = cumulative;
            while let Some(&(v, n)) = values.peek() {
                if v > top {
                    break;
                }
                cumulative += n;
                values.next();
            }
            if cumulative > before {
                out.push((top / 1000, cumulative));
            }
            level = level.saturating_mul(2);
        }
        out
    }
}

#[derive(Debug, Default, Clone, Copy)]
struct Sample {
    time: i64,
    latency: u64,
}

#[derive(Debug)]
struct Series {
    samples: [Sample; TS_LEN],
    idx: usize,
    max: u64,
}

/// Histograms by command id, and the latency monitor's events.
#[derive(Debug, Default)]
pub struct Latency {
    hists: Vec<Option<Box<Hist>>>,
    events: BTreeMap<String, Series>,
}

/// Records a call of `spec` (the subcommand for containers) that took `usec`.
#[inline]
pub fn record(st: &mut State, spec: &CommandSpec, usec: u64) {
    match st.latency.hists.get_mut(spec.id as usize) {
        Some(Some(h)) if usec < 1024 => {
            h.total += 1;
            h.small[usec as usize] += 1;
        }
        _ => record_slow(st, spec, usec),
    }
}

/// A command's first call, or a call of a millisecond or more.
#[cold]
#[inline(never)]
fn record_slow(st: &mut State, spec: &CommandSpec, usec: u64) {
    let i = spec.id as usize;
    let h = &mut st.latency.hists;
    if h.len() <= i {
        h.resize_with(i + 1, || None);
    }
    h[i].get_or_insert_with(|| Box::new(Hist::new()))
        .record(usec);
}

/// Forgets every command's histogram (CONFIG RESETSTAT).
pub fn reset_histograms(st: &mut State) {
    st.latency.hists.clear();
}

/// The latency monitor's `latencyAddSample`.
#[cold]
#[inline(never)]
/// Adds a sample to `event` when `ms` reaches `latency-monitor-threshold`
/// (Redis's latencyAddSampleIfNeeded).
pub fn monitor(st: &mut State, event: &str, ms: u64) {
    let threshold = st.eff.latency_monitor_threshold;
    if threshold > 0 && ms >= threshold {
        add_sample(st, event, ms);
    }
}

pub fn add_sample(st: &mut State, event: &str, ms: u64) {
    let now = crate::dispatch::now_ms() / 1000;
    let ts = st
        .latency
        .events
        .entry(event.to_string())
        .or_insert_with(|| Series {
            samples: [Sample::default(); TS_LEN],
            idx: 0,
            max: 0,
        });
    ts.max = ts.max.max(ms);
    let prev = (ts.idx + TS_LEN - 1) % TS_LEN;
    if ts.samples[prev].time == now {
        ts.samples[prev].latency = ts.samples[prev].latency.max(ms);
        return;
    }
    ts.samples[ts.idx] = Sample {
        time: now,
        latency: ms,
    };
    ts.idx = (ts.idx + 1) % TS_LEN;
}

impl Series {
    /// The samples oldest first.
    fn ordered(&self) -> impl Iterator<Item = &Sample> {
        (0..TS_LEN)
            .map(move |j| &self.samples[(self.idx + j) % TS_LEN])
            .filter(|s| s.time != 0)
    }
}

/// INFO latencystats: one line per command called.
pub fn info(st: &State, out: &mut String, percentiles: &[f64]) {
    for spec in tandem_commands::all_with_subcommands() {
        let Some(Some(h)) = st.latency.hists.get(spec.id as usize) else {
            continue;
        };
        let mut line = format!("latency_percentiles_usec_{}:", spec.full_name);
        for (i, p) in percentiles.iter().enumerate() {
            if i > 0 {
                line.push(',');
            }
            let _ = write!(line, "p{p}={:.3}", h.percentile(*p) as f64 / 1000.0);
        }
        out.push_str(&line);
        out.push_str("\r\n");
    }
}

const HELP: &[&str] = &[
    "LATENCY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return a human readable latency analysis report.",
    "GRAPH <event>",
    "    Return an ASCII latency graph for the <event> class.",
    "HISTORY <event>",
    "    Return time-latency samples for the <event> class.",
    "LATEST",
    "    Return the latest latency samples for all events.",
    "RESET [<event> ...]",
    "    Reset latency data of one or more <event> classes.",
    "    (default: reset all data for all event classes)",
    "HISTOGRAM [COMMAND ...]",
    "    Return a cumulative distribution of latencies in the format of a histogram for the specified command names.",
    "    If no commands are specified then all histograms are replied.",
    "HELP",
    "    Prints this help.",
];

fn latency(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let n = args.len();
    if eq_ic(sub, "HISTORY") && n == 3 {
        let key = String::from_utf8_lossy(&args[2]).into_owned();
        let samples: Vec<Sample> = ctx
            .st
            .latency
            .events
            .get(&key)
            .map(|ts| ts.ordered().copied().collect())
            .unwrap_or_default();
        ctx.out.array(samples.len());
        for s in samples {
            ctx.out.array(2);
            ctx.out.int(s.time);
            ctx.out.int(s.latency as i64);
        }
    } else if eq_ic(sub, "GRAPH") && n == 3 {
        let key = String::from_utf8_lossy(&args[2]).into_owned();
        let Some(ts) = ctx.st.latency.events.get(&key) else {
            return Err(CmdError::msg(format!(
                "ERR No samples available for event '{}'",
                tandem_resp::c_str(&args[2])
            )));
        };
        let graph = graph(&key, ts);
        ctx.out.verbatim(graph.as_bytes());
    } else if eq_ic(sub, "LATEST") && n == 2 {
        let out = &mut *ctx.out;
        out.array(ctx.st.latency.events.len());
        for (name, ts) in &ctx.st.latency.events {
            let last = ts.samples[(ts.idx + TS_LEN - 1) % TS_LEN];
            out.array(4);
            out.bulk(name.as_bytes());
            out.int(last.time);
            out.int(last.latency as i64);
            out.int(ts.max as i64);
        }
    } else if eq_ic(sub, "DOCTOR") && n == 2 {
        let report = doctor(ctx.st);
        ctx.out.verbatim(report.as_bytes());
    } else if eq_ic(sub, "RESET") {
        let events = &mut ctx.st.latency.events;
        let resets = if n == 2 {
            let k = events.len();
            events.clear();
            k
        } else {
            args[2..]
                .iter()
                .filter(|e| events.remove(&*String::from_utf8_lossy(e)).is_some())
                .count()
        };
        ctx.out.int(resets as i64);
    } else if eq_ic(sub, "HISTOGRAM") {
        histogram(ctx, &args[2..]);
    } else if eq_ic(sub, "HELP") && n == 2 {
        crate::dispatch::reply_help(ctx.out, HELP);
    } else {
        return Err(crate::cmd_client::sub_syntax(sub, "LATENCY"));
    }
    Ok(())
}

/// LATENCY HISTOGRAM [command ...]: a map of command name to `calls` and
/// `histogram_usec`; a container name stands for its subcommands too.
fn histogram(ctx: &mut Ctx<'_>, names: &[Bytes]) {
    let mut specs: Vec<&'static CommandSpec> = Vec::new();
    if names.is_empty() {
        specs.extend(tandem_commands::all_with_subcommands());
    } else {
        for name in names {
            let Some(spec) = lookup(name) else { continue };
            specs.push(spec);
            specs.extend(spec.subcommands.iter());
        }
    }
    let hists = &ctx.st.latency.hists;
    let with: Vec<(&str, &Hist)> = specs
        .into_iter()
        .filter_map(|s| {
            let h = hists.get(s.id as usize)?.as_deref()?;
            Some((s.full_name, h))
        })
        .collect();
    let out = &mut *ctx.out;
    out.map(with.len());
    for (name, h) in with {
        out.bulk(name.as_bytes());
        out.map(2);
        out.bulk(b"calls");
        out.int(h.total as i64);
        out.bulk(b"histogram_usec");
        let cdf = h.cdf();
        out.map(cdf.len());
        for (us, n) in cdf {
            out.int(us as i64);
            out.int(n as i64);
        }
    }
}

/// A command or `container|subcommand` by name, in any case.
fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    let lower = name.to_ascii_lowercase();
    match lower.iter().position(|&b| b == b'|') {
        None => tandem_commands::lookup(&lower),
        Some(i) => tandem_commands::lookup(&lower[..i])?.subcommand(&lower[i + 1..]),
    }
}

/// `latencyCommandGenSparkeline`: a header, a rule, and the samples as a
/// four-row sparkline labelled with their age.
fn graph(event: &str, ts: &Series) -> String {
    let now = crate::dispatch::now_ms() / 1000;
    let samples: Vec<(f64, String)> = ts
        .ordered()
        .map(|s| {
            let elapsed = now - s.time;
            let label = if elapsed < 60 {
                format!("{elapsed}s")
            } else if elapsed < 3600 {
                format!("{}m", elapsed / 60)
            } else if elapsed < 3600 * 24 {
                format!("{}h", elapsed / 3600)
            } else {
                format!("{}d", elapsed / (3600 * 24))
            };
            (s.latency as f64, label)
        })
        .collect();
    let lat = || ts.ordered().map(|s| s.latency);
    let (max, min) = (lat().max().unwrap_or(0), lat().min().unwrap_or(0));
    let mut g = format!(
        "{event} - high {max} ms, low {min} ms (all time high {} ms)\n",
        ts.max
    );
    g.push_str(&"-".repeat(GRAPH_COLS));
    g.push('\n');
    sparkline(&mut g, &samples, GRAPH_COLS, 4);
    g
}

/// Redis's sparklineRender with the fill option (`_o#` and `|` under the
/// peaks), the labels written vertically under the columns.
fn sparkline(out: &mut String, seq: &[(f64, String)], columns: usize, rows: i64) {
    let charset_fill = b"_o#";
    let charset_len = 3i64;
    let (min, max) = seq
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), (v, _)| {
            (lo.min(*v), hi.max(*v))
        });
    let has_labels = seq.iter().any(|(_, l)| !l.is_empty());
    for (chunk_no, chunk) in seq.chunks(columns).enumerate() {
        if chunk_no != 0 {
            out.push('\n');
        }
        let mut relmax = max - min;
        if relmax == 0.0 {
            relmax = 1.0;
        }
        let steps = charset_len * rows;
        let mut row: i64 = 0;
        loop {
            let mut more = false;
            let mut chars = vec![b' '; chunk.len()];
            for (j, (v, label)) in chunk.iter().enumerate() {
                let relval = v - min;
                let step = (((relval * steps as f64) as i64) as f64 / relmax) as i64;
                let step = step.clamp(0, steps - 1);
                if row < rows {
                    let idx = step - (rows - row - 1) * charset_len;
                    more = true;
                    if (0..charset_len).contains(&idx) {
                        chars[j] = charset_fill[idx as usize];
                    } else if idx >= charset_len {
                        chars[j] = b'|';
                    }
                } else {
                    if has_labels && row - rows < 1 {
                        more = true;
                        break;
                    }
                    let label_char = (row - rows - 1) as usize;
                    if label.len() > label_char {
                        more = true;
                        chars[j] = label.as_bytes()[label_char];
                    }
                }
            }
            if !more {
                break;
            }
            row += 1;
            out.push_str(&String::from_utf8_lossy(&chars));
            out.push('\n');
        }
    }
}

/// `analyzeLatencyForEvent`: (samples, avg, mean deviation, period seconds).
fn analyze(ts: &Series) -> (u64, u64, u64, i64) {
    let present: Vec<&Sample> = ts.samples.iter().filter(|s| s.time != 0).collect();
    let n = present.len() as u64;
    if n == 0 {
        return (0, 0, 0, 0);
    }
    let sum: u64 = present.iter().map(|s| s.latency).sum();
    let avg = sum / n;
    let oldest = present.iter().map(|s| s.time).min().unwrap_or(0);
    let mut period = crate::dispatch::now_ms() / 1000 - oldest;
    if period == 0 {
        period = 1;
    }
    let dev: u64 = present
        .iter()
        .map(|s| (avg as i64 - s.latency as i64).unsigned_abs())
        .sum();
    (n, avg, dev / n, period)
}

/// LATENCY DOCTOR: Redis's report for the events Tandem records (commands,
/// fork, the expiry and eviction cycles).
fn doctor(st: &State) -> String {
    let threshold = st.eff.latency_monitor_threshold;
    let events = &st.latency.events;
    if events.is_empty() && threshold == 0 {
        return "I'm sorry, Dave, I can't do that. Latency monitoring is disabled in this Redis instance. You may use \"CONFIG SET latency-monitor-threshold <milliseconds>.\" in order to enable it. If we weren't in a deep space mission I'd suggest to take a look at https://redis.io/topics/latency-monitor.\n".into();
    }
    let mut r = String::new();
    let (mut slowlog_enabled, mut slowlog_tuning, mut slowlog_inspect) = (false, false, false);
    let (mut scheduler, mut large_objects) = (false, false);
    let (mut better_vm, mut hz, mut mass_eviction) = (false, false, false);
    let mut advices = 0;
    for (num, (event, ts)) in events.iter().enumerate() {
        if num == 0 {
            r.push_str("Dave, I have observed latency spikes in this Redis instance. You don't mind talking about it, do you Dave?\n\n");
        }
        let (n, avg, mad, period) = analyze(ts);
        let _ = write!(
            r,
            "{}. {event}: {n} latency spikes (average {avg}ms, mean deviation {mad}ms, period {:.2} sec). Worst all time event {}ms.",
            num + 1,
            period as f64 / n.max(1) as f64,
            ts.max
        );
        if event == "fork" {
            let rate = fork_rate(st);
            let quality = if rate < 10.0 {
                better_vm = true;
                advices += 1;
                "terrible"
            } else if rate < 25.0 {
                better_vm = true;
                advices += 1;
                "poor"
            } else if rate < 100.0 {
                "good"
            } else {
                "excellent"
            };
            let _ = write!(r, " Fork rate is {rate:.2} GB/sec ({quality}).");
        }
        if event == "expire-cycle" {
            hz = true;
            large_objects = true;
            advices += 2;
        }
        if event == "eviction-cycle" {
            mass_eviction = true;
            advices += 1;
        }
        if event == "command" {
            let slower = st.eff.slowlog_slower_than;
            if slower < 0 {
                slowlog_enabled = true;
                advices += 1;
            } else if (slower / 1000) as u64 > threshold {
                slowlog_tuning = true;
                advices += 1;
            }
            slowlog_inspect = true;
            large_objects = true;
            advices += 2;
        }
        if event == "fast-command" {
            scheduler = true;
            advices += 1;
        }
        r.push('\n');
    }
    if events.is_empty() && advices == 0 {
        r.push_str("Dave, no latency spike was observed during the lifetime of this Redis instance, not in the slightest bit. I honestly think you ought to sit down calmly, take a stress pill, and think things over.\n");
        return r;
    }
    if advices == 0 {
        r.push_str("\nWhile there are latency events logged, I'm not able to suggest any easy fix. Please use the Redis community to get some help, providing this report in your help request.\n");
        return r;
    }
    r.push_str("\nI have a few advices for you:\n\n");
    if better_vm {
        r.push_str("- If you are using a virtual machine, consider upgrading it with a faster one using a hypervisior that provides less latency during fork() calls. Xen is known to have poor fork() performance. Even in the context of the same VM provider, certain kinds of instances can execute fork faster than others.\n");
    }
    if slowlog_enabled {
        let _ = writeln!(r, "- There are latency issues with potentially slow commands you are using. Try to enable the Slow Log Redis feature using the command 'CONFIG SET slowlog-log-slower-than {}'. If the Slow log is disabled Redis is not able to log slow commands execution for you.", threshold * 1000);
    }
    if slowlog_tuning {
        let _ = writeln!(r, "- Your current Slow Log configuration only logs events that are slower than your configured latency monitor threshold. Please use 'CONFIG SET slowlog-log-slower-than {}'.", threshold * 1000);
    }
    if slowlog_inspect {
        r.push_str("- Check your Slow Log to understand what are the commands you are running which are too slow to execute. Please check https://redis.io/commands/slowlog for more information.\n");
    }
    if scheduler {
        r.push_str("- The system is slow to execute Redis code paths not containing system calls. This usually means the system does not provide Redis CPU time to run for long periods. You should try to:\n  1) Lower the system load.\n  2) Use a computer / VM just for Redis if you are running other software in the same system.\n  3) Check if you have a \"noisy neighbour\" problem.\n  4) Check with 'redis-cli --intrinsic-latency 100' what is the intrinsic latency in your system.\n  5) Check if the problem is allocator-related by recompiling Redis with MALLOC=libc, if you are using Jemalloc. However this may create fragmentation problems.\n");
    }
    if hz && st.eff.hz < 100 {
        r.push_str("- In order to make the Redis keys expiring process more incremental, try to set the 'hz' configuration parameter to 100 using 'CONFIG SET hz 100'.\n");
    }
    if large_objects {
        r.push_str("- Deleting, expiring or evicting (because of maxmemory policy) large objects is a blocking operation. If you have very large objects that are often deleted, expired, or evicted, try to fragment those objects into multiple smaller objects.\n");
    }
    if mass_eviction {
        r.push_str("- Sudden changes to the 'maxmemory' setting via 'CONFIG SET', or allocation of large objects via sets or sorted sets intersections, STORE option of SORT, Redis Cluster large keys migrations (RESTORE command), may create sudden memory pressure forcing the server to block trying to evict keys. \n");
    }
    r
}

/// Redis's fork rate: GB of memory in use per second of the last fork().
fn fork_rate(st: &State) -> f64 {
    let us = st.persist.latest_fork_usec.max(1) as f64;
    let used = crate::cron::allocated_bytes().unwrap_or(st.store.used_memory) as f64;
    used * 1_000_000.0 / us / (1024.0 * 1024.0 * 1024.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_as_hdr_with_two_significant_figures() {
        assert_eq!(highest_equivalent(1), 1);
        assert_eq!(highest_equivalent(1024), 1031);
        assert_eq!(highest_equivalent(32768), 33023);
        assert_eq!(highest_equivalent(17000), 17023);
        assert_eq!(highest_equivalent(25000), 25087);
        assert_eq!(lowest_equivalent(33000), 32768);
    }

    #[test]
    fn cdf_and_percentiles_as_redis_prints_them() {
        let mut h = Hist::new();
        for us in [0, 1, 1, 2, 3, 17, 25, 40, 2000] {
            h.record(us);
        }
        // Levels 1024, 2048, 4096, 8192, 16384, 32768, 65536 ns ... 2^21·1024.
        assert_eq!(
            h.cdf(),
            vec![(1, 3), (2, 4), (4, 5), (33, 7), (66, 8), (2113, 9)]
        );
        assert_eq!(h.percentile(50.0), 3007);
        assert_eq!(h.percentile(100.0), highest_equivalent(2_000_000));
    }

    /// Fork, expiry and eviction events are recorded only at the threshold,
    /// and the doctor gives Redis's advice for them.
    #[test]
    fn background_events_and_their_advice() {
        let cfg = crate::config::Config::from_args(&[]).expect("config");
        let shared = crate::state::Shared::new(cfg, 0);
        let mut st = shared.state.lock();
        st.eff.latency_monitor_threshold = 10;
        monitor(&mut st, "fork", 9);
        assert!(st.latency.events.is_empty(), "below the threshold");
        // A slow fork: a terrible rate (well under 10 GB/s).
        st.persist.latest_fork_usec = 50_000;
        monitor(&mut st, "fork", 50);
        monitor(&mut st, "expire-cycle", 12);
        monitor(&mut st, "eviction-cycle", 30);
        let report = doctor(&st);
        assert!(report.contains(". fork: 1 latency spikes"), "{report}");
        assert!(report.contains("Fork rate is 0."), "{report}");
        assert!(report.contains("(terrible)."), "{report}");
        for advice in [
            "consider upgrading it with a faster one",
            "set the 'hz' configuration parameter to 100",
            "large objects is a blocking operation",
            "may create sudden memory pressure",
        ] {
            assert!(report.contains(advice), "{advice}: {report}");
        }
    }
}
