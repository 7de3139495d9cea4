//! Lua scripts (EVAL, EVAL_RO) made of `redis.call`/`redis.pcall` on the other
//! families' keys, with Redis's conversions both ways: each call's reply goes
//! back to the client inside the script's reply (errors as nested error
//! replies), raised errors name their line, and the script's writes are
//! compared afterwards by the other families' reads. The same calls also run
//! through FCALL/FCALL_RO of a library ([`LIBRARY`], loaded on both sides
//! before a seed starts) that takes them as an argument program.
//!
//! Keys and values travel in KEYS and ARGV, so the bodies are plain text.
//! Left out: commands whose reply order Redis does not define (SMEMBERS, ...),
//! which scripts would return as arrays compared in order.
use crate::gen::{Cmd, Kp, G};
use crate::ops::{op, Norm::*, Op};

/// One call inside the script: the command, its key and other arguments.
struct Call {
    read_only: bool,
    name: &'static str,
    key: Vec<u8>,
    rest: Vec<Vec<u8>>,
}

fn call(g: &mut G) -> Call {
    let key = |g: &mut G, kp: Kp| g.key(kp);
    let (ro, name, k, rest): (bool, &str, Vec<u8>, Vec<Vec<u8>>) = match g.rng.below(20) {
        0 => (true, "get", key(g, Kp::Str), vec![]),
        1 => (false, "set", key(g, Kp::Str), vec![g.value()]),
        2 => (false, "incrby", key(g, Kp::Str), vec![g.int(-5, 5)]),
        3 => (false, "append", key(g, Kp::Str), vec![g.value()]),
        4 => (true, "strlen", key(g, Kp::Str), vec![]),
        5 => (false, "rpush", key(g, Kp::List), vec![g.member()]),
        6 => (false, "lpop", key(g, Kp::List), vec![]),
        7 => (
            true,
            "lrange",
            key(g, Kp::List),
            vec![g.int(-3, 2), g.int(-2, 3)],
        ),
        8 => (false, "hset", key(g, Kp::Hash), vec![g.member(), g.value()]),
        9 => (true, "hget", key(g, Kp::Hash), vec![g.member()]),
        10 => (
            false,
            "hincrby",
            key(g, Kp::Hash),
            vec![g.member(), g.int(-3, 3)],
        ),
        11 => (false, "sadd", key(g, Kp::Set), vec![g.member()]),
        12 => (true, "sismember", key(g, Kp::Set), vec![g.member()]),
        13 => (true, "scard", key(g, Kp::Set), vec![]),
        14 => (
            false,
            "zadd",
            key(g, Kp::Zset),
            vec![g.int(-3, 3), g.member()],
        ),
        15 => (true, "zscore", key(g, Kp::Zset), vec![g.member()]),
        16 => (
            true,
            "zrange",
            key(g, Kp::Zset),
            vec![b"0".to_vec(), b"-1".to_vec(), b"WITHSCORES".to_vec()],
        ),
        17 => (true, "type", key(g, Kp::Any), vec![]),
        18 => (false, "del", key(g, Kp::Any), vec![]),
        _ => (true, "exists", key(g, Kp::Any), vec![]),
    };
    Call {
        read_only: ro,
        name,
        key: k,
        rest,
    }
}

impl Call {
    /// Its Lua argument list, its key and arguments added to the script's
    /// KEYS and ARGV.
    fn lua(self, keys: &mut Vec<Vec<u8>>, argv: &mut Vec<Vec<u8>>) -> String {
        keys.push(self.key);
        let mut lua = format!("'{}', KEYS[{}]", self.name, keys.len());
        for a in self.rest {
            argv.push(a);
            lua.push_str(&format!(", ARGV[{}]", argv.len()));
        }
        lua
    }
}

/// A script of one to four calls: pcall'd ones collected into the reply, a
/// raising one ending it (with its line in the error), and one of a few ways
/// to return what it got.
fn script(g: &mut G, eval_ro: bool) -> Cmd {
    let (mut keys, mut argv) = (Vec::new(), Vec::new());
    let mut body = String::from("local r = {}\n");
    let n = 1 + g.rng.below(4);
    for i in 1..=n {
        let c = call(g);
        let f = if g.rng.chance(20) || (eval_ro && !c.read_only && g.rng.chance(50)) {
            "call"
        } else {
            "pcall"
        };
        let lua = c.lua(&mut keys, &mut argv);
        body.push_str(&format!("r[{i}] = redis.{f}({lua})\n"));
    }
    body.push_str(match g.rng.below(6) {
        0 => "return #r",
        1 => "return r[1]",
        2 => "return {ok = type(r[1])}",
        // Status replies carry only text the client can read as UTF-8.
        3 => "local v = r[1] if type(v) == 'number' then return redis.status_reply(tostring(v)) end \
              return redis.status_reply(type(v))",
        4 => "if type(r[1]) == 'table' and r[1].err then return redis.error_reply(r[1].err) end return r",
        _ => "return r",
    });
    let mut c: Cmd = vec![
        if eval_ro {
            b"EVAL_RO".to_vec()
        } else {
            b"EVAL".to_vec()
        },
        body.into_bytes(),
        keys.len().to_string().into_bytes(),
    ];
    c.extend(keys);
    c.extend(argv);
    c
}

fn eval(g: &mut G) -> Cmd {
    script(g, false)
}

fn eval_ro(g: &mut G) -> Cmd {
    script(g, true)
}

/// The library FCALL runs: `run` (and `run_ro`, flagged `no-writes`) takes
/// an argument program, `c|p argc arg...` per call (redis.call or pcall),
/// and returns the replies (or what `#`, the first reply's type, ...).
pub const LIBRARY: &str = "#!lua name=difflib
local function run(keys, args)
  local r, i, n = {}, 2, 0
  while i <= #args do
    local mode, argc = args[i], tonumber(args[i + 1])
    local call = {}
    for j = 1, argc do call[j] = args[i + 1 + j] end
    i = i + 2 + argc
    n = n + 1
    if mode == 'c' then r[n] = redis.call(unpack(call)) else r[n] = redis.pcall(unpack(call)) end
  end
  local style = args[1]
  if style == 'len' then return #r end
  if style == 'first' then return r[1] end
  if style == 'type' then return {ok = type(r[1])} end
  if style == 'err' and type(r[1]) == 'table' and r[1].err then return redis.error_reply(r[1].err) end
  return r
end
redis.register_function('run', run)
redis.register_function{function_name = 'run_ro', callback = run, flags = {'no-writes'}}
";

/// FCALL run|run_ro with one to four calls.
fn function(g: &mut G, read_only: bool) -> Cmd {
    let styles = ["len", "first", "type", "err", "all", "all"];
    let mut keys = Vec::new();
    let mut args = vec![styles[g.rng.below(styles.len())].as_bytes().to_vec()];
    for _ in 0..1 + g.rng.below(4) {
        let c = call(g);
        let raise = g.rng.chance(20) || (read_only && !c.read_only && g.rng.chance(50));
        args.push(if raise { b"c".to_vec() } else { b"p".to_vec() });
        args.push((2 + c.rest.len()).to_string().into_bytes());
        args.push(c.name.as_bytes().to_vec());
        args.push(c.key.clone());
        keys.push(c.key);
        args.extend(c.rest);
    }
    let mut cmd: Cmd = vec![
        if read_only {
            b"FCALL_RO".to_vec()
        } else {
            b"FCALL".to_vec()
        },
        if read_only {
            b"run_ro".to_vec()
        } else {
            b"run".to_vec()
        },
        keys.len().to_string().into_bytes(),
    ];
    cmd.extend(keys);
    cmd.extend(args);
    cmd
}

fn fcall(g: &mut G) -> Cmd {
    function(g, false)
}

fn fcall_ro(g: &mut G) -> Cmd {
    function(g, true)
}

pub const SCRIPTS: &[Op] = &[
    op("eval", 4, Exact, eval),
    op("eval_ro", 1, Exact, eval_ro),
    op("fcall", 3, Exact, fcall),
    op("fcall_ro", 1, Exact, fcall_ro),
];
