//! Sorted set command tests; expected replies were checked against
//! redis-server 7.0.15 (RESP2 and `redis-cli -3`).

use crate::cmd::set::testutil::*;

const WT: &str = "-WRONGTYPE Operation against a key holding the wrong kind of value\r\n";

fn enc(st: &crate::Store, k: &str) -> Option<&'static str> {
    st.dbs[0]
        .dict
        .get(k.as_bytes())
        .map(|e| e.value.encoding(&st.config))
}

#[test]
fn zadd_flags_and_errors() {
    let mut st = store();
    assert_eq!(run(&mut st, "zadd z 1 a 2 b 3 c"), ":3\r\n");
    assert_eq!(enc(&st, "z"), Some("listpack"));
    assert_eq!(run(&mut st, "zadd z ch 5 a 1 b 9 q"), ":3\r\n");
    assert_eq!(run(&mut st, "zadd z xx ch gt 0 a"), ":0\r\n");
    assert_eq!(run(&mut st, "zadd z lt ch 0 a"), ":1\r\n");
    assert_eq!(run(&mut st, "zadd z xx 1 new"), ":0\r\n");
    assert_eq!(run(&mut st, "zadd z nx 100 a"), ":0\r\n");
    assert_eq!(run(&mut st, "zscore z a"), "$1\r\n0\r\n");
    assert_eq!(run(&mut st, "zadd z incr 1 x"), "$1\r\n1\r\n");
    assert_eq!(run3(&mut st, "zadd z incr 2 x"), ",3\r\n");
    assert_eq!(run(&mut st, "zadd z gt incr 0 x"), "$-1\r\n");
    assert_eq!(run(&mut st, "zadd z nx incr 1 x"), "$-1\r\n");
    assert_eq!(run3(&mut st, "zadd z xx incr 1 nokey"), "_\r\n");
    assert_eq!(run(&mut st, "zadd no xx 1 a"), ":0\r\n");
    assert!(st.dbs[0].dict.get(b"no").is_none());
    assert_eq!(
        run(&mut st, "zadd z xx nx 1 a"),
        "-ERR XX and NX options at the same time are not compatible\r\n"
    );
    let gl = "-ERR GT, LT, and/or NX options at the same time are not compatible\r\n";
    assert_eq!(run(&mut st, "zadd z gt lt 1 a"), gl);
    assert_eq!(run(&mut st, "zadd z gt nx 1 a"), gl);
    assert_eq!(run(&mut st, "zadd z lt nx 1 a"), gl);
    assert_eq!(
        run(&mut st, "zadd z incr 1 a 2 b"),
        "-ERR INCR option supports a single increment-element pair\r\n"
    );
    assert_eq!(
        run(&mut st, "zadd z x a"),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(
        run(&mut st, "zadd z nan a"),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(run(&mut st, "zadd z 1 a 2"), "-ERR syntax error\r\n");
    assert_eq!(run(&mut st, "zadd z nx"), "-ERR syntax error\r\n");
    for bad in ["1e500", "-1e500", "1e-500"] {
        let want = "-ERR value is not a valid float\r\n";
        assert_eq!(run(&mut st, &format!("zadd z {bad} a")), want);
        assert_eq!(run(&mut st, &format!("zincrby z {bad} a")), want);
        assert_eq!(
            run(&mut st, &format!("zunion 1 z weights {bad}")),
            "-ERR weight value is not a float\r\n"
        );
    }
    assert_eq!(run(&mut st, "zadd z 0e5 zero -0.0 zero2"), ":2\r\n");
    assert_eq!(run(&mut st, "zrem z zero zero2"), ":2\r\n");
    // Ranges take strtod's value as it is: 1e500 is +inf there.
    assert_eq!(run(&mut st, "zrangebyscore z 1e500 +inf"), "*0\r\n");
    let card = run(&mut st, "zcard z");
    assert_eq!(run(&mut st, "zcount z -1e500 1e500"), card);
    assert_eq!(run(&mut st, "zcount z 1e-500 (1e-500"), ":0\r\n");
    assert_eq!(run(&mut st, "zadd z inf a"), ":0\r\n");
    assert_eq!(
        run(&mut st, "zadd z incr -inf a"),
        "-ERR resulting score is not a number (NaN)\r\n"
    );
    assert_eq!(
        run(&mut st, "zincrby z -inf a"),
        "-ERR resulting score is not a number (NaN)\r\n"
    );
    assert_eq!(run3(&mut st, "zscore z a"), ",inf\r\n");
    assert_eq!(
        run(&mut st, "zincrby z x a"),
        "-ERR value is not a valid float\r\n"
    );
    assert_eq!(run(&mut st, "zincrby nz 2.5 m"), "$3\r\n2.5\r\n");
    crate::cmd::set::testutil::run(&mut st, "sadd s a");
    assert_eq!(run(&mut st, "zadd s 1 a"), WT);
    assert_eq!(run(&mut st, "zscore s a"), WT);
}

#[test]
fn zadd_propagation_and_encoding() {
    let mut st = store();
    run(&mut st, "zadd z 1 a");
    let d = st.dirty;
    assert_eq!(run(&mut st, "zadd z 1 a"), ":0\r\n");
    assert_eq!(st.dirty, d, "unchanged ZADD is not dirty");
    let long = "x".repeat(65);
    run(&mut st, &format!("zadd big 1 {long}"));
    assert_eq!(enc(&st, "big"), Some("skiplist"));
    for i in 0..129 {
        run(&mut st, &format!("zadd many {i} m{i}"));
    }
    assert_eq!(enc(&st, "many"), Some("skiplist"));
    // Redis 7.0 sizes a new key by its members, not by the command length.
    let dup = vec!["1 same"; 129].join(" ");
    assert_eq!(run(&mut st, &format!("zadd dup {dup}")), ":1\r\n");
    assert_eq!(enc(&st, "dup"), Some("listpack"));
}

#[test]
fn zrem_zcard_zscore_zmscore_rank() {
    let mut st = store();
    run(&mut st, "zadd z 1 a 2 b 3 c");
    assert_eq!(run(&mut st, "zcard z"), ":3\r\n");
    assert_eq!(run(&mut st, "zcard no"), ":0\r\n");
    assert_eq!(run(&mut st, "zscore z b"), "$1\r\n2\r\n");
    assert_eq!(run(&mut st, "zscore z x"), "$-1\r\n");
    assert_eq!(run3(&mut st, "zscore z x"), "_\r\n");
    assert_eq!(run3(&mut st, "zmscore z a x"), "*2\r\n,1\r\n_\r\n");
    assert_eq!(run(&mut st, "zmscore no a"), "*1\r\n$-1\r\n");
    assert_eq!(run(&mut st, "zrank z c"), ":2\r\n");
    assert_eq!(run(&mut st, "zrevrank z c"), ":0\r\n");
    assert_eq!(run(&mut st, "zrank z x"), "$-1\r\n");
    assert_eq!(run(&mut st, "zrank no x"), "$-1\r\n");
    assert_eq!(run(&mut st, "zrem z a x"), ":1\r\n");
    assert_eq!(run(&mut st, "zrem z b c"), ":2\r\n");
    assert!(st.dbs[0].dict.get(b"z").is_none());
}

#[test]
fn zrange_shapes() {
    let mut st = store();
    run(&mut st, "zadd z 1 a 2 b 3 c");
    assert_eq!(
        run(&mut st, "zrange z 0 -1 withscores"),
        "*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        run3(&mut st, "zrange z 0 -1 withscores"),
        "*3\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    );
    assert_eq!(
        run(&mut st, "zrange z 0 -1"),
        "*3\r\n$1\r\na\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        run(&mut st, "zrange z -2 -1"),
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(run(&mut st, "zrange z 5 10"), "*0\r\n");
    assert_eq!(run(&mut st, "zrange z 2 1"), "*0\r\n");
    assert_eq!(run(&mut st, "zrange z -100 0"), "*1\r\n$1\r\na\r\n");
    assert_eq!(run(&mut st, "zrange z 0 0 rev"), "*1\r\n$1\r\nc\r\n");
    assert_eq!(
        run(&mut st, "zrevrange z 0 0 withscores"),
        "*2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(run(&mut st, "zrange no 0 -1"), "*0\r\n");
    // LIMIT with -1 count on a rank range is accepted, as in Redis.
    assert_eq!(run(&mut st, "zrange z 0 -1 limit 1 -1").len(), 25);
    assert_eq!(
        run(&mut st, "zrange z 0 -1 limit 0 1"),
        "-ERR syntax error, LIMIT is only supported in combination with either BYSCORE or BYLEX\r\n"
    );
    let ws = "-ERR syntax error, WITHSCORES not supported in combination with BYLEX\r\n";
    assert_eq!(run(&mut st, "zrange z a b bylex withscores"), ws);
    assert_eq!(run(&mut st, "zrangebylex z - + withscores"), ws);
    assert_eq!(
        run(&mut st, "zrange z (1 x byscore"),
        "-ERR min or max is not a float\r\n"
    );
    assert_eq!(
        run(&mut st, "zrange z [a x bylex"),
        "-ERR min or max not valid string range item\r\n"
    );
    assert_eq!(
        run(&mut st, "zrange z 0 -1 byscore bylex"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        run(&mut st, "zrange z 0 1 rev rev"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(run(&mut st, "zrange z 0 1 foo"), "-ERR syntax error\r\n");
    assert_eq!(
        run(&mut st, "zrange z 0 1 byscore limit 1"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangebyscore z 0 1 limit"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangebyscore z 0 1 rev"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangebyscore z 0 1 limit 0 x"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        run(&mut st, "zrange z x 1"),
        "-ERR value is not an integer or out of range\r\n"
    );
    crate::cmd::set::testutil::run(&mut st, "sadd s a");
    assert_eq!(run(&mut st, "zrange s 0 1"), WT);
}

#[test]
fn score_and_lex_ranges() {
    let mut st = store();
    run(&mut st, "zadd z 1 a 2 b 3 c");
    assert_eq!(run(&mut st, "zrange z (1 (1 byscore"), "*0\r\n");
    assert_eq!(run(&mut st, "zrange z 2 (1 byscore"), "*0\r\n");
    assert_eq!(run(&mut st, "zrangebyscore z 1 (2"), "*1\r\n$1\r\na\r\n");
    assert_eq!(
        run(&mut st, "zrangebyscore z (1 +inf"),
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        run(&mut st, "zrevrangebyscore z 2 1"),
        "*2\r\n$1\r\nb\r\n$1\r\na\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangebyscore z -inf +inf limit -1 2"),
        "*0\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangebyscore z -inf +inf limit 1 -5"),
        "*2\r\n$1\r\nb\r\n$1\r\nc\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangebyscore z -inf +inf limit 1 1"),
        "*1\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangebyscore z -inf +inf limit 5 1"),
        "*0\r\n"
    );
    assert_eq!(
        run(
            &mut st,
            "zrange z +inf -inf byscore rev limit 1 1 withscores"
        ),
        "*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        run(&mut st, "zrevrangebylex z + -"),
        "*3\r\n$1\r\nc\r\n$1\r\nb\r\n$1\r\na\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangebylex z [a (c"),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        run(&mut st, "zrange z + - bylex rev limit 1 1"),
        "*1\r\n$1\r\nb\r\n"
    );
    assert_eq!(run(&mut st, "zrangebylex z (a [b"), "*1\r\n$1\r\nb\r\n");
    assert_eq!(run(&mut st, "zrangebylex z + -"), "*0\r\n");
    assert_eq!(run(&mut st, "zcount z -inf +inf"), ":3\r\n");
    assert_eq!(run(&mut st, "zcount z (1 3"), ":2\r\n");
    assert_eq!(run(&mut st, "zcount no 0 1"), ":0\r\n");
    assert_eq!(
        run(&mut st, "zcount z x 1"),
        "-ERR min or max is not a float\r\n"
    );
    assert_eq!(
        run(&mut st, "zcount z nan 1"),
        "-ERR min or max is not a float\r\n"
    );
    assert_eq!(run(&mut st, "zlexcount z - +"), ":3\r\n");
    assert_eq!(run(&mut st, "zlexcount z [b +"), ":2\r\n");
    assert_eq!(
        run(&mut st, "zlexcount z a b"),
        "-ERR min or max not valid string range item\r\n"
    );
    assert_eq!(
        run(&mut st, "zlexcount z -a +"),
        "-ERR min or max not valid string range item\r\n"
    );
}

#[test]
fn zrangestore_and_zremrange() {
    let mut st = store();
    run(&mut st, "zadd z 1 a 2 b 3 c 4 d");
    assert_eq!(run(&mut st, "zrangestore d z 0 1"), ":2\r\n");
    assert_eq!(
        run(&mut st, "zrange d 0 -1"),
        "*2\r\n$1\r\na\r\n$1\r\nb\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangestore d z (2 +inf byscore limit 0 1"),
        ":1\r\n"
    );
    assert_eq!(
        run(&mut st, "zrangestore d z 0 -1 withscores"),
        "-ERR syntax error\r\n"
    );
    props(&mut st);
    let d0 = st.dirty;
    assert_eq!(run(&mut st, "zrangestore d no 0 -1"), ":0\r\n");
    assert!(st.dbs[0].dict.get(b"d").is_none());
    assert!(st.dirty > d0);
    let d1 = st.dirty;
    assert_eq!(run(&mut st, "zrangestore d no 0 -1"), ":0\r\n");
    assert_eq!(st.dirty, d1, "nothing stored, nothing deleted");
    assert_eq!(
        run(&mut st, "zremrangebyrank z x 1"),
        "-ERR value is not an integer or out of range\r\n"
    );
    assert_eq!(
        run(&mut st, "zremrangebyscore z x 1"),
        "-ERR min or max is not a float\r\n"
    );
    assert_eq!(
        run(&mut st, "zremrangebylex z x y"),
        "-ERR min or max not valid string range item\r\n"
    );
    assert_eq!(run(&mut st, "zremrangebyrank z -1 -1"), ":1\r\n");
    assert_eq!(run(&mut st, "zremrangebyscore z (1 2"), ":1\r\n");
    assert_eq!(run(&mut st, "zremrangebylex z - +"), ":2\r\n");
    assert!(st.dbs[0].dict.get(b"z").is_none());
    assert_eq!(run(&mut st, "zremrangebyrank z 0 -1"), ":0\r\n");
}

#[test]
fn pops_and_shapes() {
    let mut st = store();
    run(&mut st, "zadd z 1 a 2 b 3 c 4 d");
    assert_eq!(run3(&mut st, "zpopmin z"), "*2\r\n$1\r\na\r\n,1\r\n");
    assert_eq!(
        run3(&mut st, "zpopmin z 1"),
        "*1\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    );
    assert_eq!(
        run(&mut st, "zpopmax z 5"),
        "*4\r\n$1\r\nd\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert!(st.dbs[0].dict.get(b"z").is_none());
    assert_eq!(run(&mut st, "zpopmax z"), "*0\r\n");
    assert_eq!(run3(&mut st, "zpopmax z 2"), "*0\r\n");
    let pos = "-ERR value is out of range, must be positive\r\n";
    assert_eq!(run(&mut st, "zpopmin z -1"), pos);
    assert_eq!(run(&mut st, "zpopmin z x"), pos);
    assert_eq!(run(&mut st, "zpopmin z 1 2"), "-ERR syntax error\r\n");
    run(&mut st, "zadd z 1 a");
    assert_eq!(run(&mut st, "zpopmin z 0"), "*0\r\n");
}

#[test]
fn zmpop_and_blocking() {
    let mut st = store();
    run(&mut st, "zadd z 1 a 2 b 3 c");
    props(&mut st);
    assert_eq!(
        run(&mut st, "zmpop 2 no z min"),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(props(&mut st), vec!["ZPOPMIN z 1"]);
    assert_eq!(
        run3(&mut st, "zmpop 1 z max count 10"),
        "*2\r\n$1\r\nz\r\n*2\r\n*2\r\n$1\r\nc\r\n,3\r\n*2\r\n$1\r\nb\r\n,2\r\n"
    );
    assert_eq!(props(&mut st), vec!["ZPOPMAX z 2"]);
    assert_eq!(run(&mut st, "zmpop 1 z min"), "*-1\r\n");
    assert_eq!(run3(&mut st, "zmpop 1 z min"), "_\r\n");
    let nk = "-ERR numkeys should be greater than 0\r\n";
    assert_eq!(run(&mut st, "zmpop 0 z min"), nk);
    assert_eq!(run(&mut st, "zmpop 2 z min"), "-ERR syntax error\r\n");
    assert_eq!(run(&mut st, "zmpop 1 z foo"), "-ERR syntax error\r\n");
    let ce = "-ERR count should be greater than 0\r\n";
    assert_eq!(run(&mut st, "zmpop 1 z min count 0"), ce);
    assert_eq!(run(&mut st, "zmpop 1 z min count x"), ce);
    assert_eq!(
        run(&mut st, "zmpop 1 z min count 1 count 2"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(run(&mut st, "zmpop 1 z min count"), "-ERR syntax error\r\n");
    // Blocking forms.
    assert_eq!(
        run(&mut st, "bzpopmin z x"),
        "-ERR timeout is not a float or out of range\r\n"
    );
    assert_eq!(
        run(&mut st, "bzpopmin z -1"),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        run(&mut st, "bzpopmin z inf"),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(
        run(&mut st, "bzpopmin z 1e300"),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(super::parse_timeout(b"-0.0001", NOW), Ok(None));
    assert_eq!(super::parse_timeout(b"0.0001", NOW), Ok(Some(NOW + 1)));
    assert_eq!(super::parse_timeout(b"0", NOW), Ok(None));
    assert_eq!(
        run(&mut st, "bzmpop -1 1 z min"),
        "-ERR timeout is negative\r\n"
    );
    assert_eq!(run(&mut st, "bzmpop 0 0 z min"), nk);
    run(&mut st, "zadd z 1 a 2 b");
    props(&mut st);
    assert_eq!(
        run3(&mut st, "bzpopmax no z 0"),
        "*3\r\n$1\r\nz\r\n$1\r\nb\r\n,2\r\n"
    );
    assert_eq!(props(&mut st), vec!["ZPOPMAX z"]);
    assert_eq!(
        run(&mut st, "bzmpop 0 1 z min count 5"),
        "*2\r\n$1\r\nz\r\n*1\r\n*2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(props(&mut st), vec!["ZPOPMIN z 1"]);
    // Nothing to serve: block with the keys and deadline, writing nothing.
    let args: Vec<bytes::Bytes> = ["bzpopmin", "z", "y", "1.5"]
        .iter()
        .map(|s| bytes::Bytes::copy_from_slice(s.as_bytes()))
        .collect();
    let mut out = tandem_resp::ReplyBuf::new(tandem_resp::Proto::Resp2);
    let mut ex = crate::Exec::new(&mut st, 0, &mut out, NOW);
    assert!(ex.run(super::bzpopmin, &args));
    let b = ex.block.take().expect("blocks");
    assert_eq!(b.keys.len(), 2);
    assert_eq!(b.deadline_ms, Some(NOW + 1500));
    assert!(out.as_bytes().is_empty());
    // Inside MULTI: reply as a timeout.
    let mut out = tandem_resp::ReplyBuf::new(tandem_resp::Proto::Resp2);
    let mut ex = crate::Exec::new(&mut st, 0, &mut out, NOW);
    ex.in_multi = true;
    assert!(ex.run(super::bzmpop, &args_of("bzmpop 0 1 z min")));
    assert!(ex.block.is_none());
    assert_eq!(out.as_bytes(), b"*-1\r\n");
    // Wrong type met before a non-empty key.
    crate::cmd::set::testutil::run(&mut st, "sadd s a");
    run(&mut st, "zadd z 1 a");
    assert_eq!(run(&mut st, "bzpopmin s z 0"), WT);
}

#[test]
fn zadd_wakes_blocked_and_rerun_serves() {
    let mut st = store();
    st.blocking.insert((0, b"q".to_vec().into_boxed_slice()), 1);
    run(&mut st, "zadd q 5 m");
    assert_eq!(st.ready.len(), 1, "ZADD signals the key as ready");
    let mut out = tandem_resp::ReplyBuf::new(tandem_resp::Proto::Resp2);
    let mut ex = crate::Exec::new(&mut st, 0, &mut out, NOW);
    ex.woken = true;
    assert!(ex.run(super::bzpopmin, &args_of("bzpopmin q 0")));
    assert!(ex.block.is_none());
    assert_eq!(out.as_bytes(), b"*3\r\n$1\r\nq\r\n$1\r\nm\r\n$1\r\n5\r\n");
    assert_eq!(props(&mut st), vec!["ZPOPMIN q"]);
    // Woken but the key is empty again: block again.
    let mut out = tandem_resp::ReplyBuf::new(tandem_resp::Proto::Resp2);
    let mut ex = crate::Exec::new(&mut st, 0, &mut out, NOW);
    ex.woken = true;
    assert!(ex.run(super::bzpopmin, &args_of("bzpopmin q 0")));
    assert!(ex.block.is_some_and(|b| b.deadline_ms.is_none()));
    assert!(out.as_bytes().is_empty());
}

fn args_of(line: &str) -> Vec<bytes::Bytes> {
    line.split(' ')
        .map(|s| bytes::Bytes::copy_from_slice(s.as_bytes()))
        .collect()
}

#[test]
fn algebra() {
    let mut st = store();
    run(&mut st, "zadd z 1 a 2 b 3 c");
    crate::cmd::set::testutil::run(&mut st, "sadd s a x");
    assert_eq!(
        run(&mut st, "zunionstore d 2 z s weights 2 3 aggregate max"),
        ":4\r\n"
    );
    assert_eq!(
        run(&mut st, "zrange d 0 -1 withscores"),
        "*8\r\n$1\r\na\r\n$1\r\n3\r\n$1\r\nx\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n4\r\n$1\r\nc\r\n$1\r\n6\r\n"
    );
    assert_eq!(
        run(&mut st, "zinter 2 z s withscores"),
        "*2\r\n$1\r\na\r\n$1\r\n2\r\n"
    );
    assert_eq!(
        run3(&mut st, "zunion 2 z s withscores aggregate min"),
        "*4\r\n*2\r\n$1\r\na\r\n,1\r\n*2\r\n$1\r\nx\r\n,1\r\n*2\r\n$1\r\nb\r\n,2\r\n*2\r\n$1\r\nc\r\n,3\r\n"
    );
    assert_eq!(run(&mut st, "zdiff 2 z s"), "*2\r\n$1\r\nb\r\n$1\r\nc\r\n");
    assert_eq!(
        run(&mut st, "zdiff 2 z s weights 1 1"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(run(&mut st, "zinterstore d 2 z no"), ":0\r\n");
    assert!(st.dbs[0].dict.get(b"d").is_none());
    assert_eq!(run(&mut st, "zdiffstore d 1 z"), ":3\r\n");
    assert_eq!(run(&mut st, "zintercard 2 z s"), ":1\r\n");
    assert_eq!(run(&mut st, "zintercard 1 z limit 2"), ":2\r\n");
    assert_eq!(
        run(&mut st, "zunionstore d 0 z"),
        "-ERR at least 1 input key is needed for 'zunionstore' command\r\n"
    );
    assert_eq!(
        run(&mut st, "zunion 0 z"),
        "-ERR at least 1 input key is needed for 'zunion' command\r\n"
    );
    assert_eq!(
        run(&mut st, "zintercard 0 z"),
        "-ERR at least 1 input key is needed for 'zintercard' command\r\n"
    );
    assert_eq!(run(&mut st, "zunionstore d 2 z"), "-ERR syntax error\r\n");
    assert_eq!(
        run(&mut st, "zunion 1 z weights 1 2"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        run(&mut st, "zunion 1 z weights x"),
        "-ERR weight value is not a float\r\n"
    );
    assert_eq!(
        run(&mut st, "zunion 1 z aggregate foo"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        run(&mut st, "zunionstore d 1 z withscores"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        run(&mut st, "zintercard 1 z limit -1"),
        "-ERR LIMIT can't be negative\r\n"
    );
    assert_eq!(
        run(&mut st, "zunion x z"),
        "-ERR value is not an integer or out of range\r\n"
    );
    // inf * 0 weights count as 0; inf + -inf sums to 0.
    run(&mut st, "zadd i inf m");
    run(&mut st, "zadd j -inf m");
    assert_eq!(
        run(&mut st, "zunion 1 i weights 0 withscores"),
        "*2\r\n$1\r\nm\r\n$1\r\n0\r\n"
    );
    assert_eq!(
        run(&mut st, "zunion 2 i j withscores"),
        "*2\r\n$1\r\nm\r\n$1\r\n0\r\n"
    );
    crate::cmd::set::testutil::run(&mut st, "sadd str2 q");
    st.set_key(
        0,
        b"str",
        crate::Value::Str(crate::types::string::Str::from_bytes(b"v")),
        false,
        NOW,
    );
    assert_eq!(run(&mut st, "zunion 2 no str"), WT);
}

#[test]
fn zrandmember_and_zscan() {
    let mut st = store();
    assert_eq!(run(&mut st, "zrandmember no"), "$-1\r\n");
    assert_eq!(run(&mut st, "zrandmember no 2"), "*0\r\n");
    run(&mut st, "zadd z 1 a 2 b 3 c");
    assert_eq!(run(&mut st, "zrandmember z 0"), "*0\r\n");
    assert!(run(&mut st, "zrandmember z -5").starts_with("*5\r\n"));
    assert!(run(&mut st, "zrandmember z 2 withscores").starts_with("*4\r\n"));
    assert!(run3(&mut st, "zrandmember z 2 withscores").starts_with("*2\r\n*2\r\n"));
    assert_eq!(
        run(&mut st, "zrandmember z 10 withscores"),
        "*6\r\n$1\r\nc\r\n$1\r\n3\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\na\r\n$1\r\n1\r\n"
    );
    assert_eq!(run(&mut st, "zrandmember z 1 foo"), "-ERR syntax error\r\n");
    for c in [
        "-9223372036854775807",
        "-4611686018427387904",
        "9223372036854775807",
    ] {
        assert_eq!(
            run(&mut st, &format!("zrandmember z {c} withscores")),
            "-ERR value is out of range\r\n"
        );
    }
    run(&mut st, "zadd negzero -0 m");
    assert_eq!(run(&mut st, "zscore negzero m"), "$1\r\n0\r\n");
    // A listpack stores -0 as 0, but ZUNION/ZINTER compute in a skiplist,
    // which keeps -0 (0 * -2 + 0 * -1 is -0), as does a big zset (replies
    // taken from redis-server 7.0.15).
    run(&mut st, "zadd nz 0 a 1 b");
    assert_eq!(
        run(&mut st, "zunion 2 nz nz weights -2 -1 withscores"),
        "*4\r\n$1\r\nb\r\n$2\r\n-3\r\n$1\r\na\r\n$2\r\n-0\r\n"
    );
    assert_eq!(
        run(&mut st, "zinter 2 nz nz weights -2 -1 withscores"),
        "*4\r\n$1\r\nb\r\n$2\r\n-3\r\n$1\r\na\r\n$2\r\n-0\r\n"
    );
    run(&mut st, "zunionstore nzs 2 nz nz weights -2 -1");
    assert_eq!(run(&mut st, "zscore nzs a"), "$1\r\n0\r\n");
    assert_eq!(
        run(&mut st, "zrandmember z 1 withscores x"),
        "-ERR syntax error\r\n"
    );
    assert_eq!(
        run(&mut st, "zrandmember z -9223372036854775808"),
        "-ERR value is out of range, value must between -9223372036854775807 and 9223372036854775807\r\n"
    );
    assert_eq!(
        run(&mut st, "zscan z 0"),
        "*2\r\n$1\r\n0\r\n*6\r\n$1\r\na\r\n$1\r\n1\r\n$1\r\nb\r\n$1\r\n2\r\n$1\r\nc\r\n$1\r\n3\r\n"
    );
    assert_eq!(
        run(&mut st, "zscan z 0 match b"),
        "*2\r\n$1\r\n0\r\n*2\r\n$1\r\nb\r\n$1\r\n2\r\n"
    );
    assert_eq!(run(&mut st, "zscan z x"), "-ERR invalid cursor\r\n");
    assert_eq!(
        super::scan_score(123456789012345678.0, true),
        b"123456789012345680"
    );
    assert_eq!(super::scan_score(-3.0, false), b"-3");
    assert_eq!(super::scan_score(1.5, true), b"1.5");
    assert_eq!(run(&mut st, "zscan no 0"), "*2\r\n$1\r\n0\r\n*0\r\n");
    for i in 0..300 {
        run(&mut st, &format!("zadd big {i} m{i}"));
    }
    let mut cursor = "0".to_string();
    let mut seen = std::collections::HashSet::new();
    loop {
        let r = run(&mut st, &format!("zscan big {cursor} count 7"));
        let parts: Vec<&str> = r.split("\r\n").collect();
        cursor = parts[2].to_string();
        seen.extend(
            parts[4..]
                .iter()
                .filter(|p| p.starts_with('m'))
                .map(|s| s.to_string()),
        );
        if cursor == "0" {
            break;
        }
    }
    assert_eq!(seen.len(), 300);
}
