//! Loading inputs by their extension.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::fail::{bad_input, lib_error, CliResult};
use crate::matrix::{Matrix, Values};
use std::path::Path;

/// Loads a data matrix from `.npy` or `.csv`, and checks it has rows, columns and only finite
/// values (the error names the file, row and column, 0-based).
pub fn load_matrix(path: &Path) -> CliResult<Matrix> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let m = match ext.as_str() {
        _ if path.to_str().is_some_and(|s| s.starts_with("builtin:")) => {
            let text = crate::builtin::lookup(path)?.unwrap_or_default();
            crate::csvfile::read_matrix_from(text.as_bytes(), &path.display().to_string())?
        }
        "npy" => crate::npy::read_matrix(path)?,
        "csv" | "txt" => crate::csvfile::read_matrix(path)?,
        _ => {
            return Err(bad_input(format!(
                "{}: unknown data format (expected a .npy or .csv file)",
                path.display()
            )))
        }
    };
    let p = path.display();
    if m.n == 0 {
        return Err(bad_input(format!("{p}: no rows")));
    }
    if m.d == 0 {
        return Err(bad_input(format!("{p}: no columns")));
    }
    // The library's check: a vectorized block fold in parallel, then the first bad value.
    let checked = match &m.values {
        Values::F32(v) => kmrbf::data::check_finite("data", v, m.d),
        Values::F64(v) => kmrbf::data::check_finite("data", v, m.d),
    };
    match checked {
        Err(kmrbf::Error::NonFinite {
            row, col, value, ..
        }) => Err(bad_input(format!(
            "{p}: non-finite value {value} at row {row}, column {col} (0-based)"
        ))),
        Err(e) => Err(lib_error(&p.to_string(), e)),
        Ok(()) => Ok(m),
    }
}

/// Reads a 1-D `.npy` of per-row sample weights (as f64); the library checks their count
/// and values.
pub fn load_weights(path: &Path) -> CliResult<Vec<f64>> {
    crate::npy::read_vector(path)
}
