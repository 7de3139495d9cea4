//! The table itself. (Placeholder with a few entries; the command-table helper
//! generates the full table.)

use crate::flags::*;
use crate::CommandSpec;

macro_rules! cmd {
    ($name:literal, $arity:expr, $flags:expr, $first:expr, $last:expr, $step:expr, $group:literal) => {
        CommandSpec {
            name: $name,
            arity: $arity,
            flags: $flags,
            first_key: $first,
            last_key: $last,
            step: $step,
            group: $group,
            since: "1.0.0",
            summary: "",
            complexity: "",
            args: &[],
            subcommands: &[],
        }
    };
}

pub static COMMANDS: &[CommandSpec] = &[
    cmd!("get", 2, READONLY | FAST, 1, 1, 1, "string"),
    cmd!("ping", -1, FAST | STALE, 0, 0, 0, "connection"),
    cmd!("set", -3, WRITE | DENYOOM, 1, 1, 1, "string"),
];

pub fn lookup(name: &[u8]) -> Option<&'static CommandSpec> {
    COMMANDS
        .iter()
        .find(|c| c.name.as_bytes().eq_ignore_ascii_case(name))
}
