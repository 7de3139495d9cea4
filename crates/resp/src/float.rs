//! Redis's text forms for doubles.
//!
//! * [`fmt_g17`]: C's `printf("%.17g")`, the form of sorted-set scores and RESP3
//!   doubles. Built from Rust's correctly rounded `{:.16e}` (17 significant digits,
//!   ties to even like glibc), then C's `%g` rules: exponent form when the exponent
//!   is < -4 or >= 17, trailing zeros and a trailing '.' removed, exponent with a
//!   sign and at least two digits.
//! * [`crate::longdouble::LongDouble`]: the x87 80-bit `long double` that
//!   INCRBYFLOAT and HINCRBYFLOAT compute with, and its `%.17Lf` "human" form.

use std::fmt::Write;

/// A fixed stack buffer for `write!` (no allocation on the reply path).
struct StackBuf {
    buf: [u8; 64],
    len: usize,
}

impl Write for StackBuf {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let dst = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        dst.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Writes `d` as C's `printf("%.17g")` would (Redis 7.0's reply form for scores),
/// `inf`/`-inf` for infinities (and `nan`, which Redis never stores). Returns the
/// number of bytes written (at most 24).
pub fn fmt_g17(d: f64, out: &mut [u8; 40]) -> usize {
    let mut n = 0;
    let mut put = |bytes: &[u8]| {
        out[n..n + bytes.len()].copy_from_slice(bytes);
        n += bytes.len();
    };
    if d.is_nan() {
        put(b"nan");
        return n;
    }
    if d.is_infinite() {
        put(if d > 0.0 { &b"inf"[..] } else { &b"-inf"[..] });
        return n;
    }
    // Fast path: an integer below 10^17 prints as itself in %.17g (17
    // significant digits hold it exactly, and the exponent is below 17).
    // -0 keeps its sign, as printf does.
    if d == d.trunc() && d.abs() < 1e17 && !(d == 0.0 && d.is_sign_negative()) {
        let mut b = itoa::Buffer::new();
        put(b.format(d as i64).as_bytes());
        return n;
    }
    let mut sb = StackBuf {
        buf: [0; 64],
        len: 0,
    };
    // Cannot fail: the longest form, "-1.2345678901234567e-308", fits in 64 bytes.
    let _ = write!(sb, "{:.16e}", d.abs());
    let s = &sb.buf[..sb.len];
    // s = "D.DDDDDDDDDDDDDDDDe<exp>"
    let epos = s.iter().position(|&c| c == b'e').unwrap_or(s.len());
    let mut digits = [b'0'; 17];
    let mut k = 0;
    for &c in &s[..epos] {
        if c.is_ascii_digit() && k < 17 {
            digits[k] = c;
            k += 1;
        }
    }
    let exp: i32 = std::str::from_utf8(s.get(epos + 1..).unwrap_or(b"0"))
        .ok()
        .and_then(|e| e.parse().ok())
        .unwrap_or(0);
    // Significant digits that remain after removing trailing zeros (at least one).
    let sig = digits.iter().rposition(|&c| c != b'0').map_or(1, |i| i + 1);
    if d.is_sign_negative() {
        put(b"-");
    }
    if !(-4..17).contains(&exp) {
        put(&digits[..1]);
        if sig > 1 {
            put(b".");
            put(&digits[1..sig]);
        }
        put(if exp < 0 { b"e-" } else { b"e+" });
        let a = exp.unsigned_abs();
        if a < 10 {
            put(b"0");
        }
        let mut ib = itoa::Buffer::new();
        put(ib.format(a).as_bytes());
    } else if exp >= 0 {
        let int_len = exp as usize + 1;
        put(&digits[..int_len]);
        if sig > int_len {
            put(b".");
            put(&digits[int_len..sig]);
        }
    } else {
        put(b"0.");
        for _ in 0..(-exp - 1) {
            put(b"0");
        }
        put(&digits[..sig]);
    }
    n
}

/// The form INCRBYFLOAT/HINCRBYFLOAT print (`%.17Lf` with trailing zeros and '.'
/// removed) for a value that is exactly this double. Commands doing the arithmetic
/// should use [`crate::LongDouble`] throughout, as Redis does, not go through f64.
pub fn fmt_human(d: f64) -> String {
    crate::longdouble::LongDouble::from_f64(d).to_human_string()
}

/// [`fmt_g17`] as a `String` (for tests and non-hot paths).
pub fn g17_string(d: f64) -> String {
    let mut b = [0u8; 40];
    let n = fmt_g17(d, &mut b);
    String::from_utf8_lossy(&b[..n]).into_owned()
}

#[cfg(test)]
mod tests {
    use super::g17_string as g;

    #[test]
    fn human_form_of_doubles() {
        assert_eq!(super::fmt_human(0.1), "0.10000000000000001");
        assert_eq!(super::fmt_human(3.0), "3");
        assert_eq!(super::fmt_human(-0.0), "0");
        assert_eq!(super::fmt_human(1e20), "100000000000000000000");
        assert_eq!(super::fmt_human(-2.5e-3), "-0.0025");
        assert_eq!(super::fmt_human(1e-18), "0");
        assert_eq!(super::fmt_human(f64::NEG_INFINITY), "-inf");
        assert_eq!(super::fmt_human(5e-324), "0");
    }

    #[test]
    fn examples_from_c_printf() {
        let cases: &[(f64, &str)] = &[
            (0.1, "0.10000000000000001"),
            (1e20, "1e+20"),
            (3.0, "3"),
            (1.5e-7, "1.4999999999999999e-07"),
            (-0.0, "-0"),
            (0.0, "0"),
            (f64::INFINITY, "inf"),
            (f64::NEG_INFINITY, "-inf"),
            (1.5, "1.5"),
            (-2.5, "-2.5"),
            (100.0, "100"),
            (1e16, "10000000000000000"),
            (1e17, "1e+17"),
            (12345678901234567890.0, "1.2345678901234567e+19"),
            (0.0001, "0.0001"),
            (0.00001, "1.0000000000000001e-05"),
            (0.001, "0.001"),
            (1e-4, "0.0001"),
            (123.456, "123.456"),
            (1.0 / 3.0, "0.33333333333333331"),
            (2.0 / 3.0, "0.66666666666666663"),
            (f64::MAX, "1.7976931348623157e+308"),
            (f64::MIN_POSITIVE, "2.2250738585072014e-308"),
            (5e-324, "4.9406564584124654e-324"),
            (9007199254740993.0, "9007199254740992"),
            (0.3, "0.29999999999999999"),
            (-1e-5, "-1.0000000000000001e-05"),
            (1e100, "1.0000000000000000e+100"),
        ];
        for &(d, want) in cases {
            let want = if want == "1.0000000000000000e+100" {
                "1e+100"
            } else {
                want
            };
            assert_eq!(g(d), want, "{d:e}");
        }
    }

    /// Cases whose expected text came from CPython's `'%.17g' % x` (which
    /// reproduces C's `%.17g` with correct rounding, ties to even).
    #[test]
    fn oracle_values() {
        for &(bits, want) in crate::float_cases::G17_CASES {
            assert_eq!(g(f64::from_bits(bits)), want, "bits {bits:#x}");
        }
    }
}
