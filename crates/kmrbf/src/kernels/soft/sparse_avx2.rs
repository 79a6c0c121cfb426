//! The fused entmax-1.5 / sparsemax soft-lloyd rows of [`crate::kernels::soft::sparse`] for CPUs
//! with AVX2 + FMA and no AVX-512 (AMD Zen 1-3): same inputs, outputs and phases, on 8-lane
//! `ymm` registers.
//!
//! Per block of six rows, `u = cn - 2 x . c` comes from the AVX2 softmax kernel's `6 x 16`
//! register blocks (the same FMA chain per entry as the AVX-512 kernel) into a 1.5 KiB L1
//! buffer. Per row, `z = (u - umin) (-1 / scale)` and the candidates `z > -1` are the AVX-512
//! kernel's values bit for bit; AVX2 has no compressing store, so each 8-lane vector's
//! candidates are moved to the front by a permutation from a 256-entry table (indexed by the
//! vector's candidate bits), and the same table gives the candidates' center indices as bytes
//! (no `pdep`, which is microcoded and slow on Zen 1-2). The thresholds are the AVX-512
//! kernel's lane-parallel rule with the same operations per lane (bit for bit the same
//! threshold); only the moments' lane sums go in another order, so the weights agree with the
//! AVX-512 kernel's to f32 rounding.

use crate::kernels::soft::shared::FusedRows;
use crate::kernels::soft::shared::RowTotals;
use crate::kernels::soft::shared::{SparseMap, SparseScratch};

/// The sparse rows of `rows` with their sums, as [`crate::kernels::soft::sparse::sparse_sums`] (its
/// shapes already checked).
///
/// # Safety
/// AVX2, FMA, BMI1 and POPCNT available; `rows.pack.k() <= 64`; the scratch buffers sized as
/// `sparse_sums` sizes them.
#[cfg(target_arch = "x86_64")]
pub(crate) unsafe fn run(
    map: SparseMap,
    rows: &FusedRows<'_>,
    sums: Option<(&mut [f32], &mut [f32])>,
    s: &mut SparseScratch,
) -> RowTotals {
    unsafe {
        match (map, rows.pack.k().div_ceil(16)) {
            (SparseMap::Entmax15, 1) => imp::run_nc::<false, 1>(rows, sums, s),
            (SparseMap::Entmax15, 2) => imp::run_nc::<false, 2>(rows, sums, s),
            (SparseMap::Entmax15, 3) => imp::run_nc::<false, 3>(rows, sums, s),
            (SparseMap::Entmax15, _) => imp::run_nc::<false, 4>(rows, sums, s),
            (SparseMap::Sparsemax, 1) => imp::run_nc::<true, 1>(rows, sums, s),
            (SparseMap::Sparsemax, 2) => imp::run_nc::<true, 2>(rows, sums, s),
            (SparseMap::Sparsemax, 3) => imp::run_nc::<true, 3>(rows, sums, s),
            (SparseMap::Sparsemax, _) => imp::run_nc::<true, 4>(rows, sums, s),
        }
    }
}

/// Unreachable off x86-64 (AVX2 is never detected there).
///
/// # Safety
/// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
#[cfg(not(target_arch = "x86_64"))]
pub(crate) unsafe fn run(
    _: SparseMap,
    _: &FusedRows<'_>,
    _: Option<(&mut [f32], &mut [f32])>,
    _: &mut SparseScratch,
) -> RowTotals {
    unreachable!("AVX2 only")
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use crate::kernels::soft::avx2::{cross_block, hreduce};
    use crate::kernels::soft::shared::block_rows;
    use crate::kernels::soft::shared::padded_cn;
    use crate::kernels::soft::shared::{FusedRows, MAX_K, MR};
    use crate::kernels::soft::shared::{Pending, SparseScratch, GROUP, SLOT};
    use crate::kernels::soft::shared::{RowTotals, COMPRESS};
    use crate::kernels::soft::shared::{SpreadRow, RECIP16};
    use core::arch::x86_64::*;

    /// `u` of one block of rows: `MR` rows of 64 values, on a cache line.
    #[repr(C, align(64))]
    struct Block([f32; MR * MAX_K]);

    /// Lanes `< n` of eight as an all-ones mask vector.
    ///
    /// # Safety
    /// The CPU runs the AVX2 + FMA tier (with BMI1 and POPCNT) (the function only computes on
    /// registers).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn lanes8(n: usize) -> __m256 {
        let iota = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
        let n = _mm256_set1_epi32(n.min(8) as i32);
        _mm256_castsi256_ps(_mm256_cmpgt_epi32(n, iota))
    }

    /// The whole call for `16 NC >= k` centers (`2 NC` vectors a row).
    ///
    /// # Safety
    /// The CPU runs the AVX2 + FMA tier (with BMI1 and POPCNT); the shapes `sparse_sums` asserts,
    /// `k <= 16 NC`, and the scratch buffers it sizes.
    #[target_feature(enable = "avx2,fma,bmi1,popcnt")]
    pub(super) unsafe fn run_nc<const SPARSE: bool, const NC: usize>(
        rows_in: &FusedRows<'_>,
        sums: Option<(&mut [f32], &mut [f32])>,
        s: &mut SparseScratch,
    ) -> RowTotals {
        unsafe {
            let (x, xn, w, temp) = (rows_in.x, rows_in.xn, rows_in.w, rows_in.temp);
            let (d, b) = (rows_in.pack.d(), xn.len());
            let panel = rows_in.pack.first_panel().as_ptr();
            // Past k, u = +inf: its z is -inf (never a candidate).
            let cnp = padded_cn(rows_in.cn);
            let scale = if SPARSE { temp } else { temp + temp };
            // z = (u - umin) * (-1 / scale), as the AVX-512 kernel.
            let ninv = _mm256_set1_ps(-(1.0 / scale));
            let m1 = _mm256_set1_ps(-1.0);
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
                // Phase 1, block by block: shifted distances, candidates; every row keeps its
                // candidates (compressed, with their centers) in its slot.
                let mut i = g0;
                while i < g1 {
                    let real = (g1 - i).min(MR);
                    let (xr, xn6, w6) = block_rows(x, xn, w, d, i, real, &mut s.xpad);
                    cross_block::<NC>(xr, d, panel, &cnp, ubuf.0.as_mut_ptr());
                    for r in 0..real {
                        let slot = i - g0 + r;
                        let u = ubuf.0.as_ptr().add(r * MAX_K);
                        let mut mn = _mm256_load_ps(u);
                        for v in 1..2 * NC {
                            mn = _mm256_min_ps(mn, _mm256_load_ps(u.add(8 * v)));
                        }
                        let umin = hreduce(mn, |a, b| _mm256_min_ps(a, b));
                        let um = _mm256_set1_ps(umin);
                        let (cz, ci) = (cand.add(slot * SLOT), cidx.add(slot * SLOT));
                        let mut m = 0usize;
                        let mut mask = 0u64;
                        for v in 0..2 * NC {
                            let z = _mm256_mul_ps(
                                _mm256_sub_ps(_mm256_load_ps(u.add(8 * v)), um),
                                ninv,
                            );
                            let cm =
                                _mm256_movemask_ps(_mm256_cmp_ps::<_CMP_GT_OQ>(z, m1)) as usize;
                            // The candidates to the front, stored without a branch (slack past
                            // them), with their centers as bytes.
                            let sel = COMPRESS[cm];
                            let perm = _mm256_cvtepu8_epi32(_mm_cvtsi64_si128(sel as i64));
                            _mm256_storeu_ps(cz.add(m), _mm256_permutevar8x32_ps(z, perm));
                            let centers = sel + (8 * v as u64) * 0x0101_0101_0101_0101;
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
                // Phase 2: the thresholds of the spread rows (independent rows: their latencies
                // overlap).
                for &slot in &spread[..nspread] {
                    let slot = slot as usize;
                    let p = &mut rows[slot];
                    let (cz, m) = (cand.add(slot * SLOT), p.m as usize);
                    debug_assert!((2..=64).contains(&m));
                    p.tau = if m <= 8 {
                        threshold::<SPARSE, 1>(cz, m)
                    } else if m <= 16 {
                        threshold::<SPARSE, 2>(cz, m)
                    } else {
                        threshold::<SPARSE, 8>(cz, m)
                    };
                }
                // Phase 3, rows in order: the weights into the sums and column sums, the totals.
                for (slot, p) in rows[..g1 - g0].iter().enumerate() {
                    if p.onehot != u32::MAX {
                        add_row(sums, p.onehot as usize, d, p.x, p.w);
                        tot.add_onehot(p.w, p.dmin);
                        continue;
                    }
                    let (cz, ci, m) = (cand.add(slot * SLOT), cidx.add(slot * SLOT), p.m as usize);
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

    /// The threshold of `2 <= m <= 8 NV` candidates at `c` (any order; readable up to `8 NV`
    /// values): the AVX-512 kernels' lane rule (`threshold16` / `threshold64` of
    /// [`crate::kernels::soft::rows_avx512`]) with the same operations per lane: for each
    /// candidate the moments of the candidates `>= z_j`, the threshold they give, and the
    /// largest consistent one. `1 / n` from a table for one vector, by division otherwise
    /// (both correctly rounded, so the same value).
    ///
    /// # Safety
    /// The CPU runs the AVX2 + FMA tier (with BMI1 and POPCNT); `c` is readable for `8 NV` values
    /// (`2 <= m <= 8 NV` of them candidates).
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn threshold<const SPARSE: bool, const NV: usize>(c: *const f32, m: usize) -> f32 {
        unsafe {
            let valid: [__m256; NV] = core::array::from_fn(|v| lanes8(m.saturating_sub(8 * v)));
            let z: [__m256; NV] =
                core::array::from_fn(|v| _mm256_and_ps(valid[v], _mm256_loadu_ps(c.add(8 * v))));
            let one = _mm256_set1_ps(1.0);
            let zero = _mm256_setzero_ps();
            let (mut s1, mut s2, mut cnt) = ([zero; NV], [zero; NV], [zero; NV]);
            for i in 0..m {
                let zi = _mm256_set1_ps(*c.add(i));
                let zz = _mm256_mul_ps(zi, zi);
                for v in 0..NV {
                    let ge = _mm256_and_ps(valid[v], _mm256_cmp_ps::<_CMP_LE_OQ>(z[v], zi));
                    s1[v] = _mm256_add_ps(s1[v], _mm256_and_ps(ge, zi));
                    if !SPARSE {
                        s2[v] = _mm256_add_ps(s2[v], _mm256_and_ps(ge, zz));
                    }
                    cnt[v] = _mm256_add_ps(cnt[v], _mm256_and_ps(ge, one));
                }
            }
            let mut best = _mm256_set1_ps(f32::NEG_INFINITY);
            for v in 0..NV {
                // Lanes past m have cnt 0: their 1 / cnt is never used (not valid).
                let ic = if NV == 1 {
                    let recip = _mm256_loadu_ps(RECIP16.as_ptr());
                    let idx = _mm256_sub_epi32(_mm256_cvttps_epi32(cnt[v]), _mm256_set1_epi32(1));
                    _mm256_permutevar8x32_ps(recip, idx)
                } else {
                    _mm256_div_ps(one, cnt[v])
                };
                let (t, ok) = if SPARSE {
                    let t = _mm256_mul_ps(_mm256_sub_ps(s1[v], one), ic);
                    (t, _mm256_cmp_ps::<_CMP_LT_OQ>(t, z[v]))
                } else {
                    let mean = _mm256_mul_ps(s1[v], ic);
                    let var = _mm256_fmsub_ps(s2[v], ic, _mm256_mul_ps(mean, mean));
                    let delta = _mm256_mul_ps(_mm256_fnmadd_ps(cnt[v], var, one), ic);
                    let t = _mm256_sub_ps(mean, _mm256_sqrt_ps(_mm256_max_ps(delta, zero)));
                    (t, _mm256_cmp_ps::<_CMP_LE_OQ>(t, z[v]))
                };
                best = _mm256_max_ps(best, _mm256_blendv_ps(best, t, _mm256_and_ps(ok, valid[v])));
            }
            hreduce(best, |a, b| _mm256_max_ps(a, b))
        }
    }

    /// Over the `m` candidates at `c` with threshold `tau`: `(sum q, sum q v, -sum q z,
    /// kept)` with `v = z - tau > 0`, `q = v^2` (entmax-1.5) or `v` (sparsemax), `kept` the
    /// candidates with `v > 0` as bits; `q` of every candidate goes to `qout`.
    ///
    /// # Safety
    /// The CPU runs the AVX2 + FMA tier (with BMI1 and POPCNT); `c` is readable for `m` values
    /// rounded up to 8; `qout` is writable for as many.
    #[inline]
    #[target_feature(enable = "avx2,fma,popcnt")]
    unsafe fn support_moments<const SPARSE: bool>(
        c: *const f32,
        m: usize,
        tau: f32,
        qout: *mut f32,
    ) -> (f32, f32, f32, u64) {
        unsafe {
            let zero = _mm256_setzero_ps();
            let tv = _mm256_set1_ps(tau);
            let (mut sq, mut sqv, mut sz) = (zero, zero, zero);
            let mut kept = 0u64;
            for v in 0..m.div_ceil(8) {
                let lm = lanes8(m - 8 * v);
                let z = _mm256_and_ps(lm, _mm256_loadu_ps(c.add(8 * v)));
                let pos =
                    _mm256_and_ps(lm, _mm256_cmp_ps::<_CMP_GT_OQ>(_mm256_sub_ps(z, tv), zero));
                let dv = _mm256_and_ps(pos, _mm256_sub_ps(z, tv));
                let q = if SPARSE { dv } else { _mm256_mul_ps(dv, dv) };
                sq = _mm256_add_ps(sq, q);
                sqv = _mm256_fmadd_ps(q, dv, sqv);
                sz = _mm256_fmadd_ps(q, z, sz);
                kept |= (_mm256_movemask_ps(pos) as u64) << (8 * v);
                _mm256_storeu_ps(qout.add(8 * v), q);
            }
            let add = |a, b| _mm256_add_ps(a, b);
            (hreduce(sq, add), hreduce(sqv, add), -hreduce(sz, add), kept)
        }
    }

    /// `sums_j += c x` and `colsum_j += c` for the row at `xr` (`d` values): a product, then a
    /// sum, per value (the AVX-512 kernel's operations).
    ///
    /// # Safety
    /// The CPU runs the AVX2 + FMA tier (with BMI1 and POPCNT); `xr` is readable for `d` values;
    /// `sums`, when given, points to `k x d` sums and `k` column sums with `j < k`.
    #[inline]
    #[target_feature(enable = "avx2,fma")]
    unsafe fn add_row(
        sums: Option<(*mut f32, *mut f32)>,
        j: usize,
        d: usize,
        xr: *const f32,
        c: f32,
    ) {
        unsafe {
            let Some((sums, col)) = sums else {
                return;
            };
            let dst = sums.add(j * d);
            let cv = _mm256_set1_ps(c);
            let mut t = 0;
            while t + 8 <= d {
                let v = _mm256_mul_ps(cv, _mm256_loadu_ps(xr.add(t)));
                _mm256_storeu_ps(dst.add(t), _mm256_add_ps(_mm256_loadu_ps(dst.add(t)), v));
                t += 8;
            }
            while t < d {
                *dst.add(t) += c * *xr.add(t);
                t += 1;
            }
            *col.add(j) += c;
        }
    }
}
