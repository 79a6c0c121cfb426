//! `.csv` reading: numbers only, an optional header row, every row the same length.
//!
//! Positions in errors are 0-based data rows and columns (as `X[row, col]` in numpy), with
//! the 1-based line of the file that an editor shows.
#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::fail::{bad_input, CliResult};
use crate::matrix::{Matrix, Values};
use std::path::Path;

/// Reads a numeric CSV as an f64 matrix. The first row is a header when any of its cells is
/// not a number. Errors name the file, the data row and column (0-based) and the file's line
/// (1-based).
pub fn read_matrix(path: &Path) -> CliResult<Matrix> {
    let file = std::fs::File::open(path)
        .map_err(|e| bad_input(format!("{}: cannot read: {e}", path.display())))?;
    read_matrix_from(std::io::BufReader::new(file), &path.display().to_string())
}

/// Reads CSV text from `reader`; `p` names the source in messages.
pub fn read_matrix_from(reader: impl std::io::Read, p: &str) -> CliResult<Matrix> {
    let mut rdr = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(reader);
    let mut values = Vec::new();
    let mut d = None;
    let mut n = 0;
    for (idx, rec) in rdr.records().enumerate() {
        let rec = rec.map_err(|e| bad_input(format!("{p}: {e}")))?;
        let line = rec.position().map_or(idx as u64 + 1, |pos| pos.line());
        if rec.len() == 1 && rec[0].is_empty() {
            continue;
        }
        let parsed: Vec<Result<f64, _>> = rec.iter().map(|s| s.parse::<f64>()).collect();
        if idx == 0 && parsed.iter().any(|r| r.is_err()) {
            d = Some(rec.len());
            continue; // header
        }
        match d {
            None => d = Some(rec.len()),
            Some(w) if w != rec.len() => {
                return Err(bad_input(format!(
                    "{p}: ragged rows: row {n} (line {line}) has {} columns, expected {w}",
                    rec.len()
                )))
            }
            _ => {}
        }
        for (col, (r, cell)) in parsed.into_iter().zip(rec.iter()).enumerate() {
            match r {
                Ok(v) => values.push(v),
                Err(_) => {
                    return Err(bad_input(format!(
                    "{p}: row {n}, column {col} (0-based; line {line}): '{cell}' is not a number"
                )))
                }
            }
        }
        n += 1;
    }
    if n == 0 {
        return Err(bad_input(format!("{p}: no data rows")));
    }
    Ok(Matrix {
        values: Values::F64(values),
        n,
        d: d.unwrap_or(0),
    })
}
