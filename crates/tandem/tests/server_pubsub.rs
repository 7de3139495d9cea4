//! End-to-end: pub/sub between clients in RESP2 and RESP3, the subscribed-mode
//! command restriction, PUBSUB introspection and the pubsub output buffer limit.

mod common;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use common::{wait_for, Proc};

fn expect(s: &mut TcpStream, want: &[u8]) {
    let mut got = vec![0u8; want.len()];
    s.read_exact(&mut got).expect("read");
    assert_eq!(String::from_utf8_lossy(&got), String::from_utf8_lossy(want));
}

/// RESP2 subscriber gets arrays; RESP3 subscriber gets pushes; publisher counts both.
#[test]
fn publish_to_resp2_and_resp3_subscribers() {
    let p = Proc::tandem(&[]);
    let mut s2 = p.raw();
    s2.write_all(b"SUBSCRIBE news\r\n").unwrap();
    expect(&mut s2, b"*3\r\n$9\r\nsubscribe\r\n$4\r\nnews\r\n:1\r\n");
    let mut s3 = p.raw();
    s3.write_all(b"HELLO 3\r\n").unwrap();
    let mut buf = [0u8; 512];
    let _ = s3.read(&mut buf).unwrap();
    s3.write_all(b"PSUBSCRIBE n*\r\n").unwrap();
    expect(&mut s3, b">3\r\n$10\r\npsubscribe\r\n$2\r\nn*\r\n:1\r\n");
    assert_eq!(
        p.cli_str(&["PUBSUB", "NUMSUB", "news", "other"]),
        "news\n1\nother\n0"
    );
    assert_eq!(p.cli_str(&["PUBSUB", "NUMPAT"]), "1");
    assert_eq!(p.cli_str(&["PUBSUB", "CHANNELS"]), "news");
    assert_eq!(p.cli_str(&["PUBLISH", "news", "hi"]), "2");
    expect(
        &mut s2,
        b"*3\r\n$7\r\nmessage\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
    );
    expect(
        &mut s3,
        b">4\r\n$8\r\npmessage\r\n$2\r\nn*\r\n$4\r\nnews\r\n$2\r\nhi\r\n",
    );
    // RESP2 subscribed mode allows only a few commands; PING replies an array.
    s2.write_all(b"ECHO x\r\nPING\r\n").unwrap();
    expect(&mut s2, b"-ERR Can't execute 'echo': only (P|S)SUBSCRIBE / (P|S)UNSUBSCRIBE / PING / QUIT / RESET are allowed in this context\r\n*2\r\n$4\r\npong\r\n$0\r\n\r\n");
    // RESP3 clients may run anything while subscribed.
    s3.write_all(b"ECHO x\r\n").unwrap();
    expect(&mut s3, b"$1\r\nx\r\n");
    s2.write_all(b"UNSUBSCRIBE\r\nECHO y\r\n").unwrap();
    expect(
        &mut s2,
        b"*3\r\n$11\r\nunsubscribe\r\n$4\r\nnews\r\n:0\r\n$1\r\ny\r\n",
    );
    assert_eq!(p.cli_str(&["PUBLISH", "news", "again"]), "1");
}

/// A subscriber that stops reading is disconnected once its pending messages pass
/// the pubsub hard limit, and the server logs it as Redis does.
#[test]
fn slow_subscriber_is_disconnected() {
    let p = Proc::tandem(&["--client-output-buffer-limit", "pubsub", "64kb", "0", "0"]);
    let mut sub = p.raw();
    sub.write_all(b"SUBSCRIBE flood\r\n").unwrap();
    expect(&mut sub, b"*3\r\n$9\r\nsubscribe\r\n$5\r\nflood\r\n:1\r\n");
    let mut c = p.client();
    let payload = vec![b'x'; 64 * 1024];
    wait_for(
        Duration::from_secs(30),
        "the subscriber to be dropped",
        || {
            let n: i64 = redis::cmd("PUBLISH")
                .arg("flood")
                .arg(&payload)
                .query(&mut c)
                .unwrap();
            n == 0
        },
    );
    assert!(p
        .log()
        .contains("scheduled to be closed ASAP for overcoming of output buffer limits"));
    let info = p.cli_str(&["INFO", "stats"]);
    assert!(
        info.contains("client_output_buffer_limit_disconnections:1"),
        "{info}"
    );
}

/// Reads what arrives until `n` bytes or a quiet 200 ms.
fn read_some(s: &mut TcpStream, n: usize) -> Vec<u8> {
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while got.len() < n {
        match s.read(&mut buf) {
            Ok(0) | Err(_) => break,
            Ok(k) => got.extend_from_slice(&buf[..k]),
        }
    }
    got
}

/// Sharded pub/sub (Redis 7.0's SSUBSCRIBE, SUNSUBSCRIBE, SPUBLISH, PUBSUB
/// SHARDCHANNELS and SHARDNUMSUB): byte for byte what a real redis-server
/// sends, in RESP2 and RESP3, with the shard count apart from the channels'.
#[test]
fn sharded_pubsub_replies_as_redis_does() {
    let run = |p: &Proc| -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut sub = p.raw();
        sub.write_all(b"SSUBSCRIBE a b\r\nSUBSCRIBE x\r\nSSUBSCRIBE a\r\nGET k\r\nPING\r\n")
            .unwrap();
        out.push(read_some(&mut sub, 1 << 16));
        let mut r3 = p.raw();
        r3.write_all(b"HELLO 3\r\n").unwrap();
        let _ = read_some(&mut r3, 1 << 16);
        r3.write_all(b"SSUBSCRIBE a\r\n").unwrap();
        out.push(read_some(&mut r3, 1 << 16));
        // Listings that match one channel: the order of several is each
        // server's hash order.
        let mut c = p.raw();
        c.write_all(
            b"SPUBLISH a hi\r\nSPUBLISH x no\r\nPUBLISH a no\r\nPUBSUB SHARDCHANNELS b*\r\nPUBSUB SHARDCHANNELS [a]\r\nPUBSUB SHARDNUMSUB a b z\r\nPUBSUB NUMSUB x a\r\nPUBSUB SHARDCHANNELS a b\r\nPUBSUB NUMPAT x\r\nPUBSUB HELP\r\n",
        )
        .unwrap();
        out.push(read_some(&mut c, 1 << 16));
        out.push(read_some(&mut sub, 1 << 16));
        out.push(read_some(&mut r3, 1 << 16));
        // The RESP3 subscriber runs other commands and sees the push among them.
        r3.write_all(b"PUBSUB SHARDNUMSUB a\r\nSPUBLISH a self\r\n")
            .unwrap();
        out.push(read_some(&mut r3, 1 << 16));
        sub.write_all(
            b"SUNSUBSCRIBE a\r\nSUNSUBSCRIBE\r\nSUNSUBSCRIBE\r\nUNSUBSCRIBE\r\nGET k\r\n",
        )
        .unwrap();
        out.push(read_some(&mut sub, 1 << 16));
        out
    };
    let tandem = run(&Proc::tandem(&[]));
    let redis = run(&Proc::redis(&[]));
    for (i, (t, r)) in tandem.iter().zip(&redis).enumerate() {
        assert_eq!(
            String::from_utf8_lossy(t),
            String::from_utf8_lossy(r),
            "step {i}: tandem vs redis-server"
        );
    }
    assert!(
        String::from_utf8_lossy(&tandem[3]).contains("smessage"),
        "the subscriber got the shard message"
    );
}
