//! Replies of the current link, matched to the client's in-flight requests, and
//! the refusals that mean "a switch is under way".
//!
//! A master that is being switched away from (planned switchover: CLIENT PAUSE
//! WRITE, promote the replica, publish the topology, REPLICAOF the old master,
//! unpause) answers the writes it had paused with `-READONLY` once it is a replica:
//! they were not applied. So a request of a shared master link answered with one
//! of the [`refused`] errors is not handed to the client; it goes back to Unsent,
//! held until the route names another master or a higher epoch, then replayed
//! there in order; if no switch comes within `hold-timeout`, the client gets the
//! refusal as it was. Later replies of the same link are ordered after it: a
//! SAFE request (read, idempotent write) is replayed too, so it executes after
//! the refused one as the client sent them; any other answer is its real outcome
//! and is delivered (it cannot be replayed without a double apply).
//! The same holds on a client's dedicated link (SELECT, RESP3, blocking
//! commands): the held request goes to a new dedicated link to the new master,
//! set up with the same session. A transaction is held as a whole: when the
//! node refuses its EXEC or its queued commands (it was demoted while the EXEC
//! or a queued write sat paused), MULTI, the queued commands and EXEC run again
//! on the new master, and the client gets that EXEC's reply
//! ([`Client::hold_refused_tx`]). Pub/sub mode and replica reads keep the
//! node's reply as is.

use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use tandem_resp::Limits;

use super::{err_bytes, Client, Kind, Rare, Req, Slot, TxLog, DIRECT, DISCARD, SAFE, TX};
use crate::link::Link;
use crate::metrics::Metrics;

/// Error replies of a node that refused a request before executing it because
/// it is not (or no longer) a master that may write: replaying the request on
/// the new master cannot apply it twice. `NOREPLICAS` of Tandem's sync mode is
/// not here: a gated batch gets it after its writes were applied.
pub(crate) fn refused(reply: &[u8]) -> bool {
    const PREFIXES: [&[u8]; 5] = [
        b"-READONLY ",
        b"-LOADING ",
        b"-MASTERDOWN ",
        b"-FENCED ",
        // A blocked command released by its master's demotion (not CLIENT
        // UNBLOCK ... ERROR, whose text differs).
        b"-UNBLOCKED force unblock from blocking operation, instance state changed",
    ];
    PREFIXES.iter().any(|p| reply.starts_with(p))
        || reply.starts_with(b"-NOREPLICAS Not enough good replicas to write.\r\n")
}

/// How often a request refused with `-LOADING` goes to the same master again.
const LOADING_RETRY: std::time::Duration = std::time::Duration::from_millis(50);

const PREVIOUS_ERRORS: &[u8] = b"-EXECABORT Transaction discarded because of previous errors.";
/// Redis's EXEC refused by the node's state: followed by the refusal.
const ABORTED_BECAUSE: &[u8] = b"-EXECABORT Transaction discarded because of: ";

/// An EXEC reply that says none of the transaction ran because the node stopped
/// being a writable master: the refusal itself, `EXECABORT Transaction
/// discarded because of: <refusal>`, or (Redis 7.0 running an EXEC it had
/// paused, once demoted) an array with a refusal for every queued command. An
/// array mixing refusals with results (reads ran) is an outcome, kept as is.
pub(crate) fn refused_exec(reply: &[u8]) -> bool {
    if refused(reply) {
        return true;
    }
    if let Some(rest) = reply.strip_prefix(ABORTED_BECAUSE) {
        let mut own = Vec::with_capacity(rest.len() + 1);
        own.push(b'-');
        own.extend_from_slice(rest);
        return refused(&own);
    }
    let Some(body) = reply.strip_prefix(b"*") else {
        return false;
    };
    let line_end = |b: &[u8]| b.windows(2).position(|w| w == b"\r\n");
    let Some(eol) = line_end(body) else {
        return false;
    };
    let Some(n) = std::str::from_utf8(&body[..eol])
        .ok()
        .and_then(|t| t.parse::<usize>().ok())
    else {
        return false;
    };
    let mut pos = eol + 2;
    for _ in 0..n {
        let el = &body[pos..];
        let Some(e) = line_end(el).filter(|_| refused(el)) else {
            return false;
        };
        pos += e + 2;
    }
    n > 0 && pos == body.len()
}

impl Client {
    /// `count` replies of the current link, for the oldest in-flight slots.
    pub(super) fn on_replies(&mut self, data: Bytes, count: usize) {
        self.n_inflight = self.n_inflight.saturating_sub(count);
        // An error reply is on the slow path (it may be a refusal to hold).
        let errorish = if count == 1 {
            data.first() == Some(&b'-')
        } else {
            data.contains(&b'-')
        };
        let fast = self.refused_on.is_none()
            && !(errorish && self.may_hold())
            && self.slots.len() >= count
            && self.slots.iter().take(count).all(|s| {
                matches!(s, Slot::Inflight(q) if q.flags & DISCARD == 0 && q.kind == Kind::Other)
            });
        if fast {
            for _ in 0..count {
                if let Some(Slot::Inflight(mut q)) = self.slots.pop_front() {
                    self.queued_bytes = self.queued_bytes.saturating_sub(q.data.len());
                    self.landed(&mut q);
                }
            }
            self.out.extend_from_slice(&data);
            return;
        }
        let limits = Limits::default();
        let mut pos = 0;
        for _ in 0..count {
            let len = match tandem_resp::scan::value_len(&data[pos..], &limits) {
                Ok(Some(n)) => n,
                _ => {
                    tracing::error!("client {}: reply split failed", self.sh.id);
                    self.close_now = true;
                    return;
                }
            };
            let mut reply = data.slice(pos..pos + len);
            pos += len;
            self.flush();
            let Some(i) = self
                .slots
                .iter()
                .position(|s| matches!(s, Slot::Inflight(_)))
            else {
                tracing::error!("client {}: reply without a request", self.sh.id);
                self.close_now = true;
                return;
            };
            let Slot::Inflight(q) = &self.slots[i] else {
                return;
            };
            if q.flags & TX != 0
                && !matches!(
                    q.kind,
                    Kind::Multi | Kind::Exec | Kind::Discard | Kind::ExecAbort
                )
                && self.link_tx_open
                && !self.cur_replica
                && refused(&reply)
            {
                // Queued on a node that just stopped being a writable master:
                // the node will discard the transaction and its EXEC replays
                // it, so the command counts as queued.
                self.tx_refusal.get_or_insert(reply);
                reply = Bytes::from_static(b"+QUEUED\r\n");
            } else if q.kind == Kind::Exec {
                let refusal = self.tx_refusal.take();
                if q.has_tx() && !self.cur_replica {
                    let held = match refusal {
                        Some(r) if reply.starts_with(PREVIOUS_ERRORS) => {
                            let mut why = BytesMut::from(ABORTED_BECAUSE);
                            why.extend_from_slice(&r[1..]);
                            Some(why.freeze())
                        }
                        _ => refused_exec(&reply).then(|| reply.clone()),
                    };
                    if let Some(why) = held {
                        self.hold_refused_tx(i, why);
                        continue;
                    }
                }
            }
            // Per reply: a held EXEC ends the link's transaction.
            let may_hold = self.may_hold();
            if may_hold && q.flags & TX == 0 {
                let after_refusal = self.refused_on.is_some() && q.flags & SAFE != 0;
                if refused(&reply) || after_refusal {
                    self.hold_refused(i, reply);
                    continue;
                }
            }
            let Slot::Inflight(mut q) = std::mem::replace(&mut self.slots[i], Slot::Done) else {
                return;
            };
            self.landed(&mut q);
            self.queued_bytes = self.queued_bytes.saturating_sub(q.data.len());
            let ok = reply.first() != Some(&b'-');
            match q.kind {
                Kind::Select(db) => {
                    if ok {
                        self.db_acked = i64::from(db);
                    }
                }
                // A blocking request's count in `blocked_clients` ends with it.
                Kind::Other | Kind::Blocking => {}
                Kind::Info => {
                    if let Some(ask) = q.rare.as_mut().and_then(|r| r.info.take()) {
                        reply = self.info_reply(&ask, Some(&reply[..]));
                    }
                }
                Kind::Multi => {
                    self.link_tx_open |= ok;
                    self.tx_refusal = None;
                }
                Kind::Watch => self.link_tx_open |= ok,
                Kind::Exec | Kind::Discard | Kind::ExecAbort => self.link_tx_open = false,
                Kind::Unwatch => {}
                Kind::Auth => {
                    if let Some(a) = q.rare.as_mut().and_then(|r| r.auth.take()) {
                        if let Some(instead) = self.auth_answered(*a, ok) {
                            reply = instead;
                        }
                    }
                }
            }
            // Written by the next flush, once every slot before it is answered
            // (a held request may be in front of it).
            if q.flags & DISCARD != 0 {
                continue;
            }
            self.slots[i] = Slot::Ready(if q.kind == Kind::ExecAbort {
                err_bytes("EXECABORT Transaction discarded because of previous errors.")
            } else {
                reply
            });
        }
        self.flush();
    }

    /// `q` left flight with its reply delivered as a message: if it was direct,
    /// its link turned direct delivery off (see `output`).
    pub(super) fn landed(&mut self, q: &mut Req) {
        if q.flags & DIRECT != 0 {
            q.flags &= !DIRECT;
            self.n_direct = self.n_direct.saturating_sub(1);
            self.direct_fell_back = true;
        }
    }

    /// Replies of the current link may be held: a shared link to the master.
    fn may_hold(&self) -> bool {
        let Some(cur) = &self.cur else {
            return false;
        };
        let dedicated = self.pinned.as_ref().is_some_and(|p| p.link.id == cur.id);
        // A dedicated link inside a transaction or in pub/sub mode keeps the
        // node's replies as they are.
        !self.cur_replica && !(dedicated && (self.link_tx_open || self.raw))
    }

    /// Takes refused in-flight slot `i` out of flight (leaving Done in its
    /// place), with the link that refused it, on the route as it is now.
    fn take_refused(&mut self, i: usize) -> Option<(Arc<Link>, Req)> {
        self.refresh_route();
        let cur = self.cur.clone()?;
        let Slot::Inflight(mut q) = std::mem::replace(&mut self.slots[i], Slot::Done) else {
            return None;
        };
        self.landed(&mut q);
        Some((cur, q))
    }

    /// Turns in-flight slot `i`, answered with `reply`, back into a held request.
    fn hold_refused(&mut self, i: usize, reply: Bytes) {
        let Some((cur, mut q)) = self.take_refused(i) else {
            return;
        };
        let now = std::time::Instant::now();
        // `-LOADING`: the same master serves once its load ends. Sent to it
        // again every LOADING_RETRY within the hold-timeout of the first
        // refusal (not a fresh one per try).
        let loading = reply.starts_with(b"-LOADING ");
        let retrying = q.rare.as_ref().is_some_and(|r| r.retry_at.is_some());
        if !(loading && retrying) {
            q.since = now;
        }
        let held_for = Some((self.route.epoch, cur.node.clone()));
        let rare = q.rare();
        rare.refused = Some(reply);
        rare.held_for = held_for;
        rare.retry_at = loading.then(|| now + LOADING_RETRY);
        if let Some(t) = rare.retry_at {
            self.refused_retry_at = Some(self.refused_retry_at.map_or(t, |r| r.min(t)));
        }
        self.slots[i] = Slot::Unsent(q);
        self.n_unsent += 1;
        self.n_refused += 1;
        self.refused_on = Some(cur.id);
        Metrics::inc(&self.r.metrics.refused_held_total);
    }

    /// In-flight EXEC `i` was refused unexecuted: the node discarded its
    /// transaction. The transaction goes back to Unsent as a whole (MULTI and
    /// the queued commands, their replies already given and so dropped this
    /// time, then the EXEC), held like any refused request and replayed on a
    /// new dedicated link to the next master. After a WATCH it cannot be run
    /// again (the watched keys may have changed since): the EXEC answers
    /// "aborted" (null), as when a watched key changed, and the client retries.
    fn hold_refused_tx(&mut self, i: usize, reply: Bytes) {
        let Some((cur, mut q)) = self.take_refused(i) else {
            return;
        };
        self.link_tx_open = false;
        let Some(tx) = q.rare().tx.take() else {
            return;
        };
        if tx.watched {
            self.queued_bytes = self.queued_bytes.saturating_sub(q.data.len());
            if q.flags & DISCARD == 0 {
                let null: &'static [u8] = if self.s.resp3 { b"_\r\n" } else { b"*-1\r\n" };
                self.slots[i] = Slot::Ready(Bytes::from_static(null));
            }
            return;
        }
        let now = std::time::Instant::now();
        let held_for = Some((self.route.epoch, cur.node.clone()));
        let flags = q.flags & !DIRECT;
        let mut block: Vec<Slot> = tx
            .reqs
            .iter()
            .enumerate()
            .map(|(k, data)| {
                Slot::Unsent(Req {
                    data: data.clone(),
                    flags: flags | DISCARD,
                    kind: if k == 0 { Kind::Multi } else { Kind::Other },
                    since: now,
                    pin_gen: q.pin_gen,
                    rare: Some(Box::new(Rare {
                        held_for: held_for.clone(),
                        ..Rare::default()
                    })),
                })
            })
            .collect();
        self.queued_bytes += tx.reqs.iter().map(|d| d.len()).sum::<usize>();
        q.since = now;
        *q.rare() = Rare {
            refused: Some(reply),
            held_for,
            tx: Some(tx),
            ..Rare::default()
        };
        block.push(Slot::Unsent(q));
        self.n_unsent += block.len();
        self.n_refused += 1;
        self.refused_on = Some(cur.id);
        for (k, slot) in block.into_iter().enumerate() {
            if k == 0 {
                self.slots[i] = slot;
            } else {
                self.slots.insert(i + k, slot);
            }
        }
        Metrics::inc(&self.r.metrics.refused_held_total);
    }

    /// Records what a transaction sends, for [`Self::hold_refused_tx`]; returns
    /// the log an EXEC carries.
    pub(super) fn log_tx(&mut self, flags: u8, kind: Kind, data: &Bytes) -> Option<Box<TxLog>> {
        if flags & TX == 0 {
            if kind == Kind::Unwatch {
                self.tx_log.watched = false;
            }
            return None;
        }
        match kind {
            Kind::Watch => self.tx_log.watched = true,
            Kind::Multi => {
                self.tx_log.reqs.clear();
                self.tx_log.reqs.push(data.clone());
            }
            Kind::Exec => {
                let log = std::mem::take(&mut self.tx_log);
                return (!log.reqs.is_empty()).then(|| Box::new(log));
            }
            Kind::Discard | Kind::ExecAbort => self.tx_log = TxLog::default(),
            Kind::Other
            | Kind::Select(_)
            | Kind::Unwatch
            | Kind::Auth
            | Kind::Info
            | Kind::Blocking => {
                if !self.tx_log.reqs.is_empty() {
                    self.tx_log.reqs.push(data.clone());
                }
            }
        }
        None
    }

    /// A refused request waits while the route still names the master that
    /// refused it, at the epoch it was refused under; one refused with
    /// `-LOADING` only until its retry time.
    pub(super) fn refusal_holds(&self, q: &super::Req) -> bool {
        match q.held_for() {
            None => false,
            Some((epoch, node)) => {
                self.route.epoch <= *epoch
                    && self
                        .route
                        .master
                        .as_ref()
                        .is_some_and(|m| *m.node == **node)
                    && q.rare
                        .as_ref()
                        .and_then(|r| r.retry_at)
                        .is_none_or(|t| self.now < t)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{refused, refused_exec};

    #[test]
    fn exec_aborted_by_a_refusal_is_replayable() {
        assert!(refused_exec(
            b"-EXECABORT Transaction discarded because of: READONLY You can't write against a read only replica.\r\n"
        ));
        assert!(!refused_exec(
            b"-EXECABORT Transaction discarded because of previous errors.\r\n"
        ));
        assert!(refused_exec(
            b"*2\r\n-READONLY You can't write against a read only replica.\r\n-READONLY You can't write against a read only replica.\r\n"
        ));
        assert!(!refused_exec(b"*2\r\n:1\r\n:2\r\n"));
        assert!(!refused_exec(b"*0\r\n"));
        // A read ran: its result is an outcome.
        assert!(!refused_exec(
            b"*2\r\n$1\r\nx\r\n-READONLY You can't write against a read only replica.\r\n"
        ));
        assert!(!refused_exec(
            b"*2\r\n-READONLY You can't write against a read only replica.\r\n"
        ));
    }

    #[test]
    fn refusals_before_execution_are_replayable() {
        for r in [
            &b"-READONLY You can't write against a read only replica.\r\n"[..],
            b"-LOADING Redis is loading the dataset in memory\r\n",
            b"-MASTERDOWN Link with MASTER is down and replica-serve-stale-data is set to 'no'.\r\n",
            b"-FENCED This node was fenced by epoch 3 (its epoch is 2): writes are refused\r\n",
            b"-FENCED No replica or monitor contact for 2000 ms (fence-timeout): writes are refused\r\n",
            b"-NOREPLICAS Not enough good replicas to write.\r\n",
            b"-UNBLOCKED force unblock from blocking operation, instance state changed (master -> replica?)\r\n",
        ] {
            assert!(refused(r) && refused_exec(r), "{}", String::from_utf8_lossy(r));
        }
    }

    #[test]
    fn other_replies_are_outcomes() {
        for r in [
            &b":1\r\n"[..],
            b"+OK\r\n",
            b"$8\r\nREADONLY\r\n",
            b"-ERR value is not an integer or out of range\r\n",
            b"-WRONGTYPE Operation against a key holding the wrong kind of value\r\n",
            // Sync mode: the batch was applied, only not acknowledged.
            b"-NOREPLICAS Not enough replicas acknowledged the write within sync-timeout (replication-mode sync).\r\n",
            b"-READONLYX\r\n",
            // CLIENT UNBLOCK id ERROR: the client asked for it.
            b"-UNBLOCKED client unblocked via CLIENT UNBLOCK\r\n",
        ] {
            assert!(!refused(r), "{}", String::from_utf8_lossy(r));
        }
    }
}
