//! Tests of the boundary scanner and the owned frame parser.

use super::*;
use crate::reply::{Proto, ReplyBuf};
use proptest::prelude::*;

fn len(b: &[u8]) -> Result<Option<usize>, ProtocolError> {
    value_len(b, &Limits::default())
}

#[test]
fn scalars() {
    for v in [
        &b"+OK\r\n"[..],
        b"-ERR x\r\n",
        b":-12\r\n",
        b"$-1\r\n",
        b"*-1\r\n",
        b"$0\r\n\r\n",
        b"$5\r\na\r\nbc\r\n",
        b"_\r\n",
        b",1.5\r\n",
        b",inf\r\n",
        b"#t\r\n",
        b"(-123456789012345678901234567890\r\n",
        b"=8\r\ntxt:abcd\r\n",
        b"!3\r\nERR\r\n",
        b"*0\r\n",
        b"%0\r\n",
        b"~0\r\n",
    ] {
        assert_eq!(
            len(v),
            Ok(Some(v.len())),
            "{:?}",
            String::from_utf8_lossy(v)
        );
        // Every strict prefix is incomplete, and trailing bytes are not counted.
        for cut in 0..v.len() {
            assert_eq!(len(&v[..cut]), Ok(None));
        }
        let mut more = v.to_vec();
        more.extend_from_slice(b"+next\r\n");
        assert_eq!(len(&more), Ok(Some(v.len())));
    }
}

#[test]
fn aggregates() {
    let nested = b"*3\r\n:1\r\n*2\r\n$1\r\na\r\n%1\r\n+k\r\n~1\r\n_\r\n>0\r\n";
    assert_eq!(len(nested), Ok(Some(nested.len())));
    for cut in 0..nested.len() {
        assert_eq!(len(&nested[..cut]), Ok(None));
    }
    // An attribute counts with the value it annotates, also inside an array.
    let attr = b"*2\r\n|1\r\n+key\r\n:7\r\n:1\r\n:2\r\n";
    assert_eq!(len(attr), Ok(Some(attr.len())));
    let top_attr = b"|1\r\n+a\r\n+b\r\n$1\r\nx\r\n";
    assert_eq!(len(top_attr), Ok(Some(top_attr.len())));
}

#[test]
fn malformed() {
    let bad = [
        &b"?x\r\n"[..],
        b":1x\r\n",
        b"$-2\r\n",
        b"!-1\r\n",
        b"$1\r\nab\r\n",
        b"*-2\r\n",
        b"~-1\r\n",
        b"#x\r\n",
        b"_x\r\n",
        b"+OK\n",
        b"(\r\n",
        b"(1a\r\n",
        b",\r\n",
        b",,\r\n",
        b",1.5x\r\n",
    ];
    for v in bad {
        assert!(len(v).is_err(), "{:?}", String::from_utf8_lossy(v));
    }
    assert_eq!(
        len(b"$536870913\r\n"),
        Err(ProtocolError("invalid bulk length".into()))
    );
}

#[test]
fn depth_is_bounded() {
    let deep = b"*1\r\n".repeat(MAX_DEPTH);
    let mut ok = deep.clone();
    ok.extend_from_slice(b":1\r\n");
    assert_eq!(len(&ok), Ok(Some(ok.len())));
    let mut too = b"*1\r\n".repeat(MAX_DEPTH + 1);
    too.extend_from_slice(b":1\r\n");
    assert_eq!(
        len(&too),
        Err(ProtocolError("reply nesting too deep".into()))
    );
    assert!(parse_frame(&too).is_err());
}

#[test]
fn long_lines_are_refused_early() {
    let limits = Limits {
        max_inline_len: 16,
        max_bulk_len: 32,
        ..Limits::default()
    };
    assert!(value_len(&[b'$'; 40], &limits).is_err());
    assert!(value_len(&[b'+'; 20], &limits).unwrap().is_none());
    assert!(value_len(&[b'+'; 40], &limits).is_err());
}

#[test]
fn resumable_scanner_matches_stateless() {
    let mut r = ReplyBuf::new(Proto::Resp3);
    r.array(3);
    r.bulk(&[b'x'; 1000]);
    r.map(2);
    r.bulk(b"a");
    r.double(1.5);
    r.bulk(b"b");
    r.null();
    r.set(1);
    r.bool(true);
    let bytes = r.as_bytes().to_vec();
    let mut s = Scanner::new();
    for end in 0..bytes.len() {
        assert_eq!(s.scan(&bytes[..end], &Limits::default()), Ok(None));
    }
    assert_eq!(s.scan(&bytes, &Limits::default()), Ok(Some(bytes.len())));
}

#[test]
fn frames() {
    let (f, n) = parse_frame(b"*4\r\n$3\r\nfoo\r\n:-5\r\n$-1\r\n%1\r\n+k\r\n,2.5\r\n!")
        .unwrap()
        .unwrap();
    assert_eq!(n, 37);
    assert_eq!(
        f,
        Frame::Array(vec![
            Frame::Bulk(Bytes::from_static(b"foo")),
            Frame::Integer(-5),
            Frame::Nil,
            Frame::Map(vec![(
                Frame::Simple(Bytes::from_static(b"k")),
                Frame::Double(2.5)
            )]),
        ])
    );
    assert_eq!(parse_frame(b"*2\r\n:1\r\n"), Ok(None));
    assert_eq!(
        parse_frame(b"|1\r\n+a\r\n#f\r\n*-1\r\n")
            .unwrap()
            .unwrap()
            .0,
        Frame::Attribute(
            vec![(Frame::Simple(Bytes::from_static(b"a")), Frame::Bool(false))],
            Box::new(Frame::NilArray)
        )
    );
    assert_eq!(
        parse_frame(b"=8\r\ntxt:abcd\r\n").unwrap().unwrap().0,
        Frame::Verbatim(Bytes::from_static(b"txt:abcd"))
    );
    assert_eq!(parse_frame(b"_\r\n").unwrap().unwrap().0, Frame::Null);
    assert_eq!(
        parse_frame(b",-inf\r\n").unwrap().unwrap().0,
        Frame::Double(f64::NEG_INFINITY)
    );
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(
        input in prop::collection::vec(
            prop_oneof![Just(b'*'), Just(b'$'), Just(b'%'), Just(b'|'), Just(b'\r'),
                        Just(b'\n'), Just(b'1'), Just(b'-'), Just(b'0'), any::<u8>()], 0..200),
    ) {
        let limits = Limits { max_inline_len: 32, max_bulk_len: 64, ..Limits::default() };
        let whole = value_len(&input, &limits);
        let _ = parse_frame(&input);
        // The resumable scanner fed growing prefixes agrees with one stateless call.
        let mut s = Scanner::new();
        let mut got = Ok(None);
        for end in 0..=input.len() {
            got = s.scan(&input[..end], &limits);
            if !matches!(got, Ok(None)) {
                break;
            }
        }
        if let Ok(Some(n)) = whole {
            prop_assert_eq!(got, Ok(Some(n)));
            prop_assert_eq!(parse_frame(&input).map(|f| f.map(|(_, used)| used)), Ok(Some(n)));
        }
    }
}
