//! A small harness for the string, bit and HyperLogLog command tests: one store,
//! commands given as argument lists, replies compared as raw RESP text.

use bytes::Bytes;
use tandem_resp::reply::Proto;
use tandem_resp::ReplyBuf;

use crate::exec::Exec;
use crate::keyspace::{Store, StoreConfig};

pub struct T {
    pub store: Store,
    pub now: i64,
    pub proto: Proto,
}

impl T {
    pub fn new() -> Self {
        T {
            store: Store::new(StoreConfig::default()),
            now: 1_700_000_000_000,
            proto: Proto::Resp2,
        }
    }

    /// Runs one command given as raw arguments; returns the reply as (lossy) text.
    pub fn run(&mut self, args: &[&[u8]]) -> String {
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let name = String::from_utf8_lossy(&args[0]).to_lowercase();
        let h = crate::cmd::all()
            .find(|(n, _)| *n == name)
            .map(|(_, h)| h)
            .unwrap_or_else(|| panic!("no handler for {name}"));
        let mut out = ReplyBuf::new(self.proto);
        let mut exec = Exec::new(&mut self.store, 0, &mut out, self.now);
        if let Err(e) = h(&mut exec, &args) {
            assert!(out.is_empty(), "handler wrote a reply and then failed");
            out.error(&e.text());
        }
        String::from_utf8_lossy(out.as_bytes()).into_owned()
    }

    /// Runs a command given as whitespace-separated words.
    pub fn cmd(&mut self, line: &str) -> String {
        let words: Vec<&[u8]> = line.split_whitespace().map(str::as_bytes).collect();
        self.run(&words)
    }

    /// The arguments propagated since the last call, each joined by spaces.
    pub fn take_prop(&mut self) -> Vec<String> {
        self.store
            .prop
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

    /// OBJECT ENCODING of a key.
    pub fn encoding(&mut self, key: &str) -> &'static str {
        let cfg = self.store.config.clone();
        match self.store.dbs[0].dict.get(key.as_bytes()) {
            Some(e) => e.value.encoding(&cfg),
            None => "none",
        }
    }
}
