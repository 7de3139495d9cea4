//! LZF (liblzf's format, as Redis's `rdbcompression` writes it): a stream of control
//! bytes; `c < 32` is a literal run of `c + 1` bytes, otherwise a back reference of
//! length `(c >> 5) + 2` (7 means "add the next byte") at distance
//! `((c & 0x1f) << 8 | next) + 1`.

/// Largest back-reference distance the format can express.
const MAX_OFF: usize = 1 << 13;
/// Largest back-reference length (7 + 255 + 2).
const MAX_REF: usize = 264;
const HASH_BITS: u32 = 14;

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

fn hash3(b: &[u8]) -> usize {
    let v = (b[0] as u32) << 16 | (b[1] as u32) << 8 | b[2] as u32;
    (v.wrapping_mul(2_654_435_761) >> (32 - HASH_BITS)) as usize
}

fn flush_literals(out: &mut Vec<u8>, lit: &[u8]) {
    for chunk in lit.chunks(32) {
        out.push((chunk.len() - 1) as u8);
        out.extend_from_slice(chunk);
    }
}

/// Compresses `input` with a greedy single-probe hash matcher. The output always
/// decompresses with [`lzf_decompress`] (and with liblzf); callers decide whether it is
/// worth using (Redis keeps it only if it saves at least 4 bytes... see the writer).
pub fn lzf_compress(input: &[u8]) -> Vec<u8> {
    let n = input.len();
    let mut out = Vec::with_capacity(n / 2 + 16);
    let mut table = vec![usize::MAX; 1 << HASH_BITS];
    let mut lit_start = 0;
    let mut i = 0;
    while i + 2 < n {
        let h = hash3(&input[i..]);
        let cand = table[h];
        table[h] = i;
        if cand != usize::MAX && i - cand <= MAX_OFF && input[cand..cand + 3] == input[i..i + 3] {
            let max_len = MAX_REF.min(n - i);
            let mut len = 3;
            while len < max_len && input[cand + len] == input[i + len] {
                len += 1;
            }
            flush_literals(&mut out, &input[lit_start..i]);
            let off = i - cand - 1;
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
        } else {
            i += 1;
        }
    }
    flush_literals(&mut out, &input[lit_start..]);
    out
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
