//! SORT and SORT_RO against a real redis-server, reply for reply: numbers and
//! ALPHA, BY keys and hash fields, GET patterns, LIMIT edges, "no sort" orders,
//! STORE, the conversion errors and option errors, and the sorted-set
//! encoding SORT leaves behind. (The differential test runs random SORTs too,
//! without the cases where Redis's own order is not defined.)

mod common;

use common::Proc;

const SETUP: &[&[&str]] = &[
    &["RPUSH", "l", "3", "1", "2", "10", "b", "a", "", " 5"],
    &["RPUSH", "n", "3", "1", "2", "10", "-1", "1.5", "0x10"],
    &["SADD", "s", "5", "3", "9", "1"],
    &["SADD", "t", "x", "b", "a"],
    &["ZADD", "z", "1", "c", "2", "b", "3", "a"],
    &[
        "MSET", "w_3", "30", "w_1", "10", "w_2", "20", "w_10", "5", "o_3", "three", "o_1", "one",
    ],
    &["MSET", "k_a", "b", "k_b", "a", "k_x", "c"],
    &["HSET", "h_1", "f", "9"],
    &["HSET", "h_2", "f", "1"],
    &["SET", "str", "x"],
];

const CASES: &[&[&str]] = &[
    &["SORT", "n"],
    &["SORT", "n", "DESC"],
    &["SORT", "n", "LIMIT", "1", "2"],
    &["SORT", "n", "LIMIT", "-5", "3"],
    &["SORT", "n", "LIMIT", "2", "-1"],
    &["SORT", "n", "LIMIT", "10", "2"],
    &["SORT", "n", "LIMIT", "0", "0"],
    &["SORT", "l"],
    &["SORT", "l", "ALPHA"],
    &["SORT", "l", "ALPHA", "DESC"],
    &["SORT", "n", "BY", "w_*"],
    &["SORT", "n", "BY", "w_*", "GET", "o_*", "GET", "#"],
    &["SORT", "n", "BY", "w_*", "LIMIT", "1", "2"],
    &["SORT", "n", "BY", "nosort"],
    &["SORT", "n", "BY", "nosort", "DESC", "LIMIT", "1", "2"],
    &["SORT", "t", "BY", "k_*", "ALPHA"],
    &["SORT", "t", "BY", "k_*", "ALPHA", "DESC", "LIMIT", "0", "2"],
    &["SORT", "l", "BY", "k_*", "ALPHA"],
    &["OBJECT", "ENCODING", "z"],
    &["SORT", "z"],
    &["OBJECT", "ENCODING", "z"],
    &["SORT", "z", "ALPHA"],
    &["SORT", "z", "BY", "nosort", "DESC"],
    &["SORT", "z", "BY", "nosort", "LIMIT", "1", "1"],
    &["SORT", "s"],
    &["SORT", "s", "DESC", "LIMIT", "1", "2"],
    &["SORT", "t", "ALPHA"],
    &["SORT", "t"],
    &["SORT", "t", "BY", "nosort", "STORE", "dst"],
    &["LRANGE", "dst", "0", "-1"],
    &["SORT", "n", "BY", "h_*->f"],
    &[
        "SORT", "n", "BY", "h_*->f", "GET", "h_*->f", "GET", "#", "LIMIT", "0", "3",
    ],
    &["SORT", "n", "BY", "w_*", "ALPHA"],
    &["SORT", "n", "STORE", "dst2"],
    &["LRANGE", "dst2", "0", "-1"],
    &["SORT", "missing", "STORE", "dst2"],
    &["EXISTS", "dst2"],
    &["SORT", "missing"],
    &["SORT", "n", "GET", "o_*", "STORE", "dst3"],
    &["LRANGE", "dst3", "0", "-1"],
    &["SORT", "n", "foo"],
    &["SORT", "n", "LIMIT", "1"],
    &["SORT", "n", "LIMIT", "a", "1"],
    &["SORT_RO", "n", "STORE", "x"],
    &["SORT", "str"],
    &["SORT", "str", "foo"],
    &["SORT", "n", "BY", "w_*-"],
    &["SORT", "n", "BY", "w_*->", "GET", "w_*->"],
    &["SORT", "n", "BY", "h_*->"],
    &["SORT", "n", "GET", "#x"],
    &["SORT", "n", "GET", "nostar"],
    &["SORT_RO", "n", "DESC", "LIMIT", "0", "2"],
];

fn run(p: &Proc) -> Vec<String> {
    let mut c = p.client();
    for args in SETUP {
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        let _: redis::Value = cmd.query(&mut c).expect("setup");
    }
    CASES
        .iter()
        .map(|args| {
            let mut cmd = redis::cmd(args[0]);
            for a in &args[1..] {
                cmd.arg(*a);
            }
            let r: redis::RedisResult<redis::Value> = cmd.query(&mut c);
            format!("{args:?} -> {r:?}")
        })
        .collect()
}

#[test]
fn sort_replies_as_redis_does() {
    let tandem = run(&Proc::tandem(&[]));
    let redis = run(&Proc::redis(&[]));
    for (t, r) in tandem.iter().zip(&redis) {
        assert_eq!(t, r);
    }
    assert!(
        tandem[11].contains("one") && tandem[11].contains("three"),
        "GET o_* found the strings: {}",
        tandem[11]
    );
    assert!(tandem[20].contains("skiplist"), "{}", tandem[20]);
}
