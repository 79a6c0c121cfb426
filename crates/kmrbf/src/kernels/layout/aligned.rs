//! Buffers of `f32` / `f64` that start on a cache line.
//!
//! The register kernels load and store whole 64-byte vectors at row strides of 128 or 256
//! bytes; from a `Vec` (16-byte aligned by the allocator) most of those accesses straddle two
//! lines and cost two. Measured on the fused softmax step (1M x 32, k = 64, one thread) and
//! the register block alone: `docs/NOTES.md`, "Cache-line alignment".

use std::fmt;
use std::marker::PhantomData;
use std::ops::{Deref, DerefMut};

/// Values whose all-zero bit pattern is the value 0 (the floats).
pub trait Plain: Copy + Send + Sync + 'static {}
impl Plain for f32 {}
impl Plain for f64 {}

/// One cache line.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([u8; 64]);

const ZERO_LINE: Line = Line([0; 64]);

/// A buffer of `T` whose first element is 64-byte aligned; new values are 0.
pub struct Aligned<T: Plain> {
    lines: Vec<Line>,
    len: usize,
    _t: PhantomData<T>,
}

/// The `f32` buffer of the f32 kernels.
pub type AlignedF32 = Aligned<f32>;

impl<T: Plain> Aligned<T> {
    const PER_LINE: usize = 64 / std::mem::size_of::<T>();

    /// `len` zeros.
    pub fn zeroed(len: usize) -> Self {
        Self {
            lines: vec![ZERO_LINE; len.div_ceil(Self::PER_LINE)],
            len,
            _t: PhantomData,
        }
    }

    /// `len` copies of `v`.
    pub fn filled(len: usize, v: T) -> Self {
        let mut a = Self::zeroed(len);
        a.fill(v);
        a
    }

    /// Sets the length to `len` with every value 0 (reusing the allocation when it fits).
    pub fn reset(&mut self, len: usize) {
        self.lines.clear();
        self.lines.resize(len.div_ceil(Self::PER_LINE), ZERO_LINE);
        self.len = len;
    }

    /// Sets the length to `len`, keeping the values (new ones 0).
    pub fn resize(&mut self, len: usize) {
        self.lines.resize(len.div_ceil(Self::PER_LINE), ZERO_LINE);
        let old = self.len;
        self.len = len;
        if len > old {
            // SAFETY: the all-zero pattern is 0 for `T: Plain`.
            self[old..].fill(unsafe { std::mem::zeroed() });
        }
    }
}

impl<T: Plain> Default for Aligned<T> {
    fn default() -> Self {
        Self::zeroed(0)
    }
}

impl<T: Plain> Clone for Aligned<T> {
    fn clone(&self) -> Self {
        Self {
            lines: self.lines.clone(),
            len: self.len,
            _t: PhantomData,
        }
    }
}

impl<T: Plain + fmt::Debug> fmt::Debug for Aligned<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self[..].fmt(f)
    }
}

impl<T: Plain> Deref for Aligned<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        // SAFETY: `lines` holds at least `len` values of `T` (any bit pattern of the floats
        // is valid), contiguously and aligned.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const T, self.len) }
    }
}

impl<T: Plain> DerefMut for Aligned<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut T, self.len) }
    }
}

impl<'a, T: Plain> IntoIterator for &'a Aligned<T> {
    type Item = &'a T;
    type IntoIter = std::slice::Iter<'a, T>;
    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::Aligned;

    #[test]
    fn aligned_and_zeroed_across_resizes() {
        let mut a = Aligned::<f32>::zeroed(37);
        assert_eq!(a.len(), 37);
        assert!((a.as_ptr() as usize).is_multiple_of(64));
        a[36] = 5.0;
        a.resize(100);
        assert_eq!((a[36], a[37], a[99]), (5.0, 0.0, 0.0));
        a.resize(10);
        a.resize(40);
        assert_eq!(a[36], 0.0, "values past a shrink come back as 0");
        a.reset(20);
        assert!(a.iter().all(|&v| v == 0.0) && (a.as_ptr() as usize).is_multiple_of(64));
        let b = Aligned::<f64>::filled(9, 2.5);
        assert!(b.iter().all(|&v| v == 2.5) && (b.as_ptr() as usize).is_multiple_of(64));
        assert_eq!(b.clone()[8], 2.5);
    }
}
