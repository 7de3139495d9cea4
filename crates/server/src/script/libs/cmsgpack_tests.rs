//! `cmsgpack` compared with redis-server 7.0.15 (the expected strings are its replies).

use super::super::testutil::check;

#[test]
fn cmsgpack_matches_redis() {
    check(&[
        (
            r#"return hex(cmsgpack.pack(1, -1, 127, 128, 255, 256, 65535, 65536, 2^32-1, 2^32, -32, -33, -128, -129, -32768, -32769, -2^31, -2^31-1, 2^63, -2^63, 2^53, 2^64, -2^64, 1e300))"#,
            r#"boolean:true | "01ff7fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000e0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffffca5f000000d38000000000000000cf0020000000000000ca5f800000cadf800000cb7e37e43c8800759c""#,
        ),
        (
            r#"return hex(cmsgpack.pack(0.5, 0.1, 1/0, -1/0, 0/0, 1e300, -0.0, 1.5, -(0/0), 3.4e38, 3.5e38, 1e-45, 2^-149))"#,
            r#"boolean:true | "ca3f000000cb3fb999999999999aca7f800000caff800000cbfff8000000000000cb7e37e43c8800759c00ca3fc00000cb7ff8000000000000cb47eff933c78cdfadcb47f074f8c4d3cd7bcb3696d601ad376ab9ca00000001""#,
        ),
        (
            r#"return hex(cmsgpack.pack('', 'abc', string.rep('x', 31), string.rep('x', 32)))"#,
            r#"boolean:true | "a0a3616263bf78787878787878787878787878787878787878787878787878787878787878d9207878787878787878787878787878787878787878787878787878787878787878""#,
        ),
        (
            r#"return hex(cmsgpack.pack(string.rep('x', 255))):sub(1,8) .. hex(cmsgpack.pack(string.rep('x', 256))):sub(1,8) .. hex(cmsgpack.pack(string.rep('x', 65535))):sub(1,8) .. hex(cmsgpack.pack(string.rep('x', 65536))):sub(1,12)"#,
            r#"boolean:true | "d9ff7878da010078daffff78db0001000078""#,
        ),
        (
            r#"return hex(cmsgpack.pack(true, false, nil, cjson.null))"#,
            r#"boolean:true | "c3c2c0c0""#,
        ),
        (
            r#"return hex(cmsgpack.pack({}, {1,2,3}, {a=1}, {1,nil,3}, {[1]=1,[3]=3}, {[0]=1}, {1.5}, {[1.5]=1}, {[2^31]=1}, {[1/0]=1}))"#,
            r#"boolean:true | "909301020381a161018201010303820101030381000191ca3fc0000081ca3fc000000181ce800000000181ca7f80000001""#,
        ),
        (
            r#"local t={} t[1]=t return hex(cmsgpack.pack(t))"#,
            r#"boolean:true | "91919191919191919191919191919191c0""#,
        ),
        (
            r#"local t={} t.a=t return hex(cmsgpack.pack(t))"#,
            r#"boolean:true | "81a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a16181a161c0""#,
        ),
        (
            r#"local t={} t[t]=1 return hex(cmsgpack.pack(t))"#,
            r#"boolean:true | "81818181818181818181818181818181c001010101010101010101010101010101""#,
        ),
        (
            r#"return hex(cmsgpack.pack(function() end, coroutine.create(function() end)))"#,
            r#"boolean:true | "c0c0""#,
        ),
        (
            r#"return cmsgpack.pack()"#,
            r#"boolean:false | "user_script:2: bad argument #0 to 'pack' (MessagePack pack needs input.)""#,
        ),
        (
            r#"local t = {} for i=1,16 do t[i]=i end local m={} for i=1,16 do m['k'..i]=i end return {hex(cmsgpack.pack(t)), hex(cmsgpack.pack(m))}"#,
            r#"boolean:true | {1="dc00100102030405060708090a0b0c0d0e0f10",2="de0010a36b31320ca36b313610a26b3909a26b3808a26b3101a36b31350fa26b3303a26b3202a36b31340ea36b31330da36b31300aa36b31310ba26b3606a26b3707a26b3404a26b3505"}"#,
        ),
        (
            r#"local t = {} for i=1,70000 do t[i]=i%200 end local s = cmsgpack.pack(t) return {#s, hex(s:sub(1,10))}"#,
            r#"boolean:true | {1=number:95205,2="dd000111700102030405"}"#,
        ),
        (
            r#"local m = {} for i=1,70000 do m['k'..i]=i end local s = cmsgpack.pack(m) return {#s, hex(s:sub(1,10))}"#,
            r#"boolean:true | {1=number:697447,2="df00011170a66b333731"}"#,
        ),
        (
            r#"local t = {a={b={c={1,2,{d='e'}}}}, x=true, [5]=false, [-1]=0.25} return hex(cmsgpack.pack(t))"#,
            r#"boolean:true | "84a16181a16281a16393010281a164a165a178c3ffca3e80000005c2""#,
        ),
        (
            r#"return select('#', cmsgpack.pack(1,2,3))"#,
            r#"boolean:true | number:1"#,
        ),
        (
            r#"local args = {} for i=1,4000 do args[i]='s'..i end return #cmsgpack.pack(unpack(args))"#,
            r#"boolean:true | number:22893"#,
        ),
        (
            r#"local args = {} for i=1,4001 do args[i]='s'..i end return #cmsgpack.pack(unpack(args))"#,
            r#"boolean:false | "user_script:2: bad argument #0 to 'pack' (Too many arguments for MessagePack pack.)""#,
        ),
        (
            r#"local args = {} for i=1,3990 do args[i]=i end args[3990] = {{{{{{{{{{{{{{{{{{1}}}}}}}}}}}}}}}}}} return #cmsgpack.pack(unpack(args))"#,
            r#"boolean:true | number:11602"#,
        ),
        (
            r#"local args = {} for i=1,3999 do args[i]=i end args[3999] = {{{{1}}}} return #cmsgpack.pack(unpack(args))"#,
            r#"boolean:false | "user_script:2: stack overflow (in function table_is_an_array)""#,
        ),
        (
            r#"local args = {} for i=1,3999 do args[i]=i end args[3999] = {a={b=1}} return #cmsgpack.pack(unpack(args))"#,
            r#"boolean:false | "user_script:2: stack overflow (in function mp_encode_lua_table_as_map)""#,
        ),
        (
            r#"local args = {} for i=1,3998 do args[i]=i end args[1] = {a={b=1}} return #cmsgpack.pack(unpack(args))"#,
            r#"boolean:true | number:11618"#,
        ),
        (
            r#"local args = {} for i=1,4000 do args[i]=i end args[4000] = {1} return #cmsgpack.pack(unpack(args))"#,
            r#"boolean:false | "user_script:2: stack overflow (in function table_is_an_array)""#,
        ),
        (
            r#"local args = {} for i=1,4000 do args[i]=i end args[4000] = {a=1} return #cmsgpack.pack(unpack(args))"#,
            r#"boolean:false | "user_script:2: stack overflow (in function table_is_an_array)""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('01ff7fcc80ccffcd0100cdffffce00010000ceffffffffcf0000000100000000e0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ffffffff7fffffff')))"#,
            r#"boolean:true | "18 number:1 number:-1 number:127 number:128 number:255 number:256 number:65535 number:65536 number:4294967295 number:4294967296 number:-32 number:-33 number:-128 number:-129 number:-32768 number:-32769 number:-2147483648 number:-2147483649""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('ca3f000000cb3fb999999999999aca7f800000caff800000cbfff8000000000000c3c2c0a3616263')))"#,
            r#"boolean:true | "9 number:0.5 number:0.1 number:inf number:-inf number:-nan boolean:true boolean:false nil:nil \34abc\34""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('9301020381a16101820101030391c0810102')))"#,
            r#"boolean:true | "5 {1=number:1,2=number:2,3=number:3} {a=number:1} {1=number:1,3=number:3} {} {1=number:2}""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('81c001')))"#,
            r#"boolean:false | "table index is nil""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('92c001')))"#,
            r#"boolean:true | "1 {2=number:1}""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('cc')))"#,
            r#"boolean:false | "user_script:2: Missing bytes in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('c1')))"#,
            r#"boolean:false | "user_script:2: Bad data format in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('c4016100')))"#,
            r#"boolean:false | "user_script:2: Bad data format in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('d40100')))"#,
            r#"boolean:false | "user_script:2: Bad data format in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(''))"#,
            r#"boolean:true | "0 ""#,
        ),
        (
            r#"return all(cmsgpack.unpack())"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'unpack' (string expected, got no value)""#,
        ),
        (
            r#"return all(cmsgpack.unpack(123))"#,
            r#"boolean:true | "3 number:49 number:50 number:51""#,
        ),
        (
            r#"return all(cmsgpack.unpack({}))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'unpack' (string expected, got table)""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203')))"#,
            r#"boolean:true | "2 number:1 number:1""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), 1))"#,
            r#"boolean:true | "2 number:2 number:2""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), 2))"#,
            r#"boolean:true | "2 number:-1 number:3""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), 3))"#,
            r#"boolean:true | "1 number:-1""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), 4))"#,
            r#"boolean:false | "user_script:2: Start offset 4 greater than input length 3.""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), -1))"#,
            r#"boolean:false | "user_script:2: Invalid request to unpack with offset of -1 and limit of 3.""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203'), 2))"#,
            r#"boolean:true | "3 number:2 number:1 number:2""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203'), 2, 2))"#,
            r#"boolean:true | "2 number:-1 number:3""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203'), 0))"#,
            r#"boolean:true | "3 number:1 number:2 number:3""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203'), 0, 1))"#,
            r#"boolean:true | "1 number:1""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203'), 5, 1))"#,
            r#"boolean:true | "3 number:-1 number:2 number:3""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203'), -1))"#,
            r#"boolean:false | "user_script:2: Invalid request to unpack with offset of 0 and limit of 3.""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203'), 1, -5))"#,
            r#"boolean:false | "user_script:2: Invalid request to unpack with offset of -5 and limit of 3.""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203')))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack_limit' (number expected, got no value)""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203'), 'x'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack_limit' (number expected, got string)""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit({}, 'x'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack_limit' (number expected, got string)""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit({}, 1))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'unpack_limit' (string expected, got table)""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), 'x'))"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'unpack_one' (number expected, got string)""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('91'), 0))"#,
            r#"boolean:false | "user_script:2: Missing bytes in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('0191'), 0))"#,
            r#"boolean:true | "2 number:1 number:1""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one({}, 0))"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'unpack_one' (string expected, got table)""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one())"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'unpack_one' (string expected, got no value)""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), 1.7))"#,
            r#"boolean:true | "2 number:2 number:2""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), '1'))"#,
            r#"boolean:true | "2 number:2 number:2""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), nil))"#,
            r#"boolean:true | "2 number:1 number:1""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), 0, 'junk'))"#,
            r#"boolean:true | "2 number:1 number:1""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('010203'), 1, nil, 'junk'))"#,
            r#"boolean:true | "2 number:1 number:1""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('0102'), 'junk'))"#,
            r#"boolean:true | "2 number:1 number:2""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), 2^32+1))"#,
            r#"boolean:false | "user_script:2: Start offset 1 greater than input length 3.""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one(unhex('010203'), 2^32+3))"#,
            r#"boolean:false | "user_script:2: Start offset 3 greater than input length 3.""#,
        ),
        (
            r#"return all(cmsgpack.unpack_one('', 0))"#,
            r#"boolean:true | "1 number:-1""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit('', 1))"#,
            r#"boolean:true | "1 number:-1""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('0102'), 2^31-1))"#,
            r#"boolean:true | "3 number:-1 number:1 number:2""#,
        ),
        (
            r#"return all(cmsgpack.unpack_limit(unhex('0102'), 2^40))"#,
            r#"boolean:true | "3 number:-1 number:1 number:2""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('dc0002c0c3')))"#,
            r#"boolean:true | "1 {2=boolean:true}""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('de0001a1610a')))"#,
            r#"boolean:true | "1 {a=number:10}""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('dd00000001c3')))"#,
            r#"boolean:true | "1 {1=boolean:true}""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('df00000001c3c2')))"#,
            r#"boolean:true | "1 {true=boolean:false}""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('d9')))"#,
            r#"boolean:false | "user_script:2: Missing bytes in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('d903616263')))"#,
            r#"boolean:true | "1 \34abc\34""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('d90361')))"#,
            r#"boolean:false | "user_script:2: Missing bytes in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('da0003616263db00000003616263')))"#,
            r#"boolean:true | "2 \34abc\34 \34abc\34""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('cfffffffffffffffff')))"#,
            r#"boolean:true | "1 number:-1""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('d3ffffffffffffffff')))"#,
            r#"boolean:true | "1 number:-1""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('81cb7ff800000000000001')))"#,
            r#"boolean:false | "table index is NaN""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('8101c0')))"#,
            r#"boolean:true | "1 {}""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('ddffffffff01')))"#,
            r#"boolean:false | "user_script:2: Missing bytes in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('82a161c0a16201')))"#,
            r#"boolean:true | "1 {b=number:1}""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('9291c092')))"#,
            r#"boolean:false | "user_script:2: Missing bytes in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('a5616263')))"#,
            r#"boolean:false | "user_script:2: Missing bytes in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(unhex('818201020304')))"#,
            r#"boolean:false | "user_script:2: Missing bytes in input.""#,
        ),
        (
            r#"return all(cmsgpack.unpack(cmsgpack.pack({a={b={c={1,2,{d='e'}}}}, x=true, [5]=false, [-1]=0.25}, 'tail', 7)))"#,
            r#"boolean:true | "3 {-1=number:0.25,5=boolean:false,a={b={c={1=number:1,2=number:2,3={d=\34e\34}}}},x=boolean:true} \34tail\34 number:7""#,
        ),
        (
            r#"return all(cmsgpack.unpack(string.rep(string.char(0x91), 5000)..string.char(1)))"#,
            r#"boolean:false | "user_script:2: stack overflow (in function mp_decode_to_lua_array)""#,
        ),
        (
            r#"local s = string.rep(string.char(0x91), 3999)..string.char(1) local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..type(e)"#,
            r#"boolean:true | "true table""#,
        ),
        (
            r#"local s = string.rep(string.char(0x91), 4000)..string.char(1) local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..tostring(e)"#,
            r#"boolean:true | "false stack overflow (in function mp_decode_to_lua_array)""#,
        ),
        (
            r#"local s = string.rep(string.char(1), 7999) local r = {pcall(cmsgpack.unpack, s)} return #r"#,
            r#"boolean:true | number:8000"#,
        ),
        (
            r#"local s = string.rep(string.char(1), 8000) local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..tostring(e)"#,
            r#"boolean:true | "false stack overflow (too many return values at once; use unpack_one or unpack_limit instead.)""#,
        ),
        (
            r#"local s = string.rep(string.char(1), 7998) local ok, e = pcall(cmsgpack.unpack, s, 'x') return tostring(ok)..' '..tostring(e)"#,
            r#"boolean:true | "true 1""#,
        ),
        (
            r#"local s = string.rep(string.char(1), 7997) local r = {pcall(cmsgpack.unpack_limit, s, 10000)} return #r"#,
            r#"boolean:true | number:7999"#,
        ),
        (
            r#"local s = string.rep(string.char(1), 7998) local r = {pcall(cmsgpack.unpack_limit, s, 10000)} return #r"#,
            r#"boolean:true | number:8000"#,
        ),
        (
            r#"local s = string.rep(string.char(1), 7999) local r = {pcall(cmsgpack.unpack_limit, s, 10000)} return r[2]"#,
            r#"boolean:true | "stack overflow (in function mp_unpack_full)""#,
        ),
        (
            r#"local s = string.rep(string.char(1), 7000) .. string.rep(string.char(0x91), 990) .. '\1' local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..tostring(e)"#,
            r#"boolean:true | "false stack overflow (in function mp_decode_to_lua_array)""#,
        ),
        (
            r#"local s = string.rep(string.char(1), 7000) .. string.rep(string.char(0x91), 500) .. '\1' local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..tostring(e)"#,
            r#"boolean:true | "false stack overflow (in function mp_decode_to_lua_array)""#,
        ),
        (
            r#"local s = string.rep(string.char(1), 7000) .. string.rep(string.char(0x91), 499) .. '\1' local r = {pcall(cmsgpack.unpack, s)} return #r"#,
            r#"boolean:true | number:7002"#,
        ),
        (
            r#"local s = string.rep(string.char(1), 7000) .. string.rep(string.char(0x91), 499) .. '\1' local r = {pcall(cmsgpack.unpack, s)} return #r"#,
            r#"boolean:true | number:7002"#,
        ),
        (
            r#"local s = string.rep(string.char(0x81, 1), 2600)..string.char(1) local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..type(e)"#,
            r#"boolean:true | "true table""#,
        ),
        (
            r#"local s = string.rep(string.char(0x81, 1), 3998)..string.char(1) local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..type(e)"#,
            r#"boolean:true | "true table""#,
        ),
        (
            r#"local s = string.rep(string.char(0x81, 1), 3999)..string.char(1) local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..type(e)"#,
            r#"boolean:true | "true table""#,
        ),
        (
            r#"local s = string.rep(string.char(0x81, 0x91), 2000)..string.char(1) local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..tostring(e)"#,
            r#"boolean:true | "false Missing bytes in input.""#,
        ),
        (
            r#"local s = string.rep(string.char(0x91, 0x81), 2000)..string.char(1) local ok, e = pcall(cmsgpack.unpack, s) return tostring(ok)..' '..tostring(e)"#,
            r#"boolean:true | "false Missing bytes in input.""#,
        ),
        (
            r#"local s = string.rep(string.char(0xa1, 0x61), 7999) local r = {pcall(cmsgpack.unpack, s)} return #r .. r[#r]"#,
            r#"boolean:true | "8000a""#,
        ),
    ]);
}
