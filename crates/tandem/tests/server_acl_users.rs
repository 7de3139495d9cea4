//! ACL users against a real redis-server 7.0, reply for reply in RESP2 and
//! RESP3: ACL SETUSER with every rule kind of 7.0 and its error texts, GETUSER,
//! LIST, USERS, DELUSER, WHOAMI, DRYRUN for other users, selectors,
//! authentication as a user (AUTH, HELLO AUTH), a deleted user's connections
//! closed, and `requirepass` as the default user's password.
//!
//! Permissions of a restricted user (commands, keys, channels, MULTI, EVAL),
//! ACL LOG of denials and CLIENT LIST/KILL by user: server_acl_users_perms.rs.
//! The scripts over several connections, the comparison and its few
//! normalizations: acl/support.rs. `TANDEM_ACL_AGAINST_REDIS=1` runs every
//! script against two redis-servers (the check of the scripts themselves).

#[path = "acl/support.rs"]
mod acl;
mod common;
#[path = "stream/support.rs"]
mod support;

use acl::{same_as_redis, shows, Run};

/// SHA-256 of `a` and of `b`, as `#<hash>` rules take them.
const HASH_A: &str = "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb";
const HASH_B: &str = "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d";

/// Each rule kind, applied one group at a time to `u`, with GETUSER and the
/// LIST line after each group: what a new user starts with, on/off,
/// passwords in every form, key and channel patterns, command rules,
/// reset, and that rules are case-insensitive and patterns deduplicated.
fn rule_kinds(r: &mut Run) {
    let hash_a = format!("#{HASH_A}");
    let drop_b = format!("!{HASH_B}");
    let groups: &[&[&str]] = &[
        &["ACL", "SETUSER", "u"],
        &["ACL", "SETUSER", "u", "on"],
        &["ACL", "SETUSER", "u", ">p1", ">p2", ">p1"],
        &["ACL", "SETUSER", "u", "<p1"],
        &["ACL", "SETUSER", "u", &hash_a, ">b"],
        &["ACL", "SETUSER", "u", &drop_b],
        &["ACL", "SETUSER", "u", "nopass"],
        &["ACL", "SETUSER", "u", ">p3"],
        &["ACL", "SETUSER", "u", "resetpass"],
        &[
            "ACL", "SETUSER", "u", "~k:*", "~k:*", "%R~r:*", "%W~w:*", "%RW~rw:*",
        ],
        &["ACL", "SETUSER", "u", "%R~x:*", "%W~x:*"],
        &["ACL", "SETUSER", "u", "%WR~y:*"],
        &["ACL", "SETUSER", "u", "allkeys"],
        &["ACL", "SETUSER", "u", "resetkeys", "~only:*"],
        &["ACL", "SETUSER", "u", "resetkeys"],
        &["ACL", "SETUSER", "u", "~a", "~*"],
        &["ACL", "SETUSER", "u", "&news.*", "&lit"],
        &["ACL", "SETUSER", "u", "allchannels"],
        &["ACL", "SETUSER", "u", "resetchannels", "&c1"],
        &["ACL", "SETUSER", "u", "+@hash", "-hdel", "+get"],
        &["ACL", "SETUSER", "u", "+config|get", "+client|list"],
        &["ACL", "SETUSER", "u", "+select|0", "+select|1"],
        &["ACL", "SETUSER", "u", "-select"],
        &["ACL", "SETUSER", "u", "+@all", "-@dangerous"],
        &["ACL", "SETUSER", "u", "+@all", "-@admin", "-@write", "+set"],
        &["ACL", "SETUSER", "u", "+@all", "-@hash", "+hget"],
        &["ACL", "SETUSER", "u", "allcommands"],
        &["ACL", "SETUSER", "u", "nocommands", "+@read", "-@string"],
        &["ACL", "SETUSER", "u", "-@all", "+@admin", "-@write"],
        &[
            "ACL",
            "SETUSER",
            "u",
            "+client",
            "-client|kill",
            "+acl",
            "-acl|deluser",
        ],
        &["ACL", "SETUSER", "u", "off"],
        &["ACL", "SETUSER", "u", "reset"],
        &[
            "ACL", "SETUSER", "u", "ON", "NOPASS", "AllKeys", "+GET", "+@STRING", "&X",
        ],
        &[
            "ACL", "SETUSER", "u", "reset", "on", ">x", "~k", "&c", "+ping",
        ],
    ];
    for g in groups {
        r.call("admin", g);
        r.call("admin", &["ACL", "GETUSER", "u"]);
        r.call("admin", &["ACL", "LIST"]);
    }
}

#[test]
fn setuser_rule_kinds_as_redis_shows_them() {
    let [t2, t3] = same_as_redis(&[], rule_kinds);
    shows(&t2, r#"admin: ["ACL", "GETUSER", "u"]"#, "off");
    shows(&t3, r#"admin: ["ACL", "GETUSER", "u"]"#, "%");
    assert!(
        t2.iter().any(|l| l.contains("%R~r:* %W~w:* ~rw:*")),
        "key patterns by mode in {t2:?}"
    );
}

/// SETUSER's refusals, each on a user without `allkeys`/`allchannels` (so
/// each error is the one its rule earns), and that a refused SETUSER changes
/// nothing: neither a new user nor an existing one.
fn setuser_errors(r: &mut Run) {
    let errors: &[&[&str]] = &[
        &["ACL", "SETUSER", "e", "foo"],
        &["ACL", "SETUSER", "e", "+nosuch"],
        &["ACL", "SETUSER", "e", "+@nosuch"],
        &["ACL", "SETUSER", "e", "-@nosuch"],
        &["ACL", "SETUSER", "e", "+"],
        &["ACL", "SETUSER", "e", "+@"],
        &["ACL", "SETUSER", "e", "+|x"],
        &["ACL", "SETUSER", "e", "+get|"],
        &["ACL", "SETUSER", "e", "+config|"],
        &["ACL", "SETUSER", "e", "+config|nosuch"],
        &["ACL", "SETUSER", "e", "+config|get|x"],
        &["ACL", "SETUSER", "e", "-config|get|x"],
        &["ACL", "SETUSER", "e", "-get|x"],
        &["ACL", "SETUSER", "e", "+@all|x"],
        &["ACL", "SETUSER", "e", "<nopw"],
        &["ACL", "SETUSER", "e", "#abc"],
        &["ACL", "SETUSER", "e", "!abc"],
        &["ACL", "SETUSER", "e", "#"],
        &[
            "ACL",
            "SETUSER",
            "e",
            &format!("#{}", HASH_A.to_uppercase()),
        ],
        &["ACL", "SETUSER", "e", &format!("!{HASH_A}")],
        &["ACL", "SETUSER", "e", "%X~a"],
        &["ACL", "SETUSER", "e", "%~a"],
        &["ACL", "SETUSER", "e", "%RR~a"],
        &["ACL", "SETUSER", "e", "allkeys", "~a"],
        &["ACL", "SETUSER", "e", "~*", "%R~a"],
        &["ACL", "SETUSER", "e", "allchannels", "&a"],
        &["ACL", "SETUSER", "e", "&*", "&a"],
        &["ACL", "SETUSER", "e", "on", ">pw", "~k", "bogus", "+get"],
        &["ACL", "SETUSER", "with space", "on"],
        &["ACL", "SETUSER"],
    ];
    r.calls("admin", errors);
    r.calls(
        "admin",
        &[
            &["ACL", "USERS"],
            &["ACL", "GETUSER", "e"],
            &["ACL", "SETUSER", "e", "on", ">pw", "~k", "&c", "+get"],
            &["ACL", "SETUSER", "e", "off", "resetkeys", "+set", "bogus"],
            &["ACL", "SETUSER", "e", "allkeys", "~more"],
            &["ACL", "GETUSER", "e"],
            // Accepted oddities: `+get|x` (a first argument of a command
            // without subcommands) and a `-` of a command never added.
            &["ACL", "SETUSER", "e", "+get|x", "-hset"],
            &["ACL", "GETUSER", "e"],
            &["ACL", "LIST"],
        ],
    );
}

#[test]
fn setuser_errors_as_redis_words_them() {
    let [t, _] = same_as_redis(&[], setuser_errors);
    shows(
        &t,
        r#"admin: ["ACL", "SETUSER", "e", "foo"]"#,
        "Error in ACL SETUSER modifier 'foo': Syntax error",
    );
    shows(
        &t,
        r#"admin: ["ACL", "SETUSER", "e", "+config|get|x"]"#,
        "Allowing first-arg of a subcommand is not supported",
    );
    shows(&t, r#"admin: ["ACL", "USERS"]"#, "*1\\r\\n");
}

/// Several users side by side: GETUSER of each (and of nobody), LIST lines
/// and USERS in Redis's order (by name), then DELUSER of several at once,
/// of missing ones, and of `default` (refused).
fn several_users(r: &mut Run) {
    r.calls(
        "admin",
        &[
            &["ACL", "SETUSER", "zed", "on", ">z", "~z:*", "+@all"],
            &[
                "ACL", "SETUSER", "alice", "on", ">a", "~a:*", "&a:*", "+@read", "+@hash",
                "-hgetall",
            ],
            &[
                "ACL",
                "SETUSER",
                "Bob",
                "on",
                "nopass",
                "allkeys",
                "allchannels",
                "allcommands",
            ],
            &[
                "ACL", "SETUSER", "carol", "off", ">c1", ">c2", "%R~c:*", "+get", "+set",
            ],
            &["ACL", "SETUSER", "dave"],
            &["ACL", "SETUSER", "a-b.c:d_e", "on", "nopass", "+ping"],
            &["ACL", "USERS"],
            &["ACL", "LIST"],
            &["ACL", "GETUSER", "default"],
            &["ACL", "GETUSER", "zed"],
            &["ACL", "GETUSER", "alice"],
            &["ACL", "GETUSER", "Bob"],
            &["ACL", "GETUSER", "bob"],
            &["ACL", "GETUSER", "carol"],
            &["ACL", "GETUSER", "dave"],
            &["ACL", "GETUSER", "a-b.c:d_e"],
            &["ACL", "GETUSER", "nobody"],
            &["ACL", "GETUSER"],
            &["ACL", "GETUSER", "alice", "x"],
            &["ACL", "DELUSER", "zed", "dave", "nobody"],
            &["ACL", "DELUSER", "zed"],
            &["ACL", "USERS"],
            &["ACL", "DELUSER", "default"],
            &["ACL", "DELUSER", "carol", "default"],
            &["ACL", "DELUSER", "Bob", "Bob"],
            &["ACL", "DELUSER"],
            &["ACL", "USERS"],
            &["ACL", "LIST"],
            &["ACL", "WHOAMI"],
        ],
    );
}

#[test]
fn getuser_list_users_deluser_for_several_users() {
    let [t2, _] = same_as_redis(&[], several_users);
    shows(
        &t2,
        r#"admin: ["ACL", "DELUSER", "default"]"#,
        "The 'default' user cannot be removed",
    );
    shows(&t2, r#"admin: ["ACL", "DELUSER", "zed", "dave""#, ":2");
}

/// DRYRUN on behalf of users: allowed, a denied command or subcommand, a
/// denied key (read and write modes), a denied channel, a first argument,
/// an unknown user, an unknown command and wrong arities; a disabled user's
/// rules still answer. DRYRUN itself never lands in ACL LOG.
fn dryrun(r: &mut Run) {
    r.calls(
        "admin",
        &[
            &[
                "ACL",
                "SETUSER",
                "d",
                "on",
                "nopass",
                "%R~r:*",
                "%W~w:*",
                "~rw:*",
                "&news.*",
                "+@read",
                "+set",
                "+config|get",
                "+publish",
                "+subscribe",
                "+psubscribe",
                "+select|1",
            ],
            &["ACL", "SETUSER", "sleepy", "off", "~*", "+get"],
            &["ACL", "DRYRUN", "d", "get", "r:1"],
            &["ACL", "DRYRUN", "d", "GET", "rw:1"],
            &["ACL", "DRYRUN", "d", "get", "w:1"],
            &["ACL", "DRYRUN", "d", "get", "other"],
            &["ACL", "DRYRUN", "d", "set", "w:1", "v"],
            &["ACL", "DRYRUN", "d", "set", "r:1", "v"],
            &["ACL", "DRYRUN", "d", "mget", "r:1", "rw:2", "w:3"],
            &["ACL", "DRYRUN", "d", "hset", "w:1", "f", "v"],
            &["ACL", "DRYRUN", "d", "hget", "r:1", "f"],
            &["ACL", "DRYRUN", "d", "config", "get", "maxmemory"],
            &["ACL", "DRYRUN", "d", "config", "set", "maxmemory", "0"],
            &["ACL", "DRYRUN", "d", "config", "nosuch"],
            &["ACL", "DRYRUN", "d", "config"],
            &["ACL", "DRYRUN", "d", "select", "1"],
            &["ACL", "DRYRUN", "d", "select", "2"],
            &["ACL", "DRYRUN", "d", "publish", "news.1", "hi"],
            &["ACL", "DRYRUN", "d", "publish", "other", "hi"],
            &["ACL", "DRYRUN", "d", "subscribe", "news.1", "other"],
            &["ACL", "DRYRUN", "d", "psubscribe", "news.*"],
            &["ACL", "DRYRUN", "d", "psubscribe", "news.1"],
            &["ACL", "DRYRUN", "d", "get"],
            &["ACL", "DRYRUN", "d", "nosuchcmd", "x"],
            &["ACL", "DRYRUN", "nobody", "get", "k"],
            &["ACL", "DRYRUN", "d"],
            &["ACL", "DRYRUN", "sleepy", "get", "k"],
            &["ACL", "DRYRUN", "sleepy", "set", "k", "v"],
            &["ACL", "DRYRUN", "default", "flushall"],
            &["ACL", "LOG"],
        ],
    );
}

#[test]
fn dryrun_for_users_as_redis_answers() {
    let [t, _] = same_as_redis(&[], dryrun);
    shows(&t, r#"admin: ["ACL", "DRYRUN", "d", "get", "r:1"]"#, "+OK");
    shows(
        &t,
        r#"admin: ["ACL", "DRYRUN", "d", "get", "w:1"]"#,
        "no permissions to access the 'w:1' key",
    );
    shows(
        &t,
        r#"admin: ["ACL", "DRYRUN", "d", "publish", "other""#,
        "'other' channel",
    );
    shows(
        &t,
        r#"admin: ["ACL", "DRYRUN", "nobody""#,
        "User 'nobody' not found",
    );
}

/// Selectors, 7.0's `(...)` rule: GETUSER's `selectors`, LIST, a command or
/// key that only a selector allows (DRYRUN and a real call), clearselectors,
/// and the unmatched-parenthesis and bad-rule errors.
fn selectors(r: &mut Run) {
    r.calls(
        "admin",
        &[
            &[
                "ACL",
                "SETUSER",
                "s",
                "on",
                "nopass",
                "~main:*",
                "+get",
                "(~side:* +set +get)",
            ],
            &["ACL", "SETUSER", "s", "(%R~ro:* &ch +@hash)"],
            &["ACL", "GETUSER", "s"],
            &["ACL", "LIST"],
            &["ACL", "DRYRUN", "s", "get", "main:1"],
            &["ACL", "DRYRUN", "s", "set", "main:1", "v"],
            &["ACL", "DRYRUN", "s", "set", "side:1", "v"],
            &["ACL", "DRYRUN", "s", "hget", "ro:1", "f"],
            &["ACL", "DRYRUN", "s", "hset", "ro:1", "f", "v"],
            &["ACL", "SETUSER", "s", "(~a +get"],
            &["ACL", "SETUSER", "s", "("],
            &["ACL", "SETUSER", "s", "(foo)"],
            &["ACL", "SETUSER", "s", "(+nosuch)"],
            &["ACL", "GETUSER", "s"],
        ],
    );
    r.calls(
        "u",
        &[
            &["AUTH", "s", "x"],
            &["SET", "side:1", "v"],
            &["GET", "side:1"],
            &["SET", "main:1", "v"],
            &["HSET", "ro:1", "f", "v"],
        ],
    );
    r.calls(
        "admin",
        &[
            &["ACL", "SETUSER", "s", "clearselectors"],
            &["ACL", "GETUSER", "s"],
            &["ACL", "LIST"],
        ],
    );
    r.call("u", &["SET", "side:1", "v"]);
}

#[test]
fn selectors_as_redis_keeps_them() {
    let [t, _] = same_as_redis(&[], selectors);
    shows(
        &t,
        r#"admin: ["ACL", "SETUSER", "s", "(~a +get"]"#,
        "Unmatched parenthesis in acl selector",
    );
    shows(&t, r#"u: ["SET", "side:1", "v"]"#, "+OK");
}

/// AUTH as users: the right password, a wrong one, each of two passwords, a
/// disabled user, a nopass user with any password, an unknown user, the
/// one-argument form while `default` has no password, HELLO with AUTH in
/// both protocol versions, RESET (back to `default`), and ACL WHOAMI after
/// each.
fn authentication(r: &mut Run) {
    r.calls(
        "admin",
        &[
            &[
                "ACL",
                "SETUSER",
                "two",
                "on",
                ">a",
                ">b",
                "+acl|whoami",
                "+ping",
                "+hello",
                "+auth",
            ],
            &["ACL", "SETUSER", "sleepy", "off", ">pw", "+@all", "~*"],
            &["ACL", "SETUSER", "np", "on", "nopass", "+@all", "~*"],
        ],
    );
    let whoami: &[&str] = &["ACL", "WHOAMI"];
    r.calls(
        "u",
        &[
            whoami,
            &["AUTH", "x"],
            &["AUTH", "default", "x"],
            whoami,
            &["AUTH", "two", "a"],
            whoami,
            &["AUTH", "two", "b"],
            whoami,
            &["AUTH", "two", "c"],
            whoami,
            &["AUTH", "sleepy", "pw"],
            &["AUTH", "sleepy", "wrong"],
            whoami,
            &["AUTH", "nobody", "x"],
            &["AUTH", "np", "anything"],
            whoami,
            &["AUTH", "np", ""],
            whoami,
            &["AUTH", "a", "b", "c"],
            &["AUTH"],
            &["HELLO", "3", "AUTH", "two", "a"],
            whoami,
            &["HELLO", "2", "AUTH", "two", "wrong"],
            whoami,
            &["HELLO", "2", "AUTH", "two"],
            &["HELLO", "2", "AUTH", "np", "x", "SETNAME", "cli"],
            whoami,
            &["HELLO", "3", "AUTH", "sleepy", "pw"],
            &["HELLO", "3", "AUTH", "nobody", "pw"],
            whoami,
            &["AUTH", "two", "a"],
            &["RESET"],
            whoami,
        ],
    );
    // Changing a user's passwords or switching it off leaves its connections
    // authenticated; new AUTHs see the change.
    r.call("v", &["AUTH", "two", "a"]);
    r.calls(
        "admin",
        &[
            &["ACL", "SETUSER", "two", "<a"],
            &["ACL", "SETUSER", "np", "off"],
        ],
    );
    r.calls("v", &[whoami, &["PING"], &["AUTH", "two", "a"], whoami]);
    r.calls(
        "u",
        &[whoami, &["AUTH", "np", "x"], &["AUTH", "two", "b"], whoami],
    );
    r.call("admin", &["ACL", "LOG"]);
}

#[test]
fn auth_as_users_as_redis_does() {
    let [t2, t3] = same_as_redis(&[], authentication);
    shows(&t2, r#"u: ["AUTH", "two", "a"]"#, "+OK");
    shows(&t2, r#"u: ["AUTH", "sleepy", "pw"]"#, "-WRONGPASS");
    shows(
        &t2,
        r#"u: ["AUTH", "x"]"#,
        "without any password configured",
    );
    shows(&t3, r#"u: ["HELLO", "3", "AUTH", "two", "a"]"#, "%7");
}

/// ACL DELUSER closes the deleted user's connections (another client's
/// DELUSER, and one that deletes its own user: answered, then closed);
/// other users' connections stay.
fn deleted_while_connected(r: &mut Run) {
    r.calls(
        "admin",
        &[
            &["ACL", "SETUSER", "k1", "on", ">p", "+@all", "~*"],
            &["ACL", "SETUSER", "k2", "on", ">p", "+@all", "~*"],
            &["ACL", "SETUSER", "k3", "on", ">p", "+@all", "~*"],
        ],
    );
    r.call("a1", &["AUTH", "k1", "p"]);
    r.call("a2", &["AUTH", "k1", "p"]);
    r.call("b", &["AUTH", "k2", "p"]);
    r.call("c", &["AUTH", "k3", "p"]);
    r.call("admin", &["ACL", "DELUSER", "k1"]);
    r.closed("a1");
    r.closed("a2");
    r.calls(
        "b",
        &[&["ACL", "WHOAMI"], &["ACL", "DELUSER", "k2", "nobody"]],
    );
    r.closed("b");
    r.calls("c", &[&["ACL", "WHOAMI"], &["GET", "x"]]);
    r.calls("admin", &[&["ACL", "USERS"], &["ACL", "WHOAMI"]]);
}

#[test]
fn deleting_a_user_closes_its_connections() {
    let [t, _] = same_as_redis(&[], deleted_while_connected);
    shows(&t, "a1: PING (closed?)", "<closed>");
    shows(&t, r#"b: ["ACL", "DELUSER", "k2", "nobody"]"#, ":1");
    shows(&t, "b: PING (closed?)", "<closed>");
    shows(&t, r#"c: ["ACL", "WHOAMI"]"#, "k3");
}

/// `requirepass` is the default user's password: CONFIG SET shows in
/// GETUSER/LIST and gates new connections (AUTH pw, AUTH default pw);
/// `requirepass ""` makes default nopass again. The other way round,
/// ACL SETUSER default changes the password without touching the
/// `requirepass` setting. Other users authenticate as before.
fn requirepass(r: &mut Run) {
    r.calls(
        "admin",
        &[
            &["ACL", "SETUSER", "other", "on", ">o", "+@all", "~*"],
            &["CONFIG", "SET", "requirepass", "sekret"],
            &["ACL", "GETUSER", "default"],
            &["ACL", "LIST"],
            &["ACL", "WHOAMI"],
        ],
    );
    r.calls(
        "w",
        &[
            &["PING"],
            &["ACL", "WHOAMI"],
            &["AUTH", "wrong"],
            &["AUTH", "sekret"],
        ],
    );
    r.proto("w");
    r.calls(
        "w",
        &[
            &["ACL", "WHOAMI"],
            &["AUTH", "default", "sekret"],
            &["AUTH", "other", "o"],
        ],
    );
    r.calls("w", &[&["ACL", "WHOAMI"], &["PING"]]);
    r.call("w2", &["HELLO", "2", "AUTH", "default", "sekret"]);
    r.calls(
        "admin",
        &[
            &["ACL", "SETUSER", "default", "resetpass", ">other"],
            &["CONFIG", "GET", "requirepass"],
            &["ACL", "GETUSER", "default"],
        ],
    );
    r.calls(
        "w3",
        &[&["AUTH", "sekret"], &["AUTH", "other"], &["ACL", "WHOAMI"]],
    );
    r.calls(
        "admin",
        &[
            &["CONFIG", "SET", "requirepass", ""],
            &["ACL", "GETUSER", "default"],
            &["ACL", "LIST"],
        ],
    );
    r.calls("w4", &[&["PING"], &["AUTH", "x"]]);
}

#[test]
fn requirepass_is_the_default_users_password() {
    let [t, _] = same_as_redis(&[], requirepass);
    shows(&t, r#"w: ["PING"]"#, "NOAUTH");
    shows(&t, r#"w3: ["AUTH", "other"]"#, "+OK");
}

/// `--requirepass` on the command line: the default user starts with that
/// password, as ACL LIST shows once authenticated.
fn started_with_requirepass(r: &mut Run) {
    r.calls("admin", &[&["ACL", "WHOAMI"], &["AUTH", "pw"]]);
    r.proto("admin");
    r.calls(
        "admin",
        &[
            &["ACL", "LIST"],
            &["ACL", "SETUSER", "u", "on", ">x", "+acl|whoami"],
        ],
    );
    r.calls("u", &[&["AUTH", "u", "x"], &["ACL", "WHOAMI"]]);
}

#[test]
fn started_with_requirepass_as_redis() {
    same_as_redis(&["--requirepass", "pw"], started_with_requirepass);
}

/// `default` is a user like the others: its rules bind connections already
/// open, `>pw` without `resetpass` ends `nopass` (new connections need AUTH,
/// open ones stay authenticated), and `off` refuses it to new connections.
fn default_user(r: &mut Run) {
    r.calls(
        "admin",
        &[
            &["ACL", "SETUSER", "root", "on", ">r", "+@all", "~*", "&*"],
            &["ACL", "SETUSER", "default", "-flushall", "-@hash"],
            &["FLUSHALL"],
            &["HSET", "h", "f", "v"],
            &["SET", "k", "v"],
            &["ACL", "GETUSER", "default"],
            &["ACL", "SETUSER", "default", ">pw"],
            &["ACL", "LIST"],
            &["GET", "k"],
        ],
    );
    r.calls(
        "n1",
        &[
            &["GET", "k"],
            &["AUTH", "pw"],
            &["GET", "k"],
            &["AUTH", "default", "pw"],
        ],
    );
    r.call("admin", &["ACL", "SETUSER", "default", "off"]);
    r.calls(
        "n2",
        &[
            &["GET", "k"],
            &["AUTH", "pw"],
            &["AUTH", "default", "pw"],
            &["AUTH", "root", "r"],
            &["ACL", "GETUSER", "default"],
            &["ACL", "SETUSER", "default", "on", "nopass", "+@all"],
        ],
    );
    r.calls(
        "n3",
        &[&["GET", "k"], &["HGET", "h", "f"], &["ACL", "WHOAMI"]],
    );
    r.calls("n1", &[&["GET", "k"], &["FLUSHALL"]]);
}

#[test]
fn the_default_user_takes_rules_like_any_user() {
    let [t, _] = same_as_redis(&[], default_user);
    shows(&t, r#"admin: ["FLUSHALL"]"#, "-NOPERM");
    shows(&t, r#"n2: ["GET", "k"]"#, "NOAUTH");
}

#[test]
fn command_tokens_sort_within_runs_only() {
    use acl::sort_command_tokens as sort;
    assert_eq!(
        sort("-@all +@read +set -get +@hash +b +a"),
        "-@all +@read +set -get +@hash +a +b"
    );
    assert_eq!(
        sort("user y on ~a -@all +zz +aa (~a resetchannels -@all +set +get) (+b +a)"),
        "user y on ~a -@all +aa +zz (~a resetchannels -@all +get +set) (+a +b)"
    );
    assert_eq!(
        sort("-@all +@read +tandem|role +get +tandem -tandem|linkpos"),
        "-@all +@read +get"
    );
    assert_eq!(
        sort("(~a resetchannels -@all +b +tandem|role)"),
        "(~a resetchannels -@all +b)"
    );
    assert_eq!(
        sort("(~a resetchannels -@all +tandem)"),
        "(~a resetchannels -@all)"
    );
}
