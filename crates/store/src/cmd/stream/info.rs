//! XINFO STREAM [FULL [COUNT n]], XINFO GROUPS, XINFO CONSUMERS, XINFO HELP
//! (Redis 7.0's field names, order and types; maps in RESP3).

use bytes::Bytes;
use tandem_resp::ReplyBuf;

use super::group::{check_sub, sub_syntax};
use super::{read_stream, reply_entry};
use crate::error::{CmdError, CmdResult};
use crate::exec::Exec;
use crate::types::stream::{Group, Stream, StreamId, INVALID_ENTRIES_READ};
use crate::util::{eq_ic, int_arg};

const XINFO_HELP: &[&str] = &[
    "XINFO <subcommand> [<arg> [value] [opt] ...]. Subcommands are:",
    "CONSUMERS <key> <groupname>",
    "    Show consumers of <groupname>.",
    "GROUPS <key>",
    "    Show the stream consumer groups.",
    "STREAM <key> [FULL [COUNT <count>]",
    "    Show information about the stream.",
    "HELP",
    "    Prints this help.",
];

fn id(out: &mut ReplyBuf, id: StreamId) {
    out.bulk(id.text().as_bytes());
}

fn entries_read(out: &mut ReplyBuf, g: &Group) {
    if g.entries_read == INVALID_ENTRIES_READ {
        out.null();
    } else {
        out.int(g.entries_read);
    }
}

fn lag(out: &mut ReplyBuf, s: &Stream, g: &Group) {
    match s.lag(g) {
        Some(l) => out.int(l),
        None => out.null(),
    }
}

pub(super) fn xinfo(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let sub = check_sub(
        args,
        "XINFO",
        &[("CONSUMERS", 4), ("GROUPS", 3), ("STREAM", -3), ("HELP", 2)],
    )?;
    if sub == "HELP" {
        exec.out.array(XINFO_HELP.len());
        for l in XINFO_HELP {
            exec.out.simple(l);
        }
        return Ok(());
    }
    let now = exec.now;
    let key = &args[2];
    let Some(s) = read_stream(exec.store, exec.db, key, now)? else {
        return Err(CmdError::NoSuchKey);
    };
    let out = &mut *exec.out;
    match sub {
        "CONSUMERS" => {
            let Some(g) = s.groups.get(&args[3][..]) else {
                return Err(CmdError::msg(format!(
                    "NOGROUP No such consumer group '{}' for key name '{}'",
                    tandem_resp::c_str(&args[3]),
                    tandem_resp::c_str(key)
                )));
            };
            out.array(g.consumers.len());
            for (name, c) in &g.consumers {
                out.map(3);
                out.bulk(b"name");
                out.bulk(name);
                out.bulk(b"pending");
                out.int(c.pel.len() as i64);
                out.bulk(b"idle");
                out.int((now - c.seen_time).max(0));
            }
        }
        "GROUPS" => {
            out.array(s.groups.len());
            for (name, g) in &s.groups {
                out.map(6);
                out.bulk(b"name");
                out.bulk(name);
                out.bulk(b"consumers");
                out.int(g.consumers.len() as i64);
                out.bulk(b"pending");
                out.int(g.pel.len() as i64);
                out.bulk(b"last-delivered-id");
                id(out, g.last_id);
                out.bulk(b"entries-read");
                entries_read(out, g);
                out.bulk(b"lag");
                lag(out, s, g);
            }
        }
        _ => {
            let rest = &args[3..];
            let mut full = None;
            if !rest.is_empty() {
                if !eq_ic(&rest[0], "FULL") {
                    return Err(sub_syntax(&args[1], "XINFO"));
                }
                let mut count = 10;
                if rest.len() > 1 {
                    if rest.len() != 3 || !eq_ic(&rest[1], "COUNT") {
                        return Err(sub_syntax(&args[1], "XINFO"));
                    }
                    count = int_arg(&rest[2])?;
                    if count < 0 {
                        count = 10;
                    }
                }
                full = Some(if count == 0 {
                    usize::MAX
                } else {
                    count as usize
                });
            }
            stream_info(out, s, full);
        }
    }
    Ok(())
}

fn stream_info(out: &mut ReplyBuf, s: &Stream, full: Option<usize>) {
    out.map(if full.is_some() { 9 } else { 10 });
    out.bulk(b"length");
    out.int(s.len() as i64);
    out.bulk(b"radix-tree-keys");
    out.int(s.node_count() as i64);
    out.bulk(b"radix-tree-nodes");
    out.int(s.rax_nodes() as i64);
    out.bulk(b"last-generated-id");
    id(out, s.last_id);
    out.bulk(b"max-deleted-entry-id");
    id(out, s.max_deleted_id);
    out.bulk(b"entries-added");
    out.int(s.entries_added as i64);
    out.bulk(b"recorded-first-entry-id");
    id(out, s.first_id);
    let Some(count) = full else {
        out.bulk(b"groups");
        out.int(s.groups.len() as i64);
        for (name, last) in [(&b"first-entry"[..], false), (b"last-entry", true)] {
            out.bulk(name);
            match s.edge(last) {
                Some(e) => reply_entry(out, e),
                None => out.null(),
            }
        }
        return;
    };
    out.bulk(b"entries");
    let entries: Vec<_> = s
        .range(StreamId::MIN, StreamId::MAX, false)
        .take(count)
        .collect();
    out.array(entries.len());
    for e in entries {
        reply_entry(out, e);
    }
    out.bulk(b"groups");
    out.array(s.groups.len());
    for (name, g) in &s.groups {
        out.map(7);
        out.bulk(b"name");
        out.bulk(name);
        out.bulk(b"last-delivered-id");
        id(out, g.last_id);
        out.bulk(b"entries-read");
        entries_read(out, g);
        out.bulk(b"lag");
        lag(out, s, g);
        out.bulk(b"pel-count");
        out.int(g.pel.len() as i64);
        out.bulk(b"pending");
        let pel: Vec<_> = g.pel.iter().take(count).collect();
        out.array(pel.len());
        for (pid, n) in pel {
            out.array(4);
            id(out, *pid);
            out.bulk(&n.consumer);
            out.int(n.delivery_time);
            out.int(n.delivery_count as i64);
        }
        out.bulk(b"consumers");
        out.array(g.consumers.len());
        for (cname, c) in &g.consumers {
            out.map(4);
            out.bulk(b"name");
            out.bulk(cname);
            out.bulk(b"seen-time");
            out.int(c.seen_time);
            out.bulk(b"pel-count");
            out.int(c.pel.len() as i64);
            out.bulk(b"pending");
            let ids: Vec<_> = c.pel.iter().take(count).collect();
            out.array(ids.len());
            for pid in ids {
                out.array(3);
                id(out, *pid);
                match g.pel.get(pid) {
                    Some(n) => {
                        out.int(n.delivery_time);
                        out.int(n.delivery_count as i64);
                    }
                    None => {
                        out.int(0);
                        out.int(0);
                    }
                }
            }
        }
    }
}
