//! Row maps: squared distances of one row to the `k` centers -> responsibilities on the
//! simplex (DESIGN.md section 1), with the row's objective terms and the weights of the
//! responsibilities' Jacobian.
//!
//! Every map works on shifted, scaled distances `u_k = (D_k - D_min) / temp >= 0`, so no
//! exponent overflows and no `inf - inf` appears for any `temp > 0` and finite `D`
//! (`u_k` may be `+inf`, which maps to exactly 0).

pub mod exp;

use crate::kernels::maps::exp::exp_nonpos;
use crate::real::Real;

/// Which normalization of the RBF units.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MapKind {
    /// One-hot at the nearest center (lowest index on ties): K-Means.
    Hard,
    /// `softmax(-D / temp)`, max-shifted.
    Softmax,
    /// alpha-entmax with alpha = 1.5, exact threshold: `p = [z/2 - tau]_+^2`.
    Entmax15,
    /// alpha = 2: `p = [z - tau]_+`, exact threshold.
    Sparsemax,
    /// alpha-entmax for alpha in (1, 2], threshold by bisection.
    Entmax {
        /// The alpha, in (1, 2].
        alpha: f64,
    },
}

impl MapKind {
    /// The entropy's maximum over the simplex of size `k` (`Hmax` of DESIGN.md's bounds).
    pub fn entropy_max(self, k: usize) -> f64 {
        let k = k as f64;
        match self {
            MapKind::Hard => 0.0,
            MapKind::Softmax => k.ln(),
            MapKind::Entmax15 => (4.0 / 3.0) * (1.0 - k.powf(-0.5)),
            MapKind::Sparsemax => 0.5 * (1.0 - 1.0 / k),
            MapKind::Entmax { alpha } => (1.0 - k.powf(1.0 - alpha)) / (alpha * (alpha - 1.0)),
        }
    }

    /// Name as the command line spells it.
    pub fn name(self) -> String {
        match self {
            MapKind::Hard => "hard".into(),
            MapKind::Softmax => "softmax".into(),
            MapKind::Entmax15 => "entmax15".into(),
            MapKind::Sparsemax => "sparsemax".into(),
            MapKind::Entmax { alpha } => format!("entmax({alpha})"),
        }
    }
}

/// What a map gives for one row besides the responsibilities.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RowTerms {
    /// `min_k D_k` (the K-Means term `J_i`).
    pub dmin: f64,
    /// `sum_k r_k D_k` (the smooth loss term `L_i`).
    pub loss: f64,
    /// `<r, D> - temp H(r)` (the free energy term `F_i`).
    pub free: f64,
    /// Number of `r_k > 0`.
    pub support: usize,
}

/// Applies `kind` to the distances `dist` (`k`, squared, `>= 0`) at temperature `temp > 0`.
///
/// Writes the responsibilities into `resp` (`k`) and, when `jac` is given, the Jacobian
/// weights `s_k` (`dr/dz = diag(s) - s s^T / sum(s)` for every map: `s = r` for softmax,
/// `sqrt(r)` for entmax15, `1[r > 0]` for sparsemax, `r^(2 - alpha)` in general, 0 for hard).
/// `scratch` holds at least `k` values.
#[inline(always)]
pub fn map_row<T: Real>(
    kind: MapKind,
    dist: &[T],
    temp: T,
    resp: &mut [T],
    jac: Option<&mut [T]>,
    scratch: &mut [T],
) -> RowTerms {
    let dmin = lane_min(dist);
    let terms = match kind {
        MapKind::Hard => {
            let imin = dist.iter().position(|&v| v == dmin).unwrap_or(0);
            resp.fill(T::ZERO);
            resp[imin] = T::ONE;
            RowTerms {
                dmin: dmin.to_f64(),
                loss: dmin.to_f64(),
                free: dmin.to_f64(),
                support: 1,
            }
        }
        MapKind::Softmax => softmax_row(dist, dmin, temp, resp),
        MapKind::Entmax15 => entmax15_row(dist, dmin, temp, resp, scratch),
        MapKind::Sparsemax => sparsemax_row(dist, dmin, temp, resp, scratch),
        MapKind::Entmax { alpha } => entmax_bisect_row(dist, dmin, temp, T::from_f64(alpha), resp),
    };
    if let Some(jac) = jac {
        match kind {
            MapKind::Hard => jac.fill(T::ZERO),
            MapKind::Softmax => jac.copy_from_slice(resp),
            MapKind::Entmax15 => {
                for (s, &r) in jac.iter_mut().zip(resp.iter()) {
                    *s = r.sqrt();
                }
            }
            MapKind::Sparsemax => {
                for (s, &r) in jac.iter_mut().zip(resp.iter()) {
                    *s = if r > T::ZERO { T::ONE } else { T::ZERO };
                }
            }
            MapKind::Entmax { alpha } => {
                let e = T::from_f64(2.0 - alpha);
                for (s, &r) in jac.iter_mut().zip(resp.iter()) {
                    *s = if r > T::ZERO { r.powf(e) } else { T::ZERO };
                }
            }
        }
    }
    terms
}

const LANES: usize = 16;

/// `sum_k v_k` in 16 interleaved lanes (vectorizes; fixed order, so deterministic).
#[inline(always)]
fn lane_sum<T: Real>(v: &[T]) -> T {
    let mut acc = [T::ZERO; LANES];
    let mut it = v.chunks_exact(LANES);
    for c in &mut it {
        for l in 0..LANES {
            acc[l] += c[l];
        }
    }
    for (l, &r) in it.remainder().iter().enumerate() {
        acc[l] += r;
    }
    let mut s = T::ZERO;
    for a in acc {
        s += a;
    }
    s
}

/// `min_k v_k` in 16 lanes.
#[inline(always)]
fn lane_min<T: Real>(v: &[T]) -> T {
    let mut acc = [T::INFINITY; LANES];
    let mut it = v.chunks_exact(LANES);
    for c in &mut it {
        for l in 0..LANES {
            acc[l] = acc[l].min_of(c[l]);
        }
    }
    for (l, &r) in it.remainder().iter().enumerate() {
        acc[l] = acc[l].min_of(r);
    }
    let mut m = acc[0];
    for a in acc {
        m = m.min_of(a);
    }
    m
}

/// `sum_k r_k D_k` as `dmin + sum_k r_k (D_k - dmin)` (no cancellation), and the support.
#[inline(always)]
fn loss_and_support<T: Real>(dist: &[T], dmin: T, resp: &[T]) -> (f64, usize) {
    let mut acc = [T::ZERO; LANES];
    let mut cnt = [0u32; LANES];
    let mut id = dist.chunks_exact(LANES);
    let mut ir = resp.chunks_exact(LANES);
    for (cd, cr) in (&mut id).zip(&mut ir) {
        for l in 0..LANES {
            acc[l] += cr[l] * (cd[l] - dmin);
            cnt[l] += (cr[l] > T::ZERO) as u32;
        }
    }
    for (l, (&d, &r)) in id.remainder().iter().zip(ir.remainder()).enumerate() {
        acc[l] += r * (d - dmin);
        cnt[l] += (r > T::ZERO) as u32;
    }
    let mut a = T::ZERO;
    for v in acc {
        a += v;
    }
    (dmin.to_f64() + a.to_f64(), cnt.iter().sum::<u32>() as usize)
}

#[inline(always)]
fn softmax_row<T: Real>(dist: &[T], dmin: T, temp: T, resp: &mut [T]) -> RowTerms {
    let inv = T::ONE / temp;
    // One pass for the exponentials, their sum, `sum e (D - dmin)` and the support; then the
    // normalization. `sum_k r_k D_k = dmin + (sum_k e_k (D_k - dmin)) / sum_k e_k`.
    let mut se = [T::ZERO; LANES];
    let mut sd = [T::ZERO; LANES];
    let mut cnt = [0u32; LANES];
    let mut step = |l: usize, r: &mut T, d: T| {
        // (d - dmin) * inv may be +inf for tiny temp: exp gives 0.
        let g = d - dmin;
        let e = exp_nonpos(-(g * inv));
        *r = e;
        se[l] += e;
        sd[l] += e * g;
        cnt[l] += (e > T::ZERO) as u32;
    };
    let mut ir = resp.chunks_exact_mut(LANES);
    let mut id = dist.chunks_exact(LANES);
    for (cr, cd) in (&mut ir).zip(&mut id) {
        for l in 0..LANES {
            step(l, &mut cr[l], cd[l]);
        }
    }
    for (l, (r, &d)) in ir
        .into_remainder()
        .iter_mut()
        .zip(id.remainder())
        .enumerate()
    {
        step(l, r, d);
    }
    let (mut sum, mut sdist) = (T::ZERO, T::ZERO);
    for l in 0..LANES {
        sum += se[l];
        sdist += sd[l];
    }
    let norm = T::ONE / sum;
    for r in resp.iter_mut() {
        *r *= norm;
    }
    RowTerms {
        dmin: dmin.to_f64(),
        loss: dmin.to_f64() + (sdist * norm).to_f64(),
        free: dmin.to_f64() - temp.to_f64() * sum.to_f64().ln(),
        support: cnt.iter().sum::<u32>() as usize,
    }
}

/// Exact entmax-1.5 threshold over the candidates `z'_k > -1` (all others are exactly 0).
#[inline(always)]
fn entmax15_row<T: Real>(
    dist: &[T],
    dmin: T,
    temp: T,
    resp: &mut [T],
    scratch: &mut [T],
) -> RowTerms {
    let inv = T::ONE / (temp + temp);
    // z'_k = -(D_k - dmin) / (2 temp) in (-inf, 0]; support needs z'_k > tau >= -1.
    let mut m = 0;
    // Compressed without a branch (written always, kept by advancing `m`): a test per
    // entry mispredicted on most rows (~20% of a portable entmax15 step).
    for &d in dist {
        let z = -((d - dmin) * inv);
        scratch[m] = z;
        m += usize::from(z > -T::ONE);
    }
    let cand = &mut scratch[..m];
    cand.sort_unstable_by(|a, b| b.partial_cmp(a).expect("finite"));
    // Peters et al. (2019), Algorithm 2: the largest support size whose threshold is consistent.
    let (mut s1, mut s2) = (T::ZERO, T::ZERO);
    let mut tau = -T::ONE;
    for (i, &z) in cand.iter().enumerate() {
        let kk = T::from_usize(i + 1);
        s1 += z;
        s2 += z * z;
        let mean = s1 / kk;
        let delta = (T::ONE - kk * (s2 / kk - mean * mean)) / kk;
        let t = mean - delta.max_of(T::ZERO).sqrt();
        if t <= z {
            tau = t;
        } else {
            break;
        }
    }
    for (r, &d) in resp.iter_mut().zip(dist) {
        let z = -((d - dmin) * inv);
        let v = (z - tau).max_of(T::ZERO);
        *r = v * v;
    }
    let norm = T::ONE / lane_sum(resp);
    for r in resp.iter_mut() {
        *r *= norm;
    }
    let mut p15l = [T::ZERO; LANES];
    let mut it = resp.chunks_exact(LANES);
    for c in &mut it {
        for l in 0..LANES {
            p15l[l] += c[l] * c[l].sqrt();
        }
    }
    for (l, &r) in it.remainder().iter().enumerate() {
        p15l[l] += r * r.sqrt();
    }
    let p15 = lane_sum(&p15l);
    let (loss, support) = loss_and_support(dist, dmin, resp);
    let h = (4.0 / 3.0) * (1.0 - p15.to_f64());
    RowTerms {
        dmin: dmin.to_f64(),
        loss,
        free: loss - temp.to_f64() * h,
        support,
    }
}

/// Exact sparsemax threshold over the candidates `z_k > -1`.
#[inline(always)]
fn sparsemax_row<T: Real>(
    dist: &[T],
    dmin: T,
    temp: T,
    resp: &mut [T],
    scratch: &mut [T],
) -> RowTerms {
    let inv = T::ONE / temp;
    let mut m = 0;
    // Compressed without a branch (written always, kept by advancing `m`): a test per
    // entry mispredicted on most rows (~20% of a portable entmax15 step).
    for &d in dist {
        let z = -((d - dmin) * inv);
        scratch[m] = z;
        m += usize::from(z > -T::ONE);
    }
    let cand = &mut scratch[..m];
    cand.sort_unstable_by(|a, b| b.partial_cmp(a).expect("finite"));
    let mut s1 = T::ZERO;
    let mut tau = -T::ONE;
    for (i, &z) in cand.iter().enumerate() {
        s1 += z;
        let t = (s1 - T::ONE) / T::from_usize(i + 1);
        if t < z {
            tau = t;
        } else {
            break;
        }
    }
    for (r, &d) in resp.iter_mut().zip(dist) {
        let z = -((d - dmin) * inv);
        *r = (z - tau).max_of(T::ZERO);
    }
    let norm = T::ONE / lane_sum(resp);
    for r in resp.iter_mut() {
        *r *= norm;
    }
    let mut p2l = [T::ZERO; LANES];
    let mut it = resp.chunks_exact(LANES);
    for c in &mut it {
        for l in 0..LANES {
            p2l[l] += c[l] * c[l];
        }
    }
    for (l, &r) in it.remainder().iter().enumerate() {
        p2l[l] += r * r;
    }
    let p2 = lane_sum(&p2l);
    let (loss, support) = loss_and_support(dist, dmin, resp);
    let h = 0.5 * (1.0 - p2.to_f64());
    RowTerms {
        dmin: dmin.to_f64(),
        loss,
        free: loss - temp.to_f64() * h,
        support,
    }
}

/// alpha-entmax by bisection on the threshold (the reference for the exact maps):
/// `p_k = [(alpha - 1) z_k - tau]_+^(1 / (alpha - 1))`, `z = -(D - dmin) / temp`.
fn entmax_bisect_row<T: Real>(dist: &[T], dmin: T, temp: T, alpha: T, resp: &mut [T]) -> RowTerms {
    let am1 = alpha - T::ONE;
    let inv = T::ONE / temp;
    let expo = T::ONE / am1;
    let k = dist.len();
    // p_max <= 1 and p_max >= 1/k bound the threshold (the max of (alpha-1) z is 0).
    let mut lo = -T::ONE;
    let mut hi = -(T::ONE / T::from_usize(k)).powf(am1);
    let eval = |tau: T, resp: &mut [T]| -> T {
        let mut s = T::ZERO;
        for (r, &d) in resp.iter_mut().zip(dist) {
            let x = am1 * -((d - dmin) * inv) - tau;
            *r = if x > T::ZERO { x.powf(expo) } else { T::ZERO };
            s += *r;
        }
        s
    };
    let iters = if T::NAME == "f32" { 40 } else { 80 };
    for _ in 0..iters {
        let mid = (lo + hi) * T::from_f64(0.5);
        if eval(mid, resp) >= T::ONE {
            lo = mid;
        } else {
            hi = mid;
        }
    }
    let sum = eval(lo, resp);
    let norm = T::ONE / sum;
    let mut pa = 0.0f64;
    for r in resp.iter_mut() {
        *r *= norm;
        if *r > T::ZERO {
            pa += r.to_f64().powf(alpha.to_f64());
        }
    }
    let (loss, support) = loss_and_support(dist, dmin, resp);
    let a = alpha.to_f64();
    let h = (1.0 - pa) / (a * (a - 1.0));
    RowTerms {
        dmin: dmin.to_f64(),
        loss,
        free: loss - temp.to_f64() * h,
        support,
    }
}
