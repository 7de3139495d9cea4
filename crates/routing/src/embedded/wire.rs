//! The embedded store's TCP protocol: RESP requests and replies (tandem-resp's
//! parser and encoder), one request at a time per connection, plus a push mode.
//!
//! ```text
//!   PING                          +PONG
//!   GET                           *2 :<revision> $<topology json> | $-1
//!   CAS <epoch|-> <json>          +APPLIED | *2 +CONFLICT $<json>|$-1 | -REJECTED ..
//!   CAMPAIGN <holder> <ttl ms>    *3 :<lease id> $<holder> :<ttl ms> | $-1
//!   RESIGN <lease id> <holder>    +OK
//!   REPORT <observation json>     +OK
//!   OBSERVATIONS <node> <max age ms>   *N $<observation json>...
//!   WATCH                         the connection becomes a push stream:
//!                                 *3 $topology :<revision> $<json>, the current
//!                                 topology first, then every change
//! ```
//!
//! Errors carry the [`RoutingError`] kind as their first word (REJECTED, TOPOLOGY,
//! LEASE, ERR) so the client rebuilds the same typed error.

use bytes::{Buf, BytesMut};
use tandem_resp::scan::{parse_frame, Frame};
use tokio::io::{AsyncRead, AsyncReadExt};

use crate::{RoutingError, TopologyError};

/// The longest reply or request the protocol accepts: topologies and observation
/// lists are a few KiB; anything near this is a bug or an attack.
pub(crate) const MAX_MESSAGE: usize = 16 * 1024 * 1024;

/// The error line for `e` (without the leading '-' and CRLF).
pub(crate) fn error_line(e: &RoutingError) -> String {
    let (kind, msg) = match e {
        RoutingError::Rejected(m) => ("REJECTED", m.clone()),
        RoutingError::Topology(t) => ("TOPOLOGY", t.to_string()),
        RoutingError::Lease(m) => ("LEASE", m.clone()),
        other => ("ERR", other.to_string()),
    };
    // A reply line cannot hold CR or LF.
    format!("{kind} {}", msg.replace(['\r', '\n'], " "))
}

/// The typed error for an error reply from the server.
pub(crate) fn parse_error(line: &[u8]) -> RoutingError {
    let text = String::from_utf8_lossy(line);
    let (kind, msg) = text.split_once(' ').unwrap_or((&text, ""));
    match kind {
        "REJECTED" => RoutingError::Rejected(msg.to_string()),
        "TOPOLOGY" => RoutingError::Topology(TopologyError::Decode(msg.to_string())),
        "LEASE" => RoutingError::Lease(msg.to_string()),
        _ => RoutingError::Other(format!("server: {text}")),
    }
}

pub(crate) fn unavailable(what: &str, e: impl std::fmt::Display) -> RoutingError {
    RoutingError::Unavailable(format!("{what}: {e}"))
}

pub(crate) fn bad_reply(what: &str, f: &Frame) -> RoutingError {
    RoutingError::Other(format!("unexpected reply to {what}: {f:?}"))
}

/// Reads one complete RESP value from `sock`, buffering in `buf`.
pub(crate) async fn read_frame<R: AsyncRead + Unpin>(
    sock: &mut R,
    buf: &mut BytesMut,
) -> Result<Frame, RoutingError> {
    loop {
        match parse_frame(buf) {
            Ok(Some((frame, used))) => {
                buf.advance(used);
                return Ok(frame);
            }
            Ok(None) => {}
            Err(e) => return Err(RoutingError::Other(format!("bad reply: {e}"))),
        }
        if buf.len() > MAX_MESSAGE {
            return Err(RoutingError::Other("reply too large".into()));
        }
        buf.reserve(4096);
        match sock.read_buf(buf).await {
            Ok(0) => return Err(RoutingError::Unavailable("connection closed".into())),
            Ok(_) => {}
            Err(e) => return Err(unavailable("read", e)),
        }
    }
}

/// The bytes of a bulk or simple string frame.
pub(crate) fn frame_bytes(f: &Frame) -> Option<&[u8]> {
    match f {
        Frame::Bulk(b) | Frame::Simple(b) => Some(b),
        _ => None,
    }
}

pub(crate) fn frame_int(f: &Frame) -> Option<i64> {
    match f {
        Frame::Integer(n) => Some(*n),
        _ => None,
    }
}

pub(crate) fn is_nil(f: &Frame) -> bool {
    matches!(f, Frame::Nil | Frame::NilArray | Frame::Null)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_keep_their_kind_across_the_wire() {
        let e = RoutingError::Rejected("epoch 3 does not\r\nincrease".into());
        let line = error_line(&e);
        assert_eq!(line, "REJECTED epoch 3 does not  increase");
        assert!(
            matches!(parse_error(line.as_bytes()), RoutingError::Rejected(m) if m.starts_with("epoch 3"))
        );
        let t = RoutingError::Topology(TopologyError::NoShard);
        assert!(matches!(
            parse_error(error_line(&t).as_bytes()),
            RoutingError::Topology(_)
        ));
        assert!(matches!(parse_error(b"ERR boom"), RoutingError::Other(_)));
    }
}
