//! SHUTDOWN (and SIGTERM/SIGINT) on a master with replicas, as Redis 7.0:
//! unless NOW is given or `shutdown-timeout` is 0, writes are paused and the
//! node waits (up to `shutdown-timeout` seconds) for its replicas to
//! acknowledge everything it sent, so a planned stop loses no write a
//! replica could have had; then it saves (per the flags) and exits.
//! SHUTDOWN ABORT cancels the wait: writes resume and the waiting SHUTDOWN
//! gets "Errors trying to SHUTDOWN. Check logs.".

use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::state::{Shared, State};

/// How the node is to stop (SHUTDOWN's flags).
#[derive(Clone, Copy, Debug, Default)]
pub struct Flags {
    pub save: bool,
    pub nosave: bool,
    pub force: bool,
}

/// A shutdown waiting for replicas.
pub struct Pending {
    flags: Flags,
    /// The SHUTDOWN client's reply (None for a signal).
    client: Option<oneshot::Sender<Bytes>>,
}

pub const ERRORS: &str = "ERR Errors trying to SHUTDOWN. Check logs.";

/// Online replicas that have not acknowledged everything sent.
fn lagging(st: &State) -> usize {
    let offset = st.stream.offset;
    st.repl.online().filter(|(_, r)| r.ack < offset).count()
}

/// Starts waiting for the replicas, if the node must: returns false when it
/// can stop now (no lagging replica, `shutdown-timeout 0`, a replica node).
pub fn begin(
    shared: &Shared,
    st: &mut State,
    flags: Flags,
    client: Option<oneshot::Sender<Bytes>>,
) -> bool {
    let timeout = st.config.int("shutdown-timeout");
    if timeout <= 0 || st.repl.is_replica() || st.shutdown.is_some() || lagging(st) == 0 {
        return false;
    }
    let Some(me) = shared.me.get().and_then(std::sync::Weak::upgrade) else {
        return false;
    };
    let deadline = Instant::now() + Duration::from_secs(timeout as u64);
    tracing::warn!("Waiting for replicas before shutting down.");
    // Writes stop here, so the offset the replicas must reach stays put.
    let now = crate::dispatch::now_ms();
    st.pause = Some((now.saturating_add(timeout * 1000 + 1000), false));
    st.shutdown = Some(Pending { flags, client });
    // Ask the replicas for their offsets now rather than at their next ACK.
    shared.gates.getack.notify_one();
    tokio::spawn(finish_when_ready(me, deadline));
    true
}

/// Polls until every replica still online has acknowledged everything (as
/// Redis's isReadyToShutdown: a replica that went away is not waited for) or
/// the deadline passes, then saves and stops, unless SHUTDOWN ABORT came first.
async fn finish_when_ready(shared: Arc<Shared>, deadline: Instant) {
    loop {
        tokio::time::sleep(Duration::from_millis(10)).await;
        let mut guard = shared.state.lock();
        let st = &mut *guard;
        if st.shutdown.is_none() {
            return; // aborted
        }
        if lagging(st) > 0 && Instant::now() < deadline {
            continue;
        }
        let Some(p) = st.shutdown.take() else {
            return;
        };
        st.pause = None;
        let offset = st.stream.offset;
        for (_, r) in st.repl.online().filter(|(_, r)| r.ack < offset) {
            tracing::warn!(
                "Lagging replica {}:{} reported offset {} behind master, lag={}",
                r.ip,
                r.listening_port,
                offset - r.ack,
                r.ack_time.elapsed().as_secs()
            );
        }
        match crate::persist::prepare_shutdown_flags(st, p.flags) {
            Ok(()) => {
                tracing::warn!("User requested shutdown...");
                shared.shutdown.cancel();
            }
            Err(e) => {
                if let Some(tx) = p.client {
                    let _ = tx.send(Bytes::from(format!("-{e}\r\n")));
                }
            }
        }
        return;
    }
}

/// SHUTDOWN ABORT: true if a shutdown was waiting (it is cancelled).
pub fn abort(st: &mut State) -> bool {
    let Some(p) = st.shutdown.take() else {
        return false;
    };
    st.pause = None;
    tracing::warn!("Shutdown manually aborted.");
    if let Some(tx) = p.client {
        let _ = tx.send(Bytes::from(format!("-{ERRORS}\r\n")));
    }
    true
}
