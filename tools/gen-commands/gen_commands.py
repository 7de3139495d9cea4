#!/usr/bin/env python3
"""Generates Tandem's command table (crates/commands/src/table/) from a real
redis-server 7.0.

Usage (from the repository root):

    python3 tools/gen-commands/gen_commands.py            # starts its own redis-server
    python3 tools/gen-commands/gen_commands.py --port 6379  # asks a running one
    python3 tools/gen-commands/gen_commands.py --check      # is the table up to date?

The generator asks the server `COMMAND` (arity, flags, legacy key positions, ACL
categories, tips, key specs, subcommands) and `COMMAND DOCS` (group, since,
summary, complexity, history, arguments), keeps the commands Tandem implements,
adds Tandem's own flags (IDEMPOTENT, STATEFUL, MAY_REPLICATE, see the tables
below) and Tandem's own commands, and writes one Rust file per command group plus
a `mod.rs` holding the sorted table, the id index and the name lookup. The
output is laid out by the generator itself (lib.rs declares the module
`#[rustfmt::skip]`), one argument or key spec per line.

What comes from Redis is data about the protocol (what a client sees from
COMMAND and COMMAND DOCS), not Redis source code.
"""

import argparse
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import resp

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
OUT_DIR = os.path.join(ROOT, "crates", "commands", "src", "table")

# Lookup lower-cases a name into a stack buffer of this size; longer names are
# unknown by construction. The generator checks every name fits.
MAX_NAME_LEN = 32

# ---------------------------------------------------------------------------
# Which commands Tandem implements: everything Redis 7.0 has except these.
# (CLUSTER, ASKING, READONLY, READWRITE and MODULE are listed and answer as a
# redis-server without cluster mode or modules does.)
# ---------------------------------------------------------------------------
EXCLUDED_GROUPS = set()
EXCLUDED_COMMANDS = set()

# ---------------------------------------------------------------------------
# IDEMPOTENT: "the proxy may replay this after an unknown outcome". A request
# sent to a master that died before answering may or may not have been applied;
# replaying it on the new master is safe only if applying it twice leaves the
# same data as applying it once, and the reply the client gets cannot mislead it.
#
# Set on:
#  * every READONLY command that is neither BLOCKING nor STATEFUL (reading twice
#    changes nothing), and the harmless introspection commands below;
#  * the writes listed below. They set absolute state (SET, HSET, EXPIREAT...),
#    remove state (DEL, SREM...), or compute an idempotent set algebra
#    (SINTERSTORE, PFMERGE...). Some reply with a count of what changed (DEL: 1
#    then 0); that count is the one reply difference accepted, because clients
#    use these commands to make a state hold, not to test it.
#
# Caveats the proxy must check itself, on the arguments:
#  * SET with GET (replies the previous value: the replay would see its own
#    write) or NX (the replay replies nil although the first one succeeded);
#  * ZADD with INCR (adds twice).
#
# Deliberately not idempotent: INCR*/DECR*/INCRBYFLOAT/HINCRBY*/ZINCRBY/APPEND
# (accumulate), LPUSH/RPUSH/LINSERT/LPOP/RPOP/SPOP/ZPOP*/LMOVE (move or add
# elements), SETNX/HSETNX/MSETNX/RENAMENX/COPY/SMOVE (the reply says whether it
# happened, and the replay would say no), RENAME/MOVE/RESTORE (the replay fails),
# EXPIRE/PEXPIRE (relative: the replay pushes the deadline), GETSET/GETDEL/GETEX/
# SETBIT/BITFIELD (reply is the old value), LTRIM/LREM/ZREMRANGEBYRANK (shift
# again), ZUNIONSTORE/ZINTERSTORE/ZRANGESTORE/BITOP (not idempotent when the
# destination is also a source), SWAPDB (swaps back), PUBLISH (delivers twice).
# SETEX/PSETEX are accepted although relative: they rewrite the whole value, so a
# replay is indistinguishable from a slightly later identical write.
# ---------------------------------------------------------------------------
IDEMPOTENT_WRITES = {
    "set", "setex", "psetex", "mset", "setrange",
    "del", "unlink", "expireat", "pexpireat", "persist",
    "hset", "hmset", "hdel",
    "sadd", "srem", "sinterstore", "sunionstore", "sdiffstore",
    "zadd", "zrem", "zremrangebyscore", "zremrangebylex", "zdiffstore",
    "lset",
    "pfadd", "pfmerge",
    # Streams: acknowledging, deleting entries or a group, or setting an ID
    # twice leaves what once did. (XADD with an explicit ID fails when
    # replayed, with `*` adds twice; XCLAIM/XREADGROUP count deliveries.)
    "xack", "xdel", "xsetid", "xgroup|setid", "xgroup|destroy",
    "xgroup|delconsumer",
    "flushdb", "flushall",
    "select",
    "config|set",
    "client|setname",
    "tandem|epoch", "tandem|fence",
}
IDEMPOTENT_HARMLESS = {
    "ping", "echo", "time", "dbsize", "info", "lastsave", "role",
    "command", "command|count", "command|docs", "command|getkeys",
    "command|getkeysandflags", "command|info", "command|list", "command|help",
    "config|get", "config|help",
    # Not CLIENT GETNAME/ID/INFO...: they read the connection's own state,
    # which a replay on a new connection would not see.
    "client|list", "client|help",
    "memory|usage", "memory|stats", "memory|doctor", "memory|malloc-stats",
    "memory|help",
    "slowlog|get", "slowlog|len", "slowlog|help",
    "latency|latest", "latency|history", "latency|graph", "latency|doctor",
    "latency|histogram", "latency|help",
    "pubsub|channels", "pubsub|numsub", "pubsub|numpat", "pubsub|shardchannels",
    "pubsub|shardnumsub", "pubsub|help",
    "object|help",
    # Loading a script twice caches it once; flushing twice leaves it flushed.
    "script|load", "script|exists", "script|flush", "script|help",
    # Listing, dumping or counting functions twice answers the same; flushing
    # twice leaves none. (FUNCTION LOAD without REPLACE and DELETE fail when
    # replayed; FCALL may write.)
    "function|list", "function|dump", "function|stats", "function|flush",
    "function|help",
}

# ---------------------------------------------------------------------------
# STATEFUL: the command changes or depends on the state of its connection, so a
# proxy must pin the client to one backend connection (or emulate the command).
# Every BLOCKING command is STATEFUL too: it parks the connection.
# Containers (CLIENT) carry no Tandem flags: look at the subcommand.
# ---------------------------------------------------------------------------
STATEFUL = {
    "select", "multi", "exec", "discard", "watch", "unwatch",
    "subscribe", "psubscribe", "unsubscribe", "punsubscribe",
    "ssubscribe", "sunsubscribe",
    "hello", "auth", "reset", "quit", "monitor",
    "sync", "psync", "replconf",
    "client|reply", "client|setname", "client|getname", "client|id",
    "client|info", "client|tracking", "client|trackinginfo", "client|caching",
    "client|getredir", "client|no-evict",
}

# ---------------------------------------------------------------------------
# MAY_REPLICATE: Redis 7.0 has the flag but does not print it in COMMAND INFO,
# so it cannot be read from the server. These non-write commands still put
# something in the replication stream: PUBLISH/SPUBLISH are propagated to
# replicas, PFCOUNT may rewrite the cached cardinality of the HLL, EVAL and
# EVALSHA run scripts that may write.
# ---------------------------------------------------------------------------
MAY_REPLICATE = {"publish", "spublish", "pfcount", "eval", "evalsha", "fcall"}

# ---------------------------------------------------------------------------
# Tandem's own commands, in the shape Redis reports its commands.
# ---------------------------------------------------------------------------
TANDEM_SINCE = "0.1.0"


def tandem_commands():
    def sub(name, arity, flags, summary, complexity, args):
        return {
            "info": [f"tandem|{name}", arity, flags, 0, 0, 0, acl_for(flags), [], [], []],
            "docs": {
                "summary": summary,
                "since": TANDEM_SINCE,
                "group": "tandem",
                "complexity": complexity,
                "arguments": args,
            },
        }

    subs = [
        sub(
            "epoch",
            -2,
            ["admin", "loading", "stale", "fast"],
            "Get, or set, the cluster epoch this node was promoted under",
            "O(1)",
            [{"name": "epoch", "type": "integer", "flags": ["optional"]}],
        ),
        sub(
            "fence",
            -3,
            ["admin", "stale"],
            "Stop accepting writes because a newer epoch exists, optionally following its master",
            "O(1)",
            [
                {"name": "epoch", "type": "integer"},
                {
                    "name": "master",
                    "type": "block",
                    "flags": ["optional"],
                    "arguments": [
                        {"name": "host", "type": "string"},
                        {"name": "port", "type": "integer"},
                    ],
                },
            ],
        ),
        sub(
            "role",
            2,
            ["readonly", "stale", "fast"],
            "Return this node's Tandem role, epoch and fencing state",
            "O(1)",
            [],
        ),
        sub(
            "link",
            3,
            ["stale", "fast"],
            "Name this connection a proxy link: its writes are marked in the stream",
            "O(1)",
            [{"name": "tag", "type": "string"}],
        ),
        sub(
            "linkpos",
            3,
            ["readonly", "stale", "fast"],
            "Return how many requests of a proxy link this node's data covers",
            "O(1)",
            [{"name": "tag", "type": "string"}],
        ),
        sub(
            "help",
            2,
            ["loading", "stale"],
            "Show helpful text about the different subcommands",
            "O(1)",
            [],
        ),
    ]
    info = ["tandem", -2, [], 0, 0, 0, ["@slow"], [], [], [s["info"] for s in subs]]
    docs = {
        "summary": "A container for Tandem replication and failover commands",
        "since": TANDEM_SINCE,
        "group": "tandem",
        "complexity": "Depends on subcommand.",
        "subcommands": {s["info"][0]: s["docs"] for s in subs},
    }
    return info, docs


def acl_for(flags):
    """ACL categories Redis derives from flags (for Tandem's own commands)."""
    cats = []
    if "write" in flags:
        cats.append("@write")
    if "readonly" in flags:
        cats.append("@read")
    if "admin" in flags:
        cats += ["@admin", "@dangerous"]
    cats.append("@fast" if "fast" in flags else "@slow")
    return cats


# ---------------------------------------------------------------------------
# Talking to redis-server.
# ---------------------------------------------------------------------------
def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server():
    exe = shutil.which("redis-server")
    if not exe:
        sys.exit("redis-server not found in PATH")
    port = free_port()
    tmp = tempfile.mkdtemp(prefix="gen-commands-")
    proc = subprocess.Popen(
        [exe, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--dir", tmp],
        stdout=subprocess.DEVNULL,
    )
    deadline = time.time() + 10
    while True:
        try:
            c = resp.Client("127.0.0.1", port)
            c.call("PING")
            return proc, c, tmp
        except OSError:
            if time.time() > deadline or proc.poll() is not None:
                proc.kill()
                sys.exit("redis-server did not start")
            time.sleep(0.05)


def fetch(client):
    client.call("HELLO", "3")
    version = client.call("INFO", "server")
    ver = next(
        line.split(":", 1)[1].strip()
        for line in version.splitlines()
        if line.startswith("redis_version:")
    )
    return ver, client.call("COMMAND"), client.call("COMMAND", "DOCS")


# ---------------------------------------------------------------------------
# Rust emission.
# ---------------------------------------------------------------------------
def rs(s):
    out = ['"']
    for ch in s:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch == "\n":
            out.append("\\n")
        elif ch == "\t":
            out.append("\\t")
        elif ord(ch) < 0x20:
            out.append("\\u{%x}" % ord(ch))
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


def rs_strs(items):
    return "&[" + ", ".join(rs(x) for x in items) + "]"


FLAG_CONST = {
    "write": "WRITE", "readonly": "READONLY", "denyoom": "DENYOOM", "admin": "ADMIN",
    "pubsub": "PUBSUB", "noscript": "NOSCRIPT", "blocking": "BLOCKING",
    "loading": "LOADING", "stale": "STALE", "skip_monitor": "SKIP_MONITOR",
    "skip_slowlog": "SKIP_SLOWLOG", "asking": "ASKING", "fast": "FAST",
    "no_auth": "NO_AUTH", "no_mandatory_keys": "NO_MANDATORY_KEYS",
    "no_async_loading": "NO_ASYNC_LOADING", "no_multi": "NO_MULTI",
    "movablekeys": "MOVABLE_KEYS", "allow_busy": "ALLOW_BUSY",
}

ARG_KINDS = {
    "key", "string", "integer", "double", "pattern", "unix-time", "pure-token",
    "oneof", "block",
}


def tandem_flags(full, redis_flags):
    out = []
    readonly = "readonly" in redis_flags
    blocking = "blocking" in redis_flags
    stateful = full in STATEFUL or blocking
    if full in IDEMPOTENT_WRITES or full in IDEMPOTENT_HARMLESS or (
        readonly and not blocking and not stateful
    ):
        out.append("IDEMPOTENT")
    if stateful:
        out.append("STATEFUL")
    if full in MAY_REPLICATE:
        out.append("MAY_REPLICATE")
    return out


def flags_expr(full, redis_flags):
    names = []
    for f in redis_flags:
        if f not in FLAG_CONST:
            sys.exit(f"unknown flag {f!r} on {full}")
        names.append(FLAG_CONST[f])
    names += tandem_flags(full, redis_flags)
    return " | ".join(names) if names else "0"


def emit_args(args, indent):
    if not args:
        return "&[]"
    pad = " " * indent
    lines = ["&["]
    for a in args:
        kind = a["type"]
        if kind not in ARG_KINDS:
            sys.exit(f"unknown argument type {kind!r}")
        fl = a.get("flags", [])
        bits = []
        if "optional" in fl:
            bits.append("ARG_OPT")
        if "multiple" in fl:
            bits.append("ARG_MULTI")
        if "multiple_token" in fl:
            bits.append("ARG_MULTI_TOKEN")
        unknown = set(fl) - {"optional", "multiple", "multiple_token"}
        if unknown:
            sys.exit(f"unknown argument flags {unknown}")
        call = "arg({}, {}, {}, {}, {}, {}, {}, {})".format(
            rs(a["name"]),
            rs(kind),
            rs(a.get("token", "")),
            " | ".join(bits) if bits else "0",
            a.get("key_spec_index", -1),
            rs(a.get("since", "")),
            rs(a.get("deprecated_since", "")),
            emit_args(a.get("arguments", []), indent + 4),
        )
        lines.append(f"{pad}    {call},")
    lines.append(f"{pad}]")
    return "\n".join(lines)


def emit_key_spec(ks):
    bs, fk = ks["begin_search"], ks["find_keys"]
    if bs["type"] == "index":
        b = "BeginSearch::Index({})".format(bs["spec"]["index"])
    elif bs["type"] == "keyword":
        b = "BeginSearch::Keyword {{ keyword: {}, start_from: {} }}".format(
            rs(bs["spec"]["keyword"]), bs["spec"]["startfrom"])
    else:
        b = "BeginSearch::Unknown"
    if fk["type"] == "range":
        s = fk["spec"]
        f = "FindKeys::Range {{ last_key: {}, key_step: {}, limit: {} }}".format(
            s["lastkey"], s["keystep"], s["limit"])
    elif fk["type"] == "keynum":
        s = fk["spec"]
        f = "FindKeys::Keynum {{ keynum_idx: {}, first_key: {}, key_step: {} }}".format(
            s["keynumidx"], s["firstkey"], s["keystep"])
    else:
        f = "FindKeys::Unknown"
    return "KeySpec {{ notes: {}, flags: {}, begin_search: {}, find_keys: {} }}".format(
        rs(ks.get("notes", "")), rs_strs(ks["flags"]), b, f)


class Cmd:
    """One command or subcommand, merged from COMMAND and COMMAND DOCS."""

    def __init__(self, info, docs):
        self.full = info[0]
        self.name = self.full.split("|")[-1]
        (_, self.arity, self.flags, self.first, self.last, self.step,
         self.acl, self.tips, self.key_specs, subs) = info
        self.docs = docs
        self.id = None
        sub_docs = docs.get("subcommands", {})
        self.subs = sorted(
            (Cmd(s, sub_docs.get(s[0], {})) for s in subs), key=lambda c: c.name)
        if len(self.name) > MAX_NAME_LEN:
            sys.exit(f"name longer than {MAX_NAME_LEN}: {self.full}")

    @property
    def ident(self):
        return "CMD_" + self.full.upper().replace("|", "_").replace("-", "_")

    @property
    def subs_ident(self):
        return self.ident + "_SUBCOMMANDS"

    def emit(self, indent=0):
        d = self.docs
        pad = " " * indent
        history = ", ".join(f"({rs(v)}, {rs(t)})" for v, t in d.get("history", []))
        ks = ",\n".join(f"{pad}        " + emit_key_spec(k) for k in self.key_specs)
        ks = f"&[\n{ks},\n{pad}    ]" if self.key_specs else "&[]"
        subs = f"&{self.subs_ident}" if self.subs else "&[]"
        fields = [
            ("id", str(self.id)),
            ("name", rs(self.name)),
            ("full_name", rs(self.full)),
            ("arity", str(self.arity)),
            ("flags", flags_expr(self.full, self.flags)),
            ("first_key", str(self.first)),
            ("last_key", str(self.last)),
            ("step", str(self.step)),
            ("acl_categories", rs_strs(self.acl)),
            ("tips", rs_strs(self.tips)),
            ("key_specs", ks),
            ("group", rs(d.get("group", ""))),
            ("since", rs(d.get("since", ""))),
            ("summary", rs(d.get("summary", ""))),
            ("complexity", rs(d.get("complexity", ""))),
            ("doc_flags", rs_strs(d.get("doc_flags", []))),
            ("deprecated_since", rs(d.get("deprecated_since", ""))),
            ("replaced_by", rs(d.get("replaced_by", ""))),
            ("history", f"&[{history}]"),
            ("args", emit_args(d.get("arguments", []), indent + 4)),
            ("subcommands", subs),
        ]
        body = "\n".join(f"{pad}    {k}: {v}," for k, v in fields)
        return f"{pad}CommandSpec {{\n{body}\n{pad}}}"


HEADER = """// @generated by tools/gen-commands/gen_commands.py from redis-server {ver}
// (COMMAND and COMMAND DOCS) plus Tandem's own flags and commands.
// DO NOT EDIT: change the generator and run, from the repository root,
//     python3 tools/gen-commands/gen_commands.py
"""


def group_mod(group):
    return group.replace("-", "_")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def generate(ver, info, docs, out_dir):
    cmds = []
    for e in info:
        d = docs.get(e[0], {})
        if d.get("group") in EXCLUDED_GROUPS or e[0] in EXCLUDED_COMMANDS:
            continue
        cmds.append(Cmd(e, d))
    tinfo, tdocs = tandem_commands()
    cmds.append(Cmd(tinfo, tdocs))
    cmds.sort(key=lambda c: c.name)
    names = [c.name for c in cmds]
    if len(set(names)) != len(names):
        sys.exit("duplicate command names")

    # Dense ids: top-level commands first, in table order (so a command's id is
    # its index in COMMANDS), then subcommands grouped by parent.
    next_id = 0
    for c in cmds:
        c.id = next_id
        next_id += 1
    for c in cmds:
        for s in c.subs:
            s.id = next_id
            next_id += 1
    if next_id > 0xFFFF:
        sys.exit("too many commands for a u16 id")

    groups = {}
    for c in cmds:
        groups.setdefault(c.docs["group"], []).append(c)

    if os.path.isdir(out_dir):
        for f in os.listdir(out_dir):
            if f.endswith(".rs"):
                os.remove(os.path.join(out_dir, f))
    os.makedirs(out_dir, exist_ok=True)

    header = HEADER.format(ver=ver)
    for group, members in sorted(groups.items()):
        parts = [
            header,
            f"//! Commands of the `{group}` group.\n",
            "use crate::gen_prelude::*;\n",
        ]
        for c in members:
            parts.append(f"pub(crate) const {c.ident}: CommandSpec = {c.emit().lstrip()};\n")
            if c.subs:
                body = ",\n".join(s.emit(4) for s in c.subs)
                parts.append(
                    f"pub(crate) static {c.subs_ident}: [CommandSpec; {len(c.subs)}] = [\n"
                    f"{body},\n];\n")
        write(os.path.join(out_dir, group_mod(group) + ".rs"), "\n".join(parts))

    mods = "\n".join(f"mod {group_mod(g)};" for g in sorted(groups))
    table = "\n".join(f"    {group_mod(c.docs['group'])}::{c.ident}," for c in cmds)
    by_id = [f"    &COMMANDS[{c.id}]," for c in cmds]
    for c in cmds:
        for i, s in enumerate(c.subs):
            by_id.append(f"    &{group_mod(c.docs['group'])}::{c.subs_ident}[{i}],")
    arms = "\n".join(
        "        [{}] => {},".format(", ".join(f"b'{ch}'" for ch in c.name), c.id)
        for c in cmds)
    mod = f"""{header}
//! The generated table: one file per command group, the sorted top-level table,
//! the id index and the name lookup.

{mods}

use crate::CommandSpec;

/// Longest command name `lookup` can match; longer names are unknown.
pub const MAX_NAME_LEN: usize = {MAX_NAME_LEN};

/// Number of ids: top-level commands and subcommands.
pub const ID_COUNT: usize = {next_id};

/// Top-level commands, sorted by name; `COMMANDS[i].id == i`.
pub static COMMANDS: [CommandSpec; {len(cmds)}] = [
{table}
];

/// Every command and subcommand, indexed by id.
pub static BY_ID: [&CommandSpec; ID_COUNT] = [
{chr(10).join(by_id)}
];

/// Case-insensitive lookup without allocating: the name is lower-cased into a
/// stack buffer, then matched with slice patterns, which the compiler turns into
/// a decision tree on length and bytes (no string comparisons in sequence).
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {{
    if name.len() > MAX_NAME_LEN {{
        return None;
    }}
    let mut buf = [0u8; MAX_NAME_LEN];
    let lower = &mut buf[..name.len()];
    lower.copy_from_slice(name);
    lower.make_ascii_lowercase();
    let id: usize = match &*lower {{
{arms}
        _ => return None,
    }};
    Some(&COMMANDS[id])
}}
"""
    write(os.path.join(out_dir, "mod.rs"), mod)
    return cmds




def read_tree(d):
    return {
        f: open(os.path.join(d, f)).read()
        for f in sorted(os.listdir(d))
        if f.endswith(".rs")
    } if os.path.isdir(d) else {}


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--port", type=int, help="ask a running redis-server on this port")
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--check", action="store_true",
                    help="do not write; exit 1 if the checked-in table is stale")
    opts = ap.parse_args()
    proc = tmp = None
    if opts.port:
        client = resp.Client(opts.host, opts.port)
    else:
        proc, client, tmp = start_server()
    try:
        ver, info, docs = fetch(client)
    finally:
        client.close()
        if proc:
            proc.terminate()
            proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)
    if not ver.startswith("7.0."):
        print(f"warning: redis-server {ver}, Tandem targets 7.0", file=sys.stderr)
    if opts.check:
        with tempfile.TemporaryDirectory() as out:
            generate(ver, info, docs, out)
            fresh, current = read_tree(out), read_tree(OUT_DIR)
        stale = sorted(f for f in set(fresh) | set(current) if fresh.get(f) != current.get(f))
        if stale:
            sys.exit("stale generated files: " + ", ".join(stale))
        print("command table is up to date")
        return
    cmds = generate(ver, info, docs, OUT_DIR)
    print(f"{len(cmds)} commands, {sum(len(c.subs) for c in cmds)} subcommands -> {OUT_DIR}")


if __name__ == "__main__":
    main()
