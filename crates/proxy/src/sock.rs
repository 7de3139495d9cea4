//! A client's connection, over TCP or the proxy's Unix socket: the read half
//! the client task reads requests from, and the write half links and the
//! task write replies to (non-blocking `try_write`, `writable` to wait).

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWriteExt, ReadBuf};
use tokio::net::{tcp, unix, TcpListener, TcpStream, UnixListener, UnixStream};

/// A listening socket: TCP, or the Unix socket.
pub(crate) enum Listener {
    Tcp(TcpListener),
    Unix(UnixListener),
}

impl Listener {
    pub async fn accept(&self) -> io::Result<ClientStream> {
        Ok(match self {
            Listener::Tcp(l) => ClientStream::Tcp(l.accept().await?.0),
            Listener::Unix(l) => ClientStream::Unix(l.accept().await?.0),
        })
    }
}

/// An accepted client connection.
pub(crate) enum ClientStream {
    Tcp(TcpStream),
    Unix(UnixStream),
}

impl ClientStream {
    /// Answers `line` and closes, on a task of its own (a refused client).
    pub fn refuse(self, line: &'static [u8]) {
        tokio::spawn(async move {
            let _ = match self {
                ClientStream::Tcp(mut s) => s.write_all(line).await,
                ClientStream::Unix(mut s) => s.write_all(line).await,
            };
        });
    }

    /// (addr, laddr, fd) as CLIENT LIST shows them: `ip:port`, or for the Unix
    /// socket its path with port 0.
    pub fn describe(&self) -> (String, String, i32) {
        use std::os::fd::AsRawFd;
        match self {
            ClientStream::Tcp(s) => (
                s.peer_addr().map(|a| a.to_string()).unwrap_or_default(),
                s.local_addr().map(|a| a.to_string()).unwrap_or_default(),
                s.as_raw_fd(),
            ),
            ClientStream::Unix(s) => {
                let path = s
                    .local_addr()
                    .ok()
                    .and_then(|a| a.as_pathname().map(|p| p.display().to_string()))
                    .unwrap_or_default();
                (format!("{path}:0"), format!("{path}:0"), s.as_raw_fd())
            }
        }
    }

    /// The two halves; TCP gets `TCP_NODELAY` (replies are already batched).
    pub fn split(self) -> (ClientRead, ClientWrite) {
        match self {
            ClientStream::Tcp(s) => {
                let _ = s.set_nodelay(true);
                let (r, w) = s.into_split();
                (ClientRead::Tcp(r), ClientWrite::Tcp(w))
            }
            ClientStream::Unix(s) => {
                let (r, w) = s.into_split();
                (ClientRead::Unix(r), ClientWrite::Unix(w))
            }
        }
    }
}

pub(crate) enum ClientRead {
    Tcp(tcp::OwnedReadHalf),
    Unix(unix::OwnedReadHalf),
}

impl AsyncRead for ClientRead {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        match self.get_mut() {
            ClientRead::Tcp(r) => Pin::new(r).poll_read(cx, buf),
            ClientRead::Unix(r) => Pin::new(r).poll_read(cx, buf),
        }
    }
}

pub(crate) enum ClientWrite {
    Tcp(tcp::OwnedWriteHalf),
    Unix(unix::OwnedWriteHalf),
}

impl ClientWrite {
    /// Writes what the socket takes now (`WouldBlock` when nothing).
    pub fn try_write(&self, data: &[u8]) -> io::Result<usize> {
        match self {
            ClientWrite::Tcp(w) => w.try_write(data),
            ClientWrite::Unix(w) => w.try_write(data),
        }
    }

    /// Waits until the socket may take more.
    pub async fn writable(&self) -> io::Result<()> {
        match self {
            ClientWrite::Tcp(w) => w.writable().await,
            ClientWrite::Unix(w) => w.writable().await,
        }
    }

    /// Shuts the write direction, so the client sees the end of the replies.
    pub fn shutdown_write(&self) {
        let _ = match self {
            ClientWrite::Tcp(w) => {
                socket2::SockRef::from(w.as_ref()).shutdown(std::net::Shutdown::Write)
            }
            ClientWrite::Unix(w) => {
                socket2::SockRef::from(w.as_ref()).shutdown(std::net::Shutdown::Write)
            }
        };
    }
}
