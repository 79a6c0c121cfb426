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

/// `rows` (k x d, row-major, f64) minus `shift` (d) per row.
pub fn shifted(rows: &[f64], shift: &[f64], sign: f64) -> Vec<f64> {
    let d = shift.len().max(1);
    rows.iter()
        .enumerate()
        .map(|(i, v)| v + sign * shift[i % d])
        .collect()
}
