//! Lloyd's assignment for low-dimensional data (`d <= MAX_D`, 4): rows in lanes.
//!
//! At `d = 2` a distance is two FMAs, and the packed kernels of [`crate::kernels::assign::packed`] spend most
//! of their time elsewhere: on the running minimum of every register of centers, on the
//! horizontal reduction that ends each row, and at small `k` on padding lanes. Here one
//! register holds one coordinate of `LANES` rows (gathered once per panel), each center's
//! coordinates are broadcast, and the running minimum and its index are per lane, so no
//! reduction and no padding remain and an iteration costs little more than one read of the
//! data plus `k` compare-and-select steps per register of rows.
//!
//! Every distance is the FMA chain of the packed kernels, `fma(acc, -2, cn_j)` with `acc =
//! fma(x_t, c_jt, acc)` over `t` in order from zero, and ties go to the lowest index (strict
//! `<` over `j` in order), so labels and minima are the same bits as theirs on every tier.

use crate::kernels::isa::Isa;

/// Widest data this kernel takes.
pub const MAX_D: usize = 4;
/// Registers of rows per step (independent compare-and-select chains).
const GROUP: usize = 4;
/// Centers per chunk of the chunked kernel.
const CHUNK: usize = 16;
/// Above this many centers the chunked kernel runs (below, finding the index again per row,
/// a scan with an unpredictable exit, costs more than the selects it saves).
const CHUNKED_FROM: usize = 768;

/// Whether [`argmin_rows_lowd`] runs here (AVX-512 or AVX2 + FMA) for `k` centers in `d`
/// dimensions (`k` below `2^24`: indices ride in float lanes).
pub fn available(isa: Isa, d: usize, k: usize) -> bool {
    (1..=MAX_D).contains(&d) && k < 1 << 24 && isa.avx2()
}

/// Whether Lloyd's assignment should run here for `k` centers in `d` dimensions: where
/// [`available`] and measured faster than the packed kernels. AMD Zen 4, one thread, fused
/// pass with the sums (`examples/bench_lloyd.rs`, `KMRBF_OVERLAP=1`), packed -> rows in lanes: at `d
/// = 2`, 54 -> 40 ms (8M rows, k = 16), 38 -> 27 (k = 64), 27 -> 21 (k = 128), 22 -> 19 (k =
/// 256); per-center selects at k = 1024 lost (18 -> 27 ms), chunks of 16 won there and
/// beyond (18.2 -> 17.6 at k = 1024, 17.3 -> 13.3 at k = 4096; d = 4: 13.2 -> 10.6); between
/// the two (`d = 3, k = 512`: 16.2 -> 18.6 chunked) the packed kernel stays.
pub fn prefer(isa: Isa, d: usize, k: usize) -> bool {
    available(isa, d, k) && (k <= 256 || k > CHUNKED_FROM)
}

/// Scalars with a low-dimensional kernel.
pub trait LowDim: Sized + Copy + Default {
    /// Rows per panel on tier `isa`.
    fn lanes(isa: Isa) -> usize;
    /// Runs the kernel on `rows` rows (a multiple of [`LowDim::lanes`]) with the widest
    /// path `isa` allows.
    ///
    /// # Safety
    /// [`available`] for `isa`; `x` holds `rows * d`, `c` `k * d`, `cn` `k`, `labels` and `best`
    /// `rows` values; `1 <= d <= MAX_D`.
    #[allow(clippy::too_many_arguments)]
    unsafe fn panels(
        isa: Isa,
        x: *const Self,
        rows: usize,
        d: usize,
        c: *const Self,
        cn: *const Self,
        k: usize,
        labels: *mut u32,
        best: *mut Self,
    );
}

/// Nearest of the `k x d` row-major `centers` (squared norms `cn`) for each row of the `b x
/// d` tile `x`: `labels[i]`, and `best[i] = min_j (cn_j - 2 <x_i, c_j>)`. Lowest index on
/// ties. The same bits as [`crate::kernels::assign::packed::argmin_rows_packed`]. Call only when
/// [`available`].
pub fn argmin_rows_lowd<T: LowDim>(
    isa: Isa,
    x: &[T],
    d: usize,
    centers: &[T],
    cn: &[T],
    labels: &mut [u32],
    best: &mut [T],
) {
    let k = cn.len();
    assert!(
        available(isa, d, k),
        "no low-dimensional kernel for d = {d} on tier {isa}"
    );
    let b = labels.len();
    assert_eq!(x.len(), b * d);
    assert_eq!(best.len(), b);
    assert_eq!(centers.len(), k * d);
    let lanes = T::lanes(isa);
    let full = b / lanes * lanes;
    // SAFETY: `available` checked the tier and `d`; the slices hold `full` rows.
    unsafe {
        T::panels(
            isa,
            x.as_ptr(),
            full,
            d,
            centers.as_ptr(),
            cn.as_ptr(),
            k,
            labels.as_mut_ptr(),
            best.as_mut_ptr(),
        );
    }
    if full < b {
        let rem = b - full;
        let mut pad = vec![T::default(); lanes * d];
        pad[..rem * d].copy_from_slice(&x[full * d..]);
        let mut lab = vec![0u32; lanes];
        let mut bst = vec![T::default(); lanes];
        // SAFETY: as above, on one padded panel.
        unsafe {
            T::panels(
                isa,
                pad.as_ptr(),
                lanes,
                d,
                centers.as_ptr(),
                cn.as_ptr(),
                k,
                lab.as_mut_ptr(),
                bst.as_mut_ptr(),
            );
        }
        labels[full..].copy_from_slice(&lab[..rem]);
        best[full..].copy_from_slice(&bst[..rem]);
    }
}

#[cfg(target_arch = "x86_64")]
mod x86 {
    use super::MAX_D;
    use core::arch::x86_64::*;

    /// How the AVX-512 kernels turn `LANES` rows of `D` values (`D` registers, row-major)
    /// into `D` registers of columns: column `t` takes element `r D + t` into lane `r`, from
    /// each pair of registers `(2p, 2p + 1)` by one two-source permute (`idx[t][p]`) and a
    /// masked move of the lanes that pair holds (`mask[t][p]`). Gathers cost ~40 cycles
    /// each on AMD Zen 4 and were half of the kernel's time.
    pub struct Columns<I, const L: usize> {
        idx: [[[I; L]; MAX_D.div_ceil(2)]; MAX_D],
        mask: [[u16; MAX_D.div_ceil(2)]; MAX_D],
    }

    impl<I: Copy + Default + TryFrom<usize>, const L: usize> Columns<I, L> {
        fn new(d: usize) -> Self {
            let mut c = Self {
                idx: [[[I::default(); L]; MAX_D.div_ceil(2)]; MAX_D],
                mask: [[0; MAX_D.div_ceil(2)]; MAX_D],
            };
            for t in 0..d {
                for p in 0..d.div_ceil(2) {
                    for r in 0..L {
                        let e = r * d + t;
                        if (2 * p * L..(2 * p + 2) * L).contains(&e) {
                            c.idx[t][p][r] = I::try_from(e - 2 * p * L).ok().expect("small");
                            c.mask[t][p] |= 1 << r;
                        }
                    }
                }
            }
            c
        }
    }

    macro_rules! lowd_kernel {
        ($name:ident, #[$feat:meta], $t:ty, $v:ty, $lanes:expr, $set1:ident, $zero:ident,
         $fmadd:ident, $add:ident, $min:ident, $prep:expr, $cols:expr, $lt:expr, $blend:expr,
         $store:ident, $store_idx:expr) => {
            /// `rows` rows (a multiple of `R` registers) at `x` in `D` dimensions against
            /// `k` centers at `c` (row-major) with squared norms `cn`: labels and minima.
            ///
            /// `CHUNK = 0`: every center updates the running minimum and its index. `CHUNK >
            /// 0`: the centers go in chunks of `CHUNK`, each step keeps only a minimum (one
            /// `min` instead of a compare and two selects), a chunk's minimum updates the
            /// running one and the chunk's number, and at the end each row finds the first
            /// center of its chunk whose value equals its minimum by the same scalar FMA
            /// chain. Same labels and minima either way.
            ///
            /// # Safety
            /// The CPU has the enabled features; `x` holds `rows * D`, `c` `k * D`, `cn` `k`,
            /// `labels` and `best` `rows` values; `k < 2^24`; `1 <= D <= MAX_D`.
            #[$feat]
            #[allow(clippy::too_many_arguments)]
            pub unsafe fn $name<const D: usize, const R: usize, const CHUNK: usize>(
                x: *const $t,
                rows: usize,
                c: *const $t,
                cn: *const $t,
                k: usize,
                labels: *mut u32,
                best: *mut $t,
            ) {
                unsafe {
                    debug_assert_eq!(rows % (R * $lanes), 0);
                    let prep = $prep(D);
                    let (m2, one) = ($set1(-2.0), $set1(1.0));
                    let inf = $set1(<$t>::INFINITY);
                    let mut r = 0;
                    while r < rows {
                        // R registers of rows: R independent compare-and-select chains (one
                        // chain is latency-bound: each step waits for the previous minimum).
                        let mut xt = [[$zero(); D]; R];
                        for (g, xg) in xt.iter_mut().enumerate() {
                            $cols(x.add((r + g * $lanes) * D), &prep, xg);
                        }
                        let mut bv: [$v; R] = [inf; R];
                        let mut bi: [$v; R] = [$zero(); R];
                        let mut jv: $v = $zero();
                        // `fma(acc, -2, cn_j)` of center `j` for the R registers of rows.
                        let dists = |j: usize| -> [$v; R] {
                            let cj = c.add(j * D);
                            let mut cb = [$zero(); D];
                            for (t, v) in cb.iter_mut().enumerate() {
                                *v = $set1(*cj.add(t));
                            }
                            let cnj = $set1(*cn.add(j));
                            core::array::from_fn(|g| {
                                let mut acc = $zero();
                                for t in 0..D {
                                    acc = $fmadd(xt[g][t], cb[t], acc);
                                }
                                $fmadd(acc, m2, cnj)
                            })
                        };
                        if CHUNK == 0 {
                            for j in 0..k {
                                let v = dists(j);
                                for g in 0..R {
                                    let m = $lt(v[g], bv[g]);
                                    bv[g] = $blend(bv[g], v[g], m);
                                    bi[g] = $blend(bi[g], jv, m);
                                }
                                jv = $add(jv, one);
                            }
                        } else {
                            let mut j0 = 0;
                            while j0 < k {
                                let j1 = (j0 + CHUNK).min(k);
                                let mut mc: [$v; R] = [inf; R];
                                for j in j0..j1 {
                                    let v = dists(j);
                                    for g in 0..R {
                                        // `min(v, mc)` is `mc` when `v` is NaN: a NaN center is
                                        // never taken, as in the running kernels.
                                        mc[g] = $min(v[g], mc[g]);
                                    }
                                }
                                for g in 0..R {
                                    let m = $lt(mc[g], bv[g]);
                                    bv[g] = $blend(bv[g], mc[g], m);
                                    bi[g] = $blend(bi[g], jv, m);
                                }
                                jv = $add(jv, one);
                                j0 = j1;
                            }
                        }
                        for g in 0..R {
                            $store(best.add(r + g * $lanes), bv[g]);
                            $store_idx(labels.add(r + g * $lanes), bi[g]);
                        }
                        if CHUNK > 0 {
                            // Chunk number -> the first center of the chunk at the minimum.
                            for i in r..r + R * $lanes {
                                let b = *best.add(i);
                                let l = labels.add(i);
                                if b == <$t>::INFINITY {
                                    // No finite distance: lane start, as the running kernels.
                                    *l = 0;
                                    continue;
                                }
                                let j0 = *l as usize * CHUNK;
                                let xi = x.add(i * D);
                                for j in j0..(j0 + CHUNK).min(k) {
                                    let cj = c.add(j * D);
                                    let mut acc: $t = 0.0;
                                    for t in 0..D {
                                        acc = (*xi.add(t)).mul_add(*cj.add(t), acc);
                                    }
                                    if acc.mul_add(-2.0, *cn.add(j)) == b {
                                        *l = j as u32;
                                        break;
                                    }
                                }
                            }
                        }
                        r += R * $lanes;
                    }
                }
            }
        };
    }

    /// Columns of one register of rows by permutes (see [`Columns`]).
    macro_rules! permute_columns {
        ($t:ty, $v:ty, $iv:ty, $lanes:expr, $zero:ident, $load:ident, $perm:ident, $mov:ident,
         $mask:ty) => {
            |xp: *const $t, tab: &Columns<_, $lanes>, out: &mut [$v]| {
                let d = out.len();
                let mut v = [$zero(); MAX_D];
                for (q, vq) in v.iter_mut().enumerate().take(d) {
                    *vq = $load(xp.add(q * $lanes));
                }
                for (t, col) in out.iter_mut().enumerate() {
                    let mut res = $zero();
                    for p in 0..d.div_ceil(2) {
                        let a = v[2 * p];
                        let b = if 2 * p + 1 < d { v[2 * p + 1] } else { a };
                        let idx = _mm512_loadu_si512(tab.idx[t][p].as_ptr() as *const _);
                        res = $mov(res, tab.mask[t][p] as $mask, $perm(a, idx, b));
                    }
                    *col = res;
                }
            }
        };
    }

    lowd_kernel!(
        lowd_f32_avx512,
        #[target_feature(enable = "avx512f")],
        f32,
        __m512,
        16,
        _mm512_set1_ps,
        _mm512_setzero_ps,
        _mm512_fmadd_ps,
        _mm512_add_ps,
        _mm512_min_ps,
        |d: usize| Columns::<i32, 16>::new(d),
        permute_columns!(
            f32,
            __m512,
            __m512i,
            16,
            _mm512_setzero_ps,
            _mm512_loadu_ps,
            _mm512_permutex2var_ps,
            _mm512_mask_mov_ps,
            u16
        ),
        |a, b| _mm512_cmp_ps_mask::<_CMP_LT_OQ>(a, b),
        |old, new, m| _mm512_mask_mov_ps(old, m, new),
        _mm512_storeu_ps,
        |p: *mut u32, v| _mm512_storeu_si512(p as *mut _, _mm512_cvttps_epi32(v))
    );
    lowd_kernel!(
        lowd_f64_avx512,
        #[target_feature(enable = "avx512f")],
        f64,
        __m512d,
        8,
        _mm512_set1_pd,
        _mm512_setzero_pd,
        _mm512_fmadd_pd,
        _mm512_add_pd,
        _mm512_min_pd,
        |d: usize| Columns::<i64, 8>::new(d),
        permute_columns!(
            f64,
            __m512d,
            __m512i,
            8,
            _mm512_setzero_pd,
            _mm512_loadu_pd,
            _mm512_permutex2var_pd,
            _mm512_mask_mov_pd,
            u8
        ),
        |a, b| _mm512_cmp_pd_mask::<_CMP_LT_OQ>(a, b),
        |old, new, m| _mm512_mask_mov_pd(old, m, new),
        _mm512_storeu_pd,
        |p: *mut u32, v| _mm256_storeu_si256(p as *mut __m256i, _mm512_cvttpd_epi32(v))
    );
    lowd_kernel!(
        lowd_f32_avx2,
        #[target_feature(enable = "avx2,fma")],
        f32,
        __m256,
        8,
        _mm256_set1_ps,
        _mm256_setzero_ps,
        _mm256_fmadd_ps,
        _mm256_add_ps,
        _mm256_min_ps,
        |d: usize| _mm256_mullo_epi32(
            _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7),
            _mm256_set1_epi32(d as i32)
        ),
        |xp: *const f32, s: &__m256i, out: &mut [__m256]| {
            for (t, col) in out.iter_mut().enumerate() {
                *col = _mm256_i32gather_ps::<4>(xp.add(t), *s);
            }
        },
        |a, b| _mm256_cmp_ps::<_CMP_LT_OQ>(a, b),
        |old, new, m| _mm256_blendv_ps(old, new, m),
        _mm256_storeu_ps,
        |p: *mut u32, v| _mm256_storeu_si256(p as *mut __m256i, _mm256_cvttps_epi32(v))
    );
    lowd_kernel!(
        lowd_f64_avx2,
        #[target_feature(enable = "avx2,fma")],
        f64,
        __m256d,
        4,
        _mm256_set1_pd,
        _mm256_setzero_pd,
        _mm256_fmadd_pd,
        _mm256_add_pd,
        _mm256_min_pd,
        |d: usize| _mm_mullo_epi32(_mm_setr_epi32(0, 1, 2, 3), _mm_set1_epi32(d as i32)),
        |xp: *const f64, s: &__m128i, out: &mut [__m256d]| {
            for (t, col) in out.iter_mut().enumerate() {
                *col = _mm256_i32gather_pd::<8>(xp.add(t), *s);
            }
        },
        |a, b| _mm256_cmp_pd::<_CMP_LT_OQ>(a, b),
        |old, new, m| _mm256_blendv_pd(old, new, m),
        _mm256_storeu_pd,
        |p: *mut u32, v| _mm_storeu_si128(p as *mut __m128i, _mm256_cvttpd_epi32(v))
    );

    /// `$f::<D, R>(args)` for the run-time `d` in `1..=MAX_D`.
    macro_rules! by_d {
        ($f:ident, $r:literal, $ch:expr, $d:expr, $($arg:expr),*) => {
            match ($d, $ch) {
                (1, 0) => $f::<1, $r, 0>($($arg),*),
                (2, 0) => $f::<2, $r, 0>($($arg),*),
                (3, 0) => $f::<3, $r, 0>($($arg),*),
                (4, 0) => $f::<4, $r, 0>($($arg),*),
                (1, _) => $f::<1, $r, CHUNK>($($arg),*),
                (2, _) => $f::<2, $r, CHUNK>($($arg),*),
                (3, _) => $f::<3, $r, CHUNK>($($arg),*),
                (4, _) => $f::<4, $r, CHUNK>($($arg),*),
                _ => unreachable!("d outside 1..=MAX_D"),
            }
        };
    }
    pub(super) use by_d;
}

macro_rules! impl_lowdim {
    ($t:ty, $avx512:ident, $avx2:ident, $l512:expr, $l2:expr) => {
        impl LowDim for $t {
            fn lanes(isa: Isa) -> usize {
                if isa.avx512() {
                    $l512
                } else {
                    $l2
                }
            }
            /// # Safety
            /// As [`LowDim::panels`].
            unsafe fn panels(
                isa: Isa,
                x: *const $t,
                rows: usize,
                d: usize,
                c: *const $t,
                cn: *const $t,
                k: usize,
                labels: *mut u32,
                best: *mut $t,
            ) {
                unsafe {
                    #[cfg(target_arch = "x86_64")]
                    {
                        use x86::*;
                        // Groups of GROUP registers, then single registers.
                        let lanes = Self::lanes(isa);
                        let grouped = rows / (GROUP * lanes) * (GROUP * lanes);
                        let (x1, l1, b1) =
                            (x.add(grouped * d), labels.add(grouped), best.add(grouped));
                        let ch = if k > CHUNKED_FROM { CHUNK } else { 0 };
                        if isa.avx512() {
                            by_d!($avx512, 4, ch, d, x, grouped, c, cn, k, labels, best);
                            by_d!($avx512, 1, ch, d, x1, rows - grouped, c, cn, k, l1, b1);
                        } else {
                            by_d!($avx2, 4, ch, d, x, grouped, c, cn, k, labels, best);
                            by_d!($avx2, 1, ch, d, x1, rows - grouped, c, cn, k, l1, b1);
                        }
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    {
                        let _ = (isa, x, rows, d, c, cn, k, labels, best);
                        unreachable!("low-dimensional kernels are x86-64 only");
                    }
                }
            }
        }
    };
}

impl_lowdim!(f32, lowd_f32_avx512, lowd_f32_avx2, 16, 8);
impl_lowdim!(f64, lowd_f64_avx512, lowd_f64_avx2, 8, 4);
