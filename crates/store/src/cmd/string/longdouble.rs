//! A minimal x87 80-bit `long double` emulation for INCRBYFLOAT: decimal text to a
//! 64-bit-mantissa binary value (round half to even, as `strtold`), one addition
//! rounded the same way, and `%.17Lf` printing of the exact binary value. It covers
//! operands with at most 38 significant digits, decimal exponents within ±38 and
//! results below 2^127; [`add_and_format`] returns `None` outside that range so the
//! caller can fall back.

/// A finite value `(-1)^neg * m * 2^e`.
#[derive(Clone, Copy, Debug)]
struct Ld {
    neg: bool,
    m: u128,
    e: i32,
}

const POW10: [u128; 39] = {
    let mut t = [1u128; 39];
    let mut i = 1;
    while i < 39 {
        t[i] = t[i - 1] * 10;
        i += 1;
    }
    t
};

/// Parses `[+-]digits[.digits][(e|E)[+-]digits]` into (neg, D, k): value = D * 10^k.
fn parse_dec(s: &[u8]) -> Option<(bool, u128, i32)> {
    let mut i = 0;
    let neg = match s.first() {
        Some(b'-') => {
            i = 1;
            true
        }
        Some(b'+') => {
            i = 1;
            false
        }
        _ => false,
    };
    let (mut d, mut sig, mut k, mut any, mut dot) = (0u128, 0u32, 0i32, false, false);
    while i < s.len() {
        match s[i] {
            c @ b'0'..=b'9' => {
                any = true;
                if d != 0 || c != b'0' {
                    sig += 1;
                }
                if sig > 38 {
                    return None;
                }
                d = d * 10 + (c - b'0') as u128;
                if dot {
                    k -= 1;
                }
            }
            b'.' if !dot => dot = true,
            b'e' | b'E' => break,
            _ => return None,
        }
        i += 1;
    }
    if !any {
        return None;
    }
    if i < s.len() {
        let exp = std::str::from_utf8(&s[i + 1..]).ok()?.parse::<i32>().ok()?;
        k = k.checked_add(exp)?;
    }
    while d != 0 && d % 10 == 0 && k < 0 {
        d /= 10;
        k += 1;
    }
    Some((neg, d, k))
}

/// Rounds `m * 2^e` (any width) to a 64-bit mantissa; `sticky` says bits below `m`
/// were lost already.
fn round64(neg: bool, m: u128, e: i32, sticky: bool) -> Ld {
    let bits = 128 - m.leading_zeros() as i32;
    if bits <= 64 {
        return Ld { neg, m, e };
    }
    let sh = (bits - 64) as u32;
    let mut r = m >> sh;
    let guard = (m >> (sh - 1)) & 1 == 1;
    let rest = sh > 1 && m & ((1u128 << (sh - 1)) - 1) != 0;
    if guard && (rest || sticky || r & 1 == 1) {
        r += 1;
    }
    let mut e = e + sh as i32;
    if r >> 64 != 0 {
        r >>= 1;
        e += 1;
    }
    Ld { neg, m: r, e }
}

/// `D * 10^k` to the nearest long double.
fn to_ld(neg: bool, d: u128, k: i32) -> Option<Ld> {
    if d == 0 {
        return Some(Ld { neg, m: 0, e: 0 });
    }
    if k >= 0 {
        let n = d.checked_mul(*POW10.get(k as usize)?)?;
        return Some(round64(neg, n, 0, false));
    }
    let den = *POW10.get((-k) as usize)?;
    let (int, mut rem) = (d / den, d % den);
    if 128 - int.leading_zeros() >= 64 {
        return Some(round64(neg, int, 0, rem != 0));
    }
    // Long division: append fraction bits until 66 significant bits (64 + guard
    // + one more), the rest goes into the sticky flag.
    let (mut m, mut e) = (int, 0i32);
    while 128 - m.leading_zeros() < 66 {
        rem <<= 1;
        let bit = rem >= den;
        if bit {
            rem -= den;
        }
        m = (m << 1) | bit as u128;
        e -= 1;
        if e < -400 {
            return None;
        }
    }
    Some(round64(neg, m, e, rem != 0))
}

/// The long double nearest to `a + b`.
fn add(a: Ld, b: Ld) -> Ld {
    if a.m == 0 {
        return b;
    }
    if b.m == 0 {
        return a;
    }
    let (big, small) = if a.e >= b.e { (a, b) } else { (b, a) };
    let diff = (big.e - small.e) as u32;
    let shift = diff.min(62);
    let drop = diff - shift;
    let mut sm = small.m;
    if drop > 0 {
        let lost = if drop >= 128 {
            sm
        } else {
            sm & ((1u128 << drop) - 1)
        };
        sm = if drop >= 128 { 0 } else { sm >> drop };
        // A sticky bit far below the rounding position keeps the rounding exact.
        if lost != 0 {
            sm |= 1;
        }
    }
    let bm = big.m << shift;
    let e = big.e - shift as i32;
    let (neg, mag) = if big.neg == small.neg {
        (big.neg, bm + sm)
    } else if bm >= sm {
        (big.neg, bm - sm)
    } else {
        (small.neg, sm - bm)
    };
    round64(neg, mag, e, false)
}

/// `%.17Lf` of the exact value, trailing zeros and dot removed, "-0" as "0".
fn format(v: Ld) -> Option<String> {
    let (int, frac_digits) = if v.e >= 0 {
        if v.m != 0 && 128 - v.m.leading_zeros() as i32 + v.e > 127 {
            return None;
        }
        (v.m << v.e, [0u8; 17])
    } else {
        let q = (-v.e) as u32;
        if q > 124 {
            // Below 2^-60: prints as zero at 17 decimals.
            (0, [0u8; 17])
        } else {
            let mask = (1u128 << q) - 1;
            let mut int = v.m >> q;
            let mut frac = v.m & mask;
            let mut digits = [0u8; 17];
            for d in digits.iter_mut() {
                frac *= 10;
                *d = (frac >> q) as u8;
                frac &= mask;
            }
            let half = 1u128 << (q - 1).min(127);
            let up = if q == 0 {
                false
            } else {
                frac > half || (frac == half && digits[16] & 1 == 1)
            };
            if up {
                let mut i = 17;
                loop {
                    if i == 0 {
                        int += 1;
                        break;
                    }
                    i -= 1;
                    if digits[i] == 9 {
                        digits[i] = 0;
                    } else {
                        digits[i] += 1;
                        break;
                    }
                }
            }
            (int, digits)
        }
    };
    let mut s = int.to_string();
    let last = frac_digits.iter().rposition(|&d| d != 0);
    if let Some(l) = last {
        s.push('.');
        s.extend(frac_digits[..=l].iter().map(|&d| (b'0' + d) as char));
    }
    if v.neg && s != "0" {
        s.insert(0, '-');
    }
    Some(s)
}

/// `a + b` computed and printed as Redis's INCRBYFLOAT does on x86-64, or `None`
/// when an operand or the result is outside what this emulation covers.
pub fn add_and_format(a: &[u8], b: &[u8]) -> Option<String> {
    let (na, da, ka) = parse_dec(a)?;
    let (nb, db, kb) = parse_dec(b)?;
    let x = to_ld(na, da, ka)?;
    let y = to_ld(nb, db, kb)?;
    format(add(x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn f(a: &str, b: &str) -> Option<String> {
        add_and_format(a.as_bytes(), b.as_bytes())
    }

    #[test]
    fn matches_redis_on_x86_64() {
        assert_eq!(f("224", "0.1").as_deref(), Some("224.10000000000000001"));
        assert_eq!(f("5000", "0.01").as_deref(), Some("5000.00999999999999979"));
        assert_eq!(f("10.5", "0.1").as_deref(), Some("10.6"));
        assert_eq!(f("100", "0.1").as_deref(), Some("100.1"));
        assert_eq!(f("3", "0.1").as_deref(), Some("3.1"));
        assert_eq!(f("0.1", "0.2").as_deref(), Some("0.3"));
        assert_eq!(f("0", "-1e-20").as_deref(), Some("0"));
        assert_eq!(f("0", "1e-17").as_deref(), Some("0.00000000000000001"));
        assert_eq!(
            f("5.0e3", "1.123456789012345678").as_deref(),
            Some("5001.12345678901234569")
        );
        assert_eq!(f("123", "1.5").as_deref(), Some("124.5"));
        assert_eq!(f("10", "-10").as_deref(), Some("0"));
        assert_eq!(f("1.5e3", "0").as_deref(), Some("1500"));
        assert_eq!(f("-280.9", "0").as_deref(), Some("-280.89999999999999999"));
        assert_eq!(
            f("-100", "-381.1").as_deref(),
            Some("-481.10000000000000001")
        );
        assert_eq!(f("0.5", "0.25").as_deref(), Some("0.75"));
        assert_eq!(
            f("1e30", "1").as_deref(),
            Some("1000000000000000000024696061952")
        );
        assert_eq!(
            f("9223372036854775807", "1").as_deref(),
            Some("9223372036854775808")
        );
        assert_eq!(f("1.1", "2.2").as_deref(), Some("3.3"));
        assert_eq!(f("-0.1", "0.1").as_deref(), Some("0"));
        assert_eq!(f("99.99", "0.01").as_deref(), Some("100"));
        assert_eq!(f("1e-5", "3").as_deref(), Some("3.00001"));
        assert_eq!(f("1e400", "1"), None);
        assert_eq!(f("inf", "1"), None);
    }
}
