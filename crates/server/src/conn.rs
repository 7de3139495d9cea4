//! Listener and connection tasks.
//!
//! A connection reads into a `BytesMut`, parses every complete request in it, takes
//! the lock once for the batch, executes, releases, and writes all the replies with
//! one `write_all`. Messages from other connections (pub/sub, woken blocked
//! commands) arrive on the client's channel.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use tandem_resp::{Limits, Proto, ReplyBuf};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::mpsc;
use tracing::{debug, warn, Instrument};

// TEMPORARY: switch to `tandem_resp::RequestParser` once the resp helper's parser lands.
use tandem_resp::RequestParser;

use crate::dispatch::{now_ms, Action, Ctx};
use crate::state::{Client, Shared};

/// Redis 7.0's reply to a non-loopback client in protected mode.
const DENIED: &[u8] = b"-DENIED Redis is running in protected mode because protected mode is enabled and no password is set for the default user. In this mode connections are only accepted from the loopback interface. If you want to connect from external computers to Redis you may adopt one of the following solutions: 1) Just disable protected mode sending the command 'CONFIG SET protected-mode no' from the loopback interface by connecting to Redis from the same host the server is running, however MAKE SURE Redis is not publicly accessible from internet if you do so. Use CONFIG REWRITE to make this change permanent. 2) Alternatively you can just disable the protected mode by editing the Redis configuration file, and setting the protected mode option to 'no', and then restarting the server. 3) If you started the server manually just for testing, restart it with the '--protected-mode no' option. 4) Setup a an authentication password for the default user. NOTE: You only need to do one of the above things in order for the server to start accepting connections from the outside.\r\n";

/// Accepts connections until shutdown, refusing those over `maxclients`, and
/// (protected mode, no password) those from other hosts; backs off on accept
/// errors (e.g. out of file descriptors).
pub async fn accept_loop(
    shared: Arc<Shared>,
    listener: TcpListener,
    stop: tokio_util::sync::CancellationToken,
) {
    let mut backoff = Duration::from_millis(5);
    loop {
        let res = tokio::select! {
            _ = stop.cancelled() => return,
            r = listener.accept() => r,
        };
        match res {
            Ok((sock, peer)) => {
                backoff = Duration::from_millis(5);
                if refuse_over_max(&shared, &sock) {
                    continue;
                }
                let protected = {
                    let st = shared.state.lock();
                    // Redis's rule: the default user has no password.
                    st.config.bool("protected-mode")
                        && st.acl.users.get(&b"default"[..]).is_none_or(|d| d.nopass)
                };
                if protected && !crate::config::is_loopback(peer.ip()) {
                    // Redis 7.0's protected mode: without a password, only
                    // the loopback interface is served.
                    shared.state.lock().stats.rejected_connections += 1;
                    shared.connections.fetch_sub(1, Ordering::SeqCst);
                    tokio::spawn(async move {
                        let mut sock = sock;
                        let _ = sock.write_all(DENIED).await;
                    });
                    continue;
                }
                let _ = sock.set_nodelay(true);
                let keepalive = shared.state.lock().config.int("tcp-keepalive");
                if keepalive > 0 {
                    let ka = socket2::TcpKeepalive::new()
                        .with_time(Duration::from_secs(keepalive as u64));
                    let _ = socket2::SockRef::from(&sock).set_tcp_keepalive(&ka);
                }
                let laddr = sock.local_addr().map(|a| a.to_string()).unwrap_or_default();
                let span = tracing::debug_span!("client", addr = %peer);
                let conn = connection(shared.clone(), sock, peer.to_string(), laddr, false);
                tokio::spawn(conn.instrument(span));
            }
            Err(e) => {
                warn!("Accepting client connection: {e}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Accepts connections on the Unix socket (`unixsocket`) until shutdown.
/// Such clients show `addr=<path>:0` and flag `U` in CLIENT LIST, as Redis's,
/// and count as local (protected mode does not apply).
pub async fn accept_unix(shared: Arc<Shared>, listener: UnixListener, path: String) {
    let mut backoff = Duration::from_millis(5);
    let addr = format!("{path}:0");
    loop {
        let res = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        match res {
            Ok((sock, _)) => {
                backoff = Duration::from_millis(5);
                if refuse_over_max(&shared, &sock) {
                    continue;
                }
                let span = tracing::debug_span!("client", addr = %addr);
                let conn = connection(shared.clone(), sock, addr.clone(), addr.clone(), true);
                tokio::spawn(conn.instrument(span));
            }
            Err(e) => {
                warn!("Accepting client connection on the Unix socket: {e}");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}

/// Over `maxclients`: counts the refusal, answers Redis's error on a task of
/// its own (on a duplicate of the socket, which closes when done) and returns
/// true. Otherwise counts the connection in.
fn refuse_over_max<S: std::os::fd::AsFd>(shared: &Arc<Shared>, sock: &S) -> bool {
    let max = shared.state.lock().eff.maxclients;
    if shared.connections.load(Ordering::SeqCst) < max {
        shared.connections.fetch_add(1, Ordering::SeqCst);
        return false;
    }
    shared.state.lock().stats.rejected_connections += 1;
    if let Ok(fd) = sock.as_fd().try_clone_to_owned() {
        let mut f = std::fs::File::from(fd);
        // One short line on a fresh socket fits its send buffer.
        let _ = std::io::Write::write_all(&mut f, b"-ERR max number of clients reached\r\n");
    }
    true
}

struct Guard(Arc<Shared>, u64);

impl Drop for Guard {
    fn drop(&mut self) {
        let mut st = self.0.state.lock();
        crate::blocking::unregister(&mut st, self.1);
        crate::cmd_pubsub::unsubscribe_all(&mut st, self.1);
        crate::cmd_multi::unwatch_all(&mut st, self.1);
        crate::tracking::disable(&mut st, self.1);
        crate::monitor::stop(&mut st, self.1);
        st.clients.remove(&self.1);
        drop(st);
        self.0.connections.fetch_sub(1, Ordering::SeqCst);
    }
}

enum Flow {
    Continue,
    Close,
    Block(tokio::sync::oneshot::Receiver<Bytes>, Option<i64>),
    Paused(i64),
}

async fn connection<S: AsyncRead + AsyncWrite + Unpin>(
    shared: Arc<Shared>,
    mut sock: S,
    peer: String,
    laddr: String,
    unix: bool,
) {
    let (tx, mut rx) = mpsc::unbounded_channel::<Bytes>();
    // A child of the shutdown token: CLIENT KILL cancels this connection only,
    // shutdown every connection, and one future watches both.
    let kill = shared.shutdown.child_token();
    let pending = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let (id, mut limits) = {
        let mut st = shared.state.lock();
        let id = st.next_client_id;
        st.next_client_id += 1;
        st.stats.connections_received += 1;
        let mut c = Client::new(id, peer.clone(), laddr, kill.clone(), tx, pending.clone());
        // As Redis: a connection is logged in as `default` if that user needs
        // no password, and stays so if it gets one later.
        c.authenticated = !st.acl.auth_required;
        c.unix = unix;
        st.clients.insert(id, c);
        (id, st.eff.limits)
    };
    let _guard = Guard(shared.clone(), id);
    let mut parser = RequestParser::new();
    let mut inbuf = BytesMut::with_capacity(READ_MIN);
    let mut read_size = READ_MIN;
    let mut out = ReplyBuf::new(Proto::Resp2);
    let mut reqs = Requests::default();
    // Made once and polled by every select below: a future made per turn would
    // register with (and unregister from) the token's waiter list per request.
    let killed = kill.cancelled();
    tokio::pin!(killed);
    'outer: loop {
        // Room for a whole pipelined batch in one read, as Redis reads "as much as
        // possible": 16 requests of 1 KiB are 17 KiB, and a fixed 16 KiB took two
        // reads (and two wake-ups) per batch.
        if inbuf.is_empty() && inbuf.capacity() > 4 * read_size {
            // Shrunk back after a burst: an idle connection holds a small buffer.
            inbuf = BytesMut::with_capacity(read_size);
        }
        inbuf.reserve(read_size);
        let room = inbuf.capacity() - inbuf.len();
        tokio::select! {
            biased;
            _ = &mut killed => break,
            Some(msg) = rx.recv() => {
                let mut buf = BytesMut::from(&msg[..]);
                while let Ok(m) = rx.try_recv() {
                    buf.extend_from_slice(&m);
                }
                let n = buf.len();
                shared.writes.fetch_add(1, Ordering::Relaxed);
                if sock.write_all(&buf).await.is_err() {
                    break;
                }
                pending.fetch_sub(n, Ordering::SeqCst);
            }
            r = sock.read_buf(&mut inbuf) => {
                let n = match r {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                read_size = next_read_size(read_size, n, room);
                shared.busy.touch();
                let mut proto_err = parse_all(&mut parser, &mut inbuf, &limits, &mut reqs).err();
                let pipelined = reqs.len() > 1;
                let more = n >= room;
                if proto_err.is_none() && inbuf.len() > limits.max_query_buffer {
                    let mut st = shared.state.lock();
                    st.stats.client_qbuf_limit_disconnections += 1;
                    warn!("Closing client that reached max query buffer length: id={id} addr={peer} (qbuf initial bytes: {:?})", String::from_utf8_lossy(&inbuf[..inbuf.len().min(32)]));
                    break;
                }
                let mut first = true;
                loop {
                    let (flow, wrote_to) = run_batch(&shared, id, &mut reqs, &mut out, if first { n } else { 0 }, inbuf.len(), &mut limits);
                    first = false;
                    if let Some(end) = wrote_to.filter(|_| shared.gates.active()) {
                        if let Err(crate::gate::GateError::Refused(msg)) = shared.gates.wait(end, || crate::repl::degrade_refusal(&shared)).await {
                            // The batch's writes are applied here but not as durable as
                            // promised: its replies cannot be sent as success, and an
                            // error in place of a pipeline's replies would shift them.
                            // Say why and close, as a failed node would.
                            let _ = out.take();
                            let _ = sock.write_all(format!("-{msg}\r\n").as_bytes()).await;
                            break 'outer;
                        }
                    }
                    if !out.is_empty() {
                        // Let every other ready connection run its batch first, so
                        // the replies go out together, as Redis writes them before
                        // it sleeps: fewer wake-ups of clients mid-batch, and less
                        // preemption of this thread by them (measured at -P 16:
                        // INCR +14 %, SET +22 %). A single request is answered at
                        // once: a yielded task waits for the next poll of the I/O
                        // driver, and the connections found ready there run before
                        // it, which only delays a reply at pipeline 1.
                        //
                        // A read that filled its room is part of a longer batch:
                        // its replies go out at once and the yield comes after
                        // them, so the client's first replies do not wait a
                        // whole extra round (redis-benchmark's p99 for -P 16
                        // MSETs of 10 x 1 KiB: 6.5-8.5 ms before, 3.4-3.5 after,
                        // Redis 3.8-5.6).
                        if pipelined && !more {
                            tokio::task::yield_now().await;
                        }
                        // Written from the buffer itself, then emptied in place:
                        // no split (two atomic operations) per reply.
                        let r = sock.write_all(out.as_bytes()).await;
                        shared.writes.fetch_add(1, Ordering::Relaxed);
                        out.rollback(0);
                        if r.is_err() {
                            break 'outer;
                        }
                        if pipelined && more {
                            tokio::task::yield_now().await;
                        }
                    }
                    match flow {
                        Flow::Continue => break,
                        Flow::Close => break 'outer,
                        Flow::Paused(until) => {
                            // Re-checked every 10 ms (not slept to the deadline), so
                            // CLIENT UNPAUSE releases paused clients at once.
                            let wait = (until - now_ms()).clamp(1, 10) as u64;
                            tokio::select! {
                                _ = &mut killed => break 'outer,
                                _ = tokio::time::sleep(Duration::from_millis(wait)) => {}
                            }
                        }
                        Flow::Block(mut brx, deadline) => {
                            let sleep = async {
                                match deadline {
                                    Some(d) => tokio::time::sleep(Duration::from_millis((d - now_ms()).max(0) as u64)).await,
                                    None => std::future::pending::<()>().await,
                                }
                            };
                            tokio::pin!(sleep);
                            // The socket is watched while blocked, as Redis's event loop
                            // does: a client that goes away is unblocked at once (so no
                            // push is served to it and lost); what it pipelines meanwhile
                            // is parsed and runs after the blocking command.
                            let reply = loop {
                                tokio::select! {
                                    r = &mut brx => break r.ok(),
                                    _ = &mut sleep => {
                                        // Still blocked: reply as a timeout. Served meanwhile:
                                        // the reply is already in the channel.
                                        {
                                            let mut st = shared.state.lock();
                                            crate::blocking::unblock_with(&mut st, id, |o| o.null_array());
                                        }
                                        break brx.await.ok();
                                    }
                                    r = sock.read_buf(&mut inbuf), if proto_err.is_none() && inbuf.len() <= limits.max_query_buffer => match r {
                                        Ok(0) | Err(_) => break 'outer,
                                        Ok(_) => {
                                            if let Err(e) = parse_all(&mut parser, &mut inbuf, &limits, &mut reqs) {
                                                proto_err = Some(e);
                                            }
                                        }
                                    },
                                    _ = &mut killed => break 'outer,
                                }
                            };
                            if let Some(r) = reply {
                                if sock.write_all(&r).await.is_err() {
                                    break 'outer;
                                }
                            }
                            let close = shared.state.lock().clients.get(&id).is_some_and(|c| c.close_after_reply);
                            if close {
                                break 'outer;
                            }
                        }
                    }
                }
                if let Some(e) = proto_err {
                    debug!("protocol error: {e}");
                    let _ = sock.write_all(&e.to_reply()).await;
                    break;
                }
            }
        }
    }
    let _ = sock.shutdown().await;
}

/// A connection's parsed requests waiting to run, and the argument vectors of
/// requests already run, kept for the next ones: a pipelined request costs no
/// allocation for its argument list.
#[derive(Default)]
struct Requests {
    queue: VecDeque<Vec<Bytes>>,
    spare: Vec<Vec<Bytes>>,
    /// For a pipelined batch: each queued request's command, looked up once
    /// for the prefetch and reused by dispatch.
    cmds: VecDeque<Option<usize>>,
}

/// Spare argument vectors kept per connection (a pipeline's depth is typically
/// well below this; deeper ones allocate the rest).
const SPARE_ARGS: usize = 64;
/// Argument vectors longer than this (a big MSET) are not kept.
const SPARE_ARGS_CAP: usize = 16;

impl Requests {
    fn len(&self) -> usize {
        self.queue.len()
    }
    fn recycle(&mut self, mut args: Vec<Bytes>) {
        if self.spare.len() < SPARE_ARGS && args.capacity() <= SPARE_ARGS_CAP {
            args.clear();
            self.spare.push(args);
        }
    }
}

/// The smallest read a connection asks for (Redis's PROTO_IOBUF_LEN).
const READ_MIN: usize = 16 * 1024;
/// The largest: twice the smallest holds a pipelined batch of 16 requests of
/// 1 KiB. A connection's whole read runs before any other connection is served,
/// so more would delay everyone else behind a client that streams: measured
/// with a loader streaming SETs while another connection PINGs (2M keys), 16
/// KiB reads gave a longest PING of 5 ms, 64 KiB 10 ms, 512 KiB 110 ms.
const READ_MAX: usize = 32 * 1024;

/// Grows the read size while reads fill all the room they had, and shrinks it
/// back when they use little of it, so a connection that once sent a big batch
/// does not keep asking for (and holding) a big buffer.
fn next_read_size(size: usize, read: usize, room: usize) -> usize {
    if read >= room {
        (size * 2).min(READ_MAX)
    } else if read < size / 4 {
        (size / 2).max(READ_MIN)
    } else {
        size
    }
}

/// Parses every complete request in `inbuf` into `reqs`.
fn parse_all(
    parser: &mut RequestParser,
    inbuf: &mut BytesMut,
    limits: &Limits,
    reqs: &mut Requests,
) -> Result<(), tandem_resp::ProtocolError> {
    loop {
        let mut args = reqs.spare.pop().unwrap_or_default();
        if !parser.parse(inbuf, limits, &mut args)? {
            reqs.spare.push(args);
            return Ok(());
        }
        if !args.is_empty() {
            reqs.queue.push_back(args);
        }
    }
}

/// The key a request looks up first, when the command table says it is its
/// first argument (most commands): what a batch prefetches.
fn first_key<'a>(shared: &Shared, req: &'a [Bytes], cmd: Option<usize>) -> Option<&'a [u8]> {
    let e = shared.commands.entries.get(cmd?)?;
    (e.spec.first_key == 1).then(|| req.get(1).map(|k| &k[..]))?
}

/// The (key, field) a hash command works on, for the second prefetch level
/// (for the few hash commands whose third argument is not a field, such as
/// HRANDFIELD's count, it only prefetches a line for nothing).
fn hash_field<'a>(
    shared: &Shared,
    req: &'a [Bytes],
    cmd: Option<usize>,
) -> Option<(&'a [u8], &'a [u8])> {
    let e = shared.commands.entries.get(cmd?)?;
    if e.spec.group != "hash" || e.spec.first_key != 1 {
        return None;
    }
    Some((req.get(1)?, req.get(2)?))
}

/// Executes the queued requests under one lock acquisition. Also returns the
/// write-stream offset the batch's writes end at, if it wrote (for the reply gate).
#[allow(clippy::too_many_arguments)]
fn run_batch(
    shared: &Shared,
    id: u64,
    reqs: &mut Requests,
    out: &mut ReplyBuf,
    read: usize,
    qbuf: usize,
    limits: &mut Limits,
) -> (Flow, Option<u64>) {
    let mut guard = shared.state.lock();
    let st = &mut *guard;
    let now = now_ms();
    st.stats.net_input_bytes += read as u64;
    if read > 0 {
        st.stats.reads_processed += 1;
    }
    if let Some((until, all)) = st.pause {
        if until > now {
            // As Redis's PAUSE WRITE: writes, and commands that may
            // replicate (EVAL, PUBLISH, PFCOUNT).
            let writes = reqs.queue.iter().any(|r| {
                shared
                    .commands
                    .get(&r[0])
                    .map(|(_, e)| {
                        e.spec.has(tandem_commands::flags::WRITE)
                            || e.spec.has(tandem_commands::flags::MAY_REPLICATE)
                    })
                    .unwrap_or(false)
            });
            if all || writes {
                return (Flow::Paused(until), None);
            }
        } else {
            st.pause = None;
        }
    }
    let Some(c) = st.clients.get_mut(&id) else {
        return (Flow::Close, None);
    };
    let mut clock = Instant::now();
    c.last_interaction = clock;
    c.qbuf = qbuf;
    out.set_proto(c.proto);
    reqs.cmds.clear();
    if reqs.len() > 1 {
        let db = c.db;
        let cmds = &mut reqs.cmds;
        cmds.extend(reqs.queue.iter().map(|r| {
            let name = r.first()?;
            shared.commands.get(name).map(|(i, _)| i)
        }));
        st.store.prefetch(
            db,
            reqs.queue
                .iter()
                .zip(cmds.iter())
                .filter_map(|(r, &cmd)| first_key(shared, r, cmd)),
        );
        st.store.prefetch_fields(
            db,
            reqs.queue
                .iter()
                .zip(cmds.iter())
                .filter_map(|(r, &cmd)| hash_field(shared, r, cmd)),
        );
    }
    let before = out.len();
    let offset_before = st.stream.offset;
    let mut flow = Flow::Continue;
    crate::linkpos::begin_batch(st, id, reqs.len());
    while let Some(args) = reqs.queue.pop_front() {
        let cmd = reqs.cmds.pop_front().flatten();
        st.link_pos.executed += 1;
        let mut ctx = Ctx {
            st,
            shared,
            id,
            out,
            now,
            clock,
            in_multi: false,
            action: Action::None,
        };
        crate::dispatch::execute(&mut ctx, &args, cmd);
        clock = ctx.clock;
        reqs.recycle(args);
        match ctx.action {
            Action::None => {}
            Action::Close => {
                flow = Flow::Close;
                break;
            }
            Action::Block(rx, d) => {
                flow = Flow::Block(rx, d);
                break;
            }
        }
        // The replies of this batch (plus messages queued for it) count
        // against the client's output-buffer limit, as Redis's reply list does.
        let limited = st.eff.output[0].hard > 0 || st.eff.output[0].soft > 0;
        if limited {
            let queued = st
                .clients
                .get(&id)
                .map_or(0, |c| c.pending.load(Ordering::Relaxed));
            if st.output_limit_breached(id, (out.len() - before + queued) as u64) {
                let _ = out.take();
                flow = Flow::Close;
                break;
            }
        }
        if let Some(c) = st.clients.get(&id) {
            // Only CLIENT KILL can end this connection in the middle of its own
            // batch; other kills are seen by the connection loop's select.
            if c.last_cmd.starts_with("client") && c.kill.is_cancelled() {
                flow = Flow::Close;
                break;
            }
            out.set_proto(c.proto);
        }
    }
    // Keys modified under BCAST prefixes, gathered over the batch.
    crate::tracking::broadcast(st, id, Some(&mut *out));
    st.stats.net_output_bytes += (out.len() - before) as u64;
    crate::linkpos::end_batch(st, id);
    *limits = st.eff.limits;
    crate::persist::batch_end(st);
    let wrote_to = (st.stream.offset != offset_before).then_some(st.stream.offset);
    (flow, wrote_to)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn read_size_grows_with_full_reads_and_shrinks_with_small_ones() {
        assert_eq!(next_read_size(READ_MIN, READ_MIN, READ_MIN), 2 * READ_MIN);
        assert_eq!(next_read_size(READ_MAX, READ_MAX, READ_MAX), READ_MAX);
        assert_eq!(next_read_size(READ_MAX, 100, READ_MAX), READ_MAX / 2);
        assert_eq!(next_read_size(READ_MIN, 10, READ_MIN), READ_MIN);
        assert_eq!(next_read_size(READ_MAX, READ_MAX / 2, READ_MAX), READ_MAX);
    }
}
