//! The entmax-1.5 and sparsemax soft-lloyd rows for f32 with AVX-512 and `k <= 64` (AVX2 +
//! FMA CPUs: [`crate::kernels::soft::sparse_avx2`], called from here), fused as
//! the softmax rows of [`crate::kernels::soft::softmax`]: per block of six rows the shifted
//! distances `u = cn - 2 x . c` stay in registers (no distance tile), and each row goes
//! straight to its few nonzero responsibilities and adds them into the cluster sums while
//! the row is in L1.
//!
//! Per row: `z = -(u - umin) / s` (`s = 2 temp` for entmax-1.5, `temp` for sparsemax), the
//! candidates `z > -1` as one 64-bit mask. One candidate is a one-hot row (weight `w` at the
//! nearest center, no threshold). Otherwise the candidates and their center indices are
//! compressed, the exact threshold comes from [`crate::kernels::soft::rows_avx512`]'s kernels (in vector
//! lanes for up to 16 candidates, the sorted scan beyond), and the nonzeros `w r_ij` go into
//! `sums_j += (w r_ij) x_i` and the column sums in row order (a product, then a sum, as the
//! tile pipeline's sparse sums). Thresholds and weights are computed by the same operations
//! as in the tile pipeline from `u - umin` instead of `D - Dmin`, so results agree with it to
//! f32 rounding.

use crate::kernels::soft::shared::RowTotals;
use crate::kernels::soft::shared::{FusedRows, SparseMap, SparseScratch, GROUP, MAX_K, MR, SLOT};

pub use crate::kernels::soft::shared::available;

/// `map` rows of `rows`, without storing them: adds `sum_i w_i r_ij x_i` into `sums` (`k x
/// d`) and `sum_i w_i r_ij` into `colsum` (`k`, f32, rows in order) when `sums` is given;
/// returns the totals of the rows. Call only when [`available`].
pub fn sparse_sums(
    map: SparseMap,
    rows: &FusedRows<'_>,
    sums: Option<(&mut [f32], &mut [f32])>,
    scratch: &mut SparseScratch,
) -> RowTotals {
    let (k, d, _) = rows.shape();
    if let Some((s, c)) = &sums {
        assert!(s.len() == k * d && c.len() == k);
    }
    assert!(available(rows.isa, rows.pack.k()));
    scratch.xpad.resize(MR * d, 0.0);
    scratch.cand.resize(GROUP * SLOT, 0.0);
    scratch.sorted.resize(MAX_K, 0.0);
    scratch.weight.resize(2 * MAX_K + 16, 0.0);
    if !rows.isa.avx512() {
        scratch.cidx.resize(GROUP * SLOT, 0);
        // SAFETY: the tier has AVX2, FMA, BMI1 and POPCNT (`available`), shapes asserted,
        // buffers sized above.
        return unsafe { crate::kernels::soft::sparse_avx2::run(map, rows, sums, scratch) };
    }
    // SAFETY: the tier has AVX-512, shapes asserted.
    unsafe {
        match map {
            SparseMap::Entmax15 => imp::run::<false>(rows, sums, scratch),
            SparseMap::Sparsemax => imp::run::<true>(rows, sums, scratch),
        }
    }
}

#[cfg(target_arch = "x86_64")]
mod imp {
    use crate::kernels::dispatch::lanes16 as lanes;
    use crate::kernels::soft::avx512::{add_scaled_row, threshold16, threshold64};
    use crate::kernels::soft::avx512::{cross, reduce6};
    use crate::kernels::soft::shared::block_rows;
    use crate::kernels::soft::shared::SpreadRow;
    use crate::kernels::soft::shared::{threshold, threshold_sparsemax};
    use crate::kernels::soft::shared::{
        FusedRows, Pending, RowTotals, SparseScratch, GROUP, MR, SLOT,
    };
    use core::arch::x86_64::*;

    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1, BMI2 and POPCNT); the shapes `sparse_sums`
    /// asserts and the scratch buffers it sizes.
    #[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma,popcnt,bmi1,bmi2")]
    pub unsafe fn run<const SPARSE: bool>(
        rows: &FusedRows<'_>,
        sums: Option<(&mut [f32], &mut [f32])>,
        s: &mut SparseScratch,
    ) -> RowTotals {
        unsafe {
            match rows.pack.k().div_ceil(16) {
                1 => run_nv::<SPARSE, 1>(rows, sums, s),
                2 => run_nv::<SPARSE, 2>(rows, sums, s),
                3 => run_nv::<SPARSE, 3>(rows, sums, s),
                _ => run_nv::<SPARSE, 4>(rows, sums, s),
            }
        }
    }

    /// The candidates' masks of one row as one bit mask over its `16 NV` centers.
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1, BMI2 and POPCNT) (the function only computes on
    /// registers).
    #[inline(always)]
    unsafe fn combine<const NV: usize>(m: &[__mmask16; NV]) -> u64 {
        unsafe {
            match NV {
                4 => {
                    let lo = _mm512_kunpackw(m[1] as u32, m[0] as u32);
                    let hi = _mm512_kunpackw(m[3] as u32, m[2] as u32);
                    _mm512_kunpackd(hi as u64, lo as u64)
                }
                _ => m
                    .iter()
                    .enumerate()
                    .fold(0u64, |a, (v, &b)| a | ((b as u64) << (16 * v))),
            }
        }
    }

    /// `sums_j += c x` and `colsum_j += c` for the row at `xr` (`d` values).
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1, BMI2 and POPCNT); `xr` is readable for `d`
    /// values; `sums`, when given, points to `k x d` sums and `k` column sums with `j < k`.
    #[inline(always)]
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
            add_scaled_row(sums.add(j * d), xr, d, c);
            *col.add(j) += c;
        }
    }

    /// Over the `m <= 16 NC` candidates at `c` with threshold `tau`: `(sum q, sum q v, -sum q
    /// z, kept)` with `v = z - tau > 0`, `q = v^2` (entmax-1.5) or `v` (sparsemax), `kept` the
    /// candidates with `v > 0` as bits; `q` of every candidate goes to `qout` (`16 NC` values).
    ///
    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1, BMI2 and POPCNT); `c` is readable for `16 NC`
    /// values (`m` of them candidates); `qout` is writable for as many.
    #[inline(always)]
    unsafe fn support_moments<const SPARSE: bool, const NC: usize>(
        c: *const f32,
        m: usize,
        tau: f32,
        qout: *mut f32,
    ) -> (f32, f32, f32, u64) {
        unsafe {
            let zero = _mm512_setzero_ps();
            let tv = _mm512_set1_ps(tau);
            let (mut sq, mut sqv, mut sz) = (zero, zero, zero);
            let mut kept = 0u64;
            for v in 0..NC {
                let lm = lanes(m.saturating_sub(16 * v));
                let z = _mm512_maskz_loadu_ps(lm, c.add(16 * v));
                let d = _mm512_maskz_sub_ps(lm, z, tv);
                let pos = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(lm, d, zero);
                let d = _mm512_maskz_mov_ps(pos, d);
                let q = if SPARSE { d } else { _mm512_mul_ps(d, d) };
                sq = _mm512_add_ps(sq, q);
                sqv = _mm512_fmadd_ps(q, d, sqv);
                sz = _mm512_fmadd_ps(q, z, sz);
                kept |= (pos as u64) << (16 * v);
                _mm512_storeu_ps(qout.add(16 * v), q);
            }
            (
                _mm512_reduce_add_ps(sq),
                _mm512_reduce_add_ps(sqv),
                -_mm512_reduce_add_ps(sz),
                kept,
            )
        }
    }

    /// # Safety
    /// The CPU runs the AVX-512 tier (with BMI1, BMI2 and POPCNT); the shapes `sparse_sums`
    /// asserts, `k <= 16 NV`, and the scratch buffers it sizes.
    #[inline(always)]
    unsafe fn run_nv<const SPARSE: bool, const NV: usize>(
        rows_in: &FusedRows<'_>,
        sums: Option<(&mut [f32], &mut [f32])>,
        s: &mut SparseScratch,
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
            } = *rows_in;
            let (k, d) = (pack.k(), pack.d());
            let b = xn.len();
            let zero = _mm512_setzero_ps();
            let inf = _mm512_set1_ps(f32::INFINITY);
            let valid: [__mmask16; NV] = core::array::from_fn(|v| lanes(k.saturating_sub(16 * v)));
            let cnv: [__m512; NV] = core::array::from_fn(|v| {
                _mm512_mask_loadu_ps(inf, valid[v], cn.as_ptr().add(16 * v))
            });
            let scale = if SPARSE { temp } else { temp + temp };
            // z = (u - umin) * (-1 / scale): the tile pipeline's -((D - Dmin) * (1 / scale)).
            let ninv = _mm512_set1_ps(-(1.0 / scale));
            let m1 = _mm512_set1_ps(-1.0);
            let sums = sums.map(|(s, c)| (s.as_mut_ptr(), c.as_mut_ptr()));
            let panel = pack.first_panel().as_ptr();
            let (cand, weight) = (s.cand.as_mut_ptr(), s.weight.as_mut_ptr());
            let sorted = s.sorted.as_mut_ptr();
            let mut rows = [Pending::EMPTY; GROUP];
            let mut tot = RowTotals::default();
            let mut g0 = 0;
            while g0 < b {
                let g1 = (g0 + GROUP).min(b);
                let mut spread = [0u8; GROUP];
                let mut nspread = 0;
                // Phase 1, block by block: shifted distances, candidates; spread rows keep theirs
                // (compressed, with their centers) in their slot.
                let mut i = g0;
                while i < g1 {
                    let real = (g1 - i).min(MR);
                    // Only the last block of a call is short: its padded copy outlives it.
                    let (xr, xn6, w6) = block_rows(x, xn, w, d, i, real, &mut s.xpad);
                    let mut u = [[zero; NV]; MR];
                    cross::<NV>(xr, d, panel, &cnv, &mut u);
                    let mins: [__m512; MR] = core::array::from_fn(|r| {
                        let mut m = u[r][0];
                        for v in 1..NV {
                            m = _mm512_min_ps(m, u[r][v]);
                        }
                        m
                    });
                    let umin = reduce6(&mins, inf, |a, b| _mm512_min_ps(a, b));
                    for r in 0..real {
                        let slot = i - g0 + r;
                        let um = _mm512_set1_ps(umin[r]);
                        let mut zs = [zero; NV];
                        let mut cms = [0 as __mmask16; NV];
                        for v in 0..NV {
                            let z = _mm512_mul_ps(_mm512_maskz_sub_ps(valid[v], u[r][v], um), ninv);
                            cms[v] = _mm512_mask_cmp_ps_mask::<_CMP_GT_OQ>(valid[v], z, m1);
                            zs[v] = z;
                        }
                        let mask = combine::<NV>(&cms);
                        let dmin = (xn6[r] + umin[r]).max(0.0);
                        rows[slot] = Pending::new(xr.add(r * d), w6[r], dmin, mask);
                        // The spread rows' slots, listed without a branch.
                        spread[nspread] = slot as u8;
                        nspread += (mask.count_ones() != 1) as usize;
                        // The candidates, compressed in index order (stored for every row, without
                        // a branch; one-hot rows do not read them).
                        let cz = cand.add(slot * SLOT);
                        let mut m = 0usize;
                        for v in 0..NV {
                            _mm512_storeu_ps(cz.add(m), _mm512_maskz_compress_ps(cms[v], zs[v]));
                            m += cms[v].count_ones() as usize;
                        }
                    }
                    i += MR;
                }
                // Phase 2: the thresholds of the spread rows (independent rows: their division,
                // root and reduction latencies overlap).
                for &slot in &spread[..nspread] {
                    let slot = slot as usize;
                    let p = &mut rows[slot];
                    let (cz, m) = (cand.add(slot * SLOT), p.m as usize);
                    p.tau = if m <= 16 {
                        threshold16::<SPARSE>(cz, m)
                    } else if m <= 64 {
                        threshold64::<SPARSE>(cz, m)
                    } else {
                        // The sorted scan sorts a copy: the weights need the index order.
                        let c = core::slice::from_raw_parts_mut(sorted, m);
                        c.copy_from_slice(core::slice::from_raw_parts(cz, m));
                        if SPARSE {
                            threshold_sparsemax(c)
                        } else {
                            threshold(c)
                        }
                    };
                }
                // Phase 3, rows in order: the weights into the sums and column sums, the totals.
                for (slot, p) in rows[..g1 - g0].iter().enumerate() {
                    if p.onehot != u32::MAX {
                        add_row(sums, p.onehot as usize, d, p.x, p.w);
                        tot.add_onehot(p.w, p.dmin);
                        continue;
                    }
                    let (cz, m, tau) = (cand.add(slot * SLOT), p.m as usize, p.tau);
                    // v = z - tau > 0, q = v^2 (entmax-1.5) or v (sparsemax): sum q normalizes,
                    // sum q v gives sum r^1.5 (resp. r^2), -sum q z gives sum r (D - Dmin) / scale.
                    let (sq, sqv, sz, pos) = if m <= 16 {
                        support_moments::<SPARSE, 1>(cz, m, tau, weight)
                    } else {
                        support_moments::<SPARSE, 4>(cz, m, tau, weight)
                    };
                    let support = pos.count_ones();
                    let norm = 1.0 / sq;
                    let wn = _mm512_set1_ps(p.w * norm);
                    // The nonzeros' weights in order, and their centers: the bits of the mask kept
                    // by `pos` (one loop over the support, no test per candidate).
                    let mut at = 0;
                    for v in 0..m.div_ceil(16) {
                        let kept = (pos >> (16 * v)) as u16;
                        let q = _mm512_maskz_loadu_ps(kept, weight.add(16 * v));
                        _mm512_storeu_ps(
                            weight.add(64 + at),
                            _mm512_maskz_compress_ps(kept, _mm512_mul_ps(q, wn)),
                        );
                        at += kept.count_ones() as usize;
                    }
                    let mut bits = _pdep_u64(pos, p.mask);
                    let mut a = 0;
                    while bits != 0 {
                        add_row(
                            sums,
                            bits.trailing_zeros() as usize,
                            d,
                            p.x,
                            *weight.add(64 + a),
                        );
                        bits &= bits - 1;
                        a += 1;
                    }
                    let row = SpreadRow {
                        w: p.w,
                        dmin: p.dmin,
                        scale,
                        norm,
                        sqv,
                        sz,
                        support,
                    };
                    row.add_to::<SPARSE>(&mut tot, temp);
                }
                g0 = g1;
            }
            tot
        }
    }
}

#[cfg(not(target_arch = "x86_64"))]
mod imp {
    use crate::kernels::soft::shared::{FusedRows, RowTotals, SparseScratch};
    /// # Safety
    /// Never called: only the x86-64 tiers run this kernel, and the portable tier has none.
    pub unsafe fn run<const SPARSE: bool>(
        _: &FusedRows<'_>,
        _: Option<(&mut [f32], &mut [f32])>,
        _: &mut SparseScratch,
    ) -> RowTotals {
        unreachable!("AVX-512 only")
    }
}
