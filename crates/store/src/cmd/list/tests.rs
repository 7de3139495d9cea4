//! List command tests, driving the handlers directly. Expected bytes were taken from
//! a real redis-server 7.0.15.

use bytes::Bytes;
use tandem_resp::{Proto, ReplyBuf};

use super::COMMANDS;
use crate::exec::{BlockRequest, Exec};
use crate::keyspace::{Store, StoreConfig};
use crate::types::hash::Hash;
use crate::value::Value;

const NOW: i64 = 1_000_000;

struct Outcome {
    reply: Vec<u8>,
    block: Option<BlockRequest>,
    propagated: bool,
}

struct T {
    store: Store,
    proto: Proto,
}

impl T {
    fn new() -> Self {
        T {
            store: Store::new(StoreConfig::default()),
            proto: Proto::Resp2,
        }
    }

    fn exec(&mut self, args: &[&[u8]], in_multi: bool, woken: bool) -> Outcome {
        let name = String::from_utf8_lossy(args[0]).to_lowercase();
        let h = COMMANDS
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, h)| *h)
            .unwrap_or_else(|| panic!("no handler for {name}"));
        let args: Vec<Bytes> = args.iter().map(|a| Bytes::copy_from_slice(a)).collect();
        let mut out = ReplyBuf::new(self.proto);
        let mut ex = Exec::new(&mut self.store, 0, &mut out, NOW);
        ex.in_multi = in_multi;
        ex.woken = woken;
        ex.run(h, &args);
        let (block, propagated) = (ex.block.take(), ex.propagated);
        Outcome {
            reply: out.as_bytes().to_vec(),
            block,
            propagated,
        }
    }

    fn run(&mut self, args: &[&[u8]]) -> Vec<u8> {
        self.exec(args, false, false).reply
    }

    /// Runs and asserts the exact reply.
    fn ok(&mut self, args: &[&[u8]], want: &[u8]) {
        let got = self.run(args);
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(want),
            "for {:?}",
            args.iter()
                .map(|a| String::from_utf8_lossy(a))
                .collect::<Vec<_>>()
        );
    }

    fn exists(&mut self, key: &[u8]) -> bool {
        self.store.peek(0, key, NOW).is_some()
    }

    fn make_hash(&mut self, key: &[u8]) {
        self.store
            .set_key(0, key, Value::Hash(Hash::new()), false, NOW);
    }

    fn prop(&mut self) -> Vec<Vec<u8>> {
        let p = self.store.prop.pop().map(|p| p.args).unwrap_or_default();
        self.store.prop.clear();
        p.into_iter().map(|b| b.to_vec()).collect()
    }
}

const WRONGTYPE: &[u8] = b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

#[test]
fn push_range_binary_safe() {
    let mut t = T::new();
    t.ok(&[b"RPUSH", b"l", b"a\0b", b"\r\n"], b":2\r\n");
    t.ok(&[b"LPUSH", b"l", b"x", b"y"], b":4\r\n");
    t.ok(
        &[b"LRANGE", b"l", b"0", b"-1"],
        b"*4\r\n$1\r\ny\r\n$1\r\nx\r\n$3\r\na\0b\r\n$2\r\n\r\n\r\n",
    );
    t.ok(
        &[b"LRANGE", b"l", b"-100", b"100"],
        b"*4\r\n$1\r\ny\r\n$1\r\nx\r\n$3\r\na\0b\r\n$2\r\n\r\n\r\n",
    );
    t.ok(&[b"LRANGE", b"l", b"5", b"1"], b"*0\r\n");
    t.ok(&[b"LRANGE", b"l", b"-2", b"-2"], b"*1\r\n$3\r\na\0b\r\n");
    t.ok(
        &[b"LRANGE", b"nokey", b"a", b"1"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.ok(&[b"LRANGE", b"nokey", b"0", b"1"], b"*0\r\n");
    t.ok(&[b"LLEN", b"l"], b":4\r\n");
    t.ok(&[b"LLEN", b"nokey"], b":0\r\n");
    assert_eq!(t.store.dirty, 4);
}

#[test]
fn pushx_and_wrongtype() {
    let mut t = T::new();
    t.ok(&[b"LPUSHX", b"l", b"a"], b":0\r\n");
    t.ok(&[b"RPUSHX", b"l", b"a"], b":0\r\n");
    assert!(!t.exists(b"l"));
    t.ok(&[b"RPUSH", b"l", b"a"], b":1\r\n");
    t.ok(&[b"RPUSHX", b"l", b"b", b"c"], b":3\r\n");
    t.make_hash(b"h");
    t.ok(&[b"LPUSH", b"h", b"a"], WRONGTYPE);
    t.ok(&[b"LPUSHX", b"h", b"a"], WRONGTYPE);
    t.ok(&[b"LLEN", b"h"], WRONGTYPE);
    t.ok(&[b"LPOP", b"h"], WRONGTYPE);
    t.ok(&[b"LRANGE", b"h", b"0", b"1"], WRONGTYPE);
}

#[test]
fn push_touches_for_blocked_clients() {
    let mut t = T::new();
    t.store.blocking.insert((0, Box::from(&b"l"[..])), 1);
    t.run(&[b"RPUSH", b"l", b"a"]);
    assert!(t.store.ready.iter().any(|(d, k)| *d == 0 && &**k == b"l"));
    t.store.ready.clear();
    t.run(&[b"LPUSHX", b"l", b"b"]);
    assert!(!t.store.ready.is_empty());
    // Moving into a new destination wakes its waiters exactly once.
    t.store.ready.clear();
    t.store.blocking.insert((0, Box::from(&b"dst"[..])), 1);
    t.run(&[b"LMOVE", b"l", b"dst", b"LEFT", b"LEFT"]);
    let hits = t.store.ready.iter().filter(|(_, k)| &**k == b"dst").count();
    assert_eq!(hits, 1);
}

#[test]
fn pop_with_and_without_count() {
    let mut t = T::new();
    t.ok(&[b"RPUSH", b"l", b"a", b"b", b"c"], b":3\r\n");
    t.ok(&[b"LPOP", b"l", b"0"], b"*0\r\n");
    t.ok(&[b"LPOP", b"nokey", b"0"], b"*-1\r\n");
    t.ok(&[b"LPOP", b"nokey", b"2"], b"*-1\r\n");
    t.ok(&[b"LPOP", b"nokey"], b"$-1\r\n");
    t.ok(
        &[b"LPOP", b"l", b"-1"],
        b"-ERR value is out of range, must be positive\r\n",
    );
    t.ok(
        &[b"LPOP", b"l", b"x"],
        b"-ERR value is out of range, must be positive\r\n",
    );
    t.ok(
        &[b"LPOP", b"l", b"1", b"2"],
        b"-ERR wrong number of arguments for 'lpop' command\r\n",
    );
    t.ok(&[b"LPOP", b"l", b"1"], b"*1\r\n$1\r\na\r\n");
    t.ok(&[b"RPOP", b"l"], b"$1\r\nc\r\n");
    t.ok(&[b"RPOP", b"l", b"10"], b"*1\r\n$1\r\nb\r\n");
    assert!(!t.exists(b"l"), "emptied list must be deleted");
    t.proto = Proto::Resp3;
    t.ok(&[b"LPOP", b"nokey", b"2"], b"_\r\n");
    t.ok(&[b"LPOP", b"nokey"], b"_\r\n");
}

#[test]
fn index_set_insert() {
    let mut t = T::new();
    t.run(&[b"RPUSH", b"l", b"a", b"b", b"c"]);
    t.ok(&[b"LINDEX", b"l", b"-1"], b"$1\r\nc\r\n");
    t.ok(&[b"LINDEX", b"l", b"3"], b"$-1\r\n");
    t.ok(&[b"LINDEX", b"l", b"-4"], b"$-1\r\n");
    t.ok(
        &[b"LINDEX", b"l", b"x"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.ok(&[b"LINDEX", b"nokey", b"x"], b"$-1\r\n");
    t.ok(&[b"LSET", b"nokey", b"0", b"a"], b"-ERR no such key\r\n");
    t.ok(
        &[b"LSET", b"l", b"10", b"a"],
        b"-ERR index out of range\r\n",
    );
    t.ok(&[b"LSET", b"l", b"-1", b"z"], b"+OK\r\n");
    t.ok(
        &[b"LINSERT", b"l", b"middle", b"a", b"b"],
        b"-ERR syntax error\r\n",
    );
    t.ok(&[b"LINSERT", b"l", b"BEFORE", b"zz", b"x"], b":-1\r\n");
    t.ok(&[b"LINSERT", b"nokey", b"BEFORE", b"a", b"x"], b":0\r\n");
    t.ok(&[b"LINSERT", b"l", b"before", b"a", b"0"], b":4\r\n");
    t.ok(&[b"LINSERT", b"l", b"AFTER", b"z", b"9"], b":5\r\n");
    t.ok(
        &[b"LRANGE", b"l", b"0", b"-1"],
        b"*5\r\n$1\r\n0\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nz\r\n$1\r\n9\r\n",
    );
}

#[test]
fn rem_and_trim() {
    let mut t = T::new();
    t.run(&[b"RPUSH", b"l", b"a", b"b", b"a", b"c", b"a"]);
    t.ok(&[b"LREM", b"l", b"-1", b"a"], b":1\r\n");
    t.ok(
        &[b"LRANGE", b"l", b"0", b"-1"],
        b"*4\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\na\r\n$1\r\nc\r\n",
    );
    t.ok(&[b"LREM", b"l", b"1", b"a"], b":1\r\n");
    t.ok(&[b"LREM", b"l", b"0", b"zz"], b":0\r\n");
    t.ok(
        &[b"LREM", b"nokey", b"x", b"a"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.ok(&[b"LREM", b"nokey", b"0", b"a"], b":0\r\n");
    t.ok(&[b"LTRIM", b"l", b"1", b"-1"], b"+OK\r\n");
    t.ok(
        &[b"LRANGE", b"l", b"0", b"-1"],
        b"*2\r\n$1\r\na\r\n$1\r\nc\r\n",
    );
    t.ok(
        &[b"LTRIM", b"nokey", b"a", b"1"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.ok(&[b"LTRIM", b"nokey", b"0", b"1"], b"+OK\r\n");
    t.ok(&[b"LTRIM", b"l", b"5", b"1"], b"+OK\r\n");
    assert!(!t.exists(b"l"));
    t.run(&[b"RPUSH", b"l", b"a", b"b", b"a", b"c", b"a"]);
    t.ok(&[b"LREM", b"l", b"-2", b"a"], b":2\r\n");
    t.ok(
        &[b"LRANGE", b"l", b"0", b"-1"],
        b"*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n",
    );
    t.run(&[b"RPUSH", b"l", b"a", b"a"]);
    t.ok(&[b"LREM", b"l", b"2", b"a"], b":2\r\n");
    t.ok(
        &[b"LRANGE", b"l", b"0", b"-1"],
        b"*3\r\n$1\r\nb\r\n$1\r\nc\r\n$1\r\na\r\n",
    );
    t.ok(&[b"LREM", b"l", b"-9223372036854775808", b"a"], b":1\r\n");
    t.store.delete_key(0, b"l");
    t.run(&[b"RPUSH", b"l", b"a", b"a"]);
    t.ok(&[b"LREM", b"l", b"0", b"a"], b":2\r\n");
    assert!(!t.exists(b"l"));
}

#[test]
fn lpos_options() {
    let mut t = T::new();
    t.run(&[b"RPUSH", b"l", b"a", b"b", b"a", b"c", b"a"]);
    t.ok(&[b"LPOS", b"l", b"a"], b":0\r\n");
    t.ok(&[b"LPOS", b"l", b"x"], b"$-1\r\n");
    t.ok(&[b"LPOS", b"l", b"x", b"COUNT", b"0"], b"*0\r\n");
    t.ok(
        &[
            b"LPOS", b"l", b"a", b"RANK", b"-1", b"COUNT", b"0", b"MAXLEN", b"0",
        ],
        b"*3\r\n:4\r\n:2\r\n:0\r\n",
    );
    t.ok(
        &[b"LPOS", b"l", b"a", b"RANK", b"-9223372036854775808"],
        b":4\r\n",
    );
    t.ok(
        &[b"LPOS", b"l", b"a", b"RANK", b"2", b"MAXLEN", b"3"],
        b":2\r\n",
    );
    t.ok(
        &[
            b"LPOS", b"l", b"a", b"RANK", b"-1", b"MAXLEN", b"2", b"COUNT", b"0",
        ],
        b"*1\r\n:4\r\n",
    );
    t.ok(
        &[b"LPOS", b"l", b"a", b"COUNT", b"2", b"RANK", b"5"],
        b"*0\r\n",
    );
    t.ok(&[b"LPOS", b"l", b"a", b"RANK"], b"-ERR syntax error\r\n");
    t.ok(
        &[b"LPOS", b"l", b"a", b"bogus", b"1"],
        b"-ERR syntax error\r\n",
    );
    t.ok(
        &[b"LPOS", b"l", b"a", b"RANK", b"x"],
        b"-ERR value is not an integer or out of range\r\n",
    );
    t.ok(
        &[b"LPOS", b"l", b"a", b"COUNT", b"1.5"],
        b"-ERR COUNT can't be negative\r\n",
    );
    t.ok(
        &[b"LPOS", b"l", b"a", b"MAXLEN", b"x"],
        b"-ERR MAXLEN can't be negative\r\n",
    );
    t.ok(
        &[b"LPOS", b"l", b"a", b"COUNT", b"-1"],
        b"-ERR COUNT can't be negative\r\n",
    );
    t.ok(
        &[b"LPOS", b"l", b"a", b"MAXLEN", b"-1"],
        b"-ERR MAXLEN can't be negative\r\n",
    );
    t.ok(&[b"LPOS", b"nokey", b"a", b"COUNT", b"1"], b"*0\r\n");
    t.ok(
        &[b"LPOS", b"nokey", b"a", b"RANK", b"0"],
        b"-ERR RANK can't be zero: use 1 to start from the first match, 2 from the second ... or use negative to start from the end of the list\r\n",
    );
}

#[test]
fn lmove_and_rpoplpush() {
    let mut t = T::new();
    t.run(&[b"RPUSH", b"l", b"a", b"b"]);
    t.ok(&[b"LMOVE", b"l", b"l", b"left", b"right"], b"$1\r\na\r\n");
    t.ok(
        &[b"LRANGE", b"l", b"0", b"-1"],
        b"*2\r\n$1\r\nb\r\n$1\r\na\r\n",
    );
    t.ok(
        &[b"LMOVE", b"nokey", b"l2", b"up", b"left"],
        b"-ERR syntax error\r\n",
    );
    t.ok(&[b"LMOVE", b"nokey", b"l2", b"left", b"left"], b"$-1\r\n");
    t.make_hash(b"h");
    t.ok(&[b"LMOVE", b"l", b"h", b"left", b"left"], WRONGTYPE);
    t.ok(&[b"LLEN", b"l"], b":2\r\n");
    t.ok(&[b"RPOPLPUSH", b"l", b"d"], b"$1\r\na\r\n");
    t.ok(&[b"RPOPLPUSH", b"l", b"d"], b"$1\r\nb\r\n");
    assert!(!t.exists(b"l"));
    t.ok(
        &[b"LRANGE", b"d", b"0", b"-1"],
        b"*2\r\n$1\r\nb\r\n$1\r\na\r\n",
    );
    // A one-element rotation must not delete the key.
    t.run(&[b"RPUSH", b"one", b"x"]);
    t.ok(&[b"RPOPLPUSH", b"one", b"one"], b"$1\r\nx\r\n");
    t.ok(&[b"LLEN", b"one"], b":1\r\n");
}

#[test]
fn lmpop_parsing_and_propagation() {
    let mut t = T::new();
    t.ok(
        &[b"LMPOP", b"0", b"l", b"left"],
        b"-ERR numkeys should be greater than 0\r\n",
    );
    t.ok(
        &[b"LMPOP", b"abc", b"l", b"left"],
        b"-ERR numkeys should be greater than 0\r\n",
    );
    t.ok(&[b"LMPOP", b"1", b"l", b"middle"], b"-ERR syntax error\r\n");
    t.ok(&[b"LMPOP", b"5", b"l", b"left"], b"-ERR syntax error\r\n");
    t.ok(&[b"LMPOP", b"2", b"a", b"b"], b"-ERR syntax error\r\n");
    t.ok(
        &[b"LMPOP", b"1", b"a", b"b", b"c"],
        b"-ERR syntax error\r\n",
    );
    t.ok(
        &[b"LMPOP", b"1", b"a", b"left", b"COUNT"],
        b"-ERR syntax error\r\n",
    );
    t.ok(
        &[b"LMPOP", b"1", b"l", b"left", b"count", b"0"],
        b"-ERR count should be greater than 0\r\n",
    );
    t.ok(
        &[b"LMPOP", b"1", b"l", b"left", b"count", b"abc"],
        b"-ERR count should be greater than 0\r\n",
    );
    t.ok(
        &[
            b"LMPOP", b"1", b"l", b"left", b"count", b"1", b"count", b"2",
        ],
        b"-ERR syntax error\r\n",
    );
    t.ok(&[b"LMPOP", b"1", b"nokey", b"left"], b"*-1\r\n");
    t.run(&[b"RPUSH", b"l", b"a", b"b", b"c"]);
    let o = t.exec(
        &[b"LMPOP", b"2", b"nokey", b"l", b"right", b"count", b"5"],
        false,
        false,
    );
    assert_eq!(
        o.reply,
        b"*2\r\n$1\r\nl\r\n*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"
    );
    assert!(o.propagated);
    assert_eq!(
        t.prop(),
        vec![b"RPOP".to_vec(), b"l".to_vec(), b"3".to_vec()]
    );
    assert!(!t.exists(b"l"));
    t.make_hash(b"h");
    t.ok(&[b"LMPOP", b"2", b"nokey", b"h", b"left"], WRONGTYPE);
}

#[test]
fn blpop_blocks_then_serves_when_woken() {
    let mut t = T::new();
    let o = t.exec(&[b"BLPOP", b"k1", b"k2", b"1.5"], false, false);
    assert!(o.reply.is_empty(), "a blocking command writes nothing");
    let b = o.block.expect("must block");
    assert_eq!(
        b.keys,
        vec![Bytes::from_static(b"k1"), Bytes::from_static(b"k2")]
    );
    assert_eq!(b.deadline_ms, Some(NOW + 1500));
    let o = t.exec(&[b"BLPOP", b"k1", b"0"], false, false);
    assert_eq!(o.block.expect("must block").deadline_ms, None);
    // Inside MULTI it replies as a timeout.
    let o = t.exec(&[b"BLPOP", b"k1", b"0"], true, false);
    assert_eq!(o.reply, b"*-1\r\n");
    assert!(o.block.is_none());
    // Woken after a push: served, propagated as LPOP key, list deleted.
    t.run(&[b"RPUSH", b"k2", b"x"]);
    t.store.prop.clear();
    let o = t.exec(&[b"BLPOP", b"k1", b"k2", b"1.5"], false, true);
    assert_eq!(o.reply, b"*2\r\n$2\r\nk2\r\n$1\r\nx\r\n");
    assert!(o.block.is_none());
    assert!(o.propagated);
    assert_eq!(t.prop(), vec![b"LPOP".to_vec(), b"k2".to_vec()]);
    assert!(!t.exists(b"k2"));
    // BRPOP serves the first non-empty key from the right.
    t.run(&[b"RPUSH", b"k2", b"a", b"b"]);
    t.ok(
        &[b"BRPOP", b"k1", b"k2", b"0"],
        b"*2\r\n$2\r\nk2\r\n$1\r\nb\r\n",
    );
    assert_eq!(t.prop(), vec![b"RPOP".to_vec(), b"k2".to_vec()]);
}

#[test]
fn blocking_wrongtype_and_timeouts() {
    let mut t = T::new();
    t.make_hash(b"h");
    t.ok(&[b"BLPOP", b"nokey", b"h", b"0"], WRONGTYPE);
    // A woken client whose key changed type stays blocked (7.0 behaviour).
    let o = t.exec(&[b"BLPOP", b"h", b"0"], false, true);
    assert!(o.reply.is_empty() && o.block.is_some());
    t.ok(&[b"BLPOP", b"l", b"-1"], b"-ERR timeout is negative\r\n");
    t.ok(&[b"BLPOP", b"l", b"1e30"], b"-ERR timeout is negative\r\n");
    t.ok(&[b"BLPOP", b"l", b"inf"], b"-ERR timeout is negative\r\n");
    t.ok(
        &[b"BLPOP", b"l", b"nan"],
        b"-ERR timeout is not a float or out of range\r\n",
    );
    t.ok(
        &[b"BLPOP", b"l", b"abc"],
        b"-ERR timeout is not a float or out of range\r\n",
    );
    let o = t.exec(&[b"BLPOP", b"l", b"0.0001"], false, false);
    assert_eq!(o.block.expect("blocks").deadline_ms, Some(NOW + 1));
}

#[test]
fn blmove_and_brpoplpush() {
    let mut t = T::new();
    let o = t.exec(
        &[b"BLMOVE", b"s", b"d", b"LEFT", b"RIGHT", b"2"],
        false,
        false,
    );
    let b = o.block.expect("must block");
    assert_eq!(b.keys, vec![Bytes::from_static(b"s")]);
    assert_eq!(b.deadline_ms, Some(NOW + 2000));
    // In MULTI these two reply a null bulk, as 7.0.
    assert_eq!(
        t.exec(
            &[b"BLMOVE", b"s", b"d", b"LEFT", b"RIGHT", b"0"],
            true,
            false
        )
        .reply,
        b"$-1\r\n"
    );
    assert_eq!(
        t.exec(&[b"BRPOPLPUSH", b"s", b"d", b"0"], true, false)
            .reply,
        b"$-1\r\n"
    );
    t.ok(
        &[b"BLMOVE", b"s", b"d", b"UP", b"RIGHT", b"0"],
        b"-ERR syntax error\r\n",
    );
    t.run(&[b"RPUSH", b"s", b"a", b"b"]);
    t.store.prop.clear();
    let o = t.exec(
        &[b"BLMOVE", b"s", b"d", b"left", b"right", b"0"],
        false,
        true,
    );
    assert_eq!(o.reply, b"$1\r\na\r\n");
    assert_eq!(
        t.prop(),
        vec![
            b"LMOVE".to_vec(),
            b"s".to_vec(),
            b"d".to_vec(),
            b"left".to_vec(),
            b"right".to_vec()
        ]
    );
    t.ok(&[b"BRPOPLPUSH", b"s", b"d", b"0"], b"$1\r\nb\r\n");
    assert_eq!(
        t.prop(),
        vec![b"RPOPLPUSH".to_vec(), b"s".to_vec(), b"d".to_vec()]
    );
    assert!(!t.exists(b"s"));
    t.ok(
        &[b"LRANGE", b"d", b"0", b"-1"],
        b"*2\r\n$1\r\nb\r\n$1\r\na\r\n",
    );
    t.make_hash(b"h");
    t.ok(&[b"BLMOVE", b"d", b"h", b"left", b"left", b"0"], WRONGTYPE);
}

#[test]
fn blmpop() {
    let mut t = T::new();
    t.ok(
        &[b"BLMPOP", b"0", b"0", b"l", b"left"],
        b"-ERR numkeys should be greater than 0\r\n",
    );
    t.ok(
        &[b"BLMPOP", b"-1", b"1", b"l", b"left"],
        b"-ERR timeout is negative\r\n",
    );
    t.ok(
        &[b"BLMPOP", b"abc", b"1", b"l", b"left"],
        b"-ERR timeout is not a float or out of range\r\n",
    );
    t.ok(
        &[b"BLMPOP", b"0", b"1", b"l", b"left", b"COUNT", b"0"],
        b"-ERR count should be greater than 0\r\n",
    );
    assert_eq!(
        t.exec(&[b"BLMPOP", b"0", b"1", b"l", b"left"], true, false)
            .reply,
        b"*-1\r\n"
    );
    let o = t.exec(&[b"BLMPOP", b"3", b"2", b"a", b"b", b"left"], false, false);
    assert!(o.reply.is_empty());
    let b = o.block.expect("must block");
    assert_eq!(b.keys.len(), 2);
    assert_eq!(b.deadline_ms, Some(NOW + 3000));
    t.run(&[b"RPUSH", b"b", b"x", b"y"]);
    let o = t.exec(
        &[b"BLMPOP", b"3", b"2", b"a", b"b", b"left", b"COUNT", b"5"],
        false,
        true,
    );
    assert_eq!(o.reply, b"*2\r\n$1\r\nb\r\n*2\r\n$1\r\nx\r\n$1\r\ny\r\n");
    assert_eq!(
        t.prop(),
        vec![b"LPOP".to_vec(), b"b".to_vec(), b"2".to_vec()]
    );
}

/// Redis 7.0 arities (negative = at least); the server checks them before a handler.
const ARITY: &[(&str, i32)] = &[
    ("lpush", -3),
    ("rpush", -3),
    ("lpushx", -3),
    ("rpushx", -3),
    ("lpop", -2),
    ("rpop", -2),
    ("llen", 2),
    ("lrange", 4),
    ("lindex", 3),
    ("lset", 4),
    ("linsert", 5),
    ("lrem", 4),
    ("ltrim", 4),
    ("lpos", -3),
    ("lmove", 5),
    ("rpoplpush", 3),
    ("lmpop", -4),
    ("blpop", -3),
    ("brpop", -3),
    ("blmove", 6),
    ("brpoplpush", 4),
    ("blmpop", -5),
];

#[test]
fn no_panic_on_odd_arguments() {
    let mut t = T::new();
    let odd: &[&[u8]] = &[
        b"",
        b"-",
        b"9223372036854775807",
        b"-9223372036854775808",
        b"1",
        b"LEFT",
        b"COUNT",
    ];
    assert_eq!(ARITY.len(), COMMANDS.len());
    for &(name, arity) in ARITY {
        for n in 2..=8usize {
            let fits = if arity >= 0 {
                n == arity as usize
            } else {
                n >= arity.unsigned_abs() as usize
            };
            if !fits {
                continue;
            }
            for &a in odd {
                for &b in odd {
                    t.run(&[b"RPUSH", b"l", b"a", b"b"]);
                    let mut args: Vec<&[u8]> = vec![name.as_bytes(), b"l"];
                    while args.len() < n {
                        args.push(if args.len().is_multiple_of(2) { a } else { b });
                    }
                    t.run(&args);
                }
            }
        }
    }
}

/// Differential helper (run by hand): executes the commands in the file named by
/// `TANDEM_DIFF_SCRIPT` (one per line, space-separated) through every list and hash
/// handler and prints each reply escaped, to diff against a real redis-server.
#[test]
#[ignore]
fn dump_replies_for_diff() {
    let Ok(path) = std::env::var("TANDEM_DIFF_SCRIPT") else {
        return;
    };
    let script = std::fs::read_to_string(path).expect("script");
    let mut store = Store::new(StoreConfig::default());
    let mut now = NOW;
    for line in script.lines().filter(|l| !l.trim().is_empty()) {
        let args: Vec<Bytes> = line
            .split_whitespace()
            .map(|a| Bytes::copy_from_slice(a.as_bytes()))
            .collect();
        let name = String::from_utf8_lossy(&args[0]).to_lowercase();
        let Some(h) = crate::cmd::all().find(|(n, _)| *n == name).map(|(_, h)| h) else {
            println!("{line} => (no handler)");
            continue;
        };
        let mut out = ReplyBuf::new(Proto::Resp2);
        now += 1;
        let mut ex = Exec::new(&mut store, 0, &mut out, now);
        ex.in_multi = true;
        ex.run(h, &args);
        let esc: String = out
            .as_bytes()
            .iter()
            .map(|&c| match c {
                b'\r' => "\\r".to_string(),
                b'\n' => "\\n".to_string(),
                32..=126 => (c as char).to_string(),
                _ => format!("\\x{c:02x}"),
            })
            .collect();
        println!("{line} => {esc}");
    }
}
