//! INCRBYFLOAT's arithmetic and text form, isolated so it can be swapped for a
//! shared long double implementation later.
//!
//! The exact path is [`super::longdouble`] (x87 80-bit semantics, as Redis on
//! x86-64). Operands it does not cover (over 38 significant digits, decimal
//! exponents beyond ±38, results at or above 2^127) use the `f64` approximation
//! below.
//!
//! Redis adds two `long double`s and prints the sum with `%.17Lf`, trailing zeros
//! trimmed. The 64-bit mantissa hides the binary rounding of short decimals, so
//! `0.1 + 0.2` prints `0.3`. With `f64` we emulate that: when the sum printed with
//! 15 significant digits is within two ulps of the exact `f64` sum, that shorter
//! form is what a long double would have shown; otherwise the shortest round-trip
//! form is used. Known differences from Redis: operands beyond the `f64` range
//! (`1e400`) are refused, hex floats are refused, and results with more than ~16
//! significant digits show fewer digits than Redis.

use crate::error::CmdError;
use crate::util::parse_f64;

const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Adds `incr` to the stored value `old` (absent = 0) and returns the new text.
pub fn incr_by_float(old: Option<&[u8]>, incr: &[u8]) -> Result<String, CmdError> {
    let base = match old {
        Some(b) => parse_ld_text(b)?,
        None => 0.0,
    };
    let by = parse_ld_text(incr)?;
    let sum = base + by;
    if !sum.is_finite() {
        return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
    }
    // Exact 80-bit emulation where it applies; the f64 approximation otherwise.
    if let Some(s) = super::longdouble::add_and_format(old.unwrap_or(b"0"), incr) {
        return Ok(s);
    }
    Ok(format_ld(sum))
}

/// Parses a float as Redis's `string2ld`: besides `strtold`'s syntax, texts longer
/// than 5KB and values out of the long double range (`strtold` sets ERANGE) are
/// refused. Values between the f64 and long double limits come out as f64 infinity
/// or zero; they are refused too, where Redis would accept them.
fn parse_ld_text(b: &[u8]) -> Result<f64, CmdError> {
    if b.len() > MAX_LONG_DOUBLE_CHARS {
        return Err(CmdError::NotFloat);
    }
    let v = parse_f64(b).ok_or(CmdError::NotFloat)?;
    let literal_inf = b
        .iter()
        .any(|c| c.is_ascii_alphabetic() && !matches!(c, b'e' | b'E'));
    if v.is_infinite() && !literal_inf {
        return Err(CmdError::NotFloat);
    }
    // A zero from a nonzero mantissa is an underflow (strtold's ERANGE).
    let mantissa = b
        .split(|&c| c == b'e' || c == b'E')
        .next()
        .unwrap_or_default();
    if v == 0.0 && mantissa.iter().any(|c| (b'1'..=b'9').contains(c)) {
        return Err(CmdError::NotFloat);
    }
    Ok(v)
}

/// `%.17Lf` with trailing zeros trimmed, as Redis's `ld2string(.., LD_STR_HUMAN)`.
pub fn format_ld(x: f64) -> String {
    let short = format!("{:.14e}", x);
    let chosen = match short.parse::<f64>() {
        Ok(y) if (y - x).abs() <= 2.0 * ulp(x) => y,
        _ => x,
    };
    // Rust's Display never uses an exponent and prints the shortest round-trip digits.
    let mut s = format!("{chosen}");
    if let Some(dot) = s.find('.') {
        // Redis prints at most 17 fractional digits.
        if s.len() - dot - 1 > 17 {
            s = format!("{chosen:.17}");
        }
        let trimmed = s.trim_end_matches('0').trim_end_matches('.');
        s = trimmed.to_string();
    }
    if s == "-0" || s.is_empty() {
        s = "0".to_string();
    }
    s
}

/// The distance from `x` to the next double away from zero.
fn ulp(x: f64) -> f64 {
    let a = x.abs();
    let next = f64::from_bits(a.to_bits() + 1);
    next - a
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_like_forms() {
        assert_eq!(incr_by_float(Some(b"0.1"), b"0.2").unwrap(), "0.3");
        assert_eq!(incr_by_float(Some(b"10.5"), b"0.1").unwrap(), "10.6");
        assert_eq!(incr_by_float(Some(b"124"), b"0.5").unwrap(), "124.5");
        assert_eq!(incr_by_float(Some(b"3.0"), b"0").unwrap(), "3");
        assert_eq!(incr_by_float(Some(b"1e5"), b"1").unwrap(), "100001");
        assert_eq!(incr_by_float(Some(b"10"), b"-10").unwrap(), "0");
        assert_eq!(incr_by_float(None, b"-0.5").unwrap(), "-0.5");
        assert_eq!(incr_by_float(Some(b"0"), b"1e-20").unwrap(), "0");
        assert_eq!(
            incr_by_float(Some(b"0"), b"1e-17").unwrap(),
            "0.00000000000000001"
        );
        assert_eq!(incr_by_float(Some(b"1.5e3"), b"0").unwrap(), "1500");
    }

    #[test]
    fn errors() {
        assert_eq!(incr_by_float(Some(b"abc"), b"1"), Err(CmdError::NotFloat));
        assert_eq!(incr_by_float(Some(b" 1"), b"1"), Err(CmdError::NotFloat));
        assert_eq!(incr_by_float(Some(b"1 "), b"1"), Err(CmdError::NotFloat));
        assert_eq!(incr_by_float(Some(b""), b"1"), Err(CmdError::NotFloat));
        assert_eq!(incr_by_float(Some(b"1"), b"abc"), Err(CmdError::NotFloat));
        assert!(matches!(
            incr_by_float(Some(b"1"), b"inf"),
            Err(CmdError::Msg(_))
        ));
    }
}
