//! INFO: Redis's sections and field names.

use std::fmt::Write;

use bytes::Bytes;
use tandem_store::CmdResult;

use crate::dispatch::{Ctx, ServerHandler};

pub const COMMANDS: &[(&str, ServerHandler)] = &[("info", info)];

/// The Redis version Tandem reports, so clients that check versions work.
pub const REDIS_VERSION: &str = "7.0.15";

/// Redis 7.0's default sections (INFO, INFO default).
const DEFAULT: &[&str] = &[
    "server",
    "clients",
    "memory",
    "persistence",
    "stats",
    "replication",
    "cpu",
    "modules",
    "errorstats",
    "cluster",
    "keyspace",
];

fn human(n: u64) -> String {
    let f = n as f64;
    if n < 1024 {
        format!("{n}B")
    } else if n < 1024 * 1024 {
        format!("{:.2}K", f / 1024.0)
    } else if n < 1024 * 1024 * 1024 {
        format!("{:.2}M", f / 1048576.0)
    } else {
        format!("{:.2}G", f / 1073741824.0)
    }
}

fn info(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let mut wanted: Vec<String> = args[1..]
        .iter()
        .map(|a| String::from_utf8_lossy(a).to_lowercase())
        .collect();
    if wanted.is_empty() || wanted.iter().any(|w| w == "default") {
        wanted.extend(DEFAULT.iter().map(|s| s.to_string()));
    }
    if wanted.iter().any(|w| w == "all" || w == "everything") {
        wanted.extend(DEFAULT.iter().map(|s| s.to_string()));
        wanted.push("commandstats".into());
        wanted.push("errorstats".into());
        wanted.push("latencystats".into());
    }
    let mut text = String::new();
    let order = [
        "server",
        "clients",
        "memory",
        "persistence",
        "stats",
        "replication",
        "cpu",
        "modules",
        "commandstats",
        "errorstats",
        "latencystats",
        "cluster",
        "keyspace",
    ];
    for sec in order {
        if !wanted.iter().any(|w| w == sec) {
            continue;
        }
        if !text.is_empty() {
            text.push_str("\r\n");
        }
        section(ctx, sec, &mut text);
    }
    ctx.out.verbatim(text.as_bytes());
    Ok(())
}

fn section(ctx: &mut Ctx<'_>, sec: &str, t: &mut String) {
    let st = &*ctx.st;
    let up = ctx.shared.started.elapsed().as_secs();
    let mut w = |k: &str, v: &dyn std::fmt::Display| {
        let _ = write!(t, "{k}:{v}\r\n");
    };
    match sec {
        "server" => {
            w("# Server", &"");
            w("redis_version", &REDIS_VERSION);
            w("tandem_version", &env!("CARGO_PKG_VERSION"));
            w("redis_git_sha1", &"00000000");
            w("redis_git_dirty", &0);
            w("redis_build_id", &"0");
            w("redis_mode", &"standalone");
            w(
                "os",
                &format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
            );
            w("arch_bits", &(usize::BITS));
            w("monotonic_clock", &"POSIX clock_gettime");
            w("multiplexing_api", &"epoll");
            w("atomicvar_api", &"c11-builtin");
            // Built by rustc, not gcc: Redis's field, no gcc version.
            w("gcc_version", &"0.0.0");
            w("process_id", &std::process::id());
            w("process_supervised", &"no");
            w("run_id", &ctx.shared.run_id);
            w(
                "tcp_port",
                &ctx.shared.port.load(std::sync::atomic::Ordering::Relaxed),
            );
            w("server_time_usec", &(ctx.now * 1000));
            w("uptime_in_seconds", &up);
            w("uptime_in_days", &(up / 86400));
            w("hz", &st.eff.hz);
            w("configured_hz", &st.eff.hz);
            w("lru_clock", &st.store.access_clock(ctx.now));
            w(
                "executable",
                &std::env::current_exe()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            w(
                "config_file",
                &st.config
                    .config_file
                    .as_ref()
                    .map(|p| p.display().to_string())
                    .unwrap_or_default(),
            );
            w("io_threads_active", &0);
        }
        "clients" => {
            w("# Clients", &"");
            w("connected_clients", &st.clients.len());
            w("cluster_connections", &0);
            w("maxclients", &st.eff.maxclients);
            w("client_recent_max_input_buffer", &0);
            w("client_recent_max_output_buffer", &0);
            w("blocked_clients", &st.blocked.len());
            w("tracking_clients", &st.tracking.clients);
            w("clients_in_timeout_table", &st.blocked.len());
        }
        "memory" => {
            let m = crate::cmd_memory::MemFigures::read(st);
            let ratio = crate::cmd_memory::ratio;
            let maxmem = st.store.config.maxmemory;
            let system = system_memory();
            w("# Memory", &"");
            w("used_memory", &m.used);
            w("used_memory_human", &human(m.used));
            w("used_memory_rss", &m.rss);
            w("used_memory_rss_human", &human(m.rss));
            w("used_memory_peak", &m.peak);
            w("used_memory_peak_human", &human(m.peak));
            w("used_memory_peak_perc", &format!("{:.2}%", m.peak_perc()));
            w("used_memory_overhead", &m.overhead());
            w("used_memory_startup", &m.startup);
            w("used_memory_dataset", &m.dataset());
            w(
                "used_memory_dataset_perc",
                &format!("{:.2}%", m.dataset_perc()),
            );
            w("allocator_allocated", &m.allocated);
            w("allocator_active", &m.active);
            w("allocator_resident", &m.resident);
            w("total_system_memory", &system);
            w("total_system_memory_human", &human(system));
            // Each interpreter exists from its first script or library on.
            let (lua, scripts, cached) = st.scripts.as_ref().map_or((0, 0, 0), |e| {
                (e.lua_bytes() as u64, e.scripts_bytes() as u64, e.count())
            });
            let (vm_fn, fn_bytes, funcs, libs) = st.functions.as_ref().map_or((0, 0, 0, 0), |f| {
                (
                    f.engine.lua_bytes() as u64,
                    f.bytes() as u64,
                    f.function_count(),
                    f.library_count(),
                )
            });
            w("used_memory_lua", &lua);
            w("used_memory_vm_eval", &lua);
            w("used_memory_lua_human", &human(lua));
            w("used_memory_scripts_eval", &scripts);
            w("number_of_cached_scripts", &cached);
            w("number_of_functions", &funcs);
            w("number_of_libraries", &libs);
            w("used_memory_vm_functions", &vm_fn);
            w("used_memory_vm_total", &(lua + vm_fn));
            w("used_memory_vm_total_human", &human(lua + vm_fn));
            w("used_memory_functions", &fn_bytes);
            w("used_memory_scripts", &(scripts + fn_bytes));
            w("used_memory_scripts_human", &human(scripts + fn_bytes));
            w("maxmemory", &maxmem);
            w("maxmemory_human", &human(maxmem));
            w("maxmemory_policy", &st.store.config.maxmemory_policy.name());
            w(
                "allocator_frag_ratio",
                &format!("{:.2}", ratio(m.active, m.allocated)),
            );
            w(
                "allocator_frag_bytes",
                &m.active.saturating_sub(m.allocated),
            );
            w(
                "allocator_rss_ratio",
                &format!("{:.2}", ratio(m.resident, m.active)),
            );
            w("allocator_rss_bytes", &m.resident.saturating_sub(m.active));
            w(
                "rss_overhead_ratio",
                &format!("{:.2}", ratio(m.rss, m.resident)),
            );
            w("rss_overhead_bytes", &m.rss.saturating_sub(m.resident));
            w(
                "mem_fragmentation_ratio",
                &format!("{:.2}", ratio(m.rss, m.used)),
            );
            w("mem_fragmentation_bytes", &m.rss.saturating_sub(m.used));
            w("mem_not_counted_for_evict", &0);
            w("mem_replication_backlog", &m.backlog);
            w("mem_total_replication_buffers", &m.backlog);
            w("mem_clients_slaves", &m.clients_slaves);
            w("mem_clients_normal", &m.clients_normal);
            w("mem_cluster_links", &0);
            w("mem_aof_buffer", &0);
            w("mem_allocator", &"jemalloc-5.3.0");
            w("active_defrag_running", &0);
            w("lazyfree_pending_objects", &0);
            w("lazyfreed_objects", &0);
        }
        "persistence" => crate::persist::info(st, &mut w),
        "stats" => {
            let s = &st.stats;
            let ks = &st.store.stats;
            w("# Stats", &"");
            w("total_connections_received", &s.connections_received);
            w("total_commands_processed", &s.commands_processed);
            w("instantaneous_ops_per_sec", &s.ops_per_sec());
            w("total_net_input_bytes", &s.net_input_bytes);
            w("total_net_output_bytes", &s.net_output_bytes);
            w("total_net_repl_input_bytes", &s.net_repl_input_bytes);
            w("total_net_repl_output_bytes", &s.net_repl_output_bytes);
            let [kin, kout, krin, krout] = s.kbps();
            w("instantaneous_input_kbps", &format!("{kin:.2}"));
            w("instantaneous_output_kbps", &format!("{kout:.2}"));
            w("instantaneous_input_repl_kbps", &format!("{krin:.2}"));
            w("instantaneous_output_repl_kbps", &format!("{krout:.2}"));
            w("rejected_connections", &s.rejected_connections);
            crate::repl::info_stats(st, &mut w);
            w("expired_keys", &ks.expired_keys);
            w(
                "expired_stale_perc",
                &format!("{:.2}", ks.expired_stale_perc),
            );
            w(
                "expired_time_cap_reached_count",
                &ks.expired_time_cap_reached_count,
            );
            w("expire_cycle_cpu_milliseconds", &(s.expire_cycle_us / 1000));
            w("evicted_keys", &ks.evicted_keys);
            w("evicted_clients", &0);
            w(
                "total_eviction_exceeded_time",
                &ks.total_eviction_exceeded_time_ms,
            );
            // Eviction never carries over to a timer here (COMPATIBILITY.md).
            w("current_eviction_exceeded_time", &0);
            w("keyspace_hits", &ks.keyspace_hits);
            w("keyspace_misses", &ks.keyspace_misses);
            w("pubsub_channels", &st.channels.len());
            w("pubsub_patterns", &st.patterns.len());
            w("pubsubshard_channels", &st.shard_channels.len());
            w("latest_fork_usec", &st.persist.latest_fork_usec);
            w("total_forks", &st.persist.total_forks);
            // No MIGRATE, no active defragmentation, no I/O threads.
            w("migrate_cached_sockets", &0);
            w("slave_expires_tracked_keys", &0);
            for f in [
                "active_defrag_hits",
                "active_defrag_misses",
                "active_defrag_key_hits",
                "active_defrag_key_misses",
                "total_active_defrag_time",
                "current_active_defrag_time",
            ] {
                w(f, &0);
            }
            w("tracking_total_keys", &st.tracking.total_keys());
            w("tracking_total_items", &st.tracking.total_items());
            w("tracking_total_prefixes", &st.tracking.total_prefixes());
            w("unexpected_error_replies", &0);
            w("total_error_replies", &s.error_replies);
            w("dump_payload_sanitizations", &0);
            w("total_reads_processed", &s.reads_processed);
            w(
                "total_writes_processed",
                &ctx.shared.writes.load(std::sync::atomic::Ordering::Relaxed),
            );
            w("io_threaded_reads_processed", &0);
            w("io_threaded_writes_processed", &0);
            // Redis 7.0's reply-buffer resizing counters; Tandem's reply
            // buffer is per batch, never resized by a cron.
            w("reply_buffer_shrinks", &0);
            w("reply_buffer_expands", &0);
            // Redis 7.2's names, kept: they count real disconnections.
            w(
                "client_query_buffer_limit_disconnections",
                &s.client_qbuf_limit_disconnections,
            );
            w(
                "client_output_buffer_limit_disconnections",
                &s.client_outbuf_limit_disconnections,
            );
        }
        "replication" => crate::repl::info(st, &mut w),
        "cpu" => {
            let (u, s) = cpu_times();
            let (cu, cs) = rusage(libc::RUSAGE_CHILDREN);
            let (tu, ts) = rusage(libc::RUSAGE_THREAD);
            w("# CPU", &"");
            w("used_cpu_sys", &format!("{s:.6}"));
            w("used_cpu_user", &format!("{u:.6}"));
            w("used_cpu_sys_children", &format!("{cs:.6}"));
            w("used_cpu_user_children", &format!("{cu:.6}"));
            // The thread that runs commands (this one).
            w("used_cpu_sys_main_thread", &format!("{ts:.6}"));
            w("used_cpu_user_main_thread", &format!("{tu:.6}"));
        }
        "commandstats" => {
            w("# Commandstats", &"");
            for (i, e) in ctx.shared.commands.entries.iter().enumerate() {
                let c = &st.cmdstats[i];
                if c.calls == 0 && c.rejected == 0 {
                    continue;
                }
                let per = if c.calls > 0 {
                    c.usec as f64 / c.calls as f64
                } else {
                    0.0
                };
                w(
                    &format!("cmdstat_{}", e.name),
                    &format!(
                        "calls={},usec={},usec_per_call={per:.2},rejected_calls={},failed_calls={}",
                        c.calls, c.usec, c.rejected, c.failed
                    ),
                );
            }
        }
        "errorstats" => {
            w("# Errorstats", &"");
            for (code, n) in &st.stats.errors {
                w(&format!("errorstat_{code}"), &format!("count={n}"));
            }
        }
        "modules" => w("# Modules", &""),
        "cluster" => {
            w("# Cluster", &"");
            w("cluster_enabled", &0);
        }
        "latencystats" => {
            w("# Latencystats", &"");
            crate::latency::info(st, t, &st.eff.latency_percentiles);
        }
        "keyspace" => {
            w("# Keyspace", &"");
            for (i, db) in st.store.dbs.iter().enumerate() {
                if db.dict.is_empty() {
                    continue;
                }
                w(
                    &format!("db{i}"),
                    &format!(
                        "keys={},expires={},avg_ttl={}",
                        db.dict.len(),
                        db.expires.len(),
                        db.avg_ttl
                    ),
                );
            }
        }
        _ => {}
    }
    // Section headers were written with the field helper ("# Server:"); drop the
    // colon. No field name starts with '#', so only headers change.
    for h in [
        "# Server",
        "# Clients",
        "# Memory",
        "# Persistence",
        "# Stats",
        "# Replication",
        "# CPU",
        "# Commandstats",
        "# Errorstats",
        "# Latencystats",
        "# Modules",
        "# Cluster",
        "# Keyspace",
    ] {
        *t = t.replace(&format!("{h}:\r\n"), &format!("{h}\r\n"));
    }
}

/// (user, system) CPU seconds from getrusage.
fn rusage(who: libc::c_int) -> (f64, f64) {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage writes into the struct it is given.
    if unsafe { libc::getrusage(who, &mut ru) } != 0 {
        return (0.0, 0.0);
    }
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(ru.ru_utime), secs(ru.ru_stime))
}

/// Physical memory of the machine (`/proc/meminfo` MemTotal).
fn system_memory() -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|m| {
            let line = m.lines().find(|l| l.starts_with("MemTotal:"))?;
            line.split_whitespace().nth(1)?.parse::<u64>().ok()
        })
        .map_or(0, |kb| kb * 1024)
}

/// (user, system) CPU seconds of this process.
fn cpu_times() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = after.split_whitespace().collect();
    let tick = 100.0;
    let get = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0) / tick;
    (get(11), get(12))
}
