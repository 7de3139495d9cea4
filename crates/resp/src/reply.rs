//! Reply encoder. Handlers write replies straight into the connection's output buffer,
//! so a pipeline of N commands costs one buffer and one `write` syscall.

use bytes::{BufMut, BytesMut};

use crate::float;

/// The protocol a connection negotiated with `HELLO` (2 unless `HELLO 3`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Proto {
    #[default]
    Resp2,
    Resp3,
}

/// An output buffer that encodes replies for one connection's protocol.
///
/// RESP3-only types are downgraded for RESP2 clients exactly as Redis does:
/// map -> flat array of 2n, set -> array, push -> array, double -> bulk string,
/// bool -> integer 1/0, null -> `$-1` (or `*-1` via [`ReplyBuf::null_array`]).
#[derive(Debug, Default)]
pub struct ReplyBuf {
    buf: BytesMut,
    proto: Proto,
}

impl ReplyBuf {
    pub fn new(proto: Proto) -> Self {
        ReplyBuf {
            buf: BytesMut::with_capacity(16 * 1024),
            proto,
        }
    }

    /// A buffer without preallocation, for small one-off replies (pub/sub messages,
    /// replies to woken blocked clients).
    pub fn small(proto: Proto) -> Self {
        ReplyBuf {
            buf: BytesMut::new(),
            proto,
        }
    }

    pub fn proto(&self) -> Proto {
        self.proto
    }
    pub fn set_proto(&mut self, proto: Proto) {
        self.proto = proto;
    }
    pub fn is_resp3(&self) -> bool {
        self.proto == Proto::Resp3
    }
    pub fn len(&self) -> usize {
        self.buf.len()
    }
    pub fn is_empty(&self) -> bool {
        self.buf.is_empty()
    }
    /// Current length, to [`ReplyBuf::rollback`] to if a handler must discard
    /// what it wrote (e.g. CLIENT REPLY OFF, or an error found mid-reply).
    pub fn mark(&self) -> usize {
        self.buf.len()
    }
    pub fn rollback(&mut self, mark: usize) {
        self.buf.truncate(mark);
    }
    pub fn as_bytes(&self) -> &[u8] {
        &self.buf
    }
    pub fn buf_mut(&mut self) -> &mut BytesMut {
        &mut self.buf
    }
    /// Takes the encoded bytes, leaving the buffer empty (keeps the protocol).
    pub fn take(&mut self) -> BytesMut {
        self.buf.split()
    }

    fn line(&mut self, prefix: u8, n: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n);
        self.buf.reserve(s.len() + 3);
        self.buf.put_u8(prefix);
        self.buf.put_slice(s.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// Pre-encoded bytes, copied as they are.
    pub fn raw(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    pub fn ok(&mut self) {
        self.buf.extend_from_slice(b"+OK\r\n");
    }

    /// `+<s>`; `s` must not contain CR or LF.
    pub fn simple(&mut self, s: &str) {
        self.buf.reserve(s.len() + 3);
        self.buf.put_u8(b'+');
        self.buf.put_slice(s.as_bytes());
        self.buf.put_slice(b"\r\n");
    }

    /// `-<msg>`; `msg` starts with the error code, e.g. `ERR syntax error` or
    /// `WRONGTYPE Operation against a key holding the wrong kind of value`.
    /// As Redis's formatted errors: CR and LF at either end are trimmed, those
    /// inside become spaces (a client's argument in the message cannot break
    /// the protocol).
    pub fn error(&mut self, msg: &str) {
        let msg = msg.trim_matches(['\r', '\n']);
        self.buf.reserve(msg.len() + 3);
        self.buf.put_u8(b'-');
        for &c in msg.as_bytes() {
            self.buf
                .put_u8(if c == b'\r' || c == b'\n' { b' ' } else { c });
        }
        self.buf.put_slice(b"\r\n");
    }

    /// The error line for a request the parser refused (Redis's exact bytes; see
    /// [`crate::ProtocolError::to_reply`]). The connection closes after it.
    pub fn protocol_error(&mut self, e: &crate::ProtocolError) {
        self.buf.extend_from_slice(&e.to_reply());
    }

    pub fn int(&mut self, n: i64) {
        self.line(b':', n);
    }

    pub fn bulk(&mut self, data: &[u8]) {
        self.line(b'$', data.len() as i64);
        self.buf.reserve(data.len() + 2);
        self.buf.put_slice(data);
        self.buf.put_slice(b"\r\n");
    }

    /// An integer sent as a bulk string (e.g. GET on an int-encoded string).
    pub fn bulk_int(&mut self, n: i64) {
        let mut b = itoa::Buffer::new();
        let s = b.format(n);
        self.bulk(s.as_bytes());
    }

    /// A double as a bulk string in Redis's `%.17g` form (ZSCORE in RESP2, ZINCRBY, ...).
    pub fn bulk_g17(&mut self, d: f64) {
        let mut tmp = [0u8; 40];
        let n = float::fmt_g17(d, &mut tmp);
        self.bulk(&tmp[..n]);
    }

    /// Null bulk (`$-1`), or `_` in RESP3.
    pub fn null(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"$-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    /// Null array (`*-1`), or `_` in RESP3.
    pub fn null_array(&mut self) {
        match self.proto {
            Proto::Resp2 => self.buf.extend_from_slice(b"*-1\r\n"),
            Proto::Resp3 => self.buf.extend_from_slice(b"_\r\n"),
        }
    }

    pub fn array(&mut self, n: usize) {
        self.line(b'*', n as i64);
    }

    pub fn empty_array(&mut self) {
        self.buf.extend_from_slice(b"*0\r\n");
    }

    /// A map of `n` pairs; RESP2 gets a flat array of `2n`.
    pub fn map(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.line(b'*', 2 * n as i64),
            Proto::Resp3 => self.line(b'%', n as i64),
        }
    }

    /// A set of `n` elements; RESP2 gets an array.
    pub fn set(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.line(b'*', n as i64),
            Proto::Resp3 => self.line(b'~', n as i64),
        }
    }

    /// An out-of-band push of `n` elements (pub/sub); RESP2 gets an array.
    pub fn push(&mut self, n: usize) {
        match self.proto {
            Proto::Resp2 => self.line(b'*', n as i64),
            Proto::Resp3 => self.line(b'>', n as i64),
        }
    }

    /// A double: RESP3 `,<%.17g>` (`,inf`/`,-inf`), RESP2 a bulk string.
    pub fn double(&mut self, d: f64) {
        match self.proto {
            Proto::Resp2 => self.bulk_g17(d),
            Proto::Resp3 => {
                let mut tmp = [0u8; 40];
                let n = float::fmt_g17(d, &mut tmp);
                self.buf.reserve(n + 3);
                self.buf.put_u8(b',');
                self.buf.put_slice(&tmp[..n]);
                self.buf.put_slice(b"\r\n");
            }
        }
    }

    /// RESP3 `#t`/`#f`; RESP2 `:1`/`:0`.
    pub fn bool(&mut self, b: bool) {
        match (self.proto, b) {
            (Proto::Resp2, true) => self.buf.extend_from_slice(b":1\r\n"),
            (Proto::Resp2, false) => self.buf.extend_from_slice(b":0\r\n"),
            (Proto::Resp3, true) => self.buf.extend_from_slice(b"#t\r\n"),
            (Proto::Resp3, false) => self.buf.extend_from_slice(b"#f\r\n"),
        }
    }

    /// Verbatim text (`=<len>\r\ntxt:<text>` in RESP3; a bulk string in RESP2),
    /// as INFO, CLIENT LIST and CLIENT INFO reply.
    pub fn verbatim(&mut self, text: &[u8]) {
        match self.proto {
            Proto::Resp2 => self.bulk(text),
            Proto::Resp3 => {
                self.line(b'=', text.len() as i64 + 4);
                self.buf.reserve(text.len() + 6);
                self.buf.put_slice(b"txt:");
                self.buf.put_slice(text);
                self.buf.put_slice(b"\r\n");
            }
        }
    }

    pub fn bulks<'a>(&mut self, items: impl ExactSizeIterator<Item = &'a [u8]>) {
        self.array(items.len());
        for it in items {
            self.bulk(it);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resp2_downgrades_resp3_types() {
        let mut r = ReplyBuf::new(Proto::Resp2);
        r.map(1);
        r.bulk(b"a");
        r.double(1.5);
        r.null();
        r.null_array();
        r.bool(true);
        assert_eq!(
            r.as_bytes(),
            b"*2\r\n$1\r\na\r\n$3\r\n1.5\r\n$-1\r\n*-1\r\n:1\r\n"
        );
    }

    #[test]
    fn resp3_types() {
        let mut r = ReplyBuf::new(Proto::Resp3);
        r.map(1);
        r.set(0);
        r.double(f64::INFINITY);
        r.null();
        r.push(2);
        r.verbatim(b"hi");
        assert_eq!(
            r.as_bytes(),
            b"%1\r\n~0\r\n,inf\r\n_\r\n>2\r\n=6\r\ntxt:hi\r\n"
        );
    }

    #[test]
    fn error_strips_newlines() {
        let mut r = ReplyBuf::new(Proto::Resp2);
        r.error("ERR a\r\nb");
        assert_eq!(r.as_bytes(), b"-ERR a  b\r\n");
        // At the end they are trimmed, as Redis's formatted errors do:
        // `EXPIRE k 1 "a\r\n"` gets "Unsupported option a".
        let mut r = ReplyBuf::new(Proto::Resp2);
        r.error("ERR Unsupported option a\r\n");
        assert_eq!(r.as_bytes(), b"-ERR Unsupported option a\r\n");
    }

    #[test]
    fn c_str_stops_at_nul_as_printf_does() {
        assert_eq!(crate::c_str(b"a\0b"), "a");
        assert_eq!(crate::c_str(b"\0"), "");
        assert_eq!(crate::c_str(b"abc"), "abc");
        assert_eq!(crate::c_str(b"\xffx"), "\u{fffd}x");
    }
}
