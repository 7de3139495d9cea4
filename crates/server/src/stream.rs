//! The write stream: the single ordered sequence of writes that replication and the
//! AOF will consume (a later issue). Inside the critical section the dispatcher
//! drains `store.prop` here; each write is encoded as RESP (with a `SELECT n` when
//! the database changes, as Redis does) and appended to a bounded backlog ring,
//! advancing `master_repl_offset` by the bytes written. The ring is kept from the
//! first sync on (a replica's from here, or this node's from a master), as Redis
//! creates its backlog then; before that, with no AOF either, nothing reads the
//! bytes and a write only advances the offset by its length.
//!
//! Seam for replication/AOF: [`WriteStream::append`] is the one place bytes enter the
//! stream; a replica feed or AOF writer hooks in there (e.g. a list of sinks), and
//! PSYNC reads [`WriteStream::backlog_range`].

use std::collections::VecDeque;

use tandem_resp::{Proto, ReplyBuf};

use crate::state::State;

pub struct WriteStream {
    backlog: VecDeque<u8>,
    capacity: usize,
    /// Bytes ever written (Redis's master_repl_offset).
    pub offset: u64,
    /// Whether the backlog is kept (Redis's `repl_backlog_active`): off until a
    /// replica first syncs from this node or the node syncs from a master, as
    /// Redis creates its backlog then. Until then the offset still advances,
    /// but no write pays for a copy nobody can ask for (a partial resync needs
    /// a replica that synced from here, or a history this node synced itself).
    pub backlog_used: bool,
    last_db: Option<usize>,
    buf: ReplyBuf,
    /// The AOF writer's feed while `appendonly yes` (see crate::persist::aof).
    pub aof: Option<crate::persist::aof::writer::AofFeed>,
    /// Replication tap: while `tapping`, every appended byte is also collected
    /// here until the replication code hands it to the replica links (`repl::feed`).
    pub tapping: bool,
    pub tap: bytes::BytesMut,
    /// Writes of the transaction EXEC is running, held so the transaction enters
    /// the stream as one MULTI ... EXEC block (see [`WriteStream::begin_tx`]).
    deferred: Option<Vec<(usize, Vec<bytes::Bytes>)>>,
}

impl WriteStream {
    pub fn new(capacity: usize) -> Self {
        WriteStream {
            backlog: VecDeque::new(),
            capacity,
            offset: 0,
            backlog_used: false,
            last_db: None,
            buf: ReplyBuf::small(Proto::Resp2),
            aof: None,
            tapping: false,
            tap: bytes::BytesMut::new(),
            deferred: None,
        }
    }

    /// EXEC starts: its writes are held until [`WriteStream::end_tx`].
    pub fn begin_tx(&mut self) {
        self.deferred = Some(Vec::new());
    }

    /// How many writes the running transaction or script holds.
    pub fn deferred_len(&self) -> usize {
        self.deferred.as_ref().map_or(0, Vec::len)
    }

    /// Drops the held writes after the first `len` (a script's writes under
    /// `redis.set_repl(redis.REPL_NONE)`).
    pub fn truncate_deferred(&mut self, len: usize) {
        if let Some(d) = self.deferred.as_mut() {
            d.truncate(len);
        }
    }

    /// EXEC ends: a transaction that wrote more than once enters the stream as
    /// `MULTI`, its writes, `EXEC` (as Redis 7.0 propagates it), so a replica or
    /// an AOF replay applies all of it or none of it, also when the stream is
    /// cut in the middle (a master dying mid-transfer, a truncated AOF). A single
    /// write goes in as itself.
    pub fn end_tx(&mut self) {
        let Some(ops) = self.deferred.take() else {
            return;
        };
        let wrap = ops.len() > 1;
        if let (true, Some((db, _))) = (wrap, ops.first()) {
            self.append(*db, &[bytes::Bytes::from_static(b"MULTI")]);
        }
        let mut last = None;
        for (db, args) in &ops {
            self.append(*db, args);
            last = Some(*db);
        }
        if let (true, Some(db)) = (wrap, last) {
            self.append(db, &[bytes::Bytes::from_static(b"EXEC")]);
        }
    }

    /// Encodes one write and appends it.
    pub fn append(&mut self, db: usize, args: &[bytes::Bytes]) {
        if let Some(held) = self.deferred.as_mut() {
            held.push((db, args.to_vec()));
            return;
        }
        let selected = self.last_db != Some(db);
        if selected {
            let n = db.to_string();
            self.buf.array(2);
            self.buf.bulk(b"SELECT");
            self.buf.bulk(n.as_bytes());
            self.last_db = Some(db);
        }
        if !self.tapping && self.aof.is_none() && !self.backlog_used {
            // Nobody reads the bytes (no replica, no AOF, no backlog yet, as a
            // Redis without replicas): the offset counts them unencoded.
            self.offset += (self.buf.as_bytes().len() + tandem_resp::request_len(args)) as u64;
            self.buf.rollback(0);
            return;
        }
        self.buf.array(args.len());
        for a in args {
            self.buf.bulk(a);
        }
        // Encoded in place and cleared after: the buffer is reused by every write
        // (taking it would cost an allocation and refcounting per write).
        let bytes = self.buf.as_bytes();
        if self.tapping {
            self.tap.extend_from_slice(bytes);
        }
        self.offset += bytes.len() as u64;
        if let Some(aof) = &self.aof {
            aof.feed(db, selected, bytes, self.offset);
        }
        if self.backlog_used {
            keep(&mut self.backlog, self.capacity, bytes);
        }
        self.buf.rollback(0);
    }

    /// The database the stream last SELECTed (`repl-stream-db`), if any.
    pub fn last_db(&self) -> Option<usize> {
        self.last_db
    }

    /// Bytes of the backlog currently held.
    pub fn backlog_len(&self) -> usize {
        self.backlog.len()
    }

    /// The offset of the first byte still in the backlog.
    pub fn backlog_first_offset(&self) -> u64 {
        self.offset - self.backlog.len() as u64
    }

    /// The backlog bytes from `from` (an offset) to the end, if still held.
    pub fn backlog_range(&self, from: u64) -> Option<Vec<u8>> {
        let first = self.backlog_first_offset();
        if from < first || from > self.offset {
            return None;
        }
        Some(
            self.backlog
                .iter()
                .skip((from - first) as usize)
                .copied()
                .collect(),
        )
    }

    /// Appends bytes already encoded (a replica re-feeding its master's stream
    /// verbatim, so offsets stay equal along the chain; PING/GETACK).
    pub fn append_raw(&mut self, bytes: &[u8]) {
        if self.tapping {
            self.tap.extend_from_slice(bytes);
        }
        self.offset += bytes.len() as u64;
        if self.backlog_used {
            keep(&mut self.backlog, self.capacity, bytes);
        }
    }

    /// Starts a new history at `offset` with an empty backlog (after a full
    /// resynchronisation), or just forgets the selected database (`offset` =
    /// None: the next write re-emits SELECT, as after a promotion).
    pub fn reset(&mut self, offset: Option<u64>) {
        self.last_db = None;
        if let Some(o) = offset {
            self.offset = o;
            self.backlog.clear();
            self.tap.clear();
        }
    }

    /// Records the database the stream's bytes last selected (a replica, whose
    /// stream is its master's: snapshots store it as `repl-stream-db`).
    pub fn set_last_db(&mut self, db: usize) {
        self.last_db = Some(db);
    }

    pub fn set_capacity(&mut self, capacity: usize) {
        self.capacity = capacity.max(1);
        let excess = self.backlog.len().saturating_sub(self.capacity);
        self.backlog.drain(..excess);
    }
}

/// Appends encoded bytes to the backlog ring, dropping its oldest beyond the
/// capacity.
fn keep(backlog: &mut VecDeque<u8>, capacity: usize, bytes: &[u8]) {
    backlog.extend(bytes.iter());
    let excess = backlog.len().saturating_sub(capacity);
    backlog.drain(..excess);
}

/// Propagates a command as it was called (the common case of a write), straight
/// into the stream without copying its arguments: after whatever the store queued
/// while it ran (a key found expired is deleted before the write that found it).
pub fn propagate_call(st: &mut State, db: usize, args: &[bytes::Bytes]) {
    if st.store.from_master || st.repl.is_replica() {
        st.store.propagate(db, args.to_vec());
        return drain(st);
    }
    drain(st);
    crate::linkpos::before_write(st, db);
    st.stream.append(db, args);
    crate::repl::feed(st);
}

/// Moves the store's propagation queue into the stream (called after every command).
pub fn drain(st: &mut State) {
    if st.store.from_master || st.repl.is_replica() {
        // A replica re-feeds its master's bytes verbatim (repl::replica); its
        // AOF logs the commands it applied. Local writes on a writable replica
        // stay local, as in Redis: they must not shift the offsets PSYNC compares.
        crate::persist::aof_log_props(st);
        st.store.prop.clear();
        return;
    }
    if st.store.prop.is_empty() {
        return;
    }
    crate::linkpos::before_write(st, st.store.prop[0].db);
    for p in std::mem::take(&mut st.store.prop) {
        st.stream.append(p.db, &p.args);
    }
    crate::repl::feed(st);
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::Bytes;

    #[test]
    fn a_transaction_with_several_writes_is_wrapped_in_multi_exec() {
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        let mut w = WriteStream::new(1 << 20);
        w.backlog_used = true;
        w.begin_tx();
        w.append(0, &[b("INCR"), b("a")]);
        assert_eq!(w.offset, 0, "held until EXEC ends");
        w.append(0, &[b("INCR"), b("b")]);
        w.end_tx();
        let got = w.backlog_range(0).expect("backlog");
        let want = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*1\r\n$5\r\nMULTI\r\n*2\r\n$4\r\nINCR\r\n$1\r\na\r\n*2\r\n$4\r\nINCR\r\n$1\r\nb\r\n*1\r\n$4\r\nEXEC\r\n";
        assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
        // One write: no wrapping.
        let before = w.offset;
        w.begin_tx();
        w.append(0, &[b("INCR"), b("c")]);
        w.end_tx();
        let tail = w.backlog_range(before).expect("tail");
        assert_eq!(tail, b"*2\r\n$4\r\nINCR\r\n$1\r\nc\r\n".to_vec());
    }

    #[test]
    fn select_emitted_on_db_change_and_ring_bounded() {
        let mut w = WriteStream::new(64);
        w.backlog_used = true;
        w.append(
            0,
            &[
                Bytes::from_static(b"SET"),
                Bytes::from_static(b"k"),
                Bytes::from_static(b"v"),
            ],
        );
        let first = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        assert_eq!(w.offset, first.len() as u64);
        assert_eq!(w.backlog_range(0).unwrap(), first.to_vec());
        w.append(0, &[Bytes::from_static(b"DEL"), Bytes::from_static(b"k")]);
        assert_eq!(w.offset, first.len() as u64 + 20);
        assert_eq!(w.backlog_len(), 64);
        assert!(w.backlog_range(0).is_none());
        w.append(1, &[Bytes::from_static(b"DEL"), Bytes::from_static(b"k")]);
        let tail = w.backlog_range(w.offset - 20).unwrap();
        assert_eq!(tail, b"*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n".to_vec());
    }

    #[test]
    fn the_backlog_is_kept_only_once_used() {
        let set = |v: &'static [u8]| {
            [
                Bytes::from_static(b"SET"),
                Bytes::from_static(b"k"),
                Bytes::from_static(v),
            ]
        };
        let mut w = WriteStream::new(1 << 20);
        w.append(0, &set(b"1"));
        let first = w.offset;
        let mut kept = WriteStream::new(1 << 20);
        kept.backlog_used = true;
        kept.append(0, &set(b"1"));
        assert_eq!(first, kept.offset, "the offset counts the same bytes");
        assert_eq!(kept.backlog_len() as u64, first);
        assert_eq!(w.backlog_len(), 0);
        assert_eq!(w.backlog_first_offset(), first);
        assert!(w.backlog_range(0).is_none(), "no history before it");
        assert_eq!(w.backlog_range(first), Some(Vec::new()));
        w.backlog_used = true;
        w.append(0, &set(b"2"));
        assert_eq!(
            w.backlog_range(first).expect("kept from the switch on"),
            b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\n2\r\n".to_vec()
        );
        w.append_raw(b"*1\r\n$4\r\nPING\r\n");
        assert_eq!(w.backlog_len() as u64, w.offset - first);
    }
}
