//! Redis's argument parsers and matchers, shared by every command family.

use crate::error::CmdError;

/// Parses an integer exactly as Redis's `string2ll`: optional `-`, no `+`, no
/// leading zeros, no spaces, within i64.
pub fn parse_i64(s: &[u8]) -> Option<i64> {
    if s.is_empty() || s.len() > 20 {
        return None;
    }
    if s == b"0" {
        return Some(0);
    }
    let (neg, digits) = match s[0] {
        b'-' => (true, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !(b'1'..=b'9').contains(&digits[0]) {
        return None;
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    if neg {
        if v > (i64::MAX as u64) + 1 {
            None
        } else {
            Some((v as i64).wrapping_neg())
        }
    } else if v > i64::MAX as u64 {
        None
    } else {
        Some(v as i64)
    }
}

/// [`parse_i64`] or `ERR value is not an integer or out of range`.
pub fn int_arg(s: &[u8]) -> Result<i64, CmdError> {
    parse_i64(s).ok_or(CmdError::NotInteger)
}

/// A 32-bit integer argument as Redis's `getIntFromObjectOrReply`: not an
/// integer -> `ERR value is not an integer or out of range`, beyond 32 bits ->
/// `ERR value is out of range, value must between -2147483648 and 2147483647`.
pub fn int32_arg(s: &[u8]) -> Result<i32, CmdError> {
    i32::try_from(int_arg(s)?).map_err(|_| {
        CmdError::msg("ERR value is out of range, value must between -2147483648 and 2147483647")
    })
}

/// Parses a double as Redis's `string2d` (`strtod` + checks), as verified against
/// redis-server 7.0 ZADD: no leading space, no trailing garbage, `inf`/`infinity`
/// in any case with an optional sign, hex floats (`0x10`, `0x1.8p1`), NaN refused,
/// and like `strtod`'s ERANGE: overflow (`1e500`) and underflow to zero
/// (`1e-400`) refused, while subnormals (`1e-310`) are accepted.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let (neg, rest) = match t.as_bytes()[0] {
        b'-' => (true, &t[1..]),
        b'+' => (false, &t[1..]),
        _ => (false, t),
    };
    let sign = if neg { -1.0 } else { 1.0 };
    if rest.eq_ignore_ascii_case("inf") || rest.eq_ignore_ascii_case("infinity") {
        return Some(sign * f64::INFINITY);
    }
    let (v, nonzero) = if rest.len() > 1
        && rest.as_bytes()[1].eq_ignore_ascii_case(&b'x')
        && rest.as_bytes()[0] == b'0'
    {
        parse_hex_float(&rest[2..])?
    } else {
        // Rust's parser accepts exactly strtod's decimal syntax once signs inside
        // the mantissa, "inf"/"nan" words and '_' are ruled out.
        let b = rest.as_bytes();
        if b.is_empty()
            || !b
                .iter()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
        {
            return None;
        }
        if matches!(b[0], b'+' | b'-') {
            return None;
        }
        let mantissa_end = rest.find(['e', 'E']).unwrap_or(rest.len());
        let nonzero = rest[..mantissa_end]
            .bytes()
            .any(|c| (b'1'..=b'9').contains(&c));
        (rest.parse::<f64>().ok()?, nonzero)
    };
    if v.is_nan() || v.is_infinite() || (v == 0.0 && nonzero) {
        return None;
    }
    Some(sign * v)
}

/// The part of a C99 hex float after `0x`: hex digits with an optional `.`, then an
/// optional binary exponent `p[+-]digits`. Returns the value and whether the
/// mantissa was non-zero (for the underflow check).
fn parse_hex_float(s: &str) -> Option<(f64, bool)> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut mant: u64 = 0;
    let mut exp: i64 = 0;
    let mut digits = 0;
    let mut nonzero = false;
    let mut seen_dot = false;
    while i < b.len() {
        let c = b[i];
        if c == b'.' && !seen_dot {
            seen_dot = true;
        } else if let Some(d) = (c as char).to_digit(16) {
            digits += 1;
            nonzero |= d != 0;
            if mant >> 56 == 0 {
                mant = (mant << 4) | u64::from(d);
                if seen_dot {
                    exp -= 4;
                }
            } else if !seen_dot {
                // Beyond 60 bits of precision: drop the digit, keep its weight.
                exp += 4;
            }
        } else {
            break;
        }
        i += 1;
    }
    if digits == 0 {
        return None;
    }
    if i < b.len() {
        if !b[i].eq_ignore_ascii_case(&b'p') {
            return None;
        }
        let e = &s[i + 1..];
        let (eneg, ed) = match e.as_bytes().first() {
            Some(b'-') => (true, &e[1..]),
            Some(b'+') => (false, &e[1..]),
            _ => (false, e),
        };
        if ed.is_empty() || !ed.bytes().all(|c| c.is_ascii_digit()) {
            return None;
        }
        // Saturate: anything past +-100000 over/underflows all the same.
        let n: i64 = ed.parse::<i64>().unwrap_or(i64::MAX).min(100_000);
        exp += if eneg { -n } else { n };
    }
    // Scale in steps so intermediate powers of two stay finite.
    let mut v = mant as f64;
    let mut e = exp;
    while e > 0 {
        let step = e.min(1000);
        v *= 2f64.powi(step as i32);
        e -= step;
    }
    while e < 0 {
        let step = (-e).min(1000);
        v /= 2f64.powi(step as i32);
        e += step;
    }
    Some((v, nonzero))
}

/// [`parse_f64`] or `ERR value is not a valid float`.
pub fn float_arg(s: &[u8]) -> Result<f64, CmdError> {
    parse_f64(s).ok_or(CmdError::NotFloat)
}

/// Parses a SCAN-family cursor (SCAN, SSCAN, HSCAN, ZSCAN) as Redis does
/// (`strtoul` base 10 on the C string, refusing a leading space, trailing bytes
/// and overflow with `ERR invalid cursor`). Like `strtoul`, a leading `+` or `-`
/// is accepted (`-1` wraps to 2^64-1), `""` is 0, and a NUL ends the number.
pub fn parse_scan_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let bad = || CmdError::msg("ERR invalid cursor");
    let arg = &arg[..arg.iter().position(|&b| b == 0).unwrap_or(arg.len())];
    let (neg, digits) = match arg.first() {
        Some(b'-') => (true, &arg[1..]),
        Some(b'+') => (false, &arg[1..]),
        Some(c) if c.is_ascii_whitespace() => return Err(bad()),
        _ => (false, arg),
    };
    if digits.is_empty() {
        return if arg.is_empty() { Ok(0) } else { Err(bad()) };
    }
    let mut v: u64 = 0;
    for &c in digits {
        if !c.is_ascii_digit() {
            return Err(bad());
        }
        v = v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(c - b'0')))
            .ok_or_else(bad)?;
    }
    Ok(if neg { v.wrapping_neg() } else { v })
}

/// Case-insensitive ASCII comparison of an argument with an option name.
#[inline]
/// An argument as C code sees it: up to its first NUL.
pub fn c_bytes(s: &[u8]) -> &[u8] {
    &s[..s.iter().position(|&b| b == 0).unwrap_or(s.len())]
}

pub fn eq_ic(arg: &[u8], name: &str) -> bool {
    arg.eq_ignore_ascii_case(name.as_bytes())
}

/// Glob-style matching exactly as Redis's `stringmatchlen` (`*`, `?`, `[...]` with
/// `^`, ranges and `\\` escapes), optionally case-insensitive. Redis's quirks are
/// kept on purpose, since clients see them through KEYS/SCAN/PSUBSCRIBE:
/// * an empty subject matches only an empty pattern (`**` does not match `""`;
///   KEYS and SCAN special-case the pattern `*` before calling this);
/// * an unterminated class `[abc` ends at the end of the pattern, and `[^` alone
///   matches any one byte;
/// * in a class, `x-y` is a range with the bounds swapped if reversed (`[a-]` is the
///   range `]`..`a`), `\\c` is a literal `c`, and a trailing `\\` is literal.
pub fn glob_match(pattern: &[u8], s: &[u8], nocase: bool) -> bool {
    let mut skip_longer = false;
    glob_impl(pattern, s, nocase, &mut skip_longer, 0)
}

fn glob_impl(
    mut p: &[u8],
    mut s: &[u8],
    nocase: bool,
    skip_longer: &mut bool,
    nesting: u32,
) -> bool {
    // Bounds the recursion of patterns like "*a*a*a*..." (Redis: 1000 levels).
    if nesting > 1000 {
        return false;
    }
    let eq = |a: u8, b: u8| {
        if nocase {
            a.eq_ignore_ascii_case(&b)
        } else {
            a == b
        }
    };
    while !p.is_empty() && !s.is_empty() {
        match p[0] {
            b'*' => {
                while p.len() > 1 && p[1] == b'*' {
                    p = &p[1..];
                }
                if p.len() == 1 {
                    return true;
                }
                while !s.is_empty() {
                    if glob_impl(&p[1..], s, nocase, skip_longer, nesting + 1) {
                        return true;
                    }
                    // The rest of the pattern failed against a suffix and cannot
                    // match a longer one either: stop trying (Redis's
                    // skipLongerMatches, which keeps "*a*a*a*b" linear).
                    if *skip_longer {
                        return false;
                    }
                    s = &s[1..];
                }
                *skip_longer = true;
                return false;
            }
            b'?' => s = &s[1..],
            b'[' => {
                p = &p[1..];
                let not = p.first() == Some(&b'^');
                if not {
                    p = &p[1..];
                }
                let mut matched = false;
                loop {
                    match p {
                        [b'\\', c, ..] => {
                            p = &p[1..];
                            if eq(*c, s[0]) {
                                matched = true;
                            }
                        }
                        [b']', ..] => break,
                        // Unterminated: stop on the last byte so the step past the
                        // class below lands on the end of the pattern.
                        [] => break,
                        [a, b'-', b, ..] => {
                            let (mut lo, mut hi) = (*a, *b);
                            if lo > hi {
                                std::mem::swap(&mut lo, &mut hi);
                            }
                            let mut c = s[0];
                            if nocase {
                                lo = lo.to_ascii_lowercase();
                                hi = hi.to_ascii_lowercase();
                                c = c.to_ascii_lowercase();
                            }
                            if c >= lo && c <= hi {
                                matched = true;
                            }
                            p = &p[2..];
                        }
                        [c, ..] => {
                            if eq(*c, s[0]) {
                                matched = true;
                            }
                        }
                    }
                    if p.is_empty() {
                        break;
                    }
                    p = &p[1..];
                }
                if not {
                    matched = !matched;
                }
                if !matched {
                    return false;
                }
                s = &s[1..];
            }
            c => {
                let c = if c == b'\\' && p.len() >= 2 {
                    p = &p[1..];
                    p[0]
                } else {
                    c
                };
                if !eq(c, s[0]) {
                    return false;
                }
                s = &s[1..];
            }
        }
        if !p.is_empty() {
            p = &p[1..];
        }
        if s.is_empty() {
            while p.first() == Some(&b'*') {
                p = &p[1..];
            }
            break;
        }
    }
    p.is_empty() && s.is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string2ll_rules() {
        assert_eq!(parse_i64(b"0"), Some(0));
        assert_eq!(parse_i64(b"-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_i64(b"9223372036854775808"), None);
        assert_eq!(parse_i64(b"01"), None);
        assert_eq!(parse_i64(b"+1"), None);
        assert_eq!(parse_i64(b" 1"), None);
        assert_eq!(parse_i64(b"-0"), None);
        assert_eq!(parse_i64(b""), None);
    }

    #[test]
    fn globs() {
        assert!(glob_match(b"*", b"anything", false));
        assert!(glob_match(b"h?llo", b"hello", false));
        assert!(glob_match(b"h[ae]llo", b"hallo", false));
        assert!(!glob_match(b"h[^e]llo", b"hello", false));
        assert!(glob_match(b"h[a-b]llo", b"hbllo", false));
        assert!(glob_match(b"h\\*llo", b"h*llo", false));
        assert!(!glob_match(b"a*b", b"acd", false));
        assert!(glob_match(b"A*", b"abc", true));
    }

    /// Checked against redis-server 7.0.15 ZADD/ZSCORE.
    #[test]
    fn strtod_rules() {
        let ok: &[(&[u8], f64)] = &[
            (b"0x10", 16.0),
            (b"0X1p3", 8.0),
            (b"0x1.8p1", 3.0),
            (b"0x.8", 0.5),
            (b"-0x10", -16.0),
            (b"0x1P+2", 4.0),
            (b".5", 0.5),
            (b"5.", 5.0),
            (b"+.5", 0.5),
            (b"1e+5", 1e5),
            (b"1E5", 1e5),
            (b"00.5", 0.5),
            (b"0e-400", 0.0),
            (b"1e-310", 1e-310),
            (b"1.7976931348623157e308", f64::MAX),
            (b"-inf", f64::NEG_INFINITY),
            (b"+inf", f64::INFINITY),
            (b"Infinity", f64::INFINITY),
            (b"inF", f64::INFINITY),
        ];
        for (s, v) in ok {
            assert_eq!(parse_f64(s), Some(*v), "{:?}", String::from_utf8_lossy(s));
        }
        assert_eq!(parse_f64(b"0x1p-1074"), Some(f64::from_bits(1)));
        let bad: &[&[u8]] = &[
            b"1e500", b"-1e500", b"1e-400", b"1.8e308", b"1e", b"nan", b"1_0", b" 1", b"1 ", b"",
            b"-", b"+", b"e5", b"0x", b"0x1g", b"-.e1", b"0x1p", b"--1", b"+-1", b"1\0",
        ];
        for s in bad {
            assert_eq!(parse_f64(s), None, "{:?}", String::from_utf8_lossy(s));
        }
    }

    #[test]
    fn scan_cursors() {
        assert_eq!(parse_scan_cursor(b"0"), Ok(0));
        assert_eq!(parse_scan_cursor(b"+0"), Ok(0));
        assert_eq!(parse_scan_cursor(b""), Ok(0));
        assert_eq!(parse_scan_cursor(b"-1"), Ok(u64::MAX));
        assert_eq!(parse_scan_cursor(b"18446744073709551615"), Ok(u64::MAX));
        for bad in [
            &b" 0"[..],
            b"18446744073709551616",
            b"1a",
            b"+",
            b"0x1",
            b"1 ",
        ] {
            assert!(parse_scan_cursor(bad).is_err(), "{bad:?}");
        }
    }

    /// Edge cases checked against redis-server 7.0.15 KEYS with the keys
    /// `a[`, `a\\`, `a-`, `ab` (the expected lists are what Redis returned).
    #[test]
    fn globs_match_redis_edge_cases() {
        let keys: [&[u8]; 4] = [b"a[", b"a\\", b"a-", b"ab"];
        let cases: &[(&[u8], &[&[u8]])] = &[
            (b"a[", &[]),
            (b"a[\\", &[b"a\\"]),
            (b"a[a-]", &[]),
            (b"a\\", &[b"a\\"]),
            (b"a[]", &[]),
            (b"a[-]", &[b"a-"]),
            (b"a[^", &[b"a[", b"a\\", b"a-", b"ab"]),
            (b"[a", &[]),
            (b"a[b-a]", &[b"ab"]),
            (b"a[\\-]", &[b"a-"]),
            (b"a[]]", &[]),
            (b"a[^]", &[b"a[", b"a\\", b"a-", b"ab"]),
            (b"\\a*", &[b"a[", b"a\\", b"a-", b"ab"]),
            (b"a\\[", &[b"a["]),
            (b"a[[]", &[b"a["]),
            (b"a*\\", &[b"a\\"]),
            (b"*\\", &[b"a\\"]),
            (b"a[a-", &[b"a-"]),
            (b"a[\\b]", &[b"ab"]),
            (b"a[^a-c]", &[b"a[", b"a\\", b"a-"]),
            (b"a[-b]", &[b"a-", b"ab"]),
            (b"a[--]", &[b"a[", b"a\\", b"a-"]),
        ];
        for (pat, want) in cases {
            let got: Vec<&[u8]> = keys
                .iter()
                .copied()
                .filter(|k| glob_match(pat, k, false))
                .collect();
            assert_eq!(&got, want, "pattern {:?}", String::from_utf8_lossy(pat));
        }
        // Empty subject: only the empty pattern matches (KEYS special-cases "*").
        assert!(glob_match(b"", b"", false));
        assert!(!glob_match(b"**", b"", false));
        assert!(!glob_match(b"?", b"", false));
        assert!(!glob_match(b"[^a]", b"", false));
        // Pathological backtracking stays fast.
        let pat = b"*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
        assert!(!glob_match(pat, &[b'a'; 200], false));
        assert!(glob_match(b"a*b*c", b"a\0b\r\nc", false));
    }
}
