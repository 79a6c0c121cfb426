//! Hand-written AVX-512 distance kernels on packed centers (x86-64 only, chosen at run time).
//!
//! faer's GEMM reaches only ~60% of the FMA peak on the thin shapes of K-Means (`d = 32`,
//! `k = 64`), and a separate argmin pass over the distance tile costs as much again. These
//! kernels compute `cn_j - 2 <x_i, c_j>` for a panel of `MR` rows against blocks of `NB`
//! centers entirely in registers (`MR x NB` accumulators, one FMA chain per lane over `d`),
//! and either keep the running argmin in registers (Lloyd's assignment) or store the block
//! (the soft maps). Results do not depend on how rows are split into tiles or threads: each
//! output is one fixed FMA chain.
//!
//! The centers come packed by [`super::packing::Packed`].

use crate::kernels::assign::packed_avx2;
use crate::kernels::assign::packing::{
    Packed, AVX2_MR, AVX2_NARROW_MR, AVX2_NB_F32, AVX2_NB_F64, AVX512_MR as MR,
    AVX512_NARROW_MR as NARROW_MR, AVX512_NB_F32, AVX512_NB_F64, PAIR_MR,
};
use crate::kernels::isa::Isa;
use crate::kernels::layout::aligned::Plain;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Packed, MR, NARROW_MR, PAIR_MR};
    use core::arch::x86_64::*;

    macro_rules! argmin_kernel {
        ($name:ident, $t:ty, $v:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident, $fmadd:ident,
         $cmp_mask:ident, $mask_mov:ident, $reduce_min:ident, $iv:ty, $iset1:ident, $iadd:ident,
         $isetr:expr, $imask_mov:ident, $imask_reduce_min:ident, $ity:ty) => {
            /// Running argmin of the `MR` rows at `xp` (row stride `d`) over all packed centers.
            ///
            /// # Safety
            /// AVX-512F must be available; `xp` must point to `MR * d` readable values.
            #[target_feature(enable = "avx512f")]
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
                    let mut bv = [$set1(<$t>::INFINITY); MR];
                    let mut bi: [$iv; MR] = [$iset1(0); MR];
                    let lane: $iv = $isetr;
                    let m2 = $set1(-2.0);
                    // Prefetch the next panel's rows (rows are contiguous; a prefetch past the end
                    // of the data is a harmless hint on x86). Measured ~5-8% on the thin shape.
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
                        let i0 = $iadd(lane, $iset1((b * nb) as _));
                        let i1 = $iadd(lane, $iset1((b * nb + L) as _));
                        for r in 0..MR {
                            let v0 = $fmadd(a0[r], m2, cn0);
                            let m = $cmp_mask::<_CMP_LT_OQ>(v0, bv[r]);
                            bv[r] = $mask_mov(bv[r], m, v0);
                            bi[r] = $imask_mov(bi[r], m, i0);
                            let v1 = $fmadd(a1[r], m2, cn1);
                            let m = $cmp_mask::<_CMP_LT_OQ>(v1, bv[r]);
                            bv[r] = $mask_mov(bv[r], m, v1);
                            bi[r] = $imask_mov(bi[r], m, i1);
                        }
                    }
                    for r in 0..MR {
                        let mn = $reduce_min(bv[r]);
                        let eq = $cmp_mask::<_CMP_EQ_OQ>(bv[r], $set1(mn));
                        labels[r] = $imask_reduce_min(eq, bi[r]) as u32;
                        best[r] = mn;
                    }
                }
            }
        };
    }

    macro_rules! argmin_narrow_kernel {
        ($name:ident, $t:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident, $fmadd:ident,
         $cmp_mask:ident, $reduce_min:ident, $min:ident) => {
            /// Nearest of the at most `LANES` centers packed in one block (`pk.kpad ==
            /// LANES`) for the `NARROW_MR` rows at `xp` (row stride `d`): one register of
            /// centers against 16 rows, so no lane is padding that the two-register kernel
            /// would compute, and no running minimum (the block is the whole answer: the
            /// lowest lane holding the row's minimum). Same FMA chain per distance, same
            /// labels and values as [`argmin_f32`].
            ///
            /// # Safety
            /// AVX-512F must be available; `xp` must point to `NARROW_MR * d` readable
            /// values; `pk` packed with `nb = LANES` and `kpad = LANES`.
            #[target_feature(enable = "avx512f")]
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
                        // `min(v, inf)` is `v`, or `inf` for a NaN (an overflowed distance): the
                        // running kernel never takes a NaN either, so both agree, lane 0 included
                        // when no distance is finite.
                        let v = $min($fmadd(a[r], m2, cn), inf);
                        let mn = $reduce_min(v);
                        let eq = $cmp_mask::<_CMP_EQ_OQ>(v, $set1(mn));
                        labels[r] = (eq as u32).trailing_zeros();
                        best[r] = mn;
                    }
                }
            }
        };
    }

    argmin_narrow_kernel!(
        argmin_narrow_f32,
        f32,
        16,
        _mm512_set1_ps,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_fmadd_ps,
        _mm512_cmp_ps_mask,
        _mm512_reduce_min_ps,
        _mm512_min_ps
    );
    argmin_narrow_kernel!(
        argmin_narrow_f64,
        f64,
        8,
        _mm512_set1_pd,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_fmadd_pd,
        _mm512_cmp_pd_mask,
        _mm512_reduce_min_pd,
        _mm512_min_pd
    );

    /// The FMA chains of one `mr`-row panel against one packed candidate group: `acc[r]` lane
    /// `j` is `sum_t x_rt c_jt`, one chain over `t` in order. The prefetches of the panel at
    /// `prefetch` (`mr * d` values, null: none) are spread over the `t` loop, branch-free (a
    /// burst of them stalls on the fill buffers; a loop spreading them exactly cost 20% of
    /// the seeding kernel in branches).
    macro_rules! panel_dots {
        ($mr:expr, $t:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident, $fmadd:ident,
         $hint:ident, $x:expr, $d:expr, $panel:expr, $prefetch:expr) => {{
            let (x, d, panel, prefetch) = ($x, $d, $panel, $prefetch);
            // Column `t` of the panel's rows spans `mr * size` bytes of the panel ahead: one
            // prefetch per started line of it (a repeated line costs only a load slot), at a
            // constant stride. A null `prefetch` reads the candidate panel instead, which is
            // in L1 anyway.
            const STEP: usize = $mr * core::mem::size_of::<$t>();
            const LINES: usize = STEP.div_ceil(64);
            let base = if prefetch.is_null() {
                panel as *const i8
            } else {
                prefetch
            };
            let mut acc = [$zero(); $mr];
            for t in 0..d {
                for l in 0..LINES {
                    _mm_prefetch::<$hint>(base.wrapping_add(t * STEP + l * 64));
                }
                let c = $load(panel.add(t * $lanes));
                for r in 0..$mr {
                    acc[r] = $fmadd($set1(*x.add(r * d + t)), c, acc[r]);
                }
            }
            acc
        }};
    }

    macro_rules! seed_kernel {
        ($name:ident, $t:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident, $fmadd:ident, $max:ident,
         $min:ident, $add:ident, $bcast0:expr, $first:ident) => {
            /// k-means++ seeding panel: `MR` rows at `x` (stride `d`, squared norms `xn`, weights
            /// `w`) against `LANES` candidates packed as `panel[t * LANES + j]` with norms `cn`:
            /// `D_ij = max((cn_j - 2 <x_i, c_j>) + xn_i, 0)`. With `pending`, lane 0 is the last
            /// chosen center and `closest_i <- min(closest_i, D_i0)` is written back first.
            /// Then `pot[j] += w_i min(closest_i, D_ij)` for every lane. Each `D_ij` is one FMA
            /// chain over `t`, so it has the same bits whatever the other lanes hold.
            ///
            /// # Safety
            /// AVX-512F available; `x` holds `MR * d` values, `panel` `d * LANES`, `cn` `LANES`.
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            pub unsafe fn $name(
                x: *const $t,
                d: usize,
                xn: &[$t; MR],
                closest: &mut [$t; MR],
                w: &[$t; MR],
                panel: *const $t,
                cn: *const $t,
                pending: bool,
                prefetch: *const i8,
                pot: &mut [$t; $lanes],
            ) {
                unsafe {
                    let acc = panel_dots!(
                        MR,
                        $t,
                        $lanes,
                        $set1,
                        $zero,
                        $load,
                        $fmadd,
                        _MM_HINT_T1,
                        x,
                        d,
                        panel,
                        prefetch
                    );
                    let cnv = $load(cn);
                    let m2 = $set1(-2.0);
                    let mut pv = $load(pot.as_ptr());
                    for r in 0..MR {
                        let dist = $max($add($fmadd(acc[r], m2, cnv), $set1(xn[r])), $zero());
                        let cl = if pending {
                            let c = $min($bcast0(dist), $set1(closest[r]));
                            closest[r] = $first(c);
                            c
                        } else {
                            $set1(closest[r])
                        };
                        pv = $fmadd($set1(w[r]), $min(dist, cl), pv);
                    }
                    core::ptr::copy_nonoverlapping(
                        &pv as *const _ as *const $t,
                        pot.as_mut_ptr(),
                        $lanes,
                    );
                }
            }
        };
    }

    macro_rules! dist_kernel {
        ($name:ident, $t:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident, $fmadd:ident,
         $max:ident, $add:ident, $store:ident) => {
            /// Raw distances of `MR` rows at `x` (stride `d`, squared norms `xn`) to `LANES`
            /// candidates packed as in the seeding kernel: `out[r * LANES + j] = D_rj`, with
            /// exactly the seeding kernel's bits (`max((cn_j - 2 acc) + xn_r, 0)`, `acc` one FMA
            /// chain over `t`).
            ///
            /// # Safety
            /// AVX-512F available; `x` holds `MR * d` values, `panel` `d * LANES`, `cn` `LANES`,
            /// `out` `MR * LANES`.
            #[target_feature(enable = "avx512f")]
            pub unsafe fn $name(
                x: *const $t,
                d: usize,
                xn: &[$t; MR],
                panel: *const $t,
                cn: *const $t,
                out: *mut $t,
                prefetch: *const i8,
            ) {
                unsafe {
                    let acc = panel_dots!(
                        MR,
                        $t,
                        $lanes,
                        $set1,
                        $zero,
                        $load,
                        $fmadd,
                        _MM_HINT_T1,
                        x,
                        d,
                        panel,
                        prefetch
                    );
                    let cnv = $load(cn);
                    let m2 = $set1(-2.0);
                    for r in 0..MR {
                        let dist = $max($add($fmadd(acc[r], m2, cnv), $set1(xn[r])), $zero());
                        $store(out.add(r * $lanes), dist);
                    }
                }
            }
        };
    }

    macro_rules! pair_row {
        ($name:ident, $t:ty, $v:ty, $lanes:expr, $set1:ident, $load:ident, $fmadd:ident,
         $min:ident, $sub:ident, $store:ident, $lt_mask:expr, $lane:expr, $first:ident) => {
            /// One row of the two-step seeding epilogue, given its distances `dist` to the
            /// packed candidates: `closest <- min(closest, D_p)` over the `NP` pending lanes (a constant, so the lane
            /// permutes unroll),
            /// `m = min(dist, closest)`, returns `a1 + w m`, and for each trial lane of
            /// `trial_lanes` that beats `closest`, `acc2[lane - NP] += w (min(dist, D_t) - m)`.
            /// A lane at `+inf` (never computed: it cannot beat `closest`) gives the same bits as
            /// its exact distance would.
            ///
            /// # Safety
            /// AVX-512F available (the caller's target features); `acc2` holds a `LANES` row per
            /// trial lane.
            #[inline(always)]
            pub unsafe fn $name<const NP: usize>(
                dist: $v,
                trial_lanes: u32,
                closest: &mut $t,
                w: $t,
                a1: $v,
                acc2: *mut $t,
            ) -> $v {
                unsafe {
                    // vminps(D_p, closest) per pending lane: the smaller, `closest` on ties (as the
                    // seeding kernel, so both apply a pending center with the same bits).
                    let mut clv = $set1(*closest);
                    for p in 0..NP {
                        clv = $min($lane(dist, p), clv);
                    }
                    *closest = $first(clv);
                    let m = $min(dist, clv);
                    let wv = $set1(w);
                    // Trials that beat `closest` on this row (14% of rows on the thin benchmark):
                    // their second-step sums differ from the common `min(D, closest)` by this much.
                    let mut beat = ($lt_mask(dist, clv) as u32) & trial_lanes;
                    while beat != 0 {
                        let lane = beat.trailing_zeros() as usize;
                        beat &= beat - 1;
                        let dst = acc2.add((lane - NP) * $lanes);
                        let corr = $sub($min(dist, $lane(dist, lane)), m);
                        $store(dst, $fmadd(wv, corr, $load(dst)));
                    }
                    $fmadd(wv, m, a1)
                }
            }
        };
    }

    pair_row!(
        pair_row_f32,
        f32,
        __m512,
        16,
        _mm512_set1_ps,
        _mm512_loadu_ps,
        _mm512_fmadd_ps,
        _mm512_min_ps,
        _mm512_sub_ps,
        _mm512_storeu_ps,
        |a, b| _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b),
        |v, l: usize| _mm512_permutexvar_ps(_mm512_set1_epi32(l as i32), v),
        _mm512_cvtss_f32
    );
    pair_row!(
        pair_row_f64,
        f64,
        __m512d,
        8,
        _mm512_set1_pd,
        _mm512_loadu_pd,
        _mm512_fmadd_pd,
        _mm512_min_pd,
        _mm512_sub_pd,
        _mm512_storeu_pd,
        |a, b| _mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, b),
        |v, l: usize| _mm512_permutexvar_pd(_mm512_set1_epi64(l as i64), v),
        _mm512_cvtsd_f64
    );

    macro_rules! pair_kernel {
        ($name:ident, $t:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident, $fmadd:ident,
         $max:ident, $add:ident, $store:ident, $row:ident) => {
            /// Two-step k-means++ panel (`D`: the width `d` when it is a compile-time constant,
            /// else 0; `NP = np`) with all candidates in one group (`np` pending, `nt`
            /// trials, then the second-step rows): distances as [`dist_f32`] does, then
            /// `closest_r <- min(closest_r, D_rp)` over the pending lanes, `m_r = min(D_r,
            /// closest_r)` with `acc1 += w_r m_r`, and for each trial `t` that beats
            /// `closest_r`, `acc2[t] += w_r (min(D_r, D_rt) - m_r)`, all lane-wise (the
            /// second-step sums are `acc1 + acc2[t]`).
            ///
            /// # Safety
            /// AVX-512F available; `x` holds `PAIR_MR * d` values, `panel` `d * LANES`, `cn` `LANES`,
            /// `acc1` `LANES`, `acc2` `nt * LANES`; `np + nt <= LANES`, `np = NP`.
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            pub unsafe fn $name<const D: usize, const NP: usize>(
                x: *const $t,
                d: usize,
                xn: &[$t; PAIR_MR],
                closest: &mut [$t; PAIR_MR],
                w: &[$t; PAIR_MR],
                panel: *const $t,
                cn: *const $t,
                np: usize,
                nt: usize,
                prefetch: *const i8,
                acc1: *mut $t,
                acc2: *mut $t,
            ) {
                unsafe {
                    // `D > 0`: the width known at compile time, so every row's address is one base
                    // register plus a constant (16 run-time row offsets spill to the stack).
                    let d = if D == 0 { d } else { D };
                    debug_assert_eq!(np, NP);
                    // Into L1: the 16 panels ahead are 16-32 KB.
                    let acc = panel_dots!(
                        PAIR_MR,
                        $t,
                        $lanes,
                        $set1,
                        $zero,
                        $load,
                        $fmadd,
                        _MM_HINT_T0,
                        x,
                        d,
                        panel,
                        prefetch
                    );
                    let cnv = $load(cn);
                    let m2 = $set1(-2.0);
                    let mut a1 = $load(acc1);
                    // Trial lanes np .. np + nt.
                    let trial_lanes: u32 = ((1u32 << nt) - 1) << np;
                    for r in 0..PAIR_MR {
                        let dist = $max($add($fmadd(acc[r], m2, cnv), $set1(xn[r])), $zero());
                        a1 = $row::<NP>(dist, trial_lanes, &mut closest[r], w[r], a1, acc2);
                    }
                    $store(acc1, a1);
                }
            }
        };
    }

    pair_kernel!(
        pair_f32,
        f32,
        16,
        _mm512_set1_ps,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_fmadd_ps,
        _mm512_max_ps,
        _mm512_add_ps,
        _mm512_storeu_ps,
        pair_row_f32
    );
    pair_kernel!(
        pair_f64,
        f64,
        8,
        _mm512_set1_pd,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_fmadd_pd,
        _mm512_max_pd,
        _mm512_add_pd,
        _mm512_storeu_pd,
        pair_row_f64
    );

    dist_kernel!(
        dist_f32,
        f32,
        16,
        _mm512_set1_ps,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_fmadd_ps,
        _mm512_max_ps,
        _mm512_add_ps,
        _mm512_storeu_ps
    );
    dist_kernel!(
        dist_f64,
        f64,
        8,
        _mm512_set1_pd,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_fmadd_pd,
        _mm512_max_pd,
        _mm512_add_pd,
        _mm512_storeu_pd
    );

    seed_kernel!(
        seed_f32,
        f32,
        16,
        _mm512_set1_ps,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_fmadd_ps,
        _mm512_max_ps,
        _mm512_min_ps,
        _mm512_add_ps,
        |v| _mm512_broadcastss_ps(_mm512_castps512_ps128(v)),
        _mm512_cvtss_f32
    );
    seed_kernel!(
        seed_f64,
        f64,
        8,
        _mm512_set1_pd,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_fmadd_pd,
        _mm512_max_pd,
        _mm512_min_pd,
        _mm512_add_pd,
        |v| _mm512_broadcastsd_pd(_mm512_castpd512_pd128(v)),
        _mm512_cvtsd_f64
    );

    argmin_kernel!(
        argmin_f32,
        f32,
        __m512,
        16,
        _mm512_set1_ps,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_fmadd_ps,
        _mm512_cmp_ps_mask,
        _mm512_mask_mov_ps,
        _mm512_reduce_min_ps,
        __m512i,
        _mm512_set1_epi32,
        _mm512_add_epi32,
        _mm512_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15),
        _mm512_mask_mov_epi32,
        _mm512_mask_reduce_min_epu32,
        u32
    );
    argmin_kernel!(
        argmin_f64,
        f64,
        __m512d,
        8,
        _mm512_set1_pd,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_fmadd_pd,
        _mm512_cmp_pd_mask,
        _mm512_mask_mov_pd,
        _mm512_reduce_min_pd,
        __m512i,
        _mm512_set1_epi64,
        _mm512_add_epi64,
        _mm512_setr_epi64(0, 1, 2, 3, 4, 5, 6, 7),
        _mm512_mask_mov_epi64,
        _mm512_mask_reduce_min_epu64,
        u64
    );
}

/// Scalars with a packed AVX-512 argmin kernel.
pub trait PackedArgmin: Sized + Copy + Default + Plain {
    /// Centers per block for this type.
    const NB: usize;
    /// Centers per block of the AVX2 argmin kernel ([`crate::kernels::assign::packed_avx2`]).
    const NB_AVX2: usize;
    /// The AVX2 argmin kernel on the `packed_avx2::MR` rows at `x` (row stride `pk.d`).
    ///
    /// # Safety
    /// `x` must point to `packed_avx2::MR * pk.d` readable values; AVX2 and FMA must be
    /// available; `pk.nb == NB_AVX2`.
    unsafe fn argmin_panel_avx2(
        x: *const Self,
        pk: &Packed<Self>,
        labels: &mut [u32; AVX2_MR],
        best: &mut [Self; AVX2_MR],
    );
    /// Runs the register-resident argmin on the `MR` rows at `xp` (row stride `pk.d`).
    ///
    /// # Safety
    /// `xp` must point to `MR * pk.d` readable values; AVX-512 must be available.
    unsafe fn argmin_panel(
        x: *const Self,
        pk: &Packed<Self>,
        labels: &mut [u32; MR],
        best: &mut [Self; MR],
    );
    /// The one-block kernel (`x86::argmin_narrow_f32`) on the `NARROW_MR` rows at `x`.
    ///
    /// # Safety
    /// `x` must point to `NARROW_MR * pk.d` readable values; AVX-512 must be available;
    /// `pk.nb == pk.kpad == LANES`.
    unsafe fn argmin_narrow_panel(
        x: *const Self,
        pk: &Packed<Self>,
        labels: &mut [u32; NARROW_MR],
        best: &mut [Self; NARROW_MR],
    );
    /// The AVX2 one-block kernel on the `packed_avx2::NARROW_MR` rows at `x`.
    ///
    /// # Safety
    /// `x` must point to `packed_avx2::NARROW_MR * pk.d` readable values; AVX2 and FMA must
    /// be available; `pk.nb == pk.kpad == NB_AVX2 / 2`.
    unsafe fn argmin_narrow_panel_avx2(
        x: *const Self,
        pk: &Packed<Self>,
        labels: &mut [u32; AVX2_NARROW_MR],
        best: &mut [Self; AVX2_NARROW_MR],
    );
    /// Lanes of one register (candidates per k-means++ seeding panel).
    const LANES: usize;
    /// Raw distances of one `MR`-row panel to one packed candidate group (see
    /// `x86::dist_f32`): `out[r * LANES + j]`.
    ///
    /// # Safety
    /// `isa` has AVX2 or wider (the AVX-512 kernel runs where it has AVX-512); `x` holds
    /// `MR * d`, `panel` `d * LANES`, `cn` `LANES`, `out` `MR * LANES` values; `prefetch` is
    /// a hint (null: none).
    #[allow(clippy::too_many_arguments)]
    unsafe fn dist_panel(
        isa: Isa,
        x: *const Self,
        d: usize,
        xn: &[Self; MR],
        panel: *const Self,
        cn: *const Self,
        out: *mut Self,
        prefetch: *const i8,
    );
    /// One `PAIR_MR`-row panel of the two-step seeding with every candidate in one group (see
    /// `x86::pair_f32`).
    ///
    /// # Safety
    /// AVX-512 available; `x` holds `PAIR_MR * d`, `panel` `d * LANES`, `cn` `LANES`, `acc1`
    /// `LANES`, `acc2` `nt * LANES` values; `np + nt <= LANES`, `np <= 2`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn pair_panel(
        x: *const Self,
        d: usize,
        xn: &[Self; PAIR_MR],
        closest: &mut [Self; PAIR_MR],
        w: &[Self; PAIR_MR],
        panel: *const Self,
        cn: *const Self,
        np: usize,
        nt: usize,
        prefetch: *const i8,
        acc1: *mut Self,
        acc2: *mut Self,
    );
    /// One `MR`-row panel of the k-means++ seeding kernel (see `x86::seed_f32`).
    ///
    /// # Safety
    /// `isa` has AVX2 or wider (the AVX-512 kernel runs where it has AVX-512); `x` holds
    /// `MR * d`, `panel` `d * LANES`, `cn` `LANES`, `pot` `LANES` values.
    #[allow(clippy::too_many_arguments)]
    unsafe fn seed_panel(
        isa: Isa,
        x: *const Self,
        d: usize,
        xn: &[Self; MR],
        closest: &mut [Self; MR],
        w: &[Self; MR],
        panel: *const Self,
        cn: *const Self,
        pending: bool,
        prefetch: *const i8,
        pot: &mut [Self],
    );
}

/// The trait for one scalar type, forwarding to its kernels in `x86`.
macro_rules! impl_packed {
    ($t:ty, $nb:expr, $nb2:expr, $lanes:expr, $dist:ident, $pair:ident, $seed:ident, $argmin:ident,
     $narrow:ident) => {
        impl PackedArgmin for $t {
            const NB: usize = $nb;
            const NB_AVX2: usize = $nb2;
            /// # Safety
            /// As [`PackedArgmin::argmin_panel_avx2`].
            unsafe fn argmin_panel_avx2(
                x: *const $t,
                pk: &Packed<$t>,
                labels: &mut [u32; AVX2_MR],
                best: &mut [$t; AVX2_MR],
            ) {
                unsafe {
                    #[cfg(target_arch = "x86_64")]
                    crate::kernels::assign::packed_avx2::x86::$argmin(x, pk, labels, best);
                    #[cfg(not(target_arch = "x86_64"))]
                    unreachable!("packed kernels are x86-64 only");
                }
            }
            /// # Safety
            /// As [`PackedArgmin::argmin_narrow_panel_avx2`].
            unsafe fn argmin_narrow_panel_avx2(
                x: *const $t,
                pk: &Packed<$t>,
                labels: &mut [u32; AVX2_NARROW_MR],
                best: &mut [$t; AVX2_NARROW_MR],
            ) {
                unsafe {
                    #[cfg(target_arch = "x86_64")]
                    crate::kernels::assign::packed_avx2::x86::$narrow(x, pk, labels, best);
                    #[cfg(not(target_arch = "x86_64"))]
                    unreachable!("packed kernels are x86-64 only");
                }
            }
            /// # Safety
            /// As [`PackedArgmin::argmin_narrow_panel`].
            unsafe fn argmin_narrow_panel(
                x: *const $t,
                pk: &Packed<$t>,
                labels: &mut [u32; NARROW_MR],
                best: &mut [$t; NARROW_MR],
            ) {
                unsafe {
                    #[cfg(target_arch = "x86_64")]
                    x86::$narrow(x, pk, labels, best);
                    #[cfg(not(target_arch = "x86_64"))]
                    unreachable!("packed kernels are x86-64 only");
                }
            }
            const LANES: usize = $lanes;
            /// # Safety
            /// As [`PackedArgmin::dist_panel`].
            unsafe fn dist_panel(
                isa: Isa,
                x: *const $t,
                d: usize,
                xn: &[$t; MR],
                panel: *const $t,
                cn: *const $t,
                out: *mut $t,
                prefetch: *const i8,
            ) {
                unsafe {
                    #[cfg(target_arch = "x86_64")]
                    {
                        // The AVX-512 kernel, else its AVX2 twin (same bits).
                        type Dist = unsafe fn(
                            *const $t,
                            usize,
                            &[$t; MR],
                            *const $t,
                            *const $t,
                            *mut $t,
                            *const i8,
                        );
                        let f: Dist = if isa.avx512() {
                            x86::$dist
                        } else {
                            packed_avx2::x86::$dist
                        };
                        f(x, d, xn, panel, cn, out, prefetch);
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    unreachable!("packed kernels are x86-64 only");
                }
            }
            /// # Safety
            /// As [`PackedArgmin::pair_panel`].
            unsafe fn pair_panel(
                x: *const $t,
                d: usize,
                xn: &[$t; PAIR_MR],
                closest: &mut [$t; PAIR_MR],
                w: &[$t; PAIR_MR],
                panel: *const $t,
                cn: *const $t,
                np: usize,
                nt: usize,
                prefetch: *const i8,
                acc1: *mut $t,
                acc2: *mut $t,
            ) {
                unsafe {
                    #[cfg(target_arch = "x86_64")]
                    {
                        macro_rules! by_np {
                            ($d:literal) => {
                                match np {
                                    0 => x86::$pair::<$d, 0>,
                                    1 => x86::$pair::<$d, 1>,
                                    2 => x86::$pair::<$d, 2>,
                                    _ => unreachable!("at most two pending centers"),
                                }
                            };
                        }
                        let f = match d {
                            8 => by_np!(8),
                            16 => by_np!(16),
                            24 => by_np!(24),
                            32 => by_np!(32),
                            48 => by_np!(48),
                            64 => by_np!(64),
                            96 => by_np!(96),
                            128 => by_np!(128),
                            _ => by_np!(0),
                        };
                        f(
                            x, d, xn, closest, w, panel, cn, np, nt, prefetch, acc1, acc2,
                        );
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    unreachable!("packed kernels are x86-64 only");
                }
            }
            /// # Safety
            /// As [`PackedArgmin::seed_panel`].
            unsafe fn seed_panel(
                isa: Isa,
                x: *const $t,
                d: usize,
                xn: &[$t; MR],
                closest: &mut [$t; MR],
                w: &[$t; MR],
                panel: *const $t,
                cn: *const $t,
                pending: bool,
                prefetch: *const i8,
                pot: &mut [$t],
            ) {
                unsafe {
                    #[cfg(target_arch = "x86_64")]
                    {
                        // The AVX-512 kernel, else its AVX2 twin (same bits).
                        type Seed = unsafe fn(
                            *const $t,
                            usize,
                            &[$t; MR],
                            &mut [$t; MR],
                            &[$t; MR],
                            *const $t,
                            *const $t,
                            bool,
                            *const i8,
                            &mut [$t; $lanes],
                        );
                        let f: Seed = if isa.avx512() {
                            x86::$seed
                        } else {
                            packed_avx2::x86::$seed
                        };
                        f(
                            x,
                            d,
                            xn,
                            closest,
                            w,
                            panel,
                            cn,
                            pending,
                            prefetch,
                            pot.try_into().expect("LANES values"),
                        );
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    unreachable!("packed kernels are x86-64 only");
                }
            }
            /// # Safety
            /// As [`PackedArgmin::argmin_panel`].
            unsafe fn argmin_panel(
                x: *const $t,
                pk: &Packed<$t>,
                labels: &mut [u32; MR],
                best: &mut [$t; MR],
            ) {
                unsafe {
                    #[cfg(target_arch = "x86_64")]
                    x86::$argmin(x, pk, labels, best);
                    #[cfg(not(target_arch = "x86_64"))]
                    unreachable!("packed kernels are x86-64 only");
                }
            }
        }
    };
}

impl_packed!(
    f32,
    AVX512_NB_F32,
    AVX2_NB_F32,
    16,
    dist_f32,
    pair_f32,
    seed_f32,
    argmin_f32,
    argmin_narrow_f32
);
impl_packed!(
    f64,
    AVX512_NB_F64,
    AVX2_NB_F64,
    8,
    dist_f64,
    pair_f64,
    seed_f64,
    argmin_f64,
    argmin_narrow_f64
);

/// True when [`PackedArgmin::dist_panel`] and [`PackedArgmin::seed_panel`] run on `isa`: on
/// AVX-512, or on AVX2 + FMA through [`crate::kernels::assign::packed_avx2`] (same bits).
/// [`PackedArgmin::pair_panel`] and [`PackedArgmin::argmin_panel`] need AVX-512.
pub fn dist_available(isa: Isa) -> bool {
    isa.avx2()
}

/// True when [`argmin_rows_packed`] runs on `isa`: the AVX-512 kernel, or the AVX2 + FMA one
/// of [`crate::kernels::assign::packed_avx2`] for `k` below `2^24` (its indices ride in float lanes).
pub fn argmin_available(isa: Isa, k: usize) -> bool {
    isa.avx512() || (isa.avx2() && k < 1 << 24)
}

/// Centers per block that [`argmin_rows_packed`] takes on `isa` for `k` centers
/// ([`Packed::new`]'s `nb`): one register when all `k` fit in it (the one-block kernels: no
/// padding lanes, no running minimum), else two.
pub fn argmin_block<T: PackedArgmin>(isa: Isa, k: usize) -> usize {
    let nb = if isa.avx512() { T::NB } else { T::NB_AVX2 };
    if k <= nb / 2 {
        nb / 2
    } else {
        nb
    }
}

/// Nearest center of each row of the `b x d` tile `x`: `labels[i]`, and `best[i] =
/// min_j (cn_j - 2 <x_i, c_j>)` (so `D = ||x_i||^2 + best[i]`). Lowest index on ties.
/// Call only when [`argmin_available`], with `pk` packed in blocks of [`argmin_block`] for
/// the same `isa`. All kernels give the same bits.
pub fn argmin_rows_packed<T: PackedArgmin>(
    isa: Isa,
    x: &[T],
    pk: &Packed<T>,
    labels: &mut [u32],
    best: &mut [T],
) {
    assert!(
        argmin_available(isa, pk.kpad),
        "packed kernels need AVX-512 or AVX2"
    );
    assert_eq!(
        pk.nb,
        argmin_block::<T>(isa, pk.k),
        "centers packed for another kernel"
    );
    if isa.avx512() && pk.nb == T::LANES {
        // SAFETY: AVX-512 checked; one block of LANES centers; the panels hold NARROW_MR rows.
        panels::<T, NARROW_MR>(x, pk, labels, best, |xp, pk, l, b| unsafe {
            T::argmin_narrow_panel(xp, pk, l, b)
        });
    } else if isa.avx512() {
        // SAFETY: AVX-512 checked; the panels hold MR rows.
        panels::<T, MR>(x, pk, labels, best, |xp, pk, l, b| unsafe {
            T::argmin_panel(xp, pk, l, b)
        });
    } else if pk.nb == T::NB_AVX2 / 2 {
        // SAFETY: AVX2 and FMA checked; one block of one register; AVX2_NARROW_MR rows.
        panels::<T, AVX2_NARROW_MR>(x, pk, labels, best, |xp, pk, l, b| unsafe {
            T::argmin_narrow_panel_avx2(xp, pk, l, b)
        });
    } else {
        // SAFETY: AVX2 and FMA checked; the panels hold AVX2_MR rows.
        panels::<T, AVX2_MR>(x, pk, labels, best, |xp, pk, l, b| unsafe {
            T::argmin_panel_avx2(xp, pk, l, b)
        });
    }
}

/// Runs `kernel` on the panels of `R` rows of `x`, the last one padded with zero rows.
fn panels<T: PackedArgmin, const R: usize>(
    x: &[T],
    pk: &Packed<T>,
    labels: &mut [u32],
    best: &mut [T],
    kernel: impl Fn(*const T, &Packed<T>, &mut [u32; R], &mut [T; R]),
) {
    let d = pk.d;
    let b = labels.len();
    assert_eq!(x.len(), b * d);
    assert_eq!(best.len(), b);
    // The kernels read `kpad / nb` blocks of `d * nb` packed values and `kpad` norms.
    debug_assert!(pk.nb > 0 && pk.kpad.is_multiple_of(pk.nb) && pk.kpad >= pk.k);
    debug_assert!(pk.panel.len() >= pk.kpad * d && pk.cn.len() >= pk.kpad);
    let mut lab = [0u32; R];
    let mut bst = [T::default(); R];
    let full = b / R * R;
    let mut r = 0;
    while r < full {
        // Rows r..r+R exist (r + R <= full <= b).
        debug_assert!((r + R) * d <= x.len());
        kernel(x[r * d..].as_ptr(), pk, &mut lab, &mut bst);
        labels[r..r + R].copy_from_slice(&lab);
        best[r..r + R].copy_from_slice(&bst);
        r += R;
    }
    if r < b {
        let rem = b - r;
        let mut pad = vec![T::default(); R * d];
        pad[..rem * d].copy_from_slice(&x[r * d..]);
        kernel(pad.as_ptr(), pk, &mut lab, &mut bst);
        labels[r..].copy_from_slice(&lab[..rem]);
        best[r..].copy_from_slice(&bst[..rem]);
    }
}
