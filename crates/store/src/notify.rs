//! Keyspace notifications (Redis's `notify.c`): the classes of
//! `notify-keyspace-events`, and which event a write command raises on which
//! key. The store raises `expired` and `evicted` itself; the server derives
//! the others from the command that ran (see [`command_events`]) and
//! publishes them on `__keyspace@<db>__:<key>` and `__keyevent@<db>__:<event>`.

use bytes::Bytes;

pub const KEYSPACE: u32 = 1 << 0;
pub const KEYEVENT: u32 = 1 << 1;
pub const GENERIC: u32 = 1 << 2;
pub const STRING: u32 = 1 << 3;
pub const LIST: u32 = 1 << 4;
pub const SET: u32 = 1 << 5;
pub const HASH: u32 = 1 << 6;
pub const ZSET: u32 = 1 << 7;
pub const EXPIRED: u32 = 1 << 8;
pub const EVICTED: u32 = 1 << 9;
pub const STREAM: u32 = 1 << 10;
pub const KEY_MISS: u32 = 1 << 11;
pub const MODULE: u32 = 1 << 12;
pub const NEW: u32 = 1 << 13;
/// `A`: every class but key-miss and new.
pub const ALL: u32 =
    GENERIC | STRING | LIST | SET | HASH | ZSET | EXPIRED | EVICTED | STREAM | MODULE;

/// One event to publish.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub class: u32,
    pub event: &'static str,
    pub db: usize,
    pub key: Bytes,
}

/// Parses `notify-keyspace-events` (Redis's keyspaceEventsStringToFlags);
/// None for an unknown character.
pub fn parse_flags(s: &[u8]) -> Option<u32> {
    let mut f = 0;
    for c in s {
        f |= match c {
            b'A' => ALL,
            b'g' => GENERIC,
            b'$' => STRING,
            b'l' => LIST,
            b's' => SET,
            b'h' => HASH,
            b'z' => ZSET,
            b'x' => EXPIRED,
            b'e' => EVICTED,
            b'K' => KEYSPACE,
            b'E' => KEYEVENT,
            b't' => STREAM,
            b'm' => KEY_MISS,
            b'd' => MODULE,
            b'n' => NEW,
            _ => return None,
        };
    }
    Some(f)
}

/// The flags as Redis's keyspaceEventsFlagsToString writes them (CONFIG GET,
/// CONFIG REWRITE): `A` for all the classes it covers (and then no `n`, as
/// Redis), else each class, then `K`, `E` and `m`.
pub fn flags_to_string(f: u32) -> String {
    let mut s = String::new();
    if f & ALL == ALL {
        s.push('A');
    } else {
        for (bit, c) in [
            (GENERIC, 'g'),
            (STRING, '$'),
            (LIST, 'l'),
            (SET, 's'),
            (HASH, 'h'),
            (ZSET, 'z'),
            (EXPIRED, 'x'),
            (EVICTED, 'e'),
            (STREAM, 't'),
            (MODULE, 'd'),
            (NEW, 'n'),
        ] {
            if f & bit != 0 {
                s.push(c);
            }
        }
    }
    for (bit, c) in [(KEYSPACE, 'K'), (KEYEVENT, 'E'), (KEY_MISS, 'm')] {
        if f & bit != 0 {
            s.push(c);
        }
    }
    s
}

/// Whether any event would be published: a class and at least one of K/E.
pub fn active(flags: u32) -> bool {
    flags & (KEYSPACE | KEYEVENT) != 0 && flags & !(KEYSPACE | KEYEVENT) != 0
}

/// The class and event a write command raises on its key at argument
/// `pos` (`args[0]` is the name, lowercase in `name`), as Redis's commands
/// call notifyKeyspaceEvent. None: no event of its own (the server still
/// raises `del` when the command emptied the key, and `new` for a new key).
pub fn command_event(name: &str, args: &[Bytes], pos: usize) -> Option<(u32, &'static str)> {
    let has = |w: &str| {
        args.iter()
            .skip(2)
            .any(|a| a.eq_ignore_ascii_case(w.as_bytes()))
    };
    Some(match name {
        "set" | "setnx" | "setex" | "psetex" | "getset" | "mset" | "msetnx" => (STRING, "set"),
        "incr" | "decr" | "incrby" | "decrby" => (STRING, "incrby"),
        "incrbyfloat" => (STRING, "incrbyfloat"),
        "append" => (STRING, "append"),
        "setrange" => (STRING, "setrange"),
        "setbit" | "bitfield" => (STRING, "setbit"),
        "bitop" => (STRING, "set"),
        "getdel" => (GENERIC, "del"),
        "pfadd" | "pfmerge" => (STRING, "pfadd"),
        "del" | "unlink" => (GENERIC, "del"),
        "expire" | "pexpire" | "expireat" | "pexpireat" => (GENERIC, "expire"),
        "persist" => (GENERIC, "persist"),
        "getex" if has("persist") => (GENERIC, "persist"),
        "getex" => (GENERIC, "expire"),
        "rename" | "renamenx" if pos == 1 => (GENERIC, "rename_from"),
        "rename" | "renamenx" => (GENERIC, "rename_to"),
        "copy" if pos == 2 => (GENERIC, "copy_to"),
        "restore" | "restore-asking" => (GENERIC, "restore"),
        "sort" => (LIST, "sortstore"),
        "lpush" | "lpushx" => (LIST, "lpush"),
        "rpush" | "rpushx" => (LIST, "rpush"),
        "lpop" | "blpop" => (LIST, "lpop"),
        "rpop" | "brpop" => (LIST, "rpop"),
        "linsert" => (LIST, "linsert"),
        "lset" => (LIST, "lset"),
        "lrem" => (LIST, "lrem"),
        "ltrim" => (LIST, "ltrim"),
        "rpoplpush" | "brpoplpush" if pos == 1 => (LIST, "rpop"),
        "rpoplpush" | "brpoplpush" => (LIST, "lpush"),
        "lmove" | "blmove" => {
            // LMOVE src dst wherefrom whereto: the source pops, the
            // destination pushes.
            let end = if pos == 1 { 3 } else { 4 };
            let left = args
                .get(end)
                .is_some_and(|a| a.eq_ignore_ascii_case(b"left"));
            match (pos == 1, left) {
                (true, true) => (LIST, "lpop"),
                (true, false) => (LIST, "rpop"),
                (false, true) => (LIST, "lpush"),
                (false, false) => (LIST, "rpush"),
            }
        }
        "hset" | "hmset" | "hsetnx" => (HASH, "hset"),
        "hdel" => (HASH, "hdel"),
        "hincrby" => (HASH, "hincrby"),
        "hincrbyfloat" => (HASH, "hincrbyfloat"),
        "sadd" => (SET, "sadd"),
        "srem" => (SET, "srem"),
        "spop" => (SET, "spop"),
        "smove" if pos == 1 => (SET, "srem"),
        "smove" => (SET, "sadd"),
        "sinterstore" | "sunionstore" | "sdiffstore" => (SET, leak_name(name)),
        "zadd" if has("incr") => (ZSET, "zincr"),
        "zadd" => (ZSET, "zadd"),
        "zincrby" => (ZSET, "zincr"),
        "zrem" => (ZSET, "zrem"),
        "zremrangebyscore" => (ZSET, "zremrangebyscore"),
        "zremrangebyrank" => (ZSET, "zremrangebyrank"),
        "zremrangebylex" => (ZSET, "zremrangebylex"),
        "zpopmin" | "bzpopmin" => (ZSET, "zpopmin"),
        "zpopmax" | "bzpopmax" => (ZSET, "zpopmax"),
        "zunionstore" | "zinterstore" | "zdiffstore" | "zrangestore" => (ZSET, leak_name(name)),
        "geoadd" => (ZSET, "geoadd"),
        "xadd" => (STREAM, "xadd"),
        "xdel" => (STREAM, "xdel"),
        "xtrim" => (STREAM, "xtrim"),
        "xsetid" => (STREAM, "xsetid"),
        "xgroup|create" => (STREAM, "xgroup-create"),
        "xgroup|createconsumer" => (STREAM, "xgroup-createconsumer"),
        "xgroup|setid" => (STREAM, "xgroup-setid"),
        "xgroup|delconsumer" => (STREAM, "xgroup-delconsumer"),
        "xgroup|destroy" => (STREAM, "xgroup-destroy"),
        _ => return None,
    })
}

/// Event names that are the command's own name.
fn leak_name(name: &str) -> &'static str {
    match name {
        "sinterstore" => "sinterstore",
        "sunionstore" => "sunionstore",
        "sdiffstore" => "sdiffstore",
        "zunionstore" => "zunionstore",
        "zinterstore" => "zinterstore",
        "zdiffstore" => "zdiffstore",
        _ => "zrangestore",
    }
}

/// The two channels and messages of an event under `flags`.
pub fn messages(flags: u32, e: &Event) -> Vec<(Vec<u8>, Bytes)> {
    let mut out = Vec::new();
    if flags & e.class == 0 {
        return out;
    }
    if flags & KEYSPACE != 0 {
        let mut ch = format!("__keyspace@{}__:", e.db).into_bytes();
        ch.extend_from_slice(&e.key);
        out.push((ch, Bytes::from_static(e.event.as_bytes())));
    }
    if flags & KEYEVENT != 0 {
        let ch = format!("__keyevent@{}__:{}", e.db, e.event).into_bytes();
        out.push((ch, e.key.clone()));
    }
    out
}
