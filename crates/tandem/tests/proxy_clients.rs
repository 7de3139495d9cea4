//! CLIENT LIST, CLIENT INFO and CLIENT KILL through `tandem proxy`: the
//! proxy's own clients (over all its threads), in Redis's format, with Redis's
//! errors (compared with a real redis-server).

mod common;
#[path = "proxy/harness.rs"]
mod harness;

use std::collections::HashMap;
use std::io::Read;
use std::time::Duration;

use common::{encode, transcript_on, wait_for, Proc};
use harness::ProxyProc;

/// `key=value` fields of one CLIENT LIST line.
fn fields(line: &str) -> HashMap<String, String> {
    line.split_whitespace()
        .filter_map(|kv| kv.split_once('='))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn list(c: &mut redis::Connection, args: &[&str]) -> Vec<HashMap<String, String>> {
    let text: String = redis::cmd("CLIENT")
        .arg("LIST")
        .arg(args)
        .query(c)
        .expect("CLIENT LIST");
    text.lines().map(fields).collect()
}

fn id_of(c: &mut redis::Connection) -> i64 {
    redis::cmd("CLIENT").arg("ID").query(c).expect("CLIENT ID")
}

#[test]
fn client_list_shows_every_client_of_the_proxy_in_redis_format() {
    let node = Proc::tandem(&[]);
    let addr = node.addr();
    let proxy = ProxyProc::start(&["--master", addr.as_str(), "--threads", "2"]);
    proxy.await_master();

    // Clients until both threads serve some (the kernel spreads them).
    let mut clients = Vec::new();
    let mut shards = std::collections::BTreeSet::new();
    wait_for(Duration::from_secs(10), "clients on both threads", || {
        let mut c = proxy.client();
        let info: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut c)
            .expect("INFO");
        let shard = info
            .lines()
            .find_map(|l| l.strip_prefix("proxy_thread:"))
            .map(|s| s.trim().to_string())
            .unwrap_or_default();
        shards.insert(shard);
        clients.push(c);
        shards.len() == 2
    });
    let ids: Vec<i64> = clients.iter_mut().map(id_of).collect();

    // One client named and in db 3; one subscribed.
    let mut named = proxy.client();
    let () = redis::cmd("CLIENT")
        .arg("SETNAME")
        .arg("worker-1")
        .query(&mut named)
        .expect("SETNAME");
    let () = redis::cmd("SELECT")
        .arg(3)
        .query(&mut named)
        .expect("SELECT");
    let named_id = id_of(&mut named);
    let mut sub = proxy.client();
    let mut pubsub = sub.as_pubsub();
    pubsub.subscribe("news").expect("SUBSCRIBE");

    let mut me = proxy.client();
    let me_id = id_of(&mut me);
    let all = list(&mut me, &[]);
    for id in ids.iter().chain([&named_id, &me_id]) {
        assert!(
            all.iter().any(|f| f["id"] == id.to_string()),
            "client {id} missing from {all:?}"
        );
    }
    assert_eq!(all.len(), ids.len() + 3, "{all:?}");
    // Redis's fields, in Redis's order.
    let text: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query(&mut me)
        .expect("INFO");
    let keys: Vec<&str> = text
        .split_whitespace()
        .filter_map(|kv| kv.split_once('=').map(|(k, _)| k))
        .collect();
    assert_eq!(
        keys,
        [
            "id",
            "addr",
            "laddr",
            "fd",
            "name",
            "age",
            "idle",
            "flags",
            "db",
            "sub",
            "psub",
            "ssub",
            "multi",
            "qbuf",
            "qbuf-free",
            "argv-mem",
            "multi-mem",
            "rbs",
            "rbp",
            "obl",
            "oll",
            "omem",
            "tot-mem",
            "events",
            "cmd",
            "user",
            "redir",
            "resp"
        ]
    );
    let mine = fields(&text);
    assert_eq!(mine["id"], me_id.to_string());
    assert_eq!(mine["cmd"], "client|info");
    assert_eq!(mine["laddr"], format!("127.0.0.1:{}", proxy.port));
    assert!(text.ends_with('\n'), "{text:?}");

    let named_line = all
        .iter()
        .find(|f| f["id"] == named_id.to_string())
        .expect("named");
    assert_eq!(named_line["name"], "worker-1");
    assert_eq!(named_line["db"], "3");
    assert_eq!(named_line["cmd"], "client|id");
    let subbed = list(&mut me, &["TYPE", "pubsub"]);
    assert_eq!(subbed.len(), 1, "{subbed:?}");
    assert_eq!(subbed[0]["sub"], "1");
    assert_eq!(subbed[0]["flags"], "P");
    let two = list(
        &mut me,
        &["ID", &named_id.to_string(), &me_id.to_string(), "0"],
    );
    assert_eq!(two.len(), 2, "{two:?}");
}

#[test]
fn client_kill_closes_the_proxys_clients() {
    let node = Proc::tandem(&[]);
    let addr = node.addr();
    let proxy = ProxyProc::start(&["--master", addr.as_str()]);
    proxy.await_master();
    let mut admin = proxy.client();

    // By id: the victim's connection ends.
    let mut victim = proxy.raw();
    transcript_on(&mut victim, &[("ping".into(), encode(&["PING"]))]);
    let victim_line = list(&mut admin, &[])
        .into_iter()
        .find(|f| f["cmd"] == "ping")
        .expect("the victim");
    let n: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("ID")
        .arg(&victim_line["id"])
        .query(&mut admin)
        .expect("KILL");
    assert_eq!(n, 1);
    let mut buf = [0u8; 16];
    assert_eq!(victim.read(&mut buf).expect("read"), 0, "still open");

    // The old form, by address: +OK.
    let mut second = proxy.client();
    let second_id = id_of(&mut second).to_string();
    let addr_of_second = list(&mut second, &["ID", &second_id])[0]["addr"].clone();
    let ok: String = redis::cmd("CLIENT")
        .arg("KILL")
        .arg(&addr_of_second)
        .query(&mut admin)
        .expect("KILL addr");
    assert_eq!(ok, "OK");
    assert!(redis::cmd("PING").query::<String>(&mut second).is_err());

    // A blocked client is released (its dedicated node link closes too).
    let url = proxy.url();
    let popper = std::thread::spawn(move || {
        let mut c = harness::connect(&url);
        redis::cmd("BLPOP")
            .arg("q")
            .arg(0)
            .query::<Option<(String, String)>>(&mut c)
    });
    wait_for(Duration::from_secs(10), "the pop blocks", || {
        list(&mut admin, &[]).iter().any(|f| f["cmd"] == "blpop")
    });
    let n: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("SKIPME")
        .arg("yes")
        .query(&mut admin)
        .expect("KILL");
    assert_eq!(n, 1);
    assert!(popper.join().expect("popper").is_err(), "BLPOP answered");
    assert_eq!(list(&mut admin, &[]).len(), 1);

    // SKIPME no: the caller too, after its reply.
    let n: i64 = redis::cmd("CLIENT")
        .arg("KILL")
        .arg("SKIPME")
        .arg("no")
        .query(&mut admin)
        .expect("KILL");
    assert_eq!(n, 1);
    assert!(redis::cmd("PING").query::<String>(&mut admin).is_err());
}

#[test]
fn client_list_and_kill_errors_match_redis() {
    let node = Proc::tandem(&[]);
    let addr = node.addr();
    let proxy = ProxyProc::start(&["--master", addr.as_str()]);
    proxy.await_master();
    let redis = Proc::redis(&[]);
    let cases: Vec<(String, Vec<u8>)> = [
        &["CLIENT", "LIST", "TYPE", "foo"][..],
        &["CLIENT", "LIST", "ID", "x"],
        &["CLIENT", "LIST", "ID", "0"],
        &["CLIENT", "LIST", "foo"],
        &["CLIENT", "LIST", "TYPE", "master"],
        &["CLIENT", "KILL", "ID", "0"],
        &["CLIENT", "KILL", "ID", "x"],
        &["CLIENT", "KILL", "ID", "99999"],
        &["CLIENT", "KILL", "1.2.3.4:5"],
        &["CLIENT", "KILL", "a", "b", "c"],
        &["CLIENT", "KILL", "SKIPME", "maybe"],
        &["CLIENT", "KILL", "TYPE", "foo"],
        &["CLIENT", "KILL", "foo", "bar"],
        &["CLIENT", "KILL"],
        &["CLIENT", "SETINFO", "LIB-NAME", "x"],
    ]
    .iter()
    .map(|w| (w.join(" "), encode(w)))
    .collect();
    let through = transcript_on(&mut proxy.raw(), &cases);
    let direct = common::transcript(&redis, false, &cases);
    assert_eq!(through, direct);
}
