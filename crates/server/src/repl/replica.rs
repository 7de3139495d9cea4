//! The replica side: REPLICAOF, the handshake with the master (PING, AUTH,
//! REPLCONF, PSYNC), loading a full-sync payload, and applying the stream.
//!
//! The payload is read into memory and loaded into a fresh keyspace outside the
//! lock; the switch to it is one swap under the lock, so clients of the replica keep
//! being served the old data (`replica-serve-stale-data yes`) until the new data is
//! complete. The stream is applied through the normal dispatch path as a "master"
//! pseudo-client (replies dropped, `store.from_master` set), and the master's bytes
//! are appended to this node's own stream verbatim: offsets stay equal along a chain
//! of replicas, which is what lets a promoted replica serve `+CONTINUE` (PSYNC2).

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use tandem_resp::{Limits, Proto, ReplyBuf, RequestParser};
use tandem_store::Store;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

use super::{ids, LinkState, MasterLink};
use crate::dispatch::{now_ms, Action, Ctx};
use crate::persist::loading::{AsyncLoading, Background};
use crate::persist::{load_rdb_opts, LoadMode};
use crate::state::{Client, Shared, State};

/// Why a session with the master ended.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("I/O error with the master: {0}")]
    Io(#[from] std::io::Error),
    #[error("Timeout connecting to the MASTER...")]
    ConnectTimeout,
    #[error("MASTER timeout: no data nor PING received...")]
    Timeout,
    #[error("Master closed the connection")]
    Closed,
    #[error("{0}")]
    Protocol(String),
    #[error("Failed trying to load the MASTER synchronization DB from socket: {0}")]
    Load(String),
    #[error("replication link replaced")]
    Cancelled,
}

/// Makes this node a replica of `host:port` (REPLICAOF, `replicaof` config, FENCE).
pub fn set_master(st: &mut State, host: String, port: u16) {
    let was_master = st.repl.master.is_none();
    drop_link(st);
    disconnect_replicas(st);
    if was_master {
        crate::blocking::release_on_demotion(st);
        info!("Before turning into a replica, using my own master parameters to synthesize a cached master: I may be able to synchronize with the new master with just a partial transfer.");
    }
    info!("Connecting to MASTER {host}:{port}");
    st.repl.master = Some(MasterLink {
        host: host.clone(),
        port,
        state: LinkState::Connect,
        cancel: CancellationToken::new(),
        running: false,
        last_io: Instant::now(),
        down_since: Instant::now(),
        read_offset: st.stream.offset,
        client_id: None,
        transfer_size: -1,
        transfer_read: 0,
    });
    let _ = st
        .config
        .set_many(&[("replicaof".into(), format!("{host} {port}"))]);
    st.store.config.is_replica = true;
    st.repl.reset_acked = true;
    st.repl.sync_degraded = false;
    st.repl.sync_refusing = false;
    st.repl.update_checks();
    st.repl.wake.notify_one();
}

/// REPLICAOF NO ONE: becomes a master with a new history (the old ID stays valid
/// as `replid2` up to the current offset).
pub fn unset_master(st: &mut State) {
    if st.repl.master.is_none() {
        return;
    }
    drop_link(st);
    st.repl.master = None;
    let off = st.stream.offset;
    st.repl.shift_replid(off);
    st.persist.repl_id = st.repl.replid.clone();
    st.stream.reset(None);
    disconnect_replicas(st);
    let _ = st.config.set_many(&[("replicaof".into(), "no one".into())]);
    st.store.config.is_replica = false;
    st.repl.reset_acked = true;
    st.repl.last_contact = Instant::now();
    st.repl.update_checks();
    info!("MASTER MODE enabled");
}

fn drop_link(st: &mut State) {
    if let Some(m) = st.repl.master.take() {
        m.cancel.cancel();
        if let Some(id) = m.client_id {
            st.clients.remove(&id);
        }
    }
}

/// Closes the links of this node's own replicas (they resync, partially if they can).
pub fn disconnect_replicas(st: &mut State) {
    for id in std::mem::take(&mut st.repl.replicas).into_keys() {
        if let Some(c) = st.clients.get(&id) {
            c.kill.cancel();
        }
    }
    st.stream.tapping = false;
    st.stream.tap.clear();
}

/// At start, when the snapshot recorded its replication history (the RDB's
/// `repl-id`, `repl-offset`, `repl-stream-db`, as Redis's "rsi"), as Redis
/// 7.0 does: a replica continues that history, so its first PSYNC can be
/// partial; a master keeps it as `replid2` up to that offset and continues
/// its offsets from there, so replicas that had everything (a SHUTDOWN that
/// saved, then a restart) continue partially too. Not with the AOF on (the
/// data came from the AOF, not that snapshot).
pub fn restore_history(st: &mut State) {
    if st.stream.offset != 0 || st.config.bool("appendonly") {
        return;
    }
    let path = crate::persist::rdb_path(st);
    let Ok(f) = std::fs::File::open(&path) else {
        return;
    };
    let Ok(mut r) = tandem_rdb::RdbReader::new(std::io::BufReader::new(f)) else {
        return;
    };
    let (mut id, mut off, mut db) = (None, None, None);
    while let Ok(tandem_rdb::Event::Aux { key, value }) = r.next_event() {
        let v = String::from_utf8_lossy(&value).into_owned();
        match &key[..] {
            b"repl-id" => id = Some(v),
            b"repl-offset" => off = v.parse::<u64>().ok(),
            b"repl-stream-db" => db = v.parse::<usize>().ok(),
            _ => {}
        }
    }
    let (Some(id), Some(off), Some(db)) = (id, off, db) else {
        return;
    };
    if !ids::is_replid(&id) || db >= st.store.dbs.len() {
        return;
    }
    if st.repl.master.is_none() {
        info!("Keeping the replication ID {id} up to offset {off} stored in the RDB file as the secondary ID, for partial resynchronizations with replicas");
        st.repl.replid2 = id;
        st.repl.second_offset = off as i64 + 1;
        st.stream.backlog_used = true;
        // The next write selects its database again (replicas may be anywhere).
        st.stream.reset(Some(off));
        return;
    }
    info!("Using the replication ID {id} and offset {off} stored in the RDB file to try a partial resynchronization");
    st.repl.replid = id.clone();
    st.persist.repl_id = id;
    st.repl.master_db = db;
    st.stream.backlog_used = true;
    st.stream.reset(Some(off));
    st.stream.set_last_db(db);
    if let Some(m) = st.repl.master.as_mut() {
        m.read_offset = off;
    }
}

/// Starts the link task when a master is configured and none runs.
pub fn ensure_link(shared: &Arc<Shared>) {
    let mut st = shared.state.lock();
    let Some(m) = st.repl.master.as_mut() else {
        return;
    };
    if m.running {
        return;
    }
    m.running = true;
    let (host, port, cancel) = (m.host.clone(), m.port, m.cancel.clone());
    tokio::spawn(link_task(shared.clone(), host, port, cancel));
}

async fn link_task(shared: Arc<Shared>, host: String, port: u16, cancel: CancellationToken) {
    loop {
        let res = tokio::select! {
            r = session(&shared, &host, port, &cancel) => r,
            _ = cancel.cancelled() => Err(LinkError::Cancelled),
        };
        {
            let mut st = shared.state.lock();
            if cancel.is_cancelled() {
                return;
            }
            if let Some(m) = st.repl.master.as_mut() {
                let cid = m.client_id.take();
                if m.state == LinkState::Connected {
                    m.down_since = Instant::now();
                }
                m.state = LinkState::Connect;
                if let Some(id) = cid {
                    st.clients.remove(&id);
                }
            }
        }
        if let Err(e) = res {
            warn!("{e}");
            info!("Connection with master lost.");
        }
        tokio::select! {
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            _ = cancel.cancelled() => return,
        }
    }
}

/// A connection to the master with its read buffer.
struct Link {
    sock: TcpStream,
    buf: BytesMut,
    timeout: Duration,
}

impl Link {
    async fn send(&mut self, args: &[&[u8]]) -> Result<(), LinkError> {
        let mut out = Vec::new();
        tandem_resp::encode_request(args, &mut out);
        self.sock.write_all(&out).await?;
        Ok(())
    }

    async fn fill(&mut self) -> Result<(), LinkError> {
        match tokio::time::timeout(self.timeout, self.sock.read_buf(&mut self.buf)).await {
            Err(_) => Err(LinkError::Timeout),
            Ok(Ok(0)) => Err(LinkError::Closed),
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(e.into()),
        }
    }

    /// One read with no timeout of its own (the stream loop keeps the deadline).
    async fn read_more(&mut self) -> Result<(), LinkError> {
        match self.sock.read_buf(&mut self.buf).await {
            Ok(0) => Err(LinkError::Closed),
            Ok(_) => Ok(()),
            Err(e) => Err(e.into()),
        }
    }

    /// One reply line (without CRLF). Empty lines are the master's keep-alives.
    async fn line(&mut self) -> Result<String, LinkError> {
        loop {
            if let Some(p) = self.buf.iter().position(|&b| b == b'\n') {
                let l = self.buf.split_to(p + 1);
                let s = String::from_utf8_lossy(&l).trim_end().to_string();
                return Ok(s);
            }
            if self.buf.len() > 64 * 1024 {
                return Err(LinkError::Protocol("reply line too long".into()));
            }
            self.fill().await?;
        }
    }

    async fn command(&mut self, args: &[&[u8]]) -> Result<String, LinkError> {
        self.send(args).await?;
        self.line().await
    }
}

fn cfg_str(st: &State, name: &str) -> String {
    st.config.str(name).to_string()
}

async fn session(
    shared: &Arc<Shared>,
    host: &str,
    port: u16,
    cancel: &CancellationToken,
) -> Result<(), LinkError> {
    let (timeout, auth, user, my_port, announce_ip) = {
        let mut st = shared.state.lock();
        if let Some(m) = st.repl.master.as_mut() {
            m.state = LinkState::Connecting;
        }
        let ap = st.config.int("replica-announce-port");
        (
            Duration::from_secs(st.repl.cfg.timeout.max(1)),
            cfg_str(&st, "masterauth"),
            cfg_str(&st, "masteruser"),
            if ap > 0 {
                ap as u16
            } else {
                shared.port.load(std::sync::atomic::Ordering::Relaxed)
            },
            cfg_str(&st, "replica-announce-ip"),
        )
    };
    let sock = tokio::time::timeout(timeout, TcpStream::connect((host, port)))
        .await
        .map_err(|_| LinkError::ConnectTimeout)??;
    let _ = sock.set_nodelay(true);
    info!("MASTER <-> REPLICA sync started");
    set_state(shared, cancel, LinkState::Handshake)?;
    let mut link = Link {
        sock,
        buf: BytesMut::with_capacity(64 * 1024),
        timeout,
    };
    let pong = link.command(&[b"PING"]).await?;
    if pong.starts_with('-')
        && !pong.starts_with("-NOAUTH")
        && !pong.starts_with("-NOPERM")
        && !pong.starts_with("-ERR operation not permitted")
    {
        return Err(LinkError::Protocol(format!(
            "Error reply to PING from master: '{pong}'"
        )));
    }
    info!("Master replied to PING, replication can continue...");
    if !auth.is_empty() {
        let r = if user.is_empty() {
            link.command(&[b"AUTH", auth.as_bytes()]).await?
        } else {
            link.command(&[b"AUTH", user.as_bytes(), auth.as_bytes()])
                .await?
        };
        if r.starts_with('-') {
            return Err(LinkError::Protocol(format!(
                "Unable to AUTH to MASTER: {r}"
            )));
        }
    }
    let p = my_port.to_string();
    let r = link
        .command(&[b"REPLCONF", b"listening-port", p.as_bytes()])
        .await?;
    if r.starts_with('-') {
        info!("(Non critical) Master does not understand REPLCONF listening-port: {r}");
    }
    if !announce_ip.is_empty() {
        let _ = link
            .command(&[b"REPLCONF", b"ip-address", announce_ip.as_bytes()])
            .await?;
    }
    let r = link
        .command(&[b"REPLCONF", b"capa", b"eof", b"capa", b"psync2"])
        .await?;
    if r.starts_with('-') {
        info!("(Non critical) Master does not understand REPLCONF capa: {r}");
    }
    let (replid, want) = {
        let st = shared.state.lock();
        (st.repl.replid.clone(), st.stream.offset + 1)
    };
    info!("Trying a partial resynchronization (request {replid}:{want}).");
    let w = want.to_string();
    link.send(&[b"PSYNC", replid.as_bytes(), w.as_bytes()])
        .await?;
    let reply = loop {
        let l = link.line().await?;
        if !l.is_empty() {
            break l;
        }
    };
    if let Some(rest) = reply.strip_prefix("+FULLRESYNC ") {
        let mut it = rest.split(' ');
        let (Some(id), Some(off)) = (it.next(), it.next().and_then(|o| o.parse::<u64>().ok()))
        else {
            return Err(LinkError::Protocol(format!(
                "Master replied with wrong +FULLRESYNC syntax: {reply}"
            )));
        };
        if !ids::is_replid(id) {
            return Err(LinkError::Protocol(format!(
                "Master replied with wrong +FULLRESYNC syntax: {reply}"
            )));
        }
        info!("Full resync from master: {id}:{off}");
        full_sync(shared, cancel, &mut link, id, off).await?;
    } else if let Some(rest) = reply.strip_prefix("+CONTINUE") {
        let new_id = rest.trim();
        info!("Successful partial resynchronization with master.");
        let mut st = shared.state.lock();
        check(&st, cancel)?;
        if ids::is_replid(new_id) && new_id != st.repl.replid {
            let off = st.stream.offset;
            st.repl.replid2 = std::mem::replace(&mut st.repl.replid, new_id.to_string());
            st.repl.second_offset = off as i64 + 1;
            st.persist.repl_id = st.repl.replid.clone();
            info!("Master replication ID changed to {new_id}");
            disconnect_replicas(&mut st);
        }
        st.stream.backlog_used = true;
        info!("MASTER <-> REPLICA sync: Master accepted a Partial Resynchronization.");
    } else {
        return Err(LinkError::Protocol(format!(
            "Unexpected reply to PSYNC from master: {reply}"
        )));
    }
    stream(shared, cancel, link).await
}

fn check(st: &State, cancel: &CancellationToken) -> Result<(), LinkError> {
    if cancel.is_cancelled() || st.repl.master.is_none() {
        return Err(LinkError::Cancelled);
    }
    Ok(())
}

fn set_state(shared: &Shared, cancel: &CancellationToken, s: LinkState) -> Result<(), LinkError> {
    let mut st = shared.state.lock();
    check(&st, cancel)?;
    if let Some(m) = st.repl.master.as_mut() {
        m.state = s;
        m.last_io = Instant::now();
    }
    Ok(())
}

/// Reads the payload (`$<len>` or `$EOF:<mark>`), loads it into a fresh keyspace
/// and swaps it in.
async fn full_sync(
    shared: &Arc<Shared>,
    cancel: &CancellationToken,
    link: &mut Link,
    id: &str,
    off: u64,
) -> Result<(), LinkError> {
    set_state(shared, cancel, LinkState::Transfer)?;
    let head = loop {
        let l = link.line().await?;
        if !l.is_empty() {
            break l;
        }
        set_state(shared, cancel, LinkState::Transfer)?;
    };
    if let Some(e) = head.strip_prefix('-') {
        return Err(LinkError::Protocol(format!(
            "MASTER aborted replication with an error: {e}"
        )));
    }
    let Some(spec) = head.strip_prefix('$') else {
        return Err(LinkError::Protocol(format!(
            "Bad protocol from MASTER, the first byte is not '$' (we received '{head}'), are you sure the host and port are right?"
        )));
    };
    let mut data = Vec::new();
    let eof = spec.strip_prefix("EOF:").map(|m| m.as_bytes().to_vec());
    match &eof {
        Some(mark) => {
            if mark.len() != 40 {
                return Err(LinkError::Protocol(format!("bad EOF mark: {head}")));
            }
            info!("MASTER <-> REPLICA sync: receiving streamed RDB from master with EOF to memory");
            loop {
                data.extend_from_slice(&link.buf);
                link.buf.clear();
                if data.len() >= 40 && data.ends_with(mark) {
                    data.truncate(data.len() - 40);
                    break;
                }
                progress(shared, cancel, data.len() as u64, -1)?;
                link.fill().await?;
            }
        }
        None => {
            let len: usize = spec
                .parse()
                .map_err(|_| LinkError::Protocol(format!("bad payload length: {head}")))?;
            info!("MASTER <-> REPLICA sync: receiving {len} bytes from master to memory");
            loop {
                let take = link.buf.len().min(len - data.len());
                data.extend_from_slice(&link.buf[..take]);
                link.buf.advance(take);
                if data.len() == len {
                    break;
                }
                progress(shared, cancel, data.len() as u64, len as i64)?;
                link.fill().await?;
            }
        }
    }
    let (cfg, verify) = {
        let st = shared.state.lock();
        (st.store.config.clone(), st.config.bool("rdbchecksum"))
    };
    info!("MASTER <-> REPLICA sync: Loading DB in memory");
    // Until the swap (or the end of this sync, if the link goes first).
    let _loading = AsyncLoading::start(shared, data.len() as u64);
    let (sh, cn) = (shared.clone(), cancel.clone());
    let loaded = tokio::task::spawn_blocking(move || {
        let mut fresh = Store::new(cfg);
        let mut target = Background::new(&mut fresh, &sh, &cn);
        let stats = load_rdb_opts(&data[..], &mut target, LoadMode::Replica, verify);
        stats.map(|s| (fresh, s))
    })
    .await;
    let old = {
        let mut st = shared.state.lock();
        // Loaded, failed or stopped: the old data is the node's until the swap.
        st.async_loading = None;
        let (fresh, stats) = loaded
            .map_err(|e| LinkError::Load(e.to_string()))?
            .map_err(|e| LinkError::Load(e.to_string()))?;
        check(&st, cancel)?;
        info!("MASTER <-> REPLICA sync: Flushing old data");
        let old = std::mem::replace(&mut st.store.dbs, fresh.dbs);
        for db in 0..st.store.dbs.len().max(old.len()) {
            st.store.touch_all(db);
        }
        // Client-side caches of this replica's clients drop everything.
        st.store.flushed |= st.store.tracking_on;
        crate::tracking::process_modified(&mut st, 0);
        st.repl.replid = id.to_string();
        st.repl.replid2 = ids::ZERO_ID.to_string();
        st.repl.second_offset = -1;
        st.stream.backlog_used = true;
        st.repl.master_db = stats.repl_stream_db.unwrap_or(0).max(0) as usize;
        crate::script::load_snapshot(&mut st, &stats);
        st.persist.repl_id = id.to_string();
        st.stream.reset(Some(off));
        st.repl.reset_acked = true;
        disconnect_replicas(&mut st);
        // The AOF must describe the new dataset: a fresh base.
        if let Err(e) = crate::persist::restart_aof(&mut st, shared) {
            warn!("Could not restart the AOF after the full sync: {e}");
        }
        if let Some(m) = st.repl.master.as_mut() {
            m.read_offset = off;
            m.transfer_size = -1;
        }
        info!(
            "Done loading RDB, keys loaded: {}, keys expired: {}.",
            stats.keys_loaded, stats.expired_skipped
        );
        info!("MASTER <-> REPLICA sync: Finished with success");
        old
    };
    // Freeing a big keyspace takes time: not under the lock.
    tokio::task::spawn_blocking(move || drop(old));
    if eof.is_some() {
        // A Redis 7.0 master starts the stream after an EOF transfer only once it
        // has this first ACK.
        let o = off.to_string();
        link.send(&[b"REPLCONF", b"ACK", o.as_bytes()]).await?;
    }
    Ok(())
}

fn progress(
    shared: &Shared,
    cancel: &CancellationToken,
    read: u64,
    size: i64,
) -> Result<(), LinkError> {
    let mut st = shared.state.lock();
    check(&st, cancel)?;
    if let Some(m) = st.repl.master.as_mut() {
        m.transfer_read = read;
        m.transfer_size = size;
        m.last_io = Instant::now();
    }
    Ok(())
}

/// Registers the pseudo-client the master's stream is applied as.
fn master_client(st: &mut State, addr: String) -> (u64, CancellationToken) {
    let id = st.next_client_id;
    let kill = CancellationToken::new();
    st.next_client_id += 1;
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut c = Client::new(
        id,
        addr,
        String::new(),
        kill.clone(),
        tx,
        Arc::new(std::sync::atomic::AtomicUsize::new(0)),
    );
    c.db = st.repl.master_db;
    c.authenticated = true;
    // No user: ACL rules do not apply (Redis's superuser clients).
    c.user = bytes::Bytes::new();
    c.repl_type = Some("master");
    st.clients.insert(id, c);
    (id, kill)
}

fn ack_bytes(offset: u64) -> Vec<u8> {
    let o = offset.to_string();
    let mut out = Vec::new();
    tandem_resp::encode_request(&[&b"REPLCONF"[..], b"ACK", o.as_bytes()], &mut out);
    out
}

/// Applies the master's stream until the link breaks or is replaced.
async fn stream(
    shared: &Arc<Shared>,
    cancel: &CancellationToken,
    mut link: Link,
) -> Result<(), LinkError> {
    let (client_id, kill) = {
        let mut st = shared.state.lock();
        check(&st, cancel)?;
        let addr = st
            .repl
            .master
            .as_ref()
            .map(|m| format!("{}:{}", m.host, m.port))
            .unwrap_or_default();
        let (id, kill) = master_client(&mut st, addr);
        let offset = st.stream.offset;
        if let Some(m) = st.repl.master.as_mut() {
            m.state = LinkState::Connected;
            m.client_id = Some(id);
            m.last_io = Instant::now();
            m.read_offset = offset;
        }
        (id, kill)
    };
    let limits = Limits {
        max_bulk_len: usize::MAX / 4,
        max_query_buffer: usize::MAX / 4,
        ..Limits::default()
    };
    let mut parser = RequestParser::new();
    let mut out = ReplyBuf::new(Proto::Resp2);
    let mut ack_tick = tokio::time::interval(Duration::from_secs(1));
    let mut cmds: Vec<Vec<Bytes>> = Vec::new();
    // Stream bytes may have arrived with the PSYNC reply or the payload's tail.
    let mut buffered = !link.buf.is_empty();
    let mut last_read = tokio::time::Instant::now();
    let silence = link.timeout;
    loop {
        tokio::select! {
            _ = std::future::ready(()), if buffered => buffered = false,
            // CLIENT KILL TYPE master
            _ = kill.cancelled() => return Err(LinkError::Closed),
            r = link.read_more() => {
                r?;
                last_read = tokio::time::Instant::now();
            }
            // The master PINGs every repl-ping-replica-period: silence this long
            // means the link is dead even if TCP has not noticed.
            _ = tokio::time::sleep_until(last_read + silence) => return Err(LinkError::Timeout),
            _ = ack_tick.tick() => {
                let off = shared.state.lock().stream.offset;
                link.sock.write_all(&ack_bytes(off)).await?;
                continue;
            }
        }
        let raw = Bytes::copy_from_slice(&link.buf);
        let before = link.buf.len();
        loop {
            let mut args = Vec::new();
            match parser.parse(&mut link.buf, &limits, &mut args) {
                Ok(true) => {
                    if !args.is_empty() {
                        cmds.push(args)
                    }
                }
                Ok(false) => break,
                Err(e) => {
                    return Err(LinkError::Protocol(format!(
                        "Protocol error from MASTER: {e:?}"
                    )))
                }
            }
        }
        let consumed = before - link.buf.len();
        let mut ack_now = false;
        let offset = {
            let mut guard = shared.state.lock();
            let st = &mut *guard;
            check(st, cancel)?;
            st.stats.net_repl_input_bytes += consumed as u64;
            let now = now_ms();
            for args in cmds.drain(..) {
                if args[0].eq_ignore_ascii_case(b"REPLCONF")
                    && args
                        .get(1)
                        .is_some_and(|a| a.eq_ignore_ascii_case(b"GETACK"))
                {
                    ack_now = true;
                    continue;
                }
                if args[0].eq_ignore_ascii_case(b"PING") {
                    if let Some(msg) = args.get(1) {
                        crate::linkpos::on_ping_from_master(st, msg);
                    }
                    continue;
                }
                st.store.from_master = true;
                let mut ctx = Ctx {
                    st,
                    shared,
                    id: client_id,
                    out: &mut out,
                    now,
                    clock: std::time::Instant::now(),
                    in_multi: false,
                    action: Action::None,
                };
                crate::dispatch::execute(&mut ctx, &args, None);
                ctx.st.store.from_master = false;
                let _ = out.take();
            }
            st.stream.append_raw(&raw[..consumed]);
            // The master's writes, under this replica's BCAST prefixes.
            crate::tracking::broadcast(st, 0, None);
            super::feed(st);
            crate::persist::batch_end(st);
            let unparsed = link.buf.len() as u64;
            let offset = st.stream.offset;
            if let Some(m) = st.repl.master.as_mut() {
                m.last_io = Instant::now();
                m.read_offset = offset + unparsed;
            }
            if let Some(c) = st.clients.get(&client_id) {
                st.repl.master_db = c.db;
                st.stream.set_last_db(c.db);
            }
            st.stream.offset
        };
        if ack_now {
            link.sock.write_all(&ack_bytes(offset)).await?;
        }
    }
}
