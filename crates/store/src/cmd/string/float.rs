//! INCRBYFLOAT's and HINCRBYFLOAT's arithmetic: Redis parses both operands as an
//! 80-bit `long double`, adds them and prints `%.17Lf` with trailing zeros trimmed,
//! so `0.1 + 0.2` prints `0.3`. [`tandem_resp::LongDouble`] emulates that type
//! exactly; f64 would print `0.30000000000000004`.

use tandem_resp::LongDouble;

use crate::error::CmdError;

/// Redis refuses float texts longer than this (`MAX_LONG_DOUBLE_CHARS`).
const MAX_LONG_DOUBLE_CHARS: usize = 5 * 1024;

/// Parses a float as Redis's `string2ld` (strtold syntax, no spaces, no NaN, no
/// overflow or underflow).
pub fn parse_long_double(b: &[u8]) -> Option<LongDouble> {
    if b.len() > MAX_LONG_DOUBLE_CHARS {
        return None;
    }
    LongDouble::parse(b).filter(|v| !v.is_nan())
}

/// Adds `incr` to the stored value `old` (absent = 0) and returns the new text.
/// `old_err` is the error for an unparsable stored value (INCRBYFLOAT and
/// HINCRBYFLOAT word it differently).
pub fn incr_by_float_with(
    old: Option<&[u8]>,
    incr: LongDouble,
    old_err: CmdError,
) -> Result<String, CmdError> {
    let base = match old {
        Some(b) => parse_long_double(b).ok_or(old_err)?,
        None => LongDouble::zero(false),
    };
    let sum = base + incr;
    if !sum.is_finite() {
        return Err(CmdError::msg("ERR increment would produce NaN or Infinity"));
    }
    Ok(sum.to_human_string())
}

/// INCRBYFLOAT: both operands must be valid floats ("ERR value is not a valid float").
pub fn incr_by_float(old: Option<&[u8]>, incr: &[u8]) -> Result<String, CmdError> {
    let by = parse_long_double(incr).ok_or(CmdError::NotFloat)?;
    incr_by_float_with(old, by, CmdError::NotFloat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redis_like_forms() {
        assert_eq!(incr_by_float(Some(b"0.1"), b"0.2").unwrap(), "0.3");
        assert_eq!(incr_by_float(Some(b"10.5"), b"0.1").unwrap(), "10.6");
        assert_eq!(
            incr_by_float(Some(b"224"), b"0.1").unwrap(),
            "224.10000000000000001"
        );
        assert_eq!(incr_by_float(Some(b"3.0"), b"0").unwrap(), "3");
        assert_eq!(incr_by_float(Some(b"1e5"), b"1").unwrap(), "100001");
        assert_eq!(incr_by_float(Some(b"10"), b"-10").unwrap(), "0");
        assert_eq!(incr_by_float(None, b"-0.5").unwrap(), "-0.5");
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
