//! Blocked clients (BLPOP & co.): a FIFO of client ids per (db, key), each blocked
//! client's request, and the channel its reply goes back on. Everything lives under
//! the store lock, so a wake-up is decided in the same critical section as the
//! write that caused it.

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use tandem_resp::{Proto, ReplyBuf};
use tandem_store::{BlockRequest, Exec};
use tokio::sync::oneshot;

use crate::dispatch::Imp;
use crate::state::{Shared, State};

pub struct BlockedClient {
    pub db: usize,
    pub args: Vec<Bytes>,
    pub keys: Vec<Bytes>,
    pub proto: Proto,
    pub tx: oneshot::Sender<Bytes>,
}

#[derive(Default)]
pub struct Blocked {
    pub clients: HashMap<u64, BlockedClient>,
    pub queues: HashMap<(usize, Bytes), VecDeque<u64>>,
}

impl Blocked {
    pub fn len(&self) -> usize {
        self.clients.len()
    }
}

pub fn register(
    st: &mut State,
    id: u64,
    db: usize,
    args: Vec<Bytes>,
    req: BlockRequest,
    proto: Proto,
    tx: oneshot::Sender<Bytes>,
) {
    let mut keys = req.keys;
    keys.dedup();
    for k in &keys {
        st.blocked
            .queues
            .entry((db, k.clone()))
            .or_default()
            .push_back(id);
        *st.store
            .blocking
            .entry((db, k.as_ref().into()))
            .or_insert(0) += 1;
    }
    if let Some(c) = st.clients.get_mut(&id) {
        c.blocked = true;
    }
    st.blocked.clients.insert(
        id,
        BlockedClient {
            db,
            args,
            keys,
            proto,
            tx,
        },
    );
}

/// Removes a client from every queue; returns its record if it was blocked.
pub fn unregister(st: &mut State, id: u64) -> Option<BlockedClient> {
    let b = st.blocked.clients.remove(&id)?;
    for k in &b.keys {
        let qk = (b.db, k.clone());
        if let Some(q) = st.blocked.queues.get_mut(&qk) {
            q.retain(|&c| c != id);
            if q.is_empty() {
                st.blocked.queues.remove(&qk);
            }
        }
        let sk: (usize, Box<[u8]>) = (b.db, k.as_ref().into());
        if let Some(n) = st.store.blocking.get_mut(&sk) {
            *n -= 1;
            if *n == 0 {
                st.store.blocking.remove(&sk);
            }
        }
    }
    if let Some(c) = st.clients.get_mut(&id) {
        c.blocked = false;
    }
    Some(b)
}

/// Unblocks a client with `reply` (timeout, CLIENT UNBLOCK); false if not blocked.
pub fn unblock_with(st: &mut State, id: u64, reply: impl FnOnce(&mut ReplyBuf)) -> bool {
    match unregister(st, id) {
        Some(b) => {
            let mut out = ReplyBuf::small(b.proto);
            reply(&mut out);
            let _ = b.tx.send(out.take().freeze());
            true
        }
        None => false,
    }
}

/// What a blocked client gets when its master turns into a replica (Redis's text).
pub const DEMOTED: &str =
    "UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)";

/// A master turning into a replica releases its blocked clients, as Redis does:
/// the [`DEMOTED`] error, then the connection closes (a blocking pop waits for a
/// write this node will no longer take; a client reconnects to the new master).
pub fn release_on_demotion(st: &mut State) {
    let ids: Vec<u64> = st.blocked.clients.keys().copied().collect();
    for id in ids {
        if unblock_with(st, id, |o| o.error(DEMOTED)) {
            if let Some(c) = st.clients.get_mut(&id) {
                c.close_after_reply = true;
            }
        }
    }
}

/// Serves blocked clients whose keys were written, in FIFO order, re-running their
/// command with `woken = true` until nothing more is ready.
pub fn serve_ready(st: &mut State, shared: &Shared, now: i64) {
    // Each pass consumes the ready list; a served command may make more keys
    // ready, handled by the next pass. Bounded so a pathological ping-pong
    // between blocked clients cannot spin forever under the lock.
    for _ in 0..1024 {
        if st.store.ready.is_empty() {
            return;
        }
        let mut ready = std::mem::take(&mut st.store.ready);
        ready.dedup();
        for (db, key) in ready {
            let qk = (db, Bytes::copy_from_slice(&key));
            let ids: Vec<u64> = match st.blocked.queues.get(&qk) {
                Some(q) => q.iter().copied().collect(),
                None => continue,
            };
            for id in ids {
                let Some(b) = st.blocked.clients.get(&id) else {
                    continue;
                };
                let Some((_, entry)) = shared.commands.get(&b.args[0]) else {
                    continue;
                };
                let Imp::Store(h) = entry.imp else { continue };
                let spec = entry.spec;
                let args = b.args.clone();
                let proto = b.proto;
                let mut out = ReplyBuf::small(proto);
                let dirty_before = st.store.dirty;
                let notify_before = crate::notify::before(st, spec, &args, db);
                let mut exec = Exec::new(&mut st.store, db, &mut out, now);
                exec.client_id = id;
                exec.woken = true;
                let res = h(&mut exec, &args);
                let again = exec.block.is_some();
                let propagated = exec.propagated;
                if again {
                    continue;
                }
                if let Err(e) = res {
                    out.error(&e.text());
                }
                let changed = st.store.dirty != dirty_before;
                if st.store.notify != 0 {
                    crate::notify::after(st, spec, &args, db, notify_before, changed);
                }
                if changed && !propagated {
                    st.store.propagate(db, args);
                }
                crate::stream::drain(st);
                if let Some(b) = unregister(st, id) {
                    let _ = b.tx.send(out.take().freeze());
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Config;
    use tandem_commands::CommandSpec;
    use tandem_store::CmdResult;

    // A fake blocking command: BLPOP's spec (arity, BLOCKING flag, keys) with a
    // test handler.
    static TBLOCK: std::sync::LazyLock<&'static CommandSpec> =
        std::sync::LazyLock::new(|| tandem_commands::lookup(b"blpop").expect("blpop in the table"));

    /// Blocks until woken, then replies "served" and counts a change.
    fn tblock(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
        if exec.woken {
            exec.out.bulk(b"served");
            exec.dirty(1);
        } else {
            exec.block = Some(BlockRequest {
                keys: args[1..].to_vec(),
                deadline_ms: None,
                args: None,
            });
        }
        Ok(())
    }

    fn shared() -> Shared {
        let mut s = Shared::new(Config::default(), 0);
        s.commands.insert(*TBLOCK, Imp::Store(tblock));
        s.state.lock().cmdstats.push(Default::default());
        s
    }

    fn block(st: &mut State, id: u64, keys: &[&'static [u8]]) -> oneshot::Receiver<Bytes> {
        let (tx, rx) = oneshot::channel();
        let keys: Vec<Bytes> = keys.iter().map(|k| Bytes::from_static(k)).collect();
        let mut args = vec![Bytes::from_static(b"blpop")];
        args.extend(keys.iter().cloned());
        let req = BlockRequest {
            keys,
            deadline_ms: None,
            args: None,
        };
        register(st, id, 0, args, req, Proto::Resp2, tx);
        rx
    }

    /// A write to a blocked-on key serves the first waiter (FIFO), cleans its
    /// registration on every key, and propagates what it did.
    #[test]
    fn wake_in_fifo_order_and_cleanup() {
        let sh = shared();
        let mut st = sh.state.lock();
        let mut r1 = block(&mut st, 1, &[b"a", b"b"]);
        let mut r2 = block(&mut st, 2, &[b"a"]);
        assert_eq!(st.blocked.len(), 2);
        assert_eq!(st.store.blocking.get(&(0, Box::from(&b"a"[..]))), Some(&2));
        st.store.touch(0, b"a");
        serve_ready(&mut st, &sh, 0);
        // Both were served (the fake command always succeeds when woken), in order.
        assert_eq!(
            r1.try_recv().unwrap(),
            Bytes::from_static(b"$6\r\nserved\r\n")
        );
        assert_eq!(
            r2.try_recv().unwrap(),
            Bytes::from_static(b"$6\r\nserved\r\n")
        );
        assert_eq!(st.blocked.len(), 0);
        assert!(st.store.blocking.is_empty());
        assert!(st.blocked.queues.is_empty());
        assert!(st.stream.offset > 0);
    }

    /// CLIENT UNBLOCK / timeout path: the reply is what the caller writes, and the
    /// registry forgets the client; a second unblock finds nothing.
    #[test]
    fn unblock_with_reply() {
        let sh = shared();
        let mut st = sh.state.lock();
        let mut r = block(&mut st, 9, &[b"k"]);
        assert!(unblock_with(&mut st, 9, |o| o.null_array()));
        assert_eq!(r.try_recv().unwrap(), Bytes::from_static(b"*-1\r\n"));
        assert!(!unblock_with(&mut st, 9, |o| o.null_array()));
        assert!(st.store.blocking.is_empty());
        // A key touched with nobody blocked is simply ignored.
        st.store.touch(0, b"k");
        serve_ready(&mut st, &sh, 0);
        assert!(st.store.ready.is_empty());
    }
}
