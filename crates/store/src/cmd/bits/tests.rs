//! Bit command tests; expected replies were checked against redis-server 7.0.15.

use crate::cmd::string::testutil::T;

const WRONGTYPE: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";
const NOTINT: &str = "-ERR value is not an integer or out of range\r\n";
const SYNTAX: &str = "-ERR syntax error\r\n";
const BADOFF: &str = "-ERR bit offset is not an integer or out of range\r\n";

fn list_key(t: &mut T, key: &str) {
    use crate::types::list::List;
    use crate::value::Value;
    t.store.set_key(
        0,
        key.as_bytes(),
        Value::List(List::default()),
        false,
        t.now,
    );
}

#[test]
fn setbit_getbit() {
    let mut t = T::new();
    assert_eq!(t.cmd("SETBIT b 4294967296 1"), BADOFF);
    assert_eq!(t.cmd("SETBIT b -1 1"), BADOFF);
    assert_eq!(t.cmd("SETBIT b x 1"), BADOFF);
    assert_eq!(
        t.cmd("SETBIT b 7 2"),
        "-ERR bit is not an integer or out of range\r\n"
    );
    assert_eq!(
        t.cmd("SETBIT b 1 x"),
        "-ERR bit is not an integer or out of range\r\n"
    );
    assert_eq!(t.cmd("GETBIT b 4294967296"), BADOFF);
    assert_eq!(t.cmd("SETBIT nb 100 1"), ":0\r\n");
    assert_eq!(t.cmd("STRLEN nb"), ":13\r\n");
    assert_eq!(t.encoding("nb"), "raw");
    assert_eq!(t.cmd("SETBIT nb 100 0"), ":1\r\n");
    assert_eq!(t.cmd("SETBIT nb 1 1"), ":0\r\n");
    assert_eq!(t.cmd("GETBIT nb 1"), ":1\r\n");
    assert_eq!(t.cmd("GETBIT nb 0"), ":0\r\n");
    assert_eq!(t.cmd("GETBIT nb 100000"), ":0\r\n");
    assert_eq!(t.cmd("GETBIT nokey 0"), ":0\r\n");
    t.cmd("SET i 12");
    assert_eq!(t.cmd("GETBIT i 2"), ":1\r\n");
    assert_eq!(t.cmd("SETBIT i 0 1"), ":0\r\n");
    assert_eq!(t.encoding("i"), "raw");
    assert_eq!(t.cmd("GET i"), "$2\r\n\u{FFFD}2\r\n");
    list_key(&mut t, "l");
    assert_eq!(t.cmd("SETBIT l 0 1"), WRONGTYPE);
    assert_eq!(t.cmd("GETBIT l 0"), WRONGTYPE);
}

#[test]
fn bitcount() {
    let mut t = T::new();
    t.cmd("SET bb Hello");
    assert_eq!(t.cmd("BITCOUNT bb"), ":20\r\n");
    assert_eq!(t.cmd("BITCOUNT bb -10 -20"), ":0\r\n");
    assert_eq!(t.cmd("BITCOUNT bb 0"), SYNTAX);
    assert_eq!(t.cmd("BITCOUNT bb a b"), NOTINT);
    assert_eq!(t.cmd("BITCOUNT bb 0 -1 bits"), SYNTAX);
    assert_eq!(t.cmd("BITCOUNT bb 1 3 BIT"), ":1\r\n");
    assert_eq!(t.cmd("BITCOUNT bb 5 30 bit"), ":12\r\n");
    assert_eq!(t.cmd("BITCOUNT bb 0 0"), ":2\r\n");
    assert_eq!(t.cmd("BITCOUNT bb 1 1 byte"), ":4\r\n");
    assert_eq!(t.cmd("BITCOUNT bb -100 100"), ":20\r\n");
    assert_eq!(t.cmd("BITCOUNT nokey a b"), ":0\r\n");
    assert_eq!(t.cmd("BITCOUNT nokey 0"), ":0\r\n");
    t.run(&[b"SET", b"ff", b"\xff\xff"]);
    assert_eq!(t.cmd("BITCOUNT ff -1 -2"), ":0\r\n");
    assert_eq!(t.cmd("BITCOUNT ff 7 7 BIT"), ":1\r\n");
    assert_eq!(t.cmd("BITCOUNT ff 0 15 BIT"), ":16\r\n");
    list_key(&mut t, "l");
    assert_eq!(t.cmd("BITCOUNT l"), WRONGTYPE);
}

#[test]
fn bitpos() {
    let mut t = T::new();
    assert_eq!(t.cmd("BITPOS nokey 1 a"), ":-1\r\n");
    assert_eq!(t.cmd("BITPOS nokey 0 0 1 foo"), ":0\r\n");
    assert_eq!(
        t.cmd("BITPOS nokey 2"),
        "-ERR The bit argument must be 1 or 0.\r\n"
    );
    t.cmd("SET bb Hello");
    assert_eq!(t.cmd("BITPOS bb 1 a"), NOTINT);
    assert_eq!(t.cmd("BITPOS bb 1 0 1 foo"), SYNTAX);
    assert_eq!(t.cmd("BITPOS bb 1 0 1 bit 5"), SYNTAX);
    assert_eq!(t.cmd("BITPOS bb 0 1 3 bit"), ":2\r\n");
    assert_eq!(t.cmd("BITPOS bb 1 1 3 bit"), ":1\r\n");
    assert_eq!(t.cmd("BITPOS bb 1"), ":1\r\n");
    assert_eq!(t.cmd("BITPOS bb 1 1"), ":9\r\n");
    t.run(&[b"SET", b"z", b""]);
    assert_eq!(t.cmd("BITPOS z 0"), ":-1\r\n");
    assert_eq!(t.cmd("BITPOS z 1"), ":-1\r\n");
    t.run(&[b"SET", b"ff", b"\xff\xff"]);
    assert_eq!(t.cmd("BITPOS ff 0"), ":16\r\n");
    assert_eq!(t.cmd("BITPOS ff 0 0"), ":16\r\n");
    assert_eq!(t.cmd("BITPOS ff 0 0 -1"), ":-1\r\n");
    assert_eq!(t.cmd("BITPOS ff 0 0 -1 bit"), ":-1\r\n");
    assert_eq!(t.cmd("BITPOS ff 0 3 bit"), NOTINT);
    assert_eq!(t.cmd("BITPOS ff 0 1 bit"), NOTINT);
    assert_eq!(t.cmd("BITPOS ff 1 2"), ":-1\r\n");
    assert_eq!(t.cmd("BITPOS ff 0 2"), ":-1\r\n");
    assert_eq!(t.cmd("BITPOS ff 0 -1 -2"), ":-1\r\n");
    t.run(&[b"SET", b"p", b"\x00\x00\x01"]);
    assert_eq!(t.cmd("BITPOS p 1"), ":23\r\n");
    assert_eq!(t.cmd("BITPOS p 1 0 1"), ":-1\r\n");
    assert_eq!(t.cmd("BITPOS p 0 20 22 BIT"), ":20\r\n");
    list_key(&mut t, "l");
    assert_eq!(t.cmd("BITPOS l 1"), WRONGTYPE);
}

#[test]
fn bitop() {
    let mut t = T::new();
    t.cmd("SET a1 abc");
    t.cmd("SET a2 b");
    assert_eq!(t.cmd("BITOP and d a1 a2 nokey"), ":3\r\n");
    assert_eq!(t.cmd("GET d"), "$3\r\n\0\0\0\r\n");
    assert_eq!(t.cmd("BITOP or d a1 a2"), ":3\r\n");
    assert_eq!(t.cmd("GET d"), "$3\r\ncbc\r\n");
    assert_eq!(t.cmd("BITOP XOR d a1 a2"), ":3\r\n");
    assert_eq!(t.cmd("GET d"), "$3\r\n\x03bc\r\n");
    assert_eq!(t.cmd("BITOP not d a2"), ":1\r\n");
    assert_eq!(t.run(&[b"GETBIT", b"d", b"0"]), ":1\r\n");
    assert_eq!(t.encoding("d"), "raw");
    assert_eq!(t.cmd("BITOP not d nokey"), ":0\r\n");
    assert_eq!(t.cmd("GET d"), "$-1\r\n");
    assert_eq!(
        t.cmd("BITOP not d a b"),
        "-ERR BITOP NOT must be called with a single source key.\r\n"
    );
    assert_eq!(t.cmd("BITOP foo d a"), SYNTAX);
    list_key(&mut t, "l");
    assert_eq!(t.cmd("BITOP or d a1 l"), WRONGTYPE);
}

#[test]
fn bitfield() {
    let mut t = T::new();
    assert_eq!(
        t.cmd(
            "BITFIELD bf set u8 0 255 get u8 0 incrby u8 0 10 overflow sat incrby u8 0 300 \
               overflow fail incrby u8 0 1 get i8 0 set i8 8 -1 get u16 0 set u8 #2 -1"
        ),
        "*9\r\n:0\r\n:255\r\n:9\r\n:255\r\n$-1\r\n:-1\r\n:0\r\n:65535\r\n$-1\r\n"
    );
    assert_eq!(t.cmd("GET bf"), "$3\r\n\u{FFFD}\u{FFFD}\0\r\n");
    assert_eq!(
        t.cmd("BITFIELD bf set i64 0 -9223372036854775808 incrby i64 0 -1 overflow sat incrby i64 0 -1"),
        "*3\r\n:-281474976710656\r\n:9223372036854775807\r\n:9223372036854775806\r\n"
    );
    assert_eq!(
        t.cmd("BITFIELD bf get u63 1 get i1 0 get u1 0"),
        "*3\r\n:9223372036854775806\r\n:0\r\n:0\r\n"
    );
    assert_eq!(
        t.cmd("BITFIELD_RO bf get u8 0 get i4 100"),
        "*2\r\n:127\r\n:0\r\n"
    );
    assert_eq!(t.cmd("BITFIELD_RO nokey get u8 0"), "*1\r\n:0\r\n");
    assert_eq!(t.cmd("GET nokey"), "$-1\r\n");
    assert_eq!(
        t.cmd("BITFIELD nk2 overflow fail incrby u2 0 10"),
        "*1\r\n$-1\r\n"
    );
    assert_eq!(t.cmd("STRLEN nk2"), ":1\r\n");
    assert_eq!(t.cmd("BITFIELD nokey"), "*0\r\n");
    assert_eq!(
        t.cmd("BITFIELD_RO bf set u8 0 1"),
        "-ERR BITFIELD_RO only supports the GET subcommand\r\n"
    );
    assert_eq!(
        t.cmd("BITFIELD bf overflow foo get u8 0"),
        "-ERR Invalid OVERFLOW type specified\r\n"
    );
    let badtype = "-ERR Invalid bitfield type. Use something like i16 u8. Note that u64 is not supported but i64 is.\r\n";
    assert_eq!(t.cmd("BITFIELD bf get u64 0"), badtype);
    assert_eq!(t.cmd("BITFIELD bf get i65 0"), badtype);
    assert_eq!(t.cmd("BITFIELD bf get i0 0"), badtype);
    assert_eq!(t.cmd("BITFIELD bf get x8 0"), badtype);
    assert_eq!(t.cmd("BITFIELD bf get u8 4294967289"), "*1\r\n:0\r\n");
    assert_eq!(t.cmd("BITFIELD bf get u8 #536870911"), "*1\r\n:0\r\n");
    assert_eq!(t.cmd("BITFIELD bf get u8 #536870912"), BADOFF);
    assert_eq!(t.cmd("BITFIELD bf get u8 #-1"), BADOFF);
    assert_eq!(t.cmd("BITFIELD bf foo"), SYNTAX);
    assert_eq!(t.cmd("BITFIELD bf get u8"), SYNTAX);
    assert_eq!(t.cmd("BITFIELD bf set u8 0 x"), NOTINT);
    list_key(&mut t, "l");
    assert_eq!(t.cmd("BITFIELD l get u8 0"), WRONGTYPE);
    assert_eq!(t.cmd("BITFIELD l set u8 0 1"), WRONGTYPE);
}
