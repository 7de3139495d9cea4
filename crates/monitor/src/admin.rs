//! The monitor's admin endpoint: a tiny RESP server for operators and tools.
//!
//! - `PING` → `+PONG`
//! - `STATUS` → a bulk string of JSON: topology, node states, recent failover
//!   events, counters (what `tandem status` prints)
//! - `FAILOVER [node]` → a planned switchover (zero data loss) to the named
//!   replica (id or `host:port`) or the best one; the event as JSON, or `-ERR`
//! - `QUIT`
//!
//! Any RESP client works: `redis-cli -p ADMIN_PORT STATUS`.

use std::net::SocketAddr;
use std::sync::Arc;

use tandem_resp::scan::{parse_frame, Frame};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::driver::{status_json, Ctx};
use crate::MonitorError;

/// Requests bigger than this close the connection (admin commands are tiny).
const MAX_REQUEST: usize = 64 * 1024;

/// Binds `addr` and serves until `stop` flips.
pub(crate) fn serve(
    ctx: Arc<Ctx>,
    addr: SocketAddr,
    mut stop: watch::Receiver<bool>,
) -> Result<(SocketAddr, JoinHandle<()>), MonitorError> {
    let std_listener = std::net::TcpListener::bind(addr)
        .map_err(|e| MonitorError::Io(format!("admin address {addr}"), e))?;
    let bound = std_listener
        .local_addr()
        .map_err(|e| MonitorError::Io(format!("admin address {addr}"), e))?;
    std_listener
        .set_nonblocking(true)
        .map_err(|e| MonitorError::Io(format!("admin address {addr}"), e))?;
    let listener = TcpListener::from_std(std_listener)
        .map_err(|e| MonitorError::Io(format!("admin address {addr}"), e))?;
    tracing::info!("monitor admin endpoint on {bound}");
    let task = tokio::spawn(async move {
        loop {
            tokio::select! {
                acc = listener.accept() => match acc {
                    Ok((sock, _)) => {
                        tokio::spawn(connection(ctx.clone(), sock));
                    }
                    Err(e) => {
                        tracing::warn!("admin accept failed: {e}");
                        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    }
                },
                _ = stop.changed() => return,
            }
        }
    });
    Ok((bound, task))
}

fn args_of(f: Frame) -> Option<Vec<String>> {
    match f {
        Frame::Array(items) => items
            .into_iter()
            .map(|i| match i {
                Frame::Bulk(b) | Frame::Simple(b) => Some(String::from_utf8_lossy(&b).into_owned()),
                Frame::Integer(n) => Some(n.to_string()),
                _ => None,
            })
            .collect(),
        _ => None,
    }
}

fn bulk(s: &str, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("${}\r\n", s.len()).as_bytes());
    out.extend_from_slice(s.as_bytes());
    out.extend_from_slice(b"\r\n");
}

fn error(s: &str, out: &mut Vec<u8>) {
    let clean: String = s
        .chars()
        .map(|c| if c == '\r' || c == '\n' { ' ' } else { c })
        .collect();
    out.extend_from_slice(format!("-ERR {clean}\r\n").as_bytes());
}

async fn connection(ctx: Arc<Ctx>, mut sock: TcpStream) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        let frame = match parse_frame(&buf) {
            Ok(Some((f, used))) => {
                buf.drain(..used);
                f
            }
            Ok(None) => {
                if buf.len() > MAX_REQUEST {
                    return;
                }
                match sock.read(&mut chunk).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => {
                        buf.extend_from_slice(&chunk[..n]);
                        continue;
                    }
                }
            }
            Err(_) => {
                let _ = sock.write_all(b"-ERR Protocol error\r\n").await;
                return;
            }
        };
        let mut out = Vec::new();
        let args = args_of(frame).unwrap_or_default();
        let name = args
            .first()
            .map(|a| a.to_ascii_uppercase())
            .unwrap_or_default();
        let quit = name == "QUIT";
        match name.as_str() {
            "PING" => out.extend_from_slice(b"+PONG\r\n"),
            "QUIT" => out.extend_from_slice(b"+OK\r\n"),
            "STATUS" => bulk(&status_json(&ctx).to_string(), &mut out),
            "FAILOVER" => match crate::failover::planned(&ctx, args.get(1).cloned()).await {
                Ok(ev) => bulk(&serde_json::to_string(&ev).unwrap_or_default(), &mut out),
                Err(e) => error(&e.to_string(), &mut out),
            },
            "" => error("Protocol error: expected an array of strings", &mut out),
            other => error(
                &format!("unknown command '{other}' (try PING, STATUS, FAILOVER)"),
                &mut out,
            ),
        }
        if sock.write_all(&out).await.is_err() || quit {
            return;
        }
    }
}
