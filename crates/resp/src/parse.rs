//! Incremental request parser. (Stub: the resp helper completes this.)

use bytes::{Bytes, BytesMut};

/// Limits on what a client may send, with Redis's defaults.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len` (512 MiB by default).
    pub max_bulk_len: usize,
    /// Largest multibulk count accepted (Redis: 1024*1024*1024 ... checked against INT_MAX).
    pub max_multibulk_len: usize,
    /// Largest inline request (Redis's PROTO_INLINE_MAX_SIZE, 64 KiB).
    pub max_inline_len: usize,
    /// `client-query-buffer-limit` (1 GiB by default).
    pub max_query_buffer: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_bulk_len: 512 * 1024 * 1024,
            max_multibulk_len: i32::MAX as usize,
            max_inline_len: 64 * 1024,
            max_query_buffer: 1024 * 1024 * 1024,
        }
    }
}

/// A client protocol error. The message is Redis's, to be sent as
/// `-ERR Protocol error: <msg>` before the connection is closed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Protocol error: {0}")]
pub struct ProtocolError(pub String);

/// Parses requests out of a connection's read buffer, keeping its state between
/// reads so a large request arriving in pieces is never rescanned.
#[derive(Debug, Default)]
pub struct RequestParser {
    _state: (),
}

impl RequestParser {
    pub fn new() -> Self {
        RequestParser::default()
    }

    /// Tries to take one complete request off the front of `buf`.
    ///
    /// On `Ok(true)`, `args` holds the request's arguments (cleared first; may be
    /// empty for an empty inline line, which callers skip) and `buf` has been advanced
    /// past it. On `Ok(false)` more bytes are needed. On `Err`, the connection must
    /// reply with the error and close.
    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        args: &mut Vec<Bytes>,
    ) -> Result<bool, ProtocolError> {
        let _ = (buf, limits, args);
        Ok(false)
    }
}
