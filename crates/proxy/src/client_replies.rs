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
//! set up with the same session. Transactions, pub/sub mode and replica reads
//! keep the node's reply as is.

use bytes::Bytes;
use tandem_resp::Limits;

use super::{err_bytes, Client, Kind, Req, Slot, DIRECT, DISCARD, SAFE, TX};
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
        let may_hold = self.may_hold();
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
            let reply = data.slice(pos..pos + len);
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
                        self.db_acked = db;
                    }
                }
                Kind::Other => {}
                Kind::Multi | Kind::Watch => self.link_tx_open |= ok,
                Kind::Exec | Kind::Discard | Kind::ExecAbort => self.link_tx_open = false,
                Kind::Unwatch => {}
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

    /// Turns in-flight slot `i`, answered with `reply`, back into a held request.
    fn hold_refused(&mut self, i: usize, reply: Bytes) {
        if self.gen_rx.has_changed().unwrap_or(false) {
            self.gen_rx.mark_unchanged();
            self.route = self.r.route();
        }
        let Some(cur) = self.cur.clone() else {
            return;
        };
        let Slot::Inflight(mut q) = std::mem::replace(&mut self.slots[i], Slot::Done) else {
            return;
        };
        self.landed(&mut q);
        q.since = std::time::Instant::now();
        q.refused = Some(reply);
        q.held_for = Some((self.route.epoch, cur.node.clone()));
        self.slots[i] = Slot::Unsent(q);
        self.n_unsent += 1;
        self.n_refused += 1;
        self.refused_on = Some(cur.id);
        Metrics::inc(&self.r.metrics.refused_held_total);
    }

    /// A refused request waits while the route still names the master that
    /// refused it, at the epoch it was refused under.
    pub(super) fn refusal_holds(&self, q: &super::Req) -> bool {
        match &q.held_for {
            None => false,
            Some((epoch, node)) => {
                self.route.epoch <= *epoch
                    && self
                        .route
                        .master
                        .as_ref()
                        .is_some_and(|m| *m.node == **node)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::refused;

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
            assert!(refused(r), "{}", String::from_utf8_lossy(r));
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
