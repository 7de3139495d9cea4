//! A bare RESP connection: writes one command, reads one reply as a raw
//! `redis::Value`. Unlike `redis::Connection`, error replies come back as
//! `Value::ServerError` values (so their text is compared like any reply) and
//! nothing is retried, pipelined or converted behind our back.

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use redis::Value;

use crate::gen::Cmd;

pub struct Conn {
    stream: TcpStream,
    parser: redis::Parser,
}

impl Conn {
    /// Connects to 127.0.0.1:`port`; in RESP3 mode says `HELLO 3` first.
    pub fn open(port: u16, resp3: bool) -> Conn {
        let stream = TcpStream::connect(("127.0.0.1", port)).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .expect("read timeout");
        stream.set_nodelay(true).expect("nodelay");
        let mut c = Conn {
            stream,
            parser: redis::Parser::new(),
        };
        if resp3 {
            // The HELLO reply names the server and its version: not compared.
            match c.call(&vec![b"HELLO".to_vec(), b"3".to_vec()]) {
                Value::Map(_) => {}
                other => panic!("HELLO 3 on port {port} answered {other:?}"),
            }
        }
        c
    }

    /// Sends one command and returns its reply.
    pub fn call(&mut self, cmd: &Cmd) -> Value {
        let mut buf = Vec::with_capacity(64);
        buf.extend_from_slice(format!("*{}\r\n", cmd.len()).as_bytes());
        for a in cmd {
            buf.extend_from_slice(format!("${}\r\n", a.len()).as_bytes());
            buf.extend_from_slice(a);
            buf.extend_from_slice(b"\r\n");
        }
        self.stream.write_all(&buf).expect("write command");
        self.parser
            .parse_value(&mut self.stream)
            .unwrap_or_else(|e| panic!("reading the reply failed: {e}"))
    }

    /// Convenience for fixed commands.
    pub fn call_str(&mut self, args: &[&[u8]]) -> Value {
        self.call(&args.iter().map(|a| a.to_vec()).collect())
    }
}
