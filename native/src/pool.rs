//! Column buffers, reused from batch to batch.
//!
//! A batch's columns are handed to pyarrow and freed when DuckDB has stored
//! them; the next batch needs buffers of the same sizes. Fresh large
//! allocations are fresh pages the kernel must map and zero (measured: a
//! fifth of the collector's CPU), so freed buffers wait here for the next
//! batch instead, up to a bound.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

/// Bytes kept for reuse at most.
const MAX_POOLED: usize = 48 << 20;
/// Smaller buffers are cheap to allocate: not kept.
const MIN_POOLED: usize = 64 << 10;

static POOLED: AtomicUsize = AtomicUsize::new(0);

pub trait Poolable: Sized + Copy + Send + 'static {
    fn free_list() -> &'static Mutex<Vec<Vec<Self>>>;
}

macro_rules! poolable {
    ($t:ty, $name:ident) => {
        static $name: Mutex<Vec<Vec<$t>>> = Mutex::new(Vec::new());
        impl Poolable for $t {
            fn free_list() -> &'static Mutex<Vec<Vec<Self>>> {
                &$name
            }
        }
    };
}

poolable!(u8, FREE_U8);
poolable!(i8, FREE_I8);
poolable!(i32, FREE_I32);
poolable!(i64, FREE_I64);

fn bytes_of<T>(capacity: usize) -> usize {
    capacity * std::mem::size_of::<T>()
}

/// An empty vector with room for `capacity` items: a kept one of about that
/// size if there is one.
pub fn take<T: Poolable>(capacity: usize) -> Vec<T> {
    if bytes_of::<T>(capacity) >= MIN_POOLED {
        // A poisoned lock only means another thread panicked while holding it;
        // the list itself is always consistent.
        let mut free = T::free_list().lock().unwrap_or_else(|e| e.into_inner());
        let fits =
            |v: &Vec<T>| v.capacity() >= capacity && v.capacity() <= capacity.saturating_mul(2);
        if let Some(i) = free.iter().position(fits) {
            let mut v = free.swap_remove(i);
            POOLED.fetch_sub(bytes_of::<T>(v.capacity()), Ordering::Relaxed);
            v.clear();
            return v;
        }
    }
    Vec::with_capacity(capacity)
}

/// A vector no longer needed: kept for a later `take`, or freed.
pub fn give<T: Poolable>(v: Vec<T>) {
    let size = bytes_of::<T>(v.capacity());
    if size < MIN_POOLED || POOLED.load(Ordering::Relaxed) + size > MAX_POOLED {
        return;
    }
    let mut free = T::free_list().lock().unwrap_or_else(|e| e.into_inner());
    POOLED.fetch_add(size, Ordering::Relaxed);
    free.push(v);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reuses_a_buffer_of_the_size_asked() {
        let mut v: Vec<i64> = take(100_000);
        v.push(1);
        let ptr = v.as_ptr();
        give(v);
        let again: Vec<i64> = take(90_000);
        assert!(again.is_empty() && again.capacity() >= 90_000);
        assert_eq!(again.as_ptr(), ptr);
        let small: Vec<u8> = take(10);
        assert!(small.capacity() >= 10);
    }
}
