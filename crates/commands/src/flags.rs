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
/// Tandem: replaying this command after an unknown outcome cannot change the
/// result (SET without GET, DEL, HSET, SADD...). Read by the proxy.
pub const IDEMPOTENT: u64 = 1 << 32;
/// Tandem: the command changes or depends on connection state (SELECT, MULTI,
/// SUBSCRIBE, CLIENT REPLY, HELLO...): a proxy pins the client to a backend.
pub const STATEFUL: u64 = 1 << 33;

/// (flag, name as COMMAND INFO prints it); Tandem's own flags are not printed.
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
    (FAST, "fast"),
    (NO_AUTH, "no_auth"),
    (MAY_REPLICATE, "may_replicate"),
    (NO_MULTI, "no_multi"),
    (MOVABLE_KEYS, "movablekeys"),
    (ALLOW_BUSY, "allow_busy"),
    (NO_MANDATORY_KEYS, "no_mandatory_keys"),
];
