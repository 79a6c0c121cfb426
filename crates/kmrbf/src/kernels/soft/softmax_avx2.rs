//! The fused softmax soft-lloyd rows of [`crate::kernels::soft::softmax`] for CPUs with AVX2 + FMA
//! and no AVX-512 (AMD Zen 1-3): same inputs, outputs and arithmetic per value, on 8-lane
//! `ymm` registers.
//!
//! The AVX-512 kernel keeps a `6 x 64` block of `u = cn - 2 x . c` in 24 registers; with 16
//! registers this one computes it as four `6 x 16` blocks (12 accumulators each) into a 1.5 KiB
//! L1 buffer and runs the row epilogue from there. Each `u` is the same FMA chain from `cn`
//! (bit for bit the AVX-512 kernel's), the exponential is the same polynomial with the scale
//! `2^floor(t)` built in the exponent bits (exact, as `vscalefps`), and each sum entry is one
//! FMA chain over the rows in order. Only the row sums of the exponentials go in another order
//! (8 lanes, not 16), so the weights agree with the AVX-512 kernel's to f32 rounding.

use crate::kernels::soft::shared::RowTotals;
use crate::kernels::soft::shared::{FusedRows, FusedScratch};

/// Softmax rows of `rows` with their sums, as [`crate::kernels::soft::softmax::softmax_sums`] (its
/// shapes already checked).
///
/// # Safety
/// AVX2 and FMA available; `rows.pack.k() <= 64`; the scratch buffers sized as
/// `softmax_sums` sizes them.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn run(
    rows: &FusedRows<'_>,
    sums: Option<(&mut [f64], &mut [f32])>,
    resp: Option<&mut [f32]>,
    s: &mut FusedScratch,
) -> RowTotals {
    unsafe {
        match rows.pack.k().div_ceil(16) {
            1 => imp::run_nc::<1>(rows, sums, resp, s),
            2 => imp::run_nc::<2>(rows, sums, resp, s),
            3 => imp::run_nc::<3>(rows, sums, resp, s),
            _ => imp::run_nc::<4>(rows, sums, resp, s),
        }
    }
}

/// Unreachable off x86-64 (AVX2 is never detected there).
///
/// # Safety
/// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) unsafe fn run(
    _: &FusedRows<'_>,
    _: Option<(&mut [f64], &mut [f32])>,
    _: Option<&mut [f32]>,
    _: &mut FusedScratch,
) -> RowTotals {
    unreachable!("AVX2 only")
}

#[cfg(target_arch = "x86_64")]
pub(crate) mod imp {
    use crate::kernels::soft::avx2::{cross_block, hreduce};
    use crate::kernels::soft::shared::RowTotals;
    use crate::kernels::soft::shared::EXP2_POLY;
    use crate::kernels::soft::shared::{block_rows, padded_cn};
    use crate::kernels::soft::shared::{FusedRows, FusedScratch, GROUP, MAX_K, MR};
    use core::arch::x86_64::*;

    /// Sum columns per register block of the sums (`6 x 2` accumulators: 16 centers).
    const SUM_COLS: usize = 6;

    /// The whole call for `16 NC >= k` centers (`2 NC` vectors a row).
    ///
    /// # Safety
    /// The CPU runs the AVX2 + FMA tier; the shapes `softmax_sums` asserts, `k <= 16 NC`, and the
    /// scratch buffers it sizes.
    #[target_feature(enable = "avx2,fma")]
    pub(super) unsafe fn run_nc<const NC: usize>(
        rows: &FusedRows<'_>,
        sums: Option<(&mut [f64], &mut [f32])>,
        mut resp: Option<&mut [f32]>,
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
            let panel = pack.first_panel().as_ptr();
            let cnp = padded_cn(cn);
            // The real lanes, as masks.
            let mut valid = [0u32; MAX_K];
            valid[..k].fill(u32::MAX);
            let a = _mm256_set1_ps(-std::f32::consts::LOG2_E / temp);
            let (sums, col) = match sums {
                Some((s, c)) => (Some(s), Some(c)),
                None => (None, None),
            };
            let mut colbuf = [0f32; MAX_K];
            if let Some(c) = &col {
                colbuf[..k].copy_from_slice(c);
            }
            let mut ubuf = [0f32; MR * MAX_K];
            let (mut support, mut onehot) = (0u64, 0usize);
            let stats = s.stats.as_mut_ptr();
            let pbuf = s.pbuf.as_mut_ptr();
            let mut g0 = 0;
            while g0 < b {
                let g1 = (g0 + GROUP).min(b);
                let mut i = g0;
                while i < g1 {
                    let real = (g1 - i).min(MR);
                    let (xr, xn6, w6) = block_rows(x, xn, w, d, i, real, &mut s.xpad);
                    cross_block::<NC>(xr, d, panel, &cnp, ubuf.as_mut_ptr());
                    for r in 0..MR {
                        let u = ubuf.as_mut_ptr().add(r * MAX_K);
                        let (sum, sdist, umin, sup) = if k == 16 * NC {
                            row_exp::<NC, true>(u, valid.as_ptr(), a)
                        } else {
                            row_exp::<NC, false>(u, valid.as_ptr(), a)
                        };
                        let norm = 1.0 / sum;
                        if r < real {
                            support += sup as u64;
                            onehot += (sup == 1) as usize;
                            *stats.add(i + r) = (xn6[r] + umin).max(0.0);
                            *stats.add(b + i + r) = sum;
                            *stats.add(2 * b + i + r) = sdist * norm;
                            if let Some(out) = resp.as_deref_mut() {
                                // r_ij = e_ij / sum over the row's k lanes.
                                let dst = &mut out[(i + r) * k..(i + r + 1) * k];
                                let nv = _mm256_set1_ps(norm);
                                let full = k / 8;
                                for v in 0..full {
                                    let e = _mm256_loadu_ps(u.add(8 * v));
                                    _mm256_storeu_ps(
                                        dst.as_mut_ptr().add(8 * v),
                                        _mm256_mul_ps(e, nv),
                                    );
                                }
                                for (j, o) in dst.iter_mut().enumerate().skip(8 * full) {
                                    *o = *u.add(j) * norm;
                                }
                            }
                        }
                        if col.is_some() {
                            // The weights w r = e (w / sum): into the group buffer and the column
                            // sums (rows in order).
                            let wn = _mm256_set1_ps(w6[r] * norm);
                            let dst = pbuf.add((i - g0 + r) * MAX_K);
                            for v in 0..2 * NC {
                                let e = _mm256_mul_ps(_mm256_loadu_ps(u.add(8 * v)), wn);
                                _mm256_storeu_ps(dst.add(8 * v), e);
                                let c = colbuf.as_mut_ptr().add(8 * v);
                                _mm256_storeu_ps(c, _mm256_add_ps(_mm256_loadu_ps(c), e));
                            }
                        }
                    }
                    i += MR;
                }
                if sums.is_some() {
                    // sum_i (w r)_ij x_i over the group: one FMA chain per entry, rows in order.
                    let xg = x.as_ptr().add(g0 * d);
                    let st = s.sums_t.as_mut_ptr();
                    let nrows = g1 - g0;
                    // Per 16 centers, column blocks of at most SUM_COLS, as even as possible: the
                    // register block of the cross products (12 accumulators, two weight vectors
                    // and a broadcast; 4 weight vectors x 3 columns needed 17 registers and
                    // spilled two accumulators through memory on every row).
                    let nb = d.div_ceil(SUM_COLS);
                    for h in 0..NC {
                        let mut t0 = 0;
                        for blk in 0..nb {
                            let cols = d / nb + usize::from(blk < d % nb);
                            let (wt, xt) = (pbuf.add(16 * h), xg.add(t0));
                            let dst = st.add(t0 * MAX_K + 16 * h);
                            match cols {
                                1 => group_sums::<1>(wt, xt, nrows, d, dst),
                                2 => group_sums::<2>(wt, xt, nrows, d, dst),
                                3 => group_sums::<3>(wt, xt, nrows, d, dst),
                                4 => group_sums::<4>(wt, xt, nrows, d, dst),
                                5 => group_sums::<5>(wt, xt, nrows, d, dst),
                                _ => group_sums::<SUM_COLS>(wt, xt, nrows, d, dst),
                            }
                            t0 += cols;
                        }
                        debug_assert_eq!(t0, d);
                    }
                }
                g0 = g1;
            }
            if let Some(sums) = sums {
                // The call's f32 sums widened and added into the caller's f64, both transposed.
                for (dst, &v) in sums.iter_mut().zip(s.sums_t.iter()) {
                    *dst += v as f64;
                }
            }
            if let Some(c) = col {
                c.copy_from_slice(&colbuf[..k]);
            }
            let mut tot = totals(&s.stats, b, w, temp);
            tot.support = support as f64;
            tot.onehot = onehot;
            tot
        }
    }

    /// One row's softmax from its `u` (`16 NC` values at `u`, `+inf` past k): overwrites `u`
    /// with `e = 2^((u - umin) a)` (0 below `2^-125` and past k); returns the sum of `e`,
    /// `sum e (u - umin)`, `umin` and the support. `FULL`: every lane is a center (no masks).
    ///
    /// # Safety
    /// The CPU runs the AVX2 + FMA tier; `u` is valid for `16 NC` values and `valid` for `16 NC`
    /// lane masks.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn row_exp<const NC: usize, const FULL: bool>(
        u: *mut f32,
        valid: *const u32,
        a: __m256,
    ) -> (f32, f32, f32, u32) {
        unsafe {
            let mut m = _mm256_loadu_ps(u);
            for v in 1..2 * NC {
                m = _mm256_min_ps(m, _mm256_loadu_ps(u.add(8 * v)));
            }
            let umin = hreduce(m, |x, y| _mm256_min_ps(x, y));
            let um = _mm256_set1_ps(umin);
            let lo = _mm256_set1_ps(-125.0);
            let (mut s_e, mut s_d) = (_mm256_setzero_ps(), _mm256_setzero_ps());
            let mut sup = 0u32;
            for v in 0..2 * NC {
                let mut g = _mm256_sub_ps(_mm256_loadu_ps(u.add(8 * v)), um);
                let ok = _mm256_loadu_ps(valid.add(8 * v) as *const f32);
                if !FULL {
                    g = _mm256_and_ps(ok, g);
                }
                let t = _mm256_mul_ps(g, a);
                let mut keep = _mm256_cmp_ps::<_CMP_GE_OQ>(t, lo);
                if !FULL {
                    keep = _mm256_and_ps(ok, keep);
                }
                let e = _mm256_and_ps(keep, exp2(t));
                _mm256_storeu_ps(u.add(8 * v), e);
                s_e = _mm256_add_ps(s_e, e);
                s_d = _mm256_fmadd_ps(e, g, s_d);
                sup += (_mm256_movemask_ps(keep) as u32).count_ones();
            }
            let add = |x, y| _mm256_add_ps(x, y);
            (hreduce(s_e, add), hreduce(s_d, add), umin, sup)
        }
    }

    /// `2^t` for `t >= -125` (garbage below: the caller masks it): `f = t - floor(t)`, the
    /// AVX-512 kernel's degree-6 polynomial for `2^f`, times `2^floor(t)` made in the exponent
    /// bits (exact: the product is normal), which is what `vscalefps` computes there.
    ///
    /// # Safety
    /// The CPU runs the AVX2 + FMA tier (the function only computes on registers).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn exp2(t: __m256) -> __m256 {
        let s = _mm256_set1_ps;
        let fl = _mm256_floor_ps(t);
        let f = _mm256_sub_ps(t, fl);
        let mut p = s(EXP2_POLY[0]);
        for &c in &EXP2_POLY[1..] {
            p = _mm256_fmadd_ps(p, f, s(c));
        }
        // floor(t) + 127 lands in the low mantissa bits of `fl + 2^23 + 127` (exact for
        // floor(t) >= -127); shifted by 23 it is the exponent field of 2^floor(t).
        let biased = _mm256_add_ps(fl, s(8_388_735.0));
        let scale = _mm256_slli_epi32::<23>(_mm256_castps_si256(biased));
        _mm256_mul_ps(p, _mm256_castsi256_ps(scale))
    }

    /// `st[t][j] += sum_r x_{r, t} wts_{r, j}` for `TD` columns from `x` (row stride `d`) and
    /// 16 centers of the weights (row stride 64), `st` with row stride 64: each entry one FMA
    /// chain over the rows in order.
    ///
    /// # Safety
    /// The CPU runs the AVX2 + FMA tier; `wts` is readable for `rows` rows of `MAX_K` weights; `x`
    /// for `rows` rows of stride `d` (`TD` columns used); `st` is writable for `TD` rows of
    /// `MAX_K` values.
    #[inline(never)]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn group_sums<const TD: usize>(
        wts: *const f32,
        x: *const f32,
        rows: usize,
        d: usize,
        st: *mut f32,
    ) {
        unsafe {
            let mut acc: [[__m256; 2]; TD] = core::array::from_fn(|tt| {
                core::array::from_fn(|v| _mm256_loadu_ps(st.add(tt * MAX_K + 8 * v)))
            });
            for r in 0..rows {
                let (e0, e1) = (
                    _mm256_loadu_ps(wts.add(r * MAX_K)),
                    _mm256_loadu_ps(wts.add(r * MAX_K + 8)),
                );
                let xr = x.add(r * d);
                for (tt, row) in acc.iter_mut().enumerate() {
                    let xb = _mm256_set1_ps(*xr.add(tt));
                    row[0] = _mm256_fmadd_ps(xb, e0, row[0]);
                    row[1] = _mm256_fmadd_ps(xb, e1, row[1]);
                }
            }
            for (tt, row) in acc.iter().enumerate() {
                _mm256_storeu_ps(st.add(tt * MAX_K), row[0]);
                _mm256_storeu_ps(st.add(tt * MAX_K + 8), row[1]);
            }
        }
    }

    /// `J`, `L`, `F` and the weight from the per-row stats (`Dmin`, sum of `e`, `sum r (D -
    /// Dmin)`), in f64, four partial sums rows four apart.
    fn totals(stats: &[f32], b: usize, w: Option<&[f32]>, temp: f32) -> RowTotals {
        let (dmin, rest) = stats.split_at(b);
        let (sum, lterm) = rest.split_at(b);
        let temp = temp as f64;
        let (mut tj, mut tl, mut tf, mut tw) = ([0f64; 4], [0f64; 4], [0f64; 4], [0f64; 4]);
        for i in 0..b {
            let q = i % 4;
            let wd = w.map_or(1.0, |w| w[i] as f64);
            let dm = dmin[i] as f64;
            tj[q] += wd * dm;
            tl[q] += wd * (dm + lterm[i] as f64);
            tf[q] += wd * (dm - temp * (sum[i] as f64).ln());
            tw[q] += wd;
        }
        let total = |v: [f64; 4]| (v[0] + v[1]) + (v[2] + v[3]);
        RowTotals {
            j: total(tj),
            l: total(tl),
            f: total(tf),
            w: total(tw),
            support: 0.0,
            onehot: 0,
        }
    }
}
