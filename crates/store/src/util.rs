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

/// Parses a double as Redis's `string2d`/`strtod`: no leading space, no trailing
/// garbage, `inf`/`-inf`/`+inf`/`infinity` accepted, NaN refused.
pub fn parse_f64(s: &[u8]) -> Option<f64> {
    if s.is_empty() || s[0].is_ascii_whitespace() {
        return None;
    }
    let t = std::str::from_utf8(s).ok()?;
    let lower = t.to_ascii_lowercase();
    let v = match lower.trim_start_matches(['+', '-']) {
        "inf" | "infinity" => {
            if lower.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }
        }
        _ => {
            // Rust accepts forms strtod rejects ("1_0" no, but "nan", "inf" handled
            // above); refuse anything with characters strtod would stop at.
            if !t
                .bytes()
                .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
            {
                // strtod also accepts hex floats (0x1p3); Redis users never rely on it.
                return None;
            }
            t.parse::<f64>().ok()?
        }
    };
    if v.is_nan() {
        None
    } else {
        Some(v)
    }
}

/// [`parse_f64`] or `ERR value is not a valid float`.
pub fn float_arg(s: &[u8]) -> Result<f64, CmdError> {
    parse_f64(s).ok_or(CmdError::NotFloat)
}

/// Parses a SCAN-family cursor as Redis does (`strtoul` base 10, refusing a leading
/// space, trailing bytes and overflow with `ERR invalid cursor`). Like `strtoul`,
/// a leading `+` or `-` is accepted (`-1` wraps to 2^64-1) and `""` is 0.
pub fn parse_scan_cursor(arg: &[u8]) -> Result<u64, CmdError> {
    let bad = || CmdError::msg("ERR invalid cursor");
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
