//! `cjson` compared with redis-server 7.0.15 (the expected strings are its replies).

use super::super::testutil::check;

#[test]
fn cjson_encode_matches_redis() {
    check(&[
        (
            r#"return cjson.encode({1,2,{a='x/y'}})"#,
            r#"boolean:true | "[1,2,{\34a\34:\34x\92/y\34}]""#,
        ),
        (
            r#"return cjson.encode({[2^31]=1})"#,
            r#"boolean:true | "{\342147483648\34:1}""#,
        ),
        (
            r#"return cjson.encode({[2^40]=2,[1]=1})"#,
            r#"boolean:true | "[1]""#,
        ),
        (
            r#"return cjson.encode({[1]=1,[2^40]=2})"#,
            r#"boolean:true | "{\341\34:1,\341099511627776\34:2}""#,
        ),
        (
            r#"return cjson.encode({[1]=1,[2]=2,[30]=3})"#,
            r#"boolean:false | "user_script:2: Cannot serialise table: excessively sparse array""#,
        ),
        (
            r#"return cjson.encode({[11]=1})"#,
            r#"boolean:false | "user_script:2: Cannot serialise table: excessively sparse array""#,
        ),
        (
            r#"return cjson.encode({[10]=1})"#,
            r#"boolean:true | "[null,null,null,null,null,null,null,null,null,1]""#,
        ),
        (
            r#"return cjson.encode({1,2,nil,4})"#,
            r#"boolean:true | "[1,2,null,4]""#,
        ),
        (
            r#"return cjson.encode({[1.5]=1})"#,
            r#"boolean:true | "{\341.5\34:1}""#,
        ),
        (
            r#"return cjson.encode({[0]=1})"#,
            r#"boolean:true | "{\340\34:1}""#,
        ),
        (
            r#"return cjson.encode({[-1]=1})"#,
            r#"boolean:true | "{\34-1\34:1}""#,
        ),
        (
            r#"return cjson.encode({[true]=1})"#,
            r#"boolean:false | "user_script:2: Cannot serialise boolean: table key must be a number or string""#,
        ),
        (
            r#"return cjson.encode({a=function() end})"#,
            r#"boolean:false | "user_script:2: Cannot serialise function: type not supported""#,
        ),
        (
            r#"return cjson.encode(1/0)"#,
            r#"boolean:false | "user_script:2: Cannot serialise number: must not be NaN or Inf""#,
        ),
        (
            r#"return cjson.encode({[1/0]=1})"#,
            r#"boolean:false | "user_script:2: Cannot serialise number: must not be NaN or Inf""#,
        ),
        (
            r#"return cjson.encode(0/0)"#,
            r#"boolean:false | "user_script:2: Cannot serialise number: must not be NaN or Inf""#,
        ),
        (
            r#"return cjson.encode(string.char(0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20,21,22,23,24,25,26,27,28,29,30,31,32,34,39,47,92,127,128,255))"#,
            r#"boolean:true | "\34\92u0000\92u0001\92u0002\92u0003\92u0004\92u0005\92u0006\92u0007\92b\92t\92n\92u000b\92f\92r\92u000e\92u000f\92u0010\92u0011\92u0012\92u0013\92u0014\92u0015\92u0016\92u0017\92u0018\92u0019\92u001a\92u001b\92u001c\92u001d\92u001e\92u001f \92\34'\92/\92\92\92u007f\128\255\34""#,
        ),
        (
            r#"return cjson.encode({1e20, 0.1, -0, 1/3, 123456789012345678, 2^53, 1e-5, 1e-4, 12345678901234, 123456789012345, 99999999999999, 999999999999999, 0.00001234, 1e300, -1e-300, 5e-324, 1.7976931348623157e308, 2^63, -2^63, 0.1+0.2, 100, -100, 1e14, 1e15, 123.456})"#,
            r#"boolean:true | "[1e+20,0.1,-0,0.33333333333333,1.2345678901235e+17,9.007199254741e+15,1e-05,0.0001,12345678901234,1.2345678901234e+14,99999999999999,1e+15,1.234e-05,1e+300,-1e-300,4.9406564584125e-324,1.7976931348623e+308,9.2233720368548e+18,-9.2233720368548e+18,0.3,100,-100,1e+14,1e+15,123.456]""#,
        ),
        (
            r#"return cjson.encode()"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode' (expected 1 argument)""#,
        ),
        (
            r#"return cjson.encode(1,2)"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode' (expected 1 argument)""#,
        ),
        (
            r#"return cjson.encode(cjson.null)"#,
            r#"boolean:true | "null""#,
        ),
        (r#"return cjson.encode(nil)"#, r#"boolean:true | "null""#),
        (
            r#"return cjson.encode(coroutine.create(function() end))"#,
            r#"boolean:false | "user_script:2: Cannot serialise thread: type not supported""#,
        ),
        (
            r#"local c=cjson.new() return {tostring(c.encode_invalid_numbers(true)), c.encode({0/0, 1/0, -1/0, [5]=1})}"#,
            r#"boolean:true | {1="true",2="[nan,inf,-inf,null,1]"}"#,
        ),
        (
            r#"local c=cjson.new() local t={[1/0]=1} return {tostring(c.encode_invalid_numbers('on')), c.encode(t)}"#,
            r#"boolean:true | {1="true",2="{\34inf\34:1}"}"#,
        ),
        (
            r#"local c=cjson.new() return {tostring(c.encode_invalid_numbers('null')), c.encode({0/0, 1/0, -1/0})}"#,
            r#"boolean:true | {1="null",2="[null,null,null]"}"#,
        ),
        (
            r#"local c=cjson.new() local t={[1/0]=1} return {tostring(c.encode_invalid_numbers('null')), c.encode(t)}"#,
            r#"boolean:true | {1="null",2="{\34null\34:1}"}"#,
        ),
        (
            r#"local c=cjson.new() return {tostring(c.encode_invalid_numbers('xx'))}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_invalid_numbers' (invalid option 'xx')""#,
        ),
        (
            r#"local c=cjson.new() return {tostring(c.encode_invalid_numbers(1))}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_invalid_numbers' (invalid option '1')""#,
        ),
        (
            r#"local c=cjson.new() return {tostring(c.encode_invalid_numbers({}))}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_invalid_numbers' (string expected, got table)""#,
        ),
        (
            r#"local c=cjson.new() return {tostring(c.encode_invalid_numbers(nil))}"#,
            r#"boolean:true | {1="false"}"#,
        ),
        (
            r#"local c=cjson.new() return {tostring(c.encode_invalid_numbers(true, 1))}"#,
            r#"boolean:false | "user_script:2: bad argument #2 to 'encode_invalid_numbers' (found too many arguments)""#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_max_depth(0)}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)""#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_max_depth('5')}"#,
            r#"boolean:true | {1=number:5}"#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_max_depth('x')}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_max_depth' (number expected, got string)""#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_max_depth(2.9)}"#,
            r#"boolean:true | {1=number:2}"#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_max_depth(2^32+5)}"#,
            r#"boolean:true | {1=number:5}"#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_max_depth(2^70)}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_max_depth' (expected integer between 1 and 2147483647)""#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_max_depth(-2^32+7)}"#,
            r#"boolean:true | {1=number:7}"#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_number_precision(15)}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_number_precision' (expected integer between 1 and 14)""#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_number_precision(3), c.encode({1/3, 1234.5, [10]=1e300})}"#,
            r#"boolean:true | {1=number:3,2="[0.333,1.23e+03,null,null,null,null,null,null,null,1e+300]"}"#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_number_precision(1), c.encode({1/3, 1234.5, 0.05, 95, 96, -0.00001})}"#,
            r#"boolean:true | {1=number:1,2="[0.3,1e+03,0.05,1e+02,1e+02,-1e-05]"}"#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_sparse_array(true, 3, 5)}"#,
            r#"boolean:true | {1=boolean:true,2=number:3,3=number:5}"#,
        ),
        (
            r#"local c=cjson.new() c.encode_sparse_array(true) return {c.encode({[1]=1,[2]=2,[30]=3})}"#,
            r#"boolean:true | {1="{\341\34:1,\342\34:2,\3430\34:3}"}"#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_sparse_array(nil, -1)}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)""#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_sparse_array(nil, 1, -1)}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_sparse_array' (expected integer between 0 and 2147483647)""#,
        ),
        (
            r#"local c=cjson.new() return {c.encode_sparse_array(nil, 1, 5, 7)}"#,
            r#"boolean:false | "user_script:2: bad argument #4 to 'encode_sparse_array' (found too many arguments)""#,
        ),
        (
            r#"local c=cjson.new() return {pcall(c.encode_sparse_array, true, -1), c.encode_sparse_array()}"#,
            r#"boolean:true | {1=boolean:false,2=boolean:true,3=number:2,4=number:10}"#,
        ),
        (
            r#"local c=cjson.new() c.encode_sparse_array(false, 0) return {c.encode({[1000]=1}):len()}"#,
            r#"boolean:true | {1=number:4998}"#,
        ),
        (
            r#"local c=cjson.new() c.encode_sparse_array(false, 1, 0) return {c.encode({[3]=1, [4]=2, [5]=3})}"#,
            r#"boolean:false | "user_script:2: Cannot serialise table: excessively sparse array""#,
        ),
        (
            r#"local c=cjson.new() return {tostring(c.encode_keep_buffer(false)), tostring(c.encode_keep_buffer('on')), tostring(c.decode_invalid_numbers('off'))}"#,
            r#"boolean:true | {1="false",2="true",3="false"}"#,
        ),
        (
            r#"local c=cjson.new() return {tostring(c.encode_keep_buffer('x'))}"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'encode_keep_buffer' (invalid option 'x')""#,
        ),
        (
            r#"return cjson.new(1,2,3).encode({})"#,
            r#"boolean:true | "{}""#,
        ),
        (
            r#"local c=cjson.new() return c.null == cjson.null and c._NAME"#,
            r#"boolean:true | "cjson""#,
        ),
        (
            r#"local c=cjson.new() c.encode_invalid_numbers(true) local n=0/0 return c.encode({n, -n, math.huge, -math.huge, {[n==n and 1 or 2]=1}})"#,
            r#"boolean:true | "[nan,nan,inf,-inf,[null,1]]""#,
        ),
        (
            r#"local c=cjson.new() c.encode_invalid_numbers(true) c.encode_number_precision(2) return c.encode({0/0, 1e300, 1/0})"#,
            r#"boolean:true | "[nan,1e+300,inf]""#,
        ),
        (
            r#"return cjson.encode({1,2,3,{}, {{}}, {a={b={}}}})"#,
            r#"boolean:true | "[1,2,3,{},[{}],{\34a\34:{\34b\34:{}}}]""#,
        ),
        (
            r#"return cjson.encode({'a', [3]='c'})"#,
            r#"boolean:true | "[\34a\34,null,\34c\34]""#,
        ),
        (
            r#"return cjson.encode({[1]='a', x=1})"#,
            r#"boolean:true | "{\341\34:\34a\34,\34x\34:1}""#,
        ),
        (
            r#"return cjson.encode({['1']='a'})"#,
            r#"boolean:true | "{\341\34:\34a\34}""#,
        ),
        (
            r#"return cjson.encode(setmetatable({}, {__index=function() return 1 end}))"#,
            r#"boolean:true | "{}""#,
        ),
        (r#"return cjson.encode(12)"#, r#"boolean:true | "12""#),
        (
            r#"return cjson.encode('12')"#,
            r#"boolean:true | "\3412\34""#,
        ),
        (r#"return cjson.encode(true)"#, r#"boolean:true | "true""#),
        (
            r#"return cjson.encode({[1]=false})"#,
            r#"boolean:true | "[false]""#,
        ),
        (
            r#"return cjson.encode({a=1,b=2,c=3,d=4,e=5,f={g=6,h=7},i='j',k=true,l=false,m=cjson.null})"#,
            r#"boolean:true | "{\34a\34:1,\34c\34:3,\34b\34:2,\34e\34:5,\34d\34:4,\34f\34:{\34g\34:6,\34h\34:7},\34i\34:\34j\34,\34k\34:true,\34m\34:null,\34l\34:false}""#,
        ),
        (
            r#"local t={} for i=1,50 do t['key'..i]=i end return cjson.encode(t)"#,
            r#"boolean:true | "{\34key16\34:16,\34key9\34:9,\34key50\34:50,\34key35\34:35,\34key24\34:24,\34key14\34:14,\34key8\34:8,\34key31\34:31,\34key26\34:26,\34key17\34:17,\34key39\34:39,\34key5\34:5,\34key13\34:13,\34key48\34:48,\34key47\34:47,\34key21\34:21,\34key4\34:4,\34key32\34:32,\34key41\34:41,\34key43\34:43,\34key44\34:44,\34key2\34:2,\34key1\34:1,\34key45\34:45,\34key30\34:30,\34key46\34:46,\34key27\34:27,\34key40\34:40,\34key38\34:38,\34key22\34:22,\34key33\34:33,\34key3\34:3,\34key25\34:25,\34key15\34:15,\34key6\34:6,\34key34\34:34,\34key11\34:11,\34key49\34:49,\34key42\34:42,\34key10\34:10,\34key19\34:19,\34key29\34:29,\34key7\34:7,\34key37\34:37,\34key20\34:20,\34key12\34:12,\34key18\34:18,\34key23\34:23,\34key36\34:36,\34key28\34:28}""#,
        ),
        (
            r#"local t={} for i=1,50 do t[i*1.5]=i end return cjson.encode(t)"#,
            r#"boolean:true | "{\3427\34:18,\3461.5\34:41,\3475\34:50,\343\34:2,\3454\34:36,\3419.5\34:13,\346\34:4,\3431.5\34:21,\3439\34:26,\3412\34:8,\3463\34:42,\3424\34:16,\3455.5\34:37,\3448\34:32,\3416.5\34:11,\3440.5\34:27,\3464.5\34:43,\3428.5\34:19,\3433\34:22,\3410.5\34:7,\3457\34:38,\3466\34:44,\3421\34:14,\3449.5\34:33,\3442\34:28,\3467.5\34:45,\3434.5\34:23,\3425.5\34:17,\347.5\34:5,\349\34:6,\3451\34:34,\3415\34:10,\3418\34:12,\3443.5\34:29,\3470.5\34:47,\3430\34:20,\3436\34:24,\3473.5\34:49,\3460\34:40,\3472\34:48,\3422.5\34:15,\3452.5\34:35,\3469\34:46,\3458.5\34:39,\3445\34:30,\3413.5\34:9,\3446.5\34:31,\3437.5\34:25,\341.5\34:1,\344.5\34:3}""#,
        ),
        (
            r#"local t={} for i=1,40 do t[i]=i end t[20]=nil t.x=1 t.x=nil return cjson.encode(t)"#,
            r#"boolean:true | "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,null,21,22,23,24,25,26,27,28,29,30,31,32,33,34,35,36,37,38,39,40]""#,
        ),
        (
            r#"local t={} t[1]=t return cjson.encode(t)"#,
            r#"boolean:false | "user_script:2: Cannot serialise, excessive nesting (1001)""#,
        ),
        (
            r#"local t={} t.a=t return cjson.encode(t)"#,
            r#"boolean:false | "user_script:2: Cannot serialise, excessive nesting (1001)""#,
        ),
        (
            r#"local t={} local x=t for i=1,999 do x[1]={} x=x[1] end return cjson.encode(t):len()"#,
            r#"boolean:true | number:2000"#,
        ),
        (
            r#"local t={} local x=t for i=1,1000 do x[1]={} x=x[1] end return cjson.encode(t):len()"#,
            r#"boolean:false | "user_script:2: Cannot serialise, excessive nesting (1001)""#,
        ),
        (
            r#"local c=cjson.new() c.encode_max_depth(1000000) local t={} local x=t for i=1,7997-1 do x[1]={} x=x[1] end return #c.encode(t)"#,
            r#"boolean:true | number:15994"#,
        ),
        (
            r#"local c=cjson.new() c.encode_max_depth(1000000) local t={} local x=t for i=1,7998-1 do x[1]={} x=x[1] end return #c.encode(t)"#,
            r#"boolean:false | "user_script:2: Cannot serialise, excessive nesting (7998)""#,
        ),
        (
            r#"local c=cjson.new() c.encode_max_depth(1000000) local t={} local x=t for i=1,3999-1 do x.a={} x=x.a end return #c.encode(t)"#,
            r#"boolean:true | number:23990"#,
        ),
        (
            r#"local c=cjson.new() c.encode_max_depth(1000000) local t={} local x=t for i=1,4000-1 do x.a={} x=x.a end return #c.encode(t)"#,
            r#"boolean:false | "user_script:2: Cannot serialise, excessive nesting (4000)""#,
        ),
        (
            r#"local c=cjson.new() c.encode_max_depth(1000000) local t={} local x=t for i=1,3000-1 do x.a={{}} x=x.a[1] end return #c.encode(t)"#,
            r#"boolean:false | "user_script:2: Cannot serialise, excessive nesting (5332)""#,
        ),
        (
            r#"local c=cjson.new() c.encode_max_depth(2) return c.encode({{{1}}})"#,
            r#"boolean:false | "user_script:2: Cannot serialise, excessive nesting (3)""#,
        ),
        (
            r#"local c=cjson.new() c.encode_max_depth(2) return c.encode({{1}, {{}}})"#,
            r#"boolean:false | "user_script:2: Cannot serialise, excessive nesting (3)""#,
        ),
        (
            r#"return cjson.encode({[1]=1, [2]={a=type}})"#,
            r#"boolean:false | "user_script:2: Cannot serialise function: type not supported""#,
        ),
        (
            r#"return cjson.encode({a=1, [type]=2})"#,
            r#"boolean:false | "user_script:2: Cannot serialise function: table key must be a number or string""#,
        ),
        (
            r#"return cjson.encode({[{}]=1})"#,
            r#"boolean:false | "user_script:2: Cannot serialise table: table key must be a number or string""#,
        ),
        (
            r#"return cjson.encode({ [1]=1, [2]=2, [3]=3, [4]=4, [5]=5, [9]=9 })"#,
            r#"boolean:true | "[1,2,3,4,5,null,null,null,9]""#,
        ),
        (
            r#"return cjson.encode({ [1]=1, [25]=2 })"#,
            r#"boolean:false | "user_script:2: Cannot serialise table: excessively sparse array""#,
        ),
        (r#"return cjson.encode(-0.0)"#, r#"boolean:true | "-0""#),
        (
            r#"return cjson.encode({[-0.0] = 1})"#,
            r#"boolean:true | "{\34-0\34:1}""#,
        ),
        (r#"return cjson.encode(1e15)"#, r#"boolean:true | "1e+15""#),
        (
            r#"return cjson.encode(2^31)"#,
            r#"boolean:true | "2147483648""#,
        ),
        (
            r#"local t = {} for i=1,20 do t[i]=i end return cjson.encode(t)"#,
            r#"boolean:true | "[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]""#,
        ),
        (
            r#"local t = setmetatable({1,2}, {__len=function() return 10 end}) return cjson.encode(t)"#,
            r#"boolean:true | "[1,2]""#,
        ),
        (
            r#"return cjson.encode({cjson.null, nil, cjson.null})"#,
            r#"boolean:true | "[null,null,null]""#,
        ),
        (
            r#"return cjson.encode({['a/b']='"q"', ['\n']='\t'})"#,
            r#"boolean:true | "{\34a\92/b\34:\34\92\34q\92\34\34,\34\92n\34:\34\92t\34}""#,
        ),
        (
            r#"return cjson.encode(string.rep('x', 10000)):len()"#,
            r#"boolean:true | number:10002"#,
        ),
    ]);
}

#[test]
fn cjson_decode_matches_redis() {
    check(&[
        (
            r#"return cjson.decode('')"#,
            r#"boolean:false | "user_script:2: Expected value but found T_END at character 1""#,
        ),
        (
            r#"return cjson.decode(' ')"#,
            r#"boolean:false | "user_script:2: Expected value but found T_END at character 2""#,
        ),
        (
            r#"return cjson.decode('{')"#,
            r#"boolean:false | "user_script:2: Expected object key string but found T_END at character 2""#,
        ),
        (
            r#"return cjson.decode('[')"#,
            r#"boolean:false | "user_script:2: Expected value but found T_END at character 2""#,
        ),
        (
            r#"return cjson.decode('[1,]')"#,
            r#"boolean:false | "user_script:2: Expected value but found T_ARR_END at character 4""#,
        ),
        (
            r#"return cjson.decode('{"a":1,}')"#,
            r#"boolean:false | "user_script:2: Expected object key string but found T_OBJ_END at character 8""#,
        ),
        (
            r#"return cjson.decode('{"a" 1}')"#,
            r#"boolean:false | "user_script:2: Expected colon but found T_NUMBER at character 6""#,
        ),
        (
            r#"return cjson.decode('{1:2}')"#,
            r#"boolean:false | "user_script:2: Expected object key string but found T_NUMBER at character 2""#,
        ),
        (
            r#"return cjson.decode('[1 2]')"#,
            r#"boolean:false | "user_script:2: Expected comma or array end but found T_NUMBER at character 4""#,
        ),
        (
            r#"return cjson.decode('x')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid token at character 1""#,
        ),
        (
            r#"return cjson.decode('nul')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid token at character 1""#,
        ),
        (
            r#"return cjson.decode('null') == cjson.null"#,
            r#"boolean:true | boolean:true"#,
        ),
        (
            r#"return cjson.decode('true')"#,
            r#"boolean:true | boolean:true"#,
        ),
        (
            r#"return cjson.decode('truex')"#,
            r#"boolean:false | "user_script:2: Expected the end but found invalid token at character 5""#,
        ),
        (
            r#"return cjson.decode('[true false]')"#,
            r#"boolean:false | "user_script:2: Expected comma or array end but found T_BOOLEAN at character 7""#,
        ),
        (
            r#"return cjson.decode('"abc')"#,
            r#"boolean:false | "user_script:2: Expected value but found unexpected end of string at character 5""#,
        ),
        (
            r#"return cjson.decode('"a\\qb"')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid escape code at character 3""#,
        ),
        (
            r#"return cjson.decode('"a\\u00e9b"')"#,
            r#"boolean:true | "a\195\169b""#,
        ),
        (
            r#"return cjson.decode('"\\ud83d\\ude00"')"#,
            r#"boolean:true | "\240\159\152\128""#,
        ),
        (
            r#"return cjson.decode('"\\ud83d"')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid unicode escape code at character 2""#,
        ),
        (
            r#"return cjson.decode('"\\ud83dx"')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid unicode escape code at character 2""#,
        ),
        (
            r#"return cjson.decode('"\\ude00\\ud83d"')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid unicode escape code at character 2""#,
        ),
        (
            r#"return cjson.decode('"\\ud83d\\u0041"')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid unicode escape code at character 2""#,
        ),
        (
            r#"return cjson.decode('"\\u12g4"')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid unicode escape code at character 2""#,
        ),
        (
            r#"return cjson.decode('"\\u0000"')"#,
            r#"boolean:true | "\0""#,
        ),
        (
            r#"return cjson.decode('"\\u"')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid unicode escape code at character 2""#,
        ),
        (
            r#"return cjson.decode('"\\')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid escape code at character 2""#,
        ),
        (
            r#"return cjson.decode('"\\u00"')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid unicode escape code at character 2""#,
        ),
        (
            r#"return cjson.decode('["\\u007f\\u0080\\u07ff\\u0800\\uffff\\ud800\\udc00\\udbff\\udfff"]')"#,
            r#"boolean:true | {1="\127\194\128\223\191\224\160\128\239\191\191\240\144\128\128\244\143\191\191"}"#,
        ),
        (
            r#"return cjson.decode('"\\/\\b\\f\\n\\r\\t\\"\\\\"')"#,
            r#"boolean:true | "/\8\12\10\13\9\34\92""#,
        ),
        (
            r#"return cjson.decode('1 2')"#,
            r#"boolean:false | "user_script:2: Expected the end but found T_NUMBER at character 3""#,
        ),
        (
            r#"return cjson.decode('  [1, 2.5, -3e2, 1E+2, 0.5e-1]  ')"#,
            r#"boolean:true | {1=number:1,2=number:2.5,3=number:-300,4=number:100,5=number:0.05}"#,
        ),
        (
            r#"return cjson.decode('-')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid number at character 1""#,
        ),
        (
            r#"return cjson.decode('-x')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid number at character 1""#,
        ),
        (r#"return cjson.decode('+1')"#, r#"boolean:true | number:1"#),
        (r#"return cjson.decode('01')"#, r#"boolean:true | number:1"#),
        (
            r#"return cjson.decode('0x1F')"#,
            r#"boolean:true | number:31"#,
        ),
        (
            r#"return cjson.decode('-0x10')"#,
            r#"boolean:true | number:-16"#,
        ),
        (
            r#"return cjson.decode('0x1p4')"#,
            r#"boolean:true | number:16"#,
        ),
        (
            r#"return tostring(cjson.decode('nan'))"#,
            r#"boolean:true | "nan""#,
        ),
        (
            r#"return tostring(cjson.decode('NaN'))"#,
            r#"boolean:true | "nan""#,
        ),
        (
            r#"return tostring(cjson.decode('-nan'))"#,
            r#"boolean:true | "-nan""#,
        ),
        (
            r#"return tostring(cjson.decode('inf'))"#,
            r#"boolean:true | "inf""#,
        ),
        (
            r#"return tostring(cjson.decode('Infinity'))"#,
            r#"boolean:true | "inf""#,
        ),
        (
            r#"return tostring(cjson.decode('-Infinity'))"#,
            r#"boolean:true | "-inf""#,
        ),
        (
            r#"return tostring(cjson.decode('+inf'))"#,
            r#"boolean:true | "inf""#,
        ),
        (
            r#"return cjson.decode('infx')"#,
            r#"boolean:false | "user_script:2: Expected the end but found invalid token at character 4""#,
        ),
        (
            r#"return tostring(cjson.decode('naN'))"#,
            r#"boolean:true | "nan""#,
        ),
        (
            r#"return cjson.decode('nanx')"#,
            r#"boolean:false | "user_script:2: Expected the end but found invalid token at character 4""#,
        ),
        (
            r#"return cjson.decode('1.5e')"#,
            r#"boolean:false | "user_script:2: Expected the end but found invalid token at character 4""#,
        ),
        (
            r#"return cjson.decode('.5')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid token at character 1""#,
        ),
        (
            r#"return tostring(cjson.decode('1e400'))"#,
            r#"boolean:true | "inf""#,
        ),
        (
            r#"return cjson.decode('{"a":{"b":[1,{"c":null}]},"a":2}')"#,
            r#"boolean:true | {a=number:2}"#,
        ),
        (r#"return cjson.decode('[]')"#, r#"boolean:true | {}"#),
        (r#"return cjson.decode('{}')"#, r#"boolean:true | {}"#),
        (
            r#"return cjson.decode('{"":1}')"#,
            r#"boolean:true | {=number:1}"#,
        ),
        (
            r#"local ok, r = pcall(cjson.decode, string.rep('[',1000)..string.rep(']',1000)) return ok"#,
            r#"boolean:true | boolean:true"#,
        ),
        (
            r#"return cjson.decode(string.rep('[',1001)..string.rep(']',1001))"#,
            r#"boolean:false | "user_script:2: Found too many nested data structures (1001) at character 1001""#,
        ),
        (
            r#"return cjson.decode(string.rep('{"a":',1001)..'1'..string.rep('}',1001))"#,
            r#"boolean:false | "user_script:2: Found too many nested data structures (1001) at character 5001""#,
        ),
        (
            r#"return cjson.decode('  '..string.rep('[',1001))"#,
            r#"boolean:false | "user_script:2: Found too many nested data structures (1001) at character 1003""#,
        ),
        (
            r#"return cjson.decode(123)"#,
            r#"boolean:true | number:123"#,
        ),
        (
            r#"return cjson.decode(nil)"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'decode' (string expected, got nil)""#,
        ),
        (
            r#"return cjson.decode()"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'decode' (expected 1 argument)""#,
        ),
        (
            r#"return cjson.decode('1', 2)"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'decode' (expected 1 argument)""#,
        ),
        (
            r#"return cjson.decode('a\0')"#,
            r#"boolean:false | "user_script:2: JSON parser does not support UTF-16 or UTF-32""#,
        ),
        (
            r#"return cjson.decode('\0a')"#,
            r#"boolean:false | "user_script:2: JSON parser does not support UTF-16 or UTF-32""#,
        ),
        (
            r#"return cjson.decode('\0')"#,
            r#"boolean:false | "user_script:2: Expected value but found T_END at character 1""#,
        ),
        (
            r#"return cjson.decode('[1]\0garbage')"#,
            r#"boolean:true | {1=number:1}"#,
        ),
        (
            r#"return cjson.decode('["a\0b"]')"#,
            r#"boolean:false | "user_script:2: Expected value but found unexpected end of string at character 4""#,
        ),
        (
            r#"return cjson.decode({})"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'decode' (string expected, got table)""#,
        ),
        (
            r#"local c=cjson.new() c.decode_invalid_numbers(false) local r={} for _,s in ipairs({'+1','01','0x1F','nan','inf','-inf','1','-','0','-0','-01','1e5','-.5','0.','1.e3','00','0e','-Inf', 'Nan'}) do local ok,v=pcall(c.decode,s) r[#r+1]=s..' => '..tostring(v) end return r"#,
            r#"boolean:true | {10="-0 => -0",11="-01 => Expected value but found invalid number at character 1",12="1e5 => 100000",13="-.5 => -0.5",14="0. => 0",15="1.e3 => 1000",16="00 => Expected value but found invalid number at character 1",17="0e => Expected the end but found invalid token at character 2",18="-Inf => Expected value but found invalid number at character 1",19="Nan => Expected value but found invalid token at character 1",1="+1 => Expected value but found invalid token at character 1",2="01 => Expected value but found invalid number at character 1",3="0x1F => Expected value but found invalid number at character 1",4="nan => Expected value but found invalid token at character 1",5="inf => Expected value but found invalid token at character 1",6="-inf => Expected value but found invalid number at character 1",7="1 => 1",8="- => Expected value but found invalid number at character 1",9="0 => 0"}"#,
        ),
        (
            r#"local c=cjson.new() c.decode_max_depth(2) return c.decode('[[[1]]]')"#,
            r#"boolean:false | "user_script:2: Found too many nested data structures (3) at character 3""#,
        ),
        (
            r#"local c=cjson.new() c.decode_max_depth(2) return c.decode('[[{"a":1}]]')"#,
            r#"boolean:false | "user_script:2: Found too many nested data structures (3) at character 3""#,
        ),
        (
            r#"local c=cjson.new() c.decode_max_depth(1000000) return #c.decode(string.rep('[',7998)..string.rep(']',7998))"#,
            r#"boolean:true | number:1"#,
        ),
        (
            r#"local c=cjson.new() c.decode_max_depth(1000000) return #c.decode(string.rep('[',7999)..string.rep(']',7999))"#,
            r#"boolean:false | "user_script:2: Found too many nested data structures (7999) at character 7999""#,
        ),
        (
            r#"local c=cjson.new() c.decode_max_depth(1000000) return c.decode(string.rep('{"a":',3999)..'1'..string.rep('}',3999)) ~= nil"#,
            r#"boolean:true | boolean:true"#,
        ),
        (
            r#"local c=cjson.new() c.decode_max_depth(1000000) return c.decode(string.rep('{"a":',4000)..'1'..string.rep('}',4000))"#,
            r#"boolean:false | "user_script:2: Found too many nested data structures (4000) at character 19996""#,
        ),
        (
            r#"local c=cjson.new() c.decode_max_depth(1000000) return c.decode(string.rep('{"a":[',3000)..'1'..string.rep(']}',3000))"#,
            r#"boolean:false | "user_script:2: Found too many nested data structures (5333) at character 15997""#,
        ),
        (
            r#"local t = cjson.decode('{"z":1,"y":2,"x":3,"w":4,"v":5,"u":6,"t":7,"s":8,"r":9,"q":10,"p":11}') local r={} for k,v in pairs(t) do r[#r+1]=k end return table.concat(r, ',')"#,
            r#"boolean:true | "q,p,s,r,u,t,w,v,y,x,z""#,
        ),
        (
            r#"return cjson.encode(cjson.decode('{"z":1,"y":[1,2,{"k":"v"}],"x":"\\u00e9","w":null,"v":true,"u":false,"t":-0.5e-3,"s":"a\\/b"}'))"#,
            r#"boolean:true | "{\34y\34:[1,2,{\34k\34:\34v\34}],\34x\34:\34\195\169\34,\34s\34:\34a\92/b\34,\34z\34:1,\34u\34:false,\34t\34:-0.0005,\34w\34:null,\34v\34:true}""#,
        ),
        (
            r#"local t = {} for i=1,100000 do t[i] = 's'..i end return #cjson.encode(t)"#,
            r#"boolean:true | number:888896"#,
        ),
        (
            r#"local t = {} for i=1,100000 do t['k'..i] = {i} end local s = cjson.encode(t) return #s .. ' ' .. #cjson.encode(cjson.decode(s))"#,
            r#"boolean:true | "1677791 1677791""#,
        ),
        (
            r#"local t = cjson.decode('[' .. string.rep('"abc",', 50000) .. '1]') return #t"#,
            r#"boolean:true | number:50001"#,
        ),
        (
            r#"return cjson.decode('[1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,16,17,18,19,20]')"#,
            r#"boolean:true | {10=number:10,11=number:11,12=number:12,13=number:13,14=number:14,15=number:15,16=number:16,17=number:17,18=number:18,19=number:19,1=number:1,20=number:20,2=number:2,3=number:3,4=number:4,5=number:5,6=number:6,7=number:7,8=number:8,9=number:9}"#,
        ),
        (
            r#"return cjson.decode('{"a":1, "b" : [ 1 , 2 ] }\n\r\t ')"#,
            r#"boolean:true | {a=number:1,b={1=number:1,2=number:2}}"#,
        ),
        (
            r#"return cjson.decode('[1,\f2]')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid token at character 4""#,
        ),
        (
            r#"return cjson.decode('[1,\v2]')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid token at character 4""#,
        ),
        (
            r#"return cjson.decode('"\1\2\31"')"#,
            r#"boolean:true | "\1\2\31""#,
        ),
        (
            r#"return cjson.decode('tru')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid token at character 1""#,
        ),
        (
            r#"return cjson.decode('fals')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid token at character 1""#,
        ),
        (
            r#"return cjson.decode('[null, nul]')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid token at character 8""#,
        ),
        (
            r#"return cjson.decode('{"a":1 "b":2}')"#,
            r#"boolean:false | "user_script:2: Expected comma or object end but found T_STRING at character 8""#,
        ),
        (
            r#"return cjson.decode('{"a":1,"b"}')"#,
            r#"boolean:false | "user_script:2: Expected colon but found T_OBJ_END at character 11""#,
        ),
        (
            r#"return cjson.decode('{"a":1,"b":}')"#,
            r#"boolean:false | "user_script:2: Expected value but found T_OBJ_END at character 12""#,
        ),
        (
            r#"return cjson.decode('{"a":1]')"#,
            r#"boolean:false | "user_script:2: Expected comma or object end but found T_ARR_END at character 7""#,
        ),
        (
            r#"return cjson.decode('[1}')"#,
            r#"boolean:false | "user_script:2: Expected comma or array end but found T_OBJ_END at character 3""#,
        ),
        (
            r#"return cjson.decode('[,]')"#,
            r#"boolean:false | "user_script:2: Expected value but found T_COMMA at character 2""#,
        ),
        (
            r#"return cjson.decode(':')"#,
            r#"boolean:false | "user_script:2: Expected value but found T_COLON at character 1""#,
        ),
        (
            r#"return cjson.decode('"\xff\xfe"')"#,
            r#"boolean:true | "xffxfe""#,
        ),
        (
            r#"return cjson.decode('1e5x')"#,
            r#"boolean:false | "user_script:2: Expected the end but found invalid token at character 4""#,
        ),
        (
            r#"return cjson.decode('-  1')"#,
            r#"boolean:false | "user_script:2: Expected value but found invalid number at character 1""#,
        ),
        (
            r#"return cjson.decode('1.5E-3')"#,
            r#"boolean:true | number:0.0015"#,
        ),
        (
            r#"return cjson.decode('123456789012345678901234567890')"#,
            r#"boolean:true | number:1.2345678901235e+29"#,
        ),
        (
            r#"return cjson.decode('0.1')"#,
            r#"boolean:true | number:0.1"#,
        ),
        (
            r#"return cjson.decode('-0')"#,
            r#"boolean:true | number:-0"#,
        ),
        (
            r#"return cjson.decode('1e-400')"#,
            r#"boolean:true | number:0"#,
        ),
        (
            r#"return cjson.decode('[1e309, -1e309]')"#,
            r#"boolean:true | {1=number:inf,2=number:-inf}"#,
        ),
        (
            r#"return cjson.decode('"\\u0041\\u00410"')"#,
            r#"boolean:true | "AA0""#,
        ),
        (
            r#"return cjson.decode('"\\uD83D\\uDE00"')"#,
            r#"boolean:true | "\240\159\152\128""#,
        ),
        (
            r#"return cjson.decode('"\\uDBFF\\uDFFF"')"#,
            r#"boolean:true | "\244\143\191\191""#,
        ),
        (
            r#"return cjson.decode(12.5)"#,
            r#"boolean:true | number:12.5"#,
        ),
        (
            r#"return cjson.decode(1e100)"#,
            r#"boolean:true | number:1e+100"#,
        ),
        (
            r#"return cjson.decode(true)"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'decode' (string expected, got boolean)""#,
        ),
        (
            r#"return cjson.decode(cjson.null)"#,
            r#"boolean:false | "user_script:2: bad argument #1 to 'decode' (string expected, got userdata)""#,
        ),
    ]);
}
