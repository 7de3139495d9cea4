//! Logging in through the proxy: AUTH and HELLO. The default user's password
//! is the proxy's own (`requirepass`); any other ACL user's login goes to the
//! master, and nothing after it is parsed until it is answered (the requests
//! must run as whoever the reply says). Accepted, the client's requests run as
//! that user on a dedicated link logged in as it (`Session::user`), after a
//! failover too; a new master that refuses the login closes the client.

use bytes::Bytes;
use tandem_resp::ReplyBuf;

use super::{err_bytes, Client, Kind, Slot, DISCARD, PIN, SAFE};
use crate::commands::{eq, name_ok, parse_i64, WRONGPASS};
use crate::link::Login;
use crate::metrics::Metrics;

/// An ACL user's login sent to the master for checking, and the HELLO it came
/// in (answered by the proxy once the login is accepted).
pub(crate) struct AuthReq {
    pub login: Login,
    pub hello: Option<HelloRest>,
}

/// What a `HELLO [proto] AUTH user pass [SETNAME name]` does after the login.
pub(crate) struct HelloRest {
    pub proto: Option<bool>,
    pub name: Option<Bytes>,
}

impl Client {
    /// A named user's AUTH is still unanswered (checked only while waiting).
    pub(super) fn auth_in_queue(&self) -> bool {
        self.slots.iter().any(|s| match s {
            Slot::Unsent(q) | Slot::Inflight(q) => q.kind == Kind::Auth,
            _ => false,
        })
    }

    /// The proxy's own check of the default user's password (`requirepass`).
    fn password_ok(&self, pass: &[u8]) -> bool {
        match &self.r.cfg.requirepass {
            Some(p) => p.as_bytes() == pass,
            None => true,
        }
    }

    /// Logged in as the default user (the proxy's password): a dedicated link
    /// logged in as a named user must not serve this client any more.
    fn login_default(&mut self) {
        self.s.authed = true;
        self.parser.set_auth_required(false);
        if self.s.user.take().is_some() {
            self.pin_gen = self.pin_gen.wrapping_add(1);
        }
    }

    pub(crate) fn auth(&mut self, args: &[&[u8]], discard: bool) {
        if args.len() > 3 {
            return self.error("ERR syntax error", discard);
        }
        if args.len() == 2 && self.r.cfg.requirepass.is_none() {
            return self.error("ERR AUTH <password> called without any password configured for the default user. Are you sure your configuration is correct?", discard);
        }
        if args.len() == 3 && args[1] != b"default" {
            return self.auth_user(args[1], args[2], None, discard);
        }
        if self.password_ok(args[args.len() - 1]) {
            self.login_default();
            self.ready(Bytes::from_static(b"+OK\r\n"), discard);
        } else {
            self.error(WRONGPASS, discard);
        }
    }

    /// A named ACL user's login: the master checks it (the proxy keeps no
    /// users), and the requests after it wait until it is answered. Accepted,
    /// the client's requests run as that user on a dedicated link.
    fn auth_user(&mut self, user: &[u8], pass: &[u8], hello: Option<HelloRest>, discard: bool) {
        if self.s.in_multi {
            self.s.multi_dirty = true;
            return self.error(
                "ERR Tandem proxy: AUTH or HELLO as an ACL user inside MULTI is not supported",
                discard,
            );
        }
        let login = Login {
            user: Some(Bytes::copy_from_slice(user)),
            pass: Bytes::copy_from_slice(pass),
        };
        let flags = PIN | SAFE | self.discard_flag(discard);
        self.forward_words(&login.auth_args(), flags, Kind::Auth);
        if let Some(Slot::Unsent(q)) = self.slots.back_mut() {
            if q.kind == Kind::Auth {
                q.rare().auth = Some(Box::new(AuthReq { login, hello }));
                self.auth_waiting = true;
            }
        }
    }

    /// The master answered a named user's AUTH: adopt the user if it accepted.
    /// Returns the reply to send instead of the master's (a HELLO's).
    pub(crate) fn auth_answered(&mut self, a: AuthReq, ok: bool) -> Option<Bytes> {
        if !ok {
            return None;
        }
        // The dedicated link that carried it is now logged in as the user.
        self.s.user = Some(a.login);
        self.s.authed = true;
        self.parser.set_auth_required(false);
        let h = a.hello?;
        Some(match self.hello_finish(h.proto, h.name.as_deref()) {
            Ok(b) => b,
            Err(e) => crate::client::err_bytes(e),
        })
    }

    pub(crate) fn hello(&mut self, args: &[&[u8]], discard: bool) {
        let mut proto = None;
        let mut i = 1;
        if args.len() > 1 {
            let Some(v) = parse_i64(args[1]) else {
                return self.error(
                    "ERR Protocol version is not an integer or out of range",
                    discard,
                );
            };
            if !(2..=3).contains(&v) {
                return self.error("NOPROTO unsupported protocol version", discard);
            }
            proto = Some(v == 3);
            i = 2;
        }
        let mut auth = None;
        let mut name = None;
        while i < args.len() {
            let more = args.len() - i - 1;
            if eq(args[i], "AUTH") && more >= 2 {
                auth = Some((args[i + 1], args[i + 2]));
                i += 3;
            } else if eq(args[i], "SETNAME") && more >= 1 {
                name = Some(args[i + 1]);
                i += 2;
            } else {
                let o = String::from_utf8_lossy(args[i]).to_string();
                return self.error(&format!("ERR Syntax error in HELLO option '{o}'"), discard);
            }
        }
        if let Some((u, p)) = auth {
            if u != b"default" {
                let rest = HelloRest {
                    proto,
                    name: name.map(Bytes::copy_from_slice),
                };
                return self.auth_user(u, p, Some(rest), discard);
            }
            if !self.password_ok(p) {
                return self.error(WRONGPASS, discard);
            }
            self.login_default();
        }
        if !self.s.authed {
            return self.error("NOAUTH HELLO must be called with the client already authenticated, otherwise the HELLO <proto> AUTH <user> <pass> option can be used to authenticate the client and select the RESP protocol version at the same time", discard);
        }
        match self.hello_finish(proto, name) {
            Ok(b) => {
                Metrics::inc(&self.r.metrics.commands_local);
                self.ready(b, discard);
            }
            Err(e) => self.error(e, discard),
        }
    }

    /// HELLO once authenticated: the name, the protocol, and the reply.
    fn hello_finish(
        &mut self,
        proto: Option<bool>,
        name: Option<&[u8]>,
    ) -> Result<Bytes, &'static str> {
        if let Some(n) = name {
            if !name_ok(n) {
                return Err(
                    "ERR Client names cannot contain spaces, newlines or special characters.",
                );
            }
            self.s.name = (!n.is_empty()).then(|| Bytes::copy_from_slice(n));
        }
        if let Some(p3) = proto {
            if p3 != self.s.resp3 {
                self.s.resp3 = p3;
                // The dedicated link speaks the old protocol: use a new one.
                self.pin_gen = self.pin_gen.wrapping_add(1);
            }
        }
        let mut o = ReplyBuf::small(self.proto());
        o.map(7);
        o.bulk(b"server");
        o.bulk(b"redis");
        o.bulk(b"version");
        o.bulk(crate::info::REDIS_VERSION.as_bytes());
        o.bulk(b"proto");
        o.int(if self.s.resp3 { 3 } else { 2 });
        o.bulk(b"id");
        o.int(self.sh.id as i64);
        o.bulk(b"mode");
        o.bulk(b"standalone");
        o.bulk(b"role");
        o.bulk(b"master");
        o.bulk(b"modules");
        o.empty_array();
        Ok(o.take().freeze())
    }

    /// A new dedicated link could not log in as the client's user (deleted,
    /// disabled or given a new password on the master): as Redis closes the
    /// connections of a deleted user, the client is closed, and what it had
    /// not sent yet is answered with the master's reason first.
    pub(crate) fn login_refused(&mut self, why: &[u8]) {
        let why = String::from_utf8_lossy(why);
        tracing::warn!(
            "client {}: the master refused its user at login ({why}); closing it",
            self.sh.id
        );
        let msg = err_bytes(&format!(
            "ERR Tandem proxy: the master refused this connection's user ({why}); the command was not sent"
        ));
        for i in 0..self.slots.len() {
            if let Slot::Unsent(q) = std::mem::replace(&mut self.slots[i], Slot::Done) {
                self.n_unsent -= 1;
                self.queued_bytes = self.queued_bytes.saturating_sub(q.data.len());
                if q.rare.is_some_and(|r| r.refused.is_some()) {
                    self.n_refused -= 1;
                }
                if q.flags & DISCARD == 0 {
                    self.slots[i] = Slot::Ready(msg.clone());
                }
            }
        }
        self.account_held();
        self.closing = true;
    }
}
