//! A software x87 80-bit `long double`: what Redis 7.0 on x86-64 Linux computes
//! INCRBYFLOAT and HINCRBYFLOAT with, so `SET x 0.1; INCRBYFLOAT x 0.2` gives "0.3"
//! as in Redis (an `f64` would give 0.30000000000000004).
//!
//! ```text
//!   "0.1" --parse (strtold: exact, round to nearest even)--> m * 2^e  (m: 64-bit)
//!   a + b --exact sum, one rounding to 64 bits-------------> m * 2^e
//!   m * 2^e --%.17Lf, exact, ties to even; trailing zeros/'.' cut--> "0.3"
//! ```
//!
//! Every step is done exactly with a small big integer and rounded once, so results
//! are bit-for-bit what glibc's `strtold`, the x87 `fadd` (64-bit precision control)
//! and glibc's `printf("%.17Lf")` produce. Range: normal exponents down to 2^-16382,
//! subnormals down to 2^-16445, overflow above (2^64-1)*2^16320.

use crate::bigint::Big;

/// Exponent of the lowest mantissa bit of the smallest subnormal (2^-16445).
const MIN_LSB: i64 = -16445;
/// Exponent of the lowest mantissa bit of the largest finite value.
const MAX_LSB: i64 = 16320;
/// Redis's MAX_LONG_DOUBLE_CHARS: longer inputs are refused before parsing.
const MAX_CHARS: usize = 5 * 1024;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Kind {
    Finite,
    Inf,
    NaN,
}

/// An 80-bit extended-precision value: `(-1)^neg * m * 2^e` when finite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongDouble {
    neg: bool,
    kind: Kind,
    m: u64,
    e: i64,
}

/// Rounds `q * 2^-s` (plus, if `sticky`, a positive amount below 2^-s) to a 64-bit
/// mantissa, ties to even, with subnormals and overflow to infinity.
fn round(q: &Big, s: i64, sticky: bool, neg: bool) -> LongDouble {
    let len = q.bit_len() as i64;
    if len == 0 {
        return LongDouble::zero(neg);
    }
    let lsb = (len - 64 - s).max(MIN_LSB);
    let shift = lsb + s;
    let (mut m, mut e) = if shift <= 0 {
        // Exact: q has at most 64 bits once shifted left.
        ((q.bits_from(0) << (-shift) as u32) as u64, lsb)
    } else {
        let shift = shift as u64;
        let kept = q.bits_from(shift) as u64;
        let half = q.bit(shift - 1);
        let rest = sticky || q.any_below(shift - 1);
        let up = half && (rest || kept & 1 == 1);
        let (m, carry) = kept.overflowing_add(u64::from(up));
        if carry {
            (1u64 << 63, lsb + 1)
        } else {
            (m, lsb)
        }
    };
    if m == 0 {
        return LongDouble::zero(neg);
    }
    // Normalize (only matters for results that are exact with fewer bits).
    while m < (1 << 63) && e > MIN_LSB {
        m <<= 1;
        e -= 1;
    }
    if e > MAX_LSB {
        return LongDouble::inf(neg);
    }
    LongDouble {
        neg,
        kind: Kind::Finite,
        m,
        e,
    }
}

impl LongDouble {
    pub fn zero(neg: bool) -> Self {
        LongDouble {
            neg,
            kind: Kind::Finite,
            m: 0,
            e: 0,
        }
    }

    pub fn inf(neg: bool) -> Self {
        LongDouble {
            neg,
            kind: Kind::Inf,
            m: 0,
            e: 0,
        }
    }

    pub fn nan() -> Self {
        LongDouble {
            neg: false,
            kind: Kind::NaN,
            m: 0,
            e: 0,
        }
    }

    /// Exact (every i64 fits a 64-bit mantissa), as Redis reads an int-encoded string.
    pub fn from_i64(n: i64) -> Self {
        round(&Big::from_u64(n.unsigned_abs()), 0, false, n < 0)
    }

    /// Exact (a double's 53-bit mantissa fits in 64 bits).
    pub fn from_f64(d: f64) -> Self {
        if d.is_nan() {
            return LongDouble::nan();
        }
        if d.is_infinite() {
            return LongDouble::inf(d < 0.0);
        }
        let bits = d.to_bits();
        let neg = bits >> 63 == 1;
        let exp = ((bits >> 52) & 0x7ff) as i64;
        let frac = bits & ((1u64 << 52) - 1);
        let (m, e) = if exp == 0 {
            (frac, -1074)
        } else {
            (frac | (1u64 << 52), exp - 1075)
        };
        round(&Big::from_u64(m), -e, false, neg)
    }

    pub fn is_finite(&self) -> bool {
        self.kind == Kind::Finite
    }

    pub fn is_nan(&self) -> bool {
        self.kind == Kind::NaN
    }

    pub fn is_zero(&self) -> bool {
        self.kind == Kind::Finite && self.m == 0
    }

    /// Redis's `string2ld`: `strtold` on the whole input, refusing leading blanks,
    /// trailing bytes, NaN, and results that overflowed or underflowed to zero.
    /// Accepts what `strtold` does: `+`/`-`, `inf`/`infinity`, hex floats (`0x1p-3`).
    /// Any NUL byte makes the input invalid (Redis checks strtold used every byte).
    pub fn parse(s: &[u8]) -> Option<Self> {
        if s.is_empty() || s.len() >= MAX_CHARS {
            return None;
        }
        // Redis also checks that strtold consumed all `slen` bytes, so a NUL (which
        // ends the C string early) makes the input invalid.
        if s.contains(&0) {
            return None;
        }
        let (neg, body) = match s[0] {
            b'-' => (true, &s[1..]),
            b'+' => (false, &s[1..]),
            _ => (false, s),
        };
        if body.eq_ignore_ascii_case(b"inf") || body.eq_ignore_ascii_case(b"infinity") {
            return Some(LongDouble::inf(neg));
        }
        let v = if body.len() > 2 && (body.starts_with(b"0x") || body.starts_with(b"0X")) {
            parse_hex(&body[2..], neg)?
        } else {
            parse_dec(body, neg)?
        };
        // ERANGE cases Redis refuses: overflow to infinity, underflow to zero.
        if !v.is_finite() {
            return None;
        }
        Some(v)
    }

    /// Round-to-nearest-even sum, as one x87 `fadd` at 64-bit precision.
    /// (Also available as `+`; the method is the name callers were promised.)
    #[allow(clippy::should_implement_trait)]
    pub fn add(self, o: LongDouble) -> LongDouble {
        match (self.kind, o.kind) {
            (Kind::NaN, _) | (_, Kind::NaN) => return LongDouble::nan(),
            (Kind::Inf, Kind::Inf) if self.neg != o.neg => return LongDouble::nan(),
            (Kind::Inf, _) => return self,
            (_, Kind::Inf) => return o,
            _ => {}
        }
        if o.is_zero() {
            // x + (-0) = x; (-0) + (-0) = -0; (+0) + (-0) = +0.
            return if self.is_zero() {
                LongDouble::zero(self.neg && o.neg)
            } else {
                self
            };
        }
        if self.is_zero() {
            return o;
        }
        let (big, small) = if self.e >= o.e { (self, o) } else { (o, self) };
        // Far apart: the smaller is below a quarter ulp of the larger and cannot
        // change the rounded result.
        if big.e - small.e > 200 {
            return big;
        }
        let e0 = small.e;
        let mut a = Big::from_u64(big.m);
        a.shl((big.e - e0) as u64);
        let b = Big::from_u64(small.m);
        let (sum, neg) = if big.neg == small.neg {
            a.add(&b);
            (a, big.neg)
        } else {
            match a.cmp(&b) {
                std::cmp::Ordering::Equal => return LongDouble::zero(false),
                std::cmp::Ordering::Greater => {
                    a.sub(&b);
                    (a, big.neg)
                }
                std::cmp::Ordering::Less => {
                    let mut b = b;
                    b.sub(&a);
                    (b, small.neg)
                }
            }
        };
        round(&sum, -e0, false, neg)
    }

    /// Redis's LD_STR_HUMAN form (`ld2string`): `%.17Lf`, trailing zeros and a
    /// trailing '.' removed, "-0" shown as "0"; `inf`/`-inf` for infinities.
    pub fn to_human_string(&self) -> String {
        match self.kind {
            Kind::NaN => return "nan".to_string(),
            Kind::Inf => return if self.neg { "-inf" } else { "inf" }.to_string(),
            Kind::Finite => {}
        }
        let mut s = String::new();
        if self.neg {
            s.push('-');
        }
        if self.e >= 0 {
            let mut b = Big::from_u64(self.m);
            b.shl(self.e as u64);
            s.push_str(&b.to_decimal());
        } else {
            const SCALE: u128 = 100_000_000_000_000_000; // 10^17
            let k = (-self.e) as u64;
            let (int_part, frac) = if k >= 64 {
                (0u128, u128::from(self.m))
            } else {
                (
                    u128::from(self.m >> k),
                    u128::from(self.m & ((1u64 << k) - 1)),
                )
            };
            // frac < 2^64 and 10^17 < 2^57, so this fits in a u128.
            let f = frac * SCALE;
            let mut q = if k >= 128 { 0 } else { f >> k };
            if k < 122 {
                let rem = f & ((1u128 << k) - 1);
                let half = 1u128 << (k - 1);
                if rem > half || (rem == half && q & 1 == 1) {
                    q += 1;
                }
            }
            // For k >= 122, f < 2^121 <= half of 2^k: always rounds down.
            let mut int_part = int_part;
            if q == SCALE {
                int_part += 1;
                q = 0;
            }
            s.push_str(&int_part.to_string());
            let frac_digits = format!("{q:017}");
            let trimmed = frac_digits.trim_end_matches('0');
            if !trimmed.is_empty() {
                s.push('.');
                s.push_str(trimmed);
            }
        }
        if s == "-0" {
            s = "0".to_string();
        }
        s
    }
}

impl std::ops::Add for LongDouble {
    type Output = LongDouble;
    fn add(self, o: LongDouble) -> LongDouble {
        LongDouble::add(self, o)
    }
}

fn digit_run(s: &[u8], radix: u32) -> usize {
    s.iter()
        .take_while(|&&c| char::from(c).is_digit(radix))
        .count()
}

/// `[+-]digits` after an exponent marker; saturates far outside any finite range.
fn parse_exp(s: &[u8]) -> Option<i64> {
    let (neg, d) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if d.is_empty() || digit_run(d, 10) != d.len() {
        return None;
    }
    let mut v: i64 = 0;
    for &c in d {
        v = (v * 10 + i64::from(c - b'0')).min(1_000_000_000);
    }
    Some(if neg { -v } else { v })
}

/// Splits `int.frac` mantissa digits and the exponent part at `marker` (e or p).
/// Returns (all digits, digits after the point, exponent) or None if the syntax is
/// not exactly what strtold would consume in full.
fn split_number(s: &[u8], radix: u32, markers: &[u8]) -> Option<(Vec<u8>, i64, i64)> {
    let int_len = digit_run(s, radix);
    let mut digits = s[..int_len].to_vec();
    let mut rest = &s[int_len..];
    let mut frac_len = 0i64;
    if let Some(after) = rest.strip_prefix(b".") {
        let n = digit_run(after, radix);
        digits.extend_from_slice(&after[..n]);
        frac_len = n as i64;
        rest = &after[n..];
    }
    if digits.is_empty() {
        return None;
    }
    let exp = match rest.split_first() {
        None => 0,
        Some((c, tail)) if markers.contains(c) => parse_exp(tail)?,
        Some(_) => return None,
    };
    Some((digits, frac_len, exp))
}

fn parse_dec(s: &[u8], neg: bool) -> Option<LongDouble> {
    let (digits, frac_len, exp) = split_number(s, 10, b"eE")?;
    // Significant digits only: leading zeros say nothing, trailing zeros go to the
    // exponent.
    let start = digits.iter().position(|&c| c != b'0');
    let Some(start) = start else {
        return Some(LongDouble::zero(neg));
    };
    let end = digits
        .iter()
        .rposition(|&c| c != b'0')
        .map_or(start, |i| i + 1);
    let sig = &digits[start..end];
    let e10 = exp - frac_len + (digits.len() - end) as i64;
    let nd = sig.len() as i64;
    // Decimal magnitude is 10^(nd + e10 - 1) .. 10^(nd + e10).
    if nd + e10 - 1 > 4933 {
        return Some(LongDouble::inf(neg));
    }
    if nd + e10 < -4952 {
        // Rounds to zero: ERANGE, which Redis refuses.
        return None;
    }
    // Nine digits per big-integer step (up to ~5000 digits arrive from clients).
    let mut d = Big::default();
    for chunk in sig.chunks(9) {
        let mut v = 0u32;
        for &c in chunk {
            v = v * 10 + u32::from(c - b'0');
        }
        d.mul_small(10u32.pow(chunk.len() as u32));
        d.add_small(v);
    }
    let v = if e10 >= 0 {
        d.mul_pow10(e10 as u64);
        round(&d, 0, false, neg)
    } else {
        let p = Big::pow10((-e10) as u64);
        // Scale so the quotient has 68..70 bits: value = q * 2^-s.
        let s = 68 + p.bit_len() as i64 - d.bit_len() as i64;
        let (num, den) = if s >= 0 {
            let mut n = d;
            n.shl(s as u64);
            (n, p)
        } else {
            let mut den = p;
            den.shl((-s) as u64);
            (d, den)
        };
        let (q, rem) = Big::div_small_quotient(num, &den, 70);
        let mut qb = Big::from_u64(q as u64);
        let mut hi = Big::from_u64((q >> 64) as u64);
        hi.shl(64);
        qb.add(&hi);
        round(&qb, s, rem, neg)
    };
    if v.is_zero() {
        // Underflow to zero is ERANGE: Redis refuses it.
        return None;
    }
    Some(v)
}

fn parse_hex(s: &[u8], neg: bool) -> Option<LongDouble> {
    let (digits, frac_len, exp) = split_number(s, 16, b"pP")?;
    let start = digits.iter().position(|&c| c != b'0');
    let Some(start) = start else {
        return Some(LongDouble::zero(neg));
    };
    let sig = &digits[start..];
    // Only the leading ~80 bits matter; the rest is sticky.
    let keep = sig.len().min(24);
    let mut d = Big::default();
    for &c in &sig[..keep] {
        d.mul_small(16);
        d.add_small(char::from(c).to_digit(16).unwrap_or(0));
    }
    let sticky = sig[keep..].iter().any(|&c| c != b'0');
    let dropped = (sig.len() - keep) as i64;
    // value = d * 16^(dropped - frac_len) * 2^exp
    let e2 = exp + 4 * (dropped - frac_len);
    d.shl(8);
    let v = round(&d, 8 - e2, sticky, neg);
    if v.is_zero() {
        return None;
    }
    Some(v)
}

#[cfg(test)]
#[path = "longdouble_tests.rs"]
mod tests;
