//! Incremental request parser, following Redis 7.0's `processMultibulkBuffer` and
//! `processInlineBuffer` (networking.c): same request types, limits, leniencies and
//! error strings.
//!
//! ```text
//!   buf: [ *3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nva | (more bytes arrive later) ]
//!          ^-- request start         pos --^      ^-- buf.len()
//!   state: Multibulk { remaining: 1, bulk: Some(5) }, ranges: [(4..7), (11..12)]
//! ```
//!
//! The bytes of a request stay at the front of `buf` until the request is complete;
//! the parser remembers how far it got (`pos`, the args found so far as ranges, the
//! bulk length it waits for, and how far a line terminator was already searched for),
//! so a request arriving in many pieces is scanned once. When it is complete the
//! request is split off `buf` in one `split_to(..).freeze()` and each argument is a
//! zero-copy `Bytes::slice` of it (one refcount increment per argument, same as
//! splitting each argument off separately, but simpler to resume).

use bytes::{Buf, Bytes, BytesMut};

use crate::inline::split_inline;

/// Limits on what a client may send, with Redis's defaults.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// `proto-max-bulk-len` (512 MiB by default).
    pub max_bulk_len: usize,
    /// Largest multibulk count accepted (Redis 7.0: a count above INT_MAX is an
    /// "invalid multibulk length").
    pub max_multibulk_len: usize,
    /// Largest inline request (Redis's PROTO_INLINE_MAX_SIZE, 64 KiB); also the longest
    /// `*<count>` / `$<len>` line, as in Redis.
    pub max_inline_len: usize,
    /// `client-query-buffer-limit` (1 GiB by default). Enforced by the server, which
    /// owns the read buffer.
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

impl ProtocolError {
    fn new(msg: &str) -> Self {
        ProtocolError(msg.to_string())
    }

    /// The exact error line Redis sends: `-ERR Protocol error: <msg>\r\n`, with CR/LF
    /// in the message turned into spaces, and the offending byte of "expected '$',
    /// got 'X'" as the raw byte (the message keeps it as a Latin-1 char, since a
    /// `String` cannot hold a lone byte >= 0x80).
    pub fn to_reply(&self) -> Vec<u8> {
        let mut out = b"-ERR Protocol error: ".to_vec();
        for c in self.0.chars() {
            let b = match u8::try_from(u32::from(c)) {
                Ok(b'\r' | b'\n') => b' ',
                Ok(b) => b,
                Err(_) => b'?',
            };
            out.push(b);
        }
        out.extend_from_slice(b"\r\n");
        out
    }
}

/// Before AUTH, Redis 7.0 refuses multibulk counts above 10 and bulks above 16 KiB
/// (networking.c), so an unauthenticated client cannot make the server buffer much.
const UNAUTH_MAX_MULTIBULK: i64 = 10;
const UNAUTH_MAX_BULK: i64 = 16 * 1024;
/// Cap on capacity reserved from a count read off the wire (as Redis's
/// `min(multibulklen, 1024)`): a client announcing a huge count must send the args
/// before it costs memory.
const MAX_PREALLOC_ARGS: usize = 1024;

#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
enum State {
    /// No request started (`pos == 0`).
    #[default]
    Idle,
    /// An inline request: waiting for its `\n`.
    Inline,
    /// Inside a multibulk request: `remaining` args still to read; `bulk` is the
    /// length of the arg being read once its `$<len>` line was parsed.
    Multibulk {
        remaining: usize,
        bulk: Option<usize>,
    },
}

/// Parses requests out of a connection's read buffer, keeping its state between
/// reads so a large request arriving in pieces is never rescanned.
#[derive(Debug, Default)]
pub struct RequestParser {
    state: State,
    /// Bytes of the current request already parsed (from the front of `buf`).
    pos: usize,
    /// Bytes after `pos` already searched for a line terminator without finding one.
    scanned: usize,
    /// The arguments parsed so far, as ranges relative to the request start.
    ranges: Vec<(usize, usize)>,
    /// When set, Redis's tighter pre-AUTH limits apply.
    auth_required: bool,
}

/// Redis's `string2ll`: optional '-', no '+', no leading zeros, no blanks, fits i64.
pub fn parse_ll(s: &[u8]) -> Option<i64> {
    // Redis rejects 21+ chars (LONG_STR_SIZE) before looking at them.
    if s.is_empty() || s.len() >= 21 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s.split_first() {
        Some((b'-', rest)) => (true, rest),
        _ => (false, s),
    };
    match digits.first() {
        Some(b'1'..=b'9') => {}
        _ => return None,
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add(u64::from(c - b'0'))?;
    }
    if neg {
        if v > i64::MAX as u64 + 1 {
            return None;
        }
        Some((v as i64).wrapping_neg())
    } else {
        i64::try_from(v).ok()
    }
}

/// Encodes a request as a multibulk (`*N\r\n$len\r\narg\r\n...`), the form clients,
/// the replication stream and the AOF use.
pub fn encode_request<A: AsRef<[u8]>>(args: &[A], out: &mut Vec<u8>) {
    encode_spans(args, out, &mut |_| {});
}

/// The length of `encode_request(args)`, without encoding (the write stream
/// counts its offset this way while nothing reads the bytes).
pub fn request_len<A: AsRef<[u8]>>(args: &[A]) -> usize {
    fn line(n: usize) -> usize {
        // The type byte, the decimal digits, CRLF.
        1 + n.checked_ilog10().map_or(1, |d| d as usize + 1) + 2
    }
    args.iter().fold(line(args.len()), |t, a| {
        t + line(a.as_ref().len()) + a.as_ref().len() + 2
    })
}

/// `encode_request`, telling `span` where each argument's payload landed.
fn encode_spans<A: AsRef<[u8]>>(
    args: &[A],
    out: &mut Vec<u8>,
    span: &mut impl FnMut((usize, usize)),
) {
    let mut ib = itoa::Buffer::new();
    out.push(b'*');
    out.extend_from_slice(ib.format(args.len()).as_bytes());
    out.extend_from_slice(b"\r\n");
    for a in args {
        let a = a.as_ref();
        out.push(b'$');
        out.extend_from_slice(ib.format(a.len()).as_bytes());
        out.extend_from_slice(b"\r\n");
        let start = out.len();
        out.extend_from_slice(a);
        span((start, out.len()));
        out.extend_from_slice(b"\r\n");
    }
}

impl RequestParser {
    pub fn new() -> Self {
        RequestParser::default()
    }

    /// Applies (or lifts) Redis's pre-AUTH limits: a multibulk count above 10 is
    /// "unauthenticated multibulk length", a bulk above 16 KiB "unauthenticated bulk
    /// length". The server sets this while the connection still needs AUTH.
    pub fn set_auth_required(&mut self, required: bool) {
        self.auth_required = required;
    }

    /// Bytes at the front of the buffer that belong to the request being parsed
    /// (already examined; they stay in the buffer until the request completes).
    pub fn pending_bytes(&self) -> usize {
        self.pos
    }

    /// True when a request was started but is not complete yet.
    pub fn in_request(&self) -> bool {
        self.state != State::Idle
    }

    /// While waiting for a bulk argument's payload: how many more bytes the buffer
    /// needs (counted from its current length `buf_len`) to hold the whole argument
    /// and its CRLF. A hint for sizing the next read; not capped, so the server must
    /// cap whatever it reserves from it.
    pub fn bytes_needed(&self, buf_len: usize) -> Option<usize> {
        match self.state {
            State::Multibulk {
                bulk: Some(len), ..
            } => Some((self.pos + len + 2).saturating_sub(buf_len)),
            _ => None,
        }
    }

    /// Forgets any partial request (e.g. after the connection reset its buffer).
    pub fn reset(&mut self) {
        self.state = State::Idle;
        self.pos = 0;
        self.scanned = 0;
        self.ranges.clear();
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
        match self.step(buf, limits)? {
            None => Ok(false),
            Some(Complete::Multibulk) => {
                self.finish(buf, args);
                Ok(true)
            }
            Some(Complete::Inline(words)) => {
                args.clear();
                args.extend(words.into_iter().map(Bytes::from));
                Ok(true)
            }
        }
    }

    /// Like [`parse`](Self::parse), for a forwarder: takes one complete request
    /// off `buf` as a multibulk frame that any Redis parses as this one did, with
    /// the arguments as byte ranges of it (`spans`, cleared first; empty for an
    /// empty request, which callers skip). A multibulk request is its own bytes,
    /// as received (no copy, no re-encoding); an inline one is encoded. `Ok(None)`:
    /// more bytes are needed; `Err` as for `parse`.
    pub fn parse_frame(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        spans: &mut Vec<(usize, usize)>,
    ) -> Result<Option<Bytes>, ProtocolError> {
        spans.clear();
        match self.step(buf, limits)? {
            None => Ok(None),
            Some(Complete::Multibulk) => {
                let frame = buf.split_to(self.pos).freeze();
                spans.extend_from_slice(&self.ranges);
                self.shrink_ranges();
                self.reset();
                Ok(Some(frame))
            }
            Some(Complete::Inline(words)) => {
                if words.is_empty() {
                    return Ok(Some(Bytes::new()));
                }
                let mut out = Vec::new();
                encode_spans(&words, &mut out, &mut |sp| spans.push(sp));
                Ok(Some(Bytes::from(out)))
            }
        }
    }

    /// Advances the request being parsed; `Some` once it is complete.
    fn step(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Complete>, ProtocolError> {
        if self.state == State::Idle {
            match buf.first() {
                None => return Ok(None),
                Some(b'*') => {
                    self.state = State::Multibulk {
                        remaining: 0,
                        bulk: None,
                    }
                }
                Some(_) => self.state = State::Inline,
            }
        }
        match self.state {
            State::Inline => Ok(self.parse_inline(buf, limits)?.map(Complete::Inline)),
            _ => Ok(self
                .parse_multibulk(buf, limits)?
                .then_some(Complete::Multibulk)),
        }
    }

    /// Finds `term` in `buf[pos..]`, resuming where the last search stopped.
    ///
    /// Redis looks for line ends with `strchr` on a C string, so a NUL byte before the
    /// terminator hides it: the request can never complete and the connection waits
    /// until the size limit error. We do the same (the search stops at the NUL, and
    /// every later call finds that NUL again at once).
    fn find_line(&mut self, buf: &[u8], term: u8) -> Option<usize> {
        let from = self.pos + self.scanned;
        let rest = buf.get(from..)?;
        match rest.iter().position(|&c| c == term || c == 0) {
            Some(i) if rest[i] == term => {
                self.scanned = 0;
                Some(from + i)
            }
            Some(i) => {
                self.scanned = from + i - self.pos;
                None
            }
            None => {
                self.scanned = buf.len() - self.pos;
                None
            }
        }
    }

    fn finish(&mut self, buf: &mut BytesMut, args: &mut Vec<Bytes>) {
        let mut req = buf.split_to(self.pos).freeze();
        args.clear();
        // The last argument takes over `req` itself: one refcount increment (and
        // later decrement) fewer per request; refcounting was ~40% of a profile.
        if let Some((&(s, e), rest)) = self.ranges.split_last() {
            args.extend(rest.iter().map(|&(s, e)| req.slice(s..e)));
            req.truncate(e);
            req.advance(s);
            args.push(req);
        }
        self.shrink_ranges();
        self.reset();
    }

    /// Don't keep a huge ranges table alive per connection after one giant
    /// request (e.g. an MSET of a million keys).
    fn shrink_ranges(&mut self) {
        if self.ranges.capacity() > 4 * MAX_PREALLOC_ARGS {
            self.ranges = Vec::new();
        }
    }

    fn parse_inline(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Vec<Vec<u8>>>, ProtocolError> {
        let Some(nl) = self.find_line(buf, b'\n') else {
            if buf.len() > limits.max_inline_len {
                return Err(ProtocolError::new("too big inline request"));
            }
            return Ok(None);
        };
        // A line longer than the limit is refused even if its '\n' came in the same
        // read: Redis reads 16 KiB at a time and would have refused it by then.
        if nl > limits.max_inline_len {
            return Err(ProtocolError::new("too big inline request"));
        }
        // "\r\n" or a bare "\n" both end the line (Redis strips one '\r').
        let end = if nl > 0 && buf[nl - 1] == b'\r' {
            nl - 1
        } else {
            nl
        };
        let words = split_inline(&buf[..end])
            .ok_or_else(|| ProtocolError::new("unbalanced quotes in request"))?;
        buf.advance(nl + 1);
        self.reset();
        Ok(Some(words))
    }

    /// Reads a `<prefix><number>\r` line at `pos`. `Ok(None)` when incomplete.
    /// Like Redis, the byte after '\r' is skipped without checking that it is '\n'.
    fn read_count_line(
        &mut self,
        buf: &[u8],
        limits: &Limits,
        too_big: &str,
    ) -> Result<Option<(u8, Option<i64>, usize)>, ProtocolError> {
        if let Some(line) = self.count_line_fast(buf) {
            self.scanned = 0;
            return Ok(Some(line));
        }
        let Some(cr) = self.find_line(buf, b'\r') else {
            if buf.len() - self.pos > limits.max_inline_len {
                return Err(ProtocolError::new(too_big));
            }
            return Ok(None);
        };
        if cr - self.pos > limits.max_inline_len {
            return Err(ProtocolError::new(too_big));
        }
        if cr + 2 > buf.len() {
            // Found '\r' but not the byte after it yet: search again from '\r'.
            self.scanned = cr - self.pos;
            return Ok(None);
        }
        let prefix = buf[self.pos];
        Ok(Some((
            prefix,
            parse_ll(buf.get(self.pos + 1..cr).unwrap_or(&[])),
            cr + 2,
        )))
    }

    /// True once the request is complete (`pos` past it, `ranges` its arguments).
    /// The common case of `read_count_line` in one pass: a prefix, 1 to 18
    /// digits without a leading zero, '\r' and the byte after it, all in `buf`.
    /// Anything else (a sign, an error, an incomplete line) takes the general
    /// path, which gives the same answer for these lines.
    #[inline]
    fn count_line_fast(&self, buf: &[u8]) -> Option<(u8, Option<i64>, usize)> {
        let line = buf.get(self.pos..)?;
        let (&prefix, rest) = line.split_first()?;
        let mut n: i64 = 0;
        for (i, &c) in rest.iter().enumerate().take(19) {
            match c {
                b'0'..=b'9' if i < 18 && !(i == 1 && n == 0) => n = n * 10 + i64::from(c - b'0'),
                b'\r' if i > 0 && i + 1 < rest.len() => {
                    return Some((prefix, Some(n), self.pos + i + 3))
                }
                _ => return None,
            }
        }
        None
    }

    fn parse_multibulk(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<bool, ProtocolError> {
        let State::Multibulk {
            mut remaining,
            mut bulk,
        } = self.state
        else {
            return Ok(false);
        };
        if remaining == 0 {
            let Some((_, n, next)) =
                self.read_count_line(buf, limits, "too big mbulk count string")?
            else {
                return Ok(false);
            };
            let n = match n {
                Some(n) if n <= 0 => {
                    // Redis skips an empty or negative multibulk as an empty request.
                    self.pos = next;
                    self.ranges.clear();
                    return Ok(true);
                }
                Some(n) if n as u64 <= limits.max_multibulk_len as u64 => n,
                _ => return Err(ProtocolError::new("invalid multibulk length")),
            };
            if self.auth_required && n > UNAUTH_MAX_MULTIBULK {
                return Err(ProtocolError::new("unauthenticated multibulk length"));
            }
            self.pos = next;
            remaining = n as usize;
            self.ranges.clear();
            self.ranges.reserve(remaining.min(MAX_PREALLOC_ARGS));
        }
        while remaining > 0 {
            let len = match bulk {
                Some(len) => len,
                None => {
                    let line = match self.read_count_line(buf, limits, "too big bulk count string")
                    {
                        Ok(Some(line)) => line,
                        other => {
                            self.state = State::Multibulk { remaining, bulk };
                            return other.map(|_| false);
                        }
                    };
                    let (prefix, n, next) = line;
                    if prefix != b'$' {
                        return Err(ProtocolError(format!(
                            "expected '$', got '{}'",
                            char::from(prefix)
                        )));
                    }
                    let len = match n {
                        Some(n) if n >= 0 && n as u64 <= limits.max_bulk_len as u64 => n,
                        _ => return Err(ProtocolError::new("invalid bulk length")),
                    };
                    if self.auth_required && len > UNAUTH_MAX_BULK {
                        return Err(ProtocolError::new("unauthenticated bulk length"));
                    }
                    self.pos = next;
                    len as usize
                }
            };
            // The payload and its (unchecked, as in Redis) 2-byte terminator.
            if buf.len() - self.pos < len + 2 {
                self.state = State::Multibulk {
                    remaining,
                    bulk: Some(len),
                };
                return Ok(false);
            }
            self.ranges.push((self.pos, self.pos + len));
            self.pos += len + 2;
            remaining -= 1;
            bulk = None;
        }
        Ok(true)
    }
}

/// How a request completed.
enum Complete {
    /// `ranges` hold the arguments of the `pos` bytes at the front of the buffer.
    Multibulk,
    /// The words of an inline request (already taken off the buffer).
    Inline(Vec<Vec<u8>>),
}

#[cfg(test)]
#[path = "parse_tests.rs"]
mod tests;
