//! The AVX2 building blocks the soft kernels share: the `cn - 2 x . c` register block and the
//! lane reduction. Every function needs the AVX2 + FMA tier.

use super::shared::{MAX_K, MR};
use core::arch::x86_64::*;

/// `op` over the eight lanes of `v` (a fixed order).
///
/// # Safety
/// The CPU runs the AVX2 + FMA tier (the function only computes on registers).
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn hreduce(v: __m256, op: impl Fn(__m256, __m256) -> __m256) -> f32 {
    let v = op(v, _mm256_permute2f128_ps::<1>(v, v));
    let v = op(v, _mm256_shuffle_ps::<0b01_00_11_10>(v, v));
    let v = op(v, _mm256_shuffle_ps::<0b10_11_00_01>(v, v));
    _mm256_cvtss_f32(v)
}

/// `out[r][j] = cn_j - 2 x_r . c_j` for the `MR` rows at `xr` (`d` values each) and `16 NC`
/// centers (`cnp` from [`padded_cn`]; output row stride 64), 16 centers at a time.
///
/// # Safety
/// The CPU runs the AVX2 + FMA tier; `xr` is readable for `MR` rows of `d` values; `panel` for
/// `d * 64` values; `out` is writable for `MR * 16 NC` values.
#[inline]
#[target_feature(enable = "avx2,fma")]
pub(crate) unsafe fn cross_block<const NC: usize>(
    xr: *const f32,
    d: usize,
    panel: *const f32,
    cnp: &[f32; MAX_K],
    out: *mut f32,
) {
    unsafe {
        for h in 0..NC {
            let start = [
                _mm256_loadu_ps(cnp.as_ptr().add(16 * h)),
                _mm256_loadu_ps(cnp.as_ptr().add(16 * h + 8)),
            ];
            cross16(xr, d, panel.add(16 * h), start, out.add(16 * h));
        }
    }
}

/// `out[r][0..16] = start - 2 x_r . c` for 16 centers (panel row stride 64, output row
/// stride 64): one FMA chain per entry over the columns in order (12 accumulators).
///
/// # Safety
/// The CPU runs the AVX2 + FMA tier; `xr` is readable for `MR` rows of `d` values; `panel` for
/// `d` rows of stride 64 (16 used); `out` is writable for `MR` rows of stride `MAX_K`.
#[inline(never)]
#[target_feature(enable = "avx2,fma")]
unsafe fn cross16(xr: *const f32, d: usize, panel: *const f32, start: [__m256; 2], out: *mut f32) {
    unsafe {
        let mut acc = [start; MR];
        for t in 0..d {
            let p = panel.add(t * MAX_K);
            let (c0, c1) = (_mm256_loadu_ps(p), _mm256_loadu_ps(p.add(8)));
            for (r, row) in acc.iter_mut().enumerate() {
                let xb = _mm256_set1_ps(*xr.add(r * d + t));
                row[0] = _mm256_fmadd_ps(xb, c0, row[0]);
                row[1] = _mm256_fmadd_ps(xb, c1, row[1]);
            }
        }
        for (r, row) in acc.iter().enumerate() {
            _mm256_storeu_ps(out.add(r * MAX_K), row[0]);
            _mm256_storeu_ps(out.add(r * MAX_K + 8), row[1]);
        }
    }
}
