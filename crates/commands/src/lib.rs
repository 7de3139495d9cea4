//! The one command table. Server (arity checks, refusing writes on replicas,
//! COMMAND replies), proxy (routing, replay safety) and monitor all read it;
//! nothing else keeps a list of commands.

pub mod flags;
mod table;

pub use flags::*;

/// Everything known about a command (or a subcommand) except its implementation.
#[derive(Debug)]
pub struct CommandSpec {
    /// Lower-case name (for subcommands, the subcommand alone, e.g. "getname").
    pub name: &'static str,
    /// Redis arity: `n` = exactly n arguments including the name; `-n` = at least n.
    pub arity: i32,
    /// Bit set of the `flags` constants.
    pub flags: u64,
    /// Legacy key positions (1-based; 0 = no keys; negative last = from the end).
    pub first_key: i32,
    pub last_key: i32,
    pub step: i32,
    /// Command group as in COMMAND DOCS ("string", "list", "server", ...).
    pub group: &'static str,
    pub since: &'static str,
    pub summary: &'static str,
    pub complexity: &'static str,
    /// Argument names in order, for COMMAND DOCS and redis-cli hints.
    pub args: &'static [ArgSpec],
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
}

impl CommandSpec {
    pub fn has(&self, flag: u64) -> bool {
        self.flags & flag != 0
    }
    /// Whether `argc` arguments (name included) satisfy the arity.
    pub fn arity_ok(&self, argc: usize) -> bool {
        let a = self.arity;
        (a >= 0 && argc == a as usize) || (a < 0 && argc >= (-a) as usize)
    }
    /// Looks a subcommand up, case-insensitively.
    pub fn subcommand(&self, name: &[u8]) -> Option<&'static CommandSpec> {
        self.subcommands
            .iter()
            .find(|s| s.name.as_bytes().eq_ignore_ascii_case(name))
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
}

/// All commands, sorted by name.
pub fn all() -> &'static [CommandSpec] {
    table::COMMANDS
}

/// Case-insensitive lookup of a top-level command.
pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    table::lookup(name)
}
