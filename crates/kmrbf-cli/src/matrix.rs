//! A loaded data matrix in its file's precision, and the centered coordinates every command
//! computes in.

use kmrbf::Real;

/// Row-major `n x d` values, f32 or f64 as stored in the file.
#[derive(Clone, Debug, PartialEq)]
pub enum Values {
    /// Single precision.
    F32(Vec<f32>),
    /// Double precision.
    F64(Vec<f64>),
}

/// A matrix read from a file.
#[derive(Clone, Debug, PartialEq)]
pub struct Matrix {
    /// The values, row-major.
    pub values: Values,
    /// Rows.
    pub n: usize,
    /// Columns.
    pub d: usize,
}

impl Matrix {
    /// The values as f64 (copies f32).
    pub fn to_f64(&self) -> Vec<f64> {
        match &self.values {
            Values::F32(v) => v.iter().map(|&x| x as f64).collect(),
            Values::F64(v) => v.clone(),
        }
    }

    /// Subtracts each column's mean (computed in f64) in place and returns the means.
    ///
    /// Squared distances are computed as `|x|^2 - 2 x.c + |c|^2`; far from the origin that
    /// cancels catastrophically in f32 (scikit-learn centers its data for the same reason).
    /// Centering in place keeps memory at the input size; callers shift centers by the same
    /// vector, which changes no distance.
    pub fn center_columns(&mut self) -> Vec<f64> {
        let (n, d) = (self.n, self.d);
        let mut mean = vec![0.0f64; d];
        match &self.values {
            Values::F32(v) => v.chunks_exact(d).for_each(|r| {
                r.iter()
                    .zip(mean.iter_mut())
                    .for_each(|(x, m)| *m += *x as f64)
            }),
            Values::F64(v) => v
                .chunks_exact(d)
                .for_each(|r| r.iter().zip(mean.iter_mut()).for_each(|(x, m)| *m += *x)),
        }
        for m in &mut mean {
            *m /= n.max(1) as f64;
        }
        match &mut self.values {
            Values::F32(v) => v.chunks_exact_mut(d).for_each(|r| {
                r.iter_mut()
                    .zip(&mean)
                    .for_each(|(x, m)| *x = (*x as f64 - m) as f32)
            }),
            Values::F64(v) => v
                .chunks_exact_mut(d)
                .for_each(|r| r.iter_mut().zip(&mean).for_each(|(x, m)| *x -= m)),
        }
        mean
    }
}

/// Data centered in place, with the column means that were subtracted.
///
/// Every command works in these coordinates: centers from the user (files, models) enter only
/// through [`Centered::working`], results leave only through [`Centered::user`], so no command
/// can mix the two coordinate systems.
pub struct Centered {
    /// The data, each column minus its mean.
    pub m: Matrix,
    shift: Vec<f64>,
}

/// `k x d` centers (row-major, f64) in the user's coordinates: a center file, a model's
/// centers, an `--init` file. Deliberately without access to the values: the kernels take
/// them through [`Centered::working`].
pub struct UserCenters {
    /// Rows.
    pub k: usize,
    /// Columns.
    pub d: usize,
    values: Vec<f64>,
}

impl UserCenters {
    /// Centers read from a file.
    pub fn from_matrix(m: &Matrix) -> Self {
        Self {
            k: m.n,
            d: m.d,
            values: m.to_f64(),
        }
    }

    /// `k` rows of `d` values, row-major.
    pub fn from_rows(values: Vec<f64>, k: usize, d: usize) -> Self {
        Self { k, d, values }
    }
}

impl Centered {
    /// Centers `m`'s columns in place.
    pub fn new(mut m: Matrix) -> Self {
        let shift = m.center_columns();
        Self { m, shift }
    }

    /// `c` in the working (centered) coordinates and precision `T`.
    pub fn working<T: Real>(&self, c: &UserCenters) -> Vec<T> {
        let d = self.shift.len().max(1);
        c.values
            .iter()
            .enumerate()
            .map(|(i, v)| T::from_f64(v - self.shift[i % d]))
            .collect()
    }

    /// Centers `c` (`k x d`, working coordinates) back in the user's coordinates.
    pub fn user<T: Real>(&self, c: &[T]) -> Vec<f64> {
        let d = self.shift.len().max(1);
        c.iter()
            .enumerate()
            .map(|(i, v)| v.to_f64() + self.shift[i % d])
            .collect()
    }
}
