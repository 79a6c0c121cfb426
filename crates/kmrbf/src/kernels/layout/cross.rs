//! The GEMM part of the distances for f32 tiles, `-2 x . c`, as one AVX-512 register kernel.
//!
//! faer's general GEMM packs both operands for every tile; with the inner dimension `d` as
//! small as 32 that packing is a large share of the work (measured 120-137 GFLOP/s on this
//! core). Here the centers are packed once per pass, `-2 c` as `d x 64` panels (scaling by -2
//! is exact), and each `6 x 64` block of the output is one set of 24 accumulators fed straight
//! from the row-major tile: per column `t`, four center vectors and six broadcasts of `x`
//! for 24 FMAs. Each output entry is one FMA chain over `t` in order, so it does not depend on
//! the tile's size or position (same bits for any thread count).

use crate::kernels::isa::Isa;
use crate::kernels::layout::aligned::AlignedF32;

/// Centers in 64-wide blocks: block `q` holds `d x 64` values, `panel[(q d + t) 64 + l] =
/// -2 c_{64 q + l, t}` (zero past `k`).
pub struct CrossPack {
    panels: AlignedF32,
    k: usize,
    d: usize,
}

/// Centers per block (four 16-lane vectors).
const NB: usize = 64;
/// Rows per register block.
const MR: usize = 6;
/// Rows ahead that the kernel prefetches.
const PREFETCH_ROWS: usize = 192;

impl CrossPack {
    /// Packs the `k x d` row-major `centers` for [`cross_tile`], or `None` when `isa` has no
    /// AVX-512.
    pub fn new(isa: Isa, centers: &[f32], k: usize, d: usize) -> Option<Self> {
        if !isa.avx512() {
            return None;
        }
        Some(Self::packed(centers, k, d))
    }

    /// Packs the `k x d` row-major `centers` on any CPU (the fused soft kernels read the
    /// panels with AVX-512 or AVX2; [`cross_tile`] needs an AVX-512 tier).
    pub fn packed(centers: &[f32], k: usize, d: usize) -> Self {
        assert_eq!(centers.len(), k * d);
        let blocks = k.div_ceil(NB);
        let mut panels = AlignedF32::zeroed(blocks * d * NB);
        for j in 0..k {
            let (q, l) = (j / NB, j % NB);
            for t in 0..d {
                panels[(q * d + t) * NB + l] = -2.0 * centers[j * d + t];
            }
        }
        Self { panels, k, d }
    }

    /// Centers packed (`k`).
    pub fn k(&self) -> usize {
        self.k
    }

    /// Columns of the centers (`d`).
    pub fn d(&self) -> usize {
        self.d
    }

    /// The first block's `d x 64` panel: `panel[64 t + l] = -2 c_{l, t}` (zero for `l >= k`).
    pub fn first_panel(&self) -> &[f32] {
        &self.panels[..self.d * NB]
    }
}

/// `out[i k + j] = -2 <x_i, c_j>` for the `b x d` tile `x` (`out`: `b x k`, row-major).
///
/// # Panics
/// When `isa` has no AVX-512 or the shapes disagree.
pub fn cross_tile(isa: Isa, x: &[f32], pack: &CrossPack, out: &mut [f32]) {
    let (k, d) = (pack.k, pack.d);
    let b = out.len() / k.max(1);
    assert!(isa.avx512(), "cross_tile needs the AVX-512 tier");
    assert!(x.len() == b * d && out.len() == b * k);
    if b == 0 || k == 0 {
        return;
    }
    // SAFETY: the `Isa` proves AVX-512; shapes asserted.
    unsafe { imp::cross_tile(x, pack, out, b) }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::{CrossPack, MR, NB, PREFETCH_ROWS};
    use crate::kernels::dispatch::lanes16 as lanes;
    use core::arch::x86_64::*;

    /// # Safety
    /// The CPU runs the AVX-512 tier; `x` holds `b * pack.d()` values and `out` `b * pack.k()`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
    pub unsafe fn cross_tile(x: &[f32], pack: &CrossPack, out: &mut [f32], b: usize) {
        unsafe {
            let (k, d) = (pack.k, pack.d);
            for q in 0..k.div_ceil(NB) {
                let cols = NB.min(k - q * NB);
                let panel = pack.panels.as_ptr().add(q * d * NB);
                let o = out.as_mut_ptr().add(q * NB);
                let mut i = 0;
                while i < b {
                    let xr = x.as_ptr().add(i * d);
                    let or = o.add(i * k);
                    if q == 0 {
                        // The rows a few blocks ahead (past the tile's end: the next tile's,
                        // harmless on x86 if there is none).
                        let ahead = (xr as *const i8).wrapping_add(PREFETCH_ROWS * d * 4);
                        for l in 0..(MR * d * 4).div_ceil(64) {
                            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64 * l));
                        }
                    }
                    match (b - i).min(MR) {
                        6 => block::<6>(xr, d, panel, or, k, cols),
                        5 => block::<5>(xr, d, panel, or, k, cols),
                        4 => block::<4>(xr, d, panel, or, k, cols),
                        3 => block::<3>(xr, d, panel, or, k, cols),
                        2 => block::<2>(xr, d, panel, or, k, cols),
                        _ => block::<1>(xr, d, panel, or, k, cols),
                    }
                    i += MR;
                }
            }
        }
    }

    /// `R` rows at `x` (stride `d`) against one panel: `out[r k + l] = sum_t x_rt p_tl` for
    /// the `cols` first lanes `l` of the block (output row stride `k`).
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `x` is readable for `R` rows of stride `d` (`d` values
    /// each); `panel` for `d * 64` values; `out` is writable for `R` rows of stride `k` at the
    /// `cols <= 64` lanes used.
    #[inline(always)]
    unsafe fn block<const R: usize>(
        x: *const f32,
        d: usize,
        panel: *const f32,
        out: *mut f32,
        k: usize,
        cols: usize,
    ) {
        unsafe {
            let mut acc = [[_mm512_setzero_ps(); 4]; R];
            let nv = cols.div_ceil(16);
            if nv == 4 {
                for t in 0..d {
                    let p = panel.add(t * NB);
                    let c = [
                        _mm512_loadu_ps(p),
                        _mm512_loadu_ps(p.add(16)),
                        _mm512_loadu_ps(p.add(32)),
                        _mm512_loadu_ps(p.add(48)),
                    ];
                    for r in 0..R {
                        let xb = _mm512_set1_ps(*x.add(r * d + t));
                        for v in 0..4 {
                            acc[r][v] = _mm512_fmadd_ps(xb, c[v], acc[r][v]);
                        }
                    }
                }
            } else {
                // A partial last block: only its vectors (the others stay zero, unused).
                for t in 0..d {
                    let p = panel.add(t * NB);
                    for r in 0..R {
                        let xb = _mm512_set1_ps(*x.add(r * d + t));
                        for v in 0..nv {
                            acc[r][v] =
                                _mm512_fmadd_ps(xb, _mm512_loadu_ps(p.add(16 * v)), acc[r][v]);
                        }
                    }
                }
            }
            for (r, row) in acc.iter().enumerate() {
                for (v, &a) in row.iter().enumerate().take(nv) {
                    let m = lanes(cols - 16 * v);
                    _mm512_mask_storeu_ps(out.add(r * k + 16 * v), m, a);
                }
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::CrossPack;
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    pub unsafe fn cross_tile(_: &[f32], _: &CrossPack, _: &mut [f32], _: usize) {
        unreachable!("AVX-512 only")
    }
}
