//! MIGRATE against real servers: Tandem and redis-server as the source, each
//! moving keys to the same redis-server target, must give the same replies
//! (OK, NOKEY, KEYS, COPY, REPLACE, AUTH, a target's refusals, a target that
//! is not there, argument errors) and leave the same data on both sides.
//! Then Tandem to Tandem, MIGRATE inside MULTI, and the DEL reaching a
//! replica.

mod common;

use std::time::Duration;

use common::{free_port, transcript, wait_for, Kind, Proc};

fn steps(target: u16, closed: u16) -> Vec<Vec<String>> {
    let t = target.to_string();
    let c = closed.to_string();
    let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
    vec![
        s(&["SET", "a", "1"]),
        s(&["SET", "b", "2", "PX", "100000"]),
        s(&["RPUSH", "l", "x", "y"]),
        s(&["HSET", "h", "f", "v"]),
        s(&["SET", "l2", "v"]),
        s(&["MIGRATE", "127.0.0.1", &t, "a", "0", "1000"]),
        s(&["MIGRATE", "127.0.0.1", &t, "a", "0", "1000"]),
        s(&[
            "MIGRATE",
            "127.0.0.1",
            &t,
            "x",
            "0",
            "1000",
            "KEYS",
            "b",
            "l",
        ]),
        s(&[
            "MIGRATE",
            "127.0.0.1",
            &t,
            "",
            "0",
            "1000",
            "KEYS",
            "b",
            "l",
            "nokey",
        ]),
        s(&["MIGRATE", "127.0.0.1", &c, "", "0", "200", "KEYS", "h"]),
        s(&[
            "MIGRATE",
            "127.0.0.1",
            &t,
            "",
            "3",
            "1000",
            "COPY",
            "KEYS",
            "h",
        ]),
        s(&["MIGRATE", "127.0.0.1", &t, "l2", "0", "1000"]),
        s(&["MIGRATE", "127.0.0.1", &t, "l2", "0", "1000", "REPLACE"]),
        s(&["MIGRATE", "127.0.0.1", &t, "h", "0", "1000", "AUTH", "pw"]),
        s(&[
            "MIGRATE",
            "127.0.0.1",
            &t,
            "h",
            "0",
            "1000",
            "AUTH2",
            "u",
            "pw",
        ]),
        s(&["MIGRATE", "127.0.0.1", &t, "h", "0", "1000", "AUTH"]),
        s(&["MIGRATE", "127.0.0.1", &t, "h", "0", "x"]),
        s(&["MIGRATE", "127.0.0.1", &t, "h", "y", "1000"]),
        s(&["MIGRATE", "127.0.0.1", &t, "h", "0", "1000", "NOSUCH"]),
        s(&["MIGRATE", "127.0.0.1", &t, "h", "0"]),
        s(&["KEYS", "*"]),
        s(&["EXISTS", "h"]),
    ]
}

/// The target's keys, TTL flags and values in databases 0 and 3.
fn target_data(p: &Proc) -> Vec<String> {
    let mut out = Vec::new();
    for db in ["0", "3"] {
        let n = p.cli_str(&["-n", db, "DBSIZE"]);
        out.push(format!("db{db} {n}"));
        for k in ["a", "b", "l", "h", "l2"] {
            let dump = p.cli_str(&["-n", db, "TYPE", k]);
            let ttl: i64 = p.cli_str(&["-n", db, "PTTL", k]).parse().unwrap_or(-3);
            out.push(format!("{k} {dump} ttl>0:{}", ttl > 0));
        }
    }
    out.push(p.cli_str(&["LRANGE", "l", "0", "-1"]));
    out.push(p.cli_str(&["GET", "l2"]));
    out
}

#[test]
fn migrate_replies_and_moves_as_redis_does() {
    let target = Proc::redis(&[]);
    let closed = free_port();
    let mut runs = Vec::new();
    for kind in [Kind::Tandem, Kind::Redis] {
        assert_eq!(target.cli_str(&["FLUSHALL"]), "OK");
        assert_eq!(target.cli_str(&["SET", "l2", "old"]), "OK");
        let src = Proc::start(kind, &[]);
        let reqs: Vec<(String, Vec<u8>)> = steps(target.port, closed)
            .iter()
            .map(|s| {
                let v: Vec<&str> = s.iter().map(String::as_str).collect();
                (
                    format!("{v:?}")
                        .replace(&target.port.to_string(), "TARGET")
                        .replace(&closed.to_string(), "CLOSED"),
                    common::encode(&v),
                )
            })
            .collect();
        let t = transcript(&src, false, &reqs);
        runs.push((t, target_data(&target)));
    }
    assert_eq!(runs[0].0, runs[1].0, "replies: Tandem (left), redis-server");
    assert_eq!(runs[0].1, runs[1].1, "target data");
    let t = &runs[0].0;
    assert!(common::case(t, r#"["MIGRATE", "127.0.0.1", "CLOSED""#).contains("IOERR"));
    assert!(common::case(
        t,
        r#"["MIGRATE", "127.0.0.1", "TARGET", "l2", "0", "1000"]"#
    )
    .contains("BUSYKEY"));
}

/// Tandem to Tandem, in MULTI too; the moved key's DEL reaches a replica.
#[test]
fn migrate_between_tandem_nodes_replicates_the_delete() {
    let src = Proc::tandem(&[]);
    let dst = Proc::tandem(&[]);
    let replica = Proc::tandem(&["--replicaof", "127.0.0.1", &src.port.to_string()]);
    assert_eq!(src.cli_str(&["SET", "k", "v"]), "OK");
    assert_eq!(src.cli_str(&["SADD", "s", "1", "2"]), "2");
    wait_for(Duration::from_secs(10), "the replica has k", || {
        replica.cli_str(&["GET", "k"]) == "v"
    });
    let port = dst.port.to_string();
    assert_eq!(
        src.cli_str(&["MIGRATE", "127.0.0.1", &port, "k", "0", "1000"]),
        "OK"
    );
    assert_eq!(dst.cli_str(&["GET", "k"]), "v");
    assert_eq!(src.cli_str(&["EXISTS", "k"]), "0");
    wait_for(Duration::from_secs(10), "the replica deletes k", || {
        replica.cli_str(&["EXISTS", "k"]) == "0"
    });
    // Inside MULTI the transfer runs in place.
    let tx = format!("MULTI\r\nMIGRATE 127.0.0.1 {port} s 0 1000\r\nEXEC\r\n");
    let t = transcript(&src, false, &[("tx".to_string(), tx.into_bytes())]);
    assert!(t[0].contains("*1\\r\\n+OK"), "{t:?}");
    assert_eq!(dst.cli_str(&["SCARD", "s"]), "2");
    assert_eq!(src.cli_str(&["EXISTS", "s"]), "0");
}
