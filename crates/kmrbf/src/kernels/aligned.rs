//! `f32` buffers that start on a cache line.
//!
//! The register kernels load and store whole 64-byte vectors at 256-byte row strides; from a
//! `Vec<f32>` (16-byte aligned by the allocator) three times in four every one of those
//! accesses straddles two lines and costs two. Measured on the fused softmax step (1M x 32,
//! k = 64, one thread): see `docs/NOTES.md`, session 12.

use std::ops::{Deref, DerefMut};

/// One cache line of `f32`.
#[derive(Clone, Copy)]
#[repr(C, align(64))]
struct Line([f32; 16]);

/// A zero-initialized `f32` buffer whose first element is 64-byte aligned.
#[derive(Clone, Default)]
pub struct AlignedF32 {
    lines: Vec<Line>,
    len: usize,
}

impl AlignedF32 {
    /// `len` zeros.
    pub fn zeroed(len: usize) -> Self {
        Self {
            lines: vec![Line([0.0; 16]); len.div_ceil(16)],
            len,
        }
    }

    /// Sets the length to `len` with every value 0 (reusing the allocation when it fits).
    pub fn reset(&mut self, len: usize) {
        let n = len.div_ceil(16);
        self.lines.clear();
        self.lines.resize(n, Line([0.0; 16]));
        self.len = len;
    }

    /// Sets the length to `len`, keeping the values (new ones 0).
    pub fn resize(&mut self, len: usize) {
        self.lines.resize(len.div_ceil(16), Line([0.0; 16]));
        if len > self.len {
            let old = self.len;
            self.len = len;
            self[old..].fill(0.0);
        } else {
            self.len = len;
        }
    }
}

impl Deref for AlignedF32 {
    type Target = [f32];
    fn deref(&self) -> &[f32] {
        // SAFETY: `lines` holds at least `len` initialized f32 values, contiguously.
        unsafe { std::slice::from_raw_parts(self.lines.as_ptr() as *const f32, self.len) }
    }
}

impl DerefMut for AlignedF32 {
    fn deref_mut(&mut self) -> &mut [f32] {
        // SAFETY: as above, uniquely borrowed.
        unsafe { std::slice::from_raw_parts_mut(self.lines.as_mut_ptr() as *mut f32, self.len) }
    }
}

#[cfg(test)]
mod tests {
    use super::AlignedF32;

    #[test]
    fn aligned_and_zeroed_across_resizes() {
        let mut a = AlignedF32::zeroed(37);
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
    }
}
