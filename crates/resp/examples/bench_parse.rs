//! Micro benchmark of the request parser (run with `cargo run --release -p
//! tandem-resp --example bench_parse`): 100k pipelined SETs fed whole, in 16 KiB
//! and in 1 KiB reads, and one 10 MB argument arriving in 16 KiB reads.
use bytes::BytesMut;
use std::time::Instant;
use tandem_resp::{Limits, RequestParser};
fn main() {
    let mut one = Vec::new();
    for i in 0..100_000 {
        let k = format!("key:{i:012}");
        one.extend_from_slice(
            format!(
                "*3\r\n$3\r\nSET\r\n${}\r\n{}\r\n$32\r\n{}\r\n",
                k.len(),
                k,
                "v".repeat(32)
            )
            .as_bytes(),
        );
    }
    let l = Limits::default();
    for chunk in [one.len(), 16 * 1024, 1024] {
        let t = Instant::now();
        let mut n = 0;
        for _ in 0..10 {
            let mut p = RequestParser::new();
            let mut buf = BytesMut::with_capacity(64 * 1024);
            let mut args = Vec::new();
            for c in one.chunks(chunk) {
                buf.extend_from_slice(c);
                while p.parse(&mut buf, &l, &mut args).unwrap() {
                    n += args.len();
                }
            }
        }
        let el = t.elapsed();
        println!(
            "chunk {chunk}: {:.1} ns/request ({} args)",
            el.as_nanos() as f64 / 1e6,
            n
        );
    }
    let big = format!(
        "*2\r\n$3\r\nSET\r\n$10000000\r\n{}\r\n",
        "x".repeat(10_000_000)
    );
    let t = Instant::now();
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let mut done = 0;
    for c in big.as_bytes().chunks(16 * 1024) {
        buf.extend_from_slice(c);
        while p.parse(&mut buf, &l, &mut args).unwrap() {
            done += 1;
        }
    }
    println!(
        "10 MB arg in 16 KiB reads: {:?} ({done} request)",
        t.elapsed()
    );
}
