//! ACL users through `tandem proxy`: a client's `AUTH user pass` (or `HELLO ...
//! AUTH user pass`) is checked by the master, and from then on the client's
//! requests run as that user, on a dedicated link logged in as it, across a
//! switch of master too; the proxy's own links log in as `--backend-user`.
//! Checked in front of a real redis-server and of a Tandem node, reply for
//! reply against the same requests sent to the node directly.

mod common;
#[path = "proxy/harness.rs"]
mod harness;

use std::io::Write;
use std::net::TcpStream;
use std::time::Duration;

use common::{encode, wait_for, Kind, Proc};
use harness::{ends_with, send_raw, write_topology, ProxyProc};

/// The proxy's own user, a user limited to `app:*` keys without FLUSHALL, and
/// a disabled one.
const USERS: &[&[&str]] = &[
    &[
        "ACL", "SETUSER", "proxy", "on", ">pxpw", "~*", "&*", "+@all",
    ],
    &[
        "ACL",
        "SETUSER",
        "alice",
        "on",
        ">alicepw",
        "~app:*",
        "+@all",
        "-flushall",
    ],
    &["ACL", "SETUSER", "bob", "off", ">bobpw", "~*", "+@all"],
];

/// A node whose default user has a password the proxy does not know.
fn node_with_users(kind: Kind, users: &[&[&str]]) -> Proc {
    let node = Proc::start(kind, &["--requirepass", "nodepw"]);
    for u in users {
        let args = [&["-a", "nodepw", "--no-auth-warning"][..], u].concat();
        assert_eq!(node.cli_str(&args), "OK", "{u:?}");
    }
    node
}

fn proxy_for(master: &str, extra: &[&str]) -> ProxyProc {
    let mut args = vec![
        "--master",
        master,
        "--backend-user",
        "proxy",
        "--backend-password",
        "pxpw",
    ];
    args.extend_from_slice(extra);
    ProxyProc::start(&args)
}

/// Each request's raw reply on one connection, labelled with the request.
fn transcript(mut s: TcpStream, requests: &[Vec<u8>]) -> Vec<String> {
    let labelled: Vec<(String, Vec<u8>)> = requests
        .iter()
        .map(|r| (String::from_utf8_lossy(r).into_owned(), r.clone()))
        .collect();
    common::transcript_on(&mut s, &labelled)
}

/// A predicate: `n` CRLF-terminated lines arrived.
fn lines(n: usize) -> impl Fn(&[u8]) -> bool {
    move |b: &[u8]| b.windows(2).filter(|w| w == b"\r\n").count() >= n
}

fn requests() -> Vec<Vec<u8>> {
    let e = |a: &[&str]| encode(a);
    let mut tx = e(&["MULTI"]);
    tx.extend(e(&["SET", "app:3", "1"]));
    tx.extend(e(&["INCR", "app:3"]));
    tx.extend(e(&["SET", "other", "1"]));
    tx.extend(e(&["EXEC"]));
    vec![
        // A refused login changes nothing.
        e(&["AUTH", "alice", "wrong"]),
        e(&["AUTH", "bob", "bobpw"]),
        e(&["AUTH", "alice", "alicepw"]),
        e(&["ACL", "WHOAMI"]),
        e(&["SET", "app:1", "v"]),
        e(&["SET", "other", "v"]),
        e(&["GET", "app:1"]),
        e(&["MGET", "app:1", "other"]),
        e(&["FLUSHALL"]),
        e(&["ACL", "DRYRUN", "alice", "GET", "other"]),
        tx,
        e(&["SELECT", "1"]),
        e(&["SET", "app:2", "x"]),
        e(&["GET", "app:2"]),
        // Still alice after a refused login as someone else.
        e(&["AUTH", "bob", "bobpw"]),
        e(&["ACL", "WHOAMI"]),
        e(&["GET", "app:2"]),
    ]
}

#[test]
fn acl_users_get_their_own_permissions_as_when_connected_directly() {
    for kind in [Kind::Redis, Kind::Tandem] {
        let node = node_with_users(kind, USERS);
        let proxy = proxy_for(&node.addr(), &[]);
        proxy.await_master();
        // Logged in as the default user first, as a proxy client without a
        // password is: the PING after each request needs it.
        let mut s = node.raw();
        assert_eq!(
            send_raw(&mut s, b"AUTH nodepw\r\n", ends_with(b"\r\n")),
            b"+OK\r\n"
        );
        let direct = transcript(s, &requests());
        // The same data again for the run through the proxy.
        node.cli_str(&["-a", "nodepw", "--no-auth-warning", "FLUSHALL"]);
        let through = transcript(proxy.raw(), &requests());
        assert_eq!(through, direct, "{kind:?}");
        // What alice wrote landed as hers: app:* in db 0 and 1, nothing else.
        let get = |db: &str, k: &str| {
            node.cli_str(&["-a", "nodepw", "--no-auth-warning", "-n", db, "GET", k])
        };
        assert_eq!(get("0", "app:1"), "v");
        assert_eq!(get("0", "other"), "");
        assert_eq!(get("1", "app:2"), "x");
        // The client's dedicated link went with it.
        wait_for(Duration::from_secs(10), "no dedicated links left", || {
            proxy.info_field("pinned_clients") == "0"
        });
    }
}

#[test]
fn a_refused_login_lets_nothing_through_behind_it() {
    let node = node_with_users(Kind::Tandem, USERS);
    let proxy = proxy_for(&node.addr(), &["--requirepass", "proxypw"]);
    let mut s = proxy.raw();
    // Pipelined behind a wrong login: the SET must not run as the proxy's user.
    let out = send_raw(
        &mut s,
        b"AUTH alice wrong\r\nSET app:1 v\r\nHELLO 3 AUTH alice wrong\r\nPING\r\n",
        lines(4),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n\
         -NOAUTH Authentication required.\r\n\
         -WRONGPASS invalid username-password pair or user is disabled.\r\n\
         -NOAUTH Authentication required.\r\n"
    );
    assert_eq!(
        node.cli_str(&["-a", "nodepw", "--no-auth-warning", "EXISTS", "app:1"]),
        "0"
    );
    // The login and what follows it in one write: all of it runs as alice.
    let out = send_raw(
        &mut s,
        b"AUTH alice alicepw\r\nSET app:1 v\r\nSET other v\r\nACL WHOAMI\r\n",
        ends_with(b"$5\r\nalice\r\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "+OK\r\n+OK\r\n-NOPERM this user has no permissions to access one of the keys used as arguments\r\n$5\r\nalice\r\n"
    );
    // Back to the default user (the proxy's password): the proxy's own user.
    let out = send_raw(
        &mut s,
        b"AUTH proxypw\r\nACL WHOAMI\r\n",
        ends_with(b"proxy\r\n"),
    );
    assert_eq!(String::from_utf8_lossy(&out), "+OK\r\n$5\r\nproxy\r\n");
    let out = send_raw(&mut s, b"SET other v\r\n", ends_with(b"\r\n"));
    assert_eq!(out, b"+OK\r\n");
}

#[test]
fn hello_logs_in_as_a_user_and_switches_protocol_once_accepted() {
    let node = node_with_users(Kind::Tandem, USERS);
    let proxy = proxy_for(&node.addr(), &["--requirepass", "proxypw"]);
    let mut s = proxy.raw();
    // Refused: still RESP2, still unauthenticated.
    let out = send_raw(
        &mut s,
        b"HELLO 3 AUTH alice nope SETNAME w1\r\nCLIENT GETNAME\r\n",
        lines(2),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "-WRONGPASS invalid username-password pair or user is disabled.\r\n-NOAUTH Authentication required.\r\n"
    );
    // Accepted: the map in RESP3, the name set, and alice's rights.
    s.write_all(b"HELLO 3 AUTH alice alicepw SETNAME w1\r\n")
        .expect("write");
    let out = harness::read_until(&mut s, ends_with(b"modules\r\n*0\r\n"));
    let text = String::from_utf8_lossy(&out);
    assert!(text.starts_with("%7\r\n"), "{text}");
    assert!(text.contains("$5\r\nproto\r\n:3\r\n"), "{text}");
    let out = send_raw(
        &mut s,
        b"CLIENT GETNAME\r\nACL WHOAMI\r\nHSET app:h f 1\r\nHGETALL app:h\r\nGET other\r\n",
        ends_with(b"keys used as arguments\r\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "$2\r\nw1\r\n$5\r\nalice\r\n:1\r\n%1\r\n$1\r\nf\r\n$1\r\n1\r\n\
         -NOPERM this user has no permissions to access one of the keys used as arguments\r\n"
    );
    // A bad name after an accepted login: logged in, name refused (Redis's order).
    let mut s = proxy.raw();
    let out = send_raw(
        &mut s,
        b"HELLO 2 AUTH alice alicepw SETNAME bad\x01name\r\nACL WHOAMI\r\n",
        ends_with(b"$5\r\nalice\r\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "-ERR Client names cannot contain spaces, newlines or special characters.\r\n$5\r\nalice\r\n"
    );
}

#[test]
fn the_proxy_logs_in_as_its_backend_user() {
    let node = node_with_users(Kind::Redis, USERS);
    let proxy = proxy_for(&node.addr(), &[]);
    proxy.await_master();
    assert_eq!(proxy.cli(&["ACL", "WHOAMI"]), "proxy");
    assert_eq!(proxy.cli(&["SET", "k", "v"]), "OK");
    // A dedicated link (RESP3, another db) logs in the same way.
    assert_eq!(proxy.cli(&["-3", "-n", "2", "ACL", "WHOAMI"]), "proxy");
    assert_eq!(proxy.cli(&["-n", "2", "SET", "k2", "v2"]), "OK");
    assert_eq!(
        node.cli_str(&["--user", "proxy", "--pass", "pxpw", "-n", "2", "GET", "k2"]),
        "v2"
    );
}

#[test]
fn a_user_stays_logged_in_across_a_switch_and_is_closed_where_it_is_refused() {
    let a = node_with_users(Kind::Tandem, USERS);
    let b = node_with_users(Kind::Tandem, USERS);
    // The third master knows no alice.
    let c = node_with_users(Kind::Tandem, &USERS[..1]);
    let dir = tempfile::tempdir().expect("temp dir");
    let topo = dir.path().join("topology.json");
    write_topology(&topo, 1, &a.addr(), &[]);
    let topo_arg = topo.to_string_lossy().to_string();
    let proxy = ProxyProc::start(&[
        "--topology-file",
        &topo_arg,
        "--backend-user",
        "proxy",
        "--backend-password",
        "pxpw",
    ]);
    proxy.await_master();
    let mut s = proxy.raw();
    let out = send_raw(
        &mut s,
        b"AUTH alice alicepw\r\nSET app:1 a\r\n",
        ends_with(b"+OK\r\n+OK\r\n"),
    );
    assert_eq!(out, b"+OK\r\n+OK\r\n");
    let get = |n: &Proc, k: &str| n.cli_str(&["-a", "nodepw", "--no-auth-warning", "GET", k]);
    assert_eq!(get(&a, "app:1"), "a");

    write_topology(&topo, 2, &b.addr(), &[]);
    wait_for(Duration::from_secs(10), "proxy at epoch 2", || {
        proxy.info_field("epoch") == "2"
    });
    let out = send_raw(
        &mut s,
        b"SET app:2 b\r\nSET other b\r\nACL WHOAMI\r\n",
        ends_with(b"$5\r\nalice\r\n"),
    );
    assert_eq!(
        String::from_utf8_lossy(&out),
        "+OK\r\n-NOPERM this user has no permissions to access one of the keys used as arguments\r\n$5\r\nalice\r\n"
    );
    assert_eq!(get(&b, "app:2"), "b");
    assert_eq!(get(&b, "other"), "");

    write_topology(&topo, 3, &c.addr(), &[]);
    wait_for(Duration::from_secs(10), "proxy at epoch 3", || {
        proxy.info_field("epoch") == "3"
    });
    // The new master refuses alice: the client hears why, and is closed.
    let out = send_raw(&mut s, b"SET app:3 c\r\n", |_: &[u8]| false);
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("-ERR Tandem proxy: the master refused this connection's user (WRONGPASS"),
        "{text}"
    );
    assert!(text.ends_with("the command was not sent\r\n"), "{text}");
    assert_eq!(get(&c, "app:3"), "");
    assert!(
        proxy.log().contains("refused its user at login"),
        "{}",
        proxy.log()
    );
    // Others are served.
    assert_eq!(proxy.cli(&["SET", "k", "v"]), "OK");
}
