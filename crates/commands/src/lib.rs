//! The one command table. Server (arity checks, refusing writes on replicas,
//! COMMAND replies, INFO commandstats), proxy (routing, replay safety) and
//! monitor all read it; nothing else keeps a list of commands.
//!
//! The table is generated from a real redis-server 7.0 by
//! `tools/gen-commands/gen_commands.py` (see `table/mod.rs`); this file holds the
//! types and the logic over them.

pub mod command_reply;
pub mod flags;
mod gen_prelude;
mod keys;
// Generated and laid out by the generator, one entry per line.
#[rustfmt::skip]
mod table;

pub use flags::*;
pub use table::{ID_COUNT, MAX_NAME_LEN};

/// Everything known about a command (or a subcommand) except its implementation.
#[derive(Debug)]
pub struct CommandSpec {
    /// Dense index over commands and subcommands: `by_id(spec.id)` is `spec`.
    /// Top-level commands come first, so for them `id` is the index in `all()`.
    /// Servers keep per-command data (handlers, INFO commandstats) in a Vec of
    /// `ID_COUNT` entries.
    pub id: u16,
    /// Lower-case name (for subcommands, the subcommand alone, e.g. "getname").
    pub name: &'static str,
    /// Name as COMMAND INFO and INFO commandstats print it ("client|getname").
    pub full_name: &'static str,
    /// Redis arity: `n` = exactly n arguments including the name; `-n` = at least n.
    pub arity: i32,
    /// Bit set of the `flags` constants.
    pub flags: u64,
    /// Legacy key positions (1-based; 0 = no keys; negative last = from the end).
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// ACL categories as COMMAND INFO prints them ("@write", "@string", ...).
    pub acl_categories: &'static [&'static str],
    /// Command tips as COMMAND INFO prints them ("nondeterministic_output", ...).
    pub tips: &'static [&'static str],
    /// Redis 7 key specifications, used by `get_keys` and COMMAND INFO.
    pub key_specs: &'static [KeySpec],
    /// Command group as in COMMAND DOCS ("string", "list", "server", ...).
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    /// COMMAND DOCS doc_flags ("deprecated", "syscmd").
    pub doc_flags: &'static [&'static str],
    /// "" when not deprecated.
    pub deprecated_since: &'static str,
    /// "" when not deprecated.
    pub replaced_by: &'static str,
    /// (version, change) pairs, oldest first, as COMMAND DOCS prints them.
    pub history: &'static [(&'static str, &'static str)],
    /// Arguments in order, for COMMAND DOCS and redis-cli hints.
    pub args: &'static [ArgSpec],
    /// Subcommands sorted by name; empty unless this is a container (CLIENT...).
    pub subcommands: &'static [CommandSpec],
}

/// One argument of a command, as COMMAND DOCS describes it.
#[derive(Debug)]
pub struct ArgSpec {
    pub name: &'static str,
    /// "key", "string", "integer", "double", "pattern", "unix-time", "pure-token",
    /// "oneof", "block".
    pub kind: &'static str,
    pub token: Option<&'static str>,
    pub optional: bool,
    pub multiple: bool,
    /// The token repeats with each value (`... [GET pattern [GET pattern ...]]`).
    pub multiple_token: bool,
    /// Index into the command's `key_specs` for "key" arguments, else -1.
    pub key_spec_index: i32,
    /// "" when the argument is as old as the command.
    pub since: &'static str,
    /// "" when not deprecated.
    pub deprecated_since: &'static str,
    /// Nested arguments of a "oneof" or "block".
    pub args: &'static [ArgSpec],
}

/// A Redis 7 key specification: where the key arguments start and how many follow.
#[derive(Debug)]
pub struct KeySpec {
    /// "" when Redis gives no notes.
    pub notes: &'static str,
    /// "RW", "RO", "OW", "RM", "access", "update", "insert", "delete",
    /// "not_key", "incomplete", "variable_flags".
    pub flags: &'static [&'static str],
    pub begin_search: BeginSearch,
    pub find_keys: FindKeys,
}

#[derive(Debug)]
pub enum BeginSearch {
    /// Keys start at this argument index (the name is index 0).
    Index(i32),
    /// Keys start after this token, searched from `start_from` (negative: from
    /// the end, backwards).
    Keyword {
        keyword: &'static str,
        start_from: i32,
    },
    Unknown,
}

#[derive(Debug)]
pub enum FindKeys {
    /// Keys run from the start up to `last_key` (relative to the start;
    /// negative: from the end, -1 the last argument), every `key_step`; a
    /// non-zero `limit` with a negative last_key keeps 1/limit of the rest.
    Range {
        last_key: i32,
        key_step: i32,
        limit: i32,
    },
    /// The argument `keynum_idx` after the start holds the number of keys,
    /// which begin `first_key` after the start, every `key_step`.
    Keynum {
        keynum_idx: i32,
        first_key: i32,
        key_step: i32,
    },
    Unknown,
}

impl CommandSpec {
    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }
    pub fn is_write(&self) -> bool {
        self.has(WRITE)
    }
    pub fn is_readonly(&self) -> bool {
        self.has(READONLY)
    }
    /// Safe for the proxy to replay after an unknown outcome (see
    /// `flags::IDEMPOTENT` for what the proxy must still check on the arguments).
    pub fn is_idempotent(&self) -> bool {
        self.has(IDEMPOTENT)
    }
    /// Changes or depends on connection state: a proxy pins the client.
    pub fn is_stateful(&self) -> bool {
        self.has(STATEFUL)
    }
    pub fn is_blocking(&self) -> bool {
        self.has(BLOCKING)
    }
    pub fn is_container(&self) -> bool {
        !self.subcommands.is_empty()
    }
    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= a.unsigned_abs() as usize)
    }
    /// Looks a subcommand up, case-insensitively. Not on the hot path (only
    /// containers such as CLIENT and CONFIG have subcommands, 20 at most).
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
    }
    /// The spec a request of this command runs as: its subcommand's for a
    /// container (when it has one by that name), else this one.
    pub fn resolve(&'static self, args: &[impl AsRef<[u8]>]) -> &'static CommandSpec {
        match args.get(1) {
            Some(sub) if self.is_container() => self.subcommand(sub.as_ref()).unwrap_or(self),
            _ => self,
        }
    }
    /// Positions of the key arguments in `argc` arguments (legacy key spec).
    pub fn key_positions(&self, argc: usize) -> impl Iterator<Item = usize> {
        let first = self.first_key.max(0) as usize;
        let last = if self.last_key < 0 {
            (argc as i64 + self.last_key as i64).max(0) as usize
        } else {
            self.last_key as usize
        };
        let step = self.step.max(1) as usize;
        let range = if first == 0 {
            1..1
        } else {
            first..(last.min(argc.saturating_sub(1)) + 1)
        };
        range.step_by(step)
    }
    /// Positions of the key arguments in a full argument list (`args[0]` is the
    /// command name; for a subcommand, pass the whole list, container name
    /// included), from the key specs, as COMMAND GETKEYS computes them.
    /// Handles the numkeys forms (ZUNIONSTORE, ZINTER, SINTERCARD, LMPOP,
    /// BLMPOP, ZMPOP, BZMPOP...). Shard channels (SSUBSCRIBE) are not keys.
    /// Empty when there are no keys or the arguments are invalid (a numkeys that
    /// is not a positive integer or names more keys than there are arguments);
    /// COMMAND GETKEYS then replies "ERR Invalid arguments specified for command".
    pub fn get_keys(&self, args: &[impl AsRef<[u8]>]) -> Vec<usize> {
        keys::get_keys(self, args)
            .into_iter()
            .map(|(i, _)| i)
            .collect()
    }
    /// Like `get_keys`, with each key's flags as COMMAND GETKEYSANDFLAGS prints
    /// them ("RW", "access", "update"...), resolved for the arguments where
    /// they depend on them (SET with GET, BITFIELD with SET/INCRBY).
    pub fn get_keys_and_flags(
        &self,
        args: &[impl AsRef<[u8]>],
    ) -> Vec<(usize, &'static [&'static str])> {
        keys::get_keys(self, args)
            .into_iter()
            .map(|(i, ks)| (i, keys::key_flags(self, ks, args)))
            .collect()
    }
    /// Names of the flags COMMAND INFO prints, in Redis's order.
    pub fn flag_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        flags::NAMES
            .iter()
            .filter(|(f, _)| self.flags & f != 0)
            .map(|(_, n)| *n)
    }
}

/// All top-level commands, sorted by name; `all()[i].id == i`.
pub fn all() -> &'static [CommandSpec] {
    &table::COMMANDS
}

/// Every command and subcommand, in id order.
pub fn all_with_subcommands() -> impl Iterator<Item = &'static CommandSpec> {
    table::BY_ID.iter().copied()
}

/// The command or subcommand with this id.
pub fn by_id(id: u16) -> Option<&'static CommandSpec> {
    table::BY_ID.get(id as usize).copied()
}

/// Dense index of a command or subcommand (same as `spec.id`).
pub fn index(spec: &CommandSpec) -> usize {
    spec.id as usize
}

/// Case-insensitive lookup of a top-level command. Does not allocate: it runs
/// on every request.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    table::lookup(name)
}

/// Resolves a request to the spec that governs it, as Redis does before the
/// arity check: for a container with at least two arguments, the subcommand
/// named by `args[1]`. Returns `None` for an unknown command; returns the
/// container itself when the subcommand is missing or unknown, so the caller
/// can reply the arity error or "ERR unknown subcommand" (check `is_container`).
pub fn lookup_args(args: &[impl AsRef<[u8]>]) -> Option<&'static CommandSpec> {
    Some(lookup(args.first()?.as_ref())?.resolve(args))
}

#[cfg(test)]
mod tests;
