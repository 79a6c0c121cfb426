//! The AVX-512 building blocks the soft kernels share: masked loads and stores, the
//! exponential and logarithm, the threshold searches over registers, the `-2 x . c` register
//! block and the lane reductions. Every function needs the AVX-512 tier.

use super::shared::{EXP2_POLY, MAX_K, MR, RECIP16};
use crate::kernels::dispatch::lanes16 as lanes;
use core::arch::x86_64::*;

/// `dst += c x` for the `d` values at `dst` and `x` (a product, then a sum, per value).
///
/// # Safety
/// The CPU runs the AVX-512 tier; `dst` and `x` are valid for `d` values (reads; `dst` also
/// writes) and do not overlap.
#[inline(always)]
pub unsafe fn add_scaled_row(dst: *mut f32, x: *const f32, d: usize, c: f32) {
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
pub unsafe fn load_part(p: *const f32, m: __mmask16) -> __m512 {
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
pub unsafe fn store_part(p: *mut f32, m: __mmask16, v: __m512) {
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
pub unsafe fn neg(v: __m512) -> __m512 {
    unsafe {
        _mm512_castsi512_ps(_mm512_xor_si512(
            _mm512_castps_si512(v),
            _mm512_set1_epi32(i32::MIN),
        ))
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
pub unsafe fn threshold16<const SPARSE: bool>(c: *const f32, m: usize) -> f32 {
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
pub unsafe fn threshold64<const SPARSE: bool>(c: *const f32, m: usize) -> f32 {
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
pub unsafe fn support16<const SPARSE: bool>(
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

/// `2^t` lane-wise for `t <= 0` where `keep` is set (`t >= -125`, so the result is a
/// normal number), 0 elsewhere: `t = n + f` with `n = floor(t)`, a degree-6 polynomial
/// for `2^f` on `[0, 1)` (relative error 6.4e-8 evaluated in f32 on 2e7 random `f`,
/// fitted here by weighted least squares on Chebyshev nodes with `p(0) = 1`), then
/// `vscalefps`, which scales by `2^floor(t)` itself.
///
/// # Safety
/// The CPU runs the AVX-512 tier (the function only computes on registers).
#[inline(always)]
pub unsafe fn exp2_kept(t: __m512, keep: __mmask16) -> __m512 {
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

/// `ln(x)` lane-wise in f64 for positive finite `x`: `x = m 2^e` with `m` in
/// `[sqrt(1/2), sqrt(2))`, `ln m = 2 atanh(s)`, `s = (m - 1) / (m + 1)`, `|s| < 0.172`, by
/// its series to `s^15` (relative error below 1e-13).
///
/// # Safety
/// The CPU runs the AVX-512 tier (the function only computes on registers).
#[inline(always)]
pub unsafe fn ln_pd(x: __m512d) -> __m512d {
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

/// `op` over the 16 lanes of each of the six vectors `v`, for all six at once (a fixed
/// tree of shuffles over eight rows, two of them `ident`; row `r`'s result ends in lane
/// `4 r` for `r < 4`, `4 (r - 4) + 1` otherwise). Deterministic: the order is fixed.
///
/// # Safety
/// The CPU runs the AVX-512 tier (the function only computes on registers).
#[inline(always)]
pub unsafe fn reduce6(
    v: &[__m512; MR],
    ident: __m512,
    op: impl Fn(__m512, __m512) -> __m512,
) -> [f32; MR] {
    unsafe {
        let pair = |x: __m512, y: __m512| {
            op(
                _mm512_shuffle_f32x4::<0x44>(x, y),
                _mm512_shuffle_f32x4::<0xEE>(x, y),
            )
        };
        // Eight partials of rows (2p, 2p + 1) in each half.
        let b = [pair(v[0], v[1]), pair(v[2], v[3]), pair(v[4], v[5]), ident];
        // Four partials of rows 4q .. 4q + 3, one per 128-bit lane.
        let quad = |x: __m512, y: __m512| {
            op(
                _mm512_shuffle_f32x4::<0x88>(x, y),
                _mm512_shuffle_f32x4::<0xDD>(x, y),
            )
        };
        let (c0, c1) = (quad(b[0], b[1]), quad(b[2], b[3]));
        // Lane l: two partials of row l, then two of row l + 4.
        let dd = op(
            _mm512_shuffle_ps::<0x44>(c0, c1),
            _mm512_shuffle_ps::<0xEE>(c0, c1),
        );
        let e = op(
            _mm512_shuffle_ps::<0x88>(dd, dd),
            _mm512_shuffle_ps::<0xDD>(dd, dd),
        );
        let mut lanes16 = [0f32; 16];
        _mm512_storeu_ps(lanes16.as_mut_ptr(), e);
        core::array::from_fn(|r| lanes16[if r < 4 { 4 * r } else { 4 * (r - 4) + 1 }])
    }
}

/// `out[r][v] = start[v] - 2 x_r . c_{16 v ..}`: one FMA chain per entry over the columns in order,
/// 24 accumulators in registers, stored once at the end (kept apart from the epilogue:
/// inlined, the accumulators were written back to the stack on every column).
///
/// # Safety
/// The CPU runs the AVX-512 tier; `xr` is readable for `MR` rows of `d` values and `panel` for
/// `d` rows of 64 values.
#[inline(never)]
#[target_feature(enable = "avx512f,avx512bw,avx512vl,avx512dq,fma")]
pub unsafe fn cross<const NV: usize>(
    xr: *const f32,
    d: usize,
    panel: *const f32,
    start: &[__m512; NV],
    out: &mut [[__m512; NV]; MR],
) {
    unsafe {
        let mut acc = [*start; MR];
        for t in 0..d {
            let p = panel.add(t * MAX_K);
            let cv: [__m512; NV] = core::array::from_fn(|v| _mm512_loadu_ps(p.add(16 * v)));
            for (r, row) in acc.iter_mut().enumerate() {
                let xb = _mm512_set1_ps(*xr.add(r * d + t));
                for v in 0..NV {
                    row[v] = _mm512_fmadd_ps(xb, cv[v], row[v]);
                }
            }
        }
        *out = acc;
    }
}
