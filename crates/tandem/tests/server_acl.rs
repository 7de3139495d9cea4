//! ACL of the `default` user: the reading subcommands against a real
//! redis-server reply for reply (no password, then `requirepass`), ACL LOG of
//! failed authentications (other users: `server_acl_users.rs`).

mod common;

use std::io::{Read, Write};

use common::Proc;

/// A connection authenticated with `pw`.
fn authed(p: &Proc) -> redis::Connection {
    redis::Client::open(format!("redis://:pw@{}", p.addr()))
        .and_then(|c| c.get_connection())
        .expect("connect with the password")
}

/// Sends one request and reads its one-line reply.
fn one_line(s: &mut std::net::TcpStream, req: &[u8]) -> Vec<u8> {
    s.write_all(req).expect("write");
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while !got.ends_with(b"\r\n") {
        assert_eq!(s.read(&mut b).expect("read"), 1, "closed");
        got.push(b[0]);
    }
    got
}

const CASES: &[&[&str]] = &[
    &["ACL", "WHOAMI"],
    &["ACL", "USERS"],
    &["ACL", "LIST"],
    &["ACL", "GETUSER", "default"],
    &["ACL", "GETUSER", "nobody"],
    &["ACL", "CAT"],
    &["ACL", "CAT", "nosuch"],
    &["ACL", "CAT", "STRING", "x"],
    &["ACL", "LOG", "1", "2"],
    &["ACL", "GENPASS", "1", "2"],
    &["ACL", "LOG", "RESET"],
    &["ACL", "LOG"],
    &["ACL", "LOG", "x"],
    &["ACL", "SAVE"],
    &["ACL", "LOAD"],
    &["ACL", "DRYRUN", "default", "get", "k"],
    &["ACL", "DRYRUN", "default", "nosuch"],
    &["ACL", "DRYRUN", "nobody", "get", "k"],
    &["ACL", "DRYRUN", "default", "get"],
    &["ACL", "DRYRUN", "default", "set", "x"],
    &["ACL", "DRYRUN", "default", "config", "foo"],
    &["ACL", "DRYRUN", "default", "config"],
    &["ACL", "DRYRUN", "default", "config", "get"],
    &["ACL", "DRYRUN", "default", "CONFIG", "GET", "x"],
    &["ACL", "DELUSER", "nobody"],
    &["ACL", "DELUSER", "nobody", "default"],
    &["ACL", "GENPASS", "x"],
    &["ACL", "GENPASS", "0"],
    &["ACL", "GENPASS", "5000"],
    &["ACL", "NOSUCH"],
    &["ACL", "WHOAMI", "x"],
    &["ACL", "HELP"],
    &["ACL"],
    &["AUTH", "default", "anything"],
    &["CONFIG", "SET", "requirepass", "foo"],
    &["AUTH", "default", "foo"],
    &["ACL", "LIST"],
    &["ACL", "GETUSER", "default"],
    &["CONFIG", "SET", "requirepass", ""],
    &["ACL", "LIST"],
];

#[test]
fn acl_replies_as_redis_does() {
    for resp3 in [false, true] {
        let t = common::same_replies_as_redis(CASES, resp3);
        assert!(common::case(&t, r#"["ACL", "WHOAMI"]"#).contains("default"));
        assert!(common::case(&t, r#"["ACL", "CAT"]"#).contains("scripting"));
    }
}

/// The commands of a category are the table's (Redis lists them in its
/// dictionary's order): every string command, subcommands as `container|sub`.
#[test]
fn acl_cat_lists_a_category_commands() {
    let p = Proc::tandem(&[]);
    let list = p.cli_str(&["ACL", "CAT", "string"]);
    let names: Vec<&str> = list.lines().collect();
    for want in ["get", "set", "incrbyfloat", "lcs", "getex"] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    assert!(!names.contains(&"lpush"), "{names:?}");
    let scripting = p.cli_str(&["ACL", "CAT", "scripting"]);
    assert!(
        scripting.lines().any(|l| l == "function|load"),
        "{scripting}"
    );
    assert!(scripting.lines().any(|l| l == "fcall"), "{scripting}");
}

/// Failed AUTH and HELLO AUTH land in ACL LOG as Redis records them: grouped
/// by username within a minute, newest first, with the client's CLIENT LIST
/// line; RESET empties it. The same fields as Redis, compared field by field
/// (the ages and client lines differ by nature).
#[test]
fn failed_authentications_are_logged() {
    fn entries(p: &Proc) -> Vec<Vec<(String, String)>> {
        let mut c = authed(p);
        let v: redis::Value = redis::cmd("ACL").arg("LOG").query(&mut c).expect("ACL LOG");
        let redis::Value::Array(items) = v else {
            panic!("ACL LOG: {v:?}")
        };
        items
            .into_iter()
            .map(|e| {
                let redis::Value::Array(kv) = e else {
                    panic!("entry {e:?}")
                };
                kv.chunks(2)
                    .map(|pair| {
                        let text = |v: &redis::Value| match v {
                            redis::Value::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                            redis::Value::Int(n) => n.to_string(),
                            other => format!("{other:?}"),
                        };
                        (text(&pair[0]), text(&pair[1]))
                    })
                    .filter(|(k, _)| k != "age-seconds" && k != "client-info")
                    .collect()
            })
            .collect()
    }
    let tandem = Proc::tandem(&["--requirepass", "pw"]);
    let redis = Proc::redis(&["--requirepass", "pw"]);
    for p in [&tandem, &redis] {
        let mut s = p.raw();
        for req in [
            "AUTH bob x\r\n",
            "AUTH bob y\r\n",
            "AUTH default wrong\r\n",
            "HELLO 3 AUTH alice z\r\n",
        ] {
            let reply = one_line(&mut s, req.as_bytes());
            assert!(reply.starts_with(b"-WRONGPASS"), "{req}: {reply:?}");
        }
    }
    let got = entries(&tandem);
    assert_eq!(got, entries(&redis));
    assert_eq!(got.len(), 3, "{got:?}");
    assert_eq!(got[0][4], ("username".into(), "alice".into()));
    assert_eq!(got[2][0], ("count".into(), "2".into()));
    let mut c = authed(&tandem);
    let line: String = redis::cmd("ACL")
        .arg("LOG")
        .arg(1)
        .query::<redis::Value>(&mut c)
        .map(|v| format!("{v:?}"))
        .expect("log 1");
    assert!(
        line.contains("client-info") && line.contains("addr="),
        "{line}"
    );
    let _: () = redis::cmd("ACL")
        .arg("LOG")
        .arg("RESET")
        .query(&mut c)
        .expect("reset");
    assert!(entries(&tandem).is_empty());
    // A user made with ACL SETUSER fails and is logged the same way.
    let () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg("bob")
        .arg("on")
        .arg(">right")
        .query(&mut c)
        .expect("setuser");
    let mut s = std::net::TcpStream::connect(tandem.addr()).expect("connect");
    assert!(one_line(&mut s, b"AUTH bob wrong\r\n").starts_with(b"-WRONGPASS"));
    assert_eq!(one_line(&mut s, b"AUTH bob right\r\n"), b"+OK\r\n");
    let got = entries(&tandem);
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0][4], ("username".into(), "bob".into()));
}

/// The ACL file: users read at start, ACL SAVE writes them as ACL LIST shows
/// them, ACL LOAD replaces them all or, with any error, nothing; the errors
/// are Redis's, line numbers included.
#[test]
fn the_acl_file_loads_and_saves_as_redis() {
    let run = |redis: bool| -> Vec<String> {
        let dir = tempfile::tempdir().expect("temp dir");
        let file = dir.path().join("users.acl");
        let path = file.to_str().expect("utf-8 path").to_string();
        std::fs::write(&file, "user alice on >pw ~* &* +@all\n").expect("write");
        let args = ["--aclfile", path.as_str()];
        let p = if redis {
            Proc::redis(&args)
        } else {
            Proc::tandem(&args)
        };
        let mut out = Vec::new();
        let mut step = |args: &[&str]| out.push(p.cli_str(args).replace(&path, "FILE"));
        step(&["ACL", "LIST"]);
        step(&["ACL", "SETUSER", "bob", "on", "nopass", "~k*", "+get"]);
        step(&["ACL", "SAVE"]);
        out.push(std::fs::read_to_string(&file).expect("saved file"));
        for (text, _why) in [
            ("user alice on >pw\nuser carol foo\n", "a bad rule"),
            ("user alice on\nuser alice off\n", "a duplicate"),
            ("bogus line\n", "no user keyword"),
            ("# comment\n", "7.0 has no comments"),
            (
                "\nuser default on nopass ~* &* +@all\nuser dan on nopass +get\n",
                "good",
            ),
        ] {
            std::fs::write(&file, text).expect("write");
            let mut step = |args: &[&str]| out.push(p.cli_str(args).replace(&path, "FILE"));
            step(&["ACL", "LOAD"]);
            step(&["ACL", "LIST"]);
        }
        std::fs::remove_file(&file).expect("remove");
        out.push(p.cli_str(&["ACL", "LOAD"]).replace(&path, "FILE"));
        out
    };
    let (ours, redis) = (run(false), run(true));
    assert_eq!(ours, redis);
    assert!(redis.iter().any(|l| l.contains("user dan on nopass")));
    assert!(redis.iter().any(|l| l.contains("FILE:2: Syntax error.")));
}

/// A missing ACL file, or users both in the configuration and in a file,
/// stop the server at start.
#[test]
fn a_bad_acl_setup_stops_the_server_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("none.acl");
    let missing = missing.to_str().expect("utf-8 path");
    for args in [
        vec!["server", "--port", "0", "--aclfile", missing],
        vec![
            "server",
            "--port",
            "0",
            "--aclfile",
            missing,
            "--user",
            "x",
            "on",
        ],
    ] {
        let out = std::process::Command::new(common::tandem_bin())
            .args(&args)
            .output()
            .expect("run tandem");
        assert!(!out.status.success(), "{args:?} started");
        let err = String::from_utf8_lossy(&out.stderr).to_string()
            + &String::from_utf8_lossy(&out.stdout);
        assert!(
            err.contains("ACL errors: Error loading ACLs, opening file")
                || err.contains("users defined in redis.conf and at the same setting an ACL file"),
            "{err}"
        );
    }
}

/// Without an ACL file, CONFIG REWRITE writes the users as `user` lines and a
/// restart from that file has the same users.
#[test]
fn config_rewrite_keeps_the_users() {
    let dir = tempfile::tempdir().expect("temp dir");
    let conf = dir.path().join("tandem.conf");
    std::fs::write(&conf, "appendonly no\n").expect("write");
    let conf = conf.to_str().expect("utf-8 path").to_string();
    // The harness passes the file first, then its own port and dir.
    let mut p = Proc::tandem(&[&conf]);
    for rules in [
        &[
            "ACL", "SETUSER", "alice", "on", ">pw", "%R~r:*", "&news", "+@read", "-keys",
        ][..],
        &["ACL", "SETUSER", "bob", "off", "nopass", "(~b* +get)"][..],
    ] {
        assert_eq!(p.cli_str(rules), "OK");
    }
    let before = p.cli_str(&["ACL", "LIST"]);
    assert_eq!(p.cli_str(&["CONFIG", "REWRITE"]), "OK");
    let text = std::fs::read_to_string(&conf).expect("rewritten");
    assert!(text.contains("user alice on #"), "{text}");
    p.restart();
    assert_eq!(p.cli_str(&["ACL", "LIST"]), before);
}
