//! Unit tests of the ACL rules, descriptions and checks; expected texts were
//! taken from redis-server 7.0.15.

use bytes::Bytes;

use super::*;

fn rules(r: &[&str]) -> Vec<Bytes> {
    r.iter().map(|s| Bytes::from(s.to_string())).collect()
}

fn user(r: &[&str]) -> User {
    set_user(None, b"u", &rules(r), false).expect("rules apply")
}

fn args(a: &[&str]) -> Vec<Bytes> {
    rules(a)
}

fn spec(args: &[Bytes]) -> &'static CommandSpec {
    tandem_commands::lookup_args(args).expect("known command")
}

#[test]
fn describes_as_redis_best_fit() {
    let u = user(&[
        "on",
        "+get",
        "+@hash",
        "-hset",
        "+config|get",
        "-@dangerous",
    ]);
    assert_eq!(describe::command_rules(&u.root), "-@all +@hash +get -hset");
    let u = user(&["+@all", "-get"]);
    assert_eq!(describe::command_rules(&u.root), "+@all -get");
    let u = user(&["+client", "-client|kill"]);
    assert_eq!(
        describe::command_rules(&u.root),
        "-@all +client -client|kill"
    );
    let u = user(&["~foo:*", "%R~r:*", "%W~w:*", "&chan", ">pw"]);
    assert_eq!(
        describe_user(&u),
        "off #30c952fab122c3f9759f02a6d95c3758b246b4fee239957b2d4fee46e26170c4 ~foo:* %R~r:* %W~w:* resetchannels &chan -@all"
    );
    assert_eq!(
        describe_user(&User::default_user()),
        "on nopass ~* &* +@all"
    );
}

#[test]
fn rule_errors_are_redis_texts() {
    let err = |r: &[&str]| {
        set_user(None, b"u", &rules(r), false)
            .expect_err("refused")
            .text()
    };
    assert_eq!(
        err(&["foo"]),
        "ERR Error in ACL SETUSER modifier 'foo': Syntax error"
    );
    assert_eq!(
        err(&["+nosuch"]),
        "ERR Error in ACL SETUSER modifier '+nosuch': Unknown command or category name in ACL"
    );
    assert!(err(&["~*", "~foo"]).contains("Adding a pattern after the * pattern"));
    assert!(err(&["#abc"]).contains("The password hash must be exactly 64 characters"));
    assert!(err(&["<nopw"]).contains("The password you are trying to remove"));
    assert!(err(&["+config|get|x"]).contains("Allowing first-arg of a subcommand"));
    assert_eq!(
        err(&["(~foo", "+get"]),
        "ERR Unmatched parenthesis in acl selector starting at '(~foo +get'."
    );
    assert!(err(&[""]).contains("Syntax error"));
}

#[test]
fn checks_commands_keys_and_channels() {
    let u = user(&[
        "on",
        "~k*",
        "%R~r*",
        "+get",
        "+set",
        "+mget",
        "+publish",
        "+psubscribe",
        "&news",
        "&n*",
    ]);
    let ok = |a: &[&str]| {
        let a = args(a);
        u.check(spec(&a), &a)
    };
    assert_eq!(ok(&["GET", "k1"]), Ok(()));
    assert_eq!(ok(&["GET", "r1"]), Ok(()));
    assert_eq!(ok(&["SET", "r1", "v"]), Err(Denied::Key(1)));
    assert_eq!(ok(&["MGET", "k1", "zz"]), Err(Denied::Key(2)));
    assert_eq!(ok(&["DEL", "k1"]), Err(Denied::Command));
    assert_eq!(ok(&["PUBLISH", "news", "x"]), Ok(()));
    assert_eq!(ok(&["PUBLISH", "sports", "x"]), Err(Denied::Channel(1)));
    // Patterns are matched literally.
    assert_eq!(ok(&["PSUBSCRIBE", "n*"]), Ok(()));
    assert_eq!(ok(&["PSUBSCRIBE", "ne*"]), Err(Denied::Channel(1)));
    // AUTH is never refused (no-auth commands).
    assert_eq!(ok(&["AUTH", "x"]), Ok(()));
    // A selector allows what the root does not.
    let s = user(&["+get", "~a*", "(~b* +get)"]);
    let a = args(&["GET", "b1"]);
    assert_eq!(s.check(spec(&a), &a), Ok(()));
    let a = args(&["GET", "c1"]);
    assert_eq!(s.check(spec(&a), &a), Err(Denied::Key(1)));
}

#[test]
fn requirepass_is_the_default_users_password() {
    let mut acl = Acl::default();
    assert!(!acl.auth_required && !acl.restricted);
    acl.set_requirepass(Some(b"secret"));
    assert!(acl.auth_required);
    let d = &acl.users[&b"default"[..]];
    assert!(d.password_ok(b"secret") && !d.password_ok(b"other"));
    acl.set_requirepass(None);
    assert!(!acl.auth_required);
    let u = user(&["on", "+@all", "~*"]);
    acl.users.insert(Bytes::from_static(b"u"), u);
    acl.refresh();
    assert!(acl.restricted, "a user without channels is restricted");
}
