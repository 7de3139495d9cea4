//! List values.
//!
//! A `VecDeque` of owned byte strings: O(1) push/pop at both ends and O(1) indexing,
//! which is what LINDEX/LSET/LRANGE need. Redis 7.0 stores every list as a quicklist
//! (7.2 added a plain listpack for small lists), so OBJECT ENCODING always reports
//! `quicklist`, whatever the size, as the real 7.0.15 does.

use std::collections::VecDeque;

use crate::keyspace::StoreConfig;

#[derive(Debug, Clone, Default)]
pub struct List {
    pub items: VecDeque<Vec<u8>>,
}

/// Which end of a list an operation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Left,
    Right,
}

impl List {
    pub fn new() -> Self {
        Self::default()
    }

    /// Redis 7.0 reports `quicklist` for every list (see the module docs).
    pub fn encoding(&self, _cfg: &StoreConfig) -> &'static str {
        "quicklist"
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Every element, head to tail (persistence and SORT walk this).
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &[u8]> + ExactSizeIterator {
        self.items.iter().map(|v| v.as_slice())
    }

    pub fn push(&mut self, end: End, item: Vec<u8>) {
        match end {
            End::Left => self.items.push_front(item),
            End::Right => self.items.push_back(item),
        }
    }

    pub fn pop(&mut self, end: End) -> Option<Vec<u8>> {
        match end {
            End::Left => self.items.pop_front(),
            End::Right => self.items.pop_back(),
        }
    }

    /// Resolves a Redis index (negative counts from the tail) to a position.
    pub fn resolve(&self, index: i64) -> Option<usize> {
        let len = self.items.len() as i64;
        let i = if index < 0 { len + index } else { index };
        if i < 0 || i >= len {
            None
        } else {
            Some(i as usize)
        }
    }

    /// The inclusive `[start, end]` position range Redis's LRANGE/LTRIM select, or
    /// `None` when it is empty.
    pub fn range(&self, start: i64, end: i64) -> Option<(usize, usize)> {
        let len = self.items.len() as i64;
        let mut s = if start < 0 {
            len.saturating_add(start)
        } else {
            start
        };
        let mut e = if end < 0 {
            len.saturating_add(end)
        } else {
            end
        };
        if s < 0 {
            s = 0;
        }
        if s > e || s >= len {
            return None;
        }
        if e >= len {
            e = len - 1;
        }
        Some((s as usize, e as usize))
    }
}

impl FromIterator<Vec<u8>> for List {
    fn from_iter<T: IntoIterator<Item = Vec<u8>>>(iter: T) -> Self {
        List {
            items: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(n: usize) -> List {
        (0..n).map(|i| vec![i as u8]).collect()
    }

    #[test]
    fn range_clamps_like_redis() {
        let l = list(5);
        assert_eq!(l.range(0, -1), Some((0, 4)));
        assert_eq!(l.range(-100, 100), Some((0, 4)));
        assert_eq!(l.range(5, 10), None);
        assert_eq!(l.range(3, 1), None);
        assert_eq!(l.range(-2, -1), Some((3, 4)));
        assert_eq!(l.range(i64::MIN, i64::MAX), Some((0, 4)));
        assert_eq!(list(0).range(0, -1), None);
    }

    #[test]
    fn resolve_negative() {
        let l = list(3);
        assert_eq!(l.resolve(-1), Some(2));
        assert_eq!(l.resolve(-3), Some(0));
        assert_eq!(l.resolve(-4), None);
        assert_eq!(l.resolve(3), None);
        assert_eq!(l.resolve(i64::MIN), None);
    }

    #[test]
    fn encoding_is_quicklist() {
        assert_eq!(list(1).encoding(&StoreConfig::default()), "quicklist");
    }
}
