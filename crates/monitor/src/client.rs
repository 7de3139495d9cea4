//! A small async RESP client for talking to data nodes (Tandem or stock Redis).
//!
//! The monitor needs only a handful of commands (PING, INFO, REPLICAOF, CLIENT
//! PAUSE, TANDEM ...), one at a time or as a short pipeline, each bounded by a
//! timeout. What it does need, and a general client hides, is *how* a request
//! failed: a refused or reset connection is immediate, strong evidence that the
//! process is gone (the kernel answered for it), while a timeout only says "no
//! answer yet" (a stall, a partition, a slow network). [`ClientError`] keeps the
//! two apart so the detector can act on the first quickly and wait on the second.

use std::io;
use std::time::Duration;

use tandem_resp::encode_request;
use tandem_resp::scan::{parse_frame, Frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Replies bigger than this are refused: the monitor reads INFO sections and
/// short status replies (a few KB); a bigger reply means a confused peer.
const MAX_REPLY: usize = 4 << 20;

/// How a request to a node failed.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum ClientError {
    /// Connection refused, reset or closed by the peer: the process is not there.
    #[error("connection refused or reset: {0}")]
    Refused(String),
    /// No (complete) answer within the deadline.
    #[error("no answer within {0:?}")]
    Timeout(Duration),
    /// The peer sent bytes that are not RESP, or a reply too big.
    #[error("protocol error: {0}")]
    Protocol(String),
    /// The node answered with an error reply (`-ERR ...`).
    #[error("{0}")]
    Server(String),
    /// Any other I/O error (unreachable network, bad address...).
    #[error("i/o error: {0}")]
    Io(String),
}

impl ClientError {
    /// True when the failure is fast, kernel-level evidence that nothing listens.
    pub fn is_refused(&self) -> bool {
        matches!(self, ClientError::Refused(_))
    }

    /// True for an error reply saying the command does not exist (stock Redis
    /// answering a `TANDEM ...` command).
    pub fn is_unknown_command(&self) -> bool {
        matches!(self, ClientError::Server(m) if m.starts_with("ERR unknown command"))
    }

    fn from_io(e: io::Error) -> ClientError {
        use io::ErrorKind::*;
        match e.kind() {
            ConnectionRefused | ConnectionReset | ConnectionAborted | BrokenPipe
            | UnexpectedEof | NotConnected => ClientError::Refused(e.to_string()),
            TimedOut => ClientError::Timeout(Duration::ZERO),
            _ => ClientError::Io(e.to_string()),
        }
    }
}

/// One connection to one node.
pub struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

/// How the monitor logs in to the nodes: `AUTH [user] password` (as
/// Sentinel's `auth-user` and `auth-pass`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Auth {
    /// An ACL user; the default user when absent.
    pub user: Option<String>,
    pub password: String,
}

impl Conn {
    /// Connects (and logs in when `auth` is set) within `timeout`.
    pub async fn connect(
        addr: &str,
        auth: Option<&Auth>,
        timeout: Duration,
    ) -> Result<Conn, ClientError> {
        let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
            .map_err(ClientError::from_io)?;
        // Latency matters more than packet count for a few small requests.
        let _ = stream.set_nodelay(true);
        let mut conn = Conn {
            stream,
            buf: Vec::with_capacity(4096),
        };
        if let Some(a) = auth {
            match &a.user {
                Some(u) => conn.call(&["AUTH", u, &a.password], timeout).await?,
                None => conn.call(&["AUTH", &a.password], timeout).await?,
            };
        }
        Ok(conn)
    }

    /// Sends one command and returns its reply; an error reply becomes
    /// [`ClientError::Server`].
    pub async fn call<A: AsRef<[u8]>>(
        &mut self,
        args: &[A],
        timeout: Duration,
    ) -> Result<Frame, ClientError> {
        let mut replies = self.pipeline(&[args], timeout).await?;
        let reply = replies
            .pop()
            .ok_or_else(|| ClientError::Protocol("no reply".into()))?;
        match reply {
            Frame::Error(m) | Frame::BlobError(m) => Err(ClientError::Server(
                String::from_utf8_lossy(&m).into_owned(),
            )),
            f => Ok(f),
        }
    }

    /// Sends several commands in one write and reads one reply each, all within
    /// `timeout`. Error replies stay in the result as frames.
    pub async fn pipeline<A: AsRef<[u8]>>(
        &mut self,
        cmds: &[&[A]],
        timeout: Duration,
    ) -> Result<Vec<Frame>, ClientError> {
        tokio::time::timeout(timeout, self.pipeline_inner(cmds))
            .await
            .map_err(|_| ClientError::Timeout(timeout))?
    }

    async fn pipeline_inner<A: AsRef<[u8]>>(
        &mut self,
        cmds: &[&[A]],
    ) -> Result<Vec<Frame>, ClientError> {
        let mut out = Vec::new();
        for c in cmds {
            encode_request(c, &mut out);
        }
        self.stream
            .write_all(&out)
            .await
            .map_err(ClientError::from_io)?;
        let mut replies = Vec::with_capacity(cmds.len());
        while replies.len() < cmds.len() {
            match parse_frame(&self.buf) {
                Ok(Some((frame, used))) => {
                    self.buf.drain(..used);
                    replies.push(frame);
                    continue;
                }
                Ok(None) => {}
                Err(e) => return Err(ClientError::Protocol(e.to_string())),
            }
            if self.buf.len() > MAX_REPLY {
                return Err(ClientError::Protocol("reply too large".into()));
            }
            let mut chunk = [0u8; 8192];
            let n = self
                .stream
                .read(&mut chunk)
                .await
                .map_err(ClientError::from_io)?;
            if n == 0 {
                return Err(ClientError::Refused("connection closed by peer".into()));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(replies)
    }
}

/// Connects, runs one command, and closes: for the rare control commands
/// (REPLICAOF, TANDEM FENCE...) sent outside the heartbeat connection.
pub async fn call_once<A: AsRef<[u8]>>(
    addr: &str,
    auth: Option<&Auth>,
    args: &[A],
    timeout: Duration,
) -> Result<Frame, ClientError> {
    let mut c = Conn::connect(addr, auth, timeout).await?;
    c.call(args, timeout).await
}

/// The text of a simple or bulk string reply.
pub fn frame_text(f: &Frame) -> Option<String> {
    match f {
        Frame::Simple(b) | Frame::Bulk(b) | Frame::Verbatim(b) => {
            Some(String::from_utf8_lossy(b).into_owned())
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn refused_connect_is_fast_evidence() {
        // Bind then drop a listener: the port is free and nothing listens on it.
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = l.local_addr().expect("addr").to_string();
        drop(l);
        let Err(e) = Conn::connect(&addr, None, Duration::from_secs(1)).await else {
            panic!("nothing listens");
        };
        assert!(e.is_refused(), "{e:?}");
    }

    #[tokio::test]
    async fn silent_peer_is_a_timeout_and_eof_is_refused() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = l.local_addr().expect("addr").to_string();
        let server = tokio::spawn(async move {
            // First connection: accept, never answer. Second: accept and close.
            let (silent, _) = l.accept().await.expect("accept");
            let (closed, _) = l.accept().await.expect("accept");
            drop(closed);
            tokio::time::sleep(Duration::from_secs(2)).await;
            drop(silent);
        });
        let mut c = Conn::connect(&addr, None, Duration::from_secs(1))
            .await
            .expect("connect");
        let Err(e) = c.call(&["PING"], Duration::from_millis(100)).await else {
            panic!("no answer");
        };
        assert_eq!(e, ClientError::Timeout(Duration::from_millis(100)));
        let mut c2 = Conn::connect(&addr, None, Duration::from_secs(1))
            .await
            .expect("connect");
        let Err(e) = c2.call(&["PING"], Duration::from_secs(1)).await else {
            panic!("closed");
        };
        assert!(e.is_refused(), "{e:?}");
        server.abort();
    }
}
