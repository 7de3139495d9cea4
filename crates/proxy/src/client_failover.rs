//! What a client does when a link fails under it or a held request waits too
//! long: the replay rules of the proxy (see the `client` module doc).

use std::time::Instant;

use bytes::Bytes;

use super::{
    empty_req, err_bytes, Client, Kind, Req, Slot, DISCARD, EXEC_ABORTED, HOLD_TIMEOUT,
    OUTCOME_UNKNOWN, SAFE, TX, TX_ABORTED,
};
use crate::link::LinkId;
use crate::metrics::Metrics;

impl Client {
    pub(super) fn on_link_failed(&mut self, link: LinkId, sent: u32) {
        let was_pinned = self.pinned.as_ref().is_some_and(|p| p.link.id == link);
        let mut pin_answered = false;
        if was_pinned {
            if let Some(p) = self.pinned.take() {
                pin_answered = p.answered;
                Metrics::gauge(&self.r.metrics.pinned_clients, -1);
            }
        }
        let was_cur = self.cur.as_ref().is_some_and(|c| c.id == link);
        if !was_cur && !was_pinned {
            return;
        }
        let m = self.r.metrics.clone();
        let now = Instant::now();
        let mut k = 0u32;
        let mut tx_open = was_pinned && self.link_tx_open;
        let mut watch_open = tx_open && self.s.watching;
        for i in 0..self.slots.len() {
            let (ambiguous, q) = match &mut self.slots[i] {
                Slot::Inflight(q) if was_cur => {
                    let amb = k < sent;
                    k += 1;
                    (amb, std::mem::replace(q, empty_req()))
                }
                Slot::Unsent(q) if q.flags & TX != 0 && was_pinned => {
                    self.n_unsent -= 1;
                    (false, std::mem::replace(q, empty_req()))
                }
                _ => continue,
            };
            let discard = q.flags & DISCARD != 0;
            let reply = |msg: &str| {
                if discard {
                    Slot::Done
                } else {
                    Slot::Ready(err_bytes(msg))
                }
            };
            self.queued_bytes = self.queued_bytes.saturating_sub(q.data.len());
            let new = if q.flags & TX != 0 && was_pinned {
                if tx_open {
                    if matches!(q.kind, Kind::Exec | Kind::Discard | Kind::ExecAbort) {
                        tx_open = false;
                    }
                    match q.kind {
                        Kind::Exec if ambiguous => reply(OUTCOME_UNKNOWN),
                        Kind::Exec | Kind::ExecAbort if watch_open => {
                            if discard {
                                Slot::Done
                            } else {
                                Slot::Ready(Bytes::from_static(b"*-1\r\n"))
                            }
                        }
                        Kind::Exec | Kind::ExecAbort => reply(EXEC_ABORTED),
                        Kind::Discard => {
                            if discard {
                                Slot::Done
                            } else {
                                Slot::Ready(Bytes::from_static(b"+OK\r\n"))
                            }
                        }
                        _ => reply(TX_ABORTED),
                    }
                } else if ambiguous {
                    if matches!(q.kind, Kind::Multi | Kind::Watch) {
                        tx_open = true;
                        watch_open |= q.kind == Kind::Watch;
                    }
                    Metrics::inc(&m.outcome_unknown_total);
                    reply(OUTCOME_UNKNOWN)
                } else {
                    self.n_unsent += 1;
                    self.queued_bytes += q.data.len();
                    Slot::Unsent(Req { since: now, ..q })
                }
            } else if ambiguous && q.flags & SAFE == 0 {
                Metrics::inc(&m.outcome_unknown_total);
                reply(OUTCOME_UNKNOWN)
            } else {
                if ambiguous {
                    Metrics::inc(&m.replayed_total);
                }
                self.n_unsent += 1;
                self.queued_bytes += q.data.len();
                Slot::Unsent(Req { since: now, ..q })
            };
            self.slots[i] = new;
        }
        if was_cur {
            // Every request in flight was on this link, the direct ones too;
            // their flags are set again when they are sent again.
            self.n_inflight = 0;
            self.n_direct = 0;
            self.cur = None;
            self.refused_on = None;
        }
        if was_pinned {
            self.link_tx_open = false;
            self.tx_refusal = None;
            if tx_open || self.s.in_multi || self.s.watching {
                self.s.tx_broken = self.s.in_multi;
                self.s.tx_broken_watch = watch_open || self.s.watching;
                self.s.in_multi = false;
                self.s.watching = false;
            }
            self.pin_dropped(pin_answered);
            if self.raw || self.s.subscribed {
                self.raw = false;
                if self.s.subs.iter().all(|set| set.is_empty()) {
                    // Nothing to restore (everything was unsubscribed).
                    self.s.subscribed = false;
                } else {
                    // Subscribe again on the new master; messages published in
                    // between are lost (pub/sub delivers at most once).
                    self.resubscribe = true;
                }
            }
        }
        self.pump();
    }

    /// The dedicated link is gone (failed, or dropped dead). For a tracking
    /// client, invalidations sent meanwhile are lost: a RESP3 client drops its
    /// whole cache (a null invalidation, as after FLUSHALL), and tracking is
    /// turned on again on the next dedicated link before the client's next
    /// request. Only a link that answered can have fed the cache (a new link
    /// that dies at once needs no second flush).
    pub(super) fn pin_dropped(&mut self, answered: bool) {
        if self.s.tracking_cmds.is_empty() {
            return;
        }
        self.retrack = true;
        if self.s.resp3 && answered {
            self.flush();
            self.out
                .extend_from_slice(b">2\r\n$10\r\ninvalidate\r\n_\r\n");
        }
    }

    pub(super) fn expire_held(&mut self) {
        let now = Instant::now();
        let limit = self.r.cfg.hold_timeout;
        for i in 0..self.slots.len() {
            let expired =
                matches!(&self.slots[i], Slot::Unsent(q) if now.duration_since(q.since) >= limit);
            if !expired {
                continue;
            }
            if let Slot::Unsent(q) = std::mem::replace(&mut self.slots[i], Slot::Done) {
                self.n_unsent -= 1;
                self.queued_bytes = self.queued_bytes.saturating_sub(q.data.len());
                Metrics::inc(&self.r.metrics.hold_timeouts_total);
                let mut rare = q.rare;
                let reply = match rare.as_mut().and_then(|r| r.refused.take()) {
                    // Refused by the master and no switch came: its reply as is.
                    Some(r) => {
                        self.n_refused -= 1;
                        r
                    }
                    // INFO answers with the proxy's own sections.
                    None => match rare.as_ref().and_then(|r| r.info.as_ref()) {
                        Some(ask) => self.info_reply(ask, None),
                        None => err_bytes(HOLD_TIMEOUT),
                    },
                };
                if q.flags & DISCARD == 0 {
                    self.slots[i] = Slot::Ready(reply);
                }
            }
        }
        if self.n_refused == 0 {
            self.refused_on = None;
        }
        self.pump();
    }
}
