//! The append-only file end to end: no acknowledged write lost across repeated
//! SIGKILLs with `appendfsync always`, truncated and corrupt files, rewrites
//! (explicit, automatic, while writes continue), runtime switching, RESTORE's
//! propagated form, redis-check-aof and interop with a real redis-server 7.0.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{free_port, tandem_bin, wait_for, Proc};

fn info_field(c: &mut redis::Connection, name: &str) -> String {
    let text: String = redis::cmd("INFO")
        .arg("persistence")
        .query(c)
        .expect("INFO");
    text.lines()
        .find_map(|l| l.strip_prefix(&format!("{name}:")))
        .unwrap_or_else(|| panic!("INFO has no {name}:\n{text}"))
        .trim()
        .to_string()
}

fn aof_dir(p: &Proc) -> PathBuf {
    p.dir.path().join("appendonlydir")
}

fn manifest(p: &Proc) -> String {
    std::fs::read_to_string(aof_dir(p).join("appendonly.aof.manifest")).expect("manifest")
}

/// The last incremental file the manifest names.
fn last_incr(p: &Proc) -> PathBuf {
    let m = manifest(p);
    let name = m
        .lines()
        .rev()
        .find(|l| l.ends_with("type i"))
        .and_then(|l| l.split_whitespace().nth(1))
        .expect("an incr file")
        .to_string();
    aof_dir(p).join(name)
}

fn dir_size(d: &Path) -> u64 {
    std::fs::read_dir(d)
        .expect("ls")
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum()
}

fn set(c: &mut redis::Connection, k: &str, v: &str) {
    let _: () = redis::cmd("SET").arg(k).arg(v).query(c).expect("SET");
}

fn shutdown(p: &mut Proc) {
    let _ = redis::cmd("SHUTDOWN")
        .arg("NOSAVE")
        .query::<()>(&mut p.client());
    let deadline = Instant::now() + Duration::from_secs(10);
    while p.child.try_wait().expect("wait").is_none() {
        assert!(Instant::now() < deadline, "no exit");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn always_fsync_keeps_every_acknowledged_write_across_sigkills() {
    let mut p = Proc::tandem(&[
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
    ]);
    const CLIENTS: usize = 6;
    // Per client: the last INCR value acknowledged, and SET keys acknowledged.
    let mut acked_incr = [0i64; CLIENTS];
    let mut acked_sets: Vec<Vec<String>> = vec![Vec::new(); CLIENTS];
    for round in 0..5 {
        let stop = Arc::new(AtomicBool::new(false));
        let handles: Vec<_> = (0..CLIENTS)
            .map(|i| {
                let url = p.url();
                let stop = stop.clone();
                std::thread::spawn(move || {
                    let mut c = redis::Client::open(url)
                        .expect("url")
                        .get_connection()
                        .expect("conn");
                    let (mut last, mut sets) = (None, Vec::new());
                    let mut n = 0;
                    // Bounded loop; ends at the kill (an error) or the stop flag.
                    while !stop.load(Ordering::SeqCst) && n < 200_000 {
                        n += 1;
                        match redis::cmd("INCR")
                            .arg(format!("ctr:{i}"))
                            .query::<i64>(&mut c)
                        {
                            Ok(v) => last = Some(v),
                            Err(_) => break,
                        }
                        let k = format!("k:{round}:{i}:{n}");
                        match redis::cmd("SET").arg(&k).arg(n).query::<()>(&mut c) {
                            Ok(()) => sets.push(k),
                            Err(_) => break,
                        }
                    }
                    (last, sets)
                })
            })
            .collect();
        std::thread::sleep(Duration::from_millis(300 + 100 * round as u64));
        p.sigkill();
        stop.store(true, Ordering::SeqCst);
        for (i, h) in handles.into_iter().enumerate() {
            let (last, sets) = h.join().expect("client");
            if let Some(v) = last {
                acked_incr[i] = v;
            }
            acked_sets[i].extend(sets);
        }
        p.restart();
        let mut c = p.client();
        for i in 0..CLIENTS {
            let v: Option<i64> = redis::cmd("GET")
                .arg(format!("ctr:{i}"))
                .query(&mut c)
                .expect("GET");
            let v = v.unwrap_or(0);
            // The INCR in flight at the kill may or may not be there; acked ones must.
            assert!(
                v == acked_incr[i] || v == acked_incr[i] + 1,
                "round {round} client {i}: ctr {v}, acknowledged {}",
                acked_incr[i]
            );
            acked_incr[i] = v;
            let mut pipe = redis::pipe();
            for k in &acked_sets[i] {
                pipe.cmd("EXISTS").arg(k);
            }
            let found: Vec<i64> = pipe.query(&mut c).expect("EXISTS");
            let missing = found.iter().filter(|&&f| f == 0).count();
            assert_eq!(
                missing, 0,
                "round {round} client {i}: {missing} acknowledged SETs lost"
            );
        }
    }
    assert!(
        acked_sets.iter().map(Vec::len).sum::<usize>() > 100,
        "the test wrote too little"
    );
}

fn start_expecting_exit(dir: &Path, args: &[&str]) -> String {
    let mut child = Command::new(tandem_bin())
        .args(["server", "--port", &free_port().to_string(), "--dir"])
        .arg(dir)
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn");
    let deadline = Instant::now() + Duration::from_secs(20);
    while child.try_wait().expect("wait").is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("tandem started on a damaged AOF");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let out = child.wait_with_output().expect("output");
    assert!(!out.status.success());
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn truncated_tail_is_cut_or_refused_per_aof_load_truncated() {
    let mut p = Proc::tandem(&["--appendonly", "yes", "--save", ""]);
    let mut c = p.client();
    for i in 0..50 {
        set(&mut c, &format!("k{i}"), "v");
    }
    shutdown(&mut p);
    let incr = last_incr(&p);
    let good_len = std::fs::metadata(&incr).expect("incr").len();
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&incr)
        .expect("open");
    std::io::Write::write_all(&mut f, b"*3\r\n$3\r\nSET\r\n$2\r\nk5").expect("append");
    drop(f);
    let out = start_expecting_exit(
        p.dir.path(),
        &["--appendonly", "yes", "--aof-load-truncated", "no"],
    );
    assert!(out.contains("Unexpected end of file"), "{out}");
    assert!(out.contains(&format!("byte offset {good_len}")), "{out}");
    p.restart();
    let mut c = p.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("DBSIZE");
    assert_eq!(n, 50);
    assert!(p.log().contains("Truncating the AOF"), "{}", p.log());
    assert_eq!(std::fs::metadata(&incr).expect("incr").len(), good_len);
    set(&mut c, "after", "1");
    shutdown(&mut p);
    p.restart();
    let n: i64 = redis::cmd("DBSIZE").query(&mut p.client()).expect("DBSIZE");
    assert_eq!(n, 51);
}

#[test]
fn corrupt_aof_is_refused_naming_the_file_and_offset() {
    let mut p = Proc::tandem(&["--appendonly", "yes", "--save", ""]);
    let mut c = p.client();
    for i in 0..20 {
        set(&mut c, &format!("k{i}"), "v");
    }
    shutdown(&mut p);
    let incr = last_incr(&p);
    let mut bytes = std::fs::read(&incr).expect("incr");
    let at = bytes.len() / 2;
    let at = at
        + bytes[at..]
            .iter()
            .position(|&b| b == b'*')
            .expect("a command start");
    bytes[at] = b'!';
    std::fs::write(&incr, &bytes).expect("write");
    let out = start_expecting_exit(p.dir.path(), &["--appendonly", "yes"]);
    let name = incr
        .file_name()
        .expect("name")
        .to_string_lossy()
        .to_string();
    assert!(out.contains("Bad file format"), "{out}");
    assert!(out.contains(&name), "{out}");
    assert!(out.contains(&format!("byte offset {at}")), "{out}");
}

#[test]
fn rewrite_keeps_data_written_during_it_and_shrinks_the_aof() {
    let mut p = Proc::tandem(&[
        "--appendonly",
        "yes",
        "--save",
        "",
        "--auto-aof-rewrite-percentage",
        "0",
    ]);
    let mut c = p.client();
    let mut pipe = redis::pipe();
    for _ in 0..20_000 {
        pipe.cmd("INCR").arg("counter").ignore();
    }
    for i in 0..2000 {
        pipe.cmd("RPUSH").arg("list").arg(i).ignore();
    }
    pipe.query::<()>(&mut c).expect("writes");
    let before = dir_size(&aof_dir(&p));
    // Hold the child so writes land while it runs.
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("rdb-key-save-delay")
        .arg(300_000)
        .query(&mut c)
        .expect("CONFIG");
    let r: String = redis::cmd("BGREWRITEAOF")
        .query(&mut c)
        .expect("BGREWRITEAOF");
    assert_eq!(r, "Background append only file rewriting started");
    assert_eq!(info_field(&mut c, "aof_rewrite_in_progress"), "1");
    let e = redis::cmd("BGREWRITEAOF")
        .query::<String>(&mut c)
        .expect_err("second");
    assert!(e.to_string().contains("already in progress"), "{e}");
    let e = redis::cmd("BGSAVE")
        .query::<String>(&mut c)
        .expect_err("bgsave");
    assert!(
        e.to_string().contains("Another child process is active"),
        "{e}"
    );
    // The interim manifest names the old and the new incremental file.
    assert_eq!(
        manifest(&p)
            .lines()
            .filter(|l| l.ends_with("type i"))
            .count(),
        2
    );
    set(&mut c, "during", "rewrite");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("rdb-key-save-delay")
        .arg(0)
        .query(&mut c)
        .expect("CONFIG");
    wait_for(Duration::from_secs(30), "the rewrite", || {
        info_field(&mut c, "aof_rewrite_in_progress") == "0"
    });
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    assert_eq!(info_field(&mut c, "aof_rewrites"), "1");
    let m = manifest(&p);
    assert_eq!(m.lines().count(), 2, "{m}");
    assert!(m.contains("appendonly.aof.2.base.rdb seq 2 type b"), "{m}");
    let after = dir_size(&aof_dir(&p));
    assert!(
        after * 4 < before,
        "rewrite did not shrink: {before} -> {after}"
    );
    let files = std::fs::read_dir(aof_dir(&p)).expect("ls").count();
    assert_eq!(files, 3, "old files must be gone");
    p.sigkill();
    p.restart();
    let mut c = p.client();
    let v: i64 = redis::cmd("GET").arg("counter").query(&mut c).expect("GET");
    assert_eq!(v, 20_000);
    let n: i64 = redis::cmd("LLEN").arg("list").query(&mut c).expect("LLEN");
    assert_eq!(n, 2000);
    let d: String = redis::cmd("GET").arg("during").query(&mut c).expect("GET");
    assert_eq!(d, "rewrite");
    // redis-check-aof accepts the result, as a whole and the incr file alone.
    let out = Command::new("redis-check-aof")
        .arg(aof_dir(&p).join("appendonly.aof.manifest"))
        .output()
        .expect("redis-check-aof");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("All AOF files and manifest are valid"),
        "{text}"
    );
    let out = Command::new("redis-check-aof")
        .arg(last_incr(&p))
        .output()
        .expect("redis-check-aof");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("is valid"), "{text}");
}

#[test]
fn automatic_rewrite_on_growth() {
    let p = Proc::tandem(&[
        "--appendonly",
        "yes",
        "--save",
        "",
        "--auto-aof-rewrite-percentage",
        "100",
        "--auto-aof-rewrite-min-size",
        "4096",
    ]);
    let mut c = p.client();
    let mut pipe = redis::pipe();
    for i in 0..500 {
        pipe.cmd("SET").arg("k").arg(i).ignore();
    }
    pipe.query::<()>(&mut c).expect("writes");
    wait_for(Duration::from_secs(10), "an automatic rewrite", || {
        info_field(&mut c, "aof_rewrites") == "1"
    });
    assert!(
        p.log().contains("Starting automatic rewriting of AOF on"),
        "{}",
        p.log()
    );
}

#[test]
fn appendonly_switched_on_and_off_at_runtime() {
    let mut p = Proc::tandem(&["--save", ""]);
    let mut c = p.client();
    set(&mut c, "before", "1");
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendonly")
        .arg("yes")
        .query(&mut c)
        .expect("CONFIG");
    set(&mut c, "right-after", "2");
    wait_for(Duration::from_secs(10), "the first rewrite", || {
        info_field(&mut c, "aof_rewrites") == "1"
    });
    assert_eq!(info_field(&mut c, "aof_enabled"), "1");
    set(&mut c, "later", "3");
    // Killed; the restart must use the AOF (as a config file would say).
    p.restart_with(&["--appendonly", "yes", "--save", ""]);
    let mut c = p.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("DBSIZE");
    assert_eq!(n, 3);
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("appendonly")
        .arg("no")
        .query(&mut c)
        .expect("CONFIG");
    assert_eq!(info_field(&mut c, "aof_enabled"), "0");
    let size = dir_size(&aof_dir(&p));
    set(&mut c, "not-logged", "4");
    assert_eq!(dir_size(&aof_dir(&p)), size);
}

#[test]
fn restore_is_logged_with_an_absolute_ttl() {
    let p = Proc::tandem(&["--appendonly", "yes", "--save", ""]);
    let mut c = p.client();
    set(&mut c, "src", "v");
    let payload: Vec<u8> = redis::cmd("DUMP").arg("src").query(&mut c).expect("DUMP");
    let t0 = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("time")
        .as_millis() as i64;
    let _: () = redis::cmd("RESTORE")
        .arg("dst")
        .arg(50_000)
        .arg(payload)
        .query(&mut c)
        .expect("RESTORE");
    wait_for(Duration::from_secs(5), "the AOF write", || {
        String::from_utf8_lossy(&std::fs::read(last_incr(&p)).unwrap_or_default())
            .contains("ABSTTL")
    });
    let text = String::from_utf8_lossy(&std::fs::read(last_incr(&p)).expect("incr")).to_string();
    let parts: Vec<&str> = text.split("\r\n").collect();
    let i = parts
        .iter()
        .position(|s| s.eq_ignore_ascii_case("RESTORE"))
        .expect("RESTORE logged");
    let when: i64 = parts[i + 4].parse().expect("absolute ttl");
    assert!(
        (t0 + 49_000..=t0 + 51_000).contains(&when),
        "{when} vs {t0}"
    );
}

#[test]
fn aof_interop_with_real_redis_both_ways() {
    // Tandem's AOF directory loads in redis-server.
    let mut t = Proc::tandem(&["--appendonly", "yes", "--save", ""]);
    let mut c = t.client();
    set(&mut c, "a", "1");
    let _: () = redis::cmd("RPUSH")
        .arg("l")
        .arg(&["x", "y"])
        .query(&mut c)
        .expect("RPUSH");
    let _: () = redis::cmd("BGREWRITEAOF")
        .query(&mut c)
        .expect("BGREWRITEAOF");
    wait_for(Duration::from_secs(10), "rewrite", || {
        info_field(&mut c, "aof_rewrite_in_progress") == "0"
    });
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("v")
        .query(&mut c)
        .expect("HSET");
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).expect("SELECT");
    set(&mut c, "in3", "z");
    shutdown(&mut t);
    let mut r = Proc::redis(&[]);
    copy_dir(&aof_dir(&t), &r.dir.path().join("appendonlydir"));
    r.restart_with(&["--appendonly", "yes"]);
    let mut rc = r.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut rc).expect("DBSIZE");
    assert_eq!(n, 3);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut rc).expect("SELECT");
    let v: String = redis::cmd("GET").arg("in3").query(&mut rc).expect("GET");
    assert_eq!(v, "z");
    // And redis-server's AOF loads in Tandem.
    let _: () = redis::cmd("SADD")
        .arg("s")
        .arg(&[1, 2, 3])
        .query(&mut rc)
        .expect("SADD");
    let _: () = redis::cmd("SELECT").arg(0).query(&mut rc).expect("SELECT");
    let _: () = redis::cmd("INCRBY")
        .arg("a")
        .arg(41)
        .query(&mut rc)
        .expect("INCRBY");
    let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut rc);
    let _ = r.child.wait();
    let mut t2 = Proc::tandem(&["--save", ""]);
    copy_dir(&r.dir.path().join("appendonlydir"), &aof_dir(&t2));
    t2.restart_with(&["--appendonly", "yes", "--save", ""]);
    let mut c = t2.client();
    let a: i64 = redis::cmd("GET").arg("a").query(&mut c).expect("GET");
    assert_eq!(a, 42);
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).expect("SELECT");
    let n: i64 = redis::cmd("SCARD").arg("s").query(&mut c).expect("SCARD");
    assert_eq!(n, 3);
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("ls") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), to.join(e.file_name())).expect("copy");
    }
}

#[test]
fn bgrewriteaof_with_appendonly_off_writes_a_base_only_manifest() {
    for mut p in [Proc::tandem(&["--save", ""]), Proc::redis(&[])] {
        let mut c = p.client();
        set(&mut c, "k", "v");
        let r: String = redis::cmd("BGREWRITEAOF")
            .query(&mut c)
            .expect("BGREWRITEAOF");
        assert_eq!(r, "Background append only file rewriting started");
        wait_for(Duration::from_secs(10), "the rewrite", || {
            info_field(&mut c, "aof_rewrites") == "1"
        });
        assert_eq!(info_field(&mut c, "aof_enabled"), "0");
        let mpath = aof_dir(&p).join("appendonly.aof.manifest");
        wait_for(Duration::from_secs(10), "the manifest", || mpath.exists());
        assert_eq!(
            manifest(&p),
            "file appendonly.aof.1.base.rdb seq 1 type b\n",
            "{:?}",
            p.kind
        );
        if p.kind == common::Kind::Tandem {
            p.restart_with(&["--appendonly", "yes", "--save", ""]);
            let v: String = redis::cmd("GET")
                .arg("k")
                .query(&mut p.client())
                .expect("GET");
            assert_eq!(v, "v");
        }
    }
}

/// The pid in the newest "rewriting started by pid N" log line.
fn rewrite_child(p: &Proc) -> i32 {
    let mut pid = None;
    wait_for(Duration::from_secs(10), "the rewrite log line", || {
        pid = p
            .log()
            .lines()
            .rev()
            .find_map(|l| l.split("rewriting started by pid ").nth(1))
            .and_then(|s| s.trim().parse().ok());
        pid.is_some()
    });
    pid.expect("pid")
}

#[test]
fn a_crash_at_any_point_of_a_rewrite_keeps_every_write() {
    let mut p = Proc::tandem(&[
        "--appendonly",
        "yes",
        "--save",
        "",
        "--auto-aof-rewrite-percentage",
        "0",
    ]);
    let mut c = p.client();
    for i in 0..200 {
        set(&mut c, &format!("k{i}"), "v");
    }
    let _: () = redis::cmd("CONFIG")
        .arg("SET")
        .arg("rdb-key-save-delay")
        .arg(20_000)
        .query(&mut c)
        .expect("CONFIG");
    // 1. The rewrite child dies half way: the interim manifest still names every file.
    let _: String = redis::cmd("BGREWRITEAOF")
        .query(&mut c)
        .expect("BGREWRITEAOF");
    let child = rewrite_child(&p);
    set(&mut c, "during-1", "x");
    let _ = Command::new("kill")
        .arg("-9")
        .arg(child.to_string())
        .status();
    wait_for(Duration::from_secs(10), "the failed rewrite", || {
        info_field(&mut c, "aof_rewrite_in_progress") == "0"
    });
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "err");
    set(&mut c, "after-1", "x");
    // 2. The whole process dies during the next rewrite.
    let _: String = redis::cmd("BGREWRITEAOF")
        .query(&mut c)
        .expect("BGREWRITEAOF");
    let child = rewrite_child(&p);
    set(&mut c, "during-2", "x");
    p.sigkill();
    let _ = Command::new("kill")
        .arg("-9")
        .arg(child.to_string())
        .status();
    p.restart_with(&["--appendonly", "yes", "--save", ""]);
    let mut c = p.client();
    let n: i64 = redis::cmd("DBSIZE").query(&mut c).expect("DBSIZE");
    assert_eq!(n, 203);
    // The next rewrite cleans up and still keeps everything.
    let _: String = redis::cmd("BGREWRITEAOF")
        .query(&mut c)
        .expect("BGREWRITEAOF");
    wait_for(Duration::from_secs(10), "the rewrite", || {
        info_field(&mut c, "aof_rewrite_in_progress") == "0"
    });
    assert_eq!(info_field(&mut c, "aof_last_bgrewrite_status"), "ok");
    p.sigkill();
    p.restart();
    let n: i64 = redis::cmd("DBSIZE").query(&mut p.client()).expect("DBSIZE");
    assert_eq!(n, 203);
}

/// A single-file AOF of Redis before 7.0 (`appendonly.aof` in `dir`: an RDB
/// preamble followed by commands, or commands only) is moved into the AOF
/// folder as its base under a new manifest and loaded, as redis-server 7.0
/// does with the same file: the same manifest, the same data, and the next
/// start loads from the folder.
#[test]
fn a_pre_7_single_file_aof_is_upgraded_as_redis_does() {
    // A Redis 6 style file: redis-server's base (RDB preamble) with its incr
    // commands appended.
    let mut r = Proc::redis(&["--appendonly", "yes", "--aof-use-rdb-preamble", "yes"]);
    let mut c = r.client();
    set(&mut c, "a", "1");
    let _: () = redis::cmd("RPUSH")
        .arg("l")
        .arg(&["x", "y"])
        .query(&mut c)
        .expect("RPUSH");
    let _: () = redis::cmd("BGREWRITEAOF")
        .query(&mut c)
        .expect("BGREWRITEAOF");
    wait_for(Duration::from_secs(10), "rewrite", || {
        info_field(&mut c, "aof_rewrite_in_progress") == "0"
            && info_field(&mut c, "aof_rewrite_scheduled") == "0"
    });
    let _: () = redis::cmd("HSET")
        .arg("h")
        .arg("f")
        .arg("v")
        .query(&mut c)
        .expect("HSET");
    let _: () = redis::cmd("SELECT").arg(3).query(&mut c).expect("SELECT");
    set(&mut c, "in3", "z");
    shutdown(&mut r);
    let m = manifest(&r);
    let mut preamble = Vec::new();
    for l in m.lines() {
        let name = l.split_whitespace().nth(1).expect("file name");
        preamble.extend(std::fs::read(aof_dir(&r).join(name)).expect("read part"));
    }
    assert!(preamble.starts_with(b"REDIS"));
    let commands = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\na\r\n$1\r\n1\r\n*3\r\n$4\r\nSADD\r\n$1\r\ns\r\n$1\r\nm\r\n*2\r\n$6\r\nSELECT\r\n$1\r\n3\r\n*3\r\n$3\r\nSET\r\n$3\r\nin3\r\n$1\r\nz\r\n".to_vec();
    let data = |p: &Proc| {
        let mut c = p.client();
        let mut out = Vec::new();
        for db in [0, 3] {
            let _: () = redis::cmd("SELECT").arg(db).query(&mut c).expect("SELECT");
            let mut keys: Vec<String> = redis::cmd("KEYS").arg("*").query(&mut c).expect("KEYS");
            keys.sort();
            for k in keys {
                let t: String = redis::cmd("TYPE").arg(&k).query(&mut c).expect("TYPE");
                let v: redis::Value = match t.as_str() {
                    "string" => redis::cmd("GET").arg(&k).query(&mut c),
                    "list" => redis::cmd("LRANGE").arg(&k).arg(0).arg(-1).query(&mut c),
                    "hash" => redis::cmd("HGETALL").arg(&k).query(&mut c),
                    _ => redis::cmd("SMEMBERS").arg(&k).query(&mut c),
                }
                .expect("read");
                out.push(format!("{db} {k} {t} {v:?}"));
            }
        }
        out
    };
    for (what, file) in [("preamble", &preamble), ("commands", &commands)] {
        let mut got = Vec::new();
        for mut p in [Proc::tandem(&["--save", ""]), Proc::redis(&[])] {
            p.sigkill();
            std::fs::write(p.dir.path().join("appendonly.aof"), file).expect("old AOF");
            p.restart_with(&["--appendonly", "yes", "--save", ""]);
            assert!(
                !p.dir.path().join("appendonly.aof").exists(),
                "{:?} {what}: moved",
                p.kind
            );
            assert_eq!(
                std::fs::read(aof_dir(&p).join("appendonly.aof")).expect("base"),
                *file,
                "{:?} {what}: the base is the old file",
                p.kind
            );
            let before = data(&p);
            assert!(before.len() >= 3, "{before:?}");
            // The next start loads from the folder.
            set(&mut p.client(), "after", "1");
            shutdown(&mut p);
            p.restart_with(&["--appendonly", "yes", "--save", ""]);
            let after = data(&p);
            assert!(after.iter().any(|l| l.starts_with("0 after ")), "{after:?}");
            got.push((manifest(&p), before));
        }
        assert_eq!(got[0], got[1], "{what}: Tandem (left) and redis-server");
    }
}

/// `aof-timestamp-enabled yes`: both servers write `#TS:<unix time>`
/// annotations into the AOF and each loads the other's.
#[test]
fn aof_timestamp_annotations_are_written_and_loaded_both_ways() {
    let mut dirs = Vec::new();
    for kind in [common::Kind::Redis, common::Kind::Tandem] {
        let mut p = Proc::start(
            kind,
            &[
                "--appendonly",
                "yes",
                "--aof-timestamp-enabled",
                "yes",
                "--save",
                "",
            ],
        );
        let mut c = p.client();
        set(&mut c, "a", &format!("{kind:?}"));
        let _: () = redis::cmd("RPUSH")
            .arg("l")
            .arg(&["x", "y"])
            .query(&mut c)
            .expect("RPUSH");
        shutdown(&mut p);
        let incr = std::fs::read(last_incr(&p)).expect("incr file");
        assert!(
            incr.starts_with(b"#TS:"),
            "{kind:?}: {}",
            String::from_utf8_lossy(&incr)
        );
        dirs.push((kind, p));
    }
    for (kind, from) in &dirs {
        let mut other = match kind {
            common::Kind::Redis => Proc::tandem(&["--save", ""]),
            common::Kind::Tandem => Proc::redis(&[]),
        };
        copy_dir(&aof_dir(from), &aof_dir(&other));
        other.restart_with(&["--appendonly", "yes", "--save", ""]);
        let mut c = other.client();
        let a: String = redis::cmd("GET").arg("a").query(&mut c).expect("GET");
        assert_eq!(a, format!("{kind:?}"));
        let l: Vec<String> = redis::cmd("LRANGE")
            .arg("l")
            .arg(0)
            .arg(-1)
            .query(&mut c)
            .expect("LRANGE");
        assert_eq!(l, ["x", "y"]);
    }
}

/// `no-appendfsync-on-rewrite yes`: while a child saves, writes reach the AOF
/// without an fsync (even with `appendfsync always`, as Redis), and the AOF
/// is fsynced again once the child is gone; `no` keeps fsyncing each write.
/// fdatasync calls counted with strace.
#[test]
fn no_appendfsync_on_rewrite_holds_fsyncs_while_a_child_runs() {
    let count = |setting: &str| {
        let dir = tempfile::tempdir().expect("tmp");
        let (mut child, mut c) = common::tandem_under_strace(
            dir.path(),
            &[
                "--save",
                "",
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--rdb-key-save-delay",
                "2000",
                "--no-appendfsync-on-rewrite",
                setting,
            ],
        );
        for i in 0..500 {
            set(&mut c, &format!("k{i}"), "v");
        }
        let now = || {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .expect("clock")
                .as_secs_f64()
        };
        let t0 = now();
        let _: String = redis::cmd("BGSAVE").query(&mut c).expect("BGSAVE");
        for _ in 0..50 {
            let _: i64 = redis::cmd("INCR").arg("n").query(&mut c).expect("INCR");
        }
        assert_eq!(
            info_field(&mut c, "rdb_bgsave_in_progress"),
            "1",
            "the child outlived the writes"
        );
        let t1 = now();
        wait_for(Duration::from_secs(20), "the save", || {
            info_field(&mut c, "rdb_bgsave_in_progress") == "0"
        });
        let _ = redis::cmd("SHUTDOWN").arg("NOSAVE").query::<()>(&mut c);
        let _ = child.wait();
        let times = common::fdatasync_times(dir.path());
        let before = times.iter().filter(|t| **t < t0).count();
        assert!(
            before >= 1,
            "the writes before the save were fsynced: {before}"
        );
        times.iter().filter(|t| (t0..t1).contains(*t)).count()
    };
    let held = count("yes");
    let synced = count("no");
    assert!(synced >= 50, "no: {synced} fdatasyncs for 50 writes");
    assert!(held <= 5, "yes: {held} fdatasyncs during the save");
}
