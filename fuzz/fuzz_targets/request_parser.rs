//! Arbitrary bytes, split at a fuzzer-chosen point, into the request parser: it must
//! never panic, never loop, and give the same requests as when fed all at once
//! (unless a size limit trips, which may happen earlier with pieces, never later).
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tandem_resp::{Limits, ProtocolError, RequestParser};

type Out = (Vec<Vec<Vec<u8>>>, Option<ProtocolError>);

fn run(pieces: &[&[u8]], limits: &Limits) -> Out {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let mut reqs = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        // Each successful parse consumes bytes, so this loop is bounded by the input.
        let mut guard = buf.len() + 1;
        loop {
            match p.parse(&mut buf, limits, &mut args) {
                Ok(true) => reqs.push(args.iter().map(|a| a.to_vec()).collect()),
                Ok(false) => break,
                Err(e) => return (reqs, Some(e)),
            }
            guard -= 1;
            assert!(guard > 0, "parser returned Ok(true) without progress");
        }
    }
    (reqs, None)
}

/// `run` through `parse_frame` (the proxy's way): the same requests, and each
/// frame parses alone, completely, to its request.
fn run_frames(pieces: &[&[u8]], limits: &Limits) -> Out {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut spans = Vec::new();
    let mut reqs = Vec::new();
    for piece in pieces {
        buf.extend_from_slice(piece);
        loop {
            match p.parse_frame(&mut buf, limits, &mut spans) {
                Ok(Some(frame)) => {
                    let args: Vec<Vec<u8>> =
                        spans.iter().map(|&(s, e)| frame[s..e].to_vec()).collect();
                    if !args.is_empty() {
                        let mut alone = BytesMut::from(&frame[..]);
                        let mut re = Vec::new();
                        let r = RequestParser::new().parse(&mut alone, limits, &mut re);
                        assert_eq!(r, Ok(true));
                        assert!(alone.is_empty());
                        assert_eq!(re.iter().map(|a| a.to_vec()).collect::<Vec<_>>(), args);
                    }
                    reqs.push(args);
                }
                Ok(None) => break,
                Err(e) => return (reqs, Some(e)),
            }
        }
    }
    (reqs, None)
}

fuzz_target!(|data: &[u8]| {
    if data.is_empty() {
        return;
    }
    // First byte: split point; small limits so the limit paths are reachable.
    let split = usize::from(data[0]) % data.len();
    let input = &data[1..];
    let split = split.min(input.len());
    let limits = Limits {
        max_inline_len: 64,
        max_bulk_len: 256,
        max_multibulk_len: 1 << 20,
        ..Limits::default()
    };
    let whole = run(&[input], &limits);
    let pieces = run(&[&input[..split], &input[split..]], &limits);
    assert_eq!(run_frames(&[&input[..split], &input[split..]], &limits), pieces);
    if whole.1.is_none() {
        assert_eq!(whole, pieces);
    }
    let bytes: Vec<&[u8]> = input.chunks(1).collect();
    let single = run(&bytes, &limits);
    if whole.1.is_none() {
        assert_eq!(whole, single);
    }
});
