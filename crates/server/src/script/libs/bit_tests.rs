//! `bit` compared with redis-server 7.0.15 (the expected strings are its replies).

use super::super::testutil::check;

#[test]
fn bit_matches_redis() {
    check(&[
        (
            r#"return {bit.tobit(0xffffffff), bit.tobit(2^32+5), bit.tobit(-1), bit.tobit(1.5), bit.tobit(2.5), bit.tobit(-1.5), bit.tobit(2^53), bit.tobit(1e300), bit.tobit(0/0), bit.tobit(1/0), bit.tobit(-2^31), bit.tobit('0x10'), bit.tobit(' 7 ')}"#,
            r#"boolean:true | {10=number:0,11=number:-2147483648,12=number:16,13=number:7,1=number:-1,2=number:5,3=number:-1,4=number:2,5=number:2,6=number:-2,7=number:0,8=number:-2013235812,9=number:0}"#,
        ),
        (
            r#"return {bit.tohex(1), bit.tohex(-1), bit.tohex(255, 2), bit.tohex(255, -2), bit.tohex(0x12345678, 20), bit.tohex(0x12345678, -20), bit.tohex(5, 0), bit.tohex(65535, 3.7)}"#,
            r#"boolean:true | {1="00000001",2="ffffffff",3="ff",4="FF",5="12345678",6="12345678",7="",8="ffff"}"#,
        ),
        (
            r#"return {bit.tohex(0xabcdef12, 2^31), bit.tohex(0xabcdef12, -2^31), bit.tohex(0xabcdef12, 2^31-1), bit.tohex(0xabcdef12, -(2^31-1)), bit.tohex(0xabcdef12, -8), bit.tohex(0xabcdef12, 9),bit.tohex(0xabcdef12, -9), bit.tohex(0xabcdef12, 2^32-3)}"#,
            r#"boolean:true | {1="ABCDEF12",2="ABCDEF12",3="abcdef12",4="ABCDEF12",5="ABCDEF12",6="abcdef12",7="ABCDEF12",8="F12"}"#,
        ),
        (
            r#"return {bit.bnot(0), bit.band(0xff, 0x0f, 0x3), bit.bor(1,2,4,8), bit.bxor(0xff, 0x0f), bit.band(5), bit.bxor(1,2,3,4,5,6,7)}"#,
            r#"boolean:true | {1=number:-1,2=number:3,3=number:15,4=number:240,5=number:5,6=number:0}"#,
        ),
        (
            r#"return {bit.lshift(1, 31), bit.lshift(1, 32), bit.lshift(1, 33), bit.rshift(-1, 28), bit.arshift(-256, 4), bit.rol(0x12345678, 4), bit.ror(0x12345678, 4), bit.rol(1, 0), bit.ror(1,-1), bit.bswap(0x12345678), bit.lshift(1,-1), bit.arshift(0x80000000, 31), bit.rshift(0x80000000, 31)}"#,
            r#"boolean:true | {10=number:2018915346,11=number:-2147483648,12=number:-1,13=number:1,1=number:-2147483648,2=number:1,3=number:2,4=number:15,5=number:-16,6=number:591751041,7=number:-2128394905,8=number:1,9=number:2}"#,
        ),
        (
            r#"return bit.band(1, 'a', {})"#,
            r#"boolean:false | "user_script:2: bad argument #3 to 'band' (number expected, got table)""#,
        ),
        (
            r#"return bit.band()"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'band' (number expected, got no value)""#,
        ),
        (
            r#"return bit.tohex(1, nil)"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'tohex' (number expected, got nil)""#,
        ),
        (
            r#"return bit.tohex()"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'tohex' (number expected, got no value)""#,
        ),
        (
            r#"return bit.lshift(1)"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'lshift' (number expected, got no value)""#,
        ),
        (
            r#"return bit.tobit(true)"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'tobit' (number expected, got boolean)""#,
        ),
        (r#"return bit.tobit(1, {})"#, r#"boolean:true | number:1"#),
        (
            r#"return bit.bnot('z')"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'bnot' (number expected, got string)""#,
        ),
        (
            r#"return bit:tobit()"#,
            r#"boolean:false | "user_script:2: calling 'tobit' on bad self (number expected, got table)""#,
        ),
        (
            r#"return bit:band(1)"#,
            r#"boolean:false | "user_script:2: calling 'band' on bad self (number expected, got table)""#,
        ),
        (
            r#"return {pcall(bit.tobit, 'x')}"#,
            r#"boolean:true | {1=boolean:false,2="bad argument #1 to '?' (number expected, got string)"}"#,
        ),
        (
            r#"return {pcall(bit.bor, 1, nil)}"#,
            r#"boolean:true | {1=boolean:false,2="bad argument #2 to '?' (number expected, got nil)"}"#,
        ),
        (
            r#"return bit.tobit('1e3') + bit.tobit('  12  ')"#,
            r#"boolean:true | number:1012"#,
        ),
        (
            r#"return bit.tobit('12a')"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'tobit' (number expected, got string)""#,
        ),
        (
            r#"local f = bit.bxor return f(1, 2, 'q')"#,
            r#"boolean:false | "user_script:2: bad argument #3 to 'f' (number expected, got string)""#,
        ),
        (
            r#"return bit.tobit(cjson.null)"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'tobit' (number expected, got userdata)""#,
        ),
        (
            r#"return {bit.tobit(-0.5), bit.tobit(0.5), bit.tobit(1.5), bit.tobit(-2^31-0.5), bit.tobit(2^31), bit.tobit(-2^52), bit.tobit(2^52+1), bit.tobit(4503599627370495.5)}"#,
            r#"boolean:true | {1=number:0,2=number:0,3=number:2,4=number:-2147483648,5=number:-2147483648,6=number:0,7=number:0,8=number:0}"#,
        ),
        (
            r#"return select('#', bit.tobit(1, 2, 3))"#,
            r#"boolean:true | number:1"#,
        ),
        (r#"return bit.tohex(0x1f, '3')"#, r#"boolean:true | "01f""#),
        (
            r#"return bit.tobit('0x')"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'tobit' (number expected, got string)""#,
        ),
        (
            r#"return bit.tobit('1e')"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'tobit' (number expected, got string)""#,
        ),
        (r#"return bit.tobit('\t5\n')"#, r#"boolean:true | number:5"#),
        (r#"return type(bit.tobit(5))"#, r#"boolean:true | "number""#),
    ]);
}
