//! Softmax and entmax-1.5 rows of an f32 distance tile with explicit AVX-512: the hot epilogue
//! of the soft pass (soft-lloyd steps, objectives, responsibilities).
//!
//! Softmax, per row, three passes over the `k` values held in L1: distances `D = max(xn + cn - 2 x.c, 0)`
//! and their minimum; `e = exp(-(D - Dmin) / temp)` with `sum e`, `sum e (D - Dmin)` and the
//! support; the scaling into responsibilities (and the column sums of the weighted ones). The
//! exponential is `2^t` by a polynomial and `vscalefps` (`exp2_kept`); values below `2^-125`
//! are 0 (no subnormals, whose arithmetic takes microcode assists); sums are per lane, then
//! reduced. The rows of a tile go
//! phase by phase so that independent rows overlap.
//!
//! Entmax-1.5: the candidates `z = -(D - Dmin) / (2 temp) > -1` are compressed out of the row
//! (everything else is exactly 0); one candidate means a one-hot row (no further work), more
//! are sorted and given the exact threshold of Peters et al. (2019, Algorithm 2), as in
//! [`crate::kernels::maps`]. Sparsemax goes the same way with `z = -(D - Dmin) / temp` and its own
//! threshold.

use crate::kernels::isa::Isa;
use crate::kernels::soft::shared::RowTotals;

/// True when [`soft_rows`] runs on `isa` (AVX-512).
pub fn available(isa: Isa) -> bool {
    isa.avx512()
}

/// The row maps with a kernel here.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SoftMap {
    /// `r = softmax(-D / temp)`.
    Softmax,
    /// `r = entmax15(-D / temp)` (exact threshold).
    Entmax15,
    /// `r = sparsemax(-D / temp)` (exact threshold).
    Sparsemax,
}

/// `map` rows of the `b x k` tile `cross` (`-2 <x_i, c_j>` in, `D_ij` out), with squared
/// norms `xn` (`b`) and `cn` (`k`), row weights `w` (`None`: 1) and temperature `temp`:
/// writes `w_i r_ij` into `weighted` and/or `r_ij` into `resp` (each `b x k`, optional),
/// adds the column sums of `weighted` into `colsum` (`k`, row by row in f32; needs
/// `weighted`) and returns the totals. Call only when [`available`].
#[allow(clippy::too_many_arguments)]
pub fn soft_rows(
    isa: Isa,
    map: SoftMap,
    cross: &mut [f32],
    xn: &[f32],
    cn: &[f32],
    w: Option<&[f32]>,
    temp: f32,
    weighted: Option<&mut [f32]>,
    resp: Option<&mut [f32]>,
    colsum: Option<&mut [f32]>,
) -> RowTotals {
    assert!(
        available(isa),
        "the soft rows kernel needs the AVX-512 tier"
    );
    let (b, k) = (xn.len(), cn.len());
    assert!(cross.len() == b * k && w.is_none_or(|w| w.len() == b));
    assert!(weighted.as_ref().is_none_or(|v| v.len() == b * k));
    assert!(resp.as_ref().is_none_or(|v| v.len() == b * k));
    assert!(colsum
        .as_ref()
        .is_none_or(|c| c.len() == k && weighted.is_some()));
    // SAFETY: the tier has AVX-512, shapes asserted.
    unsafe {
        match map {
            SoftMap::Softmax => imp::softmax_rows(cross, xn, cn, w, temp, weighted, resp, colsum),
            SoftMap::Entmax15 => {
                imp::threshold_rows::<false>(cross, xn, cn, w, temp, weighted, resp, colsum)
            }
            SoftMap::Sparsemax => {
                imp::threshold_rows::<true>(cross, xn, cn, w, temp, weighted, resp, colsum)
            }
        }
    }
}

/// `sums[j] += sum_i a_ij x_i` (`sums`: `k x d`) over the nonzeros of the `b x k` weights `a`,
/// rows `x` (`b x d`), in row order then index order (the portable loop's order). Call only
/// when [`available`].
pub fn sparse_weighted_sums(isa: Isa, sums: &mut [f32], d: usize, k: usize, x: &[f32], a: &[f32]) {
    assert!(available(isa) && sums.len() == k * d && a.len() * d == x.len() * k);
    // SAFETY: the tier has AVX-512, shapes asserted.
    unsafe { imp::sparse_sums(sums, d, k, x, a) }
}

/// `sums[j] += sum_i a_ij x_i` (`sums`: `k x d`) for the `b x k` weights `a` and rows `x`
/// (`b x d`): for each entry one f32 FMA chain over the rows in order, starting from the
/// current sum (`s = fma(a_ij, x_it, s)`). Register blocks of 8 centers x 32 columns over
/// L1-sized blocks of 64 rows. Call only when [`available`].
pub fn dense_weighted_sums(isa: Isa, sums: &mut [f32], d: usize, k: usize, x: &[f32], a: &[f32]) {
    assert!(available(isa) && sums.len() == k * d && a.len() * d == x.len() * k);
    // SAFETY: the tier has AVX-512, shapes asserted.
    unsafe { imp::dense_sums(sums, d, k, x, a) }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod imp {
    use crate::kernels::soft::avx512::{
        add_scaled_row, exp2_kept, ln_pd, neg, support16, threshold16, threshold64,
    };
    use crate::kernels::soft::shared::{threshold, threshold_sparsemax};
    use crate::kernels::soft::shared::{RowTotals, SpreadRow};
    use core::arch::x86_64::*;

    use crate::kernels::dispatch::lanes16 as lanes;

    /// Column-sum vectors the softmax kernel keeps in registers over a 16-row block (`k <=
    /// 128`; larger `k` adds into memory row by row).
    const COLSUM_REGS: usize = 8;

    /// Distances `D = max(xn + cn + cross, 0)` of row `i` in place, and their minimum.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `cross` holds row `i` of `cn.len()` values; `xn` holds `i +
    /// 1` values or more.
    #[inline(always)]
    unsafe fn distances(cross: &mut [f32], xn: &[f32], cn: &[f32], i: usize) -> f32 {
        unsafe {
            let k = cn.len();
            let row = cross.as_mut_ptr().add(i * k);
            let xi = _mm512_set1_ps(xn[i]);
            let zero = _mm512_setzero_ps();
            let inf = _mm512_set1_ps(f32::INFINITY);
            let mut vmin = inf;
            let mut j = 0;
            while j < k {
                let m = lanes(k - j);
                let c = _mm512_maskz_loadu_ps(m, cn.as_ptr().add(j));
                let v = _mm512_max_ps(
                    _mm512_add_ps(_mm512_add_ps(xi, c), _mm512_maskz_loadu_ps(m, row.add(j))),
                    zero,
                );
                _mm512_mask_storeu_ps(row.add(j), m, v);
                vmin = _mm512_min_ps(vmin, _mm512_mask_mov_ps(inf, m, v));
                j += 16;
            }
            _mm512_reduce_min_ps(vmin)
        }
    }

    /// # Safety
    /// The CPU runs the AVX-512 tier; `sums` holds `k * d` values, `a` `b * k` and `x` `b * d` for
    /// the same `b`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
    pub unsafe fn dense_sums(sums: &mut [f32], d: usize, k: usize, x: &[f32], a: &[f32]) {
        unsafe {
            const J: usize = 8;
            const ROWS: usize = 64;
            let b = a.len().checked_div(k).unwrap_or(0);
            let mut i0 = 0;
            while i0 < b {
                let i1 = (i0 + ROWS).min(b);
                let mut c0 = 0;
                while c0 < d {
                    let m0 = lanes(d - c0);
                    let m1 = lanes(d.saturating_sub(c0 + 16));
                    let mut j0 = 0;
                    while j0 < k {
                        let nj = J.min(k - j0);
                        // Centers past the end read the last column and are not stored.
                        let col: [usize; J] = core::array::from_fn(|jj| (j0 + jj).min(k - 1));
                        let dst = |jj: usize| sums.as_ptr().add((j0 + jj) * d + c0) as *mut f32;
                        let mut s0 = [_mm512_setzero_ps(); J];
                        let mut s1 = [_mm512_setzero_ps(); J];
                        for jj in 0..nj {
                            s0[jj] = _mm512_maskz_loadu_ps(m0, dst(jj));
                            s1[jj] = _mm512_maskz_loadu_ps(m1, dst(jj).add(16));
                        }
                        for i in i0..i1 {
                            let xr = x.as_ptr().add(i * d + c0);
                            let x0 = _mm512_maskz_loadu_ps(m0, xr);
                            let x1 = _mm512_maskz_loadu_ps(m1, xr.add(16));
                            let ar = a.as_ptr().add(i * k);
                            for jj in 0..J {
                                let av = _mm512_set1_ps(*ar.add(col[jj]));
                                s0[jj] = _mm512_fmadd_ps(av, x0, s0[jj]);
                                s1[jj] = _mm512_fmadd_ps(av, x1, s1[jj]);
                            }
                        }
                        for jj in 0..nj {
                            _mm512_mask_storeu_ps(dst(jj), m0, s0[jj]);
                            _mm512_mask_storeu_ps(dst(jj).add(16), m1, s1[jj]);
                        }
                        j0 += J;
                    }
                    c0 += 32;
                }
                i0 = i1;
            }
        }
    }

    /// # Safety
    /// The CPU runs the AVX-512 tier; `sums` holds `k * d` values, `a` `b * k` and `x` `b * d` for
    /// the same `b`.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma,popcnt,bmi1")]
    pub unsafe fn sparse_sums(sums: &mut [f32], d: usize, k: usize, x: &[f32], a: &[f32]) {
        unsafe {
            let b = a.len().checked_div(k).unwrap_or(0);
            let zero = _mm512_setzero_ps();
            for i in 0..b {
                let ar = a.as_ptr().add(i * k);
                let xr = x.as_ptr().add(i * d);
                // The nonzeros of up to 64 columns as one bit mask, then one loop over them: a
                // loop per 16 columns mispredicted about once a block on rows with 1-2 nonzeros
                // (35 ns a row on the benchmark, most of it branches).
                let mut base = 0;
                while base < k {
                    let mut mask = 0u64;
                    for q in 0..4 {
                        let c0 = base + 16 * q;
                        if c0 >= k {
                            break;
                        }
                        let lm = lanes(k - c0);
                        let nz = _mm512_mask_cmp_ps_mask::<_CMP_NEQ_UQ>(
                            lm,
                            _mm512_maskz_loadu_ps(lm, ar.add(c0)),
                            zero,
                        );
                        mask |= (nz as u64) << (16 * q);
                    }
                    while mask != 0 {
                        let j = base + mask.trailing_zeros() as usize;
                        mask &= mask - 1;
                        debug_assert!(j < k && (j + 1) * d <= sums.len());
                        add_scaled_row(sums.as_mut_ptr().add(j * d), xr, d, *ar.add(j));
                    }
                    base += 64;
                }
            }
        }
    }

    /// # Safety
    /// The CPU runs the AVX-512 tier; the shapes `soft_rows` asserts: `cross` is `b x k` with `b =
    /// xn.len()`, `k = cn.len()`; `w`, `weighted`, `resp` and `colsum`, when given, hold `b`, `b *
    /// k`, `b * k` and `k` values.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn threshold_rows<const SPARSE: bool>(
        cross: &mut [f32],
        xn: &[f32],
        cn: &[f32],
        w: Option<&[f32]>,
        temp: f32,
        mut weighted: Option<&mut [f32]>,
        mut resp: Option<&mut [f32]>,
        mut colsum: Option<&mut [f32]>,
    ) -> RowTotals {
        unsafe {
            let (b, k) = (xn.len(), cn.len());
            // Entmax-1.5 thresholds z = -(D - Dmin) / (2 temp), sparsemax z = -(D - Dmin) / temp.
            let scale = if SPARSE { temp } else { temp + temp };
            let inv = _mm512_set1_ps(1.0 / scale);
            let zero = _mm512_setzero_ps();
            let m1 = _mm512_set1_ps(-1.0);
            let mut tot = RowTotals::default();
            // Phase by phase over blocks of rows, as for softmax: distances and minima; candidates
            // (one-hot rows finish here); thresholds of the others; their responsibilities.
            const BLK: usize = 64;
            let mut dmins = [0f32; BLK];
            let mut taus = [0f32; BLK];
            let mut spread = [0u8; BLK];
            let mut firsts = [0usize; BLK];
            let mut cand_rows = vec![0f32; BLK * k + 16];
            let mut cand_len = [0usize; BLK];
            let mut i0 = 0;
            while i0 < b {
                let nb = BLK.min(b - i0);
                for ii in 0..nb {
                    dmins[ii] = distances(cross, xn, cn, i0 + ii);
                }
                for ii in 0..nb {
                    let i = i0 + ii;
                    let dmin = dmins[ii];
                    let row = cross.as_ptr().add(i * k);
                    let dminv = _mm512_set1_ps(dmin);
                    let wi = w.map_or(1.0, |w| w[i]);
                    // Candidates z = -(D - Dmin) / (2 temp) > -1, compressed in index order
                    // straight into the row's slot of `cand_rows` (16 values of slack past each
                    // slot; a later row overwrites its predecessor's slack), without a branch per
                    // block: whether a block holds candidates is data, not a pattern.
                    let cr = cand_rows.as_mut_ptr().add(ii * k);
                    let mut m = 0usize;
                    let mut first = usize::MAX;
                    let mut j = 0;
                    while j < k {
                        let lm = lanes(k - j);
                        let z = neg(_mm512_mul_ps(
                            _mm512_sub_ps(_mm512_maskz_loadu_ps(lm, row.add(j)), dminv),
                            inv,
                        ));
                        let cm = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(lm, z, m1);
                        let at = j + cm.trailing_zeros() as usize;
                        first = if cm != 0 { first.min(at) } else { first };
                        // Compress in a register and store all 16 lanes: the compressing store
                        // to memory is microcoded.
                        _mm512_storeu_ps(cr.add(m), _mm512_maskz_compress_ps(cm, z));
                        m += cm.count_ones() as usize;
                        j += 16;
                    }
                    if m != 1 {
                        spread[ii] = 1;
                        let c = core::slice::from_raw_parts_mut(cr, m);
                        taus[ii] = if m <= 16 {
                            threshold16::<SPARSE>(cr, m)
                        } else if m <= 64 {
                            threshold64::<SPARSE>(cr, m)
                        } else if SPARSE {
                            threshold_sparsemax(c)
                        } else {
                            threshold(c)
                        };
                        cand_len[ii] = m;
                        continue;
                    }
                    spread[ii] = 0;
                    // One-hot: tau = -1, r = 1 at the minimum, loss = free = Dmin.
                    // (Zeros by vector stores: `fill` on a slice of run-time length is a library
                    // call per row.)
                    if let Some(rs) = resp.as_deref_mut() {
                        debug_assert!((i + 1) * k <= rs.len());
                        zero_row(rs.as_mut_ptr().add(i * k), k);
                        rs[i * k + first] = 1.0;
                    }
                    if let Some(ws) = weighted.as_deref_mut() {
                        debug_assert!((i + 1) * k <= ws.len());
                        zero_row(ws.as_mut_ptr().add(i * k), k);
                        ws[i * k + first] = wi;
                    }
                    firsts[ii] = first;
                    tot.add_onehot(wi, dmin);
                }
                for ii in 0..nb {
                    if spread[ii] == 0 {
                        // The column sums gain a one-hot row's one nonzero here, in row order
                        // (adding its zeros changes nothing: the sums start at +0 and only grow).
                        if let (Some(cs), true) = (colsum.as_deref_mut(), weighted.is_some()) {
                            cs[firsts[ii]] += w.map_or(1.0, |w| w[i0 + ii]);
                        }
                        continue;
                    }
                    let i = i0 + ii;
                    let dmin = dmins[ii];
                    let row = cross.as_ptr().add(i * k);
                    let dminv = _mm512_set1_ps(dmin);
                    let wi = w.map_or(1.0, |w| w[i]);
                    // The support lies among the candidates. With v = z - tau > 0 and q = v^2
                    // (entmax-1.5) or v (sparsemax): sum q normalizes, sum q v gives sum r^1.5
                    // (resp. sum r^2) and sum q (-z) gives sum r (D - Dmin) (`D - Dmin = -scale z`);
                    // one vector pass then writes r = q / sum q.
                    let tau = taus[ii];
                    let c = &cand_rows[ii * k..ii * k + cand_len[ii]];
                    let (sq, sqv, sz, support) = if c.len() <= 16 {
                        support16::<SPARSE>(c.as_ptr(), c.len(), tau)
                    } else {
                        let (mut sq, mut sqv, mut sz) = (0f32, 0f32, 0f32);
                        let mut support = 0u32;
                        for &z in c {
                            let v = z - tau;
                            if v > 0.0 {
                                let q = if SPARSE { v } else { v * v };
                                sq += q;
                                sqv += q * v;
                                sz -= q * z;
                                support += 1;
                            }
                        }
                        (sq, sqv, sz, support)
                    };
                    let norm = 1.0 / sq;
                    let tauv = _mm512_set1_ps(tau);
                    let nv = _mm512_set1_ps(norm);
                    let wv = _mm512_set1_ps(wi * norm);
                    let mut j = 0;
                    while j < k {
                        let lm = lanes(k - j);
                        let g = _mm512_sub_ps(_mm512_maskz_loadu_ps(lm, row.add(j)), dminv);
                        let v =
                            _mm512_max_ps(_mm512_sub_ps(neg(_mm512_mul_ps(g, inv)), tauv), zero);
                        let q = if SPARSE { v } else { _mm512_mul_ps(v, v) };
                        if let Some(rs) = resp.as_deref_mut() {
                            _mm512_mask_storeu_ps(
                                rs.as_mut_ptr().add(i * k + j),
                                lm,
                                _mm512_mul_ps(q, nv),
                            );
                        }
                        if let Some(ws) = weighted.as_deref_mut() {
                            let v = _mm512_mul_ps(q, wv);
                            _mm512_mask_storeu_ps(ws.as_mut_ptr().add(i * k + j), lm, v);
                            if let Some(cs) = colsum.as_deref_mut() {
                                let c = cs.as_mut_ptr().add(j);
                                _mm512_mask_storeu_ps(
                                    c,
                                    lm,
                                    _mm512_add_ps(_mm512_maskz_loadu_ps(lm, c), v),
                                );
                            }
                        }
                        j += 16;
                    }
                    let m = SpreadRow {
                        w: wi,
                        dmin,
                        scale,
                        norm,
                        sqv,
                        sz,
                        support,
                    };
                    m.add_to::<SPARSE>(&mut tot, temp);
                }
                i0 += nb;
            }
            tot
        }
    }

    /// Zeros the `k` values at `p` with vector stores.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `p` is writable for `k` values.
    #[inline(always)]
    unsafe fn zero_row(p: *mut f32, k: usize) {
        unsafe {
            let mut j = 0;
            while j < k {
                _mm512_mask_storeu_ps(p.add(j), lanes(k - j), _mm512_setzero_ps());
                j += 16;
            }
        }
    }

    /// Lane `r` of the result: `op` over the 16 lanes of `v[r]`, for 16 rows at once (a
    /// fixed tree of shuffles: 46 instructions instead of 16 reductions of 8 with their
    /// latency chains). `op` must be associative and commutative up to rounding; the order is
    /// fixed, so results are deterministic.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (the function only computes on registers).
    #[inline(always)]
    unsafe fn reduce16(v: &[__m512; 16], op: impl Fn(__m512, __m512) -> __m512) -> __m512 {
        unsafe {
            // Halves of two rows side by side, then quarters of four, then pairs within a quarter.
            let b: [__m512; 8] = core::array::from_fn(|r| {
                let (x, y) = (v[2 * r], v[2 * r + 1]);
                op(
                    _mm512_shuffle_f32x4::<0x44>(x, y),
                    _mm512_shuffle_f32x4::<0xEE>(x, y),
                )
            });
            let c: [__m512; 4] = core::array::from_fn(|r| {
                let (x, y) = (b[2 * r], b[2 * r + 1]);
                op(
                    _mm512_shuffle_f32x4::<0x88>(x, y),
                    _mm512_shuffle_f32x4::<0xDD>(x, y),
                )
            });
            let d: [__m512; 2] = core::array::from_fn(|r| {
                let (x, y) = (c[2 * r], c[2 * r + 1]);
                op(
                    _mm512_shuffle_ps::<0x44>(x, y),
                    _mm512_shuffle_ps::<0xEE>(x, y),
                )
            });
            let e = op(
                _mm512_shuffle_ps::<0x88>(d[0], d[1]),
                _mm512_shuffle_ps::<0xDD>(d[0], d[1]),
            );
            // Lane 4 q + t now holds row 4 t + q.
            let idx = _mm512_set_epi32(15, 11, 7, 3, 14, 10, 6, 2, 13, 9, 5, 1, 12, 8, 4, 0);
            _mm512_permutexvar_ps(idx, e)
        }
    }

    /// f64 lanes `8 h .. 8 h + 8` of a 16-lane f32 vector.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (the function only computes on registers).
    #[inline(always)]
    unsafe fn widen_half(v: __m512, h: usize) -> __m512d {
        unsafe {
            let q = if h == 0 {
                _mm512_castps512_ps256(v)
            } else {
                _mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(_mm512_castps_pd(v)))
            };
            _mm512_cvtps_pd(q)
        }
    }

    /// # Safety
    /// The CPU runs the AVX-512 tier; the shapes `soft_rows` asserts: `cross` is `b x k` with `b =
    /// xn.len()`, `k = cn.len()`; `w`, `weighted`, `resp` and `colsum`, when given, hold `b`, `b *
    /// k`, `b * k` and `k` values.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma,popcnt")]
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn softmax_rows(
        cross: &mut [f32],
        xn: &[f32],
        cn: &[f32],
        w: Option<&[f32]>,
        temp: f32,
        mut weighted: Option<&mut [f32]>,
        mut resp: Option<&mut [f32]>,
        mut colsum: Option<&mut [f32]>,
    ) -> RowTotals {
        unsafe {
            let (b, k) = (xn.len(), cn.len());
            // exp(-g / temp) = 2^(g * a), a = -log2(e) / temp.
            let a = _mm512_set1_ps(-std::f32::consts::LOG2_E / temp);
            let lo = _mm512_set1_ps(-125.0);
            let zero = _mm512_setzero_ps();
            let inf = _mm512_set1_ps(f32::INFINITY);
            // Lane masks of the row's 16-wide blocks, computed once.
            let masks: Vec<__mmask16> = (0..k).step_by(16).map(|j| lanes(k - j)).collect();
            // Totals per f64 lane (8 rows apart), reduced at the end.
            let (mut tj, mut tl, mut tf, mut tw) = (
                _mm512_setzero_pd(),
                _mm512_setzero_pd(),
                _mm512_setzero_pd(),
                _mm512_setzero_pd(),
            );
            let mut tot = RowTotals::default();
            // Phase by phase over 16 rows (not row by row): each phase's rows are independent, so
            // the out-of-order core overlaps them, and the row reductions go 16 at a time.
            let mut acc = [[zero; 16]; 2];
            let mut supports = [0u32; 16];
            let mut i0 = 0;
            while i0 < b {
                let nb = 16.min(b - i0);
                // Distances D = max(xn + cn + cross, 0) in place, per-lane minima.
                for ii in 0..16 {
                    acc[0][ii] = inf;
                    if ii >= nb {
                        continue;
                    }
                    let i = i0 + ii;
                    let row = cross.as_mut_ptr().add(i * k);
                    let xi = _mm512_set1_ps(xn[i]);
                    for (q, &m) in masks.iter().enumerate() {
                        let j = 16 * q;
                        let c = _mm512_maskz_loadu_ps(m, cn.as_ptr().add(j));
                        let v = _mm512_max_ps(
                            _mm512_add_ps(
                                _mm512_add_ps(xi, c),
                                _mm512_maskz_loadu_ps(m, row.add(j)),
                            ),
                            zero,
                        );
                        _mm512_mask_storeu_ps(row.add(j), m, v);
                        acc[0][ii] = _mm512_mask_min_ps(acc[0][ii], m, acc[0][ii], v);
                    }
                }
                let dmin_v = reduce16(&acc[0], |x, y| _mm512_min_ps(x, y));
                let mut dmins = [0f32; 16];
                _mm512_storeu_ps(dmins.as_mut_ptr(), dmin_v);
                // Exponentials into the first available output row, with their sums.
                for ii in 0..16 {
                    let (mut se, mut sd) = (zero, zero);
                    let mut support = 0u32;
                    if ii < nb {
                        let i = i0 + ii;
                        let row = cross.as_mut_ptr().add(i * k);
                        let dminv = _mm512_set1_ps(dmins[ii]);
                        let out: *mut f32 = match (weighted.as_deref_mut(), resp.as_deref_mut()) {
                            (Some(o), _) | (None, Some(o)) => o.as_mut_ptr().add(i * k),
                            (None, None) => row,
                        };
                        for (q, &m) in masks.iter().enumerate() {
                            let j = 16 * q;
                            let g = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, row.add(j)), dminv);
                            let t = _mm512_mul_ps(g, a);
                            let keep = _mm512_mask_cmp_ps_mask::<_CMP_GE_OQ>(m, t, lo);
                            let e = exp2_kept(t, keep);
                            if !core::ptr::eq(out, row) {
                                _mm512_mask_storeu_ps(out.add(j), m, e);
                            }
                            se = _mm512_add_ps(se, e);
                            sd = _mm512_fmadd_ps(e, g, sd);
                            support += (keep as u32).count_ones();
                        }
                    }
                    acc[0][ii] = se;
                    acc[1][ii] = sd;
                    supports[ii] = support;
                }
                let sum_v = reduce16(&acc[0], |x, y| _mm512_add_ps(x, y));
                let sdist_v = reduce16(&acc[1], |x, y| _mm512_add_ps(x, y));
                let rows_m = lanes(nb);
                // Rows past the end: sum 1 (no division by zero), weight 0.
                let sum_v = _mm512_mask_mov_ps(_mm512_set1_ps(1.0), rows_m, sum_v);
                let norm_v = _mm512_div_ps(_mm512_set1_ps(1.0), sum_v);
                let w_v = match w {
                    Some(w) => _mm512_maskz_loadu_ps(rows_m, w.as_ptr().add(i0)),
                    None => _mm512_maskz_mov_ps(rows_m, _mm512_set1_ps(1.0)),
                };
                let mut norms = [0f32; 16];
                let mut ws = [0f32; 16];
                _mm512_storeu_ps(norms.as_mut_ptr(), norm_v);
                _mm512_storeu_ps(ws.as_mut_ptr(), w_v);
                // Scale: r = e / sum, weighted = w r (and its column sums, row by row, kept in
                // registers over the 16 rows when k <= 16 * COLSUM_REGS: a masked store cannot
                // forward to the next row's load of the same sums).
                let nq = masks.len();
                let in_regs = nq <= COLSUM_REGS;
                let mut creg = [zero; COLSUM_REGS];
                if in_regs {
                    if let Some(cs) = colsum.as_deref() {
                        for (q, &m) in masks.iter().enumerate() {
                            creg[q] = _mm512_maskz_loadu_ps(m, cs.as_ptr().add(16 * q));
                        }
                    }
                }
                for ii in 0..nb {
                    let i = i0 + ii;
                    let out: *mut f32 = match (weighted.as_deref_mut(), resp.as_deref_mut()) {
                        (Some(o), _) | (None, Some(o)) => o.as_mut_ptr().add(i * k),
                        (None, None) => core::ptr::null_mut(),
                    };
                    let nv = _mm512_set1_ps(norms[ii]);
                    if let Some(rs) = resp.as_deref_mut() {
                        let dst = rs.as_mut_ptr().add(i * k);
                        for (q, &m) in masks.iter().enumerate() {
                            let e = _mm512_maskz_loadu_ps(m, out.add(16 * q));
                            _mm512_mask_storeu_ps(dst.add(16 * q), m, _mm512_mul_ps(e, nv));
                        }
                    }
                    if let Some(wsl) = weighted.as_deref_mut() {
                        // weighted = e (w / sum): one product per value.
                        let dst = wsl.as_mut_ptr().add(i * k);
                        let wn = _mm512_set1_ps(ws[ii] * norms[ii]);
                        let cs = colsum.as_deref_mut().map(|c| c.as_mut_ptr());
                        for (q, &m) in masks.iter().enumerate() {
                            let j = 16 * q;
                            let v = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dst.add(j)), wn);
                            _mm512_mask_storeu_ps(dst.add(j), m, v);
                            if let Some(cs) = cs {
                                if in_regs {
                                    creg[q] = _mm512_add_ps(creg[q], v);
                                } else {
                                    let c = _mm512_maskz_loadu_ps(m, cs.add(j));
                                    _mm512_mask_storeu_ps(cs.add(j), m, _mm512_add_ps(c, v));
                                }
                            }
                        }
                    }
                }
                if in_regs {
                    if let Some(cs) = colsum.as_deref_mut() {
                        for (q, &m) in masks.iter().enumerate() {
                            _mm512_mask_storeu_ps(cs.as_mut_ptr().add(16 * q), m, creg[q]);
                        }
                    }
                }
                // Totals of the 16 rows in f64 lanes: J += w Dmin, L += w (Dmin + sdist / sum),
                // F += w (Dmin - temp ln sum), W += w.
                let lterm = _mm512_mul_ps(sdist_v, norm_v);
                let tempd = _mm512_set1_pd(temp as f64);
                for h in 0..2 {
                    let wd = widen_half(w_v, h);
                    let dm = widen_half(dmin_v, h);
                    let dm = _mm512_maskz_mov_pd((rows_m >> (8 * h)) as u8, dm);
                    tj = _mm512_fmadd_pd(wd, dm, tj);
                    tl = _mm512_fmadd_pd(wd, _mm512_add_pd(dm, widen_half(lterm, h)), tl);
                    let lns = ln_pd(widen_half(sum_v, h));
                    tf = _mm512_fmadd_pd(wd, _mm512_fnmadd_pd(tempd, lns, dm), tf);
                    tw = _mm512_add_pd(tw, wd);
                }
                for &sp in &supports[..nb] {
                    tot.support += sp as f64;
                    tot.onehot += (sp == 1) as usize;
                }
                i0 += nb;
            }
            tot.j = _mm512_reduce_add_pd(tj);
            tot.l = _mm512_reduce_add_pd(tl);
            tot.f = _mm512_reduce_add_pd(tf);
            tot.w = _mm512_reduce_add_pd(tw);
            tot
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use crate::kernels::soft::shared::RowTotals;
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    pub unsafe fn sparse_sums(_: &mut [f32], _: usize, _: usize, _: &[f32], _: &[f32]) {
        unreachable!("AVX-512 only")
    }
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    pub unsafe fn dense_sums(_: &mut [f32], _: usize, _: usize, _: &[f32], _: &[f32]) {
        unreachable!("AVX-512 only")
    }
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn softmax_rows(
        _: &mut [f32],
        _: &[f32],
        _: &[f32],
        _: Option<&[f32]>,
        _: f32,
        _: Option<&mut [f32]>,
        _: Option<&mut [f32]>,
        _: Option<&mut [f32]>,
    ) -> RowTotals {
        unreachable!("AVX-512 only")
    }
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn threshold_rows<const SPARSE: bool>(
        _: &mut [f32],
        _: &[f32],
        _: &[f32],
        _: Option<&[f32]>,
        _: f32,
        _: Option<&mut [f32]>,
        _: Option<&mut [f32]>,
        _: Option<&mut [f32]>,
    ) -> RowTotals {
        unreachable!("AVX-512 only")
    }
}
