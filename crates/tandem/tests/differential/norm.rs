//! Reply normalization (only where Redis itself is unordered or random) and the
//! full dataset dump compared at checkpoints.

use redis::Value;

use crate::conn::Conn;
use crate::ops::Norm;

/// A total order on replies good enough for sorting unordered collections.
fn sort_key(v: &Value) -> String {
    format!("{v:?}")
}

/// RESP3 maps and sets have no defined order: sort them, at every depth.
pub fn canon(v: Value) -> Value {
    match v {
        Value::Map(kv) => {
            let mut kv: Vec<(Value, Value)> =
                kv.into_iter().map(|(k, v)| (canon(k), canon(v))).collect();
            kv.sort_by_key(|(k, _)| sort_key(k));
            Value::Map(kv)
        }
        Value::Set(items) => {
            let mut items: Vec<Value> = items.into_iter().map(canon).collect();
            items.sort_by_key(sort_key);
            Value::Set(items)
        }
        Value::Array(items) => Value::Array(items.into_iter().map(canon).collect()),
        other => other,
    }
}

/// Keeps only types and lengths.
fn shape(v: &Value) -> Value {
    match v {
        Value::BulkString(_) => Value::BulkString(b"*".to_vec()),
        Value::Int(_) => Value::Int(0),
        Value::Double(_) => Value::Double(0.0),
        Value::Array(xs) => Value::Array(xs.iter().map(shape).collect()),
        Value::Set(xs) => Value::Set(xs.iter().map(shape).collect()),
        Value::Map(kv) => Value::Map(kv.iter().map(|(k, v)| (shape(k), shape(v))).collect()),
        other => other.clone(),
    }
}

const DAY_MS: i64 = 86_400_000;

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// An absolute time in ms: 0 within a day of now (each side's clock), else
/// kept (an explicit `XCLAIM ... TIME` long ago).
fn abs_time(v: &mut Value, now: i64) {
    if let Value::Int(t) = v {
        if (*t - now).abs() < DAY_MS {
            *t = 0;
        }
    }
}

/// An idle time in ms: 0 below a day, -1 above (a delivery time set by
/// `TIME` long ago). Finer buckets would split two sides' values a
/// millisecond apart now and then over thousands of replies; the IDLE
/// option's value is checked by server_stream_groups.rs.
fn idle_time(v: &mut Value) {
    if let Value::Int(t) = v {
        *t = if *t < DAY_MS { 0 } else { -1 };
    }
}

fn text(v: &Value) -> Option<&[u8]> {
    match v {
        Value::BulkString(b) => Some(b),
        Value::SimpleString(s) => Some(s.as_bytes()),
        _ => None,
    }
}

/// XPENDING's extended rows: `[id, consumer, idle, deliveries]`.
fn is_pending_row(v: &Value) -> bool {
    matches!(v, Value::Array(c) if matches!(c.as_slice(),
        [Value::BulkString(_), Value::BulkString(_), Value::Int(_), Value::Int(_)]))
}

/// The time fields of stream replies, at any depth: `seen-time`, `idle`,
/// the delivery times of XINFO STREAM FULL's PEL rows, XPENDING's idle.
pub fn stream_times(v: &mut Value, now: i64) {
    match v {
        Value::Array(items) if !items.is_empty() && items.iter().all(is_pending_row) => {
            for row in items {
                if let Value::Array(cells) = row {
                    idle_time(&mut cells[2]);
                }
            }
        }
        Value::Array(items) => {
            let mut i = 0;
            while i < items.len() {
                let key = text(&items[i]).map(<[u8]>::to_vec);
                if i + 1 < items.len() && key.is_some() {
                    let (head, tail) = items.split_at_mut(i + 1);
                    if stream_field(&head[i], &mut tail[0], now) {
                        i += 2;
                        continue;
                    }
                }
                stream_times(&mut items[i], now);
                i += 1;
            }
        }
        Value::Map(kv) => {
            for (k, v) in kv.iter_mut() {
                if !stream_field(k, v, now) {
                    stream_times(v, now);
                }
            }
        }
        _ => {}
    }
}

/// Normalizes `value` when `key` names a time field; true when it did.
fn stream_field(key: &Value, value: &mut Value, now: i64) -> bool {
    match text(key) {
        Some(b"seen-time") => abs_time(value, now),
        Some(b"idle") => idle_time(value),
        // XINFO STREAM FULL: a group's PEL rows [id, consumer, time, count],
        // a consumer's [id, time, count].
        Some(b"pending") if matches!(value, Value::Array(_)) => {
            if let Value::Array(rows) = value {
                for row in rows {
                    if let Value::Array(cells) = row {
                        match cells.len() {
                            4 => abs_time(&mut cells[2], now),
                            3 => abs_time(&mut cells[1], now),
                            _ => {}
                        }
                    }
                }
            }
        }
        _ => return false,
    }
    true
}

/// Applies `norm` to a reply (after [`canon`]).
pub fn apply(norm: Norm, v: Value) -> Value {
    let v = canon(v);
    match (norm, v) {
        (Norm::Exact, v) => v,
        (Norm::Sort | Norm::Relist { unordered: true }, Value::Array(mut xs)) => {
            xs.sort_by_key(sort_key);
            Value::Array(xs)
        }
        (Norm::SortPairs, Value::Array(xs)) if xs.len() % 2 == 0 => {
            let mut pairs: Vec<Vec<Value>> = xs.chunks(2).map(|p| p.to_vec()).collect();
            pairs.sort_by_key(|p| sort_key(&p[0]));
            Value::Array(pairs.into_iter().flatten().collect())
        }
        (Norm::Ttl, Value::Int(n)) if n > 0 => Value::Int(1),
        (Norm::Shape | Norm::SpopResync, v) => shape(&v),
        (Norm::StreamTimes, mut v) => {
            stream_times(&mut v, now_ms());
            v
        }
        (_, v) => v,
    }
}

/// Normalizes an EXEC reply element by element with the queued commands' norms.
pub fn apply_exec(norms: &[Norm], v: Value) -> Value {
    match v {
        Value::Array(xs) if xs.len() == norms.len() => Value::Array(
            xs.into_iter()
                .zip(norms)
                .map(|(x, n)| apply(*n, x))
                .collect(),
        ),
        other => canon(other),
    }
}

/// The whole dataset of databases 0 and 1 as readable lines: for every key (sorted)
/// its type, whether it has a TTL, and its contents.
pub fn dump(c: &mut Conn) -> Vec<String> {
    let mut out = Vec::new();
    for db in [b"1".as_slice(), b"0"] {
        c.call_str(&[b"SELECT", db]);
        let keys = match c.call_str(&[b"KEYS", b"*"]) {
            Value::Array(ks) | Value::Set(ks) => ks,
            other => panic!("KEYS * answered {other:?}"),
        };
        let mut keys: Vec<Vec<u8>> = keys
            .into_iter()
            .map(|k| match k {
                Value::BulkString(b) => b,
                other => panic!("KEYS element {other:?}"),
            })
            .collect();
        keys.sort();
        for k in keys {
            let ty = c.call_str(&[b"TYPE", &k]);
            let ttl = apply(Norm::Ttl, c.call_str(&[b"PTTL", &k]));
            let content = match &ty {
                Value::SimpleString(t) => match t.as_str() {
                    "string" => c.call_str(&[b"GET", &k]),
                    "list" => c.call_str(&[b"LRANGE", &k, b"0", b"-1"]),
                    "hash" => apply(Norm::SortPairs, c.call_str(&[b"HGETALL", &k])),
                    "set" => apply(Norm::Sort, c.call_str(&[b"SMEMBERS", &k])),
                    "zset" => c.call_str(&[b"ZRANGE", &k, b"0", b"-1", b"WITHSCORES"]),
                    // Every entry, group, consumer and PEL entry, and the node
                    // counts (approximate trims must cut where Redis cuts).
                    "stream" => apply(
                        Norm::StreamTimes,
                        c.call_str(&[b"XINFO", b"STREAM", &k, b"FULL", b"COUNT", b"0"]),
                    ),
                    _ => Value::Nil,
                },
                _ => Value::Nil,
            };
            out.push(format!(
                "db{} {:?} {ty:?} ttl={ttl:?} {content:?}",
                String::from_utf8_lossy(db),
                String::from_utf8_lossy(&k)
            ));
        }
    }
    out
}
