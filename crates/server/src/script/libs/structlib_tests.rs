//! `structlib` compared with redis-server 7.0.15 (the expected strings are its replies).

use super::super::testutil::check;

#[test]
fn struct_matches_redis() {
    check(&[
        (
            r#"return hex(struct.pack('>i<i!4bi>hHlLTfdxc', 1, 2, 3, 4, -5, 6, -7, 8, 9, 1.5, 2.5, 'q'))"#,
            r#"boolean:true | "00000001020000000300000004000000fffb0006fffffffffffffff9000000000000000800000000000000093fc0000040040000000000000071""#,
        ),
        (
            r#"return {hex(struct.pack('<L', 2^64)), hex(struct.pack('<L', 2^70)), hex(struct.pack('<L', 0/0)), hex(struct.pack('<l', 0/0)), hex(struct.pack('<l', -2^70)), hex(struct.pack('<L', 2^63)), hex(struct.pack('<L', 2^63+2^12)), hex(struct.pack('<L', 1/0)), hex(struct.pack('<L', -1/0)), hex(struct.pack('<L', -1)), hex(struct.pack('>l', -2))}"#,
            r#"boolean:true | {10="ffffffffffffffff",11="fffffffffffffffe",1="0000000000000000",2="0000000000000000",3="0000000000000080",4="0000000000000080",5="0000000000000080",6="0000000000000080",7="0010000000000080",8="0000000000000000",9="0000000000000080"}"#,
        ),
        (
            r#"return {hex(struct.pack('<i16', -1)), hex(struct.pack('>i16', -1)), hex(struct.pack('<i3', -2)), hex(struct.pack('<i0', 5)), hex(struct.pack('<b', 300.7)), hex(struct.pack('<b', -300.7)), hex(struct.pack('>I32', 2^40+5))}"#,
            r#"boolean:true | {1="ffffffffffffffff0000000000000000",2="0000000000000000ffffffffffffffff",3="feffff",4="",5="2c",6="d4",7="0000000000000000000000000000000000000000000000000000010000000005"}"#,
        ),
        (
            r#"return hex(struct.pack('c5', 'ab'))"#,
            r#"boolean:false | "user_script:2: bad argument #3 to 'pack' (string too short)""#,
        ),
        (
            r#"return hex(struct.pack('c2', 'abcd'))"#,
            r#"boolean:true | "6162""#,
        ),
        (
            r#"return hex(struct.pack('c0s', 'abcd', 'xy'))"#,
            r#"boolean:true | "61626364787900""#,
        ),
        (
            r#"return hex(struct.pack('s5', 'ab'))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'pack' (invalid format option '5')""#,
        ),
        (
            r#"return hex(struct.pack('z', 1))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'pack' (invalid format option 'z')""#,
        ),
        (
            r#"return hex(struct.pack('i33', 1))"#,
            r#"boolean:false | "user_script:2: integral size 33 is larger than limit of 32""#,
        ),
        (
            r#"return hex(struct.pack('!3i', 1))"#,
            r#"boolean:false | "user_script:2: alignment 3 is not a power of 2""#,
        ),
        (
            r#"return hex(struct.pack('!0i', 1))"#,
            r#"boolean:false | "user_script:2: alignment 0 is not a power of 2""#,
        ),
        (
            r#"return hex(struct.pack('!i', 1))"#,
            r#"boolean:true | "01000000""#,
        ),
        (r#"return hex(struct.pack('!', 1))"#, r#"boolean:true | """#),
        (
            r#"return hex(struct.pack('!2bi!8bd', 1, 2, 3, 4))"#,
            r#"boolean:true | "01000200000003000000000000001040""#,
        ),
        (
            r#"return hex(struct.pack('!4bi3h', 1, 2, 3))"#,
            r#"boolean:true | "0100000200000300""#,
        ),
        (
            r#"return hex(struct.pack('!8bi3bi5bI7', 1, 2, 3, 4, 5, 6))"#,
            r#"boolean:true | "01000002000003040000000005000006000000000000""#,
        ),
        (
            r#"return hex(struct.pack('i99999999999', 1))"#,
            r#"boolean:false | "user_script:2: integral size overflow""#,
        ),
        (
            r#"return hex(struct.pack('c2147483647', 'x'))"#,
            r#"boolean:false | "user_script:2: bad argument #3 to 'pack' (string too short)""#,
        ),
        (
            r#"return hex(struct.pack('c2147483648', 'x'))"#,
            r#"boolean:false | "user_script:2: integral size overflow""#,
        ),
        (
            r#"return hex(struct.pack('i', 'x'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'pack' (number expected, got string)""#,
        ),
        (
            r#"return hex(struct.pack('i', '12'))"#,
            r#"boolean:true | "0c000000""#,
        ),
        (
            r#"return hex(struct.pack('i'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'pack' (number expected, got nil)""#,
        ),
        (
            r#"return hex(struct.pack('ii', 1))"#,
            r#"boolean:false | "user_script:2: bad argument #3 to 'pack' (number expected, got nil)""#,
        ),
        (
            r#"return hex(struct.pack('cc', 'a'))"#,
            r#"boolean:false | "user_script:2: bad argument #3 to 'pack' (string expected, got nil)""#,
        ),
        (
            r#"return hex(struct.pack())"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'pack' (string expected, got no value)""#,
        ),
        (
            r#"return hex(struct.pack(nil))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'pack' (string expected, got nil)""#,
        ),
        (
            r#"return hex(struct.pack(12, 1, 2))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'pack' (invalid format option '1')""#,
        ),
        (
            r#"return hex(struct.pack('i\0i', 1, 2))"#,
            r#"boolean:true | "01000000""#,
        ),
        (
            r#"return hex(struct.pack(' < i ', 1))"#,
            r#"boolean:true | "01000000""#,
        ),
        (
            r#"return hex(struct.pack('s', 12))"#,
            r#"boolean:true | "313200""#,
        ),
        (
            r#"return hex(struct.pack('c', {}))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'pack' (string expected, got table)""#,
        ),
        (
            r#"return hex(struct.pack('f', 0.1))"#,
            r#"boolean:true | "cdcccc3d""#,
        ),
        (
            r#"return hex(struct.pack('>f>d', 1/0, 0/0))"#,
            r#"boolean:true | "7f800000fff8000000000000""#,
        ),
        (
            r#"return hex(struct.pack('<f', 1e300))"#,
            r#"boolean:true | "0000807f""#,
        ),
        (
            r#"return hex(struct.pack('bx', 1, 2))"#,
            r#"boolean:true | "0100""#,
        ),
        (
            r#"return hex(struct.pack('xi', 1))"#,
            r#"boolean:true | "0001000000""#,
        ),
        (
            r#"return hex(struct.pack('!4xi', 1))"#,
            r#"boolean:true | "0000000001000000""#,
        ),
        (
            r#"return hex(struct.pack('b!4T', 1, 2))"#,
            r#"boolean:true | "010000000200000000000000""#,
        ),
        (
            r#"return hex(struct.pack('\255', 1))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'pack' (invalid format option '\255')""#,
        ),
        (
            r#"return all(struct.unpack('>i<i!4bi>hHlLTfdxc', unhex('00000001020000000300000004000000fffb0006fffffffffffffff9000000000000000800000000000000093fc0000040040000000000000071')))"#,
            r#"boolean:true | "13 number:1 number:2 number:3 number:4 number:-5 number:6 number:-7 number:8 number:9 number:1.5 number:2.5 \34q\34 number:59""#,
        ),
        (
            r#"return all(struct.unpack('<i16', unhex('ffffffffffffffff0000000000000000')))"#,
            r#"boolean:true | "2 number:-1 number:17""#,
        ),
        (
            r#"return all(struct.unpack('>i16', unhex('0000000000000000ffffffffffffffff')))"#,
            r#"boolean:true | "2 number:-1 number:17""#,
        ),
        (
            r#"return all(struct.unpack('<I16', unhex('ffffffffffffffff0000000000000000')))"#,
            r#"boolean:true | "2 number:1.844674407371e+19 number:17""#,
        ),
        (
            r#"return all(struct.unpack('<i16', unhex('00000000000000000000000000000080')))"#,
            r#"boolean:true | "2 number:0 number:17""#,
        ),
        (
            r#"return all(struct.unpack('<i3I3', unhex('feffff') .. unhex('feffff')))"#,
            r#"boolean:true | "3 number:-2 number:16777214 number:7""#,
        ),
        (
            r#"return all(struct.unpack('>i3I3i1i2', unhex('fffffe') .. unhex('fffffe') .. 'ab'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('<i0', ''))"#,
            r#"boolean:true | "2 number:0 number:1""#,
        ),
        (
            r#"return all(struct.unpack('<I0', 'abc'))"#,
            r#"boolean:true | "2 number:0 number:1""#,
        ),
        (
            r#"return all(struct.unpack('<L', unhex('ffffffffffffffff')))"#,
            r#"boolean:true | "2 number:1.844674407371e+19 number:9""#,
        ),
        (
            r#"return all(struct.unpack('<l', unhex('0000000000000080')))"#,
            r#"boolean:true | "2 number:-9.2233720368548e+18 number:9""#,
        ),
        (
            r#"return all(struct.unpack('i', 'abc'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('i', 'abcd', 2))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('i', 'abcdefgh', 2))"#,
            r#"boolean:true | "2 number:1701077858 number:6""#,
        ),
        (
            r#"return all(struct.unpack('b', 'abc', 0))"#,
            r#"boolean:false | "user_script:2: bad argument #3 to 'unpack' (offset must be 1 or greater)""#,
        ),
        (
            r#"return all(struct.unpack('b', 'abc', -1))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('b', 'abc', 4))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('b', 'abc', 3))"#,
            r#"boolean:true | "2 number:99 number:4""#,
        ),
        (
            r#"return all(struct.unpack('', 'abc', 4))"#,
            r#"boolean:true | "1 number:4""#,
        ),
        (
            r#"return all(struct.unpack('', 'abc', 5))"#,
            r#"boolean:true | "1 number:5""#,
        ),
        (
            r#"return all(struct.unpack('<', 'abc', 5))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('<', 'abc', 4))"#,
            r#"boolean:true | "1 number:4""#,
        ),
        (
            r#"return all(struct.unpack('x', 'abc', 4))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('b', 'abc', 'x'))"#,
            r#"boolean:false | "user_script:2: bad argument #3 to 'unpack' (number expected, got string)""#,
        ),
        (
            r#"return all(struct.unpack('b', 'abc', nil))"#,
            r#"boolean:true | "2 number:97 number:2""#,
        ),
        (
            r#"return all(struct.unpack('b', 'abc', 2.9))"#,
            r#"boolean:true | "2 number:98 number:3""#,
        ),
        (
            r#"return all(struct.unpack('b', 'abc', 2^64))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('s', 'ab\0cd\0'))"#,
            r#"boolean:true | "2 \34ab\34 number:4""#,
        ),
        (
            r#"return all(struct.unpack('ss', 'ab\0cd'))"#,
            r#"boolean:false | "user_script:2: unfinished string in data""#,
        ),
        (
            r#"return all(struct.unpack('s', 'abc', 4))"#,
            r#"boolean:false | "user_script:2: unfinished string in data""#,
        ),
        (
            r#"return all(struct.unpack('bc0', '\3abcdef'))"#,
            r#"boolean:true | "2 \34abc\34 number:5""#,
        ),
        (
            r#"return all(struct.unpack('c0', 'abcdef'))"#,
            r#"boolean:false | "user_script:2: format 'c0' needs a previous size""#,
        ),
        (
            r#"return all(struct.unpack('bc0', '\9abc'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('xc0', 'abc'))"#,
            r#"boolean:false | "user_script:2: format 'c0' needs a previous size""#,
        ),
        (
            r#"return all(struct.unpack('c1c0', '2abc'))"#,
            r#"boolean:true | "2 \34ab\34 number:4""#,
        ),
        (
            r#"return all(struct.unpack('c1c0', 'xabc'))"#,
            r#"boolean:false | "user_script:2: format 'c0' needs a previous size""#,
        ),
        (
            r#"return all(struct.unpack('bc0', '\255abc'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('bc0', '\0abc'))"#,
            r#"boolean:true | "2 \34\34 number:2""#,
        ),
        (
            r#"return all(struct.unpack('c2c', 'abc'))"#,
            r#"boolean:true | "3 \34ab\34 \34c\34 number:4""#,
        ),
        (
            r#"return all(struct.unpack('c4', 'abc'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('!4bi', unhex('0100000002000000')))"#,
            r#"boolean:true | "3 number:1 number:2 number:9""#,
        ),
        (
            r#"return all(struct.unpack('!4bi', unhex('01000000020000')))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (data string too short)""#,
        ),
        (
            r#"return all(struct.unpack('z', 'abc'))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'unpack' (invalid format option 'z')""#,
        ),
        (
            r#"return all(struct.unpack('f>d', unhex('cdcccc3d3ff0000000000000')))"#,
            r#"boolean:true | "3 number:0.10000000149012 number:1 number:13""#,
        ),
        (
            r#"return all(struct.unpack('b'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack' (string expected, got no value)""#,
        ),
        (
            r#"return all(struct.unpack({}, 'a'))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'unpack' (string expected, got table)""#,
        ),
        (
            r#"return all(struct.unpack('b', 12))"#,
            r#"boolean:true | "2 number:49 number:2""#,
        ),
        (
            r#"return all(struct.unpack('b', 'a', 1, 'junk'))"#,
            r#"boolean:true | "2 number:97 number:2""#,
        ),
        (
            r#"return all(struct.unpack(string.rep('b', 8100), string.rep('a', 8100)))"#,
            r#"boolean:false | "user_script:2: stack overflow (too many results)""#,
        ),
        (
            r#"return select('#', struct.unpack(string.rep('b', 7997), string.rep('a', 8100)))"#,
            r#"boolean:true | number:7998"#,
        ),
        (
            r#"return select('#', struct.unpack(string.rep('b', 7996), string.rep('a', 8100), 1))"#,
            r#"boolean:true | number:7997"#,
        ),
        (
            r#"return all(struct.unpack(string.rep('b', 7997), string.rep('a', 8100), 1))"#,
            r#"boolean:false | "user_script:2: stack overflow (too many results)""#,
        ),
        (
            r#"return select('#', struct.unpack(string.rep('c1', 7997), string.rep('a', 8100)))"#,
            r#"boolean:true | number:7998"#,
        ),
        (
            r#"return all(struct.size('>i<i!4bi>hHlLTfdxc'))"#,
            r#"boolean:true | "1 number:58""#,
        ),
        (
            r#"return all(struct.size('s'))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'size' (option 's' has no fixed size)""#,
        ),
        (
            r#"return all(struct.size('c0'))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'size' (option 'c0' has no fixed size)""#,
        ),
        (
            r#"return all(struct.size('c'))"#,
            r#"boolean:true | "1 number:1""#,
        ),
        (
            r#"return all(struct.size('c9'))"#,
            r#"boolean:true | "1 number:9""#,
        ),
        (
            r#"return all(struct.size('z'))"#,
            r#"boolean:true | "1 number:0""#,
        ),
        (
            r#"return all(struct.size('i33'))"#,
            r#"boolean:false | "user_script:2: integral size 33 is larger than limit of 32""#,
        ),
        (
            r#"return all(struct.size('!3'))"#,
            r#"boolean:false | "user_script:2: alignment 3 is not a power of 2""#,
        ),
        (
            r#"return all(struct.size('!8bd'))"#,
            r#"boolean:true | "1 number:16""#,
        ),
        (
            r#"return all(struct.size('&'))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'size' (invalid format option '&')""#,
        ),
        (
            r#"return all(struct.size(12))"#,
            r#"boolean:true | "1 number:0""#,
        ),
        (
            r#"return all(struct.size())"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'size' (string expected, got no value)""#,
        ),
        (
            r#"return all(struct.size('bi'))"#,
            r#"boolean:true | "1 number:5""#,
        ),
        (
            r#"return all(struct.size('!bi'))"#,
            r#"boolean:true | "1 number:8""#,
        ),
        (
            r#"return all(struct.size('!4bi3hi5'))"#,
            r#"boolean:true | "1 number:13""#,
        ),
        (
            r#"return all(struct.size('i0'))"#,
            r#"boolean:true | "1 number:0""#,
        ),
        (
            r#"return all(struct.size('bs'))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'size' (option 's' has no fixed size)""#,
        ),
        (
            r#"return all(struct.size('<>! '))"#,
            r#"boolean:true | "1 number:0""#,
        ),
        (
            r#"return all(struct.size('\255'))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'size' (invalid format option '\255')""#,
        ),
    ]);
}
