//! Redis's intset: sorted distinct integers stored at the narrowest width
//! (16, 32 or 64 bits) that holds them all, widened when a bigger value arrives
//! and never narrowed, so small integer sets cost 2 bytes per member.

#[derive(Debug, Clone)]
pub enum IntSet {
    I16(Vec<i16>),
    I32(Vec<i32>),
    I64(Vec<i64>),
}

impl Default for IntSet {
    fn default() -> Self {
        IntSet::I16(Vec::new())
    }
}

/// Binary search for `x` in a vector of a narrower type: values outside the
/// type's range sort before or after everything.
fn search<T: Copy + Ord + TryFrom<i64>>(v: &[T], x: i64) -> Result<usize, usize> {
    match T::try_from(x) {
        Ok(t) => v.binary_search(&t),
        Err(_) => Err(if x < 0 { 0 } else { v.len() }),
    }
}

/// Inserts growing by one element at a time while small, as Redis's intset.
fn insert_at<T>(v: &mut Vec<T>, pos: usize, x: T) {
    crate::types::reserve_small(v, 1);
    v.insert(pos, x);
}

impl IntSet {
    pub fn len(&self) -> usize {
        match self {
            IntSet::I16(v) => v.len(),
            IntSet::I32(v) => v.len(),
            IntSet::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The element at position `i` (< len), ascending.
    pub fn get(&self, i: usize) -> i64 {
        match self {
            IntSet::I16(v) => v[i] as i64,
            IntSet::I32(v) => v[i] as i64,
            IntSet::I64(v) => v[i],
        }
    }

    fn search(&self, x: i64) -> Result<usize, usize> {
        match self {
            IntSet::I16(v) => search(v, x),
            IntSet::I32(v) => search(v, x),
            IntSet::I64(v) => v.binary_search(&x),
        }
    }

    pub fn contains(&self, x: i64) -> bool {
        self.search(x).is_ok()
    }

    /// Widens the encoding so `x` fits.
    fn widen_for(&mut self, x: i64) {
        let need64 = i32::try_from(x).is_err();
        let need32 = i16::try_from(x).is_err();
        match self {
            IntSet::I16(v) if need64 => *self = IntSet::I64(v.iter().map(|&e| e as i64).collect()),
            IntSet::I16(v) if need32 => *self = IntSet::I32(v.iter().map(|&e| e as i32).collect()),
            IntSet::I32(v) if need64 => *self = IntSet::I64(v.iter().map(|&e| e as i64).collect()),
            _ => {}
        }
    }

    /// Adds `x`; returns whether it was new.
    pub fn insert(&mut self, x: i64) -> bool {
        if self.contains(x) {
            return false;
        }
        self.widen_for(x);
        let pos = match self.search(x) {
            Ok(_) => return false,
            Err(p) => p,
        };
        // `widen_for` made `x` fit, so the casts are exact.
        match self {
            IntSet::I16(v) => insert_at(v, pos, x as i16),
            IntSet::I32(v) => insert_at(v, pos, x as i32),
            IntSet::I64(v) => insert_at(v, pos, x),
        }
        true
    }

    /// Removes and returns the element at position `i` (< len).
    pub fn remove_at(&mut self, i: usize) -> i64 {
        match self {
            IntSet::I16(v) => v.remove(i) as i64,
            IntSet::I32(v) => v.remove(i) as i64,
            IntSet::I64(v) => v.remove(i),
        }
    }

    /// Removes `x`; returns whether it was there.
    pub fn remove(&mut self, x: i64) -> bool {
        match self.search(x) {
            Ok(i) => {
                self.remove_at(i);
                true
            }
            Err(_) => false,
        }
    }

    pub fn iter(&self) -> impl Iterator<Item = i64> + '_ {
        (0..self.len()).map(move |i| self.get(i))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn widens_and_stays_sorted() {
        let mut s = IntSet::default();
        for x in [5, -3, 100] {
            assert!(s.insert(x));
        }
        assert!(matches!(s, IntSet::I16(_)));
        assert!(s.insert(70_000));
        assert!(matches!(s, IntSet::I32(_)));
        assert!(s.insert(i64::MIN));
        assert!(s.insert(i64::MAX));
        assert!(matches!(s, IntSet::I64(_)));
        assert!(!s.insert(5));
        let v: Vec<i64> = s.iter().collect();
        assert_eq!(v, vec![i64::MIN, -3, 5, 100, 70_000, i64::MAX]);
        assert!(s.remove(70_000));
        assert!(!s.remove(70_000));
        assert!(!s.contains(1 << 40));
        let mut t = IntSet::default();
        t.insert(1);
        assert!(!t.contains(1 << 40) && !t.contains(-(1 << 40)));
        assert!(!t.remove(40_000));
    }
}
