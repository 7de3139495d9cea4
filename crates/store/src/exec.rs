//! The context a command handler runs in.

use bytes::Bytes;
use tandem_resp::ReplyBuf;

use crate::error::CmdResult;
use crate::keyspace::Store;

/// A command implementation. `args[0]` is the command name as the client sent it;
/// arity has already been checked against the command table. A handler either writes
/// exactly one reply to `exec.out` and returns `Ok`, or writes nothing and returns an
/// error, or (blocking commands only) writes nothing and sets `exec.block`.
pub type Handler = fn(&mut Exec<'_>, &[Bytes]) -> CmdResult;

/// What a blocking command waits for, when it found nothing to serve.
#[derive(Debug, Clone)]
pub struct BlockRequest {
    pub keys: Vec<Bytes>,
    /// Absolute deadline in Unix ms; `None` = wait forever (timeout 0).
    pub deadline_ms: Option<i64>,
    /// The arguments to re-run with when woken, if not the command as sent
    /// (XREAD's `$` becomes the ID it stood for when the client blocked).
    pub args: Option<Vec<Bytes>>,
}

/// One command's execution context.
pub struct Exec<'a> {
    pub store: &'a mut Store,
    /// The client's selected database.
    pub db: usize,
    pub out: &'a mut ReplyBuf,
    /// Wall clock in Unix milliseconds, fixed for the whole command (Redis caches
    /// `mstime()` per command so one command sees one time).
    pub now: i64,
    pub client_id: u64,
    /// Inside MULTI/EXEC or a script: blocking commands must not block (they reply
    /// as if the timeout expired).
    pub in_multi: bool,
    /// Re-run after a wake-up of a blocked client (the timeout was already parsed).
    pub woken: bool,
    /// Set by a blocking command that found nothing to serve.
    pub block: Option<BlockRequest>,
    /// Set by a handler that already pushed its own propagated form(s) to
    /// `store.prop`, so the server must not propagate the original arguments.
    pub propagated: bool,
    /// The client's ACL user may read any key (SORT's BY and GET patterns
    /// need it).
    pub full_key_access: bool,
}

impl<'a> Exec<'a> {
    pub fn new(store: &'a mut Store, db: usize, out: &'a mut ReplyBuf, now: i64) -> Self {
        Exec {
            store,
            db,
            out,
            now,
            client_id: 0,
            in_multi: false,
            woken: false,
            block: None,
            propagated: false,
            full_key_access: true,
        }
    }

    /// The longest string a command may build (`proto-max-bulk-len`); no
    /// limit for what the master sends (Redis's mustObeyClient): a replica
    /// applies what its master accepted.
    pub fn max_string(&self) -> u64 {
        if self.store.from_master {
            u64::MAX
        } else {
            self.store.config.proto_max_bulk_len
        }
    }

    /// Propagates `args` instead of the original command (may be called several times).
    pub fn propagate_as(&mut self, args: Vec<Bytes>) {
        self.store.propagate(self.db, args);
        self.propagated = true;
    }

    /// Counts `n` changes (Redis's `server.dirty++`): the server propagates the
    /// command only if the count moved.
    pub fn dirty(&mut self, n: u64) {
        self.store.dirty += n;
    }

    /// Runs a handler and, on error, writes the error reply. Returns whether it
    /// succeeded.
    pub fn run(&mut self, h: Handler, args: &[Bytes]) -> bool {
        match h(self, args) {
            Ok(()) => true,
            Err(e) => {
                self.out.error(&e.text());
                false
            }
        }
    }
}
