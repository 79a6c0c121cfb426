//! Softmax rows of an f32 distance tile with explicit AVX-512: the hot epilogue of the soft
//! pass (soft-lloyd steps, objectives, responsibilities).
//!
//! Per row, three passes over the `k` values held in L1: distances `D = max(xn + cn - 2 x.c, 0)`
//! and their minimum; `e = exp(-(D - Dmin) / temp)` with `sum e`, `sum e (D - Dmin)` and the
//! support; the scaling into responsibilities. The exponential is the polynomial of
//! [`super::exp`] evaluated with FMAs; sums are per lane, then reduced. The rows of a tile go
//! phase by phase so that independent rows overlap.

/// Totals over the rows of one call (f64, in row order).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RowTotals {
    /// `sum_i w_i Dmin_i`.
    pub j: f64,
    /// `sum_i w_i sum_k r_ik D_ik`.
    pub l: f64,
    /// `sum_i w_i (Dmin_i - temp ln sum_k e_ik)`.
    pub f: f64,
    /// `sum_i w_i`.
    pub w: f64,
    /// `sum_i |supp r_i|`.
    pub support: f64,
    /// Rows with a support of one.
    pub onehot: usize,
}

/// True when [`softmax_rows`] can run here.
pub fn available() -> bool {
    super::dispatch::has_avx512()
}

/// Softmax rows of the `b x k` tile `cross` (`-2 <x_i, c_j>` in, `D_ij` out), with squared
/// norms `xn` (`b`) and `cn` (`k`), row weights `w` (`None`: 1) and temperature `temp`:
/// writes `w_i r_ij` into `weighted` and/or `r_ij` into `resp` (each `b x k`, optional) and
/// returns the totals. Call only when [`available`].
#[allow(clippy::too_many_arguments)]
pub fn softmax_rows(
    cross: &mut [f32],
    xn: &[f32],
    cn: &[f32],
    w: Option<&[f32]>,
    temp: f32,
    weighted: Option<&mut [f32]>,
    resp: Option<&mut [f32]>,
) -> RowTotals {
    assert!(available(), "AVX-512 softmax rows need AVX-512");
    let (b, k) = (xn.len(), cn.len());
    assert!(cross.len() == b * k && w.is_none_or(|w| w.len() == b));
    assert!(weighted.as_ref().is_none_or(|v| v.len() == b * k));
    assert!(resp.as_ref().is_none_or(|v| v.len() == b * k));
    // SAFETY: AVX-512 checked, shapes asserted.
    unsafe { imp::rows(cross, xn, cn, w, temp, weighted, resp) }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use super::RowTotals;
    use core::arch::x86_64::*;

    /// `exp(x)` lane-wise: the polynomial of `VecExp for f32` (same constants), evaluated with
    /// fused multiply-adds (half the instructions and latency; values within an ulp or two of
    /// the portable path).
    #[inline(always)]
    unsafe fn exp16(x: __m512) -> __m512 {
        let s = _mm512_set1_ps;
        let xc = _mm512_min_ps(_mm512_max_ps(x, s(-87.0)), s(88.0));
        let shifted = _mm512_fmadd_ps(xc, s(std::f32::consts::LOG2_E), s(12_582_912.0));
        let n = _mm512_sub_ps(shifted, s(12_582_912.0));
        let r = _mm512_fnmadd_ps(
            n,
            s(1.428_606_8e-6),
            _mm512_fnmadd_ps(n, s(0.693_145_75), xc),
        );
        let mut p = s(1.0 / 5040.0);
        for c in [
            1.0 / 720.0,
            1.0 / 120.0,
            1.0 / 24.0,
            1.0 / 6.0,
            0.5,
            1.0,
            1.0,
        ] {
            p = _mm512_fmadd_ps(p, r, s(c));
        }
        let ni = _mm512_sub_epi32(_mm512_castps_si512(shifted), _mm512_set1_epi32(0x4B40_0000));
        let bits = _mm512_slli_epi32::<23>(_mm512_add_epi32(ni, _mm512_set1_epi32(127)));
        let v = _mm512_mul_ps(p, _mm512_castsi512_ps(bits));
        let under = _mm512_cmp_ps_mask::<_CMP_LT_OQ>(x, s(-87.0));
        _mm512_mask_mov_ps(v, under, _mm512_setzero_ps())
    }

    #[inline(always)]
    fn lanes(n: usize) -> __mmask16 {
        if n >= 16 {
            0xffff
        } else {
            ((1u32 << n) - 1) as __mmask16
        }
    }

    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma,popcnt")]
    pub unsafe fn rows(
        cross: &mut [f32],
        xn: &[f32],
        cn: &[f32],
        w: Option<&[f32]>,
        temp: f32,
        mut weighted: Option<&mut [f32]>,
        mut resp: Option<&mut [f32]>,
    ) -> RowTotals {
        let (b, k) = (xn.len(), cn.len());
        let inv = _mm512_set1_ps(1.0 / temp);
        let zero = _mm512_setzero_ps();
        let inf = _mm512_set1_ps(f32::INFINITY);
        let mut tot = RowTotals::default();
        // Phase by phase over the rows (not row by row): each phase's rows are independent, so
        // the out-of-order core overlaps them; row by row, every row waits on its own chain
        // (minimum -> exponentials -> sum -> division).
        let mut dmins = [0f32; 64];
        let mut sums = [0f32; 64];
        let mut sdists = [0f32; 64];
        let mut supports = [0u32; 64];
        let mut i0 = 0;
        while i0 < b {
            let nb = 64.min(b - i0);
            for ii in 0..nb {
                let row = cross.as_mut_ptr().add((i0 + ii) * k);
                let xi = _mm512_set1_ps(xn[i0 + ii]);
                // Distances and their minimum (padding lanes +inf).
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
                dmins[ii] = _mm512_reduce_min_ps(vmin);
            }
            for ii in 0..nb {
                let i = i0 + ii;
                let row = cross.as_mut_ptr().add(i * k);
                let dminv = _mm512_set1_ps(dmins[ii]);
                // Exponentials into the first available output row, with their sums.
                let out: *mut f32 = match (weighted.as_deref_mut(), resp.as_deref_mut()) {
                    (Some(o), _) | (None, Some(o)) => o.as_mut_ptr().add(i * k),
                    (None, None) => row,
                };
                let (mut se, mut sd) = (zero, zero);
                let mut support = 0u32;
                let mut j = 0;
                while j < k {
                    let m = lanes(k - j);
                    let g = _mm512_sub_ps(_mm512_maskz_loadu_ps(m, row.add(j)), dminv);
                    let e =
                        _mm512_maskz_mov_ps(m, exp16(_mm512_sub_ps(zero, _mm512_mul_ps(g, inv))));
                    if !core::ptr::eq(out, row) {
                        _mm512_mask_storeu_ps(out.add(j), m, e);
                    }
                    se = _mm512_add_ps(se, e);
                    sd = _mm512_add_ps(sd, _mm512_maskz_mul_ps(m, e, g));
                    support += _mm512_cmp_ps_mask::<_CMP_GT_OQ>(e, zero).count_ones();
                    j += 16;
                }
                sums[ii] = _mm512_reduce_add_ps(se);
                sdists[ii] = _mm512_reduce_add_ps(sd);
                supports[ii] = support;
            }
            for ii in 0..nb {
                let i = i0 + ii;
                let out: *mut f32 = match (weighted.as_deref_mut(), resp.as_deref_mut()) {
                    (Some(o), _) | (None, Some(o)) => o.as_mut_ptr().add(i * k),
                    (None, None) => core::ptr::null_mut(),
                };
                let (dmin, sum) = (dmins[ii], sums[ii]);
                let norm = 1.0 / sum;
                let wi = w.map_or(1.0, |w| w[i]);
                // Scale: r = e / sum, weighted = w r.
                if let Some(rs) = resp.as_deref_mut() {
                    let dst = rs.as_mut_ptr().add(i * k);
                    let nv = _mm512_set1_ps(norm);
                    let mut j = 0;
                    while j < k {
                        let m = lanes(k - j);
                        let e = _mm512_maskz_loadu_ps(m, out.add(j));
                        _mm512_mask_storeu_ps(dst.add(j), m, _mm512_mul_ps(e, nv));
                        j += 16;
                    }
                }
                if let Some(ws) = weighted.as_deref_mut() {
                    let dst = ws.as_mut_ptr().add(i * k);
                    let nv = _mm512_set1_ps(norm);
                    let wv = _mm512_set1_ps(wi);
                    let mut j = 0;
                    while j < k {
                        let m = lanes(k - j);
                        let r = _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dst.add(j)), nv);
                        _mm512_mask_storeu_ps(dst.add(j), m, _mm512_mul_ps(wv, r));
                        j += 16;
                    }
                }
                let (wf, dm) = (wi as f64, dmin as f64);
                tot.j += wf * dm;
                tot.l += wf * (dm + (sdists[ii] * norm) as f64);
                tot.f += wf * (dm - temp as f64 * (sum as f64).ln());
                tot.w += wf;
                tot.support += supports[ii] as f64;
                tot.onehot += (supports[ii] == 1) as usize;
            }
            i0 += nb;
        }
        tot
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use super::RowTotals;
    #[allow(clippy::too_many_arguments)]
    pub unsafe fn rows(
        _: &mut [f32],
        _: &[f32],
        _: &[f32],
        _: Option<&[f32]>,
        _: f32,
        _: Option<&mut [f32]>,
        _: Option<&mut [f32]>,
    ) -> RowTotals {
        unreachable!("AVX-512 only")
    }
}
