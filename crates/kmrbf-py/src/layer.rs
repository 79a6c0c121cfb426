//! The backward pass of the responsibilities for autograd (the PyTorch layer): given the
//! upstream gradient `G = dLoss/dR` (`n x k`), the gradients with respect to the rows and
//! the centers.
//!
//! With `R = map(-D / T)` and `D_ik = ||z_i - c_k||^2`: every map's Jacobian is
//! `dR/dlogits = diag(s) - s s^T / sum(s)` with `s = r` (softmax), `sqrt(r)` (entmax15),
//! `1[r > 0]` (sparsemax), `r^(2 - alpha)` (entmax), so `dLoss/dD_ik = -s_ik (G_ik - <s_i,
//! G_i> / sum(s_i)) / T`, then `dz_i = 2 sum_k dD_ik (z_i - c_k)` and
//! `dc_k = -2 sum_i dD_ik (z_i - c_k)`: two GEMMs per block of rows.

use crate::arrays::{dtype_of, matrix, view2, Dtype, Float};
use crate::run::compute;
use faer::{Accum, MatMut, MatRef, Par};
use kmrbf::rbf::params::parse_map;
use kmrbf::rbf::MapKind;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use rayon::prelude::*;

/// Rows per block. Fixed, so the order of the center-gradient reduction (and its bits) does
/// not depend on the thread count.
const BLOCK: usize = 2048;

/// The Jacobian weights `s` of one row of responsibilities `r` under `map` (the match is
/// outside the loops, which then vectorize).
#[inline]
fn weights<T: Float>(map: MapKind, r: &[T], s: &mut [T]) {
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

/// Everything one backward call reads, row-major.
struct Inputs<'a, T> {
    z: &'a [T],
    c: &'a [T],
    r: &'a [T],
    g: &'a [T],
    n: usize,
    d: usize,
    k: usize,
    temp: f64,
    map: MapKind,
}

/// `(dz, dc)`: `n x d` and `k x d`. Rows and centers are shifted by the centers' mean inside
/// each block (the differences `z_i - c_k` are unchanged; the products stay accurate for data
/// far from the origin).
fn backward<T: Float>(a: &Inputs<'_, T>) -> (Vec<T>, Vec<T>) {
    let (n, d, k) = (a.n, a.d, a.k);
    let mut shift = vec![0.0f64; d];
    for row in a.c.chunks_exact(d) {
        for (m, v) in shift.iter_mut().zip(row) {
            *m += v.to_f64() / k as f64;
        }
    }
    let cs: Vec<T> =
        a.c.iter()
            .enumerate()
            .map(|(i, v)| T::from_f64(v.to_f64() - shift[i % d]))
            .collect();
    let inv_t = 1.0 / a.temp;
    let mut dz = vec![T::ZERO; n * d];
    let partials: Vec<(Vec<f64>, Vec<f64>)> = dz
        .par_chunks_mut(BLOCK * d)
        .enumerate()
        .map(|(bi, dzb)| {
            let b = dzb.len() / d;
            let lo = bi * BLOCK;
            let mut zb = vec![T::ZERO; b * d];
            for (i, row) in zb.chunks_exact_mut(d).enumerate() {
                let src = &a.z[(lo + i) * d..(lo + i + 1) * d];
                for ((o, v), m) in row.iter_mut().zip(src).zip(&shift) {
                    *o = T::from_f64(v.to_f64() - m);
                }
            }
            // dLoss/dD for the block's rows, and its row sums.
            let mut gd = vec![T::ZERO; b * k];
            let mut rowsum = vec![T::ZERO; b];
            let mut sw = vec![T::ZERO; k];
            let neg_inv_t = T::from_f64(-inv_t);
            for i in 0..b {
                let r = &a.r[(lo + i) * k..(lo + i + 1) * k];
                let g = &a.g[(lo + i) * k..(lo + i + 1) * k];
                weights(a.map, r, &mut sw);
                let (mut sg, mut ss) = (T::ZERO, T::ZERO);
                for (&s, &gv) in sw.iter().zip(g) {
                    sg += s * gv;
                    ss += s;
                }
                let mean = if ss > T::ZERO { sg / ss } else { T::ZERO };
                let out = &mut gd[i * k..(i + 1) * k];
                let mut sum = T::ZERO;
                for ((o, &s), &gv) in out.iter_mut().zip(&sw).zip(g) {
                    let v = s * (gv - mean) * neg_inv_t;
                    *o = v;
                    sum += v;
                }
                rowsum[i] = sum;
            }
            // dz = 2 (z rowsum - gD C).
            let gdm = MatRef::from_row_major_slice(&gd, b, k);
            matmul(
                MatMut::from_row_major_slice_mut(dzb, b, d),
                gdm,
                MatRef::from_row_major_slice(&cs, k, d),
                T::from_f64(-2.0),
            );
            for i in 0..b {
                let two_s = T::from_f64(2.0) * rowsum[i];
                for t in 0..d {
                    dzb[i * d + t] += two_s * zb[i * d + t];
                }
            }
            // The block's share of dc: gD^T Z (k x d) and the column sums of gD.
            let mut part = vec![T::ZERO; k * d];
            matmul(
                MatMut::from_row_major_slice_mut(&mut part, k, d),
                gdm.transpose(),
                MatRef::from_row_major_slice(&zb, b, d),
                T::ONE,
            );
            let mut colsum = vec![0.0f64; k];
            for i in 0..b {
                for j in 0..k {
                    colsum[j] += gd[i * k + j].to_f64();
                }
            }
            (part.iter().map(|v| v.to_f64()).collect(), colsum)
        })
        .collect();
    let mut acc = vec![0.0f64; k * d];
    let mut colsum = vec![0.0f64; k];
    for (p, s) in &partials {
        acc.iter_mut().zip(p).for_each(|(a, v)| *a += v);
        colsum.iter_mut().zip(s).for_each(|(a, v)| *a += v);
    }
    let dc = (0..k * d)
        .map(|i| T::from_f64(-2.0 * (acc[i] - cs[i].to_f64() * colsum[i / d])))
        .collect();
    (dz, dc)
}

fn matmul<T: Float>(dst: MatMut<'_, T>, lhs: MatRef<'_, T>, rhs: MatRef<'_, T>, alpha: T) {
    faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, alpha, Par::Seq);
}

#[allow(clippy::too_many_arguments)]
fn backward_typed<'py, T: Float>(
    py: Python<'py>,
    z: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    resp: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    temp: f64,
    map: MapKind,
    n_threads: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let (zr, n, d) = view2::<T>(z, "z")?;
    let (cr, k, dc) = view2::<T>(centers, "centers")?;
    let (rr, nr, kr) = view2::<T>(resp, "responsibilities")?;
    let (gr, ng, kg) = view2::<T>(grad, "grad")?;
    if dc != d || (nr, kr) != (n, k) || (ng, kg) != (n, k) {
        return Err(PyValueError::new_err(format!(
            "shapes disagree: z {n} x {d}, centers {k} x {dc}, responsibilities {nr} x {kr}, grad {ng} x {kg}"
        )));
    }
    if !(temp.is_finite() && temp > 0.0) {
        return Err(PyValueError::new_err(format!(
            "temperature = {temp} is invalid: must be finite and > 0"
        )));
    }
    let a = Inputs {
        z: zr.as_slice()?,
        c: cr.as_slice()?,
        r: rr.as_slice()?,
        g: gr.as_slice()?,
        n,
        d,
        k,
        temp,
        map,
    };
    let (gz, gc) = compute(py, n_threads, |_| backward(&a))?;
    Ok((
        matrix(py, gz, n, d)?.into_any(),
        matrix(py, gc, k, d)?.into_any(),
    ))
}

/// `(dLoss/dz, dLoss/dcenters)` from `grad = dLoss/dR` for `R = map(-D / temperature)`
/// (`temperature` the effective divisor), all arrays of z's dtype, C-contiguous.
#[pyfunction]
#[pyo3(signature = (z, centers, resp, grad, temperature, map, alpha, n_threads))]
#[allow(clippy::too_many_arguments)]
pub fn resp_backward<'py>(
    py: Python<'py>,
    z: &Bound<'py, PyAny>,
    centers: &Bound<'py, PyAny>,
    resp: &Bound<'py, PyAny>,
    grad: &Bound<'py, PyAny>,
    temperature: f64,
    map: &str,
    alpha: Option<f64>,
    n_threads: Option<usize>,
) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyAny>)> {
    let map = parse_map(map, alpha).map_err(crate::arrays::value_error)?;
    match dtype_of(z, "z")? {
        Dtype::F32 => {
            backward_typed::<f32>(py, z, centers, resp, grad, temperature, map, n_threads)
        }
        Dtype::F64 => {
            backward_typed::<f64>(py, z, centers, resp, grad, temperature, map, n_threads)
        }
    }
}
