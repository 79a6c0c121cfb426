//! A loaded data matrix in its file's precision.

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
}
