//! Squared Euclidean distances: row norms and the GEMM part `-2 x . c` of a row tile.

use crate::real::Real;
use faer::{Accum, MatMut, MatRef, Par};

/// `out[i] = ||x_i||^2` for the `n x d` row-major `x`; `out.len() == n`. Large inputs are
/// split over the caller's rayon pool (each row's norm is the same arithmetic either way).
pub fn row_sq_norms<T: Real>(x: &[T], d: usize, out: &mut [T]) {
    use rayon::prelude::*;
    debug_assert_eq!(x.len(), out.len() * d);
    if d == 0 {
        out.fill(T::ZERO);
        return;
    }
    // Rows per task: about 256 KiB of data, at least 64 rows.
    let rows = ((1usize << 18) / (d * std::mem::size_of::<T>())).max(64);
    let serial = |x: &[T], out: &mut [T]| {
        for (row, o) in x.chunks_exact(d).zip(out.iter_mut()) {
            *o = sq_norm(row);
        }
    };
    if out.len() <= rows {
        serial(x, out);
    } else {
        out.par_chunks_mut(rows)
            .zip(x.par_chunks(rows * d))
            .for_each(|(o, xc)| serial(xc, o));
    }
}

/// `||v||^2`, summed in 8 interleaved lanes (vectorizes; fixed order, so deterministic).
#[inline]
pub fn sq_norm<T: Real>(v: &[T]) -> T {
    let mut acc = [T::ZERO; 8];
    let mut it = v.chunks_exact(8);
    for c in &mut it {
        for j in 0..8 {
            acc[j] += c[j] * c[j];
        }
    }
    for (j, &r) in it.remainder().iter().enumerate() {
        acc[j] += r * r;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// `||a - b||^2` computed from the differences (exact form, no cancellation).
#[inline]
pub fn sq_dist<T: Real>(a: &[T], b: &[T]) -> T {
    debug_assert_eq!(a.len(), b.len());
    let mut acc = [T::ZERO; 8];
    let mut ia = a.chunks_exact(8);
    let mut ib = b.chunks_exact(8);
    for (ca, cb) in (&mut ia).zip(&mut ib) {
        for j in 0..8 {
            let t = ca[j] - cb[j];
            acc[j] += t * t;
        }
    }
    for (j, (&ra, &rb)) in ia.remainder().iter().zip(ib.remainder()).enumerate() {
        let t = ra - rb;
        acc[j] += t * t;
    }
    ((acc[0] + acc[4]) + (acc[1] + acc[5])) + ((acc[2] + acc[6]) + (acc[3] + acc[7]))
}

/// GEMM part of the distances of a row tile: `out[i*k + j] = -2 <x_i, c_j>`.
///
/// Shapes: `x_tile` is `b x d`, `centers` is `k x d`, `out` is `b x k`, all row-major.
/// Single-threaded (`Par::Seq`): the caller parallelizes over tiles.
/// `D_ij = ||x_i||^2 + ||c_j||^2 + out[i*k + j]`.
pub fn neg2_cross_tile<T: Real>(x_tile: &[T], d: usize, centers: &[T], k: usize, out: &mut [T]) {
    let b = out.len() / k.max(1);
    debug_assert_eq!(x_tile.len(), b * d);
    debug_assert_eq!(centers.len(), k * d);
    if b == 0 || k == 0 {
        return;
    }
    if d == 0 {
        out.fill(T::ZERO);
        return;
    }
    let lhs = MatRef::from_row_major_slice(x_tile, b, d);
    let rhs = MatRef::from_row_major_slice(centers, k, d).transpose();
    let dst = MatMut::from_row_major_slice_mut(out, b, k);
    faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, T::from_f64(-2.0), Par::Seq);
}
