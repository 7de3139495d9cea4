//! Unit tests: units, quoting, aliases, globbing, CONFIG SET atomicity.

use super::*;

fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

#[test]
fn every_default_parses() {
    for s in table::SETTINGS {
        let a = if matches!(s.kind, Kind::Str | Kind::Enum(_) | Kind::Bool) {
            vec![s.default.to_string()]
        } else {
            split_args(s.default).unwrap()
        };
        let v = parse_val(s, &a, &empty_val(s.kind));
        assert!(v.is_ok(), "default of {} does not parse: {v:?}", s.name);
    }
    let c = Config::default();
    assert_eq!(c.format(find("save").unwrap().0), "3600 1 300 100 60 10000");
    assert_eq!(
        c.format(find("client-output-buffer-limit").unwrap().0),
        "normal 0 0 0 slave 268435456 67108864 60 pubsub 33554432 8388608 60"
    );
    assert_eq!(c.int("proto-max-bulk-len"), 512 * 1024 * 1024);
}

#[test]
fn memory_units() {
    assert_eq!(memtoull("1k"), Some(1000));
    assert_eq!(memtoull("1KB"), Some(1024));
    assert_eq!(memtoull("2mb"), Some(2 * 1024 * 1024));
    assert_eq!(memtoull("3m"), Some(3_000_000));
    assert_eq!(memtoull("1gb"), Some(1 << 30));
    assert_eq!(memtoull("1g"), Some(1_000_000_000));
    assert_eq!(memtoull("100"), Some(100));
    assert_eq!(memtoull("-1"), None);
    assert_eq!(memtoull("1xb"), None);
    assert_eq!(memtoull(""), None);
    assert_eq!(memtoull("99999999999999999999gb"), None);
}

#[test]
fn quoting() {
    assert_eq!(split_args("save \"\"").unwrap(), args(&["save", ""]));
    assert_eq!(
        split_args("a \"b c\" 'd e'").unwrap(),
        args(&["a", "b c", "d e"])
    );
    assert_eq!(split_args("\"\\x41\\n\"").unwrap(), args(&["A\n"]));
    assert_eq!(split_args("'it\\'s'").unwrap(), args(&["it's"]));
    assert!(split_args("\"open").is_err());
    assert!(split_args("\"a\"b").is_err());
    assert!(split_args("   ").unwrap().is_empty());
}

#[test]
fn command_line_and_aliases() {
    let c = Config::from_args(&args(&[
        "--port",
        "7000",
        "--slaveof",
        "10.0.0.1",
        "6380",
        "--save",
        "",
        "--hash-max-ziplist-entries",
        "7",
        "--maxmemory",
        "1mb",
    ]))
    .unwrap();
    assert_eq!(c.int("port"), 7000);
    assert_eq!(c.int("hash-max-listpack-entries"), 7);
    assert_eq!(c.int("maxmemory"), 1024 * 1024);
    assert_eq!(c.get("save"), &Val::Save(vec![]));
    assert_eq!(
        c.get("replicaof"),
        &Val::Replicaof(Some(("10.0.0.1".into(), 6380)))
    );
    let e = Config::from_args(&args(&["--nosuch", "1"])).unwrap_err();
    assert!(e.to_string().contains("Bad directive"), "{e}");
    let e = Config::from_args(&args(&["--daemonize", "yes"])).unwrap_err();
    assert!(e.to_string().contains("daemonize"), "{e}");
}

#[test]
fn config_file_with_save_lines_and_include() {
    let dir = tempfile::tempdir().unwrap();
    let inc = dir.path().join("inc.conf");
    std::fs::write(&inc, "maxclients 77\n").unwrap();
    let f = dir.path().join("t.conf");
    std::fs::write(
        &f,
        format!(
            "# comment\nsave 900 1\nsave 60 100\n  requirepass \"p w\"\ninclude {}\nclient-output-buffer-limit pubsub 1mb 512kb 5\n",
            inc.display()
        ),
    )
    .unwrap();
    let c = Config::from_args(&args(&[f.to_str().unwrap(), "--timeout", "5"])).unwrap();
    assert_eq!(c.get("save"), &Val::Save(vec![(900, 1), (60, 100)]));
    assert_eq!(c.str("requirepass"), "p w");
    assert_eq!(c.int("maxclients"), 77);
    assert_eq!(c.int("timeout"), 5);
    assert_eq!(
        c.output_limits()[2],
        ClassLimit {
            hard: 1024 * 1024,
            soft: 512 * 1024,
            soft_seconds: 5
        }
    );
    assert_eq!(c.output_limits()[1].hard, 268435456);
    std::fs::write(&f, "port 1\nbogus yes\n").unwrap();
    let e = Config::from_args(&args(&[f.to_str().unwrap()])).unwrap_err();
    assert_eq!(
        e,
        ConfigError::Fatal {
            line: 2,
            text: "bogus yes".into(),
            reason: "Bad directive or wrong number of arguments".into()
        }
    );
}

#[test]
fn config_set_errors_and_atomicity() {
    let mut c = Config::default();
    let p = |a: &str, b: &str| (a.to_string(), b.to_string());
    assert_eq!(
        c.set_many(&[p("maxmemory", "foo")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'maxmemory') - argument must be a memory value"
    );
    assert_eq!(
        c.set_many(&[p("foo", "bar")]).unwrap_err(),
        "ERR Unknown option or number of arguments for CONFIG SET - 'foo'"
    );
    assert_eq!(
        c.set_many(&[p("daemonize", "no")]).unwrap_err(),
        "ERR CONFIG SET failed (possibly related to argument 'daemonize') - can't set immutable config"
    );
    assert!(c
        .set_many(&[p("maxmemory", "1"), p("maxmemory", "2")])
        .unwrap_err()
        .contains("duplicate parameter"));
    // The second pair fails: the first is not applied.
    assert!(c.set_many(&[p("timeout", "9"), p("hz", "x")]).is_err());
    assert_eq!(c.int("timeout"), 0);
    c.set_many(&[p("timeout", "9"), p("maxmemory", "2mb"), p("hz", "0")])
        .unwrap();
    assert_eq!(c.int("timeout"), 9);
    assert_eq!(c.int("maxmemory"), 2 * 1024 * 1024);
    assert_eq!(c.int("hz"), 1);
    c.set_many(&[p("client-output-buffer-limit", "pubsub 10 5 1")])
        .unwrap();
    assert_eq!(c.output_limits()[2].hard, 10);
    assert_eq!(c.output_limits()[0].hard, 0);
    assert!(c
        .set_many(&[p("maxmemory-policy", "foo")])
        .unwrap_err()
        .ends_with("argument(s) must be one of the following: volatile-lru, volatile-lfu, volatile-random, volatile-ttl, allkeys-lru, allkeys-lfu, allkeys-random, noeviction"));
}

#[test]
fn config_get_globbing() {
    let c = Config::default();
    let got = c.get_matching(&[b"maxmemory*", b"hz"]);
    let names: Vec<&str> = got.iter().map(|(n, _)| *n).collect();
    assert!(names.contains(&"maxmemory"));
    assert!(names.contains(&"maxmemory-policy"));
    assert!(names.contains(&"hz"));
    assert!(!names.contains(&"dynamic-hz"));
    // Aliases answer exact requests and patterns, as redis-server 7.0.15's.
    assert_eq!(c.get_matching(&[b"slaveof"]).len(), 1);
    assert!(c
        .get_matching(&[b"*"])
        .iter()
        .any(|(n, _)| n.starts_with("slave")));
    assert_eq!(
        c.get_matching(&[b"PORT"]),
        vec![("port", "6379".to_string())]
    );
}
