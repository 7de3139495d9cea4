//! Command flags, named as in Redis's COMMAND INFO, plus Tandem's own.

pub const WRITE: u64 = 1 << 0;
pub const READONLY: u64 = 1 << 1;
pub const DENYOOM: u64 = 1 << 2;
pub const ADMIN: u64 = 1 << 3;
pub const PUBSUB: u64 = 1 << 4;
pub const NOSCRIPT: u64 = 1 << 5;
pub const BLOCKING: u64 = 1 << 6;
pub const LOADING: u64 = 1 << 7;
pub const STALE: u64 = 1 << 8;
pub const SKIP_MONITOR: u64 = 1 << 9;
pub const SKIP_SLOWLOG: u64 = 1 << 10;
pub const FAST: u64 = 1 << 11;
pub const NO_AUTH: u64 = 1 << 12;
pub const MAY_REPLICATE: u64 = 1 << 13;
pub const NO_MULTI: u64 = 1 << 14;
pub const MOVABLE_KEYS: u64 = 1 << 15;
pub const ALLOW_BUSY: u64 = 1 << 16;
pub const NO_MANDATORY_KEYS: u64 = 1 << 17;
pub const ASKING: u64 = 1 << 18;
pub const NO_ASYNC_LOADING: u64 = 1 << 19;
/// Tandem: replaying this command after an unknown outcome is harmless, so the
/// proxy may replay it on a new master. Set on every readonly command that is
/// neither blocking nor stateful, on harmless introspection (PING, INFO,
/// CONFIG GET...), and on writes that set absolute state or remove state (SET,
/// SETEX, MSET, DEL, HSET, SADD, SREM, ZADD, EXPIREAT, FLUSHDB...). Their
/// reply may differ only in a count of what changed (DEL: 1, then 0).
/// The proxy must still check arguments for: SET with GET or NX, ZADD with INCR.
/// The full list and the reasons are in tools/gen-commands/gen_commands.py.
pub const IDEMPOTENT: u64 = 1 << 32;
/// Tandem: the command changes or depends on connection state (SELECT, MULTI,
/// SUBSCRIBE, CLIENT REPLY, HELLO, every blocking command...): a proxy pins the
/// client to a backend. Containers (CLIENT) carry it on their subcommands only.
pub const STATEFUL: u64 = 1 << 33;

/// (flag, name as COMMAND INFO prints it), in the order Redis 7.0 prints them.
/// Not printed: Tandem's own flags, and MAY_REPLICATE (Redis 7.0 keeps it
/// internal; Tandem sets it on PUBLISH, SPUBLISH and PFCOUNT, which put
/// something in the replication stream without being writes).
pub const NAMES: &[(u64, &str)] = &[
    (WRITE, "write"),
    (READONLY, "readonly"),
    (DENYOOM, "denyoom"),
    (ADMIN, "admin"),
    (PUBSUB, "pubsub"),
    (NOSCRIPT, "noscript"),
    (BLOCKING, "blocking"),
    (LOADING, "loading"),
    (STALE, "stale"),
    (SKIP_MONITOR, "skip_monitor"),
    (SKIP_SLOWLOG, "skip_slowlog"),
    (ASKING, "asking"),
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
    (NO_ASYNC_LOADING, "no_async_loading"),
    (NO_MULTI, "no_multi"),
    (MOVABLE_KEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
];
