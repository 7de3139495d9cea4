//! A small blocking RESP client for the operator commands (`status`, `drill`,
//! `failover`, `up`): a few requests, never on a hot path, so plain std sockets
//! with timeouts and the frame parser of tandem-resp.

use std::io::{Read, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::time::Duration;

use tandem_resp::scan::{parse_frame, Frame};

/// Why a request failed.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{addr}: {source}")]
    Io {
        addr: String,
        source: std::io::Error,
    },
    #[error("{addr}: protocol error: {msg}")]
    Protocol { addr: String, msg: String },
    #[error("{addr}: connection closed")]
    Closed { addr: String },
}

/// One connection.
pub struct Client {
    addr: String,
    sock: TcpStream,
    buf: Vec<u8>,
}

impl Client {
    pub fn connect(addr: &str, timeout: Duration) -> Result<Client, ClientError> {
        let io = |source| ClientError::Io {
            addr: addr.to_string(),
            source,
        };
        let sa = addr
            .to_socket_addrs()
            .map_err(io)?
            .next()
            .ok_or_else(|| io(std::io::Error::other("no address")))?;
        let sock = TcpStream::connect_timeout(&sa, timeout).map_err(io)?;
        sock.set_read_timeout(Some(timeout)).map_err(io)?;
        sock.set_write_timeout(Some(timeout)).map_err(io)?;
        let _ = sock.set_nodelay(true);
        Ok(Client {
            addr: addr.to_string(),
            sock,
            buf: Vec::new(),
        })
    }

    /// Sends one request without waiting for its reply (pipelining).
    pub fn send<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<(), ClientError> {
        let mut out = Vec::new();
        tandem_resp::encode_request(args, &mut out);
        self.sock.write_all(&out).map_err(|source| ClientError::Io {
            addr: self.addr.clone(),
            source,
        })
    }

    /// Reads the next reply.
    pub fn recv(&mut self) -> Result<Frame, ClientError> {
        loop {
            match parse_frame(&self.buf) {
                Ok(Some((f, used))) => {
                    self.buf.drain(..used);
                    return Ok(f);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(ClientError::Protocol {
                        addr: self.addr.clone(),
                        msg: e.0,
                    })
                }
            }
            let mut chunk = [0u8; 16 * 1024];
            let n = self
                .sock
                .read(&mut chunk)
                .map_err(|source| ClientError::Io {
                    addr: self.addr.clone(),
                    source,
                })?;
            if n == 0 {
                return Err(ClientError::Closed {
                    addr: self.addr.clone(),
                });
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
    }

    /// One request, one reply.
    pub fn call<A: AsRef<[u8]>>(&mut self, args: &[A]) -> Result<Frame, ClientError> {
        self.send(args)?;
        self.recv()
    }
}

/// The text of a bulk/simple reply, or of an error reply prefixed with "-".
pub fn text(f: &Frame) -> String {
    match f {
        Frame::Simple(b) | Frame::Bulk(b) | Frame::Verbatim(b) => {
            String::from_utf8_lossy(b).into_owned()
        }
        Frame::Error(b) | Frame::BlobError(b) => format!("-{}", String::from_utf8_lossy(b)),
        Frame::Integer(i) => i.to_string(),
        other => format!("{other:?}"),
    }
}

/// `field:value` lines of an INFO reply.
pub fn info_field(info: &str, field: &str) -> Option<String> {
    info.lines().find_map(|l| {
        l.strip_prefix(field)
            .and_then(|r| r.strip_prefix(':'))
            .map(|v| v.trim().to_string())
    })
}
