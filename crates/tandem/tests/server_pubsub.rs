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
