//! DEBUG (Redis 7.0's test hooks that make sense here): HELP, SLEEP,
//! SET-ACTIVE-EXPIRE, RELOAD, PROTOCOL, LOG, ERROR, POPULATE and OBJECT. The
//! crash and allocator hooks are not implemented and answer Redis's
//! subcommand error.

use bytes::Bytes;
use tandem_resp::Proto;
use tandem_store::util::{eq_ic, parse_i64};
use tandem_store::{CmdError, CmdResult, Value};

use crate::dispatch::Ctx;

/// Redis 7.0.15's DEBUG HELP, verbatim (it lists hooks Tandem does not have).
const HELP: &[&str] = &[
    "DEBUG <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "AOF-FLUSH-SLEEP <microsec>",
    "    Server will sleep before flushing the AOF, this is used for testing.",
    "ASSERT",
    "    Crash by assertion failed.",
    "CHANGE-REPL-ID",
    "    Change the replication IDs of the instance.",
    "    Dangerous: should be used only for testing the replication subsystem.",
    "CONFIG-REWRITE-FORCE-ALL",
    "    Like CONFIG REWRITE but writes all configuration options, including",
    "    keywords not listed in original configuration file or default values.",
    "CRASH-AND-RECOVER [<milliseconds>]",
    "    Hard crash and restart after a <milliseconds> delay (default 0).",
    "DIGEST",
    "    Output a hex signature representing the current DB content.",
    "DIGEST-VALUE <key> [<key> ...]",
    "    Output a hex signature of the values of all the specified keys.",
    "ERROR <string>",
    "    Return a Redis protocol error with <string> as message. Useful for clients",
    "    unit tests to simulate Redis errors.",
    "LEAK <string>",
    "    Create a memory leak of the input string.",
    "LOG <message>",
    "    Write <message> to the server log.",
    "HTSTATS <dbid>",
    "    Return hash table statistics of the specified Redis database.",
    "HTSTATS-KEY <key>",
    "    Like HTSTATS but for the hash table stored at <key>'s value.",
    "LOADAOF",
    "    Flush the AOF buffers on disk and reload the AOF in memory.",
    "REPLICATE <string>",
    "    Replicates the provided string to replicas, allowing data divergence.",
    "MALLCTL <key> [<val>]",
    "    Get or set a malloc tuning integer.",
    "MALLCTL-STR <key> [<val>]",
    "    Get or set a malloc tuning string.",
    "OBJECT <key>",
    "    Show low level info about `key` and associated value.",
    "DROP-CLUSTER-PACKET-FILTER <packet-type>",
    "    Drop all packets that match the filtered type. Set to -1 allow all packets.",
    "OOM",
    "    Crash the server simulating an out-of-memory error.",
    "PANIC",
    "    Crash the server simulating a panic.",
    "POPULATE <count> [<prefix>] [<size>]",
    "    Create <count> string keys named key:<num>. If <prefix> is specified then",
    "    it is used instead of the 'key' prefix. These are not propagated to",
    "    replicas. Cluster slots are not respected so keys not belonging to the",
    "    current node can be created in cluster mode.",
    "PROTOCOL <type>",
    "    Reply with a test value of the specified type. <type> can be: string,",
    "    integer, double, bignum, null, array, set, map, attrib, push, verbatim,",
    "    true, false.",
    "RELOAD [option ...]",
    "    Save the RDB on disk and reload it back to memory. Valid <option> values:",
    "    * MERGE: conflicting keys will be loaded from RDB.",
    "    * NOFLUSH: the existing database will not be removed before load, but",
    "      conflicting keys will generate an exception and kill the server.",
    "    * NOSAVE: the database will be loaded from an existing RDB file.",
    "    Examples:",
    "    * DEBUG RELOAD: verify that the server is able to persist, flush and reload",
    "      the database.",
    "    * DEBUG RELOAD NOSAVE: replace the current database with the contents of an",
    "      existing RDB file.",
    "    * DEBUG RELOAD NOSAVE NOFLUSH MERGE: add the contents of an existing RDB",
    "      file to the database.",
    "RESTART [<milliseconds>]",
    "    Graceful restart: save config, db, restart after a <milliseconds> delay (default 0).",
    "SDSLEN <key>",
    "    Show low level SDS string info representing `key` and value.",
    "SEGFAULT",
    "    Crash the server with sigsegv.",
    "SET-ACTIVE-EXPIRE <0|1>",
    "    Setting it to 0 disables expiring keys in background when they are not",
    "    accessed (otherwise the Redis behavior). Setting it to 1 reenables back the",
    "    default.",
    "QUICKLIST-PACKED-THRESHOLD <size>",
    "    Sets the threshold for elements to be inserted as plain vs packed nodes",
    "    Default value is 1GB, allows values up to 4GB. Setting to 0 restores to default.",
    "SET-SKIP-CHECKSUM-VALIDATION <0|1>",
    "    Enables or disables checksum checks for RDB files and RESTORE's payload.",
    "SLEEP <seconds>",
    "    Stop the server for <seconds>. Decimals allowed.",
    "STRINGMATCH-TEST",
    "    Run a fuzz tester against the stringmatchlen() function.",
    "STRUCTSIZE",
    "    Return the size of different Redis core C structures.",
    "LISTPACK <key>",
    "    Show low level info about the listpack encoding of <key>.",
    "QUICKLIST <key> [<0|1>]",
    "    Show low level info about the quicklist encoding of <key>.",
    "    The optional argument (0 by default) sets the level of detail",
    "CLIENT-EVICTION",
    "    Show low level client eviction pools info (maxmemory-clients).",
    "PAUSE-CRON <0|1>",
    "    Stop periodic cron job processing.",
    "REPLYBUFFER PEAK-RESET-TIME <NEVER||RESET|time>",
    "    Sets the time (in milliseconds) to wait between client reply buffer peak resets.",
    "    In case NEVER is provided the last observed peak will never be reset",
    "    In case RESET is provided the peak reset time will be restored to the default value",
    "REPLYBUFFER RESIZING <0|1>",
    "    Enable or disable the reply buffer resize cron job",
    "CLUSTERLINK KILL <to|from|all> <node-id>",
    "    Kills the link based on the direction to/from (both) with the provided node.",
    "HELP",
    "    Prints this help.",
];

pub fn debug(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let sub = &args[1];
    if eq_ic(sub, "HELP") && args.len() == 2 {
        crate::dispatch::reply_help(ctx.out, HELP);
        Ok(())
    } else if eq_ic(sub, "POPULATE") && (3..=5).contains(&args.len()) {
        populate(ctx, args)
    } else if eq_ic(sub, "DIGEST") && args.len() == 2 {
        let d = crate::digest::dataset(&ctx.st.store);
        ctx.out.simple(&d);
        Ok(())
    } else if eq_ic(sub, "DIGEST-VALUE") {
        let db = ctx.client().db;
        ctx.out.array(args.len() - 2);
        for key in &args[2..] {
            let d = crate::digest::value(&ctx.st.store, db, key);
            ctx.out.simple(&d);
        }
        Ok(())
    } else if eq_ic(sub, "OBJECT") && args.len() == 3 {
        object(ctx, &args[2])
    } else if eq_ic(sub, "SLEEP") && args.len() == 3 {
        let secs = tandem_store::util::parse_f64(&args[2]).unwrap_or(0.0);
        // Holds the lock on purpose: DEBUG SLEEP blocks the whole server in Redis.
        if secs > 0.0 && secs.is_finite() {
            std::thread::sleep(std::time::Duration::from_secs_f64(secs.min(3600.0)));
        }
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, "SET-ACTIVE-EXPIRE") && args.len() == 3 {
        // atoi, as Redis: anything that does not start with a number is 0.
        let on = tandem_store::util::parse_i64(&args[2]).unwrap_or(0) != 0;
        ctx.st.store.config.active_expire_enabled = on;
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, "RELOAD") {
        crate::persist::debug_reload(ctx, &args[2..])
    } else if eq_ic(sub, "PROTOCOL") && args.len() == 3 {
        debug_protocol(ctx, &args[2])
    } else if eq_ic(sub, "LOG") && args.len() == 3 {
        tracing::warn!("DEBUG LOG: {}", String::from_utf8_lossy(&args[2]));
        ctx.out.ok();
        Ok(())
    } else if eq_ic(sub, "ERROR") && args.len() == 3 {
        // The argument as the whole error line, as Redis sends it.
        Err(CmdError::msg(
            String::from_utf8_lossy(&args[2]).into_owned(),
        ))
    } else {
        Err(crate::cmd_client::sub_syntax(sub, "DEBUG"))
    }
}

/// DEBUG PROTOCOL <type>: a test value of each reply type, as Redis sends
/// them (client libraries test their parsers with it).
fn debug_protocol(ctx: &mut Ctx<'_>, kind: &[u8]) -> CmdResult {
    let resp3 = ctx.out.proto() == Proto::Resp3;
    let out = &mut *ctx.out;
    let name = String::from_utf8_lossy(kind).to_ascii_lowercase();
    match name.as_str() {
        "string" => out.bulk(b"Hello World"),
        "integer" => out.int(12345),
        // Redis's test value, not an approximation of pi.
        #[allow(clippy::approx_constant)]
        "double" => out.double(3.141),
        "bignum" => {
            let n = b"1234567999999999999999999999999999999";
            if resp3 {
                out.raw(b"(");
                out.raw(n);
                out.raw(b"\r\n");
            } else {
                out.bulk(n);
            }
        }
        "null" => out.null(),
        "array" | "set" => {
            if name == "set" {
                out.set(3);
            } else {
                out.array(3);
            }
            for j in 0..3 {
                out.int(j);
            }
        }
        "map" => {
            out.map(3);
            for j in 0..3 {
                out.int(j);
                out.bool(j == 1);
            }
        }
        "attrib" => {
            if resp3 {
                out.raw(b"|1\r\n");
                out.bulk(b"key-popularity");
                out.array(2);
                out.bulk(b"key:123");
                out.int(90);
            }
            out.bulk(b"Some real reply following the attribute");
        }
        "push" => {
            if !resp3 {
                return Err(CmdError::msg("ERR RESP2 is not supported by this command"));
            }
            out.push(2);
            out.bulk(b"server-cpu-usage");
            out.int(42);
            // A push is not a reply: a normal reply follows it.
            out.bulk(b"Some real reply following the push reply");
        }
        "verbatim" => out.verbatim(b"This is a verbatim\nstring"),
        "true" => out.bool(true),
        "false" => out.bool(false),
        _ => {
            return Err(CmdError::msg(
                "ERR Wrong protocol type name. Please use one of the following: string|integer|double|bignum|null|array|set|map|attrib|push|verbatim|true|false",
            ))
        }
    }
    Ok(())
}

/// DEBUG POPULATE count [prefix] [size]: `prefix:N` string keys holding
/// `value:N` (cut or NUL-padded to `size`), skipping keys that exist; not
/// propagated, as in Redis.
fn populate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let positive = |a: &[u8]| {
        parse_i64(a)
            .filter(|n| *n >= 0)
            .ok_or_else(|| CmdError::msg("ERR value is out of range, must be positive"))
    };
    let count = positive(&args[2])?;
    let size = match args.get(4) {
        Some(a) => positive(a)? as usize,
        None => 0,
    };
    let prefix: &[u8] = args.get(3).map_or(b"key", |p| &p[..]);
    let db = ctx.client().db;
    let now = ctx.now;
    let store = &mut ctx.st.store;
    let mut key = Vec::new();
    for j in 0..count {
        key.clear();
        key.extend_from_slice(prefix);
        key.extend_from_slice(format!(":{j}").as_bytes());
        // Redis formats the name into 128 bytes.
        key.truncate(127);
        if store.lookup_write(db, &key, now).is_some() {
            continue;
        }
        let mut val = format!("value:{j}").into_bytes();
        if size > 0 {
            val.resize(size, 0);
        }
        store.set_key(
            db,
            &key,
            Value::Str(tandem_store::types::string::Str::from_bytes(&val)),
            false,
            now,
        );
        store.touch(db, &key);
    }
    ctx.out.ok();
    Ok(())
}

/// DEBUG OBJECT key: Redis's line; the address is the value's, the serialized
/// length the size of its RDB encoding, `lru` Redis's 24-bit clock.
fn object(ctx: &mut Ctx<'_>, key: &[u8]) -> CmdResult {
    let db = ctx.client().db;
    let now = ctx.now;
    let cfg = ctx.st.store.config.clone();
    let Some(e) = ctx.st.store.peek(db, key, now) else {
        return Err(CmdError::NoSuchKey);
    };
    let v = &e.value;
    let serialized = tandem_rdb::dump_payload(&crate::persist::snapshot::from_value(v))
        .len()
        .saturating_sub(11);
    let mut line = format!(
        "Value at:{:p} refcount:1 encoding:{} serializedlength:{} lru:{} lru_seconds_idle:{}",
        v as *const Value,
        v.encoding(&cfg),
        serialized,
        e.lru & 0xFF_FFFF,
        tandem_store::evict::idle_ms(e.lru, now) / 1000
    );
    if let Value::List(l) = v {
        line.push_str(&format!(
            " ql_nodes:1 ql_avg_node:{}.00 ql_listpack_max:{} ql_compressed:0 ql_uncompressed_size:{}",
            l.len(),
            cfg.list_max_listpack_size,
            l.iter().map(|i| i.len() + 2).sum::<usize>()
        ));
    }
    ctx.out.simple(&line);
    Ok(())
}
