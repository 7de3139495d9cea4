//! Helper for fuzz/redis_diff.py (differential check of the request parser against
//! a real redis-server): reads hex-encoded inputs, one a line, and prints
//! "<non-empty requests>\t<protocol error line or ->" for each.
use bytes::BytesMut;
use std::io::{BufRead, Write};
use tandem_resp::{Limits, RequestParser};
fn main() {
    for line in std::io::stdin().lock().lines() {
        let line = line.unwrap();
        let bytes: Vec<u8> = (0..line.len() / 2)
            .map(|i| u8::from_str_radix(&line[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        let mut p = RequestParser::new();
        let mut buf = BytesMut::from(&bytes[..]);
        let mut args = Vec::new();
        let mut n = 0;
        let mut e: Vec<u8> = b"-".to_vec();
        loop {
            match p.parse(&mut buf, &Limits::default(), &mut args) {
                Ok(true) => {
                    if !args.is_empty() {
                        n += 1;
                    }
                }
                Ok(false) => break,
                Err(err) => {
                    let r = err.to_reply();
                    e = r[..r.len() - 2].to_vec();
                    break;
                }
            }
        }
        let mut o = std::io::stdout();
        o.write_all(format!("{n}\t").as_bytes()).unwrap();
        o.write_all(&e).unwrap();
        o.write_all(b"\n").unwrap();
    }
}
