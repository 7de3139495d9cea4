//! The data structures behind each type. Each family's command module owns its type.

mod chunked;
pub mod hash;
mod index;
pub mod list;
pub mod pack;
pub mod set;
pub mod stream;
pub mod string;
pub mod zset;

/// Below this many bytes a small form's buffer grows by exactly what it needs.
const EXACT_UP_TO: usize = 512;

/// Room for `additional` more elements in a small form's buffer: exactly that
/// while it is small (most small values stay small, and doubling left them a
/// third to half empty), amortised doubling past `EXACT_UP_TO` bytes.
pub(crate) fn reserve_small<T>(v: &mut Vec<T>, additional: usize) {
    if v.capacity() - v.len() >= additional {
        return;
    }
    if v.len() * std::mem::size_of::<T>() < EXACT_UP_TO {
        v.reserve_exact(additional);
    } else {
        v.reserve(additional);
    }
}
