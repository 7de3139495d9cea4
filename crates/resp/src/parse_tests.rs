//! Tests of the request parser: every Redis error string, leniencies Redis has,
//! byte-at-a-time feeding, pipelines, binary-safe args, and property tests.

use super::*;
use proptest::prelude::*;

type Parsed = Result<Vec<Vec<Vec<u8>>>, ProtocolError>;

/// Feeds `input` in pieces of at most `step` bytes and collects every request
/// until the input is exhausted or an error occurs.
fn feed(input: &[u8], step: usize, limits: &Limits) -> (Parsed, usize) {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut args = Vec::new();
    let mut out = Vec::new();
    for chunk in input.chunks(step.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match p.parse(&mut buf, limits, &mut args) {
                Ok(true) => out.push(args.iter().map(|a| a.to_vec()).collect()),
                Ok(false) => break,
                Err(e) => return (Err(e), buf.len()),
            }
        }
    }
    (Ok(out), buf.len())
}

/// `feed` through `parse_frame`: the requests, each checked to be a frame that
/// parses on its own, completely, to the same arguments (what the node behind a
/// forwarder sees).
fn feed_frames(input: &[u8], step: usize, limits: &Limits) -> Parsed {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::new();
    let mut spans = Vec::new();
    let mut out = Vec::new();
    for chunk in input.chunks(step.max(1)) {
        buf.extend_from_slice(chunk);
        loop {
            match p.parse_frame(&mut buf, limits, &mut spans) {
                Ok(Some(frame)) => {
                    let args: Vec<Vec<u8>> =
                        spans.iter().map(|&(s, e)| frame[s..e].to_vec()).collect();
                    if !args.is_empty() {
                        let mut again = BytesMut::from(&frame[..]);
                        let mut re = Vec::new();
                        let whole = RequestParser::new().parse(&mut again, limits, &mut re);
                        assert_eq!(whole, Ok(true), "frame {frame:?} does not parse alone");
                        assert!(
                            again.is_empty(),
                            "frame {frame:?} has bytes past its request"
                        );
                        assert_eq!(re.iter().map(|a| a.to_vec()).collect::<Vec<_>>(), args);
                    }
                    out.push(args);
                }
                Ok(None) => break,
                Err(e) => return Err(e),
            }
        }
    }
    Ok(out)
}

fn whole(input: &[u8]) -> Parsed {
    feed(input, usize::MAX, &Limits::default()).0
}

fn err(msg: &str) -> Parsed {
    Err(ProtocolError(msg.to_string()))
}

fn reqs(items: &[&[&[u8]]]) -> Parsed {
    Ok(items
        .iter()
        .map(|r| r.iter().map(|a| a.to_vec()).collect())
        .collect())
}

fn encode(args: &[Vec<u8>]) -> Vec<u8> {
    let mut v = Vec::new();
    encode_request(args, &mut v);
    v
}

#[test]
fn request_len_at_digit_boundaries() {
    for n in [0usize, 1, 9, 10, 11, 99, 100, 999, 1000, 10_000, 100_000] {
        let args = vec![vec![b'x'; n]; n.min(12)];
        assert_eq!(request_len(&args), encode(&args).len(), "{n}");
    }
}

#[test]
fn encode_request_format() {
    let mut v = Vec::new();
    encode_request(&[&b"SET"[..], b"k", b""], &mut v);
    assert_eq!(v, b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$0\r\n\r\n");
}

#[test]
fn multibulk_basic_and_pipeline() {
    assert_eq!(
        whole(b"*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$5\r\nvalue\r\n*1\r\n$4\r\nPING\r\n"),
        reqs(&[&[b"SET", b"k", b"value"], &[b"PING"]])
    );
    let mut one = Vec::new();
    for i in 0..1000 {
        one.extend(encode(&[b"INCR".to_vec(), format!("k{i}").into_bytes()]));
    }
    let r = whole(&one).unwrap();
    assert_eq!(r.len(), 1000);
    assert_eq!(r[999][1], b"k999");
}

#[test]
fn binary_safe_args() {
    let a = b"a\r\nb\0c\r".to_vec();
    let input = encode(&[b"SET".to_vec(), a.clone(), Vec::new()]);
    assert_eq!(
        whole(&input),
        Ok(vec![vec![b"SET".to_vec(), a, Vec::new()]])
    );
}

#[test]
fn byte_at_a_time_equals_whole() {
    let mut input = encode(&[b"SET".to_vec(), b"k\r\n".to_vec(), vec![7u8; 300]]);
    input.extend_from_slice(b"PING \"a b\"\r\nECHO x\n\r\n*0\r\n*-1\r\n");
    input.extend(encode(&[b"GET".to_vec(), b"k".to_vec()]));
    let w = whole(&input);
    assert_eq!(w.as_ref().map(|r| r.len()), Ok(7));
    for step in [1, 2, 3, 5, 7, 64] {
        let (r, left) = feed(&input, step, &Limits::default());
        assert_eq!(r, w, "step {step}");
        assert_eq!(left, 0);
    }
}

#[test]
fn partial_request_keeps_state_and_reports_needs() {
    let mut p = RequestParser::new();
    let mut buf = BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$10\r\n0123"[..]);
    let mut args = vec![Bytes::from_static(b"stale")];
    let l = Limits::default();
    assert_eq!(p.parse(&mut buf, &l, &mut args), Ok(false));
    assert!(p.in_request());
    assert_eq!(args.len(), 1, "args untouched while incomplete");
    assert_eq!(p.pending_bytes(), 18);
    assert_eq!(p.bytes_needed(buf.len()), Some(8));
    buf.extend_from_slice(b"456789\r\n");
    assert_eq!(p.parse(&mut buf, &l, &mut args), Ok(true));
    assert_eq!(
        args,
        vec![
            Bytes::from_static(b"GET"),
            Bytes::from_static(b"0123456789")
        ]
    );
    assert!(buf.is_empty());
    assert!(!p.in_request());
    assert_eq!(p.parse(&mut buf, &l, &mut args), Ok(false));
}

#[test]
fn empty_and_negative_multibulk_are_empty_requests() {
    assert_eq!(whole(b"*0\r\n*-1\r\n*-100\r\n"), reqs(&[&[], &[], &[]]));
}

#[test]
fn multibulk_errors() {
    assert_eq!(whole(b"*x\r\n"), err("invalid multibulk length"));
    assert_eq!(whole(b"*\r\n"), err("invalid multibulk length"));
    assert_eq!(whole(b"*-0\r\n"), err("invalid multibulk length"));
    assert_eq!(whole(b"*+1\r\n"), err("invalid multibulk length"));
    assert_eq!(whole(b"*01\r\n"), err("invalid multibulk length"));
    assert_eq!(whole(b"* 1\r\n"), err("invalid multibulk length"));
    assert_eq!(whole(b"*2147483648\r\n"), err("invalid multibulk length"));
    assert_eq!(
        whole(b"*99999999999999999999\r\n"),
        err("invalid multibulk length")
    );
    // INT_MAX itself is accepted (and then waits for the args).
    assert_eq!(whole(b"*2147483647\r\n"), Ok(vec![]));
    assert_eq!(
        whole(b"*1\r\n$4\r\nPING\r\n*1\r\nx\r\n"),
        err("expected '$', got 'x'")
    );
    assert_eq!(whole(b"*1\r\n:4\r\n"), err("expected '$', got ':'"));
    assert_eq!(whole(b"*1\r\n$-1\r\n"), err("invalid bulk length"));
    assert_eq!(whole(b"*1\r\n$-0\r\n"), err("invalid bulk length"));
    assert_eq!(whole(b"*1\r\n$a\r\n"), err("invalid bulk length"));
    assert_eq!(whole(b"*1\r\n$\r\n"), err("invalid bulk length"));
    assert_eq!(whole(b"*1\r\n$536870913\r\n"), err("invalid bulk length"));
    assert_eq!(whole(b"*1\r\n$536870912\r\n"), Ok(vec![]));
}

#[test]
fn too_big_count_strings() {
    let l = Limits::default();
    let mut long = b"*".to_vec();
    long.extend(vec![b'1'; 64 * 1024 - 1]);
    assert_eq!(
        feed(&long, 1000, &l).0,
        Ok(vec![]),
        "exactly at the limit waits"
    );
    long.push(b'1');
    assert_eq!(feed(&long, 1000, &l).0, err("too big mbulk count string"));
    let mut bulk = b"*1\r\n$".to_vec();
    bulk.extend(vec![b'1'; 64 * 1024]);
    assert_eq!(feed(&bulk, 4096, &l).0, err("too big bulk count string"));
    // A count line that is long but terminated is just an invalid number.
    let mut ok_term = b"*1\r\n$".to_vec();
    ok_term.extend(vec![b'1'; 100]);
    ok_term.extend(b"\r\n");
    assert_eq!(whole(&ok_term), err("invalid bulk length"));
}

#[test]
fn redis_leniencies_on_terminators() {
    // Redis skips the two bytes after '\r' and after a payload without checking them.
    assert_eq!(whole(b"*1\rX$4\rYPINGZZ"), reqs(&[&[b"PING"]]));
}

#[test]
fn unauthenticated_limits() {
    let l = Limits::default();
    let run = |input: &[u8]| {
        let mut p = RequestParser::new();
        p.set_auth_required(true);
        let mut buf = BytesMut::from(input);
        let mut args = Vec::new();
        p.parse(&mut buf, &l, &mut args)
    };
    assert_eq!(
        run(b"*11\r\n"),
        Err(ProtocolError("unauthenticated multibulk length".into()))
    );
    assert_eq!(run(b"*10\r\n"), Ok(false));
    assert_eq!(
        run(b"*2\r\n$16385\r\n"),
        Err(ProtocolError("unauthenticated bulk length".into()))
    );
    assert_eq!(run(b"*2\r\n$16384\r\n"), Ok(false));
}

#[test]
fn inline_requests() {
    assert_eq!(
        whole(b"set a \"b c\"\r\nget a\nping\r\r\n"),
        reqs(&[&[b"set", b"a", b"b c"], &[b"get", b"a"], &[b"ping"]])
    );
    // Empty lines are empty requests.
    assert_eq!(whole(b"\r\n\n   \r\n"), reqs(&[&[], &[], &[]]));
    assert_eq!(whole(b"ping"), Ok(vec![]));
    assert_eq!(whole(b"set \"a\r\n"), err("unbalanced quotes in request"));
    assert_eq!(whole(b"set 'a'b\r\n"), err("unbalanced quotes in request"));
}

#[test]
fn too_big_inline_request() {
    let l = Limits::default();
    let mut line = vec![b'a'; 64 * 1024];
    assert_eq!(feed(&line, 4096, &l).0, Ok(vec![]));
    line.push(b'a');
    assert_eq!(feed(&line, 4096, &l).0, err("too big inline request"));
    // A terminated line at the limit is fine; one byte over is not.
    let mut ok = vec![b'a'; 64 * 1024];
    ok.push(b'\n');
    assert_eq!(feed(&ok, usize::MAX, &l).0.map(|r| r.len()), Ok(1));
    let mut over = vec![b'a'; 64 * 1024 + 1];
    over.push(b'\n');
    assert_eq!(feed(&over, usize::MAX, &l).0, err("too big inline request"));
}

#[test]
fn reply_line_has_raw_byte_like_redis() {
    let e = whole(b"*1\r\n\xf2$4\r\n").unwrap_err();
    assert_eq!(
        e.to_reply(),
        b"-ERR Protocol error: expected '$', got '\xf2'\r\n"
    );
    let e = whole(b"*1\r\n\r\n").unwrap_err();
    assert_eq!(
        e.to_reply(),
        b"-ERR Protocol error: expected '$', got ' '\r\n"
    );
    let mut r = crate::ReplyBuf::new(crate::Proto::Resp2);
    r.protocol_error(&ProtocolError("invalid bulk length".into()));
    assert_eq!(
        r.as_bytes(),
        b"-ERR Protocol error: invalid bulk length\r\n"
    );
}

#[test]
fn display_has_redis_prefix() {
    assert_eq!(
        ProtocolError("invalid bulk length".into()).to_string(),
        "Protocol error: invalid bulk length"
    );
}

#[test]
fn parse_ll_follows_string2ll() {
    assert_eq!(parse_ll(b"0"), Some(0));
    assert_eq!(parse_ll(b"-1"), Some(-1));
    assert_eq!(parse_ll(b"9223372036854775807"), Some(i64::MAX));
    assert_eq!(parse_ll(b"-9223372036854775808"), Some(i64::MIN));
    for bad in [
        &b""[..],
        b"-",
        b"-0",
        b"00",
        b"+1",
        b" 1",
        b"1 ",
        b"9223372036854775808",
        b"-9223372036854775809",
        b"1a",
        b"000000000000000000001",
    ] {
        assert_eq!(parse_ll(bad), None, "{:?}", String::from_utf8_lossy(bad));
    }
}

proptest! {
    #[test]
    fn request_len_is_the_encoded_length(
        args in prop::collection::vec(
            prop::collection::vec(any::<u8>(), 0..1200), 0..14),
    ) {
        prop_assert_eq!(request_len(&args), encode(&args).len());
    }

    #[test]
    fn round_trip_split_anywhere(
        reqs_in in prop::collection::vec(
            prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..6), 1..5),
        cuts in prop::collection::vec(any::<usize>(), 0..6),
    ) {
        let mut input = Vec::new();
        for r in &reqs_in {
            input.extend(encode(r));
        }
        let mut points: Vec<usize> = cuts.iter().map(|c| c % (input.len() + 1)).collect();
        points.sort_unstable();
        let mut p = RequestParser::new();
        let mut buf = BytesMut::new();
        let mut args = Vec::new();
        let mut got: Vec<Vec<Vec<u8>>> = Vec::new();
        let mut last = 0;
        for end in points.into_iter().chain(std::iter::once(input.len())) {
            buf.extend_from_slice(&input[last..end]);
            last = end;
            while p.parse(&mut buf, &Limits::default(), &mut args).unwrap() {
                got.push(args.iter().map(|a| a.to_vec()).collect());
            }
        }
        prop_assert_eq!(got, reqs_in);
        prop_assert!(buf.is_empty());
    }

    #[test]
    fn arbitrary_bytes_never_panic_or_spin(
        input in prop::collection::vec(
            prop_oneof![Just(b'*'), Just(b'$'), Just(b'\r'), Just(b'\n'), Just(b'"'),
                        Just(b'1'), Just(b'-'), any::<u8>()], 0..200),
        step in 1usize..20,
    ) {
        let limits = Limits { max_inline_len: 32, max_bulk_len: 64, ..Limits::default() };
        let (whole_r, _) = feed(&input, usize::MAX, &limits);
        let (step_r, _) = feed(&input, step, &limits);
        // Pieces may hit a size limit earlier than the whole buffer would, never later;
        // otherwise both ways of feeding agree.
        if whole_r.is_ok() {
            prop_assert_eq!(step_r, whole_r);
        }
    }

    /// `parse_frame` finds the same requests and errors as `parse`, fed the
    /// same way, and each frame parses alone to its request (`feed_frames`).
    #[test]
    fn frames_agree_with_parse(
        input in prop::collection::vec(
            prop_oneof![Just(b'*'), Just(b'$'), Just(b'\r'), Just(b'\n'), Just(b'"'),
                        Just(b'1'), Just(b'2'), Just(b' '), any::<u8>()], 0..200),
        step in 1usize..20,
    ) {
        let limits = Limits { max_inline_len: 32, max_bulk_len: 64, ..Limits::default() };
        prop_assert_eq!(feed_frames(&input, step, &limits), feed(&input, step, &limits).0);
    }
}

/// A count line that arrived in pieces is searched from where the last look
/// stopped; once complete, the next line of the request is searched from its
/// own start (a stale position would skip the '\r' of a short line such as
/// `$-1` and wait for more bytes instead of refusing it).
#[test]
fn count_lines_split_before_and_after_their_cr() {
    let mut input = b"*2\r\n$1000\r\n".to_vec();
    input.extend_from_slice(&[b'a'; 1000]);
    input.extend_from_slice(b"\r\n$-1\r\n");
    for a in 0..16 {
        for b in a..input.len() {
            let mut p = RequestParser::new();
            let mut buf = BytesMut::new();
            let mut args = Vec::new();
            let mut got = Ok(false);
            for part in [&input[..a], &input[a..b], &input[b..]] {
                buf.extend_from_slice(part);
                got = p.parse(&mut buf, &Limits::default(), &mut args);
            }
            assert_eq!(
                got,
                Err(ProtocolError::new("invalid bulk length")),
                "cut at {a} and {b}"
            );
        }
    }
}

#[test]
fn frames_are_the_request_bytes_or_an_encoded_inline_request() {
    let l = Limits::default();
    let mut p = RequestParser::new();
    let mut spans = Vec::new();
    let mut buf =
        BytesMut::from(&b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\nset  a \"b c\"\r\n*1\r\n$4\r\nPI"[..]);
    let f = p.parse_frame(&mut buf, &l, &mut spans).unwrap().unwrap();
    assert_eq!(&f[..], b"*2\r\n$3\r\nGET\r\n$1\r\nk\r\n");
    assert_eq!(spans, vec![(8, 11), (17, 18)]);
    let f = p.parse_frame(&mut buf, &l, &mut spans).unwrap().unwrap();
    assert_eq!(&f[..], b"*3\r\n$3\r\nset\r\n$1\r\na\r\n$3\r\nb c\r\n");
    assert_eq!(spans, vec![(8, 11), (17, 18), (24, 27)]);
    assert_eq!(p.parse_frame(&mut buf, &l, &mut spans), Ok(None));
    buf.extend_from_slice(b"NG\r\n\r\n*0\r\n");
    let f = p.parse_frame(&mut buf, &l, &mut spans).unwrap().unwrap();
    assert_eq!(&f[..], b"*1\r\n$4\r\nPING\r\n");
    // An empty line and an empty multibulk: empty requests, skipped by callers.
    assert!(p.parse_frame(&mut buf, &l, &mut spans).unwrap().is_some() && spans.is_empty());
    assert!(p.parse_frame(&mut buf, &l, &mut spans).unwrap().is_some() && spans.is_empty());
    assert!(buf.is_empty());
}

/// Regression: a bulk header line that is only "\r\n" (found by proptest) panicked
/// slicing an empty number; Redis reports the missing '$'.
#[test]
fn empty_bulk_header_line_is_expected_dollar() {
    assert_eq!(whole(b"*1\r\n\r\n"), err("expected '$', got '\r'"));
}

/// Redis finds line ends with `strchr`, so a NUL before the terminator hides it: the
/// request never completes and the size limit error comes at last (checked against
/// redis-server with a differential run of random inputs).
#[test]
fn nul_before_line_end_stalls_like_redis() {
    let l = Limits::default();
    assert_eq!(whole(b"ECHO a\0b\r\nPING\r\n"), Ok(vec![]));
    assert_eq!(whole(b"*1\0\r\n$4\r\nPING\r\n"), Ok(vec![]));
    assert_eq!(whole(b"*1\r\n$4\0\r\nPING\r\n"), Ok(vec![]));
    // A NUL inside a bulk payload is data, and after the '\r' it is not searched.
    assert_eq!(whole(b"*1\r\n$3\r\na\0c\r\n"), reqs(&[&[b"a\0c"]]));
    let mut stuck = b"PING \0".to_vec();
    stuck.extend(vec![b'\n'; 64 * 1024]);
    assert_eq!(feed(&stuck, 4096, &l).0, err("too big inline request"));
    let mut stuck = b"*1\r\n$\0".to_vec();
    stuck.extend(vec![b'\r'; 64 * 1024]);
    assert_eq!(feed(&stuck, 4096, &l).0, err("too big bulk count string"));
}
