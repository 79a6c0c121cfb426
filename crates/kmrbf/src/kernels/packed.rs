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
//! Centers are packed once per iteration: block `b` holds, for `t` in `0..d`, the `NB`
//! values `c_{b*NB + j, t}`; padding centers have zero coordinates and `cn = +inf`.

use crate::real::Real;

/// Centers packed for the kernels of this module.
#[derive(Clone, Debug)]
pub struct Packed<T> {
    /// `kpad / nb` blocks of `d x nb` values.
    pub panel: Vec<T>,
    /// `kpad` squared norms (`+inf` for padding).
    pub cn: Vec<T>,
    /// Real centers.
    pub k: usize,
    /// `k` rounded up to a multiple of `nb`.
    pub kpad: usize,
    /// Columns.
    pub d: usize,
    /// Centers per block.
    pub nb: usize,
}

impl<T: Real> Packed<T> {
    /// Packs the `k x d` row-major `centers` in blocks of `nb`, with their squared norms `cn`.
    pub fn new(centers: &[T], cn: &[T], k: usize, d: usize, nb: usize) -> Self {
        let kpad = k.div_ceil(nb) * nb;
        let mut panel = vec![T::ZERO; kpad * d];
        for c in 0..k {
            let (b, j) = (c / nb, c % nb);
            for t in 0..d {
                panel[(b * d + t) * nb + j] = centers[c * d + t];
            }
        }
        let mut pcn = vec![T::INFINITY; kpad];
        pcn[..k].copy_from_slice(&cn[..k]);
        Self {
            panel,
            cn: pcn,
            k,
            kpad,
            d,
            nb,
        }
    }
}

/// Centers per block for the f32 kernels (two 16-lane registers).
pub const NB_F32: usize = 32;
/// Centers per block for the f64 kernels (two 8-lane registers).
pub const NB_F64: usize = 16;
/// Rows per register panel.
pub const MR: usize = 8;

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::{Packed, MR};
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
                const L: usize = $lanes;
                let d = pk.d;
                let nb = 2 * L;
                let mut bv = [$set1(<$t>::INFINITY); MR];
                let mut bi: [$iv; MR] = [$iset1(0); MR];
                let lane: $iv = $isetr;
                let m2 = $set1(-2.0);
                // Prefetch the next panel's rows (rows are contiguous; a prefetch past the end
                // of the data is a harmless hint on x86). Measured ~5-8% on the thin shape.
                let bytes = MR * d * core::mem::size_of::<$t>();
                let next = (xp as *const i8).wrapping_add(bytes);
                let mut off = 0;
                while off < bytes {
                    _mm_prefetch::<_MM_HINT_T0>(next.wrapping_add(off));
                    off += 64;
                }
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
        };
    }

    macro_rules! trial_kernel {
        ($name:ident, $t:ty, $lanes:expr, $set1:ident, $zero:ident, $load:ident, $fmadd:ident, $max:ident,
         $min:ident, $add:ident, $mask_store:ident, $mask:ty) => {
            /// k-means++ trials: for `MR` rows at `x` (stride `d`, squared norms `xn`) and up to
            /// `LANES` candidates packed as `panel[t * LANES + j]` with norms `cn`:
            /// `m_ij = min(closest_i, max(xn_i + cn_j - 2 <x_i, c_j>, 0))` is stored to
            /// `out[i * l + j]` (`j < l`) and `pot[j] += w_i * m_ij`.
            ///
            /// # Safety
            /// AVX-512F available; `x` holds `MR * d` values, `out` `rows * l`, `panel` `d * LANES`.
            #[target_feature(enable = "avx512f")]
            #[allow(clippy::too_many_arguments)]
            pub unsafe fn $name(
                x: *const $t,
                d: usize,
                rows: usize,
                xn: &[$t; MR],
                closest: &[$t; MR],
                w: &[$t; MR],
                panel: *const $t,
                cn: *const $t,
                l: usize,
                out: *mut $t,
                pot: &mut [$t; $lanes],
            ) {
                let mut acc = [$zero(); MR];
                for t in 0..d {
                    let c = $load(panel.add(t * $lanes));
                    for r in 0..MR {
                        acc[r] = $fmadd($set1(*x.add(r * d + t)), c, acc[r]);
                    }
                }
                let cnv = $load(cn);
                let m2 = $set1(-2.0);
                let mut pv = $load(pot.as_ptr());
                let keep: $mask = ((1u32 << l) - 1) as $mask;
                for r in 0..MR {
                    let dist = $max($add($fmadd(acc[r], m2, cnv), $set1(xn[r])), $zero());
                    let m = $min(dist, $set1(closest[r]));
                    pv = $fmadd($set1(w[r]), m, pv);
                    if r < rows {
                        $mask_store(out.add(r * l), keep, m);
                    }
                }
                let mut tmp = [0 as $t; $lanes];
                core::ptr::copy_nonoverlapping(
                    &pv as *const _ as *const $t,
                    tmp.as_mut_ptr(),
                    $lanes,
                );
                *pot = tmp;
            }
        };
    }

    trial_kernel!(
        trials_f32,
        f32,
        16,
        _mm512_set1_ps,
        _mm512_setzero_ps,
        _mm512_loadu_ps,
        _mm512_fmadd_ps,
        _mm512_max_ps,
        _mm512_min_ps,
        _mm512_add_ps,
        _mm512_mask_storeu_ps,
        __mmask16
    );
    trial_kernel!(
        trials_f64,
        f64,
        8,
        _mm512_set1_pd,
        _mm512_setzero_pd,
        _mm512_loadu_pd,
        _mm512_fmadd_pd,
        _mm512_max_pd,
        _mm512_min_pd,
        _mm512_add_pd,
        _mm512_mask_storeu_pd,
        __mmask8
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
pub trait PackedArgmin: Sized + Copy {
    /// Centers per block for this type.
    const NB: usize;
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
    /// Lanes of one register (candidates per k-means++ trial kernel).
    const LANES: usize;
    /// One `MR`-row panel of the k-means++ trial kernel (see `x86::trials_f32`).
    ///
    /// # Safety
    /// AVX-512 available; `x` holds `MR * d`, `panel` `d * LANES`, `cn` `LANES`,
    /// `out` `rows * l` values, `pot` `LANES` values, `l <= LANES`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn trials_panel(
        x: *const Self,
        d: usize,
        rows: usize,
        xn: &[Self; MR],
        closest: &[Self; MR],
        w: &[Self; MR],
        panel: *const Self,
        cn: *const Self,
        l: usize,
        out: *mut Self,
        pot: &mut [Self],
    );
}

impl PackedArgmin for f32 {
    const NB: usize = NB_F32;
    const LANES: usize = 16;
    unsafe fn trials_panel(
        x: *const f32,
        d: usize,
        rows: usize,
        xn: &[f32; MR],
        closest: &[f32; MR],
        w: &[f32; MR],
        panel: *const f32,
        cn: *const f32,
        l: usize,
        out: *mut f32,
        pot: &mut [f32],
    ) {
        #[cfg(target_arch = "x86_64")]
        x86::trials_f32(
            x,
            d,
            rows,
            xn,
            closest,
            w,
            panel,
            cn,
            l,
            out,
            pot.try_into().expect("LANES values"),
        );
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("packed kernels are x86-64 only");
    }
    unsafe fn argmin_panel(
        x: *const f32,
        pk: &Packed<f32>,
        labels: &mut [u32; MR],
        best: &mut [f32; MR],
    ) {
        #[cfg(target_arch = "x86_64")]
        x86::argmin_f32(x, pk, labels, best);
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("packed kernels are x86-64 only");
    }
}

impl PackedArgmin for f64 {
    const NB: usize = NB_F64;
    const LANES: usize = 8;
    unsafe fn trials_panel(
        x: *const f64,
        d: usize,
        rows: usize,
        xn: &[f64; MR],
        closest: &[f64; MR],
        w: &[f64; MR],
        panel: *const f64,
        cn: *const f64,
        l: usize,
        out: *mut f64,
        pot: &mut [f64],
    ) {
        #[cfg(target_arch = "x86_64")]
        x86::trials_f64(
            x,
            d,
            rows,
            xn,
            closest,
            w,
            panel,
            cn,
            l,
            out,
            pot.try_into().expect("LANES values"),
        );
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("packed kernels are x86-64 only");
    }
    unsafe fn argmin_panel(
        x: *const f64,
        pk: &Packed<f64>,
        labels: &mut [u32; MR],
        best: &mut [f64; MR],
    ) {
        #[cfg(target_arch = "x86_64")]
        x86::argmin_f64(x, pk, labels, best);
        #[cfg(not(target_arch = "x86_64"))]
        unreachable!("packed kernels are x86-64 only");
    }
}

/// True when the packed kernels can run here.
pub fn available() -> bool {
    super::dispatch::has_avx512()
}

/// Nearest center of each row of the `b x d` tile `x`: `labels[i]`, and `best[i] =
/// min_j (cn_j - 2 <x_i, c_j>)` (so `D = ||x_i||^2 + best[i]`). Lowest index on ties.
/// Call only when [`available`].
pub fn argmin_rows_packed<T: Real>(x: &[T], pk: &Packed<T>, labels: &mut [u32], best: &mut [T]) {
    assert!(available(), "packed kernels need AVX-512");
    let d = pk.d;
    let b = labels.len();
    assert_eq!(x.len(), b * d);
    assert_eq!(best.len(), b);
    let mut lab = [0u32; MR];
    let mut bst = [T::ZERO; MR];
    let full = b / MR * MR;
    let mut r = 0;
    while r < full {
        // SAFETY: rows r..r+MR exist (r + MR <= full <= b) and AVX-512 was checked.
        unsafe { T::argmin_panel(x.as_ptr().add(r * d), pk, &mut lab, &mut bst) };
        labels[r..r + MR].copy_from_slice(&lab);
        best[r..r + MR].copy_from_slice(&bst);
        r += MR;
    }
    if r < b {
        let rem = b - r;
        let mut pad = vec![T::ZERO; MR * d];
        pad[..rem * d].copy_from_slice(&x[r * d..]);
        // SAFETY: `pad` holds MR rows.
        unsafe { T::argmin_panel(pad.as_ptr(), pk, &mut lab, &mut bst) };
        labels[r..].copy_from_slice(&lab[..rem]);
        best[r..].copy_from_slice(&bst[..rem]);
    }
}

/// k-means++ trials over a chunk of rows (`x`: `b x d`, with `xn`, optional weights `w` and
/// `closest`): for up to `T::LANES` candidates packed by [`pack_trials`],
/// `out[i * l + j] = min(closest_i, D_ij)` and `pot[j] += sum_i w_i out[i * l + j]` (f64,
/// combined per 768-row tile). Call only when [`available`].
#[allow(clippy::too_many_arguments)]
pub fn trials_rows_packed<T: Real>(
    x: &[T],
    d: usize,
    xn: &[T],
    w: Option<&[T]>,
    closest: &[T],
    panel: &[T],
    cn: &[T],
    l: usize,
    out: &mut [T],
    pot: &mut [f64],
) {
    assert!(available() && l <= T::LANES && l >= 1);
    let b = xn.len();
    assert!(x.len() == b * d && closest.len() == b && out.len() == b * l);
    assert!(panel.len() == d * T::LANES && cn.len() == T::LANES && pot.len() >= l);
    let mut lane_pot = vec![T::ZERO; T::LANES];
    let mut pad = vec![T::ZERO; MR * d];
    let mut r = 0;
    while r < b {
        let rows = MR.min(b - r);
        let mut xn_p = [T::ZERO; MR];
        let mut cl_p = [T::ZERO; MR];
        let mut w_p = [T::ZERO; MR];
        for i in 0..rows {
            xn_p[i] = xn[r + i];
            cl_p[i] = closest[r + i];
            w_p[i] = w.map_or(T::ONE, |w| w[r + i]);
        }
        let xp = if rows == MR {
            x[r * d..].as_ptr()
        } else {
            pad.fill(T::ZERO);
            pad[..rows * d].copy_from_slice(&x[r * d..]);
            pad.as_ptr()
        };
        // SAFETY: shapes asserted above; `xp` holds MR rows; `out` has room for `rows` rows.
        unsafe {
            T::trials_panel(
                xp,
                d,
                rows,
                &xn_p,
                &cl_p,
                &w_p,
                panel.as_ptr(),
                cn.as_ptr(),
                l,
                out[r * l..].as_mut_ptr(),
                &mut lane_pot,
            )
        };
        r += rows;
        if r % 768 == 0 || r == b {
            for j in 0..l {
                pot[j] += lane_pot[j].to_f64();
            }
            lane_pot.fill(T::ZERO);
        }
    }
}

/// Packs up to `T::LANES` candidate rows (`l x d`) as `panel[t * LANES + j]`, with norms.
pub fn pack_trials<T: Real>(cand: &[T], l: usize, d: usize) -> (Vec<T>, Vec<T>) {
    let lanes = T::LANES;
    let mut panel = vec![T::ZERO; d * lanes];
    let mut cn = vec![T::ZERO; lanes];
    for j in 0..l {
        let row = &cand[j * d..(j + 1) * d];
        for t in 0..d {
            panel[t * lanes + j] = row[t];
        }
        cn[j] = super::distance::sq_norm(row);
    }
    (panel, cn)
}
