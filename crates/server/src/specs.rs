//! Fallback specs for the server-level commands, used only for names the command
//! table (`tandem_commands`) does not know yet. Once the full table lands, every
//! lookup hits it and this list is dead weight to delete (the integrator's call).

use tandem_commands::{flags::*, CommandSpec};

macro_rules! spec {
    ($name:literal, $arity:expr, $flags:expr) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: 0,
            last_key: 0,
            step: 0,
            group: "server",
            since: "1.0.0",
            summary: "",
            complexity: "",
            args: &[],
            subcommands: &[],
        }
    };
}

pub static FALLBACK: &[CommandSpec] = &[
    spec!("auth", -2, NOSCRIPT | LOADING | STALE | FAST | NO_AUTH),
    spec!("client", -2, ADMIN | NOSCRIPT | LOADING | STALE),
    spec!("command", -1, LOADING | STALE),
    spec!("config", -2, ADMIN | NOSCRIPT | LOADING | STALE),
    spec!("debug", -2, ADMIN | NOSCRIPT | LOADING | STALE),
    spec!("discard", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY),
    spec!("echo", 2, FAST),
    spec!("exec", 1, NOSCRIPT | LOADING | STALE | SKIP_SLOWLOG),
    spec!(
        "hello",
        -1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY
    ),
    spec!("info", -1, LOADING | STALE),
    spec!("lastsave", 1, LOADING | STALE | FAST),
    spec!("multi", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY),
    spec!("psubscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE),
    spec!(
        "publish",
        3,
        PUBSUB | LOADING | STALE | FAST | MAY_REPLICATE
    ),
    spec!("pubsub", -2, PUBSUB | LOADING | STALE),
    spec!("punsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE),
    spec!(
        "quit",
        -1,
        ALLOW_BUSY | NOSCRIPT | LOADING | STALE | FAST | NO_AUTH
    ),
    spec!(
        "reset",
        1,
        NOSCRIPT | LOADING | STALE | FAST | NO_AUTH | ALLOW_BUSY
    ),
    spec!("role", 1, NOSCRIPT | LOADING | STALE | FAST),
    spec!("select", 2, LOADING | STALE | FAST),
    spec!(
        "shutdown",
        -1,
        ADMIN | NOSCRIPT | LOADING | STALE | NO_MULTI | ALLOW_BUSY
    ),
    spec!("subscribe", -2, PUBSUB | NOSCRIPT | LOADING | STALE),
    spec!("time", 1, LOADING | STALE | FAST),
    spec!("unsubscribe", -1, PUBSUB | NOSCRIPT | LOADING | STALE),
    spec!("unwatch", 1, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY),
    spec!("watch", -2, NOSCRIPT | LOADING | STALE | FAST | ALLOW_BUSY),
];

/// The spec of `name` (lower case): the command table first, then the fallback.
pub fn spec(name: &str) -> Option<&'static CommandSpec> {
    tandem_commands::lookup(name.as_bytes()).or_else(|| FALLBACK.iter().find(|s| s.name == name))
}
