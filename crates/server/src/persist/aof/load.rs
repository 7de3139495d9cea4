//! Loading a multi-part AOF at start: the base (an RDB, or commands when it does
//! not start with `REDIS`), then every incremental file in manifest order,
//! replayed through the normal command path (a pseudo-client, no replies, no
//! propagation, keys never expired while loading, as Redis's `loadSingleAppendOnlyFile`).
//!
//! A file that ends in the middle of a command is "truncated": with
//! `aof-load-truncated yes` the last incremental file is cut back to its last
//! complete command (logged as Redis does); otherwise loading fails. Anything that
//! is not a well-formed command is "corrupt": loading fails naming the file and the
//! byte offset.

use std::path::Path;
use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tandem_resp::{Proto, ReplyBuf};

use super::manifest::Manifest;
use crate::dispatch::{now_ms, Action, Ctx};
use crate::persist::loading::{Boot, STOPPED};
use crate::persist::{load_rdb_opts, LoadMode};
use crate::state::{Client, Shared, State};
use crate::stream::WriteStream;
use parking_lot::MutexGuard;

/// What went wrong while parsing one file.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseEnd {
    /// Ends cleanly.
    Complete,
    /// Ends inside a command (or an unfinished MULTI) that starts at this offset.
    Truncated(usize),
    /// Not a command at this offset.
    Corrupt(usize, String),
}

/// Splits `data` into commands; returns them with the offset where each starts,
/// and how the input ends.
pub fn parse_commands(data: &[u8]) -> (Vec<(usize, Vec<Bytes>)>, ParseEnd) {
    let mut out = Vec::new();
    let mut pos = 0;
    let mut multi_at: Option<(usize, usize)> = None;
    while pos < data.len() {
        let start = pos;
        if data[pos] == b'#' {
            // An annotation (`#TS:<unix time>`, aof-timestamp-enabled): its
            // line is skipped, as Redis's loader does (an unfinished one at
            // the end too).
            pos = data[pos..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(data.len(), |n| pos + n + 1);
            continue;
        }
        match parse_one(data, &mut pos) {
            Ok(Some(args)) => {
                if args[0].eq_ignore_ascii_case(b"MULTI") {
                    multi_at = Some((start, out.len()));
                } else if args[0].eq_ignore_ascii_case(b"EXEC") {
                    multi_at = None;
                }
                out.push((start, args));
            }
            Ok(None) => {
                return truncated_at(out, start, multi_at);
            }
            Err(msg) => return (out, ParseEnd::Corrupt(start, msg)),
        }
    }
    if multi_at.is_some() {
        // An unfinished MULTI at the end is reverted, as Redis does.
        return truncated_at(out, data.len(), multi_at);
    }
    (out, ParseEnd::Complete)
}

fn truncated_at(
    mut out: Vec<(usize, Vec<Bytes>)>,
    at: usize,
    multi_at: Option<(usize, usize)>,
) -> (Vec<(usize, Vec<Bytes>)>, ParseEnd) {
    match multi_at {
        Some((off, n)) => {
            out.truncate(n);
            (out, ParseEnd::Truncated(off))
        }
        None => (out, ParseEnd::Truncated(at)),
    }
}

/// One `*N\r\n($len\r\n<bytes>\r\n)*N`; `Ok(None)` if the input ends first.
fn parse_one(d: &[u8], pos: &mut usize) -> Result<Option<Vec<Bytes>>, String> {
    let Some(n) = header(d, pos, b'*')? else {
        return Ok(None);
    };
    if n < 1 {
        return Err("invalid command length".into());
    }
    let mut args = Vec::with_capacity(n.min(1024));
    for _ in 0..n {
        let Some(len) = header(d, pos, b'$')? else {
            return Ok(None);
        };
        if d.len() - *pos < len + 2 {
            return Ok(None);
        }
        if &d[*pos + len..*pos + len + 2] != b"\r\n" {
            return Err("expected CRLF after a bulk string".into());
        }
        args.push(Bytes::copy_from_slice(&d[*pos..*pos + len]));
        *pos += len + 2;
    }
    Ok(Some(args))
}

/// Reads `<prefix><number>\r\n`.
fn header(d: &[u8], pos: &mut usize, prefix: u8) -> Result<Option<usize>, String> {
    if *pos >= d.len() {
        return Ok(None);
    }
    if d[*pos] != prefix {
        return Err(format!("expected '{}'", prefix as char));
    }
    let rest = &d[*pos + 1..];
    let Some(nl) = rest.iter().position(|&b| b == b'\n') else {
        return if rest.len() > 20 {
            Err("length line too long".into())
        } else {
            Ok(None)
        };
    };
    if nl == 0 || rest[nl - 1] != b'\r' {
        return Err("expected CRLF".into());
    }
    let n: usize = std::str::from_utf8(&rest[..nl - 1])
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n: &usize| n <= 1 << 30)
        .ok_or_else(|| "invalid length".to_string())?;
    *pos += nl + 2;
    Ok(Some(n))
}

pub(crate) const LOAD_CLIENT: u64 = u64::MAX;

fn pseudo_client() -> Client {
    let (tx, _rx) = tokio::sync::mpsc::unbounded_channel();
    let mut c = Client::new(
        LOAD_CLIENT,
        "aof".into(),
        String::new(),
        Default::default(),
        tx,
        Arc::new(AtomicUsize::new(0)),
    );
    c.authenticated = true;
    // No user: ACL rules do not apply (Redis's superuser clients).
    c.user = bytes::Bytes::new();
    c
}

/// Replays commands through dispatch; an unknown command stops the load.
fn replay(
    boot: &mut Boot<'_, '_>,
    shared: &Shared,
    file: &str,
    cmds: &[(usize, Vec<Bytes>)],
) -> Result<u64, String> {
    let mut out = ReplyBuf::small(Proto::Resp2);
    // The clocks are read once per 256 commands: a replayed write carries
    // absolute expiry times, and two clock reads per command were 4 % of a
    // replay of a million SETs.
    let (mut now, mut clock) = (now_ms(), std::time::Instant::now());
    for (n, (off, args)) in cmds.iter().enumerate() {
        if n % 256 == 255 {
            (now, clock) = (now_ms(), std::time::Instant::now());
        }
        let Some((idx, _)) = shared.commands.get(&args[0]) else {
            return Err(format!(
                "Unknown command '{}' reading the append only file {file} (at byte offset {off})",
                String::from_utf8_lossy(&args[0])
            ));
        };
        let mut ctx = Ctx {
            st: boot.state(),
            shared,
            id: LOAD_CLIENT,
            out: &mut out,
            now,
            clock,
            in_multi: false,
            action: Action::None,
        };
        crate::dispatch::execute(&mut ctx, args, Some(idx));
        if out.len() > 1 << 16 {
            out.take();
        }
        boot.progress(*off as u64)?;
    }
    Ok(cmds.len() as u64)
}

/// Loads every file of `manifest` from `dir`. Returns the number of keys at the end.
pub fn load_all(
    guard: &mut MutexGuard<'_, State>,
    shared: &Shared,
    dir: &Path,
    manifest: &Manifest,
    truncated_ok: bool,
) -> Result<(), String> {
    let t0 = Instant::now();
    let total: u64 = manifest
        .files()
        .filter_map(|p| std::fs::metadata(dir.join(&p.name)).ok())
        .map(|m| m.len())
        .sum();
    if let Some(p) = guard.loading.as_mut() {
        p.total_bytes = total;
    }
    let st: &mut State = guard;
    // Replay writes neither to the stream (offsets stay) nor expire keys.
    let saved_stream = std::mem::replace(&mut st.stream, WriteStream::new(1));
    let (was_replica, was_from_master) = (st.store.config.is_replica, st.store.from_master);
    st.store.config.is_replica = true;
    st.store.from_master = true;
    st.clients.insert(LOAD_CLIENT, pseudo_client());
    let mut boot = Boot::new(guard, shared);
    let res = (|| {
        let last = manifest.files().count().saturating_sub(1);
        let mut done = 0u64;
        for (i, part) in manifest.files().enumerate() {
            boot.set_base(done);
            let path = dir.join(&part.name);
            let data = std::fs::read(&path).map_err(|e| {
                format!(
                    "Fatal error: can't open the append log file {} for reading: {e}",
                    part.name
                )
            })?;
            done += data.len() as u64;
            if data.starts_with(b"REDIS") {
                let verify = boot.state().config.bool("rdbchecksum");
                let s = load_rdb_opts(&data[..], &mut boot, LoadMode::Replica, verify).map_err(
                    |e| {
                        if e.message == STOPPED {
                            return e.message;
                        }
                        format!(
                            "Bad file format reading the append only file {}: {e}",
                            part.name
                        )
                    },
                )?;
                crate::script::load_snapshot(boot.state(), &s);
                tracing::info!(
                    "Loading RDB preamble from AOF file {}: {} keys",
                    part.name,
                    s.keys_loaded
                );
                let tail = &data[s.bytes as usize..];
                if !tail.is_empty() {
                    load_commands(
                        &mut boot,
                        shared,
                        &path,
                        &part.name,
                        tail,
                        s.bytes as usize,
                        truncated_ok && i == last,
                    )?;
                }
            } else {
                load_commands(
                    &mut boot,
                    shared,
                    &path,
                    &part.name,
                    &data,
                    0,
                    truncated_ok && i == last,
                )?;
            }
            tracing::info!(
                "DB loaded from {} file {}: {:.3} seconds",
                if manifest.base.as_ref() == Some(part) {
                    "base"
                } else {
                    "incr"
                },
                part.name,
                t0.elapsed().as_secs_f64()
            );
        }
        Ok(())
    })();
    let st = boot.state();
    st.clients.remove(&LOAD_CLIENT);
    st.store.config.is_replica = was_replica;
    st.store.from_master = was_from_master;
    st.store.prop.clear();
    st.store.dirty = 0;
    st.stream = saved_stream;
    if res.is_ok() {
        tracing::info!(
            "DB loaded from append only file: {:.3} seconds",
            t0.elapsed().as_secs_f64()
        );
    }
    res
}

fn load_commands(
    boot: &mut Boot<'_, '_>,
    shared: &Shared,
    path: &Path,
    name: &str,
    data: &[u8],
    base_off: usize,
    may_truncate: bool,
) -> Result<(), String> {
    let (cmds, end) = parse_commands(data);
    let cmds: Vec<(usize, Vec<Bytes>)> = cmds.into_iter().map(|(o, a)| (o + base_off, a)).collect();
    match end {
        ParseEnd::Complete => {
            replay(boot, shared, name, &cmds)?;
        }
        ParseEnd::Corrupt(off, why) => {
            return Err(format!(
                "Bad file format reading the append only file {name} at byte offset {} ({why}): make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>",
                off + base_off
            ));
        }
        ParseEnd::Truncated(off) => {
            let off = off + base_off;
            if !may_truncate {
                return Err(format!(
                    "Unexpected end of file reading the append only file {name} (at byte offset {off}). You can: 1) Make a backup of your AOF file, then use ./redis-check-aof --fix <filename.manifest>. 2) Alternatively you can set the 'aof-load-truncated' configuration option to yes and restart the server."
                ));
            }
            replay(boot, shared, name, &cmds)?;
            tracing::warn!("!!! Warning: short read while loading the AOF file {name}!!!");
            tracing::warn!("!!! Truncating the AOF {name} at offset {off} !!!");
            std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .and_then(|f| {
                    f.set_len(off as u64)?;
                    f.sync_all()
                })
                .map_err(|e| format!("Error truncating the AOF file {name}: {e}"))?;
            tracing::warn!("AOF {name} loaded anyway because aof-load-truncated is enabled");
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_complete_truncated_corrupt_and_open_multi() {
        let ok = b"*2\r\n$6\r\nSELECT\r\n$1\r\n0\r\n*3\r\n$3\r\nSET\r\n$1\r\nk\r\n$1\r\nv\r\n";
        let (cmds, end) = parse_commands(ok);
        assert_eq!(end, ParseEnd::Complete);
        assert_eq!(cmds.len(), 2);
        assert_eq!(cmds[1].0, 23);
        for cut in 24..ok.len() {
            let (cmds, end) = parse_commands(&ok[..cut]);
            assert_eq!((cmds.len(), end), (1, ParseEnd::Truncated(23)), "cut {cut}");
        }
        let mut bad = ok.to_vec();
        bad[23] = b'?';
        assert!(matches!(parse_commands(&bad).1, ParseEnd::Corrupt(23, _)));
        // Annotations are skipped, an unfinished one at the end too.
        let mut ts = b"#TS:1700000000\r\n".to_vec();
        ts.extend_from_slice(ok);
        ts.extend_from_slice(b"#TS:17000");
        let (cmds, end) = parse_commands(&ts);
        assert_eq!((cmds.len(), end), (2, ParseEnd::Complete));
        let multi = b"*1\r\n$5\r\nMULTI\r\n*2\r\n$3\r\nDEL\r\n$1\r\nk\r\n";
        let (cmds, end) = parse_commands(multi);
        assert_eq!((cmds.len(), end), (0, ParseEnd::Truncated(0)));
        let mut huge = b"*1\r\n$99999999999999999999\r\n".to_vec();
        huge.extend_from_slice(b"x");
        assert!(matches!(parse_commands(&huge).1, ParseEnd::Corrupt(0, _)));
    }
}
