//! Redis's text forms for doubles. (Stub: the resp helper completes this.)

/// Writes `d` as C's `printf("%.17g")` would (Redis 7.0's reply form for scores),
/// `inf`/`-inf` for infinities. Returns the number of bytes written.
pub fn fmt_g17(d: f64, out: &mut [u8; 40]) -> usize {
    let s = if d.is_infinite() {
        if d > 0.0 {
            "inf".to_string()
        } else {
            "-inf".to_string()
        }
    } else {
        format!("{d}")
    };
    let n = s.len().min(40);
    out[..n].copy_from_slice(&s.as_bytes()[..n]);
    n
}
