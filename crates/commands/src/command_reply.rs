//! COMMAND and its subcommands (COUNT, LIST, INFO, DOCS, GETKEYS,
//! GETKEYSANDFLAGS, HELP), answered from the command table in Redis 7.0's reply
//! shapes. The server and the proxy both answer with it, each listing what it
//! serves (the proxy leaves out what it refuses, as Redis leaves out a command
//! renamed away). Order: the table's (by name), where Redis follows its hash
//! tables' order, which clients do not rely on.

use bytes::Bytes;
use tandem_resp::ReplyBuf;

use crate::{ArgSpec, BeginSearch, CommandSpec, FindKeys, KeySpec, NO_MANDATORY_KEYS};

const HELP: &[&str] = &[
    "COMMAND <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "(no subcommand)",
    "    Return details about all Redis commands.",
    "COUNT",
    "    Return the total number of commands in this Redis server.",
    "LIST",
    "    Return a list of all commands in this Redis server.",
    "INFO [<command-name> ...]",
    "    Return details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "DOCS [<command-name> ...]",
    "    Return documentation details about multiple Redis commands.",
    "    If no command names are given, documentation details for all",
    "    commands are returned.",
    "GETKEYS <full-command>",
    "    Return the keys from a full Redis command.",
    "GETKEYSANDFLAGS <full-command>",
    "    Return the keys and the access flags from a full Redis command.",
    "HELP",
    "    Prints this help.",
];

/// An endpoint's view of the table: the commands it serves.
struct Endpoint<'a> {
    serves: &'a dyn Fn(&CommandSpec) -> bool,
}

impl Endpoint<'_> {
    fn top(&self) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        crate::all().iter().filter(|s| (self.serves)(s))
    }

    fn subs(&self, s: &'static CommandSpec) -> impl Iterator<Item = &'static CommandSpec> + '_ {
        s.subcommands.iter().filter(|s| (self.serves)(s))
    }

    /// A command as COMMAND INFO and DOCS name it: "get", or "config|get".
    fn by_name(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        let spec = match name.iter().position(|&c| c == b'|') {
            None => crate::lookup(name)?,
            Some(i) => crate::lookup(&name[..i])?.subcommand(&name[i + 1..])?,
        };
        Some(spec).filter(|s| (self.serves)(s))
    }

    /// The command a full command line names (COMMAND GETKEYS): a container's
    /// subcommand must exist.
    fn by_args(&self, args: &[Bytes]) -> Option<&'static CommandSpec> {
        let spec = crate::lookup(args.first()?)?;
        let spec = match args.get(1) {
            Some(sub) if spec.is_container() => spec.subcommand(sub)?,
            _ => spec,
        };
        Some(spec).filter(|s| (self.serves)(s))
    }
}

/// Answers `COMMAND [subcommand ...]` (arity already checked) for an endpoint
/// that serves the commands `serves` accepts (for a container, its
/// subcommands are asked one by one); Err is the error reply's text.
pub fn reply(
    args: &[Bytes],
    o: &mut ReplyBuf,
    serves: &dyn Fn(&CommandSpec) -> bool,
) -> Result<(), String> {
    let e = &Endpoint { serves };
    let Some(sub) = args.get(1) else {
        let all: Vec<_> = e.top().collect();
        o.array(all.len());
        all.into_iter().for_each(|s| info(e, o, s));
        return Ok(());
    };
    let names = &args[2..];
    match sub.to_ascii_lowercase().as_slice() {
        b"count" => o.int(e.top().count() as i64),
        b"list" => list(e, names, o)?,
        b"info" if names.is_empty() => {
            let all: Vec<_> = e.top().collect();
            o.array(all.len());
            all.into_iter().for_each(|s| info(e, o, s));
        }
        b"info" => {
            o.array(names.len());
            for n in names {
                match e.by_name(n) {
                    Some(s) => info(e, o, s),
                    None => o.null(),
                }
            }
        }
        b"docs" => {
            let chosen: Vec<_> = if names.is_empty() {
                e.top().collect()
            } else {
                names.iter().filter_map(|n| e.by_name(n)).collect()
            };
            o.map(chosen.len());
            for s in chosen {
                o.bulk(s.full_name.as_bytes());
                docs(e, o, s);
            }
        }
        b"getkeys" => getkeys(e, names, o, false)?,
        b"getkeysandflags" => getkeys(e, names, o, true)?,
        b"help" => {
            o.array(HELP.len());
            HELP.iter().for_each(|l| o.simple(l));
        }
        _ => {
            let shown = String::from_utf8_lossy(&sub[..sub.len().min(128)]);
            let cmd = String::from_utf8_lossy(&args[0]).to_ascii_uppercase();
            return Err(format!("ERR unknown subcommand '{shown}'. Try {cmd} HELP."));
        }
    }
    Ok(())
}

/// One COMMAND INFO entry.
fn info(e: &Endpoint, o: &mut ReplyBuf, s: &'static CommandSpec) {
    o.array(10);
    o.bulk(s.full_name.as_bytes());
    o.int(i64::from(s.arity));
    let flags: Vec<_> = s.flag_names().collect();
    o.set(flags.len());
    flags.into_iter().for_each(|f| o.simple(f));
    o.int(i64::from(s.first_key));
    o.int(i64::from(s.last_key));
    o.int(i64::from(s.step));
    o.set(s.acl_categories.len());
    s.acl_categories.iter().for_each(|c| o.simple(c));
    o.set(s.tips.len());
    s.tips.iter().for_each(|t| o.bulk(t.as_bytes()));
    o.set(s.key_specs.len());
    s.key_specs.iter().for_each(|k| key_spec(o, k));
    let sub: Vec<_> = e.subs(s).collect();
    if sub.is_empty() {
        // Redis writes "no subcommands" as an empty set, a list as an array.
        o.set(0);
    } else {
        o.array(sub.len());
        sub.into_iter().for_each(|c| info(e, o, c));
    }
}

fn key_spec(o: &mut ReplyBuf, k: &KeySpec) {
    o.map(3 + usize::from(!k.notes.is_empty()));
    if !k.notes.is_empty() {
        o.bulk(b"notes");
        o.bulk(k.notes.as_bytes());
    }
    o.bulk(b"flags");
    o.set(k.flags.len());
    k.flags.iter().for_each(|f| o.simple(f));
    o.bulk(b"begin_search");
    o.map(2);
    o.bulk(b"type");
    match k.begin_search {
        BeginSearch::Index(i) => int_spec(o, b"index", &[(b"index", i64::from(i))]),
        BeginSearch::Keyword {
            keyword,
            start_from,
        } => {
            o.bulk(b"keyword");
            o.bulk(b"spec");
            o.map(2);
            o.bulk(b"keyword");
            o.bulk(keyword.as_bytes());
            o.bulk(b"startfrom");
            o.int(i64::from(start_from));
        }
        BeginSearch::Unknown => int_spec(o, b"unknown", &[]),
    }
    o.bulk(b"find_keys");
    o.map(2);
    o.bulk(b"type");
    match k.find_keys {
        FindKeys::Range {
            last_key,
            key_step,
            limit,
        } => int_spec(
            o,
            b"range",
            &[
                (b"lastkey", i64::from(last_key)),
                (b"keystep", i64::from(key_step)),
                (b"limit", i64::from(limit)),
            ],
        ),
        FindKeys::Keynum {
            keynum_idx,
            first_key,
            key_step,
        } => int_spec(
            o,
            b"keynum",
            &[
                (b"keynumidx", i64::from(keynum_idx)),
                (b"firstkey", i64::from(first_key)),
                (b"keystep", i64::from(key_step)),
            ],
        ),
        FindKeys::Unknown => int_spec(o, b"unknown", &[]),
    }
}

/// The `type` value and its `spec` map of integer fields, as a key spec's
/// begin_search and find_keys are written.
fn int_spec(o: &mut ReplyBuf, kind: &[u8], fields: &[(&[u8], i64)]) {
    o.bulk(kind);
    o.bulk(b"spec");
    o.map(fields.len());
    for &(name, v) in fields {
        o.bulk(name);
        o.int(v);
    }
}

/// One COMMAND DOCS entry (the value; the caller writes the name).
fn docs(e: &Endpoint, o: &mut ReplyBuf, s: &'static CommandSpec) {
    let sub: Vec<_> = e.subs(s).collect();
    let fields = [
        !s.summary.is_empty(),
        !s.since.is_empty(),
        true, // group
        !s.complexity.is_empty(),
        !s.doc_flags.is_empty(),
        !s.deprecated_since.is_empty(),
        !s.replaced_by.is_empty(),
        !s.history.is_empty(),
        !s.args.is_empty(),
        !sub.is_empty(),
    ];
    o.map(fields.iter().filter(|&&f| f).count());
    let text = |o: &mut ReplyBuf, name: &str, value: &str| {
        if !value.is_empty() {
            o.bulk(name.as_bytes());
            o.bulk(value.as_bytes());
        }
    };
    text(o, "summary", s.summary);
    text(o, "since", s.since);
    o.bulk(b"group");
    o.bulk(s.group.as_bytes());
    text(o, "complexity", s.complexity);
    if !s.doc_flags.is_empty() {
        o.bulk(b"doc_flags");
        o.set(s.doc_flags.len());
        s.doc_flags.iter().for_each(|f| o.simple(f));
    }
    text(o, "deprecated_since", s.deprecated_since);
    text(o, "replaced_by", s.replaced_by);
    if !s.history.is_empty() {
        o.bulk(b"history");
        o.set(s.history.len());
        for (version, change) in s.history {
            o.array(2);
            o.bulk(version.as_bytes());
            o.bulk(change.as_bytes());
        }
    }
    if !s.args.is_empty() {
        o.bulk(b"arguments");
        arg_list(o, s.args);
    }
    if !sub.is_empty() {
        o.bulk(b"subcommands");
        o.map(sub.len());
        for c in sub {
            o.bulk(c.full_name.as_bytes());
            docs(e, o, c);
        }
    }
}

fn arg_list(o: &mut ReplyBuf, args: &[ArgSpec]) {
    o.array(args.len());
    for a in args {
        let flags: Vec<&str> = [
            (a.optional, "optional"),
            (a.multiple, "multiple"),
            (a.multiple_token, "multiple_token"),
        ]
        .into_iter()
        .filter_map(|(on, name)| on.then_some(name))
        .collect();
        let nested = matches!(a.kind, "oneof" | "block");
        let fields = [
            a.key_spec_index >= 0,
            a.token.is_some(),
            !a.since.is_empty(),
            !a.deprecated_since.is_empty(),
            !flags.is_empty(),
            nested,
        ];
        o.map(2 + fields.iter().filter(|&&f| f).count());
        o.bulk(b"name");
        o.bulk(a.name.as_bytes());
        o.bulk(b"type");
        o.bulk(a.kind.as_bytes());
        if a.key_spec_index >= 0 {
            o.bulk(b"key_spec_index");
            o.int(i64::from(a.key_spec_index));
        }
        if let Some(t) = a.token {
            o.bulk(b"token");
            o.bulk(t.as_bytes());
        }
        if !a.since.is_empty() {
            o.bulk(b"since");
            o.bulk(a.since.as_bytes());
        }
        if !a.deprecated_since.is_empty() {
            o.bulk(b"deprecated_since");
            o.bulk(a.deprecated_since.as_bytes());
        }
        if !flags.is_empty() {
            o.bulk(b"flags");
            o.set(flags.len());
            flags.into_iter().for_each(|f| o.simple(f));
        }
        if nested {
            o.bulk(b"arguments");
            arg_list(o, a.args);
        }
    }
}

/// COMMAND LIST [FILTERBY MODULE name | ACLCAT category | PATTERN pattern].
fn list(e: &Endpoint, opts: &[Bytes], o: &mut ReplyBuf) -> Result<(), String> {
    let keep: Box<dyn Fn(&CommandSpec) -> bool> = match opts {
        [] => Box::new(|_| true),
        [by, kind, arg] if by.eq_ignore_ascii_case(b"FILTERBY") => {
            let arg = arg.clone();
            match kind.to_ascii_lowercase().as_slice() {
                // No modules here.
                b"module" => Box::new(|_| false),
                b"aclcat" => Box::new(move |s| {
                    s.acl_categories
                        .iter()
                        .any(|c| c.as_bytes()[1..].eq_ignore_ascii_case(&arg))
                }),
                b"pattern" => Box::new(move |s| glob(&arg, s.full_name.as_bytes())),
                _ => return Err("ERR syntax error".into()),
            }
        }
        _ => return Err("ERR syntax error".into()),
    };
    let mut names = Vec::new();
    for s in e.top() {
        if keep(s) {
            names.push(s.full_name.as_bytes());
        }
        names.extend(
            e.subs(s)
                .filter(|c| keep(c))
                .map(|c| c.full_name.as_bytes()),
        );
    }
    o.array(names.len());
    names.into_iter().for_each(|n| o.bulk(n));
    Ok(())
}

/// COMMAND GETKEYS / GETKEYSANDFLAGS on a full command line, with Redis's checks
/// in Redis's order.
fn getkeys(e: &Endpoint, line: &[Bytes], o: &mut ReplyBuf, with_flags: bool) -> Result<(), String> {
    let Some(spec) = e.by_args(line) else {
        return Err("ERR Invalid command specified".into());
    };
    if !spec.key_specs.iter().any(|k| !k.flags.contains(&"not_key")) {
        return Err("ERR The command has no key arguments".into());
    }
    if !spec.arity_ok(line.len()) {
        return Err("ERR Invalid number of arguments specified for command".into());
    }
    let keys = spec.get_keys_and_flags(line);
    if keys.is_empty() && !spec.has(NO_MANDATORY_KEYS) {
        return Err("ERR Invalid arguments specified for command".into());
    }
    o.array(keys.len());
    for (i, flags) in keys {
        if with_flags {
            o.array(2);
            o.bulk(&line[i]);
            o.set(flags.len());
            flags.iter().for_each(|f| o.simple(f));
        } else {
            o.bulk(&line[i]);
        }
    }
    Ok(())
}

/// Glob matching as Redis's COMMAND LIST PATTERN does it (case-insensitive):
/// `*`, `?`, `[abc]`, `[^a-z]`, `\x`.
fn glob(pattern: &[u8], name: &[u8]) -> bool {
    let same = |a: u8, b: u8| a.eq_ignore_ascii_case(&b);
    let (mut p, mut n) = (0, 0);
    // Where the last `*` was, and how much of the name it has taken: on a
    // mismatch it takes one byte more.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        let step = match pattern.get(p) {
            Some(b'*') => {
                star = Some((p, n));
                p += 1;
                continue;
            }
            Some(b'?') => Some(p + 1),
            Some(b'[') => class(pattern, p + 1, name[n]),
            Some(b'\\') if p + 1 < pattern.len() => same(pattern[p + 1], name[n]).then_some(p + 2),
            Some(&c) => same(c, name[n]).then_some(p + 1),
            None => None,
        };
        match (step, star) {
            (Some(next), _) => {
                p = next;
                n += 1;
            }
            (None, Some((sp, taken))) => {
                p = sp + 1;
                n = taken + 1;
                star = Some((sp, taken + 1));
            }
            (None, None) => return false,
        }
    }
    pattern[p.min(pattern.len())..].iter().all(|&c| c == b'*')
}

/// A `[...]` class starting after the `[` at `at`: the position after its `]`
/// if `c` is in it (an unclosed class runs to the end of the pattern).
fn class(pattern: &[u8], mut at: usize, c: u8) -> Option<usize> {
    let lower = c.to_ascii_lowercase();
    let negate = pattern.get(at) == Some(&b'^');
    if negate {
        at += 1;
    }
    let mut hit = false;
    while at < pattern.len() && pattern[at] != b']' {
        let mut lo = pattern[at];
        if lo == b'\\' && at + 1 < pattern.len() {
            at += 1;
            lo = pattern[at];
        }
        if pattern.get(at + 1) == Some(&b'-') && at + 2 < pattern.len() && pattern[at + 2] != b']' {
            let hi = pattern[at + 2].to_ascii_lowercase();
            let lo = lo.to_ascii_lowercase();
            let (a, b) = if lo <= hi { (lo, hi) } else { (hi, lo) };
            hit |= (a..=b).contains(&lower);
            at += 3;
        } else {
            hit |= lo.to_ascii_lowercase() == lower;
            at += 1;
        }
    }
    (hit != negate).then_some(at + 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_redis() {
        assert!(glob(b"config*", b"config|get"));
        assert!(glob(b"CONFIG|?ET", b"config|get"));
        assert!(glob(b"*|get", b"config|get"));
        assert!(!glob(b"*|get", b"config|set"));
        assert!(glob(b"[cd]onfig", b"config"));
        assert!(glob(b"[^a-b]onfig", b"config"));
        assert!(!glob(b"[a-b]onfig", b"config"));
        assert!(glob(b"c\\onfig", b"config"));
        assert!(glob(b"*", b""));
        assert!(!glob(b"", b"get"));
        assert!(glob(b"g*t*", b"getrange"));
    }

    /// An endpoint that refuses a few commands, as the proxy does.
    fn serves(s: &CommandSpec) -> bool {
        !["replicaof", "monitor", "config|set", "client|kill"].contains(&s.full_name)
    }

    fn run(words: &[&str]) -> Result<Vec<u8>, String> {
        let args: Vec<Bytes> = words.iter().map(|w| Bytes::from(w.to_string())).collect();
        let mut o = ReplyBuf::small(tandem_resp::Proto::Resp2);
        reply(&args, &mut o, &serves).map(|()| o.take().to_vec())
    }

    #[test]
    fn refused_commands_are_not_listed() {
        let count = run(&["COMMAND", "COUNT"]).expect("count");
        let n: usize = std::str::from_utf8(&count[1..count.len() - 2])
            .expect("utf8")
            .parse()
            .expect("int");
        assert_eq!(n, crate::all().iter().filter(|s| serves(s)).count());
        assert!(n > 150, "{n}");
        let list = run(&["COMMAND", "LIST"]).expect("list");
        let text = String::from_utf8_lossy(&list);
        assert!(text.contains("\r\nconfig|get\r\n"));
        for gone in ["replicaof", "monitor", "config|set", "client|kill"] {
            assert!(!text.contains(&format!("\r\n{gone}\r\n")), "{gone} listed");
        }
        assert_eq!(
            run(&["COMMAND", "INFO", "monitor"]).expect("info"),
            b"*1\r\n$-1\r\n"
        );
    }

    #[test]
    fn getkeys_checks_in_redis_order() {
        assert_eq!(
            run(&["COMMAND", "GETKEYS", "nosuch", "a"]),
            Err("ERR Invalid command specified".into())
        );
        assert_eq!(
            run(&["COMMAND", "GETKEYS", "ping", "x"]),
            Err("ERR The command has no key arguments".into())
        );
        assert_eq!(
            run(&["COMMAND", "GETKEYS", "get", "a", "b"]),
            Err("ERR Invalid number of arguments specified for command".into())
        );
        assert_eq!(
            run(&["COMMAND", "GETKEYS", "zunionstore", "d", "x", "a"]),
            Err("ERR Invalid arguments specified for command".into())
        );
        assert_eq!(
            run(&["COMMAND", "GETKEYS", "zunionstore", "d", "2", "a", "b"]).expect("keys"),
            b"*3\r\n$1\r\nd\r\n$1\r\na\r\n$1\r\nb\r\n"
        );
    }
}
