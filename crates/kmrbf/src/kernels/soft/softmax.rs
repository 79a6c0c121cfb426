//! The softmax soft-lloyd rows for f32 with AVX-512 and `k <= 64`, fused from the rows to the
//! cluster sums: per block of six rows, `u = cn - 2 x . c` (24 accumulators, the register
//! block of [`crate::kernels::layout::cross`], chains started at `cn`), the row minima, the exponentials,
//! the weights `w r` and their column sums stay in registers; the weights of 48 rows go to an
//! L1 buffer and `sum_i w_i r_ij x_i` is added from there in the same register-block shape.
//!
//! The tile pipeline ([`crate::kernels::layout::cross`] -> [`crate::kernels::soft::rows_avx512`] -> dense `R^T X`)
//! writes the `b x k` distances and weights to L2 and reads them back twice; at `d = 32`,
//! `k = 64` that traffic and the phase-by-phase passes made a soft-lloyd step ~3.4x a hard
//! Lloyd iteration. Here `xn` only enters `Dmin = max(xn + min u, 0)`: the exponent is
//! `(u - min u) (-log2 e / temp)`, equal to the tile pipeline's `(D - Dmin) (...)` up to the
//! rounding of the adds it saves, and the row sums go in another order; results agree with the
//! tile pipeline to f32 rounding, not bit for bit. The sums are one FMA chain per entry over
//! the rows in order.

pub use crate::kernels::soft::shared::available;
use crate::kernels::soft::shared::{FusedRows, FusedScratch, RowTotals, GROUP, MAX_K, MR};

/// Columns of `x` per register block of the sums (`6 x 4` accumulators, as the cross kernel).
const SUM_COLS: usize = 6;

/// Softmax rows `r_i = softmax(-D_i / temp)` of `rows`, without storing them: when `sums` is
/// given, adds `sum_i w_i r_ij x_i` (one f32 FMA chain per entry over the rows in order,
/// widened once) into its first slice, *transposed* and in f64 (`d x 64`, entry `t * 64 +
/// j`; entries past `k` get zeros), and `sum_i w_i r_ij` into `colsum` (`k`, f32, rows in
/// order); when `resp` is given, writes the rows `r_i` there (`b x k`, row-major); returns the
/// totals (`J`, `L`, `F`, weight, support) of the rows. Call only when [`available`].
pub fn softmax_sums(
    rows: &FusedRows<'_>,
    sums: Option<(&mut [f64], &mut [f32])>,
    resp: Option<&mut [f32]>,
    scratch: &mut FusedScratch,
) -> RowTotals {
    let (k, d, b) = rows.shape();
    if let Some((s, c)) = &sums {
        assert!(s.len() == d * MAX_K && c.len() == k);
    }
    if let Some(r) = &resp {
        assert_eq!(r.len(), b * k, "one row of responsibilities per row");
    }
    scratch.stats.resize(3 * b, 0.0);
    scratch.pbuf.resize(GROUP * MAX_K);
    scratch.xpad.resize(MR * d, 0.0);
    scratch.sums_t.reset(d * MAX_K);
    if !rows.isa.avx512() {
        // SAFETY: the tier has AVX2 and FMA (`available`), shapes asserted, buffers sized
        // above.
        return unsafe { crate::kernels::soft::softmax_avx2::run(rows, sums, resp, scratch) };
    }
    // SAFETY: the tier has AVX-512, shapes asserted.
    unsafe { imp::run(rows, sums, resp, scratch) }
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod imp {
    use super::SUM_COLS;
    use crate::kernels::dispatch::lanes16 as lanes;
    use crate::kernels::soft::avx512::{cross, exp2_kept, ln_pd, reduce6};
    use crate::kernels::soft::shared::block_rows;
    use crate::kernels::soft::shared::{FusedRows, FusedScratch, RowTotals, GROUP, MAX_K, MR};
    use core::arch::x86_64::*;

    /// What every block of a call shares.
    struct Ctx<const NV: usize> {
        d: usize,
        panel: *const f32,
        /// `cn`, `+inf` past `k` (those lanes never win the minimum).
        cnv: [__m512; NV],
        /// Lanes of real centers per vector.
        valid: [__mmask16; NV],
        /// `-log2(e) / temp`.
        a: __m512,
        sums: Option<(*mut f64, *mut f32)>,
        /// `b x k` responsibilities out, or null.
        resp: *mut f32,
        /// `k`: the row stride of `resp`.
        k: usize,
        pbuf: *mut f32,
    }

    /// # Safety
    /// The CPU runs the AVX-512 tier; the shapes `softmax_sums` asserts and the scratch buffers it
    /// sizes.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma,popcnt")]
    pub unsafe fn run(
        rows: &FusedRows<'_>,
        sums: Option<(&mut [f64], &mut [f32])>,
        resp: Option<&mut [f32]>,
        s: &mut FusedScratch,
    ) -> RowTotals {
        unsafe {
            match rows.pack.k().div_ceil(16) {
                1 => run_nv::<1>(rows, sums, resp, s),
                2 => run_nv::<2>(rows, sums, resp, s),
                3 => run_nv::<3>(rows, sums, resp, s),
                _ => run_nv::<4>(rows, sums, resp, s),
            }
        }
    }

    /// # Safety
    /// The CPU runs the AVX-512 tier; the shapes `softmax_sums` asserts, `k <= 16 NV`, and the
    /// scratch buffers it sizes.
    #[inline(always)]
    unsafe fn run_nv<const NV: usize>(
        rows: &FusedRows<'_>,
        sums: Option<(&mut [f64], &mut [f32])>,
        resp: Option<&mut [f32]>,
        s: &mut FusedScratch,
    ) -> RowTotals {
        unsafe {
            let FusedRows {
                x,
                xn,
                w,
                pack,
                cn,
                temp,
                ..
            } = *rows;
            let (k, d) = (pack.k(), pack.d());
            let b = xn.len();
            let inf = _mm512_set1_ps(f32::INFINITY);
            let valid: [__mmask16; NV] = core::array::from_fn(|v| lanes(k.saturating_sub(16 * v)));
            let ctx = Ctx::<NV> {
                d,
                panel: pack.first_panel().as_ptr(),
                cnv: core::array::from_fn(|v| {
                    _mm512_mask_loadu_ps(inf, valid[v], cn.as_ptr().add(16 * v))
                }),
                valid,
                a: _mm512_set1_ps(-std::f32::consts::LOG2_E / temp),
                sums: sums.map(|(s, c)| (s.as_mut_ptr(), c.as_mut_ptr())),
                resp: resp.map_or(core::ptr::null_mut(), |r| r.as_mut_ptr()),
                k,
                pbuf: s.pbuf.as_mut_ptr(),
            };
            debug_assert!(s.pbuf.len() >= GROUP * MAX_K && s.sums_t.len() == d * MAX_K);
            let stats = s.stats.as_mut_ptr();
            let (mut support, mut onehot) = (0u64, 0usize);
            let mut g0 = 0;
            while g0 < b {
                let g1 = (g0 + GROUP).min(b);
                let mut i = g0;
                while i < g1 {
                    let real = (g1 - i).min(MR);
                    let (xr, xn6, w6) = block_rows(x, xn, w, d, i, real, &mut s.xpad);
                    let (sp, oh) = block(&ctx, xr, &xn6, &w6, real, stats, i, b, i - g0);
                    support += sp;
                    onehot += oh;
                    i += MR;
                }
                // sum_i (w r)_ij x_i over the group: one FMA chain per entry, rows in order.
                if ctx.sums.is_some() {
                    let xg = x.as_ptr().add(g0 * d);
                    // Column blocks of at most SUM_COLS, as even as possible (d = 32: 6, 6, 5,
                    // 5, 5, 5, not a last block of 2 whose 8 chains cannot hide the FMA latency).
                    let nb = d.div_ceil(SUM_COLS);
                    let mut t0 = 0;
                    for blk in 0..nb {
                        let cols = d / nb + usize::from(blk < d % nb);
                        let st = s.sums_t.as_mut_ptr().add(t0 * MAX_K);
                        let (wts, xt, rows) = (ctx.pbuf, xg.add(t0), g1 - g0);
                        match cols {
                            1 => group_sums::<NV, 1>(wts, xt, rows, d, st),
                            2 => group_sums::<NV, 2>(wts, xt, rows, d, st),
                            3 => group_sums::<NV, 3>(wts, xt, rows, d, st),
                            4 => group_sums::<NV, 4>(wts, xt, rows, d, st),
                            5 => group_sums::<NV, 5>(wts, xt, rows, d, st),
                            _ => group_sums::<NV, SUM_COLS>(wts, xt, rows, d, st),
                        }
                        t0 += cols;
                    }
                    debug_assert_eq!(t0, d);
                }
                g0 = g1;
            }
            if let Some((sums, _)) = ctx.sums {
                // The call's f32 sums widened and added into the caller's f64, both transposed.
                for (t, row) in s.sums_t.chunks_exact(MAX_K).enumerate() {
                    let dst = sums.add(t * MAX_K);
                    for v in 0..NV {
                        let a = _mm512_load_ps(row.as_ptr().add(16 * v));
                        let halves = [
                            _mm512_cvtps_pd(_mm512_castps512_ps256(a)),
                            _mm512_cvtps_pd(_mm256_castpd_ps(_mm512_extractf64x4_pd::<1>(
                                _mm512_castps_pd(a),
                            ))),
                        ];
                        for (h, &wide) in halves.iter().enumerate() {
                            let p = dst.add(16 * v + 8 * h);
                            _mm512_storeu_pd(p, _mm512_add_pd(_mm512_loadu_pd(p), wide));
                        }
                    }
                }
            }
            let mut tot = totals(&s.stats, b, w, temp);
            tot.support = support as f64;
            tot.onehot = onehot;
            tot
        }
    }

    /// One block of `MR` rows at `xr` (row stride `d`), `real` of them data: their stats into
    /// `stats` at row `i` (of `b`), with sums their column sums and their weights into row
    /// `slot` of the group buffer; returns the support summed over the
    /// real rows and how many of them are one-hot.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `xr` is readable for `MR` rows of `c.d` values; `stats` is
    /// writable for `3 b` values with `i + real <= b`; `slot < GROUP / MR`; the context's pointers
    /// are valid as built in `run_nv`.
    #[inline(always)]
    #[allow(clippy::too_many_arguments)]
    unsafe fn block<const NV: usize>(
        c: &Ctx<NV>,
        xr: *const f32,
        xn6: &[f32; MR],
        w6: &[f32; MR],
        real: usize,
        stats: *mut f32,
        i: usize,
        b: usize,
        slot: usize,
    ) -> (u64, usize) {
        unsafe {
            let d = c.d;
            let zero = _mm512_setzero_ps();
            // u = cn - 2 x . c (the row's xn is the same for every center: it only enters Dmin).
            let mut acc = [[zero; NV]; MR];
            cross::<NV>(xr, d, c.panel, &c.cnv, &mut acc);
            let mut mins = [zero; MR];
            for r in 0..MR {
                let mut m = acc[r][0];
                for v in 1..NV {
                    m = _mm512_min_ps(m, acc[r][v]);
                }
                mins[r] = m;
            }
            let umin = reduce6(&mins, _mm512_set1_ps(f32::INFINITY), |x, y| {
                _mm512_min_ps(x, y)
            });
            // e = 2^((u - umin) a), 0 below 2^-125 and past k; sum e, sum e (u - umin), support.
            let lo = _mm512_set1_ps(-125.0);
            let (mut support, mut onehot) = (0u64, 0usize);
            let mut dmin = [0f32; MR];
            let mut se = [zero; MR];
            let mut sd = [zero; MR];
            for r in 0..MR {
                dmin[r] = (xn6[r] + umin[r]).max(0.0);
                let um = _mm512_set1_ps(umin[r]);
                let mut keeps = [0 as __mmask16; NV];
                // The row's sums in locals (an array slot indexed by the row went through memory).
                let (mut s_e, mut s_d) = (zero, zero);
                for v in 0..NV {
                    let g = _mm512_maskz_sub_ps(c.valid[v], acc[r][v], um);
                    let t = _mm512_mul_ps(g, c.a);
                    let keep = _mm512_mask_cmp_ps_mask::<_CMP_GE_OQ>(c.valid[v], t, lo);
                    let e = exp2_kept(t, keep);
                    acc[r][v] = e;
                    s_e = _mm512_add_ps(s_e, e);
                    s_d = _mm512_fmadd_ps(e, g, s_d);
                    keeps[v] = keep;
                }
                se[r] = s_e;
                sd[r] = s_d;
                let sup = count_keeps(&keeps);
                if r < real {
                    support += sup as u64;
                    onehot += (sup == 1) as usize;
                }
            }
            let sum = reduce6(&se, zero, |x, y| _mm512_add_ps(x, y));
            let sdist = reduce6(&sd, zero, |x, y| _mm512_add_ps(x, y));
            // Stats of the real rows; the weights w r = e (w / sum) below.
            let mut wn = [zero; MR];
            for r in 0..MR {
                let norm = 1.0 / sum[r];
                if r < real {
                    *stats.add(i + r) = dmin[r];
                    *stats.add(b + i + r) = sum[r];
                    *stats.add(2 * b + i + r) = sdist[r] * norm;
                }
                wn[r] = _mm512_set1_ps(w6[r] * norm);
                if r < real && !c.resp.is_null() {
                    // r_ij = e_ij / sum: the real lanes of the row.
                    let nv = _mm512_set1_ps(norm);
                    let dst = c.resp.add((i + r) * c.k);
                    for v in 0..NV {
                        let rv = _mm512_mul_ps(acc[r][v], nv);
                        _mm512_mask_storeu_ps(dst.add(16 * v), c.valid[v], rv);
                    }
                }
            }
            let Some((_, col)) = c.sums else {
                return (support, onehot);
            };
            // In one sweep: the weights, their column sums (rows in order) and the weights into
            // the group's buffer (row stride 64; 0 past k) for the sums.
            let mut cs: [__m512; NV] =
                core::array::from_fn(|v| _mm512_maskz_loadu_ps(c.valid[v], col.add(16 * v)));
            let dst = c.pbuf.add(slot * MAX_K);
            for r in 0..MR {
                for v in 0..NV {
                    let e = _mm512_mul_ps(acc[r][v], wn[r]);
                    cs[v] = _mm512_add_ps(cs[v], e);
                    _mm512_storeu_ps(dst.add(r * MAX_K + 16 * v), e);
                }
            }
            for v in 0..NV {
                _mm512_mask_storeu_ps(col.add(16 * v), c.valid[v], cs[v]);
            }
            (support, onehot)
        }
    }

    /// `st[t][j] += sum_r x_{r, t} wts_{r, j}` for the `TD` columns `t` from `x` (row stride
    /// `d`) and the `rows` rows of weights `wts` (row stride 64), `st` with row stride 64:
    /// the cross kernel's shape (`TD x NV` accumulators, per row `NV` loads and `TD`
    /// broadcasts), each entry one FMA chain over the rows in order.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `wts` is readable for `rows` rows of `MAX_K` weights; `x`
    /// for `rows` rows of stride `d` (`TD` columns used); `st` is writable for `TD` rows of
    /// `MAX_K` values.
    #[inline(never)]
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
    unsafe fn group_sums<const NV: usize, const TD: usize>(
        wts: *const f32,
        x: *const f32,
        rows: usize,
        d: usize,
        st: *mut f32,
    ) {
        unsafe {
            let mut acc: [[__m512; NV]; TD] = core::array::from_fn(|tt| {
                core::array::from_fn(|v| _mm512_loadu_ps(st.add(tt * MAX_K + 16 * v)))
            });
            for r in 0..rows {
                let e: [__m512; NV] =
                    core::array::from_fn(|v| _mm512_loadu_ps(wts.add(r * MAX_K + 16 * v)));
                let xr = x.add(r * d);
                for (tt, row) in acc.iter_mut().enumerate() {
                    let xb = _mm512_set1_ps(*xr.add(tt));
                    for v in 0..NV {
                        row[v] = _mm512_fmadd_ps(xb, e[v], row[v]);
                    }
                }
            }
            for (tt, row) in acc.iter().enumerate() {
                for (v, &a) in row.iter().enumerate() {
                    _mm512_storeu_ps(st.add(tt * MAX_K + 16 * v), a);
                }
            }
        }
    }

    /// Lanes set in the masks of one row's vectors (its support).
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (the function only computes on registers).
    #[inline(always)]
    unsafe fn count_keeps<const NV: usize>(keeps: &[__mmask16; NV]) -> u32 {
        unsafe {
            match NV {
                4 => {
                    let lo = _mm512_kunpackw(keeps[1] as u32, keeps[0] as u32);
                    let hi = _mm512_kunpackw(keeps[3] as u32, keeps[2] as u32);
                    _mm512_kunpackd(hi as u64, lo as u64).count_ones()
                }
                _ => keeps.iter().map(|&m| m.count_ones()).sum(),
            }
        }
    }

    /// `J`, `L`, `F` and the weight from the per-row stats, in f64 lanes eight rows apart.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `stats` holds `3 b` values and `w`, when given, `b`.
    #[inline(always)]
    unsafe fn totals(stats: &[f32], b: usize, w: Option<&[f32]>, temp: f32) -> RowTotals {
        unsafe {
            let (dmin, rest) = stats.split_at(b);
            let (sum, lterm) = rest.split_at(b);
            let (mut tj, mut tl, mut tf, mut tw) = (
                _mm512_setzero_pd(),
                _mm512_setzero_pd(),
                _mm512_setzero_pd(),
                _mm512_setzero_pd(),
            );
            let tempd = _mm512_set1_pd(temp as f64);
            let one = _mm256_set1_ps(1.0);
            let mut i = 0;
            while i < b {
                let m = lanes(b - i) as u8;
                let wide = |p: &[f32], fill: __m256| {
                    _mm512_cvtps_pd(_mm256_mask_loadu_ps(fill, m, p.as_ptr().add(i)))
                };
                let dm = wide(dmin, _mm256_setzero_ps());
                let lt = wide(lterm, _mm256_setzero_ps());
                // Rows past the end: sum 1 (ln 1 = 0) and weight 0.
                let sm = wide(sum, one);
                let wd = match w {
                    Some(w) => wide(w, _mm256_setzero_ps()),
                    None => _mm512_maskz_mov_pd(m, _mm512_set1_pd(1.0)),
                };
                tj = _mm512_fmadd_pd(wd, dm, tj);
                tl = _mm512_fmadd_pd(wd, _mm512_add_pd(dm, lt), tl);
                tf = _mm512_fmadd_pd(wd, _mm512_fnmadd_pd(tempd, ln_pd(sm), dm), tf);
                tw = _mm512_add_pd(tw, wd);
                i += 8;
            }
            RowTotals {
                j: _mm512_reduce_add_pd(tj),
                l: _mm512_reduce_add_pd(tl),
                f: _mm512_reduce_add_pd(tf),
                w: _mm512_reduce_add_pd(tw),
                support: 0.0,
                onehot: 0,
            }
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use crate::kernels::soft::shared::{FusedRows, FusedScratch, RowTotals};
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    pub unsafe fn run(
        _: &FusedRows<'_>,
        _: Option<(&mut [f64], &mut [f32])>,
        _: Option<&mut [f32]>,
        _: &mut FusedScratch,
    ) -> RowTotals {
        unreachable!("AVX-512 only")
    }
}
