//! Stream commands (Redis 7.0): XADD, XLEN, XRANGE, XREVRANGE, XDEL, XTRIM,
//! XSETID here; XREAD/XREADGROUP in `read`, the consumer-group commands in
//! `group`, XINFO in `info`.
//!
//! Argument checks follow `t_stream.c` in its order (IDs and options before the
//! key lookup, then WRONGTYPE), with its error texts. What goes to replicas and
//! the AOF is what Redis propagates: XADD with the ID it generated and, after an
//! approximate trim, `=` and the threshold the trim reached, so a replica ends
//! with the same entries whatever its node layout.

use bytes::Bytes;

use crate::error::{CmdError, CmdResult};
use crate::exec::{Exec, Handler};
use crate::keyspace::Store;
use crate::types::stream::{AppendError, Stream, StreamId, TrimTo};
use crate::util::{c_bytes, eq_ic, int_arg};
use crate::value::Value;

mod group;
mod info;
mod read;
#[cfg(test)]
mod tests;

pub const COMMANDS: &[(&str, Handler)] = &[
    ("xadd", xadd),
    ("xlen", xlen),
    ("xrange", xrange),
    ("xrevrange", xrevrange),
    ("xdel", xdel),
    ("xtrim", xtrim),
    ("xsetid", xsetid),
    ("xread", read::xread),
    ("xreadgroup", read::xreadgroup),
    ("xgroup", group::xgroup),
    ("xack", group::xack),
    ("xpending", group::xpending),
    ("xclaim", group::xclaim),
    ("xautoclaim", group::xautoclaim),
    ("xinfo", info::xinfo),
];

pub(crate) const INVALID_ID: &str = "ERR Invalid stream ID specified as stream command argument";

/// Redis's `string2ull`: a canonical decimal when `string2ll` reads one (and it
/// is not negative), else whatever `strtoull` accepts (leading blanks, a sign,
/// and a minus that wraps).
fn string2ull(s: &[u8]) -> Option<u64> {
    if let Some(v) = crate::util::parse_i64(s) {
        return u64::try_from(v).ok();
    }
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
        i += 1;
    }
    let mut neg = false;
    if i < s.len() && (s[i] == b'+' || s[i] == b'-') {
        neg = s[i] == b'-';
        i += 1;
    }
    let digits = &s[i..];
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let mut v: u64 = 0;
    for &d in digits {
        v = v.checked_mul(10)?.checked_add(u64::from(d - b'0'))?;
    }
    Some(if neg { v.wrapping_neg() } else { v })
}

/// Parses an ID as Redis's `streamGenericParseIDOrReply`: `-`/`+` (unless
/// `strict`), `ms` (sequence `missing_seq`), `ms-seq`, and with `seq_star` also
/// `ms-*`. Returns the ID and whether the sequence was given.
pub(crate) fn parse_id_full(
    arg: &[u8],
    strict: bool,
    missing_seq: u64,
    seq_star: bool,
) -> Result<(StreamId, bool), CmdError> {
    let bad = || CmdError::msg(INVALID_ID);
    if arg.len() > 127 {
        return Err(bad());
    }
    let buf = c_bytes(arg);
    match buf {
        b"-" | b"+" if strict => return Err(bad()),
        b"-" => return Ok((StreamId::MIN, true)),
        b"+" => return Ok((StreamId::MAX, true)),
        _ => {}
    }
    let (ms_part, seq_part) = match buf.iter().position(|&b| b == b'-') {
        Some(d) => (&buf[..d], Some(&buf[d + 1..])),
        None => (buf, None),
    };
    let ms = string2ull(ms_part).ok_or_else(bad)?;
    match seq_part {
        Some(b"*") if seq_star => Ok((StreamId::new(ms, 0), false)),
        Some(s) => Ok((StreamId::new(ms, string2ull(s).ok_or_else(bad)?), true)),
        None => Ok((StreamId::new(ms, missing_seq), true)),
    }
}

/// A plain ID argument (`-` and `+` allowed), missing sequence 0.
pub(crate) fn parse_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_id_full(arg, false, 0, false).map(|(id, _)| id)
}

/// A strict ID argument (no `-`/`+`), missing sequence 0.
pub(crate) fn parse_strict_id(arg: &[u8]) -> Result<StreamId, CmdError> {
    parse_id_full(arg, true, 0, false).map(|(id, _)| id)
}

/// A range bound: an ID, or `(ID` for an exclusive bound (strict). Returns the
/// ID and whether it is exclusive.
pub(crate) fn parse_interval(arg: &[u8], missing_seq: u64) -> Result<(StreamId, bool), CmdError> {
    if arg.len() > 1 && arg[0] == b'(' {
        let (id, _) = parse_id_full(&arg[1..], true, missing_seq, false)?;
        Ok((id, true))
    } else {
        parse_id_full(arg, false, missing_seq, false).map(|(id, _)| (id, false))
    }
}

/// The first ID of a range: `(id` excludes `id` (Redis's errors past the
/// last possible ID).
pub(crate) fn range_start(arg: &[u8]) -> Result<StreamId, CmdError> {
    match parse_interval(arg, 0)? {
        (id, true) => id
            .incr()
            .ok_or_else(|| CmdError::msg("ERR invalid start ID for the interval")),
        (id, false) => Ok(id),
    }
}

/// The last ID of a range (a missing sequence is the largest).
pub(crate) fn range_end(arg: &[u8]) -> Result<StreamId, CmdError> {
    match parse_interval(arg, u64::MAX)? {
        (id, true) => id
            .decr()
            .ok_or_else(|| CmdError::msg("ERR invalid end ID for the interval")),
        (id, false) => Ok(id),
    }
}

/// An ID as a bulk string.
pub(crate) fn reply_id(exec: &mut Exec<'_>, id: StreamId) {
    exec.out.bulk(id.text().as_bytes());
}

pub(crate) fn id_arg(id: StreamId) -> Bytes {
    Bytes::from(id.text())
}

/// One entry as Redis replies it: `[id, [field, value, ...]]`.
pub(crate) fn reply_entry(out: &mut tandem_resp::ReplyBuf, e: crate::types::stream::Entry<'_>) {
    out.array(2);
    out.bulk(e.id.text().as_bytes());
    out.array(e.len());
    for f in e.strings() {
        out.bulk(f);
    }
}

/// The stream at `key` for reading, or WRONGTYPE.
pub(crate) fn read_stream<'a>(
    store: &'a mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a mut Stream>, CmdError> {
    match store.lookup_read(db, key, now) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The stream at `key` for writing (no hit/miss counts), or WRONGTYPE.
pub(crate) fn write_stream<'a>(
    store: &'a mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<Option<&'a mut Stream>, CmdError> {
    match store.lookup_write(db, key, now) {
        None => Ok(None),
        Some(Value::Stream(s)) => Ok(Some(s)),
        Some(_) => Err(CmdError::WrongType),
    }
}

/// The stream at `key`, created empty when missing.
pub(crate) fn stream_or_create<'a>(
    store: &'a mut Store,
    db: usize,
    key: &[u8],
    now: i64,
) -> Result<&'a mut Stream, CmdError> {
    match store.lookup_write(db, key, now) {
        Some(Value::Stream(_)) => {}
        Some(_) => return Err(CmdError::WrongType),
        None => store.set_key(db, key, Value::Stream(Box::default()), false, now),
    }
    match store.lookup_write(db, key, now) {
        Some(Value::Stream(s)) => Ok(s),
        _ => Err(CmdError::msg("ERR internal error creating stream")),
    }
}

/// XADD/XTRIM's trimming options (Redis's `streamAddTrimArgs`).
#[derive(Default)]
struct TrimArgs {
    to: Option<TrimTo>,
    approx: bool,
    limit: u64,
    /// Index of the threshold argument (the `~`/`=` is just before it).
    arg_idx: usize,
    approx_idx: Option<usize>,
    nomkstream: bool,
    id: Option<(StreamId, bool)>,
}

/// Parses XADD's options up to the ID (`xadd`), or XTRIM's options; returns the
/// index of XADD's ID argument.
fn parse_trim_args(
    args: &[Bytes],
    xadd: bool,
    obey: bool,
    node_max_entries: i64,
) -> Result<(TrimArgs, usize), CmdError> {
    let mut t = TrimArgs::default();
    let mut limit: i64 = 0;
    let mut limit_given = false;
    let mut i = 2;
    const BOTH: &str =
        "ERR syntax error, MAXLEN and MINID options at the same time are not compatible";
    while i < args.len() {
        let more = args.len() - 1 - i;
        let opt = c_bytes(&args[i]);
        if xadd && opt == b"*" {
            break;
        }
        let maxlen = eq_ic(opt, "maxlen");
        if (maxlen || eq_ic(opt, "minid")) && more > 0 {
            if t.to.is_some() {
                return Err(CmdError::msg(BOTH));
            }
            t.approx = false;
            t.approx_idx = None;
            let next = c_bytes(&args[i + 1]);
            if more >= 2 && (next == b"~" || next == b"=") {
                t.approx = next == b"~";
                t.approx_idx = Some(i + 1);
                i += 1;
            }
            let v = &args[i + 1];
            t.to = Some(if maxlen {
                let n = int_arg(v)?;
                if n < 0 {
                    return Err(CmdError::msg("ERR The MAXLEN argument must be >= 0."));
                }
                TrimTo::MaxLen(n as u64)
            } else {
                TrimTo::MinId(parse_strict_id(v)?)
            });
            i += 1;
            t.arg_idx = i;
        } else if eq_ic(opt, "limit") && more > 0 {
            limit = int_arg(&args[i + 1])?;
            if limit < 0 {
                return Err(CmdError::msg("ERR The LIMIT argument must be >= 0."));
            }
            limit_given = true;
            i += 1;
        } else if xadd && eq_ic(opt, "nomkstream") {
            t.nomkstream = true;
        } else if xadd {
            t.id = Some(parse_id_full(&args[i], true, 0, true)?);
            break;
        } else {
            return Err(CmdError::Syntax);
        }
        i += 1;
    }
    if limit != 0 && t.to.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, LIMIT cannot be used without specifying a trimming strategy",
        ));
    }
    if !xadd && t.to.is_none() {
        return Err(CmdError::msg(
            "ERR syntax error, XTRIM must be called with a trimming strategy",
        ));
    }
    if obey {
        t.limit = 0;
    } else if limit_given {
        if !t.approx {
            return Err(CmdError::msg(
                "ERR syntax error, LIMIT cannot be used without the special ~ option",
            ));
        }
        t.limit = limit as u64;
    } else if t.approx {
        let l = node_max_entries.saturating_mul(100);
        t.limit = if l <= 0 || l > 1_000_000 {
            10_000
        } else {
            l as u64
        };
    }
    Ok((t, i))
}

/// After an approximate trim, the arguments to propagate: `=` for `~` and the
/// threshold the stream now sits at, so replicas trim to the same entries.
fn rewrite_trim(argv: &mut [Bytes], t: &TrimArgs, s: &Stream) {
    if !t.approx {
        return;
    }
    if let Some(a) = t.approx_idx {
        argv[a] = Bytes::from_static(b"=");
    }
    argv[t.arg_idx] = match t.to {
        Some(TrimTo::MaxLen(_)) => Bytes::from(s.len().to_string()),
        _ => id_arg(s.first_raw_id().unwrap_or(StreamId::MAX)),
    };
}

fn xadd(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let obey = exec.store.from_master;
    let node_max = exec.store.config.stream_node_max_entries;
    let (t, idpos) = parse_trim_args(args, true, obey, node_max)?;
    let field_pos = idpos + 1;
    let nf = args.len().saturating_sub(field_pos);
    if nf < 2 || nf % 2 == 1 {
        return Err(CmdError::arity(&args[0]));
    }
    if let Some((id, true)) = t.id {
        if id.is_zero() {
            return Err(CmdError::msg(
                "ERR The ID specified in XADD must be greater than 0-0",
            ));
        }
    }
    let (db, now) = (exec.db, exec.now);
    if t.nomkstream && write_stream(exec.store, db, &args[1], now)?.is_none() {
        exec.out.null();
        return Ok(());
    }
    let cfg = exec.store.config.clone();
    let s = stream_or_create(exec.store, db, &args[1], now)?;
    if s.last_id == StreamId::MAX {
        return Err(CmdError::msg(
            "ERR The stream has exhausted the last possible ID, unable to add more items",
        ));
    }
    let not_above = || {
        CmdError::msg(
            "ERR The ID specified in XADD is equal or smaller than the target stream top item",
        )
    };
    let id = match t.id {
        Some((id, true)) => id,
        Some((id, false)) => {
            if s.last_id.ms == id.ms {
                // A full sequence: Redis 7.0.15 leaves errno unset on this path
                // and answers the "too large" text.
                s.last_id
                    .incr()
                    .filter(|n| n.ms == id.ms)
                    .ok_or_else(|| CmdError::msg("ERR Elements are too large to be stored"))?
            } else {
                id
            }
        }
        None => {
            let ms = now.max(0) as u64;
            if ms > s.last_id.ms {
                StreamId::new(ms, 0)
            } else {
                s.last_id.incr().ok_or_else(not_above)?
            }
        }
    };
    match s.append(id, &args[field_pos..], &cfg) {
        Ok(()) => {}
        Err(AppendError::NotIncreasing) => return Err(not_above()),
        Err(AppendError::TooLarge) => {
            return Err(CmdError::msg("ERR Elements are too large to be stored"))
        }
    }
    reply_id(exec, id);
    let mut argv = args.to_vec();
    if let Some(to) = t.to {
        let Some(Value::Stream(s)) = exec.store.lookup_write(db, &args[1], now) else {
            return Ok(());
        };
        s.trim(to, t.approx, t.limit);
        rewrite_trim(&mut argv, &t, s);
    }
    if !matches!(t.id, Some((_, true))) {
        argv[idpos] = id_arg(id);
    }
    exec.store.touch(db, &args[1]);
    exec.dirty(1);
    exec.propagate_as(argv);
    Ok(())
}

fn xlen(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let n = read_stream(exec.store, exec.db, &args[1], exec.now)?.map_or(0, |s| s.len());
    exec.out.int(n as i64);
    Ok(())
}

fn range_generic(exec: &mut Exec<'_>, args: &[Bytes], rev: bool) -> CmdResult {
    let (start_arg, end_arg) = if rev {
        (&args[3], &args[2])
    } else {
        (&args[2], &args[3])
    };
    let start = range_start(start_arg)?;
    let end = range_end(end_arg)?;
    let mut count: i64 = -1;
    let mut j = 4;
    while j < args.len() {
        if eq_ic(&args[j], "COUNT") && j + 1 < args.len() {
            count = int_arg(&args[j + 1])?.max(0);
            j += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let Some(s) = read_stream(exec.store, exec.db, &args[1], exec.now)? else {
        exec.out.empty_array();
        return Ok(());
    };
    if count == 0 {
        exec.out.null_array();
        return Ok(());
    }
    let limit = if count < 0 {
        usize::MAX
    } else {
        count as usize
    };
    let items: Vec<_> = s.range(start, end, rev).take(limit).collect();
    exec.out.array(items.len());
    for e in items {
        reply_entry(exec.out, e);
    }
    Ok(())
}

fn xrange(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(exec, args, false)
}

fn xrevrange(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    range_generic(exec, args, true)
}

fn xdel(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let (db, now) = (exec.db, exec.now);
    let Some(s) = write_stream(exec.store, db, &args[1], now)? else {
        exec.out.int(0);
        return Ok(());
    };
    // Every ID is checked before any is deleted.
    let ids = args[2..]
        .iter()
        .map(|a| parse_strict_id(a))
        .collect::<Result<Vec<_>, _>>()?;
    let mut deleted = 0;
    let mut first = false;
    for id in ids {
        if s.delete(id) {
            if id > s.max_deleted_id {
                s.max_deleted_id = id;
            }
            first |= id == s.first_id;
            deleted += 1;
        }
    }
    if first {
        s.refresh_first_id();
    }
    if deleted > 0 {
        exec.store.touch(db, &args[1]);
        exec.dirty(deleted);
    }
    exec.out.int(deleted as i64);
    Ok(())
}

fn xtrim(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let obey = exec.store.from_master;
    let node_max = exec.store.config.stream_node_max_entries;
    let (t, _) = parse_trim_args(args, false, obey, node_max)?;
    let (db, now) = (exec.db, exec.now);
    let Some(s) = write_stream(exec.store, db, &args[1], now)? else {
        exec.out.int(0);
        return Ok(());
    };
    let Some(to) = t.to else {
        return Err(CmdError::Syntax);
    };
    let deleted = s.trim(to, t.approx, t.limit);
    if deleted > 0 {
        let mut argv = args.to_vec();
        rewrite_trim(&mut argv, &t, s);
        exec.store.touch(db, &args[1]);
        exec.dirty(deleted);
        exec.propagate_as(argv);
    }
    exec.out.int(deleted as i64);
    Ok(())
}

/// XSETID key last-id [ENTRIESADDED n] [MAXDELETEDID id].
fn xsetid(exec: &mut Exec<'_>, args: &[Bytes]) -> CmdResult {
    let id = parse_strict_id(&args[2])?;
    let mut entries_added: i64 = -1;
    let mut max_xdel = StreamId::MIN;
    let mut i = 3;
    while i < args.len() {
        let more = args.len() - 1 - i;
        if eq_ic(&args[i], "ENTRIESADDED") && more > 0 {
            entries_added = int_arg(&args[i + 1])?;
            if entries_added < 0 {
                return Err(CmdError::msg("ERR entries_added must be positive"));
            }
            i += 2;
        } else if eq_ic(&args[i], "MAXDELETEDID") && more > 0 {
            max_xdel = parse_strict_id(&args[i + 1])?;
            if id < max_xdel {
                return Err(CmdError::msg(
                    "ERR The ID specified in XSETID is smaller than the provided max_deleted_entry_id",
                ));
            }
            i += 2;
        } else {
            return Err(CmdError::Syntax);
        }
    }
    let (db, now) = (exec.db, exec.now);
    let Some(s) = write_stream(exec.store, db, &args[1], now)? else {
        return Err(CmdError::NoSuchKey);
    };
    if let Some(last) = s.edge(true) {
        if id < last.id {
            return Err(CmdError::msg(
                "ERR The ID specified in XSETID is smaller than the target stream top item",
            ));
        }
        if entries_added != -1 && s.len() > entries_added as u64 {
            return Err(CmdError::msg(
                "ERR The entries_added specified in XSETID is smaller than the target stream length",
            ));
        }
    }
    s.set_last_id(id);
    if entries_added != -1 {
        s.entries_added = entries_added as u64;
    }
    if !max_xdel.is_zero() {
        s.max_deleted_id = max_xdel;
    }
    exec.store.touch(db, &args[1]);
    exec.dirty(1);
    exec.out.ok();
    Ok(())
}
