//! `benchtools`: helpers for bench/*.sh that redis-benchmark and redis-cli lack.
//!
//! ```text
//! benchtools load  --port P --keys N [--value-size 64]
//!     writer thread ──SET key:i v (pipelined, unbounded)──▶ server
//!     reader thread ◀──────────── +OK counted, errors fatal ─┘
//! benchtools pause --port P --keys N [--value-size 64] [--type string]
//!     the same load, plus a third thread on its own connection:
//!     PING ─▶ wait PONG ─▶ record round trip ─▶ repeat until the load is done
//!     prints the longest round trip: a server that stalls (e.g. rehashing a
//!     huge table in one go) shows it here.
//!     `--type set|zset|hash|list` grows one key instead, to N members
//!     (SADD / ZADD / HSET / RPUSH), so a collection's own growth is probed.
//! ```
//!
//! Output is one line of `name=value` pairs so shell scripts can pick fields.

mod load;

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: benchtools load|pause --port P --keys N [--value-size BYTES] \
         [--type string|set|zset|hash|list] [--host H]"
    );
    ExitCode::from(2)
}

/// Parsed command line.
pub struct Opts {
    pub host: String,
    pub port: u16,
    pub keys: u64,
    pub value_size: usize,
    pub kind: load::Kind,
}

fn parse(args: &[String]) -> Result<Opts, String> {
    let mut o = Opts {
        host: "127.0.0.1".into(),
        port: 0,
        keys: 0,
        value_size: 64,
        kind: load::Kind::String,
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().ok_or_else(|| format!("{a} needs a value"))?;
        let bad = |_| format!("bad value for {a}: {v}");
        match a.as_str() {
            "--host" => o.host = v.clone(),
            "--port" => o.port = v.parse().map_err(bad)?,
            "--keys" => o.keys = v.parse().map_err(bad)?,
            "--value-size" => o.value_size = v.parse().map_err(bad)?,
            "--type" => {
                o.kind = load::Kind::parse(v).ok_or_else(|| format!("bad value for {a}: {v}"))?
            }
            _ => return Err(format!("unknown option {a}")),
        }
    }
    if o.port == 0 || o.keys == 0 {
        return Err("--port and --keys are required".into());
    }
    Ok(o)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some((mode, rest)) = args.split_first() else {
        return usage();
    };
    let opts = match parse(rest) {
        Ok(o) => o,
        Err(e) => {
            eprintln!("benchtools: {e}");
            return usage();
        }
    };
    let res = match mode.as_str() {
        "load" => load::load(&opts, false),
        "pause" => load::load(&opts, true),
        _ => return usage(),
    };
    match res {
        Ok(line) => {
            println!("{line}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("benchtools {mode}: {e}");
            ExitCode::FAILURE
        }
    }
}
