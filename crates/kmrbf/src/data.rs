//! Borrowed, validated data: the boundary between user input and the kernels.

use crate::error::{Error, Result};
use crate::kernels::isa::Isa;
/// `out[i] = ||x_i||^2` for the rows of the `n x d` row-major `x` (`out`: `n` values).
pub use crate::kernels::layout::distance::row_sq_norms;
use crate::kernels::layout::tiles::Problem;
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

/// Rows prepared once for the passes: the `n x d` row-major rows, their `n` squared norms, the
/// `n` row weights (`None`: unit weights) and the instruction-set tier every kernel on them runs
/// on. [`Prepared::new`] checks the lengths (the kernels index below `n * d` and `n` without
/// checks); the values are the caller's: norms that are not the rows' give wrong distances.
#[derive(Clone, Copy, Debug)]
pub struct Prepared<'a, T> {
    pub(crate) x: &'a [T],
    pub(crate) d: usize,
    pub(crate) xn: &'a [T],
    pub(crate) w: Option<&'a [T]>,
    pub(crate) isa: Isa,
}

impl<'a, T: Real> Prepared<'a, T> {
    /// `x`: `n x d` row-major, `xn`: `n` squared row norms (see [`row_sq_norms`]), `w`: `n`
    /// weights or `None`. Errors when `d == 0`, `x.len() != xn.len() * d` or `w` has another
    /// length than `xn`.
    pub fn new(x: &'a [T], d: usize, xn: &'a [T], w: Option<&'a [T]>, isa: Isa) -> Result<Self> {
        let n = xn.len();
        if d == 0 {
            return Err(Error::NoColumns { n });
        }
        MatView::new(x, n, d)?;
        if let Some(w) = w {
            if w.len() != n {
                return Err(Error::WeightCount {
                    expected: n,
                    got: w.len(),
                });
            }
        }
        Ok(Self { x, d, xn, w, isa })
    }
    /// The `n x d` rows, row-major.
    pub fn x(&self) -> &'a [T] {
        self.x
    }
    /// Columns.
    pub fn d(&self) -> usize {
        self.d
    }
    /// The `n` squared row norms.
    pub fn xn(&self) -> &'a [T] {
        self.xn
    }
    /// The `n` row weights, `None` for unit weights.
    pub fn w(&self) -> Option<&'a [T]> {
        self.w
    }
    /// The instruction-set tier.
    pub fn isa(&self) -> Isa {
        self.isa
    }
    /// Rows.
    pub fn n(&self) -> usize {
        self.xn.len()
    }
    /// Weight of row `i` in f64.
    pub fn weight(&self, i: usize) -> f64 {
        self.w.map_or(1.0, |w| w[i].to_f64())
    }
    /// The fused-kernel problem against `centers` (`k x d`).
    pub fn against(&self, centers: &'a [T], k: usize) -> Problem<'a, T> {
        Problem {
            x: self.x,
            d: self.d,
            xn: self.xn,
            w: self.w,
            centers,
            k,
            isa: self.isa,
        }
    }
    /// Row `i`.
    pub fn row(&self, i: usize) -> &'a [T] {
        &self.x[i * self.d..(i + 1) * self.d]
    }
}

/// Errors at the first non-finite value of the `? x d` row-major `data`.
pub fn check_finite<T: Real>(what: &'static str, data: &[T], d: usize) -> Result<()> {
    use rayon::prelude::*;
    // Blocks checked without an early exit (a branch-free fold the compiler vectorizes; a
    // per-value `position` ran at a third of the memory's speed), in parallel; then the
    // first bad block is searched value by value.
    const BLOCK: usize = 1 << 14;
    let bad = data
        .par_chunks(BLOCK)
        .position_first(|b| !b.iter().fold(true, |ok, v| ok & v.is_finite()));
    if let Some(pos) = bad.and_then(|b| {
        let start = b * BLOCK;
        data[start..]
            .iter()
            .position(|v| !v.is_finite())
            .map(|p| start + p)
    }) {
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
