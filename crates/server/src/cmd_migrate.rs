//! MIGRATE host port key|"" destination-db timeout [COPY] [REPLACE]
//! [AUTH password] [AUTH2 username password] [KEYS key ...], as Redis 7.0's:
//! the keys are sent as RESTORE commands (DUMP payloads with their TTLs,
//! after AUTH and SELECT) to the target, and each one the target acknowledges
//! is deleted here unless COPY, the deletion going to replicas and the AOF as
//! one DEL. Replies and errors are Redis's (`+NOKEY`, `-IOERR error or timeout
//! ... target instance`, `-ERR Target instance replied with error: ...`).
//!
//! Redis holds the whole server for the transfer (up to `timeout` per
//! operation). Tandem holds only the calling client: the payloads are taken
//! under the lock, the network part runs off it, and the lock is taken again
//! to delete the acknowledged keys, each only if it still holds the value
//! that was sent (a key written meanwhile stays, and the target has the
//! version from the start of the command). Inside MULTI/EXEC or a script,
//! where nothing may wait, the transfer runs in place, holding the node as
//! Redis does.

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use bytes::Bytes;
use tandem_store::util::{eq_ic, parse_i64};
use tandem_store::{CmdError, CmdResult};

use crate::dispatch::{Action, Ctx, ServerHandler};
use crate::state::State;

pub const COMMANDS: &[(&str, ServerHandler)] = &[("migrate", migrate)];

/// One key on its way: the name and the exact payload sent.
struct Moving {
    key: Bytes,
    payload: Vec<u8>,
}

/// What the transfer needs, taken under the lock.
struct Job {
    host: String,
    port: String,
    timeout: Duration,
    request: Vec<u8>,
    auth: bool,
    db: usize,
    copy: bool,
    keys: Vec<Moving>,
}

/// How the network part ended.
enum Outcome {
    /// The reply lines for AUTH (if sent), SELECT and each key, as far as
    /// they came; `io` is set when the socket failed before the end.
    Replies {
        lines: Vec<String>,
        io: Option<Io>,
    },
    Io(Io),
}

#[derive(Clone, Copy)]
enum Io {
    Connect,
    Write,
    Read,
}

impl Io {
    fn reply(self) -> String {
        match self {
            Io::Connect => "IOERR error or timeout connecting to the client".into(),
            Io::Write => "IOERR error or timeout writing to target instance".into(),
            Io::Read => "IOERR error or timeout reading to target instance".into(),
        }
    }
}

fn migrate(ctx: &mut Ctx<'_>, args: &[Bytes]) -> CmdResult {
    let (mut copy, mut replace) = (false, false);
    let mut auth: Option<(Option<Bytes>, Bytes)> = None;
    let mut first_key = 3;
    let mut num_keys = 1;
    let mut j = 6;
    while j < args.len() {
        let more = args.len() - 1 - j;
        let a = &args[j];
        if eq_ic(a, "COPY") {
            copy = true;
        } else if eq_ic(a, "REPLACE") {
            replace = true;
        } else if eq_ic(a, "AUTH") {
            if more == 0 {
                return Err(CmdError::Syntax);
            }
            j += 1;
            auth = Some((None, args[j].clone()));
        } else if eq_ic(a, "AUTH2") {
            if more < 2 {
                return Err(CmdError::Syntax);
            }
            auth = Some((Some(args[j + 1].clone()), args[j + 2].clone()));
            j += 2;
        } else if eq_ic(a, "KEYS") {
            if !args[3].is_empty() {
                return Err(CmdError::msg(
                    "ERR When using MIGRATE KEYS option, the key argument must be set to the empty string",
                ));
            }
            first_key = j + 1;
            num_keys = args.len() - j - 1;
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        j += 1;
    }
    let timeout = parse_i64(&args[5]).ok_or(CmdError::NotInteger)?;
    let db = parse_i64(&args[4]).ok_or(CmdError::NotInteger)?;
    let timeout = Duration::from_millis(if timeout <= 0 { 1000 } else { timeout as u64 });
    let (src_db, now) = (ctx.client().db, ctx.now);
    // The keys present now, with their payloads and remaining TTLs.
    let mut request = Vec::new();
    if let Some((user, pass)) = &auth {
        let mut cmd: Vec<&[u8]> = vec![b"AUTH"];
        if let Some(u) = user {
            cmd.push(u);
        }
        cmd.push(pass);
        encode(&mut request, &cmd);
    }
    encode(&mut request, &[b"SELECT", db.to_string().as_bytes()]);
    let mut keys = Vec::new();
    for key in &args[first_key..first_key + num_keys] {
        let Some(v) = ctx.st.store.lookup_read(src_db, key, now) else {
            continue;
        };
        let payload = tandem_rdb::dump_payload(&crate::persist::from_value(v));
        let ttl = match ctx.st.store.get_expire(src_db, key) {
            Some(at) => (at - now).max(1),
            None => 0,
        };
        let ttl = ttl.to_string();
        let mut cmd: Vec<&[u8]> = vec![b"RESTORE", key, ttl.as_bytes(), &payload];
        if replace {
            cmd.push(b"REPLACE");
        }
        encode(&mut request, &cmd);
        keys.push(Moving {
            key: key.clone(),
            payload,
        });
    }
    if keys.is_empty() {
        ctx.out.simple("NOKEY");
        return Ok(());
    }
    let job = Job {
        host: String::from_utf8_lossy(&args[1]).into_owned(),
        port: String::from_utf8_lossy(&args[2]).into_owned(),
        timeout,
        request,
        auth: auth.is_some(),
        db: src_db,
        copy,
        keys,
    };
    if ctx.in_multi || ctx.st.in_script {
        // Nothing may wait here: in place, as Redis does everywhere.
        let outcome = transfer(&job);
        finish(ctx.st, &job, outcome).map_err(CmdError::msg)?;
        ctx.out.ok();
        return Ok(());
    }
    let Some(shared) = ctx.shared.me.get().and_then(std::sync::Weak::upgrade) else {
        return Err(CmdError::msg("ERR the server is shutting down"));
    };
    let proto = ctx.client().proto;
    let (tx, rx) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (job, outcome) = match tokio::task::spawn_blocking(move || {
            let o = transfer(&job);
            (job, o)
        })
        .await
        {
            Ok(r) => r,
            Err(_) => return,
        };
        let mut out = tandem_resp::ReplyBuf::new(proto);
        {
            let mut st = shared.state.lock();
            match finish(&mut st, &job, outcome) {
                Ok(()) => out.ok(),
                Err(e) => {
                    crate::dispatch::count_error(&mut st, &e);
                    out.error(&e);
                }
            }
            crate::stream::drain(&mut st);
            if st.store.tracking_on {
                crate::tracking::process_modified(&mut st, 0);
            }
            crate::cmd_pubsub::flush_notifications(&mut st);
            crate::persist::batch_end(&mut st);
        }
        let _ = tx.send(out.take().freeze());
    });
    ctx.action = Action::Block(rx, None);
    Ok(())
}

/// Appends one command in RESP.
fn encode(out: &mut Vec<u8>, args: &[&[u8]]) {
    out.extend_from_slice(format!("*{}\r\n", args.len()).as_bytes());
    for a in args {
        out.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
        out.extend_from_slice(a);
        out.extend_from_slice(b"\r\n");
    }
}

/// Connects, sends everything, reads one reply line per command; on a socket
/// error before any reply it tries once more on a new connection (not after
/// a timeout), as Redis retries a stale cached connection.
fn transfer(job: &Job) -> Outcome {
    let expect = job.auth as usize + 1 + job.keys.len();
    let mut retried = false;
    loop {
        let written = connect(job).and_then(|mut s| {
            s.write_all(&job.request)
                .and_then(|_| s.flush())
                .map(|_| s)
                .map_err(|_| Io::Write)
        });
        let s = match written {
            Ok(s) => s,
            Err(Io::Connect) => return Outcome::Io(Io::Connect),
            Err(e) if retried => return Outcome::Io(e),
            Err(_) => {
                retried = true;
                continue;
            }
        };
        let mut r = BufReader::new(s);
        let mut lines = Vec::with_capacity(expect);
        let mut io = None;
        let mut timed_out = false;
        while lines.len() < expect {
            let mut line = String::new();
            match r.read_line(&mut line) {
                Ok(n) if n > 0 && line.ends_with('\n') => {
                    lines.push(line.trim_end().to_string());
                }
                Ok(_) => {
                    io = Some(Io::Read);
                    break;
                }
                Err(e) => {
                    timed_out = matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    );
                    io = Some(Io::Read);
                    break;
                }
            }
        }
        if io.is_some() && lines.is_empty() && !timed_out && !retried {
            retried = true;
            continue;
        }
        return Outcome::Replies { lines, io };
    }
}

/// Redis's blocking connect reports a failure only when the address cannot
/// be resolved; a refused or timed-out connection shows up as a failed write
/// (its "writing to target instance" error), after the one retry.
fn connect(job: &Job) -> Result<TcpStream, Io> {
    let port: u16 = job.port.parse().unwrap_or(0);
    let addr = (job.host.as_str(), port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .ok_or(Io::Connect)?;
    let s = TcpStream::connect_timeout(&addr, job.timeout).map_err(|_| Io::Write)?;
    s.set_read_timeout(Some(job.timeout))
        .map_err(|_| Io::Write)?;
    s.set_write_timeout(Some(job.timeout))
        .map_err(|_| Io::Write)?;
    let _ = s.set_nodelay(true);
    Ok(s)
}

/// Deletes the keys the target acknowledged (unless COPY), each only if it
/// still holds what was sent, and says what the client gets.
fn finish(st: &mut State, job: &Job, outcome: Outcome) -> Result<(), String> {
    let (lines, io) = match outcome {
        Outcome::Io(e) => return Err(e.reply()),
        Outcome::Replies { lines, io } => (lines, io),
    };
    let head = job.auth as usize + 1;
    // An AUTH or SELECT refusal (the key replies then are refusals too).
    let head_error = lines
        .iter()
        .take(head)
        .find(|l| l.starts_with('-'))
        .cloned();
    let mut error = head_error.clone();
    let mut deleted: Vec<Bytes> = Vec::new();
    let now = crate::dispatch::now_ms();
    for (m, line) in job.keys.iter().zip(lines.iter().skip(head)) {
        if line.starts_with('-') || head_error.is_some() {
            error.get_or_insert_with(|| line.clone());
            continue;
        }
        if job.copy {
            continue;
        }
        let same = st
            .store
            .peek(job.db, &m.key, now)
            .map(|e| tandem_rdb::dump_payload(&crate::persist::from_value(&e.value)))
            .is_some_and(|p| p == m.payload);
        if same && st.store.delete_key(job.db, &m.key) {
            st.store.touch(job.db, &m.key);
            st.store
                .notify_event(tandem_store::notify::GENERIC, "del", job.db, &m.key);
            st.store.dirty += 1;
            deleted.push(m.key.clone());
        }
    }
    if !deleted.is_empty() {
        let mut del = Vec::with_capacity(deleted.len() + 1);
        del.push(Bytes::from_static(b"DEL"));
        del.extend(deleted);
        st.store.propagate(job.db, del);
    }
    if let Some(e) = error {
        return Err(format!(
            "ERR Target instance replied with error: {}",
            e.trim_start_matches('-')
        ));
    }
    match io {
        Some(e) => Err(e.reply()),
        None => Ok(()),
    }
}
