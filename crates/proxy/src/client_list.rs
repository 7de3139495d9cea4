//! The proxy's clients as CLIENT LIST, CLIENT INFO and CLIENT KILL see them.
//!
//! The proxy owns its clients' connections (CLIENT ID is already its own id),
//! so these three answer from the proxy, in Redis's format, over every shard's
//! clients: a node would only show the proxy's links. Each client keeps a
//! [`View`] its task refreshes once per input batch (the last command, idle
//! time, db, name, protocol, user, transaction and subscriptions); the
//! registry maps ids to the clients' shared parts.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::output::ClientShared;

/// What CLIENT LIST shows of one client.
pub(crate) struct View {
    pub addr: String,
    pub laddr: String,
    pub fd: i32,
    pub created: Instant,
    pub last: Instant,
    pub name: Option<Bytes>,
    pub db: i64,
    pub resp: u8,
    pub user: Bytes,
    pub cmd: &'static str,
    /// Commands queued in MULTI (-1: not in a transaction).
    pub multi: i32,
    /// Channels, patterns, shard channels.
    pub subs: [usize; 3],
    pub tracking: bool,
}

impl View {
    pub fn new(addr: String, laddr: String, fd: i32) -> View {
        let now = Instant::now();
        View {
            addr,
            laddr,
            fd,
            created: now,
            last: now,
            name: None,
            db: 0,
            resp: 2,
            user: Bytes::from_static(b"default"),
            cmd: "NULL",
            multi: -1,
            subs: [0; 3],
            tracking: false,
        }
    }

    fn pubsub(&self) -> bool {
        self.subs.iter().any(|&n| n > 0)
    }
}

/// Every client of the proxy (all shards), by id.
#[derive(Default)]
pub(crate) struct Registry {
    clients: Mutex<BTreeMap<u64, Arc<ClientShared>>>,
}

impl Registry {
    pub fn add(&self, c: &Arc<ClientShared>) {
        self.clients.lock().insert(c.id, c.clone());
    }

    pub fn remove(&self, id: u64) {
        self.clients.lock().remove(&id);
    }

    fn all(&self) -> Vec<Arc<ClientShared>> {
        self.clients.lock().values().cloned().collect()
    }
}

/// One CLIENT LIST line (without the newline), as Redis 7.0 writes it.
pub(crate) fn line(c: &ClientShared, now: Instant) -> String {
    let v = c.view.lock();
    let mut flags = String::new();
    if v.multi >= 0 {
        flags.push('x');
    }
    if v.pubsub() {
        flags.push('P');
    }
    if v.tracking {
        flags.push('t');
    }
    if flags.is_empty() {
        flags.push('N');
    }
    let omem = c.out_bytes.load(Ordering::Relaxed);
    let name = v.name.as_deref().map(String::from_utf8_lossy);
    let mut o = String::with_capacity(320);
    let _ = write!(
        o,
        "id={} addr={} laddr={} fd={} name={} age={} idle={} flags={flags} db={} sub={} psub={} ssub={} multi={} qbuf=0 qbuf-free=0 argv-mem=0 multi-mem=0 rbs=0 rbp=0 obl=0 oll=0 omem={omem} tot-mem={omem} events=r cmd={} user={} redir=-1 resp={}",
        c.id,
        v.addr,
        v.laddr,
        v.fd,
        name.as_deref().unwrap_or(""),
        now.saturating_duration_since(v.created).as_secs(),
        now.saturating_duration_since(v.last).as_secs(),
        v.db,
        v.subs[0],
        v.subs[1],
        v.subs[2],
        v.multi,
        v.cmd,
        String::from_utf8_lossy(&v.user),
        v.resp,
    );
    o
}

fn eq(a: &[u8], b: &str) -> bool {
    a.eq_ignore_ascii_case(b.as_bytes())
}

/// The client types of CLIENT LIST/KILL TYPE (the proxy has normal and pubsub
/// clients only).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Type {
    Normal,
    Replica,
    Pubsub,
    Master,
}

fn parse_type(a: &[u8]) -> Result<Type, String> {
    Ok(match () {
        _ if eq(a, "normal") => Type::Normal,
        _ if eq(a, "slave") || eq(a, "replica") => Type::Replica,
        _ if eq(a, "pubsub") => Type::Pubsub,
        _ if eq(a, "master") => Type::Master,
        _ => {
            return Err(format!(
                "ERR Unknown client type '{}'",
                String::from_utf8_lossy(a)
            ))
        }
    })
}

fn type_of(v: &View) -> Type {
    if v.pubsub() {
        Type::Pubsub
    } else {
        Type::Normal
    }
}

fn parse_id(a: &[u8]) -> Option<u64> {
    std::str::from_utf8(a).ok()?.parse::<u64>().ok()
}

/// CLIENT LIST [TYPE type] [ID id ...]: the text of the reply.
pub(crate) fn list(reg: &Registry, args: &[&[u8]]) -> Result<String, String> {
    let mut ty = None;
    let mut ids: Option<Vec<u64>> = None;
    let mut i = 2;
    while i < args.len() {
        if eq(args[i], "type") && i + 1 < args.len() {
            ty = Some(parse_type(args[i + 1])?);
            i += 2;
        } else if eq(args[i], "id") && i + 1 < args.len() {
            let mut v = Vec::new();
            for a in &args[i + 1..] {
                // Any integer (ids start at 1, so 0 and below match no one).
                match std::str::from_utf8(a)
                    .ok()
                    .and_then(|t| t.parse::<i64>().ok())
                {
                    Some(n) => v.push(u64::try_from(n).unwrap_or(0)),
                    None => return Err("ERR Invalid client ID".into()),
                }
            }
            ids = Some(v);
            i = args.len();
        } else {
            return Err("ERR syntax error".into());
        }
    }
    let now = Instant::now();
    let mut out = String::new();
    for c in reg.all() {
        if ty.is_some_and(|t| t != type_of(&c.view.lock())) {
            continue;
        }
        if ids.as_ref().is_some_and(|v| !v.contains(&c.id)) {
            continue;
        }
        out.push_str(&line(&c, now));
        out.push('\n');
    }
    Ok(out)
}

/// What CLIENT KILL matched, and how to answer.
pub(crate) struct Killed {
    /// The old form (`CLIENT KILL addr:port`) answers +OK or an error.
    pub old_form: bool,
    pub count: usize,
    /// The calling client matched (it is closed after its reply).
    pub me: bool,
}

/// CLIENT KILL: closes the matching clients (except the caller, which the
/// caller closes after replying).
pub(crate) fn kill(reg: &Registry, me: u64, args: &[&[u8]]) -> Result<Killed, String> {
    let mut id = None;
    let mut ty = None;
    let mut user: Option<&[u8]> = None;
    let mut addr: Option<&[u8]> = None;
    let mut laddr: Option<&[u8]> = None;
    let mut skipme = true;
    let old_form = args.len() == 3;
    if old_form {
        // The old form spares no one, the caller included (as Redis).
        addr = Some(args[2]);
        skipme = false;
    } else {
        if !args.len().is_multiple_of(2) {
            return Err("ERR syntax error".into());
        }
        for pair in args[2..].chunks(2) {
            let (k, v) = (pair[0], pair[1]);
            if eq(k, "id") {
                match parse_id(v).filter(|&n| n > 0) {
                    Some(n) => id = Some(n),
                    None => return Err("ERR client-id should be greater than 0".into()),
                }
            } else if eq(k, "type") {
                ty = Some(parse_type(v)?);
            } else if eq(k, "user") {
                user = Some(v);
            } else if eq(k, "addr") {
                addr = Some(v);
            } else if eq(k, "laddr") {
                laddr = Some(v);
            } else if eq(k, "skipme") {
                skipme = if eq(v, "yes") {
                    true
                } else if eq(v, "no") {
                    false
                } else {
                    return Err("ERR syntax error".into());
                };
            } else {
                return Err("ERR syntax error".into());
            }
        }
    }
    let mut k = Killed {
        old_form,
        count: 0,
        me: false,
    };
    for c in reg.all() {
        if id.is_some_and(|i| i != c.id) {
            continue;
        }
        {
            let v = c.view.lock();
            if ty.is_some_and(|t| t != type_of(&v))
                || addr.is_some_and(|a| a != v.addr.as_bytes())
                || laddr.is_some_and(|a| a != v.laddr.as_bytes())
                || user.is_some_and(|u| u != &v.user[..])
            {
                continue;
            }
        }
        if c.id == me {
            if skipme {
                continue;
            }
            k.me = true;
        } else {
            c.kill_by_command();
        }
        k.count += 1;
    }
    if old_form && k.count == 0 {
        return Err("ERR No such client".into());
    }
    Ok(k)
}
