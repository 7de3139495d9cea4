//! LZF (liblzf's format, as Redis's `rdbcompression` writes it): a stream of control
//! bytes; `c < 32` is a literal run of `c + 1` bytes, otherwise a back reference of
//! length `(c >> 5) + 2` (7 means "add the next byte") at distance
//! `((c & 0x1f) << 8 | next) + 1`.

/// Largest back-reference distance the format can express.
const MAX_OFF: usize = 1 << 13;
/// Largest back-reference length (7 + 255 + 2).
const MAX_REF: usize = 264;

/// Decompresses `input` into exactly `expected_len` bytes.
///
/// Fails (with a description) on any malformed input: literal runs or back references
/// past the end of the input or output, references before the start, or a total size
/// different from `expected_len`. The output buffer is never pre-sized from
/// `expected_len` beyond what the input could produce, so a lying header cannot force a
/// huge allocation.
pub fn lzf_decompress(input: &[u8], expected_len: usize) -> Result<Vec<u8>, String> {
    // Each 2-3 input bytes yield at most 264 output bytes, so this bound is safe.
    let bound = input.len().saturating_mul(MAX_REF);
    let mut out: Vec<u8> = Vec::with_capacity(expected_len.min(bound).min(1 << 20));
    let mut i = 0;
    while i < input.len() {
        let ctrl = input[i] as usize;
        i += 1;
        if ctrl < 32 {
            let run = ctrl + 1;
            let lit = input
                .get(i..i + run)
                .ok_or_else(|| format!("LZF literal run past input end at {}", i - 1))?;
            if out.len() + run > expected_len {
                return Err("LZF output longer than declared".into());
            }
            out.extend_from_slice(lit);
            i += run;
        } else {
            let mut len = ctrl >> 5;
            if len == 7 {
                len += *input
                    .get(i)
                    .ok_or_else(|| "LZF truncated back reference".to_string())?
                    as usize;
                i += 1;
            }
            len += 2;
            let low = *input
                .get(i)
                .ok_or_else(|| "LZF truncated back reference".to_string())?
                as usize;
            i += 1;
            let dist = ((ctrl & 0x1f) << 8 | low) + 1;
            if dist > out.len() {
                return Err(format!("LZF back reference before output start at {}", i));
            }
            if out.len() + len > expected_len {
                return Err("LZF output longer than declared".into());
            }
            let start = out.len() - dist;
            // Byte by byte: references may overlap the bytes they produce.
            for k in 0..len {
                let b = out[start + k];
                out.push(b);
            }
        }
    }
    if out.len() != expected_len {
        return Err(format!(
            "LZF output is {} bytes, header says {}",
            out.len(),
            expected_len
        ));
    }
    Ok(out)
}

/// Hash table size of Redis's liblzf build (`HLOG 16`).
const HLOG: u32 = 16;

/// liblzf's `IDX(h)` for the 3 bytes at `p`.
fn slot(p: &[u8]) -> usize {
    let h = (p[0] as u32) << 16 | (p[1] as u32) << 8 | p[2] as u32;
    ((h >> (24 - HLOG)).wrapping_sub(h.wrapping_mul(5)) & ((1 << HLOG) - 1)) as usize
}

thread_local! {
    /// Reused hash table: each entry is `generation << 32 | offset`; entries from an
    /// older generation read as offset 0 ("no candidate"), which is what a fresh zeroed
    /// table gives liblzf, without clearing 64 Ki slots per string.
    static TABLE: std::cell::RefCell<(u64, Vec<u64>)> =
        const { std::cell::RefCell::new((0, Vec::new())) };
}

fn flush_literals(out: &mut Vec<u8>, lit: &[u8]) {
    for chunk in lit.chunks(32) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
}

/// Compresses `input` the way Redis's liblzf 3.6 build (`HLOG 16`, `VERY_FAST`) does,
/// so output is byte-identical to Redis's in practice. Returns None if the result would
/// not fit in `max_out` bytes, with liblzf's own (conservative) overflow checks: Redis
/// calls it with `len - 4` and stores the string raw on None.
pub fn lzf_compress_bounded(input: &[u8], max_out: usize) -> Option<Vec<u8>> {
    let n = input.len();
    if n < 3 {
        // liblzf's main loop does not run; only the trailing literal path.
        if n + 1 > max_out || n == 0 {
            return if n == 0 { Some(Vec::new()) } else { None };
        }
        let mut out = Vec::new();
        flush_literals(&mut out, input);
        return Some(out);
    }
    TABLE.with(|t| {
        let mut t = t.borrow_mut();
        let (gen, table) = &mut *t;
        if table.is_empty() || *gen >= u32::MAX as u64 {
            *table = vec![0; 1 << HLOG];
            *gen = 0;
        }
        *gen += 1;
        let g = *gen << 32;
        let mut out = Vec::with_capacity(n / 2 + 16);
        let mut lit_start = 0;
        let mut i = 0;
        // liblzf's `op`: output bytes so far including the pending literals, the
        // control bytes of their full 32-byte runs, and the reserved control byte of
        // the open run (literals are chunked only when flushed here).
        let op = |out: &Vec<u8>, lit: usize| out.len() + 1 + lit + lit / 32;
        while i < n - 2 {
            let s = slot(&input[i..]);
            let e = table[s];
            let r = if e & !0xffff_ffff == g {
                (e & 0xffff_ffff) as usize
            } else {
                0
            };
            table[s] = g | i as u64;
            let lit = i - lit_start;
            if r > 0 && i - r <= MAX_OFF && input[r..r + 3] == input[i..i + 3] {
                let maxlen = (n - i - 2).min(MAX_REF);
                // liblzf's `lit` is the open run's length (lit % 32 here).
                if op(&out, lit) - usize::from(lit % 32 == 0) + 4 >= max_out {
                    return None;
                }
                // liblzf compares 16 bytes unrolled (unbounded by maxlen) first.
                let mut len = 2;
                let mut mismatch = false;
                if maxlen > 16 {
                    for _ in 0..16 {
                        len += 1;
                        if input[r + len] != input[i + len] {
                            mismatch = true;
                            break;
                        }
                    }
                }
                if !mismatch {
                    loop {
                        len += 1;
                        if !(len < maxlen && input[r + len] == input[i + len]) {
                            break;
                        }
                    }
                }
                flush_literals(&mut out, &input[lit_start..i]);
                let off = i - r - 1;
                let l = len - 2;
                if l < 7 {
                    out.push(((l << 5) | (off >> 8)) as u8);
                } else {
                    out.push(((7 << 5) | (off >> 8)) as u8);
                    out.push((l - 7) as u8);
                }
                out.push((off & 0xff) as u8);
                i += len;
                lit_start = i;
                if i >= n - 2 {
                    break;
                }
                // VERY_FAST: index the last two positions of the match.
                for p in [i - 2, i - 1] {
                    table[slot(&input[p..])] = g | p as u64;
                }
            } else {
                if op(&out, lit) >= max_out {
                    return None;
                }
                i += 1;
            }
        }
        if op(&out, i - lit_start) + 3 > max_out {
            return None;
        }
        flush_literals(&mut out, &input[lit_start..]);
        Some(out)
    })
}

/// Compresses `input` with no output limit (see [`lzf_compress_bounded`]).
pub fn lzf_compress(input: &[u8]) -> Vec<u8> {
    lzf_compress_bounded(input, usize::MAX / 2).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn repetitive_compresses() {
        let data = b"abcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabcabc".repeat(20);
        let c = lzf_compress(&data);
        assert!(c.len() < data.len() / 4);
        assert_eq!(lzf_decompress(&c, data.len()).unwrap(), data);
    }

    #[test]
    fn malformed_rejected() {
        assert!(lzf_decompress(&[5, b'a'], 6).is_err()); // literal past end
        assert!(lzf_decompress(&[0x20, 0x00], 3).is_err()); // ref before start
        assert!(lzf_decompress(&[0, b'a'], 2).is_err()); // short output
        assert!(lzf_decompress(&[0, b'a', 0x20, 0x00], 2).is_err()); // long output
        assert!(lzf_decompress(&[0xe0], 10).is_err()); // truncated ref
        assert_eq!(
            lzf_decompress(&[0, b'a', 0xe0, 0, 0], 10).unwrap(),
            b"a".repeat(10)
        );
    }

    proptest! {
        #[test]
        fn round_trip(data in proptest::collection::vec(0u8..4, 0..3000)) {
            let c = lzf_compress(&data);
            prop_assert_eq!(lzf_decompress(&c, data.len()).unwrap(), data);
        }

        #[test]
        fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..200), n in 0usize..100000) {
            let _ = lzf_decompress(&data, n);
        }
    }
}
