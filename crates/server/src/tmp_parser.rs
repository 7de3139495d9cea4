//! TEMPORARY request parser, until `tandem_resp::RequestParser` lands (the resp
//! helper's work). Same signature; the server switches with one `use` line in
//! `conn.rs`. Multibulk and inline requests with Redis's main error strings; it
//! rescans a partial request from its start, which the real parser avoids.

use bytes::{Buf, Bytes, BytesMut};
use tandem_resp::{Limits, ProtocolError};

#[derive(Debug, Default)]
pub struct RequestParser;

fn find_crlf(b: &[u8], from: usize) -> Option<usize> {
    b[from..]
        .windows(2)
        .position(|w| w == b"\r\n")
        .map(|p| p + from)
}

fn num(b: &[u8]) -> Option<i64> {
    std::str::from_utf8(b).ok()?.parse().ok()
}

fn err(s: &str) -> ProtocolError {
    ProtocolError(s.to_string())
}

impl RequestParser {
    pub fn new() -> Self {
        RequestParser
    }

    pub fn parse(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
        args: &mut Vec<Bytes>,
    ) -> Result<bool, ProtocolError> {
        args.clear();
        if buf.is_empty() {
            return Ok(false);
        }
        if buf[0] != b'*' {
            let Some(end) = buf.iter().position(|&c| c == b'\n') else {
                if buf.len() > limits.max_inline_len {
                    return Err(err("too big inline request"));
                }
                return Ok(false);
            };
            let line = buf.split_to(end + 1);
            let mut text = &line[..end];
            if text.last() == Some(&b'\r') {
                text = &text[..text.len() - 1];
            }
            let s = String::from_utf8_lossy(text);
            let parts =
                crate::config::split_args(&s).map_err(|_| err("unbalanced quotes in request"))?;
            args.extend(parts.into_iter().map(Bytes::from));
            return Ok(true);
        }
        let Some(e) = find_crlf(buf, 0) else {
            if buf.len() > limits.max_inline_len {
                return Err(err("too big mbulk count string"));
            }
            return Ok(false);
        };
        let n = num(&buf[1..e]).ok_or_else(|| err("invalid multibulk length"))?;
        if n > limits.max_multibulk_len as i64 {
            return Err(err("invalid multibulk length"));
        }
        let mut pos = e + 2;
        let mut spans = Vec::new();
        for _ in 0..n.max(0) {
            if pos >= buf.len() {
                return Ok(false);
            }
            if buf[pos] != b'$' {
                return Err(ProtocolError(format!(
                    "expected '$', got '{}'",
                    buf[pos] as char
                )));
            }
            let Some(e) = find_crlf(buf, pos) else {
                if buf.len() - pos > limits.max_inline_len {
                    return Err(err("too big bulk count string"));
                }
                return Ok(false);
            };
            let len = num(&buf[pos + 1..e]).ok_or_else(|| err("invalid bulk length"))?;
            if len < 0 || len as u64 > limits.max_bulk_len as u64 {
                return Err(err("invalid bulk length"));
            }
            let start = e + 2;
            let end = start + len as usize;
            if end + 2 > buf.len() {
                return Ok(false);
            }
            spans.push((start, end));
            pos = end + 2;
        }
        let frame = buf.split_to(pos).freeze();
        for (s, e) in spans {
            args.push(frame.slice(s..e));
        }
        let _ = buf.remaining();
        Ok(true)
    }
}
