//! The settings table: every setting declared once, with its name, aliases, default
//! (written as it would be in redis.conf, and parsed by the same parser as user
//! input), whether CONFIG SET may change it, and its kind.
//!
//! Settings Tandem does not act on yet are still declared (kind and default as in
//! Redis 7.0) so real redis.conf files load and CONFIG GET echoes them back.

use super::{Kind, Setting};

const fn s(
    name: &'static str,
    aliases: &'static [&'static str],
    default: &'static str,
    mutable: bool,
    kind: Kind,
) -> Setting {
    Setting {
        name,
        aliases,
        default,
        mutable,
        kind,
    }
}

const B: Kind = Kind::Bool;
const STR: Kind = Kind::Str;
const I32: i64 = i32::MAX as i64;
const fn int(min: i64, max: i64) -> Kind {
    Kind::Int { min, max }
}
const fn mem(min: i64, max: i64) -> Kind {
    Kind::Mem { min, max }
}
const MEM: Kind = mem(0, i64::MAX);

pub const POLICIES: &[&str] = &[
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "noeviction",
];

pub static SETTINGS: &[Setting] = &[
    // --- network
    s("port", &[], "6379", false, int(0, 65535)),
    s("bind", &[], "127.0.0.1 -::1", false, Kind::Words),
    s("protected-mode", &[], "yes", true, B),
    s("tcp-backlog", &[], "511", false, int(0, I32)),
    s("tcp-keepalive", &[], "300", true, int(0, I32)),
    s("timeout", &[], "0", true, int(0, I32)),
    s("maxclients", &[], "10000", true, int(1, I32)),
    s("unixsocket", &[], "", false, STR),
    s(
        "unixsocketperm",
        &[],
        "0",
        false,
        Kind::Octal { max: 0o777 },
    ),
    s("tls-port", &[], "0", false, int(0, 65535)),
    // Tandem: the runtime's worker threads (1 = one current_thread runtime).
    // Default 1, measured: see the crate docs (lib.rs, "Runtime flavour").
    s("io-threads", &[], "1", false, int(1, 128)),
    // Tandem: microseconds the runtime keeps polling its sockets after a batch of
    // requests instead of sleeping (0 = sleep at once); see busy.rs.
    s("busy-poll", &[], "100", true, int(0, 1_000_000)),
    s("io-threads-do-reads", &[], "no", false, B),
    // --- limits
    s(
        "proto-max-bulk-len",
        &[],
        "512mb",
        true,
        mem(1024 * 1024, i64::MAX),
    ),
    s(
        "client-query-buffer-limit",
        &[],
        "1gb",
        true,
        mem(1024 * 1024, i64::MAX),
    ),
    s(
        "client-output-buffer-limit",
        &[],
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60",
        true,
        Kind::OutputLimits,
    ),
    // --- general
    s("databases", &[], "16", false, int(1, I32)),
    s("dir", &[], "./", true, STR),
    s("dbfilename", &[], "dump.rdb", true, STR),
    s("requirepass", &[], "", true, STR),
    s("hz", &[], "10", true, int(0, I32)),
    s("dynamic-hz", &[], "yes", true, B),
    s(
        "loglevel",
        &[],
        "notice",
        true,
        Kind::Enum(&["debug", "verbose", "notice", "warning"]),
    ),
    s("logfile", &[], "", false, STR),
    s("daemonize", &[], "no", false, B),
    s(
        "supervised",
        &[],
        "no",
        false,
        Kind::Enum(&["upstart", "systemd", "auto", "no"]),
    ),
    s("pidfile", &[], "", false, STR),
    s("always-show-logo", &[], "no", false, B),
    s("set-proc-title", &[], "yes", false, B),
    s(
        "proc-title-template",
        &[],
        "{title} {listen-addr} {server-mode}",
        true,
        STR,
    ),
    s("syslog-enabled", &[], "no", false, B),
    s("syslog-ident", &[], "redis", false, STR),
    s("syslog-facility", &[], "local0", false, STR),
    s("crash-log-enabled", &[], "yes", true, B),
    s("crash-memcheck-enabled", &[], "yes", true, B),
    s(
        "enable-debug-command",
        &[],
        "no",
        false,
        Kind::Enum(&["no", "yes", "local"]),
    ),
    s(
        "enable-protected-configs",
        &[],
        "no",
        false,
        Kind::Enum(&["no", "yes", "local"]),
    ),
    s(
        "enable-module-command",
        &[],
        "no",
        false,
        Kind::Enum(&["no", "yes", "local"]),
    ),
    s("cluster-enabled", &[], "no", false, B),
    s("notify-keyspace-events", &[], "", true, STR),
    s("shutdown-timeout", &[], "10", true, int(0, I32)),
    s("shutdown-on-sigint", &[], "default", true, STR),
    s("shutdown-on-sigterm", &[], "default", true, STR),
    s(
        "oom-score-adj",
        &[],
        "no",
        true,
        Kind::Enum(&["no", "yes", "relative", "absolute"]),
    ),
    s("oom-score-adj-values", &[], "0 200 800", true, STR),
    s("disable-thp", &[], "yes", false, B),
    s("jemalloc-bg-thread", &[], "yes", true, B),
    s("activedefrag", &[], "no", true, B),
    s("activerehashing", &[], "yes", true, B),
    s("active-expire-effort", &[], "1", true, int(1, 10)),
    s(
        "lua-time-limit",
        &["busy-reply-threshold"],
        "5000",
        true,
        int(0, i64::MAX),
    ),
    s(
        "slowlog-log-slower-than",
        &[],
        "10000",
        true,
        int(-1, i64::MAX),
    ),
    s("slowlog-max-len", &[], "128", true, int(0, i64::MAX)),
    s(
        "latency-monitor-threshold",
        &[],
        "0",
        true,
        int(0, i64::MAX),
    ),
    s("latency-tracking", &[], "yes", true, B),
    s(
        "latency-tracking-info-percentiles",
        &[],
        "50 99 99.9",
        true,
        STR,
    ),
    s("acllog-max-len", &[], "128", true, int(0, i64::MAX)),
    s("aclfile", &[], "", false, STR),
    s("ignore-warnings", &[], "", true, STR),
    s(
        "tracking-table-max-keys",
        &[],
        "1000000",
        true,
        int(0, i64::MAX),
    ),
    // --- memory and eviction
    s("maxmemory", &[], "0", true, MEM),
    s(
        "maxmemory-policy",
        &[],
        "noeviction",
        true,
        Kind::Enum(POLICIES),
    ),
    s("maxmemory-samples", &[], "5", true, int(1, 64)),
    s("maxmemory-eviction-tenacity", &[], "10", true, int(0, 100)),
    s("maxmemory-clients", &[], "0", true, STR),
    s("lfu-log-factor", &[], "10", true, int(0, I32)),
    s("lfu-decay-time", &[], "1", true, int(0, I32)),
    s("lazyfree-lazy-eviction", &[], "no", true, B),
    s("lazyfree-lazy-expire", &[], "no", true, B),
    s("lazyfree-lazy-server-del", &[], "no", true, B),
    s("lazyfree-lazy-user-del", &[], "no", true, B),
    s("lazyfree-lazy-user-flush", &[], "no", true, B),
    s("replica-lazy-flush", &["slave-lazy-flush"], "no", true, B),
    // --- encodings
    s(
        "hash-max-listpack-entries",
        &["hash-max-ziplist-entries"],
        "128",
        true,
        MEM,
    ),
    s(
        "hash-max-listpack-value",
        &["hash-max-ziplist-value"],
        "64",
        true,
        MEM,
    ),
    s("set-max-intset-entries", &[], "512", true, int(0, i64::MAX)),
    s(
        "zset-max-listpack-entries",
        &["zset-max-ziplist-entries"],
        "128",
        true,
        MEM,
    ),
    s(
        "zset-max-listpack-value",
        &["zset-max-ziplist-value"],
        "64",
        true,
        MEM,
    ),
    s(
        "list-max-listpack-size",
        &["list-max-ziplist-size"],
        "-2",
        true,
        int(i32::MIN as i64, I32),
    ),
    s("list-compress-depth", &[], "0", true, int(0, I32)),
    s("stream-node-max-bytes", &[], "4096", true, MEM),
    s(
        "stream-node-max-entries",
        &[],
        "100",
        true,
        int(0, i64::MAX),
    ),
    s("hll-sparse-max-bytes", &[], "3000", true, MEM),
    // --- persistence
    s("save", &[], "3600 1 300 100 60 10000", true, Kind::Save),
    s("stop-writes-on-bgsave-error", &[], "yes", true, B),
    s("rdbcompression", &[], "yes", true, B),
    s("rdbchecksum", &[], "yes", true, B),
    s("rdb-del-sync-files", &[], "no", true, B),
    s(
        "rdb-key-save-delay",
        &[],
        "0",
        true,
        int(i32::MIN as i64, I32),
    ),
    s(
        "sanitize-dump-payload",
        &[],
        "no",
        true,
        Kind::Enum(&["no", "yes", "clients"]),
    ),
    s("appendonly", &[], "no", true, B),
    s("appendfilename", &[], "appendonly.aof", false, STR),
    s("appenddirname", &[], "appendonlydir", false, STR),
    s(
        "appendfsync",
        &[],
        "everysec",
        true,
        Kind::Enum(&["always", "everysec", "no"]),
    ),
    s("no-appendfsync-on-rewrite", &[], "no", true, B),
    s("auto-aof-rewrite-percentage", &[], "100", true, int(0, I32)),
    s("auto-aof-rewrite-min-size", &[], "64mb", true, MEM),
    s("aof-load-truncated", &[], "yes", true, B),
    s("aof-use-rdb-preamble", &[], "yes", true, B),
    s("aof-timestamp-enabled", &[], "no", true, B),
    s("aof-rewrite-incremental-fsync", &[], "yes", true, B),
    s("rdb-save-incremental-fsync", &[], "yes", true, B),
    // --- replication (stored; acted on by a later issue)
    s("replicaof", &["slaveof"], "", true, Kind::Replicaof),
    s("masterauth", &[], "", true, STR),
    s("masteruser", &[], "", true, STR),
    s("replica-read-only", &["slave-read-only"], "yes", true, B),
    s(
        "replica-serve-stale-data",
        &["slave-serve-stale-data"],
        "yes",
        true,
        B,
    ),
    s(
        "replica-priority",
        &["slave-priority"],
        "100",
        true,
        int(0, I32),
    ),
    s("replica-announced", &[], "yes", true, B),
    s(
        "replica-ignore-maxmemory",
        &["slave-ignore-maxmemory"],
        "yes",
        true,
        B,
    ),
    s("replica-announce-ip", &["slave-announce-ip"], "", true, STR),
    s(
        "replica-announce-port",
        &["slave-announce-port"],
        "0",
        true,
        int(0, 65535),
    ),
    s("repl-backlog-size", &[], "1mb", true, mem(1, i64::MAX)),
    s("repl-backlog-ttl", &[], "3600", true, int(0, I32)),
    s("repl-timeout", &[], "60", true, int(1, I32)),
    s(
        "repl-ping-replica-period",
        &["repl-ping-slave-period"],
        "10",
        true,
        int(1, I32),
    ),
    s("repl-diskless-sync", &[], "yes", true, B),
    s("repl-diskless-sync-delay", &[], "5", true, int(0, I32)),
    s(
        "repl-diskless-sync-max-replicas",
        &[],
        "0",
        true,
        int(0, I32),
    ),
    s(
        "repl-diskless-load",
        &[],
        "disabled",
        true,
        Kind::Enum(&["disabled", "on-empty-db", "swapdb"]),
    ),
    s("repl-disable-tcp-nodelay", &[], "no", true, B),
    s(
        "min-replicas-to-write",
        &["min-slaves-to-write"],
        "0",
        true,
        int(0, I32),
    ),
    s(
        "min-replicas-max-lag",
        &["min-slaves-max-lag"],
        "10",
        true,
        int(0, I32),
    ),
    // --- Tandem's replication settings (see crates/server/src/repl/mod.rs)
    s(
        "replication-mode",
        &[],
        "async",
        true,
        Kind::Enum(&["async", "sync"]),
    ),
    s("min-sync-replicas", &[], "1", true, int(1, 1024)),
    // Milliseconds a sync-mode write waits for its acknowledgements (0 = forever).
    s("sync-timeout", &[], "1000", true, int(0, I32)),
    s(
        "sync-fallback",
        &[],
        "degrade",
        true,
        Kind::Enum(&["degrade", "refuse"]),
    ),
    // Milliseconds without a replica ack or monitor contact after which a master
    // stops accepting writes (0 = never).
    s("fence-timeout", &[], "0", true, int(0, I32)),
];
