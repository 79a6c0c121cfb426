//! The register argmin kernel of [`crate::kernels::assign::packed`] for CPUs with AVX2 + FMA and no AVX-512
//! (x86-64-v3: AMD Zen 1-3, Intel before Skylake-SP and its client cores).
//!
//! Without it such a CPU ran Lloyd's assignment as faer's GEMM tile plus a separate argmin
//! pass over the `b x k` tile. Here a panel of [`MR`] rows against a block of `2 x lanes`
//! centers lives in 12 of the 16 `ymm` registers (one FMA chain per lane over `d`, in order),
//! and the running minimum and its index per row are updated from the block while it is in
//! registers. Every distance is `cn_j - 2 (sum_t x_t c_jt)` with the chain and the final
//! `fma(acc, -2, cn)` of the AVX-512 kernel, so the labels are the same bits on both kinds of
//! machine. Centers are packed by [`Packed::new`] with `nb = 2 x lanes` (16 for f32, 8 for f64).
//!
//! The k-means++ seeding's distance panel is here too (`x86::dist_f32`, the AVX-512 kernel's
//! `max((cn - 2 acc) + xn, 0)` with the same FMA chain, on its `T::LANES`-wide candidate
//! groups as two registers) and the single-step seeding panel built on it.

use crate::kernels::assign::packing::{Packed, AVX2_MR as MR, AVX2_NARROW_MR as NARROW_MR};

#[cfg(target_arch = "x86_64")]
pub(crate) mod x86 {
    use super::{Packed, MR, NARROW_MR};
    use crate::kernels::assign::packing::AVX512_MR as PANEL_MR;
    use core::arch::x86_64::*;

    macro_rules! dist_kernel {
        ($name:ident, $seed:ident, $t:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident,
         $store:ident, $add:ident, $fmadd:ident, $max:ident) => {
            /// Raw distances of the `PANEL_MR` rows at `x` (stride `d`, squared norms `xn`)
            /// to the `2 x lanes` candidates packed as `panel[t * 2 lanes + j]` with norms
            /// `cn`: `out[r * 2 lanes + j] = max((cn_j - 2 acc) + xn_r, 0)`, `acc` one FMA
            /// chain over `t` (the AVX-512 kernel's bits). Four rows at a time (8
            /// accumulators).
            ///
            /// # Safety
            /// AVX2 and FMA available; `x` holds `PANEL_MR * d` values, `panel` `d * 2
            /// lanes`, `cn` `2 lanes`, `out` `PANEL_MR * 2 lanes`.
            #[target_feature(enable = "avx2,fma")]
            pub unsafe fn $name(
                x: *const $t,
                d: usize,
                xn: &[$t; PANEL_MR],
                panel: *const $t,
                cn: *const $t,
                out: *mut $t,
                prefetch: *const i8,
            ) {
                unsafe {
                    const L: usize = $lanes;
                    const W: usize = 2 * L;
                    if !prefetch.is_null() {
                        let bytes = PANEL_MR * d * core::mem::size_of::<$t>();
                        let mut off = 0;
                        while off < bytes {
                            _mm_prefetch::<_MM_HINT_T1>(prefetch.wrapping_add(off));
                            off += 64;
                        }
                    }
                    let (cn0, cn1) = ($load(cn), $load(cn.add(L)));
                    let m2 = $set1(-2.0);
                    for h in 0..PANEL_MR / 4 {
                        let xh = x.add(4 * h * d);
                        let mut a0 = [$zero(); 4];
                        let mut a1 = [$zero(); 4];
                        for t in 0..d {
                            let c0 = $load(panel.add(t * W));
                            let c1 = $load(panel.add(t * W + L));
                            for r in 0..4 {
                                let xb = $set1(*xh.add(r * d + t));
                                a0[r] = $fmadd(xb, c0, a0[r]);
                                a1[r] = $fmadd(xb, c1, a1[r]);
                            }
                        }
                        for r in 0..4 {
                            let xv = $set1(xn[4 * h + r]);
                            let o = out.add((4 * h + r) * W);
                            $store(o, $max($add($fmadd(a0[r], m2, cn0), xv), $zero()));
                            $store(o.add(L), $max($add($fmadd(a1[r], m2, cn1), xv), $zero()));
                        }
                    }
                }
            }

            /// The single-step seeding panel on [`$name`]'s distances, with the AVX-512
            /// kernel's arithmetic lane by lane: with `pending`, `closest_r <- min(D_r0,
            /// closest_r)` (`closest` on ties) first; then `pot[j] = fma(w_r, min(D_rj,
            /// closest_r), pot[j])` over the rows in order.
            ///
            /// # Safety
            /// As [`$name`]; `pot` holds `2 lanes` values.
            #[target_feature(enable = "avx2,fma")]
            #[allow(clippy::too_many_arguments)]
            pub unsafe fn $seed(
                x: *const $t,
                d: usize,
                xn: &[$t; PANEL_MR],
                closest: &mut [$t; PANEL_MR],
                w: &[$t; PANEL_MR],
                panel: *const $t,
                cn: *const $t,
                pending: bool,
                prefetch: *const i8,
                pot: &mut [$t; 2 * $lanes],
            ) {
                unsafe {
                    const W: usize = 2 * $lanes;
                    let mut dist = [0 as $t; PANEL_MR * W];
                    $name(x, d, xn, panel, cn, dist.as_mut_ptr(), prefetch);
                    for r in 0..PANEL_MR {
                        let row = &dist[r * W..(r + 1) * W];
                        if pending {
                            let d0 = row[0];
                            closest[r] = if d0 < closest[r] { d0 } else { closest[r] };
                        }
                        let cl = closest[r];
                        for (p, &v) in pot.iter_mut().zip(row) {
                            *p = w[r].mul_add(if v < cl { v } else { cl }, *p);
                        }
                    }
                }
            }
        };
    }

    dist_kernel!(
        dist_f32,
        seed_f32,
        f32,
        8,
        _mm256_set1_ps,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_storeu_ps,
        _mm256_add_ps,
        _mm256_fmadd_ps,
        _mm256_max_ps
    );
    dist_kernel!(
        dist_f64,
        seed_f64,
        f64,
        4,
        _mm256_set1_pd,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_storeu_pd,
        _mm256_add_pd,
        _mm256_fmadd_pd,
        _mm256_max_pd
    );

    macro_rules! argmin_kernel {
        ($name:ident, $t:ty, $v:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident,
         $add:ident, $fmadd:ident, $blend:ident, $cmp_lt:expr, $cmp_eq:expr, $hmin:expr,
         $first:ident) => {
            /// Nearest packed center of the `MR` rows at `xp` (row stride `pk.d`): `labels[r]`
            /// (lowest index on ties) and `best[r] = min_j (cn_j - 2 <x_r, c_j>)`.
            ///
            /// # Safety
            /// AVX2 and FMA available; `xp` points to `MR * pk.d` readable values; `pk.nb` is
            /// `2 x lanes`.
            #[target_feature(enable = "avx2,fma")]
            pub unsafe fn $name(
                xp: *const $t,
                pk: &Packed<$t>,
                labels: &mut [u32; MR],
                best: &mut [$t; MR],
            ) {
                unsafe {
                    const L: usize = $lanes;
                    let d = pk.d;
                    let nb = 2 * L;
                    debug_assert_eq!(pk.nb, nb);
                    // Running minimum and its center index (as a float: exact below 2^24) per
                    // row and lane; lane `l` sees the centers `= l mod L`, in increasing order.
                    let mut bv = [$set1(<$t>::INFINITY); MR];
                    let mut bi = [$zero(); MR];
                    let lane: [$t; L] = core::array::from_fn(|l| l as $t);
                    let lane = $load(lane.as_ptr());
                    let m2 = $set1(-2.0);
                    // The next panel's rows into L1 while this one is scored.
                    crate::kernels::dispatch::prefetch_following(
                        xp,
                        MR * d * core::mem::size_of::<$t>(),
                    );
                    for b in 0..pk.kpad / nb {
                        let mut a0 = [$zero(); MR];
                        let mut a1 = [$zero(); MR];
                        let p = pk.panel.as_ptr().add(b * d * nb);
                        for t in 0..d {
                            let c0 = $load(p.add(t * nb));
                            let c1 = $load(p.add(t * nb + L));
                            for r in 0..MR {
                                let xb = $set1(*xp.add(r * d + t));
                                a0[r] = $fmadd(xb, c0, a0[r]);
                                a1[r] = $fmadd(xb, c1, a1[r]);
                            }
                        }
                        let cn0 = $load(pk.cn.as_ptr().add(b * nb));
                        let cn1 = $load(pk.cn.as_ptr().add(b * nb + L));
                        let i0 = $add(lane, $set1((b * nb) as $t));
                        let i1 = $add(lane, $set1((b * nb + L) as $t));
                        for r in 0..MR {
                            let v0 = $fmadd(a0[r], m2, cn0);
                            let m = $cmp_lt(v0, bv[r]);
                            bv[r] = $blend(bv[r], v0, m);
                            bi[r] = $blend(bi[r], i0, m);
                            let v1 = $fmadd(a1[r], m2, cn1);
                            let m = $cmp_lt(v1, bv[r]);
                            bv[r] = $blend(bv[r], v1, m);
                            bi[r] = $blend(bi[r], i1, m);
                        }
                    }
                    // Per row: the minimum over the lanes, then the lowest index among the lanes
                    // that hold it (branch-free; the scalar loop's mispredictions cost ~15%).
                    let inf = $set1(<$t>::INFINITY);
                    for r in 0..MR {
                        let mv = $hmin(bv[r]);
                        let at = $blend(inf, bi[r], $cmp_eq(bv[r], mv));
                        labels[r] = $first($hmin(at)) as u32;
                        best[r] = $first(mv);
                    }
                }
            }
        };
    }

    macro_rules! argmin_narrow_kernel {
        ($name:ident, $t:ty, $v:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident,
         $fmadd:ident, $min:ident, $cmp_eq:expr, $hmin:expr, $first:ident, $movemask:ident) => {
            /// Nearest of the at most `lanes` centers packed in one block (`pk.nb ==
            /// pk.kpad == lanes`) for the `NARROW_MR` rows at `xp` (row stride `pk.d`): one
            /// register of centers, no padding lanes, no running minimum; the lowest lane
            /// holding the row's minimum. The same bits as [`argmin_f32`].
            ///
            /// # Safety
            /// AVX2 and FMA available; `xp` points to `NARROW_MR * pk.d` readable values.
            #[target_feature(enable = "avx2,fma")]
            pub unsafe fn $name(
                xp: *const $t,
                pk: &Packed<$t>,
                labels: &mut [u32; NARROW_MR],
                best: &mut [$t; NARROW_MR],
            ) {
                unsafe {
                    debug_assert!(pk.nb == $lanes && pk.kpad == $lanes);
                    let d = pk.d;
                    crate::kernels::dispatch::prefetch_following(
                        xp,
                        NARROW_MR * d * core::mem::size_of::<$t>(),
                    );
                    let p = pk.panel.as_ptr();
                    let mut a = [$zero(); NARROW_MR];
                    for t in 0..d {
                        let c = $load(p.add(t * $lanes));
                        for r in 0..NARROW_MR {
                            a[r] = $fmadd($set1(*xp.add(r * d + t)), c, a[r]);
                        }
                    }
                    let cn = $load(pk.cn.as_ptr());
                    let (m2, inf) = ($set1(-2.0), $set1(<$t>::INFINITY));
                    for r in 0..NARROW_MR {
                        // A NaN distance becomes `inf` (never taken, as in the running kernel).
                        let v = $min($fmadd(a[r], m2, cn), inf);
                        let mv = $hmin(v);
                        let eq = $movemask($cmp_eq(v, mv)) as u32;
                        labels[r] = eq.trailing_zeros();
                        best[r] = $first(mv);
                    }
                }
            }
        };
    }

    argmin_narrow_kernel!(
        argmin_narrow_f32,
        f32,
        __m256,
        8,
        _mm256_set1_ps,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_fmadd_ps,
        _mm256_min_ps,
        |a, b| _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b),
        |v: __m256| {
            let v = _mm256_min_ps(v, _mm256_permute2f128_ps::<1>(v, v));
            let v = _mm256_min_ps(v, _mm256_shuffle_ps::<0b01_00_11_10>(v, v));
            _mm256_min_ps(v, _mm256_shuffle_ps::<0b10_11_00_01>(v, v))
        },
        _mm256_cvtss_f32,
        _mm256_movemask_ps
    );
    argmin_narrow_kernel!(
        argmin_narrow_f64,
        f64,
        __m256d,
        4,
        _mm256_set1_pd,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_fmadd_pd,
        _mm256_min_pd,
        |a, b| _mm256_cmp_pd::<_CMP_EQ_OQ>(a, b),
        |v: __m256d| {
            let v = _mm256_min_pd(v, _mm256_permute2f128_pd::<1>(v, v));
            _mm256_min_pd(v, _mm256_shuffle_pd::<0b0101>(v, v))
        },
        _mm256_cvtsd_f64,
        _mm256_movemask_pd
    );

    argmin_kernel!(
        argmin_f32,
        f32,
        __m256,
        8,
        _mm256_set1_ps,
        _mm256_setzero_ps,
        _mm256_loadu_ps,
        _mm256_add_ps,
        _mm256_fmadd_ps,
        _mm256_blendv_ps,
        |a, b| _mm256_cmp_ps::<_CMP_LT_OQ>(a, b),
        |a, b| _mm256_cmp_ps::<_CMP_EQ_OQ>(a, b),
        |v: __m256| {
            // The minimum of the eight lanes, in every lane.
            let v = _mm256_min_ps(v, _mm256_permute2f128_ps::<1>(v, v));
            let v = _mm256_min_ps(v, _mm256_shuffle_ps::<0b01_00_11_10>(v, v));
            _mm256_min_ps(v, _mm256_shuffle_ps::<0b10_11_00_01>(v, v))
        },
        _mm256_cvtss_f32
    );
    argmin_kernel!(
        argmin_f64,
        f64,
        __m256d,
        4,
        _mm256_set1_pd,
        _mm256_setzero_pd,
        _mm256_loadu_pd,
        _mm256_add_pd,
        _mm256_fmadd_pd,
        _mm256_blendv_pd,
        |a, b| _mm256_cmp_pd::<_CMP_LT_OQ>(a, b),
        |a, b| _mm256_cmp_pd::<_CMP_EQ_OQ>(a, b),
        |v: __m256d| {
            // The minimum of the four lanes, in every lane.
            let v = _mm256_min_pd(v, _mm256_permute2f128_pd::<1>(v, v));
            _mm256_min_pd(v, _mm256_shuffle_pd::<0b0101>(v, v))
        },
        _mm256_cvtsd_f64
    );
}
