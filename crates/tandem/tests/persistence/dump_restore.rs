//! DUMP/RESTORE: payloads move both ways between Tandem and a real redis-server
//! 7.0 for every type, the option rules and errors are Redis's, and damaged
//! payloads are refused without harm.

use redis::Connection;

use super::common::Proc;
use super::data;

/// Copies every key of `from` into `to` with DUMP + RESTORE ... ABSTTL, keeping
/// the exact expiry.
fn copy_all(from: &mut Connection, to: &mut Connection) {
    let keys = data::dump(from, 4);
    for ((db, key), view) in &keys {
        let _: () = redis::cmd("SELECT").arg(*db).query(from).expect("SELECT");
        let _: () = redis::cmd("SELECT").arg(*db).query(to).expect("SELECT");
        let payload: Vec<u8> = redis::cmd("DUMP").arg(key).query(from).expect("DUMP");
        let ttl = view.expire_at.max(0);
        let ok: String = redis::cmd("RESTORE")
            .arg(key)
            .arg(ttl)
            .arg(payload)
            .arg("ABSTTL")
            .query(to)
            .unwrap_or_else(|e| panic!("RESTORE {key}: {e}"));
        assert_eq!(ok, "OK");
    }
    let _: () = redis::cmd("SELECT").arg(0).query(from).expect("SELECT");
    let _: () = redis::cmd("SELECT").arg(0).query(to).expect("SELECT");
}

#[test]
fn dump_restore_interop_both_ways_every_type() {
    let r = Proc::redis(&[]);
    let t = Proc::tandem(&["--save", ""]);
    let (mut rc, mut tc) = (r.client(), t.client());
    data::populate(&mut rc);
    let expected = data::dump(&mut rc, 4);
    let enc = data::encodings(&mut rc, &expected);
    // Redis -> Tandem.
    copy_all(&mut rc, &mut tc);
    assert_eq!(data::dump(&mut tc, 4), expected);
    assert_eq!(data::encodings(&mut tc, &expected), enc);
    // Tandem -> a fresh Redis.
    let r2 = Proc::redis(&[]);
    let mut rc2 = r2.client();
    copy_all(&mut tc, &mut rc2);
    assert_eq!(data::dump(&mut rc2, 4), expected);
    assert_eq!(data::encodings(&mut rc2, &expected), enc);
}

/// The reply (or error text) of a command.
fn reply(c: &mut Connection, args: &[&[u8]]) -> String {
    let mut cmd = redis::cmd(std::str::from_utf8(args[0]).expect("name"));
    for a in &args[1..] {
        cmd.arg(*a);
    }
    match cmd.query::<redis::Value>(c) {
        Ok(v) => format!("{v:?}"),
        Err(e) => e.to_string(),
    }
}

/// A payload with a correct footer around an arbitrary body.
fn with_footer(body: &[u8]) -> Vec<u8> {
    let mut p = body.to_vec();
    p.extend_from_slice(&10u16.to_le_bytes());
    let crc = tandem_rdb::crc64(&p);
    p.extend_from_slice(&crc.to_le_bytes());
    p
}

#[test]
fn restore_options_and_errors_match_redis() {
    let r = Proc::redis(&[]);
    let t = Proc::tandem(&["--save", ""]);
    let mut outs = Vec::new();
    for p in [&r, &t] {
        let mut c = p.client();
        let _: () = redis::cmd("SET")
            .arg("src")
            .arg("value")
            .query(&mut c)
            .expect("SET");
        let good: Vec<u8> = redis::cmd("DUMP").arg("src").query(&mut c).expect("DUMP");
        let mut bad_crc = good.clone();
        let n = bad_crc.len();
        bad_crc[n - 1] ^= 1;
        let mut future_ver = good[..n - 10].to_vec();
        future_ver.extend_from_slice(&11u16.to_le_bytes());
        let crc = tandem_rdb::crc64(&future_ver);
        future_ver.extend_from_slice(&crc.to_le_bytes());
        let empty_list = with_footer(&[1, 0]);
        let garbage = with_footer(&[0, 0x7f, b'x']);
        let unknown_type = with_footer(&[99, 1, b'x']);
        let dup_set = with_footer(&[2, 2, 1, b'a', 1, b'a']);
        let cases: Vec<Vec<&[u8]>> = vec![
            vec![b"DUMP", b"nosuchkey"],
            vec![b"RESTORE", b"src", b"0", &good],
            vec![b"RESTORE", b"k", b"-1", &good],
            vec![b"RESTORE", b"k", b"abc", &good],
            vec![b"RESTORE", b"k", b"0", &bad_crc],
            vec![b"RESTORE", b"k", b"0", &future_ver],
            vec![b"RESTORE", b"k", b"0", b"short"],
            vec![b"RESTORE", b"k", b"0", &empty_list],
            vec![b"RESTORE", b"k", b"0", &garbage],
            vec![b"RESTORE", b"k", b"0", &unknown_type],
            vec![b"RESTORE", b"k", b"0", &dup_set],
            vec![b"RESTORE", b"k", b"0", &good, b"BOGUS"],
            vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME", b"-1"],
            vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME", b"x"],
            vec![b"RESTORE", b"k", b"0", &good, b"FREQ", b"256"],
            vec![
                b"RESTORE",
                b"k",
                b"0",
                &good,
                b"IDLETIME",
                b"5",
                b"FREQ",
                b"5",
            ],
            vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME"],
            vec![b"RESTORE", b"k", b"0", &good, b"IDLETIME", b"100"],
            vec![b"OBJECT", b"IDLETIME", b"k"],
            vec![b"RESTORE", b"k", b"0", &good, b"REPLACE", b"FREQ", b"10"],
            vec![b"GET", b"k"],
            vec![b"RESTORE", b"k", b"1", &good, b"REPLACE", b"ABSTTL"],
            vec![b"EXISTS", b"k"],
            vec![b"RESTORE", b"k2", b"100000", &good],
            vec![b"EXISTS", b"k2"],
            vec![b"RESTORE", b"k3", b"9999999999999", &good, b"ABSTTL"],
            vec![b"PEXPIRETIME", b"k3"],
        ];
        let out: Vec<String> = cases.iter().map(|a| reply(&mut c, a)).collect();
        let ttl: i64 = redis::cmd("PTTL").arg("k2").query(&mut c).expect("PTTL");
        assert!((99_000..=100_000).contains(&ttl), "{ttl}");
        outs.push(out);
    }
    for (i, (a, b)) in outs[0].iter().zip(&outs[1]).enumerate() {
        assert_eq!(a, b, "case {i}: redis vs tandem");
    }
}

#[test]
fn damaged_payloads_never_hurt_the_server() {
    let t = Proc::tandem(&["--save", ""]);
    let mut c = t.client();
    data::populate(&mut c);
    let mut payloads = Vec::new();
    for ((db, key), _) in data::dump(&mut c, 4) {
        let _: () = redis::cmd("SELECT").arg(db).query(&mut c).expect("SELECT");
        let p: Vec<u8> = redis::cmd("DUMP").arg(&key).query(&mut c).expect("DUMP");
        payloads.push(p);
    }
    let _: () = redis::cmd("SELECT").arg(9).query(&mut c).expect("SELECT");
    // Deterministic pseudo-random damage; the footer is fixed up so the body decoder
    // (not only the checksum) sees the damage.
    let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for round in 0..2000 {
        let p = &payloads[round % payloads.len()];
        let mut body = p[..p.len() - 10].to_vec();
        match next() % 3 {
            0 => {
                let i = (next() as usize) % body.len();
                body[i] ^= (next() % 255 + 1) as u8;
            }
            1 => body.truncate((next() as usize) % body.len()),
            _ => {
                let i = (next() as usize) % body.len();
                body.insert(i, next() as u8);
            }
        }
        let _ = redis::cmd("RESTORE")
            .arg("fuzz")
            .arg(0)
            .arg(with_footer(&body))
            .arg("REPLACE")
            .query::<redis::Value>(&mut c);
    }
    let pong: String = redis::cmd("PING").query(&mut c).expect("server alive");
    assert_eq!(pong, "PONG");
}
