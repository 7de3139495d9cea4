//! Link positions: how far the writes of a proxy's backend link reached, as the
//! write stream records it, so a proxy can tell after a failover which of its
//! unanswered requests the new master applied (DESIGN.md: held requests, never a
//! silent double apply).
//!
//! ```text
//!  proxy link ── TANDEM LINK <tag> ──> master: link_seq = 0, marker (tag, 0)
//!             ── request 1..n ───────> master executes a batch whose requests end
//!                                      at seq n; before its first write the stream
//!                                      gets  PING "tandem-lp:<tag>:<n>"
//!  replica applies the stream ─────────> positions[tag] = n   (also the AOF loader)
//!  after a failover, the proxy asks the new master:
//!             ── TANDEM LINKPOS <tag> ─> n, or -1 if it never saw the tag
//! ```
//!
//! The marker precedes the writes it covers, and covers every request of the
//! batch, so: a request with seq > n has no write in the new master's history
//! (the proxy may replay it), and one with seq <= n may have (its outcome is
//! unknown unless replaying it is harmless). Counting a batch whole errs on the
//! safe side: a request never executed may be called "maybe applied", never the
//! reverse. The marker is a `PING` with a message, which any Redis replica or
//! AOF loader accepts and ignores.
//!
//! Positions live in memory: a node that loaded a snapshot (full sync, restart
//! without AOF) knows only the tags written since, and answers -1 for the
//! others: the proxy then treats every unanswered request as "maybe applied".

use std::collections::HashMap;

use crate::state::State;
use bytes::Bytes;

const PREFIX: &[u8] = b"tandem-lp:";
/// Tags remembered; beyond, an arbitrary one is forgotten (its link's proxy then
/// sees -1, the conservative answer).
const MAX_TAGS: usize = 65_536;
const MAX_TAG_LEN: usize = 128;

#[derive(Default)]
pub struct LinkPositions {
    map: HashMap<Bytes, u64, foldhash::fast::RandomState>,
    /// The marker owed before the current batch's first write, if any.
    pending: Option<(Bytes, u64)>,
    /// The current batch: its length, and the requests executed so far
    /// (counted by the connection before each one runs).
    batch_len: u64,
    pub executed: u64,
}

impl LinkPositions {
    fn record(&mut self, tag: &[u8], n: u64) {
        if let Some(v) = self.map.get_mut(tag) {
            *v = (*v).max(n);
            return;
        }
        if self.map.len() >= MAX_TAGS {
            if let Some(k) = self.map.keys().next().cloned() {
                self.map.remove(&k);
            }
        }
        self.map.insert(Bytes::copy_from_slice(tag), n);
    }

    pub fn get(&self, tag: &[u8]) -> Option<u64> {
        self.map.get(tag).copied()
    }
}

fn marker(tag: &[u8], n: u64) -> [Bytes; 2] {
    let mut m = Vec::with_capacity(PREFIX.len() + tag.len() + 21);
    m.extend_from_slice(PREFIX);
    m.extend_from_slice(tag);
    m.push(b':');
    m.extend_from_slice(n.to_string().as_bytes());
    [Bytes::from_static(b"PING"), Bytes::from(m)]
}

fn parse_marker(msg: &[u8]) -> Option<(&[u8], u64)> {
    let rest = msg.strip_prefix(PREFIX)?;
    let colon = rest.iter().rposition(|&b| b == b':')?;
    let n = std::str::from_utf8(&rest[colon + 1..]).ok()?.parse().ok()?;
    Some((&rest[..colon], n))
}

/// Called before a tagged connection executes `batch` queued requests: its
/// writes, if any, will be preceded by one marker covering them all.
pub fn begin_batch(st: &mut State, id: u64, batch: usize) {
    st.link_pos.batch_len = batch as u64;
    st.link_pos.executed = 0;
    let Some(c) = st.clients.get(&id) else { return };
    if let Some(tag) = &c.link_tag {
        st.link_pos.pending = Some((tag.clone(), c.link_seq + batch as u64));
    }
}

/// Ends the batch: counts the requests a tagged connection executed, and drops
/// the marker if nothing was written.
pub fn end_batch(st: &mut State, id: u64) {
    st.link_pos.pending = None;
    let executed = st.link_pos.executed;
    if let Some(c) = st.clients.get_mut(&id).filter(|c| c.link_tag.is_some()) {
        c.link_seq = c.link_seq.wrapping_add(executed);
    }
}

/// Called by the stream before it appends a batch's first write (a master).
pub fn before_write(st: &mut State, db: usize) {
    if let Some((tag, n)) = st.link_pos.pending.take() {
        st.link_pos.record(&tag, n);
        st.stream.append(db, &marker(&tag, n));
    }
}

/// A `PING <message>` applied from the master's stream or the AOF: records a
/// marker. Anything else is an ordinary PING.
pub fn on_ping_from_master(st: &mut State, msg: &[u8]) {
    if let Some((tag, n)) = parse_marker(msg) {
        st.link_pos.record(tag, n);
    }
}

/// `TANDEM LINK <tag>`: names this connection a proxy link and restarts its
/// request count. A master records the tag in the stream at once, so a replica
/// that answers LINKPOS 0 has seen the link's whole life.
pub fn link(st: &mut State, id: u64, tag: &Bytes) -> Result<(), &'static str> {
    if tag.is_empty() || tag.len() > MAX_TAG_LEN || tag.contains(&b':') {
        return Err("ERR invalid link tag");
    }
    let db = {
        let Some(c) = st.clients.get_mut(&id) else {
            return Ok(());
        };
        c.link_tag = Some(tag.clone());
        // Counted from the next request: the batch's end adds all it executed.
        c.link_seq = 0u64.wrapping_sub(st.link_pos.executed);
        c.db
    };
    if !st.repl.is_replica() {
        st.link_pos.pending = Some((tag.clone(), 0));
        before_write(st, db);
        crate::repl::feed(st);
    }
    // The rest of this batch's writes need a marker covering them too.
    let rest = st.link_pos.batch_len.saturating_sub(st.link_pos.executed);
    st.link_pos.pending = Some((tag.clone(), rest));
    Ok(())
}

/// `TANDEM LINKPOS <tag>`: the highest request count of that link whose writes
/// this node has (or -1 if it never saw the tag).
pub fn position(st: &State, tag: &[u8]) -> i64 {
    st.link_pos.get(tag).map_or(-1, |n| n as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markers_round_trip_and_ordinary_pings_are_not_markers() {
        let [cmd, msg] = marker(b"p1-7", 42);
        assert_eq!(&cmd[..], b"PING");
        assert_eq!(parse_marker(&msg), Some((&b"p1-7"[..], 42)));
        assert_eq!(parse_marker(b"hello"), None);
        assert_eq!(parse_marker(b"tandem-lp:x:notanumber"), None);
        assert_eq!(parse_marker(b"tandem-lp:nocolon"), None);
    }

    #[test]
    fn positions_only_grow_and_stay_bounded() {
        let mut p = LinkPositions::default();
        p.record(b"a", 5);
        p.record(b"a", 3);
        assert_eq!(p.get(b"a"), Some(5));
        for i in 0..(MAX_TAGS + 10) {
            p.record(i.to_string().as_bytes(), 1);
        }
        assert!(p.map.len() <= MAX_TAGS);
    }
}
