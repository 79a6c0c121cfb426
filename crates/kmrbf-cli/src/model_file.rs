//! The model file: JSON with the centers, their shape, inertia, iterations, the settings that
//! produced them and the program version (DESIGN.md section 3).

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::fail::{bad_input, CliResult};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// A saved K-Means model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct ModelFile {
    /// Always "kmrbf-model".
    pub format: String,
    /// kmrbf version that wrote it.
    pub version: String,
    /// Number of centers.
    pub k: usize,
    /// Columns.
    pub d: usize,
    /// Precision the model was fitted in ("f32" / "f64").
    pub dtype: String,
    /// `k` rows of `d` values.
    pub centers: Vec<Vec<f64>>,
    /// `sum_i w_i min_k ||x_i - c_k||^2` on the training data.
    pub inertia: f64,
    /// Iterations of the kept restart.
    pub n_iter: usize,
    /// What produced it.
    pub settings: serde_json::Value,
}

impl ModelFile {
    /// Reads and checks a model file.
    pub fn load(path: &Path) -> CliResult<Self> {
        let p = path.display();
        let bytes = std::fs::read(path).map_err(|e| bad_input(format!("{p}: cannot read: {e}")))?;
        Self::parse(&bytes, &p.to_string())
    }

    /// Parses and checks a model file's bytes; `name` names it in errors.
    pub fn parse(bytes: &[u8], name: &str) -> CliResult<Self> {
        let m: ModelFile = serde_json::from_slice(bytes)
            .map_err(|e| bad_input(format!("{name}: not a kmrbf model file: {e}")))?;
        if m.format != "kmrbf-model" {
            return Err(bad_input(format!(
                "{name}: not a kmrbf model file (format '{}', expected 'kmrbf-model')",
                m.format
            )));
        }
        if m.k == 0 || m.centers.len() != m.k || m.centers.iter().any(|r| r.len() != m.d) {
            return Err(bad_input(format!(
                "{name}: centers do not have the shape k x d = {} x {}",
                m.k, m.d
            )));
        }
        if m.d == 0 {
            return Err(bad_input(format!(
                "{name}: centers have no columns (d = 0)"
            )));
        }
        if let Some(i) = m.centers.iter().flatten().position(|v| !v.is_finite()) {
            return Err(bad_input(format!(
                "{name}: center {}, column {} is not finite",
                i / m.d,
                i % m.d
            )));
        }
        Ok(m)
    }

    /// Centers as one row-major f64 vector.
    pub fn flat_centers(&self) -> Vec<f64> {
        self.centers.iter().flatten().copied().collect()
    }

    /// Serialized JSON (writing: a struct of numbers, strings and JSON values always
    /// serializes; non-finite numbers become `null`).
    #[allow(clippy::expect_used)]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut s = serde_json::to_vec_pretty(self).expect("model serializes");
        s.push(b'\n');
        s
    }
}

/// Rows of a row-major `k x d` matrix as nested vectors.
pub fn rows_of<T: Copy + Into<f64>>(flat: &[T], d: usize) -> Vec<Vec<f64>> {
    flat.chunks(d.max(1))
        .map(|r| r.iter().map(|&v| v.into()).collect())
        .collect()
}

/// Loads a model and data for labelling or transforming: checks the columns agree and centers
/// the data in place; the model's centers stay in the user's coordinates.
/// The model at `model` and its centers, checked against a streamed `data` file of `d`
/// columns (as [`load_for_prediction`] checks a loaded one).
pub fn load_for_streaming(
    model: &Path,
    data: &Path,
    d: usize,
) -> CliResult<(ModelFile, crate::matrix::UserCenters)> {
    let mf = ModelFile::load(model)?;
    if d != mf.d {
        return Err(bad_input(format!(
            "{}: has {d} columns but the model {} has d = {}",
            data.display(),
            model.display(),
            mf.d
        )));
    }
    let c = crate::matrix::UserCenters::from_rows(mf.flat_centers(), mf.k, mf.d);
    Ok((mf, c))
}

pub fn load_for_prediction(
    model: &Path,
    data: &Path,
) -> CliResult<(
    ModelFile,
    crate::matrix::Centered,
    crate::matrix::UserCenters,
)> {
    let mf = ModelFile::load(model)?;
    let m = crate::files::load_matrix(data)?;
    if m.d != mf.d {
        return Err(bad_input(format!(
            "{}: has {} columns but the model {} has d = {}",
            data.display(),
            m.d,
            model.display(),
            mf.d
        )));
    }
    let c = crate::matrix::UserCenters::from_rows(mf.flat_centers(), mf.k, mf.d);
    Ok((mf, crate::matrix::Centered::new(m), c))
}
