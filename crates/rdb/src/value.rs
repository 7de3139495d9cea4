//! Decoding one object's value given its RDB type byte (shared by the snapshot reader
//! and DUMP payload parsing).

use std::io::Read;

use crate::blobs;
use crate::consts::*;
use crate::error::{Error, ErrorKind};
use crate::source::{Source, PREALLOC_CAP};
use crate::stream;
use crate::RdbValue;

/// Name of a type this crate refuses, for the error message; None if it is supported.
pub(crate) fn unsupported_name(t: u8) -> Option<&'static str> {
    match t {
        TYPE_MODULE_PRE_GA => Some("module (pre-GA)"),
        TYPE_MODULE_2 => Some("module"),
        _ => None,
    }
}

/// True if `t` is an object type byte (as opposed to an opcode).
pub(crate) fn is_object_type(t: u8) -> bool {
    matches!(t, 0..=7 | 9..=21)
}

fn cap(n: u64) -> usize {
    (n as usize).min(PREALLOC_CAP)
}

/// Field/value pairs of a hash.
type Pairs = Vec<(Vec<u8>, Vec<u8>)>;

fn pairs(items: Vec<Vec<u8>>, at: u64, what: &str) -> Result<Pairs, Error> {
    if items.len() & 1 == 1 {
        return Err(Error::corrupt(
            at,
            format!("{what} with an odd number of entries"),
        ));
    }
    let mut out = Vec::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(a), Some(b)) = (it.next(), it.next()) {
        out.push((a, b));
    }
    Ok(out)
}

fn parse_score(s: &[u8], at: u64) -> Result<f64, Error> {
    let t = std::str::from_utf8(s).map_err(|_| Error::corrupt(at, "non-text zset score"))?;
    let v: f64 = t
        .parse()
        .map_err(|_| Error::corrupt(at, format!("bad zset score {t:?}")))?;
    if v.is_nan() {
        return Err(Error::corrupt(at, "zset score is NaN"));
    }
    Ok(v)
}

fn zset_from_flat(items: Vec<Vec<u8>>, at: u64) -> Result<RdbValue, Error> {
    let mut out = Vec::with_capacity(items.len() / 2);
    for (m, s) in pairs(items, at, "sorted set")? {
        out.push((m, parse_score(&s, at)?));
    }
    Ok(RdbValue::ZSet(out))
}

/// Reads a blob string and decodes it with `f`, attaching the blob's file offset.
fn blob<R: Read, T>(
    src: &mut Source<R>,
    f: impl FnOnce(&[u8]) -> Result<T, String>,
) -> Result<T, Error> {
    let at = src.pos;
    let b = src.string()?;
    f(&b).map_err(|m| Error::corrupt(at, m))
}

pub(crate) fn read_value<R: Read>(src: &mut Source<R>, t: u8) -> Result<RdbValue, Error> {
    let at = src.pos;
    Ok(match t {
        TYPE_STRING => RdbValue::String(src.string()?),
        TYPE_LIST | TYPE_SET => {
            let n = src.length()?;
            let mut v = Vec::with_capacity(cap(n));
            for _ in 0..n {
                v.push(src.string()?);
            }
            if t == TYPE_LIST {
                RdbValue::List(v)
            } else {
                RdbValue::Set(v)
            }
        }
        TYPE_HASH => {
            let n = src.length()?;
            let mut v = Vec::with_capacity(cap(n));
            for _ in 0..n {
                let f = src.string()?;
                v.push((f, src.string()?));
            }
            RdbValue::Hash(v)
        }
        TYPE_ZSET | TYPE_ZSET_2 => {
            let n = src.length()?;
            let mut v = Vec::with_capacity(cap(n));
            for _ in 0..n {
                let m = src.string()?;
                let score = if t == TYPE_ZSET_2 {
                    f64::from_le_bytes(src.array()?)
                } else {
                    // Old format: 1-byte length, 253/254/255 = nan/+inf/-inf.
                    match src.u8()? {
                        253 => f64::NAN,
                        254 => f64::INFINITY,
                        255 => f64::NEG_INFINITY,
                        l => {
                            let s_at = src.pos;
                            let s = src.bytes(l as u64)?;
                            parse_score(&s, s_at)?
                        }
                    }
                };
                if score.is_nan() {
                    return Err(src.corrupt("zset score is NaN"));
                }
                v.push((m, score));
            }
            RdbValue::ZSet(v)
        }
        TYPE_HASH_ZIPMAP => RdbValue::Hash(blob(src, blobs::zipmap)?),
        TYPE_LIST_ZIPLIST => RdbValue::List(blob(src, blobs::ziplist)?),
        TYPE_SET_INTSET => RdbValue::Set(blob(src, blobs::intset)?),
        TYPE_SET_LISTPACK => RdbValue::Set(blob(src, blobs::listpack)?),
        TYPE_ZSET_ZIPLIST => zset_from_flat(blob(src, blobs::ziplist)?, at)?,
        TYPE_ZSET_LISTPACK => zset_from_flat(blob(src, blobs::listpack)?, at)?,
        TYPE_HASH_ZIPLIST => RdbValue::Hash(pairs(blob(src, blobs::ziplist)?, at, "hash")?),
        TYPE_HASH_LISTPACK => RdbValue::Hash(pairs(blob(src, blobs::listpack)?, at, "hash")?),
        TYPE_LIST_QUICKLIST | TYPE_LIST_QUICKLIST_2 => {
            let nodes = src.length()?;
            let mut v = Vec::new();
            for _ in 0..nodes {
                if t == TYPE_LIST_QUICKLIST {
                    v.extend(blob(src, blobs::ziplist)?);
                    continue;
                }
                let container = src.length()?;
                match container {
                    QUICKLIST_NODE_PLAIN => v.push(src.string()?),
                    QUICKLIST_NODE_PACKED => {
                        let items = blob(src, blobs::listpack)?;
                        if items.is_empty() {
                            return Err(src.corrupt("empty listpack in quicklist node"));
                        }
                        v.extend(items);
                    }
                    c => return Err(src.corrupt(format!("bad quicklist node container {c}"))),
                }
            }
            RdbValue::List(v)
        }
        TYPE_STREAM_LISTPACKS | TYPE_STREAM_LISTPACKS_2 | TYPE_STREAM_LISTPACKS_3 => {
            RdbValue::Stream(Box::new(stream::read_stream(src, t)?))
        }
        _ => {
            return Err(Error::new(
                at,
                match unsupported_name(t) {
                    Some(name) => ErrorKind::UnsupportedType(t, name),
                    None => ErrorKind::UnknownType(t),
                },
            ))
        }
    })
}
