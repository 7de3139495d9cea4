//! CLUSTER, ASKING, READONLY, READWRITE, RESTORE-ASKING and MODULE answer as a
//! redis-server 7.0 without cluster mode and modules answers them: compared
//! reply for reply with a real redis-server, in RESP2 and RESP3.

mod common;

use std::io::{Read, Write};

use common::{case, same_replies_as_redis, same_replies_as_redis_with, Proc};

const CASES: &[&[&str]] = &[
    &["CLUSTER", "INFO"],
    &["CLUSTER", "SLOTS"],
    &["CLUSTER", "HELP"],
    &["CLUSTER", "KEYSLOT", "k"],
    &["CLUSTER"],
    &["CLUSTER", "NOPE"],
    &["CLUSTER", "INFO", "extra"],
    &["ASKING"],
    &["READONLY"],
    &["READWRITE"],
    &["READONLY", "x"],
    &["MODULE", "LIST"],
    &["MODULE", "HELP"],
    &["MODULE"],
    &["MODULE", "NOPE"],
    &["MODULE", "LIST", "x"],
    &["MODULE", "LOAD", "/nonexistent/module.so"],
    &["MODULE", "LOADEX", "/nonexistent/module.so", "ARGS", "a"],
    &["MODULE", "UNLOAD", "search"],
    &[
        "COMMAND",
        "INFO",
        "asking",
        "readonly",
        "readwrite",
        "restore-asking",
    ],
    &[
        "COMMAND",
        "DOCS",
        "asking",
        "readonly",
        "readwrite",
        "restore-asking",
    ],
    &[
        "COMMAND",
        "INFO",
        "module|list",
        "module|load",
        "cluster|info",
    ],
    &["COMMAND", "GETKEYS", "RESTORE-ASKING", "k", "0", "x"],
    &["RESTORE-ASKING", "k", "0", "garbage"],
    &["RESTORE-ASKING", "k"],
    &["SET", "k", "v"],
    &["RESTORE-ASKING", "k", "0", "garbage"],
];

#[test]
fn cluster_and_module_commands_answer_as_redis_without_them() {
    for resp3 in [false, true] {
        let t = same_replies_as_redis(CASES, resp3);
        // The replies are the refusals, not "unknown command".
        assert!(case(&t, r#"["CLUSTER", "INFO"]"#).contains("cluster support disabled"));
        assert!(case(&t, r#"["MODULE", "LOAD""#).contains("MODULE command not allowed"));
        assert!(case(&t, r#"["MODULE", "LIST"]"#).contains(r#"*0\r\n"#));
    }
}

#[test]
fn module_load_and_unload_fail_as_in_redis_when_allowed() {
    let cases: &[&[&str]] = &[
        &["MODULE", "LOAD", "/nonexistent/module.so"],
        &[
            "MODULE",
            "LOADEX",
            "/nonexistent/module.so",
            "CONFIG",
            "a",
            "b",
        ],
        &["MODULE", "UNLOAD", "search"],
        &["MODULE", "LIST"],
    ];
    let t = same_replies_as_redis_with(cases, false, &["--enable-module-command", "yes"]);
    assert!(case(&t, r#"["MODULE", "LOAD""#).contains("Error loading the extension"));
    assert!(case(&t, r#"["MODULE", "UNLOAD""#).contains("no such module with that name"));
}

#[test]
fn restore_asking_restores_like_restore() {
    let node = Proc::tandem(&[]);
    let mut c = node.client();
    let () = redis::cmd("RPUSH")
        .arg("l")
        .arg(&["a", "b", "c"])
        .query(&mut c)
        .expect("RPUSH");
    let payload: Vec<u8> = redis::cmd("DUMP").arg("l").query(&mut c).expect("DUMP");
    let () = redis::cmd("RESTORE-ASKING")
        .arg("l2")
        .arg(0)
        .arg(&payload)
        .query(&mut c)
        .expect("RESTORE-ASKING");
    let got: Vec<String> = redis::cmd("LRANGE")
        .arg("l2")
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .expect("LRANGE");
    assert_eq!(got, ["a", "b", "c"]);
}

#[test]
fn protected_commands_are_refused_before_authentication_as_in_redis() {
    // Unauthenticated: each reply is one error line.
    let requests =
        b"DEBUG SLEEP 0\r\nMODULE LOAD /x.so\r\nMODULE LIST\r\nCLUSTER INFO\r\nGET k\r\n";
    let lines = |p: &Proc| {
        let mut s = p.raw();
        s.write_all(requests).expect("write");
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        while got.windows(2).filter(|w| w == b"\r\n").count() < 5 {
            let n = s.read(&mut buf).expect("replies within 10 s");
            assert!(n > 0, "closed after {got:?}");
            got.extend_from_slice(&buf[..n]);
        }
        String::from_utf8_lossy(&got).into_owned()
    };
    let args = ["--requirepass", "pw"];
    let (t, r) = (lines(&Proc::tandem(&args)), lines(&Proc::redis(&args)));
    assert_eq!(t, r);
    assert!(t.starts_with("-ERR DEBUG command not allowed."), "{t}");
}
