//! The rows of `dLoss/dD` from the responsibilities and their upstream gradient: the per-row
//! part of the backward pass of `R = map(-D / temp)` (the GEMMs around it are in
//! [`crate::rbf::backward`]).
//!
//! Every map's Jacobian is `dR/dlogits = diag(s) - s s^T / sum(s)`, with `s = r` (softmax),
//! `sqrt(r)` (entmax-1.5), `1[r > 0]` (sparsemax), `r^(2 - alpha)` (entmax-alpha), and
//! `dlogits/dD = -1 / temp`, so `dLoss/dD_ik = -s_ik (G_ik - <s_i, G_i> / sum(s_i)) / temp`.
//!
//! The row sums run on [`LANES`] partial sums combined in a fixed order, written as plain
//! loops that `simd_dispatch!` compiles for AVX-512, AVX2 + FMA and the baseline: the same
//! bits on every machine and for every thread count.

use crate::kernels::dispatch::simd_dispatch;
use crate::kernels::maps::MapKind;
use crate::real::Real;

/// Partial sums per row reduction (one AVX-512 register of f32).
pub const LANES: usize = 16;

/// `sum_j a_j b_j` (`b = None`: `sum_j a_j`) on [`LANES`] partial sums, then a fixed tree.
#[inline(always)]
fn lane_sum<T: Real>(a: &[T], b: Option<&[T]>) -> T {
    let mut acc = [T::ZERO; LANES];
    let full = a.len() / LANES * LANES;
    match b {
        Some(b) => {
            for (ca, cb) in a[..full]
                .chunks_exact(LANES)
                .zip(b[..full].chunks_exact(LANES))
            {
                for l in 0..LANES {
                    acc[l] += ca[l] * cb[l];
                }
            }
            for (l, (&x, &y)) in a[full..].iter().zip(&b[full..]).enumerate() {
                acc[l] += x * y;
            }
        }
        None => {
            for ca in a[..full].chunks_exact(LANES) {
                for l in 0..LANES {
                    acc[l] += ca[l];
                }
            }
            for (l, &x) in a[full..].iter().enumerate() {
                acc[l] += x;
            }
        }
    }
    let mut width = LANES / 2;
    while width > 0 {
        for l in 0..width {
            acc[l] += acc[l + width];
        }
        width /= 2;
    }
    acc[0]
}

/// The Jacobian weights `s` of one row `r` under `map` (the match sits outside the loops).
#[inline(always)]
fn weights<T: Real>(map: MapKind, r: &[T], s: &mut [T]) {
    match map {
        MapKind::Hard => s.fill(T::ZERO),
        MapKind::Softmax => s.copy_from_slice(r),
        MapKind::Entmax15 => s.iter_mut().zip(r).for_each(|(o, &v)| *o = v.sqrt()),
        MapKind::Sparsemax => s.iter_mut().zip(r).for_each(|(o, &v)| {
            *o = if v > T::ZERO { T::ONE } else { T::ZERO };
        }),
        MapKind::Entmax { alpha } => {
            let e = T::from_f64(2.0 - alpha);
            s.iter_mut().zip(r).for_each(|(o, &v)| {
                *o = if v > T::ZERO { v.powf(e) } else { T::ZERO };
            })
        }
    }
}

#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn dist_grad_rows_body<T: Real>(
    map: MapKind,
    resp: &[T],
    grad: &[T],
    k: usize,
    neg_inv_temp: T,
    out: &mut [T],
    row_sums: &mut [T],
    col_sums: &mut [f64],
    s: &mut [T],
) {
    for (((r, g), o), rs) in resp
        .chunks_exact(k)
        .zip(grad.chunks_exact(k))
        .zip(out.chunks_exact_mut(k))
        .zip(row_sums.iter_mut())
    {
        weights(map, r, s);
        let ss = lane_sum(s, None);
        let mean = if ss > T::ZERO {
            lane_sum(s, Some(g)) / ss
        } else {
            T::ZERO
        };
        for ((o, &sv), &gv) in o.iter_mut().zip(&*s).zip(g) {
            *o = sv * (gv - mean) * neg_inv_temp;
        }
        *rs = lane_sum(o, None);
        add_widened_body(col_sums, o);
    }
}

simd_dispatch! {
    /// `out_i = dLoss/dD_i` for the `b` rows of `resp` and `grad` (`b x k` each, row-major;
    /// `neg_inv_temp = -1 / temp`), `row_sums_i = sum_j out_ij`, and `col_sums_j += sum_i
    /// out_ij` in f64 (rows in order); `s` is a `k`-value scratch row.
    #[allow(clippy::too_many_arguments)]
    pub fn dist_grad_rows<T: Real>(
        map: MapKind,
        resp: &[T],
        grad: &[T],
        k: usize,
        neg_inv_temp: T,
        out: &mut [T],
        row_sums: &mut [T],
        col_sums: &mut [f64],
        s: &mut [T],
    ) => dist_grad_rows_body
}

#[inline(always)]
fn shift_rows_body<T: Real>(x: &[T], shift: &[T], out: &mut [T]) {
    for (o, r) in out
        .chunks_exact_mut(shift.len())
        .zip(x.chunks_exact(shift.len()))
    {
        for ((o, &v), &m) in o.iter_mut().zip(r).zip(shift) {
            *o = v - m;
        }
    }
}

simd_dispatch! {
    /// `out_i = x_i - shift` for the rows of `x` (`b x d`, `d = shift.len()`).
    pub fn shift_rows<T: Real>(x: &[T], shift: &[T], out: &mut [T]) => shift_rows_body
}

#[inline(always)]
fn add_row_multiples_body<T: Real>(out: &mut [T], rows: &[T], scale: &[T], alpha: T) {
    let d = rows.len() / scale.len().max(1);
    for ((o, r), &s) in out.chunks_exact_mut(d).zip(rows.chunks_exact(d)).zip(scale) {
        let a = alpha * s;
        for (o, &v) in o.iter_mut().zip(r) {
            *o += a * v;
        }
    }
}

simd_dispatch! {
    /// `out_i += alpha scale_i rows_i` for the `b = scale.len()` rows of `out` and `rows`
    /// (`b x d` each).
    pub fn add_row_multiples<T: Real>(out: &mut [T], rows: &[T], scale: &[T], alpha: T) => add_row_multiples_body
}

#[inline(always)]
fn add_widened_body<T: Real>(acc: &mut [f64], v: &[T]) {
    for (a, &x) in acc.iter_mut().zip(v) {
        *a += x.to_f64();
    }
}

simd_dispatch! {
    /// `acc_j += v_j` in f64.
    pub fn add_widened<T: Real>(acc: &mut [f64], v: &[T]) => add_widened_body
}
