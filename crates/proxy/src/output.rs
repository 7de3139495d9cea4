//! A client's output: one ordered byte stream into its socket, written by the
//! client task (replies it produced or received as messages) and by the link
//! reader that received the replies of "direct" requests.
//!
//! ```text
//!  link reader ──replies of direct requests──┐ (no task hop, no wake-up)
//!                                            ├──> [pending] ──> client socket
//!  client task ──everything else, in order───┘      (drained by the client task)
//! ```
//!
//! Why: at pipeline 1 a reply used to go link reader → channel → client task →
//! socket, one more task wake-up per request than a single event loop pays. A
//! link now writes a direct request's reply into the client's socket itself
//! (`try_write`), and the client task is not woken at all unless something of
//! its own waits behind that reply.
//!
//! Order rules (with the client task's side in `client.rs`):
//! * A request is direct only if every earlier request of the client still
//!   unanswered is direct too, none of its replies needs the client task (plain
//!   stateless command, no CLIENT REPLY OFF/SKIP), and the client task has no
//!   output of its own still unwritten. Its replies then come first in the
//!   client's order, on the one link all its requests are in flight on.
//! * Bytes that cannot be written at once go to `pending`; whoever writes next
//!   appends behind them, and the client task drains them.
//! * A reply that is an error may be a refusal the client task must hold and
//!   replay (client_replies.rs): the link turns direct delivery off and hands
//!   that reply and every later one to the client task as messages, until the
//!   client task, with nothing in flight, turns it back on.
//! * `direct_done` counts the replies written directly; the client task catches
//!   up with it (pops those requests) before it looks at its queue, and before
//!   any message, which a link always sends after the direct replies before it.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;

use bytes::BytesMut;
use parking_lot::Mutex;
use tokio::sync::{mpsc, Notify};

use crate::link::ClientMsg;
use crate::metrics::Metrics;

/// The part of a client connection that links deliver to.
pub(crate) struct ClientShared {
    pub id: u64,
    pub tx: mpsc::UnboundedSender<ClientMsg>,
    /// Reply bytes delivered to the client task and not yet handed to the socket.
    pub out_bytes: AtomicUsize,
    pub out_limit: usize,
    pub killed: AtomicBool,
    /// Closed by CLIENT KILL (not by the output buffer limit).
    pub killed_by_command: AtomicBool,
    pub kill: Notify,
    /// What CLIENT LIST shows (refreshed by the client task per input batch).
    pub view: Mutex<crate::client_list::View>,
    /// Counts the bytes handed to the socket (`total_net_output_bytes`).
    metrics: Arc<Metrics>,
    /// The client's socket (write side).
    pub sock: crate::sock::ClientWrite,
    out: Mutex<Out>,
    /// Replies of direct requests written (or queued in `pending`) so far.
    direct_done: AtomicU64,
}

struct Out {
    /// Accepted for the socket, not yet written (it would block).
    pending: BytesMut,
    /// Links may write replies of direct requests themselves.
    direct_on: bool,
    /// The client task wants a message after the next direct reply.
    wake: bool,
    /// The client task has ended: replies are dropped.
    closed: bool,
}

impl ClientShared {
    pub fn new(
        id: u64,
        tx: mpsc::UnboundedSender<ClientMsg>,
        out_limit: usize,
        sock: crate::sock::ClientWrite,
        view: crate::client_list::View,
        metrics: Arc<Metrics>,
    ) -> ClientShared {
        ClientShared {
            id,
            tx,
            out_bytes: AtomicUsize::new(0),
            out_limit,
            killed: AtomicBool::new(false),
            killed_by_command: AtomicBool::new(false),
            view: Mutex::new(view),
            metrics,
            kill: Notify::new(),
            sock,
            out: Mutex::new(Out {
                pending: BytesMut::new(),
                direct_on: true,
                wake: false,
                closed: false,
            }),
            direct_done: AtomicU64::new(0),
        }
    }

    /// Hands a message to the client task, counting `len` reply bytes toward
    /// the output buffer limit.
    pub fn deliver(&self, msg: ClientMsg, len: usize) {
        let n = self.out_bytes.fetch_add(len, Ordering::Relaxed) + len;
        if self.out_limit > 0 && n > self.out_limit {
            self.kill_client();
        }
        let _ = self.tx.send(msg);
    }

    /// CLIENT KILL from another client: close this one.
    pub fn kill_by_command(&self) {
        self.killed_by_command.store(true, Ordering::Relaxed);
        self.kill_client();
    }

    fn kill_client(&self) {
        if !self.killed.swap(true, Ordering::Relaxed) {
            // The task sees the message when idle, the Notify while writing.
            let _ = self.tx.send(ClientMsg::Killed);
            self.kill.notify_one();
        }
    }

    /// A link's `count` replies to direct requests of this client: written to
    /// the socket (or queued behind pending bytes). False when direct delivery
    /// is off or `has_error` turns it off: the caller delivers them as a message.
    pub fn write_direct(&self, data: &[u8], count: u32, has_error: bool) -> bool {
        let mut o = self.out.lock();
        if has_error {
            o.direct_on = false;
        }
        if !o.direct_on {
            return false;
        }
        let mut wake = std::mem::take(&mut o.wake);
        if !o.closed {
            Metrics::add(&self.metrics.total_net_output_bytes, data.len() as u64);
            if o.pending.is_empty() {
                let n = self.sock.try_write(data).unwrap_or(0);
                if n < data.len() {
                    // The socket is full (or failed: the drain meets the error).
                    o.pending.extend_from_slice(&data[n..]);
                    wake = true;
                }
            } else {
                o.pending.extend_from_slice(data);
            }
        }
        self.direct_done
            .fetch_add(u64::from(count), Ordering::Release);
        let over = self.out_limit > 0
            && o.pending.len() + self.out_bytes.load(Ordering::Relaxed) > self.out_limit;
        drop(o);
        if over {
            self.kill_client();
        }
        if wake {
            let _ = self.tx.send(ClientMsg::Wake);
        }
        true
    }

    /// Direct replies written so far.
    pub fn direct_done(&self) -> u64 {
        self.direct_done.load(Ordering::Acquire)
    }

    /// Links may write direct replies again (the client has nothing in flight).
    pub fn direct_resume(&self) {
        self.out.lock().direct_on = true;
    }

    /// The client task's own output, in order after everything before it.
    /// True when bytes are left pending (the caller drains them).
    pub fn write_own(&self, data: &[u8]) -> bool {
        Metrics::add(&self.metrics.total_net_output_bytes, data.len() as u64);
        let mut o = self.out.lock();
        if o.pending.is_empty() {
            let n = self.sock.try_write(data).unwrap_or(0);
            if n < data.len() {
                o.pending.extend_from_slice(&data[n..]);
            }
        } else {
            o.pending.extend_from_slice(data);
        }
        !o.pending.is_empty()
    }

    /// Writes what is pending; Ok(true) once nothing is left.
    pub fn drain(&self) -> std::io::Result<bool> {
        let mut o = self.out.lock();
        if o.pending.is_empty() {
            return Ok(true);
        }
        match self.sock.try_write(&o.pending) {
            Ok(n) => {
                let _ = o.pending.split_to(n);
            }
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) => return Err(e),
        }
        if o.pending.is_empty() {
            if o.pending.capacity() > (1 << 20) {
                o.pending = BytesMut::new();
            }
            return Ok(true);
        }
        Ok(false)
    }

    /// Before the client task sleeps: whether a direct reply should wake it
    /// (something of its own waits behind one). False if direct replies came
    /// since it last looked (`seen`): it must look again first.
    pub fn arm(&self, want_wake: bool, seen: u64) -> bool {
        let mut o = self.out.lock();
        if self.direct_done.load(Ordering::Acquire) != seen {
            return false;
        }
        o.wake = want_wake;
        true
    }

    /// The client task has ended: links drop its replies from now on.
    pub fn close(&self) {
        let mut o = self.out.lock();
        o.closed = true;
        o.pending = BytesMut::new();
        drop(o);
        self.sock.shutdown_write();
    }
}
