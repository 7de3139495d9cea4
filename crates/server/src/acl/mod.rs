//! ACL users (Redis 7.0's `acl.c`): who may run which commands on which keys
//! and channels.
//!
//! A user has flags (on/off, nopass, sanitize-payload), SHA-256 password
//! hashes and a root [`Selector`] plus any number of extra selectors (`(...)`
//! rules); a command is allowed when one selector allows all of it: the
//! command or subcommand (a bit per command id, and Redis's reserved "future
//! commands" bit that only `+@all` sets), every key it names against the key
//! patterns with the access its key specs declare (`%R~`, `%W~`), every
//! channel it publishes or subscribes to against the channel patterns.
//!
//! The hot path pays one flag when no user is restricted ([`Acl::restricted`]);
//! otherwise the client's user is looked up by name.

mod describe;
pub mod file;
mod setuser;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;

use bytes::Bytes;
use sha2::{Digest, Sha256};
use tandem_commands::CommandSpec;
use tandem_store::util::glob_match;

pub use describe::{describe_user, reply_getuser};
pub use setuser::set_user;

/// Bits: one per command id, and the last for commands added in the future.
const BITS: usize = tandem_commands::ID_COUNT + 1;
const FUTURE: usize = BITS - 1;
const WORDS: usize = BITS.div_ceil(64);

/// Key pattern permissions.
pub const READ: u8 = 1;
pub const WRITE: u8 = 2;

#[derive(Debug, Clone, PartialEq)]
pub struct Selector {
    bits: [u64; WORDS],
    /// `+@all`/`allcommands` and nothing removed since: every command, even
    /// the bits not set (Redis's SELECTOR_FLAG_ALLCOMMANDS).
    allcommands: bool,
    /// First arguments allowed for a command whose bit is clear (`+select|0`).
    first_args: BTreeMap<u16, Vec<Bytes>>,
    /// (READ|WRITE, pattern), in the order given.
    keys: Vec<(u8, Bytes)>,
    allkeys: bool,
    channels: Vec<Bytes>,
    allchannels: bool,
}

impl Selector {
    /// No commands, keys or channels (a new user's, or a new `(...)`).
    pub fn empty(allchannels: bool) -> Self {
        Selector {
            bits: [0; WORDS],
            allcommands: false,
            first_args: BTreeMap::new(),
            keys: Vec::new(),
            allkeys: false,
            channels: Vec::new(),
            allchannels,
        }
    }

    /// Everything (the default user's).
    pub fn everything() -> Self {
        let mut s = Selector::empty(true);
        s.set_all(true);
        s.allkeys = true;
        s
    }

    fn bit(&self, id: usize) -> bool {
        self.bits[id / 64] & (1 << (id % 64)) != 0
    }

    fn set_bit(&mut self, id: usize, on: bool) {
        if on {
            self.bits[id / 64] |= 1 << (id % 64);
        } else {
            self.bits[id / 64] &= !(1 << (id % 64));
            self.allcommands = false;
        }
    }

    fn set_all(&mut self, on: bool) {
        self.bits = if on { [u64::MAX; WORDS] } else { [0; WORDS] };
        self.allcommands = on;
        self.first_args.clear();
    }

    /// A command and, for a container, each of its subcommands.
    fn set_command(&mut self, spec: &CommandSpec, on: bool) {
        self.set_bit(spec.id as usize, on);
        self.first_args.remove(&spec.id);
        for sub in spec.subcommands {
            self.set_bit(sub.id as usize, on);
        }
    }

    /// Every command (and subcommand) of a category.
    fn set_category(&mut self, category: &str, on: bool) {
        for spec in tandem_commands::all() {
            if spec.acl_categories.contains(&category) {
                self.set_command(spec, on);
            }
            for sub in spec.subcommands {
                if sub.acl_categories.contains(&category) {
                    self.set_command(sub, on);
                }
            }
        }
    }

    fn can_run_future_commands(&self) -> bool {
        self.bit(FUTURE)
    }

    /// Whether this selector grants everything (no check needed).
    fn unrestricted(&self) -> bool {
        self.allcommands && self.allkeys && self.allchannels
    }

    /// Checks `spec` (the resolved command or subcommand) with `args`.
    fn check(&self, spec: &CommandSpec, args: &[Bytes]) -> Result<(), Denied> {
        if !self.allcommands
            && !spec.has(tandem_commands::flags::NO_AUTH)
            && !self.bit(spec.id as usize)
        {
            let first_ok = args.get(1).is_some_and(|a| {
                self.first_args
                    .get(&spec.id)
                    .is_some_and(|l| l.iter().any(|f| f.eq_ignore_ascii_case(a)))
            });
            if !first_ok {
                return Err(Denied::Command);
            }
        }
        if !self.allkeys {
            for (pos, flags) in spec.get_keys_and_flags(args) {
                let mut want = 0;
                if flags.contains(&"access") {
                    want |= READ;
                }
                if flags
                    .iter()
                    .any(|f| matches!(*f, "insert" | "delete" | "update"))
                {
                    want |= WRITE;
                }
                let key = &args[pos];
                let ok = self
                    .keys
                    .iter()
                    .any(|(f, p)| f & want == want && glob_match(p, key, false));
                if !ok {
                    return Err(Denied::Key(pos));
                }
            }
        }
        if !self.allchannels {
            for (pos, pattern) in channels(spec, args) {
                let c = &args[pos];
                let ok = self.channels.iter().any(|p| {
                    if pattern {
                        p == c
                    } else {
                        glob_match(p, c, false)
                    }
                });
                if !ok {
                    return Err(Denied::Channel(pos));
                }
            }
        }
        Ok(())
    }
}

/// The channels a command publishes or subscribes to: (argument index,
/// whether it is a pattern, which is matched literally).
fn channels(spec: &CommandSpec, args: &[Bytes]) -> Vec<(usize, bool)> {
    match spec.full_name {
        "publish" | "spublish" => vec![(1, false)],
        "subscribe" | "ssubscribe" => (1..args.len()).map(|i| (i, false)).collect(),
        "psubscribe" => (1..args.len()).map(|i| (i, true)).collect(),
        _ => Vec::new(),
    }
}

/// Why a command was refused.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Denied {
    Command,
    /// The index of the first key refused.
    Key(usize),
    /// The index of the first channel refused.
    Channel(usize),
}

impl Denied {
    /// Redis's ACL_DENIED_* order: a higher one is more specific.
    fn rank(self) -> u8 {
        match self {
            Denied::Command => 1,
            Denied::Key(_) => 2,
            Denied::Channel(_) => 4,
        }
    }

    /// The `-NOPERM` error a client gets at the top level or in MULTI.
    pub fn error(self, spec: &CommandSpec) -> String {
        match self {
            Denied::Command => format!(
                "NOPERM this user has no permissions to run the '{}' command",
                spec.full_name
            ),
            Denied::Key(_) => {
                "NOPERM this user has no permissions to access one of the keys used as arguments"
                    .into()
            }
            Denied::Channel(_) => "NOPERM this user has no permissions to access one of the channels used as arguments".into(),
        }
    }

    /// ACL LOG's reason.
    pub fn reason(self) -> &'static str {
        match self {
            Denied::Command => "command",
            Denied::Key(_) => "key",
            Denied::Channel(_) => "channel",
        }
    }

    /// ACL LOG's object: the command's name, or the key or channel refused.
    pub fn object(self, spec: &CommandSpec, args: &[Bytes]) -> Bytes {
        match self {
            Denied::Command => Bytes::from_static(spec.full_name.as_bytes()),
            Denied::Key(i) | Denied::Channel(i) => args[i].clone(),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct User {
    pub name: Bytes,
    pub enabled: bool,
    pub nopass: bool,
    /// None: neither flag (the default user); Some(true): sanitize-payload.
    pub sanitize: Option<bool>,
    /// SHA-256 hashes, in the order added.
    pub passwords: Vec<[u8; 32]>,
    pub root: Selector,
    pub selectors: Vec<Selector>,
}

impl User {
    /// A new user as ACL SETUSER creates it: off, no password, nothing allowed
    /// (channels per `acl-pubsub-default`).
    pub fn new(name: &[u8], allchannels: bool) -> Self {
        User {
            name: Bytes::copy_from_slice(name),
            enabled: false,
            nopass: false,
            sanitize: None,
            passwords: Vec::new(),
            root: Selector::empty(allchannels),
            selectors: Vec::new(),
        }
    }

    /// The default user: on, nopass, every command, key and channel.
    pub fn default_user() -> Self {
        User {
            name: Bytes::from_static(b"default"),
            enabled: true,
            nopass: true,
            sanitize: None,
            passwords: Vec::new(),
            root: Selector::everything(),
            selectors: Vec::new(),
        }
    }

    fn unrestricted(&self) -> bool {
        self.root.unrestricted() || self.selectors.iter().any(Selector::unrestricted)
    }

    /// Whether `pass` opens this user (an enabled user; any password with
    /// nopass).
    pub fn password_ok(&self, pass: &[u8]) -> bool {
        if !self.enabled {
            return false;
        }
        if self.nopass {
            return true;
        }
        let h: [u8; 32] = Sha256::digest(pass).into();
        self.passwords.contains(&h)
    }

    /// Whether some selector lets this user use `channel` (a pattern is
    /// matched literally against the user's patterns).
    pub fn channel_ok(&self, channel: &[u8], pattern: bool) -> bool {
        std::iter::once(&self.root).chain(&self.selectors).any(|s| {
            s.allchannels
                || s.channels.iter().any(|p| {
                    if pattern {
                        p[..] == *channel
                    } else {
                        glob_match(p, channel, false)
                    }
                })
        })
    }

    /// Checks a command: allowed by the root selector or by another one. The
    /// root's refusal is the one reported, as Redis reports it.
    pub fn check(&self, spec: &CommandSpec, args: &[Bytes]) -> Result<(), Denied> {
        let mut worst: Option<Denied> = None;
        for s in std::iter::once(&self.root).chain(&self.selectors) {
            match s.check(spec, args) {
                Ok(()) => return Ok(()),
                Err(d) => {
                    // Redis reports the most specific refusal (channel, then
                    // key, then command), the first selector's among equals.
                    if worst.is_none_or(|w| d.rank() > w.rank()) {
                        worst = Some(d);
                    }
                }
            }
        }
        Err(worst.unwrap_or(Denied::Command))
    }

    /// Whether a selector that allows the command reads any key (SORT's
    /// BY and GET patterns need it, as Redis's
    /// ACLUserCheckCmdWithUnrestrictedKeyAccess).
    pub fn full_key_access(&self, spec: &CommandSpec, args: &[Bytes]) -> bool {
        std::iter::once(&self.root).chain(&self.selectors).any(|s| {
            s.check(spec, args).is_ok()
                && (s.allkeys || s.keys.iter().any(|(f, p)| f & READ != 0 && &p[..] == b"*"))
        })
    }
}

/// The user registry.
#[derive(Debug, Clone)]
pub struct Acl {
    pub users: BTreeMap<Bytes, User>,
    /// Some user is not allowed everything: commands must be checked.
    pub restricted: bool,
    /// The default user is off or has passwords: new connections must
    /// authenticate (Redis's authRequired).
    pub auth_required: bool,
    /// `acl-pubsub-default allchannels`: new users (and `reset`) start with
    /// every channel instead of none.
    pub pubsub_all: bool,
}

impl Default for Acl {
    fn default() -> Self {
        let mut users = BTreeMap::new();
        users.insert(Bytes::from_static(b"default"), User::default_user());
        Acl {
            users,
            pubsub_all: false,
            restricted: false,
            auth_required: false,
        }
    }
}

impl Acl {
    /// Recomputes the cached flags after a change.
    pub fn refresh(&mut self) {
        self.restricted = self.users.values().any(|u| !u.unrestricted());
        self.auth_required = self
            .users
            .get(&b"default"[..])
            .is_none_or(|d| !d.nopass || !d.enabled);
    }

    /// `requirepass`: the default user's only password, or nopass when empty.
    pub fn set_requirepass(&mut self, pass: Option<&[u8]>) {
        if let Some(d) = self.users.get_mut(&b"default"[..]) {
            d.passwords.clear();
            match pass {
                Some(p) => {
                    d.nopass = false;
                    d.passwords.push(Sha256::digest(p).into());
                }
                None => d.nopass = true,
            }
        }
        self.refresh();
    }

    /// Checks a command for the user named `user` (a user that no longer
    /// exists may run nothing).
    pub fn check(&self, user: &[u8], spec: &CommandSpec, args: &[Bytes]) -> Result<(), Denied> {
        match self.users.get(user) {
            Some(u) => u.check(spec, args),
            None => Err(Denied::Command),
        }
    }
}

/// A hash as ACL shows it: lowercase hex.
pub fn hex(h: &[u8; 32]) -> String {
    h.iter().map(|b| format!("{b:02x}")).collect()
}
