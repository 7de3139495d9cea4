//! Boundary-only scanning of RESP2/RESP3 values, and a small owned [`Frame`] for
//! clients that do want the value (tests, monitor, replication handshake).
//!
//! ```text
//!   upstream bytes --> Scanner::scan --> Some(n): the first n bytes are one whole reply
//!                                        None:    need more (state kept, no rescan of
//!                                                 finished elements or bulk payloads)
//! ```
//!
//! The proxy and replication readers only need to know where a reply ends so they can
//! forward the bytes untouched; building a tree for every reply would cost an
//! allocation per element. Headers are validated (lengths, counts, CRLFs, integer
//! syntax) so a corrupt stream is caught at the first bad byte.

use bytes::Bytes;

use crate::parse::{parse_ll, Limits, ProtocolError};

/// Deepest nesting accepted. Redis's own replies nest at most about 7 levels
/// (COMMAND DOCS, XREAD/XINFO STREAM FULL); Lua scripts can return nested tables,
/// and 128 leaves them room while bounding the scanner's stack (8 bytes a level) and
/// the recursion of [`parse_frame`].
pub const MAX_DEPTH: usize = 128;

fn err(msg: &str) -> ProtocolError {
    ProtocolError(msg.to_string())
}

/// A resumable scanner: feed it the same growing buffer (the value's bytes stay at
/// its front) until it returns `Some(len)`; then call [`Scanner::reset`] (or make a
/// new one) before scanning the next value.
#[derive(Debug, Default, Clone)]
pub struct Scanner {
    /// Bytes of the value already scanned (elements complete up to here).
    pos: usize,
    /// Elements still expected at each open aggregate level.
    stack: Vec<u64>,
}

/// What one header line turned out to be.
enum Item {
    /// A complete scalar of this many bytes in total.
    Scalar(usize),
    /// An aggregate header of this many bytes, expecting `n` child elements.
    Aggregate(usize, u64),
}

impl Scanner {
    pub fn new() -> Self {
        Scanner::default()
    }

    pub fn reset(&mut self) {
        self.pos = 0;
        self.stack.clear();
    }

    /// The length of the first complete value in `buf`, or `None` if it is not all
    /// there yet. `buf` must start with the same bytes as on the previous call.
    pub fn scan(&mut self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, ProtocolError> {
        loop {
            let Some(item) = item_at(buf, self.pos, limits)? else {
                return Ok(None);
            };
            match item {
                Item::Aggregate(hdr, n) if n > 0 => {
                    if self.stack.len() >= MAX_DEPTH {
                        return Err(err("reply nesting too deep"));
                    }
                    self.pos += hdr;
                    self.stack.push(n);
                    continue;
                }
                Item::Aggregate(len, _) | Item::Scalar(len) => self.pos += len,
            }
            // One element finished: close every aggregate it completes.
            loop {
                match self.stack.last_mut() {
                    None => {
                        let n = self.pos;
                        self.reset();
                        return Ok(Some(n));
                    }
                    Some(top) => {
                        *top -= 1;
                        if *top > 0 {
                            break;
                        }
                        self.stack.pop();
                    }
                }
            }
        }
    }
}

/// The number of bytes of the first complete RESP2/RESP3 value in `buf`, `None` if
/// incomplete. Stateless (rescans from the start); use [`Scanner`] to resume.
pub fn value_len(buf: &[u8], limits: &Limits) -> Result<Option<usize>, ProtocolError> {
    Scanner::new().scan(buf, limits)
}

/// Finds the `\r\n` ending the header line starting at `start`; returns the index of
/// the '\r'. Lines longer than `max` are an error even before their end arrives.
fn line_end(buf: &[u8], start: usize, max: usize) -> Result<Option<usize>, ProtocolError> {
    let rest = buf.get(start..).unwrap_or(&[]);
    match rest.iter().position(|&c| c == b'\n') {
        Some(i) => {
            if i == 0 || rest[i - 1] != b'\r' {
                return Err(err("expected CRLF at end of line"));
            }
            if i - 1 > max {
                return Err(err("too long line"));
            }
            Ok(Some(start + i - 1))
        }
        None if rest.len() > max + 1 => Err(err("too long line")),
        None => Ok(None),
    }
}

/// A RESP3 double's text (`1.5`, `inf`, `-inf`, `nan`, exponents), as Rust reads it.
fn parse_double(line: &[u8]) -> Option<f64> {
    std::str::from_utf8(line).ok()?.parse().ok()
}

fn count(
    line: &[u8],
    max: usize,
    allow_null: bool,
    what: &str,
) -> Result<Option<u64>, ProtocolError> {
    match parse_ll(line) {
        Some(-1) if allow_null => Ok(None),
        Some(n) if n >= 0 && n as u64 <= max as u64 => Ok(Some(n as u64)),
        _ => Err(err(what)),
    }
}

fn item_at(buf: &[u8], pos: usize, limits: &Limits) -> Result<Option<Item>, ProtocolError> {
    let Some(&kind) = buf.get(pos) else {
        return Ok(None);
    };
    // Text lines (+ - ( ,) may be long (error messages, big numbers); count lines are
    // short, as Redis's own limit on `*<n>` / `$<n>` lines.
    let max_line = match kind {
        b'+' | b'-' | b'(' | b',' => limits.max_bulk_len,
        _ => limits.max_inline_len,
    };
    let Some(cr) = line_end(buf, pos + 1, max_line)? else {
        return Ok(None);
    };
    let line = &buf[pos + 1..cr];
    let hdr = cr + 2 - pos;
    let item = match kind {
        b'+' | b'-' => Item::Scalar(hdr),
        b':' => {
            parse_ll(line).ok_or_else(|| err("invalid integer"))?;
            Item::Scalar(hdr)
        }
        b'(' => {
            let digits = line.strip_prefix(b"-").unwrap_or(line);
            if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
                return Err(err("invalid big number"));
            }
            Item::Scalar(hdr)
        }
        b',' => {
            parse_double(line).ok_or_else(|| err("invalid double"))?;
            Item::Scalar(hdr)
        }
        b'#' => {
            if line != b"t" && line != b"f" {
                return Err(err("invalid boolean"));
            }
            Item::Scalar(hdr)
        }
        b'_' => {
            if !line.is_empty() {
                return Err(err("invalid null"));
            }
            Item::Scalar(hdr)
        }
        b'$' | b'!' | b'=' => {
            let Some(len) = count(
                line,
                limits.max_bulk_len,
                kind == b'$',
                "invalid bulk length",
            )?
            else {
                return Ok(Some(Item::Scalar(hdr)));
            };
            let len = len as usize;
            let end = cr + 2 + len;
            if buf.len() < end + 2 {
                return Ok(None);
            }
            if &buf[end..end + 2] != b"\r\n" {
                return Err(err("expected CRLF after bulk"));
            }
            Item::Scalar(end + 2 - pos)
        }
        b'*' | b'~' | b'>' | b'%' | b'|' => {
            let max = limits.max_multibulk_len;
            let Some(n) = count(line, max, kind == b'*', "invalid multibulk length")? else {
                return Ok(Some(Item::Scalar(hdr)));
            };
            let n = match kind {
                b'%' => n.saturating_mul(2),
                // An attribute map is followed by the value it annotates.
                b'|' => n.saturating_mul(2).saturating_add(1),
                _ => n,
            };
            Item::Aggregate(hdr, n)
        }
        other => {
            return Err(ProtocolError(format!(
                "unexpected type byte '{}'",
                char::from(other)
            )))
        }
    };
    Ok(Some(item))
}

/// An owned RESP2/RESP3 value, for code that reads a few replies (not hot).
#[derive(Debug, Clone, PartialEq)]
pub enum Frame {
    Simple(Bytes),
    Error(Bytes),
    Integer(i64),
    Bulk(Bytes),
    /// `$-1`
    Nil,
    /// `*-1`
    NilArray,
    /// RESP3 `_`
    Null,
    Array(Vec<Frame>),
    Set(Vec<Frame>),
    Push(Vec<Frame>),
    Map(Vec<(Frame, Frame)>),
    /// RESP3 attributes and the value they annotate.
    Attribute(Vec<(Frame, Frame)>, Box<Frame>),
    Double(f64),
    Bool(bool),
    BigNumber(Bytes),
    /// `=`: the whole payload, format prefix (`txt:`) included.
    Verbatim(Bytes),
    BlobError(Bytes),
}

/// Parses the first complete value of `buf`: `Ok(None)` if incomplete, else the frame
/// and the number of bytes it used.
pub fn parse_frame(buf: &[u8]) -> Result<Option<(Frame, usize)>, ProtocolError> {
    let limits = Limits::default();
    let Some(n) = value_len(buf, &limits)? else {
        return Ok(None);
    };
    // value_len validated every header up to n, so building cannot run out of bytes;
    // any inconsistency still comes back as an error, never a panic.
    let (frame, used) = build(buf, 0)?;
    if used != n {
        return Err(err("inconsistent frame"));
    }
    Ok(Some((frame, used)))
}

fn build(buf: &[u8], pos: usize) -> Result<(Frame, usize), ProtocolError> {
    let kind = *buf.get(pos).ok_or_else(|| err("truncated"))?;
    let rel = buf
        .get(pos..)
        .and_then(|r| r.windows(2).position(|w| w == b"\r\n"))
        .ok_or_else(|| err("truncated"))?;
    let line = buf.get(pos + 1..pos + rel).unwrap_or(&[]);
    let next = pos + rel + 2;
    let text = |b: &[u8]| Bytes::copy_from_slice(b);
    let num = || parse_ll(line).ok_or_else(|| err("invalid length"));
    let blob = |len: i64| -> Result<(&[u8], usize), ProtocolError> {
        let len = usize::try_from(len).map_err(|_| err("invalid length"))?;
        let data = buf.get(next..next + len).ok_or_else(|| err("truncated"))?;
        Ok((data, next + len + 2))
    };
    let many = |n: i64, mut at: usize| -> Result<(Vec<Frame>, usize), ProtocolError> {
        let n = usize::try_from(n).map_err(|_| err("invalid length"))?;
        let mut v = Vec::with_capacity(n.min(1024));
        for _ in 0..n {
            let (f, nx) = build(buf, at)?;
            v.push(f);
            at = nx;
        }
        Ok((v, at))
    };
    let pairs = |v: Vec<Frame>| -> Vec<(Frame, Frame)> {
        let mut it = v.into_iter();
        let mut out = Vec::new();
        while let (Some(k), Some(val)) = (it.next(), it.next()) {
            out.push((k, val));
        }
        out
    };
    Ok(match kind {
        b'+' => (Frame::Simple(text(line)), next),
        b'-' => (Frame::Error(text(line)), next),
        b':' => (Frame::Integer(num()?), next),
        b'(' => (Frame::BigNumber(text(line)), next),
        b',' => (
            Frame::Double(parse_double(line).ok_or_else(|| err("invalid double"))?),
            next,
        ),
        b'#' => (Frame::Bool(line == b"t"), next),
        b'_' => (Frame::Null, next),
        b'$' if line == b"-1" => (Frame::Nil, next),
        b'*' if line == b"-1" => (Frame::NilArray, next),
        b'$' | b'!' | b'=' => {
            let (data, end) = blob(num()?)?;
            let f = match kind {
                b'$' => Frame::Bulk(text(data)),
                b'!' => Frame::BlobError(text(data)),
                _ => Frame::Verbatim(text(data)),
            };
            (f, end)
        }
        b'*' | b'~' | b'>' => {
            let (v, end) = many(num()?, next)?;
            let f = match kind {
                b'*' => Frame::Array(v),
                b'~' => Frame::Set(v),
                _ => Frame::Push(v),
            };
            (f, end)
        }
        b'%' => {
            let (v, end) = many(num()?.saturating_mul(2), next)?;
            (Frame::Map(pairs(v)), end)
        }
        b'|' => {
            let (v, end) = many(num()?.saturating_mul(2), next)?;
            let (value, end) = build(buf, end)?;
            (Frame::Attribute(pairs(v), Box::new(value)), end)
        }
        _ => return Err(err("unexpected type byte")),
    })
}

#[cfg(test)]
#[path = "scan_tests.rs"]
mod tests;
