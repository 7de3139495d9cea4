//! RESP2/RESP3 framing for Tandem, with no I/O.
//!
//! ```text
//!  socket bytes --> BytesMut --> RequestParser::parse --> Vec<Bytes> (args, zero-copy slices)
//!                                                         |
//!  socket <------ BytesMut <------ ReplyBuf::{int,bulk,array,...} <---- command handlers
//! ```
//!
//! * [`parse`]: the incremental request parser (multibulk and inline requests) with
//!   Redis's limits and Redis's exact protocol error strings.
//! * [`reply`]: the reply encoder; it knows the negotiated protocol (2 or 3) and
//!   downgrades RESP3 types (map, set, double, null, push, bool) the way Redis does.
//! * [`inline`]: the inline-command splitter (Redis's `sdssplitargs` rules).
//! * [`float`]: Redis's float text forms (`%.17g`, and the human form of INCRBYFLOAT).
//! * [`longdouble`]: a software x87 80-bit long double (INCRBYFLOAT's arithmetic).
//! * [`scan`]: a boundary-only scanner over any RESP value (for proxies and replication
//!   readers that need to know where a reply ends without building it).

mod bigint;
pub mod float;
#[cfg(test)]
mod float_cases;
pub mod inline;
pub mod longdouble;
#[cfg(test)]
mod longdouble_cases;
pub mod parse;
pub mod reply;
pub mod scan;

pub use longdouble::LongDouble;
pub use parse::{encode_request, request_len, Limits, ProtocolError, RequestParser};
pub use reply::{Proto, ReplyBuf};

/// A client's argument as Redis's `%s` prints it into a message: up to its
/// first NUL byte (a C string), invalid UTF-8 replaced.
pub fn c_str(arg: &[u8]) -> std::borrow::Cow<'_, str> {
    let end = arg.iter().position(|&b| b == 0).unwrap_or(arg.len());
    String::from_utf8_lossy(&arg[..end])
}
