//! A minimal unsigned big integer (little-endian `u32` limbs), just what exact
//! `long double` parsing, addition and printing need. Sizes stay small: the largest
//! number is about 10^(5120 + 4952), some 33 000 bits.

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Big {
    limbs: Vec<u32>,
}

impl Big {
    pub fn from_u64(v: u64) -> Self {
        let mut b = Big {
            limbs: vec![v as u32, (v >> 32) as u32],
        };
        b.trim();
        b
    }

    fn trim(&mut self) {
        while self.limbs.last() == Some(&0) {
            self.limbs.pop();
        }
    }

    pub fn is_zero(&self) -> bool {
        self.limbs.is_empty()
    }

    pub fn bit_len(&self) -> u64 {
        match self.limbs.last() {
            None => 0,
            Some(&top) => (self.limbs.len() as u64 - 1) * 32 + u64::from(32 - top.leading_zeros()),
        }
    }

    pub fn bit(&self, i: u64) -> bool {
        let limb = (i / 32) as usize;
        self.limbs
            .get(limb)
            .is_some_and(|&l| (l >> (i % 32)) & 1 == 1)
    }

    /// True if any bit below position `i` is set.
    pub fn any_below(&self, i: u64) -> bool {
        let full = ((i / 32) as usize).min(self.limbs.len());
        if self.limbs[..full].iter().any(|&l| l != 0) {
            return true;
        }
        let rem = i % 32;
        rem > 0
            && self
                .limbs
                .get(full)
                .is_some_and(|&l| l & ((1u32 << rem) - 1) != 0)
    }

    /// Bits `[lo, lo + 128)` as a `u128`.
    pub fn bits_from(&self, lo: u64) -> u128 {
        let mut out = 0u128;
        for k in 0..128u64 {
            if self.bit(lo + k) {
                out |= 1u128 << k;
            }
        }
        out
    }

    pub fn mul_small(&mut self, m: u32) {
        let mut carry = 0u64;
        for l in &mut self.limbs {
            let v = u64::from(*l) * u64::from(m) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.limbs.push(carry as u32);
        }
        self.trim();
    }

    pub fn add_small(&mut self, a: u32) {
        let mut carry = u64::from(a);
        for l in &mut self.limbs {
            if carry == 0 {
                break;
            }
            let v = u64::from(*l) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.limbs.push(carry as u32);
        }
    }

    /// Multiplies by 10^k.
    pub fn mul_pow10(&mut self, mut k: u64) {
        while k >= 9 {
            self.mul_small(1_000_000_000);
            k -= 9;
        }
        if k > 0 {
            self.mul_small(10u32.pow(k as u32));
        }
    }

    pub fn pow10(k: u64) -> Self {
        let mut b = Big::from_u64(1);
        b.mul_pow10(k);
        b
    }

    pub fn shl(&mut self, bits: u64) {
        if self.is_zero() || bits == 0 {
            return;
        }
        let words = (bits / 32) as usize;
        let r = (bits % 32) as u32;
        let mut out = vec![0u32; words];
        if r == 0 {
            out.extend_from_slice(&self.limbs);
        } else {
            let mut carry = 0u32;
            for &l in &self.limbs {
                out.push((l << r) | carry);
                carry = l >> (32 - r);
            }
            out.push(carry);
        }
        self.limbs = out;
        self.trim();
    }

    pub fn shr1(&mut self) {
        let mut carry = 0u32;
        for l in self.limbs.iter_mut().rev() {
            let nl = (*l >> 1) | (carry << 31);
            carry = *l & 1;
            *l = nl;
        }
        self.trim();
    }

    pub fn cmp(&self, o: &Big) -> std::cmp::Ordering {
        self.limbs
            .len()
            .cmp(&o.limbs.len())
            .then_with(|| self.limbs.iter().rev().cmp(o.limbs.iter().rev()))
    }

    pub fn add(&mut self, o: &Big) {
        if self.limbs.len() < o.limbs.len() {
            self.limbs.resize(o.limbs.len(), 0);
        }
        let mut carry = 0u64;
        for (i, l) in self.limbs.iter_mut().enumerate() {
            let v = u64::from(*l) + u64::from(o.limbs.get(i).copied().unwrap_or(0)) + carry;
            *l = v as u32;
            carry = v >> 32;
        }
        if carry > 0 {
            self.limbs.push(carry as u32);
        }
    }

    /// `self -= o`; requires `self >= o`.
    pub fn sub(&mut self, o: &Big) {
        let mut borrow = 0i64;
        for (i, l) in self.limbs.iter_mut().enumerate() {
            let mut v = i64::from(*l) - i64::from(o.limbs.get(i).copied().unwrap_or(0)) - borrow;
            borrow = 0;
            if v < 0 {
                v += 1 << 32;
                borrow = 1;
            }
            *l = v as u32;
        }
        self.trim();
    }

    /// Divides in place by a small divisor, returning the remainder.
    pub fn divmod_small(&mut self, d: u32) -> u32 {
        let mut rem = 0u64;
        for l in self.limbs.iter_mut().rev() {
            let cur = (rem << 32) | u64::from(*l);
            *l = (cur / u64::from(d)) as u32;
            rem = cur % u64::from(d);
        }
        self.trim();
        rem as u32
    }

    /// `floor(num / den)` when the quotient is known to be below 2^(bits+1), and
    /// whether the remainder is nonzero. Plain shift-and-subtract: `bits` is ~70.
    pub fn div_small_quotient(mut num: Big, den: &Big, bits: u64) -> (u128, bool) {
        let mut d = den.clone();
        d.shl(bits);
        let mut q = 0u128;
        for i in (0..=bits).rev() {
            if num.cmp(&d) != std::cmp::Ordering::Less {
                num.sub(&d);
                q |= 1u128 << i;
            }
            d.shr1();
        }
        (q, !num.is_zero())
    }

    /// Decimal digits (no sign, "0" for zero).
    pub fn to_decimal(&self) -> String {
        if self.is_zero() {
            return "0".to_string();
        }
        let mut n = self.clone();
        let mut chunks = Vec::new();
        while !n.is_zero() {
            chunks.push(n.divmod_small(1_000_000_000));
        }
        let mut s = String::new();
        for (i, c) in chunks.iter().rev().enumerate() {
            if i == 0 {
                s.push_str(&c.to_string());
            } else {
                s.push_str(&format!("{c:09}"));
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::Big;

    #[test]
    fn basics() {
        let mut a = Big::pow10(30);
        assert_eq!(a.to_decimal(), format!("1{}", "0".repeat(30)));
        a.add(&Big::from_u64(7));
        let mut b = a.clone();
        b.shl(70);
        b.add(&Big::from_u64(5));
        let (q, rem) = Big::div_small_quotient(b, &a, 72);
        assert_eq!(q, 1u128 << 70);
        assert!(rem);
        assert_eq!(Big::from_u64(u64::MAX).bit_len(), 64);
        assert!(Big::from_u64(0b1000).any_below(4));
        assert!(!Big::from_u64(0b1000).any_below(3));
        assert_eq!(Big::from_u64(0xdead_beef).bits_from(4), 0x0dea_dbee);
        let mut c = Big::from_u64(1 << 40);
        c.sub(&Big::from_u64(1));
        assert_eq!(c.to_decimal(), ((1u64 << 40) - 1).to_string());
    }
}
