//! Decoders for the compact encodings Redis stores as a single RDB string: ziplist,
//! listpack, intset and zipmap. They work on a byte slice and check every length
//! against the bytes that remain; errors are descriptions with the offset inside the
//! blob (the caller adds the file offset). Integer entries come back as decimal text.

type R<T> = Result<T, String>;

fn take(b: &[u8], p: usize, n: usize) -> R<&[u8]> {
    p.checked_add(n)
        .and_then(|end| b.get(p..end))
        .ok_or_else(|| {
            format!(
                "{n} bytes at blob offset {p} run past its end ({} bytes)",
                b.len()
            )
        })
}

fn le_u32(b: &[u8], p: usize) -> R<u32> {
    let s = take(b, p, 4)?;
    Ok(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}

fn le_int(b: &[u8], p: usize, n: usize) -> R<i64> {
    let s = take(b, p, n)?;
    let mut v: u64 = 0;
    for (i, &x) in s.iter().enumerate() {
        v |= (x as u64) << (8 * i);
    }
    // Sign-extend from n bytes.
    let shift = 64 - 8 * n as u32;
    Ok(((v << shift) as i64) >> shift)
}

fn int_text(v: i64) -> Vec<u8> {
    v.to_string().into_bytes()
}

/// Ziplist (RDB types 10, 12, 13 and the nodes of type 14).
pub(crate) fn ziplist(b: &[u8]) -> R<Vec<Vec<u8>>> {
    if b.len() < 11 {
        return Err(format!(
            "ziplist of {} bytes is shorter than its header",
            b.len()
        ));
    }
    let zlbytes = le_u32(b, 0)? as usize;
    if zlbytes != b.len() {
        return Err(format!(
            "ziplist says {zlbytes} bytes, blob has {}",
            b.len()
        ));
    }
    let zltail = le_u32(b, 4)? as usize;
    let zllen = u16::from_le_bytes([b[8], b[9]]);
    let mut out = Vec::new();
    let mut p = 10;
    // Size of the previous entry, which each entry's prevlen must repeat (as Redis's
    // deep integrity check requires), and where the last entry started.
    let mut prev_size = 0usize;
    let mut last_start = 10;
    loop {
        let first = *b
            .get(p)
            .ok_or_else(|| "ziplist without end marker".to_string())?;
        if first == 0xff {
            if p != b.len() - 1 {
                return Err(format!("ziplist end marker at {p} before blob end"));
            }
            break;
        }
        let start = p;
        let prevlen = if first == 254 {
            p += 5;
            le_u32(b, start + 1)? as usize
        } else {
            p += 1;
            first as usize
        };
        if prevlen != prev_size {
            return Err(format!(
                "ziplist entry at {start}: prevlen {prevlen} != {prev_size}"
            ));
        }
        let enc = *b
            .get(p)
            .ok_or_else(|| format!("ziplist entry truncated at {p}"))?;
        let item = match enc >> 6 {
            0 => {
                let l = (enc & 0x3f) as usize;
                let s = take(b, p + 1, l)?.to_vec();
                p += 1 + l;
                s
            }
            1 => {
                let l = ((enc & 0x3f) as usize) << 8
                    | *take(b, p + 1, 1)?.first().unwrap_or(&0) as usize;
                let s = take(b, p + 2, l)?.to_vec();
                p += 2 + l;
                s
            }
            2 => {
                if enc != 0x80 {
                    return Err(format!("bad ziplist string encoding 0x{enc:02x} at {p}"));
                }
                let lb = take(b, p + 1, 4)?;
                let l = u32::from_be_bytes([lb[0], lb[1], lb[2], lb[3]]) as usize;
                let s = take(b, p + 5, l)?.to_vec();
                p += 5 + l;
                s
            }
            _ => {
                let (size, v) = match enc {
                    0xc0 => (2, le_int(b, p + 1, 2)?),
                    0xd0 => (4, le_int(b, p + 1, 4)?),
                    0xe0 => (8, le_int(b, p + 1, 8)?),
                    0xf0 => (3, le_int(b, p + 1, 3)?),
                    0xfe => (1, le_int(b, p + 1, 1)?),
                    0xf1..=0xfd => (0, (enc & 0x0f) as i64 - 1),
                    _ => return Err(format!("bad ziplist int encoding 0x{enc:02x} at {p}")),
                };
                p += 1 + size;
                int_text(v)
            }
        };
        out.push(item);
        prev_size = p - start;
        last_start = start;
    }
    if zltail != last_start {
        return Err(format!(
            "ziplist tail offset {zltail} != last entry at {last_start}"
        ));
    }
    if zllen != u16::MAX && zllen as usize != out.len() {
        return Err(format!(
            "ziplist header says {zllen} entries, found {}",
            out.len()
        ));
    }
    Ok(out)
}

/// Size of a listpack entry's back-length field for an entry of `l` bytes.
fn backlen_size(l: usize) -> usize {
    match l {
        0..=127 => 1,
        128..=16382 => 2,
        16383..=2097150 => 3,
        2097151..=268435454 => 4,
        _ => 5,
    }
}

/// One listpack element as stored: an integer encoding or a string.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum LpItem<'a> {
    Int(i64),
    Str(&'a [u8]),
}

impl LpItem<'_> {
    /// The element as Redis presents it (integers as decimal text).
    pub(crate) fn to_bytes(self) -> Vec<u8> {
        match self {
            LpItem::Int(v) => int_text(v),
            LpItem::Str(s) => s.to_vec(),
        }
    }

    /// The element as an integer, as Redis's `lpGetIntegerIfValid` reads it: an
    /// integer encoding, or a string holding a canonical decimal `i64`.
    pub(crate) fn as_int(self) -> Option<i64> {
        match self {
            LpItem::Int(v) => Some(v),
            LpItem::Str(s) => {
                if s.is_empty() || s.len() > 20 {
                    return None;
                }
                let v: i64 = std::str::from_utf8(s).ok()?.parse().ok()?;
                (int_text(v) == s).then_some(v)
            }
        }
    }
}

/// Listpack (RDB types 16, 17, 20 and the nodes of type 18).
pub(crate) fn listpack(b: &[u8]) -> R<Vec<Vec<u8>>> {
    Ok(listpack_items(b)?
        .into_iter()
        .map(LpItem::to_bytes)
        .collect())
}

/// A listpack's elements as stored (stream nodes need the integers as integers).
/// Checks what Redis's deep listpack validation checks: total size, every entry's
/// encoding and back-length, the end marker and the element count in the header.
pub(crate) fn listpack_items(b: &[u8]) -> R<Vec<LpItem<'_>>> {
    if b.len() < 7 {
        return Err(format!(
            "listpack of {} bytes is shorter than its header",
            b.len()
        ));
    }
    let total = le_u32(b, 0)? as usize;
    if total != b.len() {
        return Err(format!("listpack says {total} bytes, blob has {}", b.len()));
    }
    let count = u16::from_le_bytes([b[4], b[5]]);
    let mut out = Vec::new();
    let mut p = 6;
    loop {
        let b0 = *b
            .get(p)
            .ok_or_else(|| "listpack without end marker".to_string())?;
        if b0 == 0xff {
            if p != b.len() - 1 {
                return Err(format!("listpack end marker at {p} before blob end"));
            }
            break;
        }
        let (entry_len, item) = if b0 & 0x80 == 0 {
            (1, LpItem::Int((b0 & 0x7f) as i64))
        } else if b0 & 0xc0 == 0x80 {
            let l = (b0 & 0x3f) as usize;
            (1 + l, LpItem::Str(take(b, p + 1, l)?))
        } else if b0 & 0xe0 == 0xc0 {
            let b1 = take(b, p + 1, 1)?[0];
            let mut v = ((b0 & 0x1f) as i64) << 8 | b1 as i64;
            if v >= 1 << 12 {
                v -= 1 << 13;
            }
            (2, LpItem::Int(v))
        } else if b0 & 0xf0 == 0xe0 {
            let b1 = take(b, p + 1, 1)?[0];
            let l = ((b0 & 0x0f) as usize) << 8 | b1 as usize;
            (l + 2, LpItem::Str(take(b, p + 2, l)?))
        } else {
            match b0 {
                0xf0 => {
                    let l = le_u32(b, p + 1)? as usize;
                    (l.saturating_add(5), LpItem::Str(take(b, p + 5, l)?))
                }
                0xf1 => (3, LpItem::Int(le_int(b, p + 1, 2)?)),
                0xf2 => (4, LpItem::Int(le_int(b, p + 1, 3)?)),
                0xf3 => (5, LpItem::Int(le_int(b, p + 1, 4)?)),
                0xf4 => (9, LpItem::Int(le_int(b, p + 1, 8)?)),
                _ => return Err(format!("bad listpack encoding 0x{b0:02x} at {p}")),
            }
        };
        // The back-length lets Redis walk backwards; check it so corruption is caught.
        let bl = backlen_size(entry_len);
        let back = take(b, p + entry_len, bl)?;
        let mut v: usize = 0;
        for &x in back {
            v = (v << 7) | (x & 0x7f) as usize;
        }
        if v != entry_len {
            return Err(format!(
                "listpack entry at {p}: back-length {v} != {entry_len}"
            ));
        }
        p += entry_len + bl;
        out.push(item);
    }
    if count != u16::MAX && count as usize != out.len() {
        return Err(format!(
            "listpack header says {count} entries, found {}",
            out.len()
        ));
    }
    Ok(out)
}

/// Intset (RDB type 11).
pub(crate) fn intset(b: &[u8]) -> R<Vec<Vec<u8>>> {
    let enc = le_u32(b, 0)? as usize;
    let n = le_u32(b, 4)? as usize;
    if !matches!(enc, 2 | 4 | 8) {
        return Err(format!("bad intset encoding {enc}"));
    }
    if n.checked_mul(enc).and_then(|x| x.checked_add(8)) != Some(b.len()) {
        return Err(format!(
            "intset of {n} x {enc} bytes in a {}-byte blob",
            b.len()
        ));
    }
    (0..n)
        .map(|i| le_int(b, 8 + i * enc, enc).map(int_text))
        .collect()
}

/// Zipmap (RDB type 9, Redis < 2.6 hashes): returns field/value pairs.
pub(crate) fn zipmap(b: &[u8]) -> R<Vec<(Vec<u8>, Vec<u8>)>> {
    fn zlen(b: &[u8], p: &mut usize) -> R<usize> {
        let first = *b
            .get(*p)
            .ok_or_else(|| format!("zipmap truncated at {p}"))?;
        match first {
            0..=253 => {
                *p += 1;
                Ok(first as usize)
            }
            254 => {
                let v = le_u32(b, *p + 1)? as usize;
                *p += 5;
                Ok(v)
            }
            _ => Err(format!("unexpected zipmap end at {p}")),
        }
    }
    let mut out = Vec::new();
    let mut p = 1;
    loop {
        let first = *b
            .get(p)
            .ok_or_else(|| "zipmap without end marker".to_string())?;
        if first == 0xff {
            if p != b.len() - 1 {
                return Err(format!("zipmap end marker at {p} before blob end"));
            }
            break;
        }
        let kl = zlen(b, &mut p)?;
        let k = take(b, p, kl)?.to_vec();
        p += kl;
        let vl = zlen(b, &mut p)?;
        let free = take(b, p, 1)?[0] as usize;
        p += 1;
        let v = take(b, p, vl)?.to_vec();
        p += vl + free;
        out.push((k, v));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ziplist_all_encodings() {
        // Hand-built: "ab", 14-bit string of 70 bytes, int16 -2, int32, int64, 24-bit,
        // int8, immediate 5.
        let mut e = Vec::new();
        let mut prev = 0u8;
        let mut tail = 10u32;
        let mut push = |e: &mut Vec<u8>, body: &[u8]| {
            tail = 10 + e.len() as u32;
            e.push(prev);
            e.extend_from_slice(body);
            prev = body.len() as u8 + 1;
        };
        push(&mut e, &[0x02, b'a', b'b']);
        let mut s70 = vec![0x40, 70];
        s70.extend(std::iter::repeat_n(b'x', 70));
        push(&mut e, &s70);
        push(&mut e, &[0xc0, 0xfe, 0xff]);
        push(&mut e, &[0xd0, 0x00, 0x00, 0x01, 0x00]);
        push(&mut e, &[0xe0, 1, 0, 0, 0, 0, 0, 0, 0x80]);
        push(&mut e, &[0xf0, 0xff, 0xff, 0x7f]);
        push(&mut e, &[0xfe, 0x80]);
        push(&mut e, &[0xf6]);
        let mut zl = Vec::new();
        let total = 10 + e.len() + 1;
        zl.extend_from_slice(&(total as u32).to_le_bytes());
        zl.extend_from_slice(&tail.to_le_bytes());
        zl.extend_from_slice(&8u16.to_le_bytes());
        zl.extend_from_slice(&e);
        zl.push(0xff);
        let got = ziplist(&zl).unwrap();
        let want: Vec<Vec<u8>> = vec![
            b"ab".to_vec(),
            vec![b'x'; 70],
            b"-2".to_vec(),
            b"65536".to_vec(),
            (i64::MIN + 1).to_string().into_bytes(),
            b"8388607".to_vec(),
            b"-128".to_vec(),
            b"5".to_vec(),
        ];
        assert_eq!(got, want);
        // Every truncation fails cleanly.
        for cut in 0..zl.len() {
            assert!(ziplist(&zl[..cut]).is_err());
        }
    }

    #[test]
    fn intset_and_zipmap() {
        let mut is = Vec::new();
        is.extend_from_slice(&2u32.to_le_bytes());
        is.extend_from_slice(&2u32.to_le_bytes());
        is.extend_from_slice(&(-5i16).to_le_bytes());
        is.extend_from_slice(&300i16.to_le_bytes());
        assert_eq!(intset(&is).unwrap(), vec![b"-5".to_vec(), b"300".to_vec()]);
        assert!(intset(&is[..11]).is_err());

        // zmlen=1, "k" -> "vv" with 1 free byte.
        let zm = [1, 1, b'k', 2, 1, b'v', b'v', 0, 0xff];
        assert_eq!(zipmap(&zm).unwrap(), vec![(b"k".to_vec(), b"vv".to_vec())]);
        for cut in 0..zm.len() {
            assert!(zipmap(&zm[..cut]).is_err());
        }
    }
}
