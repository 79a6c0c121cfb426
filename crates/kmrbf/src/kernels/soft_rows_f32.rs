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
//! [`super::maps`]. Sparsemax goes the same way with `z = -(D - Dmin) / temp` and its own
//! threshold.

use super::isa::Isa;
use crate::real::Real;

/// Coefficients of `2^f` on `[0, 1)`, highest degree first (Horner with FMAs; degree 6,
/// `p(0) = 1`, relative error 6.4e-8 in f32): the exponential of the softmax kernels.
pub(crate) const EXP2_POLY: [f32; 7] = [
    2.161_380_8e-4,
    1.246_737_7e-3,
    9.675_533e-3,
    5.548_522e-2,
    2.402_293_2e-1,
    6.931_470_6e-1,
    1.0,
];

/// `1 / n` for `n = 1..=16` (correctly rounded, as a division gives it): the thresholds' table.
pub(crate) const RECIP16: [f32; 16] = {
    let mut t = [0f32; 16];
    let mut n = 0;
    while n < 16 {
        t[n] = 1.0 / (n + 1) as f32;
        n += 1;
    }
    t
};

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

impl RowTotals {
    /// Adds the totals of later rows.
    pub fn add(&mut self, o: &RowTotals) {
        self.j += o.j;
        self.l += o.l;
        self.f += o.f;
        self.w += o.w;
        self.support += o.support;
        self.onehot += o.onehot;
    }

    /// Adds a one-hot row of weight `w` and minimum distance `dmin` (`r = 1` at the nearest
    /// center: `L = F = J = Dmin`, support 1).
    #[inline(always)]
    pub(crate) fn add_onehot<T: Real>(&mut self, w: T, dmin: T) {
        let (wf, dm) = (w.to_f64(), dmin.to_f64());
        self.j += wf * dm;
        self.l += wf * dm;
        self.f += wf * dm;
        self.w += wf;
        self.support += 1.0;
        self.onehot += 1;
    }
}

/// The moments of one entmax-1.5 / sparsemax row with several candidates, as both the tile
/// and the fused kernels compute them (in the data's precision `T`): `q = v^2` (resp. `v`)
/// with `v = z - tau > 0`, `norm = 1 / sum q`, `sqv = sum q v`, `sz = -sum q z` (`z = -(D -
/// Dmin) / scale`).
pub(crate) struct SpreadRow<T> {
    /// Row weight.
    pub w: T,
    /// `Dmin`.
    pub dmin: T,
    /// `2 temp` (entmax-1.5) or `temp` (sparsemax).
    pub scale: T,
    /// `1 / sum q`.
    pub norm: T,
    /// `sum q v`.
    pub sqv: T,
    /// `-sum q z`.
    pub sz: T,
    /// Nonzero responsibilities.
    pub support: u32,
}

impl<T: Real> SpreadRow<T> {
    /// Adds the row's `J`, `L = Dmin + scale norm sz`, `F = L - temp H` (Tsallis entropies
    /// `(4/3)(1 - sum r^1.5)` and `(1/2)(1 - sum r^2)`), weight and support to `tot`.
    #[inline(always)]
    pub(crate) fn add_to<const SPARSE: bool>(&self, tot: &mut RowTotals, temp: T) {
        let (wf, dm) = (self.w.to_f64(), self.dmin.to_f64());
        let loss = dm + (self.scale * self.norm * self.sz).to_f64();
        let n = self.norm;
        let h = if SPARSE {
            0.5 * (1.0 - (n * n * self.sqv).to_f64())
        } else {
            (4.0 / 3.0) * (1.0 - (n * n.sqrt() * self.sqv).to_f64())
        };
        tot.j += wf * dm;
        tot.l += wf * loss;
        tot.f += wf * (loss - temp.to_f64() * h);
        tot.w += wf;
        tot.support += self.support as f64;
        tot.onehot += (self.support == 1) as usize;
    }
}

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
    use super::{RowTotals, SpreadRow, EXP2_POLY, RECIP16};
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
                        add_scaled_row(sums.as_mut_ptr().add(j * d), xr, d, *ar.add(j));
                    }
                    base += 64;
                }
            }
        }
    }

    /// `dst += c x` for the `d` values at `dst` and `x` (a product, then a sum, per value).
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `dst` and `x` are valid for `d` values (reads; `dst` also
    /// writes) and do not overlap.
    #[inline(always)]
    pub(crate) unsafe fn add_scaled_row(dst: *mut f32, x: *const f32, d: usize, c: f32) {
        unsafe {
            let cv = _mm512_set1_ps(c);
            let mut t = 0;
            while t < d {
                let m = lanes(d - t);
                let v = _mm512_mul_ps(cv, load_part(x.add(t), m));
                store_part(dst.add(t), m, _mm512_add_ps(load_part(dst.add(t), m), v));
                t += 16;
            }
        }
    }

    /// Loads the lanes `m` at `p` (zeros elsewhere); a full block by a plain load.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; the lanes of `m` at `p` are readable (all 16 when `m` is
    /// full).
    #[inline(always)]
    pub(crate) unsafe fn load_part(p: *const f32, m: __mmask16) -> __m512 {
        unsafe {
            if m == u16::MAX {
                _mm512_loadu_ps(p)
            } else {
                _mm512_maskz_loadu_ps(m, p)
            }
        }
    }

    /// Stores the lanes `m` of `v` at `p`; a full block by a plain store, which (unlike a
    /// masked one) forwards to a following load of the same values.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; the lanes of `m` at `p` are writable (all 16 when `m` is
    /// full).
    #[inline(always)]
    pub(crate) unsafe fn store_part(p: *mut f32, m: __mmask16, v: __m512) {
        unsafe {
            if m == u16::MAX {
                _mm512_storeu_ps(p, v)
            } else {
                _mm512_mask_storeu_ps(p, m, v)
            }
        }
    }

    /// `-v`, exactly (sign flip).
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (the function only computes on registers).
    #[inline(always)]
    unsafe fn neg(v: __m512) -> __m512 {
        unsafe {
            _mm512_castsi512_ps(_mm512_xor_si512(
                _mm512_castps_si512(v),
                _mm512_set1_epi32(i32::MIN),
            ))
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
                        zero_row(rs.as_mut_ptr().add(i * k), k);
                        rs[i * k + first] = 1.0;
                    }
                    if let Some(ws) = weighted.as_deref_mut() {
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

    /// The sparsemax threshold of the candidates `c` (sorted here, descending), as in
    /// `maps::sparsemax_row`: the largest support whose threshold `(sum z - 1) / n` stays
    /// below its smallest member.
    #[inline(always)]
    pub(crate) fn threshold_sparsemax(c: &mut [f32]) -> f32 {
        sort_descending(c);
        let mut s1 = 0f32;
        let mut tau = -1f32;
        for (n, &z) in c.iter().enumerate() {
            s1 += z;
            let t = (s1 - 1.0) / (n + 1) as f32;
            if t < z {
                tau = t;
            } else {
                break;
            }
        }
        tau
    }

    /// Few candidates: insertion sort, descending.
    #[inline(always)]
    fn sort_descending(c: &mut [f32]) {
        for a in 1..c.len() {
            let v = c[a];
            let mut p = a;
            while p > 0 && c[p - 1] < v {
                c[p] = c[p - 1];
                p -= 1;
            }
            c[p] = v;
        }
    }

    /// The threshold of `m <= 16` candidates at `c` (any order) without sorting or a
    /// data-dependent exit: for each candidate `j`, the moments of the candidates `>= z_j`
    /// (the support it would close), the threshold `t_j` they give, and `t_j` of the largest
    /// consistent support (`t_j <= z_j` for entmax-1.5, `< z_j` for sparsemax; consistency
    /// holds exactly up to the true support, Peters et al. 2019). Ties share their moments.
    /// The sorted scan of [`threshold`] computes the same value with other roundings; on the
    /// benchmark's rows it cost ~60 ns a row in branches and division / root latency.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `c` is readable for 16 values (`m <= 16` of them
    /// candidates).
    #[inline(always)]
    pub(crate) unsafe fn threshold16<const SPARSE: bool>(c: *const f32, m: usize) -> f32 {
        unsafe {
            let valid = lanes(m);
            let z = _mm512_maskz_loadu_ps(valid, c);
            let one = _mm512_set1_ps(1.0);
            let (mut s1, mut s2, mut cnt) = (
                _mm512_setzero_ps(),
                _mm512_setzero_ps(),
                _mm512_setzero_ps(),
            );
            for i in 0..m {
                let zi = _mm512_set1_ps(*c.add(i));
                let ge = _mm512_mask_cmp_ps_mask::<_CMP_LE_OQ>(valid, z, zi);
                s1 = _mm512_mask_add_ps(s1, ge, s1, zi);
                if !SPARSE {
                    s2 = _mm512_mask_add_ps(s2, ge, s2, _mm512_mul_ps(zi, zi));
                }
                cnt = _mm512_mask_add_ps(cnt, ge, cnt, one);
            }
            // 1 / cnt from a table (cnt is an integer in 1..=16 on the valid lanes): no division
            // latency on the row's critical path.
            let recip = _mm512_loadu_ps(RECIP16.as_ptr());
            let idx = _mm512_sub_epi32(_mm512_cvttps_epi32(cnt), _mm512_set1_epi32(1));
            let ic = _mm512_permutexvar_ps(idx, recip);
            let (t, ok) = if SPARSE {
                let t = _mm512_mul_ps(_mm512_sub_ps(s1, one), ic);
                (t, _mm512_mask_cmp_ps_mask::<_CMP_LT_OQ>(valid, t, z))
            } else {
                let mean = _mm512_mul_ps(s1, ic);
                let var = _mm512_fmsub_ps(s2, ic, _mm512_mul_ps(mean, mean));
                let delta = _mm512_mul_ps(_mm512_fnmadd_ps(cnt, var, one), ic);
                let t = _mm512_sub_ps(
                    mean,
                    _mm512_sqrt_ps(_mm512_max_ps(delta, _mm512_setzero_ps())),
                );
                (t, _mm512_mask_cmp_ps_mask::<_CMP_LE_OQ>(valid, t, z))
            };
            // Along the consistent supports (by decreasing z) the threshold only grows: t_{n+1}
            // solves the n + 1 term equation, which at t_n is already >= 0 (sparsemax: t_{n+1} is
            // a mean of t_n and z_{n+1} > t_n). So the largest consistent support has the largest
            // consistent threshold: one reduction.
            _mm512_reduce_max_ps(_mm512_mask_mov_ps(_mm512_set1_ps(f32::NEG_INFINITY), ok, t))
        }
    }

    /// [`threshold16`] for `16 < m <= 64` candidates at `c` (four vectors; `c` readable up
    /// to 64 values): the same moments and consistency rule, `1 / n` by division. On rows with
    /// many candidates (low `d`, high temperature) the sorted scan's insertion sort and its
    /// chain of divisions and roots cost several times more.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `c` is readable for 64 values (`16 < m <= 64` of them
    /// candidates).
    #[inline(always)]
    pub(crate) unsafe fn threshold64<const SPARSE: bool>(c: *const f32, m: usize) -> f32 {
        unsafe {
            debug_assert!(m <= 64);
            let valid: [__mmask16; 4] = core::array::from_fn(|v| lanes(m.saturating_sub(16 * v)));
            let z: [__m512; 4] =
                core::array::from_fn(|v| _mm512_maskz_loadu_ps(valid[v], c.add(16 * v)));
            let one = _mm512_set1_ps(1.0);
            let zero = _mm512_setzero_ps();
            let (mut s1, mut s2, mut cnt) = ([zero; 4], [zero; 4], [zero; 4]);
            for i in 0..m {
                let zi = _mm512_set1_ps(*c.add(i));
                let zz = _mm512_mul_ps(zi, zi);
                for v in 0..4 {
                    let ge = _mm512_mask_cmp_ps_mask::<_CMP_LE_OQ>(valid[v], z[v], zi);
                    s1[v] = _mm512_mask_add_ps(s1[v], ge, s1[v], zi);
                    if !SPARSE {
                        s2[v] = _mm512_mask_add_ps(s2[v], ge, s2[v], zz);
                    }
                    cnt[v] = _mm512_mask_add_ps(cnt[v], ge, cnt[v], one);
                }
            }
            let mut best = _mm512_set1_ps(f32::NEG_INFINITY);
            for v in 0..4 {
                // Lanes past m have cnt 0: their 1 / cnt is never used (not consistent).
                let ic = _mm512_maskz_div_ps(valid[v], one, cnt[v]);
                let (t, ok) = if SPARSE {
                    let t = _mm512_mul_ps(_mm512_sub_ps(s1[v], one), ic);
                    (t, _mm512_mask_cmp_ps_mask::<_CMP_LT_OQ>(valid[v], t, z[v]))
                } else {
                    let mean = _mm512_mul_ps(s1[v], ic);
                    let var = _mm512_fmsub_ps(s2[v], ic, _mm512_mul_ps(mean, mean));
                    let delta = _mm512_mul_ps(_mm512_fnmadd_ps(cnt[v], var, one), ic);
                    let t = _mm512_sub_ps(mean, _mm512_sqrt_ps(_mm512_max_ps(delta, zero)));
                    (t, _mm512_mask_cmp_ps_mask::<_CMP_LE_OQ>(valid[v], t, z[v]))
                };
                best = _mm512_mask_max_ps(best, ok, best, t);
            }
            _mm512_reduce_max_ps(best)
        }
    }

    /// `(sum q, sum q v, -sum q z, |support|)` over `m <= 16` candidates at `c` with `v = z -
    /// tau > 0` and `q = v^2` (entmax-1.5) or `v` (sparsemax), in vector lanes.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier; `c` is readable for 16 values (`m <= 16` of them
    /// candidates).
    #[inline(always)]
    unsafe fn support16<const SPARSE: bool>(
        c: *const f32,
        m: usize,
        tau: f32,
    ) -> (f32, f32, f32, u32) {
        unsafe {
            let valid = lanes(m);
            let z = _mm512_maskz_loadu_ps(valid, c);
            let v = _mm512_maskz_sub_ps(valid, z, _mm512_set1_ps(tau));
            let pos = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(valid, v, _mm512_setzero_ps());
            let v = _mm512_maskz_mov_ps(pos, v);
            let q = if SPARSE { v } else { _mm512_mul_ps(v, v) };
            (
                _mm512_reduce_add_ps(q),
                _mm512_reduce_add_ps(_mm512_mul_ps(q, v)),
                -_mm512_reduce_add_ps(_mm512_mul_ps(q, z)),
                pos.count_ones(),
            )
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

    /// The entmax-1.5 threshold of the candidates `c` (sorted here, descending): Peters et al.
    /// (2019), Algorithm 2, as in `maps::entmax15_row`.
    #[inline(always)]
    pub(crate) fn threshold(c: &mut [f32]) -> f32 {
        sort_descending(c);
        let (mut s1, mut s2) = (0f32, 0f32);
        let mut tau = -1f32;
        for (n, &z) in c.iter().enumerate() {
            let kk = (n + 1) as f32;
            s1 += z;
            s2 += z * z;
            let mean = s1 / kk;
            let delta = (1.0 - kk * (s2 / kk - mean * mean)) / kk;
            let t = mean - delta.max(0.0).sqrt();
            if t <= z {
                tau = t;
            } else {
                break;
            }
        }
        tau
    }

    /// `2^t` lane-wise for `t <= 0` where `keep` is set (`t >= -125`, so the result is a
    /// normal number), 0 elsewhere: `t = n + f` with `n = floor(t)`, a degree-6 polynomial
    /// for `2^f` on `[0, 1)` (relative error 6.4e-8 evaluated in f32 on 2e7 random `f`,
    /// fitted here by weighted least squares on Chebyshev nodes with `p(0) = 1`), then
    /// `vscalefps`, which scales by `2^floor(t)` itself.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (the function only computes on registers).
    #[inline(always)]
    pub(crate) unsafe fn exp2_kept(t: __m512, keep: __mmask16) -> __m512 {
        unsafe {
            let s = _mm512_set1_ps;
            // f = t - floor(t) in one instruction (rounded only when t is within an ulp of 1
            // below an integer, to 1.0, where p = 2 exactly).
            let f = _mm512_reduce_ps::<{ _MM_FROUND_TO_NEG_INF | _MM_FROUND_NO_EXC }>(t);
            let mut p = s(EXP2_POLY[0]);
            for &c in &EXP2_POLY[1..] {
                p = _mm512_fmadd_ps(p, f, s(c));
            }
            _mm512_maskz_scalef_ps(keep, p, t)
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

    /// `ln(x)` lane-wise in f64 for positive finite `x`: `x = m 2^e` with `m` in
    /// `[sqrt(1/2), sqrt(2))`, `ln m = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, `|s| < 0.172`, by
    /// its series to `s^15` (relative error below 1e-13).
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (the function only computes on registers).
    #[inline(always)]
    pub(crate) unsafe fn ln_pd(x: __m512d) -> __m512d {
        unsafe {
            let s = _mm512_set1_pd;
            let mut e = _mm512_getexp_pd(x);
            let mut m = _mm512_getmant_pd::<_MM_MANT_NORM_1_2, _MM_MANT_SIGN_SRC>(x);
            let big = _mm512_cmp_pd_mask::<_CMP_GT_OQ>(m, s(std::f64::consts::SQRT_2));
            m = _mm512_mask_mul_pd(m, big, m, s(0.5));
            e = _mm512_mask_add_pd(e, big, e, s(1.0));
            let t = _mm512_div_pd(_mm512_sub_pd(m, s(1.0)), _mm512_add_pd(m, s(1.0)));
            let t2 = _mm512_mul_pd(t, t);
            let mut p = s(1.0 / 15.0);
            for c in [13.0, 11.0, 9.0, 7.0, 5.0, 3.0, 1.0] {
                p = _mm512_fmadd_pd(p, t2, s(1.0 / c));
            }
            let lnm = _mm512_mul_pd(_mm512_add_pd(t, t), p);
            _mm512_fmadd_pd(e, s(std::f64::consts::LN_2), lnm)
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
    use super::RowTotals;
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
