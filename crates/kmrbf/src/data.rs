//! Borrowed, validated data: the boundary between user input and the kernels.

use crate::error::{Error, Result};
/// `out[i] = ||x_i||^2` for the rows of the `n x d` row-major `x` (`out`: `n` values).
pub use crate::kernels::layout::distance::row_sq_norms;
use crate::real::Real;

/// A row-major `n x d` matrix view: `data.len() == n * d` always holds (the fields are
/// private and [`MatView::new`] checks it with overflow-checked arithmetic), so the kernels'
/// unchecked indexing below `n * d` stays in bounds.
#[derive(Clone, Copy, Debug)]
pub struct MatView<'a, T> {
    data: &'a [T],
    n: usize,
    d: usize,
}

impl<'a, T: Real> MatView<'a, T> {
    /// Wraps `data` as `n x d`; errors when `n * d` overflows or differs from `data.len()`.
    pub fn new(data: &'a [T], n: usize, d: usize) -> Result<Self> {
        match n.checked_mul(d) {
            Some(len) if len == data.len() => Ok(Self { data, n, d }),
            expected => Err(Error::BadLength {
                what: "data",
                rows: n,
                cols: d,
                expected: expected.unwrap_or(usize::MAX),
                got: data.len(),
            }),
        }
    }

    /// The `n * d` values, row-major.
    #[inline]
    pub fn data(&self) -> &'a [T] {
        self.data
    }

    /// Rows.
    #[inline]
    pub fn n(&self) -> usize {
        self.n
    }

    /// Columns.
    #[inline]
    pub fn d(&self) -> usize {
        self.d
    }

    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [T] {
        &self.data[i * self.d..(i + 1) * self.d]
    }

    /// Checks: at least one row and one column, every value finite. `what` names the input.
    pub fn validate(&self, what: &'static str) -> Result<()> {
        if self.n == 0 {
            return Err(Error::EmptyData);
        }
        if self.d == 0 {
            return Err(Error::NoColumns { n: self.n });
        }
        check_finite(what, self.data, self.d)
    }
}

/// Errors at the first non-finite value of the `? x d` row-major `data`.
pub fn check_finite<T: Real>(what: &'static str, data: &[T], d: usize) -> Result<()> {
    if let Some(pos) = data.iter().position(|v| !v.is_finite()) {
        return Err(Error::NonFinite {
            what,
            row: pos / d.max(1),
            col: pos % d.max(1),
            value: data[pos].to_f64(),
        });
    }
    Ok(())
}

/// Checks sample weights: one per row, finite, `>= 0`, not all zero.
pub fn check_weights<T: Real>(w: &[T], n: usize) -> Result<()> {
    if w.len() != n {
        return Err(Error::WeightCount {
            expected: n,
            got: w.len(),
        });
    }
    if let Some(row) = w.iter().position(|v| !(v.is_finite() && *v >= T::ZERO)) {
        return Err(Error::BadWeight {
            row,
            value: w[row].to_f64(),
        });
    }
    if w.iter().all(|v| *v == T::ZERO) {
        return Err(Error::ZeroTotalWeight);
    }
    Ok(())
}
