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

/// Differential helper: runs the commands of `$SZ_DIFF_IN` (one per line, `#3 `
/// prefix = RESP3) and writes each reply hex-encoded to `$SZ_DIFF_OUT`, for
/// comparison with a real redis-server. Run by hand with `--ignored`.
#[test]
#[ignore]
fn diff_dump() {
    let (Ok(inp), Ok(outp)) = (std::env::var("SZ_DIFF_IN"), std::env::var("SZ_DIFF_OUT")) else {
        return;
    };
    let text = std::fs::read_to_string(inp).expect("input");
    let mut st = store();
    let mut lines = Vec::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let (proto, cmd) = match line.strip_prefix("#3 ") {
            Some(c) => (Proto::Resp3, c),
            None => (Proto::Resp2, line),
        };
        let r = run_p(&mut st, proto, cmd.trim());
        lines.push(r.bytes().map(|b| format!("{b:02x}")).collect::<String>());
    }
    std::fs::write(outp, lines.join("\n")).expect("write");
}
