//! Settling what a failed link left unanswered: which of those requests the
//! surviving history holds.
//!
//! Every shared link names itself to its node with `TANDEM LINK <tag>`, and the
//! node marks the link's request count in its write stream before each batch's
//! writes (see the server's `linkpos` module). When a link fails with requests
//! unanswered, the proxy waits for a *different* master (a new topology), asks
//! it `TANDEM LINKPOS <tag>` = n, and knows: requests numbered above n left no
//! write there (never read, or read by a master whose later history is
//! discarded): they are replayed like requests never sent; those at or below n
//! may have been applied (the usual rule: replay if harmless, else "outcome
//! unknown").
//!
//! ```text
//!  link fails ── unanswered #41..#44 ──> wait: route.master != failed node
//!                                        ask it LINKPOS tag -> 42
//!  #41, #42: maybe applied (SAFE: replay; else outcome unknown)
//!  #43, #44: not applied: replayed
//! ```
//!
//! The same node is never asked: it may still execute what it read from the
//! failed connection after answering. Nor is a node that gives no answer
//! (redis-server, an error, no new master within `hold-timeout`): then every
//! unanswered request counts as maybe applied, as without this module.

use std::sync::Weak;
use std::time::{Duration, Instant};

use tandem_resp::scan::Frame;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tracing::debug;

use crate::router::Router;

/// Sends `args` (after AUTH when the proxy logs in to the nodes) to `node` on a
/// fresh connection and returns the last reply, within `timeout`.
pub(crate) async fn ask(
    node: &str,
    login: Option<&crate::link::Login>,
    args: &[&[u8]],
    timeout: Duration,
) -> std::io::Result<Option<Frame>> {
    let io = |m: &str| std::io::Error::other(m.to_string());
    let fut = async {
        let mut s = tokio::net::TcpStream::connect(node).await?;
        let mut req = Vec::new();
        let mut n = 1;
        if let Some(l) = login {
            tandem_resp::encode_request(&l.auth_args(), &mut req);
            n += 1;
        }
        tandem_resp::encode_request(args, &mut req);
        s.write_all(&req).await?;
        let mut buf = Vec::new();
        let mut frames = Vec::new();
        while frames.len() < n {
            let mut chunk = [0u8; 8192];
            let k = s.read(&mut chunk).await?;
            if k == 0 {
                return Err(io("closed"));
            }
            buf.extend_from_slice(&chunk[..k]);
            while let Some((f, used)) =
                tandem_resp::scan::parse_frame(&buf).map_err(|e| io(&e.to_string()))?
            {
                frames.push(f);
                buf.drain(..used);
            }
        }
        Ok(frames.pop())
    };
    tokio::time::timeout(timeout, fut)
        .await
        .map_err(|_| io("timed out"))?
}

/// How many requests of link `tag` (which failed on `failed_node`) the current
/// master's history covers; None when no other master answers within
/// `hold-timeout`.
pub(crate) async fn applied_upto(
    router: Weak<Router>,
    failed_node: &str,
    tag: &[u8],
) -> Option<u64> {
    let deadline = Instant::now() + router.upgrade()?.cfg.hold_timeout;
    loop {
        let r = router.upgrade()?;
        let route = r.route();
        if let Some(m) = route.master.as_ref().filter(|m| &*m.node != failed_node) {
            if m.usable() {
                let timeout = r.cfg.connect_timeout.max(Duration::from_millis(200));
                let args: [&[u8]; 3] = [b"TANDEM", b"LINKPOS", tag];
                match ask(&m.node, r.backend_login.as_ref(), &args, timeout).await {
                    Ok(Some(Frame::Integer(n))) => {
                        debug!(
                            "link {} covered up to #{n} on {}",
                            String::from_utf8_lossy(tag),
                            m.node
                        );
                        return u64::try_from(n).ok();
                    }
                    // Not a Tandem node, or it refuses: no answer to wait for.
                    Ok(_) => return None,
                    Err(e) => debug!("asking {} about a failed link: {e}", m.node),
                }
            }
        } else if route.master.as_ref().is_some_and(|m| m.usable()) {
            // The same node is master again (a link blip): it cannot say.
            return None;
        }
        drop(route);
        drop(r);
        if Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Splits a failed link's unanswered requests (FIFO order, numbered from
/// `first`) into how many of each entry may have been applied, given the new
/// master covers requests up to `upto` (None: all may have).
pub(crate) fn maybe_applied(first: u64, remaining: &[u32], upto: Option<u64>) -> Vec<u32> {
    let mut seq = first;
    remaining
        .iter()
        .map(|&r| {
            let m = match upto {
                None => r,
                Some(n) if n < seq => 0,
                Some(n) => (n - seq + 1).min(r as u64) as u32,
            };
            seq += r as u64;
            m
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_past_the_covered_count_are_not_applied() {
        // Entries #5-#6, #7, #8-#9; the new master covers up to #7.
        assert_eq!(maybe_applied(5, &[2, 1, 2], Some(7)), vec![2, 1, 0]);
        assert_eq!(maybe_applied(5, &[2, 1, 2], Some(5)), vec![1, 0, 0]);
        assert_eq!(maybe_applied(5, &[2, 1, 2], Some(4)), vec![0, 0, 0]);
        assert_eq!(maybe_applied(5, &[2, 1, 2], Some(100)), vec![2, 1, 2]);
        assert_eq!(maybe_applied(5, &[2, 1, 2], None), vec![2, 1, 2]);
    }
}
