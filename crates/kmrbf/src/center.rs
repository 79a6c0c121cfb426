//! Centering: the coordinates every model computes in.
//!
//! Squared distances are computed as `|x|^2 - 2 x.c + |c|^2`; far from the origin that
//! cancels catastrophically in f32 (scikit-learn centers its data for the same reason). A
//! [`Shift`] holds the column means of the data; the data is moved by it (in place, so memory
//! stays at the input size) and centers move by the same vector, which changes no distance.
//! Results go back to the user's coordinates through [`Shift::to_user`].

use crate::data::MatView;
use crate::real::Real;

/// The column means of a data matrix, computed in f64 in row order (so the same data gives
/// the same bits on every machine and thread count).
#[derive(Clone, Debug, PartialEq)]
pub struct Shift {
    mean: Vec<f64>,
}

impl Shift {
    /// The column means of `x`.
    pub fn of<T: Real>(x: MatView<'_, T>) -> Self {
        Self::of_rows(x.data(), x.d())
    }

    /// The column means of the row-major `data` with `d` columns (`data.len()` a multiple
    /// of `d`; `d > 0`).
    pub fn of_rows<T: Real>(data: &[T], d: usize) -> Self {
        let mut mean = vec![0.0f64; d];
        let mut n = 0usize;
        for r in data.chunks_exact(d.max(1)) {
            for (m, x) in mean.iter_mut().zip(r) {
                *m += x.to_f64();
            }
            n += 1;
        }
        for m in &mut mean {
            *m /= n.max(1) as f64;
        }
        Self { mean }
    }

    /// [`MatView::validate`] and [`Shift::of`] in one read of the data: the column means of a
    /// checked `x` (at least one row and column, every value finite; else the validation's
    /// error, naming `what` and the first bad value's row and column). A column's f64 sum is
    /// finite when its values are (for f32 data always; f64 sums can also overflow), so only a
    /// non-finite sum sends the data through the full check.
    pub fn of_valid<T: Real>(x: MatView<'_, T>, what: &'static str) -> crate::Result<Self> {
        if x.n() == 0 || x.d() == 0 {
            x.validate(what)?;
        }
        let shift = Self::of(x);
        if shift.mean.iter().any(|m| !m.is_finite()) {
            crate::data::check_finite(what, x.data(), x.d())?;
        }
        Ok(shift)
    }

    /// A shift by the given column means (computed elsewhere, e.g. merged over blocks).
    pub fn from_mean(mean: Vec<f64>) -> Self {
        Self { mean }
    }

    /// No shift in `d` columns (for data already centered, or to compute in the user's
    /// coordinates).
    pub fn zero(d: usize) -> Self {
        Self { mean: vec![0.0; d] }
    }

    /// The means, one per column.
    pub fn mean(&self) -> &[f64] {
        &self.mean
    }

    /// Columns.
    pub fn d(&self) -> usize {
        self.mean.len()
    }

    /// `data[i, j] -= mean[j]` (computed in f64, rounded once to `T`), row-major `data`.
    pub fn apply<T: Real>(&self, data: &mut [T]) {
        let d = self.d().max(1);
        for r in data.chunks_exact_mut(d) {
            for (x, m) in r.iter_mut().zip(&self.mean) {
                *x = T::from_f64(x.to_f64() - m);
            }
        }
    }

    /// `data` (rows of `d` values) moved by the shift into a new vector: [`Shift::apply`]'s
    /// arithmetic on a copy, in one sweep, in parallel over blocks of rows (the same bits).
    pub fn applied<T: Real>(&self, data: &[T]) -> Vec<T> {
        // Zeroed by the allocator (pages the sweep then writes once).
        let mut out = vec![T::ZERO; data.len()];
        self.shift_into(data, &mut out);
        out
    }

    /// [`Shift::applied`] into `out` (resized to `data`'s length; its memory reused).
    pub fn applied_into<T: Real>(&self, data: &[T], out: &mut Vec<T>) {
        out.resize(data.len(), T::ZERO);
        self.shift_into(data, out);
    }

    fn shift_into<T: Real>(&self, data: &[T], out: &mut [T]) {
        use rayon::prelude::*;
        let d = self.d().max(1);
        let block = 4096 * d;
        out.par_chunks_mut(block)
            .zip(data.par_chunks(block))
            .for_each(|(o, x)| {
                for (orow, xrow) in o.chunks_exact_mut(d).zip(x.chunks_exact(d)) {
                    for ((o, x), m) in orow.iter_mut().zip(xrow).zip(&self.mean) {
                        *o = T::from_f64(x.to_f64() - m);
                    }
                }
            });
    }

    /// `data[i, j] += mean[j]`: undoes [`Self::apply`] up to one rounding per value.
    pub fn undo<T: Real>(&self, data: &mut [T]) {
        let d = self.d().max(1);
        for r in data.chunks_exact_mut(d) {
            for (x, m) in r.iter_mut().zip(&self.mean) {
                *x = T::from_f64(x.to_f64() + m);
            }
        }
    }

    /// Row-major centers (`k x d`, user coordinates, f64) in the working coordinates and
    /// precision `T`.
    pub fn to_working<T: Real>(&self, c: &[f64]) -> Vec<T> {
        let d = self.d().max(1);
        c.iter()
            .enumerate()
            .map(|(i, v)| T::from_f64(v - self.mean[i % d]))
            .collect()
    }

    /// Row-major centers (`k x d`, working coordinates) back in the user's coordinates, f64.
    pub fn to_user<T: Real>(&self, c: &[T]) -> Vec<f64> {
        let d = self.d().max(1);
        c.iter()
            .enumerate()
            .map(|(i, v)| v.to_f64() + self.mean[i % d])
            .collect()
    }
}
