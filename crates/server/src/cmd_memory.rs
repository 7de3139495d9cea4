//! MEMORY: USAGE, STATS, DOCTOR, MALLOC-STATS, PURGE, HELP, in Redis 7.0's
//! shapes. The byte counts are Tandem's own: USAGE estimates the key's
//! share of the keyspace table plus its value as Tandem stores it (nested
//! values sampled, `SAMPLES 0` for all), STATS reads jemalloc's counters.

use bytes::Bytes;
use tandem_store::util::{eq_ic, parse_i64};
use tandem_store::value::Value;
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{Ctx, ServerHandler};
use crate::state::State;

pub const COMMANDS: &[(&str, ServerHandler)] = &[("memory", memory)];

const HELP: &[&str] = &[
    "MEMORY <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "DOCTOR",
    "    Return memory problems reports.",
    "MALLOC-STATS",
    "    Return internal statistics report from the memory allocator.",
    "PURGE",
    "    Attempt to purge dirty pages for reclamation by the allocator.",
    "STATS",
    "    Return information about the memory usage of the server.",
    "USAGE <key> [SAMPLES <count>]",
    "    Return memory in bytes used by <key> and its value. Nested values are",
    "    sampled up to <count> times (default: 5, 0 means sample all).",
    "HELP",
    "    Prints this help.",
];

/// Bytes of a table entry for one key (node, bucket share, key header).
const ENTRY_OVERHEAD: usize = 48;
/// Per-element bookkeeping of a collection, beyond the element's bytes.
const ELEM_OVERHEAD: usize = 16;

fn memory(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    let n = args.len();
    if eq_ic(sub, "USAGE") && n >= 3 {
        let mut samples: usize = 5;
        let mut j = 3;
        while j < n {
            if eq_ic(&args[j], "SAMPLES") && j + 1 < n {
                let s = parse_i64(&args[j + 1]).ok_or(CmdError::NotInteger)?;
                if s < 0 {
                    return Err(CmdError::Syntax);
                }
                samples = if s == 0 { usize::MAX } else { s as usize };
                j += 2;
            } else {
                return Err(CmdError::Syntax);
            }
        }
        let db = ctx.client().db;
        // As Redis's dbFind: the key as stored, expired or not.
        match ctx.st.store.dbs[db].dict.get(&args[2]) {
            None => ctx.out.null(),
            Some(e) => {
                let usage = args[2].len() + ENTRY_OVERHEAD + value_usage(&e.value, samples);
                ctx.out.int(usage as i64);
            }
        }
    } else if eq_ic(sub, "STATS") && n == 2 {
        stats(ctx);
    } else if eq_ic(sub, "DOCTOR") && n == 2 {
        let report = doctor(ctx);
        ctx.out.verbatim(report.as_bytes());
    } else if eq_ic(sub, "MALLOC-STATS") && n == 2 {
        ctx.out.verbatim(malloc_stats().as_bytes());
    } else if eq_ic(sub, "PURGE") && n == 2 {
        if !purge() {
            return Err(CmdError::msg("ERR Error purging dirty pages"));
        }
        ctx.out.ok();
    } else if eq_ic(sub, "HELP") && n == 2 {
        crate::dispatch::reply_help(ctx.out, HELP);
    } else {
        return Err(crate::cmd_client::sub_syntax(sub, "MEMORY"));
    }
    Ok(())
}

/// A value's bytes as Tandem stores it; collections are sampled on their
/// first `samples` elements and the average scaled to their size.
fn value_usage(v: &Value, samples: usize) -> usize {
    fn scaled(len: usize, sizes: impl Iterator<Item = usize>, samples: usize) -> usize {
        let (mut n, mut sum) = (0usize, 0usize);
        for s in sizes.take(samples) {
            n += 1;
            sum += s + ELEM_OVERHEAD;
        }
        if n == 0 {
            return 0;
        }
        (sum as f64 / n as f64 * len as f64) as usize
    }
    let header = std::mem::size_of::<Value>();
    header
        + match v {
            Value::Str(s) => s.len(),
            Value::List(l) => scaled(l.len(), l.iter().map(<[u8]>::len), samples),
            Value::Hash(h) => scaled(h.len(), h.iter().map(|(f, v)| f.len() + v.len()), samples),
            Value::Set(s) => scaled(
                s.len(),
                s.iter().map(|e| {
                    let mut b = itoa::Buffer::new();
                    e.bytes(&mut b).len()
                }),
                samples,
            ),
            Value::ZSet(z) => scaled(z.len(), z.iter().map(|(m, _)| m.len() + 8), samples),
            Value::Stream(s) => s.mem_usage(),
        }
}

/// jemalloc's counters after a fresh epoch: (allocated, active, resident).
fn allocator() -> (u64, u64, u64) {
    let _ = tikv_jemalloc_ctl::epoch::advance();
    let read = |r: Result<usize, tikv_jemalloc_ctl::Error>| r.map(|v| v as u64).unwrap_or(0);
    (
        read(tikv_jemalloc_ctl::stats::allocated::read()),
        read(tikv_jemalloc_ctl::stats::active::read()),
        read(tikv_jemalloc_ctl::stats::resident::read()),
    )
}

/// The memory figures INFO memory and MEMORY STATS report, in bytes.
pub struct MemFigures {
    pub used: u64,
    pub peak: u64,
    pub startup: u64,
    pub rss: u64,
    pub allocated: u64,
    pub active: u64,
    pub resident: u64,
    pub backlog: u64,
    pub clients_normal: u64,
    pub clients_slaves: u64,
    /// Per non-empty database: (index, main table bytes, expires table bytes).
    pub dbs: Vec<(usize, u64, u64)>,
    pub keys: u64,
}

impl MemFigures {
    pub fn read(st: &State) -> MemFigures {
        let (allocated, active, resident) = allocator();
        let used = allocated.max(st.store.used_memory);
        let (mut clients_normal, mut clients_slaves) = (0u64, 0u64);
        for c in st.clients.values() {
            let held = c.pending.load(std::sync::atomic::Ordering::Relaxed) as u64 + c.qbuf as u64;
            if c.repl_type == Some("replica") {
                clients_slaves += held;
            } else {
                clients_normal += held;
            }
        }
        MemFigures {
            used,
            peak: st.stats.used_memory_peak.max(used),
            startup: st.stats.used_memory_startup,
            rss: crate::cron::rss_bytes(),
            allocated,
            active,
            resident,
            backlog: st.stream.backlog_len() as u64,
            clients_normal,
            clients_slaves,
            dbs: st
                .store
                .dbs
                .iter()
                .enumerate()
                .filter(|(_, d)| !d.dict.is_empty() || !d.expires.is_empty())
                .map(|(i, d)| (i, d.dict.mem_usage() as u64, d.expires.mem_usage() as u64))
                .collect(),
            keys: st.store.dbs.iter().map(|d| d.dict.len() as u64).sum(),
        }
    }
    pub fn overhead(&self) -> u64 {
        self.startup
            + self.backlog
            + self.clients_normal
            + self.clients_slaves
            + self.dbs.iter().map(|(_, m, e)| m + e).sum::<u64>()
    }
    pub fn dataset(&self) -> u64 {
        self.used.saturating_sub(self.overhead())
    }
    /// `dataset` as a percentage of what is not startup memory.
    pub fn dataset_perc(&self) -> f64 {
        percent(self.dataset(), self.used.saturating_sub(self.startup))
    }
    pub fn peak_perc(&self) -> f64 {
        percent(self.used, self.peak)
    }
}

fn percent(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 * 100.0 / b as f64
    }
}

pub fn ratio(a: u64, b: u64) -> f64 {
    if b == 0 {
        0.0
    } else {
        a as f64 / b as f64
    }
}

/// MEMORY STATS: Redis's fields (a map; doubles as RESP3 doubles).
fn stats(ctx: &mut Ctx<'_>) {
    let m = MemFigures::read(ctx.st);
    let out = &mut *ctx.out;
    out.map(27 + m.dbs.len());
    let int = |out: &mut tandem_resp::ReplyBuf, k: &str, v: u64| {
        out.bulk(k.as_bytes());
        out.int(v as i64);
    };
    let dbl = |out: &mut tandem_resp::ReplyBuf, k: &str, v: f64| {
        out.bulk(k.as_bytes());
        out.double(v);
    };
    int(out, "peak.allocated", m.peak);
    int(out, "total.allocated", m.used);
    int(out, "startup.allocated", m.startup);
    int(out, "replication.backlog", m.backlog);
    int(out, "clients.slaves", m.clients_slaves);
    int(out, "clients.normal", m.clients_normal);
    int(out, "cluster.links", 0);
    int(out, "aof.buffer", 0);
    let st = &*ctx.st;
    int(
        out,
        "lua.caches",
        st.scripts.as_ref().map_or(0, |e| e.scripts_bytes() as u64),
    );
    int(
        out,
        "functions.caches",
        st.functions.as_ref().map_or(0, |f| f.bytes() as u64),
    );
    for (i, main, expires) in &m.dbs {
        out.bulk(format!("db.{i}").as_bytes());
        out.map(3);
        int(out, "overhead.hashtable.main", *main);
        int(out, "overhead.hashtable.expires", *expires);
        int(out, "overhead.hashtable.slot-to-keys", 0);
    }
    int(out, "overhead.total", m.overhead());
    int(out, "keys.count", m.keys);
    int(
        out,
        "keys.bytes-per-key",
        m.used
            .saturating_sub(m.startup)
            .checked_div(m.keys)
            .unwrap_or(0),
    );
    int(out, "dataset.bytes", m.dataset());
    dbl(out, "dataset.percentage", m.dataset_perc());
    dbl(out, "peak.percentage", m.peak_perc());
    int(out, "allocator.allocated", m.allocated);
    int(out, "allocator.active", m.active);
    int(out, "allocator.resident", m.resident);
    dbl(
        out,
        "allocator-fragmentation.ratio",
        ratio(m.active, m.allocated),
    );
    int(
        out,
        "allocator-fragmentation.bytes",
        m.active.saturating_sub(m.allocated),
    );
    dbl(out, "allocator-rss.ratio", ratio(m.resident, m.active));
    int(
        out,
        "allocator-rss.bytes",
        m.resident.saturating_sub(m.active),
    );
    dbl(out, "rss-overhead.ratio", ratio(m.rss, m.resident));
    int(out, "rss-overhead.bytes", m.rss.saturating_sub(m.resident));
    dbl(out, "fragmentation", ratio(m.rss, m.used));
    int(out, "fragmentation.bytes", m.rss.saturating_sub(m.used));
}

/// MEMORY DOCTOR: Redis's report on the same conditions (an almost empty
/// instance, a high peak, fragmentation, big client buffers).
fn doctor(ctx: &Ctx<'_>) -> String {
    let st = &*ctx.st;
    let (allocated, active, resident) = allocator();
    let used = allocated.max(st.store.used_memory);
    if used < 1024 * 1024 * 5 {
        return "Hi Sam, this instance is empty or is using very little memory, my issues detector can't be used in these conditions. Please, leave for your mission on Earth and fill it with some data. The new Sam and I will be back to our programming as soon as I finished rebooting.\n".into();
    }
    let peak = st.stats.used_memory_peak.max(used);
    let rss = crate::cron::rss_bytes();
    let high_peak = peak as f64 / used as f64 > 1.5;
    let high_alloc_frag =
        active as f64 / allocated.max(1) as f64 > 1.1 && active - allocated > 10 << 20;
    let high_alloc_rss =
        resident as f64 / active.max(1) as f64 > 1.1 && resident - active > 10 << 20;
    let high_proc_rss =
        rss as f64 / resident.max(1) as f64 > 1.1 && rss.saturating_sub(resident) > 10 << 20;
    let (mut normal, mut clients) = (0u64, 0u64);
    for c in st.clients.values() {
        if c.repl_type.is_none() {
            normal += c.pending.load(std::sync::atomic::Ordering::Relaxed) as u64;
            clients += 1;
        }
    }
    let big_clients = clients > 0 && normal / clients > 200 * 1024;
    if !(high_peak || high_alloc_frag || high_alloc_rss || high_proc_rss || big_clients) {
        return "Hi Sam, I can't find any memory issue in your instance. I can only account for what occurs on this base.\n".into();
    }
    let mut s =
        String::from("Sam, I detected a few issues in this Redis instance memory implants:\n\n");
    if high_peak {
        s.push_str(" * Peak memory: In the past this instance used more than 150% the memory that is currently using. The allocator is normally not able to release memory after a peak, so you can expect to see a big fragmentation ratio, however this is actually harmless and is only due to the memory peak, and if the Redis instance Resident Set Size (RSS) is currently bigger than expected, the memory will be used as soon as you fill the Redis instance with more data. If the memory peak was only occasional and you want to try to reclaim memory, please try the MEMORY PURGE command, otherwise the only other option is to shutdown and restart the instance.\n\n");
    }
    if high_alloc_frag {
        s.push_str(" * High allocator fragmentation: This instance has an allocator external fragmentation greater than 1.1. This problem is usually due either to a large peak memory (check if there is a peak memory entry above in the report) or may result from a workload that causes the allocator to fragment memory a lot. You can try enabling 'activedefrag' config option.\n\n");
    }
    if high_alloc_rss {
        s.push_str(" * High allocator RSS overhead: This instance has an RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the allocator is much larger than the sum what the allocator actually holds). This problem is usually due to a large peak memory (check if there is a peak memory entry above in the report), you can try the MEMORY PURGE command to reclaim it.\n\n");
    }
    if high_proc_rss {
        s.push_str(" * High process RSS overhead: This instance has non-allocator RSS memory overhead is greater than 1.1 (this means that the Resident Set Size of the Redis process is much larger than the RSS the allocator holds). This problem may be due to Lua scripts or Modules.\n\n");
    }
    if big_clients {
        s.push_str(" * Big client buffers: The clients output buffers are in general too big, over 200 KB per client. It's possible that clients are not reading data fast enough, or the RESP pipelining depth is too high. Consider not using pipelining or reducing the amount of data transferred per reply.\n\n");
    }
    s.push_str("I'm here to keep you safe, Sam. I want to help you.\n");
    s
}

/// jemalloc's statistics report (`malloc_stats_print`).
fn malloc_stats() -> String {
    let mut out = Vec::new();
    match tikv_jemalloc_ctl::stats_print::stats_print(&mut out, Default::default()) {
        Ok(()) => String::from_utf8_lossy(&out).into_owned(),
        Err(_) => "Stats not supported for the current allocator".into(),
    }
}

/// Returns dirty pages to the system (`arena.<all>.purge`); false if
/// jemalloc refused.
fn purge() -> bool {
    // MALLCTL_ARENAS_ALL is 4096 in jemalloc 5. The purge control takes and
    // returns nothing, so every pointer is null.
    // SAFETY: a NUL-terminated name and null pointers, as jemalloc documents
    // for controls that neither read nor write.
    let r = unsafe {
        tikv_jemalloc_sys::mallctl(
            c"arena.4096.purge".as_ptr(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            std::ptr::null_mut(),
            0,
        )
    };
    r == 0
}
