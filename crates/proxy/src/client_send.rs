//! Sending: which link a client's next requests go to (shared pool link,
//! replica, or its dedicated link), in order, one link at a time (the barrier
//! of the `client` module doc), and whether their replies may go straight to
//! the client's socket (`output`).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tandem_resp::scan::Frame;

use super::{Client, Kind, Slot, DIRECT, DISCARD, NOREPLY, PIN, RAW, READ, TX};
use crate::link::{self, ClientMsg, Link};
use crate::metrics::Metrics;
use crate::router::Pool;

impl Client {
    /// Sends what can be sent, in order, respecting the one-link barrier.
    pub(super) fn pump(&mut self) {
        self.refresh_route();
        if (self.resubscribe || self.retrack)
            && self.pinned.is_none()
            && !self.pin_connecting
            && self.pin_retry_at.is_none()
            && self.n_inflight == 0
        {
            if let Some(m) = self.route.master.as_ref().filter(|m| m.usable()).cloned() {
                self.start_pin(m);
            }
        }
        let mut dead_links = 0;
        while let Some(first) = self.first_unsent() {
            let Some((flags, pin_gen)) = (match &self.slots[first] {
                Slot::Unsent(q) if !self.refusal_holds(q) => Some((q.flags, q.pin_gen)),
                _ => None,
            }) else {
                break;
            };
            if self.n_refused > 0 && self.n_inflight > 0 {
                // A refused request goes again only after every later request
                // of its link is answered (they may be refused as well).
                break;
            }
            let Some((link, replica)) = self.target(flags, pin_gen) else {
                break;
            };
            if self.n_inflight > 0 && self.cur.as_ref().is_some_and(|c| c.id != link.id) {
                break; // barrier: wait for the old link's replies
            }
            // The batch: consecutive requests that go the same way.
            let class = flags & (PIN | READ);
            let mut end = first;
            let mut count = 0u32;
            let mut then_raw = false;
            let mut raw = self.raw;
            let mut unreplied = false;
            // Direct (see `output`): everything before it in flight is direct,
            // nothing of the task's own output is unwritten, and every reply is
            // the client's as is (the checks per request are in the loop).
            let mut direct = class & PIN == 0
                && !self.raw
                && self.n_refused == 0
                && first == self.n_direct
                && self.out.is_empty();
            while end < self.slots.len() {
                match &self.slots[end] {
                    Slot::Unsent(q) if q.flags & (PIN | READ) == class && q.pin_gen == pin_gen => {
                        direct &=
                            q.flags & (DISCARD | TX | RAW | NOREPLY) == 0 && q.kind == Kind::Other;
                        unreplied |= raw || q.flags & (RAW | NOREPLY) != 0;
                        if !raw && q.flags & RAW != 0 {
                            then_raw = true;
                            raw = true;
                        } else if !raw && q.flags & NOREPLY == 0 {
                            count += 1;
                        }
                    }
                    Slot::Unsent(_) => break,
                    // A slot already answered (or in flight) inside the batch,
                    // as a failover leaves them (an "outcome unknown" between
                    // two replayed requests): direct replies must be the front
                    // of the client's order, so this batch's go through the
                    // client task, which writes them in order with the others.
                    _ => direct = false,
                }
                end += 1;
            }
            if unreplied {
                link.forget_positions();
            }
            if direct && self.direct_fell_back && self.n_inflight == 0 {
                self.direct_fell_back = false;
                self.sh.direct_resume();
            }
            let batch = self.slots.range(first..end).filter_map(|s| match s {
                Slot::Unsent(q) if q.flags & (PIN | READ) == class && q.pin_gen == pin_gen => {
                    Some(&q.data[..])
                }
                _ => None,
            });
            let sent = link.send(Some(&self.sh), batch, count, then_raw, direct, self.now);
            if !sent {
                // The link died under us; the pool (or our LinkFailed) will tell.
                dead_links += 1;
                if dead_links > 8 || self.pinned.as_ref().is_some_and(|p| p.link.id == link.id) {
                    break;
                }
                continue;
            }
            // Mark the batch sent.
            let mut raw_now = self.raw;
            for i in first..end {
                if !matches!(self.slots[i], Slot::Unsent(_)) {
                    continue;
                }
                let Slot::Unsent(mut q) = std::mem::replace(&mut self.slots[i], Slot::Done) else {
                    continue;
                };
                let s = &mut self.slots[i];
                self.n_unsent -= 1;
                if let Some(r) = &mut q.rare {
                    if r.refused.take().is_some() {
                        self.n_refused -= 1;
                        self.refused_on = None;
                    }
                    r.held_for = None;
                }
                if raw_now || q.flags & (RAW | NOREPLY) != 0 {
                    raw_now |= q.flags & RAW != 0;
                    self.queued_bytes = self.queued_bytes.saturating_sub(q.data.len());
                    *s = Slot::Done;
                } else {
                    self.n_inflight += 1;
                    if direct {
                        q.flags |= DIRECT;
                        self.n_direct += 1;
                    } else {
                        q.flags &= !DIRECT;
                    }
                    *s = Slot::Inflight(q);
                }
            }
            self.raw = raw_now;
            if self.cur.as_ref().is_none_or(|c| c.id != link.id) {
                self.refused_on = None;
            }
            self.cur = Some(link);
            self.cur_replica = replica;
        }
        self.flush();
        self.account_held();
    }

    /// The link the first unsent request should use now (None: wait), and
    /// whether it leads to a replica.
    pub(super) fn target(&mut self, flags: u8, pin_gen: u32) -> Option<(Arc<Link>, bool)> {
        if flags & PIN != 0 {
            if let Some(p) = &self.pinned {
                let on_master = self.on_master(&p.link);
                if p.gen == pin_gen && !p.link.is_dead() && on_master {
                    return Some((p.link.clone(), false));
                }
                if self.n_inflight > 0 {
                    return None;
                }
                if !on_master && p.gen == pin_gen {
                    // The master changed under the dedicated link: close it and
                    // open one to the new master when its failure comes back
                    // (`on_link_failed`), keeping the session (database, RESP3,
                    // subscriptions) to set up again there.
                    p.link.close();
                    return None;
                }
                self.unpin();
            }
            if self.pin_connecting || self.pin_retry_at.is_some() || self.n_inflight > 0 {
                return None;
            }
            let master = self.route.master.as_ref().filter(|m| m.usable())?.clone();
            self.start_pin(master);
            return None;
        }
        if let Some(p) = &self.pinned {
            let keep = self.linger_pin
                && p.gen == self.pin_gen
                && !p.link.is_dead()
                && self.on_master(&p.link);
            if !keep {
                if self.n_inflight > 0 {
                    return None;
                }
                self.unpin();
            }
        }
        let route = &self.route;
        if flags & READ != 0 {
            if let Some(p) = route.read_pool(self.r.cfg.read_from) {
                if let Some(l) = p.pick() {
                    return Some((l, true));
                }
            }
        }
        let master = route.master.as_ref()?;
        // A client streaming requests stays on its link: moving to another
        // would wait for every reply of this one (the barrier).
        if self.n_inflight > 0 && !self.cur_replica {
            if let Some(c) = &self.cur {
                let pinned = self.pinned.as_ref().is_some_and(|p| p.link.id == c.id);
                if !pinned && !c.is_dead() && *c.node == *master.node && master.usable() {
                    return Some((c.clone(), false));
                }
            }
        }
        master.pick().map(|l| (l, false))
    }

    /// Takes up the router's route if it changed since this client looked.
    pub(super) fn refresh_route(&mut self) {
        if self.gen_rx.has_changed().unwrap_or(false) {
            self.gen_rx.mark_unchanged();
            self.route = self.r.route();
        }
    }

    /// Whether `link` goes to the master the route names now.
    fn on_master(&self, link: &Link) -> bool {
        self.route
            .master
            .as_ref()
            .is_some_and(|m| *m.node == *link.node)
    }

    /// Drops the dedicated link now if nothing is outstanding on it (RESET).
    pub(crate) fn drop_pin_if_idle(&mut self) {
        if self.n_inflight == 0 || self.raw {
            self.unpin();
        }
    }

    pub(super) fn unpin(&mut self) {
        if let Some(p) = self.pinned.take() {
            p.link.close();
            Metrics::gauge(&self.r.metrics.pinned_clients, -1);
            // Its failure, if it died, will not find it pinned any more.
            self.pin_dropped(p.answered);
        }
        self.raw = false;
        self.link_tx_open = false;
        self.db_acked = 0;
    }

    pub(super) fn start_pin(&mut self, master: Arc<Pool>) {
        self.pin_connecting = true;
        let r = self.r.clone();
        let sh = self.sh.clone();
        let gen = self.pin_gen;
        let resp3 = self.s.resp3;
        // The db the backend must be in: SELECTs still queued re-select themselves.
        let db = self.db_acked;
        // After a failover, a subscribed client's subscriptions are set up again
        // before anything else (their confirmations are swallowed).
        let subs: Vec<(&'static [u8], Vec<Bytes>)> = if self.resubscribe {
            [&b"SUBSCRIBE"[..], b"PSUBSCRIBE", b"SSUBSCRIBE"]
                .into_iter()
                .zip(self.s.subs.iter())
                .filter(|(_, set)| !set.is_empty())
                .map(|(cmd, set)| (cmd, set.iter().cloned().collect()))
                .collect()
        } else {
            Vec::new()
        };
        // A tracking client's CLIENT TRACKING commands, replies swallowed.
        let tracking: Vec<Vec<Bytes>> = if self.retrack {
            self.s.tracking_cmds.clone()
        } else {
            Vec::new()
        };
        // A named user's link logs in as the user, once the master has shown
        // it still accepts the login: a refused AUTH would leave the link
        // logged in as the default user.
        let login = self.s.user.clone();
        tokio::spawn(async move {
            if let Some(l) = &login {
                let timeout = r.cfg.connect_timeout.max(Duration::from_millis(200));
                match crate::verify::ask(&master.node, None, &l.auth_args(), timeout).await {
                    Ok(Some(Frame::Simple(_))) => {}
                    Ok(Some(Frame::Error(why))) => {
                        let _ = sh.tx.send(ClientMsg::LoginRefused { gen, why });
                        return;
                    }
                    other => {
                        if let Err(e) = other {
                            tracing::warn!("login check on {} failed: {e}", master.node);
                        }
                        let _ = sh.tx.send(ClientMsg::Pinned { gen, link: None });
                        return;
                    }
                }
            }
            let mut o = r.link_opts(
                master.node.clone(),
                Some(sh.clone()),
                resp3,
                db,
                None,
                login.as_ref(),
            );
            for args in &tracking {
                tandem_resp::encode_request(args, &mut o.init);
                o.init_count += 1;
            }
            link::add_subscriptions(&mut o, &subs);
            let link = match link::open(o).await {
                Ok(l) => {
                    master.register_dedicated(&l);
                    Some(l)
                }
                Err(e) => {
                    tracing::warn!("dedicated connection to {} failed: {e}", master.node);
                    None
                }
            };
            if let Err(e) = sh.tx.send(ClientMsg::Pinned { gen, link }) {
                // The client left meanwhile.
                if let ClientMsg::Pinned { link: Some(l), .. } = e.0 {
                    l.close();
                }
            }
        });
    }
}
