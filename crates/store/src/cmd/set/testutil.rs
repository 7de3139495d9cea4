//! Test driver for the set and sorted-set handlers: runs one command against a
//! store and returns the raw RESP bytes.

use bytes::Bytes;
use tandem_resp::{Proto, ReplyBuf};

use crate::exec::Exec;
use crate::keyspace::{Store, StoreConfig};

pub const NOW: i64 = 1_700_000_000_000;

pub fn store() -> Store {
    Store::new(StoreConfig::default())
}

fn handler(name: &[u8]) -> crate::exec::Handler {
    let lname = String::from_utf8_lossy(name).to_lowercase();
    super::COMMANDS
        .iter()
        .chain(crate::cmd::zset::COMMANDS.iter())
        .find(|(n, _)| *n == lname)
        .map(|(_, h)| *h)
        .unwrap_or_else(|| panic!("no handler {lname}"))
}

/// Runs `line` (split on spaces) with `proto`; returns the reply text.
pub fn run_p(st: &mut Store, proto: Proto, line: &str) -> String {
    let args: Vec<Bytes> = line
        .split(' ')
        .map(|a| Bytes::copy_from_slice(a.as_bytes()))
        .collect();
    run_args(st, proto, &args)
}

pub fn run_args(st: &mut Store, proto: Proto, args: &[Bytes]) -> String {
    let h = handler(&args[0]);
    let mut out = ReplyBuf::new(proto);
    let mut ex = Exec::new(st, 0, &mut out, NOW);
    ex.run(h, args);
    String::from_utf8_lossy(out.as_bytes()).into_owned()
}

/// RESP2.
pub fn run(st: &mut Store, line: &str) -> String {
    run_p(st, Proto::Resp2, line)
}

/// RESP3.
pub fn run3(st: &mut Store, line: &str) -> String {
    run_p(st, Proto::Resp3, line)
}

/// Drains the propagation queue as space-joined lines.
pub fn props(st: &mut Store) -> Vec<String> {
    st.prop
        .drain(..)
        .map(|p| {
            p.args
                .iter()
                .map(|a| String::from_utf8_lossy(a).into_owned())
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect()
}
