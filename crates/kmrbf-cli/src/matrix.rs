//! A loaded data matrix in its file's precision, and the centered coordinates every command
//! computes in.

use kmrbf::{Real, Shift};

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

    /// Subtracts each column's mean in place and returns the shift ([`kmrbf::Shift`]: means
    /// in f64, memory stays at the input size).
    pub fn center_columns(&mut self) -> Shift {
        match &mut self.values {
            Values::F32(v) => {
                let s = Shift::of_rows(v, self.d);
                s.apply(v);
                s
            }
            Values::F64(v) => {
                let s = Shift::of_rows(v, self.d);
                s.apply(v);
                s
            }
        }
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
    shift: Shift,
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

    /// The centers moved by `shift` into working coordinates and precision `T` (for data
    /// centered elsewhere than in a [`Centered`], e.g. streamed).
    pub fn shifted<T: Real>(&self, shift: &Shift) -> Vec<T> {
        shift.to_working(&self.values)
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
        self.shift.to_working(&c.values)
    }

    /// The column means the data were moved by.
    pub fn shift(&self) -> &Shift {
        &self.shift
    }

    /// Centers `c` (`k x d`, working coordinates) back in the user's coordinates.
    pub fn user<T: Real>(&self, c: &[T]) -> Vec<f64> {
        self.shift.to_user(c)
    }
}
