//! Loading inputs by extension and writing outputs atomically.

use crate::fail::{bad_input, internal, CliResult};
use crate::matrix::{Matrix, Values};
use std::path::{Path, PathBuf};

/// Loads a data matrix from `.npy` or `.csv`, and checks it has rows, columns and only finite
/// values (the error names the file, row and column, 0-based).
pub fn load_matrix(path: &Path) -> CliResult<Matrix> {
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let m = match ext.as_str() {
        _ if crate::builtin::lookup(path)?.is_some() => {
            let text = crate::builtin::lookup(path)?.expect("checked");
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
    let bad = match &m.values {
        Values::F32(v) => v
            .iter()
            .position(|x| !x.is_finite())
            .map(|i| (i, v[i] as f64)),
        Values::F64(v) => v.iter().position(|x| !x.is_finite()).map(|i| (i, v[i])),
    };
    if let Some((i, v)) = bad {
        return Err(bad_input(format!(
            "{p}: non-finite value {v} at row {}, column {} (0-based)",
            i / m.d,
            i % m.d
        )));
    }
    Ok(m)
}

/// Files to write together: all are written to temporaries first, then renamed into place,
/// so a failure leaves none of them behind.
#[derive(Default)]
pub struct Outputs {
    files: Vec<(PathBuf, Vec<u8>)>,
}

impl Outputs {
    /// Queues `bytes` for `path`.
    pub fn add(&mut self, path: &Path, bytes: Vec<u8>) {
        self.files.push((path.to_path_buf(), bytes));
    }

    /// Writes every queued file atomically (temp file + rename).
    pub fn commit(self) -> CliResult<()> {
        let mut temps: Vec<(PathBuf, PathBuf)> = Vec::new();
        let cleanup = |temps: &[(PathBuf, PathBuf)]| {
            for (t, _) in temps {
                let _ = std::fs::remove_file(t);
            }
        };
        for (path, bytes) in &self.files {
            let dir = match path.parent() {
                Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
                _ => PathBuf::from("."),
            };
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("out");
            let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
            if let Err(e) = std::fs::write(&tmp, bytes) {
                cleanup(&temps);
                let _ = std::fs::remove_file(&tmp);
                return Err(bad_input(format!("{}: cannot write: {e}", path.display())));
            }
            temps.push((tmp, path.clone()));
        }
        for (i, (tmp, path)) in temps.iter().enumerate() {
            if let Err(e) = std::fs::rename(tmp, path) {
                cleanup(&temps[i..]);
                return Err(internal(format!(
                    "{}: cannot move into place: {e}",
                    path.display()
                )));
            }
        }
        Ok(())
    }
}

/// Errors (exit 2) when the directory `path` would be written into does not exist.
pub fn check_out_dir(path: &Path) -> CliResult<()> {
    if let Some(dir) = path.parent() {
        if !dir.as_os_str().is_empty() && !dir.is_dir() {
            return Err(bad_input(format!(
                "{}: directory {} does not exist",
                path.display(),
                dir.display()
            )));
        }
    }
    Ok(())
}
