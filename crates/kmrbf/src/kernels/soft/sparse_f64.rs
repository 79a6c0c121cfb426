//! The entmax-1.5 and sparsemax soft-lloyd rows for **f64** with AVX-512 and `k <= 64`,
//! fused as the f32 kernels ([`crate::kernels::soft::sparse`], [`crate::kernels::soft::sparse_avx2`]): no
//! distance tile, no dense `R^T X`; per row only its few nonzero responsibilities go into the
//! cluster sums while the row is in L1.
//!
//! A `zmm` register holds 8 f64 lanes, so the shape is the AVX2 f32 kernel's: per block of
//! six rows, `u = cn - 2 x . c` in `6 x 16`-center register blocks (12 accumulators, one FMA
//! chain per entry over the columns in order) into a 3 KiB L1 buffer; per row `z = (u - umin)
//! (-1 / scale)` and the candidates `z > -1` (compressed by `vcompresspd`, their centers from
//! a table); per 48-row group the thresholds (the lane rule of [`crate::kernels::soft::rows_avx512`]'s
//! `threshold16` in f64), then the sums in row order. Results agree with the tile pipeline's
//! f64 path to f64 rounding.

use crate::kernels::isa::Isa;
use crate::kernels::soft::shared::{RowTotals, SparseMap, GROUP, MAX_K, MR};

/// Values per row slot of this kernel's candidate buffers (`k` and 8 of slack: f64 vectors
/// hold 8 lanes).
const SLOT_F64: usize = MAX_K + 8;

/// True when [`sparse_sums_f64`] takes `k` centers on `isa` (AVX-512, `1 <= k <= 64`).
pub fn available(isa: Isa, k: usize) -> bool {
    isa.avx512() && (1..=MAX_K).contains(&k)
}

/// `-2 c` transposed for [`sparse_sums_f64`]: `d x 64`, entry `t * 64 + j`, zero past `k`.
pub fn pack_centers(c: &[f64], k: usize, d: usize) -> Vec<f64> {
    assert!(k <= MAX_K && c.len() == k * d);
    let mut p = vec![0.0; d * MAX_K];
    for j in 0..k {
        for t in 0..d {
            p[t * MAX_K + j] = -2.0 * c[j * d + t];
        }
    }
    p
}

/// What the kernel reads: `b x d` rows `x` with squared norms `xn` and weights `w` (`None`:
/// 1), the centers as [`pack_centers`] with squared norms `cn` (`k`), the temperature.
#[derive(Clone, Copy)]
pub struct Rows64<'a> {
    /// `b x d` rows.
    pub x: &'a [f64],
    /// `b` squared row norms.
    pub xn: &'a [f64],
    /// `b` row weights, or `None` for 1.
    pub w: Option<&'a [f64]>,
    /// `d x 64` packed `-2 c`.
    pub panel: &'a [f64],
    /// `k` squared center norms (plus any bias).
    pub cn: &'a [f64],
    /// Effective temperature.
    pub temp: f64,
    /// The tier the kernel runs on.
    pub isa: Isa,
}

/// Buffers of the kernel, reused across calls.
#[derive(Default)]
pub struct Scratch64 {
    xpad: Vec<f64>,
    cand: Vec<f64>,
    cidx: Vec<u8>,
    weight: Vec<f64>,
}

/// `map` rows of `rows` without storing them: adds `sum_i w_i r_ij x_i` into `sums` (`k x
/// d`) and `sum_i w_i r_ij` into `colsum` (`k`), rows in order, when `sums` is given; returns
/// the totals of the rows. Call only when [`available`].
pub fn sparse_sums_f64(
    map: SparseMap,
    rows: &Rows64<'_>,
    sums: Option<(&mut [f64], &mut [f64])>,
    s: &mut Scratch64,
) -> RowTotals {
    let k = rows.cn.len();
    let b = rows.xn.len();
    let d = rows.x.len().checked_div(b).unwrap_or(0);
    assert!(available(rows.isa, k) && rows.x.len() == b * d && rows.panel.len() == d * MAX_K);
    assert!(rows.w.is_none_or(|w| w.len() == b));
    if let Some((sm, c)) = &sums {
        assert!(sm.len() == k * d && c.len() == k);
    }
    s.xpad.resize(MR * d, 0.0);
    s.cand.resize(GROUP * SLOT_F64, 0.0);
    s.cidx.resize(GROUP * SLOT_F64, 0);
    s.weight.resize(MAX_K, 0.0);
    // SAFETY: the tier has AVX-512 (`available`), shapes asserted, buffers sized above.
    unsafe {
        match (map, k.div_ceil(16)) {
            (SparseMap::Entmax15, 1) => imp::run::<false, 1>(rows, d, sums, s),
            (SparseMap::Entmax15, 2) => imp::run::<false, 2>(rows, d, sums, s),
            (SparseMap::Entmax15, 3) => imp::run::<false, 3>(rows, d, sums, s),
            (SparseMap::Entmax15, _) => imp::run::<false, 4>(rows, d, sums, s),
            (SparseMap::Sparsemax, 1) => imp::run::<true, 1>(rows, d, sums, s),
            (SparseMap::Sparsemax, 2) => imp::run::<true, 2>(rows, d, sums, s),
            (SparseMap::Sparsemax, 3) => imp::run::<true, 3>(rows, d, sums, s),
            (SparseMap::Sparsemax, _) => imp::run::<true, 4>(rows, d, sums, s),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::{Rows64, Scratch64, SLOT_F64};
    use crate::kernels::soft::shared::Pending;
    use crate::kernels::soft::shared::COMPRESS;
    use crate::kernels::soft::shared::PREFETCH_ROWS;
    use crate::kernels::soft::shared::{RowTotals, SpreadRow};
    use crate::kernels::soft::shared::{GROUP, MAX_K, MR};
    use core::arch::x86_64::*;

    /// `u` of one block of rows: `MR` rows of 64 values, on a cache line.
    #[repr(C, align(64))]
    struct Block([f64; MR * MAX_K]);

    /// Mask of the first `min(n, 8)` lanes.
    #[inline(always)]
    fn lanes8(n: usize) -> __mmask8 {
        if n >= 8 {
            0xff
        } else {
            ((1u32 << n) - 1) as __mmask8
        }
    }

    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1 and POPCNT); the shapes `sparse_sums_f64` asserts,
    /// `k <= 16 NC`, and the scratch buffers it sizes.
    #[target_feature(enable = "avx512f,avx512dq,popcnt,bmi1")]
    pub(super) unsafe fn run<const SPARSE: bool, const NC: usize>(
        rows_in: &Rows64<'_>,
        d: usize,
        sums: Option<(&mut [f64], &mut [f64])>,
        s: &mut Scratch64,
    ) -> RowTotals {
        unsafe {
            let (x, xn, w, temp) = (rows_in.x, rows_in.xn, rows_in.w, rows_in.temp);
            let b = xn.len();
            let k = rows_in.cn.len();
            let panel = rows_in.panel.as_ptr();
            // Past k, u = +inf: z = -inf, never a candidate.
            let mut cnp = [f64::INFINITY; MAX_K];
            cnp[..k].copy_from_slice(rows_in.cn);
            let scale = if SPARSE { temp } else { temp + temp };
            let ninv = _mm512_set1_pd(-(1.0 / scale));
            let m1 = _mm512_set1_pd(-1.0);
            let sums = sums.map(|(s, c)| (s.as_mut_ptr(), c.as_mut_ptr()));
            let (cand, cidx, weight) = (
                s.cand.as_mut_ptr(),
                s.cidx.as_mut_ptr(),
                s.weight.as_mut_ptr(),
            );
            let mut ubuf = Block([0.0; MR * MAX_K]);
            let mut rows = [Pending::EMPTY; GROUP];
            let mut tot = RowTotals::default();
            let mut g0 = 0;
            while g0 < b {
                let g1 = (g0 + GROUP).min(b);
                let mut spread = [0u8; GROUP];
                let mut nspread = 0;
                // Phase 1: shifted distances and candidates, block by block.
                let mut i = g0;
                while i < g1 {
                    let real = (g1 - i).min(MR);
                    let mut xn6 = [0f64; MR];
                    let mut w6 = [0f64; MR];
                    for r in 0..real {
                        xn6[r] = xn[i + r];
                        w6[r] = w.map_or(1.0, |w| w[i + r]);
                    }
                    let xr = if real == MR {
                        let xr = x.as_ptr().add(i * d);
                        let ahead = (xr as *const i8).wrapping_add(PREFETCH_ROWS * d * 8);
                        for l in 0..(MR * d * 8).div_ceil(64) {
                            _mm_prefetch::<_MM_HINT_T0>(ahead.wrapping_add(64 * l));
                        }
                        xr
                    } else {
                        s.xpad.fill(0.0);
                        s.xpad[..real * d].copy_from_slice(&x[i * d..(i + real) * d]);
                        s.xpad.as_ptr()
                    };
                    for h in 0..NC {
                        let start = [
                            _mm512_loadu_pd(cnp.as_ptr().add(16 * h)),
                            _mm512_loadu_pd(cnp.as_ptr().add(16 * h + 8)),
                        ];
                        cross16(
                            xr,
                            d,
                            panel.add(16 * h),
                            start,
                            ubuf.0.as_mut_ptr().add(16 * h),
                        );
                    }
                    for r in 0..real {
                        let slot = i - g0 + r;
                        let u = ubuf.0.as_ptr().add(r * MAX_K);
                        let mut mn = _mm512_load_pd(u);
                        for v in 1..2 * NC {
                            mn = _mm512_min_pd(mn, _mm512_load_pd(u.add(8 * v)));
                        }
                        let umin = _mm512_reduce_min_pd(mn);
                        let um = _mm512_set1_pd(umin);
                        let (cz, ci) = (cand.add(slot * SLOT_F64), cidx.add(slot * SLOT_F64));
                        let mut m = 0usize;
                        let mut mask = 0u64;
                        for v in 0..2 * NC {
                            let z = _mm512_mul_pd(
                                _mm512_sub_pd(_mm512_load_pd(u.add(8 * v)), um),
                                ninv,
                            );
                            let cm = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(z, m1);
                            _mm512_storeu_pd(cz.add(m), _mm512_maskz_compress_pd(cm, z));
                            let centers =
                                COMPRESS[cm as usize] + (8 * v as u64) * 0x0101_0101_0101_0101;
                            (ci.add(m) as *mut u64).write_unaligned(centers);
                            mask |= (cm as u64) << (8 * v);
                            m += cm.count_ones() as usize;
                        }
                        let dmin = (xn6[r] + umin).max(0.0);
                        rows[slot] = Pending::new(xr.add(r * d), w6[r], dmin, mask);
                        spread[nspread] = slot as u8;
                        nspread += (m != 1) as usize;
                    }
                    i += MR;
                }
                // Phase 2: the thresholds of the spread rows.
                for &slot in &spread[..nspread] {
                    let slot = slot as usize;
                    let p = &mut rows[slot];
                    let (cz, m) = (cand.add(slot * SLOT_F64), p.m as usize);
                    debug_assert!((2..=64).contains(&m));
                    p.tau = if m <= 8 {
                        threshold::<SPARSE, 1>(cz, m)
                    } else if m <= 16 {
                        threshold::<SPARSE, 2>(cz, m)
                    } else {
                        threshold::<SPARSE, 8>(cz, m)
                    };
                }
                // Phase 3, rows in order: the weights into the sums, the totals.
                for (slot, p) in rows[..g1 - g0].iter().enumerate() {
                    if p.onehot != u32::MAX {
                        add_row(sums, p.onehot as usize, d, p.x, p.w);
                        tot.add_onehot(p.w, p.dmin);
                        continue;
                    }
                    let (cz, ci, m) = (
                        cand.add(slot * SLOT_F64),
                        cidx.add(slot * SLOT_F64),
                        p.m as usize,
                    );
                    let (sq, sqv, sz, pos) = support_moments::<SPARSE>(cz, m, p.tau, weight);
                    let norm = 1.0 / sq;
                    let wn = p.w * norm;
                    let mut bits = pos;
                    while bits != 0 {
                        let c = bits.trailing_zeros() as usize;
                        add_row(sums, *ci.add(c) as usize, d, p.x, *weight.add(c) * wn);
                        bits &= bits - 1;
                    }
                    let row = SpreadRow {
                        w: p.w,
                        dmin: p.dmin,
                        scale,
                        norm,
                        sqv,
                        sz,
                        support: pos.count_ones(),
                    };
                    row.add_to::<SPARSE>(&mut tot, temp);
                }
                g0 = g1;
            }
            tot
        }
    }

    /// `out[r][0..16] = start - 2 x_r . c` for 16 centers (panel row stride 64, output row
    /// stride 64): one FMA chain per entry over the columns in order (12 accumulators).
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1 and POPCNT); `xr` is readable for `MR` rows of `d`
    /// values; `panel` for `d` rows of stride 64 (16 used); `out` is writable for `MR` rows of
    /// stride `MAX_K`.
    #[inline(never)]
    #[target_feature(enable = "avx512f")]
    unsafe fn cross16(
        xr: *const f64,
        d: usize,
        panel: *const f64,
        start: [__m512d; 2],
        out: *mut f64,
    ) {
        unsafe {
            let mut acc = [start; MR];
            for t in 0..d {
                let p = panel.add(t * MAX_K);
                let (c0, c1) = (_mm512_loadu_pd(p), _mm512_loadu_pd(p.add(8)));
                for (r, row) in acc.iter_mut().enumerate() {
                    let xb = _mm512_set1_pd(*xr.add(r * d + t));
                    row[0] = _mm512_fmadd_pd(xb, c0, row[0]);
                    row[1] = _mm512_fmadd_pd(xb, c1, row[1]);
                }
            }
            for (r, row) in acc.iter().enumerate() {
                _mm512_storeu_pd(out.add(r * MAX_K), row[0]);
                _mm512_storeu_pd(out.add(r * MAX_K + 8), row[1]);
            }
        }
    }

    /// The threshold of `2 <= m <= 8 NV` candidates at `c` (readable up to `8 NV` values): the
    /// lane rule of `threshold16` (`soft_rows_f32`) in f64: for each candidate the moments of
    /// the candidates `>= z_j`, the threshold they give, and the largest consistent one.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1 and POPCNT); `c` is readable for `8 NV` values (`2
    /// <= m <= 8 NV` of them candidates).
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn threshold<const SPARSE: bool, const NV: usize>(c: *const f64, m: usize) -> f64 {
        unsafe {
            let valid: [__mmask8; NV] = core::array::from_fn(|v| lanes8(m.saturating_sub(8 * v)));
            let z: [__m512d; NV] =
                core::array::from_fn(|v| _mm512_maskz_loadu_pd(valid[v], c.add(8 * v)));
            let one = _mm512_set1_pd(1.0);
            let zero = _mm512_setzero_pd();
            let (mut s1, mut s2, mut cnt) = ([zero; NV], [zero; NV], [zero; NV]);
            for i in 0..m {
                let zi = _mm512_set1_pd(*c.add(i));
                let zz = _mm512_mul_pd(zi, zi);
                for v in 0..NV {
                    let ge = _mm512_mask_cmp_pd_mask::<_CMP_LE_OQ>(valid[v], z[v], zi);
                    s1[v] = _mm512_mask_add_pd(s1[v], ge, s1[v], zi);
                    if !SPARSE {
                        s2[v] = _mm512_mask_add_pd(s2[v], ge, s2[v], zz);
                    }
                    cnt[v] = _mm512_mask_add_pd(cnt[v], ge, cnt[v], one);
                }
            }
            let mut best = _mm512_set1_pd(f64::NEG_INFINITY);
            for v in 0..NV {
                // Lanes past m have cnt 0: their 1 / cnt is never used (not valid).
                let ic = _mm512_maskz_div_pd(valid[v], one, cnt[v]);
                let (t, ok) = if SPARSE {
                    let t = _mm512_mul_pd(_mm512_sub_pd(s1[v], one), ic);
                    (t, _mm512_mask_cmp_pd_mask::<_CMP_LT_OQ>(valid[v], t, z[v]))
                } else {
                    let mean = _mm512_mul_pd(s1[v], ic);
                    let var = _mm512_fmsub_pd(s2[v], ic, _mm512_mul_pd(mean, mean));
                    let delta = _mm512_mul_pd(_mm512_fnmadd_pd(cnt[v], var, one), ic);
                    let t = _mm512_sub_pd(mean, _mm512_sqrt_pd(_mm512_max_pd(delta, zero)));
                    (t, _mm512_mask_cmp_pd_mask::<_CMP_LE_OQ>(valid[v], t, z[v]))
                };
                best = _mm512_mask_max_pd(best, ok, best, t);
            }
            _mm512_reduce_max_pd(best)
        }
    }

    /// Over the `m` candidates at `c` with threshold `tau`: `(sum q, sum q v, -sum q z,
    /// kept)` with `v = z - tau > 0`, `q = v^2` (entmax-1.5) or `v` (sparsemax), `kept` the
    /// candidates with `v > 0` as bits; `q` of every candidate goes to `qout`.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1 and POPCNT); `c` is readable for `m` values
    /// rounded up to 8; `qout` is writable for as many.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn support_moments<const SPARSE: bool>(
        c: *const f64,
        m: usize,
        tau: f64,
        qout: *mut f64,
    ) -> (f64, f64, f64, u64) {
        unsafe {
            let zero = _mm512_setzero_pd();
            let tv = _mm512_set1_pd(tau);
            let (mut sq, mut sqv, mut sz) = (zero, zero, zero);
            let mut kept = 0u64;
            for v in 0..m.div_ceil(8) {
                let lm = lanes8(m - 8 * v);
                let z = _mm512_maskz_loadu_pd(lm, c.add(8 * v));
                let dv = _mm512_maskz_sub_pd(lm, z, tv);
                let pos = _mm512_mask_cmp_pd_mask::<_CMP_GT_OQ>(lm, dv, zero);
                let dv = _mm512_maskz_mov_pd(pos, dv);
                let q = if SPARSE { dv } else { _mm512_mul_pd(dv, dv) };
                sq = _mm512_add_pd(sq, q);
                sqv = _mm512_fmadd_pd(q, dv, sqv);
                sz = _mm512_fmadd_pd(q, z, sz);
                kept |= (pos as u64) << (8 * v);
                _mm512_storeu_pd(qout.add(8 * v), q);
            }
            (
                _mm512_reduce_add_pd(sq),
                _mm512_reduce_add_pd(sqv),
                -_mm512_reduce_add_pd(sz),
                kept,
            )
        }
    }

    /// `sums_j += c x` and `colsum_j += c` for the row at `xr` (`d` values): a product, then a
    /// sum, per value.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1 and POPCNT); `xr` is readable for `d` values;
    /// `sums`, when given, points to `k x d` sums and `k` column sums with `j < k`.
    #[inline]
    #[target_feature(enable = "avx512f")]
    unsafe fn add_row(
        sums: Option<(*mut f64, *mut f64)>,
        j: usize,
        d: usize,
        xr: *const f64,
        c: f64,
    ) {
        unsafe {
            let Some((sums, col)) = sums else {
                return;
            };
            let dst = sums.add(j * d);
            let cv = _mm512_set1_pd(c);
            let mut t = 0;
            while t < d {
                let lm = lanes8(d - t);
                let v = _mm512_mul_pd(cv, _mm512_maskz_loadu_pd(lm, xr.add(t)));
                let o = _mm512_maskz_loadu_pd(lm, dst.add(t));
                _mm512_mask_storeu_pd(dst.add(t), lm, _mm512_add_pd(o, v));
                t += 8;
            }
            *col.add(j) += c;
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::{Rows64, Scratch64};
    use crate::kernels::soft::shared::RowTotals;
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    pub(super) unsafe fn run<const SPARSE: bool, const NC: usize>(
        _: &Rows64<'_>,
        _: usize,
        _: Option<(&mut [f64], &mut [f64])>,
        _: &mut Scratch64,
    ) -> RowTotals {
        unreachable!("AVX-512 only")
    }
}
