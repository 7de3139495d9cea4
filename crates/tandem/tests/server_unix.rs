//! The Unix socket listener (`unixsocket`, `unixsocketperm`), beside a real
//! redis-server given the same options: redis-cli connects with `-s`, the
//! socket file has the configured mode, clients show `addr=<path>:0` and
//! flag `U`, count as local, `port 0` means no TCP listener, a stale socket
//! file is replaced at start and the file is removed at shutdown.

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::{Kind, Proc};

fn cli_s(sock: &Path, args: &[&str]) -> String {
    let out = Command::new("redis-cli")
        .arg("-s")
        .arg(sock)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("run redis-cli");
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// The inodes of the TCP sockets in LISTEN state on this host.
fn listening_tcp_inodes() -> Vec<String> {
    let mut out = Vec::new();
    for f in ["/proc/net/tcp", "/proc/net/tcp6"] {
        let text = std::fs::read_to_string(f).unwrap_or_default();
        for l in text.lines().skip(1) {
            let cols: Vec<&str> = l.split_whitespace().collect();
            // st 0A = LISTEN; column 9 is the inode.
            if cols.get(3) == Some(&"0A") {
                if let Some(i) = cols.get(9) {
                    out.push(i.to_string());
                }
            }
        }
    }
    out
}

/// The socket inodes a process holds open.
fn socket_inodes(pid: u32) -> Vec<String> {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .expect("fd dir")
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter_map(|t| {
            let t = t.to_string_lossy().to_string();
            Some(t.strip_prefix("socket:[")?.strip_suffix(']')?.to_string())
        })
        .collect()
}

#[test]
fn unix_socket_clients_as_redis() {
    let dir = tempfile::tempdir().expect("temp dir");
    for kind in [Kind::Tandem, Kind::Redis] {
        let sock = dir.path().join(format!("{kind:?}.sock"));
        let path = sock.to_str().expect("utf-8 path");
        let p = Proc::start(
            kind,
            &[
                "--unixsocket",
                path,
                "--unixsocketperm",
                "700",
                "--enable-debug-command",
                "local",
            ],
        );
        let meta = std::fs::metadata(&sock).expect("socket file");
        assert!(meta.file_type().is_socket(), "{kind:?}");
        assert_eq!(meta.permissions().mode() & 0o777, 0o700, "{kind:?}");
        assert_eq!(cli_s(&sock, &["PING"]), "PONG", "{kind:?}");
        let info = cli_s(&sock, &["CLIENT", "INFO"]);
        assert!(
            info.contains(&format!(" addr={path}:0 laddr={path}:0 ")),
            "{kind:?}: {info}"
        );
        assert!(info.contains(" flags=U "), "{kind:?}: {info}");
        // Local: DEBUG is allowed by `local` over the socket.
        assert_eq!(cli_s(&sock, &["DEBUG", "SLEEP", "0"]), "OK", "{kind:?}");
        // TCP clients are not flagged.
        assert!(
            p.cli_str(&["CLIENT", "INFO"]).contains(" flags=N "),
            "{kind:?}"
        );
        assert_eq!(
            cli_s(&sock, &["CONFIG", "GET", "unixsocketperm"]),
            "unixsocketperm\n700"
        );
    }
}

#[test]
fn port_zero_serves_the_socket_only_and_shutdown_removes_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sock = dir.path().join("t.sock");
    // A stale file where the socket goes (a killed server leaves one).
    std::fs::write(&sock, "stale").expect("stale file");
    let mut child = Command::new(common::tandem_bin())
        .args(["server", "--port", "0", "--unixsocket"])
        .arg(&sock)
        .arg("--dir")
        .arg(dir.path())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn tandem");
    common::wait_for(Duration::from_secs(20), "the socket", || {
        cli_s(&sock, &["PING"]) == "PONG"
    });
    let listening = listening_tcp_inodes();
    let held = socket_inodes(child.id());
    assert!(!held.is_empty());
    assert!(
        held.iter().all(|i| !listening.contains(i)),
        "a TCP listener with port 0: {held:?}"
    );
    assert_eq!(cli_s(&sock, &["SET", "k", "v"]), "OK");
    assert_eq!(cli_s(&sock, &["GET", "k"]), "v");
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let status = child.wait().expect("wait");
    assert!(status.success(), "{status}");
    assert!(!sock.exists(), "the socket file stays after shutdown");
}

#[test]
fn no_listener_at_all_is_refused_at_start() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = Command::new(common::tandem_bin())
        .args(["server", "--port", "0", "--dir"])
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run tandem");
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Configured to not listen anywhere"), "{text}");
    // A socket path that cannot be bound stops the start with Redis's words.
    let out = Command::new(common::tandem_bin())
        .args([
            "server",
            "--port",
            "0",
            "--unixsocket",
            "/nonexistent-dir/x.sock",
            "--dir",
        ])
        .arg(dir.path())
        .stdin(Stdio::null())
        .output()
        .expect("run tandem");
    assert_eq!(out.status.code(), Some(1));
    let text =
        String::from_utf8_lossy(&out.stderr).to_string() + &String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Failed opening Unix socket"), "{text}");
}
