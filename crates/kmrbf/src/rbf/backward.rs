//! The backward pass of the responsibilities, for autograd layers: given `R = map(-D / temperature)`
//! (`n x k`) of the rows `x` (`n x d`) under `centers` (`k x d`) and the upstream gradient
//! `G = dLoss/dR` (`n x k`), the gradients of the loss with respect to the rows and the
//! centers.
//!
//! With `dD = dLoss/dD` (`kernels::backward`): `dx_i = 2 sum_k dD_ik (x_i - c_k)`
//! and `dc_k = -2 sum_i dD_ik (x_i - c_k)`. Per block of [`BLOCK`] rows: one pass over `R`
//! and `G` gives `dD` (in cache), then `dx = 2 (rowsum(dD) x - dD C)` and the block's share
//! `dD^T X` of `dc` are two GEMMs. Rows and centers are shifted by the centers' mean inside
//! each block (the differences `x_i - c_k` are unchanged; the products stay accurate for data
//! far from the origin). Blocks form fixed chunks whose `dc` shares add in f64 in chunk order:
//! the same bits for any thread count.

use crate::data::MatView;
use crate::error::{Error, Result};
use crate::kernels::backward::{add_row_multiples, add_widened, dist_grad_rows, shift_rows};
use crate::kernels::isa::Isa;
use crate::kernels::maps::MapKind;
use crate::rbf::params::Temperature;
use crate::real::Real;
use faer::{Accum, MatMut, MatRef, Par};
use rayon::prelude::*;

/// Rows per block: `dD` (`BLOCK x k`) and the shifted rows stay in L2 between the passes.
pub const BLOCK: usize = 512;
/// Blocks per chunk of parallel work (a fixed number: the reduction order of `dc`).
const CHUNK_BLOCKS: usize = 16;

/// The gradients of a loss through `R = map(-D / temperature)`.
#[derive(Clone, Debug)]
pub struct ResponsibilityGrads<T> {
    /// `dLoss/dx`, `n x d`.
    pub rows: Vec<T>,
    /// `dLoss/dcenters`, `k x d`.
    pub centers: Vec<T>,
}

/// `dLoss/dx` and `dLoss/dcenters` from `grad = dLoss/dR` for `resp = R = map(-D / temperature)`
/// (the responsibilities the forward pass returned for `x` and `centers`; all row-major).
/// Shapes are checked; values are used as given (a NaN in `grad` gives NaN gradients, as
/// autograd expects), so the forward pass is where data is validated. The kernels run on
/// `isa`.
#[allow(clippy::too_many_arguments)]
pub fn responsibilities_backward<T: Real>(
    isa: Isa,
    x: MatView<'_, T>,
    centers: &[T],
    k: usize,
    map: MapKind,
    temperature: Temperature,
    resp: &[T],
    grad: &[T],
) -> Result<ResponsibilityGrads<T>> {
    let (n, d) = (x.n(), x.d());
    if k == 0 {
        return Err(Error::BadK {
            k,
            reason: "need at least one center".into(),
        });
    }
    for (what, buf, rows, cols) in [
        ("centers", centers, k, d),
        ("responsibilities", resp, n, k),
        ("grad", grad, n, k),
    ] {
        if buf.len() != rows * cols {
            return Err(Error::BadLength {
                what,
                rows,
                cols,
                expected: rows * cols,
                got: buf.len(),
            });
        }
    }
    let neg_inv_temp = T::from_f64(-1.0 / temperature.working::<T>()?.to_f64());
    // The centers' mean (rounded to T: rows and centers move by the same vector).
    let mut mean = vec![0.0f64; d];
    for row in centers.chunks_exact(d.max(1)) {
        for (m, v) in mean.iter_mut().zip(row) {
            *m += v.to_f64() / k as f64;
        }
    }
    let shift: Vec<T> = mean.iter().map(|&m| T::from_f64(m)).collect();
    let mut cs = vec![T::ZERO; k * d];
    if d > 0 {
        shift_rows(isa, centers, &shift, &mut cs);
    }
    let mut dx = vec![T::ZERO; n * d];
    let chunk_rows = BLOCK * CHUNK_BLOCKS;
    let job = Job {
        x: x.data(),
        cs: &cs,
        shift: &shift,
        resp,
        grad,
        d,
        k,
        map,
        neg_inv_temp,
        isa,
    };
    let parts: Vec<(Vec<f64>, Vec<f64>)> = if d == 0 {
        Vec::new()
    } else {
        dx.par_chunks_mut(chunk_rows * d)
            .enumerate()
            .map(|(ci, out)| job.chunk(ci * chunk_rows, out))
            .collect()
    };
    // dc_k = -2 (sum_i dD_ik xs_i - cs_k sum_i dD_ik), chunk shares in order.
    let mut acc = vec![0.0f64; k * d];
    let mut col = vec![0.0f64; k];
    for (p, c) in &parts {
        acc.iter_mut().zip(p).for_each(|(a, v)| *a += v);
        col.iter_mut().zip(c).for_each(|(a, v)| *a += v);
    }
    let dc = (0..k * d)
        .map(|i| T::from_f64(-2.0 * (acc[i] - cs[i].to_f64() * col[i / d])))
        .collect();
    Ok(ResponsibilityGrads {
        rows: dx,
        centers: dc,
    })
}

/// What every chunk reads.
struct Job<'a, T> {
    x: &'a [T],
    cs: &'a [T],
    shift: &'a [T],
    resp: &'a [T],
    grad: &'a [T],
    d: usize,
    k: usize,
    map: MapKind,
    neg_inv_temp: T,
    isa: Isa,
}

impl<T: Real> Job<'_, T> {
    /// The rows from `lo` that `out` (`rows x d`) covers: writes their `dx`; returns the
    /// chunk's `sum_i dD_ik xs_i` (`k x d`) and `sum_i dD_ik` (`k`) in f64.
    fn chunk(&self, lo: usize, out: &mut [T]) -> (Vec<f64>, Vec<f64>) {
        let (d, k) = (self.d, self.k);
        let mut xs = vec![T::ZERO; BLOCK * d];
        let mut dd = vec![T::ZERO; BLOCK * k];
        let mut row_sums = [T::ZERO; BLOCK];
        let mut s = vec![T::ZERO; k];
        let mut part = vec![T::ZERO; k * d];
        let mut acc = vec![0.0f64; k * d];
        let mut col = vec![0.0f64; k];
        for (bi, dxb) in out.chunks_mut(BLOCK * d).enumerate() {
            let b = dxb.len() / d;
            let r0 = lo + bi * BLOCK;
            let (xs, dd, row_sums) = (&mut xs[..b * d], &mut dd[..b * k], &mut row_sums[..b]);
            shift_rows(self.isa, &self.x[r0 * d..(r0 + b) * d], self.shift, xs);
            dist_grad_rows(
                self.isa,
                self.map,
                &self.resp[r0 * k..(r0 + b) * k],
                &self.grad[r0 * k..(r0 + b) * k],
                k,
                self.neg_inv_temp,
                dd,
                row_sums,
                &mut col,
                &mut s,
            );
            // dx = 2 (rowsum(dD) xs - dD cs).
            let ddm = MatRef::from_row_major_slice(dd, b, k);
            matmul(
                MatMut::from_row_major_slice_mut(dxb, b, d),
                ddm,
                MatRef::from_row_major_slice(self.cs, k, d),
                T::from_f64(-2.0),
            );
            add_row_multiples(self.isa, dxb, xs, row_sums, T::from_f64(2.0));
            // The block's dD^T xs, widened into the chunk's f64 share.
            matmul(
                MatMut::from_row_major_slice_mut(&mut part, k, d),
                ddm.transpose(),
                MatRef::from_row_major_slice(xs, b, d),
                T::ONE,
            );
            add_widened(self.isa, &mut acc, &part);
        }
        (acc, col)
    }
}

fn matmul<T: Real>(dst: MatMut<'_, T>, lhs: MatRef<'_, T>, rhs: MatRef<'_, T>, alpha: T) {
    faer::linalg::matmul::matmul(dst, Accum::Replace, lhs, rhs, alpha, Par::Seq);
}
